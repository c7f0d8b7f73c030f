/*
 * test_st_recover — crash recovery of storage logs, in the style of SQLite's crash tests:
 * snapshot a log's files as a crash would leave them (no clean-shutdown marker), damage the
 * tail at every byte position of its last batch (cut, or garbage-filled), reopen, and check
 * the log ends exactly at the last whole batch, indexes agree, and appends continue. Also:
 * a wrong header field (CRC-32C does not cover it) cuts an unsynced tail; a corrupt batch in
 * bytes known to be on disk is fenced, not cut; recovery reports what it did.
 */
#include <dirent.h>

#include "test_st_util.h"

static char dir[256];
static char pdir[300];

static void setup(void)
{
    tst_mkdtemp(dir, sizeof(dir));
    snprintf(pdir, sizeof(pdir), "%s/t-0", dir);
}

static void teardown(void) { tst_rmrf(dir); }

struct file {
    char name[256];
    uint8_t *data;
    size_t len;
};

struct snapshot {
    struct file f[64];
    int n;
};

static void snap_take(struct snapshot *s)
{
    DIR *d = opendir(pdir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    s->n = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        ck_assert_int_lt(s->n, 64);
        struct file *f = &s->f[s->n++];
        snprintf(f->name, sizeof(f->name), "%s", de->d_name);
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", pdir, f->name);
        f->data = tst_slurp(path, &f->len);
    }
    closedir(d);
}

static void snap_restore(const struct snapshot *s)
{
    DIR *d = opendir(pdir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    char path[1024];
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", pdir, de->d_name);
        unlink(path);
    }
    closedir(d);
    for (int i = 0; i < s->n; i++) {
        snprintf(path, sizeof(path), "%s/%s", pdir, s->f[i].name);
        tst_spit(path, s->f[i].data, s->f[i].len);
    }
}

static void snap_free(struct snapshot *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->f[i].data);
    s->n = 0;
}

struct layout {
    int64_t tail_base; /* tail segment's base offset */
    int64_t last_pos;  /* position of the last batch in the tail */
    int64_t last_end;  /* tail size */
    int64_t last_base; /* base offset of the last batch */
};

/*
 * Builds a log of several segments, syncs part of it (so a recovery point exists), appends
 * more, and takes a snapshot while the store is open (as a crash would leave the files).
 * alone: the last batch is the only one in its segment.
 */
static void build(struct snapshot *snap, struct layout *lay, bool alone)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 4000;
    c.index_interval_bytes = 200;
    c.index_max_bytes = 8; /* small pre-sized index files keep the snapshots small */
    struct st_store *store;
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "t", 1, &c), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    uint64_t rng = 99;
    for (int i = 0; i < 40; i++)
        tst_append1(log, 1 + (int)(tst_rand(&rng) % 3), 20 + tst_rand(&rng) % 200, i, 1);
    tst_wait_durable(log);
    /* The recovery point as of now. The flusher may write newer ones below (a roll kicks it),
     * and one could certify the batch this test tears, which no real crash can do to synced
     * bytes; the snapshot keeps this one, as if the later ones never reached the disk. */
    char rpath[1024];
    snprintf(rpath, sizeof(rpath), "%s/recovery-point", pdir);
    size_t rplen;
    uint8_t *rp = tst_slurp(rpath, &rplen);
    ck_assert_ptr_nonnull(rp);
    for (int i = 0; i < 5; i++)
        tst_append1(log, 2, 60, 100 + i, 1);
    if (alone)
        tst_append1(log, 1, 3900, 200, 1); /* fills a segment by itself */
    lay->last_base = tst_append1(log, 1, 20, 300, 1);
    struct st_segvec *v = atomic_load(&log->segs);
    struct st_seg *tail = v->s[v->n - 1];
    lay->tail_base = tail->base;
    lay->last_end = atomic_load(&tail->size);
    uint8_t b[12];
    /* last batch: walk the tail */
    int64_t pos = 0;
    for (;;) {
        ck_assert_int_eq(tst_seg_pread(tail, b, 12, pos), 12);
        int64_t sz = 12 + (int64_t)kp_load_be32(b + 8);
        if (pos + sz == lay->last_end)
            break;
        pos += sz;
    }
    lay->last_pos = pos;
    if (alone)
        ck_assert_int_eq(pos, 0);
    else
        ck_assert_int_gt(pos, 0);
    ck_assert_int_gt(v->n, 3);
    snap_take(snap);
    for (int i = 0; i < snap->n; i++) {
        if (strcmp(snap->f[i].name, "recovery-point") == 0) {
            free(snap->f[i].data);
            snap->f[i].data = rp;
            snap->f[i].len = rplen;
            rp = NULL;
        }
    }
    ck_assert_ptr_null(rp);
    st_log_put(log);
    st_store_close(store);
}

