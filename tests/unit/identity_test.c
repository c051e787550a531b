/*
 * Unit tests for tenants, identities and roles (core_identity.c,
 * core_tenant.c, core_authz.c, store_sqlite_ident.c) on the shared KMIP
 * fixture: API key tokens (format, every single-character tampering,
 * expiry, disabling, unknown ids, suspended tenants), the permission table
 * for every action x role x restriction against an independent
 * expectation (and against the copy in docs/tenants.md), certificate
 * mapping by pin and by CA rule, retirement in both modes with the exact
 * states afterwards, the bootstrap (idempotent, atomic, two nodes at
 * once), tenant isolation, the KMIP refusal of an unregistered
 * certificate, the upgrade of a version 2 database, and the issuing
 * anchor the TLS layer reports for CA rules (resumed sessions included).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <unistd.h>

#include <openssl/ssl.h>

#include "crypto/crypto_cert.h"
#include "support/kmip_fixture.h"
#include "support/net_fixture.h"

static int64_t NOW;

static const core_identity OPERATOR = {.id = "operator-test", .is_operator = true,
                                       .kind = CORE_IDENTITY_API_KEY};

static core_req as(struct fx *f, const core_identity *who)
{
    core_req rq = {.core = &f->core, .st = f->st, .arena = f->arena, .who = who, .now = NOW};
    return rq;
}

static void mk_tenant(struct fx *f, const char *id)
{
    core_req rq = as(f, &OPERATOR);
    core_tenant *t;
    assert_int_equal(core_tenant_create(&rq, id, NULL, &t), CF_OK);
    assert_string_equal(t->id, id);
}

/* An identity of the tenant (API key), authenticated: its core_identity. */
static const core_identity *mk_key_identity(struct fx *f, const char *tenant, core_role role,
                                            const core_restriction *r, cf_secret *token_out)
{
    core_req rq = as(f, &OPERATOR);
    core_identity_spec s = {.tenant = tenant, .kind = CORE_IDENTITY_API_KEY, .name = "svc",
                            .role = role};
    core_identity_rec *rec;
    core_identity *who;
    cf_secret tok = {0};
    if (r)
        s.restriction = *r;
    assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_OK);
    assert_int_equal(tok.len, CORE_TOKEN_LEN);
    assert_int_equal(core_auth_token(f->st, f->arena, NOW, (char *)tok.p, tok.len, &who), CF_OK);
    assert_string_equal(who->id, rec->ident.id);
    if (token_out)
        *token_out = tok;
    else
        cf_secret_free(&tok);
    return who;
}

/* A new AES-256 key owned by who (Encrypt/Decrypt/Wrap/Unwrap usage). */
static const char *mk_key(struct fx *f, const core_identity *who)
{
    core_req rq = as(f, who);
    ttlv_item *attrs = ttlv_new_struct(f->arena, KMIP_TAG_ATTRIBUTES);
    core_object *obj;
    ttlv_append(attrs, core_attr_new(f->arena, "Cryptographic Algorithm", 0,
                                     ttlv_new_enum(f->arena, KMIP_TAG_ATTRIBUTE_VALUE,
                                                   KMIP_CRYPTOGRAPHIC_ALGORITHM_AES)));
    ttlv_append(attrs, core_attr_new(f->arena, "Cryptographic Length", 0,
                                     ttlv_new_int(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, 256)));
    ttlv_append(attrs, core_attr_new(f->arena, "Cryptographic Usage Mask", 0,
                                     ttlv_new_int(f->arena, KMIP_TAG_ATTRIBUTE_VALUE, 0x3C)));
    assert_int_equal(core_create_symmetric_key(&rq, attrs, &obj), CF_OK);
    return obj->uid;
}

static uint32_t state_of(struct fx *f, const core_identity *who, const char *uid)
{
    core_req rq = as(f, who);
    core_object *obj;
    assert_int_equal(core_object_load(&rq, uid, &obj), CF_OK);
    return obj->state;
}

static int setup(void **state)
{
    NOW = core_now();
    return fx_setup(state);
}

/* ---------------------------------------------------------------- tokens */

static void test_token_format(void **state)
{
    static const char id[] = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    uint8_t secret[32], back[32];
    char pid[CORE_ID_LEN + 1];
    cf_secret tok = {0};
    char t[CORE_TOKEN_LEN + 1];
    (void)state;

    for (int i = 0; i < 32; i++)
        secret[i] = (uint8_t)(i * 37 + 255);
    assert_int_equal(core_token_make(id, secret, &tok), CF_OK);
    assert_int_equal(tok.len, 80);
    assert_int_equal(strlen((char *)tok.p), 80);
    assert_memory_equal(tok.p, "cf1_0190a1b2c3d47e5f8a9b0c1d2e3f4a5b_", 37);
    assert_int_equal(core_token_parse((char *)tok.p, tok.len, pid, back), CF_OK);
    assert_string_equal(pid, id);
    assert_memory_equal(back, secret, 32);
    memcpy(t, tok.p, sizeof t);
    cf_secret_free(&tok);
    /* Lengths +-1, uppercase hex, missing separators, padding, bad alphabet. */
    assert_int_equal(core_token_parse(t, 79, pid, back), CF_ERR_AUTH);
    assert_int_equal(core_token_parse(t, 81, pid, back), CF_ERR_AUTH);
    assert_int_equal(core_token_parse(NULL, 80, pid, back), CF_ERR_AUTH);
    const struct { int at; char c; } bad[] = {
        {0, 'C'}, {3, '-'}, {4, 'A'}, {20, 'g'}, {36, '-'}, {37, '='}, {50, '+'}, {60, '/'},
        {79, '='}, {79, 'B'}, /* B = 000001: unused low bits set: not canonical */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char m[CORE_TOKEN_LEN + 1];
        memcpy(m, t, sizeof m);
        m[bad[i].at] = bad[i].c;
        assert_int_equal(core_token_parse(m, 80, pid, back), CF_ERR_AUTH);
    }
    assert_int_equal(core_token_make("not-a-uuid", secret, &tok), CF_ERR_INVALID_FIELD);
}

