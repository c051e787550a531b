/*
 * core_xport.c - export of objects for reversibility (docs/export.md): a
 * tenant's keys leave for another key manager, wrapped for a key the
 * destination holds, with their attributes, state and root key versions.
 *
 * This is the one way out for root keys (Extractable False) and Sensitive
 * keys: CORE_ACT_EXPORT (a Manager), never in clear, one audit record per
 * object and per root key version, besides the call's. The material is
 * read from the sealed rows directly (not through Get, whose Extractable
 * and state rules this route replaces with its own) and rebuilt as the
 * Key Block Get would return, then wrapped as KMIP wraps keys (the Key
 * Value becomes a Byte String, Key Wrapping Data follows it) with the
 * payload bound to the object's attributes (core_xport_int.h).
 *
 * Forms: Symmetric, Public and Private Keys kept plain are rebuilt from
 * (Key Format Type, material); objects kept verbatim (Secret Data, Split
 * Keys, Key Blocks with more fields) keep every field, only their Key Value
 * is wrapped; an Opaque Object (no Key Block in KMIP) has its Opaque Data
 * Value replaced by the wrapped payload; Certificates are public and stay
 * in clear; keys registered wrapped go as registered (already wrapped).
 */
#include "core/core_env_int.h"
#include "core/core_xport_int.h"

#include <string.h>

#include "util/log.h"

/* ---------------------------------------------------------- listing */

cf_status core_export_list(core_req *req, bool include_destroyed, int64_t offset, int64_t limit,
                           const char ***out_uids, size_t *out_n, int64_t *out_total)
{
    store_criterion live[2] = {
        {.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE, .lo = KMIP_STATE_DESTROYED},
        {.field = STORE_FIELD_STATE, .int_op = STORE_INT_NE,
         .lo = KMIP_STATE_DESTROYED_COMPROMISED},
    };
    store_query q = {.crit = include_destroyed ? NULL : live, .n_crit = include_destroyed ? 0 : 2,
                     .offset = offset, .limit = limit < 0 ? CORE_EXPORT_MAX + 1 : limit};
    cf_status st;

    *out_uids = NULL;
    *out_n = 0;
    *out_total = 0;
    if ((st = core_req_authorize(req, CORE_ACT_EXPORT, NULL)) != CF_OK)
        return st;
    if (offset < 0 || limit > CORE_EXPORT_PAGE_MAX)
        return core_fail(req, CF_ERR_INVALID_FIELD, "a page holds 1 to %d objects",
                         CORE_EXPORT_PAGE_MAX);
    q.tenant = req->who->tenant;
    st = store_object_find(req->st, &q, req->arena, out_uids, out_n, out_total);
    if (st == CF_OK && limit < 0 && *out_total > CORE_EXPORT_MAX)
        return core_fail(req, CF_ERR_LIMIT, "the tenant holds %lld objects to export, more than "
                         "the %d one document holds: export them in pages (limit, offset)",
                         (long long)*out_total, CORE_EXPORT_MAX);
    return st;
}

cf_status core_export_load(core_req *req, const char *uid, core_xobject *out)
{
    cf_status st;

    memset(out, 0, sizeof *out);
    if ((st = core_object_load(req, uid, &out->obj)) != CF_OK ||
        (st = core_req_authorize(req, CORE_ACT_EXPORT, out->obj)) != CF_OK)
        return st;
    return core_object_attributes(req, out->obj, &out->attrs);
}

/* -------------------------------------------------------- building */

/* The object's sealed material, opened (the export was authorized). */
static cf_status x_open(core_req *req, const core_object *obj, cf_secret *out)
{
    const uint8_t *aad;
    size_t aad_len;
    cf_status st;

    if (obj->sealed == NULL)
        return core_fail(req, CF_ERR_DESTROYED, "the object has no material");
    if ((st = core_material_aad(req->arena, obj->tenant, obj->uid, &aad, &aad_len)) != CF_OK)
        return st;
    if (crypto_open(req->core->keyring, aad, aad_len, obj->sealed, obj->sealed_len, out) != CF_OK) {
        CF_LOGE("object %s: sealed material does not open", obj->uid);
        return CF_ERR_INTERNAL;
    }
    return CF_OK;
}

