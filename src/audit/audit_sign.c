/*
 * audit_sign.c - the audit signing key (Ed25519) and signed checkpoints.
 *
 * Ed25519 because its signatures are deterministic and small and its
 * public key is 32 bytes anyone can check with stock OpenSSL or Python's
 * cryptography; the key is per deployment (the core seals its raw private
 * half under the keyring in the store, like the store KEK). A checkpoint
 * is signed over its canonical JSON (sorted keys, compact) without
 * "signature", so it is checked the same way it is made.
 */
#include "audit/audit.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/crypto.h"
#include "util/log.h"

struct audit_key {
    EVP_PKEY *pkey;
    bool has_private;
};

static cf_status wrap(EVP_PKEY *pkey, bool priv, audit_key **out)
{
    audit_key *k;
    if (pkey == NULL)
        return CF_ERR_CRYPTO;
    if ((k = calloc(1, sizeof *k)) == NULL) {
        EVP_PKEY_free(pkey);
        return CF_ERR_NOMEM;
    }
    k->pkey = pkey;
    k->has_private = priv;
    *out = k;
    return CF_OK;
}

cf_status audit_key_generate(audit_key **out)
{
    EVP_PKEY *pkey;
    *out = NULL;
    ERR_clear_error();
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (pkey == NULL)
        crypto_log_errors("audit: Ed25519 key generation");
    return wrap(pkey, true, out);
}

cf_status audit_key_from_raw(const uint8_t *raw, size_t len, audit_key **out)
{
    EVP_PKEY *pkey;
    *out = NULL;
    if (len != AUDIT_SIGN_KEY_LEN)
        return CF_ERR_CRYPTO;
    ERR_clear_error();
    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, len);
    if (pkey == NULL)
        crypto_log_errors("audit: Ed25519 private key");
    return wrap(pkey, true, out);
}

cf_status audit_key_raw(const audit_key *k, cf_secret *out)
{
    size_t n = AUDIT_SIGN_KEY_LEN;
    cf_status st;
    out->p = NULL;
    out->len = 0;
    if (!k->has_private)
        return CF_ERR_INVALID_FIELD;
    if ((st = cf_secret_alloc(out, n)) != CF_OK)
        return st;
    ERR_clear_error();
    if (EVP_PKEY_get_raw_private_key(k->pkey, out->p, &n) != 1 || n != AUDIT_SIGN_KEY_LEN) {
        crypto_log_errors("audit: Ed25519 raw key");
        cf_secret_free(out);
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}

cf_status audit_key_from_pem(const char *pem, size_t len, audit_key **out)
{
    BIO *b;
    EVP_PKEY *pkey = NULL;
    *out = NULL;
    if (len > 64 * 1024)
        return CF_ERR_CRYPTO;
    ERR_clear_error();
    if ((b = BIO_new_mem_buf(pem, (int)len)) != NULL)
        pkey = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    ERR_clear_error();
    if (pkey != NULL && EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return wrap(pkey, false, out);
}

cf_status audit_key_public_pem(const audit_key *k, char **out)
{
    BIO *b;
    char *data = NULL;
    long n;
    cf_status st = CF_ERR_CRYPTO;

    *out = NULL;
    ERR_clear_error();
    if ((b = BIO_new(BIO_s_mem())) == NULL)
        return CF_ERR_NOMEM;
    if (PEM_write_bio_PUBKEY(b, k->pkey) == 1 && (n = BIO_get_mem_data(b, &data)) > 0) {
        if ((*out = malloc((size_t)n + 1)) == NULL) {
            st = CF_ERR_NOMEM;
        } else {
            memcpy(*out, data, (size_t)n);
            (*out)[n] = '\0';
            st = CF_OK;
        }
    }
    if (st == CF_ERR_CRYPTO)
        crypto_log_errors("audit: public key PEM");
    BIO_free(b);
    return st;
}

cf_status audit_key_id(const audit_key *k, char out[AUDIT_HASH_HEX + 1])
{
    uint8_t raw[32], md[32];
    size_t n = sizeof raw;
    unsigned int mdlen = 0;
    ERR_clear_error();
    if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &n) != 1 || n != 32 ||
        EVP_Digest(raw, n, md, &mdlen, EVP_sha256(), NULL) != 1) {
        crypto_log_errors("audit: key id");
        return CF_ERR_CRYPTO;
    }
    audit_hex(md, 32, out);
    return CF_OK;
}

