/*
 * core_xkey.c - the keys and primitives of reversibility documents
 * (docs/export.md): which key the material is wrapped for (a destination's
 * RSA public key given as PEM, or an AES key of the tenant), the three
 * wrapping methods, the Key Wrapping Data that names them, the payload
 * binding each wrapped Key Value to its object's attributes (and version),
 * and the per-object audit records. core_xport.c exports, core_ximport.c
 * imports.
 *
 * The RSA public key of an export is nobody's object in this server: it is
 * parsed here (PEM: SubjectPublicKeyInfo, PKCS#1, or a certificate's key)
 * and named by the SHA-256 of its SubjectPublicKeyInfo, which the importer
 * checks against its private key's before unwrapping anything.
 */
#include "core/core_xport_int.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/core_audit_int.h"
#include "util/limits.h"
#include "util/log.h"

#define EPHEMERAL_LEN 32 /* CKM_RSA_AES_KEY_WRAP's temporary AES-256 key */
#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 16384

const ttlv_limits core_x_limits = {
    .max_bytes = CF_LIMIT_KMIP_MESSAGE,
    .max_depth = CF_LIMIT_TTLV_DEPTH,
    .max_items = CF_LIMIT_TTLV_ITEMS,
    .max_string = CF_LIMIT_STRING,
};

/* ----------------------------------------------------------------- names */
static const char *const xwrap_names[] = {
    [CORE_XWRAP_RSA_AES_KWP] = "rsa_aes_key_wrap_sha256",
    [CORE_XWRAP_RSA_OAEP] = "rsa_oaep_sha256",
    [CORE_XWRAP_AES_KWP] = "aes_kwp",
};
static const char *const xform_names[] = {
    [CORE_XFORM_NONE] = "none",
    [CORE_XFORM_KEY_BLOCK] = "key_block",
    [CORE_XFORM_OPAQUE] = "opaque",
    [CORE_XFORM_CERTIFICATE] = "certificate",
    [CORE_XFORM_AS_REGISTERED] = "as_registered",
};

const char *core_xwrap_name(core_xwrap_alg alg)
{
    return alg >= CORE_XWRAP_RSA_AES_KWP && alg <= CORE_XWRAP_AES_KWP ? xwrap_names[alg] : "?";
}

bool core_xwrap_parse(const char *name, core_xwrap_alg *out)
{
    for (unsigned a = CORE_XWRAP_RSA_AES_KWP; name && a <= CORE_XWRAP_AES_KWP; a++)
        if (strcmp(name, xwrap_names[a]) == 0) {
            *out = (core_xwrap_alg)a;
            return true;
        }
    return false;
}

const char *core_xform_name(core_xform f)
{
    return f <= CORE_XFORM_AS_REGISTERED ? xform_names[f] : "?";
}

bool core_xform_parse(const char *name, core_xform *out)
{
    for (unsigned f = CORE_XFORM_NONE; name && f <= CORE_XFORM_AS_REGISTERED; f++)
        if (strcmp(name, xform_names[f]) == 0) {
            *out = (core_xform)f;
            return true;
        }
    return false;
}

static bool is_rsa(core_xwrap_alg alg)
{
    return alg == CORE_XWRAP_RSA_AES_KWP || alg == CORE_XWRAP_RSA_OAEP;
}

/* ------------------------------------------------------------- the keys */

/* An RSA public key from PEM (NUL-terminated): SubjectPublicKeyInfo or
 * PKCS#1 (the decoder recognises both), or a certificate's key. */