static void seg_file(char *buf, size_t cap, int64_t base, const char *suffix)
{
    snprintf(buf, cap, "%s/%020lld%s", pdir, (long long)base, suffix);
}

/* Reopens after damage and checks the log ends at the last whole batch and works on. */
static void check_recovered(const struct layout *lay, int64_t want_end)
{
    struct st_store *store;
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(st_log_end_offset(log), want_end);
    ck_assert_int_eq(st_log_durable_offset(log), want_end);
    tst_check_index(log);
    /* every batch reads back valid, up to the end */
    int64_t off = st_log_start_offset(log);
    while (off < want_end) {
        struct st_read rd;
        ck_assert_int_eq(st_log_read(log, off, 1 << 20, &rd), 0);
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        ck_assert_int_eq(seen.first_base, off);
        off = seen.next;
        st_read_release(&rd);
    }
    ck_assert_int_eq(off, want_end);
    ck_assert_int_eq(tst_append1(log, 1, 30, 999, 2), want_end);
    ck_assert_int_eq(st_log_end_offset(log), want_end + 1);
    tst_check_index(log);
    st_log_put(log);
    st_store_close(store);
    (void)lay;
}

static void crash_loop(bool alone)
{
    struct snapshot snap;
    struct layout lay;
    build(&snap, &lay, alone);
    char logpath[512];
    seg_file(logpath, sizeof(logpath), lay.tail_base, ".log");
    uint64_t rng = 12345;
    int runs = 0;
    for (int mode = 0; mode < 2; mode++) {
        for (int64_t cut = lay.last_pos; cut < lay.last_end; cut++) {
            snap_restore(&snap);
            if (mode == 0) {
                ck_assert_int_eq(truncate(logpath, cut), 0);
            } else {
                int fd = open(logpath, O_WRONLY);
                ck_assert_int_ge(fd, 0);
                uint8_t g[8192];
                size_t n = (size_t)(lay.last_end - cut);
                ck_assert_uint_le(n, sizeof(g));
                for (size_t p = 0; p < n; p++)
                    g[p] = (uint8_t)tst_rand(&rng);
                ck_assert_int_eq(pwrite(fd, g, n, cut), (ssize_t)n);
                close(fd);
            }
            check_recovered(&lay, lay.last_base);
            runs++;
        }
    }
    ck_assert_int_eq(runs, 2 * (lay.last_end - lay.last_pos));
    /* undamaged: everything survives the crash */
    snap_restore(&snap);
    check_recovered(&lay, lay.last_base + 1);
    /* without a recovery point every segment is scanned, with the same result */
    for (int64_t cut = lay.last_pos; cut < lay.last_end; cut += 7) {
        snap_restore(&snap);
        char rp[512];
        snprintf(rp, sizeof(rp), "%s/recovery-point", pdir);
        ck_assert_int_eq(unlink(rp), 0);
        ck_assert_int_eq(truncate(logpath, cut), 0);
        check_recovered(&lay, lay.last_base);
    }
    snap_free(&snap);
}

START_TEST(t_crash_loop_tail_batch) { crash_loop(false); }
END_TEST

START_TEST(t_crash_loop_batch_alone_in_segment) { crash_loop(true); }
END_TEST

