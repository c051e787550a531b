/*
 * net_server.c - lifecycle of the network front door: configuration,
 * binding, worker threads, signals and shutdown.
 *
 * Design:
 * - N workers, each with its own event_base and its own listening sockets
 *   bound with SO_REUSEPORT: the kernel spreads new connections over the
 *   workers, no lock on the accept path, no hand-off between threads.
 * - Binding is done synchronously by net_server_start, before any thread
 *   exists, so "address in use" is reported to the caller. SO_REUSEPORT
 *   would let a second Coffre of the same user silently share the port
 *   (and split vCenter's traffic between two key stores), so each address
 *   is first probed with a plain (SO_REUSEADDR only) bind, which fails if
 *   anything listens there. The probe also resolves port 0 to the port the
 *   kernel picked, which every worker then binds.
 * - The main thread owns a small event_base with SIGINT/SIGTERM and the
 *   read end of a pipe: net_server_stop writes one byte to it, which is
 *   async-signal-safe and thread-safe. net_server_wait then activates each
 *   worker's stop event (libevent locks the bases: evthread_use_pthreads is
 *   called before any base is created), joins the threads; each worker
 *   frees its listeners and connections and calls worker_fini on its own
 *   thread before it exits.
 * - Worker threads block the process signals so that they are handled by
 *   the main thread's event_base only.
 */
#include "net/net_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <openssl/crypto.h>

#include "util/limits.h"
#include "util/log.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_init_ok;
static _Thread_local struct net_worker *tl_worker;

static void net_global_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN; /* a peer closing mid-write must not kill the KMS */
    sigemptyset(&sa.sa_mask);
    g_init_ok = evthread_use_pthreads() == 0 && sigaction(SIGPIPE, &sa, NULL) == 0 &&
                net_tls_https_index() >= 0;
}

/* ---- configuration ---- */

static cf_status cfg_copy(struct net_server *s, const net_config *cfg)
{
    const char *src[8] = {cfg->kmip_listen, cfg->https_listen, cfg->tls.ca_file, cfg->tls.cert_file,
                          cfg->tls.key_file, cfg->tls.ciphers, cfg->tls.ciphersuites,
                          cfg->tls.crl_file};
    const char **dst[8] = {&s->cfg.kmip_listen, &s->cfg.https_listen, &s->cfg.tls.ca_file,
                           &s->cfg.tls.cert_file, &s->cfg.tls.key_file, &s->cfg.tls.ciphers,
                           &s->cfg.tls.ciphersuites, &s->cfg.tls.crl_file};
    size_t total = 1;
    char *p;

    s->cfg = *cfg;
    for (int i = 0; i < 8; i++)
        total += src[i] ? strlen(src[i]) + 1 : 0;
    if ((p = s->strings = malloc(total)) == NULL)
        return CF_ERR_NOMEM;
    for (int i = 0; i < 8; i++) {
        size_t n = src[i] ? strlen(src[i]) + 1 : 0;
        if (n) {
            memcpy(p, src[i], n);
            *dst[i] = p;
            p += n;
        }
    }
    if (s->cfg.max_message == 0)
        s->cfg.max_message = CF_LIMIT_KMIP_MESSAGE;
    if (s->cfg.max_message < 2 * NET_KMIP_HDR || s->cfg.max_message > CF_LIMIT_KMIP_MESSAGE) {
        CF_LOGE("net: max_message must be between %u and %u", 2 * NET_KMIP_HDR, CF_LIMIT_KMIP_MESSAGE);
        return CF_ERR_INVALID_FIELD;
    }
    if (s->cfg.max_connections == 0 || s->cfg.max_connections > CF_LIMIT_CONNECTIONS)
        s->cfg.max_connections = CF_LIMIT_CONNECTIONS;
    if (s->cfg.max_connections_per_address == 0 ||
        s->cfg.max_connections_per_address > s->cfg.max_connections)
        s->cfg.max_connections_per_address = s->cfg.max_connections < CF_LIMIT_CONNECTIONS_PER_ADDRESS
                                                 ? s->cfg.max_connections
                                                 : CF_LIMIT_CONNECTIONS_PER_ADDRESS;
    if (s->cfg.handshake_timeout == 0)
        s->cfg.handshake_timeout = CF_LIMIT_HANDSHAKE_TIMEOUT;
    if (s->cfg.request_timeout == 0)
        s->cfg.request_timeout = CF_LIMIT_REQUEST_TIMEOUT;
    if (s->cfg.idle_timeout == 0)
        s->cfg.idle_timeout = CF_LIMIT_IDLE_TIMEOUT;
    return CF_OK;
}

