/*
 * Unit tests for the store's key versions and per-tenant settings (SQLite
 * back end, schema version 4): insert / get / revision-checked update /
 * list newest first with paging, a duplicate version refused (the rotation
 * race's arbiter), the rows going with their object and their tenant, and
 * the 3 -> 4 migration of a version-3 database. Straight through store.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/log.h"

struct fx {
    char dir[64];
    char path[128];
    store *st;
    cf_arena *a;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char log[128];
    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/coffre-storev-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(log, sizeof log, "%s/log", f->dir);
    cf_log_open(log);
    snprintf(f->path, sizeof f->path, "%s/db", f->dir);
    if (store_open(f->path, &f->st) != CF_OK)
        return -1;
    f->a = cf_arena_new(4096, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    store_close(f->st);
    cf_arena_free(f->a);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static store_key_version ver(const char *tenant, const char *uid, uint32_t n, const char *mat)
{
    return (store_key_version){.tenant = tenant, .uid = uid, .version = n, .created = 100 + n,
                               .material = (const uint8_t *)mat, .material_len = strlen(mat),
                               .revision = 1};
}

static void put_object(struct fx *f, const char *tenant, const char *uid)
{
    static const uint8_t attrs[] = {0x42, 0x00, 0x01, 0x01, 0, 0, 0, 0};
    store_object o = {.tenant = tenant, .uid = uid, .object_type = 2, .state = 2,
                      .owner = "x", .created = 1, .updated = 1, .revision = 1,
                      .attrs = attrs, .attrs_len = sizeof attrs};
    store_tenant t = {.id = tenant, .name = tenant, .created = 1, .state = 1};
    cf_status st = store_tenant_insert(f->st, &t);
    assert_true(st == CF_OK || st == CF_ERR_EXISTS);
    assert_int_equal(store_object_insert(f->st, &o), CF_OK);
}

static void test_insert_get_update(void **state)
{
    struct fx *f = *state;
    store_key_version v = ver("t", "k1", 1, "sealed-one"), got;

    assert_int_equal(store_version_insert(f->st, &v), CF_OK);
    /* The same version again: the primary key refuses it. */
    v.material = (const uint8_t *)"other";
    v.material_len = 5;
    assert_int_equal(store_version_insert(f->st, &v), CF_ERR_EXISTS);
    assert_int_equal(store_version_get(f->st, "t", "k1", 1, f->a, &got), CF_OK);
    assert_string_equal(got.tenant, "t");
    assert_string_equal(got.uid, "k1");
    assert_int_equal(got.version, 1);
    assert_int_equal(got.created, 101);
    assert_false(got.destroyed);
    assert_int_equal(got.material_len, 10);
    assert_memory_equal(got.material, "sealed-one", 10);
    assert_int_equal(got.uses_reserved, 0);
    assert_int_equal(got.revision, 1);
    /* Other tenant, uid or version: absent. */
    assert_int_equal(store_version_get(f->st, "u", "k1", 1, f->a, &got), CF_ERR_NOT_FOUND);
    assert_int_equal(store_version_get(f->st, "t", "k2", 1, f->a, &got), CF_ERR_NOT_FOUND);
    assert_int_equal(store_version_get(f->st, "t", "k1", 2, f->a, &got), CF_ERR_NOT_FOUND);
    assert_int_equal(store_version_get(f->st, "t", "k1", 0, f->a, &got), CF_ERR_NOT_FOUND);

    /* A reservation: revision 1 -> 2. A second writer still at 1 loses. */
    assert_int_equal(store_version_get(f->st, "t", "k1", 1, f->a, &got), CF_OK);
    got.uses_reserved = 4096;
    got.revision = 2;
    assert_int_equal(store_version_update(f->st, &got), CF_OK);
    got.uses_reserved = 8192;
    assert_int_equal(store_version_update(f->st, &got), CF_ERR_CONFLICT);
    assert_int_equal(store_version_get(f->st, "t", "k1", 1, f->a, &got), CF_OK);
    assert_int_equal(got.uses_reserved, 4096);
    assert_int_equal(got.revision, 2);
    assert_memory_equal(got.material, "sealed-one", 10);

    /* Destroying erases the material even if the caller still passes it. */
    got.destroyed = true;
    got.revision = 3;
    assert_int_equal(store_version_update(f->st, &got), CF_OK);
    assert_int_equal(store_version_get(f->st, "t", "k1", 1, f->a, &got), CF_OK);
    assert_true(got.destroyed);
    assert_null(got.material);
    assert_int_equal(got.material_len, 0);
    assert_int_equal(got.uses_reserved, 4096);
    /* An update of a missing row is a conflict (load first). */
    got.version = 9;
    got.revision = 2;
    assert_int_equal(store_version_update(f->st, &got), CF_ERR_CONFLICT);
    /* Malformed: revision 1 cannot be an update; version 0 cannot exist. */
    got.version = 1;
    got.revision = 1;
    assert_int_equal(store_version_update(f->st, &got), CF_ERR_INVALID_FIELD);
    v.version = 0;
    assert_int_equal(store_version_insert(f->st, &v), CF_ERR_INVALID_FIELD);
}

