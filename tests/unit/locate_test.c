/*
 * Unit tests for Locate through the whole KMIP path (kmip_handle -> core ->
 * SQLite store), without the network, at 1.1, 1.4 and 2.0: every criterion
 * kind, paging and Located Items, the ID placeholder, destroyed objects and
 * the Storage Status Mask, Object Group Member, tenant isolation, and the
 * refusals with their exact Result Reasons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "kmip/kmip.h"
#include "store/store.h"
#include "ttlv/ttlv.h"
#include "support/kmip_fixture.h"

/* ---------------------------------------------------------- builders */

static void attr1_asi(req *r, const char *ns, const char *data)
{
    attr1(r, "Application Specific Information");
    ttlv_w_begin(&r->w, KMIP_TAG_ATTRIBUTE_VALUE);
    if (ns)
        ttlv_w_cstr(&r->w, KMIP_TAG_APPLICATION_NAMESPACE, ns);
    if (data)
        ttlv_w_cstr(&r->w, KMIP_TAG_APPLICATION_DATA, data);
    ttlv_w_end(&r->w);
    ttlv_w_end(&r->w);
}

/* Create (1.4) of an AES key with a Name, an optional group and a mask;
 * the Name "served" also sets Fresh = false. */
static void create_item(req *r, int bits, const char *name, const char *group, int32_t mask)
{
    item_begin(r, KMIP_OPERATION_CREATE);
    ttlv_w_enum(&r->w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r->w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
    attr1_enum(r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    attr1_int(r, "Cryptographic Length", bits);
    attr1_int(r, "Cryptographic Usage Mask", mask);
    if (name)
        attr1_name(r, name);
    if (group)
        attr1_text(r, "Object Group", group);
    if (name && strcmp(name, "served") == 0) {
        attr1(r, "Fresh");
        ttlv_w_bool(&r->w, KMIP_TAG_ATTRIBUTE_VALUE, false);
        ttlv_w_end(&r->w);
    }
    ttlv_w_end(&r->w);
    item_end(r);
}

static char *create_key(struct fx *f, const char *name, const char *group, int32_t mask)
{
    req r;
    const char *uid;
    size_t len;
    req_begin(&r, 1, 4, 1);
    create_item(&r, 256, name, group, mask);
    send_req(f, &r);
    assert_int_equal(ttlv_get_text(payload_of(nth_item(f, 0)), KMIP_TAG_UNIQUE_IDENTIFIER, &uid,
                                   &len),
                     CF_OK);
    return strndup(uid, len);
}

/* Simple operation on uid; returns its Result Status (and reason). */
static uint32_t uid_op(struct fx *f, uint32_t op, const char *uid, uint32_t *reason)
{
    req r;
    const ttlv_item *it;
    req_one(&r, 1, 4, op, uid);
    it = send_one(f, &r);
    if (reason)
        *reason = status_of(it) == KMIP_RESULT_STATUS_SUCCESS ? 0 : reason_of(it);
    return status_of(it);
}

static void add_text_attr(struct fx *f, const char *uid, const char *name, const char *v)
{
    req r;
    req_one(&r, 1, 4, KMIP_OPERATION_ADD_ATTRIBUTE, uid);
    attr1_text(&r, name, v);
    payload_of(send_one(f, &r));
}

/* Located Items (-1 when absent) and the uids of a Locate response item,
 * joined by ',' into out. */
static int32_t located(const ttlv_item *item, char *out, size_t cap)
{
    const ttlv_item *p = payload_of(item);
    int32_t count = -1;
    out[0] = 0;
    if (ttlv_child(p, KMIP_TAG_LOCATED_ITEMS))
        assert_int_equal(ttlv_get_int(p, KMIP_TAG_LOCATED_ITEMS, &count), CF_OK);
    for (const ttlv_item *u = ttlv_child(p, KMIP_TAG_UNIQUE_IDENTIFIER); u; u = ttlv_next_same(u)) {
        if (out[0])
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, (const char *)u->v.s.p, cap - strlen(out) - 1);
    }
    return count;
}

static char *join(const char *a, const char *b, const char *c)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s%s%s%s%s", a, b ? "," : "", b ? b : "", c ? "," : "",
             c ? c : "");
    return buf;
}

static void locate_attrs(struct fx *f, void (*fill)(req *, const void *), const void *ctx)
{
    req r;
    req_begin(&r, 1, 4, 1);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    fill(&r, ctx);
    item_end(&r);
    send_req(f, &r);
}

/* The uids of the first response item, joined by ','. */
static const char *found(struct fx *f)
{
    static char buf[1024];
    located(nth_item(f, 0), buf, sizeof buf);
    return buf;
}

