/*
 * Unit tests for the object lifecycle (core_lifecycle.c) through the KMIP
 * front end, without the network: the state machine table itself, every
 * state x lifecycle operation at 1.0, 1.4, 2.0 and 2.1 with its exact Result
 * Reason, time-driven transitions, the usage check for cryptographic
 * operations, Destroy erasing the material, Revoke's dates, roles.
 */
#include "lifecycle_test_util.h"

/* ------------------------------------------------------ the table itself */

static void test_state_machine_table(void **state)
{
    static const struct {
        uint32_t from;
        core_event ev;
        uint32_t to;
        unsigned dates;
    } allowed[] = { /* KMIP 1.4 section 3.22, transitions 2 to 10 */
        {KMIP_STATE_PRE_ACTIVE, CORE_EV_ACTIVATE, KMIP_STATE_ACTIVE, CORE_DATE_ACTIVATION},
        {KMIP_STATE_PRE_ACTIVE, CORE_EV_ACTIVATION_DATE, KMIP_STATE_ACTIVE, 0},
        {KMIP_STATE_PRE_ACTIVE, CORE_EV_REVOKE_COMPROMISE, KMIP_STATE_COMPROMISED,
         CORE_DATE_COMPROMISE},
        {KMIP_STATE_PRE_ACTIVE, CORE_EV_DESTROY, KMIP_STATE_DESTROYED, CORE_DATE_DESTROY},
        {KMIP_STATE_ACTIVE, CORE_EV_DEACTIVATION_DATE, KMIP_STATE_DEACTIVATED, 0},
        {KMIP_STATE_ACTIVE, CORE_EV_REVOKE, KMIP_STATE_DEACTIVATED, CORE_DATE_DEACTIVATION},
        {KMIP_STATE_ACTIVE, CORE_EV_REVOKE_COMPROMISE, KMIP_STATE_COMPROMISED,
         CORE_DATE_COMPROMISE},
        {KMIP_STATE_DEACTIVATED, CORE_EV_REVOKE_COMPROMISE, KMIP_STATE_COMPROMISED,
         CORE_DATE_COMPROMISE},
        {KMIP_STATE_DEACTIVATED, CORE_EV_DESTROY, KMIP_STATE_DESTROYED, CORE_DATE_DESTROY},
        {KMIP_STATE_COMPROMISED, CORE_EV_DESTROY, KMIP_STATE_DESTROYED_COMPROMISED,
         CORE_DATE_DESTROY},
        {KMIP_STATE_DESTROYED, CORE_EV_REVOKE_COMPROMISE, KMIP_STATE_DESTROYED_COMPROMISED,
         CORE_DATE_COMPROMISE},
    };
    unsigned permitted = 0;
    (void)state;
    for (uint32_t s = 0; s <= KMIP_STATE_DESTROYED_COMPROMISED + 1; s++) {
        for (int ev = 0; ev <= CORE_EV_COUNT; ev++) {
            const core_transition *t = core_state_transition(s, (core_event)ev);
            bool listed = false;
            for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
                if (allowed[i].from != s || allowed[i].ev != (core_event)ev)
                    continue;
                listed = true;
                assert_non_null(t);
                assert_int_equal(t->to, allowed[i].to);
                assert_int_equal(t->dates, allowed[i].dates);
            }
            if (!listed)
                assert_null(t);
            permitted += t != NULL;
        }
    }
    assert_int_equal(permitted, 11);
    assert_true(core_state_is_destroyed(KMIP_STATE_DESTROYED));
    assert_true(core_state_is_destroyed(KMIP_STATE_DESTROYED_COMPROMISED));
    assert_false(core_state_is_destroyed(KMIP_STATE_COMPROMISED));
}

/* ------------------------------------ every state x operation, both versions */

enum lop { L_ACTIVATE, L_REVOKE, L_REVOKE_COMPROMISE, L_DESTROY, L_GET };

