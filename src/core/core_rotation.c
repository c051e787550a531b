/*
 * core_rotation.c - rotation policies of root keys and the scheduler's pass.
 *
 * Where a policy lives. A key's own policy is two server-only attributes,
 * y-rotation-interval (Interval, seconds; 0: no time-based rotation) and
 * y-rotation-max-encryptions (Long Integer; 0: no ceiling), both written
 * whenever the key has a policy of its own, which then replaces the tenant
 * default as a whole. The tenant default is the store setting
 * "rotation-policy" (17 bytes: format 1, interval, max_encryptions, both
 * big-endian 64-bit). "y-" attributes are the server's (KMIP 1.4 section
 * 3.39): KMIP clients read them with Get Attributes, never change them.
 *
 * What the scheduler searches. Every key a policy rotates carries the
 * indexed Date-Time y-next-rotation, written from its effective policy:
 * when its own policy is set or removed, when the tenant default changes
 * (a one-time sweep of the tenant's root keys without a policy of their
 * own, through the index: Extractable = False), and for keys made after
 * the default was set, by the pass itself ("adoption": the keys whose
 * Initial Date is recent, through the Initial Date index, since the last
 * pass recorded in the setting "rotation-adopted", less an hour for
 * transactions in flight and clocks apart). So a pass only ever reads
 * index ranges: y-next-rotation <= now, never a scan of the objects.
 *
 * When. The next rotation is due `interval` after the newest version was
 * made (the key's creation when it has no versions); after a rotation by
 * policy the due date moves to the first due + k * interval after now, so
 * the cadence does not drift by the pass period and a late pass rotates
 * once, not once per missed interval. Manual rotations (REST, KMIP ReKey)
 * leave the schedule alone, as AWS KMS does with on-demand rotations.
 *
 * Several nodes, one database. Each due key is handled in one store
 * transaction: load it, check that it is still Active and still due,
 * move y-next-rotation, rotate (core_key_rotate joins the transaction:
 * req->batch_txn), commit. A second node either waits for the first one's
 * transaction and then finds the date moved, or loses the revision check
 * (CF_ERR_CONFLICT, its whole transaction rolled back): either way it
 * counts the key as skipped, and a key is rotated once per due date. A
 * failed rotation rolls back the date too: the key stays due and the next
 * pass retries it.
 *
 * The encryption ceiling is enforced where versions are used (the wrap
 * path reads core_rotation_policy_effective): the index cannot tell which
 * version is near its ceiling.
 */
#include "core/core_int.h"

#include <string.h>

#include "util/log.h"

#define ATTR_INTERVAL "y-rotation-interval"
#define ATTR_MAX_ENC "y-rotation-max-encryptions"
#define ATTR_NEXT "y-next-rotation"
#define SETTING_POLICY "rotation-policy"
#define SETTING_ADOPTED "rotation-adopted"
#define SYSTEM_ID "system:scheduler"

#define POLICY_BLOB_LEN 17
#define ROT_PAGE 100            /* keys per search page and per sweep transaction */
#define ROT_PASS_MAX 10000      /* keys examined per tenant and search in one pass */
#define ROT_SWEEP_MAX 10000000  /* root keys of a tenant rescheduled by a new default */
#define ROT_ADOPT_MARGIN 3600   /* seconds: transactions in flight, clocks apart */
#define ROT_RETRIES 3

/* ------------------------------------------------------------- helpers */

static void system_identity(core_identity *who, const char *tenant)
{
    memset(who, 0, sizeof *who);
    who->tenant = tenant;
    who->id = SYSTEM_ID;
    who->role = CORE_ROLE_MANAGER;
    who->kind = CORE_IDENTITY_API_KEY;
    who->name = "rotation scheduler";
}

static bool attr_int(const core_object *obj, const char *name, int64_t *out)
{
    const ttlv_item *v = core_attr_find(obj, name, 0);
    if (v == NULL)
        return false;
    switch (v->type) {
    case TTLV_INTERVAL: *out = v->v.u32; return true;
    case TTLV_LONG_INTEGER:
    case TTLV_DATE_TIME: *out = v->v.i64; return true;
    default: return false;
    }
}

