/*
 * core_identity.c - identities: API key tokens, authentication, and their
 * management (create, get, list, update, delete).
 *
 * An identity is a row of the store keyed by (tenant, id); the operator's
 * have no tenant. Two ways in:
 * - API keys. The token "cf1_<id hex>_<secret base64url>" names its
 *   identity, so verification is one lookup by id and one constant-time
 *   comparison of SHA-256(secret) with the stored hash. The secret has 256
 *   random bits: a plain hash is enough (nothing to brute-force), and the
 *   server never holds the secret after answering the creation request.
 * - Certificates, as the TLS layer verified them: the pin (SHA-256 of the
 *   DER) first, then a CA rule of the anchor that issued it. A pin that
 *   maps to a disabled identity refuses the certificate even if a CA rule
 *   would admit it: retiring a pinned vCenter certificate must hold.
 * Every refusal is CF_ERR_AUTH with nothing more for the client; the log
 * says why (never the token).
 *
 * Management runs under CORE_ACT_MANAGE_IDENTITIES in the addressed
 * tenant (manage_scope): a Manager in its own, the operator in any. Reads
 * and writes always name the tenant, so a Manager of B cannot see or touch
 * A's identities even by id.
 */
#include "core/core_int.h"

#include <string.h>

#include <openssl/crypto.h>

#include "util/limits.h"
#include "util/log.h"

#define IDENTITY_RETRIES 5
#define SUBJECT_MAX 511 /* net_peer.subject holds 511 bytes */

/* ----------------------------------------------------------------- tokens */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

/* 32 bytes -> 43 characters (no padding). */
static void b64url_encode32(const uint8_t in[32], char out[43])
{
    size_t o = 0;
    for (size_t i = 0; i < 30; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        for (int k = 3; k >= 0; k--)
            out[o++] = b64url[(v >> (6 * k)) & 63];
    }
    uint32_t v = (uint32_t)in[30] << 10 | (uint32_t)in[31] << 2; /* 18 bits */
    out[o++] = b64url[(v >> 12) & 63];
    out[o++] = b64url[(v >> 6) & 63];
    out[o] = b64url[v & 63];
}

/* 43 characters -> 32 bytes; false unless canonical (the two unused low
 * bits of the last character are zero). */
static bool b64url_decode32(const char in[43], uint8_t out[32])
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < 43; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8 && o < 32) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return o == 32 && bits == 2 && acc == 0;
}

static bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

cf_status core_token_make(const char *id, const uint8_t secret[CORE_TOKEN_SECRET_LEN],
                          cf_secret *out)
{
    size_t o = 0;
    cf_status st;

    out->p = NULL;
    out->len = 0;
    if (id == NULL || strlen(id) != CORE_ID_LEN)
        return CF_ERR_INVALID_FIELD;
    if ((st = cf_secret_alloc(out, CORE_TOKEN_LEN + 1)) != CF_OK)
        return st;
    memcpy(out->p, CORE_TOKEN_PREFIX, 4);
    o = 4;
    for (size_t i = 0; i < CORE_ID_LEN; i++) {
        if (id[i] == '-')
            continue;
        if (!is_lower_hex(id[i]) || o >= 36) {
            cf_secret_free(out);
            return CF_ERR_INVALID_FIELD;
        }
        out->p[o++] = (uint8_t)id[i];
    }
    if (o != 36) {
        cf_secret_free(out);
        return CF_ERR_INVALID_FIELD;
    }
    out->p[o++] = '_';
    b64url_encode32(secret, (char *)out->p + o);
    out->p[CORE_TOKEN_LEN] = '\0';
    out->len = CORE_TOKEN_LEN;
    return CF_OK;
}

