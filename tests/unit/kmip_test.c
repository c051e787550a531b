/*
 * Unit tests for the KMIP front end + core + SQLite store, without the
 * network: requests are built with the TTLV writer, passed to kmip_handle,
 * and the responses decoded and checked field by field. Covers what the
 * PyKMIP integration tests cannot reach easily: batch continuation options,
 * ID placeholders, KMIP 2.x attribute forms, version rules, refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "kmip/kmip.h"
#include "store/store.h"
#include "ttlv/ttlv.h"
#include "support/kmip_fixture.h"

/* ---------------------------------------------------------- builders */

static void create_aes_1x(req *r, int bits, const char *batch_id)
{
    item_begin_id(r, KMIP_OPERATION_CREATE, batch_id);
    ttlv_w_enum(&r->w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r->w, KMIP_TAG_TEMPLATE_ATTRIBUTE);
    attr1_enum(r, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    attr1_int(r, "Cryptographic Length", bits);
    attr1_int(r, "Cryptographic Usage Mask", 12);
    ttlv_w_end(&r->w);
    item_end(r);
}

static void uid_item(req *r, uint32_t op, const char *uid)
{
    item_begin_uid(r, op, uid);
    item_end(r);
}

static char *create_key(struct fx *f, int major, int minor)
{
    req r;
    const char *uid;
    size_t len;
    req_begin(&r, major, minor, 1);
    create_aes_1x(&r, 256, NULL);
    send_req(f, &r);
    assert_int_equal(status_of(nth_item(f, 0)), KMIP_RESULT_STATUS_SUCCESS);
    assert_int_equal(ttlv_get_text(payload_of(nth_item(f, 0)), KMIP_TAG_UNIQUE_IDENTIFIER, &uid,
                                   &len),
                     CF_OK);
    return strndup(uid, len);
}

/* ------------------------------------------------------------- tests */

static void test_create_then_get_raw(void **state)
{
    struct fx *f = *state;
    char *uid = create_key(f, 1, 1);
    const ttlv_item *p, *sk, *kb, *kv;
    const uint8_t *km;
    size_t kml;
    uint32_t fmt;
    req r;

    req_begin(&r, 1, 1, 1);
    uid_item(&r, KMIP_OPERATION_GET, uid);
    send_req(f, &r);
    assert_int_equal(header_int(f, KMIP_TAG_PROTOCOL_VERSION_MINOR), 1);
    assert_int_equal(status_of(nth_item(f, 0)), KMIP_RESULT_STATUS_SUCCESS);
    p = payload_of(nth_item(f, 0));
    assert_int_equal(ttlv_get_struct(p, KMIP_TAG_SYMMETRIC_KEY, &sk), CF_OK);
    assert_int_equal(ttlv_get_struct(sk, KMIP_TAG_KEY_BLOCK, &kb), CF_OK);
    assert_int_equal(ttlv_get_enum(kb, KMIP_TAG_KEY_FORMAT_TYPE, &fmt), CF_OK);
    assert_int_equal(fmt, KMIP_KEY_FORMAT_TYPE_RAW);
    assert_int_equal(ttlv_get_struct(kb, KMIP_TAG_KEY_VALUE, &kv), CF_OK);
    assert_int_equal(ttlv_get_bytes(kv, KMIP_TAG_KEY_MATERIAL, &km, &kml), CF_OK);
    assert_int_equal(kml, 32);
    free(uid);
}

static void test_batch_stop_is_default_and_continue_runs_all(void **state)
{
    struct fx *f = *state;
    char *uid = create_key(f, 1, 2);
    const uint8_t *bid;
    size_t bl;
    req r;

    /* Default (Stop): the failed item ends the batch, only it is answered. */
    req_begin(&r, 1, 2, 2);
    uid_item(&r, KMIP_OPERATION_GET, "no-such-object");
    uid_item(&r, KMIP_OPERATION_GET, uid);
    send_req(f, &r);
    assert_int_equal(header_int(f, KMIP_TAG_BATCH_COUNT), 1);
    assert_int_equal(status_of(nth_item(f, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
    assert_int_equal(reason_of(nth_item(f, 0)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);

    /* Continue: both answered, batch item ids echoed. */
    req_header(&r, 1, 2, 2, KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE);
    item_begin_id(&r, KMIP_OPERATION_GET, "A1");
    ttlv_w_cstr(&r.w, KMIP_TAG_UNIQUE_IDENTIFIER, "no-such-object");
    item_end(&r);
    item_begin_id(&r, KMIP_OPERATION_GET, "B2");
    ttlv_w_cstr(&r.w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(header_int(f, KMIP_TAG_BATCH_COUNT), 2);
    assert_int_equal(status_of(nth_item(f, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
    assert_int_equal(status_of(nth_item(f, 1)), KMIP_RESULT_STATUS_SUCCESS);
    assert_int_equal(ttlv_get_bytes(nth_item(f, 1), KMIP_TAG_UNIQUE_BATCH_ITEM_ID, &bid, &bl),
                     CF_OK);
    assert_memory_equal(bid, "B2", 2);

    /* Undo is supported (1.4 section 6.13): a batch that succeeds is
     * answered normally (the rollback cases are conform_test's). */
    req_header(&r, 1, 2, 2, KMIP_BATCH_ERROR_CONTINUATION_OPTION_UNDO);
    uid_item(&r, KMIP_OPERATION_GET, uid);
    uid_item(&r, KMIP_OPERATION_GET, uid);
    send_req(f, &r);
    assert_int_equal(header_int(f, KMIP_TAG_BATCH_COUNT), 2);
    assert_int_equal(status_of(nth_item(f, 0)), KMIP_RESULT_STATUS_SUCCESS);
    assert_int_equal(status_of(nth_item(f, 1)), KMIP_RESULT_STATUS_SUCCESS);
    free(uid);
}

static void test_id_placeholder(void **state)
{
    struct fx *f = *state;
    req r;
    req_begin(&r, 1, 4, 3);
    create_aes_1x(&r, 128, NULL);
    uid_item(&r, KMIP_OPERATION_GET, NULL);           /* uses the placeholder */
    uid_item(&r, KMIP_OPERATION_GET_ATTRIBUTE_LIST, NULL);
    send_req(f, &r);
    assert_int_equal(header_int(f, KMIP_TAG_BATCH_COUNT), 3);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(status_of(nth_item(f, i)), KMIP_RESULT_STATUS_SUCCESS);
    /* Without a preceding uid there is nothing to stand in for it. */
    req_begin(&r, 1, 4, 1);
    uid_item(&r, KMIP_OPERATION_GET, NULL);
    send_req(f, &r);
    assert_int_equal(reason_of(nth_item(f, 0)), KMIP_RESULT_REASON_MISSING_DATA);
}

static void test_kmip2_attributes_and_vendor_attribute(void **state)
{
    struct fx *f = *state;
    const ttlv_item *p, *attrs, *va;
    const char *uid, *vid, *vname, *vval;
    size_t ul, l1, l2, l3;
    int32_t len;
    char *u;
    req r;

    req_begin(&r, 2, 0, 1);
    item_begin(&r, KMIP_OPERATION_CREATE);
    ttlv_w_enum(&r.w, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTES);
    ttlv_w_enum(&r.w, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
    ttlv_w_int(&r.w, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, 192);
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(header_int(f, KMIP_TAG_PROTOCOL_VERSION_MAJOR), 2);
    assert_int_equal(status_of(nth_item(f, 0)), KMIP_RESULT_STATUS_SUCCESS);
    assert_int_equal(ttlv_get_text(payload_of(nth_item(f, 0)), KMIP_TAG_UNIQUE_IDENTIFIER, &uid,
                                   &ul),
                     CF_OK);
    u = strndup(uid, ul);

    /* Add Attribute 2.x: New Attribute holding a Vendor Attribute (x). */
    req_begin(&r, 2, 0, 1);
    item_begin(&r, KMIP_OPERATION_ADD_ATTRIBUTE);
    ttlv_w_cstr(&r.w, KMIP_TAG_UNIQUE_IDENTIFIER, u);
    ttlv_w_begin(&r.w, KMIP_TAG_NEW_ATTRIBUTE);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE);
    ttlv_w_cstr(&r.w, KMIP_TAG_VENDOR_IDENTIFICATION, "x");
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, "Product");
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_VALUE, "VMware vSphere");
    ttlv_w_end(&r.w);
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(status_of(nth_item(f, 0)), KMIP_RESULT_STATUS_SUCCESS);

    /* Get Attributes 2.x with references: a tag and a vendor reference. */
    req_begin(&r, 2, 0, 1);
    item_begin(&r, KMIP_OPERATION_GET_ATTRIBUTES);
    ttlv_w_cstr(&r.w, KMIP_TAG_UNIQUE_IDENTIFIER, u);
    ttlv_w_enum(&r.w, KMIP_TAG_ATTRIBUTE_REFERENCE, KMIP_TAG_CRYPTOGRAPHIC_LENGTH);
    ttlv_w_begin(&r.w, KMIP_TAG_ATTRIBUTE_REFERENCE);
    ttlv_w_cstr(&r.w, KMIP_TAG_VENDOR_IDENTIFICATION, "x");
    ttlv_w_cstr(&r.w, KMIP_TAG_ATTRIBUTE_NAME, "Product");
    ttlv_w_end(&r.w);
    item_end(&r);
    send_req(f, &r);
    assert_int_equal(status_of(nth_item(f, 0)), KMIP_RESULT_STATUS_SUCCESS);
    p = payload_of(nth_item(f, 0));
    assert_int_equal(ttlv_get_struct(p, KMIP_TAG_ATTRIBUTES, &attrs), CF_OK);
    assert_int_equal(attrs->nchildren, 2);
    assert_int_equal(ttlv_get_int(attrs, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, &len), CF_OK);
    assert_int_equal(len, 192);
    assert_int_equal(ttlv_get_struct(attrs, KMIP_TAG_ATTRIBUTE, &va), CF_OK);
    assert_int_equal(ttlv_get_text(va, KMIP_TAG_VENDOR_IDENTIFICATION, &vid, &l1), CF_OK);
    assert_int_equal(ttlv_get_text(va, KMIP_TAG_ATTRIBUTE_NAME, &vname, &l2), CF_OK);
    assert_int_equal(ttlv_get_text(va, KMIP_TAG_ATTRIBUTE_VALUE, &vval, &l3), CF_OK);
    assert_memory_equal(vid, "x", 1);
    assert_memory_equal(vname, "Product", 7);
    assert_memory_equal(vval, "VMware vSphere", 14);

    /* 2.x never carries attributes that 2.0 removed (Operation Policy Name). */
    req_begin(&r, 2, 0, 1);
    uid_item(&r, KMIP_OPERATION_GET_ATTRIBUTES, u);
    send_req(f, &r);
    p = payload_of(nth_item(f, 0));
    assert_int_equal(ttlv_get_struct(p, KMIP_TAG_ATTRIBUTES, &attrs), CF_OK);
    assert_null(ttlv_child(attrs, KMIP_TAG_OPERATION_POLICY_NAME));
    assert_non_null(ttlv_child(attrs, KMIP_TAG_INITIAL_DATE));
    assert_non_null(ttlv_child(attrs, KMIP_TAG_STATE));
    free(u);
}

static void test_refusals_carry_the_right_reason(void **state)
{
    struct fx *f = *state;
    char *uid = create_key(f, 1, 4);
    req r;

    /* A server-only attribute cannot be added. */
    req_one(&r, 1, 4, KMIP_OPERATION_ADD_ATTRIBUTE, uid);
    attr1_enum(&r, "State", KMIP_STATE_ACTIVE);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_PERMISSION_DENIED);

    /* A single-instance attribute cannot be added twice: "The specified
     * attribute already exists" is Illegal Operation (1.4 section 11.15,
     * Table 341); 2.x answers Attribute Single Valued (2.1 6.1.2). */
    req_one(&r, 1, 4, KMIP_OPERATION_ADD_ATTRIBUTE, uid);
    attr1_text(&r, "Contact Information", "ops@example.com");
    assert_int_equal(status_of(send_one(f, &r)), KMIP_RESULT_STATUS_SUCCESS);
    req_one(&r, 1, 4, KMIP_OPERATION_ADD_ATTRIBUTE, uid);
    attr1_text(&r, "Contact Information", "again");
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_ILLEGAL_OPERATION);

    /* Wrong value type for a known attribute. */
    req_one(&r, 1, 4, KMIP_OPERATION_ADD_ATTRIBUTE, uid);
    attr1_int(&r, "Object Group", 5);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_INVALID_FIELD);

    /* Unsupported key format. */
    req_one(&r, 1, 4, KMIP_OPERATION_GET, uid);
    ttlv_w_enum(&r.w, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_PKCS_1);
    assert_int_equal(reason_of(send_one(f, &r)), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);

    /* AES with a length AES does not have. */
    req_begin(&r, 1, 4, 1);
    create_aes_1x(&r, 100, NULL);
    send_req(f, &r);
    assert_int_equal(reason_of(nth_item(f, 0)), KMIP_RESULT_REASON_INVALID_FIELD);

    /* An operation not implemented: Operation Not Supported, operation echoed. */
    req_begin(&r, 1, 4, 1);
    uid_item(&r, KMIP_OPERATION_ARCHIVE, uid);
    send_req(f, &r);
    assert_int_equal(reason_of(nth_item(f, 0)), KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED);
    free(uid);
}

static void test_versions(void **state)
{
    struct fx *f = *state;
    const ttlv_item *p, *pv;
    int32_t maj, min;
    req r;

    /* DiscoverVersions with a list: the intersection in the client's order. */
    req_begin(&r, 1, 1, 1);
    item_begin(&r, KMIP_OPERATION_DISCOVER_VERSIONS);
    int list[][2] = {{1, 1}, {3, 0}, {1, 4}};
    for (int i = 0; i < 3; i++) {
        ttlv_w_begin(&r.w, KMIP_TAG_PROTOCOL_VERSION);
        ttlv_w_int(&r.w, KMIP_TAG_PROTOCOL_VERSION_MAJOR, list[i][0]);
        ttlv_w_int(&r.w, KMIP_TAG_PROTOCOL_VERSION_MINOR, list[i][1]);
        ttlv_w_end(&r.w);
    }
    item_end(&r);
    send_req(f, &r);
    p = payload_of(nth_item(f, 0));
    assert_int_equal(ttlv_count(p, KMIP_TAG_PROTOCOL_VERSION), 2);
    pv = ttlv_child(p, KMIP_TAG_PROTOCOL_VERSION);
    ttlv_get_int(pv, KMIP_TAG_PROTOCOL_VERSION_MINOR, &min);
    assert_int_equal(min, 1);
    pv = ttlv_next_same(pv);
    ttlv_get_int(pv, KMIP_TAG_PROTOCOL_VERSION_MINOR, &min);
    assert_int_equal(min, 4);

    /* KMIP 1.0 has no DiscoverVersions; the answer is at 1.0. */
    req_begin(&r, 1, 0, 1);
    uid_item(&r, KMIP_OPERATION_DISCOVER_VERSIONS, NULL);
    send_req(f, &r);
    assert_int_equal(header_int(f, KMIP_TAG_PROTOCOL_VERSION_MINOR), 0);
    assert_int_equal(reason_of(nth_item(f, 0)), KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED);

    /* An unknown protocol version is refused as an invalid message. */
    req_begin(&r, 3, 0, 1);
    uid_item(&r, KMIP_OPERATION_QUERY, NULL);
    send_req(f, &r);
    assert_int_equal(reason_of(nth_item(f, 0)), KMIP_RESULT_REASON_INVALID_MESSAGE);
    ttlv_get_int(ttlv_child(ttlv_child(f->resp, KMIP_TAG_RESPONSE_HEADER),
                            KMIP_TAG_PROTOCOL_VERSION), KMIP_TAG_PROTOCOL_VERSION_MAJOR, &maj);
    assert_int_equal(maj, 2);

    /* Batch Count that does not match the items. */
    req_begin(&r, 1, 2, 2);
    uid_item(&r, KMIP_OPERATION_QUERY, NULL);
    send_req(f, &r);
    assert_int_equal(reason_of(nth_item(f, 0)), KMIP_RESULT_REASON_INVALID_MESSAGE);
}

static void test_garbage_gets_invalid_message(void **state)
{
    struct fx *f = *state;
    static const uint8_t junk[16] = {0x42, 0x00, 0x78, 0x01, 0x00, 0x00, 0x00, 0x08,
                                     0x42, 0x00, 0x77, 0x07, 0x00, 0x00, 0x00, 0x09};
    send_raw(f, junk, sizeof junk);
    assert_int_equal(reason_of(nth_item(f, 0)), KMIP_RESULT_REASON_INVALID_MESSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_then_get_raw, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_batch_stop_is_default_and_continue_runs_all, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_id_placeholder, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_kmip2_attributes_and_vendor_attribute, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_refusals_carry_the_right_reason, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_versions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_gets_invalid_message, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
