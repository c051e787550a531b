/*
 * client_cmds.c - `coffre <noun> <verb>`: one table row per REST operation
 * (docs/openapi.json, docs/cli.md), and the few commands that need more
 * than "build the body, send it, show the answer":
 *
 *   list        paging (--limit, --offset) and --all (follows the pages);
 *   identity create   the new API key (shown once): stdout or a 0600 file;
 *   key import  the material read from a file (binary formats base64'd);
 *   key material      the material: a 0600 file, or stdout only with --json
 *               or when stdout is not a terminal.
 *
 * Commands on a tenant's identities take --tenant; without it the caller's
 * own tenant (GET /v1/me) is used, so a Manager never has to name it.
 *
 * The envelope, rotation and audit rows take their options and runners
 * from client_env.c, `encrypt` and `decrypt` from client_file.c: their
 * rows are here, so the table stays the one list of commands.
 */
#include "cli/cli.h"
#include "cli/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/evp.h>

/* -------------------------------------------------------------- options */
#define BODY(n, k, f, a, h) {n, k, CLI_IN_BODY, f, a, h, NULL}
#define QUERY(n, k, f, a, h) {n, k, CLI_IN_QUERY, f, a, h, NULL}
#define CONST(n, f, lit, h) {n, CLI_K_CONST, CLI_IN_BODY, f, NULL, h, lit}
#define LOCAL(n, a, h) {n, a ? CLI_K_LOCAL : CLI_K_FLAG, CLI_IN_NONE, NULL, a, h, NULL}
#define END {NULL, 0, 0, NULL, NULL, NULL, NULL}

