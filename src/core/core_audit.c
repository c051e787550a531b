/*
 * core_audit.c - one audit record per operation, written before the answer.
 *
 * The front ends bracket each operation with core_audit_begin/_end; in
 * between, the core notes what it learns (the object loaded or created, a
 * key version) in req->audit, an arena context. core_audit_end fills the
 * identity and the chain from req->who, HMACs the sensitive values, and
 * appends the record through store_audit_append, which hands back the
 * chain's head inside the write transaction: seq and prev are taken there,
 * the hash computed (src/audit/) and the head advanced in the same commit,
 * so a chain never forks and a crash leaves it whole. A checkpoint is
 * signed in the same transaction every N records or T seconds per chain.
 *
 * Why a process-wide mutex around the append and the mirror file: the
 * store serialises appends anyway (one SQLite writer), and holding the
 * mutex until the line is in the file keeps the file in chain order.
 *
 * The audit keys (an HMAC key and an Ed25519 signing key) live in the
 * store's meta sealed under the keyring like the store KEK, so every node
 * sharing the database signs with the same key; the public key is also
 * stored in clear for `coffre audit verify --data`.
 */
#include "core/core_audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "util/log.h"

#define META_HMAC "audit.hmac.1"
#define META_SIGN "audit.sign.1"
#define META_PUB "audit.sign.pub"

static const char hmac_aad[] = "coffre audit hmac key";
static const char sign_aad[] = "coffre audit signing key";

/* ------------------------------------------------------------- keys */

/* The sealed secret under meta key `name`, created (n random bytes, or
 * `fresh` when given) when absent. */
static cf_status meta_secret(store *st, const cf_keyring *kr, const char *name, const char *aad,
                             const cf_secret *fresh, size_t n, cf_secret *out)
{
    cf_arena *a = cf_arena_new(1024, 0);
    cf_secret gen = {0};
    const uint8_t *blob;
    size_t len;
    cf_buf sealed;
    cf_status rc;

    cf_buf_init(&sealed, 0);
    if (a == NULL)
        return CF_ERR_NOMEM;
    rc = store_meta_get(st, name, a, &blob, &len);
    if (rc == CF_ERR_NOT_FOUND) {
        rc = fresh ? cf_secret_dup(&gen, fresh->p, fresh->len) : crypto_random_secret(n, &gen);
        if (rc == CF_OK)
            rc = crypto_seal(kr, (const uint8_t *)aad, strlen(aad), gen.p, gen.len, &sealed);
        if (rc == CF_OK)
            rc = store_meta_insert(st, name, sealed.p, sealed.len);
        if (rc == CF_OK) {
            *out = gen;
            gen = (cf_secret){0};
            CF_LOGI("audit: created %s", name);
            goto out;
        }
        if (rc == CF_ERR_EXISTS) /* another node created it first */
            rc = store_meta_get(st, name, a, &blob, &len);
    }
    if (rc == CF_OK)
        rc = crypto_open(kr, (const uint8_t *)aad, strlen(aad), blob, len, out);
out:
    cf_secret_free(&gen);
    cf_buf_free(&sealed);
    cf_arena_free(a);
    return rc;
}

static cf_status load_sign_key(core_audit *A, store *st, const cf_keyring *kr)
{
    cf_secret raw = {0}, fresh = {0};
    audit_key *gen = NULL;
    cf_status rc = audit_key_generate(&gen);

    if (rc == CF_OK)
        rc = audit_key_raw(gen, &fresh);
    if (rc == CF_OK)
        rc = meta_secret(st, kr, META_SIGN, sign_aad, &fresh, 0, &raw);
    if (rc == CF_OK)
        rc = audit_key_from_raw(raw.p, raw.len, &A->sign);
    if (rc == CF_OK)
        rc = audit_key_public_pem(A->sign, &A->pub_pem);
    if (rc == CF_OK)
        rc = audit_key_id(A->sign, A->key_id);
    if (rc == CF_OK) {
        rc = store_meta_insert(st, META_PUB, (const uint8_t *)A->pub_pem, strlen(A->pub_pem));
        if (rc == CF_ERR_EXISTS)
            rc = CF_OK;
    }
    audit_key_free(gen);
    cf_secret_free(&fresh);
    cf_secret_free(&raw);
    return rc;
}

static cf_status open_file(core_audit *A, const char *path)
{
    A->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (A->fd < 0) {
        CF_LOGE("audit: cannot open %s: %s", path, strerror(errno));
        return CF_ERR_IO;
    }
    return CF_OK;
}

