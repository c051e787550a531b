/*
 * client_env.c - the commands of envelope encryption, rotation and the
 * audit trail that need more than "build the body, send it, show the
 * answer" (their rows are in client_cmds.c's table, their options here,
 * next to the code that reads them):
 *
 *   key wrap|unwrap|rewrap   a DEK from a file, a wrapped DEK from a file
 *               (binary or base64); a plaintext DEK in the answer goes to
 *               a 0600 file, or to stdout only with --json or when stdout
 *               is not a terminal (as key material does), by write(2);
 *   key batch   the items from a JSON file; the answer is JSON;
 *   key|tenant rotation-policy   GET, PUT or DELETE by the options given;
 *   audit list  a table of records, paged by seq (--after-seq);
 *   audit export      every page of a slice merged into one document that
 *               `coffre audit verify --file` checks offline;
 *   audit public-key  the PEM, to keep apart from the trail.
 */
#include "cli/client.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define BODY(n, k, f, a, h) {n, k, CLI_IN_BODY, f, a, h, NULL}
#define QUERY(n, k, f, a, h) {n, k, CLI_IN_QUERY, f, a, h, NULL}
#define LOCAL(n, a, h) {n, a ? CLI_K_LOCAL : CLI_K_FLAG, CLI_IN_NONE, NULL, a, h, NULL}
#define END {NULL, 0, 0, NULL, NULL, NULL, NULL}

/* A batch file: 100 items of 4096-byte DEKs in base64 and their AAD. */
#define BATCH_FILE_MAX (4u * 1024u * 1024u)
/* Pages of an export followed at most: 10^4 records each. */
#define EXPORT_PAGES_MAX 10000

/* -------------------------------------------------------------- options */
static const struct cli_opt o_aad[] = {
    BODY("aad", CLI_K_MULTI, "aad", "S", "AAD: a string (repeatable: a list, order matters)"),
    BODY("aad-map", CLI_K_KV, "aad", "K=V", "AAD: an entry (repeatable: a map)"),
    END,
};
static const struct cli_opt o_wrap[] = {
    LOCAL("plaintext-file", "FILE", "the DEK to wrap (binary; default: a new 256-bit DEK)"),
    LOCAL("out", "FILE", "write the new DEK to FILE (created, 0600) instead of stdout"),
    END,
};
static const struct cli_opt o_ct[] = {
    BODY("ciphertext", CLI_K_STR, "ciphertext", "B64", "the wrapped DEK (base64)"),
    LOCAL("ciphertext-file", "FILE", "the wrapped DEK from FILE (binary or base64)"),
    END,
};
static const struct cli_opt o_unwrap[] = {
    LOCAL("out", "FILE", "write the DEK to FILE (created, 0600) instead of stdout"),
    END,
};
const struct cli_opt *const cli_l_wrap[] = {o_wrap, o_aad, NULL};
const struct cli_opt *const cli_l_unwrap[] = {o_ct, o_aad, o_unwrap, NULL};
const struct cli_opt *const cli_l_rewrap[] = {o_ct, o_aad, NULL};

static const struct cli_opt o_batch[] = {
    LOCAL("file", "FILE", "the items (JSON): {\"items\": [...]} or the list alone"),
    LOCAL("out", "FILE", "write the answer to FILE (created, 0600) instead of stdout"),
    END,
};
const struct cli_opt *const cli_l_batch[] = {o_batch, NULL};

static const struct cli_opt o_policy[] = {
    BODY("interval", CLI_K_STR, "interval", "D",
         "rotate every D: 14d, 12h, 2w, 3m (30 days), 1y, or seconds"),
    BODY("max-encryptions", CLI_K_INT, "max_encryptions", "N",
         "rotate once a version has wrapped N DEKs"),
    LOCAL("clear", NULL, "remove the policy (without options: show it)"),
    END,
};
const struct cli_opt *const cli_l_policy[] = {o_policy, NULL};

