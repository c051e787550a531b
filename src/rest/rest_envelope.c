/*
 * rest_envelope.c - envelope encryption with root keys: POST
 * /v1/keys/{id}/wrap, /unwrap, /rewrap, /batch and GET /versions.
 *
 * Each operation is one core call (core_env_wrap / unwrap / rewrap); core
 * decides who may, in which state, under which version. This file reads
 * the JSON (base64 plaintext and ciphertext, the AAD as a list or a map of
 * strings) and writes the answers. The single operations and the items of
 * a batch share one reader and one writer, so a batch item answers exactly
 * what the single call would, or {"error": {code, message}} in its place
 * (a failing item never fails the batch).
 *
 * Secrets: a plaintext the client sends is decoded into a cf_secret and
 * its JSON string cleansed; answers that carry a plaintext are written by
 * hand into cf_secret buffers (never through jansson's heap) and cleansed
 * once queued, as rest_keys_material does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/core_env_int.h"
#include "rest/rest_keys_int.h"
#include "util/log.h"

#define BATCH_MAX 100

enum env_op { OP_WRAP, OP_UNWRAP, OP_REWRAP };

struct env_item {
    enum env_op op;
    cf_secret plaintext;      /* wrap: the DEK given (len 0: generate) */
    bool has_plaintext;
    const uint8_t *ct;        /* unwrap, rewrap */
    size_t ct_len;
    core_aad aad;
    bool has_aad;
};


/* ------------------------------------------------------------ reading */

/* A string field as bytes: secret (plaintext) or arena (ciphertext). */
static cf_status b64_field(rest_call *c, json_t *v, const char *field, size_t max,
                           cf_secret *sec, const uint8_t **out, size_t *out_len)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), got = 0;
    uint8_t *p;
    cf_status st = CF_OK;

    if (!json_is_string(v))
        return core_fail(&c->creq, CF_ERR_INVALID_FIELD, "field \"%s\" must be a base64 string",
                         field);
    if (n / 4 * 3 > max + 2) /* decoded, it would be too long */
        return core_fail(&c->creq, CF_ERR_INVALID_FIELD, "field \"%s\" is longer than %zu bytes",
                         field, max);
    if (sec != NULL) {
        if ((st = cf_secret_alloc(sec, n / 4 * 3 + 1)) != CF_OK)
            return st;
        p = sec->p;
    } else if ((p = cf_arena_alloc(c->env->arena, n / 4 * 3 + 1)) == NULL) {
        return CF_ERR_NOMEM;
    }
    if (!rest_b64_decode(s, n, p, &got, NULL))
        st = core_fail(&c->creq, CF_ERR_INVALID_FIELD,
                       "field \"%s\" is not valid base64 (RFC 4648, padded)", field);
    if (sec != NULL) {
        rest_json_cleanse(v);
        if (st == CF_OK)
            sec->len = got;
        else
            cf_secret_free(sec);
    } else {
        *out = p;
        *out_len = got;
    }
    return st;
}

/* "aad": [strings] or {string: string}. */
static cf_status aad_field(rest_call *c, json_t *v, core_aad *out)
{
    size_t n = json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0;
    const char **keys = NULL, **vals;
    const char *k;
    json_t *x;
    size_t i = 0;

    if (!json_is_array(v) && !json_is_object(v))
        return core_fail(&c->creq, CF_ERR_INVALID_FIELD,
                         "field \"aad\" must be a list of strings or an object of strings");
    if (n > CORE_ENV_AAD_MAX)
        return core_fail(&c->creq, CF_ERR_INVALID_FIELD,
                         "field \"aad\" holds at most %d strings or entries", CORE_ENV_AAD_MAX);
    vals = cf_arena_calloc(c->env->arena, (n + 1) * sizeof *vals);
    if (json_is_object(v))
        keys = cf_arena_calloc(c->env->arena, (n + 1) * sizeof *keys);
    if (vals == NULL || (json_is_object(v) && keys == NULL))
        return CF_ERR_NOMEM;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x) {
            if (!json_is_string(x))
                return core_fail(&c->creq, CF_ERR_INVALID_FIELD,
                                 "field \"aad\" must hold strings only");
            vals[i] = json_string_value(x);
        }
    } else {
        json_object_foreach(v, k, x) {
            if (!json_is_string(x))
                return core_fail(&c->creq, CF_ERR_INVALID_FIELD,
                                 "field \"aad\" must map to strings only");
            keys[i] = k;
            vals[i++] = json_string_value(x);
        }
    }
    *out = (core_aad){.keys = keys, .values = vals, .n = n};
    return CF_OK;
}

static bool op_parse(const char *s, enum env_op *out)
{
    static const char *const names[] = {"wrap", "unwrap", "rewrap"};
    for (int i = 0; i < 3; i++)
        if (s != NULL && strcmp(s, names[i]) == 0) {
            *out = (enum env_op)i;
            return true;
        }
    return false;
}

/* The fields of one operation (o may be NULL: an empty wrap body). Every
 * field present must belong to it. */
