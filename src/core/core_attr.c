/*
 * core_attr.c - the attribute rule table, helpers for Attribute items, and
 * the client's attribute edits (Modify, Delete, Set Attribute).
 *
 * One row per standard KMIP attribute: its value type, whether an object may
 * hold several instances, and who may set it: the client when creating, the
 * client later (add, modify, delete, each its own column in the
 * specification), only in some states, or only the server. The source is
 * the "Attribute Rules" tables of KMIP 1.4 section 3 and 2.1 section 4
 * (where they differ the stricter wins); which protocol version defines an
 * attribute comes from the TTLV dictionary (the tag carries the same name).
 *
 * Edits address one instance: 1.x by Attribute Index (indexes never change
 * when other instances come and go, 1.4 2.1.1), 2.x by the Current
 * Attribute's value or, without one, the only instance.
 */
#include "core/core_int.h"

#include <string.h>

#include "util/limits.h"

#define R(n, t, f) {n, sizeof(n) - 1, t, f}
#define C CORE_ATTR_CREATE
#define S CORE_ATTR_SERVER
#define M CORE_ATTR_MULTI
/* Set, changed and deleted by the client at will. */
#define CL (CORE_ATTR_CREATE | CORE_ATTR_EDIT | CORE_ATTR_MODIFY | CORE_ATTR_DELETE)
/* Changed by the client, never deleted. */
#define CM (CORE_ATTR_CREATE | CORE_ATTR_EDIT | CORE_ATTR_MODIFY)

