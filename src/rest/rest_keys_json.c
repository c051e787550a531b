/*
 * rest_keys_json.c - the JSON side of /v1/keys: the Key document, the
 * request fields create and import share (name, usage, kind, tags), and
 * the material document.
 *
 * The Key document is read off the canonical attributes, so a key made or
 * changed over KMIP reads the same: "name" is the Name instance with the
 * lowest Attribute Index and "aliases" the others in index order; "kind"
 * is root exactly when Extractable is False (1.4 3.50, 2.1 4.23: the
 * material never leaves); "tags" are the "x-tag-*" custom attributes that
 * hold a Text String; public_key_id / private_key_id come from the Public
 * Key Link / Private Key Link a key pair carries (1.4 4.2).
 *
 * The material document is the one place key material meets JSON: it is
 * built directly in a secure-heap buffer (no jansson string of the key),
 * which the caller cleanses after the reply is queued.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>

#include "rest/rest_keys_int.h"
#include "util/limits.h"
#include "util/log.h"

const struct rest_name_map rest_key_usages[] = {
    {"sign", KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN},
    {"verify", KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY},
    {"encrypt", KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT},
    {"decrypt", KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT},
    {"wrap_key", KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY},
    {"unwrap_key", KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY},
    {"mac_generate", KMIP_CRYPTOGRAPHIC_USAGE_MASK_MAC_GENERATE},
    {"mac_verify", KMIP_CRYPTOGRAPHIC_USAGE_MASK_MAC_VERIFY},
    {"derive_key", KMIP_CRYPTOGRAPHIC_USAGE_MASK_DERIVE_KEY},
    {"key_agreement", KMIP_CRYPTOGRAPHIC_USAGE_MASK_KEY_AGREEMENT},
    {NULL, 0},
};

const struct rest_name_map rest_key_states[] = {
    {"pre_active", KMIP_STATE_PRE_ACTIVE},
    {"active", KMIP_STATE_ACTIVE},
    {"deactivated", KMIP_STATE_DEACTIVATED},
    {"compromised", KMIP_STATE_COMPROMISED},
    {"destroyed", KMIP_STATE_DESTROYED},
    {"destroyed_compromised", KMIP_STATE_DESTROYED_COMPROMISED},
    {NULL, 0},
};

const struct rest_name_map rest_key_types[] = {
    {"certificate", KMIP_OBJECT_TYPE_CERTIFICATE},
    {"symmetric_key", KMIP_OBJECT_TYPE_SYMMETRIC_KEY},
    {"public_key", KMIP_OBJECT_TYPE_PUBLIC_KEY},
    {"private_key", KMIP_OBJECT_TYPE_PRIVATE_KEY},
    {"split_key", KMIP_OBJECT_TYPE_SPLIT_KEY},
    {"secret_data", KMIP_OBJECT_TYPE_SECRET_DATA},
    {"opaque_object", KMIP_OBJECT_TYPE_OPAQUE_OBJECT},
    {"pgp_key", KMIP_OBJECT_TYPE_PGP_KEY},
    {"certificate_request", KMIP_OBJECT_TYPE_CERTIFICATE_REQUEST},
    {NULL, 0},
};

const char *rest_map_name(const struct rest_name_map *m, uint32_t v)
{
    for (; m->name; m++)
        if (m->value == v)
            return m->name;
    return "unknown";
}

bool rest_map_value(const struct rest_name_map *m, const char *name, uint32_t *out)
{
    for (; m->name; m++)
        if (strcmp(m->name, name) == 0) {
            *out = m->value;
            return true;
        }
    return false;
}

bool rest_bad_field(rest_call *c, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rest_reply_error(c->req, 400, "invalid_field", msg);
    return false;
}

bool rest_nomem(rest_call *c)
{
    rest_reply_status(c, CF_ERR_NOMEM);
    return false;
}

/* ------------------------------------------------------------------ tags */
bool rest_tag_key_valid(const char *k, size_t len)
{
    if (len == 0 || len > REST_TAG_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = k[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

bool rest_tags_check(rest_call *c, json_t *tags, bool allow_null)
{
    const char *k;
    json_t *v;

    if (!json_is_object(tags))
        return rest_bad_field(c, "field \"tags\" must be an object");
    if (json_object_size(tags) > REST_TAGS_MAX)
        return rest_bad_field(c, "field \"tags\": at most %d tags", REST_TAGS_MAX);
    json_object_foreach(tags, k, v) {
        if (!rest_tag_key_valid(k, strlen(k)))
            return rest_bad_field(c, "field \"tags\": tag key \"%.64s\" must be 1 to 64 of "
                                     "A-Z a-z 0-9 _ . -", k);
        if (json_is_null(v) && allow_null)
            continue;
        if (!json_is_string(v))
            return rest_bad_field(c, "field \"tags\": the value of \"%s\" must be a string%s", k,
                                  allow_null ? " or null" : "");
        if (json_string_length(v) > REST_TAG_VALUE_MAX)
            return rest_bad_field(c, "field \"tags\": the value of \"%s\" exceeds %d bytes", k,
                                  REST_TAG_VALUE_MAX);
    }
    return true;
}

const char *rest_tag_attr_name(cf_arena *a, const char *key)
{
    return cf_arena_sprintf(a, "%s%s", REST_TAG_PREFIX, key);
}

/* ------------------------------------------------------ attribute lists */
bool rest_attr_append(rest_call *c, ttlv_item *list, const char *name, ttlv_item *v)
{
    ttlv_item *attr = v ? core_attr_new(c->env->arena, name, 0, v) : NULL;
    if (attr == NULL)
        return rest_nomem(c);
    ttlv_append(list, attr);
    return true;
}

ttlv_item *rest_name_struct(cf_arena *a, const char *name)
{
    ttlv_item *n = ttlv_new_struct(a, KMIP_TAG_NAME);
    ttlv_item *nv = ttlv_new_text(a, KMIP_TAG_NAME_VALUE, name, strlen(name));
    ttlv_item *nt = ttlv_new_enum(a, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
    if (n == NULL || nv == NULL || nt == NULL)
        return NULL;
    ttlv_append(n, nv);
    ttlv_append(n, nt);
    return n;
}

bool rest_name_check(rest_call *c, const char *field, const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > CORE_NAME_MAX)
        return rest_bad_field(c, "field \"%s\": a name is 1 to %d bytes", field, CORE_NAME_MAX);
    return true;
}

bool rest_usage_mask(rest_call *c, json_t *arr, uint32_t dflt, uint32_t *out)
{
    size_t i;
    json_t *v;
    uint32_t bit, mask = 0;

    if (arr == NULL) {
        *out = dflt;
        return true;
    }
    if (json_array_size(arr) == 0)
        return rest_bad_field(c, "field \"usage\" must name at least one use");
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v) || !rest_map_value(rest_key_usages, json_string_value(v), &bit))
            return rest_bad_field(c, "field \"usage\": unknown use (encrypt, decrypt, wrap_key, "
                                     "unwrap_key, mac_generate, mac_verify, derive_key, sign, "
                                     "verify, key_agreement)");
        mask |= bit;
    }
    *out = mask;
    return true;
}

