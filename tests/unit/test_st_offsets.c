/*
 * test_st_offsets — the committed-offsets store: commits and reads, reopen replays, crash
 * loops over the last record (cut at every byte, or garbage from every byte), a corrupt record
 * in the middle, compaction, metadata limits, retention of empty groups.
 */
#include "st_offsets.h"
#include "test_st_util.h"

#include "kp_buf.h"
#include "kp_crc32c.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/*
 * Fault injection: this binary's fsync and fdatasync replace libc's (the executable's
 * definition wins; the sanitizers do not intercept either), so a test can make the disk refuse
 * a directory sync or a file sync at a chosen moment. Off unless a test sets the flags.
 */
static int fail_dir_fsync; /* fsync of a directory fails with EIO */
static int fail_fdatasync; /* fdatasync fails with EIO */

static bool is_dir(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

int fsync(int fd)
{
    if (fail_dir_fsync && is_dir(fd)) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fsync, fd);
}

static int n_fdatasync; /* calls so far */
/* runs once, inside the next fdatasync of offsets.tmp (then cleared) */
static void (*on_tmp_sync)(void);

static bool is_tmp(int fd)
{
    char link[64], target[1024];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return false;
    target[n] = 0;
    return n >= 11 && strcmp(target + n - 11, "offsets.tmp") == 0;
}

int fdatasync(int fd)
{
    n_fdatasync++;
    if (on_tmp_sync && is_tmp(fd)) {
        void (*fn)(void) = on_tmp_sync;
        on_tmp_sync = NULL;
        fn();
    }
    if (fail_fdatasync) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fdatasync, fd);
}

static char dir[256];
static char logpath[512];
static int nlines; /* log lines the store emitted */
static char last_line[1024];

static void on_log(void *arg, const char *msg)
{
    (void)arg;
    nlines++;
    snprintf(last_line, sizeof(last_line), "%s", msg);
}

static bool active_left;

static void setup(void)
{
    active_left = false;
    fail_dir_fsync = 0;
    fail_fdatasync = 0;
    on_tmp_sync = NULL;
    tst_mkdtemp(dir, sizeof(dir));
    snprintf(logpath, sizeof(logpath), "%s/%s/offsets.log", dir, ST_OFFSETS_DIR);
    nlines = 0;
    last_line[0] = 0;
}

static void teardown(void) { tst_rmrf(dir); }

static struct st_offsets *open_store(void)
{
    struct st_offsets_opts op;
    st_offsets_opts_default(&op);
    op.log_fn = on_log;
    struct st_offsets *o;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    return o;
}

static int commit(struct st_offsets *o, const char *g, const char *t, int32_t p, int64_t off,
                  const char *meta, int64_t now)
{
    return st_offsets_commit(o, g, strlen(g), t, strlen(t), p, off, meta, meta ? strlen(meta) : 0,
                             now);
}

/* The committed offset, or -1; meta (if given, 256 bytes) gets the metadata, NUL-terminated. */
static int64_t get(struct st_offsets *o, const char *g, const char *t, int32_t p, char *meta)
{
    int64_t off = -1;
    char m[256];
    size_t mlen = 0;
    int rc = st_offsets_get(o, g, strlen(g), t, strlen(t), p, &off, m, sizeof(m) - 1, &mlen);
    if (rc == -ENOENT)
        return -1;
    ck_assert_int_eq(rc, 0);
    if (meta) {
        ck_assert_uint_lt(mlen, sizeof(m));
        memcpy(meta, m, mlen);
        meta[mlen] = 0;
    }
    return off;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

START_TEST(t_commit_get_overwrite)
{
    struct st_offsets *o = open_store();
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), -1);
    ck_assert_int_eq(commit(o, "g", "t", 0, 42, "m1", 1000), 0);
    char m[256];
    ck_assert_int_eq(get(o, "g", "t", 0, m), 42);
    ck_assert_str_eq(m, "m1");
    ck_assert_int_eq(get(o, "g", "t", 1, NULL), -1);
    ck_assert_int_eq(get(o, "g2", "t", 0, NULL), -1);
    ck_assert_int_eq(get(o, "g", "u", 0, NULL), -1);
    /* overwrite: new offset, longer then shorter then no metadata */
    ck_assert_int_eq(commit(o, "g", "t", 0, 43, "longer metadata", 1001), 0);
    ck_assert_int_eq(get(o, "g", "t", 0, m), 43);
    ck_assert_str_eq(m, "longer metadata");
    ck_assert_int_eq(commit(o, "g", "t", 0, 44, "ab", 1002), 0);
    ck_assert_int_eq(get(o, "g", "t", 0, m), 44);
    ck_assert_str_eq(m, "ab");
    ck_assert_int_eq(commit(o, "g", "t", 0, 45, NULL, 1003), 0);
    ck_assert_int_eq(get(o, "g", "t", 0, m), 45);
    ck_assert_str_eq(m, "");
    struct st_offsets_stats s;
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.entries, 1);
    ck_assert_int_eq(s.groups, 1);
    ck_assert_int_gt(s.file_bytes, s.live_bytes);
    /* bad arguments */
    ck_assert_int_eq(commit(o, "", "t", 0, 1, NULL, 1), -EINVAL);
    ck_assert_int_eq(commit(o, "g", "", 0, 1, NULL, 1), -EINVAL);
    ck_assert_int_eq(commit(o, "g", "t", -1, 1, NULL, 1), -EINVAL);
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 45);
    st_offsets_close(o);
}
END_TEST

/* ---- the observer (st_offsets_set_observer: br_cotopic's mirror) ---------------------------- */

struct seen {
    int calls;
    int n;
    char line[32][96]; /* "S g t/p=offset meta @ms" | "R g t/p" | "G g" */
};

static void observe_fn(void *arg, const struct st_offset_change *c, int n)
{
    struct seen *s = arg;
    s->calls++;
    for (int i = 0; i < n && s->n < 32; i++) {
        char *l = s->line[s->n++];
        int gl = (int)c[i].group_len, tl = (int)c[i].e.topic_len, ml = (int)c[i].e.metadata_len;
        if (c[i].kind == ST_OFS_SET)
            snprintf(l, 96, "S %.*s %.*s/%d=%lld %.*s @%lld", gl, c[i].group, tl, c[i].e.topic,
                     c[i].e.partition, (long long)c[i].e.offset, ml, ml ? c[i].e.metadata : "",
                     (long long)c[i].e.commit_ms);
        else if (c[i].kind == ST_OFS_TXN_SET)
            snprintf(l, 96, "T%lld.%d %.*s %.*s/%d=%lld @%lld", (long long)c[i].producer_id,
                     c[i].producer_epoch, gl, c[i].group, tl, c[i].e.topic, c[i].e.partition,
                     (long long)c[i].e.offset, (long long)c[i].e.commit_ms);
        else if (c[i].kind == ST_OFS_REMOVED)
            snprintf(l, 96, "R %.*s %.*s/%d", gl, c[i].group, tl, c[i].e.topic, c[i].e.partition);
        else
            snprintf(l, 96, "G %.*s", gl, c[i].group);
    }
}

static bool seen_has(const struct seen *s, int from, int to, const char *line)
{
    for (int i = from; i < to && i < s->n; i++)
        if (strcmp(s->line[i], line) == 0)
            return true;
    return false;
}

START_TEST(t_observer_sees_every_change_once)
{
    struct st_offsets *o = open_store();
    struct seen s = {0};
    st_offsets_set_observer(o, observe_fn, &s);
    /* a commit of two items: one call, two changes, in order */
    struct st_offset_commit items[] = {{"t", 1, 0, 10, "m", 1}, {"t", 1, 1, 11, NULL, 0}};
    int res[2];
    ck_assert_int_eq(st_offsets_commit_batch(o, "g", 1, items, 2, 1000, res), 0);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.line[0], "S g t/0=10 m @1000");
    ck_assert_str_eq(s.line[1], "S g t/1=11  @1000");
    /* a transaction's commit is seen as pending (its producer), then at its end only on
     * commit, as set */
    struct st_offset_commit tx[] = {{"t", 1, 0, 20, NULL, 0}};
    ck_assert_int_eq(st_offsets_txn_commit_batch(o, "g", 1, 7, 3, tx, 1, 1100, res), 0);
    ck_assert_int_eq(s.calls, 2);
    ck_assert_str_eq(s.line[2], "T7.3 g t/0=20 @1100");
    ck_assert_int_eq(st_offsets_txn_end(o, "g", 1, 7, 3, true, 1200), 0);
    ck_assert_int_eq(s.calls, 3);
    ck_assert_str_eq(s.line[3], "S g t/0=20  @1100");
    tx[0].offset = 30;
    ck_assert_int_eq(st_offsets_txn_commit_batch(o, "g", 1, 8, 0, tx, 1, 1300, res), 0);
    ck_assert_int_eq(st_offsets_txn_end(o, "g", 1, 8, 0, false, 1400), 0);
    ck_assert_int_eq(s.n, 5); /* aborted: nothing past the pending one */
    ck_assert_str_eq(s.line[4], "T8.0 g t/0=30 @1300");
    /* one key deleted; then the group (its other key, then the group) */
    ck_assert_int_eq(st_offsets_delete(o, "g", 1, "t", 1, 1), 1);
    ck_assert_int_eq(s.n, 6);
    ck_assert_str_eq(s.line[5], "R g t/1");
    ck_assert_int_eq(st_offsets_delete_group(o, "g", 1), 1);
    ck_assert_int_eq(s.n, 8);
    ck_assert_str_eq(s.line[6], "R g t/0");
    ck_assert_str_eq(s.line[7], "G g");
    /* expiry of two groups in one write: one call */
    ck_assert_int_eq(commit(o, "a", "t", 0, 1, NULL, 2000), 0);
    ck_assert_int_eq(commit(o, "b", "t", 0, 2, NULL, 2000), 0);
    int calls = s.calls;
    ck_assert_int_eq(st_offsets_expire(o, 9000, 1000, NULL, NULL), 2);
    ck_assert_int_eq(s.calls, calls + 1);
    ck_assert_int_eq(s.n, 12);
    ck_assert(seen_has(&s, 10, 12, "R a t/0") && seen_has(&s, 10, 12, "R b t/0"));
    /* detached: nothing more */
    st_offsets_set_observer(o, NULL, NULL);
    ck_assert_int_eq(commit(o, "c", "t", 0, 3, NULL, 3000), 0);
    ck_assert_int_eq(s.n, 12);
    st_offsets_close(o);
}
END_TEST