static const struct core_attr_rule rules[] = {
    R("Unique Identifier", TTLV_TEXT_STRING, S),
    R("Name", TTLV_STRUCTURE, M | CL),
    R("Object Type", TTLV_ENUMERATION, S),
    R("Cryptographic Algorithm", TTLV_ENUMERATION, C),
    R("Cryptographic Length", TTLV_INTEGER, C),
    R("Cryptographic Parameters", TTLV_STRUCTURE, M | CL),
    R("Cryptographic Domain Parameters", TTLV_STRUCTURE, C),
    R("Certificate Type", TTLV_ENUMERATION, S),
    R("Certificate Length", TTLV_INTEGER, S),
    R("X.509 Certificate Identifier", TTLV_STRUCTURE, S),
    R("X.509 Certificate Subject", TTLV_STRUCTURE, S),
    R("X.509 Certificate Issuer", TTLV_STRUCTURE, S),
    R("Certificate Identifier", TTLV_STRUCTURE, S),
    R("Certificate Subject", TTLV_STRUCTURE, S),
    R("Certificate Issuer", TTLV_STRUCTURE, S),
    R("Digital Signature Algorithm", TTLV_ENUMERATION, S | M),
    R("Digest", TTLV_STRUCTURE, S | M),
    R("Operation Policy Name", TTLV_TEXT_STRING, C),   /* not modifiable by client */
    R("Cryptographic Usage Mask", TTLV_INTEGER, C),
    R("Lease Time", TTLV_INTERVAL, S),
    R("Usage Limits", TTLV_STRUCTURE, CL),
    R("State", TTLV_ENUMERATION, S),
    R("Initial Date", TTLV_DATE_TIME, S),
    R("Activation Date", TTLV_DATE_TIME, CM | CORE_ATTR_PRE_ACTIVE),
    R("Process Start Date", TTLV_DATE_TIME, CM | CORE_ATTR_NOT_RETIRED | CORE_ATTR_UNTIL_REACHED),
    R("Protect Stop Date", TTLV_DATE_TIME, CM | CORE_ATTR_NOT_RETIRED | CORE_ATTR_UNTIL_REACHED),
    R("Deactivation Date", TTLV_DATE_TIME, CM | CORE_ATTR_NOT_RETIRED),
    R("Destroy Date", TTLV_DATE_TIME, S),
    R("Compromise Occurrence Date", TTLV_DATE_TIME, S),
    R("Compromise Date", TTLV_DATE_TIME, S),
    R("Revocation Reason", TTLV_STRUCTURE, S),
    R("Archive Date", TTLV_DATE_TIME, S),
    R("Object Group", TTLV_TEXT_STRING, M | CL),
    R("Fresh", TTLV_BOOLEAN, C),
    R("Link", TTLV_STRUCTURE, M | CL),
    R("Application Specific Information", TTLV_STRUCTURE, M | CL),
    R("Contact Information", TTLV_TEXT_STRING, CL),
    R("Last Change Date", TTLV_DATE_TIME, S),
    R("Original Creation Date", TTLV_DATE_TIME, C),
    R("Alternative Name", TTLV_STRUCTURE, M | CL),
    R("Key Value Present", TTLV_BOOLEAN, S),
    R("Key Value Location", TTLV_STRUCTURE, M | CL),
    R("Random Number Generator", TTLV_STRUCTURE, C),
    R("PKCS#12 Friendly Name", TTLV_TEXT_STRING, CL),
    R("Description", TTLV_TEXT_STRING, CL),
    R("Comment", TTLV_TEXT_STRING, CL),
    R("Sensitive", TTLV_BOOLEAN, CM),
    R("Always Sensitive", TTLV_BOOLEAN, S),
    R("Extractable", TTLV_BOOLEAN, CM),
    R("Never Extractable", TTLV_BOOLEAN, S),
    /* KMIP 2.x attributes (2.1 section 4). */
    R("Key Format Type", TTLV_ENUMERATION, S),
    R("NIST Key Type", TTLV_ENUMERATION, C | M),
    R("Opaque Data Type", TTLV_ENUMERATION, S),
    R("Protection Level", TTLV_ENUMERATION, CL),
    R("Protection Period", TTLV_INTERVAL, CL),
    R("Protection Storage Mask", TTLV_INTEGER, S),
    R("Quantum Safe", TTLV_BOOLEAN, CL),
    R("Rotate Automatic", TTLV_BOOLEAN, C),
    R("Rotate Date", TTLV_DATE_TIME, S),
    R("Rotate Generation", TTLV_INTEGER, S),
    R("Rotate Interval", TTLV_INTERVAL, C),
    R("Rotate Latest", TTLV_BOOLEAN, S),
    R("Rotate Name", TTLV_STRUCTURE, CL),
    R("Rotate Offset", TTLV_INTERVAL, C),
    R("Short Unique Identifier", TTLV_BYTE_STRING, S),
    /* 2.1 section 4.6 Certificate Attributes: each field its own attribute,
     * from the certificate's subject and issuer names. */
    R("Certificate Subject CN", TTLV_TEXT_STRING, S | M),
    R("Certificate Subject O", TTLV_TEXT_STRING, S | M),
    R("Certificate Subject OU", TTLV_TEXT_STRING, S | M),
    R("Certificate Subject Email", TTLV_TEXT_STRING, S | M),
    R("Certificate Subject C", TTLV_TEXT_STRING, S | M),
    R("Certificate Subject ST", TTLV_TEXT_STRING, S | M),
    R("Certificate Subject L", TTLV_TEXT_STRING, S | M),
    R("Certificate Subject UID", TTLV_TEXT_STRING, S | M),
    R("Certificate Subject Serial Number", TTLV_TEXT_STRING, S | M),
    R("Certificate Subject Title", TTLV_TEXT_STRING, S | M),
    R("Certificate Subject DC", TTLV_TEXT_STRING, S | M),
    R("Certificate Subject DN Qualifier", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer CN", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer O", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer OU", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer Email", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer C", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer ST", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer L", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer UID", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer Serial Number", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer Title", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer DC", TTLV_TEXT_STRING, S | M),
    R("Certificate Issuer DN Qualifier", TTLV_TEXT_STRING, S | M),
};

#undef C
#undef S
#undef M
#undef CL
#undef CM

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

/* Tags older than their attribute: 2.0 made these fields attributes (2.1
 * sections 4.26 and 4.37); a 1.x object has them only inside its structure. */
static const struct {
    const char *name;
    uint16_t since;
} attr_since[] = {
    {"Key Format Type", KMIP_V(2, 0)},
    {"Opaque Data Type", KMIP_V(2, 0)},
};

bool core_attr_in_version(const char *name, uint16_t ver)
{
    const ttlv_tag_info *ti;
    size_t len = strlen(name);
    if (core_attr_is_custom(name, len))
        return true; /* the 2.x front end maps them to Vendor Attribute */
    for (size_t i = 0; i < sizeof attr_since / sizeof attr_since[0]; i++)
        if (strcmp(attr_since[i].name, name) == 0 && ver < attr_since[i].since)
            return false;
    /* The Certificate Attributes fields (tags of 1.4) are attributes since
     * 2.0 (2.1 4.6); 1.x has X.509 Certificate Subject and Issuer. */
    if (ver < KMIP_V(2, 0) && (strncmp(name, "Certificate Subject ", 20) == 0 ||
                               strncmp(name, "Certificate Issuer ", 19) == 0))
        return false;
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
    if (core_attr_is_custom(name, len)) {
        /* Any TTLV type, stored verbatim; "y-" names are the server's:
         * "The server SHALL NOT accept a client-created or modified
         * attribute" with that prefix (1.4 section 3.39). */
        if (name[0] == 'y')
            return core_fail(req, CF_ERR_READ_ONLY, "'y-' attributes are set by the server only");
        return CF_OK;
    }
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

/* ------------------------------------------------------------- edit rules */

static const char *edit_verb(enum core_edit_kind kind)
{
    return kind == CORE_EDIT_ADD ? "added" : kind == CORE_EDIT_MODIFY ? "modified" : "deleted";
}

/* The state windows of the date attributes (1.4 sections 3.24-3.27). */
static cf_status check_state_window(core_req *req, const core_object *obj,
                                    const struct core_attr_rule *r, const ttlv_item *old)
{
    uint32_t s = obj->state;
    if ((r->flags & CORE_ATTR_PRE_ACTIVE) && s != KMIP_STATE_PRE_ACTIVE)
        return core_fail(req, CF_ERR_STATE, "'%s' can change only while Pre-Active", r->name);
    if ((r->flags & CORE_ATTR_NOT_RETIRED) && s != KMIP_STATE_PRE_ACTIVE &&
        s != KMIP_STATE_ACTIVE)
        return core_fail(req, CF_ERR_STATE, "'%s' can change only while Pre-Active or Active",
                         r->name);
    if ((r->flags & CORE_ATTR_UNTIL_REACHED) && old != NULL && old->type == TTLV_DATE_TIME &&
        old->v.i64 <= req->now)
        return core_fail(req, CF_ERR_STATE, "'%s' has been reached and cannot change",
                         r->name);
    return CF_OK;
}

/* The date attribute `name` of obj, or `value` when it is the one edited. */
static const ttlv_item *date_with(const core_object *obj, const char *date, const char *name,
                                  const ttlv_item *value)
{
    if (value != NULL && strcmp(date, name) == 0)
        return value->type == TTLV_DATE_TIME ? value : NULL;
    return core_attr_find(obj, date, 0);
}

/* Process Start Date SHALL NOT precede the Activation Date, Protect Stop
 * Date SHALL NOT be later than the Deactivation Date (1.4 3.25, 3.26), once
 * `name` has `value`. */
static cf_status check_date_order(core_req *req, const core_object *obj, const char *name,
                                  const ttlv_item *value)
{
    const ttlv_item *act = date_with(obj, "Activation Date", name, value);
    const ttlv_item *start = date_with(obj, "Process Start Date", name, value);
    const ttlv_item *stop = date_with(obj, "Protect Stop Date", name, value);
    const ttlv_item *deact = date_with(obj, "Deactivation Date", name, value);
    if (act && start && start->v.i64 < act->v.i64)
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "the Process Start Date would precede the Activation Date");
    if (stop && deact && stop->v.i64 > deact->v.i64)
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "the Protect Stop Date would be later than the Deactivation Date");
    return CF_OK;
}

