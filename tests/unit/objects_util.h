/*
 * objects_util.h - the fixture and request helpers shared by the KMIP-level
 * object tests (objects_test.c: Register/Get of every type, formats,
 * Create; pairs_test.c: Create Key Pair, ReKey, key wrapping): a store,
 * keyring and identity in a temporary directory, requests built with the
 * TTLV writer and run through kmip_handle, responses decoded.
 */
#ifndef CF_OBJECTS_UTIL_H
#define CF_OBJECTS_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "crypto/crypto_keys.h"
#include "kmip/kmip.h"
#include "store/store.h"
#include "ttlv/ttlv.h"
#include "util/log.h"

#define UTIL static __attribute__((unused))

/* Test keys, generated once per binary. */
static EVP_PKEY *rsa2048;
static EVP_PKEY *ecp256;

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
};

static struct fx *F;

UTIL int kmip_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char path[128];
    cf_buf wrapped;
    (void)state;
    if (f == NULL)
        return -1;
    cf_log_open("/dev/null");
    if (crypto_rsa_generate(2048, &rsa2048) != CF_OK ||
        crypto_ec_generate(KMIP_RECOMMENDED_CURVE_P_256, &ecp256) != CF_OK)
        return -1;
    strcpy(f->dir, "/tmp/coffre-keys-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
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
    F = f;
    return 0;
}

