/*
 * test_st_log — append, read, roll, retention, offsets and index rebuild of storage logs.
 */
#include "test_st_util.h"

static char dir[256];
static struct st_store *store;

static void setup(void)
{
    tst_mkdtemp(dir, sizeof(dir));
    store = NULL;
}

static void teardown(void)
{
    if (store)
        st_store_close(store);
    store = NULL;
    tst_rmrf(dir);
}

static struct st_log *open_topic(const struct st_log_config *cfg)
{
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "t", 1, cfg), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    ck_assert_ptr_nonnull(log);
    return log;
}

static struct st_log *reopen(struct st_log *log)
{
    st_log_put(log);
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    log = tst_log_get(store, "t", 1, 0);
    ck_assert_ptr_nonnull(log);
    return log;
}

static int nsegments(struct st_log *log) { return atomic_load(&log->segs)->n; }

/* Appends batches of random shape; several per call. Records each batch's base offset. */
static int64_t fill(struct st_log *log, int nbatches, uint64_t *rng, int64_t *bases, int64_t ts0)
{
    uint8_t *buf = malloc(64 * 4096);
    ck_assert_ptr_nonnull(buf);
    int done = 0;
    while (done < nbatches) {
        int per = 1 + (int)(tst_rand(rng) % 4);
        if (per > nbatches - done)
            per = nbatches - done;
        struct iovec iv[4];
        size_t at = 0;
        for (int i = 0; i < per; i++) {
            int nrec = 1 + (int)(tst_rand(rng) % 5);
            size_t vlen = 10 + tst_rand(rng) % 300;
            size_t n = tst_batch(buf + at, 64 * 4096 - at, nrec, vlen, ts0 + done + i, done + i);
            iv[i] = (struct iovec){buf + at, n};
            at += n;
        }
        struct st_append_result res;
        ck_assert_int_eq(st_log_append(log, iv, per, ts0 + done, &res), 0);
        int64_t o = res.base_offset;
        for (int i = 0; i < per; i++) {
            if (bases)
                bases[done + i] = o;
            struct kp_batch_hdr h;
            ck_assert_int_eq(kp_batch_parse_hdr(iv[i].iov_base, iv[i].iov_len, &h), 0);
            ck_assert_int_eq(h.base_offset, o); /* rewritten in the caller's buffer */
            o += h.last_offset_delta + 1;
        }
        ck_assert_int_eq(res.last_offset, o - 1);
        done += per;
    }
    free(buf);
    return st_log_end_offset(log);
}

START_TEST(t_roundtrip_many_segments)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 8192;
    c.index_interval_bytes = 512;
    struct st_log *log = open_topic(&c);
    uint64_t rng = 42;
    int64_t bases[400];
    int64_t end = fill(log, 400, &rng, bases, 1000);
    ck_assert_int_gt(nsegments(log), 5);
    ck_assert_int_eq(st_log_start_offset(log), 0);
    tst_check_index(log);

    for (int i = 0; i < 300; i++) {
        int64_t off = (int64_t)(tst_rand(&rng) % (uint64_t)end);
        size_t max = 1 + tst_rand(&rng) % 20000;
        struct st_read rd;
        ck_assert_int_eq(st_log_read(log, off, max, &rd), 0);
        ck_assert_int_gt(rd.n, 0);
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        ck_assert_int_le(seen.first_base, off);
        ck_assert_int_gt(seen.next, off); /* the first batch holds off */
        if (seen.batches > 1)
            ck_assert_uint_le(rd.total, max);
        st_read_release(&rd);
    }
    /* the whole log, read forward with a modest budget, is every batch exactly once */
    int64_t off = 0;
    int batches = 0;
    while (off < end) {
        struct st_read rd;
        ck_assert_int_eq(st_log_read(log, off, 3000, &rd), 0);
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        ck_assert_int_eq(seen.first_base, off);
        ck_assert_int_eq(seen.first_base, bases[batches]);
        batches += seen.batches;
        off = seen.next;
        st_read_release(&rd);
    }
    ck_assert_int_eq(batches, 400);

    /* the same after a clean reopen, and appends continue */
    log = reopen(log);
    ck_assert_int_eq(st_log_end_offset(log), end);
    tst_check_index(log);
    ck_assert_int_eq(tst_append1(log, 2, 50, 5000, 5000), end);
    st_log_put(log);
}
END_TEST

