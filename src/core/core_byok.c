/*
 * core_byok.c - bring your own key, wrapped: import tokens, the unwrap of
 * what the customer wrapped for one, and the import of the material as a
 * new key or as the newest version of a root key.
 *
 * A token is a row of its tenant (store_import_token): an RSA pair made
 * here, its public half given out as SPKI, its private half sealed under
 * the keyring with AAD bound to (tenant, token id) and erased once the
 * token is used up. The customer's blob is opened with it in memory
 * (cf_secret for the ephemeral AES key and the material, EVP_PKEY for the
 * RSA key, freed on every path) and never stored as such: the material is
 * sealed like every key's.
 *
 * Spending a use is part of the import's transaction: the token's
 * revision-checked update and the key's insert (or the rotation's rows and
 * object update) commit together. Two imports racing for a token's last
 * use both unwrap, but only one update matches the revision it read: the
 * other rolls back, reloads the token, finds it used up and stores
 * nothing. A failed import (bad length, name taken, a concurrent rotation
 * retried out) rolls the use back with it.
 *
 * The unwrap answers one error, CF_ERR_CRYPTO, for every way a blob can be
 * wrong (RSA-OAEP padding, ephemeral key size, AES-KWP integrity), so its
 * answers tell an attacker nothing about which step failed.
 */
#include "core/core_env_int.h"

#include <string.h>

#include <openssl/evp.h>

#include "util/log.h"

#define SPEND_RETRIES 5
#define AAD_PREFIX "BYOK-token" /* not a tenant id (those are lowercase): no
                                 * other sealed blob's AAD starts so */
#define PEM_BEGIN "-----BEGIN PUBLIC KEY-----\n"
#define PEM_END "-----END PUBLIC KEY-----\n"

/* ------------------------------------------------------------ helpers */

/* "BYOK-token" NUL tenant NUL id: binds the sealed private key to its row. */
static cf_status token_aad(cf_arena *a, const char *tenant, const char *id,
                           const uint8_t **out, size_t *out_len)
{
    size_t pl = sizeof AAD_PREFIX, tl = strlen(tenant) + 1, il = strlen(id);
    uint8_t *p = cf_arena_alloc(a, pl + tl + il);
    if (p == NULL)
        return CF_ERR_NOMEM;
    memcpy(p, AAD_PREFIX, pl);
    memcpy(p + pl, tenant, tl);
    memcpy(p + pl + tl, id, il);
    *out = p;
    *out_len = pl + tl + il;
    return CF_OK;
}

/* RFC 7468 text of a SubjectPublicKeyInfo: 64 characters a line. */
static const char *pem_of(cf_arena *a, const uint8_t *der, size_t n)
{
    size_t lines = (n + 47) / 48;
    char *p = cf_arena_alloc(a, sizeof PEM_BEGIN + sizeof PEM_END + lines * 65 + 1), *o = p;
    if (p == NULL)
        return NULL;
    memcpy(o, PEM_BEGIN, sizeof PEM_BEGIN - 1);
    o += sizeof PEM_BEGIN - 1;
    for (size_t i = 0; i < n; i += 48) {
        size_t k = n - i < 48 ? n - i : 48;
        o += EVP_EncodeBlock((unsigned char *)o, der + i, (int)k); /* + NUL, overwritten */
        *o++ = '\n';
    }
    memcpy(o, PEM_END, sizeof PEM_END); /* with its NUL */
    return p;
}

static cf_status token_of_row(core_req *req, const store_import_token *r,
                              core_import_token **out)
{
    core_import_token *t = cf_arena_calloc(req->arena, sizeof *t);
    if (t == NULL || (t->public_pem = pem_of(req->arena, r->public_key, r->public_key_len)) == NULL)
        return CF_ERR_NOMEM;
    t->id = r->id;
    t->owner = r->owner;
    t->key_size = r->key_size;
    t->created = r->created;
    t->expires = r->expires;
    t->max_uses = r->max_uses;
    t->uses = r->uses;
    *out = t;
    return CF_OK;
}

/* ------------------------------------------------------------ tokens */

