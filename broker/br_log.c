/*
 * br_log — see br_log.h. A line is "2026-11-22T06:50:00.123Z INFO  [loop0] text\n".
 */
#include "br_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum br_log_level log_level = BR_LOG_INFO;
static __thread char thread_name[16] = "main";

static const char *const level_names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

int br_log_parse_level(const char *s, enum br_log_level *out)
{
    static const struct {
        const char *name;
        enum br_log_level level;
    } names[] = {
        {"error", BR_LOG_ERROR}, {"warn", BR_LOG_WARN},   {"warning", BR_LOG_WARN},
        {"info", BR_LOG_INFO},   {"debug", BR_LOG_DEBUG}, {"trace", BR_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

void br_log_set_level(enum br_log_level level) { log_level = level; }

enum br_log_level br_log_get_level(void) { return log_level; }

void br_log_set_thread(const char *name) { snprintf(thread_name, sizeof(thread_name), "%s", name); }

void br_log(enum br_log_level level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_names[level], thread_name);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
    va_end(ap);
    if (n > 0)
        len += (size_t)n < sizeof(line) - len ? (size_t)n : sizeof(line) - len - 1;
    if (len >= sizeof(line) - 1)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(STDERR_FILENO, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}
