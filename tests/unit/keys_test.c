/*
 * Unit tests for crypto_keys.h: parsing and format conversions (round
 * trips through every format, refusals), key generation, symmetric
 * algorithm checks, AES key wrap against the RFC 3394 and RFC 5649 vectors,
 * RSA-OAEP round trips. The KMIP-level tests are objects_test.c and
 * pairs_test.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "crypto/crypto_keys.h"
#include "ttlv/ttlv.h"
#include "util/log.h"

/* ------------------------------------------------------------ helpers */
static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (h[0] && h[1] && n < cap) {
        unsigned v;
        if (h[0] == ' ') {
            h++;
            continue;
        }
        if (sscanf(h, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
        h += 2;
    }
    return n;
}

/* --------------------------------------------------- AES key wrap vectors */
struct kw_vec {
    const char *kek, *key, *wrapped;
    bool pad;
};

static const struct kw_vec kw_vectors[] = {
    /* RFC 3394 section 4.1: 128-bit KEK, 128-bit key data */
    {"000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF",
     "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5", false},
    /* RFC 3394 section 4.3: 256-bit KEK, 128-bit key data */
    {"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
     "00112233445566778899AABBCCDDEEFF",
     "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7", false},
    /* RFC 3394 section 4.6: 256-bit KEK, 256-bit key data */
    {"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
     "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
     "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21", false},
    /* RFC 5649 section 6: 20 octets */
    {"5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", "c37b7e6492584340bed12207808941155068f738",
     "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a", true},
    /* RFC 5649 section 6: 7 octets */
    {"5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", "466f7250617369",
     "afbeb0f07dfbf5419200f2ccb50bb24f", true},
};

static void test_aes_key_wrap_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof kw_vectors / sizeof kw_vectors[0]; i++) {
        const struct kw_vec *v = &kw_vectors[i];
        uint8_t kek[32], key[64], wrapped[80];
        size_t kl = unhex(v->kek, kek, sizeof kek), nl = unhex(v->key, key, sizeof key);
        size_t wl = unhex(v->wrapped, wrapped, sizeof wrapped);
        cf_buf out;
        cf_secret back = {0};

        cf_buf_init(&out, 0);
        assert_int_equal(crypto_aes_wrap(kek, kl, v->pad, key, nl, &out), CF_OK);
        assert_int_equal(out.len, wl);
        assert_memory_equal(out.p, wrapped, wl);
        assert_int_equal(crypto_aes_unwrap(kek, kl, v->pad, wrapped, wl, &back), CF_OK);
        assert_int_equal(back.len, nl);
        assert_memory_equal(back.p, key, nl);
        cf_secret_free(&back);
        /* one flipped bit fails the integrity check */
        wrapped[wl / 2] ^= 0x10;
        assert_int_equal(crypto_aes_unwrap(kek, kl, v->pad, wrapped, wl, &back), CF_ERR_CRYPTO);
        assert_null(back.p);
        cf_buf_free(&out);
    }
}

static void test_aes_key_wrap_refusals(void **state)
{
    uint8_t kek[32] = {0}, key[24] = {0};
    cf_buf out;
    cf_secret back = {0};
    (void)state;
    cf_buf_init(&out, 0);
    /* RFC 3394: at least two 64-bit blocks, a multiple of 8 */
    assert_int_equal(crypto_aes_wrap(kek, 16, false, key, 8, &out), CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_aes_wrap(kek, 16, false, key, 20, &out), CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_aes_wrap(kek, 16, true, key, 0, &out), CF_ERR_INVALID_FIELD);
    /* KEK must be an AES key */
    assert_int_equal(crypto_aes_wrap(kek, 20, false, key, 16, &out), CF_ERR_INVALID_FIELD);
    assert_int_equal(out.len, 0);
    /* 3394-wrapped bytes do not unwrap as 5649 */
    assert_int_equal(crypto_aes_wrap(kek, 32, false, key, 24, &out), CF_OK);
    assert_int_equal(crypto_aes_unwrap(kek, 32, true, out.p, out.len, &back), CF_ERR_CRYPTO);
    assert_int_equal(crypto_aes_unwrap(kek, 32, false, out.p, 12, &back), CF_ERR_CRYPTO);
    cf_buf_free(&out);
}

