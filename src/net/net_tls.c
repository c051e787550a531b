/*
 * net_tls.c - the two server SSL_CTXs and the TLS helpers of src/net.
 *
 * Design:
 * - One SSL_CTX per protocol, shared by every worker thread. OpenSSL 3
 *   locks the session cache internally and the ticket keys belong to the
 *   SSL_CTX, so a session made on one worker resumes on any other: the
 *   kernel's SO_REUSEPORT hash gives a client no worker affinity.
 * - KMIP requires a client certificate (the identity of vCenter/ESXi);
 *   HTTPS asks for one but accepts clients without (bearer tokens, /health).
 *   Each context has its own session id context so a KMIP session can never
 *   be resumed on the HTTPS port and vice versa.
 * - Resumption with client authentication needs a session id context
 *   (without it OpenSSL refuses to resume a verified session); the server
 *   cache serves TLS 1.2 clients that do not do tickets, tickets serve the
 *   rest (TLS 1.3 tickets are stateless with OpenSSL's default keys).
 * - SSL_OP_CLEANSE_PLAINTEXT: decrypted records (Register requests carry
 *   key material) are wiped from OpenSSL's read buffer once handed over.
 * - Identities are never truncated: a certificate name longer than net_peer
 *   can hold fails the connection instead.
 * - Client certificates: OpenSSL checks the chain, the validity dates
 *   (expired and not-yet-valid certificates are refused) and the purpose
 *   "TLS client" (an Extended Key Usage, when present, must allow
 *   clientAuth). With tls.crl_file, the leaf is checked against its
 *   issuer's CRL (X509_V_FLAG_CRL_CHECK): a listed certificate is refused,
 *   an issuer without a CRL is not checked (net_verify_cb; a pinned
 *   self-signed vCenter certificate has none), an expired CRL refuses its
 *   issuer's clients (a stale list cannot prove anything: fail closed).
 * - Resumed sessions skip the chain verification, so a certificate revoked
 *   (or expired) after its session was made could come back for the
 *   session's lifetime: net_tls_fill_peer checks a resumed session's leaf
 *   against the dates and the CRLs again (net_tls_recheck).
 */
#include "net/net_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/log.h"

#define NET_KMIP_SID "coffre-kmip"
#define NET_HTTPS_SID "coffre-https"
#define NET_SESS_CACHE 20480
#define NET_VERIFY_DEPTH 8

/* KMIP profiles (TLS 1.2): ECDHE AES-GCM/ChaCha20 first, then the RSA
 * key-transport suites the KMIP 1.x profiles name, for old clients. */
static const char net_default_ciphers[] =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256";

static int g_https_index = -1;
static pthread_once_t g_index_once = PTHREAD_ONCE_INIT;

static void https_index_init(void)
{
    g_https_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, net_https_state_free);
}

int net_tls_https_index(void)
{
    pthread_once(&g_index_once, https_index_init);
    return g_https_index;
}

void net_tls_err_text(unsigned long err, char *buf, size_t len)
{
    const char *r = ERR_reason_error_string(err);
    size_t used = strlen(buf);
    char tmp[256];

    if (used >= len - 1)
        return;
    if (r == NULL) {
        ERR_error_string_n(err, tmp, sizeof tmp);
        r = tmp;
    }
    snprintf(buf + used, len - used, "%s%s", used ? "; " : "", r);
}

void net_tls_log_errors(cf_log_level level, const char *what)
{
    char text[512] = "";
    unsigned long e;

    while ((e = ERR_get_error()) != 0)
        net_tls_err_text(e, text, sizeof text);
    cf_log_write(level, __FILE__, __LINE__, "%s: %s", what, text[0] ? text : "unknown error");
}

bool net_ratelimit(atomic_llong *last)
{
    long long now = (long long)time(NULL);
    long long prev = atomic_load(last);

    if (now == prev)
        return false;
    return atomic_compare_exchange_strong(last, &prev, now);
}

void net_format_addr(const struct sockaddr *sa, char *out, size_t out_len)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(out, out_len, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) { /* dual-stack [::] listener */
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof ip);
            snprintf(out, out_len, "%s:%u", ip, (unsigned)ntohs(in6->sin6_port));
        } else {
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            snprintf(out, out_len, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
        }
    } else {
        snprintf(out, out_len, "unknown");
    }
}

/* RFC 2253 one-line form; CF_ERR_LIMIT when it does not fit. */
static cf_status name_to_text(const X509_NAME *name, char *out, size_t out_len)
{
    BIO *b = BIO_new(BIO_s_mem());
    cf_status rc = CF_ERR_NOMEM;
    long n;

    out[0] = '\0';
    if (b == NULL)
        goto out;
    rc = CF_ERR_CRYPTO;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0)
        goto out;
    rc = CF_ERR_LIMIT;
    if (BIO_pending(b) > (int)out_len - 1)
        goto out;
    n = BIO_read(b, out, (int)out_len - 1);
    out[n > 0 ? n : 0] = '\0';
    rc = CF_OK;
