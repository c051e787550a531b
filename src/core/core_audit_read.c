/*
 * core_audit_read.c - reading the trail: search and verifiable export.
 *
 * Rights: CORE_ACT_READ_AUDIT (a tenant's Reader and up see their tenant's
 * chain; the operator any chain, its own by default). A tenant naming
 * another chain gets CF_ERR_NOT_FOUND, as for every object of another
 * tenant. An identity restricted to some keys is refused: the trail names
 * every key of the tenant.
 *
 * An export is a slice of consecutive records of one chain with what
 * proves it: the checkpoints stored among them and a new one, signed now,
 * for its last record. Time bounds select the first record (the first at
 * or after `from`) and the last (the last at or before `to`), never holes
 * in between: record times come from several workers and are not strictly
 * increasing with seq, and a slice with a hole would not verify.
 */
#include "core/core_audit_int.h"

#include <stdlib.h>
#include <string.h>

/* The chain the caller may read, after authorization. */
static cf_status audit_scope(core_req *req, const char *chain, const char **out)
{
    const core_identity *who = req->who;
    cf_status st;

    if (req->core == NULL || req->core->audit == NULL)
        return core_fail(req, CF_ERR_UNSUPPORTED, "the audit trail is not enabled");
    if ((st = core_req_authorize(req, CORE_ACT_READ_AUDIT, NULL)) != CF_OK)
        return st;
    if (who->restriction != NULL && who->restriction->n_uids > 0)
        return core_fail(req, CF_ERR_PERMISSION,
                         "an identity restricted to some keys cannot read the audit trail");
    if (!who->is_operator) {
        if (chain != NULL && strcmp(chain, who->tenant) != 0)
            return core_fail(req, CF_ERR_NOT_FOUND, "no such audit trail");
        *out = who->tenant;
        return CF_OK;
    }
    if (chain == NULL)
        chain = AUDIT_CHAIN_OPERATOR;
    if (strcmp(chain, AUDIT_CHAIN_OPERATOR) != 0 && !core_tenant_id_valid(chain))
        return core_fail(req, CF_ERR_INVALID_FIELD, "a chain is a tenant id or \"%s\"",
                         AUDIT_CHAIN_OPERATOR);
    *out = chain;
    return CF_OK;
}

/* The filter of q for chain (HMACs of the searched name and AAD). */
static cf_status filter_of(core_req *req, const core_audit_query *q, const char *chain,
                           store_audit_filter *f)
{
    const core_audit *A = req->core->audit;
    char *h;
    *f = (store_audit_filter){.chain = chain, .after_seq = q->after_seq, .from_ms = q->from_ms,
                              .to_ms = q->to_ms, .object = q->object, .identity = q->identity,
                              .operation = q->operation, .result = q->result};
    if (q->after_seq < 0 || q->from_ms < 0 || q->to_ms < 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "negative paging or time bound");
    if (q->name != NULL) {
        if ((h = cf_arena_alloc(req->arena, AUDIT_HASH_HEX + 1)) == NULL ||
            audit_hmac(A->hmac.p, chain, "name", (const uint8_t *)q->name, strlen(q->name), h)
                != CF_OK)
            return CF_ERR_NOMEM;
        f->hmac_name = h;
    }
    if (q->aad != NULL) {
        const uint8_t *enc;
        size_t n;
        cf_status st = core_audit_aad_encode(req->arena, q->aad, &enc, &n);
        if (st != CF_OK)
            return st;
        if ((h = cf_arena_alloc(req->arena, AUDIT_HASH_HEX + 1)) == NULL ||
            audit_hmac(A->hmac.p, chain, "aad", enc, n, h) != CF_OK)
            return CF_ERR_NOMEM;
        f->hmac_aad = h;
    }
    return CF_OK;
}

