/*
 * KMIP-level tests of objects through kmip_handle: Register of every object
 * type and Get returning it byte-identical, Digest, Register refusals with
 * their Result Reasons, Get format conversions, Create's algorithms.
 */
#include "objects_util.h"

static void test_register_every_type_get_identical(void **state)
{
    const uint32_t PRIV = KMIP_OBJECT_TYPE_PRIVATE_KEY, PUB = KMIP_OBJECT_TYPE_PUBLIC_KEY;
    const uint32_t RSA = KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, EC = KMIP_CRYPTOGRAPHIC_ALGORITHM_EC;
    uint8_t k[32];
    cf_arena *a;
    ttlv_item *o, *km;
    (void)state;
    a = F->arena;
    for (size_t i = 0; i < sizeof k; i++)
        k[i] = (uint8_t)i;
    /* Symmetric Key, Raw and Transparent */
    register_round_trip(KMIP_OBJECT_TYPE_SYMMETRIC_KEY,
                        wrap_obj(KMIP_TAG_SYMMETRIC_KEY,
                                 key_block(KMIP_KEY_FORMAT_TYPE_RAW, bytes_km(k, 32),
                                           KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 256)));
    km = ttlv_new_struct(a, KMIP_TAG_KEY_MATERIAL);
    ttlv_append(km, ttlv_new_bytes(a, KMIP_TAG_KEY, k, 16));
    register_round_trip(KMIP_OBJECT_TYPE_SYMMETRIC_KEY,
                        wrap_obj(KMIP_TAG_SYMMETRIC_KEY,
                                 key_block(KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY, km,
                                           KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 128)));
    /* Symmetric key without algorithm/length in the Key Block: kept verbatim */
    register_round_trip(KMIP_OBJECT_TYPE_SYMMETRIC_KEY,
                        wrap_obj(KMIP_TAG_SYMMETRIC_KEY,
                                 key_block(KMIP_KEY_FORMAT_TYPE_RAW, bytes_km(k, 24),
                                           KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 192)));
    /* Private and public keys in every format */
    register_round_trip(PRIV, wrap_obj(KMIP_TAG_PRIVATE_KEY,
                                       key_block(KMIP_KEY_FORMAT_TYPE_PKCS_8,
                                                 der_km(rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_8), RSA, 2048)));
    register_round_trip(PRIV, wrap_obj(KMIP_TAG_PRIVATE_KEY,
                                       key_block(KMIP_KEY_FORMAT_TYPE_PKCS_1,
                                                 der_km(rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_1), RSA, 2048)));
    register_round_trip(PRIV, wrap_obj(KMIP_TAG_PRIVATE_KEY,
                                       key_block(KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PRIVATE_KEY,
                                                 transparent_km(rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PRIVATE_KEY),
                                                 RSA, 2048)));
    register_round_trip(PRIV, wrap_obj(KMIP_TAG_PRIVATE_KEY,
                                       key_block(KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY,
                                                 der_km(ecp256, PRIV, KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY), EC, 256)));
    register_round_trip(PRIV, wrap_obj(KMIP_TAG_PRIVATE_KEY,
                                       key_block(KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PRIVATE_KEY,
                                                 transparent_km(ecp256, PRIV, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PRIVATE_KEY),
                                                 EC, 256)));
    register_round_trip(PUB, wrap_obj(KMIP_TAG_PUBLIC_KEY,
                                      key_block(KMIP_KEY_FORMAT_TYPE_X_509,
                                                der_km(rsa2048, PUB, KMIP_KEY_FORMAT_TYPE_X_509), RSA, 2048)));
    register_round_trip(PUB, wrap_obj(KMIP_TAG_PUBLIC_KEY,
                                      key_block(KMIP_KEY_FORMAT_TYPE_PKCS_1,
                                                der_km(rsa2048, PUB, KMIP_KEY_FORMAT_TYPE_PKCS_1), RSA, 2048)));
    register_round_trip(PUB, wrap_obj(KMIP_TAG_PUBLIC_KEY,
                                      key_block(KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PUBLIC_KEY,
                                                transparent_km(ecp256, PUB, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PUBLIC_KEY),
                                                EC, 256)));
    /* Secret Data (password), Opaque Object, Split Key */
    o = ttlv_new_struct(a, KMIP_TAG_SECRET_DATA);
    ttlv_append(o, ttlv_new_enum(a, KMIP_TAG_SECRET_DATA_TYPE, KMIP_SECRET_DATA_TYPE_PASSWORD));
    ttlv_append(o, key_block(KMIP_KEY_FORMAT_TYPE_OPAQUE, bytes_km((const uint8_t *)"s3cret!", 7), 0, 0));
    register_round_trip(KMIP_OBJECT_TYPE_SECRET_DATA, o);
    o = ttlv_new_struct(a, KMIP_TAG_OPAQUE_OBJECT);
    ttlv_append(o, ttlv_new_enum(a, KMIP_TAG_OPAQUE_DATA_TYPE, 0x80000001u));
    ttlv_append(o, ttlv_new_bytes(a, KMIP_TAG_OPAQUE_DATA_VALUE, k, 5));
    register_round_trip(KMIP_OBJECT_TYPE_OPAQUE_OBJECT, o);
    o = ttlv_new_struct(a, KMIP_TAG_SPLIT_KEY);
    ttlv_append(o, ttlv_new_int(a, KMIP_TAG_SPLIT_KEY_PARTS, 4));
    ttlv_append(o, ttlv_new_int(a, KMIP_TAG_KEY_PART_IDENTIFIER, 1));
    ttlv_append(o, ttlv_new_int(a, KMIP_TAG_SPLIT_KEY_THRESHOLD, 2));
    ttlv_append(o, ttlv_new_enum(a, KMIP_TAG_SPLIT_KEY_METHOD, KMIP_SPLIT_KEY_METHOD_XOR));
    ttlv_append(o, key_block(KMIP_KEY_FORMAT_TYPE_RAW, bytes_km(k, 16), KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 128));
    register_round_trip(KMIP_OBJECT_TYPE_SPLIT_KEY, o);
}

