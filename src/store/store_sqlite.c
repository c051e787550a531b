/*
 * store_sqlite.c - the embedded SQLite back end.
 *
 * One sqlite3 connection per store handle (one per worker thread), opened
 * with SQLITE_OPEN_NOMUTEX since a handle is never shared. WAL journal with
 * synchronous=FULL: a commit is fsync'd before it returns, so an answered
 * request is durable. Concurrent writers from other workers wait on the
 * busy timeout. Every statement is prepared once per connection and reset
 * after use.
 *
 * Schema: meta('schema_version') says which version a database holds. A new
 * database gets the current schema at once; an older one is brought forward
 * by the steps of `migrations`, each in the same transaction as the version
 * bump (every connection opening the database runs this under BEGIN
 * IMMEDIATE, so exactly one of them migrates). Version 3 added tenants and
 * identities (store_sqlite_ident.c); a version 2 database gains the tables
 * and a tenant row for every tenant its objects name. Version 4 added the
 * versions of root keys and per-tenant settings (store_sqlite_versions.c),
 * version 5 the audit trail (store_sqlite_audit.c), version 6 the BYOK
 * import tokens (store_sqlite_tokens.c), version 7 the listing's index
 * objects(tenant).
 *
 * Search: object_index holds one row per searchable attribute value (the
 * core derives them: store.h), keyed by the object's rowid and rewritten in
 * the transaction that writes the object. store_object_find
 * (store_sqlite_find.c) builds one statement: the most selective criterion
 * drives through an index on (tenant, name, value), every other one is a
 * correlated EXISTS probing (oid, name), so the cost follows the candidates
 * rather than the objects. Values are always bound, never spliced into SQL.
 */
#include "store/store_sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCHEMA_VERSION 7

static const char *const meta_sql =
    "CREATE TABLE IF NOT EXISTS meta("
    "  k TEXT PRIMARY KEY NOT NULL,"
    "  v BLOB NOT NULL);";

/* A tenant's objects newest first (that is (tenant, rowid)): the listing
 * without criteria (REST GET /v1/keys) reads one page instead of sorting
 * every object of the tenant (4.7 s a page at 10^6 keys without it). */
#define STORE_SQ_OBJECTS_TENANT_INDEX "CREATE INDEX IF NOT EXISTS objects_tenant ON objects(tenant);"

/* The current schema, for a new database. */
static const char *const schema_sql =
    "CREATE TABLE objects("
    "  id INTEGER PRIMARY KEY,"
    "  tenant TEXT NOT NULL,"
    "  uid TEXT NOT NULL,"
    "  object_type INTEGER NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  owner TEXT NOT NULL,"
    "  algorithm INTEGER NOT NULL,"
    "  length INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  revision INTEGER NOT NULL,"
    "  attrs BLOB NOT NULL,"
    "  key_format INTEGER NOT NULL,"
    "  material BLOB,"
    "  UNIQUE(tenant, uid));"
    "CREATE INDEX objects_state ON objects(tenant, state);"
    "CREATE INDEX objects_owner ON objects(tenant, owner);"
    "CREATE INDEX objects_type ON objects(tenant, object_type, algorithm);"
    STORE_SQ_OBJECTS_TENANT_INDEX
    /* tval is always a BLOB (bound so), so that comparisons are bytewise. */
    "CREATE TABLE object_index("
    "  oid INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,"
    "  tenant TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  ival INTEGER,"
    "  tval BLOB);"
    "CREATE INDEX object_index_oid ON object_index(oid, name);"
    "CREATE INDEX object_index_text ON object_index(tenant, name, tval, ival, oid)"
    "  WHERE tval IS NOT NULL;"
    "CREATE INDEX object_index_int ON object_index(tenant, name, ival, oid)"
    "  WHERE ival IS NOT NULL;"
    STORE_SQ_IDENT_SCHEMA
    STORE_SQ_VER_SCHEMA
    STORE_SQ_AUDIT_SCHEMA
    STORE_SQ_TOKEN_SCHEMA;

/* Upgrade steps: `sql` brings a database at version `from` to from + 1.
 * Version 1 (object_names) cannot be upgraded here: the attribute index is
 * derived from the attribute blobs, which only the core can read; there
 * were no deployments of it. */