cf_status core_audit_search(core_req *req, const core_audit_query *q, core_audit_page *out)
{
    store_audit_filter f;
    store_audit_row *rows;
    const char *chain;
    size_t n;
    cf_status st;

    memset(out, 0, sizeof *out);
    if ((st = audit_scope(req, q->chain, &chain)) != CF_OK)
        return st;
    if (q->limit < 1 || q->limit > CORE_AUDIT_PAGE_MAX)
        return core_fail(req, CF_ERR_INVALID_FIELD, "limit is 1 to %d", CORE_AUDIT_PAGE_MAX);
    if ((st = filter_of(req, q, chain, &f)) != CF_OK)
        return st;
    f.limit = q->limit + 1; /* one more tells whether there are more */
    if ((st = store_audit_query(req->st, &f, req->arena, &rows, &n)) != CF_OK)
        return st;
    if ((out->records = cf_arena_calloc(req->arena, (n + 1) * sizeof *out->records)) == NULL)
        return CF_ERR_NOMEM;
    if (n > (size_t)q->limit) {
        n = (size_t)q->limit;
        out->next_after_seq = rows[n - 1].seq;
    }
    for (size_t i = 0; i < n; i++)
        out->records[i] = rows[i].json;
    out->n = n;
    out->chain = chain;
    return CF_OK;
}

/* The stored checkpoints of [first, last] into out (arena). */
static cf_status export_checkpoints(core_req *req, core_audit_export *out)
{
    store_audit_checkpoint *cps;
    size_t n;
    cf_status st = store_audit_checkpoints(req->st, out->chain, out->first_seq, out->last_seq,
                                           CORE_AUDIT_EXPORT_MAX, req->arena, &cps, &n);
    if (st != CF_OK)
        return st;
    if ((out->checkpoints = cf_arena_calloc(req->arena, (n + 1) * sizeof(char *))) == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        out->checkpoints[i] = cps[i].json;
    out->n_checkpoints = n;
    return CF_OK;
}

/* The consecutive records of the slice (see the top of the file). */
static cf_status export_records(core_req *req, const core_audit_query *q, const char *chain,
                                int64_t limit, core_audit_export *out, const char **last_hash)
{
    store_audit_filter f = {.chain = chain, .after_seq = q->after_seq, .from_ms = q->from_ms,
                            .limit = 1};
    store_audit_row *rows;
    size_t n;
    cf_status st = store_audit_query(req->st, &f, req->arena, &rows, &n);

    if (st != CF_OK || n == 0)
        return st;
    f = (store_audit_filter){.chain = chain, .after_seq = rows[0].seq - 1, .limit = limit + 1};
    if ((st = store_audit_query(req->st, &f, req->arena, &rows, &n)) != CF_OK)
        return st;
    if (q->to_ms > 0)
        while (n > 0 && rows[n - 1].time_ms > q->to_ms)
            n--;
    if (n > (size_t)limit) {
        n = (size_t)limit;
        out->next_after_seq = rows[n - 1].seq;
    }
    if (n == 0)
        return CF_OK;
    if ((out->records = cf_arena_calloc(req->arena, (n + 1) * sizeof(char *))) == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        out->records[i] = rows[i].json;
    out->n = n;
    out->first_seq = rows[0].seq;
    out->last_seq = rows[n - 1].seq;
    *last_hash = rows[n - 1].hash;
    return CF_OK;
}

cf_status core_audit_export_chain(core_req *req, const core_audit_query *q,
                                  core_audit_export *out)
{
    const char *chain, *last_hash = NULL;
    char *cp = NULL;
    cf_status st;

    memset(out, 0, sizeof *out);
    if ((st = audit_scope(req, q->chain, &chain)) != CF_OK)
        return st;
    if (q->limit < 1 || q->limit > CORE_AUDIT_EXPORT_MAX)
        return core_fail(req, CF_ERR_INVALID_FIELD, "limit is 1 to %d", CORE_AUDIT_EXPORT_MAX);
    if (q->after_seq < 0 || q->from_ms < 0 || q->to_ms < 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "negative paging or time bound");
    out->chain = chain;
    out->public_key = core_audit_public_pem(req->core->audit);
    if ((st = export_records(req, q, chain, q->limit, out, &last_hash)) != CF_OK || out->n == 0)
        return st;
    if ((st = export_checkpoints(req, out)) != CF_OK)
        return st;
    st = core_audit_checkpoint_now(req->core->audit, req->st, chain, out->last_seq, last_hash,
                                   &cp);
    if (st != CF_OK)
        return core_fail(req, st, "the export's checkpoint could not be signed");
    out->checkpoint = cf_arena_strndup(req->arena, cp, strlen(cp));
    free(cp);
    return out->checkpoint ? CF_OK : CF_ERR_NOMEM;
}
