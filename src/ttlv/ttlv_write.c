/*
 * ttlv_write.c - the streaming TTLV writer and tree encoder
 * (KMIP 1.4 and 2.1 section 9.1).
 *
 * Design: items go straight into a cf_buf. A Structure's header is written
 * with length 0 and its offset pushed; ttlv_w_end back-patches the length
 * once the children are written, so no second pass and no size
 * precomputation is needed. Every error is sticky (w->failed): callers
 * write a whole response and check ttlv_w_finish once. Space is reserved
 * for a whole item (header, value, padding) before any byte of it is
 * written, so a failed item never leaves a partial header behind.
 */
#include "ttlv/ttlv.h"

#include <string.h>

void ttlv_w_init(ttlv_writer *w, cf_buf *buf)
{
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->failed = buf == NULL || buf->failed;
}

/* Reserve room for n more bytes, recording why it failed. */
static bool reserve(ttlv_writer *w, uint64_t n)
{
    cf_buf *b = w->buf;

    if (w->failed)
        return false;
    if (n > SIZE_MAX || n > b->max || b->len > b->max - (size_t)n) {
        w->failed = w->too_large = true;
        return false;
    }
    if (!cf_buf_reserve(b, (size_t)n)) {
        w->failed = true;
        return false;
    }
    return true;
}

/* Header; the caller reserved 8 + padded value bytes. */
static void put_header(ttlv_writer *w, uint32_t tag, uint8_t type, uint32_t len)
{
    uint8_t h[8];
    h[0] = (uint8_t)(tag >> 16);
    h[1] = (uint8_t)(tag >> 8);
    h[2] = (uint8_t)tag;
    h[3] = type;
    cf_put_be32(h + 4, len);
    cf_buf_append(w->buf, h, sizeof h);
}

void ttlv_w_begin(ttlv_writer *w, uint32_t tag)
{
    if (w->failed)
        return;
    if (w->depth >= TTLV_WRITER_DEPTH_MAX) {
        w->failed = true;
        return;
    }
    if (!reserve(w, 8))
        return;
    w->stack[w->depth++] = w->buf->len;
    put_header(w, tag, TTLV_STRUCTURE, 0);
}

void ttlv_w_end(ttlv_writer *w)
{
    size_t off, len;

    if (w->failed)
        return;
    if (w->depth == 0) {
        w->failed = true;
        return;
    }
    off = w->stack[--w->depth];
    len = w->buf->len - off - 8;
    if (len > UINT32_MAX) {
        w->failed = true;
        return;
    }
    cf_put_be32(w->buf->p + off + 4, (uint32_t)len);
}

/* Integer, Enumeration, Interval: 4 bytes and 4 zero bytes of padding. */
static void put_u32(ttlv_writer *w, uint32_t tag, uint8_t type, uint32_t v)
{
    uint8_t val[8] = {0};
    if (!reserve(w, 16))
        return;
    put_header(w, tag, type, 4);
    cf_put_be32(val, v);
    cf_buf_append(w->buf, val, sizeof val);
}

static void put_u64(ttlv_writer *w, uint32_t tag, uint8_t type, uint64_t v)
{
    uint8_t val[8];
    if (!reserve(w, 16))
        return;
    put_header(w, tag, type, 8);
    cf_put_be64(val, v);
    cf_buf_append(w->buf, val, sizeof val);
}

void ttlv_w_int(ttlv_writer *w, uint32_t tag, int32_t v)
{
    put_u32(w, tag, TTLV_INTEGER, (uint32_t)v);
}

void ttlv_w_enum(ttlv_writer *w, uint32_t tag, uint32_t v) { put_u32(w, tag, TTLV_ENUMERATION, v); }

void ttlv_w_interval(ttlv_writer *w, uint32_t tag, uint32_t v) { put_u32(w, tag, TTLV_INTERVAL, v); }

void ttlv_w_long(ttlv_writer *w, uint32_t tag, int64_t v)
{
    put_u64(w, tag, TTLV_LONG_INTEGER, (uint64_t)v);
}

void ttlv_w_datetime(ttlv_writer *w, uint32_t tag, int64_t v)
{
    put_u64(w, tag, TTLV_DATE_TIME, (uint64_t)v);
}

void ttlv_w_bool(ttlv_writer *w, uint32_t tag, bool v) { put_u64(w, tag, TTLV_BOOLEAN, v ? 1 : 0); }