out:
    BIO_free(b);
    return rc;
}

/* The trust anchor that issued cert: looked up in the context's trust
 * store by name and key identifier, confirmed by its signature. Computed
 * here rather than from the verified chain, which a resumed session does
 * not have. A certificate issued through an intermediate has none (CA
 * rules name the issuing anchor). */
static void peer_issuer(SSL *ssl, X509 *cert, net_peer *peer)
{
    X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    X509 *issuer = NULL;
    unsigned int n = 0;

    if (sc != NULL && X509_STORE_CTX_init(sc, store, cert, NULL) == 1 &&
        X509_STORE_CTX_get1_issuer(&issuer, sc, cert) == 1 &&
        X509_verify(cert, X509_get0_pubkey(issuer)) == 1 &&
        X509_digest(issuer, EVP_sha256(), peer->issuer_sha256, &n) == 1 &&
        n == sizeof peer->issuer_sha256)
        peer->has_issuer = 1;
    X509_free(issuer);
    X509_STORE_CTX_free(sc);
}

/* The leaf's issuer has no CRL: accepted (see the note above); any other
 * verdict is OpenSSL's. The error is cleared so that the session's verify
 * result stays X509_V_OK. */
static int net_verify_cb(int ok, X509_STORE_CTX *x)
{
    if (!ok && X509_STORE_CTX_get_error(x) == X509_V_ERR_UNABLE_TO_GET_CRL) {
        X509_STORE_CTX_set_error(x, X509_V_OK);
        return 1;
    }
    return ok;
}

/* Is cert still acceptable now (a resumed session's, verified when the
 * session was made)? Dates, then a CRL of its issuer that lists it. */
static cf_status net_tls_recheck(SSL *ssl, X509 *cert)
{
    X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
    X509_STORE_CTX *sc = NULL;
    STACK_OF(X509_CRL) *crls = NULL;
    cf_status rc = CF_ERR_AUTH;

    if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0 ||
        X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0)
        return rc; /* expired, not yet valid, or unreadable */
    if (!(X509_VERIFY_PARAM_get_flags(X509_STORE_get0_param(store)) & X509_V_FLAG_CRL_CHECK))
        return CF_OK;
    if ((sc = X509_STORE_CTX_new()) == NULL || X509_STORE_CTX_init(sc, store, cert, NULL) != 1) {
        rc = CF_ERR_NOMEM;
        goto out;
    }
    crls = X509_STORE_CTX_get1_crls(sc, X509_get_issuer_name(cert));
    for (int i = 0; crls && i < sk_X509_CRL_num(crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(crls, i);
        X509_REVOKED *rev = NULL;
        const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
        if (X509_CRL_get0_by_cert(crl, &rev, cert) == 1 ||
            (next != NULL && X509_cmp_current_time(next) <= 0))
            goto out; /* revoked, or only a stale list */
    }
    rc = CF_OK;
out:
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    X509_STORE_CTX_free(sc);
    return rc;
}

cf_status net_tls_fill_peer(SSL *ssl, net_peer *peer)
{
    X509 *cert;
    unsigned int n = 0;
    cf_status rc = CF_OK;

    peer->subject[0] = peer->issuer[0] = '\0';
    memset(peer->cert_sha256, 0, sizeof peer->cert_sha256);
    peer->has_cert = 0;
    memset(peer->issuer_sha256, 0, sizeof peer->issuer_sha256);
    peer->has_issuer = 0;
    ERR_clear_error();
    cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        goto out;
    if (SSL_session_reused(ssl) && (rc = net_tls_recheck(ssl, cert)) != CF_OK)
        goto out;
    if ((rc = name_to_text(X509_get_subject_name(cert), peer->subject, sizeof peer->subject)) != CF_OK)
        goto out;
    if ((rc = name_to_text(X509_get_issuer_name(cert), peer->issuer, sizeof peer->issuer)) != CF_OK)
        goto out;
    rc = CF_ERR_CRYPTO;
    if (X509_digest(cert, EVP_sha256(), peer->cert_sha256, &n) != 1 || n != sizeof peer->cert_sha256)
        goto out;
    peer->has_cert = 1;
    peer_issuer(ssl, cert, peer);
    rc = CF_OK;
out:
    if (rc != CF_OK) {
        peer->subject[0] = peer->issuer[0] = '\0';
        memset(peer->cert_sha256, 0, sizeof peer->cert_sha256);
    }
    ERR_clear_error();
    return rc;
}

