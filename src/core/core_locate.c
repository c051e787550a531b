/*
 * core_locate.c - Locate, and the attribute index that serves it.
 *
 * Index: every object row carries the searchable values of its attributes
 * (store.h, store_index_entry), derived here from the canonical attribute
 * list each time core_object_save writes the object, so the index can never
 * disagree with the attributes. Scalars index as themselves (integers,
 * enumerations, dates, intervals, booleans as integers; text, bytes and big
 * integers as bytes). Structures index the field a client searches by plus
 * its type, in one entry so both must match the same instance (KMIP 1.4
 * section 4.9: "all of the structure fields are not REQUIRED"):
 * Name (Name Value, Name Type), Link (Linked Object Identifier, Link Type),
 * ..., and Application Specific Information as "namespace NUL data" so that
 * a namespace alone is a prefix and data alone a suffix. One more entry,
 * CORE_INDEX_DUE, holds the time of the object's next date-driven state
 * change (Activation or Deactivation Date), see locate_catch_up.
 *
 * Locate: criteria (canonical Attribute items, Attribute Index ignored,
 * 1.4 section 4.9) become one store query, every criterion ANDed:
 * equality, a Date attribute given twice as the range [min, max], a Date at
 * its largest value as "not set", the Cryptographic Usage Mask as a subset
 * test, Object Type / State / Unique Identifier on the row's own columns.
 * The caller's tenant bounds every search (locate_scope is where role- or
 * owner-based visibility will narrow it). Destroyed objects are left out
 * unless the Storage Status Mask includes Destroyed Storage (2.0) or a
 * State criterion names a destroyed state.
 */
#include "core/core_int.h"

#include <string.h>

#include "util/limits.h"
#include "util/log.h"

/* Criteria in one Locate: each becomes a subquery; real requests use a
 * handful. Also bounds the statement's parameters and expression depth. */
#define LOCATE_MAX_CRITERIA 64
/* Identifiers returned when the client gives no (or a larger) Maximum
 * Items: 10,000 identifiers are ~480 KiB of response, under
 * CF_LIMIT_RESPONSE. Located Items still counts every match. */
#define LOCATE_MAX_ITEMS 10000
/* Objects whose date-driven state change is persisted by one Locate. */
#define LOCATE_CATCH_UP_MAX 1000

/* Index entry name of the next date-driven transition; '#' cannot start an
 * attribute name a client may use, so it never meets a criterion. */
#define CORE_INDEX_DUE "#due"

/* Searchable structures: the field searched by, and its qualifying type. */
static const struct struct_key {
    const char *name;
    uint32_t text_tag;
    uint32_t int_tag;
} struct_keys[] = {
    {"Name", KMIP_TAG_NAME_VALUE, KMIP_TAG_NAME_TYPE},
    {"Link", KMIP_TAG_LINKED_OBJECT_IDENTIFIER, KMIP_TAG_LINK_TYPE},
    {"Alternative Name", KMIP_TAG_ALTERNATIVE_NAME_VALUE, KMIP_TAG_ALTERNATIVE_NAME_TYPE},
    {"Key Value Location", KMIP_TAG_KEY_VALUE_LOCATION_VALUE, KMIP_TAG_KEY_VALUE_LOCATION_TYPE},
    {"Digest", KMIP_TAG_DIGEST_VALUE, KMIP_TAG_HASHING_ALGORITHM},
    {"Revocation Reason", KMIP_TAG_REVOCATION_MESSAGE, KMIP_TAG_REVOCATION_REASON_CODE},
};

#define ASI_NAME "Application Specific Information"

/* The searchable parts of one attribute value. */
typedef struct index_value {
    bool has_int;
    int64_t ival;
    const uint8_t *text;
    size_t text_len;
    bool has_ns, has_data;   /* Application Specific Information fields given */
} index_value;

static bool scalar_int(const ttlv_item *v, int64_t *out)
{
    switch (v->type) {
    case TTLV_INTEGER:
        *out = v->v.i32;
        return true;
    case TTLV_ENUMERATION:
    case TTLV_INTERVAL:
        *out = v->v.u32;
        return true;
    case TTLV_LONG_INTEGER:
    case TTLV_DATE_TIME:
    case TTLV_DATE_TIME_EXT:
        *out = v->v.i64;
        return true;
    case TTLV_BOOLEAN:
        *out = v->v.b;
        return true;
    default:
        return false;
    }
}

static bool scalar_text(const ttlv_item *v, const uint8_t **p, size_t *n)
{
    if (v->type != TTLV_TEXT_STRING && v->type != TTLV_BYTE_STRING && v->type != TTLV_BIG_INTEGER)
        return false;
    *p = v->v.s.p ? v->v.s.p : (const uint8_t *)"";
    *n = v->v.s.len;
    return true;
}

