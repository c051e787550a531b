/*
 * audit_test.c - the audit trail: canonical form and hash (byte-exact,
 * against values computed independently with Python's json and hashlib),
 * HMACs, checkpoint signatures, the verifier naming the record for each
 * kind of tampering, and through the KMIP front end and the store: one
 * record per batch item, the chain across records, Undo batches, refusals
 * and failed authentication recorded, and fail-closed answers when the
 * store refuses the record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "support/kmip_fixture.h"

#include "audit/audit.h"
#include "core/core.h"
#include "ttlv/ttlv_tags.h"

/* ------------------------------------------------------------ records */

static audit_record sample(void)
{
    static const char hm[] = "abababababababababababababababababababababababababababababababab";
    audit_record r = {.chain = "acme", .seq = 1, .time_ms = 1795000000123, .tenant = "acme",
                      .source = "127.0.0.1:4242", .frontend = "rest", .operation = "createKey",
                      .object_id = "k-1", .object_version = 2, .result = "ok",
                      .request_id = "r-1", .hmac_name = hm};
    r.identity.id = "id-1";
    r.identity.kind = AUDIT_ID_API_KEY;
    r.identity.name = "ci";
    memcpy(r.prev, AUDIT_ZERO_HASH, sizeof r.prev);
    return r;
}

/* Expected values from Python: json.dumps(r, sort_keys=True,
 * separators=(",", ":"), ensure_ascii=False) and hashlib.sha256. */
static const char canonical[] =
    "{\"chain\":\"acme\",\"frontend\":\"rest\",\"hmac\":{\"name\":\"abababababababababababababab"
    "abababababababababababababababababab\"},\"identity\":{\"id\":\"id-1\",\"kind\":\"api_key\","
    "\"name\":\"ci\"},\"object\":{\"id\":\"k-1\",\"version\":2},\"operation\":\"createKey\","
    "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\","
    "\"request_id\":\"r-1\",\"result\":\"ok\",\"seq\":1,\"source\":\"127.0.0.1:4242\","
    "\"tenant\":\"acme\",\"time\":\"2026-11-18T11:06:40.123Z\"}";
static const char canonical_hash[] =
    "3e15ae675ddc79c79542e0a5dddc5d066f923d3e3bd2a04071a86d7c23281fdf";

static void test_canonical_form(void **state)
{
    audit_record r = sample();
    audit_parsed p;
    char *json, expect[1024];
    size_t len;
    (void)state;

    assert_int_equal(audit_record_seal(&r, &json, &len), CF_OK);
    assert_string_equal(r.hash, canonical_hash);
    /* Stored form: the canonical form with "hash" in its sorted place. */
    {
        int at = (int)(strstr(canonical, "\"hmac\"") - canonical);
        snprintf(expect, sizeof expect, "%.*s\"hash\":\"%s\",%s", at, canonical,
                 canonical_hash, canonical + at);
    }
    assert_string_equal(json, expect);
    assert_int_equal(len, strlen(expect));
    /* Parsing recomputes the same hash; the stored one is kept apart. */
    assert_int_equal(audit_record_parse(json, len, &p), CF_OK);
    assert_string_equal(p.chain, "acme");
    assert_int_equal(p.seq, 1);
    assert_string_equal(p.computed, canonical_hash);
    assert_string_equal(p.hash, canonical_hash);
    free(json);
    /* Formatting does not matter, content does: spaces and key order. */
    {
        const char *spaced = "{ \"seq\": 1, \"chain\": \"acme\", \"prev\": \"" AUDIT_ZERO_HASH
                             "\", \"hash\": \"" AUDIT_ZERO_HASH "\" }";
        assert_int_equal(audit_record_parse(spaced, strlen(spaced), &p), CF_OK);
        assert_string_not_equal(p.computed, p.hash);
    }
    /* Refused: missing members, duplicate keys, not an object. */
    assert_int_equal(audit_record_parse("[]", 2, &p), CF_ERR_INVALID_MSG);
    assert_int_equal(audit_record_parse("{\"seq\":1}", 9, &p), CF_ERR_INVALID_MSG);
    {
        const char *dup = "{\"seq\":1,\"seq\":2,\"chain\":\"a\",\"prev\":\"" AUDIT_ZERO_HASH
                          "\",\"hash\":\"" AUDIT_ZERO_HASH "\"}";
        assert_int_equal(audit_record_parse(dup, strlen(dup), &p), CF_ERR_INVALID_MSG);
    }
}

