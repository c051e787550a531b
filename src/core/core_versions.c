/*
 * core_versions.c - versions of root keys: rotation, the material of each
 * version, the per-version encryption ceiling, listing.
 *
 * Where things live. The object row keeps the newest version's material
 * (sealed as every object's, bound to (tenant, uid)), so KMIP Encrypt and
 * Decrypt keep working on a root key with its newest material, and the
 * newest version number in the server-only attribute y-key-version
 * (absent: 1). Each version has a store row (store_key_version) holding
 * its material sealed with AAD bound to (tenant, uid, version), so a
 * version's material cannot pass for another version's or another key's.
 * A key never rotated and never used to wrap has no rows; the first wrap
 * (which reserves encryptions) or the first rotation writes v1's row.
 *
 * Rotation is one store transaction: the new version's row (its primary
 * key (tenant, uid, version) admits one writer), the previous version's
 * row if missing, and the revision-checked update of the object (new
 * material, y-key-version, Digest). Two nodes rotating at once from the
 * same version: the second fails on the row or the revision, reloads, sees
 * the newer version and stops with CF_ERR_CONFLICT rather than rotating
 * again, so one rotation happens.
 *
 * The encryption ceiling (AES-GCM with random nonces: 2^32 per key, NIST
 * SP 800-38D 8.3; lower by policy) is counted in the version row's
 * uses_reserved, reserved in blocks of up to CORE_ENV_RESERVE_BLOCK by a
 * revision-checked update, and spent from a process-wide table without a
 * write per wrap. uses_reserved only grows and never passes the ceiling,
 * so no version encrypts more than its ceiling whatever the number of
 * nodes; a block left unspent when a process stops is simply lost. The
 * table is direct-mapped (a colliding key evicts the slot's remainder).
 */
#include "core/core_env_int.h"

#include <pthread.h>
#include <string.h>

#include "util/log.h"

#define ROTATE_RETRIES 5
#define RESERVE_RETRIES 5
#define RESV_SLOTS 1024

/* ------------------------------------------------------------ basics */

uint32_t core_key_newest(const core_object *obj)
{
    const ttlv_item *v = core_attr_find(obj, CORE_ATTR_KEY_VERSION, 0);
    return v != NULL && v->type == TTLV_INTEGER && v->v.i32 > 0 ? (uint32_t)v->v.i32 : 1;
}

/* tenant NUL uid NUL "v" u32be: never equal to an object's AAD (tenant NUL
 * uid), so version and object material cannot stand in for each other. */
cf_status core_version_aad(cf_arena *a, const char *tenant, const char *uid, uint32_t version,
                           const uint8_t **out, size_t *out_len)
{
    size_t tl = strlen(tenant), ul = strlen(uid), n = tl + 1 + ul + 2 + 4;
    uint8_t *p = cf_arena_alloc(a, n);
    if (p == NULL)
        return CF_ERR_NOMEM;
    memcpy(p, tenant, tl);
    p[tl] = 0;
    memcpy(p + tl + 1, uid, ul);
    p[tl + 1 + ul] = 0;
    p[tl + 2 + ul] = 'v';
    cf_put_be32(p + tl + 3 + ul, version);
    *out = p;
    *out_len = n;
    return CF_OK;
}

static cf_status open_sealed(core_req *req, const core_object *obj, uint32_t version,
                             const uint8_t *sealed, size_t sealed_len, bool object_aad,
                             cf_secret *out)
{
    const uint8_t *aad;
    size_t aad_len;
    cf_status st = object_aad
                       ? core_material_aad(req->arena, obj->tenant, obj->uid, &aad, &aad_len)
                       : core_version_aad(req->arena, obj->tenant, obj->uid, version, &aad,
                                          &aad_len);
    if (st != CF_OK)
        return st;
    st = crypto_open(req->core->keyring, aad, aad_len, sealed, sealed_len, out);
    if (st != CF_OK) {
        CF_LOGE("object %s version %u: sealed material does not open (%s)", obj->uid, version,
                cf_status_str(st));
        return CF_ERR_INTERNAL;
    }
    return CF_OK;
}

