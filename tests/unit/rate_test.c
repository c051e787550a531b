/*
 * Unit tests for the rate limits (core_rate.c): token buckets (the burst of
 * one second, continuous refill, Retry-After), bounded memory (a full table
 * evicts refilled buckets and otherwise lets requests pass unmetered),
 * exact counts when worker threads share a bucket, identity and tenant
 * buckets together (a refusal by the tenant gives the identity its token
 * back), the tenant's own setting (operator only, overriding the server's
 * default), and the KMIP front end's answer: Operation Failed with General
 * Failure (1.4) or Server Limit Exceeded (2.1), and a Result Message.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/kmip_fixture.h"

static const core_identity OPERATOR = {.id = "operator-test", .is_operator = true,
                                       .kind = CORE_IDENTITY_API_KEY};

static core_rate *rate_new(unsigned tenant, unsigned identity, size_t max)
{
    core_rate_opts o = {.tenant_rps = tenant, .identity_rps = identity, .max_buckets = max};
    core_rate *r = NULL;
    assert_int_equal(core_rate_new(&o, &r), CF_OK);
    assert_non_null(r);
    return r;
}

static void test_bucket(void **state)
{
    core_rate *r = rate_new(0, 0, 0);
    unsigned retry = 0;
    (void)state;

    /* A full bucket of one second at 5/s: five pass at once, the sixth waits. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(core_rate_take(r, "i:a", 5, 10000, &retry), CF_OK);
    assert_int_equal(core_rate_take(r, "i:a", 5, 10000, &retry), CF_ERR_RATE_LIMITED);
    assert_int_equal(retry, 1);
    /* 200 ms refill one token at 5/s, and only one. */
    assert_int_equal(core_rate_take(r, "i:a", 5, 10199, &retry), CF_ERR_RATE_LIMITED);
    assert_int_equal(core_rate_take(r, "i:a", 5, 10200, &retry), CF_OK);
    assert_int_equal(core_rate_take(r, "i:a", 5, 10200, &retry), CF_ERR_RATE_LIMITED);
    /* A long pause refills to the burst, no more. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(core_rate_take(r, "i:a", 5, 99000, &retry), CF_OK);
    assert_int_equal(core_rate_take(r, "i:a", 5, 99000, &retry), CF_ERR_RATE_LIMITED);
    /* Other keys are independent; rate 0 never limits. */
    assert_int_equal(core_rate_take(r, "i:b", 5, 99000, &retry), CF_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(core_rate_take(r, "i:c", 0, 99000, &retry), CF_OK);
    /* Retry-After rounds up to whole seconds: 1/s empty, 10.5 s later a
     * token, then the next one is a second away. */
    assert_int_equal(core_rate_take(r, "i:d", 1, 5000, &retry), CF_OK);
    assert_int_equal(core_rate_take(r, "i:d", 1, 5001, &retry), CF_ERR_RATE_LIMITED);
    assert_int_equal(retry, 1);
    assert_int_equal(core_rate_take(r, "i:d", 1, 5999, &retry), CF_ERR_RATE_LIMITED);
    assert_int_equal(core_rate_take(r, "i:d", 1, 6000, &retry), CF_OK);
    assert_int_equal(core_rate_count(r), 3); /* i:a, i:b, i:d (rate 0 keeps none) */
    core_rate_free(r);
}

static void test_bounded(void **state)
{
    core_rate *r = rate_new(0, 0, 64); /* one bucket per shard */
    char key[32];
    unsigned retry;
    (void)state;

    /* 10000 busy keys at once: at most 64 buckets; the ones without a
     * place pass unmetered rather than being refused. */
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "i:%d", i);
        assert_int_equal(core_rate_take(r, key, 1, 1000, &retry), CF_OK);
    }
    assert_true(core_rate_count(r) <= 64);
    assert_true(core_rate_count(r) >= 32);
    /* A second later every bucket has refilled: new keys evict them. */
    for (int i = 10000; i < 20000; i++) {
        snprintf(key, sizeof key, "i:%d", i);
        assert_int_equal(core_rate_take(r, key, 1, 2000, &retry), CF_OK);
    }
    assert_true(core_rate_count(r) <= 64);
    /* Some keys are metered: a second request of one in the table waits. */
    {
        int limited = 0;
        for (int i = 10000; i < 20000; i++) {
            snprintf(key, sizeof key, "i:%d", i);
            limited += core_rate_take(r, key, 1, 2000, &retry) == CF_ERR_RATE_LIMITED;
        }
        assert_int_equal(limited, (int)core_rate_count(r));
    }
    core_rate_free(r);
}

