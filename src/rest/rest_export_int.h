/*
 * rest_export_int.h - what rest_export.c (POST /v1/keys/{id}/export, POST
 * /v1/export) and rest_import.c (POST /v1/import) share: the document's
 * constants (docs/export.md) and base64.
 */
#ifndef CF_REST_EXPORT_INT_H
#define CF_REST_EXPORT_INT_H

#include "rest/rest_keys_int.h"

#define REST_DOC_FORMAT "coffre-export"
#define REST_DOC_VERSION 1

/* Standard base64 (RFC 4648 section 4, padded) of n bytes, malloc'd and
 * NUL-terminated (the caller free()s); NULL when out of memory. */
char *rest_b64(const uint8_t *p, size_t n);
/* Strict base64 (padding, no whitespace, zero pad bits) into the arena. */
bool rest_unb64(cf_arena *a, const char *s, uint8_t **out, size_t *out_len);
/* Lowercase hex of 32 bytes into out (65 bytes). */
void rest_hex32(const uint8_t p[32], char out[65]);

#endif
