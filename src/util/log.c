#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int g_level = CF_LOG_INFO;
static int g_fd = 2;

void cf_log_set_level(cf_log_level level) { g_level = (int)level; }
cf_log_level cf_log_get_level(void) { return (cf_log_level)g_level; }

cf_status cf_log_open(const char *path)
{
    int fd;
    if (path == NULL)
        return CF_OK;
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return CF_ERR_IO;
    g_fd = fd;
    return CF_OK;
}

static const char *level_name(cf_log_level l)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    return ((unsigned)l < 4) ? names[l] : "?";
}

void cf_log_write(cf_log_level level, const char *file, int line, const char *fmt, ...)
{
    char buf[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int k;
    va_list ap;
    const char *base;

    if ((int)level < g_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    base = strrchr(file, '/');
    base = base ? base + 1 : file;
    k = snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s:%d] ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, ts.tv_nsec / 1000000L, level_name(level), base, line);
    if (k < 0)
        return;
    n = (size_t)k < sizeof buf ? (size_t)k : sizeof buf - 1;
    va_start(ap, fmt);
    k = vsnprintf(buf + n, sizeof buf - n, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    n += (size_t)k;
    if (n > sizeof buf - 2)
        n = sizeof buf - 2;
    /* Neutralise control characters so peer-supplied text cannot forge lines. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t')
            buf[i] = '?';
    buf[n++] = '\n';
    while (write(g_fd, buf, n) < 0 && errno == EINTR)
        ;
}