cf_status core_version_material(core_req *req, const core_object *obj, uint32_t version,
                                cf_secret *out)
{
    uint32_t newest = core_key_newest(obj);
    store_key_version row;
    cf_status st;

    out->p = NULL;
    out->len = 0;
    if (version == 0 || version > newest)
        return CF_ERR_NOT_FOUND;
    if (version == newest) {
        if (obj->sealed == NULL)
            return CF_ERR_DESTROYED;
        return open_sealed(req, obj, version, obj->sealed, obj->sealed_len, true, out);
    }
    st = store_version_get(req->st, obj->tenant, obj->uid, version, req->arena, &row);
    if (st != CF_OK)
        return st;
    if (row.destroyed || row.material == NULL)
        return CF_ERR_DESTROYED;
    return open_sealed(req, obj, version, row.material, row.material_len, false, out);
}

/* Seal m as version `version` of obj (arena). */
static cf_status seal_version(core_req *req, const core_object *obj, uint32_t version,
                              const cf_secret *m, const uint8_t **out, size_t *out_len)
{
    const uint8_t *aad;
    size_t aad_len;
    cf_buf b;
    cf_status st = core_version_aad(req->arena, obj->tenant, obj->uid, version, &aad, &aad_len);
    if (st != CF_OK)
        return st;
    cf_buf_init(&b, 0);
    st = crypto_seal(req->core->keyring, aad, aad_len, m->p, m->len, &b);
    if (st == CF_OK && (*out = cf_arena_memdup(req->arena, b.p, b.len)) == NULL)
        st = CF_ERR_NOMEM;
    *out_len = b.len;
    cf_buf_free(&b);
    return st;
}

/* The row of obj's newest version as the object holds it (for a key whose
 * rows start now): its material re-sealed as a version. */
static cf_status newest_row(core_req *req, const core_object *obj, store_key_version *row)
{
    uint32_t v = core_key_newest(obj);
    cf_secret m = {0};
    cf_status st = core_version_material(req, obj, v, &m);

    memset(row, 0, sizeof *row);
    if (st == CF_OK)
        st = seal_version(req, obj, v, &m, &row->material, &row->material_len);
    cf_secret_free(&m);
    row->tenant = obj->tenant;
    row->uid = obj->uid;
    row->version = v;
    row->created = v == 1 ? obj->created : req->now;
    row->revision = 1;
    return st;
}

/* ------------------------------------------------ encryption ceiling */

struct resv_slot {
    char tenant[CORE_TENANT_ID_MAX + 1];
    char uid[CF_LIMIT_UID + 1];
    uint32_t version;
    int64_t left;
};

static struct resv_slot resv[RESV_SLOTS];
static pthread_mutex_t resv_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t resv_index(const core_object *obj, uint32_t version)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = obj->tenant; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (const char *p = obj->uid; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ version) * 1099511628211ull;
    return (size_t)(h % RESV_SLOTS);
}

static bool resv_matches(const struct resv_slot *s, const core_object *obj, uint32_t version)
{
    return s->version == version && strcmp(s->tenant, obj->tenant) == 0 &&
           strcmp(s->uid, obj->uid) == 0;
}

/* One encryption from the process's block, if it holds one. */
static bool resv_spend(const core_object *obj, uint32_t version)
{
    struct resv_slot *s = &resv[resv_index(obj, version)];
    bool ok = false;
    pthread_mutex_lock(&resv_lock);
    if (resv_matches(s, obj, version) && s->left > 0) {
        s->left--;
        ok = true;
    }
    pthread_mutex_unlock(&resv_lock);
    return ok;
}

static void resv_put(const core_object *obj, uint32_t version, int64_t left)
{
    struct resv_slot *s = &resv[resv_index(obj, version)];
    if (strlen(obj->tenant) > CORE_TENANT_ID_MAX || strlen(obj->uid) > CF_LIMIT_UID)
        return;
    pthread_mutex_lock(&resv_lock);
    if (resv_matches(s, obj, version)) {
        s->left += left;
    } else {
        strcpy(s->tenant, obj->tenant);
        strcpy(s->uid, obj->uid);
        s->version = version;
        s->left = left;
    }
    pthread_mutex_unlock(&resv_lock);
}

struct reserve_ctx {
    const core_object *obj;
    int64_t ceiling;
    int64_t got;             /* encryptions reserved */
};

/* Is the object in the store (read in the caller's transaction) still the
 * one loaded? A first version row is made from the loaded copy's material:
 * had a Destroy committed since the load (a wrap racing Revoke + Destroy),
 * the row would bring the destroyed material back, live (replayed by
 * tests/integration/test_crash.py). CF_ERR_CONFLICT: the wrap reloads the
 * key, and then sees its state. */
