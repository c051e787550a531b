/*
 * ttlv_decode.c - the bounded TTLV decoder (KMIP 1.4 and 2.1 section 9.1).
 *
 * Design: one forward pass over [p, p+len) with an explicit stack of open
 * structures (no recursion: the input decides the nesting). Each item is
 * checked completely before anything is allocated for it:
 *   header (8 bytes: tag 3, type 1, length 4) within what remains,
 *   tag range, item type, the dictionary's type for a known tag,
 *   item count, the exact length of fixed-size types, the padded length
 *   within the enclosing structure (or the input), string size, then the
 *   value itself (zero padding, Boolean 0/1, UTF-8, Big Integer length).
 * Only then is the node allocated in the arena and the value copied. A
 * structure's children are confined to its declared length and must fill
 * it exactly. The number of open structures is capped at
 * TTLV_WRITER_DEPTH_MAX (and by limits->max_depth) so every decoded tree can
 * be re-encoded by the writer.
 *
 * Error codes: truncation of the input is TTLV_E_TRUNCATED; a child that
 * overruns or underfills its parent structure is TTLV_E_LENGTH (the parent
 * already fits in the input, so the message is inconsistent, not short).
 */
#include "ttlv/ttlv.h"

#include <string.h>

#include "util/limits.h"

const ttlv_limits ttlv_default_limits = {
    .max_bytes = CF_LIMIT_KMIP_MESSAGE,
    .max_depth = CF_LIMIT_TTLV_DEPTH,
    .max_items = CF_LIMIT_TTLV_ITEMS,
    .max_string = CF_LIMIT_STRING,
};

static const char *const err_names[] = {
    [TTLV_E_OK] = "ok",
    [TTLV_E_TRUNCATED] = "truncated",
    [TTLV_E_LENGTH] = "bad length",
    [TTLV_E_TYPE] = "bad item type",
    [TTLV_E_PADDING] = "non-zero padding",
    [TTLV_E_VALUE] = "bad value",
    [TTLV_E_TAG] = "tag out of range",
    [TTLV_E_DEPTH] = "too deep",
    [TTLV_E_ITEMS] = "too many items",
    [TTLV_E_SIZE] = "too large",
    [TTLV_E_TRAILING] = "trailing bytes",
    [TTLV_E_NOMEM] = "out of memory",
};

const char *ttlv_err_str(ttlv_err e)
{
    if ((unsigned)e >= sizeof err_names / sizeof err_names[0] || err_names[e] == NULL)
        return "unknown error";
    return err_names[e];
}

/* KMIP 1.4 9.1.3.1 / 2.1 11.56: tags 42xxxx are defined by the
 * specification, 54xxxx are extensions; everything else is unused. */
static bool tag_in_range(uint32_t tag)
{
    uint32_t hi = tag >> 16;
    return hi == 0x42 || hi == 0x54;
}

bool ttlv_frame_size(const uint8_t hdr[8], size_t max_bytes, size_t *out_total)
{
    uint32_t tag = ((uint32_t)hdr[0] << 16) | ((uint32_t)hdr[1] << 8) | hdr[2];
    uint64_t total = 8 + (uint64_t)cf_be32(hdr + 4);

    if (hdr[3] != TTLV_STRUCTURE || !tag_in_range(tag) || total > max_bytes)
        return false;
    *out_total = (size_t)total;
    return true;
}

/* -------------------------------------------------------------- values */

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. KMIP 1.4 9.1.1.4 requires Text Strings to be UTF-8; Coffre also
 * rejects U+0000, because every consumer treats text as a C string (the
 * decoder NUL-terminates it) and an embedded NUL would let "a\0b" and "a"
 * compare differently in different layers. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;          /* overlong */
            else if (c == 0xED)
                hi = 0x9F;          /* surrogates U+D800-U+DFFF */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;          /* overlong */
            else if (c == 0xF4)
                hi = 0x8F;          /* above U+10FFFF */
        } else
            return false;           /* 80-C1 continuation/overlong, F5-FF */
        if (n - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += need + 1;
    }
    return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* ------------------------------------------------------------- decoder */

typedef struct frame {
    ttlv_item *s;   /* open structure */
    size_t end;     /* offset just past its value */
} frame;

typedef struct dec {
    const uint8_t *p;
    size_t len;
    size_t pos;
    const ttlv_limits *lim;
    unsigned max_open;      /* structures that may be open at once */
    cf_arena *a;
    unsigned items;
    unsigned depth;         /* open structures */
    frame stack[TTLV_WRITER_DEPTH_MAX];
    ttlv_error err;
} dec;

typedef struct hdr {
    uint32_t tag;
    uint8_t type;
    uint32_t len;       /* declared value length */
    uint64_t padded;    /* bytes the value occupies, padding included */
} hdr;

