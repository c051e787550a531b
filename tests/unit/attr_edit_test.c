/*
 * Unit tests for the client's attribute edits (core_attr.c,
 * kmip_ops_lifecycle.c): Modify / Delete Attribute in the 1.x form
 * (Attribute Index) and the 2.x form (Current / New Attribute, Attribute
 * Reference), Set Attribute, custom and vendor attributes, the rule table
 * (read-only, not deletable, state windows and order of the dates) with the
 * exact Result Reason of each version.
 */
#include "lifecycle_test_util.h"

/* --------------------------------------------------- attribute edits, 1.x */

static uint32_t modify1(struct fx *f, const char *uid, const char *name, int index,
                        uint8_t type, int64_t iv, const char *sv)
{
    req r;
    req_one(&r, f->major, f->minor, KMIP_OPERATION_MODIFY_ATTRIBUTE, uid);
    attr1_at(&r, name, index);
    if (type == TTLV_TEXT_STRING)
        ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, sv);
    else if (type == TTLV_DATE_TIME)
        ttlv_w_datetime(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, iv);
    else if (type == TTLV_INTEGER)
        ttlv_w_int(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)iv);
    else if (type == TTLV_ENUMERATION)
        ttlv_w_enum(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, (uint32_t)iv);
    else { /* a Name */
        ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE_VALUE);
        ttlv_w_cstr(&r.w, KMIP_TAG_NAME_VALUE, sv);
        ttlv_w_enum(&r.w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
        ttlv_w_end(&r.w);
    }
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    return result_of(f, 0);
}

static uint32_t add1(struct fx *f, const char *uid, const char *name, uint8_t type, int64_t iv,
                     const char *sv)
{
    req r;
    req_one(&r, f->major, f->minor, KMIP_OPERATION_ADD_ATTRIBUTE, uid);
    attr1(&r, name);
    if (type == TTLV_TEXT_STRING)
        ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, sv);
    else if (type == TTLV_DATE_TIME)
        ttlv_w_datetime(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, iv);
    else {
        ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE_VALUE);
        ttlv_w_cstr(&r.w, KMIP_TAG_NAME_VALUE, sv);
        ttlv_w_enum(&r.w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
        ttlv_w_end(&r.w);
    }
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    return result_of(f, 0);
}

static uint32_t delete1(struct fx *f, const char *uid, const char *name, int index)
{
    req r;
    req_one(&r, f->major, f->minor, KMIP_OPERATION_DELETE_ATTRIBUTE, uid);
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, name);
    if (index >= 0)
        ttlv_w_int(&r.w, KMIP_TAG_ATTRIBUTE_INDEX, index);
    item_end(&r);
    send_req(f, &r);
    return result_of(f, 0);
}

static void assert_name(struct fx *f, const char *uid, int32_t index, const char *want)
{
    const ttlv_item *v = get_attr(f, uid, "Name", index);
    const char *s;
    size_t l;
    if (want == NULL) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    assert_int_equal(ttlv_get_text(v, KMIP_TAG_NAME_VALUE, &s, &l), CF_OK);
    assert_int_equal(l, strlen(want));
    assert_memory_equal(s, want, l);
}

