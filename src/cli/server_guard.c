/*
 * server_guard.c - `coffre server` options against hostile clients and
 * faults: rate limits (core_rate.c), the TLS cipher lists, the revocation
 * lists of client certificates, connection limits and deadlines (src/net).
 * Every default is a limit of util/limits.h; these options lower (or, for
 * the rates, set) them.
 *
 * Revocation lists: every DIR/pki/crl/NAME.pem (or .crl, PEM) and the --crl
 * file are gathered into DIR/pki/crl-bundle.pem at each start, which the
 * TLS layer loads (net.h tls.crl_file). A restart picks up a new list.
 */
#include "cli/server_guard.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/limits.h"
#include "util/log.h"

enum {
    G_RATE_TENANT = SERVER_GUARD_OPT,
    G_RATE_IDENTITY,
    G_TLS_CIPHERS,
    G_TLS_SUITES,
    G_CRL,
    G_MAX_CONN,
    G_MAX_PER_ADDR,
    G_HANDSHAKE,
    G_REQUEST,
    G_IDLE,
};

const struct option server_guard_longopts[] = {
    {"rate-tenant", required_argument, NULL, G_RATE_TENANT},
    {"rate-identity", required_argument, NULL, G_RATE_IDENTITY},
    {"tls-ciphers", required_argument, NULL, G_TLS_CIPHERS},
    {"tls-ciphersuites", required_argument, NULL, G_TLS_SUITES},
    {"crl", required_argument, NULL, G_CRL},
    {"max-connections", required_argument, NULL, G_MAX_CONN},
    {"max-connections-per-address", required_argument, NULL, G_MAX_PER_ADDR},
    {"handshake-timeout", required_argument, NULL, G_HANDSHAKE},
    {"request-timeout", required_argument, NULL, G_REQUEST},
    {"idle-timeout", required_argument, NULL, G_IDLE},
    {NULL, 0, NULL, 0},
};

void server_guard_usage(FILE *f)
{
    fprintf(f,
            "  --rate-tenant N          requests per second per tenant on this node (0: no\n"
            "                           limit, the default); a tenant's own setting wins\n"
            "  --rate-identity N        requests per second per API key or certificate\n"
            "                           identity on this node (0: no limit, the default);\n"
            "                           over a limit REST answers 429 with Retry-After, KMIP\n"
            "                           Operation Failed (docs/security.md)\n"
            "  --tls-ciphers LIST       TLS 1.2 cipher list (OpenSSL syntax; default: ECDHE\n"
            "                           AES-GCM/ChaCha20, then the KMIP profiles' RSA suites)\n"
            "  --tls-ciphersuites LIST  TLS 1.3 suites (default: OpenSSL's)\n"
            "  --crl FILE               certificate revocation lists (PEM) for client\n"
            "                           certificates, with DIR/pki/crl/*.pem\n"
            "  --max-connections N      live connections per protocol (default %u)\n"
            "  --max-connections-per-address N\n"
            "                           per protocol and source address or IPv6 /64\n"
            "                           (default %u)\n"
            "  --handshake-timeout S    seconds from accept to the end of the TLS handshake\n"
            "                           (default %u)\n"
            "  --request-timeout S      seconds from a request's first byte to its last:\n"
            "                           slow clients are dropped (default %u)\n"
            "  --idle-timeout S         seconds a connection may wait between requests\n"
            "                           (default %u)\n",
            CF_LIMIT_CONNECTIONS, CF_LIMIT_CONNECTIONS_PER_ADDRESS, CF_LIMIT_HANDSHAKE_TIMEOUT,
            CF_LIMIT_REQUEST_TIMEOUT, CF_LIMIT_IDLE_TIMEOUT);
}

/* Decimal digits only, min..max. */
static int count(const char *name, const char *s, unsigned long min, unsigned long max,
                 unsigned *out)
{
    char *end;
    unsigned long n;

    errno = 0;
    n = strtoul(s, &end, 10);
    if (errno || *end || end == s || *s == '-' || *s == '+' || *s == ' ' || n < min || n > max) {
        fprintf(stderr, "coffre server: --%s takes %lu..%lu\n", name, min, max);
        return -1;
    }
    *out = (unsigned)n;
    return 1;
}

