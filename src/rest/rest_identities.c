/*
 * rest_identities.c - /v1/tenants/{tenant}/identities: API keys and
 * certificate identities of a tenant (create, list, get, change, delete,
 * retire).
 *
 * Each route is one core_identity_* call: core decides who may manage
 * whom (the operator in any tenant, a Manager in its own, others 403; a
 * tenant named by someone outside it is 404) and validates names, roles,
 * expiries and restrictions. This file turns JSON into a spec or a patch:
 * RFC 3339 times, role and action names, certificates given as PEM
 * (pinned by the SHA-256 of their DER, as the TLS layer reports a peer:
 * crypto_cert_identify) or as 64 hex digits.
 *
 * The one secret is the token of a new API key. Its 201 answer is built in
 * a secure-heap buffer, handed to libevent, then cleansed (as
 * rest_keys_material does with key material); it is never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto_cert.h"
#include "rest/rest_int.h"
#include "util/log.h"

/* ------------------------------------------------------------- to JSON */
static void hex32(const uint8_t *p, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[64] = '\0';
}

/* The optional members of an Identity. */
static int identity_extras(rest_call *c, json_t *o, const core_identity_rec *r)
{
    char hex[65];
    const char *t;
    int rc = 0;

    if (r->expires != 0)
        rc |= (t = rest_time(c->env->arena, r->expires)) == NULL ||
              json_object_set_new(o, "expires", json_string(t));
    if (r->ident.restriction != NULL)
        rc |= json_object_set_new(o, "restriction", rest_restriction_json(&r->restriction));
    if (r->has_cert) {
        hex32(r->cert_sha256, hex);
        rc |= json_object_set_new(o, "certificate_sha256", json_string(hex));
    }
    if (r->has_ca) {
        hex32(r->ca_sha256, hex);
        rc |= json_object_set_new(o, "ca_sha256", json_string(hex));
    }
    if (r->has_ca && r->subject != NULL)
        rc |= json_object_set_new(o, "subject", json_string(r->subject));
    return rc;
}