static uint32_t run_lop(struct fx *f, enum lop op, const char *uid)
{
    switch (op) {
    case L_ACTIVATE:
        return op_uid(f, KMIP_OPERATION_ACTIVATE, uid);
    case L_REVOKE:
        return op_revoke(f, uid, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION, "done", 0);
    case L_REVOKE_COMPROMISE:
        return op_revoke(f, uid, KMIP_REVOCATION_REASON_CODE_KEY_COMPROMISE, "leak", 1000);
    case L_DESTROY:
        return op_uid(f, KMIP_OPERATION_DESTROY, uid);
    default:
        return op_uid(f, KMIP_OPERATION_GET, uid);
    }
}


static const struct lifecycle_case {
    uint32_t from;
    enum lop op;
    uint32_t r14, r21; /* result at 1.4 and 2.1 (0: success) */
    uint32_t to;       /* state afterwards */
} lifecycle_cases[] = {
    {KMIP_STATE_PRE_ACTIVE, L_ACTIVATE, OK, OK, KMIP_STATE_ACTIVE},
    {KMIP_STATE_PRE_ACTIVE, L_REVOKE, PD, WKLS, KMIP_STATE_PRE_ACTIVE},
    {KMIP_STATE_PRE_ACTIVE, L_REVOKE_COMPROMISE, OK, OK, KMIP_STATE_COMPROMISED},
    {KMIP_STATE_PRE_ACTIVE, L_DESTROY, OK, OK, KMIP_STATE_DESTROYED},
    {KMIP_STATE_PRE_ACTIVE, L_GET, OK, OK, KMIP_STATE_PRE_ACTIVE},
    {KMIP_STATE_ACTIVE, L_ACTIVATE, PD, WKLS, KMIP_STATE_ACTIVE},
    {KMIP_STATE_ACTIVE, L_REVOKE, OK, OK, KMIP_STATE_DEACTIVATED},
    {KMIP_STATE_ACTIVE, L_REVOKE_COMPROMISE, OK, OK, KMIP_STATE_COMPROMISED},
    {KMIP_STATE_ACTIVE, L_DESTROY, PD, WKLS, KMIP_STATE_ACTIVE}, /* 1.4 11.22, SKLC-M-2 */
    {KMIP_STATE_ACTIVE, L_GET, OK, OK, KMIP_STATE_ACTIVE},
    {KMIP_STATE_DEACTIVATED, L_ACTIVATE, PD, WKLS, KMIP_STATE_DEACTIVATED},
    {KMIP_STATE_DEACTIVATED, L_REVOKE, PD, WKLS, KMIP_STATE_DEACTIVATED},
    {KMIP_STATE_DEACTIVATED, L_REVOKE_COMPROMISE, OK, OK, KMIP_STATE_COMPROMISED},
    {KMIP_STATE_DEACTIVATED, L_DESTROY, OK, OK, KMIP_STATE_DESTROYED},
    {KMIP_STATE_DEACTIVATED, L_GET, PD, WKLS, KMIP_STATE_DEACTIVATED},
    {KMIP_STATE_COMPROMISED, L_ACTIVATE, PD, WKLS, KMIP_STATE_COMPROMISED},
    {KMIP_STATE_COMPROMISED, L_REVOKE, PD, WKLS, KMIP_STATE_COMPROMISED},
    {KMIP_STATE_COMPROMISED, L_REVOKE_COMPROMISE, PD, WKLS, KMIP_STATE_COMPROMISED},
    {KMIP_STATE_COMPROMISED, L_DESTROY, OK, OK, KMIP_STATE_DESTROYED_COMPROMISED},
    {KMIP_STATE_COMPROMISED, L_GET, PD, WKLS, KMIP_STATE_COMPROMISED},
    {KMIP_STATE_DESTROYED, L_ACTIVATE, PD, WKLS, KMIP_STATE_DESTROYED},
    {KMIP_STATE_DESTROYED, L_REVOKE, PD, WKLS, KMIP_STATE_DESTROYED},
    {KMIP_STATE_DESTROYED, L_REVOKE_COMPROMISE, OK, OK, KMIP_STATE_DESTROYED_COMPROMISED},
    {KMIP_STATE_DESTROYED, L_DESTROY, PD, ODES, KMIP_STATE_DESTROYED},
    {KMIP_STATE_DESTROYED, L_GET, INF, ODES, KMIP_STATE_DESTROYED},
    {KMIP_STATE_DESTROYED_COMPROMISED, L_ACTIVATE, PD, WKLS, KMIP_STATE_DESTROYED_COMPROMISED},
    {KMIP_STATE_DESTROYED_COMPROMISED, L_REVOKE, PD, WKLS, KMIP_STATE_DESTROYED_COMPROMISED},
    {KMIP_STATE_DESTROYED_COMPROMISED, L_REVOKE_COMPROMISE, PD, WKLS,
     KMIP_STATE_DESTROYED_COMPROMISED},
    {KMIP_STATE_DESTROYED_COMPROMISED, L_DESTROY, PD, ODES, KMIP_STATE_DESTROYED_COMPROMISED},
    {KMIP_STATE_DESTROYED_COMPROMISED, L_GET, INF, ODES, KMIP_STATE_DESTROYED_COMPROMISED},
};

