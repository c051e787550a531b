/*
 * ttlv_test.c - the TTLV codec: the specification's own encoding examples
 * byte-exact both ways (KMIP 1.4 section 9.1.2), the writer (padding,
 * back-patching, Big Integer sign extension, sticky errors), tree access,
 * encode->decode->encode stability on generated trees, a negative table for
 * the decoder, mutations of real messages, allocation failure at every
 * point, ttlv_frame_size, and the dump.
 *
 * Runs under the normal and the ASan+UBSan builds; every case must finish
 * without a sanitizer report or a leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ttlv_test_util.h"
#include "util/limits.h"

#define EXT1 0x540001u /* extension tags: no dictionary type */
#define EXT2 0x540002u

/* KMIP Test Cases 1.1 (shared/vectors/kmip-testcases-v1.1.txt), copied so
 * that this test runs without the shared directory: 3.1.1 Create request
 * (line 341) and response (line 381), and a request with a Username and
 * Password credential (line 13156). */
static const char CREATE_REQ[] =
    "42007801000001204200770100000038420069010000002042006A02000000040000000100000000"
    "42006B0200000004000000010000000042000D0200000004000000010000000042000F01000000D8"
    "42005C0500000004000000010000000042007901000000C042005705000000040000000200000000"
    "42009101000000A8420008010000003042000A070000001743727970746F6772617068696320416C"
    "676F726974686D0042000B05000000040000000300000000420008010000003042000A0700000014"
    "43727970746F67726170686963204C656E6774680000000042000B02000000040000008000000000"
    "420008010000003042000A070000001843727970746F67726170686963205573616765204D61736B"
    "42000B02000000040000000C00000000";
static const char CREATE_RESP[] =
    "42007B01000000C042007A0100000048420069010000002042006A02000000040000000100000000"
    "42006B020000000400000001000000004200920900000008000000004F9A54E542000D0200000004"
    "000000010000000042000F010000006842005C0500000004000000010000000042007F0500000004"
    "000000000000000042007C0100000040420057050000000400000002000000004200940700000024"
    "66623462356239632D363138382D346336332D383134322D66653963333238313239666300000000";
static const char CRED_REQ[] =
    "42007801000002584200770100000088420069010000002042006A02000000040000000100000000"
    "42006B0200000004000000010000000042000C010000004842002301000000404200240500000004"
    "00000001000000004200250100000028420099070000000446726564000000004200A10700000009"
    "70617373776F7264310000000000000042000D0200000004000000010000000042000F01000001C0"
    "42005C0500000004000000010000000042007901000001A842005705000000040000000200000000"
    "4200910100000190420008010000003042000A070000001743727970746F6772617068696320416C"
    "676F726974686D0042000B05000000040000000300000000420008010000003042000A0700000014"
    "43727970746F67726170686963204C656E6774680000000042000B02000000040000008000000000"
    "420008010000003042000A070000001843727970746F67726170686963205573616765204D61736B"
    "42000B02000000040000000C00000000420008010000004842000A07000000044E616D6500000000"
    "42000B01000000304200550700000017506F6C6963794B65792D3133333535313433333938323600"
    "42005405000000040000000100000000420008010000003042000A07000000154F7065726174696F"
    "6E20506F6C696379204E616D6500000042000B070000000764656661756C74004200080100000058"
    "42000A070000001843727970746F6772617068696320506172616D657465727342000B0100000030"
    "4200110500000004000000010000000042005F050000000400000003000000004200380500000004"
    "0000000400000000";

static const ttlv_limits lenient = {
    .max_bytes = CF_LIMIT_KMIP_MESSAGE, .max_depth = CF_LIMIT_TTLV_DEPTH,
    .max_items = CF_LIMIT_TTLV_ITEMS, .max_string = CF_LIMIT_STRING, .no_type_check = true,
};

typedef struct fixture {
    cf_arena *a;
    cf_buf buf;
    uint8_t msg[4096];
} fixture;

static int fx_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->a = cf_arena_new(4096, 0);
    cf_buf_init(&f->buf, 0);
    *state = f;
    return f->a ? 0 : -1;
}

static int fx_teardown(void **state)
{
    fixture *f = *state;
    cf_arena_free(f->a);
    cf_buf_free(&f->buf);
    free(f);
    return 0;
}

static size_t hex_into(fixture *f, const char *hex)
{
    long n = tu_hex(hex, f->msg, sizeof f->msg);
    assert_true(n >= 0);
    return (size_t)n;
}

/* decode -> must succeed -> re-encode must give the same bytes */
static ttlv_item *decode_roundtrip(fixture *f, const uint8_t *p, size_t n, const ttlv_limits *lim)
{
    ttlv_item *it = NULL;
    ttlv_error err;
    cf_status st = ttlv_decode(p, n, lim, f->a, &it, &err);
    if (st != CF_OK)
        fprintf(stderr, "decode: %s at %zu\n", ttlv_err_str(err.code), err.offset);
    assert_int_equal(st, CF_OK);
    assert_int_equal(err.code, TTLV_E_OK);
    assert_non_null(it);
    cf_buf_reset(&f->buf);
    assert_int_equal(ttlv_encode(it, &f->buf), CF_OK);
    assert_int_equal(f->buf.len, n);
    assert_memory_equal(f->buf.p, p, n);
    return it;
}

/* ------------------------------------------- 1. spec examples (1.4 9.1.2) */

static void expect_written(fixture *f, ttlv_writer *w, const char *hex)
{
    size_t n = hex_into(f, hex);
    assert_int_equal(ttlv_w_finish(w), CF_OK);
    assert_int_equal(f->buf.len, n);
    assert_memory_equal(f->buf.p, f->msg, n);
}

#define WRITES(call, hex)                                                                          \
    do {                                                                                           \
        cf_buf_reset(&f->buf);                                                                     \
        ttlv_w_init(&w, &f->buf);                                                                  \
        call;                                                                                      \
        expect_written(f, &w, hex);                                                                \
    } while (0)

/* The examples, exactly as printed in KMIP 1.4 section 9.1.2. */
static const char EX_INT[] = "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00";
static const char EX_LONG[] = "42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00";
static const char EX_BIG[] =
    "42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD 35 EB 6B C2 DF 46 18 08 00 00";
static const char EX_ENUM[] = "42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00";
static const char EX_BOOL[] = "42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01";
static const char EX_TEXT[] =
    "42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00";
static const char EX_BYTES[] = "42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00";
static const char EX_DATE[] = "42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8";
static const char EX_IVL[] = "42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00";
static const char EX_STRUCT[] =
    "42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 | "
    "42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00";

