/* Unit tests for the chunk framing of `coffre encrypt` / `coffre decrypt`
 * (src/cli/client_file.c, docs/file-encryption.md) with a fixed DEK, no
 * server: a known-answer file computed independently with Python's
 * `cryptography` (AESGCM), round trips at the chunk boundaries, the AAD
 * encoding both ways, and every tampering: each byte flipped, every
 * truncation, a chunk dropped, swapped, duplicated or appended, another
 * DEK, and a negative table for the header parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/client.h"

/* The worked example of docs/file-encryption.md. */
static const char WRAPPED_HEX[] =
    "43465701032430313933336239652d366632612d376334312d396433652d3561386237633664356534660000"
    "0002f0f1f2f3f4f5f6f7f8f9fafb49276123581ff453b7deddb1a2674c9920d06bf10c3279af6e6f099b650e"
    "ec38a8763539af38a7fc3e01128e069b759b";
static const char AAD_HEX[] =
    "0200000002000000066275636b65740000000670686f746f73000000066f626a6563740000000e70686f746f"
    "732f6361742e6a7067";
static const char FILE_HEX[] =
    "434645010100000010a0a1a2a3a4a5a6a7006a43465701032430313933336239652d366632612d376334312d"
    "396433652d35613862376336643565346600000002f0f1f2f3f4f5f6f7f8f9fafb49276123581ff453b7de"
    "ddb1a2674c9920d06bf10c3279af6e6f099b650eec38a8763539af38a7fc3e01128e069b759b000000350200"
    "000002000000066275636b65740000000670686f746f73000000066f626a6563740000000e70686f746f732f"
    "6361742e6a7067"
    "aa318b8820471b46bc5fb8ebe3015b8a2d826e6f9bf8fc1c3f096e2b899d2cae55ec2f041e2505a1b090de4f"
    "0fff2ed6d7203e0825f4ad473a803cdc6fad26dabef585edc71e78a25d950066d3344aa234cd8566a468e456"
    "804ae6";
static const char TEXT[] = "The quick brown fox jumps over the lazy dog";
#define HDR_LEN 182u

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static uint8_t wrapped[256], aad[128];
static cf_secret dek;

static int setup(void **state)
{
    (void)state;
    if (cf_secret_alloc(&dek, CLI_FILE_DEK) != CF_OK)
        return -1;
    for (size_t i = 0; i < CLI_FILE_DEK; i++)
        dek.p[i] = (uint8_t)i;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cf_secret_free(&dek);
    return 0;
}

static cli_file_hdr example_hdr(uint32_t chunk)
{
    cli_file_hdr h = {.chunk = chunk, .wrapped = wrapped, .aad = aad};
    h.wrapped_len = unhex(WRAPPED_HEX, wrapped);
    h.aad_len = unhex(AAD_HEX, aad);
    memcpy(h.prefix, "\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7", CLI_FILE_PREFIX);
    return h;
}

