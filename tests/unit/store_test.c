/*
 * Unit tests for the store (SQLite back end): the attribute index follows
 * every insert, update, delete and rollback; each kind of search criterion;
 * paging and its order; tenant isolation; schema versioning. Rows are
 * written straight through store.h with hand-made index entries, so these
 * tests do not depend on the core.
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
    strcpy(f->dir, "/tmp/coffre-store-XXXXXX");
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

/* ------------------------------------------------------------ helpers */

static store_index_entry ent_text(const char *name, const char *text)
{
    return (store_index_entry){.name = name, .text = (const uint8_t *)text,
                               .text_len = strlen(text)};
}

static store_index_entry ent_int(const char *name, int64_t v)
{
    return (store_index_entry){.name = name, .has_int = true, .ival = v};
}

static store_object row(const char *tenant, const char *uid, uint32_t type, uint32_t state,
                        const store_index_entry *idx, size_t n)
{
    static const uint8_t attrs[] = {0x42, 0x00, 0x01, 0x01, 0, 0, 0, 0};
    return (store_object){.tenant = tenant, .uid = uid, .object_type = type, .state = state,
                          .owner = "cert:CN=o", .created = 1, .updated = 1, .revision = 1,
                          .attrs = attrs, .attrs_len = sizeof attrs, .index = idx, .n_index = n};
}

static void put(struct fx *f, const store_object *o)
{
    assert_int_equal(store_begin(f->st), CF_OK);
    assert_int_equal(store_object_insert(f->st, o), CF_OK);
    assert_int_equal(store_commit(f->st), CF_OK);
}

static void update(struct fx *f, const store_object *o, cf_status want)
{
    assert_int_equal(store_begin(f->st), CF_OK);
    assert_int_equal(store_object_update(f->st, o), want);
    if (want == CF_OK)
        assert_int_equal(store_commit(f->st), CF_OK);
    else
        store_rollback(f->st);
}

/* Run a query; returns the uids found joined by ',' (static buffer). */
static const char *find(struct fx *f, const char *tenant, const store_criterion *c, size_t n,
                        int64_t offset, int64_t limit, int64_t *total)
{
    static char out[4096];
    store_query q = {.tenant = tenant, .crit = c, .n_crit = n, .offset = offset, .limit = limit};
    const char **uids;
    size_t got;
    int64_t t;
    out[0] = 0;
    assert_int_equal(store_object_find(f->st, &q, f->a, &uids, &got, &t), CF_OK);
    for (size_t i = 0; i < got; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, uids[i]);
    }
    if (total)
        *total = t;
    else
        assert_int_equal(t, (int64_t)got);
    return out;
}

static store_criterion by_text(const char *name, const char *text)
{
    return (store_criterion){.name = name, .text_op = STORE_TEXT_EQ,
                             .text = (const uint8_t *)text, .text_len = strlen(text)};
}

static store_criterion by_int(const char *name, store_int_op op, int64_t lo, int64_t hi)
{
    return (store_criterion){.name = name, .int_op = op, .lo = lo, .hi = hi};
}

static int64_t index_rows(struct fx *f)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t n = -1;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM object_index", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* -------------------------------------------------------------- tests */

static void test_index_follows_insert_update_delete(void **state)
{
    struct fx *f = *state;
    store_index_entry e1[] = {ent_text("Name", "alpha"), ent_int("Cryptographic Length", 256)};
    store_index_entry e2[] = {ent_text("Name", "beta")};
    store_object o = row("t", "u1", 2, 1, e1, 2);
    store_criterion alpha = by_text("Name", "alpha"), beta = by_text("Name", "beta");
    store_criterion len = by_int("Cryptographic Length", STORE_INT_EQ, 256, 0);

    put(f, &o);
    assert_int_equal(index_rows(f), 2);
    assert_string_equal(find(f, "t", &alpha, 1, 0, -1, NULL), "u1");
    assert_string_equal(find(f, "t", &len, 1, 0, -1, NULL), "u1");

    /* Update replaces every entry of the object. */
    o = row("t", "u1", 2, 1, e2, 1);
    o.revision = 2;
    update(f, &o, CF_OK);
    assert_int_equal(index_rows(f), 1);
    assert_string_equal(find(f, "t", &alpha, 1, 0, -1, NULL), "");
    assert_string_equal(find(f, "t", &len, 1, 0, -1, NULL), "");
    assert_string_equal(find(f, "t", &beta, 1, 0, -1, NULL), "u1");

    /* A stale revision changes nothing, index included. */
    o = row("t", "u1", 2, 1, e1, 2);
    o.revision = 2;
    update(f, &o, CF_ERR_CONFLICT);
    assert_string_equal(find(f, "t", &beta, 1, 0, -1, NULL), "u1");
    assert_int_equal(index_rows(f), 1);

    /* A rolled-back insert leaves no entry behind. */
    o = row("t", "u2", 2, 1, e1, 2);
    assert_int_equal(store_begin(f->st), CF_OK);
    assert_int_equal(store_object_insert(f->st, &o), CF_OK);
    store_rollback(f->st);
    assert_string_equal(find(f, "t", &alpha, 1, 0, -1, NULL), "");
    assert_int_equal(index_rows(f), 1);

    /* Delete removes the entries. */
    assert_int_equal(store_begin(f->st), CF_OK);
    assert_int_equal(store_object_delete(f->st, "t", "u1"), CF_OK);
    assert_int_equal(store_commit(f->st), CF_OK);
    assert_string_equal(find(f, "t", &beta, 1, 0, -1, NULL), "");
    assert_int_equal(index_rows(f), 0);
    assert_int_equal(store_object_delete(f->st, "t", "u1"), CF_ERR_NOT_FOUND);
}

