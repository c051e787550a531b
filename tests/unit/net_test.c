/*
 * Unit tests for src/net: a real server on 127.0.0.1:0 with an echo KMIP
 * handler, driven by OpenSSL clients written here over blocking sockets.
 *
 * Certificates (a CA, a server, a client, a client of another CA, an
 * expired client) are made with the openssl CLI in a mkdtemp directory so
 * the test does not depend on src/crypto. The server log goes to a file in
 * that directory (set NET_TEST_LOG=1 to print it at the end); some tests
 * check the lines it holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/net.h"
#include "util/log.h"

static char g_dir[256];
static char g_log[300];
static int g_rcvbuf; /* client SO_RCVBUF when non-zero */

/* ---- handler side (runs on the worker threads) ---- */

#define WS_MAGIC 0xC0FFEEu

struct wstate {
    unsigned magic;
    unsigned index;
};

static atomic_int g_inits, g_finis, g_calls, g_bad;
static int g_fail_index = -1;
static pthread_mutex_t g_peer_mu = PTHREAD_MUTEX_INITIALIZER;
static net_peer g_last_peer;

static void *t_init(void *ctx, unsigned index)
{
    struct wstate *ws;
    if (ctx != (void *)g_dir)
        atomic_fetch_add(&g_bad, 1);
    if ((int)index == g_fail_index)
        return NULL;
    ws = malloc(sizeof *ws);
    ws->magic = WS_MAGIC;
    ws->index = index;
    atomic_fetch_add(&g_inits, 1);
    return ws;
}

static void t_fini(void *p)
{
    struct wstate *ws = p;
    if (ws->magic != WS_MAGIC)
        atomic_fetch_add(&g_bad, 1);
    atomic_fetch_add(&g_finis, 1);
    free(ws);
}

/* Echo; an empty structure (8-byte message) gets no answer (= close). */
static void t_kmip(void *p, const net_peer *peer, const uint8_t *msg, size_t len, cf_buf *out)
{
    const struct wstate *ws = p;

    atomic_fetch_add(&g_calls, 1);
    if (ws == NULL || ws->magic != WS_MAGIC || msg[3] != 0x01 || len != 8u + cf_be32(msg + 4) ||
        !peer->has_cert)
        atomic_fetch_add(&g_bad, 1);
    pthread_mutex_lock(&g_peer_mu);
    g_last_peer = *peer;
    pthread_mutex_unlock(&g_peer_mu);
    if (len > 8)
        cf_buf_append(out, msg, len);
}

static void t_https(void *p, const net_peer *peer, struct evhttp_request *req)
{
    struct evbuffer *b = evbuffer_new();
    (void)p;
    evbuffer_add_printf(b, "subject=%s;has_cert=%d;uri=%s;addr=%s", peer->subject, peer->has_cert,
                        evhttp_request_get_uri(req), peer->addr);
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* ---- fixture: a server running with a waiter thread ---- */

struct fixture {
    net_server *srv;
    pthread_t waiter;
    cf_status wait_rc;
    net_config cfg;
    net_handlers h;
    char ca[300], cert[300], key[300];
};

static void *waiter_main(void *arg)
{
    struct fixture *f = arg;
    f->wait_rc = net_server_wait(f->srv);
    return NULL;
}

static void fx_config(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->ca, sizeof f->ca, "%s/ca.pem", g_dir);
    snprintf(f->cert, sizeof f->cert, "%s/server.pem", g_dir);
    snprintf(f->key, sizeof f->key, "%s/server.key", g_dir);
    f->cfg.kmip_listen = "127.0.0.1:0";
    f->cfg.https_listen = "127.0.0.1:0";
    f->cfg.workers = 2;
    f->cfg.tls.ca_file = f->ca;
    f->cfg.tls.cert_file = f->cert;
    f->cfg.tls.key_file = f->key;
    f->h.ctx = g_dir;
    f->h.worker_init = t_init;
    f->h.worker_fini = t_fini;
    f->h.kmip = t_kmip;
}

static struct fixture *g_running; /* stopped by per_test_teardown after a failure */

static void fx_start(struct fixture *f)
{
    assert_int_equal(net_server_start(&f->cfg, &f->h, &f->srv), CF_OK);
    g_running = f;
    assert_non_null(f->srv);
    assert_true(net_server_kmip_port(f->srv) > 0);
    assert_int_equal(pthread_create(&f->waiter, NULL, waiter_main, f), 0);
}

static void fx_stop(struct fixture *f)
{
    net_server_stop(f->srv);
    assert_int_equal(pthread_join(f->waiter, NULL), 0);
    assert_int_equal(f->wait_rc, CF_OK);
    net_server_free(f->srv);
    f->srv = NULL;
    g_running = NULL;
    assert_int_equal(atomic_load(&g_bad), 0);
    assert_int_equal(atomic_load(&g_inits), atomic_load(&g_finis));
}

static int per_test_setup(void **state)
{
    (void)state;
    atomic_store(&g_inits, 0);
    atomic_store(&g_finis, 0);
    atomic_store(&g_calls, 0);
    atomic_store(&g_bad, 0);
    g_fail_index = -1;
    g_rcvbuf = 0;
    return 0;
}

