/*
 * net_fixture.c - the src/net test fixture (see net_fixture.h): the echo
 * handler and its counters, a server with a waiter thread, OpenSSL clients,
 * certificates made with the openssl CLI, and the server log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "net_fixture.h"
#include "util/log.h"

char g_dir[256];
char g_log[300];
int g_rcvbuf;
atomic_int g_inits, g_finis, g_calls, g_bad;
int g_fail_index = -1;
pthread_mutex_t g_peer_mu = PTHREAD_MUTEX_INITIALIZER;
net_peer g_last_peer;

/* ---- handler side (runs on the worker threads) ---- */

#define WS_MAGIC 0xC0FFEEu

struct wstate {
    unsigned magic;
    unsigned index;
};


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
static void t_kmip(void *p, const net_peer *peer, const uint8_t *msg, size_t len, cf_buf *out,
                   net_kconn *conn)
{
    const struct wstate *ws = p;
    (void)conn;

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

/* ---- a server running with a waiter thread ---- */

static void *waiter_main(void *arg)
{
    struct fixture *f = arg;
    f->wait_rc = net_server_wait(f->srv);
    return NULL;
}

void fx_config(struct fixture *f)
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

static struct fixture *g_running; /* stopped by net_test_teardown after a failure */

void fx_start(struct fixture *f)
{
    assert_int_equal(net_server_start(&f->cfg, &f->h, &f->srv), CF_OK);
    g_running = f;
    assert_non_null(f->srv);
    assert_true(net_server_kmip_port(f->srv) > 0);
    assert_int_equal(pthread_create(&f->waiter, NULL, waiter_main, f), 0);
}

void fx_stop(struct fixture *f)
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

void fx_forget(void)
{
    g_running = NULL;
}

int net_test_setup(void **state)
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

int net_test_teardown(void **state)
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

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tcp_connect_to(int family, unsigned port)
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

SSL_CTX *client_ctx(const char *name, int max_version, long options)
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

SSL *tls_open_fd(SSL_CTX *ctx, int fd, SSL_SESSION *sess)
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

SSL *tls_open(SSL_CTX *ctx, unsigned port, SSL_SESSION *sess)
{
    return tls_open_fd(ctx, tcp_connect_to(AF_INET, port), sess);
}

/* clean: close_notify. Otherwise the TCP connection just closes (the
 * session is marked shut down locally only so that OpenSSL keeps it
 * resumable on this side: SSL_free would otherwise poison it). */
void tls_close(SSL *ssl, bool clean)
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

size_t make_msg(uint8_t *buf, size_t body, uint8_t fill)
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

bool read_full(SSL *ssl, uint8_t *buf, size_t n)
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
bool is_closed(SSL *ssl)
{
    uint8_t b;
    int r = SSL_read(ssl, &b, 1);
    ERR_clear_error();
    return r <= 0;
}

bool exchange(SSL *ssl, size_t body, uint8_t fill)
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
bool one_shot(SSL_CTX *ctx, unsigned port)
{
    SSL *ssl = tls_open(ctx, port, NULL);
    bool ok = ssl && exchange(ssl, 32, 7);
    if (ssl)
        tls_close(ssl, true);
    return ok;
}

int log_count(const char *needle)
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
bool log_wait(const char *needle, int n)
{
    for (int i = 0; i < 200; i++) {
        if (log_count(needle) >= n)
            return true;
        usleep(10000);
    }
    return false;
}

bool connection_refused(SSL_CTX *ctx, unsigned port)
{
    SSL *ssl = tls_open(ctx, port, NULL);
    bool refused = ssl == NULL || !exchange(ssl, 16, 1);
    if (ssl)
        tls_close(ssl, false);
    return refused;
}

/* Sends one request with Connection: close and reads the whole answer. */
bool http_get(SSL_CTX *ctx, unsigned port, const char *method, const char *path, char *out,
              size_t out_len)
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

/* ---- the usual KMIP test ---- */

void conn_open(struct conn *c)
{
    fx_start(&c->f);
    c->ctx = client_ctx("client", 0, 0);
    c->ssl = tls_open(c->ctx, net_server_kmip_port(c->f.srv), NULL);
    assert_non_null(c->ssl);
}

void conn_close(struct conn *c, bool clean)
{
    tls_close(c->ssl, clean);
    SSL_CTX_free(c->ctx);
    fx_stop(&c->f);
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

int net_group_setup(void **state)
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

int net_group_teardown(void **state)
{
    (void)state;
    if (getenv("NET_TEST_LOG"))
        run("cat %s >&2", g_log);
    return run("rm -rf %s", g_dir) == 0 ? 0 : -1;
}