START_TEST(t_first_batch_larger_than_max)
{
    struct st_log *log = open_topic(NULL);
    tst_append1(log, 3, 1000, 1, 1);
    tst_append1(log, 3, 1000, 2, 2);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 1, 10, &rd), 0);
    struct tst_seen seen;
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.batches, 1);
    ck_assert_int_eq(seen.first_base, 0);
    ck_assert_uint_gt(rd.total, 10);
    st_read_release(&rd);
    /* max_bytes 0 behaves the same */
    ck_assert_int_eq(st_log_read(log, 3, 0, &rd), 0);
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.batches, 1);
    ck_assert_int_eq(seen.first_base, 3);
    st_read_release(&rd);
    st_log_put(log);
}
END_TEST

START_TEST(t_read_straddles_segments)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 2000;
    struct st_log *log = open_topic(&c);
    for (int i = 0; i < 30; i++)
        tst_append1(log, 1, 400, i, i);
    ck_assert_int_ge(nsegments(log), 5);
    struct st_segvec *v = atomic_load(&log->segs);
    int64_t second = v->s[1]->base;
    /* from the last batch of segment 0, a big budget crosses into the next segments */
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, second - 1, 1 << 20, &rd), 0);
    ck_assert_int_ge(rd.n, 2);
    struct tst_seen seen;
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.first_base, second - 1);
    ck_assert_int_eq(seen.next, rd.n == ST_READ_MAX_RANGES ? seen.next : 30);
    ck_assert_ptr_ne(rd.r[0].seg, rd.r[1].seg);
    ck_assert_int_eq(rd.r[1].pos, 0);
    st_read_release(&rd);
    st_log_put(log);
}
END_TEST

START_TEST(t_read_at_end_and_out_of_range)
{
    struct st_log *log = open_topic(NULL);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 0, 100, &rd), 0); /* empty log, at end */
    ck_assert_int_eq(rd.n, 0);
    ck_assert_int_eq(st_log_read(log, 1, 100, &rd), -ERANGE);
    tst_append1(log, 5, 10, 1, 1);
    ck_assert_int_eq(st_log_read(log, 5, 100, &rd), 0);
    ck_assert_int_eq(rd.n, 0);
    ck_assert_uint_eq(rd.total, 0);
    ck_assert_int_eq(st_log_read(log, 6, 100, &rd), -ERANGE);
    ck_assert_int_eq(st_log_read(log, -1, 100, &rd), -ERANGE);
    st_log_put(log);
}
END_TEST

/*
 * An append whose size is published but not yet its end offset (a writer preempted between
 * the two stores of publish): a read must not serve the batch past the end offset, or the
 * consumer's next fetch, at an offset above the end offset, is OFFSET_OUT_OF_RANGE and the
 * consumer resets to the start of the log (seen as records consumed twice, issue: durable
 * digest mismatch). The state is made by putting the end offset back, white box.
 */
