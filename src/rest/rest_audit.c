/*
 * rest_audit.c - the audit record of every REST call, and /v1/audit.
 *
 * Recording: rest_handle begins a record for the matched route (its
 * OpenAPI operationId, read once from the embedded document, so the name
 * in the trail is the one clients see in docs/openapi.json) and every
 * reply goes through rest_reply_raw, which calls rest_audit_before_reply:
 * the record is written with the reply's result before a byte is sent, and
 * when it cannot be written the reply becomes 503 audit_unavailable (fail
 * closed). rest_reply_error notes the error's code and message first, so
 * the record says "permission_denied" rather than "403". The call being
 * answered is found through a thread-local pointer: evhttp answers one
 * request at a time per worker thread, inside rest_handle.
 *
 * Routes: GET /v1/audit (search), GET /v1/audit/export (a verifiable
 * slice: records, checkpoints, the signed checkpoint of the last record,
 * the public key), GET /v1/audit/public-key. Rights are core's
 * (core_audit_read.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "audit/audit.h"
#include "rest/rest_int.h"
#include "util/log.h"

extern const char rest_openapi_doc[];
extern const size_t rest_openapi_doc_len;

/* ------------------------------------------------- operationId table */

struct op_id {
    char method[8];
    char pattern[160];   /* "{name}" segments as "{}", like rest.c's routes */
    char id[64];
};

static struct op_id *op_ids;
static size_t n_op_ids;
static pthread_once_t op_ids_once = PTHREAD_ONCE_INIT;

