/*
 * kmip_fixture.h - the one fixture of the unit tests that drive the KMIP
 * front end without the network: a temporary directory holding a master key
 * file, a keyring, a SQLite store and the log; a core and a manager identity
 * in the "default" tenant; an arena that owns the decoded responses.
 *
 * Requests are written with the TTLV writer: req_begin opens the message and
 * its header, item_begin/item_end bracket each batch item (the caller writes
 * the request payload in between), send_req closes the message, runs it
 * through kmip_handle and decodes the response into f->resp. For the common
 * one-item request, req_one + send_one do the same in two calls.
 *
 * The accessors assert as they go (cmocka): reason_of insists on Operation
 * Failed, payload_of on Success (printing the server's Result Message when it
 * is not), so a test reads as a list of expectations.
 *
 * Linked into every unit test binary (the Makefile links tests/unit/support); each
 * test includes cmocka itself before this header.
 */
#ifndef CF_TEST_KMIP_FIXTURE_H
#define CF_TEST_KMIP_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "kmip/kmip.h"
#include "store/store.h"
#include "ttlv/ttlv.h"

struct fx {
    char dir[64]; /* /tmp/coffre-<test program>-XXXXXX, removed by fx_close */
    cf_mk_provider *mk;
    cf_keyring *kr;
    store *st;
    core core;
    core_identity who; /* tenant "default", manager; tests may change it */
    cf_arena *arena;   /* owns f->resp and everything the helpers return */
    cf_buf out;        /* the last response, encoded */
    ttlv_item *resp;   /* the last response, decoded */
    int major, minor;  /* a protocol version for tests that keep one (1.4) */
};

/* Build the fixture (log in <dir>/log); NULL on any failure. */
struct fx *fx_open(void);
/* Release everything and remove the directory; -1 if that failed. */
int fx_close(struct fx *f);
/* cmocka setup/teardown around fx_open/fx_close; *state is the fixture. */
int fx_setup(void **state);
int fx_teardown(void **state);
/* A core request as the KMIP front end would make it, at time now. */
core_req fx_core_req(struct fx *f, int64_t now);
/* Run SQL on the fixture's database through a connection of its own
 * (fault injection: triggers, edits); fails the test on error. */
void fx_sql(struct fx *f, const char *stmt);

/* ------------------------------------------------------------ requests */

typedef struct req {
    cf_buf buf;
    ttlv_writer w;
} req;

/* Message and header; continuation is a Batch Error Continuation Option
 * (0: absent). req_begin is req_header without one. */
void req_header(req *r, int major, int minor, int count, uint32_t continuation);
void req_begin(req *r, int major, int minor, int count);
/* Batch Item { Operation, [Unique Batch Item ID], Request Payload { ... */
void item_begin(req *r, uint32_t op);
void item_begin_id(req *r, uint32_t op, const char *batch_id);
/* item_begin, then the Unique Identifier when uid is not NULL. */
void item_begin_uid(req *r, uint32_t op, const char *uid);
void item_end(req *r);
/* A one-item request (Batch Count 1) with its payload open, starting with
 * the Unique Identifier when uid is not NULL. */
void req_one(req *r, int major, int minor, uint32_t op, const char *uid);

/* 1.x Attribute { Name, [Index] ...: the caller writes the value and
 * ttlv_w_end. attr1_at writes the Attribute Index when index >= 0. */
void attr1(req *r, const char *name);
void attr1_at(req *r, const char *name, int32_t index);
/* Whole 1.x Attributes with a value of one type. */
void attr1_text(req *r, const char *name, const char *v);
void attr1_int(req *r, const char *name, int32_t v);
void attr1_enum(req *r, const char *name, uint32_t v);
void attr1_date(req *r, const char *name, int64_t v);
/* Name { Name Value, Uninterpreted Text String }. */
void attr1_name(req *r, const char *v);

/* Close the message, run it, decode the response into f->resp; frees r. */
void send_req(struct fx *f, req *r);
/* Close the one item of req_one and send; returns that batch item. */
const ttlv_item *send_one(struct fx *f, req *r);
/* Run raw bytes through kmip_handle; the response must decode. */
void send_raw(struct fx *f, const uint8_t *msg, size_t len);

/* ------------------------------------------------------- the response */

/* Batch item n (from 0) of the last response; asserts it exists. */
const ttlv_item *nth_item(struct fx *f, unsigned n);
uint32_t status_of(const ttlv_item *item);
/* Asserts Operation Failed; the Result Reason. */
uint32_t reason_of(const ttlv_item *item);
/* Asserts Success; the Response Payload. */
const ttlv_item *payload_of(const ttlv_item *item);
/* 0 when item n succeeded, else its (non-zero) Result Reason. */
uint32_t result_of(struct fx *f, unsigned n);
/* Batch Count, or Protocol Version Major/Minor, of the response header. */
int32_t header_int(struct fx *f, uint32_t tag);
/* A Text String field of p, copied into the arena. */
char *text_of(struct fx *f, const ttlv_item *p, uint32_t tag);

#endif
