/*
 * core_object.c - managed objects: create, load, key material, attributes.
 *
 * Every write is one store transaction committed (durably) before the
 * caller answers its client. Read-modify-write operations carry the row's
 * revision and retry on CF_ERR_CONFLICT, so concurrent workers (or nodes)
 * never lose each other's updates.
 */
#include "core/core_int.h"

#include <string.h>

#include "util/limits.h"
#include "util/log.h"

#define CORE_WRITE_RETRIES 5

/* Limits for decoding our own stored attribute blobs: generous but bounded. */
static const ttlv_limits stored_limits = {
    .max_bytes = 16u * 1024u * 1024u,
    .max_depth = CF_LIMIT_TTLV_DEPTH,
    .max_items = CF_LIMIT_OBJECT_ATTRS * 16u,
    .max_string = CF_LIMIT_STRING,
};

/* AAD binding sealed material to its row: tenant NUL uid. */
cf_status core_material_aad(cf_arena *a, const char *tenant, const char *uid,
                              const uint8_t **out, size_t *out_len)
{
    size_t tl = strlen(tenant), ul = strlen(uid);
    uint8_t *p = cf_arena_alloc(a, tl + 1 + ul);
    if (p == NULL)
        return CF_ERR_NOMEM;
    memcpy(p, tenant, tl);
    p[tl] = 0;
    memcpy(p + tl + 1, uid, ul);
    *out = p;
    *out_len = tl + 1 + ul;
    return CF_OK;
}

/* The store row of obj; blob receives its encoded attributes. */
static cf_status object_row(core_req *req, core_object *obj, cf_buf *blob, store_object *row)
{
    const ttlv_item *alg, *len;
    cf_status st;

    memset(row, 0, sizeof *row);
    if ((st = ttlv_encode(obj->attrs, blob)) != CF_OK)
        return st;
    alg = core_attr_find(obj, "Cryptographic Algorithm", 0);
    len = core_attr_find(obj, "Cryptographic Length", 0);
    row->tenant = obj->tenant;
    row->uid = obj->uid;
    row->object_type = obj->object_type;
    row->state = obj->state;
    row->owner = obj->owner;
    row->algorithm = alg && alg->type == TTLV_ENUMERATION ? alg->v.u32 : 0;
    row->length = len && len->type == TTLV_INTEGER ? len->v.i32 : 0;
    row->created = obj->created;
    row->updated = obj->updated;
    row->revision = obj->revision;
    row->attrs = blob->p;
    row->attrs_len = blob->len;
    row->key_format = obj->key_format;
    row->material = obj->sealed;
    row->material_len = obj->sealed_len;
    return core_index_entries(req, obj, &row->index, &row->n_index);
}

#define CORE_SAVE_MAX 4

/* ----------------------------------------------------------- unique names */
/*
 * "Names SHALL be unique within a given key management server" (2.1
 * section 4.32; 1.4 section 3.2: domain): here within a tenant, among the
 * objects that are not destroyed (a destroyed object keeps its metadata,
 * and its name may be reused). Checked in the transaction that writes the
 * objects, before the writes, with the store's Name index: the store's
 * write transaction excludes every other writer (SQLite: BEGIN IMMEDIATE,
 * and an in-process mutex), so no other object can take the name between
 * the check and the commit; a back end without that guarantee needs a
 * unique index instead. Inserts are always checked, updates only when an
 * edit touched a Name (so objects that predate the rule keep working).
 * The objects saved together are judged on their new attributes: ReKey
 * moves names from the old key to the new one in one save.
 */

/* The Name Value of a canonical Name attribute item, or NULL. */
static const ttlv_item *name_value(const ttlv_item *attr)
{
    const char *n;
    size_t nl;
    int32_t idx;
    const ttlv_item *v;
    if (!core_attr_parts(attr, &n, &nl, &idx, &v) || nl != 4 || memcmp(n, "Name", 4) != 0)
        return NULL;
    v = ttlv_child(v, KMIP_TAG_NAME_VALUE);
    return v != NULL && v->type == TTLV_TEXT_STRING ? v : NULL;
}

