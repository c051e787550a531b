/*
 * crypto_keyring.c - store KEKs and the sealed format for key material.
 *
 * Design: a keyring is one 256-bit KEK (a cf_secret) plus its id and an
 * AES-256-GCM EVP_CIPHER fetched once when the keyring is made. After that
 * the keyring is read-only, so any number of worker threads may seal and
 * open with it at once: each call makes its own EVP_CIPHER_CTX (fetching
 * per call would take the provider store's lock on every request).
 *
 * Sealed format (crypto.h): u8 version | u32 kek_id BE | 12-byte nonce |
 * ciphertext | 16-byte tag. The GCM AAD is the 17 header bytes followed by
 * the caller's AAD. The header has a fixed length, so the concatenation is
 * unambiguous; authenticating it means the version and the KEK id cannot be
 * rewritten to steer a future reader (say, toward a weaker format), and the
 * nonce is authenticated by GCM anyway. The caller's AAD binds the blob to
 * its row (tenant, uid): a blob copied to another row does not open.
 *
 * Nonces are 96 random bits per seal: under one KEK keep the number of seals
 * well below 2^32 (NIST SP 800-38D, 8.3) - i.e. rotate the KEK long before.
 *
 * Plaintext exists only in the caller's buffer (seal) or in the cf_secret
 * handed back (open): GCM decrypts straight into the secret, which is
 * cleansed and freed on every failure path, bad tag included.
 */
#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "util/log.h"

#define SEAL_NONCE 12
/* EVP lengths are int: feed at most this much per call. */
#define EVP_CHUNK ((size_t)1 << 30)

struct cf_keyring {
    uint32_t kek_id;
    cf_secret kek;
    EVP_CIPHER *gcm;
};

/* ---------------------------------------------------------- lifecycle */

