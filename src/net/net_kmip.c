/*
 * net_kmip.c - one KMIP connection: TLS accept, TTLV framing, handler call,
 * response hand-off, timeouts and close.
 *
 * Design:
 * - Framing (KMIP 1.4 section 9.1.1 / 2.1 section 9: every message is one
 *   TTLV Structure): the 8-byte header is peeked, the type must be 0x01 and
 *   the declared length must fit max_message BEFORE the body is waited for.
 *   A header that fails cannot be answered (we cannot find the end of the
 *   message to resynchronise), so the connection is closed after the
 *   responses already queued are flushed. While a body is incomplete the
 *   read low watermark is the whole message, so the callback runs once per
 *   message instead of once per TLS record.
 * - Zero copy when the message is contiguous in the input evbuffer (the
 *   usual case: one chain per SSL_read); otherwise it is copied into a
 *   per-connection buffer. Either way the bytes are cleansed in place in the
 *   evbuffer before being drained: requests carry key material (Register)
 *   and libevent frees chains without wiping them. OpenSSL's own record
 *   buffer is wiped by SSL_OP_CLEANSE_PLAINTEXT (net_tls.c).
 * - The response cf_buf is handed to the output evbuffer by reference
 *   (evbuffer_add_reference) with a cleanup that cleanses and frees it once
 *   written: no copy, and no plaintext key material left in a freed chain.
 *   The connection starts a fresh cf_buf for the next response.
 * - Messages pipelined in one read are handled in order; above NET_OUT_HIGH
 *   bytes of unsent responses reading pauses until the client drains them.
 * - Callbacks are not deferred (BEV_OPT_DEFER_CALLBACKS): measured, deferral
 *   costs an extra trip through the event loop per message and buys nothing
 *   here since every path that frees a connection returns at once.
 * - Hostile peers (net_guard.c): the source address is counted at accept
 *   (over the per-address limit the connection is closed at once, as over
 *   the total), the handshake and each message have deadlines checked by
 *   the worker's sweep (net_kmip_sweep), and a frame over
 *   CF_LIMIT_KMIP_MESSAGE_PREAUTH is read only from a peer whose
 *   certificate maps to an identity (the kmip_known handler).
 * - Sessions stay resumable: a connection that ends normally (EOF, idle
 *   timeout, close after a response) is marked shut down, otherwise
 *   SSL_free would evict its session from the cache (vCenter reconnects for
 *   every operation). Protocol errors evict it, as OpenSSL intends.
 */
#include "net/net_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "util/limits.h"
#include "util/log.h"

#define NET_KMIP_BEV_OPTS (BEV_OPT_CLOSE_ON_FREE)

typedef enum kconn_end {
    KCONN_ABORT,  /* error: no close_notify, session evicted */
    KCONN_EOF,    /* peer closed: keep the session */
    KCONN_CLOSE,  /* we close: send close_notify if nothing is pending */
} kconn_end;

struct net_kconn {
    struct net_worker *w;
    struct bufferevent *bev;
    struct net_kconn *prev, *next;
    net_peer peer;
    cf_buf in;     /* copy of a message split over several chains */
    cf_buf out;    /* the handler's response, handed off by reference */
    size_t wm;     /* current read low watermark */
    bool open;     /* handshake done and peer filled */
    bool closing;  /* flush the output, then free */
    bool paused;   /* reading stopped: too much unsent output */
    bool known;    /* kmip_known said the certificate maps to an identity */
    bool held;     /* the handler holds the response (net_kmip_hold) */
    bool dead;     /* freed while held: only the struct is left, for release */
    struct net_guard guard; /* handshake and request deadlines */
    struct net_addr addr;   /* source, counted in the per-address table */
};

static void kconn_process(struct net_kconn *c);

static void buf_cleanse_free(const void *data, size_t len, void *extra)
{
    (void)extra;
    cf_cleanse((void *)data, len);
    free((void *)data);
}

/* Cleanses the first n bytes of b in place, then drains them. */
static void evbuf_cleanse_drain(struct evbuffer *b, size_t n)
{
    while (n > 0) {
        struct evbuffer_iovec v[8];
        int k = evbuffer_peek(b, (ev_ssize_t)n, NULL, v, 8);
        size_t done = 0;

        if (k <= 0)
            break;
        for (int i = 0; i < k && i < 8 && done < n; i++) {
            size_t l = v[i].iov_len < n - done ? v[i].iov_len : n - done;
            cf_cleanse(v[i].iov_base, l);
            done += l;
        }
        evbuffer_drain(b, done);
        n -= done;
    }
}

