/*
 * crypto.h - OpenSSL-backed primitives Coffre needs at rest and for keys.
 *
 * Key hierarchy: a master key provider (file now, PKCS#11 later, same
 * struct of functions) wraps one or more store KEKs (256-bit). The wrapped
 * KEK lives in the store's metadata so every node of a cluster sharing the
 * database and the master key uses the same KEK; the provider is called
 * only at start. Each object's key material is sealed under the KEK with
 * AES-256-GCM, a fresh 96-bit random nonce, and AAD binding it to its row
 * (tenant and uid), so material cannot be swapped between rows.
 *
 * Sealed format (all big-endian):
 *   u8 version (=1) | u32 kek_id | 12-byte nonce | ciphertext | 16-byte tag
 *
 * Secrets come back in cf_secret (secure heap, cleansed on free).
 * Every function clears OpenSSL's error queue before it starts and drains
 * it into the log on failure.
 */
#ifndef CF_CRYPTO_H
#define CF_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/mem.h"
#include "util/status.h"

/* ---------------------------------------------------------- randomness */
cf_status crypto_random(uint8_t *p, size_t n);
cf_status crypto_random_secret(size_t n, cf_secret *out);

/* ------------------------------------------------ master key providers */
typedef struct cf_mk_provider {
    const char *name;   /* "file", "pkcs11" */
    void *self;
    /* Wrap a KEK: out receives an opaque blob (appended). */
    cf_status (*wrap)(void *self, const cf_secret *kek, cf_buf *out);
    /* Unwrap a blob produced by wrap. */
    cf_status (*unwrap)(void *self, const uint8_t *blob, size_t len, cf_secret *out);
    void (*destroy)(void *self);
} cf_mk_provider;

/* File provider: a 32-byte random master key in `path`. When the file is
 * absent and create is true it is created with mode 0600 (O_EXCL, fsync'd
 * with its directory). Refuses a file that is group/world accessible or of
 * the wrong size. Wrapping is AES-256 key wrap with padding (RFC 5649). */
cf_status crypto_mk_file_open(const char *path, bool create, cf_mk_provider **out);
void crypto_mk_free(cf_mk_provider *mk);

/* -------------------------------------------------------------- keyring */
typedef struct cf_keyring cf_keyring;

/* A new random KEK with the given id; its wrapped form is appended to
 * wrapped_out for the caller to store. */
cf_status crypto_keyring_create(cf_mk_provider *mk, uint32_t kek_id, cf_buf *wrapped_out,
                                cf_keyring **out);
/* Load a KEK from its wrapped form. */
cf_status crypto_keyring_load(cf_mk_provider *mk, uint32_t kek_id, const uint8_t *wrapped,
                              size_t wrapped_len, cf_keyring **out);
void crypto_keyring_free(cf_keyring *kr);

/* Seal plaintext under the keyring's KEK; appends the sealed form to out.
 * Thread-safe (the keyring is read-only after load). */
cf_status crypto_seal(const cf_keyring *kr, const uint8_t *aad, size_t aad_len,
                      const uint8_t *pt, size_t pt_len, cf_buf *out);
/* Open a sealed blob; CF_ERR_CRYPTO when it was altered or the AAD differs. */
cf_status crypto_open(const cf_keyring *kr, const uint8_t *aad, size_t aad_len,
                      const uint8_t *sealed, size_t sealed_len, cf_secret *out);

/* ------------------------------------------------------------------ PKI */

/* Development PKI: when dir/ca.crt does not exist, create in dir (mode 0700):
 *   ca.crt, ca.key          self-signed CA (EC P-256 or RSA-3072, 10 years)
 *   server.crt, server.key  server certificate, EKU serverAuth, SAN =
 *                           127.0.0.1, ::1, localhost and each extra_san
 *                           (IP if it parses as one, else DNS)
 *   admin.crt, admin.key    client certificate CN=admin, EKU clientAuth
 * Keys are written 0600. RSA-2048+ with SHA-256 signatures so that vCenter
 * and old clients accept them. Existing files are left alone. */
cf_status crypto_pki_ensure_dev(const char *dir, const char *const *extra_san, size_t n_extra);

/* Issue a client certificate (EKU clientAuth) with subject CN=cn signed by
 * the CA in ca_crt/ca_key, writing cert_out/key_out (key 0600). */
cf_status crypto_pki_issue_client(const char *ca_crt, const char *ca_key, const char *cn,
                                  unsigned days, const char *cert_out, const char *key_out);

/* Drain OpenSSL's error queue into the log at warn level with a context. */
void crypto_log_errors(const char *context);

#endif
