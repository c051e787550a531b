#include "util/status.h"

/* KMIP Result Reason values (KMIP 1.4 section 9.1.3.2.29, 2.1 section 11.28). */
#define KR_ITEM_NOT_FOUND 0x01
#define KR_RESPONSE_TOO_LARGE 0x02
#define KR_AUTH_NOT_SUCCESSFUL 0x03
#define KR_INVALID_MESSAGE 0x04
#define KR_OPERATION_NOT_SUPPORTED 0x05
#define KR_MISSING_DATA 0x06
#define KR_INVALID_FIELD 0x07
#define KR_FEATURE_NOT_SUPPORTED 0x08
#define KR_CRYPTOGRAPHIC_FAILURE 0x0A
#define KR_ILLEGAL_OPERATION 0x0B
#define KR_PERMISSION_DENIED 0x0C
#define KR_INDEX_OUT_OF_BOUNDS 0x0E
#define KR_KEY_FORMAT_NOT_SUPPORTED 0x10
#define KR_ENCODING_OPTION_ERROR 0x12
#define KR_SENSITIVE 0x16
#define KR_NOT_EXTRACTABLE 0x17
#define KR_OBJECT_ALREADY_EXISTS 0x18
#define KR_GENERAL_FAILURE 0x100
/* KMIP 2.x only (2.1 section 11.46). */
#define KR2_ATTRIBUTE_INSTANCE_NOT_FOUND 0x20
#define KR2_ATTRIBUTE_NOT_FOUND 0x21
#define KR2_ATTRIBUTE_READ_ONLY 0x22
#define KR2_MULTI_VALUED_ATTRIBUTE 0x1E
#define KR2_OBJECT_DESTROYED 0x36
#define KR2_OBJECT_NOT_FOUND 0x37
#define KR2_SERVER_LIMIT_EXCEEDED 0x3A
#define KR2_WRONG_KEY_LIFECYCLE_STATE 0x43
#define KR2_INVALID_OBJECT_TYPE 0x30
#define KR2_BAD_CRYPTO_PARAMS 0x24
#define KR2_INCOMPATIBLE_USAGE_MASK 0x29
#define KR2_MISSING_IV 0x34
#define KR2_ATTRIBUTE_SINGLE_VALUED 0x23
#define KR2_NON_UNIQUE_NAME 0x35
#define KR2_USAGE_LIMIT_EXCEEDED 0x1A

/* 1.x reasons follow the 1.4 section 11 tables; kmip2_reason is used for 2.x
 * requests where 2.x defines a more precise reason (or removed the 1.x one:
 * Illegal Operation and Index Out of Bounds are not in 2.x). CF_ERR_STATE is
 * Permission Denied in 1.x: 1.4 sections 11.20 (Activate), 11.22 (Destroy),
 * 11.30-11.35 (cryptographic operations) and the SKLC-M-2/3 test cases. */