cf_status core_audit_open(store *st, const cf_keyring *kr, const core_audit_opts *o,
                          core_audit **out)
{
    core_audit *A = calloc(1, sizeof *A);
    cf_status rc;

    *out = NULL;
    if (A == NULL)
        return CF_ERR_NOMEM;
    A->fd = -1;
    A->o = *o;
    if (A->o.checkpoint_records <= 0)
        A->o.checkpoint_records = 100;
    if (A->o.checkpoint_seconds <= 0)
        A->o.checkpoint_seconds = 60;
    pthread_mutex_init(&A->lock, NULL);
    rc = meta_secret(st, kr, META_HMAC, hmac_aad, NULL, AUDIT_HMAC_KEY_LEN, &A->hmac);
    if (rc == CF_OK && A->hmac.len != AUDIT_HMAC_KEY_LEN)
        rc = CF_ERR_CRYPTO;
    if (rc == CF_OK)
        rc = load_sign_key(A, st, kr);
    if (rc == CF_OK && o->file != NULL)
        rc = open_file(A, o->file);
    if (rc != CF_OK) {
        CF_LOGE("audit: cannot start: %s", cf_status_str(rc));
        core_audit_free(A);
        return rc;
    }
    CF_LOGI("audit: signing key %.16s..., sync %s%s%s", A->key_id,
            o->sync == CORE_AUDIT_SYNC_FULL ? "full" : "normal", o->file ? ", mirror " : "",
            o->file ? o->file : "");
    *out = A;
    return CF_OK;
}

void core_audit_free(core_audit *A)
{
    if (A == NULL)
        return;
    core_audit_committer_stop(A);
    if (A->fd >= 0)
        close(A->fd);
    cf_secret_free(&A->hmac);
    audit_key_free(A->sign);
    free(A->pub_pem);
    pthread_mutex_destroy(&A->lock);
    free(A);
}

const char *core_audit_public_pem(const core_audit *A) { return A->pub_pem; }
const char *core_audit_key_id(const core_audit *A) { return A->key_id; }

/* ------------------------------------------------------ the context */

static struct core_audit_ctx *ctx_of(core_req *req)
{
    return req->core && req->core->audit ? req->audit : NULL;
}

cf_status core_audit_begin(core_req *req, core_audit_frontend fe, const char *operation,
                           const char *source)
{
    static const char *const fe_names[] = {"kmip", "rest", "scheduler", "cli"};
    struct core_audit_ctx *c;
    cf_status st;

    req->audit = NULL;
    if (req->core == NULL || req->core->audit == NULL)
        return CF_OK;
    if ((c = cf_arena_calloc(req->arena, sizeof *c)) == NULL)
        return CF_ERR_NOMEM;
    c->fe = fe;
    c->r.frontend = fe_names[(unsigned)fe < 4 ? fe : CORE_AUDIT_CLI];
    c->r.operation = cf_arena_strndup(req->arena, operation, strlen(operation));
    c->r.source = source ? cf_arena_strndup(req->arena, source, strlen(source)) : NULL;
    if (c->r.operation == NULL || (source && c->r.source == NULL))
        return CF_ERR_NOMEM;
    if ((st = core_new_uid(req->arena, &c->r.request_id)) != CF_OK)
        return st;
    req->audit = c;
    return CF_OK;
}

void core_audit_peer_cert(core_req *req, const uint8_t *sha256, const char *subject)
{
    struct core_audit_ctx *c = ctx_of(req);
    char *hex;
    if (c == NULL || sha256 == NULL || (hex = cf_arena_alloc(req->arena, 65)) == NULL)
        return;
    audit_hex(sha256, 32, hex);
    c->cert_sha256 = hex;
    c->subject = subject && *subject ? cf_arena_strndup(req->arena, subject, strlen(subject))
                                     : NULL;
}

void core_audit_batch_item(core_req *req, const uint8_t *id, size_t len)
{
    struct core_audit_ctx *c = ctx_of(req);
    char *hex;
    if (c == NULL || id == NULL || len == 0 || len > 64 ||
        (hex = cf_arena_alloc(req->arena, 2 * len + 1)) == NULL)
        return;
    audit_hex(id, len, hex);
    c->r.batch_item_id = hex;
}

