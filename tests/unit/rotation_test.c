/*
 * Unit tests of rotation policies and the scheduler's pass (core_rotation.c)
 * with a simulated clock: every core call is made "at" a chosen time, and
 * core_rotation_run is given the time of the pass. A 14-day policy rotates
 * once its due date has passed, once per due date, on the cadence of the
 * due dates; the tenant default applies to root keys without a policy of
 * their own (those that exist when it is set, and those made later); two
 * store connections ("nodes") running a pass at the same moment rotate each
 * key exactly once; the rules on who may set what; KMIP ReKey of a root key
 * keeps its Unique Identifier.
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

#include "core/core.h"
#include "store/store.h"
#include "support/kmip_fixture.h"

#define T0 INT64_C(1900000000) /* 2030-03-17: the simulated clock's origin */
#define HOUR INT64_C(3600)
#define DAY INT64_C(86400)

static void add_attr(struct fx *f, ttlv_item *list, const char *name, ttlv_item *v)
{
    assert_non_null(v);
    ttlv_item *a = core_attr_new(f->arena, name, 0, v);
    assert_non_null(a);
    ttlv_append(list, a);
}

/* An Active AES-256 key made at `now`: a root key (Extractable False, Wrap
 * and Unwrap) unless standard. */
static const char *new_key(struct fx *f, int64_t now, bool root)
{
    core_req rq = fx_core_req(f, now);
    ttlv_item *l = ttlv_new_struct(f->arena, KMIP_TAG_ATTRIBUTES);
    core_object *obj = NULL;
    const uint32_t tag = KMIP_TAG_ATTRIBUTE_VALUE;

    add_attr(f, l, "Cryptographic Algorithm",
             ttlv_new_enum(f->arena, tag, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES));
    add_attr(f, l, "Cryptographic Length", ttlv_new_int(f->arena, tag, 256));
    add_attr(f, l, "Cryptographic Usage Mask",
             ttlv_new_int(f->arena, tag,
                          root ? KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY |
                                     KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY
                               : KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT |
                                     KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT));
    add_attr(f, l, "Extractable", ttlv_new_bool(f->arena, tag, !root));
    add_attr(f, l, "Activation Date", ttlv_new_datetime(f->arena, tag, now));
    assert_int_equal(core_create_symmetric_key(&rq, l, &obj), CF_OK);
    assert_int_equal(obj->state, KMIP_STATE_ACTIVE);
    assert_int_equal(core_is_root_key(obj), root);
    return obj->uid;
}

/* The fixture has no tenant row: the pass walks the tenant list. */
static struct fx *setup_tenant(void **state)
{
    struct fx *f = *state;
    store_tenant t = {.id = "default", .name = "default", .created = T0,
                      .state = CORE_TENANT_ACTIVE};
    assert_int_equal(store_tenant_insert(f->st, &t), CF_OK);
    return f;
}

static core_rotation_counts pass(struct fx *f, int64_t now)
{
    core_rotation_counts n;
    assert_int_equal(core_rotation_run(&f->core, f->st, now, &n), CF_OK);
    return n;
}

static void expect_pass(struct fx *f, int64_t now, int64_t rotated, int64_t skipped)
{
    core_rotation_counts n = pass(f, now);
    assert_int_equal(n.rotated, rotated);
    assert_int_equal(n.skipped, skipped);
    assert_int_equal(n.failed, 0);
}

/* The newest version of uid (1 when it was never rotated). */
static uint32_t newest(struct fx *f, const char *uid)
{
    core_req rq = fx_core_req(f, T0);
    core_key_version *v;
    size_t n;
    int64_t total;
    assert_int_equal(core_key_versions(&rq, uid, 0, 1, &v, &n, &total), CF_OK);
    return n == 0 ? 1 : v[0].version;
}

static int64_t next_of(struct fx *f, const char *uid)
{
    core_req rq = fx_core_req(f, T0);
    core_rotation_info i;
    assert_int_equal(core_rotation_policy_get(&rq, uid, &i), CF_OK);
    return i.next;
}

