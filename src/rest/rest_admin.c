/*
 * rest_admin.c - /v1/me and /v1/tenants (the identities routes are in
 * rest_identities.c), plus the JSON pieces both files share: role names,
 * restrictions, paging.
 *
 * Every route is one core call (core_tenant_*, core_identity_self): core
 * answers who may do what (the operator manages tenants, a tenant
 * identity sees its own tenant only, anything else is 403 or 404 from
 * core), this file only maps JSON to arguments and records back to JSON.
 * Nothing here carries a secret.
 */
#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "rest/rest_int.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
#define OFFSET_MAX 1000000

/* --------------------------------------------------------------- shared */
static const char *const role_names[] = {
    [CORE_ROLE_NONE] = NULL,
    [CORE_ROLE_READER] = "reader",
    [CORE_ROLE_WRITER] = "writer",
    [CORE_ROLE_MANAGER] = "manager",
};

const char *rest_role_name(core_role role)
{
    if ((unsigned)role >= sizeof role_names / sizeof role_names[0] || role_names[role] == NULL)
        return "reader"; /* not reachable: core stores Reader..Manager only */
    return role_names[role];
}

bool rest_role_parse(const char *s, core_role *out)
{
    for (unsigned r = CORE_ROLE_READER; r <= CORE_ROLE_MANAGER; r++)
        if (strcmp(s, role_names[r]) == 0) {
            *out = (core_role)r;
            return true;
        }
    return false;
}

json_t *rest_restriction_json(const core_restriction *r)
{
    size_t n;
    const struct core_authz_rule *rules = core_authz_rules(&n);
    json_t *o = json_object(), *a;
    int rc = 0;

    if (o == NULL)
        return NULL;
    if (r->actions != 0) {
        rc |= json_object_set_new(o, "actions", a = json_array());
        for (size_t i = 0; i < n && a; i++)
            if (r->actions & CORE_ACTION_BIT(rules[i].action))
                rc |= json_array_append_new(a, json_string(rules[i].name));
    }
    if (r->n_uids != 0) {
        rc |= json_object_set_new(o, "keys", a = json_array());
        for (size_t i = 0; i < r->n_uids && a; i++)
            rc |= json_array_append_new(a, json_string(r->uids[i]));
    }
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

bool rest_paging(rest_call *c, int64_t *out_limit, int64_t *out_offset)
{
    static const char *const names[] = {"limit", "offset", NULL};
    const char *q[2];

    *out_limit = PAGE_DEFAULT;
    *out_offset = 0;
    return rest_query(c, names, q) &&
           rest_parse_count(c, q[0], "limit", 1, PAGE_MAX, out_limit) &&
           rest_parse_count(c, q[1], "offset", 0, OFFSET_MAX, out_offset);
}

json_t *rest_page(const char *name, json_t *items, int64_t total, int64_t limit, int64_t offset)
{
    if (items == NULL)
        return NULL;
    return json_pack("{s:o,s:I,s:I,s:I}", name, items, "total", (json_int_t)total, "limit",
                     (json_int_t)limit, "offset", (json_int_t)offset);
}

void rest_set_location(rest_call *c, const char *path)
{
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "Location", path);
}

