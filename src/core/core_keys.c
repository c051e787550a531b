/*
 * core_keys.c - Register of every object type (KMIP 1.4 section 4.3) and
 * Create Key Pair (4.2).
 *
 * Register checks what it is given before keeping it: the object structure
 * must match the Object Type, key material must parse as its Key Format
 * Type says (an AES key of 15 bytes, DER that does not decode: Invalid
 * Field), and the Key Block's Cryptographic Algorithm/Length must agree with
 * the attributes and with the material; what the client left out is filled
 * in from the material. It then decides how to keep the material (core.h,
 * "Stored material"): plainly when the Key Block Get would rebuild from it
 * is byte-identical to the registered one, verbatim otherwise, so Get
 * always returns exactly what was registered.
 *
 * Create Key Pair generates on the calling worker's thread: RSA-4096 takes
 * 1-3 s (see crypto_rsa_generate), during which the worker's other
 * connections wait.
 */
#include "core/core_int.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "util/limits.h"
#include "util/log.h"

/* ------------------------------------------------------- attribute help */

/* The value of a single-instance attribute settled between the client's
 * attribute (a), the Key Block (b) and the material (d); 0 = absent. The
 * attribute is added when the client did not give it. eq decides equality
 * (EC algorithms form a family). */
static cf_status settle_enum(core_req *req, core_object *obj, const char *name, uint32_t b,
                             uint32_t d, bool (*eq)(uint32_t, uint32_t))
{
    const ttlv_item *a = core_attr_find(obj, name, 0);
    uint32_t av = a ? a->v.u32 : 0;
    ttlv_item *v;

    if (a && b && !eq(av, b))
        return core_fail(req, CF_ERR_INVALID_FIELD, "%s differs between the attributes and the Key Block",
                         name);
    if (d && ((a && !eq(av, d)) || (b && !eq(b, d))))
        return core_fail(req, CF_ERR_INVALID_FIELD, "%s does not match the key material", name);
    if (a || !(b || d))
        return CF_OK;
    v = ttlv_new_enum(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, b ? b : d);
    return v ? core_object_append_attr(req, obj, name, v) : CF_ERR_NOMEM;
}

static cf_status settle_int(core_req *req, core_object *obj, const char *name, int32_t b, int32_t d)
{
    const ttlv_item *a = core_attr_find(obj, name, 0);
    ttlv_item *v;

    if (a && b && a->v.i32 != b)
        return core_fail(req, CF_ERR_INVALID_FIELD, "%s differs between the attributes and the Key Block",
                         name);
    if (d && ((a && a->v.i32 != d) || (b && b != d)))
        return core_fail(req, CF_ERR_INVALID_FIELD, "%s %d does not match the key material (%d)", name,
                         a ? a->v.i32 : b, d);
    if (a || !(b || d))
        return CF_OK;
    v = ttlv_new_int(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, b ? b : d);
    return v ? core_object_append_attr(req, obj, name, v) : CF_ERR_NOMEM;
}

static bool alg_eq(uint32_t x, uint32_t y)
{
    return x == y || (crypto_alg_is_ec(x) && crypto_alg_is_ec(y));
}

/* Cryptographic Domain Parameters { Recommended Curve } when absent. */
static cf_status set_curve(core_req *req, core_object *obj, uint32_t curve)
{
    ttlv_item *v, *c;
    if (curve == 0 || core_attr_find(obj, "Cryptographic Domain Parameters", 0) != NULL)
        return CF_OK;
    v = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTE_VALUE);
    c = ttlv_new_enum(req->arena, KMIP_TAG_RECOMMENDED_CURVE, curve);
    if (!v || !c)
        return CF_ERR_NOMEM;
    ttlv_append(v, c);
    return core_object_append_attr(req, obj, "Cryptographic Domain Parameters", v);
}

/* ------------------------------------------------------ Register: keys */

