/*
 * rest_bench.c - a REST load generator: envelope unwrap and wrap over HTTPS
 * keep-alive connections, and the same client against any HTTPS server
 * answering a fixed response (nginx: the machine's HTTPS limit).
 *
 * Usage: rest_bench --host H --port P --ca CA
 *                   [--op unwrap|wrap|static|list] [--conns N] [--seconds S | --ops N]
 *                   [--token-file DIR/admin.token] [--tenant T] [--path P]
 *                   [--tls auto|1.2|1.3] [--json]
 *
 * Set-up (unwrap, wrap; untimed), through the REST API only: with the
 * operator token (DIR/admin.token) it creates a Writer API key in the tenant
 * (POST /v1/tenants/T/identities); with that key a root key (POST /v1/keys,
 * kind root) and one wrapped 32-byte DEK with AAD (POST /v1/keys/ID/wrap),
 * and checks one unwrap. The timed loop then sends, on each connection:
 *   unwrap  POST /v1/keys/ID/unwrap {"ciphertext", "aad"}: 200 and the exact
 *           plaintext DEK in the answer, else an error;
 *   wrap    POST /v1/keys/ID/wrap {"plaintext", "aad"}: 200 and a ciphertext;
 *   static  POST --path with an unwrap-sized body, no token: 200 (nginx's
 *           `return 200 '{...}'`: TLS, HTTP parsing and a write, nothing else);
 *   list    GET /v1/keys?limit=100 with the Writer key: the first page of the
 *           tenant's keys and their total (the scale bench, bench/scale.sh).
 *
 * Design: the client is the one of kmip_bench (one thread and one blocking
 * OpenSSL socket per connection, started together, stopped at a deadline,
 * log-linear latency histograms) speaking the least HTTP/1.1 that measures
 * the server: one write per request (head and body together), a response
 * read by Content-Length, persistent connections (reopened only if the
 * server says Connection: close), TCP_NODELAY. No client certificate: REST
 * callers authenticate with bearer tokens. The check of each answer is a
 * status and a substring search, so the client stays cheap on a box it
 * shares with the server. Set-up answers are parsed with jansson.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bench_stats.h"

#define RB_BUF 65536             /* every answer here is a few hundred bytes */
#define RB_REQ_MAX 4096
#define RB_IO_TIMEOUT_S 10
#define RB_MAX_CONNS 1024
#define RB_ERR_MAX 300
#define RB_AAD "[\"tenant:bench\",\"object:rest-bench\"]"

enum rb_op { RB_UNWRAP, RB_WRAP, RB_STATIC, RB_LIST, RB_NOPS };
static const char *const rb_op_names[RB_NOPS] = {"unwrap", "wrap", "static", "list"};

struct rb_opts {
    const char *host, *ca, *token_file, *tenant, *path;
    int port, tls;
    unsigned conns;
    double seconds;
    unsigned long ops;
    enum rb_op op;
    bool json;
};

enum rb_err { E_CONNECT, E_TLS, E_IO, E_HTTP, E_CHECK, E_COUNT };
static const char *const rb_err_names[E_COUNT] = {"connect", "tls", "io", "http", "check"};

struct rb_shared {
    const struct rb_opts *o;
    SSL_CTX *ctx;
    struct addrinfo *addr;
    pthread_barrier_t ready, go;
    struct timespec deadline;
    char req[RB_REQ_MAX];         /* the timed request, the same for every op */
    size_t req_len;
    char expect[256];             /* a substring every good answer holds */
    char setup_error[RB_ERR_MAX];
};

struct rb_conn {
    struct rb_shared *sh;
    SSL *ssl;
    int fd;
    char buf[RB_BUF];
    size_t have;                  /* bytes of buf read and not yet consumed */
    int status;                   /* of the last response */
    const char *body;             /* into buf */
    size_t body_len, consumed;
    bool server_closes;
};

struct rb_thread {
    struct rb_conn c;
    unsigned index;
    pthread_t tid;
    struct bs_hist hist;
    uint64_t errors[E_COUNT];
    char first_error[RB_ERR_MAX];
    char tls_version[16];
};

/* ----------------------------------------------------------- connection */

static void rb_fail(char *first, uint64_t *errors, enum rb_err e, const char *what, const char *detail)
{
    errors[e]++;
    if (first[0] == '\0')
        snprintf(first, RB_ERR_MAX, "%s: %s%s%.200s", rb_err_names[e], what, detail && *detail ? ": " : "",
                 detail ? detail : "");
}

