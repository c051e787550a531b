/*
 * core_rekey.c - ReKey (KMIP 1.4 section 4.4) and ReKey Key Pair (4.5).
 *
 * The replacement copies the attributes a client could have set when
 * creating the existing key (the rule table's "create" column, and custom
 * attributes), which excludes by construction what Table 173 says is not
 * copied (dates the server sets, Digest, State, Revocation Reason, Unique
 * Identifier, Random Number Generator); Links are not copied either. The
 * existing key gives its Names to the replacement (Table 173) and gets a
 * Replacement Object Link; the replacement a Replaced Object Link. Old and
 * new objects are written in one transaction, retried on a concurrent
 * change of the old key. A root key is the exception: its ReKey is a
 * rotation, a new version under the same Unique Identifier (rekey_root).
 */
#include "core/core_int.h"

#include <string.h>

#include <openssl/evp.h>

#define REKEY_RETRIES 5

static bool named(const char *n, size_t nl, const char *want)
{
    return strlen(want) == nl && memcmp(n, want, nl) == 0;
}

static bool is_dated(const char *n, size_t nl)
{
    return named(n, nl, "Activation Date") || named(n, nl, "Process Start Date") ||
           named(n, nl, "Protect Stop Date") || named(n, nl, "Deactivation Date");
}

/* The existing key's attributes a replacement inherits (see above). With
 * an offset, the four dates are recomputed afterwards rather than copied. */
static cf_status inherited(core_req *req, const core_object *old, bool offset, ttlv_item **out)
{
    ttlv_item *list = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTES);
    if (list == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *it = old->attrs->first; it; it = it->next) {
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        const struct core_attr_rule *r;
        ttlv_item *c;
        /* Fresh: the replacement is new (2.1 4.24: set True on Re-key). */
        if (!core_attr_parts(it, &n, &nl, &idx, &v) || named(n, nl, "Link") ||
            named(n, nl, "Fresh") || (offset && is_dated(n, nl)))
            continue;
        r = core_attr_rule(n, nl);
        if (!(core_attr_is_custom(n, nl) && n[0] == 'x') && (r == NULL || !(r->flags & CORE_ATTR_CREATE)))
            continue;
        if ((c = ttlv_clone(req->arena, it)) == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(list, c);
    }
    *out = list;
    return CF_OK;
}

/* Dates of the replacement from the Offset (Table 172): AT2 = IT2 + offset,
 * the others shifted by AT2 - AT1. */
static cf_status offset_dates(core_req *req, const core_object *old, core_object *nk, int64_t offset)
{
    static const char *const shifted[] = {"Process Start Date", "Protect Stop Date",
                                          "Deactivation Date"};
    const ttlv_item *at1 = core_attr_find(old, "Activation Date", 0);
    int64_t at2 = req->now + offset;
    ttlv_item *v;
    cf_status st;

    if (at1 == NULL)
        return core_fail(req, CF_ERR_STATE,
                         "an Offset needs an Activation Date on the existing key (1.4 11.5)");
    if ((v = ttlv_new_datetime(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, at2)) == NULL)
        return CF_ERR_NOMEM;
    if ((st = core_object_append_attr(req, nk, "Activation Date", v)) != CF_OK)
        return st;
    for (size_t i = 0; i < sizeof shifted / sizeof shifted[0]; i++) {
        const ttlv_item *d = core_attr_find(old, shifted[i], 0);
        if (d == NULL)
            continue;
        if ((v = ttlv_new_datetime(req->arena, KMIP_TAG_ATTRIBUTE_VALUE,
                                   d->v.i64 + (at2 - at1->v.i64))) == NULL)
            return CF_ERR_NOMEM;
        if ((st = core_object_append_attr(req, nk, shifted[i], v)) != CF_OK)
            return st;
    }
    nk->state = at2 <= req->now ? KMIP_STATE_ACTIVE : KMIP_STATE_PRE_ACTIVE;
    return CF_OK;
}

/* 1.4 11.5: Offset together with any of the four dates is refused. */
static cf_status check_offset_attrs(core_req *req, const int64_t *offset, const ttlv_item *attrs)
{
    for (const ttlv_item *it = attrs ? attrs->first : NULL; offset && it; it = it->next) {
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        if (core_attr_parts(it, &n, &nl, &idx, &v) && is_dated(n, nl))
            return core_fail(req, CF_ERR_INVALID_MSG,
                             "Offset cannot be given together with the key's dates");
    }
    return CF_OK;
}

/* The existing key gives up its Names and points at its replacement. */
static cf_status retire(core_req *req, core_object *old, const char *new_uid)
{
    ttlv_item *list = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTES);
    if (list == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *it = old->attrs->first; it;) {
        const ttlv_item *next = it->next;
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        ttlv_item *c;
        if (!core_attr_parts(it, &n, &nl, &idx, &v) || !named(n, nl, "Name")) {
            if ((c = ttlv_clone(req->arena, it)) == NULL)
                return CF_ERR_NOMEM;
            ttlv_append(list, c);
        }
        it = next;
    }
    old->attrs = list;
    core_object_touch(old, req->now);
    old->revision++;
    return core_object_link(req, old, KMIP_LINK_TYPE_REPLACEMENT_OBJECT_LINK, new_uid);
}

