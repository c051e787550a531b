/*
 * core_ximport.c - import of one object of a reversibility document
 * (docs/export.md) into the caller's tenant, all or nothing.
 *
 * The object keeps its Unique Identifier (envelope ciphertexts name their
 * root key by it), its attributes, its state and, for a root key, every
 * version with its creation date and the encryptions already made under
 * it (the ceiling goes on counting). Its owner is the importing identity.
 *
 * Trust: the caller is a Manager (CORE_ACT_IMPORT) and the material is
 * unwrapped with the tenant's own key, then must carry the SHA-256 of the
 * attributes the document gives for this object (and the version number):
 * an attribute altered, or material moved to another object or version,
 * fails here with CF_ERR_CRYPTO. Objects without wrapped material
 * (destroyed ones, certificates, keys registered wrapped) have no such
 * binding; a certificate is checked against its Digest attribute.
 * Attributes are still checked as a Register would (known names, types,
 * single instances), the KMIP 2.1 form renumbering the instances of each
 * name from 0 in the document's order; everything is written in one store
 * transaction: the object row, its version rows.
 */
#include "core/core_env_int.h"
#include "core/core_xport_int.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/log.h"

/* -------------------------------------------------------- attributes */

/* The synthesised attributes: checked against the document's fields. */
static cf_status synthesised(core_req *req, const core_ximport *in, const char *name,
                             const ttlv_item *v, bool *skip)
{
    *skip = true;
    if (strcmp(name, "Unique Identifier") == 0) {
        if (v->type != TTLV_TEXT_STRING || strcmp((const char *)v->v.s.p, in->uid) != 0)
            return core_fail(req, CF_ERR_INVALID_FIELD, "its Unique Identifier attribute is not "
                             "its uid");
    } else if (strcmp(name, "Object Type") == 0) {
        if (v->type != TTLV_ENUMERATION || v->v.u32 != in->object_type)
            return core_fail(req, CF_ERR_INVALID_FIELD, "its Object Type attribute is not its "
                             "object_type");
    } else if (strcmp(name, "State") == 0) {
        if (v->type != TTLV_ENUMERATION || v->v.u32 != in->state)
            return core_fail(req, CF_ERR_INVALID_FIELD, "its State attribute is not its state");
    } else if (strcmp(name, "Key Format Type") != 0) { /* from the material */
        *skip = false;
    }
    return CF_OK;
}

/* Append one attribute (name, v) as Register would accept it, at the next
 * index of its name. */
static cf_status take_attr(core_req *req, ttlv_item *list, const char *name, const ttlv_item *v)
{
    size_t nl = strlen(name);
    bool custom = core_attr_is_custom(name, nl);
    const struct core_attr_rule *r = custom ? NULL : core_attr_rule(name, nl);
    unsigned count;
    int32_t idx = core_attr_next_index(list, name, nl, &count);
    ttlv_item *a;

    if (!custom && r == NULL)
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown attribute '%s'", name);
    if (r != NULL && v->type != r->type)
        return core_fail(req, CF_ERR_INVALID_FIELD, "attribute '%s' has the wrong type", name);
    if (r != NULL && count > 0 && !(r->flags & CORE_ATTR_MULTI))
        return core_fail(req, CF_ERR_INVALID_FIELD, "attribute '%s' may appear once", name);
    if (list->nchildren >= CF_LIMIT_OBJECT_ATTRS)
        return core_fail(req, CF_ERR_LIMIT, "too many attributes");
    if ((a = core_attr_new(req->arena, name, idx, v)) == NULL)
        return CF_ERR_NOMEM;
    ttlv_append(list, a);
    return CF_OK;
}

static ttlv_item *text_value(cf_arena *a, const char *s)
{
    return ttlv_new_text(a, KMIP_TAG_ATTRIBUTE_VALUE, s, strlen(s));
}

/* obj->attrs from the document's, plus what the server keeps that KMIP
 * 2.1 does not carry (Operation Policy Name) and, for a root key moving to
 * another tenant, the tenant its ciphertexts bind. */
