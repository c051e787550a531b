/*
 * kmip_ops.c - the table of KMIP operations; Discover Versions and Query.
 *
 * A handler reads its request payload, calls one core operation and writes
 * the response payload's children (the caller opens and closes the
 * Response Payload structure). On failure it returns a status, with
 * req->err_msg set where a precise message helps the client; what it wrote
 * is discarded.
 */
#include "kmip/kmip_int.h"

#include "util/log.h"
#include "util/version.h"

/* ------------------------------------------------------ Discover Versions */
static cf_status op_discover_versions(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    (void)op;
    if (ttlv_child(pl, KMIP_TAG_PROTOCOL_VERSION) == NULL) {
        for (size_t i = 0; i < kmip_versions_count; i++) {
            ttlv_w_begin(w, KMIP_TAG_PROTOCOL_VERSION);
            ttlv_w_int(w, KMIP_TAG_PROTOCOL_VERSION_MAJOR, kmip_versions[i] >> 8);
            ttlv_w_int(w, KMIP_TAG_PROTOCOL_VERSION_MINOR, kmip_versions[i] & 0xFF);
            ttlv_w_end(w);
        }
        return CF_OK;
    }
    /* KMIP 1.4 section 4.26: only versions both sides support, in the
     * client's order of preference. */
    for (const ttlv_item *pv = ttlv_child(pl, KMIP_TAG_PROTOCOL_VERSION); pv;
         pv = ttlv_next_same(pv)) {
        int32_t maj, min;
        if (ttlv_get_int(pv, KMIP_TAG_PROTOCOL_VERSION_MAJOR, &maj) != CF_OK ||
            ttlv_get_int(pv, KMIP_TAG_PROTOCOL_VERSION_MINOR, &min) != CF_OK)
            return CF_ERR_INVALID_FIELD;
        for (size_t i = 0; i < kmip_versions_count; i++) {
            if (kmip_versions[i] != KMIP_V(maj & 0xFF, min & 0xFF) || maj > 255 || min > 255 ||
                maj < 0 || min < 0)
                continue;
            ttlv_w_begin(w, KMIP_TAG_PROTOCOL_VERSION);
            ttlv_w_int(w, KMIP_TAG_PROTOCOL_VERSION_MAJOR, maj);
            ttlv_w_int(w, KMIP_TAG_PROTOCOL_VERSION_MINOR, min);
            ttlv_w_end(w);
        }
    }
    return CF_OK;
}

/* ------------------------------------------------------------------ Query */
static void write_server_information(kmip_op *op, ttlv_writer *w)
{
    ttlv_w_begin(w, KMIP_TAG_SERVER_INFORMATION);
    if (op->ver >= KMIP_V(2, 0)) {
        ttlv_w_cstr(w, KMIP_TAG_SERVER_NAME, "coffre");
        ttlv_w_cstr(w, KMIP_TAG_SERVER_VERSION, CF_VERSION);
        ttlv_w_cstr(w, KMIP_TAG_PRODUCT_NAME, "Coffre KMS");
    }
    ttlv_w_end(w);
}

static cf_status op_query(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    bool ops = false, objs = false, info = false;
    static const uint32_t objects[] = {
        KMIP_OBJECT_TYPE_CERTIFICATE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY,
        KMIP_OBJECT_TYPE_PUBLIC_KEY,  KMIP_OBJECT_TYPE_PRIVATE_KEY,
        KMIP_OBJECT_TYPE_SPLIT_KEY,   KMIP_OBJECT_TYPE_SECRET_DATA,
        KMIP_OBJECT_TYPE_OPAQUE_OBJECT,
    };

    for (const ttlv_item *f = ttlv_child(pl, KMIP_TAG_QUERY_FUNCTION); f; f = ttlv_next_same(f)) {
        if (f->type != TTLV_ENUMERATION)
            return core_fail(op->req, CF_ERR_INVALID_FIELD, "Query Function is not an enumeration");
        if (f->v.u32 == KMIP_QUERY_FUNCTION_QUERY_OPERATIONS)
            ops = true;
        else if (f->v.u32 == KMIP_QUERY_FUNCTION_QUERY_OBJECTS)
            objs = true;
        else if (f->v.u32 == KMIP_QUERY_FUNCTION_QUERY_SERVER_INFORMATION)
            info = true;
        /* Other functions (namespaces, extensions, profiles, ...) have
         * nothing to report yet: answering with no items is truthful. */
    }
    if (ops)
        kmip_op_list(op->ver, w);
    if (objs)
        for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++)
            ttlv_w_enum(w, KMIP_TAG_OBJECT_TYPE, objects[i]);
    if (info) {
        ttlv_w_cstr(w, KMIP_TAG_VENDOR_IDENTIFICATION, op->req->core->vendor);
        write_server_information(op, w);
    }
    return CF_OK;
}