/* Remove every instance of name from obj (server-side edit: no rule check). */
static void drop_attr(core_object *obj, const char *name)
{
    size_t len = strlen(name);
    ttlv_item *prev = NULL, *it = obj->attrs->first;
    while (it != NULL) {
        ttlv_item *next = it->next;
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        if (core_attr_parts(it, &n, &nl, &idx, &v) && nl == len && memcmp(n, name, len) == 0) {
            if (prev != NULL)
                prev->next = next;
            else
                obj->attrs->first = next;
            if (obj->attrs->last == it)
                obj->attrs->last = prev;
            obj->attrs->nchildren--;
        } else {
            prev = it;
        }
        it = next;
    }
}

static cf_status put_value(core_req *req, core_object *obj, const char *name, ttlv_item *v)
{
    return v != NULL ? core_attr_put(req, obj, name, v) : CF_ERR_NOMEM;
}

static cf_status set_next(core_req *req, core_object *obj, int64_t next)
{
    if (next == 0) {
        drop_attr(obj, ATTR_NEXT);
        return CF_OK;
    }
    return put_value(req, obj, ATTR_NEXT,
                     ttlv_new_datetime(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, next));
}

cf_status core_rotation_policy_check(core_req *req, const core_rotation_policy *p)
{
    if (p->interval != 0 &&
        (p->interval < CORE_ROTATION_INTERVAL_MIN || p->interval > CORE_ROTATION_INTERVAL_MAX))
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "the rotation interval must be between 1 hour and 10 years (3650 days)");
    if (p->max_encryptions < 0 || p->max_encryptions > CORE_ROTATION_MAX_ENCRYPTIONS)
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "max_encryptions must be between 1 and 2^32 (AES-GCM random nonces)");
    if (p->interval == 0 && p->max_encryptions == 0)
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "a rotation policy needs an interval or max_encryptions");
    return CF_OK;
}

/* ------------------------------------------------------ tenant default */

static cf_status default_read(store *st, cf_arena *a, const char *tenant, core_rotation_policy *out)
{
    const uint8_t *p;
    size_t n;
    cf_status rc = store_setting_get(st, tenant, SETTING_POLICY, a, &p, &n);

    memset(out, 0, sizeof *out);
    if (rc == CF_ERR_NOT_FOUND)
        return CF_OK;
    if (rc != CF_OK)
        return rc;
    if (n != POLICY_BLOB_LEN || p[0] != 1) {
        CF_LOGE("tenant %s: setting %s does not decode (%zu bytes)", tenant, SETTING_POLICY, n);
        return CF_ERR_STORE;
    }
    out->interval = (int64_t)cf_be64(p + 1);
    out->max_encryptions = (int64_t)cf_be64(p + 9);
    return CF_OK;
}

/* One setting write in its own transaction (val NULL: delete). */
static cf_status setting_write(store *st, const char *tenant, const char *key, const uint8_t *val,
                               size_t len)
{
    cf_status rc = store_begin(st);
    if (rc != CF_OK)
        return rc;
    rc = store_setting_put(st, tenant, key, val, len);
    if (rc == CF_OK)
        rc = store_commit(st);
    if (rc != CF_OK)
        store_rollback(st);
    return rc;
}

/* ---------------------------------------------------- effective policy */

/* The effective policy of obj: its own, else dflt (read from the store
 * when dflt is NULL). */
static cf_status effective(core_req *req, const core_object *obj, const core_rotation_policy *dflt,
                           core_rotation_info *out)
{
    core_rotation_policy d;
    cf_status rc;

    memset(out, 0, sizeof *out);
    attr_int(obj, ATTR_NEXT, &out->next);
    if (attr_int(obj, ATTR_INTERVAL, &out->policy.interval)) {
        attr_int(obj, ATTR_MAX_ENC, &out->policy.max_encryptions);
        out->source = CORE_ROTATION_KEY;
        return CF_OK;
    }
    if (dflt == NULL) {
        if ((rc = default_read(req->st, req->arena, obj->tenant, &d)) != CF_OK)
            return rc;
        dflt = &d;
    }
    if (dflt->interval != 0 || dflt->max_encryptions != 0) {
        out->policy = *dflt;
        out->source = CORE_ROTATION_TENANT;
    }
    return CF_OK;
}

