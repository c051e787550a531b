/*
 * store.h - persistence of managed objects behind one interface.
 *
 * A `store` is one connection to a back end (SQLite now, PostgreSQL next),
 * used by one thread at a time: every worker opens its own. The back end is
 * a struct of function pointers (store_int.h) chosen by the URI given to
 * store_open, so the core never sees SQL.
 *
 * Rows are always addressed by (tenant, uid), and searches by tenant: no
 * call reads objects across tenants. Tenants and identities (below) follow
 * the same rule, except the authentication lookups store_auth_*, which run
 * before the caller's tenant is known, and the operator's tenant list. The store treats attributes and key
 * material as opaque blobs (the core encodes attributes as TTLV and seals
 * material under the keyring); to find objects it keeps a few columns and an
 * attribute index whose entries the core derives from the attributes.
 *
 * Durability: store_commit returns only once the transaction is durable
 * (SQLite: WAL with synchronous=FULL), so a client is never answered before
 * its object is on disk. A connection switched to deferred sync
 * (store_set_deferred_sync: the server's workers, with core's committer
 * thread) commits without waiting for the disk; the committer then makes
 * every commit durable with one store_sync for many of them (group
 * commit), and answers wait for that (core.h, tickets).
 *
 * Concurrency: updates carry the revision they were read at; a concurrent
 * change makes store_object_update return CF_ERR_CONFLICT and the caller
 * retries the whole operation.
 */
#ifndef CF_STORE_H
#define CF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/mem.h"
#include "util/status.h"

typedef struct store store;

typedef struct store_object {
    const char *tenant;
    const char *uid;
    uint32_t object_type;     /* KMIP Object Type */
    uint32_t state;           /* KMIP State */
    const char *owner;        /* identity that owns the object */
    uint32_t algorithm;       /* KMIP Cryptographic Algorithm, 0 if none */
    int32_t length;           /* Cryptographic Length, 0 if none */
    int64_t created;          /* seconds since the epoch */
    int64_t updated;
    int64_t revision;         /* starts at 1, +1 on every update */
    const uint8_t *attrs;     /* opaque (TTLV) */
    size_t attrs_len;
    uint32_t key_format;      /* KMIP Key Format Type of the sealed material, 0 if none */
    const uint8_t *material;  /* sealed, opaque; NULL when the object has none */
    size_t material_len;
    const struct store_index_entry *index; /* searchable attribute values */
    size_t n_index;
} store_object;

/*
 * The attribute index: one entry per searchable value of an attribute
 * instance, given by the core with each insert/update (the store cannot read
 * the opaque attribute blob) and replaced in the same transaction as the
 * object row, so a search never sees an object and a stale index together.
 * An entry has an integer part, a byte part, or both (a Link: its type and
 * the linked uid). store_object_get does not return the entries.
 */
typedef struct store_index_entry {
    const char *name;        /* attribute name, e.g. "Name", "x-Owner" */
    bool has_int;
    int64_t ival;            /* Integer, Enumeration, Date-Time, Boolean, ... */
    const uint8_t *text;     /* Text/Byte String bytes, NULL if none */
    size_t text_len;
} store_index_entry;

/* uri: "sqlite:PATH" or a plain path (SQLite). Creates the schema if needed. */
cf_status store_open(const char *uri, store **out);
void store_close(store *s);
const char *store_backend(const store *s);

cf_status store_begin(store *s);   /* a write transaction */
cf_status store_commit(store *s);  /* durable on return (unless deferred sync) */
void store_rollback(store *s);
/* store_commit, then fn(arg) once the commit succeeded and before another
 * writer of this process can commit: what fn does (the audit mirror file)
 * follows commit order. fn is not called when the commit fails. */
cf_status store_commit_then(store *s, void (*fn)(void *arg), void *arg);

/* ---- group commit (SQLite: WAL frames fdatasync'd by one thread) ----
 * Commits of this process are numbered 1, 2, ... (every connection);
 * store_last_commit: the number of this connection's last commit (0: none).
 * store_set_deferred_sync(s, true): this connection's commits no longer
 * wait for the disk (synchronous=NORMAL, no automatic WAL checkpoint):
 * somebody must call store_sync and store_checkpoint (core's committer).
 * store_sync: every commit numbered up to *out_synced (the process's last
 * commit when called) is durable on return; CF_ERR_IO when the disk
 * refused (fatal for durability: after it nothing may be acknowledged).
 * store_checkpoint: copy the WAL into the database when it grew (passive:
 * never waits for readers). */