static cf_status build_attrs(core_req *req, const core_ximport *in, core_object *obj)
{
    unsigned n;
    cf_status st = CF_OK;

    if ((obj->attrs = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTES)) == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *it = in->attrs ? in->attrs->first : NULL; it && st == CF_OK;
         it = it->next) {
        const char *name;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        char *cname;
        bool skip;
        if (!core_attr_parts(it, &name, &nl, &idx, &v))
            return core_fail(req, CF_ERR_INVALID_FIELD, "a malformed attribute");
        if ((cname = cf_arena_strndup(req->arena, name, nl)) == NULL)
            return CF_ERR_NOMEM;
        if ((st = synthesised(req, in, cname, v, &skip)) == CF_OK && !skip)
            st = take_attr(req, obj->attrs, cname, v);
    }
    core_attr_next_index(obj->attrs, "Operation Policy Name", 21, &n);
    if (st == CF_OK && n == 0)
        st = take_attr(req, obj->attrs, "Operation Policy Name", text_value(req->arena, "default"));
    core_attr_next_index(obj->attrs, CORE_ATTR_ENV_TENANT, strlen(CORE_ATTR_ENV_TENANT), &n);
    if (st == CF_OK && n == 0 && core_is_root_key(obj) && in->source_tenant != NULL &&
        strcmp(in->source_tenant, obj->tenant) != 0) {
        if (!core_tenant_id_valid(in->source_tenant))
            return core_fail(req, CF_ERR_INVALID_FIELD, "the source tenant is not a tenant id");
        st = take_attr(req, obj->attrs, CORE_ATTR_ENV_TENANT,
                       text_value(req->arena, in->source_tenant));
    }
    return st;
}

const char *core_env_tenant(const core_object *obj)
{
    const ttlv_item *t = core_attr_find(obj, CORE_ATTR_ENV_TENANT, 0);
    return t != NULL && t->type == TTLV_TEXT_STRING && t->v.s.len > 0 ? (const char *)t->v.s.p
                                                                      : obj->tenant;
}

/* ---------------------------------------------------------- material */

static cf_status decode_as(core_req *req, const uint8_t *p, size_t n, uint32_t tag,
                           ttlv_item **out)
{
    ttlv_error err;
    if (p == NULL || ttlv_decode(p, n, &core_x_limits, req->arena, out, &err) != CF_OK ||
        (*out)->tag != tag || (*out)->type != TTLV_STRUCTURE)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the material is not a KMIP %s structure",
                         ttlv_tag_lookup(tag) ? ttlv_tag_lookup(tag)->name : "object");
    return CF_OK;
}

/* Unwrap a wrapped Value item (Byte String) into the plain Key Value. */
static cf_status unwrap_value(core_req *req, const core_xkey *k, const ttlv_item *w,
                              const uint8_t digest[32], uint32_t version, ttlv_item **out_kv)
{
    cf_secret payload = {0};
    cf_status st;

    if (w == NULL || w->type != TTLV_BYTE_STRING)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the material is not wrapped");
    if ((st = core_x_unwrap(req, k, w->v.s.p, w->v.s.len, &payload)) == CF_OK)
        st = core_x_payload_open(req, &payload, digest, version, out_kv);
    cf_secret_free(&payload);
    return st;
}

/* The plain Key Block of a wrapped one: Key Value unwrapped, no Key
 * Wrapping Data. */
