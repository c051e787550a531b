/*
 * core_derive.c - Derive Key (KMIP 1.4 section 4.6): the derivation key
 * goes through the same checks as every cryptographic operation
 * (core_crypto_key_acquire: type, state, Derive Key usage bit, parameters,
 * material), then crypto_derive (PBKDF2, HKDF, SP 800-108, HASH) or, for
 * the ENCRYPT method, the symmetric Encrypt of core_crypto.c. The new
 * object is registered through core_register like any other, with links
 * both ways between it and its sources.
 */
#include "core/core_int.h"
#include "core/core_crypto_int.h"

#include <string.h>

#include "crypto/crypto_ops.h"
#include "util/log.h"

typedef struct dparams {
    const ttlv_item *params;          /* Cryptographic Parameters */
    const uint8_t *iv, *data, *salt;
    size_t iv_len, data_len, salt_len;
    int32_t iterations;
    bool has_data;
} dparams;

static cf_status opt_bytes(const ttlv_item *s, uint32_t tag, const uint8_t **p, size_t *n)
{
    cf_status st = ttlv_get_bytes(s, tag, p, n);
    return st == CF_ERR_MISSING ? CF_OK : st;
}

/* Derivation Parameters (1.4 section 4.6, tables 182-183). */
static cf_status parse_dparams(core_req *req, const ttlv_item *s, dparams *d)
{
    cf_status st;
    memset(d, 0, sizeof *d);
    if (s == NULL || s->type != TTLV_STRUCTURE)
        return core_fail(req, CF_ERR_MISSING, "Derivation Parameters are required");
    d->params = ttlv_child(s, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
    if ((st = opt_bytes(s, KMIP_TAG_INITIALIZATION_VECTOR, &d->iv, &d->iv_len)) == CF_OK &&
        (st = opt_bytes(s, KMIP_TAG_DERIVATION_DATA, &d->data, &d->data_len)) == CF_OK &&
        (st = opt_bytes(s, KMIP_TAG_SALT, &d->salt, &d->salt_len)) == CF_OK &&
        (st = ttlv_get_int(s, KMIP_TAG_ITERATION_COUNT, &d->iterations)) == CF_ERR_MISSING)
        st = CF_OK;
    d->has_data = d->data != NULL;
    if (st != CF_OK)
        return core_fail(req, CF_ERR_INVALID_FIELD, "invalid field in Derivation Parameters");
    return CF_OK;
}

static uint32_t hmac_hash(uint32_t alg)
{
    switch (alg) {
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA1: return KMIP_HASHING_ALGORITHM_SHA_1;
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA224: return KMIP_HASHING_ALGORITHM_SHA_224;
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256: return KMIP_HASHING_ALGORITHM_SHA_256;
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA384: return KMIP_HASHING_ALGORITHM_SHA_384;
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA512: return KMIP_HASHING_ALGORITHM_SHA_512;
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_MD5: return KMIP_HASHING_ALGORITHM_MD5;
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_224: return KMIP_HASHING_ALGORITHM_SHA3_224;
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_256: return KMIP_HASHING_ALGORITHM_SHA3_256;
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_384: return KMIP_HASHING_ALGORITHM_SHA3_384;
    case KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_512: return KMIP_HASHING_ALGORITHM_SHA3_512;
    default: return 0;
    }
}

/* ENCRYPT method: the derivation data encrypted under the key with its
 * Cryptographic Parameters; the IV is the Initialization Vector, or zeros
 * ("an empty IV is assumed if not provided"). */
static cf_status derive_encrypt(core_req *req, const keyuse *k, const dparams *d, size_t len,
                                cf_secret *out)
{
    core_crypto_in in = {.data = d->data, .data_len = d->data_len, .has_data = true,
                         .iv = d->iv, .iv_len = d->iv_len};
    core_crypto_out co = {0};
    crypto_cipher_req r;
    crypto_cipher_info info;
    uint8_t zero[CRYPTO_IV_MAX] = {0};
    cf_status st;

    if (k->obj->object_type != KMIP_OBJECT_TYPE_SYMMETRIC_KEY)
        return core_fail(req, CF_ERR_INVALID_FIELD, "ENCRYPT derivation needs a Symmetric Key");
    if ((st = core_crypto_cipher_setup(req, k, &in, true, &r, &info, &co)) != CF_OK)
        return st;
    if (co.iv != NULL) { /* no IV given: zeros, not a random one */
        r.iv = zero;
        if (r.iv_len > sizeof zero)
            return CF_ERR_INTERNAL;
    }
    in.iv = r.iv;
    in.iv_len = r.iv_len;
    if ((st = core_crypto_sym_encrypt(req, k, &in, &co)) != CF_OK)
        return st;
    if (co.data_len < len)
        return core_fail(req, CF_ERR_CRYPTO, "the requested length exceeds the derivation's output");
    return cf_secret_dup(out, co.data, len);
}

static cf_status derive_bytes(core_req *req, const core_derive_in *in, const keyuse *k,
                              const dparams *d, size_t len, cf_secret *out)
{
    crypto_kdf_req r = {.method = in->method, .hash = k->p.hash, .key = k->material.p,
                        .key_len = k->material.len, .data = d->data, .data_len = d->data_len,
                        .salt = d->salt, .salt_len = d->salt_len};
    uint32_t key_hash = hmac_hash(core_crypto_attr_enum(k->obj, "Cryptographic Algorithm"));
    const char *why = NULL;

    if (in->method == KMIP_DERIVATION_METHOD_ENCRYPT)
        return derive_encrypt(req, k, d, len, out);
    /* HMAC: "the attributes of the derivation key provide enough
     * information about the PRF" (4.6); PBKDF2 defaults to PKCS#5's
     * HMAC-SHA-1. */
    if ((in->method == KMIP_DERIVATION_METHOD_HMAC && key_hash) || r.hash == 0)
        r.hash = key_hash;
    if (r.hash == 0 && in->method == KMIP_DERIVATION_METHOD_PBKDF2)
        r.hash = KMIP_HASHING_ALGORITHM_SHA_1;
    if (in->method == KMIP_DERIVATION_METHOD_HASH && d->has_data)
        r.key_len = 0; /* hash the data, not the key */
    if (in->method == KMIP_DERIVATION_METHOD_PBKDF2 && d->iterations <= 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "PBKDF2 needs a positive Iteration Count");
    r.iterations = d->iterations > 0 ? (uint32_t)d->iterations : 0;
    return core_crypto_result(req, crypto_derive(&r, len, out, &why), why, "derivation");
}

/* Cryptographic Length (bits) of the new object, from its attributes. */
static cf_status derive_length(core_req *req, const core_derive_in *in, size_t *out,
                               uint32_t *out_alg)
{
    bool has_alg = false;
    int32_t bits = -1;
    for (const ttlv_item *it = in->attrs ? in->attrs->first : NULL; it; it = it->next) {
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        if (!core_attr_parts(it, &n, &nl, &idx, &v))
            continue;
        if (nl == 20 && memcmp(n, "Cryptographic Length", 20) == 0 && v->type == TTLV_INTEGER)
            bits = v->v.i32;
        if (nl == 23 && memcmp(n, "Cryptographic Algorithm", 23) == 0 &&
            v->type == TTLV_ENUMERATION) {
            has_alg = true;
            *out_alg = v->v.u32;
        }
    }
    if (bits < 0) /* 4.6: "the client SHALL specify the desired length" */
        return core_fail(req, CF_ERR_MISSING, "Cryptographic Length is required");
    if (bits == 0 || bits % 8 != 0 || (size_t)bits / 8 > CRYPTO_DERIVE_MAX)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Cryptographic Length must be whole bytes, at most %d bits",
                         CRYPTO_DERIVE_MAX * 8);
    if (!has_alg && in->object_type == KMIP_OBJECT_TYPE_SYMMETRIC_KEY)
        return core_fail(req, CF_ERR_MISSING, "Cryptographic Algorithm is required for a key");
    *out = (size_t)bits / 8;
    return CF_OK;
}

