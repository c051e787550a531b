/*
 * net_https.c - the HTTPS front door: one evhttp per worker on that
 * worker's SO_REUSEPORT listener, every connection wrapped in TLS by the
 * bufferevent callback.
 *
 * Design:
 * - Per-connection state (peer identity, connection count) hangs off the
 *   SSL object as ex_data: evhttp 2.1 has no per-connection user pointer
 *   and no close hook that runs on every path, but OpenSSL calls the
 *   ex_data free callback exactly once, whenever evhttp frees the
 *   connection. That is where the live-connection count drops.
 * - evhttp 2.1 creates the bufferevent before it hands us the socket, so a
 *   connection over the limit cannot be closed in the bevcb; it is refused
 *   in the TLS client-hello callback instead (no key exchange is done).
 * - If the bevcb cannot build a TLS bufferevent, evhttp falls back to a
 *   plain socket: the request callback therefore refuses any request that
 *   did not arrive over TLS, so nothing is ever served in clear text.
 * - With h->https set, the handler gets every request (it routes /health
 *   itself) and must answer it (evhttp_send_reply or similar). Without it
 *   only GET /health is served; everything else is a JSON 404.
 * - HTTPS handshake failures are logged from the TLS info callback (fatal
 *   alerts); evhttp drops the connection silently otherwise.
 * - Hostile peers (net_guard.c): the source address is counted in the
 *   client-hello callback, the first moment the address is ours to see
 *   (evhttp 2.1 calls the bevcb before it hands the socket over); over the
 *   per-address limit the hello is refused like one over the total. Each
 *   connection is on its worker's list; the sweep (net_https_sweep) shuts
 *   the socket of a connection past its handshake or request deadline down,
 *   and evhttp, seeing the end of its connection, frees it. A request that
 *   reaches the handler ends the request deadline (net_guard_mark).
 * - evhttp 2.1 answers what it refuses by itself (a body over
 *   NET_HTTP_MAX_BODY: 413; a malformed request line or header, headers over
 *   NET_HTTP_MAX_HEADERS: 400; a method it does not serve: 501) with an HTML
 *   page from evhttp_send_error, and offers no hook (evhttp_set_errorcb came
 *   in 2.2; a bufferevent filter cannot tell evhttp when its bytes are on the
 *   wire, so a closing reply would be lost). This file therefore defines
 *   evhttp_send_error itself, which the dynamic linker binds libevent's own
 *   calls to (it calls its exported functions through the PLT; a static
 *   link fails loudly with a duplicate symbol instead of going back to
 *   HTML). It runs libevent's function, which writes the whole page into the
 *   connection's output buffer before returning (the TLS bufferevent sends
 *   it later, from the event loop) and arranges the close, then replaces
 *   that page, if the buffer holds exactly it, by a JSON error
 *   {"error":{"code","message"}} of the same status. The integration test
 *   test_rest.py::test_http_layer_refusals_are_json proves the binding.
 */
#include "net/net_int.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>

#include "util/log.h"

struct net_hconn {
    struct net_server *srv;
    struct net_worker *w;
    struct net_hconn *prev, *next; /* w->hconns */
    SSL *ssl;                      /* owns this state (ex_data) */
    net_peer peer;
    bool peer_ready;
    bool over_limit;
    bool addr_counted;             /* addr holds one count of the per-address table */
    bool dropped;                  /* shut down by the sweep */
    struct net_addr addr;
    struct net_guard guard;
};

void net_https_state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    struct net_hconn *hc = ptr;
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;

    if (hc == NULL)
        return;
    if (hc->prev)
        hc->prev->next = hc->next;
    else if (hc->w && hc->w->hconns == hc)
        hc->w->hconns = hc->next;
    if (hc->next)
        hc->next->prev = hc->prev;
    if (hc->addr_counted)
        net_addr_release(hc->srv, &hc->addr, true);
    atomic_fetch_sub(&hc->srv->https_conns, 1);
    free(hc);
}

/* Count the source of a new connection; false: over the per-address limit. */
static bool https_count_address(struct net_hconn *hc, SSL *ssl)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (hc->addr_counted) /* a second ClientHello (TLS 1.3 HelloRetryRequest) */
        return true;
    if (getpeername(SSL_get_fd(ssl), (struct sockaddr *)&ss, &len) != 0 ||
        !net_addr_of((struct sockaddr *)&ss, &hc->addr))
        return true; /* no address to count: the total limit still applies */
    if (!net_addr_acquire(hc->srv, &hc->addr, true)) {
        if (net_ratelimit(&hc->srv->https_addr_log_at)) {
            char addr[64];
            net_format_addr((struct sockaddr *)&ss, addr, sizeof addr);
            CF_LOGW("https: %s has %u connections, the per-address limit: refusing more "
                    "(logged once a second)", addr, hc->srv->cfg.max_connections_per_address);
        }
        return false;
    }
    hc->addr_counted = true;
    return true;
}

