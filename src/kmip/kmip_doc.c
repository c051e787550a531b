/*
 * kmip_doc.c - attributes in KMIP 2.1 form outside a message: the
 * attributes of reversibility documents (docs/export.md, rest_export.c).
 *
 * The conversions are the ones every 2.x response and request goes
 * through (kmip_attr.c), run at version 2.1 with no message around them,
 * so a document's attributes read exactly as a KMIP 2.1 client would see
 * them in Get Attributes, and come back through the same checks.
 */
#include "kmip/kmip_int.h"

static const ttlv_limits doc_limits = {
    .max_bytes = CF_LIMIT_KMIP_MESSAGE,
    .max_depth = CF_LIMIT_TTLV_DEPTH,
    .max_items = CF_LIMIT_TTLV_ITEMS,
    .max_string = CF_LIMIT_STRING,
};

cf_status kmip_attrs_encode(core_req *req, const ttlv_item *attrs, cf_buf *out)
{
    kmip_op op = {.ver = KMIP_V(2, 1), .req = req, .a = req->arena};
    ttlv_writer w;

    ttlv_w_init(&w, out);
    ttlv_w_begin(&w, KMIP_TAG_ATTRIBUTES);
    for (const ttlv_item *it = attrs ? attrs->first : NULL; it; it = it->next)
        kmip_attr_write(&op, it, &w);
    ttlv_w_end(&w);
    return ttlv_w_finish(&w);
}

cf_status kmip_attrs_decode(core_req *req, const uint8_t *p, size_t n, ttlv_item **out)
{
    kmip_op op = {.ver = KMIP_V(2, 1), .req = req, .a = req->arena};
    ttlv_item *it = NULL;
    ttlv_error err;

    *out = NULL;
    if (ttlv_decode(p, n, &doc_limits, req->arena, &it, &err) != CF_OK)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the attributes are not TTLV (%s at byte %zu)",
                         ttlv_err_str(err.code), err.offset);
    if (it->tag != KMIP_TAG_ATTRIBUTES || it->type != TTLV_STRUCTURE)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the attributes are not an Attributes "
                         "structure");
    return kmip_attrs_from_wire(&op, it, out);
}
