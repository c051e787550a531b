/*
 * lifecycle_test_util.h - fixture and request builders shared by
 * lifecycle_test.c and attr_edit_test.c (each test is its own program, so
 * these are static functions in a header). Requests go through kmip_handle
 * without the network, at the protocol version in the fixture.
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
#include "util/log.h"

enum { OK = 0 }; /* expected reason 0: success */
#define PD KMIP_RESULT_REASON_PERMISSION_DENIED
#define WKLS KMIP_RESULT_REASON_WRONG_KEY_LIFECYCLE_STATE
#define INF KMIP_RESULT_REASON_ITEM_NOT_FOUND
#define ODES KMIP_RESULT_REASON_OBJECT_DESTROYED

struct fx {
    char dir[64];
    cf_mk_provider *mk;
    cf_keyring *kr;
    store *st;
    core core;
    core_identity who;
    cf_arena *arena;
    cf_buf out;
    ttlv_item *resp;
    int major, minor; /* protocol version of the next requests */
};

__attribute__((unused)) static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char path[128];
    cf_buf wrapped;
    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/coffre-life-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/log", f->dir);
    cf_log_open(path);
    snprintf(path, sizeof path, "%s/master.key", f->dir);
    if (crypto_mk_file_open(path, true, &f->mk) != CF_OK)
        return -1;
    cf_buf_init(&wrapped, 0);
    if (crypto_keyring_create(f->mk, 1, &wrapped, &f->kr) != CF_OK)
        return -1;
    cf_buf_free(&wrapped);
    snprintf(path, sizeof path, "sqlite:%s/db", f->dir);
    if (store_open(path, &f->st) != CF_OK)
        return -1;
    f->core.keyring = f->kr;
    f->core.vendor = "Coffre";
    f->who.tenant = "default";
    f->who.id = "cert:CN=test";
    f->who.role = CORE_ROLE_MANAGER;
    f->arena = cf_arena_new(4096, 0);
    cf_buf_init(&f->out, 0);
    f->major = 1;
    f->minor = 4;
    *state = f;
    return 0;
}

