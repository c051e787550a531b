/*
 * crypto_ops.c - symmetric ciphers, MACs, signatures, RSA encryption and
 * RNG seeding with OpenSSL 3's EVP interfaces, for the KMIP cryptographic
 * operations (see crypto_ops.h for the contracts); key derivation is in
 * crypto_derive.c. crypto_md_fetch is the one KMIP Hashing Algorithm ->
 * EVP_MD lookup of the crypto module.
 *
 * Design: a small table says, for each KMIP symmetric algorithm, how its
 * OpenSSL cipher is named and which key lengths it takes; the cipher itself
 * is fetched by name, so what this server offers is exactly what its
 * OpenSSL (and, for legacy algorithms, the legacy provider) offers. Padding
 * methods other than PKCS#5 (which OpenSSL does) are applied here on a
 * cleansed copy. Plaintext only ever lives in cf_secret buffers; on a
 * failed authentication or padding check the partial output is cleansed
 * before the error returns, so callers never see unauthenticated plaintext.
 */
#include "crypto/crypto_ops.h"
#include "crypto/crypto.h"
#include "crypto/crypto_keys.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "ttlv/ttlv.h"

/* Data passed to OpenSSL's int-length interfaces: far above any KMIP
 * message (CF_LIMIT_KMIP_MESSAGE) yet far below INT_MAX. */
#define OPS_MAX_DATA ((size_t)64 * 1024 * 1024)

#define WHY(msg) (*why = (msg), CF_ERR_INVALID_FIELD)

/* ------------------------------------------------------------ digests */

EVP_MD *crypto_md_fetch(uint32_t hash)
{
    static const struct { uint32_t kmip; const char *name; } mds[] = {
        {KMIP_HASHING_ALGORITHM_MD5, "MD5"},
        {KMIP_HASHING_ALGORITHM_SHA_1, "SHA1"},
        {KMIP_HASHING_ALGORITHM_SHA_224, "SHA224"},
        {KMIP_HASHING_ALGORITHM_SHA_256, "SHA256"},
        {KMIP_HASHING_ALGORITHM_SHA_384, "SHA384"},
        {KMIP_HASHING_ALGORITHM_SHA_512, "SHA512"},
        {KMIP_HASHING_ALGORITHM_SHA_512_224, "SHA512-224"},
        {KMIP_HASHING_ALGORITHM_SHA_512_256, "SHA512-256"},
        {KMIP_HASHING_ALGORITHM_SHA3_224, "SHA3-224"},
        {KMIP_HASHING_ALGORITHM_SHA3_256, "SHA3-256"},
        {KMIP_HASHING_ALGORITHM_SHA3_384, "SHA3-384"},
        {KMIP_HASHING_ALGORITHM_SHA3_512, "SHA3-512"},
    };
    for (size_t i = 0; i < sizeof mds / sizeof mds[0]; i++) {
        if (mds[i].kmip == hash) {
            EVP_MD *md = EVP_MD_fetch(NULL, mds[i].name, NULL);
            if (md == NULL)
                ERR_clear_error();
            return md;
        }
    }
    return NULL;
}

/* ------------------------------------------------------ cipher lookup */

enum { ALG_SIZED = 1, ALG_LEGACY = 2, ALG_VARKEY = 4, ALG_STREAM = 8, ALG_AEAD = 16 };

static const struct sym_alg {
    uint32_t alg;
    const char *name;   /* OpenSSL name prefix, or the whole name for streams */
    unsigned flags;
    size_t key_min, key_max;  /* bytes */
} sym_algs[] = {
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, "AES", ALG_SIZED, 16, 32},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_CAMELLIA, "CAMELLIA", ALG_SIZED, 16, 32},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_ARIA, "ARIA", ALG_SIZED, 16, 32},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES, "DES-EDE3", 0, 16, 24},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_SM4, "SM4", 0, 16, 16},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_DES, "DES", ALG_LEGACY, 8, 8},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_BLOWFISH, "BF", ALG_LEGACY | ALG_VARKEY, 4, 56},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_CAST5, "CAST5", ALG_LEGACY | ALG_VARKEY, 5, 16},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_IDEA, "IDEA", ALG_LEGACY, 16, 16},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_SEED, "SEED", ALG_LEGACY, 16, 16},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_RC4, "RC4", ALG_LEGACY | ALG_VARKEY | ALG_STREAM, 5, 256},
    {KMIP_CRYPTOGRAPHIC_ALGORITHM_CHACHA20POLY1305, "ChaCha20-Poly1305", ALG_STREAM | ALG_AEAD,
     32, 32},
};