cf_status core_rotation_policy_effective(core_req *req, const core_object *obj,
                                         core_rotation_info *out)
{
    return effective(req, obj, NULL, out);
}

/* When obj's newest version was made (its creation when never rotated). */
static cf_status last_rotation(core_req *req, const core_object *obj, int64_t *out)
{
    store_key_version *v;
    size_t n;
    int64_t total;
    cf_status rc = store_version_list(req->st, obj->tenant, obj->uid, 0, 1, req->arena, &v, &n,
                                      &total);
    if (rc != CF_OK)
        return rc;
    *out = n > 0 && v[0].created > obj->created ? v[0].created : obj->created;
    return CF_OK;
}

/* Write y-next-rotation from obj's effective policy; *changed: it moved. */
static cf_status schedule(core_req *req, core_object *obj, const core_rotation_policy *dflt,
                          core_rotation_info *info, bool *changed)
{
    int64_t before = 0, next = 0, base;
    cf_status rc;

    attr_int(obj, ATTR_NEXT, &before);
    if ((rc = effective(req, obj, dflt, info)) != CF_OK)
        return rc;
    if (info->policy.interval > 0) {
        if ((rc = last_rotation(req, obj, &base)) != CF_OK)
            return rc;
        next = base + info->policy.interval;
    }
    info->next = next;
    *changed = next != before;
    return *changed ? set_next(req, obj, next) : CF_OK;
}

static bool rotatable_state(uint32_t state)
{
    return state == KMIP_STATE_PRE_ACTIVE || state == KMIP_STATE_ACTIVE;
}

/* ------------------------------------------------------ a key's policy */

static cf_status check_root(core_req *req, const core_object *obj)
{
    if (!core_is_root_key(obj))
        return core_fail(req, CF_ERR_OBJECT_TYPE,
                         "rotation policies apply to root keys (non-extractable AES wrapping keys)");
    if (core_state_is_destroyed(obj->state))
        return core_fail(req, CF_ERR_STATE, "the key is destroyed");
    return CF_OK;
}

struct policy_edit {
    const core_rotation_policy *p; /* NULL: remove the key's own policy */
    core_rotation_info info;
};

static cf_status do_policy(core_req *req, core_object *obj, void *ctx)
{
    struct policy_edit *e = ctx;
    bool changed;
    cf_status rc;

    if ((rc = check_root(req, obj)) != CF_OK)
        return rc;
    if (e->p == NULL) {
        drop_attr(obj, ATTR_INTERVAL);
        drop_attr(obj, ATTR_MAX_ENC);
    } else {
        if (!rotatable_state(obj->state))
            return core_fail(req, CF_ERR_STATE,
                             "only a Pre-Active or Active key can be given a rotation policy");
        if ((rc = put_value(req, obj, ATTR_INTERVAL,
                            ttlv_new_interval(req->arena, KMIP_TAG_ATTRIBUTE_VALUE,
                                              (uint32_t)e->p->interval))) != CF_OK ||
            (rc = put_value(req, obj, ATTR_MAX_ENC,
                            ttlv_new_long(req->arena, KMIP_TAG_ATTRIBUTE_VALUE,
                                          e->p->max_encryptions))) != CF_OK)
            return rc;
    }
    return schedule(req, obj, NULL, &e->info, &changed);
}

static cf_status policy_edit(core_req *req, const char *uid, const core_rotation_policy *p,
                             core_rotation_info *out)
{
    struct policy_edit e = {.p = p};
    cf_status rc;

    if (p != NULL && (rc = core_rotation_policy_check(req, p)) != CF_OK)
        return rc;
    if ((rc = core_object_edit(req, uid, do_policy, &e)) != CF_OK)
        return rc;
    if (p != NULL)
        CF_LOGI("rotation policy of key %s (tenant %s) set by %s: interval %lld s, "
                "max_encryptions %lld, next rotation %lld",
                uid, req->who->tenant, req->who->id, (long long)p->interval,
                (long long)p->max_encryptions, (long long)e.info.next);
    else
        CF_LOGI("rotation policy of key %s (tenant %s) removed by %s: now %s, next rotation %lld",
                uid, req->who->tenant, req->who->id,
                e.info.source == CORE_ROTATION_TENANT ? "the tenant default" : "none",
                (long long)e.info.next);
    if (out != NULL)
        *out = e.info;
    return CF_OK;
}

