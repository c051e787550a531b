/*
 * Unit tests for src/net, server side: the HTTPS listener (built-in routes,
 * a handler seeing the peer), idle and handshake timeouts, the connection
 * limits of both listeners, stopping (by signal, before waiting, freeing
 * without waiting), refused configurations, a failing worker_init, and
 * IPv6. The server, its echo handler and the OpenSSL clients are in
 * support/net_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "support/net_fixture.h"

/* ---- HTTPS ---- */

static void t_https(void *p, const net_peer *peer, struct evhttp_request *req)
{
    struct evbuffer *b = evbuffer_new();
    (void)p;
    evbuffer_add_printf(b, "subject=%s;has_cert=%d;uri=%s;addr=%s", peer->subject, peer->has_cert,
                        evhttp_request_get_uri(req), peer->addr);
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
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
    struct conn c;
    double t0;
    (void)state;

    fx_config(&c.f);
    c.f.cfg.idle_timeout = 1;
    conn_open(&c);
    assert_true(exchange(c.ssl, 8, 1));
    t0 = now_s();
    assert_true(is_closed(c.ssl));
    assert_true(now_s() - t0 > 0.5 && now_s() - t0 < 4.0);
    conn_close(&c, false);
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
    fx_forget();
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, net_test_setup, net_test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
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
    };
    return cmocka_run_group_tests(tests, net_group_setup, net_group_teardown);
}