static EVP_PKEY *pem_public_key(const char *pem, size_t len)
{
    OSSL_DECODER_CTX *dctx;
    EVP_PKEY *k = NULL;
    X509 *cert = NULL;
    BIO *b;

    ERR_clear_error();
    if (len > CF_LIMIT_STRING || (b = BIO_new_mem_buf(pem, (int)len)) == NULL)
        return NULL;
    if (strstr(pem, "-----BEGIN CERTIFICATE-----") != NULL) {
        if ((cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
            k = X509_get_pubkey(cert);
        X509_free(cert);
    } else {
        dctx = OSSL_DECODER_CTX_new_for_pkey(&k, "PEM", NULL, "RSA", EVP_PKEY_PUBLIC_KEY, NULL,
                                             NULL);
        if (dctx == NULL || OSSL_DECODER_from_bio(dctx, b) != 1) {
            EVP_PKEY_free(k);
            k = NULL;
        }
        OSSL_DECODER_CTX_free(dctx);
    }
    BIO_free(b);
    ERR_clear_error(); /* a client's bad PEM is not a server fault */
    return k;
}

/* SHA-256 of key's SubjectPublicKeyInfo (a private key: of its public half). */
static cf_status spki_sha256(const EVP_PKEY *key, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    cf_status st = n > 0 ? crypto_sha256(der, (size_t)n, out) : CF_ERR_CRYPTO;
    OPENSSL_free(der);
    return st;
}

static cf_status rsa_size_check(core_req *req, const EVP_PKEY *k)
{
    int bits = EVP_PKEY_get_bits(k);
    if (!EVP_PKEY_is_a(k, "RSA"))
        return core_fail(req, CF_ERR_UNSUPPORTED, "the wrapping key must be an RSA key");
    if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the RSA key has %d bits: %d to %d are "
                         "accepted", bits, RSA_BITS_MIN, RSA_BITS_MAX);
    return CF_OK;
}

/* Load the tenant's key key_id and check it may serve action now, with
 * `bit` in its usage mask. */
static cf_status tenant_key(core_req *req, const char *key_id, core_action action, uint32_t bit,
                            core_object **out)
{
    const ttlv_item *mask;
    cf_status st = core_object_load(req, key_id, out);

    if (st == CF_ERR_NOT_FOUND)
        return core_fail(req, st, "no key %s in this tenant", key_id);
    if (st != CF_OK || (st = core_object_check_use(req, *out, action)) != CF_OK)
        return st;
    mask = core_attr_find(*out, "Cryptographic Usage Mask", 0);
    if (mask == NULL || mask->type != TTLV_INTEGER || !((uint32_t)mask->v.i32 & bit))
        return core_fail(req, CF_ERR_USAGE_MASK, "the key %s lacks the %s usage", key_id,
                         bit == KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY ? "wrap_key"
                                                                         : "unwrap_key");
    return CF_OK;
}

/* The AES key key_id's bytes into k->kek. */
static cf_status aes_key(core_req *req, const char *key_id, core_action action, core_xkey *k)
{
    uint32_t bit = action == CORE_ACT_WRAP ? KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY
                                           : KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY;
    const ttlv_item *alg;
    core_object *obj;
    uint32_t fmt;
    cf_status st;

    if (key_id == NULL)
        return core_fail(req, CF_ERR_MISSING, "aes_kwp needs the id of an AES key");
    if ((st = tenant_key(req, key_id, action, bit, &obj)) != CF_OK)
        return st;
    alg = core_attr_find(obj, "Cryptographic Algorithm", 0);
    if (obj->object_type != KMIP_OBJECT_TYPE_SYMMETRIC_KEY || alg == NULL ||
        alg->v.u32 != KMIP_CRYPTOGRAPHIC_ALGORITHM_AES)
        return core_fail(req, CF_ERR_OBJECT_TYPE, "aes_kwp needs an AES key");
    if ((st = core_key_material(req, obj, &k->kek, &fmt)) != CF_OK)
        return st;
    if (k->kek.len != 16 && k->kek.len != 24 && k->kek.len != 32)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the AES key is not 128, 192 or 256 bits");
    k->key_id = obj->uid;
    return CF_OK;
}

cf_status core_xkey_export(core_req *req, core_xwrap_alg alg, const char *pem, size_t pem_len,
                           const char *key_id, core_xkey *out)
{
    cf_status st;

    memset(out, 0, sizeof *out);
    out->alg = alg;
    if (alg == CORE_XWRAP_AES_KWP)
        return aes_key(req, key_id, CORE_ACT_WRAP, out);
    if (!is_rsa(alg))
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown wrapping method");
    if (pem == NULL || (pem = cf_arena_strndup(req->arena, pem, pem_len)) == NULL ||
        (out->pkey = pem_public_key(pem, pem_len)) == NULL)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the wrapping key is not a PEM public key "
                         "(PUBLIC KEY, RSA PUBLIC KEY) or certificate");
    if ((st = rsa_size_check(req, out->pkey)) != CF_OK)
        return st;
    return spki_sha256(out->pkey, out->spki_sha256);
}

