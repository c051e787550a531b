/*
 * bench_ttlv.h - the few KMIP tags and the tiny TTLV writer and reader shared by the
 * bench tools (kmip_bench, limit_server).
 *
 * The bench carries its own encoder on purpose: it must measure any KMIP
 * server (Coffre, PyKMIP, the no-op limit server) with exactly the same
 * bytes, and keep building while src/ttlv changes. Everything is static
 * inline so each tool takes what it uses. Errors are sticky: check
 * `failed` (and depth == 0) once at the end.
 */
#ifndef CF_BENCH_TTLV_H
#define CF_BENCH_TTLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BT_MSG_MAX 2048 /* the messages the bench writes are a few hundred bytes */

/* KMIP 1.4 section 9.1.3.1 tags used by the bench. */
#define TAG_ATTRIBUTE 0x420008u
#define TAG_ATTRIBUTE_NAME 0x42000Au
#define TAG_ATTRIBUTE_VALUE 0x42000Bu
#define TAG_BATCH_COUNT 0x42000Du
#define TAG_BATCH_ITEM 0x42000Fu
#define TAG_CRYPTOGRAPHIC_ALGORITHM 0x420028u
#define TAG_CRYPTOGRAPHIC_LENGTH 0x42002Au
#define TAG_KEY_BLOCK 0x420040u
#define TAG_KEY_FORMAT_TYPE 0x420042u
#define TAG_KEY_MATERIAL 0x420043u
#define TAG_KEY_VALUE 0x420045u
#define TAG_NAME 0x420053u
#define TAG_NAME_TYPE 0x420054u
#define TAG_NAME_VALUE 0x420055u
#define TAG_OBJECT_TYPE 0x420057u
#define TAG_OPERATION 0x42005Cu
#define TAG_PROTOCOL_VERSION 0x420069u
#define TAG_PROTOCOL_VERSION_MAJOR 0x42006Au
#define TAG_PROTOCOL_VERSION_MINOR 0x42006Bu
#define TAG_REQUEST_HEADER 0x420077u
#define TAG_REQUEST_MESSAGE 0x420078u
#define TAG_REQUEST_PAYLOAD 0x420079u
#define TAG_RESPONSE_HEADER 0x42007Au
#define TAG_RESPONSE_MESSAGE 0x42007Bu
#define TAG_RESPONSE_PAYLOAD 0x42007Cu
#define TAG_RESULT_MESSAGE 0x42007Du
#define TAG_RESULT_REASON 0x42007Eu
#define TAG_RESULT_STATUS 0x42007Fu
#define TAG_SYMMETRIC_KEY 0x42008Fu
#define TAG_TEMPLATE_ATTRIBUTE 0x420091u
#define TAG_TIME_STAMP 0x420092u
#define TAG_UNIQUE_IDENTIFIER 0x420094u

#define TYPE_STRUCTURE 0x01
#define TYPE_INTEGER 0x02
#define TYPE_ENUMERATION 0x05
#define TYPE_TEXT 0x07
#define TYPE_BYTES 0x08
#define TYPE_DATE_TIME 0x09

#define OP_CREATE 0x01u
#define OP_LOCATE 0x08u
#define OP_GET 0x0Au
#define OP_DISCOVER_VERSIONS 0x1Eu

struct bt_w {
    uint8_t b[BT_MSG_MAX];
    size_t len;
    size_t stack[8];
    unsigned depth;
    bool failed;
};

static inline void w_hdr(struct bt_w *w, uint32_t tag, uint8_t type, uint32_t len)
{
    if (w->failed || w->len + 8 > sizeof w->b) {
        w->failed = true;
        return;
    }
    uint8_t *p = w->b + w->len;
    p[0] = (uint8_t)(tag >> 16), p[1] = (uint8_t)(tag >> 8), p[2] = (uint8_t)tag, p[3] = type;
    p[4] = (uint8_t)(len >> 24), p[5] = (uint8_t)(len >> 16), p[6] = (uint8_t)(len >> 8);
    p[7] = (uint8_t)len;
    w->len += 8;
}

static inline void w_begin(struct bt_w *w, uint32_t tag)
{
    if (w->depth == sizeof w->stack / sizeof w->stack[0]) {
        w->failed = true;
        return;
    }
    w->stack[w->depth++] = w->len;
    w_hdr(w, tag, TYPE_STRUCTURE, 0);
}

