#include "util/mem.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

/* ---- secrets ---- */

bool cf_secret_heap_init(size_t size)
{
    if (CRYPTO_secure_malloc_initialized())
        return true;
    return CRYPTO_secure_malloc_init(size, 32) == 1;
}

cf_status cf_secret_alloc(cf_secret *s, size_t len)
{
    s->p = NULL;
    s->len = 0;
    if (len == 0)
        len = 1; /* a zero-length secret still gets a distinct pointer */
    s->p = OPENSSL_secure_zalloc(len);
    if (s->p == NULL)
        return CF_ERR_NOMEM;
    s->len = len;
    return CF_OK;
}

cf_status cf_secret_dup(cf_secret *s, const uint8_t *p, size_t len)
{
    cf_status st = cf_secret_alloc(s, len);
    if (st != CF_OK)
        return st;
    if (len)
        memcpy(s->p, p, len);
    s->len = len;
    return CF_OK;
}

void cf_secret_free(cf_secret *s)
{
    if (s == NULL || s->p == NULL)
        return;
    OPENSSL_secure_clear_free(s->p, s->len ? s->len : 1);
    s->p = NULL;
    s->len = 0;
}

void cf_cleanse(void *p, size_t len)
{
    if (p && len)
        OPENSSL_cleanse(p, len);
}

int cf_memeq_ct(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len);
}

/* ---- arena ---- */

struct block {
    struct block *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
};

struct cf_arena {
    struct block *head;   /* current block (most recent) */
    struct block *first;  /* kept across resets */
    size_t total;         /* bytes handed out since the last reset */
    size_t limit;
};

static struct block *block_new(size_t cap)
{
    struct block *b;
    if (cap > SIZE_MAX - sizeof *b)
        return NULL;
    b = malloc(sizeof *b + cap);
    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

cf_arena *cf_arena_new(size_t first_block, size_t limit)
{
    cf_arena *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    if (first_block < 256)
        first_block = 256;
    a->first = block_new(first_block);
    if (a->first == NULL) {
        free(a);
        return NULL;
    }
    a->head = a->first;
    a->limit = limit;
    return a;
}

void *cf_arena_alloc(cf_arena *a, size_t n)
{
    struct block *b = a->head;
    size_t need = (n + 15u) & ~(size_t)15u;
    void *p;

    if (need < n)
        return NULL;
    if (a->limit && (need > a->limit || a->total > a->limit - need))
        return NULL;
    if (b->cap - b->used < need) {
        size_t cap = b->cap * 2;
        if (cap < need)
            cap = need;
        if (cap > ((size_t)1 << 30) && need <= ((size_t)1 << 30))
            cap = (size_t)1 << 30;
        b = block_new(cap);
        if (b == NULL)
            return NULL;
        b->next = a->head;
        a->head = b;
    }
    p = b->data + b->used;
    b->used += need;
    a->total += need;
    return p;
}

void *cf_arena_calloc(cf_arena *a, size_t n)
{
    void *p = cf_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void *cf_arena_memdup(cf_arena *a, const void *src, size_t n)
{
    void *p = cf_arena_alloc(a, n ? n : 1);
    if (p && n)
        memcpy(p, src, n);
    return p;
}

char *cf_arena_strndup(cf_arena *a, const char *s, size_t n)
{
    char *p = cf_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *cf_arena_sprintf(cf_arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    p = cf_arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t cf_arena_used(const cf_arena *a) { return a->total; }

void cf_arena_reset(cf_arena *a)
{
    struct block *b = a->head;
    while (b != a->first) {
        struct block *next = b->next;
        OPENSSL_cleanse(b->data, b->used);
        free(b);
        b = next;
    }
    OPENSSL_cleanse(a->first->data, a->first->used);
    a->first->used = 0;
    a->head = a->first;
    a->total = 0;
}

void cf_arena_free(cf_arena *a)
{
    if (a == NULL)
        return;
    cf_arena_reset(a);
    free(a->first);
    free(a);
}

/* ---- buffer ---- */

void cf_buf_init(cf_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX;
    b->failed = false;
}

bool cf_buf_reserve(cf_buf *b, size_t extra)
{
    size_t cap;
    uint8_t *np;

    if (b->failed)
        return false;
    if (extra > b->max || b->len > b->max - extra) {
        b->failed = true;
        return false;
    }
    if (b->cap - b->len >= extra)
        return true;
    cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    /* Grow by copy so that the old bytes can be cleansed (realloc would not). */
    np = malloc(cap);
    if (np == NULL) {
        b->failed = true;
        return false;
    }
    if (b->len)
        memcpy(np, b->p, b->len);
    if (b->p) {
        OPENSSL_cleanse(b->p, b->len);
        free(b->p);
    }
    b->p = np;
    b->cap = cap;
    return true;
}

bool cf_buf_append(cf_buf *b, const void *p, size_t n)
{
    if (!cf_buf_reserve(b, n))
        return false;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return true;
}

bool cf_buf_append_zeros(cf_buf *b, size_t n)
{
    if (!cf_buf_reserve(b, n))
        return false;
    memset(b->p + b->len, 0, n);
    b->len += n;
    return true;
}

void cf_buf_reset(cf_buf *b)
{
    if (b->p)
        OPENSSL_cleanse(b->p, b->len);
    b->len = 0;
    b->failed = false;
}

void cf_buf_free(cf_buf *b)
{
    cf_buf_reset(b);
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

/* ---- the wiping allocator ---- */
typedef union cf_wipe_hdr {
    size_t n;
    max_align_t align;
} cf_wipe_hdr;

void *cf_wipe_malloc(size_t n)
{
    cf_wipe_hdr *h;
    if (n > SIZE_MAX - sizeof *h)
        return NULL;
    h = malloc(sizeof *h + n);
    if (h == NULL)
        return NULL;
    h->n = n;
    return h + 1;
}

void cf_wipe_free(void *p)
{
    cf_wipe_hdr *h;
    if (p == NULL)
        return;
    h = (cf_wipe_hdr *)p - 1;
    OPENSSL_cleanse(p, h->n);
    free(h);
}

void *cf_wipe_realloc(void *p, size_t n)
{
    void *q;
    size_t old;
    if (p == NULL)
        return cf_wipe_malloc(n);
    old = ((cf_wipe_hdr *)p - 1)->n;
    if ((q = cf_wipe_malloc(n)) == NULL)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    cf_wipe_free(p);
    return q;
}

char *cf_wipe_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = cf_wipe_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void *cf_wipe_calloc(size_t a, size_t b)
{
    void *p;
    if (b != 0 && a > SIZE_MAX / b)
        return NULL;
    if ((p = cf_wipe_malloc(a * b)) != NULL)
        memset(p, 0, a * b);
    return p;
}

void cf_json_free(void *p)
{
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    f(p);
}

char *cf_json_dumps_malloc(const json_t *o, size_t flags)
{
    char *text = json_dumps(o, flags), *copy = NULL;
    if (text != NULL && (copy = malloc(strlen(text) + 1)) != NULL)
        memcpy(copy, text, strlen(text) + 1);
    cf_json_free(text);
    return copy;
}