static cf_status still_loaded(core_req *req, const core_object *obj)
{
    store_object cur;
    cf_status st = store_object_get(req->st, obj->tenant, obj->uid, req->arena, &cur);
    return st == CF_OK && cur.revision != obj->revision ? CF_ERR_CONFLICT : st;
}

/* Reserve a block in the newest version's row (creating the row). */
static cf_status reserve_in_txn(core_req *req, void *p)
{
    struct reserve_ctx *c = p;
    const core_object *obj = c->obj;
    uint32_t v = core_key_newest(obj);
    store_key_version row;
    cf_status st = store_version_get(req->st, obj->tenant, obj->uid, v, req->arena, &row);

    if (st == CF_ERR_NOT_FOUND) {
        if ((st = still_loaded(req, obj)) != CF_OK || (st = newest_row(req, obj, &row)) != CF_OK)
            return st;
        c->got = c->ceiling < CORE_ENV_RESERVE_BLOCK ? c->ceiling : CORE_ENV_RESERVE_BLOCK;
        row.uses_reserved = c->got;
        if (c->got <= 0)
            return CF_ERR_USAGE_LIMIT;
        st = store_version_insert(req->st, &row);
        return st == CF_ERR_EXISTS ? CF_ERR_CONFLICT : st;
    }
    if (st != CF_OK)
        return st;
    if (row.destroyed)
        return CF_ERR_DESTROYED;
    if (row.uses_reserved >= c->ceiling)
        return CF_ERR_USAGE_LIMIT;
    c->got = c->ceiling - row.uses_reserved;
    if (c->got > CORE_ENV_RESERVE_BLOCK)
        c->got = CORE_ENV_RESERVE_BLOCK;
    row.uses_reserved += c->got;
    row.revision++;
    return store_version_update(req->st, &row);
}

cf_status core_version_take(core_req *req, const core_object *obj)
{
    uint32_t v = core_key_newest(obj);
    struct reserve_ctx c = {.obj = obj};
    cf_status st = CF_ERR_CONFLICT;

    if (resv_spend(obj, v))
        return CF_OK;
    c.ceiling = core_version_ceiling(req, obj); /* read only when reserving */
    for (int i = 0; i < RESERVE_RETRIES && st == CF_ERR_CONFLICT; i++)
        st = core_in_txn(req, reserve_in_txn, &c);
    if (st == CF_OK)
        resv_put(obj, v, c.got - 1); /* one is this wrap's */
    return st;
}

int64_t core_version_ceiling(core_req *req, const core_object *obj)
{
    core_rotation_info info;
    int64_t c = 0;
    if (core_rotation_policy_effective(req, obj, &info) == CF_OK)
        c = info.policy.max_encryptions;
    return c > 0 && c < CORE_ENV_CEILING_DEFAULT ? c : CORE_ENV_CEILING_DEFAULT;
}

/* ---------------------------------------------------------- rotation */

static const char *cause_name(core_rotate_cause c)
{
    switch (c) {
    case CORE_ROTATE_MANUAL: return "manual";
    case CORE_ROTATE_POLICY: return "policy";
    case CORE_ROTATE_CEILING: return "ceiling";
    case CORE_ROTATE_KMIP_REKEY: return "kmip-rekey";
    case CORE_ROTATE_IMPORT: return "import";
    default: return "unknown";
    }
}

/* Digest of the new material (1.4 3.17), in place of the old one. */
static cf_status put_digest(core_req *req, core_object *obj, const cf_secret *m)
{
    uint8_t d[32];
    ttlv_item *v = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTE_VALUE);
    ttlv_item *h = ttlv_new_enum(req->arena, KMIP_TAG_HASHING_ALGORITHM,
                                 KMIP_HASHING_ALGORITHM_SHA_256);
    ttlv_item *dv, *kf;
    cf_status st = crypto_sha256(m->p, m->len, d);

    if (st != CF_OK)
        return st;
    dv = ttlv_new_bytes(req->arena, KMIP_TAG_DIGEST_VALUE, d, sizeof d);
    kf = ttlv_new_enum(req->arena, KMIP_TAG_KEY_FORMAT_TYPE, CORE_KEY_FORMAT(obj));
    if (!v || !h || !dv || !kf)
        return CF_ERR_NOMEM;
    ttlv_append(v, h);
    ttlv_append(v, dv);
    ttlv_append(v, kf);
    return core_attr_put(req, obj, "Digest", v);
}

