/*
 * store_sqlite_ident.c - tenants and identities in the SQLite back end.
 *
 * Same shape as the object code in store_sqlite.c: one prepared statement
 * per query (prepared on first use, reset after each), every value bound,
 * never spliced. An identity row is addressed by (tenant, id) with
 * `tenant IS ?` so that a NULL tenant addresses the operator's identities
 * and nothing else. The authentication lookups (store_sq_auth_*) are the
 * only queries that do not name a tenant; each returns one row at most
 * because the pin, the (CA, subject) rule and the id are unique.
 *
 * The identity's tenant state comes back with every read (LEFT JOIN), so
 * authentication sees a suspended or deleted tenant in the same query.
 */
#include "store/store_sqlite_int.h"

#include <string.h>

enum id_stmt {
    TS_INSERT,
    TS_UPDATE,
    TS_GET,
    TS_COUNT,
    TS_LIST,
    TS_DEL_INDEX,
    TS_DEL_OBJECTS,
    TS_DEL_IDENTITIES,
    TS_DEL_TENANT,
    IS_INSERT,
    IS_UPDATE,
    IS_GET,
    IS_DELETE,
    IS_COUNT,
    IS_LIST,
    IS_AUTH_ID,
    IS_AUTH_CERT,
    IS_AUTH_CA_EXACT,
    IS_AUTH_CA_ANY,
    ID_STMT_COUNT
};

_Static_assert(ID_STMT_COUNT <= STORE_SQ_IDENT_STMTS, "raise STORE_SQ_IDENT_STMTS");

#define IDENT_COLS                                                                                \
    "id, tenant, kind, name, role, operator, created, expires, disabled, secret_sha256,"          \
    " cert_sha256, ca_sha256, subject, any_subject, restrict_actions, restrict_uids, revision"
#define IDENT_SELECT                                                                              \
    "SELECT i.id, i.tenant, i.kind, i.name, i.role, i.operator, i.created, i.expires,"            \
    " i.disabled, i.secret_sha256, i.cert_sha256, i.ca_sha256, i.subject, i.any_subject,"         \
    " i.restrict_actions, i.restrict_uids, i.revision, ifnull(t.state, 0)"                        \
    " FROM identities i LEFT JOIN tenants t ON t.id = i.tenant"

static const char *const id_sql[ID_STMT_COUNT] = {
    [TS_INSERT] = "INSERT INTO tenants(id, name, created, state) VALUES(?1, ?2, ?3, ?4)",
    [TS_UPDATE] = "UPDATE tenants SET name = ?2, state = ?4 WHERE id = ?1",
    [TS_GET] = "SELECT name, created, state FROM tenants WHERE id = ?1",
    [TS_COUNT] = "SELECT count(*) FROM tenants",
    [TS_LIST] = "SELECT id, name, created, state FROM tenants ORDER BY id LIMIT ?2 OFFSET ?1",
    [TS_DEL_INDEX] = "DELETE FROM object_index WHERE tenant = ?1",
    [TS_DEL_OBJECTS] = "DELETE FROM objects WHERE tenant = ?1",
    [TS_DEL_IDENTITIES] = "DELETE FROM identities WHERE tenant = ?1",
    [TS_DEL_TENANT] = "DELETE FROM tenants WHERE id = ?1",
    [IS_INSERT] = "INSERT INTO identities(" IDENT_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                  " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    [IS_UPDATE] = "UPDATE identities SET name = ?4, role = ?5, expires = ?8, disabled = ?9,"
                  " secret_sha256 = ?10, cert_sha256 = ?11, ca_sha256 = ?12, subject = ?13,"
                  " any_subject = ?14, restrict_actions = ?15, restrict_uids = ?16, revision = ?17"
                  " WHERE id = ?1 AND tenant IS ?2 AND revision = ?17 - 1",
    [IS_GET] = IDENT_SELECT " WHERE i.id = ?1 AND i.tenant IS ?2",
    [IS_DELETE] = "DELETE FROM identities WHERE id = ?1 AND tenant IS ?2",
    [IS_COUNT] = "SELECT count(*) FROM identities WHERE tenant IS ?1",
    /* Oldest first, ties in insertion order (the index carries the rowid). */
    [IS_LIST] = IDENT_SELECT " WHERE i.tenant IS ?1 ORDER BY i.created, i.rowid LIMIT ?3 OFFSET ?2",
    [IS_AUTH_ID] = IDENT_SELECT " WHERE i.id = ?1",
    [IS_AUTH_CERT] = IDENT_SELECT " WHERE i.cert_sha256 = ?1",
    [IS_AUTH_CA_EXACT] = IDENT_SELECT
    " WHERE i.ca_sha256 = ?1 AND i.any_subject = 0 AND i.subject = ?2",
    [IS_AUTH_CA_ANY] = IDENT_SELECT " WHERE i.ca_sha256 = ?1 AND i.any_subject = 1",
};

