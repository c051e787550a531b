/*
 * core_lifecycle.c - the object state machine: Activate, Revoke, Destroy,
 * time-driven transitions and the usage check of cryptographic operations.
 *
 * The state machine is one table (KMIP 1.4 section 3.22, 2.1 section 4.57):
 * for each (state, event) the new state and the dates the server sets, or
 * nothing when "only the transitions described above are permitted" rules
 * it out. Every front end goes through it, so KMIP and REST agree.
 *
 * Time-driven transitions (an Activation or Deactivation Date reached) are
 * not run by a timer: core_object_load applies them to the object it
 * returns (core_object_effective_state), and the next write of the object
 * stores the new state. An object nobody touches keeps its old state in
 * the store's state column until then.
 *
 * Writes go through core_object_edit: load, authorize the action through
 * the permission table (core_authz.c: role, owner rule, restriction),
 * apply the change, save with the revision check, retry the whole on a
 * conflict.
 */
#include "core/core_int.h"

#include <string.h>

#include "util/log.h"

#define CORE_EDIT_RETRIES 5

/* ------------------------------------------------------ the state machine */

#define T(state, date) {KMIP_STATE_##state, date}

/* Indexed by KMIP_STATE_* (1..6); a zero `to` is "not permitted". */
static const core_transition machine[KMIP_STATE_DESTROYED_COMPROMISED + 1][CORE_EV_COUNT] = {
    [KMIP_STATE_PRE_ACTIVE] = {
        [CORE_EV_ACTIVATE] = T(ACTIVE, CORE_DATE_ACTIVATION),          /* 3.22 item 4 */
        [CORE_EV_ACTIVATION_DATE] = T(ACTIVE, 0),                      /* item 4 */
        [CORE_EV_REVOKE_COMPROMISE] = T(COMPROMISED, CORE_DATE_COMPROMISE), /* item 3 */
        [CORE_EV_DESTROY] = T(DESTROYED, CORE_DATE_DESTROY),           /* item 2 */
    },
    [KMIP_STATE_ACTIVE] = {
        [CORE_EV_DEACTIVATION_DATE] = T(DEACTIVATED, 0),               /* item 6 */
        [CORE_EV_REVOKE] = T(DEACTIVATED, CORE_DATE_DEACTIVATION),     /* item 6 */
        [CORE_EV_REVOKE_COMPROMISE] = T(COMPROMISED, CORE_DATE_COMPROMISE), /* item 5 */
    },
    [KMIP_STATE_DEACTIVATED] = {
        [CORE_EV_REVOKE_COMPROMISE] = T(COMPROMISED, CORE_DATE_COMPROMISE), /* item 8 */
        [CORE_EV_DESTROY] = T(DESTROYED, CORE_DATE_DESTROY),           /* item 7 */
    },
    [KMIP_STATE_COMPROMISED] = {
        [CORE_EV_DESTROY] = T(DESTROYED_COMPROMISED, CORE_DATE_DESTROY), /* item 9 */
    },
    [KMIP_STATE_DESTROYED] = {
        [CORE_EV_REVOKE_COMPROMISE] = T(DESTROYED_COMPROMISED, CORE_DATE_COMPROMISE), /* 10 */
    },
};

#undef T

const core_transition *core_state_transition(uint32_t state, core_event ev)
{
    const core_transition *t = NULL;
    if (state < KMIP_STATE_PRE_ACTIVE || state > KMIP_STATE_DESTROYED_COMPROMISED ||
        (unsigned)ev >= CORE_EV_COUNT)
        return NULL;
    t = &machine[state][ev];
    return t->to != 0 ? t : NULL;
}

bool core_state_is_destroyed(uint32_t state)
{
    return state == KMIP_STATE_DESTROYED || state == KMIP_STATE_DESTROYED_COMPROMISED;
}

static const char *state_name(uint32_t state)
{
    const ttlv_enum_info *e = ttlv_enum_lookup("State", state);
    return e ? e->name : "unknown";
}

