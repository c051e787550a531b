/*
 * fuzz_rest.h - the REST front end without the network, shared by the
 * fuzz targets fuzz_rest_json.c and fuzz_http.c (included by both: the
 * Makefile builds one object per target).
 *
 * A request is an in-memory evhttp_request: evhttp_request_new plus the
 * fields evhttp's parser would fill (method, URI and its parsed elements,
 * input headers, body), through event2/http_struct.h. evhttp 2.1 frees a
 * request that has no connection when it is answered, so this file
 * defines evhttp_send_reply itself: the executable's definition is the one
 * rest.c's calls bind to (as net_https.c replaces evhttp_send_error), and
 * it records the answer instead of sending it. The harness frees the
 * request afterwards.
 *
 * State: an in-memory SQLite store bootstrapped like a first start (tenant
 * "default", an operator API key, the audit trail: every request is
 * recorded, as on the server), then, through REST itself, a second
 * tenant, Manager / Writer / Reader API keys, a victim identity, a
 * standard AES key, an AES root key with one wrapped DEK, an EC key pair.
 * Inputs change that state (revoke, suspend, retire...), so it is rebuilt
 * every FUZZ_REST_RESET inputs: findings stay reproducible from a short
 * history, and the store does not grow without bound over a long run.
 *
 * Properties checked for every request: exactly one answer, a JSON body
 * with Content-Type application/json, an {"error":{"code","message"}}
 * object for every 4xx/5xx, and never a 500 (an internal error is a bug).
 */
#ifndef CF_FUZZ_REST_H
#define CF_FUZZ_REST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "rest/rest.h"
#include "store/store.h"
#include "util/log.h"

#define FUZZ_REST_RESET 512
#define FUZZ_REPLY_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Who a request is sent as. */
enum fuzz_who { FZ_OPERATOR, FZ_MANAGER, FZ_WRITER, FZ_READER, FZ_NOBODY, FZ_WHO_COUNT };

struct fuzz_rest {
    cf_mk_provider *mk;
    cf_keyring *kr;
    store *st;
    core core;
    cf_arena *arena;
    rest_env env;
    net_peer peer;
    unsigned inputs;                    /* since the last reset */
    char token[FZ_WHO_COUNT][96];       /* FZ_NOBODY: a well-formed unknown token */
    char key[64], root[64], pair[64], ident[64], wrapped[256];
};

struct fuzz_reply {
    int status;
    unsigned count;
    size_t len;
    char body[FUZZ_REPLY_MAX + 1];
    char content_type[64];
};

static struct fuzz_rest fz;
static struct fuzz_reply fz_reply;

/* Replaces libevent's (see above): record, do not send, do not free. */
void evhttp_send_reply(struct evhttp_request *req, int code, const char *reason,
                       struct evbuffer *databuf)
{
    const char *ct = evhttp_find_header(evhttp_request_get_output_headers(req), "Content-Type");
    size_t n = databuf ? evbuffer_get_length(databuf) : 0;
    (void)reason;

    fz_reply.status = code;
    fz_reply.count++;
    fz_reply.len = n > FUZZ_REPLY_MAX ? FUZZ_REPLY_MAX : n;
    if (n)
        evbuffer_copyout(databuf, fz_reply.body, fz_reply.len);
    fz_reply.body[fz_reply.len] = '\0';
    snprintf(fz_reply.content_type, sizeof fz_reply.content_type, "%s", ct ? ct : "");
}

