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
#include "crypto/crypto_keys.h"
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

typedef enum core_identity_kind {
    CORE_IDENTITY_CERTIFICATE = 0, /* a client certificate (KMIP, or HTTPS) */
    CORE_IDENTITY_API_KEY = 1,     /* a bearer token "cf1_..." */
} core_identity_kind;

struct core_restriction; /* see "tenants, identities, roles" below */

/* The authenticated caller, established by the front end (core_auth_token,
 * core_auth_certificate). Zero-initialised fields mean "no operator flag,
 * no restriction", so {tenant, id, role} is a complete ordinary identity.
 * tenant NULL without is_operator is an unauthenticated peer: every
 * authorization answers CF_ERR_AUTH (core_authenticated). */
typedef struct core_identity {
    const char *tenant;  /* tenant id; NULL for the operator (or unauthenticated) */
    const char *id;      /* identity id (a UUID): objects' owner */
    core_role role;      /* in its tenant; CORE_ROLE_NONE for the operator */
    bool is_operator;    /* the operator: tenants, identities; never objects */
    core_identity_kind kind;
    const char *name;    /* for logs and listings, may be NULL */
    const struct core_restriction *restriction; /* NULL: none */
} core_identity;

/* Process-wide, read-only after start (shared by all worker threads). */
typedef struct core {
    const cf_keyring *keyring;
    const char *vendor;  /* Vendor Identification */
    /* Names are unique among a tenant's live objects (KMIP 2.1 4.32, the
     * OASIS baseline BL-M-8) unless this is set: PyKMIP's register() names
     * every object after its type, so scripts registering two objects
     * without names need it (`coffre server --allow-duplicate-names`). */
    bool allow_duplicate_names;
    /* Tests only (`coffre server --test-clock`): an operator may run a
     * rotation pass as of a time it names (core_rotation_run_as), so a test
     * proves a 14-day policy without waiting 14 days. */
    bool test_clock;
    /* The audit trail (core_audit.c); NULL: nothing is recorded (unit
     * tests, tools working on a data directory). */
    struct core_audit *audit;
    /* Requests per second per tenant and identity (core_rate.c); NULL:
     * no limit. */
    struct core_rate *rate;
} core;

/* One request's context. */
typedef struct core_req {
    const core *core;
    store *st;                 /* the calling worker's store connection */
    cf_arena *arena;
    const core_identity *who;
    int64_t now;               /* seconds since the epoch, fixed for the request */
    const char *err_msg;       /* set on failure: a message safe to show the client */
    bool batch_txn;            /* the caller holds a store transaction (a KMIP batch
                                * with Undo): writes join it, no begin/commit */
    struct core_audit_ctx *audit;       /* the record being built (core_audit_begin),
                                         * NULL: none */
    struct core_audit_ctx *audit_queue; /* records waiting for the end of a batch
                                         * transaction (core_audit_flush) */
    struct core_ticket *ticket;         /* the answer's durability ticket (group
                                         * commit, below), NULL: synchronous */
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
    bool names_changed;        /* an edit added or changed a Name: the next save
                                * checks that names stay unique (inserts always) */
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
 * items). Cryptographic Algorithm and Length are required; what may be
 * made is crypto_sym_check's (AES, 3DES with DES parity, HMAC, ChaCha20,
 * legacy ciphers when OpenSSL offers them). The Digest is set. No
 * Activation Date (or one in the future) gives Pre-Active. */
cf_status core_create_symmetric_key(core_req *req, const ttlv_item *attrs, core_object **out);

/* Load an object visible to the caller; CF_ERR_NOT_FOUND otherwise. */
cf_status core_object_load(core_req *req, const char *uid, core_object **out);

/* Key material for Get: refused unless the state allows it (Pre-Active and
 * Active do; Deactivated, Compromised, Destroyed do not). The caller frees
 * *out with cf_secret_free. */
cf_status core_object_material(core_req *req, const core_object *obj, cf_secret *out);

/* May Get hand out obj's key material? The caller's READ_MATERIAL right,
 * then Extractable False refuses it (CF_ERR_NOT_EXTRACTABLE, 1.4 3.50,
 * 2.1 4.23) and Sensitive True unless it leaves wrapped (CF_ERR_SENSITIVE,
 * 1.4 3.48, 2.1 4.55). Destroyed objects pass: Get reports them. */
cf_status core_object_check_export(core_req *req, const core_object *obj, bool wrapped);

/* Get served obj: Fresh becomes False (1.4 3.34, 2.1 4.24), written at the
 * first Get only (later ones find it False and write nothing). */
cf_status core_object_served(core_req *req, const core_object *obj);

/* All attributes of obj including the synthesised Unique Identifier,
 * Object Type, State and Key Format Type, as a Structure of Attribute items. */
cf_status core_object_attributes(core_req *req, const core_object *obj, ttlv_item **out);

/* Add one attribute instance (AddAttribute). The index is chosen by the
 * server (next free for that name) and returned. Enforces the rules of the
 * attribute table: read-only and single-instance attributes are refused. */
cf_status core_attr_add(core_req *req, const char *uid, const char *name, const ttlv_item *value,
                        int32_t *out_index);

/* ------------------------------------------- lifecycle (core_lifecycle.c) */
/* Activate, Revoke, Destroy, the state machine, Modify/Delete/Set Attribute.
 *
 * One state machine (KMIP 1.4 section 3.22, 2.1 section 4.57) for every
 * front end: a table (state x event) -> new state + dates the server sets.
 * Time-driven transitions (Activation / Deactivation Date reached) are
 * applied lazily: core_object_load returns the effective state, and the
 * next write of the object persists it. Errors: CF_ERR_STATE (the state
 * forbids it: 1.x Permission Denied, 2.x Wrong Key Lifecycle State),
 * CF_ERR_DESTROYED (Destroy of a destroyed object; Get of one),
 * CF_ERR_PERMISSION (role), CF_ERR_NOT_FOUND, CF_ERR_CONFLICT after
 * retries, store errors. */

typedef enum core_event {
    CORE_EV_ACTIVATE,          /* Activate operation */
    CORE_EV_ACTIVATION_DATE,   /* Activation Date reached */
    CORE_EV_DEACTIVATION_DATE, /* Deactivation Date reached */
    CORE_EV_REVOKE,            /* Revoke, reason other than a compromise */
    CORE_EV_REVOKE_COMPROMISE, /* Revoke with Key Compromise or CA Compromise */
    CORE_EV_DESTROY,           /* Destroy operation */
    CORE_EV_COUNT
} core_event;

/* Dates the server sets (to now) on a transition. */
enum core_date_flags {
    CORE_DATE_ACTIVATION = 1 << 0,
    CORE_DATE_DEACTIVATION = 1 << 1,
    CORE_DATE_COMPROMISE = 1 << 2, /* Compromise Date (+ Occurrence Date) */
    CORE_DATE_DESTROY = 1 << 3,
};

typedef struct core_transition {
    uint32_t to;     /* KMIP_STATE_* after the event */
    unsigned dates;  /* enum core_date_flags */
} core_transition;

/* The transition for ev in state, or NULL when the specification does not
 * permit it. Pure table lookup, shared by KMIP and REST. */
const core_transition *core_state_transition(uint32_t state, core_event ev);
bool core_state_is_destroyed(uint32_t state);

/* Apply the time-driven transitions due at `now` (Pre-Active -> Active when
 * the Activation Date is reached, Active -> Deactivated when the
 * Deactivation Date is) to obj->state in memory; returns the new state. */
uint32_t core_object_effective_state(core_object *obj, int64_t now);

enum core_usage {
    CORE_USAGE_PROTECT, /* encrypt, sign, wrap, MAC, derive */
    CORE_USAGE_PROCESS, /* decrypt, verify, unwrap, MAC verify */
};
/* May the caller use obj's key for this kind of operation now? State,
 * Activation/Process Start/Protect Stop/Deactivation Dates (1.4 sections
 * 3.22-3.27) and role (Writer or above; processing with a Compromised key
 * needs a Manager: "a client that is trusted to use compromised objects").
 * The Cryptographic Usage Mask is the caller's to check: it depends on the
 * operation. CF_OK, CF_ERR_STATE or CF_ERR_PERMISSION (message set).
 * Authorized as CORE_ACT_ENCRYPT (protect) or CORE_ACT_DECRYPT (process):
 * callers that know the operation call core_object_check_use (below, in
 * "tenants, identities, roles") with its action instead. */
cf_status core_object_check_usage(core_req *req, const core_object *obj, enum core_usage usage);

/* Activate (1.4 4.19): Pre-Active -> Active, Activation Date = now. */
cf_status core_activate(core_req *req, const char *uid);
/* Deactivate (REST; KMIP reaches the same state by Revoke or by a
 * Deactivation Date): Active -> Deactivated with Deactivation Date = now,
 * the transition of the Deactivation Date reached (1.4 3.22 item 6).
 * Authorized as Revoke (CORE_ACT_REVOKE: owner or Manager). CF_ERR_STATE in
 * any other state (a second Deactivate included), CF_ERR_PERMISSION,
 * CF_ERR_NOT_FOUND. No Revocation Reason is set. */
cf_status core_deactivate(core_req *req, const char *uid);

typedef struct core_revocation {
    uint32_t code;           /* KMIP_REVOCATION_REASON_CODE_* */
    const char *message;     /* Revocation Message, or NULL */
    bool has_occurrence;     /* Compromise Occurrence Date given */
    int64_t occurrence;
} core_revocation;
/* Revoke (1.4 4.20): a compromise reason -> Compromised (or Destroyed
 * Compromised) with Compromise Date = now and Compromise Occurrence Date =
 * the given one or else the Initial Date; any other reason -> Deactivated
 * with Deactivation Date = now (only from Active). Sets Revocation Reason.
 * Owner or Manager only. */
cf_status core_revoke(core_req *req, const char *uid, const core_revocation *rv);

/* Destroy (1.4 4.21): from Pre-Active, Deactivated or Compromised; the key
 * material is erased from the row, Destroy Date = now, the metadata stays
 * (Get Attributes still answers; Get fails with CF_ERR_DESTROYED). Owner or
 * Manager only. */
cf_status core_destroy(core_req *req, const char *uid);

/* Which instance of an attribute an edit addresses. */
typedef struct core_attr_target {
    const char *name;          /* canonical name ("x-..." for custom) */
    int32_t index;             /* 1.x Attribute Index (0 when absent) */
    const ttlv_item *current;  /* 2.x Current Attribute value (its tag is
                                * ignored), or NULL */
    bool by_index;             /* 1.x: select by index; 2.x: by current, or
                                * the only instance when current is NULL */
} core_attr_target;

