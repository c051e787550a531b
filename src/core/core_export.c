/*
 * core_export.c - what Get returns: the object structure of a managed
 * object in the format asked for, optionally wrapped (KMIP 1.4 sections
 * 2.1.3-2.1.6, 4.11); and the plaintext key material the cryptographic
 * operations use.
 *
 * Design: material is kept in one of two stored forms (see core.h): a
 * plain key, from which Get rebuilds the Key Block with the attributes, or
 * the verbatim object structure as registered. Both paths meet in one
 * representation, (Key Format Type, material in its stored form), which the
 * conversions (crypto_keys.c) and the wrapping work on; the Key Block is
 * built last. Everything built lives in the request arena, which is
 * cleansed on reset; intermediate secrets are cf_secret and freed on every
 * path.
 */
#include "core/core_int.h"

#include <string.h>

#include <openssl/evp.h>

#include "util/limits.h"
#include "util/log.h"

static const ttlv_limits verbatim_limits = {
    .max_bytes = CF_LIMIT_KMIP_MESSAGE,
    .max_depth = CF_LIMIT_TTLV_DEPTH,
    .max_items = CF_LIMIT_TTLV_ITEMS,
    .max_string = CF_LIMIT_STRING,
};

uint32_t core_object_tag(uint32_t object_type)
{
    switch (object_type) {
    case KMIP_OBJECT_TYPE_CERTIFICATE: return KMIP_TAG_CERTIFICATE;
    case KMIP_OBJECT_TYPE_SYMMETRIC_KEY: return KMIP_TAG_SYMMETRIC_KEY;
    case KMIP_OBJECT_TYPE_PUBLIC_KEY: return KMIP_TAG_PUBLIC_KEY;
    case KMIP_OBJECT_TYPE_PRIVATE_KEY: return KMIP_TAG_PRIVATE_KEY;
    case KMIP_OBJECT_TYPE_SPLIT_KEY: return KMIP_TAG_SPLIT_KEY;
    case KMIP_OBJECT_TYPE_SECRET_DATA: return KMIP_TAG_SECRET_DATA;
    case KMIP_OBJECT_TYPE_OPAQUE_OBJECT: return KMIP_TAG_OPAQUE_OBJECT;
    default: return 0;
    }
}

bool core_format_is_transparent(uint32_t f)
{
    return (f >= KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY &&
            f <= KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PUBLIC_KEY);
}

/* --------------------------------------------------- Key Material items */

/* The Key Material item for material in its stored form. */
cf_status core_key_material_item(core_req *req, uint32_t format, const cf_secret *m,
                                 ttlv_item **out)
{
    ttlv_item *km;
    ttlv_error err;

    if (format == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY) {
        ttlv_item *k = ttlv_new_bytes(req->arena, KMIP_TAG_KEY, m->p, m->len);
        km = ttlv_new_struct(req->arena, KMIP_TAG_KEY_MATERIAL);
        if (!k || !km)
            return CF_ERR_NOMEM;
        ttlv_append(km, k);
    } else if (core_format_is_transparent(format)) {
        if (ttlv_decode(m->p, m->len, &verbatim_limits, req->arena, &km, &err) != CF_OK ||
            km->tag != KMIP_TAG_KEY_MATERIAL) {
            CF_LOGE("stored transparent key material does not decode");
            return CF_ERR_INTERNAL;
        }
    } else {
        km = ttlv_new_bytes(req->arena, KMIP_TAG_KEY_MATERIAL, m->p, m->len);
        if (km == NULL)
            return CF_ERR_NOMEM;
    }
    *out = km;
    return CF_OK;
}

/* The stored form of a Key Material item (the reverse). Byte Strings are
 * the bytes; Transparent Symmetric Key its Key; other structures their TTLV
 * encoding. */
