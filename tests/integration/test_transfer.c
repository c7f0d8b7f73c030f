/*
 * test_transfer — the fetch transfer paths (splice, sendfile, copy; each with and without small
 * responses in line; auto) against a real splicelogd:
 * the same data, restarted with each path, gives byte-identical raw responses to a fixed list
 * of fetches (across segments, from the middle, first batch whole, an old version, the last
 * batch, at HW, out of range, several partitions in one answer with an unknown one and a
 * response-level max_bytes, and a ~9 MiB answer read late so sends stop and resume); and a
 * topic deleted while a large answer is under way leaves that answer whole, on every path.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"

static struct tb_broker B;

static void start_with(const char *const *extra) { tb_ck_start_fresh(&B, extra); }

static void teardown(void) { tb_ck_finish(&B); }

/* Creates topic with n partitions through CreateTopics v4. */

/* Produces count records prefix-first.. in one batch (acks -1); returns the base offset. */
static void bare_setup(void) { memset(&B, 0, sizeof B); }

/* ---- transfer paths ------------------------------------------------------------------------- */

static size_t varied(int64_t i) { return (size_t)((i * 997) % 1500); }

enum { N_SINGLE = 7, N_FETCHES = N_SINGLE + 2, TP4_BATCHES = 60 };

/* tp4: 4 partitions, partition p holds TP4_BATCHES batches of 2 records of p4-<p>-<i>. */
static size_t tp4_pad(int64_t i) { return (size_t)(200 + (i * 7919) % 12000); }

static void produce_tp4(int port)
{
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    tb_ck_create_topic(fd, "tp4", 4);
    uint8_t *buf = malloc(64 << 10);
    ck_assert_ptr_nonnull(buf);
    for (int b = 0; b < TP4_BATCHES; b++) {
        for (int p = 0; p < 4; p++) {
            char prefix[16];
            snprintf(prefix, sizeof prefix, "p4-%d", p);
            struct kp_batch_builder bb;
            ck_assert_int_eq(kp_batch_begin(&bb, buf, 64 << 10, 1700000000000LL), 0);
            for (int j = 0; j < 2; j++) {
                char v[16384];
                size_t len = tb_value(v, sizeof v, prefix, b * 2 + j, tp4_pad(b * 2 + j));
                ck_assert_int_eq(kp_batch_add(&bb, 1700000000000LL, KP_BYTES_NULL,
                                              (struct kp_bytes){(uint8_t *)v, (int32_t)len}, NULL,
                                              0),
                                 0);
            }
            long len = kp_batch_finish(&bb);
            ck_assert_int_gt(len, 0);
            struct tb_produce_resp pr;
            ck_assert_int_eq(tb_produce(fd, "tp4", p, buf, (size_t)len, &pr), 0);
            ck_assert_int_eq(pr.error, 0);
        }
    }
    free(buf);
    close(fd);
}

/* Checks one multi-partition answer: every partition's records whole, in order, from its
 * offset; the response's total within max_bytes but for the first batch. */
static void check_tp4(const struct tb_frame *f, const int32_t *parts, const int64_t *offs, int n,
                      int32_t max_bytes, int min_nonempty)
{
    int nonempty = 0;
    struct tb_fetch_resp fr[8];
    int32_t got_part[8];
    int m = 0;
    ck_assert_int_eq(tb_dec_fetch_multi(f, 11, fr, got_part, 8, &m), 0);
    ck_assert_int_eq(m, n);
    long total = 0;
    bool first = true;
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(got_part[i], parts[i]);
        if (parts[i] >= 4) {
            ck_assert_int_eq(fr[i].error, 3);
            ck_assert_int_eq(fr[i].records_len, 0);
            continue;
        }
        ck_assert_int_eq(fr[i].error, 0);
        ck_assert_int_eq(fr[i].high_watermark, TP4_BATCHES * 2);
        char prefix[16];
        snprintf(prefix, sizeof prefix, "p4-%d", parts[i]);
        struct tb_seq seq = {.prefix = prefix, .pad_of = tp4_pad, .next_offset = offs[i]};
        size_t trailing = 0;
        long k = fr[i].records_len > 0 ? tb_records_walk(fr[i].records, (size_t)fr[i].records_len,
                                                         tb_seq_check, &seq, &trailing)
                                       : 0;
        ck_assert_msg(k >= 0 && !seq.err[0] && trailing == 0, "tp4/%d: %ld records %s", parts[i], k,
                      seq.err);
        if (fr[i].records_len > 0 && first) {
            first = false;
            ck_assert_msg(k > 0, "tp4/%d: no record in the first non-empty partition", parts[i]);
        }
        total += fr[i].records_len;
        nonempty += fr[i].records_len > 0;
    }
    ck_assert_msg(nonempty >= min_nonempty, "only %d partitions with records, want %d", nonempty,
                  min_nonempty);
    ck_assert_msg(total > 0, "multi-partition fetch returned nothing");
    ck_assert_msg(total <= max_bytes + 30000, "multi-partition fetch returned %ld bytes for %d",
                  total, max_bytes);
}