static void test_spec_examples_encode(void **state)
{
    fixture *f = *state;
    ttlv_writer w;
    /* 1234567890000000000000000000 in minimal two's complement */
    static const uint8_t big[] = {0x03, 0xFD, 0x35, 0xEB, 0x6B, 0xC2, 0xDF, 0x46, 0x18, 0x08, 0, 0};
    static const uint8_t b3[] = {1, 2, 3};

    WRITES(ttlv_w_int(&w, 0x420020, 8), EX_INT);
    WRITES(ttlv_w_long(&w, 0x420020, 123456789000000000LL), EX_LONG);
    WRITES(ttlv_w_bigint(&w, 0x420020, big, sizeof big), EX_BIG);
    WRITES(ttlv_w_enum(&w, 0x420020, 255), EX_ENUM);
    WRITES(ttlv_w_bool(&w, 0x420020, true), EX_BOOL);
    WRITES(ttlv_w_cstr(&w, 0x420020, "Hello World"), EX_TEXT);
    WRITES(ttlv_w_text(&w, 0x420020, "Hello World!", 11), EX_TEXT);
    WRITES(ttlv_w_bytes(&w, 0x420020, b3, 3), EX_BYTES);
    WRITES(ttlv_w_datetime(&w, 0x420020, 1205495800), EX_DATE); /* 2008-03-14 11:56:40 */
    WRITES(ttlv_w_interval(&w, 0x420020, 864000), EX_IVL);      /* 10 days */
    WRITES((ttlv_w_begin(&w, 0x420020), ttlv_w_enum(&w, 0x420004, 254),
            ttlv_w_int(&w, 0x420005, 255), ttlv_w_end(&w)),
           EX_STRUCT);
}

static ttlv_item *decode_spec(fixture *f, const char *hex, uint8_t type)
{
    size_t n = hex_into(f, hex);
    ttlv_item *it = decode_roundtrip(f, f->msg, n, &lenient);
    assert_int_equal(it->tag, 0x420020);
    assert_int_equal(it->type, type);
    return it;
}

static void test_spec_examples_decode(void **state)
{
    fixture *f = *state;
    ttlv_item *it, *c;
    ttlv_error err;
    static const uint8_t big[] = {0, 0, 0, 0, 0x03, 0xFD, 0x35, 0xEB,
                                  0x6B, 0xC2, 0xDF, 0x46, 0x18, 0x08, 0, 0};

    assert_int_equal(decode_spec(f, EX_INT, TTLV_INTEGER)->v.i32, 8);
    assert_true(decode_spec(f, EX_LONG, TTLV_LONG_INTEGER)->v.i64 == 123456789000000000LL);
    it = decode_spec(f, EX_BIG, TTLV_BIG_INTEGER);
    assert_int_equal(it->v.s.len, 16);
    assert_memory_equal(it->v.s.p, big, 16);
    assert_int_equal(decode_spec(f, EX_ENUM, TTLV_ENUMERATION)->v.u32, 255);
    assert_true(decode_spec(f, EX_BOOL, TTLV_BOOLEAN)->v.b);
    it = decode_spec(f, EX_TEXT, TTLV_TEXT_STRING);
    assert_int_equal(it->v.s.len, 11);
    assert_string_equal((const char *)it->v.s.p, "Hello World"); /* NUL added */
    it = decode_spec(f, EX_BYTES, TTLV_BYTE_STRING);
    assert_int_equal(it->v.s.len, 3);
    assert_memory_equal(it->v.s.p, "\1\2\3", 3);
    assert_true(decode_spec(f, EX_DATE, TTLV_DATE_TIME)->v.i64 == 1205495800);
    assert_int_equal(decode_spec(f, EX_IVL, TTLV_INTERVAL)->v.u32, 864000);
    it = decode_spec(f, EX_STRUCT, TTLV_STRUCTURE);
    assert_int_equal(it->nchildren, 2);
    c = it->first;
    assert_true(c->tag == 0x420004 && c->type == TTLV_ENUMERATION && c->v.u32 == 254);
    c = c->next;
    assert_true(c->tag == 0x420005 && c->type == TTLV_INTEGER && c->v.i32 == 255);
    assert_null(c->next);
    /* The examples reuse tag 0x420020 (Compromise Date, a Date-Time) for every
     * type: with the dictionary's checks on, the Integer example is refused. */
    hex_into(f, EX_INT);
    assert_int_equal(ttlv_decode(f->msg, 16, NULL, f->a, &it, &err), CF_ERR_INVALID_MSG);
    assert_int_equal(err.code, TTLV_E_TYPE);
    assert_int_equal(err.tag, 0x420020);
    assert_null(it);
    hex_into(f, EX_DATE);
    assert_int_equal(ttlv_decode(f->msg, 16, NULL, f->a, &it, &err), CF_OK);
}

/* ------------------------------------------------------------- 2. writer */

