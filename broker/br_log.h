/*
 * br_log — the broker's log: one line per event on stderr, with a UTC timestamp, a level and
 * the loop thread that wrote it.
 *
 * Contract
 * - Any thread may log. Each line is formatted into a stack buffer and written with a single
 *   write(2), so lines from different threads never interleave (lines are cut at 1 KiB).
 * - The level may change at any time from any thread (br_log_set_level: at start-up, and at
 *   run time through the metrics listener's /log-level); it is one atomic, read with a relaxed
 *   load, so a change is seen by every thread within a moment and no line is torn by it. The
 *   br_err..br_debug macros test it before evaluating their arguments, so a filtered line costs
 *   one load and one comparison.
 * - One event, one line, and no line can be forged. Anything that came from a client or a
 *   file (client.id, group and member ids, topic names, protocol names, certificate subjects)
 *   is passed through br_log_str()/br_log_cstr(), which escape it into one token with no
 *   space or control byte in it. As a backstop, br_log() itself escapes every control byte
 *   (below 0x20, and 0x7f) of the formatted message as \xNN, so not even a call site that
 *   forgot can start a new line.
 * - Three line formats (br_log_set_format, log.format): text (the default)
 *   "2026-11-22T06:50:00.123Z INFO  [loop0] message", logfmt
 *   'time=2026-11-22T06:50:00.123Z level=info thread=loop0 msg="message"' and JSON
 *   '{"time":"...","level":"info","thread":"loop0","msg":"message"}', one object per line. In
 *   logfmt and JSON the message is one quoted string: '"' and '\' in it are escaped with a
 *   backslash (control bytes are already \xNN, see above), so a line always parses. The format
 *   is set once at start-up, before the threads start.
 * - Request-scoped lines name the peer and the client.id ("peer=... client.id=..."); connection
 *   open and close are DEBUG lines.
 * - Connection events name the peer ("peer=127.0.0.1:53412") so a log line can be matched
 *   to a client.
 * - Repetitive lines (a full disk rejects every batch) go through the br_*_limited macros:
 *   each call site prints at most BR_LOG_LIMIT_BURST lines per BR_LOG_LIMIT_WINDOW_MS and
 *   counts the rest; once the window is over, one line "<the last suppressed line> (N more like
 *   this in the last 10 s)" reports them, N counting every suppressed line of that site, the
 *   one shown included. That summary is written by the site's next call after the window, or
 *   by br_log_flush_limited(), which the main thread calls about once a second.
 */
#ifndef SPLICELOG_BR_LOG_H
#define SPLICELOG_BR_LOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum br_log_level {
    BR_LOG_ERROR = 0,
    BR_LOG_WARN = 1,
    BR_LOG_INFO = 2,
    BR_LOG_DEBUG = 3,
};

/* Parses "error", "warn", "info", "debug" (also "warning", "trace" = debug); -EINVAL. */
int br_log_parse_level(const char *s, enum br_log_level *out);
/* "error", "warn", "info", "debug". */
const char *br_log_level_name(enum br_log_level level);
/* Any thread, any time; returns the level it replaced. */
enum br_log_level br_log_set_level(enum br_log_level level);
enum br_log_level br_log_get_level(void);
enum br_log_format {
    BR_LOG_FMT_TEXT = 0,
    BR_LOG_FMT_LOGFMT = 1,
    BR_LOG_FMT_JSON = 2,
};
/* Parses "text", "logfmt", "json"; -EINVAL. */
int br_log_parse_format(const char *s, enum br_log_format *out);
/* At start-up, before other threads log. */
void br_log_set_format(enum br_log_format f);
/* One step more verbose (+1) or less (-1), clamped to error..debug, as SIGUSR1/SIGUSR2 do;
 * logs the change (at the less verbose of the two levels, so it shows either way) and returns
 * the new level. */
enum br_log_level br_log_step_level(int dir, const char *by);
/* Names the calling thread in its lines ("main", "loop0", ...; at most 15 chars kept) and,
 * but for the main thread, for the OS as "sl-<name>" (top -H, perf, /proc). */