/* Modify Attribute: replace the value of one existing instance, keeping
 * its index (returned). Refuses read-only attributes (CF_ERR_READ_ONLY),
 * date attributes outside the states the rule table allows (CF_ERR_STATE),
 * absent attributes (CF_ERR_ATTR_NOT_FOUND) or instances
 * (CF_ERR_ATTR_INSTANCE), an ambiguous 2.x target (CF_ERR_MULTI_VALUED).
 * Moving the Activation or Deactivation Date to now or before makes the
 * transition (1.4 3.22 items 4 and 6). */
cf_status core_attr_modify(core_req *req, const char *uid, const core_attr_target *t,
                           const ttlv_item *value, int32_t *out_index);

/* Delete Attribute: the addressed instance, or with t->current NULL and
 * !t->by_index every instance (2.x Attribute Reference). *out_deleted (may
 * be NULL) receives a copy of the first deleted Attribute item. */
cf_status core_attr_delete(core_req *req, const char *uid, const core_attr_target *t,
                           ttlv_item **out_deleted);

/* Set Attribute (2.x): add the attribute if absent, replace it if it has
 * one instance, CF_ERR_MULTI_VALUED if it has several. */
cf_status core_attr_set(core_req *req, const char *uid, const char *name,
                        const ttlv_item *value);

/* --------------------------------------------------- locate (core_locate.c) */
/* Locate (KMIP 1.4 section 4.9, 2.0 section 6.1.27), answered from the
 * store's attribute index (never a scan of every object). */

typedef struct core_locate_opts {
    bool has_max_items;
    int32_t max_items;      /* Maximum Items (>= 0) when has_max_items */
    int32_t offset_items;   /* Offset Items, 0 when absent */
    int32_t storage_mask;   /* Storage Status Mask, 0 when absent (on-line only) */
    uint32_t group_member;  /* KMIP_OBJECT_GROUP_MEMBER_*, 0 when absent */
} core_locate_opts;

/* Unique Identifiers (arena) of the caller's objects matching every
 * criterion, newest first, after skipping offset_items and at most
 * max_items of them (and at most an internal maximum of 10,000);
 * *out_total counts every match (Located Items). criteria: a Structure of
 * canonical Attribute items (NULL or empty: every object); Attribute Index
 * is ignored. A Date attribute given twice is the range between the two
 * values; Cryptographic Usage Mask matches objects having all its bits.
 * Destroyed objects only with Destroyed Storage in storage_mask or a State
 * criterion naming a destroyed state. Group Member Fresh: objects never
 * served (no Fresh = false); Group Member Default: the newest match.
 * Errors: CF_ERR_INVALID_FIELD (unknown attribute, wrong type, negative
 * counts, unknown mask bits), CF_ERR_UNSUPPORTED (a structure that cannot
 * be searched, e.g. Cryptographic Parameters), CF_ERR_LIMIT (more than 64
 * criteria), CF_ERR_PERMISSION, store errors. */
cf_status core_locate(core_req *req, const ttlv_item *criteria, const core_locate_opts *opts,
                      const char ***out_uids, size_t *out_n, int64_t *out_total);

/* The store index entries of obj (arena), derived from its attributes and
 * state. Internal to core: core_object_save hands them to the store. */
cf_status core_index_entries(core_req *req, const core_object *obj,
                             const store_index_entry **out, size_t *out_n);

/* ------------------------- registered objects and key pairs (core_keys.c) */
/*
 * Stored material. core_object.key_format is the KMIP Key Format Type of
 * the key (0 for Certificates and Opaque Objects), possibly ORed with
 * CORE_KEY_FORMAT_VERBATIM. Without the flag, the sealed material is the
 * key in that format as crypto_keys.h describes it (Raw bytes, DER, the
 * Key bytes of a Transparent Symmetric Key, the TTLV Key Material of the
 * other Transparent forms; a Certificate's DER value) and Get rebuilds the
 * Key Block from it and the attributes. With the flag, the sealed material
 * is the TTLV encoding of the whole object structure exactly as the client
 * registered it (Secret Data, Opaque Object and Split Key always, a wrapped
 * key, a Key Block carrying fields Coffre would not rebuild identically),
 * and Get without a Key Format Type returns it verbatim.
 */
#define CORE_KEY_FORMAT_VERBATIM 0x40000000u
#define CORE_KEY_FORMAT(obj) ((obj)->key_format & ~CORE_KEY_FORMAT_VERBATIM)

/* Register (KMIP 1.4 section 4.3, 2.1 section 6.1.43). object is the
 * decoded object structure (tag Symmetric Key, Public Key, Private Key,
 * Certificate, Secret Data, Opaque Object or Split Key) and must match
 * object_type (CF_ERR_INVALID_FIELD otherwise); attrs the client's
 * canonical attributes (may be NULL). The material is parsed and checked
 * (an AES key of a wrong length, a key that does not parse: Invalid
 * Field); Cryptographic Algorithm, Length (and Domain Parameters for EC)
 * are filled in from the material when the client omitted them, and must
 * agree with it when given; the Digest attribute is computed (SHA-256 of
 * the Key Material, Certificate Value or Opaque Data Value as registered,
 * 1.4 section 3.17). A wrapped key (Key Wrapping Data present) is kept
 * wrapped, as registered, without Digest. */
cf_status core_register(core_req *req, uint32_t object_type, const ttlv_item *object,
                        const ttlv_item *attrs, core_object **out);

/* Create Key Pair (1.4 section 4.2): common, private and public canonical
 * attribute lists (each may be NULL; the private/public ones override the
 * common ones). Cryptographic Algorithm RSA (Cryptographic Length 1024-4096,
 * a multiple of 256) or EC/ECDSA/ECDH (Recommended Curve P-256, P-384 or
 * P-521 in Cryptographic Domain Parameters, or a Cryptographic Length of
 * 256/384/521). The private key is stored as PKCS#8, the public as X.509
 * (SubjectPublicKeyInfo); each carries a Link to the other (Public Key
 * Link on the private key, Private Key Link on the public key). Both are
 * written in one transaction. */
cf_status core_create_key_pair(core_req *req, const ttlv_item *common, const ttlv_item *priv,
                               const ttlv_item *pub, core_object **out_priv,
                               core_object **out_pub);

/* ReKey (1.4 section 4.4): a new Symmetric Key replacing uid, with the same
 * algorithm, length and attributes (not the dates, Digest, Links or
 * State), new material, Replacement Object Link on the old key and
 * Replaced Object Link on the new one. offset (seconds, NULL when absent)
 * shifts the new key's dates from now per the specification; attrs are
 * client attributes for the new key (may be NULL). */
cf_status core_rekey(core_req *req, const char *uid, const int64_t *offset, const ttlv_item *attrs,
                     core_object **out);

/* ReKey Key Pair (1.4 section 4.5): a new key pair replacing the private
 * key uid (and its public key), same algorithm, length and curve. */
cf_status core_rekey_key_pair(core_req *req, const char *uid, const int64_t *offset,
                              const ttlv_item *common, const ttlv_item *priv,
                              const ttlv_item *pub, core_object **out_priv,
                              core_object **out_pub);

/* What Get asks for (1.4 section 4.11). */
typedef struct core_get_opts {
    uint32_t key_format;          /* KMIP Key Format Type, 0 = as registered */
    uint32_t key_compression;     /* Key Compression Type, 0 = none asked */
    const ttlv_item *wrap_spec;   /* Key Wrapping Specification, or NULL */
    const ttlv_item *wrap_attrs;  /* canonical Attribute items to wrap with the
                                   * key (from the spec's Attribute Names) */
    bool not_wrapped;             /* 1.4 Key Wrap Type Not Wrapped: a key
                                   * registered wrapped is refused
                                   * (CF_ERR_UNSUPPORTED), not unwrapped */
} core_get_opts;

/* The object structure Get returns (tag Symmetric Key, Public Key, ...,
 * Certificate, Secret Data, Opaque Object, Split Key), in the arena (it
 * holds key material: the arena is cleansed on reset). Conversions:
 * symmetric Raw <-> Transparent Symmetric Key; RSA private PKCS#1 <->
 * PKCS#8 <-> Transparent RSA Private Key; RSA public PKCS#1 <-> X.509 <->
 * Transparent RSA Public Key; EC private PKCS#8 <-> ECPrivateKey <->
 * Transparent EC (1.x: ECDSA/ECDH/ECMQV) Private Key; EC public X.509 <->
 * Transparent EC Public Key. Others: CF_ERR_FORMAT. Wrapping: Wrapping
 * Method Encrypt with a Symmetric Key (AES key wrap, RFC 3394 or 5649 by
 * Block Cipher Mode) or a Public Key (RSA-OAEP) that is Active with Wrap
 * Key in its usage mask (else CF_ERR_PERMISSION); a wrapping object that is
 * not a key gives CF_ERR_OBJECT_TYPE; Cryptographic Parameters that do not
 * match the wrapping key's gives CF_ERR_NOT_FOUND (1.4 section 11.12). */
cf_status core_object_get(core_req *req, const core_object *obj, const core_get_opts *opts,
                          ttlv_item **out);

/* For cryptographic operations: the plaintext key material of obj, with
 * its Key Format Type: Raw bytes for Symmetric Keys, the Key Material
 * bytes of Secret Data (and Split Keys), the stored form for Public and
 * Private Keys (see crypto_key_load). CF_ERR_UNSUPPORTED when the key is
 * stored wrapped (registered wrapped: the server cannot use it),
 * CF_ERR_OBJECT_TYPE for Certificates and Opaque Objects, CF_ERR_NOT_FOUND
 * for destroyed keys, CF_ERR_PERMISSION below the Writer role. Get's state
 * rule does not apply: state, dates and usage mask are the caller's to
 * check (core_object_check_usage). The caller frees *out. */
cf_status core_key_material(core_req *req, const core_object *obj, cf_secret *out,
                            uint32_t *out_format);
/* The EVP_PKEY of a Public or Private Key object (caller EVP_PKEY_free()s). */
cf_status core_key_pkey(core_req *req, const core_object *obj, EVP_PKEY **out);

/* ------------------------------------------ cryptographic operations (core_crypto.c) */
/* Encrypt, Decrypt, Sign, Signature Verify, MAC, MAC Verify (KMIP 1.4
 * sections 4.29-4.34, 2.1 section 6.1), Derive Key (4.6), RNG Retrieve and
 * RNG Seed (4.35-4.36). The Cryptographic Parameters are the request's
 * when given, else the key's Cryptographic Parameters attribute with the
 * lowest Attribute Index (4.29: the whole structure, not merged). The key
 * must be usable now (core_object_check_usage: state, dates, role) and its
 * Cryptographic Usage Mask must hold the operation's bit (absent mask:
 * refused). Errors: CF_ERR_NOT_FOUND, CF_ERR_OBJECT_TYPE (a key of the
 * wrong type), CF_ERR_STATE, CF_ERR_PERMISSION, CF_ERR_USAGE_MASK,
 * CF_ERR_CRYPTO_PARAMS (parameters not offered or not valid for this key),
 * CF_ERR_MISSING_IV (Decrypt without the IV its mode needs), CF_ERR_MISSING
 * (no data / tag / signature), CF_ERR_CRYPTO (authentication tag, padding
 * or decryption failure), CF_ERR_NOMEM. Results live in the arena except
 * out->plain. */