static const struct sym_alg *sym_alg_find(uint32_t alg)
{
    for (size_t i = 0; i < sizeof sym_algs / sizeof sym_algs[0]; i++)
        if (sym_algs[i].alg == alg)
            return &sym_algs[i];
    return NULL;
}

static const char *mode_name(uint32_t mode)
{
    switch (mode) {
    case KMIP_BLOCK_CIPHER_MODE_ECB: return "ECB";
    case KMIP_BLOCK_CIPHER_MODE_CBC: return "CBC";
    case KMIP_BLOCK_CIPHER_MODE_CFB: return "CFB";
    case KMIP_BLOCK_CIPHER_MODE_OFB: return "OFB";
    case KMIP_BLOCK_CIPHER_MODE_CTR: return "CTR";
    case KMIP_BLOCK_CIPHER_MODE_GCM: return "GCM";
    default: return NULL;
    }
}

/* The OpenSSL name of the cipher for r, or a reason it has none. */
static cf_status cipher_name(const crypto_cipher_req *r, const struct sym_alg *a, char *buf,
                             size_t len, const char **why)
{
    const char *m;
    int n;

    if (a->flags & ALG_STREAM) {
        if (r->mode != 0 && !(r->mode == KMIP_BLOCK_CIPHER_MODE_AEAD && (a->flags & ALG_AEAD)))
            return WHY("this stream cipher takes no Block Cipher Mode");
        n = snprintf(buf, len, "%s", a->name);
    } else {
        if (r->mode == 0)
            return WHY("a Block Cipher Mode is required for this algorithm");
        if ((m = mode_name(r->mode)) == NULL)
            return WHY("this Block Cipher Mode is not offered for Encrypt/Decrypt");
        if (a->flags & ALG_SIZED)
            n = snprintf(buf, len, "%s-%zu-%s", a->name, r->key_len * 8, m);
        else if (r->algorithm == KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES && r->key_len == 16)
            n = snprintf(buf, len, "DES-EDE-%s", m);
        else
            n = snprintf(buf, len, "%s-%s", a->name, m);
    }
    return n > 0 && (size_t)n < len ? CF_OK : CF_ERR_INTERNAL;
}

static cf_status cipher_fetch(const crypto_cipher_req *r, EVP_CIPHER **out,
                              crypto_cipher_info *info, const char **why)
{
    const struct sym_alg *a = sym_alg_find(r->algorithm);
    char name[64];
    cf_status st;

    *out = NULL;
    if (a == NULL)
        return WHY("the key's Cryptographic Algorithm is not offered for Encrypt/Decrypt");
    if (r->key_len < a->key_min || r->key_len > a->key_max ||
        ((a->flags & ALG_SIZED) && r->key_len % 8 != 0))
        return WHY("the key's length does not suit its algorithm");
    if ((st = cipher_name(r, a, name, sizeof name, why)) != CF_OK)
        return st;
    if ((a->flags & ALG_LEGACY) && !crypto_legacy_available())
        return WHY("legacy algorithms are not available in this server's OpenSSL");
    if ((*out = EVP_CIPHER_fetch(NULL, name, NULL)) == NULL) {
        ERR_clear_error();
        return WHY("this algorithm and mode are not offered by this server's OpenSSL");
    }
    memset(info, 0, sizeof *info);
    info->block = (size_t)EVP_CIPHER_get_block_size(*out);
    info->iv_len = (size_t)EVP_CIPHER_get_iv_length(*out);
    info->aead = (a->flags & ALG_AEAD) || r->mode == KMIP_BLOCK_CIPHER_MODE_GCM;
    info->iv_variable = r->mode == KMIP_BLOCK_CIPHER_MODE_GCM;
    info->pads = r->mode == KMIP_BLOCK_CIPHER_MODE_ECB || r->mode == KMIP_BLOCK_CIPHER_MODE_CBC;
    return CF_OK;
}

