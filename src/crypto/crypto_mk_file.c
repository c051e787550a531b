/*
 * crypto_mk_file.c - the file master-key provider.
 *
 * Design: the master key is 32 random bytes in a file of its own, read once
 * at start into a cf_secret (secure heap) and used only to wrap and unwrap
 * the store KEKs, so it never touches per-request paths. The loader refuses
 * anything it could not trust without telling the operator: a symbolic
 * link (O_NOFOLLOW), a non-regular file (checked with fstat on the opened
 * descriptor, no TOCTOU; O_NONBLOCK so a FIFO cannot hang the start), a
 * mode with any group/other bit, or a size other than 32. Each refusal is
 * one log line with the path and the reason, never the content.
 *
 * Creation uses O_CREAT|O_EXCL|O_NOFOLLOW with mode 0600 (and an explicit
 * fchmod, so a strange umask cannot matter), writes fully, fsyncs the file
 * and its directory; a partially written file is removed so the next start
 * does not meet a key of the wrong size. When two nodes race to create the
 * file, the loser loads the winner's key.
 *
 * Wrapped blob: u8 version (=1) | AES-256 key wrap with padding (RFC 5649).
 * RFC 5649 is deterministic and authenticated by its integrity check value,
 * which is what a key-wrapping-key needs (no nonce to manage). The version
 * byte lets a later format (e.g. a PKCS#11 token's mechanism) coexist.
 */
#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "util/log.h"

#define MK_LEN 32
#define MK_WRAP_VERSION 1
/* Largest key this provider wraps: KEKs are 32 bytes; leave room for growth
 * while keeping every length far below INT_MAX for the EVP calls. */
#define MK_WRAP_MAX_KEY 4096
#define MK_WRAP_OVERHEAD 16 /* RFC 5649: 8-byte AIV + padding to 8 bytes */

struct mk_file {
    cf_mk_provider iface;
    cf_secret key;
    EVP_CIPHER *kw; /* AES-256-WRAP-PAD, fetched once; read-only afterwards */
};

/* ------------------------------------------------------------- loading */

static cf_status mk_refuse(const char *path, const char *reason)
{
    CF_LOGE("master key file %s: refused: %s", path, reason);
    return CF_ERR_IO;
}

static cf_status mk_check(const char *path, const struct stat *st)
{
    char why[128];

    if (!S_ISREG(st->st_mode))
        return mk_refuse(path, "not a regular file");
    if ((st->st_mode & 077) != 0) {
        snprintf(why, sizeof why, "mode %04o gives group/other access (chmod 600 it)",
                 (unsigned)(st->st_mode & 07777));
        return mk_refuse(path, why);
    }
    if (st->st_size != MK_LEN) {
        snprintf(why, sizeof why, "size is %lld bytes, expected %d", (long long)st->st_size,
                 MK_LEN);
        return mk_refuse(path, why);
    }
    return CF_OK;
}

static cf_status mk_read(int fd, const char *path, uint8_t *p)
{
    size_t got = 0;

    while (got < MK_LEN) {
        ssize_t r = read(fd, p + got, MK_LEN - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            CF_LOGE("master key file %s: cannot read: %s", path,
                    r == 0 ? "file shrank while reading" : strerror(errno));
            return CF_ERR_IO;
        }
        got += (size_t)r;
    }
    return CF_OK;
}

/* CF_ERR_NOT_FOUND when absent (logged unless quiet_missing). */
static cf_status mk_load(const char *path, bool quiet_missing, cf_secret *key)
{
    struct stat st;
    cf_status rc;
    int fd;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            if (!quiet_missing)
                CF_LOGE("master key file %s: does not exist", path);
            return CF_ERR_NOT_FOUND;
        }
        if (errno == ELOOP)
            return mk_refuse(path, "is a symbolic link");
        CF_LOGE("master key file %s: cannot open: %s", path, strerror(errno));
        return CF_ERR_IO;
    }
    if (fstat(fd, &st) != 0) {
        CF_LOGE("master key file %s: cannot stat: %s", path, strerror(errno));
        rc = CF_ERR_IO;
        goto out;
    }
    if ((rc = mk_check(path, &st)) != CF_OK)
        goto out;
    if ((rc = cf_secret_alloc(key, MK_LEN)) != CF_OK)
        goto out;
    if ((rc = mk_read(fd, path, key->p)) != CF_OK)
        cf_secret_free(key);
out:
    close(fd);
    return rc;
}

