/*
 * kmip_ops_lifecycle.c - Activate, Revoke, Destroy, Modify Attribute,
 * Delete Attribute, Set Attribute.
 *
 * The rules (state machine, attribute table) are core's; this file reads
 * the 1.x or 2.x payload, calls one core operation and writes the response.
 * Where a 1.x error table (KMIP 1.4 section 11) gives an operation its own
 * reason for a core status, the status is translated here, per operation;
 * 2.x reasons come from the status table's 2.x column.
 */
#include "kmip/kmip_int.h"

#include <string.h>

static bool is_v2(const kmip_op *op) { return op->ver >= KMIP_V(2, 0); }

static cf_status reply_uid(kmip_op *op, const char *uid, ttlv_writer *w)
{
    (void)op;
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
    return CF_OK;
}

/* --------------------------------------------------------------- Activate */
cf_status kmip_op_activate(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    const char *uid;
    cf_status st;
    if ((st = kmip_payload_uid(op, pl, &uid)) != CF_OK)
        return st;
    if ((st = core_activate(op->req, uid)) != CF_OK)
        return st;
    return reply_uid(op, uid, w);
}

/* ----------------------------------------------------------------- Revoke */
static cf_status revoke_request(kmip_op *op, const ttlv_item *pl, core_revocation *rv)
{
    const ttlv_item *rr;
    const char *msg;
    size_t ml;
    cf_status st;

    memset(rv, 0, sizeof *rv);
    if ((st = ttlv_get_struct(pl, KMIP_TAG_REVOCATION_REASON, &rr)) != CF_OK)
        return core_fail(op->req, st, "Revocation Reason %s",
                         st == CF_ERR_MISSING ? "missing" : "is not a Structure");
    if ((st = ttlv_get_enum(rr, KMIP_TAG_REVOCATION_REASON_CODE, &rv->code)) != CF_OK)
        return core_fail(op->req, st, "Revocation Reason Code %s",
                         st == CF_ERR_MISSING ? "missing" : "is not an Enumeration");
    st = ttlv_get_text(rr, KMIP_TAG_REVOCATION_MESSAGE, &msg, &ml);
    if (st == CF_OK)
        rv->message = msg; /* the decoder NUL-terminates Text Strings */
    else if (st != CF_ERR_MISSING)
        return core_fail(op->req, st, "Revocation Message is not a Text String");
    st = ttlv_get_datetime(pl, KMIP_TAG_COMPROMISE_OCCURRENCE_DATE, &rv->occurrence);
    if (st == CF_OK)
        rv->has_occurrence = true;
    else if (st != CF_ERR_MISSING)
        return core_fail(op->req, st, "Compromise Occurrence Date is not a Date-Time");
    return CF_OK;
}

cf_status kmip_op_revoke(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    core_revocation rv;
    const char *uid;
    cf_status st;
    if ((st = kmip_payload_uid(op, pl, &uid)) != CF_OK)
        return st;
    if ((st = revoke_request(op, pl, &rv)) != CF_OK)
        return st;
    if ((st = core_revoke(op->req, uid, &rv)) != CF_OK)
        return st;
    return reply_uid(op, uid, w);
}

/* ---------------------------------------------------------------- Destroy */
cf_status kmip_op_destroy(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    const char *uid;
    cf_status st;
    if ((st = kmip_payload_uid(op, pl, &uid)) != CF_OK)
        return st;
    st = core_destroy(op->req, uid);
    /* 1.4 11.22: "already been destroyed" is Permission Denied in 1.x
     * (2.x: Object Destroyed). */
    if (st == CF_ERR_DESTROYED && !is_v2(op))
        st = CF_ERR_STATE;
    if (st != CF_OK)
        return st;
    return reply_uid(op, uid, w);
}

/* ------------------------------------------------- attribute references */

/* The one attribute inside a 2.x New/Current Attribute structure. */
static cf_status v2_single(kmip_op *op, const ttlv_item *s, const char *what, const char **name,
                           const ttlv_item **value)
{
    if (s->type != TTLV_STRUCTURE || s->nchildren != 1)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "%s must hold exactly one attribute",
                         what);
    return kmip_attr_one_from_wire(op, s->first, name, value);
}

