/*
 * client_conf.c - where the client finds the server and its API key.
 *
 * Each setting comes from the first source that has it: the flags
 * (--addr, --cacert, --token / --token-file), the environment
 * (COFFRE_ADDR, COFFRE_CACERT, COFFRE_TOKEN), the config file
 * ($COFFRE_CONFIG, else $XDG_CONFIG_HOME/coffre/config, else
 * ~/.config/coffre/config): `key = value` lines (addr, cacert, token,
 * token_file), `#` comments. A missing default config file is fine; a
 * named one ($COFFRE_CONFIG) must exist.
 *
 * Like ssh with private keys, a file that holds an API key (a token file,
 * or a config file with `token =`) is refused when its group or others
 * have any access: the message says which file and how to fix it. The
 * check is on the opened descriptor (fstat), so a swapped path cannot
 * slip through between check and read.
 */
#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct conf_file {
    char path[PATH_MAX];
    char *addr, *cacert, *token_file;
    cf_secret token;
    unsigned mode;
};

/* A token goes into an HTTP header: printable ASCII, no spaces. */
static bool token_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || n > 1024)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return false;
    return true;
}

static int set_token(cf_secret *dst, const uint8_t *p, size_t n, const char *from)
{
    if (!token_ok(p, n)) {
        cli_err("the API key from %s is empty or holds spaces or control characters", from);
        return CLI_EXIT_AUTH;
    }
    if (cf_secret_dup(dst, p, n) != CF_OK) {
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

static int too_open(const char *path, unsigned mode)
{
    cli_err("%s: permissions %04o are too open: it holds an API key, so group and others must "
            "have no access (chmod 600 %s)", path, (unsigned)(mode & 07777), path);
    return CLI_EXIT_FAIL;
}

/* A token file: its first line, trailing white space removed. */
static int read_token_file(const char *path, cf_secret *out)
{
    cf_secret raw = {0};
    unsigned mode = 0;
    size_t n;
    int rc;

    if ((rc = cli_read_file(path, 4096, &raw, &mode)) != CLI_EXIT_OK)
        return rc;
    if (mode & 077) {
        rc = too_open(path, mode);
    } else {
        n = strcspn((const char *)raw.p, "\r\n");
        while (n > 0 && (raw.p[n - 1] == ' ' || raw.p[n - 1] == '\t'))
            n--;
        rc = set_token(out, raw.p, n, path);
    }
    cf_secret_free(&raw);
    return rc;
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

static int conf_set(struct conf_file *cf, unsigned line, const char *key, const char *val)
{
    char **slot = strcmp(key, "addr") == 0         ? &cf->addr
                  : strcmp(key, "cacert") == 0     ? &cf->cacert
                  : strcmp(key, "token_file") == 0 ? &cf->token_file
                                                   : NULL;
    if (strcmp(key, "token") == 0) {
        if (cf->token.p != NULL)
            goto twice;
        return set_token(&cf->token, (const uint8_t *)val, strlen(val), cf->path);
    }
    if (slot == NULL) {
        cli_err("%s:%u: unknown setting \"%s\" (addr, cacert, token, token_file)", cf->path,
                line, key);
        return CLI_EXIT_FAIL;
    }
    if (*slot != NULL)
        goto twice;
    if ((*slot = strdup(val)) == NULL) {
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
twice:
    cli_err("%s:%u: \"%s\" is set twice", cf->path, line, key);
    return CLI_EXIT_FAIL;
}

/* Parse the text in place (it is a secret buffer: wiped by the caller). */
static int conf_parse(struct conf_file *cf, char *text)
{
    unsigned line = 0;
    char *p = text, *nl, *eq, *first;
    bool last = false;
    int rc;

    for (; !last; p = nl + 1) {
        line++;
        if ((nl = strchr(p, '\n')) == NULL)
            nl = p + strlen(p);
        last = *nl == '\0';
        first = p + strspn(p, " \t\r");
        if (first >= nl || *first == '#')
            continue;
        eq = memchr(p, '=', (size_t)(nl - p));
        if (eq == NULL || *trim(p, eq) == '\0') {
            cli_err("%s:%u: expected \"key = value\"", cf->path, line);
            return CLI_EXIT_FAIL;
        }
        if ((rc = conf_set(cf, line, trim(p, eq), trim(eq + 1, nl))) != CLI_EXIT_OK)
            return rc;
    }
    if (cf->token.p && cf->token_file) {
        cli_err("%s: set token or token_file, not both", cf->path);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

static bool conf_path(struct conf_file *cf, bool *named)
{
    const char *env = getenv("COFFRE_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n;

    *named = env && *env;
    if (*named)
        n = snprintf(cf->path, sizeof cf->path, "%s", env);
    else if (xdg && *xdg == '/')
        n = snprintf(cf->path, sizeof cf->path, "%s/coffre/config", xdg);
    else if (home && *home)
        n = snprintf(cf->path, sizeof cf->path, "%s/.config/coffre/config", home);
    else
        return false;
    return n > 0 && (size_t)n < sizeof cf->path;
}

static int conf_load(struct conf_file *cf)
{
    cf_secret text = {0};
    bool named;
    int rc;

    if (!conf_path(cf, &named))
        return CLI_EXIT_OK;
    if (!named && access(cf->path, F_OK) != 0 && errno == ENOENT)
        return CLI_EXIT_OK;
    if ((rc = cli_read_file(cf->path, 64 * 1024, &text, &cf->mode)) != CLI_EXIT_OK)
        return rc;
    rc = conf_parse(cf, (char *)text.p);
    if (rc == CLI_EXIT_OK && cf->token.p && (cf->mode & 077))
        rc = too_open(cf->path, cf->mode);
    cf_secret_free(&text);
    return rc;
}

/* token_file in the config file: relative to the config file's directory. */
static int conf_token_file(const struct conf_file *cf, cf_secret *out)
{
    char path[PATH_MAX];
    const char *slash = strrchr(cf->path, '/');
    int n;

    if (cf->token_file[0] == '/' || slash == NULL)
        return read_token_file(cf->token_file, out);
    n = snprintf(path, sizeof path, "%.*s/%s", (int)(slash - cf->path), cf->path,
                 cf->token_file);
    if (n < 0 || (size_t)n >= sizeof path) {
        cli_err("%s: token_file path too long", cf->path);
        return CLI_EXIT_FAIL;
    }
    return read_token_file(path, out);
}

static int resolve_token(cli_flags *f, const struct conf_file *cf, cf_secret *out)
{
    const char *env = getenv("COFFRE_TOKEN");
    int rc;

    if (f->token_arg && f->token_file) {
        cli_err("--token and --token-file: give one");
        return CLI_EXIT_USAGE;
    }
    if (f->token_arg) {
        rc = set_token(out, (const uint8_t *)f->token_arg, strlen(f->token_arg), "--token");
        /* Hide it from ps(1) and /proc/PID/cmdline from now on. */
        cf_cleanse(f->token_arg, strlen(f->token_arg));
        return rc;
    }
    if (f->token_file)
        return read_token_file(f->token_file, out);
    if (env && *env)
        return set_token(out, (const uint8_t *)env, strlen(env), "COFFRE_TOKEN");
    if (cf->token.p)
        return cf_secret_dup(out, cf->token.p, cf->token.len) == CF_OK ? CLI_EXIT_OK
                                                                       : CLI_EXIT_FAIL;
    if (cf->token_file)
        return conf_token_file(cf, out);
    return CLI_EXIT_OK;
}

static const char *pick(const char *flag, const char *env_name, const char *conf)
{
    const char *env = getenv(env_name);
    if (flag)
        return flag;
    if (env && *env)
        return env;
    return conf;
}

static int resolve_addr(const char *addr, cli_ctx *out)
{
    size_t n = strlen(addr);
    if (strncmp(addr, "https://", 8) != 0 || n == 8) {
        cli_err("the server address must be an https:// URL, not \"%s\"", addr);
        return CLI_EXIT_USAGE;
    }
    while (n > 8 && addr[n - 1] == '/')
        n--;
    if ((out->addr = strndup(addr, n)) == NULL) {
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

int cli_conf_resolve(cli_flags *f, cli_ctx *out)
{
    struct conf_file cf = {0};
    const char *addr, *cacert;
    int rc;

    out->json = f->json;
    out->timeout = f->timeout > 0 ? f->timeout : CLI_DEFAULT_TIMEOUT;
    if ((rc = conf_load(&cf)) != CLI_EXIT_OK)
        goto out;
    addr = pick(f->addr, "COFFRE_ADDR", cf.addr);
    if ((rc = resolve_addr(addr ? addr : CLI_DEFAULT_ADDR, out)) != CLI_EXIT_OK)
        goto out;
    cacert = pick(f->cacert, "COFFRE_CACERT", cf.cacert);
    if (cacert && (out->cacert = strdup(cacert)) == NULL) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    rc = resolve_token(f, &cf, &out->token);
out:
    free(cf.addr);
    free(cf.cacert);
    free(cf.token_file);
    cf_secret_free(&cf.token);
    return rc;
}