START_TEST(t_read_stops_at_published_end)
{
    struct st_log *log = open_topic(NULL);
    for (int i = 0; i < 40; i++)
        tst_append1(log, 1, 100, i, i); /* offsets 0..39, a few index entries */
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 0, 1 << 20, &rd), 0);
    size_t whole = rd.total;
    st_read_release(&rd);
    int64_t b1 = tst_append1(log, 3, 100, 40, 40); /* offsets 40..42 */
    int64_t b2 = tst_append1(log, 2, 100, 41, 41); /* offsets 43..44 */
    ck_assert_int_eq(b1, 40);
    ck_assert_int_eq(b2, 43);
    /* the size covers both batches, the end offset only the first 40 records */
    atomic_store(&log->end_offset, 40);
    for (int64_t from = 0; from < 40; from += 13) {
        ck_assert_int_eq(st_log_read(log, from, 1 << 20, &rd), 0);
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        ck_assert_int_eq(seen.next, 40); /* nothing at or past the end offset */
        if (from == 0)
            ck_assert_uint_eq(rd.total, whole);
        st_read_release(&rd);
    }
    /* read_committed's path too (limit at the end) */
    ck_assert_int_eq(st_log_read_upto(log, 0, 1 << 20, 40, &rd), 0);
    struct tst_seen seen;
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.next, 40);
    st_read_release(&rd);
    /* the end offset inside the published bytes: cut at the batch of offset 43 */
    atomic_store(&log->end_offset, 43);
    ck_assert_int_eq(st_log_read(log, 41, 1 << 20, &rd), 0);
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.first_base, 40);
    ck_assert_int_eq(seen.next, 43);
    st_read_release(&rd);
    /* published: everything again */
    atomic_store(&log->end_offset, 45);
    ck_assert_int_eq(st_log_read(log, 0, 1 << 20, &rd), 0);
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.next, 45);
    st_read_release(&rd);
    st_log_put(log);
}
END_TEST

START_TEST(t_roll_by_size_and_time)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 1000;
    c.roll_ms = 60000;
    struct st_log *log = open_topic(&c);
    tst_append1(log, 1, 300, 1, 1000);
    tst_append1(log, 1, 300, 2, 1000);
    ck_assert_int_eq(nsegments(log), 1);
    tst_append1(log, 1, 300, 3, 1000); /* would pass 1000 bytes */
    ck_assert_int_eq(nsegments(log), 2);
    ck_assert_int_eq(atomic_load(&log->segs)->s[1]->base, 2);
    /* a batch larger than the segment size still goes in (alone) */
    tst_append1(log, 1, 2000, 4, 1000);
    ck_assert_int_eq(nsegments(log), 3);
    /* time: an append 60 s after the segment's first one rolls it */
    tst_append1(log, 1, 10, 5, 1000 + 59999);
    ck_assert_int_eq(nsegments(log), 4);
    tst_append1(log, 1, 10, 6, 1000 + 59999 + 60000);
    ck_assert_int_eq(nsegments(log), 5);
    /* and so does maintenance, without an append */
    st_store_maintain(store, 1000 + 59999 + 120000);
    ck_assert_int_eq(nsegments(log), 6);
    /* an empty active segment never rolls */
    st_store_maintain(store, 1000 + 59999 + 999999);
    ck_assert_int_eq(nsegments(log), 6);
    tst_check_index(log);
    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/00000000000000000002.log", dir);
    ck_assert_int_eq(access(path, F_OK), 0);
    /* st_log_stats: the segments, and their bytes as the files hold them */
    struct st_log_stats ls;
    st_log_stats(log, &ls);
    ck_assert_int_eq(ls.segments, 6);
    int64_t on_disk = 0;
    for (int i = 0; i < 6; i++) {
        struct stat sb;
        ck_assert_int_eq(stat(atomic_load(&log->segs)->s[i]->path, &sb), 0);
        on_disk += sb.st_size;
    }
    ck_assert_int_eq(ls.bytes, on_disk);
    ck_assert_int_gt(ls.bytes, 2600);
    ck_assert_int_eq(ls.start_offset, 0);
    ck_assert_int_eq(ls.end_offset, 6);
    ck_assert_int_eq(ls.fenced_ranges, 0);
    st_log_put(log);
}
END_TEST

/* The sync observer hears every sync round of the flusher with its duration and result. */
static _Atomic int64_t synced_rounds, synced_ns;
static void on_sync_time(void *arg, int64_t ns, int err)
{
    ck_assert_ptr_eq(arg, &synced_rounds);
    ck_assert_int_eq(err, 0);
    ck_assert_int_ge(ns, 0);
    atomic_fetch_add(&synced_ns, ns);
    atomic_fetch_add(&synced_rounds, 1);
}

