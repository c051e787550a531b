/*
 * Unit tests for export and import for reversibility (core_xkey.c,
 * core_xport.c, core_ximport.c, kmip_doc.c; docs/export.md): the payload
 * binding (digest and version, every truncation), the three wrapping
 * methods (round trip, every byte of the wrapped form altered, rsa_oaep's
 * size limit), the destination's PEM (SPKI, PKCS#1; other keys and sizes
 * refused), attributes through their KMIP 2.1 form, and a tenant moved
 * through core into another tenant of the same store: a root key with two
 * versions (a DEK of each still unwraps there), a standard key (same bytes),
 * a second import (CF_ERR_EXISTS), every byte of a version's material
 * altered (that object refused, nothing of it left), roles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/core_env_int.h"
#include "core/core_xport_int.h"
#include "support/kmip_fixture.h"

#define NOW 1790000000

static EVP_PKEY *rsa2048;

static int group_setup(void **state)
{
    (void)state;
    return crypto_rsa_generate(2048, &rsa2048) == CF_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa2048);
    return 0;
}

/* The public key of k as PEM: SubjectPublicKeyInfo ("PUBLIC KEY") or,
 * with pkcs1, PKCS#1 ("RSA PUBLIC KEY"), in the arena. */
static const char *pem_of(cf_arena *a, EVP_PKEY *k, bool pkcs1)
{
    OSSL_ENCODER_CTX *e = OSSL_ENCODER_CTX_new_for_pkey(
        k, EVP_PKEY_PUBLIC_KEY, "PEM", pkcs1 ? "type-specific" : "SubjectPublicKeyInfo", NULL);
    unsigned char *p = NULL;
    size_t n = 0;
    const char *out;

    assert_non_null(e);
    assert_int_equal(OSSL_ENCODER_to_data(e, &p, &n), 1);
    out = cf_arena_strndup(a, (const char *)p, n);
    OPENSSL_free(p);
    OSSL_ENCODER_CTX_free(e);
    return out;
}

static core_xkey rsa_key(core_xwrap_alg alg)
{
    core_xkey k = {.alg = alg, .pkey = rsa2048};
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(rsa2048, &der);
    assert_true(n > 0);
    assert_int_equal(crypto_sha256(der, (size_t)n, k.spki_sha256), CF_OK);
    OPENSSL_free(der);
    return k;
}

static ttlv_item *key_value(cf_arena *a, const uint8_t *p, size_t n)
{
    ttlv_item *kv = ttlv_new_struct(a, KMIP_TAG_KEY_VALUE);
    ttlv_item *km = ttlv_new_bytes(a, KMIP_TAG_KEY_MATERIAL, p, n);
    assert_non_null(kv);
    assert_non_null(km);
    ttlv_append(kv, km);
    return kv;
}

/* ------------------------------------------------------------ binding */

static void test_payload_binding(void **state)
{
    struct fx *f = *state;
    core_req r = fx_core_req(f, NOW);
    uint8_t key[32], digest[32], other[32];
    ttlv_item *kv, *back;
    cf_secret p = {0}, cut = {0};

    memset(key, 0x5a, sizeof key);
    memset(digest, 0x11, sizeof digest);
    memcpy(other, digest, sizeof other);
    other[31] ^= 1;
    kv = key_value(f->arena, key, sizeof key);
    assert_int_equal(core_x_payload(&r, kv, digest, 2, &p), CF_OK);
    assert_int_equal(core_x_payload_open(&r, &p, digest, 2, &back), CF_OK);
    assert_true(ttlv_equal(back, kv));
    /* Another digest, another version, none where one is bound. */
    assert_int_equal(core_x_payload_open(&r, &p, other, 2, &back), CF_ERR_CRYPTO);
    assert_int_equal(core_x_payload_open(&r, &p, digest, 3, &back), CF_ERR_CRYPTO);
    assert_int_equal(core_x_payload_open(&r, &p, digest, 0, &back), CF_ERR_CRYPTO);
    assert_non_null(strstr(r.err_msg, "version"));
    /* Every truncation is refused, never read past. */
    for (size_t n = 0; n < p.len; n++) {
        assert_int_equal(cf_secret_dup(&cut, p.p, n), CF_OK);
        assert_int_equal(core_x_payload_open(&r, &cut, digest, 2, &back), CF_ERR_CRYPTO);
        cf_secret_free(&cut);
    }
    cf_secret_free(&p);
    /* Unversioned: a version asked for is refused. */
    assert_int_equal(core_x_payload(&r, kv, digest, 0, &p), CF_OK);
    assert_int_equal(core_x_payload_open(&r, &p, digest, 0, &back), CF_OK);
    assert_int_equal(core_x_payload_open(&r, &p, digest, 1, &back), CF_ERR_CRYPTO);
    cf_secret_free(&p);
}

