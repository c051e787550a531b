/*
 * core_crypto.c - the cryptographic operations a client performs with its
 * keys inside the server: Encrypt, Decrypt, Sign, Signature Verify, MAC,
 * MAC Verify, RNG Retrieve, RNG Seed (Derive Key, built on the same key
 * handling: core_derive.c, through core_crypto_int.h).
 *
 * Each operation is the same four steps, so that the rules exist once:
 *   1. load the key and check its type for the operation;
 *   2. core_object_check_use with the operation's action (the permission
 *      table: role, tenant, restriction; state, Process Start / Protect
 *      Stop dates) and the Cryptographic Usage Mask bit of the operation;
 *   3. the Cryptographic Parameters: the request's, else the key's
 *      attribute with the lowest index (KMIP 1.4 section 4.29), parsed
 *      into a plain struct and mapped to crypto_ops.h requests;
 *   4. open the key material (cleansed on every path) and run OpenSSL.
 * crypto_ops.c reports unacceptable parameters as CF_ERR_INVALID_FIELD
 * with a reason; here they become CF_ERR_CRYPTO_PARAMS (1.x Invalid Field,
 * 2.x Bad Cryptographic Parameters) with that reason for the client.
 */
#include "core/core_int.h"
#include "core/core_crypto_int.h"

#include <string.h>

#include <openssl/evp.h>

#include "crypto/crypto_keys.h"
#include "crypto/crypto_ops.h"
#include "util/log.h"

/* ------------------------------------------------ Cryptographic Parameters */

static cf_status param_int(core_req *req, const ttlv_item *it, int32_t *v, bool *has)
{
    if (it->type != TTLV_INTEGER || it->v.i32 < 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "invalid integer in Cryptographic Parameters");
    *v = it->v.i32;
    *has = true;
    return CF_OK;
}

static cf_status param_enum(core_req *req, const ttlv_item *it, uint32_t *v)
{
    if (it->type != TTLV_ENUMERATION)
        return core_fail(req, CF_ERR_INVALID_FIELD, "invalid enumeration in Cryptographic Parameters");
    *v = it->v.u32;
    return CF_OK;
}

/* Fill p from a Cryptographic Parameters structure (1.4 section 3.6).
 * Fields this server has no use for (Key Role Type, Fixed Field Length,
 * Invocation Field Length, Mask Generator, P Source, Trailer Field) are
 * accepted and ignored. */
static cf_status parse_params(core_req *req, const ttlv_item *s, cparams *p)
{
    cf_status st = CF_OK;
    memset(p, 0, sizeof *p);
    if (s == NULL)
        return CF_OK;
    if (s->type != TTLV_STRUCTURE)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Cryptographic Parameters is not a structure");
    for (const ttlv_item *it = s->first; it && st == CF_OK; it = it->next) {
        switch (it->tag) {
        case KMIP_TAG_BLOCK_CIPHER_MODE: st = param_enum(req, it, &p->mode); break;
        case KMIP_TAG_PADDING_METHOD: st = param_enum(req, it, &p->padding); break;
        case KMIP_TAG_HASHING_ALGORITHM: st = param_enum(req, it, &p->hash); break;
        case KMIP_TAG_DIGITAL_SIGNATURE_ALGORITHM: st = param_enum(req, it, &p->dsa); break;
        case KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM: st = param_enum(req, it, &p->alg); break;
        case KMIP_TAG_MASK_GENERATOR_HASHING_ALGORITHM: st = param_enum(req, it, &p->mgf_hash); break;
        case KMIP_TAG_IV_LENGTH: st = param_int(req, it, &p->iv_bits, &p->has_iv_bits); break;
        case KMIP_TAG_TAG_LENGTH: st = param_int(req, it, &p->tag_len, &p->has_tag_len); break;
        case KMIP_TAG_COUNTER_LENGTH:
            st = param_int(req, it, &p->counter_bits, &p->has_counter_bits);
            break;
        case KMIP_TAG_INITIAL_COUNTER_VALUE: st = param_int(req, it, &p->icv, &p->has_icv); break;
        case KMIP_TAG_SALT_LENGTH: st = param_int(req, it, &p->salt_len, &p->has_salt_len); break;
        case KMIP_TAG_RANDOM_IV:
            if (it->type != TTLV_BOOLEAN)
                return core_fail(req, CF_ERR_INVALID_FIELD, "Random IV is not a Boolean");
            p->has_random_iv = true;
            p->random_iv = it->v.b;
            break;
        default:
            break;
        }
    }
    return st;
}

