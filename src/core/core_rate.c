/*
 * core_rate.c - requests per second per tenant and per identity, in one
 * place for both front ends (KMIP batch items and REST requests call
 * core_rate_check right after authentication; docs/security.md).
 *
 * Design:
 * - Token buckets in memory, per node: each holds at most one second of
 *   requests (the burst) and refills continuously at the rate. Counts are in
 *   thousandths of a request, integers only. With N nodes behind a load
 *   balancer a client can reach N times the rate: sharing counters would
 *   cost a database write per request, which is what the limit protects.
 *   Operators divide by the node count if they need a cluster-wide bound.
 * - A bucket per identity ("i:" + its id) and per tenant ("t:" + its id);
 *   an identity's request takes a token from both (refunding the first
 *   when the second refuses). The operator has no tenant bucket.
 * - Shared by every worker thread: 64 shards, each a mutex over chained
 *   buckets, so two workers rarely wait on each other and never for long
 *   (no I/O under a lock). Memory is bounded: at most max_buckets entries;
 *   a bucket that has refilled is indistinguishable from a new one and is
 *   evicted when its shard is full; if none has (that many identities all
 *   busy at once), the request passes unmetered and a warning is logged
 *   (at most once a minute): a full table must not lock clients out.
 * - A tenant's own rate overrides --rate-tenant: the store setting
 *   "rate-limit" (decimal requests per second; 0: unlimited), read outside
 *   the lock and cached in the tenant's bucket for
 *   CF_LIMIT_RATE_SETTING_TTL seconds, so a change applies on every node
 *   within that delay.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core_int.h"
#include "util/limits.h"
#include "util/log.h"

#define RATE_SHARDS 64
#define RATE_CHAINS 256
#define RATE_KEY_MAX 96
#define MT 1000 /* thousandths of a request per request */

struct rate_entry {
    struct rate_entry *next;
    uint64_t hash;
    int64_t tokens;        /* thousandths of a request */
    int64_t last_ms;       /* when tokens was computed */
    int64_t setting;       /* tenant buckets: the tenant's own rate, -1: none */
    int64_t setting_ms;    /* when it was read; 0: never */
    char key[RATE_KEY_MAX];
};

struct rate_shard {
    pthread_mutex_t mu;
    size_t n;
    struct rate_entry *chains[RATE_CHAINS];
};

struct core_rate {
    unsigned tenant_rps;
    unsigned identity_rps;
    size_t shard_max;       /* entries per shard */
    atomic_llong full_log_at;
    struct rate_shard shards[RATE_SHARDS];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

cf_status core_rate_new(const core_rate_opts *o, core_rate **out)
{
    core_rate *r = calloc(1, sizeof *r);
    size_t max = o->max_buckets ? o->max_buckets : CF_LIMIT_RATE_BUCKETS;

    *out = NULL;
    if (r == NULL)
        return CF_ERR_NOMEM;
    r->tenant_rps = o->tenant_rps;
    r->identity_rps = o->identity_rps;
    r->shard_max = max / RATE_SHARDS ? max / RATE_SHARDS : 1;
    for (unsigned i = 0; i < RATE_SHARDS; i++) {
        if (pthread_mutex_init(&r->shards[i].mu, NULL) != 0) {
            while (i-- > 0)
                pthread_mutex_destroy(&r->shards[i].mu);
            free(r);
            return CF_ERR_INTERNAL;
        }
    }
    *out = r;
    return CF_OK;
}

void core_rate_free(core_rate *r)
{
    if (r == NULL)
        return;
    for (unsigned i = 0; i < RATE_SHARDS; i++) {
        for (unsigned c = 0; c < RATE_CHAINS; c++) {
            while (r->shards[i].chains[c]) {
                struct rate_entry *e = r->shards[i].chains[c];
                r->shards[i].chains[c] = e->next;
                free(e);
            }
        }
        pthread_mutex_destroy(&r->shards[i].mu);
    }
    free(r);
}

size_t core_rate_count(core_rate *r)
{
    size_t n = 0;
    for (unsigned i = 0; i < RATE_SHARDS; i++) {
        pthread_mutex_lock(&r->shards[i].mu);
        n += r->shards[i].n;
        pthread_mutex_unlock(&r->shards[i].mu);
    }
    return n;
}

static uint64_t key_hash(const char *k)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a: keys are ids the server made */
    for (; *k; k++) {
        h ^= (unsigned char)*k;
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 31);
}

