/*
 * client_stream.c - the file format of `coffre encrypt` (client_file.c
 * runs the commands): the header, the AAD encoding, and the chunks.
 * docs/file-encryption.md gives it byte by byte.
 *
 * Why chunks: one GCM message over a whole backup would hold back every
 * byte until the end, and GCM caps a message at 64 GiB. This is the STREAM
 * construction of Hoang, Reyhanitabar, Rogaway and Vizár ("Online
 * Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO
 * 2015, IACR ePrint 2015/189): each chunk is its own AES-256-GCM message
 * with nonce = 64-bit prefix || 32-bit chunk counter, and GCM AAD =
 * SHA-256(header) || last-chunk flag. The counter detects reordering and
 * dropped chunks, the flag truncation and extension at a chunk boundary,
 * the hash ties every chunk to the header (wrapped DEK, AAD, chunk size,
 * prefix). Nonces never repeat: one DEK per file, one counter per chunk.
 *
 * Reading is streaming with one unit of look-ahead (the last chunk is the
 * one followed by end of file), and a chunk's plaintext leaves only once
 * its tag verified. Pure functions of file descriptors and a DEK: the unit
 * test (tests/unit/client_file_test.c) needs no server.
 */
#include "cli/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define HDR_FIXED 19u                        /* magic .. wrapped DEK length */
#define AAD_ITEMS_MAX 1024u                  /* the server takes 32: refuse bombs early */

