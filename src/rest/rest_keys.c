/*
 * rest_keys.c - /v1/keys: create, list, get metadata, lifecycle, material.
 *
 * Each route is one core call (or a few: create then activate), so the
 * rules are KMIP's rules: core checks the role, the tenant, the state
 * machine (1.4 section 3.22), Extractable and Sensitive. This file only
 * maps JSON to canonical attributes; rest_keys_json.c maps core objects
 * back to JSON, rest_keys_update.c is PATCH, rest_keys_import.c import.
 * Metadata never carries key material; /material is the one route that
 * does, built in a secure-heap buffer that is cleansed after the reply is
 * queued.
 *
 * Algorithms offered by create (the contract's list, narrower than what
 * KMIP Create accepts): AES 128/192/256, HMAC-SHA256/384/512 (128..512
 * bits), and key pairs through Create Key Pair: RSA 2048/3072/4096, EC
 * P-256/P-384/P-521. A pair answers with its private key; the public key
 * gets the public halves of the usage (sign -> verify, decrypt -> encrypt,
 * unwrap_key -> wrap_key), the tags, never the name (names are unique).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest/rest_keys_int.h"
#include "util/limits.h"
#include "util/log.h"

#define U(bit) KMIP_CRYPTOGRAPHIC_USAGE_MASK_##bit

enum alg_family { FAM_AES, FAM_HMAC, FAM_RSA, FAM_EC };

static const struct alg_spec {
    const char *name;
    uint32_t alg;
    enum alg_family family;
    int32_t dflt_len;        /* 0: required (AES) or from the curve (EC) */
    uint32_t dflt_usage;
} alg_specs[] = {
    {"AES", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, FAM_AES, 0, U(ENCRYPT) | U(DECRYPT)},
    {"HMAC-SHA256", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256, FAM_HMAC, 256,
     U(MAC_GENERATE) | U(MAC_VERIFY)},
    {"HMAC-SHA384", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA384, FAM_HMAC, 384,
     U(MAC_GENERATE) | U(MAC_VERIFY)},
    {"HMAC-SHA512", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA512, FAM_HMAC, 512,
     U(MAC_GENERATE) | U(MAC_VERIFY)},
    {"RSA", KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, FAM_RSA, 3072, U(SIGN) | U(VERIFY)},
    {"EC", KMIP_CRYPTOGRAPHIC_ALGORITHM_EC, FAM_EC, 0, U(SIGN) | U(VERIFY)},
};

static const struct rest_name_map curves[] = {
    {"P-256", KMIP_RECOMMENDED_CURVE_P_256},
    {"P-384", KMIP_RECOMMENDED_CURVE_P_384},
    {"P-521", KMIP_RECOMMENDED_CURVE_P_521},
    {NULL, 0},
};

/* --------------------------------------------------------------- create */
struct create_in {
    const struct alg_spec *spec;
    const char *curve_name;
    json_int_t length;      /* 0: not given */
    uint32_t curve;
    uint32_t mask;
    rest_key_opts o;
};

static bool check_length(rest_call *c, struct create_in *in)
{
    const struct alg_spec *s = in->spec;
    int32_t bits = 0;

    if (in->curve_name && s->family != FAM_EC)
        return rest_bad_field(c, "field \"curve\" is for EC keys only");
    switch (s->family) {
    case FAM_AES:
        if (in->length == 0) {
            rest_reply_error(c->req, 400, "missing_data", "field \"length\" is required for AES");
            return false;
        }
        if (in->length != 128 && in->length != 192 && in->length != 256)
            return rest_bad_field(c, "field \"length\" must be 128, 192 or 256 for AES");
        return true;
    case FAM_HMAC:
        if (in->length == 0)
            in->length = s->dflt_len;
        if (in->length < 128 || in->length > 512 || in->length % 8 != 0)
            return rest_bad_field(c, "field \"length\" must be 128 to 512, a multiple of 8, "
                                     "for HMAC");
        return true;
    case FAM_RSA:
        if (in->length == 0)
            in->length = s->dflt_len;
        if (in->length != 2048 && in->length != 3072 && in->length != 4096)
            return rest_bad_field(c, "field \"length\" must be 2048, 3072 or 4096 for RSA");
        return true;
    case FAM_EC:
        in->curve = KMIP_RECOMMENDED_CURVE_P_256;
        if (in->curve_name && !rest_map_value(curves, in->curve_name, &in->curve))
            return rest_bad_field(c, "field \"curve\" must be P-256, P-384 or P-521");
        bits = in->curve == KMIP_RECOMMENDED_CURVE_P_256   ? 256
               : in->curve == KMIP_RECOMMENDED_CURVE_P_384 ? 384
                                                           : 521;
        if (in->length != 0 && in->length != bits)
            return rest_bad_field(c, "field \"length\" must be %d for curve %s (or absent)", bits,
                                  rest_map_name(curves, in->curve));
        in->length = 0; /* the curve says it; core fills Cryptographic Length */
        return true;
    }
    return false;
}

