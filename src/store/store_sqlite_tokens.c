/*
 * store_sqlite_tokens.c - BYOK import tokens in the SQLite back end
 * (schema version 6).
 *
 * Tokens are rare (one per key a customer brings), so the statements are
 * prepared per call rather than kept in the handle: no slot array to
 * grow in store_sqlite_int.h. Every value is bound. The update is
 * revision-checked like object updates: two imports spending a token's
 * last use read the same revision, the first update moves it, the second
 * touches no row and answers CF_ERR_CONFLICT.
 */
#include "store/store_sqlite_int.h"

#include <string.h>

static struct store_sqlite *sq(store *s) { return (struct store_sqlite *)s; }

static sqlite3_stmt *prepare(struct store_sqlite *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        CF_LOGE("sqlite prepare: %s", sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Step a statement returning no row (rc: the binding's result), finalize
 * it; *changes gets the rows it touched. */
static cf_status exec_done(struct store_sqlite *s, sqlite3_stmt *st, int rc, int *changes)
{
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (changes)
        *changes = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? CF_OK : store_sq_error(s, rc, "import tokens");
}

cf_status store_sq_import_token_insert(store *base, const store_import_token *t)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = prepare(s, "INSERT INTO import_tokens(tenant, id, owner, created, expires,"
                                  " key_size, max_uses, uses, public_key, private_key, revision)"
                                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, t->tenant);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 2, t->id);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 3, t->owner);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, t->created);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5, t->expires);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 6, t->key_size);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 7, t->max_uses);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 8, t->uses);
    if (rc == SQLITE_OK) rc = store_sq_bind_blob(st, 9, t->public_key, t->public_key_len);
    if (rc == SQLITE_OK) rc = store_sq_bind_blob(st, 10, t->private_key, t->private_key_len);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 11, t->revision);
    return exec_done(s, st, rc, NULL);
}

cf_status store_sq_import_token_update(store *base, const store_import_token *t)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = prepare(s, "UPDATE import_tokens SET uses = ?3, private_key = ?4,"
                                  " revision = ?5 WHERE tenant = ?1 AND id = ?2"
                                  " AND revision = ?5 - 1");
    int changes = 0, rc;
    cf_status ret;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, t->tenant);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 2, t->id);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 3, t->uses);
    if (rc == SQLITE_OK) rc = store_sq_bind_blob(st, 4, t->private_key, t->private_key_len);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5, t->revision);
    ret = exec_done(s, st, rc, &changes);
    return ret == CF_OK && changes != 1 ? CF_ERR_CONFLICT : ret;
}

/* A blob column into the arena (NULL stays NULL). */
static cf_status col_blob(sqlite3_stmt *st, int i, cf_arena *a, const uint8_t **out,
                          size_t *out_len)
{
    const void *b;
    *out = NULL;
    *out_len = 0;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return CF_OK;
    b = sqlite3_column_blob(st, i);
    *out_len = (size_t)sqlite3_column_bytes(st, i);
    *out = cf_arena_memdup(a, b ? b : "", *out_len);
    return *out ? CF_OK : CF_ERR_NOMEM;
}

static cf_status read_row(sqlite3_stmt *st, cf_arena *a, store_import_token *out)
{
    bool oom = false;
    cf_status ret;
    out->owner = store_sq_col_text(st, 0, a, false, &oom);
    out->created = sqlite3_column_int64(st, 1);
    out->expires = sqlite3_column_int64(st, 2);
    out->key_size = sqlite3_column_int(st, 3);
    out->max_uses = sqlite3_column_int(st, 4);
    out->uses = sqlite3_column_int(st, 5);
    out->revision = sqlite3_column_int64(st, 8);
    ret = col_blob(st, 6, a, &out->public_key, &out->public_key_len);
    if (ret == CF_OK)
        ret = col_blob(st, 7, a, &out->private_key, &out->private_key_len);
    return ret == CF_OK && oom ? CF_ERR_NOMEM : ret;
}

cf_status store_sq_import_token_get(store *base, const char *tenant, const char *id,
                                    cf_arena *a, store_import_token *out)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = prepare(s, "SELECT owner, created, expires, key_size, max_uses, uses,"
                                  " public_key, private_key, revision FROM import_tokens"
                                  " WHERE tenant = ?1 AND id = ?2");
    cf_status ret;
    int rc;

    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, tenant);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 2, id);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->tenant = cf_arena_strndup(a, tenant, strlen(tenant));
        out->id = cf_arena_strndup(a, id, strlen(id));
        ret = read_row(st, a, out);
        if (ret == CF_OK && (out->tenant == NULL || out->id == NULL))
            ret = CF_ERR_NOMEM;
    } else {
        ret = rc == SQLITE_DONE ? CF_ERR_NOT_FOUND : store_sq_error(s, rc, "import token get");
    }
    sqlite3_finalize(st);
    return ret;
}

cf_status store_sq_import_token_purge(store *base, const char *tenant, int64_t before)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st =
        prepare(s, "DELETE FROM import_tokens WHERE tenant = ?1 AND expires < ?2");
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, tenant);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, before);
    return exec_done(s, st, rc, NULL);
}