/* kind, and the deprecated extractable (false = root). */
static bool read_kind(rest_call *c, json_t *body, bool with_extractable, bool *root)
{
    const char *kind = NULL;
    bool extractable = true;

    *root = false;
    if (!rest_get_string(c, body, "kind", false, &kind) ||
        (with_extractable && !rest_get_bool(c, body, "extractable", &extractable)))
        return false;
    if (kind && strcmp(kind, "root") != 0 && strcmp(kind, "standard") != 0)
        return rest_bad_field(c, "field \"kind\" must be \"standard\" or \"root\"");
    *root = kind ? strcmp(kind, "root") == 0 : !extractable;
    if (kind && with_extractable && json_object_get(body, "extractable") && *root == extractable)
        return rest_bad_field(c, "fields \"kind\" and \"extractable\" disagree (a root key is "
                                 "the non-extractable kind)");
    return true;
}

bool rest_key_opts_read(rest_call *c, json_t *body, bool with_extractable, rest_key_opts *out)
{
    memset(out, 0, sizeof *out);
    if (!rest_get_string(c, body, "name", false, &out->name) ||
        !rest_get_array(c, body, "usage", &out->usage) ||
        !rest_get_bool(c, body, "activate", &out->activate) ||
        !read_kind(c, body, with_extractable, &out->root))
        return false;
    if (out->name && !rest_name_check(c, "name", out->name))
        return false;
    out->tags = json_object_get(body, "tags");
    return out->tags == NULL || rest_tags_check(c, out->tags, false);
}