typedef struct core_crypto_in {
    const char *uid;
    const ttlv_item *params;          /* Cryptographic Parameters, or NULL */
    const uint8_t *data;              /* Data (Sign/Verify: or Digested Data) */
    size_t data_len;
    bool has_data;
    bool digested;                    /* data is Digested Data (Sign, Verify) */
    const uint8_t *iv;                /* IV/Counter/Nonce, or NULL */
    size_t iv_len;
    const uint8_t *aad;               /* Authenticated Encryption Additional Data */
    size_t aad_len;
    const uint8_t *check;             /* Decrypt: Authenticated Encryption Tag;
                                       * Verify: Signature Data; MAC Verify:
                                       * MAC Data. NULL when absent. */
    size_t check_len;
} core_crypto_in;

typedef struct core_crypto_out {
    const char *uid;                  /* the key used */
    const uint8_t *data;              /* Encrypt: ciphertext; Sign: signature;
                                       * MAC: MAC (arena) */
    size_t data_len;
    cf_secret plain;                  /* Decrypt: plaintext (caller frees) */
    const uint8_t *iv;                /* Encrypt: IV/Counter/Nonce the server
                                       * generated, else NULL */
    size_t iv_len;
    const uint8_t *tag;               /* Encrypt with an AEAD mode: the tag */
    size_t tag_len;
    bool valid;                       /* Signature Verify, MAC Verify */
} core_crypto_out;

/* Symmetric Key: AES (ECB, CBC, CFB, OFB, CTR, GCM), 3DES, Camellia, ARIA,
 * ChaCha20-Poly1305 and, from OpenSSL's legacy provider, Blowfish, CAST5,
 * DES, IDEA, SEED, RC4 (crypto_ops.h). CBC/ECB padding: None (default),
 * PKCS5, ANSI X9.23, ISO 10126. CTR: a 16-byte counter block, or an IV
 * completed by Initial Counter Value over Counter Length bits (RFC 3686).
 * GCM: Tag Length 4, 8, 12-16 (default 16), IV Length (default 96 bits).
 * A missing IV is generated (random; CTR: random then the Initial Counter
 * Value) and returned. Public/Private Key (RSA): OAEP (default, SHA-1 per
 * 1.4 section 3.6) or PKCS1 v1.5. */
cf_status core_encrypt(core_req *req, const core_crypto_in *in, core_crypto_out *out);
cf_status core_decrypt(core_req *req, const core_crypto_in *in, core_crypto_out *out);
/* Private Key (Sign) / Public or Private Key (Verify): RSA PKCS1 v1.5 or
 * PSS, ECDSA (DER), from Digital Signature Algorithm or Cryptographic
 * Algorithm + Hashing Algorithm (+ Padding Method, Salt Length, Mask
 * Generator Hashing Algorithm). A wrong signature is out->valid false. */
cf_status core_sign(core_req *req, const core_crypto_in *in, core_crypto_out *out);
cf_status core_verify(core_req *req, const core_crypto_in *in, core_crypto_out *out);
/* Symmetric Key: HMAC (Cryptographic Algorithm HMAC-* in the parameters or
 * as the key's algorithm, any key bytes) or CMAC (Block Cipher Mode CMAC
 * with an AES, 3DES or Camellia key). MAC Verify compares in constant time. */
cf_status core_mac(core_req *req, const core_crypto_in *in, core_crypto_out *out);
cf_status core_mac_verify(core_req *req, const core_crypto_in *in, core_crypto_out *out);

/* Largest RNG Retrieve answer. */
#define CORE_RNG_MAX 65536
/* len bytes (1..CORE_RNG_MAX, else CF_ERR_INVALID_FIELD) from the DRBG. */
cf_status core_rng_retrieve(core_req *req, int32_t len, const uint8_t **out);
/* Mix the seed into the DRBG (no entropy credited); *out_used = n. */
cf_status core_rng_seed(core_req *req, const uint8_t *p, size_t n, int32_t *out_used);

typedef struct core_derive_in {
    uint32_t object_type;             /* KMIP_OBJECT_TYPE_SYMMETRIC_KEY or _SECRET_DATA */
    const char *const *uids;          /* the derivation key first; a Secret
                                       * Data after it supplies Derivation Data */
    size_t n_uids;
    uint32_t method;                  /* KMIP Derivation Method */
    const ttlv_item *params;          /* Derivation Parameters structure */
    const ttlv_item *attrs;           /* canonical attributes of the new object
                                       * (Cryptographic Length required) */
} core_derive_in;

/* Derive Key (1.4 section 4.6): PBKDF2, HMAC (HKDF, as PyKMIP), HKDF (2.x),
 * HASH, NIST800-108-C (HMAC PRF) or ENCRYPT (the derivation data encrypted
 * with the key and its Cryptographic Parameters). The new object is
 * registered with a Derivation Base Object link to each source, and each
 * source receives a Derived Key link to it. */
cf_status core_derive_key(core_req *req, const core_derive_in *in, core_object **out);

/* ------------------------------------------------------ Check (core_check.c) */
typedef struct core_check_in {
    bool has_usage_mask;
    int32_t usage_mask;     /* Cryptographic Usage Mask the client intends */
    bool has_usage_count;
    int64_t usage_count;    /* Usage Limits Count it needs */
    bool has_lease_time;
    uint32_t lease_time;    /* Lease Time it would ask for (seconds) */
} core_check_in;

typedef struct core_check_out {
    const char *uid;        /* the object checked (arena) */
    bool usage_mask_denied; /* which request values caused a refusal */
    bool usage_count_denied;
    bool lease_time_denied;
} core_check_out;

/* Check (KMIP 1.4 section 4.10, 2.1 section 6.1.7): may the caller use uid
 * as in says? Reads only. Errors: CF_ERR_NOT_FOUND, CF_ERR_DESTROYED,
 * CF_ERR_USAGE_MASK (a bit the object's mask lacks), CF_ERR_PERMISSION
 * (the caller's role may not use it so, or a Lease Time longer than the
 * object's), CF_ERR_USAGE_LIMIT (more than its Usage Limits leave); *out
 * says which value failed. */
cf_status core_check(core_req *req, const char *uid, const core_check_in *in,
                     core_check_out *out);

/* ============ tenants, identities, roles (core_identity.c, core_authz.c) */
/*
 * The model (docs/tenants.md has the long form):
 * - A tenant is a customer or team: every object and identity row is keyed
 *   by it. "default" exists from the first start.
 * - An identity acts in one tenant with one role (Reader < Writer <
 *   Manager), or is the operator, outside every tenant, who manages
 *   tenants and identities and never touches objects. It authenticates
 *   with an API key (token shown once, stored as SHA-256 of its secret) or
 *   a client certificate (pinned by the SHA-256 of its DER, and/or admitted
 *   by a (tenant CA, subject) rule). It may expire, be disabled, and carry
 *   a restriction: a set of actions and/or a list of objects.
 * - One permission table (core_authz.c: action -> minimum role + rules)
 *   answers for KMIP and REST alike. Objects' owner is the identity id.
 *
 * Management calls take a `tenant` argument: NULL means the caller's own
 * tenant; a tenant identity naming another tenant gets CF_ERR_NOT_FOUND
 * (tenants are invisible to each other), the operator must name one. The
 * store is always addressed by tenant: only core_auth_* (before the caller
 * is known) and the operator's core_tenant_* read outside one tenant.
 * These calls commit their own store transactions (not for use inside a
 * KMIP batch transaction, req->batch_txn).
 */

/* ----------------------------------------------- actions and authorization */
typedef enum core_action {
    CORE_ACT_QUERY = 0,        /* server information: Discover Versions, Query, RNG */
    CORE_ACT_CREATE,           /* Create, Register, Create Key Pair, Derive Key, the new key of ReKey */
    CORE_ACT_READ_METADATA,    /* Get Attributes / Attribute List, Locate, listings */
    CORE_ACT_READ_MATERIAL,    /* Get: the key material leaves the server */
    CORE_ACT_ENCRYPT,          /* key uses, one per KMIP Cryptographic Usage Mask bit */
    CORE_ACT_DECRYPT,
    CORE_ACT_WRAP,             /* wrap a key (Get with Key Wrapping Specification; envelopes) */
    CORE_ACT_UNWRAP,
    CORE_ACT_SIGN,
    CORE_ACT_VERIFY,
    CORE_ACT_MAC,
    CORE_ACT_MAC_VERIFY,
    CORE_ACT_DERIVE,
    CORE_ACT_USE_COMPROMISED,  /* process data with a Compromised key (1.4 3.22) */
    CORE_ACT_MODIFY,           /* Add / Modify / Delete / Set Attribute */
    CORE_ACT_REKEY,            /* ReKey, ReKey Key Pair (rotation) */
    CORE_ACT_LIFECYCLE,        /* Activate */
    CORE_ACT_REVOKE,           /* Revoke (deactivate, compromise) */
    CORE_ACT_DESTROY,          /* Destroy */
    CORE_ACT_READ_AUDIT,       /* read the tenant's audit trail */
    CORE_ACT_MANAGE_IDENTITIES,/* create, list, change, retire identities */
    CORE_ACT_MANAGE_TENANTS,   /* create, list, suspend, delete tenants */
    /* After the others: restrictions are stored as these bits. */
    CORE_ACT_EXPORT,           /* export objects for reversibility (wrapped, root keys too) */
    CORE_ACT_IMPORT,           /* import an export document (objects keep their ids) */
    CORE_ACTION_COUNT
} core_action;

#define CORE_ACTION_BIT(a) ((uint64_t)1 << (a))
/* Every key use (the actions a restriction to "use this key" names). */
#define CORE_ACTIONS_USE                                                                          \
    (CORE_ACTION_BIT(CORE_ACT_ENCRYPT) | CORE_ACTION_BIT(CORE_ACT_DECRYPT) |                      \
     CORE_ACTION_BIT(CORE_ACT_WRAP) | CORE_ACTION_BIT(CORE_ACT_UNWRAP) |                          \
     CORE_ACTION_BIT(CORE_ACT_SIGN) | CORE_ACTION_BIT(CORE_ACT_VERIFY) |                          \
     CORE_ACTION_BIT(CORE_ACT_MAC) | CORE_ACTION_BIT(CORE_ACT_MAC_VERIFY) |                       \
     CORE_ACTION_BIT(CORE_ACT_DERIVE))
#define CORE_ACTIONS_ALL (CORE_ACTION_BIT(CORE_ACTION_COUNT) - 1)

