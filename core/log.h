/*
 * log: leveled log lines to stderr, one write(2) per line so threads do not interleave.
 *
 * Lines are short and capped; callers never pass secrets or unescaped client bytes (use
 * log_escape for anything that came off the wire). stderr is a pipe or a terminal here, so a
 * single small write does not block a loop for long; a file sink would go through a thread.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

#define LOG_LINE_MAX 1024

void log_set_level(enum log_level level);
/* "debug", "info", "warn", "error" -> 0, or -1 for anything else. */
int log_level_parse(const char *name, enum log_level *out);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy at most out_size-1 printable bytes of s into out, replacing others with '?'. */
const char *log_escape(const char *s, size_t len, char *out, size_t out_size);

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