static cf_status spec_check(core_req *req, const core_import_token_spec *in,
                            core_import_token_spec *out)
{
    out->ttl = in && in->ttl ? in->ttl : CORE_BYOK_TTL_DEFAULT;
    out->max_uses = in && in->max_uses ? in->max_uses : CORE_BYOK_USES_DEFAULT;
    out->key_size = in && in->key_size ? in->key_size : CORE_BYOK_KEY_SIZE_DEFAULT;
    if (out->ttl < 1 || out->ttl > CORE_BYOK_TTL_MAX)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the TTL must be 1 second to %d days",
                         CORE_BYOK_TTL_MAX / 86400);
    if (out->max_uses < 1 || out->max_uses > CORE_BYOK_USES_MAX)
        return core_fail(req, CF_ERR_INVALID_FIELD, "max_uses must be 1 to %d",
                         CORE_BYOK_USES_MAX);
    if (out->key_size != 3072 && out->key_size != 4096)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the key size must be 3072 or 4096 bits");
    return CF_OK;
}

/* The pair of row (its id and tenant set): SPKI in clear, PKCS#8 sealed. */
static cf_status token_keys(core_req *req, store_import_token *row)
{
    EVP_PKEY *key = NULL;
    cf_secret priv = {0}, pub = {0};
    const uint8_t *aad;
    size_t aad_len;
    cf_buf sealed;
    cf_status st;

    cf_buf_init(&sealed, 0);
    if ((st = crypto_rsa_generate(row->key_size, &key)) != CF_OK ||
        (st = crypto_key_export(key, KMIP_OBJECT_TYPE_PRIVATE_KEY, KMIP_KEY_FORMAT_TYPE_PKCS_8,
                                &priv)) != CF_OK ||
        (st = crypto_key_export(key, KMIP_OBJECT_TYPE_PUBLIC_KEY, KMIP_KEY_FORMAT_TYPE_X_509,
                                &pub)) != CF_OK ||
        (st = token_aad(req->arena, row->tenant, row->id, &aad, &aad_len)) != CF_OK ||
        (st = crypto_seal(req->core->keyring, aad, aad_len, priv.p, priv.len, &sealed)) != CF_OK)
        goto out;
    row->public_key = cf_arena_memdup(req->arena, pub.p, pub.len);
    row->public_key_len = pub.len;
    row->private_key = cf_arena_memdup(req->arena, sealed.p, sealed.len);
    row->private_key_len = sealed.len;
    if (row->public_key == NULL || row->private_key == NULL)
        st = CF_ERR_NOMEM;
out:
    EVP_PKEY_free(key);
    cf_secret_free(&priv);
    cf_secret_free(&pub);
    cf_buf_free(&sealed);
    return st;
}

static cf_status insert_token(core_req *req, void *ctx)
{
    store_import_token *row = ctx;
    cf_status st = store_import_token_purge(req->st, row->tenant,
                                            req->now - CORE_BYOK_PURGE_AFTER);
    return st == CF_OK ? store_import_token_insert(req->st, row) : st;
}

cf_status core_import_token_create(core_req *req, const core_import_token_spec *spec,
                                   core_import_token **out)
{
    core_import_token_spec s;
    store_import_token row = {0};
    cf_status st;

    *out = NULL;
    if ((st = core_req_authorize(req, CORE_ACT_CREATE, NULL)) != CF_OK ||
        (st = spec_check(req, spec, &s)) != CF_OK ||
        (st = core_new_uid(req->arena, &row.id)) != CF_OK)
        return st;
    row.tenant = req->who->tenant;
    row.owner = req->who->id ? req->who->id : "";
    row.created = req->now;
    row.expires = req->now + s.ttl;
    row.key_size = s.key_size;
    row.max_uses = s.max_uses;
    row.revision = 1;
    core_audit_object_id(req, row.id);
    if ((st = token_keys(req, &row)) != CF_OK ||
        (st = core_in_txn(req, insert_token, &row)) != CF_OK)
        return st;
    CF_LOGI("import token %s/%s: RSA-%d, %d use(s), expires %lld, by %s", row.tenant, row.id,
            row.key_size, row.max_uses, (long long)row.expires, row.owner);
    return token_of_row(req, &row, out);
}

/* The caller's tenant's token id (loaded into *row). */
static cf_status token_load(core_req *req, const char *id, store_import_token *row)
{
    cf_status st;
    if (core_authenticated(req->who) != CF_OK)
        return core_fail(req, CF_ERR_AUTH, "authentication is required");
    if (id == NULL || strlen(id) > CF_LIMIT_UID || req->who->tenant == NULL)
        return core_fail(req, CF_ERR_NOT_FOUND, "no import token with this id");
    st = store_import_token_get(req->st, req->who->tenant, id, req->arena, row);
    if (st == CF_ERR_NOT_FOUND)
        return core_fail(req, st, "no import token with this id");
    return st;
}