START_TEST(t_garbage_index_is_rebuilt)
{
    struct snapshot snap;
    struct layout lay;
    build(&snap, &lay, false);
    snap_restore(&snap);
    char path[1024];
    uint64_t rng = 5;
    /* the tail's indexes full of garbage, a sealed segment's index zeroed */
    const char *sfx[] = {".index", ".timeindex"};
    for (int k = 0; k < 2; k++) {
        seg_file(path, sizeof(path), lay.tail_base, sfx[k]);
        int fd = open(path, O_WRONLY);
        ck_assert_int_ge(fd, 0);
        uint8_t g[4096];
        for (size_t i = 0; i < sizeof(g); i++)
            g[i] = (uint8_t)tst_rand(&rng);
        ck_assert_int_eq(pwrite(fd, g, sizeof(g), 0), (ssize_t)sizeof(g));
        close(fd);
    }
    seg_file(path, sizeof(path), 0, ".index");
    size_t len;
    uint8_t *z = tst_slurp(path, &len);
    ck_assert_uint_gt(len, 0);
    memset(z, 0, len);
    tst_spit(path, z, len);
    free(z);
    /* and an absurdly large (sparse) time index */
    seg_file(path, sizeof(path), 0, ".timeindex");
    ck_assert_int_eq(truncate(path, 5LL << 30), 0);
    check_recovered(&lay, lay.last_base + 1);
    snap_free(&snap);
}
END_TEST

/* A log whose files were never synced: the crash leaves no recovery point. */
static int64_t build_unsynced(int64_t *starts, int n)
{
    struct st_store *store;
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "t", 1, NULL), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    int64_t pos = 0;
    for (int i = 0; i < n; i++) {
        starts[i] = pos;
        ck_assert_int_eq(tst_append1(log, 2, 100, i, 1), 2 * i);
        struct st_segvec *v = atomic_load(&log->segs);
        pos = atomic_load(&v->s[0]->size);
    }
    st_log_put(log);
    st_store_close(store);
    char path[1024];
    snprintf(path, sizeof(path), "%s/clean-shutdown", pdir);
    ck_assert_int_eq(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/recovery-point", pdir);
    ck_assert_int_eq(unlink(path), 0);
    tst_store_unclean(dir);
    return pos;
}

static void flip_in(int64_t base, int64_t at, uint8_t mask)
{
    char path[1024];
    seg_file(path, sizeof(path), base, ".log");
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b;
    ck_assert_int_eq(pread(fd, &b, 1, at), 1);
    b ^= mask;
    ck_assert_int_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

static void flip(int64_t at) { flip_in(0, at, 0x40); }

START_TEST(t_flipped_body_byte_caught_by_crc)
{
    int64_t starts[10];
    build_unsynced(starts, 10);
    flip(starts[6] + 70); /* inside batch 6's records */
    struct layout lay = {0};
    check_recovered(&lay, 12);
}
END_TEST

START_TEST(t_bad_offset_field_truncates)
{
    int64_t starts[10];
    build_unsynced(starts, 10);
    flip(starts[4] + 7); /* baseOffset is outside the CRC; continuity catches it */
    struct layout lay = {0};
    check_recovered(&lay, 8);
}
END_TEST

START_TEST(t_header_fields_of_a_torn_tail)
{
    /* the tail is cut at a batch whose header is wrong in a field CRC-32C does not cover:
     * before, a flipped partitionLeaderEpoch was served as good */
    static const struct {
        int at;
        uint8_t mask;
    } f[] = {
        {12, 0x40}, /* partitionLeaderEpoch rises above both neighbours */
        {12, 0x80}, /* partitionLeaderEpoch negative: below the one before */
        {15, 0x01}, /* partitionLeaderEpoch 1 */
        {8, 0x01},  /* batchLength */
        {11, 0x04}, /* batchLength */
        {16, 0x01}, /* magic */
        {3, 0x20},  /* baseOffset */
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        tst_rmrf(dir);
        ck_assert_int_eq(mkdir(dir, 0700), 0);
        int64_t starts[10];
        build_unsynced(starts, 10);
        flip_in(0, starts[4] + f[i].at, f[i].mask);
        struct layout lay = {0};
        check_recovered(&lay, 8);
    }
}
END_TEST

/* A closed log of 40 batches of 2 records over several segments, synced and digested. */
static void build_sealed(struct st_log_config *c, int64_t *seg1_base)
{
    struct st_store *store;
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "t", 1, c), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(tst_append1(log, 2, 100, i, 1), 2 * i);
    tst_wait_settled(log);
    struct st_segvec *v = atomic_load(&log->segs);
    ck_assert_int_ge(v->n, 3);
    *seg1_base = v->s[1]->base;
    st_log_put(log);
    st_store_close(store);
}

