/* store_int.h - the back-end interface behind store.h. */
#ifndef CF_STORE_INT_H
#define CF_STORE_INT_H

#include "store/store.h"

struct store_ops {
    const char *name;
    void (*close)(store *s);
    cf_status (*begin)(store *s);
    cf_status (*commit)(store *s);
    void (*rollback)(store *s);
    cf_status (*commit_then)(store *s, void (*fn)(void *arg), void *arg);
    uint64_t (*last_commit)(store *s);
    cf_status (*deferred_sync)(store *s, bool on);
    cf_status (*sync)(store *s, uint64_t *out_synced);
    cf_status (*checkpoint)(store *s);
    cf_status (*object_insert)(store *s, const store_object *o);
    cf_status (*object_update)(store *s, const store_object *o);
    cf_status (*object_get)(store *s, const char *tenant, const char *uid, cf_arena *a,
                            store_object *out);
    cf_status (*object_delete)(store *s, const char *tenant, const char *uid);
    cf_status (*object_count)(store *s, const char *tenant, int64_t *out);
    cf_status (*object_find)(store *s, const store_query *q, cf_arena *a,
                             const char ***out_uids, size_t *out_n, int64_t *out_total);
    cf_status (*meta_get)(store *s, const char *key, cf_arena *a, const uint8_t **out,
                          size_t *out_len);
    cf_status (*meta_insert)(store *s, const char *key, const uint8_t *val, size_t len);
    /* tenants and identities */
    cf_status (*tenant_insert)(store *s, const store_tenant *t);
    cf_status (*tenant_update)(store *s, const store_tenant *t);
    cf_status (*tenant_get)(store *s, const char *id, cf_arena *a, store_tenant *out);
    cf_status (*tenant_list)(store *s, int64_t offset, int64_t limit, cf_arena *a,
                             store_tenant **out, size_t *out_n, int64_t *out_total);
    cf_status (*tenant_delete)(store *s, const char *id);
    cf_status (*identity_insert)(store *s, const store_identity *i);
    cf_status (*identity_update)(store *s, const store_identity *i);
    cf_status (*identity_get)(store *s, const char *tenant, const char *id, cf_arena *a,
                              store_identity *out);
    cf_status (*identity_delete)(store *s, const char *tenant, const char *id);
    cf_status (*identity_list)(store *s, const char *tenant, int64_t offset, int64_t limit,
                               cf_arena *a, store_identity **out, size_t *out_n,
                               int64_t *out_total);
    cf_status (*auth_by_id)(store *s, const char *id, cf_arena *a, store_identity *out);
    cf_status (*auth_by_cert)(store *s, const uint8_t *sha256, cf_arena *a, store_identity *out);
    cf_status (*auth_by_ca)(store *s, const uint8_t *ca_sha256, const char *subject, cf_arena *a,
                            store_identity *out);
    /* versions of root keys, per-tenant settings */
    cf_status (*version_insert)(store *s, const store_key_version *v);
    cf_status (*version_get)(store *s, const char *tenant, const char *uid, uint32_t version,
                             cf_arena *a, store_key_version *out);
    cf_status (*version_update)(store *s, const store_key_version *v);
    cf_status (*version_list)(store *s, const char *tenant, const char *uid, int64_t offset,
                              int64_t limit, cf_arena *a, store_key_version **out,
                              size_t *out_n, int64_t *out_total);
    cf_status (*setting_get)(store *s, const char *tenant, const char *key, cf_arena *a,
                             const uint8_t **out, size_t *out_len);
    cf_status (*setting_put)(store *s, const char *tenant, const char *key, const uint8_t *val,
                             size_t len);
    /* audit trail */
    cf_status (*audit_append)(store *s, const char *chain, store_audit_build_fn build,
                              void *ctx);
    cf_status (*audit_query)(store *s, const store_audit_filter *f, cf_arena *a,
                             store_audit_row **out, size_t *out_n);
    cf_status (*audit_head)(store *s, const char *chain, cf_arena *a, store_audit_head *out);
    cf_status (*audit_chains)(store *s, const char *after, int64_t limit, cf_arena *a,
                              store_audit_head **out, size_t *out_n);
    cf_status (*audit_checkpoints)(store *s, const char *chain, int64_t from_seq,
                                   int64_t to_seq, int64_t limit, cf_arena *a,
                                   store_audit_checkpoint **out, size_t *out_n);
    /* import tokens (BYOK) */
    cf_status (*import_token_insert)(store *s, const store_import_token *t);
    cf_status (*import_token_get)(store *s, const char *tenant, const char *id, cf_arena *a,
                                  store_import_token *out);
    cf_status (*import_token_update)(store *s, const store_import_token *t);
    cf_status (*import_token_purge)(store *s, const char *tenant, int64_t before);
};

/* Every back end's handle starts with this header. */
struct store {
    const struct store_ops *ops;
};

cf_status store_sqlite_open(const char *path, store **out);

/* SQLite back end, shared by store_sqlite.c and store_sqlite_find.c. */
struct sqlite3;
cf_status store_sqlite_find(struct sqlite3 *db, const store_query *q, cf_arena *a,
                            const char ***out_uids, size_t *out_n, int64_t *out_total);

#endif
