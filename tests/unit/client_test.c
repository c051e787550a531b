/* Unit tests for the REST client's command line (src/cli/client_args.c) and
 * exit codes (src/cli/client.c): options into JSON bodies, paths and
 * queries, without a server. A small table of its own stands for
 * client_cmds.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/client.h"

static const struct cli_opt o_edit[] = {
    {"name", CLI_K_STR, CLI_IN_BODY, "name", "N", "", NULL},
    {"no-name", CLI_K_CONST, CLI_IN_BODY, "name", NULL, "", "null"},
    {"kind", CLI_K_WORD, CLI_IN_BODY, "kind", "K", "", NULL},
    {"length", CLI_K_INT, CLI_IN_BODY, "length", "N", "", NULL},
    {"usage", CLI_K_LIST, CLI_IN_BODY, "usage", "U", "", NULL},
    {"tag", CLI_K_KV, CLI_IN_BODY, "tags", "K=V", "", NULL},
    {"remove-tag", CLI_K_UNSET, CLI_IN_BODY, "tags", "K", "", NULL},
    {"restrict-key", CLI_K_MULTI, CLI_IN_BODY, "restriction.keys", "ID", "", NULL},
    {"no-restriction", CLI_K_CONST, CLI_IN_BODY, "restriction", NULL, "", "null"},
    {"expires", CLI_K_TIME, CLI_IN_BODY, "expires", "T", "", NULL},
    {"out", CLI_K_LOCAL, CLI_IN_NONE, NULL, "FILE", "", NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};
static const struct cli_opt o_list[] = {
    {"state", CLI_K_WORD, CLI_IN_QUERY, "state", "S", "", NULL},
    {"tag", CLI_K_KV, CLI_IN_QUERY, "tag", "K=V", "", NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};
static const struct cli_opt *const l_edit[] = {o_edit, NULL};
static const struct cli_opt *const l_list[] = {o_list, NULL};
static const struct cli_opt *const l_none[] = {NULL};

static const struct cli_cmd table[] = {
    {.noun = "me", .method = "GET", .path = "/v1/me", .opts = l_none},
    {.noun = "thing", .verb = "edit", .method = "PATCH", .path = "/v1/t/{t}/things/{id}",
     .arg = "ID", .opts = l_edit},
    {.noun = "thing", .verb = "new", .method = "POST", .path = "/v1/things", .arg = "ID",
     .arg_field = "id", .opts = l_none},
    {.noun = "thing", .verb = "list", .method = "GET", .path = "/v1/things", .opts = l_list},
    {.noun = NULL},
};

/* argv from a NULL-terminated list of literals (copied: the parser may wipe --token). */
static int parse(struct cli_args *a, char **argv, ...)
{
    va_list ap;
    int argc = 0;
    const char *s;
    argv[argc++] = strdup("coffre");
    va_start(ap, argv);
    while ((s = va_arg(ap, const char *)) != NULL)
        argv[argc++] = strdup(s);
    va_end(ap);
    argv[argc] = NULL;
    return cli_parse(argc, argv, table, a);
}

static void free_argv(char **argv)
{
    for (int i = 0; argv[i]; i++)
        free(argv[i]);
}

static char *body_text(const struct cli_args *a)
{
    json_t *b = NULL;
    char *s;
    assert_int_equal(cli_build_body(a, &b), CLI_EXIT_OK);
    s = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    return s;
}

static void test_exit_codes(void **state)
{
    (void)state;
    static const long st[] = {200, 201, 401, 403, 404, 410, 409, 400, 413, 415, 500, 503, 302};
    static const int want[] = {0, 0, 3, 4, 5, 5, 6, 7, 7, 7, 8, 8, 1};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
        assert_int_equal(cli_exit_for_http(st[i]), want[i]);
}

