/*
 * test_st_pstate — producer state in storage (st_pstate.c, st_txnidx.c): THE PRODUCER RULES
 * case by case (duplicates answered with the original offsets, sequence gaps, epochs, the
 * wrap at INT32_MAX, transactional batches and their verification), markers, the last stable
 * offset, the .txnindex and the aborted list a read_committed fetch gets, reads cut at the
 * LSO; then durability: clean restarts keep every producer's window of 5, crash loops that
 * cut the log at every byte of its last batches reopen to exactly the state a model replay of
 * the surviving batches gives, damaged snapshots and .txnindex files are recovered from,
 * retention never loses a live producer, expiry and the memory bound.
 */
#include "test_st_util.h"

static char dir[256];
static char pdir[300];

static void setup(void)
{
    tst_mkdtemp(dir, sizeof(dir));
    snprintf(pdir, sizeof(pdir), "%s/t-0", dir);
}

static void teardown(void) { tst_rmrf(dir); }

/* The test batches carry 1970s timestamps: producers never expire unless a test says so. */
static struct st_log_config cfg0(void)
{
    struct st_log_config c = tst_cfg();
    c.producer_id_expiration_ms = -1;
    return c;
}

/* The files as after a crash: no clean-shutdown marker. */
static void unclean(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/clean-shutdown", pdir);
    unlink(path);
}

static int64_t now_ms = 1000000;

/* A batch of producer pid: nrec records, sequences from seq. */
static size_t mk(uint8_t *buf, size_t cap, int64_t pid, int16_t epoch, int32_t seq, int nrec,
                 bool txn, int64_t ts)
{
    size_t n = tst_batch(buf, cap, nrec, 12, ts, (uint64_t)ts);
    kp_batch_set_producer(buf, n, pid, epoch, seq, txn);
    return n;
}

static int app(struct st_log *log, int64_t pid, int16_t epoch, int32_t seq, int nrec, bool txn,
               bool verified, struct st_append_result *res)
{
    uint8_t buf[4096];
    struct iovec iv = {buf, mk(buf, sizeof buf, pid, epoch, seq, nrec, txn, now_ms)};
    struct st_append_opts o = {.txn_verified = verified};
    struct st_append_result r;
    return st_log_append_opts(log, &iv, 1, now_ms, &o, res ? res : &r);
}

/* Appends and returns the base offset (asserting success, no duplicate). */
static int64_t ok(struct st_log *log, int64_t pid, int16_t epoch, int32_t seq, int nrec, bool txn)
{
    struct st_append_result r;
    ck_assert_int_eq(app(log, pid, epoch, seq, nrec, txn, true, &r), 0);
    ck_assert(!r.duplicate);
    return r.base_offset;
}

static int64_t marker(struct st_log *log, int64_t pid, int16_t epoch, bool commit)
{
    struct st_append_result r;
    ck_assert_int_eq(st_log_append_marker(log, pid, epoch, commit, 0, now_ms, &r), 0);
    ck_assert_int_eq(r.base_offset, r.last_offset);
    return r.base_offset;
}

static struct st_store *open_store(const struct st_log_config *c, struct st_log **log)
{
    struct st_store *st;
    ck_assert_int_eq(st_store_open(dir, c, &st), 0);
    *log = tst_log_get(st, "t", 1, 0);
    if (!*log) {
        ck_assert_int_eq(st_topic_create(st, "t", 1, c), 0);
        *log = tst_log_get(st, "t", 1, 0);
    }
    ck_assert_ptr_nonnull(*log);
    return st;
}

static void close_store(struct st_store *st, struct st_log *log)
{
    st_log_put(log);
    st_store_close(st);
}