/* ---------------------------------------------------------- methods */

static void round_trip(struct fx *f, const core_xkey *k, size_t len, bool every_byte)
{
    core_req r = fx_core_req(f, NOW);
    cf_secret in = {0}, out = {0};
    cf_buf w;

    assert_int_equal(crypto_random_secret(len, &in), CF_OK);
    cf_buf_init(&w, 0);
    assert_int_equal(core_x_wrap(&r, k, &in, &w), CF_OK);
    assert_int_equal(core_x_unwrap(&r, k, w.p, w.len, &out), CF_OK);
    assert_int_equal(out.len, in.len);
    assert_memory_equal(out.p, in.p, in.len);
    cf_secret_free(&out);
    for (size_t i = 0; i < w.len; i += every_byte ? 1 : 37) {
        w.p[i] ^= 0x40;
        assert_int_equal(core_x_unwrap(&r, k, w.p, w.len, &out), CF_ERR_CRYPTO);
        assert_null(out.p);
        w.p[i] ^= 0x40;
    }
    assert_int_equal(core_x_unwrap(&r, k, w.p, w.len - 1, &out), CF_ERR_CRYPTO);
    cf_buf_free(&w);
    cf_secret_free(&in);
}

static void test_wrapping_methods(void **state)
{
    struct fx *f = *state;
    core_req r = fx_core_req(f, NOW);
    core_xkey rsa_aes = rsa_key(CORE_XWRAP_RSA_AES_KWP), oaep = rsa_key(CORE_XWRAP_RSA_OAEP);
    core_xkey aes = {.alg = CORE_XWRAP_AES_KWP, .key_id = "kek"};
    cf_secret big = {0};
    cf_buf w;

    assert_int_equal(crypto_random_secret(32, &aes.kek), CF_OK);
    round_trip(f, &aes, 1, true);
    round_trip(f, &aes, 1200, true);
    round_trip(f, &rsa_aes, 1200, false);
    round_trip(f, &rsa_aes, 17, false);
    round_trip(f, &oaep, 190, false); /* the most OAEP-SHA-256 takes with 2048 bits */
    assert_int_equal(crypto_random_secret(191, &big), CF_OK);
    cf_buf_init(&w, 0);
    assert_int_equal(core_x_wrap(&r, &oaep, &big, &w), CF_ERR_INVALID_FIELD);
    assert_non_null(strstr(r.err_msg, "rsa_aes_key_wrap_sha256"));
    cf_buf_free(&w);
    cf_secret_free(&big);
    cf_secret_free(&aes.kek);
    /* The Key Wrapping Data names the public key by its SPKI digest. */
    {
        ttlv_item *kwd = core_x_kwd(&r, &rsa_aes);
        const ttlv_item *eki = ttlv_child(kwd, KMIP_TAG_ENCRYPTION_KEY_INFORMATION);
        const char *uid;
        size_t ul;
        uint32_t v;
        assert_int_equal(ttlv_get_text(eki, KMIP_TAG_UNIQUE_IDENTIFIER, &uid, &ul), CF_OK);
        assert_int_equal(ul, strlen(CORE_X_SPKI_PREFIX) + 64);
        assert_int_equal(ttlv_get_enum(ttlv_child(eki, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS),
                                       KMIP_TAG_BLOCK_CIPHER_MODE, &v), CF_OK);
        assert_int_equal(v, KMIP_BLOCK_CIPHER_MODE_AESKEYWRAPPADDING);
    }
}

