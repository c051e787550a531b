/*
 * Unit tests for src/net against hostile peers (net_guard.c): connections
 * per source address on both listeners (sources 127.0.0.1 and 127.0.0.2),
 * the handshake deadline (a handshake dribbled byte by byte), the request
 * deadline (slowloris on KMIP and HTTPS) while well-behaved clients, busy
 * or idle, are left alone, and the pre-authentication message limit of
 * KMIP (the kmip_known handler). The server, its echo handler and the
 * OpenSSL clients are in support/net_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "support/net_fixture.h"
#include "util/limits.h"
#include "util/mem.h"

/* A TCP connection to 127.0.0.1:port from source address src (any
 * 127.0.0.0/8 address is the loopback). */
static int tcp_from(const char *src, unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET}, b = {.sin_family = AF_INET};
    struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    inet_pton(AF_INET, src, &a.sin_addr);
    b.sin_port = htons((uint16_t)port);
    b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        connect(fd, (struct sockaddr *)&b, sizeof b) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A KMIP exchange works on a new connection from src. */
static bool kmip_from(SSL_CTX *ctx, const char *src, unsigned port)
{
    SSL *ssl = tls_open_fd(ctx, tcp_from(src, port), NULL);
    bool ok = ssl && exchange(ssl, 24, 3);
    if (ssl)
        tls_close(ssl, true);
    return ok;
}

/* An HTTPS GET /health works on a new connection from src. */
static bool https_from(SSL_CTX *ctx, const char *src, unsigned port)
{
    SSL *ssl = tls_open_fd(ctx, tcp_from(src, port), NULL);
    const char req[] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char buf[512];
    int n = 0;

    if (ssl && SSL_write(ssl, req, (int)sizeof req - 1) == (int)sizeof req - 1)
        n = SSL_read(ssl, buf, (int)sizeof buf - 1);
    if (ssl)
        tls_close(ssl, false);
    ERR_clear_error();
    return n > 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0;
}

/* Retries f for up to 2 s (the server releases a closed connection's
 * count when its worker notices the close). */
#define EVENTUALLY(expr)                                                                          \
    do {                                                                                          \
        bool ok_ = false;                                                                         \
        for (int i_ = 0; i_ < 40 && !(ok_ = (expr)); i_++)                                        \
            usleep(50000);                                                                        \
        assert_true(ok_);                                                                         \
    } while (0)

