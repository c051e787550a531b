/* core_audit_int.h - what core_audit.c (writing) and core_audit_read.c
 * (search, export) share. */
#ifndef CF_CORE_AUDIT_INT_H
#define CF_CORE_AUDIT_INT_H

#include <pthread.h>

#include "audit/audit.h"
#include "core/core.h"

struct core_audit {
    cf_secret hmac;                 /* AUDIT_HMAC_KEY_LEN bytes */
    audit_key *sign;                /* Ed25519 private key */
    char *pub_pem;
    char key_id[AUDIT_HASH_HEX + 1];
    core_audit_opts o;
    int fd;                         /* mirror file, -1: none */
    pthread_mutex_t lock;           /* appends + mirror lines, in chain order */
};

/* One record being built (arena). */
struct core_audit_ctx {
    audit_record r;
    core_audit_frontend fe;
    const char *chain_tenant;       /* explicit chain, or NULL */
    bool object_fixed;
    const char *cert_sha256;        /* hex, from the peer */
    const char *subject;
    const char *name;               /* HMAC'd at the end, never stored */
    size_t name_len;
    const uint8_t *aad;             /* encoded (core_audit_aad_encode) */
    size_t aad_len;
    struct core_audit_ctx *next;    /* batch queue */
};

/* Append r (identity, chain, result set) to its chain: seq, prev and hash
 * are taken inside the store transaction; a checkpoint is signed when due;
 * the mirror line follows. CF_ERR_AUDIT on any failure (logged). */
cf_status core_audit_write(core_audit *A, store *st, audit_record *r);
/* A signed checkpoint of the chain's record seq (hash) now, stored. The
 * JSON is malloc'd (free()). */
cf_status core_audit_checkpoint_now(core_audit *A, store *st, const char *chain, int64_t seq,
                                    const char *hash, char **out_json);
/* Canonical bytes of an AAD for its HMAC: a list as "L" then each string
 * as u32 length + bytes; a map as "M" then (key, value) pairs sorted by
 * key, each as u32 length + bytes. */
cf_status core_audit_aad_encode(cf_arena *a, const core_aad *aad, const uint8_t **out,
                                size_t *out_len);

#endif