static cf_status check_params(const crypto_cipher_req *r, const crypto_cipher_info *info,
                              const char **why)
{
    uint32_t p = r->padding == KMIP_PADDING_METHOD_NONE ? 0 : r->padding;
    if (p != 0 && !(info->pads && (p == KMIP_PADDING_METHOD_PKCS5 ||
                                   p == KMIP_PADDING_METHOD_ANSI_X9_23 ||
                                   p == KMIP_PADDING_METHOD_ISO_10126)))
        return WHY("this Padding Method is not offered with this mode");
    if (r->iv != NULL && info->iv_len > 0) {
        if (info->iv_variable ? (r->iv_len == 0 || r->iv_len > CRYPTO_IV_MAX)
                              : r->iv_len != info->iv_len)
            return WHY("the IV/Counter/Nonce length does not suit the mode");
    }
    if (info->aead) {
        size_t t = r->tag_len;
        bool ok = info->iv_variable ? (t == 4 || t == 8 || (t >= 12 && t <= 16)) : t == 16;
        if (!ok) /* SP 800-38D section 5.2.1.2 */
            return WHY("invalid Tag Length for this mode");
    } else if (r->aad_len > 0 || r->tag != NULL) {
        return WHY("Authenticated Encryption data given for a mode that is not authenticated");
    }
    return CF_OK;
}

cf_status crypto_cipher_check(const crypto_cipher_req *r, crypto_cipher_info *out,
                              const char **why)
{
    EVP_CIPHER *c = NULL;
    cf_status st;
    const char *why_sink = NULL;
    if (why == NULL)
        why = &why_sink;
    ERR_clear_error();
    if ((st = cipher_fetch(r, &c, out, why)) == CF_OK)
        st = check_params(r, out, why);
    EVP_CIPHER_free(c);
    return st;
}

/* A context ready for update: cipher, key length, IV length, key, IV,
 * OpenSSL padding only for PKCS#5, AAD fed. */
static cf_status ctx_setup(const crypto_cipher_req *r, const EVP_CIPHER *c,
                           const crypto_cipher_info *info, int enc, EVP_CIPHER_CTX **out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    const struct sym_alg *a = sym_alg_find(r->algorithm);
    int n;

    *out = ctx;
    if (ctx == NULL || !EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc, NULL))
        return CF_ERR_CRYPTO;
    if ((a->flags & ALG_VARKEY) && !EVP_CIPHER_CTX_set_key_length(ctx, (int)r->key_len))
        return CF_ERR_CRYPTO;
    if (info->iv_variable && r->iv_len != info->iv_len &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)r->iv_len, NULL) != 1)
        return CF_ERR_CRYPTO;
    if (!EVP_CipherInit_ex2(ctx, NULL, r->key, info->iv_len ? r->iv : NULL, enc, NULL))
        return CF_ERR_CRYPTO;
    EVP_CIPHER_CTX_set_padding(ctx, r->padding == KMIP_PADDING_METHOD_PKCS5);
    if (info->aead && !enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)r->tag_len,
                                                  (void *)r->tag) != 1)
        return CF_ERR_CRYPTO;
    if (info->aead && r->aad_len > 0 && !EVP_CipherUpdate(ctx, NULL, &n, r->aad, (int)r->aad_len))
        return CF_ERR_CRYPTO;
    return CF_OK;
}

/* Run the cipher over in into out (capacity in_len + block). */
static cf_status ctx_run(EVP_CIPHER_CTX *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                         size_t *out_len)
{
    int n = 0, m = 0;
    if (in_len > 0 && !EVP_CipherUpdate(ctx, out, &n, in, (int)in_len))
        return CF_ERR_CRYPTO;
    if (!EVP_CipherFinal_ex(ctx, out + n, &m))
        return CF_ERR_CRYPTO;
    *out_len = (size_t)n + (size_t)m;
    return CF_OK;
}

/* ANSI X9.23 (zeros then the count) or ISO 10126 (random then the count)
 * padding to a whole number of blocks, on a secret copy. */
static cf_status pad_manual(const crypto_cipher_req *r, size_t block, const uint8_t *in,
                            size_t in_len, cf_secret *out)
{
    size_t n = block - in_len % block;
    cf_status st = cf_secret_alloc(out, in_len + n);
    if (st != CF_OK)
        return st;
    if (in_len)
        memcpy(out->p, in, in_len);
    if (r->padding == KMIP_PADDING_METHOD_ISO_10126 &&
        (st = crypto_random(out->p + in_len, n - 1)) != CF_OK) {
        cf_secret_free(out);
        return st;
    }
    out->p[in_len + n - 1] = (uint8_t)n;
    return CF_OK;
}

