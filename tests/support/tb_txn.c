/*
 * tb_txn — the transactional requests for the suites (see tb_txn.h).
 */
#include "tb_txn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kp_batch.h"

enum {
    K_PRODUCE = 0,
    K_FETCH = 1,
    K_LIST_OFFSETS = 2,
    K_FIND_COORDINATOR = 10,
    K_INIT_PRODUCER_ID = 22,
    K_ADD_PARTITIONS = 24,
    K_ADD_OFFSETS = 25,
    K_END_TXN = 26,
    K_TXN_OFFSET_COMMIT = 28,
};

static int32_t corr_next = 1000;

static bool flexible(int16_t key, int16_t v)
{
    switch (key) {
    case K_INIT_PRODUCER_ID:
        return v >= 2;
    case K_ADD_PARTITIONS:
    case K_ADD_OFFSETS:
    case K_END_TXN:
    case K_TXN_OFFSET_COMMIT:
    case K_FIND_COORDINATOR:
        return v >= 3;
    default:
        return false;
    }
}

/* Request header v1 or v2 (flexible: a tag buffer after the client id). */
static int begin(struct tb_req *r, size_t cap, int16_t key, int16_t v, int32_t *corr)
{
    r->buf = malloc(cap);
    if (!r->buf)
        return -ENOMEM;
    *corr = corr_next++;
    kp_wr_init(&r->wr, r->buf, cap);
    kp_wr_i32(&r->wr, 0);
    kp_wr_i16(&r->wr, key);
    kp_wr_i16(&r->wr, v);
    kp_wr_i32(&r->wr, *corr);
    kp_wr_nstr(&r->wr, kp_str_of("tb-txn"));
    if (flexible(key, v))
        kp_wr_tags(&r->wr);
    return 0;
}

static void w_str(struct kp_wr *w, bool flex, const char *s)
{
    if (flex)
        kp_wr_cstr(w, kp_str_of(s));
    else
        kp_wr_str(w, kp_str_of(s));
}

static void w_nstr(struct kp_wr *w, bool flex, const char *s)
{
    struct kp_str x = s ? kp_str_of(s) : KP_STR_NULL;
    if (flex)
        kp_wr_cnstr(w, x);
    else
        kp_wr_nstr(w, x);
}

static void w_array(struct kp_wr *w, bool flex, int32_t n)
{
    if (flex)
        kp_wr_carray(w, n);
    else
        kp_wr_array(w, n);
}

static int32_t r_array(struct kp_rd *rd, bool flex, size_t min)
{
    return flex ? kp_rd_carray(rd, min, true) : kp_rd_array(rd, min, true);
}

static struct kp_str r_str(struct kp_rd *rd, bool flex)
{
    return flex ? kp_rd_cstr(rd) : kp_rd_str(rd);
}

/* Sends r and receives the response into f, positioned after the response header in rd. */
static int round_trip(int fd, struct tb_req *r, int32_t corr, int16_t key, int16_t v,
                      struct tb_frame *f, struct kp_rd *rd)
{
    int rc = tb_req_send(fd, r);
    tb_req_free(r);
    if (rc < 0)
        return rc;
    rc = tb_recv_frame(fd, f, 64 << 20);
    if (rc < 0)
        return rc;
    kp_rd_init(rd, f->data, f->len);
    if (kp_rd_i32(rd) != corr) {
        tb_frame_free(f);
        return -EBADMSG;
    }
    if (flexible(key, v))
        kp_rd_tags(rd);
    return 0;
}

static int done(struct kp_rd *rd, bool flex, struct tb_frame *f)
{
    if (flex)
        kp_rd_tags(rd);
    int rc = kp_rd_ok(rd) && kp_rd_left(rd) == 0 ? 0 : -EBADMSG;
    tb_frame_free(f);
    return rc;
}