static const int32_t tp4_parts_a[4] = {0, 1, 2, 3};
static const int64_t tp4_offs_a[4] = {0, 17, 60, 119};
static const int32_t tp4_parts_b[3] = {3, 9, 1};
static const int64_t tp4_offs_b[3] = {5, 0, 100};

/* The fixed list of fetches whose raw responses must match across transfer paths. */
static void raw_fetches(int port, struct tb_frame out[N_FETCHES], int64_t hw)
{
    const struct {
        int16_t version;
        struct tb_fetch_args a;
    } fx[N_SINGLE] = {
        {11, {0, 1, 64 << 20, "tp", 0, 0, 32 << 20}},     /* everything, across segments */
        {11, {0, 1, 64 << 20, "tp", 0, hw / 2, 1 << 20}}, /* from the middle */
        {11, {0, 1, 100, "tp", 0, 17, 100}},              /* first batch whole */
        {4, {0, 1, 200000, "tp", 0, 3, 150000}},          /* old version, bounded */
        {7, {0, 1, 64 << 20, "tp", 0, hw - 1, 1 << 20}},  /* the last batch */
        {11, {0, 1, 64 << 20, "tp", 0, hw, 1 << 20}},     /* at HW: empty */
        {11, {0, 1, 64 << 20, "tp", 0, hw + 1, 1 << 20}}, /* out of range */
    };
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    for (int i = 0; i < N_SINGLE; i++) {
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 512, 1, fx[i].version, 3000 + i), 0);
        tb_enc_fetch(&r, fx[i].version, &fx[i].a);
        ck_assert_int_eq(tb_call(fd, &r, 3000 + i, &out[i]), 0);
        tb_req_free(&r);
    }
    /* Several partitions in one answer: headers and file ranges interleaved. */
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 512, 1, 11, 3100), 0);
    tb_enc_fetch_multi(&r, 11, 0, 1, 200000, "tp4", 4, tp4_parts_a, tp4_offs_a, 100000);
    ck_assert_int_eq(tb_call(fd, &r, 3100, &out[N_SINGLE]), 0);
    tb_req_free(&r);
    ck_assert_int_eq(tb_req_begin(&r, 512, 1, 11, 3101), 0);
    tb_enc_fetch_multi(&r, 11, 0, 1, 64 << 20, "tp4", 3, tp4_parts_b, tp4_offs_b, 1 << 20);
    ck_assert_int_eq(tb_call(fd, &r, 3101, &out[N_SINGLE + 1]), 0);
    tb_req_free(&r);
    close(fd);
}

/*
 * A large response to a reader that starts reading late: ~9.6 MiB, more than the socket
 * buffers hold, so the broker's send stops on a full socket and must resume when it drains.
 */
enum { BIG_BATCHES = 160, BIG_VALUE = 60000 };

static void produce_big(int port)
{
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    tb_ck_create_topic(fd, "big", 1);
    size_t cap = BIG_VALUE + 1024;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < BIG_BATCHES; i++) {
        long len = tb_batch_values(buf, cap, "big", i, 1, BIG_VALUE, false, 1700000000000LL);
        ck_assert_int_gt(len, 0);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fd, "big", 0, buf, (size_t)len, &pr), 0);
        ck_assert_msg(pr.error == 0 && pr.base_offset == i, "big %d: error %d offset %lld", i,
                      pr.error, (long long)pr.base_offset);
    }
    free(buf);
    close(fd);
}

