/*
 * locate_scale.c - how Locate scales with the number of objects.
 *
 * Usage: locate_scale [--objects N] [--lookups M] [--dir DIR]
 *
 * Fills a fresh SQLite store with N objects (default 100,000) through the
 * store API in one transaction (the bulk path: one fsync), each with the
 * index entries the core derives for a typical key (Name, algorithm,
 * length, usage mask, dates, policy, group, a custom attribute), then
 * times M (default 1,000) searches of each shape below and prints p50,
 * p99 and max in milliseconds:
 *
 *   name        store_object_find by Name (value + type), 1 match
 *   name+type   Name, Object Type, State != Destroyed (what core_locate
 *               sends for a PyKMIP Locate by Name), 1 match
 *   group       Object Group, 1 % of the objects, first page of 10
 *   date-range  Initial Date within a 100 s window, 100 matches
 *   kmip        a whole KMIP 1.4 Locate by Name through kmip_handle:
 *               decode, core_locate, store, encode
 *
 * Every search checks its exact count, so a bench never measures a wrong
 * answer. Not part of `make test`; the target is Locate by Name
 * among 10^5 keys under 10 ms.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "kmip/kmip.h"
#include "store/store.h"
#include "ttlv/ttlv.h"
#include "util/log.h"

#define T0 1700000000
#define GROUPS 100

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    printf("%-12s p50 %8.3f ms   p99 %8.3f ms   max %8.3f ms   (%d runs)\n", what,
           ms[n / 2], ms[(n * 99) / 100], ms[n - 1], n);
}

static void die(const char *what, cf_status st)
{
    fprintf(stderr, "locate_scale: %s: %s\n", what, cf_status_str(st));
    exit(1);
}

static void fill(store *s, int n)
{
    static uint8_t attrs[600], material[80];
    char uid[40], name[32], group[16];
    double t = now_ms();
    cf_status st;

    memset(attrs, 0x42, sizeof attrs);
    memset(material, 0x17, sizeof material);
    if ((st = store_begin(s)) != CF_OK)
        die("begin", st);
    for (int i = 0; i < n; i++) {
        store_index_entry e[] = {
            {.name = "Name", .has_int = true, .ival = 1},
            {.name = "Cryptographic Algorithm", .has_int = true, .ival = 3},
            {.name = "Cryptographic Length", .has_int = true, .ival = 256},
            {.name = "Cryptographic Usage Mask", .has_int = true, .ival = 12},
            {.name = "Initial Date", .has_int = true, .ival = T0 + i},
            {.name = "Last Change Date", .has_int = true, .ival = T0 + i},
            {.name = "Operation Policy Name", .text = (const uint8_t *)"default", .text_len = 7},
            {.name = "Object Group"},
            {.name = "x-Product", .text = (const uint8_t *)"VMware vSphere", .text_len = 14},
        };
        store_object o = {.tenant = "default", .uid = uid, .object_type = 2, .state = 1,
                          .owner = "cert:CN=bench", .algorithm = 3, .length = 256,
                          .created = T0 + i, .updated = T0 + i, .revision = 1, .attrs = attrs,
                          .attrs_len = sizeof attrs, .key_format = 1, .material = material,
                          .material_len = sizeof material, .index = e,
                          .n_index = sizeof e / sizeof e[0]};
        snprintf(uid, sizeof uid, "0190a1b2-c3d4-7%03x-8%03x-%012x", i % 4096, i / 4096, i);
        snprintf(name, sizeof name, "key-%08d", i);
        snprintf(group, sizeof group, "group-%02d", i % GROUPS);
        e[0].text = (const uint8_t *)name;
        e[0].text_len = strlen(name);
        e[7].text = (const uint8_t *)group;
        e[7].text_len = strlen(group);
        if ((st = store_object_insert(s, &o)) != CF_OK)
            die("insert", st);
    }
    if ((st = store_commit(s)) != CF_OK)
        die("commit", st);
    printf("inserted %d objects in one transaction: %.0f ms\n", n, now_ms() - t);
}

/* One timed search; checks the exact count and page size. */
static double timed_find(store *s, cf_arena *a, const store_criterion *c, size_t nc,
                         int64_t limit, int64_t want_total)
{
    store_query q = {.tenant = "default", .crit = c, .n_crit = nc, .limit = limit};
    const char **uids;
    size_t got;
    int64_t total;
    double t = now_ms();
    cf_status st = store_object_find(s, &q, a, &uids, &got, &total);
    t = now_ms() - t;
    if (st != CF_OK)
        die("find", st);
    if (total != want_total || (int64_t)got != (limit >= 0 && limit < want_total ? limit : want_total)) {
        fprintf(stderr, "locate_scale: wrong answer: %lld matches (want %lld), %zu returned\n",
                (long long)total, (long long)want_total, got);
        exit(1);
    }
    cf_arena_reset(a);
    return t;
}

