/*
 * kmip_attr.c - attributes on the wire, 1.x and 2.x forms.
 *
 * 1.x: Attribute { Attribute Name, [Attribute Index], Attribute Value }, and
 *      Template Attribute { Name*, Attribute* } in Create.
 * 2.x: each attribute is an item tagged with the attribute's own tag inside
 *      an Attributes structure; custom attributes are Vendor Attributes
 *      Attribute { Vendor Identification, Attribute Name, Attribute Value }
 *      where Vendor Identification "x"/"y" stands for the 1.x "x-"/"y-"
 *      prefix (KMIP 2.0 section 4.53). References are Attribute Reference:
 *      an Enumeration holding the tag, or { Vendor Identification, Name }.
 * Core keeps the 1.x form; this file converts in both directions.
 */
#include "kmip/kmip_int.h"

#include <string.h>

static bool is_v2(const kmip_op *op) { return op->ver >= KMIP_V(2, 0); }

/* 2.x vendor attribute name -> canonical "x-Name". Only x and y vendors. */
static cf_status vendor_name(kmip_op *op, const ttlv_item *s, const char **out)
{
    const char *vendor, *name;
    size_t vl, nl;
    if (ttlv_get_text(s, KMIP_TAG_VENDOR_IDENTIFICATION, &vendor, &vl) != CF_OK ||
        ttlv_get_text(s, KMIP_TAG_ATTRIBUTE_NAME, &name, &nl) != CF_OK)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "malformed vendor attribute");
    if (vl != 1 || (vendor[0] != 'x' && vendor[0] != 'y'))
        return core_fail(op->req, CF_ERR_UNSUPPORTED, "vendor attributes other than x and y");
    *out = cf_arena_sprintf(op->a, "%c-%.*s", vendor[0], (int)nl, name);
    return *out ? CF_OK : CF_ERR_NOMEM;
}

cf_status kmip_attr_one_from_wire(kmip_op *op, const ttlv_item *in, const char **name,
                                  const ttlv_item **value)
{
    const ttlv_tag_info *ti;
    cf_status st;

    if (in->tag == KMIP_TAG_ATTRIBUTE && !is_v2(op)) {
        const char *n;
        size_t nl;
        int32_t idx;
        if (!core_attr_parts(in, &n, &nl, &idx, value))
            return core_fail(op->req, CF_ERR_INVALID_FIELD, "malformed Attribute");
        *name = cf_arena_strndup(op->a, n, nl);
        return *name ? CF_OK : CF_ERR_NOMEM;
    }
    if (in->tag == KMIP_TAG_ATTRIBUTE) { /* 2.x vendor attribute */
        if ((st = vendor_name(op, in, name)) != CF_OK)
            return st;
        *value = ttlv_child(in, KMIP_TAG_ATTRIBUTE_VALUE);
        if (*value == NULL)
            return core_fail(op->req, CF_ERR_INVALID_FIELD, "vendor attribute without value");
        return CF_OK;
    }
    ti = ttlv_tag_lookup(in->tag);
    if (ti == NULL || !ttlv_tag_in_version(ti, op->ver))
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "unknown attribute tag 0x%06x", in->tag);
    *name = ti->name;
    *value = in;
    return CF_OK;
}

static cf_status append_attr(kmip_op *op, ttlv_item *list, const char *name, const ttlv_item *v)
{
    ttlv_item *attr = core_attr_new(op->a, name, 0, v);
    if (attr == NULL)
        return CF_ERR_NOMEM;
    ttlv_append(list, attr);
    return CF_OK;
}