static bool create_read(rest_call *c, json_t *body, struct create_in *in)
{
    const char *alg = NULL;
    uint32_t dflt;
    size_t i;

    if (!rest_get_string(c, body, "algorithm", true, &alg) ||
        !rest_get_int(c, body, "length", false, &in->length) ||
        !rest_get_string(c, body, "curve", false, &in->curve_name) ||
        !rest_key_opts_read(c, body, true, &in->o))
        return false;
    for (i = 0; i < sizeof alg_specs / sizeof alg_specs[0]; i++)
        if (strcmp(alg_specs[i].name, alg) == 0)
            in->spec = &alg_specs[i];
    if (in->spec == NULL)
        return rest_bad_field(c, "field \"algorithm\" must be AES, HMAC-SHA256, HMAC-SHA384, "
                                 "HMAC-SHA512, RSA or EC");
    if (json_object_get(body, "length") != NULL && in->length == 0)
        return rest_bad_field(c, "field \"length\" must be positive");
    if (!check_length(c, in))
        return false;
    /* A root AES key is an envelope KEK (docs/envelope.md): it wraps and
     * unwraps unless the caller says otherwise. */
    dflt = in->spec->dflt_usage;
    if (in->o.root && strcmp(in->spec->name, "AES") == 0)
        dflt = KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY | KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY;
    return rest_usage_mask(c, in->o.usage, dflt, &in->mask);
}

/* The public halves of a private key's usage (1.4 3.19). */
static uint32_t public_usage(uint32_t m)
{
    uint32_t p = m & (U(VERIFY) | U(ENCRYPT) | U(WRAP_KEY) | U(KEY_AGREEMENT) | U(DERIVE_KEY));
    if (m & U(SIGN))
        p |= U(VERIFY);
    if (m & U(DECRYPT))
        p |= U(ENCRYPT);
    if (m & U(UNWRAP_KEY))
        p |= U(WRAP_KEY);
    return p;
}

/* Algorithm, length or curve. */
static bool crypto_attrs(rest_call *c, const struct create_in *in, ttlv_item *list)
{
    cf_arena *a = c->env->arena;
    ttlv_item *dp, *rc;

    if (!rest_attr_append(c, list, "Cryptographic Algorithm",
                          ttlv_new_enum(a, KMIP_TAG_ATTRIBUTE_VALUE, in->spec->alg)))
        return false;
    if (in->spec->family != FAM_EC)
        return rest_attr_append(c, list, "Cryptographic Length",
                                ttlv_new_int(a, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)in->length));
    dp = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTE_VALUE);
    rc = ttlv_new_enum(a, KMIP_TAG_RECOMMENDED_CURVE, in->curve);
    if (dp == NULL || rc == NULL)
        return rest_nomem(c);
    ttlv_append(dp, rc);
    return rest_attr_append(c, list, "Cryptographic Domain Parameters", dp);
}

static void create_symmetric(rest_call *c, const struct create_in *in)
{
    ttlv_item *list = ttlv_new_struct(c->env->arena, KMIP_TAG_ATTRIBUTES);
    core_object *obj;
    cf_status st;

    if (list == NULL) {
        rest_nomem(c);
        return;
    }
    if (!crypto_attrs(c, in, list) ||
        !rest_key_opts_attrs(c, &in->o, true, in->mask, in->o.root, list))
        return;
    if ((st = core_create_symmetric_key(&c->creq, list, &obj)) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    CF_LOGI("rest create %s by %s", obj->uid, c->creq.who->id);
    rest_key_created(c, obj, NULL, in->o.activate);
}

static void create_pair(rest_call *c, const struct create_in *in)
{
    cf_arena *a = c->env->arena;
    ttlv_item *common = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTES);
    ttlv_item *priv = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTES);
    ttlv_item *pub = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTES);
    rest_key_opts pub_opts = {.tags = NULL};
    core_object *po, *uo;
    cf_status st;

    if (common == NULL || priv == NULL || pub == NULL) {
        rest_nomem(c);
        return;
    }
    /* Tags on both halves (common); name, kind and usage on the private
     * key; the public key is public: always extractable. */
    pub_opts.tags = in->o.tags;
    if (!crypto_attrs(c, in, common) ||
        !rest_key_opts_attrs(c, &in->o, true, in->mask, in->o.root, priv) ||
        !rest_key_opts_attrs(c, &pub_opts, false, public_usage(in->mask), false, pub))
        return;
    if ((st = core_create_key_pair(&c->creq, common, priv, pub, &po, &uo)) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    CF_LOGI("rest create pair %s / %s by %s", po->uid, uo->uid, c->creq.who->id);
    rest_key_created(c, po, uo, in->o.activate);
}