START_TEST(t_sequence_rules)
{
    struct st_log_config c = cfg0();
    struct st_log *log;
    struct st_store *st = open_store(&c, &log);
    /* plain batches (pid -1) are untouched by all of this */
    tst_append1(log, 2, 10, 1, now_ms);
    /* a producer unknown here: any first sequence (KIP-360) */
    int64_t o[8];
    o[0] = ok(log, 7, 0, 17, 3, false); /* seqs 17-19 */
    ck_assert_int_eq(o[0], 2);
    ck_assert_int_eq(app(log, 7, 0, 21, 1, false, false, NULL), -EILSEQ); /* gap */
    ck_assert_int_eq(app(log, 7, 0, 19, 1, false, false, NULL), -EILSEQ); /* overlap */
    o[1] = ok(log, 7, 0, 20, 2, false);
    for (int i = 2; i < 7; i++)
        o[i] = ok(log, 7, 0, 22 + 2 * (i - 2), 2, false); /* 22-23 ... 30-31 */
    int64_t end = st_log_end_offset(log);
    /* a repeat of any of the last 5 batches: the original's offsets, nothing written */
    for (int i = 2; i < 7; i++) {
        struct st_append_result r;
        ck_assert_int_eq(app(log, 7, 0, 22 + 2 * (i - 2), 2, false, false, &r), 0);
        ck_assert(r.duplicate);
        ck_assert_int_eq(r.base_offset, o[i]);
        ck_assert_int_eq(r.last_offset, o[i] + 1);
        ck_assert_int_eq(r.log_append_time, -1);
        ck_assert_int_eq(st_log_end_offset(log), end);
    }
    /* the 6th newest is out of the window: out of order, as in Kafka */
    ck_assert_int_eq(app(log, 7, 0, 20, 2, false, false, NULL), -EILSEQ);
    /* same first sequence, different length: not a duplicate */
    ck_assert_int_eq(app(log, 7, 0, 30, 1, false, false, NULL), -EILSEQ);
    /* epochs: older is fenced; a newer one must start at 0 */
    ck_assert_int_eq(app(log, 7, -1, 32, 1, false, false, NULL), -ESTALE);
    ck_assert_int_eq(app(log, 7, 1, 32, 1, false, false, NULL), -EILSEQ);
    ok(log, 7, 1, 0, 1, false);
    ck_assert_int_eq(app(log, 7, 0, 32, 1, false, false, NULL), -ESTALE);
    /* the old epoch's window is gone with it */
    ck_assert_int_eq(app(log, 7, 0, 30, 2, false, false, NULL), -ESTALE);
    ck_assert_int_eq(st_log_end_offset(log), end + 1);

    /* the wrap: after INT32_MAX comes 0 */
    ok(log, 8, 3, INT32_MAX - 2, 3, false);
    ck_assert_int_eq(app(log, 8, 3, 1, 1, false, false, NULL), -EILSEQ);
    ok(log, 8, 3, 0, 1, false);
    /* a batch across the wrap */
    ok(log, 9, 0, INT32_MAX - 1, 3, false); /* INT32_MAX-1, INT32_MAX, 0 */
    struct st_append_result r;
    ck_assert_int_eq(app(log, 9, 0, INT32_MAX - 1, 3, false, false, &r), 0);
    ck_assert(r.duplicate);
    ok(log, 9, 0, 1, 1, false);

    /* several batches in one call may not carry a producer id */
    uint8_t a[512], b[512];
    struct iovec iv[2] = {{a, mk(a, sizeof a, 11, 0, 0, 1, false, 1)},
                          {b, tst_batch(b, sizeof b, 1, 10, 1, 1)}};
    ck_assert_int_eq(st_log_append(log, iv, 2, now_ms, &r), -EINVAL);
    /* nor a sequence of -1, nor be a control batch */
    iv[0].iov_len = mk(a, sizeof a, 11, 0, -1, 1, false, 1);
    ck_assert_int_eq(st_log_append(log, iv, 1, now_ms, &r), -EINVAL);
    kp_batch_build_txn_marker(a, 11, 0, true, 0, 1);
    iv[0].iov_len = KP_BATCH_MARKER_LEN;
    ck_assert_int_eq(st_log_append(log, iv, 1, now_ms, &r), -EINVAL);
    close_store(st, log);
}
END_TEST

START_TEST(t_duplicate_on_log_append_time_topic)
{
    struct st_log_config c = cfg0();
    c.log_append_time = true;
    struct st_log *log;
    struct st_store *st = open_store(&c, &log);
    now_ms = 5000;
    int64_t o = ok(log, 3, 0, 0, 2, false);
    now_ms = 6000;
    struct st_append_result r;
    ck_assert_int_eq(app(log, 3, 0, 0, 2, false, false, &r), 0);
    ck_assert(r.duplicate);
    ck_assert_int_eq(r.base_offset, o);
    ck_assert_int_eq(r.log_append_time, 5000); /* the original's */
    now_ms = 1000000;
    close_store(st, log);
}
END_TEST

/* The aborted list for [from, upper). */
static int aborted(struct st_log *log, int64_t from, int64_t upper, struct st_aborted *out)
{
    int n = -1;
    ck_assert_int_eq(st_log_aborted_txns(log, from, upper, out, 64, &n), 0);
    return n;
}

