/*
 * core_envelope.c - envelope encryption with root keys: wrap, unwrap and
 * rewrap of data-encryption keys (DEKs).
 *
 * Each call loads the root key, checks the caller may use it for this
 * (core_object_check_use: role, restriction to actions and keys, state and
 * dates; then the key is a root key and its usage mask holds Wrap Key /
 * Unwrap Key), and works on the version the operation needs: the newest
 * to wrap, the one the wrapped form names to unwrap (core_versions.c). The
 * wrapped form is core_env_format.c's (docs/envelope.md).
 *
 * The encryption ceiling: each wrap takes one encryption from the newest
 * version's reservation (core_version_take). When that version has
 * reached the key's ceiling, the wrap rotates the key first
 * (CORE_ROTATE_CEILING, a server decision like the scheduler's: no
 * rotation right is asked of the caller) and wraps under the new version,
 * so clients never see the ceiling; a key that cannot be rotated (a
 * concurrent rotation retried out, a store failure) refuses the wrap with
 * that error rather than exceed the ceiling.
 *
 * Errors a client can cause: anything that is not a well-formed wrapped
 * form of this server, or does not authenticate (tampering, other AAD,
 * other tenant), is CF_ERR_CRYPTO; a well-formed one naming another key
 * the caller can see is CF_ERR_INVALID_FIELD (the message names it); a
 * destroyed version CF_ERR_DESTROYED. Plaintext never reaches a log.
 */
#include "core/core_env_int.h"

#include <string.h>

#include "util/log.h"

#define WRAP_RETRIES 3

bool core_is_root_key(const core_object *obj)
{
    const ttlv_item *alg = core_attr_find(obj, "Cryptographic Algorithm", 0);
    const ttlv_item *ext = core_attr_find(obj, "Extractable", 0);
    const ttlv_item *mask = core_attr_find(obj, "Cryptographic Usage Mask", 0);
    uint32_t wrap =
        KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY | KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY;
    return obj->object_type == KMIP_OBJECT_TYPE_SYMMETRIC_KEY && alg != NULL &&
           alg->type == TTLV_ENUMERATION && alg->v.u32 == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES &&
           ext != NULL && ext->type == TTLV_BOOLEAN && !ext->v.b && mask != NULL &&
           mask->type == TTLV_INTEGER && ((uint32_t)mask->v.i32 & wrap) != 0;
}

/* Load uid and check it may serve `action` (CORE_ACT_WRAP / UNWRAP). */
static cf_status load_root(core_req *req, const char *uid, core_action action,
                           core_object **out)
{
    uint32_t bit = action == CORE_ACT_WRAP ? KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY
                                           : KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY;
    const ttlv_item *mask;
    cf_status st;

    if ((st = core_object_load(req, uid, out)) != CF_OK ||
        (st = core_object_check_use(req, *out, action)) != CF_OK)
        return st;
    if (!core_is_root_key(*out))
        return core_fail(req, CF_ERR_OBJECT_TYPE,
                         "the key is not a root key (an AES key, not extractable, with the "
                         "wrap_key or unwrap_key use)");
    mask = core_attr_find(*out, "Cryptographic Usage Mask", 0);
    if (((uint32_t)mask->v.i32 & bit) == 0)
        return core_fail(req, CF_ERR_USAGE_MASK, "the key's usage does not include %s",
                         action == CORE_ACT_WRAP ? "wrap_key" : "unwrap_key");
    return CF_OK;
}

/* Check the caller's AAD, and note it for the audit record (as an HMAC). */
static cf_status check_aad(core_req *req, const core_aad *aad)
{
    const char *why;
    cf_status st = core_env_aad_check(aad, &why);
    if (st != CF_OK)
        return core_fail(req, st, "%s", why);
    core_audit_aad(req, aad);
    return CF_OK;
}

/* Wrap pt under obj's newest version. CF_ERR_CONFLICT: the key rotated
 * (at its ceiling, here or elsewhere): reload and retry. */
