/*
 * st_clean_conf — every compaction key in one place: Kafka's names at topic level (CreateTopics
 * configs, AlterConfigs and the topic metadata file, all through the store's per-topic keys
 * ST_TK_CLEANUP_POLICY.. of st.h) and at broker level (the log.cleaner.* defaults), their
 * defaults, ranges and text form. A key known here is parsed nowhere else: st_store.c's
 * st_topic_key_get/set/parse/format call in here for these keys.
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

/* The topic-level keys, in the order of enum st_topic_key from ST_TK_CLEANUP_POLICY (the
 * first ST_CLEAN_NKEYS rows of KEYS). */
_Static_assert(ST_TK_COUNT - ST_TK_CLEANUP_POLICY == ST_CLEAN_NKEYS, "one row per topic key");

const char *st_clean_key_name(int i) { return i >= 0 && i < ST_CLEAN_NKEYS ? KEYS[i].topic : NULL; }

int64_t st_clean_key_get(const struct st_log_config *c, int i)
{
    int64_t bits;
    switch (i) {
    case K_POLICY:
        return c->cleanup_policy;
    case K_RATIO:
        memcpy(&bits, &c->min_cleanable_ratio, sizeof(bits));
        return bits;
    case K_MINLAG:
        return c->min_compaction_lag_ms;
    case K_MAXLAG:
        return c->max_compaction_lag_ms;
    case K_DELRET:
        return c->delete_retention_ms;
    }
    return 0;
}

int st_clean_key_set(struct st_log_config *c, int i, int64_t v)
{
    double d;
    switch (i) {
    case K_POLICY:
        if (v < ST_CLEANUP_DELETE || v > (ST_CLEANUP_DELETE | ST_CLEANUP_COMPACT))
            return -EINVAL;
        c->cleanup_policy = (int32_t)v;
        return 0;
    case K_RATIO:
        memcpy(&d, &v, sizeof(d));
        if (!(d >= 0.0 && d <= 1.0))
            return -EINVAL;
        c->min_cleanable_ratio = d;
        return 0;
    case K_MINLAG:
    case K_DELRET:
        if (v < 0)
            return -EINVAL;
        if (i == K_MINLAG)
            c->min_compaction_lag_ms = v;
        else
            c->delete_retention_ms = v;
        return 0;
    case K_MAXLAG:
        if (v < 1)
            return -EINVAL;
        c->max_compaction_lag_ms = v;
        return 0;
    }
    return -EINVAL;
}

int st_clean_key_format(const struct st_log_config *c, int i, char *buf, size_t cap)
{
    switch (i) {
    case K_POLICY: {
        int32_t p = c->cleanup_policy;
        return snprintf(buf, cap, "%s",
                        p == (ST_CLEANUP_COMPACT | ST_CLEANUP_DELETE) ? "compact,delete"
                        : p == ST_CLEANUP_COMPACT                     ? "compact"
                                                                      : "delete");
    }
    case K_RATIO: { /* the shortest text that reads back as the same double */
        char t[32];
        for (int prec = 1; prec < 17; prec++) {
            snprintf(t, sizeof(t), "%.*g", prec, c->min_cleanable_ratio);
            if (strtod(t, NULL) == c->min_cleanable_ratio)
                return snprintf(buf, cap, "%s", t);
        }
        return snprintf(buf, cap, "%.17g", c->min_cleanable_ratio);
    }
    case K_MINLAG:
    case K_MAXLAG:
    case K_DELRET:
        return snprintf(buf, cap, "%" PRId64, st_clean_key_get(c, i));
    }
    return snprintf(buf, cap, "%s", "");
}
