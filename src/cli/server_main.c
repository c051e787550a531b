/*
 * server_main.c - `coffre server`: wire the modules together and run.
 *
 * Start-up order: data directory (0700) -> development PKI on first start ->
 * master key provider -> store -> keyring (the store KEK, wrapped by the
 * master key, kept in the store so every node of a cluster shares it) ->
 * bootstrap of the identities on a new store (tenant "default", the
 * development certificate admin.crt as its Manager, an operator API key in
 * DIR/admin.token) -> network. Every worker thread opens its own store
 * connection and owns a request arena and a response buffer that it reuses.
 *
 * KMIP clients are identified by their certificate on every message
 * (core_auth_certificate: pin, then CA rule), so disabling or retiring an
 * identity takes effect on the next request, even on an open connection.
 */
#include "cli/cli.h"
#include "cli/server_guard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "crypto/crypto_cert.h"
#include "kmip/kmip.h"
#include "rest/rest.h"
#include "net/net.h"
#include "store/store.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/version.h"

#define KEK_META_KEY "kek.1"
#define TOKEN_FILE "admin.token"

struct server_opts {
    const char *data;
    const char *kmip_listen;
    const char *https_listen;
    const char *log_file;
    unsigned workers;
    cf_log_level log_level;
    bool allow_duplicate_names;
    kmip_credential_policy credentials;
    core_audit_opts audit;     /* --audit-sync, --audit-file */
    unsigned rotation_check;   /* seconds between rotation passes; 0: no scheduler */
    bool test_clock;
    struct server_guard_opts guard; /* limits, rates, TLS lists (server_guard.c) */
};

struct server {
    struct server_opts opt;
    char db_uri[PATH_MAX + 8];
    cf_mk_provider *mk;
    cf_keyring *keyring;
    core core;
};

/* Per-worker state. */
struct worker {
    struct server *srv;
    store *st;
    cf_arena *arena;
    core_waiter *waiter;       /* group commit (core.h): answers wait here */
    struct event *settled_ev;  /* activated by the committer thread */
};

static void server_usage(FILE *f)
{
    fprintf(f,
            "usage: coffre server --data DIR [options]\n"
            "  --data DIR               data directory (created 0700 if absent)\n"
            "  --kmip-listen HOST:PORT  KMIP over mutual TLS (default 127.0.0.1:5696)\n"
            "  --https-listen HOST:PORT HTTPS (default 127.0.0.1:8443)\n"
            "  --workers N              worker threads (default: one per CPU)\n"
            "  --log-level LEVEL        debug|info|warn|error (default info)\n"
            "  --log-file PATH          append the log to PATH instead of stderr\n"
            "  --allow-duplicate-names  let several live objects share a Name (PyKMIP's\n"
            "                           register() names objects after their type); by\n"
            "                           default Names are unique per tenant (KMIP 2.1 4.32)\n"
            "  --kmip-credentials MODE  Username/Password in KMIP request headers: accept\n"
            "                           (default, not checked), verify (when present, the\n"
            "                           password must be an API key of the certificate's\n"
            "                           tenant, which then acts), require (verify, and\n"
            "                           refuse requests without one)\n"
            "  --audit-sync MODE        full (default: no answer before its records and\n"
            "                           writes are on disk; one fsync shared by every\n"
            "                           waiting answer) or normal (answers wait for the\n"
            "                           commit only: survives a crash of the process, not a\n"
            "                           power cut); see docs/audit.md\n"
            "  --audit-file PATH        also append every audit record to PATH (JSON lines,\n"
            "                           mode 0600); a failed write refuses the operation\n"
            "  --rotation-check SECONDS rotation scheduler: a pass every SECONDS (default\n"
            "                           60; 0 disables it on this node): rotates the root\n"
            "                           keys whose rotation policy is due (docs/rotation.md)\n"
            "  --test-clock             TESTS ONLY: POST /v1/rotation/run may name the\n"
            "                           time of the pass (\"at\"), to prove policies\n"
            "                           without waiting for them\n");
    server_guard_usage(f);
}

static int parse_level(const char *s, cf_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (cf_log_level)i;
            return 0;
        }
    return -1;
}

