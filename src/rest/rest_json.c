/*
 * rest_json.c - strict request bodies and query strings.
 *
 * A body is read only when its Content-Type says JSON and its length is
 * within CF_LIMIT_REST_BODY, then parsed by jansson with duplicate keys
 * refused (RFC 8259 section 4 leaves them undefined: we refuse the
 * ambiguity) and the end-of-input check on (no trailing bytes); jansson
 * refuses invalid UTF-8 and NUL in strings by itself. Unknown fields are
 * refused by name, so a misspelt option never silently means "default".
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "rest/rest_int.h"
#include "util/limits.h"

static bool content_type_json(struct evhttp_request *req)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    static const char want[] = "application/json";
    size_t n = sizeof want - 1;
    if (ct == NULL || strncasecmp(ct, want, n) != 0)
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static bool field_known(const char *const *fields, const char *key)
{
    for (size_t i = 0; fields[i]; i++)
        if (strcmp(fields[i], key) == 0)
            return true;
    return false;
}

static bool body_fields(rest_call *c, json_t *doc, const char *const *fields)
{
    const char *key;
    json_t *v;
    char msg[160];

    if (!json_is_object(doc)) {
        rest_reply_error(c->req, 400, "invalid_message", "the body must be a JSON object");
        return false;
    }
    json_object_foreach(doc, key, v) {
        if (!field_known(fields, key)) {
            snprintf(msg, sizeof msg, "unknown field \"%.64s\"", key);
            rest_reply_error(c->req, 400, "invalid_field", msg);
            return false;
        }
    }
    return true;
}

bool rest_body(rest_call *c, const char *const *fields, bool optional, json_t **out)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    size_t len = in ? evbuffer_get_length(in) : 0;
    json_error_t err;
    json_t *doc;
    char *buf;
    char msg[256];

    *out = NULL;
    if (len == 0 && optional)
        return true;
    if (!content_type_json(c->req)) {
        rest_reply_error(c->req, 415, "unsupported_media_type",
                         "the body must be Content-Type: application/json");
        return false;
    }
    if (len > CF_LIMIT_REST_BODY) {
        rest_reply_error(c->req, 413, "limit_exceeded", "the body is too large");
        return false;
    }
    if ((buf = cf_arena_alloc(c->env->arena, len + 1)) == NULL) {
        rest_reply_status(c, CF_ERR_NOMEM);
        return false;
    }
    if (evbuffer_copyout(in, buf, len) != (ev_ssize_t)len) {
        rest_reply_status(c, CF_ERR_INTERNAL);
        return false;
    }
    doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL) {
        snprintf(msg, sizeof msg, "invalid JSON: %.120s at line %d column %d (byte %d)", err.text,
                 err.line, err.column, err.position);
        rest_reply_error(c->req, 400, "invalid_message", msg);
        return false;
    }
    if (!body_fields(c, doc, fields)) {
        json_decref(doc);
        return false;
    }
    *out = doc;
    return true;
}

static bool wrong(rest_call *c, const char *key, const char *what)
{
    char msg[160];
    snprintf(msg, sizeof msg, "field \"%s\" must be %s", key, what);
    rest_reply_error(c->req, 400, "invalid_field", msg);
    return false;
}

static json_t *field(rest_call *c, json_t *o, const char *key, bool required, bool *ok)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    char msg[160];
    *ok = true;
    if (v == NULL && required) {
        snprintf(msg, sizeof msg, "field \"%s\" is required", key);
        rest_reply_error(c->req, 400, "missing_data", msg);
        *ok = false;
    }
    return v;
}

bool rest_get_string(rest_call *c, json_t *o, const char *key, bool required, const char **out)
{
    bool ok;
    json_t *v = field(c, o, key, required, &ok);
    if (v == NULL)
        return ok;
    if (!json_is_string(v))
        return wrong(c, key, "a string");
    *out = json_string_value(v);
    return true;
}

bool rest_get_int(rest_call *c, json_t *o, const char *key, bool required, json_int_t *out)
{
    bool ok;
    json_t *v = field(c, o, key, required, &ok);
    if (v == NULL)
        return ok;
    if (!json_is_integer(v))
        return wrong(c, key, "an integer");
    *out = json_integer_value(v);
    return true;
}

bool rest_get_bool(rest_call *c, json_t *o, const char *key, bool *out)
{
    bool ok;
    json_t *v = field(c, o, key, false, &ok);
    if (v == NULL)
        return ok;
    if (!json_is_boolean(v))
        return wrong(c, key, "a boolean");
    *out = json_is_true(v);
    return true;
}

bool rest_get_array(rest_call *c, json_t *o, const char *key, json_t **out)
{
    bool ok;
    json_t *v = field(c, o, key, false, &ok);
    if (v == NULL)
        return ok;
    if (!json_is_array(v))
        return wrong(c, key, "an array");
    *out = v;
    return true;
}

static bool query_one(rest_call *c, const char *const *names, const char **vals,
                      const struct evkeyval *kv)
{
    char msg[160];
    for (size_t i = 0; names[i]; i++) {
        if (strcmp(names[i], kv->key) != 0)
            continue;
        if (vals[i] != NULL) {
            snprintf(msg, sizeof msg, "query parameter \"%.64s\" given twice", kv->key);
            rest_reply_error(c->req, 400, "invalid_field", msg);
            return false;
        }
        vals[i] = cf_arena_strndup(c->env->arena, kv->value, strlen(kv->value));
        if (vals[i] == NULL) {
            rest_reply_status(c, CF_ERR_NOMEM);
            return false;
        }
        return true;
    }
    snprintf(msg, sizeof msg, "unknown query parameter \"%.64s\"", kv->key);
    rest_reply_error(c->req, 400, "invalid_field", msg);
    return false;
}

bool rest_query(rest_call *c, const char *const *names, const char **out_values)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(c->req);
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq kvs;
    struct evkeyval *kv;
    bool ok = true;

    for (size_t i = 0; names[i]; i++)
        out_values[i] = NULL;
    if (q == NULL || q[0] == '\0')
        return true;
    TAILQ_INIT(&kvs);
    if (evhttp_parse_query_str(q, &kvs) != 0) {
        evhttp_clear_headers(&kvs);
        rest_reply_error(c->req, 400, "invalid_message", "malformed query string");
        return false;
    }
    TAILQ_FOREACH(kv, &kvs, next) {
        if (!(ok = query_one(c, names, out_values, kv)))
            break;
    }
    evhttp_clear_headers(&kvs);
    return ok;
}

const char *rest_time(cf_arena *a, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[32];
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return NULL;
    return cf_arena_strndup(a, buf, strlen(buf));
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n decimal digits at s into *out. */
static bool digits(const char *s, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool rest_parse_time(const char *s, int64_t *out)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t y, mo, d, h, mi, sec;
    const char *p;

    /* "YYYY-MM-DDTHH:MM:SS": 19 bytes, separators at fixed places. */
    if (s == NULL || strnlen(s, 20) < 19 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
        !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
        return false;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
        sec > 59)
        return false;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return false;
    p = s + 19;
    if (*p == '.') { /* time-secfrac = "." 1*DIGIT (at most nanoseconds here) */
        int n = 0;
        while (p[1 + n] >= '0' && p[1 + n] <= '9' && n < 10)
            n++;
        if (n == 0 || n > 9)
            return false;
        p += 1 + n;
    }
    if (!((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') && strcmp(p, "+00:00") != 0)
        return false;
    *out = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
    return true;
}

bool rest_parse_count(rest_call *c, const char *s, const char *what, int64_t min, int64_t max,
                      int64_t *out)
{
    int64_t v = 0;
    size_t i;
    char msg[128];

    if (s == NULL)
        return true;
    for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 8; i++)
        v = v * 10 + (s[i] - '0');
    if (i == 0 || s[i] != '\0' || v < min || v > max) {
        snprintf(msg, sizeof msg, "query parameter \"%s\" must be an integer %lld..%lld", what,
                 (long long)min, (long long)max);
        rest_reply_error(c->req, 400, "invalid_field", msg);
        return false;
    }
    *out = v;
    return true;
}

/* ------------------------------------------------------------- durations */
bool rest_parse_duration(const char *s, int64_t *out)
{
    static const struct { char unit; int64_t seconds; } units[] = {
        {'s', 1}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}, {'m', 30 * 86400},
        {'y', 365 * 86400},
    };
    int64_t n = 0;
    size_t digits = 0;

    for (; s[digits] >= '0' && s[digits] <= '9'; digits++) {
        if (digits == 9) /* 10^9 units: beyond any interval allowed, and no overflow */
            return false;
        n = n * 10 + (s[digits] - '0');
    }
    if (digits == 0 || s[digits] == '\0' || s[digits + 1] != '\0')
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (s[digits] == units[i].unit) {
            *out = n * units[i].seconds;
            return true;
        }
    return false;
}

/* --------------------------------------------------------------- base64 */
static int b64_val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

bool rest_b64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len, size_t *bad)
{
    size_t pad, o = 0, where = n;
    uint32_t acc = 0;
    bool ok = false;

    if (n == 0 || n % 4 != 0)
        goto out;
    pad = (s[n - 1] == '=') + (s[n - 1] == '=' && s[n - 2] == '=');
    for (size_t i = 0; i < n; i++) {
        int v = i >= n - pad ? 0 : b64_val((unsigned char)s[i]);
        if (v < 0) {
            where = i;
            goto out;
        }
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
        }
    }
    if ((pad == 1 && (acc & 0xff)) || (pad == 2 && (acc & 0xffff))) {
        where = n - pad - 1; /* bits beyond the data: not canonical */
        goto out;
    }
    *out_len = o - pad;
    ok = true;
out:
    cf_cleanse(&acc, sizeof acc); /* may hold key bits */
    if (bad)
        *bad = where;
    return ok;
}
