/*
 * sb_util — clocks, argument parsing, run statistics, temporary directories, the machine
 * description and the record payload/digest of splicelog-bench (see sb.h). Pure functions and
 * system queries only: the unit suite (tests/unit/test_sb_hist.c) compiles this file in.
 */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "sb.h"

uint64_t sb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t sb_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int64_t sb_self_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts))
        return -errno;
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int sb_parse_size(const char *s, long long *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v > 0))
        return -EINVAL;
    double mul = 1;
    if (*end) {
        static const struct {
            const char *suffix;
            double mul;
        } units[] = {{"k", 1024.0},         {"kb", 1024.0},
                     {"kib", 1024.0},       {"m", 1048576.0},
                     {"mb", 1048576.0},     {"mib", 1048576.0},
                     {"g", 1073741824.0},   {"gb", 1073741824.0},
                     {"gib", 1073741824.0}, {"b", 1}};
        size_t i;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (!strcasecmp(end, units[i].suffix))
                break;
        if (i == sizeof(units) / sizeof(units[0]))
            return -EINVAL;
        mul = units[i].mul;
    }
    v *= mul;
    if (v < 1 || v > 9e18)
        return -EINVAL;
    *out = (long long)v;
    return 0;
}

int sb_parse_duration_ms(const char *s, long long *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v > 0))
        return -EINVAL;
    double ms;
    if (!*end || !strcmp(end, "s"))
        ms = v * 1000;
    else if (!strcmp(end, "ms"))
        ms = v;
    else if (!strcmp(end, "m"))
        ms = v * 60000;
    else
        return -EINVAL;
    if (ms < 1 || ms > 86400000.0)
        return -EINVAL;
    *out = (long long)ms;
    return 0;
}

int sb_parse_long(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

int sb_parse_list(const char *s, long long min, long long max, long long *out, int cap)
{
    char buf[256];
    if (strlen(s) >= sizeof(buf))
        return -EINVAL;
    snprintf(buf, sizeof(buf), "%s", s);
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (n == cap || sb_parse_long(p, min, max, &out[n]))
            return -EINVAL;
        n++;
    }
    return n > 0 ? n : -EINVAL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void sb_stat_of(const double *v, int n, struct sb_stat *out)
{
    double tmp[SB_MAX_RUNS];
    int k = 0;
    for (int i = 0; i < n && i < SB_MAX_RUNS; i++)
        if (!isnan(v[i]))
            tmp[k++] = v[i];
    out->n = k;
    if (!k) {
        out->min = out->median = out->max = NAN;
        return;
    }
    qsort(tmp, (size_t)k, sizeof(double), cmp_double);
    out->min = tmp[0];
    out->max = tmp[k - 1];
    out->median = k % 2 ? tmp[k / 2] : (tmp[k / 2 - 1] + tmp[k / 2]) / 2;
}

double sb_stat_spread(const struct sb_stat *s)
{
    if (s->n < 2 || !(s->median != 0))
        return 0;
    return (s->max - s->min) / fabs(s->median);
}

int sb_tmpdir_new(char *dir, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(dir, len, "%s/splicelog-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return mkdtemp(dir) ? 0 : -errno;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void sb_tmpdir_free(const char *dir)
{
    if (dir && *dir)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void sb_machine_get(struct sb_machine *m)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->cpu_model, sizeof(m->cpu_model), "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof(line), f)) {
            if (strncmp(line, "model name", 10))
                continue;
            char *c = strchr(line, ':');
            if (!c)
                continue;
            c++;
            while (*c == ' ' || *c == '\t')
                c++;
            c[strcspn(c, "\n")] = 0;
            snprintf(m->cpu_model, sizeof(m->cpu_model), "%.120s", c);
            break;
        }
        fclose(f);
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    m->cores = n > 0 ? (int)n : 1;
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->kernel, sizeof(m->kernel), "%.20s %.100s", u.sysname, u.release);
}

double sb_loadavg1(void)
{
    double l[1];
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

void sb_fs_type(const char *path, char *buf, size_t len)
{
    static const struct {
        unsigned long magic;
        const char *name;
    } known[] = {{0xEF53, "ext4"},      {0x01021994, "tmpfs"},   {0x58465342, "xfs"},
                 {0x9123683E, "btrfs"}, {0x794c7630, "overlay"}, {0x2fc12fc1, "zfs"},
                 {0x6969, "nfs"},       {0x65735546, "fuse"}};
    struct statfs st;
    if (statfs(path, &st)) {
        snprintf(buf, len, "unknown (%s)", strerror(errno));
        return;
    }
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if ((unsigned long)st.f_type == known[i].magic) {
            snprintf(buf, len, "%s", known[i].name);
            return;
        }
    snprintf(buf, len, "0x%lx", (unsigned long)st.f_type);
}

long long sb_nofile_raise(long long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return -errno;
    if ((long long)rl.rlim_cur >= want)
        return (long long)rl.rlim_cur;
    if ((long long)rl.rlim_max < want) {
        struct rlimit up = {(rlim_t)want, (rlim_t)want};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            return want;
    }
    rl.rlim_cur = (long long)rl.rlim_max < want ? rl.rlim_max : (rlim_t)want;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return (long long)rl.rlim_cur;
}

uint64_t sb_record_digest(const void *value, size_t len) { return XXH3_64bits(value, len); }

static void store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void sb_value_fill(uint8_t *buf, size_t len, uint64_t seq, uint64_t send_ns)
{
    if (len < SB_VALUE_MIN)
        return;
    store_le64(buf, seq);
    store_le64(buf + 8, send_ns);
    /* Filler: a cheap generator seeded by seq, so that records differ but compress poorly. */
    uint64_t x = seq * 0x9e3779b97f4a7c15ULL + 1;
    size_t i = SB_VALUE_MIN;
    for (; i + 8 <= len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(buf + i, &x, 8);
    }
    for (; i < len; i++)
        buf[i] = (uint8_t)(x >> (8 * (i & 7)));
}

bool sb_value_filler_ok(const void *value, size_t len)
{
    if (len < SB_VALUE_MIN)
        return false;
    const uint8_t *buf = value;
    uint64_t x = load_le64(buf) * 0x9e3779b97f4a7c15ULL + 1, y;
    size_t i = SB_VALUE_MIN;
    for (; i + 8 <= len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&y, buf + i, 8);
        if (y != x)
            return false;
    }
    for (; i < len; i++)
        if (buf[i] != (uint8_t)(x >> (8 * (i & 7))))
            return false;
    return true;
}

uint64_t sb_value_send_ns(const void *value, size_t len)
{
    return len >= SB_VALUE_MIN ? load_le64((const uint8_t *)value + 8) : 0;
}

uint64_t sb_value_seq(const void *value, size_t len)
{
    return len >= SB_VALUE_MIN ? load_le64(value) : 0;
}
