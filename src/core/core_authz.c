/*
 * core_authz.c - the one permission table, and the checks built on it.
 *
 * Every front end (KMIP, REST) asks the same question through the same
 * table: may this identity perform this action (on this object)? A row
 * gives the minimum role and a few rules (flags): the action is about
 * objects (tenant and uid restriction apply), the owner rule of Revoke and
 * Destroy (1.4 sections 4.20-4.21: "only the object owner or an
 * authorized security officer"), what the operator may do, what a
 * restricted identity may never do. docs/tenants.md carries a copy of the
 * table generated from core_authz_rules(); the unit test checks that
 * copy against this one.
 *
 * The checks are pure (no store): the core operations call
 * core_req_authorize where the state of the object is known, so that KMIP
 * and REST refuse the same requests with the same status. A Reader never
 * gets key material: every path to it (Get, key uses) asks for an action
 * whose minimum role is Writer.
 */
#include "core/core_int.h"

#include <string.h>

#define M(bit) KMIP_CRYPTOGRAPHIC_USAGE_MASK_##bit
#define OBJ CORE_AUTHZ_OBJECT
#define PROTECT (CORE_AUTHZ_OBJECT | CORE_AUTHZ_PROTECT)
#define PROCESS (CORE_AUTHZ_OBJECT | CORE_AUTHZ_PROCESS)

static const struct core_authz_rule rules[CORE_ACTION_COUNT] = {
    {CORE_ACT_QUERY, "query", CORE_ROLE_READER, CORE_AUTHZ_OPERATOR,
     "query the server (Discover Versions, Query, RNG)", 0},
    {CORE_ACT_CREATE, "create", CORE_ROLE_WRITER, 0, "create or register objects", 0},
    {CORE_ACT_READ_METADATA, "read-metadata", CORE_ROLE_READER, OBJ,
     "read objects' attributes or search them", 0},
    {CORE_ACT_READ_MATERIAL, "read-material", CORE_ROLE_WRITER, OBJ, "read key material", 0},
    {CORE_ACT_ENCRYPT, "encrypt", CORE_ROLE_WRITER, PROTECT, "encrypt with a key", M(ENCRYPT)},
    {CORE_ACT_DECRYPT, "decrypt", CORE_ROLE_WRITER, PROCESS, "decrypt with a key", M(DECRYPT)},
    {CORE_ACT_WRAP, "wrap", CORE_ROLE_WRITER, PROTECT, "wrap keys with a key", M(WRAP_KEY)},
    {CORE_ACT_UNWRAP, "unwrap", CORE_ROLE_WRITER, PROCESS, "unwrap keys with a key",
     M(UNWRAP_KEY)},
    {CORE_ACT_SIGN, "sign", CORE_ROLE_WRITER, PROTECT, "sign with a key", M(SIGN)},
    {CORE_ACT_VERIFY, "verify", CORE_ROLE_WRITER, PROCESS, "verify signatures with a key",
     M(VERIFY)},
    {CORE_ACT_MAC, "mac", CORE_ROLE_WRITER, PROTECT, "compute MACs with a key", M(MAC_GENERATE)},
    {CORE_ACT_MAC_VERIFY, "mac-verify", CORE_ROLE_WRITER, PROCESS, "verify MACs with a key",
     M(MAC_VERIFY)},
    {CORE_ACT_DERIVE, "derive", CORE_ROLE_WRITER, PROTECT, "derive keys from a key",
     M(DERIVE_KEY)},
    {CORE_ACT_USE_COMPROMISED, "use-compromised", CORE_ROLE_MANAGER, OBJ,
     "process data with a Compromised key", 0},
    {CORE_ACT_MODIFY, "modify", CORE_ROLE_WRITER, OBJ, "modify objects' attributes", 0},
    {CORE_ACT_REKEY, "rekey", CORE_ROLE_WRITER, OBJ, "re-key (rotate) keys", 0},
    {CORE_ACT_LIFECYCLE, "lifecycle", CORE_ROLE_WRITER, OBJ, "activate objects", 0},
    {CORE_ACT_REVOKE, "revoke", CORE_ROLE_WRITER, OBJ | CORE_AUTHZ_OWNER, "revoke objects", 0},
    {CORE_ACT_DESTROY, "destroy", CORE_ROLE_WRITER, OBJ | CORE_AUTHZ_OWNER, "destroy objects",
     0},
    {CORE_ACT_READ_AUDIT, "read-audit", CORE_ROLE_READER, CORE_AUTHZ_OPERATOR,
     "read the audit trail", 0},
    {CORE_ACT_MANAGE_IDENTITIES, "manage-identities", CORE_ROLE_MANAGER,
     CORE_AUTHZ_OPERATOR | CORE_AUTHZ_UNRESTRICTED, "manage identities", 0},
    {CORE_ACT_MANAGE_TENANTS, "manage-tenants", CORE_ROLE_NONE,
     CORE_AUTHZ_OPERATOR_ONLY | CORE_AUTHZ_UNRESTRICTED, "manage tenants", 0},
    /* Reversibility (docs/export.md): a whole tenant's keys, root keys
     * included, leave wrapped for a destination key: a Manager's decision. */
    {CORE_ACT_EXPORT, "export", CORE_ROLE_MANAGER, OBJ,
     "export objects wrapped for another key manager", 0},
    {CORE_ACT_IMPORT, "import", CORE_ROLE_MANAGER, 0,
     "import objects exported by another key manager", 0},
};

