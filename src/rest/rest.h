/*
 * rest.h - the REST front end (JSON over HTTPS, evhttp), thin like KMIP:
 * route -> authenticate -> parse JSON -> one core operation -> JSON.
 *
 * Errors are always JSON: {"error": {"code": "<stable code>", "message":
 * "<human text>"}} with the HTTP status of util/status.c's table, so REST
 * and KMIP refuse the same failure the same way. Bodies are bounded
 * (CF_LIMIT_REST_BODY) and parsed strictly (duplicate keys, invalid UTF-8
 * and trailing garbage are refused).
 */
#ifndef CF_REST_H
#define CF_REST_H

#include "core/core.h"
#include "net/net.h"

struct evhttp_request;

/* What one request runs with (the worker's state). */
typedef struct rest_env {
    const core *core;
    store *st;
    cf_arena *arena;  /* reset by the caller after the reply */
    /* The thread's waiter (core.h, group commit): a reply leaves once what
     * it reports is durable. NULL: synchronous. */
    struct core_waiter *waiter;
} rest_env;

/* Answer one HTTPS request (always replies, never blocks the caller on I/O). */
void rest_handle(const rest_env *env, const net_peer *peer, struct evhttp_request *req);

#endif