static void test_token_verification(void **state)
{
    struct fx *f = *state;
    cf_secret tok;
    core_identity *who;
    core_req rq = as(f, &OPERATOR);
    core_identity_patch off = {.set_disabled = true, .disabled = true};
    core_identity_patch on = {.set_disabled = true, .disabled = false};

    mk_tenant(f, "a");
    mk_tenant(f, "b");
    const core_identity *b = mk_key_identity(f, "b", CORE_ROLE_WRITER, NULL, &tok);
    assert_string_equal(b->tenant, "b");
    assert_int_equal(b->role, CORE_ROLE_WRITER);
    assert_int_equal(b->kind, CORE_IDENTITY_API_KEY);
    /* Every single-character change of the token is refused. */
    for (size_t i = 0; i < CORE_TOKEN_LEN; i++) {
        char m[CORE_TOKEN_LEN + 1];
        memcpy(m, tok.p, sizeof m);
        m[i] = m[i] == 'a' ? 'b' : 'a';
        assert_int_equal(core_auth_token(f->st, f->arena, NOW, m, 80, &who), CF_ERR_AUTH);
        assert_null(who);
    }
    /* An unknown id with a well-formed secret. */
    char unknown[CORE_TOKEN_LEN + 1];
    memcpy(unknown, tok.p, sizeof unknown);
    memcpy(unknown + 4, "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b", 32);
    assert_int_equal(core_auth_token(f->st, f->arena, NOW, unknown, 80, &who), CF_ERR_AUTH);
    /* Disabled, then enabled again. */
    assert_int_equal(core_identity_update(&rq, "b", b->id, &off, NULL), CF_OK);
    assert_int_equal(core_auth_token(f->st, f->arena, NOW, (char *)tok.p, 80, &who), CF_ERR_AUTH);
    assert_int_equal(core_identity_update(&rq, "b", b->id, &on, NULL), CF_OK);
    assert_int_equal(core_auth_token(f->st, f->arena, NOW, (char *)tok.p, 80, &who), CF_OK);
    /* The token's identity is in its own tenant only: tenant a does not know it. */
    assert_int_equal(core_identity_get(&rq, "a", b->id, &(core_identity_rec *){0}),
                     CF_ERR_NOT_FOUND);
    /* A suspended tenant's keys fail; resumed, they work. */
    assert_int_equal(core_tenant_update(&rq, "b", NULL, CORE_TENANT_SUSPENDED), CF_OK);
    assert_int_equal(core_auth_token(f->st, f->arena, NOW, (char *)tok.p, 80, &who), CF_ERR_AUTH);
    assert_int_equal(core_tenant_update(&rq, "b", NULL, CORE_TENANT_ACTIVE), CF_OK);
    assert_int_equal(core_auth_token(f->st, f->arena, NOW, (char *)tok.p, 80, &who), CF_OK);
    cf_secret_free(&tok);

    /* Expiry: valid until the second before, refused from it on. */
    core_identity_spec s = {.tenant = "a", .kind = CORE_IDENTITY_API_KEY, .name = "short",
                            .role = CORE_ROLE_READER, .expires = NOW + 10};
    core_identity_rec *rec;
    assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_OK);
    assert_int_equal(core_auth_token(f->st, f->arena, NOW + 9, (char *)tok.p, 80, &who), CF_OK);
    assert_int_equal(core_auth_token(f->st, f->arena, NOW + 10, (char *)tok.p, 80, &who),
                     CF_ERR_AUTH);
    cf_secret_free(&tok);
    s.expires = NOW;
    assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_ERR_INVALID_FIELD);
}

/* ------------------------------------------------------ permission table */

/* The expectation, written independently of core_authz.c. */
static const struct {
    core_action a;
    core_role min;   /* CORE_ROLE_NONE: tenant identities never */
    bool op;         /* the operator may */
    bool object;     /* about objects */
    bool owner;      /* owner rule below Manager */
} expect[] = {
    {CORE_ACT_QUERY, CORE_ROLE_READER, true, false, false},
    {CORE_ACT_CREATE, CORE_ROLE_WRITER, false, false, false},
    {CORE_ACT_READ_METADATA, CORE_ROLE_READER, false, true, false},
    {CORE_ACT_READ_MATERIAL, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_ENCRYPT, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_DECRYPT, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_WRAP, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_UNWRAP, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_SIGN, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_VERIFY, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_MAC, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_MAC_VERIFY, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_DERIVE, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_USE_COMPROMISED, CORE_ROLE_MANAGER, false, true, false},
    {CORE_ACT_MODIFY, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_REKEY, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_LIFECYCLE, CORE_ROLE_WRITER, false, true, false},
    {CORE_ACT_REVOKE, CORE_ROLE_WRITER, false, true, true},
    {CORE_ACT_DESTROY, CORE_ROLE_WRITER, false, true, true},
    {CORE_ACT_READ_AUDIT, CORE_ROLE_READER, true, false, false},
    {CORE_ACT_MANAGE_IDENTITIES, CORE_ROLE_MANAGER, true, false, false},
    {CORE_ACT_MANAGE_TENANTS, CORE_ROLE_NONE, true, false, false},
    {CORE_ACT_EXPORT, CORE_ROLE_MANAGER, false, true, false},
    {CORE_ACT_IMPORT, CORE_ROLE_MANAGER, false, false, false},
};

static cf_status expected(size_t i, core_role role, bool owner, const core_restriction *r,
                          bool in_list, bool with_obj)
{
    bool unrestricted_only = expect[i].a == CORE_ACT_MANAGE_IDENTITIES ||
                             expect[i].a == CORE_ACT_MANAGE_TENANTS;
    if (expect[i].min == CORE_ROLE_NONE || role < expect[i].min)
        return CF_ERR_PERMISSION;
    if (expect[i].owner && role < CORE_ROLE_MANAGER && !owner)
        return CF_ERR_PERMISSION;
    if (r == NULL)
        return CF_OK;
    if (unrestricted_only)
        return CF_ERR_PERMISSION;
    if (r->actions && !(r->actions & CORE_ACTION_BIT(expect[i].a)))
        return CF_ERR_PERMISSION;
    if (r->n_uids && expect[i].object && (!with_obj || !in_list))
        return CF_ERR_PERMISSION;
    return CF_OK;
}

static void test_permission_table(void **state)
{
    static const char *const listed[] = {"u-in"};
    const core_restriction rs[] = {
        {.actions = CORE_ACTION_BIT(CORE_ACT_WRAP) | CORE_ACTION_BIT(CORE_ACT_UNWRAP)},
        {.actions = CORE_ACTION_BIT(CORE_ACT_CREATE) | CORE_ACTION_BIT(CORE_ACT_READ_METADATA)},
        {.uids = listed, .n_uids = 1},
        {.actions = CORE_ACTION_BIT(CORE_ACT_WRAP), .uids = listed, .n_uids = 1},
    };
    core_object in = {.tenant = "t", .uid = "u-in", .owner = "me"};
    core_object out = {.tenant = "t", .uid = "u-out", .owner = "someone"};
    core_object other = {.tenant = "t2", .uid = "u-in", .owner = "me"};
    core_identity nobody = {.id = "x"};
    size_t n;
    (void)state;

    assert_int_equal(sizeof expect / sizeof expect[0], CORE_ACTION_COUNT);
    assert_non_null(core_authz_rules(&n));
    assert_int_equal(n, CORE_ACTION_COUNT);
    for (size_t i = 0; i < CORE_ACTION_COUNT; i++) {
        core_action a = expect[i].a;
        core_action parsed;
        assert_int_equal(core_authz_rule(a)->action, a);
        assert_int_equal(core_action_parse(core_authz_rule(a)->name,
                                           strlen(core_authz_rule(a)->name), &parsed), CF_OK);
        assert_int_equal(parsed, a);
        /* Unauthenticated: always CF_ERR_AUTH. The operator: its actions, never objects. */
        assert_int_equal(core_authorize(&nobody, a, NULL), CF_ERR_AUTH);
        assert_int_equal(core_authorize(NULL, a, &in), CF_ERR_AUTH);
        assert_int_equal(core_authorize(&OPERATOR, a, NULL),
                         expect[i].op ? CF_OK : CF_ERR_PERMISSION);
        assert_int_equal(core_authorize(&OPERATOR, a, &in), CF_ERR_PERMISSION);
        for (core_role role = CORE_ROLE_NONE; role <= CORE_ROLE_MANAGER; role++) {
            core_identity who = {.tenant = "t", .id = "me", .role = role};
            const core_object *obj = expect[i].object ? &in : NULL;
            assert_int_equal(core_authorize(&who, a, obj), expected(i, role, true, NULL, 1, 1));
            if (expect[i].object) {
                assert_int_equal(core_authorize(&who, a, &out),
                                 expected(i, role, false, NULL, 0, 1));
                /* Another tenant's object: never. */
                assert_int_equal(core_authorize(&who, a, &other), CF_ERR_PERMISSION);
            }
            for (size_t k = 0; k < sizeof rs / sizeof rs[0]; k++) {
                who.restriction = &rs[k];
                assert_int_equal(core_authorize(&who, a, obj),
                                 expected(i, role, true, &rs[k], 1, obj != NULL));
                if (expect[i].object) {
                    assert_int_equal(core_authorize(&who, a, &out),
                                     expected(i, role, false, &rs[k], 0, 1));
                    assert_int_equal(core_authorize(&who, a, NULL), /* a listing */
                                     expected(i, role, true, &rs[k], 1, 0));
                }
            }
        }
    }
    assert_int_equal(core_action_of_usage(KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY), CORE_ACT_WRAP);
    assert_int_equal(core_action_of_usage(KMIP_CRYPTOGRAPHIC_USAGE_MASK_EXPORT),
                     CORE_ACTION_COUNT);
    assert_int_equal(core_action_parse("wrap ", 5, &(core_action){0}), CF_ERR_INVALID_FIELD);
}

