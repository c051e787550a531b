/*
 * server_guard.h - the options of `coffre server` against hostile clients
 * and faults (issue 9): rate limits, TLS cipher lists and revocation lists,
 * connection limits and deadlines. server_main.c owns the option table and
 * hands these options over; docs/security.md explains each.
 */
#ifndef CF_SERVER_GUARD_H
#define CF_SERVER_GUARD_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "core/core.h"
#include "net/net.h"

struct server_guard_opts {
    unsigned rate_tenant;        /* --rate-tenant N */
    unsigned rate_identity;      /* --rate-identity N */
    const char *tls_ciphers;     /* --tls-ciphers LIST (TLS 1.2) */
    const char *tls_ciphersuites;/* --tls-ciphersuites LIST (TLS 1.3) */
    const char *crl;             /* --crl FILE */
    unsigned max_connections;    /* --max-connections N (per protocol) */
    unsigned max_per_address;    /* --max-connections-per-address N */
    unsigned handshake_timeout;  /* --handshake-timeout SECONDS */
    unsigned request_timeout;    /* --request-timeout SECONDS */
    unsigned idle_timeout;       /* --idle-timeout SECONDS */
};

/* getopt_long entries (codes SERVER_GUARD_OPT + i), ending with a zero
 * entry; server_main.c copies them into its table. */
#define SERVER_GUARD_OPT 0x4700
extern const struct option server_guard_longopts[];

/* Parse one option of server_guard_longopts: 1 handled, 0 not one of
 * ours, -1 bad value (a message was printed). */
int server_guard_parse(int code, const char *arg, struct server_guard_opts *o);
void server_guard_usage(FILE *f);

/* Fill cfg's limits and TLS lists (the revocation lists of DIR/pki/crl/
 * *.pem and --crl gathered into DIR/pki/crl-bundle.pem, whose path goes to
 * crl_path) and create c->rate. Strings of cfg point into o and crl_path. */
cf_status server_guard_apply(const struct server_guard_opts *o, const char *data, net_config *cfg,
                             core *c, char *crl_path, size_t crl_size);
void server_guard_free(core *c);

#endif