START_TEST(t_sync_observer)
{
    struct st_log_config c = tst_cfg();
    struct st_log *log = open_topic(&c);
    st_store_set_sync_observer(store, on_sync_time, &synced_rounds);
    for (int i = 0; i < 3; i++) {
        tst_append1(log, 2, 100, i, 1000);
        tst_wait_durable(log);
    }
    ck_assert_int_ge(atomic_load(&synced_rounds), 3);
    ck_assert_int_gt(atomic_load(&synced_ns), 0);
    st_store_set_sync_observer(store, NULL, NULL);
    st_log_put(log);
}
END_TEST

START_TEST(t_roll_on_full_index)
{
    struct st_log_config c = tst_cfg();
    c.index_interval_bytes = 0; /* an entry for every batch after the first */
    c.index_max_bytes = 8;      /* clamped up to ST_APPEND_MAX_BATCHES + 2 entries */
    struct st_log *log = open_topic(&c);
    for (int i = 0; i < ST_APPEND_MAX_BATCHES + 10; i++)
        tst_append1(log, 1, 1, i, i);
    ck_assert_int_eq(nsegments(log), 2);
    tst_check_index(log);
    st_log_put(log);
}
END_TEST

/* Seals, syncs and digests everything so retention may delete sealed segments. */
static void settle(struct st_log *log) { tst_wait_settled(log); }

START_TEST(t_retention_by_size)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 1000;
    c.retention_bytes = 2500;
    struct st_log *log = open_topic(&c);
    for (int i = 0; i < 20; i++)
        tst_append1(log, 1, 400, i, 1000); /* ~470 bytes each: 2 per segment */
    int before = nsegments(log);
    ck_assert_int_eq(before, 10);
    settle(log);
    struct st_read held;
    ck_assert_int_eq(st_log_read(log, 0, 100, &held), 0); /* a reader holding segment 0 */
    st_store_maintain(store, 1000);
    int after = nsegments(log);
    ck_assert_int_lt(after, before);
    int64_t total = 0;
    struct st_segvec *v = atomic_load(&log->segs);
    for (int i = 0; i < v->n; i++)
        total += atomic_load(&v->s[i]->size);
    ck_assert_int_ge(total, 2500);                               /* kept at least the limit */
    ck_assert_int_lt(total - atomic_load(&v->s[0]->size), 2500); /* and no more whole ones */
    ck_assert_int_eq(st_log_start_offset(log), v->s[0]->base);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 0, 100, &rd), -ERANGE);
    ck_assert_int_eq(st_log_read(log, st_log_start_offset(log), 100, &rd), 0);
    ck_assert_int_eq(rd.n, 1);
    st_read_release(&rd);
    /* the held range still reads although its file is gone */
    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/00000000000000000000.log", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    struct tst_seen seen;
    tst_check_read(&held, &seen);
    ck_assert_int_eq(seen.first_base, 0);
    st_read_release(&held);
    /* after reopen the log starts where retention left it */
    int64_t start = st_log_start_offset(log);
    log = reopen(log);
    ck_assert_int_eq(st_log_start_offset(log), start);
    ck_assert_int_eq(st_log_end_offset(log), 20);
    st_log_put(log);
}
END_TEST

START_TEST(t_retention_by_time)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 1000;
    c.retention_ms = 10000;
    struct st_log *log = open_topic(&c);
    /* batch timestamps 0..9 in old segments, then newer ones */
    for (int i = 0; i < 6; i++)
        tst_append1(log, 1, 400, 1000 + i, 2000);
    for (int i = 0; i < 4; i++)
        tst_append1(log, 1, 400, 50000 + i, 2000);
    ck_assert_int_eq(nsegments(log), 5);
    settle(log);
    st_store_maintain(store, 5000); /* nothing older than -5000 */
    ck_assert_int_eq(nsegments(log), 5);
    st_store_maintain(store, 30000); /* segments whose newest batch is < 20000 go */
    ck_assert_int_eq(nsegments(log), 2);
    ck_assert_int_eq(st_log_start_offset(log), 6);
    st_store_maintain(store, 1000000); /* never the active segment */
    ck_assert_int_eq(nsegments(log), 1);
    ck_assert_int_eq(st_log_start_offset(log), 8);
    ck_assert_int_eq(st_log_end_offset(log), 10);
    st_log_put(log);
}
END_TEST