static void test_record_fields(void **state)
{
    audit_record r = sample();
    char *json;
    size_t len;
    json_t *o;
    json_error_t err;
    (void)state;

    /* The operator chain: tenant null; a refusal carries its reason; a
     * subject that is not UTF-8 is kept readable. */
    r.chain = AUDIT_CHAIN_OPERATOR;
    r.tenant = NULL;
    r.result = "permission_denied";
    r.reason = "this identity may not create keys";
    r.identity.kind = AUDIT_ID_NONE;
    r.identity.id = NULL;
    r.identity.subject = "CN=caf\xff";
    assert_int_equal(audit_record_seal(&r, &json, &len), CF_OK);
    o = json_loads(json, 0, &err);
    assert_non_null(o);
    assert_true(json_is_null(json_object_get(o, "tenant")));
    assert_string_equal(json_string_value(json_object_get(o, "reason")),
                        "this identity may not create keys");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "identity"), "subject")),
        "CN=caf\\xff");
    json_decref(o);
    free(json);
    /* Refused shapes. */
    r.seq = 0;
    assert_int_equal(audit_record_seal(&r, &json, &len), CF_ERR_INVALID_FIELD);
    r.seq = 1;
    r.prev[3] = 'X';
    assert_int_equal(audit_record_seal(&r, &json, &len), CF_ERR_INVALID_FIELD);
}

static void test_hmac(void **state)
{
    uint8_t key[32];
    char a[65], b[65];
    (void)state;
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    /* Python: hmac.new(bytes(range(32)), b"acme\0name\0secret-name", sha256) */
    assert_int_equal(audit_hmac(key, "acme", "name", (const uint8_t *)"secret-name", 11, a), CF_OK);
    assert_string_equal(a, "8477ebc23146dc4735e061b129f01d2e13cbdaa857d87f54da8b6a4e6124939c");
    /* Bound to the chain: the same name in another tenant differs. */
    assert_int_equal(audit_hmac(key, "other", "name", (const uint8_t *)"secret-name", 11, b),
                     CF_OK);
    assert_string_equal(b, "131f2648e7fa183be6866d416d5c7920f49a9e5f8361ed43912a2ee69dabdbbd");
}

