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
#define KR_SENSITIVE 0x16
#define KR_NOT_EXTRACTABLE 0x17
#define KR_OBJECT_ALREADY_EXISTS 0x18
#define KR_GENERAL_FAILURE 0x100

static const struct cf_status_info table[CF_STATUS_COUNT] = {
    [CF_OK] = {"ok", "success", 0, 200, CF_LOG_DEBUG},
    [CF_ERR_NOMEM] = {"resource_exhausted", "resources exhausted, retry later", KR_GENERAL_FAILURE, 503, CF_LOG_ERROR},
    [CF_ERR_INVALID_MSG] = {"invalid_message", "malformed message", KR_INVALID_MESSAGE, 400, CF_LOG_INFO},
    [CF_ERR_INVALID_FIELD] = {"invalid_field", "invalid field value", KR_INVALID_FIELD, 400, CF_LOG_INFO},
    [CF_ERR_MISSING] = {"missing_data", "required data missing", KR_MISSING_DATA, 400, CF_LOG_INFO},
    [CF_ERR_NOT_FOUND] = {"not_found", "object not found", KR_ITEM_NOT_FOUND, 404, CF_LOG_INFO},
    [CF_ERR_UNSUPPORTED_OP] = {"operation_not_supported", "operation not supported", KR_OPERATION_NOT_SUPPORTED, 405, CF_LOG_INFO},
    [CF_ERR_UNSUPPORTED] = {"feature_not_supported", "feature not supported", KR_FEATURE_NOT_SUPPORTED, 400, CF_LOG_INFO},
    [CF_ERR_FORMAT] = {"format_not_supported", "key format type not supported", KR_KEY_FORMAT_NOT_SUPPORTED, 400, CF_LOG_INFO},
    [CF_ERR_CRYPTO] = {"cryptographic_failure", "cryptographic failure", KR_CRYPTOGRAPHIC_FAILURE, 400, CF_LOG_WARN},
    [CF_ERR_STATE] = {"wrong_state", "operation not allowed in the object's state", KR_ILLEGAL_OPERATION, 409, CF_LOG_INFO},
    [CF_ERR_PERMISSION] = {"permission_denied", "permission denied", KR_PERMISSION_DENIED, 403, CF_LOG_WARN},
    [CF_ERR_AUTH] = {"unauthenticated", "authentication not successful", KR_AUTH_NOT_SUCCESSFUL, 401, CF_LOG_WARN},
    [CF_ERR_INDEX] = {"index_out_of_bounds", "attribute index out of bounds", KR_INDEX_OUT_OF_BOUNDS, 400, CF_LOG_INFO},
    [CF_ERR_TOO_LARGE] = {"response_too_large", "response too large", KR_RESPONSE_TOO_LARGE, 413, CF_LOG_INFO},
    [CF_ERR_LIMIT] = {"limit_exceeded", "limit exceeded", KR_INVALID_MESSAGE, 413, CF_LOG_WARN},
    [CF_ERR_EXISTS] = {"already_exists", "already exists", KR_OBJECT_ALREADY_EXISTS, 409, CF_LOG_INFO},
    [CF_ERR_READ_ONLY] = {"read_only", "attribute is read-only", KR_PERMISSION_DENIED, 400, CF_LOG_INFO},
    [CF_ERR_NOT_EXTRACTABLE] = {"not_extractable", "key material is not extractable", KR_NOT_EXTRACTABLE, 403, CF_LOG_WARN},
    [CF_ERR_SENSITIVE] = {"sensitive", "key material is sensitive", KR_SENSITIVE, 403, CF_LOG_WARN},
    [CF_ERR_IO] = {"io_error", "input/output error", KR_GENERAL_FAILURE, 500, CF_LOG_ERROR},
    [CF_ERR_STORE] = {"store_error", "storage failure", KR_GENERAL_FAILURE, 500, CF_LOG_ERROR},
    [CF_ERR_CONFLICT] = {"conflict", "concurrent modification, retry", KR_GENERAL_FAILURE, 409, CF_LOG_INFO},
    [CF_ERR_INTERNAL] = {"internal_error", "internal error", KR_GENERAL_FAILURE, 500, CF_LOG_ERROR},
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
