/*
 * Unit tests for the KMIP rules the OASIS profile cases (SKLC, OMOS, BL)
 * exercise, through kmip_handle without the network: version filtering of
 * nested fields, attributes that always have a value, single-valued and
 * unique-name refusals, Certificate Type on Register, Log and Check,
 * Response Too Large items, batch Undo. Each test cites the clause.
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
#include <openssl/x509.h>

#include "core/core.h"
#include "crypto/crypto_keys.h"
#include "kmip/kmip.h"
#include "ttlv/ttlv.h"
#include "support/kmip_fixture.h"

/* ---------------------------------------------------------- helpers */

/* Create an AES-256 key at major.minor (1.x Template Attribute or 2.x
 * Attributes), with a Name when name is not NULL; its uid (heap). */
static char *create_aes(struct fx *f, int major, int minor, const char *name)
{
    const char *uid;
    size_t len;
    req r;

    req_one(&r, major, minor, KMIP_OPERATION_CREATE, NULL);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    if (major < 2) {
        ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
        attr1_enum(&r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
        attr1_int(&r, "Cryptographic Length", 256);
        attr1_int(&r, "Cryptographic Usage Mask", 12);
        if (name)
            attr1_name(&r, name);
    } else {
        ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTES);
        ttlv_w_enum(&r.w, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
        ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, 256);
        ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, 12);
        if (name) {
            ttlv_w_begin(&r.w, KMIP_TAG_NAME);
            ttlv_w_cstr(&r.w, KMIP_TAG_NAME_VALUE, name);
            ttlv_w_enum(&r.w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
            ttlv_w_end(&r.w);
        }
    }
    ttlv_w_end(&r.w);
    assert_int_equal(ttlv_get_text(payload_of(send_one(f, &r)), KMIP_TAG_UNIQUE_IDENTIFIER, &uid,
                                   &len),
                     CF_OK);
    return strndup(uid, len);
}

/* The 1.x Attribute Value of the first instance of name in a Get
 * Attributes 1.x payload, or NULL. */
static const ttlv_item *attr1_value(const ttlv_item *p, const char *name)
{
    for (const ttlv_item *a = ttlv_child(p, KMIP_TAG_ATTRIBUTE); a; a = ttlv_next_same(a)) {
        const char *n;
        size_t nl;
        if (ttlv_get_text(a, KMIP_TAG_ATTRIBUTE_NAME, &n, &nl) == CF_OK && nl == strlen(name) &&
            memcmp(n, name, nl) == 0)
            return ttlv_child(a, KMIP_TAG_ATTRIBUTE_VALUE);
    }
    return NULL;
}

/* Get Attributes (every attribute) at 1.minor; the payload. */
static const ttlv_item *get_attrs1(struct fx *f, int minor, const char *uid)
{
    req r;
    req_one(&r, 1, minor, KMIP_OPERATION_GET_ATTRIBUTES, uid);
    return payload_of(send_one(f, &r));
}

/* Get Attributes at 2.minor; the Attributes structure. */
static const ttlv_item *get_attrs2(struct fx *f, int minor, const char *uid)
{
    const ttlv_item *attrs;
    req r;
    req_one(&r, 2, minor, KMIP_OPERATION_GET_ATTRIBUTES, uid);
    assert_int_equal(ttlv_get_struct(payload_of(send_one(f, &r)), KMIP_TAG_ATTRIBUTES, &attrs),
                     CF_OK);
    return attrs;
}

/* ------------------------------------------ 1. version filtering (nested) */

/* KMIP 1.0 section 3.12 Table 58: Digest { Hashing Algorithm, Digest Value };
 * 1.1 section 3.17 Table 70 adds Key Format Type. A 1.0 client never sees
 * it; a 1.1 client does. */
static void test_nested_fields_follow_the_version(void **state)
{
    struct fx *f = *state;
    char *uid = create_aes(f, 1, 0, NULL);
    const ttlv_item *d;
    uint32_t kf;
    req r;

    d = attr1_value(get_attrs1(f, 0, uid), "Digest");
    assert_non_null(d);
    assert_non_null(ttlv_child(d, KMIP_TAG_HASHING_ALGORITHM));
    assert_non_null(ttlv_child(d, KMIP_TAG_DIGEST_VALUE));
    assert_null(ttlv_child(d, KMIP_TAG_KEY_FORMAT_TYPE));
    assert_int_equal(d->nchildren, 2);

    d = attr1_value(get_attrs1(f, 1, uid), "Digest");
    assert_non_null(d);
    assert_int_equal(ttlv_get_enum(d, KMIP_TAG_KEY_FORMAT_TYPE, &kf), CF_OK);
    assert_int_equal(kf, KMIP_KEY_FORMAT_TYPE_RAW);

    /* 1.2 section 3.6 Table 54 adds Cryptographic Algorithm to the
     * Cryptographic Parameters; a 1.1 client gets the rest of the structure. */
    req_one(&r, 1, 2, KMIP_OPERATION_ADD_ATTRIBUTE, uid);
    attr1(&r, "Cryptographic Parameters");
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE_VALUE);
    ttlv_w_enum(&r.w, KMIP_TAG_BLOCK_CIPHER_MODE, KMIP_BLOCK_CIPHER_MODE_CBC);
    ttlv_w_enum(&r.w, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    ttlv_w_bool(&r.w, KMIP_TAG_RANDOM_IV, true);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    payload_of(send_one(f, &r));
    d = attr1_value(get_attrs1(f, 1, uid), "Cryptographic Parameters");
    assert_non_null(d);
    assert_int_equal(d->nchildren, 1); /* Random IV is a 1.2 tag */
    assert_non_null(ttlv_child(d, KMIP_TAG_BLOCK_CIPHER_MODE));
    d = attr1_value(get_attrs1(f, 2, uid), "Cryptographic Parameters");
    assert_int_equal(d->nchildren, 3);
    free(uid);
}

