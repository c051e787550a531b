/*
 * kmip_bench.c - a KMIP load generator over real mutual TLS.
 *
 * Usage: kmip_bench --host H --port P --ca CA --cert CRT --key KEY
 *                   [--conns N] [--seconds S | --ops N]
 *                   [--mode persistent|per-request|per-request-resume]
 *                   [--op create|get|locate|discover] [--version 1.1|1.2|1.4]
 *                   [--tls auto|1.2|1.3] [--keys K] [--json]
 *                   [--uid-file F (get) | --name-file F (locate)] [--sequential]
 *
 * Design:
 * - One thread per connection with a blocking SSL socket: on a 2-core box
 *   the client must stay cheap and simple, and a thread that waits in
 *   SSL_read costs nothing. Threads start together (barrier) after their
 *   persistent connections are up, and stop at a shared deadline.
 * - Requests are encoded once per thread (a tiny TTLV writer below, so the
 *   bench depends on OpenSSL only and keeps working while src/ttlv moves);
 *   the timed loop only writes bytes, reads one framed response and checks
 *   it. Every response is decoded far enough to read the Result Status of
 *   its Batch Item: anything but Success is an error, so a bench never
 *   silently measures failures. Get must carry Key Material, Create a
 *   Unique Identifier, Locate at least one Unique Identifier.
 * - Latencies go into a per-thread log-linear histogram (64 sub-buckets
 *   per power of two: at most 1.6% relative error, fixed 30 KB, merged at
 *   the end), so memory does not grow with the run length.
 * - --uid-file / --name-file (the scale mode, bench/scale.sh): each
 *   operation Gets or Locates a random entry of a list of objects already
 *   in the store, so the server's page cache and indexes are exercised
 *   across the whole store rather than on a few hot rows; --sequential
 *   walks the list in order instead (with --ops = its length, each entry
 *   once: the first Get of a key, which writes its Fresh attribute).
 * - per-request opens a TCP+TLS connection per operation and closes it with
 *   close_notify (vCenter's pattern). per-request-resume offers the session
 *   of the previous connection; it is taken with SSL_get1_session only after
 *   the response was read, because TLS 1.3 tickets arrive after the
 *   handshake. The share of resumed handshakes is reported.
 */
#include <arpa/inet.h>
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
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bench_stats.h"
#include "bench_ttlv.h"

#define KB_RESP_MAX (1u << 20)    /* PyKMIP's default maximum response size */
#define KB_IO_TIMEOUT_S 10        /* bounds every blocking read/write */
#define KB_UID_MAX 128
#define KB_MSG_MAX 200
#define KB_MAX_CONNS 1024

/* ------------------------------------------------------------- options */

enum kb_mode { KB_PERSISTENT, KB_PER_REQUEST, KB_PER_REQUEST_RESUME };

struct kb_opts {
    const char *host, *ca, *cert, *key;
    int port;
    unsigned conns;
    double seconds;
    unsigned long ops;          /* 0 = run for `seconds` */
    enum kb_mode mode;
    uint32_t op;
    int vmaj, vmin;
    int tls;                    /* 0 auto, else TLS1_2_VERSION / TLS1_3_VERSION */
    bool json;
    unsigned keys;              /* get: keys created up front (0 = one per conn) */
    const char *pool_file;      /* --uid-file / --name-file: existing objects */
    bool sequential;            /* walk the pool in order instead of at random */
};

static const char *kb_op_name(uint32_t op)
{
    return op == OP_CREATE ? "create" : op == OP_GET ? "get" : op == OP_LOCATE ? "locate"
         : op == OP_DISCOVER_VERSIONS ? "discover" : "?";
}

static const char *kb_mode_name(enum kb_mode m)
{
    return m == KB_PERSISTENT ? "persistent" : m == KB_PER_REQUEST ? "per-request"
                                                                   : "per-request-resume";
}

static void w_attr_u32(struct bt_w *w, const char *name, uint8_t type, uint32_t v)
{
    w_begin(w, TAG_ATTRIBUTE);
    w_text(w, TAG_ATTRIBUTE_NAME, name);
    w_u32(w, TAG_ATTRIBUTE_VALUE, type, v);
    w_end(w);
}