/* Refill e to now at rate (requests per second). */
static void refill(struct rate_entry *e, unsigned rate, int64_t now)
{
    int64_t cap = (int64_t)rate * MT, dt = now - e->last_ms;

    if (dt > 0) {
        /* dt * rate thousandths: a day of idleness cannot overflow */
        e->tokens = dt >= 86400000 || e->tokens + dt * (int64_t)rate >= cap ? cap
                                                                             : e->tokens + dt * (int64_t)rate;
        e->last_ms = now;
    }
    if (e->tokens > cap)
        e->tokens = cap; /* the rate went down */
}

/* Drop one bucket of a full shard that has refilled; false if none has. */
static bool evict_one(struct rate_shard *sh, int64_t now)
{
    for (unsigned c = 0; c < RATE_CHAINS; c++) {
        for (struct rate_entry **p = &sh->chains[c], *e; (e = *p) != NULL; p = &e->next) {
            /* A bucket holds one second of its rate and refills at its
             * rate: idle for a second, it is full, as a new one would be. */
            if (now - e->last_ms >= 1000) {
                *p = e->next;
                free(e);
                sh->n--;
                return true;
            }
        }
    }
    return false;
}

/* The bucket of key in its (locked) shard, made full when new; NULL when
 * the shard is full of busy buckets or memory is short. */