static const struct cli_opt o_paging[] = {
    LOCAL("limit", "N", "at most N items (1..1000, default 100)"),
    LOCAL("offset", "N", "skip the first N items"),
    LOCAL("all", NULL, "every item: follow the pages"),
    END,
};
static const struct cli_opt o_tenant[] = {
    LOCAL("tenant", "T", "the tenant (default: your own, from GET /v1/me)"),
    END,
};
static const struct cli_opt o_tenant_create[] = {
    BODY("name", CLI_K_STR, "name", "NAME", "display name (default: the id)"),
    END,
};
static const struct cli_opt o_tenant_update[] = {
    BODY("name", CLI_K_STR, "name", "NAME", "new display name"),
    BODY("state", CLI_K_WORD, "state", "STATE", "active or suspended"),
    END,
};
static const struct cli_opt o_restrict[] = {
    BODY("restrict-action", CLI_K_MULTI, "restriction.actions", "ACTION",
         "allow only this action (repeatable: encrypt, read-material, ...)"),
    BODY("restrict-key", CLI_K_MULTI, "restriction.keys", "ID",
         "allow only this key (repeatable)"),
    END,
};
static const struct cli_opt o_ident_create[] = {
    BODY("kind", CLI_K_WORD, "kind", "KIND",
         "api-key or certificate (default: certificate when a certificate option is given)"),
    BODY("name", CLI_K_STR, "name", "NAME", "a name for people"),
    BODY("role", CLI_K_WORD, "role", "ROLE", "reader, writer or manager"),
    BODY("expires", CLI_K_STR, "expires", "TIME", "expiry, RFC 3339 (2027-01-31T00:00:00Z)"),
    BODY("cert", CLI_K_TEXTFILE, "certificate", "FILE", "PEM certificate to pin"),
    BODY("cert-sha256", CLI_K_STR, "certificate_sha256", "HEX", "pin by SHA-256 of the DER"),
    BODY("ca-cert", CLI_K_TEXTFILE, "ca_certificate", "FILE", "PEM CA: admit what it issues"),
    BODY("ca-sha256", CLI_K_STR, "ca_sha256", "HEX", "the CA by SHA-256 of its DER"),
    BODY("subject", CLI_K_STR, "subject", "DN", "with a CA: only this subject (RFC 2253)"),
    LOCAL("out", "FILE", "write the new API key to FILE (created, 0600) instead of stdout"),
    END,
};
static const struct cli_opt o_ident_update[] = {
    BODY("name", CLI_K_STR, "name", "NAME", "new name"),
    BODY("role", CLI_K_WORD, "role", "ROLE", "reader, writer or manager"),
    BODY("expires", CLI_K_TIME, "expires", "TIME", "expiry (RFC 3339), or never"),
    CONST("disable", "disabled", "true", "refuse its authentication"),
    CONST("enable", "disabled", "false", "accept its authentication again"),
    CONST("no-restriction", "restriction", "null", "remove the restriction"),
    END,
};
static const struct cli_opt o_retire[] = {
    CONST("destroy-keys", "mode", "\"destroy_keys\"",
          "revoke and destroy its keys (default: refuse while it owns live keys)"),
    END,
};
static const struct cli_opt o_key_common[] = {
    BODY("algorithm", CLI_K_STR, "algorithm", "ALG",
         "AES, HMAC-SHA256, HMAC-SHA384, HMAC-SHA512, RSA, EC"),
    BODY("name", CLI_K_STR, "name", "NAME", "unique among the tenant's live keys"),
    BODY("usage", CLI_K_LIST, "usage", "U,U", "encrypt,decrypt,sign,verify,wrap-key,..."),
    BODY("kind", CLI_K_WORD, "kind", "KIND", "standard (default) or root (never extractable)"),
    BODY("tag", CLI_K_KV, "tags", "K=V", "a tag (repeatable)"),
    CONST("activate", "activate", "true", "activate at once (default: pre-active)"),
    END,
};
static const struct cli_opt o_key_create[] = {
    BODY("length", CLI_K_INT, "length", "BITS", "key length"),
    BODY("curve", CLI_K_STR, "curve", "CURVE", "EC: P-256, P-384 or P-521"),
    END,
};
static const struct cli_opt o_key_import[] = {
    BODY("format", CLI_K_STR, "format", "FMT", "raw, pem, der or wrapped (docs/byok.md)"),
    LOCAL("file", "FILE", "the material (raw, der and wrapped: binary; pem: text)"),
    BODY("import-token", CLI_K_STR, "import_token", "ID", "wrapped: the import token"),
    BODY("wrapping", CLI_K_WORD, "wrapping", "W",
         "wrapped: rsa-aes-key-wrap-sha256 or rsa-oaep-sha256"),
    BODY("length", CLI_K_INT, "length", "BITS", "wrapped: the key's bits (checked)"),
    END,
};
static const struct cli_opt o_key_list[] = {
    QUERY("name", CLI_K_STR, "name", "NAME", "only this name"),
    QUERY("state", CLI_K_WORD, "state", "STATE", "pre-active, active, deactivated, ..."),
    QUERY("algorithm", CLI_K_STR, "algorithm", "ALG", "only this algorithm"),
    QUERY("type", CLI_K_WORD, "type", "TYPE", "symmetric-key, private-key, public-key, ..."),
    QUERY("kind", CLI_K_WORD, "kind", "KIND", "root or standard"),
    QUERY("tag", CLI_K_KV, "tag", "K=V", "only keys with this tag"),
    END,
};
static const struct cli_opt o_key_update[] = {
    BODY("name", CLI_K_STR, "name", "NAME", "new name"),
    CONST("no-name", "name", "null", "remove the name"),
    BODY("alias", CLI_K_MULTI, "aliases", "NAME", "the other names (repeatable; replaces them)"),
    BODY("tag", CLI_K_KV, "tags", "K=V", "set a tag (repeatable)"),
    BODY("remove-tag", CLI_K_UNSET, "tags", "K", "remove a tag (repeatable)"),
    END,
};
static const struct cli_opt o_revoke[] = {
    BODY("reason", CLI_K_WORD, "reason", "REASON",
         "unspecified, key-compromise, ca-compromise, superseded, ..."),
    BODY("message", CLI_K_STR, "message", "TEXT", "a note"),
    END,
};
static const struct cli_opt o_material[] = {
    QUERY("format", CLI_K_STR, "format", "FMT", "raw, pem or der (default: raw for symmetric)"),
    LOCAL("out", "FILE", "write the material to FILE (created, 0600; raw and der: binary)"),
    END,
};

static const struct cli_opt *const l_none[] = {NULL};
static const struct cli_opt *const l_paging[] = {o_paging, NULL};
static const struct cli_opt *const l_tenant[] = {o_tenant, NULL};
static const struct cli_opt *const l_tenant_create[] = {o_tenant_create, NULL};
static const struct cli_opt *const l_tenant_update[] = {o_tenant_update, NULL};
static const struct cli_opt *const l_ident_create[] = {o_tenant, o_ident_create, o_restrict, NULL};
static const struct cli_opt *const l_ident_list[] = {o_tenant, o_paging, NULL};
static const struct cli_opt *const l_ident_update[] = {o_tenant, o_ident_update, o_restrict, NULL};
static const struct cli_opt *const l_retire[] = {o_tenant, o_retire, NULL};
static const struct cli_opt *const l_key_create[] = {o_key_common, o_key_create, NULL};
static const struct cli_opt *const l_key_import[] = {o_key_import, o_key_common, NULL};
static const struct cli_opt *const l_key_list[] = {o_key_list, o_paging, NULL};
static const struct cli_opt *const l_key_update[] = {o_key_update, NULL};
static const struct cli_opt *const l_revoke[] = {o_revoke, NULL};
static const struct cli_opt *const l_material[] = {o_material, NULL};
/* BYOK (docs/byok.md) */
static const struct cli_opt o_import_version[] = {
    BODY("import-token", CLI_K_STR, "import_token", "ID", "the import token"),
    BODY("wrapping", CLI_K_WORD, "wrapping", "W", "rsa-aes-key-wrap-sha256 or rsa-oaep-sha256"),
    LOCAL("file", "FILE", "the wrapped material (binary)"),
    END,
};
static const struct cli_opt o_token_out[] = {
    LOCAL("out", "FILE", "also write the public key (PEM) to FILE (created)"),
    END,
};
static const struct cli_opt o_token_create[] = {
    BODY("ttl", CLI_K_STR, "ttl", "DURATION", "how long it may be used: 300s, 24h (default), 7d"),
    BODY("max-uses", CLI_K_INT, "max_uses", "N", "how many imports (1..100, default 1)"),
    BODY("key-size", CLI_K_INT, "key_size", "BITS", "RSA 3072 (default) or 4096"),
    END,
};
static const struct cli_opt *const l_import_version[] = {o_import_version, NULL};
static const struct cli_opt *const l_token_create[] = {o_token_create, o_token_out, NULL};
static const struct cli_opt *const l_token_show[] = {o_token_out, NULL};

