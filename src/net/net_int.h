/*
 * net_int.h - internals shared by the files of src/net (not a public API).
 *
 * Reading order: net_server.c (lifecycle, workers, binding), net_tls.c (the
 * two SSL_CTXs, peer identity, error text), net_kmip.c (one KMIP connection:
 * framing, handler call, response hand-off), net_https.c (evhttp per worker).
 *
 * Ownership: a net_server owns its workers; a worker owns its event_base,
 * its listeners, its evhttp and every connection accepted on it. Everything
 * a worker owns is touched only by that worker's thread once the thread
 * runs, except `stop_ev`, which the main thread activates (libevent locks
 * the base because evthread_use_pthreads() was called before it existed).
 */
#ifndef CF_NET_INT_H
#define CF_NET_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "net/net.h"
#include "util/limits.h"

#define NET_BACKLOG 1024
#define NET_KMIP_HDR 8                 /* tag(3) type(1) length(4) */
#define NET_TTLV_STRUCTURE 0x01
#define NET_HTTP_MAX_BODY CF_LIMIT_REST_BODY
#define NET_HTTP_MAX_HEADERS CF_LIMIT_HTTP_HEADERS
/* Stop reading a KMIP connection while this much response is unsent: a
 * client that pipelines requests but never reads cannot grow our memory. */
#define NET_OUT_HIGH (1024u * 1024u)
/* A connection keeps its request copy buffer between messages up to this
 * capacity; a bigger one (after a large Register) is released. */
#define NET_IN_KEEP (64u * 1024u)
/* A listener that fails to accept (EMFILE...) pauses this long. */
#define NET_RELISTEN_MS 100
#define NET_MAX_WORKERS 256

struct net_kconn;
struct net_hconn;
struct evhttp;

/* A connection's source for the per-address limit (net_guard.c): the
 * IPv4-mapped address, or an IPv6 address cut to its /64. */
struct net_addr {
    uint8_t b[16];
};

#define NET_ADDR_SHARDS 64
#define NET_ADDR_BUCKETS 64
struct net_addr_entry;
struct net_addr_shard {
    pthread_mutex_t mu;
    struct net_addr_entry *buckets[NET_ADDR_BUCKETS];
};

/* A connection's deadlines (net_guard.c). */
struct net_guard {
    int64_t accepted_ms;       /* monotonic */
    int64_t partial_since_ms;  /* first sweep that saw a request begin; 0: none */
    uint64_t mark;             /* bytes read when the handshake or the last
                                * request ended */
    bool handshake_done;
};

struct net_worker {
    struct net_server *srv;
    unsigned index;
    pthread_t thread;
    bool started;        /* thread created: joined by net_stop_workers */
    bool init_done;      /* worker_init returned (guarded by srv->mu) */
    bool init_ok;
    struct event_base *base;
    struct event *stop_ev;      /* activated from the main thread */
    struct event *relisten_ev;  /* re-enables listeners after accept errors */
    struct evconnlistener *kmip_lev;
    struct evhttp *http;        /* owns its listener */
    struct evconnlistener *https_lev; /* borrowed from http */
    void *wstate;
    struct net_kconn *conns;    /* live KMIP connections (for shutdown) */
    struct net_hconn *hconns;   /* live HTTPS connections (for the sweep) */
    struct event *sweep_ev;     /* deadlines of this worker's connections */
};

struct net_server {
    net_config cfg;             /* strings point into `strings` */
    char *strings;
    net_handlers h;
    SSL_CTX *kmip_ctx;
    SSL_CTX *https_ctx;
    unsigned nworkers;
    struct net_worker *workers;
    unsigned kmip_port;
    unsigned https_port;
    atomic_uint kmip_conns;     /* live KMIP connections, all workers */
    atomic_uint https_conns;    /* live HTTPS connections, all workers */
    atomic_llong kmip_limit_log_at;  /* rate limits of "connection limit" lines */
    atomic_llong https_limit_log_at;
    atomic_llong accept_log_at; /* rate limit of accept error lines */
    atomic_llong kmip_addr_log_at;   /* rate limits of "per-address limit" lines */
    atomic_llong https_addr_log_at;
    /* live connections per source address (net_guard.c) */
    struct net_addr_shard addr_shards[NET_ADDR_SHARDS];
    uint64_t addr_seed;
    bool addrs_ready;
    /* main thread: signals and the stop pipe */
    struct event_base *main_base;
    struct event *sig_int;
    struct event *sig_term;
    struct event *pipe_ev;
    int stop_pipe[2];
    bool workers_stopped;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool sync_init;             /* mu and cv initialised */
};

