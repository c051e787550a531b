/*
 * crypto_x509.c - building X.509 v3 certificates in memory.
 *
 * Design: three kinds of certificate (CA, server, client) differ only by
 * their extensions, so each kind is a table of (NID, openssl.cnf-style
 * value) fed to X509V3_EXT_conf_nid; the one extension whose content comes
 * from outside, subjectAltName, is built as GENERAL_NAMES and added with
 * X509_add1_ext_i2d, so an operator's SAN string can never inject other
 * entries through the config-string syntax (a comma in "DNS:a,IP:b").
 *
 * Choices that clients care about (vCenter, ESXi, PyKMIP, Python ssl at
 * security level 2): RSA keys of 2048+ bits, SHA-256 signatures, keyUsage
 * and EKU present and consistent (serverAuth+clientAuth on the server
 * certificate, ESXi 6.7 used one certificate for both), SAN with both IP
 * and DNS entries, notBefore backdated a few minutes for clock skew, and a
 * random positive serial (126 random bits, 16 bytes once DER-encoded).
 */
#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/log.h"

/* Clients whose clock is a little behind must still accept a fresh cert. */
#define NOT_BEFORE_SKEW (5 * 60)
#define SERIAL_LEN 16
#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63

struct ext_conf {
    int nid;
    const char *value;
};

static const struct ext_conf ext_ca[] = {
    {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
};

static const struct ext_conf ext_server[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
    {NID_ext_key_usage, "serverAuth,clientAuth"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
};

static const struct ext_conf ext_client[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
    {NID_ext_key_usage, "clientAuth"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
    const struct ext_conf *ext;
    size_t n;
} ext_by_kind[] = {
    [CRYPTO_CERT_CA] = {ext_ca, N_OF(ext_ca)},
    [CRYPTO_CERT_SERVER] = {ext_server, N_OF(ext_server)},
    [CRYPTO_CERT_CLIENT] = {ext_client, N_OF(ext_client)},
};

/* Always in a server certificate, before the operator's extra names. */
static const char *const san_default[] = {"127.0.0.1", "::1", "localhost"};

/* ----------------------------------------------------------------- SAN */

static bool dns_name_ok(const char *s)
{
    size_t n = strnlen(s, DNS_NAME_MAX + 1), label = 0;

    if (n == 0 || n > DNS_NAME_MAX)
        return false;
    if (strncmp(s, "*.", 2) == 0 && n > 2) { /* a wildcard only as the whole first label */
        s += 2;
        n -= 2;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-'))
            return false;
        if (++label > DNS_LABEL_MAX)
            return false;
    }
    return label > 0;
}

cf_status crypto_x509_check_san(const char *s)
{
    ASN1_OCTET_STRING *ip;

    if (s == NULL) {
        CF_LOGE("subjectAltName entry is NULL");
        return CF_ERR_INVALID_FIELD;
    }
    if ((ip = a2i_IPADDRESS(s)) != NULL) {
        ASN1_OCTET_STRING_free(ip);
        return CF_OK;
    }
    ERR_clear_error(); /* "not an IP address" is an answer, not an error */
    if (dns_name_ok(s))
        return CF_OK;
    CF_LOGE("subjectAltName entry \"%.300s\" is neither an IP address nor a DNS name", s);
    return CF_ERR_INVALID_FIELD;
}

static cf_status san_push(GENERAL_NAMES *gens, const char *s)
{
    ASN1_OCTET_STRING *ip;
    ASN1_IA5STRING *dns;
    GENERAL_NAME *gn;
    cf_status rc;

    if ((rc = crypto_x509_check_san(s)) != CF_OK)
        return rc;
    if ((gn = GENERAL_NAME_new()) == NULL)
        return CF_ERR_NOMEM;
    if ((ip = a2i_IPADDRESS(s)) != NULL) {
        GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
    } else {
        ERR_clear_error();
        dns = ASN1_IA5STRING_new();
        if (dns == NULL || ASN1_STRING_set(dns, s, (int)strlen(s)) != 1) {
            ASN1_IA5STRING_free(dns);
            GENERAL_NAME_free(gn);
            return CF_ERR_NOMEM;
        }
        GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
    }
    if (sk_GENERAL_NAME_push(gens, gn) <= 0) {
        GENERAL_NAME_free(gn);
        return CF_ERR_NOMEM;
    }
    return CF_OK;
}

/* True when s already appears among the first n names (default + extra). */
static bool san_seen(const struct crypto_cert_spec *spec, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        const char *t = i < N_OF(san_default) ? san_default[i]
                                              : spec->extra_san[i - N_OF(san_default)];
        if (strcasecmp(t, s) == 0)
            return true;
    }
    return false;
}

static cf_status x509_add_san(X509 *x, const struct crypto_cert_spec *spec)
{
    size_t total = N_OF(san_default) + spec->n_extra;
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    cf_status rc = CF_OK;

    if (gens == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < total && rc == CF_OK; i++) {
        const char *s = i < N_OF(san_default) ? san_default[i]
                                              : spec->extra_san[i - N_OF(san_default)];
        if (s != NULL && san_seen(spec, i, s))
            continue;
        rc = san_push(gens, s);
    }
    if (rc == CF_OK
        && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
        rc = CF_ERR_CRYPTO;
    GENERAL_NAMES_free(gens);
    return rc;
}

/* ---------------------------------------------------------- the parts */

static cf_status x509_set_serial(X509 *x)
{
    uint8_t b[SERIAL_LEN];
    ASN1_INTEGER *ai = NULL;
    BIGNUM *bn = NULL;
    cf_status rc;

    if ((rc = crypto_random(b, sizeof b)) != CF_OK)
        return rc;
    /* Top bit clear: positive without a leading 0x00; next bit set: never
     * shorter than 16 bytes (CA/B Forum asks for 64+ random bits). */
    b[0] = (uint8_t)((b[0] & 0x7f) | 0x40);
    rc = CF_ERR_CRYPTO;
    if ((bn = BN_bin2bn(b, (int)sizeof b, NULL)) != NULL
        && (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL && X509_set_serialNumber(x, ai) == 1)
        rc = CF_OK;
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return rc;
}

static cf_status x509_set_validity(X509 *x, const struct crypto_cert_spec *spec)
{
    if (X509_gmtime_adj(X509_getm_notBefore(x), -NOT_BEFORE_SKEW) == NULL
        || X509_time_adj_ex(X509_getm_notAfter(x), (int)spec->days, -NOT_BEFORE_SKEW, NULL)
               == NULL) /* the whole period is `days`, backdating included */
        return CF_ERR_CRYPTO;
    if (spec->not_after_max != NULL
        && ASN1_TIME_compare(X509_get0_notAfter(x), spec->not_after_max) > 0
        && X509_set1_notAfter(x, spec->not_after_max) != 1)
        return CF_ERR_CRYPTO;
    return CF_OK;
}

static cf_status x509_set_names(X509 *x, const struct crypto_cert_spec *spec)
{
    X509_NAME *name = X509_NAME_new();
    const X509_NAME *issuer;
    int ok;

    if (name == NULL)
        return CF_ERR_NOMEM;
    ok = (spec->org == NULL
          || X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                        (const unsigned char *)spec->org, -1, -1, 0) == 1)
         && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       (const unsigned char *)spec->cn, -1, -1, 0) == 1;
    issuer = spec->issuer != NULL ? X509_get_subject_name(spec->issuer) : name;
    ok = ok && X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, issuer) == 1;
    X509_NAME_free(name);
    return ok ? CF_OK : CF_ERR_CRYPTO;
}

static cf_status x509_add_exts(X509 *x, const struct crypto_cert_spec *spec)
{
    const struct ext_conf *ext = ext_by_kind[spec->kind].ext;
    size_t n = ext_by_kind[spec->kind].n;
    X509V3_CTX ctx;

    /* For a self-signed CA the issuer is x itself: its subjectKeyIdentifier
     * (added before authorityKeyIdentifier) is the one AKI refers to. */
    X509V3_set_ctx(&ctx, spec->issuer != NULL ? spec->issuer : x, x, NULL, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, ext[i].nid, ext[i].value);
        int ok = e != NULL && X509_add_ext(x, e, -1) == 1;
        X509_EXTENSION_free(e);
        if (!ok)
            return CF_ERR_CRYPTO;
    }
    return spec->kind == CRYPTO_CERT_SERVER ? x509_add_san(x, spec) : CF_OK;
}