START_TEST(t_offset_for_time)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 3000;
    c.index_interval_bytes = 300;
    struct st_log *log = open_topic(&c);
    /* batch i: 2 records, timestamps 100*i and 100*i+1 */
    for (int i = 0; i < 60; i++)
        tst_append1(log, 2, 100, 100 * i, 1);
    ck_assert_int_gt(nsegments(log), 3);
    int64_t off = -1;
    for (int i = 0; i < 60; i++) {
        ck_assert_int_eq(st_log_offset_for_time(log, 100 * i, &off), 0);
        ck_assert_int_eq(off, 2 * i);
        ck_assert_int_eq(st_log_offset_for_time(log, 100 * i + 1, &off), 0);
        ck_assert_int_eq(off, 2 * i);
        if (i > 0) {
            ck_assert_int_eq(st_log_offset_for_time(log, 100 * i - 50, &off), 0);
            ck_assert_int_eq(off, 2 * i);
        }
    }
    ck_assert_int_eq(st_log_offset_for_time(log, -5, &off), 0);
    ck_assert_int_eq(off, 0);
    ck_assert_int_eq(st_log_offset_for_time(log, 100 * 59 + 2, &off), -ENOENT);
    /* the same from the indexes as reloaded */
    log = reopen(log);
    ck_assert_int_eq(st_log_offset_for_time(log, 100 * 37, &off), 0);
    ck_assert_int_eq(off, 74);
    st_log_put(log);
}
END_TEST

START_TEST(t_log_append_time_and_epoch)
{
    struct st_log_config c = tst_cfg();
    c.log_append_time = true;
    struct st_log *log = open_topic(&c);
    st_log_set_leader_epoch(log, 7);
    uint8_t buf[512];
    size_t n = tst_batch(buf, sizeof(buf), 2, 10, 5, 1);
    struct iovec iv = {buf, n};
    struct st_append_result res;
    ck_assert_int_eq(st_log_append(log, &iv, 1, 123456, &res), 0);
    ck_assert_int_eq(res.log_append_time, 123456);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 0, 1000, &rd), 0);
    uint8_t got[512];
    ck_assert_int_eq(pread(rd.r[0].fd, got, rd.r[0].len, rd.r[0].pos), (ssize_t)n);
    struct kp_batch_hdr h;
    ck_assert_int_eq(kp_batch_validate(got, n, 0, &h), 0);
    ck_assert_int_eq(h.max_timestamp, 123456);
    ck_assert_int_eq(h.leader_epoch, 7);
    ck_assert(h.attributes & KP_BATCH_ATTR_LOG_APPEND_TIME);
    st_read_release(&rd);
    int64_t off;
    ck_assert_int_eq(st_log_offset_for_time(log, 123456, &off), 0);
    ck_assert_int_eq(off, 0);
    st_log_put(log);
}
END_TEST

START_TEST(t_append_rejects_bad_iovecs)
{
    struct st_log *log = open_topic(NULL);
    uint8_t buf[512];
    size_t n = tst_batch(buf, sizeof(buf), 1, 10, 1, 1);
    struct iovec iv = {buf, n - 1};
    struct st_append_result res;
    ck_assert_int_eq(st_log_append(log, &iv, 1, 1, &res), -EINVAL);
    iv.iov_len = 20;
    ck_assert_int_eq(st_log_append(log, &iv, 1, 1, &res), -EINVAL);
    ck_assert_int_eq(st_log_append(log, &iv, 0, 1, &res), -EINVAL);
    ck_assert_int_eq(st_log_append(log, &iv, ST_APPEND_MAX_BATCHES + 1, 1, &res), -E2BIG);
    ck_assert_int_eq(st_log_end_offset(log), 0);
    st_log_put(log);
}
END_TEST

