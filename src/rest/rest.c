/*
 * rest.c - routing and JSON replies for the REST front end.
 *
 * One table of routes (method, path pattern, handler). A pattern is a
 * literal path whose segments may be "{}" (one path segment captured as a
 * parameter). Unknown paths get 404, known paths with another method 405
 * with an Allow header; both as JSON errors. Routes marked `auth` (every
 * /v1 route but the OpenAPI document) authenticate the Bearer token first
 * (rest_auth.c) and hand the identity to core, which checks the role.
 */
#include "rest/rest_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "util/limits.h"
#include "util/log.h"
#include "util/version.h"

extern const char rest_openapi_doc[];
extern const size_t rest_openapi_doc_len;

typedef void (*rest_fn)(rest_call *c);

struct rest_route {
    enum evhttp_cmd_type method;
    const char *pattern;
    rest_fn fn;
    bool auth;
};

static const char audit_refused[] =
    "{\"error\":{\"code\":\"audit_unavailable\",\"message\":\"audit unavailable: the "
    "operation's record could not be written\"}}";

/* A reply waiting for its ticket (group commit, core.h). */
struct held_reply {
    struct evhttp_request *req; /* evhttp keeps it, detached, if the peer leaves */
    int status;
    struct evbuffer *out;
};

static void send_held(struct evhttp_request *req, int status, struct evbuffer *out, cf_status st)
{
    if (st != CF_OK) { /* fail closed: what it reports is not durable */
        status = 503;
        evbuffer_drain(out, evbuffer_get_length(out));
        evbuffer_add(out, audit_refused, sizeof audit_refused - 1);
    }
    evhttp_send_reply(req, status, NULL, out);
    evbuffer_free(out);
}

static void held_done(void *arg, cf_status st)
{
    struct held_reply *h = arg;
    send_held(h->req, h->status, h->out, st);
    free(h);
}

void rest_reply_raw(struct evhttp_request *req, int status, const char *body, size_t len)
{
    struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
    struct evbuffer *out;
    struct core_ticket *t;
    struct held_reply *h;
    cf_status st;

    /* No reply leaves before its audit record is written (rest_audit.c). */
    if (!rest_audit_before_reply(req, status)) {
        status = 503;
        body = audit_refused;
        len = sizeof audit_refused - 1;
    }
    t = rest_audit_take_ticket(req);
    out = evbuffer_new();
    evhttp_add_header(hdr, "Content-Type", "application/json");
    evhttp_add_header(hdr, "Cache-Control", "no-store");
    evhttp_add_header(hdr, "X-Content-Type-Options", "nosniff");
    if (out == NULL || evbuffer_add(out, body, len) != 0) {
        (void)core_ticket_submit(t, NULL, NULL, &st);
        evhttp_send_error(req, 500, NULL);
        if (out)
            evbuffer_free(out);
        return;
    }
    /* Sent once its record and writes are durable, on this thread. */
    if (t != NULL && (h = malloc(sizeof *h)) != NULL) {
        *h = (struct held_reply){req, status, out};
        if (!core_ticket_submit(t, held_done, h, &st))
            return;
        free(h);
    } else if (!core_ticket_submit(t, NULL, NULL, &st)) {
        st = CF_ERR_AUDIT; /* no memory to hold the reply: fail closed */
    }
    send_held(req, status, out, st);
}

static void reply_json(struct evhttp_request *req, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"resource_exhausted\",\"message\":\"out of memory\"}}";
        rest_reply_raw(req, 503, oom, sizeof oom - 1);
        return;
    }
    rest_reply_raw(req, status, text, strlen(text));
    cf_json_free(text);
}

void rest_reply_json(rest_call *c, int status, json_t *body)
{
    reply_json(c->req, status, body);
}

