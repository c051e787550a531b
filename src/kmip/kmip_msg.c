/*
 * kmip_msg.c - request message -> batch items -> response message.
 *
 * KMIP 1.4 section 7 / 2.1 section 8: a Request Message is a Request Header
 * followed by Batch Count batch items. Each item is answered independently
 * with its Operation and Unique Batch Item ID echoed. The Batch Error
 * Continuation Option (default Stop, 1.4 section 6.13) decides whether items
 * after a failure run: Stop returns the processed items only (11.43), Continue
 * runs every item, Undo runs the items in one store transaction and, at a
 * failure, rolls it back and answers the earlier items Operation Undone.
 *
 * The response is written at the request's protocol version. An item's
 * payload is first written into a scratch buffer because its Result Status
 * precedes the payload on the wire but is known only after the handler ran.
 */
#include "kmip/kmip_int.h"

#include <string.h>

#include "util/limits.h"
#include "util/log.h"

const uint16_t kmip_versions[] = {
    KMIP_V(2, 1), KMIP_V(2, 0), KMIP_V(1, 4), KMIP_V(1, 3), KMIP_V(1, 2), KMIP_V(1, 1), KMIP_V(1, 0),
};
const size_t kmip_versions_count = sizeof kmip_versions / sizeof kmip_versions[0];

static bool version_supported(uint16_t v)
{
    for (size_t i = 0; i < kmip_versions_count; i++)
        if (kmip_versions[i] == v)
            return true;
    return false;
}

typedef struct batch_result {
    uint32_t operation;
    bool has_operation;
    const uint8_t *batch_id;
    size_t batch_id_len;
    cf_status status;
    const char *message;
} batch_result;

static void write_header(ttlv_writer *w, uint16_t ver, unsigned batch_count)
{
    ttlv_w_begin(w, KMIP_TAG_RESPONSE_HEADER);
    ttlv_w_begin(w, KMIP_TAG_PROTOCOL_VERSION);
    ttlv_w_int(w, KMIP_TAG_PROTOCOL_VERSION_MAJOR, ver >> 8);
    ttlv_w_int(w, KMIP_TAG_PROTOCOL_VERSION_MINOR, ver & 0xFF);
    ttlv_w_end(w);
    ttlv_w_datetime(w, KMIP_TAG_TIME_STAMP, core_now());
    ttlv_w_int(w, KMIP_TAG_BATCH_COUNT, (int32_t)batch_count);
    ttlv_w_end(w);
}

/* Result Reason for a status, limited to values the version defines. */
static uint32_t result_reason(cf_status st, uint16_t ver)
{
    const struct cf_status_info *si = cf_status_info(st);
    uint32_t r = si->kmip_reason;
    if (ver >= KMIP_V(2, 0) && si->kmip2_reason != 0)
        return si->kmip2_reason; /* 2.x reasons (2.1 section 11.46) */
    if (ver < KMIP_V(1, 4) && (r == 0x16 || r == 0x17 || r == 0x18))
        return r == 0x18 ? KMIP_RESULT_REASON_INVALID_FIELD : KMIP_RESULT_REASON_PERMISSION_DENIED;
    return r;
}

/* Write one Batch Item; the offset in w's buffer of its Result Status value
 * (an Undo batch rewrites it in place). */
static size_t write_item(ttlv_writer *w, uint16_t ver, const batch_result *r,
                         const cf_buf *payload)
{
    size_t status_at;
    ttlv_w_begin(w, KMIP_TAG_BATCH_ITEM);
    if (r->has_operation)
        ttlv_w_enum(w, KMIP_TAG_OPERATION, r->operation);
    if (r->batch_id)
        ttlv_w_bytes(w, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, r->batch_id, r->batch_id_len);
    status_at = w->buf->len + 8; /* the enumeration's value follows its 8-byte header */
    if (r->status == CF_OK) {
        ttlv_w_enum(w, KMIP_TAG_RESULT_STATUS, KMIP_RESULT_STATUS_SUCCESS);
        if (payload && payload->len && cf_buf_append(w->buf, payload->p, payload->len) == false)
            w->failed = true;
    } else {
        const char *msg = r->message ? r->message : cf_status_info(r->status)->message;
        ttlv_w_enum(w, KMIP_TAG_RESULT_STATUS, KMIP_RESULT_STATUS_OPERATION_FAILED);
        ttlv_w_enum(w, KMIP_TAG_RESULT_REASON, result_reason(r->status, ver));
        ttlv_w_cstr(w, KMIP_TAG_RESULT_MESSAGE, msg);
    }
    ttlv_w_end(w);
    return status_at;
}