static void test_checkpoint_signature(void **state)
{
    audit_key *k = NULL, *pub = NULL, *other = NULL;
    audit_checkpoint cp;
    const char *why;
    char *json, *pem, *bad, kid[65];
    size_t len;
    cf_secret raw;
    (void)state;

    assert_int_equal(audit_key_generate(&k), CF_OK);
    assert_int_equal(audit_key_public_pem(k, &pem), CF_OK);
    assert_int_equal(audit_key_from_pem(pem, strlen(pem), &pub), CF_OK);
    assert_int_equal(audit_checkpoint_sign(k, "acme", 20, canonical_hash, 1795000000123, &json,
                                           &len),
                     CF_OK);
    assert_int_equal(audit_checkpoint_verify(pub, json, len, &cp, &why), CF_OK);
    assert_int_equal(cp.seq, 20);
    assert_string_equal(cp.chain, "acme");
    assert_string_equal(cp.hash, canonical_hash);
    assert_string_equal(cp.time, "2026-11-18T11:06:40.123Z");
    assert_int_equal(audit_key_id(pub, kid), CF_OK);
    assert_string_equal(cp.key_id, kid);
    /* A changed seq breaks the signature. */
    bad = strdup(json);
    memcpy(strstr(bad, "\"seq\":20"), "\"seq\":21", 8);
    assert_int_equal(audit_checkpoint_verify(pub, bad, len, &cp, &why), CF_ERR_CRYPTO);
    assert_string_equal(why, "bad signature (forged or altered?)");
    free(bad);
    /* Another key: named as such. */
    assert_int_equal(audit_key_generate(&other), CF_OK);
    assert_int_equal(audit_checkpoint_verify(other, json, len, &cp, &why), CF_ERR_CRYPTO);
    assert_non_null(strstr(why, "another key"));
    /* The raw private key round trip signs identically (Ed25519 is deterministic). */
    assert_int_equal(audit_key_raw(k, &raw), CF_OK);
    assert_int_equal(raw.len, 32);
    audit_key_free(other);
    assert_int_equal(audit_key_from_raw(raw.p, raw.len, &other), CF_OK);
    {
        char *again;
        size_t alen;
        assert_int_equal(audit_checkpoint_sign(other, "acme", 20, canonical_hash, 1795000000123,
                                               &again, &alen),
                         CF_OK);
        assert_string_equal(again, json);
        free(again);
    }
    /* A private key is not a public PEM. */
    {
        audit_key *sink = NULL;
        assert_int_equal(audit_key_from_pem("nope", 4, &sink), CF_ERR_CRYPTO);
        assert_null(sink);
    }
    cf_secret_free(&raw);
    audit_key_free(other);
    audit_key_free(pub);
    audit_key_free(k);
    free(pem);
    free(json);
}

/* ------------------------------------------------------------ verifier */

#define N 20

struct trail {
    audit_key *k;
    audit_record r[N + 1];  /* 1..N */
    char *json[N + 1];
    char *cps[4];
    size_t ncps;
};

static void trail_make(struct trail *t)
{
    char prev[AUDIT_HASH_HEX + 1] = AUDIT_ZERO_HASH;
    size_t len;
    memset(t, 0, sizeof *t);
    assert_int_equal(audit_key_generate(&t->k), CF_OK);
    for (int i = 1; i <= N; i++) {
        t->r[i] = sample();
        t->r[i].seq = i;
        t->r[i].time_ms += i;
        memcpy(t->r[i].prev, prev, sizeof prev);
        assert_int_equal(audit_record_seal(&t->r[i], &t->json[i], &len), CF_OK);
        memcpy(prev, t->r[i].hash, sizeof prev);
    }
    /* As the server does: the chain's first record, and the last. */
    assert_int_equal(audit_checkpoint_sign(t->k, "acme", 1, t->r[1].hash, 1, &t->cps[0], &len),
                     CF_OK);
    assert_int_equal(audit_checkpoint_sign(t->k, "acme", N, t->r[N].hash, 2, &t->cps[1], &len),
                     CF_OK);
    t->ncps = 2;
}

static void trail_free(struct trail *t)
{
    for (int i = 1; i <= N; i++)
        free(t->json[i]);
    for (size_t i = 0; i < t->ncps; i++)
        free(t->cps[i]);
    audit_key_free(t->k);
}

/* Verify the records in `order` (seqs, 0-terminated) with the trail's
 * checkpoints (an export: the tail must be signed). Returns the number of
 * problems; the first in first (strdup'd, or NULL). */
static size_t verify_order(struct trail *t, const int *order, char **first)
{
    audit_verify_opts o = {.pub = t->k, .tail_signed = true};
    audit_verifier *v;
    const char *const *msgs;
    size_t n;
    assert_int_equal(audit_verifier_new(&o, &v), CF_OK);
    for (size_t i = 0; i < t->ncps; i++)
        audit_verify_checkpoint(v, t->cps[i], strlen(t->cps[i]), "cp");
    for (size_t i = 0; order[i]; i++)
        audit_verify_record(v, t->json[order[i]], strlen(t->json[order[i]]), "rec");
    audit_verify_finish(v);
    n = audit_verify_problems(v, &msgs);
    *first = n ? strdup(msgs[0]) : NULL;
    audit_verifier_free(v);
    return n;
}

