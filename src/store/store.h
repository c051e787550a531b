/*
 * store.h - persistence of managed objects behind one interface.
 *
 * A `store` is one connection to a back end (SQLite now, PostgreSQL next),
 * used by one thread at a time: every worker opens its own. The back end is
 * a struct of function pointers (store_int.h) chosen by the URI given to
 * store_open, so the core never sees SQL.
 *
 * Rows are always addressed by (tenant, uid): there is no call that reads
 * across tenants. The store treats attributes and key material as opaque
 * blobs (the core encodes attributes as TTLV and seals material under the
 * keyring); it indexes the few columns needed to find objects quickly.
 *
 * Durability: store_commit returns only once the transaction is durable
 * (SQLite: WAL with synchronous=FULL), so a client is never answered before
 * its object is on disk.
 *
 * Concurrency: updates carry the revision they were read at; a concurrent
 * change makes store_object_update return CF_ERR_CONFLICT and the caller
 * retries the whole operation.
 */
#ifndef CF_STORE_H
#define CF_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/mem.h"
#include "util/status.h"

typedef struct store store;

typedef struct store_object {
    const char *tenant;
    const char *uid;
    uint32_t object_type;     /* KMIP Object Type */
    uint32_t state;           /* KMIP State */
    const char *owner;        /* identity that owns the object */
    uint32_t algorithm;       /* KMIP Cryptographic Algorithm, 0 if none */
    int32_t length;           /* Cryptographic Length, 0 if none */
    int64_t created;          /* seconds since the epoch */
    int64_t updated;
    int64_t revision;         /* starts at 1, +1 on every update */
    const uint8_t *attrs;     /* opaque (TTLV) */
    size_t attrs_len;
    uint32_t key_format;      /* KMIP Key Format Type of the sealed material, 0 if none */
    const uint8_t *material;  /* sealed, opaque; NULL when the object has none */
    size_t material_len;
    const char *const *names; /* Name values, indexed for lookups */
    size_t n_names;
} store_object;

/* uri: "sqlite:PATH" or a plain path (SQLite). Creates the schema if needed. */
cf_status store_open(const char *uri, store **out);
void store_close(store *s);
const char *store_backend(const store *s);

cf_status store_begin(store *s);   /* a write transaction */
cf_status store_commit(store *s);  /* durable on return */
void store_rollback(store *s);

cf_status store_object_insert(store *s, const store_object *o);
/* Update the row if its revision is still o->revision - 1; CF_ERR_CONFLICT otherwise. */
cf_status store_object_update(store *s, const store_object *o);
/* Strings and blobs of *out live in the arena. CF_ERR_NOT_FOUND if absent. */
cf_status store_object_get(store *s, const char *tenant, const char *uid, cf_arena *a,
                           store_object *out);
cf_status store_object_delete(store *s, const char *tenant, const char *uid);
/* Number of objects in a tenant (for tests, metrics). */
cf_status store_object_count(store *s, const char *tenant, int64_t *out);

/* Small cluster-wide metadata (wrapped KEKs, schema version, ...). */
cf_status store_meta_get(store *s, const char *key, cf_arena *a, const uint8_t **out,
                         size_t *out_len);
/* Insert if absent; CF_ERR_EXISTS if another writer got there first. */
cf_status store_meta_insert(store *s, const char *key, const uint8_t *val, size_t len);

#endif
