/*
 * ttlv_tree.c - access to, construction of, comparison, copy and dump of
 * ttlv_item trees.
 *
 * Design: trees live in a cf_arena; nothing here frees. The functions that
 * walk a whole tree (equal, clone, dump) recurse, but never deeper than
 * TTLV_WRITER_DEPTH_MAX structures: the decoder never builds deeper trees
 * and the writer could not encode them, so deeper (hand-built) trees are
 * refused (false / NULL / CF_ERR_INVALID_FIELD) instead of risking the
 * stack. Getters distinguish "absent" (CF_ERR_MISSING) from "present with
 * another type" (CF_ERR_INVALID_FIELD) so that KMIP handlers can answer
 * Invalid Field vs Missing Data precisely.
 */
#include "ttlv/ttlv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- access */

const ttlv_item *ttlv_child(const ttlv_item *s, uint32_t tag)
{
    if (s == NULL || s->type != TTLV_STRUCTURE)
        return NULL;
    for (const ttlv_item *c = s->first; c; c = c->next)
        if (c->tag == tag)
            return c;
    return NULL;
}

const ttlv_item *ttlv_next_same(const ttlv_item *it)
{
    if (it == NULL)
        return NULL;
    for (const ttlv_item *c = it->next; c; c = c->next)
        if (c->tag == it->tag)
            return c;
    return NULL;
}

unsigned ttlv_count(const ttlv_item *s, uint32_t tag)
{
    unsigned n = 0;
    for (const ttlv_item *c = ttlv_child(s, tag); c; c = ttlv_next_same(c))
        n++;
    return n;
}

static cf_status get_typed(const ttlv_item *s, uint32_t tag, uint8_t type, const ttlv_item **out)
{
    const ttlv_item *c = ttlv_child(s, tag);
    if (c == NULL)
        return CF_ERR_MISSING;
    if (c->type != type)
        return CF_ERR_INVALID_FIELD;
    *out = c;
    return CF_OK;
}

cf_status ttlv_get_int(const ttlv_item *s, uint32_t tag, int32_t *out)
{
    const ttlv_item *c;
    cf_status st = get_typed(s, tag, TTLV_INTEGER, &c);
    if (st == CF_OK)
        *out = c->v.i32;
    return st;
}

cf_status ttlv_get_long(const ttlv_item *s, uint32_t tag, int64_t *out)
{
    const ttlv_item *c;
    cf_status st = get_typed(s, tag, TTLV_LONG_INTEGER, &c);
    if (st == CF_OK)
        *out = c->v.i64;
    return st;
}

cf_status ttlv_get_enum(const ttlv_item *s, uint32_t tag, uint32_t *out)
{
    const ttlv_item *c;
    cf_status st = get_typed(s, tag, TTLV_ENUMERATION, &c);
    if (st == CF_OK)
        *out = c->v.u32;
    return st;
}

cf_status ttlv_get_bool(const ttlv_item *s, uint32_t tag, bool *out)
{
    const ttlv_item *c;
    cf_status st = get_typed(s, tag, TTLV_BOOLEAN, &c);
    if (st == CF_OK)
        *out = c->v.b;
    return st;
}

cf_status ttlv_get_text(const ttlv_item *s, uint32_t tag, const char **out, size_t *out_len)
{
    const ttlv_item *c;
    cf_status st = get_typed(s, tag, TTLV_TEXT_STRING, &c);
    if (st == CF_OK) {
        *out = (const char *)c->v.s.p;
        *out_len = c->v.s.len;
    }
    return st;
}

cf_status ttlv_get_bytes(const ttlv_item *s, uint32_t tag, const uint8_t **out, size_t *out_len)
{
    const ttlv_item *c;
    cf_status st = get_typed(s, tag, TTLV_BYTE_STRING, &c);
    if (st == CF_OK) {
        *out = c->v.s.p;
        *out_len = c->v.s.len;
    }
    return st;
}

cf_status ttlv_get_datetime(const ttlv_item *s, uint32_t tag, int64_t *out)
{
    const ttlv_item *c;
    cf_status st = get_typed(s, tag, TTLV_DATE_TIME, &c);
    if (st == CF_OK)
        *out = c->v.i64;
    return st;
}

cf_status ttlv_get_struct(const ttlv_item *s, uint32_t tag, const ttlv_item **out)
{
    return get_typed(s, tag, TTLV_STRUCTURE, out);
}

/* -------------------------------------------------------------- equality */

static bool is_string_type(uint8_t type)
{
    return type == TTLV_TEXT_STRING || type == TTLV_BYTE_STRING || type == TTLV_BIG_INTEGER;
}

static bool value_equal(const ttlv_item *a, const ttlv_item *b)
{
    switch (a->type) {
    case TTLV_INTEGER:
    case TTLV_ENUMERATION:
    case TTLV_INTERVAL:
        return a->v.u32 == b->v.u32;
    case TTLV_LONG_INTEGER:
    case TTLV_DATE_TIME:
    case TTLV_DATE_TIME_EXT:
        return a->v.i64 == b->v.i64;
    case TTLV_BOOLEAN:
        return a->v.b == b->v.b;
    default:
        if (is_string_type(a->type))
            return a->v.s.len == b->v.s.len &&
                   (a->v.s.len == 0 || memcmp(a->v.s.p, b->v.s.p, a->v.s.len) == 0);
        return true; /* structures: compared by their children */
    }
}