static void seq_order(int *order, int from, int to)
{
    int n = 0;
    for (int i = from; i <= to; i++)
        order[n++] = i;
    order[n] = 0;
}

static void expect_n(struct trail *t, const int *order, const char *msg, size_t count)
{
    char *first = NULL;
    size_t n = verify_order(t, order, &first);
    if (msg == NULL) {
        if (n != 0)
            fail_msg("unexpected problem: %s", first);
    } else {
        assert_non_null(first);
        assert_string_equal(first, msg);
        if (n != count)
            fail_msg("%zu problems, expected %zu (first: %s)", n, count, first);
    }
    free(first);
}

/* One change, one problem, naming the record. */
static void expect_one(struct trail *t, const int *order, const char *msg)
{
    expect_n(t, order, msg, 1);
}

static void test_verify_intact(void **state)
{
    struct trail t;
    int order[N + 2];
    (void)state;
    trail_make(&t);
    seq_order(order, 1, N);
    expect_one(&t, order, NULL);
    trail_free(&t);
}

static void test_verify_edit(void **state)
{
    struct trail t;
    int order[N + 2];
    size_t len;
    (void)state;
    trail_make(&t);
    seq_order(order, 1, N);
    /* Edited in place: its hash no longer matches. */
    memcpy(strstr(t.json[17], "\"result\":\"ok\""), "\"result\":\"no\"", 13);
    expect_one(&t, order, "record seq 17 of chain acme: hash mismatch (edited?)");
    /* Edited and re-hashed: the next record's prev names it. */
    free(t.json[17]);
    t.r[17].result = "permission_denied";
    assert_int_equal(audit_record_seal(&t.r[17], &t.json[17], &len), CF_OK);
    expect_one(&t, order,
               "record seq 17 of chain acme: its hash is not the prev of seq 18 (edited and "
               "re-hashed?)");
    trail_free(&t);
}

static void test_verify_delete_reorder(void **state)
{
    struct trail t;
    int order[N + 2];
    (void)state;
    trail_make(&t);
    /* Deleted: 1..17, 19..20. */
    seq_order(order, 1, N);
    memmove(order + 17, order + 18, (N - 17) * sizeof *order);
    expect_one(&t, order, "chain acme: seq 18 missing (deleted?)");
    /* Reordered: ..., 18, 20, 19. */
    seq_order(order, 1, N);
    order[18] = 20;
    order[19] = 19;
    expect_one(&t, order, "chain acme: seq 20 before seq 19 (reordered?)");
    /* The first record deleted: its checkpoint names it. */
    seq_order(order, 2, N);
    expect_one(&t, order, "chain acme: seq 1 missing (deleted?): a checkpoint signs it");
    trail_free(&t);
}

static void test_verify_truncation_and_checkpoints(void **state)
{
    struct trail t;
    int order[N + 2];
    audit_key *other;
    char *forged;
    size_t len;
    (void)state;
    trail_make(&t);
    /* The last two dropped: the checkpoint of seq 20 tells. */
    seq_order(order, 1, N - 2);
    expect_one(&t, order,
               "chain acme: 2 records after seq 18 are missing: a checkpoint signs seq 20 "
               "(truncated?)");
    /* The last record rewritten and re-hashed: its checkpoint tells. */
    seq_order(order, 1, N);
    free(t.json[N]);
    t.r[N].result = "not_found";
    assert_int_equal(audit_record_seal(&t.r[N], &t.json[N], &len), CF_OK);
    expect_one(&t, order,
               "record seq 20 of chain acme differs from the checkpoint that signs it "
               "(rewritten?)");
    trail_free(&t);

    /* An export whose last record no checkpoint signs. */
    trail_make(&t);
    free(t.cps[1]);
    t.ncps = 1;
    seq_order(order, 1, N);
    expect_one(&t, order,
               "chain acme: no checkpoint signs its last record (seq 20): a truncation would "
               "not show");
    /* A checkpoint from another key. */
    assert_int_equal(audit_key_generate(&other), CF_OK);
    assert_int_equal(audit_checkpoint_sign(other, "acme", N, t.r[N].hash, 2, &forged, &len),
                     CF_OK);
    t.cps[t.ncps++] = forged;
    expect_n(&t, order,
             "checkpoint of chain acme at seq 20 (cp): signed by another key (key_id differs "
             "from the public key's)", 2); /* and the tail is unsigned */
    audit_key_free(other);
    trail_free(&t);
}