enum core_authz_flags {
    CORE_AUTHZ_OBJECT = 1 << 0,        /* about objects: the tenant and a uid
                                        * restriction apply (obj NULL: a listing,
                                        * refused to uid-restricted identities) */
    CORE_AUTHZ_OWNER = 1 << 1,         /* below Manager, only on objects the
                                        * caller owns (1.4 4.20, 4.21) */
    CORE_AUTHZ_OPERATOR = 1 << 2,      /* the operator may do it too */
    CORE_AUTHZ_OPERATOR_ONLY = 1 << 3, /* only the operator (min_role unused) */
    CORE_AUTHZ_UNRESTRICTED = 1 << 4,  /* refused to restricted identities (they
                                        * could mint unrestricted ones) */
    CORE_AUTHZ_PROTECT = 1 << 5,       /* key use that protects data (3.22 rules) */
    CORE_AUTHZ_PROCESS = 1 << 6,       /* key use that processes protected data */
};

/* One row of the permission table. */
struct core_authz_rule {
    core_action action;
    const char *name;    /* stable, for JSON restrictions and docs: "encrypt", "read-material" */
    core_role min_role;
    unsigned flags;      /* enum core_authz_flags */
    const char *what;    /* "use keys to encrypt": for messages and docs */
    uint32_t usage_bit;  /* key uses: the KMIP Cryptographic Usage Mask bit, else 0 */
};

/* The table, in action order (docs/tenants.md is generated from it). */
const struct core_authz_rule *core_authz_rules(size_t *out_n);
/* The row of an action; NULL when out of range. */
const struct core_authz_rule *core_authz_rule(core_action action);
/* By name (exact); CF_ERR_INVALID_FIELD when unknown. */
cf_status core_action_parse(const char *name, size_t len, core_action *out);
/* The key-use action of a KMIP Cryptographic Usage Mask bit; CORE_ACTION_COUNT
 * when the bit is not a use the table knows. */
core_action core_action_of_usage(uint32_t usage_bit);

/* What an identity is confined to. Both parts apply when set. */
typedef struct core_restriction {
    uint64_t actions;         /* CORE_ACTION_BIT()s allowed; 0: any action */
    const char *const *uids;  /* the only objects it sees and acts on */
    size_t n_uids;            /* 0: any object of its tenant */
} core_restriction;

#define CORE_RESTRICT_UIDS_MAX 64

/* CF_OK for an authenticated identity, else CF_ERR_AUTH (who NULL, or no
 * tenant and not the operator). The KMIP front end checks it per batch
 * item before anything else. */
cf_status core_authenticated(const core_identity *who);

/* May who perform action (on obj, which may be NULL)? In order: CF_ERR_AUTH
 * when unauthenticated; CF_ERR_PERMISSION when the operator asks for an
 * action not marked for it (objects: never), a tenant identity for an
 * operator-only action or below the minimum role, the object belongs to
 * another tenant (objects without a tenant, built in memory, are not
 * checked), the owner rule fails, or the restriction excludes the action or
 * the object (a listing with obj NULL included). Pure: no store, no
 * message (core_req_authorize sets one). */
cf_status core_authorize(const core_identity *who, core_action action, const core_object *obj);
/* core_authorize of req->who, with a client-safe message on refusal. */
cf_status core_req_authorize(core_req *req, core_action action, const core_object *obj);
/* CF_OK when core_authorize allows at least one action of the mask. */
cf_status core_req_authorize_any(core_req *req, uint64_t actions, const core_object *obj);
/* Does who's uid restriction let it see this object? (true without one.)
 * core_object_load answers CF_ERR_NOT_FOUND for objects it may not see. */
bool core_identity_sees(const core_identity *who, const char *uid);

/* May the caller use obj's key for this key-use action now? core_authorize
 * (role, tenant, restriction), the state and dates of 1.4 3.22-3.27 (as
 * core_object_check_usage) and, to process with a Compromised key,
 * CORE_ACT_USE_COMPROMISED (Manager). */
cf_status core_object_check_use(core_req *req, const core_object *obj, core_action action);

/* -------------------------------------------------------------- tenants */
#define CORE_TENANT_DEFAULT "default"
#define CORE_TENANT_ID_MAX 63
#define CORE_NAME_MAX 200     /* tenant and identity names, bytes */

typedef enum core_tenant_state {
    CORE_TENANT_ACTIVE = 1,
    CORE_TENANT_SUSPENDED = 2, /* its identities fail authentication */
} core_tenant_state;

typedef struct core_tenant {
    const char *id;    /* [a-z0-9][a-z0-9-]{0,62} */
    const char *name;
    int64_t created;
    uint32_t state;    /* core_tenant_state */
} core_tenant;

bool core_tenant_id_valid(const char *id);
/* Operator only. name NULL: the id. CF_ERR_INVALID_FIELD (id, name),
 * CF_ERR_EXISTS. */
cf_status core_tenant_create(core_req *req, const char *id, const char *name, core_tenant **out);
/* The operator: any tenant; a tenant identity: its own only (another one
 * is CF_ERR_NOT_FOUND). */
cf_status core_tenant_get(core_req *req, const char *id, core_tenant **out);
/* Operator only: tenants by id, paged (limit < 0: all). */
cf_status core_tenant_list(core_req *req, int64_t offset, int64_t limit, core_tenant **out,
                           size_t *out_n, int64_t *out_total);
/* Operator only: rename (name non-NULL) and/or set the state (0: keep). */
cf_status core_tenant_update(core_req *req, const char *id, const char *name, uint32_t state);
/* Operator only. Refused with CF_ERR_STATE while the tenant holds an
 * object that is not destroyed; otherwise removes the tenant, its
 * identities and its destroyed objects' metadata in one transaction. */
cf_status core_tenant_delete(core_req *req, const char *id);

/* ----------------------------------------------------------- identities */
/* API key token: "cf1_" + the identity id as 32 lowercase hex digits + "_"
 * + 43 base64url characters (256 random bits, no padding). 80 bytes. */
#define CORE_TOKEN_PREFIX "cf1_"
#define CORE_TOKEN_LEN 80
#define CORE_TOKEN_SECRET_LEN 32
#define CORE_ID_LEN 36        /* an identity id: UUID text form */

/* Split a token; out_id receives the UUID form (NUL-terminated), out_secret
 * the 32 secret bytes (the caller cleanses them). CF_ERR_AUTH for anything
 * that is not exactly a canonical token (no detail: it is client input). */
cf_status core_token_parse(const char *token, size_t len, char out_id[CORE_ID_LEN + 1],
                           uint8_t out_secret[CORE_TOKEN_SECRET_LEN]);
/* The token of (id, secret) into *out (NUL-terminated, len 80), which the
 * caller frees with cf_secret_free. */
cf_status core_token_make(const char *id, const uint8_t secret[CORE_TOKEN_SECRET_LEN],
                          cf_secret *out);

/* Everything stored about an identity (never a secret). */
typedef struct core_identity_rec {
    core_identity ident;        /* ident.restriction points at restriction when set */
    core_restriction restriction;
    int64_t created;
    int64_t expires;            /* 0: never */
    bool disabled;
    bool has_cert;              /* pinned certificate */
    uint8_t cert_sha256[32];
    bool has_ca;                /* CA rule */
    uint8_t ca_sha256[32];
    const char *subject;        /* CA rule subject (RFC 2253); NULL: any subject */
    int64_t revision;
} core_identity_rec;

typedef struct core_identity_spec {
    const char *tenant;           /* NULL: the caller's (the operator must name one) */
    core_identity_kind kind;
    const char *name;             /* 1..CORE_NAME_MAX bytes, UTF-8, no control characters */
    core_role role;               /* Reader, Writer or Manager */
    bool is_operator;             /* a new operator API key: operator callers only,
                                   * tenant NULL, role NONE */
    int64_t expires;              /* 0: never, else after now */
    const uint8_t *cert_sha256;   /* certificate: the pin (32 bytes), or NULL */
    const uint8_t *ca_sha256;     /* certificate: the CA of a rule (32 bytes), or NULL */
    const char *subject;          /* the rule's subject (RFC 2253, as the TLS layer
                                   * prints it); NULL: any subject the CA issues */
    core_restriction restriction; /* zero: none */
} core_identity_spec;

/* Create an identity (CORE_ACT_MANAGE_IDENTITIES in spec->tenant, or the
 * operator). API keys: *out_token receives the token, shown once (the
 * caller frees it with cf_secret_free); certificates: a pin and/or a CA
 * rule is required, out_token may be NULL. Errors: CF_ERR_INVALID_FIELD
 * (name, role, expiry, hashes, restriction: unknown action bits, bad or
 * too many uids), CF_ERR_NOT_FOUND (tenant, or a restriction uid that is
 * not an object of the tenant), CF_ERR_EXISTS (the certificate or rule
 * already maps to an identity, in any tenant), CF_ERR_PERMISSION. */
cf_status core_identity_create(core_req *req, const core_identity_spec *spec,
                               core_identity_rec **out, cf_secret *out_token);
cf_status core_identity_get(core_req *req, const char *tenant, const char *id,
                            core_identity_rec **out);
/* The caller's own record, for any authenticated identity (REST GET
 * /v1/me): no management right needed, the row of req->who only.
 * CF_ERR_AUTH when unauthenticated, CF_ERR_NOT_FOUND when the row is gone. */
cf_status core_identity_self(core_req *req, core_identity_rec **out);
/* A tenant's identities (tenant NULL for the operator: the operator's
 * own), oldest first, paged. */
cf_status core_identity_list(core_req *req, const char *tenant, int64_t offset, int64_t limit,
                             core_identity_rec **out, size_t *out_n, int64_t *out_total);

typedef struct core_identity_patch {
    const char *name;             /* NULL: unchanged */
    core_role role;               /* CORE_ROLE_NONE: unchanged */
    bool set_expires;
    int64_t expires;              /* 0: never */
    bool set_disabled;
    bool disabled;
    bool set_restriction;
    core_restriction restriction;
} core_identity_patch;
/* Change an identity (revision-checked, retried). A Manager cannot change
 * itself into something it could not create; operator identities are
 * changed by the operator only. */
cf_status core_identity_update(core_req *req, const char *tenant, const char *id,
                               const core_identity_patch *p, core_identity_rec **out);
/* Remove the row (its objects keep their owner id). */
cf_status core_identity_delete(core_req *req, const char *tenant, const char *id);

typedef enum core_retire_mode {
    /* Refuse with CF_ERR_STATE while the identity owns objects that are not
     * destroyed, listing them; with none, disable the identity. */
    CORE_RETIRE_REFUSE_AND_LIST = 1,
    /* Disable the identity, then for every object it owns that is not
     * destroyed: Revoke (Cessation of Operation) when Active, then Destroy
     * (core_lifecycle.c), as the managed KMIP-for-VMware services do when
     * the vCenter certificate is retired. */
    CORE_RETIRE_REVOKE_AND_DESTROY = 2,
} core_retire_mode;

#define CORE_RETIRE_LIST_MAX 1000