static cf_status wrap_once(core_req *req, core_object *obj, const cf_secret *pt,
                           const core_aad *aad, core_env_out *out)
{
    uint32_t v = core_key_newest(obj), nv;
    uint8_t nonce[CORE_ENV_NONCE_LEN];
    cf_secret key = {0};
    cf_buf ct;
    cf_status st = core_version_take(req, obj);

    if (st == CF_ERR_USAGE_LIMIT) {
        st = core_key_rotate_obj(req, obj, CORE_ROTATE_CEILING,
                                 &(core_rotate_opts){.expect_version = v}, &nv);
        return st == CF_OK ? CF_ERR_CONFLICT : st;
    }
    if (st == CF_ERR_CONFLICT)
        return core_fail(req, st, "the key is being rotated, retry");
    cf_buf_init(&ct, CORE_ENV_CT_MAX);
    if (st == CF_OK)
        st = core_version_material(req, obj, v, &key);
    if (st == CF_OK)
        st = crypto_random(nonce, sizeof nonce);
    if (st == CF_OK)
        st = core_env_seal(key.p, key.len, core_env_tenant(obj), obj->uid, v, aad, nonce, pt->p,
                           pt->len, &ct);
    if (st == CF_OK && (out->ciphertext = cf_arena_memdup(req->arena, ct.p, ct.len)) == NULL)
        st = CF_ERR_NOMEM;
    out->ciphertext_len = st == CF_OK ? ct.len : 0;
    out->version = v;
    out->newest = v;
    core_audit_version(req, v);
    cf_secret_free(&key);
    cf_buf_free(&ct);
    return st;
}

/* Load, check and wrap, retried while ceiling rotations move the key on. */
static cf_status wrap_loop(core_req *req, const char *uid, bool also_unwrap,
                           const uint8_t *ct, size_t ct_len, const cf_secret *given,
                           const core_aad *aad, core_env_out *out);

cf_status core_env_wrap(core_req *req, const char *uid, const cf_secret *plaintext,
                        const core_aad *aad, core_env_out *out)
{
    cf_secret dek = {0};
    cf_status st;

    memset(out, 0, sizeof *out);
    if ((st = check_aad(req, aad)) != CF_OK)
        return st;
    if (plaintext != NULL && (plaintext->len == 0 || plaintext->len > CORE_ENV_PLAINTEXT_MAX))
        return core_fail(req, CF_ERR_INVALID_FIELD, "the plaintext must be 1 to %d bytes",
                         CORE_ENV_PLAINTEXT_MAX);
    if (plaintext == NULL && (st = crypto_random_secret(CORE_ENV_DEK_LEN, &dek)) != CF_OK)
        return st;
    st = wrap_loop(req, uid, false, NULL, 0, plaintext ? plaintext : &dek, aad, out);
    if (st == CF_OK && plaintext == NULL)
        out->plaintext = dek; /* the generated DEK goes back to the caller */
    else
        cf_secret_free(&dek);
    return st;
}

/* uid names another key: say which if the caller can see it, else the
 * same answer as for any foreign bytes. */
static cf_status other_key(core_req *req, const core_env_hdr *h)
{
    char *id = cf_arena_strndup(req->arena, h->key_id, h->key_id_len);
    core_object *other;
    if (id == NULL)
        return CF_ERR_NOMEM;
    if (strlen(id) == h->key_id_len && core_object_load(req, id, &other) == CF_OK)
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "the ciphertext was wrapped by another key (%s)", id);
    return core_fail(req, CF_ERR_CRYPTO, "the ciphertext was not wrapped by this key");
}