void br_log_set_thread(const char *name);

void br_log(enum br_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

extern _Atomic int br__log_level; /* read through br_log_on() only */
#define br_log_on(level)                                                                           \
    ((int)(level) <= atomic_load_explicit(&br__log_level, memory_order_relaxed))

#define br_err(...)   br__log_if(BR_LOG_ERROR, __VA_ARGS__)
#define br_warn(...)  br__log_if(BR_LOG_WARN, __VA_ARGS__)
#define br_info(...)  br__log_if(BR_LOG_INFO, __VA_ARGS__)
#define br_debug(...) br__log_if(BR_LOG_DEBUG, __VA_ARGS__)
#define br__log_if(level, ...)                                                                     \
    do {                                                                                           \
        if (br_log_on(level))                                                                      \
            br_log(level, __VA_ARGS__);                                                            \
    } while (0)

/* ---- untrusted strings ------------------------------------------------------------------ */

/* Input bytes shown before a string is cut ("...(N bytes)" then says how long it was). */
#define BR_LOG_STR_MAX 200

/* An escaped string; valid until the end of the full expression that made it. */
struct br_log_str {
    char s[4 * BR_LOG_STR_MAX + 32];
};

/*
 * Escapes len bytes at p for a log line: printable ASCII other than space and backslash is
 * kept, a backslash doubled, every other byte written \xNN. An empty string is "" and a null
 * one (p NULL or len < 0, as a Kafka nullable string) is (null). Longer than
 * BR_LOG_STR_MAX bytes: cut there, followed by "...(N bytes)".
 *   br_warn("peer=%s: client.id=%s", c->peer, br_log_str(id.ptr, id.len).s);
 */
struct br_log_str br_log_str(const char *p, int64_t len);
/* The same for a NUL-terminated string (NULL: (null)). */
struct br_log_str br_log_cstr(const char *s);
/* The same for anything with .ptr and .len (a kp_str): the escaped text itself. */
#define BR_LOG_KSTR(k) (br_log_str((k).ptr, (k).len).s)

/* ---- repetitive lines ------------------------------------------------------------------- */

#define BR_LOG_LIMIT_WINDOW_MS 10000
#define BR_LOG_LIMIT_BURST     5

/* One call site's state; static storage only (see the macros), never freed. */
struct br_log_limit {
    pthread_mutex_t lock;
    bool registered;           /* on the list br_log_flush_limited walks */
    enum br_log_level level;   /* of the suppressed lines */
    int64_t window_start;      /* ms (CLOCK_MONOTONIC) of the window's first line; 0: none */
    uint32_t printed;          /* lines written in this window, <= BR_LOG_LIMIT_BURST */
    uint32_t suppressed;       /* lines counted, not written, in this window */
    struct br_log_limit *next; /* registry */
    char last[1024];           /* the last suppressed message (without the line prefix) */
};

#define BR_LOG_LIMIT_INIT                                                                          \
    {                                                                                              \
        .lock = PTHREAD_MUTEX_INITIALIZER                                                          \
    }

void br_log_limited(struct br_log_limit *lim, enum br_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the summary of every call site whose window is over; any thread, ~1/s. */
void br_log_flush_limited(void);

#define br_err_limited(...)  br__log_limited(BR_LOG_ERROR, __VA_ARGS__)
#define br_warn_limited(...) br__log_limited(BR_LOG_WARN, __VA_ARGS__)
#define br_info_limited(...) br__log_limited(BR_LOG_INFO, __VA_ARGS__)
#define br__log_limited(level, ...)                                                                \
    do {                                                                                           \
        static struct br_log_limit br__lim = BR_LOG_LIMIT_INIT;                                    \
        if (br_log_on(level))                                                                      \
            br_log_limited(&br__lim, level, __VA_ARGS__);                                          \
    } while (0)

/* For tests: the clock the limiter reads (ms, monotonic); NULL restores the real one. */
void br_log__set_clock(int64_t (*now_ms)(void));

#endif