static void test_writer_padding_and_sign_extension(void **state)
{
    fixture *f = *state;
    ttlv_writer w;
    static const uint8_t neg[] = {0x80}, negb[] = {0xFF, 0x01};
    static const uint8_t full[] = {0x80, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t pos9[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

    WRITES(ttlv_w_bigint(&w, EXT1, neg, 1), "540001|04|00000008|FFFFFFFFFFFFFF80");
    WRITES(ttlv_w_bigint(&w, EXT1, negb, 2), "540001|04|00000008|FFFFFFFFFFFFFF01");
    WRITES(ttlv_w_bigint(&w, EXT1, NULL, 0), "540001|04|00000008|0000000000000000");
    WRITES(ttlv_w_bigint(&w, EXT1, full, 8), "540001|04|00000008|8000000000000001");
    WRITES(ttlv_w_bigint(&w, EXT1, pos9, 9), "540001|04|00000010|0000000000000001 0203040506070809");
    WRITES(ttlv_w_text(&w, EXT1, "12345678", 8), "540001|07|00000008|3132333435363738");
    WRITES(ttlv_w_text(&w, EXT1, "", 0), "540001|07|00000000");
    WRITES(ttlv_w_bytes(&w, EXT1, NULL, 0), "540001|08|00000000");
    WRITES(ttlv_w_long(&w, EXT1, -2), "540001|03|00000008|FFFFFFFFFFFFFFFE");
    WRITES(ttlv_w_int(&w, EXT1, -1), "540001|02|00000004|FFFFFFFF00000000");
    WRITES(ttlv_w_bool(&w, EXT1, false), "540001|06|00000008|0000000000000000");
    WRITES(ttlv_w_enum(&w, EXT1, 0x80000001u), "540001|05|00000004|8000000100000000");
    WRITES((ttlv_w_begin(&w, EXT1), ttlv_w_end(&w)), "540001|01|00000000");
    WRITES((ttlv_w_begin(&w, EXT1), ttlv_w_begin(&w, EXT2), ttlv_w_end(&w), ttlv_w_end(&w)),
           "540001|01|00000008|540002|01|00000000");
}

static void test_writer_errors_are_sticky(void **state)
{
    fixture *f = *state;
    ttlv_writer w;
    cf_buf small;

    /* More than TTLV_WRITER_DEPTH_MAX open structures. */
    ttlv_w_init(&w, &f->buf);
    for (int i = 0; i < TTLV_WRITER_DEPTH_MAX; i++)
        ttlv_w_begin(&w, EXT1);
    assert_false(w.failed);
    ttlv_w_begin(&w, EXT1);
    assert_true(w.failed);
    assert_int_equal(ttlv_w_finish(&w), CF_ERR_INTERNAL);
    /* end without begin; writes after a failure are ignored */
    cf_buf_reset(&f->buf);
    ttlv_w_init(&w, &f->buf);
    ttlv_w_end(&w);
    assert_true(w.failed);
    ttlv_w_int(&w, EXT1, 1);
    assert_int_equal(f->buf.len, 0);
    assert_int_equal(ttlv_w_finish(&w), CF_ERR_INTERNAL);
    /* begin without end */
    ttlv_w_init(&w, &f->buf);
    ttlv_w_begin(&w, EXT1);
    assert_int_equal(ttlv_w_finish(&w), CF_ERR_INTERNAL);
    /* the buffer's maximum: an item is refused whole (no partial header) */
    cf_buf_init(&small, 20);
    ttlv_w_init(&w, &small);
    ttlv_w_int(&w, EXT1, 7);
    assert_int_equal(small.len, 16);
    ttlv_w_text(&w, EXT1, "too long", 8);
    assert_int_equal(small.len, 16);
    assert_int_equal(ttlv_w_finish(&w), CF_ERR_TOO_LARGE);
    cf_buf_free(&small);
    /* misuse */
    ttlv_w_init(&w, &f->buf);
    ttlv_w_cstr(&w, EXT1, NULL);
    assert_int_equal(ttlv_w_finish(&w), CF_ERR_INTERNAL);
    ttlv_w_init(&w, &f->buf);
    ttlv_w_bytes(&w, EXT1, NULL, 3);
    assert_int_equal(ttlv_w_finish(&w), CF_ERR_INTERNAL);
    assert_int_equal(ttlv_encode(NULL, &f->buf), CF_ERR_INTERNAL);
}

/* ---------------------------------------------------------- 3. tree access */

static void test_tree_access(void **state)
{
    fixture *f = *state;
    ttlv_item *req = decode_roundtrip(f, f->msg, hex_into(f, CREATE_REQ), NULL);
    const ttlv_item *bi, *pl, *ta, *at;
    int32_t i32;
    uint32_t u32;
    bool b;
    const char *s;
    size_t len;
    const uint8_t *bytes;
    int64_t i64;

    assert_int_equal(req->tag, KMIP_TAG_REQUEST_MESSAGE);
    assert_int_equal(ttlv_get_struct(req, KMIP_TAG_BATCH_ITEM, &bi), CF_OK);
    assert_int_equal(ttlv_get_enum(bi, KMIP_TAG_OPERATION, &u32), CF_OK);
    assert_int_equal(u32, KMIP_OPERATION_CREATE);
    assert_int_equal(ttlv_get_struct(bi, KMIP_TAG_REQUEST_PAYLOAD, &pl), CF_OK);
    assert_int_equal(ttlv_get_enum(pl, KMIP_TAG_OBJECT_TYPE, &u32), CF_OK);
    assert_int_equal(u32, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    assert_int_equal(ttlv_get_struct(pl, KMIP_TAG_TEMPLATE_ATTRIBUTE, &ta), CF_OK);
    assert_int_equal(ttlv_count(ta, KMIP_TAG_ATTRIBUTE), 3);
    at = ttlv_next_same(ttlv_child(ta, KMIP_TAG_ATTRIBUTE));
    assert_int_equal(ttlv_get_text(at, KMIP_TAG_ATTRIBUTE_NAME, &s, &len), CF_OK);
    assert_int_equal(len, strlen("Cryptographic Length"));
    assert_string_equal(s, "Cryptographic Length");
    assert_int_equal(ttlv_get_int(at, KMIP_TAG_ATTRIBUTE_VALUE, &i32), CF_OK);
    assert_int_equal(i32, 128);
    assert_null(ttlv_next_same(ttlv_next_same(at)));
    /* absent vs present with another type */
    assert_int_equal(ttlv_get_int(pl, KMIP_TAG_OBJECT_TYPE, &i32), CF_ERR_INVALID_FIELD);
    assert_int_equal(ttlv_get_bool(pl, KMIP_TAG_SENSITIVE, &b), CF_ERR_MISSING);
    assert_int_equal(ttlv_get_bytes(pl, KMIP_TAG_OBJECT_TYPE, &bytes, &len), CF_ERR_INVALID_FIELD);
    assert_int_equal(ttlv_get_long(pl, KMIP_TAG_OBJECT_TYPE, &i64), CF_ERR_INVALID_FIELD);
    assert_int_equal(ttlv_get_datetime(pl, KMIP_TAG_OBJECT_TYPE, &i64), CF_ERR_INVALID_FIELD);
    assert_int_equal(ttlv_get_struct(pl, KMIP_TAG_OBJECT_TYPE, &at), CF_ERR_INVALID_FIELD);
    assert_null(ttlv_child(ttlv_child(pl, KMIP_TAG_OBJECT_TYPE), KMIP_TAG_OBJECT_TYPE));
    assert_null(ttlv_child(NULL, KMIP_TAG_OBJECT_TYPE));
    assert_int_equal(ttlv_count(NULL, KMIP_TAG_OBJECT_TYPE), 0);
    /* the response */
    req = decode_roundtrip(f, f->msg, hex_into(f, CREATE_RESP), NULL);
    assert_int_equal(ttlv_get_struct(req, KMIP_TAG_RESPONSE_HEADER, &bi), CF_OK);
    assert_int_equal(ttlv_get_datetime(bi, KMIP_TAG_TIME_STAMP, &i64), CF_OK);
    assert_true(i64 == 0x4F9A54E5);
}

/* -------------------------------------------- 4. generated trees, stable */

static uint32_t rng_state = 12345;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) % n;
}

/* A random tag: mostly extension tags, sometimes dictionary tags whose type
 * varies (so the dictionary check is exercised without refusing). */
static uint32_t gen_tag(void)
{
    static const uint32_t any[] = {KMIP_TAG_ATTRIBUTE_VALUE, KMIP_TAG_KEY_MATERIAL,
                                   KMIP_TAG_UNIQUE_IDENTIFIER, 0x42FFFFu, 0x420000u};
    if (rnd(4) == 0)
        return any[rnd(sizeof any / sizeof any[0])];
    return 0x540000u + rnd(0x10000);
}

static ttlv_item *gen_leaf(cf_arena *a, uint32_t tag)
{
    uint8_t bytes[40];
    char text[40];
    size_t len = rnd(sizeof bytes);
    ttlv_item *it;

    for (size_t i = 0; i < sizeof bytes; i++) {
        bytes[i] = (uint8_t)rnd(256);
        text[i] = (char)(' ' + rnd(95));
    }
    switch (rnd(11)) {
    case 0: return ttlv_new_int(a, tag, (int32_t)rnd(1u << 24) - (1 << 23));
    case 1: return ttlv_new_long(a, tag, -977 * (int64_t)rnd(1u << 30));
    case 2: return ttlv_new_enum(a, tag, rnd(1u << 31) * 2u + rnd(2));
    case 3: return ttlv_new_bool(a, tag, rnd(2));
    case 4: return ttlv_new_text(a, tag, text, len);
    case 5: return ttlv_new_bytes(a, tag, bytes, len);
    case 6: return ttlv_new_bigint(a, tag, bytes, 8 * (1 + rnd(5)));
    case 7: return ttlv_new_datetime(a, tag, 1205495800 + (int64_t)rnd(1000000));
    case 8: return ttlv_new_interval(a, tag, rnd(1u << 31));
    case 9:
        it = ttlv_new_long(a, tag, 1205495800123456LL + rnd(1000));
        if (it)
            it->type = TTLV_DATE_TIME_EXT;
        return it;
    default: {
        static const char utf8[] = "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x91";
        return ttlv_new_text(a, tag, utf8, sizeof utf8 - 1);
    }
    }
}

static ttlv_item *gen_tree(cf_arena *a, unsigned depth)
{
    ttlv_item *s;
    unsigned n;

    if (depth > 1 && rnd(3) == 0)
        return gen_leaf(a, gen_tag());
    s = ttlv_new_struct(a, gen_tag());
    assert_non_null(s);
    n = depth >= 6 ? 0 : rnd(6);
    for (unsigned i = 0; i < n; i++) {
        ttlv_item *c = gen_tree(a, depth + 1);
        assert_non_null(c);
        ttlv_append(s, c);
    }
    return s;
}

static void test_generated_trees_stable(void **state)
{
    fixture *f = *state;
    cf_buf second;

    cf_buf_init(&second, 0);
    for (int round = 0; round < 400; round++) {
        ttlv_item *t = gen_tree(f->a, 1), *d = NULL, *c;
        cf_buf_reset(&f->buf);
        cf_buf_reset(&second);
        assert_int_equal(ttlv_encode(t, &f->buf), CF_OK);
        ttlv_error err;
        if (ttlv_decode(f->buf.p, f->buf.len, NULL, f->a, &d, &err) != CF_OK)
            fprintf(stderr, "round %d: %s at %zu tag %06X\n", round, ttlv_err_str(err.code),
                    err.offset, (unsigned)err.tag);
        assert_non_null(d);
        assert_true(ttlv_equal(t, d));
        assert_int_equal(ttlv_encode(d, &second), CF_OK);
        assert_int_equal(second.len, f->buf.len);
        assert_memory_equal(second.p, f->buf.p, second.len);
        c = ttlv_clone(f->a, d);
        assert_true(ttlv_equal(c, t));
        if (c->first) { /* any change is seen */
            c->first->tag ^= 1;
            assert_false(ttlv_equal(c, t));
        }
        cf_arena_reset(f->a);
    }
    cf_buf_free(&second);
}

/* ---------------------------------------------------- 5. negative table */

enum lim_kind { LIM_DEFAULT, LIM_LENIENT, LIM_SMALL };

/* max_string 16, max_items 4, max_depth 3, max_bytes 64 */
static const ttlv_limits small_limits = {
    .max_bytes = 64, .max_depth = 3, .max_items = 4, .max_string = 16,
};

static const struct neg_case {
    const char *name;
    const char *hex;
    enum lim_kind lim;
    ttlv_err want;
} neg_cases[] = {
    /* truncation and framing */
    {"empty", "", LIM_DEFAULT, TTLV_E_TRUNCATED},
    {"7-byte header", "540001 02 000000", LIM_DEFAULT, TTLV_E_TRUNCATED},
    {"header only", "540001 02 00000004", LIM_DEFAULT, TTLV_E_TRUNCATED},
    {"value short", "540001 02 00000004 00000001 000000", LIM_DEFAULT, TTLV_E_TRUNCATED},
    {"struct longer than input", "540001 01 00000018 540002 02 00000004 0000000100000000",
     LIM_DEFAULT, TTLV_E_TRUNCATED},
    {"struct len FFFFFFF8", "540001 01 FFFFFFF8 540002 02 00000004 0000000100000000", LIM_DEFAULT,
     TTLV_E_TRUNCATED},
    {"text len FFFFFFFF at top", "540001 07 FFFFFFFF 4142434400000000", LIM_DEFAULT,
     TTLV_E_TRUNCATED},
    {"trailing byte", "540001 02 00000004 0000000100000000 00", LIM_DEFAULT, TTLV_E_TRAILING},
    {"two items", "540001 02 00000004 0000000100000000 540001 02 00000004 0000000100000000",
     LIM_DEFAULT, TTLV_E_TRAILING},
    /* structure lengths (KMIP 1.4 9.1.1.4: children fill the structure) */
    {"struct len not multiple of 8", "540001 01 0000000C 540002 02 00000004 0000000100000000",
     LIM_DEFAULT, TTLV_E_LENGTH},
    {"struct len FFFFFFFF", "540001 01 FFFFFFFF 540002 02 00000004 0000000100000000", LIM_DEFAULT,
     TTLV_E_LENGTH},
    {"child overruns struct", "540001 01 00000008 540002 02 00000004 0000000100000000",
     LIM_DEFAULT, TTLV_E_LENGTH},
    {"child text overruns struct", "540001 01 00000010 540002 07 00000009 4142434445464748",
     LIM_DEFAULT, TTLV_E_LENGTH},
    {"child len FFFFFFFF in struct", "540001 01 00000010 540002 08 FFFFFFFF 0000000000000000",
     LIM_DEFAULT, TTLV_E_LENGTH},
    {"struct len 0 then trailing", "540001 01 00000000 540002 02 00000004 0000000100000000",
     LIM_DEFAULT, TTLV_E_TRAILING},
    /* fixed-size types (9.1.1.4) */
    {"int len 8", "540001 02 00000008 0000000100000000", LIM_DEFAULT, TTLV_E_LENGTH},
    {"int len 3", "540001 02 00000003 0000000100000000", LIM_DEFAULT, TTLV_E_LENGTH},
    {"int len 5", "540001 02 00000005 0000000100000000", LIM_DEFAULT, TTLV_E_LENGTH},
    {"int len 0", "540001 02 00000000", LIM_DEFAULT, TTLV_E_LENGTH},
    {"int len FFFFFFFF", "540001 02 FFFFFFFF 0000000100000000", LIM_DEFAULT, TTLV_E_LENGTH},
    {"enum len 8", "540001 05 00000008 0000000100000000", LIM_DEFAULT, TTLV_E_LENGTH},
    {"interval len 0", "540001 0A 00000000", LIM_DEFAULT, TTLV_E_LENGTH},
    {"long len 4", "540001 03 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_LENGTH},
    {"long len 9", "540001 03 00000009 0000000000000001 0000000000000000", LIM_DEFAULT,
     TTLV_E_LENGTH},
    {"bool len 4", "540001 06 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_LENGTH},
    {"date len 4", "540001 09 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_LENGTH},
    {"date-ext len 16", "540001 0B 00000010 00000000000000010000000000000001", LIM_DEFAULT,
     TTLV_E_LENGTH},
    {"bigint len 0", "540001 04 00000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"bigint len 4", "540001 04 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"bigint len 12", "540001 04 0000000C 00000000000000010000000000000000", LIM_DEFAULT,
     TTLV_E_VALUE},
    /* padding must be zero (9.1.1.3) */
    {"int padding", "540001 02 00000004 0000000100000001", LIM_DEFAULT, TTLV_E_PADDING},
    {"int padding high", "540001 02 00000004 0000000180000000", LIM_DEFAULT, TTLV_E_PADDING},
    {"enum padding", "540001 05 00000004 00000001000000FF", LIM_DEFAULT, TTLV_E_PADDING},
    {"interval padding", "540001 0A 00000004 0000000100010000", LIM_DEFAULT, TTLV_E_PADDING},
    {"text padding", "540001 07 00000003 6162630000000078", LIM_DEFAULT, TTLV_E_PADDING},
    {"bytes padding", "540001 08 00000001 FF00000000000100", LIM_DEFAULT, TTLV_E_PADDING},
    /* Boolean 0 or 1 only (9.1.1.4) */
    {"bool 2", "540001 06 00000008 0000000000000002", LIM_DEFAULT, TTLV_E_VALUE},
    {"bool high bit", "540001 06 00000008 0100000000000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"bool all ones", "540001 06 00000008 FFFFFFFFFFFFFFFF", LIM_DEFAULT, TTLV_E_VALUE},
    /* UTF-8 (9.1.1.4, RFC 3629) */
    {"utf8 overlong 2", "540001 07 00000002 C080000000000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 overlong C1", "540001 07 00000002 C1BF000000000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 overlong 3", "540001 07 00000003 E08080 0000000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 overlong 4", "540001 07 00000004 F0808080 00000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 surrogate D800", "540001 07 00000003 EDA080 0000000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 surrogate DFFF", "540001 07 00000003 EDBFBF 0000000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 above 10FFFF", "540001 07 00000004 F4908080 00000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 F5", "540001 07 00000004 F5808080 00000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 FF", "540001 07 00000001 FF00000000000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 lone continuation", "540001 07 00000001 8000000000000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 cut sequence", "540001 07 00000002 E282000000000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 bad continuation", "540001 07 00000003 E28241 0000000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"utf8 cut 4-byte", "540001 07 00000003 F09F94 0000000000", LIM_DEFAULT, TTLV_E_VALUE},
    {"text embedded NUL", "540001 07 00000003 610062 0000000000", LIM_DEFAULT, TTLV_E_VALUE},
    /* item types (9.1.1.2) */
    {"type 00", "540001 00 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_TYPE},
    {"type 0C", "540001 0C 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_TYPE},
    {"type FF", "540001 FF 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_TYPE},
    {"type 80", "540001 80 00000000", LIM_DEFAULT, TTLV_E_TYPE},
    /* dictionary types */
    {"Operation as Integer", "42005C 02 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_TYPE},
    {"Request Message as Text", "420078 07 00000000", LIM_DEFAULT, TTLV_E_TYPE},
    {"Batch Count as Long", "42000D 03 00000008 0000000000000001", LIM_DEFAULT, TTLV_E_TYPE},
    /* tag ranges (1.4 9.1.3.1) */
    {"tag 000000", "000000 02 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_TAG},
    {"tag 41FFFF", "41FFFF 02 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_TAG},
    {"tag 430000", "430000 02 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_TAG},
    {"tag 53FFFF", "53FFFF 02 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_TAG},
    {"tag 550000", "550000 02 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_TAG},
    {"tag FFFFFF", "FFFFFF 02 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_TAG},
    {"nested bad tag", "540001 01 00000010 014242 07 00000002 6E61000000000000", LIM_DEFAULT,
     TTLV_E_TAG},
    /* limits */
    {"string over max_string", "540001 07 00000011 41414141414141414141414141414141 41"
     "00000000000000", LIM_SMALL, TTLV_E_SIZE},
    {"bytes over max_string", "540001 08 00000011 41414141414141414141414141414141 41"
     "00000000000000", LIM_SMALL, TTLV_E_SIZE},
    {"bigint over max_string", "540001 04 00000018 000000000000000000000000000000000000000000000001",
     LIM_SMALL, TTLV_E_SIZE},
    {"message over max_bytes", "540001 08 00000040 00000000000000000000000000000000"
     "00000000000000000000000000000000 00000000000000000000000000000000"
     "00000000000000000000000000000000", LIM_SMALL, TTLV_E_SIZE},
    {"depth over max_depth", "540001 01 00000018 540001 01 00000010 540001 01 00000008 540001 01 "
     "00000000", LIM_SMALL, TTLV_E_DEPTH},
    {"leaf over max_depth", "540001 01 00000020 540001 01 00000018 540001 01 00000010 540001 02 "
     "00000004 0000000100000000", LIM_SMALL, TTLV_E_DEPTH},
    {"items over max_items", "540001 01 00000020 540001 01 00000000 540001 01 00000000 540001 01 "
     "00000000 540001 01 00000000", LIM_SMALL, TTLV_E_ITEMS},
    /* accepted edge cases */
    {"ok tag 420000", "420000 02 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_OK},
    {"ok tag 42FFFF", "42FFFF 02 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_OK},
    {"ok tag 540000", "540000 02 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_OK},
    {"ok tag 54FFFF", "54FFFF 02 00000004 0000000100000000", LIM_DEFAULT, TTLV_E_OK},
    {"ok empty struct", "540001 01 00000000", LIM_DEFAULT, TTLV_E_OK},
    {"ok empty text", "540001 07 00000000", LIM_DEFAULT, TTLV_E_OK},
    {"ok empty bytes", "540001 08 00000000", LIM_DEFAULT, TTLV_E_OK},
    {"ok bool 0", "540001 06 00000008 0000000000000000", LIM_DEFAULT, TTLV_E_OK},
    {"ok utf8 2-4 bytes", "540001 07 0000000A C3A9 E282AC F48FBFBF 41 000000000000", LIM_DEFAULT,
     TTLV_E_OK},
    {"ok utf8 D7FF E000", "540001 07 00000006 ED9FBF EE8080 0000", LIM_DEFAULT, TTLV_E_OK},
    {"ok string at max_string", "540001 07 00000010 41414141414141414141414141414141", LIM_SMALL,
     TTLV_E_OK},
    {"ok depth at max_depth", "540001 01 00000010 540001 01 00000008 540001 01 00000000",
     LIM_SMALL, TTLV_E_OK},
    {"ok items at max_items", "540001 01 00000018 540001 01 00000000 540001 01 00000000 540001 01 "
     "00000000", LIM_SMALL, TTLV_E_OK},
    {"ok Attribute Value any type", "42000B 03 00000008 0000000000000001", LIM_DEFAULT, TTLV_E_OK},
    {"ok Unique Identifier as Enum (2.x)", "420094 05 00000004 0000000100000000", LIM_DEFAULT,
     TTLV_E_OK},
    {"ok Operation as Integer lenient", "42005C 02 00000004 0000000100000000", LIM_LENIENT,
     TTLV_E_OK},
};

static cf_status status_of(ttlv_err e)
{
    switch (e) {
    case TTLV_E_OK: return CF_OK;
    case TTLV_E_NOMEM: return CF_ERR_NOMEM;
    case TTLV_E_DEPTH: case TTLV_E_ITEMS: case TTLV_E_SIZE: return CF_ERR_LIMIT;
    default: return CF_ERR_INVALID_MSG;
    }
}

static void test_negative_table(void **state)
{
    fixture *f = *state;
    const ttlv_limits *lims[] = {&ttlv_default_limits, &lenient, &small_limits};

    for (size_t i = 0; i < sizeof neg_cases / sizeof neg_cases[0]; i++) {
        const struct neg_case *c = &neg_cases[i];
        size_t n = hex_into(f, c->hex);
        ttlv_item *it = (ttlv_item *)1;
        ttlv_error err;
        /* an exact-size heap copy, so ASan sees any read past the end */
        uint8_t *copy = malloc(n ? n : 1);
        cf_status st;

        assert_non_null(copy);
        memcpy(copy, f->msg, n);
        st = ttlv_decode(copy, n, lims[c->lim], f->a, &it, &err);
        if (err.code != c->want)
            fprintf(stderr, "case '%s': got %s, want %s\n", c->name, ttlv_err_str(err.code),
                    ttlv_err_str(c->want));
        assert_int_equal(err.code, c->want);
        assert_int_equal(st, status_of(c->want));
        if (c->want != TTLV_E_OK) {
            assert_null(it);
            assert_true(err.offset <= n);
        } else {
            decode_roundtrip(f, copy, n, lims[c->lim]);
        }
        free(copy);
        cf_arena_reset(f->a);
    }
}

/* ------------------------------------------ 6. mutations of real messages */

/* Offsets of every item header in a valid message (walks the bytes). */
static size_t header_offsets(const uint8_t *p, size_t n, size_t *out, size_t cap)
{
    size_t count = 0, pos = 0;
    while (pos + 8 <= n && count < cap) {
        uint32_t len = cf_be32(p + pos + 4);
        out[count++] = pos;
        pos += 8 + (p[pos + 3] == TTLV_STRUCTURE ? 0 : ((size_t)len + 7) / 8 * 8);
    }
    return count;
}

/* The decoder's contract on arbitrary input: either an error with *out NULL,
 * or a tree that re-encodes to exactly the input. Returns true if decoded. */
static bool decode_faithful(fixture *f, const uint8_t *p, size_t n, const ttlv_limits *lim)
{
    ttlv_item *it = NULL;
    ttlv_error err;
    uint8_t *copy = malloc(n ? n : 1);
    cf_status st;
    bool ok;

    assert_non_null(copy);
    memcpy(copy, p, n);
    st = ttlv_decode(copy, n, lim, f->a, &it, &err);
    ok = st == CF_OK;
    if (ok) {
        cf_buf_reset(&f->buf);
        assert_int_equal(ttlv_encode(it, &f->buf), CF_OK);
        assert_int_equal(f->buf.len, n);
        assert_memory_equal(f->buf.p, copy, n);
    } else {
        assert_null(it);
        assert_true(err.code > TTLV_E_OK && err.code <= TTLV_E_NOMEM);
        assert_true(err.offset <= n);
    }
    free(copy);
    cf_arena_reset(f->a);
    return ok;
}

static void mutate_message(fixture *f, const char *hex, const ttlv_limits *lim, unsigned *tried,
                           unsigned *refused)
{
    static const uint32_t lens_delta[] = {1, (uint32_t)-1};
    uint8_t orig[4096], m[4096];
    size_t offs[512], n = (size_t)tu_hex(hex, orig, sizeof orig);
    size_t nh = header_offsets(orig, n, offs, 512);
    ttlv_error err;
    ttlv_item *it;

    assert_true(decode_faithful(f, orig, n, lim));
    /* truncation at every offset */
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(ttlv_decode(orig, k, lim, f->a, &it, &err), CF_ERR_INVALID_MSG);
        assert_int_equal(err.code, TTLV_E_TRUNCATED);
        cf_arena_reset(f->a);
    }
    /* every declared length +1, -1, 0, 0xFFFFFFFF */
    for (size_t h = 0; h < nh; h++) {
        uint32_t len = cf_be32(orig + offs[h] + 4);
        uint32_t vals[4] = {len + lens_delta[0], len + lens_delta[1], 0, 0xFFFFFFFFu};
        for (int v = 0; v < 4; v++) {
            memcpy(m, orig, n);
            cf_put_be32(m + offs[h] + 4, vals[v]);
            (*tried)++;
            *refused += !decode_faithful(f, m, n, lim);
        }
    }
    /* every byte flipped three ways */
    for (size_t k = 0; k < n; k++) {
        static const uint8_t x[] = {0x01, 0x80, 0xFF};
        for (int v = 0; v < 3; v++) {
            memcpy(m, orig, n);
            m[k] ^= x[v];
            (*tried)++;
            *refused += !decode_faithful(f, m, n, lim);
        }
    }
}

static void test_mutations_of_real_messages(void **state)
{
    fixture *f = *state;
    unsigned tried = 0, refused = 0;

    mutate_message(f, CREATE_REQ, NULL, &tried, &refused);
    mutate_message(f, CREATE_RESP, NULL, &tried, &refused);
    mutate_message(f, CRED_REQ, NULL, &tried, &refused);
    mutate_message(f, EX_STRUCT, &lenient, &tried, &refused); /* no dictionary types */
    fprintf(stderr, "mutations: %u tried, %u refused, %u decoded faithfully\n", tried, refused,
            tried - refused);
    /* Most mutations break a rule; some are valid messages (a changed byte in
     * a text value, or a known tag flipped to another of the same type). */
    assert_true(refused > tried / 2);
}

/* ------------------------------------------------------------ 7. bombs */

/* n nested structures, the innermost empty. */
static uint8_t *nested(size_t n)
{
    uint8_t *p = malloc(8 * n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        p[8 * i] = 0x54;
        p[8 * i + 1] = 0x00;
        p[8 * i + 2] = 0x01;
        p[8 * i + 3] = TTLV_STRUCTURE;
        cf_put_be32(p + 8 * i + 4, (uint32_t)(8 * (n - 1 - i)));
    }
    return p;
}

static ttlv_err decode_err(fixture *f, const uint8_t *p, size_t n, const ttlv_limits *lim)
{
    ttlv_item *it = NULL;
    ttlv_error err;
    cf_status st = ttlv_decode(p, n, lim, f->a, &it, &err);
    assert_true((st == CF_OK) == (it != NULL));
    cf_arena_reset(f->a);
    return err.code;
}

static void test_depth_bomb(void **state)
{
    fixture *f = *state;
    uint8_t *p;
    ttlv_limits deep = ttlv_default_limits;

    p = nested(CF_LIMIT_TTLV_DEPTH);
    assert_int_equal(decode_err(f, p, 8 * CF_LIMIT_TTLV_DEPTH, NULL), TTLV_E_OK);
    free(p);
    p = nested(CF_LIMIT_TTLV_DEPTH + 1);
    assert_int_equal(decode_err(f, p, 8 * (CF_LIMIT_TTLV_DEPTH + 1), NULL), TTLV_E_DEPTH);
    free(p);
    /* 100,000 levels: refused at level 17 without recursion or allocation */
    p = nested(100000);
    assert_int_equal(decode_err(f, p, 800000, NULL), TTLV_E_DEPTH);
    /* a configured max_depth above the writer's cap is capped at it */
    deep.max_depth = 1000;
    assert_int_equal(decode_err(f, p + 8 * (100000 - TTLV_WRITER_DEPTH_MAX),
                                8 * TTLV_WRITER_DEPTH_MAX, &deep), TTLV_E_OK);
    assert_int_equal(decode_err(f, p + 8 * (100000 - TTLV_WRITER_DEPTH_MAX - 1),
                                8 * (TTLV_WRITER_DEPTH_MAX + 1), &deep), TTLV_E_DEPTH);
    free(p);
}

/* A structure holding k Integers. */
static uint8_t *flat(size_t k, size_t *out_len)
{
    size_t n = 8 + 16 * k;
    uint8_t *p = calloc(1, n);
    assert_non_null(p);
    p[0] = 0x54, p[1] = 0, p[2] = 1, p[3] = TTLV_STRUCTURE;
    cf_put_be32(p + 4, (uint32_t)(16 * k));
    for (size_t i = 0; i < k; i++) {
        uint8_t *q = p + 8 + 16 * i;
        q[0] = 0x54, q[1] = 0, q[2] = 2, q[3] = TTLV_INTEGER;
        cf_put_be32(q + 4, 4);
        cf_put_be32(q + 8, (uint32_t)i);
    }
    *out_len = n;
    return p;
}

static void test_item_and_size_bombs(void **state)
{
    fixture *f = *state;
    size_t n;
    uint8_t *p;
    ttlv_limits lim = ttlv_default_limits;

    p = flat(CF_LIMIT_TTLV_ITEMS - 1, &n); /* + the structure = the limit */
    assert_int_equal(decode_err(f, p, n, NULL), TTLV_E_OK);
    free(p);
    p = flat(CF_LIMIT_TTLV_ITEMS, &n);
    assert_int_equal(decode_err(f, p, n, NULL), TTLV_E_ITEMS);
    free(p);
    /* a 1 MiB + 8 message of empty byte strings is refused on size first */
    p = flat((CF_LIMIT_KMIP_MESSAGE) / 16, &n);
    assert_int_equal(decode_err(f, p, n, NULL), TTLV_E_SIZE);
    lim.max_bytes = n;
    assert_int_equal(decode_err(f, p, n, &lim), TTLV_E_ITEMS);
    free(p);
    /* the longest string accepted, and one byte more */
    n = 8 + CF_LIMIT_STRING + 8;
    p = calloc(1, n);
    assert_non_null(p);
    p[0] = 0x54, p[1] = 0, p[2] = 1, p[3] = TTLV_BYTE_STRING;
    cf_put_be32(p + 4, CF_LIMIT_STRING);
    assert_int_equal(decode_err(f, p, 8 + CF_LIMIT_STRING, NULL), TTLV_E_OK);
    cf_put_be32(p + 4, CF_LIMIT_STRING + 1);
    assert_int_equal(decode_err(f, p, n, NULL), TTLV_E_SIZE);
    free(p);
}

/* -------------------------------------------- 8. allocation failures */

static void test_allocation_failure_everywhere(void **state)
{
    fixture *f = *state;
    size_t n = hex_into(f, CRED_REQ);
    unsigned nomem = 0;
    cf_status st = CF_ERR_NOMEM;

    (void)state;
    /* The arena's limit fails the allocation that would pass it: raise it 16
     * bytes at a time, so every allocation of the decode fails once. */
    for (size_t limit = 16; st != CF_OK; limit += 16) {
        cf_arena *a = cf_arena_new(256, limit);
        ttlv_item *it = (ttlv_item *)1;
        ttlv_error err;
        assert_non_null(a);
        st = ttlv_decode(f->msg, n, NULL, a, &it, &err);
        if (st != CF_OK) {
            assert_int_equal(st, CF_ERR_NOMEM);
            assert_int_equal(err.code, TTLV_E_NOMEM);
            assert_null(it);
            nomem++;
        }
        cf_arena_free(a);
        assert_true(limit < 65536);
    }
    assert_true(nomem > 50);
}

/* ------------------------------------------------------- 9. frame size */

static void test_frame_size(void **state)
{
    uint8_t h[8] = {0x42, 0x00, 0x78, 0x01, 0, 0, 0x01, 0x00};
    size_t total = 0;

    (void)state;
    assert_true(ttlv_frame_size(h, 1024, &total));
    assert_int_equal(total, 8 + 256);
    assert_true(ttlv_frame_size(h, 264, &total)); /* exactly the maximum */
    assert_int_equal(total, 264);
    assert_false(ttlv_frame_size(h, 263, &total));
    h[3] = TTLV_INTEGER; /* not a structure */
    assert_false(ttlv_frame_size(h, 1024, &total));
    h[3] = TTLV_STRUCTURE;
    h[0] = 0x16; /* a TLS record or anything else: not a KMIP tag */
    assert_false(ttlv_frame_size(h, 1024, &total));
    h[0] = 0x54;
    cf_put_be32(h + 4, 0xFFFFFFFFu); /* no overflow of 8 + length */
    assert_false(ttlv_frame_size(h, SIZE_MAX - 4, &total) && total < 8);
    assert_false(ttlv_frame_size(h, CF_LIMIT_KMIP_MESSAGE, &total));
}

/* ------------------------------------------------------------ 10. dump */

static void test_dump(void **state)
{
    fixture *f = *state;
    ttlv_item *req = decode_roundtrip(f, f->msg, hex_into(f, CRED_REQ), NULL);
    ttlv_item *s = ttlv_new_struct(f->a, EXT1);
    char *text;

    cf_buf_reset(&f->buf);
    assert_int_equal(ttlv_dump(req, &f->buf), CF_OK);
    assert_true(cf_buf_append(&f->buf, "", 1));
    text = (char *)f->buf.p;
    assert_non_null(strstr(text, "Request Message (Structure)\n"));
    assert_non_null(strstr(text, "    Protocol Version Major (Integer): 1\n"));
    assert_non_null(strstr(text, "Operation (Enumeration): Create\n"));
    assert_non_null(strstr(text, "Credential Type (Enumeration): Username and Password\n"));
    assert_non_null(strstr(text, "Username (Text String): \"Fred\"\n"));
    assert_non_null(strstr(text, "Password (Text String): <redacted>\n"));
    assert_null(strstr(text, "password1"));
    /* byte strings and big integers are never printed */
    ttlv_append(s, ttlv_new_bytes(f->a, KMIP_TAG_KEY_MATERIAL, (const uint8_t *)"SECRET", 6));
    ttlv_append(s, ttlv_new_bigint(f->a, EXT2, (const uint8_t *)"SECRETSS", 8));
    ttlv_append(s, ttlv_new_datetime(f->a, KMIP_TAG_ACTIVATION_DATE, 1205495800));
    ttlv_append(s, ttlv_new_enum(f->a, KMIP_TAG_TAG, KMIP_TAG_OBJECT_TYPE));
    ttlv_append(s, ttlv_new_enum(f->a, KMIP_TAG_OPERATION, 0x8000ABCDu));
    cf_buf_reset(&f->buf);
    assert_int_equal(ttlv_dump(s, &f->buf), CF_OK);
    assert_true(cf_buf_append(&f->buf, "", 1));
    text = (char *)f->buf.p;
    assert_null(strstr(text, "SECRET"));
    assert_non_null(strstr(text, "0x540001 (Structure)\n"));
    assert_non_null(strstr(text, "  Key Material (Byte String): <6 bytes>\n"));
    assert_non_null(strstr(text, "  0x540002 (Big Integer): <8 bytes>\n"));
    assert_non_null(strstr(text, "Activation Date (Date-Time): 2008-03-14T11:56:40Z\n"));
    assert_non_null(strstr(text, "  Tag (Enumeration): Object Type\n"));
    assert_non_null(strstr(text, "  Operation (Enumeration): 0x8000ABCD\n"));
    assert_int_equal(ttlv_dump(NULL, &f->buf), CF_ERR_INVALID_FIELD);
}

/* ------------------------------------------------ 11. odds and ends */

static void test_tree_depth_cap_and_misc(void **state)
{
    fixture *f = *state;
    ttlv_item *root = ttlv_new_struct(f->a, EXT1), *s = root, *t, *bad;
    char longtext[300];
    bool b;
    int64_t i64;
    const uint8_t *bytes;
    size_t len;

    /* hand-built trees deeper than the writer's cap are refused everywhere */
    for (int i = 0; i < TTLV_WRITER_DEPTH_MAX + 2; i++) {
        t = ttlv_new_struct(f->a, EXT2);
        ttlv_append(s, t);
        s = t;
    }
    assert_false(ttlv_equal(root, root));
    assert_null(ttlv_clone(f->a, root));
    assert_int_equal(ttlv_dump(root, &f->buf), CF_ERR_INVALID_FIELD);
    assert_int_equal(ttlv_encode(root, &f->buf), CF_ERR_INTERNAL);
    assert_true(ttlv_equal(NULL, NULL));
    assert_false(ttlv_equal(root, NULL));
    /* an item of unknown type cannot be encoded */
    bad = ttlv_new_int(f->a, EXT1, 1);
    bad->type = 0x0C;
    cf_buf_reset(&f->buf);
    assert_int_equal(ttlv_encode(bad, &f->buf), CF_ERR_INTERNAL);
    /* getters of the remaining types */
    s = ttlv_new_struct(f->a, EXT1);
    ttlv_append(s, ttlv_new_bool(f->a, EXT2, true));
    ttlv_append(s, ttlv_new_long(f->a, 0x540003, -5));
    ttlv_append(s, ttlv_new_bytes(f->a, 0x540004, (const uint8_t *)"ab", 2));
    assert_int_equal(ttlv_get_bool(s, EXT2, &b), CF_OK);
    assert_true(b);
    assert_int_equal(ttlv_get_long(s, 0x540003, &i64), CF_OK);
    assert_true(i64 == -5);
    assert_int_equal(ttlv_get_bytes(s, 0x540004, &bytes, &len), CF_OK);
    assert_int_equal(len, 2);
    assert_null(ttlv_new_text(f->a, EXT1, NULL, 1));
    ttlv_append(NULL, s);
    ttlv_append(s, NULL);
    assert_int_equal(s->nchildren, 3);
    /* dump: escapes, long text, interval */
    memset(longtext, 'x', sizeof longtext);
    longtext[0] = '"';
    longtext[1] = '\n';
    ttlv_append(s, ttlv_new_text(f->a, 0x540005, longtext, sizeof longtext));
    ttlv_append(s, ttlv_new_interval(f->a, 0x540006, 86400));
    cf_buf_reset(&f->buf);
    assert_int_equal(ttlv_dump(s, &f->buf), CF_OK);
    assert_true(cf_buf_append(&f->buf, "", 1));
    assert_non_null(strstr((char *)f->buf.p, "\"\\x22\\x0Axxx"));
    assert_non_null(strstr((char *)f->buf.p, "\"... (300 bytes)\n"));
    assert_non_null(strstr((char *)f->buf.p, "0x540006 (Interval): 86400s\n"));
    /* error names */
    for (int e = TTLV_E_OK; e <= TTLV_E_NOMEM; e++)
        assert_string_not_equal(ttlv_err_str((ttlv_err)e), "unknown error");
    assert_string_equal(ttlv_err_str((ttlv_err)99), "unknown error");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_spec_examples_encode),
        T(test_spec_examples_decode),
        T(test_writer_padding_and_sign_extension),
        T(test_writer_errors_are_sticky),
        T(test_tree_access),
        T(test_generated_trees_stable),
        T(test_negative_table),
        T(test_mutations_of_real_messages),
        T(test_depth_bomb),
        T(test_item_and_size_bombs),
        T(test_allocation_failure_everywhere),
        T(test_frame_size),
        T(test_dump),
        T(test_tree_depth_cap_and_misc),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