/* ---------------------------------------------------------- RSA-OAEP */
static EVP_PKEY *rsa2048;
static EVP_PKEY *ecp256;

static int group_setup(void **state)
{
    (void)state;
    cf_log_open("/dev/null");
    if (crypto_rsa_generate(2048, &rsa2048) != CF_OK)
        return -1;
    if (crypto_ec_generate(KMIP_RECOMMENDED_CURVE_P_256, &ecp256) != CF_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa2048);
    EVP_PKEY_free(ecp256);
    return 0;
}

static void test_rsa_oaep_round_trip(void **state)
{
    static const uint32_t hashes[] = {0, KMIP_HASHING_ALGORITHM_SHA_1, KMIP_HASHING_ALGORITHM_SHA_256,
                                      KMIP_HASHING_ALGORITHM_SHA_512};
    uint8_t key[32];
    (void)state;
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        cf_buf out;
        cf_secret back = {0};
        cf_buf_init(&out, 0);
        assert_int_equal(crypto_rsa_oaep_wrap(rsa2048, hashes[i], 0, key, sizeof key, &out), CF_OK);
        assert_int_equal(out.len, 256);
        assert_int_equal(crypto_rsa_oaep_unwrap(rsa2048, hashes[i], 0, out.p, out.len, &back), CF_OK);
        assert_int_equal(back.len, sizeof key);
        assert_memory_equal(back.p, key, sizeof key);
        cf_secret_free(&back);
        /* another hash does not decrypt */
        assert_int_equal(crypto_rsa_oaep_unwrap(rsa2048, KMIP_HASHING_ALGORITHM_SHA_384, 0, out.p,
                                                out.len, &back),
                         CF_ERR_CRYPTO);
        cf_buf_free(&out);
    }
}

static void test_rsa_oaep_refusals(void **state)
{
    uint8_t big[300] = {0};
    cf_buf out;
    (void)state;
    cf_buf_init(&out, 0);
    /* 2048-bit modulus with SHA-256: at most 256 - 2*32 - 2 = 190 bytes */
    assert_int_equal(crypto_rsa_oaep_wrap(rsa2048, KMIP_HASHING_ALGORITHM_SHA_256, 0, big, 191, &out),
                     CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_rsa_oaep_wrap(rsa2048, KMIP_HASHING_ALGORITHM_SHA_256, 0, big, 190, &out),
                     CF_OK);
    assert_int_equal(crypto_rsa_oaep_wrap(rsa2048, KMIP_HASHING_ALGORITHM_MD2, 0, big, 16, &out),
                     CF_ERR_UNSUPPORTED);
    assert_int_equal(crypto_rsa_oaep_wrap(ecp256, 0, 0, big, 16, &out), CF_ERR_INVALID_FIELD);
    cf_buf_free(&out);
}

/* ------------------------------------------------- formats, round trips */
struct fmt_case {
    EVP_PKEY **key;
    uint32_t type, format, alg;
};