static cf_status unwrap_block(core_req *req, const core_xkey *k, const ttlv_item *kb,
                              const uint8_t digest[32], uint32_t version, ttlv_item **out)
{
    const ttlv_item *kwd = kb ? ttlv_child(kb, KMIP_TAG_KEY_WRAPPING_DATA) : NULL;
    ttlv_item *kv, *n;
    cf_status st;

    if (kwd == NULL)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the material has no wrapped Key Block");
    if (!core_x_kwd_matches(req, kwd, k))
        return core_fail(req, CF_ERR_CRYPTO, "the material is not wrapped as the document "
                         "says, for this key");
    if ((st = unwrap_value(req, k, ttlv_child(kb, KMIP_TAG_KEY_VALUE), digest, version, &kv)) !=
        CF_OK)
        return st;
    if ((n = ttlv_new_struct(req->arena, KMIP_TAG_KEY_BLOCK)) == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *c = kb->first; c; c = c->next) {
        ttlv_item *x = c->tag == KMIP_TAG_KEY_VALUE ? kv : ttlv_clone(req->arena, c);
        if (c == kwd)
            continue;
        if (x == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(n, x);
    }
    *out = n;
    return CF_OK;
}

/* The Key Block's Algorithm and Length agree with the attributes. */
static cf_status block_agrees(core_req *req, const core_object *obj, const ttlv_item *kb)
{
    const ttlv_item *a = core_attr_find(obj, "Cryptographic Algorithm", 0);
    const ttlv_item *l = core_attr_find(obj, "Cryptographic Length", 0);
    uint32_t ba;
    int32_t bl;
    if ((ttlv_get_enum(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, &ba) == CF_OK && a != NULL &&
         a->v.u32 != ba) ||
        (ttlv_get_int(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, &bl) == CF_OK && l != NULL &&
         l->v.i32 != bl))
        return core_fail(req, CF_ERR_INVALID_FIELD, "the Key Block's algorithm or length is not "
                         "the attributes'");
    return CF_OK;
}

/* A plain Key Block kept as Coffre keeps plain keys: only Key Format Type,
 * Key Value { Key Material }, Algorithm, Length. */
static bool block_is_plain(const core_object *obj, const ttlv_item *kb)
{
    const ttlv_item *kv = ttlv_child(kb, KMIP_TAG_KEY_VALUE);
    if (obj->object_type != KMIP_OBJECT_TYPE_SYMMETRIC_KEY &&
        obj->object_type != KMIP_OBJECT_TYPE_PUBLIC_KEY &&
        obj->object_type != KMIP_OBJECT_TYPE_PRIVATE_KEY)
        return false;
    for (const ttlv_item *c = kb->first; c; c = c->next)
        if (c->tag != KMIP_TAG_KEY_FORMAT_TYPE && c->tag != KMIP_TAG_KEY_VALUE &&
            c->tag != KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM && c->tag != KMIP_TAG_CRYPTOGRAPHIC_LENGTH)
            return false;
    return kv != NULL && kv->nchildren == 1 && kv->first->tag == KMIP_TAG_KEY_MATERIAL;
}

/* Does plain material m (stored form of format) make a key of obj? */
static cf_status plain_checks(core_req *req, const core_object *obj, uint32_t format,
                              const cf_secret *m)
{
    const ttlv_item *alg = core_attr_find(obj, "Cryptographic Algorithm", 0);
    const ttlv_item *len = core_attr_find(obj, "Cryptographic Length", 0);
    EVP_PKEY *key = NULL;
    cf_status st;

    if (obj->object_type == KMIP_OBJECT_TYPE_SYMMETRIC_KEY) {
        if (len != NULL && alg != NULL && alg->v.u32 == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES &&
            (size_t)len->v.i32 != m->len * 8)
            return core_fail(req, CF_ERR_INVALID_FIELD, "the key has %zu bits, its "
                             "Cryptographic Length says %d", m->len * 8, len->v.i32);
        return CF_OK;
    }
    st = crypto_key_load(obj->object_type, format, alg ? alg->v.u32 : 0, m->p, m->len, &key);
    EVP_PKEY_free(key);
    return st == CF_OK ? CF_OK : core_fail(req, CF_ERR_INVALID_FIELD, "the key does not load");
}

/* The material to seal for a wrapped object structure o of a keyed type. */
static cf_status keyed_material(core_req *req, const core_xkey *k, const core_ximport *in,
                                core_object *obj, ttlv_item *o, cf_secret *out)
{
    const ttlv_item *kb = ttlv_child(o, KMIP_TAG_KEY_BLOCK);
    ttlv_item *pkb, *n;
    uint32_t format;
    cf_buf b;
    cf_status st;

    if ((st = unwrap_block(req, k, kb, in->digest, 0, &pkb)) != CF_OK ||
        (st = block_agrees(req, obj, pkb)) != CF_OK)
        return st;
    if (ttlv_get_enum(pkb, KMIP_TAG_KEY_FORMAT_TYPE, &format) != CF_OK)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the Key Block has no Key Format Type");
    if (block_is_plain(obj, pkb)) {
        const ttlv_item *kv = ttlv_child(pkb, KMIP_TAG_KEY_VALUE);
        const ttlv_item *km = ttlv_child(kv, KMIP_TAG_KEY_MATERIAL);
        if (core_key_material_bytes(km, format, out) != CF_OK)
            return core_fail(req, CF_ERR_INVALID_FIELD, "the Key Material does not suit its "
                             "Key Format Type");
        obj->key_format = format;
        return plain_checks(req, obj, format, out);
    }
    if ((n = ttlv_new_struct(req->arena, o->tag)) == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *c = o->first; c; c = c->next) {
        ttlv_item *x = c == kb ? pkb : ttlv_clone(req->arena, c);
        if (x == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(n, x);
    }
    obj->key_format = format | CORE_KEY_FORMAT_VERBATIM;
    cf_buf_init(&b, CF_LIMIT_KMIP_MESSAGE);
    if ((st = ttlv_encode(n, &b)) == CF_OK)
        st = cf_secret_dup(out, b.p, b.len);
    cf_buf_free(&b);
    return st;
}

static cf_status opaque_material(core_req *req, const core_xkey *k, const core_ximport *in,
                                 core_object *obj, const ttlv_item *o, cf_secret *out)
{
    const ttlv_item *type = ttlv_child(o, KMIP_TAG_OPAQUE_DATA_TYPE), *km;
    ttlv_item *kv, *n, *t, *v;
    cf_buf b;
    cf_status st;

    if (type == NULL || type->type != TTLV_ENUMERATION)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the Opaque Object has no Opaque Data Type");
    if ((st = unwrap_value(req, k, ttlv_child(o, KMIP_TAG_OPAQUE_DATA_VALUE), in->digest, 0,
                           &kv)) != CF_OK)
        return st;
    km = ttlv_child(kv, KMIP_TAG_KEY_MATERIAL);
    if (km == NULL || km->type != TTLV_BYTE_STRING)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the opaque value is not a Byte String");
    n = ttlv_new_struct(req->arena, KMIP_TAG_OPAQUE_OBJECT);
    t = ttlv_clone(req->arena, type);
    v = ttlv_new_bytes(req->arena, KMIP_TAG_OPAQUE_DATA_VALUE, km->v.s.p, km->v.s.len);
    if (!n || !t || !v)
        return CF_ERR_NOMEM;
    ttlv_append(n, t);
    ttlv_append(n, v);
    obj->key_format = CORE_KEY_FORMAT_VERBATIM;
    cf_buf_init(&b, CF_LIMIT_KMIP_MESSAGE);
    if ((st = ttlv_encode(n, &b)) == CF_OK)
        st = cf_secret_dup(out, b.p, b.len);
    cf_buf_free(&b);
    return st;
}

/* A certificate, public: checked against its Digest attribute when it has one. */
static cf_status certificate_material(core_req *req, core_object *obj, const ttlv_item *o,
                                      cf_secret *out)
{
    const ttlv_item *dg = core_attr_find(obj, "Digest", 0);
    const uint8_t *v, *dv;
    size_t vl, dl;
    uint8_t h[32];

    if (ttlv_get_bytes(o, KMIP_TAG_CERTIFICATE_VALUE, &v, &vl) != CF_OK ||
        crypto_cert_check(v, vl) != CF_OK)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the certificate does not parse");
    if (dg != NULL && ttlv_get_bytes(dg, KMIP_TAG_DIGEST_VALUE, &dv, &dl) == CF_OK &&
        (dl != 32 || crypto_sha256(v, vl, h) != CF_OK || CRYPTO_memcmp(h, dv, 32) != 0))
        return core_fail(req, CF_ERR_CRYPTO, "the certificate is not the one its Digest names: "
                         "the document was altered");
    obj->key_format = 0;
    return cf_secret_dup(out, v, vl);
}

/* The plaintext material of a non-root object, to seal (out empty: none). */
static cf_status object_material(core_req *req, const core_xkey *k, const core_ximport *in,
                                 core_object *obj, cf_secret *out)
{
    ttlv_item *o;
    const ttlv_item *kb;
    cf_status st;

    if (in->form == CORE_XFORM_NONE || core_state_is_destroyed(obj->state)) {
        if (in->form != CORE_XFORM_NONE || in->material != NULL)
            return core_fail(req, CF_ERR_INVALID_FIELD, "a destroyed object carries no material");
        return CF_OK;
    }
    if ((st = decode_as(req, in->material, in->material_len, core_object_tag(obj->object_type),
                        &o)) != CF_OK)
        return st;
    switch (in->form) {
    case CORE_XFORM_KEY_BLOCK:
        return keyed_material(req, k, in, obj, o, out);
    case CORE_XFORM_OPAQUE:
        if (obj->object_type != KMIP_OBJECT_TYPE_OPAQUE_OBJECT)
            break;
        return opaque_material(req, k, in, obj, o, out);
    case CORE_XFORM_CERTIFICATE:
        if (obj->object_type != KMIP_OBJECT_TYPE_CERTIFICATE)
            break;
        return certificate_material(req, obj, o, out);
    case CORE_XFORM_AS_REGISTERED:
        kb = ttlv_child(o, KMIP_TAG_KEY_BLOCK);
        if (kb == NULL || ttlv_child(kb, KMIP_TAG_KEY_WRAPPING_DATA) == NULL ||
            ttlv_get_enum(kb, KMIP_TAG_KEY_FORMAT_TYPE, &obj->key_format) != CF_OK)
            break;
        obj->key_format |= CORE_KEY_FORMAT_VERBATIM;
        return cf_secret_dup(out, in->material, in->material_len);
    default:
        break;
    }
    return core_fail(req, CF_ERR_INVALID_FIELD, "material form %s does not suit the object",
                     core_xform_name(in->form));
}

/* ---------------------------------------------------------- root keys */

static cf_status seal_version(core_req *req, const core_object *obj, store_key_version *row,
                              const cf_secret *m)
{
    const uint8_t *aad;
    size_t aad_len;
    cf_buf b;
    cf_status st = core_version_aad(req->arena, obj->tenant, obj->uid, row->version, &aad,
                                    &aad_len);
    if (st != CF_OK)
        return st;
    cf_buf_init(&b, 0);
    st = crypto_seal(req->core->keyring, aad, aad_len, m->p, m->len, &b);
    if (st == CF_OK && (row->material = cf_arena_memdup(req->arena, b.p, b.len)) == NULL)
        st = CF_ERR_NOMEM;
    row->material_len = st == CF_OK ? b.len : 0;
    cf_buf_free(&b);
    return st;
}

/* One version's key bytes, unwrapped and checked. */
static cf_status version_key(core_req *req, const core_xkey *k, const core_ximport *in,
                             const core_object *obj, const core_xversion *v, cf_secret *out)
{
    ttlv_item *o, *kb;
    const ttlv_item *km;
    uint32_t format = 0;
    cf_status st;

    if (v->material == NULL)
        return core_fail(req, CF_ERR_INVALID_FIELD, "version %u has no material", v->version);
    if ((st = decode_as(req, v->material, v->material_len, KMIP_TAG_SYMMETRIC_KEY, &o)) != CF_OK ||
        (st = unwrap_block(req, k, ttlv_child(o, KMIP_TAG_KEY_BLOCK), in->digest, v->version,
                           &kb)) != CF_OK ||
        (st = block_agrees(req, obj, kb)) != CF_OK)
        return st;
    km = ttlv_child(ttlv_child(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL);
    if (ttlv_get_enum(kb, KMIP_TAG_KEY_FORMAT_TYPE, &format) != CF_OK ||
        format != KMIP_KEY_FORMAT_TYPE_RAW || km == NULL || km->type != TTLV_BYTE_STRING ||
        cf_secret_dup(out, km->v.s.p, km->v.s.len) != CF_OK)
        return core_fail(req, CF_ERR_INVALID_FIELD, "version %u is not a Raw key", v->version);
    return plain_checks(req, obj, format, out);
}

/* The version rows of root key obj, and the newest version's key bytes. */
static cf_status root_versions(core_req *req, const core_xkey *k, const core_ximport *in,
                               core_object *obj, store_key_version **out_rows,
                               cf_secret *newest)
{
    bool dead = core_state_is_destroyed(obj->state);
    uint32_t last = 0;
    store_key_version *rows;
    cf_status st = CF_OK;

    if (in->form != CORE_XFORM_NONE || in->material != NULL || in->n_versions == 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "a root key's material is in its versions");
    if (obj->key_format & CORE_KEY_FORMAT_VERBATIM || in->n_versions > INT32_MAX ||
        (rows = cf_arena_calloc(req->arena, in->n_versions * sizeof *rows)) == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < in->n_versions && st == CF_OK; i++) {
        const core_xversion *v = &in->versions[i];
        cf_secret m = {0};
        if (v->version <= last || v->encryptions < 0 || (v->destroyed && v->material != NULL))
            return core_fail(req, CF_ERR_INVALID_FIELD, "versions must ascend from 1, destroyed "
                             "ones without material");
        last = v->version;
        rows[i] = (store_key_version){.tenant = obj->tenant, .uid = obj->uid,
                                      .version = v->version, .created = v->created,
                                      .destroyed = v->destroyed || dead,
                                      .uses_reserved = v->encryptions, .revision = 1};
        if (!rows[i].destroyed && (st = version_key(req, k, in, obj, v, &m)) == CF_OK)
            st = seal_version(req, obj, &rows[i], &m);
        if (st == CF_OK && i + 1 == in->n_versions && !rows[i].destroyed)
            *newest = m, m = (cf_secret){0};
        cf_secret_free(&m);
    }
    if (st == CF_OK && last != core_key_newest(obj))
        return core_fail(req, CF_ERR_INVALID_FIELD, "the newest version is %u, its %s says %u",
                         last, CORE_ATTR_KEY_VERSION, core_key_newest(obj));
    if (st == CF_OK && !dead && newest->p == NULL)
        return core_fail(req, CF_ERR_INVALID_FIELD, "a live root key's newest version is "
                         "destroyed");
    *out_rows = rows;
    return st;
}

/* ------------------------------------------------------------- object */

/* Unique Identifiers that REST paths and KMIP clients carry as they are. */
static bool uid_valid(const char *s)
{
    size_t n = s ? strnlen(s, CF_LIMIT_UID + 1) : 0;
    if (n == 0 || n > CF_LIMIT_UID)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr("-._~:@+=", s[i]) != NULL))
            return false;
    return true;
}

static cf_status new_object(core_req *req, const core_ximport *in, core_object **out)
{
    core_object *obj = cf_arena_calloc(req->arena, sizeof *obj);
    const ttlv_item *d;
    cf_status st;

    if (obj == NULL)
        return CF_ERR_NOMEM;
    if (!uid_valid(in->uid))
        return core_fail(req, CF_ERR_INVALID_FIELD, "the uid must be 1 to %d characters of "
                         "[A-Za-z0-9-._~:@+=]", CF_LIMIT_UID);
    if (core_object_tag(in->object_type) == 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown object type");
    if (in->state < KMIP_STATE_PRE_ACTIVE || in->state > KMIP_STATE_DESTROYED_COMPROMISED)
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown state");
    *obj = (core_object){.tenant = req->who->tenant, .owner = req->who->id,
                         .object_type = in->object_type, .state = in->state, .revision = 1,
                         .created = req->now, .updated = req->now};
    if ((obj->uid = cf_arena_strndup(req->arena, in->uid, strlen(in->uid))) == NULL)
        return CF_ERR_NOMEM;
    if ((st = build_attrs(req, in, obj)) != CF_OK)
        return st;
    if ((d = core_attr_find(obj, "Initial Date", 0)) != NULL && d->type == TTLV_DATE_TIME)
        obj->created = d->v.i64;
    if ((d = core_attr_find(obj, "Last Change Date", 0)) != NULL && d->type == TTLV_DATE_TIME)
        obj->updated = d->v.i64;
    *out = obj;
    return CF_OK;
}

/* The object row and its version rows, in one transaction. */
static cf_status insert_all(core_req *req, core_object *obj, const store_key_version *rows,
                            size_t n)
{
    bool own = !req->batch_txn;
    store_object row;
    cf_status st;

    if (own && (st = store_begin(req->st)) != CF_OK)
        return st;
    req->batch_txn = true;
    st = store_object_get(req->st, obj->tenant, obj->uid, req->arena, &row);
    if (st == CF_OK)
        st = core_fail(req, CF_ERR_EXISTS, "an object with this uid exists in this tenant");
    else if (st == CF_ERR_NOT_FOUND)
        st = core_object_save(req, obj, true);
    for (size_t i = 0; i < n && st == CF_OK; i++)
        st = store_version_insert(req->st, &rows[i]);
    req->batch_txn = !own;
    if (own && st == CF_OK)
        st = core_commit(req);
    if (own && st != CF_OK)
        store_rollback(req->st);
    return st;
}

cf_status core_import_object(core_req *req, const core_xkey *k, const core_ximport *in)
{
    core_object *obj = NULL;
    store_key_version *rows = NULL;
    cf_secret m = {0};
    cf_status st, ast;

    if ((st = core_req_authorize(req, CORE_ACT_IMPORT, NULL)) != CF_OK)
        return st;
    if ((st = new_object(req, in, &obj)) == CF_OK) {
        if (core_is_root_key(obj))
            st = root_versions(req, k, in, obj, &rows, &m);
        else if (in->n_versions != 0)
            st = core_fail(req, CF_ERR_INVALID_FIELD, "only root keys have versions");
        else
            st = object_material(req, k, in, obj, &m);
    }
    if (st == CF_OK && m.p != NULL)
        st = core_object_seal(req, obj, &m);
    cf_secret_free(&m);
    if (st == CF_OK)
        st = insert_all(req, obj, rows, rows ? in->n_versions : 0);
    if (st == CF_OK)
        CF_LOGI("import %s/%s by %s", obj->tenant, obj->uid, req->who->id);
    ast = core_x_audit(req, "importObject", st == CF_OK ? obj : NULL, in->uid, 0, st);
    return st == CF_OK ? ast : st;
}