cf_status core_token_parse(const char *token, size_t len, char out_id[CORE_ID_LEN + 1],
                           uint8_t out_secret[CORE_TOKEN_SECRET_LEN])
{
    size_t o = 0;

    out_id[0] = '\0';
    if (token == NULL || len != CORE_TOKEN_LEN || memcmp(token, CORE_TOKEN_PREFIX, 4) != 0 ||
        token[36] != '_')
        return CF_ERR_AUTH;
    for (size_t i = 4; i < 36; i++) {
        if (!is_lower_hex(token[i]))
            return CF_ERR_AUTH;
        if (i == 12 || i == 16 || i == 20 || i == 24) /* 8-4-4-4-12 */
            out_id[o++] = '-';
        out_id[o++] = token[i];
    }
    out_id[o] = '\0';
    if (!b64url_decode32(token + 37, out_secret)) {
        OPENSSL_cleanse(out_secret, CORE_TOKEN_SECRET_LEN);
        out_id[0] = '\0';
        return CF_ERR_AUTH;
    }
    return CF_OK;
}

/* -------------------------------------------------------------- records */

/* The uids of a restriction, stored as one space-separated string. */
static cf_status uids_join(cf_arena *a, const core_restriction *r, const char **out)
{
    size_t n = 0, o = 0;
    char *s;
    *out = NULL;
    if (r->n_uids == 0)
        return CF_OK;
    for (size_t i = 0; i < r->n_uids; i++)
        n += strlen(r->uids[i]) + 1;
    if ((s = cf_arena_alloc(a, n)) == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < r->n_uids; i++) {
        size_t l = strlen(r->uids[i]);
        memcpy(s + o, r->uids[i], l);
        o += l;
        s[o++] = i + 1 < r->n_uids ? ' ' : '\0';
    }
    *out = s;
    return CF_OK;
}

static cf_status uids_split(cf_arena *a, const char *joined, core_restriction *r)
{
    const char **v;
    size_t n = 1, k = 0;
    r->uids = NULL;
    r->n_uids = 0;
    if (joined == NULL || *joined == '\0')
        return CF_OK;
    for (const char *p = joined; *p; p++)
        n += *p == ' ';
    if ((v = cf_arena_alloc(a, n * sizeof *v)) == NULL)
        return CF_ERR_NOMEM;
    for (const char *p = joined; k < n; k++) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if ((v[k] = cf_arena_strndup(a, p, l)) == NULL)
            return CF_ERR_NOMEM;
        p += l + (e != NULL);
    }
    r->uids = v;
    r->n_uids = n;
    return CF_OK;
}

cf_status core_identity_from_row(cf_arena *a, const store_identity *row, core_identity_rec **out)
{
    core_identity_rec *r = cf_arena_calloc(a, sizeof *r);
    cf_status st;

    *out = NULL;
    if (r == NULL)
        return CF_ERR_NOMEM;
    r->ident.tenant = row->tenant;
    r->ident.id = row->id;
    r->ident.role = (core_role)row->role;
    r->ident.is_operator = row->is_operator;
    r->ident.kind = (core_identity_kind)row->kind;
    r->ident.name = row->name;
    r->restriction.actions = row->restrict_actions;
    if ((st = uids_split(a, row->restrict_uids, &r->restriction)) != CF_OK)
        return st;
    if (r->restriction.actions != 0 || r->restriction.n_uids != 0)
        r->ident.restriction = &r->restriction;
    r->created = row->created;
    r->expires = row->expires;
    r->disabled = row->disabled;
    if ((r->has_cert = row->cert_sha256 != NULL))
        memcpy(r->cert_sha256, row->cert_sha256, 32);
    if ((r->has_ca = row->ca_sha256 != NULL))
        memcpy(r->ca_sha256, row->ca_sha256, 32);
    r->subject = row->subject;
    r->revision = row->revision;
    *out = r;
    return CF_OK;
}

void core_identity_to_row(const core_identity_rec *r, const char *uids, store_identity *row)
{
    memset(row, 0, sizeof *row);
    row->id = r->ident.id;
    row->tenant = r->ident.tenant;
    row->kind = r->ident.kind;
    row->name = r->ident.name;
    row->role = r->ident.role;
    row->is_operator = r->ident.is_operator;
    row->created = r->created;
    row->expires = r->expires;
    row->disabled = r->disabled;
    row->cert_sha256 = r->has_cert ? r->cert_sha256 : NULL;
    row->ca_sha256 = r->has_ca ? r->ca_sha256 : NULL;
    row->subject = r->has_ca ? r->subject : NULL;
    row->restrict_actions = r->restriction.actions;
    row->restrict_uids = uids;
    row->revision = r->revision;
}