static ttlv_err fail(dec *d, ttlv_err e, size_t off, uint32_t tag)
{
    d->err.code = e;
    d->err.offset = off;
    d->err.tag = tag;
    return e;
}

/* KMIP 1.4 9.1.1.3-9.1.1.4 / 2.1 9.1.1: the length of each fixed-size type,
 * and how long the value is on the wire. Returns TTLV_E_OK or an error. */
static ttlv_err check_length(const hdr *h)
{
    switch (h->type) {
    case TTLV_INTEGER:
    case TTLV_ENUMERATION:
    case TTLV_INTERVAL:
        return h->len == 4 ? TTLV_E_OK : TTLV_E_LENGTH;
    case TTLV_LONG_INTEGER:
    case TTLV_BOOLEAN:
    case TTLV_DATE_TIME:
    case TTLV_DATE_TIME_EXT:
        return h->len == 8 ? TTLV_E_OK : TTLV_E_LENGTH;
    case TTLV_BIG_INTEGER:
        /* 9.1.1.4: "padded with a minimal number of leading sign-extended
         * bytes to make the length a multiple of eight bytes". */
        return (h->len != 0 && h->len % 8 == 0) ? TTLV_E_OK : TTLV_E_VALUE;
    case TTLV_STRUCTURE:
        /* Children are whole items, each a multiple of 8 bytes long. */
        return h->len % 8 == 0 ? TTLV_E_OK : TTLV_E_LENGTH;
    case TTLV_TEXT_STRING:
    case TTLV_BYTE_STRING:
        return TTLV_E_OK;
    default:
        return TTLV_E_TYPE;
    }
}

/* Read and check one header at d->pos against the room left in the
 * enclosing structure (or the input). */
static ttlv_err read_header(dec *d, hdr *h)
{
    size_t end = d->depth ? d->stack[d->depth - 1].end : d->len;
    size_t room = end - d->pos;
    const uint8_t *q = d->p + d->pos;
    const ttlv_tag_info *ti;
    ttlv_err e;

    if (room < 8)
        return fail(d, d->depth ? TTLV_E_LENGTH : TTLV_E_TRUNCATED, d->pos, 0);
    h->tag = ((uint32_t)q[0] << 16) | ((uint32_t)q[1] << 8) | q[2];
    h->type = q[3];
    h->len = cf_be32(q + 4);
    if (!tag_in_range(h->tag))
        return fail(d, TTLV_E_TAG, d->pos, h->tag);
    if ((e = check_length(h)) == TTLV_E_TYPE)
        return fail(d, e, d->pos, h->tag);
    /* A tag the dictionary types must carry that type (TTLV_ANY: varies). */
    ti = d->lim->no_type_check ? NULL : ttlv_tag_lookup(h->tag);
    if (ti && ti->type != TTLV_ANY && ti->type != h->type)
        return fail(d, TTLV_E_TYPE, d->pos, h->tag);
    if (++d->items > d->lim->max_items)
        return fail(d, TTLV_E_ITEMS, d->pos, h->tag);
    if (e != TTLV_E_OK)
        return fail(d, e, d->pos, h->tag);
    /* 9.1.1.3: every value is padded to a multiple of 8 bytes. */
    h->padded = ((uint64_t)h->len + 7) & ~(uint64_t)7;
    if (h->padded > room - 8)
        return fail(d, d->depth ? TTLV_E_LENGTH : TTLV_E_TRUNCATED, d->pos, h->tag);
    if ((h->type == TTLV_TEXT_STRING || h->type == TTLV_BYTE_STRING ||
         h->type == TTLV_BIG_INTEGER) && h->len > d->lim->max_string)
        return fail(d, TTLV_E_SIZE, d->pos, h->tag);
    return TTLV_E_OK;
}