/* A whole-message failure: one batch item carrying the reason. */
static void write_message_error(cf_buf *out, uint16_t ver, cf_status st, const char *msg)
{
    ttlv_writer w;
    batch_result r = {.status = st, .message = msg};
    cf_buf_reset(out);
    ttlv_w_init(&w, out);
    ttlv_w_begin(&w, KMIP_TAG_RESPONSE_MESSAGE);
    write_header(&w, ver, 1);
    write_item(&w, ver, &r, NULL);
    ttlv_w_end(&w);
    if (ttlv_w_finish(&w) != CF_OK)
        cf_buf_reset(out);
}

typedef struct req_header {
    uint16_t ver;
    unsigned batch_count;
    uint32_t continuation;
    int64_t max_response;
} req_header;

static cf_status parse_version(const ttlv_item *hdr, uint16_t *ver)
{
    const ttlv_item *pv;
    int32_t maj, min;
    if (ttlv_get_struct(hdr, KMIP_TAG_PROTOCOL_VERSION, &pv) != CF_OK ||
        ttlv_get_int(pv, KMIP_TAG_PROTOCOL_VERSION_MAJOR, &maj) != CF_OK ||
        ttlv_get_int(pv, KMIP_TAG_PROTOCOL_VERSION_MINOR, &min) != CF_OK)
        return CF_ERR_INVALID_MSG;
    if (maj < 0 || maj > 255 || min < 0 || min > 255)
        return CF_ERR_INVALID_MSG;
    *ver = KMIP_V(maj, min);
    return CF_OK;
}

static cf_status parse_header(const ttlv_item *msg, req_header *h, const char **why)
{
    const ttlv_item *hdr;
    int32_t count, maxr;
    cf_status st;

    h->continuation = KMIP_BATCH_ERROR_CONTINUATION_OPTION_STOP;
    h->max_response = 0;
    if (msg->tag != KMIP_TAG_REQUEST_MESSAGE || msg->type != TTLV_STRUCTURE)
        return *why = "not a Request Message", CF_ERR_INVALID_MSG;
    if (ttlv_get_struct(msg, KMIP_TAG_REQUEST_HEADER, &hdr) != CF_OK)
        return *why = "missing Request Header", CF_ERR_INVALID_MSG;
    if ((st = parse_version(hdr, &h->ver)) != CF_OK)
        return *why = "missing or invalid Protocol Version", st;
    if (!version_supported(h->ver))
        return *why = "protocol version not supported", CF_ERR_INVALID_MSG;
    if (ttlv_get_int(hdr, KMIP_TAG_BATCH_COUNT, &count) != CF_OK || count < 1)
        return *why = "missing or invalid Batch Count", CF_ERR_INVALID_MSG;
    if ((unsigned)count > CF_LIMIT_BATCH_ITEMS)
        return *why = "too many batch items", CF_ERR_LIMIT;
    if ((unsigned)count != ttlv_count(msg, KMIP_TAG_BATCH_ITEM))
        return *why = "Batch Count does not match the batch items", CF_ERR_INVALID_MSG;
    h->batch_count = (unsigned)count;
    st = ttlv_get_enum(hdr, KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION, &h->continuation);
    if (st == CF_ERR_INVALID_FIELD)
        return *why = "invalid Batch Error Continuation Option", CF_ERR_INVALID_MSG;
    if (ttlv_get_int(hdr, KMIP_TAG_MAXIMUM_RESPONSE_SIZE, &maxr) == CF_OK && maxr > 0)
        h->max_response = maxr;
    return CF_OK;
}

