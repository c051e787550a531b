/*
 * kmip_ops_crypto.c - the cryptographic service operations: Encrypt,
 * Decrypt, Sign, Signature Verify, MAC, MAC Verify (KMIP 1.2+), Derive Key
 * (1.0+), RNG Retrieve and RNG Seed (1.2+).
 *
 * Thin: read the payload into core_crypto_in, call core, write what the
 * request's version defines. Streaming (Correlation Value, Init and Final
 * Indicators, 1.3+) is accepted only for a single part (no Correlation
 * Value, the indicators absent or both true): multi-part operations answer
 * Feature Not Supported. Authenticated encryption needs 1.4, the first
 * version with the Authenticated Encryption Tag field: an AEAD result
 * cannot be delivered to an older client and is refused.
 */
#include "kmip/kmip_int.h"

#include <string.h>

#include "util/log.h"

/* An optional Byte String field; a present field of another type is an
 * Invalid Field. */
static cf_status opt_bytes(kmip_op *op, const ttlv_item *pl, uint32_t tag, const char *name,
                           const uint8_t **p, size_t *n)
{
    cf_status st = ttlv_get_bytes(pl, tag, p, n);
    if (st == CF_ERR_MISSING) {
        *p = NULL;
        *n = 0;
        return CF_OK;
    }
    if (st != CF_OK)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "%s is not a Byte String", name);
    return CF_OK;
}

static cf_status single_part(kmip_op *op, const ttlv_item *pl)
{
    bool init = true, fin = true;
    if (ttlv_child(pl, KMIP_TAG_CORRELATION_VALUE) != NULL ||
        (ttlv_child(pl, KMIP_TAG_INIT_INDICATOR) &&
         ttlv_get_bool(pl, KMIP_TAG_INIT_INDICATOR, &init) != CF_OK) ||
        (ttlv_child(pl, KMIP_TAG_FINAL_INDICATOR) &&
         ttlv_get_bool(pl, KMIP_TAG_FINAL_INDICATOR, &fin) != CF_OK) ||
        !init || !fin)
        return core_fail(op->req, CF_ERR_UNSUPPORTED, "multi-part (streaming) operations are not supported");
    return CF_OK;
}