/* The properties every answer has (see the note atop the file). */
static void fuzz_check_reply(void)
{
    json_error_t err;
    json_t *doc, *e;

    if (fz_reply.count != 1 || fz_reply.status == 500 || strcmp(fz_reply.content_type, "application/json") != 0) {
        fprintf(stderr, "fuzz_rest: %u answers, status %d, type \"%s\": %.300s\n", fz_reply.count,
                fz_reply.status, fz_reply.content_type, fz_reply.body);
        abort();
    }
    doc = json_loadb(fz_reply.body, fz_reply.len, 0, &err);
    if (doc == NULL) {
        fprintf(stderr, "fuzz_rest: answer %d is not JSON: %.300s\n", fz_reply.status, fz_reply.body);
        abort();
    }
    e = json_object_get(doc, "error");
    if (fz_reply.status >= 400 && (!json_is_string(json_object_get(e, "code")) ||
                                   !json_is_string(json_object_get(e, "message")))) {
        fprintf(stderr, "fuzz_rest: error %d without code/message: %.300s\n", fz_reply.status,
                fz_reply.body);
        abort();
    }
    json_decref(doc);
}

/* An in-memory request as evhttp's parser leaves it; NULL when evhttp
 * would have refused the URI itself. */
static struct evhttp_request *fuzz_request_new(enum evhttp_cmd_type m, const char *uri)
{
    struct evhttp_request *req = evhttp_request_new(NULL, NULL);

    if (req == NULL)
        abort();
    req->kind = EVHTTP_REQUEST;
    req->type = m;
    req->major = 1;
    req->minor = 1;
    if ((req->uri = strdup(uri)) == NULL)
        abort();
    req->uri_elems = evhttp_uri_parse_with_flags(req->uri, EVHTTP_URI_NONCONFORMANT);
    if (req->uri_elems == NULL) {
        evhttp_request_free(req);
        return NULL;
    }
    return req;
}

/* Run one request through rest_handle and check its answer. */
static int fuzz_rest_run(struct evhttp_request *req)
{
    memset(&fz_reply, 0, offsetof(struct fuzz_reply, body));
    fz_reply.body[0] = '\0';
    rest_handle(&fz.env, &fz.peer, req);
    cf_arena_reset(fz.arena);
    if (getenv("FUZZ_REST_VERBOSE")) /* what each input reached */
        fprintf(stderr, "%s %s -> %d %.200s\n", req->type == EVHTTP_REQ_GET ? "GET" : "(other)",
                req->uri, fz_reply.status, fz_reply.body);
    fuzz_check_reply();
    evhttp_request_free(req);
    return fz_reply.status;
}

/* A request from the harness itself (set-up): JSON body, as `who`. */
static int fuzz_rest_call(enum evhttp_cmd_type m, const char *uri, enum fuzz_who who, const char *body)
{
    struct evhttp_request *req = fuzz_request_new(m, uri);
    char auth[128];

    if (req == NULL)
        abort();
    snprintf(auth, sizeof auth, "Bearer %s", fz.token[who]);
    evhttp_add_header(req->input_headers, "Authorization", auth);
    if (body) {
        evhttp_add_header(req->input_headers, "Content-Type", "application/json");
        evbuffer_add(req->input_buffer, body, strlen(body));
    }
    return fuzz_rest_run(req);
}

/* A string member of the last answer (dotted path of one level at most). */
static void fuzz_reply_string(const char *outer, const char *key, char *out, size_t out_len)
{
    json_t *doc = json_loadb(fz_reply.body, fz_reply.len, 0, NULL);
    json_t *o = outer ? json_object_get(doc, outer) : doc;
    const char *s = json_string_value(json_object_get(o, key));

    if (s == NULL || strlen(s) >= out_len) {
        fprintf(stderr, "fuzz_rest: set-up answer %d lacks %s: %.300s\n", fz_reply.status, key,
                fz_reply.body);
        abort();
    }
    memcpy(out, s, strlen(s) + 1);
    json_decref(doc);
}

static cf_status fuzz_publish(void *ctx, const cf_secret *token)
{
    (void)ctx;
    if (token->len >= sizeof fz.token[FZ_OPERATOR])
        return CF_ERR_LIMIT;
    memcpy(fz.token[FZ_OPERATOR], token->p, token->len);
    fz.token[FZ_OPERATOR][token->len] = '\0';
    return CF_OK;
}