/* Does any Name of objs other than the instance `self` have value v? */
static bool name_in_batch(core_object *const *objs, size_t n, const ttlv_item *self,
                          const ttlv_item *v)
{
    for (size_t i = 0; i < n; i++)
        for (const ttlv_item *it = objs[i]->attrs->first; it; it = it->next) {
            const ttlv_item *o = it != self ? name_value(it) : NULL;
            if (o != NULL && o->v.s.len == v->v.s.len && memcmp(o->v.s.p, v->v.s.p, o->v.s.len) == 0)
                return true;
        }
    return false;
}

/* Does an object outside objs, not destroyed, have the Name value v? */
static cf_status name_in_store(core_req *req, core_object *const *objs, size_t n,
                               const ttlv_item *v, bool *out)
{
    store_criterion c[3] = {
        {.field = STORE_FIELD_ATTR, .name = "Name", .text_op = STORE_TEXT_EQ,
         .text = v->v.s.p, .text_len = v->v.s.len},
        {.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE, .lo = KMIP_STATE_DESTROYED},
        {.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE,
         .lo = KMIP_STATE_DESTROYED_COMPROMISED},
    };
    store_query q = {.tenant = objs[0]->tenant, .crit = c, .n_crit = 3,
                     .limit = CORE_SAVE_MAX + 1};
    const char **uids;
    size_t found;
    int64_t total;
    cf_status st = store_object_find(req->st, &q, req->arena, &uids, &found, &total);

    *out = false;
    for (size_t i = 0; st == CF_OK && i < found && !*out; i++) {
        bool ours = false;
        for (size_t j = 0; j < n && !ours; j++)
            ours = strcmp(uids[i], objs[j]->uid) == 0;
        *out = !ours;
    }
    return st;
}

static cf_status check_names(core_req *req, core_object *const *objs, const bool *insert,
                             size_t n)
{
    if (req->core->allow_duplicate_names)
        return CF_OK;
    for (size_t i = 0; i < n; i++) {
        if (!insert[i] && !objs[i]->names_changed)
            continue;
        for (const ttlv_item *it = objs[i]->attrs->first; it; it = it->next) {
            const ttlv_item *v = name_value(it);
            bool taken = false;
            cf_status st;
            if (v == NULL)
                continue;
            taken = name_in_batch(objs, n, it, v);
            if (!taken && (st = name_in_store(req, objs, n, v, &taken)) != CF_OK)
                return st;
            if (taken)
                return core_fail(req, insert[i] ? CF_ERR_NAME_TAKEN : CF_ERR_NAME_TAKEN_EDIT,
                                 "the Name '%.*s' is already in use", (int)v->v.s.len,
                                 (const char *)v->v.s.p);
        }
    }
    return CF_OK;
}

/* Write objects (insert, or update checked against revision - 1) in one
 * transaction, committed durably. */
cf_status core_objects_save(core_req *req, core_object *const *objs, const bool *insert, size_t n)
{
    cf_buf blob[CORE_SAVE_MAX];
    store_object row[CORE_SAVE_MAX];
    cf_status st = CF_OK;

    if (n == 0 || n > CORE_SAVE_MAX)
        return CF_ERR_INTERNAL;
    for (size_t i = 0; i < n; i++)
        cf_buf_init(&blob[i], stored_limits.max_bytes);
    for (size_t i = 0; i < n && st == CF_OK; i++)
        st = object_row(req, objs[i], &blob[i], &row[i]);
    /* In a batch transaction (KMIP Undo) the caller commits or rolls back
     * the whole; a failure here fails the batch, which rolls back. */
    if (st != CF_OK || (!req->batch_txn && (st = store_begin(req->st)) != CF_OK))
        goto out;
    st = check_names(req, objs, insert, n);
    for (size_t i = 0; i < n && st == CF_OK; i++) {
        if (insert[i])
            core_audit_object(req, objs[i]); /* a creation records its new object */
        st = insert[i] ? store_object_insert(req->st, &row[i])
                       : store_object_update(req->st, &row[i]);
        /* A destroyed root key's versions lose their material with it
         * (core_versions.c), in this transaction. */
        if (st == CF_OK && !insert[i] && objs[i]->sealed == NULL &&
            core_state_is_destroyed(objs[i]->state))
            st = core_versions_destroy(req, objs[i]);
    }
    if (st == CF_OK && !req->batch_txn)
        st = core_commit(req);
    if (st != CF_OK && !req->batch_txn)
        store_rollback(req->st);
out:
    for (size_t i = 0; i < n; i++)
        cf_buf_free(&blob[i]);
    return st;
}