int tb_init_producer_id(int fd, int16_t v, const char *txn_id, int32_t timeout_ms, int64_t pid,
                        int16_t epoch, int16_t *error, int64_t *out_pid, int16_t *out_epoch)
{
    struct tb_req r;
    int32_t corr;
    bool flex = flexible(K_INIT_PRODUCER_ID, v);
    int rc = begin(&r, 1024, K_INIT_PRODUCER_ID, v, &corr);
    if (rc < 0)
        return rc;
    w_nstr(&r.wr, flex, txn_id);
    kp_wr_i32(&r.wr, timeout_ms);
    if (v >= 3) {
        kp_wr_i64(&r.wr, pid);
        kp_wr_i16(&r.wr, epoch);
    }
    if (flex)
        kp_wr_tags(&r.wr);
    struct tb_frame f;
    struct kp_rd rd;
    rc = round_trip(fd, &r, corr, K_INIT_PRODUCER_ID, v, &f, &rd);
    if (rc < 0)
        return rc;
    (void)kp_rd_i32(&rd);
    *error = kp_rd_i16(&rd);
    int64_t p = kp_rd_i64(&rd);
    int16_t e = kp_rd_i16(&rd);
    if (out_pid)
        *out_pid = p;
    if (out_epoch)
        *out_epoch = e;
    return done(&rd, flex, &f);
}

int tb_add_partitions(int fd, int16_t v, const char *txn_id, int64_t pid, int16_t epoch,
                      const char *topic, const int32_t *parts, int n, int16_t *errors)
{
    struct tb_req r;
    int32_t corr;
    bool flex = flexible(K_ADD_PARTITIONS, v);
    int rc = begin(&r, 1024 + (size_t)n * 4, K_ADD_PARTITIONS, v, &corr);
    if (rc < 0)
        return rc;
    w_str(&r.wr, flex, txn_id);
    kp_wr_i64(&r.wr, pid);
    kp_wr_i16(&r.wr, epoch);
    w_array(&r.wr, flex, 1);
    w_str(&r.wr, flex, topic);
    w_array(&r.wr, flex, n);
    for (int i = 0; i < n; i++)
        kp_wr_i32(&r.wr, parts[i]);
    if (flex) {
        kp_wr_tags(&r.wr); /* topic */
        kp_wr_tags(&r.wr);
    }
    struct tb_frame f;
    struct kp_rd rd;
    rc = round_trip(fd, &r, corr, K_ADD_PARTITIONS, v, &f, &rd);
    if (rc < 0)
        return rc;
    (void)kp_rd_i32(&rd);
    if (r_array(&rd, flex, 4) != 1) {
        tb_frame_free(&f);
        return -EBADMSG;
    }
    (void)r_str(&rd, flex);
    int32_t m = r_array(&rd, flex, 6);
    if (m != n) {
        tb_frame_free(&f);
        return -EBADMSG;
    }
    for (int i = 0; i < n; i++) {
        int32_t p = kp_rd_i32(&rd);
        errors[i] = kp_rd_i16(&rd);
        if (p != parts[i])
            errors[i] = -1;
        if (flex)
            kp_rd_tags(&rd);
    }
    if (flex)
        kp_rd_tags(&rd);
    return done(&rd, flex, &f);
}

/* AddOffsetsToTxn and EndTxn: throttle, error. */
static int simple_resp(int fd, struct tb_req *r, int32_t corr, int16_t key, int16_t v,
                       int16_t *error)
{
    bool flex = flexible(key, v);
    struct tb_frame f;
    struct kp_rd rd;
    int rc = round_trip(fd, r, corr, key, v, &f, &rd);
    if (rc < 0)
        return rc;
    (void)kp_rd_i32(&rd);
    *error = kp_rd_i16(&rd);
    return done(&rd, flex, &f);
}

int tb_add_offsets(int fd, int16_t v, const char *txn_id, int64_t pid, int16_t epoch,
                   const char *group, int16_t *error)
{
    struct tb_req r;
    int32_t corr;
    bool flex = flexible(K_ADD_OFFSETS, v);
    int rc = begin(&r, 1024, K_ADD_OFFSETS, v, &corr);
    if (rc < 0)
        return rc;
    w_str(&r.wr, flex, txn_id);
    kp_wr_i64(&r.wr, pid);
    kp_wr_i16(&r.wr, epoch);
    w_str(&r.wr, flex, group);
    if (flex)
        kp_wr_tags(&r.wr);
    return simple_resp(fd, &r, corr, K_ADD_OFFSETS, v, error);
}

int tb_end_txn(int fd, int16_t v, const char *txn_id, int64_t pid, int16_t epoch, bool commit,
               int16_t *error)
{
    struct tb_req r;
    int32_t corr;
    bool flex = flexible(K_END_TXN, v);
    int rc = begin(&r, 1024, K_END_TXN, v, &corr);
    if (rc < 0)
        return rc;
    w_str(&r.wr, flex, txn_id);
    kp_wr_i64(&r.wr, pid);
    kp_wr_i16(&r.wr, epoch);
    kp_wr_bool(&r.wr, commit);
    if (flex)
        kp_wr_tags(&r.wr);
    return simple_resp(fd, &r, corr, K_END_TXN, v, error);
}