static int per_test_teardown(void **state)
{
    struct fixture *f = g_running;
    (void)state;
    if (f && f->srv) { /* a failed assertion left it running */
        net_server_stop(f->srv);
        pthread_join(f->waiter, NULL);
        net_server_free(f->srv);
    }
    g_running = NULL;
    return 0;
}

/* ---- client side ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int tcp_connect_to(int family, unsigned port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
    int fd = socket(family, SOCK_STREAM, 0);

    memset(&ss, 0, sizeof ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        in6->sin6_addr = in6addr_loopback;
        len = sizeof *in6;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *in;
    }
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (g_rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &g_rcvbuf, sizeof g_rcvbuf);
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static SSL_CTX *client_ctx(const char *name, int max_version, long options)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    char path[300];

    assert_non_null(ctx);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (max_version)
        SSL_CTX_set_max_proto_version(ctx, max_version);
    SSL_CTX_set_options(ctx, (uint64_t)options);
    snprintf(path, sizeof path, "%s/ca.pem", g_dir);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, path, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (name) {
        snprintf(path, sizeof path, "%s/%s.pem", g_dir, name);
        assert_int_equal(SSL_CTX_use_certificate_file(ctx, path, SSL_FILETYPE_PEM), 1);
        snprintf(path, sizeof path, "%s/%s.key", g_dir, name);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM), 1);
    }
    return ctx;
}

static SSL *tls_open_fd(SSL_CTX *ctx, int fd, SSL_SESSION *sess)
{
    SSL *ssl;

    if (fd < 0)
        return NULL;
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (sess)
        SSL_set_session(ssl, sess);
    if (SSL_connect(ssl) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    return ssl;
}

static SSL *tls_open(SSL_CTX *ctx, unsigned port, SSL_SESSION *sess)
{
    return tls_open_fd(ctx, tcp_connect_to(AF_INET, port), sess);
}

/* clean: close_notify. Otherwise the TCP connection just closes (the
 * session is marked shut down locally only so that OpenSSL keeps it
 * resumable on this side: SSL_free would otherwise poison it). */
static void tls_close(SSL *ssl, bool clean)
{
    int fd = SSL_get_fd(ssl);
    if (clean)
        SSL_shutdown(ssl);
    else
        SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);
    close(fd);
    ERR_clear_error();
}

static size_t make_msg(uint8_t *buf, size_t body, uint8_t fill)
{
    buf[0] = 0x42;
    buf[1] = 0x00;
    buf[2] = 0x78;
    buf[3] = 0x01;
    cf_put_be32(buf + 4, (uint32_t)body);
    for (size_t i = 0; i < body; i++)
        buf[8 + i] = (uint8_t)(fill + i);
    return 8 + body;
}

static bool read_full(SSL *ssl, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int r = SSL_read(ssl, buf + got, (int)(n - got));
        if (r <= 0) {
            ERR_clear_error();
            return false;
        }
        got += (size_t)r;
    }
    return true;
}

/* True when the server closed the connection (no more bytes). */
static bool is_closed(SSL *ssl)
{
    uint8_t b;
    int r = SSL_read(ssl, &b, 1);
    ERR_clear_error();
    return r <= 0;
}

static bool exchange(SSL *ssl, size_t body, uint8_t fill)
{
    uint8_t *req = malloc(8 + body), *resp = malloc(8 + body);
    size_t n = make_msg(req, body, fill);
    bool ok = SSL_write(ssl, req, (int)n) == (int)n && read_full(ssl, resp, n) && memcmp(req, resp, n) == 0;
    ERR_clear_error();
    free(req);
    free(resp);
    return ok;
}

/* A full request/response on a new connection; false if anything fails. */
static bool one_shot(SSL_CTX *ctx, unsigned port)
{
    SSL *ssl = tls_open(ctx, port, NULL);
    bool ok = ssl && exchange(ssl, 32, 7);
    if (ssl)
        tls_close(ssl, true);
    return ok;
}

static int log_count(const char *needle)
{
    FILE *fp = fopen(g_log, "r");
    char line[4096];
    int n = 0;
    if (fp == NULL)
        return 0;
    while (fgets(line, sizeof line, fp))
        if (strstr(line, needle))
            n++;
    fclose(fp);
    return n;
}

/* Waits up to 2 s for the server to write `n` lines holding `needle`. */
static bool log_wait(const char *needle, int n)
{
    for (int i = 0; i < 200; i++) {
        if (log_count(needle) >= n)
            return true;
        usleep(10000);
    }
    return false;
}

/* ---- KMIP framing ---- */

