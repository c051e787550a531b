/*
 * rest_keys_import.c - POST /v1/keys/import: bring your own key, in the
 * clear, as raw bytes (base64), PEM text or DER (base64), or wrapped for
 * an import token ("format": "wrapped", docs/byok.md).
 *
 * The material becomes the KMIP object structure Register takes (1.4
 * section 2.2): a Symmetric Key with a Raw Key Block, a Private Key
 * (PKCS#8, PKCS#1 RSA, ECPrivateKey), a Public Key (X.509 SPKI, PKCS#1) or
 * a Certificate (X.509), and goes through core_register, which parses it
 * again, settles Cryptographic Algorithm/Length/Domain Parameters with the
 * material, computes the Digest and authorizes CORE_ACT_CREATE: an import
 * is exactly a KMIP Register. The Key Block carries the algorithm and
 * length the material has, so core keeps it plainly and Get rebuilds it
 * byte for byte.
 *
 * PEM (RFC 7468): text around the block is ignored (section 2); one block
 * is taken, its label saying what it is; an "EC PARAMETERS" block before
 * an EC key (openssl ecparam -genkey) is skipped; encrypted keys (PKCS#8
 * "ENCRYPTED PRIVATE KEY", or RFC 1421 headers) are refused: the server
 * has no passphrase. DER: the structures are tried in the order above; the
 * DER shape checks of crypto_key_load make the match unambiguous.
 *
 * Wrapped (BYOK): the blob is unwrapped by core with the token's private
 * key (core_byok_import_key) and never appears here in the clear. Without
 * "kind", a wrapped AES key is a root key (what customers bring their own
 * keys for: the KMS practice of importing customer root keys), a wrapped
 * HMAC key a standard one.
 *
 * Secrets: decoded material lives in cf_secret buffers, freed on every
 * path; the JSON string that carried it is cleansed in place before the
 * document is released. (jansson's own parse buffers are not: see the
 * report of issue 5.)
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "rest/rest_keys_int.h"
#include "util/log.h"

#define U(bit) KMIP_CRYPTOGRAPHIC_USAGE_MASK_##bit

/* What the material turned out to be. */
struct parsed {
    uint32_t object_type;
    uint32_t key_format;   /* 0: a certificate */
    uint32_t alg;          /* Cryptographic Algorithm (keys) */
    int32_t bits;
    cf_secret bytes;       /* raw key bytes, or DER */
};

