/*
 * net_fixture.h - what the src/net tests (net_kmip_test.c, net_server_test.c)
 * share: a real server on 127.0.0.1:0 with an echo KMIP handler running on
 * its worker threads, and OpenSSL clients over blocking sockets.
 *
 * Certificates (a CA, a server, a client, a client of another CA, an
 * expired client) are made with the openssl CLI in a mkdtemp directory by
 * net_group_setup, so the tests do not depend on src/crypto. The server log
 * goes to a file in that directory (NET_TEST_LOG=1 prints it at the end);
 * log_count/log_wait read it.
 *
 * The handler counts what it sees in the g_* counters, reset before each
 * test by net_test_setup; net_test_teardown stops a server that a failed
 * assertion left running.
 */
#ifndef CF_TEST_NET_FIXTURE_H
#define CF_TEST_NET_FIXTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "net/net.h"

/* ---- handler side (runs on the worker threads) ---- */

extern char g_dir[256];  /* certificates and log */
extern char g_log[300];  /* the server log */
extern int g_rcvbuf;     /* client SO_RCVBUF when non-zero */
extern atomic_int g_inits, g_finis, g_calls, g_bad;
extern int g_fail_index; /* worker_init fails for this index (-1: none) */
extern pthread_mutex_t g_peer_mu;
extern net_peer g_last_peer; /* the peer of the last KMIP call, under g_peer_mu */

/* ---- a server running with a waiter thread ---- */

struct fixture {
    net_server *srv;
    pthread_t waiter;
    cf_status wait_rc;
    net_config cfg;
    net_handlers h;
    char ca[300], cert[300], key[300];
};

/* Default configuration: both listeners on 127.0.0.1:0, 2 workers, the
 * echo KMIP handler; tests adjust f->cfg / f->h before fx_start. */
void fx_config(struct fixture *f);
void fx_start(struct fixture *f);
/* Stops, joins the waiter, checks the handler saw nothing wrong and every
 * worker_init had its worker_fini. */
void fx_stop(struct fixture *f);
/* After a test that stops the server itself (signal, ...). */
void fx_forget(void);

/* cmocka: certificates and log once per binary, counters per test. */
int net_group_setup(void **state);
int net_group_teardown(void **state);
int net_test_setup(void **state);
int net_test_teardown(void **state);

/* ---- client side ---- */

double now_s(void);
/* A blocking TCP connection to the loopback (5 s timeouts); -1 on failure. */
int tcp_connect_to(int family, unsigned port);
/* TLS 1.2+ client trusting the test CA; name: "client", "other",
 * "expired" or NULL (no certificate); max_version 0: no maximum. */
SSL_CTX *client_ctx(const char *name, int max_version, long options);
SSL *tls_open_fd(SSL_CTX *ctx, int fd, SSL_SESSION *sess);
SSL *tls_open(SSL_CTX *ctx, unsigned port, SSL_SESSION *sess);
/* clean: close_notify; otherwise the TCP connection just closes. */
void tls_close(SSL *ssl, bool clean);

/* A TTLV structure header (tag 0x420078) and body bytes fill, fill+1, ... */
size_t make_msg(uint8_t *buf, size_t body, uint8_t fill);
bool read_full(SSL *ssl, uint8_t *buf, size_t n);
/* True when the server closed the connection (no more bytes). */
bool is_closed(SSL *ssl);
/* One echoed message of body bytes; false if anything differs. */
bool exchange(SSL *ssl, size_t body, uint8_t fill);
/* A full request/response on a new connection; false if anything fails. */
bool one_shot(SSL_CTX *ctx, unsigned port);
/* The handshake or the first exchange fails (TLS 1.3 clients finish their
 * side before the server has checked their certificate). */
bool connection_refused(SSL_CTX *ctx, unsigned port);
/* One HTTP request with Connection: close; the whole answer in out. */
bool http_get(SSL_CTX *ctx, unsigned port, const char *method, const char *path, char *out,
              size_t out_len);

/* Lines of the server log holding needle. */
int log_count(const char *needle);
/* Waits up to 2 s for the server to write n lines holding needle. */
bool log_wait(const char *needle, int n);

/* ---- the usual KMIP test: a server and one connection to it ---- */

struct conn {
    struct fixture f; /* fx_config(&c.f), adjust, then conn_open */
    SSL_CTX *ctx;     /* the "client" certificate */
    SSL *ssl;         /* connected to the KMIP port */
};

void conn_open(struct conn *c);
/* Closes the connection (clean or not), frees the context, stops the server. */
void conn_close(struct conn *c, bool clean);

#endif