static void set_policy(struct fx *f, int64_t now, const char *uid, int64_t interval, int64_t max)
{
    core_req rq = fx_core_req(f, now);
    core_rotation_policy p = {.interval = interval, .max_encryptions = max};
    core_rotation_info i;
    assert_int_equal(core_rotation_policy_set(&rq, uid, &p, &i), CF_OK);
    assert_int_equal(i.source, CORE_ROTATION_KEY);
    assert_int_equal(i.policy.interval, interval);
    assert_int_equal(i.policy.max_encryptions, max);
}

/* ------------------------------------------------------------ 14 days */

static void test_interval_policy(void **state)
{
    struct fx *f = setup_tenant(state);
    const char *uid = new_key(f, T0, true);
    const char *other = new_key(f, T0, true); /* no policy: never rotated */

    set_policy(f, T0, uid, 14 * DAY, 0);
    assert_int_equal(next_of(f, uid), T0 + 14 * DAY);
    expect_pass(f, T0 + 13 * DAY, 0, 0);
    expect_pass(f, T0 + 14 * DAY - 1, 0, 0);
    assert_int_equal(newest(f, uid), 1);
    expect_pass(f, T0 + 14 * DAY + 1, 1, 0);
    assert_int_equal(newest(f, uid), 2);
    /* The cadence follows the due dates, not the time of the pass. */
    assert_int_equal(next_of(f, uid), T0 + 28 * DAY);
    expect_pass(f, T0 + 14 * DAY + 1, 0, 0);
    expect_pass(f, T0 + 14 * DAY + HOUR, 0, 0);
    expect_pass(f, T0 + 28 * DAY - 1, 0, 0);
    assert_int_equal(newest(f, uid), 2);
    expect_pass(f, T0 + 28 * DAY, 1, 0);
    assert_int_equal(newest(f, uid), 3);
    assert_int_equal(next_of(f, uid), T0 + 42 * DAY);
    /* A pass months late rotates once, and the next date is after it. */
    expect_pass(f, T0 + 100 * DAY, 1, 0);
    assert_int_equal(newest(f, uid), 4);
    assert_int_equal(next_of(f, uid), T0 + 112 * DAY);
    assert_int_equal(newest(f, other), 1);
    assert_int_equal(next_of(f, other), 0);
}

/* Setting a policy on a key older than the interval makes it due now;
 * removing it stops the schedule. */
static void test_policy_on_old_key_and_removal(void **state)
{
    struct fx *f = setup_tenant(state);
    const char *uid = new_key(f, T0, true);
    core_req rq = fx_core_req(f, T0 + 30 * DAY);
    core_rotation_info i;

    set_policy(f, T0 + 30 * DAY, uid, 7 * DAY, 1000);
    assert_int_equal(next_of(f, uid), T0 + 7 * DAY);
    expect_pass(f, T0 + 30 * DAY, 1, 0);
    assert_int_equal(next_of(f, uid), T0 + 35 * DAY);
    assert_int_equal(core_rotation_policy_clear(&rq, uid, &i), CF_OK);
    assert_int_equal(i.source, CORE_ROTATION_NONE);
    assert_int_equal(i.next, 0);
    expect_pass(f, T0 + 90 * DAY, 0, 0);
    assert_int_equal(newest(f, uid), 2);
    /* A ceiling alone schedules nothing in time. */
    set_policy(f, T0 + 90 * DAY, uid, 0, 5);
    assert_int_equal(next_of(f, uid), 0);
    expect_pass(f, T0 + 900 * DAY, 0, 0);
}

/* -------------------------------------------------------- tenant default */