static const struct kind {
    const char *label;     /* PEM label (RFC 7468 section 5-13) */
    uint32_t object_type;
    uint32_t key_format;
    const char *what;      /* for messages */
} kinds[] = {
    {"PRIVATE KEY", KMIP_OBJECT_TYPE_PRIVATE_KEY, KMIP_KEY_FORMAT_TYPE_PKCS_8,
     "a PKCS#8 private key"},
    {"RSA PRIVATE KEY", KMIP_OBJECT_TYPE_PRIVATE_KEY, KMIP_KEY_FORMAT_TYPE_PKCS_1,
     "a PKCS#1 RSA private key"},
    {"EC PRIVATE KEY", KMIP_OBJECT_TYPE_PRIVATE_KEY, KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY,
     "a SEC1 EC private key"},
    {"PUBLIC KEY", KMIP_OBJECT_TYPE_PUBLIC_KEY, KMIP_KEY_FORMAT_TYPE_X_509,
     "an X.509 SubjectPublicKeyInfo"},
    {"RSA PUBLIC KEY", KMIP_OBJECT_TYPE_PUBLIC_KEY, KMIP_KEY_FORMAT_TYPE_PKCS_1,
     "a PKCS#1 RSA public key"},
    {"CERTIFICATE", KMIP_OBJECT_TYPE_CERTIFICATE, 0, "an X.509 certificate"},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

/* --------------------------------------------------------------- base64 */
/* Into a secure buffer (the material of a key). *bad: rest_b64_decode's. */
static cf_status b64_decode(const char *s, size_t n, cf_secret *out, size_t *bad)
{
    *bad = n;
    if (n == 0 || n % 4 != 0)
        return CF_ERR_INVALID_FIELD;
    if (cf_secret_alloc(out, n / 4 * 3) != CF_OK)
        return CF_ERR_NOMEM;
    if (!rest_b64_decode(s, n, out->p, &out->len, bad)) {
        cf_secret_free(out);
        return CF_ERR_INVALID_FIELD;
    }
    return CF_OK;
}

static bool b64_field(rest_call *c, const char *s, size_t n, cf_secret *out, const char *what)
{
    size_t bad;
    cf_status st = b64_decode(s, n, out, &bad);
    if (st == CF_ERR_NOMEM)
        return rest_nomem(c);
    if (st == CF_OK)
        return true;
    if (bad < n)
        return rest_bad_field(c, "field \"material\": %s is not valid base64 (character %zu)",
                              what, bad);
    return rest_bad_field(c, "field \"material\": %s is not valid base64 (its length must be a "
                             "non-zero multiple of 4, padded with '=')", what);
}

/* ------------------------------------------------------------------ PEM */
static const char *find(const char *s, const char *end, const char *needle)
{
    size_t nl = strlen(needle);
    for (; s && (size_t)(end - s) >= nl; s++)
        if (memcmp(s, needle, nl) == 0)
            return s;
    return NULL;
}

struct pem_block {
    const char *label, *body, *next;
    size_t label_len, body_len;
};

/* The next "-----BEGIN L-----" ... "-----END L-----" from s. false: none
 * (*broken: a BEGIN without its END). */
static bool pem_next(const char *s, const char *end, struct pem_block *b, bool *broken)
{
    const char *p = find(s, end, "-----BEGIN "), *q, *e;
    char close[96];

    *broken = false;
    if (p == NULL)
        return false;
    *broken = true;
    b->label = p + 11;
    if ((q = find(b->label, end, "-----")) == NULL || q - b->label > 64)
        return false;
    b->label_len = (size_t)(q - b->label);
    b->body = q + 5;
    snprintf(close, sizeof close, "-----END %.*s-----", (int)b->label_len, b->label);
    if ((e = find(b->body, end, close)) == NULL)
        return false;
    b->body_len = (size_t)(e - b->body);
    b->next = e + strlen(close);
    *broken = false;
    return true;
}

static bool label_is(const struct pem_block *b, const char *label)
{
    return b->label_len == strlen(label) && memcmp(b->label, label, b->label_len) == 0;
}

/* The one key or certificate block of the text. */
static bool pem_block(rest_call *c, const char *s, size_t n, struct pem_block *b)
{
    const char *end = s + n;
    struct pem_block extra;
    bool broken;

    if (!pem_next(s, end, b, &broken))
        return rest_bad_field(c, "field \"material\": %s", broken ? "a PEM block has no matching "
                              "END line" : "no PEM block (a BEGIN line) found");
    if (label_is(b, "EC PARAMETERS") && !pem_next(b->next, end, b, &broken))
        return rest_bad_field(c, "field \"material\": EC PARAMETERS without a key");
    if (pem_next(b->next, end, &extra, &broken) || broken)
        return rest_bad_field(c, "field \"material\": give one PEM block (one key or one "
                                 "certificate)");
    if (label_is(b, "ENCRYPTED PRIVATE KEY"))
        return rest_bad_field(c, "field \"material\": encrypted private keys are not accepted "
                                 "(decrypt it first: openssl pkey)");
    return true;
}

/* The base64 of a PEM body without its line breaks, decoded. */
static bool pem_body(rest_call *c, const struct pem_block *b, cf_secret *out)
{
    cf_secret text = {0};
    size_t n = 0;
    bool ok;

    if (memchr(b->body, ':', b->body_len) != NULL)
        return rest_bad_field(c, "field \"material\": PEM headers (RFC 1421 encryption) are not "
                                 "accepted");
    if (cf_secret_alloc(&text, b->body_len + 1) != CF_OK)
        return rest_nomem(c);
    for (size_t i = 0; i < b->body_len; i++) {
        char ch = b->body[i];
        if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
            text.p[n++] = (uint8_t)ch;
    }
    ok = b64_field(c, (const char *)text.p, n, out, "the PEM body");
    cf_secret_free(&text);
    return ok;
}

/* ---------------------------------------------------------- what it is */
/* Does der hold kinds[k]? Fills alg/bits for keys. */
static cf_status try_kind(size_t k, const cf_secret *der, struct parsed *out)
{
    EVP_PKEY *key = NULL;
    uint32_t curve;
    cf_status st;

    if (kinds[k].object_type == KMIP_OBJECT_TYPE_CERTIFICATE)
        st = crypto_cert_check(der->p, der->len);
    else if ((st = crypto_key_load(kinds[k].object_type, kinds[k].key_format, 0, der->p,
                                   der->len, &key)) == CF_OK)
        st = crypto_key_info(key, &out->alg, &out->bits, &curve);
    EVP_PKEY_free(key);
    if (st != CF_OK)
        return st;
    out->object_type = kinds[k].object_type;
    out->key_format = kinds[k].key_format;
    return CF_OK;
}

static bool classify_pem(rest_call *c, const char *s, size_t n, struct parsed *out)
{
    struct pem_block b;
    cf_status st;
    size_t k;

    if (!pem_block(c, s, n, &b))
        return false;
    for (k = 0; k < N_KINDS && !label_is(&b, kinds[k].label); k++)
        ;
    if (k == N_KINDS)
        return rest_bad_field(c, "field \"material\": PEM label \"%.*s\" is not one of a key or "
                                 "certificate (PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY, "
                                 "PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE)",
                              (int)b.label_len, b.label);
    if (!pem_body(c, &b, &out->bytes))
        return false;
    if ((st = try_kind(k, &out->bytes, out)) == CF_ERR_NOMEM)
        return rest_nomem(c);
    if (st != CF_OK)
        return rest_bad_field(c, "field \"material\": the %s block is not %s (RSA or EC) that "
                                 "parses", kinds[k].label, kinds[k].what);
    return true;
}

static bool classify_der(rest_call *c, const char *s, size_t n, struct parsed *out)
{
    cf_status st = CF_ERR_INVALID_FIELD;

    if (!b64_field(c, s, n, &out->bytes, "the DER"))
        return false;
    for (size_t k = 0; k < N_KINDS && st != CF_OK && st != CF_ERR_NOMEM; k++)
        st = try_kind(k, &out->bytes, out);
    if (st == CF_ERR_NOMEM)
        return rest_nomem(c);
    if (st != CF_OK)
        return rest_bad_field(c, "field \"material\": the DER is not an RSA or EC key (PKCS#8, "
                                 "PKCS#1, SEC1, SubjectPublicKeyInfo) nor an X.509 certificate");
    return true;
}

static const struct rest_name_map raw_algs[] = {
    {"AES", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES},
    {"HMAC-SHA256", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256},
    {"HMAC-SHA384", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA384},
    {"HMAC-SHA512", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA512},
    {NULL, 0},
};

static bool classify_raw(rest_call *c, const char *alg, const char *s, size_t n,
                         struct parsed *out)
{
    size_t len;

    if (alg == NULL) {
        rest_reply_error(c->req, 400, "missing_data",
                         "field \"algorithm\" is required for raw material");
        return false;
    }
    if (!rest_map_value(raw_algs, alg, &out->alg))
        return rest_bad_field(c, "field \"algorithm\" must be AES, HMAC-SHA256, HMAC-SHA384 or "
                                 "HMAC-SHA512 for raw material");
    if (!b64_field(c, s, n, &out->bytes, "the raw key"))
        return false;
    len = out->bytes.len;
    if (out->alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES && len != 16 && len != 24 && len != 32)
        return rest_bad_field(c, "field \"material\": an AES key is 16, 24 or 32 bytes, not %zu",
                              len);
    if (out->alg != KMIP_CRYPTOGRAPHIC_ALGORITHM_AES && (len < 16 || len > 64))
        return rest_bad_field(c, "field \"material\": an HMAC key is 16 to 64 bytes, not %zu",
                              len);
    out->object_type = KMIP_OBJECT_TYPE_SYMMETRIC_KEY;
    out->key_format = KMIP_KEY_FORMAT_TYPE_RAW;
    out->bits = (int32_t)(len * 8);
    return true;
}

/* ----------------------------------------------------- the KMIP object */
/* Symmetric/Private/Public Key { Key Block { Key Format Type, Key Value {
 * Key Material }, Cryptographic Algorithm, Cryptographic Length } }, in
 * the order core_key_block builds it; or Certificate { Certificate Type,
 * Certificate Value }. Arena copies (the arena is cleansed on reset). */
static ttlv_item *object_of(cf_arena *a, const struct parsed *p)
{
    ttlv_item *o, *kb, *kv, *x[4];

    if (p->object_type == KMIP_OBJECT_TYPE_CERTIFICATE) {
        o = ttlv_new_struct(a, KMIP_TAG_CERTIFICATE);
        x[0] = ttlv_new_enum(a, KMIP_TAG_CERTIFICATE_TYPE, KMIP_CERTIFICATE_TYPE_X_509);
        x[1] = ttlv_new_bytes(a, KMIP_TAG_CERTIFICATE_VALUE, p->bytes.p, p->bytes.len);
        if (!o || !x[0] || !x[1])
            return NULL;
        ttlv_append(o, x[0]);
        ttlv_append(o, x[1]);
        return o;
    }
    o = ttlv_new_struct(a, p->object_type == KMIP_OBJECT_TYPE_SYMMETRIC_KEY ? KMIP_TAG_SYMMETRIC_KEY
                           : p->object_type == KMIP_OBJECT_TYPE_PRIVATE_KEY ? KMIP_TAG_PRIVATE_KEY
                                                                            : KMIP_TAG_PUBLIC_KEY);
    kb = ttlv_new_struct(a, KMIP_TAG_KEY_BLOCK);
    kv = ttlv_new_struct(a, KMIP_TAG_KEY_VALUE);
    x[0] = ttlv_new_enum(a, KMIP_TAG_KEY_FORMAT_TYPE, p->key_format);
    x[1] = ttlv_new_bytes(a, KMIP_TAG_KEY_MATERIAL, p->bytes.p, p->bytes.len);
    x[2] = ttlv_new_enum(a, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, p->alg);
    x[3] = ttlv_new_int(a, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, p->bits);
    if (!o || !kb || !kv || !x[0] || !x[1] || !x[2] || !x[3])
        return NULL;
    ttlv_append(kv, x[1]);
    ttlv_append(kb, x[0]);
    ttlv_append(kb, kv);
    ttlv_append(kb, x[2]);
    ttlv_append(kb, x[3]);
    ttlv_append(o, kb);
    return o;
}

/* As POST /v1/keys: a root AES key is an envelope KEK (docs/envelope.md),
 * it wraps and unwraps. */
static uint32_t default_usage(const struct parsed *p, bool root)
{
    switch (p->object_type) {
    case KMIP_OBJECT_TYPE_SYMMETRIC_KEY:
        if (p->alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES)
            return root ? U(WRAP_KEY) | U(UNWRAP_KEY) : U(ENCRYPT) | U(DECRYPT);
        return U(MAC_GENERATE) | U(MAC_VERIFY);
    case KMIP_OBJECT_TYPE_PRIVATE_KEY:
        return U(SIGN) | U(VERIFY);
    default: /* public keys, certificates */
        return U(VERIFY);
    }
}

/* "algorithm" with PEM/DER: optional, must say what the material is. */
static bool check_alg(rest_call *c, const char *alg, const struct parsed *p)
{
    const char *is = p->object_type == KMIP_OBJECT_TYPE_CERTIFICATE ? NULL
                     : p->alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA  ? "RSA"
                                                                   : "EC";
    if (alg == NULL || (is && strcmp(alg, is) == 0))
        return true;
    if (is == NULL)
        return rest_bad_field(c, "field \"algorithm\" does not apply to a certificate");
    return rest_bad_field(c, "field \"algorithm\": the material is an %s key, not %.32s", is, alg);
}

static void import_parsed(rest_call *c, const rest_key_opts *o, const struct parsed *p)
{
    ttlv_item *attrs = ttlv_new_struct(c->env->arena, KMIP_TAG_ATTRIBUTES);
    ttlv_item *object = object_of(c->env->arena, p);
    core_object *obj;
    uint32_t mask;
    cf_status st;

    if (attrs == NULL || object == NULL) {
        rest_nomem(c);
        return;
    }
    if (!rest_usage_mask(c, o->usage, default_usage(p, o->root), &mask) ||
        !rest_key_opts_attrs(c, o, true, mask, o->root, attrs))
        return;
    if ((st = core_register(&c->creq, p->object_type, object, attrs, &obj)) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    CF_LOGI("rest import %s (type %u) by %s", obj->uid, p->object_type, c->creq.who->id);
    rest_key_created(c, obj, NULL, o->activate);
}

/* ------------------------------------------------------------- wrapped */
/* The wrapped blob: RSA-4096 (512 bytes) + AES-KWP of 64 bytes + 8, with room. */
#define WRAPPED_MAX 2048

static const struct rest_name_map wrappings[] = {
    {"rsa_aes_key_wrap_sha256", CORE_BYOK_RSA_AES_KEY_WRAP_SHA256},
    {"rsa_oaep_sha256", CORE_BYOK_RSA_OAEP_SHA256},
    {NULL, 0},
};

bool rest_byok_wrapped(rest_call *c, json_t *body, core_byok_wrapped *out)
{
    const char *w = NULL, *m = NULL;
    cf_secret blob = {0};
    uint32_t v;
    bool ok;

    memset(out, 0, sizeof *out);
    if (!rest_get_string(c, body, "import_token", true, &out->token) ||
        !rest_get_string(c, body, "wrapping", true, &w) ||
        !rest_get_string(c, body, "material", true, &m))
        return false;
    if (!rest_map_value(wrappings, w, &v))
        return rest_bad_field(c, "field \"wrapping\" must be rsa_aes_key_wrap_sha256 or "
                                 "rsa_oaep_sha256");
    out->wrapping = (core_byok_wrapping)v;
    if (json_string_length(json_object_get(body, "material")) > WRAPPED_MAX / 3 * 4)
        return rest_bad_field(c, "field \"material\": the wrapped blob is at most %d bytes",
                              WRAPPED_MAX);
    if (!b64_field(c, m, json_string_length(json_object_get(body, "material")), &blob,
                   "the wrapped material"))
        return false;
    out->blob = cf_arena_memdup(c->env->arena, blob.p, blob.len);
    out->blob_len = blob.len;
    ok = out->blob != NULL || rest_nomem(c);
    cf_secret_free(&blob);
    return ok;
}

static const struct rest_name_map wrapped_algs[] = {
    {"AES", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES},
    {"HMAC-SHA1", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA1},
    {"HMAC-SHA224", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA224},
    {"HMAC-SHA256", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256},
    {"HMAC-SHA384", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA384},
    {"HMAC-SHA512", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA512},
    {NULL, 0},
};

/* The attributes of a wrapped import: algorithm, length (when given),
 * then those of POST /v1/keys. */
static bool wrapped_attrs(rest_call *c, json_t *body, const char *alg, rest_key_opts *o,
                          ttlv_item *list)
{
    cf_arena *a = c->env->arena;
    struct parsed p = {.object_type = KMIP_OBJECT_TYPE_SYMMETRIC_KEY};
    json_int_t bits = 0;
    uint32_t mask;

    if (alg == NULL) {
        rest_reply_error(c->req, 400, "missing_data",
                         "field \"algorithm\" is required for wrapped material");
        return false;
    }
    if (!rest_map_value(wrapped_algs, alg, &p.alg))
        return rest_bad_field(c, "field \"algorithm\" must be AES or HMAC-SHA1, -SHA224, "
                                 "-SHA256, -SHA384, -SHA512 for wrapped material");
    if (json_object_get(body, "kind") == NULL)
        o->root = p.alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES; /* see the note atop */
    if (o->root && p.alg != KMIP_CRYPTOGRAPHIC_ALGORITHM_AES)
        return rest_bad_field(c, "field \"kind\": a root key is an AES key");
    if (!rest_get_int(c, body, "length", false, &bits))
        return false;
    if (json_object_get(body, "length") && (bits <= 0 || bits > 512 || bits % 8 != 0))
        return rest_bad_field(c, "field \"length\" must be a number of bits (AES 128, 192, "
                                 "256; HMAC 128 to 512)");
    return rest_attr_append(c, list, "Cryptographic Algorithm",
                            ttlv_new_enum(a, KMIP_TAG_ATTRIBUTE_VALUE, p.alg)) &&
           (bits == 0 || rest_attr_append(c, list, "Cryptographic Length",
                                          ttlv_new_int(a, KMIP_TAG_ATTRIBUTE_VALUE,
                                                       (int32_t)bits))) &&
           rest_usage_mask(c, o->usage, default_usage(&p, o->root), &mask) &&
           rest_key_opts_attrs(c, o, true, mask, o->root, list);
}

static void import_wrapped(rest_call *c, json_t *body, const char *alg, rest_key_opts *o)
{
    ttlv_item *attrs = ttlv_new_struct(c->env->arena, KMIP_TAG_ATTRIBUTES);
    core_byok_wrapped w;
    core_object *obj;
    cf_status st;

    if (attrs == NULL) {
        rest_nomem(c);
        return;
    }
    if (!wrapped_attrs(c, body, alg, o, attrs) || !rest_byok_wrapped(c, body, &w))
        return;
    if ((st = core_byok_import_key(&c->creq, &w, attrs, &obj)) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    rest_key_created(c, obj, NULL, o->activate);
}

/* Fields that belong to one format only. */
static bool fields_fit(rest_call *c, json_t *body, bool wrapped)
{
    static const char *const only_wrapped[] = {"import_token", "wrapping", "length"};
    for (size_t i = 0; i < sizeof only_wrapped / sizeof only_wrapped[0]; i++)
        if (!wrapped && json_object_get(body, only_wrapped[i]) != NULL)
            return rest_bad_field(c, "field \"%s\" applies to the wrapped format only",
                                  only_wrapped[i]);
    return true;
}

void rest_keys_import(rest_call *c)
{
    static const char *const fields[] = {"format", "material", "algorithm", "name", "usage",
                                         "activate", "kind", "tags", "import_token",
                                         "wrapping", "length", NULL};
    const char *format = NULL, *alg = NULL, *m = NULL;
    struct parsed p = {0};
    rest_key_opts o;
    json_t *body = NULL;
    size_t mn;
    cf_status st;
    bool ok;

    if (!rest_body(c, fields, false, &body))
        return;
    /* Core's CREATE right before parsing anything (core_register checks it
     * again): a Reader is refused whatever it sends. */
    if ((st = core_req_authorize(&c->creq, CORE_ACT_CREATE, NULL)) != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    if (!rest_get_string(c, body, "format", true, &format) ||
        !rest_get_string(c, body, "material", true, &m) ||
        !rest_get_string(c, body, "algorithm", false, &alg) ||
        !rest_key_opts_read(c, body, false, &o))
        goto out;
    mn = json_string_length(json_object_get(body, "material"));
    if (!fields_fit(c, body, strcmp(format, "wrapped") == 0))
        goto out;
    if (strcmp(format, "wrapped") == 0) {
        import_wrapped(c, body, alg, &o);
        goto out;
    }
    if (strcmp(format, "raw") == 0)
        ok = classify_raw(c, alg, m, mn, &p);
    else if (strcmp(format, "pem") == 0)
        ok = classify_pem(c, m, mn, &p) && check_alg(c, alg, &p);
    else if (strcmp(format, "der") == 0)
        ok = classify_der(c, m, mn, &p) && check_alg(c, alg, &p);
    else
        ok = rest_bad_field(c, "field \"format\" must be raw, pem, der or wrapped");
    if (ok)
        import_parsed(c, &o, &p);
out:
    cf_secret_free(&p.bytes);
    rest_json_cleanse(json_object_get(body, "material"));
    json_decref(body);
}
