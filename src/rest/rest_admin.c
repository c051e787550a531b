/*
 * rest_admin.c - /v1/me, /v1/tenants and /v1/tenants/{t}/identities.
 * (stub: being written)
 */
#include "rest/rest_int.h"

static void todo(rest_call *c)
{
    rest_reply_error(c->req, 501, "not_implemented", "not implemented yet");
}

void rest_me(rest_call *c) { todo(c); }
void rest_tenants_create(rest_call *c) { todo(c); }
void rest_tenants_list(rest_call *c) { todo(c); }
void rest_tenants_get(rest_call *c) { todo(c); }
void rest_tenants_update(rest_call *c) { todo(c); }
void rest_tenants_delete(rest_call *c) { todo(c); }
void rest_identities_create(rest_call *c) { todo(c); }
void rest_identities_list(rest_call *c) { todo(c); }
void rest_identities_get(rest_call *c) { todo(c); }
void rest_identities_update(rest_call *c) { todo(c); }
void rest_identities_delete(rest_call *c) { todo(c); }
void rest_identities_retire(rest_call *c) { todo(c); }