static const char *role_word(core_role r)
{
    return r == CORE_ROLE_READER ? "Reader" : r == CORE_ROLE_WRITER ? "Writer"
                                          : r == CORE_ROLE_MANAGER ? "Manager"
                                                                   : "-";
}

/* The docs/tenants.md row of a rule: the docs carry a copy of the table. */
static void doc_row(const struct core_authz_rule *r, char *out, size_t n)
{
    char rules[160] = "";
    const char *op = r->flags & CORE_AUTHZ_OPERATOR_ONLY ? "only"
                     : r->flags & CORE_AUTHZ_OPERATOR    ? "yes"
                                                         : "no";
    if (r->flags & CORE_AUTHZ_OBJECT)
        strcat(rules, "object, ");
    if (r->flags & CORE_AUTHZ_OWNER)
        strcat(rules, "owner or Manager, ");
    if (r->flags & CORE_AUTHZ_UNRESTRICTED)
        strcat(rules, "unrestricted identities only, ");
    if (r->flags & CORE_AUTHZ_PROTECT)
        strcat(rules, "protects data, ");
    if (r->flags & CORE_AUTHZ_PROCESS)
        strcat(rules, "processes data, ");
    if (rules[0])
        rules[strlen(rules) - 2] = '\0';
    snprintf(out, n, "| `%s` | %s | %s | %s | %s |", r->name, role_word(r->min_role), op,
             rules[0] ? rules : "-", r->what);
}

static void test_docs_table(void **state)
{
    FILE *fp;
    char *doc, row[512];
    size_t n, len;
    const struct core_authz_rule *rules = core_authz_rules(&n);
    (void)state;

    if (getenv("CF_PRINT_AUTHZ_TABLE")) { /* regenerate the docs' copy */
        for (size_t i = 0; i < n; i++) {
            doc_row(&rules[i], row, sizeof row);
            printf("%s\n", row);
        }
        return;
    }
    fp = fopen("docs/tenants.md", "r"); /* tests run from the repository root */
    assert_non_null(fp);
    doc = calloc(1, 256 * 1024);
    assert_non_null(doc);
    len = fread(doc, 1, 256 * 1024 - 1, fp);
    fclose(fp);
    assert_true(len > 0);
    for (size_t i = 0; i < n; i++) {
        doc_row(&rules[i], row, sizeof row);
        if (strstr(doc, row) == NULL)
            fail_msg("docs/tenants.md lacks the row:\n%s\n(CF_PRINT_AUTHZ_TABLE=1 prints them)",
                     row);
    }
    free(doc);
}

/* ---------------------------------------------------- certificate mapping */

static void test_certificate_mapping(void **state)
{
    struct fx *f = *state;
    core_req rq = as(f, &OPERATOR);
    uint8_t pin[32], ca1[32], ca2[32], other[32];
    core_identity_rec *pinned, *exact, *any, *rec;
    core_identity *who;

    memset(pin, 1, 32), memset(ca1, 2, 32), memset(ca2, 3, 32), memset(other, 4, 32);
    mk_tenant(f, "a");
    mk_tenant(f, "b");
    core_identity_spec s = {.tenant = "a", .kind = CORE_IDENTITY_CERTIFICATE, .name = "vcenter",
                            .role = CORE_ROLE_WRITER, .cert_sha256 = pin};
    assert_int_equal(core_identity_create(&rq, &s, &pinned, NULL), CF_OK);
    s = (core_identity_spec){.tenant = "a", .kind = CORE_IDENTITY_CERTIFICATE, .name = "svc",
                             .role = CORE_ROLE_READER, .ca_sha256 = ca1, .subject = "CN=svc,O=A"};
    assert_int_equal(core_identity_create(&rq, &s, &exact, NULL), CF_OK);
    s = (core_identity_spec){.tenant = "b", .kind = CORE_IDENTITY_CERTIFICATE, .name = "all",
                             .role = CORE_ROLE_MANAGER, .ca_sha256 = ca1};
    assert_int_equal(core_identity_create(&rq, &s, &any, NULL), CF_OK);
    /* One certificate, one identity: the same pin or rule in any tenant is refused. */
    s = (core_identity_spec){.tenant = "b", .kind = CORE_IDENTITY_CERTIFICATE, .name = "dup",
                             .role = CORE_ROLE_READER, .cert_sha256 = pin};
    assert_int_equal(core_identity_create(&rq, &s, &rec, NULL), CF_ERR_EXISTS);
    s.cert_sha256 = NULL, s.ca_sha256 = ca1;
    assert_int_equal(core_identity_create(&rq, &s, &rec, NULL), CF_ERR_EXISTS);
    s.subject = "CN=svc,O=A";
    assert_int_equal(core_identity_create(&rq, &s, &rec, NULL), CF_ERR_EXISTS);

    /* By pin (whatever the issuer), by exact rule, by any-subject rule. */
    core_peer_cert pc = {.sha256 = pin, .issuer_sha256 = ca2, .subject = "CN=vc"};
    assert_int_equal(core_auth_certificate(f->st, f->arena, NOW, &pc, &who), CF_OK);
    assert_string_equal(who->id, pinned->ident.id);
    assert_string_equal(who->tenant, "a");
    pc = (core_peer_cert){.sha256 = other, .issuer_sha256 = ca1, .subject = "CN=svc,O=A"};
    assert_int_equal(core_auth_certificate(f->st, f->arena, NOW, &pc, &who), CF_OK);
    assert_string_equal(who->id, exact->ident.id);
    assert_int_equal(who->role, CORE_ROLE_READER);
    pc.subject = "CN=svc2,O=A";
    assert_int_equal(core_auth_certificate(f->st, f->arena, NOW, &pc, &who), CF_OK);
    assert_string_equal(who->id, any->ident.id);
    assert_string_equal(who->tenant, "b");
    /* Unknown issuer or none: refused. */
    pc.issuer_sha256 = ca2;
    assert_int_equal(core_auth_certificate(f->st, f->arena, NOW, &pc, &who), CF_ERR_AUTH);
    pc.issuer_sha256 = NULL;
    assert_int_equal(core_auth_certificate(f->st, f->arena, NOW, &pc, &who), CF_ERR_AUTH);
    /* A disabled pin refuses even where a CA rule would admit. */
    core_identity_patch off = {.set_disabled = true, .disabled = true};
    assert_int_equal(core_identity_update(&rq, "a", pinned->ident.id, &off, NULL), CF_OK);
    pc = (core_peer_cert){.sha256 = pin, .issuer_sha256 = ca1, .subject = "CN=svc,O=A"};
    assert_int_equal(core_auth_certificate(f->st, f->arena, NOW, &pc, &who), CF_ERR_AUTH);
    /* A certificate identity has no token; an API key spec has no certificate. */
    s = (core_identity_spec){.tenant = "a", .kind = CORE_IDENTITY_CERTIFICATE, .name = "none",
                             .role = CORE_ROLE_READER};
    assert_int_equal(core_identity_create(&rq, &s, &rec, NULL), CF_ERR_MISSING);
    s.kind = CORE_IDENTITY_API_KEY, s.cert_sha256 = other;
    assert_int_equal(core_identity_create(&rq, &s, &rec, &(cf_secret){0}), CF_ERR_INVALID_FIELD);
    s.kind = CORE_IDENTITY_CERTIFICATE, s.cert_sha256 = other, s.subject = "CN=x";
    assert_int_equal(core_identity_create(&rq, &s, &rec, NULL), CF_ERR_INVALID_FIELD);
}

