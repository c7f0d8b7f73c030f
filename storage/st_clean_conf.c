/*
 * st_clean_conf — every compaction key in one place: Kafka's names at topic level (CreateTopics
 * configs, the topic metadata file, and later AlterConfigs) and at broker level (the
 * log.cleaner.* defaults), their defaults, their text form. A key known here is parsed
 * nowhere else; the per-topic config mechanism calls st_clean_config_set() for the keys it
 * does not know itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_clean.h"

void st_clean_config_default(struct st_log_config *c)
{
    c->cleanup_policy = ST_CLEANUP_DELETE;
    c->min_cleanable_ratio = 0.5;
    c->min_compaction_lag_ms = 0;
    c->max_compaction_lag_ms = INT64_MAX;
    c->delete_retention_ms = 86400000;
    c->cleaner_threads = 1;
    c->cleaner_io_max_bps = -1;
    c->cleaner_backoff_ms = 15000;
    c->cleaner_dedupe_bytes = 128LL << 20;
}

/* "delete", "compact", "compact,delete" / "delete,compact" (spaces allowed around items). */
static int parse_policy(const char *v, int32_t *out)
{
    int32_t p = 0;
    const char *s = v;
    for (;;) {
        while (*s == ' ')
            s++;
        const char *e = s;
        while (*e && *e != ',' && *e != ' ')
            e++;
        size_t n = (size_t)(e - s);
        if (n == 6 && memcmp(s, "delete", 6) == 0)
            p |= ST_CLEANUP_DELETE;
        else if (n == 7 && memcmp(s, "compact", 7) == 0)
            p |= ST_CLEANUP_COMPACT;
        else
            return -EINVAL;
        while (*e == ' ')
            e++;
        if (*e == 0)
            break;
        if (*e != ',')
            return -EINVAL;
        s = e + 1;
    }
    *out = p;
    return 0;
}

static int parse_i64(const char *v, int64_t min, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || end == v || x < min)
        return -EINVAL;
    *out = x;
    return 0;
}

enum {
    K_POLICY,
    K_RATIO,
    K_MINLAG,
    K_MAXLAG,
    K_DELRET,
    K_THREADS,
    K_IO,
    K_BACKOFF,
    K_DEDUPE,
    K_ENABLE
};

static const struct {
    const char *topic; /* NULL: broker only */
    const char *broker;
    int kind;
} KEYS[] = {
    {"cleanup.policy", "log.cleanup.policy", K_POLICY},
    {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", K_RATIO},
    {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", K_MINLAG},
    {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", K_MAXLAG},
    {"delete.retention.ms", "log.cleaner.delete.retention.ms", K_DELRET},
    {NULL, "log.cleaner.threads", K_THREADS},
    {NULL, "log.cleaner.io.max.bytes.per.second", K_IO},
    {NULL, "log.cleaner.backoff.ms", K_BACKOFF},
    {NULL, "log.cleaner.dedupe.buffer.size", K_DEDUPE},
    {NULL, "log.cleaner.enable", K_ENABLE},
};

int st_clean_config_set(struct st_log_config *c, const char *key, const char *v)
{
    int kind = -1;
    for (size_t i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]) && kind < 0; i++)
        if ((KEYS[i].topic && strcmp(key, KEYS[i].topic) == 0) || strcmp(key, KEYS[i].broker) == 0)
            kind = KEYS[i].kind;
    if (kind < 0)
        return -ENOENT;
    int64_t x;
    switch (kind) {
    case K_POLICY: {
        int32_t p;
        if (parse_policy(v, &p) < 0)
            return -EINVAL;
        c->cleanup_policy = p;
        return 0;
    }
    case K_RATIO: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (errno || *end || end == v || !(d >= 0.0 && d <= 1.0))
            return -EINVAL;
        c->min_cleanable_ratio = d;
        return 0;
    }
    case K_MINLAG:
        if (parse_i64(v, 0, &x) < 0)
            return -EINVAL;
        c->min_compaction_lag_ms = x;
        return 0;
    case K_MAXLAG:
        if (parse_i64(v, 1, &x) < 0)
            return -EINVAL;
        c->max_compaction_lag_ms = x;
        return 0;
    case K_DELRET:
        if (parse_i64(v, 0, &x) < 0)
            return -EINVAL;
        c->delete_retention_ms = x;
        return 0;
    case K_THREADS:
        if (parse_i64(v, 0, &x) < 0 || x > 64)
            return -EINVAL;
        c->cleaner_threads = (int32_t)x;
        return 0;
    case K_IO: {
        /* Kafka's value is a double (default Double.MaxValue): whole bytes here */
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (errno == EINVAL || *end || end == v || !(d > 0.0))
            return -EINVAL;
        c->cleaner_io_max_bps = d >= 9.0e18 ? -1 : (int64_t)d;
        return 0;
    }
    case K_BACKOFF:
        if (parse_i64(v, 1, &x) < 0)
            return -EINVAL;
        c->cleaner_backoff_ms = x;
        return 0;
    case K_DEDUPE:
        if (parse_i64(v, 1 << 16, &x) < 0)
            return -EINVAL;
        c->cleaner_dedupe_bytes = x;
        return 0;
    case K_ENABLE:
        if (strcmp(v, "false") == 0)
            c->cleaner_threads = 0;
        else if (strcmp(v, "true") != 0)
            return -EINVAL;
        else if (c->cleaner_threads == 0)
            c->cleaner_threads = 1;
        return 0;
    }
    return -ENOENT;
}

int st_clean_config_format(const struct st_log_config *c, const struct st_log_config *base,
                           char *buf, size_t cap)
{
    size_t len = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(buf + len, len < cap ? cap - len : 0, __VA_ARGS__);                      \
        if (k_ > 0)                                                                                \
            len += (size_t)k_;                                                                     \
    } while (0)
    if (c->cleanup_policy != base->cleanup_policy) {
        int32_t p = c->cleanup_policy;
        PUT("cleanup.policy=%s\n", p == (ST_CLEANUP_COMPACT | ST_CLEANUP_DELETE) ? "compact,delete"
                                   : p == ST_CLEANUP_COMPACT                     ? "compact"
                                                                                 : "delete");
    }
    if (c->min_cleanable_ratio != base->min_cleanable_ratio)
        PUT("min.cleanable.dirty.ratio=%.17g\n", c->min_cleanable_ratio);
    if (c->min_compaction_lag_ms != base->min_compaction_lag_ms)
        PUT("min.compaction.lag.ms=%" PRId64 "\n", c->min_compaction_lag_ms);
    if (c->max_compaction_lag_ms != base->max_compaction_lag_ms)
        PUT("max.compaction.lag.ms=%" PRId64 "\n", c->max_compaction_lag_ms);
    if (c->delete_retention_ms != base->delete_retention_ms)
        PUT("delete.retention.ms=%" PRId64 "\n", c->delete_retention_ms);
#undef PUT
    return (int)len;
}