void rest_keys_create(rest_call *c)
{
    static const char *const fields[] = {"name", "algorithm", "length", "curve", "usage",
                                         "activate", "kind", "extractable", "tags", NULL};
    struct create_in in = {0};
    json_t *body = NULL;
    cf_status st;

    if (!rest_body(c, fields, false, &body))
        return;
    /* Core's CREATE right before any work (a Reader is refused whatever
     * it sends); core checks it again when it makes the key. */
    if ((st = core_req_authorize(&c->creq, CORE_ACT_CREATE, NULL)) != CF_OK)
        rest_reply_status(c, st);
    else if (create_read(c, body, &in)) {
        if (in.spec->family == FAM_RSA || in.spec->family == FAM_EC)
            create_pair(c, &in);
        else
            create_symmetric(c, &in);
    }
    json_decref(body);
}

/* ----------------------------------------------------------------- list */
enum { Q_LIMIT, Q_OFFSET, Q_NAME, Q_STATE, Q_ALG, Q_TYPE, Q_KIND, Q_TAG, Q_COUNT };

static bool criterion_enum(rest_call *c, ttlv_item *list, const char *attr, uint32_t v)
{
    cf_arena *a = c->env->arena;
    return rest_attr_append(c, list, attr, ttlv_new_enum(a, KMIP_TAG_ATTRIBUTE_VALUE, v));
}

/* tag=key:value -> "x-tag-key" equal to the value (the custom attribute
 * is indexed as its text, core_locate.c). */
static bool tag_criterion(rest_call *c, const char *q, ttlv_item *list)
{
    cf_arena *a = c->env->arena;
    const char *colon = strchr(q, ':');
    const char *key, *name;

    if (colon == NULL || !rest_tag_key_valid(q, (size_t)(colon - q)))
        return rest_bad_field(c, "query parameter \"tag\" must be key:value with a key of 1 to "
                                 "64 of A-Z a-z 0-9 _ . -");
    if (strlen(colon + 1) > REST_TAG_VALUE_MAX)
        return rest_bad_field(c, "query parameter \"tag\": the value exceeds %d bytes",
                              REST_TAG_VALUE_MAX);
    if ((key = cf_arena_strndup(a, q, (size_t)(colon - q))) == NULL ||
        (name = rest_tag_attr_name(a, key)) == NULL)
        return rest_nomem(c);
    return rest_attr_append(c, list, name, ttlv_new_text(a, KMIP_TAG_ATTRIBUTE_VALUE, colon + 1,
                                                        strlen(colon + 1)));
}

static bool list_criteria(rest_call *c, const char *const *q, ttlv_item **out)
{
    cf_arena *a = c->env->arena;
    ttlv_item *list = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTES);
    const ttlv_enum_info *e = NULL;
    uint32_t v;

    if (list == NULL)
        return rest_nomem(c);
    if (q[Q_NAME] && !rest_attr_append(c, list, "Name", rest_name_struct(a, q[Q_NAME])))
        return false;
    if (q[Q_STATE] && !rest_map_value(rest_key_states, q[Q_STATE], &v))
        return rest_bad_field(c, "query parameter \"state\" is not a key state");
    if (q[Q_STATE] && !criterion_enum(c, list, "State", v))
        return false;
    if (q[Q_ALG] && (e = ttlv_enum_by_name("Cryptographic Algorithm", q[Q_ALG])) == NULL)
        return rest_bad_field(c, "query parameter \"algorithm\" is not a KMIP algorithm name");
    if (q[Q_ALG] && !criterion_enum(c, list, "Cryptographic Algorithm", e->value))
        return false;
    if (q[Q_TYPE] && !rest_map_value(rest_key_types, q[Q_TYPE], &v))
        return rest_bad_field(c, "query parameter \"type\" is not an object type");
    if (q[Q_TYPE] && !criterion_enum(c, list, "Object Type", v))
        return false;
    /* Every object has Extractable (core_attr_defaults), so kind is an
     * equality on it. */
    if (q[Q_KIND] && strcmp(q[Q_KIND], "root") != 0 && strcmp(q[Q_KIND], "standard") != 0)
        return rest_bad_field(c, "query parameter \"kind\" must be standard or root");
    if (q[Q_KIND] && !rest_attr_append(c, list, "Extractable",
                                       ttlv_new_bool(a, KMIP_TAG_ATTRIBUTE_VALUE,
                                                     strcmp(q[Q_KIND], "standard") == 0)))
        return false;
    if (q[Q_TAG] && !tag_criterion(c, q[Q_TAG], list))
        return false;
    *out = list;
    return true;
}