/* ------------------------------------- through the KMIP front end */

static int setup_audited(void **state)
{
    struct fx *f = fx_open();
    core_audit_opts o = {0};
    if (f == NULL || core_audit_open(f->st, f->kr, &o, &f->core.audit) != CF_OK)
        return -1;
    f->who.kind = CORE_IDENTITY_CERTIFICATE;
    *state = f;
    return 0;
}

static int teardown_audited(void **state)
{
    struct fx *f = *state;
    core_audit_free(f->core.audit);
    f->core.audit = NULL;
    return fx_close(f);
}

static void create_aes_named(req *r, const char *batch_id, const char *name)
{
    item_begin_id(r, KMIP_OPERATION_CREATE, batch_id);
    ttlv_w_enum(&r->w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r->w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
    attr1_enum(r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    attr1_int(r, "Cryptographic Length", 256);
    attr1_int(r, "Cryptographic Usage Mask", 12);
    if (name != NULL)
        attr1_name(r, name);
    ttlv_w_end(&r->w);
    item_end(r);
}

static void create_aes(req *r, const char *batch_id)
{
    create_aes_named(r, batch_id, NULL);
}

/* The records of chain, parsed (a JSON array the caller frees). */
static json_t *records(struct fx *f, const char *chain)
{
    store_audit_filter q = {.chain = chain, .limit = 1000};
    store_audit_row *rows;
    size_t n;
    json_t *arr = json_array();
    json_error_t err;
    assert_int_equal(store_audit_query(f->st, &q, f->arena, &rows, &n), CF_OK);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_loads(rows[i].json, 0, &err);
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "seq")), rows[i].seq);
        json_array_append_new(arr, o);
    }
    return arr;
}