START_TEST(t_transactions_markers_lso)
{
    struct st_log_config c = cfg0();
    struct st_log *log;
    struct st_store *st = open_store(&c, &log);
    tst_append1(log, 1, 10, 1, now_ms); /* 0 */
    ck_assert_int_eq(st_log_lso(log), 1);
    /* the first transactional batch needs the coordinator's word */
    ck_assert_int_eq(app(log, 20, 0, 0, 2, true, false, NULL), -ENOKEY);
    int64_t t1 = ok(log, 20, 0, 0, 2, true); /* 1-2: opens 20's transaction */
    ck_assert_int_eq(t1, 1);
    ck_assert_int_eq(st_log_lso(log), 1);
    ck_assert_int_eq(st_log_end_offset(log), 3);
    /* later batches of the open transaction need nothing more; plain ones are refused */
    ck_assert_int_eq(app(log, 20, 0, 2, 1, true, false, NULL), 0); /* 3 */
    ck_assert_int_eq(app(log, 20, 0, 3, 1, false, false, NULL), -EPROTO);
    /* others go on; the LSO stays at the open transaction */
    tst_append1(log, 1, 10, 1, now_ms);      /* 4 */
    int64_t t2 = ok(log, 21, 0, 0, 1, true); /* 5: opens 21's */
    ok(log, 7, 0, 0, 1, false);              /* 6 */
    ck_assert_int_eq(st_log_lso(log), 1);
    /* 20 aborts: the LSO moves to 21's first offset; the .txnindex entry says so */
    int64_t m1 = marker(log, 20, 0, false); /* 7 */
    ck_assert_int_eq(m1, 7);
    ck_assert_int_eq(st_log_lso(log), t2);
    struct st_aborted ab[64];
    ck_assert_int_eq(aborted(log, 0, 8, ab), 1);
    ck_assert(ab[0].producer_id == 20 && ab[0].first_offset == 1);
    ck_assert_int_eq(aborted(log, 0, 1, ab), 0);   /* starts at or after upper */
    ck_assert_int_eq(aborted(log, 8, 100, ab), 0); /* its marker is before from */
    ck_assert_int_eq(aborted(log, 7, 8, ab), 1);
    struct st_seg *s0 = atomic_load(&log->segs)->s[0];
    ck_assert_uint_eq(atomic_load(&s0->txn_n), 1);
    uint8_t e[ST_TXNIDX_ENTRY];
    ck_assert_int_eq(pread(s0->txn_fd, e, sizeof e, 0), (ssize_t)sizeof e);
    ck_assert_int_eq(kp_load_be16(e), 0);
    ck_assert_int_eq((int64_t)kp_load_be64(e + 2), 20);
    ck_assert_int_eq((int64_t)kp_load_be64(e + 10), 1);
    ck_assert_int_eq((int64_t)kp_load_be64(e + 18), 7);
    ck_assert_int_eq((int64_t)kp_load_be64(e + 26), t2); /* 21's first offset */
    /* 21 commits: nothing is open, the LSO is the end; no .txnindex entry */
    marker(log, 21, 0, true); /* 8 */
    ck_assert_int_eq(st_log_lso(log), 9);
    ck_assert_uint_eq(atomic_load(&s0->txn_n), 1);
    /* after its commit, 21 writes on in the same epoch with its next sequence */
    ck_assert_int_eq(app(log, 21, 0, 1, 1, true, false, NULL), -ENOKEY);
    ok(log, 21, 0, 1, 1, true); /* 9 */
    ck_assert_int_eq(st_log_lso(log), 9);
    /* a fencing abort with a bumped epoch: the zombie's next batch is fenced */
    marker(log, 21, 1, false); /* 10 */
    ck_assert_int_eq(app(log, 21, 0, 2, 1, true, true, NULL), -ESTALE);
    ck_assert_int_eq(st_log_append_marker(log, 21, 0, false, 0, now_ms, NULL), -ESTALE);
    /* a marker without an open transaction changes nothing but its epoch: harmless twice */
    marker(log, 21, 1, false);
    ck_assert_int_eq(aborted(log, 0, 100, ab), 2);
    ck_assert(ab[0].first_offset == 1 && ab[1].producer_id == 21 && ab[1].first_offset == 9);
    ck_assert_int_eq(st_log_lso(log), st_log_end_offset(log));
    /* the markers' bytes: control batches, COMMIT / ABORT, the producer's epoch */
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 8, 1 << 20, &rd), 0);
    uint8_t buf[KP_BATCH_MARKER_LEN];
    ck_assert_int_eq(pread(rd.r[0].fd, buf, sizeof buf, rd.r[0].pos), (ssize_t)sizeof buf);
    struct kp_batch_hdr h;
    ck_assert_int_eq(kp_batch_validate(buf, sizeof buf, 0, &h), 0);
    ck_assert_int_eq(h.base_offset, 8);
    ck_assert_int_eq(kp_batch_control_type(buf, sizeof buf), KP_CONTROL_COMMIT);
    st_read_release(&rd);
    close_store(st, log);
}
END_TEST

/* Kafka's coordinator fence: a marker whose coordinator epoch is below the one of the
 * producer's last marker here is a deposed coordinator's (-EREMCHG, nothing written); equal or
 * above goes in; the epoch survives a clean restart (snapshot) and a crash (batch replay). */
