/*
 * core_env_format.c - the wrapped form of a data-encryption key
 * (docs/envelope.md has the byte layout and a worked example).
 *
 *   "CFW" | format 1 | alg | L | key id (L bytes) | version (u32 BE) |
 *   nonce (12) | ciphertext (as long as the plaintext) | tag (16)
 *
 * AES-GCM with the root key version's own size (the algorithm byte says
 * which), a fresh random 96-bit nonce per wrap. The GCM AAD is the header
 * (every byte before the ciphertext) followed by the tenant (u8 length +
 * bytes) and the canonical encoding of the caller's AAD, so one
 * authentication covers the format, the key, its version, the tenant and
 * the caller's context; nothing but the tag is left to trust.
 *
 * The caller's AAD is encoded so that distinct inputs never collide: a
 * kind byte (none / list / map), a count, and every string length-prefixed
 * (["ab","c"] differs from ["a","bc"], a list from a map, [] from none); a
 * map is sorted by key (bytewise), so the order a client sends its keys in
 * does not matter, and its keys must be unique.
 *
 * Parsing never trusts a length before checking what remains; anything
 * that is not a well-formed wrapped form is CF_ERR_CRYPTO, the same answer
 * as a failed tag, so tampering with any byte reads as one error.
 */
#include "core/core_env_int.h"

#include <string.h>

#include "crypto/crypto_ops.h"

#define AAD_NONE 0
#define AAD_LIST 1
#define AAD_MAP 2

uint8_t core_env_alg_of(size_t key_len)
{
    switch (key_len) {
    case 16: return CORE_ENV_ALG_AES128_GCM;
    case 24: return CORE_ENV_ALG_AES192_GCM;
    case 32: return CORE_ENV_ALG_AES256_GCM;
    default: return 0;
    }
}

/* Bytewise order of two C strings (a prefix sorts first). */
static int key_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int c = memcmp(a, b, la < lb ? la : lb);
    return c != 0 ? c : (la > lb) - (la < lb);
}

cf_status core_env_aad_check(const core_aad *aad, const char **why)
{
    *why = NULL;
    if (aad == NULL)
        return CF_OK;
    if (aad->n > CORE_ENV_AAD_MAX) {
        *why = "aad: at most 32 strings or entries";
        return CF_ERR_INVALID_FIELD;
    }
    if (aad->n > 0 && aad->values == NULL) {
        *why = "aad: missing values";
        return CF_ERR_INVALID_FIELD;
    }
    for (size_t i = 0; i < aad->n; i++) {
        if (aad->values[i] == NULL || strnlen(aad->values[i], CORE_ENV_AAD_STR_MAX + 1) >
                                          CORE_ENV_AAD_STR_MAX ||
            (aad->keys != NULL && (aad->keys[i] == NULL ||
                                   strnlen(aad->keys[i], CORE_ENV_AAD_STR_MAX + 1) >
                                       CORE_ENV_AAD_STR_MAX))) {
            *why = "aad: each string is at most 1024 bytes";
            return CF_ERR_INVALID_FIELD;
        }
        for (size_t j = 0; aad->keys != NULL && j < i; j++)
            if (strcmp(aad->keys[i], aad->keys[j]) == 0) {
                *why = "aad: map keys must be unique";
                return CF_ERR_INVALID_FIELD;
            }
    }
    return CF_OK;
}

static void put_str(cf_buf *out, const char *s)
{
    uint8_t len[4];
    size_t n = strlen(s);
    cf_put_be32(len, (uint32_t)n);
    cf_buf_append(out, len, 4);
    cf_buf_append(out, s, n);
}