/* ------------------------------- 2. attributes that always have a value */

static bool bool_of(const ttlv_item *s, uint32_t tag)
{
    bool b = false;
    assert_int_equal(ttlv_get_bool(s, tag, &b), CF_OK);
    return b;
}

/* 2.1 sections 4.3, 4.23, 4.24, 4.26, 4.33, 4.44, 4.55, 4.56: present on
 * every new object with the defaults; older versions see only those they
 * define (1.4 sections 3.48-3.51; Fresh 1.1 section 3.34). */
static void test_always_present_attributes(void **state)
{
    struct fx *f = *state;
    char *uid = create_aes(f, 2, 1, NULL);
    const ttlv_item *a, *p;
    const uint8_t *sid;
    size_t sl;
    uint8_t want[32];
    int32_t mask;
    uint32_t kft;
    req r;

    a = get_attrs2(f, 1, uid);
    assert_false(bool_of(a, KMIP_TAG_SENSITIVE));
    assert_false(bool_of(a, KMIP_TAG_ALWAYS_SENSITIVE));
    assert_true(bool_of(a, KMIP_TAG_EXTRACTABLE));
    assert_false(bool_of(a, KMIP_TAG_NEVER_EXTRACTABLE));
    assert_true(bool_of(a, KMIP_TAG_FRESH));
    assert_int_equal(ttlv_get_int(a, KMIP_TAG_PROTECTION_STORAGE_MASK, &mask), CF_OK);
    assert_int_equal(mask, KMIP_PROTECTION_STORAGE_MASK_SOFTWARE);
    assert_int_equal(ttlv_get_enum(a, KMIP_TAG_KEY_FORMAT_TYPE, &kft), CF_OK);
    assert_int_equal(kft, KMIP_KEY_FORMAT_TYPE_RAW);
    assert_int_equal(ttlv_get_bytes(a, KMIP_TAG_SHORT_UNIQUE_IDENTIFIER, &sid, &sl), CF_OK);
    assert_int_equal(crypto_sha256((const uint8_t *)uid, strlen(uid), want), CF_OK);
    assert_int_equal(sl, 32);
    assert_memory_equal(sid, want, 32);

    /* 1.4: the four 1.4 attributes and Fresh, not the 2.x ones. */
    p = get_attrs1(f, 4, uid);
    assert_non_null(attr1_value(p, "Sensitive"));
    assert_non_null(attr1_value(p, "Always Sensitive"));
    assert_non_null(attr1_value(p, "Extractable"));
    assert_non_null(attr1_value(p, "Never Extractable"));
    assert_non_null(attr1_value(p, "Fresh"));
    assert_null(attr1_value(p, "Short Unique Identifier"));
    assert_null(attr1_value(p, "Protection Storage Mask"));
    assert_null(attr1_value(p, "Key Format Type"));
    /* 1.3: Fresh only. */
    p = get_attrs1(f, 3, uid);
    assert_null(attr1_value(p, "Sensitive"));
    assert_null(attr1_value(p, "Never Extractable"));
    assert_non_null(attr1_value(p, "Fresh"));

    /* Get serves the key: Fresh becomes False (2.1 4.24). */
    req_one(&r, 2, 1, KMIP_OPERATION_GET, uid);
    payload_of(send_one(f, &r));
    assert_false(bool_of(get_attrs2(f, 1, uid), KMIP_TAG_FRESH));

    /* A destroyed object keeps its metadata (2.1 6.1.15), Key Format Type
     * included (SKLC-O-1-21 step 4). */
    req_one(&r, 2, 1, KMIP_OPERATION_DESTROY, uid);
    payload_of(send_one(f, &r));
    a = get_attrs2(f, 1, uid);
    assert_int_equal(ttlv_get_enum(a, KMIP_TAG_KEY_FORMAT_TYPE, &kft), CF_OK);
    assert_int_equal(kft, KMIP_KEY_FORMAT_TYPE_RAW);
    free(uid);
}