cf_status kmip_attrs_from_wire(kmip_op *op, const ttlv_item *in, ttlv_item **out)
{
    ttlv_item *list = ttlv_new_struct(op->a, KMIP_TAG_ATTRIBUTES);
    cf_status st = CF_OK;

    *out = NULL;
    if (list == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *it = in ? in->first : NULL; it && st == CF_OK; it = it->next) {
        const char *name;
        const ttlv_item *v;
        if (!is_v2(op) && it->tag == KMIP_TAG_NAME) {
            st = append_attr(op, list, "Name", it); /* Template Attribute's Name */
            continue;
        }
        if (!is_v2(op) && it->tag != KMIP_TAG_ATTRIBUTE)
            return core_fail(op->req, CF_ERR_INVALID_FIELD, "unexpected item in attributes");
        if ((st = kmip_attr_one_from_wire(op, it, &name, &v)) == CF_OK)
            st = append_attr(op, list, name, v);
    }
    if (st == CF_OK)
        *out = list;
    return st;
}

/* ------------------------------------------------ version filtering */
/*
 * A response never carries a field the request's version does not define
 * (the interop trap of docs/kmip-clients.md): stored structures were built
 * at the newest version (a Digest holds Key Format Type, 1.1 section 3.17,
 * which 1.0 section 3.12 does not define) or registered by a newer client.
 * Two rules, applied to every child at every depth:
 * - a tag the dictionary places outside the version is dropped (tags of
 *   unknown meaning, vendor extensions, are kept: they were given to us);
 * - a tag that exists in the version but joined this parent structure
 *   later is dropped, per the table below (the dictionary knows tags, not
 *   structure membership).
 */
struct member_since {
    uint32_t parent, child;
    uint16_t since;
};

static const struct member_since members[] = {
    /* 1.1 section 3.17 Table 70 adds Key Format Type to the Digest. */
    {KMIP_TAG_DIGEST, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_V(1, 1)},
    /* 1.2 section 3.6 Table 54 adds these to Cryptographic Parameters (the
     * other new fields are tags new in 1.2). */
    {KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS, KMIP_TAG_DIGITAL_SIGNATURE_ALGORITHM, KMIP_V(1, 2)},
    {KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_V(1, 2)},
};

static bool child_in_version(uint32_t parent, uint32_t child, uint16_t ver)
{
    const ttlv_tag_info *ti = ttlv_tag_lookup(child);
    if (ti != NULL && !ttlv_tag_in_version(ti, ver))
        return false;
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
        if (members[i].parent == parent && members[i].child == child && ver < members[i].since)
            return false;
    return true;
}

/* it (as `as`, the structure whose members its children are) written as
 * tag, its children filtered for ver. */
static void write_filtered(ttlv_writer *w, const ttlv_item *it, uint32_t tag, uint32_t as,
                           uint16_t ver)
{
    if (it->type != TTLV_STRUCTURE) {
        ttlv_item copy = *it;
        copy.tag = tag;
        copy.next = NULL;
        ttlv_w_item(w, &copy);
        return;
    }
    ttlv_w_begin(w, tag);
    for (const ttlv_item *c = it->first; c; c = c->next)
        if (child_in_version(as, c->tag, ver))
            write_filtered(w, c, c->tag, c->tag, ver);
    ttlv_w_end(w);
}

void kmip_w_item(kmip_op *op, ttlv_writer *w, const ttlv_item *it, uint32_t tag, uint32_t as)
{
    write_filtered(w, it, tag ? tag : it->tag, as ? as : it->tag, op->ver);
}

/* Write a stored attribute value re-tagged (the canonical form tags it
 * Attribute Value), filtered for the version as the attribute's structure. */
static void write_value_as(kmip_op *op, ttlv_writer *w, const ttlv_item *v, uint32_t tag,
                           const char *name, size_t nl)
{
    const ttlv_tag_info *ti = ttlv_tag_by_name(name, nl);
    kmip_w_item(op, w, v, tag, ti ? ti->tag : KMIP_TAG_ATTRIBUTE_VALUE);
}

