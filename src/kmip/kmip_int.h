/* kmip_int.h - internals shared by the KMIP front end's files. */
#ifndef CF_KMIP_INT_H
#define CF_KMIP_INT_H

#include "kmip/kmip.h"
#include "ttlv/ttlv.h"
#include "util/limits.h"

#define CF_ATTR_NAME_BUF (CF_LIMIT_ATTR_NAME + 1)

/* One batch item being processed. */
typedef struct kmip_op {
    uint16_t ver;                /* protocol version of the request */
    core_req *req;
    cf_arena *a;
    const char *id_placeholder;  /* Unique Identifier left by a previous item */
    const char *new_placeholder; /* set by the handler when it yields a uid */
} kmip_op;

typedef cf_status (*kmip_op_fn)(kmip_op *op, const ttlv_item *payload, ttlv_writer *w);

struct kmip_op_def {
    uint32_t operation;  /* KMIP_OPERATION_* */
    uint16_t since;      /* first protocol version that defines it */
    kmip_op_fn fn;
};

/* The implemented operation, or NULL. */
const struct kmip_op_def *kmip_op_find(uint32_t operation);
/* Operations listed by Query, for the version. */
void kmip_op_list(uint16_t ver, ttlv_writer *w);

/* Attribute conversions between the wire forms and core's canonical list. */
/* 1.x Template Attribute (Name* and Attribute* children) or 2.x Attributes
 * structure -> Structure of canonical Attribute items. */
cf_status kmip_attrs_from_wire(kmip_op *op, const ttlv_item *in, ttlv_item **out);
/* Write one canonical attribute in the version's form (1.x Attribute with
 * explicit index; 2.x tagged value or Vendor Attribute). Attributes the
 * version does not define are skipped. */
void kmip_attr_write(kmip_op *op, const ttlv_item *attr, ttlv_writer *w);
/* Write a stored item (tag 0: its own; as 0: its own tag) as `tag`, a
 * structure whose members are those of `as`, dropping at every depth the
 * children the request's version does not define: tags outside the
 * version, and tags that joined their parent structure in a later version
 * (kmip_attr.c). Every copy of stored data to the wire goes through it. */
void kmip_w_item(kmip_op *op, ttlv_writer *w, const ttlv_item *it, uint32_t tag, uint32_t as);
/* Canonical name of a 2.x Attribute Reference or 1.x Attribute Name item. */
cf_status kmip_attr_ref_name(kmip_op *op, const ttlv_item *ref, const char **out);
/* Write a reference to an attribute (Get Attribute List). */
void kmip_attr_ref_write(kmip_op *op, const char *name, ttlv_writer *w);
/* Canonical attribute from a 1.x Attribute or a 2.x single attribute item. */
cf_status kmip_attr_one_from_wire(kmip_op *op, const ttlv_item *in, const char **name,
                                  const ttlv_item **value);

/* Handlers, by file. */
cf_status kmip_op_create(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_get(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_get_attributes(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_get_attribute_list(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_add_attribute(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
/* kmip_ops_register.c */
cf_status kmip_op_register(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_create_key_pair(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_rekey(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_rekey_key_pair(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
/* kmip_ops_lifecycle.c */
cf_status kmip_op_activate(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_revoke(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_destroy(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_modify_attribute(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_delete_attribute(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_set_attribute(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
/* kmip_ops_locate.c */
cf_status kmip_op_locate(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);

/* kmip_ops_crypto.c */
cf_status kmip_op_encrypt(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_decrypt(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_sign(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_signature_verify(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_mac(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_mac_verify(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_derive_key(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_rng_retrieve(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_rng_seed(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);

/* kmip_ops_misc.c */
cf_status kmip_op_log(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);
cf_status kmip_op_check(kmip_op *op, const ttlv_item *pl, ttlv_writer *w);

/* The Unique Identifier of a request payload, or the ID placeholder. */
cf_status kmip_payload_uid(kmip_op *op, const ttlv_item *payload, const char **out);

#endif