/* Reopens and checks: end n, every offset readable but those of batch bad (2 records each,
 * -EBADMSG); appends one record. */
static void check_fenced(int64_t bad, int64_t n, struct st_recovery_report *rep)
{
    struct st_store *store;
    tst_store_unclean(dir); /* the log opened (and what that found counted) by the store's open */
    ck_assert_int_eq(st_store_open_logged(dir, NULL, NULL, NULL, rep, &store), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    ck_assert_int_eq(st_log_end_offset(log), n);
    for (int64_t o = 0; o < n; o++) {
        struct st_read rd;
        int rc = st_log_read(log, o, 1, &rd);
        if (o / 2 == bad) {
            ck_assert_int_eq(rc, -EBADMSG);
            continue;
        }
        ck_assert_msg(rc == 0, "offset %lld: %d", (long long)o, rc);
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        st_read_release(&rd);
    }
    ck_assert_int_eq(tst_append1(log, 1, 10, 1, 1), n);
    st_log_put(log);
    st_store_close(store);
}

START_TEST(t_rebuilt_sealed_segment_fences_instead_of_cutting)
{
    /* a clean log whose first segment's index is lost: it is rebuilt by a scan, which meets
     * a corrupt batch. The segment was synced and digested: the batch is fenced; before, the
     * log was cut there and every later segment deleted */
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 1000;
    c.index_interval_bytes = 100; /* entries in every segment: a lost index is noticed */
    int64_t seg1;
    build_sealed(&c, &seg1);
    char path[1024];
    seg_file(path, sizeof(path), 0, ".index");
    ck_assert_int_eq(unlink(path), 0);
    int64_t bsz = 0;
    {
        uint8_t b[12];
        seg_file(path, sizeof(path), 0, ".log");
        int fd = open(path, O_RDONLY);
        ck_assert_int_eq(pread(fd, b, 12, 0), 12);
        close(fd);
        bsz = 12 + kp_load_be32(b + 8);
    }
    flip_in(0, 2 * bsz + 80, 0x08); /* batch 2's records */
    struct st_recovery_report rep;
    check_fenced(2, 80, &rep);
    ck_assert_int_eq(rep.fenced_new, 1);
    ck_assert_int_eq(rep.bytes_cut, 0);
    ck_assert_int_eq(rep.indexes_rebuilt, 1);
    /* and on the next open it is loaded, not found again */
    check_fenced(2, 81, &rep);
    ck_assert_int_eq(rep.fenced_new, 0);
    ck_assert_int_eq(rep.fenced_loaded, 1);
}
END_TEST

START_TEST(t_synced_bytes_below_the_recovery_point_are_fenced)
{
    /* every append synced (the recovery point covers all of them); a crash; the active
     * segment's index does not match the recovery point, so it is scanned from 0, and meets a
     * corrupt batch below the recovery point: bytes that were on disk, fenced, not cut */
    struct st_log_config c = tst_cfg();
    c.flush_interval_messages = 1;
    c.index_interval_bytes = 100;
    struct st_store *store;
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "t", 1, &c), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    int64_t starts[40], pos = 0;
    for (int i = 0; i < 40; i++) {
        starts[i] = pos;
        ck_assert_int_eq(tst_append1(log, 2, 100, i, 1), 2 * i);
        pos = atomic_load(&atomic_load(&log->segs)->s[0]->size);
    }
    tst_wait_durable(log);
    st_log_put(log);
    st_store_close(store);
    char path[1024];
    snprintf(path, sizeof(path), "%s/clean-shutdown", pdir);
    ck_assert_int_eq(unlink(path), 0);
    seg_file(path, sizeof(path), 0, ".index");
    size_t len;
    uint8_t *ix = tst_slurp(path, &len);
    ck_assert_uint_gt(len, 16);
    ix[len - 1] ^= 1; /* the last entry: its hash no longer matches the recovery point */
    tst_spit(path, ix, len);
    free(ix);
    flip_in(0, starts[5] + 20, 0x01); /* batch 5's CRC field */
    struct st_recovery_report rep;
    check_fenced(5, 80, &rep);
    ck_assert_int_eq(rep.unclean, 1);
    ck_assert_int_eq(rep.fenced_new, 1);
    ck_assert_int_eq(rep.bytes_cut, 0);
}
END_TEST