static bool equal_at(const ttlv_item *a, const ttlv_item *b, unsigned depth)
{
    const ttlv_item *x, *y;

    if (a == NULL || b == NULL)
        return a == b;
    if (a->tag != b->tag || a->type != b->type || !value_equal(a, b))
        return false;
    if (a->type != TTLV_STRUCTURE)
        return true;
    if (depth >= TTLV_WRITER_DEPTH_MAX || a->nchildren != b->nchildren)
        return false;
    for (x = a->first, y = b->first; x && y; x = x->next, y = y->next)
        if (!equal_at(x, y, depth + 1))
            return false;
    return x == NULL && y == NULL;
}

bool ttlv_equal(const ttlv_item *a, const ttlv_item *b)
{
    return equal_at(a, b, 0);
}

/* ---------------------------------------------------------- construction */

static ttlv_item *new_item(cf_arena *a, uint32_t tag, uint8_t type)
{
    ttlv_item *it = cf_arena_calloc(a, sizeof *it);
    if (it) {
        it->tag = tag;
        it->type = type;
    }
    return it;
}

ttlv_item *ttlv_new_struct(cf_arena *a, uint32_t tag) { return new_item(a, tag, TTLV_STRUCTURE); }

ttlv_item *ttlv_new_int(cf_arena *a, uint32_t tag, int32_t v)
{
    ttlv_item *it = new_item(a, tag, TTLV_INTEGER);
    if (it)
        it->v.i32 = v;
    return it;
}

ttlv_item *ttlv_new_long(cf_arena *a, uint32_t tag, int64_t v)
{
    ttlv_item *it = new_item(a, tag, TTLV_LONG_INTEGER);
    if (it)
        it->v.i64 = v;
    return it;
}

ttlv_item *ttlv_new_enum(cf_arena *a, uint32_t tag, uint32_t v)
{
    ttlv_item *it = new_item(a, tag, TTLV_ENUMERATION);
    if (it)
        it->v.u32 = v;
    return it;
}

ttlv_item *ttlv_new_bool(cf_arena *a, uint32_t tag, bool v)
{
    ttlv_item *it = new_item(a, tag, TTLV_BOOLEAN);
    if (it)
        it->v.b = v;
    return it;
}

ttlv_item *ttlv_new_datetime(cf_arena *a, uint32_t tag, int64_t v)
{
    ttlv_item *it = new_item(a, tag, TTLV_DATE_TIME);
    if (it)
        it->v.i64 = v;
    return it;
}

ttlv_item *ttlv_new_interval(cf_arena *a, uint32_t tag, uint32_t v)
{
    ttlv_item *it = new_item(a, tag, TTLV_INTERVAL);
    if (it)
        it->v.u32 = v;
    return it;
}

/* Strings are copied with a NUL after them, like the decoder's copies. */
static ttlv_item *new_string(cf_arena *a, uint32_t tag, uint8_t type, const void *p, size_t len)
{
    ttlv_item *it;
    uint8_t *copy;

    if ((p == NULL && len) || len > UINT32_MAX)
        return NULL;
    it = new_item(a, tag, type);
    copy = it ? cf_arena_alloc(a, len + 1) : NULL;
    if (copy == NULL)
        return NULL;
    if (len)
        memcpy(copy, p, len);
    copy[len] = 0;
    it->v.s.p = copy;
    it->v.s.len = len;
    return it;
}

ttlv_item *ttlv_new_text(cf_arena *a, uint32_t tag, const char *s, size_t len)
{
    return new_string(a, tag, TTLV_TEXT_STRING, s, len);
}

ttlv_item *ttlv_new_bytes(cf_arena *a, uint32_t tag, const uint8_t *p, size_t len)
{
    return new_string(a, tag, TTLV_BYTE_STRING, p, len);
}

ttlv_item *ttlv_new_bigint(cf_arena *a, uint32_t tag, const uint8_t *p, size_t len)
{
    return new_string(a, tag, TTLV_BIG_INTEGER, p, len);
}

void ttlv_append(ttlv_item *s, ttlv_item *child)
{
    if (s == NULL || child == NULL || s->type != TTLV_STRUCTURE)
        return;
    child->next = NULL;
    if (s->last)
        s->last->next = child;
    else
        s->first = child;
    s->last = child;
    s->nchildren++;
}

static ttlv_item *clone_at(cf_arena *a, const ttlv_item *it, unsigned depth)
{
    ttlv_item *c;

    if (is_string_type(it->type))
        return new_string(a, it->tag, it->type, it->v.s.p, it->v.s.len);
    c = new_item(a, it->tag, it->type);
    if (c == NULL)
        return NULL;
    c->v = it->v;
    if (it->type != TTLV_STRUCTURE)
        return c;
    if (depth >= TTLV_WRITER_DEPTH_MAX)
        return NULL;
    for (const ttlv_item *k = it->first; k; k = k->next) {
        ttlv_item *kc = clone_at(a, k, depth + 1);
        if (kc == NULL)
            return NULL;
        ttlv_append(c, kc);
    }
    return c;
}