/* Key Value kv wrapped for k, bound to (digest, version): a Byte String
 * item tagged `tag` (arena). */
static cf_status wrap_value(core_req *req, const core_xkey *k, const ttlv_item *kv,
                            const uint8_t digest[32], uint32_t version, uint32_t tag,
                            ttlv_item **out)
{
    cf_secret payload = {0};
    cf_buf w;
    cf_status st;

    if (kv->type != TTLV_STRUCTURE)
        return core_fail(req, CF_ERR_UNSUPPORTED, "a Key Value that is not a structure");
    cf_buf_init(&w, CF_LIMIT_KMIP_MESSAGE);
    if ((st = core_x_payload(req, kv, digest, version, &payload)) == CF_OK &&
        (st = core_x_wrap(req, k, &payload, &w)) == CF_OK &&
        (*out = ttlv_new_bytes(req->arena, tag, w.p, w.len)) == NULL)
        st = CF_ERR_NOMEM;
    cf_secret_free(&payload);
    cf_buf_free(&w);
    return st;
}

/* The wrapped form of plain Key Block kb: its fields, the Key Value
 * wrapped, then Key Wrapping Data (KMIP 1.4 section 2.1.3, 2.1.5). */
static cf_status wrap_block(core_req *req, const core_xkey *k, const ttlv_item *kb,
                            const uint8_t digest[32], uint32_t version, ttlv_item **out)
{
    ttlv_item *n = ttlv_new_struct(req->arena, KMIP_TAG_KEY_BLOCK), *kwd = core_x_kwd(req, k);
    cf_status st;

    if (n == NULL || kwd == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *c = kb->first; c; c = c->next) {
        ttlv_item *x = NULL;
        if (c->tag == KMIP_TAG_KEY_VALUE) {
            if ((st = wrap_value(req, k, c, digest, version, KMIP_TAG_KEY_VALUE, &x)) != CF_OK)
                return st;
        } else if ((x = ttlv_clone(req->arena, c)) == NULL) {
            return CF_ERR_NOMEM;
        }
        ttlv_append(n, x);
    }
    ttlv_append(n, kwd);
    *out = n;
    return CF_OK;
}

/* o re-encoded into the arena as the document's material. */
static cf_status encode_into(core_req *req, const ttlv_item *o, const uint8_t **out,
                             size_t *out_len)
{
    cf_buf b;
    cf_status st;

    cf_buf_init(&b, CF_LIMIT_KMIP_MESSAGE);
    if ((st = ttlv_encode(o, &b)) == CF_OK &&
        (*out = cf_arena_memdup(req->arena, b.p, b.len)) == NULL)
        st = CF_ERR_NOMEM;
    *out_len = st == CF_OK ? b.len : 0;
    cf_buf_free(&b);
    return st;
}

/* A plain Key Block (format, m) of obj, wrapped, in its object structure. */
static cf_status keyed_structure(core_req *req, const core_xkey *k, const core_object *obj,
                                 uint32_t format, const cf_secret *m, const uint8_t digest[32],
                                 uint32_t version, const uint8_t **out, size_t *out_len)
{
    ttlv_item *kb, *wkb, *o = ttlv_new_struct(req->arena, core_object_tag(obj->object_type));
    cf_status st;

    if (o == NULL)
        return CF_ERR_NOMEM;
    if ((st = core_key_block(req, obj, format, m, &kb)) != CF_OK ||
        (st = wrap_block(req, k, kb, digest, version, &wkb)) != CF_OK)
        return st;
    ttlv_append(o, wkb);
    return encode_into(req, o, out, out_len);
}

/* ------------------------------------------------------ root keys */