uint64_t store_last_commit(store *s);
cf_status store_set_deferred_sync(store *s, bool on);
cf_status store_sync(store *s, uint64_t *out_synced);
cf_status store_checkpoint(store *s);

cf_status store_object_insert(store *s, const store_object *o);
/* Update the row if its revision is still o->revision - 1; CF_ERR_CONFLICT otherwise. */
cf_status store_object_update(store *s, const store_object *o);
/* Strings and blobs of *out live in the arena. CF_ERR_NOT_FOUND if absent. */
cf_status store_object_get(store *s, const char *tenant, const char *uid, cf_arena *a,
                           store_object *out);
cf_status store_object_delete(store *s, const char *tenant, const char *uid);
/* Number of objects in a tenant (for tests, metrics). */
cf_status store_object_count(store *s, const char *tenant, int64_t *out);

/* -------------------------------------------------------------- search */

/* What a criterion looks at: an indexed attribute (by name) or one of the
 * object row's own columns. */
typedef enum store_field {
    STORE_FIELD_ATTR = 0,     /* entries of the attribute index named `name` */
    STORE_FIELD_UID,          /* text part only */
    STORE_FIELD_OBJECT_TYPE,  /* integer part only */
    STORE_FIELD_STATE,        /* integer part only */
} store_field;

typedef enum store_int_op {
    STORE_INT_ANY = 0,        /* no condition on the integer part */
    STORE_INT_EQ,             /* ival = lo */
    STORE_INT_NE,             /* ival <> lo */
    STORE_INT_RANGE,          /* lo <= ival <= hi */
    STORE_INT_MASK,           /* (ival & lo) = lo: every bit of lo is set */
} store_int_op;

typedef enum store_text_op {
    STORE_TEXT_ANY = 0,       /* no condition on the byte part */
    STORE_TEXT_EQ,            /* bytes equal */
    STORE_TEXT_PREFIX,        /* starts with text */
    STORE_TEXT_SUFFIX,        /* ends with text */
} store_text_op;

/*
 * One criterion. For STORE_FIELD_ATTR it holds when some index entry of that
 * name satisfies both parts (the same entry: a Link's type and uid match
 * together); with `negate`, when NO entry of that name satisfies them
 * (objects without the attribute included). For a column, when the column
 * satisfies the parts (negated with `negate`).
 */
typedef struct store_criterion {
    store_field field;
    const char *name;
    bool negate;
    store_int_op int_op;
    int64_t lo, hi;
    store_text_op text_op;
    const uint8_t *text;
    size_t text_len;
} store_criterion;

/* Every criterion must hold (AND). Results are only ever from one tenant. */
typedef struct store_query {
    const char *tenant;
    const char *owner;        /* non-NULL: only objects this identity owns */
    const store_criterion *crit;
    size_t n_crit;
    int64_t offset;           /* matching objects to skip, >= 0 */
    int64_t limit;            /* most uids to return; < 0: no limit */
} store_query;

/*
 * Unique Identifiers of the objects matching q, newest first (descending
 * creation, KMIP 2.0 section 6.1.27; a stable order for paging), after
 * skipping q->offset and at most q->limit of them, in the arena
 * (*out_uids[i] are NUL-terminated). *out_total is the number of matching
 * objects before offset and limit. The back end answers from its indexes:
 * the cost follows the number of candidates of the most selective
 * criterion, not the number of objects. Errors: CF_ERR_INVALID_FIELD for a
 * malformed query, CF_ERR_NOMEM, CF_ERR_STORE.
 */
cf_status store_object_find(store *s, const store_query *q, cf_arena *a,
                            const char ***out_uids, size_t *out_n, int64_t *out_total);

/* ------------------------------------------------- tenants and identities */
/*
 * Tenants and identities (core_identity.c holds their rules). A tenant row
 * is keyed by its id, an identity row by (tenant, id): every read or write
 * names the tenant, except the three authentication lookups below, which
 * run before the caller is known and say so in their names (store_auth_*),
 * and store_tenant_list, the operator's view of the tenants themselves.
 * Operator identities live outside tenants: their tenant is NULL, and a
 * NULL tenant argument addresses them (SQL `tenant IS ?`).
 */