struct collect {
    int n;
    char line[64][64];
};

static void collect_fn(void *arg, const struct st_offset_entry *e)
{
    struct collect *c = arg;
    ck_assert_int_lt(c->n, 64);
    snprintf(c->line[c->n++], 64, "%.*s/%d=%lld:%.*s", (int)e->topic_len, e->topic, e->partition,
             (long long)e->offset, (int)e->metadata_len, e->metadata ? e->metadata : "");
}

struct all {
    int n, group_changes;
    char last[32];
    int64_t offset_sum, want_sum;
};

static void all_fn(void *arg, const char *group, size_t len, const struct st_offset_entry *e)
{
    struct all *a = arg;
    char g[32];
    snprintf(g, sizeof g, "%.*s", (int)len, group);
    if (strcmp(g, a->last) != 0) {
        a->group_changes++;
        snprintf(a->last, sizeof a->last, "%s", g);
    }
    a->n++;
    a->offset_sum += e->offset;
    /* what the test committed: group-G topic-T p -> G*1000 + T*10 + p; solo a/b: 7..10 */
    int gi, ti;
    if (sscanf(g, "group-%d", &gi) == 1 && sscanf(e->topic, "topic-%d", &ti) == 1)
        a->want_sum += gi * 1000 + ti * 10 + e->partition;
    else
        a->want_sum += e->offset;
}

/* One key forgotten (OffsetDelete), the others kept; the tombstone holds after a reopen. */
START_TEST(t_delete_one_key)
{
    struct st_offsets *o = open_store();
    ck_assert_int_eq(commit(o, "g", "t", 0, 10, NULL, 1), 0);
    ck_assert_int_eq(commit(o, "g", "t", 1, 11, NULL, 1), 0);
    ck_assert_int_eq(st_offsets_delete(o, "g", 1, "t", 1, 0), 1);
    ck_assert_int_eq(st_offsets_delete(o, "g", 1, "t", 1, 0), 0); /* gone already */
    ck_assert_int_eq(st_offsets_delete(o, "x", 1, "t", 1, 0), 0);
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), -1);
    ck_assert_int_eq(get(o, "g", "t", 1, NULL), 11);
    st_offsets_close(o);
    o = open_store();
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), -1);
    ck_assert_int_eq(get(o, "g", "t", 1, NULL), 11);
    st_offsets_close(o);
}
END_TEST

START_TEST(t_many_groups_and_foreach)
{
    struct st_offsets *o = open_store();
    char g[32], t[32];
    for (int gi = 0; gi < 300; gi++) {
        snprintf(g, sizeof(g), "group-%d", gi);
        for (int ti = 0; ti < 3; ti++) {
            snprintf(t, sizeof(t), "topic-%d", ti);
            for (int p = 0; p < 4; p++)
                ck_assert_int_eq(commit(o, g, t, p, gi * 1000 + ti * 10 + p, NULL, 5), 0);
        }
    }
    struct st_offsets_stats s;
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.entries, 300 * 12);
    ck_assert_int_eq(s.groups, 300);
    for (int gi = 0; gi < 300; gi += 37)
        for (int ti = 0; ti < 3; ti++)
            for (int p = 0; p < 4; p++) {
                snprintf(g, sizeof(g), "group-%d", gi);
                snprintf(t, sizeof(t), "topic-%d", ti);
                ck_assert_int_eq(get(o, g, t, p, NULL), gi * 1000 + ti * 10 + p);
            }
    /* foreach: grouped by topic, partitions ascending, only that group */
    ck_assert_int_eq(commit(o, "solo", "b", 2, 7, "x", 5), 0);
    ck_assert_int_eq(commit(o, "solo", "a", 1, 8, NULL, 5), 0);
    ck_assert_int_eq(commit(o, "solo", "b", 0, 9, NULL, 5), 0);
    ck_assert_int_eq(commit(o, "solo", "a", 0, 10, NULL, 5), 0);
    struct collect c = {0};
    ck_assert_int_eq(st_offsets_foreach(o, "solo", 4, collect_fn, &c), 4);
    ck_assert_int_eq(c.n, 4);
    ck_assert_str_eq(c.line[0], "a/0=10:");
    ck_assert_str_eq(c.line[1], "a/1=8:");
    ck_assert_str_eq(c.line[2], "b/0=9:");
    ck_assert_str_eq(c.line[3], "b/2=7:x");
    /* foreach_all: every entry once, a group's entries in a row, bounded by max */
    struct all a = {0};
    ck_assert_int_eq(st_offsets_foreach_all(o, -1, all_fn, &a), 300 * 12 + 4);
    ck_assert_int_eq(a.n, 300 * 12 + 4);
    ck_assert_int_eq(a.group_changes, 301);
    ck_assert_int_eq(a.offset_sum, a.want_sum);
    memset(&a, 0, sizeof a);
    ck_assert_int_eq(st_offsets_foreach_all(o, 100, all_fn, &a), 100);
    ck_assert_int_eq(a.n, 100);
    c.n = 0;
    ck_assert_int_eq(st_offsets_foreach(o, "nobody", 6, collect_fn, &c), 0);
    ck_assert_int_eq(c.n, 0);
    /* delete a group: its keys go, the others stay, and it stays deleted after reopen */
    ck_assert_int_eq(st_offsets_delete_group(o, "group-5", 7), 12);
    ck_assert_int_eq(st_offsets_delete_group(o, "group-5", 7), 0);
    ck_assert_int_eq(get(o, "group-5", "topic-0", 0, NULL), -1);
    ck_assert_int_eq(get(o, "group-6", "topic-0", 0, NULL), 6000);
    st_offsets_close(o);
    o = open_store();
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.entries, 299 * 12 + 4);
    ck_assert_int_eq(s.groups, 300);
    ck_assert_int_eq(get(o, "group-5", "topic-0", 0, NULL), -1);
    ck_assert_int_eq(get(o, "group-299", "topic-2", 3, NULL), 299023);
    ck_assert_int_eq(nlines, 0);
    st_offsets_close(o);
}
END_TEST

START_TEST(t_reopen_replays_in_order)
{
    struct st_offsets *o = open_store();
    ck_assert_int_eq(commit(o, "g", "t", 0, 1, "a", 1), 0);
    ck_assert_int_eq(commit(o, "g", "t", 1, 2, "b", 1), 0);
    ck_assert_int_eq(commit(o, "g", "t", 0, 3, "c", 2), 0);
    ck_assert_int_eq(commit(o, "h", "t", 0, 4, NULL, 2), 0);
    ck_assert_int_eq(st_offsets_delete_group(o, "h", 1), 1);
    ck_assert_int_eq(commit(o, "h", "t", 5, 5, NULL, 3), 0);
    int64_t size = file_size(logpath);
    /* no close: a kill -9 leaves the file as the write()s made it */
    struct st_offsets *o2 = open_store();
    char m[256];
    ck_assert_int_eq(get(o2, "g", "t", 0, m), 3);
    ck_assert_str_eq(m, "c");
    ck_assert_int_eq(get(o2, "g", "t", 1, m), 2);
    ck_assert_str_eq(m, "b");
    ck_assert_int_eq(get(o2, "h", "t", 0, NULL), -1);
    ck_assert_int_eq(get(o2, "h", "t", 5, NULL), 5);
    ck_assert_int_eq(file_size(logpath), size);
    ck_assert_int_eq(nlines, 0);
    st_offsets_close(o2);
    st_offsets_close(o);
}
END_TEST