static void fill_name(req *r, const void *ctx) { attr1_name(r, ctx); }
static void fill_group(req *r, const void *ctx) { attr1_text(r, "Object Group", ctx); }

/* -------------------------------------------------------------- tests */

static void test_name_and_id_placeholder_1_4(void **state)
{
    struct fx *f = *state;
    char *alpha = create_key(f, "alpha", NULL, 12);
    /* Names are unique (2.1 section 4.32): several matches come from a group. */
    char *b1 = create_key(f, "beta", "beta", 12), *b2 = create_key(f, "beta2", "beta", 12);
    char got[512];
    const char *uid;
    size_t ul;
    req r;

    locate_attrs(f, fill_name, "alpha");
    assert_int_equal(located(nth_item(f, 0), got, sizeof got), -1); /* not paging */
    assert_string_equal(got, alpha);

    /* Newest first. */
    locate_attrs(f, fill_group, "beta");
    assert_string_equal(found(f), join(b2, b1, NULL));
    locate_attrs(f, fill_name, "beta");
    assert_string_equal(found(f), b1);

    /* One match: the placeholder carries it to the next item. */
    req_begin(&r, 1, 4, 2);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    attr1_name(&r, "alpha");
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_GET_ATTRIBUTES);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(ttlv_get_text(payload_of(nth_item(f, 1)), KMIP_TAG_UNIQUE_IDENTIFIER, &uid,
                                   &ul),
                     CF_OK);
    assert_memory_equal(uid, alpha, ul);

    /* Several matches empty it, even after a Create set it (1.4 4.9). */
    req_begin(&r, 1, 4, 3);
    create_item(&r, 128, "other", NULL, 4);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    attr1_text(&r, "Object Group", "beta");
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_GET_ATTRIBUTES);
    item_end(&r);
    send_req(f, &r);
    located(nth_item(f, 1), got, sizeof got);
    assert_string_equal(got, join(b2, b1, NULL));
    assert_int_equal(reason_of(nth_item(f, 2)), KMIP_RESULT_REASON_MISSING_DATA);

    /* No match: success, empty payload. */
    locate_attrs(f, fill_name, "gamma");
    assert_int_equal(located(nth_item(f, 0), got, sizeof got), -1);
    assert_string_equal(got, "");
    assert_int_equal(payload_of(nth_item(f, 0))->nchildren, 0);
    free(alpha);
    free(b1);
    free(b2);
}

static void locate_group_page(struct fx *f, int minor, int max, int offset)
{
    req r;
    req_begin(&r, 1, minor, 1);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    if (max >= 0)
        ttlv_w_int(&r.w, KMIP_TAG_MAXIMUM_ITEMS, max);
    if (offset >= 0)
        ttlv_w_int(&r.w, KMIP_TAG_OFFSET_ITEMS, offset);
    attr1_text(&r, "Object Group", "g");
    item_end(&r);
    send_req(f, &r);
}

static void test_paging_and_located_items(void **state)
{
    struct fx *f = *state;
    char *k[5], *lone = create_key(f, "lone", NULL, 12);
    char got[512];

    for (int i = 0; i < 5; i++)
        k[i] = create_key(f, NULL, "g", 12);
    locate_group_page(f, 4, 2, 1);
    assert_int_equal(located(nth_item(f, 0), got, sizeof got), 5);
    assert_string_equal(got, join(k[3], k[2], NULL));
    locate_group_page(f, 4, 10, 3);
    assert_int_equal(located(nth_item(f, 0), got, sizeof got), 5);
    assert_string_equal(got, join(k[1], k[0], NULL));
    locate_group_page(f, 4, 0, -1); /* just the count */
    assert_int_equal(located(nth_item(f, 0), got, sizeof got), 5);
    assert_string_equal(got, "");
    locate_group_page(f, 4, -1, 9);
    assert_int_equal(located(nth_item(f, 0), got, sizeof got), 5);
    assert_string_equal(got, "");
    /* 1.3 defines Located Items; 1.1 does not (Maximum Items still applies). */
    locate_group_page(f, 3, 1, -1);
    assert_int_equal(located(nth_item(f, 0), got, sizeof got), 5);
    assert_string_equal(got, k[4]);
    locate_group_page(f, 1, 3, -1);
    assert_int_equal(located(nth_item(f, 0), got, sizeof got), -1);
    assert_string_equal(got, join(k[4], k[3], k[2]));
    locate_group_page(f, 1, -1, -1);
    located(nth_item(f, 0), got, sizeof got);
    assert_int_equal(strlen(got), 5 * strlen(k[0]) + 4);
    for (int i = 0; i < 5; i++)
        free(k[i]);
    free(lone);
}

