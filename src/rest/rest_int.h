/*
 * rest_int.h - what the REST files share: the per-request call, the JSON
 * replies and the strict body reader.
 *
 * Every helper that refuses a request has already replied (a JSON error)
 * when it returns false / a non-CF_OK status marked "replied": handlers
 * just return. Core failures go through rest_reply_status, the one mapping
 * of util/status.c (HTTP status + stable code), with core's client-safe
 * message.
 */
#ifndef CF_REST_INT_H
#define CF_REST_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "rest/rest.h"

#define REST_MAX_PARAMS 4

typedef struct rest_call {
    const rest_env *env;
    const net_peer *peer;
    struct evhttp_request *req;
    const char *params[REST_MAX_PARAMS];
    unsigned nparams;
    core_req creq;        /* who, now, arena, store: for core calls */
    /* The audit record of the call (rest_audit.c): the error replied with. */
    const char *audit_code;
    const char *audit_msg;
    bool audit_done;      /* written: later replies (none expected) pass */
} rest_call;

/* ------------------------------------------------------------- rest.c */
void rest_reply_raw(struct evhttp_request *req, int status, const char *body, size_t len);
/* Reply with a JSON value (consumed; NULL: out of memory). */
void rest_reply_json(rest_call *c, int status, json_t *body);
void rest_reply_error(struct evhttp_request *req, int status, const char *code, const char *msg);
/* The same with an "details" object in the error (consumed; may be NULL). */
void rest_reply_error_details(struct evhttp_request *req, int status, const char *code,
                              const char *msg, json_t *details);
/* A core failure: util/status.c's HTTP status and code, core's message. */
void rest_reply_status(rest_call *c, cf_status st);

/* -------------------------------------------------------- rest_auth.c */
/* Authenticate `Authorization: Bearer <token>` into c->creq.who, then
 * check the caller's rate limits (core_rate_check); false when replied:
 * 401 with WWW-Authenticate: Bearer (missing or refused), 429 with
 * Retry-After (over a rate limit). */
bool rest_authenticate(rest_call *c);

/* -------------------------------------------------------- rest_json.c */
/* The request's JSON object body, strictly: Content-Type application/json
 * (415), at most CF_LIMIT_REST_BODY bytes (413), valid UTF-8, no duplicate
 * keys, no trailing bytes (400 invalid_message with the position), an
 * object whose keys are all in `fields` (NULL-terminated; 400
 * invalid_field naming the first unknown one). optional: an empty body
 * gives *out NULL. false: replied. The caller json_decref()s *out. */
bool rest_body(rest_call *c, const char *const *fields, bool optional, json_t **out);
/* Typed field readers: absent leaves *out unchanged and answers true
 * unless required; a wrong type replies 400 invalid_field / missing_data. */
bool rest_get_string(rest_call *c, json_t *o, const char *key, bool required, const char **out);
bool rest_get_int(rest_call *c, json_t *o, const char *key, bool required, json_int_t *out);
bool rest_get_bool(rest_call *c, json_t *o, const char *key, bool *out);
bool rest_get_array(rest_call *c, json_t *o, const char *key, json_t **out);
/* Query parameters of the request URI into an evkeyvalq-like lookup:
 * unknown or repeated parameters refused (400). Values in the arena,
 * NULL when absent, in the order of `names`. false: replied. */
bool rest_query(rest_call *c, const char *const *names, const char **out_values);
/* "2026-11-23T06:14:34Z" in the arena (NULL when out of memory). */
const char *rest_time(cf_arena *a, int64_t t);
/* A duration: digits and one unit, s, h, d, w, m (30 days) or y (365
 * days), e.g. "14d", "24h", into seconds. false when malformed (at most 9
 * digits: no overflow). Rotation intervals and import-token TTLs. */
bool rest_parse_duration(const char *s, int64_t *out);
/* Strict RFC 4648 section 4 base64 (padding required, no whitespace, zero
 * pad bits) of s[0..n) into out, which has room for n / 4 * 3 bytes.
 * false when malformed; *bad (may be NULL) receives the offset of the
 * first wrong character (n for a wrong length). */
bool rest_b64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len, size_t *bad);
/* Strict RFC 3339 (section 5.6) UTC time: "2026-11-23T06:14:34Z", with
 * an optional fraction (ignored: whole seconds) and "Z" or "+00:00".
 * false for anything else (other offsets, out-of-range fields, years
 * before 1970). Pure: no reply. */
bool rest_parse_time(const char *s, int64_t *out);
/* A query count: decimal digits only, min..max (400 invalid_field naming
 * `what` otherwise). NULL s leaves *out unchanged. false: replied. */
bool rest_parse_count(rest_call *c, const char *s, const char *what, int64_t min, int64_t max,
                      int64_t *out);

/* ------------------------------------------------------ rest_audit.c */
/* rest_handle: begin the record of the call to a route (before
 * authentication, so refusals are recorded) and forget the call after. */
