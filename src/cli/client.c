/*
 * client.c - the REST client's transport: HTTPS requests through libcurl,
 * the server's JSON errors turned into messages and exit codes, and the
 * memory and files that hold secrets.
 *
 * Why a wiping allocator: the API key is copied by curl (the header list),
 * key material and new tokens are parsed by jansson; neither library wipes
 * what it frees. Routing both through cf_wipe_* (util/mem.h: a size header, then
 * OPENSSL_cleanse on free) means no copy survives its use, without
 * auditing every copy either library makes. The client is one request or
 * a few: the cost does not matter.
 *
 * TLS: the peer is verified (chain and host name) against --cacert or the
 * system's CAs, TLS 1.2 or later, https only, no redirects, a timeout for
 * the whole request and a cap on the answer's size. There is no way to turn
 * verification off.
 */
#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/version.h"

bool cli_mem_init(void)
{
    json_set_alloc_funcs(cf_wipe_malloc, cf_wipe_free);
    return curl_global_init_mem(CURL_GLOBAL_DEFAULT, cf_wipe_malloc, cf_wipe_free, cf_wipe_realloc,
                                cf_wipe_strdup, cf_wipe_calloc) == CURLE_OK;
}

void cli_mem_done(void)
{
    curl_global_cleanup();
}

/* ----------------------------------------------------------- messages */
void cli_err(const char *fmt, ...)
{
    va_list ap;
    fputs("coffre: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_exit_for_http(long status)
{
    if (status >= 200 && status < 300)
        return CLI_EXIT_OK;
    switch (status) {
    case 401: return CLI_EXIT_AUTH;
    case 403: return CLI_EXIT_PERM;
    case 404:
    case 410: return CLI_EXIT_NOTFOUND;
    case 409: return CLI_EXIT_CONFLICT;
    default: break;
    }
    if (status >= 400 && status < 500)
        return CLI_EXIT_INVALID;
    if (status >= 500)
        return CLI_EXIT_SERVER;
    return CLI_EXIT_FAIL;
}

/* "details" of an error (a retirement refused: the keys): one line each. */
static void print_details(json_t *details)
{
    const char *k;
    json_t *v;
    json_object_foreach(details, k, v) {
        char *text = cli_value_text(v);
        if (text)
            fprintf(stderr, "  %s: %s\n", k, text);
        free(text);
    }
}

/* The server's {"error":{"code","message","details"?}} on stderr. */
static void print_server_error(const cli_resp *r)
{
    json_t *e = json_object_get(r->doc, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    json_t *details = json_object_get(e, "details");
    char *c = code ? cli_value_text(json_object_get(e, "code")) : NULL;
    char *m = msg ? cli_value_text(json_object_get(e, "message")) : NULL;

    if (c && m)
        cli_err("%s: %s", c, m);
    else
        cli_err("the server answered HTTP %ld", r->status);
    if (json_is_object(details))
        print_details(details);
    free(c);
    free(m);
}

/* ------------------------------------------------------------ requests */
static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    cf_buf *b = arg;
    if (!cf_buf_append(b, p, size * n))
        return 0; /* more than CLI_MAX_ANSWER: curl stops with a write error */
    return size * n;
}

int cli_ctx_open_curl(cli_ctx *x)
{
    x->curl = curl_easy_init();
    if (x->curl == NULL) {
        cli_err("cannot initialise libcurl");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

void cli_ctx_close(cli_ctx *x)
{
    if (x->curl)
        curl_easy_cleanup(x->curl);
    x->curl = NULL;
    free(x->addr);
    free(x->cacert);
    x->addr = x->cacert = NULL;
    cf_secret_free(&x->token);
}

void cli_resp_free(cli_resp *r)
{
    cf_buf_free(&r->body);
    json_decref(r->doc);
    r->doc = NULL;
}

/* "Authorization: Bearer <token>" built in a secret, copied by curl (into
 * wiping memory); NULL-safe on failure. */
static struct curl_slist *add_auth(struct curl_slist *h, const cf_secret *token)
{
    static const char pre[] = "Authorization: Bearer ";
    struct curl_slist *r = NULL;
    cf_secret line = {0};

    if (cf_secret_alloc(&line, sizeof pre + token->len) != CF_OK)
        return NULL;
    memcpy(line.p, pre, sizeof pre - 1);
    memcpy(line.p + sizeof pre - 1, token->p, token->len);
    line.p[sizeof pre - 1 + token->len] = '\0';
    r = curl_slist_append(h, (const char *)line.p);
    cf_secret_free(&line);
    return r;
}

static struct curl_slist *headers(const cli_ctx *x, const cf_secret *body, bool auth)
{
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json"), *t;
    if (h && body) {
        if ((t = curl_slist_append(h, "Content-Type: application/json")) == NULL ||
            (t = curl_slist_append(t, "Expect:")) == NULL)
            goto fail;
    }
    if (h && auth) {
        if ((t = add_auth(h, &x->token)) == NULL)
            goto fail;
    }
    return h;
fail:
    curl_slist_free_all(h);
    return NULL;
}

static void set_options(cli_ctx *x, const char *url, const char *method, const cf_secret *body,
                        struct curl_slist *h, cli_resp *out)
{
    CURL *c = x->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (x->cacert)
        curl_easy_setopt(c, CURLOPT_CAINFO, x->cacert);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, x->timeout);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CLI_MAX_ANSWER);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "coffre/" CF_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) {
        /* Not COPYPOSTFIELDS: curl reads the secret in place. */
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body->p);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    }
    if (strcmp(method, "GET") != 0 && !(body && strcmp(method, "POST") == 0))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
}