/* "namespace NUL data" (Text Strings never hold NUL: the decoder refuses it). */
static cf_status asi_value(cf_arena *a, const ttlv_item *v, index_value *out)
{
    const ttlv_item *ns = ttlv_child(v, KMIP_TAG_APPLICATION_NAMESPACE);
    const ttlv_item *data = ttlv_child(v, KMIP_TAG_APPLICATION_DATA);
    const uint8_t *np = NULL, *dp = NULL;
    size_t nl = 0, dl = 0;
    uint8_t *buf;

    out->has_ns = ns && scalar_text(ns, &np, &nl);
    out->has_data = data && scalar_text(data, &dp, &dl);
    buf = cf_arena_alloc(a, nl + dl + 1);
    if (buf == NULL)
        return CF_ERR_NOMEM;
    if (nl)
        memcpy(buf, np, nl);
    buf[nl] = 0;
    if (dl)
        memcpy(buf + nl + 1, dp, dl);
    out->text = buf;
    out->text_len = nl + 1 + dl;
    return CF_OK;
}

/* Searchable parts of value v of attribute `name`. CF_ERR_UNSUPPORTED for a
 * structure nobody searches by (Cryptographic Parameters, Usage Limits...). */
static cf_status index_value_of(cf_arena *a, const char *name, const ttlv_item *v,
                                index_value *out)
{
    memset(out, 0, sizeof *out);
    if (v->type != TTLV_STRUCTURE) {
        out->has_int = scalar_int(v, &out->ival);
        if (!out->has_int)
            scalar_text(v, &out->text, &out->text_len);
        return CF_OK;
    }
    if (strcmp(name, ASI_NAME) == 0)
        return asi_value(a, v, out);
    for (size_t i = 0; i < sizeof struct_keys / sizeof struct_keys[0]; i++) {
        const ttlv_item *t, *n;
        if (strcmp(name, struct_keys[i].name) != 0)
            continue;
        t = ttlv_child(v, struct_keys[i].text_tag);
        n = ttlv_child(v, struct_keys[i].int_tag);
        if (t && !scalar_text(t, &out->text, &out->text_len))
            return CF_ERR_UNSUPPORTED;
        if (n)
            out->has_int = scalar_int(n, &out->ival);
        return CF_OK;
    }
    return CF_ERR_UNSUPPORTED;
}

/* When obj's state next changes by itself (1.4 section 3.22 items 4 and 6):
 * Pre-Active at its Activation Date, Active at its Deactivation Date. */
static bool due_time(const core_object *obj, int64_t *out)
{
    const ttlv_item *d = NULL;
    if (obj->state == KMIP_STATE_PRE_ACTIVE)
        d = core_attr_find(obj, "Activation Date", 0);
    else if (obj->state == KMIP_STATE_ACTIVE)
        d = core_attr_find(obj, "Deactivation Date", 0);
    if (d == NULL || (d->type != TTLV_DATE_TIME && d->type != TTLV_DATE_TIME_EXT))
        return false;
    *out = d->v.i64;
    return true;
}

cf_status core_index_entries(core_req *req, const core_object *obj,
                             const store_index_entry **out, size_t *out_n)
{
    size_t n = 0, cap = (obj->attrs ? obj->attrs->nchildren : 0) + 1;
    store_index_entry *e = cf_arena_calloc(req->arena, cap * sizeof *e);
    cf_status st;

    *out = NULL;
    *out_n = 0;
    if (e == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *it = obj->attrs ? obj->attrs->first : NULL; it && n < cap; it = it->next) {
        const char *nm;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        index_value iv;
        if (!core_attr_parts(it, &nm, &nl, &idx, &v))
            continue;
        if ((e[n].name = cf_arena_strndup(req->arena, nm, nl)) == NULL)
            return CF_ERR_NOMEM;
        st = index_value_of(req->arena, e[n].name, v, &iv);
        if (st == CF_ERR_UNSUPPORTED || (st == CF_OK && !iv.has_int && iv.text == NULL))
            continue; /* not searchable */
        if (st != CF_OK)
            return st;
        e[n].has_int = iv.has_int;
        e[n].ival = iv.ival;
        e[n].text = iv.text;
        e[n].text_len = iv.text_len;
        n++;
    }
    if (n < cap && due_time(obj, &e[n].ival)) {
        e[n].name = CORE_INDEX_DUE;
        e[n++].has_int = true;
    }
    *out = e;
    *out_n = n;
    return CF_OK;
}