/*
 * Crash loop: three records, then a fourth; the file is cut at every byte of the fourth, or
 * garbage-filled from every byte of it; reopen must keep exactly the first three and truncate
 * the rest with a log line, and the store must accept commits afterwards.
 */
START_TEST(t_torn_tail_every_byte)
{
    struct st_offsets *o = open_store();
    ck_assert_int_eq(commit(o, "g", "t", 0, 10, "first", 1), 0);
    ck_assert_int_eq(commit(o, "g", "t", 1, 11, NULL, 1), 0);
    ck_assert_int_eq(commit(o, "g2", "u", 0, 12, "third", 1), 0);
    int64_t good = file_size(logpath);
    ck_assert_int_eq(commit(o, "g", "t", 0, 99, "the last one", 2), 0);
    int64_t end = file_size(logpath);
    ck_assert_int_gt(end, good + 8);
    st_offsets_close(o);
    size_t len;
    uint8_t *orig = tst_slurp(logpath, &len);
    ck_assert_int_eq((int64_t)len, end);
    uint64_t rng = 7;
    int runs = 0;
    for (int mode = 0; mode < 2; mode++) {
        for (int64_t cut = good; cut < end; cut++) {
            tst_spit(logpath, orig, len);
            if (mode == 0) {
                ck_assert_int_eq(truncate(logpath, cut), 0);
            } else {
                int fd = open(logpath, O_WRONLY);
                ck_assert_int_ge(fd, 0);
                uint8_t g[256];
                size_t n = (size_t)(end - cut);
                ck_assert_uint_le(n, sizeof(g));
                for (size_t i = 0; i < n; i++)
                    g[i] = (uint8_t)tst_rand(&rng);
                ck_assert_int_eq(pwrite(fd, g, n, cut), (ssize_t)n);
                close(fd);
            }
            nlines = 0;
            o = open_store();
            char m[256];
            ck_assert_int_eq(get(o, "g", "t", 0, m), 10);
            ck_assert_str_eq(m, "first");
            ck_assert_int_eq(get(o, "g", "t", 1, NULL), 11);
            ck_assert_int_eq(get(o, "g2", "u", 0, m), 12);
            ck_assert_str_eq(m, "third");
            ck_assert_int_eq(file_size(logpath), good);
            if (cut > good || mode == 1) {
                ck_assert_int_eq(nlines, 1);
                ck_assert_ptr_nonnull(strstr(last_line, "truncating"));
            }
            /* and the store goes on */
            ck_assert_int_eq(commit(o, "g", "t", 0, 100, NULL, 3), 0);
            st_offsets_close(o);
            o = open_store();
            ck_assert_int_eq(get(o, "g", "t", 0, NULL), 100);
            st_offsets_close(o);
            runs++;
        }
    }
    ck_assert_int_eq(runs, 2 * (end - good));
    /* undamaged: all four */
    tst_spit(logpath, orig, len);
    o = open_store();
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 99);
    st_offsets_close(o);
    free(orig);
}
END_TEST

START_TEST(t_corrupt_crc_in_the_middle)
{
    struct st_offsets *o = open_store();
    ck_assert_int_eq(commit(o, "g", "t", 0, 1, NULL, 1), 0);
    int64_t first_end = file_size(logpath);
    ck_assert_int_eq(commit(o, "g", "t", 1, 2, "meta", 1), 0);
    int64_t second_end = file_size(logpath);
    ck_assert_int_eq(commit(o, "g", "t", 2, 3, NULL, 1), 0);
    st_offsets_close(o);
    /* flip one byte of the second record's metadata */
    int fd = open(logpath, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b;
    ck_assert_int_eq(pread(fd, &b, 1, second_end - 6), 1);
    b ^= 0x40;
    ck_assert_int_eq(pwrite(fd, &b, 1, second_end - 6), 1);
    close(fd);
    o = open_store();
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 1);
    /* nothing past a bad record is trusted */
    ck_assert_int_eq(get(o, "g", "t", 1, NULL), -1);
    ck_assert_int_eq(get(o, "g", "t", 2, NULL), -1);
    ck_assert_int_eq(nlines, 1);
    ck_assert_ptr_nonnull(strstr(last_line, "CRC mismatch"));
    ck_assert_int_eq(file_size(logpath), first_end);
    st_offsets_close(o);
    /* a length field that claims more than the file (or than the cap) is caught the same way */
    fd = open(logpath, O_RDWR);
    uint8_t big[4] = {0x7f, 0xff, 0xff, 0xff};
    ck_assert_int_eq(pwrite(fd, big, 4, 16), 4);
    close(fd);
    nlines = 0;
    o = open_store();
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), -1);
    ck_assert_int_eq(nlines, 1);
    ck_assert_int_eq(file_size(logpath), 16);
    st_offsets_close(o);
    /* a broken header is refused, not guessed at */
    fd = open(logpath, O_RDWR);
    ck_assert_int_eq(pwrite(fd, "XLOF", 4, 0), 4);
    close(fd);
    struct st_offsets *bad;
    ck_assert_int_eq(st_offsets_open(dir, NULL, &bad), -EBADMSG);
}
END_TEST

START_TEST(t_compaction_keeps_live_set)
{
    struct st_offsets_opts op;
    st_offsets_opts_default(&op);
    op.compact_min_bytes = 64 * 1024;
    struct st_offsets *o;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    char meta[100];
    memset(meta, 'm', sizeof(meta) - 1);
    meta[sizeof(meta) - 1] = 0;
    /* 10 groups x 4 partitions, each overwritten many times; group 3 deleted half way */
    int64_t want[10][4];
    for (int round = 0; round < 200; round++) {
        for (int g = 0; g < 10; g++) {
            char gn[16];
            snprintf(gn, sizeof(gn), "g%d", g);
            if (g == 3 && round > 100)
                continue; /* deleted below, not committed again */
            for (int p = 0; p < 4; p++) {
                want[g][p] = round * 100 + g * 10 + p;
                ck_assert_int_eq(commit(o, gn, "topic", p, want[g][p], meta, round), 0);
            }
        }
        if (round == 100)
            ck_assert_int_eq(st_offsets_delete_group(o, "g3", 2), 4);
    }
    ck_assert_int_eq(st_offsets_delete_group(o, "g9", 2), 4);
    struct st_offsets_stats s;
    st_offsets_stats(o, &s);
    ck_assert_int_gt(s.compactions, 0);
    ck_assert_int_eq(s.entries, 8 * 4);
    /* commits alone compact at twice the threshold (no st_offsets_maintain() here) */
    int64_t limit = 4 * s.live_bytes > op.compact_min_bytes ? 4 * s.live_bytes : 64 * 1024;
    ck_assert_int_le(s.file_bytes, 2 * limit);
    ck_assert_int_eq(s.file_bytes, file_size(logpath));
    /* maintenance compacts at the threshold */
    while (s.file_bytes <= limit) {
        ck_assert_int_eq(commit(o, "g0", "topic", 0, want[0][0], meta, 300), 0);
        st_offsets_stats(o, &s);
    }
    int64_t before = s.compactions;
    st_offsets_maintain(o);
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.compactions, before + 1);
    ck_assert_int_eq(s.file_bytes, s.live_bytes);
    st_offsets_maintain(o); /* nothing to do now */
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.compactions, before + 1);
    /* an explicit compaction leaves exactly the live set */
    ck_assert_int_eq(st_offsets_compact(o), 0);
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.file_bytes, s.live_bytes);
    ck_assert_int_eq(file_size(logpath), s.live_bytes);
    int64_t live = s.live_bytes;
    st_offsets_close(o);
    /* no temp file left behind */
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s/%s/offsets.tmp", dir, ST_OFFSETS_DIR);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.entries, 8 * 4);
    ck_assert_int_eq(s.live_bytes, live);
    for (int g = 0; g < 10; g++) {
        char gn[16];
        snprintf(gn, sizeof(gn), "g%d", g);
        for (int p = 0; p < 4; p++) {
            char m[256];
            int64_t off = get(o, gn, "topic", p, m);
            if (g == 3 || g == 9) {
                ck_assert_int_eq(off, -1);
            } else {
                ck_assert_int_eq(off, want[g][p]);
                ck_assert_str_eq(m, meta);
            }
        }
    }
    st_offsets_close(o);
    /* a temp file left by a crash mid-compaction is removed at open, the log is kept */
    tst_spit(tmp, (const uint8_t *)"partial", 7);
    o = open_store();
    ck_assert_int_ne(access(tmp, F_OK), 0);
    ck_assert_int_eq(get(o, "g0", "topic", 0, NULL), want[0][0]);
    st_offsets_close(o);
}
END_TEST