/* The fields every cryptographic operation may carry. */
static cf_status read_in(kmip_op *op, const ttlv_item *pl, core_crypto_in *in)
{
    const uint8_t *dd;
    size_t ddl;
    cf_status st;

    memset(in, 0, sizeof *in);
    if ((st = kmip_payload_uid(op, pl, &in->uid)) != CF_OK || (st = single_part(op, pl)) != CF_OK)
        return st;
    in->params = ttlv_child(pl, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
    if ((st = opt_bytes(op, pl, KMIP_TAG_DATA, "Data", &in->data, &in->data_len)) != CF_OK ||
        (st = opt_bytes(op, pl, KMIP_TAG_DIGESTED_DATA, "Digested Data", &dd, &ddl)) != CF_OK ||
        (st = opt_bytes(op, pl, KMIP_TAG_IV_COUNTER_NONCE, "IV/Counter/Nonce", &in->iv,
                        &in->iv_len)) != CF_OK ||
        (st = opt_bytes(op, pl, KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
                        "Authenticated Encryption Additional Data", &in->aad, &in->aad_len)) != CF_OK)
        return st;
    in->has_data = in->data != NULL;
    if (dd != NULL) {
        if (in->has_data) /* 1.4 section 4.31: Data, or Digested Data */
            return core_fail(op->req, CF_ERR_INVALID_FIELD, "both Data and Digested Data given");
        in->data = dd;
        in->data_len = ddl;
        in->has_data = in->digested = true;
    }
    return CF_OK;
}

/* Only Derive Key sets the ID Placeholder (1.4 section 4.6); the other
 * operations leave it as the previous batch item left it. */
static void write_uid(kmip_op *op, const char *uid, ttlv_writer *w, bool placeholder)
{
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
    if (placeholder)
        op->new_placeholder = uid;
}

/* ------------------------------------------------------ Encrypt, Decrypt */

cf_status kmip_op_encrypt(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    core_crypto_in in;
    core_crypto_out out;
    cf_status st;

    if ((st = read_in(op, pl, &in)) != CF_OK || (st = core_encrypt(op->req, &in, &out)) != CF_OK)
        return st;
    if (out.tag != NULL && op->ver < KMIP_V(1, 4))
        return core_fail(op->req, CF_ERR_CRYPTO_PARAMS,
                         "authenticated encryption needs KMIP 1.4 or later (Authenticated Encryption Tag)");
    write_uid(op, out.uid, w, false);
    ttlv_w_bytes(w, KMIP_TAG_DATA, out.data, out.data_len);
    if (out.iv != NULL)
        ttlv_w_bytes(w, KMIP_TAG_IV_COUNTER_NONCE, out.iv, out.iv_len);
    if (out.tag != NULL)
        ttlv_w_bytes(w, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG, out.tag, out.tag_len);
    CF_LOGD("kmip encrypt with %s by %s", out.uid, op->req->who->id);
    return CF_OK;
}

cf_status kmip_op_decrypt(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    core_crypto_in in;
    core_crypto_out out;
    cf_status st;

    if ((st = read_in(op, pl, &in)) != CF_OK)
        return st;
    if ((st = opt_bytes(op, pl, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG,
                        "Authenticated Encryption Tag", &in.check, &in.check_len)) != CF_OK)
        return st;
    if ((st = core_decrypt(op->req, &in, &out)) != CF_OK)
        return st;
    write_uid(op, out.uid, w, false);
    /* Plaintext goes to the response buffer, which is cleansed after sending. */
    ttlv_w_bytes(w, KMIP_TAG_DATA, out.plain.p, out.plain.len);
    cf_secret_free(&out.plain);
    CF_LOGD("kmip decrypt with %s by %s", out.uid, op->req->who->id);
    return CF_OK;
}

/* ------------------------- Sign, Signature Verify, MAC, MAC Verify */

/* The four have one shape: the common fields, for a verification the value
 * to check, the core operation, then either the value made (Signature Data,
 * MAC Data) or the Validity Indicator. */
struct check_op {
    cf_status (*run)(core_req *req, const core_crypto_in *in, core_crypto_out *out);
    uint32_t check_tag;     /* the value to verify; 0 when making one */
    const char *check_name;
    uint32_t out_tag;       /* the value made; 0: answer a Validity Indicator */
};

static const struct check_op op_sign = {core_sign, 0, NULL, KMIP_TAG_SIGNATURE_DATA};
static const struct check_op op_signature_verify = {core_verify, KMIP_TAG_SIGNATURE_DATA,
                                                    "Signature Data", 0};
static const struct check_op op_mac = {core_mac, 0, NULL, KMIP_TAG_MAC_DATA};
static const struct check_op op_mac_verify = {core_mac_verify, KMIP_TAG_MAC_DATA, "MAC Data", 0};

static cf_status check_op_run(kmip_op *op, const ttlv_item *pl, ttlv_writer *w,
                              const struct check_op *c)
{
    core_crypto_in in;
    core_crypto_out out;
    cf_status st;

    if ((st = read_in(op, pl, &in)) != CF_OK)
        return st;
    if (c->check_tag != 0 && (st = opt_bytes(op, pl, c->check_tag, c->check_name, &in.check,
                                             &in.check_len)) != CF_OK)
        return st;
    if ((st = c->run(op->req, &in, &out)) != CF_OK)
        return st;
    write_uid(op, out.uid, w, false);
    if (c->out_tag != 0)
        ttlv_w_bytes(w, c->out_tag, out.data, out.data_len);
    else
        ttlv_w_enum(w, KMIP_TAG_VALIDITY_INDICATOR,
                    out.valid ? KMIP_VALIDITY_INDICATOR_VALID : KMIP_VALIDITY_INDICATOR_INVALID);
    return CF_OK;
}

cf_status kmip_op_sign(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    return check_op_run(op, pl, w, &op_sign);
}

cf_status kmip_op_signature_verify(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    return check_op_run(op, pl, w, &op_signature_verify);
}

cf_status kmip_op_mac(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    return check_op_run(op, pl, w, &op_mac);
}

cf_status kmip_op_mac_verify(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    return check_op_run(op, pl, w, &op_mac_verify);
}

/* ---------------------------------------------------------------- RNG */

cf_status kmip_op_rng_retrieve(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    const uint8_t *p;
    int32_t len;
    cf_status st = ttlv_get_int(pl, KMIP_TAG_DATA_LENGTH, &len);

    if (st == CF_ERR_MISSING)
        return core_fail(op->req, CF_ERR_MISSING, "Data Length is required");
    if (st != CF_OK)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "Data Length is not an Integer");
    if ((st = core_rng_retrieve(op->req, len, &p)) != CF_OK)
        return st;
    ttlv_w_bytes(w, KMIP_TAG_DATA, p, (size_t)len);
    return CF_OK;
}