static void insert_sample(struct fx *f)
{
    /* a: two Links, usage mask 12, a date; b: mask 4, ASI; c: nothing. */
    static store_index_entry ea[] = {
        {.name = "Link", .has_int = true, .ival = 1, .text = (const uint8_t *)"p1", .text_len = 2},
        {.name = "Link", .has_int = true, .ival = 2, .text = (const uint8_t *)"p2", .text_len = 2},
        {.name = "Cryptographic Usage Mask", .has_int = true, .ival = 12},
        {.name = "Initial Date", .has_int = true, .ival = 1000},
        {.name = "Fresh", .has_int = true, .ival = 0},
    };
    static store_index_entry eb[] = {
        {.name = "Cryptographic Usage Mask", .has_int = true, .ival = 4},
        {.name = "Initial Date", .has_int = true, .ival = 2000},
        {.name = "Application Specific Information", .text = (const uint8_t *)"ns\0data",
         .text_len = 7},
        {.name = "x-Bytes", .text = (const uint8_t *)"\xff\x01", .text_len = 2},
        {.name = "Fresh", .has_int = true, .ival = 1},
    };
    store_object a = row("t", "a", 2, 2, ea, 5), b = row("t", "b", 2, 1, eb, 5);
    store_object c = row("t", "c", 7, 5, NULL, 0);
    put(f, &a);
    put(f, &b);
    put(f, &c);
}

static void test_each_criterion_kind(void **state)
{
    struct fx *f = *state;
    store_criterion c[3];
    insert_sample(f);

    /* Integer and text of one entry must match together (Link type + uid). */
    c[0] = by_text("Link", "p2");
    c[0].int_op = STORE_INT_EQ;
    c[0].lo = 2;
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "a");
    c[0].lo = 1;
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "");
    c[0] = by_text("Link", "p1");
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "a");

    /* Mask: every requested bit. */
    c[0] = by_int("Cryptographic Usage Mask", STORE_INT_MASK, 4, 0);
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "b,a");
    c[0].lo = 12;
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "a");
    c[0].lo = 13;
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "");

    /* Range, bounds included. */
    c[0] = by_int("Initial Date", STORE_INT_RANGE, 1000, 2000);
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "b,a");
    c[0] = by_int("Initial Date", STORE_INT_RANGE, 1001, 2000);
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "b");

    /* Negated: no instance with another value (absent included). */
    c[0] = by_int("Fresh", STORE_INT_NE, 1, 0);
    c[0].negate = true;
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "c,b");

    /* Prefix and suffix of bytes, including a 0xFF last byte. */
    c[0] = (store_criterion){.name = "Application Specific Information",
                             .text_op = STORE_TEXT_PREFIX, .text = (const uint8_t *)"ns\0",
                             .text_len = 3};
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "b");
    c[0].text = (const uint8_t *)"n";
    c[0].text_len = 1;
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "b");
    c[0].text = (const uint8_t *)"nt";
    c[0].text_len = 2;
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "");
    c[0].text_op = STORE_TEXT_SUFFIX;
    c[0].text = (const uint8_t *)"\0data";
    c[0].text_len = 5;
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "b");
    c[0].text = (const uint8_t *)"xdata";
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "");
    c[0] = (store_criterion){.name = "x-Bytes", .text_op = STORE_TEXT_PREFIX,
                             .text = (const uint8_t *)"\xff", .text_len = 1};
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "b");

    /* Row columns, and several criteria together. */
    c[0] = (store_criterion){.field = STORE_FIELD_OBJECT_TYPE, .int_op = STORE_INT_EQ, .lo = 2};
    c[1] = (store_criterion){.field = STORE_FIELD_STATE, .int_op = STORE_INT_EQ, .lo = 1};
    assert_string_equal(find(f, "t", c, 1, 0, -1, NULL), "b,a");
    assert_string_equal(find(f, "t", c, 2, 0, -1, NULL), "b");
    c[1] = (store_criterion){.field = STORE_FIELD_STATE, .int_op = STORE_INT_RANGE, .lo = 5, .hi = 6};
    assert_string_equal(find(f, "t", c + 1, 1, 0, -1, NULL), "c");
    c[0] = (store_criterion){.field = STORE_FIELD_UID, .text_op = STORE_TEXT_EQ,
                             .text = (const uint8_t *)"a", .text_len = 1};
    c[1] = by_int("Cryptographic Usage Mask", STORE_INT_MASK, 8, 0);
    c[2] = by_text("Link", "p1");
    assert_string_equal(find(f, "t", c, 3, 0, -1, NULL), "a");
    c[1].lo = 1;
    assert_string_equal(find(f, "t", c, 3, 0, -1, NULL), "");

    /* Nothing: every object of the tenant, newest first. */
    assert_string_equal(find(f, "t", NULL, 0, 0, -1, NULL), "c,b,a");
}