/* Check a primitive value (padding, Boolean, UTF-8) and store it in it. */
static ttlv_err read_value(dec *d, const hdr *h, const uint8_t *v, ttlv_item *it)
{
    size_t off = d->pos;

    switch (h->type) {
    case TTLV_INTEGER:
    case TTLV_ENUMERATION:
    case TTLV_INTERVAL:
        if (!all_zero(v + 4, 4))
            return fail(d, TTLV_E_PADDING, off, h->tag);
        it->v.u32 = cf_be32(v);
        if (h->type == TTLV_INTEGER)
            it->v.i32 = (int32_t)it->v.u32;
        return TTLV_E_OK;
    case TTLV_BOOLEAN: {
        uint64_t b = cf_be64(v);
        if (b > 1) /* 9.1.1.4: "either 0 (False) or 1 (True)" */
            return fail(d, TTLV_E_VALUE, off, h->tag);
        it->v.b = b == 1;
        return TTLV_E_OK;
    }
    case TTLV_LONG_INTEGER:
    case TTLV_DATE_TIME:
    case TTLV_DATE_TIME_EXT:
        it->v.i64 = (int64_t)cf_be64(v);
        return TTLV_E_OK;
    default:
        break;
    }
    /* Text String, Byte String, Big Integer. */
    if (!all_zero(v + h->len, (size_t)(h->padded - h->len)))
        return fail(d, TTLV_E_PADDING, off, h->tag);
    if (h->type == TTLV_TEXT_STRING && !utf8_valid(v, h->len))
        return fail(d, TTLV_E_VALUE, off, h->tag);
    {
        /* One byte more than the value: a NUL for Text Strings. */
        uint8_t *copy = cf_arena_alloc(d->a, (size_t)h->len + 1);
        if (copy == NULL)
            return fail(d, TTLV_E_NOMEM, off, h->tag);
        if (h->len)
            memcpy(copy, v, h->len);
        copy[h->len] = 0;
        it->v.s.p = copy;
        it->v.s.len = h->len;
    }
    return TTLV_E_OK;
}

static void link_child(dec *d, ttlv_item *it)
{
    if (d->depth == 0)
        return;
    ttlv_append(d->stack[d->depth - 1].s, it);
}

/* Decode the item at d->pos; on success *out is the new node. */
static ttlv_err decode_one(dec *d, ttlv_item **out)
{
    hdr h;
    ttlv_item *it;
    ttlv_err e;

    if ((e = read_header(d, &h)) != TTLV_E_OK)
        return e;
    /* Depth of this item = open structures + 1 (the outermost item is 1). */
    if (d->depth + 1 > d->lim->max_depth ||
        (h.type == TTLV_STRUCTURE && d->depth >= d->max_open))
        return fail(d, TTLV_E_DEPTH, d->pos, h.tag);
    it = cf_arena_calloc(d->a, sizeof *it);
    if (it == NULL)
        return fail(d, TTLV_E_NOMEM, d->pos, h.tag);
    it->tag = h.tag;
    it->type = h.type;
    if (h.type == TTLV_STRUCTURE) {
        link_child(d, it);
        d->stack[d->depth].s = it;
        d->stack[d->depth].end = d->pos + 8 + (size_t)h.len;
        d->depth++;
        d->pos += 8;
    } else {
        if ((e = read_value(d, &h, d->p + d->pos + 8, it)) != TTLV_E_OK)
            return e;
        link_child(d, it);
        d->pos += 8 + (size_t)h.padded;
    }
    *out = it;
    return TTLV_E_OK;
}

static ttlv_err decode_all(dec *d, ttlv_item **root)
{
    ttlv_item *it;
    ttlv_err e;

    if (d->len > d->lim->max_bytes)
        return fail(d, TTLV_E_SIZE, 0, 0);
    if ((e = decode_one(d, root)) != TTLV_E_OK)
        return e;
    for (;;) {
        /* Close every structure whose value has been consumed exactly. */
        while (d->depth && d->pos == d->stack[d->depth - 1].end)
            d->depth--;
        if (d->depth == 0)
            break;
        if ((e = decode_one(d, &it)) != TTLV_E_OK)
            return e;
    }
    if (d->pos != d->len)
        return fail(d, TTLV_E_TRAILING, d->pos, 0);
    return TTLV_E_OK;
}

static cf_status err_status(ttlv_err e)
{
    switch (e) {
    case TTLV_E_OK:
        return CF_OK;
    case TTLV_E_NOMEM:
        return CF_ERR_NOMEM;
    case TTLV_E_DEPTH:
    case TTLV_E_ITEMS:
    case TTLV_E_SIZE:
        return CF_ERR_LIMIT;
    default:
        return CF_ERR_INVALID_MSG;
    }
}

cf_status ttlv_decode(const uint8_t *p, size_t len, const ttlv_limits *lim, cf_arena *a,
                      ttlv_item **out, ttlv_error *err)
{
    dec d;
    ttlv_item *root = NULL;
    ttlv_err e;

    memset(&d, 0, sizeof d);
    d.p = p;
    d.len = p ? len : 0;
    d.lim = lim ? lim : &ttlv_default_limits;
    d.max_open = d.lim->max_depth < TTLV_WRITER_DEPTH_MAX ? d.lim->max_depth
                                                          : TTLV_WRITER_DEPTH_MAX;
    d.a = a;
    e = decode_all(&d, &root);
    if (err)
        *err = d.err;
    *out = e == TTLV_E_OK ? root : NULL;
    return err_status(e);
}