cf_status core_key_material_bytes(const ttlv_item *km, uint32_t format, cf_secret *out)
{
    cf_buf buf;
    cf_status st;

    if (km->type == TTLV_BYTE_STRING)
        return cf_secret_dup(out, km->v.s.p, km->v.s.len);
    if (km->type != TTLV_STRUCTURE || !core_format_is_transparent(format))
        return CF_ERR_INVALID_FIELD;
    if (format == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY) {
        const uint8_t *k;
        size_t kl;
        if (km->nchildren != 1 || ttlv_get_bytes(km, KMIP_TAG_KEY, &k, &kl) != CF_OK || kl == 0)
            return CF_ERR_INVALID_FIELD;
        return cf_secret_dup(out, k, kl);
    }
    cf_buf_init(&buf, CF_LIMIT_KMIP_MESSAGE);
    st = ttlv_encode(km, &buf);
    if (st == CF_OK)
        st = cf_secret_dup(out, buf.p, buf.len);
    cf_buf_free(&buf);
    return st;
}

/* ------------------------------------------------------------- Key Block */

cf_status core_key_block(core_req *req, const core_object *obj, uint32_t format,
                         const cf_secret *m, ttlv_item **out)
{
    const ttlv_item *alg = core_attr_find(obj, "Cryptographic Algorithm", 0);
    const ttlv_item *len = core_attr_find(obj, "Cryptographic Length", 0);
    ttlv_item *kb = ttlv_new_struct(req->arena, KMIP_TAG_KEY_BLOCK);
    ttlv_item *kf = ttlv_new_enum(req->arena, KMIP_TAG_KEY_FORMAT_TYPE, format);
    ttlv_item *kv = ttlv_new_struct(req->arena, KMIP_TAG_KEY_VALUE);
    ttlv_item *km;
    cf_status st;

    if (!kb || !kf || !kv)
        return CF_ERR_NOMEM;
    if ((st = core_key_material_item(req, format, m, &km)) != CF_OK)
        return st;
    ttlv_append(kv, km);
    ttlv_append(kb, kf);
    ttlv_append(kb, kv);
    /* 1.4 2.1.3: Algorithm and Length go together. */
    if (alg && len && alg->type == TTLV_ENUMERATION && len->type == TTLV_INTEGER) {
        ttlv_item *a = ttlv_new_enum(req->arena, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, alg->v.u32);
        ttlv_item *l = ttlv_new_int(req->arena, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, len->v.i32);
        if (!a || !l)
            return CF_ERR_NOMEM;
        ttlv_append(kb, a);
        ttlv_append(kb, l);
    }
    *out = kb;
    return CF_OK;
}

/* -------------------------------------------------------- stored object */

/* The verbatim object structure of obj (decoded from m). */
static cf_status verbatim_decode(core_req *req, const core_object *obj, const cf_secret *m,
                                 ttlv_item **out)
{
    ttlv_error err;
    if (ttlv_decode(m->p, m->len, &verbatim_limits, req->arena, out, &err) != CF_OK ||
        (*out)->tag != core_object_tag(obj->object_type)) {
        CF_LOGE("object %s: stored object structure does not decode", obj->uid);
        return CF_ERR_INTERNAL;
    }
    return CF_OK;
}

/* The plain key of a Key Block: its format and material (stored form);
 * CF_ERR_UNSUPPORTED when it is wrapped. */
static cf_status block_key(const ttlv_item *kb, uint32_t *format, cf_secret *out)
{
    const ttlv_item *kv = ttlv_child(kb, KMIP_TAG_KEY_VALUE);
    const ttlv_item *km = kv ? ttlv_child(kv, KMIP_TAG_KEY_MATERIAL) : NULL;
    if (ttlv_child(kb, KMIP_TAG_KEY_WRAPPING_DATA) != NULL)
        return CF_ERR_UNSUPPORTED;
    if (ttlv_get_enum(kb, KMIP_TAG_KEY_FORMAT_TYPE, format) != CF_OK || km == NULL)
        return CF_ERR_INTERNAL;
    return core_key_material_bytes(km, *format, out);
}

/* The sealed material of a key used by an operation: the caller judged
 * the state (core_object_check_usage), so Get's state rule does not apply;
 * destroyed keys have none. */
