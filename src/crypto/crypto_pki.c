/*
 * crypto_pki.c - the development PKI and client certificate issuing.
 *
 * Design: the first start of a development server must yield a working
 * mutual-TLS setup with no manual step: a CA, a server certificate for the
 * loopback addresses and an admin client certificate, all in one directory
 * (crypto_x509.c builds the certificates; this file makes keys and files).
 *
 * Key sizes (measured on the build machine, OpenSSL 3.0, 10 runs): RSA-2048
 * averages 0.13 s (worst 0.28 s), RSA-3072 0.61 s (worst 1.3 s). The CA
 * lives ten years, so it gets RSA-3072 (NIST SP 800-57 puts 2048 bits at
 * "acceptable through 2030"); the leaves live 825 days and get RSA-2048,
 * which every KMIP client we know accepts. First start: ~1 s.
 *
 * Files: each is created by crypto_write_file_new (temporary file in the
 * same directory, final mode from the start - keys 0600, certificates 0644
 * - fsync, then link(2) so an existing file is never replaced, then fsync of
 * the directory). ca.crt is written last and is the marker: when it exists
 * nothing is done; when it does not but another file of the set does, the
 * set is partial (a crash, or the operator's own files) and we refuse with
 * a log line naming it rather than overwrite anything. When a write fails
 * half-way, the files this call created are removed again.
 *
 * Private keys are PEM-encoded (unencrypted PKCS#8, "BEGIN PRIVATE KEY")
 * into a secure-heap memory BIO, which OpenSSL cleanses when freed.
 */
#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/log.h"

#define PKI_CA_BITS 3072
#define PKI_LEAF_BITS 2048
#define PKI_CA_DAYS 3650
#define PKI_LEAF_DAYS 825 /* CA/B Forum's former maximum; Apple clients refuse longer */
#define PKI_MAX_DAYS 3650
#define PKI_CN_MAX 64 /* ub-common-name, RFC 5280 appendix A */
#define PKI_ORG "Coffre dev"

enum { ROLE_CA, ROLE_SERVER, ROLE_ADMIN, ROLE_COUNT };

struct pki_set {
    EVP_PKEY *key[ROLE_COUNT];
    X509 *crt[ROLE_COUNT];
};

static const struct {
    const char *name;
    int role;
    bool is_key;
} dev_files[] = {
    {"ca.key", ROLE_CA, true},
    {"server.key", ROLE_SERVER, true},
    {"server.crt", ROLE_SERVER, false},
    {"admin.key", ROLE_ADMIN, true},
    {"admin.crt", ROLE_ADMIN, false},
    {"ca.crt", ROLE_CA, false}, /* last: its presence means the set is complete */
};

#define N_DEV_FILES (sizeof dev_files / sizeof dev_files[0])

/* -------------------------------------------------------------- pieces */

static cf_status pki_keygen(unsigned bits, EVP_PKEY **out)
{
    ERR_clear_error();
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (*out == NULL) {
        crypto_log_errors("RSA key generation");
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}

/* Exactly one of key and crt is non-NULL. */
static cf_status pki_write_pem(const char *path, EVP_PKEY *key, X509 *crt)
{
    char *data = NULL;
    cf_status rc = CF_ERR_CRYPTO;
    long len = 0;
    BIO *bio;
    int ok;

    ERR_clear_error();
    if ((bio = BIO_new(key != NULL ? BIO_s_secmem() : BIO_s_mem())) == NULL) {
        crypto_log_errors("BIO_new");
        return CF_ERR_NOMEM;
    }
    ok = key != NULL ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                     : PEM_write_bio_X509(bio, crt);
    if (ok != 1 || (len = BIO_get_mem_data(bio, &data)) <= 0 || data == NULL) {
        crypto_log_errors("PEM encoding");
        goto out;
    }
    rc = crypto_write_file_new(path, (const uint8_t *)data, (size_t)len, key != NULL ? 0600 : 0644);
out:
    BIO_free(bio);
    return rc;
}

/* CF_OK when absent, CF_ERR_EXISTS when present (not logged), CF_ERR_IO. */
static cf_status pki_path_absent(const char *path)
{
    struct stat st;

    if (lstat(path, &st) == 0)
        return CF_ERR_EXISTS;
    if (errno == ENOENT)
        return CF_OK;
    CF_LOGE("%s: cannot stat: %s", path, strerror(errno));
    return CF_ERR_IO;
}

static cf_status pki_dir_prepare(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0700) == 0) {
        if (chmod(dir, 0700) != 0) { /* umask may have removed owner bits */
            CF_LOGE("dev PKI: cannot chmod %s: %s", dir, strerror(errno));
            return CF_ERR_IO;
        }
        CF_LOGI("dev PKI: created directory %s (mode 0700)", dir);
        return crypto_fsync_parent(dir);
    }
    if (errno != EEXIST) {
        CF_LOGE("dev PKI: cannot create directory %s: %s", dir, strerror(errno));
        return CF_ERR_IO;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        CF_LOGE("dev PKI: %s is not a directory", dir);
        return CF_ERR_IO;
    }
    if ((st.st_mode & 022) != 0)
        CF_LOGW("dev PKI: directory %s is writable by group/other (mode %04o)", dir,
                (unsigned)(st.st_mode & 07777));
    return CF_OK;
}

