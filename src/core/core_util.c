/* core_util.c - clock, identifiers and error messages for the core. */
#include "core/core_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t core_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

cf_status core_new_uid(cf_arena *a, const char **out)
{
    uint8_t u[16];
    struct timespec ts;
    uint64_t ms;
    char *s;
    cf_status st;

    *out = NULL;
    if ((st = crypto_random(u, sizeof u)) != CF_OK)
        return st;
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    for (int i = 0; i < 6; i++)
        u[i] = (uint8_t)(ms >> (40 - 8 * i));
    u[6] = (uint8_t)(0x70 | (u[6] & 0x0F)); /* version 7 (RFC 9562) */
    u[8] = (uint8_t)(0x80 | (u[8] & 0x3F)); /* variant 10 */
    s = cf_arena_sprintf(a,
                         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                         u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
                         u[12], u[13], u[14], u[15]);
    if (s == NULL)
        return CF_ERR_NOMEM;
    *out = s;
    return CF_OK;
}

cf_status core_fail(core_req *req, cf_status st, const char *fmt, ...)
{
    va_list ap;
    char buf[256];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    req->err_msg = cf_arena_strndup(req->arena, buf, strnlen(buf, sizeof buf));
    return st;
}

cf_status core_in_txn(core_req *req, cf_status (*fn)(core_req *, void *), void *ctx)
{
    bool own = !req->batch_txn;
    cf_status st;
    if (own && (st = store_begin(req->st)) != CF_OK)
        return st;
    req->batch_txn = true;
    st = fn(req, ctx);
    req->batch_txn = !own;
    if (own && st == CF_OK)
        st = core_commit(req);
    if (own && st != CF_OK)
        store_rollback(req->st);
    return st;
}