static void test_kmip_2_0_attributes(void **state)
{
    struct fx *f = *state;
    char *a = create_key(f, "two", NULL, 12), *b = create_key(f, "other", NULL, 12);
    char got[512];
    req r;

    add_text_attr(f, a, "x-Team", "blue");
    req_begin(&r, 2, 0, 1);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    ttlv_w_int(&r.w, KMIP_TAG_MAXIMUM_ITEMS, 10);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTES);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_enum(&r.w, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE); /* Vendor Attribute x-Team */
    ttlv_w_cstr(&r.w, KMIP_TAG_VENDOR_IDENTIFICATION, "x");
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, "Team");
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, "blue");
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(located(nth_item(f, 0), got, sizeof got), 1);
    assert_string_equal(got, a);

    /* Name as its 2.x tagged structure. */
    req_begin(&r, 2, 0, 1);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTES);
    ttlv_w_begin(&r.w, KMIP_TAG_NAME);
    ttlv_w_cstr(&r.w, KMIP_TAG_NAME_VALUE, "other");
    ttlv_w_enum(&r.w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(located(nth_item(f, 0), got, sizeof got), -1);
    assert_string_equal(got, b);

    /* No Attributes at all (PyKMIP sends none): every object. */
    req_begin(&r, 2, 0, 1);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    ttlv_w_int(&r.w, KMIP_TAG_OFFSET_ITEMS, 0);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(located(nth_item(f, 0), got, sizeof got), 2);
    assert_string_equal(got, join(b, a, NULL));
    free(a);
    free(b);
}

static void fill_mask(req *r, const void *ctx)
{
    attr1_int(r, "Cryptographic Usage Mask", *(const int32_t *)ctx);
}

static void fill_range(req *r, const void *ctx)
{
    const int64_t *d = ctx;
    attr1_date(r, "Initial Date", d[0]);
    if (d[1] != 0)
        attr1_date(r, "Initial Date", d[1]);
    if (d[2] != 0)
        attr1_date(r, "Initial Date", d[2]);
}

static void fill_never_deactivated(req *r, const void *ctx)
{
    (void)ctx;
    attr1_date(r, "Deactivation Date", INT64_MAX);
    attr1_text(r, "Operation Policy Name", "default");
}

static void test_mask_subset_and_date_ranges(void **state)
{
    struct fx *f = *state;
    int64_t now = core_now();
    char *k1 = create_key(f, NULL, NULL, 12), *k2 = create_key(f, NULL, NULL, 4);
    char *k3 = create_key(f, NULL, NULL, 3);
    int32_t m;
    int64_t d[3];

    m = KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT;
    locate_attrs(f, fill_mask, &m);
    assert_string_equal(found(f), join(k2, k1, NULL));
    m = KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT | KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT;
    locate_attrs(f, fill_mask, &m);
    assert_string_equal(found(f), k1);
    m = KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN | KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT;
    locate_attrs(f, fill_mask, &m);
    assert_string_equal(found(f), "");

    /* Two values: the range between them, in either order, bounds included. */
    d[0] = now + 100, d[1] = now - 100, d[2] = 0;
    locate_attrs(f, fill_range, d);
    assert_string_equal(found(f), join(k3, k2, k1));
    d[0] = now + 100, d[1] = now + 200;
    locate_attrs(f, fill_range, d);
    assert_string_equal(found(f), "");
    d[0] = now - 1000, d[1] = 0; /* one value: that exact date */
    locate_attrs(f, fill_range, d);
    assert_string_equal(found(f), "");
    d[0] = now - 100, d[1] = now, d[2] = now + 100;
    locate_attrs(f, fill_range, d);
    assert_int_equal(reason_of(nth_item(f, 0)), KMIP_RESULT_REASON_INVALID_FIELD);

    /* The largest date means "not set"; every key has policy "default". */
    locate_attrs(f, fill_never_deactivated, NULL);
    assert_string_equal(found(f), join(k3, k2, k1));
    free(k1);
    free(k2);
    free(k3);
}