/* Run one batch item; its payload goes to `payload`. */
static void run_item(kmip_op *op, const ttlv_item *item, batch_result *r, cf_buf *payload)
{
    const ttlv_item *opi = ttlv_child(item, KMIP_TAG_OPERATION);
    const ttlv_item *bid = ttlv_child(item, KMIP_TAG_UNIQUE_BATCH_ITEM_ID);
    const ttlv_item *pl = ttlv_child(item, KMIP_TAG_REQUEST_PAYLOAD);
    const struct kmip_op_def *def;
    ttlv_writer w;

    memset(r, 0, sizeof *r);
    op->req->err_msg = NULL;
    op->new_placeholder = NULL;
    if (bid && bid->type == TTLV_BYTE_STRING) {
        r->batch_id = bid->v.s.p;
        r->batch_id_len = bid->v.s.len;
    }
    if (opi == NULL || opi->type != TTLV_ENUMERATION) {
        r->status = CF_ERR_INVALID_MSG;
        r->message = "missing Operation";
        return;
    }
    r->operation = opi->v.u32;
    r->has_operation = true;
    /* A verified certificate that maps to no identity: every item is
     * refused with Authentication Not Successful (core_auth_certificate). */
    if ((r->status = core_authenticated(op->req->who)) != CF_OK) {
        r->message = "the client certificate is not registered with this server";
        return;
    }
    /* Each batch item is one request of the caller's rate limits (the
     * check REST makes too): Operation Failed, with General Failure in 1.x
     * and Server Limit Exceeded in 2.x (util/status.c) and a message saying
     * when to retry. */
    if ((r->status = core_rate_check(op->req, NULL)) != CF_OK) {
        r->message = op->req->err_msg;
        return;
    }
    def = kmip_op_find(opi->v.u32);
    if (def == NULL || def->since > op->ver) {
        r->status = CF_ERR_UNSUPPORTED_OP;
        return;
    }
    if (pl == NULL || pl->type != TTLV_STRUCTURE) {
        r->status = CF_ERR_INVALID_MSG;
        r->message = "missing Request Payload";
        return;
    }
    ttlv_w_init(&w, payload);
    ttlv_w_begin(&w, KMIP_TAG_RESPONSE_PAYLOAD);
    r->status = def->fn(op, pl, &w);
    ttlv_w_end(&w);
    if (r->status == CF_OK && ttlv_w_finish(&w) != CF_OK)
        r->status = CF_ERR_TOO_LARGE;
    r->message = op->req->err_msg;
    if (r->status == CF_OK && op->new_placeholder)
        op->id_placeholder = op->new_placeholder;
}

static void log_failure(const core_identity *who, const batch_result *r)
{
    const struct cf_status_info *si = cf_status_info(r->status);
    cf_log_write(si->level == CF_LOG_ERROR ? CF_LOG_ERROR : CF_LOG_DEBUG, __FILE__, __LINE__,
                 "kmip op %u by %s failed: %s%s%s", r->operation, who->id, si->name,
                 r->message ? ": " : "", r->message ? r->message : "");
}

/* One response being written. */
typedef struct batch_ctx {
    const kmip_env *env;
    const req_header *h;
    cf_buf *out;
    ttlv_writer w;
    cf_buf payload;
    size_t status_at[CF_LIMIT_BATCH_ITEMS]; /* Result Status values written */
    unsigned done;
} batch_ctx;

/* The KMIP name of an Operation ("Create", "Get Attributes"). */
static const char *operation_name(cf_arena *a, const ttlv_item *opi)
{
    const ttlv_enum_info *e;
    if (opi == NULL || opi->type != TTLV_ENUMERATION)
        return "(no Operation)";
    if ((e = ttlv_enum_lookup("Operation", opi->v.u32)) != NULL)
        return e->name;
    return cf_arena_sprintf(a, "Operation 0x%08x", opi->v.u32);
}

/* Operations about no particular object: their records name none. */
static bool addresses_an_object(const ttlv_item *opi)
{
    static const uint32_t none[] = {KMIP_OPERATION_LOCATE, KMIP_OPERATION_QUERY,
                                    KMIP_OPERATION_DISCOVER_VERSIONS, KMIP_OPERATION_RNG_RETRIEVE,
                                    KMIP_OPERATION_RNG_SEED, KMIP_OPERATION_LOG};
    if (opi == NULL || opi->type != TTLV_ENUMERATION)
        return false;
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        if (opi->v.u32 == none[i])
            return false;
    return true;
}

/* Start the audit record of one batch item (core_audit.c). */
static cf_status audit_begin_item(const kmip_env *env, kmip_op *op, const ttlv_item *it)
{
    const ttlv_item *bid = ttlv_child(it, KMIP_TAG_UNIQUE_BATCH_ITEM_ID);
    const char *name = operation_name(op->a, ttlv_child(it, KMIP_TAG_OPERATION));
    cf_status st = core_audit_begin(op->req, CORE_AUDIT_KMIP, name ? name : "(no Operation)",
                                    env->source);
    if (st != CF_OK)
        return st;
    core_audit_peer_cert(op->req, env->cert_sha256, env->cert_subject);
    if (bid && bid->type == TTLV_BYTE_STRING)
        core_audit_batch_item(op->req, bid->v.s.p, bid->v.s.len);
    if (!addresses_an_object(ttlv_child(it, KMIP_TAG_OPERATION)))
        core_audit_fix_object(op->req, NULL); /* Locate may load objects it finds */
    return CF_OK;
}

/* Run item `it` and write its answer; its status. The item's audit record
 * is written before its answer is final: when it cannot be, the item
 * fails with "audit unavailable" (fail closed, core_audit.c). */
