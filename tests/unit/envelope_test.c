/*
 * Unit tests for envelope encryption with root keys (core_env_format.c,
 * core_envelope.c, core_versions.c): the documented example of
 * docs/envelope.md byte for byte, the canonical AAD encoding, every byte of
 * a wrapped key flipped and every truncation (CF_ERR_CRYPTO), wrong AAD
 * and tenant, another key's ciphertext, versions across rotations, the
 * encryption ceiling rotating the key, two connections rotating at once
 * (one new version), states (deactivated: unwrap only; destroyed: nothing,
 * and the versions' material erased), roles and restrictions, limits.
 * Through core, over the KMIP fixture's store and keyring.
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

#include "core/core_env_int.h"
#include "support/kmip_fixture.h"

#define NOW 1790000000

/* ------------------------------------------------------------ helpers */

static void hex(const char *h, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(h), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void add_attr(core_req *r, ttlv_item *list, const char *name, ttlv_item *v)
{
    ttlv_item *a = core_attr_new(r->arena, name, 0, v);
    assert_non_null(a);
    ttlv_append(list, a);
}

/* An AES key of `bits` with this usage mask, extractable or not, Active. */
static const char *make_key(struct fx *f, int32_t bits, int32_t mask, bool extractable)
{
    core_req r = fx_core_req(f, NOW);
    ttlv_item *l = ttlv_new_struct(f->arena, KMIP_TAG_ATTRIBUTES);
    core_object *obj;
    add_attr(&r, l, "Cryptographic Algorithm",
             ttlv_new_enum(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES));
    add_attr(&r, l, "Cryptographic Length", ttlv_new_int(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, bits));
    add_attr(&r, l, "Cryptographic Usage Mask",
             ttlv_new_int(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, mask));
    if (!extractable)
        add_attr(&r, l, "Extractable", ttlv_new_bool(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, false));
    assert_int_equal(core_create_symmetric_key(&r, l, &obj), CF_OK);
    assert_int_equal(core_activate(&r, obj->uid), CF_OK);
    return obj->uid;
}

#define WRAP_UNWRAP                                                                               \
    (KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY | KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY)

static const char *root_key(struct fx *f) { return make_key(f, 256, WRAP_UNWRAP, false); }

static cf_secret secret_of(const char *s)
{
    cf_secret x = {0};
    assert_int_equal(cf_secret_dup(&x, (const uint8_t *)s, strlen(s)), CF_OK);
    return x;
}

/* Wrap s under uid (AAD may be NULL); the wrapped form in the arena. */
static core_env_out wrap_str(struct fx *f, const char *uid, const char *s, const core_aad *aad)
{
    core_req r = fx_core_req(f, NOW);
    cf_secret pt = secret_of(s);
    core_env_out o;
    cf_status st = core_env_wrap(&r, uid, &pt, aad, &o);
    if (st != CF_OK)
        fail_msg("wrap: %s (%s)", cf_status_str(st), r.err_msg ? r.err_msg : "");
    cf_secret_free(&pt);
    return o;
}

/* Unwrap; on success the plaintext must be `want`. */
static cf_status unwrap_expect(struct fx *f, const char *uid, const core_env_out *w,
                               const core_aad *aad, const char *want, uint32_t *version)
{
    core_req r = fx_core_req(f, NOW);
    core_env_out o;
    cf_status st = core_env_unwrap(&r, uid, w->ciphertext, w->ciphertext_len, aad, &o);
    if (st == CF_OK) {
        assert_int_equal(o.plaintext.len, strlen(want));
        assert_memory_equal(o.plaintext.p, want, strlen(want));
        if (version)
            *version = o.version;
    } else {
        assert_null(o.plaintext.p);
        assert_non_null(r.err_msg);
    }
    cf_secret_free(&o.plaintext);
    return st;
}

/* ------------------------------------------------------- format, AAD */

/* The worked example of docs/envelope.md (independently computed with
 * Python's cryptography AESGCM). */
static const char example_hex[] =
    "43465701032430313933336239652d366632612d376334312d396433652d3561386237633664356534660000"
    "0002f0f1f2f3f4f5f6f7f8f9fafb49276123581ff453b7deddb1a2674c9920d06bf10c3279af6e6f099b650e"
    "ec38a8763539af38a7fc3e01128e069b759b";

static void test_format_example(void **state)
{
    (void)state;
    static const char *const keys[] = {"object", "bucket"}; /* given unsorted */
    static const char *const vals[] = {"photos/cat.jpg", "photos"};
    core_aad aad = {.keys = keys, .values = vals, .n = 2};
    uint8_t key[32], nonce[12], pt[32], want[106];
    core_env_hdr h;
    const char *why;
    cf_secret out = {0};
    cf_buf b;

    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)i;
        pt[i] = (uint8_t)(0x20 + i);
    }
    for (int i = 0; i < 12; i++)
        nonce[i] = (uint8_t)(0xf0 + i);
    hex(example_hex, want, sizeof want);
    cf_buf_init(&b, 0);
    assert_int_equal(core_env_seal(key, 32, "default", "01933b9e-6f2a-7c41-9d3e-5a8b7c6d5e4f", 2,
                                   &aad, nonce, pt, sizeof pt, &b),
                     CF_OK);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);

    assert_int_equal(core_env_parse(b.p, b.len, &h, &why), CF_OK);
    assert_int_equal(h.alg, CORE_ENV_ALG_AES256_GCM);
    assert_int_equal(h.key_id_len, 36);
    assert_memory_equal(h.key_id, "01933b9e-6f2a-7c41-9d3e-5a8b7c6d5e4f", 36);
    assert_int_equal(h.version, 2);
    assert_int_equal(h.header_len, 58);
    assert_int_equal(h.ct_len, 32);
    assert_int_equal(core_env_open(key, 32, "default", &h, &aad, &out), CF_OK);
    assert_int_equal(out.len, 32);
    assert_memory_equal(out.p, pt, 32);
    cf_secret_free(&out);
    /* Another tenant, or the key of another size: refused. */
    assert_int_equal(core_env_open(key, 32, "other", &h, &aad, &out), CF_ERR_CRYPTO);
    assert_int_equal(core_env_open(key, 16, "default", &h, &aad, &out), CF_ERR_CRYPTO);
    assert_null(out.p);
    cf_buf_free(&b);
}

