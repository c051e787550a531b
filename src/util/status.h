/*
 * status.h - the one status enum of Coffre and its mapping table.
 *
 * Every fallible function returns a cf_status and delivers results through
 * out-parameters. Each status maps, in one table (status.c), to a KMIP
 * Result Reason, an HTTP status, a stable machine code for JSON errors and a
 * log level, so that KMIP and REST answer the same failure the same way.
 */
#ifndef CF_STATUS_H
#define CF_STATUS_H

typedef enum cf_status {
    CF_OK = 0,
    CF_ERR_NOMEM,          /* allocation failed: resource exhausted, keep serving */
    CF_ERR_INVALID_MSG,    /* malformed message (framing, TTLV, JSON syntax) */
    CF_ERR_INVALID_FIELD,  /* a well-formed field with an unacceptable value */
    CF_ERR_MISSING,        /* a required field is absent */
    CF_ERR_NOT_FOUND,      /* no such object (or not visible to the caller) */
    CF_ERR_UNSUPPORTED_OP, /* operation not implemented */
    CF_ERR_UNSUPPORTED,    /* feature/algorithm/option not implemented */
    CF_ERR_FORMAT,         /* key format type not supported */
    CF_ERR_CRYPTO,         /* a cryptographic operation failed */
    CF_ERR_STATE,          /* operation illegal in the object's current state */
    CF_ERR_PERMISSION,     /* authenticated but not allowed */
    CF_ERR_AUTH,           /* authentication failed */
    CF_ERR_INDEX,          /* attribute index out of bounds */
    CF_ERR_TOO_LARGE,      /* response would exceed the client's maximum */
    CF_ERR_LIMIT,          /* a configured limit was exceeded */
    CF_ERR_EXISTS,         /* object or attribute already exists */
    CF_ERR_READ_ONLY,      /* attribute is read-only / server-managed */
    CF_ERR_NOT_EXTRACTABLE,/* key material may not leave the server */
    CF_ERR_SENSITIVE,      /* key material is sensitive */
    CF_ERR_IO,             /* file system or socket failure */
    CF_ERR_STORE,          /* storage back end failure */
    CF_ERR_CONFLICT,       /* concurrent modification; retry */
    CF_ERR_INTERNAL,       /* a bug or an invariant broken: general failure */
    CF_ERR_DESTROYED,      /* the object exists but is destroyed (its key material is gone) */
    CF_ERR_ATTR_NOT_FOUND, /* the object has no instance of the named attribute */
    CF_ERR_ATTR_INSTANCE,  /* the attribute exists, but not the instance asked for */
    CF_ERR_MULTI_VALUED,   /* one instance expected, the attribute has several */
    CF_ERR_OBJECT_TYPE,    /* the object exists but its type does not suit the operation */
    CF_ERR_ENCODING,       /* the object cannot be given in the requested Encoding Option */
    CF_ERR_USAGE_MASK,     /* the key's Cryptographic Usage Mask forbids the operation */
    CF_ERR_MISSING_IV,     /* the cipher mode needs an IV/Counter/Nonce and none was given */
    CF_ERR_CRYPTO_PARAMS,  /* Cryptographic Parameters not offered or not valid for the key */
    CF_ERR_SINGLE_VALUED,  /* adding an instance of a single-instance attribute the object has */
    CF_ERR_NAME_TAKEN,     /* a new object would take a Name another object of the tenant has */
    CF_ERR_NAME_TAKEN_EDIT,/* an attribute edit would give it a Name another object has */
    CF_ERR_USAGE_LIMIT,    /* more use than the object's Usage Limits leave (Check) */
    CF_ERR_AUDIT,          /* the audit record could not be written: refused (fail closed) */
    CF_ERR_RATE_LIMITED,   /* over the caller's request rate (tenant or identity): retry later */
    CF_STATUS_COUNT
} cf_status;

/* Log levels, also used by the mapping table. */
typedef enum cf_log_level {
    CF_LOG_DEBUG = 0,
    CF_LOG_INFO,
    CF_LOG_WARN,
    CF_LOG_ERROR
} cf_log_level;

struct cf_status_info {
    const char *name;      /* stable machine code, e.g. "not_found" */
    const char *message;   /* short human message */
    unsigned kmip_reason;  /* KMIP Result Reason enumeration value (1.x) */
    int http_status;       /* HTTP status for REST */
    cf_log_level level;    /* how loud to log it */
    unsigned kmip2_reason; /* KMIP 2.x Result Reason when it differs, else 0 */
};

/* Never NULL: out-of-range values map to the CF_ERR_INTERNAL entry. */
const struct cf_status_info *cf_status_info(cf_status st);
const char *cf_status_str(cf_status st);

#endif
