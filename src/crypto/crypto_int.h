/*
 * crypto_int.h - helpers shared by the files of src/crypto only.
 *
 * File writing lives here once because both the master-key provider and the
 * dev PKI need the same durability rules: write fully (retrying short writes
 * and EINTR), fsync the file, then fsync its directory so that the entry
 * itself survives a crash.
 */
#ifndef CF_CRYPTO_INT_H
#define CF_CRYPTO_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/types.h>

#include "util/status.h"

/* Write all of p to fd. CF_ERR_IO on failure (errno preserved). */
cf_status crypto_write_all(int fd, const uint8_t *p, size_t len);

/* fsync the directory containing path ("." when path has no slash). */
cf_status crypto_fsync_parent(const char *path);

/* Create path with exactly `mode` holding p, atomically and without ever
 * replacing an existing file: the bytes go to a temporary file in the same
 * directory (created 0600, then fchmod'ed to mode), are fsync'ed, and the
 * temporary is linked to path (link(2) fails when path exists) and removed;
 * the directory is then fsync'ed. CF_ERR_EXISTS when path exists (logged),
 * CF_ERR_IO otherwise (logged with path and reason, never content). */
cf_status crypto_write_file_new(const char *path, const uint8_t *p, size_t len, mode_t mode);

/* snprintf "dir/name" into out; CF_ERR_INVALID_FIELD when it does not fit. */
cf_status crypto_join_path(char *out, size_t out_len, const char *dir, const char *name);

/* ---------------------------------------------------- certificates */
/* Building certificates in memory (crypto_x509.c); files are crypto_pki.c. */

enum crypto_cert_kind {
    CRYPTO_CERT_CA,     /* CA:TRUE, keyCertSign+cRLSign */
    CRYPTO_CERT_SERVER, /* serverAuth+clientAuth, SAN */
    CRYPTO_CERT_CLIENT  /* clientAuth */
};

struct crypto_cert_spec {
    enum crypto_cert_kind kind;
    const char *cn;              /* UTF-8, required */
    const char *org;             /* UTF-8, NULL = no O */
    unsigned days;               /* validity from now */
    const ASN1_TIME *not_after_max; /* NULL = no cap (e.g. the CA's notAfter) */
    const char *const *extra_san;/* server only: besides 127.0.0.1, ::1, localhost */
    size_t n_extra;
    EVP_PKEY *key;               /* subject key (public part used) */
    X509 *issuer;                /* NULL = self-signed */
    EVP_PKEY *issuer_key;        /* signing key; NULL = key (self-signed) */
};

/* A signed (SHA-256) X.509 v3 certificate with a random positive 128-bit
 * serial. CF_ERR_INVALID_FIELD for a bad SAN entry, CF_ERR_CRYPTO. */
cf_status crypto_x509_issue(const struct crypto_cert_spec *spec, X509 **out);
/* CF_OK when s is an IP address literal or a plausible DNS name (logged
 * otherwise, CF_ERR_INVALID_FIELD). */
cf_status crypto_x509_check_san(const char *s);

#endif
