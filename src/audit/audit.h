/*
 * audit.h - the audit trail's record model and its proofs, as pure
 * functions: canonical form, hash chain, keyed HMACs of sensitive values,
 * signed checkpoints and the verifier. No store, no sockets, no core: the
 * core (core_audit.c) fills records and stores them; the CLI verifies them
 * offline with the same code.
 *
 * A record is one operation of one front end (a KMIP batch item, a REST
 * call, a scheduler action). Records form one hash chain per tenant (chain
 * = the tenant id) plus one for the operator, system and unauthenticated
 * events (AUDIT_CHAIN_OPERATOR, which cannot be a tenant id: those are
 * [a-z0-9-] only). Each record names its chain, its sequence number
 * (1, 2, ... without gaps) and the hash of the previous record of its chain
 * ("prev", 64 zeros for seq 1).
 *
 * Canonical form: the record as compact JSON with keys sorted bytewise, no
 * whitespace, without the "hash" member (jansson JSON_COMPACT |
 * JSON_SORT_KEYS; Python: json.dumps(r, sort_keys=True, separators=(",",
 * ":"), ensure_ascii=False)). hash = hex(SHA-256(canonical)). The stored
 * and exported form is the same JSON with "hash" added.
 *
 * Checkpoint: {"chain", "seq", "hash", "time", "key_id", "signature"}: an
 * Ed25519 signature (hex) over the canonical form of the other members,
 * with the audit signing key; key_id is hex(SHA-256(raw public key)). A
 * checkpoint says "record seq of chain had this hash at this time": a trail
 * that ends before a checkpoint's seq was truncated, a record that differs
 * from its checkpoint was rewritten.
 *
 * Never in a record: key material, tokens, plaintexts, AAD or object names
 * in clear. Names and AAD are HMAC-SHA256 under the audit HMAC key, bound
 * to the chain (equal names in two tenants do not correlate), so a search
 * that HMACs the value it is given finds them without disclosing them.
 *
 * Memory: strings returned as char ** are malloc'd (free()); keys are
 * audit_key handles (audit_key_free).
 */
#ifndef CF_AUDIT_H
#define CF_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/mem.h"
#include "util/status.h"

#define AUDIT_CHAIN_OPERATOR "_operator"
#define AUDIT_HASH_HEX 64            /* SHA-256 in hex */
#define AUDIT_HMAC_KEY_LEN 32
#define AUDIT_SIGN_KEY_LEN 32        /* Ed25519 raw private key */
#define AUDIT_REASON_MAX 256         /* bytes of reason kept */
#define AUDIT_ZERO_HASH                                                                           \
    "0000000000000000000000000000000000000000000000000000000000000000"

typedef enum audit_id_kind {
    AUDIT_ID_NONE = 0,        /* unauthenticated */
    AUDIT_ID_API_KEY,
    AUDIT_ID_CERTIFICATE,
    AUDIT_ID_OPERATOR,
    AUDIT_ID_SYSTEM,          /* the server itself (scheduler) */
} audit_id_kind;

/* "none", "api_key", "certificate", "operator", "system". */
const char *audit_id_kind_name(audit_id_kind k);

typedef struct audit_record {
    const char *chain;        /* tenant id or AUDIT_CHAIN_OPERATOR */
    int64_t seq;              /* 1, 2, ... */
    int64_t time_ms;          /* milliseconds since the epoch (UTC) */
    const char *tenant;       /* NULL on the operator chain (JSON null) */
    struct {
        const char *id;       /* identity id, NULL when unauthenticated */
        audit_id_kind kind;
        const char *name;
        const char *cert_sha256; /* hex, certificates (and refused ones) */
        const char *subject;  /* RFC 2253 */
    } identity;
    const char *source;       /* "ip:port", NULL for the scheduler */
    const char *frontend;     /* "kmip", "rest", "scheduler", "cli" */
    const char *operation;    /* KMIP operation name or REST operationId */
    const char *object_id;    /* NULL: none */
    const char *object_tenant;/* the tenant an operator action addresses, or NULL */
    int64_t object_version;   /* key version, 0: none */
    const char *result;       /* "ok" or a util/status.c code */
    const char *reason;       /* client-safe message, NULL when ok */
    const char *request_id;   /* UUID per front-end operation */
    const char *batch_item_id;/* KMIP Unique Batch Item ID (hex), or NULL */
    const char *hmac_name;    /* hex, or NULL */
    const char *hmac_aad;     /* hex, or NULL */
    char prev[AUDIT_HASH_HEX + 1];
    char hash[AUDIT_HASH_HEX + 1];
} audit_record;

/* ---------------------------------------------------------- records */
/* Compute r->hash from the canonical form (r->prev and r->seq set) and
 * return the stored JSON (with "hash") in *out_json (malloc'd, NUL-
 * terminated). Text that is not valid UTF-8 is kept with its bytes >= 0x80
 * written as "\xNN". CF_ERR_NOMEM, CF_ERR_CRYPTO, CF_ERR_INVALID_FIELD (no
 * chain, operation, result or request id; seq < 1; prev not 64 hex). */
cf_status audit_record_seal(audit_record *r, char **out_json, size_t *out_len);

/* hex(SHA-256) of the canonical form of a record given as JSON text (its
 * "hash" member ignored); also its "hash" member, "chain", "seq" and
 * "prev" for the verifier. CF_ERR_INVALID_MSG when it is not a JSON object
 * with those members of the right types. */
