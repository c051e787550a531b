/*
 * commit_test.c - group commit (src/core/core_commit.c): tickets settle
 * only once their records are written and their commits are durable, a
 * change's record commits with the change (core_commit), failures fail the
 * tickets (fail closed), and many threads at once leave one unbroken chain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/core_int.h"
#include "store/store.h"
#include "support/kmip_fixture.h"

struct cfx {
    struct fx *f;
    core_waiter *w;
    int wakes;
};

static void wake(void *arg)
{
    struct cfx *c = arg;
    __atomic_add_fetch(&c->wakes, 1, __ATOMIC_SEQ_CST);
}

static int setup(void **state)
{
    struct cfx *c = calloc(1, sizeof *c);
    core_audit_opts o = {.sync = CORE_AUDIT_SYNC_FULL};
    char uri[128];
    store *own = NULL;

    if (c == NULL || (c->f = fx_open()) == NULL ||
        core_audit_open(c->f->st, c->f->kr, &o, &c->f->core.audit) != CF_OK)
        return -1;
    snprintf(uri, sizeof uri, "sqlite:%s/db", c->f->dir);
    if (store_open(uri, &own) != CF_OK ||
        core_audit_committer_start(c->f->core.audit, own) != CF_OK ||
        core_waiter_new(c->f->core.audit, wake, c, &c->w) != CF_OK || c->w == NULL)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct cfx *c = *state;
    int rc;
    core_waiter_free(c->w);
    core_audit_free(c->f->core.audit);
    c->f->core.audit = NULL;
    rc = fx_close(c->f);
    free(c);
    return rc;
}

struct result {
    int calls;
    cf_status st;
};

static void done(void *arg, cf_status st)
{
    struct result *r = arg;
    r->calls++;
    r->st = st;
}

/* Submit t and wait for it; the status its answer would get. */
static cf_status settle(struct cfx *c, core_ticket *t)
{
    struct result r = {0};
    cf_status now;
    if (core_ticket_submit(t, done, &r, &now))
        return now;
    core_waiter_drain(c->w);
    assert_int_equal(r.calls, 1);
    return r.st;
}

static int64_t head_seq(struct cfx *c)
{
    store_audit_head h;
    cf_status st = store_audit_head_get(c->f->st, "default", c->f->arena, &h);
    if (st == CF_ERR_NOT_FOUND)
        return 0;
    assert_int_equal(st, CF_OK);
    return h.seq;
}

/* A read's record (nothing else written) on ticket t. */
static void read_record(struct cfx *c, core_ticket *t, const char *op)
{
    core_req rq = fx_core_req(c->f, 100);
    rq.ticket = t;
    assert_int_equal(core_audit_begin(&rq, CORE_AUDIT_CLI, op, NULL), CF_OK);
    assert_int_equal(core_audit_end(&rq, "ok", NULL), CF_OK);
}

static void test_nothing_to_wait_for(void **state)
{
    struct cfx *c = *state;
    cf_status now = CF_ERR_INTERNAL;
    assert_true(core_ticket_submit(core_ticket_new(c->w), done, NULL, &now));
    assert_int_equal(now, CF_OK);
    /* Synchronous mode: no waiter, no ticket, nothing to hold. */
    assert_null(core_ticket_new(NULL));
    assert_true(core_ticket_submit(NULL, done, NULL, &now));
    assert_int_equal(now, CF_OK);
}

static void test_read_record_settles_once_written(void **state)
{
    struct cfx *c = *state;
    core_ticket *t = core_ticket_new(c->w);
    int64_t before = head_seq(c);

    read_record(c, t, "get");
    assert_int_equal(settle(c, t), CF_OK);
    /* Settled means written: the record is in the store. */
    assert_int_equal(head_seq(c), before + 1);
}

struct put {
    const char *val;
};

static cf_status put_setting(core_req *rq, void *ctx)
{
    struct put *p = ctx;
    return store_setting_put(rq->st, "default", "x-test", (const uint8_t *)p->val,
                             strlen(p->val));
}