/* ------------------------------------------------------------- issuing */

cf_status crypto_x509_issue(const struct crypto_cert_spec *spec, X509 **out)
{
    EVP_PKEY *signer = spec->issuer_key != NULL ? spec->issuer_key : spec->key;
    cf_status rc = CF_ERR_CRYPTO;
    X509 *x;

    *out = NULL;
    if (spec->key == NULL || spec->cn == NULL || (unsigned)spec->kind >= N_OF(ext_by_kind)
        || (spec->issuer != NULL) != (spec->issuer_key != NULL))
        return CF_ERR_INTERNAL;
    ERR_clear_error();
    if ((x = X509_new()) == NULL) {
        rc = CF_ERR_NOMEM;
        goto out;
    }
    if (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_pubkey(x, spec->key) != 1)
        goto out;
    if ((rc = x509_set_serial(x)) != CF_OK || (rc = x509_set_validity(x, spec)) != CF_OK
        || (rc = x509_set_names(x, spec)) != CF_OK || (rc = x509_add_exts(x, spec)) != CF_OK)
        goto out;
    rc = CF_ERR_CRYPTO;
    if (X509_sign(x, signer, EVP_sha256()) <= 0)
        goto out;
    *out = x;
    x = NULL;
    rc = CF_OK;
out:
    if (rc != CF_OK)
        crypto_log_errors("issue certificate");
    X509_free(x);
    return rc;
}