int tb_txn_offset_commit(int fd, int16_t v, const char *txn_id, const char *group, int64_t pid,
                         int16_t epoch, const char *topic, int32_t part, int64_t offset,
                         int16_t *error)
{
    struct tb_req r;
    int32_t corr;
    bool flex = flexible(K_TXN_OFFSET_COMMIT, v);
    int rc = begin(&r, 1024, K_TXN_OFFSET_COMMIT, v, &corr);
    if (rc < 0)
        return rc;
    struct kp_wr *w = &r.wr;
    w_str(w, flex, txn_id);
    w_str(w, flex, group);
    kp_wr_i64(w, pid);
    kp_wr_i16(w, epoch);
    if (v >= 3) {
        kp_wr_i32(w, -1);
        w_str(w, flex, "");
        w_nstr(w, flex, NULL);
    }
    w_array(w, flex, 1);
    w_str(w, flex, topic);
    w_array(w, flex, 1);
    kp_wr_i32(w, part);
    kp_wr_i64(w, offset);
    if (v >= 2)
        kp_wr_i32(w, -1);
    w_nstr(w, flex, "m");
    if (flex) {
        kp_wr_tags(w); /* partition */
        kp_wr_tags(w); /* topic */
        kp_wr_tags(w);
    }
    struct tb_frame f;
    struct kp_rd rd;
    rc = round_trip(fd, &r, corr, K_TXN_OFFSET_COMMIT, v, &f, &rd);
    if (rc < 0)
        return rc;
    (void)kp_rd_i32(&rd);
    if (r_array(&rd, flex, 4) != 1 || (r_str(&rd, flex), r_array(&rd, flex, 6)) != 1) {
        tb_frame_free(&f);
        return -EBADMSG;
    }
    (void)kp_rd_i32(&rd);
    *error = kp_rd_i16(&rd);
    if (flex) {
        kp_rd_tags(&rd);
        kp_rd_tags(&rd);
    }
    return done(&rd, flex, &f);
}

int tb_txn_produce(int fd, int16_t v, const char *txn_id, const char *topic, int32_t part,
                   const uint8_t *records, size_t len, struct tb_produce_resp *out)
{
    struct tb_req r;
    int32_t corr;
    int rc = begin(&r, len + 1024, K_PRODUCE, v, &corr);
    if (rc < 0)
        return rc;
    kp_wr_nstr(&r.wr, txn_id ? kp_str_of(txn_id) : KP_STR_NULL);
    kp_wr_i16(&r.wr, -1);
    kp_wr_i32(&r.wr, 10000);
    kp_wr_array(&r.wr, 1);
    kp_wr_str(&r.wr, kp_str_of(topic));
    kp_wr_array(&r.wr, 1);
    kp_wr_i32(&r.wr, part);
    kp_wr_nbytes(&r.wr, (struct kp_bytes){records, (int32_t)len});
    rc = tb_req_send(fd, &r);
    tb_req_free(&r);
    if (rc < 0)
        return rc;
    struct tb_frame f;
    rc = tb_recv_frame(fd, &f, 1 << 20);
    if (rc < 0)
        return rc;
    rc = tb_frame_corr(&f) == corr ? tb_dec_produce(&f, v, out) : -EBADMSG;
    tb_frame_free(&f);
    return rc;
}

long tb_producer_batch(uint8_t *buf, size_t cap, const char *prefix, int first, int count,
                       int64_t pid, int16_t epoch, int32_t seq, bool transactional)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    long n = tb_batch_values(buf, cap, prefix, first, count, 0, true, now);
    if (n < 0)
        return n;
    kp_batch_set_producer(buf, (size_t)n, pid, epoch, seq, transactional);
    return n;
}