static void kconn_free(struct net_kconn *c, kconn_end how)
{
    struct net_worker *w = c->w;
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

    if (ssl && c->open && how != KCONN_ABORT) {
        ERR_clear_error();
        if (how == KCONN_CLOSE && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
            SSL_shutdown(ssl); /* close_notify, non-blocking, best effort */
        SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        ERR_clear_error();
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    evbuf_cleanse_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
    bufferevent_free(c->bev); /* unsent responses are cleansed by buf_cleanse_free */
    cf_buf_free(&c->in);
    net_addr_release(w->srv, &c->addr, false);
    atomic_fetch_sub(&w->srv->kmip_conns, 1);
    if (c->held) { /* the handler will release it: keep the struct till then */
        c->dead = true;
        c->bev = NULL;
        return;
    }
    cf_buf_free(&c->out);
    free(c);
}

/* Close once the queued responses are written (write_cb frees). */
static void kconn_close(struct net_kconn *c)
{
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        kconn_free(c, KCONN_CLOSE);
}

static void kconn_want(struct net_kconn *c, size_t n)
{
    if (c->wm != n) {
        bufferevent_setwatermark(c->bev, EV_READ, n, 0);
        c->wm = n;
    }
}

static void kconn_timeouts(struct net_kconn *c, unsigned secs)
{
    struct timeval tv = {.tv_sec = (time_t)secs, .tv_usec = 0};
    bufferevent_set_timeouts(c->bev, &tv, &tv);
}

/* A frame over the pre-authentication limit from a peer not yet known:
 * ask whether its certificate maps to an identity (net.h kmip_known). */
static bool kconn_known(struct net_kconn *c)
{
    struct net_server *s = c->w->srv;

    if (!c->known && (s->h.kmip_known == NULL || s->h.kmip_known(c->w->wstate, &c->peer)))
        c->known = true;
    return c->known;
}

static bool kconn_header_ok(struct net_kconn *c, const uint8_t *hdr, size_t *out_total)
{
    size_t len = cf_be32(hdr + 4);
    size_t max = c->w->srv->cfg.max_message;

    if (hdr[3] != NET_TTLV_STRUCTURE) {
        CF_LOGI("kmip: %s (%s) sent a message that is not a TTLV structure (type 0x%02x): closing",
                c->peer.addr, c->peer.subject, hdr[3]);
        return false;
    }
    if (len > max - NET_KMIP_HDR) {
        CF_LOGW("kmip: %s (%s) declared a %zu-byte message, limit %zu: closing", c->peer.addr,
                c->peer.subject, len + NET_KMIP_HDR, max);
        return false;
    }
    if (len > CF_LIMIT_KMIP_MESSAGE_PREAUTH - NET_KMIP_HDR && !kconn_known(c)) {
        CF_LOGW("kmip: %s (%s) declared a %zu-byte message; an unregistered certificate is "
                "limited to %u bytes: closing", c->peer.addr, c->peer.subject, len + NET_KMIP_HDR,
                CF_LIMIT_KMIP_MESSAGE_PREAUTH);
        return false;
    }
    *out_total = NET_KMIP_HDR + len;
    return true;
}

/* Queues the handler's response; false: nothing to send, close. */
static bool kconn_respond(struct net_kconn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);

    if (c->out.failed) {
        CF_LOGE("kmip: response to %s exceeded %zu bytes or memory: closing", c->peer.addr,
                (size_t)CF_LIMIT_RESPONSE);
        cf_buf_reset(&c->out);
        return false;
    }
    if (c->out.len == 0)
        return false;
    if (evbuffer_add_reference(out, c->out.p, c->out.len, buf_cleanse_free, NULL) != 0) {
        CF_LOGE("kmip: cannot queue response to %s: closing", c->peer.addr);
        cf_buf_reset(&c->out);
        return false;
    }
    cf_buf_init(&c->out, CF_LIMIT_RESPONSE); /* the evbuffer owns the old block */
    return true;
}

/* Hands the complete message at the head of `in` to the handler; false:
 * close. A held response (c->held) is sent by net_kmip_release. */
static bool kconn_handle(struct net_kconn *c, struct evbuffer *in, size_t total)
{
    struct net_worker *w = c->w;
    struct evbuffer_iovec v;
    const uint8_t *msg;

    if (evbuffer_peek(in, (ev_ssize_t)total, NULL, &v, 1) == 1 && v.iov_len >= total) {
        msg = v.iov_base;
    } else {
        if (!cf_buf_reserve(&c->in, total)) {
            CF_LOGE("kmip: no memory for a %zu-byte message from %s: closing", total, c->peer.addr);
            return false;
        }
        evbuffer_copyout(in, c->in.p, total);
        c->in.len = total;
        msg = c->in.p;
    }
    w->srv->h.kmip(w->wstate, &c->peer, msg, total, &c->out, c);
    net_guard_mark(&c->guard, bufferevent_openssl_get_ssl(c->bev));
    evbuf_cleanse_drain(in, total);
    if (c->in.cap > NET_IN_KEEP)
        cf_buf_free(&c->in);
    else
        cf_buf_reset(&c->in);
    return c->held || kconn_respond(c);
}

void net_kmip_hold(net_kconn *c)
{
    c->held = true;
    bufferevent_disable(c->bev, EV_READ); /* one message at a time, in order */
}

void net_kmip_release(net_kconn *c, bool ok)
{
    c->held = false;
    if (c->dead) {
        cf_buf_free(&c->out);
        free(c);
        return;
    }
    if (!ok) {
        CF_LOGE("kmip: %s: the answer's audit record or writes could not be made durable: "
                "closing without answering", c->peer.addr);
        cf_buf_reset(&c->out);
        kconn_close(c);
        return;
    }
    if (!kconn_respond(c)) {
        kconn_close(c);
        return;
    }
    if (!c->paused)
        bufferevent_enable(c->bev, EV_READ);
    kconn_process(c);
}

static void kconn_process(struct net_kconn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    uint8_t hdr[NET_KMIP_HDR];
    size_t total = 0;

    if (c->closing || c->held)
        return;
    for (;;) {
        if (evbuffer_get_length(out) >= NET_OUT_HIGH) {
            CF_LOGD("kmip: %s: %zu bytes unsent, pausing reads", c->peer.addr, evbuffer_get_length(out));
            c->paused = true;
            bufferevent_disable(c->bev, EV_READ);
            return;
        }
        if (evbuffer_get_length(in) < NET_KMIP_HDR) {
            kconn_want(c, NET_KMIP_HDR);
            return;
        }
        evbuffer_copyout(in, hdr, sizeof hdr);
        if (!kconn_header_ok(c, hdr, &total))
            break;
        if (evbuffer_get_length(in) < total) {
            kconn_want(c, total);
            return;
        }
        if (!kconn_handle(c, in, total))
            break;
        if (c->held)
            return;
    }
    kconn_close(c); /* may free c */
}

static cf_status kconn_open(struct net_kconn *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    cf_status rc = net_tls_fill_peer(ssl, &c->peer);

    if (rc == CF_OK && !c->peer.has_cert)
        rc = CF_ERR_AUTH; /* impossible with FAIL_IF_NO_PEER_CERT; never serve anonymously */
    if (rc != CF_OK) {
        CF_LOGW("kmip: %s: client certificate unusable (%s): closing", c->peer.addr, cf_status_str(rc));
        return rc;
    }
    c->open = true;
    net_guard_mark(&c->guard, ssl);
    kconn_timeouts(c, c->w->srv->cfg.idle_timeout);
    kconn_want(c, NET_KMIP_HDR);
    CF_LOGD("kmip: %s connected as %s (%s%s)", c->peer.addr, c->peer.subject, SSL_get_version(ssl),
            SSL_session_reused(ssl) ? ", resumed" : "");
    return CF_OK;
}

static void kconn_log_failure(struct net_kconn *c, short what)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    char why[512] = "";
    unsigned long e;
    int serr = EVUTIL_SOCKET_ERROR();

    /* libevent moved the queue into the bufferevent; take what is left too
     * so nothing leaks into the next connection handled on this thread. */
    while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
        if (ERR_GET_LIB(e) != 0)
            net_tls_err_text(e, why, sizeof why);
    while ((e = ERR_get_error()) != 0)
        net_tls_err_text(e, why, sizeof why);
    if (vr != X509_V_OK) {
        size_t used = strlen(why);
        snprintf(why + used, sizeof why - used, "%s%s", used ? "; " : "",
                 X509_verify_cert_error_string(vr));
    }
    if (why[0] == '\0')
        snprintf(why, sizeof why, "%s",
                 (what & BEV_EVENT_TIMEOUT) ? "handshake timeout"
                 : (what & BEV_EVENT_EOF)   ? "connection closed by peer"
                 : serr != 0 && serr != EAGAIN ? evutil_socket_error_to_string(serr)
                                               : "connection error");
    CF_LOGI("kmip: TLS handshake failed from %s: %s", c->peer.addr, why);
}

