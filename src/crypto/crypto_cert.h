/*
 * crypto_cert.h - what identifies a client certificate, computed from the
 * certificate itself the way the TLS layer reports a peer (net_tls.c), so
 * that a certificate registered from a file matches the same certificate
 * presented in a handshake.
 *
 * Used by the server's bootstrap (DIR/pki/admin.crt) and by whoever
 * registers certificate identities from uploaded PEM/DER (REST, CLI).
 */
#ifndef CF_CRYPTO_CERT_H
#define CF_CRYPTO_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/mem.h"
#include "util/status.h"

typedef struct crypto_cert_id {
    uint8_t sha256[32];   /* SHA-256 of the DER: net_peer.cert_sha256 */
    const char *subject;  /* RFC 2253 one-line form (XN_FLAG_RFC2253), in the arena */
    const char *issuer;
    bool is_ca;           /* basicConstraints CA:TRUE (a tenant CA) */
} crypto_cert_id;

/* One X.509 certificate given as DER or PEM (the first CERTIFICATE block
 * of the text). CF_ERR_INVALID_FIELD when it does not parse (DER: trailing
 * bytes too), CF_ERR_LIMIT when a name is longer than 511 bytes (the TLS
 * layer refuses such peers), CF_ERR_NOMEM, CF_ERR_CRYPTO. */
cf_status crypto_cert_identify(const uint8_t *p, size_t n, cf_arena *a, crypto_cert_id *out);

/* crypto_cert_identify of a file (at most 1 MiB). CF_ERR_IO when it cannot
 * be read (CF_ERR_NOT_FOUND when absent). */
cf_status crypto_cert_identify_file(const char *path, cf_arena *a, crypto_cert_id *out);

#endif