/* The new object's structure for core_register: a Raw Symmetric Key (with
 * the client's algorithm and length in its Key Block, as Get returns it) or
 * an Opaque-format Secret Data (type Seed). */
static cf_status derived_object(core_req *req, uint32_t type, uint32_t alg, const cf_secret *m,
                                ttlv_item **out)
{
    cf_arena *a = req->arena;
    bool key = type == KMIP_OBJECT_TYPE_SYMMETRIC_KEY;
    ttlv_item *o = ttlv_new_struct(a, key ? KMIP_TAG_SYMMETRIC_KEY : KMIP_TAG_SECRET_DATA);
    ttlv_item *kb = ttlv_new_struct(a, KMIP_TAG_KEY_BLOCK);
    ttlv_item *kv = ttlv_new_struct(a, KMIP_TAG_KEY_VALUE);
    ttlv_item *fmt = ttlv_new_enum(a, KMIP_TAG_KEY_FORMAT_TYPE,
                                   key ? KMIP_KEY_FORMAT_TYPE_RAW : KMIP_KEY_FORMAT_TYPE_OPAQUE);
    ttlv_item *km = ttlv_new_bytes(a, KMIP_TAG_KEY_MATERIAL, m->p, m->len);
    ttlv_item *sdt = key ? NULL : ttlv_new_enum(a, KMIP_TAG_SECRET_DATA_TYPE,
                                               KMIP_SECRET_DATA_TYPE_SEED);
    if (!o || !kb || !kv || !fmt || !km || (!key && !sdt))
        return CF_ERR_NOMEM;
    if (sdt)
        ttlv_append(o, sdt);
    ttlv_append(kv, km);
    ttlv_append(kb, fmt);
    ttlv_append(kb, kv);
    if (key) {
        ttlv_item *ca = ttlv_new_enum(a, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, alg);
        ttlv_item *cl = ttlv_new_int(a, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, (int32_t)m->len * 8);
        if (!ca || !cl)
            return CF_ERR_NOMEM;
        ttlv_append(kb, ca);
        ttlv_append(kb, cl);
    }
    ttlv_append(o, kb);
    *out = o;
    return CF_OK;
}