struct hammer {
    core_rate *r;
    int passed;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    unsigned retry;
    for (int i = 0; i < 5000; i++)
        h->passed += core_rate_take(h->r, "i:shared", 1000, 7000, &retry) == CF_OK;
    return NULL;
}

static void test_threads(void **state)
{
    core_rate *r = rate_new(0, 0, 0);
    struct hammer h[4];
    pthread_t t[4];
    (void)state;

    for (int i = 0; i < 4; i++) {
        h[i] = (struct hammer){.r = r};
        assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    /* At a fixed time exactly the burst passes, however the threads meet. */
    assert_int_equal(h[0].passed + h[1].passed + h[2].passed + h[3].passed, 1000);
    core_rate_free(r);
}

/* An API key identity of tenant "default" with this role. */
static const core_identity *identity(struct fx *f, const char *name, core_role role)
{
    core_req rq = fx_core_req(f, core_now());
    core_identity_spec s = {.tenant = "default", .kind = CORE_IDENTITY_API_KEY, .name = name,
                            .role = role};
    core_identity_rec *rec;
    cf_secret tok = {0};

    core_tenant *t;
    cf_status st;

    rq.who = &OPERATOR;
    st = core_tenant_create(&rq, "default", NULL, &t); /* the fixture's store has none */
    assert_true(st == CF_OK || st == CF_ERR_EXISTS);
    assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_OK);
    cf_secret_free(&tok);
    return &rec->ident;
}

static void test_identity_and_tenant(void **state)
{
    struct fx *f = *state;
    const core_identity *a = identity(f, "a", CORE_ROLE_WRITER);
    const core_identity *b = identity(f, "b", CORE_ROLE_WRITER);
    core_req rq = fx_core_req(f, core_now());
    unsigned retry = 0;
    char key[64];

    f->core.rate = rate_new(3, 2, 0);
    rq.who = a;
    assert_int_equal(core_rate_check(&rq, &retry), CF_OK);
    assert_int_equal(core_rate_check(&rq, &retry), CF_OK);
    /* a's own limit: 2/s. */
    assert_int_equal(core_rate_check(&rq, &retry), CF_ERR_RATE_LIMITED);
    assert_int_equal(retry, 1);
    assert_string_equal(rq.err_msg, "rate limit exceeded: this identity may make 2 requests per "
                                     "second; retry in 1 s");
    /* b: the tenant's third request passes, its fourth is the tenant's
     * limit (3/s), and b keeps the token it did not use. */
    rq.who = b;
    assert_int_equal(core_rate_check(&rq, &retry), CF_OK);
    assert_int_equal(core_rate_check(&rq, &retry), CF_ERR_RATE_LIMITED);
    assert_string_equal(rq.err_msg, "rate limit exceeded: tenant default may make 3 requests per "
                                    "second; retry in 1 s");
    snprintf(key, sizeof key, "i:%s", b->id);
    assert_int_equal(core_rate_take(f->core.rate, key, 2, 0, &retry), CF_OK);
    assert_int_equal(core_rate_take(f->core.rate, key, 2, 0, &retry), CF_ERR_RATE_LIMITED);
    /* The operator has no tenant: only its identity bucket. */
    rq.who = &OPERATOR;
    assert_int_equal(core_rate_check(&rq, &retry), CF_OK);
    assert_int_equal(core_rate_check(&rq, &retry), CF_OK);
    assert_int_equal(core_rate_check(&rq, &retry), CF_ERR_RATE_LIMITED);
    core_rate_free(f->core.rate);
    f->core.rate = NULL;
    /* Without a limiter nothing is limited. */
    rq.who = a;
    for (int i = 0; i < 50; i++)
        assert_int_equal(core_rate_check(&rq, &retry), CF_OK);
}