typedef struct audit_parsed {
    char chain[128];
    int64_t seq;
    char prev[AUDIT_HASH_HEX + 1];
    char hash[AUDIT_HASH_HEX + 1];      /* as stored */
    char computed[AUDIT_HASH_HEX + 1];  /* recomputed */
} audit_parsed;
cf_status audit_record_parse(const char *json, size_t len, audit_parsed *out);

/* "2026-11-23T06:14:34.123Z" (25 bytes with the NUL). */
void audit_time_format(int64_t ms, char out[25]);
/* Milliseconds since the epoch, now (CLOCK_REALTIME). */
int64_t audit_now_ms(void);
/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void audit_hex(const uint8_t *p, size_t n, char *out);
bool audit_is_hex64(const char *s);

/* HMAC-SHA256(key, chain NUL kind NUL value) in hex: kind is "name" or
 * "aad". CF_ERR_CRYPTO. */
cf_status audit_hmac(const uint8_t key[AUDIT_HMAC_KEY_LEN], const char *chain, const char *kind,
                     const uint8_t *p, size_t n, char out[AUDIT_HASH_HEX + 1]);

/* -------------------------------------------------- signing keys (Ed25519) */
typedef struct audit_key audit_key;

/* A new random signing key. */
cf_status audit_key_generate(audit_key **out);
/* From / to the raw 32-byte private key (sealed in the store by the core). */
cf_status audit_key_from_raw(const uint8_t *raw, size_t len, audit_key **out);
cf_status audit_key_raw(const audit_key *k, cf_secret *out);
/* A public key from PEM (SubjectPublicKeyInfo); CF_ERR_CRYPTO when it is
 * not an Ed25519 public key. */
cf_status audit_key_from_pem(const char *pem, size_t len, audit_key **out);
/* The public key as PEM (malloc'd). */
cf_status audit_key_public_pem(const audit_key *k, char **out);
/* hex(SHA-256(raw public key)). */
cf_status audit_key_id(const audit_key *k, char out[AUDIT_HASH_HEX + 1]);
void audit_key_free(audit_key *k);

/* A signed checkpoint for (chain, seq, hash, time) as JSON (malloc'd). */
cf_status audit_checkpoint_sign(const audit_key *k, const char *chain, int64_t seq,
                                const char *hash, int64_t time_ms, char **out_json,
                                size_t *out_len);

typedef struct audit_checkpoint {
    char chain[128];
    int64_t seq;
    char hash[AUDIT_HASH_HEX + 1];
    char key_id[AUDIT_HASH_HEX + 1];
    char time[32];
} audit_checkpoint;
/* Parse a checkpoint and check its signature with pub. CF_ERR_INVALID_MSG
 * (not a checkpoint), CF_ERR_CRYPTO (bad signature, or another key: *why
 * says which). out is filled whenever the shape is right. */
cf_status audit_checkpoint_verify(const audit_key *pub, const char *json, size_t len,
                                  audit_checkpoint *out, const char **why);

/* ------------------------------------------------------------- verifier */
/*
 * Streams a trail: every checkpoint of a chain first (audit_verify_checkpoint:
 * each is verified at once and remembered), then its records in trail order
 * (audit_verify_record). Chains may interleave. audit_verify_finish then
 * reports what only the end can tell (missing records, truncation).
 * Problems are collected as messages naming the record: "record seq 17 of
 * chain acme: hash mismatch (edited?)", "chain acme: seq 18 missing
 * (deleted?)", "chain acme: seq 20 before seq 19 (reordered?)", "chain
 * acme: 2 records after seq 18 are missing: a checkpoint signs seq 20
 * (truncated?)".
 */
typedef struct audit_verifier audit_verifier;

typedef struct audit_verify_opts {
    const audit_key *pub;     /* checkpoints are verified with it; NULL: a
                               * checkpoint is a problem ("no public key") */
    bool tail_signed;         /* an export: the last record of every chain
                               * must be signed by a checkpoint */
    bool from_start;          /* the whole trail: every chain starts at seq 1 */
} audit_verify_opts;

cf_status audit_verifier_new(const audit_verify_opts *o, audit_verifier **out);
void audit_verifier_free(audit_verifier *v);
/* where: how to find it again ("line 12", "records[3]"), may be NULL. */
void audit_verify_checkpoint(audit_verifier *v, const char *json, size_t len, const char *where);
void audit_verify_record(audit_verifier *v, const char *json, size_t len, const char *where);
/* A store's head of a chain (its last seq and hash, unsigned): records
 * missing after it, or past it, or a last record differing from it, are
 * reported at the end. Call before audit_verify_finish. */
void audit_verify_head(audit_verifier *v, const char *chain, int64_t seq, const char *hash);
/* End of the trail: the problems found, in the order found. */
void audit_verify_finish(audit_verifier *v);
size_t audit_verify_problems(const audit_verifier *v, const char *const **out);

typedef struct audit_chain_summary {
    const char *chain;
    int64_t first_seq, last_seq, records;
    int64_t checkpoints;          /* verified */
    int64_t signed_seq;           /* highest checkpoint seq, 0: none */
} audit_chain_summary;
size_t audit_verify_chains(const audit_verifier *v, const audit_chain_summary **out);

#endif