static void check_round_trip(const struct fmt_case *c)
{
    cf_secret a = {0}, b = {0};
    EVP_PKEY *k = NULL;
    assert_int_equal(crypto_key_export(*c->key, c->type, c->format, &a), CF_OK);
    assert_int_equal(crypto_key_load(c->type, c->format, c->alg, a.p, a.len, &k), CF_OK);
    assert_int_equal(crypto_key_export(k, c->type, c->format, &b), CF_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
    assert_int_equal(EVP_PKEY_eq(k, *c->key), 1);
    EVP_PKEY_free(k);
    cf_secret_free(&a);
    cf_secret_free(&b);
}

static void test_format_round_trips(void **state)
{
    const uint32_t PRIV = KMIP_OBJECT_TYPE_PRIVATE_KEY, PUB = KMIP_OBJECT_TYPE_PUBLIC_KEY;
    const uint32_t RSA = KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, EC = KMIP_CRYPTOGRAPHIC_ALGORITHM_EC;
    const struct fmt_case cases[] = {
        {&rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_1, RSA},
        {&rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_8, RSA},
        {&rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PRIVATE_KEY, RSA},
        {&rsa2048, PUB, KMIP_KEY_FORMAT_TYPE_PKCS_1, RSA},
        {&rsa2048, PUB, KMIP_KEY_FORMAT_TYPE_X_509, RSA},
        {&rsa2048, PUB, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PUBLIC_KEY, RSA},
        {&ecp256, PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_8, EC},
        {&ecp256, PRIV, KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY, EC},
        {&ecp256, PRIV, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PRIVATE_KEY, EC},
        {&ecp256, PRIV, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_ECDSA_PRIVATE_KEY, KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDSA},
        {&ecp256, PUB, KMIP_KEY_FORMAT_TYPE_X_509, EC},
        {&ecp256, PUB, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PUBLIC_KEY, EC},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("format %u type %u\n", cases[i].format, cases[i].type);
        check_round_trip(&cases[i]);
    }
}

static void test_format_refusals(void **state)
{
    const uint32_t PRIV = KMIP_OBJECT_TYPE_PRIVATE_KEY, PUB = KMIP_OBJECT_TYPE_PUBLIC_KEY;
    cf_secret pkcs8 = {0}, spki = {0}, pkcs1 = {0}, x = {0};
    EVP_PKEY *k = NULL;
    uint8_t junk[600];
    (void)state;

    assert_int_equal(crypto_key_export(rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_8, &pkcs8), CF_OK);
    assert_int_equal(crypto_key_export(rsa2048, PUB, KMIP_KEY_FORMAT_TYPE_X_509, &spki), CF_OK);
    assert_int_equal(crypto_key_export(rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_1, &pkcs1), CF_OK);
    /* a PKCS#8 blob is not PKCS#1, and the reverse */
    assert_int_equal(crypto_key_load(PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_1, 0, pkcs8.p, pkcs8.len, &k),
                     CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_key_load(PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_8, 0, pkcs1.p, pkcs1.len, &k),
                     CF_ERR_INVALID_FIELD);
    /* a public key is not a private key */
    assert_int_equal(crypto_key_load(PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_8, 0, spki.p, spki.len, &k),
                     CF_ERR_INVALID_FIELD);
    /* the algorithm must match */
    assert_int_equal(crypto_key_load(PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_8, KMIP_CRYPTOGRAPHIC_ALGORITHM_EC,
                                     pkcs8.p, pkcs8.len, &k),
                     CF_ERR_INVALID_FIELD);
    /* truncated and trailing bytes */
    assert_int_equal(crypto_key_load(PUB, KMIP_KEY_FORMAT_TYPE_X_509, 0, spki.p, spki.len - 1, &k),
                     CF_ERR_INVALID_FIELD);
    memcpy(junk, spki.p, spki.len);
    junk[spki.len] = 0;
    assert_int_equal(crypto_key_load(PUB, KMIP_KEY_FORMAT_TYPE_X_509, 0, junk, spki.len + 1, &k),
                     CF_ERR_INVALID_FIELD);
    /* formats that do not apply */
    assert_int_equal(crypto_key_load(PUB, KMIP_KEY_FORMAT_TYPE_PKCS_8, 0, spki.p, spki.len, &k),
                     CF_ERR_FORMAT);
    assert_int_equal(crypto_key_load(PUB, KMIP_KEY_FORMAT_TYPE_RAW, 0, spki.p, spki.len, &k),
                     CF_ERR_FORMAT);
    assert_int_equal(crypto_key_export(rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_X_509, &x), CF_ERR_FORMAT);
    assert_int_equal(crypto_key_export(rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY, &x),
                     CF_ERR_FORMAT);
    assert_int_equal(crypto_key_export(ecp256, PUB, KMIP_KEY_FORMAT_TYPE_PKCS_1, &x), CF_ERR_FORMAT);
    assert_int_equal(crypto_key_export(ecp256, PRIV, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PRIVATE_KEY,
                                       &x),
                     CF_ERR_FORMAT);
    assert_null(k);
    cf_secret_free(&pkcs8);
    cf_secret_free(&spki);
    cf_secret_free(&pkcs1);
}

/* A public key only: exporting its private half is refused. */
static void test_public_only(void **state)
{
    cf_secret spki = {0}, x = {0};
    EVP_PKEY *k = NULL;
    (void)state;
    assert_int_equal(crypto_key_export(ecp256, KMIP_OBJECT_TYPE_PUBLIC_KEY, KMIP_KEY_FORMAT_TYPE_X_509,
                                       &spki),
                     CF_OK);
    assert_int_equal(crypto_key_load(KMIP_OBJECT_TYPE_PUBLIC_KEY, KMIP_KEY_FORMAT_TYPE_X_509,
                                     KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDSA, spki.p, spki.len, &k),
                     CF_OK);
    assert_false(crypto_key_has_private(k));
    assert_true(crypto_key_has_private(ecp256));
    assert_int_equal(crypto_key_export(k, KMIP_OBJECT_TYPE_PRIVATE_KEY, KMIP_KEY_FORMAT_TYPE_PKCS_8, &x),
                     CF_ERR_FORMAT);
    EVP_PKEY_free(k);
    cf_secret_free(&spki);
}

static void test_key_info_and_generation(void **state)
{
    uint32_t alg, curve;
    int32_t bits;
    EVP_PKEY *k = NULL;
    (void)state;
    assert_int_equal(crypto_key_info(rsa2048, &alg, &bits, &curve), CF_OK);
    assert_int_equal(alg, KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA);
    assert_int_equal(bits, 2048);
    assert_int_equal(curve, 0);
    assert_int_equal(crypto_key_info(ecp256, &alg, &bits, &curve), CF_OK);
    assert_int_equal(alg, KMIP_CRYPTOGRAPHIC_ALGORITHM_EC);
    assert_int_equal(bits, 256);
    assert_int_equal(curve, KMIP_RECOMMENDED_CURVE_P_256);
    assert_int_equal(crypto_ec_generate(KMIP_RECOMMENDED_CURVE_P_521, &k), CF_OK);
    assert_int_equal(crypto_key_info(k, &alg, &bits, &curve), CF_OK);
    assert_int_equal(bits, 521);
    assert_int_equal(curve, KMIP_RECOMMENDED_CURVE_P_521);
    EVP_PKEY_free(k);
    assert_int_equal(crypto_ec_generate(KMIP_RECOMMENDED_CURVE_P_192, &k), CF_ERR_UNSUPPORTED);
    assert_int_equal(crypto_rsa_generate(1000, &k), CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_rsa_generate(8192, &k), CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_rsa_generate(512, &k), CF_ERR_INVALID_FIELD);
}

static void test_sym_check(void **state)
{
    size_t n = 0;
    const char *why = NULL;
    (void)state;
    assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 192, &n, &why), CF_OK);
    assert_int_equal(n, 24);
    assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 64, &n, &why),
                     CF_ERR_INVALID_FIELD);
    assert_non_null(why);
    assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES, 168, &n, &why), CF_OK);
    assert_int_equal(n, 24);
    assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES, 192, &n, &why), CF_OK);
    assert_int_equal(n, 24);
    assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES, 180, &n, &why),
                     CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256, 256, &n, &why), CF_OK);
    assert_int_equal(n, 32);
    assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256, 100, &n, &why),
                     CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA512, 260, &n, &why),
                     CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM_CHACHA20, 256, &n, &why), CF_OK);
    assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM_CHACHA20, 128, &n, &why),
                     CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, 2048, &n, &why),
                     CF_ERR_INVALID_FIELD);
    /* Blowfish exists only through the legacy provider */
    if (crypto_legacy_available())
        assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM_BLOWFISH, 128, &n, &why), CF_OK);
    else
        assert_int_equal(crypto_sym_check(KMIP_CRYPTOGRAPHIC_ALGORITHM_BLOWFISH, 128, &n, &why),
                         CF_ERR_INVALID_FIELD);
}

static void test_sha256(void **state)
{
    uint8_t d[32], want[32];
    (void)state;
    unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, sizeof want);
    assert_int_equal(crypto_sha256((const uint8_t *)"abc", 3, d), CF_OK);
    assert_memory_equal(d, want, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aes_key_wrap_vectors),
        cmocka_unit_test(test_aes_key_wrap_refusals),
        cmocka_unit_test(test_rsa_oaep_round_trip),
        cmocka_unit_test(test_rsa_oaep_refusals),
        cmocka_unit_test(test_format_round_trips),
        cmocka_unit_test(test_format_refusals),
        cmocka_unit_test(test_public_only),
        cmocka_unit_test(test_key_info_and_generation),
        cmocka_unit_test(test_sym_check),
        cmocka_unit_test(test_sha256),
    };
    return cmocka_run_group_tests_name("crypto_keys", tests, group_setup, group_teardown);
}