void core_audit_fix_object(core_req *req, const char *uid)
{
    struct core_audit_ctx *c = ctx_of(req);
    if (c == NULL)
        return;
    c->r.object_id = uid ? cf_arena_strndup(req->arena, uid, strnlen(uid, 256)) : NULL;
    c->object_fixed = true;
}

void core_audit_object_id(core_req *req, const char *uid)
{
    struct core_audit_ctx *c = ctx_of(req);
    if (c == NULL || uid == NULL || c->object_fixed || c->r.object_id != NULL)
        return;
    c->r.object_id = cf_arena_strndup(req->arena, uid, strnlen(uid, 256));
}

void core_audit_object(core_req *req, const core_object *obj)
{
    struct core_audit_ctx *c = ctx_of(req);
    const ttlv_item *name, *v;
    if (c == NULL || obj == NULL || obj->uid == NULL)
        return;
    core_audit_object_id(req, obj->uid);
    /* The name of the recorded object only (not of a wrapping key). */
    if (c->r.object_id == NULL || strcmp(c->r.object_id, obj->uid) != 0)
        return;
    name = core_attr_find(obj, "Name", 0);
    v = ttlv_child(name, KMIP_TAG_NAME_VALUE);
    if (v != NULL && v->type == TTLV_TEXT_STRING)
        core_audit_name(req, (const char *)v->v.s.p, v->v.s.len);
}

void core_audit_object_tenant(core_req *req, const char *tenant)
{
    struct core_audit_ctx *c = ctx_of(req);
    if (c != NULL && tenant != NULL)
        c->r.object_tenant = cf_arena_strndup(req->arena, tenant, strnlen(tenant, 128));
}

void core_audit_version(core_req *req, uint32_t version)
{
    struct core_audit_ctx *c = ctx_of(req);
    if (c != NULL)
        c->r.object_version = version;
}

void core_audit_name(core_req *req, const char *name, size_t len)
{
    struct core_audit_ctx *c = ctx_of(req);
    if (c == NULL || name == NULL || c->name != NULL)
        return;
    if ((c->name = cf_arena_memdup(req->arena, name, len)) != NULL)
        c->name_len = len;
}

void core_audit_aad(core_req *req, const core_aad *aad)
{
    struct core_audit_ctx *c = ctx_of(req);
    if (c == NULL || aad == NULL || c->aad != NULL)
        return;
    (void)core_audit_aad_encode(req->arena, aad, &c->aad, &c->aad_len);
}

void core_audit_chain_tenant(core_req *req, const char *tenant)
{
    struct core_audit_ctx *c = ctx_of(req);
    if (c != NULL && tenant != NULL)
        c->chain_tenant = cf_arena_strndup(req->arena, tenant, strnlen(tenant, 128));
}

/* --------------------------------------------------------- identity */

static void fill_identity(core_req *req, struct core_audit_ctx *c)
{
    const core_identity *who = req->who;
    audit_record *r = &c->r;
    bool authed = who != NULL && core_authenticated(who) == CF_OK;

    if (c->fe == CORE_AUDIT_SCHEDULER) {
        r->identity.kind = AUDIT_ID_SYSTEM;
        r->identity.id = who ? who->id : NULL;
        r->identity.name = who && who->name ? who->name : "scheduler";
    } else if (!authed) {
        r->identity.kind = AUDIT_ID_NONE;
        r->identity.cert_sha256 = c->cert_sha256;
        r->identity.subject = c->subject;
    } else {
        r->identity.id = who->id;
        r->identity.name = who->name;
        if (who->is_operator)
            r->identity.kind = AUDIT_ID_OPERATOR;
        else if (who->kind == CORE_IDENTITY_API_KEY)
            r->identity.kind = AUDIT_ID_API_KEY;
        else
            r->identity.kind = AUDIT_ID_CERTIFICATE;
        if (r->identity.kind == AUDIT_ID_CERTIFICATE) {
            r->identity.cert_sha256 = c->cert_sha256;
            r->identity.subject = c->subject;
        }
    }
    if (c->chain_tenant != NULL)
        r->chain = c->chain_tenant;
    else if (authed && who->tenant != NULL)
        r->chain = who->tenant;
    else
        r->chain = AUDIT_CHAIN_OPERATOR;
    r->tenant = strcmp(r->chain, AUDIT_CHAIN_OPERATOR) == 0 ? NULL : r->chain;
}