static void fuzz_identity(const char *tenant, const char *name, const char *role, char *tok, char *id)
{
    char uri[128], body[160];

    snprintf(uri, sizeof uri, "/v1/tenants/%s/identities", tenant);
    snprintf(body, sizeof body, "{\"kind\":\"api_key\",\"name\":\"%s\",\"role\":\"%s\"}", name, role);
    if (fuzz_rest_call(EVHTTP_REQ_POST, uri, FZ_OPERATOR, body) != 201)
        abort();
    if (tok)
        fuzz_reply_string(NULL, "token", tok, 96);
    if (id)
        fuzz_reply_string("identity", "id", id, 64);
}

/* The objects inputs address, made through REST (see the note above). */
static void fuzz_rest_populate(void)
{
    char uri[128];

    if (fuzz_rest_call(EVHTTP_REQ_POST, "/v1/tenants", FZ_OPERATOR, "{\"id\":\"fz\",\"name\":\"Fuzz\"}") != 201)
        abort();
    fuzz_identity("default", "manager", "manager", fz.token[FZ_MANAGER], NULL);
    fuzz_identity("default", "writer", "writer", fz.token[FZ_WRITER], NULL);
    fuzz_identity("default", "reader", "reader", fz.token[FZ_READER], NULL);
    fuzz_identity("default", "victim", "writer", NULL, fz.ident);
    if (fuzz_rest_call(EVHTTP_REQ_POST, "/v1/keys", FZ_MANAGER,
                       "{\"algorithm\":\"AES\",\"length\":256,\"name\":\"fz-aes\",\"activate\":true}") != 201)
        abort();
    fuzz_reply_string(NULL, "id", fz.key, sizeof fz.key);
    if (fuzz_rest_call(EVHTTP_REQ_POST, "/v1/keys", FZ_MANAGER,
                       "{\"algorithm\":\"AES\",\"length\":256,\"kind\":\"root\",\"activate\":true}") != 201)
        abort();
    fuzz_reply_string(NULL, "id", fz.root, sizeof fz.root);
    if (fuzz_rest_call(EVHTTP_REQ_POST, "/v1/keys", FZ_MANAGER,
                       "{\"algorithm\":\"EC\",\"curve\":\"P-256\",\"activate\":true}") != 201)
        abort();
    fuzz_reply_string(NULL, "id", fz.pair, sizeof fz.pair);
    snprintf(uri, sizeof uri, "/v1/keys/%s/wrap", fz.root);
    if (fuzz_rest_call(EVHTTP_REQ_POST, uri, FZ_MANAGER, "{\"plaintext\":\"AAECAwQFBgcICQoLDA0ODw==\"}") == 200)
        fuzz_reply_string(NULL, "ciphertext", fz.wrapped, sizeof fz.wrapped);
    else
        snprintf(fz.wrapped, sizeof fz.wrapped, "AAAA");
}

static void fuzz_rest_teardown(void)
{
    core_audit_free(fz.core.audit);
    fz.core.audit = NULL;
    store_close(fz.st);
    fz.st = NULL;
}