__attribute__((unused)) static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    store_close(f->st);
    crypto_keyring_free(f->kr);
    crypto_mk_free(f->mk);
    cf_arena_free(f->arena);
    cf_buf_free(&f->out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

__attribute__((unused)) static bool v2(const struct fx *f) { return f->major >= 2; }

/* ---------------------------------------------------------- builders */

typedef struct req {
    cf_buf buf;
    ttlv_writer w;
} req;

__attribute__((unused)) static void req_begin(struct fx *f, req *r, int count)
{
    cf_buf_init(&r->buf, 0);
    ttlv_w_init(&r->w, &r->buf);
    ttlv_w_begin(&r->w, KMIP_TAG_REQUEST_MESSAGE);
    ttlv_w_begin(&r->w, KMIP_TAG_REQUEST_HEADER);
    ttlv_w_begin(&r->w, KMIP_TAG_PROTOCOL_VERSION);
    ttlv_w_int(&r->w, KMIP_TAG_PROTOCOL_VERSION_MAJOR, f->major);
    ttlv_w_int(&r->w, KMIP_TAG_PROTOCOL_VERSION_MINOR, f->minor);
    ttlv_w_end(&r->w);
    ttlv_w_int(&r->w, KMIP_TAG_BATCH_COUNT, count);
    ttlv_w_end(&r->w);
}

__attribute__((unused)) static void item_begin(req *r, uint32_t op, const char *uid)
{
    ttlv_w_begin(&r->w, KMIP_TAG_BATCH_ITEM);
    ttlv_w_enum(&r->w, KMIP_TAG_OPERATION, op);
    ttlv_w_begin(&r->w, KMIP_TAG_REQUEST_PAYLOAD);
    if (uid)
        ttlv_w_cstr(&r->w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
}

__attribute__((unused)) static void item_end(req *r)
{
    ttlv_w_end(&r->w);
    ttlv_w_end(&r->w);
}

/* 1.x Attribute { Name, [Index], Value }: call, write the value, then end. */
__attribute__((unused)) static void attr1(req *r, const char *name, int index)
{
    ttlv_w_begin(&r->w, KMIP_TAG_ATTRIBUTE);
    ttlv_w_cstr(&r->w, KMIP_TAG_ATTRIBUTE_NAME, name);
    if (index >= 0)
        ttlv_w_int(&r->w, KMIP_TAG_ATTRIBUTE_INDEX, index);
}

/* Finish, run through kmip_handle, decode the response into f->resp. */
__attribute__((unused)) static void send_req(struct fx *f, req *r)
{
    kmip_env env = {.core = &f->core, .st = f->st, .arena = f->arena, .who = &f->who};
    ttlv_error err;
    ttlv_w_end(&r->w);
    assert_int_equal(ttlv_w_finish(&r->w), CF_OK);
    cf_buf_reset(&f->out);
    kmip_handle(&env, r->buf.p, r->buf.len, &f->out);
    assert_true(f->out.len > 0);
    assert_int_equal(ttlv_decode(f->out.p, f->out.len, &ttlv_default_limits, f->arena, &f->resp,
                                 &err),
                     CF_OK);
    assert_int_equal(f->resp->tag, KMIP_TAG_RESPONSE_MESSAGE);
    cf_buf_free(&r->buf);
}

__attribute__((unused)) static const ttlv_item *nth_item(struct fx *f, unsigned n)
{
    const ttlv_item *it = ttlv_child(f->resp, KMIP_TAG_BATCH_ITEM);
    while (it && n--)
        it = ttlv_next_same(it);
    assert_non_null(it);
    return it;
}

/* 0 on success, else the Result Reason. */
__attribute__((unused)) static uint32_t result_of(struct fx *f, unsigned n)
{
    const ttlv_item *item = nth_item(f, n);
    uint32_t s = 99, reason = 0;
    assert_int_equal(ttlv_get_enum(item, KMIP_TAG_RESULT_STATUS, &s), CF_OK);
    if (s == KMIP_RESULT_STATUS_SUCCESS)
        return OK;
    assert_int_equal(s, KMIP_RESULT_STATUS_OPERATION_FAILED);
    assert_int_equal(ttlv_get_enum(item, KMIP_TAG_RESULT_REASON, &reason), CF_OK);
    assert_true(reason != 0);
    return reason;
}

__attribute__((unused)) static const ttlv_item *payload_of(struct fx *f, unsigned n)
{
    const ttlv_item *p = NULL;
    assert_int_equal(ttlv_get_struct(nth_item(f, n), KMIP_TAG_RESPONSE_PAYLOAD, &p), CF_OK);
    return p;
}

/* Create an AES-256 key at 1.4, optionally with dates (0: absent) and a Name. */
__attribute__((unused)) static char *create_key_dated(struct fx *f, int64_t act, int64_t deact, const char *name)
{
    int major = f->major, minor = f->minor;
    const char *uid;
    size_t len;
    req r;

    f->major = 1, f->minor = 4;
    req_begin(f, &r, 1);
    item_begin(&r, KMIP_OPERATION_CREATE, NULL);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
    attr1(&r, "Cryptographic Algorithm", -1);
    ttlv_w_enum(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    ttlv_w_end(&r.w);
    attr1(&r, "Cryptographic Length", -1);
    ttlv_w_int(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, 256);
    ttlv_w_end(&r.w);
    attr1(&r, "Cryptographic Usage Mask", -1);
    ttlv_w_int(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, 12);
    ttlv_w_end(&r.w);
    if (act) {
        attr1(&r, "Activation Date", -1);
        ttlv_w_datetime(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, act);
        ttlv_w_end(&r.w);
    }
    if (deact) {
        attr1(&r, "Deactivation Date", -1);
        ttlv_w_datetime(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, deact);
        ttlv_w_end(&r.w);
    }
    if (name) {
        attr1(&r, "Name", -1);
        ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE_VALUE);
        ttlv_w_cstr(&r.w, KMIP_TAG_NAME_VALUE, name);
        ttlv_w_enum(&r.w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
        ttlv_w_end(&r.w);
        ttlv_w_end(&r.w);
    }
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    f->major = major, f->minor = minor;
    assert_int_equal(result_of(f, 0), OK);
    assert_int_equal(ttlv_get_text(payload_of(f, 0), KMIP_TAG_UNIQUE_IDENTIFIER, &uid, &len),
                     CF_OK);
    return strndup(uid, len);
}

__attribute__((unused)) static char *create_key(struct fx *f) { return create_key_dated(f, 0, 0, NULL); }

/* One-item operations at f's version; they return the result (0 or reason). */
__attribute__((unused)) static uint32_t op_uid(struct fx *f, uint32_t op, const char *uid)
{
    req r;
    req_begin(f, &r, 1);
    item_begin(&r, op, uid);
    item_end(&r);
    send_req(f, &r);
    return result_of(f, 0);
}

__attribute__((unused)) static uint32_t op_revoke(struct fx *f, const char *uid, uint32_t code, const char *msg,
                          int64_t occurred)
{
    req r;
    req_begin(f, &r, 1);
    item_begin(&r, KMIP_OPERATION_REVOKE, uid);
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

/* The value of attribute (name, index) read with a 1.4 Get Attributes, or
 * NULL when the object has no such instance. */
__attribute__((unused)) static const ttlv_item *get_attr(struct fx *f, const char *uid, const char *name, int32_t index)
{
    int major = f->major, minor = f->minor;
    const ttlv_item *found = NULL;
    req r;
    f->major = 1, f->minor = 4;
    req_begin(f, &r, 1);
    item_begin(&r, KMIP_OPERATION_GET_ATTRIBUTES, uid);
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, name);
    item_end(&r);
    send_req(f, &r);
    f->major = major, f->minor = minor;
    assert_int_equal(result_of(f, 0), OK);
    for (const ttlv_item *a = ttlv_child(payload_of(f, 0), KMIP_TAG_ATTRIBUTE); a;
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
    int major = f->major, minor = f->minor;
    req r;
    f->major = 1, f->minor = 4;
    req_begin(f, &r, 1);
    item_begin(&r, KMIP_OPERATION_GET_ATTRIBUTES, uid);
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, name);
    item_end(&r);
    send_req(f, &r);
    f->major = major, f->minor = minor;
    assert_int_equal(result_of(f, 0), OK);
    return ttlv_count(payload_of(f, 0), KMIP_TAG_ATTRIBUTE);
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

__attribute__((unused)) static core_req core_request(struct fx *f, int64_t now)
{
    core_req rq = {.core = &f->core, .st = f->st, .arena = f->arena, .who = &f->who, .now = now};
    return rq;
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