static cf_status answer_item(batch_ctx *b, kmip_op *op, const ttlv_item *it,
                             const core_identity *who)
{
    size_t item_at = b->out->len;
    batch_result r;
    cf_status ast = audit_begin_item(b->env, op, it);

    cf_buf_reset(&b->payload);
    if (ast == CF_OK)
        run_item(op, it, &r, &b->payload);
    else
        r = (batch_result){.status = ast};
    b->status_at[b->done] = write_item(&b->w, b->h->ver, &r, &b->payload);
    if (b->h->max_response && b->out->len > (size_t)b->h->max_response && r.status == CF_OK) {
        /* Maximum Response Size (1.4 section 6.3): this item's answer does
         * not fit; it becomes Response Too Large, still carrying its
         * Operation and Unique Batch Item ID (1.4 Table 285). */
        b->out->len = item_at;
        r.status = CF_ERR_TOO_LARGE;
        r.message = "the response would exceed the Maximum Response Size";
        b->status_at[b->done] = write_item(&b->w, b->h->ver, &r, NULL);
    }
    if (core_audit_end(op->req, cf_status_str(r.status),
                       r.message ? r.message : cf_status_info(r.status)->message) != CF_OK) {
        b->out->len = item_at;
        r.status = CF_ERR_AUDIT;
        r.message = "audit unavailable";
        b->status_at[b->done] = write_item(&b->w, b->h->ver, &r, NULL);
    }
    if (r.status != CF_OK)
        log_failure(who, &r);
    b->done++;
    return r.status;
}

/* Undo (1.4 sections 6.13, 11.43 Table 366): the items before the failed
 * one were performed, then undone by the rollback: Operation Undone. */
static void mark_undone(batch_ctx *b)
{
    for (unsigned i = 0; i + 1 < b->done; i++)
        if (b->status_at[i] + 4 <= b->out->len)
            cf_put_be32(b->out->p + b->status_at[i], KMIP_RESULT_STATUS_OPERATION_UNDONE);
}

static cf_status run_batch(const kmip_env *env, const ttlv_item *msg, const req_header *h,
                           cf_buf *out)
{
    bool undo = h->continuation == KMIP_BATCH_ERROR_CONTINUATION_OPTION_UNDO;
    core_req req = {.core = env->core, .st = env->st, .arena = env->arena, .who = env->who,
                    .now = core_now(), .batch_txn = undo, .ticket = env->ticket};
    kmip_op op = {.ver = h->ver, .req = &req, .a = env->arena};
    batch_ctx b = {.env = env, .h = h, .out = out};
    cf_status st = CF_OK;
    size_t count_at;

    /* Undo: every item in one store transaction (the saves of core join
     * it, core_objects_save), committed when all succeeded. */
    if (undo && (st = store_begin(env->st)) != CF_OK)
        return st;
    cf_buf_init(&b.payload, CF_LIMIT_RESPONSE);
    ttlv_w_init(&b.w, out);
    ttlv_w_begin(&b.w, KMIP_TAG_RESPONSE_MESSAGE);
    write_header(&b.w, h->ver, h->batch_count);
    count_at = out->len - 8; /* Batch Count value: last 8 bytes of the header */
    for (const ttlv_item *it = ttlv_child(msg, KMIP_TAG_BATCH_ITEM); it; it = ttlv_next_same(it)) {
        st = answer_item(&b, &op, it, env->who);
        if (st != CF_OK && h->continuation != KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE)
            break;
    }
    if (undo && st != CF_OK) {
        store_rollback(env->st);
        mark_undone(&b);
    } else if (undo && (st = core_commit(&req)) != CF_OK) {
        store_rollback(env->st);
        cf_buf_free(&b.payload);
        (void)core_audit_flush(&req, true);
        return st; /* nothing was kept: the whole message fails */
    }
    /* The records of an Undo batch wait for its end (core_audit_flush). */
    if (undo && core_audit_flush(&req, st != CF_OK) != CF_OK) {
        cf_buf_free(&b.payload);
        return CF_ERR_AUDIT;
    }
    ttlv_w_end(&b.w);
    cf_buf_free(&b.payload);
    if (ttlv_w_finish(&b.w) != CF_OK)
        return CF_ERR_TOO_LARGE;
    if (b.done != h->batch_count && count_at + 8 <= out->len)
        cf_put_be32(out->p + count_at, (uint32_t)b.done); /* processed items only */
    if (h->max_response && out->len > (size_t)h->max_response)
        return CF_ERR_TOO_LARGE;
    return CF_OK;
}