static bool tags_attrs(rest_call *c, json_t *tags, ttlv_item *list)
{
    cf_arena *a = c->env->arena;
    const char *k;
    json_t *v;

    json_object_foreach(tags, k, v) {
        const char *name = rest_tag_attr_name(a, k);
        ttlv_item *tv = ttlv_new_text(a, KMIP_TAG_ATTRIBUTE_VALUE, json_string_value(v),
                                      json_string_length(v));
        if (name == NULL || !rest_attr_append(c, list, name, tv))
            return false;
    }
    return true;
}

bool rest_key_opts_attrs(rest_call *c, const rest_key_opts *o, bool with_name, uint32_t mask,
                         bool root, ttlv_item *list)
{
    cf_arena *a = c->env->arena;

    if (with_name && o->name && !rest_attr_append(c, list, "Name", rest_name_struct(a, o->name)))
        return false;
    if (mask != 0 && !rest_attr_append(c, list, "Cryptographic Usage Mask",
                                       ttlv_new_int(a, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)mask)))
        return false;
    if (root && !rest_attr_append(c, list, "Extractable",
                                  ttlv_new_bool(a, KMIP_TAG_ATTRIBUTE_VALUE, false)))
        return false;
    return o->tags == NULL || tags_attrs(c, o->tags, list);
}

/* ------------------------------------------------------------- metadata */
bool rest_key_names(cf_arena *a, const core_object *obj, rest_name_inst **out, size_t *out_n)
{
    size_t n = 0, cap = obj->attrs ? obj->attrs->nchildren : 0;
    rest_name_inst *v = cf_arena_calloc(a, (cap ? cap : 1) * sizeof *v);

    if (v == NULL)
        return false;
    for (const ttlv_item *it = cap ? obj->attrs->first : NULL; it; it = it->next) {
        const char *nm;
        size_t nl, k;
        int32_t i;
        const ttlv_item *val, *nv;
        if (!core_attr_parts(it, &nm, &nl, &i, &val) || nl != 4 || memcmp(nm, "Name", 4) != 0 ||
            (nv = ttlv_child(val, KMIP_TAG_NAME_VALUE)) == NULL || nv->type != TTLV_TEXT_STRING)
            continue;
        for (k = n; k > 0 && v[k - 1].index > i; k--) /* insertion by index */
            v[k] = v[k - 1];
        v[k].index = i;
        if ((v[k].value = cf_arena_strndup(a, (const char *)nv->v.s.p, nv->v.s.len)) == NULL)
            return false;
        n++;
    }
    *out = v;
    *out_n = n;
    return true;
}

static int add_names(cf_arena *a, json_t *o, const core_object *obj)
{
    rest_name_inst *v;
    size_t n;
    json_t *aliases;
    int r = 0;

    if (!rest_key_names(a, obj, &v, &n))
        return -1;
    if (n == 0)
        return 0;
    r |= json_object_set_new(o, "name", json_string(v[0].value));
    if (n == 1)
        return r;
    aliases = json_array();
    for (size_t k = 1; k < n && aliases; k++)
        r |= json_array_append_new(aliases, json_string(v[k].value));
    return r | json_object_set_new(o, "aliases", aliases);
}

/* "x-tag-*" Text String attributes; the first instance of a key wins.
 * Only what a REST client could have set is shown (the key syntax, value
 * size and count of rest_tags_check): a KMIP client may add other "x-tag-"
 * attributes, which stay KMIP attributes and do not break the document. */
