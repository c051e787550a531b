/*
 * store_sqlite_int.h - what the SQLite back end's files share: the handle,
 * the tenants/identities schema (part of the current schema and of the
 * version 2 -> 3 migration), and small binding helpers.
 *
 * store_sqlite.c owns the connection, transactions, objects and schema
 * versions; store_sqlite_ident.c the tenants and identities tables, with
 * its own prepared statements in `ident` (finalized by store_sqlite.c's
 * close).
 */
#ifndef CF_STORE_SQLITE_INT_H
#define CF_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store_int.h"
#include "util/log.h"

/* Prepared statements of store_sqlite_ident.c and store_sqlite_versions.c. */
#define STORE_SQ_IDENT_STMTS 24
#define STORE_SQ_VER_STMTS 12
/* Prepared statements of store_sqlite_audit.c. */
#define STORE_SQ_AUDIT_STMTS 8

struct store_sqlite {
    struct store base;
    sqlite3 *db;
    int in_tx;
    bool deferred;             /* synchronous=NORMAL, synced by store_sync */
    int wal_fd;                /* the -wal file, for store_sync (-1: not open) */
    bool wal_none;             /* no file to sync (in-memory database) */
    uint64_t last_commit;      /* number of this connection's last commit */
    sqlite3_stmt *ident[STORE_SQ_IDENT_STMTS];
    sqlite3_stmt *ver[STORE_SQ_VER_STMTS];
    sqlite3_stmt *audit[STORE_SQ_AUDIT_STMTS];
    sqlite3_stmt *stmt[];      /* store_sqlite.c's statements */
};

/*
 * Schema version 3: tenants and identities. Identities of a tenant are
 * keyed (tenant, id); the operator's have tenant NULL (a CHECK ties it to
 * the operator flag). A certificate maps to at most one identity across
 * every tenant: unique pin, unique (CA, subject) rule and at most one
 * any-subject rule per CA (subject '' with any_subject = 1; an exact rule
 * for an empty subject has any_subject = 0). Times are seconds since the
 * epoch; expires 0 means never.
 */
#define STORE_SQ_IDENT_SCHEMA                                                                     \
    "CREATE TABLE tenants("                                                                       \
    "  id TEXT PRIMARY KEY NOT NULL,"                                                             \
    "  name TEXT NOT NULL,"                                                                       \
    "  created INTEGER NOT NULL,"                                                                 \
    "  state INTEGER NOT NULL);"                                                                  \
    "CREATE TABLE identities("                                                                    \
    "  id TEXT PRIMARY KEY NOT NULL,"                                                             \
    "  tenant TEXT REFERENCES tenants(id),"                                                       \
    "  kind INTEGER NOT NULL,"                                                                    \
    "  name TEXT NOT NULL,"                                                                       \
    "  role INTEGER NOT NULL,"                                                                    \
    "  operator INTEGER NOT NULL,"                                                                \
    "  created INTEGER NOT NULL,"                                                                 \
    "  expires INTEGER NOT NULL,"                                                                 \
    "  disabled INTEGER NOT NULL,"                                                                \
    "  secret_sha256 BLOB,"                                                                       \
    "  cert_sha256 BLOB,"                                                                         \
    "  ca_sha256 BLOB,"                                                                           \
    "  subject TEXT NOT NULL,"                                                                    \
    "  any_subject INTEGER NOT NULL,"                                                             \
    "  restrict_actions INTEGER NOT NULL,"                                                        \
    "  restrict_uids TEXT,"                                                                       \
    "  revision INTEGER NOT NULL,"                                                                \
    "  CHECK ((tenant IS NULL) = (operator = 1)));"                                               \
    "CREATE INDEX identities_tenant ON identities(tenant, created);"                               \
    "CREATE UNIQUE INDEX identities_cert ON identities(cert_sha256)"                              \
    "  WHERE cert_sha256 IS NOT NULL;"                                                            \
    "CREATE UNIQUE INDEX identities_ca ON identities(ca_sha256, any_subject, subject)"            \
    "  WHERE ca_sha256 IS NOT NULL;"

/*
 * Schema version 4: versions of root keys and per-tenant settings
 * (store_sqlite_versions.c). A version row is keyed (tenant, uid, version)
 * like its object (no foreign key: objects are keyed by rowid; the object
 * and tenant delete paths remove the rows explicitly). material is NULL
 * once the version is destroyed.
 */
