/*
 * objects_util.h - the helpers shared by the KMIP-level object tests
 * (objects_test.c: Register/Get of every type, formats, Create;
 * pairs_test.c: Create Key Pair, ReKey, key wrapping), over the KMIP
 * fixture of support/kmip_fixture.h, set up once per binary in F together
 * with an RSA and an EC test key.
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
#include "support/kmip_fixture.h"

#define UTIL static __attribute__((unused))

/* Test keys, generated once per binary. */
static EVP_PKEY *rsa2048;
static EVP_PKEY *ecp256;

static struct fx *F;

/* Group setup: the fixture in F and the test keys. */
UTIL int kmip_setup(void **state)
{
    (void)state;
    F = fx_open();
    if (F == NULL || crypto_rsa_generate(2048, &rsa2048) != CF_OK ||
        crypto_ec_generate(KMIP_RECOMMENDED_CURVE_P_256, &ecp256) != CF_OK)
        return -1;
    return 0;
}

UTIL int kmip_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa2048);
    EVP_PKEY_free(ecp256);
    return fx_close(F);
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
    req_one(&r, major, minor, KMIP_OPERATION_REGISTER, NULL);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, type);
    if (major < 2) {
        ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
        attr1_int(&r, "Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT);
        if (name)
            attr1_name(&r, name);
        ttlv_w_end(&r.w);
    }
    ttlv_w_item(&r.w, obj);
    return send_one(F, &r);
}

UTIL const ttlv_item *do_get(const char *uid, uint32_t fmt, const ttlv_item *kws)
{
    req r;
    req_one(&r, 1, 4, KMIP_OPERATION_GET, uid);
    if (fmt)
        ttlv_w_enum(&r.w, KMIP_TAG_KEY_FORMAT_TYPE, fmt);
    if (kws)
        ttlv_w_item(&r.w, kws);
    return send_one(F, &r);
}

/* Register, Get without a format: the object comes back identical. */
UTIL char *register_round_trip(uint32_t type, ttlv_item *obj)
{
    const ttlv_item *p = payload_of(do_register(type, obj, 1, 4, NULL)), *back;
    char *uid = text_of(F, p, KMIP_TAG_UNIQUE_IDENTIFIER);
    uint32_t t = 0;
    p = payload_of(do_get(uid, 0, NULL));
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
    req_one(&r, 1, 4, KMIP_OPERATION_GET_ATTRIBUTES, uid);
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, name);
    return payload_of(send_one(F, &r));
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
    const ttlv_item *p = payload_of(do_get(uid, 0, NULL));
    uint32_t f = 0;
    assert_int_equal(ttlv_get_enum(ttlv_child(ttlv_child(p, tag), KMIP_TAG_KEY_BLOCK),
                                   KMIP_TAG_KEY_FORMAT_TYPE, &f),
                     CF_OK);
    return f;
}

UTIL const ttlv_item *ckp_rsa_1x(int32_t bits, bool with_len)
{
    static int serial; /* Names are unique (2.1 section 4.32): one per pair */
    char name[32];
    req r;
    snprintf(name, sizeof name, "pair-priv-%d", ++serial);
    req_one(&r, 1, 4, KMIP_OPERATION_CREATE_KEY_PAIR, NULL);
    ttlv_w_begin(&r.w, KMIP_TAG_COMMON_TEMPLATE_ATTRIBUTE);
    attr1_enum(&r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA);
    if (with_len)
        attr1_int(&r, "Cryptographic Length", bits);
    ttlv_w_end(&r.w);
    ttlv_w_begin(&r.w, KMIP_TAG_PRIVATE_KEY_TEMPLATE_ATTRIBUTE);
    attr1_int(&r, "Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN);
    attr1_name(&r, name);
    ttlv_w_end(&r.w);
    ttlv_w_begin(&r.w, KMIP_TAG_PUBLIC_KEY_TEMPLATE_ATTRIBUTE);
    attr1_int(&r, "Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY);
    ttlv_w_end(&r.w);
    return send_one(F, &r);
}

UTIL const ttlv_item *ckp_ec_2x(uint32_t curve)
{
    req r;
    req_one(&r, 2, 0, KMIP_OPERATION_CREATE_KEY_PAIR, NULL);
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
    return send_one(F, &r);
}

UTIL char *create_aes(int32_t bits, int32_t mask, bool active, const char *name,
                        const ttlv_item *params)
{
    req r;
    req_one(&r, 1, 4, KMIP_OPERATION_CREATE, NULL);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
    attr1_enum(&r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    attr1_int(&r, "Cryptographic Length", bits);
    attr1_int(&r, "Cryptographic Usage Mask", mask);
    if (name)
        attr1_name(&r, name);
    if (active)
        attr1_date(&r, "Activation Date", core_now() - 60);
    if (params) {
        ttlv_item v = *params;
        attr1(&r, "Cryptographic Parameters");
        v.tag = KMIP_TAG_ATTRIBUTE_VALUE;
        ttlv_w_item(&r.w, &v);
        ttlv_w_end(&r.w);
    }
    ttlv_w_end(&r.w);
    return text_of(F, payload_of(send_one(F, &r)), KMIP_TAG_UNIQUE_IDENTIFIER);
}

UTIL const ttlv_item *rekey(const char *uid, const int64_t *offset, bool with_activation)
{
    req r;
    req_one(&r, 1, 4, KMIP_OPERATION_RE_KEY, uid);
    if (offset)
        ttlv_w_interval(&r.w, KMIP_TAG_OFFSET, (uint32_t)*offset);
    if (with_activation) {
        ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
        attr1_date(&r, "Activation Date", core_now());
        ttlv_w_end(&r.w);
    }
    return send_one(F, &r);
}

UTIL const uint8_t *raw_key(const char *uid, size_t *len)
{
    const ttlv_item *p = payload_of(do_get(uid, 0, NULL));
    const ttlv_item *kb = ttlv_child(ttlv_child(p, KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK);
    const uint8_t *k;
    assert_int_equal(ttlv_get_bytes(ttlv_child(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL, &k, len),
                     CF_OK);
    return k;
}

#endif