/* ----------------------------------------------------------------- Locate */

typedef struct locate_ctx {
    core_req *req;
    const ttlv_item *criteria;
    store_criterion *crit;
    size_t n;
    bool by_state;          /* a State criterion */
    bool state_destroyed;   /* ... naming Destroyed or Destroyed Compromised */
} locate_ctx;

static bool attr_is(const ttlv_item *attr, const char *name, size_t len)
{
    const char *n;
    size_t nl;
    int32_t idx;
    const ttlv_item *v;
    return core_attr_parts(attr, &n, &nl, &idx, &v) && nl == len && memcmp(n, name, len) == 0;
}

/* Instances of date attribute `name` among the criteria, and their span. */
static unsigned date_instances(const ttlv_item *criteria, const char *name, size_t len,
                               int64_t *lo, int64_t *hi)
{
    unsigned count = 0;
    for (const ttlv_item *it = criteria->first; it; it = it->next) {
        const ttlv_item *v = ttlv_child(it, KMIP_TAG_ATTRIBUTE_VALUE);
        if (!attr_is(it, name, len) || v == NULL)
            continue;
        if (count == 0 || v->v.i64 < *lo)
            *lo = v->v.i64;
        if (count == 0 || v->v.i64 > *hi)
            *hi = v->v.i64;
        count++;
    }
    return count;
}

/* A Date attribute: once -> that date; twice -> the range between them
 * (1.4 section 4.9); its largest possible value -> "undefined", i.e. no
 * instance with another value. Only the first instance builds the
 * criterion: CF_ERR_EXISTS when an earlier instance already did. */
static cf_status date_criterion(locate_ctx *c, const ttlv_item *attr, const char *name,
                                size_t len, const ttlv_item *v, store_criterion *sc)
{
    int64_t lo = 0, hi = 0;
    unsigned count;
    for (const ttlv_item *it = c->criteria->first; it != attr; it = it->next)
        if (attr_is(it, name, len))
            return CF_ERR_EXISTS; /* part of the range built at the first one */
    count = date_instances(c->criteria, name, len, &lo, &hi);
    if (count > 2)
        return core_fail(c->req, CF_ERR_INVALID_FIELD,
                         "'%s' appears %u times in Locate: one date or two for a range",
                         sc->name, count);
    if (count == 2) {
        sc->int_op = STORE_INT_RANGE;
        sc->lo = lo;
        sc->hi = hi;
    } else if (v->v.i64 == INT64_MAX) {
        sc->negate = true;
        sc->int_op = STORE_INT_NE;
        sc->lo = INT64_MAX;
    } else {
        sc->int_op = STORE_INT_EQ;
        sc->lo = v->v.i64;
    }
    return CF_OK;
}

/* Any other indexed attribute: its searchable parts must all match. */
static cf_status value_criterion(locate_ctx *c, const ttlv_item *v, store_criterion *sc)
{
    index_value iv;
    cf_status st = index_value_of(c->req->arena, sc->name, v, &iv);
    if (st == CF_ERR_UNSUPPORTED)
        return core_fail(c->req, st, "Locate by '%s' is not supported", sc->name);
    if (st != CF_OK)
        return st;
    if (strcmp(sc->name, "Cryptographic Usage Mask") == 0) {
        /* 1.4 section 4.9: every requested bit set, others allowed. */
        sc->int_op = STORE_INT_MASK;
        sc->lo = iv.ival;
        return CF_OK;
    }
    sc->int_op = iv.has_int ? STORE_INT_EQ : STORE_INT_ANY;
    sc->lo = iv.ival;
    sc->text = iv.text;
    sc->text_len = iv.text_len;
    if (strcmp(sc->name, ASI_NAME) != 0)
        sc->text_op = iv.text ? STORE_TEXT_EQ : STORE_TEXT_ANY;
    else if (iv.has_ns && iv.has_data)
        sc->text_op = STORE_TEXT_EQ;
    else if (iv.has_ns)
        sc->text_op = STORE_TEXT_PREFIX;  /* "namespace NUL" */
    else if (iv.has_data)
        sc->text_op = STORE_TEXT_SUFFIX;  /* "NUL data" */
    return CF_OK;
}

