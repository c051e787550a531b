/*
 * core_tenant.c - tenants, the retirement of identities and the first-start
 * bootstrap.
 *
 * Tenants are the operator's: create, list, rename, suspend (every
 * identity of a suspended tenant fails authentication, its keys stay),
 * delete (only once nothing live is left in it: a KMS does not drop keys
 * because someone deleted a customer; destroy them first). Tenant
 * identities see their own tenant only.
 *
 * Retiring an identity is what the managed KMIP-for-VMware services do
 * when a vCenter certificate is retired: either refuse while it still owns
 * live keys (and list them), or revoke and destroy every one of them
 * through the lifecycle functions (core_lifecycle.c: the state machine,
 * the dates, the log line of each), then keep the identity disabled. The
 * identity is disabled first, so it cannot create keys while the sweep
 * runs; the lifecycle steps run as the tenant's Manager on behalf of the
 * caller, who may be the operator (who otherwise never touches objects).
 *
 * The bootstrap is one transaction guarded by the meta row "bootstrap":
 * two nodes starting on one empty database serialise on the store's write
 * lock, and the second finds the row and does nothing.
 */
#include "core/core_int.h"

#include <string.h>

#include "util/log.h"

#define BOOTSTRAP_META "bootstrap"
#define RETIRE_BATCH 100
#define RETIRE_PASSES 1000 /* bounds the sweep: 100,000 objects */

/* ------------------------------------------------------------- tenants */