/* A parsed Key Block. */
typedef struct key_block {
    const ttlv_item *item;
    uint32_t format;
    const ttlv_item *km;        /* Key Material (plaintext keys) */
    const ttlv_item *kv;        /* Key Value */
    uint32_t alg;               /* 0 when absent */
    int32_t len;
    bool wrapped;
    bool extra;                 /* fields Get would not rebuild */
} key_block;

static cf_status parse_key_block(core_req *req, const ttlv_item *obj_item, key_block *kb)
{
    memset(kb, 0, sizeof *kb);
    kb->item = ttlv_child(obj_item, KMIP_TAG_KEY_BLOCK);
    if (kb->item == NULL || kb->item->type != TTLV_STRUCTURE)
        return core_fail(req, CF_ERR_MISSING, "Key Block missing");
    if (ttlv_get_enum(kb->item, KMIP_TAG_KEY_FORMAT_TYPE, &kb->format) != CF_OK)
        return core_fail(req, CF_ERR_MISSING, "Key Format Type missing");
    if (ttlv_get_enum(kb->item, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, &kb->alg) == CF_ERR_INVALID_FIELD ||
        ttlv_get_int(kb->item, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, &kb->len) == CF_ERR_INVALID_FIELD)
        return core_fail(req, CF_ERR_INVALID_FIELD, "malformed Key Block");
    if (kb->len < 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "negative Cryptographic Length");
    kb->kv = ttlv_child(kb->item, KMIP_TAG_KEY_VALUE);
    kb->wrapped = ttlv_child(kb->item, KMIP_TAG_KEY_WRAPPING_DATA) != NULL;
    kb->extra = ttlv_child(kb->item, KMIP_TAG_KEY_COMPRESSION_TYPE) != NULL;
    if (kb->kv == NULL)
        return core_fail(req, CF_ERR_MISSING, "Key Value missing");
    if (kb->wrapped) /* Byte String (2.1.4), or a structure as PyKMIP sends */
        return CF_OK;
    if (kb->kv->type != TTLV_STRUCTURE ||
        (kb->km = ttlv_child(kb->kv, KMIP_TAG_KEY_MATERIAL)) == NULL)
        return core_fail(req, CF_ERR_INVALID_FIELD, "a plaintext Key Value holds Key Material");
    if (kb->kv->nchildren > 1)
        kb->extra = true; /* attributes inside the Key Value */
    return CF_OK;
}

/* Bits a symmetric key of n bytes may declare for its algorithm. */
static cf_status check_symmetric_len(core_req *req, uint32_t alg, int32_t declared, size_t n)
{
    if (alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES && n != 16 && n != 24 && n != 32)
        return core_fail(req, CF_ERR_INVALID_FIELD, "an AES key is 16, 24 or 32 bytes, not %zu", n);
    if ((alg == KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES || alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_DES) &&
        declared != 0 && (size_t)declared == n * 7)
        return CF_OK; /* 1.4 2.1.3: 3DES lengths may exclude the parity bits */
    if (declared != 0 && (size_t)declared != n * 8)
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "Cryptographic Length %d does not match a %zu-byte key", declared, n);
    return CF_OK;
}

static cf_status reg_symmetric(core_req *req, core_object *obj, const key_block *kb,
                               const cf_secret *m)
{
    const ttlv_item *a = core_attr_find(obj, "Cryptographic Algorithm", 0);
    const ttlv_item *l = core_attr_find(obj, "Cryptographic Length", 0);
    uint32_t alg = kb->alg ? kb->alg : (a ? a->v.u32 : 0);
    cf_status st;

    if (kb->format != KMIP_KEY_FORMAT_TYPE_RAW && kb->format != KMIP_KEY_FORMAT_TYPE_OPAQUE &&
        kb->format != KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Key Format Type %u is not one of a Symmetric Key",
                         kb->format);
    if (alg == 0)
        return core_fail(req, CF_ERR_MISSING, "Cryptographic Algorithm is required");
    if ((st = check_symmetric_len(req, alg, kb->len, m->len)) != CF_OK ||
        (l && (st = check_symmetric_len(req, alg, l->v.i32, m->len)) != CF_OK))
        return st;
    if ((st = settle_enum(req, obj, "Cryptographic Algorithm", kb->alg, 0, alg_eq)) != CF_OK)
        return st;
    return settle_int(req, obj, "Cryptographic Length", kb->len, kb->len || l ? 0 : (int32_t)(m->len * 8));
}

