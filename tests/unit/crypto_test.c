/*
 * Unit tests for src/crypto: randomness, the file master-key provider, the
 * keyring and its sealed format (every single-byte change, every
 * truncation, wrong AAD, wrong KEK), and the development PKI (file modes,
 * idempotence, chain verification with X509_verify_cert, SAN and EKU, key
 * matching, and a real in-memory mutual-TLS handshake, TLS 1.2 and 1.3).
 * Everything happens in a mkdtemp directory under /tmp, removed at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "util/log.h"
#include "util/mem.h"

static char g_dir[64];       /* the test's temporary directory */
static char g_log[96];       /* the log goes here, so tests can read it */
static bool g_pki_made;      /* g_dir/pki holds the dev PKI */

static const char *const g_extra_san[] = {"kms.example.test", "10.1.2.3", "localhost"};

/* ------------------------------------------------------------- helpers */

static void path_in(char *out, size_t n, const char *name)
{
    int k = snprintf(out, n, "%s/%s", g_dir, name);
    assert_true(k > 0 && (size_t)k < n);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/coffre-crypto-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_log, sizeof g_log, "%s/test.log", g_dir);
    return cf_log_open(g_log) == CF_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_raw(const char *path, const uint8_t *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static unsigned file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

/* The log written since *off (malloc'ed, NUL-terminated); advances *off. */
static char *log_since(long *off)
{
    FILE *fp = fopen(g_log, "r");
    char *text;
    long end;
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    end = ftell(fp);
    assert_true(end >= *off);
    assert_non_null(text = calloc(1, (size_t)(end - *off) + 1));
    assert_int_equal(fseek(fp, *off, SEEK_SET), 0);
    assert_int_equal(fread(text, 1, (size_t)(end - *off), fp), (size_t)(end - *off));
    fclose(fp);
    *off = end;
    return text;
}

static long log_end(void)
{
    long off = 0;
    free(log_since(&off));
    return off;
}

/* The log since *off names path and says why. */
static void assert_logged(long *off, const char *path, const char *why)
{
    char *text = log_since(off);
    if (strstr(text, path) == NULL || strstr(text, why) == NULL)
        print_message("log was: %s\n", text);
    assert_non_null(strstr(text, path));
    assert_non_null(strstr(text, why));
    free(text);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* A provider with a fresh master key file `name` in g_dir. */
static cf_mk_provider *mk_new(const char *name)
{
    char path[PATH_MAX];
    cf_mk_provider *mk = NULL;
    path_in(path, sizeof path, name);
    assert_int_equal(crypto_mk_file_open(path, true, &mk), CF_OK);
    assert_non_null(mk);
    return mk;
}

/* ---------------------------------------------------------- randomness */

static void test_random(void **state)
{
    static const size_t lens[] = {0, 1, 16, 32, 64, 4096};
    uint8_t buf[70000];
    cf_secret a, b;
    (void)state;

    assert_int_equal(crypto_random(NULL, 0), CF_OK);
    memset(buf, 0, sizeof buf);
    assert_int_equal(crypto_random(buf, sizeof buf), CF_OK);
    assert_false(all_zero(buf, 32));
    assert_false(all_zero(buf + sizeof buf - 32, 32));
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        assert_int_equal(crypto_random_secret(lens[i], &a), CF_OK);
        assert_non_null(a.p);
        assert_int_equal(a.len, lens[i]);
        if (lens[i] >= 16)
            assert_false(all_zero(a.p, a.len));
        cf_secret_free(&a);
        assert_null(a.p);
    }
    assert_int_equal(crypto_random_secret(32, &a), CF_OK);
    assert_int_equal(crypto_random_secret(32, &b), CF_OK);
    assert_int_not_equal(cf_memeq_ct(a.p, b.p, 32), 0);
    cf_secret_free(&a);
    cf_secret_free(&b);
}

/* ------------------------------------------------- master key provider */

static void test_mk_file_create_reload(void **state)
{
    char path[PATH_MAX];
    cf_mk_provider *mk = NULL;
    cf_secret kek, back;
    struct stat st;
    cf_buf blob;
    (void)state;

    path_in(path, sizeof path, "mk-reload");
    assert_int_equal(crypto_mk_file_open(path, false, &mk), CF_ERR_NOT_FOUND);
    assert_null(mk);
    assert_int_equal(crypto_mk_file_open(path, true, &mk), CF_OK);
    assert_string_equal(mk->name, "file");
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 32);

    cf_buf_init(&blob, 0);
    assert_int_equal(crypto_random_secret(32, &kek), CF_OK);
    assert_int_equal(mk->wrap(mk->self, &kek, &blob), CF_OK);
    assert_int_equal(blob.len, 41); /* version + RFC 5649 (32 + 8) */
    assert_int_equal(blob.p[0], 1);
    crypto_mk_free(mk);

    mk = NULL;
    assert_int_equal(crypto_mk_file_open(path, false, &mk), CF_OK);
    assert_int_equal(mk->unwrap(mk->self, blob.p, blob.len, &back), CF_OK);
    assert_int_equal(back.len, 32);
    assert_memory_equal(back.p, kek.p, 32);
    cf_secret_free(&back);
    crypto_mk_free(mk);
    /* create=true on an existing file loads it rather than replacing it */
    assert_int_equal(crypto_mk_file_open(path, true, &mk), CF_OK);
    assert_int_equal(mk->unwrap(mk->self, blob.p, blob.len, &back), CF_OK);
    assert_memory_equal(back.p, kek.p, 32);
    cf_secret_free(&back);
    crypto_mk_free(mk);
    crypto_mk_free(NULL);
    cf_secret_free(&kek);
    cf_buf_free(&blob);
}