/* Text/Byte String: value then zero padding to a multiple of 8. */
static void put_string(ttlv_writer *w, uint32_t tag, uint8_t type, const void *p, size_t len)
{
    uint64_t pad = (8 - (uint64_t)len % 8) % 8;

    if (w->failed)
        return;
    if ((p == NULL && len) || (uint64_t)len > UINT32_MAX) {
        w->failed = true;
        return;
    }
    if (!reserve(w, 8 + (uint64_t)len + pad))
        return;
    put_header(w, tag, type, (uint32_t)len);
    cf_buf_append(w->buf, p, len);
    cf_buf_append_zeros(w->buf, (size_t)pad);
}

void ttlv_w_text(ttlv_writer *w, uint32_t tag, const char *s, size_t len)
{
    put_string(w, tag, TTLV_TEXT_STRING, s, len);
}

void ttlv_w_cstr(ttlv_writer *w, uint32_t tag, const char *s)
{
    if (s == NULL) {
        w->failed = true;
        return;
    }
    put_string(w, tag, TTLV_TEXT_STRING, s, strlen(s));
}

void ttlv_w_bytes(ttlv_writer *w, uint32_t tag, const uint8_t *p, size_t len)
{
    put_string(w, tag, TTLV_BYTE_STRING, p, len);
}

/* KMIP 1.4 9.1.1.4: a Big Integer is two's complement big-endian, "padded
 * with a minimal number of leading sign-extended bytes to make the length a
 * multiple of eight bytes". Zero bytes of input encode the value 0 as eight
 * zero bytes (a Big Integer cannot be empty). */
void ttlv_w_bigint(ttlv_writer *w, uint32_t tag, const uint8_t *p, size_t len)
{
    uint64_t pad = (8 - (uint64_t)len % 8) % 8;
    uint8_t fill;

    if (w->failed)
        return;
    if ((p == NULL && len) || (uint64_t)len + pad > UINT32_MAX) {
        w->failed = true;
        return;
    }
    if (len == 0)
        pad = 8;
    if (!reserve(w, 8 + (uint64_t)len + pad))
        return;
    fill = (len && (p[0] & 0x80)) ? 0xFF : 0x00;
    put_header(w, tag, TTLV_BIG_INTEGER, (uint32_t)(len + pad));
    for (uint64_t i = 0; i < pad; i++)
        cf_buf_append(w->buf, &fill, 1);
    cf_buf_append(w->buf, p, len);
}

static void write_at(ttlv_writer *w, const ttlv_item *it)
{
    switch (it->type) {
    case TTLV_STRUCTURE:
        ttlv_w_begin(w, it->tag);
        /* Recursion is bounded: begin fails beyond TTLV_WRITER_DEPTH_MAX. */
        for (const ttlv_item *c = it->first; c && !w->failed; c = c->next)
            write_at(w, c);
        ttlv_w_end(w);
        break;
    case TTLV_INTEGER: ttlv_w_int(w, it->tag, it->v.i32); break;
    case TTLV_ENUMERATION: ttlv_w_enum(w, it->tag, it->v.u32); break;
    case TTLV_INTERVAL: ttlv_w_interval(w, it->tag, it->v.u32); break;
    case TTLV_LONG_INTEGER: ttlv_w_long(w, it->tag, it->v.i64); break;
    case TTLV_DATE_TIME: ttlv_w_datetime(w, it->tag, it->v.i64); break;
    case TTLV_DATE_TIME_EXT: put_u64(w, it->tag, TTLV_DATE_TIME_EXT, (uint64_t)it->v.i64); break;
    case TTLV_BOOLEAN: ttlv_w_bool(w, it->tag, it->v.b); break;
    case TTLV_TEXT_STRING:
        put_string(w, it->tag, TTLV_TEXT_STRING, it->v.s.p, it->v.s.len);
        break;
    case TTLV_BYTE_STRING: ttlv_w_bytes(w, it->tag, it->v.s.p, it->v.s.len); break;
    case TTLV_BIG_INTEGER: ttlv_w_bigint(w, it->tag, it->v.s.p, it->v.s.len); break;
    default:
        w->failed = true;
        break;
    }
}

void ttlv_w_item(ttlv_writer *w, const ttlv_item *it)
{
    if (it == NULL) {
        w->failed = true;
        return;
    }
    write_at(w, it);
}

cf_status ttlv_w_finish(ttlv_writer *w)
{
    if (w->too_large)
        return CF_ERR_TOO_LARGE;
    if (w->buf == NULL || w->buf->failed)
        return CF_ERR_NOMEM;
    if (w->failed || w->depth != 0)
        return CF_ERR_INTERNAL;
    return CF_OK;
}

cf_status ttlv_encode(const ttlv_item *it, cf_buf *buf)
{
    ttlv_writer w;
    ttlv_w_init(&w, buf);
    ttlv_w_item(&w, it);
    return ttlv_w_finish(&w);
}