struct rotate_ctx {
    core_object *obj;
    uint32_t newest;             /* before the rotation */
    store_key_version prev;      /* the newest version's row, if missing */
    store_key_version next;      /* the new version's row */
};

/* The rows and the object update, in one transaction. */
static cf_status rotate_in_txn(core_req *req, void *p)
{
    struct rotate_ctx *c = p;
    store_key_version row;
    cf_status st = store_version_get(req->st, c->obj->tenant, c->obj->uid, c->newest,
                                     req->arena, &row);
    if (st == CF_ERR_NOT_FOUND)
        st = store_version_insert(req->st, &c->prev);
    if (st == CF_OK)
        st = store_version_insert(req->st, &c->next);
    if (st == CF_ERR_EXISTS)
        return CF_ERR_CONFLICT; /* another rotation took this version number */
    if (st == CF_OK)
        st = core_object_save(req, c->obj, false);
    return st;
}

/* The rows of a rotation: the current newest version's (written if the
 * key has none yet) and the new one's. */
static cf_status rotate_rows(core_req *req, struct rotate_ctx *c, const cf_secret *cur,
                             const cf_secret *m)
{
    const core_object *obj = c->obj;
    cf_status st;
    c->prev = (store_key_version){.tenant = obj->tenant, .uid = obj->uid, .version = c->newest,
                                  .created = c->newest == 1 ? obj->created : req->now,
                                  .revision = 1};
    c->next = (store_key_version){.tenant = obj->tenant, .uid = obj->uid,
                                  .version = c->newest + 1, .created = req->now, .revision = 1};
    st = seal_version(req, obj, c->newest, cur, &c->prev.material, &c->prev.material_len);
    if (st == CF_OK)
        st = seal_version(req, obj, c->newest + 1, m, &c->next.material, &c->next.material_len);
    return st;
}

/* New material for obj, sealed as the object's and as version newest + 1;
 * the object edited (y-key-version, Digest, opts->edit), unsaved. */
static cf_status rotate_prepare(core_req *req, struct rotate_ctx *c, const core_rotate_opts *o)
{
    core_object *obj = c->obj;
    cf_secret cur = {0}, m = {0};
    ttlv_item *v;
    cf_status st = core_version_material(req, obj, c->newest, &cur);

    if (st == CF_OK && o != NULL && o->material != NULL) /* BYOK (core_byok.c) */
        st = o->material->len != cur.len ? CF_ERR_INVALID_FIELD
                                         : cf_secret_dup(&m, o->material->p, o->material->len);
    else if (st == CF_OK)
        st = crypto_random_secret(cur.len, &m);
    if (st == CF_OK)
        st = rotate_rows(req, c, &cur, &m);
    if (st == CF_OK)
        st = core_object_seal(req, obj, &m);
    if (st == CF_OK) {
        v = ttlv_new_int(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)(c->newest + 1));
        st = v ? core_attr_put(req, obj, CORE_ATTR_KEY_VERSION, v) : CF_ERR_NOMEM;
    }
    if (st == CF_OK)
        st = put_digest(req, obj, &m);
    if (st == CF_OK && o != NULL && o->edit != NULL)
        st = o->edit(req, obj, o->ctx);
    cf_secret_free(&cur);
    cf_secret_free(&m);
    return st;
}

cf_status core_key_rotate_obj(core_req *req, core_object *obj, core_rotate_cause cause,
                              const core_rotate_opts *opts, uint32_t *out_version)
{
    struct rotate_ctx c = {.obj = obj, .newest = core_key_newest(obj)};
    uint32_t state = core_object_effective_state(obj, req->now);
    cf_status st;

    *out_version = c.newest;
    if (!core_is_root_key(obj))
        return core_fail(req, CF_ERR_OBJECT_TYPE,
                         "only root keys (AES, not extractable, wrap/unwrap use) have versions");
    if (state != KMIP_STATE_ACTIVE && state != KMIP_STATE_PRE_ACTIVE)
        return core_fail(req, CF_ERR_STATE, "only a Pre-Active or Active key can be rotated");
    if (opts != NULL && opts->expect_version != 0 && opts->expect_version != c.newest)
        return core_fail(req, CF_ERR_CONFLICT, "the key was rotated meanwhile (version %u)",
                         c.newest);
    if (c.newest >= INT32_MAX)
        return core_fail(req, CF_ERR_LIMIT, "the key has too many versions");
    if ((st = rotate_prepare(req, &c, opts)) != CF_OK)
        return st;
    core_object_touch(obj, req->now);
    obj->revision++;
    if ((st = core_in_txn(req, rotate_in_txn, &c)) != CF_OK)
        return st;
    *out_version = c.newest + 1;
    CF_LOGI("rotate %s/%s: version %u -> %u (%s) by %s", obj->tenant, obj->uid, c.newest,
            c.newest + 1, cause_name(cause), req->who && req->who->id ? req->who->id : "server");
    return CF_OK;
}