typedef struct core_retire_result {
    const char **uids;  /* refuse: the live objects (first CORE_RETIRE_LIST_MAX);
                         * revoke-and-destroy: the objects destroyed */
    size_t n;
    int64_t total;      /* refuse: how many live objects in all */
} core_retire_result;

/* Retire an identity (CORE_ACT_MANAGE_IDENTITIES). The lifecycle steps run
 * as the tenant's Manager on behalf of the caller (the operator included);
 * a failure part-way leaves the identity disabled and the rest of the
 * objects as they were: run it again. */
cf_status core_identity_retire(core_req *req, const char *tenant, const char *id,
                               core_retire_mode mode, core_retire_result *out);

/* ------------------------------------------------------- authentication */
/* A verified client certificate as the TLS layer reports it. */
typedef struct core_peer_cert {
    const uint8_t *sha256;         /* SHA-256 of its DER (32 bytes) */
    const uint8_t *issuer_sha256;  /* SHA-256 of the trust anchor that issued
                                    * it (32 bytes), or NULL when unknown */
    const char *subject;           /* RFC 2253 */
} core_peer_cert;

/* The identity (in the arena) of an API key token: by the id it names, the
 * SHA-256 of its secret compared in constant time. CF_ERR_AUTH (with
 * nothing more for the client) for a malformed token, an unknown id, a
 * wrong secret, an identity that is not an API key, disabled, expired, or
 * whose tenant is suspended or gone; store errors. The reason is logged. */
cf_status core_auth_token(store *st, cf_arena *a, int64_t now, const char *token, size_t len,
                          core_identity **out);
/* The identity of a verified client certificate: its pin first, then a CA
 * rule of the issuing anchor (exact subject, then any subject). Same
 * refusals as core_auth_token (CF_ERR_AUTH). */
cf_status core_auth_certificate(store *st, cf_arena *a, int64_t now, const core_peer_cert *cert,
                                core_identity **out);

/* ------------------------------------------------------------ bootstrap */
typedef struct core_bootstrap_in {
    const uint8_t *admin_sha256;  /* a client certificate to register by
                                   * fingerprint as Manager of "default", or NULL */
    const char *admin_subject;    /* its subject, for the identity's name */
    /* Called inside the transaction with the new operator token (never
     * log it): write it where the operator finds it. A failure aborts the
     * bootstrap (nothing is created). */
    cf_status (*publish)(void *ctx, const cf_secret *token);
    void *ctx;
} core_bootstrap_in;

/* First start: in one store transaction, unless the store is already
 * bootstrapped (meta "bootstrap"), create the tenant "default" (when
 * absent), the admin certificate identity and an operator API key, and
 * mark the store. Two nodes starting on one database: exactly one creates
 * them (the other finds the mark). *out_done: whether this call did it. */
cf_status core_bootstrap(store *st, cf_arena *a, int64_t now, const core_bootstrap_in *in,
                         bool *out_done);

/* ====== root keys, versions, envelope encryption (core_envelope.c, issue 6) */
/*
 * A root key is a Symmetric Key (AES) with Extractable False whose usage
 * mask holds Wrap Key or Unwrap Key: its material never leaves Coffre, it
 * only wraps and unwraps data-encryption keys (DEKs). It has numbered
 * versions (store_key_version rows): the newest wraps, every version not
 * destroyed unwraps. Version 1 is the material it was created with; the
 * object row keeps the newest version's material (KMIP Encrypt/Decrypt use
 * it) and its number (server-only attribute y-key-version, absent: 1). A
 * key never rotated nor used to wrap has no version rows; its first wrap
 * (which reserves encryptions in the row) or its first rotation writes
 * them (v1 and v2). Destroying the key erases every version's material
 * (core_versions_destroy, in the destroying transaction). The wrapped form
 * of a DEK is the self-describing ciphertext of docs/envelope.md (format,
 * algorithm, key id, version, nonce and tag, all authenticated; AES-GCM
 * of the root key's size; the tenant and the caller's AAD are bound in as
 * GCM AAD). Rights: wrap needs
 * CORE_ACT_WRAP, unwrap CORE_ACT_UNWRAP, rewrap both (core_object_check_use:
 * role, restriction, state, dates): a Deactivated key unwraps but does not
 * wrap; Destroyed does neither.
 */
#define CORE_ENV_DEK_LEN 32           /* a generated DEK: 256 bits */
#define CORE_ENV_PLAINTEXT_MAX 4096   /* largest DEK (or secret) wrapped */
#define CORE_ENV_AAD_MAX 32           /* AAD strings (or map entries) */
#define CORE_ENV_AAD_STR_MAX 1024     /* bytes per AAD string */

/* Additional authenticated data: a list of strings, or a map (keys[i] ->
 * values[i]; encoded sorted by key so the order given does not matter). */
typedef struct core_aad {
    const char *const *keys;   /* map keys, NULL for a list */
    const char *const *values; /* the strings */
    size_t n;
} core_aad;

typedef struct core_env_out {
    const uint8_t *ciphertext; /* wrapped form (arena) */
    size_t ciphertext_len;
    cf_secret plaintext;       /* unwrap; wrap without plaintext: the generated
                                * DEK (caller frees with cf_secret_free) */
    uint32_t version;          /* the key version that wrapped / unwrapped */
    uint32_t newest;           /* the key's newest version */
} core_env_out;

/* Wrap plaintext (NULL: generate a CORE_ENV_DEK_LEN-byte DEK, returned in
 * out->plaintext) under the newest version of root key uid. Each wrap
 * counts against the version's encryption ceiling (the key's effective
 * rotation policy's max_encryptions, else 2^32), reserved in blocks
 * (core_versions.c); when the newest version has reached it, the wrap
 * rotates the key first (CORE_ROTATE_CEILING, no rotation right asked of
 * the caller) and wraps under the new version. Errors: CF_ERR_NOT_FOUND,
 * CF_ERR_PERMISSION, CF_ERR_STATE (not Active), CF_ERR_OBJECT_TYPE (not
 * a root key), CF_ERR_USAGE_MASK (no Wrap Key use), CF_ERR_INVALID_FIELD
 * (plaintext not 1..CORE_ENV_PLAINTEXT_MAX bytes, AAD out of limits or a
 * map key repeated), CF_ERR_CONFLICT (rotations kept racing: retry). */
cf_status core_env_wrap(core_req *req, const char *uid, const cf_secret *plaintext,
                        const core_aad *aad, core_env_out *out);
/* Unwrap a ciphertext of root key uid (the ciphertext names the key and
 * version: another key's ciphertext is CF_ERR_INVALID_FIELD). Tampering,
 * wrong AAD or tenant: CF_ERR_CRYPTO. A destroyed version: CF_ERR_DESTROYED. */
cf_status core_env_unwrap(core_req *req, const char *uid, const uint8_t *ct, size_t ct_len,
                          const core_aad *aad, core_env_out *out);
/* Unwrap, then wrap under the newest version; the plaintext never leaves
 * (out->plaintext stays empty). */
cf_status core_env_rewrap(core_req *req, const char *uid, const uint8_t *ct, size_t ct_len,
                          const core_aad *aad, core_env_out *out);

/* Why a rotation happened (recorded with it). */
typedef enum core_rotate_cause {
    CORE_ROTATE_MANUAL = 1,    /* REST/CLI rotate */
    CORE_ROTATE_POLICY = 2,    /* the scheduler: interval elapsed */
    CORE_ROTATE_CEILING = 3,   /* the scheduler / wrap: encryption ceiling reached */
    CORE_ROTATE_KMIP_REKEY = 4,/* KMIP ReKey of a root key */
    CORE_ROTATE_IMPORT = 5,    /* BYOK: the customer's material as a new version (core_byok.c) */
} core_rotate_cause;

/* A new version of root key uid (fresh material, sealed), newest from now
 * on; the object's material becomes it (KMIP Encrypt uses the newest), its
 * Digest follows. One store transaction (joining the caller's when
 * req->batch_txn): the version rows and the revision-checked object
 * update. CORE_ACT_REKEY. CF_ERR_OBJECT_TYPE for a key that is not a root
 * key, CF_ERR_STATE unless Active or Pre-Active; CF_ERR_CONFLICT when
 * another node rotated it at the same moment (the version row or the
 * revision check lost; this call does not rotate again): *out_version is
 * then the newest version, and for the scheduler that is success. */
cf_status core_key_rotate(core_req *req, const char *uid, core_rotate_cause cause,
                          uint32_t *out_version);
/* The same with options (the scheduler's form). expect_version non-zero:
 * rotate only while the newest version is still that one, else
 * CF_ERR_CONFLICT with *out_version the newest (another node rotated: two
 * nodes that saw the same due version create exactly one new version).
 * edit (may be NULL) runs on the loaded object before the save, in the
 * same revision-checked update as the new version (the scheduler moves
 * its next due date there); its failure aborts the rotation. */
typedef struct core_rotate_opts {
    uint32_t expect_version;
    cf_status (*edit)(core_req *req, core_object *obj, void *ctx);
    void *ctx;
    /* The new version's material (BYOK import, core_byok.c): the key's
     * length exactly (else CF_ERR_INVALID_FIELD); NULL: fresh random. */
    const cf_secret *material;
} core_rotate_opts;
cf_status core_key_rotate_ex(core_req *req, const char *uid, core_rotate_cause cause,
                             const core_rotate_opts *opts, uint32_t *out_version);

typedef struct core_key_version {
    uint32_t version;
    int64_t created;
    bool destroyed;
    int64_t encryptions;       /* reserved so far (an upper bound of the uses) */
} core_key_version;
/* Versions of a root key, newest first, paged (CORE_ACT_READ_METADATA). */
cf_status core_key_versions(core_req *req, const char *uid, int64_t offset, int64_t limit,
                            core_key_version **out, size_t *out_n, int64_t *out_total);
bool core_is_root_key(const core_object *obj);

/* ===== export and import for reversibility (core_xport.c, core_ximport.c, issue 6) */
/*
 * docs/export.md describes the document. Export hands out, per object, its
 * attributes and its key material wrapped for a key the destination holds
 * (never in clear: root keys, Extractable False and Sensitive keys leave
 * only this way, by a Manager, CORE_ACT_EXPORT); import recreates objects
 * with their Unique Identifier, attributes, state and root key versions
 * (CORE_ACT_IMPORT). The material of every object (each version of a root
 * key) is the object structure with its Key Block wrapped as KMIP wraps
 * keys (Key Value a Byte String, Key Wrapping Data); the wrapped Key Value
 * carries, with the Key Material, two vendor attributes binding it to the
 * document: "y" "export-digest" (SHA-256 of the object's attributes as the
 * document holds them: the front end encodes them, KMIP 2.1, and hands
 * core the digest) and "y" "export-version" (a root key's version), so an
 * altered attribute or a material moved to another object or version fails
 * the import of that object. Every object (version) exported or imported is
 * recorded in the audit trail, one record each ("exportObject",
 * "importObject"), besides the record of the call.
 */
