/*
 * Unit tests for BYOK import (core_byok.c): the unwrap of both wrappings
 * against blobs built here with OpenSSL's own APIs (RSA-OAEP SHA-256 and
 * EVP_aes_256_wrap_pad, not Coffre's crypto_wrap.c), including the RFC
 * 5649 AES-KWP vector under an RSA-wrapped KEK; every truncation and bit
 * flip refused alike; import tokens (defaults, bounds, rights, tenants);
 * imports as a new key and as a root key's new version (material
 * byte-exact, uses spent only on success, expiry, lengths); and two
 * connections racing for a token's last use (one wins, nothing else is
 * stored) or for two uses (both win). Through core, over the KMIP
 * fixture's store and keyring.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <sqlite3.h>

#include "core/core_env_int.h"
#include "support/kmip_fixture.h"

#define NOW 1790000000
#define WRAP_UNWRAP                                                                               \
    (KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY | KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY)

/* ------------------------------------------------- the customer's side */

/* RSA-OAEP with SHA-256 (md NULL) or another hash, MGF1 the same. */
static size_t oaep(EVP_PKEY *pub, const EVP_MD *md, const uint8_t *in, size_t n, uint8_t *out)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    size_t len = 1024;
    assert_non_null(c);
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, md ? md : EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, md ? md : EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, out, &len, in, n), 1);
    EVP_PKEY_CTX_free(c);
    return len;
}

/* AES-KWP (RFC 5649) under a 32-byte kek, with OpenSSL's EVP. */
static size_t kwp(const uint8_t kek[32], const uint8_t *in, size_t n, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    assert_non_null(c);
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, kek, NULL), 1);
    assert_int_equal(EVP_EncryptUpdate(c, out, &l1, in, (int)n), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, out + l1, &l2), 1);
    EVP_CIPHER_CTX_free(c);
    return (size_t)(l1 + l2);
}

/* CKM_RSA_AES_KEY_WRAP of m for pub, with a fresh ephemeral AES-256 key. */
static size_t rsa_aes_wrap(EVP_PKEY *pub, const uint8_t *m, size_t n, uint8_t *out)
{
    uint8_t eph[32];
    size_t k;
    assert_int_equal(RAND_bytes(eph, sizeof eph), 1);
    k = oaep(pub, NULL, eph, sizeof eph, out);
    return k + kwp(eph, m, n, out + k);
}

static EVP_PKEY *pem_pub(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    assert_non_null(k);
    return k;
}

static void hex(const char *h, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(h), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* -------------------------------------------------------------- unwrap */

static EVP_PKEY *rsa2048(void)
{
    EVP_PKEY *k = NULL;
    assert_int_equal(crypto_rsa_generate(2048, &k), CF_OK);
    return k;
}

/* RFC 5649 section 6, second vector (20 octets), under an RSA-wrapped KEK:
 * the KWP half is the RFC's bytes, not ours. */
static void test_unwrap_known_answer(void **state)
{
    (void)state;
    uint8_t kek[24], key[20], wrapped[32], blob[512];
    EVP_PKEY *k = rsa2048();
    cf_secret out = {0};
    size_t n;

    hex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", kek, sizeof kek);
    hex("c37b7e6492584340bed12207808941155068f738", key, sizeof key);
    hex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a", wrapped,
        sizeof wrapped);
    n = oaep(k, NULL, kek, sizeof kek, blob); /* a 192-bit ephemeral KEK is accepted */
    memcpy(blob + n, wrapped, sizeof wrapped);
    assert_int_equal(core_byok_unwrap(k, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, blob,
                                      n + sizeof wrapped, &out),
                     CF_OK);
    assert_int_equal(out.len, sizeof key);
    assert_memory_equal(out.p, key, sizeof key);
    cf_secret_free(&out);

    /* Both wrappings of a 32-byte key built with OpenSSL's EVP. */
    for (int w = 0; w < 2; w++) {
        uint8_t m[32];
        for (size_t i = 0; i < sizeof m; i++)
            m[i] = (uint8_t)(0xa0 + i);
        n = w == 0 ? rsa_aes_wrap(k, m, sizeof m, blob) : oaep(k, NULL, m, sizeof m, blob);
        assert_int_equal(n, w == 0 ? 256 + 40 : 256);
        assert_int_equal(core_byok_unwrap(k, w == 0 ? CORE_BYOK_RSA_AES_KEY_WRAP_SHA256
                                                    : CORE_BYOK_RSA_OAEP_SHA256,
                                          blob, n, &out),
                         CF_OK);
        assert_int_equal(out.len, sizeof m);
        assert_memory_equal(out.p, m, sizeof m);
        cf_secret_free(&out);
    }
    EVP_PKEY_free(k);
}