/* A decimal count 0..max (digits only). */
static int parse_seconds(const char *s, unsigned long max, unsigned *out)
{
    char *end;
    unsigned long n;
    errno = 0;
    n = strtoul(s, &end, 10);
    if (errno || *end || end == s || *s == '-' || n > max)
        return -1;
    *out = (unsigned)n;
    return 0;
}

static int parse_opts(int argc, char **argv, struct server_opts *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"kmip-listen", required_argument, NULL, 'k'},
        {"https-listen", required_argument, NULL, 'H'},
        {"workers", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, 'l'},
        {"log-file", required_argument, NULL, 'f'},
        {"allow-duplicate-names", no_argument, NULL, 'N'},
        {"kmip-credentials", required_argument, NULL, 'C'},
        {"audit-sync", required_argument, NULL, 'S'},
        {"audit-file", required_argument, NULL, 'F'},
        {"rotation-check", required_argument, NULL, 'R'},
        {"test-clock", no_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct option all[sizeof longopts / sizeof longopts[0] + 16];
    size_t na = sizeof longopts / sizeof longopts[0] - 1, ng = 0;
    int c, g;
    char *end;
    unsigned long n;

    o->kmip_listen = "127.0.0.1:5696";
    o->https_listen = "127.0.0.1:8443";
    o->log_level = CF_LOG_INFO;
    o->rotation_check = 60;
    memcpy(all, longopts, na * sizeof *all);
    while (server_guard_longopts[ng].name && na + ng + 1 < sizeof all / sizeof all[0]) {
        all[na + ng] = server_guard_longopts[ng];
        ng++;
    }
    memset(&all[na + ng], 0, sizeof all[0]);
    while ((c = getopt_long(argc, argv, "h", all, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'k': o->kmip_listen = optarg; break;
        case 'H': o->https_listen = optarg; break;
        case 'f': o->log_file = optarg; break;
        case 'N': o->allow_duplicate_names = true; break;
        case 'F': o->audit.file = optarg; break;
        case 'S':
            if (strcmp(optarg, "normal") != 0 && strcmp(optarg, "full") != 0) {
                fprintf(stderr, "coffre server: --audit-sync takes normal|full\n");
                return -1;
            }
            o->audit.sync = optarg[0] == 'f' ? CORE_AUDIT_SYNC_FULL : CORE_AUDIT_SYNC_NORMAL;
            break;
        case 'C':
            if (strcmp(optarg, "accept") == 0)
                o->credentials = KMIP_CRED_ACCEPT;
            else if (strcmp(optarg, "verify") == 0)
                o->credentials = KMIP_CRED_VERIFY;
            else if (strcmp(optarg, "require") == 0)
                o->credentials = KMIP_CRED_REQUIRE;
            else {
                fprintf(stderr, "coffre server: --kmip-credentials takes accept|verify|require\n");
                return -1;
            }
            break;
        case 'w':
            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno || *end || n > 256) {
                fprintf(stderr, "coffre server: --workers takes 0..256\n");
                return -1;
            }
            o->workers = (unsigned)n;
            break;
        case 'R':
            if (parse_seconds(optarg, 86400, &o->rotation_check) != 0) {
                fprintf(stderr, "coffre server: --rotation-check takes 0..86400 seconds\n");
                return -1;
            }
            break;
        case 'T': o->test_clock = true; break;
        case 'l':
            if (parse_level(optarg, &o->log_level) != 0) {
                fprintf(stderr, "coffre server: unknown log level '%s'\n", optarg);
                return -1;
            }
            break;
        case 'h': server_usage(stdout); exit(0);
        default:
            if ((g = server_guard_parse(c, optarg, &o->guard)) > 0)
                break;
            if (g == 0)
                server_usage(stderr);
            return -1;
        }
    }
    if (o->data == NULL || optind != argc) {
        server_usage(stderr);
        return -1;
    }
    return 0;
}

/* No core dumps: they would hold key material. */
static void harden_process(void)
{
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    umask(077);
}

static cf_status ensure_dir(const char *path)
{
    struct stat sb;
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        CF_LOGE("cannot create %s: %s", path, strerror(errno));
        return CF_ERR_IO;
    }
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        CF_LOGE("%s is not a directory", path);
        return CF_ERR_IO;
    }
    return CF_OK;
}

