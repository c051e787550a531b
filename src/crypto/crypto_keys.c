/*
 * crypto_keys.c - RSA and EC keys: parsing the stored/registered formats,
 * exporting them in another format, transparent forms, key generation.
 *
 * Design: every format goes through an EVP_PKEY. DER formats use OpenSSL's
 * decoders and encoders with an explicit structure ("PrivateKeyInfo",
 * "SubjectPublicKeyInfo", "type-specific" = PKCS#1 / SEC1), so a PKCS#8
 * blob registered as PKCS#1 is refused rather than silently accepted, and
 * trailing bytes are refused (the decoder must consume the whole input).
 * The KMIP transparent forms are TTLV Key Material structures (KMIP 1.4
 * section 2.1.7); they are built from and read into a small table of
 * components (tag <-> OpenSSL parameter), so RSA and EC share one path.
 * Wrapping, digests and symmetric checks live in crypto_wrap.c.
 */
#include "crypto/crypto_keys.h"
#include "crypto/crypto.h"

#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "ttlv/ttlv.h"
#include "util/log.h"

/* ------------------------------------------------------------- curves */
static const struct curve {
    uint32_t kmip;
    int nid;
    int32_t bits;
    const char *name; /* OpenSSL group name */
} curves[] = {
    {KMIP_RECOMMENDED_CURVE_P_192, NID_X9_62_prime192v1, 192, "prime192v1"},
    {KMIP_RECOMMENDED_CURVE_P_224, NID_secp224r1, 224, "secp224r1"},
    {KMIP_RECOMMENDED_CURVE_P_256, NID_X9_62_prime256v1, 256, "prime256v1"},
    {KMIP_RECOMMENDED_CURVE_P_384, NID_secp384r1, 384, "secp384r1"},
    {KMIP_RECOMMENDED_CURVE_P_521, NID_secp521r1, 521, "secp521r1"},
    {KMIP_RECOMMENDED_CURVE_SECP256K1, NID_secp256k1, 256, "secp256k1"},
};

static const struct curve *curve_by_kmip(uint32_t kmip)
{
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
        if (curves[i].kmip == kmip)
            return &curves[i];
    return NULL;
}

static const struct curve *curve_of_key(const EVP_PKEY *key)
{
    char name[64];
    size_t len = 0;
    int nid;
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len))
        return NULL;
    nid = OBJ_txt2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
        if (curves[i].nid == nid)
            return &curves[i];
    return NULL;
}

int crypto_ec_curve_nid(uint32_t curve, int32_t *out_bits)
{
    const struct curve *c = curve_by_kmip(curve);
    if (out_bits)
        *out_bits = c ? c->bits : 0;
    return c ? c->nid : 0;
}

bool crypto_alg_is_ec(uint32_t algorithm)
{
    return algorithm == KMIP_CRYPTOGRAPHIC_ALGORITHM_EC ||
           algorithm == KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDSA ||
           algorithm == KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDH ||
           algorithm == KMIP_CRYPTOGRAPHIC_ALGORITHM_ECMQV;
}

static bool is_rsa(const EVP_PKEY *k) { return EVP_PKEY_is_a(k, "RSA"); }
static bool is_ec(const EVP_PKEY *k) { return EVP_PKEY_is_a(k, "EC"); }
static bool is_dsa(const EVP_PKEY *k) { return EVP_PKEY_is_a(k, "DSA"); }

bool crypto_key_has_private(const EVP_PKEY *key)
{
    BIGNUM *bn = NULL;
    bool ok = EVP_PKEY_get_bn_param(key, is_rsa(key) ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY,
                                    &bn) == 1;
    BN_clear_free(bn);
    ERR_clear_error();
    return ok;
}

/* ------------------------------------------------------ format classes */
enum fmt_class { FMT_NONE, FMT_DER, FMT_TRANSPARENT };

static bool fmt_transparent_rsa(uint32_t f, bool priv)
{
    return f == (priv ? KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PRIVATE_KEY
                      : KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PUBLIC_KEY);
}

