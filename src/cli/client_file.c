/*
 * client_file.c - `coffre encrypt` and `coffre decrypt`: a file, or a
 * stream, envelope-encrypted on the client, the way an image or a backup
 * is prepared before upload. docs/file-encryption.md gives the format byte
 * by byte.
 *
 * encrypt asks the server to wrap without a plaintext (POST
 * /v1/keys/{id}/wrap): the server generates a 256-bit DEK and answers it
 * with its wrapped form. The DEK encrypts the data here; the wrapped DEK,
 * the AAD and the framing parameters make the file's header; the DEK (a
 * cf_secret) is wiped. decrypt reads the header, asks the server to unwrap
 * (the key id is inside the wrapped DEK, the AAD is in the header in
 * clear: AAD is not secret) and streams the plaintext out.
 *
 * The chunks are STREAM over AES-256-GCM (client_stream.c says why).
 *
 * Output goes to a temporary file next to OUT, published with link(2) (an
 * existing OUT is never replaced) only once every chunk verified: a
 * tampered file never leaves partial output under OUT's name. To stdout
 * ("-o -") a chunk is written once it verified, and truncation is known
 * at the end only: the exit status says so.
 */
#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"

/* ------------------------------------------------------------- options */
#define BODY(n, k, f, a, h) {n, k, CLI_IN_BODY, f, a, h, NULL}
#define LOCAL(n, a, h) {n, a ? CLI_K_LOCAL : CLI_K_FLAG, CLI_IN_NONE, NULL, a, h, NULL}
#define END {NULL, 0, 0, NULL, NULL, NULL, NULL}

static const struct cli_opt o_encrypt[] = {
    LOCAL("key", "ID", "the root key that wraps the file's new DEK"),
    BODY("aad", CLI_K_MULTI, "aad", "S", "AAD: a string (repeatable: a list, order matters)"),
    BODY("aad-map", CLI_K_KV, "aad", "K=V", "AAD: an entry (repeatable: a map)"),
    LOCAL("out", "FILE", "the encrypted file (also -o; created 0600, never overwritten; - stdout)"),
    END,
};
static const struct cli_opt o_decrypt[] = {
    BODY("aad", CLI_K_MULTI, "aad", "S", "unwrap with this AAD list (default: the file's own)"),
    BODY("aad-map", CLI_K_KV, "aad", "K=V", "unwrap with this AAD map (default: the file's own)"),
    LOCAL("out", "FILE", "the plaintext (also -o; created 0600 once all verified; - stdout)"),
    END,
};
const struct cli_opt *const cli_l_encrypt[] = {o_encrypt, NULL};
const struct cli_opt *const cli_l_decrypt[] = {o_decrypt, NULL};

/* --------------------------------------------------------------- output */
/* A temporary file next to OUT until every byte is in, or stdout. */
typedef struct outfile {
    const char *path;   /* NULL: stdout */
    char *tmp;
    int fd;
} outfile;

/* An interrupted run removes its temporary file (async-signal-safe). */
static char sig_tmp[4096];
static volatile sig_atomic_t sig_armed;

