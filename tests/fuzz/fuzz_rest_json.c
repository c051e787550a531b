/*
 * fuzz_rest_json.c - libFuzzer target for the REST request bodies: the
 * strict JSON reader (rest_body: media type, size, UTF-8, duplicate keys,
 * trailing bytes, unknown fields), the typed field readers and every
 * route's own body parser (algorithms, lengths, tags, restrictions, times,
 * base64 material, envelope items...), down to core on an in-memory store
 * (fuzz_rest.h).
 *
 * Input: byte 0 picks the route (a table of every route that takes a
 * body), byte 1 the caller (operator, Manager, Writer, Reader, unknown
 * token) and the Content-Type variant; the rest is the body, in which
 * "$KEY", "$ROOT", "$PAIR", "$IDENT", "$WRAPPED" stand for the ids (and a
 * wrapped DEK) of the harness's state, so mutations reach the checks that
 * need a real object.
 *
 * Property: fuzz_rest.h's: one JSON answer, errors well-formed, never 500.
 * RSA key generation is skipped (fuzz_makes_rsa: too slow to fuzz).
 */
#include "fuzz_rest.h"

struct body_route {
    enum evhttp_cmd_type method;
    const char *path; /* placeholders as in bodies */
};

static const struct body_route routes[] = {
    {EVHTTP_REQ_POST, "/v1/keys"},
    {EVHTTP_REQ_POST, "/v1/keys/import"},
    {EVHTTP_REQ_PATCH, "/v1/keys/$KEY"},
    {EVHTTP_REQ_POST, "/v1/keys/$KEY/activate"},
    {EVHTTP_REQ_POST, "/v1/keys/$KEY/deactivate"},
    {EVHTTP_REQ_POST, "/v1/keys/$KEY/revoke"},
    {EVHTTP_REQ_POST, "/v1/keys/$ROOT/wrap"},
    {EVHTTP_REQ_POST, "/v1/keys/$ROOT/unwrap"},
    {EVHTTP_REQ_POST, "/v1/keys/$ROOT/rewrap"},
    {EVHTTP_REQ_POST, "/v1/keys/$ROOT/batch"},
    {EVHTTP_REQ_POST, "/v1/keys/$ROOT/rotate"},
    {EVHTTP_REQ_PUT, "/v1/keys/$ROOT/rotation-policy"},
    {EVHTTP_REQ_PUT, "/v1/tenants/default/rotation-policy"},
    {EVHTTP_REQ_POST, "/v1/rotation/run"},
    {EVHTTP_REQ_POST, "/v1/tenants"},
    {EVHTTP_REQ_PATCH, "/v1/tenants/$TENANT"},
    {EVHTTP_REQ_POST, "/v1/tenants/default/identities"},
    {EVHTTP_REQ_PATCH, "/v1/tenants/default/identities/$IDENT"},
    {EVHTTP_REQ_POST, "/v1/tenants/default/identities/$IDENT/retire"},
    {EVHTTP_REQ_POST, "/v1/import-tokens"},
    {EVHTTP_REQ_POST, "/v1/keys/$KEY/versions"},
    {EVHTTP_REQ_POST, "/v1/keys/$PAIR/export"},
    {EVHTTP_REQ_POST, "/v1/export"},
    {EVHTTP_REQ_POST, "/v1/import"},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

static const char *const content_types[] = {
    "application/json", "application/json; charset=utf-8", "text/plain", NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char body[1u << 20], path[256];
    const struct body_route *r;
    struct evhttp_request *req;
    const char *ct;
    char auth[128];
    size_t n = 0;

    if (size < 2 || size - 2 >= sizeof body / 2)
        return 0;
    fuzz_rest_init();
    r = &routes[data[0] % N_ROUTES];
    ct = content_types[(data[1] >> 4) & 3];
    if (!fuzz_expand(r->path, strlen(r->path), path, sizeof path, &n) ||
        !fuzz_expand((const char *)data + 2, size - 2, body, sizeof body, &n) ||
        fuzz_makes_rsa(path, body, n))
        return 0;
    if ((req = fuzz_request_new(r->method, path)) == NULL)
        abort(); /* the table's paths are valid */
    snprintf(auth, sizeof auth, "Bearer %s", fz.token[(data[1] & 15) % FZ_WHO_COUNT]);
    evhttp_add_header(req->input_headers, "Authorization", auth);
    if (ct)
        evhttp_add_header(req->input_headers, "Content-Type", ct);
    evbuffer_add(req->input_buffer, body, n);
    fuzz_rest_run(req);
    return 0;
}
