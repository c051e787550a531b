/* store.c - dispatch from the public store API to the chosen back end. */
#include "store/store_int.h"

#include <string.h>

cf_status store_open(const char *uri, store **out)
{
    *out = NULL;
    if (uri == NULL)
        return CF_ERR_INVALID_FIELD;
    if (strncmp(uri, "sqlite:", 7) == 0)
        return store_sqlite_open(uri + 7, out);
    if (strstr(uri, "://") != NULL)
        return CF_ERR_UNSUPPORTED; /* postgresql:// comes with the PostgreSQL back end */
    return store_sqlite_open(uri, out);
}

void store_close(store *s)
{
    if (s)
        s->ops->close(s);
}

const char *store_backend(const store *s) { return s->ops->name; }
cf_status store_begin(store *s) { return s->ops->begin(s); }
cf_status store_commit(store *s) { return s->ops->commit(s); }
void store_rollback(store *s) { s->ops->rollback(s); }

cf_status store_object_insert(store *s, const store_object *o)
{
    return s->ops->object_insert(s, o);
}

cf_status store_object_update(store *s, const store_object *o)
{
    return s->ops->object_update(s, o);
}

cf_status store_object_get(store *s, const char *tenant, const char *uid, cf_arena *a,
                           store_object *out)
{
    return s->ops->object_get(s, tenant, uid, a, out);
}

cf_status store_object_delete(store *s, const char *tenant, const char *uid)
{
    return s->ops->object_delete(s, tenant, uid);
}

cf_status store_object_count(store *s, const char *tenant, int64_t *out)
{
    return s->ops->object_count(s, tenant, out);
}

cf_status store_object_find(store *s, const store_query *q, cf_arena *a,
                            const char ***out_uids, size_t *out_n, int64_t *out_total)
{
    *out_uids = NULL;
    *out_n = 0;
    *out_total = 0;
    if (q == NULL || q->tenant == NULL || q->offset < 0 || (q->n_crit && q->crit == NULL))
        return CF_ERR_INVALID_FIELD;
    return s->ops->object_find(s, q, a, out_uids, out_n, out_total);
}

cf_status store_meta_get(store *s, const char *key, cf_arena *a, const uint8_t **out,
                         size_t *out_len)
{
    return s->ops->meta_get(s, key, a, out, out_len);
}

cf_status store_meta_insert(store *s, const char *key, const uint8_t *val, size_t len)
{
    return s->ops->meta_insert(s, key, val, len);
}