/* A temporary file holding n bytes, positioned at its start. */
static int mem_fd(const uint8_t *p, size_t n)
{
    FILE *f = tmpfile();
    int fd;
    assert_non_null(f);
    fd = dup(fileno(f));
    fclose(f);
    assert_true(n == 0 || write(fd, p, n) == (ssize_t)n);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

/* Everything in fd (it is closed). */
static uint8_t *slurp(int fd, size_t *n)
{
    off_t end = lseek(fd, 0, SEEK_END);
    uint8_t *p = malloc((size_t)end + 1);
    assert_non_null(p);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(read(fd, p, (size_t)end), end);
    close(fd);
    *n = (size_t)end;
    return p;
}

static uint8_t *seal(const cli_file_hdr *h, const uint8_t *pt, size_t n, size_t *out_n)
{
    int in = mem_fd(pt, n), out = mem_fd(NULL, 0);
    uint64_t done = 0;
    assert_int_equal(cli_file_seal(&dek, h, in, out, &done), CF_OK);
    assert_int_equal(done, n);
    close(in);
    return slurp(out, out_n);
}

/* Decrypt a whole file: the header parsed from it, then the chunks. */
static cf_status unseal(const cf_secret *key, const uint8_t *file, size_t n, uint8_t **pt,
                        size_t *pt_n, uint64_t *bad)
{
    int in = mem_fd(file, n), out = mem_fd(NULL, 0);
    cf_buf raw;
    cli_file_hdr h;
    uint64_t done = 0;
    cf_status st;

    cf_buf_init(&raw, 1u << 20);
    *bad = 0;
    if ((st = cli_file_hdr_read(in, &raw, &h)) == CF_OK)
        st = cli_file_unseal(key, &h, raw.p, raw.len, in, out, &done, bad);
    cf_buf_free(&raw);
    close(in);
    *pt = slurp(out, pt_n);
    if (st == CF_OK)
        assert_int_equal(done, *pt_n);
    return st;
}

/* ----------------------------------------------------------------- tests */
static void test_known_answer(void **state)
{
    cli_file_hdr h = example_hdr(16);
    uint8_t want[512], *got, *pt;
    size_t want_n = unhex(FILE_HEX, want), n, pt_n;
    uint64_t bad;

    (void)state;
    got = seal(&h, (const uint8_t *)TEXT, strlen(TEXT), &n);
    assert_int_equal(n, want_n);
    assert_int_equal(n, HDR_LEN + strlen(TEXT) + 3 * CLI_FILE_TAG);
    assert_memory_equal(got, want, n);
    assert_int_equal(unseal(&dek, want, want_n, &pt, &pt_n, &bad), CF_OK);
    assert_int_equal(pt_n, strlen(TEXT));
    assert_memory_equal(pt, TEXT, pt_n);
    free(pt);
    free(got);
}

static void test_empty_known_answer(void **state)
{
    cli_file_hdr h = example_hdr(16);
    uint8_t tag[16], *got;
    size_t n;

    (void)state;
    unhex("604f4c08ce8e973cc012245d5d9e4868", tag);
    got = seal(&h, NULL, 0, &n);
    assert_int_equal(n, HDR_LEN + CLI_FILE_TAG); /* one empty chunk, flagged last */
    assert_memory_equal(got + HDR_LEN, tag, 16);
    free(got);
}

static void round_trip(uint32_t chunk, size_t size)
{
    cli_file_hdr h = example_hdr(chunk);
    uint8_t *in = malloc(size + 1), *file, *pt;
    size_t n, pt_n, chunks = size == 0 ? 1 : (size + chunk - 1) / chunk;
    uint64_t bad;

    assert_non_null(in);
    for (size_t i = 0; i < size; i++)
        in[i] = (uint8_t)(i * 7 + (i >> 8));
    file = seal(&h, in, size, &n);
    assert_int_equal(n, HDR_LEN + size + chunks * CLI_FILE_TAG);
    assert_int_equal(unseal(&dek, file, n, &pt, &pt_n, &bad), CF_OK);
    assert_int_equal(pt_n, size);
    assert_true(size == 0 || memcmp(pt, in, size) == 0);
    free(pt);
    free(file);
    free(in);
}

static void test_round_trips(void **state)
{
    static const size_t small[] = {0, 1, 15, 16, 17, 31, 32, 33, 48, 100};
    static const size_t big[] = {0, 1, 65535, 65536, 65537, 131072, 200000};
    (void)state;
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
        round_trip(16, small[i]);
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        round_trip(CLI_FILE_CHUNK, big[i]);
}

static void expect_fail(const uint8_t *file, size_t n, const char *what, size_t at)
{
    uint8_t *pt;
    size_t pt_n;
    uint64_t bad;
    cf_status st = unseal(&dek, file, n, &pt, &pt_n, &bad);
    if (st == CF_OK)
        fail_msg("%s at %zu was accepted", what, at);
    free(pt);
}

static void test_every_byte_flipped_and_truncation(void **state)
{
    cli_file_hdr h = example_hdr(16);
    uint8_t *file, *copy;
    size_t n;

    (void)state;
    file = seal(&h, (const uint8_t *)TEXT, strlen(TEXT), &n);
    copy = malloc(n);
    for (size_t i = 0; i < n; i++) {
        memcpy(copy, file, n);
        copy[i] ^= 0x01;
        expect_fail(copy, n, "a flipped bit", i);
        copy[i] ^= 0x81;
        expect_fail(copy, n, "a flipped byte", i);
    }
    for (size_t len = 0; len < n; len++)
        expect_fail(file, len, "a truncation", len);
    free(copy);
    free(file);
}

/* Chunks of 16 bytes + tag: 32 bytes each after the header. */
static void test_chunk_surgery(void **state)
{
    cli_file_hdr h = example_hdr(16);
    uint8_t in[48], *file, *t;
    size_t n, c = 32;

    (void)state;
    memset(in, 'x', sizeof in);
    file = seal(&h, in, sizeof in, &n); /* three full chunks, the third flagged last */
    assert_int_equal(n, HDR_LEN + 3 * c);
    t = malloc(n + 2 * c);
    /* drop the last chunk */
    expect_fail(file, n - c, "dropping the last chunk", 2);
    /* drop the first chunk */
    memcpy(t, file, HDR_LEN);
    memcpy(t + HDR_LEN, file + HDR_LEN + c, 2 * c);
    expect_fail(t, n - c, "dropping the first chunk", 0);
    /* swap chunks 0 and 1 (equal plaintexts: only the counter tells) */
    memcpy(t, file, n);
    memcpy(t + HDR_LEN, file + HDR_LEN + c, c);
    memcpy(t + HDR_LEN + c, file + HDR_LEN, c);
    expect_fail(t, n, "swapping two chunks", 0);
    /* append a copy of the last chunk, or of the first */
    memcpy(t, file, n);
    memcpy(t + n, file + n - c, c);
    expect_fail(t, n + c, "appending the last chunk again", 3);
    memcpy(t + n, file + HDR_LEN, c);
    expect_fail(t, n + c, "appending a chunk", 3);
    t[n] = 0;
    expect_fail(t, n + 1, "appending one byte", 3);
    free(t);
    free(file);
}

static void test_other_dek_and_header(void **state)
{
    cli_file_hdr h = example_hdr(16), h2 = example_hdr(16);
    cf_secret other = {0};
    uint8_t *a, *b, *pt;
    size_t na, nb, pt_n;
    uint64_t bad = 99;

    (void)state;
    a = seal(&h, (const uint8_t *)TEXT, strlen(TEXT), &na);
    assert_int_equal(cf_secret_dup(&other, dek.p, dek.len), CF_OK);
    other.p[31] ^= 1;
    assert_int_equal(unseal(&other, a, na, &pt, &pt_n, &bad), CF_ERR_CRYPTO);
    assert_int_equal(bad, 0);
    assert_int_equal(pt_n, 0); /* nothing unverified was written */
    free(pt);
    cf_secret_free(&other);
    /* The same chunks under another header with the same prefix (only its
     * AAD encoding differs: the header hash in each chunk's AAD tells). */
    h2.aad = (const uint8_t *)"\x00";
    h2.aad_len = 1;
    b = seal(&h2, (const uint8_t *)TEXT, strlen(TEXT), &nb);
    memcpy(b + (nb - (na - HDR_LEN)), a + HDR_LEN, na - HDR_LEN);
    expect_fail(b, nb, "chunks spliced under another header", 0);
    free(a);
    free(b);
}

static void expect_hdr(const uint8_t *p, size_t n, cf_status want)
{
    int fd = mem_fd(p, n);
    cf_buf raw;
    cli_file_hdr h;
    cf_buf_init(&raw, 1u << 20);
    assert_int_equal(cli_file_hdr_read(fd, &raw, &h), want);
    cf_buf_free(&raw);
    close(fd);
}

static void test_header_negatives(void **state)
{
    uint8_t f[512], t[512];
    size_t n = unhex(FILE_HEX, f);

    (void)state;
    expect_hdr(f, n, CF_OK);
    static const struct {
        size_t at;
        uint8_t v;
    } bad[] = {
        {0, 'X'}, {2, 'W'}, {3, 2} /* version */, {4, 2} /* algorithm */,
        {5, 1} /* chunk > 16 MiB */, {8, 0} /* chunk 0 */, {8, 15} /* chunk < 16 */,
        {18, 0} /* wrapped length 0 */, {17, 0xff} /* wrapped length > 1024 */,
        {125, 0xff} /* AAD length > max */,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(t, f, n);
        t[bad[i].at] = bad[i].v;
        expect_hdr(t, n, CF_ERR_INVALID_MSG);
    }
    memcpy(t, f, n);
    memset(t + 125, 0, 4); /* AAD length 0 */
    expect_hdr(t, n, CF_ERR_INVALID_MSG);
    for (size_t len = 0; len < HDR_LEN; len++)
        expect_hdr(f, len, CF_ERR_INVALID_MSG);
}

static void test_aad_encoding(void **state)
{
    json_t *map = json_pack("{s:s,s:s}", "object", "photos/cat.jpg", "bucket", "photos");
    json_t *list = json_pack("[s,s]", "ab", "c"), *list2 = json_pack("[s,s]", "a", "bc");
    json_t *empty = json_array(), *back;
    uint8_t want[128];
    size_t want_n = unhex(AAD_HEX, want);
    cf_buf b, b2;

    (void)state;
    cf_buf_init(&b, 1u << 20);
    cf_buf_init(&b2, 1u << 20);
    assert_int_equal(cli_file_aad_encode(map, &b), CF_OK);
    assert_int_equal(b.len, want_n);
    assert_memory_equal(b.p, want, want_n);
    assert_int_equal(cli_file_aad_decode(b.p, b.len, &back), CF_OK);
    assert_true(json_equal(back, map));
    json_decref(back);
    cf_buf_reset(&b);
    b.len = 0;
    assert_int_equal(cli_file_aad_encode(list, &b), CF_OK);
    assert_int_equal(cli_file_aad_encode(list2, &b2), CF_OK);
    assert_true(b.len == b2.len && memcmp(b.p, b2.p, b.len) != 0);
    assert_int_equal(cli_file_aad_decode(b.p, b.len, &back), CF_OK);
    assert_true(json_equal(back, list));
    json_decref(back);
    for (size_t len = 0; len < b.len; len++) /* every truncation */
        assert_int_equal(cli_file_aad_decode(b.p, len, &back), CF_ERR_INVALID_MSG);
    cf_buf_reset(&b);
    b.len = 0;
    assert_int_equal(cli_file_aad_encode(NULL, &b), CF_OK);
    assert_true(b.len == 1 && b.p[0] == 0);
    assert_int_equal(cli_file_aad_decode(b.p, 1, &back), CF_OK);
    assert_null(back);
    cf_buf_reset(&b);
    b.len = 0;
    assert_int_equal(cli_file_aad_encode(empty, &b), CF_OK); /* [] is not "none" */
    assert_int_equal(b.len, 5);
    assert_int_equal(cli_file_aad_decode(b.p, b.len, &back), CF_OK);
    assert_true(json_is_array(back) && json_array_size(back) == 0);
    json_decref(back);
    cf_buf_free(&b);
    cf_buf_free(&b2);
    json_decref(map);
    json_decref(list);
    json_decref(list2);
    json_decref(empty);
}

static void test_aad_decode_negatives(void **state)
{
    static const struct {
        const char *hex;
        const char *why;
    } bad[] = {
        {"", "empty"},
        {"0000", "none with a trailing byte"},
        {"03", "unknown kind"},
        {"0100000001", "a list missing its string"},
        {"010000000100000001", "a string shorter than said"},
        {"01000000010000000161ff", "a trailing byte"},
        {"0100000001000000" "02c328", "invalid UTF-8"},
        {"0200000002000000016200000000000000016100000000", "map keys out of order"},
        {"0200000002000000016100000000000000016100000000", "a repeated key"},
        {"020000000100000002006100000000", "a NUL in a key"},
        {"01ffffffff", "a count bomb"},
    };
    uint8_t p[64];
    json_t *v;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = unhex(bad[i].hex, p);
        cf_status st = cli_file_aad_decode(p, n, &v);
        if (st == CF_OK)
            fail_msg("accepted: %s", bad[i].why);
        assert_null(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_empty_known_answer),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_every_byte_flipped_and_truncation),
        cmocka_unit_test(test_chunk_surgery),
        cmocka_unit_test(test_other_dek_and_header),
        cmocka_unit_test(test_header_negatives),
        cmocka_unit_test(test_aad_encoding),
        cmocka_unit_test(test_aad_decode_negatives),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
