/*
 * store_sqlite_versions.c - versions of root keys and per-tenant settings
 * in the SQLite back end (schema version 4).
 *
 * Same shape as store_sqlite_ident.c: one prepared statement per query in
 * the handle's `ver` slots (prepared on first use, reset after each,
 * finalized by store_sqlite.c's close), every value bound. A version row is
 * addressed by (tenant, uid, version), the primary key, so two nodes
 * inserting the same next version collide on the key (CF_ERR_EXISTS) and
 * exactly one wins; updates are revision-checked like object updates.
 * Listing reads the rows without their material (it can be long and the
 * listing never needs it).
 */
#include "store/store_sqlite_int.h"

#include <string.h>

enum ver_stmt {
    VS_INSERT,
    VS_GET,
    VS_UPDATE,
    VS_COUNT,
    VS_LIST,
    VS_DEL_OBJECT,
    VS_DEL_TENANT,
    SS_GET,
    SS_PUT,
    SS_DELETE,
    SS_DEL_TENANT,
    VER_STMT_COUNT
};

_Static_assert(VER_STMT_COUNT <= STORE_SQ_VER_STMTS, "raise STORE_SQ_VER_STMTS");

static const char *const ver_sql[VER_STMT_COUNT] = {
    [VS_INSERT] = "INSERT INTO key_versions(tenant, uid, version, created, destroyed, material,"
                  " uses_reserved, revision) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [VS_GET] = "SELECT created, destroyed, material, uses_reserved, revision FROM key_versions"
               " WHERE tenant = ?1 AND uid = ?2 AND version = ?3",
    [VS_UPDATE] = "UPDATE key_versions SET destroyed = ?5, material = ?6, uses_reserved = ?7,"
                  " revision = ?8 WHERE tenant = ?1 AND uid = ?2 AND version = ?3"
                  " AND revision = ?8 - 1",
    [VS_COUNT] = "SELECT count(*) FROM key_versions WHERE tenant = ?1 AND uid = ?2",
    [VS_LIST] = "SELECT version, created, destroyed, uses_reserved, revision FROM key_versions"
                " WHERE tenant = ?1 AND uid = ?2 ORDER BY version DESC LIMIT ?4 OFFSET ?3",
    [VS_DEL_OBJECT] = "DELETE FROM key_versions WHERE tenant = ?1 AND uid = ?2",
    [VS_DEL_TENANT] = "DELETE FROM key_versions WHERE tenant = ?1",
    [SS_GET] = "SELECT v FROM tenant_settings WHERE tenant = ?1 AND k = ?2",
    [SS_PUT] = "INSERT OR REPLACE INTO tenant_settings(tenant, k, v) VALUES(?1, ?2, ?3)",
    [SS_DELETE] = "DELETE FROM tenant_settings WHERE tenant = ?1 AND k = ?2",
    [SS_DEL_TENANT] = "DELETE FROM tenant_settings WHERE tenant = ?1",
};

static struct store_sqlite *sq(store *s) { return (struct store_sqlite *)s; }

static sqlite3_stmt *ver_stmt(struct store_sqlite *s, enum ver_stmt id)
{
    sqlite3_stmt *st = s->ver[id];
    if (st == NULL) {
        if (sqlite3_prepare_v3(s->db, ver_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL)
            != SQLITE_OK) {
            CF_LOGE("sqlite prepare: %s", sqlite3_errmsg(s->db));
            return NULL;
        }
        s->ver[id] = st;
    }
    return st;
}

/* Step a statement that returns no row (rc: the binding's result);
 * *changes gets the rows it touched. */
static cf_status ver_exec(struct store_sqlite *s, sqlite3_stmt *st, int rc, int *changes)
{
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    store_sq_done(st);
    if (changes)
        *changes = sqlite3_changes(s->db);
    return rc == SQLITE_DONE ? CF_OK : store_sq_error(s, rc, "key versions");
}