static struct store_sqlite *sq(store *s) { return (struct store_sqlite *)s; }

static sqlite3_stmt *id_stmt(struct store_sqlite *s, enum id_stmt id)
{
    sqlite3_stmt *st = s->ident[id];
    if (st == NULL) {
        if (sqlite3_prepare_v3(s->db, id_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL)
            != SQLITE_OK) {
            CF_LOGE("sqlite prepare: %s", sqlite3_errmsg(s->db));
            return NULL;
        }
        s->ident[id] = st;
    }
    return st;
}

/* Run a statement that returns no row; *changes gets the rows it touched. */
static cf_status id_exec(struct store_sqlite *s, sqlite3_stmt *st, int rc, int *changes)
{
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    store_sq_done(st);
    if (changes)
        *changes = sqlite3_changes(s->db);
    return rc == SQLITE_DONE ? CF_OK : store_sq_error(s, rc, "identities");
}

/* ------------------------------------------------------------ tenants */

static int bind_tenant(sqlite3_stmt *st, const store_tenant *t)
{
    int rc = store_sq_bind_text(st, 1, t->id);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 2, t->name);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, t->created);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, t->state);
    return rc;
}

cf_status store_sq_tenant_insert(store *base, const store_tenant *t)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = id_stmt(s, TS_INSERT);
    if (st == NULL)
        return CF_ERR_STORE;
    return id_exec(s, st, bind_tenant(st, t), NULL);
}

cf_status store_sq_tenant_update(store *base, const store_tenant *t)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = id_stmt(s, TS_UPDATE);
    int changes = 0;
    cf_status rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = id_exec(s, st, bind_tenant(st, t), &changes);
    return rc == CF_OK && changes == 0 ? CF_ERR_NOT_FOUND : rc;
}

static cf_status read_tenant(sqlite3_stmt *st, int first, cf_arena *a, store_tenant *out)
{
    bool oom = false;
    out->name = store_sq_col_text(st, first, a, false, &oom);
    out->created = sqlite3_column_int64(st, first + 1);
    out->state = (uint32_t)sqlite3_column_int64(st, first + 2);
    return oom ? CF_ERR_NOMEM : CF_OK;
}

cf_status store_sq_tenant_get(store *base, const char *id, cf_arena *a, store_tenant *out)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = id_stmt(s, TS_GET);
    cf_status ret;
    int rc;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return CF_ERR_STORE;
    store_sq_bind_text(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        ret = read_tenant(st, 0, a, out);
        out->id = cf_arena_strndup(a, id, strlen(id));
        if (out->id == NULL)
            ret = CF_ERR_NOMEM;
    } else {
        ret = rc == SQLITE_DONE ? CF_ERR_NOT_FOUND : store_sq_error(s, rc, "tenant get");
    }
    store_sq_done(st);
    return ret;
}

/* count(*) of a one-row statement whose ?1 is text (or no parameter). */
static cf_status id_count(struct store_sqlite *s, enum id_stmt id, const char *p1, int64_t *out)
{
    sqlite3_stmt *st = id_stmt(s, id);
    int rc;
    *out = 0;
    if (st == NULL)
        return CF_ERR_STORE;
    if (sqlite3_bind_parameter_count(st) > 0)
        store_sq_bind_text(st, 1, p1);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    store_sq_done(st);
    return rc == SQLITE_ROW ? CF_OK : store_sq_error(s, rc, "count");
}

/* Rows of a listing statement into a growing arena array (never
 * allocated from a count: the limit comes from the caller). */
typedef cf_status (*row_reader)(sqlite3_stmt *st, cf_arena *a, void *slot);

static cf_status id_rows(struct store_sqlite *s, sqlite3_stmt *st, cf_arena *a, size_t elem,
                         row_reader read, void **out, size_t *out_n)
{
    size_t n = 0, cap = 0;
    uint8_t *arr = NULL;
    cf_status ret = CF_OK;
    int rc;

    while (ret == CF_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint8_t *bigger = cf_arena_alloc(a, ncap * elem);
            if (bigger == NULL) {
                ret = CF_ERR_NOMEM;
                break;
            }
            if (n)
                memcpy(bigger, arr, n * elem);
            arr = bigger;
            cap = ncap;
        }
        memset(arr + n * elem, 0, elem);
        ret = read(st, a, arr + n * elem);
        n++;
    }
    if (ret == CF_OK && rc != SQLITE_DONE)
        ret = store_sq_error(s, rc, "list");
    store_sq_done(st);
    *out = ret == CF_OK ? arr : NULL;
    *out_n = ret == CF_OK ? n : 0;
    return ret;
}

