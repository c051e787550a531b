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
 * type byte is not 0x01 (Structure) or whose declared length exceeds
 * max_message is refused before its body is buffered: the responses already
 * queued are flushed and the connection is closed (an Invalid Message
 * answer is impossible to frame: the end of the bad message is unknown).
 * Messages pipelined on one connection are handled in order.
 *
 * Hostile peers (limits in util/limits.h, reasons there): connections are
 * counted in total and per source address (IPv4 address or IPv6 /64), per
 * protocol; the TLS handshake must finish within handshake_timeout of the
 * accept and every request (KMIP message, HTTP request) within
 * request_timeout of its first byte, whatever the pace of its bytes (a
 * sweep per worker drops slow connections); a KMIP peer whose certificate
 * maps to no identity may send messages of CF_LIMIT_KMIP_MESSAGE_PREAUTH
 * bytes at most.
 *
 * TLS 1.2 and 1.3 only. KMIP: client certificate required and verified
 * against tls.ca_file (and tls.crl_file's revocation lists). HTTPS: client
 * certificate requested, optional, verified when given. Session resumption with client authentication works
 * across workers (session id contexts "coffre-kmip"/"coffre-https", one
 * server session cache of 20480 entries and ticket keys per context,
 * OpenSSL's default session lifetime). Clients that close without
 * close_notify keep their session (SSL_OP_IGNORE_UNEXPECTED_EOF: both
 * protocols frame their own messages). A failed handshake is logged once
 * (info) with the peer address and OpenSSL's reason and affects nobody else.
 *
 * Secrets: requests (Register carries key material) are cleansed in the
 * input buffer once handled, decrypted records in OpenSSL's buffer too
 * (SSL_OP_CLEANSE_PLAINTEXT); a response cf_buf is handed to libevent by
 * reference and cleansed and freed once written, never copied.
 *
 * Process-wide effects of net_server_start: SIGPIPE is ignored,
 * evthread_use_pthreads() is called, SIGINT/SIGTERM are caught (libevent
 * signal events on a private event_base: run one server per process), and
 * RLIMIT_NOFILE is raised towards what max_connections needs when the hard
 * limit allows.
 */
#ifndef CF_NET_H
#define CF_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/mem.h"
#include "util/status.h"

struct evhttp_request;

/* Who is on the other end, filled once per connection after the handshake
 * (on a resumed session, from the certificate stored in the session).
 * Names are never truncated: a certificate whose subject or issuer does not
 * fit is refused. Without a certificate (HTTPS only) subject, issuer and
 * cert_sha256 are empty/zero. Valid only during the callback it is passed
 * to: copy what must outlive it. */
typedef struct net_peer {
    char addr[64];            /* "ip:port", IPv6 as "[ip]:port" (v4-mapped shown as IPv4) */
    char subject[512];        /* client certificate subject, RFC 2253 (X509_NAME_print_ex) */
    char issuer[512];         /* client certificate issuer, same form */
    uint8_t cert_sha256[32];  /* SHA-256 of the client certificate's DER (pinning) */
    int has_cert;             /* 1 when a verified client certificate was presented;
                               * always 1 for KMIP */
    uint8_t issuer_sha256[32];/* SHA-256 of the trust anchor that issued it (itself
                               * when a self-signed certificate is pinned as an
                               * anchor), for CA rules (core_auth_certificate) */
    int has_issuer;           /* 1 when issuer_sha256 is set: the anchor was found
                               * among the trusted certificates and its signature
                               * on the client certificate verified */
} net_peer;

/* A KMIP connection, as the kmip handler sees it (net_kmip_hold). */
typedef struct net_kconn net_kconn;

typedef struct net_handlers {
    void *ctx;
    /* Called on each worker thread before it serves anything; its result is
     * passed to every other callback on that thread. NULL result = abort
     * start (net_server_start then fails with CF_ERR_INTERNAL after the
     * workers that did start were finalised). worker_init NULL: wstate is
     * NULL. worker_fini (may be NULL) runs on the same worker thread after
     * its last callback, when the server stops. */
    void *(*worker_init)(void *ctx, unsigned worker_index);
    void (*worker_fini)(void *wstate);
    /* Optional. Runs on the worker thread once its loop stopped, before its
     * connections are freed: answers held (net_kmip_hold, evhttp requests
     * answered later) must be released here. */
    void (*worker_drain)(void *wstate);
    /* Required. One complete KMIP message (8-byte header included, type
     * Structure, length within the limit); msg is valid during the call only
     * (it is cleansed afterwards). Append exactly one response message to
     * out, an empty cf_buf (max CF_LIMIT_RESPONSE). Leaving out empty closes
     * the connection once earlier responses are sent; out.failed (too large,
     * no memory) closes it too. The bytes of out are taken over by the
     * network layer: do not keep pointers into it. */
    void (*kmip)(void *wstate, const net_peer *peer, const uint8_t *msg, size_t len, cf_buf *out,
                 net_kconn *conn);
    /* Optional. Does the KMIP peer's certificate map to an identity? Asked
     * when a frame header declares a message over
     * CF_LIMIT_KMIP_MESSAGE_PREAUTH, before its body is read: false closes
     * the connection; true is remembered for the connection. NULL: every
     * verified peer counts as known (no pre-authentication limit). */
    bool (*kmip_known)(void *wstate, const net_peer *peer);
    /* Every HTTPS request, including GET /health (the REST layer routes
     * it); the handler must answer (evhttp_send_reply...). Requests are
     * limited to GET POST PUT PATCH DELETE, 16 KiB of headers and 1 MiB of
     * body (evhttp answers anything else itself). NULL: built-in routes only:
     * GET /health -> 200 {"status":"ok"}, anything else -> 404
     * {"error":{"code":"not_found","message":...}}, both application/json. */
    void (*https)(void *wstate, const net_peer *peer, struct evhttp_request *req);
} net_handlers;

typedef struct net_tls_config {
    const char *ca_file;       /* CA(s) that client certificates must chain to */
    const char *cert_file;     /* server certificate (PEM, chain allowed) */
    const char *key_file;      /* server private key (PEM) */
    const char *ciphers;       /* TLS 1.2 cipher list, NULL = built-in default */
    const char *ciphersuites;  /* TLS 1.3 suites, NULL = OpenSSL default */
    const char *crl_file;      /* PEM certificate revocation lists for client
                                * certificates, NULL = none. When set, a client
                                * certificate listed in its issuer's CRL is refused
                                * (full handshakes and resumed sessions), an
                                * expired CRL refuses its issuer's clients (fail
                                * closed), an issuer without a CRL is not checked. */
} net_tls_config;

typedef struct net_config {
    const char *kmip_listen;   /* "host:port" (IPv6 as "[::1]:5696"; ":5696" = all
                                * addresses; port 0 = any free port, see _port()) */
    const char *https_listen;  /* "host:port", NULL = no HTTPS listener */
    unsigned workers;          /* 0 = one per online CPU (at most 256) */
    size_t max_message;        /* 0 = CF_LIMIT_KMIP_MESSAGE; 16..CF_LIMIT_KMIP_MESSAGE */
    unsigned max_connections;  /* 0 = CF_LIMIT_CONNECTIONS. Total over all workers,
                                * counted separately for KMIP and for HTTPS so that
                                * one cannot starve the other. Over it a KMIP
                                * connection is accepted and closed at once, an
                                * HTTPS one refused in the TLS client hello (both
                                * logged at most once a second). */
    unsigned max_connections_per_address; /* 0 = CF_LIMIT_CONNECTIONS_PER_ADDRESS;
                                * per protocol, per source (IPv4 address, IPv6 /64).
                                * Over it KMIP closes at accept, HTTPS refuses in
                                * the client hello (logged at most once a second). */
    unsigned handshake_timeout;/* seconds, 0 = CF_LIMIT_HANDSHAKE_TIMEOUT: from
                                * accept to the end of the TLS handshake */
    unsigned request_timeout;  /* seconds, 0 = CF_LIMIT_REQUEST_TIMEOUT: from the
                                * first byte of a request to its last */
    unsigned idle_timeout;     /* seconds, 0 = CF_LIMIT_IDLE_TIMEOUT: no request read
                                * (or no response progress) for that long closes */
    net_tls_config tls;
} net_config;

typedef struct net_server net_server;

/* Creates the TLS contexts, binds every listening socket (so an address in
 * use is reported here, synchronously: each address is first probed with a
 * plain bind, so another process listening there, even with SO_REUSEPORT,
 * is detected) and starts the worker threads, returning once every
 * worker_init has returned. The config strings are copied; h is copied.
 * Errors (each logged): CF_ERR_INVALID_FIELD bad config (address, limits,
 * cipher list), CF_ERR_CRYPTO unusable certificate/key/CA file, CF_ERR_IO
 * cannot bind (address in use...), CF_ERR_NOMEM, CF_ERR_INTERNAL thread
 * creation or worker_init failure. On error *out is NULL and nothing is
 * left running. */
cf_status net_server_start(const net_config *cfg, const net_handlers *h, net_server **out);

/* The calling worker thread's event base (in worker_init and callbacks):
 * for events that wake it from other threads. NULL off a worker. */
struct event_base *net_worker_base(void);

/* In the kmip handler: keep the response just built (in out) unsent, and
 * read nothing more from the connection, until net_kmip_release(conn, ok)
 * is called on the same worker thread (exactly once): ok sends it and
 * carries on; !ok drops it and closes the connection (fail closed). The
 * connection may have been closed meanwhile: release then only frees. */
void net_kmip_hold(net_kconn *conn);
void net_kmip_release(net_kconn *conn, bool ok);
/* Blocks until SIGINT/SIGTERM or net_server_stop() (also one issued before
 * the call), then stops every worker (open connections are closed without
 * waiting for unsent responses) and joins them; worker_fini has run on
 * every worker thread when it returns.
 * Call from one thread; calling it again returns at once. */
cf_status net_server_wait(net_server *s);
/* Async-signal-safe and thread-safe (writes one byte to a pipe); s must not
 * have been freed. */
void net_server_stop(net_server *s);
/* Stops the workers if net_server_wait did not, then frees everything.
 * NULL is a no-op. */
void net_server_free(net_server *s);
/* The port actually bound (useful with port 0 in tests); 0 if none. */
unsigned net_server_kmip_port(const net_server *s);
unsigned net_server_https_port(const net_server *s);

#endif