static const struct migration {
    int from;
    const char *sql;
} migrations[] = {
    /* 2 -> 3: tenants and identities; the objects' tenants become rows. */
    {2, STORE_SQ_IDENT_SCHEMA
        "INSERT INTO tenants(id, name, created, state)"
        "  SELECT DISTINCT tenant, tenant, CAST(strftime('%s', 'now') AS INTEGER), 1 FROM objects;"},
    /* 3 -> 4: versions of root keys and per-tenant settings; existing keys
     * have no version rows (their object material is version 1). */
    {3, STORE_SQ_VER_SCHEMA},
    /* 4 -> 5: the audit trail (store_sqlite_audit.c). */
    {4, STORE_SQ_AUDIT_SCHEMA},
    /* 5 -> 6: BYOK import tokens (store_sqlite_tokens.c). */
    {5, STORE_SQ_TOKEN_SCHEMA},
    /* 6 -> 7: the listing's index (below). */
    {6, STORE_SQ_OBJECTS_TENANT_INDEX},
};

enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_INSERT,
    ST_UPDATE,
    ST_GET,
    ST_DELETE,
    ST_COUNT,
    ST_INDEX_DELETE,
    ST_INDEX_DELETE_UID,
    ST_INDEX_INSERT,
    ST_META_GET,
    ST_META_INSERT,
    ST_COUNT_OF_STMTS
};

static const char *const stmt_sql[ST_COUNT_OF_STMTS] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_INSERT] = "INSERT INTO objects(tenant, uid, object_type, state, owner, algorithm,"
                  " length, created, updated, revision, attrs, material, key_format)"
                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [ST_UPDATE] = "UPDATE objects SET object_type = ?3, state = ?4, owner = ?5, algorithm = ?6,"
                  " length = ?7, updated = ?9, revision = ?10, attrs = ?11, material = ?12,"
                  " key_format = ?13"
                  " WHERE tenant = ?1 AND uid = ?2 AND revision = ?10 - 1 RETURNING id",
    [ST_GET] = "SELECT object_type, state, owner, algorithm, length, created, updated,"
               " revision, attrs, material, key_format FROM objects WHERE tenant = ?1 AND uid = ?2",
    [ST_DELETE] = "DELETE FROM objects WHERE tenant = ?1 AND uid = ?2",
    [ST_COUNT] = "SELECT count(*) FROM objects WHERE tenant = ?1",
    [ST_INDEX_DELETE] = "DELETE FROM object_index WHERE oid = ?1",
    [ST_INDEX_DELETE_UID] = "DELETE FROM object_index WHERE oid ="
                            " (SELECT id FROM objects WHERE tenant = ?1 AND uid = ?2)",
    [ST_INDEX_INSERT] = "INSERT INTO object_index(oid, tenant, name, ival, tval)"
                        " VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [ST_META_INSERT] = "INSERT INTO meta(k, v) VALUES(?1, ?2)",
};

static struct store_sqlite *sq(store *s) { return (struct store_sqlite *)s; }

static cf_status sq_error(struct store_sqlite *s, int rc, const char *what)
{
    return store_sq_error(s, rc, what);
}

/* Prepared statement ready to bind: reset and unbound. */
static sqlite3_stmt *sq_stmt(struct store_sqlite *s, enum stmt_id id)
{
    sqlite3_stmt *st = s->stmt[id];
    if (st == NULL) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL)
            != SQLITE_OK) {
            CF_LOGE("sqlite prepare: %s", sqlite3_errmsg(s->db));
            return NULL;
        }
        s->stmt[id] = st;
    }
    return st;
}

static void sq_done(sqlite3_stmt *st) { store_sq_done(st); }

static cf_status sq_exec_simple(struct store_sqlite *s, enum stmt_id id)
{
    sqlite3_stmt *st = sq_stmt(s, id);
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = sqlite3_step(st);
    sq_done(st);
    return rc == SQLITE_DONE ? CF_OK : sq_error(s, rc, stmt_sql[id]);
}