static void test_per_address_kmip(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", 0, 0);
    SSL *a, *b;
    unsigned port;
    (void)state;

    fx_config(&f);
    f.cfg.max_connections_per_address = 2;
    fx_start(&f);
    port = net_server_kmip_port(f.srv);
    a = tls_open_fd(ctx, tcp_from("127.0.0.1", port), NULL);
    b = tls_open_fd(ctx, tcp_from("127.0.0.1", port), NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(exchange(a, 16, 1));
    assert_true(exchange(b, 16, 2));
    /* A third from the same source is closed at accept; another source is
     * served; the two open connections are untouched. */
    assert_true(connection_refused(ctx, port));
    assert_true(log_wait("the per-address limit", 1));
    assert_true(kmip_from(ctx, "127.0.0.2", port));
    assert_true(exchange(a, 16, 3));
    /* Closing one frees a place for the first source. */
    tls_close(b, true);
    EVENTUALLY(kmip_from(ctx, "127.0.0.1", port));
    tls_close(a, true);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

static void test_per_address_https(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx(NULL, 0, 0);
    SSL *a, *b;
    unsigned port;
    (void)state;

    fx_config(&f);
    f.cfg.max_connections_per_address = 2;
    fx_start(&f);
    port = net_server_https_port(f.srv);
    a = tls_open_fd(ctx, tcp_from("127.0.0.1", port), NULL);
    b = tls_open_fd(ctx, tcp_from("127.0.0.1", port), NULL);
    assert_non_null(a);
    assert_non_null(b);
    /* Refused in the client hello: no handshake, no request. */
    assert_false(https_from(ctx, "127.0.0.1", port));
    assert_true(log_wait("https: 127.0.0.1", 1));
    assert_true(https_from(ctx, "127.0.0.3", port));
    tls_close(a, false);
    EVENTUALLY(https_from(ctx, "127.0.0.1", port));
    tls_close(b, false);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

/* Sends buf one byte every 300 ms until the server closes (or n bytes are
 * sent); the seconds it took. */
static double dribble_raw(int fd, const uint8_t *buf, size_t n)
{
    double t0 = now_s();
    char c;
    for (size_t i = 0; i < n; i++) {
        if (send(fd, buf + i, 1, MSG_NOSIGNAL) != 1)
            break;
        usleep(300000);
        if (recv(fd, &c, 1, MSG_DONTWAIT) == 0)
            break; /* closed by the server */
    }
    return now_s() - t0;
}

static double dribble_tls(SSL *ssl, const uint8_t *buf, size_t n)
{
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        if (SSL_write(ssl, buf + i, 1) != 1)
            break;
        usleep(300000);
    }
    ERR_clear_error();
    return now_s() - t0;
}

static void test_handshake_deadline(void **state)
{
    struct fixture f;
    /* A TLS record header announcing a ClientHello that never completes. */
    static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03,
                                    0x03, 1,    2,    3,    4,    5,    6,    7,    8,    9,
                                    10,   11,   12,   13,   14,   15,   16,   17,   18,   19,
                                    20,   21,   22,   23,   24,   25,   26,   27,   28,   29,
                                    30,   31,   32,   33,   34,   35,   36,   37,   38,   39};
    double took;
    int before = log_count("TLS handshake not finished in time");
    (void)state;

    fx_config(&f);
    f.cfg.handshake_timeout = 2;
    fx_start(&f);
    for (int https = 0; https < 2; https++) {
        unsigned port = https ? net_server_https_port(f.srv) : net_server_kmip_port(f.srv);
        int fd = tcp_from("127.0.0.1", port);
        assert_true(fd >= 0);
        took = dribble_raw(fd, hello, sizeof hello); /* 50 bytes: 15 s if never dropped */
        close(fd);
        assert_true(took >= 1.5 && took < 5.0);
    }
    assert_true(log_wait("TLS handshake not finished in time", before + 2));
    fx_stop(&f);
}

static void test_slowloris_kmip(void **state)
{
    struct conn c;
    uint8_t msg[8 + 64];
    int before = log_count("request not complete in time");
    SSL *idle;
    double took;
    (void)state;

    fx_config(&c.f);
    c.f.cfg.request_timeout = 2;
    conn_open(&c);
    idle = tls_open(c.ctx, net_server_kmip_port(c.f.srv), NULL);
    assert_non_null(idle);
    /* A whole message in time: answered. Then one dribbled (64 bytes,
     * 20 s at this pace): dropped after the deadline plus a sweep. */
    assert_true(exchange(c.ssl, 16, 1));
    make_msg(msg, 64, 5);
    took = dribble_tls(c.ssl, msg, sizeof msg);
    assert_true(took >= 1.5 && took < 5.0);
    assert_true(is_closed(c.ssl));
    assert_true(log_wait("kmip: 127.0.0.1", 1));
    assert_true(log_wait("request not complete in time (slow client)", before + 1));
    /* The idle connection (no request begun) is the idle timeout's, not
     * the request deadline's: still served. */
    assert_true(exchange(idle, 32, 9));
    tls_close(idle, true);
    assert_true(one_shot(c.ctx, net_server_kmip_port(c.f.srv)));
    conn_close(&c, false);
}

static void test_busy_client_kept(void **state)
{
    struct conn c;
    double t0;
    int before = log_count("slow client");
    (void)state;

    fx_config(&c.f);
    c.f.cfg.request_timeout = 1;
    conn_open(&c);
    /* Four seconds of requests, each complete at once: never dropped. */
    t0 = now_s();
    while (now_s() - t0 < 4.0) {
        assert_true(exchange(c.ssl, 128, 4));
        usleep(100000);
    }
    assert_int_equal(log_count("slow client"), before);
    conn_close(&c, true);
}

static void test_slowloris_https(void **state)
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx(NULL, 0, 0);
    const char head[] = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    SSL *ssl;
    double took;
    char c;
    int before = log_count("request not complete in time");
    (void)state;

    fx_config(&f);
    f.cfg.request_timeout = 2;
    fx_start(&f);
    ssl = tls_open(ctx, net_server_https_port(f.srv), NULL);
    assert_non_null(ssl);
    took = dribble_tls(ssl, (const uint8_t *)head, sizeof head - 1);
    assert_true(took >= 1.5 && took < 5.0);
    assert_true(SSL_read(ssl, &c, 1) <= 0); /* no answer: the connection ended */
    ERR_clear_error();
    tls_close(ssl, false);
    assert_true(log_wait("request not complete in time (slow client)", before + 1));
    assert_true(https_from(ctx, "127.0.0.1", net_server_https_port(f.srv)));
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

/* ---- the pre-authentication message limit ---- */

static atomic_int g_known_calls;
static bool g_known_answer;

static bool t_known(void *wstate, const net_peer *peer)
{
    (void)wstate;
    atomic_fetch_add(&g_known_calls, 1);
    return peer->has_cert && g_known_answer;
}

static void preauth_case(bool known)
{
    struct conn c;
    const size_t over = CF_LIMIT_KMIP_MESSAGE_PREAUTH - 8 + 1;

    atomic_store(&g_known_calls, 0);
    g_known_answer = known;
    fx_config(&c.f);
    c.f.h.kmip_known = t_known;
    conn_open(&c);
    /* At the limit: read without asking. */
    assert_true(exchange(c.ssl, CF_LIMIT_KMIP_MESSAGE_PREAUTH - 8, 1));
    assert_int_equal(atomic_load(&g_known_calls), 0);
    if (known) {
        /* Over it from a known peer: asked once, then remembered. */
        assert_true(exchange(c.ssl, over, 2));
        assert_true(exchange(c.ssl, over + 1000, 3));
        assert_int_equal(atomic_load(&g_known_calls), 1);
    } else {
        uint8_t hdr[8] = {0x42, 0x00, 0x78, 0x01};
        cf_put_be32(hdr + 4, (uint32_t)over);
        assert_int_equal(SSL_write(c.ssl, hdr, 8), 8); /* the header alone is enough */
        assert_true(is_closed(c.ssl));
        assert_int_equal(atomic_load(&g_known_calls), 1);
        assert_true(log_wait("an unregistered certificate is limited to 65536 bytes", 1));
    }
    conn_close(&c, false);
}

static void test_preauth_limit_unknown(void **state)
{
    (void)state;
    preauth_case(false);
}

static void test_preauth_limit_known(void **state)
{
    (void)state;
    preauth_case(true);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, net_test_setup, net_test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_per_address_kmip),
        T(test_per_address_https),
        T(test_handshake_deadline),
        T(test_slowloris_kmip),
        T(test_busy_client_kept),
        T(test_slowloris_https),
        T(test_preauth_limit_unknown),
        T(test_preauth_limit_known),
    };
    return cmocka_run_group_tests(tests, net_group_setup, net_group_teardown);
}
