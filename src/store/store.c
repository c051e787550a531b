/* store.c - dispatch from the public store API to the chosen back end. */
#include "store/store_int.h"

#include <string.h>

cf_status store_open(const char *uri, store **out)
{
    *out = NULL;
    if (uri == NULL)
        return CF_ERR_INVALID_FIELD;
    if (strncmp(uri, "sqlite:", 7) == 0)
        return store_sqlite_open(uri + 7, out);
    if (strstr(uri, "://") != NULL)
        return CF_ERR_UNSUPPORTED; /* postgresql:// comes with the PostgreSQL back end */
    return store_sqlite_open(uri, out);
}

void store_close(store *s)
{
    if (s)
        s->ops->close(s);
}

const char *store_backend(const store *s) { return s->ops->name; }
cf_status store_begin(store *s) { return s->ops->begin(s); }
cf_status store_commit(store *s) { return s->ops->commit(s); }
void store_rollback(store *s) { s->ops->rollback(s); }
cf_status store_commit_then(store *s, void (*fn)(void *arg), void *arg)
{
    return s->ops->commit_then(s, fn, arg);
}
uint64_t store_last_commit(store *s) { return s->ops->last_commit(s); }
cf_status store_set_deferred_sync(store *s, bool on) { return s->ops->deferred_sync(s, on); }
cf_status store_sync(store *s, uint64_t *out_synced) { return s->ops->sync(s, out_synced); }
cf_status store_checkpoint(store *s) { return s->ops->checkpoint(s); }

cf_status store_object_insert(store *s, const store_object *o)
{
    return s->ops->object_insert(s, o);
}

cf_status store_object_update(store *s, const store_object *o)
{
    return s->ops->object_update(s, o);
}

cf_status store_object_get(store *s, const char *tenant, const char *uid, cf_arena *a,
                           store_object *out)
{
    return s->ops->object_get(s, tenant, uid, a, out);
}

cf_status store_object_delete(store *s, const char *tenant, const char *uid)
{
    return s->ops->object_delete(s, tenant, uid);
}

cf_status store_object_count(store *s, const char *tenant, int64_t *out)
{
    return s->ops->object_count(s, tenant, out);
}

cf_status store_object_find(store *s, const store_query *q, cf_arena *a,
                            const char ***out_uids, size_t *out_n, int64_t *out_total)
{
    *out_uids = NULL;
    *out_n = 0;
    *out_total = 0;
    if (q == NULL || q->tenant == NULL || q->offset < 0 || (q->n_crit && q->crit == NULL))
        return CF_ERR_INVALID_FIELD;
    return s->ops->object_find(s, q, a, out_uids, out_n, out_total);
}

cf_status store_meta_get(store *s, const char *key, cf_arena *a, const uint8_t **out,
                         size_t *out_len)
{
    return s->ops->meta_get(s, key, a, out, out_len);
}

cf_status store_meta_insert(store *s, const char *key, const uint8_t *val, size_t len)
{
    return s->ops->meta_insert(s, key, val, len);
}

/* ------------------------------------------------- tenants and identities */

cf_status store_tenant_insert(store *s, const store_tenant *t)
{
    if (t == NULL || t->id == NULL || t->name == NULL)
        return CF_ERR_INVALID_FIELD;
    return s->ops->tenant_insert(s, t);
}

cf_status store_tenant_update(store *s, const store_tenant *t)
{
    if (t == NULL || t->id == NULL || t->name == NULL)
        return CF_ERR_INVALID_FIELD;
    return s->ops->tenant_update(s, t);
}

cf_status store_tenant_get(store *s, const char *id, cf_arena *a, store_tenant *out)
{
    if (id == NULL)
        return CF_ERR_NOT_FOUND;
    return s->ops->tenant_get(s, id, a, out);
}

cf_status store_tenant_list(store *s, int64_t offset, int64_t limit, cf_arena *a,
                            store_tenant **out, size_t *out_n, int64_t *out_total)
{
    *out = NULL;
    *out_n = 0;
    *out_total = 0;
    if (offset < 0)
        return CF_ERR_INVALID_FIELD;
    return s->ops->tenant_list(s, offset, limit, a, out, out_n, out_total);
}