/* The replacement object: inherited attributes overlaid with the request's. */
static cf_status replacement(core_req *req, const core_object *old, const int64_t *offset,
                             const ttlv_item *attrs, core_object **out)
{
    ttlv_item *base, *merged;
    cf_status st;

    if ((st = inherited(req, old, offset != NULL, &base)) != CF_OK ||
        (st = core_attrs_merge(req, base, attrs, &merged)) != CF_OK ||
        (st = core_object_new(req, old->object_type, merged, out)) != CF_OK)
        return st;
    if (offset && (st = offset_dates(req, old, *out, *offset)) != CF_OK)
        return st;
    return core_object_link(req, *out, KMIP_LINK_TYPE_REPLACED_OBJECT_LINK, old->uid);
}

static cf_status load_rekeyable(core_req *req, const char *uid, uint32_t type, core_object **out)
{
    cf_status st = core_object_load(req, uid, out);
    if (st != CF_OK)
        return st;
    if ((st = core_req_authorize(req, CORE_ACT_REKEY, *out)) != CF_OK)
        return st;
    if ((*out)->object_type != type)
        return core_fail(req, CF_ERR_PERMISSION, "the object is not a %s: it cannot be re-keyed",
                         type == KMIP_OBJECT_TYPE_SYMMETRIC_KEY ? "Symmetric Key" : "Private Key");
    if (core_state_is_destroyed((*out)->state))
        return core_fail(req, CF_ERR_DESTROYED, "the object is destroyed");
    return CF_OK;
}

static cf_status rekey_once(core_req *req, const char *uid, const int64_t *offset,
                            const ttlv_item *attrs, core_object **out)
{
    core_object *objs[2];
    const bool insert[2] = {false, true};
    const ttlv_item *alg, *len;
    const char *why = NULL;
    cf_secret key = {0};
    size_t bytes = 0;
    cf_status st;

    if ((st = load_rekeyable(req, uid, KMIP_OBJECT_TYPE_SYMMETRIC_KEY, &objs[0])) != CF_OK)
        return st;
    if ((st = replacement(req, objs[0], offset, attrs, &objs[1])) != CF_OK)
        return st;
    alg = core_attr_find(objs[1], "Cryptographic Algorithm", 0);
    len = core_attr_find(objs[1], "Cryptographic Length", 0);
    if (!alg || !len || crypto_sym_check(alg->v.u32, len->v.i32, &bytes, &why) != CF_OK)
        return core_fail(req, CF_ERR_PERMISSION, "this key's algorithm and length cannot be re-keyed%s%s",
                         why ? ": " : "", why ? why : "");
    objs[1]->key_format = KMIP_KEY_FORMAT_TYPE_RAW;
    if ((st = core_symmetric_material(objs[1], bytes, &key)) != CF_OK)
        return st;
    if ((st = core_object_digest(req, objs[1], key.p, key.len, KMIP_KEY_FORMAT_TYPE_RAW)) == CF_OK &&
        (st = core_object_seal(req, objs[1], &key)) == CF_OK &&
        (st = retire(req, objs[0], objs[1]->uid)) == CF_OK &&
        (st = core_objects_save(req, objs, insert, 2)) == CF_OK)
        *out = objs[1];
    cf_secret_free(&key);
    return st;
}

/*
 * ReKey of a root key (issue 6): a DELIBERATE DEVIATION from KMIP 1.4
 * section 4.4, which makes a new object with a new Unique Identifier.
 * A root key's identity is what applications and wrapped DEKs name, so
 * ReKey adds a version to the same key (core_key_rotate, the very
 * operation REST rotation and the rotation policy run) and the response
 * carries the same Unique Identifier; data wrapped under older versions
 * still unwraps. The new version is effective at once: an Offset other
 * than 0 (it would date a new object) and attributes (the key keeps its
 * own) are refused. Other keys keep KMIP's ReKey. docs/rotation.md.
 */
static cf_status rekey_root(core_req *req, const char *uid, const int64_t *offset,
                            const ttlv_item *attrs, core_object **out)
{
    uint32_t version = 0;
    cf_status st;

    if ((offset != NULL && *offset != 0) || (attrs != NULL && attrs->nchildren > 0))
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "ReKey of a root key adds a version to the same key: an Offset or "
                         "attributes do not apply");
    if ((st = core_key_rotate(req, uid, CORE_ROTATE_KMIP_REKEY, &version)) != CF_OK)
        return st;
    return core_object_load(req, uid, out);
}