static void kconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct net_kconn *c = arg;
    (void)bev;

    if (what & BEV_EVENT_CONNECTED) {
        if (kconn_open(c) != CF_OK)
            kconn_free(c, KCONN_ABORT);
        return;
    }
    if (!c->open) {
        kconn_log_failure(c, what);
        kconn_free(c, KCONN_ABORT);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        CF_LOGD("kmip: %s idle for %us: closing", c->peer.addr, c->w->srv->cfg.idle_timeout);
        kconn_free(c, KCONN_CLOSE);
    } else if (what & BEV_EVENT_EOF) {
        CF_LOGD("kmip: %s closed the connection", c->peer.addr);
        kconn_free(c, KCONN_EOF);
    } else {
        unsigned long e;
        while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
            ;
        CF_LOGD("kmip: %s connection error", c->peer.addr);
        ERR_clear_error();
        kconn_free(c, KCONN_ABORT);
    }
}

static void kconn_read_cb(struct bufferevent *bev, void *arg)
{
    struct net_kconn *c = arg;
    (void)bev;

    if (!c->open && kconn_open(c) != CF_OK) {
        kconn_free(c, KCONN_ABORT);
        return;
    }
    kconn_process(c);
}

/* Called when the output drained completely. */
static void kconn_write_cb(struct bufferevent *bev, void *arg)
{
    struct net_kconn *c = arg;
    (void)bev;

    if (c->closing) {
        kconn_free(c, KCONN_CLOSE);
    } else if (c->paused) {
        c->paused = false;
        bufferevent_enable(c->bev, EV_READ);
        kconn_process(c);
    }
}