void rest_audit_begin(rest_call *c, const char *method, const char *pattern);
void rest_audit_finish(rest_call *c);
/* rest.c's reply path: note an error's code and message; then, before a
 * reply is sent, write the call's record (once). false: it could not be
 * written, the reply must be 503 audit_unavailable instead (fail closed). */
void rest_audit_note_error(struct evhttp_request *req, const char *code, const char *msg);
bool rest_audit_before_reply(struct evhttp_request *req, int status);
/* The durability ticket of the call answering req, handed over to the
 * caller (who must submit it), or NULL. */
struct core_ticket *rest_audit_take_ticket(struct evhttp_request *req);
void rest_audit_list(rest_call *c);       /* GET /v1/audit */
void rest_audit_export(rest_call *c);     /* GET /v1/audit/export */
void rest_audit_public_key(rest_call *c); /* GET /v1/audit/public-key */

/* ------------------------------------------------------- rest_keys.c */
void rest_keys_create(rest_call *c);
void rest_keys_list(rest_call *c);
void rest_keys_get(rest_call *c);
void rest_keys_activate(rest_call *c);
void rest_keys_revoke(rest_call *c);
void rest_keys_destroy(rest_call *c);
void rest_keys_material(rest_call *c);
void rest_keys_update(rest_call *c);      /* PATCH /v1/keys/{id}: name, aliases, tags */
void rest_keys_deactivate(rest_call *c);

/* ------------------------------------------------ rest_keys_import.c */
void rest_keys_import(rest_call *c);      /* POST /v1/keys/import (raw, PEM, DER, wrapped) */
/* The BYOK fields of body, {"import_token", "wrapping", "material": base64
 * of the wrapped blob}, into *out (the blob in the arena). false: replied. */
bool rest_byok_wrapped(rest_call *c, json_t *body, core_byok_wrapped *out);

/* ------------------------------------------------------- rest_byok.c */
void rest_byok_token_create(rest_call *c);  /* POST /v1/import-tokens */
void rest_byok_token_get(rest_call *c);     /* GET /v1/import-tokens/{id} */
void rest_byok_version_import(rest_call *c);/* POST /v1/keys/{id}/versions (BYOK new version) */

/* ----------------------------------------------------- rest_export.c */
void rest_export_key(rest_call *c);       /* POST /v1/keys/{id}/export */
void rest_export_tenant(rest_call *c);    /* POST /v1/export */
void rest_import_document(rest_call *c);  /* POST /v1/import (rest_import.c) */

/* --------------------------------------------------- rest_envelope.c */
void rest_env_wrap(rest_call *c);         /* POST /v1/keys/{id}/wrap */
void rest_env_unwrap(rest_call *c);       /* POST /v1/keys/{id}/unwrap */
void rest_env_rewrap(rest_call *c);       /* POST /v1/keys/{id}/rewrap */
void rest_env_batch(rest_call *c);        /* POST /v1/keys/{id}/batch */
void rest_env_versions(rest_call *c);     /* GET /v1/keys/{id}/versions */

/* --------------------------------------------------- rest_rotation.c */
void rest_rot_rotate(rest_call *c);       /* POST /v1/keys/{id}/rotate */
void rest_rot_key_policy_get(rest_call *c);   /* GET|PUT|DELETE /v1/keys/{id}/rotation-policy */
void rest_rot_key_policy_put(rest_call *c);
void rest_rot_key_policy_delete(rest_call *c);
void rest_rot_tenant_policy_get(rest_call *c); /* GET|PUT|DELETE /v1/tenants/{t}/rotation-policy */
void rest_rot_tenant_policy_put(rest_call *c);
void rest_rot_tenant_policy_delete(rest_call *c);
void rest_rot_run(rest_call *c);          /* POST /v1/rotation/run (operator) */

/* ------------------------------------------------------ rest_admin.c */
/* Shared with rest_identities.c. "reader" | "writer" | "manager". */
const char *rest_role_name(core_role role);
bool rest_role_parse(const char *s, core_role *out);
/* {"actions"?: [rule names], "keys"?: [ids]}; NULL when out of memory. */
json_t *rest_restriction_json(const core_restriction *r);
/* ?limit (1..1000, default 100) &offset (0..10^6, default 0); no other
 * query parameter. false: replied. */
bool rest_paging(rest_call *c, int64_t *out_limit, int64_t *out_offset);
/* {name: items, "total", "limit", "offset"} (items consumed; NULL: NULL). */
json_t *rest_page(const char *name, json_t *items, int64_t total, int64_t limit, int64_t offset);
void rest_set_location(rest_call *c, const char *path);
void rest_me(rest_call *c);
void rest_tenants_create(rest_call *c);
void rest_tenants_list(rest_call *c);
void rest_tenants_get(rest_call *c);
void rest_tenants_update(rest_call *c);
void rest_tenants_delete(rest_call *c);
/* -------------------------------------------------- rest_identities.c */
void rest_identities_create(rest_call *c);
void rest_identities_list(rest_call *c);
void rest_identities_get(rest_call *c);
void rest_identities_update(rest_call *c);
void rest_identities_delete(rest_call *c);
void rest_identities_retire(rest_call *c);

#endif
