/*
 * limits.h - every hard limit of Coffre in one place, each with its reason
 * (in the spirit of SQLite's sqliteLimit.h). Runtime configuration may only
 * lower these.
 */
#ifndef CF_LIMITS_H
#define CF_LIMITS_H

/* Largest KMIP message accepted (header included). Real requests are a few
 * KiB; a Register of a 4096-bit certificate chain stays far below 1 MiB.
 * Checked on the 8-byte frame header, before the body is buffered. */
#define CF_LIMIT_KMIP_MESSAGE (1024u * 1024u)
/* Before the TLS peer is authenticated nothing is read at all (the TLS layer
 * requires the client certificate first), so no separate pre-auth limit. */

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

/* Longest REST request path (ids are at most CF_LIMIT_UID). */
#define CF_LIMIT_REST_PATH 1024
/* Largest REST request body: key imports of 4096-bit keys fit easily. */
#define CF_LIMIT_REST_BODY (256u * 1024u)

/* Connections: total and per source address; timeouts in seconds. */
/* Per protocol (KMIP, HTTPS). A vSAN cluster reboot is hundreds of
 * hosts at once; 8192 per protocol (+ listeners) stays under the common
 * 20000-descriptor hard limit, so the default needs no tuning. */
#define CF_LIMIT_CONNECTIONS 8192
#define CF_LIMIT_HANDSHAKE_TIMEOUT 10
#define CF_LIMIT_IDLE_TIMEOUT 120

#endif
