/* core_int.h - internals shared by the core's files. */
#ifndef CF_CORE_INT_H
#define CF_CORE_INT_H

#include "core/core.h"

enum core_attr_flags {
    CORE_ATTR_MULTI = 1 << 0,   /* several instances allowed */
    CORE_ATTR_CREATE = 1 << 1,  /* the client may set it when creating/registering */
    CORE_ATTR_EDIT = 1 << 2,    /* the client may add/modify/delete it later */
    CORE_ATTR_SERVER = 1 << 3,  /* only the server sets it */
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
cf_status core_object_save(core_req *req, core_object *obj, bool insert);
/* Seal key material into obj->sealed (arena) under the keyring, bound to
 * (tenant, uid): obj->tenant and obj->uid must be set. */
cf_status core_object_seal(core_req *req, core_object *obj, const cf_secret *key);
/* The AAD binding sealed material to its row. */
cf_status core_material_aad(cf_arena *a, const char *tenant, const char *uid,
                            const uint8_t **out, size_t *out_len);
/* Set Last Change Date and obj->updated to now. */
void core_object_touch(core_object *obj, int64_t now);

#endif
