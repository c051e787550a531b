/*
 * kmip_ops_object.c - creating objects and reading them back: Create, Get,
 * Get Attributes, Get Attribute List, Add Attribute.
 */
#include "kmip/kmip_int.h"

#include <string.h>

#include "util/log.h"

/* ----------------------------------------------------------------- Create */
cf_status kmip_op_create(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    uint32_t type;
    const ttlv_item *wire;
    ttlv_item *attrs;
    core_object *obj;
    cf_status st;

    if (ttlv_get_enum(pl, KMIP_TAG_OBJECT_TYPE, &type) != CF_OK)
        return core_fail(op->req, CF_ERR_MISSING, "Object Type missing");
    /* 1.4 4.1: Create makes Symmetric Keys (and Templates, deprecated);
     * key pairs have their own operation. */
    if (type != KMIP_OBJECT_TYPE_SYMMETRIC_KEY)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "Create makes Symmetric Keys only");
    wire = ttlv_child(pl, op->ver >= KMIP_V(2, 0) ? KMIP_TAG_ATTRIBUTES : KMIP_TAG_TEMPLATE_ATTRIBUTE);
    if (wire == NULL)
        return core_fail(op->req, CF_ERR_MISSING, "attributes missing");
    if ((st = kmip_attrs_from_wire(op, wire, &attrs)) != CF_OK)
        return st;
    if ((st = core_create_symmetric_key(op->req, attrs, &obj)) != CF_OK)
        return st;
    ttlv_w_enum(w, KMIP_TAG_OBJECT_TYPE, obj->object_type);
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, obj->uid);
    op->new_placeholder = obj->uid;
    CF_LOGI("kmip create %s by %s", obj->uid, op->req->who->id);
    return CF_OK;
}

/* -------------------------------------------------------------------- Get */
/* The object's attribute instances named by the Key Wrapping
 * Specification's Attribute Names (1.x), to wrap with the key. */
static cf_status wrap_attrs(kmip_op *op, const core_object *obj, const ttlv_item *spec,
                            ttlv_item **out)
{
    const ttlv_item *first = ttlv_child(spec, KMIP_TAG_ATTRIBUTE_NAME);
    ttlv_item *all, *list;
    cf_status st;

    *out = NULL;
    if (first == NULL)
        return CF_OK;
    if (op->ver >= KMIP_V(2, 0))
        return core_fail(op->req, CF_ERR_UNSUPPORTED, "wrapping attributes is not supported in 2.x");
    if ((st = core_object_attributes(op->req, obj, &all)) != CF_OK)
        return st;
    if ((list = ttlv_new_struct(op->a, KMIP_TAG_ATTRIBUTES)) == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *n = first; n; n = ttlv_next_same(n)) {
        if (n->type != TTLV_TEXT_STRING)
            return core_fail(op->req, CF_ERR_INVALID_FIELD, "Attribute Name is not a Text String");
        for (const ttlv_item *a = all->first; a; a = a->next) {
            const char *an;
            size_t al;
            int32_t idx;
            const ttlv_item *v;
            ttlv_item *c;
            if (!core_attr_parts(a, &an, &al, &idx, &v) || al != n->v.s.len ||
                memcmp(an, n->v.s.p, al) != 0)
                continue;
            if ((c = ttlv_clone(op->a, a)) == NULL)
                return CF_ERR_NOMEM;
            ttlv_append(list, c);
        }
    }
    *out = list;
    return CF_OK;
}

static cf_status get_opts(kmip_op *op, const ttlv_item *pl, core_get_opts *o)
{
    const ttlv_item *kwt = ttlv_child(pl, KMIP_TAG_KEY_WRAP_TYPE);
    memset(o, 0, sizeof *o);
    if (ttlv_get_enum(pl, KMIP_TAG_KEY_FORMAT_TYPE, &o->key_format) == CF_ERR_INVALID_FIELD ||
        ttlv_get_enum(pl, KMIP_TAG_KEY_COMPRESSION_TYPE, &o->key_compression) ==
            CF_ERR_INVALID_FIELD)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "malformed Key Format or Compression Type");
    o->wrap_spec = ttlv_child(pl, KMIP_TAG_KEY_WRAPPING_SPECIFICATION);
    if (o->wrap_spec && o->wrap_spec->type != TTLV_STRUCTURE)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "malformed Key Wrapping Specification");
    if (kwt && kwt->type != TTLV_ENUMERATION)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "malformed Key Wrap Type");
    o->not_wrapped = kwt && kwt->v.u32 == KMIP_KEY_WRAP_TYPE_NOT_WRAPPED;
    return CF_OK;
}