/* The HMACs of the noted name and AAD, bound to the chain. */
static cf_status fill_hmacs(core_req *req, struct core_audit_ctx *c)
{
    const core_audit *A = req->core->audit;
    char *h;
    if (c->name != NULL) {
        if ((h = cf_arena_alloc(req->arena, AUDIT_HASH_HEX + 1)) == NULL ||
            audit_hmac(A->hmac.p, c->r.chain, "name", (const uint8_t *)c->name, c->name_len, h)
                != CF_OK)
            return CF_ERR_CRYPTO;
        c->r.hmac_name = h;
    }
    if (c->aad != NULL) {
        if ((h = cf_arena_alloc(req->arena, AUDIT_HASH_HEX + 1)) == NULL ||
            audit_hmac(A->hmac.p, c->r.chain, "aad", c->aad, c->aad_len, h) != CF_OK)
            return CF_ERR_CRYPTO;
        c->r.hmac_aad = h;
    }
    return CF_OK;
}

cf_status core_audit_prepare(core_req *req, struct core_audit_ctx *c, const char *result,
                             const char *reason)
{
    c->r.result = result ? result : "internal_error";
    c->r.reason = strcmp(c->r.result, "ok") == 0 ? NULL : reason;
    /* A refusal whose message quotes the client's Name keeps the generic
     * message: names are recorded only as HMACs. */
    if (c->r.reason != NULL && strcmp(c->r.result, "non_unique_name") == 0)
        c->r.reason = cf_status_info(CF_ERR_NAME_TAKEN)->message;
    c->r.time_ms = audit_now_ms();
    fill_identity(req, c);
    if (fill_hmacs(req, c) != CF_OK) {
        CF_LOGE("audit: %s: cannot compute the record's HMACs", c->r.operation);
        return CF_ERR_AUDIT;
    }
    return CF_OK;
}

/* The record goes to the committer when the request has a ticket, else it
 * is written now. */
static cf_status emit(core_req *req, audit_record *r)
{
    core_audit *A = req->core->audit;
    if (req->ticket != NULL && A->K != NULL)
        return core_committer_enqueue(A->K, req->ticket, r);
    return core_audit_write(A, req->st, r);
}

cf_status core_audit_end(core_req *req, const char *result, const char *reason)
{
    struct core_audit_ctx *c = ctx_of(req), **tail;
    cf_status st;

    if (c == NULL)
        return CF_OK;
    req->audit = NULL;
    /* Committed with the operation (core_commit): done, unless it failed
     * afterwards, which a second record then says. */
    if (c->written && (result == NULL || strcmp(result, "ok") == 0))
        return CF_OK;
    if ((st = core_audit_prepare(req, c, result, reason)) != CF_OK)
        return st;
    if (req->batch_txn) {
        /* Inside the batch's store transaction: written after it ends. */
        for (tail = &req->audit_queue; *tail; tail = &(*tail)->next)
            ;
        *tail = c;
        return CF_OK;
    }
    return emit(req, &c->r);
}

cf_status core_audit_flush(core_req *req, bool rolled_back)
{
    cf_status st = CF_OK;
    struct core_audit_ctx *c = req->audit_queue;
    req->audit_queue = NULL;
    if (req->core == NULL || req->core->audit == NULL)
        return CF_OK;
    for (; c != NULL; c = c->next) {
        if (rolled_back && strcmp(c->r.result, "ok") == 0) {
            c->r.result = "operation_undone";
            c->r.reason = "rolled back: a later item of the batch failed";
        }
        if (st == CF_OK)
            st = emit(req, &c->r);
    }
    return st;
}

cf_status core_commit(core_req *req)
{
    struct core_audit_ctx *c = ctx_of(req);
    core_audit *A = c ? req->core->audit : NULL;
    struct core_audit_build b = {.A = A};
    cf_status st = CF_OK;

    if (c != NULL && !c->written) {
        st = core_audit_prepare(req, c, "ok", NULL);
        b.r = &c->r;
        b.chain = c->r.chain;
        if (st == CF_OK && core_audit_append_txn(req->st, &b) != CF_OK)
            st = CF_ERR_AUDIT;
        if (st != CF_OK) {
            CF_LOGE("audit: the record of %s could not join its transaction: refused",
                    c->r.operation);
            goto out;
        }
    }
    st = store_commit_then(req->st, b.r ? core_audit_mirror_then : NULL, &b);
    if (st != CF_OK)
        goto out;
    if (b.r != NULL)
        c->written = true;
    if (req->ticket != NULL) {
        core_ticket_need(req->ticket, store_last_commit(req->st));
    } else if (A != NULL && A->o.sync == CORE_AUDIT_SYNC_FULL) {
        /* No ticket (tools, the ticket's allocation failed): durable now. */
        uint64_t synced;
        if (A->K != NULL && store_sync(req->st, &synced) != CF_OK)
            st = CF_ERR_AUDIT;
        if (A->fd >= 0 && fdatasync(A->fd) != 0)
            st = CF_ERR_AUDIT;
    }
    if (st == CF_OK && b.mirror_rc != CF_OK)
        st = CF_ERR_AUDIT;
out:
    core_audit_build_clear(&b);
    return st;
}