static cf_status item_read(rest_call *c, json_t *o, bool batch, struct env_item *it)
{
    const char *key;
    json_t *v;
    cf_status st = CF_OK;

    json_object_foreach(o, key, v) {
        if (batch && strcmp(key, "op") == 0)
            continue;
        if (strcmp(key, "aad") == 0) {
            st = aad_field(c, v, &it->aad);
            it->has_aad = true;
        } else if (strcmp(key, "plaintext") == 0 && it->op == OP_WRAP) {
            st = b64_field(c, v, key, CORE_ENV_PLAINTEXT_MAX, &it->plaintext, NULL, NULL);
            it->has_plaintext = st == CF_OK;
        } else if (strcmp(key, "ciphertext") == 0 && it->op != OP_WRAP) {
            st = b64_field(c, v, key, CORE_ENV_CT_MAX, NULL, &it->ct, &it->ct_len);
        } else {
            st = core_fail(&c->creq, CF_ERR_INVALID_FIELD,
                           "field \"%s\" does not belong to this operation", key);
        }
        if (st != CF_OK)
            return st;
    }
    if (it->op != OP_WRAP && it->ct == NULL)
        return core_fail(&c->creq, CF_ERR_MISSING, "field \"ciphertext\" is required");
    return CF_OK;
}

/* ------------------------------------------------------------ writing */

/* Room for the base64 of n bytes, its NUL included. */
static size_t b64_room(size_t n) { return 4 * ((n + 2) / 3) + 1; }

/* The answer of one operation into *out (secure heap): the single call's
 * body, and a batch item's result. */
static cf_status item_text(const char *qid, enum env_op op, const core_env_out *r,
                           bool show_plaintext, cf_secret *out)
{
    size_t cap = strlen(qid) + b64_room(r->ciphertext_len) + b64_room(r->plaintext.len) + 160;
    size_t n;
    char *p;

    if (cf_secret_alloc(out, cap) != CF_OK)
        return CF_ERR_NOMEM;
    p = (char *)out->p;
    n = (size_t)snprintf(p, cap, "{\"key_id\":%s,\"key_version\":%u", qid, r->version);
    if (op != OP_UNWRAP) {
        n += (size_t)snprintf(p + n, cap - n, ",\"ciphertext\":\"");
        n += (size_t)EVP_EncodeBlock(out->p + n, r->ciphertext, (int)r->ciphertext_len);
        p[n++] = '"';
    }
    if ((op == OP_UNWRAP || show_plaintext) && r->plaintext.p != NULL) {
        n += (size_t)snprintf(p + n, cap - n, ",\"plaintext\":\"");
        n += (size_t)EVP_EncodeBlock(out->p + n, r->plaintext.p, (int)r->plaintext.len);
        p[n++] = '"';
    }
    if (op == OP_UNWRAP)
        n += (size_t)snprintf(p + n, cap - n, ",\"rewrap_recommended\":%s",
                              r->version < r->newest ? "true" : "false");
    p[n++] = '}';
    out->len = n;
    return CF_OK;
}

/* {"error":{"code","message"}} of a failed item, in a secret buffer so
 * that every piece of a batch answer is alike. */
static cf_status error_text(rest_call *c, cf_status st, cf_secret *out)
{
    const struct cf_status_info *si = cf_status_info(st);
    json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", si->name, "message",
                          c->creq.err_msg ? c->creq.err_msg : si->message);
    char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
    cf_status rc = text ? cf_secret_dup(out, (const uint8_t *)text, strlen(text)) : CF_ERR_NOMEM;
    json_decref(e);
    cf_json_free(text);
    return rc;
}

/* ------------------------------------------------------------ running */

static cf_status item_run(rest_call *c, const struct env_item *it, core_env_out *r)
{
    const core_aad *aad = it->has_aad ? &it->aad : NULL;
    switch (it->op) {
    case OP_WRAP:
        return core_env_wrap(&c->creq, c->params[0], it->has_plaintext ? &it->plaintext : NULL,
                             aad, r);
    case OP_UNWRAP:
        return core_env_unwrap(&c->creq, c->params[0], it->ct, it->ct_len, aad, r);
    default:
        return core_env_rewrap(&c->creq, c->params[0], it->ct, it->ct_len, aad, r);
    }
}

/* Read, run and write one operation: *text its answer, or the failure. */
static cf_status item_do(rest_call *c, const char *qid, json_t *o, bool batch,
                         struct env_item *it, cf_secret *text)
{
    core_env_out r = {0};
    cf_status st = item_read(c, o, batch, it);
    if (st == CF_OK)
        st = item_run(c, it, &r);
    if (st == CF_OK)
        st = item_text(qid, it->op, &r, !it->has_plaintext, text);
    cf_secret_free(&r.plaintext);
    cf_secret_free(&it->plaintext);
    return st;
}

/* The key id as a JSON string (malloc'ed). */
static char *quoted_id(const char *uid)
{
    json_t *id = json_string(uid);
    char *q = id ? json_dumps(id, JSON_ENCODE_ANY) : NULL;
    json_decref(id);
    return q;
}