static const struct cli_col c_tenants[] = {
    {"ID", "id", NULL}, {"NAME", "name", NULL}, {"STATE", "state", NULL},
    {"CREATED", "created", NULL}, {NULL, NULL, NULL},
};
static const struct cli_col c_identities[] = {
    {"ID", "id", NULL},         {"NAME", "name", NULL},       {"KIND", "kind", NULL},
    {"ROLE", "role", NULL},     {"EXPIRES", "expires", NULL}, {"DISABLED", "disabled", NULL},
    {NULL, NULL, NULL},
};
static const struct cli_col c_keys[] = {
    {"ID", "id", NULL},      {"NAME", "name", NULL},    {"TYPE", "type", NULL},
    {"ALGORITHM", "algorithm", NULL},                   {"SIZE", "length", "curve"},
    {"STATE", "state", NULL}, {"KIND", "kind", NULL},   {NULL, NULL, NULL},
};

/* -------------------------------------------------------- running a row */
static int own_tenant(cli_ctx *x, char **out)
{
    cli_resp r;
    const char *t;
    int rc = cli_request(x, "GET", "/v1/me", NULL, true, &r);

    if (rc == CLI_EXIT_OK) {
        if ((t = json_string_value(json_object_get(r.doc, "tenant"))) == NULL) {
            cli_err("--tenant T is needed: the operator belongs to no tenant");
            rc = CLI_EXIT_USAGE;
        } else if ((*out = strdup(t)) == NULL)
            rc = CLI_EXIT_FAIL;
    }
    cli_resp_free(&r);
    return rc;
}

/* The tenant for {t}, the path (with `extra` in its query) and the body. */
static int prepare(cli_ctx *x, const struct cli_args *a, const char *extra, char **path,
                   json_t **body)
{
    const char *t = cli_opt_get(a, "tenant");
    char *tenant = NULL;
    int rc = CLI_EXIT_OK;

    *path = NULL;
    *body = NULL;
    if (a->cmd->flags & CLI_CMD_TENANT) {
        if (t && (tenant = strdup(t)) == NULL)
            rc = CLI_EXIT_FAIL;
        else if (t == NULL)
            rc = own_tenant(x, &tenant);
    }
    if (rc == CLI_EXIT_OK)
        rc = cli_build_path(a, tenant, extra, path);
    if (rc == CLI_EXIT_OK &&
        (strcmp(a->cmd->method, "POST") == 0 || strcmp(a->cmd->method, "PATCH") == 0))
        rc = cli_build_body(a, body);
    free(tenant);
    return rc;
}

/* Send the row's request with this path and body (serialised in a secret). */
static int call(cli_ctx *x, const struct cli_args *a, const char *path, json_t *body,
                cli_resp *r)
{
    cf_secret text = {0};
    int rc = body ? cli_json_secret(body, &text) : CLI_EXIT_OK;

    if (rc != CLI_EXIT_OK) {
        memset(r, 0, sizeof *r);
        return rc;
    }
    rc = cli_request(x, a->cmd->method, path, body ? &text : NULL,
                     !(a->cmd->flags & CLI_CMD_NOAUTH), r);
    cf_secret_free(&text);
    return rc;
}

static void show(const cli_ctx *x, cli_resp *r)
{
    if (x->json)
        cli_print_raw(stdout, r);
    else if (json_is_object(r->doc))
        cli_print_fields(stdout, r->doc);
}