/* "/v1/keys/{id}/material" -> "/v1/keys/{}/material"; false if too long. */
static bool normalise(const char *path, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = path; *p; p++) {
        if (n + 3 >= size)
            return false;
        if (*p == '{') {
            const char *end = strchr(p, '}');
            if (end == NULL)
                return false;
            out[n++] = '{';
            out[n++] = '}';
            p = end;
            continue;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
    return true;
}

static void op_ids_load(void)
{
    json_error_t err;
    json_t *doc = json_loadb(rest_openapi_doc, rest_openapi_doc_len, 0, &err);
    json_t *paths = json_object_get(doc, "paths"), *item, *op;
    const char *path, *method;
    size_t cap = 0;

    json_object_foreach(paths, path, item) {
        json_object_foreach(item, method, op) {
            const char *id = json_string_value(json_object_get(op, "operationId"));
            struct op_id *e;
            if (id == NULL || strlen(method) >= sizeof e->method || strlen(id) >= sizeof e->id)
                continue;
            if (n_op_ids == cap) {
                cap = cap ? cap * 2 : 64;
                if ((e = realloc(op_ids, cap * sizeof *e)) == NULL)
                    break;
                op_ids = e;
            }
            e = &op_ids[n_op_ids];
            if (!normalise(path, e->pattern, sizeof e->pattern))
                continue;
            for (size_t i = 0; method[i]; i++)
                e->method[i] = (char)(method[i] - ('a' <= method[i] && method[i] <= 'z' ? 32 : 0));
            e->method[strlen(method)] = '\0';
            memcpy(e->id, id, strlen(id) + 1);
            n_op_ids++;
        }
    }
    json_decref(doc);
}

/* The operationId of (method, route pattern), or "METHOD pattern" for a
 * route the document does not describe yet. */
static const char *operation_id(cf_arena *a, const char *method, const char *pattern)
{
    pthread_once(&op_ids_once, op_ids_load);
    for (size_t i = 0; i < n_op_ids; i++)
        if (strcmp(op_ids[i].method, method) == 0 && strcmp(op_ids[i].pattern, pattern) == 0)
            return op_ids[i].id;
    return cf_arena_sprintf(a, "%s %s", method, pattern);
}

/* ------------------------------------------------------- recording */

static _Thread_local rest_call *current;

void rest_audit_begin(rest_call *c, const char *method, const char *pattern)
{
    const char *op = operation_id(c->env->arena, method, pattern);
    current = c;
    c->audit_code = NULL;
    c->audit_msg = NULL;
    c->audit_done = false;
    if (op == NULL || core_audit_begin(&c->creq, CORE_AUDIT_REST, op, c->peer->addr) != CF_OK)
        return; /* out of memory: rest_audit_before_reply refuses the reply */
    if (c->peer->has_cert)
        core_audit_peer_cert(&c->creq, c->peer->cert_sha256, c->peer->subject);
    /* The object a route addresses: its key, or the identity of a tenant;
     * creations record the object they make: core notes it before the
     * record commits with the creation (core_commit). */
    if (strncmp(pattern, "/v1/keys/{}", 11) == 0) {
        core_audit_fix_object(&c->creq, c->params[0]);
    } else if (strncmp(pattern, "/v1/tenants/{}", 14) == 0) {
        core_audit_object_tenant(&c->creq, c->params[0]);
        core_audit_fix_object(&c->creq, c->nparams > 1 ? c->params[1] : NULL);
    } else if (!(strcmp(method, "POST") == 0 &&
                 (strcmp(pattern, "/v1/keys") == 0 || strcmp(pattern, "/v1/keys/import") == 0 ||
                  strcmp(pattern, "/v1/import-tokens") == 0))) {
        core_audit_fix_object(&c->creq, NULL);
    }
}

struct core_ticket *rest_audit_take_ticket(struct evhttp_request *req)
{
    rest_call *c = current;
    struct core_ticket *t;
    if (c == NULL || c->req != req)
        return NULL;
    t = c->creq.ticket;
    c->creq.ticket = NULL;
    return t;
}

void rest_audit_finish(rest_call *c)
{
    if (current == c)
        current = NULL;
}

void rest_audit_note_error(struct evhttp_request *req, const char *code, const char *msg)
{
    rest_call *c = current;
    if (c == NULL || c->req != req || c->audit_code != NULL)
        return;
    c->audit_code = code;
    c->audit_msg = msg;
}

bool rest_audit_before_reply(struct evhttp_request *req, int status)
{
    rest_call *c = current;
    const char *result;
    if (c == NULL || c->req != req || c->audit_done)
        return true;
    c->audit_done = true;
    if (c->env->core->audit == NULL)
        return true;
    if (c->creq.audit == NULL)
        return false; /* the record could not even be begun */
    if (status < 400)
        result = "ok";
    else
        result = c->audit_code ? c->audit_code : status >= 500 ? "internal_error" : "error";
    return core_audit_end(&c->creq, result, c->audit_msg) == CF_OK;
}

/* ------------------------------------------------------------ routes */

/* Each stored record as a JSON value (a record that does not parse, in a
 * damaged store, is kept as its text so that verify can name it). */
static json_t *records_json(const char *const *recs, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n && arr; i++) {
        json_error_t err;
        json_t *r = json_loads(recs[i], JSON_REJECT_DUPLICATES, &err);
        if (r == NULL)
            r = json_string(recs[i]);
        if (json_array_append_new(arr, r) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

/* Time bounds: from = the second given, to = the end of its second. */
static bool parse_range(rest_call *c, const char *from, const char *to, core_audit_query *q)
{
    int64_t t;
    if (from && !rest_parse_time(from, &t))
        return rest_reply_error(c->req, 400, "invalid_field",
                                "\"from\" must be an RFC 3339 UTC time"), false;
    if (from)
        q->from_ms = t * 1000;
    if (to && !rest_parse_time(to, &t))
        return rest_reply_error(c->req, 400, "invalid_field",
                                "\"to\" must be an RFC 3339 UTC time"), false;
    if (to)
        q->to_ms = t * 1000 + 999;
    return true;
}

/* ?chain= or its alias ?tenant= (not both). */
static bool parse_chain(rest_call *c, const char *chain, const char *tenant, core_audit_query *q)
{
    if (chain && tenant) {
        rest_reply_error(c->req, 400, "invalid_field", "give \"chain\" or \"tenant\", not both");
        return false;
    }
    q->chain = chain ? chain : tenant;
    return true;
}

/* ?aad= a JSON list of strings or object of strings (the AAD searched). */
static bool parse_aad(rest_call *c, const char *text, core_aad *out)
{
    json_error_t err;
    json_t *v = text ? json_loads(text, JSON_REJECT_DUPLICATES, &err) : NULL;
    const char **keys = NULL, **vals = NULL;
    size_t n = json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0;
    bool ok = (json_is_array(v) || json_is_object(v)) && n <= CORE_ENV_AAD_MAX;

    if (ok && (vals = cf_arena_calloc(c->env->arena, (n + 1) * sizeof *vals)) == NULL)
        ok = false;
    if (ok && json_is_object(v) &&
        (keys = cf_arena_calloc(c->env->arena, (n + 1) * sizeof *keys)) == NULL)
        ok = false;
    if (ok && json_is_array(v)) {
        for (size_t i = 0; i < n && ok; i++)
            ok = (vals[i] = json_string_value(json_array_get(v, i))) != NULL &&
                 (vals[i] = cf_arena_strndup(c->env->arena, vals[i], strlen(vals[i]))) != NULL;
    } else if (ok) {
        const char *k;
        json_t *x;
        size_t i = 0;
        json_object_foreach(v, k, x) {
            const char *s = json_string_value(x);
            ok = ok && s && (keys[i] = cf_arena_strndup(c->env->arena, k, strlen(k))) &&
                 (vals[i] = cf_arena_strndup(c->env->arena, s, strlen(s)));
            i++;
        }
    }
    json_decref(v);
    if (!ok) {
        rest_reply_error(c->req, 400, "invalid_field",
                         "\"aad\" must be a JSON list or object of strings");
        return false;
    }
    *out = (core_aad){.keys = keys, .values = vals, .n = n};
    return true;
}

void rest_audit_list(rest_call *c)
{
    static const char *const names[] = {"chain", "tenant", "object", "identity", "operation",
                                        "result", "name", "aad", "from", "to", "limit",
                                        "after_seq", NULL};
    const char *v[12];
    core_audit_query q = {.limit = 100};
    core_audit_page page;
    core_aad aad;
    json_t *doc;
    cf_status st;

    if (!rest_query(c, names, v) || !parse_chain(c, v[0], v[1], &q) ||
        !parse_range(c, v[8], v[9], &q) ||
        !rest_parse_count(c, v[10], "limit", 1, CORE_AUDIT_PAGE_MAX, &q.limit) ||
        !rest_parse_count(c, v[11], "after_seq", 0, INT64_MAX / 2, &q.after_seq) ||
        (v[7] && !parse_aad(c, v[7], &aad)))
        return;
    q.object = v[2];
    q.identity = v[3];
    q.operation = v[4];
    q.result = v[5];
    q.name = v[6];
    q.aad = v[7] ? &aad : NULL;
    if ((st = core_audit_search(&c->creq, &q, &page)) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    doc = json_pack("{s:s,s:o,s:I}", "chain", page.chain, "records",
                    records_json(page.records, page.n), "limit", (json_int_t)q.limit);
    if (doc && page.next_after_seq &&
        json_object_set_new(doc, "next_after_seq", json_integer(page.next_after_seq)) != 0) {
        json_decref(doc);
        doc = NULL;
    }
    rest_reply_json(c, 200, doc);
}

static json_t *export_json(const core_audit_export *e)
{
    json_t *cps = records_json(e->checkpoints, e->n_checkpoints);
    json_t *doc = json_pack("{s:s,s:o,s:o,s:s}", "chain", e->chain, "records",
                            records_json(e->records, e->n), "checkpoints", cps, "public_key",
                            e->public_key);
    json_error_t err;
    if (doc && e->n > 0 &&
        (json_object_set_new(doc, "first_seq", json_integer(e->first_seq)) != 0 ||
         json_object_set_new(doc, "last_seq", json_integer(e->last_seq)) != 0 ||
         json_object_set_new(doc, "checkpoint", json_loads(e->checkpoint, 0, &err)) != 0))
        goto fail;
    if (doc && e->next_after_seq &&
        json_object_set_new(doc, "next_after_seq", json_integer(e->next_after_seq)) != 0)
        goto fail;
    return doc;
fail:
    json_decref(doc);
    return NULL;
}

void rest_audit_export(rest_call *c)
{
    static const char *const names[] = {"chain", "tenant", "from", "to", "limit", "after_seq",
                                        NULL};
    const char *v[6];
    core_audit_query q = {.limit = CORE_AUDIT_EXPORT_MAX};
    core_audit_export e;
    cf_status st;

    if (!rest_query(c, names, v) || !parse_chain(c, v[0], v[1], &q) ||
        !parse_range(c, v[2], v[3], &q) ||
        !rest_parse_count(c, v[4], "limit", 1, CORE_AUDIT_EXPORT_MAX, &q.limit) ||
        !rest_parse_count(c, v[5], "after_seq", 0, INT64_MAX / 2, &q.after_seq))
        return;
    if ((st = core_audit_export_chain(&c->creq, &q, &e)) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    rest_reply_json(c, 200, export_json(&e));
}

void rest_audit_public_key(rest_call *c)
{
    const core_audit *A = c->env->core->audit;
    static const char *const names[] = {NULL};
    const char *v[1];
    if (!rest_query(c, names, v))
        return;
    if (c->creq.who == NULL || core_authenticated(c->creq.who) != CF_OK) {
        rest_reply_status(c, CF_ERR_AUTH);
        return;
    }
    if (A == NULL) {
        rest_reply_error(c->req, 400, "feature_not_supported", "the audit trail is not enabled");
        return;
    }
    rest_reply_json(c, 200,
                    json_pack("{s:s,s:s,s:s}", "algorithm", "Ed25519", "key_id",
                              core_audit_key_id(A), "public_key", core_audit_public_pem(A)));
}
