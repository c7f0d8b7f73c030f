/*
 * test_st_ckpt — the log checkpoint (st_ckpt.c): after a process crash (a child killed with
 * SIGKILL, as kill -9 leaves the page cache), the logs unchanged since the checkpoint come up
 * dormant and are recovered at their first use; the ones written after it are recovered at
 * open, with the records written past the checkpoint kept and a torn tail cut. The checkpoint
 * damaged (header: every log recovered at open, with a warning; one slot: that log), or
 * missing: recovery as without one. On a file system without room for the checkpoint (a full
 * disk: a small tmpfs, mounted when the test may), the store opens without one, saying so,
 * instead of dying of SIGBUS at the first store into the mapped file.
 */
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "test_st_util.h"

enum { P = 8, NREC = 2 };

static char dir[256];
static char msgs[1 << 16];

static void on_msg(void *arg, enum st_msg_level level, const char *msg)
{
    (void)arg;
    size_t n = strlen(msgs);
    snprintf(msgs + n, sizeof(msgs) - n, "%d %s\n", (int)level, msg);
}

static void setup(void)
{
    tst_mkdtemp(dir, sizeof(dir));
    msgs[0] = 0;
}

static void teardown(void)
{
    char mnt[300];
    snprintf(mnt, sizeof(mnt), "%s/small", dir);
    umount2(mnt, MNT_DETACH); /* t_full_disk_opens_without_checkpoint's, if it died mounted */
    tst_rmrf(dir);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* The child: P logs written and synced, their slots written; then c-0 gets one batch more and
 * c-1 one batch and a torn one (garbage at the end of its .log); then SIGKILL. */
static void child(void)
{
    struct st_store *st;
    if (st_store_open(dir, NULL, &st) != 0)
        _exit(2);
    if (st_topic_create(st, "c", P, NULL) != 0)
        _exit(3);
    struct st_log *logs[P];
    for (int p = 0; p < P; p++) {
        logs[p] = st_log_get(st, "c", 1, p);
        for (int i = 0; i < 3; i++)
            tst_append1(logs[p], NREC, 50, 1000 + i, 1);
        tst_wait_durable(logs[p]);
    }
    /* the flusher writes a slot once the files are ST_CK_AGE_MS old (bounded wait: 20 s) */
    bool all = false;
    for (int i = 0; i < 2000 && !all; i++) {
        sleep_ms(10);
        st__store_kick_flusher(st);
        pthread_mutex_lock(&st->ck_mu);
        all = true;
        for (int p = 0; p < P; p++)
            all = all && logs[p]->ck_keyed && logs[p]->ck_slot >= 0;
        pthread_mutex_unlock(&st->ck_mu);
    }
    if (!all)
        _exit(4);
    tst_append1(logs[0], NREC, 50, 2000, 1);
    tst_append1(logs[1], NREC, 50, 2000, 1);
    char path[512];
    snprintf(path, sizeof(path), "%s/c-1/00000000000000000000.log", dir);
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0 || write(fd, "torn torn torn torn!", 20) != 20)
        _exit(5);
    close(fd);
    kill(getpid(), SIGKILL);
    _exit(6);
}

static void crash(void)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child();
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
}

/* Every log of the store holds its batches: c-0 and c-1 four, the others three. */
static void check_logs(struct st_store *st)
{
    for (int p = 0; p < P; p++) {
        struct st_log *log = st_log_get(st, "c", 1, p);
        int64_t want = (p < 2 ? 4 : 3) * NREC;
        ck_assert_int_eq(st_log_end_offset(log), want);
        struct st_read rd;
        ck_assert_int_eq(st_log_read(log, 0, 1 << 20, &rd), 0);
        ck_assert(st__log_open(log));
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        ck_assert_int_eq(seen.first_base, 0);
        ck_assert_int_eq(seen.next, want);
        st_read_release(&rd);
        st_log_put(log);
    }
}

static void open_store(struct st_store **st, struct st_recovery_report *rep)
{
    ck_assert_int_eq(st_store_open_logged(dir, NULL, on_msg, NULL, rep, st), 0);
}

/* After a clean close of the recovered store: everything there, every log dormant. */
static void close_reopen(struct st_store *st)
{
    st_store_close(st);
    struct st_recovery_report rep;
    open_store(&st, &rep);
    ck_assert_int_eq(rep.dormant, P);
    ck_assert_int_eq(rep.ckpt_dormant, 0);
    check_logs(st);
    st_store_close(st);
}