cf_status core_import_token_get(core_req *req, const char *id, core_import_token **out)
{
    store_import_token row;
    cf_status st;

    *out = NULL;
    core_audit_object_id(req, id);
    if ((st = token_load(req, id, &row)) != CF_OK ||
        (st = core_req_authorize(req, CORE_ACT_READ_METADATA, NULL)) != CF_OK)
        return st;
    return token_of_row(req, &row, out);
}

/* May the token be used now? */
static cf_status token_usable(core_req *req, const store_import_token *row)
{
    if (req->now >= row->expires)
        return core_fail(req, CF_ERR_STATE, "the import token expired %lld seconds ago",
                         (long long)(req->now - row->expires));
    if (row->uses >= row->max_uses || row->private_key == NULL)
        return core_fail(req, CF_ERR_USAGE_LIMIT, "the import token is used up (%d of %d uses)",
                         row->uses, row->max_uses);
    return CF_OK;
}

/* ------------------------------------------------------------ unwrap */

static size_t rsa_bytes(EVP_PKEY *k)
{
    int bits = EVP_PKEY_get_bits(k);
    return bits > 0 ? ((size_t)bits + 7) / 8 : 0;
}

cf_status core_byok_unwrap(EVP_PKEY *priv, core_byok_wrapping wrapping, const uint8_t *blob,
                           size_t blob_len, cf_secret *out)
{
    size_t n = priv ? rsa_bytes(priv) : 0;
    cf_secret eph = {0};
    cf_status st;

    out->p = NULL;
    out->len = 0;
    if (wrapping != CORE_BYOK_RSA_AES_KEY_WRAP_SHA256 && wrapping != CORE_BYOK_RSA_OAEP_SHA256)
        return CF_ERR_INVALID_FIELD;
    if (n == 0 || blob == NULL || blob_len < n)
        return CF_ERR_CRYPTO;
    if (wrapping == CORE_BYOK_RSA_OAEP_SHA256) {
        st = blob_len != n ? CF_ERR_CRYPTO
                           : crypto_rsa_oaep_unwrap(priv, KMIP_HASHING_ALGORITHM_SHA_256,
                                                    KMIP_HASHING_ALGORITHM_SHA_256, blob, n, out);
    } else {
        /* PKCS#11 CKM_RSA_AES_KEY_WRAP: OAEP(ephemeral AES key) ||
         * KWP(material) under it (RFC 5649). */
        st = crypto_rsa_oaep_unwrap(priv, KMIP_HASHING_ALGORITHM_SHA_256,
                                    KMIP_HASHING_ALGORITHM_SHA_256, blob, n, &eph);
        if (st == CF_OK && eph.len != 16 && eph.len != 24 && eph.len != 32)
            st = CF_ERR_CRYPTO;
        if (st == CF_OK)
            st = crypto_aes_unwrap(eph.p, eph.len, true, blob + n, blob_len - n, out);
        cf_secret_free(&eph);
    }
    if (st == CF_OK && out->len == 0)
        st = CF_ERR_CRYPTO;
    if (st != CF_OK)
        cf_secret_free(out);
    if (st != CF_OK && st != CF_ERR_NOMEM)
        st = CF_ERR_CRYPTO;
    return st;
}

/* The token's private key, opened from its row. */
static cf_status token_pkey(core_req *req, const store_import_token *row, EVP_PKEY **out)
{
    const uint8_t *aad;
    size_t aad_len;
    cf_secret der = {0};
    cf_status st = token_aad(req->arena, row->tenant, row->id, &aad, &aad_len);

    if (st == CF_OK &&
        (st = crypto_open(req->core->keyring, aad, aad_len, row->private_key,
                          row->private_key_len, &der)) != CF_OK) {
        CF_LOGE("import token %s/%s: sealed private key does not open (%s)", row->tenant,
                row->id, cf_status_str(st));
        st = CF_ERR_INTERNAL;
    }
    if (st == CF_OK &&
        (st = crypto_key_load(KMIP_OBJECT_TYPE_PRIVATE_KEY, KMIP_KEY_FORMAT_TYPE_PKCS_8,
                              KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, der.p, der.len, out)) != CF_OK &&
        st != CF_ERR_NOMEM) {
        CF_LOGE("import token %s/%s: private key does not load (%s)", row->tenant, row->id,
                cf_status_str(st));
        st = CF_ERR_INTERNAL;
    }
    cf_secret_free(&der);
    return st;
}