static cf_status reg_asymmetric(core_req *req, core_object *obj, const key_block *kb,
                                const cf_secret *m)
{
    const ttlv_item *a = core_attr_find(obj, "Cryptographic Algorithm", 0);
    uint32_t want = kb->alg ? kb->alg : (a ? a->v.u32 : 0), alg, curve;
    int32_t bits;
    EVP_PKEY *key = NULL;
    cf_status st;

    st = crypto_key_load(obj->object_type, kb->format, 0, m->p, m->len, &key);
    if (st == CF_ERR_FORMAT)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Key Format Type %u is not one of a %s",
                         kb->format, obj->object_type == KMIP_OBJECT_TYPE_PUBLIC_KEY ? "Public Key" : "Private Key");
    if (st == CF_ERR_UNSUPPORTED)
        return core_fail(req, CF_ERR_INVALID_FIELD, "this key's curve or algorithm is not supported");
    if (st != CF_OK)
        return core_fail(req, st, "the key material does not parse as Key Format Type %u", kb->format);
    st = crypto_key_info(key, &alg, &bits, &curve);
    EVP_PKEY_free(key);
    if (st != CF_OK)
        return core_fail(req, CF_ERR_INVALID_FIELD, "only RSA and EC keys are supported");
    if (want && !alg_eq(want, alg))
        return core_fail(req, CF_ERR_INVALID_FIELD, "Cryptographic Algorithm does not match the key");
    if ((st = settle_enum(req, obj, "Cryptographic Algorithm", kb->alg, want ? 0 : alg, alg_eq)))
        return st;
    if ((st = settle_int(req, obj, "Cryptographic Length", kb->len, bits)) != CF_OK)
        return st;
    return set_curve(req, obj, curve);
}

static cf_status reg_secret_data(core_req *req, const ttlv_item *o, const key_block *kb)
{
    uint32_t sdt;
    if (ttlv_get_enum(o, KMIP_TAG_SECRET_DATA_TYPE, &sdt) != CF_OK)
        return core_fail(req, CF_ERR_MISSING, "Secret Data Type missing");
    if (!kb->wrapped && kb->km->type != TTLV_BYTE_STRING)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Secret Data holds a Byte String");
    return CF_OK;
}

/* Split Key fields (1.4 section 2.2.5). */
static cf_status reg_split_key(core_req *req, const ttlv_item *o, const key_block *kb)
{
    int32_t parts, id, threshold;
    uint32_t method;
    if (ttlv_get_int(o, KMIP_TAG_SPLIT_KEY_PARTS, &parts) != CF_OK ||
        ttlv_get_int(o, KMIP_TAG_KEY_PART_IDENTIFIER, &id) != CF_OK ||
        ttlv_get_int(o, KMIP_TAG_SPLIT_KEY_THRESHOLD, &threshold) != CF_OK ||
        ttlv_get_enum(o, KMIP_TAG_SPLIT_KEY_METHOD, &method) != CF_OK)
        return core_fail(req, CF_ERR_MISSING, "Split Key Parts, Key Part Identifier, Split Key "
                                              "Threshold and Split Key Method are required");
    if (parts < 1 || threshold < 1 || threshold > parts || id < 1 || id > parts)
        return core_fail(req, CF_ERR_INVALID_FIELD, "inconsistent Split Key parameters");
    if (method == KMIP_SPLIT_KEY_METHOD_POLYNOMIAL_SHARING_PRIME_FIELD &&
        ttlv_child(o, KMIP_TAG_PRIME_FIELD_SIZE) == NULL)
        return core_fail(req, CF_ERR_MISSING, "Prime Field Size is required for this method");
    if (!kb->wrapped && kb->km->type != TTLV_BYTE_STRING)
        return core_fail(req, CF_ERR_INVALID_FIELD, "a Split Key part is a Byte String");
    return CF_OK;
}