/* Transparent DSA keys (1.4 sections 2.1.7.2-2.1.7.3): registered and
 * served as given; DSA is not used for operations. */
static bool fmt_transparent_dsa(uint32_t f, bool priv)
{
    return f == (priv ? KMIP_KEY_FORMAT_TYPE_TRANSPARENT_DSA_PRIVATE_KEY
                      : KMIP_KEY_FORMAT_TYPE_TRANSPARENT_DSA_PUBLIC_KEY);
}

static bool fmt_transparent_ec(uint32_t f, bool priv)
{
    if (priv)
        return f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PRIVATE_KEY ||
               f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_ECDSA_PRIVATE_KEY ||
               f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_ECDH_PRIVATE_KEY ||
               f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_ECMQV_PRIVATE_KEY;
    return f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PUBLIC_KEY ||
           f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_ECDSA_PUBLIC_KEY ||
           f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_ECDH_PUBLIC_KEY ||
           f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_ECMQV_PUBLIC_KEY;
}

/* The DER structure name for (format, half, key type), or NULL. */
static const char *der_structure(uint32_t f, bool priv, bool rsa)
{
    if (f == KMIP_KEY_FORMAT_TYPE_PKCS_8 && priv)
        return "PrivateKeyInfo";
    if (f == KMIP_KEY_FORMAT_TYPE_X_509 && !priv)
        return "SubjectPublicKeyInfo";
    if (f == KMIP_KEY_FORMAT_TYPE_PKCS_1 && rsa)
        return "type-specific";
    if (f == KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY && priv && !rsa)
        return "type-specific";
    return NULL;
}

/* ---------------------------------------------------------------- DER */
/* OpenSSL's decoders convert between structures (a PKCS#8 blob decodes
 * when "type-specific" was asked for), so the outer shape is checked
 * first: the DER SEQUENCE must span the whole input, and its first two
 * elements' tags and its element count identify the structure.
 *   PrivateKeyInfo        INTEGER, SEQUENCE, ...      (3-5 elements)
 *   SubjectPublicKeyInfo  SEQUENCE, BIT STRING        (2)
 *   RSAPrivateKey         INTEGER, INTEGER, ...       (9 or more)
 *   RSAPublicKey          INTEGER, INTEGER            (2)
 *   ECPrivateKey          INTEGER, OCTET STRING, ...  (2-4) */
struct der_shape {
    int t1, t2;
    int min, max;
};

static bool der_shape_ok(const uint8_t *p, size_t n, const struct der_shape *want)
{
    const unsigned char *q = p, *end;
    long len;
    int tag, cls, r, count = 0;

    if (n > 1u << 20)
        return false;
    r = ASN1_get_object(&q, &len, &tag, &cls, (long)n);
    if ((r & 0x80) || r != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE || cls != 0 ||
        len != (long)(p + n - q))
        return false;
    end = q + len;
    while (q < end) {
        r = ASN1_get_object(&q, &len, &tag, &cls, (long)(end - q));
        if ((r & 0x80) || (r & 1) || len > (long)(end - q))
            return false; /* malformed, or indefinite length (not DER) */
        if (cls != V_ASN1_UNIVERSAL)
            tag = -1;
        if ((count == 0 && tag != want->t1) || (count == 1 && tag != want->t2))
            return false;
        q += len;
        count++;
    }
    return count >= want->min && count <= want->max;
}

static const struct der_shape shape_pkcs8 = {V_ASN1_INTEGER, V_ASN1_SEQUENCE, 3, 5};
static const struct der_shape shape_spki = {V_ASN1_SEQUENCE, V_ASN1_BIT_STRING, 2, 2};
static const struct der_shape shape_rsa_priv = {V_ASN1_INTEGER, V_ASN1_INTEGER, 9, 10};
static const struct der_shape shape_rsa_pub = {V_ASN1_INTEGER, V_ASN1_INTEGER, 2, 2};
static const struct der_shape shape_ec_priv = {V_ASN1_INTEGER, V_ASN1_OCTET_STRING, 2, 4};

