/*
 * ttlv.h - KMIP binary TTLV: item tree, bounded decoder, streaming encoder,
 * and the tag/enumeration dictionary for KMIP 1.0-1.4 and 2.0-2.1.
 *
 * Depends on util only (no OpenSSL, no libevent). Design:
 * - The decoder builds a tree of ttlv_item in a caller-owned cf_arena. Text,
 *   byte and big-integer values are copied into the arena (the arena is
 *   cleansed on reset, so decoded key material does not linger). Every
 *   length is checked against what remains before use, a structure's
 *   children are confined to its declared length and must consume it
 *   exactly, padding must be zero, limits (size, depth, item count) are
 *   enforced before any allocation grows with them.
 * - The encoder writes straight into a cf_buf; structure lengths are
 *   back-patched through a reserved slot. Errors are sticky.
 * - The dictionary (ttlv_dict.c, generated from one table in ttlv_dict.def)
 *   names tags and enumeration values and tells in which KMIP version each
 *   appeared, so that responses never carry what the client's version does
 *   not define.
 */
#ifndef CF_TTLV_H
#define CF_TTLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/mem.h"
#include "util/status.h"
#include "ttlv/ttlv_tags.h" /* KMIP_TAG_* and KMIP_<ENUM>_<VALUE> constants */

/* ---------------------------------------------------------------- types */

enum ttlv_type {
    TTLV_STRUCTURE = 0x01,
    TTLV_INTEGER = 0x02,        /* 4 bytes signed, padded to 8 */
    TTLV_LONG_INTEGER = 0x03,   /* 8 bytes signed */
    TTLV_BIG_INTEGER = 0x04,    /* multiple of 8 bytes, two's complement, big-endian */
    TTLV_ENUMERATION = 0x05,    /* 4 bytes unsigned, padded to 8 */
    TTLV_BOOLEAN = 0x06,        /* 8 bytes, 0 or 1 only */
    TTLV_TEXT_STRING = 0x07,    /* UTF-8, padded to 8 */
    TTLV_BYTE_STRING = 0x08,    /* padded to 8 */
    TTLV_DATE_TIME = 0x09,      /* 8 bytes signed, seconds since the epoch */
    TTLV_INTERVAL = 0x0A,       /* 4 bytes unsigned, padded to 8 */
    TTLV_DATE_TIME_EXT = 0x0B,  /* KMIP 2.0+: 8 bytes signed, microseconds */
};

/* Protocol version packed as (major << 8) | minor: KMIP_V(1,4) = 0x0104. */
#define KMIP_V(maj, min) ((uint16_t)(((maj) << 8) | (min)))

typedef struct ttlv_item {
    uint32_t tag;      /* 24-bit tag, e.g. 0x420078 */
    uint8_t type;      /* enum ttlv_type */
    union {
        int32_t i32;   /* Integer */
        uint32_t u32;  /* Enumeration, Interval */
        int64_t i64;   /* Long Integer, Date-Time, Date-Time Extended */
        bool b;        /* Boolean */
        struct {       /* Text String (not NUL-terminated in the wire, but the
                        * decoder adds a NUL after it), Byte String, Big Integer */
            const uint8_t *p;
            size_t len;
        } s;
    } v;
    struct ttlv_item *first; /* Structure: first child */
    struct ttlv_item *last;  /* Structure: last child (for appending) */
    struct ttlv_item *next;  /* next sibling */
    uint32_t nchildren;
} ttlv_item;

/* ------------------------------------------------------------- decoding */

typedef struct ttlv_limits {
    size_t max_bytes;   /* whole message */
    unsigned max_depth; /* nesting: an item's depth is 1 + the structures
                         * around it (the outermost item is depth 1). At most
                         * TTLV_WRITER_DEPTH_MAX structures are ever open, so
                         * that every decoded tree can be re-encoded. */
    unsigned max_items; /* total items in the tree */
    size_t max_string;  /* longest text/byte/big-integer value */
    bool no_type_check; /* accept any item type for tags the dictionary
                         * knows (tools; the specification's own examples
                         * use tag 0x420020 with every type). Servers leave
                         * it false. */
} ttlv_limits;

/* The defaults of util/limits.h. */
extern const ttlv_limits ttlv_default_limits;