START_TEST(t_metadata_limit)
{
    struct st_offsets_opts op;
    st_offsets_opts_default(&op);
    ck_assert_int_eq(op.metadata_max_bytes, 4096);
    op.metadata_max_bytes = 10;
    struct st_offsets *o;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    ck_assert_int_eq(commit(o, "g", "t", 0, 1, "0123456789", 1), 0);
    ck_assert_int_eq(commit(o, "g", "t", 0, 2, "0123456789A", 1), -EMSGSIZE);
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 1);
    /* in a batch, only the oversized item is refused */
    struct st_offset_commit items[3] = {
        {.topic = "t", .topic_len = 1, .partition = 1, .offset = 5},
        {.topic = "t",
         .topic_len = 1,
         .partition = 2,
         .offset = 6,
         .metadata = "far too long",
         .metadata_len = 12},
        {.topic = "u",
         .topic_len = 1,
         .partition = 0,
         .offset = 7,
         .metadata = "ok",
         .metadata_len = 2},
    };
    int res[3] = {1, 1, 1};
    ck_assert_int_eq(st_offsets_commit_batch(o, "g", 1, items, 3, 9, res), 0);
    ck_assert_int_eq(res[0], 0);
    ck_assert_int_eq(res[1], -EMSGSIZE);
    ck_assert_int_eq(res[2], 0);
    ck_assert_int_eq(get(o, "g", "t", 1, NULL), 5);
    ck_assert_int_eq(get(o, "g", "t", 2, NULL), -1);
    ck_assert_int_eq(get(o, "g", "u", 0, NULL), 7);
    st_offsets_close(o);
    /* a limit beyond the cap is refused */
    op.metadata_max_bytes = ST_OFFSETS_META_CAP + 1;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), -EINVAL);
}
END_TEST

/* Groups with members: -1; "quiet" became empty at 5000; others unknown (0). */
static int64_t empty_since(void *arg, const char *g, size_t len)
{
    (void)arg;
    if (len == 6 && memcmp(g, "active", 6) == 0 && !active_left)
        return -1;
    if (len == 5 && memcmp(g, "quiet", 5) == 0)
        return 5000;
    return 0;
}

START_TEST(t_retention_of_empty_groups)
{
    struct st_offsets *o = open_store();
    const int64_t ret = 1000;
    ck_assert_int_eq(commit(o, "active", "t", 0, 1, NULL, 100), 0);
    ck_assert_int_eq(commit(o, "quiet", "t", 0, 2, NULL, 100), 0);
    ck_assert_int_eq(commit(o, "simple", "t", 0, 3, NULL, 100), 0);
    ck_assert_int_eq(commit(o, "simple", "t", 1, 4, NULL, 2000), 0);
    /* nothing old enough yet */
    ck_assert_int_eq(st_offsets_expire(o, 1099, ret, empty_since, NULL), 0);
    /* simple/0 (committed at 100) expires; simple/1 not; active never; quiet not before 6000 */
    ck_assert_int_eq(st_offsets_expire(o, 1100, ret, empty_since, NULL), 1);
    ck_assert_int_eq(get(o, "simple", "t", 0, NULL), -1);
    ck_assert_int_eq(get(o, "simple", "t", 1, NULL), 4);
    ck_assert_int_eq(st_offsets_expire(o, 5999, ret, empty_since, NULL), 1); /* simple/1 */
    ck_assert_int_eq(get(o, "quiet", "t", 0, NULL), 2);
    ck_assert_int_eq(st_offsets_expire(o, 6000, ret, empty_since, NULL), 1);
    ck_assert_int_eq(get(o, "quiet", "t", 0, NULL), -1);
    ck_assert_int_eq(st_offsets_expire(o, 1000000, ret, empty_since, NULL), 0);
    ck_assert_int_eq(get(o, "active", "t", 0, NULL), 1);
    /* retention < 0 keeps everything; NULL callback treats every group as empty */
    ck_assert_int_eq(st_offsets_expire(o, 1000000, -1, NULL, NULL), 0);
    ck_assert_int_eq(get(o, "active", "t", 0, NULL), 1);
    /* "active" loses its members: retention counts from the last check that saw them
     * (1000000), not from its old commit */
    active_left = true;
    ck_assert_int_eq(st_offsets_expire(o, 1000999, ret, empty_since, NULL), 0);
    ck_assert_int_eq(get(o, "active", "t", 0, NULL), 1);
    st_offsets_close(o);
    o = open_store(); /* the expiries were durable tombstones */
    struct st_offsets_stats s;
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.entries, 1);
    ck_assert_int_eq(st_offsets_expire(o, 1000000, ret, NULL, NULL), 1);
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.entries, 0);
    ck_assert_int_eq(s.groups, 0);
    st_offsets_close(o);
}
END_TEST

START_TEST(t_flush_every_commit)
{
    /* flush_interval_messages = 1: the commit returns after fdatasync (counted in
     * t_fdatasync_per_flush_policy) */
    struct st_offsets_opts op;
    st_offsets_opts_default(&op);
    op.flush_interval_messages = 1;
    op.flush_interval_ms = 0;
    struct st_offsets *o;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(commit(o, "g", "t", i % 3, i, NULL, i), 0);
    st_offsets_maintain(o);
    ck_assert_int_eq(st_offsets_sync(o), 0); /* nothing left to sync */
    struct st_offsets *o2;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o2), 0);
    ck_assert_int_eq(get(o2, "g", "t", 0, NULL), 18);
    ck_assert_int_eq(get(o2, "g", "t", 1, NULL), 19);
    ck_assert_int_eq(get(o2, "g", "t", 2, NULL), 17);
    st_offsets_close(o2);
    st_offsets_close(o);

    /* deferred: -1 never syncs in the commit; st_offsets_sync() does, once for all */
    op.flush_interval_messages = -1;
    op.flush_interval_ms = -1;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(commit(o, "g", "t", 0, 100 + i, NULL, i), 0);
    ck_assert_int_eq(st_offsets_sync(o), 0);
    ck_assert_int_eq(st_offsets_sync(o), 0);
    st_offsets_close(o);
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 104);
    st_offsets_close(o);
}
END_TEST

/* Every byte of a record in the middle, flipped: that record and everything after it go, the
 * ones before stay, and the store works on. */
START_TEST(t_flip_every_byte_of_a_middle_record)
{
    struct st_offsets *o = open_store();
    ck_assert_int_eq(commit(o, "g", "t", 0, 1, "one", 1), 0);
    int64_t a = file_size(logpath);
    ck_assert_int_eq(commit(o, "g", "t", 1, 2, "two", 1), 0);
    int64_t b = file_size(logpath);
    ck_assert_int_eq(commit(o, "g", "t", 2, 3, "three", 1), 0);
    st_offsets_close(o);
    size_t len;
    uint8_t *orig = tst_slurp(logpath, &len);
    for (int64_t pos = a; pos < b; pos++) {
        for (int bit = 0; bit < 8; bit += 7) {
            uint8_t *d = malloc(len);
            ck_assert_ptr_nonnull(d);
            memcpy(d, orig, len);
            d[pos] ^= (uint8_t)(1u << bit);
            tst_spit(logpath, d, len);
            free(d);
            nlines = 0;
            o = open_store();
            ck_assert_int_eq(get(o, "g", "t", 0, NULL), 1);
            ck_assert_int_eq(get(o, "g", "t", 1, NULL), -1);
            ck_assert_int_eq(get(o, "g", "t", 2, NULL), -1);
            ck_assert_int_eq(nlines, 1);
            ck_assert_int_eq(file_size(logpath), a);
            ck_assert_int_eq(commit(o, "g", "t", 1, 20, NULL, 2), 0);
            st_offsets_close(o);
        }
    }
    free(orig);
}
END_TEST

/* Garbage of every length up to 4 KiB after a valid header (and after a valid record): the
 * open never fails or crashes, keeps what was valid, and ends the file at a record boundary. */
START_TEST(t_random_garbage_tail)
{
    struct st_offsets *o = open_store();
    ck_assert_int_eq(commit(o, "g", "t", 0, 7, "keep", 1), 0);
    int64_t good = file_size(logpath);
    st_offsets_close(o);
    size_t len;
    uint8_t *orig = tst_slurp(logpath, &len);
    uint64_t rng = 2024;
    uint8_t *d = malloc(len + 4096);
    ck_assert_ptr_nonnull(d);
    for (int round = 0; round < 300; round++) {
        size_t keep = round % 2 ? 16 : len; /* header only, or header + one record */
        size_t extra = (size_t)(tst_rand(&rng) % 4096) + 1;
        memcpy(d, orig, keep);
        for (size_t i = 0; i < extra; i++)
            d[keep + i] = (uint8_t)tst_rand(&rng);
        if (round % 5 == 0 && extra >= 4) { /* a plausible length field, lying */
            d[keep] = 0;
            d[keep + 1] = 0;
            d[keep + 2] = (uint8_t)(tst_rand(&rng) % 16);
            d[keep + 3] = (uint8_t)tst_rand(&rng);
        }
        tst_spit(logpath, d, keep + extra);
        o = open_store();
        ck_assert_int_eq(get(o, "g", "t", 0, NULL), keep == len ? 7 : -1);
        ck_assert_int_eq(file_size(logpath), keep == len ? good : 16);
        st_offsets_close(o);
    }
    free(d);
    free(orig);
}
END_TEST

static bool topic_a(void *arg, const struct st_offset_entry *e)
{
    (*(int *)arg)++;
    return e->topic_len == 1 && e->topic[0] == 'a' && e->partition >= 1;
}