static int add_tags(json_t *o, const core_object *obj)
{
    json_t *tags = json_object();
    int r = tags ? 0 : -1;

    for (const ttlv_item *it = obj->attrs ? obj->attrs->first : NULL; it && !r; it = it->next) {
        const char *nm;
        size_t nl;
        int32_t i;
        const ttlv_item *v;
        if (!core_attr_parts(it, &nm, &nl, &i, &v) || nl <= REST_TAG_PREFIX_LEN ||
            memcmp(nm, REST_TAG_PREFIX, REST_TAG_PREFIX_LEN) != 0 || v->type != TTLV_TEXT_STRING)
            continue;
        nm += REST_TAG_PREFIX_LEN;
        nl -= REST_TAG_PREFIX_LEN;
        if (!rest_tag_key_valid(nm, nl) || v->v.s.len > REST_TAG_VALUE_MAX ||
            json_object_size(tags) >= REST_TAGS_MAX)
            continue;
        if (json_object_getn(tags, nm, nl) == NULL)
            r |= json_object_setn_new(tags, nm, nl, json_stringn((const char *)v->v.s.p,
                                                                 v->v.s.len));
    }
    if (r == 0 && json_object_size(tags) > 0)
        return json_object_set_new(o, "tags", tags);
    json_decref(tags);
    return r;
}

/* Public Key Link -> public_key_id, Private Key Link -> private_key_id. */
static int add_links(json_t *o, const core_object *obj)
{
    int r = 0;
    for (const ttlv_item *it = obj->attrs ? obj->attrs->first : NULL; it; it = it->next) {
        const char *nm, *id, *key;
        size_t nl, il;
        int32_t i;
        const ttlv_item *v;
        uint32_t type;
        if (!core_attr_parts(it, &nm, &nl, &i, &v) || nl != 4 || memcmp(nm, "Link", 4) != 0 ||
            ttlv_get_enum(v, KMIP_TAG_LINK_TYPE, &type) != CF_OK ||
            ttlv_get_text(v, KMIP_TAG_LINKED_OBJECT_IDENTIFIER, &id, &il) != CF_OK)
            continue;
        key = type == KMIP_LINK_TYPE_PUBLIC_KEY_LINK    ? "public_key_id"
              : type == KMIP_LINK_TYPE_PRIVATE_KEY_LINK ? "private_key_id"
                                                        : NULL;
        if (key && json_object_get(o, key) == NULL)
            r |= json_object_set_new(o, key, json_stringn(id, il));
    }
    return r;
}

static int add_crypto(json_t *o, const core_object *obj)
{
    const ttlv_item *v;
    uint32_t curve;
    int r = 0;

    v = core_attr_find(obj, "Cryptographic Algorithm", 0);
    if (v && v->type == TTLV_ENUMERATION) {
        const ttlv_enum_info *e = ttlv_enum_lookup("Cryptographic Algorithm", v->v.u32);
        r |= json_object_set_new(o, "algorithm", json_string(e ? e->name : "unknown"));
    }
    v = core_attr_find(obj, "Cryptographic Length", 0);
    if (v && v->type == TTLV_INTEGER)
        r |= json_object_set_new(o, "length", json_integer(v->v.i32));
    v = core_attr_find(obj, "Cryptographic Domain Parameters", 0);
    if (v && ttlv_get_enum(v, KMIP_TAG_RECOMMENDED_CURVE, &curve) == CF_OK) {
        const ttlv_enum_info *e = ttlv_enum_lookup("Recommended Curve", curve);
        r |= json_object_set_new(o, "curve", json_string(e ? e->name : "unknown"));
    }
    v = core_attr_find(obj, "Cryptographic Usage Mask", 0);
    if (v && v->type == TTLV_INTEGER) {
        json_t *u = json_array();
        for (const struct rest_name_map *m = rest_key_usages; m->name && u; m++)
            if ((uint32_t)v->v.i32 & m->value)
                r |= json_array_append_new(u, json_string(m->name));
        r |= json_object_set_new(o, "usage", u);
    }
    return r;
}