cf_status core_rekey(core_req *req, const char *uid, const int64_t *offset, const ttlv_item *attrs,
                     core_object **out)
{
    core_object *obj;
    cf_status st;
    *out = NULL;
    if (core_object_load(req, uid, &obj) == CF_OK && core_is_root_key(obj))
        return rekey_root(req, uid, offset, attrs, out);
    req->err_msg = NULL; /* a failed load is reported by the ReKey path below */
    if ((st = check_offset_attrs(req, offset, attrs)) != CF_OK)
        return st;
    for (int i = 0; i < REKEY_RETRIES; i++) {
        st = rekey_once(req, uid, offset, attrs, out);
        if (st != CF_ERR_CONFLICT)
            return st;
    }
    return core_fail(req, CF_ERR_CONFLICT, "the key is being modified concurrently");
}

/* ------------------------------------------------------- ReKey Key Pair */

/* The uid a Link of this type points at, or NULL. */
static const char *linked(const core_object *obj, uint32_t type)
{
    for (const ttlv_item *it = obj->attrs->first; it; it = it->next) {
        const char *n, *uid;
        size_t nl, ul;
        int32_t idx;
        const ttlv_item *v;
        uint32_t t;
        if (core_attr_parts(it, &n, &nl, &idx, &v) && named(n, nl, "Link") &&
            ttlv_get_enum(v, KMIP_TAG_LINK_TYPE, &t) == CF_OK && t == type &&
            ttlv_get_text(v, KMIP_TAG_LINKED_OBJECT_IDENTIFIER, &uid, &ul) == CF_OK)
            return uid;
    }
    return NULL;
}

static cf_status rekey_pair_once(core_req *req, const char *uid, const int64_t *offset,
                                 const ttlv_item *const specific[3], core_object **out)
{
    core_object *o[4]; /* old private, old public, new private, new public */
    const bool insert[4] = {false, false, true, true};
    ttlv_item *pa, *ua;
    const char *pub_uid;
    EVP_PKEY *key = NULL;
    cf_status st;

    if ((st = load_rekeyable(req, uid, KMIP_OBJECT_TYPE_PRIVATE_KEY, &o[0])) != CF_OK)
        return st;
    if ((pub_uid = linked(o[0], KMIP_LINK_TYPE_PUBLIC_KEY_LINK)) == NULL)
        return core_fail(req, CF_ERR_PERMISSION, "the private key has no Public Key Link");
    if ((st = load_rekeyable(req, pub_uid, KMIP_OBJECT_TYPE_PUBLIC_KEY, &o[1])) != CF_OK)
        return st == CF_ERR_NOT_FOUND ? core_fail(req, CF_ERR_PERMISSION, "the public key is gone") : st;
    if ((st = core_attrs_merge(req, specific[0], specific[1], &pa)) != CF_OK ||
        (st = core_attrs_merge(req, specific[0], specific[2], &ua)) != CF_OK ||
        (st = replacement(req, o[0], offset, pa, &o[2])) != CF_OK ||
        (st = replacement(req, o[1], offset, ua, &o[3])) != CF_OK)
        return st;
    if ((st = core_pair_generate(req, o[2], &key)) != CF_OK)
        return st;
    for (int i = 2; i < 4 && st == CF_OK; i++)
        st = core_pair_fill(req, o[i], key);
    EVP_PKEY_free(key);
    if (st == CF_OK &&
        (st = core_object_link(req, o[2], KMIP_LINK_TYPE_PUBLIC_KEY_LINK, o[3]->uid)) == CF_OK &&
        (st = core_object_link(req, o[3], KMIP_LINK_TYPE_PRIVATE_KEY_LINK, o[2]->uid)) == CF_OK &&
        (st = retire(req, o[0], o[2]->uid)) == CF_OK && (st = retire(req, o[1], o[3]->uid)) == CF_OK &&
        (st = core_objects_save(req, o, insert, 4)) == CF_OK) {
        out[0] = o[2];
        out[1] = o[3];
    }
    return st;
}

cf_status core_rekey_key_pair(core_req *req, const char *uid, const int64_t *offset,
                              const ttlv_item *common, const ttlv_item *priv,
                              const ttlv_item *pub, core_object **out_priv,
                              core_object **out_pub)
{
    const ttlv_item *const specific[3] = {common, priv, pub};
    core_object *out[2] = {NULL, NULL};
    cf_status st;

    *out_priv = *out_pub = NULL;
    for (int i = 0; i < 3; i++)
        if ((st = check_offset_attrs(req, offset, specific[i])) != CF_OK)
            return st;
    for (int i = 0; i < REKEY_RETRIES; i++) {
        st = rekey_pair_once(req, uid, offset, specific, out);
        if (st == CF_OK) {
            *out_priv = out[0];
            *out_pub = out[1];
        }
        if (st != CF_ERR_CONFLICT)
            return st;
    }
    return core_fail(req, CF_ERR_CONFLICT, "the key pair is being modified concurrently");
}
