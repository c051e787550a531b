/*
 * store_sqlite_find.c - the SQLite back end's search (store_object_find).
 *
 * One statement per page, assembled from constant fragments with every
 * value bound as a parameter:
 *
 *   SELECT o.uid FROM objects o
 *   WHERE +o.tenant = ?
 *     AND o.id IN (SELECT x.oid FROM object_index x      -- the driver
 *                  WHERE x.tenant = ? AND x.name = ? AND x.tval = ?)
 *     AND EXISTS (SELECT 1 FROM object_index x           -- each other one
 *                 WHERE x.oid = o.id AND x.name = ? AND ...)
 *     AND (1 AND +o.state <> ?)                          -- row columns
 *   ORDER BY o.id DESC LIMIT ? OFFSET ?
 *
 * The driver is the criterion most likely to be selective (text equality,
 * then integer equality, prefix, range); it is read from the covering
 * indexes (tenant, name, tval, ival, oid) and (tenant, name, ival, oid),
 * and the other criteria are probes
 * of (oid, name) for each candidate. Unary '+' keeps the planner from
 * preferring a low-selectivity column index (tenant, state) over the driver:
 * without statistics it cannot tell. A Unique Identifier criterion needs no
 * driver: (tenant, uid) is the table's key.
 *
 * The page is read newest first and stops at its limit (no window or sort
 * over every match: SQLite walks the driver's rowids backwards). The total
 * then follows from the page when it is short; a full page (or an empty
 * one past the start) needs a second statement, SELECT count(*) with the
 * same WHERE clause.
 */
#include "store/store_int.h"

#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "util/log.h"

static cf_status find_error(sqlite3 *db, int rc, const char *what)
{
    if (rc == SQLITE_NOMEM)
        return CF_ERR_NOMEM;
    CF_LOGE("sqlite %s: %s (%d)", what, sqlite3_errmsg(db), rc);
    return CF_ERR_STORE;
}

static const char *find_text(sqlite3_stmt *st, int i, cf_arena *a)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    return t ? cf_arena_strndup(a, (const char *)t, (size_t)n) : cf_arena_strndup(a, "", 0);
}

enum find_kind { BIND_INT, BIND_BLOB, BIND_TEXT };

struct find_bind {
    enum find_kind kind;
    int64_t i;
    const void *p;
    size_t n;
};

/* A WHERE clause under construction: SQL text and its parameters, in order.
 * Only constant fragments go into the text; every value is a parameter. */
struct find_sql {
    cf_buf sql;
    struct find_bind *b;
    size_t nb, cap;
    cf_arena *a;
    bool bad;     /* a criterion the back end cannot express */
};

static void fs_add(struct find_sql *f, const char *text)
{
    cf_buf_append(&f->sql, text, strlen(text));
}

static void fs_bind(struct find_sql *f, enum find_kind kind, int64_t i, const void *p, size_t n)
{
    if (f->nb == f->cap) {
        f->sql.failed = true;
        return;
    }
    f->b[f->nb++] = (struct find_bind){kind, i, p, n};
    fs_add(f, "?");
}

static void fs_int(struct find_sql *f, int64_t v) { fs_bind(f, BIND_INT, v, NULL, 0); }
static void fs_blob(struct find_sql *f, const void *p, size_t n) { fs_bind(f, BIND_BLOB, 0, p, n); }

/* " AND <col> <op>" for the integer part of c. */
static void fs_int_cond(struct find_sql *f, const char *col, const store_criterion *c)
{
    if (c->int_op == STORE_INT_ANY)
        return;
    fs_add(f, " AND ");
    switch (c->int_op) {
    case STORE_INT_EQ:
    case STORE_INT_NE:
        fs_add(f, col);
        fs_add(f, c->int_op == STORE_INT_EQ ? " = " : " <> ");
        fs_int(f, c->lo);
        break;
    case STORE_INT_RANGE:
        fs_add(f, col);
        fs_add(f, " BETWEEN ");
        fs_int(f, c->lo);
        fs_add(f, " AND ");
        fs_int(f, c->hi);
        break;
    case STORE_INT_MASK:
        fs_add(f, "(");
        fs_add(f, col);
        fs_add(f, " & ");
        fs_int(f, c->lo);
        fs_add(f, ") = ");
        fs_int(f, c->lo);
        break;
    default:
        f->bad = true;
    }
}

/* Prefix as a range [p, p with its last byte + 1) so the index serves it. */
static void fs_prefix(struct find_sql *f, const char *col, const uint8_t *p, size_t n)
{
    uint8_t *upper;
    if (n == 0)
        return;
    fs_add(f, " AND ");
    if (p[n - 1] == 0xFF || (upper = cf_arena_memdup(f->a, p, n)) == NULL) {
        fs_add(f, "substr(");
        fs_add(f, col);
        fs_add(f, ", 1, ");
        fs_int(f, (int64_t)n);
        fs_add(f, ") = ");
        fs_blob(f, p, n);
        return;
    }
    upper[n - 1]++;
    fs_add(f, col);
    fs_add(f, " >= ");
    fs_blob(f, p, n);
    fs_add(f, " AND ");
    fs_add(f, col);
    fs_add(f, " < ");
    fs_blob(f, upper, n);
}