json_t *rest_key_json(rest_call *c, core_object *obj)
{
    cf_arena *a = c->env->arena;
    uint32_t state = core_object_effective_state(obj, c->creq.now);
    const char *created = rest_time(a, obj->created), *updated = rest_time(a, obj->updated);
    const ttlv_item *x = core_attr_find(obj, "Extractable", 0);
    bool extractable = !(x && x->type == TTLV_BOOLEAN && !x->v.b);
    json_t *o;

    if (created == NULL || updated == NULL)
        return NULL;
    o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "id", obj->uid, "type",
                  rest_map_name(rest_key_types, obj->object_type), "state",
                  rest_map_name(rest_key_states, state), "created", created, "updated", updated,
                  "extractable", extractable, "kind", extractable ? "standard" : "root");
    if (o != NULL && (add_names(a, o, obj) != 0 || add_crypto(o, obj) != 0 ||
                      add_tags(o, obj) != 0 || add_links(o, obj) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

bool rest_key_load(rest_call *c, const char *uid, core_object **out)
{
    cf_status st = core_object_load(&c->creq, uid, out);
    if (st == CF_OK)
        st = core_req_authorize(&c->creq, CORE_ACT_READ_METADATA, *out);
    if (st != CF_OK) {
        rest_reply_status(c, st);
        return false;
    }
    return true;
}

void rest_key_reply(rest_call *c, const char *uid, int status)
{
    core_object *obj;
    if (rest_key_load(c, uid, &obj))
        rest_reply_json(c, status, rest_key_json(c, obj));
}

void rest_key_created(rest_call *c, const core_object *obj, const core_object *also,
                      bool activate)
{
    char loc[CF_LIMIT_UID + 16];
    cf_status st;

    if (activate && ((st = core_activate(&c->creq, obj->uid)) != CF_OK ||
                     (also && (st = core_activate(&c->creq, also->uid)) != CF_OK))) {
        rest_reply_status(c, st);
        return;
    }
    snprintf(loc, sizeof loc, "/v1/keys/%s", obj->uid);
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "Location", loc);
    rest_key_reply(c, obj->uid, 201);
}

/* ------------------------------------------------------------- material */
/* Base64 of p into dst (which has room); PEM breaks a line every 64
 * characters (48 bytes) with the JSON escape "\n". Returns the length. */
static size_t b64_json(uint8_t *dst, const uint8_t *p, size_t n, bool pem)
{
    size_t out = 0;
    if (!pem) {
        EVP_EncodeBlock(dst, p, (int)n);
        return 4 * ((n + 2) / 3);
    }
    for (size_t off = 0; off < n; off += 48) {
        size_t chunk = n - off < 48 ? n - off : 48;
        EVP_EncodeBlock(dst + out, p + off, (int)chunk);
        out += 4 * ((chunk + 2) / 3);
        memcpy(dst + out, "\\n", 2);
        out += 2;
    }
    return out;
}

cf_status rest_material_doc(const char *uid, const char *format, const char *pem_label,
                            const uint8_t *p, size_t n, cf_secret *out)
{
    json_t *id = json_string(uid);
    char *qid = id ? json_dumps(id, JSON_ENCODE_ANY) : NULL;
    size_t b64 = 4 * ((n + 2) / 3), lines = (n + 47) / 48, cap, len;
    size_t label = pem_label ? strlen(pem_label) : 0;
    cf_status st = CF_ERR_NOMEM;

    json_decref(id);
    if (qid == NULL)
        return CF_ERR_NOMEM;
    cap = strlen(qid) + strlen(format) + b64 + 2 * lines + 2 * label + 128;
    if (n > CF_LIMIT_KMIP_MESSAGE) { /* no key is that large: bounds the sizes above */
        st = CF_ERR_TOO_LARGE;
        goto out;
    }
    if (cf_secret_alloc(out, cap) != CF_OK)
        goto out;
    len = (size_t)snprintf((char *)out->p, cap, "{\"id\":%s,\"format\":\"%s\",\"material\":\"",
                           qid, format);
    if (pem_label)
        len += (size_t)snprintf((char *)out->p + len, cap - len, "-----BEGIN %s-----\\n",
                                pem_label);
    len += b64_json(out->p + len, p, n, pem_label != NULL);
    if (pem_label)
        len += (size_t)snprintf((char *)out->p + len, cap - len, "-----END %s-----\\n",
                                pem_label);
    memcpy(out->p + len, "\"}", 3);
    out->len = len + 2;
    st = CF_OK;
out:
    cf_json_free(qid);
    return st;
}

void rest_json_cleanse(json_t *s)
{
    if (json_is_string(s))
        cf_cleanse((char *)json_string_value(s), json_string_length(s));
}