/* Remove X9.23 / ISO 10126 padding in place; CF_ERR_CRYPTO if malformed. */
static cf_status unpad_manual(const crypto_cipher_req *r, size_t block, cf_secret *s,
                              size_t *len)
{
    size_t n = *len ? s->p[*len - 1] : 0;
    unsigned bad = 0;
    if (*len == 0 || *len % block != 0 || n == 0 || n > block)
        return CF_ERR_CRYPTO;
    if (r->padding == KMIP_PADDING_METHOD_ANSI_X9_23)
        for (size_t i = *len - n; i < *len - 1; i++)
            bad |= s->p[i];
    if (bad)
        return CF_ERR_CRYPTO;
    cf_cleanse(s->p + *len - n, n);
    *len -= n;
    return CF_OK;
}

static bool pads_manually(const crypto_cipher_req *r)
{
    return r->padding == KMIP_PADDING_METHOD_ANSI_X9_23 ||
           r->padding == KMIP_PADDING_METHOD_ISO_10126;
}

static cf_status encrypt_run(const crypto_cipher_req *r, const EVP_CIPHER *c,
                             const crypto_cipher_info *info, const uint8_t *in, size_t in_len,
                             cf_buf *out, uint8_t *tag_out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    cf_secret padded = {0};
    size_t done = 0, start = out->len;
    cf_status st;

    if (pads_manually(r)) {
        if ((st = pad_manual(r, info->block, in, in_len, &padded)) != CF_OK)
            return st;
        in = padded.p;
        in_len = padded.len;
    }
    if ((st = ctx_setup(r, c, info, 1, &ctx)) != CF_OK)
        goto out;
    if (!cf_buf_reserve(out, in_len + info->block)) {
        st = CF_ERR_NOMEM;
        goto out;
    }
    if ((st = ctx_run(ctx, in, in_len, out->p + start, &done)) != CF_OK)
        goto out;
    out->len = start + done;
    if (info->aead && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)r->tag_len,
                                          tag_out) != 1) {
        out->len = start;
        st = CF_ERR_CRYPTO;
    }
out:
    EVP_CIPHER_CTX_free(ctx);
    cf_secret_free(&padded);
    return st;
}

static cf_status check_data(const crypto_cipher_req *r, const crypto_cipher_info *info,
                            size_t in_len, bool enc, const char **why)
{
    bool openssl_pads = r->padding == KMIP_PADDING_METHOD_PKCS5;
    if (in_len > OPS_MAX_DATA)
        return CF_ERR_LIMIT;
    if (r->iv == NULL && info->iv_len > 0)
        return WHY("an IV/Counter/Nonce is required");
    if (info->pads && info->block > 1 && in_len % info->block != 0 &&
        (!enc || (!openssl_pads && !pads_manually(r))))
        return WHY("data length is not a multiple of the block size");
    if (!enc && info->aead && r->tag == NULL)
        return WHY("the Authenticated Encryption Tag is required");
    return CF_OK;
}

cf_status crypto_encrypt(const crypto_cipher_req *r, const uint8_t *in, size_t in_len, cf_buf *out,
                         uint8_t tag_out[CRYPTO_TAG_MAX], const char **why)
{
    EVP_CIPHER *c = NULL;
    crypto_cipher_info info = {0};
    cf_status st;

    const char *why_sink = NULL;
    if (why == NULL)
        why = &why_sink;
    ERR_clear_error();
    if ((st = cipher_fetch(r, &c, &info, why)) == CF_OK &&
        (st = check_params(r, &info, why)) == CF_OK &&
        (st = check_data(r, &info, in_len, true, why)) == CF_OK)
        st = encrypt_run(r, c, &info, in, in_len, out, tag_out);
    if (st == CF_ERR_CRYPTO)
        crypto_log_errors("encrypt");
    EVP_CIPHER_free(c);
    return st;
}