cf_status core_attr_check_edit(core_req *req, const core_object *obj, const char *name,
                               size_t len, enum core_edit_kind kind, const ttlv_item *old_value,
                               const ttlv_item *new_value)
{
    cf_status st;
    unsigned need = kind == CORE_EDIT_ADD      ? CORE_ATTR_EDIT
                    : kind == CORE_EDIT_MODIFY ? CORE_ATTR_MODIFY
                                               : CORE_ATTR_DELETE;
    const struct core_attr_rule *r;

    if (core_state_is_destroyed(obj->state))
        return core_fail(req, CF_ERR_STATE, "the object is destroyed");
    if (core_attr_is_custom(name, len)) {
        if (name[0] == 'y') /* 1.4 section 3.39 */
            return core_fail(req, CF_ERR_READ_ONLY, "'y-' attributes are set by the server only");
        return CF_OK;
    }
    r = core_attr_rule(name, len);
    if (r == NULL) /* a name no object can have: deleting it finds nothing */
        return core_fail(req, kind == CORE_EDIT_DELETE ? CF_ERR_ATTR_NOT_FOUND
                                                       : CF_ERR_INVALID_FIELD,
                         "unknown attribute '%.*s'", (int)len, name);
    if (!(r->flags & need))
        return core_fail(req, CF_ERR_READ_ONLY, "attribute '%s' cannot be %s by the client",
                         r->name, edit_verb(kind));
    if ((st = check_state_window(req, obj, r, old_value)) != CF_OK)
        return st;
    if (r->type == TTLV_DATE_TIME && new_value != NULL)
        return check_date_order(req, obj, r->name, new_value);
    return CF_OK;
}