cf_status kmip_op_rng_seed(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    const uint8_t *p;
    size_t n;
    int32_t used;
    cf_status st;

    if ((st = opt_bytes(op, pl, KMIP_TAG_DATA, "Data", &p, &n)) != CF_OK)
        return st;
    if (p == NULL)
        return core_fail(op->req, CF_ERR_MISSING, "Data is required");
    if ((st = core_rng_seed(op->req, p, n, &used)) != CF_OK)
        return st;
    ttlv_w_int(w, KMIP_TAG_DATA_LENGTH, used);
    return CF_OK;
}

/* ------------------------------------------------------------ Derive Key */

#define DERIVE_MAX_UIDS 4

cf_status kmip_op_derive_key(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    const char *uids[DERIVE_MAX_UIDS];
    core_derive_in in = {.uids = uids};
    const ttlv_item *wire;
    ttlv_item *attrs = NULL;
    core_object *obj;
    cf_status st;

    if (ttlv_get_enum(pl, KMIP_TAG_OBJECT_TYPE, &in.object_type) != CF_OK)
        return core_fail(op->req, CF_ERR_MISSING, "Object Type is required");
    if (ttlv_get_enum(pl, KMIP_TAG_DERIVATION_METHOD, &in.method) != CF_OK)
        return core_fail(op->req, CF_ERR_MISSING, "Derivation Method is required");
    /* 1.4 section 4.6: the ID Placeholder is not used for Derive Key. */
    for (const ttlv_item *u = ttlv_child(pl, KMIP_TAG_UNIQUE_IDENTIFIER); u; u = ttlv_next_same(u)) {
        if (u->type != TTLV_TEXT_STRING)
            return core_fail(op->req, CF_ERR_INVALID_FIELD, "Unique Identifier is not a Text String");
        if (in.n_uids == DERIVE_MAX_UIDS)
            return core_fail(op->req, CF_ERR_INVALID_FIELD, "too many Unique Identifiers");
        uids[in.n_uids++] = (const char *)u->v.s.p;
    }
    in.params = ttlv_child(pl, KMIP_TAG_DERIVATION_PARAMETERS);
    wire = ttlv_child(pl, op->ver >= KMIP_V(2, 0) ? KMIP_TAG_ATTRIBUTES : KMIP_TAG_TEMPLATE_ATTRIBUTE);
    if (wire != NULL && (st = kmip_attrs_from_wire(op, wire, &attrs)) != CF_OK)
        return st;
    in.attrs = attrs;
    if ((st = core_derive_key(op->req, &in, &obj)) != CF_OK)
        return st;
    write_uid(op, obj->uid, w, true);
    CF_LOGI("kmip derive key %s by %s", obj->uid, op->req->who->id);
    return CF_OK;
}