/* Load in->token, check it may be used, and unwrap in->blob with it. */
static cf_status token_open(core_req *req, const core_byok_wrapped *in, store_import_token *row,
                            cf_secret *out)
{
    EVP_PKEY *key = NULL;
    cf_status st;

    if ((st = token_load(req, in->token, row)) != CF_OK || (st = token_usable(req, row)) != CF_OK ||
        (st = token_pkey(req, row, &key)) != CF_OK)
        return st;
    st = core_byok_unwrap(key, in->wrapping, in->blob, in->blob_len, out);
    EVP_PKEY_free(key);
    if (st == CF_ERR_CRYPTO)
        return core_fail(req, st, "the wrapped material does not unwrap with this import token "
                                  "(another token's public key, another wrapping, or altered)");
    if (st == CF_ERR_INVALID_FIELD)
        return core_fail(req, st, "unknown wrapping");
    return st;
}

/* ------------------------------------------------------------ spending */

struct spend {
    store_import_token *row;
    cf_status (*fn)(core_req *req, void *ctx); /* the import's own writes */
    void *ctx;
    bool lost;                                 /* the token's revision check failed */
};

/* In the transaction: one use of the token (revision-checked), then fn. */
static cf_status spend_in_txn(core_req *req, void *p)
{
    struct spend *s = p;
    store_import_token t = *s->row;
    cf_status st;

    t.uses++;
    t.revision++;
    if (t.uses >= t.max_uses) { /* used up: its private key has served */
        t.private_key = NULL;
        t.private_key_len = 0;
    }
    if ((st = store_import_token_update(req->st, &t)) != CF_OK) {
        s->lost = st == CF_ERR_CONFLICT;
        return st;
    }
    return s->fn(req, s->ctx);
}

/* Spend a use of *row together with fn's writes. On a lost revision check
 * (another import spent a use meanwhile) reload the token and, while it
 * is still usable, try again. A conflict of fn's own (a concurrent
 * rotation) goes back to the caller, which reloads its object. */
static cf_status spend_and(core_req *req, store_import_token *row,
                           cf_status (*fn)(core_req *, void *), void *ctx)
{
    struct spend s = {.row = row, .fn = fn, .ctx = ctx, .lost = true};
    cf_status st = CF_ERR_CONFLICT;

    for (int i = 0; i < SPEND_RETRIES && s.lost; i++) {
        if (i > 0 && ((st = token_load(req, row->id, row)) != CF_OK ||
                      (st = token_usable(req, row)) != CF_OK))
            return st;
        s.lost = false;
        st = core_in_txn(req, spend_in_txn, &s);
    }
    if (s.lost)
        return core_fail(req, st, "the import token is being used concurrently, retry");
    return st;
}

/* ------------------------------------------------------------ material */

static bool alg_is_hmac(uint32_t alg)
{
    return alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA1 ||
           alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA224 ||
           alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256 ||
           alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA384 ||
           alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA512;
}

/* The material's length for the algorithm: AES 16/24/32, HMAC 16..64. */
static cf_status check_length(core_req *req, uint32_t alg, size_t len)
{
    if (alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES && len != 16 && len != 24 && len != 32)
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "the unwrapped material is %zu bytes: an AES key is 16, 24 or 32", len);
    if (alg_is_hmac(alg) && (len < 16 || len > 64))
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "the unwrapped material is %zu bytes: an HMAC key is 16 to 64", len);
    if (alg != KMIP_CRYPTOGRAPHIC_ALGORITHM_AES && !alg_is_hmac(alg))
        return core_fail(req, CF_ERR_INVALID_FIELD, "only AES and HMAC keys can be imported "
                                                    "wrapped");
    return CF_OK;
}