/* The fingerprint and subject of a real certificate, PEM and DER alike,
 * as the TLS layer reports them. */
static void test_certificate_identify(void **state)
{
    struct fx *f = *state;
    char dir[128], path[160], cmd[512];
    crypto_cert_id pem, der;
    (void)state;

    snprintf(dir, sizeof dir, "%s/pki", f->dir);
    assert_int_equal(crypto_pki_ensure_dev(dir, NULL, 0), CF_OK);
    snprintf(path, sizeof path, "%s/admin.crt", dir);
    assert_int_equal(crypto_cert_identify_file(path, f->arena, &pem), CF_OK);
    assert_string_equal(pem.subject, "CN=admin,O=Coffre dev");
    assert_false(pem.is_ca);
    snprintf(cmd, sizeof cmd, "openssl x509 -in %s -outform DER -out %s/admin.der", path, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/admin.der", dir);
    assert_int_equal(crypto_cert_identify_file(path, f->arena, &der), CF_OK);
    assert_memory_equal(pem.sha256, der.sha256, 32);
    assert_string_equal(pem.issuer, der.issuer);
    snprintf(path, sizeof path, "%s/ca.crt", dir);
    assert_int_equal(crypto_cert_identify_file(path, f->arena, &der), CF_OK);
    assert_true(der.is_ca);
    assert_string_equal(der.subject, pem.issuer);
    assert_int_equal(crypto_cert_identify((const uint8_t *)"junk", 4, f->arena, &der),
                     CF_ERR_INVALID_FIELD);
}

/* ------------------------------------------------------------ retirement */

static void revoke_as(struct fx *f, const core_identity *who, const char *uid, uint32_t code)
{
    core_req rq = as(f, who);
    core_revocation rv = {.code = code};
    assert_int_equal(core_revoke(&rq, uid, &rv), CF_OK);
}

static void activate_as(struct fx *f, const core_identity *who, const char *uid)
{
    core_req rq = as(f, who);
    assert_int_equal(core_activate(&rq, uid), CF_OK);
}

static void destroy_as(struct fx *f, const core_identity *who, const char *uid)
{
    core_req rq = as(f, who);
    assert_int_equal(core_destroy(&rq, uid), CF_OK);
}

static bool has_uid(const core_retire_result *r, const char *uid)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->uids[i], uid) == 0)
            return true;
    return false;
}

/* A certificate identity (Writer) of tenant t and its authenticated self. */
static const core_identity *mk_cert_identity(struct fx *f, const char *t, uint8_t fill)
{
    core_req rq = as(f, &OPERATOR);
    uint8_t pin[32];
    core_identity_rec *rec;
    core_identity *who;
    memset(pin, fill, sizeof pin);
    core_identity_spec s = {.tenant = t, .kind = CORE_IDENTITY_CERTIFICATE, .name = "vcenter",
                            .role = CORE_ROLE_WRITER, .cert_sha256 = pin};
    assert_int_equal(core_identity_create(&rq, &s, &rec, NULL), CF_OK);
    core_peer_cert pc = {.sha256 = pin, .subject = "CN=vc"};
    assert_int_equal(core_auth_certificate(f->st, f->arena, NOW, &pc, &who), CF_OK);
    return who;
}

static void test_retire_refuse_and_list(void **state)
{
    struct fx *f = *state;
    mk_tenant(f, "a");
    const core_identity *mgr = mk_key_identity(f, "a", CORE_ROLE_MANAGER, NULL, NULL);
    const core_identity *vc = mk_cert_identity(f, "a", 7);
    const char *k1 = mk_key(f, vc), *k2 = mk_key(f, vc), *k3 = mk_key(f, vc);
    const char *mine = mk_key(f, mgr);
    core_req rq = as(f, mgr);
    core_retire_result res;
    core_identity *who;
    uint8_t pin[32];

    activate_as(f, vc, k2);
    destroy_as(f, vc, k3);
    assert_int_equal(core_identity_retire(&rq, NULL, vc->id, CORE_RETIRE_REFUSE_AND_LIST, &res),
                     CF_ERR_STATE);
    assert_int_equal(res.total, 2);
    assert_int_equal(res.n, 2);
    assert_true(has_uid(&res, k1) && has_uid(&res, k2));
    assert_false(has_uid(&res, mine));
    /* Refused: nothing changed, the identity still works. */
    assert_int_equal(state_of(f, mgr, k1), KMIP_STATE_PRE_ACTIVE);
    assert_int_equal(state_of(f, mgr, k2), KMIP_STATE_ACTIVE);
    memset(pin, 7, sizeof pin);
    core_peer_cert pc = {.sha256 = pin};
    assert_int_equal(core_auth_certificate(f->st, f->arena, NOW, &pc, &who), CF_OK);
    /* Once nothing live is owned, retirement disables the identity. */
    destroy_as(f, vc, k1);
    revoke_as(f, vc, k2, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION);
    destroy_as(f, vc, k2);
    assert_int_equal(core_identity_retire(&rq, NULL, vc->id, CORE_RETIRE_REFUSE_AND_LIST, &res),
                     CF_OK);
    assert_int_equal(res.n, 0);
    assert_int_equal(core_auth_certificate(f->st, f->arena, NOW, &pc, &who), CF_ERR_AUTH);
    assert_int_equal(state_of(f, mgr, mine), KMIP_STATE_PRE_ACTIVE);
    /* A Writer may not retire; an unknown identity is not found. */
    rq.who = mk_key_identity(f, "a", CORE_ROLE_WRITER, NULL, NULL);
    assert_int_equal(core_identity_retire(&rq, NULL, vc->id, CORE_RETIRE_REFUSE_AND_LIST, &res),
                     CF_ERR_PERMISSION);
    rq.who = mgr;
    assert_int_equal(core_identity_retire(&rq, NULL, "nope", CORE_RETIRE_REFUSE_AND_LIST, &res),
                     CF_ERR_NOT_FOUND);
}

static const ttlv_item *attr_value(struct fx *f, const core_identity *who, const char *uid,
                                   const char *name)
{
    core_req rq = as(f, who);
    core_object *obj;
    assert_int_equal(core_object_load(&rq, uid, &obj), CF_OK);
    return core_attr_find(obj, name, 0);
}