/* A self-signed certificate for the EC key. */
static void make_cert(uint8_t **der, int *len)
{
    X509 *x = X509_new();
    X509_NAME *n;
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, ecp256);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"keys test", -1, -1, 0);
    X509_set_issuer_name(x, n);
    assert_true(X509_sign(x, ecp256, EVP_sha256()) > 0);
    *der = NULL;
    *len = i2d_X509(x, der);
    assert_true(*len > 0);
    X509_free(x);
}

static void test_register_certificate_and_digest(void **state)
{
    uint8_t *der, d[32];
    int dl;
    cf_arena *a = F->arena;
    ttlv_item *o = ttlv_new_struct(a, KMIP_TAG_CERTIFICATE);
    const ttlv_item *p, *attr, *v;
    char *uid;
    req r;
    (void)state;
    make_cert(&der, &dl);
    ttlv_append(o, ttlv_new_enum(a, KMIP_TAG_CERTIFICATE_TYPE, KMIP_CERTIFICATE_TYPE_X_509));
    ttlv_append(o, ttlv_new_bytes(a, KMIP_TAG_CERTIFICATE_VALUE, der, (size_t)dl));
    uid = register_round_trip(KMIP_OBJECT_TYPE_CERTIFICATE, o);
    /* Digest = SHA-256 of the Certificate Value (1.4 3.17) */
    req_one(&r, 1, 4, KMIP_OPERATION_GET_ATTRIBUTES, uid);
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, "Digest");
    p = payload_of(send_one(F, &r));
    attr = ttlv_child(p, KMIP_TAG_ATTRIBUTE);
    assert_non_null(attr);
    v = ttlv_child(attr, KMIP_TAG_ATTRIBUTE_VALUE);
    assert_int_equal(crypto_sha256(der, (size_t)dl, d), CF_OK);
    {
        const uint8_t *dv;
        size_t dvl;
        assert_int_equal(ttlv_get_bytes(v, KMIP_TAG_DIGEST_VALUE, &dv, &dvl), CF_OK);
        assert_int_equal(dvl, 32);
        assert_memory_equal(dv, d, 32);
        assert_null(ttlv_child(v, KMIP_TAG_KEY_FORMAT_TYPE));
    }
    /* a certificate has no key format but X.509 */
    assert_int_equal(reason_of(do_get(uid, KMIP_KEY_FORMAT_TYPE_PKCS_1, NULL)),
                     KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
    /* a broken certificate is refused */
    der[dl / 2] ^= 0xFF;
    o = ttlv_new_struct(a, KMIP_TAG_CERTIFICATE);
    ttlv_append(o, ttlv_new_enum(a, KMIP_TAG_CERTIFICATE_TYPE, KMIP_CERTIFICATE_TYPE_X_509));
    ttlv_append(o, ttlv_new_bytes(a, KMIP_TAG_CERTIFICATE_VALUE, der, (size_t)dl - 3));
    assert_int_equal(reason_of(do_register(KMIP_OBJECT_TYPE_CERTIFICATE, o, 1, 4, NULL)),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    OPENSSL_free(der);
}

static void test_register_refusals(void **state)
{
    const uint32_t PRIV = KMIP_OBJECT_TYPE_PRIVATE_KEY;
    uint8_t k[32] = {1};
    cf_secret pkcs8 = {0};
    ttlv_item *o;
    (void)state;
    /* an AES key of 15 bytes */
    o = wrap_obj(KMIP_TAG_SYMMETRIC_KEY, key_block(KMIP_KEY_FORMAT_TYPE_RAW, bytes_km(k, 15),
                                                   KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 120));
    assert_int_equal(reason_of(do_register(KMIP_OBJECT_TYPE_SYMMETRIC_KEY, o, 1, 4, NULL)),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    /* a length that does not match the bytes */
    o = wrap_obj(KMIP_TAG_SYMMETRIC_KEY, key_block(KMIP_KEY_FORMAT_TYPE_RAW, bytes_km(k, 16),
                                                   KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 256));
    assert_int_equal(reason_of(do_register(KMIP_OBJECT_TYPE_SYMMETRIC_KEY, o, 1, 4, NULL)),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    /* the object does not match the Object Type */
    assert_int_equal(reason_of(do_register(KMIP_OBJECT_TYPE_PUBLIC_KEY, o, 1, 4, NULL)),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    /* PKCS#8 bytes registered as PKCS#1 */
    assert_int_equal(crypto_key_export(rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_8, &pkcs8), CF_OK);
    o = wrap_obj(KMIP_TAG_PRIVATE_KEY, key_block(KMIP_KEY_FORMAT_TYPE_PKCS_1, bytes_km(pkcs8.p, pkcs8.len),
                                                 KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, 2048));
    assert_int_equal(reason_of(do_register(PRIV, o, 1, 4, NULL)), KMIP_RESULT_REASON_INVALID_FIELD);
    /* an RSA key declared EC, and an RSA key of the wrong length */
    o = wrap_obj(KMIP_TAG_PRIVATE_KEY, key_block(KMIP_KEY_FORMAT_TYPE_PKCS_8, bytes_km(pkcs8.p, pkcs8.len),
                                                 KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDSA, 256));
    assert_int_equal(reason_of(do_register(PRIV, o, 1, 4, NULL)), KMIP_RESULT_REASON_INVALID_FIELD);
    o = wrap_obj(KMIP_TAG_PRIVATE_KEY, key_block(KMIP_KEY_FORMAT_TYPE_PKCS_8, bytes_km(pkcs8.p, pkcs8.len),
                                                 KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, 4096));
    assert_int_equal(reason_of(do_register(PRIV, o, 1, 4, NULL)), KMIP_RESULT_REASON_INVALID_FIELD);
    /* an Object Type that cannot be registered / is unknown */
    assert_int_equal(reason_of(do_register(0x77, o, 1, 4, NULL)), KMIP_RESULT_REASON_INVALID_FIELD);
    cf_secret_free(&pkcs8);
}

/* Register RSA PKCS#1 without algorithm in the Key Block: filled in. */
static void test_register_fills_attributes_and_converts(void **state)
{
    const uint32_t PRIV = KMIP_OBJECT_TYPE_PRIVATE_KEY;
    ttlv_item *o = wrap_obj(KMIP_TAG_PRIVATE_KEY,
                            key_block(KMIP_KEY_FORMAT_TYPE_PKCS_1,
                                      der_km(rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_1), 0, 0));
    const ttlv_item *p, *kb, *kv, *km;
    char *uid;
    uint32_t alg, fmt;
    int32_t len;
    cf_secret want = {0};
    (void)state;
    uid = text_of(F, payload_of(do_register(PRIV, o, 1, 4, NULL)), KMIP_TAG_UNIQUE_IDENTIFIER);
    /* as registered: no algorithm in the Key Block */
    p = payload_of(do_get(uid, 0, NULL));
    assert_true(ttlv_equal(ttlv_child(p, KMIP_TAG_PRIVATE_KEY), o));
    /* converted to PKCS#8: the algorithm and length come from the material */
    p = payload_of(do_get(uid, KMIP_KEY_FORMAT_TYPE_PKCS_8, NULL));
    kb = ttlv_child(ttlv_child(p, KMIP_TAG_PRIVATE_KEY), KMIP_TAG_KEY_BLOCK);
    assert_int_equal(ttlv_get_enum(kb, KMIP_TAG_KEY_FORMAT_TYPE, &fmt), CF_OK);
    assert_int_equal(fmt, KMIP_KEY_FORMAT_TYPE_PKCS_8);
    assert_int_equal(ttlv_get_enum(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, &alg), CF_OK);
    assert_int_equal(alg, KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA);
    assert_int_equal(ttlv_get_int(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, &len), CF_OK);
    assert_int_equal(len, 2048);
    kv = ttlv_child(kb, KMIP_TAG_KEY_VALUE);
    km = ttlv_child(kv, KMIP_TAG_KEY_MATERIAL);
    assert_int_equal(crypto_key_export(rsa2048, PRIV, KMIP_KEY_FORMAT_TYPE_PKCS_8, &want), CF_OK);
    assert_int_equal(km->v.s.len, want.len);
    assert_memory_equal(km->v.s.p, want.p, want.len);
    cf_secret_free(&want);
    /* transparent: a Modulus of 2048 bits (+ a sign byte) */
    p = payload_of(do_get(uid, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PRIVATE_KEY, NULL));
    km = ttlv_child(ttlv_child(ttlv_child(ttlv_child(p, KMIP_TAG_PRIVATE_KEY), KMIP_TAG_KEY_BLOCK),
                               KMIP_TAG_KEY_VALUE),
                    KMIP_TAG_KEY_MATERIAL);
    assert_int_equal(ttlv_child(km, KMIP_TAG_MODULUS)->v.s.len, 264);
    /* not defined for a private key */
    assert_int_equal(reason_of(do_get(uid, KMIP_KEY_FORMAT_TYPE_X_509, NULL)),
                     KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
    assert_int_equal(reason_of(do_get(uid, KMIP_KEY_FORMAT_TYPE_RAW, NULL)),
                     KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
    assert_int_equal(reason_of(do_get(uid, KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY, NULL)),
                     KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
}

/* Create: the algorithms and lengths of crypto_sym_check, through KMIP. */
static const ttlv_item *create_sym(uint32_t alg, int32_t bits)
{
    req r;
    req_one(&r, 1, 4, KMIP_OPERATION_CREATE, NULL);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
    attr1_enum(&r, "Cryptographic Algorithm", alg);
    attr1_int(&r, "Cryptographic Length", bits);
    ttlv_w_end(&r.w);
    return send_one(F, &r);
}

static void test_create_algorithms(void **state)
{
    static const struct {
        uint32_t alg;
        int32_t bits;
        size_t bytes;
    } ok_cases[] = {
        {KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 192, 24},
        {KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA1, 160, 20},
        {KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA512, 512, 64},
        {KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES, 168, 24},
        {KMIP_CRYPTOGRAPHIC_ALGORITHM_CHACHA20, 256, 32},
    };
    size_t len;
    const uint8_t *k;
    char *uid;
    (void)state;
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        uid = text_of(F, payload_of(create_sym(ok_cases[i].alg, ok_cases[i].bits)),
                     KMIP_TAG_UNIQUE_IDENTIFIER);
        k = raw_key(uid, &len);
        assert_int_equal(len, ok_cases[i].bytes);
        assert_int_equal(count_attr(uid, "Digest"), 1);
        if (ok_cases[i].alg == KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES)
            for (size_t j = 0; j < len; j++) /* odd parity in every byte */
                assert_int_equal(__builtin_popcount(k[j]) & 1, 1);
    }
    assert_int_equal(reason_of(create_sym(KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 100)),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    assert_int_equal(reason_of(create_sym(KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256, 100)),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    assert_int_equal(reason_of(create_sym(KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, 2048)),
                     KMIP_RESULT_REASON_INVALID_FIELD);
    if (crypto_legacy_available())
        payload_of(create_sym(KMIP_CRYPTOGRAPHIC_ALGORITHM_BLOWFISH, 128));
    else
        assert_int_equal(reason_of(create_sym(KMIP_CRYPTOGRAPHIC_ALGORITHM_BLOWFISH, 128)),
                         KMIP_RESULT_REASON_INVALID_FIELD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_every_type_get_identical),
        cmocka_unit_test(test_register_certificate_and_digest),
        cmocka_unit_test(test_register_refusals),
        cmocka_unit_test(test_register_fills_attributes_and_converts),
        cmocka_unit_test(test_create_algorithms),
    };
    return cmocka_run_group_tests_name("objects", tests, kmip_setup, kmip_teardown);
}