void audit_key_free(audit_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

/* --------------------------------------------------------- checkpoints */

static cf_status sign(const audit_key *k, const char *msg, char sig_hex[129])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t sig[64];
    size_t n = sizeof sig;
    cf_status st = CF_ERR_CRYPTO;
    ERR_clear_error();
    if (ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
        EVP_DigestSign(ctx, sig, &n, (const uint8_t *)msg, strlen(msg)) == 1 && n == 64) {
        audit_hex(sig, 64, sig_hex);
        st = CF_OK;
    } else {
        crypto_log_errors("audit: checkpoint signature");
    }
    EVP_MD_CTX_free(ctx);
    return st;
}

static bool verify_sig(const audit_key *k, const char *msg, const uint8_t sig[64])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok;
    ERR_clear_error();
    ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
         EVP_DigestVerify(ctx, sig, 64, (const uint8_t *)msg, strlen(msg)) == 1;
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    return ok;
}

cf_status audit_checkpoint_sign(const audit_key *k, const char *chain, int64_t seq,
                                const char *hash, int64_t time_ms, char **out_json,
                                size_t *out_len)
{
    char t[25], kid[AUDIT_HASH_HEX + 1], sig[129];
    json_t *o;
    char *body = NULL;
    cf_status st;

    *out_json = NULL;
    *out_len = 0;
    if (!k->has_private || chain == NULL || seq < 1 || !audit_is_hex64(hash))
        return CF_ERR_INVALID_FIELD;
    if ((st = audit_key_id(k, kid)) != CF_OK)
        return st;
    audit_time_format(time_ms, t);
    o = json_pack("{s:s,s:I,s:s,s:s,s:s}", "chain", chain, "seq", (json_int_t)seq, "hash", hash,
                  "time", t, "key_id", kid);
    if (o == NULL || (body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        st = CF_ERR_NOMEM;
        goto out;
    }
    if ((st = sign(k, body, sig)) != CF_OK)
        goto out;
    cf_json_free(body);
    body = NULL;
    if (json_object_set_new(o, "signature", json_string(sig)) != 0 ||
        (*out_json = cf_json_dumps_malloc(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        st = CF_ERR_NOMEM;
        goto out;
    }
    *out_len = strlen(*out_json);
out:
    cf_json_free(body);
    json_decref(o);
    return st;
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* 128 lowercase hex digits -> 64 bytes. */
static bool sig_bytes(const char *s, uint8_t out[64])
{
    if (s == NULL || strlen(s) != 128)
        return false;
    for (int i = 0; i < 64; i++) {
        int hi = unhex(s[2 * i]), lo = unhex(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool cp_fields(json_t *o, audit_checkpoint *out, uint8_t sig[64])
{
    json_t *seq = json_object_get(o, "seq");
    const char *s[4] = {json_string_value(json_object_get(o, "chain")),
                        json_string_value(json_object_get(o, "hash")),
                        json_string_value(json_object_get(o, "key_id")),
                        json_string_value(json_object_get(o, "time"))};
    if (!json_is_integer(seq) || json_integer_value(seq) < 1 || s[0] == NULL ||
        strlen(s[0]) >= sizeof out->chain || !audit_is_hex64(s[1]) || !audit_is_hex64(s[2]) ||
        s[3] == NULL || strlen(s[3]) >= sizeof out->time || json_object_size(o) != 6 ||
        !sig_bytes(json_string_value(json_object_get(o, "signature")), sig))
        return false;
    out->seq = json_integer_value(seq);
    memcpy(out->chain, s[0], strlen(s[0]) + 1);
    memcpy(out->hash, s[1], AUDIT_HASH_HEX + 1);
    memcpy(out->key_id, s[2], AUDIT_HASH_HEX + 1);
    memcpy(out->time, s[3], strlen(s[3]) + 1);
    return true;
}

cf_status audit_checkpoint_verify(const audit_key *pub, const char *json, size_t len,
                                  audit_checkpoint *out, const char **why)
{
    char kid[AUDIT_HASH_HEX + 1];
    json_error_t err;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    uint8_t sig[64];
    char *body = NULL;
    cf_status st = CF_ERR_INVALID_MSG;

    memset(out, 0, sizeof *out);
    *why = "not a checkpoint";
    if (!json_is_object(o) || !cp_fields(o, out, sig))
        goto out;
    st = CF_ERR_CRYPTO;
    if (pub == NULL) {
        *why = "no public key to check its signature";
        goto out;
    }
    if (audit_key_id(pub, kid) != CF_OK || strcmp(kid, out->key_id) != 0) {
        *why = "signed by another key (key_id differs from the public key's)";
        goto out;
    }
    json_object_del(o, "signature");
    if ((body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        st = CF_ERR_NOMEM;
        goto out;
    }
    if (!verify_sig(pub, body, sig)) {
        *why = "bad signature (forged or altered?)";
        goto out;
    }
    *why = NULL;
    st = CF_OK;
out:
    cf_json_free(body);
    json_decref(o);
    return st;
}
