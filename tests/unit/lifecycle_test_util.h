/*
 * lifecycle_test_util.h - request helpers shared by lifecycle_test.c and
 * attr_edit_test.c (each test is its own program, so these are static
 * functions in a header), over the KMIP fixture of support/kmip_fixture.h.
 * Requests go at the protocol version in f->major/f->minor (1.4 unless a
 * test changes it); the helpers that read back state always use 1.4.
 */
#ifndef LIFECYCLE_TEST_UTIL_H
#define LIFECYCLE_TEST_UTIL_H

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

enum { OK = 0 }; /* expected reason 0: success */
#define PD KMIP_RESULT_REASON_PERMISSION_DENIED
#define WKLS KMIP_RESULT_REASON_WRONG_KEY_LIFECYCLE_STATE
#define INF KMIP_RESULT_REASON_ITEM_NOT_FOUND
#define ODES KMIP_RESULT_REASON_OBJECT_DESTROYED

__attribute__((unused)) static bool v2(const struct fx *f) { return f->major >= 2; }

/* Create an AES-256 key at 1.4, optionally with dates (0: absent) and a Name. */
__attribute__((unused)) static char *create_key_dated(struct fx *f, int64_t act, int64_t deact,
                                                      const char *name)
{
    const char *uid;
    size_t len;
    req r;

    req_one(&r, 1, 4, KMIP_OPERATION_CREATE, NULL);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
    attr1_enum(&r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    attr1_int(&r, "Cryptographic Length", 256);
    attr1_int(&r, "Cryptographic Usage Mask", 12);
    if (act)
        attr1_date(&r, "Activation Date", act);
    if (deact)
        attr1_date(&r, "Deactivation Date", deact);
    if (name)
        attr1_name(&r, name);
    ttlv_w_end(&r.w);
    send_one(f, &r);
    assert_int_equal(result_of(f, 0), OK);
    assert_int_equal(ttlv_get_text(payload_of(nth_item(f, 0)), KMIP_TAG_UNIQUE_IDENTIFIER, &uid,
                                   &len),
                     CF_OK);
    return strndup(uid, len);
}

__attribute__((unused)) static char *create_key(struct fx *f) { return create_key_dated(f, 0, 0, NULL); }

/* One-item operations at f's version; they return the result (0 or reason). */
__attribute__((unused)) static uint32_t op_uid(struct fx *f, uint32_t op, const char *uid)
{
    req r;
    req_one(&r, f->major, f->minor, op, uid);
    send_one(f, &r);
    return result_of(f, 0);
}

__attribute__((unused)) static uint32_t op_revoke(struct fx *f, const char *uid, uint32_t code, const char *msg,
                          int64_t occurred)
{
    req r;
    req_one(&r, f->major, f->minor, KMIP_OPERATION_REVOKE, uid);
    ttlv_w_begin(&r.w, KMIP_TAG_REVOCATION_REASON);
    ttlv_w_enum(&r.w, KMIP_TAG_REVOCATION_REASON_CODE, code);
    if (msg)
        ttlv_w_cstr(&r.w, KMIP_TAG_REVOCATION_MESSAGE, msg);
    ttlv_w_end(&r.w);
    if (occurred)
        ttlv_w_datetime(&r.w, KMIP_TAG_COMPROMISE_OCCURRENCE_DATE, occurred);
    item_end(&r);
    send_req(f, &r);
    return result_of(f, 0);
}

/* The payload of a 1.4 Get Attributes of one attribute name. */
__attribute__((unused)) static const ttlv_item *get_attrs_1_4(struct fx *f, const char *uid,
                                                              const char *name)
{
    req r;
    req_one(&r, 1, 4, KMIP_OPERATION_GET_ATTRIBUTES, uid);
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, name);
    send_one(f, &r);
    assert_int_equal(result_of(f, 0), OK);
    return payload_of(nth_item(f, 0));
}

/* The value of attribute (name, index) read with a 1.4 Get Attributes, or
 * NULL when the object has no such instance. */
__attribute__((unused)) static const ttlv_item *get_attr(struct fx *f, const char *uid,
                                                         const char *name, int32_t index)
{
    const ttlv_item *found = NULL;
    for (const ttlv_item *a = ttlv_child(get_attrs_1_4(f, uid, name), KMIP_TAG_ATTRIBUTE); a;
         a = ttlv_next_same(a)) {
        int32_t idx = -1;
        assert_int_equal(ttlv_get_int(a, KMIP_TAG_ATTRIBUTE_INDEX, &idx), CF_OK);
        if (idx == index)
            found = ttlv_child(a, KMIP_TAG_ATTRIBUTE_VALUE);
    }
    return found;
}

__attribute__((unused)) static unsigned count_attr(struct fx *f, const char *uid, const char *name)
{
    return ttlv_count(get_attrs_1_4(f, uid, name), KMIP_TAG_ATTRIBUTE);
}

__attribute__((unused)) static uint32_t state_of(struct fx *f, const char *uid)
{
    const ttlv_item *v = get_attr(f, uid, "State", 0);
    assert_non_null(v);
    assert_int_equal(v->type, TTLV_ENUMERATION);
    return v->v.u32;
}

__attribute__((unused)) static int64_t date_of(struct fx *f, const char *uid, const char *name)
{
    const ttlv_item *v = get_attr(f, uid, name, 0);
    assert_non_null(v);
    assert_int_equal(v->type, TTLV_DATE_TIME);
    return v->v.i64;
}

/* Bring a fresh key into state s with client operations. */
__attribute__((unused)) static char *key_in_state(struct fx *f, uint32_t s)
{
    int major = f->major, minor = f->minor;
    char *uid = create_key(f);
    f->major = 1, f->minor = 4;
    switch (s) {
    case KMIP_STATE_ACTIVE:
        assert_int_equal(op_uid(f, KMIP_OPERATION_ACTIVATE, uid), OK);
        break;
    case KMIP_STATE_DEACTIVATED:
        assert_int_equal(op_uid(f, KMIP_OPERATION_ACTIVATE, uid), OK);
        assert_int_equal(op_revoke(f, uid, KMIP_REVOCATION_REASON_CODE_SUPERSEDED, NULL, 0), OK);
        break;
    case KMIP_STATE_COMPROMISED:
        assert_int_equal(op_revoke(f, uid, KMIP_REVOCATION_REASON_CODE_KEY_COMPROMISE, NULL, 0),
                         OK);
        break;
    case KMIP_STATE_DESTROYED:
        assert_int_equal(op_uid(f, KMIP_OPERATION_DESTROY, uid), OK);
        break;
    case KMIP_STATE_DESTROYED_COMPROMISED:
        assert_int_equal(op_uid(f, KMIP_OPERATION_DESTROY, uid), OK);
        assert_int_equal(op_revoke(f, uid, KMIP_REVOCATION_REASON_CODE_CA_COMPROMISE, NULL, 0),
                         OK);
        break;
    default:
        break;
    }
    f->major = major, f->minor = minor;
    assert_int_equal(state_of(f, uid), s);
    return uid;
}

#endif
