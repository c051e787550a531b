/*
 * rest_rotation.c - rotation on demand and by policy (issue 6).
 *
 * POST /v1/keys/{id}/rotate is core_key_rotate (the operation KMIP ReKey of
 * a root key runs too); the policy routes are core_rotation_*; POST
 * /v1/rotation/run is one scheduler pass (the operator's; with "at" only on
 * a server started with --test-clock). Core decides who may do what: a
 * Writer rotates and sets a key's policy, a Manager of the tenant (or the
 * operator) its default. This file maps JSON only.
 *
 * Durations: an integer is seconds; a string is digits and one unit:
 * "s" seconds, "h" hours, "d" days, "w" weeks, "m" months of 30 days, "y"
 * years of 365 days ("14d", "12h", "3m"). Answers give "interval" in the
 * largest of d, h, s that divides it, and "interval_seconds".
 */
#include <stdio.h>
#include <string.h>

#include "rest/rest_int.h"

static bool bad(rest_call *c, const char *msg)
{
    rest_reply_error(c->req, 400, "invalid_field", msg);
    return false;
}

/* ------------------------------------------------------------- durations */

static const char *duration_text(cf_arena *a, int64_t s)
{
    if (s % 86400 == 0)
        return cf_arena_sprintf(a, "%lldd", (long long)(s / 86400));
    if (s % 3600 == 0)
        return cf_arena_sprintf(a, "%lldh", (long long)(s / 3600));
    return cf_arena_sprintf(a, "%llds", (long long)s);
}

/* {"interval"?: duration, "max_encryptions"?: integer} into *p. */
static bool policy_body(rest_call *c, json_t *body, core_rotation_policy *p)
{
    json_t *iv = json_object_get(body, "interval");
    json_int_t max = 0;

    memset(p, 0, sizeof *p);
    if (iv != NULL && json_is_integer(iv))
        p->interval = json_integer_value(iv);
    else if (iv != NULL && (!json_is_string(iv) ||
                            !rest_parse_duration(json_string_value(iv), &p->interval)))
        return bad(c, "field \"interval\" must be a number of seconds or a duration such as "
                      "\"14d\", \"12h\" or \"3m\" (units s, h, d, w, m = 30 days, y = 365 days)");
    if (iv != NULL && p->interval <= 0)
        return bad(c, "field \"interval\" must be positive");
    if (!rest_get_int(c, body, "max_encryptions", false, &max))
        return false;
    if (json_object_get(body, "max_encryptions") != NULL && max <= 0)
        return bad(c, "field \"max_encryptions\" must be positive");
    p->max_encryptions = max;
    return true;
}

/* ------------------------------------------------------------- answers */

static const char *const source_names[] = {
    [CORE_ROTATION_NONE] = "none",
    [CORE_ROTATION_KEY] = "key",
    [CORE_ROTATION_TENANT] = "tenant",
};