/* The Digest of a plaintext Key Material as registered (3.17). */
static cf_status digest_key_material(core_req *req, core_object *obj, const key_block *kb)
{
    cf_buf buf;
    cf_status st;
    if (kb->km->type == TTLV_BYTE_STRING)
        return core_object_digest(req, obj, kb->km->v.s.p, kb->km->v.s.len, kb->format);
    cf_buf_init(&buf, CF_LIMIT_KMIP_MESSAGE);
    st = ttlv_encode(kb->km, &buf);
    if (st == CF_OK)
        st = core_object_digest(req, obj, buf.p, buf.len, kb->format);
    cf_buf_free(&buf);
    return st;
}

/* Keep the Key Block plainly when Get would rebuild it byte for byte. */
static cf_status keep_plain(core_req *req, const core_object *obj, const key_block *kb,
                            const cf_secret *m, bool *out)
{
    ttlv_item *rebuilt;
    cf_status st;
    *out = false;
    if (kb->extra || kb->wrapped)
        return CF_OK;
    if ((st = core_key_block(req, obj, kb->format, m, &rebuilt)) != CF_OK)
        return st;
    *out = ttlv_equal(rebuilt, kb->item);
    return CF_OK;
}

/* Encode the object structure as registered into out (verbatim form). */
static cf_status encode_verbatim(const ttlv_item *o, cf_secret *out)
{
    cf_buf buf;
    cf_status st;
    cf_buf_init(&buf, CF_LIMIT_KMIP_MESSAGE);
    st = ttlv_encode(o, &buf);
    if (st == CF_OK)
        st = cf_secret_dup(out, buf.p, buf.len);
    cf_buf_free(&buf);
    return st;
}

static cf_status reg_keyed_checks(core_req *req, core_object *obj, const ttlv_item *o,
                                  const key_block *kb, const cf_secret *m)
{
    cf_status st;
    switch (obj->object_type) {
    case KMIP_OBJECT_TYPE_SYMMETRIC_KEY:
        return kb->wrapped ? CF_OK : reg_symmetric(req, obj, kb, m);
    case KMIP_OBJECT_TYPE_PUBLIC_KEY:
    case KMIP_OBJECT_TYPE_PRIVATE_KEY:
        return kb->wrapped ? CF_OK : reg_asymmetric(req, obj, kb, m);
    case KMIP_OBJECT_TYPE_SECRET_DATA:
        return reg_secret_data(req, o, kb);
    case KMIP_OBJECT_TYPE_SPLIT_KEY:
        if ((st = reg_split_key(req, o, kb)) != CF_OK || kb->wrapped)
            return st;
        return check_symmetric_len(req, kb->alg, kb->len, m->len);
    default:
        return CF_ERR_INTERNAL;
    }
}