static void test_roundtrip_and_peer(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    SSL *ssl;
    uint8_t fp[32];
    unsigned fplen = 0;
    char path[300];
    FILE *pem;
    X509 *x;
    (void)state;

    fx_config(&f);
    fx_start(&f);
    assert_int_equal(atomic_load(&g_inits), 2);
    ssl = tls_open(ctx, net_server_kmip_port(f.srv), NULL);
    assert_non_null(ssl);
    assert_true(exchange(ssl, 64, 1));
    assert_true(exchange(ssl, 0x1000, 2));
    snprintf(path, sizeof path, "%s/client.pem", g_dir);
    pem = fopen(path, "r");
    x = PEM_read_X509(pem, NULL, NULL, NULL);
    fclose(pem);
    X509_digest(x, EVP_sha256(), fp, &fplen);
    X509_free(x);
    pthread_mutex_lock(&g_peer_mu);
    assert_true(g_last_peer.has_cert);
    assert_string_equal(g_last_peer.subject, "CN=kmip-client,O=Coffre Test");
    assert_string_equal(g_last_peer.issuer, "CN=Coffre Test CA");
    assert_memory_equal(g_last_peer.cert_sha256, fp, 32);
    assert_true(strncmp(g_last_peer.addr, "127.0.0.1:", 10) == 0);
    pthread_mutex_unlock(&g_peer_mu);
    tls_close(ssl, true);
    SSL_CTX_free(ctx);
    fx_stop(&f);
    assert_int_equal(atomic_load(&g_finis), 2);
}

