/*
 * client_args.c - the command line: `coffre [global options] <noun> [<verb>]
 * [ARG] [options]`, global options accepted anywhere, `--opt value` or
 * `--opt=value`, `--` ends the options.
 *
 * Options are data (struct cli_opt in the command table): each says where
 * its value goes (a body member, possibly nested: "restriction.actions";
 * a query parameter) and how it is converted (enum cli_kind), so the body
 * of every request is built by one function and a new REST field is one
 * table row. Only repeatable kinds (lists, k=v) may be given twice.
 */
#include "cli/client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { G_ADDR, G_TOKEN, G_TOKEN_FILE, G_CACERT, G_JSON, G_TIMEOUT };
static const struct {
    const char *name;
    bool has_arg;
} globals[] = {
    [G_ADDR] = {"addr", true},     [G_TOKEN] = {"token", true},
    [G_TOKEN_FILE] = {"token-file", true},                      [G_CACERT] = {"cacert", true},
    [G_JSON] = {"json", false},    [G_TIMEOUT] = {"timeout", true},
};

static int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_err(const char *fmt, ...)
{
    va_list ap;
    fputs("coffre: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (--help tells more)\n", stderr);
    return CLI_EXIT_USAGE;
}

static bool repeatable(const struct cli_opt *o)
{
    return o->kind == CLI_K_MULTI || o->kind == CLI_K_KV || o->kind == CLI_K_UNSET;
}

static bool has_arg(const struct cli_opt *o)
{
    return o->kind != CLI_K_CONST && o->kind != CLI_K_FLAG;
}

static const struct cli_opt *find_opt(const struct cli_cmd *cmd, const char *name, size_t n)
{
    for (const struct cli_opt *const *l = cmd ? cmd->opts : NULL; l && *l; l++)
        for (const struct cli_opt *o = *l; o->name; o++)
            if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
                return o;
    return NULL;
}

static int set_global(struct cli_args *a, int g, char *v)
{
    char *end;
    switch (g) {
    case G_ADDR: a->flags.addr = v; break;
    case G_TOKEN: a->flags.token_arg = v; break;
    case G_TOKEN_FILE: a->flags.token_file = v; break;
    case G_CACERT: a->flags.cacert = v; break;
    case G_JSON: a->flags.json = true; break;
    default:
        errno = 0;
        a->flags.timeout = strtol(v, &end, 10);
        if (errno || *end || a->flags.timeout < 1 || a->flags.timeout > 3600)
            return usage_err("--timeout %s: seconds, 1 to 3600", v);
    }
    return CLI_EXIT_OK;
}

/* Two options that write the same body member (--name and --no-name), or
 * a member and one inside it (--no-restriction, --restrict-key), clash;
 * --tag and --remove-tag edit the same object and do not. */
static bool clash(const struct cli_opt *a, const struct cli_opt *b)
{
    size_t na, nb;
    if (a == b || a->in != CLI_IN_BODY || b->in != CLI_IN_BODY)
        return false;
    if ((a->kind == CLI_K_KV || a->kind == CLI_K_UNSET) &&
        (b->kind == CLI_K_KV || b->kind == CLI_K_UNSET))
        return false;
    na = strlen(a->field);
    nb = strlen(b->field);
    if (na > nb)
        return clash(b, a);
    return strncmp(a->field, b->field, na) == 0 && (b->field[na] == '\0' || b->field[na] == '.');
}