static void slow_fetch(int port, struct tb_frame *out)
{
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    struct tb_fetch_args a = {0, 1, 64 << 20, "big", 0, 0, 32 << 20};
    ck_assert_int_eq(tb_send_fetch(fd, 11, 4000, &a), 0);
    usleep(300 * 1000);
    ck_assert_int_eq(tb_recv_frame(fd, out, 256 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(out), 4000);
    close(fd);
}

START_TEST(transfer_paths_byte_identical)
{
    /* each path as it was (nothing in line: the reference is plain copy), and with small
     * cached responses sent in line; auto is whichever path this machine measured best */
    static const struct {
        const char *name, *inl;
    } paths[] = {{"copy", "0"},   {"copy", "65536"},   {"sendfile", "0"}, {"sendfile", "65536"},
                 {"splice", "0"}, {"splice", "65536"}, {"auto", "65536"}, {"splice", "1048576"}};
    struct tb_frame ref[N_FETCHES], ref_slow;
    int64_t hw = 0;
    for (int p = 0; p < (int)(sizeof(paths) / sizeof(paths[0])); p++) {
        char opt[64], inl[64], buf_opt[64];
        snprintf(opt, sizeof opt, "fetch.transfer=%s", paths[p].name);
        snprintf(inl, sizeof inl, "fetch.inline.max.bytes=%s", paths[p].inl);
        /* the last: everything up to the copy buffer in line, several responses in one send */
        snprintf(buf_opt, sizeof buf_opt, "fetch.copy.buffer.bytes=%s",
                 strcmp(paths[p].inl, "1048576") ? "262144" : "1048576");
        const char *extra[] = {"-o", opt,     "-o", inl, "-o", "log.segment.bytes=1048576",
                               "-o", buf_opt, NULL};
        int rc = tb_broker_start(&B, extra);
        ck_assert_msg(rc == 0, "start with %s: %s", opt, strerror(-rc));
        if (p == 0) {
            int fd = tb_ck_connect(&B);
            tb_ck_create_topic(fd, "tp", 1);
            /* 1500 batches of 1..3 records, 0..1.5 KiB values: ~2.2 MiB, three 1 MiB segments. */
            size_t cap = 8192;
            uint8_t *buf = malloc(cap);
            ck_assert_ptr_nonnull(buf);
            for (int i = 0; i < 1500; i++) {
                int count = 1 + i % 3;
                struct kp_batch_builder bb;
                ck_assert_int_eq(kp_batch_begin(&bb, buf, cap, 1700000000000LL + i), 0);
                for (int j = 0; j < count; j++) {
                    char v[2048];
                    size_t len = tb_value(v, sizeof v, "tp", hw + j, varied(hw + j));
                    ck_assert_int_eq(kp_batch_add(&bb, 1700000000000LL + i, KP_BYTES_NULL,
                                                  (struct kp_bytes){(uint8_t *)v, (int32_t)len},
                                                  NULL, 0),
                                     0);
                }
                long len = kp_batch_finish(&bb);
                ck_assert_int_gt(len, 0);
                struct tb_produce_resp pr;
                ck_assert_int_eq(tb_produce(fd, "tp", 0, buf, (size_t)len, &pr), 0);
                ck_assert_int_eq(pr.error, 0);
                ck_assert_int_eq(pr.base_offset, hw);
                hw += count;
            }
            free(buf);
            close(fd);
            produce_big(B.port);
            produce_tp4(B.port);
        }
        struct tb_frame got[N_FETCHES], got_slow;
        raw_fetches(B.port, got, hw);
        slow_fetch(B.port, &got_slow);
        if (p == 0) {
            /* The reference itself must be right: it starts the log, whole and in order... */
            struct tb_fetch_resp fr;
            ck_assert_int_eq(tb_dec_fetch(&got[0], 11, &fr), 0);
            ck_assert_int_eq(fr.error, 0);
            struct tb_seq seq = {.prefix = "tp", .pad_of = varied};
            size_t trailing;
            long n =
                tb_records_walk(fr.records, (size_t)fr.records_len, tb_seq_check, &seq, &trailing);
            ck_assert_msg(n > 0 && !seq.err[0] && trailing == 0,
                          "reference fetch: %ld records (%s)", n, seq.err);
            ck_assert_int_eq(tb_dec_fetch(&got_slow, 11, &fr), 0);
            ck_assert_int_eq(fr.error, 0);
            ck_assert_msg(fr.records_len > 4 << 20, "the large fetch returned only %d bytes",
                          fr.records_len);
            struct tb_seq big = {.prefix = "big", .pad_to = BIG_VALUE};
            n = tb_records_walk(fr.records, (size_t)fr.records_len, tb_seq_check, &big, &trailing);
            ck_assert_msg(n > 0 && !big.err[0] && trailing == 0, "big fetch: %ld records (%s)", n,
                          big.err);
            check_tp4(&got[N_SINGLE], tp4_parts_a, tp4_offs_a, 4, 200000, 2);
            check_tp4(&got[N_SINGLE + 1], tp4_parts_b, tp4_offs_b, 3, 64 << 20, 2);
            /* ... and the whole log reads back right, fetch after fetch. */
            int fd = tb_ck_connect(&B);
            struct tb_seq all = {.prefix = "tp", .pad_of = varied};
            rc = tb_consume_seq(fd, "tp", 0, hw, &all, 200);
            ck_assert_msg(rc == 0, "reading tp back: %d %s", rc, all.err);
            struct tb_seq allbig = {.prefix = "big", .pad_to = BIG_VALUE};
            rc = tb_consume_seq(fd, "big", 0, BIG_BATCHES, &allbig, 200);
            ck_assert_msg(rc == 0, "reading big back: %d %s", rc, allbig.err);
            close(fd);
            memcpy(ref, got, sizeof ref);
            ref_slow = got_slow;
        } else {
            for (int i = 0; i < N_FETCHES; i++) {
                ck_assert_msg(got[i].len == ref[i].len,
                              "[%s inline %s] fetch %d: %zu bytes, copy gave %zu", paths[p].name,
                              paths[p].inl, i, got[i].len, ref[i].len);
                size_t at = 0;
                while (at < got[i].len && got[i].data[at] == ref[i].data[at])
                    at++;
                ck_assert_msg(at == got[i].len,
                              "[%s inline %s] fetch %d differs from copy at byte %zu",
                              paths[p].name, paths[p].inl, i, at);
                tb_frame_free(&got[i]);
            }
            ck_assert_msg(got_slow.len == ref_slow.len &&
                              memcmp(got_slow.data, ref_slow.data, ref_slow.len) == 0,
                          "[%s inline %s] slow reader: response differs from copy's", paths[p].name,
                          paths[p].inl);
            tb_frame_free(&got_slow);
        }
        ck_assert_msg(tb_log_contains(&B, paths[p].name), "log does not name the transfer path %s",
                      paths[p].name);
        int st = tb_broker_stop(&B, SIGTERM);
        ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "[%s] exit status 0x%x on SIGTERM", paths[p].name, st);
    }
    for (int i = 0; i < N_FETCHES; i++)
        tb_frame_free(&ref[i]);
    tb_frame_free(&ref_slow);
}
END_TEST