void rest_reply_error(struct evhttp_request *req, int status, const char *code, const char *msg)
{
    rest_audit_note_error(req, code, msg);
    reply_json(req, status,
               json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void rest_reply_error_details(struct evhttp_request *req, int status, const char *code,
                              const char *msg, json_t *details)
{
    rest_audit_note_error(req, code, msg);
    reply_json(req, status,
               json_pack("{s:{s:s,s:s,s:o*}}", "error", "code", code, "message", msg, "details",
                         details));
}

/* The one mapping from a core status to an HTTP error. */
static void reply_status(struct evhttp_request *req, cf_status st, const char *msg)
{
    const struct cf_status_info *si = cf_status_info(st);
    rest_reply_error(req, si->http_status, si->name, msg ? msg : si->message);
}

void rest_reply_status(rest_call *c, cf_status st)
{
    reply_status(c->req, st, c->creq.err_msg);
}

static void route_health(rest_call *c)
{
    reply_json(c->req, 200, json_pack("{s:s,s:s}", "status", "ok", "version", CF_VERSION));
}

static void route_openapi(rest_call *c)
{
    rest_reply_raw(c->req, 200, rest_openapi_doc, rest_openapi_doc_len);
}

static const struct rest_route routes[] = {
    {EVHTTP_REQ_GET, "/health", route_health, false},
    {EVHTTP_REQ_GET, "/v1/openapi.json", route_openapi, false},
    {EVHTTP_REQ_GET, "/v1/me", rest_me, true},
    {EVHTTP_REQ_POST, "/v1/import-tokens", rest_byok_token_create, true},
    {EVHTTP_REQ_GET, "/v1/import-tokens/{}", rest_byok_token_get, true},
    {EVHTTP_REQ_POST, "/v1/keys/{}/versions", rest_byok_version_import, true},
    {EVHTTP_REQ_POST, "/v1/keys/{}/export", rest_export_key, true},
    {EVHTTP_REQ_POST, "/v1/export", rest_export_tenant, true},
    {EVHTTP_REQ_POST, "/v1/import", rest_import_document, true},
    {EVHTTP_REQ_GET, "/v1/audit", rest_audit_list, true},
    {EVHTTP_REQ_GET, "/v1/audit/export", rest_audit_export, true},
    {EVHTTP_REQ_GET, "/v1/audit/public-key", rest_audit_public_key, true},
    {EVHTTP_REQ_POST, "/v1/tenants", rest_tenants_create, true},
    {EVHTTP_REQ_GET, "/v1/tenants", rest_tenants_list, true},
    {EVHTTP_REQ_GET, "/v1/tenants/{}", rest_tenants_get, true},
    {EVHTTP_REQ_PATCH, "/v1/tenants/{}", rest_tenants_update, true},
    {EVHTTP_REQ_DELETE, "/v1/tenants/{}", rest_tenants_delete, true},
    {EVHTTP_REQ_POST, "/v1/tenants/{}/identities", rest_identities_create, true},
    {EVHTTP_REQ_GET, "/v1/tenants/{}/identities", rest_identities_list, true},
    {EVHTTP_REQ_GET, "/v1/tenants/{}/identities/{}", rest_identities_get, true},
    {EVHTTP_REQ_PATCH, "/v1/tenants/{}/identities/{}", rest_identities_update, true},
    {EVHTTP_REQ_DELETE, "/v1/tenants/{}/identities/{}", rest_identities_delete, true},
    {EVHTTP_REQ_POST, "/v1/tenants/{}/identities/{}/retire", rest_identities_retire, true},
    {EVHTTP_REQ_POST, "/v1/keys/import", rest_keys_import, true},
    {EVHTTP_REQ_POST, "/v1/keys", rest_keys_create, true},
    {EVHTTP_REQ_GET, "/v1/keys", rest_keys_list, true},
    {EVHTTP_REQ_GET, "/v1/keys/{}", rest_keys_get, true},
    {EVHTTP_REQ_PATCH, "/v1/keys/{}", rest_keys_update, true},
    {EVHTTP_REQ_DELETE, "/v1/keys/{}", rest_keys_destroy, true},
    {EVHTTP_REQ_POST, "/v1/keys/{}/deactivate", rest_keys_deactivate, true},
    {EVHTTP_REQ_POST, "/v1/keys/{}/wrap", rest_env_wrap, true},
    {EVHTTP_REQ_POST, "/v1/keys/{}/unwrap", rest_env_unwrap, true},
    {EVHTTP_REQ_POST, "/v1/keys/{}/rewrap", rest_env_rewrap, true},
    {EVHTTP_REQ_POST, "/v1/keys/{}/batch", rest_env_batch, true},
    {EVHTTP_REQ_GET, "/v1/keys/{}/versions", rest_env_versions, true},
    {EVHTTP_REQ_POST, "/v1/keys/{}/rotate", rest_rot_rotate, true},
    {EVHTTP_REQ_GET, "/v1/keys/{}/rotation-policy", rest_rot_key_policy_get, true},
    {EVHTTP_REQ_PUT, "/v1/keys/{}/rotation-policy", rest_rot_key_policy_put, true},
    {EVHTTP_REQ_DELETE, "/v1/keys/{}/rotation-policy", rest_rot_key_policy_delete, true},
    {EVHTTP_REQ_GET, "/v1/tenants/{}/rotation-policy", rest_rot_tenant_policy_get, true},
    {EVHTTP_REQ_PUT, "/v1/tenants/{}/rotation-policy", rest_rot_tenant_policy_put, true},
    {EVHTTP_REQ_DELETE, "/v1/tenants/{}/rotation-policy", rest_rot_tenant_policy_delete, true},
    {EVHTTP_REQ_POST, "/v1/rotation/run", rest_rot_run, true},
    {EVHTTP_REQ_POST, "/v1/keys/{}/activate", rest_keys_activate, true},
    {EVHTTP_REQ_POST, "/v1/keys/{}/revoke", rest_keys_revoke, true},
    {EVHTTP_REQ_GET, "/v1/keys/{}/material", rest_keys_material, true},
};

/* Match path against pattern, capturing "{}" segments into c->params
 * (NUL-terminated arena copies). */
static bool match(rest_call *c, const char *pattern, const char *path)
{
    const char *p = pattern;
    const char *s = path;
    c->nparams = 0;
    while (*p && *s) {
        if (p[0] == '{' && p[1] == '}') {
            const char *end = strchr(s, '/');
            size_t n = end ? (size_t)(end - s) : strlen(s);
            if (n == 0 || c->nparams == REST_MAX_PARAMS)
                return false;
            if ((c->params[c->nparams] = cf_arena_strndup(c->env->arena, s, n)) == NULL)
                return false;
            c->nparams++;
            p += 2;
            s += n;
            continue;
        }
        if (*p++ != *s++)
            return false;
    }
    return *p == '\0' && *s == '\0';
}

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    case EVHTTP_REQ_DELETE: return "DELETE";
    default: return "?";
    }
}