/* A new value must have the attribute's type (custom ones: any). */
static cf_status check_value(core_req *req, const char *name, size_t len, const ttlv_item *v)
{
    const struct core_attr_rule *r = core_attr_rule(name, len);
    if (r != NULL && v->type != r->type)
        return core_fail(req, CF_ERR_INVALID_FIELD, "attribute '%s' has the wrong type", r->name);
    return CF_OK;
}

/* ------------------------------------------------------- list surgery */

static bool item_named(const ttlv_item *it, const char *name, size_t len, int32_t *idx,
                       const ttlv_item **v)
{
    const char *n;
    size_t nl;
    return core_attr_parts(it, &n, &nl, idx, v) && nl == len && memcmp(n, name, len) == 0;
}

ttlv_item *core_attr_item(core_object *obj, const char *name, size_t len, int32_t index)
{
    for (ttlv_item *it = obj->attrs ? obj->attrs->first : NULL; it; it = it->next) {
        int32_t idx;
        const ttlv_item *v;
        if (item_named(it, name, len, &idx, &v) && idx == index)
            return it;
    }
    return NULL;
}

/* Put repl where old is in list (same position, same count). */
static void list_replace(ttlv_item *list, ttlv_item *old, ttlv_item *repl)
{
    ttlv_item *prev = NULL;
    for (ttlv_item *it = list->first; it && it != old; it = it->next)
        prev = it;
    repl->next = old->next;
    if (prev)
        prev->next = repl;
    else
        list->first = repl;
    if (list->last == old)
        list->last = repl;
    old->next = NULL;
}

static void list_remove(ttlv_item *list, ttlv_item *old)
{
    ttlv_item *prev = NULL;
    for (ttlv_item *it = list->first; it && it != old; it = it->next)
        prev = it;
    if (prev)
        prev->next = old->next;
    else
        list->first = old->next;
    if (list->last == old)
        list->last = prev;
    list->nchildren--;
    old->next = NULL;
}

/* Replace the value of attribute item `at` (keeping its name and index). */
static cf_status replace_value(core_req *req, core_object *obj, ttlv_item *at, const char *name,
                               const ttlv_item *value)
{
    const char *n;
    size_t nl;
    int32_t idx;
    const ttlv_item *v;
    ttlv_item *repl;
    if (!core_attr_parts(at, &n, &nl, &idx, &v))
        return CF_ERR_INTERNAL;
    if ((repl = core_attr_new(req->arena, name, idx, value)) == NULL)
        return CF_ERR_NOMEM;
    list_replace(obj->attrs, at, repl);
    return CF_OK;
}

cf_status core_attr_put(core_req *req, core_object *obj, const char *name, const ttlv_item *value)
{
    ttlv_item *at = core_attr_item(obj, name, strlen(name), 0);
    ttlv_item *attr;
    if (at != NULL)
        return replace_value(req, obj, at, name, value);
    if ((attr = core_attr_new(req->arena, name, 0, value)) == NULL)
        return CF_ERR_NOMEM;
    ttlv_append(obj->attrs, attr);
    return CF_OK;
}

/* Equal values, whatever their tags (stored: Attribute Value; 2.x Current
 * Attribute: the attribute's own tag). */
bool core_attr_value_equal(const ttlv_item *stored, const ttlv_item *given)
{
    ttlv_item a = *stored, b = *given;
    a.next = b.next = NULL;
    b.tag = a.tag;
    return ttlv_equal(&a, &b);
}

