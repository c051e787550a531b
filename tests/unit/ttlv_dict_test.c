/*
 * ttlv_dict_test.c - the tag/enumeration dictionary (ttlv_dict.def, built
 * from the specifications by src/ttlv/gen/gen_dict.py):
 *  - the tables are ordered and every lookup finds every row;
 *  - the symbol names other modules rely on have the specification's values;
 *  - since/until follow the specifications' history;
 *  - a cross-check against an independent implementation: Debian's PyKMIP
 *    (/usr/lib/python3/dist-packages/kmip/core/enums.py, python3-pykmip,
 *    installed by scripts/deps.sh). Every tag PyKMIP defines must exist here
 *    with the same value and an equivalent name, and so must every value of
 *    every PyKMIP enumeration class that names one of ours. The known
 *    differences are listed in pykmip_allow[] with their reasons. A missing
 *    enums.py is a FAILURE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ttlv_test_util.h"

#define PYKMIP_ENUMS "/usr/lib/python3/dist-packages/kmip/core/enums.py"

/* ------------------------------------------------------------- tables */

static void test_tables_ordered_and_found(void **state)
{
    size_t nt = ttlv_tag_count(), ne = ttlv_enum_count();

    (void)state;
    assert_true(nt >= 360);
    assert_true(ne >= 840);
    for (size_t i = 0; i < nt; i++) {
        const ttlv_tag_info *t = ttlv_tag_at(i);
        assert_true((t->tag >> 16) == 0x42);
        if (i)
            assert_true(ttlv_tag_at(i - 1)->tag < t->tag);
        assert_ptr_equal(ttlv_tag_lookup(t->tag), t);
        assert_ptr_equal(ttlv_tag_by_name(t->name, strlen(t->name)), t);
        assert_true(t->type == TTLV_ANY || (t->type >= TTLV_STRUCTURE && t->type <= TTLV_DATE_TIME_EXT));
        assert_true(t->since >= KMIP_V(1, 0) && t->since <= KMIP_V(2, 1));
        assert_true(t->until == 0 || t->until >= t->since);
        assert_true((t->type == TTLV_ENUMERATION) == (t->enum_name != NULL));
    }
    for (size_t i = 0; i < ne; i++) {
        const ttlv_enum_info *e = ttlv_enum_at(i);
        assert_ptr_equal(ttlv_enum_lookup(e->enum_name, e->value), e);
        assert_ptr_equal(ttlv_enum_by_name(e->enum_name, e->name), e);
    }
    assert_null(ttlv_tag_at(nt));
    assert_null(ttlv_enum_at(ne));
    assert_null(ttlv_tag_lookup(0x420000));
    assert_null(ttlv_tag_lookup(0x540001));
    assert_null(ttlv_tag_by_name("Request", 7));
    assert_null(ttlv_tag_by_name("Request Messages", 16));
    assert_ptr_equal(ttlv_tag_by_name("Request Message(junk)", 15), ttlv_tag_lookup(0x420078));
    assert_null(ttlv_enum_lookup("Operation", 0x7FFFFFFF));
    assert_null(ttlv_enum_lookup(NULL, 1));
    assert_null(ttlv_enum_by_name("Operation", "Nope"));
}

/* Every enumeration-typed tag names an enumeration with values, except the
 * ones whose values live elsewhere. */
static void test_enumerated_tags_have_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < ttlv_tag_count(); i++) {
        const ttlv_tag_info *t = ttlv_tag_at(i);
        bool found = false;
        if (t->type != TTLV_ENUMERATION)
            continue;
        /* "Tag": the values are the tags themselves (2.x 11.56). "Opaque Data
         * Type": the specification defines only the extension range. */
        if (strcmp(t->enum_name, "Tag") == 0 || strcmp(t->enum_name, "Opaque Data Type") == 0)
            continue;
        for (size_t j = 0; j < ttlv_enum_count() && !found; j++)
            found = strcmp(ttlv_enum_at(j)->enum_name, t->enum_name) == 0;
        if (!found)
            fprintf(stderr, "tag %s: enumeration %s has no values\n", t->name, t->enum_name);
        assert_true(found);
    }
}

/* ------------------------------------------------------------ contract */