typedef struct store_tenant {
    const char *id;           /* slug, see core_tenant_id_valid */
    const char *name;
    int64_t created;
    uint32_t state;           /* core_tenant_state */
} store_tenant;

typedef struct store_identity {
    const char *id;           /* UUID */
    const char *tenant;       /* NULL: an operator identity */
    uint32_t kind;            /* core_identity_kind */
    const char *name;
    uint32_t role;            /* core_role (0 for the operator) */
    bool is_operator;
    int64_t created;
    int64_t expires;          /* 0: never */
    bool disabled;
    const uint8_t *secret_sha256; /* API key: SHA-256 of the secret (32 bytes), else NULL */
    const uint8_t *cert_sha256;   /* pinned certificate: SHA-256 of its DER (32), else NULL */
    const uint8_t *ca_sha256;     /* CA rule: SHA-256 of the issuing CA's DER (32), else NULL */
    const char *subject;          /* CA rule: the subject it admits; NULL = any subject */
    uint64_t restrict_actions;    /* opaque to the store (core_restriction) */
    const char *restrict_uids;    /* opaque to the store; NULL = none */
    int64_t revision;             /* starts at 1, +1 on every update */
    uint32_t tenant_state;        /* filled by reads: the tenant's state, 0 for the operator
                                   * or a tenant row that is missing */
} store_identity;

/* CF_ERR_EXISTS when the id is taken. */
cf_status store_tenant_insert(store *s, const store_tenant *t);
/* Name and state of an existing tenant; CF_ERR_NOT_FOUND if absent. */
cf_status store_tenant_update(store *s, const store_tenant *t);
/* Strings in the arena. CF_ERR_NOT_FOUND if absent. */
cf_status store_tenant_get(store *s, const char *id, cf_arena *a, store_tenant *out);
/* Tenants by id after skipping offset, at most limit (< 0: all), into an
 * arena array; *out_total counts every tenant. Operator view. */
cf_status store_tenant_list(store *s, int64_t offset, int64_t limit, cf_arena *a,
                            store_tenant **out, size_t *out_n, int64_t *out_total);
/* The tenant, its identities and every object row of it (index rows
 * included). The caller checks first what may go (core_tenant_delete);
 * run it inside store_begin/store_commit. CF_ERR_NOT_FOUND if absent. */
cf_status store_tenant_delete(store *s, const char *id);

/* CF_ERR_EXISTS when the id, the pinned certificate or the CA rule (same CA
 * and subject, or a second any-subject rule for one CA) is already held by
 * an identity of any tenant: one certificate maps to one identity. */
cf_status store_identity_insert(store *s, const store_identity *i);
/* Update the row (tenant, id) if its revision is still i->revision - 1;
 * CF_ERR_CONFLICT otherwise (or when absent: load first). Every column but
 * id, tenant, kind, is_operator and created is rewritten. */
cf_status store_identity_update(store *s, const store_identity *i);
/* CF_ERR_NOT_FOUND when (tenant, id) does not exist. */
cf_status store_identity_get(store *s, const char *tenant, const char *id, cf_arena *a,
                             store_identity *out);
cf_status store_identity_delete(store *s, const char *tenant, const char *id);
/* A tenant's identities (NULL: the operator identities), oldest first. */
cf_status store_identity_list(store *s, const char *tenant, int64_t offset, int64_t limit,
                              cf_arena *a, store_identity **out, size_t *out_n,
                              int64_t *out_total);

/* Authentication lookups, across tenants by necessity: the identity with
 * this id (an API key's token names it); the one pinning this certificate
 * fingerprint; the one whose CA rule admits (ca_sha256, subject): an exact
 * subject rule first, else the CA's any-subject rule. CF_ERR_NOT_FOUND
 * when none. Disabled and expired identities are returned: the core
 * judges them. */
cf_status store_auth_by_id(store *s, const char *id, cf_arena *a, store_identity *out);
cf_status store_auth_by_cert(store *s, const uint8_t sha256[32], cf_arena *a,
                             store_identity *out);
cf_status store_auth_by_ca(store *s, const uint8_t ca_sha256[32], const char *subject,
                           cf_arena *a, store_identity *out);

/* Small cluster-wide metadata (wrapped KEKs, schema version, ...). */
cf_status store_meta_get(store *s, const char *key, cf_arena *a, const uint8_t **out,
                         size_t *out_len);