static void retire_revoke_and_destroy(struct fx *f, bool by_operator)
{
    mk_tenant(f, "a");
    const core_identity *mgr = mk_key_identity(f, "a", CORE_ROLE_MANAGER, NULL, NULL);
    const core_identity *vc = mk_cert_identity(f, "a", 9);
    const char *pre = mk_key(f, vc), *act = mk_key(f, vc), *deact = mk_key(f, vc);
    const char *comp = mk_key(f, vc), *gone = mk_key(f, vc), *other = mk_key(f, mgr);
    core_req rq = as(f, by_operator ? &OPERATOR : mgr);
    core_retire_result res;
    const ttlv_item *rr;
    core_identity *who;
    uint8_t pin[32];

    activate_as(f, vc, act);
    activate_as(f, vc, deact);
    revoke_as(f, vc, deact, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION);
    activate_as(f, vc, comp);
    revoke_as(f, vc, comp, KMIP_REVOCATION_REASON_CODE_KEY_COMPROMISE);
    destroy_as(f, vc, gone);
    activate_as(f, mgr, other);
    assert_int_equal(core_identity_retire(&rq, by_operator ? "a" : NULL, vc->id,
                                          CORE_RETIRE_REVOKE_AND_DESTROY, &res),
                     CF_OK);
    assert_int_equal(res.n, 4);
    assert_true(has_uid(&res, pre) && has_uid(&res, act) && has_uid(&res, deact) &&
                has_uid(&res, comp));
    assert_int_equal(state_of(f, mgr, pre), KMIP_STATE_DESTROYED);
    assert_int_equal(state_of(f, mgr, act), KMIP_STATE_DESTROYED);
    assert_int_equal(state_of(f, mgr, deact), KMIP_STATE_DESTROYED);
    assert_int_equal(state_of(f, mgr, comp), KMIP_STATE_DESTROYED_COMPROMISED);
    assert_int_equal(state_of(f, mgr, gone), KMIP_STATE_DESTROYED);
    assert_int_equal(state_of(f, mgr, other), KMIP_STATE_ACTIVE);
    /* The Active key was revoked for Cessation of Operation before its destruction. */
    rr = attr_value(f, mgr, act, "Revocation Reason");
    assert_non_null(rr);
    assert_int_equal(ttlv_get_enum(rr, KMIP_TAG_REVOCATION_REASON_CODE, &(uint32_t){0}), CF_OK);
    uint32_t code = 0;
    ttlv_get_enum(rr, KMIP_TAG_REVOCATION_REASON_CODE, &code);
    assert_int_equal(code, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION);
    assert_non_null(attr_value(f, mgr, act, "Deactivation Date"));
    assert_non_null(attr_value(f, mgr, act, "Destroy Date"));
    assert_null(attr_value(f, mgr, pre, "Revocation Reason")); /* Pre-Active: destroyed directly */
    memset(pin, 9, sizeof pin);
    core_peer_cert pc = {.sha256 = pin};
    assert_int_equal(core_auth_certificate(f->st, f->arena, NOW, &pc, &who), CF_ERR_AUTH);
    /* Again: nothing left, still disabled. */
    assert_int_equal(core_identity_retire(&rq, by_operator ? "a" : NULL, vc->id,
                                          CORE_RETIRE_REVOKE_AND_DESTROY, &res),
                     CF_OK);
    assert_int_equal(res.n, 0);
}

static void test_retire_revoke_and_destroy(void **state)
{
    retire_revoke_and_destroy(*state, false);
}

static void test_retire_by_operator(void **state)
{
    retire_revoke_and_destroy(*state, true);
}

/* -------------------------------------------------------------- bootstrap */

struct publish_ctx {
    int calls;
    cf_status answer;
    char token[CORE_TOKEN_LEN + 1];
};

static cf_status publish(void *ctx, const cf_secret *token)
{
    struct publish_ctx *p = ctx;
    p->calls++;
    assert_int_equal(token->len, CORE_TOKEN_LEN);
    memcpy(p->token, token->p, CORE_TOKEN_LEN);
    p->token[CORE_TOKEN_LEN] = '\0';
    return p->answer;
}

static void count_rows(struct fx *f, int64_t *tenants, int64_t *in_default, int64_t *operators)
{
    store_tenant *t;
    store_identity *i;
    size_t n;
    assert_int_equal(store_tenant_list(f->st, 0, -1, f->arena, &t, &n, tenants), CF_OK);
    assert_int_equal(store_identity_list(f->st, "default", 0, -1, f->arena, &i, &n, in_default),
                     CF_OK);
    assert_int_equal(store_identity_list(f->st, NULL, 0, -1, f->arena, &i, &n, operators), CF_OK);
}

static void test_bootstrap(void **state)
{
    struct fx *f = *state;
    uint8_t admin[32];
    struct publish_ctx p = {.answer = CF_ERR_IO};
    core_bootstrap_in in = {.admin_sha256 = admin, .admin_subject = "CN=admin",
                            .publish = publish, .ctx = &p};
    int64_t t, d, o;
    bool done = true;
    core_identity *who;

    memset(admin, 0x5A, sizeof admin);
    /* The token cannot be published: nothing at all is created. */
    assert_int_equal(core_bootstrap(f->st, f->arena, NOW, &in, &done), CF_ERR_IO);
    assert_false(done);
    count_rows(f, &t, &d, &o);
    assert_true(t == 0 && d == 0 && o == 0);
    p.answer = CF_OK;
    assert_int_equal(core_bootstrap(f->st, f->arena, NOW, &in, &done), CF_OK);
    assert_true(done);
    assert_int_equal(p.calls, 2);
    count_rows(f, &t, &d, &o);
    assert_true(t == 1 && d == 1 && o == 1);
    /* The token is the operator's; the admin certificate a Manager of "default". */
    assert_int_equal(core_auth_token(f->st, f->arena, NOW, p.token, 80, &who), CF_OK);
    assert_true(who->is_operator);
    assert_null(who->tenant);
    core_peer_cert pc = {.sha256 = admin, .subject = "CN=admin"};
    assert_int_equal(core_auth_certificate(f->st, f->arena, NOW, &pc, &who), CF_OK);
    assert_string_equal(who->tenant, "default");
    assert_int_equal(who->role, CORE_ROLE_MANAGER);
    /* A restart does nothing. */
    assert_int_equal(core_bootstrap(f->st, f->arena, NOW, &in, &done), CF_OK);
    assert_false(done);
    assert_int_equal(p.calls, 2);
    count_rows(f, &t, &d, &o);
    assert_true(t == 1 && d == 1 && o == 1);
}

struct node {
    char uri[128];
    uint8_t admin[32];
    struct publish_ctx p;
    bool done;
    cf_status rc;
};

static void *node_start(void *arg)
{
    struct node *n = arg;
    store *st = NULL;
    cf_arena *a = cf_arena_new(4096, 0);
    core_bootstrap_in in = {.admin_sha256 = n->admin, .publish = publish, .ctx = &n->p};
    n->rc = store_open(n->uri, &st);
    if (n->rc == CF_OK)
        n->rc = core_bootstrap(st, a, NOW, &in, &n->done);
    store_close(st);
    cf_arena_free(a);
    return NULL;
}