static cf_status decrypt_run(const crypto_cipher_req *r, const EVP_CIPHER *c,
                             const crypto_cipher_info *info, const uint8_t *in, size_t in_len,
                             cf_secret *out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    size_t cap = in_len + info->block, done = 0;
    cf_status st;

    if ((st = cf_secret_alloc(out, cap)) != CF_OK)
        return st;
    if ((st = ctx_setup(r, c, info, 0, &ctx)) != CF_OK)
        goto out;
    if ((st = ctx_run(ctx, in, in_len, out->p, &done)) != CF_OK)
        goto out;
    if (pads_manually(r))
        st = unpad_manual(r, info->block, out, &done);
out:
    EVP_CIPHER_CTX_free(ctx);
    if (st != CF_OK) {
        cf_cleanse(out->p, cap); /* no unauthenticated plaintext escapes */
        cf_secret_free(out);
        return st;
    }
    cf_cleanse(out->p + done, cap - done);
    out->len = done;
    return CF_OK;
}

cf_status crypto_decrypt(const crypto_cipher_req *r, const uint8_t *in, size_t in_len,
                         cf_secret *out, const char **why)
{
    EVP_CIPHER *c = NULL;
    crypto_cipher_info info = {0};
    cf_status st;

    out->p = NULL;
    out->len = 0;
    const char *why_sink = NULL;
    if (why == NULL)
        why = &why_sink;
    ERR_clear_error();
    if ((st = cipher_fetch(r, &c, &info, why)) == CF_OK &&
        (st = check_params(r, &info, why)) == CF_OK &&
        (st = check_data(r, &info, in_len, false, why)) == CF_OK)
        st = decrypt_run(r, c, &info, in, in_len, out);
    if (st == CF_ERR_CRYPTO) {
        *why = info.aead ? "authentication failed" : "decryption failed";
        crypto_log_errors("decrypt");
    }
    EVP_CIPHER_free(c);
    return st;
}

/* -------------------------------------------------------------------- MAC */

static const char *hmac_md_name(uint32_t alg)
{
    switch (alg) {
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA1: return "SHA1";
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA224: return "SHA224";
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256: return "SHA256";
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA384: return "SHA384";
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA512: return "SHA512";
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_MD5: return "MD5";
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_224: return "SHA3-224";
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_256: return "SHA3-256";
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_384: return "SHA3-384";
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_512: return "SHA3-512";
    default: return NULL;
    }
}

/* EVP_MAC name and its one parameter (digest or CBC cipher) for the request. */
static cf_status mac_select(uint32_t alg, uint32_t mode, size_t key_len, const char **mac,
                            char *param, size_t param_len, const char **why)
{
    const char *md = hmac_md_name(alg);
    int n;

    if (key_len == 0)
        return WHY("the MAC key is empty");
    if (md != NULL && mode != KMIP_BLOCK_CIPHER_MODE_CMAC) {
        *mac = "HMAC";
        n = snprintf(param, param_len, "%s", md);
    } else if (mode == KMIP_BLOCK_CIPHER_MODE_CMAC &&
               (alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES ||
                alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_CAMELLIA) &&
               (key_len == 16 || key_len == 24 || key_len == 32)) {
        *mac = "CMAC";
        n = snprintf(param, param_len, "%s-%zu-CBC",
                     alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES ? "AES" : "CAMELLIA", key_len * 8);
    } else if (mode == KMIP_BLOCK_CIPHER_MODE_CMAC &&
               alg == KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES && (key_len == 16 || key_len == 24)) {
        *mac = "CMAC";
        n = snprintf(param, param_len, "%s", key_len == 24 ? "DES-EDE3-CBC" : "DES-EDE-CBC");
    } else {
        return WHY("no MAC algorithm offered for these Cryptographic Parameters");
    }
    return n > 0 && (size_t)n < param_len ? CF_OK : CF_ERR_INTERNAL;
}

static cf_status mac_run(uint32_t alg, uint32_t mode, const uint8_t *key, size_t key_len,
                         const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len,
                         const char **why)
{
    const char *name = NULL;
    char param[32];
    OSSL_PARAM params[2];
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    cf_status st;

    if ((st = mac_select(alg, mode, key_len, &name, param, sizeof param, why)) != CF_OK)
        return st;
    params[0] = OSSL_PARAM_construct_utf8_string(
        strcmp(name, "HMAC") == 0 ? OSSL_MAC_PARAM_DIGEST : OSSL_MAC_PARAM_CIPHER, param, 0);
    params[1] = OSSL_PARAM_construct_end();
    st = CF_ERR_CRYPTO;
    if ((mac = EVP_MAC_fetch(NULL, name, NULL)) == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL)
        goto out;
    if (!EVP_MAC_init(ctx, key, key_len, params) ||
        (in_len > 0 && !EVP_MAC_update(ctx, in, in_len)) ||
        !EVP_MAC_final(ctx, out, out_len, CRYPTO_MD_MAX))
        goto out;
    st = CF_OK;
out:
    if (st != CF_OK)
        crypto_log_errors("mac");
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return st;
}

