/*
 * client_export.c - reversibility from the command line (docs/export.md):
 *
 *   coffre key export ID --wrapping-key PEM [--out F]   POST /v1/keys/{id}/export
 *   coffre export --wrapping-key PEM [--out F]           POST /v1/export, page by page
 *   coffre import --file F --unwrapping-key ID           POST /v1/import, part by part
 *
 * A tenant's document is fetched in pages of EXPORT_PAGE objects and
 * written as one document (the objects of every page under the first
 * page's header). An import sends the document in parts that fit the
 * server's body limit (any subset of a document's objects under its
 * header is a document) and prints one line per object that failed.
 * Documents hold wrapped material only, yet are written 0600 like every
 * file this client creates.
 */
#include "cli/cli.h"
#include "cli/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EXPORT_PAGE 500
/* A part's JSON, under the server's 256 KiB body limit with room for the
 * request's own members. */
#define IMPORT_PART_MAX (240u * 1024u)
/* The largest document file read. */
#define IMPORT_FILE_MAX (1024u * 1024u * 1024u)

#define BODY(n, k, f, a, h) {n, k, CLI_IN_BODY, f, a, h, NULL}
#define CONST(n, f, lit, h) {n, CLI_K_CONST, CLI_IN_BODY, f, NULL, h, lit}
#define LOCAL(n, a, h) {n, a ? CLI_K_LOCAL : CLI_K_FLAG, CLI_IN_NONE, NULL, a, h, NULL}
#define END {NULL, 0, 0, NULL, NULL, NULL, NULL}

static const struct cli_opt o_export[] = {
    BODY("wrapping-key", CLI_K_TEXTFILE, "wrapping_key", "PEM",
         "the destination's RSA public key (PEM file)"),
    BODY("wrapping", CLI_K_STR, "wrapping", "ALG",
         "rsa_aes_key_wrap_sha256 (default), rsa_oaep_sha256 or aes_kwp"),
    BODY("wrapping-key-id", CLI_K_STR, "wrapping_key_id", "ID",
         "aes_kwp: an AES key of this tenant the destination holds"),
    LOCAL("out", "FILE", "write the document to FILE (created, 0600) instead of stdout"),
    END,
};
static const struct cli_opt o_export_tenant[] = {
    CONST("include-destroyed", "include_destroyed", "true",
          "also the destroyed objects (metadata only)"),
    END,
};
static const struct cli_opt o_import[] = {
    LOCAL("file", "FILE", "the export document"),
    LOCAL("unwrapping-key", "ID", "the RSA private key (or aes_kwp: AES key) it was wrapped for"),
    END,
};

const struct cli_opt *const cli_l_export_key[] = {o_export, NULL};
const struct cli_opt *const cli_l_export_tenant[] = {o_export, o_export_tenant, NULL};
const struct cli_opt *const cli_l_import[] = {o_import, NULL};

/* ------------------------------------------------------------- requests */

/* POST body (serialised in a secret) to path. */
static int post(cli_ctx *x, const char *path, const json_t *body, cli_resp *r)
{
    cf_secret text = {0};
    int rc = cli_json_secret(body, &text);

    memset(r, 0, sizeof *r);
    if (rc == CLI_EXIT_OK)
        rc = cli_request(x, "POST", path, &text, true, r);
    cf_secret_free(&text);
    return rc;
}

/* The document's text to --out (or stdout), with a note on stderr. */
static int write_doc(const struct cli_args *a, const char *text, size_t n, size_t objects)
{
    const char *out = cli_opt_get(a, "out");
    int rc;

    if (out == NULL) {
        if (fwrite(text, 1, n, stdout) != n || fputc('\n', stdout) == EOF) {
            cli_err("cannot write to stdout");
            return CLI_EXIT_FAIL;
        }
        return CLI_EXIT_OK;
    }
    if ((rc = cli_write_secret_file(out, text, n)) == CLI_EXIT_OK)
        fprintf(stderr, "wrote %zu object%s (%zu bytes) to %s\n", objects,
                objects == 1 ? "" : "s", n, out);
    return rc;
}