/*
 * Write transactions of this process are serialised by a mutex before
 * SQLite sees them. SQLite allows one writer at a time anyway; without the
 * mutex, workers contending for its lock wait in its busy handler, which
 * sleeps in steps of up to 100 ms and let one worker starve for seconds
 * under a burst of Creates (measured: p99 of 3 s with 2 workers). The mutex
 * hands the lock over in FIFO-ish order at once. The busy timeout still
 * covers other processes sharing the file. Held from BEGIN to COMMIT or
 * ROLLBACK; a failed COMMIT keeps it until the caller's rollback.
 */
static pthread_mutex_t sq_write_lock = PTHREAD_MUTEX_INITIALIZER;

static int sq_exec(struct store_sqlite *s, const char *sql);

/* Commits of this process, numbered under sq_write_lock (store.h). */
static _Atomic uint64_t sq_commits;

static cf_status sq_begin(store *base)
{
    struct store_sqlite *s = sq(base);
    cf_status st;
    pthread_mutex_lock(&sq_write_lock);
    st = sq_exec_simple(s, ST_BEGIN);
    if (st == CF_OK)
        s->in_tx = 1;
    else
        pthread_mutex_unlock(&sq_write_lock);
    return st;
}

/* COMMIT, then fn and the commit's number while the lock is still held:
 * whatever fn writes (the audit mirror) and a store_sync that sees this
 * number both come after the commit's WAL frames were written. */
static cf_status sq_commit_then(store *base, void (*fn)(void *arg), void *arg)
{
    struct store_sqlite *s = sq(base);
    cf_status st = sq_exec_simple(s, ST_COMMIT);
    if (st == CF_OK) {
        s->in_tx = 0;
        if (fn != NULL)
            fn(arg);
        s->last_commit = atomic_fetch_add(&sq_commits, 1) + 1;
        pthread_mutex_unlock(&sq_write_lock);
    }
    return st;
}

static cf_status sq_commit(store *base) { return sq_commit_then(base, NULL, NULL); }

static void sq_rollback(store *base)
{
    struct store_sqlite *s = sq(base);
    if (!s->in_tx)
        return;
    (void)sq_exec_simple(s, ST_ROLLBACK);
    s->in_tx = 0;
    pthread_mutex_unlock(&sq_write_lock);
}

static uint64_t sq_last_commit(store *base) { return sq(base)->last_commit; }

/* Deferred: commits write their WAL frames without fsync; no connection
 * checkpoints by itself (a checkpoint on a worker would stall its clients
 * for the copy and two fsyncs): the committer does both (store.h). */
static cf_status sq_deferred_sync(store *base, bool on)
{
    struct store_sqlite *s = sq(base);
    const char *sql = on ? "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
                         : "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=1000;";
    if (sq_exec(s, sql) != SQLITE_OK)
        return CF_ERR_STORE;
    s->deferred = on;
    return CF_OK;
}

/* fdatasync of the WAL through a descriptor of our own: Linux writes back
 * every dirty page of the file, whichever descriptor wrote it. The -wal
 * file exists while any connection is open and is only ever truncated or
 * rewritten in place, so the descriptor stays valid. An in-memory
 * database has nothing to sync. */
static cf_status sq_sync(store *base, uint64_t *out_synced)
{
    struct store_sqlite *s = sq(base);
    uint64_t upto = atomic_load(&sq_commits);
    const char *db;
    char path[4096];

    *out_synced = 0;
    /* The descriptor is opened by the first call, on the connection's own
     * thread (core's committer does it before its syncer thread starts);
     * later calls only read wal_fd, from another thread too. */
    if (s->wal_fd < 0 && !s->wal_none && (db = sqlite3_db_filename(s->db, "main")) != NULL &&
        *db != '\0') {
        if ((size_t)snprintf(path, sizeof path, "%s-wal", db) >= sizeof path)
            return CF_ERR_IO;
        s->wal_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->wal_fd < 0) {
            CF_LOGE("sqlite: cannot open %s to sync it: %s", path, strerror(errno));
            return CF_ERR_IO;
        }
    }
    if (s->wal_fd < 0)
        s->wal_none = true; /* in memory: nothing to sync, ever */
    if (s->wal_fd >= 0 && fdatasync(s->wal_fd) != 0) {
        CF_LOGE("sqlite: fdatasync of the WAL failed: %s", strerror(errno));
        return CF_ERR_IO;
    }
    *out_synced = upto;
    return CF_OK;
}