static const char *field(json_t *rec, const char *a, const char *b)
{
    json_t *v = json_object_get(rec, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return json_string_value(v);
}

/* Every record of the store verifies (from seq 1, checkpoints first). */
static void verify_store(struct fx *f, const char *chain)
{
    audit_verify_opts o = {.from_start = true};
    audit_verifier *v;
    store_audit_checkpoint *cps;
    store_audit_filter q = {.chain = chain, .limit = 1000};
    store_audit_row *rows;
    audit_key *pub;
    const char *const *msgs;
    size_t n;

    assert_int_equal(audit_key_from_pem(core_audit_public_pem(f->core.audit),
                                        strlen(core_audit_public_pem(f->core.audit)), &pub),
                     CF_OK);
    o.pub = pub;
    assert_int_equal(audit_verifier_new(&o, &v), CF_OK);
    assert_int_equal(store_audit_checkpoints(f->st, chain, 1, 0, 1000, f->arena, &cps, &n), CF_OK);
    assert_true(n >= 1); /* the first record of a chain is always signed */
    for (size_t i = 0; i < n; i++)
        audit_verify_checkpoint(v, cps[i].json, cps[i].json_len, "cp");
    assert_int_equal(store_audit_query(f->st, &q, f->arena, &rows, &n), CF_OK);
    for (size_t i = 0; i < n; i++)
        audit_verify_record(v, rows[i].json, rows[i].json_len, "row");
    audit_verify_finish(v);
    if (audit_verify_problems(v, &msgs) != 0)
        fail_msg("store trail does not verify: %s", msgs[0]);
    audit_verifier_free(v);
    audit_key_free(pub);
}

static void test_kmip_records(void **state)
{
    struct fx *f = *state;
    const char *uid;
    size_t len;
    json_t *recs, *r;
    char *key;
    req rq;

    req_begin(&rq, 1, 4, 1);
    create_aes_named(&rq, "B1", "payroll-key");
    send_req(f, &rq);
    assert_int_equal(ttlv_get_text(payload_of(nth_item(f, 0)), KMIP_TAG_UNIQUE_IDENTIFIER, &uid,
                                   &len),
                     CF_OK);
    key = strndup(uid, len);
    req_one(&rq, 1, 4, KMIP_OPERATION_GET, "no-such-object");
    send_one(f, &rq);
    recs = records(f, "default");
    assert_int_equal(json_array_size(recs), 2);
    r = json_array_get(recs, 0);
    assert_string_equal(field(r, "operation", NULL), "Create");
    assert_string_equal(field(r, "frontend", NULL), "kmip");
    assert_string_equal(field(r, "result", NULL), "ok");
    assert_null(json_object_get(r, "reason"));
    assert_string_equal(field(r, "object", "id"), key);
    assert_string_equal(field(r, "identity", "kind"), "certificate");
    assert_string_equal(field(r, "identity", "id"), "cert:CN=test");
    assert_string_equal(field(r, "tenant", NULL), "default");
    assert_string_equal(field(r, "batch_item_id", NULL), "4231"); /* "B1" in hex */
    assert_string_equal(field(r, "prev", NULL), AUDIT_ZERO_HASH);
    /* The name is an HMAC, never in clear. */
    assert_non_null(field(r, "hmac", "name"));
    {
        char *dump = json_dumps(recs, 0);
        assert_null(strstr(dump, "payroll-key"));
        free(dump);
    }
    r = json_array_get(recs, 1);
    assert_string_equal(field(r, "operation", NULL), "Get");
    assert_string_equal(field(r, "result", NULL), "not_found");
    assert_string_equal(field(r, "object", "id"), "no-such-object");
    assert_string_equal(field(r, "reason", NULL), "no object with this Unique Identifier");
    assert_string_equal(field(r, "prev", NULL), field(json_array_get(recs, 0), "hash", NULL));
    json_decref(recs);
    /* A second key with the same Name is refused; the record does not
     * quote the name (the client's message does). */
    req_begin(&rq, 1, 4, 1);
    create_aes_named(&rq, NULL, "payroll-key");
    send_req(f, &rq);
    assert_non_null(strstr(text_of(f, nth_item(f, 0), KMIP_TAG_RESULT_MESSAGE), "payroll-key"));
    recs = records(f, "default");
    assert_int_equal(json_array_size(recs), 3);
    r = json_array_get(recs, 2);
    assert_string_equal(field(r, "result", NULL), "non_unique_name");
    assert_string_equal(field(r, "reason", NULL), "another object has this Name");
    {
        char *dump = json_dumps(recs, 0);
        assert_null(strstr(dump, "payroll-key"));
        free(dump);
    }
    json_decref(recs);
    verify_store(f, "default");
    free(key);
}

static void test_kmip_unauthenticated(void **state)
{
    struct fx *f = *state;
    static const uint8_t fp[32] = {1, 2, 3};
    kmip_env env = {.core = &f->core, .st = f->st, .arena = f->arena,
                    .cert_sha256 = fp, .cert_subject = "CN=stranger", .source = "10.0.0.1:99"};
    core_identity nobody = {.id = "unregistered:0102"};
    json_t *recs, *r;
    req rq;

    env.who = &nobody;
    req_begin(&rq, 1, 4, 1);
    create_aes(&rq, NULL);
    ttlv_w_end(&rq.w);
    assert_int_equal(ttlv_w_finish(&rq.w), CF_OK);
    cf_buf_reset(&f->out);
    kmip_handle(&env, rq.buf.p, rq.buf.len, &f->out);
    cf_buf_free(&rq.buf);
    recs = records(f, AUDIT_CHAIN_OPERATOR);
    assert_int_equal(json_array_size(recs), 1);
    r = json_array_get(recs, 0);
    assert_string_equal(field(r, "operation", NULL), "Create");
    assert_string_equal(field(r, "result", NULL), "unauthenticated");
    assert_string_equal(field(r, "identity", "kind"), "none");
    assert_null(field(r, "identity", "id"));
    assert_string_equal(field(r, "identity", "subject"), "CN=stranger");
    assert_string_equal(field(r, "identity", "cert_sha256"),
                        "0102030000000000000000000000000000000000000000000000000000000000");
    assert_string_equal(field(r, "source", NULL), "10.0.0.1:99");
    assert_true(json_is_null(json_object_get(r, "tenant")));
    json_decref(recs);
}

static void test_kmip_undo_batch(void **state)
{
    struct fx *f = *state;
    json_t *recs;
    req rq;

    /* Undo: a Create then a failing Get; the Create is rolled back. */
    req_header(&rq, 1, 4, 2, KMIP_BATCH_ERROR_CONTINUATION_OPTION_UNDO);
    create_aes(&rq, "U1");
    item_begin_uid(&rq, KMIP_OPERATION_GET, "missing");
    item_end(&rq);
    send_req(f, &rq);
    assert_int_equal(status_of(nth_item(f, 0)), KMIP_RESULT_STATUS_OPERATION_UNDONE);
    recs = records(f, "default");
    assert_int_equal(json_array_size(recs), 2);
    assert_string_equal(field(json_array_get(recs, 0), "operation", NULL), "Create");
    assert_string_equal(field(json_array_get(recs, 0), "result", NULL), "operation_undone");
    assert_string_equal(field(json_array_get(recs, 1), "result", NULL), "not_found");
    json_decref(recs);
    verify_store(f, "default");
}

static void test_fail_closed(void **state)
{
    struct fx *f = *state;
    int64_t before, after;
    req rq;

    /* The store refuses audit records: the item fails, General Failure. */
    fx_sql(f, "CREATE TRIGGER no_audit BEFORE INSERT ON audit_records "
           "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
    assert_int_equal(store_object_count(f->st, "default", &before), CF_OK);
    req_begin(&rq, 1, 4, 1);
    create_aes(&rq, NULL);
    send_req(f, &rq);
    assert_int_equal(reason_of(nth_item(f, 0)), KMIP_RESULT_REASON_GENERAL_FAILURE);
    assert_string_equal(text_of(f, nth_item(f, 0), KMIP_TAG_RESULT_MESSAGE), "audit unavailable");
    /* The record joins the Create's own transaction (core_commit): no
     * record, no key; nothing was kept that the trail does not show. */
    assert_int_equal(store_object_count(f->st, "default", &after), CF_OK);
    assert_int_equal(after, before);
    /* Back to normal once the store accepts records again. */
    fx_sql(f, "DROP TRIGGER no_audit;");
    req_begin(&rq, 1, 4, 1);
    create_aes(&rq, NULL);
    send_req(f, &rq);
    assert_int_equal(status_of(nth_item(f, 0)), KMIP_RESULT_STATUS_SUCCESS);
    verify_store(f, "default");
}

static void test_tenant_delete_keeps_trail(void **state)
{
    struct fx *f = *state;
    store_tenant t = {.id = "gone", .name = "gone", .created = 1, .state = 1};
    core_identity who = {.tenant = "gone", .id = "w", .role = CORE_ROLE_WRITER};
    core_req rq = fx_core_req(f, 100);
    json_t *recs;

    assert_int_equal(store_tenant_insert(f->st, &t), CF_OK);
    rq.who = &who;
    assert_int_equal(core_audit_begin(&rq, CORE_AUDIT_CLI, "test", NULL), CF_OK);
    assert_int_equal(core_audit_end(&rq, "ok", NULL), CF_OK);
    assert_int_equal(store_begin(f->st), CF_OK);
    assert_int_equal(store_tenant_delete(f->st, "gone"), CF_OK);
    assert_int_equal(store_commit(f->st), CF_OK);
    recs = records(f, "gone");
    assert_int_equal(json_array_size(recs), 1);
    assert_string_equal(field(json_array_get(recs, 0), "frontend", NULL), "cli");
    json_decref(recs);
}

static void test_system_record(void **state)
{
    struct fx *f = *state;
    json_t *recs, *r;
    assert_int_equal(core_audit_system(&f->core, f->st, f->arena, "default", "rotateKey", "k-9",
                                       3, CF_OK, NULL),
                     CF_OK);
    recs = records(f, "default");
    assert_int_equal(json_array_size(recs), 1);
    r = json_array_get(recs, 0);
    assert_string_equal(field(r, "identity", "kind"), "system");
    assert_string_equal(field(r, "frontend", NULL), "scheduler");
    assert_string_equal(field(r, "operation", NULL), "rotateKey");
    assert_string_equal(field(r, "object", "id"), "k-9");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "object"), "version")),
                     3);
    assert_null(json_object_get(r, "source"));
    json_decref(recs);
}

