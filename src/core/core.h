/*
 * core.h - Coffre's key-management model, shared by every front end.
 *
 * KMIP and REST are thin: they decode a request, call one core operation
 * and encode its result. Rules live here once: which attributes a client
 * may set, the object state machine, who may see which object.
 *
 * Attribute model: an object's attributes are a list of
 *   Attribute { Attribute Name (Text), Attribute Index (Integer),
 *               Attribute Value (any TTLV type) }
 * items, the KMIP 1.x form, which is the canonical in-memory and stored
 * form (encoded as TTLV in the store). KMIP 2.x front-end code converts to
 * and from its tagged form. Unique Identifier, Object Type and State are
 * held in core_object fields and synthesised when attributes are listed.
 * Values are ttlv_item trees: the KMIP data model, not the wire format.
 *
 * Memory: everything returned lives in the request's arena (core_req.arena)
 * except cf_secret results, which the caller frees with cf_secret_free.
 */
#ifndef CF_CORE_H
#define CF_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "store/store.h"
#include "ttlv/ttlv.h"
#include "util/mem.h"
#include "util/status.h"

typedef enum core_role {
    CORE_ROLE_NONE = 0,
    CORE_ROLE_READER = 1,   /* metadata only, never key material */
    CORE_ROLE_WRITER = 2,   /* create, use, rotate keys */
    CORE_ROLE_MANAGER = 3,  /* everything in the tenant, access included */
} core_role;

/* The authenticated caller, established by the front end. */
typedef struct core_identity {
    const char *tenant;  /* tenant id */
    const char *id;      /* stable identity id, e.g. "cert:CN=admin,O=...|CN=Coffre CA" */
    core_role role;
} core_identity;

/* Process-wide, read-only after start (shared by all worker threads). */
typedef struct core {
    const cf_keyring *keyring;
    const char *vendor;  /* Vendor Identification */
} core;

/* One request's context. */
typedef struct core_req {
    const core *core;
    store *st;                 /* the calling worker's store connection */
    cf_arena *arena;
    const core_identity *who;
    int64_t now;               /* seconds since the epoch, fixed for the request */
    const char *err_msg;       /* set on failure: a message safe to show the client */
} core_req;

typedef struct core_object {
    const char *tenant;
    const char *uid;
    const char *owner;
    uint32_t object_type;      /* KMIP_OBJECT_TYPE_* */
    uint32_t state;            /* KMIP_STATE_* */
    int64_t created;
    int64_t updated;
    int64_t revision;
    ttlv_item *attrs;          /* Structure of Attribute items (see above) */
    const uint8_t *sealed;     /* key material sealed under the keyring */
    size_t sealed_len;
    uint32_t key_format;       /* KMIP_KEY_FORMAT_TYPE_* of the stored material */
} core_object;

/* ------------------------------------------------------------- helpers */
int64_t core_now(void);
/* A new Unique Identifier: a UUID (version 7: time-ordered, 74 random bits),
 * unique across every node of a cluster without coordination. */
cf_status core_new_uid(cf_arena *a, const char **out);
/* Set req->err_msg (printf-style, in the arena) and return st. */
cf_status core_fail(core_req *req, cf_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ----------------------------------------------------------- attributes */
/* An Attribute item (1.x form) with a copy of value re-tagged as Attribute Value. */
ttlv_item *core_attr_new(cf_arena *a, const char *name, int32_t index, const ttlv_item *value);
/* Name, index and value of an Attribute item; false if malformed. */
bool core_attr_parts(const ttlv_item *attr, const char **name, size_t *name_len,
                     int32_t *index, const ttlv_item **value);
/* The instance of `name` with this index in obj's attributes, or NULL. */
const ttlv_item *core_attr_find(const core_object *obj, const char *name, int32_t index);
/* Client-supplied names starting with "x-" or "y-" (KMIP 1.x custom). */
bool core_attr_is_custom(const char *name, size_t len);
/* Is the attribute defined in the KMIP version ver (custom ones always)? */
bool core_attr_in_version(const char *name, uint16_t ver);

/* ----------------------------------------------------------- operations */

/* Create a Symmetric Key from client attributes (a Structure of Attribute
 * items). Cryptographic Algorithm and Length are required; AES 128/192/256.
 * No Activation Date (or one in the future) gives Pre-Active. */
cf_status core_create_symmetric_key(core_req *req, const ttlv_item *attrs, core_object **out);

/* Load an object visible to the caller; CF_ERR_NOT_FOUND otherwise. */
cf_status core_object_load(core_req *req, const char *uid, core_object **out);

/* Key material for Get: refused unless the state allows it (Pre-Active and
 * Active do; Deactivated, Compromised, Destroyed do not). The caller frees
 * *out with cf_secret_free. */
cf_status core_object_material(core_req *req, const core_object *obj, cf_secret *out);

/* All attributes of obj including the synthesised Unique Identifier,
 * Object Type and State, as a Structure of Attribute items. */
cf_status core_object_attributes(core_req *req, const core_object *obj, ttlv_item **out);

/* Add one attribute instance (AddAttribute). The index is chosen by the
 * server (next free for that name) and returned. Enforces the rules of the
 * attribute table: read-only and single-instance attributes are refused. */
cf_status core_attr_add(core_req *req, const char *uid, const char *name, const ttlv_item *value,
                        int32_t *out_index);

/* ------------------------------------------- lifecycle (core_lifecycle.c) */
/* Activate, Revoke, Destroy, the state machine, Modify/Delete/Set Attribute. */

/* --------------------------------------------------- locate (core_locate.c) */

/* ------------------------- registered objects and key pairs (core_keys.c) */

/* ------------------------------------------ cryptographic operations (core_crypto.c) */

#endif