static void test_pipelined(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    uint8_t req[8 + 40 + 8 + 200 + 8 + 8], resp[sizeof req];
    size_t n1, n2, n3;
    SSL *ssl;
    (void)state;

    fx_config(&f);
    fx_start(&f);
    ssl = tls_open(ctx, net_server_kmip_port(f.srv), NULL);
    assert_non_null(ssl);
    n1 = make_msg(req, 40, 1);
    n2 = make_msg(req + n1, 200, 2);
    n3 = make_msg(req + n1 + n2, 8, 3);
    assert_int_equal(SSL_write(ssl, req, (int)(n1 + n2 + n3)), (int)(n1 + n2 + n3));
    assert_true(read_full(ssl, resp, n1 + n2 + n3));
    assert_memory_equal(req, resp, n1 + n2 + n3);
    assert_int_equal(atomic_load(&g_calls), 3);
    tls_close(ssl, true);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

static void test_split_one_byte_writes(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    uint8_t req[8 + 48], resp[sizeof req];
    size_t n;
    SSL *ssl;
    (void)state;

    fx_config(&f);
    fx_start(&f);
    ssl = tls_open(ctx, net_server_kmip_port(f.srv), NULL);
    assert_non_null(ssl);
    n = make_msg(req, 48, 9);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(SSL_write(ssl, req + i, 1), 1);
    assert_true(read_full(ssl, resp, n));
    assert_memory_equal(req, resp, n);
    assert_int_equal(atomic_load(&g_calls), 1);
    tls_close(ssl, true);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

static void test_large_message(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    SSL *ssl;
    (void)state;

    fx_config(&f);
    fx_start(&f);
    ssl = tls_open(ctx, net_server_kmip_port(f.srv), NULL);
    assert_non_null(ssl);
    assert_true(exchange(ssl, 300 * 1024, 5)); /* spans many records and chains */
    assert_true(exchange(ssl, 16, 6));         /* the connection is still framed */
    tls_close(ssl, true);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

static void test_limit_boundary(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    uint8_t hdr[8];
    SSL *ssl;
    (void)state;

    fx_config(&f);
    f.cfg.max_message = 4096;
    fx_start(&f);
    ssl = tls_open(ctx, net_server_kmip_port(f.srv), NULL);
    assert_non_null(ssl);
    assert_true(exchange(ssl, 4096 - 8, 1)); /* exactly the limit */
    make_msg(hdr, 0, 0);
    cf_put_be32(hdr + 4, 4096 - 8 + 1);      /* one byte over */
    assert_int_equal(SSL_write(ssl, hdr, 8), 8);
    assert_true(is_closed(ssl));
    assert_int_equal(atomic_load(&g_calls), 1);
    assert_true(log_wait("declared a 4097-byte message, limit 4096", 1));
    tls_close(ssl, false);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

static void test_oversized_closed_before_body(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    uint8_t req[8 + 16], resp[sizeof req], hdr[8];
    size_t n;
    SSL *ssl;
    (void)state;

    fx_config(&f);
    fx_start(&f);
    ssl = tls_open(ctx, net_server_kmip_port(f.srv), NULL);
    assert_non_null(ssl);
    /* a good request, then a header declaring 4 GiB: the good one is
     * answered, then the connection closes without waiting for the body */
    n = make_msg(req, 16, 3);
    make_msg(hdr, 0, 0);
    cf_put_be32(hdr + 4, 0xFFFFFFF0u);
    assert_int_equal(SSL_write(ssl, req, (int)n), (int)n);
    assert_int_equal(SSL_write(ssl, hdr, 8), 8);
    assert_true(read_full(ssl, resp, n));
    assert_memory_equal(req, resp, n);
    assert_true(is_closed(ssl));
    assert_int_equal(atomic_load(&g_calls), 1);
    tls_close(ssl, false);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

static void test_not_a_structure(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    uint8_t req[8 + 8];
    SSL *ssl;
    (void)state;

    fx_config(&f);
    fx_start(&f);
    ssl = tls_open(ctx, net_server_kmip_port(f.srv), NULL);
    assert_non_null(ssl);
    make_msg(req, 8, 0);
    req[3] = 0x02; /* Integer */
    assert_int_equal(SSL_write(ssl, req, sizeof req), (int)sizeof req);
    assert_true(is_closed(ssl));
    assert_int_equal(atomic_load(&g_calls), 0);
    assert_true(log_wait("is not a TTLV structure (type 0x02)", 1));
    tls_close(ssl, false);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

static void test_empty_response_closes(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    uint8_t req[8];
    SSL *ssl;
    (void)state;

    fx_config(&f);
    fx_start(&f);
    ssl = tls_open(ctx, net_server_kmip_port(f.srv), NULL);
    assert_non_null(ssl);
    assert_true(exchange(ssl, 8, 1));
    make_msg(req, 0, 0);
    assert_int_equal(SSL_write(ssl, req, 8), 8);
    assert_true(is_closed(ssl));
    assert_int_equal(atomic_load(&g_calls), 2);
    tls_close(ssl, false);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

/* Reads what is available now; false on a real error. */
static bool read_available(SSL *ssl, uint8_t *in, size_t in_len, size_t *r)
{
    while (*r < in_len) {
        int k = SSL_read(ssl, in + *r, (int)(in_len - *r));
        if (k <= 0) {
            k = SSL_get_error(ssl, k);
            return k == SSL_ERROR_WANT_READ || k == SSL_ERROR_WANT_WRITE;
        }
        *r += (size_t)k;
    }
    return true;
}

/* Writes without reading as long as writing progresses (so the server's
 * unsent output passes its pause threshold); reads only when writing has
 * stalled for 200 ms. Non-blocking. */
static bool xfer_pipelined(SSL *ssl, const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len)
{
    int fd = SSL_get_fd(ssl);
    size_t w = 0, r = 0;
    double deadline = now_s() + 30;
    bool ok = true;

    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    while (ok && r < in_len && now_s() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (w < out_len) {
            size_t chunk = out_len - w < 16384 ? out_len - w : 16384;
            int k = SSL_write(ssl, out + w, (int)chunk);
            if (k > 0) {
                w += (size_t)k;
                continue;
            }
            k = SSL_get_error(ssl, k);
            if (k != SSL_ERROR_WANT_WRITE && k != SSL_ERROR_WANT_READ)
                return false;
            if (poll(&p, 1, 200) > 0)
                continue;
        }
        ok = read_available(ssl, in, in_len, &r);
        p.events = POLLIN;
        if (ok && r < in_len && w == out_len)
            poll(&p, 1, 100);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    ERR_clear_error();
    return ok && r == in_len;
}

static void test_backpressure(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    /* 10 MiB of pipelined requests: more than the kernel buffers (4 MiB
     * send buffer at most, a small receive buffer here) plus NET_OUT_HIGH */
    const size_t each = 64 * 1024, count = 160;
    uint8_t *req = malloc((8 + each) * count), *resp = malloc((8 + each) * count);
    size_t n = 0;
    SSL *ssl;
    (void)state;

    for (size_t i = 0; i < count; i++)
        n += make_msg(req + n, each, (uint8_t)i);
    fx_config(&f);
    fx_start(&f);
    g_rcvbuf = 16 * 1024;
    ssl = tls_open(ctx, net_server_kmip_port(f.srv), NULL);
    g_rcvbuf = 0;
    assert_non_null(ssl);
    assert_true(xfer_pipelined(ssl, req, n, resp, n));
    assert_memory_equal(req, resp, n);
    assert_int_equal(atomic_load(&g_calls), (int)count);
    assert_true(exchange(ssl, 32, 1));
    assert_true(log_count("pausing reads") >= 1);
    tls_close(ssl, true);
    SSL_CTX_free(ctx);
    fx_stop(&f);
    free(req);
    free(resp);
}

/* ---- TLS failures ---- */

/* The handshake or the first exchange fails (TLS 1.3 clients finish their
 * side before the server has checked their certificate). */
static bool connection_refused(SSL_CTX *ctx, unsigned port)
{
    SSL *ssl = tls_open(ctx, port, NULL);
    bool refused = ssl == NULL || !exchange(ssl, 16, 1);
    if (ssl)
        tls_close(ssl, false);
    return refused;
}

static void check_refused(const char *client, int version, const char *log_reason)
{
    struct fixture f;
    SSL_CTX *bad = client_ctx(client, version, 0), *good = client_ctx("client", 0, 0);
    int before = log_count("TLS handshake failed from 127.0.0.1:");
    int reasons = log_count(log_reason);

    fx_config(&f);
    fx_start(&f);
    assert_true(connection_refused(bad, net_server_kmip_port(f.srv)));
    assert_true(log_wait(log_reason, reasons + 1));
    /* logged once, and the other clients are unaffected */
    for (int i = 0; i < 4; i++)
        assert_true(one_shot(good, net_server_kmip_port(f.srv)));
    assert_int_equal(log_count("TLS handshake failed from 127.0.0.1:"), before + 1);
    assert_int_equal(atomic_load(&g_calls), 4);
    SSL_CTX_free(bad);
    SSL_CTX_free(good);
    fx_stop(&f);
}

static void test_no_client_cert_tls12(void **state)
{
    (void)state;
    check_refused(NULL, TLS1_2_VERSION, "peer did not return a certificate");
}

static void test_no_client_cert_tls13(void **state)
{
    (void)state;
    check_refused(NULL, TLS1_3_VERSION, "peer did not return a certificate");
}

static void test_other_ca(void **state)
{
    (void)state;
    check_refused("other", 0, "unable to get local issuer certificate");
}

static void test_expired_cert(void **state)
{
    (void)state;
    check_refused("expired", 0, "certificate has expired");
}

static void test_garbage_bytes(void **state)
{
    struct fixture f;
    SSL_CTX *good = client_ctx("client", 0, 0);
    const char junk[] = "GET / HTTP/1.0\r\n\r\n";
    char b;
    int fd;
    (void)state;

    fx_config(&f);
    fx_start(&f);
    fd = tcp_connect_to(AF_INET, net_server_kmip_port(f.srv));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, junk, sizeof junk - 1), (ssize_t)(sizeof junk - 1));
    assert_true(read(fd, &b, 1) <= 0 || read(fd, &b, 1) <= 0); /* an alert at most, then EOF */
    close(fd);
    assert_true(log_wait("TLS handshake failed from 127.0.0.1:", 1));
    for (int i = 0; i < 4; i++)
        assert_true(one_shot(good, net_server_kmip_port(f.srv)));
    SSL_CTX_free(good);
    fx_stop(&f);
}

/* ---- resumption ---- */

static void check_resume(int version, long options, bool dirty_first)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", version, options);
    SSL_SESSION *sess;
    SSL *ssl;
    unsigned port;

    fx_config(&f);
    fx_start(&f);
    port = net_server_kmip_port(f.srv);
    ssl = tls_open(ctx, port, NULL);
    assert_non_null(ssl);
    assert_int_equal(SSL_session_reused(ssl), 0);
    assert_true(exchange(ssl, 24, 1)); /* TLS 1.3: tickets arrive with the data */
    sess = SSL_get1_session(ssl);
    assert_non_null(sess);
    tls_close(ssl, !dirty_first);
    usleep(100000); /* let the server see the close before resuming */
    for (int i = 0; i < 6; i++) { /* both workers see resumptions */
        ssl = tls_open(ctx, port, sess);
        assert_non_null(ssl);
        assert_int_equal(SSL_session_reused(ssl), 1);
        assert_true(exchange(ssl, 24, 2));
        pthread_mutex_lock(&g_peer_mu);
        assert_string_equal(g_last_peer.subject, "CN=kmip-client,O=Coffre Test");
        assert_true(g_last_peer.has_cert);
        pthread_mutex_unlock(&g_peer_mu);
        tls_close(ssl, i % 2 == 0);
    }
    SSL_SESSION_free(sess);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

static void test_resume_tls12_ticket(void **state)
{
    (void)state;
    check_resume(TLS1_2_VERSION, 0, false);
}

static void test_resume_tls12_session_cache(void **state)
{
    (void)state;
    check_resume(TLS1_2_VERSION, SSL_OP_NO_TICKET, false);
    check_resume(TLS1_2_VERSION, SSL_OP_NO_TICKET, true);
}

static void test_resume_tls13(void **state)
{
    (void)state;
    check_resume(TLS1_3_VERSION, 0, false);
}

/* ---- HTTPS ---- */

/* Sends one request with Connection: close and reads the whole answer. */
static bool http_get(SSL_CTX *ctx, unsigned port, const char *method, const char *path, char *out, size_t out_len)
{
    SSL *ssl = tls_open(ctx, port, NULL);
    char req[512];
    size_t got = 0;
    int n;

    if (ssl == NULL)
        return false;
    n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", method, path);
    if (SSL_write(ssl, req, n) != n) {
        tls_close(ssl, false);
        return false;
    }
    while (got < out_len - 1 && (n = SSL_read(ssl, out + got, (int)(out_len - 1 - got))) > 0)
        got += (size_t)n;
    out[got] = '\0';
    tls_close(ssl, false);
    return got > 0;
}

static void test_https_builtin(void **state)
{
    struct fixture f;
    SSL_CTX *with = client_ctx("client", 0, 0), *without = client_ctx(NULL, 0, 0);
    char resp[4096];
    unsigned port;
    (void)state;

    fx_config(&f);
    fx_start(&f);
    port = net_server_https_port(f.srv);
    assert_true(port > 0 && port != net_server_kmip_port(f.srv));
    assert_true(http_get(with, port, "GET", "/health", resp, sizeof resp));
    assert_true(strncmp(resp, "HTTP/1.1 200", 12) == 0);
    assert_non_null(strstr(resp, "Content-Type: application/json"));
    assert_non_null(strstr(resp, "\r\n\r\n{\"status\":\"ok\"}"));
    assert_true(http_get(without, port, "GET", "/health?x=1", resp, sizeof resp));
    assert_true(strncmp(resp, "HTTP/1.1 200", 12) == 0);
    assert_true(http_get(with, port, "GET", "/nope", resp, sizeof resp));
    assert_true(strncmp(resp, "HTTP/1.1 404", 12) == 0);
    assert_non_null(strstr(resp, "{\"error\":{\"code\":\"not_found\""));
    assert_true(http_get(with, port, "POST", "/health", resp, sizeof resp));
    assert_true(strncmp(resp, "HTTP/1.1 404", 12) == 0);
    assert_true(http_get(with, port, "TRACE", "/health", resp, sizeof resp));
    assert_true(strncmp(resp, "HTTP/1.1 200", 12) != 0);
    /* KMIP-only certificate rules do not apply, but a foreign CA is refused */
    {
        SSL_CTX *other = client_ctx("other", 0, 0);
        assert_false(http_get(other, port, "GET", "/health", resp, sizeof resp));
        SSL_CTX_free(other);
        assert_true(log_wait("https: TLS handshake failed from 127.0.0.1:", 1));
    }
    assert_int_equal(atomic_load(&g_calls), 0);
    SSL_CTX_free(with);
    SSL_CTX_free(without);
    fx_stop(&f);
}

static void test_https_handler(void **state)
{
    struct fixture f;
    SSL_CTX *with = client_ctx("client", 0, 0), *without = client_ctx(NULL, 0, 0);
    char resp[4096];
    (void)state;

    fx_config(&f);
    f.h.https = t_https;
    fx_start(&f);
    assert_true(http_get(with, net_server_https_port(f.srv), "GET", "/health", resp, sizeof resp));
    assert_non_null(strstr(resp, "subject=CN=kmip-client,O=Coffre Test;has_cert=1;uri=/health;addr=127.0.0.1:"));
    assert_true(http_get(without, net_server_https_port(f.srv), "DELETE", "/v1/keys/1", resp, sizeof resp));
    assert_non_null(strstr(resp, "subject=;has_cert=0;uri=/v1/keys/1;addr=127.0.0.1:"));
    SSL_CTX_free(with);
    SSL_CTX_free(without);
    fx_stop(&f);
}

/* ---- timeouts and limits ---- */

static void test_idle_timeout(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    double t0;
    SSL *ssl;
    (void)state;

    fx_config(&f);
    f.cfg.idle_timeout = 1;
    fx_start(&f);
    ssl = tls_open(ctx, net_server_kmip_port(f.srv), NULL);
    assert_non_null(ssl);
    assert_true(exchange(ssl, 8, 1));
    t0 = now_s();
    assert_true(is_closed(ssl));
    assert_true(now_s() - t0 > 0.5 && now_s() - t0 < 4.0);
    tls_close(ssl, false);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

static void test_handshake_timeout(void **state)
{
    struct fixture f;
    double t0;
    char b;
    int fd;
    (void)state;

    fx_config(&f);
    f.cfg.handshake_timeout = 1;
    fx_start(&f);
    fd = tcp_connect_to(AF_INET, net_server_kmip_port(f.srv));
    assert_true(fd >= 0);
    t0 = now_s();
    assert_true(read(fd, &b, 1) == 0); /* closed by the server, not our 5 s timeout */
    assert_true(now_s() - t0 > 0.5 && now_s() - t0 < 4.0);
    close(fd);
    assert_true(log_wait("handshake timeout", 1));
    fx_stop(&f);
}

static void test_max_connections(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    SSL *a, *b;
    unsigned port;
    bool ok = false;
    (void)state;

    fx_config(&f);
    f.cfg.max_connections = 2;
    fx_start(&f);
    port = net_server_kmip_port(f.srv);
    a = tls_open(ctx, port, NULL);
    b = tls_open(ctx, port, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(exchange(a, 8, 1));
    assert_true(exchange(b, 8, 2));
    assert_true(connection_refused(ctx, port));
    assert_true(log_wait("connection limit (2) reached", 1));
    assert_true(exchange(a, 8, 3)); /* the others are unaffected */
    tls_close(a, true);
    for (int i = 0; i < 100 && !ok; i++) { /* the slot frees once the server saw the close */
        ok = one_shot(ctx, port);
        if (!ok)
            usleep(20000);
    }
    assert_true(ok);
    /* HTTPS has its own budget (the KMIP one is full again: b + the new
     * one may still be closing); over it, refused in the client hello */
    {
        SSL_CTX *anon = client_ctx(NULL, 0, 0);
        unsigned hp = net_server_https_port(f.srv);
        SSL *h1 = tls_open(anon, hp, NULL), *h2 = tls_open(anon, hp, NULL);
        char resp[1024];

        assert_non_null(h1);
        assert_non_null(h2);
        assert_null(tls_open(anon, hp, NULL));
        assert_true(log_wait("https: connection limit (2) reached", 1));
        tls_close(h1, true);
        tls_close(h2, false);
        ok = false;
        for (int i = 0; i < 100 && !ok; i++) {
            ok = http_get(anon, hp, "GET", "/health", resp, sizeof resp) &&
                 strncmp(resp, "HTTP/1.1 200", 12) == 0;
            if (!ok)
                usleep(20000);
        }
        assert_true(ok);
        SSL_CTX_free(anon);
    }
    tls_close(b, true);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

/* ---- lifecycle ---- */

static void test_stop_by_signal(void **state)
{
    struct fixture f;
    (void)state;

    fx_config(&f);
    fx_start(&f);
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(pthread_join(f.waiter, NULL), 0);
    assert_int_equal(f.wait_rc, CF_OK);
    assert_true(log_wait("signal 15 received", 1));
    net_server_free(f.srv);
    g_running = NULL;
    assert_int_equal(atomic_load(&g_inits), atomic_load(&g_finis));
}

static void test_stop_before_wait_and_free_without_wait(void **state)
{
    struct fixture f;
    net_server *s;
    (void)state;

    fx_config(&f);
    assert_int_equal(net_server_start(&f.cfg, &f.h, &s), CF_OK);
    net_server_stop(s);
    net_server_stop(s);
    assert_int_equal(net_server_wait(s), CF_OK);
    assert_int_equal(net_server_wait(s), CF_OK);
    net_server_free(s);
    assert_int_equal(net_server_start(&f.cfg, &f.h, &s), CF_OK);
    net_server_free(s); /* never waited: free stops the workers */
    assert_int_equal(atomic_load(&g_inits), 4);
    assert_int_equal(atomic_load(&g_finis), 4);
}

static void test_address_in_use(void **state)
{
    struct fixture f;
    net_server *second = NULL;
    char addr[64];
    net_config cfg;
    (void)state;

    fx_config(&f);
    fx_start(&f);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", net_server_kmip_port(f.srv));
    cfg = f.cfg;
    cfg.kmip_listen = addr;
    assert_int_equal(net_server_start(&cfg, &f.h, &second), CF_ERR_IO);
    assert_null(second);
    cfg.kmip_listen = "127.0.0.1:0";
    snprintf(addr, sizeof addr, "127.0.0.1:%u", net_server_https_port(f.srv));
    cfg.https_listen = addr;
    assert_int_equal(net_server_start(&cfg, &f.h, &second), CF_ERR_IO);
    assert_true(log_count("Address already in use") >= 2);
    fx_stop(&f);
}

static void test_bad_config(void **state)
{
    struct fixture f;
    net_server *s = NULL;
    net_config cfg;
    (void)state;

    fx_config(&f);
    cfg = f.cfg;
    cfg.kmip_listen = "127.0.0.1";
    assert_int_equal(net_server_start(&cfg, &f.h, &s), CF_ERR_INVALID_FIELD);
    cfg.kmip_listen = "::1:5696";
    assert_int_equal(net_server_start(&cfg, &f.h, &s), CF_ERR_INVALID_FIELD);
    cfg.kmip_listen = "127.0.0.1:70000";
    assert_int_equal(net_server_start(&cfg, &f.h, &s), CF_ERR_INVALID_FIELD);
    cfg = f.cfg;
    cfg.tls.cert_file = "/nonexistent.pem";
    assert_int_equal(net_server_start(&cfg, &f.h, &s), CF_ERR_CRYPTO);
    cfg = f.cfg;
    cfg.tls.ciphers = "NOT-A-CIPHER";
    assert_int_equal(net_server_start(&cfg, &f.h, &s), CF_ERR_INVALID_FIELD);
    cfg = f.cfg;
    cfg.max_message = 1u << 30;
    assert_int_equal(net_server_start(&cfg, &f.h, &s), CF_ERR_INVALID_FIELD);
    assert_null(s);
    assert_int_equal(atomic_load(&g_inits), 0);
}

static void test_worker_init_failure(void **state)
{
    struct fixture f;
    net_server *s = NULL;
    (void)state;

    fx_config(&f);
    g_fail_index = 1;
    assert_int_not_equal(net_server_start(&f.cfg, &f.h, &s), CF_OK);
    assert_null(s);
    assert_int_equal(atomic_load(&g_inits), 1);
    assert_int_equal(atomic_load(&g_finis), 1); /* the worker that did start was finalised */
}

static void test_ipv6(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    net_server *s = NULL;
    SSL *ssl;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool have_v6 = probe >= 0 && bind(probe, (struct sockaddr *)&in6, sizeof in6) == 0;
    (void)state;

    if (probe >= 0)
        close(probe);
    if (!have_v6) {
        SSL_CTX_free(ctx);
        skip();
    }
    fx_config(&f);
    f.cfg.kmip_listen = "[::1]:0";
    f.cfg.https_listen = NULL;
    assert_int_equal(net_server_start(&f.cfg, &f.h, &s), CF_OK);
    assert_int_equal(net_server_https_port(s), 0);
    ssl = tls_open_fd(ctx, tcp_connect_to(AF_INET6, net_server_kmip_port(s)), NULL);
    assert_non_null(ssl);
    assert_true(exchange(ssl, 8, 1));
    pthread_mutex_lock(&g_peer_mu);
    assert_true(strncmp(g_last_peer.addr, "[::1]:", 6) == 0);
    pthread_mutex_unlock(&g_peer_mu);
    tls_close(ssl, true);
    net_server_free(s);
    SSL_CTX_free(ctx);
}

struct burst {
    SSL_CTX *ctx;
    unsigned port;
    int failures;
    int resumed;
};

static void *burst_main(void *arg)
{
    struct burst *b = arg;
    SSL_SESSION *sess = NULL;

    for (int i = 0; i < 25; i++) {
        SSL *ssl = tls_open(b->ctx, b->port, sess);
        if (ssl == NULL || !exchange(ssl, 40, (uint8_t)i)) {
            b->failures++;
        } else {
            b->resumed += SSL_session_reused(ssl);
            SSL_SESSION_free(sess);
            sess = SSL_get1_session(ssl);
        }
        if (ssl)
            tls_close(ssl, i % 3 != 0);
    }
    SSL_SESSION_free(sess);
    return NULL;
}

/* vCenter/vSAN reboot: bursts of short connections, same certificate. */
static void test_concurrent_bursts(void **state)
{
    struct fixture f;
    struct burst b[4];
    pthread_t t[4];
    (void)state;

    fx_config(&f);
    fx_start(&f);
    for (int i = 0; i < 4; i++) {
        b[i] = (struct burst){.ctx = client_ctx("client", i % 2 ? TLS1_2_VERSION : 0, 0),
                              .port = net_server_kmip_port(f.srv)};
        assert_int_equal(pthread_create(&t[i], NULL, burst_main, &b[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(b[i].failures, 0);
        assert_int_equal(b[i].resumed, 24);
        SSL_CTX_free(b[i].ctx);
    }
    assert_int_equal(atomic_load(&g_calls), 100);
    fx_stop(&f);
}

/* ---- certificates ---- */

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    return system(cmd);
}

#define EC "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

static int make_leaf(const char *name, const char *subj, const char *ca, const char *eku, int days)
{
    return run("cd %s && printf 'extendedKeyUsage=%s\\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\\n' > %s.ext"
               " && openssl req -new " EC " -keyout %s.key -out %s.csr -subj '%s' 2>/dev/null"
               " && openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -set_serial %d -days %d"
               " -extfile %s.ext -out %s.pem 2>/dev/null",
               g_dir, eku, name, name, name, subj, name, ca, ca, (int)(random() & 0xFFFFFF) + 1, days,
               name, name);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/coffre-net-test-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    srandom((unsigned)time(NULL));
    if (run("cd %s && openssl req -x509 " EC " -keyout ca.key -out ca.pem -subj '/CN=Coffre Test CA' -days 2"
            " 2>/dev/null && openssl req -x509 " EC " -keyout ca2.key -out ca2.pem -subj '/CN=Other CA'"
            " -days 2 2>/dev/null", g_dir) != 0 ||
        make_leaf("server", "/CN=localhost", "ca", "serverAuth", 2) != 0 ||
        make_leaf("client", "/O=Coffre Test/CN=kmip-client", "ca", "clientAuth", 2) != 0 ||
        make_leaf("other", "/CN=intruder", "ca2", "clientAuth", 2) != 0 ||
        make_leaf("expired", "/CN=old-client", "ca", "clientAuth", -1) != 0) {
        fprintf(stderr, "cannot make test certificates with the openssl CLI in %s\n", g_dir);
        return -1;
    }
    snprintf(g_log, sizeof g_log, "%s/server.log", g_dir);
    if (cf_log_open(g_log) != CF_OK)
        return -1;
    cf_log_set_level(CF_LOG_DEBUG);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (getenv("NET_TEST_LOG"))
        run("cat %s >&2", g_log);
    return run("rm -rf %s", g_dir) == 0 ? 0 : -1;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, per_test_setup, per_test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_roundtrip_and_peer),
        T(test_pipelined),
        T(test_split_one_byte_writes),
        T(test_large_message),
        T(test_limit_boundary),
        T(test_oversized_closed_before_body),
        T(test_not_a_structure),
        T(test_empty_response_closes),
        T(test_backpressure),
        T(test_no_client_cert_tls12),
        T(test_no_client_cert_tls13),
        T(test_other_ca),
        T(test_expired_cert),
        T(test_garbage_bytes),
        T(test_resume_tls12_ticket),
        T(test_resume_tls12_session_cache),
        T(test_resume_tls13),
        T(test_https_builtin),
        T(test_https_handler),
        T(test_idle_timeout),
        T(test_handshake_timeout),
        T(test_max_connections),
        T(test_stop_by_signal),
        T(test_stop_before_wait_and_free_without_wait),
        T(test_address_in_use),
        T(test_bad_config),
        T(test_worker_init_failure),
        T(test_ipv6),
        T(test_concurrent_bursts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
