/*
 * rest_export.c - export for reversibility: POST /v1/keys/{id}/export (one
 * object) and POST /v1/export (the tenant's objects), answering the
 * document of docs/export.md; rest_import.c reads it back.
 *
 * Core decides and builds (core_xport.c: who may, what leaves, wrapped how,
 * the audit records); this file writes the JSON. Each object's attributes
 * are encoded in KMIP 2.1 form (kmip_attrs_encode) and their SHA-256 handed
 * to core, which binds the wrapped material to them.
 *
 * A tenant's export can be large (CORE_EXPORT_MAX objects): the document
 * is written as text object by object, each object built in a scratch
 * arena reset after it, so the request arena holds only the list of ids.
 * Nothing here is secret: material is wrapped (certificates are public).
 */
#include "rest/rest_export_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kmip/kmip.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/version.h"

#define DOC_SCRATCH_FIRST (64u * 1024u)

/* ---------------------------------------------------------------- base64 */

char *rest_b64(const uint8_t *p, size_t n)
{
    size_t len = 4 * ((n + 2) / 3);
    char *s = n > INT32_MAX / 2 ? NULL : malloc(len + 1);
    if (s != NULL)
        EVP_EncodeBlock((unsigned char *)s, p, (int)n);
    return s;
}


bool rest_unb64(cf_arena *a, const char *s, uint8_t **out, size_t *out_len)
{
    size_t n = s ? strlen(s) : 0;
    uint8_t *p;

    if (n == 0 || n % 4 != 0 || (p = cf_arena_alloc(a, n / 4 * 3)) == NULL ||
        !rest_b64_decode(s, n, p, out_len, NULL))
        return false;
    *out = p;
    return true;
}