static void test_change_commits_with_its_record(void **state)
{
    struct cfx *c = *state;
    core_ticket *t = core_ticket_new(c->w);
    core_req rq = fx_core_req(c->f, 100);
    struct put p = {"1"};
    int64_t before = head_seq(c);

    rq.ticket = t;
    assert_int_equal(core_audit_begin(&rq, CORE_AUDIT_CLI, "change", NULL), CF_OK);
    assert_int_equal(core_in_txn(&rq, put_setting, &p), CF_OK);
    /* In the store with the change, before the front end ends the record. */
    assert_int_equal(head_seq(c), before + 1);
    assert_int_equal(core_audit_end(&rq, "ok", NULL), CF_OK);
    assert_int_equal(settle(c, t), CF_OK);
    assert_int_equal(head_seq(c), before + 1); /* not twice */

    /* A change whose record cannot be written is not kept. */
    fx_sql(c->f, "CREATE TRIGGER no_audit BEFORE INSERT ON audit_records "
           "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
    rq = fx_core_req(c->f, 100);
    p.val = "2";
    assert_int_equal(core_audit_begin(&rq, CORE_AUDIT_CLI, "change", NULL), CF_OK);
    assert_int_equal(core_in_txn(&rq, put_setting, &p), CF_ERR_AUDIT);
    fx_sql(c->f, "DROP TRIGGER no_audit;");
    {
        const uint8_t *v;
        size_t n;
        assert_int_equal(store_setting_get(c->f->st, "default", "x-test", c->f->arena, &v, &n),
                         CF_OK);
        assert_memory_equal(v, "1", 1);
    }
}

static void test_failed_batch_fails_its_tickets(void **state)
{
    struct cfx *c = *state;
    core_ticket *t;

    fx_sql(c->f, "CREATE TRIGGER no_audit BEFORE INSERT ON audit_records "
           "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
    t = core_ticket_new(c->w);
    read_record(c, t, "get");
    assert_int_equal(settle(c, t), CF_ERR_AUDIT);
    fx_sql(c->f, "DROP TRIGGER no_audit;");
    /* Not sticky: the next one goes through (only a failed fsync is). */
    t = core_ticket_new(c->w);
    read_record(c, t, "get");
    assert_int_equal(settle(c, t), CF_OK);
}

#define THREADS 4
#define PER_THREAD 150

struct worker_arg {
    struct cfx *c;
    int failures;
};

static void *worker(void *arg)
{
    struct worker_arg *wa = arg;
    struct cfx c = {.f = wa->c->f};
    cf_arena *a = cf_arena_new(4096, 0);
    core_identity who = wa->c->f->who;

    if (a == NULL || core_waiter_new(c.f->core.audit, wake, &c, &c.w) != CF_OK) {
        wa->failures = -1;
        return NULL;
    }
    for (int i = 0; i < PER_THREAD; i++) {
        core_ticket *t = core_ticket_new(c.w);
        core_req rq = {.core = &c.f->core, .st = NULL, .arena = a, .who = &who, .now = 100,
                       .ticket = t};
        struct result r = {0};
        cf_status now;
        if (core_audit_begin(&rq, CORE_AUDIT_CLI, "get", NULL) != CF_OK ||
            core_audit_end(&rq, "ok", NULL) != CF_OK) {
            wa->failures++;
            continue;
        }
        if (!core_ticket_submit(t, done, &r, &now)) {
            core_waiter_drain(c.w);
            now = r.calls == 1 ? r.st : CF_ERR_INTERNAL;
        }
        wa->failures += now != CF_OK;
        cf_arena_reset(a);
    }
    core_waiter_free(c.w);
    cf_arena_free(a);
    return NULL;
}

static void test_threads_one_unbroken_chain(void **state)
{
    struct cfx *c = *state;
    pthread_t th[THREADS];
    struct worker_arg wa[THREADS];
    store_audit_filter q = {.chain = "default", .limit = 100000};
    store_audit_row *rows;
    size_t n;
    int64_t before = head_seq(c);
    char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";

    for (int i = 0; i < THREADS; i++) {
        wa[i] = (struct worker_arg){.c = c};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &wa[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(wa[i].failures, 0);
    }
    assert_int_equal(head_seq(c), before + THREADS * PER_THREAD);
    /* seq 1..n without gaps, each record's prev the previous one's hash */
    assert_int_equal(store_audit_query(c->f->st, &q, c->f->arena, &rows, &n), CF_OK);
    assert_int_equal((int64_t)n, before + THREADS * PER_THREAD);
    for (size_t i = 0; i < n; i++) {
        json_error_t err;
        json_t *o = json_loads(rows[i].json, 0, &err);
        assert_non_null(o);
        assert_int_equal(rows[i].seq, (int64_t)i + 1);
        assert_string_equal(json_string_value(json_object_get(o, "prev")), prev);
        snprintf(prev, sizeof prev, "%s", rows[i].hash);
        json_decref(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nothing_to_wait_for, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_record_settles_once_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_commits_with_its_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_batch_fails_its_tickets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_one_unbroken_chain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
