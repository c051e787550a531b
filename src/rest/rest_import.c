/*
 * rest_import.c - POST /v1/import: the objects of an export document
 * (docs/export.md) into the caller's tenant, each all or nothing, with a
 * result per object (a failing object never fails the others).
 *
 * The document's header is checked once: its format and version, its
 * wrapping method, and that the caller's unwrapping key is the one the
 * document was wrapped for (the SHA-256 of its public key). Then each
 * object is read here (JSON, base64, KMIP 2.1 attributes through
 * kmip_attrs_decode, the SHA-256 of those bytes) and imported by core
 * (core_import_object: unwrap, check the binding, insert), in a scratch
 * arena reset after it. A request body holds at most CF_LIMIT_REST_BODY
 * bytes: larger documents are imported in parts (any subset of a
 * document's objects under its header is a document; `coffre import`
 * splits them).
 */
#include "rest/rest_export_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmip/kmip.h"
#include "util/limits.h"
#include "util/log.h"

#define IMPORT_SCRATCH_FIRST (64u * 1024u)

struct doc_head {
    core_xwrap_alg alg;
    const char *spki_hex;      /* RSA methods */
    const char *source_tenant;
    json_t *objects;
};

/* ------------------------------------------------------------ header */

static bool bad_doc(rest_call *c, const char *what)
{
    char msg[200];
    snprintf(msg, sizeof msg, "the document %s", what);
    rest_reply_error(c->req, 400, "invalid_field", msg);
    return false;
}

static bool read_head(rest_call *c, json_t *doc, struct doc_head *h)
{
    json_t *w = json_object_get(doc, "wrapping"), *src = json_object_get(doc, "source");
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    json_t *ver = json_object_get(doc, "version");

    memset(h, 0, sizeof *h);
    if (fmt == NULL || strcmp(fmt, REST_DOC_FORMAT) != 0)
        return bad_doc(c, "is not a Coffre export (format \"" REST_DOC_FORMAT "\")");
    if (!json_is_integer(ver) || json_integer_value(ver) != REST_DOC_VERSION) {
        rest_reply_error(c->req, 400, "feature_not_supported",
                         "this server reads export documents of version 1");
        return false;
    }
    if (!json_is_object(w) ||
        !core_xwrap_parse(json_string_value(json_object_get(w, "algorithm")), &h->alg))
        return bad_doc(c, "names no wrapping algorithm this server knows");
    h->spki_hex = json_string_value(json_object_get(w, "public_key_sha256"));
    if (h->alg != CORE_XWRAP_AES_KWP && (h->spki_hex == NULL || strlen(h->spki_hex) != 64))
        return bad_doc(c, "names no public_key_sha256 for its RSA wrapping");
    h->source_tenant = json_string_value(json_object_get(src, "tenant"));
    if (h->source_tenant == NULL)
        return bad_doc(c, "names no source tenant");
    h->objects = json_object_get(doc, "objects");
    if (!json_is_array(h->objects) || json_array_size(h->objects) > CORE_EXPORT_MAX)
        return bad_doc(c, "has no objects array (or more than 100000 objects)");
    return true;
}

/* --------------------------------------------------------- one object */

/* Only these members in o (NULL-terminated). */
static bool only(json_t *o, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t i = 0;
        (void)v;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (keys[i] == NULL)
            return false;
    }
    return true;
}

static cf_status b64_member(core_req *req, json_t *o, const char *key, const uint8_t **out,
                            size_t *out_len)
{
    uint8_t *p;
    if (!rest_unb64(req->arena, json_string_value(json_object_get(o, key)), &p, out_len))
        return core_fail(req, CF_ERR_INVALID_FIELD, "\"%s\" is not base64", key);
    *out = p;
    return CF_OK;
}