/* Register a 2.x Secret Data (password) with extra 2.x attributes; uid. */
static char *register_secret(struct fx *f, bool sensitive, bool extractable)
{
    static const uint8_t pw[] = "correct horse";
    const char *uid;
    size_t len;
    req r;

    req_one(&r, 2, 1, KMIP_OPERATION_REGISTER, NULL);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SECRET_DATA);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTES);
    ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, KMIP_CRYPTOGRAPHIC_USAGE_MASK_DERIVE_KEY);
    ttlv_w_bool(&r.w, KMIP_TAG_SENSITIVE, sensitive);
    ttlv_w_bool(&r.w, KMIP_TAG_EXTRACTABLE, extractable);
    ttlv_w_end(&r.w);
    ttlv_w_begin(&r.w, KMIP_TAG_SECRET_DATA);
    ttlv_w_enum(&r.w, KMIP_TAG_SECRET_DATA_TYPE, KMIP_SECRET_DATA_TYPE_PASSWORD);
    ttlv_w_begin(&r.w, KMIP_TAG_KEY_BLOCK);
    ttlv_w_enum(&r.w, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_OPAQUE);
    ttlv_w_begin(&r.w, KMIP_TAG_KEY_VALUE);
    ttlv_w_bytes(&r.w, KMIP_TAG_KEY_MATERIAL, pw, sizeof pw - 1);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    assert_int_equal(ttlv_get_text(payload_of(send_one(f, &r)), KMIP_TAG_UNIQUE_IDENTIFIER, &uid,
                                   &len),
                     CF_OK);
    return strndup(uid, len);
}

static void set_bool2(struct fx *f, const char *uid, uint32_t tag, bool v)
{
    req r;
    req_one(&r, 2, 1, KMIP_OPERATION_SET_ATTRIBUTE, uid);
    ttlv_w_begin(&r.w, KMIP_TAG_NEW_ATTRIBUTE);
    ttlv_w_bool(&r.w, tag, v);
    ttlv_w_end(&r.w);
    payload_of(send_one(f, &r));
}

/* Sensitive: Get refused unless wrapped (2.1 4.55, Result Reason Sensitive);
 * Always Sensitive follows it down, never up (4.3). Extractable False: Get
 * refused (4.23, Not Extractable; 1.x before 1.4 has no such reason:
 * Permission Denied); Never Extractable follows it (4.33). */
static void test_sensitive_and_extractable_guard_get(void **state)
{
    struct fx *f = *state;
    char *s = register_secret(f, true, true), *x = register_secret(f, false, false);
    const ttlv_item *a;
    req r;

    a = get_attrs2(f, 1, s);
    assert_true(bool_of(a, KMIP_TAG_SENSITIVE));
    assert_true(bool_of(a, KMIP_TAG_ALWAYS_SENSITIVE));
    req_one(&r, 2, 1, KMIP_OPERATION_GET, s);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_SENSITIVE);
    req_one(&r, 1, 4, KMIP_OPERATION_GET, s);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_SENSITIVE);
    assert_true(bool_of(get_attrs2(f, 1, s), KMIP_TAG_FRESH)); /* not served */
    set_bool2(f, s, KMIP_TAG_SENSITIVE, false);
    req_one(&r, 2, 1, KMIP_OPERATION_GET, s);
    payload_of(send_one(f, &r));
    set_bool2(f, s, KMIP_TAG_SENSITIVE, true);
    a = get_attrs2(f, 1, s);
    assert_true(bool_of(a, KMIP_TAG_SENSITIVE));
    assert_false(bool_of(a, KMIP_TAG_ALWAYS_SENSITIVE));

    a = get_attrs2(f, 1, x);
    assert_false(bool_of(a, KMIP_TAG_EXTRACTABLE));
    assert_true(bool_of(a, KMIP_TAG_NEVER_EXTRACTABLE));
    req_one(&r, 2, 1, KMIP_OPERATION_GET, x);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_NOT_EXTRACTABLE);
    req_one(&r, 1, 3, KMIP_OPERATION_GET, x);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_PERMISSION_DENIED);
    set_bool2(f, x, KMIP_TAG_EXTRACTABLE, true);
    req_one(&r, 2, 1, KMIP_OPERATION_GET, x);
    payload_of(send_one(f, &r));
    set_bool2(f, x, KMIP_TAG_EXTRACTABLE, false);
    assert_false(bool_of(get_attrs2(f, 1, x), KMIP_TAG_NEVER_EXTRACTABLE));
    free(s);
    free(x);
}

/* --------------------------------------- 3. single-valued attributes */

/* 2.1 6.1.2 Table 169: adding an instance of a single-valued attribute
 * the object has is Attribute Single Valued (BL-M-5); the 1.x reason, 1.4
 * 11.15 Illegal Operation, is kmip_test's. */
static void test_add_single_valued_2x(void **state)
{
    struct fx *f = *state;
    char *uid = create_aes(f, 2, 1, NULL);
    req r;

    for (int i = 0; i < 2; i++) {
        req_one(&r, 2, 1, KMIP_OPERATION_ADD_ATTRIBUTE, uid);
        ttlv_w_begin(&r.w, KMIP_TAG_NEW_ATTRIBUTE);
        ttlv_w_cstr(&r.w, KMIP_TAG_DESCRIPTION, i == 0 ? "first" : "second");
        ttlv_w_end(&r.w);
        if (i == 0)
            payload_of(send_one(f, &r));
        else
            assert_int_equal(reason_of(send_one(f, &r)),
                             KMIP_RESULT_REASON_ATTRIBUTE_SINGLE_VALUED);
    }
    free(uid);
}

/* ------------------------------------------------------ 4. unique names */