/* Objects with a Key Block: the key's checks, then how to keep it. */
static cf_status reg_keyed(core_req *req, core_object *obj, const ttlv_item *o, cf_secret *out)
{
    key_block kb;
    cf_secret m = {0};
    bool plain = false;
    cf_status st;

    if ((st = parse_key_block(req, o, &kb)) != CF_OK)
        return st;
    if (!kb.wrapped && (st = core_key_material_bytes(kb.km, kb.format, &m)) != CF_OK) {
        if (st == CF_ERR_INVALID_FIELD)
            st = core_fail(req, st, "Key Material does not suit Key Format Type %u", kb.format);
        return st;
    }
    if ((st = reg_keyed_checks(req, obj, o, &kb, &m)) != CF_OK)
        goto out;
    /* A wrapped key is kept as given (no digest: the server does not see
     * the key); its attributes, like a Split Key's, come from the Key Block. */
    if (!kb.wrapped)
        st = digest_key_material(req, obj, &kb);
    if (st == CF_OK && (kb.wrapped || obj->object_type == KMIP_OBJECT_TYPE_SPLIT_KEY) &&
        obj->object_type != KMIP_OBJECT_TYPE_SECRET_DATA &&
        (st = settle_enum(req, obj, "Cryptographic Algorithm", kb.alg, 0, alg_eq)) == CF_OK)
        st = settle_int(req, obj, "Cryptographic Length", kb.len, 0);
    if (st != CF_OK)
        goto out;
    if (obj->object_type == KMIP_OBJECT_TYPE_SYMMETRIC_KEY ||
        obj->object_type == KMIP_OBJECT_TYPE_PUBLIC_KEY ||
        obj->object_type == KMIP_OBJECT_TYPE_PRIVATE_KEY)
        st = keep_plain(req, obj, &kb, &m, &plain);
    if (st != CF_OK)
        goto out;
    obj->key_format = kb.format | (plain ? 0 : CORE_KEY_FORMAT_VERBATIM);
    if (plain) {
        *out = m;
        m.p = NULL;
    } else {
        st = encode_verbatim(o, out);
    }
out:
    cf_secret_free(&m);
    return st;
}

/* ------------------------------------------ Register: other object types */

/* Certificate Attributes (2.1 section 4.6): "Certificate Subject CN",
 * "Certificate Issuer O", ... one instance per component of the names. */
static const struct {
    int nid;
    const char *suffix;
} cert_fields[] = {
    {NID_commonName, "CN"},          {NID_organizationName, "O"},
    {NID_organizationalUnitName, "OU"}, {NID_pkcs9_emailAddress, "Email"},
    {NID_countryName, "C"},          {NID_stateOrProvinceName, "ST"},
    {NID_localityName, "L"},         {NID_userId, "UID"},
    {NID_serialNumber, "Serial Number"}, {NID_title, "Title"},
    {NID_domainComponent, "DC"},     {NID_dnQualifier, "DN Qualifier"},
};

static cf_status cert_attributes(core_req *req, core_object *obj, const uint8_t *v, size_t vl)
{
    for (int issuer = 0; issuer < 2; issuer++) {
        crypto_rdn *r;
        size_t n;
        cf_status st = crypto_cert_name(v, vl, issuer, req->arena, &r, &n);
        if (st != CF_OK)
            return st;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < sizeof cert_fields / sizeof cert_fields[0]; k++) {
                const char *name;
                ttlv_item *tv;
                if (cert_fields[k].nid != r[i].nid)
                    continue;
                name = cf_arena_sprintf(req->arena, "Certificate %s %s",
                                        issuer ? "Issuer" : "Subject", cert_fields[k].suffix);
                tv = ttlv_new_text(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, r[i].value, r[i].len);
                if (name == NULL || tv == NULL)
                    return CF_ERR_NOMEM;
                if ((st = core_object_append_attr(req, obj, name, tv)) != CF_OK)
                    return st;
            }
    }
    return CF_OK;
}

