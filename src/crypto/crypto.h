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
 * The GCM AAD is the 17 header bytes (version, kek_id, nonce) followed by
 * the caller's AAD, so the header is authenticated too.
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
/* Public randomness (nonces, serial numbers): RAND_bytes. CF_ERR_CRYPTO. */
cf_status crypto_random(uint8_t *p, size_t n);
/* A new secret of n random bytes from RAND_priv_bytes; out->len == n. The
 * caller frees it with cf_secret_free. CF_ERR_NOMEM, CF_ERR_CRYPTO. */
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
 * the wrong size. Wrapping is AES-256 key wrap with padding (RFC 5649).
 * Also refuses a symbolic link and anything but a regular file; every
 * refusal is logged with the path and the reason (never the content).
 * Wrapped blob: u8 version (=1) | RFC 5649 output (41 bytes for a KEK).
 * Errors: CF_ERR_NOT_FOUND (absent and !create), CF_ERR_IO (refused,
 * unreadable, cannot create), CF_ERR_CRYPTO, CF_ERR_NOMEM. wrap/unwrap are
 * thread-safe; unwrap gives CF_ERR_CRYPTO for a wrong master key or a
 * damaged blob. */
cf_status crypto_mk_file_open(const char *path, bool create, cf_mk_provider **out);
/* Calls mk->destroy (which cleanses the master key); NULL is ignored. */
void crypto_mk_free(cf_mk_provider *mk);

/* -------------------------------------------------------------- keyring */
typedef struct cf_keyring cf_keyring;

#define CRYPTO_KEK_LEN 32
#define CRYPTO_SEAL_VERSION 1
#define CRYPTO_SEAL_HEADER 17 /* version + kek_id + nonce */
#define CRYPTO_SEAL_TAG 16
/* A sealed blob is exactly pt_len + CRYPTO_SEAL_OVERHEAD bytes. */
#define CRYPTO_SEAL_OVERHEAD (CRYPTO_SEAL_HEADER + CRYPTO_SEAL_TAG)

/* A new random KEK with the given id; its wrapped form is appended to
 * wrapped_out for the caller to store. The wrapped form is unwrapped once
 * and compared before success, so a provider fault cannot lose the KEK.
 * On failure nothing is appended. */
cf_status crypto_keyring_create(cf_mk_provider *mk, uint32_t kek_id, cf_buf *wrapped_out,
                                cf_keyring **out);
/* Load a KEK from its wrapped form. CF_ERR_CRYPTO when it does not unwrap
 * (wrong master key, damaged blob) or is not CRYPTO_KEK_LEN bytes. */
cf_status crypto_keyring_load(cf_mk_provider *mk, uint32_t kek_id, const uint8_t *wrapped,
                              size_t wrapped_len, cf_keyring **out);
/* Cleanses the KEK; NULL is ignored. */
void crypto_keyring_free(cf_keyring *kr);
uint32_t crypto_keyring_id(const cf_keyring *kr);
/* The kek_id of a sealed blob, to pick the keyring during KEK rotation.
 * Not authenticated until crypto_open succeeds. CF_ERR_CRYPTO when too
 * short or of an unknown version. */
cf_status crypto_sealed_kek_id(const uint8_t *sealed, size_t sealed_len, uint32_t *out_id);

/* Seal plaintext under the keyring's KEK; appends the sealed form to out.
 * Thread-safe (the keyring is read-only after load). On failure nothing is
 * appended: CF_ERR_NOMEM, CF_ERR_LIMIT (out's max), CF_ERR_CRYPTO. */
cf_status crypto_seal(const cf_keyring *kr, const uint8_t *aad, size_t aad_len,
                      const uint8_t *pt, size_t pt_len, cf_buf *out);
/* Open a sealed blob; CF_ERR_CRYPTO when it was altered or the AAD differs,
 * and also when truncated, of an unknown version or sealed under another
 * kek_id. out receives the plaintext (caller frees with cf_secret_free;
 * out->len may be 0); on failure out is {NULL, 0}. Thread-safe. */
cf_status crypto_open(const cf_keyring *kr, const uint8_t *aad, size_t aad_len,
                      const uint8_t *sealed, size_t sealed_len, cf_secret *out);

/* ------------------------------------------------------------------ PKI */

/* Development PKI: when dir/ca.crt does not exist, create in dir (mode 0700):
 *   ca.crt, ca.key          self-signed CA (RSA-3072, 10 years)
 *   server.crt, server.key  server certificate, EKU serverAuth, SAN =
 *                           127.0.0.1, ::1, localhost and each extra_san
 *                           (IP if it parses as one, else DNS)
 *   admin.crt, admin.key    client certificate CN=admin, EKU clientAuth
 * Keys are written 0600. RSA-2048+ with SHA-256 signatures so that vCenter
 * and old clients accept them. Existing files are left alone.
 * Details: subjects carry O=Coffre dev; the server certificate has EKU
 * serverAuth+clientAuth and lasts 825 days, as does admin's. Keys are
 * unencrypted PKCS#8 PEM, certificates 0644. dir is created when missing
 * (one level, like mkdir). Each file is created atomically and never
 * replaces an existing one; ca.crt is written last, so its presence means
 * the set is complete. Returns CF_OK at once when dir/ca.crt exists;
 * CF_ERR_EXISTS when ca.crt is absent but another of the files exists (a
 * partial set, e.g. after a crash: the log names it, remove it); on other
 * failures the files this call created are removed. Errors:
 * CF_ERR_INVALID_FIELD (a bad extra_san, path too long), CF_ERR_IO,
 * CF_ERR_CRYPTO, CF_ERR_NOMEM. First start takes about a second (keygen). */
cf_status crypto_pki_ensure_dev(const char *dir, const char *const *extra_san, size_t n_extra);

/* Issue a client certificate (EKU clientAuth) with subject CN=cn signed by
 * the CA in ca_crt/ca_key, writing cert_out/key_out (key 0600).
 * Details: RSA-2048 key; the subject also copies the CA subject's O (so
 * with the dev CA, cn "admin" gives the same subject as admin.crt). days:
 * 0 means 825, at most 3650, and notAfter never exceeds the CA's. The CA
 * key must be unencrypted PEM and match the CA certificate. Never
 * overwrites: CF_ERR_EXISTS when cert_out or key_out exists. Errors:
 * CF_ERR_INVALID_FIELD (cn empty, > 64 bytes or with control characters;
 * days), CF_ERR_IO, CF_ERR_CRYPTO (unreadable or mismatched CA), NOMEM. */
cf_status crypto_pki_issue_client(const char *ca_crt, const char *ca_key, const char *cn,
                                  unsigned days, const char *cert_out, const char *key_out);

/* Drain OpenSSL's error queue into the log at warn level with a context,
 * one line per queued error (nothing is logged when the queue is empty). */
void crypto_log_errors(const char *context);

#endif