/* Revocation lists for client certificates (tls.crl_file). */
static cf_status ctx_load_crls(SSL_CTX *ctx, const char *file, bool log)
{
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509_LOOKUP *lk = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    STACK_OF(X509_OBJECT) *objs;
    int n;

    if (lk == NULL || (n = X509_load_crl_file(lk, file, X509_FILETYPE_PEM)) <= 0) {
        CF_LOGE("net: no usable certificate revocation list in %s", file);
        return CF_ERR_CRYPTO;
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    objs = X509_STORE_get0_objects(store);
    for (int i = 0; log && i < sk_X509_OBJECT_num(objs); i++) {
        X509_CRL *crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
        const ASN1_TIME *next = crl ? X509_CRL_get0_nextUpdate(crl) : NULL;
        char issuer[512];
        if (crl == NULL || name_to_text(X509_CRL_get_issuer(crl), issuer, sizeof issuer) != CF_OK)
            continue;
        if (next != NULL && X509_cmp_current_time(next) <= 0)
            CF_LOGW("net: the CRL of \"%s\" has expired: its clients are refused until a fresh "
                    "one is installed", issuer);
        else
            CF_LOGI("net: checking client certificates of \"%s\" against its CRL (%d revoked)",
                    issuer, sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)));
    }
    (void)n;
    return CF_OK;
}

/* Certificate, key and the CA clients must chain to. */
static cf_status ctx_load_files(SSL_CTX *ctx, const net_tls_config *t, bool https)
{
    STACK_OF(X509_NAME) *names;

    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
        CF_LOGE("net: cannot load server certificate %s", t->cert_file);
        return CF_ERR_CRYPTO;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1) {
        CF_LOGE("net: cannot load server key %s", t->key_file);
        return CF_ERR_CRYPTO;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        CF_LOGE("net: server key %s does not match certificate %s", t->key_file, t->cert_file);
        return CF_ERR_CRYPTO;
    }
    if (SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
        CF_LOGE("net: cannot load client CA file %s", t->ca_file);
        return CF_ERR_CRYPTO;
    }
    /* Tell clients which CAs we accept (clients holding several
     * certificates pick the right one from this list). */
    names = SSL_load_client_CA_file(t->ca_file);
    if (names == NULL) {
        CF_LOGE("net: no CA certificate in %s", t->ca_file);
        return CF_ERR_CRYPTO;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    if (t->crl_file)
        return ctx_load_crls(ctx, t->crl_file, !https);
    return CF_OK;
}

static cf_status ctx_set_params(SSL_CTX *ctx, const net_tls_config *t, bool https)
{
    const char *sid = https ? NET_HTTPS_SID : NET_KMIP_SID;
    int mode = SSL_VERIFY_PEER | (https ? 0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT);

    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
        return CF_ERR_CRYPTO;
    /* IGNORE_UNEXPECTED_EOF: a client that closes TCP without close_notify
     * (common) is a normal end, not a protocol error that would evict its
     * session; KMIP frames and HTTP requests are self-delimiting, so a
     * truncation cannot be mistaken for a complete message. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION | SSL_OP_CLEANSE_PLAINTEXT |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Idle connections hold no record buffers (many vCenter/ESXi hosts). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(ctx, mode, t->crl_file ? net_verify_cb : NULL);
    SSL_CTX_set_verify_depth(ctx, NET_VERIFY_DEPTH);
    if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)sid, (unsigned)strlen(sid)) != 1)
        return CF_ERR_CRYPTO;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, NET_SESS_CACHE);
    if (SSL_CTX_set_cipher_list(ctx, t->ciphers ? t->ciphers : net_default_ciphers) != 1) {
        CF_LOGE("net: invalid TLS 1.2 cipher list \"%s\"", t->ciphers ? t->ciphers : "(default)");
        return CF_ERR_INVALID_FIELD;
    }
    if (t->ciphersuites && SSL_CTX_set_ciphersuites(ctx, t->ciphersuites) != 1) {
        CF_LOGE("net: invalid TLS 1.3 ciphersuites \"%s\"", t->ciphersuites);
        return CF_ERR_INVALID_FIELD;
    }
    if (https) {
        SSL_CTX_set_client_hello_cb(ctx, net_https_client_hello_cb, NULL);
        SSL_CTX_set_info_callback(ctx, net_https_info_cb);
    }
    return CF_OK;
}

cf_status net_tls_ctx_new(const net_tls_config *tls, bool https, SSL_CTX **out)
{
    SSL_CTX *ctx = NULL;
    cf_status rc = CF_ERR_INVALID_FIELD;

    *out = NULL;
    if (tls->ca_file == NULL || tls->cert_file == NULL || tls->key_file == NULL) {
        CF_LOGE("net: TLS needs ca_file, cert_file and key_file");
        return rc;
    }
    ERR_clear_error();
    rc = CF_ERR_NOMEM;
    if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
        goto out;
    if ((rc = ctx_load_files(ctx, tls, https)) != CF_OK)
        goto out;
    if ((rc = ctx_set_params(ctx, tls, https)) != CF_OK)
        goto out;
    *out = ctx;
    ctx = NULL;
out:
    if (rc != CF_OK)
        net_tls_log_errors(CF_LOG_ERROR, https ? "net: HTTPS TLS context" : "net: KMIP TLS context");
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}
