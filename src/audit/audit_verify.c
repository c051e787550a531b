/*
 * audit_verify.c - check a trail: hashes, links, sequence, checkpoints.
 *
 * Streaming, so a whole store verifies in constant memory per chain: the
 * verifier keeps, per chain, the next expected seq, the hash of the last
 * record, the gaps seen so far and the checkpoints (which must be given
 * before the records: they are few). What each situation means:
 *   - a record whose canonical form does not hash to its "hash": edited;
 *   - a record whose prev is not the previous record's hash (and which
 *     hashes right): the previous one was edited and re-hashed (or this
 *     one's prev was);
 *   - seq jumps ahead: the skipped seqs are pending; one arriving later
 *     means the trail was reordered, one never arriving was deleted;
 *   - a checkpoint signing a seq beyond the last record: truncated; a
 *     checkpoint whose hash differs from the record's: rewritten.
 * Problems are sorted by chain (first seen first) then seq, so the first
 * message names the first broken record.
 */
#include "audit/audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAPS_MAX 64
#define PROBLEMS_MAX 1000

struct cp_entry {
    int64_t seq;
    char hash[AUDIT_HASH_HEX + 1];
};

struct gap {
    int64_t lo, hi;      /* missing seqs */
    int64_t instead;     /* the record that came in their place */
};

struct chain_state {
    audit_chain_summary sum;
    char *name;
    bool started;
    int64_t expected;
    char last_hash[AUDIT_HASH_HEX + 1];
    struct cp_entry *cps;
    size_t ncps, cap;
    bool cps_sorted;
    int64_t head_seq;            /* the store's head, 0: not given */
    char head_hash[AUDIT_HASH_HEX + 1];
    struct gap gaps[GAPS_MAX];
    size_t ngaps;
    bool gaps_overflow;
};

struct problem {
    char *msg;
    size_t chain;        /* index in chains; SIZE_MAX: not a record */
    int64_t seq;
    size_t order;
};

struct audit_verifier {
    audit_verify_opts o;
    struct chain_state *chains;
    size_t nchains, cap;
    audit_chain_summary *sums;
    struct problem *problems;
    size_t nproblems, pcap;
    const char **msgs;
    bool oom;
};

cf_status audit_verifier_new(const audit_verify_opts *o, audit_verifier **out)
{
    audit_verifier *v = calloc(1, sizeof *v);
    *out = NULL;
    if (v == NULL)
        return CF_ERR_NOMEM;
    v->o = *o;
    *out = v;
    return CF_OK;
}

void audit_verifier_free(audit_verifier *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->nchains; i++) {
        free(v->chains[i].name);
        free(v->chains[i].cps);
    }
    for (size_t i = 0; i < v->nproblems; i++)
        free(v->problems[i].msg);
    free(v->chains);
    free(v->sums);
    free(v->problems);
    free(v->msgs);
    free(v);
}