static void name2(req *r, uint32_t tag, const char *v)
{
    ttlv_w_begin(&r->w, tag);
    ttlv_w_begin(&r->w, KMIP_TAG_NAME);
    ttlv_w_cstr(&r->w, KMIP_TAG_NAME_VALUE, v);
    ttlv_w_enum(&r->w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
    ttlv_w_end(&r->w);
    ttlv_w_end(&r->w);
}

/* The Result Reason of a Create of an AES key named `name` (0: success). */
static uint32_t create_named(struct fx *f, int major, int minor, const char *name)
{
    req r;
    req_begin(&r, major, minor, 1);
    item_begin(&r, KMIP_OPERATION_CREATE);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    if (major < 2) {
        ttlv_w_begin(&r.w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
        attr1_enum(&r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
        attr1_int(&r, "Cryptographic Length", 128);
        attr1_name(&r, name);
    } else {
        ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTES);
        ttlv_w_enum(&r.w, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
        ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, 128);
        ttlv_w_begin(&r.w, KMIP_TAG_NAME);
        ttlv_w_cstr(&r.w, KMIP_TAG_NAME_VALUE, name);
        ttlv_w_enum(&r.w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
        ttlv_w_end(&r.w);
    }
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    return result_of(f, 0);
}

/* How many objects Locate finds by this Name (2.1). */
static int32_t count_named(struct fx *f, const char *name)
{
    int32_t n = -1;
    req r;
    req_one(&r, 2, 1, KMIP_OPERATION_LOCATE, NULL);
    ttlv_w_int(&r.w, KMIP_TAG_MAXIMUM_ITEMS, 10); /* paging: Located Items answered */
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTES);
    ttlv_w_begin(&r.w, KMIP_TAG_NAME);
    ttlv_w_cstr(&r.w, KMIP_TAG_NAME_VALUE, name);
    ttlv_w_enum(&r.w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    assert_int_equal(ttlv_get_int(payload_of(send_one(f, &r)), KMIP_TAG_LOCATED_ITEMS, &n), CF_OK);
    return n;
}

/* "Names SHALL be unique" (2.1 4.32): 2.x Non Unique Name Attribute; 1.x
 * Invalid Field for new objects (1.4 11.2), Illegal Operation for Add and
 * Modify Attribute (11.15, 11.16). Destroyed objects free their names;
 * ReKey hands the names to the replacement (1.4 4.4 Table 173). */
static void test_names_are_unique(void **state)
{
    struct fx *f = *state;
    char *a = create_aes(f, 2, 1, "alpha"), *b = create_aes(f, 2, 1, "beta"), *nk;
    const ttlv_item *p;
    req r;

    assert_int_equal(create_named(f, 2, 1, "alpha"), KMIP_RESULT_REASON_NON_UNIQUE_NAME_ATTRIBUTE);
    assert_int_equal(create_named(f, 1, 4, "alpha"), KMIP_RESULT_REASON_INVALID_FIELD);
    assert_int_equal(count_named(f, "alpha"), 1);

    /* Add: to another object, and to the same one (BL-M-8 step 3). */
    req_one(&r, 1, 4, KMIP_OPERATION_ADD_ATTRIBUTE, b);
    attr1_name(&r, "alpha");
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_ILLEGAL_OPERATION);
    req_one(&r, 2, 1, KMIP_OPERATION_ADD_ATTRIBUTE, a);
    name2(&r, KMIP_TAG_NEW_ATTRIBUTE, "alpha");
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_NON_UNIQUE_NAME_ATTRIBUTE);
    /* Modify and Set to a name in use. */
    req_one(&r, 2, 1, KMIP_OPERATION_MODIFY_ATTRIBUTE, b);
    name2(&r, KMIP_TAG_NEW_ATTRIBUTE, "alpha");
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_NON_UNIQUE_NAME_ATTRIBUTE);
    req_one(&r, 2, 1, KMIP_OPERATION_SET_ATTRIBUTE, b);
    name2(&r, KMIP_TAG_NEW_ATTRIBUTE, "alpha");
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_NON_UNIQUE_NAME_ATTRIBUTE);
    /* Modify to its own name again, or a free one: fine. */
    req_one(&r, 2, 1, KMIP_OPERATION_MODIFY_ATTRIBUTE, b);
    name2(&r, KMIP_TAG_NEW_ATTRIBUTE, "beta");
    payload_of(send_one(f, &r));
    assert_int_equal(count_named(f, "alpha"), 1);
    assert_int_equal(count_named(f, "beta"), 1);

    /* ReKey moves "alpha" to the replacement. */
    req_one(&r, 2, 1, KMIP_OPERATION_RE_KEY, a);
    p = payload_of(send_one(f, &r));
    nk = strdup(text_of(f, p, KMIP_TAG_UNIQUE_IDENTIFIER));
    assert_int_equal(count_named(f, "alpha"), 1);
    assert_null(ttlv_child(get_attrs2(f, 1, a), KMIP_TAG_NAME));
    assert_non_null(ttlv_child(get_attrs2(f, 1, nk), KMIP_TAG_NAME));

    /* Create Key Pair naming both halves alike (1.4 4.2: Name is not
     * common to both keys): refused, nothing created. */
    req_one(&r, 2, 1, KMIP_OPERATION_CREATE_KEY_PAIR, NULL);
    ttlv_w_begin(&r.w, KMIP_TAG_COMMON_ATTRIBUTES);
    ttlv_w_enum(&r.w, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_EC);
    ttlv_w_begin(&r.w, KMIP_TAG_CRYPTOGRAPHIC_DOMAIN_PARAMETERS);
    ttlv_w_enum(&r.w, KMIP_TAG_RECOMMENDED_CURVE, KMIP_RECOMMENDED_CURVE_P_256);
    ttlv_w_end(&r.w);
    ttlv_w_begin(&r.w, KMIP_TAG_NAME);
    ttlv_w_cstr(&r.w, KMIP_TAG_NAME_VALUE, "pair");
    ttlv_w_enum(&r.w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_NON_UNIQUE_NAME_ATTRIBUTE);
    assert_int_equal(count_named(f, "pair"), 0);

    /* Destroyed (nk is Pre-Active): its name is free again. */
    req_one(&r, 2, 1, KMIP_OPERATION_DESTROY, nk);
    payload_of(send_one(f, &r));
    assert_int_equal(create_named(f, 2, 1, "alpha"), 0);
    free(a);
    free(b);
    free(nk);
}