static const struct der_shape *der_shape_for(uint32_t f, bool priv)
{
    switch (f) {
    case KMIP_KEY_FORMAT_TYPE_PKCS_8: return &shape_pkcs8;
    case KMIP_KEY_FORMAT_TYPE_X_509: return &shape_spki;
    case KMIP_KEY_FORMAT_TYPE_PKCS_1: return priv ? &shape_rsa_priv : &shape_rsa_pub;
    default: return &shape_ec_priv;
    }
}

static cf_status der_decode(const char *structure, const char *keytype, bool priv,
                            const uint8_t *p, size_t n, EVP_PKEY **out)
{
    int sel = priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
    const unsigned char *data = p;
    size_t left = n;
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx;
    cf_status st = CF_OK;

    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", structure, keytype, sel, NULL, NULL);
    if (dctx == NULL) {
        crypto_log_errors("key decoder");
        return CF_ERR_CRYPTO;
    }
    if (OSSL_DECODER_from_data(dctx, &data, &left) != 1 || pkey == NULL || left != 0) {
        ERR_clear_error(); /* client input that does not parse: not worth a warning */
        st = CF_ERR_INVALID_FIELD;
    }
    OSSL_DECODER_CTX_free(dctx);
    if (st != CF_OK) {
        EVP_PKEY_free(pkey);
        return st;
    }
    *out = pkey;
    return CF_OK;
}

static cf_status der_encode(const EVP_PKEY *key, const char *structure, bool priv, cf_secret *out)
{
    int sel = priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
    unsigned char *data = NULL;
    size_t len = 0;
    OSSL_ENCODER_CTX *ectx;
    cf_status st = CF_OK;

    ectx = OSSL_ENCODER_CTX_new_for_pkey(key, sel, "DER", structure, NULL);
    if (ectx == NULL || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0) {
        OSSL_ENCODER_CTX_free(ectx);
        ERR_clear_error();
        return CF_ERR_FORMAT;
    }
    if (OSSL_ENCODER_to_data(ectx, &data, &len) != 1) {
        crypto_log_errors("key encoder");
        st = CF_ERR_CRYPTO;
    } else {
        st = cf_secret_dup(out, data, len);
    }
    OPENSSL_clear_free(data, len);
    OSSL_ENCODER_CTX_free(ectx);
    return st;
}

/* --------------------------------------------------------- transparent */
/* One component of a transparent key: its Key Material tag and OpenSSL
 * parameter. KMIP 1.4 sections 2.1.7.6-2.1.7.12. */
static const struct part {
    uint32_t tag;
    const char *param;
    bool rsa;
    bool priv;      /* present in the private form */
    bool pub;       /* present in the public form */
    bool required;  /* required in the form(s) where it is present */
} parts[] = {
    {KMIP_TAG_MODULUS, OSSL_PKEY_PARAM_RSA_N, true, true, true, true},
    {KMIP_TAG_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D, true, true, false, true},
    {KMIP_TAG_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E, true, true, true, true},
    {KMIP_TAG_P, OSSL_PKEY_PARAM_RSA_FACTOR1, true, true, false, false},
    {KMIP_TAG_Q, OSSL_PKEY_PARAM_RSA_FACTOR2, true, true, false, false},
    {KMIP_TAG_PRIME_EXPONENT_P, OSSL_PKEY_PARAM_RSA_EXPONENT1, true, true, false, false},
    {KMIP_TAG_PRIME_EXPONENT_Q, OSSL_PKEY_PARAM_RSA_EXPONENT2, true, true, false, false},
    {KMIP_TAG_CRT_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, true, true, false, false},
    {KMIP_TAG_D, OSSL_PKEY_PARAM_PRIV_KEY, false, true, false, true},
};
#define N_PARTS (sizeof parts / sizeof parts[0])
#define PART_EC_D (N_PARTS - 1) /* the last row */
#define EC_Q_MAX (1 + 2 * 66)     /* uncompressed point on P-521 */

/* A positive Big Integer as minimal big-endian bytes with a leading zero
 * when the top bit is set (TTLV Big Integers are two's complement). */