static void single(rest_call *c, enum env_op op)
{
    static const char *const wrap_fields[] = {"plaintext", "aad", NULL};
    static const char *const ct_fields[] = {"ciphertext", "aad", NULL};
    struct env_item it = {.op = op};
    cf_secret text = {0};
    json_t *body = NULL;
    char *qid = NULL;
    cf_status st;

    if (!rest_body(c, op == OP_WRAP ? wrap_fields : ct_fields, op == OP_WRAP, &body))
        return;
    if ((qid = quoted_id(c->params[0])) == NULL)
        st = CF_ERR_NOMEM;
    else
        st = item_do(c, qid, body, false, &it, &text);
    if (st == CF_OK)
        rest_reply_raw(c->req, 200, (const char *)text.p, text.len);
    else
        rest_reply_status(c, st);
    cf_secret_free(&text);
    cf_json_free(qid);
    json_decref(body);
}

void rest_env_wrap(rest_call *c) { single(c, OP_WRAP); }
void rest_env_unwrap(rest_call *c) { single(c, OP_UNWRAP); }
void rest_env_rewrap(rest_call *c) { single(c, OP_REWRAP); }

/* -------------------------------------------------------------- batch */

/* One batch item's piece: its answer, or its error. */
static cf_status batch_item(rest_call *c, const char *qid, json_t *o, cf_secret *piece)
{
    struct env_item it = {0};
    const char *op = NULL;
    cf_status st;

    c->creq.err_msg = NULL;
    if (!json_is_object(o))
        st = core_fail(&c->creq, CF_ERR_INVALID_FIELD, "each item must be an object");
    else if ((op = json_string_value(json_object_get(o, "op"))) == NULL &&
             json_object_get(o, "op") == NULL)
        st = core_fail(&c->creq, CF_ERR_MISSING, "field \"op\" is required");
    else if (!op_parse(op, &it.op))
        st = core_fail(&c->creq, CF_ERR_INVALID_FIELD,
                       "field \"op\" must be wrap, unwrap or rewrap");
    else
        st = item_do(c, qid, o, true, &it, piece);
    if (st == CF_OK || st == CF_ERR_NOMEM)
        return st;
    return error_text(c, st, piece);
}

/* {"results":[pieces]} into out. */
static cf_status batch_join(cf_secret *pieces, size_t n, cf_secret *out)
{
    size_t total = 16, len = 0;
    for (size_t i = 0; i < n; i++)
        total += pieces[i].len + 1;
    if (cf_secret_alloc(out, total) != CF_OK)
        return CF_ERR_NOMEM;
    memcpy(out->p, "{\"results\":[", 12);
    len = 12;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            out->p[len++] = ',';
        memcpy(out->p + len, pieces[i].p, pieces[i].len);
        len += pieces[i].len;
    }
    memcpy(out->p + len, "]}", 2);
    out->len = len + 2;
    return CF_OK;
}

void rest_env_batch(rest_call *c)
{
    static const char *const fields[] = {"items", NULL};
    cf_secret pieces[BATCH_MAX] = {{0}}, text = {0};
    json_t *body = NULL, *items = NULL;
    size_t n = 0;
    char *qid = NULL;
    cf_status st = CF_OK;

    if (!rest_body(c, fields, false, &body) || !rest_get_array(c, body, "items", &items))
        goto out;
    if (items == NULL) {
        rest_reply_error(c->req, 400, "missing_data", "field \"items\" is required");
        goto out;
    }
    if (json_array_size(items) == 0 || json_array_size(items) > BATCH_MAX) {
        rest_reply_error(c->req, 400, "invalid_field",
                         "field \"items\" must hold 1 to 100 operations");
        goto out;
    }
    if ((qid = quoted_id(c->params[0])) == NULL)
        st = CF_ERR_NOMEM;
    for (n = 0; st == CF_OK && n < json_array_size(items); n++)
        st = batch_item(c, qid, json_array_get(items, n), &pieces[n]);
    if (st == CF_OK)
        st = batch_join(pieces, n, &text);
    if (st == CF_OK)
        rest_reply_raw(c->req, 200, (const char *)text.p, text.len);
    else
        rest_reply_status(c, st);
out:
    for (size_t i = 0; i < BATCH_MAX; i++)
        cf_secret_free(&pieces[i]);
    cf_secret_free(&text);
    cf_json_free(qid);
    json_decref(body);
}

/* ----------------------------------------------------------- versions */

void rest_env_versions(rest_call *c)
{
    int64_t limit, offset, total;
    core_key_version *v;
    size_t n;
    json_t *arr;
    cf_status st;

    if (!rest_paging(c, &limit, &offset))
        return;
    if ((st = core_key_versions(&c->creq, c->params[0], offset, limit, &v, &n, &total)) !=
        CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n && arr; i++) {
        const char *created = rest_time(c->env->arena, v[i].created);
        json_t *o = created ? json_pack("{s:I,s:s,s:b,s:I}", "version", (json_int_t)v[i].version,
                                        "created", created, "destroyed", v[i].destroyed,
                                        "encryptions", (json_int_t)v[i].encryptions)
                            : NULL;
        if (json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    rest_reply_json(c, 200, rest_page("versions", arr, total, limit, offset));
}
