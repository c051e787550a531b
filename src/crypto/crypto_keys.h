/*
 * crypto_keys.h - asymmetric keys and key wrapping with OpenSSL: parsing
 * and validating registered key material, converting between the KMIP key
 * formats, generating key pairs, AES key wrap (RFC 3394 / RFC 5649) and
 * RSA-OAEP wrapping.
 *
 * KMIP values: object types, key format types, algorithms, curves and
 * hashing algorithms are passed as their KMIP enumeration values
 * (KMIP_KEY_FORMAT_TYPE_*, KMIP_CRYPTOGRAPHIC_ALGORITHM_*, ...), so the
 * callers never translate them.
 *
 * Stored material per Key Format Type (what core keeps sealed, and what
 * these functions accept as "stored bytes"):
 *   Raw, Opaque, PKCS#1, PKCS#8, X.509 (SPKI), ECPrivateKey (SEC1):
 *       the bytes (DER for the asymmetric formats)
 *   Transparent Symmetric Key: the Key bytes
 *   Transparent RSA/EC Private/Public Key (and the 1.x ECDSA/ECDH/ECMQV
 *   transparent forms): the TTLV encoding of the Key Material structure
 *       exactly as the client sent it (KMIP 1.4 section 2.1.7).
 *
 * Ownership: EVP_PKEY results are the caller's (EVP_PKEY_free). cf_secret
 * results are the caller's (cf_secret_free). Every function clears
 * OpenSSL's error queue first and drains it into the log on failure.
 *
 * Errors: CF_ERR_INVALID_FIELD for material that does not parse or does not
 * match the declared type/algorithm, CF_ERR_FORMAT for a format that does
 * not apply to the object type (or a conversion the specification does not
 * define), CF_ERR_UNSUPPORTED for algorithms/curves Coffre does not offer,
 * CF_ERR_CRYPTO when OpenSSL fails on valid input, CF_ERR_NOMEM.
 */
#ifndef CF_CRYPTO_KEYS_H
#define CF_CRYPTO_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "util/mem.h"
#include "util/status.h"

/* ------------------------------------------------------------ loading */

/* Public or private RSA / EC key (object_type KMIP_OBJECT_TYPE_PUBLIC_KEY
 * or _PRIVATE_KEY) from stored bytes in key_format (see above) into an
 * EVP_PKEY. algorithm (KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, _EC, _ECDSA, _ECDH,
 * _ECMQV; 0 = any) must match the key when given. DSA keys load from the
 * Transparent DSA Public/Private Key formats only (algorithm 0 or _DSA;
 * a private key's public value is computed). A private key's EVP_PKEY
 * also holds its public part. The caller EVP_PKEY_free()s *out. */
cf_status crypto_key_load(uint32_t object_type, uint32_t key_format, uint32_t algorithm,
                          const uint8_t *p, size_t n, EVP_PKEY **out);

/* Is algorithm one of the EC family (EC, ECDSA, ECDH, ECMQV)? */
bool crypto_alg_is_ec(uint32_t algorithm);

/* Facts about a loaded key, for filling Cryptographic Algorithm/Length and
 * Cryptographic Domain Parameters on Register: algorithm (RSA, EC or DSA),
 * bits (RSA modulus, EC field size, DSA P) and, for EC, the KMIP Recommended Curve
 * (0 when the curve has no KMIP name). */
cf_status crypto_key_info(const EVP_PKEY *key, uint32_t *out_alg, int32_t *out_bits,
                          uint32_t *out_curve);

/* ---------------------------------------------------------- conversion */

/* Encode key in key_format, as stored bytes (see above): PKCS#1 (RSA,
 * public or private), PKCS#8 (private), X.509 = SubjectPublicKeyInfo
 * (public), ECPrivateKey (EC private, SEC1), or a Transparent RSA/EC form
 * (the TTLV Key Material structure, Big Integers minimal and positive).
 * object_type says which half is wanted: a private key may be exported as
 * its public key, not the reverse. CF_ERR_FORMAT when the format does not
 * apply to the key's type. */
cf_status crypto_key_export(const EVP_PKEY *key, uint32_t object_type, uint32_t key_format,
                            cf_secret *out);

/* Does key hold a private part? */
bool crypto_key_has_private(const EVP_PKEY *key);