static void expect_refused(EVP_PKEY *k, core_byok_wrapping w, const uint8_t *blob, size_t n)
{
    cf_secret out = {0};
    cf_status st = core_byok_unwrap(k, w, blob, n, &out);
    if (st != CF_ERR_CRYPTO)
        fail_msg("wrapping %d, %zu bytes: %s", (int)w, n, cf_status_str(st));
    assert_null(out.p);
    assert_int_equal(out.len, 0);
}

static void test_unwrap_refusals(void **state)
{
    (void)state;
    EVP_PKEY *k = rsa2048(), *other = rsa2048();
    uint8_t m[32] = {1, 2, 3}, blob[600], eph20[20] = {9};
    cf_secret out = {0};
    size_t n = rsa_aes_wrap(k, m, sizeof m, blob);

    /* Every truncation and every byte altered: one answer. */
    for (size_t len = 0; len < n; len++)
        expect_refused(k, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, blob, len);
    for (size_t i = 0; i < n; i += (i < 256 ? 17 : 1)) {
        blob[i] ^= 0x01;
        expect_refused(k, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, blob, n);
        blob[i] ^= 0x01;
    }
    /* Trailing bytes, the other wrapping, another token's key. */
    memset(blob + n, 0, 8);
    expect_refused(k, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, blob, n + 8);
    expect_refused(k, CORE_BYOK_RSA_OAEP_SHA256, blob, n);
    expect_refused(other, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, blob, n);
    assert_int_equal(core_byok_unwrap(k, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, blob, n, &out), CF_OK);
    cf_secret_free(&out);
    /* RSA-OAEP with SHA-1 (OpenSSL's default) is not SHA-256. */
    n = oaep(k, EVP_sha1(), m, sizeof m, blob);
    expect_refused(k, CORE_BYOK_RSA_OAEP_SHA256, blob, n);
    /* An ephemeral key that is not an AES key size. */
    n = oaep(k, NULL, eph20, sizeof eph20, blob);
    memset(blob + n, 0xa6, 40);
    expect_refused(k, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, blob, n + 40);
    /* An unknown wrapping is the caller's field, not a crypto failure. */
    assert_int_equal(core_byok_unwrap(k, (core_byok_wrapping)7, blob, n, &out),
                     CF_ERR_INVALID_FIELD);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

/* -------------------------------------------------------------- tokens */

static core_import_token *token(struct fx *f, int64_t ttl, int32_t uses, int32_t size)
{
    core_req r = fx_core_req(f, NOW);
    core_import_token_spec s = {.ttl = ttl, .max_uses = uses, .key_size = size};
    core_import_token *t = NULL;
    cf_status st = core_import_token_create(&r, &s, &t);
    if (st != CF_OK)
        fail_msg("token: %s (%s)", cf_status_str(st), r.err_msg ? r.err_msg : "");
    return t;
}

static void test_tokens(void **state)
{
    struct fx *f = *state;
    core_import_token *t = token(f, 0, 0, 0), *g;
    core_identity reader = f->who, op = {.is_operator = true, .id = "op"},
                  other = {.tenant = "other", .id = "o", .role = CORE_ROLE_MANAGER};
    core_import_token_spec bad[] = {{.ttl = CORE_BYOK_TTL_MAX + 1}, {.ttl = -1},
                                    {.max_uses = 101}, {.max_uses = -1}, {.key_size = 2048}};
    core_req r = fx_core_req(f, NOW);
    EVP_PKEY *pub;

    assert_int_equal(t->key_size, 3072);
    assert_int_equal(t->max_uses, 1);
    assert_int_equal(t->uses, 0);
    assert_int_equal(t->created, NOW);
    assert_int_equal(t->expires, NOW + 86400);
    assert_string_equal(t->owner, f->who.id);
    pub = pem_pub(t->public_pem);
    assert_true(EVP_PKEY_is_a(pub, "RSA"));
    assert_int_equal(EVP_PKEY_get_bits(pub), 3072);
    EVP_PKEY_free(pub);
    assert_int_equal(core_import_token_get(&r, t->id, &g), CF_OK);
    assert_string_equal(g->public_pem, t->public_pem);
    assert_int_equal(g->expires, t->expires);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g = (core_import_token *)1;
        assert_int_equal(core_import_token_create(&r, &bad[i], &g), CF_ERR_INVALID_FIELD);
        assert_null(g);
    }
    t = token(f, CORE_BYOK_TTL_MAX, 100, 0);
    assert_int_equal(t->expires - t->created, 7 * 86400);

    /* Rights: a Reader reads one, creates none; the operator neither;
     * another tenant does not see it. */
    reader.role = CORE_ROLE_READER;
    r.who = &reader;
    assert_int_equal(core_import_token_get(&r, t->id, &g), CF_OK);
    assert_int_equal(core_import_token_create(&r, NULL, &g), CF_ERR_PERMISSION);
    r.who = &op;
    assert_int_equal(core_import_token_create(&r, NULL, &g), CF_ERR_PERMISSION);
    assert_int_equal(core_import_token_get(&r, t->id, &g), CF_ERR_NOT_FOUND);
    r.who = &other;
    assert_int_equal(core_import_token_get(&r, t->id, &g), CF_ERR_NOT_FOUND);
    r.who = &f->who;
    assert_int_equal(core_import_token_get(&r, "no-such-token", &g), CF_ERR_NOT_FOUND);

    /* Expired tokens stay readable for CORE_BYOK_PURGE_AFTER, then the
     * next token of the tenant removes them. */
    t = token(f, 1, 0, 0);
    r.now = NOW + 1 + CORE_BYOK_PURGE_AFTER;
    assert_int_equal(core_import_token_create(&r, NULL, &g), CF_OK);
    assert_int_equal(core_import_token_get(&r, t->id, &g), CF_OK);
    r.now++;
    assert_int_equal(core_import_token_create(&r, NULL, &g), CF_OK);
    assert_int_equal(core_import_token_get(&r, t->id, &g), CF_ERR_NOT_FOUND);
}

