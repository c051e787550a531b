/*
 * crypto_ops.h - the cryptographic services KMIP clients ask a key server
 * to perform with their keys: Encrypt/Decrypt, Sign/Signature Verify,
 * MAC/MAC Verify, key derivation, random numbers.
 *
 * Shape: one request struct per family, KMIP enumeration values in it
 * (KMIP_CRYPTOGRAPHIC_ALGORITHM_*, KMIP_BLOCK_CIPHER_MODE_*,
 * KMIP_PADDING_METHOD_*, KMIP_HASHING_ALGORITHM_*, KMIP_DERIVATION_METHOD_*),
 * so that core maps KMIP Cryptographic Parameters to these structs without
 * knowing OpenSSL, and this file maps them to EVP names without knowing
 * KMIP's message forms. Which cipher exists is asked of OpenSSL
 * (EVP_CIPHER_fetch), never assumed: legacy ciphers (Blowfish, CAST5, DES,
 * IDEA, SEED, RC4) come from OpenSSL 3's legacy provider, loaded once on
 * first need (crypto_legacy_available), and are refused when it or the
 * cipher is missing (IDEA is compiled out of many distributions' OpenSSL).
 *
 * Secrets: keys are passed as byte spans the caller owns and cleanses;
 * plaintext and derived material come back in cf_secret (caller frees with
 * cf_secret_free); every temporary buffer holding either is cleansed here.
 * Ciphertext, signatures and MACs are appended to a cf_buf.
 *
 * Errors: CF_ERR_INVALID_FIELD for a combination Coffre does not offer or
 * parameters that cannot be right (unknown algorithm or mode, wrong key,
 * IV or tag length, data not a multiple of the block size without padding;
 * *why, when the function takes it, receives a static reason for the
 * client), CF_ERR_CRYPTO when OpenSSL fails on the data (authentication
 * tag mismatch, bad padding), CF_ERR_LIMIT for lengths over the limits
 * below, CF_ERR_NOMEM. Each function clears OpenSSL's error queue first
 * and drains it into the log on failure; EVP contexts are freed on every
 * path.
 */
#ifndef CF_CRYPTO_OPS_H
#define CF_CRYPTO_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "util/mem.h"
#include "util/status.h"

/* Longest AEAD tag (GCM, ChaCha20-Poly1305) and IV/nonce accepted. */
#define CRYPTO_TAG_MAX 16
#define CRYPTO_IV_MAX 128
/* Largest derived object: a Secret Data holding several keys and IVs fits. */
#define CRYPTO_DERIVE_MAX 8192
/* PBKDF2 iterations: far above current advice (600,000 for SHA-256), low
 * enough that one request cannot hold a worker for more than seconds. */
#define CRYPTO_PBKDF2_MAX_ITER 10000000u
/* Largest digest or MAC this file produces (SHA-512). */
#define CRYPTO_MD_MAX 64

/* ------------------------------------------------------ symmetric ciphers */

typedef struct crypto_cipher_req {
    uint32_t algorithm;   /* the key's KMIP Cryptographic Algorithm */
    uint32_t mode;        /* KMIP Block Cipher Mode; 0 for stream ciphers */
    uint32_t padding;     /* KMIP Padding Method; 0 = None */
    const uint8_t *key;
    size_t key_len;
    const uint8_t *iv;    /* IV / initial counter block / nonce */
    size_t iv_len;
    const uint8_t *aad;   /* AEAD modes only */
    size_t aad_len;
    size_t tag_len;       /* AEAD: tag bytes produced (encrypt) or given */
    const uint8_t *tag;   /* decrypt, AEAD: the tag to check */
} crypto_cipher_req;

typedef struct crypto_cipher_info {
    size_t block;         /* block size (1 for stream ciphers and modes) */
    size_t iv_len;        /* IV the mode takes by default (0 = none) */
    bool aead;            /* GCM, ChaCha20-Poly1305: tag and AAD */
    bool iv_variable;     /* GCM: any IV length from 1 to CRYPTO_IV_MAX */
    bool pads;            /* the mode takes a Padding Method (ECB, CBC) */
} crypto_cipher_info;

/* Is the combination offered, with this key length? Fills *out. r->iv may
 * be NULL (the caller then generates info->iv_len bytes); when given, its
 * length is checked, as are the padding and, for AEAD, tag_len (4, 8, or
 * 12..16 bytes for GCM as SP 800-38D allows; 16 for ChaCha20-Poly1305). */
cf_status crypto_cipher_check(const crypto_cipher_req *r, crypto_cipher_info *out,
                              const char **why);

/* Encrypt in into out (appended). AEAD: tag_out receives r->tag_len bytes. */
cf_status crypto_encrypt(const crypto_cipher_req *r, const uint8_t *in, size_t in_len, cf_buf *out,
                         uint8_t tag_out[CRYPTO_TAG_MAX], const char **why);
/* Decrypt; CF_ERR_CRYPTO for a wrong tag or bad padding (out is then
 * empty: no unauthenticated plaintext is ever released). */
cf_status crypto_decrypt(const crypto_cipher_req *r, const uint8_t *in, size_t in_len,
                         cf_secret *out, const char **why);

/* -------------------------------------------------------------------- MAC */