/* ------------------------------------------------------------------ I/O */
/* Up to n bytes (fewer only at end of input); -1 on a read error. */
static ssize_t read_full(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;
    ssize_t r;
    while (got < n) {
        r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static bool write_full(int fd, const uint8_t *p, size_t n)
{
    ssize_t w;
    while (n > 0) {
        w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* ------------------------------------------------------- AAD encoding */
/* docs/envelope.md "AAD encoding": 00 | 01 n (len, bytes)* | 02 n sorted pairs. */
static void put_bytes(cf_buf *b, const void *p, size_t n)
{
    uint8_t len[4];
    cf_put_be32(len, (uint32_t)n);
    if (n > UINT32_MAX)
        b->failed = true;
    cf_buf_append(b, len, 4);
    cf_buf_append(b, p, n);
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static cf_status aad_map(const json_t *aad, cf_buf *out)
{
    size_t n = json_object_size(aad), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys), *k;
    json_t *v;
    cf_status st = CF_OK;

    if (keys == NULL)
        return CF_ERR_NOMEM;
    json_object_foreach((json_t *)aad, k, v)
        keys[i++] = k;
    qsort(keys, n, sizeof *keys, key_cmp); /* bytewise, a prefix first */
    for (i = 0; st == CF_OK && i < n; i++) {
        v = json_object_get(aad, keys[i]);
        if (!json_is_string(v)) {
            st = CF_ERR_INVALID_FIELD;
            break;
        }
        put_bytes(out, keys[i], strlen(keys[i]));
        put_bytes(out, json_string_value(v), json_string_length(v));
    }
    free(keys);
    return st;
}

cf_status cli_file_aad_encode(const json_t *aad, cf_buf *out)
{
    size_t n = json_is_array(aad) ? json_array_size(aad) : json_object_size(aad);
    uint8_t head[5];
    cf_status st = CF_OK;

    if (aad == NULL || json_is_null(aad))
        return cf_buf_append(out, "\0", 1) ? CF_OK : CF_ERR_NOMEM;
    if ((!json_is_array(aad) && !json_is_object(aad)) || n > AAD_ITEMS_MAX)
        return CF_ERR_INVALID_FIELD;
    head[0] = json_is_array(aad) ? 1 : 2;
    cf_put_be32(head + 1, (uint32_t)n);
    cf_buf_append(out, head, sizeof head);
    if (json_is_object(aad))
        st = aad_map(aad, out);
    for (size_t i = 0; json_is_array(aad) && st == CF_OK && i < n; i++) {
        json_t *v = json_array_get(aad, i);
        if (!json_is_string(v))
            st = CF_ERR_INVALID_FIELD;
        else
            put_bytes(out, json_string_value(v), json_string_length(v));
    }
    if (st == CF_OK && out->failed)
        st = out->max && out->len + 1 > out->max ? CF_ERR_INVALID_FIELD : CF_ERR_NOMEM;
    return st;
}

/* A bounded reader over the header's AAD bytes. */
struct rd {
    const uint8_t *p, *end;
};

static bool rd_str(struct rd *r, const uint8_t **s, size_t *n)
{
    if (r->end - r->p < 4 || (size_t)(r->end - r->p - 4) < cf_be32(r->p))
        return false;
    *n = cf_be32(r->p);
    *s = r->p + 4;
    r->p += 4 + *n;
    return true;
}

/* Map keys strictly increasing, bytewise with a prefix first: canonical,
 * no repeated key. */
static bool key_after(const uint8_t *prev, size_t pn, const uint8_t *k, size_t kn)
{
    int c = memcmp(prev, k, pn < kn ? pn : kn);
    return c < 0 || (c == 0 && pn < kn);
}

static bool aad_item(struct rd *r, json_t *v, const uint8_t **prev, size_t *pn)
{
    const uint8_t *k, *s;
    size_t kn, sn;
    json_t *str;

    if (json_is_array(v))
        return rd_str(r, &s, &sn) && json_array_append_new(v, json_stringn((const char *)s, sn)) == 0;
    if (!rd_str(r, &k, &kn) || !rd_str(r, &s, &sn) || memchr(k, 0, kn) != NULL ||
        (*prev != NULL && !key_after(*prev, *pn, k, kn)))
        return false;
    *prev = k;
    *pn = kn;
    if ((str = json_stringn((const char *)s, sn)) == NULL)
        return false;
    return json_object_setn_new(v, (const char *)k, kn, str) == 0;
}

cf_status cli_file_aad_decode(const uint8_t *p, size_t n, json_t **out)
{
    struct rd r = {p + 1, p + n};
    const uint8_t *prev = NULL;
    size_t pn = 0;
    uint32_t count;
    json_t *v;

    *out = NULL;
    if (n == 1 && p[0] == 0)
        return CF_OK;
    if (n < 5 || (p[0] != 1 && p[0] != 2) || (count = cf_be32(p + 1)) > AAD_ITEMS_MAX)
        return CF_ERR_INVALID_MSG;
    r.p += 4;
    if ((v = p[0] == 1 ? json_array() : json_object()) == NULL)
        return CF_ERR_NOMEM;
    for (uint32_t i = 0; i < count; i++)
        if (!aad_item(&r, v, &prev, &pn)) {
            json_decref(v);
            return CF_ERR_INVALID_MSG;
        }
    if (r.p != r.end) {
        json_decref(v);
        return CF_ERR_INVALID_MSG;
    }
    *out = v;
    return CF_OK;
}

/* --------------------------------------------------------------- header */
cf_status cli_file_hdr_encode(const cli_file_hdr *h, cf_buf *out)
{
    uint8_t fixed[HDR_FIXED], alen[4];

    if (h->chunk < CLI_FILE_CHUNK_MIN || h->chunk > CLI_FILE_CHUNK_MAX || h->wrapped_len == 0 ||
        h->wrapped_len > CLI_FILE_WRAPPED_MAX || h->aad_len == 0 || h->aad_len > CLI_FILE_AAD_MAX)
        return CF_ERR_INVALID_FIELD;
    memcpy(fixed, "CFE", 3);
    fixed[3] = 1; /* format version */
    fixed[4] = 1; /* AES-256-GCM, STREAM */
    cf_put_be32(fixed + 5, h->chunk);
    memcpy(fixed + 9, h->prefix, CLI_FILE_PREFIX);
    fixed[17] = (uint8_t)(h->wrapped_len >> 8);
    fixed[18] = (uint8_t)h->wrapped_len;
    cf_put_be32(alen, (uint32_t)h->aad_len);
    cf_buf_append(out, fixed, sizeof fixed);
    cf_buf_append(out, h->wrapped, h->wrapped_len);
    cf_buf_append(out, alen, sizeof alen);
    cf_buf_append(out, h->aad, h->aad_len);
    return out->failed ? CF_ERR_NOMEM : CF_OK;
}

/* n more bytes of fd at the end of raw. */
static cf_status read_more(int fd, cf_buf *raw, size_t n)
{
    size_t at = raw->len;
    ssize_t got;
    if (!cf_buf_append_zeros(raw, n))
        return CF_ERR_NOMEM;
    if ((got = read_full(fd, raw->p + at, n)) < 0)
        return CF_ERR_IO;
    return (size_t)got == n ? CF_OK : CF_ERR_INVALID_MSG;
}

cf_status cli_file_hdr_read(int fd, cf_buf *raw, cli_file_hdr *h)
{
    cf_status st;
    size_t w;

    memset(h, 0, sizeof *h);
    if ((st = read_more(fd, raw, HDR_FIXED)) != CF_OK)
        return st;
    if (memcmp(raw->p, "CFE\x01\x01", 5) != 0)
        return CF_ERR_INVALID_MSG;
    h->chunk = cf_be32(raw->p + 5);
    memcpy(h->prefix, raw->p + 9, CLI_FILE_PREFIX);
    w = (size_t)raw->p[17] << 8 | raw->p[18];
    if (h->chunk < CLI_FILE_CHUNK_MIN || h->chunk > CLI_FILE_CHUNK_MAX || w == 0 ||
        w > CLI_FILE_WRAPPED_MAX)
        return CF_ERR_INVALID_MSG;
    if ((st = read_more(fd, raw, w + 4)) != CF_OK)
        return st;
    h->aad_len = cf_be32(raw->p + HDR_FIXED + w);
    if (h->aad_len == 0 || h->aad_len > CLI_FILE_AAD_MAX)
        return CF_ERR_INVALID_MSG;
    if ((st = read_more(fd, raw, h->aad_len)) != CF_OK)
        return st;
    h->wrapped = raw->p + HDR_FIXED;
    h->wrapped_len = w;
    h->aad = raw->p + HDR_FIXED + w + 4;
    return CF_OK;
}

/* --------------------------------------------------------------- chunks */
typedef struct stream {
    EVP_CIPHER_CTX *ctx;
    uint8_t nonce[12];   /* prefix || u32 counter */
    uint8_t aad[33];     /* SHA-256(header) || last */
    uint8_t *a, *b, *c;  /* two read buffers (look-ahead), one output buffer */
    size_t cap, c_len;   /* the sizes of a and b, of c */
} stream;

static cf_status stream_init(stream *s, const cf_secret *dek, const cli_file_hdr *h,
                             const uint8_t *raw, size_t raw_len, bool enc)
{
    size_t in = h->chunk + (enc ? 0 : CLI_FILE_TAG), out = h->chunk + (enc ? CLI_FILE_TAG : 0);
    bool ok;

    memset(s, 0, sizeof *s);
    if (dek->p == NULL || dek->len != CLI_FILE_DEK)
        return CF_ERR_INVALID_FIELD;
    SHA256(raw, raw_len, s->aad);
    memcpy(s->nonce, h->prefix, CLI_FILE_PREFIX);
    s->cap = in;
    s->c_len = out;
    s->a = malloc(in);
    s->b = malloc(in);
    s->c = malloc(out);
    if ((s->ctx = EVP_CIPHER_CTX_new()) == NULL || !s->a || !s->b || !s->c)
        return CF_ERR_NOMEM;
    ERR_clear_error();
    if (enc)
        ok = EVP_EncryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
             EVP_EncryptInit_ex(s->ctx, NULL, NULL, dek->p, NULL) == 1;
    else
        ok = EVP_DecryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
             EVP_DecryptInit_ex(s->ctx, NULL, NULL, dek->p, NULL) == 1;
    return ok ? CF_OK : CF_ERR_CRYPTO;
}

/* Buffers held plaintext: wiped. The context wipes its key schedule. */
static void stream_free(stream *s)
{
    if (s->a)
        cf_cleanse(s->a, s->cap);
    if (s->b)
        cf_cleanse(s->b, s->cap);
    if (s->c)
        cf_cleanse(s->c, s->c_len);
    free(s->a);
    free(s->b);
    free(s->c);
    EVP_CIPHER_CTX_free(s->ctx);
    ERR_clear_error();
    memset(s, 0, sizeof *s);
}

/* Chunk i: n bytes of s->a into s->c, then its tag. */
static bool chunk_seal(stream *s, uint32_t i, bool last, size_t n)
{
    int len;
    cf_put_be32(s->nonce + CLI_FILE_PREFIX, i);
    s->aad[32] = last;
    return EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, s->nonce) == 1 &&
           EVP_EncryptUpdate(s->ctx, NULL, &len, s->aad, sizeof s->aad) == 1 &&
           (n == 0 || EVP_EncryptUpdate(s->ctx, s->c, &len, s->a, (int)n) == 1) &&
           EVP_EncryptFinal_ex(s->ctx, s->c + n, &len) == 1 &&
           EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, CLI_FILE_TAG, s->c + n) == 1;
}

/* Chunk i: n bytes of s->a (ciphertext || tag) into s->c, if the tag verifies. */
static bool chunk_open(stream *s, uint32_t i, bool last, size_t n)
{
    size_t m = n - CLI_FILE_TAG;
    int len;
    cf_put_be32(s->nonce + CLI_FILE_PREFIX, i);
    s->aad[32] = last;
    return EVP_DecryptInit_ex(s->ctx, NULL, NULL, NULL, s->nonce) == 1 &&
           EVP_DecryptUpdate(s->ctx, NULL, &len, s->aad, sizeof s->aad) == 1 &&
           (m == 0 || EVP_DecryptUpdate(s->ctx, s->c, &len, s->a, (int)m) == 1) &&
           EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_TAG, CLI_FILE_TAG, s->a + m) == 1 &&
           EVP_DecryptFinal_ex(s->ctx, s->c + m, &len) == 1;
}

/* Read the next unit into s->b when s->a is full: is s->a the last? */
static cf_status look_ahead(stream *s, int in, ssize_t n, ssize_t *m, bool *last)
{
    *m = 0;
    *last = true;
    if ((size_t)n < s->cap)
        return CF_OK;
    if ((*m = read_full(in, s->b, s->cap)) < 0)
        return CF_ERR_IO;
    *last = *m == 0;
    return CF_OK;
}

static void swap_buffers(stream *s)
{
    uint8_t *t = s->a;
    s->a = s->b;
    s->b = t;
}

cf_status cli_file_seal(const cf_secret *dek, const cli_file_hdr *h, int in, int out,
                        uint64_t *out_bytes)
{
    cf_buf raw;
    stream s = {0};
    ssize_t n, m;
    uint64_t i = 0;
    bool last = false;
    cf_status st;

    *out_bytes = 0;
    cf_buf_init(&raw, CLI_FILE_HDR_MAX);
    if ((st = cli_file_hdr_encode(h, &raw)) != CF_OK ||
        (st = stream_init(&s, dek, h, raw.p, raw.len, true)) != CF_OK)
        goto out;
    st = CF_ERR_IO;
    if (!write_full(out, raw.p, raw.len) || (n = read_full(in, s.a, s.cap)) < 0)
        goto out;
    for (;;) {
        if ((st = look_ahead(&s, in, n, &m, &last)) != CF_OK)
            goto out;
        st = i > UINT32_MAX ? CF_ERR_LIMIT : CF_ERR_CRYPTO; /* 2^32 chunks: 256 TiB */
        if (i > UINT32_MAX || !chunk_seal(&s, (uint32_t)i, last, (size_t)n))
            goto out;
        st = CF_ERR_IO;
        if (!write_full(out, s.c, (size_t)n + CLI_FILE_TAG))
            goto out;
        *out_bytes += (uint64_t)n;
        if (last)
            break;
        swap_buffers(&s);
        n = m;
        i++;
    }
    st = CF_OK;
out:
    stream_free(&s);
    cf_buf_free(&raw);
    return st;
}

cf_status cli_file_unseal(const cf_secret *dek, const cli_file_hdr *h, const uint8_t *raw,
                          size_t raw_len, int in, int out, uint64_t *out_bytes,
                          uint64_t *out_chunk)
{
    stream s = {0};
    ssize_t n, m;
    uint64_t i = 0;
    bool last = false;
    cf_status st;

    *out_bytes = 0;
    *out_chunk = 0;
    if ((st = stream_init(&s, dek, h, raw, raw_len, false)) != CF_OK)
        goto out;
    st = CF_ERR_IO;
    if ((n = read_full(in, s.a, s.cap)) < 0)
        goto out;
    for (;;) {
        *out_chunk = i;
        if ((st = look_ahead(&s, in, n, &m, &last)) != CF_OK)
            goto out;
        st = CF_ERR_CRYPTO; /* too short for a tag, too many chunks, or the tag */
        if ((size_t)n < CLI_FILE_TAG || i > UINT32_MAX ||
            !chunk_open(&s, (uint32_t)i, last, (size_t)n))
            goto out;
        st = CF_ERR_IO;
        if (!write_full(out, s.c, (size_t)n - CLI_FILE_TAG))
            goto out;
        *out_bytes += (uint64_t)n - CLI_FILE_TAG;
        if (last)
            break;
        swap_buffers(&s);
        n = m;
        i++;
    }
    st = CF_OK;
out:
    stream_free(&s);
    return st;
}