static void test_mk_file_refuses_mode(void **state)
{
    static const mode_t bad[] = {0644, 0640, 0604, 0660, 0601, 0610};
    char path[PATH_MAX], why[32];
    cf_mk_provider *mk = mk_new("mk-mode");
    long off = log_end();
    (void)state;

    crypto_mk_free(mk);
    path_in(path, sizeof path, "mk-mode");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(path, bad[i]), 0);
        mk = NULL;
        assert_int_equal(crypto_mk_file_open(path, false, &mk), CF_ERR_IO);
        assert_null(mk);
        snprintf(why, sizeof why, "mode %04o", (unsigned)bad[i]);
        assert_logged(&off, path, why);
        assert_int_equal(crypto_mk_file_open(path, true, &mk), CF_ERR_IO);
        assert_null(mk);
    }
    assert_int_equal(chmod(path, 0400), 0); /* owner-only read is fine */
    assert_int_equal(crypto_mk_file_open(path, false, &mk), CF_OK);
    crypto_mk_free(mk);
}

static void test_mk_file_refuses_size(void **state)
{
    static const size_t sizes[] = {0, 1, 31, 33, 64};
    uint8_t bytes[64];
    char path[PATH_MAX], why[32];
    cf_mk_provider *mk = NULL;
    long off = log_end();
    (void)state;

    memset(bytes, 0x5a, sizeof bytes);
    path_in(path, sizeof path, "mk-size");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        write_raw(path, bytes, sizes[i], 0600);
        assert_int_equal(crypto_mk_file_open(path, true, &mk), CF_ERR_IO);
        assert_null(mk);
        snprintf(why, sizeof why, "size is %zu bytes", sizes[i]);
        assert_logged(&off, path, why);
        assert_int_equal(unlink(path), 0);
    }
    write_raw(path, bytes, 32, 0600);
    assert_int_equal(crypto_mk_file_open(path, false, &mk), CF_OK);
    crypto_mk_free(mk);
}

static void test_mk_file_refuses_symlink_and_dir(void **state)
{
    char target[PATH_MAX], link_path[PATH_MAX], dangling[PATH_MAX], dir[PATH_MAX];
    cf_mk_provider *mk = mk_new("mk-target");
    long off = log_end();
    struct stat st;
    (void)state;

    crypto_mk_free(mk);
    mk = NULL;
    path_in(target, sizeof target, "mk-target");
    path_in(link_path, sizeof link_path, "mk-link");
    assert_int_equal(symlink(target, link_path), 0);
    assert_int_equal(crypto_mk_file_open(link_path, false, &mk), CF_ERR_IO);
    assert_int_equal(crypto_mk_file_open(link_path, true, &mk), CF_ERR_IO);
    assert_null(mk);
    assert_logged(&off, link_path, "symbolic link");

    /* A dangling link must not be followed to create the key elsewhere. */
    path_in(dangling, sizeof dangling, "mk-dangling");
    path_in(target, sizeof target, "mk-nowhere");
    assert_int_equal(symlink(target, dangling), 0);
    assert_int_equal(crypto_mk_file_open(dangling, true, &mk), CF_ERR_IO);
    assert_null(mk);
    assert_int_not_equal(lstat(target, &st), 0);

    path_in(dir, sizeof dir, "mk-dir");
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(crypto_mk_file_open(dir, false, &mk), CF_ERR_IO);
    assert_null(mk);
    assert_logged(&off, dir, "not a regular file");
    assert_int_equal(crypto_mk_file_open("", true, &mk), CF_ERR_INVALID_FIELD);
}

static void test_mk_wrap_unwrap(void **state)
{
    static const size_t lens[] = {1, 7, 8, 16, 32, 64, 100};
    cf_mk_provider *mk = mk_new("mk-wrap"), *other = mk_new("mk-wrap-other");
    cf_secret kek, back;
    cf_buf blob;
    (void)state;

    cf_buf_init(&blob, 0);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        cf_buf_reset(&blob);
        assert_int_equal(crypto_random_secret(lens[i], &kek), CF_OK);
        assert_int_equal(mk->wrap(mk->self, &kek, &blob), CF_OK);
        assert_int_equal(mk->unwrap(mk->self, blob.p, blob.len, &back), CF_OK);
        assert_int_equal(back.len, lens[i]);
        assert_memory_equal(back.p, kek.p, lens[i]);
        cf_secret_free(&back);
        assert_int_equal(other->unwrap(other->self, blob.p, blob.len, &back), CF_ERR_CRYPTO);
        assert_null(back.p);
        cf_secret_free(&kek);
    }
    /* blob now wraps a 100-byte key: every flipped byte and every cut fails */
    for (size_t i = 0; i < blob.len; i++) {
        blob.p[i] ^= 0x01;
        assert_int_equal(mk->unwrap(mk->self, blob.p, blob.len, &back), CF_ERR_CRYPTO);
        assert_null(back.p);
        blob.p[i] ^= 0x01;
    }
    for (size_t n = 0; n < blob.len; n++)
        assert_int_equal(mk->unwrap(mk->self, blob.p, n, &back), CF_ERR_CRYPTO);
    assert_int_equal(mk->unwrap(mk->self, NULL, 0, &back), CF_ERR_CRYPTO);
    kek.p = NULL;
    kek.len = 0;
    assert_int_equal(mk->wrap(mk->self, &kek, &blob), CF_ERR_INVALID_FIELD);
    cf_buf_free(&blob);
    crypto_mk_free(mk);
    crypto_mk_free(other);
}