static void test_every_state_and_operation(void **state)
{
    struct fx *f = *state;
    static const int versions[][2] = {{1, 0}, {1, 4}, {2, 0}, {2, 1}};
    unsigned n = 0;
    for (size_t v = 0; v < 4; v++) {
        for (size_t i = 0; i < sizeof lifecycle_cases / sizeof lifecycle_cases[0]; i++) {
            const struct lifecycle_case *c = &lifecycle_cases[i];
            char *uid;
            f->major = versions[v][0];
            f->minor = versions[v][1];
            uint32_t got;
            uid = key_in_state(f, c->from);
            got = run_lop(f, c->op, uid);
            if (got != (v2(f) ? c->r21 : c->r14))
                fail_msg("version %d.%d, state %u, operation %d: result 0x%x", f->major,
                         f->minor, c->from, c->op, got);
            assert_int_equal(state_of(f, uid), c->to);
            free(uid);
            n++;
        }
    }
    assert_int_equal(n, 4 * 30);
}

/* ------------------------------------------------------- dates and reasons */

static void test_activate_sets_activation_date(void **state)
{
    struct fx *f = *state;
    int64_t before = core_now();
    char *uid = create_key_dated(f, before + 86400, 0, NULL); /* future: Pre-Active */
    int64_t d;
    assert_int_equal(state_of(f, uid), KMIP_STATE_PRE_ACTIVE);
    assert_int_equal(op_uid(f, KMIP_OPERATION_ACTIVATE, uid), OK);
    /* 1.4 4.19: set to the time the Activate operation is received. */
    d = date_of(f, uid, "Activation Date");
    assert_true(d >= before && d <= core_now());
    assert_int_equal(state_of(f, uid), KMIP_STATE_ACTIVE);
    assert_true(date_of(f, uid, "Last Change Date") >= before);
    free(uid);
}