/* Insert if absent; CF_ERR_EXISTS if another writer got there first. */
cf_status store_meta_insert(store *s, const char *key, const uint8_t *val, size_t len);

/* ------------------------------------------- key versions (root keys) */
/*
 * A root key (core_envelope.c) has numbered versions, one row each, keyed
 * by (tenant, uid, version): the object row keeps the attributes and the
 * newest version's material; every version's material stays here until
 * that version is destroyed. Versions are never renumbered; inserting a
 * version that exists is CF_ERR_EXISTS (two nodes rotating at once: one
 * wins). Deleting the object row (or the tenant) deletes its versions.
 */
typedef struct store_key_version {
    const char *tenant;
    const char *uid;          /* the object */
    uint32_t version;         /* 1, 2, ... */
    int64_t created;
    bool destroyed;           /* material erased (material NULL) */
    const uint8_t *material;  /* sealed, opaque; NULL when destroyed or not read */
    size_t material_len;
    int64_t uses_reserved;    /* encryptions handed out under this version
                               * (the per-version ceiling, reserved in blocks) */
    int64_t revision;         /* starts at 1, +1 on every update */
} store_key_version;

cf_status store_version_insert(store *s, const store_key_version *v);
/* CF_ERR_NOT_FOUND when absent. With material (sealed) in the arena. */
cf_status store_version_get(store *s, const char *tenant, const char *uid, uint32_t version,
                            cf_arena *a, store_key_version *out);
/* Rewrite destroyed, material and uses_reserved if the row's revision is
 * still v->revision - 1; CF_ERR_CONFLICT otherwise. */
cf_status store_version_update(store *s, const store_key_version *v);
/* An object's versions, newest first, without their material, paged
 * (limit < 0: all); *out_total counts them all. */
cf_status store_version_list(store *s, const char *tenant, const char *uid, int64_t offset,
                             int64_t limit, cf_arena *a, store_key_version **out,
                             size_t *out_n, int64_t *out_total);

/* ------------------------------------------------- per-tenant settings */
/* Small per-tenant values the core encodes (a default rotation policy,
 * ...), keyed by (tenant, key). CF_ERR_NOT_FOUND when absent. */
cf_status store_setting_get(store *s, const char *tenant, const char *key, cf_arena *a,
                            const uint8_t **out, size_t *out_len);
/* Insert or replace; val NULL deletes the setting (absent: CF_OK). */
cf_status store_setting_put(store *s, const char *tenant, const char *key, const uint8_t *val,
                            size_t len);

/* ---------------------------------------------------------------- audit */
/*
 * The audit trail (core_audit.c builds the records, src/audit/ their form):
 * append-only rows, one hash chain per tenant plus the operator's, each
 * chain with a head row (its last seq and hash, its last checkpoint) and
 * signed checkpoints. The store never reads a record's JSON: it keeps a
 * few columns to search on. Rows are never updated or deleted by Coffre;
 * deleting a tenant keeps its audit.
 */
typedef struct store_audit_row {
    const char *chain;        /* tenant id, or the operator chain */
    int64_t seq;              /* 1, 2, ... without gaps */
    int64_t time_ms;
    const char *identity;     /* identity id, or NULL */
    const char *operation;
    const char *object;       /* object id, or NULL */
    const char *result;       /* "ok" or a status code */
    const char *hmac_name;    /* hex, or NULL */
    const char *hmac_aad;     /* hex, or NULL */
    const char *hash;         /* hex */
    const char *json;         /* the record as stored (hash included) */
    size_t json_len;
} store_audit_row;

typedef struct store_audit_head {
    const char *chain;
    int64_t seq;              /* 0: no record yet */
    const char *hash;         /* of record seq; 64 zeros when none */
    int64_t cp_seq;           /* seq of the chain's latest checkpoint, 0: none */
    int64_t cp_time_ms;
} store_audit_head;

typedef struct store_audit_checkpoint {
    const char *chain;
    int64_t seq;
    int64_t time_ms;
    const char *json;         /* signed checkpoint (src/audit/audit.h) */
    size_t json_len;
} store_audit_checkpoint;

/* Called inside the append transaction with the chain's head, which no
 * other writer can move until commit. Fill *row (row->json NULL: no record;
 * else row->seq must be head->seq + 1) and/or *cp (cp->json NULL: none).
 * Pointers must stay valid until store_audit_append returns. Any status
 * but CF_OK rolls back and is returned. */