#define STORE_SQ_VER_SCHEMA                                                                       \
    "CREATE TABLE key_versions("                                                                  \
    "  tenant TEXT NOT NULL,"                                                                     \
    "  uid TEXT NOT NULL,"                                                                        \
    "  version INTEGER NOT NULL,"                                                                 \
    "  created INTEGER NOT NULL,"                                                                 \
    "  destroyed INTEGER NOT NULL,"                                                               \
    "  material BLOB,"                                                                            \
    "  uses_reserved INTEGER NOT NULL,"                                                           \
    "  revision INTEGER NOT NULL,"                                                                \
    "  PRIMARY KEY(tenant, uid, version)) WITHOUT ROWID;"                                         \
    "CREATE TABLE tenant_settings("                                                               \
    "  tenant TEXT NOT NULL,"                                                                     \
    "  k TEXT NOT NULL,"                                                                          \
    "  v BLOB NOT NULL,"                                                                          \
    "  PRIMARY KEY(tenant, k)) WITHOUT ROWID;"

/* store_sqlite_versions.c: the store_ops entries for versions and settings,
 * and the rows the object and tenant delete paths remove with them. */
cf_status store_sq_version_insert(store *s, const store_key_version *v);
cf_status store_sq_version_get(store *s, const char *tenant, const char *uid, uint32_t version,
                               cf_arena *a, store_key_version *out);
cf_status store_sq_version_update(store *s, const store_key_version *v);
cf_status store_sq_version_list(store *s, const char *tenant, const char *uid, int64_t offset,
                                int64_t limit, cf_arena *a, store_key_version **out,
                                size_t *out_n, int64_t *out_total);
cf_status store_sq_setting_get(store *s, const char *tenant, const char *key, cf_arena *a,
                               const uint8_t **out, size_t *out_len);
cf_status store_sq_setting_put(store *s, const char *tenant, const char *key,
                               const uint8_t *val, size_t len);
cf_status store_sq_versions_delete_object(struct store_sqlite *s, const char *tenant,
                                          const char *uid);
cf_status store_sq_versions_delete_tenant(struct store_sqlite *s, const char *tenant);

/*
 * Schema version 5: the audit trail (store_sqlite_audit.c). Records are
 * keyed (chain, seq) and never updated; time is in milliseconds. No
 * foreign key to tenants: deleting a tenant keeps its audit. A chain's
 * head row holds its last seq and hash (read and advanced in each append
 * transaction) and its latest checkpoint.
 */
#define STORE_SQ_AUDIT_SCHEMA                                                                     \
    "CREATE TABLE IF NOT EXISTS audit_records("                                                                 \
    "  chain TEXT NOT NULL,"                                                                      \
    "  seq INTEGER NOT NULL,"                                                                     \
    "  time INTEGER NOT NULL,"                                                                    \
    "  identity TEXT,"                                                                            \
    "  operation TEXT NOT NULL,"                                                                  \
    "  object TEXT,"                                                                              \
    "  result TEXT NOT NULL,"                                                                     \
    "  hmac_name TEXT,"                                                                           \
    "  hmac_aad TEXT,"                                                                            \
    "  hash TEXT NOT NULL,"                                                                       \
    "  record TEXT NOT NULL,"                                                                     \
    "  PRIMARY KEY(chain, seq));"                                                                 \
    "CREATE INDEX IF NOT EXISTS audit_records_time ON audit_records(chain, time);"                              \
    "CREATE INDEX IF NOT EXISTS audit_records_object ON audit_records(chain, object) WHERE object IS NOT NULL;" \
    "CREATE INDEX IF NOT EXISTS audit_records_identity ON audit_records(chain, identity)"                       \
    "  WHERE identity IS NOT NULL;"                                                               \
    "CREATE INDEX IF NOT EXISTS audit_records_name ON audit_records(chain, hmac_name)"                          \
    "  WHERE hmac_name IS NOT NULL;"                                                              \
    "CREATE TABLE IF NOT EXISTS audit_heads("                                                                   \
    "  chain TEXT PRIMARY KEY NOT NULL,"                                                          \
    "  seq INTEGER NOT NULL,"                                                                     \
    "  hash TEXT NOT NULL,"                                                                       \
    "  cp_seq INTEGER NOT NULL,"                                                                  \
    "  cp_time INTEGER NOT NULL) WITHOUT ROWID;"                                                  \
    "CREATE TABLE IF NOT EXISTS audit_checkpoints("                                                             \
    "  chain TEXT NOT NULL,"                                                                      \
    "  seq INTEGER NOT NULL,"                                                                     \
    "  time INTEGER NOT NULL,"                                                                    \
    "  checkpoint TEXT NOT NULL,"                                                                 \
    "  PRIMARY KEY(chain, seq));"

/* store_sqlite_audit.c: the store_ops entries for the audit trail. */
cf_status store_sq_audit_append(store *s, const char *chain,
                                store_audit_build_fn build, void *ctx);
cf_status store_sq_audit_query(store *s, const store_audit_filter *f, cf_arena *a,
                               store_audit_row **out, size_t *out_n);