static void test_destination_pem(void **state)
{
    struct fx *f = *state;
    core_req r = fx_core_req(f, NOW);
    core_xkey k, want = rsa_key(CORE_XWRAP_RSA_AES_KWP);
    EVP_PKEY *small = NULL, *ec = NULL;
    const char *spki = pem_of(f->arena, rsa2048, false);
    char *p;

    assert_int_equal(core_xkey_export(&r, CORE_XWRAP_RSA_AES_KWP, spki, strlen(spki), NULL, &k),
                     CF_OK);
    assert_memory_equal(k.spki_sha256, want.spki_sha256, 32);
    core_xkey_close(&k);
    /* PKCS#1 "RSA PUBLIC KEY" too, the same key. */
    p = (char *)pem_of(f->arena, rsa2048, true);
    assert_non_null(strstr(p, "BEGIN RSA PUBLIC KEY"));
    assert_int_equal(core_xkey_export(&r, CORE_XWRAP_RSA_OAEP, p, strlen(p), NULL, &k), CF_OK);
    assert_memory_equal(k.spki_sha256, want.spki_sha256, 32);
    core_xkey_close(&k);
    /* Not PEM, truncated, an EC key, a 1024-bit RSA key. */
    assert_int_equal(core_xkey_export(&r, CORE_XWRAP_RSA_AES_KWP, "hello", 5, NULL, &k),
                     CF_ERR_INVALID_FIELD);
    core_xkey_close(&k);
    assert_int_equal(core_xkey_export(&r, CORE_XWRAP_RSA_AES_KWP, spki, strlen(spki) / 2, NULL,
                                      &k), CF_ERR_INVALID_FIELD);
    core_xkey_close(&k);
    assert_int_equal(crypto_ec_generate(KMIP_RECOMMENDED_CURVE_P_256, &ec), CF_OK);
    p = (char *)pem_of(f->arena, ec, false);
    assert_int_equal(core_xkey_export(&r, CORE_XWRAP_RSA_AES_KWP, p, strlen(p), NULL, &k),
                     CF_ERR_INVALID_FIELD);
    core_xkey_close(&k);
    assert_int_equal(crypto_rsa_generate(1024, &small), CF_OK);
    p = (char *)pem_of(f->arena, small, false);
    assert_int_equal(core_xkey_export(&r, CORE_XWRAP_RSA_AES_KWP, p, strlen(p), NULL, &k),
                     CF_ERR_INVALID_FIELD);
    assert_non_null(strstr(r.err_msg, "1024 bits"));
    core_xkey_close(&k);
    EVP_PKEY_free(small);
    EVP_PKEY_free(ec);
}

/* -------------------------------------------------- through core */

static const char *aes_key(struct fx *f, int32_t mask, bool extractable)
{
    core_req r = fx_core_req(f, NOW);
    ttlv_item *l = ttlv_new_struct(f->arena, KMIP_TAG_ATTRIBUTES);
    core_object *obj;
    struct {
        const char *name;
        ttlv_item *v;
    } a[] = {
        {"Cryptographic Algorithm",
         ttlv_new_enum(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES)},
        {"Cryptographic Length", ttlv_new_int(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, 256)},
        {"Cryptographic Usage Mask", ttlv_new_int(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, mask)},
        {"Extractable", ttlv_new_bool(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, extractable)},
    };
    for (size_t i = 0; i < 4; i++)
        ttlv_append(l, core_attr_new(f->arena, a[i].name, 0, a[i].v));
    assert_int_equal(core_create_symmetric_key(&r, l, &obj), CF_OK);
    assert_int_equal(core_activate(&r, obj->uid), CF_OK);
    return obj->uid;
}