START_TEST(t_coordinator_epoch_fence)
{
    struct st_log_config c = cfg0();
    struct st_log *log;
    struct st_store *st = open_store(&c, &log);
    ok(log, 30, 0, 0, 1, true);
    struct st_append_result r;
    ck_assert_int_eq(st_log_append_marker(log, 30, 0, true, 5, now_ms, &r), 0);
    int64_t end = st_log_end_offset(log);
    ck_assert_int_eq(st_log_append_marker(log, 30, 0, false, 4, now_ms, &r), -EREMCHG);
    ck_assert_int_eq(st_log_end_offset(log), end);
    ck_assert_int_eq(st_log_append_marker(log, 30, 0, false, 5, now_ms, &r), 0);
    ck_assert_int_eq(st_log_append_marker(log, 30, 0, false, 6, now_ms, &r), 0);
    /* another producer has its own */
    ck_assert_int_eq(st_log_append_marker(log, 31, 0, false, 0, now_ms, &r), 0);
    close_store(st, log);
    st = open_store(&c, &log);
    ck_assert_int_eq(st_log_append_marker(log, 30, 0, false, 5, now_ms, &r), -EREMCHG);
    ck_assert_int_eq(st_log_append_marker(log, 30, 0, false, 6, now_ms, &r), 0);
    close_store(st, log);
    unclean();
    st = open_store(&c, &log);
    ck_assert_int_eq(st_log_append_marker(log, 30, 0, false, 5, now_ms, &r), -EREMCHG);
    ck_assert_int_eq(st_log_append_marker(log, 31, 0, false, 0, now_ms, &r), 0);
    close_store(st, log);
}
END_TEST

START_TEST(t_read_upto_the_lso)
{
    struct st_log_config c = cfg0();
    c.index_interval_bytes = 100;
    struct st_log *log;
    struct st_store *st = open_store(&c, &log);
    for (int i = 0; i < 10; i++)
        tst_append1(log, 1, 50, i, now_ms); /* 0-9 */
    ok(log, 30, 0, 0, 2, true);             /* 10-11: open */
    for (int i = 0; i < 5; i++)
        tst_append1(log, 1, 50, i, now_ms); /* 12-16 */
    int64_t lso = st_log_lso(log);
    ck_assert_int_eq(lso, 10);
    struct st_read rd;
    ck_assert_int_eq(st_log_read_upto(log, 0, 1 << 20, lso, &rd), 0);
    struct tst_seen seen;
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.first_base, 0);
    ck_assert_int_eq(seen.next, 10); /* nothing at or past the LSO */
    ck_assert_int_eq(rd.end_offset, 10);
    st_read_release(&rd);
    /* short of the LSO by max_bytes: end_offset is the first batch not returned */
    ck_assert_int_eq(st_log_read_upto(log, 2, 1, lso, &rd), 0);
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.next, 3);
    ck_assert_int_eq(rd.end_offset, 3);
    st_read_release(&rd);
    /* at the LSO, and between it and the end: nothing, no error */
    ck_assert_int_eq(st_log_read_upto(log, 10, 1 << 20, lso, &rd), 0);
    ck_assert_int_eq(rd.n, 0);
    ck_assert_int_eq(st_log_read_upto(log, 13, 1 << 20, lso, &rd), 0);
    ck_assert_int_eq(rd.n, 0);
    ck_assert_int_eq(st_log_read_upto(log, 18, 1 << 20, lso, &rd), -ERANGE);
    /* read_uncommitted sees everything */
    ck_assert_int_eq(st_log_read(log, 0, 1 << 20, &rd), 0);
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.next, 17);
    ck_assert_int_eq(rd.end_offset, -1);
    st_read_release(&rd);
    marker(log, 30, 0, true);
    ck_assert_int_eq(st_log_lso(log), 18);
    ck_assert_int_eq(st_log_read_upto(log, 10, 1 << 20, st_log_lso(log), &rd), 0);
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.next, 18);
    ck_assert_int_eq(rd.end_offset, 18);
    st_read_release(&rd);
    close_store(st, log);
    tst_rmrf(dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    /* an open transaction whose first batch starts a segment: the LSO is a segment's base */
    c.segment_bytes = 400;
    st = open_store(&c, &log);
    tst_append1(log, 1, 50, 1, now_ms);
    /* fill the segment until a 121-byte batch no longer fits */
    for (;;) {
        struct st_segvec *sv = atomic_load(&log->segs);
        if (sv->s[sv->n - 1]->w.pos + 100 > c.segment_bytes)
            break;
        tst_append1(log, 1, 10, 1, now_ms);
    }
    int64_t before = st_log_end_offset(log) - 1;
    int64_t t0 = ok(log, 31, 0, 0, 3, true); /* rolls: the first batch of a new segment */
    ck_assert_int_eq(atomic_load(&log->segs)->s[atomic_load(&log->segs)->n - 1]->base, t0);
    tst_append1(log, 1, 50, 1, now_ms);
    ck_assert_int_eq(st_log_lso(log), t0);
    ck_assert_int_eq(st_log_read_upto(log, before, 1 << 20, t0, &rd), 0);
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.next, t0);
    ck_assert_int_eq(rd.end_offset, t0);
    st_read_release(&rd);
    close_store(st, log);
}
END_TEST