static const struct cli_opt o_rotation_run[] = {
    BODY("at", CLI_K_STR, "at", "TIME", "as of TIME (a server started with --test-clock)"),
    END,
};
const struct cli_opt *const cli_l_rotation_run[] = {o_rotation_run, NULL};

static const struct cli_opt o_audit_scope[] = {
    QUERY("tenant", CLI_K_STR, "tenant", "T", "the tenant's chain (operator; default: your own)"),
    QUERY("chain", CLI_K_STR, "chain", "C", "a chain by name (_operator: the operator's)"),
    QUERY("from", CLI_K_STR, "from", "TIME", "from this time (RFC 3339)"),
    QUERY("to", CLI_K_STR, "to", "TIME", "up to this time (RFC 3339)"),
    END,
};
static const struct cli_opt o_audit_list[] = {
    QUERY("object", CLI_K_STR, "object", "ID", "about this object"),
    QUERY("identity", CLI_K_STR, "identity", "ID", "by this identity"),
    QUERY("operation", CLI_K_STR, "operation", "OP", "this operation (createKey, Get, ...)"),
    QUERY("result", CLI_K_STR, "result", "R", "ok, or an error code (permission_denied, ...)"),
    QUERY("name", CLI_K_STR, "name", "NAME", "about objects of this name (by its HMAC)"),
    QUERY("aad", CLI_K_STR, "aad", "JSON", "envelope calls with this AAD (a JSON list or map)"),
    QUERY("limit", CLI_K_STR, "limit", "N", "at most N records (1..1000, default 100)"),
    QUERY("after-seq", CLI_K_STR, "after_seq", "SEQ", "after this seq (the next page)"),
    END,
};
const struct cli_opt *const cli_l_audit_list[] = {o_audit_scope, o_audit_list, NULL};

static const struct cli_opt o_audit_export[] = {
    LOCAL("out", "FILE", "the export (created, 0600; - stdout), for coffre audit verify"),
    QUERY("page", CLI_K_STR, "limit", "N", "records per request (default 10000; all are fetched)"),
    END,
};
const struct cli_opt *const cli_l_audit_export[] = {o_audit_scope, o_audit_export, NULL};

static const struct cli_opt o_audit_key[] = {
    LOCAL("out", "FILE", "write the PEM to FILE (created, never overwritten)"),
    END,
};
const struct cli_opt *const cli_l_audit_key[] = {o_audit_key, NULL};

const struct cli_col cli_c_versions[] = {
    {"VERSION", "version", NULL},         {"CREATED", "created", NULL},
    {"DESTROYED", "destroyed", NULL},     {"ENCRYPTIONS", "encryptions", NULL},
    {NULL, NULL, NULL},
};