/* Write obj to the store (insert or revision-checked update) and commit. */
cf_status core_object_save(core_req *req, core_object *obj, bool insert)
{
    return core_objects_save(req, &obj, &insert, 1);
}

static ttlv_item *attrs_copy_indexed(core_req *req, const ttlv_item *in, cf_status *st);

/* Server-set attributes of a new object. */
static cf_status add_server_attrs(core_req *req, core_object *obj)
{
    cf_arena *a = req->arena;
    ttlv_item *v;
    unsigned n;

    v = ttlv_new_datetime(a, KMIP_TAG_ATTRIBUTE_VALUE, req->now);
    if (!v)
        return CF_ERR_NOMEM;
    ttlv_item *init = core_attr_new(a, "Initial Date", 0, v);
    ttlv_item *last = core_attr_new(a, "Last Change Date", 0, v);
    if (!init || !last)
        return CF_ERR_NOMEM;
    ttlv_append(obj->attrs, init);
    ttlv_append(obj->attrs, last);
    core_attr_next_index(obj->attrs, "Operation Policy Name", 21, &n);
    if (n == 0) {
        ttlv_item *pol = ttlv_new_text(a, KMIP_TAG_ATTRIBUTE_VALUE, "default", 7);
        ttlv_item *attr = pol ? core_attr_new(a, "Operation Policy Name", 0, pol) : NULL;
        if (!attr)
            return CF_ERR_NOMEM;
        ttlv_append(obj->attrs, attr);
    }
    return core_attr_defaults(req, obj);
}

cf_status core_object_new(core_req *req, uint32_t type, const ttlv_item *attrs, core_object **out)
{
    core_object *obj;
    cf_status st = CF_OK;

    *out = NULL;
    if ((st = core_req_authorize(req, CORE_ACT_CREATE, NULL)) != CF_OK)
        return st;
    obj = cf_arena_calloc(req->arena, sizeof *obj);
    if (obj == NULL)
        return CF_ERR_NOMEM;
    obj->attrs = attrs_copy_indexed(req, attrs, &st);
    if (obj->attrs == NULL)
        return st;
    if ((st = core_new_uid(req->arena, &obj->uid)) != CF_OK)
        return st;
    obj->tenant = req->who->tenant;
    obj->owner = req->who->id;
    obj->object_type = type;
    obj->created = obj->updated = req->now;
    obj->revision = 1;
    /* 1.4 section 3.22 item 1: Pre-Active, then the transitions of the
     * dates already reached (Activation, Deactivation); later ones are
     * applied when loaded. */
    obj->state = KMIP_STATE_PRE_ACTIVE;
    core_object_effective_state(obj, req->now);
    if ((st = add_server_attrs(req, obj)) != CF_OK)
        return st;
    *out = obj;
    return CF_OK;
}

cf_status core_object_append_attr(core_req *req, core_object *obj, const char *name,
                                  const ttlv_item *value)
{
    unsigned count;
    int32_t idx = core_attr_next_index(obj->attrs, name, strlen(name), &count);
    ttlv_item *attr = core_attr_new(req->arena, name, idx, value);
    if (attr == NULL)
        return CF_ERR_NOMEM;
    ttlv_append(obj->attrs, attr);
    return CF_OK;
}

/* Digest (1.4 section 3.17): SHA-256 over the Key Material (bytes, or the
 * TTLV encoding of a structure), the Certificate Value or the Opaque Data
 * Value as registered; Key Format Type only for keys and secret data. */
cf_status core_object_digest(core_req *req, core_object *obj, const uint8_t *p, size_t n,
                             uint32_t key_format)
{
    uint8_t d[32];
    ttlv_item *v = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTE_VALUE);
    ttlv_item *h = ttlv_new_enum(req->arena, KMIP_TAG_HASHING_ALGORITHM, KMIP_HASHING_ALGORITHM_SHA_256);
    ttlv_item *dv, *kf = NULL;
    cf_status st;

    if ((st = crypto_sha256(p, n, d)) != CF_OK)
        return st;
    dv = ttlv_new_bytes(req->arena, KMIP_TAG_DIGEST_VALUE, d, sizeof d);
    if (key_format != 0)
        kf = ttlv_new_enum(req->arena, KMIP_TAG_KEY_FORMAT_TYPE, key_format);
    if (!v || !h || !dv || (key_format != 0 && !kf))
        return CF_ERR_NOMEM;
    ttlv_append(v, h);
    ttlv_append(v, dv);
    if (kf)
        ttlv_append(v, kf);
    return core_object_append_attr(req, obj, "Digest", v);
}