/* CF_ERR_EXISTS when another process created the file first. */
static cf_status mk_create(const char *path, cf_secret *key)
{
    const char *what = NULL;
    bool created = false;
    cf_status rc;
    int fd;

    if ((rc = crypto_random_secret(MK_LEN, key)) != CF_OK)
        return rc;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = errno == EEXIST ? CF_ERR_EXISTS : CF_ERR_IO;
        if (rc == CF_ERR_IO)
            CF_LOGE("master key file %s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    created = true;
    rc = CF_ERR_IO;
    if (fchmod(fd, 0600) != 0)
        what = "chmod";
    else if (crypto_write_all(fd, key->p, MK_LEN) != CF_OK)
        what = "write";
    else if (fsync(fd) != 0)
        what = "fsync";
    if (what == NULL) {
        int c = close(fd); /* Linux releases the descriptor even when close fails */
        fd = -1;
        if (c != 0)
            what = "close";
    }
    if (what != NULL) {
        CF_LOGE("master key file %s: cannot %s: %s", path, what, strerror(errno));
        goto out;
    }
    if ((rc = crypto_fsync_parent(path)) == CF_OK)
        CF_LOGI("master key file %s: created (32 random bytes, mode 0600)", path);
out:
    if (fd >= 0)
        close(fd);
    if (rc != CF_OK) {
        if (created)
            unlink(path);
        cf_secret_free(key);
    }
    return rc;
}

/* ---------------------------------------------------------- wrap/unwrap */

static cf_status mk_file_wrap(void *self, const cf_secret *kek, cf_buf *out)
{
    struct mk_file *mk = self;
    EVP_CIPHER_CTX *ctx = NULL;
    size_t start = out->len;
    int n = 0, fin = 0;
    cf_status rc = CF_ERR_CRYPTO;

    if (kek == NULL || kek->p == NULL || kek->len == 0 || kek->len > MK_WRAP_MAX_KEY)
        return CF_ERR_INVALID_FIELD;
    if (!cf_buf_reserve(out, 1 + kek->len + MK_WRAP_OVERHEAD))
        return CF_ERR_NOMEM;
    ERR_clear_error();
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
        rc = CF_ERR_NOMEM;
        goto out;
    }
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_EncryptInit_ex2(ctx, mk->kw, mk->key.p, NULL, NULL) != 1
        || EVP_EncryptUpdate(ctx, out->p + start + 1, &n, kek->p, (int)kek->len) != 1
        || EVP_EncryptFinal_ex(ctx, out->p + start + 1 + n, &fin) != 1
        || (size_t)n + (size_t)fin > kek->len + MK_WRAP_OVERHEAD)
        goto out;
    out->p[start] = MK_WRAP_VERSION;
    out->len = start + 1 + (size_t)n + (size_t)fin;
    rc = CF_OK;
out:
    if (rc == CF_ERR_CRYPTO)
        crypto_log_errors("master key wrap");
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

static cf_status mk_file_unwrap(void *self, const uint8_t *blob, size_t len, cf_secret *out)
{
    struct mk_file *mk = self;
    EVP_CIPHER_CTX *ctx = NULL;
    cf_secret tmp = {NULL, 0};
    int n = 0, fin = 0;
    cf_status rc;

    out->p = NULL;
    out->len = 0;
    if (blob == NULL || len < 1 + MK_WRAP_OVERHEAD || len > 1 + MK_WRAP_MAX_KEY + MK_WRAP_OVERHEAD
        || (len - 1) % 8 != 0 || blob[0] != MK_WRAP_VERSION) {
        CF_LOGW("master key unwrap: not a version %d wrapped key (%zu bytes)", MK_WRAP_VERSION,
                len);
        return CF_ERR_CRYPTO;
    }
    if ((rc = cf_secret_alloc(&tmp, len)) != CF_OK)
        return rc;
    ERR_clear_error();
    rc = CF_ERR_CRYPTO;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
        rc = CF_ERR_NOMEM;
        goto out;
    }
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_DecryptInit_ex2(ctx, mk->kw, mk->key.p, NULL, NULL) != 1
        || EVP_DecryptUpdate(ctx, tmp.p, &n, blob + 1, (int)(len - 1)) != 1
        || EVP_DecryptFinal_ex(ctx, tmp.p + n, &fin) != 1 || n <= 0
        || (size_t)n + (size_t)fin > len - 1) {
        crypto_log_errors("master key unwrap");
        CF_LOGW("master key unwrap failed: wrong master key or damaged wrapped key");
        goto out;
    }
    rc = cf_secret_dup(out, tmp.p, (size_t)n + (size_t)fin);
out:
    EVP_CIPHER_CTX_free(ctx);
    cf_secret_free(&tmp);
    return rc;
}

/* ----------------------------------------------------------- lifecycle */

static void mk_file_destroy(void *self)
{
    struct mk_file *mk = self;

    if (mk == NULL)
        return;
    cf_secret_free(&mk->key);
    EVP_CIPHER_free(mk->kw);
    free(mk);
}

cf_status crypto_mk_file_open(const char *path, bool create, cf_mk_provider **out)
{
    struct mk_file *mk;
    cf_status rc;

    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return CF_ERR_INVALID_FIELD;
    if ((mk = calloc(1, sizeof *mk)) == NULL)
        return CF_ERR_NOMEM;
    rc = mk_load(path, create, &mk->key);
    if (rc == CF_ERR_NOT_FOUND && create) {
        rc = mk_create(path, &mk->key);
        if (rc == CF_ERR_EXISTS) /* lost a creation race: use the winner's key */
            rc = mk_load(path, false, &mk->key);
    }
    if (rc != CF_OK)
        goto out;
    ERR_clear_error();
    if ((mk->kw = EVP_CIPHER_fetch(NULL, "AES-256-WRAP-PAD", NULL)) == NULL) {
        crypto_log_errors("fetch AES-256-WRAP-PAD");
        rc = CF_ERR_CRYPTO;
        goto out;
    }
    mk->iface.name = "file";
    mk->iface.self = mk;
    mk->iface.wrap = mk_file_wrap;
    mk->iface.unwrap = mk_file_unwrap;
    mk->iface.destroy = mk_file_destroy;
    *out = &mk->iface;
    mk = NULL;
out:
    mk_file_destroy(mk);
    return rc;
}

/* Generic over providers: each one frees itself (and its iface) in destroy. */
void crypto_mk_free(cf_mk_provider *mk)
{
    if (mk != NULL && mk->destroy != NULL)
        mk->destroy(mk->self);
}
