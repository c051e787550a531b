/*
 * audit_main.c - `coffre audit verify`: check an audit trail offline.
 *
 *   coffre audit verify --file EXPORT [--public-key PEM]
 *       an export (GET /v1/audit/export: one JSON object) or a mirror file
 *       (--audit-file: JSON lines, records and {"checkpoint": ...} lines);
 *   coffre audit verify --data DIR [--public-key PEM]
 *       every chain of the store on the server host (read only; the
 *       public key from the store unless given).
 *
 * The checks are src/audit/audit_verify.c's; this file only feeds it in
 * the order it needs (a chain's checkpoints before its records) and
 * prints. Exit status: 0 the trail verifies, 1 it does not (the problems
 * are printed, the first broken record first), 2 usage or unreadable input.
 *
 * Trust: a checkpoint proves something only if its public key is the
 * server's. An export carries the key it was signed with; verify says so
 * and prints its id, to compare with a copy kept apart (--public-key, or
 * GET /v1/audit/public-key at another time).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "store/store.h"

#define PAGE 1000
/* Larger files are read as JSON lines only (a mirror), never loaded whole. */
#define FILE_MAX (256L * 1024L * 1024L)

static void usage(FILE *f)
{
    fprintf(f, "usage: coffre audit verify --file EXPORT [--public-key PEM]\n"
               "       coffre audit verify --data DIR [--public-key PEM]\n"
               "  --file EXPORT      an export (GET /v1/audit/export) or an --audit-file mirror\n"
               "  --data DIR         every chain in the server's store (on the server host)\n"
               "  --public-key PEM   the audit public key (GET /v1/audit/public-key), kept\n"
               "                     apart from the trail; default: the export's or the store's\n"
               "exit status: 0 verified, 1 a problem was found (the first broken record is\n"
               "printed first), 2 usage or unreadable input\n");
}

static char *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < FILE_MAX &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
            *out_len = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

static audit_key *load_pem(const char *text, size_t len, const char *what)
{
    audit_key *k = NULL;
    if (audit_key_from_pem(text, len, &k) != CF_OK)
        fprintf(stderr, "coffre audit: %s is not an Ed25519 public key (PEM)\n", what);
    return k;
}

/* Feed one JSON value (record or checkpoint) as text. */
static void feed(audit_verifier *v, json_t *item, bool checkpoint, const char *where)
{
    char *text = json_is_string(item) ? NULL : json_dumps(item, JSON_COMPACT);
    const char *t = text ? text : json_is_string(item) ? json_string_value(item) : "";
    if (checkpoint)
        audit_verify_checkpoint(v, t, strlen(t), where);
    else
        audit_verify_record(v, t, strlen(t), where);
    cf_json_free(text);
}

/* An export: {"records": [...], "checkpoints": [...], "checkpoint": {...}}. */
static void feed_export(audit_verifier *v, json_t *doc)
{
    json_t *recs = json_object_get(doc, "records"), *cps = json_object_get(doc, "checkpoints");
    json_t *cp = json_object_get(doc, "checkpoint"), *it;
    char where[64];
    size_t i;
    json_array_foreach(cps, i, it) {
        snprintf(where, sizeof where, "checkpoints[%zu]", i);
        feed(v, it, true, where);
    }
    if (cp != NULL)
        feed(v, cp, true, "checkpoint");
    json_array_foreach(recs, i, it) {
        snprintf(where, sizeof where, "records[%zu]", i);
        feed(v, it, false, where);
    }
}