static void on_signal(int sig)
{
    if (sig_armed)
        unlink(sig_tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int out_open(const char *path, outfile *o)
{
    size_t n = strlen(path) + sizeof ".tmp-XXXXXX";
    struct stat sb;

    *o = (outfile){.fd = STDOUT_FILENO};
    if (strcmp(path, "-") == 0)
        return CLI_EXIT_OK;
    if (lstat(path, &sb) == 0) {
        cli_err("%s: exists (never overwritten: remove it first)", path);
        return CLI_EXIT_FAIL;
    }
    if (n > sizeof sig_tmp || (o->tmp = malloc(n)) == NULL) {
        cli_err("%s: name too long", path);
        return CLI_EXIT_FAIL;
    }
    snprintf(o->tmp, n, "%s.tmp-XXXXXX", path);
    if ((o->fd = mkstemp(o->tmp)) < 0) { /* O_EXCL, mode 0600 */
        cli_err("%s: %s", o->tmp, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return CLI_EXIT_FAIL;
    }
    memcpy(sig_tmp, o->tmp, n);
    sig_armed = 1;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    o->path = path;
    return CLI_EXIT_OK;
}

static void out_discard(outfile *o)
{
    if (o->tmp == NULL)
        return;
    if (o->fd >= 0)
        close(o->fd);
    unlink(o->tmp);
    sig_armed = 0;
    free(o->tmp);
    *o = (outfile){.fd = -1};
}

/* The temporary file under OUT's name, unless OUT appeared meanwhile. */
static bool publish_name(const char *tmp, const char *path)
{
    struct stat sb;
    int err;

    if (link(tmp, path) == 0)
        return true;
    err = errno;
    if (err == EEXIST || lstat(path, &sb) == 0) {
        errno = EEXIST;
        return false;
    }
    if (err == EPERM || err == EOPNOTSUPP || err == ENOSYS) /* no hard links here */
        return rename(tmp, path) == 0;
    errno = err;
    return false;
}

static int out_publish(outfile *o)
{
    int fd = o->fd;

    if (o->tmp == NULL)
        return CLI_EXIT_OK;
    o->fd = -1;
    if (fsync(fd) != 0 || close(fd) != 0 || !publish_name(o->tmp, o->path)) {
        cli_err("%s: %s", o->path, strerror(errno));
        out_discard(o);
        return CLI_EXIT_FAIL;
    }
    out_discard(o); /* removes the temporary name; the data stays under OUT */
    return CLI_EXIT_OK;
}

static int in_open(const char *path, int *fd)
{
    *fd = STDIN_FILENO;
    if (strcmp(path, "-") == 0)
        return CLI_EXIT_OK;
    if ((*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        cli_err("%s: %s", path, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* --------------------------------------------------------------- server */
/* POST /v1/keys/{key}/{op} with body. */
static int key_call(cli_ctx *x, const char *key, const char *op, const json_t *body, cli_resp *r)
{
    char *e = cli_escape(key), *path = NULL;
    size_t n = e ? strlen(e) + strlen(op) + 16 : 0;
    cf_secret text = {0};
    int rc = CLI_EXIT_FAIL;

    memset(r, 0, sizeof *r);
    if (e == NULL || (path = malloc(n)) == NULL)
        cli_err("out of memory");
    else if (snprintf(path, n, "/v1/keys/%s/%s", e, op) > 0 &&
             (rc = cli_json_secret(body, &text)) == CLI_EXIT_OK)
        rc = cli_request(x, "POST", path, &text, true, r);
    cf_secret_free(&text);
    free(path);
    free(e);
    return rc;
}

/* A base64 member of the answer into a secret; dek: it must be 256 bits. */
static int answer_bytes(const cli_resp *r, const char *member, bool dek, cf_secret *out)
{
    const char *s = json_string_value(json_object_get(r->doc, member));

    if (s == NULL || !cli_unb64_secret(s, strlen(s), out) ||
        (dek ? out->len != CLI_FILE_DEK : out->len == 0 || out->len > CLI_FILE_WRAPPED_MAX)) {
        cf_secret_free(out);
        cli_err("the server's answer holds no %s", dek ? "256-bit DEK" : "wrapped DEK");
        return CLI_EXIT_SERVER;
    }
    return CLI_EXIT_OK;
}

/* The root key's id, from the wrapped DEK's own header (docs/envelope.md). */
static bool wrapped_key_id(const cli_file_hdr *h, char out[129])
{
    const uint8_t *w = h->wrapped;
    size_t l = h->wrapped_len >= 6 ? w[5] : 0;

    if (l == 0 || l > 128 || h->wrapped_len < 6 + l || memcmp(w, "CFW", 3) != 0)
        return false;
    for (size_t i = 0; i < l; i++)
        if (w[6 + i] <= 0x20 || w[6 + i] >= 0x7f)
            return false;
    memcpy(out, w + 6, l);
    out[l] = '\0';
    return true;
}

static void io_error(const char *in, const char *out, cf_status st)
{
    if (st == CF_ERR_IO && out == NULL)
        cli_err("reading %s: %s", in, strerror(errno));
    else if (st == CF_ERR_IO)
        cli_err("reading %s or writing %s: %s", in, out, strerror(errno));
    else
        cli_err("%s: %s", in, cf_status_str(st));
}

/* -------------------------------------------------------------- encrypt */
static int seal_to(outfile *o, const cf_secret *dek, const cf_secret *wrapped, const cf_buf *aad,
                   int in, const struct cli_args *a, const cli_resp *r)
{
    cli_file_hdr h = {.chunk = CLI_FILE_CHUNK, .wrapped = wrapped->p,
                      .wrapped_len = wrapped->len, .aad = aad->p, .aad_len = aad->len};
    const char *to = cli_opt_get(a, "out");
    const char *kid = json_string_value(json_object_get(r->doc, "key_id"));
    uint64_t n = 0;
    cf_status st = crypto_random(h.prefix, sizeof h.prefix);

    if (st == CF_OK)
        st = cli_file_seal(dek, &h, in, o->fd, &n);
    if (st != CF_OK) {
        io_error(a->pos, to, st);
        return CLI_EXIT_FAIL;
    }
    if (out_publish(o) != CLI_EXIT_OK)
        return CLI_EXIT_FAIL;
    fprintf(stderr, "encrypted %llu bytes to %s (key %s, version %lld)\n", (unsigned long long)n,
            strcmp(to, "-") ? to : "stdout", kid ? kid : "?",
            (long long)json_integer_value(json_object_get(r->doc, "key_version")));
    return CLI_EXIT_OK;
}

int cli_run_encrypt(cli_ctx *x, const struct cli_args *a)
{
    const char *key = cli_opt_get(a, "key");
    json_t *body = NULL;
    cf_secret dek = {0}, wrapped = {0};
    cf_buf aad;
    cli_resp r = {0};
    outfile o = {.fd = -1};
    int in = -1, rc = CLI_EXIT_USAGE;

    cf_buf_init(&aad, CLI_FILE_AAD_MAX);
    if (key == NULL || cli_opt_get(a, "out") == NULL) {
        cli_err("encrypt needs --key KEY and -o OUT (- for stdout)");
        goto out;
    }
    if ((rc = cli_build_body(a, &body)) != CLI_EXIT_OK)
        goto out;
    if (cli_file_aad_encode(json_object_get(body, "aad"), &aad) != CF_OK) {
        cli_err("the AAD is too large");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if ((rc = in_open(a->pos, &in)) != CLI_EXIT_OK ||
        (rc = out_open(cli_opt_get(a, "out"), &o)) != CLI_EXIT_OK)
        goto out;
    if ((rc = key_call(x, key, "wrap", body, &r)) == CLI_EXIT_OK &&
        (rc = answer_bytes(&r, "ciphertext", false, &wrapped)) == CLI_EXIT_OK &&
        (rc = answer_bytes(&r, "plaintext", true, &dek)) == CLI_EXIT_OK)
        rc = seal_to(&o, &dek, &wrapped, &aad, in, a, &r);
out:
    out_discard(&o);
    if (in > STDIN_FILENO)
        close(in);
    cf_secret_free(&dek);
    cf_secret_free(&wrapped);
    cf_buf_free(&aad);
    cli_resp_free(&r);
    json_decref(body);
    return rc;
}

/* -------------------------------------------------------------- decrypt */
/* The header, the key id in it, and the unwrap body: the ciphertext, and
 * the header's AAD unless --aad or --aad-map gave one. */
static int read_header(const struct cli_args *a, int in, cf_buf *raw, cli_file_hdr *h,
                       char kid[129], json_t *body)
{
    cf_secret b64 = {0};
    json_t *aad = NULL;
    cf_status st = cli_file_hdr_read(in, raw, h);
    int rc = CLI_EXIT_FAIL;

    if (st == CF_ERR_IO || st == CF_ERR_NOMEM) {
        io_error(a->pos, NULL, st);
        return CLI_EXIT_FAIL;
    }
    if (st != CF_OK || !wrapped_key_id(h, kid) ||
        cli_file_aad_decode(h->aad, h->aad_len, &aad) != CF_OK) {
        cli_err("%s: not a file of coffre encrypt, or its header is damaged", a->pos);
        return CLI_EXIT_FAIL;
    }
    if (cli_b64_secret(h->wrapped, h->wrapped_len, &b64) == CLI_EXIT_OK &&
        json_object_set_new(body, "ciphertext", json_string((const char *)b64.p)) == 0 &&
        (aad == NULL || json_object_get(body, "aad") != NULL ||
         json_object_set(body, "aad", aad) == 0))
        rc = CLI_EXIT_OK;
    json_decref(aad);
    cf_secret_free(&b64);
    return rc;
}

static int unseal_to(outfile *o, const cf_secret *dek, const cli_file_hdr *h, const cf_buf *raw,
                     int in, const struct cli_args *a)
{
    const char *to = cli_opt_get(a, "out");
    uint64_t n = 0, chunk = 0;
    cf_status st = cli_file_unseal(dek, h, raw->p, raw->len, in, o->fd, &n, &chunk);

    if (st == CF_ERR_CRYPTO) {
        cli_err("%s: chunk %llu does not verify: the file was altered, truncated, reordered or "
                "extended%s", a->pos, (unsigned long long)chunk,
                o->tmp ? "; nothing written" : "; the output so far is incomplete");
        return CLI_EXIT_FAIL;
    }
    if (st != CF_OK) {
        io_error(a->pos, to, st);
        return CLI_EXIT_FAIL;
    }
    if (out_publish(o) != CLI_EXIT_OK)
        return CLI_EXIT_FAIL;
    fprintf(stderr, "decrypted %llu bytes to %s\n", (unsigned long long)n,
            strcmp(to, "-") ? to : "stdout");
    return CLI_EXIT_OK;
}

int cli_run_decrypt(cli_ctx *x, const struct cli_args *a)
{
    char kid[129];
    json_t *body = NULL;
    cf_secret dek = {0};
    cf_buf raw;
    cli_file_hdr h;
    cli_resp r = {0};
    outfile o = {.fd = -1};
    int in = -1, rc = CLI_EXIT_USAGE;

    cf_buf_init(&raw, CLI_FILE_HDR_MAX);
    if (cli_opt_get(a, "out") == NULL) {
        cli_err("decrypt needs -o OUT (- for stdout)");
        goto out;
    }
    if ((rc = cli_build_body(a, &body)) != CLI_EXIT_OK || (rc = in_open(a->pos, &in)) != CLI_EXIT_OK ||
        (rc = read_header(a, in, &raw, &h, kid, body)) != CLI_EXIT_OK ||
        (rc = out_open(cli_opt_get(a, "out"), &o)) != CLI_EXIT_OK)
        goto out;
    if ((rc = key_call(x, kid, "unwrap", body, &r)) != CLI_EXIT_OK) {
        if (rc == CLI_EXIT_INVALID)
            cli_err("%s: its DEK does not unwrap with key %s: a damaged header, or another AAD",
                    a->pos, kid);
        goto out;
    }
    if ((rc = answer_bytes(&r, "plaintext", true, &dek)) == CLI_EXIT_OK)
        rc = unseal_to(&o, &dek, &h, &raw, in, a);
out:
    out_discard(&o);
    if (in > STDIN_FILENO)
        close(in);
    cf_secret_free(&dek);
    cf_buf_free(&raw);
    cli_resp_free(&r);
    json_decref(body);
    return rc;
}
