/*
 * limit_server.c - a KMIP-shaped mutual-TLS server that does no KMS work:
 * the machine's upper bound for kmip_bench.
 *
 * Usage: limit_server --listen HOST:PORT --ca CA --cert CRT --key KEY [--threads N]
 *
 * It reads each framed TTLV message (8-byte header, then the declared
 * length) and answers with a canned, valid KMIP Response Message for the
 * request's operation and protocol version: Create -> a Unique Identifier,
 * Get -> a 256-bit AES Symmetric Key, Locate -> one Unique Identifier,
 * Discover Versions -> 1.4 to 1.0, anything else -> Operation Not
 * Supported. The operation and version are found by looking for their exact
 * 16-byte items in the request; nothing is decoded, stored or encrypted.
 *
 * Design: the same TLS settings as Coffre's KMIP listener (TLS 1.2 and 1.3,
 * client certificate required and verified, the same TLS 1.2 cipher list,
 * session id context, server session cache and tickets, no renegotiation),
 * and the same I/O shape (libevent bufferevent_openssl, one event loop per
 * thread, each with its own SO_REUSEPORT listener), so that the difference
 * between it and Coffre is what Coffre does per request and nothing else.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench_ttlv.h"

#define LS_MAX_MESSAGE (64u * 1024u) /* every request kmip_bench sends fits many times over */
#define LS_MAX_THREADS 64
#define LS_SID "kmip-limit"
#define LS_SESS_CACHE 20480
#define LS_NVERSIONS 5                 /* KMIP 1.0 .. 1.4 */

enum ls_kind { LS_CREATE, LS_GET, LS_LOCATE, LS_DISCOVER, LS_OTHER, LS_NKINDS };

static const uint32_t ls_kind_op[LS_NKINDS] = {OP_CREATE, OP_GET, OP_LOCATE, OP_DISCOVER_VERSIONS, 0};

/* Canned responses, by operation and minor version (built once at start). */
static struct bt_w g_resp[LS_NKINDS][LS_NVERSIONS];
static SSL_CTX *g_ctx;

static const char ls_ciphers[] =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256";

/* ------------------------------------------------------------ responses */

static void ls_payload(struct bt_w *w, enum ls_kind k)
{
    static const uint8_t key[32] = {0x6b, 0x6d, 0x69, 0x70, 0x2d, 0x6c, 0x69, 0x6d, 0x69, 0x74};
    w_begin(w, TAG_RESPONSE_PAYLOAD);
    switch (k) {
    case LS_CREATE:
        w_u32(w, TAG_OBJECT_TYPE, TYPE_ENUMERATION, 2); /* Symmetric Key */
        w_text(w, TAG_UNIQUE_IDENTIFIER, "1");
        break;
    case LS_GET:
        w_u32(w, TAG_OBJECT_TYPE, TYPE_ENUMERATION, 2);
        w_text(w, TAG_UNIQUE_IDENTIFIER, "1");
        w_begin(w, TAG_SYMMETRIC_KEY);
        w_begin(w, TAG_KEY_BLOCK);
        w_u32(w, TAG_KEY_FORMAT_TYPE, TYPE_ENUMERATION, 1); /* Raw */
        w_begin(w, TAG_KEY_VALUE);
        w_bytes(w, TAG_KEY_MATERIAL, key, sizeof key);
        w_end(w);
        w_u32(w, TAG_CRYPTOGRAPHIC_ALGORITHM, TYPE_ENUMERATION, 3); /* AES */
        w_u32(w, TAG_CRYPTOGRAPHIC_LENGTH, TYPE_INTEGER, 256);
        w_end(w);
        w_end(w);
        break;
    case LS_LOCATE:
        w_text(w, TAG_UNIQUE_IDENTIFIER, "1");
        break;
    default:
        for (int minor = 4; minor >= 0; minor--) {
            w_begin(w, TAG_PROTOCOL_VERSION);
            w_u32(w, TAG_PROTOCOL_VERSION_MAJOR, TYPE_INTEGER, 1);
            w_u32(w, TAG_PROTOCOL_VERSION_MINOR, TYPE_INTEGER, (uint32_t)minor);
            w_end(w);
        }
        break;
    }
    w_end(w);
}