static char rmsgs[8192];
static void on_rmsg(void *arg, enum st_msg_level level, const char *msg)
{
    (void)arg;
    snprintf(rmsgs + strlen(rmsgs), sizeof(rmsgs) - strlen(rmsgs), "%d %s\n", (int)level, msg);
}

START_TEST(t_recovery_says_what_it_did)
{
    int64_t starts[10];
    int64_t end = build_unsynced(starts, 10);
    char path[1024];
    seg_file(path, sizeof(path), 0, ".log");
    ck_assert_int_eq(truncate(path, starts[7] + 30), 0); /* batch 7 torn */
    rmsgs[0] = 0;
    struct st_recovery_report rep;
    struct st_store *store;
    ck_assert_int_eq(st_store_open_logged(dir, NULL, on_rmsg, NULL, &rep, &store), 0);
    st_store_close(store);
    ck_assert_int_eq(rep.logs, 1);
    ck_assert_int_eq(rep.unclean, 1);
    ck_assert_int_eq(rep.segments_scanned, 1);
    ck_assert_int_eq(rep.bytes_scanned, starts[7] + 30);
    ck_assert_int_eq(rep.bytes_cut, 30);
    ck_assert_int_eq(rep.indexes_rebuilt, 1);
    ck_assert_int_eq(rep.fenced_loaded + rep.fenced_new, 0);
    char want[2048];
    snprintf(want, sizeof(want),
             "1 recovered t-0 (after a crash): 1 segment(s) scanned (%lld bytes, CRC-32C and "
             "header continuity), 30 bytes cut at %s byte %lld (header runs past byte %lld), 0 "
             "later segment(s) deleted, 1 index(es) rebuilt, 0 fenced range(s) (0 found before, "
             "0 new); 1 segment(s), offsets [0, 14)\n",
             (long long)(starts[7] + 30), path, (long long)starts[7], (long long)(starts[7] + 30));
    ck_assert_msg(strstr(rmsgs, want) != NULL, "want\n%s\nin\n%s", want, rmsgs);
    snprintf(want, sizeof(want),
             "0 storage %s: 1 log(s), 1 after a crash, 0 dormant (closed cleanly: opened at their "
             "first use); 1 segment(s) scanned (%lld bytes), 30 bytes cut, 1 index(es) rebuilt, 0 "
             "fenced range(s) (0 found before, 0 new)\n",
             dir, (long long)(starts[7] + 30));
    ck_assert_msg(strstr(rmsgs, want) != NULL, "want\n%s\nin\n%s", want, rmsgs);
    (void)end;
    /* a clean open that needs nothing says only the summary */
    rmsgs[0] = 0;
    ck_assert_int_eq(st_store_open_logged(dir, NULL, on_rmsg, NULL, &rep, &store), 0);
    st_store_close(store);
    ck_assert_int_eq(rep.unclean, 0);
    ck_assert_int_eq(rep.segments_scanned, 0);
    ck_assert_ptr_null(strstr(rmsgs, "recovered"));
    ck_assert_ptr_nonnull(strstr(rmsgs, "0 storage "));
}
END_TEST