#define CORE_EXPORT_MAX 100000      /* objects in one document */
#define CORE_EXPORT_PAGE_MAX 1000   /* objects per page (limit) */

typedef enum core_xwrap_alg {
    CORE_XWRAP_RSA_AES_KWP = 1, /* "rsa_aes_key_wrap_sha256": RSA-OAEP(SHA-256, MGF1 SHA-256)
                                 * of a fresh AES-256 key, then AES-KWP (RFC 5649) of the
                                 * payload under it (PKCS#11 CKM_RSA_AES_KEY_WRAP) */
    CORE_XWRAP_RSA_OAEP = 2,    /* "rsa_oaep_sha256": the payload itself (small keys only) */
    CORE_XWRAP_AES_KWP = 3,     /* "aes_kwp": AES-KWP under an AES key of the tenant */
} core_xwrap_alg;

const char *core_xwrap_name(core_xwrap_alg alg);
/* "rsa_aes_key_wrap_sha256" | "rsa_oaep_sha256" | "aes_kwp"; false otherwise. */
bool core_xwrap_parse(const char *name, core_xwrap_alg *out);

/* The key material is wrapped for (export) or unwrapped with (import). */
typedef struct core_xkey {
    core_xwrap_alg alg;
    EVP_PKEY *pkey;            /* RSA: the destination's public key (export), this
                                * tenant's private key (import); core_xkey_close frees */
    uint8_t spki_sha256[32];   /* RSA: SHA-256 of the public key's SubjectPublicKeyInfo DER */
    cf_secret kek;             /* AES: the key's bytes (core_xkey_close frees) */
    const char *key_id;        /* the tenant's key (AES; RSA import), NULL for a PEM key */
} core_xkey;

/* For export. RSA methods: pem is the destination's RSA public key (PEM
 * "PUBLIC KEY", "RSA PUBLIC KEY" or a "CERTIFICATE", 2048 to 16384 bits);
 * aes_kwp: key_id names an AES key of the tenant usable to wrap now
 * (CORE_ACT_WRAP, Wrap Key in its usage mask). CF_ERR_INVALID_FIELD (the
 * PEM), CF_ERR_UNSUPPORTED (not RSA), errors of the key's checks. */
cf_status core_xkey_export(core_req *req, core_xwrap_alg alg, const char *pem, size_t pem_len,
                           const char *key_id, core_xkey *out);
/* For import (CORE_ACT_IMPORT, checked first): key_id names the tenant's
 * RSA private key (RSA methods) or AES key (aes_kwp) usable to unwrap now
 * (CORE_ACT_UNWRAP, Unwrap Key in its usage mask). */
cf_status core_xkey_import(core_req *req, core_xwrap_alg alg, const char *key_id,
                           core_xkey *out);
void core_xkey_close(core_xkey *k);

/* How an object's material appears in the document. */
typedef enum core_xform {
    CORE_XFORM_NONE = 0,        /* none: destroyed, or a root key (its versions carry it) */
    CORE_XFORM_KEY_BLOCK,       /* the object structure, its Key Block wrapped */
    CORE_XFORM_OPAQUE,          /* Opaque Object: its Opaque Data Value is the wrapped Key Value */
    CORE_XFORM_CERTIFICATE,     /* Certificate: in clear (public) */
    CORE_XFORM_AS_REGISTERED,   /* a key registered wrapped: as registered (already wrapped) */
} core_xform;
const char *core_xform_name(core_xform f);
bool core_xform_parse(const char *name, core_xform *out);

typedef struct core_xversion {
    uint32_t version;
    int64_t created;
    bool destroyed;
    int64_t encryptions;       /* reserved under it so far (its encryption ceiling goes on) */
    const uint8_t *material;   /* wrapped Symmetric Key structure (TTLV); NULL: destroyed */
    size_t material_len;
} core_xversion;

typedef struct core_xobject {
    core_object *obj;
    ttlv_item *attrs;          /* core_object_attributes' list (Unique Identifier,
                                * Object Type, State, Key Format Type first) */
    core_xform form;
    const uint8_t *material;   /* TTLV of the object structure, NULL: none */
    size_t material_len;
    core_xversion *versions;   /* root keys, oldest first; NULL otherwise */
    size_t n_versions;
} core_xobject;

/* The tenant's objects to export, newest first (destroyed ones only with
 * include_destroyed), paged (limit <= CORE_EXPORT_PAGE_MAX, < 0: every
 * one, refused with CF_ERR_LIMIT above CORE_EXPORT_MAX). CORE_ACT_EXPORT
 * (a listing: identities restricted to some keys are refused). */
cf_status core_export_list(core_req *req, bool include_destroyed, int64_t offset, int64_t limit,
                           const char ***out_uids, size_t *out_n, int64_t *out_total);
/* Load uid for export: CORE_ACT_EXPORT on it; out->attrs as Get Attributes
 * lists them. */
cf_status core_export_load(core_req *req, const char *uid, core_xobject *out);
/* Wrap x's material (every version of a root key) for k, bound to digest
 * (SHA-256 of the attributes as the document holds them). Destroyed
 * objects and versions have none. CF_ERR_INVALID_FIELD when the material
 * does not fit k (rsa_oaep_sha256 and a large key: use
 * rsa_aes_key_wrap_sha256), CF_ERR_AUDIT. */
cf_status core_export_material(core_req *req, const core_xkey *k, const uint8_t digest[32],
                               core_xobject *x);

typedef struct core_ximport {
    const char *uid;
    uint32_t object_type;      /* from the document's fields: checked against attrs */
    uint32_t state;
    const ttlv_item *attrs;    /* canonical, as decoded from the document (the
                                * synthesised Unique Identifier, Object Type, State,
                                * Key Format Type included) */
    uint8_t digest[32];        /* SHA-256 of the attributes' bytes in the document */
    core_xform form;
    const uint8_t *material;
    size_t material_len;
    const core_xversion *versions; /* root keys */
    size_t n_versions;
    const char *source_tenant; /* the exporting tenant: ciphertexts of envelope
                                * encryption bind it (y-env-tenant, docs/export.md) */
} core_ximport;

/* Import one object, all or nothing (one store transaction: the object,
 * its versions). The caller is its owner. Errors: CF_ERR_EXISTS (the uid
 * is taken in this tenant), CF_ERR_NAME_TAKEN, CF_ERR_CRYPTO (the material
 * does not unwrap with k, or is not bound to these attributes / this
 * version: the document was altered), CF_ERR_INVALID_FIELD (malformed,
 * inconsistent), CF_ERR_PERMISSION, CF_ERR_AUDIT. */
cf_status core_import_object(core_req *req, const core_xkey *k, const core_ximport *in);
/* The tenant whose id envelope ciphertexts of root key obj bind: its
 * y-env-tenant (set by an import into another tenant), else its own. */
const char *core_env_tenant(const core_object *obj);

/* ================================= rotation policy (core_rotation.c, issue 6) */
/*
 * A policy: rotate every `interval` seconds (>= 1 hour, <= 10 years) and/or
 * once a version has wrapped `max_encryptions` times (<= 2^32, AES-GCM's
 * limit for random nonces). Per key (attributes y-rotation-interval,
 * y-rotation-max-encryptions, and the indexed y-next-rotation date the
 * scheduler searches), or per tenant as the default of keys without one
 * (store setting "rotation-policy"). The scheduler runs inside the server
 * on every node; nodes sharing one database never rotate a key twice for
 * one due date (the revision-checked update decides, core_key_rotate).
 */
typedef struct core_rotation_policy {
    int64_t interval;          /* seconds; 0: none */
    int64_t max_encryptions;   /* 0: none */
} core_rotation_policy;

#define CORE_ROTATION_INTERVAL_MIN 3600                 /* 1 hour */
#define CORE_ROTATION_INTERVAL_MAX (3650 * 86400)       /* 10 years of 365 days */
#define CORE_ROTATION_MAX_ENCRYPTIONS ((int64_t)1 << 32) /* 2^32 */

typedef enum core_rotation_source {
    CORE_ROTATION_NONE = 0,    /* no policy applies */
    CORE_ROTATION_KEY = 1,     /* the key's own policy (it replaces the default whole) */
    CORE_ROTATION_TENANT = 2,  /* the tenant default */
} core_rotation_source;

/* The policy that applies to a key, and its next due date. */
typedef struct core_rotation_info {
    core_rotation_policy policy;  /* effective: zero when source is NONE */
    core_rotation_source source;
    int64_t next;                 /* y-next-rotation; 0: none scheduled */
} core_rotation_info;

/* CF_OK when p is a policy one may set: interval 0 or
 * CORE_ROTATION_INTERVAL_MIN..MAX, max_encryptions 0 or
 * 1..CORE_ROTATION_MAX_ENCRYPTIONS, not both 0 (CF_ERR_INVALID_FIELD, message set). */
cf_status core_rotation_policy_check(core_req *req, const core_rotation_policy *p);

/* The policy of root key uid as it applies now (CORE_ACT_READ_METADATA). */
cf_status core_rotation_policy_get(core_req *req, const char *uid, core_rotation_info *out);
/* Give root key uid its own policy (CORE_ACT_MODIFY: a Writer may; y-
 * attributes are written by the server only, so KMIP clients see them but
 * cannot change them). The next rotation is due `interval` after the
 * newest version was made (the key's creation when never rotated), so a
 * key already older than the interval rotates at the next pass.
 * CF_ERR_OBJECT_TYPE for a key that is not a root key, CF_ERR_STATE unless
 * Pre-Active or Active. *out (may be NULL): the result. */
cf_status core_rotation_policy_set(core_req *req, const char *uid, const core_rotation_policy *p,
                                   core_rotation_info *out);
/* Remove the key's own policy: the tenant default applies again (if any). */
cf_status core_rotation_policy_clear(core_req *req, const char *uid, core_rotation_info *out);
/* The effective policy of a loaded object, no authorization (for the wrap
 * path's encryption ceiling): its own, else the tenant default. */
cf_status core_rotation_policy_effective(core_req *req, const core_object *obj,
                                         core_rotation_info *out);

/* The tenant default (store setting "rotation-policy"): the operator, or a
 * Manager of that tenant (CORE_ACT_MANAGE_IDENTITIES: the tenant's
 * administration; others get CF_ERR_PERMISSION or, for another tenant,
 * CF_ERR_NOT_FOUND). get: *out zero when none. set/clear reschedule the
 * tenant's root keys that have no policy of their own (y-next-rotation
 * from the new default, or none), once, paged through the index;
 * *out_rescheduled (may be NULL) counts the keys whose date changed. Keys
 * made later are scheduled by the next scheduler pass (core_rotation_run). */
