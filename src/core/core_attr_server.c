/*
 * core_attr_server.c - the attributes the server sets on its own: those
 * that always have a value (set when an object is made), those that follow
 * a client's edit (Always Sensitive, Never Extractable; a changed Name is
 * checked for uniqueness when saved), and server-set attributes a client
 * repeats on Register.
 */
#include "core/core_int.h"

#include <string.h>

#include "util/limits.h"

/* ------------------------------------------- attributes always present */
/*
 * "SHALL always have a value: Yes" (1.4 sections 3.48-3.51; 2.1 sections
 * 4.3, 4.23, 4.24, 4.33, 4.44, 4.55, 4.56), for every object type, set when
 * the object is created or registered. Clients may give Sensitive,
 * Extractable and Fresh; the server derives the rest. Key Format Type (2.1
 * 4.26) is not stored: core_object_attributes derives it from the stored
 * material's format. Older clients do not see the ones their version lacks
 * (kmip_attr_write).
 */
static cf_status put_default(core_req *req, core_object *obj, const char *name, ttlv_item *v)
{
    unsigned n;
    if (v == NULL)
        return CF_ERR_NOMEM;
    core_attr_next_index(obj->attrs, name, strlen(name), &n);
    return n > 0 ? CF_OK : core_object_append_attr(req, obj, name, v);
}

static bool bool_attr(const core_object *obj, const char *name, bool dflt)
{
    const ttlv_item *v = core_attr_find(obj, name, 0);
    return v != NULL && v->type == TTLV_BOOLEAN ? v->v.b : dflt;
}

cf_status core_attr_defaults(core_req *req, core_object *obj)
{
    cf_arena *a = req->arena;
    /* Sensitive defaults to False (4.55), Extractable to True (4.23);
     * Always Sensitive / Never Extractable start as their history so far
     * (4.3, 4.33), Fresh True (4.24), the Short Unique Identifier is the
     * SHA-256 of the Unique Identifier (4.56), and objects are kept in
     * software (4.44: the sealed rows of the store). */
    bool sensitive = bool_attr(obj, "Sensitive", false);
    bool extractable = bool_attr(obj, "Extractable", true);
    uint8_t d[32];
    cf_status st;

    if ((st = crypto_sha256((const uint8_t *)obj->uid, strlen(obj->uid), d)) != CF_OK)
        return st;
    if ((st = put_default(req, obj, "Sensitive",
                          ttlv_new_bool(a, KMIP_TAG_ATTRIBUTE_VALUE, sensitive))) != CF_OK ||
        (st = put_default(req, obj, "Always Sensitive",
                          ttlv_new_bool(a, KMIP_TAG_ATTRIBUTE_VALUE, sensitive))) != CF_OK ||
        (st = put_default(req, obj, "Extractable",
                          ttlv_new_bool(a, KMIP_TAG_ATTRIBUTE_VALUE, extractable))) != CF_OK ||
        (st = put_default(req, obj, "Never Extractable",
                          ttlv_new_bool(a, KMIP_TAG_ATTRIBUTE_VALUE, !extractable))) != CF_OK ||
        (st = put_default(req, obj, "Fresh", ttlv_new_bool(a, KMIP_TAG_ATTRIBUTE_VALUE, true))) ||
        (st = put_default(req, obj, "Protection Storage Mask",
                          ttlv_new_int(a, KMIP_TAG_ATTRIBUTE_VALUE,
                                       KMIP_PROTECTION_STORAGE_MASK_SOFTWARE))) != CF_OK)
        return st;
    return put_default(req, obj, "Short Unique Identifier",
                       ttlv_new_bytes(a, KMIP_TAG_ATTRIBUTE_VALUE, d, sizeof d));
}

/* After a client set `name` to v: a new Name is checked for uniqueness when
 * the object is saved; Always Sensitive becomes False once
 * Sensitive has been False, Never Extractable False once Extractable has
 * been True (1.4 3.49, 3.51; 2.1 4.3, 4.33); they never go back. */
cf_status core_attr_after_edit(core_req *req, core_object *obj, const char *name,
                               const ttlv_item *v)
{
    const char *derived = NULL;
    ttlv_item *f;
    if (strcmp(name, "Name") == 0)
        obj->names_changed = true; /* core_objects_save: unique names (2.1 4.32) */
    if (v == NULL || v->type != TTLV_BOOLEAN)
        return CF_OK;
    if (strcmp(name, "Sensitive") == 0 && !v->v.b)
        derived = "Always Sensitive";
    else if (strcmp(name, "Extractable") == 0 && v->v.b)
        derived = "Never Extractable";
    if (derived == NULL)
        return CF_OK;
    if ((f = ttlv_new_bool(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, false)) == NULL)
        return CF_ERR_NOMEM;
    return core_attr_put(req, obj, derived, f);
}

/* ------------------------------------------------ server-set echoes */
/*
 * A client registering an object may repeat an attribute only the server
 * sets (Certificate Type, Certificate Length, Digest, ...) with the value
 * the server sets: that sets nothing (2.1 section 4.7: "SHALL be set by
 * the server"; BL-M-10 registers a certificate with its own Certificate
 * Type). Such attributes are taken out of the client's list before the
 * object is made, and compared once the server has set its own; any other
 * value is the read-only refusal.
 */
static bool server_only(const ttlv_item *attr)
{
    const char *n;
    size_t nl;
    int32_t idx;
    const ttlv_item *v;
    const struct core_attr_rule *r;
    if (!core_attr_parts(attr, &n, &nl, &idx, &v) || core_attr_is_custom(n, nl))
        return false;
    r = core_attr_rule(n, nl);
    return r != NULL && (r->flags & CORE_ATTR_SERVER) && !(r->flags & CORE_ATTR_CREATE) &&
           v->type == r->type;
}

cf_status core_attrs_split_echoes(core_req *req, const ttlv_item *attrs, ttlv_item **out_kept,
                                  ttlv_item **out_echoes)
{
    ttlv_item *kept = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTES);
    ttlv_item *echoes = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTES);
    if (kept == NULL || echoes == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *it = attrs ? attrs->first : NULL; it; it = it->next) {
        ttlv_item *c = ttlv_clone(req->arena, it);
        if (c == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(server_only(it) ? echoes : kept, c);
    }
    *out_kept = kept;
    *out_echoes = echoes;
    return CF_OK;
}

cf_status core_attrs_check_echoes(core_req *req, const core_object *obj, const ttlv_item *echoes)
{
    for (const ttlv_item *it = echoes ? echoes->first : NULL; it; it = it->next) {
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v, *mine = NULL;
        char name[CF_LIMIT_ATTR_NAME + 1];
        ttlv_item type;
        if (!core_attr_parts(it, &n, &nl, &idx, &v) || nl > CF_LIMIT_ATTR_NAME)
            return CF_ERR_INTERNAL;
        memcpy(name, n, nl);
        name[nl] = '\0';
        if (strcmp(name, "Object Type") == 0) {
            memset(&type, 0, sizeof type);
            type.tag = KMIP_TAG_ATTRIBUTE_VALUE;
            type.type = TTLV_ENUMERATION;
            type.v.u32 = obj->object_type;
            mine = &type;
        } else {
            mine = core_attr_find(obj, name, 0);
        }
        if (mine == NULL || !core_attr_value_equal(mine, v))
            return core_fail(req, CF_ERR_READ_ONLY,
                             "attribute '%s' is set by the server, to another value", name);
    }
    return CF_OK;
}