/* The client's attributes plus a Derivation Base Object Link per source. */
static cf_status derived_attrs(core_req *req, const core_derive_in *in, ttlv_item **out)
{
    ttlv_item *list = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTES);
    if (list == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *it = in->attrs ? in->attrs->first : NULL; it; it = it->next) {
        ttlv_item *c = ttlv_clone(req->arena, it);
        if (c == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(list, c);
    }
    for (size_t i = 0; i < in->n_uids; i++) {
        ttlv_item *v = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTE_VALUE);
        ttlv_item *t = ttlv_new_enum(req->arena, KMIP_TAG_LINK_TYPE,
                                     KMIP_LINK_TYPE_DERIVATION_BASE_OBJECT_LINK);
        ttlv_item *u = ttlv_new_text(req->arena, KMIP_TAG_LINKED_OBJECT_IDENTIFIER, in->uids[i],
                                     strlen(in->uids[i]));
        ttlv_item *attr;
        if (!v || !t || !u)
            return CF_ERR_NOMEM;
        ttlv_append(v, t);
        ttlv_append(v, u);
        if ((attr = core_attr_new(req->arena, "Link", 0, v)) == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(list, attr);
    }
    *out = list;
    return CF_OK;
}

static cf_status link_derived(core_req *req, core_object *obj, void *ctx)
{
    return core_object_link(req, obj, KMIP_LINK_TYPE_DERIVED_KEY_LINK, (const char *)ctx);
}

/* The Secret Data given as the second object supplies the derivation data. */
static cf_status derive_data_object(core_req *req, const core_derive_in *in, dparams *d,
                                    keyuse *sd)
{
    cf_status st;
    if (in->n_uids < 2)
        return CF_OK;
    if (d->has_data) /* 1.4 section 11.7: ambiguous derivation data */
        return core_fail(req, CF_ERR_INVALID_MSG,
                         "Derivation Data given both in the request and as a Secret Data object");
    st = core_crypto_key_acquire(req, in->uids[1], NULL, KEYUSE_SECRET,
                                 KMIP_CRYPTOGRAPHIC_USAGE_MASK_DERIVE_KEY, CORE_USAGE_PROTECT,
                                 "Derive Key", sd);
    if (st == CF_ERR_OBJECT_TYPE) /* 11.7: "not of the correct type" */
        return core_fail(req, CF_ERR_INVALID_FIELD, "the second object must be Secret Data");
    d->data = sd->material.p;
    d->data_len = sd->material.len;
    d->has_data = true;
    return st;
}

cf_status core_derive_key(core_req *req, const core_derive_in *in, core_object **out)
{
    keyuse k = {0}, sd = {0};
    dparams d;
    cf_secret m = {0};
    ttlv_item *object = NULL, *attrs = NULL;
    size_t len = 0;
    uint32_t alg = 0;
    cf_status st;

    *out = NULL;
    if (in->object_type != KMIP_OBJECT_TYPE_SYMMETRIC_KEY &&
        in->object_type != KMIP_OBJECT_TYPE_SECRET_DATA)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Derive Key makes Symmetric Keys or Secret Data");
    if (in->n_uids == 0 || in->n_uids > 2)
        return core_fail(req, in->n_uids ? CF_ERR_INVALID_FIELD : CF_ERR_MISSING,
                         "Derive Key takes a key and optionally a Secret Data object");
    if ((st = derive_length(req, in, &len, &alg)) != CF_OK || (st = parse_dparams(req, in->params, &d)))
        return st;
    st = core_crypto_key_acquire(req, in->uids[0], d.params, KEYUSE_SYM | KEYUSE_SECRET,
                                 KMIP_CRYPTOGRAPHIC_USAGE_MASK_DERIVE_KEY, CORE_USAGE_PROTECT,
                                 "Derive Key", &k);
    if (st == CF_ERR_OBJECT_TYPE)
        st = core_fail(req, CF_ERR_INVALID_FIELD, "only Symmetric Keys and Secret Data derive keys");
    if (st == CF_OK && (st = derive_data_object(req, in, &d, &sd)) == CF_OK &&
        (st = derive_bytes(req, in, &k, &d, len, &m)) == CF_OK &&
        (st = derived_object(req, in->object_type, alg, &m, &object)) == CF_OK &&
        (st = derived_attrs(req, in, &attrs)) == CF_OK)
        st = core_register(req, in->object_type, object, attrs, out);
    /* The new object (with its Derivation Base Object links) is durable;
     * a source whose Derived Key link cannot be written (edited
     * concurrently beyond the retries, or not writable by the caller)
     * does not undo it. */
    for (size_t i = 0; st == CF_OK && i < in->n_uids; i++)
        if (core_object_edit(req, in->uids[i], link_derived, (void *)(*out)->uid) != CF_OK)
            CF_LOGW("derive: no Derived Key link on %s to %s", in->uids[i], (*out)->uid);
    cf_secret_free(&m);
    core_crypto_key_release(&sd);
    core_crypto_key_release(&k);
    return st;
}