/* Load the store KEK, or create it on the very first start. Two nodes
 * starting at once: the loser of the insert reloads the winner's KEK. */
static cf_status open_keyring(struct server *srv, store *st)
{
    cf_arena *a = cf_arena_new(4096, 0);
    const uint8_t *blob;
    size_t len;
    cf_buf wrapped;
    cf_status rc;

    if (a == NULL)
        return CF_ERR_NOMEM;
    cf_buf_init(&wrapped, 0);
    rc = store_meta_get(st, KEK_META_KEY, a, &blob, &len);
    if (rc == CF_ERR_NOT_FOUND) {
        rc = crypto_keyring_create(srv->mk, 1, &wrapped, &srv->keyring);
        if (rc == CF_OK)
            rc = store_meta_insert(st, KEK_META_KEY, wrapped.p, wrapped.len);
        if (rc == CF_ERR_EXISTS) {
            crypto_keyring_free(srv->keyring);
            srv->keyring = NULL;
            rc = store_meta_get(st, KEK_META_KEY, a, &blob, &len);
        } else if (rc == CF_OK) {
            CF_LOGI("created the store key-encryption key");
            goto out;
        }
    }
    if (rc == CF_OK)
        rc = crypto_keyring_load(srv->mk, 1, blob, len, &srv->keyring);
out:
    if (rc != CF_OK)
        CF_LOGE("keyring: %s", cf_status_str(rc));
    cf_buf_free(&wrapped);
    cf_arena_free(a);
    return rc;
}

static void worker_fini(void *wstate);

/* The committer settled tickets of this worker: run their callbacks here. */
static void on_settled(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;
    core_waiter_run(w->waiter);
}

/* Called on the committer's thread (libevent's locks make it safe). */
static void wake_worker(void *arg)
{
    struct worker *w = arg;
    event_active(w->settled_ev, EV_READ, 0);
}

static void *worker_init(void *ctx, unsigned index)
{
    struct server *srv = ctx;
    struct worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->srv = srv;
    w->arena = cf_arena_new(64 * 1024, CF_LIMIT_REQUEST_ARENA);
    if (w->arena == NULL || store_open(srv->db_uri, &w->st) != CF_OK) {
        CF_LOGE("worker %u: cannot open the store", index);
        cf_arena_free(w->arena);
        free(w);
        return NULL;
    }
    /* Group commit: this worker's commits are made durable by the
     * committer, and its answers wait for it (core.h). */
    if (srv->core.audit != NULL &&
        ((w->settled_ev = event_new(net_worker_base(), -1, 0, on_settled, w)) == NULL ||
         core_waiter_new(srv->core.audit, wake_worker, w, &w->waiter) != CF_OK ||
         (w->waiter != NULL && store_set_deferred_sync(w->st, true) != CF_OK))) {
        CF_LOGE("worker %u: cannot join the group commit", index);
        worker_fini(w);
        return NULL;
    }
    return w;
}

static void worker_drain(void *wstate)
{
    struct worker *w = wstate;
    if (w != NULL)
        core_waiter_drain(w->waiter);
}

static void worker_fini(void *wstate)
{
    struct worker *w = wstate;
    if (w == NULL)
        return;
    core_waiter_free(w->waiter);
    if (w->settled_ev)
        event_free(w->settled_ev);
    store_close(w->st);
    cf_arena_free(w->arena);
    free(w);
}

static void hex32(const uint8_t *p, char out[65])
{
    static const char x[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = x[p[i] >> 4];
        out[2 * i + 1] = x[p[i] & 15];
    }
    out[64] = '\0';
}

/* The identity of a verified client certificate (core_auth_certificate).
 * A certificate that maps to none (or to a disabled or expired identity)
 * gets an unauthenticated identity: kmip_handle then refuses every batch
 * item with Authentication Not Successful. */