/* One UTF-8 sequence at p (n bytes left): its length, 0 when invalid
 * (overlong, surrogate, beyond U+10FFFF, truncated) or a control character
 * (C0, DEL, C1). */
static size_t utf8_char(const unsigned char *p, size_t n)
{
    static const uint32_t min[4] = {0, 0xA0, 0x800, 0x10000};
    unsigned c = p[0];
    size_t need;
    uint32_t cp;

    if (c < 0x80)
        return c >= 0x20 && c != 0x7F ? 1 : 0;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 3, cp = c & 0x07;
    else
        return 0;
    if (need >= n)
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need + 1;
}

bool core_text_valid(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = s ? strnlen(s, max + 1) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0, k; i < n; i += k)
        if ((k = utf8_char(p + i, n - i)) == 0)
            return false;
    return true;
}

cf_status core_api_key_new(const char *id, cf_secret *out_token, uint8_t out_sha256[32])
{
    cf_secret secret = {0};
    cf_status st = crypto_random_secret(CORE_TOKEN_SECRET_LEN, &secret);
    if (st == CF_OK && (st = core_token_make(id, secret.p, out_token)) == CF_OK &&
        (st = crypto_sha256(secret.p, secret.len, out_sha256)) != CF_OK)
        cf_secret_free(out_token);
    cf_secret_free(&secret);
    return st;
}

/* ------------------------------------------------------- authentication */

/* Judge a row found by an authentication lookup. */
static cf_status admit(cf_arena *a, int64_t now, const store_identity *row,
                       core_identity_kind kind, const char *how, core_identity **out)
{
    const char *why = NULL;
    core_identity_rec *r;
    cf_status st;

    if (row->kind != (uint32_t)kind)
        why = "wrong kind of identity";
    else if (row->disabled)
        why = "identity disabled";
    else if (row->expires != 0 && now >= row->expires)
        why = "identity expired";
    else if (row->tenant != NULL && row->tenant_state != CORE_TENANT_ACTIVE)
        why = row->tenant_state == 0 ? "tenant deleted" : "tenant suspended";
    else if (row->tenant == NULL && (!row->is_operator || kind != CORE_IDENTITY_API_KEY))
        why = "operator identities use API keys";
    if (why != NULL) {
        CF_LOGI("authentication refused (%s %s, tenant %s): %s", how, row->id,
                row->tenant ? row->tenant : "-", why);
        return CF_ERR_AUTH;
    }
    if ((st = core_identity_from_row(a, row, &r)) != CF_OK)
        return st;
    *out = &r->ident;
    return CF_OK;
}

cf_status core_auth_token(store *st, cf_arena *a, int64_t now, const char *token, size_t len,
                          core_identity **out)
{
    char id[CORE_ID_LEN + 1];
    uint8_t secret[CORE_TOKEN_SECRET_LEN], h[32];
    store_identity row;
    cf_status rc;

    *out = NULL;
    if ((rc = core_token_parse(token, len, id, secret)) != CF_OK) {
        CF_LOGI("authentication refused: malformed API key");
        return CF_ERR_AUTH;
    }
    rc = crypto_sha256(secret, sizeof secret, h);
    OPENSSL_cleanse(secret, sizeof secret);
    if (rc != CF_OK)
        goto out;
    rc = store_auth_by_id(st, id, a, &row);
    if (rc == CF_ERR_NOT_FOUND) {
        CF_LOGI("authentication refused: no identity %s", id);
        rc = CF_ERR_AUTH;
    } else if (rc == CF_OK && (row.secret_sha256 == NULL ||
                               CRYPTO_memcmp(row.secret_sha256, h, sizeof h) != 0)) {
        CF_LOGI("authentication refused (API key %s): wrong secret", id);
        rc = CF_ERR_AUTH;
    } else if (rc == CF_OK) {
        rc = admit(a, now, &row, CORE_IDENTITY_API_KEY, "API key", out);
    }
out:
    OPENSSL_cleanse(h, sizeof h);
    return rc;
}