/* ------------------------------------------------------------ dev set */

static cf_status pki_dev_check_partial(const char *dir)
{
    char path[PATH_MAX];
    cf_status rc;

    for (size_t i = 0; i < N_DEV_FILES; i++) {
        if ((rc = crypto_join_path(path, sizeof path, dir, dev_files[i].name)) != CF_OK)
            return rc;
        rc = pki_path_absent(path);
        if (rc == CF_ERR_EXISTS)
            CF_LOGE("dev PKI: %s exists but %s/ca.crt does not: a partial set (left by a "
                    "crash?); remove it or provide the whole set", path, dir);
        if (rc != CF_OK)
            return rc;
    }
    return CF_OK;
}

static cf_status pki_dev_build(struct pki_set *set, const char *const *extra, size_t n_extra)
{
    static const unsigned bits[ROLE_COUNT] = {PKI_CA_BITS, PKI_LEAF_BITS, PKI_LEAF_BITS};
    struct crypto_cert_spec spec;
    cf_status rc;

    for (int r = 0; r < ROLE_COUNT; r++)
        if ((rc = pki_keygen(bits[r], &set->key[r])) != CF_OK)
            return rc;
    spec = (struct crypto_cert_spec){.kind = CRYPTO_CERT_CA, .cn = "Coffre dev CA",
                                     .org = PKI_ORG, .days = PKI_CA_DAYS,
                                     .key = set->key[ROLE_CA]};
    if ((rc = crypto_x509_issue(&spec, &set->crt[ROLE_CA])) != CF_OK)
        return rc;
    spec = (struct crypto_cert_spec){.kind = CRYPTO_CERT_SERVER, .cn = "Coffre dev server",
                                     .org = PKI_ORG, .days = PKI_LEAF_DAYS,
                                     .not_after_max = X509_get0_notAfter(set->crt[ROLE_CA]),
                                     .extra_san = extra, .n_extra = n_extra,
                                     .key = set->key[ROLE_SERVER], .issuer = set->crt[ROLE_CA],
                                     .issuer_key = set->key[ROLE_CA]};
    if ((rc = crypto_x509_issue(&spec, &set->crt[ROLE_SERVER])) != CF_OK)
        return rc;
    spec = (struct crypto_cert_spec){.kind = CRYPTO_CERT_CLIENT, .cn = "admin", .org = PKI_ORG,
                                     .days = PKI_LEAF_DAYS,
                                     .not_after_max = X509_get0_notAfter(set->crt[ROLE_CA]),
                                     .key = set->key[ROLE_ADMIN], .issuer = set->crt[ROLE_CA],
                                     .issuer_key = set->key[ROLE_CA]};
    return crypto_x509_issue(&spec, &set->crt[ROLE_ADMIN]);
}