/* Takes ownership of *kek (cleared) only on success. */
static cf_status keyring_new(uint32_t kek_id, cf_secret *kek, cf_keyring **out)
{
    cf_keyring *kr;

    if (kek->p == NULL || kek->len != CRYPTO_KEK_LEN) {
        CF_LOGW("keyring %u: KEK has %zu bytes, expected %d", (unsigned)kek_id, kek->len,
                CRYPTO_KEK_LEN);
        return CF_ERR_CRYPTO;
    }
    if ((kr = calloc(1, sizeof *kr)) == NULL)
        return CF_ERR_NOMEM;
    ERR_clear_error();
    if ((kr->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL) {
        crypto_log_errors("fetch AES-256-GCM");
        free(kr);
        return CF_ERR_CRYPTO;
    }
    kr->kek_id = kek_id;
    kr->kek = *kek;
    kek->p = NULL;
    kek->len = 0;
    *out = kr;
    return CF_OK;
}

/* A wrapped KEK that does not unwrap would make every object sealed under it
 * unreadable after the next restart: prove the round trip before use. */
static cf_status keyring_check_unwrap(cf_mk_provider *mk, const cf_secret *kek,
                                      const uint8_t *blob, size_t len)
{
    cf_secret back = {NULL, 0};
    cf_status rc;

    if ((rc = mk->unwrap(mk->self, blob, len, &back)) != CF_OK)
        return rc;
    if (back.len != kek->len || cf_memeq_ct(back.p, kek->p, kek->len) != 0) {
        CF_LOGE("master key provider %s: unwrap does not give back the wrapped KEK", mk->name);
        rc = CF_ERR_CRYPTO;
    }
    cf_secret_free(&back);
    return rc;
}

cf_status crypto_keyring_create(cf_mk_provider *mk, uint32_t kek_id, cf_buf *wrapped_out,
                                cf_keyring **out)
{
    cf_secret kek = {NULL, 0};
    size_t start = wrapped_out->len;
    cf_status rc;

    *out = NULL;
    if (mk == NULL || mk->wrap == NULL || mk->unwrap == NULL)
        return CF_ERR_INTERNAL;
    if ((rc = crypto_random_secret(CRYPTO_KEK_LEN, &kek)) != CF_OK)
        goto out;
    if ((rc = mk->wrap(mk->self, &kek, wrapped_out)) != CF_OK)
        goto out;
    rc = keyring_check_unwrap(mk, &kek, wrapped_out->p + start, wrapped_out->len - start);
    if (rc != CF_OK)
        goto out;
    rc = keyring_new(kek_id, &kek, out);
out:
    if (rc != CF_OK && wrapped_out->len > start) {
        cf_cleanse(wrapped_out->p + start, wrapped_out->len - start);
        wrapped_out->len = start; /* no blob for a keyring that does not exist */
    }
    cf_secret_free(&kek);
    return rc;
}

cf_status crypto_keyring_load(cf_mk_provider *mk, uint32_t kek_id, const uint8_t *wrapped,
                              size_t wrapped_len, cf_keyring **out)
{
    cf_secret kek = {NULL, 0};
    cf_status rc;

    *out = NULL;
    if (mk == NULL || mk->unwrap == NULL)
        return CF_ERR_INTERNAL;
    if ((rc = mk->unwrap(mk->self, wrapped, wrapped_len, &kek)) != CF_OK) {
        CF_LOGE("keyring %u: cannot unwrap the KEK with master key provider %s",
                (unsigned)kek_id, mk->name);
        return rc;
    }
    rc = keyring_new(kek_id, &kek, out);
    cf_secret_free(&kek);
    return rc;
}

void crypto_keyring_free(cf_keyring *kr)
{
    if (kr == NULL)
        return;
    cf_secret_free(&kr->kek);
    EVP_CIPHER_free(kr->gcm);
    free(kr);
}

uint32_t crypto_keyring_id(const cf_keyring *kr)
{
    return kr->kek_id;
}

cf_status crypto_sealed_kek_id(const uint8_t *sealed, size_t sealed_len, uint32_t *out_id)
{
    if (sealed == NULL || sealed_len < CRYPTO_SEAL_OVERHEAD || sealed[0] != CRYPTO_SEAL_VERSION)
        return CF_ERR_CRYPTO;
    *out_id = cf_be32(sealed + 1);
    return CF_OK;
}

/* ------------------------------------------------------------ sealing */

/* AAD when out is NULL, data otherwise; GCM output length equals input. */
static bool gcm_feed(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t n)
{
    while (n > 0) {
        size_t k = n < EVP_CHUNK ? n : EVP_CHUNK;
        int outl = 0;
        if (EVP_CipherUpdate(ctx, out, &outl, in, (int)k) != 1 || (size_t)outl != k)
            return false;
        in += k;
        n -= k;
        if (out != NULL)
            out += k;
    }
    return true;
}

static cf_status gcm_start(const cf_keyring *kr, int enc, const uint8_t *hdr,
                           const uint8_t *aad, size_t aad_len, EVP_CIPHER_CTX **out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

    *out = NULL;
    if (ctx == NULL)
        return CF_ERR_NOMEM;
    if (EVP_CipherInit_ex2(ctx, kr->gcm, kr->kek.p, hdr + 5, enc, NULL) != 1
        || !gcm_feed(ctx, NULL, hdr, CRYPTO_SEAL_HEADER) || !gcm_feed(ctx, NULL, aad, aad_len)) {
        EVP_CIPHER_CTX_free(ctx);
        return CF_ERR_CRYPTO;
    }
    *out = ctx;
    return CF_OK;
}

static cf_status buf_reserve_status(cf_buf *b, size_t n)
{
    if (cf_buf_reserve(b, n))
        return CF_OK;
    return (b->max != 0 && (n > b->max || b->len > b->max - n)) ? CF_ERR_LIMIT : CF_ERR_NOMEM;
}

cf_status crypto_seal(const cf_keyring *kr, const uint8_t *aad, size_t aad_len,
                      const uint8_t *pt, size_t pt_len, cf_buf *out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    size_t start = out->len;
    uint8_t *hdr, *ct;
    OSSL_PARAM params[2];
    int fin = 0;
    cf_status rc;

    if ((pt_len > 0 && pt == NULL) || (aad_len > 0 && aad == NULL))
        return CF_ERR_INTERNAL;
    if (pt_len > SIZE_MAX - CRYPTO_SEAL_OVERHEAD)
        return CF_ERR_LIMIT;
    if ((rc = buf_reserve_status(out, pt_len + CRYPTO_SEAL_OVERHEAD)) != CF_OK)
        return rc;
    hdr = out->p + start;
    ct = hdr + CRYPTO_SEAL_HEADER;
    hdr[0] = CRYPTO_SEAL_VERSION;
    cf_put_be32(hdr + 1, kr->kek_id);
    if ((rc = crypto_random(hdr + 5, SEAL_NONCE)) != CF_OK)
        goto out;
    ERR_clear_error();
    if ((rc = gcm_start(kr, 1, hdr, aad, aad_len, &ctx)) != CF_OK)
        goto out;
    rc = CF_ERR_CRYPTO;
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, ct + pt_len,
                                                  CRYPTO_SEAL_TAG);
    params[1] = OSSL_PARAM_construct_end();
    if (!gcm_feed(ctx, ct, pt, pt_len) || EVP_EncryptFinal_ex(ctx, ct + pt_len, &fin) != 1
        || fin != 0 || EVP_CIPHER_CTX_get_params(ctx, params) != 1)
        goto out;
    out->len = start + pt_len + CRYPTO_SEAL_OVERHEAD;
    rc = CF_OK;
out:
    if (rc != CF_OK) {
        crypto_log_errors("crypto_seal");
        cf_cleanse(out->p + start, pt_len + CRYPTO_SEAL_OVERHEAD);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

static cf_status open_check_header(const cf_keyring *kr, const uint8_t *sealed, size_t len)
{
    if (sealed == NULL || len < CRYPTO_SEAL_OVERHEAD) {
        CF_LOGD("crypto_open: truncated sealed blob (%zu bytes)", len);
        return CF_ERR_CRYPTO;
    }
    if (sealed[0] != CRYPTO_SEAL_VERSION) {
        CF_LOGD("crypto_open: unknown sealed format version %u", (unsigned)sealed[0]);
        return CF_ERR_CRYPTO;
    }
    if (cf_be32(sealed + 1) != kr->kek_id) {
        CF_LOGD("crypto_open: sealed under KEK %u, keyring holds KEK %u",
                (unsigned)cf_be32(sealed + 1), (unsigned)kr->kek_id);
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}

cf_status crypto_open(const cf_keyring *kr, const uint8_t *aad, size_t aad_len,
                      const uint8_t *sealed, size_t sealed_len, cf_secret *out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t tag[CRYPTO_SEAL_TAG], scratch[32];
    OSSL_PARAM params[2];
    size_t ct_len;
    int fin = 0;
    cf_status rc;

    out->p = NULL;
    out->len = 0;
    if ((rc = open_check_header(kr, sealed, sealed_len)) != CF_OK)
        return rc;
    if (aad_len > 0 && aad == NULL)
        return CF_ERR_INTERNAL;
    ct_len = sealed_len - CRYPTO_SEAL_OVERHEAD;
    memcpy(tag, sealed + sealed_len - CRYPTO_SEAL_TAG, sizeof tag);
    if ((rc = cf_secret_alloc(out, ct_len)) != CF_OK)
        return rc;
    out->len = ct_len;
    ERR_clear_error();
    if ((rc = gcm_start(kr, 0, sealed, aad, aad_len, &ctx)) != CF_OK)
        goto out;
    rc = CF_ERR_CRYPTO;
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, sizeof tag);
    params[1] = OSSL_PARAM_construct_end();
    if (!gcm_feed(ctx, out->p, sealed + CRYPTO_SEAL_HEADER, ct_len)
        || EVP_CIPHER_CTX_set_params(ctx, params) != 1)
        goto out;
    if (EVP_DecryptFinal_ex(ctx, scratch, &fin) != 1 || fin != 0) {
        CF_LOGD("crypto_open: authentication failed (KEK %u)", (unsigned)kr->kek_id);
        goto out;
    }
    rc = CF_OK;
out:
    if (rc != CF_OK) {
        crypto_log_errors("crypto_open");
        cf_secret_free(out);
    }
    EVP_CIPHER_CTX_free(ctx);
    cf_cleanse(scratch, sizeof scratch);
    return rc;
}