/* Request payloads that must be refused, by case number. */
static void fill_refused(req *r, const void *ctx)
{
    switch (*(const int *)ctx) {
    case 0: attr1_text(r, "Frobnication", "x"); break;         /* unknown attribute */
    case 1: attr1_int(r, "Cryptographic Algorithm", 3); break; /* not an Enumeration */
    case 2: ttlv_w_int(&r->w, KMIP_TAG_MAXIMUM_ITEMS, -1); break;
    case 3: ttlv_w_int(&r->w, KMIP_TAG_STORAGE_STATUS_MASK, 8); break;
    case 4: ttlv_w_enum(&r->w, KMIP_TAG_OBJECT_GROUP_MEMBER, 7); break;
    case 5:
        for (int i = 0; i < 65; i++) /* more criteria than the limit */
            attr1_text(r, "Object Group", "g");
        break;
    default: /* a structure nobody searches by */
        attr1(r, "Cryptographic Parameters");
        ttlv_w_begin(&r->w, KMIP_TAG_ATTRIBUTE_VALUE);
        ttlv_w_enum(&r->w, KMIP_TAG_BLOCK_CIPHER_MODE, KMIP_BLOCK_CIPHER_MODE_CBC);
        ttlv_w_end(&r->w);
        ttlv_w_end(&r->w);
    }
}

static void test_refusals(void **state)
{
    struct fx *f = *state;
    static const uint32_t reasons[] = {
        KMIP_RESULT_REASON_INVALID_FIELD,   KMIP_RESULT_REASON_INVALID_FIELD,
        KMIP_RESULT_REASON_INVALID_FIELD,   KMIP_RESULT_REASON_INVALID_FIELD,
        KMIP_RESULT_REASON_INVALID_FIELD,   KMIP_RESULT_REASON_INVALID_MESSAGE,
        KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
    };
    for (int i = 0; i < (int)(sizeof reasons / sizeof reasons[0]); i++) {
        locate_attrs(f, fill_refused, &i);
        assert_int_equal(reason_of(nth_item(f, 0)), reasons[i]);
    }
}

static void fill_group_state(req *r, const void *ctx)
{
    const uint32_t *s = ctx;
    attr1_text(r, "Object Group", "s");
    attr1_enum(r, "State", *s);
}

static void fill_group_mask(req *r, const void *ctx)
{
    attr1_text(r, "Object Group", "s");
    if (*(const int32_t *)ctx >= 0)
        ttlv_w_int(&r->w, KMIP_TAG_STORAGE_STATUS_MASK, *(const int32_t *)ctx);
}

static void test_state_and_destroyed(void **state)
{
    struct fx *f = *state;
    char *a = create_key(f, NULL, "s", 12), *p = create_key(f, NULL, "s", 12);
    char *d = create_key(f, NULL, "s", 12);
    uint32_t st, reason;
    int32_t mask;

    if (uid_op(f, KMIP_OPERATION_ACTIVATE, a, &reason) != KMIP_RESULT_STATUS_SUCCESS &&
        reason == KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED)
        skip();
    assert_int_equal(uid_op(f, KMIP_OPERATION_DESTROY, d, NULL), KMIP_RESULT_STATUS_SUCCESS);
    st = KMIP_STATE_ACTIVE;
    locate_attrs(f, fill_group_state, &st);
    assert_string_equal(found(f), a);
    st = KMIP_STATE_PRE_ACTIVE;
    locate_attrs(f, fill_group_state, &st);
    assert_string_equal(found(f), p);
    /* Destroyed objects: only when asked for. */
    mask = -1;
    locate_attrs(f, fill_group_mask, &mask);
    assert_string_equal(found(f), join(p, a, NULL));
    st = KMIP_STATE_DESTROYED;
    locate_attrs(f, fill_group_state, &st);
    assert_string_equal(found(f), d);
    mask = KMIP_STORAGE_STATUS_MASK_DESTROYED_STORAGE;
    locate_attrs(f, fill_group_mask, &mask);
    assert_string_equal(found(f), d);
    mask |= KMIP_STORAGE_STATUS_MASK_ON_LINE_STORAGE;
    locate_attrs(f, fill_group_mask, &mask);
    assert_string_equal(found(f), join(d, p, a));
    mask = KMIP_STORAGE_STATUS_MASK_ARCHIVAL_STORAGE; /* nothing is archived */
    locate_attrs(f, fill_group_mask, &mask);
    assert_string_equal(found(f), "");
    free(a);
    free(p);
    free(d);
}

static int64_t stored_with_state(struct fx *f, uint32_t state)
{
    store_criterion c = {.field = STORE_FIELD_STATE, .int_op = STORE_INT_EQ, .lo = state};
    store_query q = {.tenant = "default", .crit = &c, .n_crit = 1, .limit = -1};
    const char **uids;
    size_t n;
    int64_t total;
    assert_int_equal(store_object_find(f->st, &q, f->arena, &uids, &n, &total), CF_OK);
    return total;
}