cf_status core_rotation_policy_set(core_req *req, const char *uid, const core_rotation_policy *p,
                                   core_rotation_info *out)
{
    return policy_edit(req, uid, p, out);
}

cf_status core_rotation_policy_clear(core_req *req, const char *uid, core_rotation_info *out)
{
    return policy_edit(req, uid, NULL, out);
}

cf_status core_rotation_policy_get(core_req *req, const char *uid, core_rotation_info *out)
{
    core_object *obj;
    cf_status rc;

    memset(out, 0, sizeof *out);
    if ((rc = core_object_load(req, uid, &obj)) != CF_OK ||
        (rc = core_req_authorize(req, CORE_ACT_READ_METADATA, obj)) != CF_OK ||
        (rc = check_root(req, obj)) != CF_OK)
        return rc;
    return effective(req, obj, NULL, out);
}

/* -------------------------------------------------------- paged updates */
/*
 * The sweep (a tenant default changed), adoption (keys made since the
 * last pass) and the due search share one loop: search a page through the
 * index, handle it, move on. Keys a step changed may leave the search
 * (adoption and clearing write or remove the very attribute searched), so
 * the next page starts after the keys that stayed, not after the page.
 */
typedef struct rot_ctx {
    core_req r;                     /* the system identity of the tenant, own arena */
    core_identity who;
    const core_rotation_policy *dflt;
    int64_t changed;                /* keys rescheduled */
} rot_ctx;

static cf_status rot_ctx_init(rot_ctx *x, const core *c, store *st, const char *tenant,
                              int64_t now, const core_rotation_policy *dflt)
{
    memset(x, 0, sizeof *x);
    system_identity(&x->who, tenant);
    x->r.core = c;
    x->r.st = st;
    x->r.who = &x->who;
    x->r.now = now;
    x->r.batch_txn = true; /* every write below joins a transaction of this file */
    x->dflt = dflt;
    x->r.arena = cf_arena_new(64 * 1024, 0);
    return x->r.arena != NULL ? CF_OK : CF_ERR_NOMEM;
}

/* Reschedule one key without a policy of its own from the default. */
static cf_status resched_one(rot_ctx *x, const char *uid, bool *changed)
{
    core_object *obj;
    core_rotation_info info;
    cf_status rc = core_object_load(&x->r, uid, &obj);

    *changed = false;
    if (rc == CF_ERR_NOT_FOUND)
        return CF_OK; /* gone meanwhile */
    if (rc != CF_OK)
        return rc;
    if (!core_is_root_key(obj) || core_state_is_destroyed(obj->state) ||
        core_attr_find(obj, ATTR_INTERVAL, 0) != NULL)
        return CF_OK;
    if ((rc = schedule(&x->r, obj, x->dflt, &info, changed)) != CF_OK || !*changed)
        return rc;
    core_object_touch(obj, x->r.now);
    obj->revision++;
    return core_object_save(&x->r, obj, false);
}

/* One page of keys rescheduled in one transaction (retried on a conflict). */
static cf_status resched_page(rot_ctx *x, const char **uids, size_t n, int64_t *out_changed)
{
    cf_status rc = CF_ERR_CONFLICT;
    for (int attempt = 0; attempt < ROT_RETRIES && rc == CF_ERR_CONFLICT; attempt++) {
        int64_t changed = 0;
        if ((rc = store_begin(x->r.st)) != CF_OK)
            return rc;
        for (size_t i = 0; i < n && rc == CF_OK; i++) {
            bool ch;
            rc = resched_one(x, uids[i], &ch);
            changed += ch;
        }
        if (rc == CF_OK && (rc = core_commit(&x->r)) == CF_OK)
            *out_changed = changed;
        if (rc != CF_OK)
            store_rollback(x->r.st);
    }
    return rc;
}

/* Every page of q (at most max keys: CF_ERR_LIMIT when stopped there),
 * rescheduled; leave: a changed key leaves the search. */