/* The document's entry of uid, through core as rest_export.c does it. */
static core_ximport exported(struct fx *f, const core_xkey *k, const char *uid)
{
    core_req r = fx_core_req(f, NOW);
    core_ximport in = {.source_tenant = f->who.tenant};
    core_xobject x;
    cf_buf attrs;
    ttlv_item *back;
    core_xversion *vs;

    cf_buf_init(&attrs, 0);
    assert_int_equal(core_export_load(&r, uid, &x), CF_OK);
    assert_int_equal(kmip_attrs_encode(&r, x.attrs, &attrs), CF_OK);
    assert_int_equal(crypto_sha256(attrs.p, attrs.len, in.digest), CF_OK);
    if (core_export_material(&r, k, in.digest, &x) != CF_OK)
        fail_msg("export: %s", r.err_msg ? r.err_msg : "?");
    assert_int_equal(kmip_attrs_decode(&r, attrs.p, attrs.len, &back), CF_OK);
    in.attrs = back;
    in.uid = x.obj->uid;
    in.object_type = x.obj->object_type;
    in.state = x.obj->state;
    in.form = x.form;
    in.material = x.material;
    in.material_len = x.material_len;
    if (x.n_versions) {
        vs = cf_arena_memdup(f->arena, x.versions, x.n_versions * sizeof *vs);
        in.versions = vs;
        in.n_versions = x.n_versions;
    }
    cf_buf_free(&attrs);
    return in;
}

/* Register rsa2048's private key (PKCS#8) in tenant, usage Unwrap Key,
 * Active; its uid. */
static const char *register_unwrapping_key(struct fx *f, const char *tenant)
{
    cf_arena *a = f->arena;
    const char *was = f->who.tenant;
    ttlv_item *o = ttlv_new_struct(a, KMIP_TAG_PRIVATE_KEY);
    ttlv_item *kb = ttlv_new_struct(a, KMIP_TAG_KEY_BLOCK);
    ttlv_item *kv = ttlv_new_struct(a, KMIP_TAG_KEY_VALUE);
    ttlv_item *attrs = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTES);
    cf_secret der = {0};
    core_object *obj;
    core_req r;

    assert_int_equal(crypto_key_export(rsa2048, KMIP_OBJECT_TYPE_PRIVATE_KEY,
                                       KMIP_KEY_FORMAT_TYPE_PKCS_8, &der), CF_OK);
    ttlv_append(kb, ttlv_new_enum(a, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_PKCS_8));
    ttlv_append(kv, ttlv_new_bytes(a, KMIP_TAG_KEY_MATERIAL, der.p, der.len));
    ttlv_append(kb, kv);
    ttlv_append(o, kb);
    ttlv_append(attrs, core_attr_new(a, "Cryptographic Usage Mask", 0,
                                     ttlv_new_int(a, KMIP_TAG_ATTRIBUTE_VALUE,
                                                  KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY)));
    cf_secret_free(&der);
    f->who.tenant = tenant;
    r = fx_core_req(f, NOW);
    assert_int_equal(core_register(&r, KMIP_OBJECT_TYPE_PRIVATE_KEY, o, attrs, &obj), CF_OK);
    assert_int_equal(core_activate(&r, obj->uid), CF_OK);
    f->who.tenant = was;
    return obj->uid;
}