static cf_status tenant_row(sqlite3_stmt *st, cf_arena *a, void *slot)
{
    store_tenant *t = slot;
    bool oom = false;
    t->id = store_sq_col_text(st, 0, a, false, &oom);
    if (oom)
        return CF_ERR_NOMEM;
    return read_tenant(st, 1, a, t);
}

cf_status store_sq_tenant_list(store *base, int64_t offset, int64_t limit, cf_arena *a,
                               store_tenant **out, size_t *out_n, int64_t *out_total)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st;
    void *rows = NULL;
    cf_status rc;

    if ((rc = id_count(s, TS_COUNT, NULL, out_total)) != CF_OK)
        return rc;
    if ((st = id_stmt(s, TS_LIST)) == NULL)
        return CF_ERR_STORE;
    sqlite3_bind_int64(st, 1, offset);
    sqlite3_bind_int64(st, 2, limit < 0 ? -1 : limit);
    rc = id_rows(s, st, a, sizeof(store_tenant), tenant_row, &rows, out_n);
    *out = rows;
    return rc;
}

cf_status store_sq_tenant_delete(store *base, const char *id)
{
    static const enum id_stmt steps[] = {TS_DEL_INDEX, TS_DEL_OBJECTS, TS_DEL_IDENTITIES,
                                         TS_DEL_TENANT};
    struct store_sqlite *s = sq(base);
    int changes = 0;
    cf_status rc = CF_OK;

    /* Index rows first, explicitly (as store_object_delete does), then the
     * rows that reference the tenant, then the tenant. */
    for (size_t i = 0; rc == CF_OK && i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_stmt *st = id_stmt(s, steps[i]);
        if (st == NULL)
            return CF_ERR_STORE;
        rc = id_exec(s, st, store_sq_bind_text(st, 1, id), &changes);
    }
    return rc == CF_OK && changes == 0 ? CF_ERR_NOT_FOUND : rc;
}

/* --------------------------------------------------------- identities */

static int bind_identity(sqlite3_stmt *st, const store_identity *i)
{
    bool any = i->ca_sha256 != NULL && i->subject == NULL;
    int rc = store_sq_bind_text(st, 1, i->id);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 2, i->tenant);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, i->kind);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 4, i->name);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5, i->role);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 6, i->is_operator);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 7, i->created);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 8, i->expires);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 9, i->disabled);
    if (rc == SQLITE_OK) rc = store_sq_bind_blob(st, 10, i->secret_sha256, 32);
    if (rc == SQLITE_OK) rc = store_sq_bind_blob(st, 11, i->cert_sha256, 32);
    if (rc == SQLITE_OK) rc = store_sq_bind_blob(st, 12, i->ca_sha256, 32);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 13, i->subject ? i->subject : "");
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 14, any);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 15, (int64_t)i->restrict_actions);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 16, i->restrict_uids);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 17, i->revision);
    return rc;
}

/* A 32-byte hash column (NULL stays NULL; another length is damage). */
static const uint8_t *col_hash(sqlite3_stmt *st, int i, cf_arena *a, bool *bad)
{
    const void *b = sqlite3_column_blob(st, i);
    uint8_t *c;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    if (b == NULL || sqlite3_column_bytes(st, i) != 32) {
        *bad = true;
        return NULL;
    }
    if ((c = cf_arena_memdup(a, b, 32)) == NULL)
        *bad = true;
    return c;
}

static cf_status identity_row(sqlite3_stmt *st, cf_arena *a, void *slot)
{
    store_identity *o = slot;
    bool oom = false, bad = false;

    o->id = store_sq_col_text(st, 0, a, false, &oom);
    o->tenant = store_sq_col_text(st, 1, a, true, &oom);
    o->kind = (uint32_t)sqlite3_column_int64(st, 2);
    o->name = store_sq_col_text(st, 3, a, false, &oom);
    o->role = (uint32_t)sqlite3_column_int64(st, 4);
    o->is_operator = sqlite3_column_int(st, 5) != 0;
    o->created = sqlite3_column_int64(st, 6);
    o->expires = sqlite3_column_int64(st, 7);
    o->disabled = sqlite3_column_int(st, 8) != 0;
    o->secret_sha256 = col_hash(st, 9, a, &bad);
    o->cert_sha256 = col_hash(st, 10, a, &bad);
    o->ca_sha256 = col_hash(st, 11, a, &bad);
    o->subject = NULL;
    if (o->ca_sha256 != NULL && sqlite3_column_int(st, 13) == 0)
        o->subject = store_sq_col_text(st, 12, a, false, &oom);
    o->restrict_actions = (uint64_t)sqlite3_column_int64(st, 14);
    o->restrict_uids = store_sq_col_text(st, 15, a, true, &oom);
    o->revision = sqlite3_column_int64(st, 16);
    o->tenant_state = (uint32_t)sqlite3_column_int64(st, 17);
    if (oom)
        return CF_ERR_NOMEM;
    if (bad) {
        CF_LOGE("identity %s: a fingerprint column is damaged", o->id);
        return CF_ERR_STORE;
    }
    return CF_OK;
}