/* A 1.x attribute name must be one the request's version defines: the 1.x
 * response echoes it, and kmip_attr_write never sends an attribute the
 * version lacks. `unknown` is the status for other names. */
static cf_status v1_name(kmip_op *op, const char *name, size_t len, cf_status unknown,
                         const char **out)
{
    char *copy;
    if (len == 0 || len > CF_LIMIT_ATTR_NAME)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "attribute name length %zu", len);
    if ((copy = cf_arena_strndup(op->a, name, len)) == NULL)
        return CF_ERR_NOMEM;
    if (!core_attr_in_version(copy, op->ver))
        return core_fail(op->req, unknown,
                         "attribute '%s' is not defined in this protocol version", copy);
    *out = copy;
    return CF_OK;
}

/* ------------------------------------------------------- Modify Attribute */
static cf_status modify_target(kmip_op *op, const ttlv_item *pl, core_attr_target *t,
                               const ttlv_item **value)
{
    const ttlv_item *in, *cur;
    const char *n, *cname;
    size_t nl;
    const ttlv_item *cvalue;
    cf_status st;

    memset(t, 0, sizeof *t);
    if (!is_v2(op)) { /* 1.4 4.15: Attribute { Name, [Index], Value } */
        if ((in = ttlv_child(pl, KMIP_TAG_ATTRIBUTE)) == NULL)
            return core_fail(op->req, CF_ERR_MISSING, "Attribute missing");
        if (!core_attr_parts(in, &n, &nl, &t->index, value))
            return core_fail(op->req, CF_ERR_INVALID_FIELD, "malformed Attribute");
        t->by_index = true; /* 1.4 11.16: no such attribute -> Invalid Field */
        return v1_name(op, n, nl, CF_ERR_INVALID_FIELD, &t->name);
    }
    /* 2.1 6.1.34: New Attribute, optional Current Attribute. */
    if ((in = ttlv_child(pl, KMIP_TAG_NEW_ATTRIBUTE)) == NULL)
        return core_fail(op->req, CF_ERR_MISSING, "New Attribute missing");
    if ((st = v2_single(op, in, "New Attribute", &t->name, value)) != CF_OK)
        return st;
    if ((cur = ttlv_child(pl, KMIP_TAG_CURRENT_ATTRIBUTE)) == NULL)
        return CF_OK;
    if ((st = v2_single(op, cur, "Current Attribute", &cname, &cvalue)) != CF_OK)
        return st;
    if (strcmp(cname, t->name) != 0)
        return core_fail(op->req, CF_ERR_INVALID_FIELD,
                         "Current and New Attribute name different attributes");
    t->current = cvalue;
    return CF_OK;
}

cf_status kmip_op_modify_attribute(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    core_attr_target t;
    const ttlv_item *value;
    const char *uid;
    int32_t idx;
    cf_status st;

    if ((st = kmip_payload_uid(op, pl, &uid)) != CF_OK)
        return st;
    if ((st = modify_target(op, pl, &t, &value)) != CF_OK)
        return st;
    st = core_attr_modify(op->req, uid, &t, value, &idx);
    /* 1.4 11.16: an attribute the object lacks "needs to first be added":
     * Invalid Field (a missing instance stays Item Not Found). */
    if (st == CF_ERR_ATTR_NOT_FOUND && !is_v2(op))
        st = CF_ERR_INVALID_FIELD;
    if (st != CF_OK)
        return st;
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
    if (!is_v2(op)) { /* 1.4 4.15: the modified attribute, new value */
        ttlv_item *attr = core_attr_new(op->a, t.name, idx, value);
        if (attr == NULL)
            return CF_ERR_NOMEM;
        kmip_attr_write(op, attr, w);
    }
    return CF_OK;
}

/* ------------------------------------------------------- Delete Attribute */
/* A 2.x Attribute Reference. Forgiving: PyKMIP 0.10 sends the structure
 * form { Vendor Identification, Attribute Name } for standard attributes
 * too (with any vendor); a name the version defines is taken as that
 * attribute unless the vendor is "x" or "y" (custom attributes). */