/* The Attribute item t addresses in obj. */
static cf_status find_target(core_req *req, core_object *obj, const core_attr_target *t,
                             ttlv_item **out)
{
    size_t len = strlen(t->name);
    unsigned count = 0;
    ttlv_item *only = NULL;

    for (ttlv_item *it = obj->attrs->first; it; it = it->next) {
        int32_t idx;
        const ttlv_item *v;
        if (!item_named(it, t->name, len, &idx, &v))
            continue;
        count++;
        only = it;
        if ((t->by_index && idx == t->index) ||
            (!t->by_index && t->current && core_attr_value_equal(v, t->current))) {
            *out = it;
            return CF_OK;
        }
    }
    if (count == 0)
        return core_fail(req, CF_ERR_ATTR_NOT_FOUND, "the object has no '%s' attribute",
                         t->name);
    if (t->by_index)
        return core_fail(req, CF_ERR_ATTR_INSTANCE, "'%s' has no instance with index %d",
                         t->name, t->index);
    if (t->current)
        return core_fail(req, CF_ERR_ATTR_INSTANCE, "no '%s' instance has the current value",
                         t->name);
    if (count > 1) /* 2.1 6.1.34: the instance cannot be determined */
        return core_fail(req, CF_ERR_MULTI_VALUED,
                         "'%s' has %u instances: give the Current Attribute", t->name, count);
    *out = only;
    return CF_OK;
}

/* ------------------------------------------------------------------ Modify */

struct modify_ctx {
    const core_attr_target *t;
    const ttlv_item *value;
    int32_t index;
};

static cf_status do_modify(core_req *req, core_object *obj, void *ctx)
{
    struct modify_ctx *m = ctx;
    size_t len = strlen(m->t->name);
    ttlv_item *at;
    const char *n;
    size_t nl;
    const ttlv_item *old;
    cf_status st;

    if ((st = find_target(req, obj, m->t, &at)) != CF_OK)
        return st;
    if (!core_attr_parts(at, &n, &nl, &m->index, &old))
        return CF_ERR_INTERNAL;
    if ((st = core_attr_check_edit(req, obj, m->t->name, len, CORE_EDIT_MODIFY, old,
                                   m->value)) != CF_OK)
        return st;
    if ((st = replace_value(req, obj, at, m->t->name, m->value)) != CF_OK)
        return st;
    return core_attr_after_edit(req, obj, m->t->name, m->value);
}

/* Read-only before existence: a client modifying State learns that it is
 * read-only, not that it has no instance of it (1.4 11.16, 2.1 BL-M-7). */
static cf_status check_static(core_req *req, const char *name, const ttlv_item *value,
                              unsigned need)
{
    size_t len = strlen(name);
    const struct core_attr_rule *r = core_attr_rule(name, len);
    cf_status st;
    if (len == 0 || len > CF_LIMIT_ATTR_NAME)
        return core_fail(req, CF_ERR_INVALID_FIELD, "attribute name length %zu", len);
    if (core_attr_is_custom(name, len) && name[0] == 'y')
        return core_fail(req, CF_ERR_READ_ONLY, "'y-' attributes are set by the server only");
    if (r != NULL && !(r->flags & need))
        return core_fail(req, CF_ERR_READ_ONLY, "attribute '%s' cannot be changed by the client",
                         r->name);
    if (value != NULL && (st = check_value(req, name, len, value)) != CF_OK)
        return st;
    return CF_OK;
}

cf_status core_attr_modify(core_req *req, const char *uid, const core_attr_target *t,
                           const ttlv_item *value, int32_t *out_index)
{
    struct modify_ctx m = {.t = t, .value = value};
    cf_status st;

    if ((st = check_static(req, t->name, value, CORE_ATTR_MODIFY)) != CF_OK)
        return st;
    if ((st = core_object_edit(req, uid, do_modify, &m)) != CF_OK)
        return st;
    *out_index = m.index;
    return CF_OK;
}

/* ------------------------------------------------------------------ Delete */

struct delete_ctx {
    const core_attr_target *t;
    ttlv_item *deleted;
};