cf_status kmip_op_get(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    const char *uid;
    core_get_opts o;
    core_object *obj;
    ttlv_item *item, *wa = NULL;
    cf_status st;

    if ((st = kmip_payload_uid(op, pl, &uid)) != CF_OK)
        return st;
    if ((st = get_opts(op, pl, &o)) != CF_OK)
        return st;
    if ((st = core_object_load(op->req, uid, &obj)) != CF_OK)
        return st;
    if (o.wrap_spec && (st = wrap_attrs(op, obj, o.wrap_spec, &wa)) != CF_OK)
        return st;
    o.wrap_attrs = wa;
    if ((st = core_object_get(op->req, obj, &o, &item)) != CF_OK ||
        (st = core_object_served(op->req, obj)) != CF_OK)
        return st;
    ttlv_w_enum(w, KMIP_TAG_OBJECT_TYPE, obj->object_type);
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, obj->uid);
    kmip_w_item(op, w, item, 0, 0); /* a verbatim object may come from a newer client */
    op->new_placeholder = obj->uid;
    return CF_OK;
}

/* --------------------------------------------------------- Get Attributes */
static bool attr_named(const ttlv_item *attr, const char *want)
{
    const char *n;
    size_t nl;
    int32_t idx;
    const ttlv_item *v;
    return core_attr_parts(attr, &n, &nl, &idx, &v) && strlen(want) == nl &&
           memcmp(n, want, nl) == 0;
}

/* The object named by the payload (or the ID placeholder) and all its
 * attributes, for Get Attributes and Get Attribute List. */
static cf_status load_attributes(kmip_op *op, const ttlv_item *pl, core_object **obj,
                                 ttlv_item **all)
{
    const char *uid;
    cf_status st;

    if ((st = kmip_payload_uid(op, pl, &uid)) != CF_OK)
        return st;
    if ((st = core_object_load(op->req, uid, obj)) != CF_OK)
        return st;
    return core_object_attributes(op->req, *obj, all);
}

cf_status kmip_op_get_attributes(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    uint32_t ref_tag = op->ver >= KMIP_V(2, 0) ? KMIP_TAG_ATTRIBUTE_REFERENCE : KMIP_TAG_ATTRIBUTE_NAME;
    const ttlv_item *first_ref = ttlv_child(pl, ref_tag);
    core_object *obj;
    ttlv_item *all;
    cf_status st;

    if ((st = load_attributes(op, pl, &obj, &all)) != CF_OK)
        return st;
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, obj->uid);
    if (op->ver >= KMIP_V(2, 0))
        ttlv_w_begin(w, KMIP_TAG_ATTRIBUTES);
    if (first_ref == NULL) {
        for (const ttlv_item *a = all->first; a; a = a->next)
            kmip_attr_write(op, a, w);
    }
    for (const ttlv_item *r = first_ref; r; r = ttlv_next_same(r)) {
        const char *name;
        if ((st = kmip_attr_ref_name(op, r, &name)) != CF_OK)
            return st;
        /* An attribute the object lacks is simply absent (1.4 4.11):
         * vCenter relies on Success with no Attribute. */
        for (const ttlv_item *a = all->first; a; a = a->next)
            if (attr_named(a, name))
                kmip_attr_write(op, a, w);
    }
    if (op->ver >= KMIP_V(2, 0))
        ttlv_w_end(w);
    op->new_placeholder = obj->uid;
    return CF_OK;
}

cf_status kmip_op_get_attribute_list(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    core_object *obj;
    ttlv_item *all;
    cf_status st;

    if ((st = load_attributes(op, pl, &obj, &all)) != CF_OK)
        return st;
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, obj->uid);
    for (const ttlv_item *a = all->first; a; a = a->next) {
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        bool seen = false;
        if (!core_attr_parts(a, &n, &nl, &idx, &v))
            continue;
        for (const ttlv_item *b = all->first; b != a && !seen; b = b->next)
            seen = attr_named(b, n);
        if (!seen)
            kmip_attr_ref_write(op, n, w);
    }
    op->new_placeholder = obj->uid;
    return CF_OK;
}

/* ---------------------------------------------------------- Add Attribute */
cf_status kmip_op_add_attribute(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    const ttlv_item *in, *value;
    const char *uid, *name;
    int32_t idx;
    cf_status st;

    if ((st = kmip_payload_uid(op, pl, &uid)) != CF_OK)
        return st;
    if (op->ver >= KMIP_V(2, 0)) {
        const ttlv_item *na = ttlv_child(pl, KMIP_TAG_NEW_ATTRIBUTE);
        in = na && na->type == TTLV_STRUCTURE ? na->first : NULL;
    } else {
        in = ttlv_child(pl, KMIP_TAG_ATTRIBUTE);
    }
    if (in == NULL)
        return core_fail(op->req, CF_ERR_MISSING, "attribute missing");
    if ((st = kmip_attr_one_from_wire(op, in, &name, &value)) != CF_OK)
        return st;
    if ((st = core_attr_add(op->req, uid, name, value, &idx)) != CF_OK)
        return st;
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
    if (op->ver < KMIP_V(2, 0)) {
        ttlv_item *attr = core_attr_new(op->a, name, idx, value);
        if (attr == NULL)
            return CF_ERR_NOMEM;
        kmip_attr_write(op, attr, w);
    }
    op->new_placeholder = uid;
    return CF_OK;
}