/* Bind ?1..?8 (tenant, uid, version, created, destroyed, material,
 * uses_reserved, revision). The UPDATE names ?8, so slot 4 exists there
 * too (SQLite numbers the slots up to the largest ?N). */
static int bind_version(sqlite3_stmt *st, const store_key_version *v)
{
    int rc = store_sq_bind_text(st, 1, v->tenant);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 2, v->uid);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, v->version);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, v->created); /* unused by UPDATE */
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 5, v->destroyed);
    if (rc == SQLITE_OK)
        rc = store_sq_bind_blob(st, 6, v->destroyed ? NULL : v->material, v->material_len);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 7, v->uses_reserved);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 8, v->revision);
    return rc;
}

cf_status store_sq_version_insert(store *base, const store_key_version *v)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = ver_stmt(s, VS_INSERT);
    if (st == NULL)
        return CF_ERR_STORE;
    return ver_exec(s, st, bind_version(st, v), NULL);
}

cf_status store_sq_version_update(store *base, const store_key_version *v)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = ver_stmt(s, VS_UPDATE);
    int changes = 0;
    cf_status rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = ver_exec(s, st, bind_version(st, v), &changes);
    return rc == CF_OK && changes != 1 ? CF_ERR_CONFLICT : rc;
}

cf_status store_sq_version_get(store *base, const char *tenant, const char *uid,
                               uint32_t version, cf_arena *a, store_key_version *out)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = ver_stmt(s, VS_GET);
    cf_status ret = CF_OK;
    int rc;

    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, tenant);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 2, uid);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, version);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        ret = rc == SQLITE_DONE ? CF_ERR_NOT_FOUND : store_sq_error(s, rc, "version get");
        goto out;
    }
    out->tenant = cf_arena_strndup(a, tenant, strlen(tenant));
    out->uid = cf_arena_strndup(a, uid, strlen(uid));
    out->version = version;
    out->created = sqlite3_column_int64(st, 0);
    out->destroyed = sqlite3_column_int(st, 1) != 0;
    if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
        const void *b = sqlite3_column_blob(st, 2);
        out->material_len = (size_t)sqlite3_column_bytes(st, 2);
        out->material = cf_arena_memdup(a, b ? b : "", out->material_len);
        if (out->material == NULL)
            ret = CF_ERR_NOMEM;
    }
    out->uses_reserved = sqlite3_column_int64(st, 3);
    out->revision = sqlite3_column_int64(st, 4);
    if (out->tenant == NULL || out->uid == NULL)
        ret = CF_ERR_NOMEM;
out:
    store_sq_done(st);
    return ret;
}

/* One listed row (no material). */
static void version_row(sqlite3_stmt *st, const char *tenant, const char *uid,
                        store_key_version *v)
{
    memset(v, 0, sizeof *v);
    v->tenant = tenant;
    v->uid = uid;
    v->version = (uint32_t)sqlite3_column_int64(st, 0);
    v->created = sqlite3_column_int64(st, 1);
    v->destroyed = sqlite3_column_int(st, 2) != 0;
    v->uses_reserved = sqlite3_column_int64(st, 3);
    v->revision = sqlite3_column_int64(st, 4);
}

static cf_status version_count(struct store_sqlite *s, const char *tenant, const char *uid,
                               int64_t *out)
{
    sqlite3_stmt *st = ver_stmt(s, VS_COUNT);
    int rc;
    *out = 0;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, tenant);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 2, uid);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    store_sq_done(st);
    return rc == SQLITE_ROW ? CF_OK : store_sq_error(s, rc, "version count");
}

