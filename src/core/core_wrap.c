/*
 * core_wrap.c - Get with a Key Wrapping Specification (KMIP 1.4 sections
 * 2.1.5, 2.1.6, 4.11 and the Get errors of 11.12).
 *
 * Wrapping Method Encrypt only, with
 *   - a Symmetric Key (AES): Block Cipher Mode NIST Key Wrap (RFC 3394) or
 *     AES Key Wrap Padding (RFC 5649);
 *   - a Public Key (RSA): Padding Method OAEP with its Hashing Algorithm
 *     and MGF1 Mask Generator Hashing Algorithm (defaults SHA-1, 1.4 3.6).
 * The wrapping key must be usable for protection now (Active, dates) and
 * have Wrap Key in its Cryptographic Usage Mask; otherwise Permission
 * Denied (11.12). Its Cryptographic Parameters come from the request when
 * given, which must then match one instance of the key's attribute when it
 * has any (Item Not Found otherwise, 2.1.6); else from the key's attribute
 * with the lowest index; a key without the attribute is used with the
 * defaults of its algorithm (forgiving: many clients never set it).
 * What is wrapped: the TTLV-encoded Key Value (default, Encoding Option
 * TTLV Encoding; it may carry attributes named in the specification), or
 * the Key Material bytes (No Encoding). The answer's Key Value is the
 * wrapped Byte String (2.1.4), as in the OASIS test cases.
 */
#include "core/core_int.h"

#include <string.h>

#include <openssl/evp.h>

#include "util/limits.h"

typedef struct wrap_req {
    uint32_t method;
    const ttlv_item *eki;      /* Encryption Key Information */
    const char *uid;
    const ttlv_item *params;   /* request's Cryptographic Parameters, or NULL */
    bool has_encoding;
    uint32_t encoding;
} wrap_req;