/* -------------------------------------------------------------- helpers */
int cli_secret_stdout(const void *p, size_t n, bool newline)
{
    const char *b = p;
    ssize_t w;

    fflush(stdout);
    while (n > 0 && (w = write(STDOUT_FILENO, b, n)) > 0)
        b += w, n -= (size_t)w;
    if (n == 0 && newline && write(STDOUT_FILENO, "\n", 1) != 1)
        n = 1;
    if (n != 0) {
        cli_err("cannot write to stdout");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

int cli_b64_secret(const uint8_t *p, size_t n, cf_secret *out)
{
    size_t m = 4 * ((n + 2) / 3);

    memset(out, 0, sizeof *out);
    if (n > INT_MAX / 2 || cf_secret_alloc(out, m + 1) != CF_OK) {
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    EVP_EncodeBlock(out->p, p, (int)n); /* NUL-terminated */
    out->len = m;
    return CLI_EXIT_OK;
}

bool cli_unb64_secret(const char *s, size_t n, cf_secret *out)
{
    size_t pad;
    int len;

    memset(out, 0, sizeof *out);
    if (n == 0 || n % 4 != 0 || n > INT_MAX || cf_secret_alloc(out, n / 4 * 3 + 1) != CF_OK)
        return false;
    pad = (s[n - 1] == '=') + (s[n - 2] == '=');
    if ((len = EVP_DecodeBlock(out->p, (const unsigned char *)s, (int)n)) < 0 ||
        (size_t)len < pad) {
        cf_secret_free(out);
        return false;
    }
    out->len = (size_t)len - pad;
    return true;
}

static int send_json(cli_ctx *x, const char *method, const char *path, const json_t *body,
                     cli_resp *r)
{
    cf_secret text = {0};
    int rc = body ? cli_json_secret(body, &text) : CLI_EXIT_OK;

    memset(r, 0, sizeof *r);
    if (rc == CLI_EXIT_OK)
        rc = cli_request(x, method, path, body ? &text : NULL, true, r);
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

/* The answer will hold a plaintext DEK: not on a terminal unless asked. */
static bool secret_refused(const cli_ctx *x, const char *out)
{
    if (out != NULL || x->json || !isatty(STDOUT_FILENO))
        return false;
    cli_err("a plaintext DEK is not printed on a terminal: use --out FILE, or --json, or "
            "redirect stdout");
    return true;
}

static bool exists(const char *path)
{
    struct stat sb;
    if (strcmp(path, "-") == 0 || lstat(path, &sb) != 0)
        return false;
    cli_err("%s: exists (never overwritten: remove it first)", path);
    return true;
}

/* ------------------------------------------------ wrap, unwrap, rewrap */
/* A file's bytes as a base64 member of body. text_ok: a file that is not
 * a wrapped DEK (magic "CFW") is taken as base64 text. */
static int file_member(const char *path, const char *member, bool text_ok, json_t *body)
{
    cf_secret f = {0}, b64 = {0};
    size_t n;
    int rc = cli_read_file(path, CLI_MAX_FILE, &f, NULL);

    if (rc != CLI_EXIT_OK)
        return rc;
    if (text_ok && !(f.len >= 3 && memcmp(f.p, "CFW", 3) == 0)) {
        for (n = f.len; n > 0 && isspace(f.p[n - 1]); n--)
            ;
        if (json_object_set_new(body, member, json_stringn((const char *)f.p, n)) != 0) {
            cli_err("%s: neither a wrapped DEK nor base64 text", path);
            rc = CLI_EXIT_FAIL;
        }
    } else if ((rc = cli_b64_secret(f.p, f.len, &b64)) == CLI_EXIT_OK &&
               json_object_set_new(body, member, json_string((const char *)b64.p)) != 0) {
        rc = CLI_EXIT_FAIL;
    }
    cf_secret_free(&b64);
    cf_secret_free(&f);
    return rc;
}

/* On a person's view, "plaintext" last, aligned with the other fields and
 * written by write(2). */
static int fields_then_plaintext(json_t *doc, const char *pt)
{
    size_t w = 0, n = strlen(pt);
    const char *k;
    json_t *v;
    cf_secret line = {0};
    int rc = CLI_EXIT_FAIL;

    json_object_foreach(doc, k, v) {
        if (strcmp(k, "plaintext") != 0 && strlen(k) > w)
            w = strlen(k);
    }
    if (w < 9)
        w = 9;
    if (cf_secret_alloc(&line, w + 2 + n) == CF_OK) {
        memset(line.p, ' ', w + 2);
        memcpy(line.p, "plaintext", 9);
        memcpy(line.p + w + 2, pt, n);
        json_object_del(doc, "plaintext"); /* pt is gone from here on */
        cli_print_fields(stdout, doc);
        rc = cli_secret_stdout(line.p, line.len, true);
    }
    cf_secret_free(&line);
    return rc;
}

static int show_envelope(cli_ctx *x, const char *out, cli_resp *r)
{
    const char *pt = json_string_value(json_object_get(r->doc, "plaintext"));
    cf_secret bin = {0};
    int rc;

    if (pt == NULL) {
        show(x, r);
        return CLI_EXIT_OK;
    }
    if (out == NULL)
        return x->json ? cli_secret_stdout(r->body.p, r->body.len, true)
                       : fields_then_plaintext(r->doc, pt);
    if (!cli_unb64_secret(pt, strlen(pt), &bin)) {
        cli_err("the server's plaintext is not base64");
        return CLI_EXIT_SERVER;
    }
    rc = cli_write_secret_file(out, bin.p, bin.len);
    if (rc == CLI_EXIT_OK)
        fprintf(stderr, "wrote the %zu-byte DEK to %s\n", bin.len, out);
    cf_secret_free(&bin);
    json_object_del(r->doc, "plaintext");
    if (rc == CLI_EXIT_OK && x->json) {
        json_dumpf(r->doc, stdout, JSON_COMPACT);
        fputc('\n', stdout);
    } else if (rc == CLI_EXIT_OK)
        cli_print_fields(stdout, r->doc);
    return rc;
}

/* --ciphertext or --ciphertext-file (one of them), --plaintext-file, --out. */
static int envelope_body(const struct cli_args *a, bool wrap, json_t *body)
{
    const char *ctf = cli_opt_get(a, "ciphertext-file"), *ptf = cli_opt_get(a, "plaintext-file");

    if (!wrap && (ctf != NULL) == (cli_opt_get(a, "ciphertext") != NULL)) {
        cli_err("give --ciphertext B64 or --ciphertext-file FILE (--help tells more)");
        return CLI_EXIT_USAGE;
    }
    if (ctf)
        return file_member(ctf, "ciphertext", true, body);
    if (ptf)
        return file_member(ptf, "plaintext", false, body);
    return CLI_EXIT_OK;
}

int cli_run_envelope(cli_ctx *x, const struct cli_args *a)
{
    const char *verb = a->cmd->verb, *out = cli_opt_get(a, "out");
    bool wrap = strcmp(verb, "wrap") == 0;
    bool secret = strcmp(verb, "unwrap") == 0 || (wrap && !cli_opt_get(a, "plaintext-file"));
    char *path = NULL;
    json_t *body = NULL;
    cli_resp r = {0};
    int rc = CLI_EXIT_USAGE;

    if (out && !secret)
        cli_err("--out is for a new DEK: with --plaintext-file the answer holds none");
    else if (!(secret && secret_refused(x, out)) &&
             (rc = cli_build_path(a, NULL, NULL, &path)) == CLI_EXIT_OK &&
             (rc = cli_build_body(a, &body)) == CLI_EXIT_OK &&
             (rc = envelope_body(a, wrap, body)) == CLI_EXIT_OK &&
             (rc = send_json(x, "POST", path, body, &r)) == CLI_EXIT_OK)
        rc = show_envelope(x, out, &r);
    cli_resp_free(&r);
    json_decref(body);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- batch */
/* Some item's answer will hold a plaintext: an unwrap, a wrap without one. */
static bool batch_has_secret(json_t *items)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *op = json_string_value(json_object_get(it, "op"));
        if (op && (strcmp(op, "unwrap") == 0 ||
                   (strcmp(op, "wrap") == 0 && !json_object_get(it, "plaintext"))))
            return true;
    }
    return false;
}

static int batch_body(const char *file, json_t **out)
{
    cf_secret text = {0};
    json_error_t err;
    json_t *doc;
    int rc = cli_read_file(file, BATCH_FILE_MAX, &text, NULL);

    *out = NULL;
    if (rc != CLI_EXIT_OK)
        return rc;
    doc = json_loadb((const char *)text.p, text.len, JSON_REJECT_DUPLICATES, &err);
    cf_secret_free(&text);
    if (json_is_array(doc))
        *out = json_pack("{s:o}", "items", doc);
    else if (json_is_object(doc))
        *out = doc;
    else {
        cli_err("%s: not a JSON object or list (line %d: %s)", file, err.line, err.text);
        json_decref(doc);
        return CLI_EXIT_FAIL;
    }
    return *out ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static void batch_summary(json_t *doc)
{
    json_t *res = json_object_get(doc, "results"), *it;
    size_t i, failed = 0;
    json_array_foreach(res, i, it) {
        failed += json_object_get(it, "error") != NULL;
    }
    fprintf(stderr, "%zu items: %zu ok, %zu failed\n", json_array_size(res),
            json_array_size(res) - failed, failed);
}

int cli_run_batch(cli_ctx *x, const struct cli_args *a)
{
    const char *file = cli_opt_get(a, "file"), *out = cli_opt_get(a, "out");
    char *path = NULL;
    json_t *body = NULL;
    cli_resp r = {0};
    int rc = CLI_EXIT_USAGE;

    if (file == NULL) {
        cli_err("key batch needs --file ITEMS.json");
        return CLI_EXIT_USAGE;
    }
    if ((rc = batch_body(file, &body)) != CLI_EXIT_OK)
        goto out;
    if (batch_has_secret(json_object_get(body, "items")) && secret_refused(x, out)) {
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if ((rc = cli_build_path(a, NULL, NULL, &path)) != CLI_EXIT_OK ||
        (rc = send_json(x, "POST", path, body, &r)) != CLI_EXIT_OK)
        goto out;
    rc = out ? cli_write_secret_file(out, r.body.p, r.body.len)
             : cli_secret_stdout(r.body.p, r.body.len, r.body.len == 0 ||
                                                       r.body.p[r.body.len - 1] != '\n');
    batch_summary(r.doc);
out:
    cli_resp_free(&r);
    json_decref(body);
    free(path);
    return rc;
}

/* ------------------------------------------------------ rotation policy */
/* "--interval 3600": seconds, sent as a number (the server reads a
 * string as digits and a unit). */
static void interval_number(json_t *body)
{
    const char *s = json_string_value(json_object_get(body, "interval"));
    char *end;
    long long n;

    if (s == NULL || *s < '0' || *s > '9')
        return;
    n = strtoll(s, &end, 10);
    if (*end == '\0')
        json_object_set_new(body, "interval", json_integer(n));
}

int cli_run_policy(cli_ctx *x, const struct cli_args *a)
{
    bool clear = cli_opt_get(a, "clear") != NULL;
    bool set = cli_opt_get(a, "interval") || cli_opt_get(a, "max-encryptions");
    char *path = NULL;
    json_t *body = NULL;
    cli_resp r = {0};
    int rc = CLI_EXIT_USAGE;

    if (clear && set) {
        cli_err("--clear, or --interval / --max-encryptions: give one");
        return CLI_EXIT_USAGE;
    }
    if ((rc = cli_build_path(a, NULL, NULL, &path)) == CLI_EXIT_OK && set &&
        (rc = cli_build_body(a, &body)) == CLI_EXIT_OK)
        interval_number(body);
    if (rc == CLI_EXIT_OK &&
        (rc = send_json(x, clear ? "DELETE" : set ? "PUT" : "GET", path, body, &r)) ==
            CLI_EXIT_OK)
        show(x, &r);
    cli_resp_free(&r);
    json_decref(body);
    free(path);
    return rc;
}

/* ----------------------------------------------------------- audit list */
static const struct cli_col c_audit[] = {
    {"SEQ", "seq", NULL},       {"TIME", "time", NULL},          {"IDENTITY", "who", NULL},
    {"OPERATION", "operation", NULL}, {"OBJECT", "object", NULL}, {"RESULT", "result", NULL},
    {NULL, NULL, NULL},
};

/* One line per record: who is the identity's name, else its id, else its kind. */
static json_t *audit_rows(json_t *records)
{
    json_t *rows = json_array(), *rec, *id, *who;
    size_t i;

    json_array_foreach(records, i, rec) {
        id = json_object_get(rec, "identity");
        if ((who = json_object_get(id, "name")) == NULL && (who = json_object_get(id, "id")) == NULL)
            who = json_object_get(id, "kind");
        json_array_append_new(rows, json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?}", "seq",
                                              json_object_get(rec, "seq"), "time",
                                              json_object_get(rec, "time"), "who", who,
                                              "operation", json_object_get(rec, "operation"),
                                              "object",
                                              json_object_get(json_object_get(rec, "object"), "id"),
                                              "result", json_object_get(rec, "result")));
    }
    return rows;
}

int cli_run_audit_list(cli_ctx *x, const struct cli_args *a)
{
    char *path = NULL;
    json_t *rows, *next;
    cli_resp r = {0};
    int rc;

    if ((rc = cli_build_path(a, NULL, NULL, &path)) == CLI_EXIT_OK &&
        (rc = send_json(x, "GET", path, NULL, &r)) == CLI_EXIT_OK) {
        if (x->json) {
            cli_print_raw(stdout, &r);
        } else if ((rows = audit_rows(json_object_get(r.doc, "records"))) != NULL) {
            cli_print_table(stdout, rows, c_audit);
            json_decref(rows);
        }
        if (!x->json && (next = json_object_get(r.doc, "next_after_seq")) != NULL)
            fprintf(stderr, "(more records: --after-seq %" JSON_INTEGER_FORMAT ")\n",
                    json_integer_value(next));
    }
    cli_resp_free(&r);
    free(path);
    return rc;
}

/* --------------------------------------------------------- audit export */
/* The page's slice continues acc's: its records appended, acc's tail
 * checkpoint kept as an inner one, the page's tail checkpoint the tail. */
static int merge_page(json_t **acc, json_t *page)
{
    json_t *cps, *cp;

    if (!json_is_array(json_object_get(page, "records")) ||
        !json_is_array(json_object_get(page, "checkpoints")))
        goto fail;
    if (*acc == NULL) {
        *acc = json_incref(page);
        return CLI_EXIT_OK;
    }
    cps = json_object_get(*acc, "checkpoints");
    if (((cp = json_object_get(*acc, "checkpoint")) != NULL && json_array_append(cps, cp) != 0) ||
        json_array_extend(cps, json_object_get(page, "checkpoints")) != 0 ||
        json_array_extend(json_object_get(*acc, "records"), json_object_get(page, "records")) != 0)
        goto fail;
    if ((cp = json_object_get(page, "checkpoint")) != NULL &&
        (json_object_set(*acc, "checkpoint", cp) != 0 ||
         json_object_set(*acc, "last_seq", json_object_get(page, "last_seq")) != 0))
        goto fail;
    return CLI_EXIT_OK;
fail:
    cli_err("the server's answer is not an export, or its pages do not fit together");
    return CLI_EXIT_SERVER;
}

/* A later page starts right after the last record: --from is for the
 * first only (record times need not grow with seq: a hole would not
 * verify). */
static void drop_from(struct cli_args *b)
{
    unsigned k = 0;
    for (unsigned i = 0; i < b->nvals; i++)
        if (strcmp(b->vals[i].opt->name, "from") != 0)
            b->vals[k++] = b->vals[i];
    b->nvals = k;
}

static int export_pages(cli_ctx *x, const struct cli_args *a, json_t **out)
{
    struct cli_args b = *a;
    char extra[48] = "", *path = NULL;
    json_int_t after = 0;
    json_t *next;
    cli_resp r = {0};
    int rc = CLI_EXIT_OK;

    *out = NULL;
    for (int page = 0; rc == CLI_EXIT_OK && page < EXPORT_PAGES_MAX; page++) {
        if ((rc = cli_build_path(&b, NULL, extra, &path)) != CLI_EXIT_OK ||
            (rc = send_json(x, "GET", path, NULL, &r)) != CLI_EXIT_OK ||
            (rc = merge_page(out, r.doc)) != CLI_EXIT_OK)
            break;
        free(path);
        path = NULL;
        next = json_object_get(r.doc, "next_after_seq");
        if (next == NULL || json_integer_value(next) <= after)
            break;
        after = json_integer_value(next);
        snprintf(extra, sizeof extra, "after_seq=%" JSON_INTEGER_FORMAT, after);
        drop_from(&b);
        cli_resp_free(&r);
    }
    if (*out)
        json_object_del(*out, "next_after_seq");
    cli_resp_free(&r);
    free(path);
    return rc;
}

static int write_export(const char *out, json_t *doc)
{
    size_t n = json_dumpb(doc, NULL, 0, JSON_COMPACT);
    char *buf = n ? malloc(n + 1) : NULL;
    int rc = CLI_EXIT_FAIL;

    if (buf == NULL || json_dumpb(doc, buf, n, JSON_COMPACT) != n) {
        cli_err("out of memory");
    } else {
        buf[n] = '\n';
        if (strcmp(out, "-") != 0)
            rc = cli_write_secret_file(out, buf, n + 1);
        else
            rc = fwrite(buf, 1, n + 1, stdout) == n + 1 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
    free(buf);
    return rc;
}

int cli_run_audit_export(cli_ctx *x, const struct cli_args *a)
{
    const char *out = cli_opt_get(a, "out");
    json_t *doc = NULL;
    int rc;

    if (out == NULL) {
        cli_err("audit export needs --out FILE (- for stdout)");
        return CLI_EXIT_USAGE;
    }
    if (exists(out))
        return CLI_EXIT_FAIL;
    if ((rc = export_pages(x, a, &doc)) == CLI_EXIT_OK &&
        (rc = write_export(out, doc)) == CLI_EXIT_OK)
        fprintf(stderr, "%zu records of chain %s (seq %" JSON_INTEGER_FORMAT " to %"
                JSON_INTEGER_FORMAT ") written to %s: coffre audit verify --file it\n",
                json_array_size(json_object_get(doc, "records")),
                json_is_string(json_object_get(doc, "chain"))
                    ? json_string_value(json_object_get(doc, "chain")) : "?",
                json_integer_value(json_object_get(doc, "first_seq")),
                json_integer_value(json_object_get(doc, "last_seq")),
                strcmp(out, "-") ? out : "stdout");
    json_decref(doc);
    return rc;
}

/* ----------------------------------------------------- audit public-key */
int cli_run_audit_key(cli_ctx *x, const struct cli_args *a)
{
    const char *out = cli_opt_get(a, "out"), *pem, *kid;
    char *path = NULL;
    cli_resp r = {0};
    int rc = CLI_EXIT_FAIL;

    if (out && exists(out))
        return CLI_EXIT_FAIL;
    if ((rc = cli_build_path(a, NULL, NULL, &path)) != CLI_EXIT_OK ||
        (rc = send_json(x, "GET", path, NULL, &r)) != CLI_EXIT_OK)
        goto out;
    pem = json_string_value(json_object_get(r.doc, "public_key"));
    kid = json_string_value(json_object_get(r.doc, "key_id"));
    if (pem == NULL || kid == NULL) {
        cli_err("the answer holds no public key");
        rc = CLI_EXIT_SERVER;
    } else if (out) {
        if ((rc = cli_write_secret_file(out, pem, strlen(pem))) == CLI_EXIT_OK)
            fprintf(stderr, "wrote the audit public key (key id %s) to %s\n", kid, out);
    } else if (x->json) {
        cli_print_raw(stdout, &r);
    } else {
        fputs(pem, stdout);
        fprintf(stderr, "audit public key: key id %s\n", kid);
    }
out:
    cli_resp_free(&r);
    free(path);
    return rc;
}