static void w_bn(ttlv_writer *w, uint32_t tag, const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    uint8_t buf[1 + 1024]; /* 8192-bit components at most */
    int lead = 0;

    if (n > (int)sizeof buf - 1) {
        w->failed = true;
        return;
    }
    if (n == 0) {
        buf[0] = 0;
        n = 1;
    } else {
        BN_bn2bin(bn, buf + 1);
        lead = (buf[1] & 0x80) ? 1 : 0;
        buf[0] = 0;
    }
    ttlv_w_bigint(w, tag, lead ? buf : buf + 1, (size_t)(n + lead));
    OPENSSL_cleanse(buf, sizeof buf);
}

static cf_status transparent_write(const EVP_PKEY *key, bool priv, ttlv_writer *w)
{
    bool rsa = is_rsa(key);
    const struct curve *c = rsa ? NULL : curve_of_key(key);

    if (!rsa && c == NULL)
        return CF_ERR_FORMAT; /* a curve KMIP cannot name */
    ttlv_w_begin(w, KMIP_TAG_KEY_MATERIAL);
    if (!rsa)
        ttlv_w_enum(w, KMIP_TAG_RECOMMENDED_CURVE, c->kmip);
    for (size_t i = 0; i < N_PARTS; i++) {
        BIGNUM *bn = NULL;
        if (parts[i].rsa != rsa || !(priv ? parts[i].priv : parts[i].pub))
            continue;
        if (EVP_PKEY_get_bn_param(key, parts[i].param, &bn) != 1) {
            ERR_clear_error();
            if (parts[i].required)
                w->failed = true;
            continue;
        }
        w_bn(w, parts[i].tag, bn);
        BN_clear_free(bn);
    }
    if (!rsa && !priv) {
        uint8_t q[EC_Q_MAX];
        size_t ql = 0;
        if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, q, sizeof q, &ql) != 1)
            w->failed = true;
        else
            ttlv_w_bytes(w, KMIP_TAG_Q_STRING, q, ql);
    }
    ttlv_w_end(w);
    return CF_OK;
}

static cf_status transparent_encode(const EVP_PKEY *key, bool priv, cf_secret *out)
{
    cf_buf buf;
    ttlv_writer w;
    cf_status st;

    cf_buf_init(&buf, 64 * 1024);
    ttlv_w_init(&w, &buf);
    if ((st = transparent_write(key, priv, &w)) == CF_OK &&
        (st = ttlv_w_finish(&w)) == CF_OK)
        st = cf_secret_dup(out, buf.p, buf.len);
    else if (st == CF_OK || st == CF_ERR_INTERNAL)
        st = CF_ERR_CRYPTO;
    cf_buf_free(&buf);
    return st;
}

/* Big Integer item -> BIGNUM; negative values are refused. */
static cf_status item_bn(const ttlv_item *it, BIGNUM **out)
{
    if (it->type != TTLV_BIG_INTEGER || it->v.s.len == 0 || (it->v.s.p[0] & 0x80))
        return CF_ERR_INVALID_FIELD;
    *out = BN_secure_new();
    if (*out == NULL || BN_bin2bn(it->v.s.p, (int)it->v.s.len, *out) == NULL)
        return CF_ERR_NOMEM;
    return CF_OK;
}

/* The EC public point from the private scalar (Transparent EC Private Key
 * carries only D, KMIP 1.4 section 2.1.7.12). */
static cf_status ec_derive_q(int nid, const BIGNUM *d, uint8_t *q, size_t *ql)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    EC_POINT *pt = g ? EC_POINT_new(g) : NULL;
    cf_status st = CF_ERR_CRYPTO;

    if (pt != NULL && EC_POINT_mul(g, pt, d, NULL, NULL, NULL) == 1) {
        *ql = EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, q, *ql, NULL);
        st = *ql ? CF_OK : CF_ERR_CRYPTO;
    }
    if (st != CF_OK)
        crypto_log_errors("EC public point");
    EC_POINT_free(pt);
    EC_GROUP_free(g);
    return st;
}

/* q (133 bytes: an uncompressed P-521 point) must outlive bld: the
 * builder keeps a pointer to octet strings until OSSL_PARAM_BLD_to_param. */