/* The key's Cryptographic Parameters with the lowest Attribute Index. */
static const ttlv_item *key_params(const core_object *obj)
{
    const ttlv_item *best = NULL;
    int32_t best_idx = 0;
    for (const ttlv_item *it = obj->attrs->first; it; it = it->next) {
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        if (core_attr_parts(it, &n, &nl, &idx, &v) && nl == 24 &&
            memcmp(n, "Cryptographic Parameters", 24) == 0 && (best == NULL || idx < best_idx)) {
            best = v;
            best_idx = idx;
        }
    }
    return best;
}

uint32_t core_crypto_attr_enum(const core_object *obj, const char *name)
{
    const ttlv_item *v = core_attr_find(obj, name, 0);
    return v && v->type == TTLV_ENUMERATION ? v->v.u32 : 0;
}

/* ----------------------------------------------------------- the key */

void core_crypto_key_release(keyuse *k)
{
    cf_secret_free(&k->material);
    EVP_PKEY_free(k->pkey);
    k->pkey = NULL;
}

/* Plaintext material of a usable key. Unlike core_object_material (Get's
 * rules) the state was already judged by core_object_check_usage, which
 * lets Deactivated keys decrypt and verify (1.4 section 3.22). */
static cf_status open_material(core_req *req, const core_object *obj, cf_secret *out)
{
    const uint8_t *aad;
    size_t aad_len;
    cf_status st;

    if (obj->sealed == NULL || obj->sealed_len == 0)
        return core_fail(req, CF_ERR_NOT_FOUND, "the key has no key material");
    /* Objects kept verbatim (Secret Data, wrapped keys): core_keys.c
     * extracts the Key Material (and refuses wrapped keys). */
    if (obj->key_format & CORE_KEY_FORMAT_VERBATIM)
        return core_key_material(req, obj, out, &(uint32_t){0});
    if ((st = core_material_aad(req->arena, obj->tenant, obj->uid, &aad, &aad_len)) != CF_OK)
        return st;
    st = crypto_open(req->core->keyring, aad, aad_len, obj->sealed, obj->sealed_len, out);
    if (st != CF_OK) {
        CF_LOGE("object %s: sealed material does not open (%s)", obj->uid, cf_status_str(st));
        return CF_ERR_INTERNAL;
    }
    return CF_OK;
}

static bool type_in(uint32_t t, unsigned types)
{
    return (t == KMIP_OBJECT_TYPE_SYMMETRIC_KEY && (types & KEYUSE_SYM)) ||
           (t == KMIP_OBJECT_TYPE_PUBLIC_KEY && (types & KEYUSE_PUB)) ||
           (t == KMIP_OBJECT_TYPE_PRIVATE_KEY && (types & KEYUSE_PRIV)) ||
           (t == KMIP_OBJECT_TYPE_SECRET_DATA && (types & KEYUSE_SECRET));
}

/* Steps 1-4 of the design note for the key of one operation. */
cf_status core_crypto_key_acquire(core_req *req, const char *uid, const ttlv_item *params,
                                  unsigned types, uint32_t usage_bit, enum core_usage usage,
                                  const char *opname, keyuse *k)
{
    const ttlv_item *mask;
    core_action action;
    cf_status st;

    memset(k, 0, sizeof *k);
    if ((st = core_object_load(req, uid, &k->obj)) != CF_OK)
        return st;
    if (!type_in(k->obj->object_type, types))
        return core_fail(req, CF_ERR_OBJECT_TYPE, "this object cannot be used for %s", opname);
    /* The action of the operation's usage bit (core_authz.c), so that an
     * identity restricted to some uses (wrap and unwrap, say) is held to
     * them; the direction alone for a bit the table does not know. */
    action = core_action_of_usage(usage_bit);
    if (action == CORE_ACTION_COUNT)
        action = usage == CORE_USAGE_PROTECT ? CORE_ACT_ENCRYPT : CORE_ACT_DECRYPT;
    if ((st = core_object_check_use(req, k->obj, action)) != CF_OK)
        return st;
    mask = core_attr_find(k->obj, "Cryptographic Usage Mask", 0);
    if (mask == NULL || mask->type != TTLV_INTEGER || !((uint32_t)mask->v.i32 & usage_bit))
        return core_fail(req, CF_ERR_USAGE_MASK,
                         "the key's Cryptographic Usage Mask does not allow %s", opname);
    if ((st = parse_params(req, params ? params : key_params(k->obj), &k->p)) != CF_OK)
        return st;
    if (k->obj->object_type != KMIP_OBJECT_TYPE_PUBLIC_KEY &&
        k->obj->object_type != KMIP_OBJECT_TYPE_PRIVATE_KEY)
        return open_material(req, k->obj, &k->material);
    if (k->obj->key_format & CORE_KEY_FORMAT_VERBATIM)
        return core_key_pkey(req, k->obj, &k->pkey);
    if ((st = open_material(req, k->obj, &k->material)) != CF_OK)
        return st;
    st = crypto_key_load(k->obj->object_type, k->obj->key_format,
                         core_crypto_attr_enum(k->obj, "Cryptographic Algorithm"), k->material.p,
                         k->material.len, &k->pkey);
    cf_secret_free(&k->material);
    if (st != CF_OK) {
        CF_LOGE("object %s: stored key does not load (%s)", k->obj->uid, cf_status_str(st));
        return CF_ERR_INTERNAL;
    }
    return CF_OK;
}