cf_status core_rotation_tenant_get(core_req *req, const char *tenant, core_rotation_policy *out);
cf_status core_rotation_tenant_set(core_req *req, const char *tenant,
                                   const core_rotation_policy *p, int64_t *out_rescheduled);
cf_status core_rotation_tenant_clear(core_req *req, const char *tenant, int64_t *out_rescheduled);

typedef struct core_rotation_counts {
    int64_t rotated;  /* keys rotated by this pass */
    int64_t skipped;  /* due when searched, but another node rotated them first
                       * (y-next-rotation moved, or a conflict), or no longer Active */
    int64_t failed;   /* rotation failed: still due, retried at the next pass */
} core_rotation_counts;

/* One scheduler pass as of `now`, on connection st, as the system identity
 * "system:scheduler" (a Manager of each tenant, built in memory): for
 * every tenant, schedule its new root keys under its default policy, then
 * rotate (core_key_rotate, CORE_ROTATE_POLICY) the Active keys whose
 * y-next-rotation <= now, found through the attribute index, paged. Each
 * key is checked and rotated in one store transaction that also moves its
 * y-next-rotation to the first due + k * interval after now: several
 * nodes running passes on one database rotate a key once per due date.
 * Logs one info line per rotation. Errors: store failures of the search
 * itself (a key that fails counts in out->failed). */
cf_status core_rotation_run(const core *c, store *st, int64_t now, core_rotation_counts *out);
/* The same for a caller (REST POST /v1/rotation/run): the operator only;
 * at (NULL: req->now) only when the server runs with core.test_clock
 * (CF_ERR_PERMISSION otherwise). Runs on req->st. */
cf_status core_rotation_run_as(core_req *req, const int64_t *at, core_rotation_counts *out);

/* ================================== BYOK import (core_byok.c, issue 6) */
/*
 * Bring your own key, wrapped (docs/byok.md): the customer asks for an
 * import token, an RSA transport key pair made for it (3072 or 4096 bits;
 * the private half sealed under the keyring, never leaving), wraps its key
 * material for the token's public key, and sends the wrapped blob. Two
 * wrappings, the scheme AWS, Google, Vault and Cosmian share:
 *  - rsa_aes_key_wrap_sha256 (PKCS#11 CKM_RSA_AES_KEY_WRAP): an ephemeral
 *    AES key (256 bits; 128 and 192 are accepted) wrapped with RSA-OAEP
 *    (SHA-256, MGF1-SHA-256), the modulus length of bytes, followed by the
 *    material wrapped under it with AES-KWP (RFC 5649);
 *  - rsa_oaep_sha256: the material itself under RSA-OAEP (SHA-256,
 *    MGF1-SHA-256), for small keys.
 * The material: AES 16, 24 or 32 bytes, HMAC-SHA* 16 to 64 bytes; once
 * unwrapped it lives in cf_secret buffers only. A token has a TTL and a
 * number of uses; a use is spent by a revision-checked update in the same
 * store transaction that stores the key (two imports racing for the last
 * use: one wins, the other is refused and stores nothing). Its private key
 * is erased once it is used up. Tokens belong to the caller's tenant (any
 * identity of it allowed to create keys may use one).
 *
 * Generating the RSA pair takes 0.1-3 s (4096 bits: the slow end) on the
 * calling thread.
 */
#define CORE_BYOK_TTL_DEFAULT 86400           /* 24 hours, as AWS's import tokens */
#define CORE_BYOK_TTL_MAX (7 * 86400)         /* 7 days */
#define CORE_BYOK_USES_DEFAULT 1
#define CORE_BYOK_USES_MAX 100
#define CORE_BYOK_KEY_SIZE_DEFAULT 3072
#define CORE_BYOK_PURGE_AFTER (7 * 86400)     /* expired tokens are removed this long after */

typedef enum core_byok_wrapping {
    CORE_BYOK_RSA_AES_KEY_WRAP_SHA256 = 1,
    CORE_BYOK_RSA_OAEP_SHA256 = 2,
} core_byok_wrapping;

typedef struct core_import_token {
    const char *id;            /* a UUID */
    const char *owner;         /* the identity that created it */
    int32_t key_size;          /* RSA modulus bits */
    const char *public_pem;    /* SubjectPublicKeyInfo, PEM (RFC 7468 "PUBLIC KEY") */
    int64_t created;
    int64_t expires;
    int32_t max_uses;
    int32_t uses;
} core_import_token;

typedef struct core_import_token_spec {
    int64_t ttl;               /* seconds, 1..CORE_BYOK_TTL_MAX; 0: the default */
    int32_t max_uses;          /* 1..CORE_BYOK_USES_MAX; 0: the default */
    int32_t key_size;          /* 3072 or 4096; 0: the default */
} core_import_token_spec;

/* A new token of the caller's tenant (CORE_ACT_CREATE: Writer and up; the
 * operator is refused). Tokens of the tenant expired for more than
 * CORE_BYOK_PURGE_AFTER are removed on the way. CF_ERR_INVALID_FIELD (spec
 * out of range), CF_ERR_PERMISSION, store and crypto errors. */
cf_status core_import_token_create(core_req *req, const core_import_token_spec *spec,
                                   core_import_token **out);
/* A token of the caller's tenant (CORE_ACT_READ_METADATA), expired or used
 * up included. CF_ERR_NOT_FOUND for another tenant's, and for the operator. */
cf_status core_import_token_get(core_req *req, const char *id, core_import_token **out);

/* What the customer sent. blob is not secret (it is wrapped). */
typedef struct core_byok_wrapped {
    const char *token;         /* import token id */
    core_byok_wrapping wrapping;
    const uint8_t *blob;
    size_t blob_len;
} core_byok_wrapped;

/* Unwrap blob with the token's RSA private key, per the wrapping. Pure (no
 * store): CF_ERR_CRYPTO for anything that does not unwrap (wrong key,
 * wrong wrapping, altered, truncated, an ephemeral key that is not 16, 24
 * or 32 bytes); CF_ERR_INVALID_FIELD for an unknown wrapping. The caller
 * frees *out. */
cf_status core_byok_unwrap(EVP_PKEY *priv, core_byok_wrapping wrapping, const uint8_t *blob,
                           size_t blob_len, cf_secret *out);

/* Import wrapped material as a new Symmetric Key (as core_register would
 * register it: CORE_ACT_CREATE, Digest, Cryptographic Length filled in).
 * attrs: the client's canonical attributes; Cryptographic Algorithm is
 * required (AES or HMAC-SHA1/224/256/384/512), a Cryptographic Length
 * must match the material. Errors, in the order checked:
 * CF_ERR_PERMISSION; CF_ERR_NOT_FOUND (no such token in the tenant),
 * CF_ERR_STATE (the token expired), CF_ERR_USAGE_LIMIT (used up);
 * CF_ERR_CRYPTO (does not unwrap); CF_ERR_MISSING / CF_ERR_INVALID_FIELD
 * (algorithm, lengths, attributes); CF_ERR_NAME_TAKEN; store errors. The
 * token's use is spent only when the key is stored. */
cf_status core_byok_import_key(core_req *req, const core_byok_wrapped *in, const ttlv_item *attrs,
                               core_object **out);
/* Import wrapped material as the newest version of root key uid: a
 * rotation (core_key_rotate, cause CORE_ROTATE_IMPORT) whose new version
 * is the customer's material, of the key's length exactly. CORE_ACT_REKEY
 * on the key (CF_ERR_NOT_FOUND / CF_ERR_PERMISSION), CF_ERR_OBJECT_TYPE
 * (not a root key), then the token's and the material's errors as above,
 * CF_ERR_STATE (the key is neither Pre-Active nor Active), CF_ERR_CONFLICT
 * (rotated concurrently, retries exhausted). *out_version: the new one. */
cf_status core_byok_import_version(core_req *req, const char *uid, const core_byok_wrapped *in,
                                   uint32_t *out_version);

/* ============================================ audit (core_audit.c, issue 7) */
/*
 * One audit record per operation of every front end (a KMIP batch item, a
 * REST call, a scheduler or CLI action), refusals and failed
 * authentications included, written before the front end answers: when it
 * cannot be written, the answer becomes CF_ERR_AUDIT (fail closed: KMIP
 * Operation Failed / General Failure "audit unavailable", HTTP 503
 * audit_unavailable). The operation itself may have been carried out (its
 * own transaction committed first): the client is told it failed, and
 * retries; nothing is ever answered without its record.
 *
 * A front end calls core_audit_begin before the operation; core notes the
 * object (core_object_load, creations) and the front end what it knows
 * (peer certificate, batch item id); core_audit_end writes the record with
 * the result. Without req->core->audit (unit tests, tools) every call is a
 * no-op returning CF_OK. src/audit/audit.h defines the record and its
 * proofs, docs/audit.md the model, durability and the verify command.
 *
 * Chains: the caller's tenant; the operator, unauthenticated callers and
 * the system without a tenant go to the operator chain. The scheduler
 * names the tenant it acts for (core_audit_chain_tenant) so that a
 * tenant's trail shows its keys' rotations.
 */
typedef struct core_audit core_audit;

typedef enum core_audit_sync {
    CORE_AUDIT_SYNC_FULL = 0,   /* no answer before its writes and records are on
                                 * disk (group commit: one fsync for many) */
    CORE_AUDIT_SYNC_NORMAL = 1, /* answers wait for the commit only: durable against
                                 * a crash of the process, not of the machine */
} core_audit_sync;

typedef struct core_audit_opts {
    core_audit_sync sync;
    const char *file;               /* also append JSON lines here (0600), or NULL */
    int64_t checkpoint_records;     /* sign a checkpoint every N records of a chain
                                     * (0: 100), */
    int64_t checkpoint_seconds;     /* or at the first record T seconds after the
                                     * chain's last checkpoint (0: 60) */
} core_audit_opts;

/* Load the audit keys from the store's meta (the HMAC key and the Ed25519
 * signing key sealed under kr, "audit.hmac.1" / "audit.sign.1"; the public
 * key as PEM in clear, "audit.sign.pub", for offline verification),
 * creating them on first start (two nodes at once: the second reloads the
 * first's), and open the mirror file. Errors: CF_ERR_CRYPTO (a key does
 * not unseal: wrong master key), CF_ERR_IO (the file), store errors. */
cf_status core_audit_open(store *st, const cf_keyring *kr, const core_audit_opts *o,
                          core_audit **out);
void core_audit_free(core_audit *a);
/* The signing key's public half (PEM, owned by a) and its id (hex). */
const char *core_audit_public_pem(const core_audit *a);
const char *core_audit_key_id(const core_audit *a);

typedef enum core_audit_frontend {
    CORE_AUDIT_KMIP = 0,
    CORE_AUDIT_REST,
    CORE_AUDIT_SCHEDULER,     /* identity kind "system" */
    CORE_AUDIT_CLI,
} core_audit_frontend;