/* Step a one-row identity query already bound; CF_ERR_NOT_FOUND if none. */
static cf_status identity_one(struct store_sqlite *s, sqlite3_stmt *st, int bind_rc, cf_arena *a,
                              store_identity *out)
{
    cf_status ret;
    int rc = bind_rc;

    memset(out, 0, sizeof *out);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        ret = identity_row(st, a, out);
    else
        ret = rc == SQLITE_DONE ? CF_ERR_NOT_FOUND : store_sq_error(s, rc, "identity get");
    store_sq_done(st);
    return ret;
}

cf_status store_sq_identity_insert(store *base, const store_identity *i)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = id_stmt(s, IS_INSERT);
    if (st == NULL)
        return CF_ERR_STORE;
    return id_exec(s, st, bind_identity(st, i), NULL);
}

cf_status store_sq_identity_update(store *base, const store_identity *i)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = id_stmt(s, IS_UPDATE);
    int changes = 0;
    cf_status rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = id_exec(s, st, bind_identity(st, i), &changes);
    return rc == CF_OK && changes == 0 ? CF_ERR_CONFLICT : rc;
}

cf_status store_sq_identity_get(store *base, const char *tenant, const char *id, cf_arena *a,
                                store_identity *out)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = id_stmt(s, IS_GET);
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, id);
    if (rc == SQLITE_OK)
        rc = store_sq_bind_text(st, 2, tenant);
    return identity_one(s, st, rc, a, out);
}

cf_status store_sq_identity_delete(store *base, const char *tenant, const char *id)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = id_stmt(s, IS_DELETE);
    int changes = 0, rc;
    cf_status ret;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, id);
    if (rc == SQLITE_OK)
        rc = store_sq_bind_text(st, 2, tenant);
    ret = id_exec(s, st, rc, &changes);
    return ret == CF_OK && changes == 0 ? CF_ERR_NOT_FOUND : ret;
}

cf_status store_sq_identity_list(store *base, const char *tenant, int64_t offset, int64_t limit,
                                 cf_arena *a, store_identity **out, size_t *out_n,
                                 int64_t *out_total)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st;
    void *rows = NULL;
    cf_status rc;

    if ((rc = id_count(s, IS_COUNT, tenant, out_total)) != CF_OK)
        return rc;
    if ((st = id_stmt(s, IS_LIST)) == NULL)
        return CF_ERR_STORE;
    store_sq_bind_text(st, 1, tenant);
    sqlite3_bind_int64(st, 2, offset);
    sqlite3_bind_int64(st, 3, limit < 0 ? -1 : limit);
    rc = id_rows(s, st, a, sizeof(store_identity), identity_row, &rows, out_n);
    *out = rows;
    return rc;
}

/* ------------------------------------------------- authentication lookups */

cf_status store_sq_auth_by_id(store *base, const char *id, cf_arena *a, store_identity *out)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = id_stmt(s, IS_AUTH_ID);
    if (st == NULL)
        return CF_ERR_STORE;
    return identity_one(s, st, store_sq_bind_text(st, 1, id), a, out);
}

cf_status store_sq_auth_by_cert(store *base, const uint8_t *sha256, cf_arena *a,
                                store_identity *out)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = id_stmt(s, IS_AUTH_CERT);
    if (st == NULL)
        return CF_ERR_STORE;
    return identity_one(s, st, store_sq_bind_blob(st, 1, sha256, 32), a, out);
}

cf_status store_sq_auth_by_ca(store *base, const uint8_t *ca_sha256, const char *subject,
                              cf_arena *a, store_identity *out)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = id_stmt(s, IS_AUTH_CA_EXACT);
    cf_status ret;
    int rc;

    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_blob(st, 1, ca_sha256, 32);
    if (rc == SQLITE_OK)
        rc = store_sq_bind_text(st, 2, subject);
    ret = identity_one(s, st, rc, a, out);
    if (ret != CF_ERR_NOT_FOUND)
        return ret;
    if ((st = id_stmt(s, IS_AUTH_CA_ANY)) == NULL)
        return CF_ERR_STORE;
    return identity_one(s, st, store_sq_bind_blob(st, 1, ca_sha256, 32), a, out);
}