typedef enum ttlv_err {
    TTLV_E_OK = 0,
    TTLV_E_TRUNCATED,   /* fewer bytes than a header or declared length needs */
    TTLV_E_LENGTH,      /* a fixed-size type with the wrong length, or a
                         * structure whose children do not fill it exactly */
    TTLV_E_TYPE,        /* unknown item type, or a known tag with a type the
                         * dictionary forbids */
    TTLV_E_PADDING,     /* non-zero padding bytes */
    TTLV_E_VALUE,       /* Boolean not 0/1, Text String not UTF-8, big
                         * integer length not a multiple of 8 */
    TTLV_E_TAG,         /* a tag outside 0x420000-0x42FFFF and 0x540000-0x54FFFF */
    TTLV_E_DEPTH,
    TTLV_E_ITEMS,
    TTLV_E_SIZE,        /* message or string larger than the limit */
    TTLV_E_TRAILING,    /* bytes after the outermost item */
    TTLV_E_NOMEM,
} ttlv_err;

typedef struct ttlv_error {
    ttlv_err code;
    size_t offset;      /* byte offset in the input where it was detected */
    uint32_t tag;       /* tag of the offending item, 0 if unknown */
} ttlv_error;

/*
 * Decode exactly one item (normally the Request Message structure) filling
 * the whole of [p, p+len). On success *out points into the arena. On failure
 * returns CF_ERR_INVALID_MSG (or CF_ERR_LIMIT / CF_ERR_NOMEM), *out is NULL
 * and err (if non-NULL) says what and where. Never reads outside [p, p+len).
 * lim NULL means ttlv_default_limits. Text Strings must be strict UTF-8 and
 * must not contain U+0000 (TTLV_E_VALUE): every consumer treats them as C
 * strings. A known tag must carry the dictionary's type unless that is
 * TTLV_ANY; unknown tags in the allowed ranges are accepted with any type.
 */
cf_status ttlv_decode(const uint8_t *p, size_t len, const ttlv_limits *lim, cf_arena *a,
                      ttlv_item **out, ttlv_error *err);

/* Frame helper: given at least 8 bytes of a message header, the total size
 * of the message (8 + declared length). Returns false if the header is not
 * a Structure, its tag is outside 0x420000-0x42FFFF and 0x540000-0x54FFFF,
 * or the total exceeds max_bytes (checked before buffering). */
bool ttlv_frame_size(const uint8_t hdr[8], size_t max_bytes, size_t *out_total);

const char *ttlv_err_str(ttlv_err e);

/* ------------------------------------------------------------ tree access */

/* First child of s with this tag, or NULL (also when s is not a structure). */
const ttlv_item *ttlv_child(const ttlv_item *s, uint32_t tag);
/* Next sibling after it with the same tag, or NULL. */
const ttlv_item *ttlv_next_same(const ttlv_item *it);
/* Number of children with this tag. */
unsigned ttlv_count(const ttlv_item *s, uint32_t tag);

/* Typed getters on the first child with the tag: CF_ERR_MISSING if absent,
 * CF_ERR_INVALID_FIELD if present with another type. */
cf_status ttlv_get_int(const ttlv_item *s, uint32_t tag, int32_t *out);
cf_status ttlv_get_long(const ttlv_item *s, uint32_t tag, int64_t *out);
cf_status ttlv_get_enum(const ttlv_item *s, uint32_t tag, uint32_t *out);
cf_status ttlv_get_bool(const ttlv_item *s, uint32_t tag, bool *out);
cf_status ttlv_get_text(const ttlv_item *s, uint32_t tag, const char **out, size_t *out_len);
cf_status ttlv_get_bytes(const ttlv_item *s, uint32_t tag, const uint8_t **out, size_t *out_len);
cf_status ttlv_get_datetime(const ttlv_item *s, uint32_t tag, int64_t *out);
cf_status ttlv_get_struct(const ttlv_item *s, uint32_t tag, const ttlv_item **out);

/* Deep equality (tag, type, value, children in order). */
bool ttlv_equal(const ttlv_item *a, const ttlv_item *b);

/* ------------------------------------------------------- tree building */
/* Constructors allocate in the arena and return NULL on failure. Strings
 * are copied. */
ttlv_item *ttlv_new_struct(cf_arena *a, uint32_t tag);
ttlv_item *ttlv_new_int(cf_arena *a, uint32_t tag, int32_t v);
ttlv_item *ttlv_new_long(cf_arena *a, uint32_t tag, int64_t v);
ttlv_item *ttlv_new_enum(cf_arena *a, uint32_t tag, uint32_t v);
ttlv_item *ttlv_new_bool(cf_arena *a, uint32_t tag, bool v);
ttlv_item *ttlv_new_text(cf_arena *a, uint32_t tag, const char *s, size_t len);
ttlv_item *ttlv_new_bytes(cf_arena *a, uint32_t tag, const uint8_t *p, size_t len);
ttlv_item *ttlv_new_bigint(cf_arena *a, uint32_t tag, const uint8_t *p, size_t len);
ttlv_item *ttlv_new_datetime(cf_arena *a, uint32_t tag, int64_t v);
ttlv_item *ttlv_new_interval(cf_arena *a, uint32_t tag, uint32_t v);
/* Append child (which must not be in another tree) to structure s. */
void ttlv_append(ttlv_item *s, ttlv_item *child);
/* Deep copy into another arena. */
ttlv_item *ttlv_clone(cf_arena *a, const ttlv_item *it);