static cf_status resched_all(rot_ctx *x, store_query *q, bool leave, int64_t max)
{
    cf_arena *page = x->r.arena;
    int64_t examined = 0;
    cf_status rc = CF_OK;

    q->offset = 0;
    q->limit = ROT_PAGE;
    while (rc == CF_OK && examined < max) {
        const char **uids;
        size_t n;
        int64_t total, changed = 0;
        cf_arena_reset(page);
        if ((rc = store_object_find(x->r.st, q, page, &uids, &n, &total)) != CF_OK || n == 0)
            break;
        if ((rc = resched_page(x, uids, n, &changed)) != CF_OK)
            break;
        x->changed += changed;
        q->offset += (int64_t)n - (leave ? changed : 0);
        examined += (int64_t)n;
    }
    return rc == CF_OK && examined >= max ? CF_ERR_LIMIT : rc; /* more remain */
}

/* ------------------------------------------------ tenant default: API */

/* The tenant's root keys without a policy of their own (driven by the
 * Extractable = False index entries: root keys are the non-extractable
 * ones); with_next: only those that have a y-next-rotation. */
static cf_status sweep(rot_ctx *x, const char *tenant, bool with_next)
{
    store_criterion c[6] = {
        {.field = STORE_FIELD_ATTR, .name = "Extractable", .int_op = STORE_INT_EQ, .lo = 0},
        {.field = STORE_FIELD_OBJECT_TYPE, .int_op = STORE_INT_EQ,
         .lo = KMIP_OBJECT_TYPE_SYMMETRIC_KEY},
        {.field = STORE_FIELD_ATTR, .name = ATTR_INTERVAL, .negate = true},
        {.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE, .lo = KMIP_STATE_DESTROYED},
        {.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE,
         .lo = KMIP_STATE_DESTROYED_COMPROMISED},
        {.field = STORE_FIELD_ATTR, .name = ATTR_NEXT},
    };
    store_query q = {.tenant = tenant, .crit = c, .n_crit = with_next ? 6 : 5};
    return resched_all(x, &q, with_next, ROT_SWEEP_MAX);
}

/* The tenant a default-policy call addresses (Manager of it, or the operator). */
static cf_status default_scope(core_req *req, const char *tenant, const char **out)
{
    cf_status rc = core_manage_scope(req, tenant, out);
    if (rc == CF_OK && *out == NULL)
        return core_fail(req, CF_ERR_INVALID_FIELD, "name a tenant");
    return rc;
}

cf_status core_rotation_tenant_get(core_req *req, const char *tenant, core_rotation_policy *out)
{
    const char *t;
    cf_status rc;

    memset(out, 0, sizeof *out);
    if ((rc = default_scope(req, tenant, &t)) != CF_OK)
        return rc;
    return default_read(req->st, req->arena, t, out);
}

/* Write (p) or remove (NULL) the default of tenant, then sweep its keys. */
static cf_status default_write(core_req *req, const char *tenant, const core_rotation_policy *p,
                               int64_t *out_rescheduled)
{
    uint8_t blob[POLICY_BLOB_LEN] = {1}, mark[8];
    core_rotation_policy none = {0};
    const char *t;
    rot_ctx x;
    cf_status rc;

    if (out_rescheduled)
        *out_rescheduled = 0;
    if ((p != NULL && (rc = core_rotation_policy_check(req, p)) != CF_OK) ||
        (rc = default_scope(req, tenant, &t)) != CF_OK)
        return rc;
    if (p != NULL) {
        cf_put_be64(blob + 1, (uint64_t)p->interval);
        cf_put_be64(blob + 9, (uint64_t)p->max_encryptions);
    }
    if ((rc = setting_write(req->st, t, SETTING_POLICY, p ? blob : NULL, p ? sizeof blob : 0)) !=
        CF_OK)
        return rc;
    /* The sweep below schedules the keys that exist: the pass need only
     * adopt keys made from now on (less its margin). */
    cf_put_be64(mark, (uint64_t)req->now);
    if (p != NULL && p->interval > 0 &&
        (rc = setting_write(req->st, t, SETTING_ADOPTED, mark, sizeof mark)) != CF_OK)
        return rc;
    if ((rc = rot_ctx_init(&x, req->core, req->st, t, req->now, p ? p : &none)) != CF_OK)
        return rc;
    rc = sweep(&x, t, p == NULL || p->interval == 0);
    if (rc == CF_ERR_LIMIT)
        core_fail(req, rc, "the tenant has more than %d root keys: not all were rescheduled",
                  ROT_SWEEP_MAX);
    else if (rc != CF_OK && x.r.err_msg != NULL)
        core_fail(req, rc, "%s", x.r.err_msg);
    CF_LOGI("default rotation policy of tenant %s %s by %s (interval %lld s, max_encryptions "
            "%lld): %lld keys rescheduled%s",
            t, p ? "set" : "removed", req->who->id ? req->who->id : "?",
            (long long)(p ? p->interval : 0), (long long)(p ? p->max_encryptions : 0),
            (long long)x.changed, rc == CF_OK ? "" : " before a failure");
    if (out_rescheduled)
        *out_rescheduled = x.changed;
    cf_arena_free(x.r.arena);
    return rc;
}

