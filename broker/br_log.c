/*
 * br_log — see br_log.h. A line is "2026-11-22T06:50:00.123Z INFO  [loop0] text\n" (text), or
 * the same fields as logfmt or a JSON object.
 */
#include "br_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 1024

_Atomic int br__log_level = BR_LOG_INFO;
static _Atomic int log_format = BR_LOG_FMT_TEXT;
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

const char *br_log_level_name(enum br_log_level level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    return (unsigned)level < 4 ? names[level] : "?";
}

enum br_log_level br_log_set_level(enum br_log_level level)
{
    return (enum br_log_level)atomic_exchange(&br__log_level, (int)level);
}

enum br_log_level br_log_get_level(void) { return (enum br_log_level)atomic_load(&br__log_level); }

int br_log_parse_format(const char *s, enum br_log_format *out)
{
    if (strcasecmp(s, "text") == 0)
        *out = BR_LOG_FMT_TEXT;
    else if (strcasecmp(s, "logfmt") == 0)
        *out = BR_LOG_FMT_LOGFMT;
    else if (strcasecmp(s, "json") == 0)
        *out = BR_LOG_FMT_JSON;
    else
        return -EINVAL;
    return 0;
}

void br_log_set_format(enum br_log_format f) { atomic_store(&log_format, (int)f); }

enum br_log_level br_log_step_level(int dir, const char *by)
{
    int old = atomic_load(&br__log_level);
    int now = old + (dir > 0 ? 1 : -1);
    if (now < BR_LOG_ERROR)
        now = BR_LOG_ERROR;
    if (now > BR_LOG_DEBUG)
        now = BR_LOG_DEBUG;
    atomic_store(&br__log_level, now);
    br_log((enum br_log_level)(old < now ? old : now), "log level %s -> %s, by %s",
           br_log_level_name((enum br_log_level)old), br_log_level_name((enum br_log_level)now),
           by);
    return (enum br_log_level)now;
}

void br_log_set_thread(const char *name)
{
    snprintf(thread_name, sizeof(thread_name), "%s", name);
    /* the same name for top -H, perf and /proc/PID/task/TID/comm: "sl-" and at most 12 more
     * (the kernel keeps 15 bytes); the main thread keeps the process's name (ps, pgrep) */
    if (gettid() == getpid())
        return;
    char comm[16];
    snprintf(comm, sizeof(comm), "sl-%.12s", name);
    (void)pthread_setname_np(pthread_self(), comm);
}

/* ---- formatting ------------------------------------------------------------------------- */

static const char hex[] = "0123456789abcdef";

/*
 * Formats a message into out (cap bytes, NUL-terminated), escaping every control byte as
 * \xNN: whatever a call site passed, the message stays on one line. Returns its length.
 */
__attribute__((format(printf, 3, 0))) static size_t format_message(char *out, size_t cap,
                                                                   const char *fmt, va_list ap)
{
    char raw[LINE_MAX_BYTES];
    int n = vsnprintf(raw, sizeof(raw), fmt, ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c >= 0x20 && c != 0x7f) {
            if (k + 1 >= cap)
                break;
            out[k++] = (char)c;
        } else {
            if (k + 4 >= cap)
                break;
            out[k++] = '\\';
            out[k++] = 'x';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
        }
    }
    out[k] = 0;
    return k;
}

/* Copies src (n bytes) into dst for a quoted logfmt/JSON string: '"' and '\\' get a backslash.
 * Writes at most room bytes; returns how many. */
static size_t quote_into(char *dst, size_t room, const char *src, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool esc = src[i] == '"' || src[i] == '\\';
        if (k + 1 + esc > room)
            break;
        if (esc)
            dst[k++] = '\\';
        dst[k++] = src[i];
    }
    return k;
}