/* -------------------------------------------------------------- encoding */

#define TTLV_WRITER_DEPTH_MAX 32

typedef struct ttlv_writer {
    cf_buf *buf;
    size_t stack[TTLV_WRITER_DEPTH_MAX]; /* offsets of open structure headers */
    unsigned depth;
    bool failed;                         /* sticky */
    bool too_large;                      /* sticky: failed because buf->max was reached */
} ttlv_writer;

void ttlv_w_init(ttlv_writer *w, cf_buf *buf);
void ttlv_w_begin(ttlv_writer *w, uint32_t tag);   /* open a Structure */
void ttlv_w_end(ttlv_writer *w);                   /* close it, back-patch length */
void ttlv_w_int(ttlv_writer *w, uint32_t tag, int32_t v);
void ttlv_w_long(ttlv_writer *w, uint32_t tag, int64_t v);
void ttlv_w_enum(ttlv_writer *w, uint32_t tag, uint32_t v);
void ttlv_w_bool(ttlv_writer *w, uint32_t tag, bool v);
void ttlv_w_text(ttlv_writer *w, uint32_t tag, const char *s, size_t len);
void ttlv_w_cstr(ttlv_writer *w, uint32_t tag, const char *s);
void ttlv_w_bytes(ttlv_writer *w, uint32_t tag, const uint8_t *p, size_t len);
void ttlv_w_bigint(ttlv_writer *w, uint32_t tag, const uint8_t *p, size_t len); /* sign-extends to a multiple of 8 */
void ttlv_w_datetime(ttlv_writer *w, uint32_t tag, int64_t v);
void ttlv_w_interval(ttlv_writer *w, uint32_t tag, uint32_t v);
/* Encode a whole (sub)tree. */
void ttlv_w_item(ttlv_writer *w, const ttlv_item *it);
/* CF_OK if every write succeeded and every structure was closed;
 * CF_ERR_TOO_LARGE if buf's maximum was reached, CF_ERR_NOMEM if memory ran
 * out, CF_ERR_INTERNAL for misuse (unbalanced begin/end, more than
 * TTLV_WRITER_DEPTH_MAX open structures, a value longer than 2^32-1, an item
 * of unknown type). */
cf_status ttlv_w_finish(ttlv_writer *w);

/* Encode a tree into buf (appending). */
cf_status ttlv_encode(const ttlv_item *it, cf_buf *buf);

/* ------------------------------------------------------------ dictionary */

/* Value type of a dictionary tag: an enum ttlv_type, or TTLV_ANY for tags
 * whose value type varies (Attribute Value, Key Material, ...). */
#define TTLV_ANY 0xFF

typedef struct ttlv_tag_info {
    uint32_t tag;
    const char *name;     /* spec name with spaces, e.g. "Cryptographic Algorithm" */
    uint8_t type;         /* enum ttlv_type or TTLV_ANY */
    uint16_t since;       /* KMIP_V() of the first version defining it */
    uint16_t until;       /* KMIP_V() of the last version defining it, 0 = still defined */
    const char *enum_name;/* for Enumerations: name of the enumeration, else NULL */
} ttlv_tag_info;

typedef struct ttlv_enum_info {
    const char *enum_name; /* e.g. "Cryptographic Algorithm" */
    uint32_t value;
    const char *name;      /* e.g. "AES" */
    uint16_t since;
    uint16_t until;
} ttlv_enum_info;

const ttlv_tag_info *ttlv_tag_lookup(uint32_t tag);            /* NULL if unknown */
const ttlv_tag_info *ttlv_tag_by_name(const char *name, size_t len); /* exact spec name */
/* Defined at protocol version ver? (since <= ver && (until == 0 || ver <= until)) */
bool ttlv_tag_in_version(const ttlv_tag_info *ti, uint16_t ver);
const ttlv_enum_info *ttlv_enum_lookup(const char *enum_name, uint32_t value);
const ttlv_enum_info *ttlv_enum_by_name(const char *enum_name, const char *name);
/* Iterate the tables (for tests and the Query operation). */
size_t ttlv_tag_count(void);
const ttlv_tag_info *ttlv_tag_at(size_t i);
size_t ttlv_enum_count(void);
const ttlv_enum_info *ttlv_enum_at(size_t i);

/* Human-readable dump of a tree for debugging and tests. Byte Strings are
 * printed as "<N bytes>" (never their content: they may be key material). */
cf_status ttlv_dump(const ttlv_item *it, cf_buf *out);

#endif