static cf_status open_for_use(core_req *req, const core_object *obj, cf_secret *out)
{
    const uint8_t *aad;
    size_t aad_len;
    cf_status st;

    /* Defence in depth: the use itself was authorized with its action
     * (core_object_check_use); any key use will do here. */
    if ((st = core_req_authorize_any(req, CORE_ACTIONS_USE, obj)) != CF_OK)
        return st;
    if (core_state_is_destroyed(obj->state) || obj->sealed == NULL)
        return core_fail(req, CF_ERR_NOT_FOUND, "the key has no key material");
    if ((st = core_material_aad(req->arena, obj->tenant, obj->uid, &aad, &aad_len)) != CF_OK)
        return st;
    if (crypto_open(req->core->keyring, aad, aad_len, obj->sealed, obj->sealed_len, out) != CF_OK) {
        CF_LOGE("object %s: sealed material does not open", obj->uid);
        return CF_ERR_INTERNAL;
    }
    return CF_OK;
}

/* The plain key of obj: Key Format Type and material (stored form). */
static cf_status object_key(core_req *req, const core_object *obj, uint32_t *format,
                            cf_secret *out)
{
    cf_secret m = {0};
    ttlv_item *o;
    cf_status st;

    if ((st = open_for_use(req, obj, &m)) != CF_OK)
        return st;
    if (!(obj->key_format & CORE_KEY_FORMAT_VERBATIM)) {
        *format = obj->key_format;
        *out = m;
        return CF_OK;
    }
    st = verbatim_decode(req, obj, &m, &o);
    cf_secret_free(&m);
    if (st != CF_OK)
        return st;
    st = block_key(ttlv_child(o, KMIP_TAG_KEY_BLOCK), format, out);
    if (st == CF_ERR_UNSUPPORTED)
        return core_fail(req, st, "the key is stored wrapped: the server cannot use it");
    if (st == CF_ERR_INVALID_FIELD || (st == CF_OK && ttlv_child(o, KMIP_TAG_KEY_BLOCK) == NULL))
        st = CF_ERR_INTERNAL;
    return st;
}

cf_status core_key_material(core_req *req, const core_object *obj, cf_secret *out,
                            uint32_t *out_format)
{
    cf_status st;
    out->p = NULL;
    out->len = 0;
    if (obj->object_type == KMIP_OBJECT_TYPE_CERTIFICATE ||
        obj->object_type == KMIP_OBJECT_TYPE_OPAQUE_OBJECT)
        return core_fail(req, CF_ERR_OBJECT_TYPE, "the object is not a key");
    if ((st = object_key(req, obj, out_format, out)) != CF_OK)
        return st;
    if (*out_format == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY)
        *out_format = KMIP_KEY_FORMAT_TYPE_RAW; /* same bytes */
    return CF_OK;
}

cf_status core_key_pkey(core_req *req, const core_object *obj, EVP_PKEY **out)
{
    const ttlv_item *alg = core_attr_find(obj, "Cryptographic Algorithm", 0);
    cf_secret m = {0};
    uint32_t format;
    cf_status st;

    *out = NULL;
    if (obj->object_type != KMIP_OBJECT_TYPE_PUBLIC_KEY &&
        obj->object_type != KMIP_OBJECT_TYPE_PRIVATE_KEY)
        return core_fail(req, CF_ERR_OBJECT_TYPE, "the object is not a public or private key");
    if ((st = core_key_material(req, obj, &m, &format)) != CF_OK)
        return st;
    st = crypto_key_load(obj->object_type, format, alg ? alg->v.u32 : 0, m.p, m.len, out);
    cf_secret_free(&m);
    if (st != CF_OK) {
        CF_LOGE("object %s: stored key does not load (%s)", obj->uid, cf_status_str(st));
        st = core_fail(req, CF_ERR_CRYPTO, "the stored key cannot be used");
    }
    return st;
}

/* ----------------------------------------------------------- conversion */