static int run_object(cli_ctx *x, const struct cli_args *a)
{
    char *path = NULL;
    json_t *body = NULL;
    cli_resp r = {0};
    int rc;

    if ((rc = prepare(x, a, NULL, &path, &body)) != CLI_EXIT_OK)
        goto out;
    if ((rc = call(x, a, path, body, &r)) == CLI_EXIT_OK)
        show(x, &r);
out:
    cli_resp_free(&r);
    json_decref(body);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- lists */
static int list_page(cli_ctx *x, const struct cli_args *a, long long limit, long long offset,
                     cli_resp *r)
{
    char extra[64], *path = NULL;
    json_t *body = NULL;
    int rc;

    extra[0] = '\0';
    if (limit >= 0)
        snprintf(extra, sizeof extra, "limit=%lld", limit);
    if (offset >= 0)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%soffset=%lld",
                 extra[0] ? "&" : "", offset);
    memset(r, 0, sizeof *r);
    if ((rc = prepare(x, a, extra, &path, &body)) == CLI_EXIT_OK)
        rc = call(x, a, path, NULL, r);
    free(path);
    json_decref(body);
    return rc;
}

static int list_show(cli_ctx *x, const struct cli_args *a, cli_resp *r, json_t *doc)
{
    json_t *items = json_object_get(doc, a->cmd->items);
    json_int_t total = json_integer_value(json_object_get(doc, "total"));
    json_int_t offset = json_integer_value(json_object_get(doc, "offset"));
    size_t n = json_array_size(items);

    if (x->json && r) {
        cli_print_raw(stdout, r);
    } else if (x->json) {
        json_dumpf(doc, stdout, JSON_COMPACT);
        fputc('\n', stdout);
    } else {
        cli_print_table(stdout, items, a->cmd->cols);
        if (offset + (json_int_t)n < total)
            fprintf(stderr, "(%zu of %" JSON_INTEGER_FORMAT " shown: --all, or --offset %"
                    JSON_INTEGER_FORMAT ", for more)\n", n, total, offset + (json_int_t)n);
    }
    return CLI_EXIT_OK;
}

static bool count_opt(const struct cli_args *a, const char *name, long long *out)
{
    const char *v = cli_opt_get(a, name);
    char *end;
    *out = -1;
    if (v == NULL)
        return true;
    *out = strtoll(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || *out > 1000000) {
        cli_err("--%s %s: a count is needed", name, v);
        return false;
    }
    return true;
}

/* --all: every page into one document of the same shape. */
static int list_all(cli_ctx *x, const struct cli_args *a, long long limit, long long offset)
{
    json_t *acc = json_array(), *doc = NULL;
    long long off = offset < 0 ? 0 : offset, page = limit < 0 ? 1000 : limit;
    json_int_t total = 0;
    cli_resp r = {0};
    int rc = acc ? CLI_EXIT_OK : CLI_EXIT_FAIL;

    while (rc == CLI_EXIT_OK) {
        json_t *items;
        if ((rc = list_page(x, a, page, off, &r)) != CLI_EXIT_OK)
            break;
        items = json_object_get(r.doc, a->cmd->items);
        total = json_integer_value(json_object_get(r.doc, "total"));
        off += (long long)json_array_size(items);
        if (json_array_extend(acc, items) != 0)
            rc = CLI_EXIT_FAIL;
        if (json_array_size(items) == 0 || off >= total || off > 1000000)
            break;
        cli_resp_free(&r);
    }
    if (rc == CLI_EXIT_OK &&
        (doc = json_pack("{s:O,s:I,s:I,s:I}", a->cmd->items, acc, "total", total, "limit",
                         (json_int_t)page, "offset", (json_int_t)(offset < 0 ? 0 : offset))))
        rc = list_show(x, a, NULL, doc);
    cli_resp_free(&r);
    json_decref(doc);
    json_decref(acc);
    return rc;
}

static int run_list(cli_ctx *x, const struct cli_args *a)
{
    long long limit, offset;
    cli_resp r = {0};
    int rc;

    if (!count_opt(a, "limit", &limit) || !count_opt(a, "offset", &offset))
        return CLI_EXIT_USAGE;
    if (cli_opt_get(a, "all"))
        return list_all(x, a, limit, offset);
    if ((rc = list_page(x, a, limit, offset, &r)) == CLI_EXIT_OK)
        rc = list_show(x, a, &r, r.doc);
    cli_resp_free(&r);
    return rc;
}

/* ------------------------------------------------------ identity create */
static bool any_cert_option(const struct cli_args *a)
{
    return cli_opt_get(a, "cert") || cli_opt_get(a, "cert-sha256") ||
           cli_opt_get(a, "ca-cert") || cli_opt_get(a, "ca-sha256");
}

/* The API key and a newline (a token file is read up to its first line end). */
static int token_to_file(const char *out, const char *tok)
{
    size_t n = strlen(tok);
    cf_secret line = {0};
    int rc = CLI_EXIT_FAIL;

    if (cf_secret_alloc(&line, n + 1) == CF_OK) {
        memcpy(line.p, tok, n);
        line.p[n] = '\n';
        rc = cli_write_secret_file(out, line.p, n + 1);
    }
    cf_secret_free(&line);
    return rc;
}