/* ------------------------------------------------------------- keyring */

struct kr_fixture {
    cf_mk_provider *mk;
    cf_keyring *kr;
    cf_buf wrapped;
};

static void kr_fixture_new(struct kr_fixture *f, const char *mk_name, uint32_t kek_id)
{
    f->mk = mk_new(mk_name);
    cf_buf_init(&f->wrapped, 0);
    assert_int_equal(crypto_keyring_create(f->mk, kek_id, &f->wrapped, &f->kr), CF_OK);
    assert_non_null(f->kr);
    assert_int_equal(crypto_keyring_id(f->kr), kek_id);
    assert_true(f->wrapped.len > 0);
}

static void kr_fixture_free(struct kr_fixture *f)
{
    crypto_keyring_free(f->kr);
    crypto_mk_free(f->mk);
    cf_buf_free(&f->wrapped);
}

static const uint8_t g_aad[] = "tenant=default|uid=42";

/* Seal `n` patterned bytes with g_aad into a fresh buffer. */
static void seal_pattern(const cf_keyring *kr, size_t n, cf_buf *out)
{
    uint8_t pt[1024];
    assert_true(n <= sizeof pt);
    for (size_t i = 0; i < n; i++)
        pt[i] = (uint8_t)(i * 7 + 1);
    cf_buf_init(out, 0);
    assert_int_equal(crypto_seal(kr, g_aad, sizeof g_aad, pt, n, out), CF_OK);
}

static void test_seal_open_roundtrip(void **state)
{
    static const size_t lens[] = {0, 1, 15, 16, 17, 32, 64, 1000};
    struct kr_fixture f;
    cf_buf a, b;
    cf_secret pt;
    uint32_t id = 0;
    (void)state;

    kr_fixture_new(&f, "mk-seal", 0x01020304u);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        seal_pattern(f.kr, lens[i], &a);
        assert_int_equal(a.len, lens[i] + CRYPTO_SEAL_OVERHEAD);
        assert_int_equal(a.p[0], CRYPTO_SEAL_VERSION);
        assert_int_equal(cf_be32(a.p + 1), 0x01020304u);
        assert_int_equal(crypto_sealed_kek_id(a.p, a.len, &id), CF_OK);
        assert_int_equal(id, 0x01020304u);
        assert_int_equal(crypto_open(f.kr, g_aad, sizeof g_aad, a.p, a.len, &pt), CF_OK);
        assert_int_equal(pt.len, lens[i]);
        for (size_t k = 0; k < lens[i]; k++)
            assert_int_equal(pt.p[k], (uint8_t)(k * 7 + 1));
        cf_secret_free(&pt);
        seal_pattern(f.kr, lens[i], &b); /* fresh nonce: never the same blob */
        assert_int_equal(a.len, b.len);
        assert_memory_not_equal(a.p, b.p, a.len);
        cf_buf_free(&a);
        cf_buf_free(&b);
    }
    /* no AAD at all, and appending after existing bytes */
    cf_buf_init(&a, 0);
    assert_true(cf_buf_append(&a, "hdr", 3));
    assert_int_equal(crypto_seal(f.kr, NULL, 0, (const uint8_t *)"x", 1, &a), CF_OK);
    assert_int_equal(a.len, 3 + 1 + CRYPTO_SEAL_OVERHEAD);
    assert_int_equal(crypto_open(f.kr, NULL, 0, a.p + 3, a.len - 3, &pt), CF_OK);
    assert_int_equal(pt.len, 1);
    assert_int_equal(pt.p[0], 'x');
    cf_secret_free(&pt);
    cf_buf_free(&a);
    kr_fixture_free(&f);
}

static void test_open_every_flipped_byte(void **state)
{
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    struct kr_fixture f;
    cf_secret pt;
    cf_buf s;
    (void)state;

    kr_fixture_new(&f, "mk-flip", 7);
    seal_pattern(f.kr, 48, &s);
    for (size_t i = 0; i < s.len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            s.p[i] ^= masks[m];
            pt.p = (uint8_t *)1; /* must be reset on failure */
            assert_int_equal(crypto_open(f.kr, g_aad, sizeof g_aad, s.p, s.len, &pt),
                             CF_ERR_CRYPTO);
            assert_null(pt.p);
            assert_int_equal(pt.len, 0);
            s.p[i] ^= masks[m];
        }
    }
    assert_int_equal(crypto_open(f.kr, g_aad, sizeof g_aad, s.p, s.len, &pt), CF_OK);
    cf_secret_free(&pt);
    cf_buf_free(&s);
    kr_fixture_free(&f);
}