/* "host:port", "[v6]:port", ":port" (all addresses). */
static cf_status net_resolve(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *h = listen, *end, *port;
    char host[256];
    struct addrinfo hints, *ai = NULL;
    size_t hlen, plen;
    int err;

    if (listen[0] == '[') {
        h = listen + 1;
        end = strchr(h, ']');
        port = end && end[1] == ':' ? end + 2 : NULL;
    } else {
        end = strrchr(listen, ':');
        port = end && memchr(listen, ':', (size_t)(end - listen)) == NULL ? end + 1 : NULL;
    }
    plen = port ? strlen(port) : 0;
    hlen = port ? (size_t)(end - h) : 0;
    if (port == NULL || plen == 0 || plen > 5 || strspn(port, "0123456789") != plen ||
        atol(port) > 65535 || hlen >= sizeof host) {
        CF_LOGE("net: invalid listen address \"%s\" (want host:port or [v6]:port)", listen);
        return CF_ERR_INVALID_FIELD;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((err = getaddrinfo(hlen ? host : NULL, port, &hints, &ai)) != 0 || ai == NULL ||
        ai->ai_addrlen > sizeof *ss) {
        CF_LOGE("net: cannot resolve \"%s\": %s", listen, err ? gai_strerror(err) : "no address");
        if (ai)
            freeaddrinfo(ai);
        return CF_ERR_INVALID_FIELD;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return CF_OK;
}

static unsigned sa_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void sa_set_port(struct sockaddr_storage *ss, unsigned port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

/* Plain bind: fails if anything (even a SO_REUSEPORT group) listens there;
 * resolves port 0. */
static cf_status net_probe(const char *what, const char *listen, struct sockaddr_storage *ss, socklen_t len)
{
    struct sockaddr_storage got;
    socklen_t glen = sizeof got;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    cf_status rc = CF_ERR_IO;

    if (fd < 0) {
        CF_LOGE("%s: cannot create a socket for %s: %s", what, listen, strerror(errno));
        return rc;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)ss, len) != 0) {
        CF_LOGE("%s: cannot listen on %s: %s", what, listen, strerror(errno));
        goto out;
    }
    if (getsockname(fd, (struct sockaddr *)&got, &glen) != 0)
        goto out;
    sa_set_port(ss, sa_port(&got));
    rc = CF_OK;
out:
    close(fd);
    return rc;
}

static cf_status net_bind(struct net_server *s, bool https, unsigned *out_port)
{
    const char *what = https ? "https" : "kmip";
    const char *listen = https ? s->cfg.https_listen : s->cfg.kmip_listen;
    const unsigned flags = LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC |
                           LEV_OPT_CLOSE_ON_FREE;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    cf_status rc;

    if ((rc = net_resolve(listen, &ss, &len)) != CF_OK || (rc = net_probe(what, listen, &ss, len)) != CF_OK)
        return rc;
    for (unsigned i = 0; i < s->nworkers; i++) {
        struct net_worker *w = &s->workers[i];
        struct evconnlistener *lev = evconnlistener_new_bind(w->base, https ? NULL : net_kmip_accept_cb, w,
                                                             flags, NET_BACKLOG, (struct sockaddr *)&ss, (int)len);
        if (lev == NULL) {
            CF_LOGE("%s: cannot listen on %s: %s", what, listen, strerror(errno));
            return CF_ERR_IO;
        }
        if (https) {
            int one = 1; /* inherited by accepted sockets (Linux) */
            (void)setsockopt(evconnlistener_get_fd(lev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if ((rc = net_https_attach(w, lev)) != CF_OK)
                return rc;
        } else {
            w->kmip_lev = lev;
            evconnlistener_set_error_cb(lev, net_listener_error_cb);
        }
    }
    *out_port = sa_port(&ss);
    CF_LOGI("%s: listening on %s (port %u, %u workers)", what, listen, *out_port, s->nworkers);
    return CF_OK;
}

/* ---- workers ---- */

void net_listener_error_cb(struct evconnlistener *lev, void *arg)
{
    struct net_worker *w = tl_worker;
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval tv = {.tv_sec = 0, .tv_usec = NET_RELISTEN_MS * 1000};
    (void)arg;

    /* EMFILE/ENFILE/ENOBUFS: the listener stays readable, so without a
     * pause the loop would spin on accept(). */
    evconnlistener_disable(lev);
    if (w && net_ratelimit(&w->srv->accept_log_at))
        CF_LOGW("net: accept failed: %s; pausing accepts for %d ms (logged once a second)",
                evutil_socket_error_to_string(err), NET_RELISTEN_MS);
    if (w && w->relisten_ev)
        event_add(w->relisten_ev, &tv);
}

static void relisten_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_worker *w = arg;
    (void)fd;
    (void)what;

    if (w->kmip_lev)
        evconnlistener_enable(w->kmip_lev);
    if (w->https_lev)
        evconnlistener_enable(w->https_lev);
}

/* Deadlines of the worker's connections (net_guard.c). */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_worker *w = arg;
    int64_t now = net_now_ms();
    (void)fd;
    (void)what;

    net_kmip_sweep(w, now);
    net_https_sweep(w, now);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_worker *w = arg;
    (void)fd;
    (void)what;
    event_base_loopexit(w->base, NULL);
}

/* Frees what the worker serves with; idempotent. The worker thread calls
 * it on exit, net_server_free for workers that never ran. */
static void worker_teardown(struct net_worker *w)
{
    if (w->base == NULL)
        return;
    if (w->kmip_lev) {
        evconnlistener_free(w->kmip_lev);
        w->kmip_lev = NULL;
    }
    net_kmip_close_all(w);
    if (w->http) {
        evhttp_free(w->http); /* its listener and connections too */
        w->http = NULL;
        w->https_lev = NULL;
    }
    if (w->relisten_ev) {
        event_free(w->relisten_ev);
        w->relisten_ev = NULL;
    }
    if (w->sweep_ev) {
        event_free(w->sweep_ev);
        w->sweep_ev = NULL;
    }
    event_base_loop(w->base, EVLOOP_NONBLOCK); /* run the bufferevents' finalizers */
}

struct event_base *net_worker_base(void) { return tl_worker ? tl_worker->base : NULL; }

static void *worker_main(void *arg)
{
    struct net_worker *w = arg;
    struct net_server *s = w->srv;
    void *st = NULL;
    bool ok = true;

    tl_worker = w;
    if (s->h.worker_init) {
        st = s->h.worker_init(s->h.ctx, w->index);
        ok = st != NULL;
    }
    pthread_mutex_lock(&s->mu);
    w->wstate = st;
    w->init_ok = ok;
    w->init_done = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (ok && event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
        CF_LOGE("net: worker %u: event loop failed", w->index);
    if (ok && s->h.worker_drain) {
        s->h.worker_drain(st);
        event_base_loop(w->base, EVLOOP_NONBLOCK); /* send what was released */
    }
    worker_teardown(w);
    if (ok && s->h.worker_fini)
        s->h.worker_fini(st);
    OPENSSL_thread_stop();
    return NULL;
}

static cf_status workers_new(struct net_server *s)
{
    long n = s->cfg.workers ? (long)s->cfg.workers : sysconf(_SC_NPROCESSORS_ONLN);
    unsigned period = net_sweep_period_ms(s);
    struct timeval tv = {.tv_sec = (time_t)(period / 1000), .tv_usec = (suseconds_t)(period % 1000) * 1000};

    s->nworkers = (unsigned)(n < 1 ? 1 : n > NET_MAX_WORKERS ? NET_MAX_WORKERS : n);
    if ((s->workers = calloc(s->nworkers, sizeof *s->workers)) == NULL)
        return CF_ERR_NOMEM;
    for (unsigned i = 0; i < s->nworkers; i++) {
        struct net_worker *w = &s->workers[i];
        w->srv = s;
        w->index = i;
        if ((w->base = event_base_new()) == NULL ||
            (w->stop_ev = event_new(w->base, -1, 0, stop_cb, w)) == NULL ||
            (w->relisten_ev = evtimer_new(w->base, relisten_cb, w)) == NULL ||
            (w->sweep_ev = event_new(w->base, -1, EV_PERSIST, sweep_cb, w)) == NULL)
            return CF_ERR_NOMEM;
        if (event_add(w->sweep_ev, &tv) != 0)
            return CF_ERR_INTERNAL;
    }
    return CF_OK;
}

static cf_status workers_start(struct net_server *s)
{
    sigset_t block, old;
    cf_status rc = CF_OK;
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE};

    sigemptyset(&block);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&block, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old); /* inherited by the workers */
    for (unsigned i = 0; i < s->nworkers && rc == CF_OK; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0) {
            CF_LOGE("net: cannot start worker thread %u", i);
            rc = CF_ERR_INTERNAL;
        } else {
            s->workers[i].started = true;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_lock(&s->mu);
    for (unsigned i = 0; i < s->nworkers; i++) {
        while (s->workers[i].started && !s->workers[i].init_done)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->workers[i].started && !s->workers[i].init_ok && rc == CF_OK) {
            CF_LOGE("net: worker %u failed to initialise", i);
            rc = CF_ERR_INTERNAL;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void workers_stop(struct net_server *s)
{
    if (s->workers_stopped || s->workers == NULL)
        return;
    s->workers_stopped = true;
    for (unsigned i = 0; i < s->nworkers; i++)
        if (s->workers[i].started)
            event_active(s->workers[i].stop_ev, EV_READ, 0);
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (s->workers[i].started) {
            pthread_join(s->workers[i].thread, NULL);
            s->workers[i].started = false;
        }
    }
}

/* ---- main thread: signals and stop pipe ---- */

static void main_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_server *s = arg;
    char drain[64];

    if (what & EV_SIGNAL) {
        CF_LOGI("net: signal %d received: stopping", (int)fd);
    } else {
        while (read(fd, drain, sizeof drain) > 0)
            ;
        CF_LOGI("net: stop requested: stopping");
    }
    event_base_loopbreak(s->main_base);
}

static cf_status main_setup(struct net_server *s)
{
    if (pipe2(s->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        s->stop_pipe[0] = s->stop_pipe[1] = -1;
        CF_LOGE("net: pipe: %s", strerror(errno));
        return CF_ERR_IO;
    }
    if ((s->main_base = event_base_new()) == NULL ||
        (s->pipe_ev = event_new(s->main_base, s->stop_pipe[0], EV_READ | EV_PERSIST, main_wake_cb, s)) == NULL ||
        (s->sig_int = evsignal_new(s->main_base, SIGINT, main_wake_cb, s)) == NULL ||
        (s->sig_term = evsignal_new(s->main_base, SIGTERM, main_wake_cb, s)) == NULL)
        return CF_ERR_NOMEM;
    if (event_add(s->pipe_ev, NULL) != 0 || event_add(s->sig_int, NULL) != 0 ||
        event_add(s->sig_term, NULL) != 0)
        return CF_ERR_INTERNAL;
    return CF_OK;
}

/* Each connection holds a descriptor: raise the soft limit when the hard
 * limit allows, otherwise say that max_connections cannot be reached. */
static void check_nofile(const struct net_server *s)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)s->cfg.max_connections * (s->cfg.https_listen ? 2 : 1) + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
            CF_LOGI("net: raised RLIMIT_NOFILE from %llu to %llu for max_connections",
                    (unsigned long long)old, (unsigned long long)need);
            return;
        }
    }
    CF_LOGW("net: RLIMIT_NOFILE is %llu but max_connections needs about %llu descriptors",
            (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}

/* ---- public API ---- */

cf_status net_server_start(const net_config *cfg, const net_handlers *h, net_server **out)
{
    struct net_server *s = NULL;
    cf_status rc = CF_ERR_INVALID_FIELD;

    if (out == NULL || cfg == NULL || h == NULL || h->kmip == NULL || cfg->kmip_listen == NULL) {
        CF_LOGE("net: start needs a config with kmip_listen and a kmip handler");
        return rc;
    }
    *out = NULL;
    pthread_once(&g_once, net_global_init);
    rc = CF_ERR_INTERNAL;
    if (!g_init_ok)
        goto out;
    rc = CF_ERR_NOMEM;
    if ((s = calloc(1, sizeof *s)) == NULL)
        goto out;
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    s->h = *h;
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        goto out;
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        goto out;
    }
    s->sync_init = true;
    if ((rc = cfg_copy(s, cfg)) != CF_OK)
        goto out;
    if ((rc = net_addrs_init(s)) != CF_OK)
        goto out;
    if ((rc = net_tls_ctx_new(&s->cfg.tls, false, &s->kmip_ctx)) != CF_OK)
        goto out;
    if (s->cfg.https_listen && (rc = net_tls_ctx_new(&s->cfg.tls, true, &s->https_ctx)) != CF_OK)
        goto out;
    if ((rc = workers_new(s)) != CF_OK)
        goto out;
    if ((rc = net_bind(s, false, &s->kmip_port)) != CF_OK)
        goto out;
    if (s->cfg.https_listen && (rc = net_bind(s, true, &s->https_port)) != CF_OK)
        goto out;
    if ((rc = main_setup(s)) != CF_OK)
        goto out;
    check_nofile(s);
    if ((rc = workers_start(s)) != CF_OK)
        goto out;
    *out = s;
    s = NULL;
out:
    net_server_free(s);
    return rc;
}