cf_status core_rotation_tenant_set(core_req *req, const char *tenant,
                                   const core_rotation_policy *p, int64_t *out_rescheduled)
{
    return default_write(req, tenant, p, out_rescheduled);
}

cf_status core_rotation_tenant_clear(core_req *req, const char *tenant, int64_t *out_rescheduled)
{
    return default_write(req, tenant, NULL, out_rescheduled);
}

/* ------------------------------------------------------ the pass: adopt */

/* Keys made since the last pass (Initial Date in [lower, now]) that have
 * no y-next-rotation and no policy of their own get one from the default. */
static cf_status adopt(rot_ctx *x, const char *tenant)
{
    const uint8_t *p;
    size_t n;
    int64_t mark = 0, lower, now = x->r.now;
    uint8_t b[8];
    cf_status rc = store_setting_get(x->r.st, tenant, SETTING_ADOPTED, x->r.arena, &p, &n);

    if (rc == CF_OK && n == sizeof b)
        mark = (int64_t)cf_be64(p);
    else if (rc != CF_OK && rc != CF_ERR_NOT_FOUND)
        return rc;
    /* A test clock may have run a pass in the future: never look past now. */
    lower = mark == 0 ? INT64_MIN : (mark < now ? mark : now) - ROT_ADOPT_MARGIN;
    store_criterion c[6] = {
        {.field = STORE_FIELD_ATTR, .name = "Initial Date", .int_op = STORE_INT_RANGE,
         .lo = lower, .hi = now},
        {.field = STORE_FIELD_OBJECT_TYPE, .int_op = STORE_INT_EQ,
         .lo = KMIP_OBJECT_TYPE_SYMMETRIC_KEY},
        {.field = STORE_FIELD_ATTR, .name = ATTR_NEXT, .negate = true},
        {.field = STORE_FIELD_ATTR, .name = ATTR_INTERVAL, .negate = true},
        {.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE, .lo = KMIP_STATE_DESTROYED},
        {.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE,
         .lo = KMIP_STATE_DESTROYED_COMPROMISED},
    };
    store_query q = {.tenant = tenant, .crit = c, .n_crit = 6};
    if ((rc = resched_all(x, &q, true, ROT_PASS_MAX)) == CF_ERR_LIMIT)
        return CF_OK; /* the next pass goes on from the same mark */
    if (rc != CF_OK)
        return rc;
    cf_put_be64(b, (uint64_t)now);
    return setting_write(x->r.st, tenant, SETTING_ADOPTED, b, sizeof b);
}

/* ------------------------------------------------------- the pass: due */

enum rot_outcome {
    ROT_ROTATED,     /* rotated here */
    ROT_MOVED,       /* no longer due: another node rotated it (or it is gone) */
    ROT_INACTIVE,    /* due, but not Active (stays in the search) */
    ROT_UNSCHEDULED, /* its policy no longer has an interval: date removed */
    ROT_FAILED,      /* stays due */
};

/* In the open transaction: is uid still due and Active? Move its date and
 * rotate it. */
