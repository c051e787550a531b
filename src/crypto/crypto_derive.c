/*
 * crypto_derive.c - key derivation for Derive Key (contract in
 * crypto_ops.h, crypto_derive): PBKDF2, HKDF and the SP 800-108 counter-mode
 * KDF through OpenSSL 3's EVP_KDF by name, HASH with EVP_Digest. The hash
 * comes from crypto_md_fetch; derived bytes only live in cf_secret buffers
 * and the digest scratch is cleansed on every path.
 */
#include "crypto/crypto_ops.h"
#include "crypto/crypto.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "ttlv/ttlv.h"

#define WHY(msg) (*why = (msg), CF_ERR_INVALID_FIELD)

static cf_status kdf_run(const char *name, const OSSL_PARAM *params, size_t out_len,
                         cf_secret *out)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, name, NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    cf_status st = ctx ? cf_secret_alloc(out, out_len) : CF_ERR_CRYPTO;

    if (st == CF_OK && EVP_KDF_derive(ctx, out->p, out_len, params) <= 0) {
        cf_secret_free(out);
        st = CF_ERR_CRYPTO;
    }
    if (st == CF_ERR_CRYPTO)
        crypto_log_errors(name);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return st;
}

/* OSSL_PARAM octet strings take a non-NULL pointer even when empty. */
static void *span(const uint8_t *p)
{
    static const uint8_t empty[1];
    return (void *)(p ? p : empty);
}

static cf_status derive_hash(const crypto_kdf_req *r, const EVP_MD *md, size_t out_len,
                             cf_secret *out, const char **why)
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    const uint8_t *in = r->data ? r->data : r->key;
    size_t in_len = r->data ? r->data_len : r->key_len;
    cf_status st = CF_ERR_CRYPTO;

    if (out_len > (size_t)EVP_MD_get_size(md)) {
        *why = "the requested length exceeds the hash's output";
        return CF_ERR_CRYPTO;
    }
    if (EVP_Digest(span(in), in_len, d, &n, md, NULL) == 1)
        st = cf_secret_dup(out, d, out_len);
    OPENSSL_cleanse(d, sizeof d);
    return st;
}

static cf_status derive_method(const crypto_kdf_req *r, const EVP_MD *md, size_t out_len,
                               cf_secret *out, const char **why)
{
    char *mdname = (char *)EVP_MD_get0_name(md);
    int use0 = 0, pkcs5 = 1;
    uint64_t iter = r->iterations;
    OSSL_PARAM p[8], *q = p;

    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, mdname, 0);
    switch (r->method) {
    case KMIP_DERIVATION_METHOD_PBKDF2:
        if (r->salt == NULL || r->iterations == 0 || r->iterations > CRYPTO_PBKDF2_MAX_ITER)
            return WHY("PBKDF2 needs a Salt and an Iteration Count from 1 to 10000000");
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, span(r->key), r->key_len);
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, span(r->salt), r->salt_len);
        *q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_ITER, &iter);
        *q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5);
        *q = OSSL_PARAM_construct_end();
        return kdf_run("PBKDF2", p, out_len, out);
    case KMIP_DERIVATION_METHOD_HMAC:
    case KMIP_DERIVATION_METHOD_HKDF:
        if (out_len > 255 * (size_t)EVP_MD_get_size(md)) { /* RFC 5869 section 2.3 */
            *why = "the requested length exceeds HKDF's output";
            return CF_ERR_CRYPTO;
        }
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, span(r->key), r->key_len);
        if (r->salt_len > 0)
            *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, span(r->salt),
                                                     r->salt_len);
        if (r->data_len > 0)
            *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, span(r->data),
                                                     r->data_len);
        *q = OSSL_PARAM_construct_end();
        return kdf_run("HKDF", p, out_len, out);
    case KMIP_DERIVATION_METHOD_NIST800_108_C:
        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, "counter", 0);
        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, "HMAC", 0);
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, span(r->key), r->key_len);
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, span(r->data), r->data_len);
        *q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_KBKDF_USE_L, &use0);
        *q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_KBKDF_USE_SEPARATOR, &use0);
        *q = OSSL_PARAM_construct_end();
        return kdf_run("KBKDF", p, out_len, out);
    case KMIP_DERIVATION_METHOD_HASH:
        return derive_hash(r, md, out_len, out, why);
    default:
        return WHY("this Derivation Method is not offered");
    }
}

cf_status crypto_derive(const crypto_kdf_req *r, size_t out_len, cf_secret *out, const char **why)
{
    EVP_MD *md;
    cf_status st;

    out->p = NULL;
    out->len = 0;
    const char *why_sink = NULL;
    if (why == NULL)
        why = &why_sink;
    ERR_clear_error();
    if (out_len == 0 || out_len > CRYPTO_DERIVE_MAX)
        return WHY("the derived length must be from 1 to 8192 bytes");
    if (r->key_len == 0 && r->method != KMIP_DERIVATION_METHOD_HASH)
        return WHY("derivation needs a non-empty key");
    if ((md = crypto_md_fetch(r->hash)) == NULL)
        return WHY("a supported Hashing Algorithm is required for this Derivation Method");
    st = derive_method(r, md, out_len, out, why);
    EVP_MD_free(md);
    return st;
}