/* A DER X.509 certificate spanning exactly [p, p+n). CF_ERR_INVALID_FIELD
 * otherwise. */
cf_status crypto_cert_check(const uint8_t *p, size_t n);

/* One attribute (RDN component) of a certificate's subject or issuer. */
typedef struct crypto_rdn {
    int nid;            /* OpenSSL NID: NID_commonName, NID_organizationName, ... */
    const char *value;  /* UTF-8, NUL-terminated, in the arena */
    size_t len;
} crypto_rdn;

/* The components of the subject (issuer false) or issuer name of the DER
 * certificate [p, p+n), in their order, as an arena array. Components whose
 * value is not a string are skipped. CF_ERR_INVALID_FIELD when the
 * certificate does not parse. */
cf_status crypto_cert_name(const uint8_t *p, size_t n, bool issuer, cf_arena *a,
                           crypto_rdn **out, size_t *out_n);

/* --------------------------------------------------------- generation */

/* RSA key pair: bits in [1024, 4096] and a multiple of 256 (else
 * CF_ERR_INVALID_FIELD), public exponent 65537. Takes 0.1-3 s for 4096
 * bits. */
cf_status crypto_rsa_generate(int32_t bits, EVP_PKEY **out);
/* EC key pair on a KMIP Recommended Curve: P-256, P-384, P-521 (others,
 * though loadable, give CF_ERR_UNSUPPORTED). */
cf_status crypto_ec_generate(uint32_t curve, EVP_PKEY **out);
/* KMIP Recommended Curve -> OpenSSL NID (0 if Coffre does not offer it),
 * and the curve's field size in bits. */
int crypto_ec_curve_nid(uint32_t curve, int32_t *out_bits);

/* Symmetric key lengths: CF_OK when Create may make a key of this KMIP
 * algorithm and length (bits); CF_ERR_INVALID_FIELD otherwise, with a
 * short reason in *out_why (static string). AES 128/192/256, 3DES 168/192,
 * HMAC-SHA1/SHA-2/SHA-3 112-8192 (multiples of 8), ChaCha20(-Poly1305) 256;
 * Blowfish, IDEA and CAST5 only when OpenSSL's legacy provider offers the
 * cipher. *out_bytes is the number of random bytes to draw (3DES: 168 or
 * 192 bits -> 24 bytes). */
cf_status crypto_sym_check(uint32_t algorithm, int32_t bits, size_t *out_bytes,
                           const char **out_why);
/* Is OpenSSL's legacy provider loaded? It is loaded at the first call
 * (once, thread-safe: pthread_once) and unloaded at exit. */
bool crypto_legacy_available(void);

/* -------------------------------------------------------------- digest */
/* SHA-256 of p (the Digest attribute, KMIP 1.4 section 3.17). */
cf_status crypto_sha256(const uint8_t *p, size_t n, uint8_t out[32]);

/* ------------------------------------------------------------ wrapping */

/* AES key wrap under kek (16, 24 or 32 bytes). padding false: RFC 3394
 * (in_len a multiple of 8, at least 16); true: RFC 5649 (any in_len >= 1).
 * The wrapped bytes are appended to out (in_len + 8 bytes for 3394, the
 * padded length + 8 for 5649). */
cf_status crypto_aes_wrap(const uint8_t *kek, size_t kek_len, bool padding, const uint8_t *in,
                          size_t in_len, cf_buf *out);
/* The reverse; CF_ERR_CRYPTO when the integrity check fails. */
cf_status crypto_aes_unwrap(const uint8_t *kek, size_t kek_len, bool padding, const uint8_t *in,
                            size_t in_len, cf_secret *out);

/* RSA-OAEP with hash (KMIP Hashing Algorithm; 0 = SHA-1, PKCS#1's default)
 * and MGF1 hash mgf_hash (0 = same as hash). pub may be a private key. */
cf_status crypto_rsa_oaep_wrap(EVP_PKEY *pub, uint32_t hash, uint32_t mgf_hash, const uint8_t *in,
                               size_t in_len, cf_buf *out);
cf_status crypto_rsa_oaep_unwrap(EVP_PKEY *priv, uint32_t hash, uint32_t mgf_hash,
                                 const uint8_t *in, size_t in_len, cf_secret *out);

#endif