static uint8_t *slurp_seg(const char *suffix, int64_t base, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/%020lld%s", dir, (long long)base, suffix);
    return tst_slurp(path, len);
}

START_TEST(t_index_rebuild_after_delete)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 20000;
    c.index_interval_bytes = 700;
    struct st_log *log = open_topic(&c);
    uint64_t rng = 7;
    int64_t end = fill(log, 150, &rng, NULL, 1);
    ck_assert_int_ge(nsegments(log), 3);
    struct st_segvec *v = atomic_load(&log->segs);
    int64_t sealed = v->s[1]->base, tail = v->s[v->n - 1]->base;
    log = reopen(log); /* clean: index files trimmed to their entries */
    size_t li, lt, li2, lt2, lti, lti2;
    uint8_t *idx = slurp_seg(".index", sealed, &li);
    uint8_t *tidx = slurp_seg(".timeindex", sealed, &lt);
    uint8_t *tail_idx = slurp_seg(".index", tail, &lti);
    ck_assert_uint_gt(li, 0);
    st_log_put(log);
    st_store_close(store);
    store = NULL;

    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/%020lld.index", dir, (long long)sealed);
    ck_assert_int_eq(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/t-0/%020lld.timeindex", dir, (long long)sealed);
    ck_assert_int_eq(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/t-0/%020lld.index", dir, (long long)tail);
    ck_assert_int_eq(truncate(path, 8), 0); /* short */

    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    log = tst_log_get(store, "t", 1, 0);
    ck_assert_int_eq(st_log_end_offset(log), end);
    tst_check_index(log);
    uint8_t *idx2 = slurp_seg(".index", sealed, &li2);
    uint8_t *tidx2 = slurp_seg(".timeindex", sealed, &lt2);
    ck_assert_uint_eq(li, li2);
    ck_assert_int_eq(memcmp(idx, idx2, li), 0);
    /* the rebuilt time index has no final (seal-time) entry; the rest is identical */
    ck_assert(lt2 == lt || lt2 + 12 == lt);
    ck_assert_int_eq(memcmp(tidx, tidx2, lt2), 0);
    /* the tail's entries are back, and only they */
    uint8_t *tail_idx2 = slurp_seg(".index", tail, &lti2);
    ck_assert_uint_eq(lti2, lti);
    ck_assert_int_eq(memcmp(tail_idx, tail_idx2, lti), 0);
    for (int64_t o = 0; o < end; o += 37) {
        struct st_read rd;
        ck_assert_int_eq(st_log_read(log, o, 5000, &rd), 0);
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        ck_assert_int_le(seen.first_base, o);
        st_read_release(&rd);
    }
    free(idx);
    free(idx2);
    free(tidx);
    free(tidx2);
    free(tail_idx);
    free(tail_idx2);
    st_log_put(log);
}
END_TEST

static int64_t file_len(int64_t base, const char *suffix)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/t-0/%020lld%s", dir, (long long)base, suffix);
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -errno;
}

/* The published entries of an index as readers see them, encoded as in the file. */
static uint8_t *entries_of(struct st_seg *s, bool time, size_t *len)
{
    uint32_t n = atomic_load(time ? &s->tidx.n : &s->idx.n);
    size_t es = time ? ST_TIDX_ENTRY : ST_IDX_ENTRY;
    uint8_t *b = malloc(n * es + 1);
    ck_assert_ptr_nonnull(b);
    for (uint32_t i = 0; i < n; i++) {
        int32_t rel, pos;
        int64_t ts;
        if (time) {
            ck_assert_int_eq(st__tidx_entry(s, i, &ts, &rel), 1);
            kp_store_be64(b + i * es, (uint64_t)ts);
            kp_store_be32(b + i * es + 8, (uint32_t)rel);
        } else {
            ck_assert_int_eq(st__oidx_entry(s, i, &rel, &pos), 1);
            kp_store_be32(b + i * es, (uint32_t)rel);
            kp_store_be32(b + i * es + 4, (uint32_t)pos);
        }
    }
    *len = n * es;
    return b;
}