cf_status core_object_seal(core_req *req, core_object *obj, const cf_secret *key)
{
    const uint8_t *aad;
    size_t aad_len;
    cf_buf sealed;
    cf_status st;

    if ((st = core_material_aad(req->arena, obj->tenant, obj->uid, &aad, &aad_len)) != CF_OK)
        return st;
    cf_buf_init(&sealed, 0);
    st = crypto_seal(req->core->keyring, aad, aad_len, key->p, key->len, &sealed);
    if (st == CF_OK) {
        obj->sealed = cf_arena_memdup(req->arena, sealed.p, sealed.len);
        obj->sealed_len = sealed.len;
        if (obj->sealed == NULL)
            st = CF_ERR_NOMEM;
    }
    cf_buf_free(&sealed);
    return st;
}

/* Algorithm and length of a symmetric key to create, checked against what
 * Coffre (and this OpenSSL) can make; *out_bytes of random to draw. */
static cf_status check_symmetric(core_req *req, const core_object *obj, size_t *out_bytes)
{
    const ttlv_item *alg = core_attr_find(obj, "Cryptographic Algorithm", 0);
    const ttlv_item *len = core_attr_find(obj, "Cryptographic Length", 0);
    const char *why = NULL;
    if (alg == NULL)
        return core_fail(req, CF_ERR_MISSING, "Cryptographic Algorithm is required");
    if (len == NULL)
        return core_fail(req, CF_ERR_MISSING, "Cryptographic Length is required");
    if (crypto_sym_check(alg->v.u32, len->v.i32, out_bytes, &why) != CF_OK)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Cryptographic Algorithm %u, length %d: %s",
                         alg->v.u32, len->v.i32, why);
    return CF_OK;
}

/* DES keys carry odd parity in the low bit of each byte (FIPS 46-3). */
static void des_set_parity(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = p[i] >> 1, ones = 0;
        for (unsigned b = v; b; b >>= 1)
            ones += b & 1;
        p[i] = (uint8_t)((v << 1) | ((ones & 1) ? 0 : 1));
    }
}

/* New symmetric key material for obj's algorithm (and length in bytes). */
cf_status core_symmetric_material(const core_object *obj, size_t bytes, cf_secret *out)
{
    const ttlv_item *alg = core_attr_find(obj, "Cryptographic Algorithm", 0);
    cf_status st = crypto_random_secret(bytes, out);
    if (st == CF_OK && alg && (alg->v.u32 == KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES ||
                               alg->v.u32 == KMIP_CRYPTOGRAPHIC_ALGORITHM_DES))
        des_set_parity(out->p, out->len);
    return st;
}

cf_status core_create_symmetric_key(core_req *req, const ttlv_item *attrs, core_object **out)
{
    core_object *obj;
    cf_secret key = {0};
    size_t bytes = 0;
    cf_status st;

    *out = NULL;
    if ((st = core_object_new(req, KMIP_OBJECT_TYPE_SYMMETRIC_KEY, attrs, &obj)) != CF_OK)
        return st;
    if ((st = check_symmetric(req, obj, &bytes)) != CF_OK)
        return st;
    obj->key_format = KMIP_KEY_FORMAT_TYPE_RAW;
    if ((st = core_symmetric_material(obj, bytes, &key)) != CF_OK)
        goto out;
    if ((st = core_object_digest(req, obj, key.p, key.len, obj->key_format)) != CF_OK)
        goto out;
    if ((st = core_object_seal(req, obj, &key)) != CF_OK)
        goto out;
    if ((st = core_object_save(req, obj, true)) != CF_OK)
        goto out;
    *out = obj;
out:
    cf_secret_free(&key);
    return st;
}

/* Copy client attributes, validating each and assigning indexes per name
 * in order of appearance (KMIP: the server assigns Attribute Index). */