static json_t *list_keys(rest_call *c, const char **uids, size_t n, cf_status *st)
{
    json_t *keys = json_array();
    for (size_t i = 0; i < n && keys; i++) {
        core_object *obj;
        if ((*st = core_object_load(&c->creq, uids[i], &obj)) != CF_OK) {
            json_decref(keys);
            return NULL;
        }
        if (json_array_append_new(keys, rest_key_json(c, obj)) != 0) {
            json_decref(keys);
            keys = NULL;
        }
    }
    if (keys == NULL && *st == CF_OK)
        *st = CF_ERR_NOMEM;
    return keys;
}

void rest_keys_list(rest_call *c)
{
    static const char *const names[] = {"limit", "offset", "name", "state", "algorithm",
                                        "type", "kind", "tag", NULL};
    const char *q[Q_COUNT];
    core_locate_opts opts = {.has_max_items = true, .max_items = 100};
    int64_t limit = 100, offset = 0, total;
    ttlv_item *criteria = NULL;
    const char **uids;
    size_t n;
    cf_status st = CF_OK;
    json_t *keys;

    if (!rest_query(c, names, q) || !rest_parse_count(c, q[Q_LIMIT], "limit", 1, 1000, &limit) ||
        !rest_parse_count(c, q[Q_OFFSET], "offset", 0, 1000000, &offset) ||
        !list_criteria(c, q, &criteria))
        return;
    opts.max_items = (int32_t)limit;
    opts.offset_items = (int32_t)offset;
    if ((st = core_locate(&c->creq, criteria, &opts, &uids, &n, &total)) != CF_OK ||
        (keys = list_keys(c, uids, n, &st)) == NULL) {
        rest_reply_status(c, st);
        return;
    }
    rest_reply_json(c, 200, json_pack("{s:o,s:I,s:I,s:I}", "keys", keys, "total",
                                       (json_int_t)total, "limit", (json_int_t)limit, "offset",
                                       (json_int_t)offset));
}

/* ------------------------------------------------------ get, lifecycle */
void rest_keys_get(rest_call *c)
{
    rest_key_reply(c, c->params[0], 200);
}