/* " AND <col> <op>" for the byte part of c (index rows: tval is a BLOB). */
static void fs_text_cond(struct find_sql *f, const char *col, const store_criterion *c)
{
    const uint8_t *p = c->text ? c->text : (const uint8_t *)"";
    switch (c->text_op) {
    case STORE_TEXT_ANY:
        break;
    case STORE_TEXT_EQ:
        fs_add(f, " AND ");
        fs_add(f, col);
        fs_add(f, " = ");
        fs_blob(f, p, c->text_len);
        break;
    case STORE_TEXT_PREFIX:
        fs_prefix(f, col, p, c->text_len);
        break;
    case STORE_TEXT_SUFFIX:
        if (c->text_len == 0)
            break;
        fs_add(f, " AND substr(");
        fs_add(f, col);
        fs_add(f, ", -");
        fs_int(f, (int64_t)c->text_len);
        fs_add(f, ") = ");
        fs_blob(f, p, c->text_len);
        break;
    default:
        f->bad = true;
    }
}

/* How well a criterion can drive the search through the index (0: not). */
static int fs_score(const store_criterion *c)
{
    if (c->field != STORE_FIELD_ATTR || c->negate || c->name == NULL)
        return 0;
    if (c->text_op == STORE_TEXT_EQ)
        return 4;
    if (c->int_op == STORE_INT_EQ)
        return 3;
    if (c->text_op == STORE_TEXT_PREFIX && c->text_len > 0)
        return 2;
    if (c->int_op == STORE_INT_RANGE)
        return 1;
    return 0;
}

static void fs_attr(struct find_sql *f, const char *tenant, const store_criterion *c, bool drive)
{
    bool text_drives;

    if (drive) {
        fs_add(f, " AND o.id IN (SELECT x.oid FROM object_index x WHERE x.tenant = ");
        fs_bind(f, BIND_TEXT, 0, tenant, strlen(tenant));
    } else {
        fs_add(f, c->negate ? " AND NOT EXISTS" : " AND EXISTS");
        fs_add(f, " (SELECT 1 FROM object_index x WHERE x.oid = o.id");
    }
    fs_add(f, " AND x.name = ");
    fs_bind(f, BIND_TEXT, 0, c->name, strlen(c->name));
    /* A driver reads one index: (.., tval, oid) when it matches bytes, else
     * (.., ival, oid); the other part is then only a filter ('+'). */
    text_drives = drive && (c->text_op == STORE_TEXT_EQ ||
                            (c->text_op == STORE_TEXT_PREFIX && c->text_len > 0));
    fs_int_cond(f, text_drives ? "+x.ival" : "x.ival", c);
    fs_text_cond(f, drive && !text_drives ? "+x.tval" : "x.tval", c);
    fs_add(f, ")");
}

/* A column of the object row; `plus` keeps the planner off its index when
 * another criterion drives. */
static void fs_column(struct find_sql *f, const store_criterion *c, bool plus)
{
    fs_add(f, c->negate ? " AND NOT (1" : " AND (1");
    if (c->field == STORE_FIELD_UID) {
        if (c->int_op != STORE_INT_ANY || (c->text_op != STORE_TEXT_EQ && c->text_op != STORE_TEXT_ANY))
            f->bad = true;
        if (c->text_op == STORE_TEXT_EQ) {
            fs_add(f, " AND o.uid = ");
            fs_bind(f, BIND_TEXT, 0, c->text ? (const void *)c->text : "", c->text_len);
        }
    } else {
        if (c->text_op != STORE_TEXT_ANY)
            f->bad = true;
        if (c->field == STORE_FIELD_OBJECT_TYPE)
            fs_int_cond(f, plus ? "+o.object_type" : "o.object_type", c);
        else
            fs_int_cond(f, plus ? "+o.state" : "o.state", c);
    }
    fs_add(f, ")");
}

/* The WHERE clause of q (without the word WHERE). */
static void fs_where(struct find_sql *f, const store_query *q)
{
    size_t drive = SIZE_MAX;
    int best = 0;
    bool by_uid = false;

    for (size_t i = 0; i < q->n_crit; i++) {
        int sc = fs_score(&q->crit[i]);
        by_uid |= q->crit[i].field == STORE_FIELD_UID && q->crit[i].text_op == STORE_TEXT_EQ &&
                  !q->crit[i].negate;
        if (sc > best) {
            best = sc;
            drive = i;
        }
    }
    if (by_uid) /* the (tenant, uid) key beats any attribute */
        drive = SIZE_MAX;
    fs_add(f, drive != SIZE_MAX ? "+o.tenant = " : "o.tenant = ");
    fs_bind(f, BIND_TEXT, 0, q->tenant, strlen(q->tenant));
    if (q->owner) {
        fs_add(f, " AND +o.owner = ");
        fs_bind(f, BIND_TEXT, 0, q->owner, strlen(q->owner));
    }
    for (size_t i = 0; i < q->n_crit; i++) {
        const store_criterion *c = &q->crit[i];
        if (c->field == STORE_FIELD_ATTR && c->name == NULL)
            f->bad = true;
        else if (c->field == STORE_FIELD_ATTR)
            fs_attr(f, q->tenant, c, i == drive);
        else if (c->field == STORE_FIELD_UID || c->field == STORE_FIELD_OBJECT_TYPE ||
                 c->field == STORE_FIELD_STATE)
            fs_column(f, c, drive != SIZE_MAX);
        else
            f->bad = true;
    }
}