/* ---- a model: what replaying the log's batches gives ----------------------------------- */

struct mprod {
    int64_t pid;
    int16_t epoch;
    int nb;
    int32_t last_seq[ST_PBATCHES];
    int64_t last_off[ST_PBATCHES];
    int64_t txn_first;
};

struct model {
    struct mprod p[32];
    int np;
    struct st_aborted ab[256];
    int nab;
    int64_t end;
};

static struct mprod *mget(struct model *m, int64_t pid)
{
    for (int i = 0; i < m->np; i++)
        if (m->p[i].pid == pid)
            return &m->p[i];
    ck_assert_int_lt(m->np, 32);
    struct mprod *p = &m->p[m->np++];
    *p = (struct mprod){.pid = pid, .epoch = -1, .txn_first = -1};
    return p;
}

static void model_batch(struct model *m, const uint8_t *b, const struct kp_batch_hdr *h)
{
    if (h->producer_id < 0)
        return;
    struct mprod *p = mget(m, h->producer_id);
    if (h->attributes & KP_BATCH_ATTR_CONTROL) {
        int type = kp_batch_control_type(b, kp_batch_size(h));
        if (type == KP_CONTROL_ABORT && p->txn_first >= 0)
            m->ab[m->nab++] = (struct st_aborted){h->producer_id, p->txn_first};
        p->txn_first = -1;
        if (h->producer_epoch != p->epoch) {
            p->epoch = h->producer_epoch;
            p->nb = 0;
        }
        return;
    }
    if (h->producer_epoch != p->epoch) {
        p->epoch = h->producer_epoch;
        p->nb = 0;
    }
    if (p->nb == ST_PBATCHES) {
        memmove(p->last_seq, p->last_seq + 1, 4 * sizeof(p->last_seq[0]));
        memmove(p->last_off, p->last_off + 1, 4 * sizeof(p->last_off[0]));
        p->nb--;
    }
    p->last_seq[p->nb] = kp_batch_seq_add(h->base_sequence, h->last_offset_delta);
    p->last_off[p->nb] = h->base_offset + h->last_offset_delta;
    p->nb++;
    if ((h->attributes & KP_BATCH_ATTR_TRANSACTIONAL) && p->txn_first < 0)
        p->txn_first = h->base_offset;
}

static int cmp_ab(const void *a, const void *b)
{
    const struct st_aborted *x = a, *y = b;
    return (x->first_offset > y->first_offset) - (x->first_offset < y->first_offset);
}

/* Reads the whole log through st_log_read and replays it. */
static void model_build(struct st_log *log, struct model *m)
{
    memset(m, 0, sizeof(*m));
    m->end = st_log_end_offset(log);
    int64_t off = st_log_start_offset(log);
    while (off < m->end) {
        struct st_read rd;
        ck_assert_int_eq(st_log_read(log, off, 1 << 20, &rd), 0);
        ck_assert_int_gt(rd.n, 0);
        for (int i = 0; i < rd.n; i++) {
            uint8_t *buf = malloc(rd.r[i].len);
            ck_assert_int_eq(pread(rd.r[i].fd, buf, rd.r[i].len, rd.r[i].pos),
                             (ssize_t)rd.r[i].len);
            for (size_t at = 0; at < rd.r[i].len;) {
                struct kp_batch_hdr h;
                ck_assert_int_eq(kp_batch_validate(buf + at, rd.r[i].len - at, 0, &h), 0);
                model_batch(m, buf + at, &h);
                off = h.base_offset + h.last_offset_delta + 1;
                at += kp_batch_size(&h);
            }
            free(buf);
        }
        st_read_release(&rd);
    }
    qsort(m->ab, (size_t)m->nab, sizeof(m->ab[0]), cmp_ab);
}

/* The log's producer state equals the model's (white box), and so do the LSO and the
 * aborted list of the whole log. */