static void w_attr_name(struct bt_w *w, const char *name)
{
    w_begin(w, TAG_ATTRIBUTE);
    w_text(w, TAG_ATTRIBUTE_NAME, "Name");
    w_begin(w, TAG_ATTRIBUTE_VALUE);
    w_text(w, TAG_NAME_VALUE, name);
    w_u32(w, TAG_NAME_TYPE, TYPE_ENUMERATION, 1); /* Uninterpreted Text String */
    w_end(w);
    w_end(w);
}

/*
 * One request message with one batch item. name: the Name given to a
 * created key (Create) or searched (Locate), may be NULL; uid: the object of
 * a Get. Create is the KMIP 1.x shape vCenter sends: Object Type Symmetric
 * Key and a Template Attribute with algorithm, length and usage mask.
 */
static bool kb_build_request(struct bt_w *w, const struct kb_opts *o, uint32_t op,
                             const char *uid, const char *name)
{
    memset(w, 0, sizeof *w);
    w_begin(w, TAG_REQUEST_MESSAGE);
    w_begin(w, TAG_REQUEST_HEADER);
    w_begin(w, TAG_PROTOCOL_VERSION);
    w_u32(w, TAG_PROTOCOL_VERSION_MAJOR, TYPE_INTEGER, (uint32_t)o->vmaj);
    w_u32(w, TAG_PROTOCOL_VERSION_MINOR, TYPE_INTEGER, (uint32_t)o->vmin);
    w_end(w);
    w_u32(w, TAG_BATCH_COUNT, TYPE_INTEGER, 1);
    w_end(w);
    w_begin(w, TAG_BATCH_ITEM);
    w_u32(w, TAG_OPERATION, TYPE_ENUMERATION, op);
    w_begin(w, TAG_REQUEST_PAYLOAD);
    if (op == OP_CREATE) {
        w_u32(w, TAG_OBJECT_TYPE, TYPE_ENUMERATION, 2); /* Symmetric Key */
        w_begin(w, TAG_TEMPLATE_ATTRIBUTE);
        w_attr_u32(w, "Cryptographic Algorithm", TYPE_ENUMERATION, 3); /* AES */
        w_attr_u32(w, "Cryptographic Length", TYPE_INTEGER, 256);
        w_attr_u32(w, "Cryptographic Usage Mask", TYPE_INTEGER, 12); /* Encrypt|Decrypt */
        if (name)
            w_attr_name(w, name);
        w_end(w);
    } else if (op == OP_GET) {
        w_text(w, TAG_UNIQUE_IDENTIFIER, uid);
    } else if (op == OP_LOCATE) {
        w_attr_name(w, name);
    }
    w_end(w);
    w_end(w);
    w_end(w);
    return !w->failed && w->depth == 0;
}

/* ------------------------------------------------- responses */

struct kb_result {
    uint32_t status, reason;
    char msg[KB_MSG_MAX];
    char uid[KB_UID_MAX];
    unsigned nuids;
    bool key_material;
};