static cf_status sq_checkpoint(store *base)
{
    struct store_sqlite *s = sq(base);
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
        return sq_error(s, rc, "wal checkpoint");
    return CF_OK;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v) { return store_sq_bind_text(st, i, v); }

static int bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
    return store_sq_bind_blob(st, i, p, n);
}

/* Bind the 13 columns shared by INSERT and UPDATE. */
static int bind_object(sqlite3_stmt *st, const store_object *o)
{
    int rc = bind_text(st, 1, o->tenant);
    if (rc == SQLITE_OK) rc = bind_text(st, 2, o->uid);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, o->object_type);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, o->state);
    if (rc == SQLITE_OK) rc = bind_text(st, 5, o->owner);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 6, o->algorithm);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 7, o->length);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 8, o->created);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 9, o->updated);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 10, o->revision);
    if (rc == SQLITE_OK) rc = bind_blob(st, 11, o->attrs, o->attrs_len);
    if (rc == SQLITE_OK) rc = bind_blob(st, 12, o->material, o->material_len);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 13, o->key_format);
    return rc;
}

/* Replace the index rows of object `oid` by o's entries. */
static cf_status sq_index_replace(struct store_sqlite *s, int64_t oid, const store_object *o)
{
    sqlite3_stmt *st = sq_stmt(s, ST_INDEX_DELETE);
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    sqlite3_bind_int64(st, 1, oid);
    rc = sqlite3_step(st);
    sq_done(st);
    if (rc != SQLITE_DONE)
        return sq_error(s, rc, "index delete");
    if ((st = sq_stmt(s, ST_INDEX_INSERT)) == NULL)
        return CF_ERR_STORE;
    for (size_t i = 0; i < o->n_index; i++) {
        const store_index_entry *e = &o->index[i];
        if (e->name == NULL || (!e->has_int && e->text == NULL))
            continue;
        rc = sqlite3_bind_int64(st, 1, oid);
        if (rc == SQLITE_OK) rc = bind_text(st, 2, o->tenant);
        if (rc == SQLITE_OK) rc = bind_text(st, 3, e->name);
        if (rc == SQLITE_OK)
            rc = e->has_int ? sqlite3_bind_int64(st, 4, e->ival) : sqlite3_bind_null(st, 4);
        if (rc == SQLITE_OK) rc = bind_blob(st, 5, e->text, e->text_len);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        sq_done(st);
        if (rc != SQLITE_DONE)
            return sq_error(s, rc, "index insert");
    }
    return CF_OK;
}

/* INSERT, or UPDATE ... RETURNING id (no row: the revision moved on). */
static cf_status sq_write_object(struct store_sqlite *s, enum stmt_id id, const store_object *o)
{
    sqlite3_stmt *st = sq_stmt(s, id);
    int64_t oid = 0;
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = bind_object(st, o);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (id == ST_UPDATE && rc == SQLITE_ROW) {
        oid = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    } else if (id == ST_UPDATE && rc == SQLITE_DONE) {
        sq_done(st);
        return CF_ERR_CONFLICT;
    }
    sq_done(st);
    if (rc != SQLITE_DONE)
        return sq_error(s, rc, stmt_sql[id]);
    if (id == ST_INSERT)
        oid = sqlite3_last_insert_rowid(s->db);
    return sq_index_replace(s, oid, o);
}

static cf_status sq_object_insert(store *base, const store_object *o)
{
    return sq_write_object(sq(base), ST_INSERT, o);
}

static cf_status sq_object_update(store *base, const store_object *o)
{
    return sq_write_object(sq(base), ST_UPDATE, o);
}

static const char *col_text(sqlite3_stmt *st, int i, cf_arena *a)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    return t ? cf_arena_strndup(a, (const char *)t, (size_t)n) : cf_arena_strndup(a, "", 0);
}

static const uint8_t *col_blob(sqlite3_stmt *st, int i, cf_arena *a, size_t *out_len)
{
    const void *b = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    *out_len = 0;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    *out_len = (size_t)n;
    return cf_arena_memdup(a, b ? b : "", (size_t)n);
}