static cf_status read_versions(core_req *req, json_t *arr, core_ximport *in)
{
    static const char *const keys[] = {"version", "created", "destroyed", "encryptions",
                                       "material", NULL};
    core_xversion *v;
    size_t n = json_array_size(arr);

    if (!json_is_array(arr) || n == 0 || n > INT32_MAX ||
        (v = cf_arena_calloc(req->arena, n * sizeof *v)) == NULL)
        return core_fail(req, CF_ERR_INVALID_FIELD, "\"versions\" must be a non-empty array");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i), *num = json_object_get(e, "version");
        json_t *enc = json_object_get(e, "encryptions");
        json_int_t nv = json_integer_value(num), ne = json_integer_value(enc);
        if (!json_is_object(e) || !only(e, keys) || !json_is_integer(num) || nv < 1 ||
            nv > INT32_MAX || !json_is_integer(enc) || ne < 0 ||
            !json_is_boolean(json_object_get(e, "destroyed")) ||
            !rest_parse_time(json_string_value(json_object_get(e, "created")), &v[i].created))
            return core_fail(req, CF_ERR_INVALID_FIELD, "version entry %zu is malformed", i);
        v[i].version = (uint32_t)nv;
        v[i].encryptions = ne;
        v[i].destroyed = json_is_true(json_object_get(e, "destroyed"));
        if (json_object_get(e, "material") != NULL &&
            b64_member(req, e, "material", &v[i].material, &v[i].material_len) != CF_OK)
            return CF_ERR_INVALID_FIELD;
    }
    in->versions = v;
    in->n_versions = n;
    return CF_OK;
}

/* The JSON entry o into in (c's arenas). */
static cf_status read_object(rest_call *c, json_t *o, core_ximport *in)
{
    static const char *const keys[] = {"uid", "object_type", "state", "attributes",
                                       "material_form", "material", "versions", NULL};
    core_req *req = &c->creq;
    json_t *a = json_object_get(o, "attributes");
    const char *form = json_string_value(json_object_get(o, "material_form"));
    const uint8_t *ab;
    size_t al;
    ttlv_item *attrs;
    cf_status st;

    if (!json_is_object(o) || !only(o, keys))
        return core_fail(req, CF_ERR_INVALID_FIELD, "the entry is not an object of the "
                         "document's members");
    in->uid = json_string_value(json_object_get(o, "uid"));
    if (in->uid == NULL ||
        !rest_map_value(rest_key_types, json_string_value(json_object_get(o, "object_type")),
                        &in->object_type) ||
        !rest_map_value(rest_key_states, json_string_value(json_object_get(o, "state")),
                        &in->state))
        return core_fail(req, CF_ERR_INVALID_FIELD, "uid, object_type or state is missing or "
                         "unknown");
    if (!json_is_object(a) || (st = b64_member(req, a, "ttlv", &ab, &al)) != CF_OK)
        return core_fail(req, CF_ERR_INVALID_FIELD, "\"attributes\" has no base64 \"ttlv\"");
    if ((st = crypto_sha256(ab, al, in->digest)) != CF_OK ||
        (st = kmip_attrs_decode(req, ab, al, &attrs)) != CF_OK)
        return st;
    in->attrs = attrs;
    if (form != NULL && (!core_xform_parse(form, &in->form) || in->form == CORE_XFORM_NONE))
        return core_fail(req, CF_ERR_INVALID_FIELD, "unknown material_form");
    if ((form != NULL) != (json_object_get(o, "material") != NULL))
        return core_fail(req, CF_ERR_INVALID_FIELD, "material and material_form go together");
    if (form != NULL &&
        (st = b64_member(req, o, "material", &in->material, &in->material_len)) != CF_OK)
        return st;
    if (json_object_get(o, "versions") != NULL)
        return read_versions(req, json_object_get(o, "versions"), in);
    return CF_OK;
}

