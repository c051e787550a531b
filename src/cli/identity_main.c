/*
 * identity_main.c - `coffre identity ...`: manage certificate identities
 * directly on a data directory, as the operator, before the REST API and
 * its CLI exist (and for break-glass use on the server host afterwards).
 *
 *   coffre identity add-cert --data DIR --cert FILE [--tenant T] [--role R]
 *                            [--name N] [--ca-rule [--subject S]]
 *   coffre identity add-key  --data DIR [--tenant T] [--role R] --name N
 *   coffre identity list     --data DIR [--tenant T]
 *   coffre identity retire   --data DIR --id ID [--tenant T] [--destroy-keys]
 *   coffre tenant create     --data DIR --id ID [--name NAME]
 *   coffre tenant list       --data DIR
 *   coffre tenant set-rate   --data DIR --id ID --rate N|none
 *
 * add-cert pins the certificate's SHA-256 (the vCenter self-signed
 * certificate, or a certificate issued from a CSR), or with --ca-rule
 * admits every certificate that CA issues (optionally only one subject).
 * The store is SQLite in WAL mode: this works while the server runs; the
 * server looks identities up on every message, so the change applies at
 * once.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "crypto/crypto_cert.h"
#include "store/store.h"
#include "util/log.h"

struct id_opts {
    const char *data, *cert, *tenant, *role, *name, *subject, *id, *rate;
    bool ca_rule, destroy;
};

static void id_usage(FILE *f)
{
    fprintf(f, "usage:\n"
               "  coffre identity add-cert --data DIR --cert FILE [--tenant T] [--role reader|writer|manager]\n"
               "                           [--name NAME] [--ca-rule [--subject RFC2253-SUBJECT]]\n"
               "  coffre identity add-key  --data DIR --name NAME [--tenant T] [--role R]\n"
               "                           (prints the API key once)\n"
               "  coffre identity list     --data DIR [--tenant T]\n"
               "  coffre identity retire   --data DIR --id ID [--tenant T] [--destroy-keys]\n");
}

static int id_parse(int argc, char **argv, struct id_opts *o)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, 'd'},   {"cert", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'}, {"role", required_argument, NULL, 'r'},
        {"name", required_argument, NULL, 'n'},   {"subject", required_argument, NULL, 's'},
        {"id", required_argument, NULL, 'i'},     {"ca-rule", no_argument, NULL, 'C'},
        {"destroy-keys", no_argument, NULL, 'D'}, {"help", no_argument, NULL, 'h'},
        {"rate", required_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    int c;
    o->tenant = "default";
    o->role = "manager";
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'c': o->cert = optarg; break;
        case 't': o->tenant = optarg; break;
        case 'r': o->role = optarg; break;
        case 'n': o->name = optarg; break;
        case 's': o->subject = optarg; break;
        case 'i': o->id = optarg; break;
        case 'C': o->ca_rule = true; break;
        case 'D': o->destroy = true; break;
        case 'R': o->rate = optarg; break;
        case 'h': id_usage(stdout); exit(0);
        default: return -1;
        }
    }
    return o->data ? 0 : -1;
}

static core_role parse_role(const char *s)
{
    if (strcmp(s, "reader") == 0)
        return CORE_ROLE_READER;
    if (strcmp(s, "writer") == 0)
        return CORE_ROLE_WRITER;
    if (strcmp(s, "manager") == 0)
        return CORE_ROLE_MANAGER;
    return CORE_ROLE_NONE;
}

static void hex32(const uint8_t *p, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int cmd_add_cert(core_req *req, const struct id_opts *o)
{
    core_identity_spec spec = {0};
    core_identity_rec *rec = NULL;
    crypto_cert_id cid;
    char fp[65];
    cf_status st;

    if (o->cert == NULL) {
        fprintf(stderr, "coffre identity add-cert: --cert FILE is required\n");
        return 2;
    }
    if ((st = crypto_cert_identify_file(o->cert, req->arena, &cid)) != CF_OK) {
        fprintf(stderr, "coffre identity add-cert: %s: not a certificate (%s)\n", o->cert,
                cf_status_str(st));
        return 1;
    }
    spec.tenant = o->tenant;
    spec.kind = CORE_IDENTITY_CERTIFICATE;
    spec.name = o->name ? o->name : cid.subject;
    spec.role = parse_role(o->role);
    if (o->ca_rule) {
        spec.ca_sha256 = cid.sha256;
        spec.subject = o->subject;
    } else {
        spec.cert_sha256 = cid.sha256;
    }
    st = core_identity_create(req, &spec, &rec, NULL);
    if (st != CF_OK) {
        fprintf(stderr, "coffre identity add-cert: %s%s%s\n", cf_status_str(st),
                req->err_msg ? ": " : "", req->err_msg ? req->err_msg : "");
        return 1;
    }
    hex32(cid.sha256, fp);
    printf("%s\t%s\t%s\t%s %s\n", rec->ident.id, o->tenant, o->role,
           o->ca_rule ? "ca-rule" : "pinned", fp);
    return 0;
}

static int cmd_add_key(core_req *req, const struct id_opts *o)
{
    core_identity_spec spec = {0};
    core_identity_rec *rec = NULL;
    cf_secret token = {0};
    cf_status st;

    if (o->name == NULL) {
        fprintf(stderr, "coffre identity add-key: --name NAME is required\n");
        return 2;
    }
    spec.tenant = o->tenant;
    spec.kind = CORE_IDENTITY_API_KEY;
    spec.name = o->name;
    spec.role = parse_role(o->role);
    st = core_identity_create(req, &spec, &rec, &token);
    if (st != CF_OK) {
        fprintf(stderr, "coffre identity add-key: %s%s%s\n", cf_status_str(st),
                req->err_msg ? ": " : "", req->err_msg ? req->err_msg : "");
        return 1;
    }
    /* The token goes to stdout only, once; the identity id to stderr. */
    fprintf(stderr, "identity %s (%s, %s)\n", rec->ident.id, o->tenant, o->role);
    fwrite(token.p, 1, token.len, stdout);
    fputc('\n', stdout);
    cf_secret_free(&token);
    return 0;
}

