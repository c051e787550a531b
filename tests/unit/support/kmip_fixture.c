/*
 * kmip_fixture.c - the KMIP unit-test fixture (see kmip_fixture.h). One
 * copy for kmip_test, locate_test, cryptoops_test, lifecycle_test,
 * attr_edit_test, objects_test and pairs_test: what they differed in (the
 * version a request is sent at, the Batch Count, a continuation option, a
 * batch item id or a uid at the head of the payload) is a parameter here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "kmip_fixture.h"
#include "util/log.h"

/* ------------------------------------------------------------- fixture */

static int fx_init(struct fx *f)
{
    char path[128], tmpl[sizeof f->dir];
    cf_buf wrapped;
    int n = snprintf(tmpl, sizeof tmpl, "/tmp/coffre-%s-XXXXXX", program_invocation_short_name);
    cf_buf_init(&f->out, 0);
    if (n < 0 || (size_t)n >= sizeof tmpl || mkdtemp(tmpl) == NULL)
        return -1;
    memcpy(f->dir, tmpl, sizeof f->dir); /* set once it exists: fx_close removes it */
    snprintf(path, sizeof path, "%s/log", f->dir);
    cf_log_open(path);
    snprintf(path, sizeof path, "%s/master.key", f->dir);
    if (crypto_mk_file_open(path, true, &f->mk) != CF_OK)
        return -1;
    cf_buf_init(&wrapped, 0);
    if (crypto_keyring_create(f->mk, 1, &wrapped, &f->kr) != CF_OK)
        return -1;
    cf_buf_free(&wrapped);
    snprintf(path, sizeof path, "sqlite:%s/db", f->dir);
    if (store_open(path, &f->st) != CF_OK)
        return -1;
    f->core.keyring = f->kr;
    f->core.vendor = "Coffre";
    f->who.tenant = "default";
    f->who.id = "cert:CN=test";
    f->who.role = CORE_ROLE_MANAGER;
    f->arena = cf_arena_new(4096, 0);
    f->major = 1;
    f->minor = 4;
    return f->arena != NULL ? 0 : -1;
}

struct fx *fx_open(void)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    if (fx_init(f) != 0) {
        fx_close(f);
        return NULL;
    }
    return f;
}

int fx_close(struct fx *f)
{
    char cmd[128];
    int rc = 0;
    if (f == NULL)
        return 0;
    store_close(f->st);
    crypto_keyring_free(f->kr);
    crypto_mk_free(f->mk);
    cf_arena_free(f->arena);
    cf_buf_free(&f->out);
    if (f->dir[0] != 0) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
        rc = system(cmd) == 0 ? 0 : -1;
    }
    free(f);
    return rc;
}

int fx_setup(void **state)
{
    *state = fx_open();
    return *state != NULL ? 0 : -1;
}

int fx_teardown(void **state)
{
    return fx_close(*state);
}

core_req fx_core_req(struct fx *f, int64_t now)
{
    core_req rq = {.core = &f->core, .st = f->st, .arena = f->arena, .who = &f->who, .now = now};
    return rq;
}