START_TEST(t_clean_marker_skips_scan)
{
    int64_t starts[10];
    build_unsynced(starts, 10);
    /* an earlier version's marker (an empty file) put back: the files are trusted, a flipped
     * body byte is not looked for (that is the scrubber's job), all 10 batches are kept */
    char path[1024];
    snprintf(path, sizeof(path), "%s/clean-shutdown", pdir);
    tst_spit(path, (const uint8_t *)"", 0);
    flip(starts[6] + 70);
    struct st_store *store;
    struct st_recovery_report rep;
    ck_assert_int_eq(st_store_open_logged(dir, NULL, NULL, NULL, &rep, &store), 0);
    ck_assert_int_eq(rep.unclean, 0);
    ck_assert_int_eq(rep.segments_scanned, 0);
    struct st_log *log = st_log_get(store, "t", 1, 0);
    ck_assert_int_eq(st_log_end_offset(log), 20);
    st_log_put(log);
    st_store_close(store);
    /* closed cleanly: the log's record says what it holds, the store's marker is there */
    size_t len;
    uint8_t *rec = tst_slurp(path, &len);
    ck_assert_uint_eq(len, ST_CLEAN_SIZE);
    ck_assert_int_eq(memcmp(rec, ST_CLEAN_MAGIC, 4), 0);
    ck_assert_int_eq((int64_t)kp_load_be64(rec + 32), 20); /* its end offset */
    free(rec);
    char smark[1024];
    snprintf(smark, sizeof(smark), "%s/clean-shutdown", dir);
    ck_assert_int_eq(access(smark, F_OK), 0);
    /* so the next open leaves the log dormant: offsets and stats from the record, no file read */
    ck_assert_int_eq(st_store_open_logged(dir, NULL, NULL, NULL, &rep, &store), 0);
    ck_assert_int_ne(access(smark, F_OK), 0); /* removed at open, before anything changes */
    ck_assert_int_eq(rep.dormant, 1);
    ck_assert_int_eq(rep.logs, 0);
    log = st_log_get(store, "t", 1, 0);
    ck_assert(!st__log_open(log));
    ck_assert_int_eq(st_log_end_offset(log), 20);
    ck_assert_int_eq(st_log_start_offset(log), 0);
    struct st_log_stats ls;
    st_log_stats(log, &ls);
    ck_assert_int_eq(ls.end_offset, 20);
    ck_assert_int_gt(ls.bytes, 0);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 20, 1000, &rd), 0); /* at the end: still dormant */
    ck_assert_int_eq(rd.n, 0);
    ck_assert(!st__log_open(log));
    ck_assert_int_eq(tst_append1(log, 1, 10, 1, 1), 20); /* opens it */
    ck_assert(st__log_open(log));
    st_log_put(log);
    st_store_close(store);
    /* a record that no longer matches the files (a change, then no clean close: the files as
     * a crash leaves them, the store's marker gone) is not trusted: the log is recovered */
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    log = tst_log_get(store, "t", 1, 0);
    ck_assert_int_eq(st_log_end_offset(log), 21);
    int64_t torn = atomic_load(&atomic_load(&log->segs)->s[atomic_load(&log->segs)->n - 1]->size);
    ck_assert_int_eq(tst_append1(log, 1, 10, 1, 1), 21);
    struct tst_dirsnap crash;
    tst_dir_take(pdir, &crash);
    st_log_put(log);
    st_store_close(store);
    tst_dir_restore(pdir, &crash);
    tst_dir_free(&crash);
    tst_store_unclean(dir);
    /* and the new batch torn: recovery must cut it */
    char lp[1024];
    snprintf(lp, sizeof(lp), "%s/00000000000000000000.log", pdir);
    ck_assert_int_eq(truncate(lp, torn + 20), 0);
    ck_assert_int_eq(st_store_open_logged(dir, NULL, NULL, NULL, &rep, &store), 0);
    ck_assert_int_eq(rep.unclean, 1);
    ck_assert_int_eq(rep.bytes_cut, 20);
    log = st_log_get(store, "t", 1, 0);
    ck_assert_int_eq(st_log_end_offset(log), 21);
    st_log_put(log);
    st_store_close(store);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_recover");
    TCase *tc = tcase_create("recover");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_crash_loop_tail_batch);
    tcase_add_test(tc, t_crash_loop_batch_alone_in_segment);
    tcase_add_test(tc, t_garbage_index_is_rebuilt);
    tcase_add_test(tc, t_flipped_body_byte_caught_by_crc);
    tcase_add_test(tc, t_bad_offset_field_truncates);
    tcase_add_test(tc, t_clean_marker_skips_scan);
    tcase_add_test(tc, t_header_fields_of_a_torn_tail);
    tcase_add_test(tc, t_rebuilt_sealed_segment_fences_instead_of_cutting);
    tcase_add_test(tc, t_synced_bytes_below_the_recovery_point_are_fenced);
    tcase_add_test(tc, t_recovery_says_what_it_did);
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