static void model_check(struct st_log *log, const struct model *m)
{
    int64_t lso = m->end;
    int n = 0;
    for (int i = 0; i < m->np; i++) {
        const struct mprod *p = &m->p[i];
        const struct st_producer *e = st__ps_find(log, p->pid);
        ck_assert_msg(e != NULL, "producer %lld missing", (long long)p->pid);
        n++;
        ck_assert_int_eq(e->epoch, p->epoch);
        ck_assert_int_eq(e->nb, p->nb);
        for (int k = 0; k < p->nb; k++) {
            const struct st_pbatch *b = &e->b[(e->head + k) % ST_PBATCHES];
            ck_assert_int_eq(b->last_seq, p->last_seq[k]);
            ck_assert_int_eq(b->last_offset, p->last_off[k]);
        }
        ck_assert_int_eq(e->txn_first, p->txn_first);
        if (p->txn_first >= 0 && p->txn_first < lso)
            lso = p->txn_first;
    }
    ck_assert_uint_eq(log->ps.n, (uint32_t)n);
    ck_assert_int_eq(st_log_lso(log), lso);
    struct st_aborted ab[256];
    int na = -1;
    ck_assert_int_eq(st_log_aborted_txns(log, 0, INT64_MAX, ab, 256, &na), 0);
    ck_assert_int_eq(na, m->nab);
    for (int i = 0; i < na; i++)
        ck_assert(ab[i].producer_id == m->ab[i].producer_id &&
                  ab[i].first_offset == m->ab[i].first_offset);
}

/* A log of several segments: idempotent producers 10-12, transactional 20-22 committing and
 * aborting in turns (interleaved), plain batches between. Leaves it open. */
static struct st_store *build_mixed(struct st_log_config *c, struct st_log **logp, int rounds)
{
    c->segment_bytes = 1500;
    c->index_interval_bytes = 200;
    struct st_log *log;
    struct st_store *st = open_store(c, &log);
    int32_t seq[64] = {0};
    int16_t ep[64] = {0};
    uint64_t rng = 7;
    for (int r = 0; r < rounds; r++) {
        for (int64_t p = 10; p <= 12; p++) {
            int nrec = 1 + (int)(tst_rand(&rng) % 3);
            ok(log, p, ep[p], seq[p], nrec, false);
            seq[p] = kp_batch_seq_add(seq[p], nrec);
        }
        for (int64_t p = 20; p <= 22; p++) {
            ok(log, p, ep[p], seq[p], 1, true);
            seq[p]++;
        }
        tst_append1(log, 1, 20, r, now_ms);
        for (int64_t p = 20; p <= 22; p++) {
            if ((r + p) % 3 == 0) {
                marker(log, p, ep[p], false);
            } else if ((r + p) % 3 == 1) {
                marker(log, p, ep[p], true);
            } else if (r % 4 == 3) { /* now and then a fence: epoch bump, sequences anew */
                ep[p]++;
                marker(log, p, ep[p], false);
                seq[p] = 0;
            } /* else: stays open into the next round */
        }
    }
    *logp = log;
    return st;
}

START_TEST(t_clean_restart_keeps_everything)
{
    struct st_log_config c = cfg0();
    struct st_log *log;
    struct st_store *st = build_mixed(&c, &log, 12);
    ck_assert_int_gt(atomic_load(&log->segs)->n, 3);
    struct model m;
    model_build(log, &m);
    model_check(log, &m);
    close_store(st, log);
    struct st_recovery_report rep;
    ck_assert_int_eq(st_store_open_logged(dir, &c, NULL, NULL, &rep, &st), 0);
    ck_assert_int_eq(rep.pstate_bytes, 0); /* the close's snapshot: no header read */
    log = tst_log_get(st, "t", 1, 0);
    model_check(log, &m);
    /* every producer's last 5 batches are still recognised */
    for (int i = 0; i < m.np; i++) {
        const struct mprod *p = &m.p[i];
        for (int k = 0; k < p->nb; k++) {
            const struct st_pbatch *b =
                &st__ps_find(log, p->pid)->b[(st__ps_find(log, p->pid)->head + k) % 5];
            int32_t first = b->last_seq - b->delta;
            struct st_append_result r;
            ck_assert_int_eq(
                app(log, p->pid, p->epoch, first, b->delta + 1, p->txn_first >= 0, true, &r), 0);
            ck_assert(r.duplicate);
            ck_assert_int_eq(r.last_offset, p->last_off[k]);
        }
    }
    close_store(st, log);
}
END_TEST

/* Reopens the files left in pdir and checks the state against a model of what survived. */
static void reopen_and_check(const struct st_log_config *c)
{
    struct st_store *st;
    ck_assert_int_eq(st_store_open(dir, c, &st), 0);
    struct st_log *log = tst_log_get(st, "t", 1, 0);
    ck_assert_ptr_nonnull(log);
    struct model m;
    model_build(log, &m);
    model_check(log, &m);
    close_store(st, log);
}

/* Positions of the batches of the tail segment. */
static int tail_batches(const char *path, int64_t *pos, int cap)
{
    size_t len;
    uint8_t *b = tst_slurp(path, &len);
    int n = 0;
    for (size_t at = 0; at < len && n < cap;) {
        pos[n++] = (int64_t)at;
        at += 12 + kp_load_be32(b + at + 8);
    }
    free(b);
    return n;
}

