/*
 * crypto_cert.c - identify a certificate (SHA-256 of its DER, subject,
 * issuer) exactly as net_tls.c identifies a TLS peer: the same digest and
 * the same X509_NAME_print_ex flags, so that registration and handshake
 * agree byte for byte.
 */
#include "crypto/crypto_cert.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"

#define NAME_MAX_TEXT 511      /* net_peer.subject / issuer hold 511 bytes */
#define CERT_FILE_MAX (1024 * 1024)

static cf_status name_text(const X509_NAME *name, cf_arena *a, const char **out)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *buf = NULL;
    long n;
    cf_status rc = CF_ERR_NOMEM;

    *out = NULL;
    if (b == NULL)
        return rc;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0) {
        rc = CF_ERR_CRYPTO;
    } else if ((n = BIO_get_mem_data(b, &buf)) > NAME_MAX_TEXT) {
        rc = CF_ERR_LIMIT;
    } else if ((*out = cf_arena_strndup(a, n > 0 ? buf : "", n > 0 ? (size_t)n : 0)) != NULL) {
        rc = CF_OK;
    }
    BIO_free(b);
    return rc;
}

static X509 *parse(const uint8_t *p, size_t n)
{
    static const char pem[] = "-----BEGIN CERTIFICATE-----";
    const unsigned char *q = p;
    X509 *x = NULL;

    if (n > (size_t)CERT_FILE_MAX)
        return NULL;
    if (memmem(p, n, pem, sizeof pem - 1) != NULL) {
        BIO *b = BIO_new_mem_buf(p, (int)n);
        if (b != NULL)
            x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        return x;
    }
    x = d2i_X509(NULL, &q, (long)n);
    if (x != NULL && q != p + n) { /* trailing bytes: not one certificate */
        X509_free(x);
        x = NULL;
    }
    return x;
}

cf_status crypto_cert_identify(const uint8_t *p, size_t n, cf_arena *a, crypto_cert_id *out)
{
    unsigned int dn = 0;
    X509 *x;
    cf_status rc;

    memset(out, 0, sizeof *out);
    ERR_clear_error();
    if (p == NULL || (x = parse(p, n)) == NULL) {
        ERR_clear_error();
        return CF_ERR_INVALID_FIELD;
    }
    rc = CF_ERR_CRYPTO;
    if (X509_digest(x, EVP_sha256(), out->sha256, &dn) == 1 && dn == sizeof out->sha256 &&
        (rc = name_text(X509_get_subject_name(x), a, &out->subject)) == CF_OK)
        rc = name_text(X509_get_issuer_name(x), a, &out->issuer);
    out->is_ca = X509_check_ca(x) >= 1;
    if (rc == CF_ERR_CRYPTO)
        crypto_log_errors("certificate");
    X509_free(x);
    ERR_clear_error();
    return rc;
}

cf_status crypto_cert_identify_file(const char *path, cf_arena *a, crypto_cert_id *out)
{
    FILE *f = fopen(path, "rb");
    cf_buf b;
    char chunk[4096];
    size_t got;
    cf_status rc;

    memset(out, 0, sizeof *out);
    if (f == NULL)
        return errno == ENOENT ? CF_ERR_NOT_FOUND : CF_ERR_IO;
    cf_buf_init(&b, CERT_FILE_MAX);
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (!cf_buf_append(&b, chunk, got))
            break;
    rc = ferror(f) ? CF_ERR_IO : b.failed ? CF_ERR_LIMIT : CF_OK;
    fclose(f);
    if (rc == CF_OK)
        rc = crypto_cert_identify(b.p, b.len, a, out);
    cf_buf_free(&b);
    return rc;
}