/* Convert material (stored form) from one format to another for obj. */
static cf_status convert(core_req *req, const core_object *obj, uint32_t from, const cf_secret *in,
                         uint32_t to, cf_secret *out)
{
    const ttlv_item *alg = core_attr_find(obj, "Cryptographic Algorithm", 0);
    EVP_PKEY *key = NULL;
    cf_status st;

    if (from == to)
        return cf_secret_dup(out, in->p, in->len);
    if (obj->object_type == KMIP_OBJECT_TYPE_SYMMETRIC_KEY) {
        /* Raw <-> Transparent Symmetric Key: the same bytes (1.4 2.1.7.1). */
        bool a = from == KMIP_KEY_FORMAT_TYPE_RAW ||
                 from == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY;
        bool b = to == KMIP_KEY_FORMAT_TYPE_RAW || to == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY;
        if (a && b)
            return cf_secret_dup(out, in->p, in->len);
        return core_fail(req, CF_ERR_FORMAT, "a Symmetric Key is available as Raw or Transparent");
    }
    if (obj->object_type != KMIP_OBJECT_TYPE_PUBLIC_KEY &&
        obj->object_type != KMIP_OBJECT_TYPE_PRIVATE_KEY)
        return core_fail(req, CF_ERR_FORMAT, "this object is available in its registered format only");
    st = crypto_key_load(obj->object_type, from, alg ? alg->v.u32 : 0, in->p, in->len, &key);
    if (st != CF_OK) {
        CF_LOGE("object %s: stored key does not load (%s)", obj->uid, cf_status_str(st));
        return CF_ERR_INTERNAL;
    }
    st = crypto_key_export(key, obj->object_type, to, out);
    EVP_PKEY_free(key);
    if (st == CF_ERR_FORMAT)
        return core_fail(req, st, "Key Format Type %u is not available for this key", to);
    return st;
}

/* Replace the Key Block of object structure o by kb (a new structure). */
static ttlv_item *with_key_block(core_req *req, const ttlv_item *o, ttlv_item *kb)
{
    ttlv_item *n = ttlv_new_struct(req->arena, o->tag);
    if (n == NULL)
        return NULL;
    for (const ttlv_item *c = o->first; c; c = c->next) {
        ttlv_item *x = c->tag == KMIP_TAG_KEY_BLOCK ? kb : ttlv_clone(req->arena, c);
        if (x == NULL)
            return NULL;
        ttlv_append(n, x);
    }
    return n;
}

static cf_status get_certificate(core_req *req, const core_object *obj, const core_get_opts *o,
                                 ttlv_item **out)
{
    const ttlv_item *ct = core_attr_find(obj, "Certificate Type", 0);
    cf_secret m = {0};
    ttlv_item *s, *t, *v;
    cf_status st;

    /* A Certificate has no Key Block: X.509 is the only "format" it has. */
    if (o->key_format != 0 && o->key_format != KMIP_KEY_FORMAT_TYPE_X_509)
        return core_fail(req, CF_ERR_FORMAT, "a Certificate is available as X.509 only");
    if (o->wrap_spec != NULL)
        return core_fail(req, CF_ERR_OBJECT_TYPE, "a Certificate has no Key Block to wrap");
    if ((st = core_object_material(req, obj, &m)) != CF_OK)
        return st;
    s = ttlv_new_struct(req->arena, KMIP_TAG_CERTIFICATE);
    t = ttlv_new_enum(req->arena, KMIP_TAG_CERTIFICATE_TYPE,
                      ct ? ct->v.u32 : KMIP_CERTIFICATE_TYPE_X_509);
    v = ttlv_new_bytes(req->arena, KMIP_TAG_CERTIFICATE_VALUE, m.p, m.len);
    cf_secret_free(&m);
    if (!s || !t || !v)
        return CF_ERR_NOMEM;
    ttlv_append(s, t);
    ttlv_append(s, v);
    *out = s;
    return CF_OK;
}

/* Get of a verbatim object with no conversion and no wrapping. */
static cf_status get_verbatim(core_req *req, const core_object *obj, const core_get_opts *o,
                              ttlv_item **out)
{
    cf_secret m = {0};
    const ttlv_item *kb;
    cf_status st;
    if ((st = core_object_material(req, obj, &m)) != CF_OK)
        return st;
    st = verbatim_decode(req, obj, &m, out);
    cf_secret_free(&m);
    if (st == CF_OK && o->not_wrapped && (kb = ttlv_child(*out, KMIP_TAG_KEY_BLOCK)) != NULL &&
        ttlv_child(kb, KMIP_TAG_KEY_WRAPPING_DATA) != NULL)
        return core_fail(req, CF_ERR_UNSUPPORTED,
                         "the key was registered wrapped; Key Wrap Type Not Wrapped is not offered");
    return st;
}