cf_status core_auth_certificate(store *st, cf_arena *a, int64_t now, const core_peer_cert *cert,
                                core_identity **out)
{
    store_identity row;
    cf_status rc;

    *out = NULL;
    if (cert == NULL || cert->sha256 == NULL)
        return CF_ERR_AUTH;
    rc = store_auth_by_cert(st, cert->sha256, a, &row);
    if (rc == CF_ERR_NOT_FOUND && cert->issuer_sha256 != NULL && cert->subject != NULL)
        rc = store_auth_by_ca(st, cert->issuer_sha256, cert->subject, a, &row);
    if (rc == CF_ERR_NOT_FOUND)
        return CF_ERR_AUTH; /* the caller logs the certificate */
    if (rc != CF_OK)
        return rc;
    return admit(a, now, &row, CORE_IDENTITY_CERTIFICATE, "certificate", out);
}

/* ----------------------------------------------------------- management */

cf_status core_manage_scope(core_req *req, const char *tenant, const char **out)
{
    const core_identity *who = req->who;
    store_tenant t;
    cf_status st;

    *out = NULL;
    if ((st = core_req_authorize(req, CORE_ACT_MANAGE_IDENTITIES, NULL)) != CF_OK)
        return st;
    if (!who->is_operator) {
        if (tenant != NULL && strcmp(tenant, who->tenant) != 0)
            return core_fail(req, CF_ERR_NOT_FOUND, "no such tenant");
        *out = who->tenant;
        return CF_OK;
    }
    if (tenant == NULL) /* the operator's own identities */
        return CF_OK;
    st = store_tenant_get(req->st, tenant, req->arena, &t);
    if (st == CF_ERR_NOT_FOUND)
        return core_fail(req, st, "no such tenant");
    if (st == CF_OK)
        *out = t.id;
    return st;
}

/* A restriction is well-formed and names objects of the tenant. */
static cf_status check_restriction(core_req *req, const char *tenant, const core_restriction *r)
{
    store_object o;
    if (r->actions & ~CORE_ACTIONS_ALL)
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown action in the restriction");
    if (r->n_uids > CORE_RESTRICT_UIDS_MAX || (r->n_uids && r->uids == NULL))
        return core_fail(req, CF_ERR_INVALID_FIELD, "a restriction names at most %d objects",
                         CORE_RESTRICT_UIDS_MAX);
    if ((r->actions != 0 || r->n_uids != 0) && tenant == NULL)
        return core_fail(req, CF_ERR_INVALID_FIELD, "operator identities are not restricted");
    for (size_t i = 0; i < r->n_uids; i++) {
        const char *u = r->uids[i];
        size_t n = u ? strlen(u) : 0;
        if (n == 0 || n > CF_LIMIT_UID)
            return core_fail(req, CF_ERR_INVALID_FIELD, "invalid object id in the restriction");
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)u[k] <= 0x20 || (unsigned char)u[k] >= 0x7F)
                return core_fail(req, CF_ERR_INVALID_FIELD,
                                 "invalid object id in the restriction");
        if (store_object_get(req->st, tenant, u, req->arena, &o) != CF_OK)
            return core_fail(req, CF_ERR_NOT_FOUND, "the restriction names an unknown object");
    }
    return CF_OK;
}