static void test_tenant_default(void **state)
{
    struct fx *f = setup_tenant(state);
    const char *a = new_key(f, T0, true);          /* follows the default */
    const char *b = new_key(f, T0, true);          /* its own policy wins */
    const char *std = new_key(f, T0, false);       /* a standard key: never */
    core_req rq = fx_core_req(f, T0);
    core_rotation_policy p = {.interval = 14 * DAY}, got;
    core_rotation_info i;
    int64_t resched = -1;
    const char *d;

    set_policy(f, T0, b, 30 * DAY, 0);
    assert_int_equal(core_rotation_tenant_set(&rq, NULL, &p, &resched), CF_OK);
    assert_int_equal(resched, 1); /* a (b has its own, std is no root key) */
    assert_int_equal(core_rotation_tenant_get(&rq, "default", &got), CF_OK);
    assert_int_equal(got.interval, 14 * DAY);
    assert_int_equal(core_rotation_policy_get(&rq, a, &i), CF_OK);
    assert_int_equal(i.source, CORE_ROTATION_TENANT);
    assert_int_equal(i.next, T0 + 14 * DAY);
    assert_int_equal(core_rotation_policy_get(&rq, std, &i), CF_ERR_OBJECT_TYPE);

    d = new_key(f, T0 + DAY, true); /* made after the default: the pass adopts it */
    expect_pass(f, T0 + 2 * DAY, 0, 0);
    assert_int_equal(next_of(f, d), T0 + 15 * DAY);
    expect_pass(f, T0 + 14 * DAY, 1, 0);          /* a */
    expect_pass(f, T0 + 15 * DAY + 1, 1, 0);      /* d */
    assert_int_equal(newest(f, a), 2);
    assert_int_equal(newest(f, d), 2);
    assert_int_equal(newest(f, b), 1);
    assert_int_equal(next_of(f, a), T0 + 28 * DAY);

    /* A shorter default reschedules from the last rotation. */
    rq = fx_core_req(f, T0 + 16 * DAY);
    p.interval = 7 * DAY;
    assert_int_equal(core_rotation_tenant_set(&rq, "default", &p, &resched), CF_OK);
    assert_int_equal(resched, 2);
    assert_int_equal(next_of(f, a), T0 + 21 * DAY);

    /* Removing the default unschedules the keys that followed it. */
    assert_int_equal(core_rotation_tenant_clear(&rq, NULL, &resched), CF_OK);
    assert_int_equal(resched, 2);
    assert_int_equal(next_of(f, a), 0);
    assert_int_equal(core_rotation_tenant_get(&rq, NULL, &got), CF_OK);
    assert_int_equal(got.interval, 0);
    expect_pass(f, T0 + 60 * DAY, 1, 0);          /* b only, on its own policy */
    assert_int_equal(newest(f, a), 2);
    assert_int_equal(newest(f, b), 2);
    assert_int_equal(newest(f, d), 2);
    assert_int_equal(core_key_versions(&rq, std, 0, 1, &(core_key_version *){NULL},
                                       &(size_t){0}, &(int64_t){0}),
                     CF_ERR_OBJECT_TYPE); /* no versions: never rotated */

    /* A key's own policy removed: the default applies again. */
    p.interval = 10 * DAY;
    assert_int_equal(core_rotation_tenant_set(&rq, NULL, &p, &resched), CF_OK);
    assert_int_equal(core_rotation_policy_clear(&rq, b, &i), CF_OK);
    assert_int_equal(i.source, CORE_ROTATION_TENANT);
    assert_int_equal(i.next, T0 + 70 * DAY); /* b's last rotation + 10 days */
}

/* ------------------------------------------------------------ two nodes */

struct node {
    struct fx *f;
    store *st;
    int64_t now;
    pthread_barrier_t *go;
    cf_status rc;
    core_rotation_counts n;
};

static void *node_main(void *arg)
{
    struct node *nd = arg;
    pthread_barrier_wait(nd->go);
    nd->rc = core_rotation_run(&nd->f->core, nd->st, nd->now, &nd->n);
    return NULL;
}