/* RotationPolicy; rescheduled < 0: not given. */
static json_t *policy_json(rest_call *c, const core_rotation_info *i, int64_t rescheduled)
{
    cf_arena *a = c->env->arena;
    json_t *o = json_pack("{s:s}", "source", source_names[i->source]);
    const char *t;
    int rc = 0;

    if (o == NULL)
        return NULL;
    if (i->policy.interval > 0) {
        t = duration_text(a, i->policy.interval);
        rc |= json_object_set_new(o, "interval", t ? json_string(t) : NULL);
        rc |= json_object_set_new(o, "interval_seconds",
                                  json_integer((json_int_t)i->policy.interval));
    }
    if (i->policy.max_encryptions > 0)
        rc |= json_object_set_new(o, "max_encryptions",
                                  json_integer((json_int_t)i->policy.max_encryptions));
    if (i->next != 0) {
        t = rest_time(a, i->next);
        rc |= json_object_set_new(o, "next_rotation", t ? json_string(t) : NULL);
    }
    if (rescheduled >= 0)
        rc |= json_object_set_new(o, "rescheduled", json_integer((json_int_t)rescheduled));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void reply_policy(rest_call *c, cf_status st, const core_rotation_info *i,
                         int64_t rescheduled)
{
    if (st != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    rest_reply_json(c, 200, policy_json(c, i, rescheduled));
}

/* ------------------------------------------------------------- rotate */

void rest_rot_rotate(rest_call *c)
{
    static const char *const fields[] = {NULL};
    json_t *body = NULL;
    uint32_t version = 0;
    cf_status st;

    if (!rest_body(c, fields, true, &body))
        return;
    json_decref(body);
    if ((st = core_key_rotate(&c->creq, c->params[0], CORE_ROTATE_MANUAL, &version)) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    rest_reply_json(c, 200, json_pack("{s:s,s:I}", "key_id", c->params[0], "version",
                                       (json_int_t)version));
}

/* ------------------------------------------------------- key policies */

void rest_rot_key_policy_get(rest_call *c)
{
    core_rotation_info i;
    cf_status st = core_rotation_policy_get(&c->creq, c->params[0], &i);
    reply_policy(c, st, &i, -1);
}

void rest_rot_key_policy_put(rest_call *c)
{
    static const char *const fields[] = {"interval", "max_encryptions", NULL};
    core_rotation_policy p;
    core_rotation_info i;
    json_t *body = NULL;

    if (!rest_body(c, fields, false, &body))
        return;
    if (policy_body(c, body, &p)) {
        cf_status st = core_rotation_policy_set(&c->creq, c->params[0], &p, &i);
        reply_policy(c, st, &i, -1);
    }
    json_decref(body);
}

void rest_rot_key_policy_delete(rest_call *c)
{
    core_rotation_info i;
    cf_status st = core_rotation_policy_clear(&c->creq, c->params[0], &i);
    reply_policy(c, st, &i, -1);
}

/* --------------------------------------------------- tenant defaults */

static void tenant_reply(rest_call *c, cf_status st, const core_rotation_policy *p,
                         int64_t rescheduled)
{
    core_rotation_info i = {.policy = *p};
    i.source = p->interval || p->max_encryptions ? CORE_ROTATION_TENANT : CORE_ROTATION_NONE;
    reply_policy(c, st, &i, rescheduled);
}

void rest_rot_tenant_policy_get(rest_call *c)
{
    core_rotation_policy p;
    cf_status st = core_rotation_tenant_get(&c->creq, c->params[0], &p);
    tenant_reply(c, st, &p, -1);
}

void rest_rot_tenant_policy_put(rest_call *c)
{
    static const char *const fields[] = {"interval", "max_encryptions", NULL};
    core_rotation_policy p;
    int64_t n = 0;
    json_t *body = NULL;

    if (!rest_body(c, fields, false, &body))
        return;
    if (policy_body(c, body, &p)) {
        cf_status st = core_rotation_tenant_set(&c->creq, c->params[0], &p, &n);
        tenant_reply(c, st, &p, n);
    }
    json_decref(body);
}

void rest_rot_tenant_policy_delete(rest_call *c)
{
    core_rotation_policy none = {0};
    int64_t n = 0;
    cf_status st = core_rotation_tenant_clear(&c->creq, c->params[0], &n);
    tenant_reply(c, st, &none, n);
}

/* ------------------------------------------------------------ a pass */

void rest_rot_run(rest_call *c)
{
    static const char *const fields[] = {"at", NULL};
    const char *at_text = NULL, *when;
    int64_t at = 0;
    core_rotation_counts n;
    json_t *body = NULL;
    cf_status st;

    if (!rest_body(c, fields, true, &body))
        return;
    if (body != NULL && !rest_get_string(c, body, "at", false, &at_text))
        goto out;
    if (at_text != NULL && !rest_parse_time(at_text, &at)) {
        bad(c, "field \"at\" must be an RFC 3339 UTC time such as \"2026-11-23T06:14:34Z\"");
        goto out;
    }
    st = core_rotation_run_as(&c->creq, at_text ? &at : NULL, &n);
    if (st == CF_OK && (when = rest_time(c->env->arena, at_text ? at : c->creq.now)) == NULL)
        st = CF_ERR_NOMEM;
    if (st != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    rest_reply_json(c, 200, json_pack("{s:I,s:I,s:I,s:s}", "rotated", (json_int_t)n.rotated,
                                       "skipped", (json_int_t)n.skipped, "failed",
                                       (json_int_t)n.failed, "at", when));
out:
    json_decref(body);
}
