/*
 * crypto_wrap.c - key wrapping (AES key wrap RFC 3394 / RFC 5649, RSA-OAEP),
 * the Digest attribute's hash, and which symmetric algorithms and lengths
 * Create may make (including OpenSSL 3's legacy provider ciphers).
 *
 * Design: the legacy provider is loaded at most once per process, lazily,
 * under pthread_once, with retain_fallbacks so the default provider stays
 * available; whether a legacy cipher exists is then asked of OpenSSL
 * (EVP_CIPHER_fetch) rather than assumed, since distributions build
 * OpenSSL with different ciphers disabled (IDEA in particular).
 */
#include "crypto/crypto_keys.h"
#include "crypto/crypto.h"
#include "crypto/crypto_ops.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>

#include "ttlv/ttlv.h"
#include "util/log.h"

/* ------------------------------------------------------------- digests */
cf_status crypto_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int len = 0;
    ERR_clear_error();
    if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32) {
        crypto_log_errors("SHA-256");
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}

/* ------------------------------------------------------ legacy provider */
static pthread_once_t legacy_once = PTHREAD_ONCE_INIT;
static bool legacy_loaded;
static OSSL_PROVIDER *legacy_provider; /* kept for the life of the process */

/* Unloading before OpenSSL's own atexit cleanup (atexit runs handlers in
 * reverse order, OpenSSL registered first) lets the legacy module free its
 * child library context, which it otherwise leaks when dlclose'd. */
static void legacy_unload(void)
{
    OSSL_PROVIDER_unload(legacy_provider);
    legacy_provider = NULL;
}

static void legacy_load(void)
{
    /* retain_fallbacks = 1: the default provider stays available. The
     * provider object is kept for the life of the process. */
    legacy_provider = OSSL_PROVIDER_try_load(NULL, "legacy", 1);
    legacy_loaded = legacy_provider != NULL;
    if (legacy_loaded && atexit(legacy_unload) != 0)
        CF_LOGW("cannot register the legacy provider's unload at exit");
    if (!legacy_loaded) {
        ERR_clear_error();
        CF_LOGI("OpenSSL legacy provider not available: legacy ciphers are refused");
    }
}

bool crypto_legacy_available(void)
{
    pthread_once(&legacy_once, legacy_load);
    return legacy_loaded;
}

static bool cipher_available(const char *name)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_free(c);
    ERR_clear_error();
    return c != NULL;
}

/* ---------------------------------------------------- symmetric lengths */
/* Which lengths Create accepts, per algorithm. min..max step `step` bits;
 * `legacy` names the cipher to fetch from the legacy provider. */
static const struct sym_rule {
    uint32_t alg;
    int32_t min, max, step;
    const char *legacy;
    const char *why;
} sym_rules[] = {
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 128, 256, 64, NULL, "AES keys are 128, 192 or 256 bits"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES, 168, 192, 24, NULL,
     "3DES keys are 168 bits (192 with parity bits)"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_CHACHA20, 256, 256, 8, NULL, "ChaCha20 keys are 256 bits"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_CHACHA20POLY1305, 256, 256, 8, NULL,
     "ChaCha20-Poly1305 keys are 256 bits"},
    /* HMAC: at least 112 bits (NIST SP 800-131A security strength), at
     * most 8192 bits (a key longer than the block is hashed anyway). */
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA1, 112, 8192, 8, NULL, "HMAC keys are 112-8192 bits, a multiple of 8"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA224, 112, 8192, 8, NULL, "HMAC keys are 112-8192 bits, a multiple of 8"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256, 112, 8192, 8, NULL, "HMAC keys are 112-8192 bits, a multiple of 8"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA384, 112, 8192, 8, NULL, "HMAC keys are 112-8192 bits, a multiple of 8"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA512, 112, 8192, 8, NULL, "HMAC keys are 112-8192 bits, a multiple of 8"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_224, 112, 8192, 8, NULL, "HMAC keys are 112-8192 bits, a multiple of 8"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_256, 112, 8192, 8, NULL, "HMAC keys are 112-8192 bits, a multiple of 8"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_384, 112, 8192, 8, NULL, "HMAC keys are 112-8192 bits, a multiple of 8"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_512, 112, 8192, 8, NULL, "HMAC keys are 112-8192 bits, a multiple of 8"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_BLOWFISH, 32, 448, 8, "BF-ECB", "Blowfish keys are 32-448 bits, a multiple of 8"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_IDEA, 128, 128, 8, "IDEA-ECB", "IDEA keys are 128 bits"},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_CAST5, 40, 128, 8, "CAST5-ECB", "CAST5 keys are 40-128 bits, a multiple of 8"},
};