cf_status core_xkey_import(core_req *req, core_xwrap_alg alg, const char *key_id, core_xkey *out)
{
    core_object *obj;
    cf_status st;

    memset(out, 0, sizeof *out);
    out->alg = alg;
    /* The import's own right first: a Writer learns nothing of the key. */
    if ((st = core_req_authorize(req, CORE_ACT_IMPORT, NULL)) != CF_OK)
        return st;
    if (alg == CORE_XWRAP_AES_KWP)
        return aes_key(req, key_id, CORE_ACT_UNWRAP, out);
    if (!is_rsa(alg))
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown wrapping method");
    if (key_id == NULL)
        return core_fail(req, CF_ERR_MISSING, "the id of the RSA private key is needed");
    if ((st = tenant_key(req, key_id, CORE_ACT_UNWRAP, KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY,
                         &obj)) != CF_OK)
        return st;
    if (obj->object_type != KMIP_OBJECT_TYPE_PRIVATE_KEY)
        return core_fail(req, CF_ERR_OBJECT_TYPE, "the unwrapping key must be an RSA private key");
    if ((st = core_key_pkey(req, obj, &out->pkey)) != CF_OK ||
        (st = rsa_size_check(req, out->pkey)) != CF_OK)
        return st;
    out->key_id = obj->uid;
    return spki_sha256(out->pkey, out->spki_sha256);
}

void core_xkey_close(core_xkey *k)
{
    EVP_PKEY_free(k->pkey);
    k->pkey = NULL;
    cf_secret_free(&k->kek);
}

/* ------------------------------------------------------------- wrapping */

cf_status core_x_wrap(core_req *req, const core_xkey *k, const cf_secret *in, cf_buf *out)
{
    cf_secret eph = {0};
    cf_status st;

    switch (k->alg) {
    case CORE_XWRAP_AES_KWP:
        return crypto_aes_wrap(k->kek.p, k->kek.len, true, in->p, in->len, out);
    case CORE_XWRAP_RSA_OAEP:
        st = crypto_rsa_oaep_wrap(k->pkey, KMIP_HASHING_ALGORITHM_SHA_256,
                                  KMIP_HASHING_ALGORITHM_SHA_256, in->p, in->len, out);
        if (st == CF_ERR_INVALID_FIELD)
            return core_fail(req, st, "%zu bytes are too many for rsa_oaep_sha256 with this key: "
                             "use rsa_aes_key_wrap_sha256", in->len);
        return st;
    case CORE_XWRAP_RSA_AES_KWP:
        /* OAEP of a fresh AES-256 key, then KWP of the payload under it. */
        if ((st = crypto_random_secret(EPHEMERAL_LEN, &eph)) == CF_OK)
            st = crypto_rsa_oaep_wrap(k->pkey, KMIP_HASHING_ALGORITHM_SHA_256,
                                      KMIP_HASHING_ALGORITHM_SHA_256, eph.p, eph.len, out);
        if (st == CF_OK)
            st = crypto_aes_wrap(eph.p, eph.len, true, in->p, in->len, out);
        cf_secret_free(&eph);
        return st;
    default:
        return CF_ERR_INTERNAL;
    }
}