/* A mirror: JSON lines; checkpoints first (pass 1), then records. */
static int feed_lines(audit_verifier *v, const char *path)
{
    char *line = NULL, where[64];
    size_t cap = 0;
    ssize_t n;
    for (int pass = 0; pass < 2; pass++) {
        FILE *f = fopen(path, "rb");
        long no = 0;
        if (f == NULL)
            return -1;
        while ((n = getline(&line, &cap, f)) > 0) {
            json_error_t err;
            json_t *o;
            bool is_cp;
            no++;
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
            if (n == 0)
                continue;
            o = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &err);
            is_cp = json_is_object(o) && json_object_size(o) == 1 &&
                    json_object_get(o, "checkpoint") != NULL;
            snprintf(where, sizeof where, "line %ld", no);
            if (pass == 0 && is_cp)
                feed(v, json_object_get(o, "checkpoint"), true, where);
            else if (pass == 1 && !is_cp)
                audit_verify_record(v, line, (size_t)n, where);
            json_decref(o);
        }
        fclose(f);
    }
    free(line);
    return 0;
}

static int verify_file(const char *path, audit_key *pub, bool *export_out, audit_verifier **out)
{
    audit_verify_opts o = {.pub = pub};
    size_t len = 0;
    char *text = read_file(path, &len);
    json_error_t err;
    json_t *doc = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &err) : NULL;
    audit_key *own = NULL;
    int rc = 0;

    if (text == NULL && access(path, R_OK) != 0) {
        fprintf(stderr, "coffre audit: cannot read %s: %s\n", path, strerror(errno));
        return 2;
    }
    *export_out = json_is_object(doc) && json_is_array(json_object_get(doc, "records"));
    if (*export_out && pub == NULL) {
        const char *pem = json_string_value(json_object_get(doc, "public_key"));
        if (pem && (own = load_pem(pem, strlen(pem), "the export's public_key")) != NULL)
            o.pub = own;
    }
    o.tail_signed = *export_out;
    if (audit_verifier_new(&o, out) != CF_OK) {
        rc = 2;
    } else if (*export_out) {
        feed_export(*out, doc);
    } else if (feed_lines(*out, path) != 0) {
        fprintf(stderr, "coffre audit: cannot read %s: %s\n", path, strerror(errno));
        rc = 2;
    }
    if (rc == 0)
        audit_verify_finish(*out);
    if (own != NULL) {
        char kid[AUDIT_HASH_HEX + 1];
        if (audit_key_id(own, kid) == CF_OK)
            printf("note: checked with the public key in the export (key id %s): compare it "
                   "with the server's (GET /v1/audit/public-key) or give --public-key\n", kid);
    }
    audit_key_free(own);
    json_decref(doc);
    free(text);
    return rc;
}

/* One chain of the store: its checkpoints, its records, its head. */
static cf_status store_chain(store *st, cf_arena *a, audit_verifier *v, const store_audit_head *h)
{
    int64_t after = 0;
    cf_status rc;
    cf_arena_reset(a);
    for (;;) {
        store_audit_checkpoint *cps;
        size_t n;
        if ((rc = store_audit_checkpoints(st, h->chain, after + 1, 0, PAGE, a, &cps, &n)) != CF_OK)
            return rc;
        for (size_t i = 0; i < n; i++)
            audit_verify_checkpoint(v, cps[i].json, cps[i].json_len, "store");
        if (n < PAGE)
            break;
        after = cps[n - 1].seq;
        cf_arena_reset(a);
    }
    for (after = 0;;) {
        store_audit_filter f = {.chain = h->chain, .after_seq = after, .limit = PAGE};
        store_audit_row *rows;
        size_t n;
        char where[64];
        if ((rc = store_audit_query(st, &f, a, &rows, &n)) != CF_OK)
            return rc;
        for (size_t i = 0; i < n; i++) {
            snprintf(where, sizeof where, "row seq %" PRId64, rows[i].seq);
            audit_verify_record(v, rows[i].json, rows[i].json_len, where);
        }
        if (n < PAGE)
            break;
        after = rows[n - 1].seq;
        cf_arena_reset(a);
    }
    audit_verify_head(v, h->chain, h->seq, h->hash);
    return CF_OK;
}