cf_status core_key_rotate_ex(core_req *req, const char *uid, core_rotate_cause cause,
                             const core_rotate_opts *opts, uint32_t *out_version)
{
    core_rotate_opts o = opts ? *opts : (core_rotate_opts){0};
    core_object *obj;
    cf_status st = CF_OK;

    *out_version = 0;
    for (int i = 0; i < ROTATE_RETRIES; i++) {
        if ((st = core_object_load(req, uid, &obj)) != CF_OK ||
            (st = core_req_authorize(req, CORE_ACT_REKEY, obj)) != CF_OK)
            return st;
        /* After a conflict the version first seen stays the one expected:
         * a rotation that happened meanwhile is this one's (no second). */
        if (o.expect_version == 0) {
            o.expect_version = core_key_newest(obj);
        } else if (core_key_newest(obj) != o.expect_version) {
            *out_version = core_key_newest(obj);
            return core_fail(req, CF_ERR_CONFLICT,
                             "the key was rotated at the same moment (version %u)",
                             *out_version);
        }
        st = core_key_rotate_obj(req, obj, cause, &o, out_version);
        if (st != CF_ERR_CONFLICT)
            return st;
    }
    return core_fail(req, CF_ERR_CONFLICT, "the key is being modified concurrently");
}

cf_status core_key_rotate(core_req *req, const char *uid, core_rotate_cause cause,
                          uint32_t *out_version)
{
    return core_key_rotate_ex(req, uid, cause, NULL, out_version);
}

/* ----------------------------------------------------------- listing */

cf_status core_key_versions(core_req *req, const char *uid, int64_t offset, int64_t limit,
                            core_key_version **out, size_t *out_n, int64_t *out_total)
{
    core_object *obj;
    store_key_version *rows, v1 = {.version = 1};
    size_t n;
    cf_status st;

    *out = NULL;
    *out_n = 0;
    *out_total = 0;
    if ((st = core_object_load(req, uid, &obj)) != CF_OK ||
        (st = core_req_authorize(req, CORE_ACT_READ_METADATA, obj)) != CF_OK)
        return st;
    if (!core_is_root_key(obj))
        return core_fail(req, CF_ERR_OBJECT_TYPE, "only root keys have versions");
    st = store_version_list(req->st, obj->tenant, obj->uid, offset, limit, req->arena, &rows,
                            &n, out_total);
    if (st != CF_OK)
        return st;
    if (*out_total == 0) { /* never rotated nor used: version 1 is the object */
        v1.created = obj->created;
        v1.destroyed = core_state_is_destroyed(obj->state);
        *out_total = 1;
        rows = &v1;
        n = offset == 0 && limit != 0 ? 1 : 0;
    }
    if (n > 0 && (*out = cf_arena_calloc(req->arena, n * sizeof **out)) == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        (*out)[i] = (core_key_version){.version = rows[i].version, .created = rows[i].created,
                                       .destroyed = rows[i].destroyed,
                                       .encryptions = rows[i].uses_reserved};
    *out_n = n;
    return CF_OK;
}

/* ------------------------------------------------------------ destroy */

cf_status core_versions_destroy(core_req *req, const core_object *obj)
{
    store_key_version *rows;
    size_t n;
    int64_t total;
    cf_status st;

    if (!core_is_root_key(obj))
        return CF_OK;
    st = store_version_list(req->st, obj->tenant, obj->uid, 0, -1, req->arena, &rows, &n,
                            &total);
    for (size_t i = 0; st == CF_OK && i < n; i++) {
        if (rows[i].destroyed)
            continue;
        rows[i].destroyed = true;
        rows[i].material = NULL;
        rows[i].material_len = 0;
        rows[i].revision++;
        st = store_version_update(req->st, &rows[i]);
    }
    return st;
}
