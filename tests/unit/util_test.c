/* Unit tests for src/util: arena, buffer, secrets, status table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/limits.h"
#include "util/mem.h"
#include "util/status.h"

static void test_arena_alignment_and_reset(void **state)
{
    (void)state;
    cf_arena *a = cf_arena_new(256, 0);
    assert_non_null(a);
    for (int i = 1; i < 200; i++) {
        uint8_t *p = cf_arena_alloc(a, (size_t)i);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xAB, (size_t)i);
    }
    assert_true(cf_arena_used(a) > 256);
    cf_arena_reset(a);
    assert_int_equal(cf_arena_used(a), 0);
    char *s = cf_arena_sprintf(a, "%s-%d", "x", 42);
    assert_string_equal(s, "x-42");
    cf_arena_free(a);
}

static void test_arena_limit(void **state)
{
    (void)state;
    cf_arena *a = cf_arena_new(256, 1024);
    assert_non_null(cf_arena_alloc(a, 1000));
    assert_null(cf_arena_alloc(a, 100));
    assert_null(cf_arena_alloc(a, SIZE_MAX));
    cf_arena_free(a);
}

static void test_buf_max_is_sticky(void **state)
{
    (void)state;
    cf_buf b;
    cf_buf_init(&b, 10);
    assert_true(cf_buf_append(&b, "0123456789", 10));
    assert_false(cf_buf_append(&b, "x", 1));
    assert_true(b.failed);
    assert_false(cf_buf_append(&b, "", 0));
    cf_buf_reset(&b);
    assert_false(b.failed);
    assert_true(cf_buf_append(&b, "abc", 3));
    assert_int_equal(b.len, 3);
    cf_buf_free(&b);
}

static void test_secret_roundtrip(void **state)
{
    (void)state;
    cf_secret s;
    const uint8_t k[4] = {1, 2, 3, 4};
    assert_int_equal(cf_secret_dup(&s, k, sizeof k), CF_OK);
    assert_int_equal(s.len, 4);
    assert_int_equal(cf_memeq_ct(s.p, k, 4), 0);
    cf_secret_free(&s);
    assert_null(s.p);
    assert_int_equal(s.len, 0);
}

static void test_status_table_complete(void **state)
{
    (void)state;
    for (int st = 0; st < CF_STATUS_COUNT; st++) {
        const struct cf_status_info *i = cf_status_info((cf_status)st);
        assert_non_null(i->name);
        if (st != CF_OK && st != CF_ERR_INTERNAL)
            assert_string_not_equal(i->name, "internal_error");
        if (st != CF_OK) {
            assert_true(i->http_status >= 400);
            assert_true(i->kmip_reason != 0);
        }
    }
    assert_string_equal(cf_status_str((cf_status)9999), "internal_error");
    assert_int_equal(cf_status_info(CF_ERR_NOT_FOUND)->kmip_reason, 1);
    assert_int_equal(cf_status_info(CF_ERR_NOT_FOUND)->http_status, 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alignment_and_reset),
        cmocka_unit_test(test_arena_limit),
        cmocka_unit_test(test_buf_max_is_sticky),
        cmocka_unit_test(test_secret_roundtrip),
        cmocka_unit_test(test_status_table_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
