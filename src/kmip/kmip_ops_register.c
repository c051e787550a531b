/*
 * kmip_ops_register.c - objects the client brings or asks for in pairs:
 * Register (KMIP 1.4 section 4.3), Create Key Pair (4.2), Re-key (4.4),
 * Re-key Key Pair (4.5).
 *
 * 1.x carries attributes in Template-Attribute structures (Common / Private
 * Key / Public Key Template-Attribute), 2.x in Attributes structures
 * (Common / Private Key / Public Key Attributes); kmip_attr.c converts both
 * to core's canonical list, so the handlers only pick the right tags.
 */
#include "kmip/kmip_int.h"

#include "util/log.h"

static bool is_v2(const kmip_op *op) { return op->ver >= KMIP_V(2, 0); }

/* Canonical attributes of the optional structure with tag t1 (1.x) / t2 (2.x). */
static cf_status opt_attrs(kmip_op *op, const ttlv_item *pl, uint32_t t1, uint32_t t2,
                           ttlv_item **out)
{
    const ttlv_item *wire = ttlv_child(pl, is_v2(op) ? t2 : t1);
    *out = NULL;
    if (wire == NULL)
        return CF_OK;
    if (wire->type != TTLV_STRUCTURE)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "malformed attributes");
    return kmip_attrs_from_wire(op, wire, out);
}

/* --------------------------------------------------------------- Register */

static const uint32_t object_tags[] = {
    KMIP_TAG_CERTIFICATE, KMIP_TAG_SYMMETRIC_KEY, KMIP_TAG_PUBLIC_KEY, KMIP_TAG_PRIVATE_KEY,
    KMIP_TAG_SPLIT_KEY,   KMIP_TAG_SECRET_DATA,   KMIP_TAG_OPAQUE_OBJECT, KMIP_TAG_TEMPLATE,
    KMIP_TAG_PGP_KEY,
};

/* The object structure of the payload, whatever its type (core checks it
 * matches the Object Type). */
static const ttlv_item *payload_object(const ttlv_item *pl)
{
    for (const ttlv_item *c = pl->first; c; c = c->next)
        for (size_t i = 0; i < sizeof object_tags / sizeof object_tags[0]; i++)
            if (c->tag == object_tags[i])
                return c;
    return NULL;
}

cf_status kmip_op_register(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    uint32_t type;
    ttlv_item *attrs;
    core_object *obj;
    cf_status st;

    if (ttlv_get_enum(pl, KMIP_TAG_OBJECT_TYPE, &type) != CF_OK)
        return core_fail(op->req, CF_ERR_MISSING, "Object Type missing");
    if ((st = opt_attrs(op, pl, KMIP_TAG_TEMPLATE_ATTRIBUTE, KMIP_TAG_ATTRIBUTES, &attrs)) != CF_OK)
        return st;
    if ((st = core_register(op->req, type, payload_object(pl), attrs, &obj)) != CF_OK)
        return st;
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, obj->uid);
    op->new_placeholder = obj->uid;
    CF_LOGI("kmip register %s (type %u) by %s", obj->uid, type, op->req->who->id);
    return CF_OK;
}

/* -------------------------------------------------------- Create Key Pair */

struct pair_attrs {
    ttlv_item *common, *priv, *pub;
};

static cf_status pair_attrs(kmip_op *op, const ttlv_item *pl, struct pair_attrs *pa)
{
    cf_status st;
    if ((st = opt_attrs(op, pl, KMIP_TAG_COMMON_TEMPLATE_ATTRIBUTE, KMIP_TAG_COMMON_ATTRIBUTES,
                        &pa->common)) != CF_OK ||
        (st = opt_attrs(op, pl, KMIP_TAG_PRIVATE_KEY_TEMPLATE_ATTRIBUTE,
                        KMIP_TAG_PRIVATE_KEY_ATTRIBUTES, &pa->priv)) != CF_OK ||
        (st = opt_attrs(op, pl, KMIP_TAG_PUBLIC_KEY_TEMPLATE_ATTRIBUTE,
                        KMIP_TAG_PUBLIC_KEY_ATTRIBUTES, &pa->pub)) != CF_OK)
        return st;
    return CF_OK;
}

static void write_pair(kmip_op *op, ttlv_writer *w, const core_object *priv, const core_object *pub)
{
    ttlv_w_cstr(w, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER, priv->uid);
    ttlv_w_cstr(w, KMIP_TAG_PUBLIC_KEY_UNIQUE_IDENTIFIER, pub->uid);
    /* 1.4 4.2: the ID Placeholder is the private key's. */
    op->new_placeholder = priv->uid;
}

cf_status kmip_op_create_key_pair(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    struct pair_attrs pa;
    core_object *priv, *pub;
    cf_status st;

    if ((st = pair_attrs(op, pl, &pa)) != CF_OK)
        return st;
    if ((st = core_create_key_pair(op->req, pa.common, pa.priv, pa.pub, &priv, &pub)) != CF_OK)
        return st;
    write_pair(op, w, priv, pub);
    CF_LOGI("kmip create key pair %s / %s by %s", priv->uid, pub->uid, op->req->who->id);
    return CF_OK;
}

/* ------------------------------------------------------------------ ReKey */

static cf_status get_offset(kmip_op *op, const ttlv_item *pl, int64_t *off, const int64_t **out)
{
    const ttlv_item *o = ttlv_child(pl, KMIP_TAG_OFFSET);
    *out = NULL;
    if (o == NULL)
        return CF_OK;
    if (o->type != TTLV_INTERVAL)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "Offset is not an Interval");
    *off = o->v.u32;
    *out = off;
    return CF_OK;
}

cf_status kmip_op_rekey(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    const char *uid;
    int64_t off;
    const int64_t *offset;
    ttlv_item *attrs;
    core_object *obj;
    cf_status st;

    if ((st = kmip_payload_uid(op, pl, &uid)) != CF_OK ||
        (st = get_offset(op, pl, &off, &offset)) != CF_OK ||
        (st = opt_attrs(op, pl, KMIP_TAG_TEMPLATE_ATTRIBUTE, KMIP_TAG_ATTRIBUTES, &attrs)) != CF_OK)
        return st;
    if ((st = core_rekey(op->req, uid, offset, attrs, &obj)) != CF_OK)
        return st;
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, obj->uid);
    op->new_placeholder = obj->uid;
    CF_LOGI("kmip rekey %s -> %s by %s", uid, obj->uid, op->req->who->id);
    return CF_OK;
}

cf_status kmip_op_rekey_key_pair(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    const char *uid;
    size_t ul;
    int64_t off;
    const int64_t *offset;
    struct pair_attrs pa;
    core_object *priv, *pub;
    cf_status st = ttlv_get_text(pl, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER, &uid, &ul);

    if (st == CF_ERR_MISSING && op->id_placeholder != NULL)
        uid = op->id_placeholder;
    else if (st == CF_ERR_MISSING)
        return core_fail(op->req, CF_ERR_MISSING, "Private Key Unique Identifier missing");
    else if (st != CF_OK)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "malformed Private Key Unique Identifier");
    if ((st = get_offset(op, pl, &off, &offset)) != CF_OK || (st = pair_attrs(op, pl, &pa)) != CF_OK)
        return st;
    st = core_rekey_key_pair(op->req, uid, offset, pa.common, pa.priv, pa.pub, &priv, &pub);
    if (st != CF_OK)
        return st;
    write_pair(op, w, priv, pub);
    CF_LOGI("kmip rekey key pair %s -> %s / %s by %s", uid, priv->uid, pub->uid, op->req->who->id);
    return CF_OK;
}