static ttlv_item *attrs_copy_indexed(core_req *req, const ttlv_item *in, cf_status *st)
{
    ttlv_item *list = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTES);
    if (list == NULL) {
        *st = CF_ERR_NOMEM;
        return NULL;
    }
    for (const ttlv_item *it = in ? in->first : NULL; it; it = it->next) {
        const char *name;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        unsigned count;
        const struct core_attr_rule *r;
        ttlv_item *copy;
        char *cname;

        if (!core_attr_parts(it, &name, &nl, &idx, &v)) {
            *st = core_fail(req, CF_ERR_INVALID_FIELD, "malformed Attribute");
            return NULL;
        }
        if ((*st = core_attr_check(req, name, nl, v, true)) != CF_OK)
            return NULL;
        idx = core_attr_next_index(list, name, nl, &count);
        r = core_attr_rule(name, nl);
        if (count > 0 && r != NULL && !(r->flags & CORE_ATTR_MULTI)) {
            *st = core_fail(req, CF_ERR_INVALID_FIELD, "attribute '%s' may appear once", r->name);
            return NULL;
        }
        if (list->nchildren >= CF_LIMIT_OBJECT_ATTRS) {
            *st = core_fail(req, CF_ERR_LIMIT, "too many attributes");
            return NULL;
        }
        cname = cf_arena_strndup(req->arena, name, nl);
        copy = cname ? core_attr_new(req->arena, cname, idx, v) : NULL;
        if (copy == NULL) {
            *st = CF_ERR_NOMEM;
            return NULL;
        }
        ttlv_append(list, copy);
    }
    *st = CF_OK;
    return list;
}

cf_status core_object_load(core_req *req, const char *uid, core_object **out)
{
    store_object row;
    core_object *obj;
    ttlv_item *attrs = NULL;
    ttlv_error err;
    cf_status st;

    *out = NULL;
    core_audit_object_id(req, uid); /* recorded even when not found */
    if (core_authenticated(req->who) != CF_OK)
        return core_fail(req, CF_ERR_AUTH, "authentication is required");
    /* Objects are keyed by tenant: another tenant's are not found, and
     * neither are those outside the caller's restriction (core_authz.c). */
    if (uid == NULL || strlen(uid) > CF_LIMIT_UID || req->who->tenant == NULL ||
        !core_identity_sees(req->who, uid))
        return core_fail(req, CF_ERR_NOT_FOUND, "no object with this Unique Identifier");
    st = store_object_get(req->st, req->who->tenant, uid, req->arena, &row);
    if (st == CF_ERR_NOT_FOUND)
        return core_fail(req, st, "no object with this Unique Identifier");
    if (st != CF_OK)
        return st;
    st = ttlv_decode(row.attrs, row.attrs_len, &stored_limits, req->arena, &attrs, &err);
    if (st != CF_OK || attrs->type != TTLV_STRUCTURE) {
        CF_LOGE("object %s: stored attributes do not decode (%s at %zu)", uid,
                ttlv_err_str(err.code), err.offset);
        return CF_ERR_STORE;
    }
    obj = cf_arena_calloc(req->arena, sizeof *obj);
    if (obj == NULL)
        return CF_ERR_NOMEM;
    obj->tenant = row.tenant;
    obj->uid = row.uid;
    obj->owner = row.owner;
    obj->object_type = row.object_type;
    obj->state = row.state;
    obj->created = row.created;
    obj->updated = row.updated;
    obj->revision = row.revision;
    obj->attrs = attrs;
    obj->sealed = row.material;
    obj->sealed_len = row.material_len;
    obj->key_format = row.key_format;
    core_object_effective_state(obj, req->now); /* dates reached since the last write */
    core_audit_object(req, obj); /* the record names its object (core_audit.c) */
    *out = obj;
    return CF_OK;
}

