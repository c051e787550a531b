/*
 * KMIP-level tests through kmip_handle: Create Key Pair (links, masks,
 * formats), ReKey and ReKey Key Pair (links, names, dates), Get with a Key
 * Wrapping Specification (AES key wrap, RSA-OAEP; unwrapped here and
 * compared with a plain Get) and Register of wrapped keys.
 */
#include "objects_util.h"

static void test_create_key_pair(void **state)
{
    const ttlv_item *p;
    char *priv, *pub;
    (void)state;
    p = payload_of(ckp_rsa_1x(2048, true));
    priv = text_of(F, p, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER);
    pub = text_of(F, p, KMIP_TAG_PUBLIC_KEY_UNIQUE_IDENTIFIER);
    assert_string_equal(link_of(priv, KMIP_LINK_TYPE_PUBLIC_KEY_LINK), pub);
    assert_string_equal(link_of(pub, KMIP_LINK_TYPE_PRIVATE_KEY_LINK), priv);
    assert_int_equal(int_attr(priv, "Cryptographic Usage Mask"), KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN);
    assert_int_equal(int_attr(pub, "Cryptographic Usage Mask"), KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY);
    assert_int_equal(int_attr(pub, "Cryptographic Length"), 2048);
    assert_int_equal(count_attr(priv, "Name"), 1);
    assert_int_equal(count_attr(pub, "Name"), 0);
    assert_int_equal(count_attr(priv, "Digest"), 1);
    assert_int_equal(stored_format(priv, KMIP_TAG_PRIVATE_KEY), KMIP_KEY_FORMAT_TYPE_PKCS_8);
    assert_int_equal(stored_format(pub, KMIP_TAG_PUBLIC_KEY), KMIP_KEY_FORMAT_TYPE_X_509);
    /* the public key converts to PKCS#1 */
    payload_of(do_get(pub, KMIP_KEY_FORMAT_TYPE_PKCS_1, NULL));

    p = payload_of(ckp_ec_2x(KMIP_RECOMMENDED_CURVE_P_384));
    priv = text_of(F, p, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER);
    pub = text_of(F, p, KMIP_TAG_PUBLIC_KEY_UNIQUE_IDENTIFIER);
    assert_string_equal(link_of(priv, KMIP_LINK_TYPE_PUBLIC_KEY_LINK), pub);
    assert_int_equal(int_attr(priv, "Cryptographic Length"), 384);
    assert_int_equal(stored_format(priv, KMIP_TAG_PRIVATE_KEY), KMIP_KEY_FORMAT_TYPE_PKCS_8);
    payload_of(do_get(priv, KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY, NULL));
    payload_of(do_get(pub, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PUBLIC_KEY, NULL));

    /* refusals */
    assert_int_equal(reason_of(ckp_rsa_1x(2048, false)), KMIP_RESULT_REASON_MISSING_DATA);
    assert_int_equal(reason_of(ckp_rsa_1x(1000, true)), KMIP_RESULT_REASON_INVALID_FIELD);
    assert_int_equal(reason_of(ckp_rsa_1x(8192, true)), KMIP_RESULT_REASON_INVALID_FIELD);
    assert_int_equal(reason_of(ckp_ec_2x(KMIP_RECOMMENDED_CURVE_P_192)), KMIP_RESULT_REASON_INVALID_FIELD);
}

