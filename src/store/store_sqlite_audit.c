/*
 * store_sqlite_audit.c - the audit trail in SQLite (schema version 5).
 *
 * An append runs inside a write transaction the caller opened (the
 * operation's own, or core's committer's batch): BEGIN IMMEDIATE (through
 * store_begin, so it queues on the same in-process writer mutex as every
 * other write) takes SQLite's write lock, which serialises every writer
 * of every chain: the head read inside it cannot move until COMMIT, so
 * seq and prev are always the chain's next ones, and a crash leaves either
 * the whole append or nothing. Durability is the transaction's (store.h:
 * FULL per commit, or group commit through store_sync).
 */
#include "store/store_sqlite_int.h"

#include <stdio.h>
#include <string.h>

enum audit_stmt {
    SA_HEAD,
    SA_INSERT,
    SA_HEAD_PUT,
    SA_CP_INSERT,
    SA_CHAINS,
    SA_CPS,
    SA_COUNT
};

static const char *const audit_sql[SA_COUNT] = {
    [SA_HEAD] = "SELECT seq, hash, cp_seq, cp_time FROM audit_heads WHERE chain = ?1",
    [SA_INSERT] = "INSERT INTO audit_records(chain, seq, time, identity, operation, object,"
                  " result, hmac_name, hmac_aad, hash, record)"
                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [SA_HEAD_PUT] = "INSERT INTO audit_heads(chain, seq, hash, cp_seq, cp_time)"
                    " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(chain) DO UPDATE SET"
                    " seq = excluded.seq, hash = excluded.hash, cp_seq = excluded.cp_seq,"
                    " cp_time = excluded.cp_time",
    [SA_CP_INSERT] = "INSERT OR IGNORE INTO audit_checkpoints(chain, seq, time, checkpoint)"
                     " VALUES(?1, ?2, ?3, ?4)",
    [SA_CHAINS] = "SELECT chain, seq, hash, cp_seq, cp_time FROM audit_heads"
                  " WHERE chain > ?1 ORDER BY chain LIMIT ?2",
    [SA_CPS] = "SELECT seq, time, checkpoint FROM audit_checkpoints"
               " WHERE chain = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4",
};

_Static_assert(SA_COUNT <= STORE_SQ_AUDIT_STMTS, "room for the audit statements");

static const char zero_hash[] = "0000000000000000000000000000000000000000000000000000000000000000";

static struct store_sqlite *sq(store *s) { return (struct store_sqlite *)s; }

static sqlite3_stmt *stmt(struct store_sqlite *s, enum audit_stmt id)
{
    sqlite3_stmt *st = s->audit[id];
    if (st == NULL) {
        if (sqlite3_prepare_v3(s->db, audit_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL)
            != SQLITE_OK) {
            CF_LOGE("sqlite prepare: %s", sqlite3_errmsg(s->db));
            return NULL;
        }
        s->audit[id] = st;
    }
    return st;
}

/* The chain's head into *h (strings in a); seq 0 when the chain is new. */
static cf_status head_read(struct store_sqlite *s, const char *chain, cf_arena *a,
                           store_audit_head *h)
{
    sqlite3_stmt *st = stmt(s, SA_HEAD);
    bool oom = false;
    int rc;
    memset(h, 0, sizeof *h);
    h->chain = chain;
    h->hash = zero_hash;
    if (st == NULL)
        return CF_ERR_STORE;
    store_sq_bind_text(st, 1, chain);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        h->seq = sqlite3_column_int64(st, 0);
        h->hash = store_sq_col_text(st, 1, a, false, &oom);
        h->cp_seq = sqlite3_column_int64(st, 2);
        h->cp_time_ms = sqlite3_column_int64(st, 3);
    }
    store_sq_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sq_error(s, rc, "audit head");
    return oom ? CF_ERR_NOMEM : rc == SQLITE_ROW ? CF_OK : CF_ERR_NOT_FOUND;
}