int net_https_client_hello_cb(SSL *ssl, int *alert, void *arg)
{
    struct net_hconn *hc = SSL_get_ex_data(ssl, net_tls_https_index());
    (void)arg;

    if (hc == NULL)
        return SSL_CLIENT_HELLO_SUCCESS;
    if (hc->over_limit) {
        if (net_ratelimit(&hc->srv->https_limit_log_at))
            CF_LOGW("https: connection limit (%u) reached: refusing connections (logged once a "
                    "second)", hc->srv->cfg.max_connections);
    } else if (https_count_address(hc, ssl)) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }
    hc->over_limit = true; /* the failure alert is not logged again */
    *alert = SSL_AD_HANDSHAKE_FAILURE;
    return SSL_CLIENT_HELLO_ERROR;
}

void net_https_info_cb(const SSL *ssl, int where, int ret)
{
    struct net_hconn *hc;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char addr[64] = "unknown";

    hc = SSL_get_ex_data(ssl, net_tls_https_index());
    if ((where & SSL_CB_HANDSHAKE_DONE) && hc && !hc->guard.handshake_done)
        net_guard_mark(&hc->guard, ssl); /* the request deadlines start */
    if (!(where & SSL_CB_ALERT) || (ret >> 8) != SSL3_AL_FATAL || SSL_is_init_finished(ssl))
        return;
    if (hc && hc->over_limit)
        return; /* already logged, rate-limited */
    if (getpeername(SSL_get_fd(ssl), (struct sockaddr *)&ss, &len) == 0)
        net_format_addr((struct sockaddr *)&ss, addr, sizeof addr);
    CF_LOGI("https: TLS handshake failed from %s: %s alert \"%s\"", addr,
            (where & SSL_CB_READ) ? "received" : "sent", SSL_alert_desc_string_long(ret));
}

/* ------------------------------------------------- evhttp's own refusals */

/* The value of field `name` in a response head (NUL-terminated, the status
 * line first, "\r\n" line ends); NULL when absent. *out_len: its length. */