static void test_state_reached_by_date_is_found(void **state)
{
    struct fx *f = *state;
    const char *uid;
    size_t ul;
    uint32_t st;
    req r;

    req_begin(&r, 1, 4, 1);
    item_begin(&r, KMIP_OPERATION_CREATE);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
    attr1_enum(&r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    attr1_int(&r, "Cryptographic Length", 128);
    attr1_text(&r, "Object Group", "s");
    attr1_date(&r, "Activation Date", core_now() + 1);
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(ttlv_get_text(payload_of(nth_item(f, 0)), KMIP_TAG_UNIQUE_IDENTIFIER, &uid,
                                   &ul),
                     CF_OK);
    uid = strndup(uid, ul);
    assert_int_equal(stored_with_state(f, KMIP_STATE_PRE_ACTIVE), 1);
    sleep(2);
    /* The row still says Pre-Active; a search by State persists the change
     * the Activation Date made (1.4 3.22 item 4) before answering. */
    assert_int_equal(stored_with_state(f, KMIP_STATE_ACTIVE), 0);
    st = KMIP_STATE_ACTIVE;
    locate_attrs(f, fill_group_state, &st);
    assert_string_equal(found(f), uid);
    assert_int_equal(stored_with_state(f, KMIP_STATE_ACTIVE), 1);
    st = KMIP_STATE_PRE_ACTIVE;
    locate_attrs(f, fill_group_state, &st);
    assert_string_equal(found(f), "");
    free((char *)uid);
}

static void fill_group_member(req *r, const void *ctx)
{
    ttlv_w_enum(&r->w, KMIP_TAG_OBJECT_GROUP_MEMBER, *(const uint32_t *)ctx);
    attr1_text(r, "Object Group", "gm");
}

static void test_group_member_custom_and_asi(void **state)
{
    struct fx *f = *state;
    char *g1 = create_key(f, NULL, "gm", 12), *g2 = create_key(f, "served", "gm", 12);
    char *g3 = create_key(f, NULL, "gm", 12);
    char got[512];
    uint32_t m;
    req r;

    m = KMIP_OBJECT_GROUP_MEMBER_GROUP_MEMBER_DEFAULT;
    locate_attrs(f, fill_group_member, &m);
    assert_string_equal(found(f), g3);
    /* Fresh: not yet served; the key with Fresh = false is not. */
    m = KMIP_OBJECT_GROUP_MEMBER_GROUP_MEMBER_FRESH;
    locate_attrs(f, fill_group_member, &m);
    assert_string_equal(found(f), join(g3, g1, NULL));

    /* Application Specific Information: namespace, data, both. */
    req_begin(&r, 1, 4, 1);
    item_begin(&r, KMIP_OPERATION_ADD_ATTRIBUTE);
    ttlv_w_cstr(&r.w, KMIP_TAG_UNIQUE_IDENTIFIER, g1);
    attr1_asi(&r, "LIBRARY-LTO", "123456");
    item_end(&r);
    send_req(f, &r);
    payload_of(nth_item(f, 0));
    req_begin(&r, 1, 4, 4);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    attr1_asi(&r, "LIBRARY-LTO", NULL);
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    attr1_asi(&r, NULL, "123456");
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    attr1_asi(&r, "LIBRARY-LTO", "123456");
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    attr1_asi(&r, "LIBRARY", "123456");
    item_end(&r);
    send_req(f, &r);
    for (unsigned i = 0; i < 3; i++) {
        located(nth_item(f, i), got, sizeof got);
        assert_string_equal(got, g1);
    }
    located(nth_item(f, 3), got, sizeof got);
    assert_string_equal(got, "");
    free(g1);
    free(g2);
    free(g3);
}

static void test_tenant_isolation(void **state)
{
    struct fx *f = *state;
    char *mine = create_key(f, "same", NULL, 12), *theirs;
    char got[512];
    req r;

    f->who.tenant = "other";
    theirs = create_key(f, "same", NULL, 12);
    req_begin(&r, 1, 4, 2);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    attr1_name(&r, "same");
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    attr1_text(&r, "Unique Identifier", mine);
    item_end(&r);
    send_req(f, &r);
    assert_string_equal(found(f), theirs);
    located(nth_item(f, 1), got, sizeof got);
    assert_string_equal(got, "");
    f->who.tenant = "default";
    req_begin(&r, 1, 4, 1);
    item_begin(&r, KMIP_OPERATION_LOCATE);
    item_end(&r);
    send_req(f, &r);
    assert_string_equal(found(f), mine);
    free(mine);
    free(theirs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_name_and_id_placeholder_1_4, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_paging_and_located_items, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_kmip_2_0_attributes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_mask_subset_and_date_ranges, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_state_and_destroyed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_state_reached_by_date_is_found, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_member_custom_and_asi, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tenant_isolation, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