static cf_status rotate_in_txn(rot_ctx *x, const char *uid, enum rot_outcome *out,
                               uint32_t *version, int64_t *due)
{
    core_rotation_info info;
    core_object *obj;
    int64_t now = x->r.now, k;
    cf_status rc = core_object_load(&x->r, uid, &obj);

    *out = ROT_MOVED;
    if (rc != CF_OK)
        return rc == CF_ERR_NOT_FOUND ? CF_OK : rc;
    if (!attr_int(obj, ATTR_NEXT, due) || *due > now)
        return CF_OK;
    if (obj->state != KMIP_STATE_ACTIVE) {
        *out = ROT_INACTIVE;
        return CF_OK;
    }
    if ((rc = effective(&x->r, obj, x->dflt, &info)) != CF_OK)
        return rc;
    if (info.policy.interval <= 0) {
        *out = ROT_UNSCHEDULED;
        info.next = 0;
    } else {
        k = (now - *due) / info.policy.interval + 1;
        info.next = *due + k * info.policy.interval; /* the first due date after now */
    }
    if ((rc = set_next(&x->r, obj, info.next)) != CF_OK)
        return rc;
    core_object_touch(obj, now);
    obj->revision++;
    if ((rc = core_object_save(&x->r, obj, false)) != CF_OK || *out == ROT_UNSCHEDULED)
        return rc;
    if ((rc = core_key_rotate(&x->r, uid, CORE_ROTATE_POLICY, version)) == CF_OK) {
        *out = ROT_ROTATED;
        core_audit_version(&x->r, *version);
    }
    return rc;
}

/* The audit record of a rotation (or a failed one), queued in the key's
 * transaction and written once it ended: the tenant's chain shows it. */
static void audit_outcome(rot_ctx *x, enum rot_outcome o, cf_status rc, bool rolled_back)
{
    if (o == ROT_ROTATED || o == ROT_FAILED)
        core_audit_end(&x->r, rc == CF_OK ? "ok" : cf_status_info(rc)->name,
                       x->r.err_msg ? x->r.err_msg : cf_status_info(rc)->message);
    x->r.audit = NULL; /* not recorded: another node's rotation, or nothing done */
    if (core_audit_flush(&x->r, rolled_back) != CF_OK)
        CF_LOGE("rotation: the audit record of a rotation could not be written");
}

static enum rot_outcome rotate_due(rot_ctx *x, const char *uid)
{
    enum rot_outcome o = ROT_FAILED;
    uint32_t version = 0;
    int64_t due = 0;
    bool committed = false;
    cf_status rc;

    x->r.err_msg = NULL;
    if ((rc = core_audit_begin(&x->r, CORE_AUDIT_SCHEDULER, "rotateKey", NULL)) == CF_OK)
        core_audit_chain_tenant(&x->r, x->who.tenant);
    if (rc == CF_OK && (rc = store_begin(x->r.st)) == CF_OK) {
        rc = rotate_in_txn(x, uid, &o, &version, &due);
        if (rc == CF_OK && o != ROT_INACTIVE && o != ROT_MOVED)
            committed = (rc = core_commit(&x->r)) == CF_OK;
        if (!committed)
            store_rollback(x->r.st);
    }
    if (rc == CF_ERR_CONFLICT)
        o = ROT_MOVED;
    else if (rc != CF_OK)
        o = ROT_FAILED;
    audit_outcome(x, o, rc, !committed);
    if (rc == CF_ERR_CONFLICT)
        return ROT_MOVED;
    if (rc != CF_OK) {
        CF_LOGW("rotation: key %s of tenant %s: %s%s%s", uid, x->who.tenant, cf_status_str(rc),
                x->r.err_msg ? ": " : "", x->r.err_msg ? x->r.err_msg : "");
        return ROT_FAILED;
    }
    if (o == ROT_ROTATED)
        CF_LOGI("rotation: key %s of tenant %s rotated to version %u (cause: policy, due %lld)",
                uid, x->who.tenant, version, (long long)due);
    return o;
}