static cf_status insert_record(struct store_sqlite *s, const store_audit_row *r)
{
    sqlite3_stmt *st = stmt(s, SA_INSERT);
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, r->chain);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, r->seq);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, r->time_ms);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 4, r->identity);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 5, r->operation);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 6, r->object);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 7, r->result);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 8, r->hmac_name);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 9, r->hmac_aad);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 10, r->hash);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text64(st, 11, r->json, r->json_len, SQLITE_STATIC, SQLITE_UTF8);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    store_sq_done(st);
    if (rc == SQLITE_DONE)
        return CF_OK;
    /* Any failure, a taken (chain, seq) included, is a store failure: it
     * is a broken invariant, not a duplicate the caller could resolve. */
    CF_LOGE("sqlite audit insert: %s (%d)", sqlite3_errmsg(s->db), rc);
    return rc == SQLITE_NOMEM ? CF_ERR_NOMEM : CF_ERR_STORE;
}

static cf_status insert_checkpoint(struct store_sqlite *s, const store_audit_checkpoint *cp)
{
    sqlite3_stmt *st = stmt(s, SA_CP_INSERT);
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, cp->chain);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, cp->seq);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, cp->time_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text64(st, 4, cp->json, cp->json_len, SQLITE_STATIC, SQLITE_UTF8);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    store_sq_done(st);
    return rc == SQLITE_DONE ? CF_OK : store_sq_error(s, rc, "audit checkpoint");
}

static cf_status head_put(struct store_sqlite *s, const store_audit_head *h)
{
    sqlite3_stmt *st = stmt(s, SA_HEAD_PUT);
    int rc;
    if (st == NULL)
        return CF_ERR_STORE;
    rc = store_sq_bind_text(st, 1, h->chain);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, h->seq);
    if (rc == SQLITE_OK) rc = store_sq_bind_text(st, 3, h->hash);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, h->cp_seq);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5, h->cp_time_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    store_sq_done(st);
    return rc == SQLITE_DONE ? CF_OK : store_sq_error(s, rc, "audit head update");
}

/* Inside the transaction: head, build, writes. */
static cf_status append_body(struct store_sqlite *s, const char *chain, cf_arena *a,
                             store_audit_build_fn build, void *ctx)
{
    store_audit_head h;
    store_audit_row row = {0};
    store_audit_checkpoint cp = {0};
    cf_status st = head_read(s, chain, a, &h);

    if (st != CF_OK && st != CF_ERR_NOT_FOUND)
        return st;
    if ((st = build(ctx, &h, &row, &cp)) != CF_OK)
        return st;
    if (row.json != NULL) {
        if (row.seq != h.seq + 1 || row.chain == NULL || strcmp(row.chain, chain) != 0 ||
            row.hash == NULL)
            return CF_ERR_INTERNAL;
        if ((st = insert_record(s, &row)) != CF_OK)
            return st;
        h.seq = row.seq;
        h.hash = row.hash;
    }
    if (cp.json != NULL) {
        if (cp.seq < 1 || cp.seq > h.seq || cp.chain == NULL || strcmp(cp.chain, chain) != 0)
            return CF_ERR_INTERNAL;
        if ((st = insert_checkpoint(s, &cp)) != CF_OK)
            return st;
        if (cp.seq >= h.cp_seq) { /* an export may sign an older record */
            h.cp_seq = cp.seq;
            h.cp_time_ms = cp.time_ms;
        }
    }
    if (row.json == NULL && cp.json == NULL)
        return CF_OK;
    return head_put(s, &h);
}

cf_status store_sq_audit_append(store *base, const char *chain, store_audit_build_fn build,
                                void *ctx)
{
    struct store_sqlite *s = sq(base);
    cf_arena *a;
    cf_status st;

    if (!s->in_tx)
        return CF_ERR_INTERNAL; /* store.h: inside store_begin only */
    if ((a = cf_arena_new(1024, 0)) == NULL)
        return CF_ERR_NOMEM;
    st = append_body(s, chain, a, build, ctx);
    cf_arena_free(a);
    return st;
}

/* ---------------------------------------------------------------- reads */