/* ------------------------------------------------------------------ table */
/* Every operation Coffre knows, with the first protocol version defining it.
 * A NULL handler is not implemented yet: Operation Not Supported, and Query
 * does not list it. One line per operation; the handlers live in
 * kmip_ops_<area>.c. */
static const struct kmip_op_def ops[] = {
    /* kmip_ops_object.c */
    {KMIP_OPERATION_CREATE, KMIP_V(1, 0), kmip_op_create},
    {KMIP_OPERATION_GET, KMIP_V(1, 0), kmip_op_get},
    {KMIP_OPERATION_GET_ATTRIBUTES, KMIP_V(1, 0), kmip_op_get_attributes},
    {KMIP_OPERATION_GET_ATTRIBUTE_LIST, KMIP_V(1, 0), kmip_op_get_attribute_list},
    {KMIP_OPERATION_ADD_ATTRIBUTE, KMIP_V(1, 0), kmip_op_add_attribute},
    /* kmip_ops_register.c */
    {KMIP_OPERATION_REGISTER, KMIP_V(1, 0), kmip_op_register},
    {KMIP_OPERATION_CREATE_KEY_PAIR, KMIP_V(1, 0), kmip_op_create_key_pair},
    {KMIP_OPERATION_RE_KEY, KMIP_V(1, 0), kmip_op_rekey},
    {KMIP_OPERATION_RE_KEY_KEY_PAIR, KMIP_V(1, 1), kmip_op_rekey_key_pair},
    /* kmip_ops_lifecycle.c */
    {KMIP_OPERATION_ACTIVATE, KMIP_V(1, 0), kmip_op_activate},
    {KMIP_OPERATION_REVOKE, KMIP_V(1, 0), kmip_op_revoke},
    {KMIP_OPERATION_DESTROY, KMIP_V(1, 0), kmip_op_destroy},
    {KMIP_OPERATION_MODIFY_ATTRIBUTE, KMIP_V(1, 0), kmip_op_modify_attribute},
    {KMIP_OPERATION_DELETE_ATTRIBUTE, KMIP_V(1, 0), kmip_op_delete_attribute},
    {KMIP_OPERATION_SET_ATTRIBUTE, KMIP_V(2, 0), kmip_op_set_attribute},
    /* kmip_ops_locate.c */
    {KMIP_OPERATION_LOCATE, KMIP_V(1, 0), kmip_op_locate},
    /* kmip_ops_crypto.c */
    {KMIP_OPERATION_ENCRYPT, KMIP_V(1, 2), kmip_op_encrypt},
    {KMIP_OPERATION_DECRYPT, KMIP_V(1, 2), kmip_op_decrypt},
    {KMIP_OPERATION_SIGN, KMIP_V(1, 2), kmip_op_sign},
    {KMIP_OPERATION_SIGNATURE_VERIFY, KMIP_V(1, 2), kmip_op_signature_verify},
    {KMIP_OPERATION_MAC, KMIP_V(1, 2), kmip_op_mac},
    {KMIP_OPERATION_MAC_VERIFY, KMIP_V(1, 2), kmip_op_mac_verify},
    {KMIP_OPERATION_DERIVE_KEY, KMIP_V(1, 0), kmip_op_derive_key},
    {KMIP_OPERATION_RNG_RETRIEVE, KMIP_V(1, 2), kmip_op_rng_retrieve},
    {KMIP_OPERATION_RNG_SEED, KMIP_V(1, 2), kmip_op_rng_seed},
    /* kmip_ops_misc.c */
    {KMIP_OPERATION_CHECK, KMIP_V(1, 0), kmip_op_check},
    {KMIP_OPERATION_LOG, KMIP_V(2, 0), kmip_op_log},
    /* here */
    {KMIP_OPERATION_QUERY, KMIP_V(1, 0), op_query},
    {KMIP_OPERATION_DISCOVER_VERSIONS, KMIP_V(1, 1), op_discover_versions},
};

const struct kmip_op_def *kmip_op_find(uint32_t operation)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].operation == operation && ops[i].fn != NULL)
            return &ops[i];
    return NULL;
}

void kmip_op_list(uint16_t ver, ttlv_writer *w)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].since <= ver && ops[i].fn != NULL)
            ttlv_w_enum(w, KMIP_TAG_OPERATION, ops[i].operation);
}