/* Unwrap ct with obj (checked): *pt the plaintext, *version its version. */
static cf_status unwrap_with(core_req *req, const core_object *obj, const uint8_t *ct,
                             size_t ct_len, const core_aad *aad, cf_secret *pt,
                             uint32_t *version)
{
    cf_secret key = {0};
    core_env_hdr h;
    const char *why;
    cf_status st;

    if (ct == NULL || ct_len > CORE_ENV_CT_MAX ||
        (st = core_env_parse(ct, ct_len, &h, &why)) != CF_OK)
        return core_fail(req, CF_ERR_CRYPTO, "%s", ct ? why : "no ciphertext");
    if (h.key_id_len != strlen(obj->uid) || memcmp(h.key_id, obj->uid, h.key_id_len) != 0)
        return other_key(req, &h);
    *version = h.version;
    core_audit_version(req, h.version);
    st = core_version_material(req, obj, h.version, &key);
    if (st == CF_ERR_NOT_FOUND)
        return core_fail(req, CF_ERR_CRYPTO, "the key has no version %u", h.version);
    if (st == CF_ERR_DESTROYED)
        return core_fail(req, st, "version %u of the key is destroyed", h.version);
    if (st == CF_OK)
        st = core_env_open(key.p, key.len, core_env_tenant(obj), &h, aad, pt);
    cf_secret_free(&key);
    if (st == CF_ERR_CRYPTO)
        return core_fail(req, st, "the wrapped key does not authenticate (altered, or "
                                  "other additional authenticated data)");
    return st;
}

cf_status core_env_unwrap(core_req *req, const char *uid, const uint8_t *ct, size_t ct_len,
                          const core_aad *aad, core_env_out *out)
{
    core_object *obj;
    cf_status st;

    memset(out, 0, sizeof *out);
    if ((st = check_aad(req, aad)) != CF_OK ||
        (st = load_root(req, uid, CORE_ACT_UNWRAP, &obj)) != CF_OK)
        return st;
    st = unwrap_with(req, obj, ct, ct_len, aad, &out->plaintext, &out->version);
    out->newest = core_key_newest(obj);
    if (st != CF_OK)
        cf_secret_free(&out->plaintext);
    return st;
}

cf_status core_env_rewrap(core_req *req, const char *uid, const uint8_t *ct, size_t ct_len,
                          const core_aad *aad, core_env_out *out)
{
    cf_status st;
    memset(out, 0, sizeof *out);
    if ((st = check_aad(req, aad)) != CF_OK)
        return st;
    return wrap_loop(req, uid, true, ct, ct_len, NULL, aad, out);
}

/* One round of wrap or rewrap on a freshly loaded key. */
static cf_status wrap_round(core_req *req, const char *uid, bool also_unwrap, const uint8_t *ct,
                           size_t ct_len, const cf_secret *given, const core_aad *aad,
                           core_env_out *out)
{
    core_object *obj;
    cf_secret pt = {0};
    uint32_t from = 0;
    cf_status st = load_root(req, uid, CORE_ACT_WRAP, &obj);

    if (st == CF_OK && also_unwrap) {
        if ((st = core_object_check_use(req, obj, CORE_ACT_UNWRAP)) == CF_OK &&
            ((uint32_t)core_attr_find(obj, "Cryptographic Usage Mask", 0)->v.i32 &
             KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY) == 0)
            st = core_fail(req, CF_ERR_USAGE_MASK, "the key's usage does not include unwrap_key");
        if (st == CF_OK)
            st = unwrap_with(req, obj, ct, ct_len, aad, &pt, &from);
    }
    if (st == CF_OK)
        st = wrap_once(req, obj, also_unwrap ? &pt : given, aad, out);
    cf_secret_free(&pt);
    if (st == CF_OK && also_unwrap)
        CF_LOGD("rewrap %s: version %u -> %u", uid, from, out->version);
    return st;
}

static cf_status wrap_loop(core_req *req, const char *uid, bool also_unwrap,
                           const uint8_t *ct, size_t ct_len, const cf_secret *given,
                           const core_aad *aad, core_env_out *out)
{
    cf_status st = CF_ERR_CONFLICT;
    for (int i = 0; i < WRAP_RETRIES && st == CF_ERR_CONFLICT; i++)
        st = wrap_round(req, uid, also_unwrap, ct, ct_len, given, aad, out);
    if (st == CF_ERR_CONFLICT)
        return core_fail(req, st, "the key is being rotated, retry");
    return st;
}