/* A Secret Data (kept verbatim) registered in the fixture's tenant. */
static const char *register_secret(struct fx *f, const char *bytes)
{
    cf_arena *a = f->arena;
    ttlv_item *o = ttlv_new_struct(a, KMIP_TAG_SECRET_DATA);
    ttlv_item *kb = ttlv_new_struct(a, KMIP_TAG_KEY_BLOCK);
    ttlv_item *kv = ttlv_new_struct(a, KMIP_TAG_KEY_VALUE);
    core_req r = fx_core_req(f, NOW);
    core_object *obj;

    ttlv_append(o, ttlv_new_enum(a, KMIP_TAG_SECRET_DATA_TYPE, KMIP_SECRET_DATA_TYPE_PASSWORD));
    ttlv_append(kb, ttlv_new_enum(a, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_OPAQUE));
    ttlv_append(kv, ttlv_new_bytes(a, KMIP_TAG_KEY_MATERIAL, (const uint8_t *)bytes,
                                   strlen(bytes)));
    ttlv_append(kb, kv);
    ttlv_append(o, kb);
    assert_int_equal(core_register(&r, KMIP_OBJECT_TYPE_SECRET_DATA, o, NULL, &obj), CF_OK);
    return obj->uid;
}

static cf_status import_as(struct fx *f, const char *tenant, const core_xkey *k,
                           const core_ximport *in)
{
    const char *was = f->who.tenant;
    core_req r;
    cf_status st;
    f->who.tenant = tenant;
    r = fx_core_req(f, NOW);
    st = core_import_object(&r, k, in);
    f->who.tenant = was;
    return st;
}

static bool exists_in(struct fx *f, const char *tenant, const char *uid)
{
    store_object row;
    store_key_version v;
    bool obj = store_object_get(f->st, tenant, uid, f->arena, &row) == CF_OK;
    bool ver = store_version_get(f->st, tenant, uid, 1, f->arena, &v) == CF_OK;
    assert_int_equal(obj, ver || obj); /* no version row without its object */
    return obj;
}

/* uid's key material in tenant (caller frees). */
static cf_secret material_in(struct fx *f, const char *tenant, const char *uid)
{
    const char *was = f->who.tenant;
    cf_secret m = {0};
    core_object *obj;
    uint32_t fmt;
    core_req r;

    f->who.tenant = tenant;
    r = fx_core_req(f, NOW);
    assert_int_equal(core_object_load(&r, uid, &obj), CF_OK);
    assert_int_equal(core_key_material(&r, obj, &m, &fmt), CF_OK);
    f->who.tenant = was;
    return m;
}

/* w (wrapped under `version`) unwraps to pt in tenant. */
static void unwraps_in(struct fx *f, const char *tenant, const char *root, const core_env_out *w,
                       const cf_secret *pt, uint32_t version)
{
    const char *was = f->who.tenant;
    core_env_out o;
    core_req r;

    f->who.tenant = tenant;
    r = fx_core_req(f, NOW);
    assert_int_equal(core_env_unwrap(&r, root, w->ciphertext, w->ciphertext_len, NULL, &o),
                     CF_OK);
    assert_int_equal(o.version, version);
    assert_int_equal(o.plaintext.len, pt->len);
    assert_memory_equal(o.plaintext.p, pt->p, pt->len);
    cf_secret_free(&o.plaintext);
    f->who.tenant = was;
}

