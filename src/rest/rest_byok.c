/*
 * rest_byok.c - bring your own key, wrapped (docs/byok.md): import tokens
 * and the import of wrapped material as a new version of a root key.
 * (The import as a new key is POST /v1/keys/import with "format":
 * "wrapped", in rest_keys_import.c, next to the other formats.)
 *
 *   POST /v1/import-tokens         {"ttl"?, "max_uses"?, "key_size"?} -> 201 ImportToken
 *   GET  /v1/import-tokens/{id}    -> ImportToken
 *   POST /v1/keys/{id}/versions    {"import_token", "wrapping", "material"}
 *                                  -> 201 {"key_id", "version"}
 *
 * ImportToken = {"id", "public_key": SPKI PEM, "algorithm": "RSA",
 * "key_size", "wrappings": [...], "created", "expires", "max_uses",
 * "uses"}. A TTL is a number of seconds or a duration string of the
 * rotation policies' grammar ("24h", "7d"). Rights, token checks and the
 * unwrap are core's (core_byok.c); this file only reads and writes JSON.
 */
#include "rest/rest_int.h"

#include <string.h>

static bool bad(rest_call *c, const char *msg)
{
    rest_reply_error(c->req, 400, "invalid_field", msg);
    return false;
}

static json_t *token_json(rest_call *c, const core_import_token *t)
{
    cf_arena *a = c->env->arena;
    const char *created = rest_time(a, t->created), *expires = rest_time(a, t->expires);
    if (created == NULL || expires == NULL)
        return NULL;
    return json_pack("{s:s,s:s,s:s,s:i,s:[s,s],s:s,s:s,s:i,s:i}", "id", t->id, "public_key",
                     t->public_pem, "algorithm", "RSA", "key_size", (int)t->key_size,
                     "wrappings", "rsa_aes_key_wrap_sha256", "rsa_oaep_sha256", "created",
                     created, "expires", expires, "max_uses", (int)t->max_uses, "uses",
                     (int)t->uses);
}

/* {"ttl"?, "max_uses"?, "key_size"?} */
static bool spec_read(rest_call *c, json_t *body, core_import_token_spec *out)
{
    json_t *ttl = json_object_get(body, "ttl");
    json_int_t uses = 0, size = 0;

    memset(out, 0, sizeof *out);
    if (json_is_integer(ttl))
        out->ttl = json_integer_value(ttl);
    else if (ttl != NULL && (!json_is_string(ttl) ||
                             !rest_parse_duration(json_string_value(ttl), &out->ttl)))
        return bad(c, "field \"ttl\" must be a number of seconds or a duration such as \"24h\" "
                      "or \"7d\"");
    if (ttl != NULL && (out->ttl < 1 || out->ttl > CORE_BYOK_TTL_MAX))
        return bad(c, "field \"ttl\" must be 1 second to 7 days");
    if (!rest_get_int(c, body, "max_uses", false, &uses) ||
        !rest_get_int(c, body, "key_size", false, &size))
        return false;
    if (json_object_get(body, "max_uses") && (uses < 1 || uses > CORE_BYOK_USES_MAX))
        return bad(c, "field \"max_uses\" must be 1 to 100");
    if (json_object_get(body, "key_size") && size != 3072 && size != 4096)
        return bad(c, "field \"key_size\" must be 3072 or 4096");
    out->max_uses = (int32_t)uses;
    out->key_size = (int32_t)size;
    return true;
}

void rest_byok_token_create(rest_call *c)
{
    static const char *const fields[] = {"ttl", "max_uses", "key_size", NULL};
    core_import_token_spec spec;
    core_import_token *t;
    json_t *body = NULL;
    char *loc;
    cf_status st;

    if (!rest_body(c, fields, true, &body))
        return;
    /* The right first (core checks it again): a Reader learns nothing of
     * the fields, and no RSA key is made for it. */
    if ((st = core_req_authorize(&c->creq, CORE_ACT_CREATE, NULL)) != CF_OK)
        rest_reply_status(c, st);
    else if (spec_read(c, body, &spec)) {
        if ((st = core_import_token_create(&c->creq, &spec, &t)) != CF_OK) {
            rest_reply_status(c, st);
        } else if ((loc = cf_arena_sprintf(c->env->arena, "/v1/import-tokens/%s", t->id)) ==
                   NULL) {
            rest_reply_status(c, CF_ERR_NOMEM);
        } else {
            core_audit_fix_object(&c->creq, t->id); /* the record names the token */
            rest_set_location(c, loc);
            rest_reply_json(c, 201, token_json(c, t));
        }
    }
    json_decref(body);
}

void rest_byok_token_get(rest_call *c)
{
    core_import_token *t;
    cf_status st;

    core_audit_fix_object(&c->creq, c->params[0]);
    st = core_import_token_get(&c->creq, c->params[0], &t);
    if (st != CF_OK)
        rest_reply_status(c, st);
    else
        rest_reply_json(c, 200, token_json(c, t));
}

void rest_byok_version_import(rest_call *c)
{
    static const char *const fields[] = {"import_token", "wrapping", "material", NULL};
    core_byok_wrapped w;
    json_t *body = NULL;
    uint32_t version;
    cf_status st;

    if (!rest_body(c, fields, false, &body))
        return;
    if (rest_byok_wrapped(c, body, &w)) {
        if ((st = core_byok_import_version(&c->creq, c->params[0], &w, &version)) != CF_OK)
            rest_reply_status(c, st);
        else
            rest_reply_json(c, 201, json_pack("{s:s,s:I}", "key_id", c->params[0], "version",
                                               (json_int_t)version));
    }
    json_decref(body);
}