static void test_contract_symbols(void **state)
{
    static const struct { long sym, value; } c[] = {
        {KMIP_TAG_REQUEST_MESSAGE, 0x420078}, {KMIP_TAG_RESPONSE_MESSAGE, 0x42007B},
        {KMIP_TAG_REQUEST_HEADER, 0x420077}, {KMIP_TAG_RESPONSE_HEADER, 0x42007A},
        {KMIP_TAG_PROTOCOL_VERSION, 0x420069}, {KMIP_TAG_PROTOCOL_VERSION_MAJOR, 0x42006A},
        {KMIP_TAG_PROTOCOL_VERSION_MINOR, 0x42006B}, {KMIP_TAG_BATCH_COUNT, 0x42000D},
        {KMIP_TAG_BATCH_ITEM, 0x42000F}, {KMIP_TAG_OPERATION, 0x42005C},
        {KMIP_TAG_UNIQUE_BATCH_ITEM_ID, 0x420093}, {KMIP_TAG_REQUEST_PAYLOAD, 0x420079},
        {KMIP_TAG_RESPONSE_PAYLOAD, 0x42007C}, {KMIP_TAG_RESULT_STATUS, 0x42007F},
        {KMIP_TAG_RESULT_REASON, 0x42007E}, {KMIP_TAG_RESULT_MESSAGE, 0x42007D},
        {KMIP_TAG_UNIQUE_IDENTIFIER, 0x420094}, {KMIP_TAG_OBJECT_TYPE, 0x420057},
        {KMIP_TAG_ATTRIBUTE, 0x420008}, {KMIP_TAG_ATTRIBUTE_NAME, 0x42000A},
        {KMIP_TAG_ATTRIBUTE_VALUE, 0x42000B}, {KMIP_TAG_ATTRIBUTE_INDEX, 0x420009},
        {KMIP_TAG_TEMPLATE_ATTRIBUTE, 0x420091}, {KMIP_TAG_ATTRIBUTES, 0x420125},
        {KMIP_TAG_ATTRIBUTE_REFERENCE, 0x42013B}, {KMIP_TAG_VENDOR_IDENTIFICATION, 0x42009D},
        {KMIP_TAG_SERVER_INFORMATION, 0x420088}, {KMIP_TAG_KEY_MATERIAL, 0x420043},
        {KMIP_TAG_KEY_BLOCK, 0x420040}, {KMIP_TAG_KEY_VALUE, 0x420045},
        {KMIP_TAG_SYMMETRIC_KEY, 0x42008F}, {KMIP_TAG_TIME_STAMP, 0x420092},
        {KMIP_TAG_MAXIMUM_RESPONSE_SIZE, 0x420050}, {KMIP_TAG_QUERY_FUNCTION, 0x420074},
        {KMIP_OPERATION_CREATE, 1}, {KMIP_OPERATION_GET, 0x0A},
        {KMIP_OPERATION_GET_ATTRIBUTES, 0x0B}, {KMIP_OPERATION_DESTROY, 0x14},
        {KMIP_OPERATION_QUERY, 0x18}, {KMIP_OPERATION_DISCOVER_VERSIONS, 0x1E},
        {KMIP_RESULT_STATUS_SUCCESS, 0}, {KMIP_RESULT_STATUS_OPERATION_FAILED, 1},
        {KMIP_RESULT_REASON_ITEM_NOT_FOUND, 1}, {KMIP_RESULT_REASON_INVALID_MESSAGE, 4},
        {KMIP_RESULT_REASON_GENERAL_FAILURE, 0x100}, {KMIP_OBJECT_TYPE_SYMMETRIC_KEY, 2},
        {KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 3}, {KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES, 2},
        {KMIP_KEY_FORMAT_TYPE_RAW, 1}, {KMIP_KEY_FORMAT_TYPE_PKCS_1, 3},
        {KMIP_STATE_PRE_ACTIVE, 1}, {KMIP_STATE_ACTIVE, 2},
        {KMIP_QUERY_FUNCTION_QUERY_OPERATIONS, 1}, {KMIP_QUERY_FUNCTION_QUERY_SERVER_INFORMATION, 3},
        {KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING, 1},
        {KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE, 1},
        {KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT, 4}, {KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT, 8},
    };
    (void)state;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        assert_int_equal(c[i].sym, c[i].value);
    assert_int_equal(ttlv_tag_lookup(KMIP_TAG_UNIQUE_IDENTIFIER)->type, TTLV_ANY);
    assert_int_equal(ttlv_tag_lookup(KMIP_TAG_ATTRIBUTE_VALUE)->type, TTLV_ANY);
    assert_int_equal(ttlv_tag_lookup(KMIP_TAG_KEY_MATERIAL)->type, TTLV_ANY);
    assert_int_equal(ttlv_tag_lookup(KMIP_TAG_KEY_VALUE)->type, TTLV_ANY);
    assert_int_equal(ttlv_tag_lookup(KMIP_TAG_REQUEST_MESSAGE)->type, TTLV_STRUCTURE);
    assert_int_equal(ttlv_tag_lookup(KMIP_TAG_TIME_STAMP)->type, TTLV_DATE_TIME);
    assert_string_equal(ttlv_tag_lookup(KMIP_TAG_OPERATION)->enum_name, "Operation");
    assert_string_equal(ttlv_tag_lookup(KMIP_TAG_OPERATION)->name, "Operation");
    assert_string_equal(ttlv_enum_lookup("Cryptographic Algorithm", 3)->name, "AES");
    assert_int_equal(ttlv_enum_by_name("Result Reason", "Item Not Found")->value, 1);
    assert_int_equal(ttlv_enum_by_name("Cryptographic Usage Mask", "Encrypt")->value, 4);
}