static void test_tenant_setting(void **state)
{
    struct fx *f = *state;
    const core_identity *a = identity(f, "a", CORE_ROLE_MANAGER);
    core_req rq = fx_core_req(f, core_now());
    int64_t v = 0;
    unsigned retry;

    /* Operator only; 0..1000000 or -1 (remove). */
    rq.who = a;
    assert_int_equal(core_rate_tenant_set(&rq, "default", 1), CF_ERR_PERMISSION);
    assert_int_equal(core_rate_tenant_get(&rq, "default", &v), CF_OK);
    assert_int_equal(v, -1);
    rq.who = &OPERATOR;
    assert_int_equal(core_rate_tenant_set(&rq, "default", 1000001), CF_ERR_INVALID_FIELD);
    assert_int_equal(core_rate_tenant_set(&rq, "nope", 1), CF_ERR_NOT_FOUND);
    assert_int_equal(core_rate_tenant_set(&rq, "default", 1), CF_OK);
    assert_int_equal(core_rate_tenant_get(&rq, "default", &v), CF_OK);
    assert_int_equal(v, 1);
    /* The setting beats the server's default of 100/s. */
    f->core.rate = rate_new(100, 0, 0);
    rq.who = a;
    assert_int_equal(core_rate_check(&rq, &retry), CF_OK);
    assert_int_equal(core_rate_check(&rq, &retry), CF_ERR_RATE_LIMITED);
    assert_string_equal(rq.err_msg, "rate limit exceeded: tenant default may make 1 requests per "
                                    "second; retry in 1 s");
    core_rate_free(f->core.rate);
    /* 0: unlimited for this tenant, whatever the default. */
    rq.who = &OPERATOR;
    assert_int_equal(core_rate_tenant_set(&rq, "default", 0), CF_OK);
    f->core.rate = rate_new(1, 0, 0);
    rq.who = a;
    for (int i = 0; i < 20; i++)
        assert_int_equal(core_rate_check(&rq, &retry), CF_OK);
    core_rate_free(f->core.rate);
    /* Removed: the default again. */
    rq.who = &OPERATOR;
    assert_int_equal(core_rate_tenant_set(&rq, "default", -1), CF_OK);
    assert_int_equal(core_rate_tenant_get(&rq, "default", &v), CF_OK);
    assert_int_equal(v, -1);
    f->core.rate = rate_new(1, 0, 0);
    rq.who = a;
    assert_int_equal(core_rate_check(&rq, &retry), CF_OK);
    assert_int_equal(core_rate_check(&rq, &retry), CF_ERR_RATE_LIMITED);
    core_rate_free(f->core.rate);
    f->core.rate = NULL;
}

/* Five Query items in one message at 2 per second: two answered, three
 * refused, each with the version's reason and a message. */
static void kmip_case(struct fx *f, int major, int minor, uint32_t want_reason)
{
    req r;
    const ttlv_item *item;
    const char *msg = NULL;
    size_t len = 0;

    f->core.rate = rate_new(0, 2, 0);
    req_header(&r, major, minor, 5, KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE);
    for (int i = 0; i < 5; i++) {
        item_begin(&r, KMIP_OPERATION_QUERY);
        ttlv_w_enum(&r.w, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_OPERATIONS);
        item_end(&r);
    }
    send_req(f, &r);
    assert_int_equal(result_of(f, 0), 0);
    assert_int_equal(result_of(f, 1), 0);
    for (unsigned i = 2; i < 5; i++) {
        item = nth_item(f, i);
        assert_int_equal(status_of(item), KMIP_RESULT_STATUS_OPERATION_FAILED);
        assert_int_equal(reason_of(item), want_reason);
        assert_int_equal(ttlv_get_text(item, KMIP_TAG_RESULT_MESSAGE, &msg, &len), CF_OK);
        assert_true(len > 20 && strncmp(msg, "rate limit exceeded: this identity may make 2", 45) == 0);
    }
    core_rate_free(f->core.rate);
    f->core.rate = NULL;
}

static void test_kmip_1x(void **state)
{
    kmip_case(*state, 1, 4, KMIP_RESULT_REASON_GENERAL_FAILURE);
}

static void test_kmip_2x(void **state)
{
    kmip_case(*state, 2, 1, KMIP_RESULT_REASON_SERVER_LIMIT_EXCEEDED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_threads),
        cmocka_unit_test_setup_teardown(test_identity_and_tenant, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tenant_setting, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_kmip_1x, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_kmip_2x, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