/* Rotate every Active key of the tenant whose y-next-rotation <= now. */
static cf_status run_due(rot_ctx *x, const char *tenant, cf_arena *page,
                         core_rotation_counts *cnt)
{
    store_criterion c[2] = {
        {.field = STORE_FIELD_ATTR, .name = ATTR_NEXT, .int_op = STORE_INT_RANGE,
         .lo = INT64_MIN, .hi = x->r.now},
        {.field = STORE_FIELD_STATE, .int_op = STORE_INT_EQ, .lo = KMIP_STATE_ACTIVE},
    };
    store_query q = {.tenant = tenant, .crit = c, .n_crit = 2, .limit = ROT_PAGE};
    int64_t examined = 0;
    cf_status rc = CF_OK;

    while (examined < ROT_PASS_MAX) {
        const char **uids;
        size_t n;
        int64_t total, stayed = 0;
        cf_arena_reset(page);
        if ((rc = store_object_find(x->r.st, &q, page, &uids, &n, &total)) != CF_OK || n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            enum rot_outcome o = rotate_due(x, uids[i]);
            cf_arena_reset(x->r.arena);
            cnt->rotated += o == ROT_ROTATED;
            cnt->skipped += o == ROT_MOVED || o == ROT_INACTIVE;
            cnt->failed += o == ROT_FAILED;
            stayed += o == ROT_INACTIVE || o == ROT_FAILED;
        }
        q.offset += stayed;
        examined += (int64_t)n;
    }
    return rc;
}

/* ------------------------------------------------------------ the pass */

static cf_status run_tenant(const core *c, store *st, const char *tenant, int64_t now,
                            cf_arena *page, core_rotation_counts *cnt)
{
    core_rotation_policy dflt;
    rot_ctx x;
    cf_status rc, rc2 = CF_OK;

    if ((rc = rot_ctx_init(&x, c, st, tenant, now, &dflt)) != CF_OK)
        return rc;
    if ((rc = default_read(st, x.r.arena, tenant, &dflt)) == CF_OK && dflt.interval > 0) {
        rc2 = adopt(&x, tenant);
        if (rc2 != CF_OK)
            CF_LOGW("rotation: tenant %s: scheduling new keys failed: %s", tenant,
                    cf_status_str(rc2));
        if (x.changed > 0)
            CF_LOGI("rotation: tenant %s: %lld new keys scheduled by the default policy", tenant,
                    (long long)x.changed);
    }
    if (rc == CF_OK)
        rc = run_due(&x, tenant, page, cnt);
    if (rc != CF_OK)
        CF_LOGW("rotation: tenant %s: %s", tenant, cf_status_str(rc));
    cf_arena_free(x.r.arena);
    return rc != CF_OK ? rc : rc2;
}

cf_status core_rotation_run(const core *c, store *st, int64_t now, core_rotation_counts *out)
{
    cf_arena *ta = cf_arena_new(16 * 1024, 0), *page = cf_arena_new(16 * 1024, 0);
    int64_t offset = 0, total = 0;
    cf_status rc = CF_OK, first = CF_OK;

    memset(out, 0, sizeof *out);
    if (ta == NULL || page == NULL) {
        rc = CF_ERR_NOMEM;
        goto out;
    }
    do {
        store_tenant *ts;
        size_t n;
        cf_arena_reset(ta);
        if ((rc = store_tenant_list(st, offset, ROT_PAGE, ta, &ts, &n, &total)) != CF_OK)
            break;
        for (size_t i = 0; i < n; i++) {
            cf_status r = run_tenant(c, st, ts[i].id, now, page, out);
            if (first == CF_OK)
                first = r;
        }
        offset += (int64_t)n;
        if (n == 0)
            break;
    } while (offset < total);
    if (rc == CF_OK)
        rc = first;
out:
    cf_arena_free(page);
    cf_arena_free(ta);
    return rc;
}

cf_status core_rotation_run_as(core_req *req, const int64_t *at, core_rotation_counts *out)
{
    cf_status rc;

    memset(out, 0, sizeof *out);
    if ((rc = core_req_authorize(req, CORE_ACT_MANAGE_TENANTS, NULL)) != CF_OK)
        return rc;
    if (at != NULL && !req->core->test_clock)
        return core_fail(req, CF_ERR_PERMISSION,
                         "a pass at another time needs a server started with --test-clock");
    if (at != NULL && *at <= 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the time must be after 1970");
    rc = core_rotation_run(req->core, req->st, at ? *at : req->now, out);
    CF_LOGI("rotation pass run by %s%s: %lld rotated, %lld skipped, %lld failed",
            req->who->id ? req->who->id : "?", at ? " at a test time" : "",
            (long long)out->rotated, (long long)out->skipped, (long long)out->failed);
    if (rc != CF_OK)
        return core_fail(req, rc, "the pass could not search every tenant (see the log)");
    return CF_OK;
}
