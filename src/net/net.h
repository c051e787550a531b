/*
 * net.h - the network front door: KMIP over mutual TLS (binary TTLV framing)
 * and HTTPS (evhttp), both on libevent 2.1 with bufferevent_openssl.
 *
 * Threading: `workers` threads each run their own event_base with their own
 * listening sockets bound with SO_REUSEPORT, so the kernel spreads
 * connections across cores and no lock sits on the accept path. All
 * handler callbacks of one worker run on that worker's thread, with the
 * per-worker state returned by worker_init (e.g. its store connection and
 * request arena). The main thread only waits for signals.
 *
 * KMIP framing: the 8-byte TTLV header is read first; a message whose
 * declared length exceeds max_message is refused before its body is
 * buffered (the connection is closed after an Invalid Message answer is
 * impossible to frame). TLS 1.2 and 1.3 only, client certificate required
 * and verified against tls.ca_file, session resumption with client
 * authentication (session id context set, session cache and tickets).
 */
#ifndef CF_NET_H
#define CF_NET_H

#include <stddef.h>
#include <stdint.h>

#include "util/mem.h"
#include "util/status.h"

struct evhttp_request;

typedef struct net_peer {
    char addr[64];            /* "ip:port" of the client */
    char subject[512];        /* client certificate subject, RFC 2253 one-line form */
    char issuer[512];         /* client certificate issuer, same form */
    uint8_t cert_sha256[32];  /* SHA-256 of the client certificate's DER */
    int has_cert;             /* 1 when a verified client certificate was presented */
} net_peer;

typedef struct net_handlers {
    void *ctx;
    /* Called on each worker thread before it serves anything; its result is
     * passed to every other callback on that thread. NULL result = abort start. */
    void *(*worker_init)(void *ctx, unsigned worker_index);
    void (*worker_fini)(void *wstate);
    /* One complete KMIP message (8-byte header included, length within the
     * limit). Append exactly one response message to out; leaving out empty
     * closes the connection. */
    void (*kmip)(void *wstate, const net_peer *peer, const uint8_t *msg, size_t len, cf_buf *out);
    /* Every HTTPS request. NULL: only GET /health is served (200, JSON). */
    void (*https)(void *wstate, const net_peer *peer, struct evhttp_request *req);
} net_handlers;

typedef struct net_tls_config {
    const char *ca_file;       /* CA(s) that client certificates must chain to */
    const char *cert_file;     /* server certificate (PEM, chain allowed) */
    const char *key_file;      /* server private key (PEM) */
    const char *ciphers;       /* TLS 1.2 cipher list, NULL = built-in default */
    const char *ciphersuites;  /* TLS 1.3 suites, NULL = OpenSSL default */
} net_tls_config;

typedef struct net_config {
    const char *kmip_listen;   /* "host:port" (IPv6 as "[::1]:5696") */
    const char *https_listen;  /* "host:port", NULL = no HTTPS listener */
    unsigned workers;          /* 0 = one per online CPU */
    size_t max_message;        /* 0 = CF_LIMIT_KMIP_MESSAGE */
    unsigned max_connections;  /* 0 = CF_LIMIT_CONNECTIONS (total, all workers) */
    unsigned handshake_timeout;/* seconds, 0 = CF_LIMIT_HANDSHAKE_TIMEOUT */
    unsigned idle_timeout;     /* seconds, 0 = CF_LIMIT_IDLE_TIMEOUT */
    net_tls_config tls;
} net_config;

typedef struct net_server net_server;

/* Creates the TLS contexts, binds every listening socket (so an address in
 * use is reported here, synchronously) and starts the worker threads. The
 * config strings are copied. */
cf_status net_server_start(const net_config *cfg, const net_handlers *h, net_server **out);
/* Blocks until SIGINT/SIGTERM or net_server_stop(), then joins the workers. */
cf_status net_server_wait(net_server *s);
/* Async-signal-safe and thread-safe. */
void net_server_stop(net_server *s);
void net_server_free(net_server *s);
/* The port actually bound (useful with port 0 in tests); 0 if none. */
unsigned net_server_kmip_port(const net_server *s);
unsigned net_server_https_port(const net_server *s);

#endif