/* crypto_ops' "not offered" becomes CF_ERR_CRYPTO_PARAMS with its reason. */
cf_status core_crypto_result(core_req *req, cf_status st, const char *why, const char *what)
{
    if (st == CF_OK)
        return CF_OK;
    if (st == CF_ERR_INVALID_FIELD)
        return core_fail(req, CF_ERR_CRYPTO_PARAMS, "%s", why ? why : "invalid parameters");
    if (st == CF_ERR_CRYPTO)
        return core_fail(req, CF_ERR_CRYPTO, "%s: %s", what, why ? why : "failed");
    if (st == CF_ERR_LIMIT)
        return core_fail(req, CF_ERR_LIMIT, "%s: the data is too long", what);
    return st;
}

static void *arena_copy(core_req *req, const void *p, size_t n)
{
    return cf_arena_memdup(req->arena, p, n ? n : 1);
}

/* ---------------------------------------------------- symmetric ciphers */

/* Initial counter block from an IV shorter than a block (RFC 3686 style):
 * IV || Initial Counter Value over Counter Length bits. */
static cf_status ctr_block(core_req *req, const cparams *p, const uint8_t *iv, size_t iv_len,
                           size_t block, uint8_t **out)
{
    size_t cb = (size_t)p->counter_bits / 8;
    uint8_t *b;

    if (!p->has_counter_bits || p->counter_bits % 8 != 0 || cb == 0 || cb > block ||
        (iv != NULL && iv_len + cb != block))
        return core_fail(req, CF_ERR_CRYPTO_PARAMS,
                         "the IV/Counter/Nonce length does not suit CTR mode");
    if ((b = cf_arena_calloc(req->arena, block)) == NULL)
        return CF_ERR_NOMEM;
    if (iv != NULL)
        memcpy(b, iv, iv_len);
    else if (crypto_random(b, block - cb) != CF_OK)
        return CF_ERR_CRYPTO;
    for (size_t i = 0; i < cb && i < 4; i++)
        b[block - 1 - i] = (uint8_t)((uint32_t)p->icv >> (8 * i));
    *out = b;
    return CF_OK;
}

