/*
 * rest_keys.c - /v1/keys: create, list, get metadata, lifecycle, material.
 *
 * Each route is one core call (or two: create then activate), so the rules
 * are KMIP's rules: core checks the role, the tenant, the state machine
 * (1.4 section 3.22), Extractable and Sensitive. This file only maps JSON
 * to canonical attributes and core objects back to JSON. Metadata never
 * carries key material; /material is the one route that does, built in a
 * secure-heap buffer that is cleansed after the reply is queued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>

#include "rest/rest_int.h"
#include "util/limits.h"
#include "util/log.h"

struct name_map {
    const char *name;
    uint32_t value;
};

static const struct name_map usages[] = {
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

static const struct name_map states[] = {
    {"pre_active", KMIP_STATE_PRE_ACTIVE},
    {"active", KMIP_STATE_ACTIVE},
    {"deactivated", KMIP_STATE_DEACTIVATED},
    {"compromised", KMIP_STATE_COMPROMISED},
    {"destroyed", KMIP_STATE_DESTROYED},
    {"destroyed_compromised", KMIP_STATE_DESTROYED_COMPROMISED},
    {NULL, 0},
};

static const struct name_map types[] = {
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

static const struct name_map reasons[] = {
    {"unspecified", KMIP_REVOCATION_REASON_CODE_UNSPECIFIED},
    {"key_compromise", KMIP_REVOCATION_REASON_CODE_KEY_COMPROMISE},
    {"ca_compromise", KMIP_REVOCATION_REASON_CODE_CA_COMPROMISE},
    {"affiliation_changed", KMIP_REVOCATION_REASON_CODE_AFFILIATION_CHANGED},
    {"superseded", KMIP_REVOCATION_REASON_CODE_SUPERSEDED},
    {"cessation_of_operation", KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION},
    {"privilege_withdrawn", KMIP_REVOCATION_REASON_CODE_PRIVILEGE_WITHDRAWN},
    {NULL, 0},
};

static const char *map_name(const struct name_map *m, uint32_t v)
{
    for (; m->name; m++)
        if (m->value == v)
            return m->name;
    return "unknown";
}

static bool map_value(const struct name_map *m, const char *name, uint32_t *out)
{
    for (; m->name; m++)
        if (strcmp(m->name, name) == 0) {
            *out = m->value;
            return true;
        }
    return false;
}

static bool bad_field(rest_call *c, const char *msg)
{
    rest_reply_error(c->req, 400, "invalid_field", msg);
    return false;
}

/* ------------------------------------------------------------- metadata */
static cf_status add_attrs(json_t *o, const core_object *obj)
{
    const ttlv_item *v;
    const char *s;
    size_t n;
    int r = 0;

    v = core_attr_find(obj, "Name", 0);
    if (v && ttlv_get_text(v, KMIP_TAG_NAME_VALUE, &s, &n) == CF_OK)
        r |= json_object_set_new(o, "name", json_stringn(s, n));
    v = core_attr_find(obj, "Cryptographic Algorithm", 0);
    if (v && v->type == TTLV_ENUMERATION) {
        const ttlv_enum_info *e = ttlv_enum_lookup("Cryptographic Algorithm", v->v.u32);
        r |= json_object_set_new(o, "algorithm", json_string(e ? e->name : "unknown"));
    }
    v = core_attr_find(obj, "Cryptographic Length", 0);
    if (v && v->type == TTLV_INTEGER)
        r |= json_object_set_new(o, "length", json_integer(v->v.i32));
    v = core_attr_find(obj, "Cryptographic Usage Mask", 0);
    if (v && v->type == TTLV_INTEGER) {
        json_t *u = json_array();
        for (const struct name_map *m = usages; m->name && u; m++)
            if ((uint32_t)v->v.i32 & m->value)
                r |= json_array_append_new(u, json_string(m->name));
        r |= json_object_set_new(o, "usage", u);
    }
    v = core_attr_find(obj, "Extractable", 0);
    r |= json_object_set_new(o, "extractable",
                             json_boolean(!(v && v->type == TTLV_BOOLEAN && !v->v.b)));
    return r == 0 ? CF_OK : CF_ERR_NOMEM;
}

