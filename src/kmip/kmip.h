/*
 * kmip.h - the KMIP front end: decode a request message, call the core for
 * each batch item, encode the response at the request's protocol version.
 *
 * Thin by design: protocol concerns only (versions, batches, ID
 * placeholders, 1.x vs 2.x attribute forms, result reasons). Every rule
 * about objects lives in core.
 */
#ifndef CF_KMIP_H
#define CF_KMIP_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "util/mem.h"

/* What a Username/Password Credential in the request header does (KMIP
 * 1.4 6.6 Authentication, on top of the client certificate). */
typedef enum kmip_credential_policy {
    /* Accepted and not checked (PyKMIP sends an empty one when its config
     * names a username; vCenter sends one when configured). */
    KMIP_CRED_ACCEPT = 0,
    /* When present, the Password must be an API key ("cf1_...") of the
     * certificate's tenant; that identity then acts (the certificate
     * authenticates the channel, the credential the user). */
    KMIP_CRED_VERIFY = 1,
    /* As VERIFY, and a request without one is refused. */
    KMIP_CRED_REQUIRE = 2,
} kmip_credential_policy;

/* What one request runs with. */
typedef struct kmip_env {
    const core *core;
    store *st;                 /* the worker's store connection */
    cf_arena *arena;           /* reset by the caller after the response is sent */
    const core_identity *who;  /* the authenticated client */
    kmip_credential_policy credentials;
    /* For the audit record of each batch item (core_audit.c); may be NULL. */
    const char *source;        /* peer "ip:port" */
    const uint8_t *cert_sha256;/* the client certificate's SHA-256 (32 bytes) */
    const char *cert_subject;  /* its subject (RFC 2253) */
    /* The response's durability ticket (core.h, group commit): every
     * core_req of the message carries it; NULL: synchronous. */
    struct core_ticket *ticket;
} kmip_env;

/* Protocol versions served, newest first (DiscoverVersions order). */
extern const uint16_t kmip_versions[];
extern const size_t kmip_versions_count;

/* Handle one request message (8-byte header included) and append exactly
 * one response message to out. Malformed input gets an Invalid Message
 * response; only when even that cannot be produced is out left empty, and
 * the caller then closes the connection. */
void kmip_handle(const kmip_env *env, const uint8_t *msg, size_t len, cf_buf *out);

/* ---------------------------------- export documents (kmip_doc.c) */
/* Reversibility documents (docs/export.md) hold each object's attributes
 * as the KMIP 2.1 TTLV encoding of an Attributes structure: these convert
 * core's canonical list (core_object_attributes) to those bytes (appended
 * to out) and back (canonical Attribute items, in the request's arena;
 * attributes 2.1 does not define, such as Operation Policy Name, are
 * left out). Errors: CF_ERR_INVALID_FIELD (message set), CF_ERR_NOMEM. */
cf_status kmip_attrs_encode(core_req *req, const ttlv_item *attrs, cf_buf *out);
cf_status kmip_attrs_decode(core_req *req, const uint8_t *p, size_t n, ttlv_item **out);

#endif
