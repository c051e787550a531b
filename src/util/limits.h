/*
 * limits.h - every hard limit of Coffre in one place, each with its reason
 * (in the spirit of SQLite's sqliteLimit.h). Runtime configuration may only
 * lower these, except where a limit says it is a default.
 *
 * Before the peer is known the limits are tighter (as redis does for
 * unauthenticated clients): what a stranger can make us buffer, decode or
 * keep open is bounded separately from what a registered client may do.
 * docs/security.md lists them by threat, with the tests that show them.
 */
#ifndef CF_LIMITS_H
#define CF_LIMITS_H

/* ---------------------------------------------------------------- KMIP */

/* Largest KMIP message accepted (header included). Real requests are a few
 * KiB; a Register of a 4096-bit certificate chain stays far below 1 MiB.
 * Checked on the 8-byte frame header, before the body is buffered. */
#define CF_LIMIT_KMIP_MESSAGE (1024u * 1024u)
/* Largest KMIP message from a peer whose certificate maps to no identity
 * (the TLS layer verified its chain, but no identity admits it): 64 KiB
 * holds any request an unregistered client could usefully send (every one
 * is refused with Authentication Not Successful) and bounds what a holder of
 * a CA-issued but unregistered certificate makes us buffer and decode. A
 * larger frame header makes the network layer ask core whether the
 * certificate is known before reading the body (net.h kmip_known). */
#define CF_LIMIT_KMIP_MESSAGE_PREAUTH (64u * 1024u)

/* Deepest TTLV nesting. KMIP's deepest legitimate nesting (a Locate with
 * attributes holding a structure inside a batch item) is about 8. */
#define CF_LIMIT_TTLV_DEPTH 16
/* Most TTLV items in one message: bounds the decoded tree's size in memory
 * independently of the byte length (a 1 MiB message of 8-byte empty items
 * would otherwise make 128k nodes). */
#define CF_LIMIT_TTLV_ITEMS 16384
/* Batch items in one request message. vCenter sends 3; tools send tens. */
#define CF_LIMIT_BATCH_ITEMS 256
/* Longest Text String or Byte String value (key material, certificates). */
#define CF_LIMIT_STRING (256u * 1024u)
/* Longest Unique Identifier we accept from a client. */
#define CF_LIMIT_UID 128
/* Longest attribute name (custom attributes included). */
#define CF_LIMIT_ATTR_NAME 256
/* Most attributes of one object, custom ones included. */
#define CF_LIMIT_OBJECT_ATTRS 1024
/* Memory an arena may hand out for one request (decode + response). */
#define CF_LIMIT_REQUEST_ARENA (16u * 1024u * 1024u)
/* Largest response message. */
#define CF_LIMIT_RESPONSE (4u * 1024u * 1024u)

/* ---------------------------------------------------------- HTTP, JSON */

/* Longest REST request path (ids are at most CF_LIMIT_UID). */
#define CF_LIMIT_REST_PATH 1024
/* Largest REST request body: key imports of 4096-bit keys and envelope
 * batches fit easily. It is also evhttp's body limit (net_https.c): evhttp
 * 2.1 reads a body before the handler runs, so before the Bearer token is
 * checked; a larger Content-Length is refused (413) before one byte of the
 * body is read, and a chunked body when it passes the limit. No tighter
 * limit is possible before the token is known with evhttp 2.1 (it has no
 * hook between the head and the body); what one source can make us hold
 * is this times CF_LIMIT_CONNECTIONS_PER_ADDRESS. */
#define CF_LIMIT_REST_BODY (256u * 1024u)
/* Request line and headers of one HTTP request: a Bearer token is 87
 * bytes; 16 KiB leaves room for proxies' headers and refuses header bombs. */
#define CF_LIMIT_HTTP_HEADERS (16u * 1024u)
/* Deepest JSON nesting jansson parses (its own constant, JSON_PARSER_MAX_DEPTH
 * 2048, is not configurable): bodies are flat objects of depth 3 at most,
 * so a deeper body is refused by our schema checks, never walked further. */

/* ------------------------------------------------------- connections */

/* Per protocol (KMIP, HTTPS). A vSAN cluster reboot is hundreds of
 * hosts at once; 8192 per protocol (+ listeners) stays under the common
 * 20000-descriptor hard limit, so the default needs no tuning. */
#define CF_LIMIT_CONNECTIONS 8192
/* Live connections from one source (an IPv4 address, or an IPv6 /64: one
 * host's share of addresses), per protocol: a single client cannot take
 * more than 1/32 of the server, while vCenter (one address, a handful of
 * connections) and a host behind NAT keep plenty. Checked at accept on
 * KMIP; on HTTPS at the TLS client hello, the first moment evhttp 2.1 lets
 * us see the address (before any key exchange). Configurable, default. */
#define CF_LIMIT_CONNECTIONS_PER_ADDRESS 256
/* Seconds from accept to a finished TLS handshake, whatever the pace of
 * the bytes: a handshake dribbled one byte at a time is dropped when this
 * runs out (a dribble resets an inactivity timer, not this deadline). */
#define CF_LIMIT_HANDSHAKE_TIMEOUT 10
/* Seconds from the first byte of a request (a KMIP message, an HTTP
 * request head and body) to its last: a slowloris that sends one byte
 * every few seconds is dropped after this, whatever its pace. A 1 MiB KMIP
 * message within 30 s is 35 KB/s, far below any real link. Checked by each
 * worker's sweep every few seconds (net_server.c), so the drop comes
 * within a sweep period after the deadline. */
#define CF_LIMIT_REQUEST_TIMEOUT 30
/* Seconds without a request (or without response progress): idle
 * connections are closed. vCenter reconnects per operation anyway. */
#define CF_LIMIT_IDLE_TIMEOUT 120

/* ------------------------------------------------------- rate limits */

/* Requests per second per tenant and per identity (API key or
 * certificate), token buckets per node (core_rate.c): 0 (the default) is
 * no limit; `coffre server --rate-tenant N --rate-identity N` set them, a
 * tenant's own setting overrides the tenant rate. Each bucket holds one
 * second of requests (the burst). Defaults, not hard limits. */
#define CF_LIMIT_RATE_TENANT 0
#define CF_LIMIT_RATE_IDENTITY 0
/* Most buckets kept in memory per node: identities and tenants that made a
 * request recently. A bucket that has refilled (idle for a second or
 * more) carries no information and is evicted first, so the table only
 * fills with identities all active at once; then the request is served
 * unmetered and a warning logged, rather than refused or the table grown. */
#define CF_LIMIT_RATE_BUCKETS 65536
/* Seconds a tenant's rate setting is cached in its bucket: a change made
 * through the API applies on every node within this delay. */
#define CF_LIMIT_RATE_SETTING_TTL 10

#endif
