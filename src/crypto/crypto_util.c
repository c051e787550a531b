/*
 * crypto_util.c - randomness, OpenSSL error draining, durable file writes.
 *
 * Design: secrets come from RAND_priv_bytes (OpenSSL keeps a separate DRBG
 * for private material so that a public nonce stream reveals nothing about
 * the generator that makes keys); everything else from RAND_bytes. Both
 * DRBGs are per-thread in OpenSSL 3.0, so these calls are thread-safe.
 *
 * Files that hold keys or certificates are never written in place: a
 * temporary in the same directory receives the bytes with its final mode,
 * is fsync'ed, then linked to its final name. link(2), unlike rename(2),
 * refuses to replace an existing file, which gives "create, never
 * overwrite" atomically; the directory is fsync'ed afterwards so the new
 * entry survives a crash. A crash leaves at most a "*.tmp-XXXXXX" file.
 */
#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "util/log.h"

/* RAND_* take an int length: feed them in chunks that fit. */
#define RAND_CHUNK ((size_t)1 << 20)

/* ---------------------------------------------------------- randomness */

static cf_status rand_fill(uint8_t *p, size_t n, bool priv)
{
    while (n > 0) {
        size_t k = n < RAND_CHUNK ? n : RAND_CHUNK;
        int ok = priv ? RAND_priv_bytes(p, (int)k) : RAND_bytes(p, (int)k);
        if (ok != 1) {
            crypto_log_errors(priv ? "RAND_priv_bytes" : "RAND_bytes");
            return CF_ERR_CRYPTO;
        }
        p += k;
        n -= k;
    }
    return CF_OK;
}

cf_status crypto_random(uint8_t *p, size_t n)
{
    if (n == 0)
        return CF_OK;
    if (p == NULL)
        return CF_ERR_INTERNAL;
    ERR_clear_error();
    return rand_fill(p, n, false);
}

cf_status crypto_random_secret(size_t n, cf_secret *out)
{
    cf_status rc;

    out->p = NULL;
    out->len = 0;
    if ((rc = cf_secret_alloc(out, n)) != CF_OK)
        return rc;
    out->len = n; /* cf_secret_alloc reports 1 for a zero-length request */
    ERR_clear_error();
    if ((rc = rand_fill(out->p, n, true)) != CF_OK)
        cf_secret_free(out);
    return rc;
}

/* -------------------------------------------------------------- errors */

void crypto_log_errors(const char *context)
{
    const char *file = NULL, *func = NULL, *data = NULL;
    int line = 0, flags = 0;
    unsigned long e;
    char reason[256];

    if (context == NULL)
        context = "openssl";
    while ((e = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
        bool has_data = (flags & ERR_TXT_STRING) && data != NULL && data[0] != '\0';
        ERR_error_string_n(e, reason, sizeof reason);
        CF_LOGW("%s: %s%s%s [%s:%d %s]", context, reason, has_data ? ": " : "",
                has_data ? data : "", file ? file : "?", line, func ? func : "?");
    }
}

/* --------------------------------------------------------------- files */

cf_status crypto_write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return CF_ERR_IO;
        }
        if (w == 0) {
            errno = EIO;
            return CF_ERR_IO;
        }
        p += w;
        len -= (size_t)w;
    }
    return CF_OK;
}

cf_status crypto_join_path(char *out, size_t out_len, const char *dir, const char *name)
{
    int n = snprintf(out, out_len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= out_len) {
        CF_LOGE("path too long: %s/%s", dir, name);
        return CF_ERR_INVALID_FIELD;
    }
    return CF_OK;
}

cf_status crypto_fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n;
    int fd, err = 0;

    if (slash == NULL) {
        memcpy(dir, ".", 2);
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir)
            return CF_ERR_INVALID_FIELD;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL))
        err = errno; /* some file systems cannot fsync a directory: EINVAL */
    if (fd >= 0)
        close(fd);
    if (err != 0) {
        CF_LOGE("%s: cannot fsync directory: %s", dir, strerror(err));
        return CF_ERR_IO;
    }
    return CF_OK;
}

/* Publish tmp as path without replacing an existing path. */
static cf_status publish_new(const char *tmp, const char *path)
{
    struct stat st;

    if (link(tmp, path) == 0)
        return CF_OK;
    if (errno == EEXIST) {
        CF_LOGE("%s: already exists, not overwriting", path);
        return CF_ERR_EXISTS;
    }
    if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSYS) {
        CF_LOGE("%s: cannot create: %s", path, strerror(errno));
        return CF_ERR_IO;
    }
    /* A file system without hard links: check, then rename (racy, best effort). */
    if (lstat(path, &st) == 0) {
        CF_LOGE("%s: already exists, not overwriting", path);
        return CF_ERR_EXISTS;
    }
    if (rename(tmp, path) != 0) {
        CF_LOGE("%s: cannot create: %s", path, strerror(errno));
        return CF_ERR_IO;
    }
    return CF_OK;
}

cf_status crypto_write_file_new(const char *path, const uint8_t *p, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    const char *what = NULL;
    cf_status rc = CF_ERR_IO;
    int fd = -1, n;

    n = snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        CF_LOGE("%s: path too long", path);
        return CF_ERR_INVALID_FIELD;
    }
    fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 from the start */
    if (fd < 0) {
        CF_LOGE("%s: cannot create temporary file: %s", path, strerror(errno));
        return CF_ERR_IO;
    }
    if (fchmod(fd, mode) != 0)
        what = "chmod";
    else if (crypto_write_all(fd, p, len) != CF_OK)
        what = "write";
    else if (fsync(fd) != 0)
        what = "fsync";
    if (what != NULL) {
        CF_LOGE("%s: cannot %s temporary file: %s", path, what, strerror(errno));
        goto out;
    }
    n = close(fd);
    fd = -1;
    if (n != 0) {
        CF_LOGE("%s: cannot close temporary file: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = publish_new(tmp, path)) != CF_OK)
        goto out;
    rc = crypto_fsync_parent(path);
out:
    if (fd >= 0)
        close(fd);
    unlink(tmp); /* after link(2) path keeps the inode; after rename tmp is gone */
    return rc;
}