cf_status store_sq_audit_head(store *s, const char *chain, cf_arena *a, store_audit_head *out);
cf_status store_sq_audit_chains(store *s, const char *after, int64_t limit, cf_arena *a,
                                store_audit_head **out, size_t *out_n);
cf_status store_sq_audit_checkpoints(store *s, const char *chain, int64_t from_seq,
                                     int64_t to_seq, int64_t limit, cf_arena *a,
                                     store_audit_checkpoint **out, size_t *out_n);

/*
 * Schema version 6: BYOK import tokens (store_sqlite_tokens.c). Keyed
 * (tenant, id); private_key (sealed by the core) is NULL once the token is
 * used up. Expired rows are purged through (tenant, expires).
 */
#define STORE_SQ_TOKEN_SCHEMA                                                                     \
    "CREATE TABLE IF NOT EXISTS import_tokens("                                                   \
    "  tenant TEXT NOT NULL,"                                                                     \
    "  id TEXT NOT NULL,"                                                                         \
    "  owner TEXT NOT NULL,"                                                                      \
    "  created INTEGER NOT NULL,"                                                                 \
    "  expires INTEGER NOT NULL,"                                                                 \
    "  key_size INTEGER NOT NULL,"                                                                \
    "  max_uses INTEGER NOT NULL,"                                                                \
    "  uses INTEGER NOT NULL,"                                                                    \
    "  public_key BLOB NOT NULL,"                                                                 \
    "  private_key BLOB,"                                                                         \
    "  revision INTEGER NOT NULL,"                                                                \
    "  PRIMARY KEY(tenant, id));"                                                                 \
    "CREATE INDEX IF NOT EXISTS import_tokens_expires ON import_tokens(tenant, expires);"

/* store_sqlite_tokens.c: the store_ops entries for import tokens, and the
 * rows the tenant delete path removes with it. */
cf_status store_sq_import_token_insert(store *s, const store_import_token *t);
cf_status store_sq_import_token_get(store *s, const char *tenant, const char *id, cf_arena *a,
                                    store_import_token *out);
cf_status store_sq_import_token_update(store *s, const store_import_token *t);
cf_status store_sq_import_token_purge(store *s, const char *tenant, int64_t before);

/* store_sqlite_ident.c: the store_ops entries for tenants and identities. */
cf_status store_sq_tenant_insert(store *s, const store_tenant *t);
cf_status store_sq_tenant_update(store *s, const store_tenant *t);
cf_status store_sq_tenant_get(store *s, const char *id, cf_arena *a, store_tenant *out);
cf_status store_sq_tenant_list(store *s, int64_t offset, int64_t limit, cf_arena *a,
                               store_tenant **out, size_t *out_n, int64_t *out_total);
cf_status store_sq_tenant_delete(store *s, const char *id);
cf_status store_sq_identity_insert(store *s, const store_identity *i);
cf_status store_sq_identity_update(store *s, const store_identity *i);
cf_status store_sq_identity_get(store *s, const char *tenant, const char *id, cf_arena *a,
                                store_identity *out);
cf_status store_sq_identity_delete(store *s, const char *tenant, const char *id);
cf_status store_sq_identity_list(store *s, const char *tenant, int64_t offset, int64_t limit,
                                 cf_arena *a, store_identity **out, size_t *out_n,
                                 int64_t *out_total);
cf_status store_sq_auth_by_id(store *s, const char *id, cf_arena *a, store_identity *out);
cf_status store_sq_auth_by_cert(store *s, const uint8_t *sha256, cf_arena *a,
                                store_identity *out);
cf_status store_sq_auth_by_ca(store *s, const uint8_t *ca_sha256, const char *subject,
                              cf_arena *a, store_identity *out);

/* ------------------------------------------------------------ helpers */

static inline cf_status store_sq_error(struct store_sqlite *s, int rc, const char *what)
{
    if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT)
        return CF_ERR_EXISTS;
    if (rc == SQLITE_NOMEM)
        return CF_ERR_NOMEM;
    CF_LOGE("sqlite %s: %s (%d)", what, sqlite3_errmsg(s->db), rc);
    return CF_ERR_STORE;
}

static inline void store_sq_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* NULL binds SQL NULL. */
static inline int store_sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static inline int store_sq_bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
    if (p == NULL)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_blob64(st, i, n ? (const void *)p : "", n, SQLITE_STATIC);
}

/* Column i as a NUL-terminated arena string; NULL stays NULL when
 * keep_null, else becomes "". *oom is set when the copy fails. */
static inline const char *store_sq_col_text(sqlite3_stmt *st, int i, cf_arena *a, bool keep_null,
                                            bool *oom)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    char *c;
    if (t == NULL && keep_null)
        return NULL;
    c = t ? cf_arena_strndup(a, (const char *)t, (size_t)n) : cf_arena_strndup(a, "", 0);
    if (c == NULL)
        *oom = true;
    return c;
}

#endif
