/*
 * ttlv_dict.c - the tag/enumeration dictionary, expanded from ttlv_dict.def.
 *
 * Design: the .def lists tags sorted by value and enumeration values sorted
 * by (enumeration name, value), then bit masks sorted the same way; both
 * orders are what the generator emits and what the unit tests re-check.
 * Lookups by value are a bsearch over those static tables. Lookups by name
 * go through index arrays sorted by name, built once (pthread_once, so the
 * first call may come from any worker thread) from the static tables; the
 * build allocates nothing (fixed-size static arrays). Bit masks share the
 * value table with enumerations ("Cryptographic Usage Mask"/"Encrypt").
 * The 2.x "Tag" enumeration is the tag table itself and has no rows here:
 * use ttlv_tag_lookup for it.
 */
#include "ttlv/ttlv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const ttlv_tag_info tag_table[] = {
#define TTLV_TAG(sym, tag, name, type, since, until, enum_name) \
    {tag, name, type, since, until, enum_name},
#define TTLV_ENUM(esym, vsym, value, enum_name, name, since, until)
#define TTLV_MASK(msym, bsym, bit, mask_name, name, since, until)
#include "ttlv/ttlv_dict.def"
#undef TTLV_TAG
#undef TTLV_ENUM
#undef TTLV_MASK
};

#define TAG_COUNT (sizeof tag_table / sizeof tag_table[0])

/* Enumeration rows first, then mask rows: two separately sorted runs. */
static const ttlv_enum_info enum_table[] = {
#define TTLV_TAG(sym, tag, name, type, since, until, enum_name)
#define TTLV_ENUM(esym, vsym, value, enum_name, name, since, until) \
    {enum_name, value, name, since, until},
#define TTLV_MASK(msym, bsym, bit, mask_name, name, since, until)
#include "ttlv/ttlv_dict.def"
#undef TTLV_ENUM
#define TTLV_ENUM(esym, vsym, value, enum_name, name, since, until)
#undef TTLV_MASK
#define TTLV_MASK(msym, bsym, bit, mask_name, name, since, until) \
    {mask_name, bit, name, since, until},
#include "ttlv/ttlv_dict.def"
#undef TTLV_TAG
#undef TTLV_ENUM
#undef TTLV_MASK
};

#define ENUM_COUNT (sizeof enum_table / sizeof enum_table[0])

static const size_t enum_only_count = 0
#define TTLV_TAG(sym, tag, name, type, since, until, enum_name)
#define TTLV_ENUM(esym, vsym, value, enum_name, name, since, until) + 1
#define TTLV_MASK(msym, bsym, bit, mask_name, name, since, until)
#include "ttlv/ttlv_dict.def"
#undef TTLV_TAG
#undef TTLV_ENUM
#undef TTLV_MASK
    ;

/* ------------------------------------------------------------ by value */

static int cmp_tag_key(const void *key, const void *elem)
{
    uint32_t k = *(const uint32_t *)key;
    uint32_t t = ((const ttlv_tag_info *)elem)->tag;
    return k < t ? -1 : k > t;
}

const ttlv_tag_info *ttlv_tag_lookup(uint32_t tag)
{
    return bsearch(&tag, tag_table, TAG_COUNT, sizeof tag_table[0], cmp_tag_key);
}

struct enum_key {
    const char *enum_name;
    uint32_t value;
};

static int cmp_enum_key(const void *key, const void *elem)
{
    const struct enum_key *k = key;
    const ttlv_enum_info *e = elem;
    int c = strcmp(k->enum_name, e->enum_name);
    if (c)
        return c;
    return k->value < e->value ? -1 : k->value > e->value;
}

const ttlv_enum_info *ttlv_enum_lookup(const char *enum_name, uint32_t value)
{
    struct enum_key k = {enum_name, value};
    const ttlv_enum_info *e;

    if (enum_name == NULL)
        return NULL;
    e = bsearch(&k, enum_table, enum_only_count, sizeof enum_table[0], cmp_enum_key);
    if (e == NULL)
        e = bsearch(&k, enum_table + enum_only_count, ENUM_COUNT - enum_only_count,
                    sizeof enum_table[0], cmp_enum_key);
    return e;
}