/* Fill the cipher request; for Encrypt, generate a missing IV into out. */
cf_status core_crypto_cipher_setup(core_req *req, const keyuse *k, const core_crypto_in *in,
                                   bool enc, crypto_cipher_req *r, crypto_cipher_info *info,
                                   core_crypto_out *out)
{
    const cparams *p = &k->p;
    uint32_t alg = core_crypto_attr_enum(k->obj, "Cryptographic Algorithm");
    const char *why = NULL;
    uint8_t *iv = NULL;
    cf_status st;

    if (alg == 0)
        alg = p->alg;
    else if (p->alg != 0 && p->alg != alg)
        return core_fail(req, CF_ERR_CRYPTO_PARAMS,
                         "the Cryptographic Algorithm differs from the key's");
    memset(r, 0, sizeof *r);
    r->algorithm = alg;
    r->mode = p->mode;
    r->padding = p->padding;
    r->key = k->material.p;
    r->key_len = k->material.len;
    r->iv = in->iv;
    r->iv_len = in->iv_len;
    r->aad = in->aad;
    r->aad_len = in->aad_len;
    r->tag_len = p->has_tag_len ? (size_t)p->tag_len : enc || !in->check ? 16 : in->check_len;
    r->tag = enc ? NULL : in->check;
    if (p->has_iv_bits && (p->iv_bits % 8 != 0 || p->iv_bits == 0 || p->iv_bits > 8 * CRYPTO_IV_MAX))
        return core_fail(req, CF_ERR_CRYPTO_PARAMS, "invalid IV Length");
    if ((st = crypto_cipher_check(&(crypto_cipher_req){.algorithm = r->algorithm, .mode = r->mode,
                                                       .padding = r->padding, .key_len = r->key_len,
                                                       .tag_len = r->tag_len, .aad_len = r->aad_len},
                                  info, &why)) != CF_OK)
        return core_crypto_result(req, st, why, "encryption");
    if (!enc && info->aead && in->check == NULL)
        return core_fail(req, CF_ERR_MISSING, "the Authenticated Encryption Tag is required");
    if (!enc && info->aead && r->tag_len != in->check_len)
        return core_fail(req, CF_ERR_CRYPTO_PARAMS, "the tag's length differs from Tag Length");
    if (p->has_random_iv && p->random_iv && in->iv != NULL && enc)
        return core_fail(req, CF_ERR_CRYPTO_PARAMS, "Random IV was asked and an IV was given");
    if (info->iv_len == 0)
        return CF_OK;
    if (r->mode == KMIP_BLOCK_CIPHER_MODE_CTR && (in->iv == NULL ? p->has_counter_bits
                                                                 : in->iv_len != info->iv_len)) {
        if ((st = ctr_block(req, p, in->iv, in->iv_len, info->iv_len, &iv)) != CF_OK)
            return st;
        r->iv = iv;
        r->iv_len = info->iv_len;
    }
    if (r->iv == NULL) {
        if (!enc) /* CS-BC-M-11-14: Invalid Message "missing-iv" */
            return core_fail(req, CF_ERR_MISSING_IV, "an IV/Counter/Nonce is required");
        r->iv_len = p->has_iv_bits && info->iv_variable ? (size_t)p->iv_bits / 8 : info->iv_len;
        if ((iv = cf_arena_alloc(req->arena, r->iv_len)) == NULL)
            return CF_ERR_NOMEM;
        if (crypto_random(iv, r->iv_len) != CF_OK)
            return CF_ERR_CRYPTO;
        r->iv = iv;
    }
    if (enc && r->iv != in->iv) {
        out->iv = r->iv;
        out->iv_len = r->iv_len;
    }
    return CF_OK;
}

cf_status core_crypto_sym_encrypt(core_req *req, const keyuse *k, const core_crypto_in *in,
                                  core_crypto_out *out)
{
    crypto_cipher_req r;
    crypto_cipher_info info;
    uint8_t tag[CRYPTO_TAG_MAX];
    const char *why = NULL;
    cf_buf ct;
    cf_status st;

    if ((st = core_crypto_cipher_setup(req, k, in, true, &r, &info, out)) != CF_OK)
        return st;
    cf_buf_init(&ct, 0);
    st = crypto_encrypt(&r, in->data, in->data_len, &ct, tag, &why);
    if (st == CF_OK) {
        out->data = arena_copy(req, ct.p, ct.len);
        out->data_len = ct.len;
        if (info.aead) {
            out->tag = arena_copy(req, tag, r.tag_len);
            out->tag_len = r.tag_len;
        }
        if (out->data == NULL || (out->tag_len && out->tag == NULL))
            st = CF_ERR_NOMEM;
    }
    cf_buf_free(&ct);
    return core_crypto_result(req, st, why, "encryption");
}

static cf_status sym_decrypt(core_req *req, const keyuse *k, const core_crypto_in *in,
                             core_crypto_out *out)
{
    crypto_cipher_req r;
    crypto_cipher_info info;
    const char *why = NULL;
    cf_status st;

    if ((st = core_crypto_cipher_setup(req, k, in, false, &r, &info, out)) != CF_OK)
        return st;
    st = crypto_decrypt(&r, in->data, in->data_len, &out->plain, &why);
    return core_crypto_result(req, st, why, "decryption");
}

/* ------------------------------------------------------- RSA encryption */