static int write_json_doc(const struct cli_args *a, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    int rc;

    if (text == NULL) {
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    rc = write_doc(a, text, strlen(text), json_array_size(json_object_get(doc, "objects")));
    cf_json_free(text);
    return rc;
}

/* ---------------------------------------------------------------- export */

int cli_run_export_key(cli_ctx *x, const struct cli_args *a)
{
    char *path = NULL;
    json_t *body = NULL;
    cli_resp r = {0};
    int rc;

    if ((rc = cli_build_path(a, NULL, NULL, &path)) == CLI_EXIT_OK &&
        (rc = cli_build_body(a, &body)) == CLI_EXIT_OK &&
        (rc = post(x, path, body, &r)) == CLI_EXIT_OK)
        rc = write_doc(a, (const char *)r.body.p, r.body.len, 1);
    cli_resp_free(&r);
    json_decref(body);
    free(path);
    return rc;
}

/* Fetch every page into doc (the first page's document, objects appended). */
static int export_pages(cli_ctx *x, const char *path, json_t *body, json_t **doc)
{
    json_int_t offset = 0, total = 0;
    cli_resp r = {0};
    int rc = CLI_EXIT_OK;

    *doc = NULL;
    do {
        json_t *objs;
        if (json_object_set_new(body, "limit", json_integer(EXPORT_PAGE)) ||
            json_object_set_new(body, "offset", json_integer(offset))) {
            rc = CLI_EXIT_FAIL;
            break;
        }
        if ((rc = post(x, path, body, &r)) != CLI_EXIT_OK)
            break;
        objs = json_object_get(r.doc, "objects");
        total = json_integer_value(json_object_get(r.doc, "total"));
        if (!json_is_array(objs)) {
            cli_err("the server's answer is not an export document");
            rc = CLI_EXIT_SERVER;
        } else if (*doc == NULL) {
            *doc = json_incref(r.doc);
        } else if (json_array_extend(json_object_get(*doc, "objects"), objs) != 0) {
            rc = CLI_EXIT_FAIL;
        }
        offset += (json_int_t)json_array_size(objs);
        if (rc == CLI_EXIT_OK && json_array_size(objs) == 0)
            break;
        cli_resp_free(&r);
    } while (rc == CLI_EXIT_OK && offset < total);
    cli_resp_free(&r);
    return rc;
}

int cli_run_export_tenant(cli_ctx *x, const struct cli_args *a)
{
    char *path = NULL;
    json_t *body = NULL, *doc = NULL;
    int rc;

    if ((rc = cli_build_path(a, NULL, NULL, &path)) == CLI_EXIT_OK &&
        (rc = cli_build_body(a, &body)) == CLI_EXIT_OK &&
        (rc = export_pages(x, path, body, &doc)) == CLI_EXIT_OK) {
        /* One document now: every object, from the first. */
        json_object_del(doc, "offset");
        json_object_set_new(doc, "total",
                            json_integer((json_int_t)json_array_size(json_object_get(doc,
                                                                                     "objects"))));
        rc = write_json_doc(a, doc);
    }
    json_decref(doc);
    json_decref(body);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- import */

static const char *str_or(const json_t *v, const char *dflt)
{
    const char *s = json_string_value(v);
    return s ? s : dflt;
}

struct import_acc {
    json_t *results;      /* every object's result, indexes of the whole document */
    size_t imported, failed;
    int rc;               /* the first failure's exit code */
};

/* POST one part (the objects [first, first + n) of doc) and collect. */
static int import_part(cli_ctx *x, const char *key, json_t *doc, json_t *objs, size_t first,
                       size_t n, struct import_acc *acc)
{
    json_t *part = json_copy(doc), *sub = json_array(), *body = NULL, *res;
    cli_resp r = {0};
    size_t i;
    int rc = CLI_EXIT_FAIL;

    for (i = 0; part && sub && i < n; i++)
        json_array_append(sub, json_array_get(objs, first + i));
    if (part && sub && json_object_set(part, "objects", sub) == 0)
        body = json_pack("{s:O,s:s}", "document", part, "unwrapping_key_id", key);
    if (body != NULL && (rc = post(x, "/v1/import", body, &r)) == CLI_EXIT_OK) {
        res = json_object_get(r.doc, "results");
        for (i = 0; i < json_array_size(res); i++) {
            json_t *e = json_array_get(res, i), *err = json_object_get(e, "error");
            json_object_set_new(e, "index", json_integer((json_int_t)(first + i)));
            if (err == NULL) {
                acc->imported++;
            } else {
                acc->failed++;
                fprintf(stderr, "object %zu (%s): %s: %s\n", first + i,
                        str_or(json_object_get(e, "uid"), "?"),
                        str_or(json_object_get(err, "code"), "?"),
                        str_or(json_object_get(err, "message"), ""));
                if (acc->rc == CLI_EXIT_OK)
                    acc->rc = cli_exit_for_http(json_integer_value(json_object_get(err,
                                                                                  "status")));
            }
            json_array_append(acc->results, e);
        }
    }
    cli_resp_free(&r);
    json_decref(body);
    json_decref(sub);
    json_decref(part);
    return rc;
}

/* Split doc's objects into parts of at most IMPORT_PART_MAX bytes. */
static int import_parts(cli_ctx *x, const char *key, json_t *doc, struct import_acc *acc)
{
    json_t *objs = json_incref(json_object_get(doc, "objects"));
    size_t head, first = 0, n = 0, size;
    int rc = CLI_EXIT_OK;

    json_object_del(doc, "objects");
    head = json_dumpb(doc, NULL, 0, JSON_COMPACT) + 64;
    size = head;
    for (size_t i = 0; i < json_array_size(objs) && rc == CLI_EXIT_OK; i++) {
        size_t one = json_dumpb(json_array_get(objs, i), NULL, 0, JSON_COMPACT) + 1;
        if (head + one > IMPORT_PART_MAX) {
            cli_err("object %zu is %zu bytes: more than one request may carry", i, one);
            rc = CLI_EXIT_INVALID;
        } else if (n > 0 && size + one > IMPORT_PART_MAX) {
            rc = import_part(x, key, doc, objs, first, n, acc);
            first = i;
            n = 0;
            size = head;
        }
        size += one;
        n++;
    }
    if (rc == CLI_EXIT_OK && n > 0)
        rc = import_part(x, key, doc, objs, first, n, acc);
    json_decref(objs);
    return rc;
}

int cli_run_import_doc(cli_ctx *x, const struct cli_args *a)
{
    const char *file = cli_opt_get(a, "file"), *key = cli_opt_get(a, "unwrapping-key");
    struct import_acc acc = {.results = json_array()};
    json_error_t err;
    json_t *doc = NULL;
    struct stat sb;
    int rc = CLI_EXIT_USAGE;

    if (file == NULL || key == NULL) {
        cli_err("import needs --file FILE (an export document) and --unwrapping-key ID");
        goto out;
    }
    rc = CLI_EXIT_FAIL;
    if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > IMPORT_FILE_MAX) {
        cli_err("%s: not a regular file of at most 1 GiB", file);
        goto out;
    }
    if ((doc = json_load_file(file, JSON_REJECT_DUPLICATES, &err)) == NULL ||
        !json_is_array(json_object_get(doc, "objects"))) {
        cli_err("%s: not an export document (%s)", file, doc ? "no objects" : err.text);
        goto out;
    }
    if (acc.results == NULL || (rc = import_parts(x, key, doc, &acc)) != CLI_EXIT_OK)
        goto out;
    if (x->json) {
        json_t *all = json_pack("{s:O,s:I,s:I}", "results", acc.results, "imported",
                                (json_int_t)acc.imported, "failed", (json_int_t)acc.failed);
        json_dumpf(all, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(all);
    } else {
        printf("imported %zu of %zu objects\n", acc.imported, acc.imported + acc.failed);
    }
    rc = acc.rc;
out:
    json_decref(acc.results);
    json_decref(doc);
    return rc;
}