/* Room for one more element of `size` bytes in *arr (n used of *cap),
 * grown in the arena with the rows actually read. */
static bool grow(cf_arena *a, void **arr, size_t n, size_t *cap, size_t size)
{
    void *g;
    if (n < *cap)
        return true;
    *cap = *cap ? *cap * 2 : 32;
    if ((g = cf_arena_alloc(a, *cap * size)) == NULL)
        return false;
    if (n)
        memcpy(g, *arr, n * size);
    *arr = g;
    return true;
}

static void col_row(sqlite3_stmt *st, cf_arena *a, store_audit_row *r, bool *oom)
{
    r->chain = store_sq_col_text(st, 0, a, false, oom);
    r->seq = sqlite3_column_int64(st, 1);
    r->time_ms = sqlite3_column_int64(st, 2);
    r->identity = store_sq_col_text(st, 3, a, true, oom);
    r->operation = store_sq_col_text(st, 4, a, false, oom);
    r->object = store_sq_col_text(st, 5, a, true, oom);
    r->result = store_sq_col_text(st, 6, a, false, oom);
    r->hmac_name = store_sq_col_text(st, 7, a, true, oom);
    r->hmac_aad = store_sq_col_text(st, 8, a, true, oom);
    r->hash = store_sq_col_text(st, 9, a, false, oom);
    r->json = store_sq_col_text(st, 10, a, false, oom);
    r->json_len = r->json ? strlen(r->json) : 0;
}

/* The query's SQL: fixed parameter numbers, a condition per field set. */
static void query_sql(const store_audit_filter *f, char *sql, size_t size)
{
    static const char *const conds[] = {
        " AND seq <= ?3", " AND time >= ?4", " AND time <= ?5", " AND object = ?6",
        " AND identity = ?7", " AND operation = ?8", " AND result = ?9",
        " AND hmac_name = ?10", " AND hmac_aad = ?11",
    };
    const bool on[] = {f->to_seq > 0, f->from_ms > 0, f->to_ms > 0, f->object != NULL,
                       f->identity != NULL, f->operation != NULL, f->result != NULL,
                       f->hmac_name != NULL, f->hmac_aad != NULL};
    size_t n = (size_t)snprintf(sql, size,
                                "SELECT chain, seq, time, identity, operation, object, result,"
                                " hmac_name, hmac_aad, hash, record FROM audit_records"
                                " WHERE chain = ?1 AND seq > ?2");
    for (size_t i = 0; i < sizeof conds / sizeof conds[0] && n < size; i++)
        if (on[i])
            n += (size_t)snprintf(sql + n, size - n, "%s", conds[i]);
    if (n < size)
        snprintf(sql + n, size - n, " ORDER BY seq LIMIT ?12");
}

static int query_bind(sqlite3_stmt *st, const store_audit_filter *f)
{
    int rc = store_sq_bind_text(st, 1, f->chain);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, f->after_seq);
    if (rc == SQLITE_OK && f->to_seq > 0) rc = sqlite3_bind_int64(st, 3, f->to_seq);
    if (rc == SQLITE_OK && f->from_ms > 0) rc = sqlite3_bind_int64(st, 4, f->from_ms);
    if (rc == SQLITE_OK && f->to_ms > 0) rc = sqlite3_bind_int64(st, 5, f->to_ms);
    if (rc == SQLITE_OK && f->object) rc = store_sq_bind_text(st, 6, f->object);
    if (rc == SQLITE_OK && f->identity) rc = store_sq_bind_text(st, 7, f->identity);
    if (rc == SQLITE_OK && f->operation) rc = store_sq_bind_text(st, 8, f->operation);
    if (rc == SQLITE_OK && f->result) rc = store_sq_bind_text(st, 9, f->result);
    if (rc == SQLITE_OK && f->hmac_name) rc = store_sq_bind_text(st, 10, f->hmac_name);
    if (rc == SQLITE_OK && f->hmac_aad) rc = store_sq_bind_text(st, 11, f->hmac_aad);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 12, f->limit);
    return rc;
}