cf_status core_x_unwrap(core_req *req, const core_xkey *k, const uint8_t *in, size_t n,
                        cf_secret *out)
{
    cf_secret eph = {0};
    size_t ks;
    cf_status st;

    out->p = NULL;
    out->len = 0;
    switch (k->alg) {
    case CORE_XWRAP_AES_KWP:
        st = crypto_aes_unwrap(k->kek.p, k->kek.len, true, in, n, out);
        break;
    case CORE_XWRAP_RSA_OAEP:
        st = crypto_rsa_oaep_unwrap(k->pkey, KMIP_HASHING_ALGORITHM_SHA_256,
                                    KMIP_HASHING_ALGORITHM_SHA_256, in, n, out);
        break;
    case CORE_XWRAP_RSA_AES_KWP:
        ks = (size_t)EVP_PKEY_get_size(k->pkey);
        st = n > ks + 16 ? crypto_rsa_oaep_unwrap(k->pkey, KMIP_HASHING_ALGORITHM_SHA_256,
                                                  KMIP_HASHING_ALGORITHM_SHA_256, in, ks, &eph)
                         : CF_ERR_CRYPTO;
        if (st == CF_OK && eph.len != EPHEMERAL_LEN)
            st = CF_ERR_CRYPTO;
        if (st == CF_OK)
            st = crypto_aes_unwrap(eph.p, eph.len, true, in + ks, n - ks, out);
        cf_secret_free(&eph);
        break;
    default:
        return CF_ERR_INTERNAL;
    }
    if (st == CF_OK)
        return CF_OK;
    cf_secret_free(out);
    if (st == CF_ERR_NOMEM)
        return st;
    return core_fail(req, CF_ERR_CRYPTO, "the material does not unwrap with this key (%s): "
                     "another key, or altered", core_xwrap_name(k->alg));
}

/* Cryptographic Parameters of the method. */
static ttlv_item *params_of(cf_arena *a, core_xwrap_alg alg)
{
    ttlv_item *cp = ttlv_new_struct(a, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
    ttlv_item *x[5] = {0};
    size_t n = 0;

    if (cp == NULL)
        return NULL;
    if (alg != CORE_XWRAP_RSA_OAEP)
        x[n++] = ttlv_new_enum(a, KMIP_TAG_BLOCK_CIPHER_MODE,
                               KMIP_BLOCK_CIPHER_MODE_AESKEYWRAPPADDING);
    if (is_rsa(alg)) {
        x[n++] = ttlv_new_enum(a, KMIP_TAG_PADDING_METHOD, KMIP_PADDING_METHOD_OAEP);
        x[n++] = ttlv_new_enum(a, KMIP_TAG_HASHING_ALGORITHM, KMIP_HASHING_ALGORITHM_SHA_256);
        x[n++] = ttlv_new_enum(a, KMIP_TAG_MASK_GENERATOR, KMIP_MASK_GENERATOR_MGF1);
        x[n++] = ttlv_new_enum(a, KMIP_TAG_MASK_GENERATOR_HASHING_ALGORITHM,
                               KMIP_HASHING_ALGORITHM_SHA_256);
    }
    for (size_t i = 0; i < n; i++) {
        if (x[i] == NULL)
            return NULL;
        ttlv_append(cp, x[i]);
    }
    return cp;
}

ttlv_item *core_x_kwd(core_req *req, const core_xkey *k)
{
    cf_arena *a = req->arena;
    char uid[CF_LIMIT_UID + sizeof CORE_X_SPKI_PREFIX + 64];
    ttlv_item *kwd = ttlv_new_struct(a, KMIP_TAG_KEY_WRAPPING_DATA);
    ttlv_item *eki = ttlv_new_struct(a, KMIP_TAG_ENCRYPTION_KEY_INFORMATION);
    ttlv_item *x[5];

    if (k->alg == CORE_XWRAP_AES_KWP) {
        snprintf(uid, sizeof uid, "%s", k->key_id ? k->key_id : "");
    } else {
        memcpy(uid, CORE_X_SPKI_PREFIX, sizeof CORE_X_SPKI_PREFIX - 1);
        for (size_t i = 0; i < 32; i++)
            snprintf(uid + sizeof CORE_X_SPKI_PREFIX - 1 + 2 * i, 3, "%02x", k->spki_sha256[i]);
    }
    x[0] = ttlv_new_enum(a, KMIP_TAG_WRAPPING_METHOD, KMIP_WRAPPING_METHOD_ENCRYPT);
    x[1] = ttlv_new_text(a, KMIP_TAG_UNIQUE_IDENTIFIER, uid, strlen(uid));
    x[2] = params_of(a, k->alg);
    x[3] = ttlv_new_enum(a, KMIP_TAG_ENCODING_OPTION, KMIP_ENCODING_OPTION_TTLV_ENCODING);
    if (!kwd || !eki || !x[0] || !x[1] || !x[2] || !x[3])
        return NULL;
    ttlv_append(eki, x[1]);
    ttlv_append(eki, x[2]);
    ttlv_append(kwd, x[0]);
    ttlv_append(kwd, eki);
    ttlv_append(kwd, x[3]);
    return kwd;
}

bool core_x_kwd_matches(core_req *req, const ttlv_item *kwd, const core_xkey *k)
{
    ttlv_item *want = core_x_kwd(req, k);
    const ttlv_item *eki = ttlv_child(kwd, KMIP_TAG_ENCRYPTION_KEY_INFORMATION);
    const ttlv_item *weki = want ? ttlv_child(want, KMIP_TAG_ENCRYPTION_KEY_INFORMATION) : NULL;
    uint32_t tags[] = {KMIP_TAG_WRAPPING_METHOD, KMIP_TAG_ENCODING_OPTION};

    if (want == NULL || eki == NULL || kwd->nchildren != want->nchildren ||
        eki->nchildren != weki->nchildren)
        return false;
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        const ttlv_item *a = ttlv_child(kwd, tags[i]), *b = ttlv_child(want, tags[i]);
        if (a == NULL || a->type != TTLV_ENUMERATION || a->v.u32 != b->v.u32)
            return false;
    }
    if (!ttlv_equal(ttlv_child(eki, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS),
                    ttlv_child(weki, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS)))
        return false;
    /* aes_kwp: the source's id of the same key, not ours. */
    return k->alg == CORE_XWRAP_AES_KWP ||
           ttlv_equal(ttlv_child(eki, KMIP_TAG_UNIQUE_IDENTIFIER),
                      ttlv_child(weki, KMIP_TAG_UNIQUE_IDENTIFIER));
}