static void problem(audit_verifier *v, size_t chain, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(audit_verifier *v, size_t chain, int64_t seq, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    if (v->nproblems >= PROBLEMS_MAX)
        return;
    if (v->nproblems == v->pcap) {
        size_t cap = v->pcap ? v->pcap * 2 : 16;
        struct problem *p = realloc(v->problems, cap * sizeof *p);
        if (p == NULL) {
            v->oom = true;
            return;
        }
        v->problems = p;
        v->pcap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if ((v->problems[v->nproblems].msg = strdup(buf)) == NULL) {
        v->oom = true;
        return;
    }
    v->problems[v->nproblems].chain = chain;
    v->problems[v->nproblems].seq = seq;
    v->problems[v->nproblems].order = v->nproblems;
    v->nproblems++;
}

/* The state of chain `name`, created on first use; SIZE_MAX on OOM. */
static size_t chain_of(audit_verifier *v, const char *name)
{
    struct chain_state *c;
    for (size_t i = v->nchains; i-- > 0;)
        if (strcmp(v->chains[i].name, name) == 0)
            return i;
    if (v->nchains == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        c = realloc(v->chains, cap * sizeof *c);
        if (c == NULL)
            return v->oom = true, SIZE_MAX;
        v->chains = c;
        v->cap = cap;
    }
    c = &v->chains[v->nchains];
    memset(c, 0, sizeof *c);
    if ((c->name = strdup(name)) == NULL)
        return v->oom = true, SIZE_MAX;
    c->sum.chain = c->name;
    return v->nchains++;
}

static const char *at(const char *where)
{
    return where ? where : "input";
}

void audit_verify_checkpoint(audit_verifier *v, const char *json, size_t len, const char *where)
{
    audit_checkpoint cp;
    const char *why = NULL;
    cf_status st = audit_checkpoint_verify(v->o.pub, json, len, &cp, &why);
    size_t ci;
    struct chain_state *c;

    if (st == CF_ERR_INVALID_MSG) {
        problem(v, SIZE_MAX, 0, "%s: not a checkpoint", at(where));
        return;
    }
    if ((ci = chain_of(v, cp.chain)) == SIZE_MAX)
        return;
    if (st != CF_OK) {
        problem(v, ci, cp.seq, "checkpoint of chain %s at seq %" PRId64 " (%s): %s", cp.chain,
                cp.seq, at(where), why ? why : cf_status_str(st));
        return;
    }
    c = &v->chains[ci];
    if (c->ncps == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct cp_entry *e = realloc(c->cps, cap * sizeof *e);
        if (e == NULL) {
            v->oom = true;
            return;
        }
        c->cps = e;
        c->cap = cap;
    }
    c->cps[c->ncps].seq = cp.seq;
    memcpy(c->cps[c->ncps].hash, cp.hash, sizeof cp.hash);
    if (c->ncps > 0 && c->cps[c->ncps - 1].seq > cp.seq)
        c->cps_sorted = false;
    else if (c->ncps == 0)
        c->cps_sorted = true;
    c->ncps++;
    c->sum.checkpoints++;
    if (cp.seq > c->sum.signed_seq)
        c->sum.signed_seq = cp.seq;
}

void audit_verify_head(audit_verifier *v, const char *chain, int64_t seq, const char *hash)
{
    size_t ci = chain_of(v, chain);
    if (ci == SIZE_MAX || hash == NULL || strlen(hash) > AUDIT_HASH_HEX)
        return;
    v->chains[ci].head_seq = seq;
    memcpy(v->chains[ci].head_hash, hash, strlen(hash) + 1);
}

static int cp_cmp(const void *a, const void *b)
{
    const struct cp_entry *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Every checkpoint of c at seq (several exports may sign one record). */
static void check_against_checkpoints(audit_verifier *v, size_t ci, const audit_parsed *r)
{
    struct chain_state *c = &v->chains[ci];
    struct cp_entry key = {.seq = r->seq};
    struct cp_entry *e;
    if (c->ncps == 0)
        return;
    if (!c->cps_sorted) {
        qsort(c->cps, c->ncps, sizeof *c->cps, cp_cmp);
        c->cps_sorted = true;
    }
    e = bsearch(&key, c->cps, c->ncps, sizeof *c->cps, cp_cmp);
    if (e == NULL)
        return;
    while (e > c->cps && e[-1].seq == r->seq)
        e--;
    for (; e < c->cps + c->ncps && e->seq == r->seq; e++)
        if (strcmp(e->hash, r->hash) != 0) {
            problem(v, ci, r->seq,
                    "record seq %" PRId64 " of chain %s differs from the checkpoint that signs "
                    "it (rewritten?)", r->seq, c->name);
            return;
        }
}

/* A seq below the expected one: fills a gap (reordered) or is a repeat. */
static void late_record(audit_verifier *v, size_t ci, const audit_parsed *r)
{
    struct chain_state *c = &v->chains[ci];
    for (size_t i = 0; i < c->ngaps; i++) {
        struct gap *g = &c->gaps[i];
        if (r->seq < g->lo || r->seq > g->hi)
            continue;
        problem(v, ci, g->instead < r->seq ? g->instead : r->seq,
                "chain %s: seq %" PRId64 " before seq %" PRId64 " (reordered?)", c->name,
                g->instead, r->seq);
        if (g->lo == g->hi) {
            *g = c->gaps[--c->ngaps];
        } else if (r->seq == g->lo) {
            g->lo++;
        } else if (r->seq == g->hi) {
            g->hi--;
        } else if (c->ngaps < GAPS_MAX) {
            c->gaps[c->ngaps++] = (struct gap){r->seq + 1, g->hi, g->instead};
            g->hi = r->seq - 1;
        }
        return;
    }
    if (r->seq < c->sum.first_seq)
        problem(v, ci, r->seq, "chain %s: seq %" PRId64 " after seq %" PRId64 " (reordered?)",
                c->name, r->seq, c->sum.first_seq);
    else
        problem(v, ci, r->seq, "chain %s: seq %" PRId64 " appears twice (duplicated?)", c->name,
                r->seq);
}

static void next_record(audit_verifier *v, size_t ci, const audit_parsed *r)
{
    struct chain_state *c = &v->chains[ci];
    if (!c->started) {
        c->started = true;
        c->sum.first_seq = r->seq;
        if (r->seq == 1 && strcmp(r->prev, AUDIT_ZERO_HASH) != 0)
            problem(v, ci, 1, "record seq 1 of chain %s: prev is not zero (chain broken)",
                    c->name);
    } else if (r->seq == c->expected) {
        if (strcmp(r->prev, c->last_hash) != 0)
            problem(v, ci, r->seq - 1,
                    "record seq %" PRId64 " of chain %s: its hash is not the prev of seq %" PRId64
                    " (edited and re-hashed?)", r->seq - 1, c->name, r->seq);
    } else if (c->ngaps < GAPS_MAX) {
        c->gaps[c->ngaps++] = (struct gap){c->expected, r->seq - 1, r->seq};
    } else {
        c->gaps_overflow = true;
    }
    c->expected = r->seq + 1;
    c->sum.last_seq = r->seq;
    memcpy(c->last_hash, r->hash, sizeof c->last_hash);
}

void audit_verify_record(audit_verifier *v, const char *json, size_t len, const char *where)
{
    audit_parsed r;
    size_t ci;
    if (audit_record_parse(json, len, &r) != CF_OK) {
        problem(v, SIZE_MAX, 0, "%s: not an audit record", at(where));
        return;
    }
    if ((ci = chain_of(v, r.chain)) == SIZE_MAX)
        return;
    v->chains[ci].sum.records++;
    if (strcmp(r.computed, r.hash) != 0)
        problem(v, ci, r.seq, "record seq %" PRId64 " of chain %s: hash mismatch (edited?)",
                r.seq, r.chain);
    check_against_checkpoints(v, ci, &r);
    if (v->chains[ci].started && r.seq < v->chains[ci].expected)
        late_record(v, ci, &r);
    else
        next_record(v, ci, &r);
}

static int64_t lowest_cp(const struct chain_state *c)
{
    int64_t lo = INT64_MAX;
    for (size_t i = 0; i < c->ncps; i++)
        if (c->cps[i].seq < lo)
            lo = c->cps[i].seq;
    return lo;
}

static void finish_chain(audit_verifier *v, size_t ci)
{
    struct chain_state *c = &v->chains[ci];
    for (size_t i = 0; i < c->ngaps; i++) {
        if (c->gaps[i].lo == c->gaps[i].hi)
            problem(v, ci, c->gaps[i].lo, "chain %s: seq %" PRId64 " missing (deleted?)",
                    c->name, c->gaps[i].lo);
        else
            problem(v, ci, c->gaps[i].lo,
                    "chain %s: seq %" PRId64 " to %" PRId64 " missing (deleted?)", c->name,
                    c->gaps[i].lo, c->gaps[i].hi);
    }
    if (c->started && v->o.from_start && c->sum.first_seq == 2)
        problem(v, ci, 1, "chain %s: seq 1 missing (deleted?)", c->name);
    else if (c->started && v->o.from_start && c->sum.first_seq > 2)
        problem(v, ci, 1, "chain %s: seq 1 to %" PRId64 " missing (deleted?)", c->name,
                c->sum.first_seq - 1);
    else if (c->started && c->ncps > 0 && lowest_cp(c) == c->sum.first_seq - 1)
        problem(v, ci, lowest_cp(c),
                "chain %s: seq %" PRId64 " missing (deleted?): a checkpoint signs it", c->name,
                lowest_cp(c));
    else if (c->started && c->ncps > 0 && lowest_cp(c) < c->sum.first_seq)
        problem(v, ci, lowest_cp(c),
                "chain %s: seq %" PRId64 " to %" PRId64 " missing (deleted?): a checkpoint "
                "signs seq %" PRId64, c->name, lowest_cp(c), c->sum.first_seq - 1, lowest_cp(c));
    if (c->head_seq > c->sum.last_seq)
        problem(v, ci, c->sum.last_seq + 1,
                "chain %s: %" PRId64 " records after seq %" PRId64
                " are missing: the chain's head says seq %" PRId64 " (truncated?)",
                c->name, c->head_seq - c->sum.last_seq, c->sum.last_seq, c->head_seq);
    else if (c->head_seq > 0 && c->head_seq < c->sum.last_seq)
        problem(v, ci, c->head_seq + 1,
                "chain %s: records after seq %" PRId64 ", where the chain's head is "
                "(appended?)", c->name, c->head_seq);
    else if (c->head_seq > 0 && strcmp(c->head_hash, c->last_hash) != 0)
        problem(v, ci, c->head_seq,
                "record seq %" PRId64 " of chain %s differs from the chain's head "
                "(rewritten?)", c->head_seq, c->name);
    if (c->gaps_overflow)
        problem(v, ci, c->sum.last_seq, "chain %s: more than %d gaps", c->name, GAPS_MAX);
    if (c->sum.signed_seq > c->sum.last_seq && c->started)
        problem(v, ci, c->sum.last_seq + 1,
                "chain %s: %" PRId64 " records after seq %" PRId64
                " are missing: a checkpoint signs seq %" PRId64 " (truncated?)",
                c->name, c->sum.signed_seq - c->sum.last_seq, c->sum.last_seq,
                c->sum.signed_seq);
    else if (!c->started && c->sum.signed_seq > 0)
        problem(v, ci, 1, "chain %s: no records, but a checkpoint signs seq %" PRId64
                " (truncated?)", c->name, c->sum.signed_seq);
    else if (v->o.tail_signed && c->sum.signed_seq < c->sum.last_seq)
        problem(v, ci, c->sum.last_seq,
                "chain %s: no checkpoint signs its last record (seq %" PRId64
                "): a truncation would not show", c->name, c->sum.last_seq);
}

static int problem_cmp(const void *a, const void *b)
{
    const struct problem *x = a, *y = b;
    /* Unparseable input first, then by chain (first seen first) and seq. */
    size_t xc = x->chain == SIZE_MAX ? 0 : x->chain + 1;
    size_t yc = y->chain == SIZE_MAX ? 0 : y->chain + 1;
    if (xc != yc)
        return xc < yc ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

void audit_verify_finish(audit_verifier *v)
{
    for (size_t i = 0; i < v->nchains; i++)
        finish_chain(v, i);
    if (v->oom)
        problem(v, SIZE_MAX, 0, "out of memory: the trail was not fully checked");
    if (v->nproblems > 1)
        qsort(v->problems, v->nproblems, sizeof *v->problems, problem_cmp);
    free(v->msgs);
    v->msgs = calloc(v->nproblems + 1, sizeof *v->msgs);
    for (size_t i = 0; v->msgs && i < v->nproblems; i++)
        v->msgs[i] = v->problems[i].msg;
    free(v->sums);
    v->sums = calloc(v->nchains + 1, sizeof *v->sums);
    for (size_t i = 0; v->sums && i < v->nchains; i++)
        v->sums[i] = v->chains[i].sum;
}

size_t audit_verify_problems(const audit_verifier *v, const char *const **out)
{
    static const char *const oom[] = {"out of memory"};
    if (v->msgs == NULL && v->nproblems > 0) {
        *out = oom;
        return 1;
    }
    *out = v->msgs;
    return v->msgs ? v->nproblems : 0;
}

size_t audit_verify_chains(const audit_verifier *v, const audit_chain_summary **out)
{
    *out = v->sums;
    return v->sums ? v->nchains : 0;
}