static void bench_store(store *s, int n, int m)
{
    cf_arena *a = cf_arena_new(1 << 16, 0);
    double *ms = calloc((size_t)m, sizeof *ms);
    char name[32], group[16];
    store_criterion c[4];

    if (a == NULL || ms == NULL)
        die("memory", CF_ERR_NOMEM);
    for (int i = 0; i < m; i++) {
        snprintf(name, sizeof name, "key-%08d", rand() % n);
        c[0] = (store_criterion){.name = "Name", .int_op = STORE_INT_EQ, .lo = 1,
                                 .text_op = STORE_TEXT_EQ, .text = (const uint8_t *)name,
                                 .text_len = strlen(name)};
        ms[i] = timed_find(s, a, c, 1, -1, 1);
    }
    report("name", ms, m);
    for (int i = 0; i < m; i++) {
        snprintf(name, sizeof name, "key-%08d", rand() % n);
        c[0] = (store_criterion){.field = STORE_FIELD_OBJECT_TYPE, .int_op = STORE_INT_EQ, .lo = 2};
        c[1] = (store_criterion){.name = "Name", .int_op = STORE_INT_EQ, .lo = 1,
                                 .text_op = STORE_TEXT_EQ, .text = (const uint8_t *)name,
                                 .text_len = strlen(name)};
        c[2] = (store_criterion){.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE, .lo = 5};
        c[3] = (store_criterion){.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE, .lo = 6};
        ms[i] = timed_find(s, a, c, 4, 10000, 1);
    }
    report("name+type", ms, m);
    for (int i = 0; i < m / 10; i++) {
        int g = rand() % GROUPS;
        snprintf(group, sizeof group, "group-%02d", g);
        c[0] = (store_criterion){.name = "Object Group", .text_op = STORE_TEXT_EQ,
                                 .text = (const uint8_t *)group, .text_len = strlen(group)};
        ms[i] = timed_find(s, a, c, 1, 10, n / GROUPS + (g < n % GROUPS));
    }
    report("group", ms, m / 10);
    for (int i = 0; i < m; i++) {
        int64_t lo = T0 + rand() % (n - 100);
        c[0] = (store_criterion){.name = "Initial Date", .int_op = STORE_INT_RANGE, .lo = lo,
                                 .hi = lo + 99};
        ms[i] = timed_find(s, a, c, 1, -1, 100);
    }
    report("date-range", ms, m);
    free(ms);
    cf_arena_free(a);
}