/* ------------------------------------------------------------ binding */

/* Attribute { Vendor Identification "y", Attribute Name, Attribute Value v }. */
static ttlv_item *vendor_attr(cf_arena *a, const char *name, ttlv_item *v)
{
    ttlv_item *at = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTE);
    ttlv_item *vi = ttlv_new_text(a, KMIP_TAG_VENDOR_IDENTIFICATION, CORE_X_VENDOR, 1);
    ttlv_item *an = ttlv_new_text(a, KMIP_TAG_ATTRIBUTE_NAME, name, strlen(name));
    if (!at || !vi || !an || !v)
        return NULL;
    ttlv_append(at, vi);
    ttlv_append(at, an);
    ttlv_append(at, v);
    return at;
}

cf_status core_x_payload(core_req *req, const ttlv_item *kv, const uint8_t digest[32],
                         uint32_t version, cf_secret *out)
{
    cf_arena *a = req->arena;
    ttlv_item *p = ttlv_new_struct(a, KMIP_TAG_KEY_VALUE);
    ttlv_item *bind = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTES);
    ttlv_item *d = vendor_attr(a, CORE_X_DIGEST_ATTR,
                               ttlv_new_bytes(a, KMIP_TAG_ATTRIBUTE_VALUE, digest, 32));
    cf_buf buf;
    cf_status st;

    if (!p || !bind || !d)
        return CF_ERR_NOMEM;
    for (const ttlv_item *c = kv->first; c; c = c->next) {
        ttlv_item *x = ttlv_clone(a, c);
        if (x == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(p, x);
    }
    ttlv_append(bind, d);
    if (version != 0) {
        ttlv_item *v = vendor_attr(a, CORE_X_VERSION_ATTR,
                                   ttlv_new_int(a, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)version));
        if (v == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(bind, v);
    }
    ttlv_append(p, bind);
    cf_buf_init(&buf, CF_LIMIT_KMIP_MESSAGE);
    if ((st = ttlv_encode(p, &buf)) == CF_OK)
        st = cf_secret_dup(out, buf.p, buf.len);
    cf_buf_free(&buf);
    return st;
}