void kmip_attr_write(kmip_op *op, const ttlv_item *attr, ttlv_writer *w)
{
    const char *name;
    size_t nl;
    int32_t idx;
    const ttlv_item *v;
    char cname[CF_ATTR_NAME_BUF];

    if (!core_attr_parts(attr, &name, &nl, &idx, &v) || nl >= sizeof cname)
        return;
    memcpy(cname, name, nl);
    cname[nl] = '\0';
    if (!core_attr_in_version(cname, op->ver))
        return;
    if (!is_v2(op)) {
        ttlv_w_begin(w, KMIP_TAG_ATTRIBUTE);
        ttlv_w_text(w, KMIP_TAG_ATTRIBUTE_NAME, name, nl);
        ttlv_w_int(w, KMIP_TAG_ATTRIBUTE_INDEX, idx);
        write_value_as(op, w, v, KMIP_TAG_ATTRIBUTE_VALUE, name, nl);
        ttlv_w_end(w);
    } else if (core_attr_is_custom(name, nl)) {
        ttlv_w_begin(w, KMIP_TAG_ATTRIBUTE);
        ttlv_w_text(w, KMIP_TAG_VENDOR_IDENTIFICATION, name, 1);
        ttlv_w_text(w, KMIP_TAG_ATTRIBUTE_NAME, name + 2, nl - 2);
        write_value_as(op, w, v, KMIP_TAG_ATTRIBUTE_VALUE, name, nl);
        ttlv_w_end(w);
    } else {
        const ttlv_tag_info *ti = ttlv_tag_by_name(name, nl);
        if (ti != NULL)
            write_value_as(op, w, v, ti->tag, name, nl);
    }
}

cf_status kmip_attr_ref_name(kmip_op *op, const ttlv_item *ref, const char **out)
{
    const ttlv_tag_info *ti;
    if (ref->type == TTLV_TEXT_STRING) { /* 1.x Attribute Name */
        *out = (const char *)ref->v.s.p;
        return CF_OK;
    }
    if (ref->type == TTLV_STRUCTURE)
        return vendor_name(op, ref, out);
    if (ref->type == TTLV_ENUMERATION) {
        ti = ttlv_tag_lookup(ref->v.u32);
        if (ti == NULL)
            return core_fail(op->req, CF_ERR_INVALID_FIELD, "unknown attribute reference");
        *out = ti->name;
        return CF_OK;
    }
    return core_fail(op->req, CF_ERR_INVALID_FIELD, "malformed attribute reference");
}

void kmip_attr_ref_write(kmip_op *op, const char *name, ttlv_writer *w)
{
    size_t nl = strlen(name);
    if (!core_attr_in_version(name, op->ver))
        return;
    if (!is_v2(op)) {
        ttlv_w_text(w, KMIP_TAG_ATTRIBUTE_NAME, name, nl);
    } else if (core_attr_is_custom(name, nl)) {
        ttlv_w_begin(w, KMIP_TAG_ATTRIBUTE_REFERENCE);
        ttlv_w_text(w, KMIP_TAG_VENDOR_IDENTIFICATION, name, 1);
        ttlv_w_text(w, KMIP_TAG_ATTRIBUTE_NAME, name + 2, nl - 2);
        ttlv_w_end(w);
    } else {
        const ttlv_tag_info *ti = ttlv_tag_by_name(name, nl);
        if (ti != NULL)
            ttlv_w_enum(w, KMIP_TAG_ATTRIBUTE_REFERENCE, ti->tag);
    }
}

cf_status kmip_payload_uid(kmip_op *op, const ttlv_item *payload, const char **out)
{
    const char *uid;
    size_t len;
    cf_status st = ttlv_get_text(payload, KMIP_TAG_UNIQUE_IDENTIFIER, &uid, &len);
    if (st == CF_ERR_MISSING) {
        if (op->id_placeholder == NULL)
            return core_fail(op->req, CF_ERR_MISSING, "Unique Identifier missing");
        *out = op->id_placeholder;
        return CF_OK;
    }
    if (st != CF_OK)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "Unique Identifier is not a Text String");
    *out = uid;
    return CF_OK;
}