START_TEST(t_remove_if)
{
    struct st_offsets *o = open_store();
    for (int p = 0; p < 3; p++) {
        ck_assert_int_eq(commit(o, "g1", "a", p, p, NULL, 1), 0);
        ck_assert_int_eq(commit(o, "g2", "a", p, p, "m", 1), 0);
        ck_assert_int_eq(commit(o, "g2", "b", p, p, NULL, 1), 0);
    }
    int calls = 0;
    ck_assert_int_eq(st_offsets_remove_if(o, 5, topic_a, &calls), 4);
    ck_assert_int_eq(calls, 9);
    calls = 0;
    ck_assert_int_eq(st_offsets_remove_if(o, 5, topic_a, &calls), 0);
    ck_assert_int_eq(calls, 5);
    st_offsets_close(o);
    o = open_store();
    ck_assert_int_eq(get(o, "g1", "a", 0, NULL), 0);
    ck_assert_int_eq(get(o, "g1", "a", 1, NULL), -1);
    ck_assert_int_eq(get(o, "g2", "a", 2, NULL), -1);
    ck_assert_int_eq(get(o, "g2", "b", 2, NULL), 2);
    struct st_offsets_stats s;
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.entries, 5);
    st_offsets_close(o);
}
END_TEST

/* Compaction renamed the new file over offsets.log but the directory fsync failed: the store
 * must not go on appending to the old, unlinked file (commits acknowledged there would be gone
 * at the next open). Whatever it answers, every commit it acknowledged is there after reopen. */
START_TEST(t_compaction_dir_fsync_fails)
{
    struct st_offsets *o = open_store();
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(commit(o, "g", "t", i % 5, 100 + i, "m", 1000 + i), 0);
    fail_dir_fsync = 1;
    ck_assert_int_lt(st_offsets_compact(o), 0);
    fail_dir_fsync = 0;
    int acked[20];
    for (int i = 0; i < 20; i++)
        acked[i] = commit(o, "g", "u", i, 500 + i, NULL, 2000 + i);
    /* the failure is logged with the path */
    ck_assert_ptr_nonnull(strstr(last_line, ST_OFFSETS_DIR));
    st_offsets_close(o);
    o = open_store();
    for (int p = 0; p < 5; p++)
        ck_assert_int_eq(get(o, "g", "t", p, NULL), 145 + p);
    for (int i = 0; i < 20; i++) {
        ck_assert(acked[i] == 0 || acked[i] == -ESHUTDOWN);
        if (acked[i] == 0)
            ck_assert_int_eq(get(o, "g", "u", i, NULL), 500 + i);
    }
    /* after a restart, commits are taken again */
    ck_assert_int_eq(commit(o, "g", "u", 0, 9000, NULL, 3000), 0);
    st_offsets_close(o);
}
END_TEST

/* A failed compaction fdatasync keeps the old file and its state; commits go on. */
START_TEST(t_compaction_fdatasync_fails)
{
    struct st_offsets *o = open_store();
    for (int i = 0; i < 30; i++)
        ck_assert_int_eq(commit(o, "g", "t", i % 3, 100 + i, NULL, 1000 + i), 0);
    fail_fdatasync = 1;
    ck_assert_int_eq(st_offsets_compact(o), -EIO);
    fail_fdatasync = 0;
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s/%s/offsets.tmp", dir, ST_OFFSETS_DIR);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    ck_assert_int_eq(commit(o, "g", "t", 0, 7777, NULL, 2000), 0);
    st_offsets_close(o);
    o = open_store();
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 7777);
    ck_assert_int_eq(get(o, "g", "t", 1, NULL), 128);
    ck_assert_int_eq(get(o, "g", "t", 2, NULL), 129);
    st_offsets_close(o);
}
END_TEST

/* The disk refuses a write part-way (RLIMIT_FSIZE stands in for ENOSPC: the write is short,
 * then fails): the commit fails as a whole, the file is cut back, memory is unchanged, and the
 * store takes commits again once there is room. Every acknowledged commit survives a reopen. */
START_TEST(t_write_failure_leaves_state_consistent)
{
    signal(SIGXFSZ, SIG_IGN);
    struct st_offsets *o = open_store();
    ck_assert_int_eq(commit(o, "g", "t", 0, 10, "before", 1000), 0);
    ck_assert_int_eq(commit(o, "g", "t", 1, 11, NULL, 1000), 0);
    /* a few MiB first, so that the limit stays above the size of Check's own message file */
    static char pad[4001];
    memset(pad, 'p', 4000);
    for (int i = 0; i < 1024; i++)
        ck_assert_int_eq(commit(o, "pad", "t", i, i, pad, 1000), 0);
    int64_t before = file_size(logpath);
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)before + 60; /* room for about one record of the batch */
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    struct st_offset_commit items[8];
    int res[8];
    for (int i = 0; i < 8; i++)
        items[i] = (struct st_offset_commit){.topic = "t",
                                             .topic_len = 1,
                                             .partition = i,
                                             .offset = 500 + i,
                                             .metadata = "during",
                                             .metadata_len = 6};
    ck_assert_int_eq(st_offsets_commit_batch(o, "g", 1, items, 8, 2000, res), -EFBIG);
    ck_assert_int_eq(file_size(logpath), before);
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 10);
    ck_assert_int_eq(get(o, "g", "t", 1, NULL), 11);
    ck_assert_int_eq(get(o, "g", "t", 2, NULL), -1);
    ck_assert_int_eq(commit(o, "g", "t", 3, 12, pad, 1000), -EFBIG);
    ck_assert_int_eq(file_size(logpath), before);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    ck_assert_int_eq(st_offsets_commit_batch(o, "g", 1, items, 8, 3000, res), 0);
    ck_assert_int_eq(commit(o, "g", "t", 0, 20, "after", 3001), 0);
    st_offsets_close(o);
    o = open_store();
    char m[256];
    ck_assert_int_eq(get(o, "g", "t", 0, m), 20);
    ck_assert_str_eq(m, "after");
    for (int i = 1; i < 8; i++)
        ck_assert_int_eq(get(o, "g", "t", i, NULL), 500 + i);
    st_offsets_close(o);
}
END_TEST

/* A crash in the middle of the one write of a many-partition commit, cut at every byte: the
 * commit was not acknowledged, and replay drops it whole (every partition keeps its previous
 * offset), as Kafka's one batch per commit would. A corrupt record inside it does the same. */
START_TEST(t_torn_batch_is_all_or_nothing)
{
    struct st_offsets *o = open_store();
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(commit(o, "g", "t", i, 10 + i, NULL, 1000), 0);
    int64_t before = file_size(logpath);
    struct st_offset_commit items[6];
    for (int i = 0; i < 6; i++)
        items[i] = (struct st_offset_commit){
            .topic = "t", .topic_len = 1, .partition = i, .offset = 100 + i};
    ck_assert_int_eq(st_offsets_commit_batch(o, "g", 1, items, 6, 2000, NULL), 0);
    int64_t after = file_size(logpath);
    /* and a later single commit, whole */
    ck_assert_int_eq(commit(o, "h", "t", 0, 7, NULL, 3000), 0);
    int64_t end = file_size(logpath);
    st_offsets_close(o);
    size_t len;
    uint8_t *all = tst_slurp(logpath, &len);
    for (int64_t cut = before; cut <= end; cut++) {
        ck_assert_int_eq(truncate(logpath, cut), 0);
        nlines = 0;
        o = open_store();
        bool whole = cut >= after;
        for (int i = 0; i < 6; i++)
            ck_assert_int_eq(get(o, "g", "t", i, NULL), whole ? 100 + i : 10 + i);
        ck_assert_int_eq(get(o, "h", "t", 0, NULL), cut == end ? 7 : -1);
        ck_assert_int_eq(file_size(logpath), cut == end ? end : whole ? after : before);
        ck_assert_int_eq(nlines, cut == before || cut == after || cut == end ? 0 : 1);
        st_offsets_close(o);
        tst_spit(logpath, all, len);
    }
    /* a flipped byte in the third record of the commit: the commit and what follows go */
    int64_t rec = (after - before) / 6;
    all[before + 2 * rec + 20] ^= 0x40;
    tst_spit(logpath, all, len);
    o = open_store();
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(get(o, "g", "t", i, NULL), 10 + i);
    ck_assert_int_eq(file_size(logpath), before);
    st_offsets_close(o);
    free(all);
}
END_TEST

/* A file written before commits were marked as groups (header version 1) replays the same
 * and is brought to the current version at open, so that an older build never meets a
 * record it would take for a torn one. */
