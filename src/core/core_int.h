/* core_int.h - internals shared by the core's files. */
#ifndef CF_CORE_INT_H
#define CF_CORE_INT_H

#include "core/core.h"

/* From the "Attribute Rules" tables of KMIP 1.4 section 3 and 2.1 section 4. */
enum core_attr_flags {
    CORE_ATTR_MULTI = 1 << 0,   /* several instances allowed */
    CORE_ATTR_CREATE = 1 << 1,  /* the client may set it when creating/registering */
    CORE_ATTR_EDIT = 1 << 2,    /* the client may add it later (Add/Set Attribute) */
    CORE_ATTR_SERVER = 1 << 3,  /* only the server sets it */
    CORE_ATTR_MODIFY = 1 << 4,  /* "Modifiable by client" */
    CORE_ATTR_DELETE = 1 << 5,  /* "Deletable by client" */
    CORE_ATTR_PRE_ACTIVE = 1 << 6,    /* client edits only while Pre-Active */
    CORE_ATTR_NOT_RETIRED = 1 << 7,   /* client edits only while Pre-Active or Active */
    CORE_ATTR_UNTIL_REACHED = 1 << 8, /* frozen once its date has passed */
};

struct core_attr_rule {
    const char *name;
    size_t name_len;
    uint8_t type;    /* enum ttlv_type of the value */
    unsigned flags;  /* enum core_attr_flags */
};

const struct core_attr_rule *core_attr_rule(const char *name, size_t len);
int32_t core_attr_next_index(const ttlv_item *list, const char *name, size_t len, unsigned *count);
cf_status core_attr_check(core_req *req, const char *name, size_t len, const ttlv_item *value,
                          bool creating);

/* Write obj (insert, or update checked against obj->revision - 1) in one
 * durable transaction. Callers doing read-modify-write increment
 * obj->revision first and retry the whole operation on CF_ERR_CONFLICT. */
/* Run fn inside a store transaction of our own unless the caller holds one
 * (req->batch_txn); what fn saves joins it. Committed when fn succeeds,
 * rolled back otherwise (core_util.c). */
cf_status core_in_txn(core_req *req, cf_status (*fn)(core_req *, void *), void *ctx);
cf_status core_object_save(core_req *req, core_object *obj, bool insert);
/* Seal key material into obj->sealed (arena) under the keyring, bound to
 * (tenant, uid): obj->tenant and obj->uid must be set. */
cf_status core_object_seal(core_req *req, core_object *obj, const cf_secret *key);
/* The AAD binding sealed material to its row. */
cf_status core_material_aad(cf_arena *a, const char *tenant, const char *uid,
                            const uint8_t **out, size_t *out_len);
/* Erase the material of every version of a destroyed root key, in the
 * caller's transaction (core_versions.c; no-op for other objects). */
cf_status core_versions_destroy(core_req *req, const core_object *obj);
/* Set Last Change Date and obj->updated to now. */
void core_object_touch(core_object *obj, int64_t now);

/* ------------------- object creation (core_object.c), used by core_keys.c */
/* A new, unsaved object of this type: the client's attributes (checked
 * against the rule table, indexed), a fresh uid, the caller as owner, the
 * state from the Activation Date, and the server's attributes (Initial
 * Date, Last Change Date, Operation Policy Name "default" when absent). */
cf_status core_object_new(core_req *req, uint32_t type, const ttlv_item *attrs, core_object **out);
/* Append a server-set attribute instance at the next free index. */
cf_status core_object_append_attr(core_req *req, core_object *obj, const char *name,
                                  const ttlv_item *value);
/* Append the SHA-256 Digest of p (1.4 section 3.17); key_format 0 for
 * objects without a Key Block. */
cf_status core_object_digest(core_req *req, core_object *obj, const uint8_t *p, size_t n,
                             uint32_t key_format);
/* Random material for obj's symmetric algorithm (DES parity set). */
cf_status core_symmetric_material(const core_object *obj, size_t bytes, cf_secret *out);
/* Insert several new objects in one durable transaction (key pairs), or
 * update them (ReKey: the old key and the new one). */
cf_status core_objects_save(core_req *req, core_object *const *objs, const bool *insert, size_t n);

/* --------------------------------------- key pairs (core_keys.c, core_rekey.c) */
/* Common attributes merged with specific ones (1.4 4.2 precedence). */
cf_status core_attrs_merge(core_req *req, const ttlv_item *common, const ttlv_item *specific,
                           ttlv_item **out);
/* Append Link { type, uid } to obj. */
cf_status core_object_link(core_req *req, core_object *obj, uint32_t type, const char *uid);
/* A key pair for the (unsaved) private key object's attributes. */
cf_status core_pair_generate(core_req *req, const core_object *priv, EVP_PKEY **out);
/* Algorithm, Length, Domain Parameters, Digest and sealed PKCS#8 / X.509
 * material of one half of a new pair. */
cf_status core_pair_fill(core_req *req, core_object *obj, EVP_PKEY *key);

/* ------------------------ key material and Get (core_export.c, core_wrap.c) */
/* The object structure tag of an Object Type (KMIP_TAG_SYMMETRIC_KEY, ...), 0 if none. */
uint32_t core_object_tag(uint32_t object_type);
bool core_format_is_transparent(uint32_t key_format);
/* Key Material item <-> material in its stored form (see core.h). */
cf_status core_key_material_item(core_req *req, uint32_t format, const cf_secret *m,
                                 ttlv_item **out);
