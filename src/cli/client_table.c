/*
 * client_table.c - what a person reads: a list answer as an aligned table
 * (a header line, one row per item, `-` where a member is absent), one
 * object as aligned "field  value" lines (nested objects as dotted names:
 * tags.env, restriction.actions).
 *
 * The server's strings are shown with control characters replaced by '?':
 * a key's name must not be able to drive the terminal. Widths count UTF-8
 * characters, not bytes. --json bypasses all of this (cli_print_raw).
 */
#include "cli/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool text_add(cf_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char ch = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        if (!cf_buf_append(b, &ch, 1))
            return false;
    }
    return true;
}

static bool value_add(cf_buf *b, json_t *v);

static bool list_add(cf_buf *b, json_t *v)
{
    size_t i;
    json_t *e;
    const char *k;

    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            if ((i > 0 && !text_add(b, ", ", 2)) || !value_add(b, e))
                return false;
        }
        return true;
    }
    i = 0;
    json_object_foreach(v, k, e) {
        if ((i++ > 0 && !text_add(b, ", ", 2)) || !text_add(b, k, strlen(k)) ||
            !text_add(b, "=", 1) || !value_add(b, e))
            return false;
    }
    return true;
}

static bool value_add(cf_buf *b, json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_STRING: return text_add(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return text_add(b, num, strlen(num));
    case JSON_REAL:
        snprintf(num, sizeof num, "%g", json_real_value(v));
        return text_add(b, num, strlen(num));
    case JSON_TRUE: return text_add(b, "true", 4);
    case JSON_FALSE: return text_add(b, "false", 5);
    case JSON_ARRAY:
    case JSON_OBJECT: return list_add(b, v);
    default: return text_add(b, "-", 1);
    }
}

static char *buf_string(cf_buf *b)
{
    char *s = b->failed ? NULL : malloc(b->len + 1);
    if (s) {
        memcpy(s, b->p, b->len);
        s[b->len] = '\0';
    }
    cf_buf_free(b);
    return s;
}

char *cli_value_text(json_t *v)
{
    cf_buf b;

    cf_buf_init(&b, 1u << 20);
    if (v == NULL || json_is_null(v) || ((json_is_array(v) || json_is_object(v)) &&
                                         json_array_size(v) + json_object_size(v) == 0))
        text_add(&b, "-", 1);
    else
        value_add(&b, v);
    return buf_string(&b);
}

static char *text_dup(const char *s)
{
    cf_buf b;
    cf_buf_init(&b, 1u << 20);
    text_add(&b, s, strlen(s));
    return buf_string(&b);
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void pad(FILE *f, size_t n)
{
    while (n-- > 0)
        fputc(' ', f);
}

static json_t *cell(json_t *item, const struct cli_col *c)
{
    json_t *v = json_object_get(item, c->field);
    if ((v == NULL || json_is_null(v)) && c->alt)
        v = json_object_get(item, c->alt);
    return v;
}

void cli_print_table(FILE *f, json_t *items, const struct cli_col *cols)
{
    size_t nc = 0, nr = json_array_size(items) + 1, w[16] = {0};
    char **cells;

    while (cols[nc].header && nc < 16)
        nc++;
    if ((cells = calloc(nr * nc, sizeof *cells)) == NULL) {
        cli_err("out of memory");
        return;
    }
    for (size_t c = 0; c < nc; c++)
        cells[c] = strdup(cols[c].header);
    for (size_t r = 1; r < nr; r++)
        for (size_t c = 0; c < nc; c++)
            cells[r * nc + c] = cli_value_text(cell(json_array_get(items, r - 1), &cols[c]));
    for (size_t i = 0; i < nr * nc; i++)
        if (cells[i] && width(cells[i]) > w[i % nc])
            w[i % nc] = width(cells[i]);
    for (size_t r = 0; r < nr; r++) {
        for (size_t c = 0; c < nc; c++) {
            const char *s = cells[r * nc + c] ? cells[r * nc + c] : "?";
            fputs(s, f);
            if (c + 1 < nc)
                pad(f, w[c] - width(s) + 2);
        }
        fputc('\n', f);
    }
    for (size_t i = 0; i < nr * nc; i++)
        free(cells[i]);
    free(cells);
}

struct field_rows {
    char *name[128], *text[128];
    size_t n;
};

static void collect(struct field_rows *rows, const char *prefix, json_t *obj)
{
    const char *k;
    json_t *v;
    char name[256];

    json_object_foreach(obj, k, v) {
        snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", k);
        if (json_is_object(v) && json_object_size(v) > 0) {
            collect(rows, name, v);
            continue;
        }
        if (rows->n == sizeof rows->name / sizeof rows->name[0])
            return;
        rows->name[rows->n] = text_dup(name);
        rows->text[rows->n++] = cli_value_text(v);
    }
}

void cli_print_fields(FILE *f, json_t *obj)
{
    struct field_rows rows = {.n = 0};
    size_t w = 0;

    collect(&rows, "", obj);
    for (size_t i = 0; i < rows.n; i++)
        if (rows.name[i] && width(rows.name[i]) > w)
            w = width(rows.name[i]);
    for (size_t i = 0; i < rows.n; i++) {
        const char *n = rows.name[i] ? rows.name[i] : "?";
        fputs(n, f);
        pad(f, w - width(n) + 2);
        fprintf(f, "%s\n", rows.text[i] ? rows.text[i] : "?");
        free(rows.name[i]);
        free(rows.text[i]);
    }
}

void cli_print_raw(FILE *f, const cli_resp *r)
{
    fwrite(r->body.p, 1, r->body.len, f);
    if (r->body.len == 0 || r->body.p[r->body.len - 1] != '\n')
        fputc('\n', f);
}