START_TEST(t_version_1_file_is_upgraded)
{
    struct st_offsets *o = open_store();
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(commit(o, "g", "t", i, 50 + i, "v1", 1000), 0);
    st_offsets_close(o);
    uint8_t hdr[16];
    int fd = open(logpath, O_RDWR);
    ck_assert_int_eq(pread(fd, hdr, 16, 0), 16);
    ck_assert_int_eq(memcmp(hdr, "SLOF", 4), 0);
    ck_assert_int_eq(kp_load_be32(hdr + 4), 2);
    kp_store_be32(hdr + 4, 1);
    kp_store_be32(hdr + 12, kp_crc32c(0, hdr, 12));
    ck_assert_int_eq(pwrite(fd, hdr, 16, 0), 16);
    close(fd);
    o = open_store();
    char m[256];
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(get(o, "g", "t", i, m), 50 + i);
        ck_assert_str_eq(m, "v1");
    }
    fd = open(logpath, O_RDONLY);
    ck_assert_int_eq(pread(fd, hdr, 16, 0), 16);
    close(fd);
    ck_assert_int_eq(kp_load_be32(hdr + 4), 2);
    st_offsets_close(o);
    /* a version from the future is refused, not guessed at */
    fd = open(logpath, O_RDWR);
    kp_store_be32(hdr + 4, 4);
    kp_store_be32(hdr + 12, kp_crc32c(0, hdr, 12));
    ck_assert_int_eq(pwrite(fd, hdr, 16, 0), 16);
    close(fd);
    ck_assert_int_eq(st_offsets_open(dir, NULL, &o), -EBADMSG);
}
END_TEST

/* max_memory_bytes bounds the map: a commit that would add a key (or grow its metadata) past
 * it is refused with -ENOBUFS per item, while commits that do not grow the map (progress of the
 * groups already there) go on; deleting a group makes room again. */
START_TEST(t_memory_cap)
{
    struct st_offsets_opts op;
    st_offsets_opts_default(&op);
    op.log_fn = on_log;
    op.max_memory_bytes = 64 * 1024;
    struct st_offsets *o;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    int accepted = 0, rc = 0;
    char g[64];
    for (int i = 0; i < 100000 && rc == 0; i++) {
        snprintf(g, sizeof(g), "group-%06d", i);
        rc = commit(o, g, "t", 0, i, "some metadata", 1000);
        if (rc == 0)
            accepted++;
    }
    ck_assert_int_eq(rc, -ENOBUFS);
    ck_assert_int_gt(accepted, 100);
    struct st_offsets_stats s;
    st_offsets_stats(o, &s);
    ck_assert_int_le(s.memory_bytes, op.max_memory_bytes);
    ck_assert_int_eq(s.entries, accepted);
    ck_assert_ptr_nonnull(strstr(last_line, "max"));
    /* progress of a key already there, with metadata no longer than before, is taken */
    ck_assert_int_eq(commit(o, "group-000000", "t", 0, 777, "shorter", 2000), 0);
    ck_assert_int_eq(get(o, "group-000000", "t", 0, NULL), 777);
    /* the room left filled with keys of that group, whatever the sizes of the structs */
    int32_t np = 1;
    while (commit(o, "group-000000", "t", np, 1, NULL, 2000) == 0)
        np++;
    /* a batch: the existing key is committed, the new one refused */
    struct st_offset_commit items[2] = {
        {.topic = "t",
         .topic_len = 1,
         .partition = 0,
         .offset = 778,
         .metadata = "shorter",
         .metadata_len = 7},
        {.topic = "t", .topic_len = 1, .partition = np, .offset = 5},
    };
    int res[2];
    ck_assert_int_eq(st_offsets_commit_batch(o, "group-000000", 12, items, 2, 2001, res), 0);
    ck_assert_int_eq(res[0], 0);
    ck_assert_int_eq(res[1], -ENOBUFS);
    ck_assert_int_eq(get(o, "group-000000", "t", 0, NULL), 778);
    ck_assert_int_eq(get(o, "group-000000", "t", np, NULL), -1);
    /* room again once a group is gone */
    ck_assert_int_eq(st_offsets_delete_group(o, "group-000001", 12), 1);
    ck_assert_int_eq(commit(o, "newcomer", "t", 0, 1, NULL, 3000), 0);
    st_offsets_close(o);
    /* replay takes the file as it is (a lower cap later does not drop offsets) */
    op.max_memory_bytes = 1024;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.entries, accepted + np - 1);
    ck_assert_int_eq(get(o, "newcomer", "t", 0, NULL), 1);
    ck_assert_int_eq(get(o, "group-000000", "t", 0, NULL), 778);
    ck_assert_int_eq(commit(o, "another", "t", 0, 1, NULL, 4000), -ENOBUFS);
    ck_assert_int_eq(commit(o, "newcomer", "t", 0, 2, NULL, 4000), 0);
    st_offsets_close(o);
}
END_TEST

/* The states a crash can leave between the steps of a compaction or of the first creation:
 * a complete temp file beside the old log (crash after its fdatasync, before the rename) is
 * dropped and the old log replayed; a temp file with no log (the first creation interrupted)
 * gives an empty store; a log removed by hand is recreated empty, and said so. */
START_TEST(t_crash_between_compaction_steps)
{
    struct st_offsets *o = open_store();
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(commit(o, "g", "t", i % 4, 100 + i, "m", 1000 + i), 0);
    st_offsets_close(o);
    size_t oldlen;
    uint8_t *old = tst_slurp(logpath, &oldlen);
    o = open_store();
    ck_assert_int_eq(st_offsets_compact(o), 0);
    st_offsets_close(o);
    size_t newlen;
    uint8_t *snap = tst_slurp(logpath, &newlen);
    ck_assert_uint_lt(newlen, oldlen);
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s/%s/offsets.tmp", dir, ST_OFFSETS_DIR);
    /* (a) old log + complete snapshot not yet renamed */
    tst_spit(logpath, old, oldlen);
    tst_spit(tmp, snap, newlen);
    o = open_store();
    ck_assert_int_ne(access(tmp, F_OK), 0);
    ck_assert_int_eq(file_size(logpath), (int64_t)oldlen);
    for (int p = 0; p < 4; p++)
        ck_assert_int_eq(get(o, "g", "t", p, NULL), 136 + p);
    st_offsets_close(o);
    /* (b) a half-written snapshot beside the old log */
    tst_spit(tmp, snap, newlen / 2);
    o = open_store();
    ck_assert_int_ne(access(tmp, F_OK), 0);
    for (int p = 0; p < 4; p++)
        ck_assert_int_eq(get(o, "g", "t", p, NULL), 136 + p);
    st_offsets_close(o);
    /* (c) the first creation interrupted: a temp file, no log */
    ck_assert_int_eq(unlink(logpath), 0);
    tst_spit(tmp, snap, 16);
    nlines = 0;
    o = open_store();
    ck_assert_int_ne(access(tmp, F_OK), 0);
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), -1);
    ck_assert_int_eq(file_size(logpath), 16);
    ck_assert_ptr_nonnull(strstr(last_line, "missing"));
    ck_assert_ptr_nonnull(strstr(last_line, logpath));
    ck_assert_int_eq(commit(o, "g", "t", 0, 1, NULL, 2000), 0);
    st_offsets_close(o);
    free(old);
    free(snap);
}
END_TEST

/* st_offsets_sync() with no descriptor to spare (EMFILE, which many client connections can
 * cause) still syncs, and does not stop the store: nothing was lost. A compaction short of
 * descriptors fails before its rename, so the store goes on too. */
START_TEST(t_sync_without_a_spare_descriptor)
{
    struct st_offsets_opts op;
    st_offsets_opts_default(&op);
    op.log_fn = on_log;
    op.flush_interval_messages = -1;
    struct st_offsets *o;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    ck_assert_int_eq(commit(o, "g", "t", 0, 1, NULL, 1000), 0);
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    lim = old;
    lim.rlim_cur = 64;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
    int fds[64], n = 0;
    while (n < 64 && (fds[n] = open("/dev/null", O_RDONLY)) >= 0)
        n++;
    ck_assert_int_lt(n, 64);
    ck_assert_int_eq(errno, EMFILE);
    int rc = st_offsets_sync(o);
    /* one descriptor spare: the compaction opens its temp file but not the directory; it
     * fails before the rename and the store goes on with the old file */
    close(fds[--n]);
    ck_assert_int_eq(st_offsets_compact(o), -EMFILE);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(commit(o, "g", "t", 0, 2, NULL, 1001), 0);
    ck_assert_int_eq(st_offsets_sync(o), 0);
    ck_assert_int_eq(st_offsets_compact(o), 0);
    ck_assert_int_eq(commit(o, "g", "t", 0, 3, NULL, 1002), 0);
    st_offsets_close(o);
    o = open_store();
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 3);
    st_offsets_close(o);
}
END_TEST

/* The flush policy, observed through the fdatasync calls: 1 = one before each commit returns,
 * N = one in every Nth commit, -1 = none until st_offsets_sync() (once for everything written,
 * none when nothing is new) or st_offsets_maintain() past flush_interval_ms. A commit whose
 * fdatasync fails is answered with the error, not applied in memory, and stops the store. */