cf_status core_object_material(core_req *req, const core_object *obj, cf_secret *out)
{
    const uint8_t *aad;
    size_t aad_len;
    cf_status st;

    out->p = NULL;
    out->len = 0;
    if ((st = core_req_authorize(req, CORE_ACT_READ_MATERIAL, obj)) != CF_OK)
        return st; /* a Reader never gets key material */
    if (core_state_is_destroyed(obj->state))
        return core_fail(req, CF_ERR_DESTROYED, "the object is destroyed");
    if (obj->state != KMIP_STATE_PRE_ACTIVE && obj->state != KMIP_STATE_ACTIVE)
        return core_fail(req, CF_ERR_STATE, "the object's state does not allow Get");
    if (obj->sealed == NULL)
        return core_fail(req, CF_ERR_NOT_FOUND, "the object has no key material");
    if ((st = core_material_aad(req->arena, obj->tenant, obj->uid, &aad, &aad_len)) != CF_OK)
        return st;
    st = crypto_open(req->core->keyring, aad, aad_len, obj->sealed, obj->sealed_len, out);
    if (st != CF_OK) {
        CF_LOGE("object %s: sealed material does not open (%s)", obj->uid, cf_status_str(st));
        return CF_ERR_INTERNAL;
    }
    return CF_OK;
}

/* The Key Format Type attribute (2.1 section 4.26, "always has a value"):
 * the format the material is kept in; once destroyed (the row keeps no
 * material, nor its format), the format its Digest was computed in, which
 * is the same; else the default of Table 81 for objects without a Key
 * Block (Certificate: X.509, Opaque Object: Opaque). Derived, never
 * stored, so it cannot drift from the material. */
static uint32_t key_format_attr(const core_object *obj)
{
    uint32_t f = CORE_KEY_FORMAT(obj);
    const ttlv_item *d = core_attr_find(obj, "Digest", 0);
    if (f != 0)
        return f;
    if (d != NULL && ttlv_get_enum(d, KMIP_TAG_KEY_FORMAT_TYPE, &f) == CF_OK && f != 0)
        return f;
    return obj->object_type == KMIP_OBJECT_TYPE_CERTIFICATE ? KMIP_KEY_FORMAT_TYPE_X_509
           : obj->object_type == KMIP_OBJECT_TYPE_OPAQUE_OBJECT ? KMIP_KEY_FORMAT_TYPE_OPAQUE
                                                                : KMIP_KEY_FORMAT_TYPE_RAW;
}

cf_status core_object_check_export(core_req *req, const core_object *obj, bool wrapped)
{
    const ttlv_item *v;
    cf_status st;

    if ((st = core_req_authorize(req, CORE_ACT_READ_MATERIAL, obj)) != CF_OK)
        return st; /* who may not read it learns nothing more */
    if (core_state_is_destroyed(obj->state))
        return CF_OK; /* Get answers that it is destroyed */
    v = core_attr_find(obj, "Extractable", 0);
    if (v != NULL && v->type == TTLV_BOOLEAN && !v->v.b) /* 1.4 3.50, 2.1 4.23 */
        return core_fail(req, CF_ERR_NOT_EXTRACTABLE, "the object is not extractable");
    v = core_attr_find(obj, "Sensitive", 0);
    if (!wrapped && v != NULL && v->type == TTLV_BOOLEAN && v->v.b) /* 1.4 3.48, 2.1 4.55 */
        return core_fail(req, CF_ERR_SENSITIVE,
                         "the object is sensitive: it is served wrapped only");
    return CF_OK;
}

static cf_status served_once(core_req *req, const char *uid)
{
    core_object *obj;
    const ttlv_item *f;
    ttlv_item *no;
    cf_status st;

    if ((st = core_object_load(req, uid, &obj)) != CF_OK)
        return st;
    f = core_attr_find(obj, "Fresh", 0);
    if (f != NULL && f->type == TTLV_BOOLEAN && !f->v.b)
        return CF_OK;
    if ((no = ttlv_new_bool(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, false)) == NULL)
        return CF_ERR_NOMEM;
    if ((st = core_attr_put(req, obj, "Fresh", no)) != CF_OK)
        return st;
    obj->revision++; /* Fresh is the server's bookkeeping: Last Change Date stays */
    return core_object_save(req, obj, false);
}

cf_status core_object_served(core_req *req, const core_object *obj)
{
    const ttlv_item *f = core_attr_find(obj, "Fresh", 0);
    cf_status st;

    if (f != NULL && f->type == TTLV_BOOLEAN && !f->v.b)
        return CF_OK; /* served before: no write */
    for (int i = 0; i < CORE_WRITE_RETRIES; i++) {
        st = served_once(req, obj->uid);
        if (st != CF_ERR_CONFLICT)
            return st;
    }
    return core_fail(req, CF_ERR_CONFLICT, "the object is being modified concurrently");
}