static cf_status sq_object_get(store *base, const char *tenant, const char *uid, cf_arena *a,
                               store_object *o)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, ST_GET);
    cf_status ret = CF_OK;
    int rc;

    memset(o, 0, sizeof *o);
    if (st == NULL)
        return CF_ERR_STORE;
    bind_text(st, 1, tenant);
    bind_text(st, 2, uid);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        ret = CF_ERR_NOT_FOUND;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        ret = sq_error(s, rc, "object get");
        goto out;
    }
    o->tenant = cf_arena_strndup(a, tenant, strlen(tenant));
    o->uid = cf_arena_strndup(a, uid, strlen(uid));
    o->object_type = (uint32_t)sqlite3_column_int64(st, 0);
    o->state = (uint32_t)sqlite3_column_int64(st, 1);
    o->owner = col_text(st, 2, a);
    o->algorithm = (uint32_t)sqlite3_column_int64(st, 3);
    o->length = (int32_t)sqlite3_column_int64(st, 4);
    o->created = sqlite3_column_int64(st, 5);
    o->updated = sqlite3_column_int64(st, 6);
    o->revision = sqlite3_column_int64(st, 7);
    o->attrs = col_blob(st, 8, a, &o->attrs_len);
    o->material = col_blob(st, 9, a, &o->material_len);
    o->key_format = (uint32_t)sqlite3_column_int64(st, 10);
    if (!o->tenant || !o->uid || !o->owner || !o->attrs ||
        (sqlite3_column_type(st, 9) != SQLITE_NULL && !o->material))
        ret = CF_ERR_NOMEM;
out:
    sq_done(st);
    return ret;
}

static cf_status sq_exec_uid(struct store_sqlite *s, enum stmt_id id, const char *tenant,
                             const char *uid)
{
    sqlite3_stmt *st = sq_stmt(s, id);
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    bind_text(st, 1, tenant);
    bind_text(st, 2, uid);
    rc = sqlite3_step(st);
    sq_done(st);
    return rc == SQLITE_DONE ? CF_OK : sq_error(s, rc, stmt_sql[id]);
}

static cf_status sq_object_delete(store *base, const char *tenant, const char *uid)
{
    struct store_sqlite *s = sq(base);
    cf_status st;
    /* Index rows first (explicitly: the foreign key's cascade would do it,
     * but the order must not depend on the foreign_keys pragma). */
    if ((st = sq_exec_uid(s, ST_INDEX_DELETE_UID, tenant, uid)) != CF_OK)
        return st;
    if ((st = store_sq_versions_delete_object(s, tenant, uid)) != CF_OK)
        return st;
    if ((st = sq_exec_uid(s, ST_DELETE, tenant, uid)) != CF_OK)
        return st;
    return sqlite3_changes(s->db) == 1 ? CF_OK : CF_ERR_NOT_FOUND;
}

static cf_status sq_object_count(store *base, const char *tenant, int64_t *out)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, ST_COUNT);
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    bind_text(st, 1, tenant);
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sq_done(st);
    return rc == SQLITE_ROW ? CF_OK : sq_error(s, rc, "count");
}

static cf_status sq_meta_get(store *base, const char *key, cf_arena *a, const uint8_t **out,
                             size_t *out_len)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, ST_META_GET);
    cf_status ret = CF_OK;
    int rc;
    *out = NULL;
    *out_len = 0;
    if (st == NULL)
        return CF_ERR_STORE;
    bind_text(st, 1, key);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = col_blob(st, 0, a, out_len);
        if (*out == NULL)
            ret = CF_ERR_NOMEM;
    } else {
        ret = rc == SQLITE_DONE ? CF_ERR_NOT_FOUND : sq_error(s, rc, "meta get");
    }
    sq_done(st);
    return ret;
}

static cf_status sq_meta_insert(store *base, const char *key, const uint8_t *val, size_t len)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, ST_META_INSERT);
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    bind_text(st, 1, key);
    bind_blob(st, 2, val, len);
    rc = sqlite3_step(st);
    sq_done(st);
    return rc == SQLITE_DONE ? CF_OK : sq_error(s, rc, "meta insert");
}