cf_status crypto_sym_check(uint32_t algorithm, int32_t bits, size_t *out_bytes,
                           const char **out_why)
{
    for (size_t i = 0; i < sizeof sym_rules / sizeof sym_rules[0]; i++) {
        const struct sym_rule *r = &sym_rules[i];
        if (r->alg != algorithm)
            continue;
        if (r->legacy != NULL && (!crypto_legacy_available() || !cipher_available(r->legacy))) {
            *out_why = "this legacy algorithm is not available in this server's OpenSSL";
            return CF_ERR_INVALID_FIELD;
        }
        if (bits < r->min || bits > r->max || (bits - r->min) % r->step != 0) {
            *out_why = r->why;
            return CF_ERR_INVALID_FIELD;
        }
        *out_bytes = algorithm == KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES ? 24 : (size_t)bits / 8;
        *out_why = NULL;
        return CF_OK;
    }
    *out_why = "this Cryptographic Algorithm is not supported for symmetric keys";
    return CF_ERR_INVALID_FIELD;
}

/* ------------------------------------------------------------ AES wrap */
static const char *aes_wrap_name(size_t kek_len, bool padding)
{
    switch (kek_len) {
    case 16: return padding ? "AES-128-WRAP-PAD" : "AES-128-WRAP";
    case 24: return padding ? "AES-192-WRAP-PAD" : "AES-192-WRAP";
    case 32: return padding ? "AES-256-WRAP-PAD" : "AES-256-WRAP";
    default: return NULL;
    }
}

/* One EVP pass of AES key wrap (enc) or unwrap (!enc) into out (which
 * must hold in_len + 16 bytes). */
static cf_status aes_wrap_run(const uint8_t *kek, size_t kek_len, bool padding, bool enc,
                              const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    const char *name = aes_wrap_name(kek_len, padding);
    EVP_CIPHER *c = name ? EVP_CIPHER_fetch(NULL, name, NULL) : NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    cf_status st = CF_ERR_CRYPTO;

    if (name == NULL) {
        st = CF_ERR_INVALID_FIELD;
    } else if (c != NULL && ctx != NULL && in_len <= INT32_MAX) {
        EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        if (EVP_CipherInit_ex2(ctx, c, kek, NULL, enc ? 1 : 0, NULL) == 1 &&
            EVP_CipherUpdate(ctx, out, &l1, in, (int)in_len) == 1 &&
            EVP_CipherFinal_ex(ctx, out + l1, &l2) == 1) {
            *out_len = (size_t)l1 + (size_t)l2;
            st = CF_OK;
        }
    }
    if (st == CF_ERR_CRYPTO && enc)
        crypto_log_errors("AES key wrap");
    ERR_clear_error(); /* a failed unwrap is the client's data, not ours */
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return st;
}

cf_status crypto_aes_wrap(const uint8_t *kek, size_t kek_len, bool padding, const uint8_t *in,
                          size_t in_len, cf_buf *out)
{
    size_t n = 0, before = out->len;
    cf_status st;

    /* RFC 3394 section 2: n >= 2 blocks of 64 bits; RFC 5649: 1 octet or more. */
    if (padding ? in_len == 0 : (in_len < 16 || in_len % 8 != 0))
        return CF_ERR_INVALID_FIELD;
    if (in_len > 64 * 1024 || !cf_buf_reserve(out, in_len + 16))
        return CF_ERR_NOMEM;
    ERR_clear_error();
    st = aes_wrap_run(kek, kek_len, padding, true, in, in_len, out->p + before, &n);
    if (st == CF_OK)
        out->len = before + n;
    return st;
}