static bool ls_build(struct bt_w *w, enum ls_kind k, int minor)
{
    memset(w, 0, sizeof *w);
    w_begin(w, TAG_RESPONSE_MESSAGE);
    w_begin(w, TAG_RESPONSE_HEADER);
    w_begin(w, TAG_PROTOCOL_VERSION);
    w_u32(w, TAG_PROTOCOL_VERSION_MAJOR, TYPE_INTEGER, 1);
    w_u32(w, TAG_PROTOCOL_VERSION_MINOR, TYPE_INTEGER, (uint32_t)minor);
    w_end(w);
    w_u64(w, TAG_TIME_STAMP, TYPE_DATE_TIME, (uint64_t)time(NULL));
    w_u32(w, TAG_BATCH_COUNT, TYPE_INTEGER, 1);
    w_end(w);
    w_begin(w, TAG_BATCH_ITEM);
    if (k != LS_OTHER) {
        w_u32(w, TAG_OPERATION, TYPE_ENUMERATION, ls_kind_op[k]);
        w_u32(w, TAG_RESULT_STATUS, TYPE_ENUMERATION, 0); /* Success */
        ls_payload(w, k);
    } else {
        w_u32(w, TAG_RESULT_STATUS, TYPE_ENUMERATION, 1); /* Operation Failed */
        w_u32(w, TAG_RESULT_REASON, TYPE_ENUMERATION, 5); /* Operation Not Supported */
        w_text(w, TAG_RESULT_MESSAGE, "limit server: operation not supported");
    }
    w_end(w);
    w_end(w);
    return !w->failed && w->depth == 0;
}

/* Does msg hold the 16-byte item tag/type/len=4/value? */
static bool ls_has_u32(const uint8_t *msg, size_t len, uint32_t tag, uint8_t type, uint32_t v)
{
    const uint8_t item[12] = {(uint8_t)(tag >> 16), (uint8_t)(tag >> 8), (uint8_t)tag, type, 0, 0, 0, 4,
                              (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return memmem(msg, len, item, sizeof item) != NULL;
}

static const struct bt_w *ls_pick(const uint8_t *msg, size_t len)
{
    int minor = 0;
    enum ls_kind k = LS_OTHER;
    for (int i = LS_NVERSIONS - 1; i > 0; i--)
        if (ls_has_u32(msg, len, TAG_PROTOCOL_VERSION_MINOR, TYPE_INTEGER, (uint32_t)i)) {
            minor = i;
            break;
        }
    for (int i = 0; i < LS_OTHER; i++)
        if (ls_has_u32(msg, len, TAG_OPERATION, TYPE_ENUMERATION, ls_kind_op[i])) {
            k = (enum ls_kind)i;
            break;
        }
    return &g_resp[k][minor];
}

/* ------------------------------------------------------------------ I/O */

static void ls_close(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl) {
        /* Answer the client's close_notify: a session freed without one is
         * dropped from the server cache (OpenSSL's ssl_clear_bad_session). */
        SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
        SSL_shutdown(ssl);
    }
    ERR_clear_error();
    bufferevent_free(bev);
}

static void ls_read_cb(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    uint8_t msg[LS_MAX_MESSAGE];
    (void)arg;
    for (;;) {
        uint8_t hdr[8];
        size_t have = evbuffer_get_length(in);
        if (have < 8 || evbuffer_copyout(in, hdr, 8) != 8)
            return;
        size_t total = 8 + (size_t)be32(hdr + 4);
        if (hdr[3] != TYPE_STRUCTURE || total > sizeof msg) {
            ls_close(bev);
            return;
        }
        if (have < total)
            return;
        evbuffer_remove(in, msg, total);
        const struct bt_w *r = ls_pick(msg, total);
        bufferevent_write(bev, r->b, r->len);
    }
}

static void ls_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        ls_close(bev);
}