/* ---- net_tls.c ---- */
cf_status net_tls_ctx_new(const net_tls_config *tls, bool https, SSL_CTX **out);
/* Fills subject, issuer, fingerprint and has_cert from a finished handshake.
 * No certificate (HTTPS only) is CF_OK with has_cert 0; a certificate whose
 * names do not fit in net_peer is CF_ERR_LIMIT (never truncate an identity). */
cf_status net_tls_fill_peer(SSL *ssl, net_peer *peer);
/* Appends the reason of each OpenSSL error code to buf ("; "-separated). */
void net_tls_err_text(unsigned long err, char *buf, size_t len);
/* Drains this thread's OpenSSL error queue into the log at `level`. */
void net_tls_log_errors(cf_log_level level, const char *what);
void net_format_addr(const struct sockaddr *sa, char *out, size_t out_len);
/* True at most once per second per `last` (for flood-prone log lines). */
bool net_ratelimit(atomic_llong *last);
/* ex_data index of the per-connection HTTPS state (see net_https.c). */
int net_tls_https_index(void);

/* ---- net_guard.c ---- */
int64_t net_now_ms(void);
cf_status net_addrs_init(struct net_server *s);
void net_addrs_free(struct net_server *s);
/* The per-address key of sa; false for an address family without one. */
bool net_addr_of(const struct sockaddr *sa, struct net_addr *out);
/* Count one more connection of a source (https: the HTTPS count, else
 * KMIP); false, counting nothing, when it already has
 * max_connections_per_address. */
bool net_addr_acquire(struct net_server *s, const struct net_addr *a, bool https);
void net_addr_release(struct net_server *s, const struct net_addr *a, bool https);
void net_guard_init(struct net_guard *g);
/* The handshake, or a request, ended: bytes read so far are accounted. */
void net_guard_mark(struct net_guard *g, const SSL *ssl);
/* NULL while the connection is within its deadlines, else why it is not. */
const char *net_guard_check(struct net_guard *g, const SSL *ssl, const struct net_server *s, int64_t now_ms);
/* How often each worker sweeps its connections. */
unsigned net_sweep_period_ms(const struct net_server *s);

/* ---- net_kmip.c ---- */
void net_kmip_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                        int socklen, void *arg);
/* Frees every connection of the worker (shutdown, worker thread only). */
void net_kmip_close_all(struct net_worker *w);
/* Drops the worker's KMIP connections past a deadline (worker thread). */
void net_kmip_sweep(struct net_worker *w, int64_t now_ms);

/* ---- net_https.c ---- */
/* Creates the worker's evhttp on an already bound listener (takes it). */
cf_status net_https_attach(struct net_worker *w, struct evconnlistener *lev);
/* OpenSSL ex_data free callback of the HTTPS state: decrements the count. */
void net_https_state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                          void *argp);
/* Shuts down the worker's HTTPS connections past a deadline (worker
 * thread): evhttp then sees the end of the connection and frees it. */
void net_https_sweep(struct net_worker *w, int64_t now_ms);
/* SSL_CTX callbacks installed on the HTTPS context by net_tls.c. */
int net_https_client_hello_cb(SSL *ssl, int *alert, void *arg);
void net_https_info_cb(const SSL *ssl, int where, int ret);
/* False when a header value holds a control character other than HTAB
 * (RFC 9110 section 5.5): the request is refused before routing. Exposed
 * for the HTTP fuzz target (tests/fuzz/fuzz_http.c). */
struct evhttp_request;
bool net_https_headers_clean(struct evhttp_request *req);

/* ---- net_server.c ---- */
/* Listener error callback shared by KMIP and HTTPS listeners. */
void net_listener_error_cb(struct evconnlistener *lev, void *arg);

#endif