cf_status store_tenant_delete(store *s, const char *id)
{
    if (id == NULL)
        return CF_ERR_NOT_FOUND;
    return s->ops->tenant_delete(s, id);
}

/* The shape rules every back end relies on (the core checks the rest). */
static bool identity_ok(const store_identity *i)
{
    return i != NULL && i->id != NULL && i->name != NULL &&
           (i->tenant == NULL) == i->is_operator && (i->subject == NULL || i->ca_sha256 != NULL);
}

cf_status store_identity_insert(store *s, const store_identity *i)
{
    if (!identity_ok(i))
        return CF_ERR_INVALID_FIELD;
    return s->ops->identity_insert(s, i);
}

cf_status store_identity_update(store *s, const store_identity *i)
{
    if (!identity_ok(i))
        return CF_ERR_INVALID_FIELD;
    return s->ops->identity_update(s, i);
}

cf_status store_identity_get(store *s, const char *tenant, const char *id, cf_arena *a,
                             store_identity *out)
{
    if (id == NULL)
        return CF_ERR_NOT_FOUND;
    return s->ops->identity_get(s, tenant, id, a, out);
}

cf_status store_identity_delete(store *s, const char *tenant, const char *id)
{
    if (id == NULL)
        return CF_ERR_NOT_FOUND;
    return s->ops->identity_delete(s, tenant, id);
}

cf_status store_identity_list(store *s, const char *tenant, int64_t offset, int64_t limit,
                              cf_arena *a, store_identity **out, size_t *out_n,
                              int64_t *out_total)
{
    *out = NULL;
    *out_n = 0;
    *out_total = 0;
    if (offset < 0)
        return CF_ERR_INVALID_FIELD;
    return s->ops->identity_list(s, tenant, offset, limit, a, out, out_n, out_total);
}

cf_status store_auth_by_id(store *s, const char *id, cf_arena *a, store_identity *out)
{
    if (id == NULL)
        return CF_ERR_NOT_FOUND;
    return s->ops->auth_by_id(s, id, a, out);
}

cf_status store_auth_by_cert(store *s, const uint8_t sha256[32], cf_arena *a,
                             store_identity *out)
{
    if (sha256 == NULL)
        return CF_ERR_NOT_FOUND;
    return s->ops->auth_by_cert(s, sha256, a, out);
}

cf_status store_auth_by_ca(store *s, const uint8_t ca_sha256[32], const char *subject,
                           cf_arena *a, store_identity *out)
{
    if (ca_sha256 == NULL || subject == NULL)
        return CF_ERR_NOT_FOUND;
    return s->ops->auth_by_ca(s, ca_sha256, subject, a, out);
}

/* ------------------------------------------- key versions, settings */

static bool version_ok(const store_key_version *v)
{
    return v != NULL && v->tenant != NULL && v->uid != NULL && v->version >= 1 &&
           v->revision >= 1 && v->uses_reserved >= 0;
}

cf_status store_version_insert(store *s, const store_key_version *v)
{
    if (!version_ok(v))
        return CF_ERR_INVALID_FIELD;
    return s->ops->version_insert(s, v);
}

cf_status store_version_get(store *s, const char *tenant, const char *uid, uint32_t version,
                            cf_arena *a, store_key_version *out)
{
    memset(out, 0, sizeof *out);
    if (tenant == NULL || uid == NULL || version == 0)
        return CF_ERR_NOT_FOUND;
    return s->ops->version_get(s, tenant, uid, version, a, out);
}

cf_status store_version_update(store *s, const store_key_version *v)
{
    if (!version_ok(v) || v->revision < 2)
        return CF_ERR_INVALID_FIELD;
    return s->ops->version_update(s, v);
}

cf_status store_version_list(store *s, const char *tenant, const char *uid, int64_t offset,
                             int64_t limit, cf_arena *a, store_key_version **out,
                             size_t *out_n, int64_t *out_total)
{
    *out = NULL;
    *out_n = 0;
    *out_total = 0;
    if (tenant == NULL || uid == NULL || offset < 0)
        return CF_ERR_INVALID_FIELD;
    return s->ops->version_list(s, tenant, uid, offset, limit, a, out, out_n, out_total);
}

cf_status store_setting_get(store *s, const char *tenant, const char *key, cf_arena *a,
                            const uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (tenant == NULL || key == NULL)
        return CF_ERR_NOT_FOUND;
    return s->ops->setting_get(s, tenant, key, a, out, out_len);
}

