/*
 * net_guard.c - what keeps one peer from holding the server: connections
 * per source address, and the deadlines of slow connections.
 *
 * Design:
 * - Source addresses: one table per server, counting live connections per
 *   source and protocol. The key is the IPv4 address, or the /64 prefix of
 *   an IPv6 address (a host owns a /64, so counting /128s would let one
 *   host open 2^64 "sources"). 64 shards, each a mutex and chained buckets:
 *   the accept path takes one short lock, and workers rarely meet on one
 *   shard. An entry lives while it counts a connection, so the table never
 *   holds more entries than there are connections. The hash is seeded at
 *   start (RAND_bytes): a client cannot aim its addresses at one chain.
 * - Deadlines: an inactivity timer is reset by every byte, so a peer that
 *   dribbles one byte every few seconds never trips it (slowloris). Each
 *   connection therefore carries a net_guard: the TLS handshake must end
 *   within handshake_timeout of the accept, and once bytes of a request
 *   have arrived (bytes read from the socket beyond those of the last
 *   complete request, counted by the socket BIO: BIO_number_read), the
 *   request must complete within request_timeout. A sweep per worker
 *   (net_server.c) checks its connections every few seconds; the check
 *   costs a few loads and no allocation. Connections waiting between
 *   requests are left to the idle timeout.
 */
#include "net/net_int.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/rand.h>

#include "util/log.h"

struct net_addr_entry {
    struct net_addr key;
    unsigned count[2];            /* [0] KMIP, [1] HTTPS */
    struct net_addr_entry *next;
};

int64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------- source addresses */

cf_status net_addrs_init(struct net_server *s)
{
    if (RAND_bytes((unsigned char *)&s->addr_seed, sizeof s->addr_seed) != 1)
        return CF_ERR_CRYPTO;
    for (unsigned i = 0; i < NET_ADDR_SHARDS; i++) {
        if (pthread_mutex_init(&s->addr_shards[i].mu, NULL) != 0) {
            while (i-- > 0)
                pthread_mutex_destroy(&s->addr_shards[i].mu);
            return CF_ERR_INTERNAL;
        }
    }
    s->addrs_ready = true;
    return CF_OK;
}

void net_addrs_free(struct net_server *s)
{
    if (!s->addrs_ready)
        return;
    for (unsigned i = 0; i < NET_ADDR_SHARDS; i++) {
        struct net_addr_shard *sh = &s->addr_shards[i];
        for (unsigned b = 0; b < NET_ADDR_BUCKETS; b++) {
            while (sh->buckets[b]) {
                struct net_addr_entry *e = sh->buckets[b];
                sh->buckets[b] = e->next;
                free(e);
            }
        }
        pthread_mutex_destroy(&sh->mu);
    }
    s->addrs_ready = false;
}

bool net_addr_of(const struct sockaddr *sa, struct net_addr *out)
{
    memset(out, 0, sizeof *out);
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        out->b[10] = out->b[11] = 0xff; /* the IPv4-mapped form: one key space */
        memcpy(out->b + 12, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(out->b, &in6->sin6_addr, 16);
        if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            memset(out->b + 8, 0, 8); /* the /64 */
        return true;
    }
    return false;
}

static uint64_t addr_hash(const struct net_server *s, const struct net_addr *a)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ s->addr_seed; /* FNV-1a, seeded */
    for (size_t i = 0; i < sizeof a->b; i++) {
        h ^= a->b[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

bool net_addr_acquire(struct net_server *s, const struct net_addr *a, bool https)
{
    uint64_t h = addr_hash(s, a);
    struct net_addr_shard *sh = &s->addr_shards[h % NET_ADDR_SHARDS];
    struct net_addr_entry **head = &sh->buckets[(h / NET_ADDR_SHARDS) % NET_ADDR_BUCKETS], *e;
    bool ok = true;

    pthread_mutex_lock(&sh->mu);
    for (e = *head; e && memcmp(&e->key, a, sizeof *a) != 0; e = e->next)
        ;
    if (e == NULL && (e = calloc(1, sizeof *e)) != NULL) {
        e->key = *a;
        e->next = *head;
        *head = e;
    }
    if (e == NULL || e->count[https] >= s->cfg.max_connections_per_address)
        ok = false; /* no memory: refuse too, the next accept may fare better */
    else
        e->count[https]++;
    pthread_mutex_unlock(&sh->mu);
    return ok;
}

void net_addr_release(struct net_server *s, const struct net_addr *a, bool https)
{
    uint64_t h = addr_hash(s, a);
    struct net_addr_shard *sh = &s->addr_shards[h % NET_ADDR_SHARDS];
    struct net_addr_entry **p = &sh->buckets[(h / NET_ADDR_SHARDS) % NET_ADDR_BUCKETS], *e;

    pthread_mutex_lock(&sh->mu);
    while ((e = *p) != NULL && memcmp(&e->key, a, sizeof *a) != 0)
        p = &e->next;
    if (e != NULL && e->count[https] > 0) {
        e->count[https]--;
        if (e->count[0] == 0 && e->count[1] == 0) {
            *p = e->next;
            free(e);
        }
    }
    pthread_mutex_unlock(&sh->mu);
}

/* ----------------------------------------------------------- deadlines */

static uint64_t bytes_read(const SSL *ssl)
{
    BIO *rb = ssl ? SSL_get_rbio(ssl) : NULL;
    return rb ? BIO_number_read(rb) : 0;
}

void net_guard_init(struct net_guard *g)
{
    memset(g, 0, sizeof *g);
    g->accepted_ms = net_now_ms();
}

void net_guard_mark(struct net_guard *g, const SSL *ssl)
{
    g->handshake_done = true;
    g->mark = bytes_read(ssl);
    g->partial_since_ms = 0;
}

const char *net_guard_check(struct net_guard *g, const SSL *ssl, const struct net_server *s, int64_t now)
{
    uint64_t got;

    if (!g->handshake_done)
        return now - g->accepted_ms >= (int64_t)s->cfg.handshake_timeout * 1000
                   ? "TLS handshake not finished in time"
                   : NULL;
    got = bytes_read(ssl);
    if (got == g->mark) {
        g->partial_since_ms = 0; /* between requests: the idle timeout's business */
        return NULL;
    }
    if (g->partial_since_ms == 0) {
        g->partial_since_ms = now;
        return NULL;
    }
    return now - g->partial_since_ms >= (int64_t)s->cfg.request_timeout * 1000
               ? "request not complete in time (slow client)"
               : NULL;
}

unsigned net_sweep_period_ms(const struct net_server *s)
{
    unsigned shortest = s->cfg.handshake_timeout < s->cfg.request_timeout ? s->cfg.handshake_timeout
                                                                          : s->cfg.request_timeout;
    unsigned ms = shortest * 1000 / 4;
    return ms < 250 ? 250 : ms > 5000 ? 5000 : ms;
}
