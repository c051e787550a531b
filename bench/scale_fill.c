/*
 * scale_fill.c - the bulk path of the scale bench: adds AES-256 keys to a
 * stopped Coffre's data directory, many per transaction, through core.
 *
 * Usage: scale_fill --data DIR --from I --to J [--batch B] [--tenant T]
 *                   [--uids-out FILE] [--names-out FILE]
 *
 * Keys I..J-1 are named "scale-%08d" (unique names, as the server requires)
 * and made by core_create_symmetric_key, the function KMIP Create and
 * POST /v1/keys call: real random key material sealed under the store's
 * keyring, the server's attributes and attribute index rows, the name
 * uniqueness check. The difference with N Creates is the transaction: B
 * keys (default 10,000) share one store transaction and one fsync
 * (core_req.batch_txn, the mechanism of KMIP batches with Undo), instead of
 * a network round trip, an fsync and an audit record each. The keys are
 * therefore not in the audit trail: the trail records operations, and this
 * tool performs none on the server's behalf (it needs the data directory
 * to itself: run it on a stopped server).
 *
 * The data directory must have been started once by `coffre server` (its
 * master key, keyring, tenant and certificates exist). The Unique
 * Identifiers and names of the new keys are appended to --uids-out and
 * --names-out, one per line (kmip_bench --uid-file / --name-file).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_stats.h"
#include "core/core.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "ttlv/ttlv.h"
#include "util/log.h"

#define SF_KEK "kek.1" /* server_main.c's meta key of the store KEK */

struct sf_opts {
    const char *data, *tenant, *uids_out, *names_out;
    long from, to, batch;
};

static void die(const char *what, cf_status st)
{
    fprintf(stderr, "scale_fill: %s: %s\n", what, cf_status_str(st));
    exit(1);
}

static void add(cf_arena *a, ttlv_item *list, const char *name, ttlv_item *v)
{
    ttlv_append(list, core_attr_new(a, name, 0, v));
}

/* Client attributes of key i: AES-256, Encrypt|Decrypt, its Name. */
static ttlv_item *sf_attrs(cf_arena *a, const char *name)
{
    const uint32_t tag = KMIP_TAG_ATTRIBUTE_VALUE;
    ttlv_item *l = ttlv_new_struct(a, KMIP_TAG_ATTRIBUTES), *n = ttlv_new_struct(a, tag);
    ttlv_append(n, ttlv_new_text(a, KMIP_TAG_NAME_VALUE, name, strlen(name)));
    ttlv_append(n, ttlv_new_enum(a, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING));
    add(a, l, "Cryptographic Algorithm", ttlv_new_enum(a, tag, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES));
    add(a, l, "Cryptographic Length", ttlv_new_int(a, tag, 256));
    add(a, l, "Cryptographic Usage Mask", ttlv_new_int(a, tag, 12));
    add(a, l, "Name", n);
    return l;
}

static void sf_keyring(const char *data, store *st, cf_mk_provider **mk, cf_keyring **kr)
{
    char path[PATH_MAX];
    cf_arena *a = cf_arena_new(4096, 0);
    const uint8_t *blob;
    size_t len;
    cf_status rc;

    snprintf(path, sizeof path, "%s/master.key", data);
    if ((rc = crypto_mk_file_open(path, false, mk)) != CF_OK)
        die("master key (start the server once on this directory first)", rc);
    if ((rc = store_meta_get(st, SF_KEK, a, &blob, &len)) != CF_OK)
        die("store KEK", rc);
    if ((rc = crypto_keyring_load(*mk, 1, blob, len, kr)) != CF_OK)
        die("keyring", rc);
    cf_arena_free(a);
}

static bool sf_parse(int argc, char **argv, struct sf_opts *o)
{
    *o = (struct sf_opts){.tenant = "default", .from = 0, .to = -1, .batch = 10000};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--data") == 0) o->data = v;
        else if (strcmp(k, "--tenant") == 0) o->tenant = v;
        else if (strcmp(k, "--uids-out") == 0) o->uids_out = v;
        else if (strcmp(k, "--names-out") == 0) o->names_out = v;
        else if (strcmp(k, "--from") == 0) o->from = atol(v);
        else if (strcmp(k, "--to") == 0) o->to = atol(v);
        else if (strcmp(k, "--batch") == 0) o->batch = atol(v);
        else return false;
    }
    return argc % 2 == 1 && o->data && o->from >= 0 && o->to >= o->from && o->batch > 0;
}

/* Keys [from, to) in transactions of o->batch. */
static void sf_fill(const struct sf_opts *o, store *st, const core *c, FILE *fu, FILE *fn)
{
    core_identity who = {.tenant = o->tenant, .id = "0190a1b2-c3d4-7000-8000-00000000f111",
                         .role = CORE_ROLE_MANAGER, .name = "scale_fill"};
    cf_arena *a = cf_arena_new(1 << 16, 0);
    char name[32];
    cf_status rc;

    if (a == NULL)
        die("arena", CF_ERR_NOMEM);
    for (long i = o->from; i < o->to;) {
        long end = i + o->batch < o->to ? i + o->batch : o->to;
        if ((rc = store_begin(st)) != CF_OK)
            die("begin", rc);
        for (; i < end; i++) {
            core_req req = {.core = c, .st = st, .arena = a, .who = &who, .now = core_now(),
                            .batch_txn = true};
            core_object *obj;
            snprintf(name, sizeof name, "scale-%08ld", i);
            if ((rc = core_create_symmetric_key(&req, sf_attrs(a, name), &obj)) != CF_OK)
                die(req.err_msg ? req.err_msg : "create", rc);
            if ((fu && fprintf(fu, "%s\n", obj->uid) < 0) || (fn && fprintf(fn, "%s\n", name) < 0))
                die("writing the lists", CF_ERR_IO);
            cf_arena_reset(a);
        }
        if ((rc = store_commit(st)) != CF_OK)
            die("commit", rc);
    }
    cf_arena_free(a);
}

int main(int argc, char **argv)
{
    struct sf_opts o;
    char uri[PATH_MAX + 16];
    cf_mk_provider *mk = NULL;
    cf_keyring *kr = NULL;
    FILE *fu = NULL, *fn = NULL;
    store *st;
    cf_status rc;
    double t0;

    if (!sf_parse(argc, argv, &o)) {
        fprintf(stderr, "usage: scale_fill --data DIR --from I --to J [--batch B] [--tenant T]\n"
                        "                  [--uids-out FILE] [--names-out FILE]\n");
        return 2;
    }
    cf_log_set_level(CF_LOG_WARN);
    snprintf(uri, sizeof uri, "sqlite:%s/coffre.db", o.data);
    if ((rc = store_open(uri, &st)) != CF_OK)
        die("store_open", rc);
    sf_keyring(o.data, st, &mk, &kr);
    if ((o.uids_out && (fu = fopen(o.uids_out, "a")) == NULL) ||
        (o.names_out && (fn = fopen(o.names_out, "a")) == NULL))
        die("cannot open the output lists", CF_ERR_IO);
    core c = {.keyring = kr, .vendor = "Coffre"};
    t0 = ts_now();
    sf_fill(&o, st, &c, fu, fn);
    printf("scale_fill: %ld keys in %.1f s (%.0f keys/s)\n", o.to - o.from, ts_now() - t0,
           (double)(o.to - o.from) / (ts_now() - t0 + 1e-9));
    if ((fu && fclose(fu) != 0) || (fn && fclose(fn) != 0))
        die("closing the lists", CF_ERR_IO);
    crypto_keyring_free(kr);
    crypto_mk_free(mk);
    store_close(st);
    return 0;
}
