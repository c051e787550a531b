/*
 * server_main.c - `coffre server`: wire the modules together and run.
 *
 * Start-up order: data directory (0700) -> development PKI on first start ->
 * master key provider -> store -> keyring (the store KEK, wrapped by the
 * master key, kept in the store so every node of a cluster shares it) ->
 * network. Every worker thread opens its own store connection and owns a
 * request arena and a response buffer that it reuses.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "kmip/kmip.h"
#include "rest/rest.h"
#include "net/net.h"
#include "store/store.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/version.h"

#define KEK_META_KEY "kek.1"
#define DEFAULT_TENANT "default"

struct server_opts {
    const char *data;
    const char *kmip_listen;
    const char *https_listen;
    const char *log_file;
    unsigned workers;
    cf_log_level log_level;
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
            "  --log-file PATH          append the log to PATH instead of stderr\n");
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

static int parse_opts(int argc, char **argv, struct server_opts *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"kmip-listen", required_argument, NULL, 'k'},
        {"https-listen", required_argument, NULL, 'H'},
        {"workers", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, 'l'},
        {"log-file", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    char *end;
    unsigned long n;

    o->kmip_listen = "127.0.0.1:5696";
    o->https_listen = "127.0.0.1:8443";
    o->log_level = CF_LOG_INFO;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'k': o->kmip_listen = optarg; break;
        case 'H': o->https_listen = optarg; break;
        case 'f': o->log_file = optarg; break;
        case 'w':
            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno || *end || n > 256) {
                fprintf(stderr, "coffre server: --workers takes 0..256\n");
                return -1;
            }
            o->workers = (unsigned)n;
            break;
        case 'l':
            if (parse_level(optarg, &o->log_level) != 0) {
                fprintf(stderr, "coffre server: unknown log level '%s'\n", optarg);
                return -1;
            }
            break;
        case 'h': server_usage(stdout); exit(0);
        default: server_usage(stderr); return -1;
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
    return w;
}

static void worker_fini(void *wstate)
{
    struct worker *w = wstate;
    if (w == NULL)
        return;
    store_close(w->st);
    cf_arena_free(w->arena);
    free(w);
}

/* The client certificate is the identity: subject and issuer. Until
 * tenants and roles exist every certificate the CA vouches for is a Manager
 * of the default tenant. */
static void identity_from_peer(cf_arena *a, const net_peer *peer, core_identity *who)
{
    who->tenant = DEFAULT_TENANT;
    who->role = CORE_ROLE_MANAGER;
    who->id = cf_arena_sprintf(a, "cert:%s|%s", peer->subject, peer->issuer);
    if (who->id == NULL)
        who->id = "cert:?";
}

static void on_kmip(void *wstate, const net_peer *peer, const uint8_t *msg, size_t len,
                    cf_buf *out)
{
    struct worker *w = wstate;
    core_identity who;
    kmip_env env = {.core = &w->srv->core, .st = w->st, .arena = w->arena, .who = &who};

    identity_from_peer(w->arena, peer, &who);
    kmip_handle(&env, msg, len, out);
    cf_arena_reset(w->arena);
}

static void on_https(void *wstate, const net_peer *peer, struct evhttp_request *req)
{
    struct worker *w = wstate;
    rest_env env = {.core = &w->srv->core, .st = w->st, .arena = w->arena};
    rest_handle(&env, peer, req);
    cf_arena_reset(w->arena);
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

static cf_status server_run(struct server *srv)
{
    char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX];
    net_config cfg = {0};
    net_handlers h = {.ctx = srv, .worker_init = worker_init, .worker_fini = worker_fini,
                      .kmip = on_kmip, .https = on_https};
    net_server *ns = NULL;
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
    if ((rc = net_server_start(&cfg, &h, &ns)) != CF_OK) {
        CF_LOGE("cannot start listeners: %s", cf_status_str(rc));
        return rc;
    }
    CF_LOGI("coffre %s serving KMIP on %s (port %u), HTTPS on %s (port %u), data in %s",
            CF_VERSION, cfg.kmip_listen, net_server_kmip_port(ns), cfg.https_listen,
            net_server_https_port(ns), srv->opt.data);
    rc = net_server_wait(ns);
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
    crypto_keyring_free(srv.keyring);
    crypto_mk_free(srv.mk);
    return rc == CF_OK ? 0 : 1;
}