static const char *head_field(const char *head, const char *name, size_t *out_len)
{
    size_t n = strlen(name);
    const char *line = strstr(head, "\r\n");

    while (line != NULL && line[2] != '\r' && line[2] != '\0') {
        const char *p = line + 2, *end = strstr(p, "\r\n");
        if (end == NULL)
            return NULL;
        if ((size_t)(end - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            for (p += n + 1; p < end && (*p == ' ' || *p == '\t'); p++)
                ;
            *out_len = (size_t)(end - p);
            return p;
        }
        line = end;
    }
    return NULL;
}

/* The JSON error (and reason phrase) that stands for evhttp's page. */
static void https_refusal_json(int status, char *buf, size_t cap, const char **out_reason)
{
    const char *code = status >= 500 ? "unavailable" : "invalid_message";
    char msg[160];

    *out_reason = status >= 500 ? "Server Error" : "Bad Request";
    snprintf(msg, sizeof msg, "the request was refused (HTTP %d)", status);
    if (status == 400) {
        snprintf(msg, sizeof msg, "malformed HTTP request: bad request line or header, or "
                                  "headers over %u bytes", NET_HTTP_MAX_HEADERS);
    } else if (status == 413) {
        code = "limit_exceeded";
        *out_reason = "Payload Too Large";
        snprintf(msg, sizeof msg, "the request body is over %u bytes", NET_HTTP_MAX_BODY);
    } else if (status == 417) {
        *out_reason = "Expectation Failed";
        snprintf(msg, sizeof msg, "unsupported Expect header");
    } else if (status == 501) {
        code = "not_implemented";
        *out_reason = "Not Implemented";
        snprintf(msg, sizeof msg, "this HTTP method is not served");
    }
    snprintf(buf, cap, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
}

/* out holds exactly one HTML error page of evhttp (a head with Content-Type
 * text/html and the Content-Length it announces; or, for a CONNECT request,
 * to which evhttp gives no Content-Length, "Connection: close" and the
 * page's own "<HTML>" start): replace it. Anything else is left alone. */
static void https_page_to_json(struct evbuffer *out, int status, bool connect)
{
    char head[1024], body[320], first[6];
    size_t len = evbuffer_get_length(out), hlen, n = 0;
    struct evbuffer_ptr end = evbuffer_search(out, "\r\n\r\n", 4, NULL);
    const char *v, *reason;
    struct evbuffer_ptr at;

    if (end.pos < 0 || (hlen = (size_t)end.pos + 4) >= sizeof head ||
        evbuffer_copyout(out, head, hlen) != (ev_ssize_t)hlen)
        return;
    head[hlen] = '\0';
    if (strncmp(head, "HTTP/1.", 7) != 0 || (v = head_field(head, "Content-Type", &n)) == NULL ||
        n < 9 || strncasecmp(v, "text/html", 9) != 0)
        return;
    if ((v = head_field(head, "Content-Length", &n)) != NULL) {
        if (strtoull(v, NULL, 10) != len - hlen)
            return;
    } else if (!connect || (v = head_field(head, "Connection", &n)) == NULL || n != 5 ||
               strncasecmp(v, "close", 5) != 0 || len - hlen < sizeof first ||
               evbuffer_ptr_set(out, &at, hlen, EVBUFFER_PTR_SET) != 0 ||
               evbuffer_copyout_from(out, &at, first, sizeof first) != (ev_ssize_t)sizeof first ||
               memcmp(first, "<HTML>", sizeof first) != 0) {
        return;
    }
    https_refusal_json(status, body, sizeof body, &reason);
    evbuffer_drain(out, len);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                        "Cache-Control: no-store\r\nConnection: close\r\n"
                        "Content-Length: %zu\r\n\r\n%s",
                        status, reason, strlen(body), body);
}

typedef void (*https_send_error_fn)(struct evhttp_request *, int, const char *);
static https_send_error_fn https_libevent_send_error;
static pthread_once_t https_send_error_once = PTHREAD_ONCE_INIT;

static void https_find_send_error(void)
{
    /* POSIX allows converting dlsym's object pointer to a function pointer. */
    void *sym = dlsym(RTLD_NEXT, "evhttp_send_error");
    memcpy(&https_libevent_send_error, &sym, sizeof sym);
}

/* Replaces libevent's evhttp_send_error (see the note atop this file). */
void evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    struct evbuffer *out = bev ? bufferevent_get_output(bev) : NULL;
    bool fresh = out != NULL && evbuffer_get_length(out) == 0;
    bool connect = evhttp_request_get_command(req) == EVHTTP_REQ_CONNECT; /* req may go below */

    pthread_once(&https_send_error_once, https_find_send_error);
    if (https_libevent_send_error == NULL) { /* cannot happen with libevent loaded */
        evhttp_send_reply(req, error, reason, NULL);
        return;
    }
    /* Our reference keeps bev (and out) valid should libevent free the
     * connection (it does when it cannot allocate the page). */
    if (bev)
        bufferevent_incref(bev);
    https_libevent_send_error(req, error, reason);
    /* Only a page written into an empty buffer is known to be all of it. */
    if (fresh)
        https_page_to_json(out, error, connect);
    if (bev)
        bufferevent_decref(bev);
    CF_LOGI("https: request refused by the HTTP layer (%d)", error);
}

static struct bufferevent *https_bevcb(struct event_base *base, void *arg)
{
    struct net_worker *w = arg;
    struct net_server *s = w->srv;
    struct net_hconn *hc = calloc(1, sizeof *hc);
    struct bufferevent *bev = NULL;
    struct timeval hs = {.tv_sec = (time_t)s->cfg.handshake_timeout, .tv_usec = 0};
    SSL *ssl = NULL;

    ERR_clear_error();
    if (hc == NULL || (ssl = SSL_new(s->https_ctx)) == NULL)
        goto fail;
    hc->srv = s;
    hc->w = w;
    hc->ssl = ssl;
    net_guard_init(&hc->guard);
    hc->over_limit = atomic_fetch_add(&s->https_conns, 1) + 1 > s->cfg.max_connections;
    if (SSL_set_ex_data(ssl, net_tls_https_index(), hc) != 1) {
        atomic_fetch_sub(&s->https_conns, 1);
        goto fail;
    }
    hc->next = w->hconns; /* unlinked by net_https_state_free */
    if (w->hconns)
        w->hconns->prev = hc;
    w->hconns = hc;
    hc = NULL; /* owned by ssl now: freed (and uncounted) by SSL_free */
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    ssl = NULL; /* freed by libevent on failure too (CLOSE_ON_FREE) */
    if (bev == NULL)
        goto fail;
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    bufferevent_set_timeouts(bev, &hs, &hs);
    return bev;
fail:
    net_tls_log_errors(CF_LOG_ERROR, "https: cannot set up a TLS connection");
    SSL_free(ssl);
    free(hc);
    return NULL; /* evhttp falls back to plain text: https_gencb refuses it */
}

static void https_reply_json(struct evhttp_request *req, int code, const char *reason, const char *body)
{
    struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();

    evhttp_add_header(hdr, "Content-Type", "application/json");
    evhttp_add_header(hdr, "Cache-Control", "no-store");
    if (b == NULL || evbuffer_add(b, body, strlen(body)) != 0) {
        evhttp_send_reply(req, 503, "Service Unavailable", NULL);
    } else {
        evhttp_send_reply(req, code, reason, b);
    }
    if (b)
        evbuffer_free(b);
}