static cf_status sq_object_find(store *base, const store_query *q, cf_arena *a,
                                const char ***out_uids, size_t *out_n, int64_t *out_total)
{
    return store_sqlite_find(sq(base)->db, q, a, out_uids, out_n, out_total);
}

/* ------------------------------------------------------------------ schema */

static int sq_exec(struct store_sqlite *s, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        CF_LOGE("sqlite schema (%.24s...): %s", sql, err ? err : sqlite3_errmsg(s->db));
    sqlite3_free(err);
    return rc;
}

/* The database's schema version, 0 for a new database. */
static cf_status sq_schema_version(struct store_sqlite *s, int *out)
{
    sqlite3_stmt *st = sq_stmt(s, ST_META_GET);
    int rc;
    *out = 0;
    if (st == NULL)
        return CF_ERR_STORE;
    bind_text(st, 1, "schema_version");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    sq_done(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CF_OK : sq_error(s, rc, "schema version");
}

static cf_status sq_schema_set(struct store_sqlite *s, int version)
{
    sqlite3_stmt *st = NULL;
    char v[16];
    int rc;
    snprintf(v, sizeof v, "%d", version);
    rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(k, v) VALUES('schema_version', ?1)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 1, v);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? CF_OK : sq_error(s, rc, "schema version set");
}

/* Create or upgrade the schema in one transaction. */
static cf_status sq_schema(struct store_sqlite *s)
{
    cf_status st;
    int v = 0;

    /* The write lock first (BEGIN IMMEDIATE waits in the busy handler):
     * creating meta in autocommit mode would read, then try to write, and
     * fail at once with SQLITE_BUSY when another connection (a second node
     * opening the same new database) wrote in between. */
    if (sq_exec(s, "BEGIN IMMEDIATE") != SQLITE_OK)
        return CF_ERR_STORE;
    st = sq_exec(s, meta_sql) == SQLITE_OK ? sq_schema_version(s, &v) : CF_ERR_STORE;
    if (st == CF_OK && v == 0)
        st = sq_exec(s, schema_sql) == SQLITE_OK ? sq_schema_set(s, v = SCHEMA_VERSION)
                                                 : CF_ERR_STORE;
    while (st == CF_OK && v < SCHEMA_VERSION) {
        const struct migration *m = NULL;
        for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++)
            if (migrations[i].sql != NULL && migrations[i].from == v)
                m = &migrations[i];
        if (m == NULL) {
            CF_LOGE("store schema version %d cannot be upgraded to %d: use a new data directory",
                    v, SCHEMA_VERSION);
            st = CF_ERR_STORE;
        } else if (sq_exec(s, m->sql) != SQLITE_OK) {
            st = CF_ERR_STORE;
        } else {
            st = sq_schema_set(s, ++v);
        }
    }
    if (st == CF_OK && v > SCHEMA_VERSION) {
        CF_LOGE("store schema version %d is newer than this server's (%d)", v, SCHEMA_VERSION);
        st = CF_ERR_STORE;
    }
    if (st == CF_OK && sq_exec(s, "COMMIT") == SQLITE_OK)
        return CF_OK;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st == CF_OK ? CF_ERR_STORE : st;
}

static void sq_close(store *base)
{
    struct store_sqlite *s = sq(base);
    sq_rollback(base);
    for (int i = 0; i < ST_COUNT_OF_STMTS; i++)
        sqlite3_finalize(s->stmt[i]);
    for (int i = 0; i < STORE_SQ_IDENT_STMTS; i++)
        sqlite3_finalize(s->ident[i]);
    for (int i = 0; i < STORE_SQ_VER_STMTS; i++)
        sqlite3_finalize(s->ver[i]);
    for (int i = 0; i < STORE_SQ_AUDIT_STMTS; i++)
        sqlite3_finalize(s->audit[i]);
    sqlite3_close(s->db);
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    free(s);
}

/* A tenant goes with its key versions, settings and import tokens (same
 * transaction). */