static cf_status pki_dev_write(const char *dir, const struct pki_set *set)
{
    char path[PATH_MAX];
    cf_status rc = CF_OK;
    size_t done = 0;

    for (size_t i = 0; i < N_DEV_FILES && rc == CF_OK; i++) {
        int r = dev_files[i].role;
        if ((rc = crypto_join_path(path, sizeof path, dir, dev_files[i].name)) != CF_OK)
            break;
        rc = pki_write_pem(path, dev_files[i].is_key ? set->key[r] : NULL,
                           dev_files[i].is_key ? NULL : set->crt[r]);
        if (rc == CF_OK)
            done = i + 1;
    }
    while (rc != CF_OK && done > 0) { /* leave no partial set behind */
        done--;
        if (crypto_join_path(path, sizeof path, dir, dev_files[done].name) == CF_OK)
            unlink(path);
    }
    return rc;
}

static void pki_set_free(struct pki_set *set)
{
    for (int r = 0; r < ROLE_COUNT; r++) {
        EVP_PKEY_free(set->key[r]);
        X509_free(set->crt[r]);
    }
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

cf_status crypto_pki_ensure_dev(const char *dir, const char *const *extra_san, size_t n_extra)
{
    char ca_path[PATH_MAX];
    struct pki_set set;
    struct timespec t0;
    cf_status rc;

    if (dir == NULL || dir[0] == '\0' || (n_extra > 0 && extra_san == NULL))
        return CF_ERR_INVALID_FIELD;
    if ((rc = crypto_join_path(ca_path, sizeof ca_path, dir, "ca.crt")) != CF_OK)
        return rc;
    if ((rc = pki_path_absent(ca_path)) == CF_ERR_EXISTS) {
        CF_LOGD("dev PKI: %s exists, nothing to do", ca_path);
        return CF_OK;
    }
    if (rc != CF_OK)
        return rc;
    for (size_t i = 0; i < n_extra; i++) /* before a second of key generation */
        if ((rc = crypto_x509_check_san(extra_san[i])) != CF_OK)
            return rc;
    if ((rc = pki_dir_prepare(dir)) != CF_OK || (rc = pki_dev_check_partial(dir)) != CF_OK)
        return rc;
    memset(&set, 0, sizeof set);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((rc = pki_dev_build(&set, extra_san, n_extra)) == CF_OK
        && (rc = pki_dev_write(dir, &set)) == CF_OK)
        CF_LOGI("dev PKI: created ca.crt, server.crt, admin.crt and their keys in %s (%.2f s)",
                dir, seconds_since(&t0));
    pki_set_free(&set);
    return rc;
}

/* ------------------------------------------------------- client issuing */

static int pki_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1; /* never prompt on a terminal: encrypted CA keys are refused */
}

static cf_status pki_read_pem(const char *path, bool is_key, X509 **crt, EVP_PKEY **key)
{
    BIO *b;

    ERR_clear_error();
    if ((b = BIO_new_file(path, "r")) == NULL) {
        crypto_log_errors(path);
        CF_LOGE("%s: cannot open", path);
        return CF_ERR_IO;
    }
    if (is_key)
        *key = PEM_read_bio_PrivateKey(b, NULL, pki_no_passphrase, NULL);
    else
        *crt = PEM_read_bio_X509(b, NULL, pki_no_passphrase, NULL);
    BIO_free(b);
    if (is_key ? *key == NULL : *crt == NULL) {
        crypto_log_errors(path);
        CF_LOGE("%s: not a PEM %s%s", path, is_key ? "private key" : "certificate",
                is_key ? " (or an encrypted one, which is not supported)" : "");
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}

static cf_status pki_load_ca(const char *crt_path, const char *key_path, X509 **ca,
                             EVP_PKEY **key)
{
    cf_status rc;

    if ((rc = pki_read_pem(crt_path, false, ca, NULL)) != CF_OK
        || (rc = pki_read_pem(key_path, true, NULL, key)) != CF_OK)
        return rc;
    ERR_clear_error();
    if (X509_check_ca(*ca) == 0) {
        CF_LOGE("%s: not a CA certificate", crt_path);
        return CF_ERR_CRYPTO;
    }
    if (X509_check_private_key(*ca, *key) != 1) {
        crypto_log_errors("X509_check_private_key");
        CF_LOGE("%s: does not match the CA certificate %s", key_path, crt_path);
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}

/* The CA subject's O as UTF-8 (OPENSSL_free), NULL when it has none. */
static cf_status pki_name_org(const X509_NAME *name, char **out)
{
    const X509_NAME_ENTRY *e;
    unsigned char *utf8 = NULL;
    int idx = X509_NAME_get_index_by_NID(name, NID_organizationName, -1);

    *out = NULL;
    if (idx < 0)
        return CF_OK;
    e = X509_NAME_get_entry(name, idx);
    if (e == NULL || ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e)) < 0)
        return CF_ERR_CRYPTO;
    *out = (char *)utf8;
    return CF_OK;
}