static cf_status kconn_new(struct net_worker *w, evutil_socket_t fd, const struct sockaddr *sa,
                           const struct net_addr *addr)
{
    struct net_kconn *c = calloc(1, sizeof *c);
    SSL *ssl = NULL;

    if (c == NULL)
        goto fail;
    c->addr = *addr;
    net_guard_init(&c->guard);
    ERR_clear_error();
    if ((ssl = SSL_new(w->srv->kmip_ctx)) == NULL)
        goto fail;
    c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, NET_KMIP_BEV_OPTS);
    if (c->bev == NULL) /* libevent freed ssl (CLOSE_ON_FREE) but not fd */
        goto fail;
    c->w = w;
    net_format_addr(sa, c->peer.addr, sizeof c->peer.addr);
    cf_buf_init(&c->in, w->srv->cfg.max_message);
    cf_buf_init(&c->out, CF_LIMIT_RESPONSE);
    bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1); /* KMIP framing is self-delimiting */
    bufferevent_setcb(c->bev, kconn_read_cb, kconn_write_cb, kconn_event_cb, c);
    kconn_timeouts(c, w->srv->cfg.handshake_timeout);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    return CF_OK;
fail:
    net_tls_log_errors(CF_LOG_ERROR, "kmip: cannot set up a connection");
    evutil_closesocket(fd);
    free(c);
    return CF_ERR_NOMEM;
}

/* Over the total or the per-address limit: closed at once (logged at
 * most once a second per kind). */
static void kmip_refuse(struct net_server *s, evutil_socket_t fd, const struct sockaddr *sa,
                        bool per_address)
{
    if (net_ratelimit(per_address ? &s->kmip_addr_log_at : &s->kmip_limit_log_at)) {
        char addr[64];
        net_format_addr(sa, addr, sizeof addr);
        if (per_address)
            CF_LOGW("kmip: %s has %u connections, the per-address limit: refusing more "
                    "(logged once a second)", addr, s->cfg.max_connections_per_address);
        else
            CF_LOGW("kmip: connection limit (%u) reached: refusing %s (logged once a second)",
                    s->cfg.max_connections, addr);
    }
    evutil_closesocket(fd);
}

void net_kmip_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                        int socklen, void *arg)
{
    struct net_worker *w = arg;
    struct net_server *s = w->srv;
    unsigned n = atomic_fetch_add(&s->kmip_conns, 1) + 1;
    struct net_addr addr;
    int one = 1;
    (void)lev;
    (void)socklen;

    if (n > s->cfg.max_connections) {
        atomic_fetch_sub(&s->kmip_conns, 1);
        kmip_refuse(s, fd, sa, false);
        return;
    }
    net_addr_of(sa, &addr);
    if (!net_addr_acquire(s, &addr, false)) {
        atomic_fetch_sub(&s->kmip_conns, 1);
        kmip_refuse(s, fd, sa, true);
        return;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (kconn_new(w, fd, sa, &addr) != CF_OK) {
        net_addr_release(s, &addr, false);
        atomic_fetch_sub(&s->kmip_conns, 1);
    }
}

void net_kmip_sweep(struct net_worker *w, int64_t now_ms)
{
    struct net_kconn *c = w->conns, *next;

    for (; c != NULL; c = next) {
        const char *why;
        next = c->next;
        if (c->closing)
            continue;
        why = net_guard_check(&c->guard, bufferevent_openssl_get_ssl(c->bev), w->srv, now_ms);
        if (why == NULL)
            continue;
        CF_LOGI("kmip: %s%s%s: %s: closing", c->peer.addr, c->open ? " " : "",
                c->open ? c->peer.subject : "", why);
        kconn_free(c, KCONN_ABORT);
    }
}

void net_kmip_close_all(struct net_worker *w)
{
    while (w->conns)
        kconn_free(w->conns, w->conns->open ? KCONN_CLOSE : KCONN_ABORT);
}