static void test_open_truncated_and_extended(void **state)
{
    struct kr_fixture f;
    cf_secret pt;
    cf_buf s;
    (void)state;

    kr_fixture_new(&f, "mk-trunc", 7);
    seal_pattern(f.kr, 40, &s);
    for (size_t n = 0; n < s.len; n++) {
        assert_int_equal(crypto_open(f.kr, g_aad, sizeof g_aad, s.p, n, &pt), CF_ERR_CRYPTO);
        assert_null(pt.p);
        /* the tail alone, too: a cut from the front */
        assert_int_equal(crypto_open(f.kr, g_aad, sizeof g_aad, s.p + s.len - n, n, &pt),
                         CF_ERR_CRYPTO);
    }
    assert_true(cf_buf_append(&s, "", 1));
    assert_int_equal(crypto_open(f.kr, g_aad, sizeof g_aad, s.p, s.len, &pt), CF_ERR_CRYPTO);
    assert_int_equal(crypto_open(f.kr, g_aad, sizeof g_aad, NULL, 0, &pt), CF_ERR_CRYPTO);
    assert_int_equal(crypto_sealed_kek_id(s.p, 10, &(uint32_t){0}), CF_ERR_CRYPTO);
    cf_buf_free(&s);
    kr_fixture_free(&f);
}

static void test_open_wrong_aad(void **state)
{
    uint8_t aad2[sizeof g_aad + 1];
    struct kr_fixture f;
    cf_secret pt;
    cf_buf s;
    (void)state;

    kr_fixture_new(&f, "mk-aad", 9);
    seal_pattern(f.kr, 32, &s);
    memcpy(aad2, g_aad, sizeof g_aad);
    aad2[sizeof g_aad] = 0;
    assert_int_equal(crypto_open(f.kr, NULL, 0, s.p, s.len, &pt), CF_ERR_CRYPTO);
    assert_int_equal(crypto_open(f.kr, g_aad, sizeof g_aad - 1, s.p, s.len, &pt), CF_ERR_CRYPTO);
    assert_int_equal(crypto_open(f.kr, aad2, sizeof aad2, s.p, s.len, &pt), CF_ERR_CRYPTO);
    aad2[0] ^= 0x20;
    assert_int_equal(crypto_open(f.kr, aad2, sizeof g_aad, s.p, s.len, &pt), CF_ERR_CRYPTO);
    /* a shifted AAD */
    assert_int_equal(crypto_open(f.kr, g_aad + 1, sizeof g_aad - 1, s.p, s.len, &pt),
                     CF_ERR_CRYPTO);
    assert_null(pt.p);
    cf_buf_free(&s);
    kr_fixture_free(&f);
}

static void test_open_other_keyring(void **state)
{
    struct kr_fixture f, g;
    cf_keyring *same_key_other_id = NULL, *reloaded = NULL;
    cf_secret pt;
    cf_buf s;
    (void)state;

    kr_fixture_new(&f, "mk-kr1", 5);
    kr_fixture_new(&g, "mk-kr2", 5); /* same id, other KEK */
    seal_pattern(f.kr, 32, &s);
    assert_int_equal(crypto_open(g.kr, g_aad, sizeof g_aad, s.p, s.len, &pt), CF_ERR_CRYPTO);
    assert_null(pt.p);
    /* same KEK loaded under another id: refused on the header's kek_id */
    assert_int_equal(crypto_keyring_load(f.mk, 6, f.wrapped.p, f.wrapped.len, &same_key_other_id),
                     CF_OK);
    assert_int_equal(crypto_open(same_key_other_id, g_aad, sizeof g_aad, s.p, s.len, &pt),
                     CF_ERR_CRYPTO);
    /* rewriting the header's kek_id to 6 does not help: the header is AAD */
    cf_put_be32(s.p + 1, 6);
    assert_int_equal(crypto_open(same_key_other_id, g_aad, sizeof g_aad, s.p, s.len, &pt),
                     CF_ERR_CRYPTO);
    cf_put_be32(s.p + 1, 5);
    /* the wrapped KEK reloaded under id 5 opens it; the other master key cannot unwrap it */
    assert_int_equal(crypto_keyring_load(f.mk, 5, f.wrapped.p, f.wrapped.len, &reloaded), CF_OK);
    assert_int_equal(crypto_open(reloaded, g_aad, sizeof g_aad, s.p, s.len, &pt), CF_OK);
    cf_secret_free(&pt);
    crypto_keyring_free(reloaded);
    reloaded = NULL;
    assert_int_equal(crypto_keyring_load(g.mk, 5, f.wrapped.p, f.wrapped.len, &reloaded),
                     CF_ERR_CRYPTO);
    assert_null(reloaded);
    crypto_keyring_free(same_key_other_id);
    crypto_keyring_free(NULL);
    cf_buf_free(&s);
    kr_fixture_free(&f);
    kr_fixture_free(&g);
}