UTIL int kmip_teardown(void **state)
{
    struct fx *f = F;
    char cmd[128];
    (void)state;
    store_close(f->st);
    crypto_keyring_free(f->kr);
    crypto_mk_free(f->mk);
    cf_arena_free(f->arena);
    cf_buf_free(&f->out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    EVP_PKEY_free(rsa2048);
    EVP_PKEY_free(ecp256);
    return 0;
}

/* ---- request building ---- */
typedef struct req {
    cf_buf buf;
    ttlv_writer w;
} req;

UTIL void req_begin(req *r, int major, int minor)
{
    cf_buf_init(&r->buf, 0);
    ttlv_w_init(&r->w, &r->buf);
    ttlv_w_begin(&r->w, KMIP_TAG_REQUEST_MESSAGE);
    ttlv_w_begin(&r->w, KMIP_TAG_REQUEST_HEADER);
    ttlv_w_begin(&r->w, KMIP_TAG_PROTOCOL_VERSION);
    ttlv_w_int(&r->w, KMIP_TAG_PROTOCOL_VERSION_MAJOR, major);
    ttlv_w_int(&r->w, KMIP_TAG_PROTOCOL_VERSION_MINOR, minor);
    ttlv_w_end(&r->w);
    ttlv_w_int(&r->w, KMIP_TAG_BATCH_COUNT, 1);
    ttlv_w_end(&r->w);
    ttlv_w_begin(&r->w, KMIP_TAG_BATCH_ITEM);
}

UTIL void req_op(req *r, uint32_t op)
{
    ttlv_w_enum(&r->w, KMIP_TAG_OPERATION, op);
    ttlv_w_begin(&r->w, KMIP_TAG_REQUEST_PAYLOAD);
}

/* 1.x Attribute with an Integer / Enumeration / Text value. */
UTIL void attr_int(req *r, const char *name, int32_t v)
{
    ttlv_w_begin(&r->w, KMIP_TAG_ATTRIBUTE);
    ttlv_w_cstr(&r->w, KMIP_TAG_ATTRIBUTE_NAME, name);
    ttlv_w_int(&r->w, KMIP_TAG_ATTRIBUTE_VALUE, v);
    ttlv_w_end(&r->w);
}

UTIL void attr_enum(req *r, const char *name, uint32_t v)
{
    ttlv_w_begin(&r->w, KMIP_TAG_ATTRIBUTE);
    ttlv_w_cstr(&r->w, KMIP_TAG_ATTRIBUTE_NAME, name);
    ttlv_w_enum(&r->w, KMIP_TAG_ATTRIBUTE_VALUE, v);
    ttlv_w_end(&r->w);
}

UTIL void attr_name(req *r, const char *name)
{
    ttlv_w_begin(&r->w, KMIP_TAG_ATTRIBUTE);
    ttlv_w_cstr(&r->w, KMIP_TAG_ATTRIBUTE_NAME, "Name");
    ttlv_w_begin(&r->w, KMIP_TAG_ATTRIBUTE_VALUE);
    ttlv_w_cstr(&r->w, KMIP_TAG_NAME_VALUE, name);
    ttlv_w_enum(&r->w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
    ttlv_w_end(&r->w);
    ttlv_w_end(&r->w);
}

/* Send; returns the batch item of the response. */
UTIL const ttlv_item *send_req(req *r)
{
    kmip_env env = {.core = &F->core, .st = F->st, .arena = F->arena, .who = &F->who};
    ttlv_error err;
    ttlv_w_end(&r->w); /* payload */
    ttlv_w_end(&r->w); /* batch item */
    ttlv_w_end(&r->w); /* message */
    assert_int_equal(ttlv_w_finish(&r->w), CF_OK);
    cf_buf_reset(&F->out);
    kmip_handle(&env, r->buf.p, r->buf.len, &F->out);
    cf_buf_free(&r->buf);
    assert_int_equal(ttlv_decode(F->out.p, F->out.len, &ttlv_default_limits, F->arena, &F->resp,
                                 &err),
                     CF_OK);
    return ttlv_child(F->resp, KMIP_TAG_BATCH_ITEM);
}

UTIL const ttlv_item *ok_payload(const ttlv_item *item)
{
    uint32_t s = 99;
    const ttlv_item *p = NULL;
    assert_int_equal(ttlv_get_enum(item, KMIP_TAG_RESULT_STATUS, &s), CF_OK);
    if (s != KMIP_RESULT_STATUS_SUCCESS) {
        const char *m = "";
        size_t ml = 0;
        ttlv_get_text(item, KMIP_TAG_RESULT_MESSAGE, &m, &ml);
        print_error("operation failed: %.*s\n", (int)ml, m);
    }
    assert_int_equal(s, KMIP_RESULT_STATUS_SUCCESS);
    assert_int_equal(ttlv_get_struct(item, KMIP_TAG_RESPONSE_PAYLOAD, &p), CF_OK);
    return p;
}

UTIL uint32_t reason(const ttlv_item *item)
{
    uint32_t s = 0, r = 0;
    assert_int_equal(ttlv_get_enum(item, KMIP_TAG_RESULT_STATUS, &s), CF_OK);
    assert_int_equal(s, KMIP_RESULT_STATUS_OPERATION_FAILED);
    assert_int_equal(ttlv_get_enum(item, KMIP_TAG_RESULT_REASON, &r), CF_OK);
    return r;
}

UTIL char *uid_of(const ttlv_item *payload, uint32_t tag)
{
    const char *u;
    size_t ul;
    assert_int_equal(ttlv_get_text(payload, tag, &u, &ul), CF_OK);
    return cf_arena_strndup(F->arena, u, ul);
}

/* ---- object structures ---- */
UTIL ttlv_item *key_block(uint32_t fmt, ttlv_item *km, uint32_t alg, int32_t len)
{
    cf_arena *a = F->arena;
    ttlv_item *kb = ttlv_new_struct(a, KMIP_TAG_KEY_BLOCK), *kv = ttlv_new_struct(a, KMIP_TAG_KEY_VALUE);
    ttlv_append(kb, ttlv_new_enum(a, KMIP_TAG_KEY_FORMAT_TYPE, fmt));
    ttlv_append(kv, km);
    ttlv_append(kb, kv);
    if (alg) {
        ttlv_append(kb, ttlv_new_enum(a, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, alg));
        ttlv_append(kb, ttlv_new_int(a, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, len));
    }
    return kb;
}

UTIL ttlv_item *bytes_km(const uint8_t *p, size_t n)
{
    return ttlv_new_bytes(F->arena, KMIP_TAG_KEY_MATERIAL, p, n);
}

UTIL ttlv_item *wrap_obj(uint32_t tag, ttlv_item *kb)
{
    ttlv_item *o = ttlv_new_struct(F->arena, tag);
    ttlv_append(o, kb);
    return o;
}

/* A decoded Key Material structure from crypto_key_export's transparent form. */
UTIL ttlv_item *transparent_km(EVP_PKEY *k, uint32_t type, uint32_t fmt)
{
    cf_secret m = {0};
    ttlv_item *km = NULL;
    assert_int_equal(crypto_key_export(k, type, fmt, &m), CF_OK);
    assert_int_equal(ttlv_decode(m.p, m.len, NULL, F->arena, &km, NULL), CF_OK);
    cf_secret_free(&m);
    return km;
}

UTIL ttlv_item *der_km(EVP_PKEY *k, uint32_t type, uint32_t fmt)
{
    cf_secret m = {0};
    ttlv_item *km;
    assert_int_equal(crypto_key_export(k, type, fmt, &m), CF_OK);
    km = bytes_km(m.p, m.len);
    cf_secret_free(&m);
    return km;
}

/* Register obj (type) with optional extra attributes; returns the item. */
UTIL const ttlv_item *do_register(uint32_t type, const ttlv_item *obj, int major, int minor,
                                    const char *name)
{
    req r;
    req_begin(&r, major, minor);
    req_op(&r, KMIP_OPERATION_REGISTER);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, type);
    if (major < 2) {
        ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
        attr_int(&r, "Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT);
        if (name)
            attr_name(&r, name);
        ttlv_w_end(&r.w);
    }
    ttlv_w_item(&r.w, obj);
    return send_req(&r);
}

UTIL const ttlv_item *do_get(const char *uid, uint32_t fmt, const ttlv_item *kws)
{
    req r;
    req_begin(&r, 1, 4);
    req_op(&r, KMIP_OPERATION_GET);
    ttlv_w_cstr(&r.w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
    if (fmt)
        ttlv_w_enum(&r.w, KMIP_TAG_KEY_FORMAT_TYPE, fmt);
    if (kws)
        ttlv_w_item(&r.w, kws);
    return send_req(&r);
}

/* Register, Get without a format: the object comes back identical. */
UTIL char *register_round_trip(uint32_t type, ttlv_item *obj)
{
    const ttlv_item *p = ok_payload(do_register(type, obj, 1, 4, NULL)), *back;
    char *uid = uid_of(p, KMIP_TAG_UNIQUE_IDENTIFIER);
    uint32_t t = 0;
    p = ok_payload(do_get(uid, 0, NULL));
    assert_int_equal(ttlv_get_enum(p, KMIP_TAG_OBJECT_TYPE, &t), CF_OK);
    assert_int_equal(t, type);
    back = ttlv_child(p, obj->tag);
    assert_non_null(back);
    assert_true(ttlv_equal(back, obj));
    return uid;
}

/* ------------------------------------------------ Create Key Pair, ReKey */
UTIL const ttlv_item *get_attrs(const char *uid, const char *name)
{
    req r;
    req_begin(&r, 1, 4);
    req_op(&r, KMIP_OPERATION_GET_ATTRIBUTES);
    ttlv_w_cstr(&r.w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, name);
    return ok_payload(send_req(&r));
}

/* The Linked Object Identifier of the object's Link of this type, or NULL. */
UTIL const char *link_of(const char *uid, uint32_t type)
{
    const ttlv_item *p = get_attrs(uid, "Link");
    for (const ttlv_item *a = ttlv_child(p, KMIP_TAG_ATTRIBUTE); a; a = ttlv_next_same(a)) {
        const ttlv_item *v = ttlv_child(a, KMIP_TAG_ATTRIBUTE_VALUE);
        uint32_t t;
        const char *u;
        size_t ul;
        if (ttlv_get_enum(v, KMIP_TAG_LINK_TYPE, &t) == CF_OK && t == type &&
            ttlv_get_text(v, KMIP_TAG_LINKED_OBJECT_IDENTIFIER, &u, &ul) == CF_OK)
            return cf_arena_strndup(F->arena, u, ul);
    }
    return NULL;
}

UTIL int32_t int_attr(const char *uid, const char *name)
{
    const ttlv_item *a = ttlv_child(get_attrs(uid, name), KMIP_TAG_ATTRIBUTE);
    assert_non_null(a);
    return ttlv_child(a, KMIP_TAG_ATTRIBUTE_VALUE)->v.i32;
}

UTIL unsigned count_attr(const char *uid, const char *name)
{
    return ttlv_count(get_attrs(uid, name), KMIP_TAG_ATTRIBUTE);
}

UTIL uint32_t stored_format(const char *uid, uint32_t tag)
{
    const ttlv_item *p = ok_payload(do_get(uid, 0, NULL));
    uint32_t f = 0;
    assert_int_equal(ttlv_get_enum(ttlv_child(ttlv_child(p, tag), KMIP_TAG_KEY_BLOCK),
                                   KMIP_TAG_KEY_FORMAT_TYPE, &f),
                     CF_OK);
    return f;
}

UTIL const ttlv_item *ckp_rsa_1x(int32_t bits, bool with_len)
{
    req r;
    req_begin(&r, 1, 4);
    req_op(&r, KMIP_OPERATION_CREATE_KEY_PAIR);
    ttlv_w_begin(&r.w, KMIP_TAG_COMMON_TEMPLATE_ATTRIBUTE);
    attr_enum(&r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA);
    if (with_len)
        attr_int(&r, "Cryptographic Length", bits);
    ttlv_w_end(&r.w);
    ttlv_w_begin(&r.w, KMIP_TAG_PRIVATE_KEY_TEMPLATE_ATTRIBUTE);
    attr_int(&r, "Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN);
    attr_name(&r, "pair-priv");
    ttlv_w_end(&r.w);
    ttlv_w_begin(&r.w, KMIP_TAG_PUBLIC_KEY_TEMPLATE_ATTRIBUTE);
    attr_int(&r, "Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY);
    ttlv_w_end(&r.w);
    return send_req(&r);
}

UTIL const ttlv_item *ckp_ec_2x(uint32_t curve)
{
    req r;
    req_begin(&r, 2, 0);
    req_op(&r, KMIP_OPERATION_CREATE_KEY_PAIR);
    ttlv_w_begin(&r.w, KMIP_TAG_COMMON_ATTRIBUTES);
    ttlv_w_enum(&r.w, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_EC);
    ttlv_w_begin(&r.w, KMIP_TAG_CRYPTOGRAPHIC_DOMAIN_PARAMETERS);
    ttlv_w_enum(&r.w, KMIP_TAG_RECOMMENDED_CURVE, curve);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    ttlv_w_begin(&r.w, KMIP_TAG_PRIVATE_KEY_ATTRIBUTES);
    ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN);
    ttlv_w_end(&r.w);
    ttlv_w_begin(&r.w, KMIP_TAG_PUBLIC_KEY_ATTRIBUTES);
    ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY);
    ttlv_w_end(&r.w);
    return send_req(&r);
}

UTIL char *create_aes(int32_t bits, int32_t mask, bool active, const char *name,
                        const ttlv_item *params)
{
    req r;
    req_begin(&r, 1, 4);
    req_op(&r, KMIP_OPERATION_CREATE);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
    attr_enum(&r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    attr_int(&r, "Cryptographic Length", bits);
    attr_int(&r, "Cryptographic Usage Mask", mask);
    if (name)
        attr_name(&r, name);
    if (active) {
        ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE);
        ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, "Activation Date");
        ttlv_w_datetime(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, core_now() - 60);
        ttlv_w_end(&r.w);
    }
    if (params) {
        ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE);
        ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, "Cryptographic Parameters");
        ttlv_item v = *params;
        v.tag = KMIP_TAG_ATTRIBUTE_VALUE;
        ttlv_w_item(&r.w, &v);
        ttlv_w_end(&r.w);
    }
    ttlv_w_end(&r.w);
    return uid_of(ok_payload(send_req(&r)), KMIP_TAG_UNIQUE_IDENTIFIER);
}

UTIL const ttlv_item *rekey(const char *uid, const int64_t *offset, bool with_activation)
{
    req r;
    req_begin(&r, 1, 4);
    req_op(&r, KMIP_OPERATION_RE_KEY);
    ttlv_w_cstr(&r.w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
    if (offset)
        ttlv_w_interval(&r.w, KMIP_TAG_OFFSET, (uint32_t)*offset);
    if (with_activation) {
        ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
        ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE);
        ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, "Activation Date");
        ttlv_w_datetime(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, core_now());
        ttlv_w_end(&r.w);
        ttlv_w_end(&r.w);
    }
    return send_req(&r);
}

UTIL const uint8_t *raw_key(const char *uid, size_t *len)
{
    const ttlv_item *p = ok_payload(do_get(uid, 0, NULL));
    const ttlv_item *kb = ttlv_child(ttlv_child(p, KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK);
    const uint8_t *k;
    assert_int_equal(ttlv_get_bytes(ttlv_child(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL, &k, len),
                     CF_OK);
    return k;
}

#endif