static const struct cf_status_info table[CF_STATUS_COUNT] = {
    [CF_OK] = {"ok", "success", 0, 200, CF_LOG_DEBUG},
    [CF_ERR_NOMEM] = {"resource_exhausted", "resources exhausted, retry later", KR_GENERAL_FAILURE, 503, CF_LOG_ERROR},
    [CF_ERR_INVALID_MSG] = {"invalid_message", "malformed message", KR_INVALID_MESSAGE, 400, CF_LOG_INFO},
    [CF_ERR_INVALID_FIELD] = {"invalid_field", "invalid field value", KR_INVALID_FIELD, 400, CF_LOG_INFO},
    [CF_ERR_MISSING] = {"missing_data", "required data missing", KR_MISSING_DATA, 400, CF_LOG_INFO},
    [CF_ERR_NOT_FOUND] = {"not_found", "object not found", KR_ITEM_NOT_FOUND, 404, CF_LOG_INFO, KR2_OBJECT_NOT_FOUND},
    [CF_ERR_UNSUPPORTED_OP] = {"operation_not_supported", "operation not supported", KR_OPERATION_NOT_SUPPORTED, 405, CF_LOG_INFO},
    [CF_ERR_UNSUPPORTED] = {"feature_not_supported", "feature not supported", KR_FEATURE_NOT_SUPPORTED, 400, CF_LOG_INFO},
    [CF_ERR_FORMAT] = {"format_not_supported", "key format type not supported", KR_KEY_FORMAT_NOT_SUPPORTED, 400, CF_LOG_INFO},
    [CF_ERR_CRYPTO] = {"cryptographic_failure", "cryptographic failure", KR_CRYPTOGRAPHIC_FAILURE, 400, CF_LOG_WARN},
    [CF_ERR_STATE] = {"wrong_state", "operation not allowed in the object's state", KR_PERMISSION_DENIED, 409, CF_LOG_INFO, KR2_WRONG_KEY_LIFECYCLE_STATE},
    [CF_ERR_PERMISSION] = {"permission_denied", "permission denied", KR_PERMISSION_DENIED, 403, CF_LOG_WARN},
    [CF_ERR_AUTH] = {"unauthenticated", "authentication not successful", KR_AUTH_NOT_SUCCESSFUL, 401, CF_LOG_WARN},
    [CF_ERR_INDEX] = {"index_out_of_bounds", "attribute index out of bounds", KR_INDEX_OUT_OF_BOUNDS, 400, CF_LOG_INFO, KR2_SERVER_LIMIT_EXCEEDED},
    [CF_ERR_TOO_LARGE] = {"response_too_large", "response too large", KR_RESPONSE_TOO_LARGE, 413, CF_LOG_INFO},
    [CF_ERR_LIMIT] = {"limit_exceeded", "limit exceeded", KR_INVALID_MESSAGE, 413, CF_LOG_WARN},
    [CF_ERR_EXISTS] = {"already_exists", "already exists", KR_OBJECT_ALREADY_EXISTS, 409, CF_LOG_INFO},
    [CF_ERR_READ_ONLY] = {"read_only", "attribute is read-only", KR_PERMISSION_DENIED, 400, CF_LOG_INFO, KR2_ATTRIBUTE_READ_ONLY},
    [CF_ERR_NOT_EXTRACTABLE] = {"not_extractable", "key material is not extractable", KR_NOT_EXTRACTABLE, 403, CF_LOG_WARN},
    [CF_ERR_SENSITIVE] = {"sensitive", "key material is sensitive", KR_SENSITIVE, 403, CF_LOG_WARN},
    [CF_ERR_IO] = {"io_error", "input/output error", KR_GENERAL_FAILURE, 500, CF_LOG_ERROR},
    [CF_ERR_STORE] = {"store_error", "storage failure", KR_GENERAL_FAILURE, 500, CF_LOG_ERROR},
    [CF_ERR_CONFLICT] = {"conflict", "concurrent modification, retry", KR_GENERAL_FAILURE, 409, CF_LOG_INFO},
    [CF_ERR_INTERNAL] = {"internal_error", "internal error", KR_GENERAL_FAILURE, 500, CF_LOG_ERROR},
    [CF_ERR_DESTROYED] = {"object_destroyed", "the object is destroyed", KR_ITEM_NOT_FOUND, 410, CF_LOG_INFO, KR2_OBJECT_DESTROYED},
    [CF_ERR_ATTR_NOT_FOUND] = {"attribute_not_found", "no such attribute", KR_ITEM_NOT_FOUND, 404, CF_LOG_INFO, KR2_ATTRIBUTE_NOT_FOUND},
    [CF_ERR_ATTR_INSTANCE] = {"attribute_instance_not_found", "no such attribute instance", KR_ITEM_NOT_FOUND, 404, CF_LOG_INFO, KR2_ATTRIBUTE_INSTANCE_NOT_FOUND},
    [CF_ERR_MULTI_VALUED] = {"multi_valued_attribute", "the attribute has several instances", KR_INVALID_FIELD, 400, CF_LOG_INFO, KR2_MULTI_VALUED_ATTRIBUTE},
    /* 1.4 section 11.12: "exists, but it is not a key" is Illegal Operation. */
    [CF_ERR_OBJECT_TYPE] = {"wrong_object_type", "the object's type does not suit the operation", KR_ILLEGAL_OPERATION, 400, CF_LOG_INFO, KR2_INVALID_OBJECT_TYPE},
    [CF_ERR_ENCODING] = {"encoding_option_error", "the requested Encoding Option is not possible", KR_ENCODING_OPTION_ERROR, 400, CF_LOG_INFO},
    /* Cryptographic operations (core_crypto.c). 1.x: "Object specified is not
     * able to be used for encryption" is Permission Denied (1.4 sections
     * 11.30-11.35, CS-BC-M-7/14 and CS-AC-M-8 test cases); a missing IV is
     * Invalid Message (CS-BC-M-11/12/13-14); unsupported parameters are
     * Invalid Field. */
    [CF_ERR_USAGE_MASK] = {"incompatible_usage_mask", "the key's usage mask does not allow this operation", KR_PERMISSION_DENIED, 403, CF_LOG_INFO, KR2_INCOMPATIBLE_USAGE_MASK},
    [CF_ERR_MISSING_IV] = {"missing_iv", "an IV/Counter/Nonce is required", KR_INVALID_MESSAGE, 400, CF_LOG_INFO, KR2_MISSING_IV},
    [CF_ERR_CRYPTO_PARAMS] = {"bad_cryptographic_parameters", "cryptographic parameters not supported", KR_INVALID_FIELD, 400, CF_LOG_INFO, KR2_BAD_CRYPTO_PARAMS},
    /* 1.4 11.15 "The specified attribute already exists": Illegal
     * Operation; 2.1 6.1.2 Table 169: Attribute Single Valued (BL-M-5). */
    [CF_ERR_SINGLE_VALUED] = {"attribute_single_valued", "the attribute allows one instance and has it", KR_ILLEGAL_OPERATION, 409, CF_LOG_INFO, KR2_ATTRIBUTE_SINGLE_VALUED},
    /* Names are unique (2.1 4.32; BL-M-8): 2.x Non Unique Name Attribute.
     * 1.x: "the same Name attribute value as an existing object" is Invalid
     * Field for new objects (1.4 11.2-11.4, 11.7) and Illegal Operation for
     * Add and Modify Attribute (11.15, 11.16). */
    [CF_ERR_NAME_TAKEN] = {"non_unique_name", "another object has this Name", KR_INVALID_FIELD, 409, CF_LOG_INFO, KR2_NON_UNIQUE_NAME},
    [CF_ERR_NAME_TAKEN_EDIT] = {"non_unique_name", "another object has this Name", KR_ILLEGAL_OPERATION, 409, CF_LOG_INFO, KR2_NON_UNIQUE_NAME},
    /* Check (1.4 11.11: "not allowed to use the object according to the
     * specified attributes" is Permission Denied; 2.1 6.1.7.1). */
    [CF_ERR_USAGE_LIMIT] = {"usage_limit_exceeded", "the object's usage limits do not allow this", KR_PERMISSION_DENIED, 403, CF_LOG_INFO, KR2_USAGE_LIMIT_EXCEEDED},
    /* Audit fails closed (issue 7): no record, no answer. KMIP: Operation
     * Failed / General Failure; REST: 503 audit_unavailable. */
    [CF_ERR_AUDIT] = {"audit_unavailable", "audit unavailable: the operation's record could not be written", KR_GENERAL_FAILURE, 503, CF_LOG_ERROR},
    /* Rate limits (core_rate.c, issue 9). REST: 429 with Retry-After. KMIP
     * 1.x has no reason for it (1.4 section 9.1.3.2.29): Operation Failed
     * with General Failure and a Result Message that says so and when to
     * retry; 2.x: Server Limit Exceeded (2.1 section 11.28, "some limit on
     * the server ... has been exceeded"). */
    [CF_ERR_RATE_LIMITED] = {"rate_limited", "too many requests: rate limit exceeded, retry later", KR_GENERAL_FAILURE, 429, CF_LOG_INFO, KR2_SERVER_LIMIT_EXCEEDED},
};

const struct cf_status_info *cf_status_info(cf_status st)
{
    if ((unsigned)st >= CF_STATUS_COUNT || table[st].name == 0)
        return &table[CF_ERR_INTERNAL];
    return &table[st];
}

const char *cf_status_str(cf_status st)
{
    return cf_status_info(st)->name;
}