static void test_keyring_reload_from_file(void **state)
{
    char path[PATH_MAX];
    struct kr_fixture f;
    cf_mk_provider *mk2 = NULL;
    cf_keyring *kr2 = NULL;
    cf_secret pt;
    cf_buf s;
    (void)state;

    kr_fixture_new(&f, "mk-restart", 1);
    seal_pattern(f.kr, 32, &s);
    path_in(path, sizeof path, "mk-restart");
    assert_int_equal(crypto_mk_file_open(path, false, &mk2), CF_OK); /* "a restart" */
    assert_int_equal(crypto_keyring_load(mk2, 1, f.wrapped.p, f.wrapped.len, &kr2), CF_OK);
    assert_int_equal(crypto_open(kr2, g_aad, sizeof g_aad, s.p, s.len, &pt), CF_OK);
    assert_int_equal(pt.len, 32);
    cf_secret_free(&pt);
    crypto_keyring_free(kr2);
    kr2 = NULL;
    f.wrapped.p[f.wrapped.len - 1] ^= 1;
    assert_int_equal(crypto_keyring_load(mk2, 1, f.wrapped.p, f.wrapped.len, &kr2), CF_ERR_CRYPTO);
    assert_null(kr2);
    crypto_mk_free(mk2);
    cf_buf_free(&s);
    kr_fixture_free(&f);
}

static void test_seal_buffer_limit(void **state)
{
    uint8_t pt[64] = {0};
    struct kr_fixture f;
    cf_buf small;
    (void)state;

    kr_fixture_new(&f, "mk-limit", 1);
    cf_buf_init(&small, 40);
    assert_true(cf_buf_append(&small, "abc", 3));
    assert_int_equal(crypto_seal(f.kr, NULL, 0, pt, sizeof pt, &small), CF_ERR_LIMIT);
    assert_int_equal(small.len, 3);
    cf_buf_free(&small);
    kr_fixture_free(&f);
}

struct seal_thread {
    const cf_keyring *kr;
    int failures;
};

static void *seal_worker(void *arg)
{
    struct seal_thread *t = arg;
    for (int i = 0; i < 500; i++) {
        uint8_t pt[32], aad[4];
        cf_secret out;
        cf_buf s;
        memset(pt, i & 0xff, sizeof pt);
        cf_put_be32(aad, (uint32_t)i);
        cf_buf_init(&s, 0);
        if (crypto_seal(t->kr, aad, sizeof aad, pt, sizeof pt, &s) != CF_OK
            || crypto_open(t->kr, aad, sizeof aad, s.p, s.len, &out) != CF_OK) {
            t->failures++;
        } else {
            t->failures += memcmp(out.p, pt, sizeof pt) != 0;
            cf_secret_free(&out);
        }
        cf_buf_free(&s);
    }
    return NULL;
}