ttlv_item *ttlv_clone(cf_arena *a, const ttlv_item *it)
{
    return it ? clone_at(a, it, 0) : NULL;
}

/* ------------------------------------------------------------------ dump */

static const char *type_name(uint8_t type)
{
    static const char *const names[] = {
        [TTLV_STRUCTURE] = "Structure",     [TTLV_INTEGER] = "Integer",
        [TTLV_LONG_INTEGER] = "Long Integer", [TTLV_BIG_INTEGER] = "Big Integer",
        [TTLV_ENUMERATION] = "Enumeration", [TTLV_BOOLEAN] = "Boolean",
        [TTLV_TEXT_STRING] = "Text String", [TTLV_BYTE_STRING] = "Byte String",
        [TTLV_DATE_TIME] = "Date-Time",     [TTLV_INTERVAL] = "Interval",
        [TTLV_DATE_TIME_EXT] = "Date-Time Extended",
    };
    if (type < sizeof names / sizeof names[0] && names[type])
        return names[type];
    return "?";
}

__attribute__((format(printf, 2, 3)))
static void put(cf_buf *out, const char *fmt, ...)
{
    char tmp[160];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        out->failed = true;
        return;
    }
    cf_buf_append(out, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Text, quoted, with control and non-ASCII bytes escaped, at most 256 bytes. */
static void put_text(cf_buf *out, const uint8_t *p, size_t len)
{
    size_t shown = len > 256 ? 256 : len;

    cf_buf_append(out, "\"", 1);
    for (size_t i = 0; i < shown; i++) {
        uint8_t c = p[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
            cf_buf_append(out, &c, 1);
        else
            put(out, "\\x%02X", c);
    }
    cf_buf_append(out, "\"", 1);
    if (shown < len)
        put(out, "... (%zu bytes)", len);
}

static void put_value(cf_buf *out, const ttlv_item *it, const ttlv_tag_info *ti)
{
    const ttlv_enum_info *ei;
    struct tm tm;
    time_t t;

    switch (it->type) {
    case TTLV_INTEGER:
        put(out, "%" PRId32, it->v.i32);
        break;
    case TTLV_ENUMERATION:
        ei = ti ? ttlv_enum_lookup(ti->enum_name, it->v.u32) : NULL;
        if (ei)
            put(out, "%s", ei->name);
        else if (ti && ti->enum_name && strcmp(ti->enum_name, "Tag") == 0 &&
                 ttlv_tag_lookup(it->v.u32))
            put(out, "%s", ttlv_tag_lookup(it->v.u32)->name); /* 2.x Tag enumeration */
        else
            put(out, "0x%08" PRIX32, it->v.u32);
        break;
    case TTLV_INTERVAL:
        put(out, "%" PRIu32 "s", it->v.u32);
        break;
    case TTLV_LONG_INTEGER:
    case TTLV_DATE_TIME_EXT:
        put(out, "%" PRId64, it->v.i64);
        break;
    case TTLV_DATE_TIME:
        t = (time_t)it->v.i64;
        if ((int64_t)t == it->v.i64 && gmtime_r(&t, &tm))
            put(out, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        else
            put(out, "%" PRId64, it->v.i64);
        break;
    case TTLV_BOOLEAN:
        put(out, "%s", it->v.b ? "true" : "false");
        break;
    case TTLV_TEXT_STRING:
        if (it->tag == KMIP_TAG_PASSWORD)
            put(out, "<redacted>");
        else
            put_text(out, it->v.s.p, it->v.s.len);
        break;
    default: /* Byte String, Big Integer: possibly key material */
        put(out, "<%zu bytes>", it->v.s.len);
        break;
    }
}

static bool dump_at(const ttlv_item *it, cf_buf *out, unsigned depth)
{
    const ttlv_tag_info *ti = ttlv_tag_lookup(it->tag);

    for (unsigned i = 0; i < depth; i++)
        cf_buf_append(out, "  ", 2);
    if (ti)
        put(out, "%s (%s)", ti->name, type_name(it->type));
    else
        put(out, "0x%06" PRIX32 " (%s)", it->tag, type_name(it->type));
    if (it->type != TTLV_STRUCTURE) {
        cf_buf_append(out, ": ", 2);
        put_value(out, it, ti);
        cf_buf_append(out, "\n", 1);
        return true;
    }
    cf_buf_append(out, "\n", 1);
    if (depth >= TTLV_WRITER_DEPTH_MAX)
        return false;
    for (const ttlv_item *c = it->first; c; c = c->next)
        if (!dump_at(c, out, depth + 1))
            return false;
    return true;
}

cf_status ttlv_dump(const ttlv_item *it, cf_buf *out)
{
    if (it == NULL)
        return CF_ERR_INVALID_FIELD;
    if (!dump_at(it, out, 0))
        return CF_ERR_INVALID_FIELD;
    return out->failed ? CF_ERR_NOMEM : CF_OK;
}