static cf_status parse_spec(core_req *req, const ttlv_item *spec, wrap_req *w)
{
    size_t ul;
    memset(w, 0, sizeof *w);
    if (ttlv_get_enum(spec, KMIP_TAG_WRAPPING_METHOD, &w->method) != CF_OK)
        return core_fail(req, CF_ERR_MISSING, "Wrapping Method missing");
    if (w->method != KMIP_WRAPPING_METHOD_ENCRYPT)
        return core_fail(req, CF_ERR_UNSUPPORTED, "Wrapping Method %u is not supported", w->method);
    if (ttlv_child(spec, KMIP_TAG_MAC_SIGNATURE_KEY_INFORMATION) != NULL)
        return core_fail(req, CF_ERR_UNSUPPORTED, "MAC/Signature Key Information is not supported");
    w->eki = ttlv_child(spec, KMIP_TAG_ENCRYPTION_KEY_INFORMATION);
    if (w->eki == NULL)
        return core_fail(req, CF_ERR_MISSING, "Encryption Key Information missing");
    if (ttlv_get_text(w->eki, KMIP_TAG_UNIQUE_IDENTIFIER, &w->uid, &ul) != CF_OK)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the wrapping key's Unique Identifier is missing");
    w->params = ttlv_child(w->eki, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
    if (w->params && w->params->type != TTLV_STRUCTURE)
        return core_fail(req, CF_ERR_INVALID_FIELD, "malformed Cryptographic Parameters");
    w->has_encoding = ttlv_get_enum(spec, KMIP_TAG_ENCODING_OPTION, &w->encoding) == CF_OK;
    if (!w->has_encoding)
        w->encoding = KMIP_ENCODING_OPTION_TTLV_ENCODING;
    if (w->encoding != KMIP_ENCODING_OPTION_TTLV_ENCODING &&
        w->encoding != KMIP_ENCODING_OPTION_NO_ENCODING)
        return core_fail(req, CF_ERR_ENCODING, "Encoding Option %u is not supported", w->encoding);
    return CF_OK;
}

/* Every field given in `want` has the same value in `have`. */
static bool params_match(const ttlv_item *want, const ttlv_item *have)
{
    for (const ttlv_item *c = want->first; c; c = c->next) {
        const ttlv_item *h = ttlv_child(have, c->tag);
        ttlv_item a = *c, b;
        if (h == NULL)
            return false;
        b = *h;
        a.next = b.next = NULL;
        if (!ttlv_equal(&a, &b))
            return false;
    }
    return true;
}

/* The Cryptographic Parameters to wrap with (NULL: the defaults). */
static cf_status resolve_params(core_req *req, const core_object *wk, const wrap_req *w,
                                const ttlv_item **out)
{
    const ttlv_item *lowest = NULL;
    int32_t lowest_idx = INT32_MAX;
    bool matched = false;

    for (const ttlv_item *it = wk->attrs->first; it; it = it->next) {
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        if (!core_attr_parts(it, &n, &nl, &idx, &v) || nl != 24 ||
            memcmp(n, "Cryptographic Parameters", 24) != 0 || v->type != TTLV_STRUCTURE)
            continue;
        if (idx < lowest_idx) {
            lowest = v;
            lowest_idx = idx;
        }
        if (w->params && params_match(w->params, v))
            matched = true;
    }
    if (w->params == NULL) {
        *out = lowest;
        return CF_OK;
    }
    if (lowest != NULL && !matched)
        return core_fail(req, CF_ERR_NOT_FOUND,
                         "the Cryptographic Parameters do not match the wrapping key's");
    *out = w->params;
    return CF_OK;
}

/* Load the wrapping key and check it may wrap (11.12). */
static cf_status wrapping_key(core_req *req, const wrap_req *w, core_object **out)
{
    const ttlv_item *mask;
    cf_status st = core_object_load(req, w->uid, out);
    if (st == CF_ERR_NOT_FOUND || st == CF_ERR_DESTROYED)
        return core_fail(req, CF_ERR_NOT_FOUND, "the wrapping key does not exist");
    if (st != CF_OK)
        return st;
    if ((*out)->object_type != KMIP_OBJECT_TYPE_SYMMETRIC_KEY &&
        (*out)->object_type != KMIP_OBJECT_TYPE_PUBLIC_KEY)
        return core_fail(req, CF_ERR_OBJECT_TYPE, "the wrapping object is not a wrapping key");
    if ((st = core_object_check_use(req, *out, CORE_ACT_WRAP)) != CF_OK) {
        if (st == CF_ERR_STATE)
            st = core_fail(req, CF_ERR_PERMISSION, "the wrapping key cannot be used now: %s",
                           req->err_msg ? req->err_msg : "state");
        return st;
    }
    mask = core_attr_find(*out, "Cryptographic Usage Mask", 0);
    if (mask == NULL || mask->type != TTLV_INTEGER ||
        !((uint32_t)mask->v.i32 & KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY))
        return core_fail(req, CF_ERR_PERMISSION,
                         "the wrapping key's Cryptographic Usage Mask lacks Wrap Key");
    return CF_OK;
}

/* The bytes to wrap: TTLV Key Value, or the Key Material bytes. */
static cf_status wrap_payload(core_req *req, uint32_t format, const cf_secret *m,
                              const core_get_opts *o, const wrap_req *w, cf_secret *out)
{
    ttlv_item *kv, *km;
    cf_buf buf;
    cf_status st;

    if (w->encoding == KMIP_ENCODING_OPTION_NO_ENCODING) {
        if (o->wrap_attrs && o->wrap_attrs->first)
            return core_fail(req, CF_ERR_ENCODING,
                             "No Encoding is not permitted with Attribute Names to wrap");
        if (core_format_is_transparent(format) &&
            format != KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY)
            return core_fail(req, CF_ERR_ENCODING, "a Transparent key needs TTLV Encoding");
        return cf_secret_dup(out, m->p, m->len);
    }
    if ((kv = ttlv_new_struct(req->arena, KMIP_TAG_KEY_VALUE)) == NULL)
        return CF_ERR_NOMEM;
    if ((st = core_key_material_item(req, format, m, &km)) != CF_OK)
        return st;
    ttlv_append(kv, km);
    for (const ttlv_item *a = o->wrap_attrs ? o->wrap_attrs->first : NULL; a; a = a->next) {
        ttlv_item *c = ttlv_clone(req->arena, a);
        if (c == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(kv, c);
    }
    cf_buf_init(&buf, CF_LIMIT_KMIP_MESSAGE);
    if ((st = ttlv_encode(kv, &buf)) == CF_OK)
        st = cf_secret_dup(out, buf.p, buf.len);
    cf_buf_free(&buf);
    return st;
}

static cf_status wrap_aes(core_req *req, const core_object *wk, const ttlv_item *params,
                          const cf_secret *in, cf_buf *out)
{
    const ttlv_item *alg = core_attr_find(wk, "Cryptographic Algorithm", 0);
    cf_secret kek = {0};
    uint32_t mode = 0, fmt;
    bool pad;
    cf_status st;

    if (alg == NULL || alg->v.u32 != KMIP_CRYPTOGRAPHIC_ALGORITHM_AES)
        return core_fail(req, CF_ERR_UNSUPPORTED, "symmetric wrapping keys must be AES keys");
    if (params)
        ttlv_get_enum(params, KMIP_TAG_BLOCK_CIPHER_MODE, &mode);
    if (mode == 0) /* no mode: RFC 3394 when the payload allows it */
        mode = (in->len % 8 == 0 && in->len >= 16) ? KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP
                                                   : KMIP_BLOCK_CIPHER_MODE_AESKEYWRAPPADDING;
    if (mode != KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP &&
        mode != KMIP_BLOCK_CIPHER_MODE_AESKEYWRAPPADDING)
        return core_fail(req, CF_ERR_UNSUPPORTED, "Block Cipher Mode %u cannot wrap keys", mode);
    pad = mode == KMIP_BLOCK_CIPHER_MODE_AESKEYWRAPPADDING;
    if (!pad && (in->len % 8 != 0 || in->len < 16))
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "NIST Key Wrap (RFC 3394) needs a multiple of 8 bytes, at least 16: "
                         "use AES Key Wrap Padding");
    if ((st = core_key_material(req, wk, &kek, &fmt)) != CF_OK)
        return st;
    st = crypto_aes_wrap(kek.p, kek.len, pad, in->p, in->len, out);
    cf_secret_free(&kek);
    if (st == CF_ERR_INVALID_FIELD)
        st = core_fail(req, CF_ERR_INVALID_FIELD, "the wrapping key is not a valid AES key");
    return st;
}

static cf_status wrap_rsa(core_req *req, const core_object *wk, const ttlv_item *params,
                          const cf_secret *in, cf_buf *out)
{
    uint32_t pad = KMIP_PADDING_METHOD_OAEP, hash = KMIP_HASHING_ALGORITHM_SHA_1;
    uint32_t mgf = KMIP_MASK_GENERATOR_MGF1, mgf_hash = KMIP_HASHING_ALGORITHM_SHA_1;
    EVP_PKEY *pub = NULL;
    cf_status st;

    if (params) {
        ttlv_get_enum(params, KMIP_TAG_PADDING_METHOD, &pad);
        ttlv_get_enum(params, KMIP_TAG_HASHING_ALGORITHM, &hash);
        ttlv_get_enum(params, KMIP_TAG_MASK_GENERATOR, &mgf);
        ttlv_get_enum(params, KMIP_TAG_MASK_GENERATOR_HASHING_ALGORITHM, &mgf_hash);
    }
    if (pad != KMIP_PADDING_METHOD_OAEP || mgf != KMIP_MASK_GENERATOR_MGF1)
        return core_fail(req, CF_ERR_UNSUPPORTED, "public key wrapping is RSA-OAEP with MGF1 only");
    if ((st = core_key_pkey(req, wk, &pub)) != CF_OK)
        return st;
    st = crypto_rsa_oaep_wrap(pub, hash, mgf_hash, in->p, in->len, out);
    EVP_PKEY_free(pub);
    if (st == CF_ERR_UNSUPPORTED)
        return core_fail(req, st, "Hashing Algorithm %u is not supported for OAEP", hash);
    if (st == CF_ERR_INVALID_FIELD)
        return core_fail(req, st, "the key is too long for RSA-OAEP with this key and hash");
    return st;
}

/* Key Block { Key Format Type, Key Value (wrapped Byte String), Algorithm,
 * Length, Key Wrapping Data }. */
static cf_status wrapped_block(core_req *req, const core_object *obj, uint32_t format,
                               const cf_buf *wrapped, const wrap_req *w, ttlv_item **out)
{
    cf_arena *a = req->arena;
    const ttlv_item *alg = core_attr_find(obj, "Cryptographic Algorithm", 0);
    const ttlv_item *len = core_attr_find(obj, "Cryptographic Length", 0);
    ttlv_item *kb = ttlv_new_struct(a, KMIP_TAG_KEY_BLOCK);
    ttlv_item *kwd = ttlv_new_struct(a, KMIP_TAG_KEY_WRAPPING_DATA);
    ttlv_item *x[4] = {
        ttlv_new_enum(a, KMIP_TAG_KEY_FORMAT_TYPE, format),
        ttlv_new_bytes(a, KMIP_TAG_KEY_VALUE, wrapped->p, wrapped->len),
        ttlv_new_enum(a, KMIP_TAG_WRAPPING_METHOD, w->method),
        ttlv_clone(a, w->eki),
    };
    if (!kb || !kwd || !x[0] || !x[1] || !x[2] || !x[3])
        return CF_ERR_NOMEM;
    ttlv_append(kb, x[0]);
    ttlv_append(kb, x[1]);
    if (alg && len) {
        ttlv_item *ai = ttlv_new_enum(a, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, alg->v.u32);
        ttlv_item *li = ttlv_new_int(a, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, len->v.i32);
        if (!ai || !li)
            return CF_ERR_NOMEM;
        ttlv_append(kb, ai);
        ttlv_append(kb, li);
    }
    ttlv_append(kwd, x[2]);
    ttlv_append(kwd, x[3]);
    if (w->has_encoding) {
        ttlv_item *e = ttlv_new_enum(a, KMIP_TAG_ENCODING_OPTION, w->encoding);
        if (e == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(kwd, e);
    }
    ttlv_append(kb, kwd);
    *out = kb;
    return CF_OK;
}

cf_status core_wrap_key_block(core_req *req, const core_object *obj, uint32_t format,
                              const cf_secret *m, const core_get_opts *o, ttlv_item **out)
{
    wrap_req w;
    core_object *wk;
    const ttlv_item *params = NULL;
    cf_secret payload = {0};
    cf_buf wrapped;
    cf_status st;

    if ((st = parse_spec(req, o->wrap_spec, &w)) != CF_OK)
        return st;
    if ((st = wrapping_key(req, &w, &wk)) != CF_OK)
        return st;
    if ((st = resolve_params(req, wk, &w, &params)) != CF_OK)
        return st;
    if ((st = wrap_payload(req, format, m, o, &w, &payload)) != CF_OK)
        return st;
    cf_buf_init(&wrapped, CF_LIMIT_KMIP_MESSAGE);
    if (wk->object_type == KMIP_OBJECT_TYPE_SYMMETRIC_KEY)
        st = wrap_aes(req, wk, params, &payload, &wrapped);
    else
        st = wrap_rsa(req, wk, params, &payload, &wrapped);
    if (st == CF_OK)
        st = wrapped_block(req, obj, format, &wrapped, &w, out);
    cf_secret_free(&payload);
    cf_buf_free(&wrapped);
    return st;
}
