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
    pthread_mutex_t lock;           /* the mirror file's writes */
    struct core_committer *K;       /* group commit (core_commit.c), NULL: none */
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
    bool written;                   /* committed with the operation (core_commit) */
};

/* One append being built: the record (or a checkpoint only), and the JSON
 * of what was stored, for the mirror file. */
struct core_audit_build {
    core_audit *A;
    audit_record *r;              /* NULL: a checkpoint only */
    const char *chain;
    int64_t cp_seq;               /* checkpoint only: the record to sign */
    const char *cp_hash;
    char *json, *cp_json;         /* malloc'd */
    size_t len, cp_len;
    cf_status mirror_rc;          /* of the mirror lines (CF_OK without a file) */
};

/* Fill the record's identity and chain from req->who, its result and the
 * HMACs of the noted name and AAD. CF_ERR_AUDIT when the HMACs fail. */
cf_status core_audit_prepare(core_req *req, struct core_audit_ctx *c, const char *result,
                             const char *reason);
/* Append b inside the caller's transaction (seq, prev, hash, checkpoint). */
cf_status core_audit_append_txn(store *st, struct core_audit_build *b);
/* store_commit_then callback: b's lines into the mirror file (no fsync). */
void core_audit_mirror_then(void *b);
void core_audit_build_clear(struct core_audit_build *b);

/* core_commit.c: queue r (copied) for the committer; t waits for it. */
cf_status core_committer_enqueue(struct core_committer *K, core_ticket *t, const audit_record *r);
/* t must also wait for store commit number `commit` to be durable. */
void core_ticket_need(core_ticket *t, uint64_t commit);
/* Is K's mode "answers wait for fsync"? */
bool core_committer_syncs(const struct core_committer *K);

/* Append r (identity, chain, result set) to its chain in a transaction of
 * its own: seq, prev and hash are taken inside it; a checkpoint is signed
 * when due; the mirror line follows, in commit order. Durable on return in
 * sync mode full. CF_ERR_AUDIT on any failure (logged). */
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