START_TEST(t_fdatasync_per_flush_policy)
{
    struct st_offsets_opts op;
    st_offsets_opts_default(&op);
    op.log_fn = on_log;
    op.flush_interval_messages = 1;
    struct st_offsets *o;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    for (int i = 0; i < 5; i++) {
        int before = n_fdatasync;
        ck_assert_int_eq(commit(o, "g", "t", 0, i, NULL, i), 0);
        ck_assert_int_eq(n_fdatasync, before + 1);
    }
    st_offsets_close(o);

    op.flush_interval_messages = 3;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    int base = n_fdatasync;
    for (int i = 1; i <= 7; i++) {
        ck_assert_int_eq(commit(o, "g", "t", 0, 10 + i, NULL, i), 0);
        ck_assert_int_eq(n_fdatasync, base + i / 3);
    }
    st_offsets_close(o);

    op.flush_interval_messages = -1;
    op.flush_interval_ms = -1;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    base = n_fdatasync;
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(commit(o, "g", "t", 0, 20 + i, NULL, i), 0);
    st_offsets_maintain(o); /* flush_interval_ms = -1: not by time */
    ck_assert_int_eq(n_fdatasync, base);
    ck_assert_int_eq(st_offsets_sync(o), 0);
    ck_assert_int_eq(n_fdatasync, base + 1);
    ck_assert_int_eq(st_offsets_sync(o), 0); /* nothing new */
    ck_assert_int_eq(n_fdatasync, base + 1);
    st_offsets_close(o);

    op.flush_interval_ms = 0;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    ck_assert_int_eq(commit(o, "g", "t", 0, 30, NULL, 1), 0);
    base = n_fdatasync;
    st_offsets_maintain(o);
    ck_assert_int_eq(n_fdatasync, base + 1);
    st_offsets_close(o);

    op.flush_interval_messages = 1;
    op.flush_interval_ms = -1;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    fail_fdatasync = 1;
    ck_assert_int_eq(commit(o, "g", "t", 0, 31, NULL, 2), -EIO);
    fail_fdatasync = 0;
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 30); /* not acknowledged, not applied */
    ck_assert_int_eq(commit(o, "g", "t", 0, 32, NULL, 3), -ESHUTDOWN);
    ck_assert_int_eq(st_offsets_sync(o), -ESHUTDOWN);
    ck_assert_ptr_nonnull(strstr(last_line, "offsets.log"));
    st_offsets_close(o);
}
END_TEST

/* The largest record the store writes (group, topic and metadata all at their caps) replays:
 * the replay's length bound is exactly the writer's. And metadata longer than a lowered
 * offset.metadata.max.bytes is kept across a reopen (the limit is for new commits). */
START_TEST(t_largest_record_replays)
{
    struct st_offsets_opts op;
    st_offsets_opts_default(&op);
    op.log_fn = on_log;
    op.metadata_max_bytes = ST_OFFSETS_META_CAP;
    char *g = malloc(ST_OFFSETS_GROUP_MAX);
    char *t = malloc(ST_OFFSETS_TOPIC_MAX);
    char *m = malloc(ST_OFFSETS_META_CAP);
    ck_assert(g && t && m);
    memset(g, 'g', ST_OFFSETS_GROUP_MAX);
    memset(t, 't', ST_OFFSETS_TOPIC_MAX);
    for (int i = 0; i < ST_OFFSETS_META_CAP; i++)
        m[i] = (char)('a' + i % 26);
    struct st_offsets *o;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    ck_assert_int_eq(st_offsets_commit(o, g, ST_OFFSETS_GROUP_MAX, t, ST_OFFSETS_TOPIC_MAX, 7, 99,
                                       m, ST_OFFSETS_META_CAP, 1000),
                     0);
    ck_assert_int_eq(st_offsets_commit(o, g, ST_OFFSETS_GROUP_MAX + 1, t, 1, 0, 1, NULL, 0, 1000),
                     -EINVAL);
    ck_assert_int_eq(st_offsets_commit(o, g, 1, t, ST_OFFSETS_TOPIC_MAX + 1, 0, 1, NULL, 0, 1000),
                     -EINVAL);
    ck_assert_int_eq(commit(o, "small", "t", 0, 5, "0123456789", 1000), 0);
    st_offsets_close(o);
    op.metadata_max_bytes = 4;
    nlines = 0;
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    ck_assert_int_eq(nlines, 0); /* nothing truncated */
    int64_t off = -1;
    size_t mlen = 0;
    char *back = malloc(ST_OFFSETS_META_CAP);
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(st_offsets_get(o, g, ST_OFFSETS_GROUP_MAX, t, ST_OFFSETS_TOPIC_MAX, 7, &off,
                                    back, ST_OFFSETS_META_CAP, &mlen),
                     0);
    ck_assert_int_eq(off, 99);
    ck_assert_uint_eq(mlen, ST_OFFSETS_META_CAP);
    ck_assert_int_eq(memcmp(back, m, ST_OFFSETS_META_CAP), 0);
    char sm[256];
    ck_assert_int_eq(get(o, "small", "t", 0, sm), 5);
    ck_assert_str_eq(sm, "0123456789");
    ck_assert_int_eq(commit(o, "small", "t", 0, 6, "01234", 2000), -EMSGSIZE);
    /* compaction rewrites it too */
    ck_assert_int_eq(st_offsets_compact(o), 0);
    st_offsets_close(o);
    ck_assert_int_eq(st_offsets_open(dir, &op, &o), 0);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(st_offsets_get(o, g, ST_OFFSETS_GROUP_MAX, t, ST_OFFSETS_TOPIC_MAX, 7, &off,
                                    NULL, 0, &mlen),
                     0);
    ck_assert_uint_eq(mlen, ST_OFFSETS_META_CAP);
    st_offsets_close(o);
    free(back);
    free(g);
    free(t);
    free(m);
}
END_TEST

/* Commits made while a compaction syncs its new file (the store's mutex is released then):
 * they are not lost with the old file, a second compaction is refused meanwhile, and a
 * reopen sees them. Run from inside the compaction's fdatasync of offsets.tmp, on the same
 * thread, so they would deadlock if the mutex were held. */
static struct st_offsets *during_store;
static int during_ran;

static void commit_during_sync(void)
{
    struct st_offsets *o = during_store;
    ck_assert_int_eq(st_offsets_compact(o), -EBUSY);
    for (int p = 0; p < 8; p++)
        ck_assert_int_eq(commit(o, "late", "t", p, 1000 + p, "late", 5000), 0);
    ck_assert_int_eq(commit(o, "g1", "t", 0, 4242, "moved", 5001), 0);
    ck_assert_int_eq(st_offsets_delete_group(o, "g2", 2), 4);
    during_ran++;
}

START_TEST(t_commits_during_compaction_sync)
{
    struct st_offsets *o = open_store();
    for (int g = 0; g < 4; g++)
        for (int p = 0; p < 4; p++) {
            char gn[8];
            snprintf(gn, sizeof(gn), "g%d", g);
            for (int k = 0; k < 5; k++)
                ck_assert_int_eq(commit(o, gn, "t", p, g * 100 + p * 10 + k, "m", 1000), 0);
        }
    during_store = o;
    during_ran = 0;
    on_tmp_sync = commit_during_sync;
    ck_assert_int_eq(st_offsets_compact(o), 0);
    ck_assert_int_eq(during_ran, 1);
    struct st_offsets_stats s;
    st_offsets_stats(o, &s);
    ck_assert_int_eq(s.file_bytes, file_size(logpath));
    ck_assert_int_eq(s.entries, 3 * 4 + 8);
    st_offsets_close(o);
    for (int round = 0; round < 2; round++) {
        o = open_store();
        char m[256];
        ck_assert_int_eq(get(o, "g1", "t", 0, m), 4242);
        ck_assert_str_eq(m, "moved");
        ck_assert_int_eq(get(o, "g1", "t", 1, NULL), 114);
        ck_assert_int_eq(get(o, "g3", "t", 3, NULL), 334);
        for (int p = 0; p < 4; p++)
            ck_assert_int_eq(get(o, "g2", "t", p, NULL), -1);
        for (int p = 0; p < 8; p++)
            ck_assert_int_eq(get(o, "late", "t", p, NULL), 1000 + p);
        st_offsets_stats(o, &s);
        ck_assert_int_eq(s.entries, 3 * 4 + 8);
        if (round == 0) /* and once more from a compaction with nothing in between */
            ck_assert_int_eq(st_offsets_compact(o), 0);
        st_offsets_close(o);
    }
}
END_TEST

/* ---- transactional commits (TxnOffsetCommit) ------------------------------------------------ */

static int tcommit(struct st_offsets *o, const char *g, int64_t pid, const char *t, int32_t p,
                   int64_t off, int64_t now)
{
    struct st_offset_commit c = {.topic = t,
                                 .topic_len = strlen(t),
                                 .partition = p,
                                 .offset = off,
                                 .metadata = "tx",
                                 .metadata_len = 2};
    int res = -1;
    int err = st_offsets_txn_commit_batch(o, g, strlen(g), pid, 0, &c, 1, now, &res);
    return err < 0 ? err : res;
}

static int tend(struct st_offsets *o, const char *g, int64_t pid, bool commit)
{
    return st_offsets_txn_end(o, g, strlen(g), pid, 0, commit, 5000);
}