static const core_identity *identity_from_peer(struct worker *w, const net_peer *peer)
{
    static const core_identity nobody = {.id = "unregistered"};
    core_peer_cert pc = {.sha256 = peer->cert_sha256, .subject = peer->subject,
                         .issuer_sha256 = peer->has_issuer ? peer->issuer_sha256 : NULL};
    core_identity *who = NULL, *anon;
    char fp[65];
    cf_status rc = core_auth_certificate(w->st, w->arena, core_now(), &pc, &who);

    if (rc == CF_OK)
        return who;
    hex32(peer->cert_sha256, fp);
    cf_log_write(rc == CF_ERR_AUTH ? CF_LOG_WARN : CF_LOG_ERROR, __FILE__, __LINE__,
                 "kmip: client certificate refused (%s) from %s: subject \"%s\", issuer \"%s\", "
                 "sha256 %s",
                 rc == CF_ERR_AUTH ? "no identity" : cf_status_str(rc), peer->addr, peer->subject,
                 peer->issuer, fp);
    anon = cf_arena_calloc(w->arena, sizeof *anon);
    if (anon == NULL)
        return &nobody;
    anon->id = cf_arena_sprintf(w->arena, "unregistered:%s", fp);
    if (anon->id == NULL)
        anon->id = nobody.id;
    return anon;
}

static void kmip_settled(void *arg, cf_status st)
{
    net_kmip_release(arg, st == CF_OK);
}

static void on_kmip(void *wstate, const net_peer *peer, const uint8_t *msg, size_t len,
                    cf_buf *out, net_kconn *conn)
{
    struct worker *w = wstate;
    kmip_env env = {.core = &w->srv->core, .st = w->st, .arena = w->arena,
                    .credentials = w->srv->opt.credentials, .source = peer->addr,
                    .cert_sha256 = peer->cert_sha256, .cert_subject = peer->subject,
                    .ticket = core_ticket_new(w->waiter)};
    cf_status st;

    env.who = identity_from_peer(w, peer);
    kmip_handle(&env, msg, len, out);
    cf_arena_reset(w->arena);
    /* The response leaves once its records and writes are durable. */
    if (!core_ticket_submit(env.ticket, kmip_settled, conn, &st))
        net_kmip_hold(conn);
    else if (st != CF_OK)
        cf_buf_reset(out); /* fail closed: no answer, the connection closes */
}

/* Is the peer's certificate registered? Asked by the network layer before
 * it reads a KMIP message over the pre-authentication limit. */
static bool on_kmip_known(void *wstate, const net_peer *peer)
{
    struct worker *w = wstate;
    core_peer_cert pc = {.sha256 = peer->cert_sha256, .subject = peer->subject,
                         .issuer_sha256 = peer->has_issuer ? peer->issuer_sha256 : NULL};
    core_identity *who = NULL;
    cf_status rc = core_auth_certificate(w->st, w->arena, core_now(), &pc, &who);

    cf_arena_reset(w->arena);
    return rc == CF_OK;
}

static void on_https(void *wstate, const net_peer *peer, struct evhttp_request *req)
{
    struct worker *w = wstate;
    rest_env env = {.core = &w->srv->core, .st = w->st, .arena = w->arena,
                    .waiter = w->waiter};
    rest_handle(&env, peer, req);
    cf_arena_reset(w->arena);
}

/* Write DIR/admin.token: the token and a newline, mode 0600, through a
 * temporary file renamed into place (a stale one from an earlier store is
 * replaced). Called inside the bootstrap transaction. */
struct token_file {
    const char *data;
    bool written;
};

