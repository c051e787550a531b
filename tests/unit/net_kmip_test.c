/*
 * Unit tests for src/net, KMIP side: framing (round trip and peer identity,
 * pipelining, one-byte writes, large messages, the size limit, bytes that are
 * not a structure, the empty answer that closes), back-pressure, refused TLS
 * clients, session resumption (TLS 1.2 tickets and cache, TLS 1.3) and
 * bursts of concurrent short connections. The server, its echo handler and
 * the OpenSSL clients are in support/net_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "support/net_fixture.h"
#include "util/mem.h"

/* ---- KMIP framing ---- */

static void test_roundtrip_and_peer(void **state)
{
    struct conn c;
    uint8_t fp[32];
    unsigned fplen = 0;
    char path[300];
    FILE *pem;
    X509 *x;
    (void)state;

    fx_config(&c.f);
    conn_open(&c);
    assert_int_equal(atomic_load(&g_inits), 2);
    assert_true(exchange(c.ssl, 64, 1));
    assert_true(exchange(c.ssl, 0x1000, 2));
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
    conn_close(&c, true);
    assert_int_equal(atomic_load(&g_finis), 2);
}

static void test_pipelined(void **state)
{
    struct conn c;
    uint8_t req[8 + 40 + 8 + 200 + 8 + 8], resp[sizeof req];
    size_t n1, n2, n3;
    (void)state;

    fx_config(&c.f);
    conn_open(&c);
    n1 = make_msg(req, 40, 1);
    n2 = make_msg(req + n1, 200, 2);
    n3 = make_msg(req + n1 + n2, 8, 3);
    assert_int_equal(SSL_write(c.ssl, req, (int)(n1 + n2 + n3)), (int)(n1 + n2 + n3));
    assert_true(read_full(c.ssl, resp, n1 + n2 + n3));
    assert_memory_equal(req, resp, n1 + n2 + n3);
    assert_int_equal(atomic_load(&g_calls), 3);
    conn_close(&c, true);
}

static void test_split_one_byte_writes(void **state)
{
    struct conn c;
    uint8_t req[8 + 48], resp[sizeof req];
    size_t n;
    (void)state;

    fx_config(&c.f);
    conn_open(&c);
    n = make_msg(req, 48, 9);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(SSL_write(c.ssl, req + i, 1), 1);
    assert_true(read_full(c.ssl, resp, n));
    assert_memory_equal(req, resp, n);
    assert_int_equal(atomic_load(&g_calls), 1);
    conn_close(&c, true);
}

static void test_large_message(void **state)
{
    struct conn c;
    (void)state;

    fx_config(&c.f);
    conn_open(&c);
    assert_true(exchange(c.ssl, 300 * 1024, 5)); /* spans many records and chains */
    assert_true(exchange(c.ssl, 16, 6));         /* the connection is still framed */
    conn_close(&c, true);
}

static void test_limit_boundary(void **state)
{
    struct conn c;
    uint8_t hdr[8];
    (void)state;

    fx_config(&c.f);
    c.f.cfg.max_message = 4096;
    conn_open(&c);
    assert_true(exchange(c.ssl, 4096 - 8, 1)); /* exactly the limit */
    make_msg(hdr, 0, 0);
    cf_put_be32(hdr + 4, 4096 - 8 + 1);        /* one byte over */
    assert_int_equal(SSL_write(c.ssl, hdr, 8), 8);
    assert_true(is_closed(c.ssl));
    assert_int_equal(atomic_load(&g_calls), 1);
    assert_true(log_wait("declared a 4097-byte message, limit 4096", 1));
    conn_close(&c, false);
}

static void test_oversized_closed_before_body(void **state)
{
    struct conn c;
    uint8_t req[8 + 16], resp[sizeof req], hdr[8];
    size_t n;
    (void)state;

    fx_config(&c.f);
    conn_open(&c);
    /* a good request, then a header declaring 4 GiB: the good one is
     * answered, then the connection closes without waiting for the body */
    n = make_msg(req, 16, 3);
    make_msg(hdr, 0, 0);
    cf_put_be32(hdr + 4, 0xFFFFFFF0u);
    assert_int_equal(SSL_write(c.ssl, req, (int)n), (int)n);
    assert_int_equal(SSL_write(c.ssl, hdr, 8), 8);
    assert_true(read_full(c.ssl, resp, n));
    assert_memory_equal(req, resp, n);
    assert_true(is_closed(c.ssl));
    assert_int_equal(atomic_load(&g_calls), 1);
    conn_close(&c, false);
}

static void test_not_a_structure(void **state)
{
    struct conn c;
    uint8_t req[8 + 8];
    (void)state;

    fx_config(&c.f);
    conn_open(&c);
    make_msg(req, 8, 0);
    req[3] = 0x02; /* Integer */
    assert_int_equal(SSL_write(c.ssl, req, sizeof req), (int)sizeof req);
    assert_true(is_closed(c.ssl));
    assert_int_equal(atomic_load(&g_calls), 0);
    assert_true(log_wait("is not a TTLV structure (type 0x02)", 1));
    conn_close(&c, false);
}

static void test_empty_response_closes(void **state)
{
    struct conn c;
    uint8_t req[8];
    (void)state;

    fx_config(&c.f);
    conn_open(&c);
    assert_true(exchange(c.ssl, 8, 1));
    make_msg(req, 0, 0);
    assert_int_equal(SSL_write(c.ssl, req, 8), 8);
    assert_true(is_closed(c.ssl));
    assert_int_equal(atomic_load(&g_calls), 2);
    conn_close(&c, false);
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
static bool xfer_pipelined(SSL *ssl, const uint8_t *out, size_t out_len, uint8_t *in,
                           size_t in_len)
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
    struct conn c;
    /* 10 MiB of pipelined requests: more than the kernel buffers (4 MiB
     * send buffer at most, a small receive buffer here) plus NET_OUT_HIGH */
    const size_t each = 64 * 1024, count = 160;
    uint8_t *req = malloc((8 + each) * count), *resp = malloc((8 + each) * count);
    size_t n = 0;
    (void)state;

    for (size_t i = 0; i < count; i++)
        n += make_msg(req + n, each, (uint8_t)i);
    fx_config(&c.f);
    g_rcvbuf = 16 * 1024;
    conn_open(&c);
    g_rcvbuf = 0;
    assert_true(xfer_pipelined(c.ssl, req, n, resp, n));
    assert_memory_equal(req, resp, n);
    assert_int_equal(atomic_load(&g_calls), (int)count);
    assert_true(exchange(c.ssl, 32, 1));
    assert_true(log_count("pausing reads") >= 1);
    conn_close(&c, true);
    free(req);
    free(resp);
}

/* ---- TLS failures ---- */

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

/* ---- concurrent connections ---- */

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

#define T(fn) cmocka_unit_test_setup_teardown(fn, net_test_setup, net_test_teardown)

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
        T(test_concurrent_bursts),
    };
    return cmocka_run_group_tests(tests, net_group_setup, net_group_teardown);
}