static cf_status bld_ec(OSSL_PARAM_BLD *bld, const ttlv_item *km, bool priv, BIGNUM **bns,
                        uint8_t q[EC_Q_MAX])
{
    const ttlv_item *rc = ttlv_child(km, KMIP_TAG_RECOMMENDED_CURVE);
    const ttlv_item *qs = ttlv_child(km, KMIP_TAG_Q_STRING);
    const struct curve *c = rc && rc->type == TTLV_ENUMERATION ? curve_by_kmip(rc->v.u32) : NULL;
    size_t ql = EC_Q_MAX;

    if (c == NULL)
        return rc ? CF_ERR_UNSUPPORTED : CF_ERR_INVALID_FIELD;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->name, 0))
        return CF_ERR_NOMEM;
    if (priv) {
        if (bns[PART_EC_D] == NULL)
            return CF_ERR_INVALID_FIELD;
        if (ec_derive_q(c->nid, bns[PART_EC_D], q, &ql) != CF_OK)
            return CF_ERR_INVALID_FIELD;
        if (!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, ql))
            return CF_ERR_NOMEM;
        return CF_OK;
    }
    if (qs == NULL || qs->type != TTLV_BYTE_STRING)
        return CF_ERR_INVALID_FIELD;
    if (!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, qs->v.s.p, qs->v.s.len))
        return CF_ERR_NOMEM;
    return CF_OK;
}

/* The CRT components of a Transparent RSA Private Key (all optional in
 * KMIP 1.4 section 2.1.7.6) must come as OpenSSL can take them: P and Q
 * together, and Prime Exponent P, Prime Exponent Q and CRT Coefficient all
 * three or none, only with P and Q. OpenSSL 3.0's RSA import keeps the
 * exponents and coefficient only when it has both primes and all three,
 * and otherwise drops them without freeing them: any other mix would leak
 * two or three BIGNUMs per request (fuzz_kmip). */
static bool rsa_crt_ok(const ttlv_item *km)
{
    bool p = ttlv_child(km, KMIP_TAG_P) != NULL;
    bool q = ttlv_child(km, KMIP_TAG_Q) != NULL;
    int crt = (ttlv_child(km, KMIP_TAG_PRIME_EXPONENT_P) != NULL) +
              (ttlv_child(km, KMIP_TAG_PRIME_EXPONENT_Q) != NULL) +
              (ttlv_child(km, KMIP_TAG_CRT_COEFFICIENT) != NULL);

    return p == q && (crt == 0 || (crt == 3 && p));
}

static cf_status transparent_build(const ttlv_item *km, bool rsa, bool priv, EVP_PKEY **out)
{
    BIGNUM *bns[N_PARTS] = {0};
    uint8_t q[EC_Q_MAX];
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    cf_status st = CF_OK;

    if (rsa && priv && !rsa_crt_ok(km)) {
        st = CF_ERR_INVALID_FIELD;
        goto out;
    }
    if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
        st = CF_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < N_PARTS; i++) {
        const ttlv_item *it = ttlv_child(km, parts[i].tag);
        if (parts[i].rsa != rsa || !(priv ? parts[i].priv : parts[i].pub))
            continue;
        if (it == NULL) {
            if (parts[i].required) {
                st = CF_ERR_INVALID_FIELD;
                goto out;
            }
            continue;
        }
        if ((st = item_bn(it, &bns[i])) != CF_OK)
            goto out;
        if (!OSSL_PARAM_BLD_push_BN(bld, parts[i].param, bns[i])) {
            st = CF_ERR_NOMEM;
            goto out;
        }
    }
    if (!rsa && (st = bld_ec(bld, km, priv, bns, q)) != CF_OK)
        goto out;
    if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
        st = CF_ERR_NOMEM;
        goto out;
    }
    if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC", NULL)) == NULL) {
        st = CF_ERR_CRYPTO;
        goto out;
    }
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, out, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
        st = CF_ERR_INVALID_FIELD;
out:
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    for (size_t i = 0; i < N_PARTS; i++)
        BN_clear_free(bns[i]);
    return st;
}