/* ------------------------------------------------------------ writing */

static bool checkpoint_due(const core_audit *A, const store_audit_head *h, int64_t seq,
                           int64_t now_ms)
{
    return h->cp_seq == 0 || seq - h->cp_seq >= A->o.checkpoint_records ||
           now_ms - h->cp_time_ms >= A->o.checkpoint_seconds * 1000;
}

/* store_audit_build_fn: inside the append transaction. */
static cf_status build(void *ctx, const store_audit_head *h, store_audit_row *row,
                       store_audit_checkpoint *cp)
{
    struct core_audit_build *b = ctx;
    audit_record *r = b->r;
    int64_t now = audit_now_ms();
    cf_status st;

    free(b->json);
    free(b->cp_json);
    b->json = b->cp_json = NULL;
    if (!audit_is_hex64(h->hash))
        return CF_ERR_STORE;
    if (r == NULL) {
        if (b->cp_seq > h->seq)
            return CF_ERR_INTERNAL;
        st = audit_checkpoint_sign(b->A->sign, b->chain, b->cp_seq, b->cp_hash, now,
                                   &b->cp_json, &b->cp_len);
        *cp = (store_audit_checkpoint){b->chain, b->cp_seq, now, b->cp_json, b->cp_len};
        return st;
    }
    r->seq = h->seq + 1;
    memcpy(r->prev, h->hash, sizeof r->prev);
    if ((st = audit_record_seal(r, &b->json, &b->len)) != CF_OK)
        return st;
    *row = (store_audit_row){.chain = r->chain, .seq = r->seq, .time_ms = r->time_ms,
                             .identity = r->identity.id, .operation = r->operation,
                             .object = r->object_id, .result = r->result,
                             .hmac_name = r->hmac_name, .hmac_aad = r->hmac_aad,
                             .hash = r->hash, .json = b->json, .json_len = b->len};
    if (!checkpoint_due(b->A, h, r->seq, now))
        return CF_OK;
    st = audit_checkpoint_sign(b->A->sign, r->chain, r->seq, r->hash, now, &b->cp_json,
                               &b->cp_len);
    *cp = (store_audit_checkpoint){r->chain, r->seq, now, b->cp_json, b->cp_len};
    return st;
}

static cf_status write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return CF_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return CF_OK;
}

/* The record and checkpoint lines of b, in one write each. */
static cf_status mirror(core_audit *A, const struct core_audit_build *b)
{
    cf_status st = CF_OK;
    char *line;
    if (b->json != NULL) {
        if ((line = malloc(b->len + 1)) == NULL)
            return CF_ERR_NOMEM;
        memcpy(line, b->json, b->len);
        line[b->len] = '\n';
        st = write_all(A->fd, line, b->len + 1);
        free(line);
    }
    if (st == CF_OK && b->cp_json != NULL) {
        size_t n = b->cp_len + 16;
        if ((line = malloc(n)) == NULL)
            return CF_ERR_NOMEM;
        memcpy(line, "{\"checkpoint\":", 14);
        memcpy(line + 14, b->cp_json, b->cp_len);
        memcpy(line + 14 + b->cp_len, "}\n", 2);
        st = write_all(A->fd, line, n);
        free(line);
    }
    if (st == CF_ERR_IO)
        CF_LOGE("audit: cannot write the mirror file: %s", strerror(errno));
    return st;
}

void core_audit_mirror_then(void *arg)
{
    struct core_audit_build *b = arg;
    b->mirror_rc = CF_OK;
    if (b->A == NULL || b->A->fd < 0)
        return;
    pthread_mutex_lock(&b->A->lock);
    b->mirror_rc = mirror(b->A, b);
    pthread_mutex_unlock(&b->A->lock);
}

void core_audit_build_clear(struct core_audit_build *b)
{
    free(b->json);
    free(b->cp_json);
    b->json = b->cp_json = NULL;
}