typedef cf_status (*store_audit_build_fn)(void *ctx, const store_audit_head *head,
                                          store_audit_row *row, store_audit_checkpoint *cp);

/* One append inside the caller's write transaction (store_begin): read
 * the chain's head, call build, insert the record and/or checkpoint,
 * advance the head. The operation's own transaction (its record commits
 * with its writes, or neither does) or the committer's batch. SQLite
 * serialises writers with BEGIN IMMEDIATE; PostgreSQL will lock the head
 * row (SELECT ... FOR UPDATE) for the same effect. */
cf_status store_audit_append_in_txn(store *s, const char *chain, store_audit_build_fn build,
                                    void *ctx);
/* The same in a transaction of its own, committed (then(arg) after the
 * commit as store_commit_then; then may be NULL). */
cf_status store_audit_append(store *s, const char *chain, store_audit_build_fn build, void *ctx,
                             void (*then)(void *arg), void *arg);

typedef struct store_audit_filter {
    const char *chain;        /* required */
    int64_t after_seq;        /* seq > after_seq */
    int64_t to_seq;           /* seq <= to_seq; 0: no bound */
    int64_t from_ms, to_ms;   /* from_ms <= time <= to_ms; 0: no bound */
    const char *object;       /* NULL: any; the others likewise */
    const char *identity;
    const char *operation;
    const char *result;
    const char *hmac_name;
    const char *hmac_aad;
    int64_t limit;            /* most rows, >= 1 */
} store_audit_filter;

/* Records matching every condition of f by ascending seq, in the arena
 * (row strings and JSON NUL-terminated). CF_ERR_INVALID_FIELD for a
 * filter without chain or limit. */
cf_status store_audit_query(store *s, const store_audit_filter *f, cf_arena *a,
                            store_audit_row **out, size_t *out_n);
/* The head of a chain; CF_ERR_NOT_FOUND when it has no record. */
cf_status store_audit_head_get(store *s, const char *chain, cf_arena *a, store_audit_head *out);
/* Heads of the chains named after `after` (NULL: from the first), by
 * name, at most limit. */
cf_status store_audit_chains(store *s, const char *after, int64_t limit, cf_arena *a,
                             store_audit_head **out, size_t *out_n);
/* Checkpoints of chain with from_seq <= seq <= to_seq (to_seq 0: no
 * bound), ascending, at most limit. */
cf_status store_audit_checkpoints(store *s, const char *chain, int64_t from_seq, int64_t to_seq,
                                  int64_t limit, cf_arena *a, store_audit_checkpoint **out,
                                  size_t *out_n);

/* ------------------------------------------------ import tokens (BYOK) */
/*
 * An import token (core_byok.c): an RSA transport key pair whose public
 * half a tenant's customer wraps key material for. Keyed (tenant, id). The
 * private key is sealed by the core (opaque here) and erased (NULL) once
 * the token is used up. `uses` only grows, by revision-checked updates:
 * two imports racing for a token's last use, one wins. Rows go with their
 * tenant; the core purges those expired long ago (store_import_token_purge).
 */
typedef struct store_import_token {
    const char *tenant;
    const char *id;
    const char *owner;          /* the identity that created it */
    int64_t created;
    int64_t expires;
    int32_t key_size;           /* RSA modulus bits */
    int32_t max_uses;
    int32_t uses;
    const uint8_t *public_key;  /* SubjectPublicKeyInfo DER */
    size_t public_key_len;
    const uint8_t *private_key; /* sealed, opaque; NULL once erased */
    size_t private_key_len;
    int64_t revision;           /* starts at 1, +1 on every update */
} store_import_token;

/* CF_ERR_EXISTS when (tenant, id) is taken. */
cf_status store_import_token_insert(store *s, const store_import_token *t);
/* Strings and blobs in the arena. CF_ERR_NOT_FOUND if absent. */
cf_status store_import_token_get(store *s, const char *tenant, const char *id, cf_arena *a,
                                 store_import_token *out);
/* Rewrite uses and private_key if the row's revision is still
 * t->revision - 1; CF_ERR_CONFLICT otherwise (or when absent). */
cf_status store_import_token_update(store *s, const store_import_token *t);
/* Delete the tenant's tokens whose expiry is before `before`. */
cf_status store_import_token_purge(store *s, const char *tenant, int64_t before);

#endif