/* The new Symmetric Key object for material m, sealed, unsaved. */
static cf_status new_key(core_req *req, const ttlv_item *attrs, const cf_secret *m,
                         core_object **out)
{
    const ttlv_item *alg, *len;
    core_object *obj;
    ttlv_item *v;
    cf_status st;

    if ((st = core_object_new(req, KMIP_OBJECT_TYPE_SYMMETRIC_KEY, attrs, &obj)) != CF_OK)
        return st;
    if ((alg = core_attr_find(obj, "Cryptographic Algorithm", 0)) == NULL)
        return core_fail(req, CF_ERR_MISSING, "Cryptographic Algorithm is required");
    if ((st = check_length(req, alg->v.u32, m->len)) != CF_OK)
        return st;
    if ((len = core_attr_find(obj, "Cryptographic Length", 0)) != NULL &&
        (len->v.i32 <= 0 || (size_t)len->v.i32 != m->len * 8))
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "Cryptographic Length %d does not match the material (%zu bits)",
                         len->v.i32, m->len * 8);
    if (len == NULL) {
        v = ttlv_new_int(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)(m->len * 8));
        if (v == NULL)
            return CF_ERR_NOMEM;
        if ((st = core_object_append_attr(req, obj, "Cryptographic Length", v)) != CF_OK)
            return st;
    }
    obj->key_format = KMIP_KEY_FORMAT_TYPE_RAW;
    if ((st = core_object_digest(req, obj, m->p, m->len, obj->key_format)) != CF_OK ||
        (st = core_object_seal(req, obj, m)) != CF_OK)
        return st;
    *out = obj;
    return CF_OK;
}

static cf_status save_new(core_req *req, void *ctx)
{
    return core_object_save(req, ctx, true);
}

cf_status core_byok_import_key(core_req *req, const core_byok_wrapped *in, const ttlv_item *attrs,
                               core_object **out)
{
    store_import_token row;
    core_object *obj = NULL;
    cf_secret m = {0};
    cf_status st;

    *out = NULL;
    if ((st = core_req_authorize(req, CORE_ACT_CREATE, NULL)) != CF_OK ||
        (st = token_open(req, in, &row, &m)) != CF_OK)
        goto out;
    if ((st = new_key(req, attrs, &m, &obj)) != CF_OK ||
        (st = spend_and(req, &row, save_new, obj)) != CF_OK)
        goto out;
    CF_LOGI("import (wrapped, token %s) %s/%s by %s", row.id, obj->tenant, obj->uid,
            req->who->id ? req->who->id : "?");
    *out = obj;
out:
    cf_secret_free(&m);
    return st;
}

/* ------------------------------------------------------------ versions */

struct version_ctx {
    core_object *obj;
    const cf_secret *m;
    uint32_t version;
};

static cf_status rotate_to(core_req *req, void *p)
{
    struct version_ctx *v = p;
    core_rotate_opts o = {.material = v->m};
    return core_key_rotate_obj(req, v->obj, CORE_ROTATE_IMPORT, &o, &v->version);
}

/* Load root key uid for an import (CORE_ACT_REKEY). */
static cf_status load_for_version(core_req *req, const char *uid, core_object **out)
{
    cf_status st;
    if ((st = core_object_load(req, uid, out)) != CF_OK ||
        (st = core_req_authorize(req, CORE_ACT_REKEY, *out)) != CF_OK)
        return st;
    if (!core_is_root_key(*out))
        return core_fail(req, CF_ERR_OBJECT_TYPE, "only root keys (AES, not extractable, "
                                                  "wrap/unwrap use) have versions");
    return CF_OK;
}

/* A version has the key's length. */
static cf_status check_version_length(core_req *req, const core_object *obj, const cf_secret *m)
{
    const ttlv_item *len = core_attr_find(obj, "Cryptographic Length", 0);
    if (len == NULL || len->v.i32 <= 0 || (size_t)len->v.i32 != m->len * 8)
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "the unwrapped material is %zu bits, the key's versions are %d",
                         m->len * 8, len ? len->v.i32 : 0);
    return CF_OK;
}

cf_status core_byok_import_version(core_req *req, const char *uid, const core_byok_wrapped *in,
                                   uint32_t *out_version)
{
    struct version_ctx v = {0};
    store_import_token row;
    cf_secret m = {0};
    cf_status st;

    *out_version = 0;
    if ((st = load_for_version(req, uid, &v.obj)) != CF_OK ||
        (st = token_open(req, in, &row, &m)) != CF_OK)
        goto out;
    v.m = &m;
    st = CF_ERR_CONFLICT;
    /* A rotation elsewhere between the load and the save: reload, retry
     * (the use is rolled back with the failed attempt). */
    for (int i = 0; i < SPEND_RETRIES && st == CF_ERR_CONFLICT; i++) {
        if ((i > 0 && (st = load_for_version(req, uid, &v.obj)) != CF_OK) ||
            (st = check_version_length(req, v.obj, &m)) != CF_OK)
            goto out;
        st = spend_and(req, &row, rotate_to, &v);
    }
    if (st == CF_OK) {
        *out_version = v.version;
        core_audit_version(req, v.version);
    }
out:
    cf_secret_free(&m);
    return st;
}