static json_t *identity_json(rest_call *c, const core_identity_rec *r)
{
    const char *created = rest_time(c->env->arena, r->created);
    json_t *o;

    if (created == NULL)
        return NULL;
    o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "id", r->ident.id, "tenant",
                  r->ident.tenant ? r->ident.tenant : "", "name",
                  r->ident.name ? r->ident.name : "", "kind",
                  r->ident.kind == CORE_IDENTITY_API_KEY ? "api_key" : "certificate", "role",
                  rest_role_name(r->ident.role), "created", created, "disabled", r->disabled);
    if (o != NULL && identity_extras(c, o, r) != 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static void reply_identity(rest_call *c, int status, const core_identity_rec *r)
{
    rest_reply_json(c, status, identity_json(c, r));
}

/* ----------------------------------------------------------- from JSON */
/* 400 invalid_field: "field \"<field>\" <what>". */
static bool bad(rest_call *c, const char *what, const char *field)
{
    char msg[192];
    snprintf(msg, sizeof msg, "field \"%s\" %s", field, what);
    rest_reply_error(c->req, 400, "invalid_field", msg);
    return false;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Exactly 64 hex digits into out. */
static bool parse_hex32(const char *s, uint8_t out[32])
{
    if (strnlen(s, 65) != 64)
        return false;
    for (int i = 0; i < 32; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* A non-empty array of strings; its items' count in *out_n. */
static bool string_array(rest_call *c, json_t *v, const char *field, size_t *out_n)
{
    size_t i;
    json_t *item;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return bad(c, "must be a non-empty array of strings", field);
    json_array_foreach(v, i, item) {
        if (!json_is_string(item))
            return bad(c, "must be a non-empty array of strings", field);
    }
    *out_n = json_array_size(v);
    return true;
}

static bool restriction_actions(rest_call *c, json_t *v, uint64_t *out)
{
    size_t n, i;
    json_t *item;
    core_action act;

    if (!string_array(c, v, "restriction.actions", &n))
        return false;
    json_array_foreach(v, i, item) {
        if (core_action_parse(json_string_value(item), json_string_length(item), &act) != CF_OK)
            return bad(c, "names an unknown action (see docs/tenants.md: encrypt, "
                          "read-material, ...)", "restriction.actions");
        *out |= CORE_ACTION_BIT(act);
    }
    return true;
}

static bool restriction_keys(rest_call *c, json_t *v, core_restriction *out)
{
    size_t n, i;
    json_t *item;
    const char **uids;

    if (!string_array(c, v, "restriction.keys", &n))
        return false;
    if ((uids = cf_arena_alloc(c->env->arena, n * sizeof *uids)) == NULL) {
        rest_reply_status(c, CF_ERR_NOMEM);
        return false;
    }
    json_array_foreach(v, i, item) {
        uids[i] = cf_arena_strndup(c->env->arena, json_string_value(item),
                                   json_string_length(item));
        if (uids[i] == NULL) {
            rest_reply_status(c, CF_ERR_NOMEM);
            return false;
        }
    }
    out->uids = uids;
    out->n_uids = n;
    return true;
}

/* A Restriction object: {"actions"?, "keys"?}, at least one of them. */
static bool parse_restriction(rest_call *c, json_t *v, core_restriction *out)
{
    const char *key;
    json_t *item, *a, *k;

    memset(out, 0, sizeof *out);
    if (!json_is_object(v))
        return bad(c, "must be an object {\"actions\"?, \"keys\"?}", "restriction");
    json_object_foreach(v, key, item) {
        if (strcmp(key, "actions") != 0 && strcmp(key, "keys") != 0)
            return bad(c, "knows \"actions\" and \"keys\" only", "restriction");
    }
    a = json_object_get(v, "actions");
    k = json_object_get(v, "keys");
    if (a == NULL && k == NULL)
        return bad(c, "must name \"actions\" and/or \"keys\"", "restriction");
    return (a == NULL || restriction_actions(c, a, &out->actions)) &&
           (k == NULL || restriction_keys(c, k, out));
}

/* "expires": an RFC 3339 UTC time (or null when nullable: never).
 * *out_set tells whether the field was there. */
static bool parse_expires(rest_call *c, json_t *body, bool nullable, bool *out_set,
                          int64_t *out)
{
    json_t *v = json_object_get(body, "expires");
    *out_set = v != NULL;
    if (v == NULL)
        return true;
    if (nullable && json_is_null(v)) {
        *out = 0;
        return true;
    }
    if (!json_is_string(v) || !rest_parse_time(json_string_value(v), out))
        return bad(c, "must be an RFC 3339 UTC time such as \"2026-11-24T00:00:00Z\"",
                   "expires");
    return true;
}

static bool parse_role(rest_call *c, const char *s, core_role *out)
{
    if (!rest_role_parse(s, out))
        return bad(c, "must be \"reader\", \"writer\" or \"manager\"", "role");
    return true;
}

/* --------------------------------------------------------------- create */
struct cert_in {
    uint8_t pin[32], ca[32];
};

/* A fingerprint from "<field>" (PEM) or "<field>_sha256" (hex), at most
 * one of them. *out NULL when neither is given. */
static bool cert_field(rest_call *c, json_t *body, const char *pem_field,
                       const char *hex_field, bool want_ca, uint8_t buf[32],
                       const uint8_t **out)
{
    const char *pem = NULL, *hex = NULL;
    crypto_cert_id cid;
    cf_status st;

    *out = NULL;
    if (!rest_get_string(c, body, pem_field, false, &pem) ||
        !rest_get_string(c, body, hex_field, false, &hex))
        return false;
    if (pem != NULL && hex != NULL)
        return bad(c, "and its _sha256 form exclude each other", pem_field);
    if (hex != NULL && !parse_hex32(hex, buf))
        return bad(c, "must be 64 hex digits (SHA-256)", hex_field);
    if (pem != NULL) {
        st = strstr(pem, "-----BEGIN CERTIFICATE-----") == NULL
                 ? CF_ERR_INVALID_FIELD
                 : crypto_cert_identify((const uint8_t *)pem, strlen(pem), c->env->arena, &cid);
        if (st == CF_ERR_INVALID_FIELD || st == CF_ERR_LIMIT)
            return bad(c, "must be one X.509 certificate in PEM", pem_field);
        if (st != CF_OK) {
            rest_reply_status(c, st);
            return false;
        }
        if (want_ca && !cid.is_ca)
            return bad(c, "is not a CA certificate (basicConstraints CA:TRUE)", pem_field);
        memcpy(buf, cid.sha256, 32);
    }
    if (pem != NULL || hex != NULL)
        *out = buf;
    return true;
}

static bool parse_kind(rest_call *c, const char *s, core_identity_kind *out)
{
    if (strcmp(s, "api_key") == 0)
        *out = CORE_IDENTITY_API_KEY;
    else if (strcmp(s, "certificate") == 0)
        *out = CORE_IDENTITY_CERTIFICATE;
    else
        return bad(c, "must be \"api_key\" or \"certificate\"", "kind");
    return true;
}

static bool create_spec(rest_call *c, json_t *body, struct cert_in *certs,
                        core_identity_spec *spec)
{
    const char *kind = NULL, *role = NULL;
    json_t *restr = json_object_get(body, "restriction");
    bool set;

    spec->tenant = c->params[0];
    return rest_get_string(c, body, "kind", true, &kind) &&
           rest_get_string(c, body, "name", true, &spec->name) &&
           rest_get_string(c, body, "role", true, &role) && parse_kind(c, kind, &spec->kind) &&
           parse_role(c, role, &spec->role) &&
           parse_expires(c, body, false, &set, &spec->expires) &&
           (restr == NULL || parse_restriction(c, restr, &spec->restriction)) &&
           cert_field(c, body, "certificate", "certificate_sha256", false, certs->pin,
                      &spec->cert_sha256) &&
           cert_field(c, body, "ca_certificate", "ca_sha256", true, certs->ca,
                      &spec->ca_sha256) &&
           rest_get_string(c, body, "subject", false, &spec->subject);
}

/* {"identity":<Identity>,"token":"cf1_..."} in a secure buffer, replied
 * and cleansed. */
static void reply_with_token(rest_call *c, const core_identity_rec *r, const cf_secret *token)
{
    json_t *ident = identity_json(c, r);
    char *text = ident ? json_dumps(ident, JSON_COMPACT) : NULL;
    cf_secret out = {0};
    size_t n;

    json_decref(ident);
    if (text == NULL || cf_secret_alloc(&out, strlen(text) + token->len + 32) != CF_OK) {
        rest_reply_status(c, CF_ERR_NOMEM);
        goto out;
    }
    /* The token is [A-Za-z0-9_-] only: no JSON escaping needed. */
    n = (size_t)snprintf((char *)out.p, out.len, "{\"identity\":%s,\"token\":\"%.*s\"}", text,
                         (int)token->len, (const char *)token->p);
    if (n >= out.len) {
        rest_reply_status(c, CF_ERR_INTERNAL);
        goto out;
    }
    rest_reply_raw(c->req, 201, (const char *)out.p, n);
out:
    cf_json_free(text);
    cf_secret_free(&out);
}

void rest_identities_create(rest_call *c)
{
    static const char *const fields[] = {"kind", "name", "role", "expires", "restriction",
                                         "certificate", "certificate_sha256", "ca_certificate",
                                         "ca_sha256", "subject", NULL};
    core_identity_spec spec = {0};
    struct cert_in certs;
    core_identity_rec *r;
    cf_secret token = {0};
    json_t *body = NULL;
    cf_status st;
    char loc[CORE_TENANT_ID_MAX + CORE_ID_LEN + 32];

    if (!rest_body(c, fields, false, &body))
        return;
    if (!create_spec(c, body, &certs, &spec))
        goto out;
    st = core_identity_create(&c->creq, &spec, &r,
                              spec.kind == CORE_IDENTITY_API_KEY ? &token : NULL);
    if (st != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    snprintf(loc, sizeof loc, "/v1/tenants/%s/identities/%s", r->ident.tenant, r->ident.id);
    rest_set_location(c, loc);
    if (spec.kind == CORE_IDENTITY_API_KEY)
        reply_with_token(c, r, &token);
    else
        rest_reply_json(c, 201, json_pack("{s:o}", "identity", identity_json(c, r)));
out:
    cf_secret_free(&token);
    json_decref(body);
}

/* ------------------------------------------------------ list, get, delete */
void rest_identities_list(rest_call *c)
{
    core_identity_rec *recs;
    size_t n;
    int64_t limit, offset, total;
    json_t *arr;
    cf_status st;

    if (!rest_paging(c, &limit, &offset))
        return;
    st = core_identity_list(&c->creq, c->params[0], offset, limit, &recs, &n, &total);
    if (st != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n && arr; i++)
        if (json_array_append_new(arr, identity_json(c, &recs[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    rest_reply_json(c, 200, rest_page("identities", arr, total, limit, offset));
}

void rest_identities_get(rest_call *c)
{
    core_identity_rec *r;
    cf_status st = core_identity_get(&c->creq, c->params[0], c->params[1], &r);
    if (st != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    reply_identity(c, 200, r);
}

void rest_identities_delete(rest_call *c)
{
    core_identity_rec *r;
    json_t *doc;
    cf_status st = core_identity_get(&c->creq, c->params[0], c->params[1], &r);

    if (st != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    if ((doc = identity_json(c, r)) == NULL) { /* the identity as it was */
        rest_reply_status(c, CF_ERR_NOMEM);
        return;
    }
    if ((st = core_identity_delete(&c->creq, c->params[0], c->params[1])) != CF_OK) {
        json_decref(doc);
        rest_reply_status(c, st);
        return;
    }
    rest_reply_json(c, 200, doc);
}

/* ---------------------------------------------------------------- update */
static bool patch_fields(rest_call *c, json_t *body, core_identity_patch *p)
{
    const char *role = NULL;
    json_t *restr = json_object_get(body, "restriction");

    if (!rest_get_string(c, body, "name", false, &p->name) ||
        !rest_get_string(c, body, "role", false, &role) ||
        (role != NULL && !parse_role(c, role, &p->role)) ||
        !parse_expires(c, body, true, &p->set_expires, &p->expires) ||
        !rest_get_bool(c, body, "disabled", &p->disabled))
        return false;
    p->set_disabled = json_object_get(body, "disabled") != NULL;
    if (restr != NULL) {
        p->set_restriction = true;
        if (!json_is_null(restr) && !parse_restriction(c, restr, &p->restriction))
            return false;
    }
    if (json_object_size(body) == 0) {
        rest_reply_error(c->req, 400, "missing_data",
                         "give at least one of name, role, expires, disabled, restriction");
        return false;
    }
    return true;
}

void rest_identities_update(rest_call *c)
{
    static const char *const fields[] = {"name", "role", "expires", "disabled", "restriction",
                                         NULL};
    core_identity_patch p = {0};
    core_identity_rec *r;
    json_t *body = NULL;
    cf_status st;

    if (!rest_body(c, fields, false, &body))
        return;
    if (!patch_fields(c, body, &p))
        goto out;
    if ((st = core_identity_update(&c->creq, c->params[0], c->params[1], &p, &r)) != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    reply_identity(c, 200, r);
out:
    json_decref(body);
}

/* ---------------------------------------------------------------- retire */
static json_t *uid_array(const core_retire_result *res)
{
    json_t *a = json_array();
    for (size_t i = 0; i < res->n && a; i++)
        if (json_array_append_new(a, json_string(res->uids[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

/* 409 wrong_state with {"keys": [the live objects], "total": N}. */
static void reply_refused(rest_call *c, cf_status st, const core_retire_result *res)
{
    const struct cf_status_info *si = cf_status_info(st);
    json_t *keys = uid_array(res);
    json_t *details = keys ? json_pack("{s:o,s:I}", "keys", keys, "total",
                                       (json_int_t)res->total)
                           : NULL;
    if (details == NULL) {
        rest_reply_status(c, CF_ERR_NOMEM);
        return;
    }
    rest_reply_error_details(c->req, si->http_status, si->name,
                             c->creq.err_msg ? c->creq.err_msg : si->message, details);
}

static bool parse_mode(rest_call *c, json_t *body, core_retire_mode *out)
{
    const char *mode = NULL;
    *out = CORE_RETIRE_REFUSE_AND_LIST;
    if (body != NULL && !rest_get_string(c, body, "mode", false, &mode))
        return false;
    if (mode == NULL || strcmp(mode, "refuse") == 0)
        return true;
    if (strcmp(mode, "destroy_keys") == 0) {
        *out = CORE_RETIRE_REVOKE_AND_DESTROY;
        return true;
    }
    return bad(c, "must be \"refuse\" or \"destroy_keys\"", "mode");
}

void rest_identities_retire(rest_call *c)
{
    static const char *const fields[] = {"mode", NULL};
    core_retire_result res;
    core_retire_mode mode;
    core_identity_rec *r;
    json_t *body = NULL, *ident, *destroyed;
    cf_status st;

    if (!rest_body(c, fields, true, &body))
        return;
    if (!parse_mode(c, body, &mode))
        goto out;
    st = core_identity_retire(&c->creq, c->params[0], c->params[1], mode, &res);
    if (st == CF_ERR_STATE && mode == CORE_RETIRE_REFUSE_AND_LIST && res.total > 0) {
        reply_refused(c, st, &res);
        goto out;
    }
    if (st != CF_OK || (st = core_identity_get(&c->creq, c->params[0], c->params[1], &r))) {
        rest_reply_status(c, st);
        goto out;
    }
    ident = identity_json(c, r);
    destroyed = uid_array(&res);
    rest_reply_json(c, 200, ident && destroyed ? json_pack("{s:o,s:o}", "identity", ident,
                                                           "destroyed", destroyed)
                                               : NULL);
    if (ident == NULL || destroyed == NULL) {
        json_decref(ident);
        json_decref(destroyed);
    }
out:
    json_decref(body);
}