START_TEST(t_unchanged_logs_stay_dormant_after_a_crash)
{
    crash();
    struct st_store *st;
    struct st_recovery_report rep;
    open_store(&st, &rep);
    /* only the two logs written after the checkpoint are opened (and scanned) at start-up */
    ck_assert_int_eq(rep.logs, 2);
    ck_assert_int_eq(rep.unclean, 2);
    ck_assert_int_eq(rep.ckpt_dormant, P - 2);
    ck_assert_int_eq(rep.dormant, P - 2);
    ck_assert_int_eq(rep.bytes_cut, 20); /* c-1's torn tail */
    ck_assert_ptr_nonnull(strstr(msgs, "6 log(s) unchanged since the log checkpoint"));
    for (int p = 0; p < P; p++) {
        struct st_log *log = st_log_get(st, "c", 1, p);
        ck_assert_int_eq(st__log_open(log), p < 2);
        st_log_put(log);
    }
    /* the start-up sweep of open transactions leaves a dormant log without any dormant */
    struct st_log *l5 = st_log_get(st, "c", 1, 5);
    struct st_open_txn ot[4];
    ck_assert_int_eq(st_log_open_txns(l5, ot, 4), 0);
    ck_assert(!st__log_open(l5));
    st_log_put(l5);
    /* the others at their first use, as after a crash (recovered from their recovery point) */
    check_logs(st);
    ck_assert_ptr_nonnull(strstr(msgs, "recovered c-5 (after a crash)"));
    close_reopen(st);
}
END_TEST

/* A second crash before any use: the slots of the logs still dormant are kept and hold. */
START_TEST(t_dormant_logs_survive_a_second_crash)
{
    crash();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct st_store *s2;
        if (st_store_open(dir, NULL, &s2) != 0)
            _exit(2);
        kill(getpid(), SIGKILL);
        _exit(3);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    struct st_store *st;
    struct st_recovery_report rep;
    open_store(&st, &rep);
    ck_assert_int_eq(rep.ckpt_dormant, P - 2);
    ck_assert_int_eq(rep.logs, 2);      /* recovered at the first start, no slot since */
    ck_assert_int_eq(rep.bytes_cut, 0); /* the torn tail went at the first start */
    check_logs(st);
    close_reopen(st);
}
END_TEST

START_TEST(t_damaged_checkpoint_means_a_full_recovery)
{
    crash();
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, ST_CK_NAME);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b = 0;
    ck_assert_int_eq(pread(fd, &b, 1, 20), 1);
    b ^= 0x40;
    ck_assert_int_eq(pwrite(fd, &b, 1, 20), 1);
    close(fd);
    struct st_store *st;
    struct st_recovery_report rep;
    open_store(&st, &rep);
    ck_assert_int_eq(rep.logs, P);
    ck_assert_int_eq(rep.ckpt_dormant, 0);
    ck_assert_int_eq(rep.bytes_cut, 20);
    ck_assert_ptr_nonnull(strstr(msgs, "1 log checkpoint is damaged and ignored"));
    check_logs(st);
    close_reopen(st);
}
END_TEST

START_TEST(t_damaged_slot_means_that_log_is_recovered)
{
    crash();
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, ST_CK_NAME);
    size_t len;
    uint8_t *f = tst_slurp(path, &len);
    bool hit = false;
    for (size_t off = ST_CK_HDR; off + ST_CK_SLOT <= len; off += ST_CK_SLOT) {
        if (memcmp(f + off + 166, "c-4", 3) == 0 && f[off + 165] == 3) {
            f[off + 40] ^= 1; /* in the record */
            hit = true;
        }
    }
    ck_assert(hit);
    tst_spit(path, f, len);
    free(f);
    struct st_store *st;
    struct st_recovery_report rep;
    open_store(&st, &rep);
    ck_assert_int_eq(rep.logs, 3);
    ck_assert_int_eq(rep.ckpt_dormant, P - 3);
    ck_assert_ptr_nonnull(strstr(msgs, "1 damaged slot(s)"));
    ck_assert_ptr_nonnull(strstr(msgs, "recovered c-4 (after a crash)"));
    check_logs(st);
    close_reopen(st);
}
END_TEST

START_TEST(t_missing_checkpoint_means_a_full_recovery)
{
    crash();
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, ST_CK_NAME);
    ck_assert_int_eq(unlink(path), 0);
    struct st_store *st;
    struct st_recovery_report rep;
    open_store(&st, &rep);
    ck_assert_int_eq(rep.logs, P);
    ck_assert_int_eq(rep.ckpt_dormant, 0);
    ck_assert_int_eq(rep.bytes_cut, 20);
    ck_assert_ptr_null(strstr(msgs, "checkpoint"));
    check_logs(st);
    close_reopen(st);
}
END_TEST