/* The store's rows: revision-checked updates, tenants apart, the 5 -> 6
 * migration of a database without the table. */
static void test_store_rows(void **state)
{
    struct fx *f = *state;
    static const uint8_t pub[] = {0x30, 0x00}, priv[] = {1, 2, 3};
    store_import_token t = {.tenant = "default", .id = "tok-1", .owner = "o", .created = 1,
                            .expires = 100, .key_size = 3072, .max_uses = 2,
                            .public_key = pub, .public_key_len = sizeof pub,
                            .private_key = priv, .private_key_len = sizeof priv, .revision = 1};
    store_import_token got, stale;
    const uint8_t *v;
    size_t len;
    char path[128];
    sqlite3 *db;

    assert_int_equal(store_import_token_insert(f->st, &t), CF_OK);
    assert_int_equal(store_import_token_insert(f->st, &t), CF_ERR_EXISTS);
    assert_int_equal(store_import_token_get(f->st, "other", "tok-1", f->arena, &got),
                     CF_ERR_NOT_FOUND);
    assert_int_equal(store_import_token_get(f->st, "default", "tok-1", f->arena, &stale), CF_OK);
    assert_int_equal(stale.private_key_len, sizeof priv);
    assert_memory_equal(stale.private_key, priv, sizeof priv);
    got = stale;
    got.uses = 1;
    got.revision = 2;
    assert_int_equal(store_import_token_update(f->st, &got), CF_OK);
    stale.uses = 1;                 /* a second writer from the same revision loses */
    stale.revision = 2;
    assert_int_equal(store_import_token_update(f->st, &stale), CF_ERR_CONFLICT);
    got.uses = 2;
    got.revision = 3;
    got.private_key = NULL;
    got.private_key_len = 0;
    assert_int_equal(store_import_token_update(f->st, &got), CF_OK);
    assert_int_equal(store_import_token_get(f->st, "default", "tok-1", f->arena, &got), CF_OK);
    assert_int_equal(got.uses, 2);
    assert_int_equal(got.revision, 3);
    assert_null(got.private_key);
    got.uses = 3; /* more than max_uses: refused before the back end */
    got.revision = 4;
    assert_int_equal(store_import_token_update(f->st, &got), CF_ERR_INVALID_FIELD);

    /* A version 5 database gains the table. */
    store_close(f->st);
    f->st = NULL;
    snprintf(path, sizeof path, "%s/db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE import_tokens;"
                                      "UPDATE meta SET v = '5' WHERE k = 'schema_version';",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(path, &f->st), CF_OK);
    assert_int_equal(store_meta_get(f->st, "schema_version", f->arena, &v, &len), CF_OK);
    assert_int_equal(len, 1);
    assert_memory_equal(v, "7", 1);
    assert_int_equal(store_import_token_get(f->st, "default", "tok-1", f->arena, &got),
                     CF_ERR_NOT_FOUND);
    assert_int_equal(store_import_token_insert(f->st, &t), CF_OK);
    assert_int_equal(store_import_token_purge(f->st, "default", 101), CF_OK);
    assert_int_equal(store_import_token_get(f->st, "default", "tok-1", f->arena, &got),
                     CF_ERR_NOT_FOUND);
}