void fx_sql(struct fx *f, const char *stmt)
{
    char path[128];
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, stmt, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", stmt, sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* ------------------------------------------------------------ requests */

void req_header(req *r, int major, int minor, int count, uint32_t continuation)
{
    cf_buf_init(&r->buf, 0);
    ttlv_w_init(&r->w, &r->buf);
    ttlv_w_begin(&r->w, KMIP_TAG_REQUEST_MESSAGE);
    ttlv_w_begin(&r->w, KMIP_TAG_REQUEST_HEADER);
    ttlv_w_begin(&r->w, KMIP_TAG_PROTOCOL_VERSION);
    ttlv_w_int(&r->w, KMIP_TAG_PROTOCOL_VERSION_MAJOR, major);
    ttlv_w_int(&r->w, KMIP_TAG_PROTOCOL_VERSION_MINOR, minor);
    ttlv_w_end(&r->w);
    if (continuation)
        ttlv_w_enum(&r->w, KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION, continuation);
    ttlv_w_int(&r->w, KMIP_TAG_BATCH_COUNT, count);
    ttlv_w_end(&r->w);
}

void req_begin(req *r, int major, int minor, int count)
{
    req_header(r, major, minor, count, 0);
}

void item_begin_id(req *r, uint32_t op, const char *batch_id)
{
    ttlv_w_begin(&r->w, KMIP_TAG_BATCH_ITEM);
    ttlv_w_enum(&r->w, KMIP_TAG_OPERATION, op);
    if (batch_id)
        ttlv_w_bytes(&r->w, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, (const uint8_t *)batch_id,
                     strlen(batch_id));
    ttlv_w_begin(&r->w, KMIP_TAG_REQUEST_PAYLOAD);
}

void item_begin(req *r, uint32_t op)
{
    item_begin_id(r, op, NULL);
}

void item_begin_uid(req *r, uint32_t op, const char *uid)
{
    item_begin_id(r, op, NULL);
    if (uid)
        ttlv_w_cstr(&r->w, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
}

void item_end(req *r)
{
    ttlv_w_end(&r->w); /* payload */
    ttlv_w_end(&r->w); /* batch item */
}

void req_one(req *r, int major, int minor, uint32_t op, const char *uid)
{
    req_begin(r, major, minor, 1);
    item_begin_uid(r, op, uid);
}

void attr1_at(req *r, const char *name, int32_t index)
{
    ttlv_w_begin(&r->w, KMIP_TAG_ATTRIBUTE);
    ttlv_w_cstr(&r->w, KMIP_TAG_ATTRIBUTE_NAME, name);
    if (index >= 0)
        ttlv_w_int(&r->w, KMIP_TAG_ATTRIBUTE_INDEX, index);
}

void attr1(req *r, const char *name)
{
    attr1_at(r, name, -1);
}

void attr1_text(req *r, const char *name, const char *v)
{
    attr1(r, name);
    ttlv_w_cstr(&r->w, KMIP_TAG_ATTRIBUTE_VALUE, v);
    ttlv_w_end(&r->w);
}

void attr1_int(req *r, const char *name, int32_t v)
{
    attr1(r, name);
    ttlv_w_int(&r->w, KMIP_TAG_ATTRIBUTE_VALUE, v);
    ttlv_w_end(&r->w);
}

void attr1_enum(req *r, const char *name, uint32_t v)
{
    attr1(r, name);
    ttlv_w_enum(&r->w, KMIP_TAG_ATTRIBUTE_VALUE, v);
    ttlv_w_end(&r->w);
}

void attr1_date(req *r, const char *name, int64_t v)
{
    attr1(r, name);
    ttlv_w_datetime(&r->w, KMIP_TAG_ATTRIBUTE_VALUE, v);
    ttlv_w_end(&r->w);
}

void attr1_name(req *r, const char *v)
{
    attr1(r, "Name");
    ttlv_w_begin(&r->w, KMIP_TAG_ATTRIBUTE_VALUE);
    ttlv_w_cstr(&r->w, KMIP_TAG_NAME_VALUE, v);
    ttlv_w_enum(&r->w, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
    ttlv_w_end(&r->w);
    ttlv_w_end(&r->w);
}

void send_raw(struct fx *f, const uint8_t *msg, size_t len)
{
    kmip_env env = {.core = &f->core, .st = f->st, .arena = f->arena, .who = &f->who};
    ttlv_error err;
    cf_buf_reset(&f->out);
    kmip_handle(&env, msg, len, &f->out);
    assert_true(f->out.len > 0);
    assert_int_equal(ttlv_decode(f->out.p, f->out.len, &ttlv_default_limits, f->arena, &f->resp,
                                 &err),
                     CF_OK);
    assert_int_equal(f->resp->tag, KMIP_TAG_RESPONSE_MESSAGE);
}

void send_req(struct fx *f, req *r)
{
    ttlv_w_end(&r->w); /* message */
    assert_int_equal(ttlv_w_finish(&r->w), CF_OK);
    send_raw(f, r->buf.p, r->buf.len);
    cf_buf_free(&r->buf);
}

const ttlv_item *send_one(struct fx *f, req *r)
{
    item_end(r);
    send_req(f, r);
    return nth_item(f, 0);
}

/* -------------------------------------------------------- the response */

const ttlv_item *nth_item(struct fx *f, unsigned n)
{
    const ttlv_item *it = ttlv_child(f->resp, KMIP_TAG_BATCH_ITEM);
    while (it && n--)
        it = ttlv_next_same(it);
    assert_non_null(it);
    return it;
}

uint32_t status_of(const ttlv_item *item)
{
    uint32_t s = 99;
    assert_int_equal(ttlv_get_enum(item, KMIP_TAG_RESULT_STATUS, &s), CF_OK);
    return s;
}

uint32_t reason_of(const ttlv_item *item)
{
    uint32_t r = 0;
    assert_int_equal(status_of(item), KMIP_RESULT_STATUS_OPERATION_FAILED);
    assert_int_equal(ttlv_get_enum(item, KMIP_TAG_RESULT_REASON, &r), CF_OK);
    return r;
}

const ttlv_item *payload_of(const ttlv_item *item)
{
    const ttlv_item *p = NULL;
    uint32_t s = status_of(item);
    const char *msg = "";
    size_t ml = 0;
    if (s != KMIP_RESULT_STATUS_SUCCESS &&
        ttlv_get_text(item, KMIP_TAG_RESULT_MESSAGE, &msg, &ml) == CF_OK)
        print_error("unexpected failure: %.*s\n", (int)ml, msg);
    assert_int_equal(s, KMIP_RESULT_STATUS_SUCCESS);
    assert_int_equal(ttlv_get_struct(item, KMIP_TAG_RESPONSE_PAYLOAD, &p), CF_OK);
    return p;
}

uint32_t result_of(struct fx *f, unsigned n)
{
    const ttlv_item *item = nth_item(f, n);
    uint32_t reason;
    if (status_of(item) == KMIP_RESULT_STATUS_SUCCESS)
        return 0;
    reason = reason_of(item);
    assert_true(reason != 0);
    return reason;
}

int32_t header_int(struct fx *f, uint32_t tag)
{
    const ttlv_item *h = NULL, *pv = NULL;
    int32_t v = -1;
    assert_int_equal(ttlv_get_struct(f->resp, KMIP_TAG_RESPONSE_HEADER, &h), CF_OK);
    if (tag == KMIP_TAG_BATCH_COUNT) {
        assert_int_equal(ttlv_get_int(h, tag, &v), CF_OK);
        return v;
    }
    assert_int_equal(ttlv_get_struct(h, KMIP_TAG_PROTOCOL_VERSION, &pv), CF_OK);
    assert_int_equal(ttlv_get_int(pv, tag, &v), CF_OK);
    return v;
}

char *text_of(struct fx *f, const ttlv_item *p, uint32_t tag)
{
    const char *s;
    size_t len;
    assert_int_equal(ttlv_get_text(p, tag, &s, &len), CF_OK);
    return cf_arena_strndup(f->arena, s, len);
}