/* Two nodes starting at once on one new database: one bootstrap. */
static void test_bootstrap_two_nodes(void **state)
{
    struct fx *f = *state;
    struct node n[4];
    pthread_t th[4];
    int64_t t, d, o;
    int done = 0;

    for (int i = 0; i < 4; i++) {
        memset(&n[i], 0, sizeof n[i]);
        snprintf(n[i].uri, sizeof n[i].uri, "sqlite:%s/shared.db", f->dir);
        memset(n[i].admin, 0x33, 32);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, node_start, &n[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(n[i].rc, CF_OK);
        done += n[i].done;
        assert_int_equal(n[i].p.calls, n[i].done ? 1 : 0);
    }
    assert_int_equal(done, 1);
    store_close(f->st);
    char uri[128];
    snprintf(uri, sizeof uri, "sqlite:%s/shared.db", f->dir);
    assert_int_equal(store_open(uri, &f->st), CF_OK);
    count_rows(f, &t, &d, &o);
    assert_true(t == 1 && d == 1 && o == 1);
}

/* ------------------------------------------------------- tenant isolation */

static void test_tenant_isolation(void **state)
{
    struct fx *f = *state;
    mk_tenant(f, "a");
    mk_tenant(f, "b");
    const core_identity *ma = mk_key_identity(f, "a", CORE_ROLE_MANAGER, NULL, NULL);
    const core_identity *mb = mk_key_identity(f, "b", CORE_ROLE_MANAGER, NULL, NULL);
    const char *ka = mk_key(f, ma);
    core_req rb = as(f, mb), rop = as(f, &OPERATOR);
    core_object *obj;
    core_identity_rec *rec;
    core_retire_result res;
    const char **uids;
    size_t n;
    int64_t total;

    assert_int_equal(core_object_load(&rb, ka, &obj), CF_ERR_NOT_FOUND);
    assert_int_equal(core_destroy(&rb, ka), CF_ERR_NOT_FOUND);
    assert_int_equal(core_locate(&rb, NULL, &(core_locate_opts){0}, &uids, &n, &total), CF_OK);
    assert_int_equal(total, 0);
    rb.who = ma;
    assert_int_equal(core_locate(&rb, NULL, &(core_locate_opts){0}, &uids, &n, &total), CF_OK);
    assert_int_equal(total, 1);
    rb.who = mb;
    /* b's Manager cannot see or touch a's identities, by tenant or by id. */
    assert_int_equal(core_identity_get(&rb, "a", ma->id, &rec), CF_ERR_NOT_FOUND);
    assert_int_equal(core_identity_get(&rb, NULL, ma->id, &rec), CF_ERR_NOT_FOUND);
    assert_int_equal(core_identity_delete(&rb, NULL, ma->id), CF_ERR_NOT_FOUND);
    assert_int_equal(core_identity_retire(&rb, NULL, ma->id, CORE_RETIRE_REVOKE_AND_DESTROY, &res),
                     CF_ERR_NOT_FOUND);
    assert_int_equal(core_tenant_get(&rb, "a", &(core_tenant *){0}), CF_ERR_NOT_FOUND);
    assert_int_equal(core_tenant_get(&rb, "b", &(core_tenant *){0}), CF_OK);
    /* The operator manages both tenants' identities but never loads an object. */
    assert_int_equal(core_identity_get(&rop, "a", ma->id, &rec), CF_OK);
    assert_int_equal(core_object_load(&rop, ka, &obj), CF_ERR_NOT_FOUND);
    assert_int_equal(core_locate(&rop, NULL, &(core_locate_opts){0}, &uids, &n, &total),
                     CF_ERR_PERMISSION);
    /* Over KMIP too: b's Get of a's key is Item Not Found. */
    f->who = *mb;
    req r;
    req_one(&r, 1, 4, KMIP_OPERATION_GET, ka);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
}

/* A verified certificate mapping to no identity: every item refused. */
static void test_kmip_unregistered(void **state)
{
    struct fx *f = *state;
    req r;

    f->who = (core_identity){.id = "unregistered:00"};
    req_header(&r, 1, 4, 3, KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE);
    item_begin(&r, KMIP_OPERATION_DISCOVER_VERSIONS);
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_QUERY);
    ttlv_w_enum(&r.w, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_OPERATIONS);
    item_end(&r);
    item_begin_uid(&r, KMIP_OPERATION_GET, "x");
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(header_int(f, KMIP_TAG_BATCH_COUNT), 3);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(reason_of(nth_item(f, i)),
                         KMIP_RESULT_REASON_AUTHENTICATION_NOT_SUCCESSFUL);
    /* With the default (Stop), the first refusal ends the batch. */
    req_begin(&r, 2, 0, 2);
    item_begin(&r, KMIP_OPERATION_QUERY);
    item_end(&r);
    item_begin(&r, KMIP_OPERATION_QUERY);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(header_int(f, KMIP_TAG_BATCH_COUNT), 1);
    assert_int_equal(reason_of(nth_item(f, 0)), KMIP_RESULT_REASON_AUTHENTICATION_NOT_SUCCESSFUL);
}

/* ---------------------------------------------- restrictions and roles */

/* The envelope case: an API key restricted to wrap and unwrap with one key. */
static void test_restriction_wrap_only(void **state)
{
    struct fx *f = *state;
    mk_tenant(f, "a");
    const core_identity *mgr = mk_key_identity(f, "a", CORE_ROLE_MANAGER, NULL, NULL);
    const char *root = mk_key(f, mgr), *other = mk_key(f, mgr);
    const char *uids[] = {root};
    core_restriction r = {.actions = CORE_ACTION_BIT(CORE_ACT_WRAP) |
                                     CORE_ACTION_BIT(CORE_ACT_UNWRAP),
                          .uids = uids, .n_uids = 1};
    const core_identity *svc = mk_key_identity(f, "a", CORE_ROLE_WRITER, &r, NULL);
    core_req rq = as(f, svc);
    core_object *obj;
    cf_secret m = {0};
    const char **found;
    size_t n;
    int64_t total;

    assert_non_null(svc->restriction);
    assert_int_equal(svc->restriction->n_uids, 1);
    assert_string_equal(svc->restriction->uids[0], root);
    activate_as(f, mgr, root);
    assert_int_equal(core_object_load(&rq, root, &obj), CF_OK);
    assert_int_equal(core_object_check_use(&rq, obj, CORE_ACT_WRAP), CF_OK);
    assert_int_equal(core_object_check_use(&rq, obj, CORE_ACT_UNWRAP), CF_OK);
    assert_int_equal(core_object_check_use(&rq, obj, CORE_ACT_ENCRYPT), CF_ERR_PERMISSION);
    assert_int_equal(core_object_check_usage(&rq, obj, CORE_USAGE_PROCESS), CF_ERR_PERMISSION);
    assert_int_equal(core_object_material(&rq, obj, &m), CF_ERR_PERMISSION);
    assert_null(m.p);
    /* Through the real operation: Encrypt with the root key is refused to
     * it, allowed to an unrestricted Writer (the key's usage mask allows it). */
    ttlv_item *ecb = ttlv_new_struct(f->arena, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
    ttlv_append(ecb, ttlv_new_enum(f->arena, KMIP_TAG_BLOCK_CIPHER_MODE,
                                   KMIP_BLOCK_CIPHER_MODE_ECB));
    core_crypto_in in = {.uid = root, .params = ecb, .data = (const uint8_t *)"0123456789abcdef",
                         .data_len = 16, .has_data = true};
    core_crypto_out co = {0};
    assert_int_equal(core_encrypt(&rq, &in, &co), CF_ERR_PERMISSION);
    core_req wr = as(f, mk_key_identity(f, "a", CORE_ROLE_WRITER, NULL, NULL));
    assert_int_equal(core_encrypt(&wr, &in, &co), CF_OK);
    assert_int_equal(co.data_len, 16);
    /* Other objects do not exist for it; it cannot search, create or manage. */
    assert_int_equal(core_object_load(&rq, other, &obj), CF_ERR_NOT_FOUND);
    assert_int_equal(core_locate(&rq, NULL, &(core_locate_opts){0}, &found, &n, &total),
                     CF_ERR_PERMISSION);
    assert_int_equal(core_create_symmetric_key(&rq, NULL, &obj), CF_ERR_PERMISSION);
    assert_int_equal(core_identity_list(&rq, NULL, 0, -1, &(core_identity_rec *){0}, &n, &total),
                     CF_ERR_PERMISSION);
    /* A restricted Manager may not manage identities (it could mint unrestricted ones). */
    r = (core_restriction){.actions = CORE_ACTIONS_ALL};
    rq.who = mk_key_identity(f, "a", CORE_ROLE_MANAGER, &r, NULL);
    assert_int_equal(core_identity_list(&rq, NULL, 0, -1, &(core_identity_rec *){0}, &n, &total),
                     CF_ERR_PERMISSION);
}

static void test_reader_never_gets_material(void **state)
{
    struct fx *f = *state;
    mk_tenant(f, "a");
    const core_identity *w = mk_key_identity(f, "a", CORE_ROLE_WRITER, NULL, NULL);
    const core_identity *rd = mk_key_identity(f, "a", CORE_ROLE_READER, NULL, NULL);
    const char *k = mk_key(f, w);
    core_req rq = as(f, rd);
    core_object *obj;
    cf_secret m = {0};
    ttlv_item *attrs;
    uint32_t fmt;
    req r;

    assert_int_equal(core_object_load(&rq, k, &obj), CF_OK);
    assert_int_equal(core_object_attributes(&rq, obj, &attrs), CF_OK);
    assert_int_equal(core_object_material(&rq, obj, &m), CF_ERR_PERMISSION);
    assert_int_equal(core_key_material(&rq, obj, &m, &fmt), CF_ERR_PERMISSION);
    assert_null(m.p);
    assert_int_equal(core_activate(&rq, k), CF_ERR_PERMISSION);
    f->who = *rd;
    req_one(&r, 1, 4, KMIP_OPERATION_GET, k);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_PERMISSION_DENIED);
    /* A Writer that does not own the key may not destroy it; a Manager may. */
    const core_identity *w2 = mk_key_identity(f, "a", CORE_ROLE_WRITER, NULL, NULL);
    rq.who = w2;
    assert_int_equal(core_destroy(&rq, k), CF_ERR_PERMISSION);
    rq.who = mk_key_identity(f, "a", CORE_ROLE_MANAGER, NULL, NULL);
    assert_int_equal(core_destroy(&rq, k), CF_OK);
}