static void test_modify_1x(void **state)
{
    struct fx *f = *state;
    char *uid = create_key_dated(f, 0, 0, "first");
    const ttlv_item *p, *a, *v;
    int32_t idx = -1;
    const char *s;
    size_t l;
    int64_t now = core_now();

    /* A present single-instance attribute: response echoes it, index 0. */
    assert_int_equal(add1(f, uid, "Contact Information", TTLV_TEXT_STRING, 0, "a@x"), OK);
    assert_int_equal(modify1(f, uid, "Contact Information", -1, TTLV_TEXT_STRING, 0, "b@x"), OK);
    p = payload_of(nth_item(f, 0));
    assert_int_equal(ttlv_get_text(p, KMIP_TAG_UNIQUE_IDENTIFIER, &s, &l), CF_OK);
    assert_int_equal(ttlv_get_struct(p, KMIP_TAG_ATTRIBUTE, &a), CF_OK);
    assert_int_equal(ttlv_get_int(a, KMIP_TAG_ATTRIBUTE_INDEX, &idx), CF_OK);
    assert_int_equal(idx, 0);
    assert_int_equal(ttlv_get_text(a, KMIP_TAG_ATTRIBUTE_VALUE, &s, &l), CF_OK);
    assert_memory_equal(s, "b@x", 3);
    v = get_attr(f, uid, "Contact Information", 0);
    assert_int_equal(v->v.s.len, 3);
    assert_memory_equal(v->v.s.p, "b@x", 3);
    assert_int_equal(count_attr(f, uid, "Contact Information"), 1);

    /* Instances by index; indexes do not move when others go (1.4 2.1.1). */
    assert_int_equal(add1(f, uid, "Name", TTLV_STRUCTURE, 0, "second"), OK);
    assert_int_equal(modify1(f, uid, "Name", 1, TTLV_STRUCTURE, 0, "second-b"), OK);
    assert_name(f, uid, 0, "first");
    assert_name(f, uid, 1, "second-b");
    assert_int_equal(delete1(f, uid, "Name", 0), OK);
    assert_name(f, uid, 0, NULL);
    assert_name(f, uid, 1, "second-b");
    assert_int_equal(modify1(f, uid, "Name", 0, TTLV_STRUCTURE, 0, "x"), INF); /* 11.16 */
    assert_int_equal(modify1(f, uid, "Contact Information", 1, TTLV_TEXT_STRING, 0, "c"), INF);

    /* Absent attribute: "needs to first be added" -> Invalid Field. */
    assert_int_equal(modify1(f, uid, "Description", -1, TTLV_TEXT_STRING, 0, "d"),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    /* Read-only: server-set, and client-set-once ones. */
    assert_int_equal(modify1(f, uid, "Initial Date", -1, TTLV_DATE_TIME, now, NULL), PD);
    assert_int_equal(modify1(f, uid, "State", -1, TTLV_ENUMERATION, 2, NULL), PD);
    assert_int_equal(modify1(f, uid, "Cryptographic Usage Mask", -1, TTLV_INTEGER, 4, NULL), PD);
    assert_int_equal(modify1(f, uid, "Cryptographic Length", -1, TTLV_INTEGER, 128, NULL), PD);
    assert_int_equal(modify1(f, uid, "Operation Policy Name", -1, TTLV_TEXT_STRING, 0, "p"), PD);
    assert_int_equal(modify1(f, uid, "y-server", -1, TTLV_TEXT_STRING, 0, "p"), PD);
    /* Wrong type for the attribute. */
    assert_int_equal(modify1(f, uid, "Contact Information", -1, TTLV_INTEGER, 3, NULL),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    /* Custom x- attributes are the client's. */
    assert_int_equal(add1(f, uid, "x-owner", TTLV_TEXT_STRING, 0, "alice"), OK);
    assert_int_equal(modify1(f, uid, "x-owner", 0, TTLV_TEXT_STRING, 0, "bob"), OK);
    v = get_attr(f, uid, "x-owner", 0);
    assert_memory_equal(v->v.s.p, "bob", 3);
    /* A 1.0 client may not name an attribute 1.0 does not define. */
    f->minor = 0;
    assert_int_equal(modify1(f, uid, "Description", -1, TTLV_TEXT_STRING, 0, "d"),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    f->minor = 4;
    free(uid);
}

static void test_modify_dates_1x(void **state)
{
    struct fx *f = *state;
    int64_t now = core_now();
    char *uid = create_key_dated(f, now + 3600, now + 7200, NULL);
    char *b = create_key(f);

    /* Pre-Active: the Activation Date may move; to now or before, the key
     * becomes Active (1.4 3.22 item 4). */
    assert_int_equal(modify1(f, uid, "Activation Date", -1, TTLV_DATE_TIME, now + 60, NULL), OK);
    assert_int_equal(state_of(f, uid), KMIP_STATE_PRE_ACTIVE);
    assert_int_equal(modify1(f, uid, "Activation Date", -1, TTLV_DATE_TIME, now - 60, NULL), OK);
    assert_int_equal(state_of(f, uid), KMIP_STATE_ACTIVE);
    /* Active: no longer (SKLC-M-3-14: Permission Denied). */
    assert_int_equal(modify1(f, uid, "Activation Date", -1, TTLV_DATE_TIME, now, NULL), PD);
    assert_int_equal(delete1(f, uid, "Activation Date", -1), PD); /* never deletable */
    /* Process Start Date must not precede the Activation Date (3.25)... */
    assert_int_equal(add1(f, uid, "Process Start Date", TTLV_DATE_TIME, now - 3600, NULL),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    assert_int_equal(count_attr(f, uid, "Process Start Date"), 0);
    assert_int_equal(add1(f, uid, "Process Start Date", TTLV_DATE_TIME, now - 30, NULL), OK);
    /* ... and is frozen once reached. */
    assert_int_equal(modify1(f, uid, "Process Start Date", -1, TTLV_DATE_TIME, now + 10, NULL),
                     PD);
    /* Protect Stop Date not later than the Deactivation Date. */
    assert_int_equal(add1(f, uid, "Protect Stop Date", TTLV_DATE_TIME, now + 3000, NULL), OK);
    assert_int_equal(modify1(f, uid, "Protect Stop Date", -1, TTLV_DATE_TIME, now + 9000, NULL),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    assert_int_equal(date_of(f, uid, "Protect Stop Date"), now + 3000);
    /* The order holds when the Deactivation Date moves too. */
    assert_int_equal(modify1(f, uid, "Deactivation Date", -1, TTLV_DATE_TIME, now, NULL),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    assert_int_equal(modify1(f, uid, "Protect Stop Date", -1, TTLV_DATE_TIME, now, NULL), OK);
    /* Active: the Deactivation Date moved to now deactivates (item 6). */
    assert_int_equal(modify1(f, uid, "Deactivation Date", -1, TTLV_DATE_TIME, now, NULL), OK);
    assert_int_equal(state_of(f, uid), KMIP_STATE_DEACTIVATED);
    /* Deactivated: dates are frozen. */
    assert_int_equal(modify1(f, uid, "Deactivation Date", -1, TTLV_DATE_TIME, now + 10, NULL),
                     PD);
    /* The Activation Date is never deletable, whatever the state. */
    assert_int_equal(delete1(f, b, "Activation Date", 0), PD);
    assert_int_equal(op_uid(f, KMIP_OPERATION_ACTIVATE, b), OK);
    assert_int_equal(delete1(f, b, "Activation Date", 0), PD);
    free(uid);
    free(b);
}

static void test_delete_1x(void **state)
{
    struct fx *f = *state;
    char *uid = create_key_dated(f, 0, 0, "n0");
    const ttlv_item *a;
    int32_t idx = -1;

    assert_int_equal(add1(f, uid, "x-tag", TTLV_TEXT_STRING, 0, "one"), OK);
    assert_int_equal(add1(f, uid, "x-tag", TTLV_TEXT_STRING, 0, "two"), OK);
    assert_int_equal(count_attr(f, uid, "x-tag"), 2);
    /* Index 1: response carries the deleted attribute with its index. */
    assert_int_equal(delete1(f, uid, "x-tag", 1), OK);
    assert_int_equal(ttlv_get_struct(payload_of(nth_item(f, 0)), KMIP_TAG_ATTRIBUTE, &a), CF_OK);
    assert_int_equal(ttlv_get_int(a, KMIP_TAG_ATTRIBUTE_INDEX, &idx), CF_OK);
    assert_int_equal(idx, 1);
    assert_int_equal(count_attr(f, uid, "x-tag"), 1);
    /* No Attribute Index: index 0. */
    assert_int_equal(delete1(f, uid, "x-tag", -1), OK);
    assert_int_equal(count_attr(f, uid, "x-tag"), 0);
    /* 1.4 11.17: no such attribute / instance -> Item Not Found. */
    assert_int_equal(delete1(f, uid, "x-tag", -1), INF);
    assert_int_equal(delete1(f, uid, "Description", -1), INF);
    assert_int_equal(delete1(f, uid, "Name", 4), INF);
    assert_int_equal(delete1(f, uid, "No Such Attribute", -1), INF);
    /* Read-only or always required -> Permission Denied. */
    assert_int_equal(delete1(f, uid, "Initial Date", -1), PD);
    assert_int_equal(delete1(f, uid, "Last Change Date", -1), PD);
    assert_int_equal(delete1(f, uid, "Cryptographic Algorithm", -1), PD);
    assert_int_equal(delete1(f, uid, "Unique Identifier", -1), PD);
    assert_int_equal(delete1(f, uid, "Operation Policy Name", -1), PD);
    assert_int_equal(count_attr(f, uid, "Operation Policy Name"), 1);
    assert_int_equal(delete1(f, uid, "Name", 0), OK);
    assert_int_equal(count_attr(f, uid, "Name"), 0);
    free(uid);
}

/* --------------------------------------------------- attribute edits, 2.x */

static void name2(req *r, uint32_t tag, const char *v)
{
    ttlv_w_begin(&r->w, tag);
    ttlv_w_begin(&r->w, KMIP_TAG_NAME);
    ttlv_w_cstr(&r->w, KMIP_TAG_NAME_VALUE, v);
    ttlv_w_enum(&r->w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
    ttlv_w_end(&r->w);
    ttlv_w_end(&r->w);
}

static uint32_t modify2_name(struct fx *f, const char *uid, const char *cur, const char *nv)
{
    req r;
    req_one(&r, f->major, f->minor, KMIP_OPERATION_MODIFY_ATTRIBUTE, uid);
    if (cur)
        name2(&r, KMIP_TAG_CURRENT_ATTRIBUTE, cur);
    name2(&r, KMIP_TAG_NEW_ATTRIBUTE, nv);
    item_end(&r);
    send_req(f, &r);
    return result_of(f, 0);
}

/* New Attribute (and Current when cur_tag) holding one primitive item. */
static uint32_t edit2(struct fx *f, uint32_t op, const char *uid, uint32_t tag, uint8_t type,
                      int64_t iv, const char *sv)
{
    req r;
    req_one(&r, f->major, f->minor, op, uid);
    ttlv_w_begin(&r.w, op == KMIP_OPERATION_DELETE_ATTRIBUTE ? KMIP_TAG_CURRENT_ATTRIBUTE
                                                             : KMIP_TAG_NEW_ATTRIBUTE);
    if (type == TTLV_TEXT_STRING)
        ttlv_w_cstr(&r.w, tag, sv);
    else if (type == TTLV_DATE_TIME)
        ttlv_w_datetime(&r.w, tag, iv);
    else if (type == TTLV_ENUMERATION)
        ttlv_w_enum(&r.w, tag, (uint32_t)iv);
    else
        ttlv_w_int(&r.w, tag, (int32_t)iv);
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    return result_of(f, 0);
}

static uint32_t delete2_ref(struct fx *f, const char *uid, uint32_t tag)
{
    req r;
    req_one(&r, f->major, f->minor, KMIP_OPERATION_DELETE_ATTRIBUTE, uid);
    ttlv_w_enum(&r.w, KMIP_TAG_ATTRIBUTE_REFERENCE, tag);
    item_end(&r);
    send_req(f, &r);
    return result_of(f, 0);
}

static void test_modify_2x(void **state)
{
    struct fx *f = *state;
    char *uid = key_in_state(f, KMIP_STATE_ACTIVE);
    int64_t now = core_now();

    f->major = 2, f->minor = 1;
    /* Absent, then single instance without Current Attribute. */
    assert_int_equal(edit2(f, KMIP_OPERATION_MODIFY_ATTRIBUTE, uid, KMIP_TAG_DESCRIPTION,
                           TTLV_TEXT_STRING, 0, "d"), KMIP_RESULT_REASON_ATTRIBUTE_NOT_FOUND);
    assert_int_equal(edit2(f, KMIP_OPERATION_SET_ATTRIBUTE, uid, KMIP_TAG_DESCRIPTION,
                           TTLV_TEXT_STRING, 0, "d1"), OK);
    assert_int_equal(edit2(f, KMIP_OPERATION_MODIFY_ATTRIBUTE, uid, KMIP_TAG_DESCRIPTION,
                           TTLV_TEXT_STRING, 0, "d2"), OK);
    assert_memory_equal(get_attr(f, uid, "Description", 0)->v.s.p, "d2", 2);
    assert_int_equal(count_attr(f, uid, "Description"), 1);

    /* Read-only: BL-M-7-21 (State), BL-M-10-21 (Certificate Length). */
    assert_int_equal(edit2(f, KMIP_OPERATION_MODIFY_ATTRIBUTE, uid, KMIP_TAG_STATE,
                           TTLV_ENUMERATION, KMIP_STATE_COMPROMISED, NULL),
                     KMIP_RESULT_REASON_ATTRIBUTE_READ_ONLY);
    assert_int_equal(edit2(f, KMIP_OPERATION_MODIFY_ATTRIBUTE, uid, KMIP_TAG_CERTIFICATE_LENGTH,
                           TTLV_INTEGER, 123, NULL), KMIP_RESULT_REASON_ATTRIBUTE_READ_ONLY);
    /* Lifecycle window: SKLC-M-3-21. */
    assert_int_equal(edit2(f, KMIP_OPERATION_MODIFY_ATTRIBUTE, uid, KMIP_TAG_ACTIVATION_DATE,
                           TTLV_DATE_TIME, now, NULL), WKLS);

    /* Multi-valued Name: without Current it is ambiguous. */
    f->major = 1, f->minor = 4;
    assert_int_equal(add1(f, uid, "Name", TTLV_STRUCTURE, 0, "alpha"), OK);
    assert_int_equal(add1(f, uid, "Name", TTLV_STRUCTURE, 0, "beta"), OK);
    f->major = 2, f->minor = 1;
    assert_int_equal(modify2_name(f, uid, NULL, "gamma"),
                     KMIP_RESULT_REASON_MULTI_VALUED_ATTRIBUTE);
    assert_int_equal(modify2_name(f, uid, "zeta", "gamma"),
                     KMIP_RESULT_REASON_ATTRIBUTE_INSTANCE_NOT_FOUND);
    assert_int_equal(modify2_name(f, uid, "beta", "gamma"), OK);
    assert_name(f, uid, 0, "alpha");
    assert_name(f, uid, 1, "gamma");
    /* Current and New must name the same attribute. */
    {
        req r;
        req_one(&r, f->major, f->minor, KMIP_OPERATION_MODIFY_ATTRIBUTE, uid);
        name2(&r, KMIP_TAG_CURRENT_ATTRIBUTE, "alpha");
        ttlv_w_begin(&r.w, KMIP_TAG_NEW_ATTRIBUTE);
        ttlv_w_cstr(&r.w, KMIP_TAG_DESCRIPTION, "x");
        ttlv_w_end(&r.w);
        item_end(&r);
        send_req(f, &r);
        assert_int_equal(result_of(f, 0), KMIP_RESULT_REASON_INVALID_FIELD);
    }
    free(uid);
}

static void test_delete_2x(void **state)
{
    struct fx *f = *state;
    char *uid = key_in_state(f, KMIP_STATE_ACTIVE);

    f->major = 1, f->minor = 4;
    assert_int_equal(add1(f, uid, "Name", TTLV_STRUCTURE, 0, "alpha"), OK);
    assert_int_equal(add1(f, uid, "Name", TTLV_STRUCTURE, 0, "gamma"), OK);
    assert_int_equal(add1(f, uid, "Description", TTLV_TEXT_STRING, 0, "d2"), OK);
    f->major = 2, f->minor = 1;
    /* Delete by Current Attribute: that instance only. */
    {
        req r;
        req_one(&r, f->major, f->minor, KMIP_OPERATION_DELETE_ATTRIBUTE, uid);
        name2(&r, KMIP_TAG_CURRENT_ATTRIBUTE, "alpha");
        item_end(&r);
        send_req(f, &r);
        assert_int_equal(result_of(f, 0), OK);
        assert_null(ttlv_child(payload_of(nth_item(f, 0)), KMIP_TAG_ATTRIBUTE)); /* 2.x: uid only */
    }
    assert_name(f, uid, 0, NULL);
    assert_name(f, uid, 1, "gamma");
    /* Delete by reference: every instance. */
    f->major = 1, f->minor = 4;
    assert_int_equal(add1(f, uid, "Name", TTLV_STRUCTURE, 0, "delta"), OK);
    f->major = 2, f->minor = 1;
    assert_int_equal(count_attr(f, uid, "Name"), 2);
    assert_int_equal(delete2_ref(f, uid, KMIP_TAG_NAME), OK);
    assert_int_equal(count_attr(f, uid, "Name"), 0);
    assert_int_equal(delete2_ref(f, uid, KMIP_TAG_NAME), KMIP_RESULT_REASON_ATTRIBUTE_NOT_FOUND);
    assert_int_equal(delete2_ref(f, uid, KMIP_TAG_INITIAL_DATE),
                     KMIP_RESULT_REASON_ATTRIBUTE_READ_ONLY);
    assert_int_equal(edit2(f, KMIP_OPERATION_DELETE_ATTRIBUTE, uid, KMIP_TAG_DESCRIPTION,
                           TTLV_TEXT_STRING, 0, "other"),
                     KMIP_RESULT_REASON_ATTRIBUTE_INSTANCE_NOT_FOUND);
    assert_int_equal(edit2(f, KMIP_OPERATION_DELETE_ATTRIBUTE, uid, KMIP_TAG_DESCRIPTION,
                           TTLV_TEXT_STRING, 0, "d2"), OK);
    assert_int_equal(count_attr(f, uid, "Description"), 0);
    /* Neither Current Attribute nor Attribute Reference. */
    assert_int_equal(op_uid(f, KMIP_OPERATION_DELETE_ATTRIBUTE, uid),
                     KMIP_RESULT_REASON_MISSING_DATA);
    /* Unknown object. */
    assert_int_equal(delete2_ref(f, "nope", KMIP_TAG_NAME), KMIP_RESULT_REASON_OBJECT_NOT_FOUND);
    free(uid);
}

static void test_vendor_attribute_2x(void **state)
{
    struct fx *f = *state;
    char *uid = create_key(f);
    const ttlv_item *v;
    req r;

    f->major = 2, f->minor = 0;
    for (int i = 0; i < 2; i++) { /* Set adds, then replaces */
        req_one(&r, f->major, f->minor, KMIP_OPERATION_SET_ATTRIBUTE, uid);
        ttlv_w_begin(&r.w, KMIP_TAG_NEW_ATTRIBUTE);
        ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE);
        ttlv_w_cstr(&r.w, KMIP_TAG_VENDOR_IDENTIFICATION, "x");
        ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, "Owner");
        ttlv_w_int(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, 10 + i);
        ttlv_w_end(&r.w);
        ttlv_w_end(&r.w);
        item_end(&r);
        send_req(f, &r);
        assert_int_equal(result_of(f, 0), OK);
    }
    assert_int_equal(count_attr(f, uid, "x-Owner"), 1);
    v = get_attr(f, uid, "x-Owner", 0);
    assert_int_equal(v->type, TTLV_INTEGER);
    assert_int_equal(v->v.i32, 11);
    /* y- is the server's (1.4 3.39). */
    req_one(&r, f->major, f->minor, KMIP_OPERATION_SET_ATTRIBUTE, uid);
    ttlv_w_begin(&r.w, KMIP_TAG_NEW_ATTRIBUTE);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE);
    ttlv_w_cstr(&r.w, KMIP_TAG_VENDOR_IDENTIFICATION, "y");
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, "Owner");
    ttlv_w_int(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, 1);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(result_of(f, 0), KMIP_RESULT_REASON_ATTRIBUTE_READ_ONLY);
    /* Delete by vendor reference. */
    req_one(&r, f->major, f->minor, KMIP_OPERATION_DELETE_ATTRIBUTE, uid);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE_REFERENCE);
    ttlv_w_cstr(&r.w, KMIP_TAG_VENDOR_IDENTIFICATION, "x");
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, "Owner");
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(result_of(f, 0), OK);
    assert_int_equal(count_attr(f, uid, "x-Owner"), 0);
    free(uid);
}

static void test_set_attribute_2x(void **state)
{
    struct fx *f = *state;
    char *uid = create_key_dated(f, 0, 0, "one");
    int64_t now = core_now();

    f->major = 2, f->minor = 1;
    assert_int_equal(edit2(f, KMIP_OPERATION_SET_ATTRIBUTE, uid, KMIP_TAG_CONTACT_INFORMATION,
                           TTLV_TEXT_STRING, 0, "a"), OK);
    assert_int_equal(edit2(f, KMIP_OPERATION_SET_ATTRIBUTE, uid, KMIP_TAG_CONTACT_INFORMATION,
                           TTLV_TEXT_STRING, 0, "b"), OK);
    assert_int_equal(count_attr(f, uid, "Contact Information"), 1);
    assert_memory_equal(get_attr(f, uid, "Contact Information", 0)->v.s.p, "b", 1);
    /* Pre-Active: Activation Date may be set; in the past it activates. */
    assert_int_equal(edit2(f, KMIP_OPERATION_SET_ATTRIBUTE, uid, KMIP_TAG_ACTIVATION_DATE,
                           TTLV_DATE_TIME, now - 5, NULL), OK);
    assert_int_equal(state_of(f, uid), KMIP_STATE_ACTIVE);
    assert_int_equal(edit2(f, KMIP_OPERATION_SET_ATTRIBUTE, uid, KMIP_TAG_ACTIVATION_DATE,
                           TTLV_DATE_TIME, now, NULL), WKLS);
    /* Read-only and multi-valued. */
    assert_int_equal(edit2(f, KMIP_OPERATION_SET_ATTRIBUTE, uid, KMIP_TAG_CRYPTOGRAPHIC_LENGTH,
                           TTLV_INTEGER, 128, NULL), KMIP_RESULT_REASON_ATTRIBUTE_READ_ONLY);
    assert_int_equal(edit2(f, KMIP_OPERATION_SET_ATTRIBUTE, uid, KMIP_TAG_LAST_CHANGE_DATE,
                           TTLV_DATE_TIME, now, NULL), KMIP_RESULT_REASON_ATTRIBUTE_READ_ONLY);
    f->major = 1, f->minor = 4;
    assert_int_equal(add1(f, uid, "Name", TTLV_STRUCTURE, 0, "two"), OK);
    f->major = 2, f->minor = 1;
    {
        req r;
        req_one(&r, f->major, f->minor, KMIP_OPERATION_SET_ATTRIBUTE, uid);
        name2(&r, KMIP_TAG_NEW_ATTRIBUTE, "three");
        item_end(&r);
        send_req(f, &r);
        assert_int_equal(result_of(f, 0), KMIP_RESULT_REASON_MULTI_VALUED_ATTRIBUTE);
    }
    /* Two attributes in one New Attribute. */
    {
        req r;
        req_one(&r, f->major, f->minor, KMIP_OPERATION_SET_ATTRIBUTE, uid);
        ttlv_w_begin(&r.w, KMIP_TAG_NEW_ATTRIBUTE);
        ttlv_w_cstr(&r.w, KMIP_TAG_DESCRIPTION, "a");
        ttlv_w_cstr(&r.w, KMIP_TAG_COMMENT, "b");
        ttlv_w_end(&r.w);
        item_end(&r);
        send_req(f, &r);
        assert_int_equal(result_of(f, 0), KMIP_RESULT_REASON_INVALID_FIELD);
    }
    /* Set Attribute does not exist before 2.0. */
    f->major = 1, f->minor = 4;
    assert_int_equal(edit2(f, KMIP_OPERATION_SET_ATTRIBUTE, uid, KMIP_TAG_DESCRIPTION,
                           TTLV_TEXT_STRING, 0, "x"), KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED);
    free(uid);
}

/* Last Change Date moves on every edit; the revision check holds. */
static void test_last_change_date_and_revision(void **state)
{
    struct fx *f = *state;
    char *uid = create_key(f);
    store_object row;
    int64_t rev;

    assert_int_equal(store_object_get(f->st, "default", uid, f->arena, &row), CF_OK);
    rev = row.revision;
    assert_int_equal(add1(f, uid, "Description", TTLV_TEXT_STRING, 0, "a"), OK);
    assert_int_equal(modify1(f, uid, "Description", 0, TTLV_TEXT_STRING, 0, "b"), OK);
    assert_int_equal(delete1(f, uid, "Description", 0), OK);
    assert_int_equal(op_uid(f, KMIP_OPERATION_ACTIVATE, uid), OK);
    assert_int_equal(store_object_get(f->st, "default", uid, f->arena, &row), CF_OK);
    assert_int_equal(row.revision, rev + 4);
    assert_true(date_of(f, uid, "Last Change Date") >= date_of(f, uid, "Initial Date"));
    /* A failed edit writes nothing. */
    assert_int_equal(modify1(f, uid, "Description", 0, TTLV_TEXT_STRING, 0, "c"),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    assert_int_equal(store_object_get(f->st, "default", uid, f->arena, &row), CF_OK);
    assert_int_equal(row.revision, rev + 4);
    free(uid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_modify_1x, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_modify_dates_1x, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_1x, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_modify_2x, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_2x, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_vendor_attribute_2x, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_set_attribute_2x, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_last_change_date_and_revision, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