static void test_keyring_threads(void **state)
{
    struct seal_thread t[4];
    pthread_t th[4];
    struct kr_fixture f;
    (void)state;

    kr_fixture_new(&f, "mk-threads", 3);
    for (int i = 0; i < 4; i++) {
        t[i] = (struct seal_thread){f.kr, 0};
        assert_int_equal(pthread_create(&th[i], NULL, seal_worker, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(t[i].failures, 0);
    }
    kr_fixture_free(&f);
}

/* ----------------------------------------------------------------- PKI */

static void pki_path(char *out, size_t n, const char *name)
{
    int k = snprintf(out, n, "%s/pki/%s", g_dir, name);
    assert_true(k > 0 && (size_t)k < n);
}

static void pki_make(void)
{
    char dir[PATH_MAX];
    if (g_pki_made)
        return;
    path_in(dir, sizeof dir, "pki");
    assert_int_equal(crypto_pki_ensure_dev(dir, g_extra_san, 3), CF_OK);
    g_pki_made = true;
}

static X509 *load_cert(const char *name)
{
    char path[PATH_MAX];
    X509 *x;
    BIO *b;
    pki_path(path, sizeof path, name);
    assert_non_null(b = BIO_new_file(path, "r"));
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *load_key(const char *name)
{
    char path[PATH_MAX];
    EVP_PKEY *k;
    BIO *b;
    pki_path(path, sizeof path, name);
    assert_non_null(b = BIO_new_file(path, "r"));
    k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(k);
    return k;
}

/* X509_V_OK or the verification error. */
static int verify_chain(X509 *ca, X509 *leaf, int purpose)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok;
    assert_non_null(st);
    assert_non_null(ctx);
    assert_int_equal(X509_STORE_add_cert(st, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, NULL), 1);
    assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
    ok = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    assert_int_not_equal(ok == X509_V_OK, X509_STORE_CTX_get_error(ctx) != X509_V_OK);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    ERR_clear_error();
    return ok;
}

static void test_pki_files_and_modes(void **state)
{
    static const char *const keys[] = {"ca.key", "server.key", "admin.key"};
    static const char *const certs[] = {"ca.crt", "server.crt", "admin.crt"};
    char path[PATH_MAX], head[32];
    FILE *fp;
    (void)state;

    pki_make();
    path_in(path, sizeof path, "pki");
    assert_int_equal(file_mode(path), 0700);
    for (int i = 0; i < 3; i++) {
        pki_path(path, sizeof path, keys[i]);
        assert_int_equal(file_mode(path), 0600);
        assert_non_null(fp = fopen(path, "r"));
        assert_non_null(fgets(head, sizeof head, fp));
        fclose(fp);
        assert_string_equal(head, "-----BEGIN PRIVATE KEY-----\n"); /* PKCS#8, clear */
        pki_path(path, sizeof path, certs[i]);
        assert_int_equal(file_mode(path), 0644);
    }
}

static void test_pki_second_call_keeps_files(void **state)
{
    static const char *const names[] = {"ca.key", "ca.crt", "server.key",
                                        "server.crt", "admin.key", "admin.crt"};
    struct stat before[6], after[6];
    char path[PATH_MAX], dir[PATH_MAX];
    X509 *ca1, *ca2;
    (void)state;

    pki_make();
    for (int i = 0; i < 6; i++) {
        pki_path(path, sizeof path, names[i]);
        assert_int_equal(stat(path, &before[i]), 0);
    }
    ca1 = load_cert("ca.crt");
    path_in(dir, sizeof dir, "pki");
    assert_int_equal(crypto_pki_ensure_dev(dir, NULL, 0), CF_OK);
    ca2 = load_cert("ca.crt");
    assert_int_equal(X509_cmp(ca1, ca2), 0);
    for (int i = 0; i < 6; i++) {
        pki_path(path, sizeof path, names[i]);
        assert_int_equal(stat(path, &after[i]), 0);
        assert_int_equal(before[i].st_ino, after[i].st_ino);
        assert_int_equal(before[i].st_mtim.tv_sec, after[i].st_mtim.tv_sec);
        assert_int_equal(before[i].st_mtim.tv_nsec, after[i].st_mtim.tv_nsec);
    }
    X509_free(ca1);
    X509_free(ca2);
}

static void test_pki_chain_and_extensions(void **state)
{
    X509 *ca, *srv, *adm;
    (void)state;

    pki_make();
    ca = load_cert("ca.crt");
    srv = load_cert("server.crt");
    adm = load_cert("admin.crt");
    assert_int_equal(verify_chain(ca, srv, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    assert_int_equal(verify_chain(ca, srv, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    assert_int_equal(verify_chain(ca, adm, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    assert_int_equal(verify_chain(ca, adm, X509_PURPOSE_SSL_SERVER), X509_V_ERR_INVALID_PURPOSE);
    assert_int_equal(verify_chain(srv, adm, X509_PURPOSE_SSL_CLIENT),
                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

    assert_int_equal(X509_check_ca(ca), 1);
    assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
    assert_int_equal(X509_check_ca(srv), 0);
    assert_int_equal(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(srv, "kms.example.test", 0, 0, NULL), 1);
    assert_int_not_equal(X509_check_host(srv, "evil.example", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "10.1.2.3", 0), 1);
    assert_int_not_equal(X509_check_ip_asc(srv, "10.1.2.4", 0), 1);
    assert_true(X509_get_extended_key_usage(srv) & XKU_SSL_SERVER);
    assert_int_equal(X509_get_extended_key_usage(adm), XKU_SSL_CLIENT);
    assert_int_equal(X509_get_key_usage(adm), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    assert_int_equal(X509_get_signature_nid(srv), NID_sha256WithRSAEncryption);
    assert_int_equal(X509_get_signature_nid(adm), NID_sha256WithRSAEncryption);
    assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(ca)), 3072);
    assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(srv)), 2048);
    {
        char cn[64];
        const ASN1_INTEGER *serial = X509_get0_serialNumber(adm);
        int days = 0, secs = 0;
        assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(adm), NID_commonName,
                                                   cn, sizeof cn), 5);
        assert_string_equal(cn, "admin");
        assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(adm),
                                              NID_organizationName, cn, sizeof cn) > 0);
        assert_string_equal(cn, "Coffre dev");
        assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER); /* positive */
        assert_int_equal(ASN1_STRING_length(serial), 16);
        assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(srv),
                                        X509_get0_notAfter(srv)), 1);
        assert_true(days < 825 || (days == 825 && secs == 0));
        assert_true(days >= 824);
    }
    X509_free(ca);
    X509_free(srv);
    X509_free(adm);
}

static void test_pki_keys_match(void **state)
{
    static const char *const pairs[][2] = {
        {"ca.crt", "ca.key"}, {"server.crt", "server.key"}, {"admin.crt", "admin.key"}};
    X509 *srv;
    EVP_PKEY *adm_key;
    (void)state;

    pki_make();
    for (int i = 0; i < 3; i++) {
        X509 *x = load_cert(pairs[i][0]);
        EVP_PKEY *k = load_key(pairs[i][1]);
        assert_int_equal(X509_check_private_key(x, k), 1);
        X509_free(x);
        EVP_PKEY_free(k);
    }
    srv = load_cert("server.crt");
    adm_key = load_key("admin.key");
    assert_int_not_equal(X509_check_private_key(srv, adm_key), 1);
    ERR_clear_error();
    X509_free(srv);
    EVP_PKEY_free(adm_key);
}

/* A TLS context trusting the dev CA and requiring the peer's certificate;
 * it presents pki/<cert_name>.crt when cert_name is not NULL. */
static SSL_CTX *tls_ctx_new(bool server, const char *cert_name)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    char path[PATH_MAX];

    assert_non_null(ctx);
    pki_path(path, sizeof path, "ca.crt");
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, path, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       NULL);
    if (cert_name != NULL) {
        snprintf(path, sizeof path, "%s/pki/%s.crt", g_dir, cert_name);
        assert_int_equal(SSL_CTX_use_certificate_file(ctx, path, SSL_FILETYPE_PEM), 1);
        snprintf(path, sizeof path, "%s/pki/%s.key", g_dir, cert_name);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM), 1);
    }
    return ctx;
}