static cf_status pki_check_client_args(const char *cn, unsigned *days, const char *cert_out,
                                       const char *key_out)
{
    size_t n = cn != NULL ? strnlen(cn, PKI_CN_MAX + 1) : 0;
    const char *outs[2] = {cert_out, key_out};

    if (n == 0 || n > PKI_CN_MAX) {
        CF_LOGE("client certificate: CN must be 1 to %d bytes", PKI_CN_MAX);
        return CF_ERR_INVALID_FIELD;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)cn[i] < 0x20 || cn[i] == 0x7f) {
            CF_LOGE("client certificate: CN contains a control character");
            return CF_ERR_INVALID_FIELD;
        }
    if (*days == 0)
        *days = PKI_LEAF_DAYS;
    if (*days > PKI_MAX_DAYS) {
        CF_LOGE("client certificate: %u days is more than %d", *days, PKI_MAX_DAYS);
        return CF_ERR_INVALID_FIELD;
    }
    if (cert_out == NULL || key_out == NULL || cert_out[0] == '\0' || key_out[0] == '\0'
        || strcmp(cert_out, key_out) == 0)
        return CF_ERR_INVALID_FIELD;
    for (int i = 0; i < 2; i++) {
        cf_status rc = pki_path_absent(outs[i]);
        if (rc == CF_ERR_EXISTS)
            CF_LOGE("%s: already exists, not overwriting", outs[i]);
        if (rc != CF_OK)
            return rc;
    }
    return CF_OK;
}

cf_status crypto_pki_issue_client(const char *ca_crt, const char *ca_key, const char *cn,
                                  unsigned days, const char *cert_out, const char *key_out)
{
    struct crypto_cert_spec spec;
    EVP_PKEY *ca_pkey = NULL, *key = NULL;
    X509 *ca = NULL, *crt = NULL;
    char *org = NULL;
    cf_status rc;

    if (ca_crt == NULL || ca_key == NULL)
        return CF_ERR_INVALID_FIELD;
    if ((rc = pki_check_client_args(cn, &days, cert_out, key_out)) != CF_OK)
        return rc;
    if ((rc = pki_load_ca(ca_crt, ca_key, &ca, &ca_pkey)) != CF_OK
        || (rc = pki_name_org(X509_get_subject_name(ca), &org)) != CF_OK
        || (rc = pki_keygen(PKI_LEAF_BITS, &key)) != CF_OK)
        goto out;
    spec = (struct crypto_cert_spec){.kind = CRYPTO_CERT_CLIENT, .cn = cn, .org = org,
                                     .days = days, .not_after_max = X509_get0_notAfter(ca),
                                     .key = key, .issuer = ca, .issuer_key = ca_pkey};
    if ((rc = crypto_x509_issue(&spec, &crt)) != CF_OK
        || (rc = pki_write_pem(key_out, key, NULL)) != CF_OK)
        goto out;
    if ((rc = pki_write_pem(cert_out, NULL, crt)) != CF_OK) {
        unlink(key_out); /* a key without its certificate is of no use */
        goto out;
    }
    CF_LOGI("issued client certificate CN=%s for %u days: %s", cn, days, cert_out);
out:
    OPENSSL_free(org);
    X509_free(crt);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_pkey);
    return rc;
}
