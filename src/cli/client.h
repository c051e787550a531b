/*
 * client.h - what the REST client's files share (src/cli/client*.c).
 *
 *   client.c        the cleansing allocator, HTTPS requests (libcurl), errors
 *                   and exit codes, files that hold secrets
 *   client_conf.c   flags > environment > config file: address, CA, token
 *   client_args.c   the command line: options into JSON bodies and queries
 *   client_cmds.c   the command table (one row per REST operation), main
 *   client_table.c  human output: tables and field lists
 *   client_help.c   --help, generated from the command table
 *   client_env.c    envelope, rotation and audit commands (options, runners)
 *   client_file.c   `coffre encrypt` / `coffre decrypt`
 *   client_stream.c their file format: header, AAD encoding, STREAM chunks
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

/* ------------------------------------------------------- client_help.c */
struct cli_cmd;
struct cli_args;
/* `coffre --help`: every command of the table, global options, exit codes. */
void cli_help_main(FILE *f, const struct cli_cmd *commands);
/* --help after a noun or a command: its rows' routes and options. */
void cli_help_for(FILE *f, const struct cli_args *a, const struct cli_cmd *commands);

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

/* -------------------------------------------------------- client_env.c */
/* Envelope (wrap, unwrap, rewrap, batch), rotation policies and the audit
 * trail: their options (the rows are in client_cmds.c's table) and the
 * commands that need more than one request or a secret's care. */
extern const struct cli_opt *const cli_l_wrap[], *const cli_l_unwrap[], *const cli_l_rewrap[],
    *const cli_l_batch[], *const cli_l_policy[], *const cli_l_rotation_run[],
    *const cli_l_audit_list[], *const cli_l_audit_export[], *const cli_l_audit_key[];
extern const struct cli_col cli_c_versions[];
int cli_run_envelope(cli_ctx *x, const struct cli_args *a);      /* key wrap|unwrap|rewrap */
int cli_run_batch(cli_ctx *x, const struct cli_args *a);         /* key batch */
int cli_run_policy(cli_ctx *x, const struct cli_args *a);        /* key|tenant rotation-policy */
int cli_run_audit_list(cli_ctx *x, const struct cli_args *a);    /* audit list */
int cli_run_audit_export(cli_ctx *x, const struct cli_args *a);  /* audit export */
int cli_run_audit_key(cli_ctx *x, const struct cli_args *a);     /* audit public-key */
/* Secret bytes to stdout with write(2), never through stdio's buffer. */
int cli_secret_stdout(const void *p, size_t n, bool newline);
/* Base64 of n bytes into a secret (NUL-terminated; len excludes the NUL). */
int cli_b64_secret(const uint8_t *p, size_t n, cf_secret *out);
/* Strict base64 (length a multiple of 4) into a secret; false if not base64. */
bool cli_unb64_secret(const char *s, size_t n, cf_secret *out);

/* ----------------------------------------- client_file.c, client_stream.c */
/* `coffre encrypt` / `coffre decrypt`: a file envelope-encrypted under a
 * fresh DEK in STREAM chunks (docs/file-encryption.md). The format
 * (client_stream.c) needs no server: tests/unit/client_file_test.c drives
 * it with a fixed DEK. */
#define CLI_FILE_CHUNK 65536u       /* plaintext bytes per chunk written */
#define CLI_FILE_CHUNK_MIN 16u      /* accepted when read: tests use small chunks */
#define CLI_FILE_CHUNK_MAX (16u * 1024u * 1024u) /* two buffers of this size */
#define CLI_FILE_PREFIX 8u          /* nonce = prefix || u32 chunk counter (96 bits) */
#define CLI_FILE_TAG 16u
#define CLI_FILE_DEK 32u            /* AES-256 */
#define CLI_FILE_WRAPPED_MAX 1024u  /* a wrapped 32-byte DEK is 70 + key id bytes */
#define CLI_FILE_AAD_MAX 131072u    /* above the server's AAD limits (32 x 2 x 1024 bytes) */
#define CLI_FILE_HDR_MAX (19u + CLI_FILE_WRAPPED_MAX + 4u + CLI_FILE_AAD_MAX)

typedef struct cli_file_hdr {
    uint32_t chunk;                 /* plaintext bytes of every chunk but the last */
    uint8_t prefix[CLI_FILE_PREFIX];
    const uint8_t *wrapped;         /* the wrapped DEK (docs/envelope.md) */
    size_t wrapped_len;
    const uint8_t *aad;             /* the AAD encoding (docs/envelope.md) */
    size_t aad_len;
} cli_file_hdr;

extern const struct cli_opt *const cli_l_encrypt[], *const cli_l_decrypt[];
int cli_run_encrypt(cli_ctx *x, const struct cli_args *a);
int cli_run_decrypt(cli_ctx *x, const struct cli_args *a);
/* client_stream.c: */
/* The header's bytes (appended to out). CF_ERR_INVALID_FIELD when a field
 * is out of its range, CF_ERR_NOMEM. */
cf_status cli_file_hdr_encode(const cli_file_hdr *h, cf_buf *out);
/* Read exactly the header from fd into raw and parse it (h points into
 * raw). CF_ERR_IO (errno kept) or CF_ERR_INVALID_MSG (not such a header). */
cf_status cli_file_hdr_read(int fd, cf_buf *raw, cli_file_hdr *h);
/* The header, then the chunks of everything read from in, to out. */
cf_status cli_file_seal(const cf_secret *dek, const cli_file_hdr *h, int in, int out,
                        uint64_t *out_bytes);
/* The chunks after the header (raw: its bytes) from in to out; a chunk is
 * written only once its tag verified. CF_ERR_CRYPTO (*out_chunk: the chunk
 * that failed: altered, reordered, truncated or extended), CF_ERR_IO. */
cf_status cli_file_unseal(const cf_secret *dek, const cli_file_hdr *h, const uint8_t *raw,
                          size_t raw_len, int in, int out, uint64_t *out_bytes,
                          uint64_t *out_chunk);
/* AAD (NULL: none, a JSON array or object of strings) <-> its encoding. */
cf_status cli_file_aad_encode(const json_t *aad, cf_buf *out);
cf_status cli_file_aad_decode(const uint8_t *p, size_t n, json_t **out);

/* ----------------------------------------------------- client_export.c */
/* Reversibility (docs/export.md): key export, tenant export (page by page
 * into one document), import (in parts the server's body limit admits). */
extern const struct cli_opt *const cli_l_export_key[], *const cli_l_export_tenant[],
    *const cli_l_import[];
int cli_run_export_key(cli_ctx *x, const struct cli_args *a);    /* key export ID */
int cli_run_export_tenant(cli_ctx *x, const struct cli_args *a); /* export */
int cli_run_import_doc(cli_ctx *x, const struct cli_args *a);    /* import */

#endif