static cf_status reg_certificate(core_req *req, core_object *obj, const ttlv_item *o,
                                 cf_secret *out)
{
    uint32_t type;
    const uint8_t *v;
    size_t vl;
    ttlv_item *tv, *lv;
    cf_status st;

    if (ttlv_get_enum(o, KMIP_TAG_CERTIFICATE_TYPE, &type) != CF_OK ||
        ttlv_get_bytes(o, KMIP_TAG_CERTIFICATE_VALUE, &v, &vl) != CF_OK)
        return core_fail(req, CF_ERR_MISSING, "Certificate Type and Certificate Value are required");
    if (type != KMIP_CERTIFICATE_TYPE_X_509)
        return core_fail(req, CF_ERR_UNSUPPORTED, "only X.509 certificates are supported");
    if (crypto_cert_check(v, vl) != CF_OK)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the Certificate Value is not a DER X.509 certificate");
    tv = ttlv_new_enum(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, type);
    lv = ttlv_new_int(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)vl);
    if (!tv || !lv)
        return CF_ERR_NOMEM;
    if ((st = core_object_append_attr(req, obj, "Certificate Type", tv)) != CF_OK ||
        (st = core_object_append_attr(req, obj, "Certificate Length", lv)) != CF_OK ||
        (st = core_object_digest(req, obj, v, vl, 0)) != CF_OK ||
        (st = cert_attributes(req, obj, v, vl)) != CF_OK)
        return st;
    obj->key_format = 0;
    return cf_secret_dup(out, v, vl);
}

static cf_status reg_opaque(core_req *req, core_object *obj, const ttlv_item *o, cf_secret *out)
{
    uint32_t type;
    const uint8_t *v;
    size_t vl;
    cf_status st;

    if (ttlv_get_enum(o, KMIP_TAG_OPAQUE_DATA_TYPE, &type) != CF_OK ||
        ttlv_get_bytes(o, KMIP_TAG_OPAQUE_DATA_VALUE, &v, &vl) != CF_OK)
        return core_fail(req, CF_ERR_MISSING, "Opaque Data Type and Opaque Data Value are required");
    if ((st = core_object_digest(req, obj, v, vl, 0)) != CF_OK)
        return st;
    obj->key_format = CORE_KEY_FORMAT_VERBATIM;
    return encode_verbatim(o, out);
}

cf_status core_register(core_req *req, uint32_t object_type, const ttlv_item *object,
                        const ttlv_item *attrs, core_object **out)
{
    uint32_t tag = core_object_tag(object_type);
    core_object *obj;
    ttlv_item *kept, *echoes;
    cf_secret m = {0};
    cf_status st;

    *out = NULL;
    if (object_type == KMIP_OBJECT_TYPE_TEMPLATE || object_type == KMIP_OBJECT_TYPE_PGP_KEY ||
        object_type == KMIP_OBJECT_TYPE_CERTIFICATE_REQUEST)
        return core_fail(req, CF_ERR_UNSUPPORTED, "Object Type %u cannot be registered", object_type);
    if (tag == 0)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Object Type %u is not recognized", object_type);
    if (object == NULL)
        return core_fail(req, CF_ERR_MISSING, "the object to register is missing");
    if (object->tag != tag || object->type != TTLV_STRUCTURE)
        return core_fail(req, CF_ERR_INVALID_FIELD, "the object does not match the Object Type");
    /* Server-set attributes the client repeats: compared, not set (4.7). */
    if ((st = core_attrs_split_echoes(req, attrs, &kept, &echoes)) != CF_OK ||
        (st = core_object_new(req, object_type, kept, &obj)) != CF_OK)
        return st;
    if (object_type == KMIP_OBJECT_TYPE_CERTIFICATE)
        st = reg_certificate(req, obj, object, &m);
    else if (object_type == KMIP_OBJECT_TYPE_OPAQUE_OBJECT)
        st = reg_opaque(req, obj, object, &m);
    else
        st = reg_keyed(req, obj, object, &m);
    if (st == CF_OK)
        st = core_attrs_check_echoes(req, obj, echoes);
    if (st == CF_OK && (st = core_object_seal(req, obj, &m)) == CF_OK &&
        (st = core_object_save(req, obj, true)) == CF_OK)
        *out = obj;
    cf_secret_free(&m);
    return st;
}

/* ------------------------------------------------------ Create Key Pair */

/* Common attributes merged with the specific ones (1.4 4.2): specific
 * single-instance attributes win, multi-instance ones are united. */