/* Rows into a growing arena array: never allocated from a count. */
static cf_status version_rows(struct store_sqlite *s, sqlite3_stmt *st, const char *tenant,
                              const char *uid, cf_arena *a, store_key_version **out,
                              size_t *out_n)
{
    store_key_version *arr = NULL;
    size_t n = 0, cap = 0;
    cf_status ret = CF_OK;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            store_key_version *bigger = cf_arena_alloc(a, ncap * sizeof *bigger);
            if (bigger == NULL) {
                ret = CF_ERR_NOMEM;
                break;
            }
            if (n)
                memcpy(bigger, arr, n * sizeof *arr);
            arr = bigger;
            cap = ncap;
        }
        version_row(st, tenant, uid, &arr[n++]);
    }
    if (ret == CF_OK && rc != SQLITE_DONE)
        ret = store_sq_error(s, rc, "version list");
    store_sq_done(st);
    *out = ret == CF_OK ? arr : NULL;
    *out_n = ret == CF_OK ? n : 0;
    return ret;
}

cf_status store_sq_version_list(store *base, const char *tenant, const char *uid,
                                int64_t offset, int64_t limit, cf_arena *a,
                                store_key_version **out, size_t *out_n, int64_t *out_total)
{
    struct store_sqlite *s = sq(base);
    const char *t, *u;
    sqlite3_stmt *st;
    cf_status rc;

    if ((rc = version_count(s, tenant, uid, out_total)) != CF_OK)
        return rc;
    t = cf_arena_strndup(a, tenant, strlen(tenant));
    u = cf_arena_strndup(a, uid, strlen(uid));
    if (t == NULL || u == NULL)
        return CF_ERR_NOMEM;
    if ((st = ver_stmt(s, VS_LIST)) == NULL)
        return CF_ERR_STORE;
    store_sq_bind_text(st, 1, tenant);
    store_sq_bind_text(st, 2, uid);
    sqlite3_bind_int64(st, 3, offset);
    sqlite3_bind_int64(st, 4, limit < 0 ? -1 : limit);
    return version_rows(s, st, t, u, a, out, out_n);
}

/* ------------------------------------------------- per-tenant settings */

cf_status store_sq_setting_get(store *base, const char *tenant, const char *key, cf_arena *a,
                               const uint8_t **out, size_t *out_len)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = ver_stmt(s, SS_GET);
    cf_status ret = CF_OK;
    int rc;

    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, tenant);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 2, key);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(st, 0);
        *out_len = (size_t)sqlite3_column_bytes(st, 0);
        /* One spare NUL so a text value can be read as a C string. */
        uint8_t *copy = cf_arena_alloc(a, *out_len + 1);
        if (copy == NULL) {
            ret = CF_ERR_NOMEM;
            *out_len = 0;
        } else {
            if (*out_len)
                memcpy(copy, b, *out_len);
            copy[*out_len] = 0;
            *out = copy;
        }
    } else {
        ret = rc == SQLITE_DONE ? CF_ERR_NOT_FOUND : store_sq_error(s, rc, "setting get");
    }
    store_sq_done(st);
    return ret;
}

cf_status store_sq_setting_put(store *base, const char *tenant, const char *key,
                               const uint8_t *val, size_t len)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = ver_stmt(s, val ? SS_PUT : SS_DELETE);
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, tenant);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 2, key);
    if (rc == SQLITE_OK && val != NULL) rc = store_sq_bind_blob(st, 3, val, len);
    return ver_exec(s, st, rc, NULL);
}

/* ------------------------------------------------- delete paths */

cf_status store_sq_versions_delete_object(struct store_sqlite *s, const char *tenant,
                                          const char *uid)
{
    sqlite3_stmt *st = ver_stmt(s, VS_DEL_OBJECT);
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, tenant);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 2, uid);
    return ver_exec(s, st, rc, NULL);
}

cf_status store_sq_versions_delete_tenant(struct store_sqlite *s, const char *tenant)
{
    static const enum ver_stmt steps[] = {VS_DEL_TENANT, SS_DEL_TENANT};
    cf_status rc = CF_OK;
    for (size_t i = 0; rc == CF_OK && i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_stmt *st = ver_stmt(s, steps[i]);
        if (st == NULL)
            return CF_ERR_STORE;
        rc = ver_exec(s, st, store_sq_bind_text(st, 1, tenant), NULL);
    }
    return rc;
}