/* HMAC (algorithm KMIP HMAC-SHA1/224/256/384/512, HMAC-SHA3-*, HMAC-MD5)
 * or CMAC (algorithm AES, 3DES or Camellia with mode CMAC). The MAC is
 * written to out (CRYPTO_MD_MAX bytes), its length to *out_len. */
cf_status crypto_mac(uint32_t algorithm, uint32_t mode, const uint8_t *key, size_t key_len,
                     const uint8_t *in, size_t in_len, uint8_t out[CRYPTO_MD_MAX], size_t *out_len,
                     const char **why);
/* Recompute and compare in constant time (CRYPTO_memcmp). A MAC truncated
 * to no less than half the full length and 10 bytes (RFC 2104 section 5)
 * is compared on its prefix; other lengths are invalid, not errors. */
cf_status crypto_mac_verify(uint32_t algorithm, uint32_t mode, const uint8_t *key, size_t key_len,
                            const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len,
                            bool *out_valid, const char **why);

/* -------------------------------------------------- signatures, RSA crypt */

typedef struct crypto_sig_req {
    uint32_t hash;        /* KMIP Hashing Algorithm (required) */
    uint32_t padding;     /* RSA: PKCS1 v1.5 or PSS; 0 = PKCS1 v1.5. EC: ignored */
    uint32_t mgf_hash;    /* PSS: MGF1 hash; 0 = hash */
    int32_t salt_len;     /* PSS: bytes; -1 = digest length (sign), any (verify) */
    bool digested;        /* data is already the digest (KMIP Digested Data) */
} crypto_sig_req;

/* RSA (PKCS#1 v1.5 or PSS) or ECDSA (DER signature) over data (hashed
 * here unless r->digested, when data must be exactly one digest long).
 * The signature is appended to out. */
cf_status crypto_sign(EVP_PKEY *key, const crypto_sig_req *r, const uint8_t *data, size_t len,
                      cf_buf *out, const char **why);
/* *out_valid tells whether sig verifies: a wrong signature is not an error. */
cf_status crypto_verify(EVP_PKEY *key, const crypto_sig_req *r, const uint8_t *data, size_t len,
                        const uint8_t *sig, size_t sig_len, bool *out_valid, const char **why);

/* RSA encryption: padding OAEP (hash and mgf_hash KMIP Hashing Algorithm,
 * 0 = SHA-1 as PKCS#1 and KMIP 1.4 section 3.6 default; mgf 0 = hash) or
 * PKCS1 v1.5. Decrypt needs the private key. */
cf_status crypto_rsa_encrypt(EVP_PKEY *key, uint32_t padding, uint32_t hash, uint32_t mgf_hash,
                             const uint8_t *in, size_t in_len, cf_buf *out, const char **why);
cf_status crypto_rsa_decrypt(EVP_PKEY *key, uint32_t padding, uint32_t hash, uint32_t mgf_hash,
                             const uint8_t *in, size_t in_len, cf_secret *out, const char **why);

/* ----------------------------------------------------------- derivation */

typedef struct crypto_kdf_req {
    uint32_t method;      /* KMIP Derivation Method (not ENCRYPT: core
                           * composes that from crypto_encrypt) */
    uint32_t hash;        /* PRF / hash (KMIP Hashing Algorithm) */
    const uint8_t *key;   /* derivation key or password */
    size_t key_len;
    const uint8_t *data;  /* Derivation Data: HKDF info, SP 800-108 fixed
                           * input (Label || 0x00 || Context), HASH input */
    size_t data_len;
    const uint8_t *salt;  /* PBKDF2 (required), HKDF (optional) */
    size_t salt_len;
    uint32_t iterations;  /* PBKDF2 */
} crypto_kdf_req;

/* Derive out_len bytes (1..CRYPTO_DERIVE_MAX):
 *   PBKDF2          PKCS#5 v2.0 with HMAC-hash, password = key
 *   HMAC, HKDF      RFC 5869 HKDF with hash: IKM = key, salt, info = data
 *   NIST800-108-C   SP 800-108 KDF in counter mode, HMAC-hash PRF, 32-bit
 *                   counter before the fixed input data = data (no L is
 *                   appended: the fixed input is the client's)
 *   HASH            hash(data) when data is given, else hash(key); out_len
 *                   at most the digest length
 * CF_ERR_CRYPTO when out_len exceeds what the method can produce (KMIP
 * 1.4 section 11.7). */
cf_status crypto_derive(const crypto_kdf_req *r, size_t out_len, cf_secret *out, const char **why);

/* --------------------------------------------------------------- random */

/* Mix client-supplied seed material into OpenSSL's DRBG as additional
 * input, credited with no entropy (so it cannot weaken the generator). */
cf_status crypto_rng_seed(const uint8_t *p, size_t n);

/* The EVP_MD for a KMIP Hashing Algorithm, fetched (SHA-1, SHA-2, SHA3,
 * MD5); NULL when not offered. The caller EVP_MD_free()s it. The crypto
 * module's one such lookup: signatures, RSA encryption, derivation and
 * RSA-OAEP key wrapping (which refuses MD5 itself) all use it. */
EVP_MD *crypto_md_fetch(uint32_t hash);

#endif