static cf_status rsa_crypt(core_req *req, const keyuse *k, const core_crypto_in *in, bool enc,
                           core_crypto_out *out)
{
    uint32_t pad = k->p.padding ? k->p.padding : KMIP_PADDING_METHOD_OAEP;
    const char *why = NULL;
    cf_buf ct;
    cf_status st;

    if (!enc)
        return core_crypto_result(req,
                                  crypto_rsa_decrypt(k->pkey, pad, k->p.hash, k->p.mgf_hash,
                                                     in->data, in->data_len, &out->plain, &why),
                                  why, "decryption");
    cf_buf_init(&ct, 0);
    st = crypto_rsa_encrypt(k->pkey, pad, k->p.hash, k->p.mgf_hash, in->data, in->data_len, &ct,
                            &why);
    if (st == CF_OK) {
        out->data = arena_copy(req, ct.p, ct.len);
        out->data_len = ct.len;
        st = out->data ? CF_OK : CF_ERR_NOMEM;
    }
    cf_buf_free(&ct);
    return core_crypto_result(req, st, why, "encryption");
}

static cf_status cipher_op(core_req *req, const core_crypto_in *in, core_crypto_out *out,
                           bool enc)
{
    keyuse k;
    cf_status st;

    memset(out, 0, sizeof *out);
    if (!in->has_data)
        return core_fail(req, CF_ERR_MISSING, "Data is required");
    st = core_crypto_key_acquire(req, in->uid, in->params,
                                 enc ? KEYUSE_SYM | KEYUSE_PUB | KEYUSE_PRIV
                                     : KEYUSE_SYM | KEYUSE_PRIV,
                                 enc ? KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT
                                     : KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT,
                                 enc ? CORE_USAGE_PROTECT : CORE_USAGE_PROCESS,
                                 enc ? "Encrypt" : "Decrypt", &k);
    if (st == CF_OK) {
        out->uid = k.obj->uid;
        if (k.pkey != NULL)
            st = rsa_crypt(req, &k, in, enc, out);
        else
            st = enc ? core_crypto_sym_encrypt(req, &k, in, out) : sym_decrypt(req, &k, in, out);
    }
    core_crypto_key_release(&k);
    return st;
}

cf_status core_encrypt(core_req *req, const core_crypto_in *in, core_crypto_out *out)
{
    return cipher_op(req, in, out, true);
}

cf_status core_decrypt(core_req *req, const core_crypto_in *in, core_crypto_out *out)
{
    return cipher_op(req, in, out, false);
}

/* ------------------------------------------------------------ signatures */

static const struct dsa_map {
    uint32_t dsa, hash;
    bool rsa, pss;
} dsa_maps[] = {
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_MD5_WITH_RSA_ENCRYPTION, KMIP_HASHING_ALGORITHM_MD5, true, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_SHA_1_WITH_RSA_ENCRYPTION, KMIP_HASHING_ALGORITHM_SHA_1, true, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_SHA_224_WITH_RSA_ENCRYPTION, KMIP_HASHING_ALGORITHM_SHA_224, true, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_SHA_256_WITH_RSA_ENCRYPTION, KMIP_HASHING_ALGORITHM_SHA_256, true, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_SHA_384_WITH_RSA_ENCRYPTION, KMIP_HASHING_ALGORITHM_SHA_384, true, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_SHA_512_WITH_RSA_ENCRYPTION, KMIP_HASHING_ALGORITHM_SHA_512, true, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_SHA3_256_WITH_RSA_ENCRYPTION, KMIP_HASHING_ALGORITHM_SHA3_256, true, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_SHA3_384_WITH_RSA_ENCRYPTION, KMIP_HASHING_ALGORITHM_SHA3_384, true, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_SHA3_512_WITH_RSA_ENCRYPTION, KMIP_HASHING_ALGORITHM_SHA3_512, true, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_RSASSA_PSS, 0, true, true},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_ECDSA_WITH_SHA_1, KMIP_HASHING_ALGORITHM_SHA_1, false, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_ECDSA_WITH_SHA224, KMIP_HASHING_ALGORITHM_SHA_224, false, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_ECDSA_WITH_SHA256, KMIP_HASHING_ALGORITHM_SHA_256, false, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_ECDSA_WITH_SHA384, KMIP_HASHING_ALGORITHM_SHA_384, false, false},
    {KMIP_DIGITAL_SIGNATURE_ALGORITHM_ECDSA_WITH_SHA512, KMIP_HASHING_ALGORITHM_SHA_512, false, false},
};

