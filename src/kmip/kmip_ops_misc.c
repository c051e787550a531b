/*
 * kmip_ops_misc.c - operations about the conversation rather than objects:
 * Log (KMIP 2.1 section 6.1.29) and Check (1.4 section 4.10, 2.1 6.1.7).
 *
 * Log writes the client's message to the server log at info level with
 * the identity that sent it. The text is the client's: control characters
 * are escaped and it is cut at LOG_MESSAGE_MAX bytes, so that a client can
 * neither forge log lines nor flood the log.
 */
#include "kmip/kmip_int.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"

/* Longest Log Message kept in the log line (bytes of the original). */
#define LOG_MESSAGE_MAX 512

/* ------------------------------------------------------------------- Log */

/* p[0..n) with control characters, backslash and DEL escaped as \xHH, cut
 * at LOG_MESSAGE_MAX input bytes ("..." marks the cut), into out. */
static void escape_text(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    bool cut = n > LOG_MESSAGE_MAX;
    if (cut)
        n = LOG_MESSAGE_MAX;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7F || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    if (cut && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

cf_status kmip_op_log(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    char line[LOG_MESSAGE_MAX * 4 + 8];
    const char *msg;
    size_t len;
    cf_status st;

    (void)w; /* the response payload is empty (Table 251) */
    if ((st = core_req_authorize(op->req, CORE_ACT_QUERY, NULL)) != CF_OK)
        return st;
    st = ttlv_get_text(pl, KMIP_TAG_LOG_MESSAGE, &msg, &len);
    if (st == CF_ERR_MISSING)
        return core_fail(op->req, st, "Log Message missing");
    if (st != CF_OK)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "Log Message is not a Text String");
    escape_text(msg, len, line, sizeof line);
    CF_LOGI("kmip log from %s: %s", op->req->who->id ? op->req->who->id : "?", line);
    return CF_OK;
}

/* ----------------------------------------------------------------- Check */

static cf_status check_in(kmip_op *op, const ttlv_item *pl, core_check_in *in)
{
    cf_status a = ttlv_get_int(pl, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, &in->usage_mask);
    cf_status b = ttlv_get_long(pl, KMIP_TAG_USAGE_LIMITS_COUNT, &in->usage_count);
    const ttlv_item *lt = ttlv_child(pl, KMIP_TAG_LEASE_TIME);

    if (a == CF_ERR_INVALID_FIELD || b == CF_ERR_INVALID_FIELD ||
        (lt != NULL && lt->type != TTLV_INTERVAL))
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "malformed Check values");
    in->has_usage_mask = a == CF_OK;
    in->has_usage_count = b == CF_OK;
    if (in->has_usage_count && in->usage_count < 0)
        return core_fail(op->req, CF_ERR_INVALID_FIELD, "negative Usage Limits Count");
    in->has_lease_time = lt != NULL;
    in->lease_time = lt ? lt->v.u32 : 0;
    return CF_OK;
}

cf_status kmip_op_check(kmip_op *op, const ttlv_item *pl, ttlv_writer *w)
{
    core_check_in in = {0};
    core_check_out out;
    const char *uid;
    cf_status st;

    if ((st = kmip_payload_uid(op, pl, &uid)) != CF_OK || (st = check_in(op, pl, &in)) != CF_OK)
        return st;
    st = core_check(op->req, uid, &in, &out);
    if (st != CF_OK) {
        /* "the server empties the ID Placeholder" (2.1 6.1.7): a later
         * item of the batch cannot act on the refused object. */
        op->id_placeholder = NULL;
        return st;
    }
    ttlv_w_cstr(w, KMIP_TAG_UNIQUE_IDENTIFIER, out.uid);
    op->new_placeholder = out.uid;
    return CF_OK;
}