cf_status net_server_wait(net_server *s)
{
    if (s == NULL)
        return CF_ERR_INTERNAL;
    if (!s->workers_stopped && event_base_dispatch(s->main_base) < 0) {
        CF_LOGE("net: main event loop failed");
        return CF_ERR_INTERNAL;
    }
    workers_stop(s);
    return CF_OK;
}

void net_server_stop(net_server *s)
{
    int saved = errno;

    if (s && s->stop_pipe[1] >= 0) {
        ssize_t r = write(s->stop_pipe[1], "x", 1); /* full pipe: a wake-up is already pending */
        (void)r;
    }
    errno = saved;
}

static void main_free(struct net_server *s)
{
    if (s->pipe_ev)
        event_free(s->pipe_ev);
    if (s->sig_int)
        event_free(s->sig_int);
    if (s->sig_term)
        event_free(s->sig_term);
    if (s->main_base)
        event_base_free(s->main_base);
    for (int i = 0; i < 2; i++)
        if (s->stop_pipe[i] >= 0)
            close(s->stop_pipe[i]);
}

void net_server_free(net_server *s)
{
    if (s == NULL)
        return;
    workers_stop(s);
    for (unsigned i = 0; s->workers && i < s->nworkers; i++) {
        struct net_worker *w = &s->workers[i];
        worker_teardown(w); /* no-op for workers that ran */
        if (w->stop_ev)
            event_free(w->stop_ev);
        if (w->base)
            event_base_free(w->base); /* runs pending finalizers (SSL_free) */
    }
    free(s->workers);
    net_addrs_free(s); /* after the connections: their finalizers release */
    main_free(s);
    SSL_CTX_free(s->kmip_ctx);
    SSL_CTX_free(s->https_ctx);
    if (s->sync_init) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
    }
    free(s->strings);
    free(s);
}

unsigned net_server_kmip_port(const net_server *s)
{
    return s ? s->kmip_port : 0;
}

unsigned net_server_https_port(const net_server *s)
{
    return s ? s->https_port : 0;
}