static int show_new_identity(cli_ctx *x, const struct cli_args *a, cli_resp *r)
{
    json_t *token = json_object_get(r->doc, "token"), *ident = json_object_get(r->doc, "identity");
    const char *out = cli_opt_get(a, "out"), *tok = json_string_value(token);
    int rc = CLI_EXIT_OK;

    if (tok == NULL) {
        if (out)
            fprintf(stderr, "(no API key to write to %s: a certificate identity has none)\n", out);
        show(x, r);
        return CLI_EXIT_OK;
    }
    if (out == NULL && x->json)
        return cli_secret_stdout(r->body.p, r->body.len, true);
    if (out == NULL) {
        fprintf(stderr, "identity %s: its API key, shown once, follows\n",
                json_string_value(json_object_get(ident, "id")));
        return cli_secret_stdout(tok, strlen(tok), true);
    }
    if ((rc = token_to_file(out, tok)) != CLI_EXIT_OK) {
        cli_err("the identity %s was created; its API key is lost: delete it",
                json_string_value(json_object_get(ident, "id")));
        return rc;
    }
    json_object_del(r->doc, "token");
    if (x->json) {
        json_dumpf(r->doc, stdout, JSON_COMPACT);
        fputc('\n', stdout);
    } else
        cli_print_fields(stdout, ident);
    return CLI_EXIT_OK;
}

static int run_identity_create(cli_ctx *x, const struct cli_args *a)
{
    char *path = NULL;
    json_t *body = NULL;
    cli_resp r = {0};
    int rc;

    if ((rc = prepare(x, a, NULL, &path, &body)) != CLI_EXIT_OK)
        goto out;
    if (cli_opt_get(a, "kind") == NULL &&
        json_object_set_new(body, "kind",
                            json_string(any_cert_option(a) ? "certificate" : "api_key"))) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if ((rc = call(x, a, path, body, &r)) == CLI_EXIT_OK)
        rc = show_new_identity(x, a, &r);
out:
    cli_resp_free(&r);
    json_decref(body);
    free(path);
    return rc;
}

/* ----------------------------------------------------------- key import */
/* The file's material as the JSON string the server expects. */
static json_t *material_value(const char *format, const cf_secret *raw)
{
    cf_secret b64 = {0};
    json_t *v = NULL;

    if (strcmp(format, "pem") == 0)
        return json_stringn((const char *)raw->p, raw->len);
    if (raw->len > CLI_MAX_FILE || cf_secret_alloc(&b64, 4 * ((raw->len + 2) / 3) + 1) != CF_OK)
        return NULL;
    EVP_EncodeBlock(b64.p, raw->p, (int)raw->len);
    v = json_stringn((const char *)b64.p, 4 * ((raw->len + 2) / 3));
    cf_secret_free(&b64);
    return v;
}