/* One "--name[=value]" at argv[*i]; consumes the value's word if needed. */
static int parse_option(int argc, char **argv, int *i, struct cli_args *a)
{
    char *s = argv[*i] + 2, *eq = strchr(s, '='), *v = eq ? eq + 1 : NULL;
    size_t n = eq ? (size_t)(eq - s) : strlen(s);
    const struct cli_opt *o = find_opt(a->cmd, s, n);
    int g = -1;

    for (size_t k = 0; k < sizeof globals / sizeof globals[0]; k++)
        if (strlen(globals[k].name) == n && strncmp(globals[k].name, s, n) == 0)
            g = (int)k;
    if (g < 0 && o == NULL)
        return usage_err("unknown option %s%s", argv[*i], a->cmd ? "" : " before the command");
    if ((g >= 0 ? globals[g].has_arg : has_arg(o)) && v == NULL) {
        if (*i + 1 >= argc)
            return usage_err("option %s needs a value", argv[*i]);
        v = argv[++*i];
    } else if (!(g >= 0 ? globals[g].has_arg : has_arg(o)) && v != NULL)
        return usage_err("option --%s takes no value", g >= 0 ? globals[g].name : o->name);
    if (g >= 0)
        return set_global(a, g, v);
    if (!repeatable(o) && cli_opt_get(a, o->name) != NULL)
        return usage_err("option --%s is given twice", o->name);
    if (a->nvals == CLI_MAX_VALS)
        return usage_err("too many options");
    for (unsigned k = 0; k < a->nvals; k++)
        if (clash(a->vals[k].opt, o))
            return usage_err("--%s and --%s: give one", a->vals[k].opt->name, o->name);
    a->vals[a->nvals++] = (struct cli_val){o, v ? v : ""};
    return CLI_EXIT_OK;
}

/* -o FILE: --out FILE, for the commands that have --out (encrypt, decrypt, ...). */
static int parse_short_out(int argc, char **argv, int *i, struct cli_args *a)
{
    const struct cli_opt *o = find_opt(a->cmd, "out", 3);

    if (o == NULL)
        return usage_err("unknown option -o");
    if (*i + 1 >= argc)
        return usage_err("option -o needs a value");
    if (cli_opt_get(a, "out") != NULL)
        return usage_err("option --out is given twice");
    if (a->nvals == CLI_MAX_VALS)
        return usage_err("too many options");
    a->vals[a->nvals++] = (struct cli_val){o, argv[++*i]};
    return CLI_EXIT_OK;
}

static const struct cli_cmd *find_cmd(const struct cli_cmd *t, const char *noun, const char *verb)
{
    for (; t->noun; t++)
        if (strcmp(t->noun, noun) == 0 &&
            (verb ? t->verb && strcmp(t->verb, verb) == 0 : t->verb == NULL))
            return t;
    return NULL;
}

/* A word that is not an option: the noun, the verb, then the argument. */
static int parse_word(const struct cli_cmd *table, char *w, struct cli_args *a)
{
    if (a->noun == NULL) {
        a->noun = w;
        a->cmd = find_cmd(table, w, NULL);
        return CLI_EXIT_OK;
    }
    if (a->cmd == NULL && a->verb == NULL) {
        a->verb = w;
        a->cmd = find_cmd(table, a->noun, w);
        if (a->cmd == NULL && !a->help)
            return usage_err("unknown command \"%s %s\"%s", a->noun, w,
                             strncmp(w, "add-", 4) == 0 ? " (add-cert and add-key work on a "
                                                          "data directory: --data DIR)" : "");
        return CLI_EXIT_OK;
    }
    if (a->cmd && a->cmd->arg && a->pos == NULL) {
        a->pos = w;
        return CLI_EXIT_OK;
    }
    return usage_err("unexpected argument \"%s\"", w);
}

int cli_parse(int argc, char **argv, const struct cli_cmd *table, struct cli_args *a)
{
    bool words_only = false;
    int rc = CLI_EXIT_OK;

    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        char *s = argv[i];
        if (words_only || s[0] != '-' || s[1] == '\0')
            rc = parse_word(table, s, a);
        else if (strcmp(s, "--") == 0)
            words_only = true;
        else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)
            a->help = true;
        else if (strcmp(s, "-o") == 0)
            rc = parse_short_out(argc, argv, &i, a);
        else if (s[1] != '-')
            rc = usage_err("unknown option %s", s);
        else
            rc = parse_option(argc, argv, &i, a);
    }
    if (rc != CLI_EXIT_OK || a->help)
        return rc;
    if (a->noun == NULL)
        return usage_err("a command is needed");
    if (a->cmd == NULL)
        return usage_err("unknown command \"%s\"%s", a->noun, a->verb ? "" : " (a verb is needed)");
    if (a->cmd->arg && a->pos == NULL)
        return usage_err("%s is needed", a->cmd->arg);
    return CLI_EXIT_OK;
}