/* ------------------------------------------------------------- by name */

static const ttlv_tag_info *tag_by_name[TAG_COUNT];
static const ttlv_enum_info *enum_by_name[ENUM_COUNT];
static pthread_once_t name_index_once = PTHREAD_ONCE_INIT;

static int cmp_tag_names(const void *a, const void *b)
{
    const ttlv_tag_info *x = *(const ttlv_tag_info *const *)a;
    const ttlv_tag_info *y = *(const ttlv_tag_info *const *)b;
    return strcmp(x->name, y->name);
}

static int cmp_enum_names(const void *a, const void *b)
{
    const ttlv_enum_info *x = *(const ttlv_enum_info *const *)a;
    const ttlv_enum_info *y = *(const ttlv_enum_info *const *)b;
    int c = strcmp(x->enum_name, y->enum_name);
    return c ? c : strcmp(x->name, y->name);
}

static void build_name_index(void)
{
    for (size_t i = 0; i < TAG_COUNT; i++)
        tag_by_name[i] = &tag_table[i];
    qsort(tag_by_name, TAG_COUNT, sizeof tag_by_name[0], cmp_tag_names);
    for (size_t i = 0; i < ENUM_COUNT; i++)
        enum_by_name[i] = &enum_table[i];
    qsort(enum_by_name, ENUM_COUNT, sizeof enum_by_name[0], cmp_enum_names);
}

struct name_key {
    const char *p;
    size_t len;
};

/* Compare a counted string with a NUL-terminated one, like strcmp. */
static int cmp_counted(const struct name_key *k, const char *s)
{
    size_t n = strlen(s);
    int c = memcmp(k->p, s, k->len < n ? k->len : n);
    if (c)
        return c;
    return k->len < n ? -1 : k->len > n;
}

static int cmp_tag_name_key(const void *key, const void *elem)
{
    return cmp_counted(key, (*(const ttlv_tag_info *const *)elem)->name);
}

const ttlv_tag_info *ttlv_tag_by_name(const char *name, size_t len)
{
    struct name_key k = {name, len};
    const ttlv_tag_info *const *hit;

    if (name == NULL)
        return NULL;
    pthread_once(&name_index_once, build_name_index);
    hit = bsearch(&k, tag_by_name, TAG_COUNT, sizeof tag_by_name[0], cmp_tag_name_key);
    return hit ? *hit : NULL;
}

struct enum_name_key {
    const char *enum_name;
    const char *name;
};

static int cmp_enum_name_key(const void *key, const void *elem)
{
    const struct enum_name_key *k = key;
    const ttlv_enum_info *e = *(const ttlv_enum_info *const *)elem;
    int c = strcmp(k->enum_name, e->enum_name);
    return c ? c : strcmp(k->name, e->name);
}

const ttlv_enum_info *ttlv_enum_by_name(const char *enum_name, const char *name)
{
    struct enum_name_key k = {enum_name, name};
    const ttlv_enum_info *const *hit;

    if (enum_name == NULL || name == NULL)
        return NULL;
    pthread_once(&name_index_once, build_name_index);
    hit = bsearch(&k, enum_by_name, ENUM_COUNT, sizeof enum_by_name[0], cmp_enum_name_key);
    return hit ? *hit : NULL;
}

/* ------------------------------------------------------------ versions */

bool ttlv_tag_in_version(const ttlv_tag_info *ti, uint16_t ver)
{
    return ti != NULL && ti->since <= ver && (ti->until == 0 || ver <= ti->until);
}

/* ----------------------------------------------------------- iteration */

size_t ttlv_tag_count(void) { return TAG_COUNT; }

const ttlv_tag_info *ttlv_tag_at(size_t i) { return i < TAG_COUNT ? &tag_table[i] : NULL; }

size_t ttlv_enum_count(void) { return ENUM_COUNT; }

const ttlv_enum_info *ttlv_enum_at(size_t i) { return i < ENUM_COUNT ? &enum_table[i] : NULL; }