static void check_file_is(struct st_seg *s, bool time)
{
    size_t len, flen;
    uint8_t *want = entries_of(s, time, &len);
    uint8_t *got = slurp_seg(time ? ".timeindex" : ".index", s->base, &flen);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(flen, len);
    ck_assert_int_eq(memcmp(got, want, len), 0);
    free(want);
    free(got);
}

/*
 * The index files are never pre-sized (issue 21: the kernel zeroed the sparse pages under
 * every first store): the active segment's entries stay in memory until a sync writes those
 * the recovery point certifies, a sealed segment's file holds exactly its entries, and reads
 * find entries wherever they are.
 */
START_TEST(t_index_files_hold_only_entries)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 30000;
    c.index_interval_bytes = 0; /* an entry for every batch after the first */
    struct st_log *log = open_topic(&c);
    for (int i = 0; i < 20; i++)
        tst_append1(log, 2, 100, 1000 + i, 1);
    struct st_seg *s0 = atomic_load(&log->segs)->s[0];
    ck_assert_uint_eq(atomic_load(&s0->idx.n), 19);
    ck_assert_int_eq(file_len(0, ".index"), -ENOENT); /* nothing synced: nothing written */
    ck_assert_int_eq(file_len(0, ".timeindex"), -ENOENT);
    tst_wait_durable(log);
    check_file_is(s0, false);
    check_file_is(s0, true);
    ck_assert_int_eq(file_len(0, ".index"), 19 * ST_IDX_ENTRY);
    /* past a roll: the sealed file holds every entry (the seal's time entry too) */
    uint64_t rng = 3;
    fill(log, 200, &rng, NULL, 5000);
    struct st_segvec *v = atomic_load(&log->segs);
    ck_assert_int_ge(v->n, 3);
    for (int i = 0; i < v->n - 1; i++) {
        ck_assert(atomic_load(&v->s[i]->sealed));
        ck_assert_ptr_null(atomic_load(&v->s[i]->idx.mem)); /* readers use the file */
        check_file_is(v->s[i], false);
        check_file_is(v->s[i], true);
    }
    tst_check_index(log);
    for (int64_t o = 0; o < st_log_end_offset(log); o += 11) {
        struct st_read rd;
        ck_assert_int_eq(st_log_read(log, o, 3000, &rd), 0);
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        ck_assert_int_le(seen.first_base, o);
        st_read_release(&rd);
    }
    /* a clean close writes the active segment's last entries */
    int64_t tail = v->s[v->n - 1]->base;
    log = reopen(log);
    v = atomic_load(&log->segs);
    ck_assert_int_eq(v->s[v->n - 1]->base, tail);
    check_file_is(v->s[v->n - 1], false);
    check_file_is(v->s[v->n - 1], true);
    tst_check_index(log);
    st_log_put(log);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_log");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t_roundtrip_many_segments);
    tcase_add_test(tc, t_first_batch_larger_than_max);
    tcase_add_test(tc, t_read_straddles_segments);
    tcase_add_test(tc, t_read_at_end_and_out_of_range);
    tcase_add_test(tc, t_roll_by_size_and_time);
    tcase_add_test(tc, t_roll_on_full_index);
    tcase_add_test(tc, t_sync_observer);
    tcase_add_test(tc, t_retention_by_size);
    tcase_add_test(tc, t_retention_by_time);
    tcase_add_test(tc, t_offset_for_time);
    tcase_add_test(tc, t_log_append_time_and_epoch);
    tcase_add_test(tc, t_append_rejects_bad_iovecs);
    tcase_add_test(tc, t_index_rebuild_after_delete);
    tcase_add_test(tc, t_index_files_hold_only_entries);
    tcase_add_test(tc, t_read_stops_at_published_end);
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