static const char *ssl_err(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    buf[0] = '\0';
    if (e)
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf[0] ? buf : strerror(errno);
}

static void rb_close(struct rb_conn *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->have = 0;
}

/* TCP + TLS to the server; on failure *what says which step. */
static bool rb_connect(struct rb_conn *c, const char **what, char *err, size_t cap)
{
    const struct addrinfo *ai = c->sh->addr;
    struct timeval tv = {.tv_sec = RB_IO_TIMEOUT_S};
    int one = 1;

    *what = "connect";
    c->have = 0;
    if ((c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return snprintf(err, cap, "%s", strerror(errno)), false;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(err, cap, "%s", strerror(errno));
        rb_close(c);
        return false;
    }
    *what = "handshake";
    ERR_clear_error();
    if ((c->ssl = SSL_new(c->sh->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
        SSL_set_tlsext_host_name(c->ssl, c->sh->o->host) != 1) {
        ssl_err(err, cap);
        rb_close(c);
        return false;
    }
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->sh->o->host) != 1)
        SSL_set1_host(c->ssl, c->sh->o->host);
    if (SSL_connect(c->ssl) != 1) {
        ssl_err(err, cap);
        rb_close(c);
        return false;
    }
    return true;
}

/* Value of header `name` in the head [h, h+n) (no NUL), or NULL. */
static const char *rb_header(const char *h, size_t n, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *end = h + n, *p = memchr(h, '\n', n);
    while (p && p + 1 < end) {
        const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v) - (eol > v && eol[-1] == '\r');
            return v;
        }
        p = eol;
    }
    return NULL;
}

/* Read more bytes into c->buf. */
static bool rb_fill(struct rb_conn *c)
{
    size_t got = 0;
    size_t room = sizeof c->buf - 1 - c->have;
    if (c->have >= sizeof c->buf - 1 || SSL_read_ex(c->ssl, c->buf + c->have, room, &got) != 1)
        return false;
    c->have += got;
    return true;
}

/* One response: status, body (by Content-Length). false + *why on error. */
static bool rb_read_response(struct rb_conn *c, const char **why)
{
    const char *v, *hend;
    size_t head, vlen, clen;

    if (c->consumed) { /* drop the previous response (nothing is pipelined) */
        memmove(c->buf, c->buf + c->consumed, c->have - c->consumed);
        c->have -= c->consumed;
        c->consumed = 0;
    }
    while ((hend = c->have >= 4 ? memmem(c->buf, c->have, "\r\n\r\n", 4) : NULL) == NULL)
        if (!rb_fill(c))
            return *why = "connection closed or timed out before the response head", false;
    head = (size_t)(hend - c->buf) + 4;
    if (c->have < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0)
        return *why = "not an HTTP/1.x response", false;
    c->status = atoi(c->buf + 9);
    if ((v = rb_header(c->buf, head, "Content-Length", &vlen)) == NULL)
        return *why = "response without Content-Length", false;
    clen = strtoul(v, NULL, 10);
    if (head + clen >= sizeof c->buf)
        return *why = "response too large", false;
    while (c->have < head + clen)
        if (!rb_fill(c))
            return *why = "connection closed or timed out in the body", false;
    c->body = c->buf + head;
    c->body_len = clen;
    c->consumed = head + clen;
    v = rb_header(c->buf, head, "Connection", &vlen);
    c->server_closes = v && vlen == 5 && strncasecmp(v, "close", 5) == 0;
    return true;
}

/* Send a request and read its response. */
static bool rb_exchange(struct rb_conn *c, const char *req, size_t len, const char **why)
{
    size_t done = 0;
    if (SSL_write_ex(c->ssl, req, len, &done) != 1 || done != len)
        return *why = "write failed", false;
    return rb_read_response(c, why);
}

/* ------------------------------------------------------------ requests */