/* Versions of root key x->obj, oldest first; each not destroyed wrapped. */
static cf_status export_versions(core_req *req, const core_xkey *k, const uint8_t digest[32],
                                 core_xobject *x)
{
    const core_object *obj = x->obj;
    store_key_version *rows, v1 = {.version = 1};
    size_t n;
    int64_t total;
    cf_status st;

    if (obj->key_format & CORE_KEY_FORMAT_VERBATIM)
        return core_fail(req, CF_ERR_UNSUPPORTED, "a root key registered with a Key Block "
                         "Coffre does not rebuild cannot be exported");
    st = store_version_list(req->st, obj->tenant, obj->uid, 0, -1, req->arena, &rows, &n, &total);
    if (st != CF_OK)
        return st;
    if (n == 0) { /* never rotated nor used: version 1 is the object's */
        v1.created = obj->created;
        v1.destroyed = core_state_is_destroyed(obj->state) || obj->sealed == NULL;
        rows = &v1;
        n = 1;
    }
    if ((x->versions = cf_arena_calloc(req->arena, n * sizeof *x->versions)) == NULL)
        return CF_ERR_NOMEM;
    x->n_versions = n;
    for (size_t i = 0; i < n && st == CF_OK; i++) {
        const store_key_version *r = &rows[n - 1 - i];
        core_xversion *v = &x->versions[i];
        cf_secret m = {0};
        *v = (core_xversion){.version = r->version, .created = r->created,
                             .destroyed = r->destroyed || core_state_is_destroyed(obj->state),
                             .encryptions = r->uses_reserved};
        if (!v->destroyed && (st = core_version_material(req, obj, v->version, &m)) == CF_OK)
            st = keyed_structure(req, k, obj, KMIP_KEY_FORMAT_TYPE_RAW, &m, digest, v->version,
                                 &v->material, &v->material_len);
        if (st == CF_ERR_DESTROYED) {
            v->destroyed = true;
            st = CF_OK;
        }
        cf_secret_free(&m);
        if (st == CF_OK)
            st = core_x_audit(req, "exportObject", obj, obj->uid, v->version, CF_OK);
    }
    return st;
}

/* --------------------------------------------------- other objects */

static cf_status export_certificate(core_req *req, core_xobject *x, const cf_secret *m)
{
    const ttlv_item *ct = core_attr_find(x->obj, "Certificate Type", 0);
    ttlv_item *s = ttlv_new_struct(req->arena, KMIP_TAG_CERTIFICATE);
    ttlv_item *t = ttlv_new_enum(req->arena, KMIP_TAG_CERTIFICATE_TYPE,
                                 ct ? ct->v.u32 : KMIP_CERTIFICATE_TYPE_X_509);
    ttlv_item *v = ttlv_new_bytes(req->arena, KMIP_TAG_CERTIFICATE_VALUE, m->p, m->len);

    if (!s || !t || !v)
        return CF_ERR_NOMEM;
    ttlv_append(s, t);
    ttlv_append(s, v);
    x->form = CORE_XFORM_CERTIFICATE;
    return encode_into(req, s, &x->material, &x->material_len);
}

/* Opaque Object { Opaque Data Type, Opaque Data Value: the wrapped Key
 * Value { Key Material: the opaque bytes } }. */