/* ------------------------------------------------------------------- me */
void rest_me(rest_call *c)
{
    core_identity_rec *r;
    json_t *o;
    const char *expires = NULL;
    int rc = 0;
    cf_status st = core_identity_self(&c->creq, &r);

    if (st == CF_OK && r->expires != 0 &&
        (expires = rest_time(c->env->arena, r->expires)) == NULL)
        st = CF_ERR_NOMEM;
    if (st != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    o = json_pack("{s:s,s:s,s:s}", "id", r->ident.id, "kind",
                  r->ident.kind == CORE_IDENTITY_API_KEY ? "api_key" : "certificate", "role",
                  r->ident.is_operator ? "operator" : rest_role_name(r->ident.role));
    if (o != NULL && r->ident.name != NULL)
        rc |= json_object_set_new(o, "name", json_string(r->ident.name));
    if (o != NULL && r->ident.tenant != NULL)
        rc |= json_object_set_new(o, "tenant", json_string(r->ident.tenant));
    if (o != NULL && expires != NULL)
        rc |= json_object_set_new(o, "expires", json_string(expires));
    if (o != NULL && r->ident.restriction != NULL)
        rc |= json_object_set_new(o, "restriction", rest_restriction_json(&r->restriction));
    if (rc != 0) {
        json_decref(o);
        o = NULL;
    }
    rest_reply_json(c, 200, o);
}

/* -------------------------------------------------------------- tenants */
static json_t *tenant_json(rest_call *c, const core_tenant *t)
{
    const char *created = rest_time(c->env->arena, t->created);
    if (created == NULL)
        return NULL;
    return json_pack("{s:s,s:s,s:s,s:s}", "id", t->id, "name", t->name, "state",
                     t->state == CORE_TENANT_SUSPENDED ? "suspended" : "active", "created",
                     created);
}

static void reply_tenant(rest_call *c, int status, const char *id)
{
    core_tenant *t;
    cf_status st = core_tenant_get(&c->creq, id, &t);
    if (st != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    rest_reply_json(c, status, tenant_json(c, t));
}

void rest_tenants_create(rest_call *c)
{
    static const char *const fields[] = {"id", "name", NULL};
    const char *id = NULL, *name = NULL;
    json_t *body = NULL;
    core_tenant *t;
    cf_status st;
    char loc[CORE_TENANT_ID_MAX + 16];

    if (!rest_body(c, fields, false, &body))
        return;
    if (!rest_get_string(c, body, "id", true, &id) ||
        !rest_get_string(c, body, "name", false, &name))
        goto out;
    if ((st = core_tenant_create(&c->creq, id, name, &t)) != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    snprintf(loc, sizeof loc, "/v1/tenants/%s", t->id);
    rest_set_location(c, loc);
    rest_reply_json(c, 201, tenant_json(c, t));
out:
    json_decref(body);
}

void rest_tenants_list(rest_call *c)
{
    core_tenant *ts;
    size_t n;
    int64_t limit, offset, total;
    json_t *arr;
    cf_status st;

    if (!rest_paging(c, &limit, &offset))
        return;
    if ((st = core_tenant_list(&c->creq, offset, limit, &ts, &n, &total)) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n && arr; i++)
        if (json_array_append_new(arr, tenant_json(c, &ts[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    rest_reply_json(c, 200, rest_page("tenants", arr, total, limit, offset));
}

void rest_tenants_get(rest_call *c)
{
    reply_tenant(c, 200, c->params[0]);
}

void rest_tenants_update(rest_call *c)
{
    static const char *const fields[] = {"name", "state", NULL};
    const char *name = NULL, *state = NULL;
    uint32_t sv = 0;
    json_t *body = NULL;
    cf_status st;

    if (!rest_body(c, fields, false, &body))
        return;
    if (!rest_get_string(c, body, "name", false, &name) ||
        !rest_get_string(c, body, "state", false, &state))
        goto out;
    if (name == NULL && state == NULL) {
        rest_reply_error(c->req, 400, "missing_data", "give \"name\" and/or \"state\"");
        goto out;
    }
    if (state != NULL) {
        if (strcmp(state, "active") == 0) {
            sv = CORE_TENANT_ACTIVE;
        } else if (strcmp(state, "suspended") == 0) {
            sv = CORE_TENANT_SUSPENDED;
        } else {
            rest_reply_error(c->req, 400, "invalid_field",
                             "field \"state\" must be \"active\" or \"suspended\"");
            goto out;
        }
    }
    if ((st = core_tenant_update(&c->creq, c->params[0], name, sv)) != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    reply_tenant(c, 200, c->params[0]);
out:
    json_decref(body);
}

void rest_tenants_delete(rest_call *c)
{
    core_tenant *t;
    json_t *doc;
    cf_status st;

    /* core_tenant_delete's own permission check first (a tenant identity
     * is refused with 403 like the other operator-only routes, not told
     * "no such tenant" by the read below). */
    if ((st = core_req_authorize(&c->creq, CORE_ACT_MANAGE_TENANTS, NULL)) != CF_OK ||
        (st = core_tenant_get(&c->creq, c->params[0], &t)) != CF_OK) {
        rest_reply_status(c, st);
        return;
    }
    /* Rendered before the row goes: the answer is the tenant as it was. */
    if ((doc = tenant_json(c, t)) == NULL) {
        rest_reply_status(c, CF_ERR_NOMEM);
        return;
    }
    if ((st = core_tenant_delete(&c->creq, t->id)) != CF_OK) {
        json_decref(doc);
        rest_reply_status(c, st);
        return;
    }
    rest_reply_json(c, 200, doc);
}
