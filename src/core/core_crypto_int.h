/*
 * core_crypto_int.h - what core_crypto.c (Encrypt ... RNG) shares with
 * core_derive.c (Derive Key): the key of one operation, loaded, checked for
 * type, state and usage mask, its Cryptographic Parameters parsed and its
 * material opened (steps 1-4 of core_crypto.c's design note), and the
 * symmetric encryption the ENCRYPT derivation method reuses.
 */
#ifndef CF_CORE_CRYPTO_INT_H
#define CF_CORE_CRYPTO_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/types.h>

#include "core/core.h"
#include "crypto/crypto_ops.h"

/* Cryptographic Parameters (KMIP 1.4 section 2.1.11), parsed. */
typedef struct cparams {
    uint32_t mode, padding, hash, dsa, alg, mgf_hash;
    bool has_random_iv, random_iv;
    int32_t iv_bits, tag_len, counter_bits, icv, salt_len;
    bool has_iv_bits, has_tag_len, has_counter_bits, has_icv, has_salt_len;
} cparams;

typedef struct keyuse {
    core_object *obj;
    cparams p;
    cf_secret material;   /* symmetric bytes (cleansed by core_crypto_key_release) */
    EVP_PKEY *pkey;       /* asymmetric keys */
} keyuse;

/* Object types an operation accepts (core_crypto_key_acquire's types). */
#define KEYUSE_SYM 1u
#define KEYUSE_PUB 2u
#define KEYUSE_PRIV 4u
#define KEYUSE_SECRET 8u

/* Steps 1-4 for the key uid: params are the request's Cryptographic
 * Parameters (NULL: the key's own); opname names the operation in the
 * client's message. Release k with core_crypto_key_release on every path. */
cf_status core_crypto_key_acquire(core_req *req, const char *uid, const ttlv_item *params,
                                  unsigned types, uint32_t usage_bit, enum core_usage usage,
                                  const char *opname, keyuse *k);
void core_crypto_key_release(keyuse *k);
/* An Enumeration attribute of obj (index 0), or 0. */
uint32_t core_crypto_attr_enum(const core_object *obj, const char *name);
/* crypto_ops' statuses and reasons as the client's (CF_ERR_INVALID_FIELD
 * becomes CF_ERR_CRYPTO_PARAMS); what names the step in messages. */
cf_status core_crypto_result(core_req *req, cf_status st, const char *why, const char *what);
/* The cipher request for k and in; for Encrypt, a generated IV in out. */
cf_status core_crypto_cipher_setup(core_req *req, const keyuse *k, const core_crypto_in *in,
                                   bool enc, crypto_cipher_req *r, crypto_cipher_info *info,
                                   core_crypto_out *out);
/* Symmetric Encrypt of in->data; ciphertext (and tag) in the arena. */
cf_status core_crypto_sym_encrypt(core_req *req, const keyuse *k, const core_crypto_in *in,
                                  core_crypto_out *out);

#endif