static size_t rb_format(char *out, size_t cap, const struct rb_opts *o, const char *method,
                        const char *path, const char *token, const char *body)
{
    int n = snprintf(out, cap,
                     "%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s%s%sContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, o->host, o->port, token ? "Authorization: Bearer " : "",
                     token ? token : "", token ? "\r\n" : "", strlen(body), body);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* One untimed call on a fresh connection; the answer's JSON on success. */
static json_t *rb_call(struct rb_shared *sh, const char *method, const char *path, const char *token,
                       const char *body, int want_status)
{
    struct rb_conn *c = calloc(1, sizeof *c);
    char req[RB_REQ_MAX], err[256];
    const char *why = NULL;
    json_t *j = NULL;
    size_t len;

    if (c == NULL)
        return NULL;
    c->sh = sh;
    c->fd = -1;
    if ((len = rb_format(req, sizeof req, sh->o, method, path, token, body)) == 0)
        why = "request too long";
    else if (!rb_connect(c, &why, err, sizeof err))
        snprintf(sh->setup_error, sizeof sh->setup_error, "setup %s: %s: %s", path, why, err);
    else if (!rb_exchange(c, req, len, &why))
        ;
    else if (c->status != want_status)
        snprintf(sh->setup_error, sizeof sh->setup_error, "setup %s %s: HTTP %d: %.*s", method, path,
                 c->status,
                 (int)(c->body_len < 200 ? c->body_len : 200), c->body);
    else if ((j = json_loadb(c->body, c->body_len, 0, NULL)) == NULL)
        snprintf(sh->setup_error, sizeof sh->setup_error, "setup POST %s: answer is not JSON", path);
    if (why && !sh->setup_error[0])
        snprintf(sh->setup_error, sizeof sh->setup_error, "setup POST %s: %s", path, why);
    rb_close(c);
    free(c);
    return j;
}

static bool rb_read_token(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    bool ok = f && fgets(out, (int)cap, f) != NULL;
    if (f)
        fclose(f);
    if (ok)
        out[strcspn(out, "\r\n")] = '\0';
    return ok && out[0];
}

/* A string member of an answer, copied to out. */
static bool rb_member(json_t *j, const char *a, const char *b, char *out, size_t cap)
{
    json_t *v = json_object_get(j, a);
    if (b)
        v = json_object_get(v, b);
    if (!json_is_string(v) || json_string_length(v) >= cap)
        return false;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

/* A new Writer API key of the tenant, made with the operator token. */
static bool rb_writer_key(struct rb_shared *sh, char *token, size_t cap)
{
    const struct rb_opts *o = sh->o;
    char op_token[256], path[256], body[256];
    json_t *j;
    bool ok;

    if (!o->token_file || !rb_read_token(o->token_file, op_token, sizeof op_token)) {
        snprintf(sh->setup_error, sizeof sh->setup_error, "cannot read the operator token (--token-file)");
        return false;
    }
    snprintf(path, sizeof path, "/v1/tenants/%s/identities", o->tenant);
    snprintf(body, sizeof body, "{\"kind\":\"api_key\",\"name\":\"rest-bench-%d-%ld\",\"role\":\"writer\"}",
             (int)getpid(), (long)time(NULL));
    if ((j = rb_call(sh, "POST", path, op_token, body, 201)) == NULL)
        return false;
    ok = rb_member(j, "token", NULL, token, cap);
    json_decref(j);
    return ok;
}

/* Writer key, root key, one wrapped DEK; the timed request into sh. */
static bool rb_setup_envelope(struct rb_shared *sh)
{
    const struct rb_opts *o = sh->o;
    char token[256], id[128], path[256], body[1024], ct[512], pt[64];
    unsigned char dek[32];
    json_t *j;
    bool ok = rb_writer_key(sh, token, sizeof token);

    snprintf(body, sizeof body, "{\"algorithm\":\"AES\",\"length\":256,\"kind\":\"root\",\"activate\":true,"
             "\"name\":\"rest-bench-root-%d-%ld\"}", (int)getpid(), (long)time(NULL));
    if (!ok || (j = rb_call(sh, "POST", "/v1/keys", token, body, 201)) == NULL)
        return false;
    ok = rb_member(j, "id", NULL, id, sizeof id);
    json_decref(j);
    if (!ok || RAND_bytes(dek, sizeof dek) != 1)
        return false;
    EVP_EncodeBlock((unsigned char *)pt, dek, sizeof dek);
    snprintf(path, sizeof path, "/v1/keys/%s/wrap", id);
    snprintf(body, sizeof body, "{\"plaintext\":\"%s\",\"aad\":%s}", pt, RB_AAD);
    if ((j = rb_call(sh, "POST", path, token, body, 200)) == NULL)
        return false;
    ok = rb_member(j, "ciphertext", NULL, ct, sizeof ct);
    json_decref(j);
    if (!ok)
        return false;
    if (o->op == RB_UNWRAP) {
        snprintf(path, sizeof path, "/v1/keys/%s/unwrap", id);
        snprintf(body, sizeof body, "{\"ciphertext\":\"%s\",\"aad\":%s}", ct, RB_AAD);
        snprintf(sh->expect, sizeof sh->expect, "\"plaintext\":\"%s\"", pt);
    } else {
        snprintf(sh->expect, sizeof sh->expect, "\"ciphertext\":\"");
    }
    sh->req_len = rb_format(sh->req, sizeof sh->req, o, "POST", path, token, body);
    /* The first timed request must already be right: check it once. */
    if ((j = rb_call(sh, "POST", path, token, body, 200)) == NULL)
        return false;
    json_decref(j);
    return sh->req_len > 0;
}

/* GET /v1/keys?limit=100 with a Writer key; answers hold "keys". */
static bool rb_setup_list(struct rb_shared *sh)
{
    char token[256];
    json_t *j;
    if (!rb_writer_key(sh, token, sizeof token))
        return false;
    if ((j = rb_call(sh, "GET", "/v1/keys?limit=100", token, "", 200)) == NULL)
        return false;
    json_decref(j);
    snprintf(sh->expect, sizeof sh->expect, "\"keys\":[");
    sh->req_len = rb_format(sh->req, sizeof sh->req, sh->o, "GET", "/v1/keys?limit=100", token, "");
    return sh->req_len > 0;
}

static bool rb_setup(struct rb_shared *sh)
{
    if (sh->o->op == RB_LIST)
        return rb_setup_list(sh);
    if (sh->o->op != RB_STATIC)
        return rb_setup_envelope(sh);
    /* The size of an unwrap request: a wrapped 32-byte DEK (106 bytes with a
     * UUID key id, docs/envelope.md) in base64, and the AAD. */
    char body[512];
    snprintf(body, sizeof body, "{\"ciphertext\":\"%0*d\",\"aad\":%s}", 144, 0, RB_AAD);
    sh->req_len = rb_format(sh->req, sizeof sh->req, sh->o, "POST", sh->o->path, NULL, body);
    sh->expect[0] = '\0';
    return sh->req_len > 0;
}

/* ------------------------------------------------------------ threads */

static void rb_one(struct rb_thread *t)
{
    struct rb_conn *c = &t->c;
    struct rb_shared *sh = c->sh;
    char err[256], status[32];
    const char *why;
    uint64_t t0 = ns_now();

    if (c->ssl == NULL) {
        if (!rb_connect(c, &why, err, sizeof err)) {
            rb_fail(t->first_error, t->errors, strcmp(why, "connect") == 0 ? E_CONNECT : E_TLS, why, err);
            usleep(10000); /* do not spin on a dead server */
            return;
        }
        if (!t->tls_version[0])
            snprintf(t->tls_version, sizeof t->tls_version, "%s", SSL_get_version(c->ssl));
    }
    if (!rb_exchange(c, sh->req, sh->req_len, &why)) {
        rb_fail(t->first_error, t->errors, E_IO, why, NULL);
        rb_close(c);
        return;
    }
    if (c->status != 200) {
        char body[201];
        size_t n = c->body_len < 200 ? c->body_len : 200;
        memcpy(body, c->body, n);
        body[n] = '\0';
        snprintf(status, sizeof status, "status %d", c->status);
        rb_fail(t->first_error, t->errors, E_HTTP, status, body);
    } else if (sh->expect[0] && !memmem(c->body, c->body_len, sh->expect, strlen(sh->expect))) {
        rb_fail(t->first_error, t->errors, E_CHECK, "answer without the expected value", sh->expect);
    } else {
        h_add(&t->hist, ns_now() - t0);
    }
    if (c->server_closes)
        rb_close(c);
}

static void *rb_thread_main(void *arg)
{
    struct rb_thread *t = arg;
    struct rb_shared *sh = t->c.sh;
    const struct rb_opts *o = sh->o;
    unsigned long quota = o->ops ? o->ops / o->conns + (t->index < o->ops % o->conns) : 0;
    char err[256];
    const char *why;

    if (!rb_connect(&t->c, &why, err, sizeof err))
        rb_fail(t->first_error, t->errors, strcmp(why, "connect") == 0 ? E_CONNECT : E_TLS, why, err);
    else
        snprintf(t->tls_version, sizeof t->tls_version, "%s", SSL_get_version(t->c.ssl));
    pthread_barrier_wait(&sh->ready);
    pthread_barrier_wait(&sh->go);
    for (unsigned long i = 0; o->ops ? i < quota : !past(&sh->deadline); i++)
        rb_one(t);
    rb_close(&t->c);
    return NULL;
}

/* -------------------------------------------------------------- report */

static void rb_report(const struct rb_opts *o, struct rb_thread *th, unsigned n, double elapsed)
{
    struct bs_hist *h = calloc(1, sizeof *h);
    uint64_t errors[E_COUNT] = {0}, nerr = 0;
    const char *first = "", *tls = "none";

    if (h == NULL)
        return;
    for (unsigned i = 0; i < n; i++) {
        h_merge(h, &th[i].hist);
        for (int e = 0; e < E_COUNT; e++)
            errors[e] += th[i].errors[e], nerr += th[i].errors[e];
        if (!first[0] && th[i].first_error[0])
            first = th[i].first_error;
        if (th[i].tls_version[0])
            tls = th[i].tls_version;
    }
    double ops_s = elapsed > 0 ? (double)h->count / elapsed : 0;
    double p50 = (double)h_quantile(h, 0.5) / 1e3, p99 = (double)h_quantile(h, 0.99) / 1e3;
    if (o->json) {
        printf("{\"op\":\"%s\",\"mode\":\"keep-alive\",\"conns\":%u,\"tls\":\"%s\",\"seconds\":%.3f,"
               "\"ops\":%llu,\"ops_per_sec\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f,"
               "\"max_us\":%.1f,\"errors\":%llu,\"error_kinds\":{",
               rb_op_names[o->op], o->conns, tls, elapsed, (unsigned long long)h->count, ops_s, p50, p99,
               h_mean(h) / 1e3, (double)h->max / 1e3, (unsigned long long)nerr);
        for (int e = 0; e < E_COUNT; e++)
            printf("%s\"%s\":%llu", e ? "," : "", rb_err_names[e], (unsigned long long)errors[e]);
        printf("},\"first_error\":");
        bs_json_str(first);
        printf("}\n");
    } else {
        printf("%s keep-alive conns=%u %s: %llu ops in %.2f s = %.1f ops/s, p50 %.0f us, p99 %.0f us, "
               "mean %.0f us, max %.0f us, errors %llu\n",
               rb_op_names[o->op], o->conns, tls, (unsigned long long)h->count, elapsed, ops_s, p50, p99,
               h_mean(h) / 1e3, (double)h->max / 1e3, (unsigned long long)nerr);
        if (nerr)
            printf("  first error: %s\n", first);
    }
    free(h);
}

static int rb_run(const struct rb_opts *o, struct rb_shared *sh)
{
    struct rb_thread *th = calloc(o->conns, sizeof *th);
    uint64_t ok = 0, nerr = 0;
    if (th == NULL)
        return 1;
    pthread_barrier_init(&sh->ready, NULL, o->conns + 1);
    pthread_barrier_init(&sh->go, NULL, o->conns + 1);
    for (unsigned i = 0; i < o->conns; i++) {
        th[i].c.sh = sh;
        th[i].c.fd = -1;
        th[i].index = i;
        if (pthread_create(&th[i].tid, NULL, rb_thread_main, &th[i]) != 0) {
            fprintf(stderr, "rest_bench: cannot start thread %u\n", i);
            exit(1); /* the barrier would never open */
        }
    }
    pthread_barrier_wait(&sh->ready);
    double t0 = ts_now();
    deadline_in(&sh->deadline, o->seconds);
    pthread_barrier_wait(&sh->go);
    for (unsigned i = 0; i < o->conns; i++)
        pthread_join(th[i].tid, NULL);
    rb_report(o, th, o->conns, ts_now() - t0);
    for (unsigned i = 0; i < o->conns; i++) {
        ok += th[i].hist.count;
        for (int e = 0; e < E_COUNT; e++)
            nerr += th[i].errors[e];
    }
    free(th);
    return ok == 0 ? 4 : nerr ? 3 : 0; /* as kmip_bench */
}

/* ---------------------------------------------------------------- main */

/* One option into o; false if its value is bad. */
static bool rb_parse_opt(struct rb_opts *o, int c, const char *arg)
{
    char *end = NULL;
    switch (c) {
    case 'h': o->host = arg; return true;
    case 'a': o->ca = arg; return true;
    case 'T': o->token_file = arg; return true;
    case 'N': o->tenant = arg; return true;
    case 'P': o->path = arg; return true;
    case 'j': o->json = true; return true;
    case 'p': o->port = (int)strtol(arg, &end, 10); return !*end && o->port > 0 && o->port < 65536;
    case 'o': o->ops = strtoul(arg, &end, 10); return !*end;
    case 's': o->seconds = strtod(arg, &end); return !*end && o->seconds > 0 && o->seconds <= 3600;
    case 'n':
        o->conns = (unsigned)strtoul(arg, &end, 10);
        return !*end && o->conns >= 1 && o->conns <= RB_MAX_CONNS;
    case 't':
        o->tls = strcmp(arg, "1.2") == 0 ? TLS1_2_VERSION : strcmp(arg, "1.3") == 0 ? TLS1_3_VERSION : 0;
        return o->tls || strcmp(arg, "auto") == 0;
    case 'O':
        for (int i = 0; i < RB_NOPS; i++)
            if (strcmp(arg, rb_op_names[i]) == 0)
                return o->op = (enum rb_op)i, true;
        return false;
    default: return false;
    }
}

static bool rb_parse_args(int argc, char **argv, struct rb_opts *o)
{
    static const struct option lo[] = {
        {"host", required_argument, NULL, 'h'},  {"port", required_argument, NULL, 'p'},
        {"ca", required_argument, NULL, 'a'},    {"token-file", required_argument, NULL, 'T'},
        {"tenant", required_argument, NULL, 'N'}, {"path", required_argument, NULL, 'P'},
        {"op", required_argument, NULL, 'O'},    {"conns", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'}, {"ops", required_argument, NULL, 'o'},
        {"tls", required_argument, NULL, 't'},   {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0}};
    int c;
    *o = (struct rb_opts){.host = "127.0.0.1", .port = 8443, .tenant = "default", .path = "/unwrap",
                          .conns = 1, .seconds = 5, .op = RB_UNWRAP};
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (!rb_parse_opt(o, c, optarg)) {
            if (c != '?')
                fprintf(stderr, "rest_bench: bad option value: %s\n", optarg);
            return false;
        }
    }
    return optind == argc && o->ca != NULL;
}

static SSL_CTX *rb_ctx_new(const struct rb_opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int lo = o->tls ? o->tls : TLS1_2_VERSION, hi = o->tls ? o->tls : TLS1_3_VERSION;
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, lo) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, hi) != 1 ||
        SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

int main(int argc, char **argv)
{
    struct rb_opts o;
    struct rb_shared *sh = calloc(1, sizeof *sh);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    char port[16];
    int rc;

    if (sh == NULL || !rb_parse_args(argc, argv, &o)) {
        fprintf(stderr, "usage: rest_bench --host H --port P --ca CA [--op unwrap|wrap|static|list]\n"
                        "       [--conns N] [--seconds S | --ops N] [--token-file DIR/admin.token] [--tenant T]\n"
                        "       [--path P (static)] [--tls auto|1.2|1.3] [--json]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sh->o = &o;
    snprintf(port, sizeof port, "%d", o.port);
    if ((rc = getaddrinfo(o.host, port, &hints, &sh->addr)) != 0) {
        fprintf(stderr, "rest_bench: %s: %s\n", o.host, gai_strerror(rc));
        return 1;
    }
    if ((sh->ctx = rb_ctx_new(&o)) == NULL)
        return 1;
    if (!rb_setup(sh)) {
        if (!sh->setup_error[0])
            snprintf(sh->setup_error, sizeof sh->setup_error, "setup: unexpected answer");
        if (o.json) {
            printf("{\"op\":\"%s\",\"mode\":\"keep-alive\",\"conns\":%u,\"setup_failed\":true,\"ops\":0,"
                   "\"ops_per_sec\":0,\"errors\":1,\"first_error\":", rb_op_names[o.op], o.conns);
            bs_json_str(sh->setup_error);
            printf("}\n");
        } else {
            fprintf(stderr, "rest_bench: %s\n", sh->setup_error);
        }
        return 5;
    }
    rc = rb_run(&o, sh);
    SSL_CTX_free(sh->ctx);
    freeaddrinfo(sh->addr);
    free(sh);
    return rc;
}
