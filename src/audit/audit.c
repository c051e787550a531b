/*
 * audit.c - audit records: canonical JSON, hash, HMAC of sensitive values.
 *
 * The canonical form is jansson's compact, key-sorted dump of the record
 * without "hash" (audit.h), so any JSON library that sorts keys bytewise
 * and writes no whitespace reproduces it: an auditor can check a trail
 * with ten lines of Python. Records hold only text and integers (no
 * reals), so the dump of a parsed record is the canonical form again.
 * Text that is not valid UTF-8 (it can only come from a certificate
 * subject or a client-chosen name in a message) is kept readable with its
 * high bytes as "\xNN" rather than refused: an audit record must always be
 * writable.
 */
#include "audit/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "util/log.h"

const char *audit_id_kind_name(audit_id_kind k)
{
    switch (k) {
    case AUDIT_ID_API_KEY: return "api_key";
    case AUDIT_ID_CERTIFICATE: return "certificate";
    case AUDIT_ID_OPERATOR: return "operator";
    case AUDIT_ID_SYSTEM: return "system";
    case AUDIT_ID_NONE: break;
    }
    return "none";
}

void audit_hex(const uint8_t *p, size_t n, char *out)
{
    static const char x[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = x[p[i] >> 4];
        out[2 * i + 1] = x[p[i] & 15];
    }
    out[2 * n] = '\0';
}

bool audit_is_hex64(const char *s)
{
    size_t i;
    if (s == NULL)
        return false;
    for (i = 0; i < AUDIT_HASH_HEX; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[i] == '\0';
}

int64_t audit_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void audit_time_format(int64_t ms, char out[25])
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || ms >= INT64_C(253402300800000) || gmtime_r(&sec, &tm) == NULL ||
        strftime(out, 25, "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
        memcpy(out, "1970-01-01T00:00:00.000Z", 25);
        return;
    }
    snprintf(out + 19, 6, ".%03dZ", (int)(ms % 1000));
}

static cf_status sha256_hex(const char *p, size_t n, char out[AUDIT_HASH_HEX + 1])
{
    uint8_t md[32];
    unsigned int mdlen = 0;
    ERR_clear_error();
    if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        CF_LOGE("audit: SHA-256 failed");
        ERR_clear_error();
        return CF_ERR_CRYPTO;
    }
    audit_hex(md, 32, out);
    return CF_OK;
}

cf_status audit_hmac(const uint8_t key[AUDIT_HMAC_KEY_LEN], const char *chain, const char *kind,
                     const uint8_t *p, size_t n, char out[AUDIT_HASH_HEX + 1])
{
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    uint8_t md[32];
    size_t mdlen = 0;
    cf_status st = CF_ERR_CRYPTO;

    ERR_clear_error();
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL)
        goto out;
    /* chain NUL kind NUL value: the NULs keep the parts apart (a chain or
     * kind never holds one). */
    if (EVP_MAC_init(ctx, key, AUDIT_HMAC_KEY_LEN, params) != 1 ||
        EVP_MAC_update(ctx, (const uint8_t *)chain, strlen(chain) + 1) != 1 ||
        EVP_MAC_update(ctx, (const uint8_t *)kind, strlen(kind) + 1) != 1 ||
        (n && EVP_MAC_update(ctx, p, n) != 1) ||
        EVP_MAC_final(ctx, md, &mdlen, sizeof md) != 1 || mdlen != 32)
        goto out;
    audit_hex(md, 32, out);
    st = CF_OK;
out:
    if (st != CF_OK)
        CF_LOGE("audit: HMAC-SHA256 failed");
    ERR_clear_error();
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    cf_cleanse(md, sizeof md);
    return st;
}

/* ------------------------------------------------------------ JSON form */

/* A JSON string of s; invalid UTF-8 is kept with bytes >= 0x80 as \xNN. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    char *esc, *w;
    if (j != NULL)
        return j;
    if ((esc = malloc(strlen(s) * 4 + 1)) == NULL)
        return NULL;
    w = esc;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80) {
            snprintf(w, 5, "\\x%02x", *p);
            w += 4;
        } else {
            *w++ = (char)*p;
        }
    }
    *w = '\0';
    j = json_string(esc);
    free(esc);
    return j;
}

/* Set key to the string s (absent when s is NULL); false on failure. */
static bool put(json_t *o, const char *key, const char *s)
{
    return s == NULL || json_object_set_new(o, key, jstr(s)) == 0;
}