static struct rate_entry *bucket(core_rate *r, struct rate_shard *sh, const char *key, uint64_t h,
                                 unsigned rate, int64_t now)
{
    struct rate_entry **head = &sh->chains[(h / RATE_SHARDS) % RATE_CHAINS], *e;

    for (e = *head; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    if (sh->n >= r->shard_max && !evict_one(sh, now))
        return NULL;
    if (strlen(key) >= sizeof e->key || (e = calloc(1, sizeof *e)) == NULL)
        return NULL;
    memcpy(e->key, key, strlen(key) + 1);
    e->hash = h;
    e->tokens = (int64_t)rate * MT;
    e->last_ms = now;
    e->setting = -1;
    e->next = *head;
    *head = e;
    sh->n++;
    return e;
}

static void log_full(core_rate *r)
{
    long long now = (long long)time(NULL), prev = atomic_load(&r->full_log_at);
    if (now - prev >= 60 && atomic_compare_exchange_strong(&r->full_log_at, &prev, now))
        CF_LOGW("rate limits: %zu buckets in use, all busy: requests pass unmetered until some "
                "go idle (logged once a minute)", r->shard_max * RATE_SHARDS);
}

cf_status core_rate_take(core_rate *r, const char *key, unsigned rate, int64_t now_ms,
                         unsigned *out_retry_after)
{
    uint64_t h = key_hash(key);
    struct rate_shard *sh = &r->shards[h % RATE_SHARDS];
    struct rate_entry *e;
    cf_status rc = CF_OK;

    if (rate == 0)
        return CF_OK;
    pthread_mutex_lock(&sh->mu);
    if ((e = bucket(r, sh, key, h, rate, now_ms)) == NULL) {
        pthread_mutex_unlock(&sh->mu);
        log_full(r);
        return CF_OK;
    }
    refill(e, rate, now_ms);
    if (e->tokens >= MT) {
        e->tokens -= MT;
    } else {
        int64_t wait_ms = ((MT - e->tokens) + rate - 1) / rate; /* until one token */
        if (out_retry_after)
            *out_retry_after = (unsigned)((wait_ms + 999) / 1000);
        rc = CF_ERR_RATE_LIMITED;
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* Give back a token taken by core_rate_take (the other bucket refused). */
static void give_back(core_rate *r, const char *key, unsigned rate)
{
    uint64_t h = key_hash(key);
    struct rate_shard *sh = &r->shards[h % RATE_SHARDS];

    pthread_mutex_lock(&sh->mu);
    for (struct rate_entry *e = sh->chains[(h / RATE_SHARDS) % RATE_CHAINS]; e; e = e->next) {
        if (e->hash == h && strcmp(e->key, key) == 0) {
            e->tokens = e->tokens + MT > (int64_t)rate * MT ? (int64_t)rate * MT : e->tokens + MT;
            break;
        }
    }
    pthread_mutex_unlock(&sh->mu);
}

/* ------------------------------------------------- the tenant's own rate */

static cf_status setting_read(store *st, cf_arena *a, const char *tenant, int64_t *out)
{
    const uint8_t *p;
    size_t n;
    int64_t v = 0;
    cf_status rc = store_setting_get(st, tenant, CORE_RATE_SETTING, a, &p, &n);

    *out = -1;
    if (rc == CF_ERR_NOT_FOUND)
        return CF_OK;
    if (rc != CF_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || i >= 9)
            return CF_ERR_INTERNAL; /* core_rate_tenant_set writes 0..CORE_RATE_MAX only */
        v = v * 10 + (p[i] - '0');
    }
    *out = n ? v : -1;
    return CF_OK;
}

/* The tenant's rate now: its setting (cached) or the server's default. */
static unsigned tenant_rate(core_rate *r, core_req *req, const char *key, int64_t now)
{
    uint64_t h = key_hash(key);
    struct rate_shard *sh = &r->shards[h % RATE_SHARDS];
    struct rate_entry *e;
    int64_t v = -1;
    bool stale = true;

    pthread_mutex_lock(&sh->mu);
    for (e = sh->chains[(h / RATE_SHARDS) % RATE_CHAINS]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            break;
    if (e && e->setting_ms && now - e->setting_ms < CF_LIMIT_RATE_SETTING_TTL * 1000) {
        stale = false;
        v = e->setting;
    }
    pthread_mutex_unlock(&sh->mu);
    if (stale) {
        if (setting_read(req->st, req->arena, req->who->tenant, &v) != CF_OK) {
            CF_LOGW("rate limits: tenant %s: its rate setting is unreadable: using the default",
                    req->who->tenant);
            v = -1;
        }
        pthread_mutex_lock(&sh->mu);
        unsigned rate = v >= 0 ? (unsigned)v : r->tenant_rps;
        if ((e = bucket(r, sh, key, h, rate ? rate : 1, now)) != NULL) {
            e->setting = v;
            e->setting_ms = now ? now : 1;
        }
        pthread_mutex_unlock(&sh->mu);
    }
    return v >= 0 ? (unsigned)v : r->tenant_rps;
}

cf_status core_rate_check(core_req *req, unsigned *out_retry_after)
{
    core_rate *r = req->core ? req->core->rate : NULL;
    const core_identity *who = req->who;
    char ikey[RATE_KEY_MAX], tkey[RATE_KEY_MAX];
    unsigned retry = 1, trate;
    int64_t now = mono_ms();

    if (out_retry_after)
        *out_retry_after = 0;
    if (r == NULL || who == NULL || who->id == NULL)
        return CF_OK;
    snprintf(ikey, sizeof ikey, "i:%s", who->id);
    if (core_rate_take(r, ikey, r->identity_rps, now, &retry) != CF_OK) {
        if (out_retry_after)
            *out_retry_after = retry;
        return core_fail(req, CF_ERR_RATE_LIMITED,
                         "rate limit exceeded: this identity may make %u requests per second; "
                         "retry in %u s", r->identity_rps, retry);
    }
    if (who->tenant == NULL)
        return CF_OK;
    snprintf(tkey, sizeof tkey, "t:%s", who->tenant);
    trate = tenant_rate(r, req, tkey, now);
    if (core_rate_take(r, tkey, trate, now, &retry) != CF_OK) {
        give_back(r, ikey, r->identity_rps);
        if (out_retry_after)
            *out_retry_after = retry;
        return core_fail(req, CF_ERR_RATE_LIMITED,
                         "rate limit exceeded: tenant %s may make %u requests per second; retry "
                         "in %u s", who->tenant, trate, retry);
    }
    return CF_OK;
}

cf_status core_rate_tenant_get(core_req *req, const char *tenant, int64_t *out)
{
    core_tenant *t = NULL;
    cf_status rc = core_tenant_get(req, tenant, &t);

    *out = -1;
    if (rc != CF_OK)
        return rc;
    return setting_read(req->st, req->arena, t->id, out);
}

cf_status core_rate_tenant_set(core_req *req, const char *tenant, int64_t rps)
{
    char text[16];
    core_tenant *t = NULL;
    cf_status rc;

    if ((rc = core_req_authorize(req, CORE_ACT_MANAGE_TENANTS, NULL)) != CF_OK)
        return rc;
    if (rps < -1 || rps > CORE_RATE_MAX)
        return core_fail(req, CF_ERR_INVALID_FIELD, "a rate limit is 0..%d requests per second",
                         CORE_RATE_MAX);
    if ((rc = core_tenant_get(req, tenant, &t)) != CF_OK)
        return rc;
    snprintf(text, sizeof text, "%" PRId64, rps);
    if ((rc = store_begin(req->st)) != CF_OK)
        return rc;
    rc = store_setting_put(req->st, t->id, CORE_RATE_SETTING, rps < 0 ? NULL : (const uint8_t *)text,
                           rps < 0 ? 0 : strlen(text));
    if (rc == CF_OK)
        rc = core_commit(req);
    if (rc != CF_OK)
        store_rollback(req->st);
    return rc;
}
