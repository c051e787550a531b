/*
 * mem.h - secrets, per-request arenas and growable byte buffers.
 *
 * cf_secret: key material. Allocated from OpenSSL's secure heap when it is
 *   initialised (cf_secret_heap_init), cleansed and freed by cf_secret_free.
 *   Never log its contents.
 * cf_arena: owns everything decoded from one request. It may hold key
 *   material (decoded Key Material byte strings), so every byte handed out
 *   is cleansed on reset and on free. Reset keeps the first block so a
 *   connection reuses it without heap churn.
 * cf_buf: a growable output buffer with a hard maximum; errors are sticky
 *   (cf_buf.failed) so writers can check once at the end. It may hold key
 *   material (a Get response): cf_buf_reset/cf_buf_free cleanse it.
 */
#ifndef CF_MEM_H
#define CF_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

/* ---- secrets ---- */
typedef struct cf_secret {
    uint8_t *p;
    size_t len;
} cf_secret;

/* Initialise OpenSSL's secure heap (mlock'ed). Returns false when the
 * platform refuses (e.g. RLIMIT_MEMLOCK); secrets then come from the normal
 * heap and are still cleansed on free. */
bool cf_secret_heap_init(size_t size);
cf_status cf_secret_alloc(cf_secret *s, size_t len);
cf_status cf_secret_dup(cf_secret *s, const uint8_t *p, size_t len);
void cf_secret_free(cf_secret *s);
void cf_cleanse(void *p, size_t len);
/* A malloc family that cleanses every block on free (the size is kept in
 * a header): for libraries that hold secrets in their own allocations —
 * jansson's parsed request bodies and built replies, libcurl's buffers —
 * through json_set_alloc_funcs / curl_global_init_mem. */
void *cf_wipe_malloc(size_t n);
void cf_wipe_free(void *p);
void *cf_wipe_realloc(void *p, size_t n);
char *cf_wipe_strdup(const char *s);
void *cf_wipe_calloc(size_t a, size_t b);

/* Free what jansson allocated for the caller (json_dumps' text) with
 * jansson's free, whichever allocator it was given. */
void cf_json_free(void *p);
/* json_dumps into malloc'd memory (the caller free()s it), for results
 * that outlive the call and are freed far from jansson. */
struct json_t;
char *cf_json_dumps_malloc(const struct json_t *o, size_t flags);

/* Constant-time comparison: 0 when equal. */
int cf_memeq_ct(const void *a, const void *b, size_t len);

/* ---- arena ---- */
typedef struct cf_arena cf_arena;

/* limit: the most bytes the arena may hand out before failing (0 = none). */
cf_arena *cf_arena_new(size_t first_block, size_t limit);
void *cf_arena_alloc(cf_arena *a, size_t n);          /* 16-byte aligned, NULL on failure */
void *cf_arena_calloc(cf_arena *a, size_t n);
void *cf_arena_memdup(cf_arena *a, const void *p, size_t n);
char *cf_arena_strndup(cf_arena *a, const char *s, size_t n); /* NUL-terminated copy */
char *cf_arena_sprintf(cf_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t cf_arena_used(const cf_arena *a);
void cf_arena_reset(cf_arena *a);
void cf_arena_free(cf_arena *a);

/* ---- growable buffer ---- */
typedef struct cf_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max;   /* hard maximum length, 0 = SIZE_MAX */
    bool failed;  /* sticky: an append failed (memory or max) */
} cf_buf;

void cf_buf_init(cf_buf *b, size_t max);
bool cf_buf_reserve(cf_buf *b, size_t extra);
bool cf_buf_append(cf_buf *b, const void *p, size_t n);
bool cf_buf_append_zeros(cf_buf *b, size_t n);
void cf_buf_reset(cf_buf *b);   /* cleanse, keep capacity */
void cf_buf_free(cf_buf *b);    /* cleanse, release */

/* ---- big-endian helpers ---- */
static inline uint32_t cf_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t cf_be64(const uint8_t *p)
{
    return ((uint64_t)cf_be32(p) << 32) | cf_be32(p + 4);
}
static inline void cf_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void cf_put_be64(uint8_t *p, uint64_t v)
{
    cf_put_be32(p, (uint32_t)(v >> 32));
    cf_put_be32(p + 4, (uint32_t)v);
}

#endif