cf_status core_key_material_bytes(const ttlv_item *km, uint32_t format, cf_secret *out);
/* The plaintext Key Block of obj for material m (stored form) in format. */
cf_status core_key_block(core_req *req, const core_object *obj, uint32_t format,
                         const cf_secret *m, ttlv_item **out);
/* The wrapped Key Block per o->wrap_spec (core_wrap.c). */
cf_status core_wrap_key_block(core_req *req, const core_object *obj, uint32_t format,
                              const cf_secret *m, const core_get_opts *o, ttlv_item **out);

/* ---------------------------------- lifecycle (core_lifecycle.c, core_attr.c) */
enum core_edit_kind { CORE_EDIT_ADD, CORE_EDIT_MODIFY, CORE_EDIT_DELETE };
/* May the client make this edit of attribute `name` on obj now? The rule
 * table (read-only, not deletable), "y-" custom names (server-only, 1.4
 * 3.39), destroyed objects, the state windows of the date attributes and
 * their order (Process Start >= Activation, Protect Stop <= Deactivation).
 * old_value: the instance modified, new_value: its new value (or NULL). */
cf_status core_attr_check_edit(core_req *req, const core_object *obj, const char *name,
                               size_t len, enum core_edit_kind kind, const ttlv_item *old_value,
                               const ttlv_item *new_value);
/* The attributes that always have a value (core_attr_server.c), for a new object
 * whose uid and client attributes are set: Sensitive, Always Sensitive,
 * Extractable, Never Extractable, Fresh, Protection Storage Mask, Short
 * Unique Identifier (what the client gave is kept). */
cf_status core_attr_defaults(core_req *req, core_object *obj);
/* After the client set name to value on obj: the attributes that follow it
 * (Always Sensitive, Never Extractable), and names_changed for a Name. */
cf_status core_attr_after_edit(core_req *req, core_object *obj, const char *name,
                               const ttlv_item *value);
/* Equal values whatever their tags (stored Attribute Value vs a 2.x item). */
bool core_attr_value_equal(const ttlv_item *stored, const ttlv_item *given);
/* Register: split the client's attributes into those it may set (kept) and
 * the server-only ones it repeated (echoes); after the server set its own,
 * core_attrs_check_echoes refuses (CF_ERR_READ_ONLY) an echo whose value
 * is not the server's (core_attr_server.c, 2.1 section 4.7). */
cf_status core_attrs_split_echoes(core_req *req, const ttlv_item *attrs, ttlv_item **out_kept,
                                  ttlv_item **out_echoes);
cf_status core_attrs_check_echoes(core_req *req, const core_object *obj, const ttlv_item *echoes);
/* Replace the value of the single instance (index 0) of name, or append it. */
cf_status core_attr_put(core_req *req, core_object *obj, const char *name, const ttlv_item *value);
/* Mutable Attribute item of (name, index) in obj, or NULL. */
ttlv_item *core_attr_item(core_object *obj, const char *name, size_t len, int32_t index);

/* Load obj, check the caller may write it, run fn, apply time transitions,
 * touch Last Change Date and save; the whole is retried on CF_ERR_CONFLICT.
 * core_object_edit authorizes CORE_ACT_MODIFY; core_object_edit_as the
 * given action (Activate, Revoke, Destroy: core_lifecycle.c). */
typedef cf_status (*core_edit_fn)(core_req *req, core_object *obj, void *ctx);
cf_status core_object_edit(core_req *req, const char *uid, core_edit_fn fn, void *ctx);
cf_status core_object_edit_as(core_req *req, const char *uid, core_action action, core_edit_fn fn,
                              void *ctx);

/* ------------------------------ identities (core_identity.c, core_tenant.c) */
/* Record <-> store row. The row's strings point into the record; uids is
 * the restriction's uids joined (NULL when none); secret_sha256 is left
 * NULL for the caller to set. */
cf_status core_identity_from_row(cf_arena *a, const store_identity *row, core_identity_rec **out);
void core_identity_to_row(const core_identity_rec *r, const char *uids, store_identity *row);
/* 1..max bytes of valid UTF-8 without control characters. */
bool core_text_valid(const char *s, size_t max);
/* The tenant a management call addresses (see core.h), after authorizing
 * CORE_ACT_MANAGE_IDENTITIES: *out is NULL for the operator's own scope. */
cf_status core_manage_scope(core_req *req, const char *tenant, const char **out);
/* Insert an identity record in its own transaction (secret_sha256: an API
 * key's hash, else NULL). CF_ERR_EXISTS (message set) for a taken pin or
 * CA rule. */
cf_status core_identity_insert(core_req *req, const core_identity_rec *r,
                               const uint8_t *secret_sha256);
/* A new API key secret for identity id: its token (caller frees) and the
 * SHA-256 of the secret to store. The secret itself is cleansed. */
cf_status core_api_key_new(const char *id, cf_secret *out_token, uint8_t out_sha256[32]);
/* Load (tenant, id), run fn on the record, save it revision-checked;
 * retried on a conflict. *out (may be NULL) gets the saved record. */
cf_status core_identity_edit(core_req *req, const char *tenant, const char *id,
                             cf_status (*fn)(core_req *, core_identity_rec *, const void *),
                             const void *ctx, core_identity_rec **out);

#endif