/* Import entry i; its result object. */
static json_t *import_one(rest_call *c, const core_xkey *k, const struct doc_head *h, size_t i)
{
    json_t *o = json_array_get(h->objects, i), *r;
    const char *uid = json_string_value(json_object_get(o, "uid"));
    core_ximport in = {.source_tenant = h->source_tenant};
    const struct cf_status_info *si;
    cf_status st;

    c->creq.err_msg = NULL;
    if ((st = read_object(c, o, &in)) == CF_OK)
        st = core_import_object(&c->creq, k, &in);
    r = json_pack("{s:I,s:s}", "index", (json_int_t)i, "result",
                  st == CF_OK ? "imported" : "failed");
    if (r != NULL && uid != NULL)
        json_object_set_new(r, "uid", json_string(uid));
    if (r != NULL && st != CF_OK) {
        si = cf_status_info(st);
        json_object_set_new(r, "error", json_pack("{s:s,s:s,s:i}", "code", si->name, "message",
                                                  c->creq.err_msg ? c->creq.err_msg
                                                                  : si->message,
                                                  "status", si->http_status));
    }
    return r;
}

/* Every entry, each in a scratch arena. */
static json_t *import_all(rest_call *c, const core_xkey *k, const struct doc_head *h,
                          size_t *out_ok)
{
    cf_arena *scratch = cf_arena_new(IMPORT_SCRATCH_FIRST, CF_LIMIT_REQUEST_ARENA);
    json_t *results = json_array();
    rest_env env = *c->env;
    rest_call cc = *c;

    *out_ok = 0;
    if (scratch == NULL || results == NULL) {
        cf_arena_free(scratch);
        json_decref(results);
        return NULL;
    }
    env.arena = scratch;
    cc.env = &env;
    cc.creq.arena = scratch;
    for (size_t i = 0; i < json_array_size(h->objects); i++) {
        json_t *r = import_one(&cc, k, h, i);
        if (r == NULL || json_array_append_new(results, r) != 0) {
            json_decref(results);
            results = NULL;
            break;
        }
        if (json_object_get(r, "error") == NULL)
            (*out_ok)++;
        cf_arena_reset(scratch);
    }
    cf_arena_free(scratch);
    return results;
}

/* ---------------------------------------------------------------- route */

void rest_import_document(rest_call *c)
{
    static const char *const fields[] = {"document", "unwrapping_key_id", NULL};
    json_t *body = NULL, *results;
    const char *key_id = NULL;
    struct doc_head h;
    core_xkey k = {0};
    char hex[65];
    size_t ok;
    cf_status st;

    core_audit_fix_object(&c->creq, NULL); /* about many objects: each has its record */
    if (!rest_body(c, fields, false, &body) ||
        !rest_get_string(c, body, "unwrapping_key_id", true, &key_id))
        goto out;
    if (!json_is_object(json_object_get(body, "document"))) {
        rest_reply_error(c->req, 400, json_object_get(body, "document") ? "invalid_field"
                                                                         : "missing_data",
                         "field \"document\" must be an export document (an object)");
        goto out;
    }
    if (!read_head(c, json_object_get(body, "document"), &h))
        goto out;
    if ((st = core_xkey_import(&c->creq, h.alg, key_id, &k)) != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    rest_hex32(k.spki_sha256, hex);
    if (h.alg != CORE_XWRAP_AES_KWP && strcmp(hex, h.spki_hex) != 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "the document was wrapped for the public key %.64s, the key "
                 "%s's is %s", h.spki_hex, key_id, hex);
        rest_reply_error(c->req, 400, "invalid_field", msg);
        goto out;
    }
    if ((results = import_all(c, &k, &h, &ok)) == NULL) {
        rest_reply_status(c, CF_ERR_NOMEM);
        goto out;
    }
    CF_LOGI("rest import: %zu of %zu objects by %s", ok, json_array_size(results),
            c->creq.who->id);
    rest_reply_json(c, 200, json_pack("{s:o,s:I,s:I}", "results", results, "imported",
                                      (json_int_t)ok, "failed",
                                      (json_int_t)(json_array_size(results) - ok)));
out:
    core_xkey_close(&k);
    json_decref(body);
}