cf_status crypto_mac(uint32_t algorithm, uint32_t mode, const uint8_t *key, size_t key_len,
                     const uint8_t *in, size_t in_len, uint8_t out[CRYPTO_MD_MAX], size_t *out_len,
                     const char **why)
{
    const char *why_sink = NULL;
    if (why == NULL)
        why = &why_sink;
    ERR_clear_error();
    if (in_len > OPS_MAX_DATA)
        return CF_ERR_LIMIT;
    return mac_run(algorithm, mode, key, key_len, in, in_len, out, out_len, why);
}

cf_status crypto_mac_verify(uint32_t algorithm, uint32_t mode, const uint8_t *key, size_t key_len,
                            const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len,
                            bool *out_valid, const char **why)
{
    uint8_t full[CRYPTO_MD_MAX];
    size_t n = 0, min;
    cf_status st;

    *out_valid = false;
    if ((st = crypto_mac(algorithm, mode, key, key_len, in, in_len, full, &n, why)) != CF_OK)
        return st;
    min = n / 2 > 10 ? n / 2 : 10;
    if (min > n)
        min = n;
    /* The lengths are public; only the comparison of bytes must not leak. */
    *out_valid = mac_len >= min && mac_len <= n && CRYPTO_memcmp(full, mac, mac_len) == 0;
    OPENSSL_cleanse(full, sizeof full);
    return CF_OK;
}

/* ------------------------------------------------------------ signatures */

static cf_status sig_configure(EVP_PKEY_CTX *pctx, EVP_PKEY *key, const crypto_sig_req *r,
                               bool sign, const EVP_MD *mgf, const char **why)
{
    uint32_t pad = r->padding == 0 ? KMIP_PADDING_METHOD_PKCS1_V1_5 : r->padding;
    int salt;

    if (EVP_PKEY_is_a(key, "EC")) {
        if (r->padding != 0 && r->padding != KMIP_PADDING_METHOD_NONE)
            return WHY("ECDSA takes no Padding Method");
        return CF_OK;
    }
    if (!EVP_PKEY_is_a(key, "RSA"))
        return WHY("signatures need an RSA or EC key");
    if (pad == KMIP_PADDING_METHOD_PKCS1_V1_5)
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 ? CF_OK : CF_ERR_CRYPTO;
    if (pad != KMIP_PADDING_METHOD_PSS)
        return WHY("RSA signatures use PKCS1 v1.5 or PSS padding");
    salt = r->salt_len >= 0 ? r->salt_len : sign ? RSA_PSS_SALTLEN_DIGEST : RSA_PSS_SALTLEN_AUTO;
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf) <= 0)
        return CF_ERR_CRYPTO;
    if (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) <= 0)
        return WHY("the Salt Length does not fit this key and hash");
    return CF_OK;
}

typedef struct sig_run {
    EVP_MD *md, *mgf;
    EVP_MD_CTX *mctx;
    EVP_PKEY_CTX *pctx;  /* owned only when digested (else mctx owns it) */
} sig_run;

static void sig_free(sig_run *s)
{
    EVP_MD_CTX_free(s->mctx);
    if (s->mctx == NULL)
        EVP_PKEY_CTX_free(s->pctx);
    EVP_MD_free(s->md);
    EVP_MD_free(s->mgf);
}

