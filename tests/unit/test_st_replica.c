/*
 * test_st_replica — a partition log as a replica (st.h "replication"): high watermark and its
 * checkpoint, the follower's append (byte for byte against a leader log built by
 * st_log_append), producer and transaction state rebuilt from headers, truncation (and a
 * process killed after it), the leader-epoch cache and KIP-279 lookups.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "test_st_util.h"

static char dir[256];
static struct st_store *store;
static int64_t now_ms = 1000000;

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

/* Two topics in one store: "lead" (written by st_log_append) and "fol" (its replica). */
static void open_pair(const struct st_log_config *cfg, struct st_log **lead, struct st_log **fol)
{
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "lead", 1, cfg), 0);
    ck_assert_int_eq(st_topic_create(store, "fol", 1, cfg), 0);
    *lead = tst_log_get(store, "lead", 4, 0);
    *fol = tst_log_get(store, "fol", 3, 0);
}

static struct st_log *reopen_fol(struct st_log *fol, struct st_log **lead)
{
    st_log_put(fol);
    if (lead)
        st_log_put(*lead);
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    if (lead)
        *lead = tst_log_get(store, "lead", 4, 0);
    return tst_log_get(store, "fol", 3, 0);
}

/* Every byte of the log's batches in [from, end) (malloc'd; *len). */
static uint8_t *log_bytes(struct st_log *log, int64_t from, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    int64_t at = from;
    for (int guard = 0; at < st_log_end_offset(log) && guard < 100000; guard++) {
        struct st_read rd;
        ck_assert_int_eq(st_log_read(log, at, 1 << 20, &rd), 0);
        ck_assert_int_gt(rd.n, 0);
        for (int i = 0; i < rd.n; i++) {
            while (n + rd.r[i].len > cap) {
                cap *= 2;
                out = realloc(out, cap);
                ck_assert_ptr_nonnull(out);
            }
            ck_assert_int_eq(pread(rd.r[i].fd, out + n, rd.r[i].len, rd.r[i].pos),
                             (ssize_t)rd.r[i].len);
            n += rd.r[i].len;
        }
        /* the offset after the last batch read */
        size_t p = 0;
        int64_t next = at;
        while (p < n) {
            struct kp_batch_hdr h;
            ck_assert_int_eq(kp_batch_parse_hdr(out + p, n - p, &h), 0);
            next = h.base_offset + h.last_offset_delta + 1;
            p += kp_batch_size(&h);
        }
        at = next;
        st_read_release(&rd);
    }
    *len = n;
    return out;
}

/* Copies the leader's batches from the follower's end to the leader's end, at most per
 * batches per st_log_append_replica. */
static void follow(struct st_log *lead, struct st_log *fol, int per)
{
    size_t len;
    uint8_t *b = log_bytes(lead, st_log_end_offset(fol), &len);
    struct iovec iv[16];
    size_t p = 0;
    while (p < len) {
        int n = 0;
        while (p < len && n < per) {
            struct kp_batch_hdr h;
            ck_assert_int_eq(kp_batch_parse_hdr(b + p, len - p, &h), 0);
            iv[n++] = (struct iovec){b + p, kp_batch_size(&h)};
            p += kp_batch_size(&h);
        }
        struct st_append_result r;
        ck_assert_int_eq(st_log_append_replica(fol, iv, n, now_ms, &r), 0);
        ck_assert(!r.duplicate);
    }
    free(b);
    ck_assert_int_eq(st_log_end_offset(fol), st_log_end_offset(lead));
}

static void same_bytes(struct st_log *a, struct st_log *b)
{
    ck_assert_int_eq(st_log_end_offset(a), st_log_end_offset(b));
    size_t la, lb;
    uint8_t *x = log_bytes(a, st_log_start_offset(a), &la);
    uint8_t *y = log_bytes(b, st_log_start_offset(b), &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert(memcmp(x, y, la) == 0);
    free(x);
    free(y);
}

static void append_plain(struct st_log *log, int batches, int per, int64_t ts)
{
    uint8_t buf[4][4096];
    for (int done = 0; done < batches; done += per) {
        struct iovec iv[4];
        int n = per < batches - done ? per : batches - done;
        for (int i = 0; i < n; i++)
            iv[i] = (struct iovec){buf[i], tst_batch(buf[i], sizeof(buf[i]), 1 + (done + i) % 4,
                                                     40 + (size_t)(done * 7 % 200), ts + done,
                                                     (uint64_t)(done + i))};
        ck_assert_int_eq(st_log_append(log, iv, n, now_ms, NULL), 0);
    }
}

static int64_t app_pid(struct st_log *log, int64_t pid, int16_t epoch, int32_t seq, int nrec,
                       bool txn, int expect)
{
    uint8_t buf[4096];
    size_t n = tst_batch(buf, sizeof buf, nrec, 12, now_ms, (uint64_t)seq);
    kp_batch_set_producer(buf, n, pid, epoch, seq, txn);
    struct iovec iv = {buf, n};
    struct st_append_opts o = {.txn_verified = true};
    struct st_append_result r;
    ck_assert_int_eq(st_log_append_opts(log, &iv, 1, now_ms, &o, &r), expect);
    return expect == 0 ? (r.duplicate ? -2 : r.base_offset) : -1;
}

static struct st_log_config small_segments(void)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 2048;
    return c;
}