static void test_versions(void **state)
{
    const ttlv_tag_info *ai = ttlv_tag_lookup(KMIP_TAG_ATTRIBUTE_INDEX);
    const ttlv_tag_info *at = ttlv_tag_lookup(KMIP_TAG_ATTRIBUTES);
    const ttlv_enum_info *e;

    (void)state;
    assert_true(ttlv_tag_in_version(ai, KMIP_V(1, 0)));
    assert_true(ttlv_tag_in_version(ai, KMIP_V(1, 4)));
    assert_false(ttlv_tag_in_version(ai, KMIP_V(2, 0)));
    assert_int_equal(ai->until, KMIP_V(1, 4));
    assert_false(ttlv_tag_in_version(at, KMIP_V(1, 4)));
    assert_true(ttlv_tag_in_version(at, KMIP_V(2, 1)));
    assert_int_equal(at->until, 0);
    assert_false(ttlv_tag_in_version(NULL, KMIP_V(1, 0)));
    assert_int_equal(ttlv_tag_lookup(KMIP_TAG_TEMPLATE_ATTRIBUTE)->until, KMIP_V(1, 4));
    assert_int_equal(ttlv_tag_lookup(KMIP_TAG_CERTIFICATE_IDENTIFIER)->until, KMIP_V(1, 4));
    assert_int_equal(ttlv_tag_lookup(0x420176)->since, KMIP_V(2, 1)); /* Asynch. Correlation Values */
    e = ttlv_enum_lookup("Operation", KMIP_OPERATION_DISCOVER_VERSIONS);
    assert_int_equal(e->since, KMIP_V(1, 1));
    e = ttlv_enum_lookup("Object Type", KMIP_OBJECT_TYPE_TEMPLATE); /* deprecated 1.3, gone 2.0 */
    assert_int_equal(e->until, KMIP_V(1, 4));
    e = ttlv_enum_lookup("Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_EXPORT);
    assert_int_equal(e->until, KMIP_V(1, 4));
}

/* ------------------------------------------------------------- PyKMIP */

/* Known differences, each with its reason. class "Tags" = the tag table. */
static const struct {
    const char *cls, *name;
    const char *why;
} pykmip_allow[] = {
    {"Tags", "DEFAULT", "0x420000: PyKMIP's own default tag, unused in KMIP"},
    {"Tags", "REQUEST_BATCH_ITEM", "0x42000F: PyKMIP alias of Batch Item"},
    {"Tags", "RESPONSE_BATCH_ITEM", "0x42000F: PyKMIP alias of Batch Item"},
    {"Tags", "RESERVED", "0x420137: listed as \"Reserved\" in 2.0/2.1, not a tag"},
    {"ObjectType", "OPAQUE_DATA", "spec name is \"Opaque Object\""},
    {"CryptographicAlgorithm", "TRIPLE_DES", "spec name \"3DES\" is no Python identifier"},
    {"CryptographicUsageMask", "CONTENT_COMMITMENT", "spec: \"Content Commitment (Non Repudiation)\""},
    {"RecommendedCurve", "SECP191K1", "PyKMIP typo: the spec (and SEC 2) say SECP192K1"},
    {"ProfileName", "SUITE_B_MINLOS_128_CLIENT", "0x118: a 2.0 draft value, (Reserved) in 2.0 final"},
    {"ProfileName", "SUITE_B_MINLOS_128_SERVER", "0x119: (Reserved) in 2.0 final"},
    {"ProfileName", "SUITE_B_MINLOS_192_CLIENT", "0x11A: (Reserved) in 2.0 final"},
    {"ProfileName", "SUITE_B_MINLOS_192_SERVER", "0x11B: (Reserved) in 2.0 final"},
    {"OpaqueDataType", "NONE", "0x80000000: PyKMIP's value in the extension range"},
};

/* Enumeration classes that must be present in PyKMIP and here. */
static const char *const pykmip_required[] = {
    "Operation", "ObjectType", "CryptographicAlgorithm", "ResultReason", "ResultStatus", "State",
    "KeyFormatType", "QueryFunction", "NameType", "BatchErrorContinuationOption",
    "CryptographicUsageMask", "BlockCipherMode", "PaddingMethod", "HashingAlgorithm", "LinkType",
    "RevocationReasonCode", "CredentialType", "SecretDataType", "RecommendedCurve", "KeyRoleType",
};

static bool allowed(const char *cls, const char *name)
{
    for (size_t i = 0; i < sizeof pykmip_allow / sizeof pykmip_allow[0]; i++)
        if (strcmp(pykmip_allow[i].cls, cls) == 0 && strcmp(pykmip_allow[i].name, name) == 0)
            return true;
    return false;
}

/* Our enumeration whose normalised name is cls ("ObjectType" -> "Object Type"). */
static const char *enum_for_class(const char *cls)
{
    char want[128], have[128];
    tu_norm(cls, strlen(cls), want, sizeof want);
    for (size_t i = 0; i < ttlv_enum_count(); i++) {
        const ttlv_enum_info *e = ttlv_enum_at(i);
        tu_norm(e->enum_name, strlen(e->enum_name), have, sizeof have);
        if (strcmp(want, have) == 0)
            return e->enum_name;
    }
    return NULL;
}

struct py_stats {
    unsigned tags, values, classes, allowed, bad;
    bool required_seen[sizeof pykmip_required / sizeof pykmip_required[0]];
};

static void check_member(struct py_stats *ps, const char *cls, const char *name, uint32_t value)
{
    char a[160], b[160];
    const char *ours = NULL;

    if (strcmp(cls, "Tags") == 0) {
        const ttlv_tag_info *t = ttlv_tag_lookup(value);
        ps->tags++;
        ours = t ? t->name : NULL;
    } else {
        const char *en = enum_for_class(cls);
        const ttlv_enum_info *e = en ? ttlv_enum_lookup(en, value) : NULL;
        if (en == NULL)
            return; /* not an enumeration of the specification (Types, Policy...) */
        ps->values++;
        ours = e ? e->name : NULL;
    }
    tu_norm(name, strlen(name), a, sizeof a);
    if (ours)
        tu_norm(ours, strlen(ours), b, sizeof b);
    if (ours && strcmp(a, b) == 0)
        return;
    if (allowed(cls, name)) {
        ps->allowed++;
        return;
    }
    fprintf(stderr, "PyKMIP %s.%s = 0x%X: ours is %s\n", cls, name, (unsigned)value,
            ours ? ours : "(missing)");
    ps->bad++;
}

/* "    NAME   = 0x0000001 # comment" -> name, value */
static bool parse_member(const char *line, char *name, size_t cap, uint32_t *value)
{
    const char *p = line;
    size_t n = 0;
    unsigned long v;
    char *end;

    if (*p != ' ')
        return false;
    while (*p == ' ')
        p++;
    while ((isupper((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_') && n + 1 < cap)
        name[n++] = *p++;
    name[n] = '\0';
    while (*p == ' ')
        p++;
    if (n == 0 || *p != '=')
        return false;
    p++;
    while (*p == ' ')
        p++;
    if (p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
        return false;
    v = strtoul(p, &end, 16);
    if (end == p + 2 || v > UINT32_MAX)
        return false;
    *value = (uint32_t)v;
    return true;
}

static void scan_pykmip(struct py_stats *ps, char *text)
{
    char cls[64] = "", name[96];
    uint32_t value;

    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, "class ", 6) == 0) {
            size_t n = strcspn(line + 6, "(:");
            snprintf(cls, sizeof cls, "%.*s", (int)n, line + 6);
            ps->classes++;
            for (size_t i = 0; i < sizeof pykmip_required / sizeof pykmip_required[0]; i++)
                if (strcmp(cls, pykmip_required[i]) == 0)
                    ps->required_seen[i] = true;
        } else if (cls[0] && parse_member(line, name, sizeof name, &value)) {
            check_member(ps, cls, name, value);
        }
    }
}

static void test_pykmip_crosscheck(void **state)
{
    struct py_stats ps;
    char *text = tu_read_file(PYKMIP_ENUMS, NULL);

    (void)state;
    if (text == NULL)
        fprintf(stderr, "%s missing: install python3-pykmip (scripts/deps.sh)\n", PYKMIP_ENUMS);
    assert_non_null(text);
    memset(&ps, 0, sizeof ps);
    scan_pykmip(&ps, text);
    free(text);
    fprintf(stderr, "PyKMIP: %u classes, %u tags and %u enumeration values compared, "
            "%u known differences, %u mismatches\n", ps.classes, ps.tags, ps.values, ps.allowed,
            ps.bad);
    for (size_t i = 0; i < sizeof pykmip_required / sizeof pykmip_required[0]; i++) {
        if (!ps.required_seen[i] || enum_for_class(pykmip_required[i]) == NULL)
            fprintf(stderr, "required enumeration %s not compared\n", pykmip_required[i]);
        assert_true(ps.required_seen[i]);
        assert_non_null(enum_for_class(pykmip_required[i]));
    }
    assert_true(ps.tags >= 350);
    assert_true(ps.values >= 650);
    assert_int_equal(ps.bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_ordered_and_found),
        cmocka_unit_test(test_enumerated_tags_have_values),
        cmocka_unit_test(test_contract_symbols),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_pykmip_crosscheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