static void test_aad_and_export(void **state)
{
    struct fx *f = *state;
    static const char *const k1[] = {"b", "a"}, *const v1[] = {"2", "1"};
    static const char *const k2[] = {"a", "b"}, *const v2[] = {"1", "2"};
    core_aad m1 = {.keys = k1, .values = v1, .n = 2}, m2 = {.keys = k2, .values = v2, .n = 2};
    core_identity reader = {.tenant = "default", .id = "r", .role = CORE_ROLE_READER};
    core_identity other = {.tenant = "other", .id = "o", .role = CORE_ROLE_MANAGER};
    core_req rq = fx_core_req(f, 100);
    core_audit_query q = {.aad = &m2, .limit = 10};
    core_audit_page page;
    core_audit_export ex;

    rq.who = &reader;
    assert_int_equal(core_audit_begin(&rq, CORE_AUDIT_REST, "unwrapKey", "1.2.3.4:5"), CF_OK);
    core_audit_aad(&rq, &m1);
    assert_int_equal(core_audit_end(&rq, "ok", NULL), CF_OK);
    /* Found by the same map in another order; not by another map. */
    assert_int_equal(core_audit_search(&rq, &q, &page), CF_OK);
    assert_int_equal(page.n, 1);
    q.aad = &(core_aad){.keys = k2, .values = v1, .n = 2};
    assert_int_equal(core_audit_search(&rq, &q, &page), CF_OK);
    assert_int_equal(page.n, 0);
    /* A Reader exports its tenant; another tenant's identity cannot. */
    q = (core_audit_query){.limit = 100};
    assert_int_equal(core_audit_export_chain(&rq, &q, &ex), CF_OK);
    assert_int_equal(ex.n, 1);
    assert_int_equal(ex.first_seq, 1);
    assert_non_null(ex.checkpoint);
    assert_non_null(strstr(ex.public_key, "BEGIN PUBLIC KEY"));
    q.chain = "default";
    rq.who = &other;
    assert_int_equal(core_audit_search(&rq, &q, &page), CF_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_form),
        cmocka_unit_test(test_record_fields),
        cmocka_unit_test(test_hmac),
        cmocka_unit_test(test_checkpoint_signature),
        cmocka_unit_test(test_verify_intact),
        cmocka_unit_test(test_verify_edit),
        cmocka_unit_test(test_verify_delete_reorder),
        cmocka_unit_test(test_verify_truncation_and_checkpoints),
        cmocka_unit_test_setup_teardown(test_kmip_records, setup_audited, teardown_audited),
        cmocka_unit_test_setup_teardown(test_kmip_unauthenticated, setup_audited,
                                        teardown_audited),
        cmocka_unit_test_setup_teardown(test_kmip_undo_batch, setup_audited, teardown_audited),
        cmocka_unit_test_setup_teardown(test_fail_closed, setup_audited, teardown_audited),
        cmocka_unit_test_setup_teardown(test_tenant_delete_keeps_trail, setup_audited,
                                        teardown_audited),
        cmocka_unit_test_setup_teardown(test_system_record, setup_audited, teardown_audited),
        cmocka_unit_test_setup_teardown(test_aad_and_export, setup_audited, teardown_audited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