/* Transparent DSA Key Material { P, Q, G, Y } or { P, Q, G, X }: the
 * public value of a private key is G^X mod P (the key pair check below
 * then holds by construction; the public check validates the group). */
enum { DSA_P, DSA_Q, DSA_G, DSA_X, DSA_Y, DSA_N };

static cf_status dsa_parts(const ttlv_item *km, bool priv, BIGNUM **bn)
{
    static const uint32_t tags[DSA_N] = {KMIP_TAG_P, KMIP_TAG_Q, KMIP_TAG_G, KMIP_TAG_X,
                                         KMIP_TAG_Y};
    BN_CTX *ctx;
    cf_status st = CF_OK;

    for (int i = 0; i < DSA_N && st == CF_OK; i++) {
        const ttlv_item *it = ttlv_child(km, tags[i]);
        if (i == (priv ? DSA_Y : DSA_X))
            continue;
        st = it ? item_bn(it, &bn[i]) : CF_ERR_INVALID_FIELD;
    }
    if (st != CF_OK || !priv)
        return st;
    if ((bn[DSA_Y] = BN_new()) == NULL || (ctx = BN_CTX_secure_new()) == NULL)
        return CF_ERR_NOMEM;
    if (BN_is_zero(bn[DSA_P]) || BN_mod_exp(bn[DSA_Y], bn[DSA_G], bn[DSA_X], bn[DSA_P], ctx) != 1)
        st = CF_ERR_INVALID_FIELD;
    BN_CTX_free(ctx);
    return st;
}

static cf_status dsa_build(const ttlv_item *km, bool priv, EVP_PKEY **out)
{
    static const char *const params[DSA_N] = {OSSL_PKEY_PARAM_FFC_P, OSSL_PKEY_PARAM_FFC_Q,
                                              OSSL_PKEY_PARAM_FFC_G, OSSL_PKEY_PARAM_PRIV_KEY,
                                              OSSL_PKEY_PARAM_PUB_KEY};
    BIGNUM *bn[DSA_N] = {0};
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *ps = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    cf_status st = bld ? dsa_parts(km, priv, bn) : CF_ERR_NOMEM;

    for (int i = 0; i < DSA_N && st == CF_OK; i++)
        if (bn[i] != NULL && !OSSL_PARAM_BLD_push_BN(bld, params[i], bn[i]))
            st = CF_ERR_NOMEM;
    if (st == CF_OK && (ps = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        st = CF_ERR_NOMEM;
    if (st == CF_OK && (ctx = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL)) == NULL)
        st = CF_ERR_CRYPTO;
    if (st == CF_OK && (EVP_PKEY_fromdata_init(ctx) != 1 ||
                        EVP_PKEY_fromdata(ctx, out, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                                          ps) != 1))
        st = CF_ERR_INVALID_FIELD;
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(ps);
    OSSL_PARAM_BLD_free(bld);
    for (int i = 0; i < DSA_N; i++)
        BN_clear_free(bn[i]);
    return st;
}

/* Sanity of a key built from client components: the public key must be
 * valid and, for a private key, match the private part. */
static cf_status key_check(EVP_PKEY *key, bool priv)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1 &&
             (!priv || EVP_PKEY_pairwise_check(ctx) == 1);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok ? CF_OK : CF_ERR_INVALID_FIELD;
}

enum tkind { TK_RSA, TK_EC, TK_DSA };

static cf_status transparent_decode(const uint8_t *p, size_t n, enum tkind kind, bool priv,
                                    EVP_PKEY **out)
{
    static const ttlv_limits lim = {
        .max_bytes = 64 * 1024, .max_depth = 4, .max_items = 64, .max_string = 4096};
    cf_arena *a = cf_arena_new(4096, 256 * 1024);
    ttlv_item *km = NULL;
    cf_status st;

    if (a == NULL)
        return CF_ERR_NOMEM;
    st = ttlv_decode(p, n, &lim, a, &km, NULL);
    if (st == CF_ERR_NOMEM)
        goto out;
    if (st != CF_OK || km->type != TTLV_STRUCTURE || km->tag != KMIP_TAG_KEY_MATERIAL) {
        st = CF_ERR_INVALID_FIELD;
        goto out;
    }
    st = kind == TK_DSA ? dsa_build(km, priv, out) : transparent_build(km, kind == TK_RSA, priv, out);
    if (st != CF_OK)
        goto out;
    if ((st = key_check(*out, priv)) != CF_OK) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
out:
    cf_arena_free(a);
    return st;
}

