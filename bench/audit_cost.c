/*
 * audit_cost.c - what the audit trail costs per operation, measured in
 * process, without the network: KMIP Discover Versions, Create (AES-256)
 * and Get through kmip_handle on a SQLite store, with the audit off, with
 * --audit-sync normal and full, through the server's group commit (a
 * committer thread, the answer waiting for its ticket: core_commit.c). One
 * client thread, so every batch holds one record and full pays one fsync
 * per operation; over the network many clients share them (`make bench`).
 *
 * Usage: audit_cost [--seconds S] [--dir DIR] [--json]
 *
 * Why in process: the server has no switch that turns the audit off, and
 * must not have one (a KMS that can run unaudited is a KMS whose trail
 * proves nothing). core without core.audit records nothing (unit tests and
 * tools run that way), so this tool runs the very request path of the
 * server, kmip_handle, on its own store with core.audit NULL, then with a
 * trail opened as `coffre server` opens it. The difference per operation is
 * the chain's overhead: the record built and hashed, the signed checkpoint
 * every 100 records, and one SQLite write transaction per record.
 *
 * Each mode gets a fresh store (and fresh chains) in DIR/<mode>/. One
 * thread, S seconds per case (default 2); every answer is checked for
 * Result Status Success. Output: one line per (mode, operation), or JSON
 * lines with --json, for bench/run.sh's table.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "core/core.h"
#include "crypto/crypto.h"
#include "kmip/kmip.h"
#include "store/store.h"
#include "ttlv/ttlv.h"
#include "util/log.h"

enum ac_mode { AC_OFF, AC_NORMAL, AC_FULL, AC_NMODES };
static const char *const ac_mode_names[AC_NMODES] = {"off", "normal", "full"};

struct ac_env {
    store *st;
    cf_mk_provider *mk;
    cf_keyring *kr;
    core c;
    core_identity who;
    cf_arena *arena;
    cf_buf req, resp;
    core_waiter *waiter;  /* the server's group commit, one thread: batches of one */
};

static void die(const char *what, cf_status st)
{
    fprintf(stderr, "audit_cost: %s: %s\n", what, cf_status_str(st));
    exit(1);
}

static void w_attr_int(ttlv_writer *w, const char *name, bool is_enum, uint32_t v)
{
    ttlv_w_begin(w, KMIP_TAG_ATTRIBUTE);
    ttlv_w_cstr(w, KMIP_TAG_ATTRIBUTE_NAME, name);
    if (is_enum)
        ttlv_w_enum(w, KMIP_TAG_ATTRIBUTE_VALUE, v);
    else
        ttlv_w_int(w, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)v);
    ttlv_w_end(w);
}