/* ------------------------------------ 5. server-set attributes echoed */

/* A self-signed certificate, subject = issuer = CN=conform, O=Coffre. */
static uint8_t *make_cert(int *len)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_NAME *n;
    uint8_t *der = NULL;
    assert_non_null(k);
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 9);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"conform", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Coffre", -1, -1, 0);
    X509_set_issuer_name(x, n);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    *len = i2d_X509(x, &der);
    assert_true(*len > 0);
    X509_free(x);
    EVP_PKEY_free(k);
    return der;
}

static const ttlv_item *register_cert(struct fx *f, const uint8_t *der, int len,
                                      uint32_t attr_type)
{
    req r;
    req_one(&r, 2, 1, KMIP_OPERATION_REGISTER, NULL);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_CERTIFICATE);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTES);
    ttlv_w_enum(&r.w, KMIP_TAG_CERTIFICATE_TYPE, attr_type);
    ttlv_w_end(&r.w);
    ttlv_w_begin(&r.w, KMIP_TAG_CERTIFICATE);
    ttlv_w_enum(&r.w, KMIP_TAG_CERTIFICATE_TYPE, KMIP_CERTIFICATE_TYPE_X_509);
    ttlv_w_bytes(&r.w, KMIP_TAG_CERTIFICATE_VALUE, der, (size_t)len);
    ttlv_w_end(&r.w);
    return send_one(f, &r);
}

/* 2.1 section 4.7: Certificate Type is the server's. Given with the value
 * the server sets, it is accepted (BL-M-10); another value is Attribute
 * Read Only. The Certificate Attributes (4.6) come from the names. */
static void test_register_echoing_certificate_type(void **state)
{
    struct fx *f = *state;
    int len;
    uint8_t *der = make_cert(&len);
    const ttlv_item *a;
    const char *cn;
    size_t cl;
    int32_t clen;
    char *uid;

    assert_int_equal(reason_of(register_cert(f, der, len, KMIP_CERTIFICATE_TYPE_PGP)),
                     KMIP_RESULT_REASON_ATTRIBUTE_READ_ONLY);
    uid = strdup(text_of(f, payload_of(register_cert(f, der, len, KMIP_CERTIFICATE_TYPE_X_509)),
                         KMIP_TAG_UNIQUE_IDENTIFIER));
    a = get_attrs2(f, 1, uid);
    assert_int_equal(ttlv_count(a, KMIP_TAG_CERTIFICATE_TYPE), 1);
    assert_int_equal(ttlv_get_int(a, KMIP_TAG_CERTIFICATE_LENGTH, &clen), CF_OK);
    assert_int_equal(clen, len);
    assert_int_equal(ttlv_get_text(a, KMIP_TAG_CERTIFICATE_SUBJECT_CN, &cn, &cl), CF_OK);
    assert_memory_equal(cn, "conform", cl);
    assert_int_equal(ttlv_get_text(a, KMIP_TAG_CERTIFICATE_ISSUER_O, &cn, &cl), CF_OK);
    assert_memory_equal(cn, "Coffre", cl);
    /* 1.x has no such attributes (X.509 Certificate Subject instead). */
    assert_null(attr1_value(get_attrs1(f, 4, uid), "Certificate Subject CN"));
    OPENSSL_free(der);
    free(uid);
}

/* ------------------------------------------------------ 6. Log, Check */

/* 2.1 6.1.29: Log answers Success with an empty payload; the message is in
 * the server log with the identity, control characters escaped. Log does
 * not exist in 1.x (Operation Not Supported). */
static void test_log_operation(void **state)
{
    struct fx *f = *state;
    char path[128], buf[8192];
    const ttlv_item *p;
    FILE *lf;
    size_t n;
    req r;

    req_one(&r, 2, 1, KMIP_OPERATION_LOG, NULL);
    ttlv_w_cstr(&r.w, KMIP_TAG_LOG_MESSAGE, "Registered a key.\nFAKE line");
    p = payload_of(send_one(f, &r));
    assert_int_equal(p->nchildren, 0);
    req_one(&r, 2, 1, KMIP_OPERATION_LOG, NULL);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_MISSING_DATA);
    req_one(&r, 1, 4, KMIP_OPERATION_LOG, NULL);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED);

    snprintf(path, sizeof path, "%s/log", f->dir);
    assert_non_null(lf = fopen(path, "r"));
    n = fread(buf, 1, sizeof buf - 1, lf);
    fclose(lf);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "kmip log from "));
    assert_non_null(strstr(buf, "Registered a key.\\x0aFAKE line"));
    assert_null(strstr(buf, "\nFAKE line"));
}