/* ------------------------------------------------------------- management */

static void test_identity_management(void **state)
{
    struct fx *f = *state;
    mk_tenant(f, "a");
    mk_tenant(f, "b");
    const core_identity *mgr = mk_key_identity(f, "a", CORE_ROLE_MANAGER, NULL, NULL);
    const core_identity *wr = mk_key_identity(f, "a", CORE_ROLE_WRITER, NULL, NULL);
    core_req rq = as(f, mgr);
    core_identity_spec s = {.kind = CORE_IDENTITY_API_KEY, .name = "reader",
                            .role = CORE_ROLE_READER};
    core_identity_rec *rec, *list;
    cf_secret tok = {0};
    size_t n;
    int64_t total;

    /* The Manager creates in its tenant (NULL = its own); not in another. */
    assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_OK);
    assert_string_equal(rec->ident.tenant, "a");
    cf_secret_free(&tok);
    s.tenant = "b";
    assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_ERR_NOT_FOUND);
    s.tenant = NULL;
    s.is_operator = true, s.role = CORE_ROLE_NONE;
    assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_ERR_INVALID_FIELD);
    s.is_operator = false, s.role = CORE_ROLE_READER;
    /* Validation. */
    const char *bad_names[] = {"", "a\nb", "\xC3\x28", "\xED\xA0\x80", "\xC0\xAF"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        s.name = bad_names[i];
        assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_ERR_INVALID_FIELD);
    }
    s.name = "caf\xC3\xA9";
    s.role = (core_role)4;
    assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_ERR_INVALID_FIELD);
    s.role = CORE_ROLE_READER;
    const char *ghost[] = {"no-such-object"};
    s.restriction = (core_restriction){.uids = ghost, .n_uids = 1};
    assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_ERR_NOT_FOUND);
    s.restriction = (core_restriction){.actions = CORE_ACTION_BIT(CORE_ACTION_COUNT)};
    assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_ERR_INVALID_FIELD);
    s.restriction = (core_restriction){0};
    /* A Writer manages nothing. */
    rq.who = wr;
    assert_int_equal(core_identity_create(&rq, &s, &rec, &tok), CF_ERR_PERMISSION);
    assert_int_equal(core_identity_list(&rq, NULL, 0, -1, &list, &n, &total), CF_ERR_PERMISSION);
    rq.who = mgr;
    /* Listing: mgr, wr and the reader; paged. */
    assert_int_equal(core_identity_list(&rq, NULL, 0, -1, &list, &n, &total), CF_OK);
    assert_int_equal(total, 3);
    assert_int_equal(n, 3);
    assert_int_equal(core_identity_list(&rq, NULL, 1, 1, &list, &n, &total), CF_OK);
    assert_int_equal(n, 1);
    assert_int_equal(total, 3);
    assert_string_equal(list[0].ident.id, wr->id);
    /* Update: role and name, then delete: the token no longer works. */
    core_identity_patch p = {.name = "writer two", .role = CORE_ROLE_READER};
    assert_int_equal(core_identity_update(&rq, NULL, wr->id, &p, &rec), CF_OK);
    assert_int_equal(rec->ident.role, CORE_ROLE_READER);
    assert_int_equal(rec->revision, 2);
    assert_int_equal(core_identity_get(&rq, NULL, wr->id, &rec), CF_OK);
    assert_string_equal(rec->ident.name, "writer two");
    assert_int_equal(core_identity_delete(&rq, NULL, wr->id), CF_OK);
    assert_int_equal(core_identity_get(&rq, NULL, wr->id, &rec), CF_ERR_NOT_FOUND);
    assert_int_equal(core_identity_delete(&rq, NULL, wr->id), CF_ERR_NOT_FOUND);
}