/* (Re)build the state: a fresh store, bootstrapped and populated. */
static void fuzz_rest_setup(void)
{
    core_bootstrap_in in = {.publish = fuzz_publish};
    bool done = false;
    if (fz.st)
        fuzz_rest_teardown();
    core_audit_opts ao = {.sync = CORE_AUDIT_SYNC_NORMAL};

    if (store_open("sqlite::memory:", &fz.st) != CF_OK ||
        core_bootstrap(fz.st, fz.arena, core_now(), &in, &done) != CF_OK || !done ||
        core_audit_open(fz.st, fz.kr, &ao, &fz.core.audit) != CF_OK)
        abort();
    cf_arena_reset(fz.arena);
    fz.env.st = fz.st;
    /* Well-formed, unknown: a token that passes the parser. */
    snprintf(fz.token[FZ_NOBODY], sizeof fz.token[FZ_NOBODY],
             "cf1_0123456789abcdef0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    fuzz_rest_populate();
    fz.inputs = 0;
}

/* Once per process: keys, core, arena; then the state. */
static void fuzz_rest_init(void)
{
    static int ready;
    char dir[] = "/tmp/coffre-fuzz-XXXXXX", path[64];
    cf_buf wrapped;

    if (ready) {
        if (++fz.inputs >= FUZZ_REST_RESET)
            fuzz_rest_setup();
        return;
    }
    cf_log_set_level(CF_LOG_ERROR + 1);
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof path, "%s/master.key", dir);
    cf_buf_init(&wrapped, 0);
    if (crypto_mk_file_open(path, true, &fz.mk) != CF_OK ||
        crypto_keyring_create(fz.mk, 1, &wrapped, &fz.kr) != CF_OK)
        abort();
    cf_buf_free(&wrapped);
    unlink(path);
    rmdir(dir);
    fz.core.keyring = fz.kr;
    fz.core.vendor = "Coffre";
    if ((fz.arena = cf_arena_new(1 << 16, 1u << 24)) == NULL)
        abort();
    fz.env.core = &fz.core;
    fz.env.arena = fz.arena;
    snprintf(fz.peer.addr, sizeof fz.peer.addr, "192.0.2.1:443");
    fuzz_rest_setup();
    ready = 1;
}

/* RSA key generation costs a tenth of a second under the sanitizers: an
 * input that would create an RSA pair (an "RSA" in a key-creation body) is
 * skipped, or such inputs crowd out everything else. The RSA parameters are
 * parsed before generation and stay covered by the seeds' replay. */
static bool fuzz_makes_rsa(const char *path, const char *body, size_t n)
{
    if (strcmp(path, "/v1/keys") != 0 && strncmp(path, "/v1/keys?", 9) != 0)
        return false;
    for (size_t i = 0; i + 3 <= n; i++)
        if ((body[i] | 0x20) == 'r' && (body[i + 1] | 0x20) == 's' && (body[i + 2] | 0x20) == 'a')
            return true;
    return false;
}

/* Placeholders an input may use for the objects of the state. */
static const char *fuzz_placeholder(const char *name, size_t len)
{
    static const struct { const char *name; size_t off; } ph[] = {
        {"KEY", offsetof(struct fuzz_rest, key)},   {"ROOT", offsetof(struct fuzz_rest, root)},
        {"PAIR", offsetof(struct fuzz_rest, pair)}, {"IDENT", offsetof(struct fuzz_rest, ident)},
        {"WRAPPED", offsetof(struct fuzz_rest, wrapped)},
    };
    static const char *const toks[FZ_WHO_COUNT] = {"T0", "T1", "T2", "T3", "T4"};

    for (size_t i = 0; i < sizeof ph / sizeof ph[0]; i++)
        if (strlen(ph[i].name) == len && memcmp(ph[i].name, name, len) == 0)
            return (const char *)&fz + ph[i].off;
    for (int i = 0; i < FZ_WHO_COUNT; i++)
        if (len == 2 && memcmp(toks[i], name, 2) == 0)
            return fz.token[i];
    if (len == 6 && memcmp(name, "TENANT", 6) == 0)
        return "fz";
    return NULL;
}

/* Copy p[0..n) to out with "$NAME" placeholders (upper-case letters and
 * digits after '$') replaced; a NUL-terminated string. false: too long. */
static bool fuzz_expand(const char *p, size_t n, char *out, size_t cap, size_t *out_len)
{
    size_t o = 0;

    for (size_t i = 0; i < n;) {
        const char *v = NULL;
        size_t j = i + 1;
        if (p[i] == '$') {
            while (j < n && j - i <= 8 && ((p[j] >= 'A' && p[j] <= 'Z') || (p[j] >= '0' && p[j] <= '9')))
                j++;
            v = fuzz_placeholder(p + i + 1, j - i - 1);
        }
        if (v != NULL) {
            size_t l = strlen(v);
            if (o + l >= cap)
                return false;
            memcpy(out + o, v, l);
            o += l;
            i = j;
            continue;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = p[i++];
    }
    out[o] = '\0';
    *out_len = o;
    return true;
}

#endif