static json_t *key_json(rest_call *c, core_object *obj)
{
    cf_arena *a = c->env->arena;
    uint32_t state = core_object_effective_state(obj, c->creq.now);
    const char *created = rest_time(a, obj->created), *updated = rest_time(a, obj->updated);
    json_t *o;

    if (created == NULL || updated == NULL)
        return NULL;
    o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", obj->uid, "type",
                  map_name(types, obj->object_type), "state", map_name(states, state),
                  "created", created, "updated", updated);
    if (o != NULL && add_attrs(o, obj) != CF_OK) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Load a key visible to the caller and check the metadata right. */
static bool load(rest_call *c, core_object **out)
{
    cf_status st = core_object_load(&c->creq, c->params[0], out);
    if (st == CF_OK)
        st = core_req_authorize(&c->creq, CORE_ACT_READ_METADATA, *out);
    if (st != CF_OK) {
        rest_reply_status(c, st);
        return false;
    }
    return true;
}

static void reply_key(rest_call *c, int status)
{
    core_object *obj;
    if (load(c, &obj))
        rest_reply_json(c, status, key_json(c, obj));
}

/* --------------------------------------------------------------- create */
static bool usage_mask(rest_call *c, json_t *arr, int32_t *out)
{
    size_t i;
    json_t *v;
    uint32_t bit, mask = 0;

    if (arr == NULL) {
        *out = KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT | KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT;
        return true;
    }
    if (json_array_size(arr) == 0)
        return bad_field(c, "field \"usage\" must name at least one use");
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v) || !map_value(usages, json_string_value(v), &bit))
            return bad_field(c, "field \"usage\": unknown use (encrypt, decrypt, wrap_key, "
                                "unwrap_key, mac_generate, mac_verify, derive_key, sign, "
                                "verify, key_agreement)");
        mask |= bit;
    }
    *out = (int32_t)mask;
    return true;
}

static bool append_attr(rest_call *c, ttlv_item *list, const char *name, ttlv_item *v)
{
    ttlv_item *attr = v ? core_attr_new(c->env->arena, name, 0, v) : NULL;
    if (attr == NULL) {
        rest_reply_status(c, CF_ERR_NOMEM);
        return false;
    }
    ttlv_append(list, attr);
    return true;
}

static bool name_attr(rest_call *c, ttlv_item *list, const char *name)
{
    cf_arena *a = c->env->arena;
    ttlv_item *n = ttlv_new_struct(a, KMIP_TAG_NAME);
    ttlv_item *nv = ttlv_new_text(a, KMIP_TAG_NAME_VALUE, name, strlen(name));
    ttlv_item *nt = ttlv_new_enum(a, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
    if (n == NULL || nv == NULL || nt == NULL) {
        rest_reply_status(c, CF_ERR_NOMEM);
        return false;
    }
    ttlv_append(n, nv);
    ttlv_append(n, nt);
    return append_attr(c, list, "Name", n);
}

struct create_in {
    const char *name, *algorithm;
    json_int_t length;
    json_t *usage;
    bool activate, extractable;
};

static bool create_attrs(rest_call *c, const struct create_in *in, ttlv_item **out)
{
    cf_arena *a = c->env->arena;
    ttlv_item *list = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTES);
    int32_t mask;

    if (list == NULL) {
        rest_reply_status(c, CF_ERR_NOMEM);
        return false;
    }
    if (strcmp(in->algorithm, "AES") != 0)
        return bad_field(c, "field \"algorithm\" must be \"AES\"");
    if (in->length != 128 && in->length != 192 && in->length != 256)
        return bad_field(c, "field \"length\" must be 128, 192 or 256");
    if (in->name && (in->name[0] == '\0' || strlen(in->name) > CORE_NAME_MAX))
        return bad_field(c, "field \"name\" must be 1 to 200 bytes");
    if (!usage_mask(c, in->usage, &mask))
        return false;
    if (!append_attr(c, list, "Cryptographic Algorithm",
                     ttlv_new_enum(a, KMIP_TAG_ATTRIBUTE_VALUE, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES)) ||
        !append_attr(c, list, "Cryptographic Length",
                     ttlv_new_int(a, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)in->length)) ||
        !append_attr(c, list, "Cryptographic Usage Mask",
                     ttlv_new_int(a, KMIP_TAG_ATTRIBUTE_VALUE, mask)))
        return false;
    if (in->name && !name_attr(c, list, in->name))
        return false;
    if (!in->extractable &&
        !append_attr(c, list, "Extractable", ttlv_new_bool(a, KMIP_TAG_ATTRIBUTE_VALUE, false)))
        return false;
    *out = list;
    return true;
}

