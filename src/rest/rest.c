/*
 * rest.c - routing and JSON replies for the REST front end.
 *
 * One table of routes (method, path pattern, handler). A pattern is a
 * literal path whose segments may be "{}" (one path segment captured as a
 * parameter). Unknown paths get 404, known paths with another method 405
 * with an Allow header; both as JSON errors.
 */
#include "rest/rest.h"

#include <stdio.h>
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

#define REST_MAX_PARAMS 4

typedef struct rest_call {
    const rest_env *env;
    const net_peer *peer;
    struct evhttp_request *req;
    const char *params[REST_MAX_PARAMS];
    unsigned nparams;
} rest_call;

typedef void (*rest_fn)(rest_call *c);

struct rest_route {
    enum evhttp_cmd_type method;
    const char *pattern;
    rest_fn fn;
};

static void reply_raw(struct evhttp_request *req, int status, const char *body, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (out == NULL || evbuffer_add(out, body, len) != 0) {
        evhttp_send_error(req, 500, NULL);
        if (out)
            evbuffer_free(out);
        return;
    }
    evhttp_send_reply(req, status, NULL, out);
    evbuffer_free(out);
}

/* Reply with a JSON value (consumed). */
static void reply_json(struct evhttp_request *req, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"resource_exhausted\",\"message\":\"out of memory\"}}";
        reply_raw(req, 503, oom, sizeof oom - 1);
        return;
    }
    reply_raw(req, status, text, strlen(text));
    free(text);
}

static void reply_error(struct evhttp_request *req, int status, const char *code, const char *msg)
{
    reply_json(req, status,
               json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

/* The one mapping from a core status to an HTTP error. */
static void reply_status(struct evhttp_request *req, cf_status st, const char *msg)
{
    const struct cf_status_info *si = cf_status_info(st);
    reply_error(req, si->http_status, si->name, msg ? msg : si->message);
}

static void route_health(rest_call *c)
{
    reply_json(c->req, 200, json_pack("{s:s,s:s}", "status", "ok", "version", CF_VERSION));
}

static void route_openapi(rest_call *c)
{
    reply_raw(c->req, 200, rest_openapi_doc, rest_openapi_doc_len);
}

static const struct rest_route routes[] = {
    {EVHTTP_REQ_GET, "/health", route_health},
    {EVHTTP_REQ_GET, "/v1/openapi.json", route_openapi},
};

/* Match path against pattern, capturing "{}" segments into c->params
 * (pointers into the arena copy of the path). */
static bool match(rest_call *c, const char *pattern, char *path)
{
    const char *p = pattern;
    char *s = path;
    c->nparams = 0;
    while (*p && *s) {
        if (p[0] == '{' && p[1] == '}') {
            char *end = strchr(s, '/');
            size_t n = end ? (size_t)(end - s) : strlen(s);
            if (n == 0 || c->nparams == REST_MAX_PARAMS)
                return false;
            c->params[c->nparams++] = s;
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
        char *copy = cf_arena_strndup(env->arena, path, n);
        if (copy == NULL || !match(&c, routes[i].pattern, copy))
            continue;
        if (routes[i].method == m) {
            routes[i].fn(&c);
            return;
        }
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "",
                 method_name(routes[i].method));
    }
    if (allow[0]) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
        reply_error(req, 405, "method_not_allowed", "method not allowed on this resource");
        return;
    }
    reply_error(req, 404, "not_found", "no such resource");
}