int tb_txn_fetch(int fd, int16_t v, int8_t iso, int32_t max_wait_ms, int32_t min_bytes,
                 const char *topic, int32_t part, int64_t offset, struct tb_frame *f,
                 struct tb_txn_fetch *out)
{
    struct tb_req r;
    int32_t corr;
    int rc = begin(&r, 1024, K_FETCH, v, &corr);
    if (rc < 0)
        return rc;
    struct kp_wr *w = &r.wr;
    kp_wr_i32(w, -1);
    kp_wr_i32(w, max_wait_ms);
    kp_wr_i32(w, min_bytes);
    kp_wr_i32(w, 16 << 20);
    kp_wr_i8(w, iso);
    if (v >= 7) {
        kp_wr_i32(w, 0);
        kp_wr_i32(w, -1);
    }
    kp_wr_array(w, 1);
    kp_wr_str(w, kp_str_of(topic));
    kp_wr_array(w, 1);
    kp_wr_i32(w, part);
    if (v >= 9)
        kp_wr_i32(w, -1); /* current_leader_epoch */
    kp_wr_i64(w, offset);
    if (v >= 5)
        kp_wr_i64(w, -1); /* log_start_offset */
    kp_wr_i32(w, 16 << 20);
    if (v >= 7)
        kp_wr_array(w, 0); /* forgotten */
    if (v >= 11)
        kp_wr_str(w, kp_str_of(""));
    struct kp_rd rd;
    rc = round_trip(fd, &r, corr, K_FETCH, v, f, &rd);
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof *out);
    (void)kp_rd_i32(&rd); /* throttle */
    if (v >= 7) {
        (void)kp_rd_i16(&rd);
        (void)kp_rd_i32(&rd);
    }
    if (kp_rd_array(&rd, 8, false) != 1)
        goto bad;
    (void)kp_rd_str(&rd);
    if (kp_rd_array(&rd, 30, false) != 1)
        goto bad;
    (void)kp_rd_i32(&rd);
    out->error = kp_rd_i16(&rd);
    out->high_watermark = kp_rd_i64(&rd);
    out->last_stable_offset = kp_rd_i64(&rd);
    out->log_start_offset = v >= 5 ? kp_rd_i64(&rd) : -1;
    out->n_aborted = kp_rd_array(&rd, 16, true);
    for (int32_t j = 0; j < out->n_aborted; j++) {
        int64_t p = kp_rd_i64(&rd), o = kp_rd_i64(&rd);
        if (j < TB_TXN_MAX) {
            out->aborted[j].producer_id = p;
            out->aborted[j].first_offset = o;
        }
    }
    if (v >= 11)
        (void)kp_rd_i32(&rd);
    struct kp_bytes rec = kp_rd_nbytes(&rd);
    out->records_len = rec.len;
    out->records = rec.ptr;
    if (!kp_rd_ok(&rd) || kp_rd_left(&rd) != 0)
        goto bad;
    return 0;
bad:
    tb_frame_free(f);
    return -EBADMSG;
}

int tb_list_offsets_iso(int fd, int8_t iso, const char *topic, int32_t part, int64_t timestamp,
                        int16_t *error, int64_t *offset)
{
    struct tb_req r;
    int32_t corr;
    int rc = begin(&r, 512, K_LIST_OFFSETS, 2, &corr);
    if (rc < 0)
        return rc;
    kp_wr_i32(&r.wr, -1);
    kp_wr_i8(&r.wr, iso);
    kp_wr_array(&r.wr, 1);
    kp_wr_str(&r.wr, kp_str_of(topic));
    kp_wr_array(&r.wr, 1);
    kp_wr_i32(&r.wr, part);
    kp_wr_i64(&r.wr, timestamp);
    struct tb_frame f;
    rc = tb_req_send(fd, &r);
    tb_req_free(&r);
    if (rc < 0)
        return rc;
    rc = tb_recv_frame(fd, &f, 1 << 20);
    if (rc < 0)
        return rc;
    struct tb_list_offsets_resp lo;
    rc = tb_frame_corr(&f) == corr ? tb_dec_list_offsets(&f, 2, &lo) : -EBADMSG;
    tb_frame_free(&f);
    if (rc == 0) {
        *error = lo.error;
        *offset = lo.offset;
    }
    return rc;
}

int tb_txn_batches(const uint8_t *p, size_t len, tb_batch_fn fn, void *arg)
{
    int n = 0;
    size_t off = 0;
    while (len - off >= KP_BATCH_HEADER_LEN) {
        struct kp_batch_hdr h;
        if (kp_batch_validate(p + off, len - off, 0, &h) < 0)
            return -EBADMSG;
        size_t sz = kp_batch_size(&h);
        int ctrl = -1;
        if (h.attributes & KP_BATCH_ATTR_CONTROL)
            ctrl = kp_batch_control_type(p + off, sz);
        if (fn)
            fn(arg, h.base_offset, h.record_count, h.producer_id, h.attributes, ctrl, p + off, sz);
        off += sz;
        n++;
    }
    return n;
}