static void encode(const core_aad *aad, cf_buf *b)
{
    cf_buf_reset(b);
    assert_int_equal(core_env_aad_encode(aad, b), CF_OK);
}

static void test_aad_encoding(void **state)
{
    (void)state;
    static const char *const ab_c[] = {"ab", "c"}, *const a_bc[] = {"a", "bc"};
    static const char *const k1[] = {"b", "a"}, *const v1[] = {"2", "1"};
    static const char *const k2[] = {"a", "b"}, *const v2[] = {"1", "2"};
    static const char *const dup[] = {"a", "a"};
    static const uint8_t list_ab_c[] = {1, 0, 0, 0, 2, 0, 0, 0, 2, 'a', 'b', 0, 0, 0, 1, 'c'};
    static const uint8_t map_ab[] = {2, 0, 0, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 1, '1',
                                     0, 0, 0, 1, 'b', 0, 0, 0, 1, '2'};
    core_aad l1 = {.values = ab_c, .n = 2}, l2 = {.values = a_bc, .n = 2};
    core_aad m1 = {.keys = k1, .values = v1, .n = 2}, m2 = {.keys = k2, .values = v2, .n = 2};
    core_aad empty_list = {.values = ab_c, .n = 0}, empty_map = {.keys = k1, .values = v1};
    cf_buf a, b;
    const char *why;
    const char *many[CORE_ENV_AAD_MAX + 1];
    char big[CORE_ENV_AAD_STR_MAX + 2];

    cf_buf_init(&a, 0);
    cf_buf_init(&b, 0);
    encode(&l1, &a);
    assert_int_equal(a.len, sizeof list_ab_c);
    assert_memory_equal(a.p, list_ab_c, sizeof list_ab_c);
    encode(&l2, &b);
    assert_false(a.len == b.len && memcmp(a.p, b.p, a.len) == 0); /* ["ab","c"] != ["a","bc"] */
    /* A map is sorted by key: the order given does not matter. */
    encode(&m1, &a);
    assert_int_equal(a.len, sizeof map_ab);
    assert_memory_equal(a.p, map_ab, sizeof map_ab);
    encode(&m2, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
    /* None, an empty list and an empty map are three encodings. */
    encode(NULL, &a);
    assert_int_equal(a.len, 1);
    assert_int_equal(a.p[0], 0);
    encode(&empty_list, &a);
    assert_int_equal(a.len, 5);
    assert_int_equal(a.p[0], 1);
    encode(&empty_map, &a);
    assert_int_equal(a.len, 5);
    assert_int_equal(a.p[0], 2);
    /* Refusals: duplicate map keys, too many strings, a string too long. */
    m1.keys = dup;
    assert_int_equal(core_env_aad_check(&m1, &why), CF_ERR_INVALID_FIELD);
    assert_non_null(why);
    for (size_t i = 0; i <= CORE_ENV_AAD_MAX; i++)
        many[i] = "x";
    l1 = (core_aad){.values = many, .n = CORE_ENV_AAD_MAX};
    assert_int_equal(core_env_aad_check(&l1, &why), CF_OK);
    l1.n++;
    assert_int_equal(core_env_aad_check(&l1, &why), CF_ERR_INVALID_FIELD);
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = 0;
    many[0] = big;
    l1.n = 1;
    assert_int_equal(core_env_aad_check(&l1, &why), CF_ERR_INVALID_FIELD);
    big[CORE_ENV_AAD_STR_MAX] = 0;
    assert_int_equal(core_env_aad_check(&l1, &why), CF_OK);
    cf_buf_free(&a);
    cf_buf_free(&b);
}

/* --------------------------------------------------- wrap and unwrap */

static void test_wrap_unwrap_aad(void **state)
{
    struct fx *f = *state;
    static const char *const lst[] = {"bucket:photos", "object:cat.jpg"};
    static const char *const rev[] = {"object:cat.jpg", "bucket:photos"};
    static const char *const keys[] = {"bucket", "object"}, *const vals[] = {"photos", "cat.jpg"};
    static const char *const keys2[] = {"object", "bucket"}, *const vals2[] = {"cat.jpg", "photos"};
    core_aad l = {.values = lst, .n = 2}, lr = {.values = rev, .n = 2};
    core_aad m = {.keys = keys, .values = vals, .n = 2};
    core_aad m2 = {.keys = keys2, .values = vals2, .n = 2};
    core_aad as_list = {.values = vals, .n = 2};
    const char *uid = root_key(f);
    uint32_t v = 0;
    core_env_out w = wrap_str(f, uid, "dek-without-aad", NULL);

    assert_int_equal(w.version, 1);
    assert_int_equal(w.newest, 1);
    assert_int_equal(w.ciphertext_len, CORE_ENV_HDR_FIXED + 36 + 15 + CORE_ENV_TAG_LEN);
    assert_int_equal(unwrap_expect(f, uid, &w, NULL, "dek-without-aad", &v), CF_OK);
    assert_int_equal(v, 1);
    assert_int_equal(unwrap_expect(f, uid, &w, &l, "", NULL), CF_ERR_CRYPTO);

    w = wrap_str(f, uid, "dek-list", &l);
    assert_int_equal(unwrap_expect(f, uid, &w, &l, "dek-list", NULL), CF_OK);
    assert_int_equal(unwrap_expect(f, uid, &w, &lr, "", NULL), CF_ERR_CRYPTO); /* reordered */
    assert_int_equal(unwrap_expect(f, uid, &w, NULL, "", NULL), CF_ERR_CRYPTO);

    w = wrap_str(f, uid, "dek-map", &m);
    assert_int_equal(unwrap_expect(f, uid, &w, &m2, "dek-map", NULL), CF_OK); /* any key order */
    assert_int_equal(unwrap_expect(f, uid, &w, &as_list, "", NULL), CF_ERR_CRYPTO);
}

static void test_tamper_every_byte(void **state)
{
    struct fx *f = *state;
    static const char *const lst[] = {"ctx"};
    core_aad l = {.values = lst, .n = 1};
    const char *uid = root_key(f);
    core_env_out w = wrap_str(f, uid, "0123456789abcdef0123456789abcdef", &l);
    uint8_t *copy = malloc(w.ciphertext_len);
    core_env_out t = w;

    assert_non_null(copy);
    t.ciphertext = copy;
    for (size_t i = 0; i < w.ciphertext_len; i++)
        for (unsigned flip = 0x01; flip <= 0x80; flip <<= 7) { /* low bit, high bit */
            memcpy(copy, w.ciphertext, w.ciphertext_len);
            copy[i] ^= (uint8_t)flip;
            if (unwrap_expect(f, uid, &t, &l, "", NULL) != CF_ERR_CRYPTO)
                fail_msg("byte %zu ^ 0x%02x: not a cryptographic failure", i, flip);
        }
    for (size_t n = 0; n < w.ciphertext_len; n++) { /* every truncation */
        t.ciphertext_len = n;
        if (unwrap_expect(f, uid, &t, &l, "", NULL) != CF_ERR_CRYPTO)
            fail_msg("truncated to %zu: not a cryptographic failure", n);
    }
    t.ciphertext = w.ciphertext;
    t.ciphertext_len = w.ciphertext_len;
    assert_int_equal(unwrap_expect(f, uid, &t, &l, "0123456789abcdef0123456789abcdef", NULL),
                     CF_OK);
    free(copy);
}

static void test_other_key_and_limits(void **state)
{
    struct fx *f = *state;
    const char *a = root_key(f), *b = root_key(f);
    core_env_out w = wrap_str(f, a, "dek", NULL), o;
    core_req r = fx_core_req(f, NOW);
    cf_secret big = {0};

    /* Another key's ciphertext: the message names that key. */
    assert_int_equal(unwrap_expect(f, b, &w, NULL, "", NULL), CF_ERR_INVALID_FIELD);
    assert_int_equal(core_env_unwrap(&r, b, w.ciphertext, w.ciphertext_len, NULL, &o),
                     CF_ERR_INVALID_FIELD);
    assert_non_null(strstr(r.err_msg, a));
    /* Plaintext 1..4096 bytes. */
    assert_int_equal(cf_secret_alloc(&big, CORE_ENV_PLAINTEXT_MAX + 1), CF_OK);
    memset(big.p, 7, big.len);
    assert_int_equal(core_env_wrap(&r, a, &big, NULL, &o), CF_ERR_INVALID_FIELD);
    big.len = CORE_ENV_PLAINTEXT_MAX;
    assert_int_equal(core_env_wrap(&r, a, &big, NULL, &o), CF_OK);
    assert_int_equal(o.ciphertext_len, CORE_ENV_CT_MAX - CF_LIMIT_UID + 36);
    big.len = 0;
    assert_int_equal(core_env_wrap(&r, a, &big, NULL, &o), CF_ERR_INVALID_FIELD);
    big.len = CORE_ENV_PLAINTEXT_MAX + 1;
    cf_secret_free(&big);
    /* No plaintext: a 256-bit DEK is generated and returned. */
    assert_int_equal(core_env_wrap(&r, a, NULL, NULL, &o), CF_OK);
    assert_int_equal(o.plaintext.len, CORE_ENV_DEK_LEN);
    {
        core_env_out u;
        assert_int_equal(core_env_unwrap(&r, a, o.ciphertext, o.ciphertext_len, NULL, &u), CF_OK);
        assert_int_equal(u.plaintext.len, CORE_ENV_DEK_LEN);
        assert_memory_equal(u.plaintext.p, o.plaintext.p, CORE_ENV_DEK_LEN);
        cf_secret_free(&u.plaintext);
    }
    cf_secret_free(&o.plaintext);
}

static void test_not_root_keys(void **state)
{
    struct fx *f = *state;
    const char *std = make_key(f, 256, WRAP_UNWRAP, true);     /* extractable */
    const char *enc = make_key(f, 256, KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT, false);
    const char *unw = make_key(f, 256, KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY, false);
    core_req r = fx_core_req(f, NOW);
    cf_secret pt = secret_of("dek");
    core_env_out o;
    uint32_t v;

    assert_int_equal(core_env_wrap(&r, std, &pt, NULL, &o), CF_ERR_OBJECT_TYPE);
    assert_int_equal(core_env_wrap(&r, enc, &pt, NULL, &o), CF_ERR_OBJECT_TYPE);
    assert_int_equal(core_env_wrap(&r, unw, &pt, NULL, &o), CF_ERR_USAGE_MASK);
    assert_int_equal(core_key_rotate(&r, std, CORE_ROTATE_MANUAL, &v), CF_ERR_OBJECT_TYPE);
    assert_int_equal(core_env_wrap(&r, "no-such-key", &pt, NULL, &o), CF_ERR_NOT_FOUND);
    cf_secret_free(&pt);
}

/* AES-128 and AES-192 root keys: the algorithm byte follows the key. */
static void test_key_sizes(void **state)
{
    struct fx *f = *state;
    static const int bits[] = {128, 192, 256};
    for (int i = 0; i < 3; i++) {
        const char *uid = make_key(f, bits[i], WRAP_UNWRAP, false);
        core_env_out w = wrap_str(f, uid, "size", NULL);
        assert_int_equal(w.ciphertext[4], i + 1);
        assert_int_equal(unwrap_expect(f, uid, &w, NULL, "size", NULL), CF_OK);
    }
}

/* -------------------------------------------------- versions, rotation */

static void test_versions_rotation(void **state)
{
    struct fx *f = *state;
    const char *uid = root_key(f);
    core_req r = fx_core_req(f, NOW);
    core_env_out w1 = wrap_str(f, uid, "under-v1", NULL), w2, rw;
    core_key_version *vs;
    core_object *obj;
    const ttlv_item *d1, *d2;
    size_t n;
    int64_t total;
    uint32_t v = 0;

    assert_int_equal(core_object_load(&r, uid, &obj), CF_OK);
    d1 = core_attr_find(obj, "Digest", 0);
    assert_int_equal(core_key_versions(&r, uid, 0, 10, &vs, &n, &total), CF_OK);
    assert_int_equal(total, 1);
    assert_int_equal(vs[0].version, 1);
    assert_true(vs[0].encryptions >= 1);

    r.now = NOW + 10;
    assert_int_equal(core_key_rotate(&r, uid, CORE_ROTATE_MANUAL, &v), CF_OK);
    assert_int_equal(v, 2);
    assert_int_equal(core_object_load(&r, uid, &obj), CF_OK);
    assert_int_equal(core_key_newest(obj), 2);
    d2 = core_attr_find(obj, "Digest", 0);
    assert_false(ttlv_equal(d1, d2)); /* the Digest follows the material */
    assert_int_equal(core_key_versions(&r, uid, 0, 10, &vs, &n, &total), CF_OK);
    assert_int_equal(total, 2);
    assert_int_equal(n, 2);
    assert_int_equal(vs[0].version, 2);
    assert_int_equal(vs[0].created, NOW + 10);
    assert_int_equal(vs[0].encryptions, 0);
    assert_int_equal(vs[1].version, 1);
    assert_int_equal(core_key_versions(&r, uid, 1, 1, &vs, &n, &total), CF_OK);
    assert_int_equal(n, 1);
    assert_int_equal(vs[0].version, 1);

    /* v1 data still unwraps; new wraps are v2; rewrap moves v1 data to v2. */
    assert_int_equal(unwrap_expect(f, uid, &w1, NULL, "under-v1", &v), CF_OK);
    assert_int_equal(v, 1);
    w2 = wrap_str(f, uid, "under-v2", NULL);
    assert_int_equal(w2.version, 2);
    assert_int_equal(core_env_rewrap(&r, uid, w1.ciphertext, w1.ciphertext_len, NULL, &rw), CF_OK);
    assert_int_equal(rw.version, 2);
    assert_null(rw.plaintext.p);
    assert_int_equal(unwrap_expect(f, uid, &rw, NULL, "under-v1", &v), CF_OK);
    assert_int_equal(v, 2);
    /* A third rotation; every version still unwraps its data. */
    assert_int_equal(core_key_rotate(&r, uid, CORE_ROTATE_POLICY, &v), CF_OK);
    assert_int_equal(v, 3);
    assert_int_equal(unwrap_expect(f, uid, &w1, NULL, "under-v1", NULL), CF_OK);
    assert_int_equal(unwrap_expect(f, uid, &w2, NULL, "under-v2", NULL), CF_OK);
    /* A version that does not exist (v4 named in an altered header would
     * also fail its tag): a cryptographic failure. */
    {
        uint8_t *c = cf_arena_memdup(f->arena, w2.ciphertext, w2.ciphertext_len);
        core_env_out t = w2;
        cf_put_be32(c + 6 + 36, 4);
        t.ciphertext = c;
        assert_int_equal(unwrap_expect(f, uid, &t, NULL, "", NULL), CF_ERR_CRYPTO);
    }
}

/* KMIP Encrypt / Decrypt use the object's material: the newest version. */
static void test_kmip_crypto_uses_newest(void **state)
{
    struct fx *f = *state;
    const char *uid = make_key(f, 256, WRAP_UNWRAP | KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT |
                                           KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT, false);
    core_req r = fx_core_req(f, NOW);
    ttlv_item *params = ttlv_new_struct(f->arena, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
    core_crypto_in in = {.uid = uid, .params = params, .data = (const uint8_t *)"sixteen bytes!!!",
                         .data_len = 16, .has_data = true};
    core_crypto_out enc, dec;
    uint32_t v;

    ttlv_append(params,
                ttlv_new_enum(f->arena, KMIP_TAG_BLOCK_CIPHER_MODE, KMIP_BLOCK_CIPHER_MODE_GCM));
    assert_int_equal(core_key_rotate(&r, uid, CORE_ROTATE_MANUAL, &v), CF_OK);
    assert_int_equal(core_encrypt(&r, &in, &enc), CF_OK);
    in.data = enc.data;
    in.data_len = enc.data_len;
    in.iv = enc.iv;
    in.iv_len = enc.iv_len;
    in.check = enc.tag;
    in.check_len = enc.tag_len;
    assert_int_equal(core_decrypt(&r, &in, &dec), CF_OK);
    assert_int_equal(dec.plain.len, 16);
    assert_memory_equal(dec.plain.p, "sixteen bytes!!!", 16);
    cf_secret_free(&dec.plain);
}

/* A key's own rotation policy with only an encryption ceiling. */
static void set_ceiling(struct fx *f, const char *uid, int64_t max)
{
    core_req r = fx_core_req(f, NOW);
    core_rotation_policy p = {.max_encryptions = max};
    assert_int_equal(core_rotation_policy_set(&r, uid, &p, NULL), CF_OK);
}

static void test_ceiling_rotates(void **state)
{
    struct fx *f = *state;
    const char *uid = root_key(f);
    core_req r = fx_core_req(f, NOW);
    core_key_version *vs;
    store_key_version row;
    size_t n;
    int64_t total;
    core_env_out w[8];

    set_ceiling(f, uid, 3);
    for (int i = 0; i < 7; i++)
        w[i] = wrap_str(f, uid, "c", NULL);
    /* 3 under v1, 3 under v2, the 7th under v3. */
    for (int i = 0; i < 7; i++)
        assert_int_equal(w[i].version, (uint32_t)(i / 3 + 1));
    assert_int_equal(core_key_versions(&r, uid, 0, -1, &vs, &n, &total), CF_OK);
    assert_int_equal(total, 3);
    /* Reserved, an upper bound of the uses: v3 reserved its whole
     * (ceiling-sized) block for its first wrap. */
    assert_int_equal(vs[0].encryptions, 3);
    assert_int_equal(vs[1].encryptions, 3);
    assert_int_equal(vs[2].encryptions, 3);
    for (int i = 0; i < 7; i++)
        assert_int_equal(unwrap_expect(f, uid, &w[i], NULL, "c", NULL), CF_OK);
    /* The row never passes the ceiling. */
    assert_int_equal(store_version_get(f->st, "default", uid, 1, f->arena, &row), CF_OK);
    assert_int_equal(row.uses_reserved, 3);
}

/* The tenant's default policy gives the ceiling to keys without their own. */
static void test_ceiling_tenant_default(void **state)
{
    struct fx *f = *state;
    const char *uid = root_key(f);
    core_req r = fx_core_req(f, NOW);
    core_rotation_policy p = {.max_encryptions = 2};
    core_env_out w;

    assert_int_equal(core_rotation_tenant_set(&r, "default", &p, NULL), CF_OK);
    for (int i = 0; i < 5; i++) {
        w = wrap_str(f, uid, "t", NULL);
        assert_int_equal(w.version, (uint32_t)(i / 2 + 1));
    }
}

/* Two connections (two nodes) rotating one key at the same moment: both
 * load the key before either writes (the edit hook meets at a barrier);
 * exactly one new version, the other sees CF_ERR_CONFLICT. */
struct racer {
    struct fx *f;
    const char *uid;
    store *st;
    cf_arena *arena;
    pthread_barrier_t *bar;
    bool waited;
    cf_status st_out;
    uint32_t version;
};

static cf_status meet(core_req *rq, core_object *obj, void *ctx)
{
    struct racer *x = ctx;
    (void)rq;
    (void)obj;
    if (!x->waited) {
        x->waited = true;
        pthread_barrier_wait(x->bar);
    }
    return CF_OK;
}

static void *race(void *p)
{
    struct racer *x = p;
    core_req r = {.core = &x->f->core, .st = x->st, .arena = x->arena, .who = &x->f->who,
                  .now = NOW};
    core_rotate_opts o = {.edit = meet, .ctx = x};
    x->st_out = core_key_rotate_ex(&r, x->uid, CORE_ROTATE_POLICY, &o, &x->version);
    return NULL;
}

static void test_rotation_race(void **state)
{
    struct fx *f = *state;
    const char *uid = root_key(f);
    core_req r = fx_core_req(f, NOW);
    pthread_barrier_t bar;
    struct racer x[2];
    pthread_t t[2];
    char path[128];
    core_key_version *vs;
    size_t n;
    int64_t total;

    snprintf(path, sizeof path, "sqlite:%s/db", f->dir);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(pthread_barrier_init(&bar, NULL, 2), 0);
        for (int i = 0; i < 2; i++) {
            x[i] = (struct racer){.f = f, .uid = uid, .bar = &bar};
            assert_int_equal(store_open(path, &x[i].st), CF_OK);
            x[i].arena = cf_arena_new(4096, 0);
            assert_int_equal(pthread_create(&t[i], NULL, race, &x[i]), 0);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(t[i], NULL);
            store_close(x[i].st);
            cf_arena_free(x[i].arena);
        }
        pthread_barrier_destroy(&bar);
        /* One succeeded with the next version, the other saw it. */
        assert_true((x[0].st_out == CF_OK) != (x[1].st_out == CF_OK));
        for (int i = 0; i < 2; i++) {
            if (x[i].st_out != CF_OK)
                assert_int_equal(x[i].st_out, CF_ERR_CONFLICT);
            assert_int_equal(x[i].version, (uint32_t)round + 2);
        }
        assert_int_equal(core_key_versions(&r, uid, 0, -1, &vs, &n, &total), CF_OK);
        assert_int_equal(total, round + 2);
        assert_int_equal(vs[0].version, round + 2);
    }
    /* An expected version already passed: refused without rotating. */
    {
        uint32_t v;
        core_rotate_opts o = {.expect_version = 1};
        assert_int_equal(core_key_rotate_ex(&r, uid, CORE_ROTATE_POLICY, &o, &v), CF_ERR_CONFLICT);
        assert_int_equal(v, 4);
        assert_int_equal(core_key_versions(&r, uid, 0, -1, &vs, &n, &total), CF_OK);
        assert_int_equal(total, 4);
    }
}

/* ------------------------------------------------ states and rights */

static void test_states(void **state)
{
    struct fx *f = *state;
    const char *uid = root_key(f);
    core_req r = fx_core_req(f, NOW);
    core_env_out w = wrap_str(f, uid, "before", NULL), o;
    cf_secret pt = secret_of("after");
    store_key_version row;
    uint32_t v;

    assert_int_equal(core_key_rotate(&r, uid, CORE_ROTATE_MANUAL, &v), CF_OK);
    assert_int_equal(core_deactivate(&r, uid), CF_OK);
    assert_int_equal(core_env_wrap(&r, uid, &pt, NULL, &o), CF_ERR_STATE);
    assert_int_equal(core_env_rewrap(&r, uid, w.ciphertext, w.ciphertext_len, NULL, &o),
                     CF_ERR_STATE);
    assert_int_equal(core_key_rotate(&r, uid, CORE_ROTATE_MANUAL, &v), CF_ERR_STATE);
    assert_int_equal(unwrap_expect(f, uid, &w, NULL, "before", NULL), CF_OK);
    assert_int_equal(core_destroy(&r, uid), CF_OK);
    assert_int_equal(core_env_wrap(&r, uid, &pt, NULL, &o), CF_ERR_STATE);
    assert_int_equal(unwrap_expect(f, uid, &w, NULL, "", NULL), CF_ERR_STATE);
    /* Every version's material is gone with the key. */
    for (uint32_t i = 1; i <= 2; i++) {
        assert_int_equal(store_version_get(f->st, "default", uid, i, f->arena, &row), CF_OK);
        assert_true(row.destroyed);
        assert_null(row.material);
    }
    cf_secret_free(&pt);
}

static void test_roles_and_restrictions(void **state)
{
    struct fx *f = *state;
    const char *uid = root_key(f), *other = root_key(f);
    core_env_out w = wrap_str(f, uid, "dek", NULL), o;
    core_req r = fx_core_req(f, NOW);
    cf_secret pt = secret_of("dek");
    const char *only[] = {uid};
    core_restriction rs = {.actions = CORE_ACTION_BIT(CORE_ACT_WRAP) |
                                      CORE_ACTION_BIT(CORE_ACT_UNWRAP),
                           .uids = only, .n_uids = 1};
    core_key_version *vs;
    size_t n;
    int64_t total;
    uint32_t v;

    f->who.role = CORE_ROLE_READER;
    assert_int_equal(core_env_wrap(&r, uid, &pt, NULL, &o), CF_ERR_PERMISSION);
    assert_int_equal(core_env_unwrap(&r, uid, w.ciphertext, w.ciphertext_len, NULL, &o),
                     CF_ERR_PERMISSION);
    assert_int_equal(core_env_rewrap(&r, uid, w.ciphertext, w.ciphertext_len, NULL, &o),
                     CF_ERR_PERMISSION);
    assert_int_equal(core_key_versions(&r, uid, 0, 10, &vs, &n, &total), CF_OK); /* metadata */
    f->who.role = CORE_ROLE_WRITER;
    assert_int_equal(unwrap_expect(f, uid, &w, NULL, "dek", NULL), CF_OK);
    /* A service key: wrap and unwrap of one root key, nothing else. */
    f->who.restriction = &rs;
    assert_int_equal(core_env_wrap(&r, uid, &pt, NULL, &o), CF_OK);
    assert_int_equal(unwrap_expect(f, uid, &o, NULL, "dek", NULL), CF_OK);
    assert_int_equal(core_env_rewrap(&r, uid, w.ciphertext, w.ciphertext_len, NULL, &o), CF_OK);
    assert_int_equal(core_env_wrap(&r, other, &pt, NULL, &o), CF_ERR_NOT_FOUND);
    assert_int_equal(core_key_rotate(&r, uid, CORE_ROTATE_MANUAL, &v), CF_ERR_PERMISSION);
    assert_int_equal(core_key_versions(&r, uid, 0, 10, &vs, &n, &total), CF_ERR_PERMISSION);
    /* Wrap only: no unwrap. */
    rs.actions = CORE_ACTION_BIT(CORE_ACT_WRAP);
    assert_int_equal(core_env_wrap(&r, uid, &pt, NULL, &o), CF_OK);
    assert_int_equal(core_env_unwrap(&r, uid, w.ciphertext, w.ciphertext_len, NULL, &o),
                     CF_ERR_PERMISSION);
    assert_int_equal(core_env_rewrap(&r, uid, w.ciphertext, w.ciphertext_len, NULL, &o),
                     CF_ERR_PERMISSION);
    f->who.restriction = NULL;
    f->who.role = CORE_ROLE_MANAGER;
    cf_secret_free(&pt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_example),
        cmocka_unit_test(test_aad_encoding),
        cmocka_unit_test_setup_teardown(test_wrap_unwrap_aad, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_every_byte, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_other_key_and_limits, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_not_root_keys, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_key_sizes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_versions_rotation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_kmip_crypto_uses_newest, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ceiling_rotates, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ceiling_tenant_default, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rotation_race, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_states, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_roles_and_restrictions, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