static void test_paging(void **state)
{
    struct fx *f = *state;
    store_index_entry e[] = {ent_text("Object Group", "g")};
    store_criterion g = by_text("Object Group", "g");
    int64_t total;
    char uid[16];

    for (int i = 0; i < 7; i++) {
        store_object o;
        snprintf(uid, sizeof uid, "k%d", i);
        o = row("t", uid, 2, 1, e, 1);
        put(f, &o);
    }
    assert_string_equal(find(f, "t", &g, 1, 0, 3, &total), "k6,k5,k4");
    assert_int_equal(total, 7);
    assert_string_equal(find(f, "t", &g, 1, 3, 3, &total), "k3,k2,k1");
    assert_int_equal(total, 7);
    assert_string_equal(find(f, "t", &g, 1, 6, 3, &total), "k0");
    assert_int_equal(total, 7);
    /* An empty page still counts every match. */
    assert_string_equal(find(f, "t", &g, 1, 7, 3, &total), "");
    assert_int_equal(total, 7);
    assert_string_equal(find(f, "t", &g, 1, 0, 0, &total), "");
    assert_int_equal(total, 7);
    assert_string_equal(find(f, "t", &g, 1, 2, -1, &total), "k4,k3,k2,k1,k0");
    assert_int_equal(total, 7);
}

static void test_tenant_isolation(void **state)
{
    struct fx *f = *state;
    store_index_entry e[] = {ent_text("Name", "shared"), ent_int("x-n", 1)};
    store_object a = row("ta", "ua", 2, 1, e, 2), b = row("tb", "ub", 2, 1, e, 2);
    store_criterion c = by_text("Name", "shared"), n = by_int("x-n", STORE_INT_EQ, 1, 0);
    store_criterion u = {.field = STORE_FIELD_UID, .text_op = STORE_TEXT_EQ,
                         .text = (const uint8_t *)"ub", .text_len = 2};
    store_query owned = {.tenant = "ta", .owner = "cert:CN=other", .limit = -1};
    const char **uids;
    size_t got;
    int64_t total;

    put(f, &a);
    put(f, &b);
    assert_string_equal(find(f, "ta", &c, 1, 0, -1, NULL), "ua");
    assert_string_equal(find(f, "tb", &c, 1, 0, -1, NULL), "ub");
    assert_string_equal(find(f, "ta", &n, 1, 0, -1, NULL), "ua");
    assert_string_equal(find(f, "ta", NULL, 0, 0, -1, NULL), "ua");
    assert_string_equal(find(f, "ta", &u, 1, 0, -1, NULL), "");
    assert_string_equal(find(f, "tc", NULL, 0, 0, -1, NULL), "");
    /* The owner hook narrows within the tenant. */
    assert_int_equal(store_object_find(f->st, &owned, f->a, &uids, &got, &total), CF_OK);
    assert_int_equal(got, 0);
    owned.owner = "cert:CN=o";
    assert_int_equal(store_object_find(f->st, &owned, f->a, &uids, &got, &total), CF_OK);
    assert_int_equal(got, 1);
    assert_string_equal(uids[0], "ua");
}

