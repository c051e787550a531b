/*
 * core_attr.c - the attribute rule table and helpers for Attribute items.
 *
 * One row per standard KMIP attribute: its value type, whether an object may
 * hold several instances, and who may set it (the client when creating, the
 * client later through Add/Modify/Delete Attribute, or only the server).
 * The KMIP 1.4 specification's section 3 tables "Attribute Rules" are the
 * source; which protocol version defines an attribute comes from the TTLV
 * dictionary (the attribute's tag carries the same name).
 */
#include "core/core_int.h"

#include <string.h>

#define R(n, t, f) {n, sizeof(n) - 1, t, f}

static const struct core_attr_rule rules[] = {
    R("Unique Identifier", TTLV_TEXT_STRING, CORE_ATTR_SERVER),
    R("Name", TTLV_STRUCTURE, CORE_ATTR_MULTI | CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Object Type", TTLV_ENUMERATION, CORE_ATTR_SERVER),
    R("Cryptographic Algorithm", TTLV_ENUMERATION, CORE_ATTR_CREATE),
    R("Cryptographic Length", TTLV_INTEGER, CORE_ATTR_CREATE),
    R("Cryptographic Parameters", TTLV_STRUCTURE, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Cryptographic Domain Parameters", TTLV_STRUCTURE, CORE_ATTR_CREATE),
    R("Certificate Type", TTLV_ENUMERATION, CORE_ATTR_SERVER),
    R("Certificate Length", TTLV_INTEGER, CORE_ATTR_SERVER),
    R("Digital Signature Algorithm", TTLV_ENUMERATION, CORE_ATTR_SERVER),
    R("Digest", TTLV_STRUCTURE, CORE_ATTR_SERVER | CORE_ATTR_MULTI),
    R("Operation Policy Name", TTLV_TEXT_STRING, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Cryptographic Usage Mask", TTLV_INTEGER, CORE_ATTR_CREATE),
    R("Lease Time", TTLV_INTERVAL, CORE_ATTR_SERVER),
    R("Usage Limits", TTLV_STRUCTURE, CORE_ATTR_CREATE),
    R("State", TTLV_ENUMERATION, CORE_ATTR_SERVER),
    R("Initial Date", TTLV_DATE_TIME, CORE_ATTR_SERVER),
    R("Activation Date", TTLV_DATE_TIME, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Process Start Date", TTLV_DATE_TIME, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Protect Stop Date", TTLV_DATE_TIME, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Deactivation Date", TTLV_DATE_TIME, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Destroy Date", TTLV_DATE_TIME, CORE_ATTR_SERVER),
    R("Compromise Occurrence Date", TTLV_DATE_TIME, CORE_ATTR_SERVER),
    R("Compromise Date", TTLV_DATE_TIME, CORE_ATTR_SERVER),
    R("Revocation Reason", TTLV_STRUCTURE, CORE_ATTR_SERVER),
    R("Archive Date", TTLV_DATE_TIME, CORE_ATTR_SERVER),
    R("Object Group", TTLV_TEXT_STRING, CORE_ATTR_MULTI | CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Fresh", TTLV_BOOLEAN, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Link", TTLV_STRUCTURE, CORE_ATTR_MULTI | CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Application Specific Information", TTLV_STRUCTURE,
      CORE_ATTR_MULTI | CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Contact Information", TTLV_TEXT_STRING, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Last Change Date", TTLV_DATE_TIME, CORE_ATTR_SERVER),
    R("Original Creation Date", TTLV_DATE_TIME, CORE_ATTR_SERVER),
    R("Alternative Name", TTLV_STRUCTURE, CORE_ATTR_MULTI | CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Key Value Present", TTLV_BOOLEAN, CORE_ATTR_SERVER),
    R("Key Value Location", TTLV_STRUCTURE, CORE_ATTR_MULTI | CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Random Number Generator", TTLV_STRUCTURE, CORE_ATTR_SERVER),
    R("Description", TTLV_TEXT_STRING, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Comment", TTLV_TEXT_STRING, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Sensitive", TTLV_BOOLEAN, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Always Sensitive", TTLV_BOOLEAN, CORE_ATTR_SERVER),
    R("Extractable", TTLV_BOOLEAN, CORE_ATTR_CREATE | CORE_ATTR_EDIT),
    R("Never Extractable", TTLV_BOOLEAN, CORE_ATTR_SERVER),
};

const struct core_attr_rule *core_attr_rule(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].name_len == len && memcmp(rules[i].name, name, len) == 0)
            return &rules[i];
    return NULL;
}

bool core_attr_is_custom(const char *name, size_t len)
{
    return len > 2 && (name[0] == 'x' || name[0] == 'y') && name[1] == '-';
}

bool core_attr_in_version(const char *name, uint16_t ver)
{
    const ttlv_tag_info *ti;
    size_t len = strlen(name);
    if (core_attr_is_custom(name, len))
        return true; /* the 2.x front end maps them to Vendor Attribute */
    ti = ttlv_tag_by_name(name, len);
    return ti != NULL && ttlv_tag_in_version(ti, ver);
}

ttlv_item *core_attr_new(cf_arena *a, const char *name, int32_t index, const ttlv_item *value)
{
    ttlv_item *attr = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTE);
    ttlv_item *n = ttlv_new_text(a, KMIP_TAG_ATTRIBUTE_NAME, name, strlen(name));
    ttlv_item *i = ttlv_new_int(a, KMIP_TAG_ATTRIBUTE_INDEX, index);
    ttlv_item *v = ttlv_clone(a, value);
    if (!attr || !n || !i || !v)
        return NULL;
    v->tag = KMIP_TAG_ATTRIBUTE_VALUE;
    ttlv_append(attr, n);
    ttlv_append(attr, i);
    ttlv_append(attr, v);
    return attr;
}

bool core_attr_parts(const ttlv_item *attr, const char **name, size_t *name_len, int32_t *index,
                     const ttlv_item **value)
{
    const ttlv_item *n = ttlv_child(attr, KMIP_TAG_ATTRIBUTE_NAME);
    const ttlv_item *i = ttlv_child(attr, KMIP_TAG_ATTRIBUTE_INDEX);
    const ttlv_item *v = ttlv_child(attr, KMIP_TAG_ATTRIBUTE_VALUE);
    if (n == NULL || n->type != TTLV_TEXT_STRING || v == NULL)
        return false;
    if (i != NULL && i->type != TTLV_INTEGER)
        return false;
    *name = (const char *)n->v.s.p;
    *name_len = n->v.s.len;
    *index = i ? i->v.i32 : 0;
    *value = v;
    return true;
}

const ttlv_item *core_attr_find(const core_object *obj, const char *name, int32_t index)
{
    size_t len = strlen(name);
    for (const ttlv_item *it = obj->attrs ? obj->attrs->first : NULL; it; it = it->next) {
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        if (core_attr_parts(it, &n, &nl, &idx, &v) && nl == len && memcmp(n, name, len) == 0 &&
            idx == index)
            return v;
    }
    return NULL;
}

/* Next free index for name in list (0 when absent), and how many there are. */
int32_t core_attr_next_index(const ttlv_item *list, const char *name, size_t len, unsigned *count)
{
    int32_t next = 0;
    *count = 0;
    for (const ttlv_item *it = list ? list->first : NULL; it; it = it->next) {
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        if (core_attr_parts(it, &n, &nl, &idx, &v) && nl == len && memcmp(n, name, len) == 0) {
            (*count)++;
            if (idx >= next)
                next = idx + 1;
        }
    }
    return next;
}

/* Check a client-supplied attribute against the rule table. `creating`
 * selects which permission applies. */
cf_status core_attr_check(core_req *req, const char *name, size_t len, const ttlv_item *value,
                          bool creating)
{
    const struct core_attr_rule *r;
    if (len == 0 || len > 255)
        return core_fail(req, CF_ERR_INVALID_FIELD, "attribute name length %zu", len);
    if (core_attr_is_custom(name, len))
        return CF_OK; /* custom attributes: any TTLV type, stored verbatim */
    r = core_attr_rule(name, len);
    if (r == NULL)
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown attribute '%.*s'", (int)len, name);
    if (value->type != r->type)
        return core_fail(req, CF_ERR_INVALID_FIELD, "attribute '%s' has the wrong type", r->name);
    if (!(r->flags & (creating ? CORE_ATTR_CREATE : CORE_ATTR_EDIT)))
        return core_fail(req, CF_ERR_READ_ONLY, "attribute '%s' cannot be set by the client",
                         r->name);
    return CF_OK;
}