static void test_tenants(void **state)
{
    struct fx *f = *state;
    core_req rq = as(f, &OPERATOR);
    core_tenant *t, *list;
    size_t n;
    int64_t total;
    cf_secret tok;
    core_identity *who;
    char long_id[65];

    const char *bad[] = {"", "-a", "A", "a_b", "a b", "é"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(core_tenant_create(&rq, bad[i], NULL, &t), CF_ERR_INVALID_FIELD);
    memset(long_id, 'a', 64);
    long_id[64] = '\0';
    assert_int_equal(core_tenant_create(&rq, long_id, NULL, &t), CF_ERR_INVALID_FIELD);
    long_id[63] = '\0';
    assert_int_equal(core_tenant_create(&rq, long_id, "Long", &t), CF_OK);
    assert_int_equal(core_tenant_create(&rq, "acme-2", "ACME", &t), CF_OK);
    assert_string_equal(t->name, "ACME");
    assert_int_equal(t->state, CORE_TENANT_ACTIVE);
    assert_int_equal(core_tenant_create(&rq, "acme-2", NULL, &t), CF_ERR_EXISTS);
    assert_int_equal(core_tenant_list(&rq, 0, -1, &list, &n, &total), CF_OK);
    assert_int_equal(total, 2);
    assert_string_equal(list[0].id, long_id);
    assert_string_equal(list[1].id, "acme-2");
    /* Tenant identities cannot manage tenants. */
    const core_identity *mgr = mk_key_identity(f, "acme-2", CORE_ROLE_MANAGER, NULL, &tok);
    rq.who = mgr;
    assert_int_equal(core_tenant_create(&rq, "x", NULL, &t), CF_ERR_PERMISSION);
    assert_int_equal(core_tenant_list(&rq, 0, -1, &list, &n, &total), CF_ERR_PERMISSION);
    /* Deleting a tenant with a live key is refused; once destroyed, it goes
     * with its identities and rows. */
    const char *k = mk_key(f, mgr);
    rq.who = &OPERATOR;
    assert_int_equal(core_tenant_delete(&rq, "acme-2"), CF_ERR_STATE);
    destroy_as(f, mgr, k);
    assert_int_equal(core_tenant_delete(&rq, "acme-2"), CF_OK);
    assert_int_equal(core_tenant_delete(&rq, "acme-2"), CF_ERR_NOT_FOUND);
    assert_int_equal(core_auth_token(f->st, f->arena, NOW, (char *)tok.p, 80, &who), CF_ERR_AUTH);
    assert_int_equal(store_object_count(f->st, "acme-2", &total), CF_OK);
    assert_int_equal(total, 0);
    cf_secret_free(&tok);
}

/* ------------------------------------------------------ schema migration */

/* The version 2 schema, as databases made earlier have it. */
static const char v2_schema[] =
    "CREATE TABLE meta(k TEXT PRIMARY KEY NOT NULL, v BLOB NOT NULL);"
    "CREATE TABLE objects(id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, uid TEXT NOT NULL,"
    " object_type INTEGER NOT NULL, state INTEGER NOT NULL, owner TEXT NOT NULL,"
    " algorithm INTEGER NOT NULL, length INTEGER NOT NULL, created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL, revision INTEGER NOT NULL, attrs BLOB NOT NULL,"
    " key_format INTEGER NOT NULL, material BLOB, UNIQUE(tenant, uid));"
    "CREATE INDEX objects_state ON objects(tenant, state);"
    "CREATE INDEX objects_owner ON objects(tenant, owner);"
    "CREATE INDEX objects_type ON objects(tenant, object_type, algorithm);"
    "CREATE TABLE object_index(oid INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,"
    " tenant TEXT NOT NULL, name TEXT NOT NULL, ival INTEGER, tval BLOB);"
    "CREATE INDEX object_index_oid ON object_index(oid, name);"
    "CREATE INDEX object_index_text ON object_index(tenant, name, tval, ival, oid)"
    " WHERE tval IS NOT NULL;"
    "CREATE INDEX object_index_int ON object_index(tenant, name, ival, oid)"
    " WHERE ival IS NOT NULL;"
    "INSERT INTO meta(k, v) VALUES('schema_version', '2');";

static void test_upgrade_from_version_2(void **state)
{
    struct fx *f = *state;
    char path[128], uri[140];
    sqlite3 *db;
    store *st = NULL;
    store_object o;
    store_tenant t;
    const uint8_t *v;
    size_t len;
    static const uint8_t attrs[] = {0x42, 0x01, 0x25, 0x01, 0, 0, 0, 0}; /* empty Attributes */

    snprintf(path, sizeof path, "%s/v2.db", f->dir);
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v2_schema, NULL, NULL, NULL), SQLITE_OK);
    o = (store_object){.tenant = "default", .uid = "u1", .object_type = 2, .state = 1,
                       .owner = "cert:CN=admin", .created = 1, .updated = 1, .revision = 1,
                       .attrs = attrs, .attrs_len = sizeof attrs};
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO objects(tenant, uid, object_type, state, owner,"
                                  " algorithm, length, created, updated, revision, attrs,"
                                  " key_format) VALUES('default', 'u1', 2, 1, 'cert:CN=admin',"
                                  " 3, 256, 1, 1, 1, x'4201250100000000', 0),"
                                  " ('legacy', 'u2', 2, 1, 'x', 3, 256, 1, 1, 1, x'', 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    /* Opening upgrades in place (through 3, 4 and 5 to the current version 6): the
     * tables, a row per tenant. */
    assert_int_equal(store_open(uri, &st), CF_OK);
    assert_int_equal(store_meta_get(st, "schema_version", f->arena, &v, &len), CF_OK);
    assert_int_equal(len, 1);
    assert_memory_equal(v, "7", 1);
    assert_int_equal(store_tenant_get(st, "default", f->arena, &t), CF_OK);
    assert_int_equal(t.state, CORE_TENANT_ACTIVE);
    assert_int_equal(store_tenant_get(st, "legacy", f->arena, &t), CF_OK);
    assert_int_equal(store_object_get(st, "default", "u1", f->arena, &o), CF_OK);
    assert_string_equal(o.owner, "cert:CN=admin");
    assert_int_equal(store_identity_list(st, "default", 0, -1, f->arena,
                                         &(store_identity *){0}, &len, &(int64_t){0}),
                     CF_OK);
    assert_int_equal(len, 0);
    /* The bootstrap then runs on the upgraded store: default is kept. */
    bool done = false;
    core_bootstrap_in in = {0};
    assert_int_equal(core_bootstrap(st, f->arena, NOW, &in, &done), CF_OK);
    assert_true(done);
    store_close(st);
    /* Reopening is a no-op. */
    assert_int_equal(store_open(uri, &st), CF_OK);
    assert_int_equal(store_tenant_get(st, "default", f->arena, &t), CF_OK);
    store_close(st);
}

/* ------------------------------------------- the TLS peer's issuing anchor */

/* net_tls.c finds the trust anchor that issued the client certificate (for
 * CA rules), on full handshakes and on resumed ones (TLS 1.2 tickets, TLS
 * 1.3), where OpenSSL keeps no verified chain. */
static void check_issuer(int version, const uint8_t ca[32])
{
    struct fixture f;
    SSL_CTX *ctx = client_ctx("client", version, 0);
    SSL_SESSION *sess;
    SSL *ssl;
    unsigned port;

    fx_config(&f);
    fx_start(&f);
    port = net_server_kmip_port(f.srv);
    for (int i = 0; i < 3; i++) {
        ssl = tls_open(ctx, port, i ? sess : NULL);
        assert_non_null(ssl);
        assert_int_equal(SSL_session_reused(ssl), i > 0);
        assert_true(exchange(ssl, 24, 1));
        pthread_mutex_lock(&g_peer_mu);
        assert_true(g_last_peer.has_issuer);
        assert_memory_equal(g_last_peer.issuer_sha256, ca, 32);
        memset(g_last_peer.issuer_sha256, 0, 32);
        pthread_mutex_unlock(&g_peer_mu);
        if (i == 0)
            sess = SSL_get1_session(ssl);
        tls_close(ssl, true);
        usleep(100000);
    }
    SSL_SESSION_free(sess);
    SSL_CTX_free(ctx);
    fx_stop(&f);
}

static void test_peer_issuer(void **state)
{
    char path[300];
    crypto_cert_id ca;
    cf_arena *a = cf_arena_new(4096, 0);

    net_test_setup(state);
    snprintf(path, sizeof path, "%s/ca.pem", g_dir);
    assert_int_equal(crypto_cert_identify_file(path, a, &ca), CF_OK);
    check_issuer(TLS1_2_VERSION, ca.sha256);
    check_issuer(0, ca.sha256); /* TLS 1.3 */
    cf_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_format, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_token_verification, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_permission_table, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_docs_table, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_certificate_mapping, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_certificate_identify, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_retire_refuse_and_list, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_retire_revoke_and_destroy, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_retire_by_operator, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bootstrap, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bootstrap_two_nodes, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tenant_isolation, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_kmip_unregistered, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restriction_wrap_only, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reader_never_gets_material, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_identity_management, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tenants, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_version_2, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_peer_issuer, net_group_setup, net_group_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