void rest_handle(const rest_env *env, const net_peer *peer, struct evhttp_request *req)
{
    rest_call c = {.env = env, .peer = peer, .req = req};
    c.creq = (core_req){.core = env->core, .st = env->st, .arena = env->arena, .now = core_now()};
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    char allow[64] = "";
    char *path;
    size_t n;

    if (raw == NULL || (n = strlen(raw)) == 0 || n > CF_LIMIT_REST_PATH) {
        reply_status(req, CF_ERR_INVALID_MSG, "bad request path");
        return;
    }
    if ((path = cf_arena_strndup(env->arena, raw, n)) == NULL) {
        reply_status(req, CF_ERR_NOMEM, NULL);
        return;
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(&c, routes[i].pattern, path))
            continue;
        if (routes[i].method == m) {
            /* Every authenticated route leaves an audit record, refusals
             * (a 401 included) too (rest_audit.c). */
            if (routes[i].auth) {
                c.creq.ticket = core_ticket_new(env->waiter);
                rest_audit_begin(&c, method_name(m), routes[i].pattern);
            }
            if (!routes[i].auth || rest_authenticate(&c))
                routes[i].fn(&c);
            rest_audit_finish(&c);
            if (c.creq.ticket != NULL) { /* no reply took it */
                cf_status st;
                (void)core_ticket_submit(c.creq.ticket, NULL, NULL, &st);
            }
            return;
        }
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "",
                 method_name(routes[i].method));
    }
    if (allow[0]) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
        rest_reply_error(req, 405, "method_not_allowed", "method not allowed on this resource");
        return;
    }
    rest_reply_error(req, 404, "not_found", "no such resource");
}