/* The row's own columns: Unique Identifier, Object Type, State. */
static bool column_criterion(locate_ctx *c, const ttlv_item *v, store_criterion *sc)
{
    if (strcmp(sc->name, "Unique Identifier") == 0) {
        sc->field = STORE_FIELD_UID;
        sc->text_op = STORE_TEXT_EQ;
        sc->text = v->v.s.p;
        sc->text_len = v->v.s.len;
    } else if (strcmp(sc->name, "Object Type") == 0 || strcmp(sc->name, "State") == 0) {
        sc->field = sc->name[0] == 'O' ? STORE_FIELD_OBJECT_TYPE : STORE_FIELD_STATE;
        sc->int_op = STORE_INT_EQ;
        sc->lo = v->v.u32;
        if (sc->field == STORE_FIELD_STATE) {
            c->by_state = true;
            c->state_destroyed |= v->v.u32 == KMIP_STATE_DESTROYED ||
                                  v->v.u32 == KMIP_STATE_DESTROYED_COMPROMISED;
        }
    } else {
        return false;
    }
    return true;
}

static cf_status add_criterion(locate_ctx *c, const ttlv_item *attr)
{
    store_criterion *sc = &c->crit[c->n];
    const struct core_attr_rule *r;
    const ttlv_item *v;
    const char *name;
    size_t nl;
    int32_t idx;
    cf_status st;

    if (!core_attr_parts(attr, &name, &nl, &idx, &v)) /* the index is ignored (1.4 4.9) */
        return core_fail(c->req, CF_ERR_INVALID_FIELD, "malformed Attribute in Locate");
    r = core_attr_rule(name, nl);
    if (r == NULL && !core_attr_is_custom(name, nl))
        return core_fail(c->req, CF_ERR_INVALID_FIELD, "unknown attribute '%.*s' in Locate",
                         (int)(nl > CF_LIMIT_ATTR_NAME ? CF_LIMIT_ATTR_NAME : nl), name);
    if (r != NULL && v->type != r->type)
        return core_fail(c->req, CF_ERR_INVALID_FIELD, "attribute '%s' has the wrong type",
                         r->name);
    memset(sc, 0, sizeof *sc);
    sc->name = r ? r->name : cf_arena_strndup(c->req->arena, name, nl);
    if (sc->name == NULL)
        return CF_ERR_NOMEM;
    if (column_criterion(c, v, sc))
        st = CF_OK;
    else if (v->type == TTLV_DATE_TIME || v->type == TTLV_DATE_TIME_EXT)
        st = date_criterion(c, attr, name, nl, v, sc);
    else
        st = value_criterion(c, v, sc);
    if (st == CF_ERR_EXISTS)
        return CF_OK;
    if (st == CF_OK)
        c->n++;
    return st;
}

/* Storage Status Mask (1.4 section 9.1.3.3.2, 2.0 section 6.1.27): on-line
 * objects by default; destroyed ones only with Destroyed Storage or when a
 * State criterion asks for a destroyed state (forgiving 1.x clients, which
 * have no Destroyed Storage bit). Nothing is ever archived here, so
 * Archival Storage alone matches nothing: returns false then. */
static bool storage_filter(locate_ctx *c, int32_t mask)
{
    bool online = mask == 0 || (mask & KMIP_STORAGE_STATUS_MASK_ON_LINE_STORAGE);
    bool destroyed = (mask & KMIP_STORAGE_STATUS_MASK_DESTROYED_STORAGE) || c->state_destroyed;
    store_criterion *sc = &c->crit[c->n];

    if (online && destroyed)
        return true;
    if (!online && !destroyed)
        return false;
    memset(sc, 0, 2 * sizeof *sc);
    sc[0].field = sc[1].field = STORE_FIELD_STATE;
    if (online) {
        sc[0].int_op = sc[1].int_op = STORE_INT_NE;
        sc[0].lo = KMIP_STATE_DESTROYED;
        sc[1].lo = KMIP_STATE_DESTROYED_COMPROMISED;
        c->n += 2;
    } else {
        /* Destroyed (5) and Destroyed Compromised (6) are adjacent. */
        sc[0].int_op = STORE_INT_RANGE;
        sc[0].lo = KMIP_STATE_DESTROYED;
        sc[0].hi = KMIP_STATE_DESTROYED_COMPROMISED;
        c->n++;
    }
    return true;
}