static void test_two_nodes_rotate_once(void **state)
{
    struct fx *f = setup_tenant(state);
    const char *uids[6];
    char uri[128];
    store *st2 = NULL;
    pthread_barrier_t go;

    snprintf(uri, sizeof uri, "sqlite:%s/db", f->dir);
    assert_int_equal(store_open(uri, &st2), CF_OK);
    for (size_t k = 0; k < 6; k++) {
        uids[k] = new_key(f, T0, true);
        set_policy(f, T0, uids[k], DAY, 0);
    }
    for (int round = 1; round <= 4; round++) {
        struct node nodes[2] = {{.f = f, .st = f->st}, {.f = f, .st = st2}};
        pthread_t th[2];
        pthread_barrier_init(&go, NULL, 2);
        for (int i = 0; i < 2; i++) {
            nodes[i].now = T0 + round * DAY + 1;
            nodes[i].go = &go;
            assert_int_equal(pthread_create(&th[i], NULL, node_main, &nodes[i]), 0);
        }
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&go);
        assert_int_equal(nodes[0].rc, CF_OK);
        assert_int_equal(nodes[1].rc, CF_OK);
        assert_int_equal(nodes[0].n.rotated + nodes[1].n.rotated, 6);
        assert_int_equal(nodes[0].n.failed + nodes[1].n.failed, 0);
        for (size_t k = 0; k < 6; k++)
            assert_int_equal(newest(f, uids[k]), (uint32_t)round + 1);
    }
    store_close(st2);
}

/* ------------------------------------------------------ states and roles */

static void test_inactive_keys_not_rotated(void **state)
{
    struct fx *f = setup_tenant(state);
    const char *off = new_key(f, T0, true);
    const char *gone = new_key(f, T0, true);
    core_req rq = fx_core_req(f, T0 + DAY);
    core_rotation_policy p = {.interval = 2 * DAY};
    uint32_t v;

    set_policy(f, T0, off, 2 * DAY, 0);
    set_policy(f, T0, gone, 2 * DAY, 0);
    assert_int_equal(core_deactivate(&rq, off), CF_OK);
    assert_int_equal(core_deactivate(&rq, gone), CF_OK);
    assert_int_equal(core_destroy(&rq, gone), CF_OK);
    expect_pass(f, T0 + 3 * DAY, 0, 0);
    assert_int_equal(newest(f, off), 1);
    /* Neither on demand, nor a new policy. */
    assert_int_equal(core_key_rotate(&rq, off, CORE_ROTATE_MANUAL, &v), CF_ERR_STATE);
    assert_int_equal(core_rotation_policy_set(&rq, off, &p, NULL), CF_ERR_STATE);
    assert_int_equal(core_rotation_policy_set(&rq, gone, &p, NULL), CF_ERR_STATE);
}