bool core_tenant_id_valid(const char *id)
{
    size_t n = id ? strnlen(id, CORE_TENANT_ID_MAX + 1) : 0;
    if (n == 0 || n > CORE_TENANT_ID_MAX || id[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
            return false;
    return true;
}

static cf_status tenant_out(core_req *req, const store_tenant *t, core_tenant **out)
{
    core_tenant *c = cf_arena_calloc(req->arena, sizeof *c);
    if (c == NULL)
        return CF_ERR_NOMEM;
    c->id = t->id;
    c->name = t->name;
    c->created = t->created;
    c->state = t->state;
    *out = c;
    return CF_OK;
}

/* Run one store write in its own transaction. */
static cf_status tenant_write(core_req *req, cf_status (*fn)(store *, const store_tenant *),
                              const store_tenant *t)
{
    cf_status st = store_begin(req->st);
    if (st != CF_OK)
        return st;
    if ((st = fn(req->st, t)) == CF_OK)
        st = core_commit(req);
    if (st != CF_OK)
        store_rollback(req->st);
    return st;
}

cf_status core_tenant_create(core_req *req, const char *id, const char *name, core_tenant **out)
{
    store_tenant t;
    cf_status st;

    *out = NULL;
    if ((st = core_req_authorize(req, CORE_ACT_MANAGE_TENANTS, NULL)) != CF_OK)
        return st;
    if (!core_tenant_id_valid(id))
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "a tenant id is 1 to %d of a-z, 0-9 and '-', not starting with '-'",
                         CORE_TENANT_ID_MAX);
    if (name == NULL)
        name = id;
    if (!core_text_valid(name, CORE_NAME_MAX))
        return core_fail(req, CF_ERR_INVALID_FIELD, "the name must be 1 to %d bytes of text",
                         CORE_NAME_MAX);
    t = (store_tenant){.id = cf_arena_strndup(req->arena, id, strlen(id)),
                       .name = cf_arena_strndup(req->arena, name, strlen(name)),
                       .created = req->now, .state = CORE_TENANT_ACTIVE};
    if (t.id == NULL || t.name == NULL)
        return CF_ERR_NOMEM;
    st = tenant_write(req, store_tenant_insert, &t);
    if (st == CF_ERR_EXISTS)
        return core_fail(req, st, "tenant '%s' exists", id);
    if (st != CF_OK)
        return st;
    CF_LOGI("tenant %s created by %s", id, req->who->id);
    return tenant_out(req, &t, out);
}

cf_status core_tenant_get(core_req *req, const char *id, core_tenant **out)
{
    store_tenant t;
    cf_status st;

    *out = NULL;
    if (core_authenticated(req->who) != CF_OK)
        return core_fail(req, CF_ERR_AUTH, "authentication is required");
    if (!req->who->is_operator && (id == NULL || strcmp(id, req->who->tenant) != 0))
        return core_fail(req, CF_ERR_NOT_FOUND, "no such tenant");
    if (req->who->is_operator && (st = core_req_authorize(req, CORE_ACT_MANAGE_TENANTS, NULL)))
        return st;
    st = store_tenant_get(req->st, id, req->arena, &t);
    if (st == CF_ERR_NOT_FOUND)
        return core_fail(req, st, "no such tenant");
    return st == CF_OK ? tenant_out(req, &t, out) : st;
}

cf_status core_tenant_list(core_req *req, int64_t offset, int64_t limit, core_tenant **out,
                           size_t *out_n, int64_t *out_total)
{
    store_tenant *rows = NULL;
    core_tenant *ts;
    size_t n = 0;
    cf_status st;

    *out = NULL;
    *out_n = 0;
    *out_total = 0;
    if ((st = core_req_authorize(req, CORE_ACT_MANAGE_TENANTS, NULL)) != CF_OK)
        return st;
    if (offset < 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "negative offset");
    if ((st = store_tenant_list(req->st, offset, limit, req->arena, &rows, &n, out_total)))
        return st;
    if (n && (ts = cf_arena_alloc(req->arena, n * sizeof *ts)) == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        ts[i] = (core_tenant){rows[i].id, rows[i].name, rows[i].created, rows[i].state};
    *out = n ? ts : NULL;
    *out_n = n;
    return CF_OK;
}

cf_status core_tenant_update(core_req *req, const char *id, const char *name, uint32_t state)
{
    store_tenant t;
    cf_status st;

    if ((st = core_req_authorize(req, CORE_ACT_MANAGE_TENANTS, NULL)) != CF_OK)
        return st;
    if (name != NULL && !core_text_valid(name, CORE_NAME_MAX))
        return core_fail(req, CF_ERR_INVALID_FIELD, "the name must be 1 to %d bytes of text",
                         CORE_NAME_MAX);
    if (state != 0 && state != CORE_TENANT_ACTIVE && state != CORE_TENANT_SUSPENDED)
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown tenant state");
    st = store_tenant_get(req->st, id, req->arena, &t);
    if (st == CF_OK) {
        t.name = name ? name : t.name;
        t.state = state ? state : t.state;
        st = tenant_write(req, store_tenant_update, &t);
    }
    if (st == CF_ERR_NOT_FOUND)
        return core_fail(req, st, "no such tenant");
    if (st == CF_OK)
        CF_LOGI("tenant %s updated by %s (state %u)", id, req->who->id, t.state);
    return st;
}

/* Objects of the tenant (of one owner when owner is set) that are not
 * destroyed: at most limit uids, and how many in all. */
static cf_status find_live(core_req *req, const char *tenant, const char *owner, int64_t limit,
                           const char ***uids, size_t *n, int64_t *total)
{
    store_criterion c[2] = {
        {.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE, .lo = KMIP_STATE_DESTROYED},
        {.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE,
         .lo = KMIP_STATE_DESTROYED_COMPROMISED},
    };
    store_query q = {.tenant = tenant, .owner = owner, .crit = c, .n_crit = 2, .limit = limit};
    return store_object_find(req->st, &q, req->arena, uids, n, total);
}

cf_status core_tenant_delete(core_req *req, const char *id)
{
    const char **uids;
    size_t n;
    int64_t live = 0;
    cf_status st;

    if ((st = core_req_authorize(req, CORE_ACT_MANAGE_TENANTS, NULL)) != CF_OK)
        return st;
    if (id == NULL)
        return core_fail(req, CF_ERR_NOT_FOUND, "no such tenant");
    if ((st = store_begin(req->st)) != CF_OK)
        return st;
    /* Counted in the transaction that deletes: nothing can appear between. */
    st = find_live(req, id, NULL, 0, &uids, &n, &live);
    if (st == CF_OK && live > 0)
        st = core_fail(req, CF_ERR_STATE, "the tenant holds %lld objects that are not destroyed",
                       (long long)live);
    if (st == CF_OK && (st = store_tenant_delete(req->st, id)) == CF_OK)
        st = core_commit(req);
    if (st != CF_OK)
        store_rollback(req->st);
    if (st == CF_ERR_NOT_FOUND)
        return core_fail(req, st, "no such tenant");
    if (st == CF_OK)
        CF_LOGI("tenant %s deleted by %s", id, req->who->id);
    return st;
}

/* ------------------------------------------------------------ retirement */

static cf_status disable_fn(core_req *req, core_identity_rec *r, const void *ctx)
{
    (void)req;
    (void)ctx;
    r->disabled = true;
    return CF_OK;
}

/* Revoke (Cessation of Operation) when Active, then Destroy, as the
 * request's (proxy) identity. */
static cf_status retire_object(core_req *req, const char *uid)
{
    core_revocation rv = {.code = KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION,
                          .message = "identity retired"};
    core_object *obj;
    cf_status st = core_object_load(req, uid, &obj);
    if (st == CF_OK && obj->state == KMIP_STATE_ACTIVE)
        st = core_revoke(req, uid, &rv);
    if (st == CF_OK)
        st = core_destroy(req, uid);
    return st;
}

/* Append the uids of one batch to out (arena array grown by doubling). */
static cf_status result_add(core_req *req, core_retire_result *out, size_t *cap, const char *uid)
{
    if (out->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        const char **v = cf_arena_alloc(req->arena, ncap * sizeof *v);
        if (v == NULL)
            return CF_ERR_NOMEM;
        if (out->n)
            memcpy(v, out->uids, out->n * sizeof *v);
        out->uids = v;
        *cap = ncap;
    }
    out->uids[out->n++] = uid;
    out->total = (int64_t)out->n;
    return CF_OK;
}

/* Every live object of the identity, batch after batch, each loaded and
 * written in a scratch arena reset per object (a sweep may be long; the
 * request's arena keeps only the result). */
static cf_status sweep(core_req *req, const char *tenant, const char *id, core_retire_result *out)
{
    core_identity proxy = {.tenant = tenant, .id = req->who->id, .role = CORE_ROLE_MANAGER,
                           .kind = req->who->kind, .name = "identity retirement"};
    core_req sub = *req;
    size_t cap = 0;
    cf_status st = CF_OK;

    sub.who = &proxy;
    if ((sub.arena = cf_arena_new(64 * 1024, 0)) == NULL)
        return CF_ERR_NOMEM;
    for (int pass = 0; pass < RETIRE_PASSES && st == CF_OK; pass++) {
        const char **uids;
        size_t n;
        int64_t total;
        if ((st = find_live(req, tenant, id, RETIRE_BATCH, &uids, &n, &total)) != CF_OK || n == 0)
            break;
        for (size_t i = 0; i < n && st == CF_OK; i++) {
            sub.err_msg = NULL;
            if ((st = retire_object(&sub, uids[i])) == CF_OK)
                st = result_add(req, out, &cap, uids[i]);
            else if (sub.err_msg != NULL)
                core_fail(req, st, "object %s: %s", uids[i], sub.err_msg);
            cf_arena_reset(sub.arena);
        }
    }
    cf_arena_free(sub.arena);
    return st;
}

cf_status core_identity_retire(core_req *req, const char *tenant, const char *id,
                               core_retire_mode mode, core_retire_result *out)
{
    const char *t = NULL;
    core_identity_rec *r;
    cf_status st;

    memset(out, 0, sizeof *out);
    if (mode != CORE_RETIRE_REFUSE_AND_LIST && mode != CORE_RETIRE_REVOKE_AND_DESTROY)
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown retirement mode");
    if ((st = core_manage_scope(req, tenant, &t)) != CF_OK ||
        (st = core_identity_get(req, t, id, &r)) != CF_OK)
        return st;
    if (t != NULL && mode == CORE_RETIRE_REFUSE_AND_LIST) {
        if ((st = find_live(req, t, id, CORE_RETIRE_LIST_MAX, &out->uids, &out->n, &out->total)))
            return st;
        if (out->total > 0)
            return core_fail(req, CF_ERR_STATE,
                             "the identity owns %lld objects that are not destroyed",
                             (long long)out->total);
    }
    if ((st = core_identity_edit(req, t, id, disable_fn, NULL, NULL)) != CF_OK)
        return st;
    if (t != NULL && mode == CORE_RETIRE_REVOKE_AND_DESTROY &&
        (st = sweep(req, t, id, out)) != CF_OK) {
        CF_LOGW("retiring identity %s (tenant %s): stopped after %zu objects: %s", id, t,
                out->n, cf_status_str(st));
        return st;
    }
    CF_LOGI("identity %s (tenant %s) retired by %s: %zu objects revoked and destroyed", id,
            t ? t : "-", req->who->id, out->n);
    return CF_OK;
}

/* ------------------------------------------------------------- bootstrap */

/* The rows of the bootstrap, written in the caller's transaction. */
static cf_status bootstrap_rows(store *st, cf_arena *a, int64_t now, const core_bootstrap_in *in,
                                const char *op_id, const uint8_t op_hash[32])
{
    store_tenant t = {.id = CORE_TENANT_DEFAULT, .name = "Default tenant", .created = now,
                      .state = CORE_TENANT_ACTIVE};
    store_identity op = {.id = op_id, .kind = CORE_IDENTITY_API_KEY, .name = "operator (bootstrap)",
                         .is_operator = true, .created = now, .secret_sha256 = op_hash,
                         .revision = 1};
    store_identity admin = {.tenant = CORE_TENANT_DEFAULT, .kind = CORE_IDENTITY_CERTIFICATE,
                            .name = "admin (development certificate)", .role = CORE_ROLE_MANAGER,
                            .created = now, .cert_sha256 = in->admin_sha256, .revision = 1};
    store_tenant have;
    store_identity dup;
    cf_status rc = store_tenant_get(st, CORE_TENANT_DEFAULT, a, &have);

    if (rc == CF_ERR_NOT_FOUND) /* an upgraded store may have it already */
        rc = store_tenant_insert(st, &t);
    if (rc == CF_OK && in->admin_sha256 != NULL &&
        (rc = store_auth_by_cert(st, in->admin_sha256, a, &dup)) == CF_ERR_NOT_FOUND &&
        (rc = core_new_uid(a, &admin.id)) == CF_OK) {
        if ((rc = store_identity_insert(st, &admin)) == CF_OK)
            CF_LOGI("bootstrap: certificate %s registered as Manager of tenant %s (identity %s)",
                    in->admin_subject ? in->admin_subject : "(admin)", CORE_TENANT_DEFAULT,
                    admin.id);
    }
    if (rc == CF_OK && in->admin_sha256 != NULL && admin.id == NULL)
        CF_LOGW("bootstrap: the admin certificate already maps to identity %s", dup.id);
    if (rc == CF_OK)
        rc = store_identity_insert(st, &op);
    if (rc == CF_OK)
        rc = store_meta_insert(st, BOOTSTRAP_META, (const uint8_t *)"1", 1);
    return rc;
}

cf_status core_bootstrap(store *st, cf_arena *a, int64_t now, const core_bootstrap_in *in,
                         bool *out_done)
{
    const char *op_id = NULL;
    const uint8_t *mark;
    size_t mark_len;
    cf_secret token = {0};
    uint8_t h[32];
    cf_status rc;

    *out_done = false;
    if ((rc = core_new_uid(a, &op_id)) != CF_OK || (rc = core_api_key_new(op_id, &token, h)))
        return rc;
    if ((rc = store_begin(st)) != CF_OK)
        goto out;
    rc = store_meta_get(st, BOOTSTRAP_META, a, &mark, &mark_len);
    if (rc == CF_OK) { /* done before, here or by another node */
        store_rollback(st);
        goto out;
    }
    if (rc == CF_ERR_NOT_FOUND && (rc = bootstrap_rows(st, a, now, in, op_id, h)) == CF_OK &&
        (in->publish == NULL || (rc = in->publish(in->ctx, &token)) == CF_OK))
        rc = store_commit(st);
    if (rc != CF_OK) {
        store_rollback(st);
        goto out;
    }
    CF_LOGI("bootstrap: tenant %s and operator identity %s created", CORE_TENANT_DEFAULT, op_id);
    *out_done = true;
out:
    cf_secret_free(&token);
    return rc;
}