static int cmd_list(core_req *req, const struct id_opts *o)
{
    core_identity_rec *recs = NULL;
    size_t n = 0;
    int64_t total = 0;
    char fp[65];
    cf_status st = core_identity_list(req, o->tenant, 0, 1000, &recs, &n, &total);
    if (st != CF_OK) {
        fprintf(stderr, "coffre identity list: %s\n", cf_status_str(st));
        return 1;
    }
    printf("ID\tKIND\tROLE\tSTATE\tMATCH\tNAME\n");
    for (size_t i = 0; i < n; i++) {
        const core_identity_rec *r = &recs[i];
        fp[0] = '-', fp[1] = 0;
        if (r->has_cert)
            hex32(r->cert_sha256, fp);
        else if (r->has_ca)
            hex32(r->ca_sha256, fp);
        printf("%s\t%s\t%d\t%s\t%s%s\t%s\n", r->ident.id,
               r->ident.kind == CORE_IDENTITY_API_KEY ? "api-key" : "certificate",
               (int)r->ident.role, r->disabled ? "disabled" : "active",
               r->has_ca ? "ca:" : "", fp, r->ident.name ? r->ident.name : "");
    }
    return 0;
}

static int cmd_retire(core_req *req, const struct id_opts *o)
{
    core_retire_result res = {0};
    cf_status st;
    if (o->id == NULL) {
        fprintf(stderr, "coffre identity retire: --id ID is required\n");
        return 2;
    }
    st = core_identity_retire(req, o->tenant, o->id,
                              o->destroy ? CORE_RETIRE_REVOKE_AND_DESTROY
                                         : CORE_RETIRE_REFUSE_AND_LIST, &res);
    for (size_t i = 0; i < res.n; i++)
        printf("%s\n", res.uids[i]);
    if (st != CF_OK) {
        fprintf(stderr, "coffre identity retire: %s%s%s\n", cf_status_str(st),
                req->err_msg ? ": " : "", req->err_msg ? req->err_msg : "");
        if (st == CF_ERR_STATE)
            fprintf(stderr, "(%lld live objects; --destroy-keys revokes and destroys them)\n",
                    (long long)res.total);
        return 1;
    }
    return 0;
}