static void test_revoke_dates_and_reason(void **state)
{
    struct fx *f = *state;
    int64_t before = core_now();
    char *a = key_in_state(f, KMIP_STATE_ACTIVE);
    char *b = create_key(f);
    char *c = create_key(f);
    const ttlv_item *rr;
    const char *msg;
    size_t ml;
    uint32_t code;

    /* Non-compromise: Deactivated, Deactivation Date = now, reason kept. */
    assert_int_equal(op_revoke(f, a, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION,
                               "retired", 0), OK);
    assert_int_equal(state_of(f, a), KMIP_STATE_DEACTIVATED);
    assert_true(date_of(f, a, "Deactivation Date") >= before);
    assert_null(get_attr(f, a, "Compromise Date", 0));
    rr = get_attr(f, a, "Revocation Reason", 0);
    assert_non_null(rr);
    assert_int_equal(ttlv_get_enum(rr, KMIP_TAG_REVOCATION_REASON_CODE, &code), CF_OK);
    assert_int_equal(code, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION);
    assert_int_equal(ttlv_get_text(rr, KMIP_TAG_REVOCATION_MESSAGE, &msg, &ml), CF_OK);
    assert_int_equal(ml, 7);
    assert_memory_equal(msg, "retired", 7);

    /* Compromise with an occurrence date (SKLC-M-2: 1970-01-01T00:00:06). */
    assert_int_equal(op_revoke(f, b, KMIP_REVOCATION_REASON_CODE_KEY_COMPROMISE, NULL, 6), OK);
    assert_int_equal(state_of(f, b), KMIP_STATE_COMPROMISED);
    assert_int_equal(date_of(f, b, "Compromise Occurrence Date"), 6);
    assert_true(date_of(f, b, "Compromise Date") >= before);
    assert_null(get_attr(f, b, "Deactivation Date", 0));
    rr = get_attr(f, b, "Revocation Reason", 0);
    assert_int_equal(ttlv_get_enum(rr, KMIP_TAG_REVOCATION_REASON_CODE, &code), CF_OK);
    assert_int_equal(code, KMIP_REVOCATION_REASON_CODE_KEY_COMPROMISE);
    assert_null(ttlv_child(rr, KMIP_TAG_REVOCATION_MESSAGE));

    /* Without one: the Initial Date (1.4 4.20). */
    assert_int_equal(op_revoke(f, c, KMIP_REVOCATION_REASON_CODE_CA_COMPROMISE, NULL, 0), OK);
    assert_int_equal(date_of(f, c, "Compromise Occurrence Date"), date_of(f, c, "Initial Date"));

    /* Refusals: occurrence date with another reason, unknown code,
     * missing reason, unknown object. */
    free(c);
    c = key_in_state(f, KMIP_STATE_ACTIVE);
    assert_int_equal(op_revoke(f, c, KMIP_REVOCATION_REASON_CODE_SUPERSEDED, NULL, 100),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    assert_int_equal(op_revoke(f, c, 99, NULL, 0), KMIP_RESULT_REASON_INVALID_FIELD);
    assert_int_equal(op_uid(f, KMIP_OPERATION_REVOKE, c), KMIP_RESULT_REASON_MISSING_DATA);
    assert_int_equal(op_revoke(f, "no-such-key", KMIP_REVOCATION_REASON_CODE_SUPERSEDED, NULL,
                               0), INF);
    assert_int_equal(state_of(f, c), KMIP_STATE_ACTIVE);
    free(a);
    free(b);
    free(c);
}

static void test_destroy_erases_material_keeps_metadata(void **state)
{
    struct fx *f = *state;
    char *uid = create_key_dated(f, 0, 0, "to-destroy");
    int64_t before = core_now();
    store_object row;

    assert_int_equal(store_object_get(f->st, "default", uid, f->arena, &row), CF_OK);
    assert_non_null(row.material);
    assert_int_equal(row.key_format, KMIP_KEY_FORMAT_TYPE_RAW);
    assert_int_equal(op_uid(f, KMIP_OPERATION_DESTROY, uid), OK);
    assert_int_equal(store_object_get(f->st, "default", uid, f->arena, &row), CF_OK);
    assert_null(row.material);
    assert_int_equal(row.material_len, 0);
    assert_int_equal(row.key_format, 0);
    assert_int_equal(row.state, KMIP_STATE_DESTROYED);
    /* Metadata stays (2.1 6.1.15 SHALL, BL-M-9): Get Attributes answers. */
    assert_true(date_of(f, uid, "Destroy Date") >= before);
    assert_non_null(get_attr(f, uid, "Name", 0));
    /* Get fails: Item Not Found at 1.x, Object Destroyed at 2.x (BL-M-8). */
    assert_int_equal(op_uid(f, KMIP_OPERATION_GET, uid), INF);
    f->major = 2, f->minor = 1;
    assert_int_equal(op_uid(f, KMIP_OPERATION_GET, uid), ODES);
    /* Attribute edits on a destroyed object are refused. */
    {
        req r;
        req_one(&r, f->major, f->minor, KMIP_OPERATION_SET_ATTRIBUTE, uid);
        ttlv_w_begin(&r.w, KMIP_TAG_NEW_ATTRIBUTE);
        ttlv_w_cstr(&r.w, KMIP_TAG_DESCRIPTION, "too late");
        ttlv_w_end(&r.w);
        item_end(&r);
        send_req(f, &r);
        assert_int_equal(result_of(f, 0), WKLS);
    }
    free(uid);
}

static void test_id_placeholder_create_activate(void **state)
{
    struct fx *f = *state;
    const char *uid;
    size_t ul;
    char *u;
    req r;

    req_begin(&r, f->major, f->minor, 2);
    item_begin(&r, KMIP_OPERATION_CREATE);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
    attr1_enum(&r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    attr1_int(&r, "Cryptographic Length", 128);
    ttlv_w_end(&r.w);
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_ACTIVATE); /* uses the ID Placeholder */
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(result_of(f, 0), OK);
    assert_int_equal(result_of(f, 1), OK);
    assert_int_equal(ttlv_get_text(payload_of(nth_item(f, 1)), KMIP_TAG_UNIQUE_IDENTIFIER, &uid,
                                   &ul),
                     CF_OK);
    u = strndup(uid, ul);
    assert_int_equal(state_of(f, u), KMIP_STATE_ACTIVE);
    free(u);
}

/* ------------------------------------------------- time-driven transitions */

static void test_dates_drive_state(void **state)
{
    struct fx *f = *state;
    int64_t now = core_now();
    char *past = create_key_dated(f, now - 3600, 0, NULL);
    char *future = create_key_dated(f, now + 3600, 0, NULL);
    char *retired = create_key_dated(f, now - 7200, now - 3600, NULL);
    char *later = create_key_dated(f, now - 7200, now + 3600, NULL);
    core_object *obj;
    store_object row;
    core_req rq;

    assert_int_equal(state_of(f, past), KMIP_STATE_ACTIVE);
    assert_int_equal(date_of(f, past, "Activation Date"), now - 3600); /* kept as given */
    assert_int_equal(state_of(f, future), KMIP_STATE_PRE_ACTIVE);
    assert_int_equal(state_of(f, retired), KMIP_STATE_DEACTIVATED);
    /* Dates already reached at creation are in the stored state at once. */
    assert_int_equal(store_object_get(f->st, "default", retired, f->arena, &row), CF_OK);
    assert_int_equal(row.state, KMIP_STATE_DEACTIVATED);
    assert_int_equal(state_of(f, later), KMIP_STATE_ACTIVE);
    /* A Deactivated key cannot be destroyed twice nor activated. */
    assert_int_equal(op_uid(f, KMIP_OPERATION_ACTIVATE, retired), PD);
    assert_int_equal(op_uid(f, KMIP_OPERATION_DESTROY, retired), OK);

    /* As time passes: loading two hours later gives the later states. */
    rq = fx_core_req(f, now + 7200);
    assert_int_equal(core_object_load(&rq, future, &obj), CF_OK);
    assert_int_equal(obj->state, KMIP_STATE_ACTIVE);
    assert_int_equal(core_object_load(&rq, later, &obj), CF_OK);
    assert_int_equal(obj->state, KMIP_STATE_DEACTIVATED);
    /* The store keeps the written state until the next write persists it. */
    assert_int_equal(store_object_get(f->st, "default", later, f->arena, &row), CF_OK);
    assert_int_equal(row.state, KMIP_STATE_ACTIVE);
    {
        ttlv_item *v = ttlv_new_text(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, "ops", 3);
        int32_t idx = -1;
        assert_int_equal(core_attr_add(&rq, later, "Contact Information", v, &idx), CF_OK);
        assert_int_equal(idx, 0);
    }
    assert_int_equal(store_object_get(f->st, "default", later, f->arena, &row), CF_OK);
    assert_int_equal(row.state, KMIP_STATE_DEACTIVATED);
    free(past);
    free(future);
    free(retired);
    free(later);
}

/* ------------------------------------------------------------ usage check */

static void test_usage_check(void **state)
{
    struct fx *f = *state;
    static const struct {
        uint32_t st;
        cf_status protect, process;
    } by_state[] = {
        {KMIP_STATE_PRE_ACTIVE, CF_ERR_STATE, CF_ERR_STATE},
        {KMIP_STATE_ACTIVE, CF_OK, CF_OK},
        {KMIP_STATE_DEACTIVATED, CF_ERR_STATE, CF_OK},
        {KMIP_STATE_COMPROMISED, CF_ERR_STATE, CF_OK}, /* Manager */
        {KMIP_STATE_DESTROYED, CF_ERR_STATE, CF_ERR_STATE},
        {KMIP_STATE_DESTROYED_COMPROMISED, CF_ERR_STATE, CF_ERR_STATE},
    };
    int64_t now = 1700000000;
    core_req rq = fx_core_req(f, now);
    core_object obj = {.uid = "u", .attrs = ttlv_new_struct(f->arena, KMIP_TAG_ATTRIBUTES)};
    ttlv_item *d;

    for (size_t i = 0; i < sizeof by_state / sizeof by_state[0]; i++) {
        obj.state = by_state[i].st;
        assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROTECT),
                         by_state[i].protect);
        assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROCESS),
                         by_state[i].process);
    }
    /* Compromised keys process data for trusted (Manager) callers only. */
    obj.state = KMIP_STATE_COMPROMISED;
    f->who.role = CORE_ROLE_WRITER;
    assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROCESS), CF_ERR_PERMISSION);
    f->who.role = CORE_ROLE_READER;
    obj.state = KMIP_STATE_ACTIVE;
    assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROCESS), CF_ERR_PERMISSION);
    f->who.role = CORE_ROLE_MANAGER;

    /* Process Start Date in the future: protect yes, process no (3.25). */
    d = ttlv_new_datetime(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, now + 10);
    ttlv_append(obj.attrs, core_attr_new(f->arena, "Process Start Date", 0, d));
    assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROTECT), CF_OK);
    assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROCESS), CF_ERR_STATE);
    rq.now = now + 10;
    assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROCESS), CF_OK);
    /* Protect Stop Date reached: process yes, protect no (3.26). */
    d = ttlv_new_datetime(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, now + 20);
    ttlv_append(obj.attrs, core_attr_new(f->arena, "Protect Stop Date", 0, d));
    assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROTECT), CF_OK);
    rq.now = now + 20;
    assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROTECT), CF_ERR_STATE);
    assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROCESS), CF_OK);
    /* A Deactivation Date reached counts even before the object is saved. */
    d = ttlv_new_datetime(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, now + 30);
    ttlv_append(obj.attrs, core_attr_new(f->arena, "Deactivation Date", 0, d));
    rq.now = now + 30;
    assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROCESS), CF_OK);
    obj.state = KMIP_STATE_PRE_ACTIVE; /* no Activation Date: never active */
    assert_int_equal(core_object_check_usage(&rq, &obj, CORE_USAGE_PROCESS), CF_ERR_STATE);
}