static void test_malformed_queries(void **state)
{
    struct fx *f = *state;
    store_criterion c = {.field = STORE_FIELD_ATTR, .name = NULL, .int_op = STORE_INT_EQ};
    store_query q = {.tenant = "t", .crit = &c, .n_crit = 1, .limit = -1};
    const char **uids;
    size_t got;
    int64_t total;

    assert_int_equal(store_object_find(f->st, &q, f->a, &uids, &got, &total),
                     CF_ERR_INVALID_FIELD);
    c = (store_criterion){.field = STORE_FIELD_UID, .text_op = STORE_TEXT_PREFIX,
                          .text = (const uint8_t *)"a", .text_len = 1};
    assert_int_equal(store_object_find(f->st, &q, f->a, &uids, &got, &total),
                     CF_ERR_INVALID_FIELD);
    c = (store_criterion){.field = STORE_FIELD_STATE, .text_op = STORE_TEXT_EQ};
    assert_int_equal(store_object_find(f->st, &q, f->a, &uids, &got, &total),
                     CF_ERR_INVALID_FIELD);
    q.crit = NULL;
    assert_int_equal(store_object_find(f->st, &q, f->a, &uids, &got, &total),
                     CF_ERR_INVALID_FIELD);
    q.n_crit = 0;
    q.offset = -1;
    assert_int_equal(store_object_find(f->st, &q, f->a, &uids, &got, &total),
                     CF_ERR_INVALID_FIELD);
    /* Values are bound, never spliced: quotes are just bytes. */
    c = by_text("Name", "x' OR 1=1 --");
    q = (store_query){.tenant = "t' OR 'a'='a", .crit = &c, .n_crit = 1, .limit = -1};
    assert_int_equal(store_object_find(f->st, &q, f->a, &uids, &got, &total), CF_OK);
    assert_int_equal(total, 0);
}

static void set_version(struct fx *f, const char *v)
{
    sqlite3 *db;
    char sql[128];
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    snprintf(sql, sizeof sql, "UPDATE meta SET v = '%s' WHERE k = 'schema_version'", v);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_schema_versions(void **state)
{
    struct fx *f = *state;
    store *again = NULL;
    const uint8_t *v;
    size_t len;

    assert_int_equal(store_meta_get(f->st, "schema_version", f->a, &v, &len), CF_OK);
    assert_int_equal(len, 1);
    assert_memory_equal(v, "7", 1);
    store_close(f->st);
    f->st = NULL;
    /* Reopening the current version is a no-op. */
    assert_int_equal(store_open(f->path, &again), CF_OK);
    store_close(again);
    /* Version 1 has no upgrade path (no deployments); a newer one is refused. */
    set_version(f, "1");
    assert_int_equal(store_open(f->path, &again), CF_ERR_STORE);
    assert_null(again);
    set_version(f, "99");
    assert_int_equal(store_open(f->path, &again), CF_ERR_STORE);
    /* Back at the current version it opens again. (The real 2 -> 3
     * migration of a version-2 database is tested in identity_test.) */
    set_version(f, "7");
    assert_int_equal(store_open(f->path, &f->st), CF_OK);
}

/* The listing without criteria (REST GET /v1/keys, store_sqlite_find.c's
 * page query) reads a page through objects(tenant), newest first, without
 * sorting the tenant's objects (schema version 7). */
static void test_listing_plan_has_no_sort(void **state)
{
    struct fx *f = *state;
    const char *file = f->path;
    sqlite3 *db;
    sqlite3_stmt *st;
    char plan[1024] = "";
    size_t n = 0;

    assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "EXPLAIN QUERY PLAN SELECT o.uid FROM objects o WHERE "
                                        "o.tenant = ?1 AND (o.state <> 5) AND (o.state <> 6) "
                                        "ORDER BY o.id DESC LIMIT ?2 OFFSET ?3",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && n < sizeof plan - 1)
        n += (size_t)snprintf(plan + n, sizeof plan - n, "%s; ", sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (strstr(plan, "objects_tenant") == NULL || strstr(plan, "TEMP B-TREE") != NULL)
        fail_msg("listing plan: %s", plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_index_follows_insert_update_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listing_plan_has_no_sort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_criterion_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_versions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
