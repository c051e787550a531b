/*
 * fuzz_http.c - libFuzzer target for the HTTP front of the REST API: the
 * header check of net_https.c (control characters), the router of rest.c
 * (path matching, "{}" captures, 404 / 405 with Allow), Bearer parsing
 * (rest_auth.c), query strings (rest_query, paging, filters) and whatever
 * route the request reaches, on an in-memory store (fuzz_rest.h).
 *
 * Input: an HTTP/1.1 request as text, "METHOD SP target SP version", then
 * "Name: value" lines, an empty line and the body (CRLF or LF line ends,
 * as evhttp accepts). What evhttp itself refuses before our code runs (a
 * request line without three parts, an unknown method, a URI that
 * evhttp_uri_parse refuses, a header line without a colon) is skipped:
 * evhttp answers those (test_rest.py covers its answers). "$KEY", "$ROOT",
 * "$PAIR", "$IDENT", "$TENANT" in the target and "$T0".."$T4" (operator,
 * Manager, Writer, Reader, unknown) in header values stand for the state's
 * ids and tokens.
 *
 * Property: fuzz_rest.h's: one JSON answer, errors well-formed, never 500.
 * RSA key generation is skipped (fuzz_makes_rsa: too slow to fuzz).
 */
#include "fuzz_rest.h"

#include "net/net_int.h"

static bool method_of(const char *s, size_t n, enum evhttp_cmd_type *out)
{
    static const struct { const char *name; enum evhttp_cmd_type m; } ms[] = {
        {"GET", EVHTTP_REQ_GET},     {"POST", EVHTTP_REQ_POST},   {"PUT", EVHTTP_REQ_PUT},
        {"PATCH", EVHTTP_REQ_PATCH}, {"DELETE", EVHTTP_REQ_DELETE},
    };
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        if (strlen(ms[i].name) == n && memcmp(ms[i].name, s, n) == 0) {
            *out = ms[i].m;
            return true;
        }
    return false; /* evhttp answers 501 (or 400) itself */
}

/* The next line of p[*at..end) without its CRLF/LF; false at the end. */
static bool next_line(const char *p, size_t end, size_t *at, size_t *out_off, size_t *out_len)
{
    const char *nl;
    size_t n;

    if (*at >= end)
        return false;
    nl = memchr(p + *at, '\n', end - *at);
    if (nl == NULL)
        return false; /* an unterminated head: evhttp waits for more */
    n = (size_t)(nl - (p + *at));
    *out_off = *at;
    *out_len = n > 0 && p[*at + n - 1] == '\r' ? n - 1 : n;
    *at += n + 1;
    return true;
}

/* "Name: value" into the request (value expanded, surrounding blanks
 * trimmed as evhttp does); false for what evhttp refuses. */
static bool add_header(struct evhttp_request *req, const char *line, size_t n)
{
    static char name[4096], value[8192];
    const char *colon = memchr(line, ':', n);
    size_t nl, vs, ve, vl;

    if (colon == NULL || colon == line || memchr(line, '\0', n) != NULL)
        return false;
    nl = (size_t)(colon - line);
    if (nl >= sizeof name)
        return false;
    memcpy(name, line, nl);
    name[nl] = '\0';
    for (vs = nl + 1; vs < n && (line[vs] == ' ' || line[vs] == '\t'); vs++)
        ;
    for (ve = n; ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'); ve--)
        ;
    if (!fuzz_expand(line + vs, ve - vs, value, sizeof value, &vl))
        return false;
    return evhttp_add_header(req->input_headers, name, value) == 0;
}

/* Request line into method and (expanded) target; false: evhttp refuses. */
static bool request_line(const char *line, size_t n, enum evhttp_cmd_type *m, char *target,
                         size_t cap)
{
    const char *sp1 = memchr(line, ' ', n), *sp2;
    size_t tl;

    if (sp1 == NULL || memchr(line, '\0', n) != NULL || !method_of(line, (size_t)(sp1 - line), m))
        return false;
    sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line));
    if (sp2 == NULL || memchr(sp2 + 1, ' ', n - (size_t)(sp2 + 1 - line)) != NULL ||
        (size_t)(line + n - (sp2 + 1)) < 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return false;
    return fuzz_expand(sp1 + 1, (size_t)(sp2 - sp1 - 1), target, cap, &tl) && tl > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char target[8192];
    const char *p = (const char *)data;
    struct evhttp_request *req;
    enum evhttp_cmd_type m;
    size_t at = 0, off, len;

    if (size > 64 * 1024)
        return 0;
    fuzz_rest_init();
    if (!next_line(p, size, &at, &off, &len) || !request_line(p + off, len, &m, target, sizeof target))
        return 0;
    if ((req = fuzz_request_new(m, target)) == NULL)
        return 0; /* evhttp answers 400 */
    for (;;) {
        if (!next_line(p, size, &at, &off, &len) || (len > 0 && !add_header(req, p + off, len))) {
            evhttp_request_free(req);
            return 0;
        }
        if (len == 0)
            break;
    }
    if (!net_https_headers_clean(req)) { /* https_gencb answers 400 before routing */
        evhttp_request_free(req);
        return 0;
    }
    if (fuzz_makes_rsa(target, p + at, size - at)) {
        evhttp_request_free(req);
        return 0;
    }
    evbuffer_add(req->input_buffer, p + at, size - at);
    fuzz_rest_run(req);
    return 0;
}