/* A slot is stale once its log changes: the log is recovered at open, whatever the slot says. */
START_TEST(t_stale_slot_is_ignored)
{
    crash();
    /* c-6 changes behind the checkpoint's back: a byte appended to its .log */
    char path[512];
    snprintf(path, sizeof(path), "%s/c-6/00000000000000000000.log", dir);
    int fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "x", 1), 1);
    close(fd);
    struct st_store *st;
    struct st_recovery_report rep;
    open_store(&st, &rep);
    ck_assert_int_eq(rep.logs, 3);
    ck_assert_int_eq(rep.ckpt_dormant, P - 3);
    ck_assert_int_eq(rep.bytes_cut, 21);
    check_logs(st);
    close_reopen(st);
}
END_TEST

/*
 * Recovery threads (num.recovery.threads.per.data.dir, st_store.c): a crashed store of R logs
 * (sealed segments, some synced, some not, a torn tail in every third) recovered at open by
 * one thread and, from a copy of the same files, by four, ends with the same report, the
 * same offsets, the same bytes served and the same files; the messages arrive one at a time.
 */
enum { R = 48 };

static struct st_log_config rcfg(int threads)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 1024; /* a few batches per segment: sealed segments in every log */
    c.recovery_threads = threads;
    return c;
}

static void child_many(void)
{
    struct st_log_config c = rcfg(1);
    struct st_store *st;
    if (st_store_open(dir, &c, &st) != 0)
        _exit(2);
    if (st_topic_create(st, "r", R, NULL) != 0)
        _exit(3);
    for (int p = 0; p < R; p++) {
        struct st_log *log = st_log_get(st, "r", 1, p);
        for (int i = 0; i < 3 + p % 7; i++)
            tst_append1(log, NREC, 100 + 10 * (size_t)(p % 3), 1000 + i, 1);
        if (p % 2 == 0)
            tst_wait_settled(log); /* a recovery point, and digests for its sealed segments */
        tst_append1(log, NREC, 60, 5000, 1);
        st_log_put(log);
    }
    for (int p = 0; p < R; p += 3) {
        char path[512];
        struct st_log *log = st_log_get(st, "r", 1, p);
        struct st_segvec *v = atomic_load(&log->segs);
        snprintf(path, sizeof(path), "%s", v->s[v->n - 1]->path);
        st_log_put(log);
        int fd = open(path, O_WRONLY | O_APPEND);
        if (fd < 0 || write(fd, "torn torn torn torn!", 20) != 20)
            _exit(5);
        close(fd);
    }
    kill(getpid(), SIGKILL);
    _exit(6);
}

static _Atomic int in_msg, overlapped;

static void on_msg_excl(void *arg, enum st_msg_level level, const char *msg)
{
    if (atomic_exchange(&in_msg, 1))
        atomic_store(&overlapped, 1);
    on_msg(arg, level, msg);
    atomic_store(&in_msg, 0);
}

static uint8_t *file_or_null(const char *path, size_t *len)
{
    *len = 0;
    return access(path, F_OK) == 0 ? tst_slurp(path, len) : NULL;
}