/* The value of vendor attribute `name` in the binding structure, or NULL. */
static const ttlv_item *bound(const ttlv_item *bind, const char *name)
{
    for (const ttlv_item *at = bind->first; at; at = at->next) {
        const char *vi, *an;
        size_t vl, nl;
        if (at->tag == KMIP_TAG_ATTRIBUTE && at->type == TTLV_STRUCTURE &&
            ttlv_get_text(at, KMIP_TAG_VENDOR_IDENTIFICATION, &vi, &vl) == CF_OK && vl == 1 &&
            vi[0] == CORE_X_VENDOR[0] &&
            ttlv_get_text(at, KMIP_TAG_ATTRIBUTE_NAME, &an, &nl) == CF_OK &&
            nl == strlen(name) && memcmp(an, name, nl) == 0)
            return ttlv_child(at, KMIP_TAG_ATTRIBUTE_VALUE);
    }
    return NULL;
}

cf_status core_x_payload_open(core_req *req, const cf_secret *p, const uint8_t digest[32],
                              uint32_t version, ttlv_item **out_kv)
{
    ttlv_item *kv = NULL, *plain;
    const ttlv_item *d, *v;
    ttlv_error err;

    if (ttlv_decode(p->p, p->len, &core_x_limits, req->arena, &kv, &err) != CF_OK ||
        kv->tag != KMIP_TAG_KEY_VALUE || kv->type != TTLV_STRUCTURE || kv->last == NULL ||
        kv->last->tag != KMIP_TAG_ATTRIBUTES || kv->last->type != TTLV_STRUCTURE)
        return core_fail(req, CF_ERR_CRYPTO, "the unwrapped material is not a bound Key Value");
    d = bound(kv->last, CORE_X_DIGEST_ATTR);
    v = bound(kv->last, CORE_X_VERSION_ATTR);
    if (d == NULL || d->type != TTLV_BYTE_STRING || d->v.s.len != 32 ||
        CRYPTO_memcmp(d->v.s.p, digest, 32) != 0)
        return core_fail(req, CF_ERR_CRYPTO, "the material is not bound to these attributes: "
                         "the document was altered");
    if ((version == 0) != (v == NULL) ||
        (v != NULL && (v->type != TTLV_INTEGER || (uint32_t)v->v.i32 != version)))
        return core_fail(req, CF_ERR_CRYPTO, "the material is not bound to version %u: the "
                         "document was altered", version);
    if ((plain = ttlv_new_struct(req->arena, KMIP_TAG_KEY_VALUE)) == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *c = kv->first; c != kv->last; c = c->next) {
        ttlv_item *x = ttlv_clone(req->arena, c);
        if (x == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(plain, x);
    }
    *out_kv = plain;
    return CF_OK;
}

/* ---------------------------------------------------------------- audit */

cf_status core_x_audit(core_req *req, const char *operation, const core_object *obj,
                       const char *uid, uint32_t version, cf_status result)
{
    struct core_audit_ctx *outer = req->audit;
    const struct cf_status_info *si = cf_status_info(result);
    bool txn = req->batch_txn;
    cf_status st;

    if (req->core == NULL || req->core->audit == NULL)
        return CF_OK;
    st = core_audit_begin(req, outer ? outer->fe : CORE_AUDIT_REST, operation,
                          outer ? outer->r.source : NULL);
    if (st == CF_OK) {
        if (outer != NULL && outer->cert_sha256 != NULL)
            req->audit->cert_sha256 = outer->cert_sha256;
        if (obj != NULL)
            core_audit_object(req, obj);
        else
            core_audit_object_id(req, uid);
        core_audit_version(req, version);
        req->batch_txn = false; /* written now, not queued */
        st = core_audit_end(req, result == CF_OK ? "ok" : si->name,
                            result == CF_OK ? NULL : (req->err_msg ? req->err_msg : si->message));
        req->batch_txn = txn;
    }
    req->audit = outer;
    return st;
}