const char *cli_opt_get(const struct cli_args *a, const char *name)
{
    const char *v = NULL;
    for (unsigned i = 0; i < a->nvals; i++)
        if (strcmp(a->vals[i].opt->name, name) == 0)
            v = a->vals[i].v;
    return v;
}

/* ---------------------------------------------------------------- body */
/* The object that holds member `field` ("a.b": a's object, created). */
static json_t *parent_of(json_t *body, const char *field, const char **leaf)
{
    const char *dot = strchr(field, '.');
    char head[64];
    json_t *p;

    if (dot == NULL) {
        *leaf = field;
        return body;
    }
    snprintf(head, sizeof head, "%.*s", (int)(dot - field), field);
    p = json_object_get(body, head);
    if (p == NULL && json_object_set_new(body, head, p = json_object()) != 0)
        return NULL;
    return parent_of(p, dot + 1, leaf); /* NULL when head is not an object */
}

static json_t *word(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    char *p = j ? (char *)json_string_value(j) : NULL;
    for (size_t i = 0; p && i < n; i++)
        if (p[i] == '-')
            p[i] = '_';
    return j;
}

static json_t *list_value(const char *v)
{
    json_t *arr = json_array();
    const char *p = v;
    size_t n;

    while (arr && *p) {
        n = strcspn(p, ",");
        if (n == 0 || json_array_append_new(arr, word(p, n)) != 0) {
            json_decref(arr);
            return NULL;
        }
        p += n + (p[n] == ',');
    }
    return arr;
}

static json_t *int_value(const char *v)
{
    char *end;
    long long n;
    errno = 0;
    n = strtoll(v, &end, 10);
    return (errno || *v == '\0' || *end) ? NULL : json_integer(n);
}

static json_t *file_value(const char *path)
{
    cf_secret text = {0};
    json_t *j = NULL;
    if (cli_read_file(path, CLI_MAX_FILE, &text, NULL) == CLI_EXIT_OK)
        j = json_stringn((const char *)text.p, text.len);
    cf_secret_free(&text);
    return j;
}

/* The JSON value of a scalar kind; NULL: the value is not acceptable. */
static json_t *scalar(const struct cli_val *val)
{
    const char *v = val->v;
    switch (val->opt->kind) {
    case CLI_K_STR: return json_string(v);
    case CLI_K_WORD: return word(v, strlen(v));
    case CLI_K_INT: return int_value(v);
    case CLI_K_LIST: return list_value(v);
    case CLI_K_TEXTFILE: return file_value(v);
    case CLI_K_CONST: return json_loads(val->opt->lit, JSON_DECODE_ANY, NULL);
    case CLI_K_TIME: return strcmp(v, "never") == 0 ? json_null() : json_string(v);
    default: return json_string(v);
    }
}

/* --tag k=v, --remove-tag k, --alias a: members of an object or array. */
static int add_member(json_t *p, const char *leaf, const struct cli_val *val)
{
    const struct cli_opt *o = val->opt;
    const char *eq = strchr(val->v, '=');
    json_t *m = json_object_get(p, leaf);
    int r;

    if (o->kind == CLI_K_KV && (eq == NULL || eq == val->v))
        return usage_err("--%s %s: expected KEY=VALUE", o->name, val->v);
    if (m == NULL && json_object_set_new(p, leaf, m = o->kind == CLI_K_MULTI ? json_array()
                                                                            : json_object()))
        return CLI_EXIT_FAIL;
    if (o->kind == CLI_K_MULTI ? !json_is_array(m) : !json_is_object(m))
        return usage_err("--%s conflicts with another option", o->name);
    if (o->kind == CLI_K_MULTI)
        r = json_array_append_new(m, json_string(val->v));
    else if (o->kind == CLI_K_KV)
        r = json_object_setn_new(m, val->v, (size_t)(eq - val->v), json_string(eq + 1));
    else
        r = json_object_set_new(m, val->v, json_null());
    return r ? usage_err("--%s %s: not UTF-8 text", o->name, val->v) : CLI_EXIT_OK;
}