static void https_builtin(struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET && path && strcmp(path, "/health") == 0) {
        https_reply_json(req, 200, "OK", "{\"status\":\"ok\"}");
        return;
    }
    https_reply_json(req, 404, "Not Found",
                     "{\"error\":{\"code\":\"not_found\",\"message\":\"no such endpoint\"}}");
}

/* The connection's TLS state with its peer filled in; NULL: refuse. */
static struct net_hconn *https_conn(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    struct net_hconn *hc = ssl ? SSL_get_ex_data(ssl, net_tls_https_index()) : NULL;
    const struct sockaddr *sa;
    cf_status rc;

    if (hc == NULL) {
        CF_LOGE("https: request without TLS refused");
        return NULL;
    }
    net_guard_mark(&hc->guard, ssl); /* a whole request arrived in time */
    if (hc->peer_ready)
        return hc;
    sa = evhttp_connection_get_addr(evcon);
    if (sa)
        net_format_addr(sa, hc->peer.addr, sizeof hc->peer.addr);
    if ((rc = net_tls_fill_peer(ssl, &hc->peer)) != CF_OK) {
        CF_LOGW("https: %s: client certificate unusable (%s)", hc->peer.addr, cf_status_str(rc));
        return NULL;
    }
    hc->peer_ready = true;
    return hc;
}

/* RFC 9110 section 5.5: a field value holds no control character but HTAB
 * (evhttp keeps them). Such a request is refused whole, before routing. */
bool net_https_headers_clean(struct evhttp_request *req)
{
    const struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const struct evkeyval *h;

    TAILQ_FOREACH(h, in, next) {
        for (const unsigned char *p = (const unsigned char *)h->value; *p; p++)
            if ((*p < 0x20 && *p != '\t') || *p == 0x7F)
                return false;
    }
    return true;
}

static void https_gencb(struct evhttp_request *req, void *arg)
{
    struct net_worker *w = arg;
    struct net_hconn *hc = https_conn(req);

    if (hc != NULL && !net_https_headers_clean(req)) {
        https_reply_json(req, 400, "Bad Request",
                         "{\"error\":{\"code\":\"invalid_message\",\"message\":"
                         "\"a header value holds a control character\"}}");
        return;
    }
    if (hc == NULL) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        https_reply_json(req, 400, "Bad Request",
                         "{\"error\":{\"code\":\"unauthenticated\",\"message\":\"TLS client identity unusable\"}}");
        return;
    }
    if (w->srv->h.https) {
        w->srv->h.https(w->wstate, &hc->peer, req);
        return;
    }
    https_builtin(req);
}

void net_https_sweep(struct net_worker *w, int64_t now_ms)
{
    for (struct net_hconn *hc = w->hconns; hc != NULL; hc = hc->next) {
        const char *why;
        int fd;
        if (hc->dropped) /* over a limit: refused at its hello, if one ever comes */
            continue;
        if ((why = net_guard_check(&hc->guard, hc->ssl, w->srv, now_ms)) == NULL)
            continue;
        if ((fd = SSL_get_fd(hc->ssl)) < 0)
            continue;
        hc->dropped = true;
        if (!hc->peer_ready) {
            struct sockaddr_storage ss;
            socklen_t len = sizeof ss;
            if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
                net_format_addr((struct sockaddr *)&ss, hc->peer.addr, sizeof hc->peer.addr);
        }
        CF_LOGI("https: %s: %s: closing", hc->peer.addr[0] ? hc->peer.addr : "unknown", why);
        /* evhttp reads the end of the stream (or fails its next write) and
         * frees the connection from its own callbacks. */
        (void)shutdown(fd, SHUT_RDWR);
    }
}

cf_status net_https_attach(struct net_worker *w, struct evconnlistener *lev)
{
    struct evhttp *http = evhttp_new(w->base);

    if (http == NULL || evhttp_bind_listener(http, lev) == NULL) {
        evconnlistener_free(lev);
        if (http)
            evhttp_free(http);
        return CF_ERR_NOMEM;
    }
    w->http = http;
    w->https_lev = lev;
    evconnlistener_set_error_cb(lev, net_listener_error_cb);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                         EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE);
    evhttp_set_max_body_size(http, NET_HTTP_MAX_BODY);
    evhttp_set_max_headers_size(http, NET_HTTP_MAX_HEADERS);
    evhttp_set_timeout(http, (int)w->srv->cfg.idle_timeout);
    evhttp_set_bevcb(http, https_bevcb, w);
    evhttp_set_gencb(http, https_gencb, w);
    return CF_OK;
}