static void test_rekey(void **state)
{
    char *old = create_aes(256, KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT, true, "rekeyed", NULL);
    const int64_t hour = 3600;
    const ttlv_item *p;
    const uint8_t *k1, *k2;
    size_t l1, l2;
    char *nk, *nk2;
    (void)state;
    p = payload_of(rekey(old, NULL, false));
    nk = text_of(F, p, KMIP_TAG_UNIQUE_IDENTIFIER);
    assert_string_not_equal(nk, old);
    assert_string_equal(link_of(old, KMIP_LINK_TYPE_REPLACEMENT_OBJECT_LINK), nk);
    assert_string_equal(link_of(nk, KMIP_LINK_TYPE_REPLACED_OBJECT_LINK), old);
    /* 1.4 Table 173: the names move to the replacement */
    assert_int_equal(count_attr(old, "Name"), 0);
    assert_int_equal(count_attr(nk, "Name"), 1);
    assert_int_equal(int_attr(nk, "Cryptographic Length"), 256);
    assert_int_equal(int_attr(nk, "Cryptographic Usage Mask"), KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT);
    assert_int_equal(count_attr(nk, "Digest"), 1);
    k1 = raw_key(old, &l1);
    k2 = raw_key(nk, &l2);
    assert_int_equal(l1, 32);
    assert_int_equal(l2, 32);
    assert_memory_not_equal(k1, k2, 32);
    /* the copied Activation Date keeps it Active */
    assert_int_equal(ttlv_child(ttlv_child(get_attrs(nk, "State"), KMIP_TAG_ATTRIBUTE),
                                KMIP_TAG_ATTRIBUTE_VALUE)->v.u32, KMIP_STATE_ACTIVE);
    /* an Offset: Activation Date = now + offset, so Pre-Active */
    nk2 = text_of(F, payload_of(rekey(nk, &hour, false)), KMIP_TAG_UNIQUE_IDENTIFIER);
    assert_int_equal(ttlv_child(ttlv_child(get_attrs(nk2, "State"), KMIP_TAG_ATTRIBUTE),
                                KMIP_TAG_ATTRIBUTE_VALUE)->v.u32, KMIP_STATE_PRE_ACTIVE);
    /* refusals: Offset with dates (11.5 Invalid Message), not a symmetric key */
    assert_int_equal(reason_of(rekey(nk, &hour, true)), KMIP_RESULT_REASON_INVALID_MESSAGE);
    {
        const ttlv_item *kp = payload_of(ckp_ec_2x(KMIP_RECOMMENDED_CURVE_P_256));
        assert_int_equal(reason_of(rekey(text_of(F, kp, KMIP_TAG_PUBLIC_KEY_UNIQUE_IDENTIFIER), NULL, false)),
                         KMIP_RESULT_REASON_PERMISSION_DENIED);
    }
    assert_int_equal(reason_of(rekey("no-such-key", NULL, false)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
}

static void test_rekey_key_pair(void **state)
{
    const ttlv_item *p = payload_of(ckp_rsa_1x(1024, true));
    char *priv = text_of(F, p, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER);
    char *pub = text_of(F, p, KMIP_TAG_PUBLIC_KEY_UNIQUE_IDENTIFIER);
    char *npriv, *npub;
    req r;
    (void)state;
    req_one(&r, 1, 4, KMIP_OPERATION_RE_KEY_KEY_PAIR, NULL);
    ttlv_w_cstr(&r.w, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER, priv);
    p = payload_of(send_one(F, &r));
    npriv = text_of(F, p, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER);
    npub = text_of(F, p, KMIP_TAG_PUBLIC_KEY_UNIQUE_IDENTIFIER);
    assert_string_equal(link_of(priv, KMIP_LINK_TYPE_REPLACEMENT_OBJECT_LINK), npriv);
    assert_string_equal(link_of(pub, KMIP_LINK_TYPE_REPLACEMENT_OBJECT_LINK), npub);
    assert_string_equal(link_of(npriv, KMIP_LINK_TYPE_REPLACED_OBJECT_LINK), priv);
    assert_string_equal(link_of(npriv, KMIP_LINK_TYPE_PUBLIC_KEY_LINK), npub);
    assert_string_equal(link_of(npub, KMIP_LINK_TYPE_PRIVATE_KEY_LINK), npriv);
    assert_int_equal(int_attr(npub, "Cryptographic Length"), 1024);
    assert_int_equal(int_attr(npub, "Cryptographic Usage Mask"), KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY);
    assert_int_equal(count_attr(npriv, "Name"), 1);
    assert_int_equal(count_attr(priv, "Name"), 0);
}

/* ------------------------------------------------------------- wrapping */
static ttlv_item *kws(const char *kek, uint32_t mode, uint32_t padding, uint32_t hash, int encoding)
{
    cf_arena *a = F->arena;
    ttlv_item *s = ttlv_new_struct(a, KMIP_TAG_KEY_WRAPPING_SPECIFICATION);
    ttlv_item *eki = ttlv_new_struct(a, KMIP_TAG_ENCRYPTION_KEY_INFORMATION);
    ttlv_append(s, ttlv_new_enum(a, KMIP_TAG_WRAPPING_METHOD, KMIP_WRAPPING_METHOD_ENCRYPT));
    ttlv_append(eki, ttlv_new_text(a, KMIP_TAG_UNIQUE_IDENTIFIER, kek, strlen(kek)));
    if (mode || padding) {
        ttlv_item *cp = ttlv_new_struct(a, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
        if (mode)
            ttlv_append(cp, ttlv_new_enum(a, KMIP_TAG_BLOCK_CIPHER_MODE, mode));
        if (padding)
            ttlv_append(cp, ttlv_new_enum(a, KMIP_TAG_PADDING_METHOD, padding));
        if (hash)
            ttlv_append(cp, ttlv_new_enum(a, KMIP_TAG_HASHING_ALGORITHM, hash));
        ttlv_append(eki, cp);
    }
    ttlv_append(s, eki);
    if (encoding)
        ttlv_append(s, ttlv_new_enum(a, KMIP_TAG_ENCODING_OPTION, (uint32_t)encoding));
    return s;
}

/* The wrapped Key Value bytes of a Get with kws on uid. */
static const ttlv_item *wrapped_block(const char *uid, const ttlv_item *spec)
{
    const ttlv_item *p = payload_of(do_get(uid, 0, spec));
    const ttlv_item *kb = ttlv_child(ttlv_child(p, KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK);
    assert_non_null(ttlv_child(kb, KMIP_TAG_KEY_WRAPPING_DATA));
    assert_int_equal(ttlv_child(kb, KMIP_TAG_KEY_VALUE)->type, TTLV_BYTE_STRING);
    return kb;
}

static void test_get_wrapped_aes(void **state)
{
    ttlv_item *nistkw = ttlv_new_struct(F->arena, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
    char *kek, *data;
    const uint8_t *kekb, *datab;
    size_t kekl, datal;
    const ttlv_item *kb, *kv, *dec;
    cf_secret un = {0};
    (void)state;
    ttlv_append(nistkw, ttlv_new_enum(F->arena, KMIP_TAG_BLOCK_CIPHER_MODE,
                                      KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP));
    kek = create_aes(256, KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY | KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY,
                     true, NULL, nistkw);
    data = create_aes(128, KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT, false, NULL, NULL);
    kekb = raw_key(kek, &kekl);
    datab = raw_key(data, &datal);
    /* TTLV encoding (default): the wrapped bytes are the Key Value structure */
    kb = wrapped_block(data, kws(kek, KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP, 0, 0, 0));
    kv = ttlv_child(kb, KMIP_TAG_KEY_VALUE);
    assert_null(ttlv_child(ttlv_child(kb, KMIP_TAG_KEY_WRAPPING_DATA), KMIP_TAG_ENCODING_OPTION));
    assert_int_equal(crypto_aes_unwrap(kekb, kekl, false, kv->v.s.p, kv->v.s.len, &un), CF_OK);
    assert_int_equal(ttlv_decode(un.p, un.len, NULL, F->arena, (ttlv_item **)&dec, NULL), CF_OK);
    cf_secret_free(&un);
    assert_int_equal(dec->tag, KMIP_TAG_KEY_VALUE);
    assert_int_equal(ttlv_child(dec, KMIP_TAG_KEY_MATERIAL)->v.s.len, 16);
    assert_memory_equal(ttlv_child(dec, KMIP_TAG_KEY_MATERIAL)->v.s.p, datab, 16);
    /* No Encoding: the key bytes themselves; RFC 5649 by the key's params? no:
     * the request's parameters must match the KEK's (NIST Key Wrap). */
    kb = wrapped_block(data, kws(kek, 0, 0, 0, KMIP_ENCODING_OPTION_NO_ENCODING));
    kv = ttlv_child(kb, KMIP_TAG_KEY_VALUE);
    assert_int_equal(kv->v.s.len, 24);
    assert_int_equal(crypto_aes_unwrap(kekb, kekl, false, kv->v.s.p, kv->v.s.len, &un), CF_OK);
    assert_int_equal(un.len, 16);
    assert_memory_equal(un.p, datab, 16);
    cf_secret_free(&un);
    /* refusals (1.4 11.12) */
    assert_int_equal(reason_of(do_get(data, 0, kws(kek, KMIP_BLOCK_CIPHER_MODE_AESKEYWRAPPADDING, 0, 0, 0))),
                     KMIP_RESULT_REASON_ITEM_NOT_FOUND);
    assert_int_equal(reason_of(do_get(data, 0, kws("no-such-kek", 0, 0, 0, 0))),
                     KMIP_RESULT_REASON_ITEM_NOT_FOUND);
    {
        char *nowrap = create_aes(256, KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT, true, NULL, NULL);
        char *preactive = create_aes(256, KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY, false, NULL, NULL);
        ttlv_item *o = ttlv_new_struct(F->arena, KMIP_TAG_SECRET_DATA);
        char *secret;
        assert_int_equal(reason_of(do_get(data, 0, kws(nowrap, 0, 0, 0, 0))),
                         KMIP_RESULT_REASON_PERMISSION_DENIED);
        assert_int_equal(reason_of(do_get(data, 0, kws(preactive, 0, 0, 0, 0))),
                         KMIP_RESULT_REASON_PERMISSION_DENIED);
        ttlv_append(o, ttlv_new_enum(F->arena, KMIP_TAG_SECRET_DATA_TYPE, KMIP_SECRET_DATA_TYPE_SEED));
        ttlv_append(o, key_block(KMIP_KEY_FORMAT_TYPE_OPAQUE, bytes_km(datab, 16), 0, 0));
        secret = text_of(F, payload_of(do_register(KMIP_OBJECT_TYPE_SECRET_DATA, o, 1, 4, NULL)),
                        KMIP_TAG_UNIQUE_IDENTIFIER);
        assert_int_equal(reason_of(do_get(data, 0, kws(secret, 0, 0, 0, 0))),
                         KMIP_RESULT_REASON_ILLEGAL_OPERATION);
        /* Secret Data can itself be wrapped (No Encoding) */
        {
            const ttlv_item *p = payload_of(do_get(secret, 0, kws(kek, 0, 0, 0, KMIP_ENCODING_OPTION_NO_ENCODING)));
            kb = ttlv_child(ttlv_child(p, KMIP_TAG_SECRET_DATA), KMIP_TAG_KEY_BLOCK);
            assert_non_null(ttlv_child(kb, KMIP_TAG_KEY_WRAPPING_DATA));
        }
    }
}

static void test_get_wrapped_rsa_oaep(void **state)
{
    const uint32_t PUB = KMIP_OBJECT_TYPE_PUBLIC_KEY;
    ttlv_item *o = wrap_obj(KMIP_TAG_PUBLIC_KEY,
                            key_block(KMIP_KEY_FORMAT_TYPE_X_509, der_km(rsa2048, PUB, KMIP_KEY_FORMAT_TYPE_X_509),
                                      KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, 2048));
    char *pub, *data;
    const uint8_t *datab;
    size_t datal;
    const ttlv_item *kb, *kv;
    cf_secret un = {0};
    req r;
    (void)state;
    req_one(&r, 1, 4, KMIP_OPERATION_REGISTER, NULL);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, PUB);
    ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
    attr1_int(&r, "Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY);
    attr1_date(&r, "Activation Date", core_now() - 5);
    ttlv_w_end(&r.w);
    ttlv_w_item(&r.w, o);
    pub = text_of(F, payload_of(send_one(F, &r)), KMIP_TAG_UNIQUE_IDENTIFIER);
    data = create_aes(256, KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT, false, NULL, NULL);
    datab = raw_key(data, &datal);
    kb = wrapped_block(data, kws(pub, 0, KMIP_PADDING_METHOD_OAEP, KMIP_HASHING_ALGORITHM_SHA_256,
                                 KMIP_ENCODING_OPTION_NO_ENCODING));
    kv = ttlv_child(kb, KMIP_TAG_KEY_VALUE);
    assert_int_equal(kv->v.s.len, 256);
    assert_int_equal(crypto_rsa_oaep_unwrap(rsa2048, KMIP_HASHING_ALGORITHM_SHA_256,
                                            KMIP_HASHING_ALGORITHM_SHA_1, kv->v.s.p, kv->v.s.len, &un),
                     CF_OK);
    assert_int_equal(un.len, 32);
    assert_memory_equal(un.p, datab, 32);
    cf_secret_free(&un);
    /* PKCS#1 v1.5 is not a wrapping padding here */
    assert_int_equal(reason_of(do_get(data, 0, kws(pub, 0, KMIP_PADDING_METHOD_PKCS1_V1_5, 0, 0))),
                     KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED);
}

/* Register of wrapped keys: spec form (Key Value Byte String) and PyKMIP's
 * (Key Value structure around the wrapped bytes); Get returns them as given. */
static void test_register_wrapped(void **state)
{
    cf_arena *a = F->arena;
    uint8_t wrapped[40];
    ttlv_item *kb, *kwd, *eki, *o;
    char *uid;
    (void)state;
    for (size_t i = 0; i < sizeof wrapped; i++)
        wrapped[i] = (uint8_t)(0xA0 + i);
    for (int form = 0; form < 2; form++) {
        kb = ttlv_new_struct(a, KMIP_TAG_KEY_BLOCK);
        ttlv_append(kb, ttlv_new_enum(a, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_RAW));
        if (form == 0) {
            ttlv_append(kb, ttlv_new_bytes(a, KMIP_TAG_KEY_VALUE, wrapped, sizeof wrapped));
        } else {
            ttlv_item *kv = ttlv_new_struct(a, KMIP_TAG_KEY_VALUE);
            ttlv_append(kv, bytes_km(wrapped, sizeof wrapped));
            ttlv_append(kb, kv);
        }
        ttlv_append(kb, ttlv_new_enum(a, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES));
        ttlv_append(kb, ttlv_new_int(a, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, 256));
        kwd = ttlv_new_struct(a, KMIP_TAG_KEY_WRAPPING_DATA);
        eki = ttlv_new_struct(a, KMIP_TAG_ENCRYPTION_KEY_INFORMATION);
        ttlv_append(kwd, ttlv_new_enum(a, KMIP_TAG_WRAPPING_METHOD, KMIP_WRAPPING_METHOD_ENCRYPT));
        ttlv_append(eki, ttlv_new_text(a, KMIP_TAG_UNIQUE_IDENTIFIER, "elsewhere", 9));
        ttlv_append(kwd, eki);
        ttlv_append(kwd, ttlv_new_enum(a, KMIP_TAG_ENCODING_OPTION, KMIP_ENCODING_OPTION_NO_ENCODING));
        ttlv_append(kb, kwd);
        o = wrap_obj(KMIP_TAG_SYMMETRIC_KEY, kb);
        uid = register_round_trip(KMIP_OBJECT_TYPE_SYMMETRIC_KEY, o);
        assert_int_equal(int_attr(uid, "Cryptographic Length"), 256);
        assert_int_equal(count_attr(uid, "Digest"), 0);
        assert_int_equal(reason_of(do_get(uid, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY, NULL)),
                         KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_key_pair),
        cmocka_unit_test(test_rekey),
        cmocka_unit_test(test_rekey_key_pair),
        cmocka_unit_test(test_get_wrapped_aes),
        cmocka_unit_test(test_get_wrapped_rsa_oaep),
        cmocka_unit_test(test_register_wrapped),
    };
    return cmocka_run_group_tests_name("pairs", tests, kmip_setup, kmip_teardown);
}