/* Digital Signature Algorithm, or Cryptographic Algorithm + Hashing
 * Algorithm + Padding Method (1.4 section 3.6). */
static cf_status sig_params(core_req *req, const keyuse *k, bool digested, crypto_sig_req *r)
{
    const cparams *p = &k->p;
    bool rsa = EVP_PKEY_is_a(k->pkey, "RSA");

    memset(r, 0, sizeof *r);
    r->hash = p->hash;
    r->padding = p->padding;
    r->mgf_hash = p->mgf_hash;
    r->salt_len = p->has_salt_len ? p->salt_len : -1;
    r->digested = digested;
    if (p->dsa != 0) {
        const struct dsa_map *m = NULL;
        for (size_t i = 0; i < sizeof dsa_maps / sizeof dsa_maps[0]; i++)
            if (dsa_maps[i].dsa == p->dsa)
                m = &dsa_maps[i];
        if (m == NULL)
            return core_fail(req, CF_ERR_CRYPTO_PARAMS, "this Digital Signature Algorithm is not offered");
        if (m->rsa != rsa)
            return core_fail(req, CF_ERR_CRYPTO_PARAMS,
                             "the Digital Signature Algorithm does not suit the key");
        r->hash = m->hash ? m->hash : p->hash;
        r->padding = m->pss ? KMIP_PADDING_METHOD_PSS : rsa ? KMIP_PADDING_METHOD_PKCS1_V1_5 : 0;
    }
    if (p->alg != 0 && (rsa ? p->alg != KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA : !crypto_alg_is_ec(p->alg)))
        return core_fail(req, CF_ERR_CRYPTO_PARAMS, "the Cryptographic Algorithm does not suit the key");
    if (r->hash == 0)
        return core_fail(req, CF_ERR_CRYPTO_PARAMS,
                         "a Hashing Algorithm or Digital Signature Algorithm is required");
    return CF_OK;
}

static cf_status sig_op(core_req *req, const core_crypto_in *in, core_crypto_out *out, bool sign)
{
    crypto_sig_req r;
    const char *why = NULL;
    keyuse k;
    cf_buf sig;
    cf_status st;

    memset(out, 0, sizeof *out);
    if (!in->has_data)
        return core_fail(req, CF_ERR_MISSING, "Data or Digested Data is required");
    if (!sign && in->check == NULL)
        return core_fail(req, CF_ERR_MISSING, "Signature Data is required");
    cf_buf_init(&sig, 0);
    st = core_crypto_key_acquire(req, in->uid, in->params,
                                 sign ? KEYUSE_PRIV : KEYUSE_PUB | KEYUSE_PRIV,
                                 sign ? KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN
                                      : KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY,
                                 sign ? CORE_USAGE_PROTECT : CORE_USAGE_PROCESS,
                                 sign ? "Sign" : "Signature Verify", &k);
    if (st == CF_OK) {
        out->uid = k.obj->uid;
        st = sig_params(req, &k, in->digested, &r);
    }
    if (st == CF_OK && sign) {
        st = core_crypto_result(req, crypto_sign(k.pkey, &r, in->data, in->data_len, &sig, &why),
                                why, "signing");
        out->data = st == CF_OK ? arena_copy(req, sig.p, sig.len) : NULL;
        out->data_len = sig.len;
        if (st == CF_OK && out->data == NULL)
            st = CF_ERR_NOMEM;
    } else if (st == CF_OK) {
        st = core_crypto_result(req, crypto_verify(k.pkey, &r, in->data, in->data_len, in->check,
                                                   in->check_len, &out->valid, &why),
                                why, "verification");
    }
    cf_buf_free(&sig);
    core_crypto_key_release(&k);
    return st;
}

cf_status core_sign(core_req *req, const core_crypto_in *in, core_crypto_out *out)
{
    return sig_op(req, in, out, true);
}

cf_status core_verify(core_req *req, const core_crypto_in *in, core_crypto_out *out)
{
    return sig_op(req, in, out, false);
}

/* ------------------------------------------------------------------ MAC */

static bool is_hmac(uint32_t alg)
{
    return (alg >= KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA1 &&
            alg <= KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_MD5) ||
           (alg >= KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_224 &&
            alg <= KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA3_512);
}