static void test_body_from_options(void **state)
{
    (void)state;
    struct cli_args a;
    char *argv[32], *s;
    assert_int_equal(parse(&a, argv, "--json", "thing", "edit", "x1", "--name=n", "--kind",
                           "api-key", "--length", "256", "--usage", "wrap-key,decrypt", "--tag",
                           "env=prod", "--remove-tag", "old", "--restrict-key", "k1",
                           "--restrict-key", "k2", "--expires", "never", "--out", "f",
                           "--timeout", "5", NULL),
                     CLI_EXIT_OK);
    assert_true(a.flags.json);
    assert_int_equal(a.flags.timeout, 5);
    assert_string_equal(a.pos, "x1");
    assert_string_equal(cli_opt_get(&a, "out"), "f");
    s = body_text(&a);
    assert_string_equal(s, "{\"expires\":null,\"kind\":\"api_key\",\"length\":256,\"name\":\"n\","
                           "\"restriction\":{\"keys\":[\"k1\",\"k2\"]},\"tags\":{\"env\":\"prod\","
                           "\"old\":null},\"usage\":[\"wrap_key\",\"decrypt\"]}");
    free(s);
    free_argv(argv);

    assert_int_equal(parse(&a, argv, "thing", "new", "acme", NULL), CLI_EXIT_OK);
    s = body_text(&a);
    assert_string_equal(s, "{\"id\":\"acme\"}");
    free(s);
    free_argv(argv);
}

static void test_path_and_query(void **state)
{
    (void)state;
    struct cli_args a;
    char *argv[32], *path = NULL;
    assert_int_equal(parse(&a, argv, "thing", "edit", "a b/c", NULL), CLI_EXIT_OK);
    assert_int_equal(cli_build_path(&a, "t?1", NULL, &path), CLI_EXIT_OK);
    assert_string_equal(path, "/v1/t/t%3F1/things/a%20b%2Fc");
    free(path);
    free_argv(argv);
    assert_int_equal(parse(&a, argv, "thing", "list", "--state", "pre-active", "--tag",
                           "env=a&b", NULL),
                     CLI_EXIT_OK);
    assert_int_equal(cli_build_path(&a, NULL, "limit=5", &path), CLI_EXIT_OK);
    assert_string_equal(path, "/v1/things?state=pre_active&tag=env%3Aa%26b&limit=5");
    free(path);
    free_argv(argv);
}

static void test_usage_errors(void **state)
{
    (void)state;
    struct cli_args a;
    char *argv[32];
#define BAD(...)                                                      \
    do {                                                              \
        assert_int_equal(parse(&a, argv, __VA_ARGS__, NULL), CLI_EXIT_USAGE); \
        free_argv(argv);                                              \
    } while (0)
    BAD("thing", "frob");
    BAD("thing", "edit");                            /* ID is needed */
    BAD("thing", "edit", "x", "y");                  /* one argument */
    BAD("thing", "edit", "x", "--name");             /* a value is needed */
    BAD("thing", "edit", "x", "--name", "a", "--name", "b");
    BAD("thing", "edit", "x", "--name", "a", "--no-name");
    BAD("thing", "edit", "x", "--restrict-key", "k", "--no-restriction");
    BAD("thing", "edit", "x", "--no-name=1");        /* a flag takes no value */
    BAD("thing", "edit", "x", "--bogus");
    BAD("--name", "x", "thing", "edit", "x");        /* command options after the command */
    BAD("--timeout", "0", "me");
    BAD("me", "extra");
    BAD("-x", "me");
    /* Values that only the body builder can judge. */
    assert_int_equal(parse(&a, argv, "thing", "edit", "x", "--length", "12a", NULL), CLI_EXIT_OK);
    json_t *b = NULL;
    assert_int_equal(cli_build_body(&a, &b), CLI_EXIT_USAGE);
    assert_null(b);
    free_argv(argv);
    assert_int_equal(parse(&a, argv, "thing", "edit", "x", "--tag", "novalue", NULL), CLI_EXIT_OK);
    assert_int_equal(cli_build_body(&a, &b), CLI_EXIT_USAGE);
    free_argv(argv);
    /* `--` ends the options: an ID may start with a dash. */
    assert_int_equal(parse(&a, argv, "thing", "edit", "--", "-odd", NULL), CLI_EXIT_OK);
    assert_string_equal(a.pos, "-odd");
    free_argv(argv);
    /* --help anywhere, even after an unknown verb. */
    assert_int_equal(parse(&a, argv, "thing", "--help", "frob", NULL), CLI_EXIT_OK);
    assert_true(a.help);
    free_argv(argv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_body_from_options),
        cmocka_unit_test(test_path_and_query),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
