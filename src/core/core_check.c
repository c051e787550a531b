/*
 * core_check.c - Check (KMIP 1.4 section 4.10, 2.1 section 6.1.7): may the
 * caller use an object for what it says it will do?
 *
 * Check reads and never writes: it answers from the object's attributes
 * and the permission table, so that a client can test a batch's premise
 * (Locate, Check, Get) before acting on it. Three questions, each optional
 * in the request:
 * - Cryptographic Usage Mask: every bit asked for must be in the object's
 *   mask (an object without a mask allows nothing), and the caller's role
 *   must allow the key use the bit stands for (core_authz.c);
 * - Usage Limits Count: no more than the object's Usage Limits leave (an
 *   object without Usage Limits is not limited);
 * - Lease Time: no longer than the object's Lease Time (none: no limit;
 *   Coffre grants no leases, so nothing sets one but the attribute).
 * The values that fail are reported back (out), as 2.1 Table 184 asks.
 */
#include "core/core_int.h"

#include <string.h>

static cf_status check_mask(core_req *req, const core_object *obj, int32_t want,
                            core_check_out *out)
{
    const ttlv_item *m = core_attr_find(obj, "Cryptographic Usage Mask", 0);
    uint32_t have = m != NULL && m->type == TTLV_INTEGER ? (uint32_t)m->v.i32 : 0;
    uint32_t w = (uint32_t)want;

    if ((w & ~have) != 0) {
        out->usage_mask_denied = true;
        return core_fail(req, CF_ERR_USAGE_MASK,
                         "the object's Cryptographic Usage Mask does not allow 0x%x", w & ~have);
    }
    for (uint32_t bit = 1; bit != 0 && bit <= w; bit <<= 1) {
        core_action act = (w & bit) ? core_action_of_usage(bit) : CORE_ACTION_COUNT;
        if (act != CORE_ACTION_COUNT && core_authorize(req->who, act, obj) != CF_OK) {
            out->usage_mask_denied = true;
            return core_fail(req, CF_ERR_PERMISSION, "this identity may not use the key for 0x%x",
                             bit);
        }
    }
    return CF_OK;
}

static cf_status check_limits(core_req *req, const core_object *obj, int64_t want,
                              core_check_out *out)
{
    const ttlv_item *ul = core_attr_find(obj, "Usage Limits", 0);
    int64_t left;

    if (ul == NULL)
        return CF_OK;
    if (ttlv_get_long(ul, KMIP_TAG_USAGE_LIMITS_COUNT, &left) != CF_OK &&
        ttlv_get_long(ul, KMIP_TAG_USAGE_LIMITS_TOTAL, &left) != CF_OK)
        return CF_OK;
    if (want <= left)
        return CF_OK;
    out->usage_count_denied = true;
    return core_fail(req, CF_ERR_USAGE_LIMIT, "the object's Usage Limits leave %lld",
                     (long long)left);
}

cf_status core_check(core_req *req, const char *uid, const core_check_in *in,
                     core_check_out *out)
{
    core_object *obj;
    const ttlv_item *lease;
    cf_status st;

    memset(out, 0, sizeof *out);
    if ((st = core_object_load(req, uid, &obj)) != CF_OK)
        return st;
    if ((st = core_req_authorize(req, CORE_ACT_READ_METADATA, obj)) != CF_OK)
        return st;
    out->uid = obj->uid;
    if (core_state_is_destroyed(obj->state))
        return core_fail(req, CF_ERR_DESTROYED, "the object is destroyed");
    if (in->has_usage_mask && (st = check_mask(req, obj, in->usage_mask, out)) != CF_OK)
        return st;
    if (in->has_usage_count && (st = check_limits(req, obj, in->usage_count, out)) != CF_OK)
        return st;
    lease = core_attr_find(obj, "Lease Time", 0);
    if (in->has_lease_time && lease != NULL && lease->type == TTLV_INTERVAL &&
        in->lease_time > lease->v.u32) {
        out->lease_time_denied = true;
        return core_fail(req, CF_ERR_PERMISSION, "the object's Lease Time is %u s",
                         lease->v.u32);
    }
    return CF_OK;
}