/* HMAC named by the parameters (any key: CS-AC-M-4-14 MACs with an AES
 * key) or by the key's algorithm; CMAC by Block Cipher Mode CMAC. */
static cf_status mac_select(core_req *req, const keyuse *k, uint32_t *alg, uint32_t *mode)
{
    uint32_t kalg = core_crypto_attr_enum(k->obj, "Cryptographic Algorithm");
    *mode = 0;
    if (is_hmac(k->p.alg)) {
        *alg = k->p.alg;
    } else if (k->p.mode == KMIP_BLOCK_CIPHER_MODE_CMAC) {
        *alg = kalg;
        *mode = KMIP_BLOCK_CIPHER_MODE_CMAC;
    } else if (is_hmac(kalg) && (k->p.alg == 0 || k->p.alg == kalg)) {
        *alg = kalg;
    } else {
        return core_fail(req, CF_ERR_CRYPTO_PARAMS,
                         "MAC needs an HMAC Cryptographic Algorithm or Block Cipher Mode CMAC");
    }
    return CF_OK;
}

static cf_status mac_op(core_req *req, const core_crypto_in *in, core_crypto_out *out, bool gen)
{
    uint8_t mac[CRYPTO_MD_MAX];
    size_t n = 0;
    uint32_t alg = 0, mode = 0;
    const char *why = NULL;
    keyuse k;
    cf_status st;

    memset(out, 0, sizeof *out);
    if (!in->has_data)
        return core_fail(req, CF_ERR_MISSING, "Data is required");
    if (!gen && in->check == NULL)
        return core_fail(req, CF_ERR_MISSING, "MAC Data is required");
    st = core_crypto_key_acquire(req, in->uid, in->params, KEYUSE_SYM,
                                 gen ? KMIP_CRYPTOGRAPHIC_USAGE_MASK_MAC_GENERATE
                                     : KMIP_CRYPTOGRAPHIC_USAGE_MASK_MAC_VERIFY,
                                 gen ? CORE_USAGE_PROTECT : CORE_USAGE_PROCESS,
                                 gen ? "MAC" : "MAC Verify", &k);
    if (st == CF_OK) {
        out->uid = k.obj->uid;
        st = mac_select(req, &k, &alg, &mode);
    }
    if (st == CF_OK && gen) {
        st = crypto_mac(alg, mode, k.material.p, k.material.len, in->data, in->data_len, mac, &n,
                        &why);
        if (st == CF_OK && (out->data = arena_copy(req, mac, n)) == NULL)
            st = CF_ERR_NOMEM;
        out->data_len = n;
    } else if (st == CF_OK) {
        st = crypto_mac_verify(alg, mode, k.material.p, k.material.len, in->data, in->data_len,
                               in->check, in->check_len, &out->valid, &why);
    }
    cf_cleanse(mac, sizeof mac);
    core_crypto_key_release(&k);
    return core_crypto_result(req, st, why, "MAC");
}

cf_status core_mac(core_req *req, const core_crypto_in *in, core_crypto_out *out)
{
    return mac_op(req, in, out, true);
}

cf_status core_mac_verify(core_req *req, const core_crypto_in *in, core_crypto_out *out)
{
    return mac_op(req, in, out, false);
}

/* ------------------------------------------------------------------ RNG */

cf_status core_rng_retrieve(core_req *req, int32_t len, const uint8_t **out)
{
    uint8_t *p;
    *out = NULL;
    if (len <= 0 || len > CORE_RNG_MAX)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Data Length must be from 1 to %d", CORE_RNG_MAX);
    if ((p = cf_arena_alloc(req->arena, (size_t)len)) == NULL)
        return CF_ERR_NOMEM;
    if (crypto_random(p, (size_t)len) != CF_OK) /* 1.4 section 11.36 */
        return core_fail(req, CF_ERR_CRYPTO, "the random number generator failed");
    *out = p;
    return CF_OK;
}

cf_status core_rng_seed(core_req *req, const uint8_t *p, size_t n, int32_t *out_used)
{
    *out_used = 0;
    if (n > CORE_RNG_MAX)
        return core_fail(req, CF_ERR_INVALID_FIELD, "seed data longer than %d bytes", CORE_RNG_MAX);
    if (crypto_rng_seed(p, n) != CF_OK)
        return core_fail(req, CF_ERR_CRYPTO, "seeding failed");
    *out_used = (int32_t)n;
    return CF_OK;
}