static cf_status publish_token(void *ctx, const cf_secret *token)
{
    struct token_file *tf = ctx;
    const char *data = tf->data;
    char tmp[PATH_MAX], path[PATH_MAX];
    cf_status rc = CF_ERR_IO;
    int fd;

    snprintf(tmp, sizeof tmp, "%s/%s.tmp", data, TOKEN_FILE);
    snprintf(path, sizeof path, "%s/%s", data, TOKEN_FILE);
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        CF_LOGE("cannot create %s: %s", tmp, strerror(errno));
        return CF_ERR_IO;
    }
    if (write(fd, token->p, token->len) == (ssize_t)token->len && write(fd, "\n", 1) == 1 &&
        fsync(fd) == 0)
        rc = CF_OK;
    if (close(fd) != 0)
        rc = CF_ERR_IO;
    if (rc == CF_OK && rename(tmp, path) != 0)
        rc = CF_ERR_IO;
    tf->written = rc == CF_OK;
    if (rc == CF_OK && (fd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(fd);
        close(fd);
    }
    if (rc != CF_OK) {
        CF_LOGE("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

/* First start of a store: tenant "default", DIR/pki/admin.crt (when there
 * is one) as its Manager, an operator API key in DIR/admin.token. The log
 * names the file, never the token. */
static cf_status bootstrap(struct server *srv, store *st, cf_arena *a)
{
    char path[PATH_MAX];
    crypto_cert_id admin;
    struct token_file tf = {.data = srv->opt.data};
    core_bootstrap_in in = {.publish = publish_token, .ctx = &tf};
    bool done = false;
    cf_status rc;

    snprintf(path, sizeof path, "%s/pki/admin.crt", srv->opt.data);
    rc = crypto_cert_identify_file(path, a, &admin);
    if (rc == CF_OK) {
        in.admin_sha256 = admin.sha256;
        in.admin_subject = admin.subject;
    } else if (rc != CF_ERR_NOT_FOUND) {
        CF_LOGW("bootstrap: %s is not usable (%s): no certificate identity registered", path,
                cf_status_str(rc));
    }
    rc = core_bootstrap(st, a, core_now(), &in, &done);
    snprintf(path, sizeof path, "%s/%s", srv->opt.data, TOKEN_FILE);
    if (rc != CF_OK) {
        CF_LOGE("bootstrap of tenants and identities failed: %s", cf_status_str(rc));
        if (tf.written)
            unlink(path); /* written, then the transaction failed */
        return rc;
    }
    if (done)
        CF_LOGI("bootstrap: the operator API key is in %s (mode 0600)", path);
    return CF_OK;
}

static cf_status server_prepare(struct server *srv)
{
    char path[PATH_MAX];
    store *st = NULL;
    cf_arena *a = NULL;
    const uint8_t *blob;
    size_t len;
    bool first_start;
    cf_status rc;

    if ((rc = ensure_dir(srv->opt.data)) != CF_OK)
        return rc;
    snprintf(path, sizeof path, "%s/pki", srv->opt.data);
    if ((rc = crypto_pki_ensure_dev(path, NULL, 0)) != CF_OK) {
        CF_LOGE("development PKI in %s: %s", path, cf_status_str(rc));
        return rc;
    }
    snprintf(srv->db_uri, sizeof srv->db_uri, "sqlite:%s/coffre.db", srv->opt.data);
    if ((rc = store_open(srv->db_uri, &st)) != CF_OK)
        return rc;
    if ((a = cf_arena_new(4096, 0)) == NULL) {
        rc = CF_ERR_NOMEM;
        goto out;
    }
    /* A master key is created only for a store that has no KEK yet: a lost
     * master key must stop the server, not be silently replaced. */
    rc = store_meta_get(st, KEK_META_KEY, a, &blob, &len);
    if (rc != CF_OK && rc != CF_ERR_NOT_FOUND)
        goto out;
    first_start = rc == CF_ERR_NOT_FOUND;
    snprintf(path, sizeof path, "%s/master.key", srv->opt.data);
    if ((rc = crypto_mk_file_open(path, first_start, &srv->mk)) != CF_OK) {
        CF_LOGE("master key %s: %s%s", path, cf_status_str(rc),
                first_start ? "" : " (the store holds keys sealed under it: restore the file)");
        goto out;
    }
    rc = open_keyring(srv, st);
    srv->core.keyring = srv->keyring;
    srv->core.vendor = "Coffre";
    srv->core.allow_duplicate_names = srv->opt.allow_duplicate_names;
    srv->core.test_clock = srv->opt.test_clock;
    if (srv->opt.test_clock)
        CF_LOGW("--test-clock: POST /v1/rotation/run accepts a time of the operator's choice "
                "(for tests only, never in production)");
    if (rc == CF_OK)
        rc = bootstrap(srv, st, a);
    /* The audit keys live in the store, sealed under the keyring. */
    if (rc == CF_OK)
        rc = core_audit_open(st, srv->keyring, &srv->opt.audit, &srv->core.audit);
out:
    cf_arena_free(a);
    store_close(st);
    return rc;
}

/* Append every file of path to out (bounded: trust anchors are small). */
static cf_status append_file(cf_buf *out, const char *path)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    if (f == NULL) {
        CF_LOGE("cannot read %s: %s", path, strerror(errno));
        return CF_ERR_IO;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        cf_buf_append(out, chunk, n);
    fclose(f);
    cf_buf_append(out, "\n", 1);
    return out->failed ? CF_ERR_LIMIT : CF_OK;
}

static int pem_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 4 &&
           (strcmp(d->d_name + n - 4, ".pem") == 0 || strcmp(d->d_name + n - 4, ".crt") == 0);
}

/* Client trust anchors: pki/ca.crt plus every certificate in pki/trusted/
 * (an uploaded vCenter root CA, a pinned self-signed vCenter certificate),
 * gathered into pki/trust-bundle.pem at each start. */
static cf_status build_trust_bundle(const char *data, char *out_path, size_t out_size)
{
    char path[PATH_MAX + 512], dir[PATH_MAX];
    struct dirent **list = NULL;
    cf_buf bundle;
    int n;
    cf_status rc;

    cf_buf_init(&bundle, 16u * 1024u * 1024u);
    snprintf(path, sizeof path, "%s/pki/ca.crt", data);
    rc = append_file(&bundle, path);
    snprintf(dir, sizeof dir, "%s/pki/trusted", data);
    n = scandir(dir, &list, pem_name, alphasort);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        if (rc == CF_OK && (rc = append_file(&bundle, path)) == CF_OK)
            CF_LOGI("trusting client certificates under %s", path);
        free(list[i]);
    }
    free(list);
    snprintf(out_path, out_size, "%s/pki/trust-bundle.pem", data);
    if (rc == CF_OK) {
        FILE *f = fopen(out_path, "wb");
        if (f == NULL || fwrite(bundle.p, 1, bundle.len, f) != bundle.len)
            rc = CF_ERR_IO;
        if (f != NULL && fclose(f) != 0)
            rc = CF_ERR_IO;
    }
    cf_buf_free(&bundle);
    return rc;
}

/* ------------------------------------------------------ rotation scheduler */
/*
 * One thread with its own store connection runs core_rotation_run every
 * --rotation-check seconds (the first pass at start, catching up after a
 * stop). It sleeps on a condition variable (monotonic clock) so that the
 * shutdown wakes it at once; a pass in progress finishes first (each key
 * is one short transaction). Every node runs one: core_rotation_run keeps
 * a key from being rotated twice for one due date.
 */
struct scheduler {
    struct server *srv;
    store *st;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool running;
};

static void scheduler_pass(struct scheduler *s)
{
    core_rotation_counts n;
    cf_status rc = core_rotation_run(&s->srv->core, s->st, core_now(), &n);
    cf_log_write(rc != CF_OK || n.failed ? CF_LOG_WARN : n.rotated ? CF_LOG_INFO : CF_LOG_DEBUG,
                 __FILE__, __LINE__,
                 "rotation pass: %lld rotated, %lld skipped, %lld failed%s%s",
                 (long long)n.rotated, (long long)n.skipped, (long long)n.failed,
                 rc != CF_OK ? ": " : "", rc != CF_OK ? cf_status_str(rc) : "");
}

static void *scheduler_main(void *arg)
{
    struct scheduler *s = arg;
    struct timespec until;

    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        scheduler_pass(s);
        pthread_mutex_lock(&s->mu);
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += s->srv->opt.rotation_check;
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static cf_status scheduler_start(struct scheduler *s, struct server *srv)
{
    pthread_condattr_t ca;
    sigset_t block, old;
    int rc;

    memset(s, 0, sizeof *s);
    s->srv = srv;
    if (srv->opt.rotation_check == 0) {
        CF_LOGI("rotation scheduler disabled on this node (--rotation-check 0)");
        return CF_OK;
    }
    if (store_open(srv->db_uri, &s->st) != CF_OK)
        return CF_ERR_STORE;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    /* Signals stay with the main thread's event loop (net_server.c). */
    sigfillset(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    rc = pthread_create(&s->thread, NULL, scheduler_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        CF_LOGE("cannot start the rotation scheduler thread");
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        store_close(s->st);
        return CF_ERR_INTERNAL;
    }
    s->running = true;
    CF_LOGI("rotation scheduler: a pass every %u s", srv->opt.rotation_check);
    return CF_OK;
}

static void scheduler_stop(struct scheduler *s)
{
    if (!s->running)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    store_close(s->st);
    s->running = false;
}

static cf_status server_run(struct server *srv)
{
    char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], crl[PATH_MAX];
    net_config cfg = {0};
    net_handlers h = {.ctx = srv, .worker_init = worker_init, .worker_fini = worker_fini,
                      .worker_drain = worker_drain, .kmip = on_kmip, .https = on_https,
                      .kmip_known = on_kmip_known};
    net_server *ns = NULL;
    struct scheduler sched;
    cf_status rc;

    if ((rc = build_trust_bundle(srv->opt.data, ca, sizeof ca)) != CF_OK) {
        CF_LOGE("cannot build the client trust bundle: %s", cf_status_str(rc));
        return rc;
    }
    snprintf(crt, sizeof crt, "%s/pki/server.crt", srv->opt.data);
    snprintf(key, sizeof key, "%s/pki/server.key", srv->opt.data);
    cfg.kmip_listen = srv->opt.kmip_listen;
    cfg.https_listen = srv->opt.https_listen;
    cfg.workers = srv->opt.workers;
    cfg.tls.ca_file = ca;
    cfg.tls.cert_file = crt;
    cfg.tls.key_file = key;
    if ((rc = server_guard_apply(&srv->opt.guard, srv->opt.data, &cfg, &srv->core, crl,
                                 sizeof crl)) != CF_OK)
        return rc;
    /* The committer (group commit, core.h) on a connection of its own. */
    if (srv->core.audit != NULL) {
        store *own = NULL;
        if ((rc = store_open(srv->db_uri, &own)) != CF_OK ||
            (rc = core_audit_committer_start(srv->core.audit, own)) != CF_OK) {
            CF_LOGE("cannot start the audit committer: %s", cf_status_str(rc));
            return rc;
        }
    }
    if ((rc = net_server_start(&cfg, &h, &ns)) != CF_OK) {
        CF_LOGE("cannot start listeners: %s", cf_status_str(rc));
        return rc;
    }
    CF_LOGI("coffre %s serving KMIP on %s (port %u), HTTPS on %s (port %u), data in %s",
            CF_VERSION, cfg.kmip_listen, net_server_kmip_port(ns), cfg.https_listen,
            net_server_https_port(ns), srv->opt.data);
    if ((rc = scheduler_start(&sched, srv)) != CF_OK) {
        net_server_stop(ns);
        net_server_wait(ns);
        net_server_free(ns);
        return rc;
    }
    rc = net_server_wait(ns);
    scheduler_stop(&sched);
    net_server_free(ns);
    CF_LOGI("coffre stopped");
    return rc;
}

int cli_server_main(int argc, char **argv)
{
    struct server srv;
    cf_status rc;

    memset(&srv, 0, sizeof srv);
    if (parse_opts(argc, argv, &srv.opt) != 0)
        return 2;
    harden_process();
    /* Request bodies, JSON trees and replies may hold key material (a DEK
     * to wrap, an imported key, a token shown once): every block jansson
     * and libevent free is cleansed first (util/mem.h). Before any use of
     * either library. */
    json_set_alloc_funcs(cf_wipe_malloc, cf_wipe_free);
    event_set_mem_functions(cf_wipe_malloc, cf_wipe_realloc, cf_wipe_free);
    cf_log_set_level(srv.opt.log_level);
    if (srv.opt.log_file && cf_log_open(srv.opt.log_file) != CF_OK) {
        fprintf(stderr, "coffre server: cannot open log file %s\n", srv.opt.log_file);
        return 1;
    }
    if (!cf_secret_heap_init(8u * 1024u * 1024u))
        CF_LOGW("secure heap unavailable (RLIMIT_MEMLOCK?): secrets use the normal heap, "
                "still cleansed on free");
    rc = server_prepare(&srv);
    if (rc == CF_OK)
        rc = server_run(&srv);
    server_guard_free(&srv.core);
    core_audit_free(srv.core.audit);
    crypto_keyring_free(srv.keyring);
    crypto_mk_free(srv.mk);
    return rc == CF_OK ? 0 : 1;
}