cf_status crypto_aes_unwrap(const uint8_t *kek, size_t kek_len, bool padding, const uint8_t *in,
                            size_t in_len, cf_secret *out)
{
    size_t n = 0;
    cf_status st;

    out->p = NULL;
    out->len = 0;
    if (in_len < 16 || in_len % 8 != 0 || in_len > 64 * 1024)
        return CF_ERR_CRYPTO;
    if ((st = cf_secret_alloc(out, in_len + 16)) != CF_OK)
        return st;
    ERR_clear_error();
    st = aes_wrap_run(kek, kek_len, padding, false, in, in_len, out->p, &n);
    if (st != CF_OK) {
        cf_secret_free(out);
        return st;
    }
    out->len = n;
    return CF_OK;
}

/* ------------------------------------------------------------ RSA-OAEP */
static cf_status oaep_ctx(EVP_PKEY *key, bool enc, uint32_t hash, uint32_t mgf_hash,
                          EVP_PKEY_CTX **out)
{
    uint32_t h = hash ? hash : KMIP_HASHING_ALGORITHM_SHA_1, mh = mgf_hash ? mgf_hash : h;
    EVP_MD *md = NULL, *mgf = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    cf_status st = CF_ERR_UNSUPPORTED;

    /* Wrapping offers the SHA families only, not MD5. */
    if (h == KMIP_HASHING_ALGORITHM_MD5 || mh == KMIP_HASHING_ALGORITHM_MD5 ||
        (md = crypto_md_fetch(h)) == NULL || (mgf = crypto_md_fetch(mh)) == NULL)
        goto out;
    st = CF_ERR_INVALID_FIELD;
    if (!EVP_PKEY_is_a(key, "RSA"))
        goto out;
    st = CF_ERR_CRYPTO;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (ctx == NULL || (enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mgf) != 1) {
        crypto_log_errors("RSA-OAEP setup");
        EVP_PKEY_CTX_free(ctx);
        goto out;
    }
    *out = ctx;
    st = CF_OK;
out:
    EVP_MD_free(md);
    EVP_MD_free(mgf);
    return st;
}

cf_status crypto_rsa_oaep_wrap(EVP_PKEY *pub, uint32_t hash, uint32_t mgf_hash, const uint8_t *in,
                               size_t in_len, cf_buf *out)
{
    EVP_PKEY_CTX *ctx = NULL;
    size_t n = 0;
    cf_status st;

    ERR_clear_error();
    if ((st = oaep_ctx(pub, true, hash, mgf_hash, &ctx)) != CF_OK)
        return st;
    st = CF_ERR_CRYPTO;
    if (EVP_PKEY_encrypt(ctx, NULL, &n, in, in_len) == 1 && cf_buf_reserve(out, n)) {
        if (EVP_PKEY_encrypt(ctx, out->p + out->len, &n, in, in_len) == 1) {
            out->len += n;
            st = CF_OK;
        }
    }
    if (st != CF_OK) {
        /* Too long a key for this modulus and hash is the caller's error. */
        ERR_clear_error();
        st = CF_ERR_INVALID_FIELD;
    }
    EVP_PKEY_CTX_free(ctx);
    return st;
}

cf_status crypto_rsa_oaep_unwrap(EVP_PKEY *priv, uint32_t hash, uint32_t mgf_hash,
                                 const uint8_t *in, size_t in_len, cf_secret *out)
{
    EVP_PKEY_CTX *ctx = NULL;
    size_t n = 0;
    cf_status st;

    out->p = NULL;
    out->len = 0;
    ERR_clear_error();
    if ((st = oaep_ctx(priv, false, hash, mgf_hash, &ctx)) != CF_OK)
        return st;
    st = CF_ERR_CRYPTO;
    if (EVP_PKEY_decrypt(ctx, NULL, &n, in, in_len) == 1 && cf_secret_alloc(out, n) == CF_OK) {
        if (EVP_PKEY_decrypt(ctx, out->p, &n, in, in_len) == 1) {
            out->len = n;
            st = CF_OK;
        } else {
            cf_secret_free(out);
        }
    }
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    return st;
}