cf_status core_attrs_merge(core_req *req, const ttlv_item *common, const ttlv_item *specific,
                           ttlv_item **out)
{
    ttlv_item *list = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTES);
    if (list == NULL)
        return CF_ERR_NOMEM;
    for (const ttlv_item *it = common ? common->first : NULL; it; it = it->next) {
        const char *n;
        size_t nl;
        int32_t idx;
        const ttlv_item *v;
        const struct core_attr_rule *r;
        unsigned count = 0;
        ttlv_item *c;
        if (!core_attr_parts(it, &n, &nl, &idx, &v))
            return core_fail(req, CF_ERR_INVALID_FIELD, "malformed Attribute");
        r = core_attr_rule(n, nl);
        core_attr_next_index(specific, n, nl, &count);
        if (count > 0 && (r == NULL || !(r->flags & CORE_ATTR_MULTI)))
            continue;
        if ((c = ttlv_clone(req->arena, it)) == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(list, c);
    }
    for (const ttlv_item *it = specific ? specific->first : NULL; it; it = it->next) {
        ttlv_item *c = ttlv_clone(req->arena, it);
        if (c == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(list, c);
    }
    *out = list;
    return CF_OK;
}

/* Link { Link Type, Linked Object Identifier } appended to obj. */
cf_status core_object_link(core_req *req, core_object *obj, uint32_t type, const char *uid)
{
    ttlv_item *v = ttlv_new_struct(req->arena, KMIP_TAG_ATTRIBUTE_VALUE);
    ttlv_item *t = ttlv_new_enum(req->arena, KMIP_TAG_LINK_TYPE, type);
    ttlv_item *u = ttlv_new_text(req->arena, KMIP_TAG_LINKED_OBJECT_IDENTIFIER, uid, strlen(uid));
    if (!v || !t || !u)
        return CF_ERR_NOMEM;
    ttlv_append(v, t);
    ttlv_append(v, u);
    return core_object_append_attr(req, obj, "Link", v);
}

/* The curve asked for: Cryptographic Domain Parameters' Recommended Curve,
 * else the Cryptographic Length (256, 384, 521). */
static cf_status pair_curve(core_req *req, const core_object *obj, uint32_t *out)
{
    const ttlv_item *dp = core_attr_find(obj, "Cryptographic Domain Parameters", 0);
    const ttlv_item *len = core_attr_find(obj, "Cryptographic Length", 0);
    int32_t bits = 0;

    *out = 0;
    if (dp)
        ttlv_get_enum(dp, KMIP_TAG_RECOMMENDED_CURVE, out);
    if (*out == 0 && len) {
        *out = len->v.i32 == 256   ? KMIP_RECOMMENDED_CURVE_P_256
               : len->v.i32 == 384 ? KMIP_RECOMMENDED_CURVE_P_384
               : len->v.i32 == 521 ? KMIP_RECOMMENDED_CURVE_P_521
                                   : 0;
    }
    if (*out == 0)
        return core_fail(req, len || dp ? CF_ERR_INVALID_FIELD : CF_ERR_MISSING,
                         "EC keys need a Recommended Curve (P-256, P-384, P-521)");
    if (crypto_ec_curve_nid(*out, &bits) == 0 || bits < 256)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Recommended Curve %u is not offered", *out);
    if (len && len->v.i32 != bits)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Cryptographic Length %d does not match the curve",
                         len->v.i32);
    return CF_OK;
}