static cf_status export_opaque(core_req *req, const core_xkey *k, const uint8_t digest[32],
                               core_xobject *x, const ttlv_item *o)
{
    const ttlv_item *type = ttlv_child(o, KMIP_TAG_OPAQUE_DATA_TYPE);
    const ttlv_item *val = ttlv_child(o, KMIP_TAG_OPAQUE_DATA_VALUE);
    ttlv_item *kv = ttlv_new_struct(req->arena, KMIP_TAG_KEY_VALUE);
    ttlv_item *n = ttlv_new_struct(req->arena, KMIP_TAG_OPAQUE_OBJECT), *t, *km, *w;
    cf_status st;

    if (!type || !val || val->type != TTLV_BYTE_STRING)
        return CF_ERR_INTERNAL;
    km = ttlv_new_bytes(req->arena, KMIP_TAG_KEY_MATERIAL, val->v.s.p, val->v.s.len);
    t = ttlv_clone(req->arena, type);
    if (!kv || !n || !km || !t)
        return CF_ERR_NOMEM;
    ttlv_append(kv, km);
    if ((st = wrap_value(req, k, kv, digest, 0, KMIP_TAG_OPAQUE_DATA_VALUE, &w)) != CF_OK)
        return st;
    ttlv_append(n, t);
    ttlv_append(n, w);
    x->form = CORE_XFORM_OPAQUE;
    return encode_into(req, n, &x->material, &x->material_len);
}

/* An object kept verbatim (m: its structure's TTLV). */
static cf_status export_verbatim(core_req *req, const core_xkey *k, const uint8_t digest[32],
                                 core_xobject *x, const cf_secret *m)
{
    ttlv_item *o, *n, *wkb;
    const ttlv_item *kb;
    ttlv_error err;
    cf_status st;

    if (ttlv_decode(m->p, m->len, &core_x_limits, req->arena, &o, &err) != CF_OK ||
        o->tag != core_object_tag(x->obj->object_type)) {
        CF_LOGE("object %s: stored object structure does not decode", x->obj->uid);
        return CF_ERR_INTERNAL;
    }
    if (x->obj->object_type == KMIP_OBJECT_TYPE_OPAQUE_OBJECT)
        return export_opaque(req, k, digest, x, o);
    if ((kb = ttlv_child(o, KMIP_TAG_KEY_BLOCK)) == NULL)
        return CF_ERR_INTERNAL;
    if (ttlv_child(kb, KMIP_TAG_KEY_WRAPPING_DATA) != NULL) { /* registered wrapped */
        x->form = CORE_XFORM_AS_REGISTERED;
        return encode_into(req, o, &x->material, &x->material_len);
    }
    if ((st = wrap_block(req, k, kb, digest, 0, &wkb)) != CF_OK)
        return st;
    if ((n = ttlv_new_struct(req->arena, o->tag)) == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *c = o->first; c; c = c->next) {
        ttlv_item *y = c == kb ? wkb : ttlv_clone(req->arena, c);
        if (y == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(n, y);
    }
    x->form = CORE_XFORM_KEY_BLOCK;
    return encode_into(req, n, &x->material, &x->material_len);
}

static cf_status export_plain(core_req *req, const core_xkey *k, const uint8_t digest[32],
                              core_xobject *x)
{
    const core_object *obj = x->obj;
    cf_secret m = {0};
    cf_status st = x_open(req, obj, &m);

    if (st != CF_OK)
        return st;
    if (obj->key_format & CORE_KEY_FORMAT_VERBATIM) {
        st = export_verbatim(req, k, digest, x, &m);
    } else if (obj->object_type == KMIP_OBJECT_TYPE_CERTIFICATE) {
        st = export_certificate(req, x, &m);
    } else {
        x->form = CORE_XFORM_KEY_BLOCK;
        st = keyed_structure(req, k, obj, obj->key_format, &m, digest, 0, &x->material,
                             &x->material_len);
    }
    cf_secret_free(&m);
    return st;
}

cf_status core_export_material(core_req *req, const core_xkey *k, const uint8_t digest[32],
                               core_xobject *x)
{
    cf_status st = CF_OK;

    x->form = CORE_XFORM_NONE;
    x->material = NULL;
    x->material_len = 0;
    if (core_is_root_key(x->obj))
        return export_versions(req, k, digest, x);
    if (!core_state_is_destroyed(x->obj->state) && x->obj->sealed != NULL)
        st = export_plain(req, k, digest, x);
    if (st == CF_OK)
        st = core_x_audit(req, "exportObject", x->obj, x->obj->uid, 0, CF_OK);
    return st;
}