cf_status core_object_attributes(core_req *req, const core_object *obj, ttlv_item **out)
{
    cf_arena *a = req->arena;
    ttlv_item *list = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTES);
    ttlv_item *uid = ttlv_new_text(a, KMIP_TAG_ATTRIBUTE_VALUE, obj->uid, strlen(obj->uid));
    ttlv_item *type = ttlv_new_enum(a, KMIP_TAG_ATTRIBUTE_VALUE, obj->object_type);
    ttlv_item *state = ttlv_new_enum(a, KMIP_TAG_ATTRIBUTE_VALUE, obj->state);
    ttlv_item *kft = ttlv_new_enum(a, KMIP_TAG_ATTRIBUTE_VALUE, key_format_attr(obj));
    ttlv_item *x[4];
    cf_status st;

    *out = NULL;
    if ((st = core_req_authorize(req, CORE_ACT_READ_METADATA, obj)) != CF_OK)
        return st;
    if (!list || !uid || !type || !state || !kft)
        return CF_ERR_NOMEM;
    x[0] = core_attr_new(a, "Unique Identifier", 0, uid);
    x[1] = core_attr_new(a, "Object Type", 0, type);
    x[2] = core_attr_new(a, "State", 0, state);
    x[3] = core_attr_new(a, "Key Format Type", 0, kft);
    for (int i = 0; i < 4; i++) {
        if (x[i] == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(list, x[i]);
    }
    for (const ttlv_item *it = obj->attrs->first; it; it = it->next) {
        ttlv_item *c = ttlv_clone(a, it);
        if (c == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(list, c);
    }
    *out = list;
    return CF_OK;
}

void core_object_touch(core_object *obj, int64_t now)
{
    for (ttlv_item *it = obj->attrs->first; it; it = it->next) {
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        if (core_attr_parts(it, &n, &nl, &idx, &v) && nl == 16 &&
            memcmp(n, "Last Change Date", 16) == 0)
            ((ttlv_item *)v)->v.i64 = now;
    }
    obj->updated = now;
}

static cf_status attr_add_once(core_req *req, const char *uid, const char *name,
                               const ttlv_item *value, int32_t *out_index)
{
    size_t nl = strlen(name);
    const struct core_attr_rule *r = core_attr_rule(name, nl);
    core_object *obj;
    ttlv_item *attr;
    unsigned count;
    int32_t idx;
    cf_status st;

    if ((st = core_object_load(req, uid, &obj)) != CF_OK)
        return st;
    if ((st = core_req_authorize(req, CORE_ACT_MODIFY, obj)) != CF_OK)
        return st;
    if ((st = core_attr_check_edit(req, obj, name, nl, CORE_EDIT_ADD, NULL, value)))
        return st; /* destroyed objects, state windows of the dates */
    idx = core_attr_next_index(obj->attrs, name, nl, &count);
    if (count > 0 && r != NULL && !(r->flags & CORE_ATTR_MULTI)) /* 1.4 11.15, 2.1 6.1.2 */
        return core_fail(req, CF_ERR_SINGLE_VALUED, "attribute '%s' already exists", name);
    if (obj->attrs->nchildren >= CF_LIMIT_OBJECT_ATTRS)
        return core_fail(req, CF_ERR_LIMIT, "too many attributes on this object");
    if ((attr = core_attr_new(req->arena, name, idx, value)) == NULL)
        return CF_ERR_NOMEM;
    ttlv_append(obj->attrs, attr);
    if ((st = core_attr_after_edit(req, obj, name, value)) != CF_OK)
        return st;
    core_object_touch(obj, req->now);
    obj->revision++;
    if ((st = core_object_save(req, obj, false)) != CF_OK)
        return st;
    *out_index = idx;
    return CF_OK;
}

cf_status core_attr_add(core_req *req, const char *uid, const char *name, const ttlv_item *value,
                        int32_t *out_index)
{
    cf_status st = core_attr_check(req, name, strlen(name), value, false);
    if (st != CF_OK)
        return st;
    for (int i = 0; i < CORE_WRITE_RETRIES; i++) {
        st = attr_add_once(req, uid, name, value, out_index);
        if (st != CF_ERR_CONFLICT)
            return st;
    }
    return core_fail(req, CF_ERR_CONFLICT, "the object is being modified concurrently");
}