/* The Date-Time value of a single-instance date attribute. */
static bool attr_date(const core_object *obj, const char *name, int64_t *out)
{
    const ttlv_item *v = core_attr_find(obj, name, 0);
    if (v == NULL || v->type != TTLV_DATE_TIME)
        return false;
    *out = v->v.i64;
    return true;
}

static uint32_t effective(const core_object *obj, int64_t now)
{
    uint32_t state = obj->state;
    int64_t d;
    const core_transition *t = NULL;

    /* "Reached" includes now: 3.22 items 4 and 6 treat a date moved to the
     * current date as reached. */
    if (attr_date(obj, "Activation Date", &d) && d <= now &&
        (t = core_state_transition(state, CORE_EV_ACTIVATION_DATE)) != NULL)
        state = t->to;
    if (attr_date(obj, "Deactivation Date", &d) && d <= now &&
        (t = core_state_transition(state, CORE_EV_DEACTIVATION_DATE)) != NULL)
        state = t->to;
    return state;
}

uint32_t core_object_effective_state(core_object *obj, int64_t now)
{
    uint32_t state = effective(obj, now);
    if (state != obj->state)
        CF_LOGD("object %s: %s -> %s (date reached)", obj->uid, state_name(obj->state),
                state_name(state));
    obj->state = state;
    return state;
}

/* ------------------------------------------------------------- usage check */

cf_status core_object_check_use(core_req *req, const core_object *obj, core_action action)
{
    const struct core_authz_rule *rule = core_authz_rule(action);
    uint32_t state = effective(obj, req->now);
    bool protect;
    int64_t d;
    cf_status st;

    if (rule == NULL || !(rule->flags & (CORE_AUTHZ_PROTECT | CORE_AUTHZ_PROCESS)))
        return core_fail(req, CF_ERR_INTERNAL, "not a key use");
    protect = (rule->flags & CORE_AUTHZ_PROTECT) != 0;
    if ((st = core_req_authorize(req, action, obj)) != CF_OK)
        return st;
    switch (state) {
    case KMIP_STATE_ACTIVE:
        break;
    case KMIP_STATE_DEACTIVATED:
        /* 3.22: never for protection; processing stays possible (data
         * protected while the key was active must remain readable). */
        if (protect)
            return core_fail(req, CF_ERR_STATE, "a Deactivated key cannot protect data");
        break;
    case KMIP_STATE_COMPROMISED:
        if (protect)
            return core_fail(req, CF_ERR_STATE, "a Compromised key cannot protect data");
        if (core_authorize(req->who, CORE_ACT_USE_COMPROMISED, obj) != CF_OK)
            return core_fail(req, CF_ERR_PERMISSION,
                             "only a Manager may process data with a Compromised key");
        break;
    default: /* Pre-Active, Destroyed, Destroyed Compromised: 3.22 */
        return core_fail(req, CF_ERR_STATE, "a %s key cannot be used", state_name(state));
    }
    /* 3.25: not for processing before the Process Start Date; 3.26: not for
     * protection once the Protect Stop Date is reached. */
    if (!protect && attr_date(obj, "Process Start Date", &d) && req->now < d)
        return core_fail(req, CF_ERR_STATE, "the Process Start Date is not reached");
    if (protect && attr_date(obj, "Protect Stop Date", &d) && req->now >= d)
        return core_fail(req, CF_ERR_STATE, "the Protect Stop Date is passed");
    return CF_OK;
}

/* The direction-only form, kept for callers that know no more: it checks
 * as Encrypt (protect) or Decrypt (process). Callers that know the
 * operation use core_object_check_use, so that restrictions to one kind
 * of use (wrap and unwrap only, say) hold. */
cf_status core_object_check_usage(core_req *req, const core_object *obj, enum core_usage usage)
{
    return core_object_check_use(req, obj,
                                 usage == CORE_USAGE_PROTECT ? CORE_ACT_ENCRYPT : CORE_ACT_DECRYPT);
}

/* ----------------------------------------------------------- edit runner */