/* The checks of a new identity's spec, the tenant already resolved. */
static cf_status check_spec(core_req *req, const core_identity_spec *s, const char *tenant)
{
    bool cert = s->kind == CORE_IDENTITY_CERTIFICATE;
    if (s->kind != CORE_IDENTITY_CERTIFICATE && s->kind != CORE_IDENTITY_API_KEY)
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown kind of identity");
    if (!core_text_valid(s->name, CORE_NAME_MAX))
        return core_fail(req, CF_ERR_INVALID_FIELD, "the name must be 1 to %d bytes of text",
                         CORE_NAME_MAX);
    if (s->is_operator != (tenant == NULL))
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         s->is_operator ? "operator identities have no tenant"
                                        : "a tenant is required");
    if (s->is_operator ? (s->role != CORE_ROLE_NONE || cert)
                       : (s->role < CORE_ROLE_READER || s->role > CORE_ROLE_MANAGER))
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         s->is_operator ? "operator identities are API keys without a role"
                                        : "the role must be Reader, Writer or Manager");
    if (s->expires != 0 && s->expires <= req->now)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the expiry must be in the future");
    if (cert && s->cert_sha256 == NULL && s->ca_sha256 == NULL)
        return core_fail(req, CF_ERR_MISSING,
                         "a certificate identity needs a fingerprint or a CA rule");
    if (!cert && (s->cert_sha256 != NULL || s->ca_sha256 != NULL))
        return core_fail(req, CF_ERR_INVALID_FIELD, "an API key has no certificate");
    if (s->subject != NULL && (s->ca_sha256 == NULL || !core_text_valid(s->subject, SUBJECT_MAX)))
        return core_fail(req, CF_ERR_INVALID_FIELD, "a subject belongs to a CA rule");
    return check_restriction(req, tenant, &s->restriction);
}

/* One insert in its own durable transaction. */
cf_status core_identity_insert(core_req *req, const core_identity_rec *r,
                               const uint8_t *secret_sha256)
{
    const char *uids = NULL;
    store_identity row;
    cf_status st;

    if ((st = uids_join(req->arena, &r->restriction, &uids)) != CF_OK)
        return st;
    core_identity_to_row(r, uids, &row);
    row.secret_sha256 = secret_sha256;
    if ((st = store_begin(req->st)) != CF_OK)
        return st;
    st = store_identity_insert(req->st, &row);
    if (st == CF_OK)
        st = core_commit(req);
    if (st != CF_OK)
        store_rollback(req->st);
    if (st == CF_ERR_EXISTS)
        return core_fail(req, st, "this certificate or CA rule already maps to an identity");
    return st;
}

/* The record of a new identity from its spec (the secret hash aside). */
static cf_status new_record(core_req *req, const core_identity_spec *s, const char *tenant,
                            core_identity_rec **out)
{
    core_identity_rec *r = cf_arena_calloc(req->arena, sizeof *r);
    cf_status st;

    if (r == NULL)
        return CF_ERR_NOMEM;
    if ((st = core_new_uid(req->arena, &r->ident.id)) != CF_OK)
        return st;
    r->ident.tenant = tenant;
    r->ident.role = s->role;
    r->ident.is_operator = s->is_operator;
    r->ident.kind = s->kind;
    r->ident.name = cf_arena_strndup(req->arena, s->name, strlen(s->name));
    r->restriction = s->restriction;
    if (r->restriction.actions != 0 || r->restriction.n_uids != 0)
        r->ident.restriction = &r->restriction;
    r->created = req->now;
    r->expires = s->expires;
    r->revision = 1;
    if ((r->has_cert = s->cert_sha256 != NULL))
        memcpy(r->cert_sha256, s->cert_sha256, 32);
    if ((r->has_ca = s->ca_sha256 != NULL))
        memcpy(r->ca_sha256, s->ca_sha256, 32);
    r->subject = s->subject ? cf_arena_strndup(req->arena, s->subject, strlen(s->subject)) : NULL;
    if (r->ident.name == NULL || (s->subject && r->subject == NULL))
        return CF_ERR_NOMEM;
    *out = r;
    return CF_OK;
}