void rest_keys_create(rest_call *c)
{
    static const char *const fields[] = {"name", "algorithm", "length", "usage",
                                         "activate", "extractable", NULL};
    struct create_in in = {.extractable = true};
    json_t *body = NULL;
    ttlv_item *attrs;
    core_object *obj;
    cf_status st;
    char loc[CF_LIMIT_UID + 16];

    if (!rest_body(c, fields, false, &body))
        return;
    if (!rest_get_string(c, body, "name", false, &in.name) ||
        !rest_get_string(c, body, "algorithm", true, &in.algorithm) ||
        !rest_get_int(c, body, "length", true, &in.length) ||
        !rest_get_array(c, body, "usage", &in.usage) ||
        !rest_get_bool(c, body, "activate", &in.activate) ||
        !rest_get_bool(c, body, "extractable", &in.extractable) || !create_attrs(c, &in, &attrs))
        goto out;
    if ((st = core_create_symmetric_key(&c->creq, attrs, &obj)) != CF_OK ||
        (in.activate && (st = core_activate(&c->creq, obj->uid)) != CF_OK)) {
        rest_reply_status(c, st);
        goto out;
    }
    CF_LOGI("rest create %s by %s", obj->uid, c->creq.who->id);
    snprintf(loc, sizeof loc, "/v1/keys/%s", obj->uid);
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "Location", loc);
    c->params[0] = obj->uid;
    reply_key(c, 201);
out:
    json_decref(body);
}

/* ----------------------------------------------------------------- list */
static bool parse_count(rest_call *c, const char *s, const char *what, int64_t max, int32_t *out)
{
    char *end;
    long long v;
    char msg[96];

    if (s == NULL)
        return true;
    v = (s[0] >= '0' && s[0] <= '9') ? strtoll(s, &end, 10) : -1;
    if (v < 0 || *end != '\0' || v > max) {
        snprintf(msg, sizeof msg, "query parameter \"%s\" must be an integer 0..%lld", what,
                 (long long)max);
        return bad_field(c, msg);
    }
    *out = (int32_t)v;
    return true;
}

static bool list_criteria(rest_call *c, const char *name, const char *state, ttlv_item **out)
{
    ttlv_item *list = ttlv_new_struct(c->env->arena, KMIP_TAG_ATTRIBUTES);
    uint32_t sv;

    if (list == NULL) {
        rest_reply_status(c, CF_ERR_NOMEM);
        return false;
    }
    if (name && !name_attr(c, list, name))
        return false;
    if (state) {
        if (!map_value(states, state, &sv))
            return bad_field(c, "query parameter \"state\" is not a key state");
        if (!append_attr(c, list, "State",
                         ttlv_new_enum(c->env->arena, KMIP_TAG_ATTRIBUTE_VALUE, sv)))
            return false;
    }
    *out = list;
    return true;
}