static json_t *identity_json(const audit_record *r)
{
    json_t *o = json_object();
    if (o == NULL ||
        json_object_set_new(o, "kind", json_string(audit_id_kind_name(r->identity.kind))) != 0 ||
        !put(o, "id", r->identity.id) || !put(o, "name", r->identity.name) ||
        !put(o, "cert_sha256", r->identity.cert_sha256) ||
        !put(o, "subject", r->identity.subject)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *object_json(const audit_record *r)
{
    json_t *o = json_object();
    if (o == NULL || !put(o, "id", r->object_id) || !put(o, "tenant", r->object_tenant) ||
        (r->object_version > 0 &&
         json_object_set_new(o, "version", json_integer(r->object_version)) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *hmac_json(const audit_record *r)
{
    json_t *o = json_object();
    if (o == NULL || !put(o, "name", r->hmac_name) || !put(o, "aad", r->hmac_aad)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A reason cut at AUDIT_REASON_MAX bytes, on a character boundary. */
static json_t *reason_json(const char *s)
{
    char buf[AUDIT_REASON_MAX + 1];
    size_t n = strnlen(s, AUDIT_REASON_MAX + 1);
    if (n <= AUDIT_REASON_MAX)
        return jstr(s);
    n = AUDIT_REASON_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return jstr(buf);
}

static json_t *record_json(const audit_record *r)
{
    char t[25];
    json_t *o = json_object();
    audit_time_format(r->time_ms, t);
    if (o == NULL || !put(o, "chain", r->chain) ||
        json_object_set_new(o, "seq", json_integer(r->seq)) != 0 || !put(o, "time", t) ||
        json_object_set_new(o, "tenant", r->tenant ? jstr(r->tenant) : json_null()) != 0 ||
        json_object_set_new(o, "identity", identity_json(r)) != 0 ||
        !put(o, "source", r->source) || !put(o, "frontend", r->frontend) ||
        !put(o, "operation", r->operation) || json_object_set_new(o, "object", object_json(r)) ||
        !put(o, "result", r->result) ||
        (r->reason && json_object_set_new(o, "reason", reason_json(r->reason)) != 0) ||
        !put(o, "request_id", r->request_id) || !put(o, "batch_item_id", r->batch_item_id) ||
        json_object_set_new(o, "hmac", hmac_json(r)) != 0 || !put(o, "prev", r->prev)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The canonical dump (without "hash") and its hash. */
static cf_status canonical_hash(json_t *o, char out[AUDIT_HASH_HEX + 1])
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    cf_status st;
    if (text == NULL)
        return CF_ERR_NOMEM;
    st = sha256_hex(text, strlen(text), out);
    cf_json_free(text);
    return st;
}

cf_status audit_record_seal(audit_record *r, char **out_json, size_t *out_len)
{
    json_t *o;
    char *text;
    cf_status st;

    *out_json = NULL;
    *out_len = 0;
    if (r->chain == NULL || r->operation == NULL || r->result == NULL ||
        r->request_id == NULL || r->frontend == NULL || r->seq < 1 || !audit_is_hex64(r->prev))
        return CF_ERR_INVALID_FIELD;
    if ((o = record_json(r)) == NULL)
        return CF_ERR_NOMEM;
    if ((st = canonical_hash(o, r->hash)) != CF_OK)
        goto out;
    if (json_object_set_new(o, "hash", json_string(r->hash)) != 0 ||
        (text = cf_json_dumps_malloc(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        st = CF_ERR_NOMEM;
        goto out;
    }
    *out_json = text;
    *out_len = strlen(text);
out:
    json_decref(o);
    return st;
}

static bool copy_str(json_t *o, const char *key, char *out, size_t size)
{
    json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);
    if (s == NULL || json_string_length(v) >= size || strlen(s) != json_string_length(v))
        return false;
    memcpy(out, s, json_string_length(v) + 1);
    return true;
}

cf_status audit_record_parse(const char *json, size_t len, audit_parsed *out)
{
    json_error_t err;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    json_t *seq;
    cf_status st = CF_ERR_INVALID_MSG;

    memset(out, 0, sizeof *out);
    if (!json_is_object(o))
        goto out;
    seq = json_object_get(o, "seq");
    if (!copy_str(o, "chain", out->chain, sizeof out->chain) || !json_is_integer(seq) ||
        !copy_str(o, "prev", out->prev, sizeof out->prev) ||
        !copy_str(o, "hash", out->hash, sizeof out->hash) || !audit_is_hex64(out->prev) ||
        !audit_is_hex64(out->hash) || json_integer_value(seq) < 1)
        goto out;
    out->seq = json_integer_value(seq);
    json_object_del(o, "hash");
    st = canonical_hash(o, out->computed);
out:
    json_decref(o);
    return st;
}