START_TEST(t_crash_loop_every_byte)
{
    /* kill -9 at any point of the write sequence leaves the files as the page cache had them:
     * here, a log whose last batches (data, markers) are cut at every byte */
    struct st_log_config c = cfg0();
    struct st_log *log;
    struct st_store *st = build_mixed(&c, &log, 9);
    /* end on a transaction's batches and its abort marker */
    ok(log, 21, 9, 0, 2, true); /* a fresh epoch for 21 (any > its current) */
    marker(log, 21, 9, false);
    tst_wait_durable(log);
    struct st_segvec *v = atomic_load(&log->segs);
    int64_t tail_base = v->s[v->n - 1]->base;
    struct tst_dirsnap snap;
    tst_dir_take(pdir, &snap);
    st_log_put(log);
    st_store_close(st);
    char path[1024];
    st__seg_path(path, sizeof path, pdir, tail_base, ".log");
    int64_t pos[256];
    int nb = tail_batches(path, pos, 256);
    ck_assert_int_ge(nb, 2);
    size_t len;
    free(tst_slurp(path, &len));
    int runs = 0;
    /* every byte of the last two batches: a transaction's data and its abort */
    for (int64_t cut = pos[nb - 2]; cut <= (int64_t)len; cut++) {
        tst_dir_restore(pdir, &snap);
        ck_assert_int_eq(truncate(path, cut), 0);
        unclean();
        reopen_and_check(&c);
        runs++;
    }
    /* without any snapshot: the whole log replayed, same state */
    for (int64_t cut = pos[nb - 2]; cut <= (int64_t)len; cut += 11) {
        tst_dir_restore(pdir, &snap);
        ck_assert_int_eq(truncate(path, cut), 0);
        unclean();
        st__ps_snap_prune(pdir, -1);
        reopen_and_check(&c);
        runs++;
    }
    fprintf(stderr, "st_pstate crash loop: %d reopens\n", runs);
    tst_dir_free(&snap);
}
END_TEST

/* Every file of pdir ending in suffix, damaged by f. */
static int damage(const char *suffix, void (*f)(const char *path))
{
    DIR *d = opendir(pdir);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name), sl = strlen(suffix);
        if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", pdir, de->d_name);
            f(path);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void flip_last(const char *path)
{
    size_t len;
    uint8_t *b = tst_slurp(path, &len);
    if (len > 0) {
        b[len - 1] ^= 0x40;
        tst_spit(path, b, len);
    }
    free(b);
}

static void bad_entry(const char *path)
{
    size_t len;
    uint8_t *b = tst_slurp(path, &len);
    if (len >= ST_TXNIDX_ENTRY)
        kp_store_be64(b + 18, (uint64_t)-5); /* first entry's marker offset out of range */
    tst_spit(path, b, len);
    free(b);
}

static void torn_entry(const char *path)
{
    size_t len;
    uint8_t *b = tst_slurp(path, &len);
    tst_spit(path, b, len > 10 ? len - 10 : len);
    free(b);
}

START_TEST(t_damaged_snapshots_and_txnindex)
{
    struct st_log_config c = cfg0();
    struct st_log *log;
    struct st_store *st = build_mixed(&c, &log, 14);
    struct model m;
    model_build(log, &m);
    ck_assert_int_gt(m.nab, 3);
    close_store(st, log);
    struct tst_dirsnap snap;
    tst_dir_take(pdir, &snap);
    /* every snapshot's CRC broken: replayed from the log start */
    ck_assert_int_gt(damage(ST_PSNAP_SUFFIX, flip_last), 0);
    reopen_and_check(&c);
    /* a .txnindex with an impossible entry, or torn: cut and rebuilt */
    tst_dir_restore(pdir, &snap);
    ck_assert_int_gt(damage(".txnindex", bad_entry), 1);
    struct st_recovery_report rep;
    tst_store_unclean(dir); /* every log opened (and its damage counted) by the store's open */
    ck_assert_int_eq(st_store_open_logged(dir, &c, NULL, NULL, &rep, &st), 0);
    ck_assert_int_gt(rep.txnidx_damaged, 1);
    log = tst_log_get(st, "t", 1, 0);
    model_check(log, &m);
    close_store(st, log);
    tst_dir_restore(pdir, &snap);
    ck_assert_int_gt(damage(".txnindex", torn_entry), 1);
    reopen_and_check(&c);
    /* a .txnindex gone after a crash (unsynced) is remade from the snapshot on */
    tst_dir_restore(pdir, &snap);
    unclean();
    reopen_and_check(&c);
    tst_dir_free(&snap);
}
END_TEST