cf_status store_sq_audit_query(store *base, const store_audit_filter *f, cf_arena *a,
                               store_audit_row **out, size_t *out_n)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = NULL;
    char sql[768];
    size_t cap = 0, n = 0;
    store_audit_row *rows = NULL;
    bool oom = false;
    int rc;

    query_sql(f, sql, sizeof sql);
    rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = query_bind(st, f);
    while (rc == SQLITE_OK && !oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow(a, (void **)&rows, n, &cap, sizeof *rows)) {
            oom = true;
            break;
        }
        col_row(st, a, &rows[n++], &oom);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (oom)
        return CF_ERR_NOMEM;
    if (rc != SQLITE_DONE)
        return store_sq_error(s, rc, "audit query");
    *out = rows;
    *out_n = n;
    return CF_OK;
}

cf_status store_sq_audit_head(store *base, const char *chain, cf_arena *a, store_audit_head *out)
{
    cf_status st = head_read(sq(base), chain, a, out);
    if (st == CF_OK && (out->chain = cf_arena_strndup(a, chain, strlen(chain))) == NULL)
        st = CF_ERR_NOMEM;
    return st;
}

cf_status store_sq_audit_chains(store *base, const char *after, int64_t limit, cf_arena *a,
                                store_audit_head **out, size_t *out_n)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = stmt(s, SA_CHAINS);
    store_audit_head *h = NULL;
    size_t n = 0, cap = 0;
    bool oom = false;
    int rc = SQLITE_DONE;

    if (st == NULL)
        return CF_ERR_STORE;
    store_sq_bind_text(st, 1, after ? after : "");
    sqlite3_bind_int64(st, 2, limit);
    while (!oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow(a, (void **)&h, n, &cap, sizeof *h)) {
            oom = true;
            break;
        }
        h[n].chain = store_sq_col_text(st, 0, a, false, &oom);
        h[n].seq = sqlite3_column_int64(st, 1);
        h[n].hash = store_sq_col_text(st, 2, a, false, &oom);
        h[n].cp_seq = sqlite3_column_int64(st, 3);
        h[n].cp_time_ms = sqlite3_column_int64(st, 4);
        n++;
    }
    store_sq_done(st);
    if (!oom && rc != SQLITE_DONE)
        return store_sq_error(s, rc, "audit chains");
    *out = h;
    *out_n = n;
    return oom ? CF_ERR_NOMEM : CF_OK;
}

cf_status store_sq_audit_checkpoints(store *base, const char *chain, int64_t from_seq,
                                     int64_t to_seq, int64_t limit, cf_arena *a,
                                     store_audit_checkpoint **out, size_t *out_n)
{
    struct store_sqlite *s = sq(base);
    sqlite3_stmt *st = stmt(s, SA_CPS);
    store_audit_checkpoint *c = NULL;
    size_t n = 0, cap = 0;
    bool oom = false;
    int rc = SQLITE_DONE;

    if (st == NULL)
        return CF_ERR_STORE;
    store_sq_bind_text(st, 1, chain);
    sqlite3_bind_int64(st, 2, from_seq);
    sqlite3_bind_int64(st, 3, to_seq > 0 ? to_seq : INT64_MAX);
    sqlite3_bind_int64(st, 4, limit);
    while (!oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow(a, (void **)&c, n, &cap, sizeof *c)) {
            oom = true;
            break;
        }
        c[n].chain = chain;
        c[n].seq = sqlite3_column_int64(st, 0);
        c[n].time_ms = sqlite3_column_int64(st, 1);
        c[n].json = store_sq_col_text(st, 2, a, false, &oom);
        c[n].json_len = c[n].json ? strlen(c[n].json) : 0;
        n++;
    }
    store_sq_done(st);
    if (!oom && rc != SQLITE_DONE)
        return store_sq_error(s, rc, "audit checkpoints");
    *out = c;
    *out_n = n;
    return oom ? CF_ERR_NOMEM : CF_OK;
}