/* One in-memory mutual-TLS handshake (a BIO pair, no sockets) between the
 * dev server certificate and client_cert; the client checks host or ip.
 * True when both sides finish; peer_cn gets the client's CN as the server
 * saw it. */
static bool tls_handshake(int version, const char *client_cert, const char *host,
                          const char *ip, char *peer_cn, size_t peer_cn_len)
{
    SSL_CTX *sctx = tls_ctx_new(true, "server"), *cctx = tls_ctx_new(false, client_cert);
    SSL *s, *c;
    BIO *bs, *bc;
    int rs = 0, rc = 0;

    assert_int_equal(SSL_CTX_set_min_proto_version(cctx, version), 1);
    assert_int_equal(SSL_CTX_set_max_proto_version(cctx, version), 1);
    assert_non_null(s = SSL_new(sctx));
    assert_non_null(c = SSL_new(cctx));
    if (host != NULL)
        assert_int_equal(SSL_set1_host(c, host), 1);
    if (ip != NULL)
        assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c), ip), 1);
    assert_int_equal(BIO_new_bio_pair(&bs, 0, &bc, 0), 1);
    SSL_set_bio(s, bs, bs);
    SSL_set_bio(c, bc, bc);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    for (int i = 0; i < 50 && (rs != 1 || rc != 1); i++) {
        if (rc != 1)
            rc = SSL_do_handshake(c);
        if (rs != 1)
            rs = SSL_do_handshake(s);
        if ((rc <= 0 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
            || (rs <= 0 && SSL_get_error(s, rs) != SSL_ERROR_WANT_READ))
            break;
    }
    if (rs == 1 && rc == 1 && peer_cn != NULL) {
        X509 *peer = SSL_get1_peer_certificate(s);
        assert_non_null(peer);
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, peer_cn,
                                  (int)peer_cn_len);
        X509_free(peer);
        assert_int_equal(SSL_version(c), version);
    }
    ERR_clear_error();
    SSL_free(s);
    SSL_free(c);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return rs == 1 && rc == 1;
}

static void test_pki_mutual_tls(void **state)
{
    char cn[64] = "";
    (void)state;

    pki_make();
    assert_true(tls_handshake(TLS1_3_VERSION, "admin", "localhost", NULL, cn, sizeof cn));
    assert_string_equal(cn, "admin");
    assert_true(tls_handshake(TLS1_2_VERSION, "admin", NULL, "127.0.0.1", NULL, 0));
    assert_true(tls_handshake(TLS1_3_VERSION, "admin", NULL, "::1", NULL, 0));
    assert_true(tls_handshake(TLS1_2_VERSION, "admin", "kms.example.test", NULL, NULL, 0));
    /* no client certificate, a wrong host name: both refused */
    assert_false(tls_handshake(TLS1_3_VERSION, NULL, "localhost", NULL, NULL, 0));
    assert_false(tls_handshake(TLS1_2_VERSION, NULL, "localhost", NULL, NULL, 0));
    assert_false(tls_handshake(TLS1_3_VERSION, "admin", "evil.example", NULL, NULL, 0));
}

static void test_pki_partial_and_bad_input(void **state)
{
    static const char *const bad_san[] = {"ok.example", "bad name,IP:1.2.3.4"};
    static const char *const bad_san2[] = {"-.."};
    char dir[PATH_MAX], path[PATH_MAX];
    struct stat st;
    (void)state;

    path_in(dir, sizeof dir, "pki-partial");
    assert_int_equal(mkdir(dir, 0700), 0);
    path_in(path, sizeof path, "pki-partial/server.key");
    write_raw(path, (const uint8_t *)"mine", 4, 0600);
    assert_int_equal(crypto_pki_ensure_dev(dir, NULL, 0), CF_ERR_EXISTS);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_size, 4); /* untouched */
    path_in(path, sizeof path, "pki-partial/ca.key");
    assert_int_not_equal(lstat(path, &st), 0);

    path_in(dir, sizeof dir, "pki-badsan");
    assert_int_equal(crypto_pki_ensure_dev(dir, bad_san, 2), CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_pki_ensure_dev(dir, bad_san2, 1), CF_ERR_INVALID_FIELD);
    assert_int_not_equal(lstat(dir, &st), 0); /* nothing created */
    assert_int_equal(crypto_pki_ensure_dev("", NULL, 0), CF_ERR_INVALID_FIELD);
    path_in(path, sizeof path, "pki-partial/server.key/sub");
    assert_int_equal(crypto_pki_ensure_dev(path, NULL, 0), CF_ERR_IO);
}