/* A KMIP 1.4 Locate(Name) request. */
static void locate_request(cf_buf *b, const char *name)
{
    ttlv_writer w;
    cf_buf_reset(b);
    ttlv_w_init(&w, b);
    ttlv_w_begin(&w, KMIP_TAG_REQUEST_MESSAGE);
    ttlv_w_begin(&w, KMIP_TAG_REQUEST_HEADER);
    ttlv_w_begin(&w, KMIP_TAG_PROTOCOL_VERSION);
    ttlv_w_int(&w, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
    ttlv_w_int(&w, KMIP_TAG_PROTOCOL_VERSION_MINOR, 4);
    ttlv_w_end(&w);
    ttlv_w_int(&w, KMIP_TAG_BATCH_COUNT, 1);
    ttlv_w_end(&w);
    ttlv_w_begin(&w, KMIP_TAG_BATCH_ITEM);
    ttlv_w_enum(&w, KMIP_TAG_OPERATION, KMIP_OPERATION_LOCATE);
    ttlv_w_begin(&w, KMIP_TAG_REQUEST_PAYLOAD);
    ttlv_w_begin(&w, KMIP_TAG_ATTRIBUTE);
    ttlv_w_cstr(&w, KMIP_TAG_ATTRIBUTE_NAME, "Name");
    ttlv_w_begin(&w, KMIP_TAG_ATTRIBUTE_VALUE);
    ttlv_w_cstr(&w, KMIP_TAG_NAME_VALUE, name);
    ttlv_w_enum(&w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
    ttlv_w_end(&w);
    ttlv_w_end(&w);
    ttlv_w_end(&w);
    ttlv_w_end(&w);
    ttlv_w_end(&w);
    if (ttlv_w_finish(&w) != CF_OK)
        die("encode", CF_ERR_INTERNAL);
}

static void bench_kmip(store *s, const char *dir, int n, int m)
{
    char path[512];
    cf_mk_provider *mk;
    cf_keyring *kr;
    cf_buf wrapped, req, resp;
    core c = {.vendor = "Coffre"};
    core_identity who = {.tenant = "default", .id = "cert:CN=bench", .role = CORE_ROLE_MANAGER};
    cf_arena *a = cf_arena_new(1 << 16, 0);
    double *ms = calloc((size_t)m, sizeof *ms);
    cf_status st;

    snprintf(path, sizeof path, "%s/master.key", dir);
    if ((st = crypto_mk_file_open(path, true, &mk)) != CF_OK)
        die("master key", st);
    cf_buf_init(&wrapped, 0);
    if ((st = crypto_keyring_create(mk, 1, &wrapped, &kr)) != CF_OK)
        die("keyring", st);
    c.keyring = kr;
    cf_buf_init(&req, 0);
    cf_buf_init(&resp, 0);
    for (int i = 0; i < m; i++) {
        kmip_env env = {.core = &c, .st = s, .arena = a, .who = &who};
        char name[32];
        double t;
        snprintf(name, sizeof name, "key-%08d", rand() % n);
        locate_request(&req, name);
        cf_buf_reset(&resp);
        t = now_ms();
        kmip_handle(&env, req.p, req.len, &resp);
        ms[i] = now_ms() - t;
        /* One Unique Identifier (tag 42 00 94) in a successful response. */
        if (resp.len == 0 || memmem(resp.p, resp.len, "\x42\x00\x94\x07", 4) == NULL) {
            fprintf(stderr, "locate_scale: KMIP Locate found nothing\n");
            exit(1);
        }
        cf_arena_reset(a);
    }
    report("kmip", ms, m);
    cf_buf_free(&req);
    cf_buf_free(&resp);
    cf_buf_free(&wrapped);
    crypto_keyring_free(kr);
    crypto_mk_free(mk);
    cf_arena_free(a);
    free(ms);
}

int main(int argc, char **argv)
{
    int n = 100000, m = 1000;
    char dir[256] = "", path[300], cmd[300];
    bool own_dir = false;
    store *s;
    cf_status st;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--objects") == 0)
            n = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--lookups") == 0)
            m = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--dir") == 0)
            snprintf(dir, sizeof dir, "%s", argv[i + 1]);
    }
    if (n < 200 || m < 10) {
        fprintf(stderr, "usage: locate_scale [--objects N>=200] [--lookups M>=10] [--dir DIR]\n");
        return 2;
    }
    if (dir[0] == 0) {
        strcpy(dir, "/tmp/coffre-locate-XXXXXX");
        if (mkdtemp(dir) == NULL)
            return 1;
        own_dir = true;
    }
    snprintf(path, sizeof path, "%s/log", dir);
    cf_log_open(path);
    srand(42);
    snprintf(path, sizeof path, "sqlite:%s/db", dir);
    if ((st = store_open(path, &s)) != CF_OK)
        die("store_open", st);
    fill(s, n);
    bench_store(s, n, m);
    bench_kmip(s, dir, n, m);
    store_close(s);
    if (own_dir) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