/* ---- 1. high watermark ------------------------------------------------------------------- */

START_TEST(t_hw_unreplicated_follows_end)
{
    struct st_log_config c = tst_cfg();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    ck_assert(!st_log_replicated(lead));
    append_plain(lead, 5, 2, 100);
    ck_assert_int_eq(st_log_high_watermark(lead), st_log_end_offset(lead));
    ck_assert_int_eq(st_log_set_high_watermark(lead, 1), st_log_end_offset(lead));
    ck_assert_int_eq(st_log_lso(lead), st_log_end_offset(lead));
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

START_TEST(t_hw_moves_up_only_never_past_end)
{
    struct st_log_config c = tst_cfg();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    append_plain(lead, 6, 2, 100);
    int64_t end = st_log_end_offset(lead);
    st_log_set_replicated(lead, true);
    ck_assert(st_log_replicated(lead));
    ck_assert_int_eq(st_log_high_watermark(lead), 0); /* no checkpoint: the log start */
    ck_assert_int_eq(st_log_lso(lead), 0);            /* never above the HW */
    ck_assert_int_eq(st_log_set_high_watermark(lead, 4), 4);
    ck_assert_int_eq(st_log_set_high_watermark(lead, 2), 4); /* never down */
    ck_assert_int_eq(st_log_high_watermark(lead), 4);
    ck_assert_int_eq(st_log_lso(lead), 4);
    ck_assert_int_eq(st_log_set_high_watermark(lead, end + 100), end); /* never past the end */
    append_plain(lead, 2, 1, 200);
    ck_assert_int_eq(st_log_high_watermark(lead), end); /* appends do not move it */
    ck_assert_int_le(st_log_lso(lead), st_log_high_watermark(lead));
    /* an open transaction holds the LSO below the HW */
    app_pid(lead, 5, 0, 0, 2, true, 0);
    int64_t txn_first = st_log_end_offset(lead) - 2;
    st_log_set_high_watermark(lead, st_log_end_offset(lead));
    ck_assert_int_eq(st_log_lso(lead), txn_first);
    st_log_set_replicated(lead, false);
    ck_assert_int_eq(st_log_high_watermark(lead), st_log_end_offset(lead));
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

/* The flusher checkpoints the HW (as of the durable data); set_replicated reads it back. */
START_TEST(t_hw_checkpoint_survives_reopen)
{
    struct st_log_config c = tst_cfg();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    append_plain(lead, 8, 2, 100);
    st_log_set_replicated(fol, true);
    follow(lead, fol, 3);
    st_log_set_high_watermark(fol, 7);
    tst_wait_durable(fol);
    char path[512];
    snprintf(path, sizeof path, "%s/fol-0/high-watermark", dir);
    bool seen = false;
    for (int i = 0; i < 20000 && !seen; i++) {
        size_t len;
        uint8_t *b = tst_slurp(path, &len);
        seen = b && len == 2 && memcmp(b, "7\n", 2) == 0;
        free(b);
        if (!seen) {
            st_log_request_sync(fol);
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    ck_assert(seen);
    fol = reopen_fol(fol, &lead);
    ck_assert(!st_log_replicated(fol));
    ck_assert_int_eq(st_log_high_watermark(fol), st_log_end_offset(fol));
    st_log_set_replicated(fol, true);
    ck_assert_int_eq(st_log_high_watermark(fol), 7);
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

/* ---- 2. the follower's append ------------------------------------------------------------ */

START_TEST(t_replica_append_byte_identical)
{
    struct st_log_config c = small_segments();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    st_log_set_leader_epoch(lead, 3);
    append_plain(lead, 20, 3, 100);
    st_log_set_leader_epoch(lead, 5);
    int64_t e5 = st_log_end_offset(lead);
    append_plain(lead, 20, 2, 300);
    follow(lead, fol, 4);
    same_bytes(lead, fol);
    ck_assert_int_gt(atomic_load(&fol->segs)->n, 2); /* rolled as the leader did */
    ck_assert_int_eq(st_log_latest_epoch(fol), 5);
    int32_t e;
    int64_t off;
    st_log_epoch_end_offset(fol, 3, &e, &off);
    ck_assert_int_eq(e, 3);
    ck_assert_int_eq(off, e5);
    /* more later, one batch per call, still identical; reads after a restart too */
    append_plain(lead, 7, 1, 500);
    follow(lead, fol, 1);
    same_bytes(lead, fol);
    fol = reopen_fol(fol, &lead);
    same_bytes(lead, fol);
    ck_assert_int_eq(st_log_latest_epoch(fol), 5);
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

START_TEST(t_replica_append_refuses_bad_crc_and_gaps)
{
    struct st_log_config c = tst_cfg();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    append_plain(lead, 4, 1, 100);
    size_t len;
    uint8_t *b = log_bytes(lead, 0, &len);
    struct kp_batch_hdr h0, h1;
    ck_assert_int_eq(kp_batch_parse_hdr(b, len, &h0), 0);
    size_t s0 = kp_batch_size(&h0);
    ck_assert_int_eq(kp_batch_parse_hdr(b + s0, len - s0, &h1), 0);
    size_t s1 = kp_batch_size(&h1);
    struct st_append_result r;
    /* a gap: the first batch must start at the end */
    struct iovec second = {b + s0, s1};
    ck_assert_int_eq(st_log_append_replica(fol, &second, 1, now_ms, &r), -ERANGE);
    /* not contiguous inside one call */
    struct iovec two[2] = {{b, s0}, {b + s0 + s1, len - s0 - s1}};
    struct kp_batch_hdr h2;
    ck_assert_int_eq(kp_batch_parse_hdr(b + s0 + s1, len - s0 - s1, &h2), 0);
    two[1].iov_len = kp_batch_size(&h2);
    ck_assert_int_eq(st_log_append_replica(fol, two, 2, now_ms, &r), -EINVAL);
    /* a flipped byte of a record: the CRC does not check, nothing written */
    uint8_t *bad = malloc(s0);
    memcpy(bad, b, s0);
    bad[s0 - 3] ^= 0x40;
    struct iovec biv[2] = {{b, s0}, {bad, s0}};
    ck_assert_int_eq(st_log_append_replica(fol, &biv[1], 1, now_ms, &r), -EBADMSG);
    ck_assert_int_eq(st_log_end_offset(fol), 0);
    free(bad);
    /* a good one goes in, then the rest */
    ck_assert_int_eq(st_log_append_replica(fol, &biv[0], 1, now_ms, &r), 0);
    ck_assert_int_eq(r.base_offset, 0);
    ck_assert_int_eq(r.last_offset, h0.last_offset_delta);
    free(b);
    follow(lead, fol, 2);
    same_bytes(lead, fol);
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

/* Idempotent producer state rebuilt from the headers: the producer goes on at the follower
 * (became leader) with its next sequence; its last batch again is a duplicate. */
START_TEST(t_replica_idempotent_state)
{
    struct st_log_config c = tst_cfg();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    for (int i = 0; i < 7; i++)
        app_pid(lead, 42, 1, i * 2, 2, false, 0);
    follow(lead, fol, 3);
    /* the follower becomes leader */
    ck_assert_int_eq(app_pid(fol, 42, 1, 12, 2, false, 0), -2); /* its last batch: duplicate */
    ck_assert_int_eq(app_pid(fol, 42, 1, 20, 2, false, -EILSEQ), -1);
    ck_assert_int_eq(app_pid(fol, 42, 0, 14, 2, false, -ESTALE), -1);
    int64_t at = app_pid(fol, 42, 1, 14, 2, false, 0);
    ck_assert_int_eq(at, st_log_end_offset(lead));
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

static void same_txn_state(struct st_log *a, struct st_log *b)
{
    ck_assert_int_eq(st_log_lso(a), st_log_lso(b));
    struct st_aborted x[16], y[16];
    int nx, ny;
    ck_assert_int_eq(st_log_aborted_txns(a, 0, INT64_MAX, x, 16, &nx), 0);
    ck_assert_int_eq(st_log_aborted_txns(b, 0, INT64_MAX, y, 16, &ny), 0);
    ck_assert_int_eq(nx, ny);
    ck_assert(memcmp(x, y, (size_t)nx * sizeof(x[0])) == 0);
    struct st_open_txn ox[8], oy[8];
    int mx = st_log_open_txns(a, ox, 8), my = st_log_open_txns(b, oy, 8);
    ck_assert_int_eq(mx, my);
    for (int i = 0; i < mx && i < 8; i++) {
        ck_assert_int_eq(ox[i].producer_id, oy[i].producer_id);
        ck_assert_int_eq(ox[i].first_offset, oy[i].first_offset);
        ck_assert_int_eq(ox[i].epoch, oy[i].epoch);
    }
}

START_TEST(t_replica_transactions_same_lso_and_aborts)
{
    struct st_log_config c = small_segments();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    app_pid(lead, 9, 0, 0, 2, true, 0);
    app_pid(lead, 10, 0, 0, 1, true, 0);
    append_plain(lead, 3, 1, 100);
    ck_assert_int_eq(st_log_append_marker(lead, 9, 0, false, 4, now_ms, NULL), 0); /* abort */
    app_pid(lead, 9, 0, 2, 2, true, 0);
    ck_assert_int_eq(st_log_append_marker(lead, 10, 0, true, 4, now_ms, NULL), 0); /* commit */
    ck_assert_int_eq(st_log_append_marker(lead, 9, 0, false, 4, now_ms, NULL), 0);
    app_pid(lead, 11, 2, 0, 3, true, 0); /* left open */
    append_plain(lead, 2, 2, 200);
    follow(lead, fol, 2);
    same_bytes(lead, fol);
    same_txn_state(lead, fol);
    int64_t lso = st_log_lso(fol);
    ck_assert_int_lt(lso, st_log_end_offset(fol));
    /* and after a crash of the follower (recovery replays the same headers) */
    st_log_put(lead);
    st_log_put(fol);
    st_store_close(store);
    tst_store_unclean(dir);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    lead = tst_log_get(store, "lead", 4, 0);
    fol = tst_log_get(store, "fol", 3, 0);
    same_txn_state(lead, fol);
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

/* ---- 3. leader-epoch cache --------------------------------------------------------------- */

static void epoch_file(char *path, size_t cap)
{
    snprintf(path, cap, "%s/fol-0/leader-epoch-checkpoint", dir);
}

START_TEST(t_epoch_cache_file_and_lookups)
{
    struct st_log_config c = tst_cfg();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    ck_assert_int_eq(st_log_latest_epoch(fol), -1);
    int32_t e;
    int64_t off;
    st_log_epoch_end_offset(fol, 3, &e, &off);
    ck_assert_int_eq(e, -1);
    ck_assert_int_eq(off, -1);
    st_log_set_leader_epoch(fol, 1);
    append_plain(fol, 3, 1, 100); /* 0..: epoch 1 */
    int64_t s2 = st_log_end_offset(fol);
    st_log_set_leader_epoch(fol, 2);
    st_log_set_leader_epoch(fol, 2); /* not above the latest: nothing */
    append_plain(fol, 2, 1, 200);
    int64_t s4 = st_log_end_offset(fol);
    st_log_set_leader_epoch(fol, 3); /* no batch of epoch 3: epoch 4 replaces it */
    ck_assert_int_eq(st_log_latest_epoch(fol), 3);
    st_log_set_leader_epoch(fol, 4);
    append_plain(fol, 2, 2, 300);
    int64_t end = st_log_end_offset(fol);
    char path[512], want[256];
    epoch_file(path, sizeof path);
    snprintf(want, sizeof want, "0\n3\n1 0\n2 %" PRId64 "\n4 %" PRId64 "\n", s2, s4);
    size_t len;
    uint8_t *b = tst_slurp(path, &len);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(b, want, len) == 0);
    free(b);
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(st_log_latest_epoch(fol), 4);
        st_log_epoch_end_offset(fol, 0, &e, &off); /* below the earliest */
        ck_assert_int_eq(e, -1);
        ck_assert_int_eq(off, -1);
        st_log_epoch_end_offset(fol, 1, &e, &off);
        ck_assert_int_eq(e, 1);
        ck_assert_int_eq(off, s2);
        st_log_epoch_end_offset(fol, 3, &e, &off); /* no epoch 3: epoch 2 and its end */
        ck_assert_int_eq(e, 2);
        ck_assert_int_eq(off, s4);
        st_log_epoch_end_offset(fol, 4, &e, &off);
        ck_assert_int_eq(e, 4);
        ck_assert_int_eq(off, end);
        st_log_epoch_end_offset(fol, 9, &e, &off);
        ck_assert_int_eq(e, 4);
        ck_assert_int_eq(off, end);
        if (round == 0) {
            fol = reopen_fol(fol, &lead); /* the file read back */
        } else if (round == 1) {
            tst_spit(path, (const uint8_t *)"0\n7\n1 0\n", 8); /* damaged: rebuilt */
            fol = reopen_fol(fol, &lead);
        }
    }
    /* rebuilt from the headers, and written again */
    b = tst_slurp(path, &len);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(b, want, len) == 0);
    free(b);
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

START_TEST(t_epoch_cache_trimmed_by_retention)
{
    struct st_log_config c = small_segments();
    c.retention_bytes = 4096;
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    for (int e = 1; e <= 6; e++) {
        st_log_set_leader_epoch(lead, e);
        append_plain(lead, 6, 2, 100 * e);
    }
    follow(lead, fol, 4);
    ck_assert_int_eq(st_log_latest_epoch(fol), 6);
    tst_wait_settled(fol);
    for (int i = 0; i < 50 && st_log_start_offset(fol) == 0; i++) {
        st_store_maintain(store, now_ms);
        tst_wait_settled(fol);
    }
    int64_t start = st_log_start_offset(fol);
    ck_assert_int_gt(start, 0);
    /* the epoch holding the start begins there; the ones before are gone */
    int32_t e;
    int64_t off;
    st_log_epoch_end_offset(fol, 0, &e, &off);
    ck_assert_int_eq(e, -1);
    char path[512];
    epoch_file(path, sizeof path);
    size_t len;
    uint8_t *b = tst_slurp(path, &len);
    ck_assert_ptr_nonnull(b);
    b = realloc(b, len + 1);
    b[len] = 0;
    int v, n, ep;
    long long st;
    ck_assert_int_eq(sscanf((char *)b, "%d\n%d\n%d %lld", &v, &n, &ep, &st), 4);
    ck_assert_int_eq(st, start);
    ck_assert_int_lt(n, 6);
    free(b);
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

/* ---- 4. truncation ----------------------------------------------------------------------- */

START_TEST(t_truncate_then_follow_again)
{
    struct st_log_config c = small_segments();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    st_log_set_leader_epoch(lead, 1);
    append_plain(lead, 30, 3, 100);
    follow(lead, fol, 5);
    st_log_set_replicated(fol, true);
    st_log_set_high_watermark(fol, st_log_end_offset(fol));
    int nseg = atomic_load(&fol->segs)->n;
    ck_assert_int_gt(nseg, 3);
    /* a cut inside a batch, in an older (sealed) segment: the batch goes whole */
    struct st_segvec *v = atomic_load(&fol->segs);
    int64_t mid = v->s[1]->base + 1;
    size_t len;
    uint8_t *b = log_bytes(lead, v->s[1]->base, &len);
    struct kp_batch_hdr h;
    ck_assert_int_eq(kp_batch_parse_hdr(b, len, &h), 0);
    free(b);
    int64_t cut = h.last_offset_delta >= 1 ? h.base_offset : mid;
    ck_assert_int_eq(st_log_truncate(fol, mid), 0);
    ck_assert_int_eq(st_log_end_offset(fol), cut);
    ck_assert_int_eq(st_log_high_watermark(fol), cut);
    ck_assert_int_le(st_log_durable_offset(fol), cut);
    ck_assert_int_le(st_log_lso(fol), cut);
    ck_assert_int_eq(atomic_load(&fol->segs)->n, 2);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(fol, cut, 1 << 20, &rd), 0);
    ck_assert_int_eq(rd.n, 0);
    st_read_release(&rd);
    ck_assert_int_eq(st_log_truncate(fol, cut + 100), 0); /* past the end: nothing */
    ck_assert_int_eq(st_log_end_offset(fol), cut);
    /* the leader's suffix again: identical */
    follow(lead, fol, 3);
    same_bytes(lead, fol);
    /* a diverging suffix (another epoch) cut at the active segment, then the leader's */
    int64_t end = st_log_end_offset(fol);
    st_log_set_leader_epoch(fol, 7);
    append_plain(fol, 4, 2, 900);
    ck_assert_int_eq(st_log_latest_epoch(fol), 7);
    ck_assert_int_eq(st_log_truncate(fol, end), 0);
    ck_assert_int_eq(st_log_latest_epoch(fol), 1);
    append_plain(lead, 5, 1, 1000);
    follow(lead, fol, 2);
    same_bytes(lead, fol);
    fol = reopen_fol(fol, &lead);
    same_bytes(lead, fol);
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

START_TEST(t_truncate_below_start_restarts_empty)
{
    struct st_log_config c = tst_cfg();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    append_plain(fol, 6, 2, 100);
    int64_t low;
    ck_assert_int_eq(st_log_delete_records(fol, 5, &low), 0);
    ck_assert_int_eq(st_log_truncate(fol, 3), 0);
    ck_assert_int_eq(st_log_start_offset(fol), 3);
    ck_assert_int_eq(st_log_end_offset(fol), 3);
    append_plain(fol, 2, 1, 200);
    ck_assert_int_eq(st_log_end_offset(fol), 3 + 1 + 2);
    fol = reopen_fol(fol, &lead);
    ck_assert_int_eq(st_log_start_offset(fol), 3);
    ck_assert_int_eq(st_log_end_offset(fol), 6);
    /* a log never written, emptied at 40 (a leader whose log starts there) */
    struct st_log *p1 = st_log_get(store, "lead", 4, 0);
    ck_assert_int_eq(st_log_truncate(p1, 0), 0); /* at its end (0): nothing */
    st_log_put(p1);
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

/* A follower whose end is below its leader's log start: emptied and restarted there. */
START_TEST(t_restart_at_above_end)
{
    struct st_log_config c = small_segments();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    append_plain(lead, 12, 2, 100);
    size_t len;
    uint8_t *b = log_bytes(lead, 0, &len);
    size_t p = 0;
    struct kp_batch_hdr h;
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(kp_batch_parse_hdr(b + p, len - p, &h), 0);
        p += kp_batch_size(&h);
    }
    free(b);
    int64_t B = h.base_offset + h.last_offset_delta + 1; /* the 7th batch */
    st_log_set_leader_epoch(fol, 3);
    append_plain(fol, 2, 1, 50); /* a divergent history, below B */
    ck_assert_int_lt(st_log_end_offset(fol), B);
    st_log_set_replicated(fol, true);
    ck_assert_int_eq(st_log_restart_at(fol, B), 0);
    ck_assert_int_eq(st_log_start_offset(fol), B);
    ck_assert_int_eq(st_log_end_offset(fol), B);
    ck_assert_int_eq(st_log_high_watermark(fol), B);
    ck_assert_int_eq(st_log_lso(fol), B);
    ck_assert_int_eq(st_log_latest_epoch(fol), -1);
    follow(lead, fol, 3);
    size_t la, lb;
    uint8_t *x = log_bytes(lead, B, &la), *y = log_bytes(fol, B, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert(memcmp(x, y, la) == 0);
    free(x);
    free(y);
    /* after a crash as after a clean close */
    st_log_put(lead);
    st_log_put(fol);
    st_store_close(store);
    tst_store_unclean(dir);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    lead = tst_log_get(store, "lead", 4, 0);
    fol = tst_log_get(store, "fol", 3, 0);
    ck_assert_int_eq(st_log_start_offset(fol), B);
    ck_assert_int_eq(st_log_end_offset(fol), st_log_end_offset(lead));
    /* a log never written restarts without files */
    ck_assert_int_eq(st_topic_create(store, "new", 1, &c), 0);
    struct st_log *n = st_log_get(store, "new", 3, 0);
    ck_assert_int_eq(st_log_restart_at(n, 40), 0);
    ck_assert_int_eq(st_log_start_offset(n), 40);
    ck_assert_int_eq(st_log_end_offset(n), 40);
    append_plain(n, 1, 1, 10);
    ck_assert_int_eq(st_log_end_offset(n), 41);
    st_log_put(n);
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

/* Producer and transaction state cut with the log: an abort marker cut reopens the txn. */
START_TEST(t_truncate_cuts_txn_state)
{
    struct st_log_config c = tst_cfg();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    app_pid(lead, 9, 0, 0, 2, true, 0);
    append_plain(lead, 2, 1, 100);
    int64_t at_marker = st_log_end_offset(lead);
    ck_assert_int_eq(st_log_append_marker(lead, 9, 0, false, 1, now_ms, NULL), 0);
    app_pid(lead, 12, 0, 0, 2, false, 0);
    follow(lead, fol, 2);
    same_txn_state(lead, fol);
    ck_assert_int_eq(st_log_truncate(fol, at_marker), 0);
    ck_assert_int_eq(st_log_lso(fol), 0); /* pid 9's transaction is open again */
    struct st_aborted ab[4];
    int n;
    ck_assert_int_eq(st_log_aborted_txns(fol, 0, INT64_MAX, ab, 4, &n), 0);
    ck_assert_int_eq(n, 0);
    /* pid 12 unknown again: its first batch at sequence 0 is no duplicate */
    follow(lead, fol, 1);
    same_txn_state(lead, fol);
    same_bytes(lead, fol);
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

/* kill -9 right after a truncation: the cut holds at the next open (a child process truncates
 * and exits without closing the store). */
START_TEST(t_truncate_survives_kill)
{
    struct st_log_config c = small_segments();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    st_log_set_leader_epoch(lead, 2);
    append_plain(lead, 24, 3, 100);
    follow(lead, fol, 4);
    tst_wait_settled(fol); /* the recovery point past the cut, the sealed segments digested */
    struct st_segvec *v = atomic_load(&fol->segs);
    ck_assert_int_gt(v->n, 3);
    int64_t cut1 = v->s[1]->base; /* inside a sealed segment's range: its start */
    int64_t cut2 = v->s[v->n - 2]->base + 1;
    (void)cut2;
    st_log_put(lead);
    st_log_put(fol);
    st_store_close(store);
    store = NULL;
    for (int round = 0; round < 2; round++) {
        pid_t p = fork();
        ck_assert_int_ge(p, 0);
        if (p == 0) {
            struct st_store *s2;
            if (st_store_open(dir, NULL, &s2) != 0)
                _exit(2);
            struct st_log *f = st_log_get(s2, "fol", 3, 0);
            int64_t at = round == 0 ? st_log_end_offset(f) - 5 : cut1 + 1;
            if (!f || st_log_truncate(f, at) != 0)
                _exit(3);
            /* the leader's batches after a cut in round 0: a diverging epoch then */
            if (round == 0) {
                st_log_set_leader_epoch(f, 9);
                uint8_t buf[512];
                struct iovec iv = {buf, tst_batch(buf, sizeof buf, 2, 20, 5, 5)};
                if (st_log_append(f, &iv, 1, now_ms, NULL) != 0)
                    _exit(4);
                if (st_log_truncate(f, st_log_end_offset(f) - 1) != 0)
                    _exit(5);
            }
            kill(getpid(), SIGKILL);
            _exit(6);
        }
        int status;
        ck_assert_int_eq(waitpid(p, &status, 0), p);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        tst_store_unclean(dir);
        ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
        lead = tst_log_get(store, "lead", 4, 0);
        fol = tst_log_get(store, "fol", 3, 0);
        int64_t end = st_log_end_offset(fol);
        ck_assert_int_lt(end, st_log_end_offset(lead));
        if (round == 1)
            ck_assert_int_le(end, cut1 + 1);
        ck_assert_int_eq(st_log_latest_epoch(fol), 2);
        /* what is left is the leader's prefix, byte for byte; the leader's suffix follows */
        size_t la, lb;
        uint8_t *x = log_bytes(lead, 0, &la);
        uint8_t *y = log_bytes(fol, 0, &lb);
        ck_assert_uint_lt(lb, la);
        ck_assert(memcmp(x, y, lb) == 0);
        free(x);
        free(y);
        if (round == 1) {
            follow(lead, fol, 3);
            same_bytes(lead, fol);
        }
        st_log_put(lead);
        st_log_put(fol);
        st_store_close(store);
        store = NULL;
    }
}
END_TEST

/* Readers while the log is cut and grown again: memory-safe (ASan), and every batch a read
 * returns is whole and checks (a read racing a cut may fail; it never serves garbage). */
struct rd_arg {
    struct st_log *log;
    _Atomic bool stop;
    _Atomic long reads;
    long batches;
};

/* Waits (bounded, 10 s) until the reader has read more than `than` times. */
static long reads_past(struct rd_arg *a, long than)
{
    for (int i = 0; i < 10000 && atomic_load(&a->reads) <= than; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&a->reads);
}

static void *reader(void *p)
{
    struct rd_arg *a = p;
    uint8_t *buf = malloc(1 << 20);
    while (!atomic_load(&a->stop)) {
        struct st_read rd;
        int64_t from = st_log_start_offset(a->log);
        if (st_log_read(a->log, from, 1 << 16, &rd) < 0) {
            atomic_fetch_add(&a->reads, 1); /* a read racing a cut may fail */
            continue;
        }
        size_t n = 0;
        bool ok = true;
        for (int i = 0; i < rd.n && ok; i++) {
            ok = n + rd.r[i].len <= (1 << 20) &&
                 pread(rd.r[i].fd, buf + n, rd.r[i].len, rd.r[i].pos) == (ssize_t)rd.r[i].len;
            n += rd.r[i].len;
        }
        st_read_release(&rd);
        atomic_fetch_add(&a->reads, 1);
        for (size_t p2 = 0; ok && p2 < n;) {
            struct kp_batch_hdr h;
            if (kp_batch_validate(buf + p2, n - p2, 0, &h) < 0)
                break; /* a short read past a cut: the bytes are gone, nothing served */
            a->batches++;
            p2 += kp_batch_size(&h);
        }
    }
    free(buf);
    return NULL;
}

START_TEST(t_truncate_with_readers)
{
    struct st_log_config c = small_segments();
    struct st_log *lead, *fol;
    open_pair(&c, &lead, &fol);
    append_plain(lead, 40, 2, 100);
    follow(lead, fol, 4);
    struct rd_arg a = {.log = fol};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, reader, &a), 0);
    long seen = reads_past(&a, 0);
    ck_assert_int_gt(seen, 0);
    for (int i = 0; i < 20; i++) {
        seen = reads_past(&a, seen); /* reads between the cuts (not asserted: scheduling) */
        int64_t end = st_log_end_offset(fol);
        ck_assert_int_eq(st_log_truncate(fol, end - 1 - (i * 7) % (end - 1)), 0);
        follow(lead, fol, 3);
    }
    atomic_store(&a.stop, true);
    pthread_join(th, NULL);
    same_bytes(lead, fol);
    st_log_put(lead);
    st_log_put(fol);
}
END_TEST

/* ---- 5. drop-behind (replica.cache.keep.bytes) ------------------------------------------ */

#define DROP_BATCH_RECORDS    60
#define DROP_BATCHES_PER_CALL 16

/* Appends about mib MiB to the follower, 16 batches of ~60 KiB per call, each call followed
 * by an fdatasync of the active segment (its pages clean, so the next drop can take them). */
static void follow_synced(struct st_log *fol, int mib)
{
    static uint8_t b[DROP_BATCHES_PER_CALL][DROP_BATCH_RECORDS * 1100];
    size_t len = 0;
    for (int i = 0; i < DROP_BATCHES_PER_CALL; i++)
        len = tst_batch(b[i], sizeof(b[i]), DROP_BATCH_RECORDS, 1000, 5000, (uint64_t)i);
    int64_t bytes = (int64_t)mib << 20;
    for (int64_t done = 0; done < bytes; done += DROP_BATCHES_PER_CALL * (int64_t)len) {
        struct iovec iv[DROP_BATCHES_PER_CALL];
        int64_t at = st_log_end_offset(fol);
        for (int i = 0; i < DROP_BATCHES_PER_CALL; i++) {
            kp_batch_set_base_offset(b[i], at + (int64_t)i * DROP_BATCH_RECORDS);
            iv[i] = (struct iovec){b[i], len};
        }
        ck_assert_int_eq(st_log_append_replica(fol, iv, DROP_BATCHES_PER_CALL, now_ms, NULL), 0);
        struct st_segvec *v = atomic_load(&fol->segs);
        int fd = open(v->s[v->n - 1]->path, O_RDONLY);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fdatasync(fd), 0);
        close(fd);
    }
}

/* Pages of the follower's only segment in the page cache within [from, to) (bytes), and the
 * segment's size. */
static long resident_pages(struct st_log *fol, int64_t from, int64_t to, int64_t *size)
{
    struct st_segvec *v = atomic_load(&fol->segs);
    ck_assert_int_eq(v->n, 1);
    int fd = open(v->s[0]->path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct stat stt;
    ck_assert_int_eq(fstat(fd, &stt), 0);
    *size = stt.st_size;
    long pg = sysconf(_SC_PAGESIZE);
    if (to > stt.st_size)
        to = stt.st_size;
    from -= from % pg;
    long n = 0;
    if (to > from) {
        void *m = mmap(NULL, (size_t)(to - from), PROT_READ, MAP_SHARED, fd, from);
        ck_assert(m != MAP_FAILED);
        size_t pages = (size_t)((to - from + pg - 1) / pg);
        unsigned char *vec = malloc(pages);
        ck_assert_ptr_nonnull(vec);
        ck_assert_int_eq(mincore(m, (size_t)(to - from), vec), 0);
        for (size_t i = 0; i < pages; i++)
            n += vec[i] & 1;
        free(vec);
        munmap(m, (size_t)(to - from));
    }
    close(fd);
    return n;
}

/* A follower keeps its newest keep bytes in the page cache and drops what is older once
 * written back, also after a truncation cut the segment below where the drop had got to;
 * with -1 (off) it drops nothing. */
START_TEST(t_follower_drops_behind)
{
    /* the page cache of a disk's file system: tmpfs pages (/dev/shm) cannot be dropped */
    tst_rmrf(dir);
    const char *base = getenv("ST_DISK_TEST_DIR") ? getenv("ST_DISK_TEST_DIR") : "/var/tmp";
    snprintf(dir, sizeof(dir), "%s/st-test-XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct statfs fs;
    ck_assert_int_eq(statfs(dir, &fs), 0);
    if (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC) {
        fprintf(stderr,
                "t_follower_drops_behind: NOT RUN: %s is in memory; set "
                "ST_DISK_TEST_DIR to a directory on a disk\n",
                base);
        return;
    }
    long pg = sysconf(_SC_PAGESIZE);
    int64_t keep = 4LL << 20, step = 4LL << 20; /* step: CACHE_STEP in st_log.c */
    struct st_log_config c = tst_cfg();
    c.replica_cache_keep_bytes = keep;
    ck_assert_int_eq(st_store_open(dir, &c, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "fol", 1, &c), 0);
    struct st_log *fol = tst_log_get(store, "fol", 3, 0);
    follow_synced(fol, 40);
    int64_t size;
    resident_pages(fol, 0, 0, &size);
    ck_assert_int_ge(size, 40LL << 20);
    /* everything older than keep and the step the last drop may not have reached: gone */
    ck_assert_int_eq(resident_pages(fol, 0, size - keep - step, &size), 0);
    /* the newest MiB, just written: still in the cache */
    ck_assert_int_ge(resident_pages(fol, size - (1 << 20), size, &size), (1 << 20) / pg);

    /* a cut to about a quarter, then the log grows again: dropped behind again */
    ck_assert_int_eq(st_log_truncate(fol, st_log_end_offset(fol) / 4), 0);
    follow_synced(fol, 24);
    resident_pages(fol, 0, 0, &size);
    ck_assert_int_ge(size, 30LL << 20);
    ck_assert_int_eq(resident_pages(fol, 0, size - keep - step, &size), 0);
    st_log_put(fol);
    st_store_close(store);
    store = NULL;
    tst_rmrf(dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);

    /* off: the kernel decides (nothing dropped on this machine's idle memory) */
    c.replica_cache_keep_bytes = -1;
    ck_assert_int_eq(st_store_open(dir, &c, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "fol", 1, &c), 0);
    fol = tst_log_get(store, "fol", 3, 0);
    follow_synced(fol, 16);
    long all = resident_pages(fol, 0, INT64_MAX, &size);
    ck_assert_int_ge(all, (long)(size / pg) * 3 / 4);
    st_log_put(fol);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_replica");
    TCase *tc = tcase_create("replica");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t_hw_unreplicated_follows_end);
    tcase_add_test(tc, t_hw_moves_up_only_never_past_end);
    tcase_add_test(tc, t_hw_checkpoint_survives_reopen);
    tcase_add_test(tc, t_replica_append_byte_identical);
    tcase_add_test(tc, t_replica_append_refuses_bad_crc_and_gaps);
    tcase_add_test(tc, t_replica_idempotent_state);
    tcase_add_test(tc, t_replica_transactions_same_lso_and_aborts);
    tcase_add_test(tc, t_epoch_cache_file_and_lookups);
    tcase_add_test(tc, t_epoch_cache_trimmed_by_retention);
    tcase_add_test(tc, t_truncate_then_follow_again);
    tcase_add_test(tc, t_truncate_below_start_restarts_empty);
    tcase_add_test(tc, t_truncate_cuts_txn_state);
    tcase_add_test(tc, t_restart_at_above_end);
    tcase_add_test(tc, t_truncate_survives_kill);
    tcase_add_test(tc, t_truncate_with_readers);
    tcase_add_test(tc, t_follower_drops_behind);
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