START_TEST(t_recovery_threads_agree_with_one)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child_many();
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
    char path[512], dir4[300], cmd[700];
    snprintf(path, sizeof(path), "%s/%s", dir, ST_CK_NAME);
    unlink(path); /* every log recovered at open */
    snprintf(dir4, sizeof(dir4), "%s-4", dir);
    snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", dir, dir4);
    ck_assert_int_eq(system(cmd), 0);

    struct st_log_config c1 = rcfg(1), c4 = rcfg(4);
    struct st_store *s1, *s4;
    struct st_recovery_report r1, r4;
    ck_assert_int_eq(st_store_open_logged(dir, &c1, on_msg_excl, NULL, &r1, &s1), 0);
    ck_assert_int_eq(st_store_open_logged(dir4, &c4, on_msg_excl, NULL, &r4, &s4), 0);
    ck_assert_int_eq(atomic_load(&overlapped), 0);
    ck_assert_int_eq(r1.logs, R);
    ck_assert_int_eq(r1.unclean, R);
    ck_assert_int_gt(r1.bytes_cut, 0);
    ck_assert_int_eq(r4.logs, r1.logs);
    ck_assert_int_eq(r4.unclean, r1.unclean);
    ck_assert_int_eq(r4.segments_scanned, r1.segments_scanned);
    ck_assert_int_eq(r4.bytes_scanned, r1.bytes_scanned);
    ck_assert_int_eq(r4.bytes_cut, r1.bytes_cut);
    ck_assert_int_eq(r4.indexes_rebuilt, r1.indexes_rebuilt);
    ck_assert_int_eq(r4.fenced_new, r1.fenced_new);
    ck_assert_int_eq(r4.pstate_bytes, r1.pstate_bytes);
    for (int p = 0; p < R; p++) {
        struct st_log *a = st_log_get(s1, "r", 1, p), *b = st_log_get(s4, "r", 1, p);
        ck_assert(st__log_open(a) && st__log_open(b));
        ck_assert_int_eq(st_log_start_offset(b), st_log_start_offset(a));
        ck_assert_int_eq(st_log_end_offset(b), st_log_end_offset(a));
        /* every acknowledged batch is there (the last one too, in the page cache) */
        ck_assert_int_eq(st_log_end_offset(a), (int64_t)(3 + p % 7 + 1) * NREC);
        struct st_read ra, rb;
        struct tst_seen sa, sb;
        ck_assert_int_eq(st_log_read(a, 0, 1 << 20, &ra), 0);
        ck_assert_int_eq(st_log_read(b, 0, 1 << 20, &rb), 0);
        tst_check_read(&ra, &sa);
        tst_check_read(&rb, &sb);
        ck_assert_int_eq(sb.first_base, sa.first_base);
        ck_assert_int_eq(sb.next, sa.next);
        st_read_release(&ra);
        st_read_release(&rb);
        /* the same files, byte for byte */
        struct st_segvec *v = atomic_load(&a->segs);
        ck_assert_int_eq(atomic_load(&b->segs)->n, v->n);
        for (int k = 0; k < v->n; k++) {
            static const char *const sfx[] = {".log", ".index", ".timeindex"};
            for (int f = 0; f < 3; f++) {
                char pa[512], pb[512];
                snprintf(pa, sizeof(pa), "%s/r-%d/%020lld%s", dir, p, (long long)v->s[k]->base,
                         sfx[f]);
                snprintf(pb, sizeof(pb), "%s/r-%d/%020lld%s", dir4, p, (long long)v->s[k]->base,
                         sfx[f]);
                size_t la, lb;
                uint8_t *fa = file_or_null(pa, &la), *fb = file_or_null(pb, &lb);
                ck_assert_msg((fa == NULL) == (fb == NULL), "%s", pa);
                ck_assert_uint_eq(la, lb);
                if (la > 0)
                    ck_assert_int_eq(memcmp(fa, fb, la), 0);
                free(fa);
                free(fb);
            }
        }
        st_log_put(a);
        st_log_put(b);
    }
    st_store_close(s1);
    st_store_close(s4);
    tst_rmrf(dir4);
}
END_TEST

/* A full file system: the checkpoint cannot be grown to its first 1024 slots (260 KiB). Its
 * blocks are reserved before it is mapped, so the store opens without one, with a warning;
 * without that reservation the first store into the mapping was a SIGBUS (seen on a full
 * disk: every broker of a cluster died in st__ck_update). Needs to mount a tmpfs (root). */
START_TEST(t_full_disk_opens_without_checkpoint)
{
    char mnt[300];
    snprintf(mnt, sizeof(mnt), "%s/small", dir);
    ck_assert_int_eq(mkdir(mnt, 0700), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=128k") != 0) {
        fprintf(stderr,
                "t_full_disk_opens_without_checkpoint: skipped: cannot mount a tmpfs "
                "(%s)\n",
                strerror(errno));
        return;
    }
    char data[400], filler[400];
    snprintf(data, sizeof(data), "%s/data", mnt);
    ck_assert_int_eq(mkdir(data, 0700), 0);
    snprintf(filler, sizeof(filler), "%s/filler", mnt);
    int fd = open(filler, O_WRONLY | O_CREAT, 0600);
    ck_assert_int_ge(fd, 0);
    static const char zeros[4096];
    for (int i = 0; i < 32 - 4; i++) /* leaves 16 KiB: room for small files, not 260 KiB */
        ck_assert_int_eq(write(fd, zeros, sizeof zeros), (ssize_t)sizeof zeros);
    close(fd);
    struct st_store *st = NULL;
    int rc = st_store_open_logged(data, NULL, on_msg, NULL, NULL, &st);
    if (rc == 0) {
        ck_assert_msg(strstr(msgs, "no log checkpoint"), "%s", msgs);
        st_store_close(st);
    } else {
        ck_assert_int_eq(rc, -ENOSPC); /* refused, not crashed */
    }
    ck_assert_int_eq(umount(mnt), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_ckpt");
    TCase *tc = tcase_create("ckpt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t_unchanged_logs_stay_dormant_after_a_crash);
    tcase_add_test(tc, t_dormant_logs_survive_a_second_crash);
    tcase_add_test(tc, t_damaged_checkpoint_means_a_full_recovery);
    tcase_add_test(tc, t_damaged_slot_means_that_log_is_recovered);
    tcase_add_test(tc, t_missing_checkpoint_means_a_full_recovery);
    tcase_add_test(tc, t_stale_slot_is_ignored);
    tcase_add_test(tc, t_recovery_threads_agree_with_one);
    tcase_add_test(tc, t_full_disk_opens_without_checkpoint);
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