static cf_status v2_reference(kmip_op *op, const ttlv_item *ref, const char **out)
{
    const char *vendor, *name;
    size_t vl, nl;
    const ttlv_tag_info *ti;

    if (ref->type == TTLV_STRUCTURE &&
        ttlv_get_text(ref, KMIP_TAG_VENDOR_IDENTIFICATION, &vendor, &vl) == CF_OK &&
        ttlv_get_text(ref, KMIP_TAG_ATTRIBUTE_NAME, &name, &nl) == CF_OK &&
        !(vl == 1 && (vendor[0] == 'x' || vendor[0] == 'y')) &&
        (ti = ttlv_tag_by_name(name, nl)) != NULL && ttlv_tag_in_version(ti, op->ver)) {
        *out = ti->name;
        return CF_OK;
    }
    return kmip_attr_ref_name(op, ref, out);
}

static cf_status delete_target(kmip_op *op, const ttlv_item *pl, core_attr_target *t)
{
    const ttlv_item *in, *ref;
    const char *n;
    size_t nl;
    cf_status st;

    memset(t, 0, sizeof *t);
    if (!is_v2(op)) { /* 1.4 4.16: Attribute Name, optional Attribute Index */
        if ((st = ttlv_get_text(pl, KMIP_TAG_ATTRIBUTE_NAME, &n, &nl)) != CF_OK)
            return core_fail(op->req, st, "Attribute Name %s",
                             st == CF_ERR_MISSING ? "missing" : "is not a Text String");
        st = ttlv_get_int(pl, KMIP_TAG_ATTRIBUTE_INDEX, &t->index);
        if (st != CF_OK && st != CF_ERR_MISSING)
            return core_fail(op->req, st, "Attribute Index is not an Integer");
        t->by_index = true; /* 1.4 11.17: no such attribute -> Item Not Found */
        return v1_name(op, n, nl, CF_ERR_ATTR_NOT_FOUND, &t->name);
    }
    /* 2.1 6.1.13: Current Attribute (that instance) or Attribute Reference
     * (every instance). */
    if ((in = ttlv_child(pl, KMIP_TAG_CURRENT_ATTRIBUTE)) != NULL)
        return v2_single(op, in, "Current Attribute", &t->name, &t->current);
    if ((ref = ttlv_child(pl, KMIP_TAG_ATTRIBUTE_REFERENCE)) != NULL)
        return v2_reference(op, ref, &t->name);
    return core_fail(op->req, CF_ERR_MISSING, "Current Attribute or Attribute Reference missing");
}

cf_status kmip_op_delete_attribute(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    core_attr_target t;
    ttlv_item *deleted = NULL;
    const char *uid;
    cf_status st;

    if ((st = kmip_payload_uid(op, pl, &uid)) != CF_OK)
        return st;
    if ((st = delete_target(op, pl, &t)) != CF_OK)
        return st;
    if ((st = core_attr_delete(op->req, uid, &t, &deleted)) != CF_OK)
        return st;
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
    if (!is_v2(op) && deleted != NULL) /* 1.4 4.16: the deleted attribute */
        kmip_attr_write(op, deleted, w);
    return CF_OK;
}

/* ---------------------------------------------------------- Set Attribute */
cf_status kmip_op_set_attribute(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    const ttlv_item *in, *value;
    const char *uid, *name;
    cf_status st;

    if ((st = kmip_payload_uid(op, pl, &uid)) != CF_OK)
        return st;
    if ((in = ttlv_child(pl, KMIP_TAG_NEW_ATTRIBUTE)) == NULL)
        return core_fail(op->req, CF_ERR_MISSING, "New Attribute missing");
    if ((st = v2_single(op, in, "New Attribute", &name, &value)) != CF_OK)
        return st;
    if ((st = core_attr_set(op->req, uid, name, value)) != CF_OK)
        return st;
    return reply_uid(op, uid, w);
}