/* `coffre tenant create|list`: tenants, as the operator. */
static int cmd_tenant(core_req *req, const char *sub, const struct id_opts *o)
{
    core_tenant *t = NULL;
    size_t n = 0;
    int64_t total = 0;
    cf_status st;

    if (strcmp(sub, "create") == 0) {
        if (o->id == NULL) {
            fprintf(stderr, "coffre tenant create: --id ID is required\n");
            return 2;
        }
        st = core_tenant_create(req, o->id, o->name ? o->name : o->id, &t);
        if (st == CF_OK)
            printf("%s\t%s\n", t->id, t->name);
    } else if (strcmp(sub, "list") == 0) {
        st = core_tenant_list(req, 0, -1, &t, &n, &total);
        for (size_t i = 0; st == CF_OK && i < n; i++)
            printf("%s\t%s\n", t[i].id, t[i].name);
    } else if (strcmp(sub, "set-rate") == 0 && o->id && o->rate) {
        /* The tenant's own requests-per-second limit (core_rate.c): running
         * servers apply it within CF_LIMIT_RATE_SETTING_TTL seconds. */
        char *end = NULL;
        long long v = strcmp(o->rate, "none") == 0 ? -1 : strtoll(o->rate, &end, 10);
        if (end && (*end || end == o->rate || *o->rate == '-')) {
            fprintf(stderr, "coffre tenant set-rate: --rate takes a number of requests per "
                            "second (0: unlimited) or none\n");
            return 2;
        }
        st = core_rate_tenant_set(req, o->id, v);
        if (st == CF_OK)
            printf("%s\t%s\n", o->id, v < 0 ? "none" : o->rate);
    } else {
        fprintf(stderr, "usage: coffre tenant create   --data DIR --id ID [--name NAME]\n"
                        "       coffre tenant list     --data DIR\n"
                        "       coffre tenant set-rate --data DIR --id ID --rate N|none\n");
        return 2;
    }
    if (st != CF_OK) {
        fprintf(stderr, "coffre tenant %s: %s%s%s\n", sub, cf_status_str(st),
                req->err_msg ? ": " : "", req->err_msg ? req->err_msg : "");
        return 1;
    }
    return 0;
}

static int admin_main(int argc, char **argv, bool tenants);

int cli_tenant_main(int argc, char **argv)
{
    return admin_main(argc, argv, true);
}

int cli_identity_main(int argc, char **argv)
{
    return admin_main(argc, argv, false);
}

static int admin_main(int argc, char **argv, bool tenants)
{
    struct id_opts o = {0};
    const char *sub = argc > 1 ? argv[1] : "";
    char uri[PATH_MAX + 16];
    core_identity op = {.is_operator = true, .id = "operator:cli", .name = "coffre identity"};
    core c = {.vendor = "Coffre"};
    core_req req = {.core = &c, .who = &op, .now = core_now()};
    store *st = NULL;
    int rc = 2;

    if (id_parse(argc - 1, argv + 1, &o) != 0) {
        id_usage(stderr);
        return 2;
    }
    snprintf(uri, sizeof uri, "sqlite:%s/coffre.db", o.data);
    if (store_open(uri, &st) != CF_OK) {
        fprintf(stderr, "coffre identity: cannot open the store in %s\n", o.data);
        return 1;
    }
    req.st = st;
    req.arena = cf_arena_new(1 << 16, 0);
    if (req.arena == NULL)
        rc = 1;
    else if (tenants)
        rc = cmd_tenant(&req, sub, &o);
    else if (strcmp(sub, "add-cert") == 0)
        rc = cmd_add_cert(&req, &o);
    else if (strcmp(sub, "add-key") == 0)
        rc = cmd_add_key(&req, &o);
    else if (strcmp(sub, "list") == 0)
        rc = cmd_list(&req, &o);
    else if (strcmp(sub, "retire") == 0)
        rc = cmd_retire(&req, &o);
    else
        id_usage(stderr);
    cf_arena_free(req.arena);
    store_close(st);
    return rc;
}