cf_status core_env_aad_encode(const core_aad *aad, cf_buf *out)
{
    uint8_t head[5];
    size_t order[CORE_ENV_AAD_MAX];
    const char *why;
    cf_status st = core_env_aad_check(aad, &why);

    if (st != CF_OK)
        return st;
    if (aad == NULL)
        return cf_buf_append(out, "\0", 1) ? CF_OK : CF_ERR_NOMEM;
    head[0] = aad->keys ? AAD_MAP : AAD_LIST;
    cf_put_be32(head + 1, (uint32_t)aad->n);
    cf_buf_append(out, head, sizeof head);
    /* Insertion sort of the entry indexes by key (n <= 32). */
    for (size_t i = 0; i < aad->n; i++) {
        size_t j = i;
        for (; aad->keys && j > 0 && key_cmp(aad->keys[order[j - 1]], aad->keys[i]) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (size_t i = 0; i < aad->n; i++) {
        if (aad->keys)
            put_str(out, aad->keys[order[i]]);
        put_str(out, aad->values[order[i]]);
    }
    return out->failed ? CF_ERR_NOMEM : CF_OK;
}

cf_status core_env_parse(const uint8_t *p, size_t len, core_env_hdr *h, const char **why)
{
    size_t l, hdr;

    memset(h, 0, sizeof *h);
    *why = "not a wrapped key of this server";
    if (len < CORE_ENV_MAGIC_LEN + 3 || memcmp(p, CORE_ENV_MAGIC, CORE_ENV_MAGIC_LEN) != 0)
        return CF_ERR_CRYPTO;
    if (p[3] != CORE_ENV_FORMAT) {
        *why = "unknown wrapped-key format version";
        return CF_ERR_CRYPTO;
    }
    h->alg = p[4];
    l = p[5];
    if (h->alg < CORE_ENV_ALG_AES128_GCM || h->alg > CORE_ENV_ALG_AES256_GCM) {
        *why = "unknown wrapped-key algorithm";
        return CF_ERR_CRYPTO;
    }
    hdr = CORE_ENV_HDR_FIXED + l;
    /* At least one byte of ciphertext; never more than the largest DEK. */
    if (l == 0 || l > CF_LIMIT_UID || len < hdr + 1 + CORE_ENV_TAG_LEN ||
        len - hdr - CORE_ENV_TAG_LEN > CORE_ENV_PLAINTEXT_MAX) {
        *why = "malformed or truncated wrapped key";
        return CF_ERR_CRYPTO;
    }
    h->key_id = (const char *)p + 6;
    h->key_id_len = l;
    h->version = cf_be32(p + 6 + l);
    h->nonce = p + 10 + l;
    h->header = p;
    h->header_len = hdr;
    h->ct = p + hdr;
    h->ct_len = len - hdr - CORE_ENV_TAG_LEN;
    h->tag = p + len - CORE_ENV_TAG_LEN;
    if (h->version == 0) {
        *why = "malformed wrapped key (version 0)";
        return CF_ERR_CRYPTO;
    }
    *why = NULL;
    return CF_OK;
}

/* header || u8 tenant length || tenant || caller's AAD encoding. */
static cf_status gcm_aad(const uint8_t *hdr, size_t hdr_len, const char *tenant,
                         const core_aad *aad, cf_buf *out)
{
    size_t tl = strlen(tenant);
    uint8_t t = (uint8_t)tl;
    if (tl == 0 || tl > CORE_TENANT_ID_MAX)
        return CF_ERR_INVALID_FIELD;
    cf_buf_append(out, hdr, hdr_len);
    cf_buf_append(out, &t, 1);
    cf_buf_append(out, tenant, tl);
    if (out->failed)
        return CF_ERR_NOMEM;
    return core_env_aad_encode(aad, out);
}

cf_status core_env_seal(const uint8_t *key, size_t key_len, const char *tenant,
                        const char *key_id, uint32_t version, const core_aad *aad,
                        const uint8_t nonce[CORE_ENV_NONCE_LEN], const uint8_t *pt, size_t pt_len,
                        cf_buf *out)
{
    uint8_t alg = core_env_alg_of(key_len), tag[CRYPTO_TAG_MAX], v[4];
    size_t idl = strlen(key_id), start = out->len, hdr_len;
    crypto_cipher_req r = {.algorithm = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES,
                           .mode = KMIP_BLOCK_CIPHER_MODE_GCM, .key = key, .key_len = key_len,
                           .iv = nonce, .iv_len = CORE_ENV_NONCE_LEN,
                           .tag_len = CORE_ENV_TAG_LEN};
    cf_buf aadb;
    const char *why;
    cf_status st;

    if (alg == 0 || idl == 0 || idl > CF_LIMIT_UID || version == 0 || pt_len == 0 ||
        pt_len > CORE_ENV_PLAINTEXT_MAX)
        return CF_ERR_INVALID_FIELD;
    cf_buf_append(out, CORE_ENV_MAGIC, CORE_ENV_MAGIC_LEN);
    cf_buf_append(out, (const uint8_t[]){CORE_ENV_FORMAT, alg, (uint8_t)idl}, 3);
    cf_buf_append(out, key_id, idl);
    cf_put_be32(v, version);
    cf_buf_append(out, v, 4);
    cf_buf_append(out, nonce, CORE_ENV_NONCE_LEN);
    if (out->failed)
        return CF_ERR_NOMEM;
    hdr_len = out->len - start;
    cf_buf_init(&aadb, 0);
    st = gcm_aad(out->p + start, hdr_len, tenant, aad, &aadb);
    r.aad = aadb.p;
    r.aad_len = aadb.len;
    if (st == CF_OK)
        st = crypto_encrypt(&r, pt, pt_len, out, tag, &why);
    if (st == CF_OK && !cf_buf_append(out, tag, CORE_ENV_TAG_LEN))
        st = CF_ERR_NOMEM;
    if (st != CF_OK)
        out->len = start; /* nothing half-written stays */
    cf_buf_free(&aadb);
    return st;
}

cf_status core_env_open(const uint8_t *key, size_t key_len, const char *tenant,
                        const core_env_hdr *h, const core_aad *aad, cf_secret *out)
{
    crypto_cipher_req r = {.algorithm = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES,
                           .mode = KMIP_BLOCK_CIPHER_MODE_GCM, .key = key, .key_len = key_len,
                           .iv = h->nonce, .iv_len = CORE_ENV_NONCE_LEN,
                           .tag = h->tag, .tag_len = CORE_ENV_TAG_LEN};
    cf_buf aadb;
    const char *why;
    cf_status st;

    out->p = NULL;
    out->len = 0;
    if (core_env_alg_of(key_len) != h->alg)
        return CF_ERR_CRYPTO;
    cf_buf_init(&aadb, 0);
    st = gcm_aad(h->header, h->header_len, tenant, aad, &aadb);
    r.aad = aadb.p;
    r.aad_len = aadb.len;
    if (st == CF_OK)
        st = crypto_decrypt(&r, h->ct, h->ct_len, out, &why);
    if (st != CF_OK && st != CF_ERR_NOMEM && st != CF_ERR_INVALID_FIELD)
        st = CF_ERR_CRYPTO;
    cf_buf_free(&aadb);
    return st;
}