/* The identity a request runs as, after its Authentication header (if any)
 * under the configured policy. A refused credential yields an
 * unauthenticated identity: every batch item then answers Authentication
 * Not Successful, as an unknown certificate does. */
static const core_identity *credential_identity(const kmip_env *env, const ttlv_item *root)
{
    static const core_identity refused = {.id = "credential:refused"};
    const ttlv_item *hdr = ttlv_child(root, KMIP_TAG_REQUEST_HEADER);
    const ttlv_item *auth = ttlv_child(hdr, KMIP_TAG_AUTHENTICATION);
    const ttlv_item *cred = ttlv_child(auth, KMIP_TAG_CREDENTIAL);
    const ttlv_item *value = ttlv_child(cred, KMIP_TAG_CREDENTIAL_VALUE);
    core_identity *tok = NULL;
    const char *user = "", *pass = NULL;
    size_t ul = 0, pl = 0;
    uint32_t type = 0;

    if (env->credentials == KMIP_CRED_ACCEPT || env->who->tenant == NULL)
        return env->who;
    if (cred == NULL)
        return env->credentials == KMIP_CRED_REQUIRE ? &refused : env->who;
    if (ttlv_get_enum(cred, KMIP_TAG_CREDENTIAL_TYPE, &type) != CF_OK ||
        type != KMIP_CREDENTIAL_TYPE_USERNAME_AND_PASSWORD || value == NULL ||
        ttlv_get_text(value, KMIP_TAG_PASSWORD, &pass, &pl) != CF_OK) {
        CF_LOGW("kmip: credential refused for %s: not a Username and Password", env->who->id);
        return &refused;
    }
    (void)ttlv_get_text(value, KMIP_TAG_USERNAME, &user, &ul);
    if (core_auth_token(env->st, env->arena, core_now(), pass, pl, &tok) != CF_OK ||
        tok->tenant == NULL || strcmp(tok->tenant, env->who->tenant) != 0) {
        CF_LOGW("kmip: credential of user '%.*s' refused for %s", (int)(ul > 64 ? 64 : ul),
                user, env->who->id);
        return &refused;
    }
    return tok;
}

/* A message refused as a whole (undecodable, bad header) has one record,
 * "Request Message"; its answer is a failure whatever the audit says. */
static void audit_message_error(const kmip_env *env, cf_status st, const char *why)
{
    core_req req = {.core = env->core, .st = env->st, .arena = env->arena, .who = env->who,
                    .now = core_now(), .ticket = env->ticket};
    if (core_audit_begin(&req, CORE_AUDIT_KMIP, "Request Message", env->source) != CF_OK)
        return;
    core_audit_peer_cert(&req, env->cert_sha256, env->cert_subject);
    (void)core_audit_end(&req, cf_status_str(st), why);
}

void kmip_handle(const kmip_env *env_in, const uint8_t *msg, size_t len, cf_buf *out)
{
    kmip_env envc = *env_in;
    const kmip_env *env = &envc;
    ttlv_item *root = NULL;
    ttlv_error err;
    req_header h = {.ver = KMIP_V(1, 0)};
    const char *why = NULL;
    cf_status st;

    st = ttlv_decode(msg, len, &ttlv_default_limits, env->arena, &root, &err);
    if (st != CF_OK) {
        CF_LOGI("kmip: undecodable message from %s: %s at offset %zu", env->who->id,
                ttlv_err_str(err.code), err.offset);
        write_message_error(out, h.ver, st == CF_ERR_NOMEM ? st : CF_ERR_INVALID_MSG,
                            ttlv_err_str(err.code));
        audit_message_error(env, st == CF_ERR_NOMEM ? st : CF_ERR_INVALID_MSG,
                            ttlv_err_str(err.code));
        return;
    }
    st = parse_header(root, &h, &why);
    if (st != CF_OK) {
        uint16_t v = h.ver;
        if (!version_supported(v))
            v = (v >> 8) >= 2 ? KMIP_V(2, 1) : KMIP_V(1, 0);
        CF_LOGI("kmip: refused message from %s: %s", env->who->id, why);
        write_message_error(out, v, st, why);
        audit_message_error(env, st, why);
        return;
    }
    envc.who = credential_identity(env_in, root);
    size_t start = out->len;
    st = run_batch(env, root, &h, out);
    if (st != CF_OK) {
        out->len = start;
        write_message_error(out, h.ver, st,
                            st == CF_ERR_TOO_LARGE ? "the response would be too large"
                            : st == CF_ERR_AUDIT   ? "audit unavailable"
                                                   : "the batch could not be committed");
    }
}
