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

#endif
