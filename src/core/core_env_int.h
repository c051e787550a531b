/*
 * core_env_int.h - the wrapped-DEK format of envelope encryption
 * (core_env_format.c) and the version bookkeeping of root keys
 * (core_versions.c), shared by core_envelope.c and the unit tests.
 *
 * docs/envelope.md describes the format byte by byte; the constants here
 * are that document's. Everything in the format part is pure (no store, no
 * request), so a test can rebuild the documented example from its key and
 * nonce.
 */
#ifndef CF_CORE_ENV_INT_H
#define CF_CORE_ENV_INT_H

#include "core/core_int.h"
#include "util/limits.h"

/* -------------------------------------------- format (core_env_format.c) */
#define CORE_ENV_MAGIC "CFW"          /* 0x43 0x46 0x57 */
#define CORE_ENV_MAGIC_LEN 3
#define CORE_ENV_FORMAT 1             /* format version byte */
#define CORE_ENV_NONCE_LEN 12
#define CORE_ENV_TAG_LEN 16
/* Algorithm byte: AES-GCM with the root key's size. */
#define CORE_ENV_ALG_AES128_GCM 1
#define CORE_ENV_ALG_AES192_GCM 2
#define CORE_ENV_ALG_AES256_GCM 3
/* Fixed header bytes around the key id: magic, format, algorithm, key id
 * length (6) before it; version (4) and nonce (12) after it. */
#define CORE_ENV_HDR_FIXED (CORE_ENV_MAGIC_LEN + 3 + 4 + CORE_ENV_NONCE_LEN)
/* Largest wrapped form: longest key id and plaintext. */
#define CORE_ENV_CT_MAX                                                                           \
    (CORE_ENV_HDR_FIXED + CF_LIMIT_UID + CORE_ENV_PLAINTEXT_MAX + CORE_ENV_TAG_LEN)

/* A parsed wrapped form; pointers into the input. */
typedef struct core_env_hdr {
    uint8_t alg;                /* CORE_ENV_ALG_* */
    const char *key_id;         /* not NUL-terminated */
    size_t key_id_len;
    uint32_t version;
    const uint8_t *header;      /* the header bytes, nonce included */
    size_t header_len;
    const uint8_t *nonce;       /* CORE_ENV_NONCE_LEN bytes */
    const uint8_t *ct;          /* ciphertext */
    size_t ct_len;
    const uint8_t *tag;         /* CORE_ENV_TAG_LEN bytes */
} core_env_hdr;

/* The algorithm byte of an AES key of key_len bytes; 0 for other sizes. */
uint8_t core_env_alg_of(size_t key_len);
/* Check the caller's AAD (counts, lengths, unique map keys):
 * CF_ERR_INVALID_FIELD with *why (static) when refused. aad NULL: none. */
cf_status core_env_aad_check(const core_aad *aad, const char **why);
/* Append the canonical encoding of the caller's AAD (docs/envelope.md):
 * 0x00 (none), or 0x01 (list) / 0x02 (map, sorted by key) + u32 count +
 * length-prefixed strings. Checks it first (core_env_aad_check). */
cf_status core_env_aad_encode(const core_aad *aad, cf_buf *out);
/* Split a wrapped form; CF_ERR_CRYPTO (with *why, static) for anything
 * that is not one (magic, format, algorithm, lengths, truncation). */
cf_status core_env_parse(const uint8_t *p, size_t len, core_env_hdr *out, const char **why);
/* Wrap pt with key (AES-GCM of its size) and this nonce, for root key
 * (tenant, key_id, version); the wrapped form is appended to out. */
cf_status core_env_seal(const uint8_t *key, size_t key_len, const char *tenant,
                        const char *key_id, uint32_t version, const core_aad *aad,
                        const uint8_t nonce[CORE_ENV_NONCE_LEN], const uint8_t *pt, size_t pt_len,
                        cf_buf *out);
/* Open a parsed wrapped form with key; CF_ERR_CRYPTO when it does not
 * authenticate (tampering, wrong key, tenant or AAD) or the algorithm byte
 * does not match the key's size. out: the plaintext (caller frees). */
cf_status core_env_open(const uint8_t *key, size_t key_len, const char *tenant,
                        const core_env_hdr *h, const core_aad *aad, cf_secret *out);

/* ---------------------------------------- versions (core_versions.c) */
/* The attribute holding a root key's newest version number (Integer;
 * absent: 1). Server-only ("y-"), written with each rotation. */
#define CORE_ATTR_KEY_VERSION "y-key-version"
/* Encryptions a worker reserves at once under one version. */
#define CORE_ENV_RESERVE_BLOCK 4096
/* The default ceiling per version: 2^32 encryptions with random 96-bit
 * nonces (NIST SP 800-38D section 8.3). */
#define CORE_ENV_CEILING_DEFAULT ((int64_t)1 << 32)

/* The newest version of a root key (its CORE_ATTR_KEY_VERSION, else 1). */
uint32_t core_key_newest(const core_object *obj);
/* The AAD sealing version `version` of (tenant, uid) in the store. */
cf_status core_version_aad(cf_arena *a, const char *tenant, const char *uid, uint32_t version,
                           const uint8_t **out, size_t *out_len);
/* The plaintext material of version `version` of root key obj: the
 * object's own material for the newest, else its version row's.
 * CF_ERR_DESTROYED for a destroyed version, CF_ERR_NOT_FOUND for a version
 * that does not exist. Caller frees *out. */
cf_status core_version_material(core_req *req, const core_object *obj, uint32_t version,
                                cf_secret *out);
/* Take one encryption under the newest version of obj (from the process's
 * reserved block, else reserving a new block in the version row).
 * CF_ERR_USAGE_LIMIT when the version has reached the key's ceiling
 * (core_version_ceiling); CF_ERR_CONFLICT when the row kept changing. */
cf_status core_version_take(core_req *req, const core_object *obj);
/* The encryption ceiling of obj's versions: the max_encryptions of its
 * effective rotation policy (its own, else the tenant's), else
 * CORE_ENV_CEILING_DEFAULT (never above). */
int64_t core_version_ceiling(core_req *req, const core_object *obj);
/* Rotate root key obj (loaded) without the caller's authorization check:
 * the wrap path's ceiling rotation. See core_key_rotate. */
cf_status core_key_rotate_obj(core_req *req, core_object *obj, core_rotate_cause cause,
                              const core_rotate_opts *opts, uint32_t *out_version);

#endif