/* Writes one line: prefix, msg (already escaped), then suffix (may be NULL), kept whole. */
static void emit(enum br_log_level level, const char *msg, const char *suffix)
{
    static const char *const lower[] = {"error", "warn", "info", "debug"};
    char line[LINE_MAX_BYTES];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char when[96]; /* room for any int the compiler cannot bound */
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    int fmt = atomic_load_explicit(&log_format, memory_order_relaxed);
    int n;
    if (fmt == BR_LOG_FMT_JSON)
        n = snprintf(line, sizeof(line),
                     "{\"time\":\"%s\",\"level\":\"%s\",\"thread\":\"%s\",\"msg\":\"", when,
                     lower[level], thread_name);
    else if (fmt == BR_LOG_FMT_LOGFMT)
        n = snprintf(line, sizeof(line), "time=%s level=%s thread=%s msg=\"", when, lower[level],
                     thread_name);
    else
        n = snprintf(line, sizeof(line), "%s %s [%s] ", when, level_names[level], thread_name);
    if (n < 0)
        return;
    const char *tail = fmt == BR_LOG_FMT_JSON ? "\"}" : fmt == BR_LOG_FMT_LOGFMT ? "\"" : "";
    size_t clen = strlen(tail);
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    size_t slen = suffix ? strlen(suffix) : 0;
    size_t room = sizeof(line) - 1 - clen - len; /* the closing quote and newline keep theirs */
    if (slen > room)
        slen = room;
    size_t mlen = strlen(msg);
    if (fmt == BR_LOG_FMT_TEXT) {
        if (mlen > room - slen)
            mlen = room - slen;
        memcpy(line + len, msg, mlen);
        len += mlen;
        memcpy(line + len, suffix ? suffix : "", slen);
        len += slen;
    } else {
        /* The suffix is ours (no quote or backslash): kept whole, the message cut for it. */
        len += quote_into(line + len, room - slen, msg, mlen);
        memcpy(line + len, suffix ? suffix : "", slen);
        len += slen;
        memcpy(line + len, tail, clen);
        len += clen;
    }
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

void br_log(enum br_log_level level, const char *fmt, ...)
{
    if (!br_log_on(level))
        return;
    char msg[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    format_message(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(level, msg, NULL);
}

/* ---- untrusted strings ------------------------------------------------------------------ */

struct br_log_str br_log_str(const char *p, int64_t len)
{
    struct br_log_str o;
    if (!p || len < 0) {
        snprintf(o.s, sizeof(o.s), "(null)");
        return o;
    }
    if (len == 0) {
        snprintf(o.s, sizeof(o.s), "\"\"");
        return o;
    }
    size_t n = len > BR_LOG_STR_MAX ? BR_LOG_STR_MAX : (size_t)len;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c > 0x20 && c < 0x7f && c != '\\') {
            o.s[k++] = (char)c;
        } else if (c == '\\') {
            o.s[k++] = '\\';
            o.s[k++] = '\\';
        } else {
            o.s[k++] = '\\';
            o.s[k++] = 'x';
            o.s[k++] = hex[c >> 4];
            o.s[k++] = hex[c & 15];
        }
    }
    o.s[k] = 0;
    if ((size_t)len > n)
        snprintf(o.s + k, sizeof(o.s) - k, "...(%lld bytes)", (long long)len);
    return o;
}

struct br_log_str br_log_cstr(const char *s) { return br_log_str(s, s ? (int64_t)strlen(s) : -1); }

/* ---- repetitive lines ------------------------------------------------------------------- */

static int64_t real_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t (*_Atomic clock_ms)(void) = real_clock_ms;

void br_log__set_clock(int64_t (*now_ms)(void)) { clock_ms = now_ms ? now_ms : real_clock_ms; }

/* Every call site that has logged, pushed once and never removed (their storage is static),
 * so br_log_flush_limited walks it without a lock. */
static struct br_log_limit *_Atomic registry;

struct summary {
    enum br_log_level level;
    uint32_t n;
    char msg[sizeof(((struct br_log_limit *)0)->last)];
};

/* With lim->lock held: if the window is over, takes its summary (if any) and closes it. */
static void close_window(struct br_log_limit *lim, int64_t now, struct summary *out)
{
    out->n = 0;
    if (lim->window_start == 0 || now - lim->window_start < BR_LOG_LIMIT_WINDOW_MS)
        return;
    if (lim->suppressed > 0) {
        out->level = lim->level;
        out->n = lim->suppressed;
        memcpy(out->msg, lim->last, sizeof(out->msg));
    }
    lim->window_start = 0;
    lim->printed = 0;
    lim->suppressed = 0;
}

static void emit_summary(const struct summary *s)
{
    char suffix[96];
    snprintf(suffix, sizeof(suffix), " (%u more like this in the last %d s)", s->n,
             BR_LOG_LIMIT_WINDOW_MS / 1000);
    emit(s->level, s->msg, suffix);
}

void br_log_limited(struct br_log_limit *lim, enum br_log_level level, const char *fmt, ...)
{
    if (!br_log_on(level))
        return;
    char msg[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    format_message(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int64_t now = clock_ms();
    struct summary old;
    pthread_mutex_lock(&lim->lock);
    if (!lim->registered) {
        lim->registered = true;
        struct br_log_limit *head = atomic_load(&registry);
        do
            lim->next = head;
        while (!atomic_compare_exchange_weak(&registry, &head, lim));
    }
    close_window(lim, now, &old);
    if (lim->window_start == 0)
        lim->window_start = now;
    bool print = lim->printed < BR_LOG_LIMIT_BURST;
    if (print) {
        lim->printed++;
    } else {
        lim->suppressed++;
        lim->level = level;
        snprintf(lim->last, sizeof(lim->last), "%s", msg);
    }
    pthread_mutex_unlock(&lim->lock);
    if (old.n)
        emit_summary(&old);
    if (print)
        emit(level, msg, NULL);
}

void br_log_flush_limited(void)
{
    int64_t now = clock_ms();
    for (struct br_log_limit *lim = atomic_load(&registry); lim; lim = lim->next) {
        struct summary s;
        pthread_mutex_lock(&lim->lock);
        close_window(lim, now, &s);
        pthread_mutex_unlock(&lim->lock);
        if (s.n)
            emit_summary(&s);
    }
}