cf_status store_setting_put(store *s, const char *tenant, const char *key, const uint8_t *val,
                            size_t len)
{
    if (tenant == NULL || key == NULL)
        return CF_ERR_INVALID_FIELD;
    return s->ops->setting_put(s, tenant, key, val, len);
}

/* ---------------------------------------------------------------- audit */

cf_status store_audit_append_in_txn(store *s, const char *chain, store_audit_build_fn build,
                                    void *ctx)
{
    if (chain == NULL || build == NULL)
        return CF_ERR_INVALID_FIELD;
    return s->ops->audit_append(s, chain, build, ctx);
}

cf_status store_audit_append(store *s, const char *chain, store_audit_build_fn build, void *ctx,
                             void (*then)(void *arg), void *arg)
{
    cf_status st;
    if (chain == NULL || build == NULL)
        return CF_ERR_INVALID_FIELD;
    if ((st = store_begin(s)) != CF_OK)
        return st;
    st = s->ops->audit_append(s, chain, build, ctx);
    if (st == CF_OK)
        st = then ? store_commit_then(s, then, arg) : store_commit(s);
    if (st != CF_OK)
        store_rollback(s);
    return st;
}

cf_status store_audit_query(store *s, const store_audit_filter *f, cf_arena *a,
                            store_audit_row **out, size_t *out_n)
{
    *out = NULL;
    *out_n = 0;
    if (f == NULL || f->chain == NULL || f->limit < 1 || f->after_seq < 0 || f->to_seq < 0)
        return CF_ERR_INVALID_FIELD;
    return s->ops->audit_query(s, f, a, out, out_n);
}

cf_status store_audit_head_get(store *s, const char *chain, cf_arena *a, store_audit_head *out)
{
    memset(out, 0, sizeof *out);
    if (chain == NULL)
        return CF_ERR_NOT_FOUND;
    return s->ops->audit_head(s, chain, a, out);
}

cf_status store_audit_chains(store *s, const char *after, int64_t limit, cf_arena *a,
                             store_audit_head **out, size_t *out_n)
{
    *out = NULL;
    *out_n = 0;
    if (limit < 1)
        return CF_ERR_INVALID_FIELD;
    return s->ops->audit_chains(s, after, limit, a, out, out_n);
}

cf_status store_audit_checkpoints(store *s, const char *chain, int64_t from_seq, int64_t to_seq,
                                  int64_t limit, cf_arena *a, store_audit_checkpoint **out,
                                  size_t *out_n)
{
    *out = NULL;
    *out_n = 0;
    if (chain == NULL || limit < 1 || from_seq < 0 || to_seq < 0)
        return CF_ERR_INVALID_FIELD;
    return s->ops->audit_checkpoints(s, chain, from_seq, to_seq, limit, a, out, out_n);
}

/* ------------------------------------------------ import tokens (BYOK) */

static bool import_token_ok(const store_import_token *t)
{
    return t != NULL && t->tenant != NULL && t->id != NULL && t->revision >= 1 &&
           t->uses >= 0 && t->max_uses >= 1 && t->uses <= t->max_uses;
}

cf_status store_import_token_insert(store *s, const store_import_token *t)
{
    if (!import_token_ok(t) || t->owner == NULL || t->public_key == NULL)
        return CF_ERR_INVALID_FIELD;
    return s->ops->import_token_insert(s, t);
}

cf_status store_import_token_get(store *s, const char *tenant, const char *id, cf_arena *a,
                                 store_import_token *out)
{
    memset(out, 0, sizeof *out);
    if (tenant == NULL || id == NULL)
        return CF_ERR_NOT_FOUND;
    return s->ops->import_token_get(s, tenant, id, a, out);
}

cf_status store_import_token_update(store *s, const store_import_token *t)
{
    if (!import_token_ok(t) || t->revision < 2)
        return CF_ERR_INVALID_FIELD;
    return s->ops->import_token_update(s, t);
}

cf_status store_import_token_purge(store *s, const char *tenant, int64_t before)
{
    if (tenant == NULL)
        return CF_ERR_INVALID_FIELD;
    return s->ops->import_token_purge(s, tenant, before);
}