void rest_keys_list(rest_call *c)
{
    static const char *const names[] = {"limit", "offset", "name", "state", NULL};
    const char *q[4];
    core_locate_opts opts = {.has_max_items = true, .max_items = 100};
    ttlv_item *criteria;
    const char **uids;
    size_t n;
    int64_t total;
    cf_status st;
    json_t *keys, *doc;

    if (!rest_query(c, names, q) || !parse_count(c, q[0], "limit", 1000, &opts.max_items) ||
        !parse_count(c, q[1], "offset", 1000000, &opts.offset_items) ||
        !list_criteria(c, q[2], q[3], &criteria))
        return;
    if ((st = core_locate(&c->creq, criteria, &opts, &uids, &n, &total)) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    keys = json_array();
    for (size_t i = 0; i < n && keys; i++) {
        core_object *obj;
        if ((st = core_object_load(&c->creq, uids[i], &obj)) != CF_OK) {
            json_decref(keys);
            rest_reply_status(c, st);
            return;
        }
        if (json_array_append_new(keys, key_json(c, obj)) != 0) {
            json_decref(keys);
            keys = NULL;
        }
    }
    doc = keys ? json_pack("{s:o,s:I,s:i,s:i}", "keys", keys, "total", (json_int_t)total,
                           "limit", (int)opts.max_items, "offset", (int)opts.offset_items)
               : NULL;
    rest_reply_json(c, 200, doc);
}

/* ------------------------------------------------------ get, lifecycle */
void rest_keys_get(rest_call *c)
{
    reply_key(c, 200);
}

void rest_keys_activate(rest_call *c)
{
    static const char *const fields[] = {NULL};
    json_t *body = NULL;
    cf_status st;

    if (!rest_body(c, fields, true, &body))
        return;
    json_decref(body);
    if ((st = core_activate(&c->creq, c->params[0])) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    reply_key(c, 200);
}

void rest_keys_revoke(rest_call *c)
{
    static const char *const fields[] = {"reason", "message", NULL};
    core_revocation rv = {0};
    const char *reason = NULL;
    json_t *body = NULL;
    cf_status st;

    if (!rest_body(c, fields, false, &body))
        return;
    if (!rest_get_string(c, body, "reason", true, &reason) ||
        !rest_get_string(c, body, "message", false, &rv.message))
        goto out;
    if (!map_value(reasons, reason, &rv.code)) {
        bad_field(c, "field \"reason\" is not a revocation reason");
        goto out;
    }
    if ((st = core_revoke(&c->creq, c->params[0], &rv)) != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    reply_key(c, 200);
out:
    json_decref(body);
}

void rest_keys_destroy(rest_call *c)
{
    cf_status st = core_destroy(&c->creq, c->params[0]);
    if (st != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    reply_key(c, 200);
}

/* ------------------------------------------------------------- material */
/* {"id":<id>,"format":"raw","material":"<base64>"} in a secure buffer. */
static cf_status material_text(const char *uid, const cf_secret *key, cf_secret *out)
{
    json_t *id = json_string(uid);
    char *qid = id ? json_dumps(id, JSON_ENCODE_ANY) : NULL;
    size_t b64 = 4 * ((key->len + 2) / 3), n;
    cf_status st = CF_ERR_NOMEM;

    json_decref(id);
    if (qid == NULL)
        return CF_ERR_NOMEM;
    n = strlen(qid) + b64 + 64;
    if (cf_secret_alloc(out, n) != CF_OK)
        goto out;
    n = (size_t)snprintf((char *)out->p, n, "{\"id\":%s,\"format\":\"raw\",\"material\":\"", qid);
    EVP_EncodeBlock(out->p + n, key->p, (int)key->len);
    n += b64;
    memcpy(out->p + n, "\"}", 3);
    out->len = n + 2;
    st = CF_OK;
out:
    free(qid);
    return st;
}

void rest_keys_material(rest_call *c)
{
    core_object *obj;
    cf_secret key = {0}, text = {0};
    cf_status st;

    if ((st = core_object_load(&c->creq, c->params[0], &obj)) != CF_OK ||
        (st = core_object_check_export(&c->creq, obj, false)) != CF_OK)
        goto fail;
    if (obj->object_type != KMIP_OBJECT_TYPE_SYMMETRIC_KEY) {
        st = core_fail(&c->creq, CF_ERR_OBJECT_TYPE, "material is served for symmetric keys only");
        goto fail;
    }
    if ((st = core_object_material(&c->creq, obj, &key)) != CF_OK ||
        (st = material_text(obj->uid, &key, &text)) != CF_OK ||
        (st = core_object_served(&c->creq, obj)) != CF_OK)
        goto fail;
    CF_LOGI("rest material %s by %s", obj->uid, c->creq.who->id);
    rest_reply_raw(c->req, 200, (const char *)text.p, text.len);
    goto out;
fail:
    rest_reply_status(c, st);
out:
    cf_secret_free(&key);
    cf_secret_free(&text);
}

/* ------------------------------------------------ stubs (being written) */
void rest_keys_update(rest_call *c)
{
    rest_reply_error(c->req, 501, "not_implemented", "not implemented yet");
}

void rest_keys_deactivate(rest_call *c)
{
    rest_reply_error(c->req, 501, "not_implemented", "not implemented yet");
}