cf_status core_identity_create(core_req *req, const core_identity_spec *spec,
                               core_identity_rec **out, cf_secret *out_token)
{
    const char *tenant = NULL;
    core_identity_rec *r = NULL;
    cf_secret token = {0};
    uint8_t h[32];
    bool api = spec->kind == CORE_IDENTITY_API_KEY;
    cf_status st;

    *out = NULL;
    if (out_token) {
        out_token->p = NULL;
        out_token->len = 0;
    }
    if ((st = core_manage_scope(req, spec->tenant, &tenant)) != CF_OK ||
        (st = check_spec(req, spec, tenant)) != CF_OK ||
        (st = new_record(req, spec, tenant, &r)) != CF_OK)
        return st;
    if (api && out_token == NULL)
        return core_fail(req, CF_ERR_INTERNAL, "nowhere to put the token");
    if (api && (st = core_api_key_new(r->ident.id, &token, h)) != CF_OK)
        return st;
    if ((st = core_identity_insert(req, r, api ? h : NULL)) != CF_OK) {
        cf_secret_free(&token);
        return st;
    }
    CF_LOGI("identity %s (%s, tenant %s, role %d) created by %s", r->ident.id,
            spec->kind == CORE_IDENTITY_API_KEY ? "API key" : "certificate",
            tenant ? tenant : "-", (int)r->ident.role, req->who->id ? req->who->id : "?");
    if (out_token)
        *out_token = token;
    *out = r;
    return CF_OK;
}

cf_status core_identity_get(core_req *req, const char *tenant, const char *id,
                            core_identity_rec **out)
{
    const char *t = NULL;
    store_identity row;
    cf_status st;

    *out = NULL;
    if ((st = core_manage_scope(req, tenant, &t)) != CF_OK)
        return st;
    st = store_identity_get(req->st, t, id, req->arena, &row);
    if (st == CF_ERR_NOT_FOUND)
        return core_fail(req, st, "no such identity");
    if (st != CF_OK)
        return st;
    return core_identity_from_row(req->arena, &row, out);
}

cf_status core_identity_self(core_req *req, core_identity_rec **out)
{
    store_identity row;
    cf_status st;

    *out = NULL;
    if (core_authenticated(req->who) != CF_OK || req->who->id == NULL)
        return core_fail(req, CF_ERR_AUTH, "authentication is required");
    st = store_identity_get(req->st, req->who->tenant, req->who->id, req->arena, &row);
    if (st == CF_ERR_NOT_FOUND)
        return core_fail(req, st, "no such identity");
    if (st != CF_OK)
        return st;
    return core_identity_from_row(req->arena, &row, out);
}

cf_status core_identity_list(core_req *req, const char *tenant, int64_t offset, int64_t limit,
                             core_identity_rec **out, size_t *out_n, int64_t *out_total)
{
    const char *t = NULL;
    store_identity *rows = NULL;
    core_identity_rec *recs;
    size_t n = 0;
    cf_status st;

    *out = NULL;
    *out_n = 0;
    *out_total = 0;
    if ((st = core_manage_scope(req, tenant, &t)) != CF_OK)
        return st;
    if (offset < 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "negative offset");
    if ((st = store_identity_list(req->st, t, offset, limit, req->arena, &rows, &n, out_total)))
        return st;
    if (n && (recs = cf_arena_alloc(req->arena, n * sizeof *recs)) == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        core_identity_rec *r;
        if ((st = core_identity_from_row(req->arena, &rows[i], &r)) != CF_OK)
            return st;
        recs[i] = *r;
        if (recs[i].ident.restriction)
            recs[i].ident.restriction = &recs[i].restriction;
    }
    *out = n ? recs : NULL;
    *out_n = n;
    return CF_OK;
}