static void copy_text(char *dst, size_t cap, const struct bt_item *it)
{
    size_t n = it->len < cap - 1 ? it->len : cap - 1;
    memcpy(dst, it->v, n);
    dst[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (dst[i] < 0x20 || dst[i] == '"' || dst[i] == '\\')
            dst[i] = '?'; /* it ends up in JSON and on terminals */
}

/* Decode a response message far enough to judge it. Returns false (with
 * r->msg saying why) if it is not a well-formed Response Message. */
static bool kb_parse_response(const uint8_t *m, size_t len, struct kb_result *r)
{
    const uint8_t *p = m;
    struct bt_item top, bi, it, pl;
    memset(r, 0, sizeof *r);
    if (!r_next(&p, m + len, &top) || top.tag != TAG_RESPONSE_MESSAGE || top.type != TYPE_STRUCTURE) {
        snprintf(r->msg, sizeof r->msg, "not a Response Message");
        return false;
    }
    if (!r_find(&top, TAG_BATCH_ITEM, &bi) || !r_find(&bi, TAG_RESULT_STATUS, &it)) {
        snprintf(r->msg, sizeof r->msg, "no Batch Item / Result Status");
        return false;
    }
    r->status = r_u32(&it);
    if (r_find(&bi, TAG_RESULT_REASON, &it))
        r->reason = r_u32(&it);
    if (r_find(&bi, TAG_RESULT_MESSAGE, &it))
        copy_text(r->msg, sizeof r->msg, &it);
    if (!r_find(&bi, TAG_RESPONSE_PAYLOAD, &pl))
        return true;
    const uint8_t *q = pl.v, *end = pl.v + pl.len;
    while (q < end && r_next(&q, end, &it)) {
        if (it.tag != TAG_UNIQUE_IDENTIFIER || it.type != TYPE_TEXT)
            continue;
        if (r->nuids++ == 0)
            copy_text(r->uid, sizeof r->uid, &it);
    }
    r->key_material = r_contains(&pl, TAG_KEY_MATERIAL, 4);
    return true;
}

/* ------------------------------------------------------------ threads */

enum kb_err { E_CONNECT, E_TLS, E_IO, E_FRAME, E_KMIP, E_CHECK, E_COUNT };
static const char *const kb_err_names[E_COUNT] = {"connect", "tls", "io", "frame", "kmip", "check"};

struct kb_shared {
    const struct kb_opts *o;
    SSL_CTX *ctx;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    pthread_barrier_t ready;     /* persistent connections are up */
    pthread_barrier_t go;        /* the deadline is set */
    struct timespec deadline;
    char **uids;                 /* get: keys to read, round-robin by thread */
    unsigned nuids;
    const char *locate_name;
    char **pool;                 /* --uid-file / --name-file: a random one per op */
    size_t npool;
    char setup_error[KB_MSG_MAX + 96];
};

struct kb_thread {
    struct kb_shared *sh;
    unsigned index;
    pthread_t tid;
    struct bt_w req;
    SSL *ssl;
    int fd;
    SSL_SESSION *sess;           /* per-request-resume: session to offer */
    unsigned seed;               /* rand_r: the pool entry of each op */
    size_t next;                 /* --sequential: the next pool entry */
    uint8_t *resp;
    struct bs_hist hist;
    uint64_t errors[E_COUNT];
    uint64_t handshakes, resumed;
    char first_error[KB_MSG_MAX + 64];
    char tls_version[16];
};

static void kb_fail(struct kb_thread *t, enum kb_err e, const char *what, const char *detail)
{
    t->errors[e]++;
    if (t->first_error[0] == '\0')
        snprintf(t->first_error, sizeof t->first_error, "%s: %s%s%s", kb_err_names[e], what,
                 detail && *detail ? ": " : "", detail ? detail : "");
}

static void ssl_err_str(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    buf[0] = '\0';
    if (e)
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
}

static void kb_close(struct kb_thread *t, bool clean)
{
    if (t->ssl) {
        if (clean)
            SSL_shutdown(t->ssl); /* send close_notify, do not wait for the peer's */
        SSL_free(t->ssl);
        t->ssl = NULL;
    }
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

static int kb_tcp_connect(struct kb_shared *sh)
{
    int fd = socket(sh->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = KB_IO_TIMEOUT_S};
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sh->addr, sh->addr_len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* TCP connect + TLS handshake, offering t->sess when resuming. */
static bool kb_connect(struct kb_thread *t)
{
    char err[256];
    if ((t->fd = kb_tcp_connect(t->sh)) < 0) {
        kb_fail(t, E_CONNECT, "connect", strerror(errno));
        return false;
    }
    if ((t->ssl = SSL_new(t->sh->ctx)) == NULL || SSL_set_fd(t->ssl, t->fd) != 1) {
        ssl_err_str(err, sizeof err);
        kb_fail(t, E_TLS, "SSL_new", err);
        kb_close(t, false);
        return false;
    }
    X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(vp, t->sh->o->host) != 1)
        SSL_set1_host(t->ssl, t->sh->o->host); /* a name, not an address */
    if (t->sess)
        SSL_set_session(t->ssl, t->sess);
    ERR_clear_error();
    if (SSL_connect(t->ssl) != 1) {
        ssl_err_str(err, sizeof err);
        kb_fail(t, E_TLS, "handshake", err[0] ? err : strerror(errno));
        kb_close(t, false);
        return false;
    }
    t->handshakes++;
    if (SSL_session_reused(t->ssl))
        t->resumed++;
    if (t->tls_version[0] == '\0')
        snprintf(t->tls_version, sizeof t->tls_version, "%s", SSL_get_version(t->ssl));
    return true;
}

static bool ssl_read_full(SSL *ssl, uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t got = 0;
        if (SSL_read_ex(ssl, p, n, &got) != 1)
            return false;
        p += got, n -= got;
    }
    return true;
}

/* Write the request, read one framed response into t->resp. */
static bool kb_exchange(struct kb_thread *t, const struct bt_w *req, size_t *out_len)
{
    size_t done = 0;
    char err[256];
    ERR_clear_error();
    if (SSL_write_ex(t->ssl, req->b, req->len, &done) != 1 || done != req->len) {
        ssl_err_str(err, sizeof err);
        kb_fail(t, E_IO, "write", err[0] ? err : strerror(errno));
        return false;
    }
    if (!ssl_read_full(t->ssl, t->resp, 8)) {
        ssl_err_str(err, sizeof err);
        kb_fail(t, E_IO, "read header", err[0] ? err : "connection closed or timed out");
        return false;
    }
    uint32_t len = be32(t->resp + 4);
    if (be32(t->resp) != (TAG_RESPONSE_MESSAGE << 8 | TYPE_STRUCTURE) || len > KB_RESP_MAX - 8) {
        kb_fail(t, E_FRAME, "bad response header", NULL);
        return false;
    }
    if (!ssl_read_full(t->ssl, t->resp + 8, len)) {
        kb_fail(t, E_IO, "read body", "connection closed or timed out");
        return false;
    }
    *out_len = 8 + (size_t)len;
    return true;
}

/* Judge a response: Success plus what the operation must return. */
static bool kb_check(struct kb_thread *t, uint32_t op, size_t len, struct kb_result *r)
{
    char why[KB_MSG_MAX + 48];
    if (!kb_parse_response(t->resp, len, r)) {
        kb_fail(t, E_FRAME, "malformed response", r->msg);
        return false;
    }
    if (r->status != 0) {
        snprintf(why, sizeof why, "status %u reason 0x%x: %s", r->status, r->reason, r->msg);
        kb_fail(t, E_KMIP, kb_op_name(op), why);
        return false;
    }
    const char *missing = NULL;
    if ((op == OP_CREATE || op == OP_GET) && r->nuids == 0)
        missing = "no Unique Identifier in the payload";
    else if (op == OP_GET && !r->key_material)
        missing = "no Key Material in the Get payload";
    else if (op == OP_LOCATE && r->nuids == 0)
        missing = "Locate found no object";
    if (missing) {
        kb_fail(t, E_CHECK, kb_op_name(op), missing);
        return false;
    }
    return true;
}

/* One timed operation in the thread's mode. */
static void kb_one(struct kb_thread *t)
{
    const struct kb_opts *o = t->sh->o;
    struct kb_result r;
    size_t len;
    uint64_t t0 = ns_now();
    bool ok = false;

    if (t->sh->npool) {
        size_t i = o->sequential ? t->next : (size_t)rand_r(&t->seed);
        const char *v = t->sh->pool[i % t->sh->npool];
        t->next += o->conns;
        if (!kb_build_request(&t->req, o, o->op, v, v)) {
            kb_fail(t, E_FRAME, "request does not fit", NULL);
            return;
        }
    }
    if (t->ssl == NULL && !kb_connect(t)) {
        if (o->mode == KB_PERSISTENT)
            usleep(10000); /* do not spin on a dead server */
        return;
    }
    if (kb_exchange(t, &t->req, &len))
        ok = kb_check(t, o->op, len, &r);
    else
        kb_close(t, false);
    if (t->ssl && o->mode != KB_PERSISTENT) {
        if (o->mode == KB_PER_REQUEST_RESUME) {
            SSL_SESSION *s = SSL_get1_session(t->ssl); /* after the response: TLS 1.3 tickets */
            if (s) {
                SSL_SESSION_free(t->sess);
                t->sess = s;
            }
        }
        kb_close(t, true);
    }
    if (ok)
        h_add(&t->hist, ns_now() - t0);
}

static void *kb_thread_main(void *arg)
{
    struct kb_thread *t = arg;
    struct kb_shared *sh = t->sh;
    const struct kb_opts *o = sh->o;
    unsigned long quota = o->ops ? o->ops / o->conns + (t->index < o->ops % o->conns) : 0;
    const char *uid = sh->nuids ? sh->uids[t->index % sh->nuids] : NULL, *name = sh->locate_name;

    if (sh->npool) /* rebuilt before each operation (kb_one) */
        uid = name = sh->pool[t->index % sh->npool];
    if (!kb_build_request(&t->req, o, o->op, uid, name))
        kb_fail(t, E_FRAME, "request does not fit", NULL);
    else if (o->mode == KB_PERSISTENT)
        kb_connect(t);
    pthread_barrier_wait(&sh->ready);
    pthread_barrier_wait(&sh->go);
    if (t->req.failed)
        return NULL;
    for (unsigned long i = 0; o->ops ? i < quota : !past(&sh->deadline); i++)
        kb_one(t);
    kb_close(t, true);
    SSL_SESSION_free(t->sess);
    t->sess = NULL;
    return NULL;
}

/* ------------------------------------------------------------- setup */

static SSL_CTX *kb_ctx_new(const struct kb_opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    int lo = o->tls ? o->tls : TLS1_2_VERSION, hi = o->tls ? o->tls : TLS1_3_VERSION;
    if (SSL_CTX_set_min_proto_version(ctx, lo) != 1 || SSL_CTX_set_max_proto_version(ctx, hi) != 1 ||
        SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* we keep sessions by hand */
    return ctx;
}

static bool kb_resolve(const struct kb_opts *o, struct kb_shared *sh)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    int rc = getaddrinfo(o->host, port, &hints, &res);
    if (rc != 0 || !res) {
        fprintf(stderr, "kmip_bench: %s: %s\n", o->host, gai_strerror(rc));
        return false;
    }
    memcpy(&sh->addr, res->ai_addr, res->ai_addrlen);
    sh->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

/* One untimed request on a fresh connection (setup: keys for Get/Locate). */
static bool kb_setup_call(struct kb_shared *sh, uint32_t op, const char *name, char *out_uid)
{
    struct kb_thread t = {.sh = sh, .fd = -1};
    struct kb_result r;
    size_t len;
    bool ok = false;
    if ((t.resp = malloc(KB_RESP_MAX)) == NULL)
        return false;
    if (kb_build_request(&t.req, sh->o, op, NULL, name) && kb_connect(&t) &&
        kb_exchange(&t, &t.req, &len) && kb_check(&t, op, len, &r)) {
        snprintf(out_uid, KB_UID_MAX, "%s", r.uid);
        ok = true;
    }
    if (!ok)
        snprintf(sh->setup_error, sizeof sh->setup_error, "setup %s: %s", kb_op_name(op), t.first_error);
    kb_close(&t, true);
    free(t.resp);
    return ok;
}

/* --uid-file / --name-file: one value per line (scale mode: objects that
 * bench/scale_fill put in the store). Nothing is created. */
static bool kb_load_pool(struct kb_shared *sh, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[KB_UID_MAX];
    size_t cap = 0;
    if (f == NULL) {
        snprintf(sh->setup_error, sizeof sh->setup_error, "cannot read %s", path);
        return false;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (sh->npool == cap) {
            char **p = realloc(sh->pool, (cap = cap ? 2 * cap : 1024) * sizeof *p);
            if (p == NULL)
                break;
            sh->pool = p;
        }
        if ((sh->pool[sh->npool] = strdup(line)) == NULL)
            break;
        sh->npool++;
    }
    fclose(f);
    if (sh->npool == 0)
        snprintf(sh->setup_error, sizeof sh->setup_error, "%s holds no value", path);
    return sh->npool > 0;
}

static bool kb_setup(struct kb_shared *sh, char *name_buf, size_t name_cap)
{
    const struct kb_opts *o = sh->o;
    if (o->pool_file)
        return kb_load_pool(sh, o->pool_file);
    if (o->op == OP_LOCATE) {
        /* A fresh, unique name, so that Locate must find exactly one object
         * among whatever the server already holds. */
        snprintf(name_buf, name_cap, "kmip-bench-%ld-%d", (long)time(NULL), (int)getpid());
        char uid[KB_UID_MAX];
        sh->locate_name = name_buf;
        /* One untimed Locate too: a server without Locate is reported
         * once (Operation Not Supported) instead of failing every op. */
        return kb_setup_call(sh, OP_CREATE, name_buf, uid) && kb_setup_call(sh, OP_LOCATE, name_buf, uid);
    }
    if (o->op != OP_GET)
        return true;
    sh->nuids = o->keys ? o->keys : o->conns;
    if ((sh->uids = calloc(sh->nuids, sizeof *sh->uids)) == NULL)
        return false;
    for (unsigned i = 0; i < sh->nuids; i++) {
        if ((sh->uids[i] = malloc(KB_UID_MAX)) == NULL || !kb_setup_call(sh, OP_CREATE, NULL, sh->uids[i]))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ report */

struct kb_total {
    struct bs_hist hist;
    uint64_t errors[E_COUNT], nerrors, handshakes, resumed;
    const char *first_error, *tls_version;
    double elapsed;
};

static void kb_report(const struct kb_opts *o, const struct kb_total *T)
{
    double ops_s = T->elapsed > 0 ? (double)T->hist.count / T->elapsed : 0;
    double p50 = (double)h_quantile(&T->hist, 0.50) / 1e3, p99 = (double)h_quantile(&T->hist, 0.99) / 1e3;
    double mean = T->hist.count ? (double)T->hist.sum / (double)T->hist.count / 1e3 : 0;
    double resum = T->handshakes ? (double)T->resumed / (double)T->handshakes : 0;
    if (o->json) {
        printf("{\"op\":\"%s\",\"mode\":\"%s\",\"conns\":%u,\"version\":\"%d.%d\",\"tls\":\"%s\","
               "\"seconds\":%.3f,\"ops\":%llu,\"ops_per_sec\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
               "\"mean_us\":%.1f,\"max_us\":%.1f,\"errors\":%llu,",
               kb_op_name(o->op), kb_mode_name(o->mode), o->conns, o->vmaj, o->vmin, T->tls_version,
               T->elapsed, (unsigned long long)T->hist.count, ops_s, p50, p99, mean,
               (double)T->hist.max / 1e3, (unsigned long long)T->nerrors);
        printf("\"error_kinds\":{");
        for (int e = 0; e < E_COUNT; e++)
            printf("%s\"%s\":%llu", e ? "," : "", kb_err_names[e], (unsigned long long)T->errors[e]);
        printf("},\"handshakes\":%llu,\"resumed\":%llu,\"resumption_rate\":%.3f,\"first_error\":",
               (unsigned long long)T->handshakes, (unsigned long long)T->resumed, resum);
        bs_json_str(T->first_error ? T->first_error : "");
        printf("}\n");
        return;
    }
    printf("%s %s conns=%u KMIP %d.%d %s: %llu ops in %.2f s = %.1f ops/s, p50 %.0f us, p99 %.0f us, "
           "mean %.0f us, max %.0f us, errors %llu\n",
           kb_op_name(o->op), kb_mode_name(o->mode), o->conns, o->vmaj, o->vmin, T->tls_version,
           (unsigned long long)T->hist.count, T->elapsed, ops_s, p50, p99, mean, (double)T->hist.max / 1e3,
           (unsigned long long)T->nerrors);
    if (o->mode != KB_PERSISTENT)
        printf("  handshakes %llu, resumed %llu (%.1f%%)\n", (unsigned long long)T->handshakes,
               (unsigned long long)T->resumed, 100 * resum);
    if (T->nerrors)
        printf("  first error: %s\n", T->first_error);
}

static void kb_sum(struct kb_thread *th, unsigned n, struct kb_total *T)
{
    for (unsigned i = 0; i < n; i++) {
        h_merge(&T->hist, &th[i].hist);
        for (int e = 0; e < E_COUNT; e++) {
            T->errors[e] += th[i].errors[e];
            T->nerrors += th[i].errors[e];
        }
        T->handshakes += th[i].handshakes;
        T->resumed += th[i].resumed;
        if (!T->first_error && th[i].first_error[0])
            T->first_error = th[i].first_error;
        if (!T->tls_version && th[i].tls_version[0])
            T->tls_version = th[i].tls_version;
    }
    if (!T->tls_version)
        T->tls_version = "none";
}

/* -------------------------------------------------------------- main */

static void kb_usage(void)
{
    fprintf(stderr,
            "usage: kmip_bench --host H --port P --ca CA.pem --cert CLIENT.pem --key CLIENT.key\n"
            "       [--conns N] [--seconds S | --ops N] [--mode persistent|per-request|per-request-resume]\n"
            "       [--op create|get|locate|discover] [--version 1.1|1.2|1.4] [--tls auto|1.2|1.3]\n"
            "       [--keys K] [--uid-file F (get) | --name-file F (locate)] [--sequential] [--json]\n");
}

static bool kb_parse_enum(const char *arg, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(arg, names[i]) == 0) {
            *out = i;
            return true;
        }
    return false;
}

static bool kb_parse_opt(struct kb_opts *o, int c, const char *arg)
{
    static const char *const modes[] = {"persistent", "per-request", "per-request-resume"};
    static const char *const ops[] = {"create", "get", "locate", "discover"};
    static const uint32_t op_codes[] = {OP_CREATE, OP_GET, OP_LOCATE, OP_DISCOVER_VERSIONS};
    static const char *const versions[] = {"1.0", "1.1", "1.2", "1.3", "1.4"};
    static const char *const tls[] = {"auto", "1.2", "1.3"};
    static const int tls_codes[] = {0, TLS1_2_VERSION, TLS1_3_VERSION};
    char *end = NULL;
    int i;
    switch (c) {
    case 'h': o->host = arg; return true;
    case 'p': o->port = (int)strtol(arg, &end, 10); return *end == '\0' && o->port > 0 && o->port < 65536;
    case 'a': o->ca = arg; return true;
    case 'c': o->cert = arg; return true;
    case 'k': o->key = arg; return true;
    case 'n':
        o->conns = (unsigned)strtoul(arg, &end, 10);
        return *end == '\0' && o->conns >= 1 && o->conns <= KB_MAX_CONNS;
    case 's': o->seconds = strtod(arg, &end); return *end == '\0' && o->seconds > 0 && o->seconds <= 3600;
    case 'o': o->ops = strtoul(arg, &end, 10); return *end == '\0';
    case 'K': o->keys = (unsigned)strtoul(arg, &end, 10); return *end == '\0' && o->keys <= KB_MAX_CONNS;
    case 'j': o->json = true; return true;
    case 'U': o->pool_file = arg; return true;
    case 'S': o->sequential = true; return true;
    case 'm': return kb_parse_enum(arg, modes, 3, &i) && ((o->mode = (enum kb_mode)i), true);
    case 'O': return kb_parse_enum(arg, ops, 4, &i) && ((o->op = op_codes[i]), true);
    case 'v': return kb_parse_enum(arg, versions, 5, &i) && ((o->vmin = i), true);
    case 't': return kb_parse_enum(arg, tls, 3, &i) && ((o->tls = tls_codes[i]), true);
    default: return false;
    }
}

static bool kb_parse_args(int argc, char **argv, struct kb_opts *o)
{
    static const struct option lo[] = {
        {"host", required_argument, NULL, 'h'},    {"port", required_argument, NULL, 'p'},
        {"ca", required_argument, NULL, 'a'},      {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},     {"conns", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'}, {"ops", required_argument, NULL, 'o'},
        {"mode", required_argument, NULL, 'm'},    {"op", required_argument, NULL, 'O'},
        {"version", required_argument, NULL, 'v'}, {"tls", required_argument, NULL, 't'},
        {"keys", required_argument, NULL, 'K'},    {"json", no_argument, NULL, 'j'},
        {"uid-file", required_argument, NULL, 'U'}, {"name-file", required_argument, NULL, 'U'},
        {"sequential", no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0}};
    int c;
    *o = (struct kb_opts){.host = "127.0.0.1", .port = 5696, .conns = 1, .seconds = 5,
                          .mode = KB_PERSISTENT, .op = OP_GET, .vmaj = 1, .vmin = 2};
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (!kb_parse_opt(o, c, optarg)) {
            if (c != '?')
                fprintf(stderr, "kmip_bench: bad option value: %s\n", optarg);
            return false;
        }
    }
    if (optind != argc || !o->ca || !o->cert || !o->key) {
        fprintf(stderr, "kmip_bench: --ca, --cert and --key are required\n");
        return false;
    }
    if (o->pool_file && o->op != OP_GET && o->op != OP_LOCATE) {
        fprintf(stderr, "kmip_bench: --uid-file goes with --op get, --name-file with --op locate\n");
        return false;
    }
    return true;
}

static int kb_run(const struct kb_opts *o, struct kb_shared *sh)
{
    struct kb_thread *th = calloc(o->conns, sizeof *th);
    struct kb_total T = {0};
    unsigned started = 0;
    if (!th)
        return 1;
    pthread_barrier_init(&sh->ready, NULL, o->conns + 1);
    pthread_barrier_init(&sh->go, NULL, o->conns + 1);
    for (; started < o->conns; started++) {
        th[started] = (struct kb_thread){.sh = sh, .index = started, .fd = -1, .next = started,
                                         .seed = 7919u * (started + 1) ^ (unsigned)getpid()};
        if ((th[started].resp = malloc(KB_RESP_MAX)) == NULL ||
            pthread_create(&th[started].tid, NULL, kb_thread_main, &th[started]) != 0) {
            fprintf(stderr, "kmip_bench: cannot start thread %u\n", started);
            exit(1); /* the barrier would never open */
        }
    }
    pthread_barrier_wait(&sh->ready);
    double t0 = ts_now();
    deadline_in(&sh->deadline, o->seconds);
    pthread_barrier_wait(&sh->go);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i].tid, NULL);
    T.elapsed = ts_now() - t0;
    kb_sum(th, started, &T);
    kb_report(o, &T);
    for (unsigned i = 0; i < started; i++)
        free(th[i].resp);
    free(th);
    /* Exit status: 0 all good, 3 some operations failed, 4 none succeeded. */
    return T.hist.count == 0 ? 4 : T.nerrors ? 3 : 0;
}

int main(int argc, char **argv)
{
    struct kb_opts o;
    struct kb_shared sh = {0};
    char name[64];
    if (!kb_parse_args(argc, argv, &o)) {
        kb_usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sh.o = &o;
    if (!kb_resolve(&o, &sh) || (sh.ctx = kb_ctx_new(&o)) == NULL)
        return 1;
    if (!kb_setup(&sh, name, sizeof name)) {
        if (o.json) {
            printf("{\"op\":\"%s\",\"mode\":\"%s\",\"conns\":%u,\"setup_failed\":true,\"ops\":0,"
                   "\"ops_per_sec\":0,\"errors\":1,\"first_error\":",
                   kb_op_name(o.op), kb_mode_name(o.mode), o.conns);
            bs_json_str(sh.setup_error);
            printf("}\n");
        } else {
            fprintf(stderr, "kmip_bench: %s\n", sh.setup_error);
        }
        return 5;
    }
    int rc = kb_run(&o, &sh);
    for (unsigned i = 0; i < sh.nuids; i++)
        free(sh.uids[i]);
    free(sh.uids);
    for (size_t i = 0; i < sh.npool; i++)
        free(sh.pool[i]);
    free(sh.pool);
    SSL_CTX_free(sh.ctx);
    return rc;
}