/* Fetch digests and set up a signing/verifying context for r. */
static cf_status sig_setup(EVP_PKEY *key, const crypto_sig_req *r, bool sign, size_t len,
                           sig_run *s, const char **why)
{
    int ok;

    memset(s, 0, sizeof *s);
    if (len > OPS_MAX_DATA)
        return CF_ERR_LIMIT;
    if ((s->md = crypto_md_fetch(r->hash)) == NULL)
        return WHY("a supported Hashing Algorithm is required for signatures");
    if ((s->mgf = crypto_md_fetch(r->mgf_hash ? r->mgf_hash : r->hash)) == NULL)
        return WHY("the Mask Generator Hashing Algorithm is not supported");
    if (r->digested && len != (size_t)EVP_MD_get_size(s->md))
        return WHY("Digested Data does not have the hash's length");
    if (r->digested) {
        if ((s->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL)
            return CF_ERR_NOMEM;
        ok = sign ? EVP_PKEY_sign_init(s->pctx) : EVP_PKEY_verify_init(s->pctx);
        if (ok <= 0 || EVP_PKEY_CTX_set_signature_md(s->pctx, s->md) <= 0)
            return sign ? WHY("this key cannot sign") : CF_ERR_CRYPTO;
    } else {
        if ((s->mctx = EVP_MD_CTX_new()) == NULL)
            return CF_ERR_NOMEM;
        ok = sign ? EVP_DigestSignInit_ex(s->mctx, &s->pctx, EVP_MD_get0_name(s->md), NULL, NULL,
                                          key, NULL)
                  : EVP_DigestVerifyInit_ex(s->mctx, &s->pctx, EVP_MD_get0_name(s->md), NULL,
                                            NULL, key, NULL);
        if (ok <= 0)
            return sign ? WHY("this key cannot sign") : CF_ERR_CRYPTO;
    }
    return sig_configure(s->pctx, key, r, sign, s->mgf, why);
}

cf_status crypto_sign(EVP_PKEY *key, const crypto_sig_req *r, const uint8_t *data, size_t len,
                      cf_buf *out, const char **why)
{
    sig_run s;
    size_t n = 0;
    int ok;
    cf_status st;

    const char *why_sink = NULL;
    if (why == NULL)
        why = &why_sink;
    ERR_clear_error();
    if (!crypto_key_has_private(key))
        return WHY("signing needs a private key");
    if ((st = sig_setup(key, r, true, len, &s, why)) != CF_OK)
        goto out;
    ok = r->digested ? EVP_PKEY_sign(s.pctx, NULL, &n, data, len)
                     : EVP_DigestSign(s.mctx, NULL, &n, data, len);
    st = CF_ERR_CRYPTO;
    if (ok <= 0)
        goto out;
    if (!cf_buf_reserve(out, n)) {
        st = CF_ERR_NOMEM;
        goto out;
    }
    ok = r->digested ? EVP_PKEY_sign(s.pctx, out->p + out->len, &n, data, len)
                     : EVP_DigestSign(s.mctx, out->p + out->len, &n, data, len);
    if (ok <= 0)
        goto out;
    out->len += n;
    st = CF_OK;
out:
    if (st == CF_ERR_CRYPTO)
        crypto_log_errors("sign");
    sig_free(&s);
    return st;
}

cf_status crypto_verify(EVP_PKEY *key, const crypto_sig_req *r, const uint8_t *data, size_t len,
                        const uint8_t *sig, size_t sig_len, bool *out_valid, const char **why)
{
    sig_run s;
    int ok;
    cf_status st;

    *out_valid = false;
    const char *why_sink = NULL;
    if (why == NULL)
        why = &why_sink;
    ERR_clear_error();
    if ((st = sig_setup(key, r, false, len, &s, why)) == CF_OK) {
        ok = r->digested ? EVP_PKEY_verify(s.pctx, sig, sig_len, data, len)
                         : EVP_DigestVerify(s.mctx, sig, sig_len, data, len);
        /* 0 or a negative value for a malformed signature: both invalid. */
        *out_valid = ok == 1;
        ERR_clear_error();
    } else if (st == CF_ERR_CRYPTO) {
        crypto_log_errors("verify");
    }
    sig_free(&s);
    return st;
}

/* ------------------------------------------------------ RSA encryption */

static cf_status rsa_setup(EVP_PKEY *key, bool enc, uint32_t padding, uint32_t hash,
                           uint32_t mgf_hash, EVP_PKEY_CTX **pctx, const char **why)
{
    EVP_MD *md = NULL, *mgf = NULL;
    cf_status st = CF_ERR_CRYPTO;
    int ok;

    if (!EVP_PKEY_is_a(key, "RSA"))
        return WHY("Encrypt/Decrypt with an asymmetric key needs an RSA key");
    if (!enc && !crypto_key_has_private(key))
        return WHY("decryption needs the private key");
    if (padding != KMIP_PADDING_METHOD_OAEP && padding != KMIP_PADDING_METHOD_PKCS1_V1_5)
        return WHY("RSA encryption uses OAEP or PKCS1 v1.5 padding");
    if ((*pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL)
        return CF_ERR_NOMEM;
    ok = enc ? EVP_PKEY_encrypt_init(*pctx) : EVP_PKEY_decrypt_init(*pctx);
    if (ok <= 0)
        goto out;
    if (padding == KMIP_PADDING_METHOD_PKCS1_V1_5) {
        st = EVP_PKEY_CTX_set_rsa_padding(*pctx, RSA_PKCS1_PADDING) > 0 ? CF_OK : CF_ERR_CRYPTO;
        goto out;
    }
    hash = hash ? hash : KMIP_HASHING_ALGORITHM_SHA_1;
    md = crypto_md_fetch(hash);
    mgf = crypto_md_fetch(mgf_hash ? mgf_hash : hash);
    if (md == NULL || mgf == NULL) {
        st = WHY("the OAEP Hashing Algorithm is not supported");
        goto out;
    }
    if (EVP_PKEY_CTX_set_rsa_padding(*pctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(*pctx, md) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(*pctx, mgf) > 0)
        st = CF_OK;
out:
    EVP_MD_free(md);
    EVP_MD_free(mgf);
    return st;
}

cf_status crypto_rsa_encrypt(EVP_PKEY *key, uint32_t padding, uint32_t hash, uint32_t mgf_hash,
                             const uint8_t *in, size_t in_len, cf_buf *out, const char **why)
{
    EVP_PKEY_CTX *pctx = NULL;
    size_t n = 0;
    cf_status st;

    const char *why_sink = NULL;
    if (why == NULL)
        why = &why_sink;
    ERR_clear_error();
    if ((st = rsa_setup(key, true, padding, hash, mgf_hash, &pctx, why)) != CF_OK)
        goto out;
    st = CF_ERR_CRYPTO;
    if (EVP_PKEY_encrypt(pctx, NULL, &n, in, in_len) <= 0)
        goto out;
    if (!cf_buf_reserve(out, n)) {
        st = CF_ERR_NOMEM;
        goto out;
    }
    if (EVP_PKEY_encrypt(pctx, out->p + out->len, &n, in, in_len) <= 0) {
        *why = "the data is too long for this key and padding";
        goto out;
    }
    out->len += n;
    st = CF_OK;
out:
    if (st == CF_ERR_CRYPTO)
        crypto_log_errors("rsa encrypt");
    EVP_PKEY_CTX_free(pctx);
    return st;
}

cf_status crypto_rsa_decrypt(EVP_PKEY *key, uint32_t padding, uint32_t hash, uint32_t mgf_hash,
                             const uint8_t *in, size_t in_len, cf_secret *out, const char **why)
{
    EVP_PKEY_CTX *pctx = NULL;
    size_t n = 0, cap = 0;
    cf_status st;

    out->p = NULL;
    out->len = 0;
    const char *why_sink = NULL;
    if (why == NULL)
        why = &why_sink;
    ERR_clear_error();
    if ((st = rsa_setup(key, false, padding, hash, mgf_hash, &pctx, why)) != CF_OK)
        goto out;
    st = CF_ERR_CRYPTO;
    if (EVP_PKEY_decrypt(pctx, NULL, &cap, in, in_len) <= 0)
        goto out;
    if ((st = cf_secret_alloc(out, cap)) != CF_OK)
        goto out;
    n = cap;
    if (EVP_PKEY_decrypt(pctx, out->p, &n, in, in_len) <= 0) {
        cf_secret_free(out);
        st = CF_ERR_CRYPTO;
        *why = "decryption failed";
        goto out;
    }
    cf_cleanse(out->p + n, cap - n);
    out->len = n;
out:
    if (st == CF_ERR_CRYPTO)
        crypto_log_errors("rsa decrypt");
    EVP_PKEY_CTX_free(pctx);
    return st;
}

/* --------------------------------------------------------------- random */

cf_status crypto_rng_seed(const uint8_t *p, size_t n)
{
    ERR_clear_error();
    if (n > OPS_MAX_DATA)
        return CF_ERR_LIMIT;
    if (n > 0)
        RAND_add(p, (int)n, 0.0); /* additional input, no entropy credited */
    return CF_OK;
}