/* The transport failed: say why, with curl's own words. */
static int transport_error(const cli_ctx *x, CURLcode cc, const cli_resp *out)
{
    if (out->body.failed)
        cli_err("%s: the answer is larger than %u bytes", x->addr, CLI_MAX_ANSWER);
    else
        cli_err("%s: %s", x->addr, x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
    return CLI_EXIT_SERVER;
}

int cli_request(cli_ctx *x, const char *method, const char *path, const cf_secret *body,
                bool auth, cli_resp *out)
{
    struct curl_slist *h = NULL;
    size_t ulen = strlen(x->addr) + strlen(path) + 1;
    char *url = malloc(ulen);
    CURLcode cc;
    int rc = CLI_EXIT_FAIL;

    memset(out, 0, sizeof *out);
    cf_buf_init(&out->body, CLI_MAX_ANSWER);
    x->errbuf[0] = '\0';
    if (url == NULL || (h = headers(x, body, auth)) == NULL) {
        cli_err("out of memory");
        goto out;
    }
    snprintf(url, ulen, "%s%s", x->addr, path);
    set_options(x, url, method, body, h, out);
    if ((cc = curl_easy_perform(x->curl)) != CURLE_OK) {
        rc = transport_error(x, cc, out);
        goto out;
    }
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &out->status);
    if (out->body.len > 0)
        out->doc = json_loadb((const char *)out->body.p, out->body.len, 0, NULL);
    rc = cli_exit_for_http(out->status);
    if (rc != CLI_EXIT_OK)
        print_server_error(out);
    else if (out->doc == NULL && out->body.len > 0) {
        cli_err("%s: the answer is not JSON", x->addr);
        rc = CLI_EXIT_SERVER;
    }
out:
    /* The header list held the API key: curl's copies are in wiping memory. */
    curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    free(url);
    return rc;
}

char *cli_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *r = e ? strdup(e) : NULL;
    curl_free(e);
    return r;
}

/* ---------------------------------------------------------------- files */
int cli_read_file(const char *path, size_t max, cf_secret *out, unsigned *out_mode)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    ssize_t n;
    size_t got = 0;
    int rc = CLI_EXIT_FAIL;

    if (fd < 0 || fstat(fd, &sb) != 0) {
        cli_err("%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size > max) {
        cli_err("%s: not a regular file of at most %zu bytes", path, max);
        goto out;
    }
    if (cf_secret_alloc(out, (size_t)sb.st_size + 1) != CF_OK) {
        cli_err("out of memory");
        goto out;
    }
    while (got < (size_t)sb.st_size && (n = read(fd, out->p + got, (size_t)sb.st_size - got)) > 0)
        got += (size_t)n;
    if (got != (size_t)sb.st_size) {
        cli_err("%s: short read", path);
        cf_secret_free(out);
        goto out;
    }
    out->p[got] = '\0'; /* text files can be used as C strings */
    out->len = got;
    if (out_mode)
        *out_mode = (unsigned)sb.st_mode;
    rc = CLI_EXIT_OK;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

int cli_write_secret_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    const uint8_t *b = p;
    size_t done = 0;
    ssize_t w;
    bool ok;
    int err;

    if (fd < 0) {
        cli_err("%s: %s%s", path, strerror(errno),
                errno == EEXIST ? " (never overwritten: remove it first)" : "");
        return CLI_EXIT_FAIL;
    }
    while (done < n && (w = write(fd, b + done, n - done)) > 0)
        done += (size_t)w;
    ok = done == n && fsync(fd) == 0;
    err = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        cli_err("%s: cannot write: %s", path, strerror(err));
        unlink(path);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

int cli_json_secret(const json_t *v, cf_secret *out)
{
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT);
    if (n == 0 || cf_secret_alloc(out, n) != CF_OK) {
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    if (json_dumpb(v, (char *)out->p, n, JSON_COMPACT) != n) {
        cf_secret_free(out);
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}