static void ls_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                         void *arg)
{
    struct event_base *base = evconnlistener_get_base(l);
    SSL *ssl = SSL_new(g_ctx);
    struct bufferevent *bev;
    int one = 1;
    struct timeval idle = {.tv_sec = 60};
    (void)sa, (void)salen, (void)arg;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!ssl) {
        evutil_closesocket(fd);
        return;
    }
    bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        evutil_closesocket(fd);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    bufferevent_setcb(bev, ls_read_cb, NULL, ls_event_cb, NULL);
    bufferevent_set_timeouts(bev, &idle, &idle);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void *ls_worker(void *arg)
{
    event_base_dispatch(arg);
    return NULL;
}

/* ------------------------------------------------------------------ setup */

static SSL_CTX *ls_ctx_new(const char *ca, const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    STACK_OF(X509_NAME) *names = NULL;
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1 ||
        SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 || (names = SSL_load_client_CA_file(ca)) == NULL ||
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)LS_SID, sizeof LS_SID - 1) != 1 ||
        SSL_CTX_set_cipher_list(ctx, ls_ciphers) != 1) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CLEANSE_PLAINTEXT);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, LS_SESS_CACHE);
    return ctx;
}

static bool ls_parse_listen(const char *s, struct sockaddr_storage *ss, int *out_len)
{
    int len = (int)sizeof *ss;
    memset(ss, 0, sizeof *ss);
    if (evutil_parse_sockaddr_port(s, (struct sockaddr *)ss, &len) != 0)
        return false;
    *out_len = len;
    return true;
}

/* One event loop and one SO_REUSEPORT listener per thread. */
static bool ls_start_workers(const char *listen_on, const struct sockaddr_storage *ss, int sslen, long nthreads)
{
    const unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT;
    for (long i = 0; i < nthreads; i++) {
        struct event_base *base = event_base_new();
        struct evconnlistener *l = NULL;
        pthread_t tid;
        if (base)
            l = evconnlistener_new_bind(base, ls_accept_cb, NULL, flags, 1024, (const struct sockaddr *)ss, sslen);
        if (!l) {
            fprintf(stderr, "limit_server: cannot listen on %s: %s\n", listen_on, strerror(errno));
            return false;
        }
        if (pthread_create(&tid, NULL, ls_worker, base) != 0)
            return false;
        pthread_detach(tid);
    }
    return true;
}

static void ls_usage(void)
{
    fprintf(stderr, "usage: limit_server --listen HOST:PORT --ca CA.pem --cert SERVER.pem --key SERVER.key "
                    "[--threads N]\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"listen", required_argument, NULL, 'l'}, {"ca", required_argument, NULL, 'a'},
        {"cert", required_argument, NULL, 'c'},   {"key", required_argument, NULL, 'k'},
        {"threads", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
    const char *listen_on = NULL, *ca = NULL, *cert = NULL, *key = NULL;
    long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    struct sockaddr_storage ss;
    int sslen, c, sig;
    sigset_t set;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'l': listen_on = optarg; break;
        case 'a': ca = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 't': nthreads = strtol(optarg, NULL, 10); break;
        default: ls_usage(); return 2;
        }
    }
    if (!listen_on || !ca || !cert || !key || nthreads < 1 || nthreads > LS_MAX_THREADS ||
        !ls_parse_listen(listen_on, &ss, &sslen)) {
        ls_usage();
        return 2;
    }
    for (int k = 0; k < LS_NKINDS; k++)
        for (int v = 0; v < LS_NVERSIONS; v++)
            if (!ls_build(&g_resp[k][v], (enum ls_kind)k, v))
                return 1;
    if ((g_ctx = ls_ctx_new(ca, cert, key)) == NULL)
        return 1;
    /* Workers never see SIGINT/SIGTERM: the main thread waits for them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!ls_start_workers(listen_on, &ss, sslen, nthreads))
        return 1;
    printf("limit_server: listening on %s with %ld threads\n", listen_on, nthreads);
    fflush(stdout);
    sigwait(&set, &sig);
    return 0;
}
