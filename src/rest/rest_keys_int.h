/*
 * rest_keys_int.h - what the /v1/keys files share (rest_keys.c: routes;
 * rest_keys_json.c: Key JSON, the request fields create and import share,
 * tags, material documents; rest_keys_import.c: import).
 *
 * Helpers returning bool have replied (a JSON error) when they return
 * false: handlers just return.
 */
#ifndef CF_REST_KEYS_INT_H
#define CF_REST_KEYS_INT_H

#include "rest/rest_int.h"

struct rest_name_map {
    const char *name;
    uint32_t value;
};

/* JSON names <-> KMIP values; each table ends with {NULL, 0}. */
extern const struct rest_name_map rest_key_usages[]; /* Cryptographic Usage Mask bits */
extern const struct rest_name_map rest_key_states[]; /* State */
extern const struct rest_name_map rest_key_types[];  /* Object Type */
const char *rest_map_name(const struct rest_name_map *m, uint32_t v); /* "unknown" */
bool rest_map_value(const struct rest_name_map *m, const char *name, uint32_t *out);

/* 400 invalid_field with a printf message; false. */
bool rest_bad_field(rest_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 503 resource_exhausted; false. */
bool rest_nomem(rest_call *c);

/* Tags: KMIP custom attributes "x-tag-<key>" holding a Text String, so
 * KMIP clients see them (1.4 section 3.39: "x-" names are the client's). */
#define REST_TAG_PREFIX "x-tag-"
#define REST_TAG_PREFIX_LEN 6
#define REST_TAG_KEY_MAX 64
#define REST_TAG_VALUE_MAX 256
#define REST_TAGS_MAX 32
/* Names after the first (aliases) per key: well under CF_LIMIT_OBJECT_ATTRS. */
#define REST_ALIASES_MAX 32

/* [A-Za-z0-9_.-]{1,64} */
bool rest_tag_key_valid(const char *k, size_t len);
/* A tags object of create/import (values strings) or PATCH (values strings
 * or null when allow_null): keys, value sizes and count checked. */
bool rest_tags_check(rest_call *c, json_t *tags, bool allow_null);
/* "x-tag-<key>" in the arena; NULL when out of memory. */
const char *rest_tag_attr_name(cf_arena *a, const char *key);

/* ------------------------------------------------ attribute list builders */
/* Append Attribute{name, 0, v} to list (v NULL: out of memory -> 503). */
bool rest_attr_append(rest_call *c, ttlv_item *list, const char *name, ttlv_item *v);
/* A Name structure {Name Value, Uninterpreted Text String}; NULL: no memory. */
ttlv_item *rest_name_struct(cf_arena *a, const char *name);
/* 1..CORE_NAME_MAX bytes; 400 naming `field` otherwise. */
bool rest_name_check(rest_call *c, const char *field, const char *name);

/* The fields create and import share. */
typedef struct rest_key_opts {
    const char *name;   /* NULL: none */
    json_t *usage;      /* array, or NULL for the algorithm's default */
    json_t *tags;       /* object (checked), or NULL */
    bool activate;
    bool root;          /* kind "root" (or the deprecated extractable false) */
} rest_key_opts;

/* name, usage, activate, kind, tags (and, for create, the deprecated
 * "extractable": false is kind root, contradicting kind is 400). */
bool rest_key_opts_read(rest_call *c, json_t *body, bool with_extractable, rest_key_opts *out);
/* The usage array as a Cryptographic Usage Mask; dflt when arr is NULL. */
bool rest_usage_mask(rest_call *c, json_t *arr, uint32_t dflt, uint32_t *out);
/* Append to list: the Name (when with_name and set), the Usage Mask (when
 * mask != 0), Extractable False (when root) and the tags. */
bool rest_key_opts_attrs(rest_call *c, const rest_key_opts *o, bool with_name, uint32_t mask,
                         bool root, ttlv_item *list);

/* A key's Name values in Attribute Index order (the first is its name,
 * the others its aliases), in the arena. false: out of memory. */
typedef struct rest_name_inst {
    const char *value;  /* NUL-terminated copy */
    int32_t index;
} rest_name_inst;
bool rest_key_names(cf_arena *a, const core_object *obj, rest_name_inst **out, size_t *out_n);

/* ---------------------------------------------------------------- replies */
/* The Key JSON of obj; NULL when out of memory. Never key material. */
json_t *rest_key_json(rest_call *c, core_object *obj);
/* Load a key visible to the caller with the metadata right. */
bool rest_key_load(rest_call *c, const char *uid, core_object **out);
/* Reload uid and reply its Key JSON with status. */
void rest_key_reply(rest_call *c, const char *uid, int status);
/* After create or import: activate obj (and `also`, the public half of a
 * pair, may be NULL) when asked, then 201 with Location and obj's Key. */
void rest_key_created(rest_call *c, const core_object *obj, const core_object *also,
                      bool activate);

/* {"id":uid,"format":format,"material":...} in a secure-heap buffer: the
 * base64 of p (pem_label NULL), or its PEM text (RFC 7468) with pem_label.
 * The caller frees *out with cf_secret_free. */
cf_status rest_material_doc(const char *uid, const char *format, const char *pem_label,
                            const uint8_t *p, size_t n, cf_secret *out);

/* Cleanse the bytes of a JSON string value in place (key material the
 * client sent) before the document is released. */
void rest_json_cleanse(json_t *s);

#endif