/* ------------------------------------------------------------- imports */

static void add_attr(core_req *r, ttlv_item *list, const char *name, ttlv_item *v)
{
    ttlv_item *a = core_attr_new(r->arena, name, 0, v);
    assert_non_null(a);
    ttlv_append(list, a);
}

/* Attributes of an import: algorithm, usage mask, and Extractable False
 * for a root key. */
static ttlv_item *attrs(struct fx *f, uint32_t alg, int32_t mask, bool root)
{
    core_req r = fx_core_req(f, NOW);
    ttlv_item *l = ttlv_new_struct(f->arena, KMIP_TAG_ATTRIBUTES);
    add_attr(&r, l, "Cryptographic Algorithm",
             ttlv_new_enum(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, alg));
    add_attr(&r, l, "Cryptographic Usage Mask",
             ttlv_new_int(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, mask));
    if (root)
        add_attr(&r, l, "Extractable", ttlv_new_bool(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, false));
    return l;
}

/* m wrapped for token t (w: the wrapping), as a core_byok_wrapped. */
static core_byok_wrapped wrapped_for(struct fx *f, const core_import_token *t,
                                     core_byok_wrapping w, const uint8_t *m, size_t n)
{
    EVP_PKEY *pub = pem_pub(t->public_pem);
    uint8_t *blob = cf_arena_alloc(f->arena, 1024);
    size_t len;
    assert_non_null(blob);
    len = w == CORE_BYOK_RSA_OAEP_SHA256 ? oaep(pub, NULL, m, n, blob)
                                         : rsa_aes_wrap(pub, m, n, blob);
    EVP_PKEY_free(pub);
    return (core_byok_wrapped){.token = t->id, .wrapping = w, .blob = blob, .blob_len = len};
}

static cf_status import_at(struct fx *f, int64_t now, const core_byok_wrapped *w,
                           const ttlv_item *a, core_object **out)
{
    core_req r = fx_core_req(f, now);
    cf_status st = core_byok_import_key(&r, w, a, out);
    if (st != CF_OK)
        assert_non_null(r.err_msg);
    return st;
}

static int32_t uses_of(struct fx *f, const char *id)
{
    core_req r = fx_core_req(f, NOW);
    core_import_token *t;
    assert_int_equal(core_import_token_get(&r, id, &t), CF_OK);
    return t->uses;
}

static int64_t objects(struct fx *f)
{
    int64_t n = -1;
    assert_int_equal(store_object_count(f->st, "default", &n), CF_OK);
    return n;
}