static void test_pki_issue_client(void **state)
{
    char ca[PATH_MAX], ca_key[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], srv[PATH_MAX],
        srv_key[PATH_MAX], cn[64];
    X509 *cax, *x;
    EVP_PKEY *k;
    (void)state;

    pki_make();
    pki_path(ca, sizeof ca, "ca.crt");
    pki_path(ca_key, sizeof ca_key, "ca.key");
    pki_path(srv, sizeof srv, "server.crt");
    pki_path(srv_key, sizeof srv_key, "server.key");
    pki_path(crt, sizeof crt, "vcenter.crt");
    pki_path(key, sizeof key, "vcenter.key");
    assert_int_equal(crypto_pki_issue_client(ca, ca_key, "vcenter", 30, crt, key), CF_OK);
    assert_int_equal(file_mode(key), 0600);
    assert_int_equal(file_mode(crt), 0644);
    cax = load_cert("ca.crt");
    x = load_cert("vcenter.crt");
    k = load_key("vcenter.key");
    assert_int_equal(verify_chain(cax, x, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    assert_int_equal(X509_check_private_key(x, k), 1);
    assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                          sizeof cn) > 0);
    assert_string_equal(cn, "vcenter");
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, cn,
                                          sizeof cn) > 0);
    assert_string_equal(cn, "Coffre dev");
    assert_true(tls_handshake(TLS1_2_VERSION, "vcenter", "localhost", NULL, cn, sizeof cn));
    assert_string_equal(cn, "vcenter");
    X509_free(x);
    EVP_PKEY_free(k);
    X509_free(cax);

    /* never overwrite; refuse a non-CA or a key that does not match */
    assert_int_equal(crypto_pki_issue_client(ca, ca_key, "vcenter", 30, crt, key), CF_ERR_EXISTS);
    pki_path(crt, sizeof crt, "x.crt");
    pki_path(key, sizeof key, "x.key");
    assert_int_equal(crypto_pki_issue_client(ca, srv_key, "x", 30, crt, key), CF_ERR_CRYPTO);
    assert_int_equal(crypto_pki_issue_client(srv, srv_key, "x", 30, crt, key), CF_ERR_CRYPTO);
    assert_int_equal(crypto_pki_issue_client(ca, ca_key, "", 30, crt, key), CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_pki_issue_client(ca, ca_key, "a\nb", 30, crt, key),
                     CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_pki_issue_client(ca, ca_key, "x", 5000, crt, key),
                     CF_ERR_INVALID_FIELD);
    assert_int_equal(crypto_pki_issue_client(ca, "/nonexistent/ca.key", "x", 30, crt, key),
                     CF_ERR_IO);
    assert_int_not_equal(access(crt, F_OK), 0);
    assert_int_not_equal(access(key, F_OK), 0);
}

static void test_log_errors_drains_queue(void **state)
{
    long off = log_end();
    EVP_CIPHER *c;
    char *text;
    (void)state;

    ERR_clear_error();
    c = EVP_CIPHER_fetch(NULL, "NO-SUCH-CIPHER", NULL);
    assert_null(c);
    assert_int_not_equal(ERR_peek_error(), 0);
    crypto_log_errors("ctx-under-test");
    assert_int_equal(ERR_peek_error(), 0);
    text = log_since(&off);
    assert_non_null(strstr(text, "warn"));
    assert_non_null(strstr(text, "ctx-under-test: error:"));
    free(text);
    crypto_log_errors("nothing-queued"); /* an empty queue logs nothing */
    text = log_since(&off);
    assert_string_equal(text, "");
    free(text);
}

/* Runs last: no master key or private key ever reached the log. */
static void test_no_secret_in_log(void **state)
{
    static const char *const mk_files[] = {"mk-reload", "mk-wrap", "mk-restart", "mk-seal"};
    char path[PATH_MAX], hex[65];
    uint8_t key[32];
    long off = 0;
    char *text;
    FILE *fp;
    (void)state;

    text = log_since(&off);
    assert_true(off > 0);
    for (size_t i = 0; i < sizeof mk_files / sizeof mk_files[0]; i++) {
        path_in(path, sizeof path, mk_files[i]);
        assert_non_null(fp = fopen(path, "rb"));
        assert_int_equal(fread(key, 1, sizeof key, fp), sizeof key);
        fclose(fp);
        assert_null(memmem(text, (size_t)off, key, 8));
        for (int k = 0; k < 8; k++)
            snprintf(hex + 2 * k, 3, "%02x", key[k]);
        assert_null(strcasestr(text, hex));
    }
    assert_null(strstr(text, "PRIVATE KEY"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_mk_file_create_reload),
        cmocka_unit_test(test_mk_file_refuses_mode),
        cmocka_unit_test(test_mk_file_refuses_size),
        cmocka_unit_test(test_mk_file_refuses_symlink_and_dir),
        cmocka_unit_test(test_mk_wrap_unwrap),
        cmocka_unit_test(test_seal_open_roundtrip),
        cmocka_unit_test(test_open_every_flipped_byte),
        cmocka_unit_test(test_open_truncated_and_extended),
        cmocka_unit_test(test_open_wrong_aad),
        cmocka_unit_test(test_open_other_keyring),
        cmocka_unit_test(test_keyring_reload_from_file),
        cmocka_unit_test(test_seal_buffer_limit),
        cmocka_unit_test(test_keyring_threads),
        cmocka_unit_test(test_pki_files_and_modes),
        cmocka_unit_test(test_pki_second_call_keeps_files),
        cmocka_unit_test(test_pki_chain_and_extensions),
        cmocka_unit_test(test_pki_keys_match),
        cmocka_unit_test(test_pki_mutual_tls),
        cmocka_unit_test(test_pki_partial_and_bad_input),
        cmocka_unit_test(test_pki_issue_client),
        cmocka_unit_test(test_log_errors_drains_queue),
        cmocka_unit_test(test_no_secret_in_log),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