const struct core_authz_rule *core_authz_rules(size_t *out_n)
{
    *out_n = CORE_ACTION_COUNT;
    return rules;
}

const struct core_authz_rule *core_authz_rule(core_action action)
{
    if ((unsigned)action >= CORE_ACTION_COUNT)
        return NULL;
    return &rules[action];
}

cf_status core_action_parse(const char *name, size_t len, core_action *out)
{
    for (size_t i = 0; i < CORE_ACTION_COUNT; i++)
        if (strlen(rules[i].name) == len && memcmp(rules[i].name, name, len) == 0) {
            *out = rules[i].action;
            return CF_OK;
        }
    return CF_ERR_INVALID_FIELD;
}

core_action core_action_of_usage(uint32_t usage_bit)
{
    for (size_t i = 0; i < CORE_ACTION_COUNT; i++)
        if (rules[i].usage_bit != 0 && rules[i].usage_bit == usage_bit)
            return rules[i].action;
    return CORE_ACTION_COUNT;
}

cf_status core_authenticated(const core_identity *who)
{
    if (who == NULL || (who->tenant == NULL && !who->is_operator))
        return CF_ERR_AUTH;
    return CF_OK;
}

bool core_identity_sees(const core_identity *who, const char *uid)
{
    const core_restriction *r = who ? who->restriction : NULL;
    if (r == NULL || r->n_uids == 0)
        return true;
    for (size_t i = 0; uid != NULL && i < r->n_uids; i++)
        if (r->uids[i] != NULL && strcmp(r->uids[i], uid) == 0)
            return true;
    return false;
}

/* The restriction's verdict on (action, obj) for a tenant identity. */
static bool restriction_allows(const core_identity *who, const struct core_authz_rule *rule,
                               const core_object *obj)
{
    const core_restriction *r = who->restriction;
    if (r == NULL)
        return true;
    if (rule->flags & CORE_AUTHZ_UNRESTRICTED)
        return r->actions == 0 && r->n_uids == 0;
    if (r->actions != 0 && !(r->actions & CORE_ACTION_BIT(rule->action)))
        return false;
    if (r->n_uids == 0 || !(rule->flags & CORE_AUTHZ_OBJECT))
        return true;
    /* Confined to some objects: a listing would show the others. */
    return obj != NULL && core_identity_sees(who, obj->uid);
}

cf_status core_authorize(const core_identity *who, core_action action, const core_object *obj)
{
    const struct core_authz_rule *rule = core_authz_rule(action);

    if (core_authenticated(who) != CF_OK)
        return CF_ERR_AUTH;
    if (rule == NULL)
        return CF_ERR_INTERNAL;
    if (who->is_operator) /* outside tenants: never an object */
        return (rule->flags & (CORE_AUTHZ_OPERATOR | CORE_AUTHZ_OPERATOR_ONLY)) && obj == NULL &&
                       restriction_allows(who, rule, NULL)
                   ? CF_OK
                   : CF_ERR_PERMISSION;
    if ((rule->flags & CORE_AUTHZ_OPERATOR_ONLY) || who->role < rule->min_role ||
        who->role > CORE_ROLE_MANAGER)
        return CF_ERR_PERMISSION;
    if (obj != NULL && obj->tenant != NULL && strcmp(obj->tenant, who->tenant) != 0)
        return CF_ERR_PERMISSION;
    if ((rule->flags & CORE_AUTHZ_OWNER) && who->role < CORE_ROLE_MANAGER &&
        (obj == NULL || obj->owner == NULL || who->id == NULL || strcmp(obj->owner, who->id) != 0))
        return CF_ERR_PERMISSION;
    if (!restriction_allows(who, rule, obj))
        return CF_ERR_PERMISSION;
    return CF_OK;
}

cf_status core_req_authorize(core_req *req, core_action action, const core_object *obj)
{
    const struct core_authz_rule *rule = core_authz_rule(action);
    cf_status st = core_authorize(req->who, action, obj);

    if (st == CF_OK)
        return CF_OK;
    if (st == CF_ERR_AUTH)
        return core_fail(req, st, "authentication is required");
    if (rule == NULL)
        return st;
    if ((rule->flags & CORE_AUTHZ_OWNER) && req->who->role >= rule->min_role &&
        !req->who->is_operator && core_authorize(req->who, CORE_ACT_READ_METADATA, obj) == CF_OK)
        return core_fail(req, st, "only the owner or a Manager may %s", rule->what);
    return core_fail(req, st, "this identity may not %s", rule->what);
}

cf_status core_req_authorize_any(core_req *req, uint64_t actions, const core_object *obj)
{
    cf_status st = CF_ERR_PERMISSION;
    core_action first = CORE_ACTION_COUNT;

    for (unsigned a = 0; a < CORE_ACTION_COUNT && st != CF_OK; a++) {
        if (!(actions & CORE_ACTION_BIT(a)))
            continue;
        if (first == CORE_ACTION_COUNT)
            first = (core_action)a;
        st = core_authorize(req->who, (core_action)a, obj);
        if (st == CF_ERR_AUTH)
            break;
    }
    if (st == CF_OK || first == CORE_ACTION_COUNT)
        return st == CF_OK ? CF_OK : core_fail(req, CF_ERR_INTERNAL, "no action to authorize");
    return core_req_authorize(req, first, obj);
}