/* Activate and Deactivate: an optional empty body, one core call. */
static void lifecycle(rest_call *c, cf_status (*fn)(core_req *, const char *))
{
    static const char *const fields[] = {NULL};
    json_t *body = NULL;
    cf_status st;

    if (!rest_body(c, fields, true, &body))
        return;
    json_decref(body);
    if ((st = fn(&c->creq, c->params[0])) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    rest_key_reply(c, c->params[0], 200);
}

void rest_keys_activate(rest_call *c)
{
    lifecycle(c, core_activate);
}

void rest_keys_deactivate(rest_call *c)
{
    lifecycle(c, core_deactivate);
}

static const struct rest_name_map reasons[] = {
    {"unspecified", KMIP_REVOCATION_REASON_CODE_UNSPECIFIED},
    {"key_compromise", KMIP_REVOCATION_REASON_CODE_KEY_COMPROMISE},
    {"ca_compromise", KMIP_REVOCATION_REASON_CODE_CA_COMPROMISE},
    {"affiliation_changed", KMIP_REVOCATION_REASON_CODE_AFFILIATION_CHANGED},
    {"superseded", KMIP_REVOCATION_REASON_CODE_SUPERSEDED},
    {"cessation_of_operation", KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION},
    {"privilege_withdrawn", KMIP_REVOCATION_REASON_CODE_PRIVILEGE_WITHDRAWN},
    {NULL, 0},
};

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
    if (!rest_map_value(reasons, reason, &rv.code)) {
        rest_bad_field(c, "field \"reason\" is not a revocation reason");
        goto out;
    }
    if ((st = core_revoke(&c->creq, c->params[0], &rv)) != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    rest_key_reply(c, c->params[0], 200);
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
    rest_key_reply(c, c->params[0], 200);
}

/* ------------------------------------------------------------- material */
/* What each object type serves: the KMIP Key Format Type asked of Get, the
 * default format and the PEM label (RFC 7468: PKCS#8, SPKI, X.509). */
static const struct material_kind {
    uint32_t object_type;
    uint32_t key_format;
    const char *dflt;
    const char *label;
} material_kinds[] = {
    {KMIP_OBJECT_TYPE_SYMMETRIC_KEY, KMIP_KEY_FORMAT_TYPE_RAW, "raw", NULL},
    {KMIP_OBJECT_TYPE_PRIVATE_KEY, KMIP_KEY_FORMAT_TYPE_PKCS_8, "pem", "PRIVATE KEY"},
    {KMIP_OBJECT_TYPE_PUBLIC_KEY, KMIP_KEY_FORMAT_TYPE_X_509, "pem", "PUBLIC KEY"},
    {KMIP_OBJECT_TYPE_CERTIFICATE, 0, "pem", "CERTIFICATE"},
};

static cf_status material_kind(rest_call *c, const core_object *obj, const char *format,
                               const struct material_kind **out)
{
    const struct material_kind *k = NULL;
    for (size_t i = 0; i < sizeof material_kinds / sizeof material_kinds[0]; i++)
        if (material_kinds[i].object_type == obj->object_type)
            k = &material_kinds[i];
    if (k == NULL)
        return core_fail(&c->creq, CF_ERR_OBJECT_TYPE,
                         "material is served for symmetric keys, private keys, public keys and "
                         "certificates");
    if (format != NULL && (k->label ? strcmp(format, "pem") != 0 && strcmp(format, "der") != 0
                                    : strcmp(format, "raw") != 0))
        return core_fail(&c->creq, CF_ERR_INVALID_FIELD,
                         "query parameter \"format\" must be %s for a %s",
                         k->label ? "pem or der" : "raw",
                         rest_map_name(rest_key_types, obj->object_type));
    *out = k;
    return CF_OK;
}

/* The bytes of Get's object structure: Key Material, or Certificate Value. */
static cf_status material_bytes(rest_call *c, const ttlv_item *o, const uint8_t **p, size_t *n)
{
    const ttlv_item *kb = ttlv_child(o, KMIP_TAG_KEY_BLOCK), *kv, *km;
    if (kb == NULL)
        return ttlv_get_bytes(o, KMIP_TAG_CERTIFICATE_VALUE, p, n) == CF_OK ? CF_OK
                                                                            : CF_ERR_INTERNAL;
    kv = ttlv_child(kb, KMIP_TAG_KEY_VALUE);
    km = kv && kv->type == TTLV_STRUCTURE ? ttlv_child(kv, KMIP_TAG_KEY_MATERIAL) : NULL;
    if (ttlv_child(kb, KMIP_TAG_KEY_WRAPPING_DATA) != NULL || km == NULL ||
        km->type != TTLV_BYTE_STRING)
        return core_fail(&c->creq, CF_ERR_UNSUPPORTED, "the key was registered wrapped: its "
                                                       "material is available over KMIP only");
    *p = km->v.s.p;
    *n = km->v.s.len;
    return CF_OK;
}

void rest_keys_material(rest_call *c)
{
    static const char *const names[] = {"format", NULL};
    const char *format;
    const struct material_kind *k = NULL;
    core_get_opts go = {0};
    core_object *obj;
    ttlv_item *o;
    const uint8_t *p;
    size_t n;
    cf_secret text = {0};
    cf_status st;

    if (!rest_query(c, names, &format))
        return;
    /* The export check first: who may not read material learns nothing
     * about formats. */
    if ((st = core_object_load(&c->creq, c->params[0], &obj)) != CF_OK ||
        (st = core_object_check_export(&c->creq, obj, false)) != CF_OK ||
        (st = material_kind(c, obj, format, &k)) != CF_OK)
        goto fail;
    format = format ? format : k->dflt;
    go.key_format = k->key_format;
    if ((st = core_object_get(&c->creq, obj, &go, &o)) != CF_OK ||
        (st = material_bytes(c, o, &p, &n)) != CF_OK ||
        (st = rest_material_doc(obj->uid, format, strcmp(format, "pem") == 0 ? k->label : NULL,
                                p, n, &text)) != CF_OK ||
        (st = core_object_served(&c->creq, obj)) != CF_OK)
        goto fail;
    CF_LOGI("rest material %s (%s) by %s", obj->uid, format, c->creq.who->id);
    rest_reply_raw(c->req, 200, (const char *)text.p, text.len);
    goto out;
fail:
    rest_reply_status(c, st);
out:
    cf_secret_free(&text);
}
