/*
 * test_st_offsets_mt — the committed-offsets store under concurrent use: committer threads
 * (one group each, rising offsets, metadata derived from the offset) while reader threads look
 * keys up and walk groups, and a maintenance thread expires and deletes a scratch group, syncs and
 * compacts (a small compaction threshold makes commits compact too). Readers must see each
 * key's offset never go back and its metadata always match its offset; after a reopen every
 * key holds its last commit. Also built under ThreadSanitizer (`make tsan`).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "st_offsets.h"
#include "test_st_util.h"

enum { WRITERS = 3, READERS = 2, PARTS = 8, COMMITS = 3000 };

static char dir[256];
static struct st_offsets *store;
static atomic_bool writers_done;
static atomic_int failures;
static char first_failure[256];
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    pthread_mutex_lock(&fail_mu);
    if (atomic_fetch_add(&failures, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(first_failure, sizeof(first_failure), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&fail_mu);
}

static void group_name(char *buf, size_t cap, int w) { snprintf(buf, cap, "group-%d", w); }

static size_t meta_of(char *buf, size_t cap, int64_t offset)
{
    return (size_t)snprintf(buf, cap, "meta-%lld", (long long)offset);
}

static void *writer(void *arg)
{
    int w = (int)(intptr_t)arg;
    char g[32];
    group_name(g, sizeof(g), w);
    for (int i = 1; i <= COMMITS; i++) {
        /* every commit carries two partitions, as an OffsetCommit with several would */
        struct st_offset_commit c[2];
        char m[2][32];
        for (int k = 0; k < 2; k++) {
            int p = (i + k * 3) % PARTS;
            c[k] = (struct st_offset_commit){
                .topic = "topic",
                .topic_len = 5,
                .partition = p,
                .offset = (int64_t)i * 10 + k,
            };
            c[k].metadata = m[k];
            c[k].metadata_len = meta_of(m[k], sizeof(m[k]), c[k].offset);
        }
        int res[2] = {-1, -1};
        int rc = st_offsets_commit_batch(store, g, strlen(g), c, 2, i, res);
        if (rc != 0 || res[0] != 0 || res[1] != 0)
            report("commit %s #%d: %d %d %d", g, i, rc, res[0], res[1]);
    }
    return NULL;
}

struct walk {
    int64_t last[PARTS];
    int n;
};

static void walk_fn(void *arg, const struct st_offset_entry *e)
{
    struct walk *wk = arg;
    char m[32];
    size_t ml = meta_of(m, sizeof(m), e->offset);
    if (e->metadata_len != ml || memcmp(e->metadata, m, ml) != 0)
        report("foreach: offset %lld with metadata %.*s", (long long)e->offset,
               (int)e->metadata_len, e->metadata);
    if (e->partition < 0 || e->partition >= PARTS) {
        report("foreach: partition %d", e->partition);
        return;
    }
    wk->n++;
}

static void *reader(void *arg)
{
    (void)arg;
    int64_t last[WRITERS][PARTS];
    memset(last, 0, sizeof(last));
    uint64_t rng = (uint64_t)(uintptr_t)&last | 1;
    while (!atomic_load(&writers_done)) {
        int w = (int)(tst_rand(&rng) % WRITERS);
        int p = (int)(tst_rand(&rng) % PARTS);
        char g[32];
        group_name(g, sizeof(g), w);
        int64_t off = -1;
        char m[64];
        size_t ml = 0;
        int rc = st_offsets_get(store, g, strlen(g), "topic", 5, p, &off, m, sizeof(m), &ml);
        if (rc == -ENOENT)
            continue;
        if (rc != 0) {
            report("get: %d", rc);
            continue;
        }
        char want[32];
        size_t wl = meta_of(want, sizeof(want), off);
        if (ml != wl || memcmp(m, want, wl) != 0)
            report("get %s/%d: offset %lld with metadata %.*s", g, p, (long long)off, (int)ml, m);
        if (off < last[w][p])
            report("get %s/%d: offset went back from %lld to %lld", g, p, (long long)last[w][p],
                   (long long)off);
        last[w][p] = off;
        struct walk wk = {.n = 0};
        int n = st_offsets_foreach(store, g, strlen(g), walk_fn, &wk);
        if (n != wk.n || n < 1 || n > PARTS)
            report("foreach %s: %d calls, %d seen", g, n, wk.n);
    }
    return NULL;
}

static int64_t keep_all_but_scratch(void *arg, const char *g, size_t len)
{
    (void)arg;
    return len == 7 && memcmp(g, "scratch", 7) == 0 ? 0 : -1;
}

static void *maintainer(void *arg)
{
    (void)arg;
    int rounds = 0;
    while (!atomic_load(&writers_done)) {
        if (st_offsets_commit(store, "scratch", 7, "t", 1, rounds % 4, rounds, NULL, 0, 0) != 0)
            report("scratch commit");
        if (rounds % 3 == 0 && st_offsets_expire(store, 1 << 30, 1, keep_all_but_scratch, NULL) < 0)
            report("expire");
        if (rounds % 3 == 1 && st_offsets_delete_group(store, "scratch", 7) < 0)
            report("delete");
        if (rounds % 50 == 0 && st_offsets_compact(store) != 0)
            report("compact");
        st_offsets_maintain(store);
        if (st_offsets_sync(store) != 0)
            report("sync");
        rounds++;
    }
    return NULL;
}

START_TEST(t_concurrent_commits_reads_maintenance)
{
    tst_mkdtemp(dir, sizeof(dir));
    struct st_offsets_opts op;
    st_offsets_opts_default(&op);
    op.compact_min_bytes = 32 * 1024; /* commits compact now and then */
    op.flush_interval_ms = 0;
    ck_assert_int_eq(st_offsets_open(dir, &op, &store), 0);
    pthread_t w[WRITERS], r[READERS], m;
    atomic_store(&writers_done, false);
    for (int i = 0; i < WRITERS; i++)
        ck_assert_int_eq(pthread_create(&w[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < READERS; i++)
        ck_assert_int_eq(pthread_create(&r[i], NULL, reader, NULL), 0);
    ck_assert_int_eq(pthread_create(&m, NULL, maintainer, NULL), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    atomic_store(&writers_done, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    pthread_join(m, NULL);
    ck_assert_msg(atomic_load(&failures) == 0, "%d failure(s), first: %s", atomic_load(&failures),
                  first_failure);
    struct st_offsets_stats s;
    st_offsets_stats(store, &s);
    ck_assert_int_gt(s.compactions, 0);
    st_offsets_close(store);

    /* reopen: each key holds the last commit that wrote it */
    ck_assert_int_eq(st_offsets_open(dir, &op, &store), 0);
    for (int wi = 0; wi < WRITERS; wi++) {
        char g[32];
        group_name(g, sizeof(g), wi);
        for (int p = 0; p < PARTS; p++) {
            int64_t want = -1;
            for (int i = COMMITS; i >= 1 && want < 0; i--)
                for (int k = 0; k < 2; k++)
                    if ((i + k * 3) % PARTS == p && want < 0)
                        want = (int64_t)i * 10 + k;
            int64_t off = -1;
            ck_assert_int_eq(
                st_offsets_get(store, g, strlen(g), "topic", 5, p, &off, NULL, 0, NULL), 0);
            ck_assert_int_eq(off, want);
        }
    }
    st_offsets_close(store);
    tst_rmrf(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_offsets_mt");
    TCase *tc = tcase_create("mt");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, t_concurrent_commits_reads_maintenance);
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