/* ------------------------------------------------------------ public API */
cf_status crypto_key_load(uint32_t object_type, uint32_t key_format, uint32_t algorithm,
                          const uint8_t *p, size_t n, EVP_PKEY **out)
{
    bool priv = object_type == KMIP_OBJECT_TYPE_PRIVATE_KEY;
    bool want_rsa = algorithm == KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA;
    bool want_ec = crypto_alg_is_ec(algorithm);
    bool want_dsa = algorithm == KMIP_CRYPTOGRAPHIC_ALGORITHM_DSA;
    bool dsa = fmt_transparent_dsa(key_format, priv);
    EVP_PKEY *key = NULL;
    cf_status st;

    *out = NULL;
    if (object_type != KMIP_OBJECT_TYPE_PRIVATE_KEY && object_type != KMIP_OBJECT_TYPE_PUBLIC_KEY)
        return CF_ERR_FORMAT;
    if (algorithm != 0 && !want_rsa && !want_ec && !(want_dsa && dsa))
        return CF_ERR_UNSUPPORTED;
    if (p == NULL || n == 0)
        return CF_ERR_INVALID_FIELD;
    ERR_clear_error();
    if (dsa) {
        if (want_rsa || want_ec)
            return CF_ERR_INVALID_FIELD;
        st = transparent_decode(p, n, TK_DSA, priv, &key);
    } else if (fmt_transparent_rsa(key_format, priv) || fmt_transparent_ec(key_format, priv)) {
        bool rsa = fmt_transparent_rsa(key_format, priv);
        if ((rsa && want_ec) || (!rsa && want_rsa))
            return CF_ERR_INVALID_FIELD;
        st = transparent_decode(p, n, rsa ? TK_RSA : TK_EC, priv, &key);
    } else {
        bool rsa = key_format == KMIP_KEY_FORMAT_TYPE_PKCS_1 ||
                   (!want_ec && key_format != KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY);
        const char *structure = der_structure(key_format, priv, rsa);
        const char *type = key_format == KMIP_KEY_FORMAT_TYPE_PKCS_1          ? "RSA"
                           : key_format == KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY ? "EC"
                                                                              : NULL;
        if (structure == NULL)
            return CF_ERR_FORMAT;
        if (!der_shape_ok(p, n, der_shape_for(key_format, priv)))
            return CF_ERR_INVALID_FIELD;
        st = der_decode(structure, type, priv, p, n, &key);
    }
    if (st != CF_OK)
        return st;
    if ((want_rsa && !is_rsa(key)) || (want_ec && !is_ec(key)) ||
        (!is_rsa(key) && !is_ec(key) && !(dsa && is_dsa(key))) ||
        (priv && !crypto_key_has_private(key))) {
        EVP_PKEY_free(key);
        return CF_ERR_INVALID_FIELD;
    }
    *out = key;
    return CF_OK;
}

cf_status crypto_key_info(const EVP_PKEY *key, uint32_t *out_alg, int32_t *out_bits,
                          uint32_t *out_curve)
{
    const struct curve *c;
    *out_curve = 0;
    *out_bits = EVP_PKEY_get_bits(key);
    if (is_rsa(key)) {
        *out_alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA;
        return CF_OK;
    }
    if (is_dsa(key)) { /* bits: those of P */
        *out_alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_DSA;
        return CF_OK;
    }
    if (!is_ec(key))
        return CF_ERR_UNSUPPORTED;
    *out_alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_EC;
    if ((c = curve_of_key(key)) != NULL) {
        *out_curve = c->kmip;
        *out_bits = c->bits;
    }
    return CF_OK;
}