static int run_import(cli_ctx *x, const struct cli_args *a)
{
    const char *file = cli_opt_get(a, "file"), *format = cli_opt_get(a, "format");
    char *path = NULL;
    json_t *body = NULL, *m;
    cf_secret raw = {0};
    cli_resp r = {0};
    int rc = CLI_EXIT_USAGE;

    if (file == NULL || format == NULL) {
        cli_err("key import needs --format raw|pem|der and --file FILE");
        goto out;
    }
    if ((rc = cli_read_file(file, CLI_MAX_FILE, &raw, NULL)) != CLI_EXIT_OK ||
        (rc = prepare(x, a, NULL, &path, &body)) != CLI_EXIT_OK)
        goto out;
    if ((m = material_value(format, &raw)) == NULL) {
        cli_err("%s: not text (a PEM file is text: try --format der)", file);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    json_object_set_new(body, "material", m);
    if ((rc = call(x, a, path, body, &r)) == CLI_EXIT_OK)
        show(x, &r);
out:
    cf_secret_free(&raw);
    cli_resp_free(&r);
    json_decref(body);
    free(path);
    return rc;
}

/* --------------------------------------------------------- key material */
static int material_to_file(const char *out, const char *format, const char *m)
{
    size_t n = strlen(m), pad = 0;
    cf_secret bin = {0};
    int len, rc;

    if (strcmp(format, "pem") == 0)
        rc = cli_write_secret_file(out, m, n);
    else if (n % 4 != 0 || cf_secret_alloc(&bin, n / 4 * 3 + 1) != CF_OK ||
             (len = EVP_DecodeBlock(bin.p, (const unsigned char *)m, (int)n)) < 0) {
        cli_err("the server's material is not base64");
        rc = CLI_EXIT_SERVER;
    } else {
        pad = (n > 0 && m[n - 1] == '=') + (n > 1 && m[n - 2] == '=');
        rc = cli_write_secret_file(out, bin.p, (size_t)len - pad);
        n = (size_t)len - pad;
    }
    if (rc == CLI_EXIT_OK)
        fprintf(stderr, "wrote %zu bytes (%s) to %s\n", n, format, out);
    cf_secret_free(&bin);
    return rc;
}

static int run_material(cli_ctx *x, const struct cli_args *a)
{
    const char *out = cli_opt_get(a, "out"), *m, *format;
    char *path = NULL;
    json_t *body = NULL;
    cli_resp r = {0};
    int rc;

    if (out == NULL && !x->json && isatty(STDOUT_FILENO)) {
        cli_err("key material is not printed on a terminal: use --out FILE, or --json, or "
                "redirect stdout");
        return CLI_EXIT_USAGE;
    }
    if ((rc = prepare(x, a, NULL, &path, &body)) != CLI_EXIT_OK ||
        (rc = call(x, a, path, NULL, &r)) != CLI_EXIT_OK)
        goto out;
    m = json_string_value(json_object_get(r.doc, "material"));
    format = json_string_value(json_object_get(r.doc, "format"));
    if (m == NULL || format == NULL) {
        cli_err("the answer holds no material");
        rc = CLI_EXIT_SERVER;
    } else if (out)
        rc = material_to_file(out, format, m);
    else if (x->json)
        rc = cli_secret_stdout(r.body.p, r.body.len, true);
    else
        rc = cli_secret_stdout(m, strlen(m), m[0] == '\0' || m[strlen(m) - 1] != '\n');
out:
    cli_resp_free(&r);
    json_decref(body);
    free(path);
    return rc;
}

/* ------------------------------------------------------------------ BYOK */
/* key import-version: the wrapped file as base64 "material". */
static int run_import_version(cli_ctx *x, const struct cli_args *a)
{
    const char *file = cli_opt_get(a, "file");
    char *path = NULL;
    json_t *body = NULL, *m;
    cf_secret raw = {0};
    cli_resp r = {0};
    int rc = CLI_EXIT_USAGE;

    if (file == NULL) {
        cli_err("key import-version needs --import-token ID --wrapping W --file FILE");
        goto out;
    }
    if ((rc = cli_read_file(file, CLI_MAX_FILE, &raw, NULL)) != CLI_EXIT_OK ||
        (rc = prepare(x, a, NULL, &path, &body)) != CLI_EXIT_OK)
        goto out;
    if ((m = material_value("wrapped", &raw)) == NULL ||
        json_object_set_new(body, "material", m) != 0) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if ((rc = call(x, a, path, body, &r)) == CLI_EXIT_OK)
        show(x, &r);
out:
    cf_secret_free(&raw);
    cli_resp_free(&r);
    json_decref(body);
    free(path);
    return rc;
}

/* import-token create|show: the answer, and with --out its public key. */
static int run_import_token(cli_ctx *x, const struct cli_args *a)
{
    const char *out = cli_opt_get(a, "out"), *pem;
    char *path = NULL;
    json_t *body = NULL;
    cli_resp r = {0};
    int rc;

    if ((rc = prepare(x, a, NULL, &path, &body)) != CLI_EXIT_OK ||
        (rc = call(x, a, path, body, &r)) != CLI_EXIT_OK)
        goto out;
    pem = json_string_value(json_object_get(r.doc, "public_key"));
    if (out && pem == NULL) {
        cli_err("the answer holds no public key");
        rc = CLI_EXIT_SERVER;
    } else if (out && (rc = cli_write_secret_file(out, pem, strlen(pem))) == CLI_EXIT_OK) {
        fprintf(stderr, "wrote the import token's public key to %s\n", out);
    }
    if (rc == CLI_EXIT_OK)
        show(x, &r);
out:
    cli_resp_free(&r);
    json_decref(body);
    free(path);
    return rc;
}

/* ------------------------------------------------------------ the table */
#define ROW(n, v, m, p) .noun = n, .verb = v, .method = m, .path = p
static const struct cli_cmd commands[] = {
    {ROW("me", NULL, "GET", "/v1/me"), .opts = l_none, .help = "who am I: identity, tenant, role"},
    {ROW("health", NULL, "GET", "/health"), .opts = l_none, .flags = CLI_CMD_NOAUTH,
     .help = "is the server up (no API key needed)"},

    {ROW("tenant", "create", "POST", "/v1/tenants"), .arg = "ID", .arg_field = "id",
     .opts = l_tenant_create, .help = "create a tenant (operator)"},
    {ROW("tenant", "list", "GET", "/v1/tenants"), .opts = l_paging, .run = run_list,
     .cols = c_tenants, .items = "tenants", .help = "list the tenants (operator)"},
    {ROW("tenant", "show", "GET", "/v1/tenants/{id}"), .arg = "ID", .opts = l_none,
     .help = "show a tenant"},
    {ROW("tenant", "update", "PATCH", "/v1/tenants/{id}"), .arg = "ID", .opts = l_tenant_update,
     .help = "rename, suspend or resume a tenant (operator)"},
    {ROW("tenant", "delete", "DELETE", "/v1/tenants/{id}"), .arg = "ID", .opts = l_none,
     .help = "delete a tenant that holds no live object (operator)"},

    {ROW("identity", "create", "POST", "/v1/tenants/{t}/identities"), .opts = l_ident_create,
     .run = run_identity_create, .flags = CLI_CMD_TENANT,
     .help = "create an API key (printed once) or a certificate identity"},
    {ROW("identity", "list", "GET", "/v1/tenants/{t}/identities"), .opts = l_ident_list,
     .run = run_list, .cols = c_identities, .items = "identities", .flags = CLI_CMD_TENANT,
     .help = "list a tenant's identities"},
    {ROW("identity", "show", "GET", "/v1/tenants/{t}/identities/{id}"), .arg = "ID",
     .opts = l_tenant, .flags = CLI_CMD_TENANT, .help = "show an identity"},
    {ROW("identity", "update", "PATCH", "/v1/tenants/{t}/identities/{id}"), .arg = "ID",
     .opts = l_ident_update, .flags = CLI_CMD_TENANT,
     .help = "rename, change the role, expiry, restriction; disable or enable"},
    {ROW("identity", "delete", "DELETE", "/v1/tenants/{t}/identities/{id}"), .arg = "ID",
     .opts = l_tenant, .flags = CLI_CMD_TENANT, .help = "delete an identity"},
    {ROW("identity", "retire", "POST", "/v1/tenants/{t}/identities/{id}/retire"), .arg = "ID",
     .opts = l_retire, .flags = CLI_CMD_TENANT,
     .help = "disable an identity; refuse while it owns live keys, or destroy them"},

    {ROW("key", "create", "POST", "/v1/keys"), .opts = l_key_create,
     .help = "create a key (a key pair for RSA and EC: the private key is shown)"},
    {ROW("key", "import", "POST", "/v1/keys/import"), .opts = l_key_import, .run = run_import,
     .help = "import a key from a file"},
    {ROW("key", "list", "GET", "/v1/keys"), .opts = l_key_list, .run = run_list, .cols = c_keys,
     .items = "keys", .help = "list keys"},
    {ROW("key", "show", "GET", "/v1/keys/{id}"), .arg = "ID", .opts = l_none,
     .help = "show a key's metadata"},
    {ROW("key", "update", "PATCH", "/v1/keys/{id}"), .arg = "ID", .opts = l_key_update,
     .help = "change a key's name, aliases, tags"},
    {ROW("key", "activate", "POST", "/v1/keys/{id}/activate"), .arg = "ID", .opts = l_none,
     .help = "activate a pre-active key"},
    {ROW("key", "deactivate", "POST", "/v1/keys/{id}/deactivate"), .arg = "ID", .opts = l_none,
     .help = "deactivate an active key"},
    {ROW("key", "revoke", "POST", "/v1/keys/{id}/revoke"), .arg = "ID", .opts = l_revoke,
     .help = "revoke a key (key-compromise: compromised)"},
    {ROW("key", "destroy", "DELETE", "/v1/keys/{id}"), .arg = "ID", .opts = l_none,
     .help = "destroy a key's material"},
    {ROW("key", "material", "GET", "/v1/keys/{id}/material"), .arg = "ID", .opts = l_material,
     .run = run_material, .help = "read a key's material (Writer; standard keys only)"},
    {ROW("key", "import-version", "POST", "/v1/keys/{id}/versions"), .arg = "ID",
     .opts = l_import_version, .run = run_import_version,
     .help = "import wrapped material as a root key's newest version (docs/byok.md)"},

    {ROW("import-token", "create", "POST", "/v1/import-tokens"), .opts = l_token_create,
     .run = run_import_token, .help = "an RSA public key to wrap a key for (docs/byok.md)"},
    {ROW("import-token", "show", "GET", "/v1/import-tokens/{id}"), .arg = "ID",
     .opts = l_token_show, .run = run_import_token, .help = "show an import token"},

    /* Envelope encryption, versions, rotation (docs/envelope.md, docs/rotation.md;
     * options and runners in client_env.c). */
    {ROW("key", "wrap", "POST", "/v1/keys/{id}/wrap"), .arg = "ID", .opts = cli_l_wrap,
     .run = cli_run_envelope, .help = "wrap a DEK with a root key (none given: a new one)"},
    {ROW("key", "unwrap", "POST", "/v1/keys/{id}/unwrap"), .arg = "ID", .opts = cli_l_unwrap,
     .run = cli_run_envelope, .help = "unwrap a wrapped DEK"},
    {ROW("key", "rewrap", "POST", "/v1/keys/{id}/rewrap"), .arg = "ID", .opts = cli_l_rewrap,
     .run = cli_run_envelope, .help = "wrap again under the newest version (no plaintext out)"},
    {ROW("key", "batch", "POST", "/v1/keys/{id}/batch"), .arg = "ID", .opts = cli_l_batch,
     .run = cli_run_batch, .help = "up to 100 wraps, unwraps, rewraps; a result per item"},
    {ROW("key", "versions", "GET", "/v1/keys/{id}/versions"), .arg = "ID", .opts = l_paging,
     .run = run_list, .cols = cli_c_versions, .items = "versions",
     .help = "list a root key's versions, newest first"},
    {ROW("key", "rotate", "POST", "/v1/keys/{id}/rotate"), .arg = "ID", .opts = l_none,
     .help = "rotate a root key now: a new version wraps from now on"},
    {ROW("key", "rotation-policy", "GET|PUT|DELETE", "/v1/keys/{id}/rotation-policy"),
     .arg = "ID", .opts = cli_l_policy, .run = cli_run_policy,
     .help = "show, set (--interval, --max-encryptions) or --clear a key's rotation policy"},
    {ROW("tenant", "rotation-policy", "GET|PUT|DELETE", "/v1/tenants/{id}/rotation-policy"),
     .arg = "T", .opts = cli_l_policy, .run = cli_run_policy,
     .help = "show, set or --clear the tenant's default rotation policy"},
    {ROW("rotation", "run", "POST", "/v1/rotation/run"), .opts = cli_l_rotation_run,
     .help = "run a scheduler pass now (operator)"},

    /* The audit trail (docs/audit.md; `audit verify` is offline: audit_main.c). */
    {ROW("audit", "list", "GET", "/v1/audit"), .opts = cli_l_audit_list,
     .run = cli_run_audit_list, .help = "search a chain's records (Reader and up)"},
    {ROW("audit", "export", "GET", "/v1/audit/export"), .opts = cli_l_audit_export,
     .run = cli_run_audit_export, .help = "a verifiable slice of a chain, into a file"},
    {ROW("audit", "public-key", "GET", "/v1/audit/public-key"), .opts = cli_l_audit_key,
     .run = cli_run_audit_key, .help = "the public key that signs the checkpoints (PEM)"},

    /* Files envelope-encrypted on this machine (docs/file-encryption.md, client_file.c). */
    {ROW("encrypt", NULL, "POST", "/v1/keys/{key}/wrap"), .arg = "IN", .opts = cli_l_encrypt,
     .run = cli_run_encrypt, .help = "encrypt a file (- stdin) under a new DEK: -o OUT"},
    {ROW("decrypt", NULL, "POST", "/v1/keys/{key}/unwrap"), .arg = "IN", .opts = cli_l_decrypt,
     .run = cli_run_decrypt, .help = "decrypt a file of coffre encrypt: -o OUT"},

    /* Reversibility (docs/export.md; options and runners in client_export.c). */
    {ROW("key", "export", "POST", "/v1/keys/{id}/export"), .arg = "ID", .opts = cli_l_export_key,
     .run = cli_run_export_key, .help = "export a key wrapped for another KMS (Manager)"},
    {ROW("export", NULL, "POST", "/v1/export"), .opts = cli_l_export_tenant,
     .run = cli_run_export_tenant, .help = "export the tenant's keys wrapped for another KMS"},
    {ROW("import", NULL, "POST", "/v1/import"), .opts = cli_l_import, .run = cli_run_import_doc,
     .help = "import an export document (--file F --unwrapping-key ID)"},
    {.noun = NULL},
};

/* ----------------------------------------------------------------- main */
/* No core dumps: the API key and key material are in memory. */
static void harden(void)
{
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    (void)cf_secret_heap_init(1u << 21); /* else secrets are in the heap, still wiped */
}

int cli_client_main(int argc, char **argv)
{
    struct cli_args a;
    cli_ctx x = {0};
    int rc;

    harden();
    if (!cli_mem_init()) {
        cli_err("cannot initialise libcurl");
        return CLI_EXIT_FAIL;
    }
    rc = cli_parse(argc, argv, commands, &a);
    if (rc == CLI_EXIT_OK && a.help) {
        cli_help_for(stdout, &a, commands);
        goto out;
    }
    if (rc != CLI_EXIT_OK || (rc = cli_conf_resolve(&a.flags, &x)) != CLI_EXIT_OK)
        goto out;
    if (!(a.cmd->flags & CLI_CMD_NOAUTH) && x.token.p == NULL) {
        cli_err("no API key: give --token-file FILE, or set COFFRE_TOKEN, or `token_file` in "
                "the config file");
        rc = CLI_EXIT_AUTH;
        goto out;
    }
    if ((rc = cli_ctx_open_curl(&x)) == CLI_EXIT_OK)
        rc = (a.cmd->run ? a.cmd->run : run_object)(&x, &a);
out:
    cli_ctx_close(&x);
    cli_mem_done();
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK)
        rc = CLI_EXIT_FAIL;
    return rc;
}

void cli_client_usage(FILE *f)
{
    cli_help_main(f, commands);
}