/* Generate a key pair per the private key object's attributes. */
cf_status core_pair_generate(core_req *req, const core_object *priv, EVP_PKEY **out)
{
    const ttlv_item *alg = core_attr_find(priv, "Cryptographic Algorithm", 0);
    const ttlv_item *len = core_attr_find(priv, "Cryptographic Length", 0);
    uint32_t curve;
    cf_status st;

    if (alg == NULL)
        return core_fail(req, CF_ERR_MISSING, "Cryptographic Algorithm is required");
    if (alg->v.u32 == KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA) {
        if (len == NULL)
            return core_fail(req, CF_ERR_MISSING, "Cryptographic Length is required for RSA");
        /* TODO(performance issue): RSA generation blocks this worker's event
         * loop for up to seconds; move it to a generation thread pool. */
        st = crypto_rsa_generate(len->v.i32, out);
        if (st == CF_ERR_INVALID_FIELD)
            return core_fail(req, st, "RSA keys are 1024-4096 bits, a multiple of 256");
        return st;
    }
    if (!crypto_alg_is_ec(alg->v.u32))
        return core_fail(req, CF_ERR_INVALID_FIELD, "Create Key Pair makes RSA and EC keys only");
    if ((st = pair_curve(req, priv, &curve)) != CF_OK)
        return st;
    return crypto_ec_generate(curve, out);
}

/* Fill a new half's algorithm facts, Digest and sealed material. */
cf_status core_pair_fill(core_req *req, core_object *obj, EVP_PKEY *key)
{
    uint32_t alg, curve;
    int32_t bits;
    cf_secret m = {0};
    cf_status st;

    obj->key_format = obj->object_type == KMIP_OBJECT_TYPE_PRIVATE_KEY ? KMIP_KEY_FORMAT_TYPE_PKCS_8
                                                                       : KMIP_KEY_FORMAT_TYPE_X_509;
    if ((st = crypto_key_info(key, &alg, &bits, &curve)) != CF_OK)
        return st;
    if ((st = settle_enum(req, obj, "Cryptographic Algorithm", 0, alg, alg_eq)) != CF_OK ||
        (st = settle_int(req, obj, "Cryptographic Length", 0, bits)) != CF_OK ||
        (st = set_curve(req, obj, curve)) != CF_OK)
        return st;
    if ((st = crypto_key_export(key, obj->object_type, obj->key_format, &m)) != CF_OK)
        return st;
    if ((st = core_object_digest(req, obj, m.p, m.len, obj->key_format)) == CF_OK)
        st = core_object_seal(req, obj, &m);
    cf_secret_free(&m);
    return st;
}

cf_status core_create_key_pair(core_req *req, const ttlv_item *common, const ttlv_item *priv,
                               const ttlv_item *pub, core_object **out_priv,
                               core_object **out_pub)
{
    ttlv_item *pa, *ua;
    core_object *objs[2];
    const bool insert[2] = {true, true};
    EVP_PKEY *key = NULL;
    cf_status st;

    *out_priv = *out_pub = NULL;
    if ((st = core_attrs_merge(req, common, priv, &pa)) != CF_OK ||
        (st = core_attrs_merge(req, common, pub, &ua)) != CF_OK)
        return st;
    if ((st = core_object_new(req, KMIP_OBJECT_TYPE_PRIVATE_KEY, pa, &objs[0])) != CF_OK ||
        (st = core_object_new(req, KMIP_OBJECT_TYPE_PUBLIC_KEY, ua, &objs[1])) != CF_OK)
        return st;
    if ((st = core_pair_generate(req, objs[0], &key)) != CF_OK)
        return st;
    for (int i = 0; i < 2 && st == CF_OK; i++)
        st = core_pair_fill(req, objs[i], key);
    EVP_PKEY_free(key);
    if (st != CF_OK)
        return st;
    /* 1.4 4.2: each half links to the other. */
    if ((st = core_object_link(req, objs[0], KMIP_LINK_TYPE_PUBLIC_KEY_LINK, objs[1]->uid)) != CF_OK ||
        (st = core_object_link(req, objs[1], KMIP_LINK_TYPE_PRIVATE_KEY_LINK, objs[0]->uid)) != CF_OK)
        return st;
    if ((st = core_objects_save(req, objs, insert, 2)) != CF_OK)
        return st;
    *out_priv = objs[0];
    *out_pub = objs[1];
    return CF_OK;
}
