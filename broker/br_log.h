/*
 * br_log — the broker's log: one line per event on stderr, with a UTC timestamp, a level and
 * the loop thread that wrote it.
 *
 * Contract
 * - Any thread may log. Each line is formatted into a stack buffer and written with a single
 *   write(2), so lines from different threads never interleave (lines are cut at 1 KiB).
 * - The level is set once at start-up (br_log_set_level) before threads start; messages
 *   below it are dropped before formatting.
 * - Connection events name the peer ("peer=127.0.0.1:53412") so a log line can be matched
 *   to a client.
 */
#ifndef SPLICELOG_BR_LOG_H
#define SPLICELOG_BR_LOG_H

enum br_log_level {
    BR_LOG_ERROR = 0,
    BR_LOG_WARN = 1,
    BR_LOG_INFO = 2,
    BR_LOG_DEBUG = 3,
};

/* Parses "error", "warn", "info", "debug" (also "warning", "trace" = debug); -EINVAL. */
int br_log_parse_level(const char *s, enum br_log_level *out);
void br_log_set_level(enum br_log_level level);
enum br_log_level br_log_get_level(void);
/* Names the calling thread in its lines ("main", "loop0", ...); at most 15 chars kept. */
void br_log_set_thread(const char *name);

void br_log(enum br_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define br_err(...)   br_log(BR_LOG_ERROR, __VA_ARGS__)
#define br_warn(...)  br_log(BR_LOG_WARN, __VA_ARGS__)
#define br_info(...)  br_log(BR_LOG_INFO, __VA_ARGS__)
#define br_debug(...) br_log(BR_LOG_DEBUG, __VA_ARGS__)

#endif
