/*
 * ttlv_tags.h - C constants for every KMIP tag, enumeration value and bit
 * mask of KMIP 1.0-1.4 and 2.0-2.1, expanded from the one table in
 * ttlv_dict.def (see its header for the naming rule):
 *
 *   KMIP_TAG_<TAG>              e.g. KMIP_TAG_REQUEST_MESSAGE = 0x420078
 *   KMIP_<ENUMERATION>_<VALUE>  e.g. KMIP_OPERATION_CREATE = 0x00000001
 *   KMIP_<MASK>_<BIT>           e.g. KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT = 0x4
 *
 * Included by ttlv.h; include ttlv.h rather than this file. Every value fits
 * in an int (tags are 24-bit, the largest defined enumeration value is far
 * below 0x80000000 where the extension range starts). Vendor extension tags
 * are 0x540000-0x54FFFF and have no constants here.
 */
#ifndef CF_TTLV_TAGS_H
#define CF_TTLV_TAGS_H

enum kmip_tag {
#define TTLV_TAG(sym, tag, name, type, since, until, enum_name) KMIP_TAG_##sym = tag,
#define TTLV_ENUM(esym, vsym, value, enum_name, name, since, until)
#define TTLV_MASK(msym, bsym, bit, mask_name, name, since, until)
#include "ttlv/ttlv_dict.def"
#undef TTLV_TAG
#undef TTLV_ENUM
#undef TTLV_MASK
};

enum kmip_enum_value {
#define TTLV_TAG(sym, tag, name, type, since, until, enum_name)
#define TTLV_ENUM(esym, vsym, value, enum_name, name, since, until) KMIP_##esym##_##vsym = value,
#define TTLV_MASK(msym, bsym, bit, mask_name, name, since, until) KMIP_##msym##_##bsym = bit,
#include "ttlv/ttlv_dict.def"
#undef TTLV_TAG
#undef TTLV_ENUM
#undef TTLV_MASK
};

#endif