/* Start the record of one operation (replacing any previous one of req):
 * operation is the KMIP operation name ("Create") or the REST route's
 * OpenAPI operationId ("createKey"); source "ip:port" or NULL. A new
 * request id (UUID) is drawn. CF_ERR_NOMEM only. */
cf_status core_audit_begin(core_req *req, core_audit_frontend fe, const char *operation,
                           const char *source);
/* The peer's certificate (32-byte SHA-256 of its DER, RFC 2253 subject),
 * recorded for certificate identities and for refused certificates. */
void core_audit_peer_cert(core_req *req, const uint8_t *sha256, const char *subject);
/* KMIP Unique Batch Item ID (recorded in hex). */
void core_audit_batch_item(core_req *req, const uint8_t *id, size_t len);
/* The object the operation addresses: the first noted wins. core_object_load
 * and the object creations note theirs; a front end that knows better
 * (a listing addresses none, a route names its key) calls
 * core_audit_fix_object first: uid NULL records none. The object's first
 * Name is recorded as an HMAC. */
void core_audit_object(core_req *req, const core_object *obj);
void core_audit_object_id(core_req *req, const char *uid);
void core_audit_fix_object(core_req *req, const char *uid);
/* The tenant an operator action addresses (recorded as object.tenant). */
void core_audit_object_tenant(core_req *req, const char *tenant);
/* The key version used (root keys, core_envelope.c), 0: none. */
void core_audit_version(core_req *req, uint32_t version);
/* Sensitive values, recorded only as HMACs bound to the chain. */
void core_audit_name(core_req *req, const char *name, size_t len);
void core_audit_aad(core_req *req, const core_aad *aad);
/* The chain to record in when the caller has no tenant of its own (the
 * scheduler acting on a tenant's key). */
void core_audit_chain_tenant(core_req *req, const char *tenant);

/* Write the record begun by core_audit_begin with result ("ok" or a
 * util/status.c code) and reason (a client-safe message, NULL when ok),
 * then clear req->audit. With a ticket (req->ticket) the record is handed
 * to the committer and the ticket waits for it; without one it is written
 * at once in a transaction of its own. A record already written in the
 * operation's transaction (core_commit) is not written again unless the
 * operation failed after it (then this second record says how). In a batch
 * transaction (req->batch_txn) the record is queued instead, for
 * core_audit_flush. CF_ERR_AUDIT when it could not be written (logged);
 * CF_OK without a record begun or without auditing. */
cf_status core_audit_end(core_req *req, const char *result, const char *reason);
/* After a batch transaction committed (rolled_back false) or was rolled
 * back: write the queued records in order; with rolled_back, records that
 * said "ok" say "operation_undone" (their effect was rolled back).
 * CF_ERR_AUDIT when one could not be written. */
cf_status core_audit_flush(core_req *req, bool rolled_back);

/* Commit the transaction the operation opened (store_begin) with its audit
 * record in it (result "ok", as noted so far): the record and the writes
 * commit together or not at all, so no crash leaves a change without its
 * record. The ticket, if any, then waits for this commit to be durable.
 * Every core write path commits through here (core_in_txn included). */
cf_status core_commit(core_req *req);

/* ------------------------------------------- group commit (core_commit.c)
 * No answer leaves before what it reports is durable: the audit records of
 * its operations and the store writes they made (issues 7 and 8). In the
 * server a committer thread owns a store connection of its own; workers'
 * connections commit without fsync (store_set_deferred_sync). A front end
 * takes a ticket per KMIP message or REST request from its thread's
 * waiter, puts it in every core_req it builds, builds its answer as usual
 * and submits the ticket with a callback that sends the answer. Records
 * of reads (Get, unwrap...) are queued to the committer, which writes
 * every queued record in one transaction, fsyncs the WAL once for every
 * commit made so far, and settles the tickets that waited for them: many
 * answers share one transaction and one fsync. The callback runs on the
 * waiter's thread (core_waiter_run, which the owner calls when wake()d).
 * Fail-closed: st CF_ERR_AUDIT when a record or the sync failed; after a
 * failed fsync nothing is acknowledged any more (the page cache may have
 * dropped the pages: only a restart recovers a known state). */
typedef struct core_waiter core_waiter;
typedef struct core_ticket core_ticket;
typedef void (*core_ticket_fn)(void *arg, cf_status st);

/* Start a's committer on `own` (a store connection it takes over and
 * closes). Without it, tickets are never handed out (synchronous mode). */
cf_status core_audit_committer_start(core_audit *a, store *own);
/* Write what is queued, settle every ticket, stop the thread (also done by
 * core_audit_free). Call after every waiter is freed. */
void core_audit_committer_stop(core_audit *a);
/* One per thread answering clients; wake(arg) is called from another
 * thread when tickets of w settled: the owner then calls core_waiter_run
 * on its own thread (libevent: event_active). NULL a or no committer:
 * *out NULL (synchronous mode), CF_OK. */
cf_status core_waiter_new(core_audit *a, void (*wake)(void *arg), void *arg, core_waiter **out);
void core_waiter_run(core_waiter *w);
/* Blocks until every submitted ticket of w settled, running their
 * callbacks (shutdown, before the connections they answer are freed). */
void core_waiter_drain(core_waiter *w);
void core_waiter_free(core_waiter *w); /* drains first */
/* A ticket of w; NULL when w is NULL or out of memory (the request then
 * runs synchronously: slower, as safe). */
core_ticket *core_ticket_new(core_waiter *w);
/* Hand t over once the answer is built. true: settled now (*now: CF_OK or
 * CF_ERR_AUDIT), answer at once, fn will not run. false: fn(arg, st) runs
 * later on the waiter's thread. t is freed by core either way; t NULL:
 * true, CF_OK. fn may be NULL (nothing to answer). */
bool core_ticket_submit(core_ticket *t, core_ticket_fn fn, void *arg, cf_status *now);

/* One record of an action of the server itself, outside any client request
 * (the rotation scheduler: operation "rotateKey"): identity kind "system",
 * front end "scheduler", in tenant's chain (NULL: the operator chain),
 * object uid (may be NULL) at version (0: none). a: a scratch arena, st:
 * the caller's store connection (not inside a transaction). CF_ERR_AUDIT
 * when it could not be written; CF_OK when c has no audit. */
cf_status core_audit_system(const core *c, store *st, cf_arena *a, const char *tenant,
                            const char *operation, const char *uid, uint32_t version,
                            cf_status result, const char *reason);

/* ------------------------------------------------------ reading the trail */
typedef struct core_audit_query {
    const char *chain;        /* a tenant id or "_operator"; NULL: the caller's tenant
                               * (the operator: its own chain) */
    const char *object;       /* NULL: any; the others likewise */
    const char *identity;
    const char *operation;
    const char *result;
    const char *name;         /* searched through its HMAC */
    const core_aad *aad;      /* idem */
    int64_t from_ms, to_ms;   /* time range, 0: open */
    int64_t after_seq;        /* paging: records with seq > after_seq */
    int64_t limit;            /* 1..CORE_AUDIT_PAGE_MAX (export: ..CORE_AUDIT_EXPORT_MAX) */
} core_audit_query;

#define CORE_AUDIT_PAGE_MAX 1000
#define CORE_AUDIT_EXPORT_MAX 10000

typedef struct core_audit_page {
    const char *chain;
    const char **records;     /* stored JSON texts (arena), ascending seq */
    size_t n;
    int64_t next_after_seq;   /* 0: no more */
} core_audit_page;

/* Records of one chain (CORE_ACT_READ_AUDIT: a tenant's Reader and up its
 * own tenant, the operator any chain; another tenant is CF_ERR_NOT_FOUND;
 * identities restricted to some keys are refused). */
cf_status core_audit_search(core_req *req, const core_audit_query *q, core_audit_page *out);

typedef struct core_audit_export {
    const char *chain;
    const char **records;     /* JSON texts, consecutive seqs first_seq..last_seq */
    size_t n;
    int64_t first_seq, last_seq;
    const char **checkpoints; /* stored checkpoints in that range, ascending */
    size_t n_checkpoints;
    const char *checkpoint;   /* signed now, for last_seq (NULL when n is 0) */
    const char *public_key;   /* PEM */
    int64_t next_after_seq;   /* more records (after_seq of the next export), 0: none */
} core_audit_export;

/* A verifiable slice of one chain: the records from the first with time >=
 * from_ms (or seq > after_seq) to the last with time <= to_ms, at most
 * limit (<= CORE_AUDIT_EXPORT_MAX), with every stored checkpoint among
 * them and a new checkpoint signing the last one (written to the store).
 * Same rights as core_audit_search. */
cf_status core_audit_export_chain(core_req *req, const core_audit_query *q,
                                  core_audit_export *out);

/* ============================================= rate limits (core_rate.c, issue 9) */
/*
 * Token buckets per identity and per tenant, in memory on each node (with N
 * nodes a client may reach N times the rate: docs/security.md). Both front
 * ends call core_rate_check right after authentication: KMIP once per batch
 * item, REST once per request. Thread-safe; memory bounded by
 * CF_LIMIT_RATE_BUCKETS.
 */
typedef struct core_rate core_rate;

typedef struct core_rate_opts {
    unsigned tenant_rps;    /* requests per second per tenant (default of the
                             * tenants without their own setting), 0: none */
    unsigned identity_rps;  /* per identity, 0: none */
    size_t max_buckets;     /* 0: CF_LIMIT_RATE_BUCKETS */
} core_rate_opts;

#define CORE_RATE_SETTING "rate-limit" /* store setting: decimal rps, "0": unlimited */
#define CORE_RATE_MAX 1000000

cf_status core_rate_new(const core_rate_opts *o, core_rate **out);
void core_rate_free(core_rate *r);
/* One request of req->who (no limit without req->core->rate, or for an
 * unauthenticated caller: the front ends refuse those first). Over the
 * rate: CF_ERR_RATE_LIMITED with a client-safe message naming the limit
 * and *out_retry_after (when non-NULL) the seconds until a request would
 * pass (at least 1). */
cf_status core_rate_check(core_req *req, unsigned *out_retry_after);
/* The bucket of key at rate (0: always CF_OK) at time now_ms (a monotonic
 * clock): the primitive of core_rate_check, for tests. */
cf_status core_rate_take(core_rate *r, const char *key, unsigned rate, int64_t now_ms,
                         unsigned *out_retry_after);
/* Buckets in memory (tests). */
size_t core_rate_count(core_rate *r);
/* A tenant's own rate (store setting CORE_RATE_SETTING), overriding the
 * server's --rate-tenant on every node within CF_LIMIT_RATE_SETTING_TTL:
 * *out -1 when it has none. get: as core_tenant_get; set: operator only,
 * 0..CORE_RATE_MAX (0: unlimited), -1 removes it. */
cf_status core_rate_tenant_get(core_req *req, const char *tenant, int64_t *out);
cf_status core_rate_tenant_set(core_req *req, const char *tenant, int64_t rps);

#endif