static void test_validation_and_roles(void **state)
{
    struct fx *f = setup_tenant(state);
    const char *uid = new_key(f, T0, true);
    const char *std = new_key(f, T0, false);
    core_req rq = fx_core_req(f, T0);
    core_rotation_policy bad[] = {
        {.interval = 0, .max_encryptions = 0},
        {.interval = HOUR - 1},
        {.interval = 3650 * DAY + 1},
        {.interval = -DAY},
        {.max_encryptions = (INT64_C(1) << 32) + 1},
        {.interval = DAY, .max_encryptions = -1},
    };
    core_rotation_policy ok = {.interval = HOUR, .max_encryptions = INT64_C(1) << 32};
    core_rotation_policy longest = {.interval = 3650 * DAY}, got;
    core_rotation_counts n;
    core_rotation_info i;
    int64_t at = T0;

    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(core_rotation_policy_set(&rq, uid, &bad[k], NULL), CF_ERR_INVALID_FIELD);
        assert_int_equal(core_rotation_tenant_set(&rq, NULL, &bad[k], NULL),
                         CF_ERR_INVALID_FIELD);
    }
    assert_int_equal(core_rotation_policy_set(&rq, uid, &ok, NULL), CF_OK);
    assert_int_equal(core_rotation_policy_set(&rq, uid, &longest, NULL), CF_OK);
    assert_int_equal(core_rotation_policy_set(&rq, std, &ok, NULL), CF_ERR_OBJECT_TYPE);
    assert_int_equal(core_rotation_policy_set(&rq, "no-such-key", &ok, NULL), CF_ERR_NOT_FOUND);

    /* A Writer sets a key's policy, not the tenant's; a Reader reads it. */
    f->who.role = CORE_ROLE_WRITER;
    assert_int_equal(core_rotation_policy_set(&rq, uid, &ok, NULL), CF_OK);
    assert_int_equal(core_rotation_tenant_set(&rq, NULL, &ok, NULL), CF_ERR_PERMISSION);
    assert_int_equal(core_rotation_tenant_get(&rq, NULL, &got), CF_ERR_PERMISSION);
    f->who.role = CORE_ROLE_READER;
    assert_int_equal(core_rotation_policy_get(&rq, uid, &i), CF_OK);
    assert_int_equal(i.policy.interval, HOUR);
    assert_int_equal(core_rotation_policy_set(&rq, uid, &ok, NULL), CF_ERR_PERMISSION);
    assert_int_equal(core_rotation_policy_clear(&rq, uid, NULL), CF_ERR_PERMISSION);
    assert_int_equal(core_key_rotate(&rq, uid, CORE_ROTATE_MANUAL, &(uint32_t){0}),
                     CF_ERR_PERMISSION);
    f->who.role = CORE_ROLE_MANAGER;
    /* Another tenant's default does not exist for a tenant Manager. */
    assert_int_equal(core_rotation_tenant_set(&rq, "other", &ok, NULL), CF_ERR_NOT_FOUND);
    /* Only the operator runs a pass, and names its time only on a test clock. */
    assert_int_equal(core_rotation_run_as(&rq, NULL, &n), CF_ERR_PERMISSION);
    f->who = (core_identity){.id = "op", .is_operator = true};
    assert_int_equal(core_rotation_run_as(&rq, &at, &n), CF_ERR_PERMISSION);
    f->core.test_clock = true;
    assert_int_equal(core_rotation_run_as(&rq, &at, &n), CF_OK);
    assert_int_equal(core_rotation_run_as(&rq, NULL, &n), CF_OK);
    /* The operator sets any tenant's default, never a key's policy. */
    assert_int_equal(core_rotation_tenant_set(&rq, "default", &ok, NULL), CF_OK);
    assert_int_equal(core_rotation_tenant_set(&rq, "nope", &ok, NULL), CF_ERR_NOT_FOUND);
    assert_int_equal(core_rotation_tenant_set(&rq, NULL, &ok, NULL), CF_ERR_INVALID_FIELD);
    assert_int_equal(core_rotation_policy_set(&rq, uid, &ok, NULL), CF_ERR_NOT_FOUND);
}

/* ------------------------------------------------------------ KMIP ReKey */

static void test_rekey_root_key_is_rotation(void **state)
{
    struct fx *f = setup_tenant(state);
    const char *root = new_key(f, T0, true);
    const char *std = new_key(f, T0, false);
    core_req rq = fx_core_req(f, T0 + HOUR);
    core_object *obj = NULL;
    int64_t offset = 3600;

    assert_int_equal(core_rekey(&rq, root, NULL, NULL, &obj), CF_OK);
    assert_string_equal(obj->uid, root);
    assert_int_equal(newest(f, root), 2);
    assert_int_equal(core_rekey(&rq, root, &offset, NULL, &obj), CF_ERR_INVALID_FIELD);
    assert_int_equal(newest(f, root), 2);
    /* A standard key keeps KMIP's ReKey: a new object. */
    assert_int_equal(core_rekey(&rq, std, NULL, NULL, &obj), CF_OK);
    assert_string_not_equal(obj->uid, std);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_interval_policy, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_policy_on_old_key_and_removal, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_tenant_default, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_two_nodes_rotate_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_inactive_keys_not_rotated, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_validation_and_roles, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rekey_root_key_is_rotation, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