static cf_status sq_find_prepare(sqlite3 *db, const struct find_sql *f,
                                 const char *head, const char *tail, sqlite3_stmt **out)
{
    cf_buf sql;
    int rc = SQLITE_NOMEM;
    *out = NULL;
    cf_buf_init(&sql, 0);
    cf_buf_append(&sql, head, strlen(head));
    cf_buf_append(&sql, f->sql.p, f->sql.len);
    cf_buf_append(&sql, tail, strlen(tail) + 1);
    if (!sql.failed)
        rc = sqlite3_prepare_v2(db, (const char *)sql.p, (int)sql.len, out, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < f->nb; i++) {
        const struct find_bind *b = &f->b[i];
        int at = (int)i + 1;
        if (b->kind == BIND_INT)
            rc = sqlite3_bind_int64(*out, at, b->i);
        else if (b->kind == BIND_TEXT)
            rc = sqlite3_bind_text64(*out, at, b->p, b->n, SQLITE_STATIC, SQLITE_UTF8);
        else
            rc = sqlite3_bind_blob64(*out, at, b->p, b->n, SQLITE_STATIC);
    }
    cf_buf_free(&sql);
    if (rc == SQLITE_OK)
        return CF_OK;
    sqlite3_finalize(*out);
    *out = NULL;
    return find_error(db, rc, "find prepare");
}

/* Number of matches when the page itself is empty. */
static cf_status sq_find_count(sqlite3 *db, const struct find_sql *f, int64_t *out)
{
    sqlite3_stmt *st;
    cf_status ret;
    int rc;
    if ((ret = sq_find_prepare(db, f, "SELECT count(*) FROM objects o WHERE ", "", &st)) != CF_OK)
        return ret;
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? CF_OK : find_error(db, rc, "find count");
}

/* Read the page into a growing array (arena). */
static cf_status sq_find_rows(sqlite3 *db, sqlite3_stmt *st, cf_arena *a, const char ***out,
                              size_t *out_n)
{
    const char **uids = NULL;
    size_t n = 0, cap = 0;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            const char **grown;
            cap = cap ? 2 * cap : 16;
            if (cap > SIZE_MAX / sizeof *uids || (grown = cf_arena_alloc(a, cap * sizeof *uids)) == NULL)
                return CF_ERR_NOMEM;
            if (n)
                memcpy(grown, uids, n * sizeof *uids);
            uids = grown;
        }
        if ((uids[n++] = find_text(st, 0, a)) == NULL)
            return CF_ERR_NOMEM;
    }
    if (rc != SQLITE_DONE)
        return find_error(db, rc, "find");
    *out = uids;
    *out_n = n;
    return CF_OK;
}

cf_status store_sqlite_find(sqlite3 *db, const store_query *q, cf_arena *a,
                            const char ***out_uids, size_t *out_n, int64_t *out_total)
{
    struct find_sql f = {.a = a, .cap = 4 + 6 * q->n_crit};
    sqlite3_stmt *st = NULL;
    cf_status ret;

    cf_buf_init(&f.sql, 0);
    f.b = cf_arena_alloc(a, (f.cap + 2) * sizeof *f.b);
    if (f.b == NULL) {
        ret = CF_ERR_NOMEM;
        goto out;
    }
    fs_where(&f, q);
    ret = f.bad ? CF_ERR_INVALID_FIELD : f.sql.failed ? CF_ERR_NOMEM : CF_OK;
    if (ret != CF_OK)
        goto out;
    f.b[f.nb] = (struct find_bind){BIND_INT, q->limit < 0 ? -1 : q->limit, NULL, 0};
    f.b[f.nb + 1] = (struct find_bind){BIND_INT, q->offset, NULL, 0};
    f.nb += 2;
    /* Without criteria this reads objects(tenant) newest first, no sort
     * (store_test.c test_listing_plan_has_no_sort checks the plan). */
    ret = sq_find_prepare(db, &f, "SELECT o.uid FROM objects o WHERE ",
                          " ORDER BY o.id DESC LIMIT ? OFFSET ?", &st);
    f.nb -= 2;
    if (ret == CF_OK)
        ret = sq_find_rows(db, st, a, out_uids, out_n);
    if (ret != CF_OK)
        goto out;
    /* A page that is neither full nor empty past the start tells the total
     * by itself; otherwise count (the page stops early, the count cannot). */
    if ((q->limit < 0 || (int64_t)*out_n < q->limit) && (*out_n > 0 || q->offset == 0))
        *out_total = q->offset + (int64_t)*out_n;
    else
        ret = sq_find_count(db, &f, out_total);
out:
    sqlite3_finalize(st);
    cf_buf_free(&f.sql);
    return ret;
}