static int add_value(json_t *body, const struct cli_val *val)
{
    const struct cli_opt *o = val->opt;
    const char *leaf;
    json_t *p = parent_of(body, o->field, &leaf), *m;

    if (o->kind == CLI_K_KV || o->kind == CLI_K_UNSET || o->kind == CLI_K_MULTI) {
        if (json_is_object(p))
            return add_member(p, leaf, val);
    }
    /* Only another option sets a member twice (--enable --disable, --name --no-name). */
    if (!json_is_object(p) || json_object_get(p, leaf) != NULL)
        return usage_err("--%s conflicts with another option", o->name);
    if ((m = scalar(val)) == NULL)
        return o->kind == CLI_K_TEXTFILE
                   ? CLI_EXIT_FAIL
                   : usage_err("--%s: \"%s\" is not acceptable", o->name, val->v);
    return json_object_set_new(p, leaf, m) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_build_body(const struct cli_args *a, json_t **out)
{
    json_t *body = json_object();
    int rc = body ? CLI_EXIT_OK : CLI_EXIT_FAIL;

    for (unsigned i = 0; i < a->nvals && rc == CLI_EXIT_OK; i++)
        if (a->vals[i].opt->in == CLI_IN_BODY)
            rc = add_value(body, &a->vals[i]);
    if (rc == CLI_EXIT_OK && a->cmd->arg_field &&
        json_object_set_new(body, a->cmd->arg_field, json_string(a->pos)) != 0)
        rc = usage_err("%s \"%s\": not UTF-8 text", a->cmd->arg, a->pos);
    if (rc != CLI_EXIT_OK) {
        json_decref(body);
        body = NULL;
    }
    *out = body;
    return rc;
}

/* ---------------------------------------------------------------- path */
static bool add_escaped(cf_buf *b, const char *s)
{
    char *e = cli_escape(s);
    bool ok = e && cf_buf_append(b, e, strlen(e));
    free(e);
    return ok;
}

static bool add_query(cf_buf *b, const struct cli_val *val, bool *first)
{
    const struct cli_opt *o = val->opt;
    const char *eq = strchr(val->v, '=');
    char *kv;
    bool ok = cf_buf_append(b, *first ? "?" : "&", 1) &&
              cf_buf_append(b, o->field, strlen(o->field)) && cf_buf_append(b, "=", 1);

    *first = false;
    if ((kv = strdup(val->v)) == NULL)
        return false;
    for (char *p = kv; o->kind == CLI_K_WORD && *p; p++)
        if (*p == '-')
            *p = '_';
    if (o->kind == CLI_K_KV && eq)
        kv[eq - val->v] = ':'; /* tag=k:v, the REST form of a tag filter */
    ok = ok && add_escaped(b, kv);
    free(kv);
    return ok;
}

int cli_build_path(const struct cli_args *a, const char *tenant, const char *extra, char **out)
{
    const char *p = a->cmd->path;
    bool first = true, ok = true;
    cf_buf b;

    cf_buf_init(&b, 64 * 1024);
    while (*p && ok) {
        if (strncmp(p, "{t}", 3) == 0)
            ok = add_escaped(&b, tenant ? tenant : ""), p += 3;
        else if (strncmp(p, "{id}", 4) == 0)
            ok = add_escaped(&b, a->pos ? a->pos : ""), p += 4;
        else
            ok = cf_buf_append(&b, p++, 1);
    }
    for (unsigned i = 0; i < a->nvals && ok; i++)
        if (a->vals[i].opt->in == CLI_IN_QUERY)
            ok = add_query(&b, &a->vals[i], &first);
    if (ok && extra && *extra)
        ok = cf_buf_append(&b, first ? "?" : "&", 1) && cf_buf_append(&b, extra, strlen(extra));
    ok = ok && cf_buf_append(&b, "", 1);
    *out = ok ? strdup((const char *)b.p) : NULL;
    cf_buf_free(&b);
    if (*out == NULL)
        cli_err("out of memory");
    return *out ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