static cf_status check_opts(core_req *req, const core_locate_opts *o)
{
    const int32_t known = KMIP_STORAGE_STATUS_MASK_ON_LINE_STORAGE |
                          KMIP_STORAGE_STATUS_MASK_ARCHIVAL_STORAGE |
                          KMIP_STORAGE_STATUS_MASK_DESTROYED_STORAGE;
    if (o->has_max_items && o->max_items < 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Maximum Items is negative");
    if (o->offset_items < 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Offset Items is negative");
    if (o->storage_mask & ~known)
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown bits in Storage Status Mask");
    if (o->group_member != 0 && o->group_member != KMIP_OBJECT_GROUP_MEMBER_GROUP_MEMBER_FRESH &&
        o->group_member != KMIP_OBJECT_GROUP_MEMBER_GROUP_MEMBER_DEFAULT)
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown Object Group Member");
    return CF_OK;
}

/* What the caller may see: its whole tenant (every role may read
 * metadata). Role- or owner-restricted visibility narrows q here, so that
 * the count and the paging stay exact: set q->owner, or add criteria. */
static cf_status locate_scope(core_req *req, store_query *q)
{
    cf_status st = core_req_authorize(req, CORE_ACT_READ_METADATA, NULL);
    if (st != CF_OK) /* a uid-restricted identity cannot search either */
        return st;
    q->tenant = req->who->tenant;
    q->owner = NULL;
    return CF_OK;
}

/* Date-driven state changes (Activation / Deactivation Date reached) are
 * applied lazily by core_object_load; before searching by State, persist
 * those that are due so that the State column agrees with what Get shows.
 * Saving recomputes CORE_INDEX_DUE, so each is done once. Best effort: a
 * concurrent writer saves the same state (CF_ERR_CONFLICT is fine). */
static cf_status locate_catch_up(core_req *req)
{
    store_criterion due = {.field = STORE_FIELD_ATTR, .name = CORE_INDEX_DUE,
                           .int_op = STORE_INT_RANGE, .lo = INT64_MIN, .hi = req->now};
    store_query q = {.tenant = req->who->tenant, .crit = &due, .n_crit = 1,
                     .limit = LOCATE_CATCH_UP_MAX};
    const char **uids;
    size_t n;
    int64_t total, t;
    cf_status st = store_object_find(req->st, &q, req->arena, &uids, &n, &total);

    for (size_t i = 0; st == CF_OK && i < n; i++) {
        core_object *obj;
        if (core_object_load(req, uids[i], &obj) != CF_OK)
            continue;
        if (due_time(obj, &t) && t <= req->now)
            continue; /* the loaded state did not move: nothing to persist */
        obj->revision++;
        st = core_object_save(req, obj, false);
        if (st == CF_ERR_CONFLICT)
            st = CF_OK;
    }
    req->err_msg = NULL;
    return st;
}

cf_status core_locate(core_req *req, const ttlv_item *criteria, const core_locate_opts *opts,
                      const char ***out_uids, size_t *out_n, int64_t *out_total)
{
    size_t ncrit = criteria ? criteria->nchildren : 0;
    locate_ctx c = {.req = req, .criteria = criteria};
    store_query q = {0};
    bool by_default = opts->group_member == KMIP_OBJECT_GROUP_MEMBER_GROUP_MEMBER_DEFAULT;
    cf_status st;

    *out_uids = NULL;
    *out_n = 0;
    *out_total = 0;
    if ((st = locate_scope(req, &q)) != CF_OK || (st = check_opts(req, opts)) != CF_OK)
        return st;
    if (ncrit > LOCATE_MAX_CRITERIA)
        return core_fail(req, CF_ERR_LIMIT, "more than %d attributes in Locate",
                         LOCATE_MAX_CRITERIA);
    if ((c.crit = cf_arena_calloc(req->arena, (ncrit + 3) * sizeof *c.crit)) == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *it = ncrit ? criteria->first : NULL; it; it = it->next)
        if ((st = add_criterion(&c, it)) != CF_OK)
            return st;
    if (!storage_filter(&c, opts->storage_mask))
        return CF_OK;
    if (opts->group_member == KMIP_OBJECT_GROUP_MEMBER_GROUP_MEMBER_FRESH) {
        /* Fresh (1.4 section 3.34): never served, i.e. no Fresh = false. */
        c.crit[c.n++] = (store_criterion){.field = STORE_FIELD_ATTR, .name = "Fresh", .negate = true,
                                .int_op = STORE_INT_NE, .lo = 1};
    }
    q.crit = c.crit;
    q.n_crit = c.n;
    q.offset = by_default ? 0 : opts->offset_items;
    q.limit = opts->has_max_items && opts->max_items < LOCATE_MAX_ITEMS ? opts->max_items
                                                                        : LOCATE_MAX_ITEMS;
    if (by_default) /* server policy: the group's default is its newest member */
        q.limit = q.limit ? 1 : 0;
    if (c.by_state && (st = locate_catch_up(req)) != CF_OK)
        return st;
    st = store_object_find(req->st, &q, req->arena, out_uids, out_n, out_total);
    if (st == CF_OK && by_default && *out_total > 1)
        *out_total = 1;
    return st;
}