static uint32_t check(struct fx *f, int major, int minor, const char *uid, int32_t mask,
                      int64_t count)
{
    req r;
    req_one(&r, major, minor, KMIP_OPERATION_CHECK, uid);
    if (mask >= 0)
        ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, mask);
    if (count >= 0)
        ttlv_w_long(&r.w, KMIP_TAG_USAGE_LIMITS_COUNT, count);
    send_one(f, &r);
    return result_of(f, 0);
}

/* Check (2.1 6.1.7, 1.4 4.10): Success with the Unique Identifier when the
 * use is allowed; a mask bit the key lacks is Incompatible Cryptographic
 * Usage Mask in 2.x (BL-M-3), Permission Denied in 1.x (1.4 11.11); more
 * than the Usage Limits leave is Usage Limit Exceeded. A refused Check
 * empties the ID Placeholder: the next item finds no object. */
static void test_check_operation(void **state)
{
    struct fx *f = *state;
    char *uid = create_aes(f, 2, 1, NULL); /* mask Encrypt | Decrypt */
    const ttlv_item *p;
    req r;

    assert_int_equal(check(f, 2, 1, uid, KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT, -1), 0);
    p = payload_of(nth_item(f, 0));
    assert_string_equal(text_of(f, p, KMIP_TAG_UNIQUE_IDENTIFIER), uid);
    assert_int_equal(check(f, 2, 1, uid, KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN, -1),
                     KMIP_RESULT_REASON_INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK);
    assert_int_equal(check(f, 1, 4, uid, KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN, -1),
                     KMIP_RESULT_REASON_PERMISSION_DENIED);
    assert_int_equal(check(f, 1, 0, uid, -1, 5), 0); /* no Usage Limits: not limited */

    req_one(&r, 2, 1, KMIP_OPERATION_SET_ATTRIBUTE, uid);
    ttlv_w_begin(&r.w, KMIP_TAG_NEW_ATTRIBUTE);
    ttlv_w_begin(&r.w, KMIP_TAG_USAGE_LIMITS);
    ttlv_w_long(&r.w, KMIP_TAG_USAGE_LIMITS_TOTAL, 10);
    ttlv_w_long(&r.w, KMIP_TAG_USAGE_LIMITS_COUNT, 4);
    ttlv_w_enum(&r.w, KMIP_TAG_USAGE_LIMITS_UNIT, KMIP_USAGE_LIMITS_UNIT_OBJECT);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    payload_of(send_one(f, &r));
    assert_int_equal(check(f, 2, 1, uid, -1, 4), 0);
    assert_int_equal(check(f, 2, 1, uid, -1, 5), KMIP_RESULT_REASON_USAGE_LIMIT_EXCEEDED);
    assert_int_equal(check(f, 1, 2, uid, -1, 5), KMIP_RESULT_REASON_PERMISSION_DENIED);

    /* Batch (Continue): Locate-less placeholder chain Get -> Check -> Get. */
    req_header(&r, 2, 1, 3, KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE);
    item_begin_uid(&r, KMIP_OPERATION_GET_ATTRIBUTES, uid);
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_CHECK);
    ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN);
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_GET);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(result_of(f, 0), 0);
    assert_int_equal(result_of(f, 1), KMIP_RESULT_REASON_INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK);
    assert_int_equal(result_of(f, 2), KMIP_RESULT_REASON_MISSING_DATA);

    assert_int_equal(check(f, 2, 1, "no-such-object", 4, -1),
                     KMIP_RESULT_REASON_OBJECT_NOT_FOUND);
    free(uid);
}

/* ------------------------------------------ 7. Response Too Large items */

/* A request header with a Maximum Response Size (1.4 section 6.3). */
static void req_header_max(req *r, int major, int minor, int count, uint32_t continuation,
                           int32_t max)
{
    cf_buf_init(&r->buf, 0);
    ttlv_w_init(&r->w, &r->buf);
    ttlv_w_begin(&r->w, KMIP_TAG_REQUEST_MESSAGE);
    ttlv_w_begin(&r->w, KMIP_TAG_REQUEST_HEADER);
    ttlv_w_begin(&r->w, KMIP_TAG_PROTOCOL_VERSION);
    ttlv_w_int(&r->w, KMIP_TAG_PROTOCOL_VERSION_MAJOR, major);
    ttlv_w_int(&r->w, KMIP_TAG_PROTOCOL_VERSION_MINOR, minor);
    ttlv_w_end(&r->w);
    ttlv_w_int(&r->w, KMIP_TAG_MAXIMUM_RESPONSE_SIZE, max);
    if (continuation)
        ttlv_w_enum(&r->w, KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION, continuation);
    ttlv_w_int(&r->w, KMIP_TAG_BATCH_COUNT, count);
    ttlv_w_end(&r->w);
}

static void query_item(req *r, const char *batch_id)
{
    item_begin_id(r, KMIP_OPERATION_QUERY, batch_id);
    ttlv_w_enum(&r->w, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_OPERATIONS);
    ttlv_w_enum(&r->w, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_OBJECTS);
    item_end(r);
}

/* The item whose answer does not fit is Response Too Large and keeps its
 * Operation and Unique Batch Item ID (1.4 Table 285; MSGENC-*-M-1); the
 * items before it that fit are answered. */