/* ------------------------------------------------------------- deactivate */

/* core_deactivate (REST POST /v1/keys/{id}/deactivate): Active ->
 * Deactivated through the Deactivation Date row of the state machine,
 * authorized as Revoke (owner or Manager). */
static void test_deactivate(void **state)
{
    struct fx *f = *state;
    int64_t before = core_now();
    char *active = key_in_state(f, KMIP_STATE_ACTIVE);
    char *pre = create_key(f);
    char *comp = key_in_state(f, KMIP_STATE_COMPROMISED);
    core_req rq = fx_core_req(f, core_now());
    int64_t d;

    assert_int_equal(core_deactivate(&rq, active), CF_OK);
    assert_int_equal(state_of(f, active), KMIP_STATE_DEACTIVATED);
    d = date_of(f, active, "Deactivation Date");
    assert_true(d >= before && d <= core_now());
    assert_null(get_attr(f, active, "Revocation Reason", 0)); /* not a Revoke */
    /* Get's state rule: no material once Deactivated (1.4 3.22). */
    assert_int_equal(op_uid(f, KMIP_OPERATION_GET, active), PD);
    /* Only from Active: again, Pre-Active, Compromised. */
    rq.err_msg = NULL;
    assert_int_equal(core_deactivate(&rq, active), CF_ERR_STATE);
    assert_non_null(rq.err_msg);
    assert_string_equal(rq.err_msg, "Deactivate is not permitted in state Deactivated");
    assert_int_equal(core_deactivate(&rq, pre), CF_ERR_STATE);
    assert_int_equal(state_of(f, pre), KMIP_STATE_PRE_ACTIVE);
    assert_null(get_attr(f, pre, "Deactivation Date", 0));
    assert_int_equal(core_deactivate(&rq, comp), CF_ERR_STATE);
    assert_int_equal(state_of(f, comp), KMIP_STATE_COMPROMISED);
    assert_int_equal(core_deactivate(&rq, "no-such-key"), CF_ERR_NOT_FOUND);
    free(active);
    free(pre);
    free(comp);
}