START_TEST(t_retention_keeps_live_producers)
{
    struct st_log_config c = cfg0();
    c.segment_bytes = 600;
    c.retention_bytes = 1; /* everything but the active segment goes */
    struct st_log *log;
    struct st_store *st = open_store(&c, &log);
    ok(log, 40, 2, 0, 3, false); /* then silent */
    ok(log, 41, 0, 0, 1, true);  /* an open transaction */
    for (int i = 0; i < 30; i++)
        tst_append1(log, 2, 60, i, now_ms);
    tst_wait_settled(log);
    st_store_maintain(st, now_ms);
    tst_wait_settled(log); /* a snapshot may have been wanted first */
    st_store_maintain(st, now_ms);
    ck_assert_int_gt(st_log_start_offset(log), 4);
    /* the open transaction's data is gone: the LSO is the log start */
    ck_assert_int_eq(st_log_lso(log), st_log_start_offset(log));
    struct tst_dirsnap crashed;
    tst_dir_take(pdir, &crashed); /* kill -9 now */
    close_store(st, log);
    for (int crash = 0; crash < 2; crash++) {
        if (crash)
            tst_dir_restore(pdir, &crashed);
        st = open_store(&c, &log);
        /* 40 is still known: a gap is out of order, its next sequence goes on */
        ck_assert_int_eq(app(log, 40, 2, 5, 1, false, false, NULL), -EILSEQ);
        struct st_append_result r;
        ck_assert_int_eq(app(log, 40, 2, 0, 3, false, false, &r), 0);
        ck_assert(r.duplicate && r.base_offset == 0);
        ck_assert_int_eq(st_log_lso(log), st_log_start_offset(log));
        close_store(st, log);
    }
    st = open_store(&c, &log);
    marker(log, 41, 0, false);
    ck_assert_int_eq(st_log_lso(log), st_log_end_offset(log));
    close_store(st, log);
    tst_dir_free(&crashed);
}
END_TEST

START_TEST(t_expiry_and_memory_bound)
{
    struct st_log_config c = cfg0();
    c.producer_id_expiration_ms = 60000;
    c.producer_id_expiration_check_ms = 0;
    c.producer_state_max_bytes = 3 * 2 * (int64_t)sizeof(struct st_producer);
    struct st_log *log;
    struct st_store *st = open_store(&c, &log);
    now_ms = 1000000;
    ok(log, 50, 0, 0, 1, false);
    now_ms = 1010000;
    ok(log, 51, 0, 0, 1, true); /* open: never evicted nor expired */
    now_ms = 1020000;
    ok(log, 52, 0, 0, 1, false);
    ck_assert_uint_eq(log->ps.n, 3);
    /* a fourth evicts the longest idle without an open transaction (50) */
    now_ms = 1030000;
    ok(log, 53, 0, 0, 1, false);
    ck_assert_uint_eq(log->ps.n, 3);
    ck_assert_ptr_null(st__ps_find(log, 50));
    now_ms = 1040000;
    ok(log, 50, 0, 9, 1, false); /* unknown again: any sequence (evicts 52) */
    ck_assert_ptr_null(st__ps_find(log, 52));
    /* expiry: idle for producer.id.expiration.ms, no open transaction */
    st_store_maintain(st, 1089999);
    ck_assert_uint_eq(log->ps.n, 3);
    st_store_maintain(st, 1100000);
    ck_assert_ptr_nonnull(st__ps_find(log, 51));
    ck_assert_ptr_null(st__ps_find(log, 53));
    ck_assert_ptr_null(st__ps_find(log, 50));
    ck_assert_uint_eq(log->ps.n, 1);
    /* with every slot held by an open transaction nothing can be evicted */
    ok(log, 54, 0, 0, 1, true);
    ok(log, 55, 0, 0, 1, true);
    ck_assert_int_eq(app(log, 56, 0, 0, 1, false, false, NULL), -ENOBUFS);
    marker(log, 55, 0, true); /* a marker is never refused; then 55 is evictable */
    ok(log, 56, 0, 0, 1, false);
    now_ms = 1000000;
    close_store(st, log);
    /* snapshots drop expired producers at load */
    c.producer_id_expiration_ms = 1;
    st = open_store(&c, &log);
    ck_assert_ptr_nonnull(st__ps_find(log, 51)); /* open: kept */
    ck_assert_ptr_null(st__ps_find(log, 56));
    close_store(st, log);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_pstate");
    TCase *tc = tcase_create("pstate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, t_sequence_rules);
    tcase_add_test(tc, t_duplicate_on_log_append_time_topic);
    tcase_add_test(tc, t_transactions_markers_lso);
    tcase_add_test(tc, t_coordinator_epoch_fence);
    tcase_add_test(tc, t_read_upto_the_lso);
    tcase_add_test(tc, t_clean_restart_keeps_everything);
    tcase_add_test(tc, t_crash_loop_every_byte);
    tcase_add_test(tc, t_damaged_snapshots_and_txnindex);
    tcase_add_test(tc, t_retention_keeps_live_producers);
    tcase_add_test(tc, t_expiry_and_memory_bound);
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
