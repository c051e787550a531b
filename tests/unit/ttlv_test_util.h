/*
 * ttlv_test_util.h - helpers shared by the ttlv*_test.c binaries (each test
 * is its own program, so these are static functions in a header).
 */
#ifndef TTLV_TEST_UTIL_H
#define TTLV_TEST_UTIL_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ttlv/ttlv.h"

/* Decode hex (spaces and '|' ignored) into out; returns the byte count or
 * -1 on a bad digit, an odd count or overflow of cap. */
__attribute__((unused))
static long tu_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;

    for (; *s; s++) {
        int v;
        if (*s == ' ' || *s == '|' || *s == '\n' || *s == '\r' || *s == '\t')
            continue;
        if (!isxdigit((unsigned char)*s))
            return -1;
        v = isdigit((unsigned char)*s) ? *s - '0' : (tolower((unsigned char)*s) - 'a' + 10);
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= cap)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    return hi < 0 ? (long)n : -1;
}

/* The shared reference directory: $CF_SHARED, else ../shared relative to
 * the working directory (the Makefile runs tests from the repository root,
 * which sits next to shared/). Writes into out; false if not a directory. */
__attribute__((unused))
static bool tu_shared_dir(char *out, size_t cap)
{
    const char *env = getenv("CF_SHARED");
    const char *cands[] = {env, "../shared", "../../shared"};
    struct stat st;

    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        if (cands[i] == NULL || cands[i][0] == '\0')
            continue;
        if (stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(out, cap, "%s", cands[i]);
            return true;
        }
    }
    return false;
}

/* Read a whole file (NUL-terminated); NULL on failure. Caller frees. */
__attribute__((unused))
static char *tu_read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, len = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        size_t n;
        if (cap - len < 65536) {
            char *nb = realloc(buf, cap + 65536 + 1);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap += 65536;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    if (out_len)
        *out_len = len;
    return buf;
}

/* Upper-case alphanumerics only: "Re-key" and "REKEY" compare equal. */
__attribute__((unused))
static void tu_norm(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && s[i] && n + 1 < cap; i++)
        if (isalnum((unsigned char)s[i]))
            out[n++] = (char)toupper((unsigned char)s[i]);
    out[n] = '\0';
}

#endif
