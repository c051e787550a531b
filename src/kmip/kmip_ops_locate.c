/*
 * kmip_ops_locate.c - Locate (KMIP 1.4 section 4.9, 2.0 section 6.1.27).
 *
 * Request: Maximum Items, Offset Items (1.3+), Storage Status Mask, Object
 * Group Member (1.1+), then the criteria: 1.x repeats Attribute, 2.x has one
 * Attributes structure (absent is taken as empty: PyKMIP omits it when
 * there are no criteria). Both become core's canonical Attribute list; the
 * search itself is core_locate.
 *
 * Response: Located Items (1.3+, the count of every match) when the client
 * pages, i.e. sends Maximum Items or Offset Items (the specification's own
 * test cases omit it otherwise), then one Unique Identifier per object,
 * newest first. ID placeholder: set to the identifier when exactly one is
 * returned, emptied otherwise, so that batched operations after a Locate
 * run only on a single located object (1.4 section 4.9).
 */
#include "kmip/kmip_int.h"

#include <stdint.h>

#include "util/log.h"

static cf_status opt_int(kmip_op *op, const ttlv_item *pl, uint32_t tag, const char *what,
                         bool *has, int32_t *out)
{
    cf_status st = ttlv_get_int(pl, tag, out);
    *has = st == CF_OK;
    if (st == CF_ERR_MISSING) {
        *out = 0;
        return CF_OK;
    }
    if (st != CF_OK)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "%s is not an Integer", what);
    return CF_OK;
}

static cf_status read_opts(kmip_op *op, const ttlv_item *pl, core_locate_opts *o, bool *paging)
{
    bool has_offset, has_mask;
    cf_status st;

    if ((st = opt_int(op, pl, KMIP_TAG_MAXIMUM_ITEMS, "Maximum Items", &o->has_max_items,
                      &o->max_items)) != CF_OK ||
        (st = opt_int(op, pl, KMIP_TAG_OFFSET_ITEMS, "Offset Items", &has_offset,
                      &o->offset_items)) != CF_OK ||
        (st = opt_int(op, pl, KMIP_TAG_STORAGE_STATUS_MASK, "Storage Status Mask", &has_mask,
                      &o->storage_mask)) != CF_OK)
        return st;
    st = ttlv_get_enum(pl, KMIP_TAG_OBJECT_GROUP_MEMBER, &o->group_member);
    if (st == CF_ERR_MISSING)
        o->group_member = 0;
    else if (st != CF_OK)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "Object Group Member is not an Enumeration");
    *paging = o->has_max_items || has_offset;
    return CF_OK;
}

/* The criteria as canonical Attribute items. */
static cf_status read_criteria(kmip_op *op, const ttlv_item *pl, ttlv_item **out)
{
    ttlv_item *list;
    cf_status st;

    if (op->ver >= KMIP_V(2, 0)) {
        const ttlv_item *attrs = ttlv_child(pl, KMIP_TAG_ATTRIBUTES);
        if (attrs != NULL && attrs->type != TTLV_STRUCTURE)
            return core_fail(op->req, CF_ERR_INVALID_FIELD, "Attributes is not a Structure");
        if (attrs != NULL)
            return kmip_attrs_from_wire(op, attrs, out);
    }
    if ((list = ttlv_new_struct(op->a, KMIP_TAG_ATTRIBUTES)) == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *it = op->ver >= KMIP_V(2, 0) ? NULL : ttlv_child(pl, KMIP_TAG_ATTRIBUTE);
         it; it = ttlv_next_same(it)) {
        const char *name;
        const ttlv_item *value;
        ttlv_item *attr;
        if ((st = kmip_attr_one_from_wire(op, it, &name, &value)) != CF_OK)
            return st;
        if ((attr = core_attr_new(op->a, name, 0, value)) == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(list, attr);
    }
    *out = list;
    return CF_OK;
}

cf_status kmip_op_locate(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    core_locate_opts opts = {0};
    ttlv_item *criteria;
    const char **uids;
    size_t n;
    int64_t total;
    bool paging = false;
    cf_status st;

    if ((st = read_opts(op, pl, &opts, &paging)) != CF_OK)
        return st;
    if ((st = read_criteria(op, pl, &criteria)) != CF_OK)
        return st;
    if ((st = core_locate(op->req, criteria, &opts, &uids, &n, &total)) != CF_OK)
        return st;
    if (op->ver >= KMIP_V(1, 3) && paging)
        ttlv_w_int(w, KMIP_TAG_LOCATED_ITEMS, total > INT32_MAX ? INT32_MAX : (int32_t)total);
    for (size_t i = 0; i < n; i++)
        ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, uids[i]);
    if (n == 1)
        op->new_placeholder = uids[0];
    else
        op->id_placeholder = NULL;
    CF_LOGD("kmip locate by %s: %zu of %lld", op->req->who->id, n, (long long)total);
    return CF_OK;
}