int server_guard_parse(int code, const char *arg, struct server_guard_opts *o)
{
    switch (code) {
    case G_RATE_TENANT: return count("rate-tenant", arg, 0, CORE_RATE_MAX, &o->rate_tenant);
    case G_RATE_IDENTITY: return count("rate-identity", arg, 0, CORE_RATE_MAX, &o->rate_identity);
    case G_TLS_CIPHERS: o->tls_ciphers = arg; return 1;
    case G_TLS_SUITES: o->tls_ciphersuites = arg; return 1;
    case G_CRL: o->crl = arg; return 1;
    case G_MAX_CONN: return count("max-connections", arg, 1, CF_LIMIT_CONNECTIONS, &o->max_connections);
    case G_MAX_PER_ADDR:
        return count("max-connections-per-address", arg, 1, CF_LIMIT_CONNECTIONS, &o->max_per_address);
    case G_HANDSHAKE:
        return count("handshake-timeout", arg, 1, CF_LIMIT_HANDSHAKE_TIMEOUT, &o->handshake_timeout);
    case G_REQUEST:
        return count("request-timeout", arg, 1, CF_LIMIT_REQUEST_TIMEOUT, &o->request_timeout);
    case G_IDLE: return count("idle-timeout", arg, 1, CF_LIMIT_IDLE_TIMEOUT, &o->idle_timeout);
    default: return 0;
    }
}

static int crl_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 4 &&
           (strcmp(d->d_name + n - 4, ".pem") == 0 || strcmp(d->d_name + n - 4, ".crl") == 0);
}

/* Append the file at path to out, with a newline; errors logged. */
static cf_status append(cf_buf *out, const char *path)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;

    if (f == NULL) {
        CF_LOGE("cannot read the revocation list %s: %s", path, strerror(errno));
        return CF_ERR_IO;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        cf_buf_append(out, chunk, n);
    fclose(f);
    cf_buf_append(out, "\n", 1);
    CF_LOGI("revocation list %s loaded", path);
    return out->failed ? CF_ERR_LIMIT : CF_OK;
}

/* DIR/pki/crl/ and --crl into one file; *found: whether there was any. */
static cf_status crl_bundle(const char *data, const char *extra, char *out, size_t size, bool *found)
{
    char dir[PATH_MAX], path[PATH_MAX + 300];
    struct dirent **list = NULL;
    cf_buf b;
    cf_status rc = CF_OK;
    int n;

    cf_buf_init(&b, 64u * 1024u * 1024u);
    snprintf(dir, sizeof dir, "%s/pki/crl", data);
    n = scandir(dir, &list, crl_name, alphasort);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        if (rc == CF_OK)
            rc = append(&b, path);
        free(list[i]);
    }
    free(list);
    if (rc == CF_OK && extra)
        rc = append(&b, extra);
    *found = b.len > 0;
    snprintf(out, size, "%s/pki/crl-bundle.pem", data);
    if (rc == CF_OK && *found) {
        FILE *f = fopen(out, "wb");
        if (f == NULL || fwrite(b.p, 1, b.len, f) != b.len)
            rc = CF_ERR_IO;
        if (f != NULL && fclose(f) != 0)
            rc = CF_ERR_IO;
    }
    cf_buf_free(&b);
    return rc;
}

cf_status server_guard_apply(const struct server_guard_opts *o, const char *data, net_config *cfg,
                             core *c, char *crl_path, size_t crl_size)
{
    core_rate_opts ro = {.tenant_rps = o->rate_tenant, .identity_rps = o->rate_identity};
    bool found = false;
    cf_status rc;

    cfg->tls.ciphers = o->tls_ciphers;
    cfg->tls.ciphersuites = o->tls_ciphersuites;
    cfg->max_connections = o->max_connections;
    cfg->max_connections_per_address = o->max_per_address;
    cfg->handshake_timeout = o->handshake_timeout;
    cfg->request_timeout = o->request_timeout;
    cfg->idle_timeout = o->idle_timeout;
    if ((rc = crl_bundle(data, o->crl, crl_path, crl_size, &found)) != CF_OK) {
        CF_LOGE("cannot gather the certificate revocation lists: %s", cf_status_str(rc));
        return rc;
    }
    cfg->tls.crl_file = found ? crl_path : NULL;
    if ((rc = core_rate_new(&ro, &c->rate)) != CF_OK)
        return rc;
    if (o->rate_tenant || o->rate_identity)
        CF_LOGI("rate limits on this node: %u requests per second per tenant, %u per identity "
                "(0: none; tenants' own settings override the first)", o->rate_tenant,
                o->rate_identity);
    return CF_OK;
}

void server_guard_free(core *c)
{
    core_rate_free(c->rate);
    c->rate = NULL;
}
