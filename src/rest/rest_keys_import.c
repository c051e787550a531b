/*
 * rest_keys_import.c - POST /v1/keys/import (BYOK in the clear: raw, PEM, DER).
 * (stub: being written)
 */
#include "rest/rest_int.h"

void rest_keys_import(rest_call *c)
{
    rest_reply_error(c->req, 501, "not_implemented", "not implemented yet");
}