static bool wants_as_stored(const core_object *obj, const core_get_opts *o)
{
    return o->wrap_spec == NULL &&
           (o->key_format == 0 || o->key_format == CORE_KEY_FORMAT(obj));
}

static cf_status check_compression(core_req *req, const core_object *obj, const core_get_opts *o)
{
    /* Coffre serves EC public keys uncompressed only (1.4 2.1.3: the
     * default); a compressed form is not offered. */
    if (o->key_compression == 0)
        return CF_OK;
    if (o->key_compression == KMIP_KEY_COMPRESSION_TYPE_EC_PUBLIC_KEY_TYPE_UNCOMPRESSED &&
        obj->object_type == KMIP_OBJECT_TYPE_PUBLIC_KEY)
        return CF_OK;
    return core_fail(req, CF_ERR_FORMAT, "Key Compression Type %u is not available",
                     o->key_compression);
}

cf_status core_object_get(core_req *req, const core_object *obj, const core_get_opts *o,
                          ttlv_item **out)
{
    cf_secret m = {0}, conv = {0};
    ttlv_item *kb = NULL, *orig = NULL;
    uint32_t from, to;
    cf_status st;

    *out = NULL;
    if ((st = core_object_check_export(req, obj, o->wrap_spec != NULL)) != CF_OK)
        return st;
    if (obj->object_type == KMIP_OBJECT_TYPE_CERTIFICATE)
        return get_certificate(req, obj, o, out);
    if ((st = check_compression(req, obj, o)) != CF_OK)
        return st;
    if ((obj->key_format & CORE_KEY_FORMAT_VERBATIM) && wants_as_stored(obj, o))
        return get_verbatim(req, obj, o, out);
    if (obj->object_type == KMIP_OBJECT_TYPE_OPAQUE_OBJECT)
        return core_fail(req, o->wrap_spec ? CF_ERR_OBJECT_TYPE : CF_ERR_FORMAT,
                         "an Opaque Object has no Key Block");
    if (obj->key_format & CORE_KEY_FORMAT_VERBATIM) {
        cf_secret raw = {0};
        if ((st = core_object_material(req, obj, &raw)) != CF_OK)
            return st;
        st = verbatim_decode(req, obj, &raw, &orig);
        cf_secret_free(&raw);
        if (st != CF_OK)
            return st;
        st = block_key(ttlv_child(orig, KMIP_TAG_KEY_BLOCK), &from, &m);
        if (st == CF_ERR_UNSUPPORTED)
            return core_fail(req, o->wrap_spec ? CF_ERR_UNSUPPORTED : CF_ERR_FORMAT,
                             "the key was registered wrapped: it is available as registered only");
        if (st != CF_OK)
            return CF_ERR_INTERNAL;
    } else {
        if ((st = core_object_material(req, obj, &m)) != CF_OK)
            return st;
        from = obj->key_format;
    }
    to = o->key_format ? o->key_format : from;
    if ((st = convert(req, obj, from, &m, to, &conv)) != CF_OK)
        goto out;
    if (o->wrap_spec != NULL)
        st = core_wrap_key_block(req, obj, to, &conv, o, &kb);
    else
        st = core_key_block(req, obj, to, &conv, &kb);
    if (st != CF_OK)
        goto out;
    if (orig != NULL) {
        *out = with_key_block(req, orig, kb);
    } else if ((*out = ttlv_new_struct(req->arena, core_object_tag(obj->object_type))) != NULL) {
        ttlv_append(*out, kb);
    }
    st = *out ? CF_OK : CF_ERR_NOMEM;
out:
    cf_secret_free(&m);
    cf_secret_free(&conv);
    return st;
}