static void test_import_key(void **state)
{
    struct fx *f = *state;
    core_import_token *t = token(f, 0, 2, 0);
    uint8_t m[32];
    core_req r = fx_core_req(f, NOW);
    core_byok_wrapped w;
    core_object *obj;
    cf_secret got = {0};
    uint32_t fmt;
    store_import_token row;
    const ttlv_item *len;

    for (size_t i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)(7 * i + 1);
    w = wrapped_for(f, t, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, sizeof m);
    assert_int_equal(import_at(f, NOW, &w,
                               attrs(f, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES,
                                     KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT, false),
                               &obj),
                     CF_OK);
    /* The material is the customer's, the length filled in, one use spent. */
    assert_int_equal(core_key_material(&r, obj, &got, &fmt), CF_OK);
    assert_int_equal(fmt, KMIP_KEY_FORMAT_TYPE_RAW);
    assert_int_equal(got.len, sizeof m);
    assert_memory_equal(got.p, m, sizeof m);
    cf_secret_free(&got);
    len = core_attr_find(obj, "Cryptographic Length", 0);
    assert_non_null(len);
    assert_int_equal(len->v.i32, 256);
    assert_non_null(core_attr_find(obj, "Digest", 0));
    assert_int_equal(uses_of(f, t->id), 1);
    assert_int_equal(store_import_token_get(f->st, "default", t->id, f->arena, &row), CF_OK);
    assert_non_null(row.private_key); /* one use left */

    /* The last use, as a root key through plain RSA-OAEP: then used up,
     * its private key erased; the same blob again is refused. */
    w = wrapped_for(f, t, CORE_BYOK_RSA_OAEP_SHA256, m, 16);
    assert_int_equal(import_at(f, NOW, &w,
                               attrs(f, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, WRAP_UNWRAP, true),
                               &obj),
                     CF_OK);
    assert_true(core_is_root_key(obj));
    assert_int_equal(core_attr_find(obj, "Cryptographic Length", 0)->v.i32, 128);
    assert_int_equal(store_import_token_get(f->st, "default", t->id, f->arena, &row), CF_OK);
    assert_int_equal(row.uses, 2);
    assert_null(row.private_key);
    assert_int_equal(import_at(f, NOW, &w,
                               attrs(f, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, WRAP_UNWRAP, true),
                               &obj),
                     CF_ERR_USAGE_LIMIT);
}

static void test_import_refusals(void **state)
{
    struct fx *f = *state;
    core_import_token *t = token(f, 60, 1, 0), *t2 = token(f, 0, 1, 0);
    uint8_t m[65] = {0x5a};
    ttlv_item *aes = attrs(f, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, WRAP_UNWRAP, true);
    ttlv_item *hmac = attrs(f, KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256,
                            KMIP_CRYPTOGRAPHIC_USAGE_MASK_MAC_GENERATE, false);
    core_identity reader = f->who;
    core_req r = fx_core_req(f, NOW);
    core_byok_wrapped w;
    core_object *obj;
    int64_t before = objects(f);

    /* Lengths: AES 16/24/32 only, HMAC 16..64; a Length that disagrees. */
    w = wrapped_for(f, t, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, 20);
    assert_int_equal(import_at(f, NOW, &w, aes, &obj), CF_ERR_INVALID_FIELD);
    w = wrapped_for(f, t, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, 65);
    assert_int_equal(import_at(f, NOW, &w, hmac, &obj), CF_ERR_INVALID_FIELD);
    w = wrapped_for(f, t, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, 15);
    assert_int_equal(import_at(f, NOW, &w, hmac, &obj), CF_ERR_INVALID_FIELD);
    {
        ttlv_item *l = attrs(f, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, WRAP_UNWRAP, true);
        add_attr(&r, l, "Cryptographic Length", ttlv_new_int(f->arena, KMIP_TAG_ATTRIBUTE_VALUE,
                                                             128));
        w = wrapped_for(f, t, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, 32);
        assert_int_equal(import_at(f, NOW, &w, l, &obj), CF_ERR_INVALID_FIELD);
    }
    /* Wrapped for another token's key; a Reader; an unknown token. */
    w = wrapped_for(f, t2, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, 32);
    w.token = t->id;
    assert_int_equal(import_at(f, NOW, &w, aes, &obj), CF_ERR_CRYPTO);
    reader.role = CORE_ROLE_READER;
    r.who = &reader;
    w.token = t2->id;
    assert_int_equal(core_byok_import_key(&r, &w, aes, &obj), CF_ERR_PERMISSION);
    w.token = "01933b9e-6f2a-7c41-9d3e-5a8b7c6d5e4f";
    assert_int_equal(import_at(f, NOW, &w, aes, &obj), CF_ERR_NOT_FOUND);
    /* None of that spent a use or stored a key. */
    assert_int_equal(uses_of(f, t->id), 0);
    assert_int_equal(uses_of(f, t2->id), 0);
    assert_int_equal(objects(f), before);
    /* Expired: at its expiry it is refused, a second before it works. */
    w = wrapped_for(f, t, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, 64);
    assert_int_equal(import_at(f, NOW + 60, &w, hmac, &obj), CF_ERR_STATE);
    assert_int_equal(import_at(f, NOW + 59, &w, hmac, &obj), CF_OK);
    assert_int_equal(core_attr_find(obj, "Cryptographic Length", 0)->v.i32, 512);
    assert_int_equal(objects(f), before + 1);
}

