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
/* Authenticate `Authorization: Bearer <token>` into c->creq.who; false
 * (after a 401 with WWW-Authenticate: Bearer) when missing or refused. */
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
void rest_keys_import(rest_call *c);      /* POST /v1/keys/import (raw, PEM, DER) */

/* ------------------------------------------------------ rest_admin.c */
void rest_me(rest_call *c);
void rest_tenants_create(rest_call *c);
void rest_tenants_list(rest_call *c);
void rest_tenants_get(rest_call *c);
void rest_tenants_update(rest_call *c);
void rest_tenants_delete(rest_call *c);
void rest_identities_create(rest_call *c);
void rest_identities_list(rest_call *c);
void rest_identities_get(rest_call *c);
void rest_identities_update(rest_call *c);
void rest_identities_delete(rest_call *c);
void rest_identities_retire(rest_call *c);

#endif