static void test_response_too_large_items_keep_operation(void **state)
{
    struct fx *f = *state;
    const ttlv_item *it;
    const uint8_t *bid;
    size_t bl;
    uint32_t opv;
    req r;

    req_header_max(&r, 1, 4, 1, 0, 256);
    query_item(&r, "Q1");
    send_req(f, &r);
    it = nth_item(f, 0);
    assert_int_equal(reason_of(it), KMIP_RESULT_REASON_RESPONSE_TOO_LARGE);
    assert_int_equal(ttlv_get_enum(it, KMIP_TAG_OPERATION, &opv), CF_OK);
    assert_int_equal(opv, KMIP_OPERATION_QUERY);
    assert_int_equal(ttlv_get_bytes(it, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, &bid, &bl), CF_OK);
    assert_memory_equal(bid, "Q1", 2);
    assert_true(f->out.len <= 256);

    /* Continue: a small item fits, the large one does not. */
    req_header_max(&r, 2, 1, 2, KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE, 400);
    item_begin_id(&r, KMIP_OPERATION_DISCOVER_VERSIONS, "D1");
    ttlv_w_begin(&r.w, KMIP_TAG_PROTOCOL_VERSION); /* answer: this one only */
    ttlv_w_int(&r.w, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 2);
    ttlv_w_int(&r.w, KMIP_TAG_PROTOCOL_VERSION_MINOR, 1);
    ttlv_w_end(&r.w);
    item_end(&r);
    query_item(&r, "Q2");
    send_req(f, &r);
    assert_int_equal(header_int(f, KMIP_TAG_BATCH_COUNT), 2);
    assert_int_equal(result_of(f, 0), 0);
    assert_int_equal(result_of(f, 1), KMIP_RESULT_REASON_RESPONSE_TOO_LARGE);
    assert_int_equal(ttlv_get_enum(nth_item(f, 1), KMIP_TAG_OPERATION, &opv), CF_OK);
    assert_int_equal(opv, KMIP_OPERATION_QUERY);
    assert_true(f->out.len <= 400);
}

/* ------------------------------------------------------------ 8. Undo */

/* Batch Error Continuation Option Undo (1.4 sections 6.13, 11.43 Table
 * 366; BL-M-2): the items run in one transaction; at a failure the earlier
 * ones are undone (their Result Status Operation Undone), the failed one
 * carries its reason, later ones are not run; nothing they did remains.
 * Without a failure everything is kept. */
static void test_batch_undo(void **state)
{
    struct fx *f = *state;
    char *uid = create_aes(f, 2, 1, NULL); /* Pre-Active, Encrypt | Decrypt */
    const ttlv_item *a;
    uint32_t st;
    req r;

    req_header(&r, 2, 1, 4, KMIP_BATCH_ERROR_CONTINUATION_OPTION_UNDO);
    item_begin_uid(&r, KMIP_OPERATION_ACTIVATE, uid);
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_CREATE); /* a new object, undone too */
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTES);
    ttlv_w_enum(&r.w, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, 128);
    ttlv_w_begin(&r.w, KMIP_TAG_NAME);
    ttlv_w_cstr(&r.w, KMIP_TAG_NAME_VALUE, "undone");
    ttlv_w_enum(&r.w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    item_end(&r);
    item_begin_uid(&r, KMIP_OPERATION_CHECK, uid);
    ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN);
    item_end(&r);
    item_begin_uid(&r, KMIP_OPERATION_GET, uid);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(header_int(f, KMIP_TAG_BATCH_COUNT), 3);
    assert_int_equal(status_of(nth_item(f, 0)), KMIP_RESULT_STATUS_OPERATION_UNDONE);
    assert_int_equal(status_of(nth_item(f, 1)), KMIP_RESULT_STATUS_OPERATION_UNDONE);
    assert_int_equal(reason_of(nth_item(f, 2)),
                     KMIP_RESULT_REASON_INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK);
    a = get_attrs2(f, 1, uid);
    assert_int_equal(ttlv_get_enum(a, KMIP_TAG_STATE, &st), CF_OK);
    assert_int_equal(st, KMIP_STATE_PRE_ACTIVE);
    assert_int_equal(count_named(f, "undone"), 0);

    /* The store is usable afterwards, and a batch that succeeds is kept. */
    req_header(&r, 2, 1, 2, KMIP_BATCH_ERROR_CONTINUATION_OPTION_UNDO);
    item_begin_uid(&r, KMIP_OPERATION_ACTIVATE, uid);
    item_end(&r);
    item_begin_uid(&r, KMIP_OPERATION_CHECK, uid);
    ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(result_of(f, 0), 0);
    assert_int_equal(result_of(f, 1), 0);
    ttlv_get_enum(get_attrs2(f, 1, uid), KMIP_TAG_STATE, &st);
    assert_int_equal(st, KMIP_STATE_ACTIVE);
    assert_int_equal(create_named(f, 2, 1, "undone"), 0);
    free(uid);
}

/* --------------------------------------------------- 8. Transparent DSA */

/* BL-M-12/13-21's DSA key (512-bit P, as the profile uses it). */
static const char dsa_p[] = "0000000000000000fca682ce8e12caba26efccf7110e526db078b05edecbcd1eb4a2"
                            "08f3ae1617ae01f35b91a47e6df63413c5e12ed0899bcd132acd50d99151bdc43ee7"
                            "37592e17";