static void test_move_through_core(void **state)
{
    struct fx *f = *state;
    core_req r = fx_core_req(f, NOW);
    core_xkey k = rsa_key(CORE_XWRAP_RSA_AES_KWP), u;
    uint32_t wu = KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY | KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY;
    const char *root = aes_key(f, (int32_t)wu, false), *std = aes_key(f, 12, true);
    const char *secret = register_secret(f, "correct horse battery staple");
    const char *unwrapping = register_unwrapping_key(f, "t2");
    core_env_out w1, w2;
    cf_secret pt = {0}, m1, m2;
    uint32_t v;
    core_ximport rin, sin, xin;

    assert_int_equal(cf_secret_dup(&pt, (const uint8_t *)"a data key of 32 bytes, exactly!", 32),
                     CF_OK);
    assert_int_equal(core_env_wrap(&r, root, &pt, NULL, &w1), CF_OK);
    assert_int_equal(core_key_rotate(&r, root, CORE_ROTATE_MANUAL, &v), CF_OK);
    assert_int_equal(core_env_wrap(&r, root, &pt, NULL, &w2), CF_OK);
    rin = exported(f, &k, root);
    sin = exported(f, &k, std);
    xin = exported(f, &k, secret);
    assert_int_equal(rin.n_versions, 2);
    assert_int_equal(rin.form, CORE_XFORM_NONE);
    assert_int_equal(sin.form, CORE_XFORM_KEY_BLOCK);
    /* The destination's own key (core_xkey_import), as POST /v1/import does. */
    f->who.tenant = "t2";
    r = fx_core_req(f, NOW);
    assert_int_equal(core_xkey_import(&r, CORE_XWRAP_RSA_AES_KWP, unwrapping, &u), CF_OK);
    assert_memory_equal(u.spki_sha256, k.spki_sha256, 32);
    f->who.tenant = "default";
    /* Every byte of version 1's material altered: refused, nothing left. */
    for (size_t i = 0; i < rin.versions[0].material_len; i++) {
        uint8_t *p = (uint8_t *)rin.versions[0].material;
        p[i] ^= 0x01;
        if (import_as(f, "t2", &u, &rin) == CF_OK)
            fail_msg("byte %zu of %zu altered, imported", i, rin.versions[0].material_len);
        assert_false(exists_in(f, "t2", root));
        p[i] ^= 0x01;
    }
    assert_int_equal(import_as(f, "t2", &u, &rin), CF_OK);
    assert_int_equal(import_as(f, "t2", &u, &sin), CF_OK);
    assert_int_equal(import_as(f, "t2", &u, &sin), CF_ERR_EXISTS);
    assert_int_equal(import_as(f, "t2", &u, &xin), CF_OK);
    core_xkey_close(&u);
    /* In t2: both DEKs unwrap (the key binds "default", its source). */
    unwraps_in(f, "t2", root, &w1, &pt, 1);
    unwraps_in(f, "t2", root, &w2, &pt, 2);
    m2 = material_in(f, "t2", secret);
    assert_int_equal(m2.len, 28);
    assert_memory_equal(m2.p, "correct horse battery staple", 28);
    cf_secret_free(&m2);
    m1 = material_in(f, "default", std);
    m2 = material_in(f, "t2", std);
    assert_int_equal(m1.len, m2.len);
    assert_memory_equal(m1.p, m2.p, m1.len);
    cf_secret_free(&m1);
    cf_secret_free(&m2);
    cf_secret_free(&pt);
    cf_secret_free(&w1.plaintext);
    cf_secret_free(&w2.plaintext);
}

static void test_roles(void **state)
{
    struct fx *f = *state;
    core_xkey k = rsa_key(CORE_XWRAP_RSA_AES_KWP);
    const char *std = aes_key(f, 12, true);
    core_ximport in = exported(f, &k, std);
    core_xobject x;
    core_req r;
    const char **uids;
    size_t n;
    int64_t total;

    f->who.role = CORE_ROLE_WRITER;
    r = fx_core_req(f, NOW);
    assert_int_equal(core_export_load(&r, std, &x), CF_ERR_PERMISSION);
    assert_int_equal(core_export_list(&r, false, 0, -1, &uids, &n, &total), CF_ERR_PERMISSION);
    assert_int_equal(import_as(f, "t3", &k, &in), CF_ERR_PERMISSION);
    assert_int_equal(core_xkey_import(&r, CORE_XWRAP_RSA_AES_KWP, std, &k), CF_ERR_PERMISSION);
    f->who.role = CORE_ROLE_MANAGER;
    r = fx_core_req(f, NOW);
    assert_int_equal(core_export_list(&r, false, 0, -1, &uids, &n, &total), CF_OK);
    assert_int_equal(n, 1);
    assert_int_equal(core_export_list(&r, false, 0, CORE_EXPORT_PAGE_MAX + 1, &uids, &n, &total),
                     CF_ERR_INVALID_FIELD);
    assert_false(exists_in(f, "t3", std));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_payload_binding, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wrapping_methods, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_destination_pem, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_move_through_core, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_roles, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