static void test_deactivate_roles(void **state)
{
    struct fx *f = *state;
    char *a = key_in_state(f, KMIP_STATE_ACTIVE); /* owned by cert:CN=test */
    char *b = key_in_state(f, KMIP_STATE_ACTIVE);
    char *mine;
    core_req rq = fx_core_req(f, core_now());

    /* Reader: never. A Writer that does not own the key: not either (the
     * owner rule of Revoke, 1.4 4.20). */
    f->who.role = CORE_ROLE_READER;
    assert_int_equal(core_deactivate(&rq, a), CF_ERR_PERMISSION);
    f->who.role = CORE_ROLE_WRITER;
    f->who.id = "cert:CN=other";
    assert_int_equal(core_deactivate(&rq, a), CF_ERR_PERMISSION);
    assert_int_equal(state_of(f, a), KMIP_STATE_ACTIVE);
    /* The owning Writer may. */
    mine = key_in_state(f, KMIP_STATE_ACTIVE);
    assert_int_equal(core_deactivate(&rq, mine), CF_OK);
    assert_int_equal(state_of(f, mine), KMIP_STATE_DEACTIVATED);
    /* A Manager may deactivate anyone's key. */
    f->who.role = CORE_ROLE_MANAGER;
    assert_int_equal(core_deactivate(&rq, a), CF_OK);
    assert_int_equal(state_of(f, a), KMIP_STATE_DEACTIVATED);
    /* Another tenant does not see the key at all. */
    f->who.tenant = "elsewhere";
    assert_int_equal(core_deactivate(&rq, b), CF_ERR_NOT_FOUND);
    f->who.tenant = "default";
    f->who.id = "cert:CN=test";
    assert_int_equal(state_of(f, b), KMIP_STATE_ACTIVE);
    free(a);
    free(b);
    free(mine);
}

