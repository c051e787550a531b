/*
 * fuzz_kmip.c - libFuzzer target for the whole KMIP request path without
 * the network: decode -> header validation -> batch items -> operation
 * dispatch -> core -> an in-memory SQLite store -> response encoding.
 *
 * Property: kmip_handle never crashes, never leaks, and always produces a
 * response that itself decodes as a Response Message (an answer to every
 * input, even garbage). The store is shared across inputs, so sequences of
 * creates and reads are explored too.
 *
 * The response goes to a buffer of at most CF_LIMIT_RESPONSE, as the
 * network layer gives kmip_handle (net_kmip.c): a larger answer becomes a
 * Response Too Large message there, not a larger message. It is decoded
 * with the limits of a response, not of a request: a batch of Locates
 * (10,000 identifiers each) passes the 1 MiB and CF_LIMIT_TTLV_ITEMS of
 * ttlv_default_limits once the shared store holds enough objects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "kmip/kmip.h"
#include "store/store.h"
#include "ttlv/ttlv.h"
#include "util/limits.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every item is at least 8 bytes: a response has at most 1/8 of its bytes
 * as items (524,288 of ~56 bytes: the check arena holds them). */
static const ttlv_limits response_limits = {
    .max_bytes = CF_LIMIT_RESPONSE,
    .max_depth = CF_LIMIT_TTLV_DEPTH,
    .max_items = CF_LIMIT_RESPONSE / 8,
    .max_string = CF_LIMIT_STRING,
};

struct fuzz_env {
    cf_mk_provider *mk;
    cf_keyring *kr;
    store *st;
    core core;
    core_identity who;
    cf_arena *arena;
    cf_arena *check;
};

static struct fuzz_env *env_get(void)
{
    static struct fuzz_env e;
    static int ready;
    char dir[] = "/tmp/coffre-fuzz-XXXXXX", path[64];
    cf_buf wrapped;

    if (ready)
        return &e;
    cf_log_set_level(CF_LOG_ERROR + 1);
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof path, "%s/master.key", dir);
    cf_buf_init(&wrapped, 0);
    if (crypto_mk_file_open(path, true, &e.mk) != CF_OK ||
        crypto_keyring_create(e.mk, 1, &wrapped, &e.kr) != CF_OK ||
        store_open("sqlite::memory:", &e.st) != CF_OK)
        abort();
    cf_buf_free(&wrapped);
    unlink(path);
    rmdir(dir);
    e.core.keyring = e.kr;
    e.core.vendor = "Coffre";
    e.who.tenant = "default";
    e.who.id = "cert:CN=fuzz";
    e.who.role = CORE_ROLE_MANAGER;
    e.arena = cf_arena_new(1 << 16, 1u << 24);
    e.check = cf_arena_new(1 << 16, 1u << 26);
    if (e.arena == NULL || e.check == NULL)
        abort();
    ready = 1;
    return &e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_env *e = env_get();
    kmip_env env = {.core = &e->core, .st = e->st, .arena = e->arena, .who = &e->who};
    ttlv_item *resp = NULL;
    ttlv_error err;
    cf_buf out;

    cf_buf_init(&out, CF_LIMIT_RESPONSE);
    kmip_handle(&env, data, size, &out);
    if (out.len == 0)
        abort(); /* every input gets an answer */
    if (ttlv_decode(out.p, out.len, &response_limits, e->check, &resp, &err) != CF_OK ||
        resp->tag != KMIP_TAG_RESPONSE_MESSAGE)
        abort();
    cf_buf_free(&out);
    cf_arena_reset(e->arena);
    cf_arena_reset(e->check);
    return 0;
}