/* 2.x Attribute Reference without Current Attribute: every instance. */
static cf_status delete_all(core_req *req, core_object *obj, struct delete_ctx *d)
{
    size_t len = strlen(d->t->name);
    ttlv_item *it = obj->attrs->first, *next;
    cf_status st;

    if ((st = core_attr_check_edit(req, obj, d->t->name, len, CORE_EDIT_DELETE, NULL, NULL)))
        return st;
    for (; it; it = next) {
        int32_t idx;
        const ttlv_item *v;
        next = it->next;
        if (!item_named(it, d->t->name, len, &idx, &v))
            continue;
        list_remove(obj->attrs, it);
        if (d->deleted == NULL)
            d->deleted = it;
    }
    if (d->deleted == NULL)
        return core_fail(req, CF_ERR_ATTR_NOT_FOUND, "the object has no '%s' attribute",
                         d->t->name);
    return CF_OK;
}

static cf_status do_delete(core_req *req, core_object *obj, void *ctx)
{
    struct delete_ctx *d = ctx;
    ttlv_item *at;
    cf_status st;

    d->deleted = NULL;
    if (!d->t->by_index && d->t->current == NULL)
        return delete_all(req, obj, d);
    if ((st = core_attr_check_edit(req, obj, d->t->name, strlen(d->t->name), CORE_EDIT_DELETE,
                                   NULL, NULL)) != CF_OK)
        return st;
    if ((st = find_target(req, obj, d->t, &at)) != CF_OK)
        return st;
    list_remove(obj->attrs, at);
    d->deleted = at;
    return CF_OK;
}

cf_status core_attr_delete(core_req *req, const char *uid, const core_attr_target *t,
                           ttlv_item **out_deleted)
{
    struct delete_ctx d = {.t = t};
    cf_status st;

    if (out_deleted)
        *out_deleted = NULL;
    if ((st = check_static(req, t->name, NULL, CORE_ATTR_DELETE)) != CF_OK)
        return st;
    if ((st = core_object_edit(req, uid, do_delete, &d)) != CF_OK)
        return st;
    if (out_deleted && (*out_deleted = ttlv_clone(req->arena, d.deleted)) == NULL)
        return CF_ERR_NOMEM;
    return CF_OK;
}

/* --------------------------------------------------------------------- Set */

struct set_ctx {
    const char *name;
    const ttlv_item *value;
};

static cf_status do_set(core_req *req, core_object *obj, void *ctx)
{
    struct set_ctx *s = ctx;
    size_t len = strlen(s->name);
    unsigned count;
    ttlv_item *at, *attr;
    cf_status st;

    core_attr_next_index(obj->attrs, s->name, len, &count);
    if (count > 1) /* 2.1 6.1.51 */
        return core_fail(req, CF_ERR_MULTI_VALUED, "'%s' has %u instances", s->name, count);
    if (count == 1) {
        core_attr_target t = {.name = s->name};
        const ttlv_item *old;
        if ((st = find_target(req, obj, &t, &at)) != CF_OK)
            return st;
        old = ttlv_child(at, KMIP_TAG_ATTRIBUTE_VALUE);
        if ((st = core_attr_check_edit(req, obj, s->name, len, CORE_EDIT_MODIFY, old,
                                       s->value)) != CF_OK ||
            (st = replace_value(req, obj, at, s->name, s->value)) != CF_OK)
            return st;
        return core_attr_after_edit(req, obj, s->name, s->value);
    }
    if ((st = core_attr_check_edit(req, obj, s->name, len, CORE_EDIT_ADD, NULL, s->value)))
        return st;
    if (obj->attrs->nchildren >= CF_LIMIT_OBJECT_ATTRS)
        return core_fail(req, CF_ERR_LIMIT, "too many attributes on this object");
    if ((attr = core_attr_new(req->arena, s->name, 0, s->value)) == NULL)
        return CF_ERR_NOMEM;
    ttlv_append(obj->attrs, attr);
    return core_attr_after_edit(req, obj, s->name, s->value);
}

cf_status core_attr_set(core_req *req, const char *uid, const char *name,
                        const ttlv_item *value)
{
    struct set_ctx s = {.name = name, .value = value};
    cf_status st = check_static(req, name, value, CORE_ATTR_EDIT | CORE_ATTR_MODIFY);
    if (st != CF_OK)
        return st;
    return core_object_edit(req, uid, do_set, &s);
}