/* ------------------------------------------------------------------ roles */

static void test_roles(void **state)
{
    struct fx *f = *state;
    char *uid = create_key(f);
    char *mine;

    f->who.role = CORE_ROLE_READER;
    assert_int_equal(op_uid(f, KMIP_OPERATION_ACTIVATE, uid), PD);
    assert_int_equal(op_uid(f, KMIP_OPERATION_GET, uid), PD); /* never key material */
    assert_int_equal(state_of(f, uid), KMIP_STATE_PRE_ACTIVE); /* metadata is readable */
    /* A Writer that does not own the key may activate it but not destroy
     * or revoke it (1.4 4.20, 4.21: owner or security officer). */
    f->who.role = CORE_ROLE_WRITER;
    f->who.id = "cert:CN=other";
    assert_int_equal(op_uid(f, KMIP_OPERATION_ACTIVATE, uid), OK);
    assert_int_equal(op_revoke(f, uid, KMIP_REVOCATION_REASON_CODE_SUPERSEDED, NULL, 0), PD);
    assert_int_equal(state_of(f, uid), KMIP_STATE_ACTIVE);
    mine = create_key(f);
    assert_int_equal(op_uid(f, KMIP_OPERATION_DESTROY, mine), OK);
    f->who.role = CORE_ROLE_MANAGER;
    f->who.id = "cert:CN=test";
    assert_int_equal(op_revoke(f, uid, KMIP_REVOCATION_REASON_CODE_SUPERSEDED, NULL, 0), OK);
    free(uid);
    free(mine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_machine_table),
        cmocka_unit_test_setup_teardown(test_every_state_and_operation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_activate_sets_activation_date, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_revoke_dates_and_reason, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_destroy_erases_material_keeps_metadata, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_id_placeholder_create_activate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dates_drive_state, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_usage_check, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_roles, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_deactivate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_deactivate_roles, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