/* A KMIP 1.2 request of one batch item: Create (uid NULL), Get or Discover. */
static void ac_request(cf_buf *b, uint32_t op, const char *uid)
{
    ttlv_writer w;
    cf_buf_reset(b);
    ttlv_w_init(&w, b);
    ttlv_w_begin(&w, KMIP_TAG_REQUEST_MESSAGE);
    ttlv_w_begin(&w, KMIP_TAG_REQUEST_HEADER);
    ttlv_w_begin(&w, KMIP_TAG_PROTOCOL_VERSION);
    ttlv_w_int(&w, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
    ttlv_w_int(&w, KMIP_TAG_PROTOCOL_VERSION_MINOR, 2);
    ttlv_w_end(&w);
    ttlv_w_int(&w, KMIP_TAG_BATCH_COUNT, 1);
    ttlv_w_end(&w);
    ttlv_w_begin(&w, KMIP_TAG_BATCH_ITEM);
    ttlv_w_enum(&w, KMIP_TAG_OPERATION, op);
    ttlv_w_begin(&w, KMIP_TAG_REQUEST_PAYLOAD);
    if (op == KMIP_OPERATION_CREATE) {
        ttlv_w_enum(&w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
        ttlv_w_begin(&w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
        w_attr_int(&w, "Cryptographic Algorithm", true, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
        w_attr_int(&w, "Cryptographic Length", false, 256);
        w_attr_int(&w, "Cryptographic Usage Mask", false, 12);
        ttlv_w_end(&w);
    } else if (op == KMIP_OPERATION_GET) {
        ttlv_w_cstr(&w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
    }
    ttlv_w_end(&w);
    ttlv_w_end(&w);
    ttlv_w_end(&w);
    if (ttlv_w_finish(&w) != CF_OK)
        die("encode", CF_ERR_INTERNAL);
}

/* Result Status Success (42 00 7F, Enumeration, length 4, value 0). */
static bool ac_success(const cf_buf *r)
{
    static const uint8_t ok[] = {0x42, 0x00, 0x7F, 0x05, 0, 0, 0, 4, 0, 0, 0, 0};
    return r->len > 0 && memmem(r->p, r->len, ok, sizeof ok) != NULL;
}

/* The first Unique Identifier of a response, copied to out. */
static void ac_uid(const cf_buf *r, char *out, size_t cap)
{
    const uint8_t *p = memmem(r->p, r->len, "\x42\x00\x94\x07", 4);
    size_t n = p ? ((size_t)p[6] << 8 | p[7]) : 0;
    if (p == NULL || n == 0 || n >= cap || (size_t)(p + 8 + n - r->p) > r->len)
        die("Create answered no Unique Identifier", CF_ERR_INTERNAL);
    memcpy(out, p + 8, n);
    out[n] = '\0';
}

static void ac_open(struct ac_env *e, const char *dir, enum ac_mode mode)
{
    char path[600];
    cf_buf wrapped;
    core_audit_opts ao = {.sync = mode == AC_FULL ? CORE_AUDIT_SYNC_FULL : CORE_AUDIT_SYNC_NORMAL};
    cf_status st;

    memset(e, 0, sizeof *e);
    snprintf(path, sizeof path, "%s/%s", dir, ac_mode_names[mode]);
    if (mkdir(path, 0700) != 0)
        die("mkdir (the directory must be new)", CF_ERR_IO);
    snprintf(path, sizeof path, "sqlite:%s/%s/coffre.db", dir, ac_mode_names[mode]);
    if ((st = store_open(path, &e->st)) != CF_OK)
        die("store_open", st);
    snprintf(path, sizeof path, "%s/%s/master.key", dir, ac_mode_names[mode]);
    if ((st = crypto_mk_file_open(path, true, &e->mk)) != CF_OK)
        die("master key", st);
    cf_buf_init(&wrapped, 0);
    if ((st = crypto_keyring_create(e->mk, 1, &wrapped, &e->kr)) != CF_OK)
        die("keyring", st);
    cf_buf_free(&wrapped);
    e->c = (core){.keyring = e->kr, .vendor = "Coffre"};
    if (mode != AC_OFF && (st = core_audit_open(e->st, e->kr, &ao, &e->c.audit)) != CF_OK)
        die("core_audit_open", st);
    /* As the server runs: a committer on its own connection, this
     * connection's commits made durable by it, answers waiting for it. */
    if (mode != AC_OFF) {
        store *own = NULL;
        snprintf(path, sizeof path, "sqlite:%s/%s/coffre.db", dir, ac_mode_names[mode]);
        if ((st = store_open(path, &own)) != CF_OK ||
            (st = core_audit_committer_start(e->c.audit, own)) != CF_OK ||
            (st = core_waiter_new(e->c.audit, NULL, NULL, &e->waiter)) != CF_OK ||
            (st = store_set_deferred_sync(e->st, true)) != CF_OK)
            die("committer", st);
    }
    e->who = (core_identity){.tenant = "default", .id = "0190a1b2-c3d4-7000-8000-00000000beef",
                             .role = CORE_ROLE_MANAGER, .name = "audit_cost"};
    if ((e->arena = cf_arena_new(1 << 16, 0)) == NULL)
        die("arena", CF_ERR_NOMEM);
    cf_buf_init(&e->req, 0);
    cf_buf_init(&e->resp, 0);
}

static void ac_close(struct ac_env *e)
{
    core_waiter_free(e->waiter);
    core_audit_free(e->c.audit);
    crypto_keyring_free(e->kr);
    crypto_mk_free(e->mk);
    store_close(e->st);
    cf_arena_free(e->arena);
    cf_buf_free(&e->req);
    cf_buf_free(&e->resp);
}

struct ac_done {
    cf_status st;
};

static void ac_settled(void *arg, cf_status st)
{
    ((struct ac_done *)arg)->st = st;
}

/* One request through the server's handler; false if not Success. */
static bool ac_call(struct ac_env *e)
{
    kmip_env env = {.core = &e->c, .st = e->st, .arena = e->arena, .who = &e->who,
                    .source = "127.0.0.1:1", .ticket = core_ticket_new(e->waiter)};
    struct ac_done d = {0};
    cf_status now;
    cf_buf_reset(&e->resp);
    kmip_handle(&env, e->req.p, e->req.len, &e->resp);
    cf_arena_reset(e->arena);
    /* The answer would leave once durable (or, normal, written). */
    if (!core_ticket_submit(env.ticket, ac_settled, &d, &now)) {
        core_waiter_drain(e->waiter);
        now = d.st;
    }
    return now == CF_OK && ac_success(&e->resp);
}

static void ac_case(struct ac_env *e, enum ac_mode mode, uint32_t op, const char *name, double seconds,
                    bool json)
{
    struct bs_hist *h = calloc(1, sizeof *h);
    struct timespec deadline;
    char uid[128] = "";
    double t0;

    if (h == NULL)
        die("memory", CF_ERR_NOMEM);
    if (op == KMIP_OPERATION_GET) { /* one key to read, made untimed */
        ac_request(&e->req, KMIP_OPERATION_CREATE, NULL);
        if (!ac_call(e))
            die("setup Create failed", CF_ERR_INTERNAL);
        ac_uid(&e->resp, uid, sizeof uid);
    }
    ac_request(&e->req, op, uid);
    t0 = ts_now();
    deadline_in(&deadline, seconds);
    while (!past(&deadline)) {
        uint64_t n0 = ns_now();
        if (!ac_call(e)) {
            fprintf(stderr, "audit_cost: %s with audit %s failed\n", name, ac_mode_names[mode]);
            exit(1);
        }
        h_add(h, ns_now() - n0);
    }
    t0 = ts_now() - t0;
    if (json)
        printf("{\"audit\":\"%s\",\"op\":\"%s\",\"ops\":%llu,\"ops_per_sec\":%.1f,\"mean_us\":%.1f,"
               "\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
               ac_mode_names[mode], name, (unsigned long long)h->count, (double)h->count / t0,
               h_mean(h) / 1e3, (double)h_quantile(h, 0.5) / 1e3, (double)h_quantile(h, 0.99) / 1e3);
    else
        printf("audit %-6s %-8s %8.0f ops/s   mean %8.1f us   p50 %8.1f us   p99 %8.1f us\n",
               ac_mode_names[mode], name, (double)h->count / t0, h_mean(h) / 1e3,
               (double)h_quantile(h, 0.5) / 1e3, (double)h_quantile(h, 0.99) / 1e3);
    fflush(stdout);
    free(h);
}

int main(int argc, char **argv)
{
    static const struct {
        uint32_t op;
        const char *name;
    } ops[] = {{KMIP_OPERATION_DISCOVER_VERSIONS, "discover"},
               {KMIP_OPERATION_GET, "get"},
               {KMIP_OPERATION_CREATE, "create"}};
    double seconds = 2;
    char dir[512] = "", path[600];
    bool json = false, own = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            snprintf(dir, sizeof dir, "%s", argv[++i]);
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else {
            fprintf(stderr, "usage: audit_cost [--seconds S] [--dir NEW_DIR] [--json]\n");
            return 2;
        }
    }
    if (seconds <= 0 || seconds > 600)
        return 2;
    if (dir[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/coffre-audit-cost-XXXXXX", tmp ? tmp : "/tmp");
        if (mkdtemp(dir) == NULL)
            return 1;
        own = true;
    } else if (mkdir(dir, 0700) != 0) {
        perror(dir);
        return 1;
    }
    snprintf(path, sizeof path, "%s/log", dir);
    cf_log_open(path);
    for (int m = 0; m < AC_NMODES; m++) {
        struct ac_env e;
        ac_open(&e, dir, (enum ac_mode)m);
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            ac_case(&e, (enum ac_mode)m, ops[i].op, ops[i].name, seconds, json);
        ac_close(&e);
    }
    if (own) {
        snprintf(path, sizeof path, "rm -rf '%s'", dir);
        if (system(path) != 0)
            return 1;
    }
    return 0;
}