cf_status core_audit_append_txn(store *st, struct core_audit_build *b)
{
    return store_audit_append_in_txn(st, b->chain, build, b);
}

/* In a transaction of its own, mirrored in commit order; durable on return
 * in sync mode full (the WAL and the mirror fsync'd). */
static cf_status append(core_audit *A, store *st, struct core_audit_build *b)
{
    uint64_t synced;
    cf_status rc = store_audit_append(st, b->chain, build, b, core_audit_mirror_then, b);
    if (rc == CF_OK)
        rc = b->mirror_rc;
    if (rc == CF_OK && A->o.sync == CORE_AUDIT_SYNC_FULL) {
        if (A->K != NULL && store_sync(st, &synced) != CF_OK)
            rc = CF_ERR_IO;
        if (A->fd >= 0 && fdatasync(A->fd) != 0)
            rc = CF_ERR_IO;
    }
    return rc;
}

cf_status core_audit_write(core_audit *A, store *st, audit_record *r)
{
    struct core_audit_build b = {.A = A, .r = r, .chain = r->chain};
    cf_status rc;

    if (r->time_ms == 0)
        r->time_ms = audit_now_ms();
    rc = append(A, st, &b);
    core_audit_build_clear(&b);
    if (rc == CF_OK)
        return CF_OK;
    CF_LOGE("audit: the record of %s in chain %s could not be written (%s): refused",
            r->operation, r->chain, cf_status_str(rc));
    return CF_ERR_AUDIT;
}

cf_status core_audit_checkpoint_now(core_audit *A, store *st, const char *chain, int64_t seq,
                                    const char *hash, char **out_json)
{
    struct core_audit_build b = {.A = A, .chain = chain, .cp_seq = seq, .cp_hash = hash};
    cf_status rc = append(A, st, &b);
    free(b.json);
    b.json = NULL;
    *out_json = NULL;
    if (rc == CF_OK) {
        *out_json = b.cp_json;
        return CF_OK;
    }
    free(b.cp_json);
    CF_LOGE("audit: cannot sign a checkpoint of chain %s: %s", chain, cf_status_str(rc));
    return CF_ERR_AUDIT;
}

/* u32 big-endian length then the bytes. */
static void put_lv(uint8_t **w, const char *s)
{
    size_t n = strlen(s);
    cf_put_be32(*w, (uint32_t)n);
    memcpy(*w + 4, s, n);
    *w += 4 + n;
}

cf_status core_audit_aad_encode(cf_arena *a, const core_aad *aad, const uint8_t **out,
                                size_t *out_len)
{
    size_t total = 1, *order;
    uint8_t *buf, *w;

    for (size_t i = 0; i < aad->n; i++)
        total += 4 + strlen(aad->values[i]) + (aad->keys ? 4 + strlen(aad->keys[i]) : 0);
    if ((buf = cf_arena_alloc(a, total)) == NULL ||
        (order = cf_arena_alloc(a, (aad->n + 1) * sizeof *order)) == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < aad->n; i++)
        order[i] = i;
    /* Maps are sorted by key (insertion sort: at most CORE_ENV_AAD_MAX). */
    for (size_t i = 1; aad->keys && i < aad->n; i++)
        for (size_t j = i; j > 0 && strcmp(aad->keys[order[j - 1]], aad->keys[order[j]]) > 0;
             j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    w = buf;
    *w++ = aad->keys ? 'M' : 'L';
    for (size_t i = 0; i < aad->n; i++) {
        if (aad->keys)
            put_lv(&w, aad->keys[order[i]]);
        put_lv(&w, aad->values[order[i]]);
    }
    *out = buf;
    *out_len = total;
    return CF_OK;
}

cf_status core_audit_system(const core *c, store *st, cf_arena *a, const char *tenant,
                            const char *operation, const char *uid, uint32_t version,
                            cf_status result, const char *reason)
{
    core_req req = {.core = c, .st = st, .arena = a, .now = core_now()};
    cf_status rc;
    if (c == NULL || c->audit == NULL)
        return CF_OK;
    if ((rc = core_audit_begin(&req, CORE_AUDIT_SCHEDULER, operation, NULL)) != CF_OK)
        return CF_ERR_AUDIT;
    core_audit_chain_tenant(&req, tenant);
    core_audit_fix_object(&req, uid);
    core_audit_version(&req, version);
    return core_audit_end(&req, cf_status_str(result), result == CF_OK ? NULL : reason);
}