static const char *const xfer_paths[] = {"splice", "sendfile", "copy"};

START_TEST(delete_topic_during_large_transfer)
{
    char opt[64];
    snprintf(opt, sizeof opt, "fetch.transfer=%s", xfer_paths[_i]);
    const char *extra[] = {"-o", opt, NULL};
    start_with(extra);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "dt", 1);
    size_t cap = 70000;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < 120; i++) {
        long len = tb_batch_values(buf, cap, "dt", i, 1, 60000, false, 1);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fd, "dt", 0, buf, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
    }
    free(buf);
    /* A ~7 MiB fetch the client does not read yet, then the topic is deleted under it. */
    int sfd = tb_ck_connect(&B);
    struct tb_req r;
    struct tb_fetch_args a = {0, 1, 64 << 20, "dt", 0, 0, 32 << 20};
    ck_assert_int_eq(tb_send_fetch(sfd, 11, 83, &a), 0);
    usleep(200 * 1000);
    ck_assert_int_eq(tb_req_begin(&r, 512, 20, 3, 84), 0);
    tb_enc_delete_topics(&r, 3, "dt", 5000);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, 84, &f), 0);
    tb_req_free(&r);
    tb_frame_free(&f);
    /* The response already under way arrives whole and correct (files stay open). */
    ck_assert_int_eq(tb_recv_frame(sfd, &f, 256 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(&f), 83);
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_dec_fetch(&f, 11, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    struct tb_seq seq = {.prefix = "dt", .pad_to = 60000};
    size_t trailing;
    long n = tb_records_walk(fr.records, (size_t)fr.records_len, tb_seq_check, &seq, &trailing);
    ck_assert_msg(n > 0 && !seq.err[0] && trailing == 0, "%ld records %s", n, seq.err);
    tb_frame_free(&f);
    close(sfd);
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("transfer");
    TCase *tp = tcase_create("transfer");
    tcase_add_checked_fixture(tp, bare_setup, teardown);
    tcase_set_timeout(tp, 90);
    tcase_add_test(tp, transfer_paths_byte_identical);
    tcase_add_loop_test(tp, delete_topic_during_large_transfer, 0, 3);
    suite_add_tcase(s, tp);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
