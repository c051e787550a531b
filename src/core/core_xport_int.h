/*
 * core_xport_int.h - what export (core_xport.c) and import (core_ximport.c)
 * of reversibility documents share: the wrapping primitives of the three
 * methods, the Key Wrapping Data naming them, the bound payload, and the
 * per-object audit records. docs/export.md is the long form.
 *
 * The payload wrapped for each object (each version of a root key) is the
 * TTLV encoding of its Key Value with, appended as its last child, an
 * Attributes structure (KMIP 2.1 form) of two vendor attributes:
 *   Attribute { Vendor Identification "y", Attribute Name "export-digest",
 *               Attribute Value: Byte String, SHA-256 of the attributes
 *               bytes the document holds for the object }
 *   Attribute { "y", "export-version", Integer: the root key's version }
 *               (root keys only)
 * KMIP lets a wrapped Key Value carry attributes (1.4 section 2.1.4, 2.1
 * section 2.1.4): a KMIP server unwrapping it reads them as such.
 */
#ifndef CF_CORE_XPORT_INT_H
#define CF_CORE_XPORT_INT_H

#include "core/core_int.h"

#define CORE_X_VENDOR "y"
#define CORE_X_DIGEST_ATTR "export-digest"
#define CORE_X_VERSION_ATTR "export-version"
/* The Encryption Key Information's Unique Identifier of a PEM public key,
 * which has none in the source: this prefix and the hex SPKI SHA-256. */
#define CORE_X_SPKI_PREFIX "spki-sha256:"
/* The attribute naming the tenant envelope ciphertexts of an imported
 * root key bind (core_env_tenant). Server-only ("y-"). */
#define CORE_ATTR_ENV_TENANT "y-env-tenant"

/* Wrap in (the payload) for k; the wrapped bytes are appended to out.
 * CF_ERR_INVALID_FIELD (message set) when in is too long for RSA-OAEP. */
cf_status core_x_wrap(core_req *req, const core_xkey *k, const cf_secret *in, cf_buf *out);
/* The reverse; CF_ERR_CRYPTO (message set) for anything that does not
 * unwrap (another key, altered bytes). */
cf_status core_x_unwrap(core_req *req, const core_xkey *k, const uint8_t *in, size_t n,
                        cf_secret *out);
/* Key Wrapping Data { Wrapping Method Encrypt, Encryption Key Information
 * { Unique Identifier, Cryptographic Parameters }, Encoding Option TTLV }
 * for k (arena); NULL when out of memory. */
ttlv_item *core_x_kwd(core_req *req, const core_xkey *k);
/* Is kwd (a document's Key Wrapping Data) exactly what core_x_kwd makes
 * for k: the method, parameters and encoding of the document's wrapping,
 * and for the RSA methods the key's SPKI digest? */
bool core_x_kwd_matches(core_req *req, const ttlv_item *kwd, const core_xkey *k);
/* The payload of Key Value kv bound to (digest, version; 0: none), TTLV
 * encoded into *out (the caller frees). */
cf_status core_x_payload(core_req *req, const ttlv_item *kv, const uint8_t digest[32],
                         uint32_t version, cf_secret *out);
/* Decode an unwrapped payload and check its binding: *out_kv is the Key
 * Value without it (arena). CF_ERR_CRYPTO (message set) when it is not
 * bound to (digest, version). */
cf_status core_x_payload_open(core_req *req, const cf_secret *p, const uint8_t digest[32],
                              uint32_t version, ttlv_item **out_kv);
/* One audit record "exportObject" / "importObject" for uid at version
 * (0: none), besides the call's own (which req->audit keeps). CF_ERR_AUDIT
 * when it cannot be written; CF_OK without auditing. */
cf_status core_x_audit(core_req *req, const char *operation, const core_object *obj,
                       const char *uid, uint32_t version, cf_status result);
/* Limits for decoding documents' TTLV (a private key's structure fits). */
extern const ttlv_limits core_x_limits;

#endif
