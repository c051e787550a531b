/*
 * client.h - what the REST client's files share (src/cli/client*.c).
 *
 *   client.c        the cleansing allocator, HTTPS requests (libcurl), errors
 *                   and exit codes, files that hold secrets
 *   client_conf.c   flags > environment > config file: address, CA, token
 *   client_args.c   the command line: options into JSON bodies and queries
 *   client_cmds.c   the command table (one row per REST operation), main
 *   client_table.c  human output: tables and field lists
 *
 * Secrets (the API key, key material, a new identity's token) live in
 * cf_secret buffers or in memory from the cleansing allocator that jansson
 * and libcurl use in this process (cli_mem_init): every copy is wiped when
 * freed. They are written to stdout or to a 0600 file only when asked, and
 * never to stderr.
 */
#ifndef CF_CLI_CLIENT_H
#define CF_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "util/mem.h"

/* Exit codes (docs/cli.md, `coffre --help`): a script's contract. */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,      /* anything else: a local file, memory, a bad config */
    CLI_EXIT_USAGE = 2,     /* the command line */
    CLI_EXIT_AUTH = 3,      /* 401, or no usable API key */
    CLI_EXIT_PERM = 4,      /* 403 */
    CLI_EXIT_NOTFOUND = 5,  /* 404, 410 */
    CLI_EXIT_CONFLICT = 6,  /* 409: exists, wrong state, still in use */
    CLI_EXIT_INVALID = 7,   /* other 4xx: the request was refused as invalid */
    CLI_EXIT_SERVER = 8,    /* 5xx, unreachable, TLS failure, answer too large */
};

/* Largest answer read from the server: a listing of 1000 keys is far below. */
#define CLI_MAX_ANSWER (16u * 1024u * 1024u)
/* Largest file read for --cert, --ca-cert, import --file, token files. */
#define CLI_MAX_FILE (256u * 1024u)
#define CLI_DEFAULT_ADDR "https://127.0.0.1:8443"
#define CLI_DEFAULT_TIMEOUT 30L

/* What the global flags said (NULL / 0: not given). token_arg points into
 * argv: cli_conf_resolve copies it into a secret and wipes argv's copy. */
typedef struct cli_flags {
    const char *addr, *cacert, *token_file;
    char *token_arg;
    long timeout;
    bool json;
} cli_flags;

/* A resolved client: one curl handle reused for every request (paging). */
typedef struct cli_ctx {
    char *addr;          /* https://host:port, no trailing slash (malloc) */
    char *cacert;        /* NULL: the system's CAs (malloc) */
    cf_secret token;     /* empty when none was found */
    long timeout;
    bool json;
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
} cli_ctx;

/* One answer. body may hold key material or a token: cleansed on free. */
typedef struct cli_resp {
    long status;
    cf_buf body;
    json_t *doc;         /* the parsed body; NULL when empty or not JSON */
} cli_resp;

/* ------------------------------------------------------------ client.c */
/* Route jansson's and libcurl's allocations through a wiping allocator and
 * initialise libcurl. Call once, before any other jansson or curl call. */
bool cli_mem_init(void);
void cli_mem_done(void);
int cli_ctx_open_curl(cli_ctx *x);
void cli_ctx_close(cli_ctx *x);
/* One request. path: escaped, with its query, relative to addr. body: JSON
 * text or NULL. auth: send the API key. Prints the server's error or the
 * transport failure on stderr and returns the exit code (0 on 2xx). The
 * caller frees *out (also on failure). */
int cli_request(cli_ctx *x, const char *method, const char *path, const cf_secret *body,
                bool auth, cli_resp *out);
void cli_resp_free(cli_resp *r);
int cli_exit_for_http(long status);
/* A URL-escaped copy (malloc), NULL on failure. */
char *cli_escape(const char *s);
/* A file's bytes into a secret (at most max bytes, NUL-terminated beyond
 * len); its st_mode (of the opened descriptor) in *out_mode when not NULL.
 * Exit code, message printed. */
int cli_read_file(const char *path, size_t max, cf_secret *out, unsigned *out_mode);
/* Create path (O_EXCL, 0600) and write the bytes; exit code, message printed. */
int cli_write_secret_file(const char *path, const void *p, size_t n);
/* Serialise a JSON value into a secret buffer (compact). */
int cli_json_secret(const json_t *v, cf_secret *out);
/* Print to stderr "coffre: " + message. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------- client_conf.c */
/* Flags, then COFFRE_ADDR / COFFRE_TOKEN / COFFRE_CACERT, then the config
 * file ($COFFRE_CONFIG or ~/.config/coffre/config). Exit code. */