/* ------------------------------------------------------------ versions */

static const char *root_key(struct fx *f, int32_t bits)
{
    core_req r = fx_core_req(f, NOW);
    ttlv_item *l = attrs(f, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, WRAP_UNWRAP, true);
    core_object *obj;
    add_attr(&r, l, "Cryptographic Length", ttlv_new_int(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, bits));
    assert_int_equal(core_create_symmetric_key(&r, l, &obj), CF_OK);
    assert_int_equal(core_activate(&r, obj->uid), CF_OK);
    return obj->uid;
}

static void test_import_version(void **state)
{
    struct fx *f = *state;
    const char *uid = root_key(f, 256);
    core_import_token *t = token(f, 0, 3, 0);
    uint8_t m[32];
    core_req r = fx_core_req(f, NOW);
    cf_secret dek = {0}, v2 = {0};
    core_env_out w1, w2, u;
    core_byok_wrapped w;
    core_object *obj;
    uint32_t v = 0;

    for (size_t i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)(0xc0 ^ i);
    assert_int_equal(cf_secret_dup(&dek, (const uint8_t *)"a data key", 10), CF_OK);
    assert_int_equal(core_env_wrap(&r, uid, &dek, NULL, &w1), CF_OK);
    /* A length other than the key's: refused, nothing spent. */
    w = wrapped_for(f, t, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, 16);
    assert_int_equal(core_byok_import_version(&r, uid, &w, &v), CF_ERR_INVALID_FIELD);
    assert_int_equal(uses_of(f, t->id), 0);
    w = wrapped_for(f, t, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, sizeof m);
    assert_int_equal(core_byok_import_version(&r, uid, &w, &v), CF_OK);
    assert_int_equal(v, 2);
    assert_int_equal(uses_of(f, t->id), 1);
    /* Version 2 is the customer's material; v1's DEK still unwraps; a
     * new wrap uses version 2. */
    assert_int_equal(core_object_load(&r, uid, &obj), CF_OK);
    assert_int_equal(core_version_material(&r, obj, 2, &v2), CF_OK);
    assert_int_equal(v2.len, sizeof m);
    assert_memory_equal(v2.p, m, sizeof m);
    cf_secret_free(&v2);
    assert_int_equal(core_env_unwrap(&r, uid, w1.ciphertext, w1.ciphertext_len, NULL, &u), CF_OK);
    assert_int_equal(u.version, 1);
    assert_int_equal(u.newest, 2);
    cf_secret_free(&u.plaintext);
    assert_int_equal(core_env_wrap(&r, uid, &dek, NULL, &w2), CF_OK);
    assert_int_equal(w2.version, 2);
    cf_secret_free(&dek);

    /* A deactivated key: refused, nothing spent. */
    w = wrapped_for(f, t, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, sizeof m);
    assert_int_equal(core_deactivate(&r, uid), CF_OK);
    assert_int_equal(core_byok_import_version(&r, uid, &w, &v), CF_ERR_STATE);
    assert_int_equal(uses_of(f, t->id), 1);
}