static inline void w_end(struct bt_w *w)
{
    if (w->failed || w->depth == 0) {
        w->failed = true;
        return;
    }
    size_t at = w->stack[--w->depth];
    uint32_t len = (uint32_t)(w->len - at - 8);
    w->b[at + 4] = (uint8_t)(len >> 24), w->b[at + 5] = (uint8_t)(len >> 16);
    w->b[at + 6] = (uint8_t)(len >> 8), w->b[at + 7] = (uint8_t)len;
}

static inline void w_u32(struct bt_w *w, uint32_t tag, uint8_t type, uint32_t v)
{
    w_hdr(w, tag, type, 4);
    if (w->failed || w->len + 8 > sizeof w->b) {
        w->failed = true;
        return;
    }
    uint8_t *p = w->b + w->len;
    memset(p, 0, 8);
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
    w->len += 8;
}

static inline void w_text(struct bt_w *w, uint32_t tag, const char *s)
{
    size_t n = strlen(s), pad = (8 - n % 8) % 8;
    w_hdr(w, tag, TYPE_TEXT, (uint32_t)n);
    if (w->failed || w->len + n + pad > sizeof w->b) {
        w->failed = true;
        return;
    }
    memcpy(w->b + w->len, s, n);
    memset(w->b + w->len + n, 0, pad);
    w->len += n + pad;
}

static inline void w_bytes(struct bt_w *w, uint32_t tag, const uint8_t *v, size_t n)
{
    size_t pad = (8 - n % 8) % 8;
    w_hdr(w, tag, TYPE_BYTES, (uint32_t)n);
    if (w->failed || w->len + n + pad > sizeof w->b) {
        w->failed = true;
        return;
    }
    memcpy(w->b + w->len, v, n);
    memset(w->b + w->len + n, 0, pad);
    w->len += n + pad;
}

static inline void w_u64(struct bt_w *w, uint32_t tag, uint8_t type, uint64_t v)
{
    w_hdr(w, tag, type, 8);
    if (w->failed || w->len + 8 > sizeof w->b) {
        w->failed = true;
        return;
    }
    for (int i = 0; i < 8; i++)
        w->b[w->len + (size_t)i] = (uint8_t)(v >> (56 - 8 * i));
    w->len += 8;
}

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------- tiny TTLV reader */

struct bt_item {
    uint32_t tag;
    uint8_t type;
    const uint8_t *v; /* value */
    uint32_t len;     /* value length (unpadded) */
};

/* Next item of [*p, end): checks the header and the padded value fit. */
static inline bool r_next(const uint8_t **p, const uint8_t *end, struct bt_item *it)
{
    if ((size_t)(end - *p) < 8)
        return false;
    const uint8_t *h = *p;
    it->tag = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
    it->type = h[3];
    it->len = be32(h + 4);
    size_t padded = it->type == TYPE_STRUCTURE ? it->len : ((size_t)it->len + 7) / 8 * 8;
    if (padded > (size_t)(end - h - 8))
        return false;
    it->v = h + 8;
    *p = h + 8 + padded;
    return true;
}

/* First child with this tag in structure s (false if absent or malformed). */
static inline bool r_find(const struct bt_item *s, uint32_t tag, struct bt_item *out)
{
    const uint8_t *p = s->v, *end = s->v + s->len;
    while (p < end) {
        if (!r_next(&p, end, out))
            return false;
        if (out->tag == tag)
            return true;
    }
    return false;
}

/* Does any item below s, at most `depth` levels down, carry this tag? */
static inline bool r_contains(const struct bt_item *s, uint32_t tag, unsigned depth)
{
    const uint8_t *p = s->v, *end = s->v + s->len;
    struct bt_item it;
    while (p < end && r_next(&p, end, &it)) {
        if (it.tag == tag)
            return true;
        if (it.type == TYPE_STRUCTURE && depth > 0 && r_contains(&it, tag, depth - 1))
            return true;
    }
    return false;
}

static inline uint32_t r_u32(const struct bt_item *it)
{
    return it->len >= 4 ? be32(it->v) : 0;
}

#endif