/* Apply a patch to a loaded record. */
static cf_status apply_patch(core_req *req, core_identity_rec *r, const core_identity_patch *p)
{
    cf_status st;
    if (p->name != NULL) {
        if (!core_text_valid(p->name, CORE_NAME_MAX))
            return core_fail(req, CF_ERR_INVALID_FIELD, "the name must be 1 to %d bytes of text",
                             CORE_NAME_MAX);
        r->ident.name = p->name;
    }
    if (p->role != CORE_ROLE_NONE) {
        if (r->ident.is_operator || p->role < CORE_ROLE_READER || p->role > CORE_ROLE_MANAGER)
            return core_fail(req, CF_ERR_INVALID_FIELD, "the role must be Reader, Writer or Manager");
        r->ident.role = p->role;
    }
    if (p->set_expires) {
        if (p->expires != 0 && p->expires <= req->now)
            return core_fail(req, CF_ERR_INVALID_FIELD, "the expiry must be in the future");
        r->expires = p->expires;
    }
    if (p->set_disabled)
        r->disabled = p->disabled;
    if (p->set_restriction) {
        if ((st = check_restriction(req, r->ident.tenant, &p->restriction)) != CF_OK)
            return st;
        r->restriction = p->restriction;
    }
    return CF_OK;
}

/* Load (tenant, id), apply fn, save revision-checked; retried on conflict. */
cf_status core_identity_edit(core_req *req, const char *tenant, const char *id,
                             cf_status (*fn)(core_req *, core_identity_rec *, const void *),
                             const void *ctx, core_identity_rec **out)
{
    store_identity row;
    core_identity_rec *r = NULL;
    const char *uids;
    cf_status st = CF_ERR_CONFLICT;

    for (int i = 0; i < IDENTITY_RETRIES && st == CF_ERR_CONFLICT; i++) {
        st = store_identity_get(req->st, tenant, id, req->arena, &row);
        if (st == CF_ERR_NOT_FOUND)
            return core_fail(req, st, "no such identity");
        if (st != CF_OK || (st = core_identity_from_row(req->arena, &row, &r)) != CF_OK ||
            (st = fn(req, r, ctx)) != CF_OK || (st = uids_join(req->arena, &r->restriction, &uids)))
            return st;
        const uint8_t *secret = row.secret_sha256; /* the stored hash stays */
        r->revision++;
        core_identity_to_row(r, uids, &row);
        row.secret_sha256 = secret;
        if ((st = store_begin(req->st)) != CF_OK)
            return st;
        if ((st = store_identity_update(req->st, &row)) == CF_OK)
            st = core_commit(req);
        if (st != CF_OK)
            store_rollback(req->st);
    }
    if (st == CF_ERR_CONFLICT)
        return core_fail(req, st, "the identity is being modified concurrently");
    if (st == CF_OK && out != NULL) {
        r->ident.restriction =
            r->restriction.actions || r->restriction.n_uids ? &r->restriction : NULL;
        *out = r;
    }
    return st;
}

static cf_status patch_fn(core_req *req, core_identity_rec *r, const void *ctx)
{
    return apply_patch(req, r, ctx);
}

cf_status core_identity_update(core_req *req, const char *tenant, const char *id,
                               const core_identity_patch *p, core_identity_rec **out)
{
    const char *t = NULL;
    cf_status st;

    if (out)
        *out = NULL;
    if ((st = core_manage_scope(req, tenant, &t)) != CF_OK)
        return st;
    st = core_identity_edit(req, t, id, patch_fn, p, out);
    if (st == CF_OK)
        CF_LOGI("identity %s (tenant %s) changed by %s", id, t ? t : "-", req->who->id);
    return st;
}

cf_status core_identity_delete(core_req *req, const char *tenant, const char *id)
{
    const char *t = NULL;
    cf_status st;

    if ((st = core_manage_scope(req, tenant, &t)) != CF_OK)
        return st;
    if ((st = store_begin(req->st)) != CF_OK)
        return st;
    if ((st = store_identity_delete(req->st, t, id)) == CF_OK)
        st = core_commit(req);
    if (st != CF_OK)
        store_rollback(req->st);
    if (st == CF_ERR_NOT_FOUND)
        return core_fail(req, st, "no such identity");
    if (st == CF_OK)
        CF_LOGI("identity %s (tenant %s) deleted by %s", id, t ? t : "-", req->who->id);
    return st;
}