static cf_status edit_once(core_req *req, const char *uid, core_action action, core_edit_fn fn,
                           void *ctx)
{
    core_object *obj;
    cf_status st;

    if ((st = core_object_load(req, uid, &obj)) != CF_OK)
        return st;
    if ((st = core_req_authorize(req, action, obj)) != CF_OK)
        return st;
    if ((st = fn(req, obj, ctx)) != CF_OK)
        return st;
    core_object_effective_state(obj, req->now);
    core_object_touch(obj, req->now);
    obj->revision++;
    return core_object_save(req, obj, false);
}

cf_status core_object_edit_as(core_req *req, const char *uid, core_action action, core_edit_fn fn,
                              void *ctx)
{
    cf_status st;
    for (int i = 0; i < CORE_EDIT_RETRIES; i++) {
        st = edit_once(req, uid, action, fn, ctx);
        if (st != CF_ERR_CONFLICT)
            return st;
    }
    return core_fail(req, CF_ERR_CONFLICT, "the object is being modified concurrently");
}

/* ----------------------------------------------------- transitions applied */

static cf_status put_date(core_req *req, core_object *obj, const char *name, int64_t when)
{
    ttlv_item *v = ttlv_new_datetime(req->arena, KMIP_TAG_ATTRIBUTE_VALUE, when);
    if (v == NULL)
        return CF_ERR_NOMEM;
    return core_attr_put(req, obj, name, v);
}

/* Move obj along ev, or refuse with the state it is in. */
static cf_status transition(core_req *req, core_object *obj, core_event ev, const char *what,
                            const core_transition **out)
{
    const core_transition *t = core_state_transition(obj->state, ev);
    if (t == NULL) {
        if (ev == CORE_EV_DESTROY && core_state_is_destroyed(obj->state))
            return core_fail(req, CF_ERR_DESTROYED, "the object is already destroyed");
        return core_fail(req, CF_ERR_STATE, "%s is not permitted in state %s", what,
                         state_name(obj->state));
    }
    *out = t;
    return CF_OK;
}

cf_status core_object_edit(core_req *req, const char *uid, core_edit_fn fn, void *ctx)
{
    return core_object_edit_as(req, uid, CORE_ACT_MODIFY, fn, ctx);
}

static cf_status do_activate(core_req *req, core_object *obj, void *ctx)
{
    const core_transition *t = NULL;
    cf_status st;
    (void)ctx;
    if ((st = transition(req, obj, CORE_EV_ACTIVATE, "Activate", &t)) != CF_OK)
        return st;
    obj->state = t->to;
    /* 4.19: "setting its Activation Date to the current date and time". */
    return put_date(req, obj, "Activation Date", req->now);
}

cf_status core_activate(core_req *req, const char *uid)
{
    cf_status st = core_object_edit_as(req, uid, CORE_ACT_LIFECYCLE, do_activate, NULL);
    if (st == CF_OK)
        CF_LOGI("activate %s by %s", uid, req->who->id);
    return st;
}

static cf_status do_deactivate(core_req *req, core_object *obj, void *ctx)
{
    const core_transition *t = NULL;
    cf_status st;
    (void)ctx;
    /* The row of a Deactivation Date reached: Active only (3.22 item 6).
     * Setting the date to now is what makes it reached. */
    if ((st = transition(req, obj, CORE_EV_DEACTIVATION_DATE, "Deactivate", &t)) != CF_OK)
        return st;
    obj->state = t->to;
    return put_date(req, obj, "Deactivation Date", req->now);
}

cf_status core_deactivate(core_req *req, const char *uid)
{
    /* Owner or Manager, as Revoke (1.4 4.20): the CORE_ACT_REVOKE rule. */
    cf_status st = core_object_edit_as(req, uid, CORE_ACT_REVOKE, do_deactivate, NULL);
    if (st == CF_OK)
        CF_LOGI("deactivate %s by %s", uid, req->who->id);
    return st;
}

static bool reason_is_compromise(uint32_t code)
{
    return code == KMIP_REVOCATION_REASON_CODE_KEY_COMPROMISE ||
           code == KMIP_REVOCATION_REASON_CODE_CA_COMPROMISE;
}