static void test_list_paging(void **state)
{
    struct fx *f = *state;
    store_key_version *rows;
    size_t n;
    int64_t total;

    for (uint32_t i = 1; i <= 5; i++) {
        store_key_version v = ver("t", "k", i, "m");
        assert_int_equal(store_version_insert(f->st, &v), CF_OK);
    }
    store_key_version other = ver("t", "k-other", 1, "m");
    assert_int_equal(store_version_insert(f->st, &other), CF_OK);
    other.tenant = "t2";
    other.uid = "k";
    assert_int_equal(store_version_insert(f->st, &other), CF_OK);

    assert_int_equal(store_version_list(f->st, "t", "k", 0, -1, f->a, &rows, &n, &total), CF_OK);
    assert_int_equal(n, 5);
    assert_int_equal(total, 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rows[i].version, 5 - i);   /* newest first */
        assert_int_equal(rows[i].created, 105 - (int64_t)i);
        assert_null(rows[i].material);              /* listing never reads material */
        assert_string_equal(rows[i].uid, "k");
    }
    assert_int_equal(store_version_list(f->st, "t", "k", 1, 2, f->a, &rows, &n, &total), CF_OK);
    assert_int_equal(n, 2);
    assert_int_equal(total, 5);
    assert_int_equal(rows[0].version, 4);
    assert_int_equal(rows[1].version, 3);
    assert_int_equal(store_version_list(f->st, "t", "k", 5, 10, f->a, &rows, &n, &total), CF_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 5);
    assert_int_equal(store_version_list(f->st, "t", "none", 0, -1, f->a, &rows, &n, &total),
                     CF_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);
    assert_int_equal(store_version_list(f->st, "t", "k", -1, 1, f->a, &rows, &n, &total),
                     CF_ERR_INVALID_FIELD);
}