static cf_status sq_tenant_delete(store *base, const char *id)
{
    cf_status st = store_sq_versions_delete_tenant(sq(base), id);
    if (st == CF_OK)
        st = store_sq_import_token_purge(base, id, INT64_MAX);
    return st == CF_OK ? store_sq_tenant_delete(base, id) : st;
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .commit_then = sq_commit_then,
    .last_commit = sq_last_commit,
    .deferred_sync = sq_deferred_sync,
    .sync = sq_sync,
    .checkpoint = sq_checkpoint,
    .object_insert = sq_object_insert,
    .object_update = sq_object_update,
    .object_get = sq_object_get,
    .object_delete = sq_object_delete,
    .object_count = sq_object_count,
    .object_find = sq_object_find,
    .meta_get = sq_meta_get,
    .meta_insert = sq_meta_insert,
    .tenant_insert = store_sq_tenant_insert,
    .tenant_update = store_sq_tenant_update,
    .tenant_get = store_sq_tenant_get,
    .tenant_list = store_sq_tenant_list,
    .tenant_delete = sq_tenant_delete,
    .identity_insert = store_sq_identity_insert,
    .identity_update = store_sq_identity_update,
    .identity_get = store_sq_identity_get,
    .identity_delete = store_sq_identity_delete,
    .identity_list = store_sq_identity_list,
    .auth_by_id = store_sq_auth_by_id,
    .auth_by_cert = store_sq_auth_by_cert,
    .auth_by_ca = store_sq_auth_by_ca,
    .version_insert = store_sq_version_insert,
    .version_get = store_sq_version_get,
    .version_update = store_sq_version_update,
    .version_list = store_sq_version_list,
    .setting_get = store_sq_setting_get,
    .setting_put = store_sq_setting_put,
    .audit_append = store_sq_audit_append,
    .audit_query = store_sq_audit_query,
    .audit_head = store_sq_audit_head,
    .audit_chains = store_sq_audit_chains,
    .audit_checkpoints = store_sq_audit_checkpoints,
    .import_token_insert = store_sq_import_token_insert,
    .import_token_get = store_sq_import_token_get,
    .import_token_update = store_sq_import_token_update,
    .import_token_purge = store_sq_import_token_purge,
};

/* WAL mode. Switching a new database to WAL needs it to itself, and
 * SQLite answers SQLITE_BUSY at once rather than through the busy
 * handler: when several connections (nodes) open a new database together,
 * retry for up to the busy timeout. */
static int sq_wal(struct store_sqlite *s)
{
    int rc = SQLITE_BUSY;
    for (int i = 0; i < 1000 && (rc & 0xff) == SQLITE_BUSY; i++) {
        if (i > 0)
            sqlite3_sleep(10);
        rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK)
        CF_LOGE("sqlite journal_mode=WAL: %s", sqlite3_errmsg(s->db));
    return rc;
}

static cf_status sq_setup(struct store_sqlite *s)
{
    static const char *const pragmas =
        "PRAGMA synchronous=FULL;"
        "PRAGMA foreign_keys=ON;"
        "PRAGMA secure_delete=ON;"
        "PRAGMA temp_store=MEMORY;"
        /* 16 MiB of page cache per connection (default 2 MiB): the hot
         * pages of the object and attribute indexes stay in memory. */
        "PRAGMA cache_size=-16384;";
    sqlite3_busy_timeout(s->db, 10000);
    if (sq_wal(s) != SQLITE_OK || sq_exec(s, pragmas) != SQLITE_OK)
        return CF_ERR_STORE;
    return sq_schema(s);
}

cf_status store_sqlite_open(const char *path, store **out)
{
    struct store_sqlite *s;
    cf_status st;
    int rc;

    *out = NULL;
    s = calloc(1, sizeof *s + ST_COUNT_OF_STMTS * sizeof s->stmt[0]);
    if (s == NULL)
        return CF_ERR_NOMEM;
    s->base.ops = &sqlite_ops;
    s->wal_fd = -1;
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        CF_LOGE("sqlite open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sq_close(&s->base);
        return CF_ERR_STORE;
    }
    if ((st = sq_setup(s)) != CF_OK) {
        sq_close(&s->base);
        return st;
    }
    *out = &s->base;
    return CF_OK;
}
