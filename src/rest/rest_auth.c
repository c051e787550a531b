/*
 * rest_auth.c - Bearer authentication of REST requests.
 *
 * `Authorization: Bearer <api key>` (RFC 6750 section 2.1; the scheme is
 * case-insensitive, RFC 7235 section 2.1) is handed to core_auth_token,
 * which compares the secret's hash in constant time and refuses disabled,
 * expired or suspended identities. Every refusal looks the same to the
 * client (401 `unauthenticated`, WWW-Authenticate: Bearer): which check
 * failed is logged by core, never told. The token is never logged. A 401
 * also closes the connection (Connection: close): a client without a
 * valid token gets one request per TLS handshake, not a pipeline of them.
 *
 * An authenticated caller then passes the rate limits (core_rate_check,
 * the one check for KMIP and REST): over them, 429 `rate_limited` with
 * Retry-After (RFC 9110 section 10.2.3, seconds) and core's message.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "rest/rest_int.h"
#include "util/log.h"

/* Longest Authorization value considered: "Bearer " + a token, with room. */
#define REST_AUTH_MAX 256

static void refuse(rest_call *c, const char *msg)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"coffre\"");
    evhttp_add_header(h, "Connection", "close");
    rest_reply_error(c->req, 401, "unauthenticated", msg);
}

/* The caller's request rate (after authentication); false: replied 429. */
static bool rate_check(rest_call *c)
{
    unsigned retry = 0;
    char v[16];
    cf_status st = core_rate_check(&c->creq, &retry);

    if (st == CF_OK)
        return true;
    if (st == CF_ERR_RATE_LIMITED) {
        snprintf(v, sizeof v, "%u", retry ? retry : 1);
        evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After", v);
    }
    rest_reply_status(c, st);
    return false;
}

bool rest_authenticate(rest_call *c)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(c->req);
    const char *v = evhttp_find_header(in, "Authorization");
    core_identity *who = NULL;
    size_t n;
    cf_status st;

    if (v == NULL) {
        refuse(c, "an API key is required: Authorization: Bearer <key>");
        return false;
    }
    n = strnlen(v, REST_AUTH_MAX + 1);
    if (n > REST_AUTH_MAX || n < 7 || strncasecmp(v, "Bearer ", 7) != 0) {
        refuse(c, "the Authorization header must be: Bearer <key>");
        return false;
    }
    v += 7;
    n -= 7;
    while (n > 0 && *v == ' ') {
        v++;
        n--;
    }
    st = core_auth_token(c->env->st, c->env->arena, c->creq.now, v, n, &who);
    if (st == CF_ERR_AUTH) {
        refuse(c, "authentication not successful");
        return false;
    }
    if (st != CF_OK) {
        rest_reply_status(c, st);
        return false;
    }
    c->creq.who = who;
    return rate_check(c);
}