static cf_status put_revocation_reason(core_req *req, core_object *obj, const core_revocation *rv)
{
    ttlv_item *s = ttlv_new_struct(req->arena, KMIP_TAG_REVOCATION_REASON);
    ttlv_item *code = ttlv_new_enum(req->arena, KMIP_TAG_REVOCATION_REASON_CODE, rv->code);
    if (s == NULL || code == NULL)
        return CF_ERR_NOMEM;
    ttlv_append(s, code);
    if (rv->message != NULL) {
        ttlv_item *m = ttlv_new_text(req->arena, KMIP_TAG_REVOCATION_MESSAGE, rv->message,
                                     strlen(rv->message));
        if (m == NULL)
            return CF_ERR_NOMEM;
        ttlv_append(s, m);
    }
    return core_attr_put(req, obj, "Revocation Reason", s);
}

static cf_status put_compromise_dates(core_req *req, core_object *obj, const core_revocation *rv)
{
    int64_t occurred = req->now;
    cf_status st;

    /* 4.20: the Occurrence Date from the request, else the Initial Date. */
    if (rv->has_occurrence)
        occurred = rv->occurrence;
    else if (!attr_date(obj, "Initial Date", &occurred))
        occurred = obj->created;
    if ((st = put_date(req, obj, "Compromise Date", req->now)) != CF_OK)
        return st;
    return put_date(req, obj, "Compromise Occurrence Date", occurred);
}

static cf_status do_revoke(core_req *req, core_object *obj, void *ctx)
{
    const core_revocation *rv = ctx;
    core_event ev = reason_is_compromise(rv->code) ? CORE_EV_REVOKE_COMPROMISE : CORE_EV_REVOKE;
    const core_transition *t = NULL;
    cf_status st;

    /* Owner or Manager (1.4 4.20): the CORE_ACT_REVOKE rule. */
    if ((st = transition(req, obj, ev, "Revoke", &t)) != CF_OK)
        return st;
    obj->state = t->to;
    if ((st = put_revocation_reason(req, obj, rv)) != CF_OK)
        return st;
    if (t->dates & CORE_DATE_DEACTIVATION)
        return put_date(req, obj, "Deactivation Date", req->now);
    if (t->dates & CORE_DATE_COMPROMISE)
        return put_compromise_dates(req, obj, rv);
    return CF_OK;
}

cf_status core_revoke(core_req *req, const char *uid, const core_revocation *rv)
{
    cf_status st;
    if (rv->code < KMIP_REVOCATION_REASON_CODE_UNSPECIFIED ||
        rv->code > KMIP_REVOCATION_REASON_CODE_PRIVILEGE_WITHDRAWN)
        return core_fail(req, CF_ERR_INVALID_FIELD, "Revocation Reason Code %u is not defined",
                         rv->code); /* 1.4 11.21 */
    if (rv->has_occurrence && !reason_is_compromise(rv->code))
        return core_fail(req, CF_ERR_INVALID_FIELD,
                         "Compromise Occurrence Date is only for a compromise"); /* 4.20 */
    st = core_object_edit_as(req, uid, CORE_ACT_REVOKE, do_revoke, (void *)rv);
    if (st == CF_OK)
        CF_LOGI("revoke %s by %s (reason %u)", uid, req->who->id, rv->code);
    return st;
}

static cf_status do_destroy(core_req *req, core_object *obj, void *ctx)
{
    const core_transition *t = NULL;
    cf_status st;
    (void)ctx;
    /* Owner or Manager (1.4 4.21): the CORE_ACT_DESTROY rule. */
    if ((st = transition(req, obj, CORE_EV_DESTROY, "Destroy", &t)) != CF_OK)
        return st;
    obj->state = t->to;
    /* 4.21: the key material is destroyed, the metadata MAY (2.x: SHALL)
     * be retained. The row's sealed blob goes; the store rewrites it. */
    obj->sealed = NULL;
    obj->sealed_len = 0;
    obj->key_format = 0;
    return put_date(req, obj, "Destroy Date", req->now);
}

cf_status core_destroy(core_req *req, const char *uid)
{
    cf_status st = core_object_edit_as(req, uid, CORE_ACT_DESTROY, do_destroy, NULL);
    if (st == CF_OK)
        CF_LOGI("destroy %s by %s", uid, req->who->id);
    return st;
}