static void test_settings(void **state)
{
    struct fx *f = *state;
    const uint8_t *v;
    size_t len;

    assert_int_equal(store_setting_get(f->st, "t", "rotation-policy", f->a, &v, &len),
                     CF_ERR_NOT_FOUND);
    assert_null(v);
    assert_int_equal(store_setting_put(f->st, "t", "rotation-policy", (const uint8_t *)"abc", 3),
                     CF_OK);
    assert_int_equal(store_setting_put(f->st, "u", "rotation-policy", (const uint8_t *)"z", 1),
                     CF_OK);
    assert_int_equal(store_setting_get(f->st, "t", "rotation-policy", f->a, &v, &len), CF_OK);
    assert_int_equal(len, 3);
    assert_string_equal((const char *)v, "abc"); /* NUL-terminated copy */
    /* Replace, then an empty value (present, zero bytes), then delete. */
    assert_int_equal(store_setting_put(f->st, "t", "rotation-policy", (const uint8_t *)"de", 2),
                     CF_OK);
    assert_int_equal(store_setting_get(f->st, "t", "rotation-policy", f->a, &v, &len), CF_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(v, "de", 2);
    assert_int_equal(store_setting_put(f->st, "t", "rotation-policy", (const uint8_t *)"", 0),
                     CF_OK);
    assert_int_equal(store_setting_get(f->st, "t", "rotation-policy", f->a, &v, &len), CF_OK);
    assert_int_equal(len, 0);
    assert_int_equal(store_setting_put(f->st, "t", "rotation-policy", NULL, 0), CF_OK);
    assert_int_equal(store_setting_get(f->st, "t", "rotation-policy", f->a, &v, &len),
                     CF_ERR_NOT_FOUND);
    assert_int_equal(store_setting_put(f->st, "t", "rotation-policy", NULL, 0), CF_OK);
    /* The other tenant's value is untouched. */
    assert_int_equal(store_setting_get(f->st, "u", "rotation-policy", f->a, &v, &len), CF_OK);
    assert_memory_equal(v, "z", 1);
}

static void test_delete_paths(void **state)
{
    struct fx *f = *state;
    store_key_version v;
    const uint8_t *val;
    size_t len, n;
    store_key_version *rows;
    int64_t total;

    put_object(f, "t", "k1");
    put_object(f, "t", "k2");
    put_object(f, "u", "k1");
    for (uint32_t i = 1; i <= 2; i++) {
        v = ver("t", "k1", i, "a");
        assert_int_equal(store_version_insert(f->st, &v), CF_OK);
        v = ver("t", "k2", i, "b");
        assert_int_equal(store_version_insert(f->st, &v), CF_OK);
        v = ver("u", "k1", i, "c");
        assert_int_equal(store_version_insert(f->st, &v), CF_OK);
    }
    assert_int_equal(store_setting_put(f->st, "t", "s", (const uint8_t *)"1", 1), CF_OK);
    assert_int_equal(store_setting_put(f->st, "u", "s", (const uint8_t *)"2", 1), CF_OK);

    /* The object's delete takes its versions, only its own. */
    assert_int_equal(store_begin(f->st), CF_OK);
    assert_int_equal(store_object_delete(f->st, "t", "k1"), CF_OK);
    assert_int_equal(store_commit(f->st), CF_OK);
    assert_int_equal(store_version_list(f->st, "t", "k1", 0, -1, f->a, &rows, &n, &total), CF_OK);
    assert_int_equal(total, 0);
    assert_int_equal(store_version_list(f->st, "t", "k2", 0, -1, f->a, &rows, &n, &total), CF_OK);
    assert_int_equal(total, 2);
    assert_int_equal(store_version_list(f->st, "u", "k1", 0, -1, f->a, &rows, &n, &total), CF_OK);
    assert_int_equal(total, 2);

    /* A rolled-back tenant delete keeps everything; a committed one takes
     * the versions and settings of that tenant only. */
    assert_int_equal(store_begin(f->st), CF_OK);
    assert_int_equal(store_tenant_delete(f->st, "t"), CF_OK);
    store_rollback(f->st);
    assert_int_equal(store_version_get(f->st, "t", "k2", 1, f->a, &v), CF_OK);
    assert_int_equal(store_begin(f->st), CF_OK);
    assert_int_equal(store_tenant_delete(f->st, "t"), CF_OK);
    assert_int_equal(store_commit(f->st), CF_OK);
    assert_int_equal(store_version_get(f->st, "t", "k2", 1, f->a, &v), CF_ERR_NOT_FOUND);
    assert_int_equal(store_setting_get(f->st, "t", "s", f->a, &val, &len), CF_ERR_NOT_FOUND);
    assert_int_equal(store_version_get(f->st, "u", "k1", 2, f->a, &v), CF_OK);
    assert_int_equal(store_setting_get(f->st, "u", "s", f->a, &val, &len), CF_OK);
    /* A missing tenant is still NOT_FOUND. */
    assert_int_equal(store_begin(f->st), CF_OK);
    assert_int_equal(store_tenant_delete(f->st, "nope"), CF_ERR_NOT_FOUND);
    store_rollback(f->st);
}

/* A version-3 database (no key_versions, no tenant_settings) is brought to
 * version 4 on open, its objects untouched. */
static void test_migration_3_to_4(void **state)
{
    struct fx *f = *state;
    store_key_version v = ver("t", "k", 1, "m");
    store_object o;
    const uint8_t *val;
    size_t len;
    sqlite3 *db;

    put_object(f, "t", "k");
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE key_versions; DROP TABLE tenant_settings;"
                                  "UPDATE meta SET v = '3' WHERE k = 'schema_version';",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(f->path, &f->st), CF_OK);
    assert_int_equal(store_meta_get(f->st, "schema_version", f->a, &val, &len), CF_OK);
    assert_int_equal(len, 1);
    assert_memory_equal(val, "7", 1); /* and on to 7 (audit trail, import tokens, index) */
    assert_int_equal(store_object_get(f->st, "t", "k", f->a, &o), CF_OK);
    assert_int_equal(store_version_insert(f->st, &v), CF_OK);
    assert_int_equal(store_setting_put(f->st, "t", "s", (const uint8_t *)"1", 1), CF_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_get_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_3_to_4, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