static void test_import_version_not_root(void **state)
{
    struct fx *f = *state;
    core_import_token *t = token(f, 0, 1, 0);
    core_req r = fx_core_req(f, NOW);
    ttlv_item *l = attrs(f, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES,
                         KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT, false);
    core_identity reader = f->who;
    uint8_t m[32] = {1};
    core_byok_wrapped w = wrapped_for(f, t, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, sizeof m);
    core_object *obj;
    uint32_t v;

    add_attr(&r, l, "Cryptographic Length", ttlv_new_int(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, 256));
    assert_int_equal(core_create_symmetric_key(&r, l, &obj), CF_OK);
    assert_int_equal(core_byok_import_version(&r, obj->uid, &w, &v), CF_ERR_OBJECT_TYPE);
    reader.role = CORE_ROLE_READER;
    r.who = &reader;
    assert_int_equal(core_byok_import_version(&r, root_key(f, 256), &w, &v), CF_ERR_PERMISSION);
    assert_int_equal(uses_of(f, t->id), 0);
}

/* ---------------------------------------------------------------- race */

/* Two connections import with one token at the same moment: both have
 * opened the token (read it, unwrapped) before either writes, because the
 * test holds the store's write lock on a third connection until both had
 * time to get there. */
struct racer {
    struct fx *f;
    store *st;
    cf_arena *arena;
    const core_byok_wrapped *w;
    const ttlv_item *attrs;
    cf_status st_out;
};

static void *race(void *p)
{
    struct racer *x = p;
    core_req r = {.core = &x->f->core, .st = x->st, .arena = x->arena, .who = &x->f->who,
                  .now = NOW};
    core_object *obj;
    x->st_out = core_byok_import_key(&r, x->w, x->attrs, &obj);
    return NULL;
}

static void race_once(struct fx *f, int32_t max_uses, cf_status want[2])
{
    core_import_token *t = token(f, 0, max_uses, 0);
    uint8_t m[32] = {0x42};
    core_byok_wrapped w = wrapped_for(f, t, CORE_BYOK_RSA_AES_KEY_WRAP_SHA256, m, sizeof m);
    ttlv_item *a = attrs(f, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, WRAP_UNWRAP, true);
    struct racer x[2];
    pthread_t th[2];
    char path[128];
    store *lock;
    int64_t before = objects(f);

    snprintf(path, sizeof path, "sqlite:%s/db", f->dir);
    assert_int_equal(store_open(path, &lock), CF_OK);
    for (int i = 0; i < 2; i++) {
        x[i] = (struct racer){.f = f, .w = &w, .attrs = a};
        assert_int_equal(store_open(path, &x[i].st), CF_OK);
        x[i].arena = cf_arena_new(4096, 0);
    }
    assert_int_equal(store_begin(lock), CF_OK);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race, &x[i]), 0);
    sleep(2); /* both unwrap (a few ms) and wait for the write lock */
    store_rollback(lock);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        store_close(x[i].st);
        cf_arena_free(x[i].arena);
    }
    store_close(lock);
    want[0] = x[0].st_out;
    want[1] = x[1].st_out;
    assert_int_equal(uses_of(f, t->id), max_uses < 2 ? 1 : 2);
    assert_int_equal(objects(f), before + (max_uses < 2 ? 1 : 2));
}

static void test_token_race(void **state)
{
    struct fx *f = *state;
    cf_status got[2];

    /* The last use: one import wins, the other stores nothing. */
    race_once(f, 1, got);
    assert_true((got[0] == CF_OK) != (got[1] == CF_OK));
    assert_int_equal(got[0] == CF_OK ? got[1] : got[0], CF_ERR_USAGE_LIMIT);
    /* Two uses: the loser of the revision check reloads and wins too. */
    race_once(f, 2, got);
    assert_int_equal(got[0], CF_OK);
    assert_int_equal(got[1], CF_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unwrap_known_answer),
        cmocka_unit_test(test_unwrap_refusals),
        cmocka_unit_test_setup_teardown(test_tokens, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_store_rows, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_import_key, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_import_refusals, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_import_version, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_import_version_not_root, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_token_race, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