static const char dsa_q[] = "00000000962eddcc369cba8ebb260ee6b6a126d9346e38c5";
static const char dsa_g[] = "678471b27a9cf44ee91a49c5147db1a9aaf244f05a434d6486931d2d14271b9e3503"
                            "0b71fd73da179069b32e2935630e1c2062354d0da20a6c416e50be794ca4";
static const char dsa_x[] = "00000000095411d740d2443fa3f97d1ed9a0411bb45e7131";
static const char dsa_y[] = "0000000000000000b3cb74d988dea7160a64a4edbb7f70404fa4c08a4208c19d7635"
                            "7a6a9df200cce79faecb22e3419be9b01128cbd998a2d9307101705e4a952462f347"
                            "28ac5fcf";

static void w_hex_bigint(req *r, uint32_t tag, const char *hex)
{
    uint8_t b[128];
    size_t n = strlen(hex) / 2;
    assert_true(n <= sizeof b);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        b[i] = (uint8_t)v;
    }
    ttlv_w_bigint(&r->w, tag, b, n);
}

/* Register a Transparent DSA key (2.1); the batch item. */
static const ttlv_item *register_dsa(struct fx *f, bool priv, const char *last)
{
    req r;
    req_one(&r, 2, 1, KMIP_OPERATION_REGISTER, NULL);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE,
                priv ? KMIP_OBJECT_TYPE_PRIVATE_KEY : KMIP_OBJECT_TYPE_PUBLIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTES);
    ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK,
               priv ? KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN : KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY);
    ttlv_w_end(&r.w);
    ttlv_w_begin(&r.w, priv ? KMIP_TAG_PRIVATE_KEY : KMIP_TAG_PUBLIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_KEY_BLOCK);
    ttlv_w_enum(&r.w, KMIP_TAG_KEY_FORMAT_TYPE,
                priv ? KMIP_KEY_FORMAT_TYPE_TRANSPARENT_DSA_PRIVATE_KEY
                     : KMIP_KEY_FORMAT_TYPE_TRANSPARENT_DSA_PUBLIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_KEY_VALUE);
    ttlv_w_begin(&r.w, KMIP_TAG_KEY_MATERIAL);
    w_hex_bigint(&r, KMIP_TAG_P, dsa_p);
    w_hex_bigint(&r, KMIP_TAG_Q, dsa_q);
    w_hex_bigint(&r, KMIP_TAG_G, dsa_g);
    w_hex_bigint(&r, priv ? KMIP_TAG_X : KMIP_TAG_Y, last);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    ttlv_w_enum(&r.w, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_DSA);
    ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, 512);
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    return send_one(f, &r);
}

/* Register of Transparent DSA Private/Public Keys (1.4 2.1.7.2-2.1.7.3;
 * BL-M-12/13): checked (a Y outside the group is Invalid Field), kept, and
 * Get returns exactly what was registered. */
static void test_register_transparent_dsa(void **state)
{
    struct fx *f = *state;
    const ttlv_item *p, *kb, *a, *km, *pv;
    uint32_t alg;
    int32_t len;
    req r;

    for (int priv = 0; priv < 2; priv++) {
        char *uid = strdup(text_of(f, payload_of(register_dsa(f, priv, priv ? dsa_x : dsa_y)),
                                   KMIP_TAG_UNIQUE_IDENTIFIER));
        a = get_attrs2(f, 1, uid);
        assert_int_equal(ttlv_get_enum(a, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, &alg), CF_OK);
        assert_int_equal(alg, KMIP_CRYPTOGRAPHIC_ALGORITHM_DSA);
        assert_int_equal(ttlv_get_int(a, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, &len), CF_OK);
        assert_int_equal(len, 512);
        req_one(&r, 2, 1, KMIP_OPERATION_GET, uid);
        p = payload_of(send_one(f, &r));
        assert_int_equal(ttlv_get_struct(ttlv_child(p, priv ? KMIP_TAG_PRIVATE_KEY
                                                            : KMIP_TAG_PUBLIC_KEY),
                                         KMIP_TAG_KEY_BLOCK, &kb),
                         CF_OK);
        km = ttlv_child(ttlv_child(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL);
        assert_non_null(km);
        assert_int_equal(km->nchildren, 4);
        pv = ttlv_child(km, KMIP_TAG_P);
        assert_non_null(pv);
        assert_int_equal(pv->type, TTLV_BIG_INTEGER);
        assert_int_equal(pv->v.s.len, strlen(dsa_p) / 2); /* as registered, zeros kept */
        assert_int_equal(pv->v.s.p[8], 0xfc);
        assert_non_null(ttlv_child(km, priv ? KMIP_TAG_X : KMIP_TAG_Y));
        free(uid);
    }
    assert_int_equal(reason_of(register_dsa(f, false, "02")), KMIP_RESULT_REASON_INVALID_FIELD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nested_fields_follow_the_version, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_always_present_attributes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sensitive_and_extractable_guard_get, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_add_single_valued_2x, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_names_are_unique, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_register_echoing_certificate_type, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_operation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_check_operation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_response_too_large_items_keep_operation, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_batch_undo, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_register_transparent_dsa, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