void rest_hex32(const uint8_t p[32], char out[65])
{
    for (size_t i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* ---------------------------------------------------------- the request */

struct wrap_opts {
    core_xwrap_alg alg;
    const char *pem;
    const char *key_id;
};

static bool missing(rest_call *c, const char *msg)
{
    rest_reply_error(c->req, 400, "missing_data", msg);
    return false;
}

/* "wrapping" (default rsa_aes_key_wrap_sha256), "wrapping_key" (PEM, RSA
 * methods) or "wrapping_key_id" (aes_kwp). */
static bool read_wrapping(rest_call *c, json_t *body, struct wrap_opts *w)
{
    const char *name = NULL;

    memset(w, 0, sizeof *w);
    w->alg = CORE_XWRAP_RSA_AES_KWP;
    if (!rest_get_string(c, body, "wrapping", false, &name) ||
        !rest_get_string(c, body, "wrapping_key", false, &w->pem) ||
        !rest_get_string(c, body, "wrapping_key_id", false, &w->key_id))
        return false;
    if (name != NULL && !core_xwrap_parse(name, &w->alg))
        return rest_bad_field(c, "field \"wrapping\" must be rsa_aes_key_wrap_sha256, "
                              "rsa_oaep_sha256 or aes_kwp");
    if (w->alg == CORE_XWRAP_AES_KWP) {
        if (w->pem != NULL)
            return rest_bad_field(c, "aes_kwp wraps under wrapping_key_id, not a wrapping_key");
        return w->key_id != NULL || missing(c, "aes_kwp needs wrapping_key_id: an AES key");
    }
    if (w->key_id != NULL)
        return rest_bad_field(c, "%s wraps under wrapping_key (a PEM public key), not a "
                              "wrapping_key_id", core_xwrap_name(w->alg));
    return w->pem != NULL || missing(c, "wrapping_key is required: the destination's RSA "
                                        "public key (PEM)");
}

/* ---------------------------------------------------------- the document */

/* The document's members before "objects", as JSON text without its
 * closing brace (malloc'd: free()). */
static char *header_text(rest_call *c, const core_xkey *k, json_t *extra)
{
    const char *created = rest_time(c->env->arena, c->creq.now);
    json_t *w = json_pack("{s:s}", "algorithm", core_xwrap_name(k->alg)), *h = NULL;
    char hex[65], *text = NULL;

    if (w != NULL && k->alg == CORE_XWRAP_AES_KWP) {
        json_object_set_new(w, "key_id", json_string(k->key_id));
    } else if (w != NULL) {
        rest_hex32(k->spki_sha256, hex);
        json_object_set_new(w, "public_key_sha256", json_string(hex));
    }
    if (created != NULL && w != NULL)
        h = json_pack("{s:s,s:i,s:s,s:{s:s,s:s},s:o}", "format", REST_DOC_FORMAT, "version",
                      REST_DOC_VERSION, "created", created, "source", "server",
                      "coffre " CF_VERSION, "tenant", c->creq.who->tenant, "wrapping", w);
    else
        json_decref(w);
    if (h != NULL && extra != NULL)
        json_object_update(h, extra);
    if (h != NULL && (text = cf_json_dumps_malloc(h, JSON_COMPACT)) != NULL)
        text[strlen(text) - 1] = '\0'; /* the objects follow */
    json_decref(h);
    return text;
}

/* Set o[key] to the base64 of (p, n); nonzero when out of memory. */
static int set_b64(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char *s = rest_b64(p, n);
    int r = s ? json_object_set_new(o, key, json_string(s)) : -1;
    free(s);
    return r;
}

static json_t *versions_json(rest_call *c, const core_xobject *x)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < x->n_versions; i++) {
        const core_xversion *v = &x->versions[i];
        const char *t = rest_time(c->env->arena, v->created);
        json_t *o = t ? json_pack("{s:I,s:s,s:b,s:I}", "version", (json_int_t)v->version,
                                  "created", t, "destroyed", v->destroyed, "encryptions",
                                  (json_int_t)v->encryptions)
                      : NULL;
        if (o == NULL || (v->material && set_b64(o, "material", v->material, v->material_len)) ||
            json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* The document's entry for x, whose attributes encode to attrs. */
static json_t *entry_json(rest_call *c, const core_xobject *x, const cf_buf *attrs)
{
    json_t *summary = rest_key_json(c, x->obj), *a = json_object(), *o;
    int r = 0;

    if (summary == NULL || a == NULL || set_b64(a, "ttlv", attrs->p, attrs->len) ||
        json_object_set_new(a, "summary", summary)) {
        json_decref(a);
        return NULL;
    }
    o = json_pack("{s:s,s:s,s:s,s:o}", "uid", x->obj->uid, "object_type",
                  rest_map_name(rest_key_types, x->obj->object_type), "state",
                  rest_map_name(rest_key_states, x->obj->state), "attributes", a);
    if (o != NULL && x->form != CORE_XFORM_NONE)
        r |= json_object_set_new(o, "material_form", json_string(core_xform_name(x->form))) |
             set_b64(o, "material", x->material, x->material_len);
    if (o != NULL && x->versions != NULL)
        r |= json_object_set_new(o, "versions", versions_json(c, x));
    if (r != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Append the JSON text of object uid (c's arenas) to out. */
static cf_status append_object(rest_call *c, const core_xkey *k, const char *uid, bool first,
                               cf_buf *out)
{
    core_xobject x;
    uint8_t digest[32];
    cf_buf attrs;
    json_t *o = NULL;
    char *text = NULL;
    cf_status st;

    cf_buf_init(&attrs, CF_LIMIT_KMIP_MESSAGE);
    if ((st = core_export_load(&c->creq, uid, &x)) != CF_OK ||
        (st = kmip_attrs_encode(&c->creq, x.attrs, &attrs)) != CF_OK ||
        (st = crypto_sha256(attrs.p, attrs.len, digest)) != CF_OK ||
        (st = core_export_material(&c->creq, k, digest, &x)) != CF_OK)
        goto out;
    st = CF_ERR_NOMEM;
    if ((o = entry_json(c, &x, &attrs)) != NULL && (text = json_dumps(o, JSON_COMPACT)) != NULL &&
        (first || cf_buf_append(out, ",", 1)) && cf_buf_append(out, text, strlen(text)))
        st = CF_OK;
out:
    cf_buf_free(&attrs);
    json_decref(o);
    cf_json_free(text);
    return st;
}

/* Every object of uids, each in a scratch arena; on failure c->creq's
 * message is the object's. One object is built in the request's arena:
 * the call's audit record names it, and its notes (the object's name)
 * must outlive the scratch arena. */
static cf_status append_objects(rest_call *c, const core_xkey *k, const char *const *uids,
                                size_t n, cf_buf *out)
{
    cf_arena *scratch;
    rest_env env = *c->env;
    rest_call cc = *c;
    cf_status st;

    if (n == 1)
        return append_object(c, k, uids[0], true, out);
    scratch = cf_arena_new(DOC_SCRATCH_FIRST, CF_LIMIT_REQUEST_ARENA);
    st = scratch ? CF_OK : CF_ERR_NOMEM;

    env.arena = scratch;
    cc.env = &env;
    cc.creq.arena = scratch;
    for (size_t i = 0; i < n && st == CF_OK; i++) {
        cc.creq.err_msg = NULL;
        if ((st = append_object(&cc, k, uids[i], i == 0, out)) != CF_OK && cc.creq.err_msg)
            c->creq.err_msg = cf_arena_sprintf(c->env->arena, "object %s: %s", uids[i],
                                               cc.creq.err_msg);
        cf_arena_reset(scratch);
    }
    cf_arena_free(scratch);
    return st;
}

/* The whole document for uids; replies. */
static void reply_document(rest_call *c, const core_xkey *k, const char *const *uids, size_t n,
                           json_t *extra)
{
    char *head = header_text(c, k, extra);
    cf_buf out;
    cf_status st = CF_ERR_NOMEM;

    cf_buf_init(&out, 0);
    if (head != NULL && cf_buf_append(&out, head, strlen(head)) &&
        cf_buf_append(&out, ",\"objects\":[", 12) &&
        (st = append_objects(c, k, uids, n, &out)) == CF_OK)
        st = cf_buf_append(&out, "]}", 2) ? CF_OK : CF_ERR_NOMEM;
    free(head);
    if (st == CF_OK) {
        CF_LOGI("rest export of %zu objects (%s) by %s", n, core_xwrap_name(k->alg),
                c->creq.who->id);
        rest_reply_raw(c->req, 200, (const char *)out.p, out.len);
    } else {
        rest_reply_status(c, st);
    }
    cf_buf_free(&out);
}

/* ---------------------------------------------------------------- routes */

void rest_export_key(rest_call *c)
{
    static const char *const fields[] = {"wrapping", "wrapping_key", "wrapping_key_id", NULL};
    struct wrap_opts w;
    core_xobject x;
    core_xkey k = {0};
    json_t *body = NULL;
    const char *uid = c->params[0];
    cf_status st;

    if (!rest_body(c, fields, false, &body) || !read_wrapping(c, body, &w))
        goto out;
    /* Who may, on what, before the wrapping key is looked at. */
    if ((st = core_export_load(&c->creq, uid, &x)) != CF_OK ||
        (st = core_xkey_export(&c->creq, w.alg, w.pem, w.pem ? strlen(w.pem) : 0, w.key_id,
                               &k)) != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    uid = x.obj->uid;
    reply_document(c, &k, &uid, 1, NULL);
out:
    core_xkey_close(&k);
    json_decref(body);
}

void rest_export_tenant(rest_call *c)
{
    static const char *const fields[] = {"wrapping", "wrapping_key", "wrapping_key_id",
                                         "include_destroyed", "limit", "offset", NULL};
    struct wrap_opts w;
    core_xkey k = {0};
    json_t *body = NULL, *extra = NULL;
    json_int_t limit = -1, offset = 0;
    bool destroyed = false;
    const char **uids;
    size_t n;
    int64_t total;
    cf_status st;

    core_audit_fix_object(&c->creq, NULL); /* about many objects: each has its record */
    if (!rest_body(c, fields, false, &body) || !read_wrapping(c, body, &w) ||
        !rest_get_bool(c, body, "include_destroyed", &destroyed) ||
        !rest_get_int(c, body, "limit", false, &limit) ||
        !rest_get_int(c, body, "offset", false, &offset))
        goto out;
    if (json_object_get(body, "limit") && (limit < 1 || limit > CORE_EXPORT_PAGE_MAX)) {
        rest_bad_field(c, "field \"limit\" must be 1 to %d", CORE_EXPORT_PAGE_MAX);
        goto out;
    }
    if (offset < 0 || offset > 1000000) {
        rest_bad_field(c, "field \"offset\" must be 0 to 1000000");
        goto out;
    }
    if ((st = core_export_list(&c->creq, destroyed, offset, limit, &uids, &n, &total)) != CF_OK ||
        (st = core_xkey_export(&c->creq, w.alg, w.pem, w.pem ? strlen(w.pem) : 0, w.key_id,
                               &k)) != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    extra = json_pack("{s:I,s:I}", "total", (json_int_t)total, "offset", offset);
    reply_document(c, &k, uids, n, extra);
out:
    json_decref(extra);
    core_xkey_close(&k);
    json_decref(body);
}
