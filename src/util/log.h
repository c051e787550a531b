/*
 * log.h - leveled logging to stderr (or a file), one line per event.
 *
 * Contract: never pass key material, tokens or passwords to these
 * functions. There is deliberately no helper that formats a cf_secret.
 * Thread-safe: each line is written with one write(2).
 */
#ifndef CF_LOG_H
#define CF_LOG_H

#include "util/status.h"

void cf_log_set_level(cf_log_level level);
cf_log_level cf_log_get_level(void);
/* Redirect to a file (appended). NULL path keeps stderr. */
cf_status cf_log_open(const char *path);

void cf_log_write(cf_log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define CF_LOGD(...) cf_log_write(CF_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)
#define CF_LOGI(...) cf_log_write(CF_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define CF_LOGW(...) cf_log_write(CF_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define CF_LOGE(...) cf_log_write(CF_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)

#endif