int cli_conf_resolve(cli_flags *f, cli_ctx *out);

/* ------------------------------------------------------ client_table.c */
struct cli_col {
    const char *header;
    const char *field;   /* member of each item */
    const char *alt;     /* used when field is absent (e.g. curve for length) */
};
/* Items of a list answer as an aligned table (a header line, `-` for absent). */
void cli_print_table(FILE *f, json_t *items, const struct cli_col *cols);
/* One object as aligned "field  value" lines, nested objects dotted. */
void cli_print_fields(FILE *f, json_t *obj);
/* The answer's bytes unchanged, then a newline. */
void cli_print_raw(FILE *f, const cli_resp *r);
/* A value as display text (control characters shown as '?'); malloc. */
char *cli_value_text(json_t *v);

/* ------------------------------------------------------- client_args.c */
/* How an option's value reaches the server. */
enum cli_kind {
    CLI_K_STR,      /* a string */
    CLI_K_WORD,     /* a string, '-' read as '_' (api-key: api_key) */
    CLI_K_INT,      /* an integer */
    CLI_K_LIST,     /* a,b,c: an array of words */
    CLI_K_MULTI,    /* repeatable: an array of strings */
    CLI_K_KV,       /* repeatable k=v: an object's member (query: tag=k:v) */
    CLI_K_UNSET,    /* repeatable k: an object's member set to null */
    CLI_K_TEXTFILE, /* a file's text as a string */
    CLI_K_CONST,    /* a flag: the JSON literal `lit` */
    CLI_K_TIME,     /* a time string; "never": null */
    CLI_K_LOCAL,    /* read by the command itself (cli_opt_get) */
    CLI_K_FLAG,     /* a flag read by the command itself */
};
enum cli_in { CLI_IN_NONE, CLI_IN_BODY, CLI_IN_QUERY };

struct cli_opt {
    const char *name;   /* without the "--" */
    unsigned char kind, in;
    const char *field;  /* JSON member ("a.b" nests) or query parameter */
    const char *arg;    /* the value's name in help; NULL for flags */
    const char *help;
    const char *lit;    /* CLI_K_CONST */
};

struct cli_args;
typedef int (*cli_run_fn)(cli_ctx *x, const struct cli_args *a);

#define CLI_CMD_NOAUTH 1u  /* no API key (/health) */
#define CLI_CMD_TENANT 2u  /* path names {t}: --tenant, else the caller's tenant */

/* One REST operation. path: "{t}" is the tenant, "{id}" the argument. */
struct cli_cmd {
    const char *noun, *verb;    /* verb NULL: `coffre me` */
    const char *method, *path;
    const char *arg;            /* the positional argument's name, NULL: none */
    const char *arg_field;      /* the argument goes into this body member */
    const struct cli_opt *const *opts;  /* NULL-terminated option lists */
    cli_run_fn run;
    const struct cli_col *cols; /* list answers */
    const char *items;          /* list answers: the array's member */
    unsigned flags;
    const char *help;
};

#define CLI_MAX_VALS 64
struct cli_val {
    const struct cli_opt *opt;
    const char *v;
};

struct cli_args {
    const struct cli_cmd *cmd;
    const char *noun, *verb, *pos;
    struct cli_val vals[CLI_MAX_VALS];
    unsigned nvals;
    cli_flags flags;
    bool help;
};

/* Parse argv (global options anywhere) against the table. Exit code;
 * a->help set: print help instead of running. */
int cli_parse(int argc, char **argv, const struct cli_cmd *table, struct cli_args *a);
/* The last value of an option of the command ("" for a flag), NULL when absent. */
const char *cli_opt_get(const struct cli_args *a, const char *name);
/* The JSON body from the options marked CLI_IN_BODY (and arg_field). */
int cli_build_body(const struct cli_args *a, json_t **out);
/* The path with {t} and {id} replaced (escaped) and the CLI_IN_QUERY
 * options appended, then `extra` ("limit=10&offset=0", may be NULL). malloc. */
int cli_build_path(const struct cli_args *a, const char *tenant, const char *extra, char **out);

#endif