cf_status crypto_key_export(const EVP_PKEY *key, uint32_t object_type, uint32_t key_format,
                            cf_secret *out)
{
    bool priv = object_type == KMIP_OBJECT_TYPE_PRIVATE_KEY;
    bool rsa = is_rsa(key);
    const char *structure;

    out->p = NULL;
    out->len = 0;
    if (!priv && object_type != KMIP_OBJECT_TYPE_PUBLIC_KEY)
        return CF_ERR_FORMAT;
    if (priv && !crypto_key_has_private(key))
        return CF_ERR_FORMAT;
    ERR_clear_error();
    if ((rsa && fmt_transparent_rsa(key_format, priv)) ||
        (!rsa && fmt_transparent_ec(key_format, priv)))
        return transparent_encode(key, priv, out);
    if ((structure = der_structure(key_format, priv, rsa)) == NULL)
        return CF_ERR_FORMAT;
    return der_encode(key, structure, priv, out);
}

cf_status crypto_cert_check(const uint8_t *p, size_t n)
{
    const unsigned char *q = p;
    X509 *x;
    if (p == NULL || n == 0 || n > 1u << 20)
        return CF_ERR_INVALID_FIELD;
    x = d2i_X509(NULL, &q, (long)n);
    ERR_clear_error();
    X509_free(x);
    return x != NULL && q == p + n ? CF_OK : CF_ERR_INVALID_FIELD;
}

static cf_status name_rdns(const X509_NAME *name, cf_arena *a, crypto_rdn **out, size_t *out_n)
{
    int count = X509_NAME_entry_count(name);
    crypto_rdn *r = cf_arena_calloc(a, (size_t)(count > 0 ? count : 1) * sizeof *r);
    size_t n = 0;

    if (r == NULL)
        return CF_ERR_NOMEM;
    for (int i = 0; i < count; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        if (len < 0)
            continue; /* not a string */
        r[n].nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        r[n].value = cf_arena_strndup(a, (const char *)utf8, (size_t)len);
        r[n].len = (size_t)len;
        OPENSSL_free(utf8);
        if (r[n].value == NULL)
            return CF_ERR_NOMEM;
        n++;
    }
    *out = r;
    *out_n = n;
    return CF_OK;
}

cf_status crypto_cert_name(const uint8_t *p, size_t n, bool issuer, cf_arena *a,
                           crypto_rdn **out, size_t *out_n)
{
    const unsigned char *q = p;
    X509 *x;
    cf_status st;

    *out = NULL;
    *out_n = 0;
    if (p == NULL || n == 0 || n > 1u << 20)
        return CF_ERR_INVALID_FIELD;
    ERR_clear_error();
    x = d2i_X509(NULL, &q, (long)n);
    if (x == NULL || q != p + n) {
        ERR_clear_error();
        X509_free(x);
        return CF_ERR_INVALID_FIELD;
    }
    st = name_rdns(issuer ? X509_get_issuer_name(x) : X509_get_subject_name(x), a, out, out_n);
    ERR_clear_error();
    X509_free(x);
    return st;
}

/* ---------------------------------------------------------- generation */
cf_status crypto_rsa_generate(int32_t bits, EVP_PKEY **out)
{
    /* 1024 is weak but still asked for by old clients; 4096 is the most a
     * request may make us spend on the event loop (seconds). */
    if (bits < 1024 || bits > 4096 || bits % 256 != 0)
        return CF_ERR_INVALID_FIELD;
    ERR_clear_error();
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (*out == NULL) {
        crypto_log_errors("RSA key generation");
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}

cf_status crypto_ec_generate(uint32_t curve, EVP_PKEY **out)
{
    const struct curve *c = curve_by_kmip(curve);
    *out = NULL;
    if (c == NULL || c->bits < 256 || c->nid == NID_secp256k1)
        return CF_ERR_UNSUPPORTED; /* Create Key Pair offers P-256, P-384, P-521 */
    ERR_clear_error();
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", c->name);
    if (*out == NULL) {
        crypto_log_errors("EC key generation");
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}