static uint32_t header_version(void)
{
    uint8_t hdr[16];
    int fd = open(logpath, O_RDONLY);
    ck_assert_int_eq(pread(fd, hdr, 16, 0), 16);
    close(fd);
    return kp_load_be32(hdr + 4);
}

START_TEST(t_txn_offsets_visible_only_on_commit)
{
    struct st_offsets *o = open_store();
    ck_assert_int_eq(commit(o, "g", "t", 0, 10, NULL, 1000), 0);
    ck_assert_int_eq(header_version(), 2); /* no transaction yet: a file older builds read */
    ck_assert_int_eq(tcommit(o, "g", 7, "t", 0, 20, 1100), 0);
    ck_assert_int_eq(header_version(), 3); /* upgraded before the first transactional record */
    ck_assert_int_eq(tcommit(o, "g", 7, "t", 1, 21, 1100), 0);
    ck_assert_int_eq(tcommit(o, "g", 7, "t", 0, 22, 1200), 0); /* replaces 20 */
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 10);
    ck_assert_int_eq(get(o, "g", "t", 1, NULL), -1);
    ck_assert(st_offsets_txn_pending(o, "g", 1, "t", 1, 0));
    ck_assert(!st_offsets_txn_pending(o, "g", 1, "t", 1, 2));
    /* another producer's transaction on the same group, aborted */
    ck_assert_int_eq(tcommit(o, "g", 8, "t", 2, 99, 1300), 0);
    ck_assert_int_eq(tend(o, "g", 8, false), 0);
    ck_assert_int_eq(get(o, "g", "t", 2, NULL), -1);
    st_offsets_close(o);
    o = open_store(); /* pending survives a reopen */
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 10);
    ck_assert(st_offsets_txn_pending(o, "g", 1, "t", 1, 1));
    ck_assert_int_eq(tend(o, "g", 7, true), 0);
    char m[64];
    ck_assert_int_eq(get(o, "g", "t", 0, m), 22);
    ck_assert_str_eq(m, "tx");
    ck_assert_int_eq(get(o, "g", "t", 1, NULL), 21);
    ck_assert(!st_offsets_txn_pending(o, "g", 1, "t", 1, 0));
    /* ending again changes nothing and writes nothing */
    int64_t size = file_size(logpath);
    ck_assert_int_eq(tend(o, "g", 7, false), 0);
    ck_assert_int_eq(file_size(logpath), size);
    ck_assert_int_eq(get(o, "g", "t", 1, NULL), 21);
    st_offsets_close(o);
    o = open_store();
    ck_assert_int_eq(get(o, "g", "t", 0, NULL), 22);
    ck_assert_int_eq(get(o, "g", "t", 2, NULL), -1);
    struct st_offsets_stats st;
    st_offsets_stats(o, &st);
    ck_assert_int_eq(st.pending, 0);
    st_offsets_close(o);
}
END_TEST

/* Kafka's rule: on commit a pending offset replaces the key only if the key's own commit is
 * older; a plain commit made while the transaction was open wins. Compaction keeps the order. */
START_TEST(t_txn_offsets_newer_wins_across_compaction)
{
    for (int compact = 0; compact < 2; compact++) {
        struct st_offsets *o = open_store();
        ck_assert_int_eq(commit(o, "g", "t", 0, 1, NULL, 1000), 0);
        ck_assert_int_eq(tcommit(o, "g", 7, "t", 0, 50, 1100), 0); /* newer than 1 */
        ck_assert_int_eq(tcommit(o, "g", 7, "t", 1, 51, 1100), 0);
        ck_assert_int_eq(commit(o, "g", "t", 1, 2, NULL, 1200), 0); /* newer than 51 */
        ck_assert_int_eq(tcommit(o, "h", 7, "t", 0, 60, 1100), 0);  /* other group */
        if (compact) {
            ck_assert_int_eq(st_offsets_compact(o), 0);
            st_offsets_close(o);
            o = open_store();
        }
        ck_assert_int_eq(tend(o, "g", 7, true), 0);
        ck_assert_int_eq(get(o, "g", "t", 0, NULL), 50);
        ck_assert_int_eq(get(o, "g", "t", 1, NULL), 2);
        ck_assert_int_eq(get(o, "h", "t", 0, NULL), -1); /* h's offsets end with h's marker */
        /* after the end, a plain commit wins as always, and compaction keeps it so */
        ck_assert_int_eq(commit(o, "g", "t", 0, 3, NULL, 1300), 0);
        ck_assert_int_eq(tend(o, "h", 7, true), 0);
        ck_assert_int_eq(get(o, "h", "t", 0, NULL), 60);
        ck_assert_int_eq(st_offsets_compact(o), 0);
        st_offsets_close(o);
        o = open_store();
        ck_assert_int_eq(get(o, "g", "t", 0, NULL), 3);
        ck_assert_int_eq(get(o, "g", "t", 1, NULL), 2);
        ck_assert_int_eq(get(o, "h", "t", 0, NULL), 60);
        st_offsets_close(o);
        tst_rmrf(dir);
        ck_assert_int_eq(mkdir(dir, 0700), 0);
    }
}
END_TEST

/* A TxnOffsetCommit of several partitions is one write: cut anywhere, all of it or none. */
START_TEST(t_txn_offsets_torn_all_or_nothing)
{
    struct st_offsets *o = open_store();
    ck_assert_int_eq(tcommit(o, "g", 7, "t", 9, 9, 1000), 0); /* upgrade out of the way */
    ck_assert_int_eq(tend(o, "g", 7, true), 0);
    st_offsets_close(o);
    int64_t before = file_size(logpath);
    o = open_store();
    struct st_offset_commit c[3];
    for (int i = 0; i < 3; i++)
        c[i] = (struct st_offset_commit){
            .topic = "t", .topic_len = 1, .partition = i, .offset = 100 + i};
    int res[3];
    ck_assert_int_eq(st_offsets_txn_commit_batch(o, "g", 1, 7, 1, c, 3, 2000, res), 0);
    int64_t mid = file_size(logpath);
    ck_assert_int_eq(tend(o, "g", 7, true), 0);
    st_offsets_close(o);
    size_t len;
    uint8_t *all = tst_slurp(logpath, &len);
    for (int64_t cut = before; cut <= (int64_t)len; cut++) {
        tst_spit(logpath, all, (size_t)cut);
        ck_assert_int_eq(truncate(logpath, cut), 0);
        o = open_store();
        int vis = 0;
        for (int i = 0; i < 3; i++)
            vis += get(o, "g", "t", i, NULL) == 100 + i;
        struct st_offsets_stats st;
        st_offsets_stats(o, &st);
        if (cut < mid) { /* the commit torn: nothing */
            ck_assert_int_eq(st.pending, 0);
            ck_assert_int_eq(vis, 0);
        } else if (cut < (int64_t)len) { /* the end torn: all pending, none visible */
            ck_assert_int_eq(st.pending, 3);
            ck_assert_int_eq(vis, 0);
        } else {
            ck_assert_int_eq(st.pending, 0);
            ck_assert_int_eq(vis, 3);
        }
        st_offsets_close(o);
    }
    free(all);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_offsets");
    TCase *tc = tcase_create("offsets");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_commit_get_overwrite);
    tcase_add_test(tc, t_delete_one_key);
    tcase_add_test(tc, t_many_groups_and_foreach);
    tcase_add_test(tc, t_reopen_replays_in_order);
    tcase_add_test(tc, t_torn_tail_every_byte);
    tcase_add_test(tc, t_corrupt_crc_in_the_middle);
    tcase_add_test(tc, t_flip_every_byte_of_a_middle_record);
    tcase_add_test(tc, t_random_garbage_tail);
    tcase_add_test(tc, t_compaction_keeps_live_set);
    tcase_add_test(tc, t_metadata_limit);
    tcase_add_test(tc, t_retention_of_empty_groups);
    tcase_add_test(tc, t_remove_if);
    tcase_add_test(tc, t_flush_every_commit);
    tcase_add_test(tc, t_compaction_dir_fsync_fails);
    tcase_add_test(tc, t_compaction_fdatasync_fails);
    tcase_add_test(tc, t_write_failure_leaves_state_consistent);
    tcase_add_test(tc, t_torn_batch_is_all_or_nothing);
    tcase_add_test(tc, t_version_1_file_is_upgraded);
    tcase_add_test(tc, t_txn_offsets_visible_only_on_commit);
    tcase_add_test(tc, t_txn_offsets_newer_wins_across_compaction);
    tcase_add_test(tc, t_txn_offsets_torn_all_or_nothing);
    tcase_add_test(tc, t_memory_cap);
    tcase_add_test(tc, t_crash_between_compaction_steps);
    tcase_add_test(tc, t_sync_without_a_spare_descriptor);
    tcase_add_test(tc, t_fdatasync_per_flush_policy);
    tcase_add_test(tc, t_largest_record_replays);
    tcase_add_test(tc, t_commits_during_compaction_sync);
    tcase_add_test(tc, t_observer_sees_every_change_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