static int verify_store(const char *dir, audit_key *pub, audit_verifier **out)
{
    char path[4096], *after = NULL;
    audit_verify_opts o = {.pub = pub, .from_start = true};
    audit_key *own = NULL;
    cf_arena *a = cf_arena_new(64 * 1024, 0), *ca = cf_arena_new(4096, 0);
    store *st = NULL;
    struct stat sb;
    cf_status rc = CF_ERR_IO;

    snprintf(path, sizeof path, "%s/coffre.db", dir);
    if (a == NULL || ca == NULL || stat(path, &sb) != 0 || store_open(path, &st) != CF_OK) {
        fprintf(stderr, "coffre audit: cannot open the store %s\n", path);
        goto out;
    }
    if (pub == NULL) {
        const uint8_t *pem;
        size_t len;
        if (store_meta_get(st, "audit.sign.pub", a, &pem, &len) == CF_OK &&
            (own = load_pem((const char *)pem, len, "the store's audit.sign.pub")) != NULL)
            o.pub = own;
    }
    if ((rc = audit_verifier_new(&o, out)) != CF_OK)
        goto out;
    for (;;) {
        store_audit_head *heads;
        size_t n;
        cf_arena_reset(ca);
        if ((rc = store_audit_chains(st, after, PAGE, ca, &heads, &n)) != CF_OK)
            goto out;
        for (size_t i = 0; i < n && rc == CF_OK; i++)
            rc = store_chain(st, a, *out, &heads[i]);
        if (rc != CF_OK || n < PAGE)
            break;
        free(after);
        after = strdup(heads[n - 1].chain);
    }
    if (rc == CF_OK)
        audit_verify_finish(*out);
out:
    if (rc != CF_OK && st != NULL)
        fprintf(stderr, "coffre audit: reading the store failed: %s\n", cf_status_str(rc));
    free(after);
    audit_key_free(own);
    store_close(st);
    cf_arena_free(a);
    cf_arena_free(ca);
    return rc == CF_OK ? 0 : 2;
}

/* The summary and the problems; 0 when there are none. */
static int report(const audit_verifier *v)
{
    const audit_chain_summary *sums;
    const char *const *msgs;
    size_t nc = audit_verify_chains(v, &sums), np = audit_verify_problems(v, &msgs);
    int64_t total = 0;

    for (size_t i = 0; i < nc; i++) {
        printf("chain %s: %" PRId64 " records (seq %" PRId64 " to %" PRId64 "), %" PRId64
               " checkpoints verified, the last signs seq %" PRId64 "\n",
               sums[i].chain, sums[i].records, sums[i].first_seq, sums[i].last_seq,
               sums[i].checkpoints, sums[i].signed_seq);
        total += sums[i].records;
    }
    if (np == 0) {
        printf("OK: %zu chain%s, %" PRId64 " records verified\n", nc, nc == 1 ? "" : "s", total);
        return 0;
    }
    printf("FAILED: %s\n", msgs[0]);
    for (size_t i = 1; i < np; i++)
        printf("  also: %s\n", msgs[i]);
    return 1;
}

static int verify_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"file", required_argument, NULL, 'f'},
        {"data", required_argument, NULL, 'd'},
        {"public-key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL, *data = NULL, *keyfile = NULL;
    audit_verifier *v = NULL;
    audit_key *pub = NULL;
    bool is_export = false;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': file = optarg; break;
        case 'd': data = optarg; break;
        case 'k': keyfile = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || (file == NULL) == (data == NULL)) {
        usage(stderr);
        return 2;
    }
    if (keyfile != NULL) {
        size_t len;
        char *pem = read_file(keyfile, &len);
        pub = pem ? load_pem(pem, len, keyfile) : NULL;
        free(pem);
        if (pub == NULL) {
            fprintf(stderr, "coffre audit: cannot use the public key %s\n", keyfile);
            return 2;
        }
    }
    rc = file ? verify_file(file, pub, &is_export, &v) : verify_store(data, pub, &v);
    if (rc == 0)
        rc = report(v);
    audit_verifier_free(v);
    audit_key_free(pub);
    return rc;
}

int cli_audit_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return verify_main(argc - 1, argv + 1);
    usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
    return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
