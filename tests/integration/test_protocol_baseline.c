/*
 * test_protocol_baseline — the versions the broker speaks, and what happens outside them,
 * against a real splicelogd:
 * - The requests old clients send that Kafka 4.0 removed (Fetch v0-3, DescribeAcls v0,
 *   OffsetFetch v0), versions above the range (ListOffsets v3, Metadata v5) and an unknown key
 *   close the connection without a response, as Kafka 4.0 does; each is logged with the
 *   peer's client.id, the API, the version and the range spoken (the first 5 lines in full,
 *   the rest counted in one "(N more like this in the last 10 s)" line); other clients are
 *   served meanwhile. Before: a made-up response (a header and an int16) that old clients
 *   could not parse, logged without the client.id.
 * - ListOffsets v0, which Kafka 4.0 removed, is answered (Burrow 1.2 asks the log end offsets
 *   with it): one old-style offset, the log end for -1 and the log start for -2.
 * - The README's protocol table is exactly what ApiVersions advertises.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"
#include "kp_api.h"

static struct tb_broker B;

static void setup(void)
{
    memset(&B, 0, sizeof B);
    tb_ck_start(&B, NULL);
}

static void teardown(void) { tb_ck_finish(&B); }

/* A body as an old client would send it at (key, version); what matters is the header. */
static void old_body(struct tb_req *r, int16_t key, int16_t v)
{
    struct kp_wr *w = &r->wr;
    if (key == 1) {        /* Fetch v0-3 */
        kp_wr_i32(w, -1);  /* replica_id */
        kp_wr_i32(w, 500); /* max_wait_ms */
        kp_wr_i32(w, 1);   /* min_bytes */
        if (v >= 3)
            kp_wr_i32(w, 1 << 20); /* max_bytes */
        kp_wr_array(w, 1);
        kp_wr_str(w, kp_str_of("base"));
        kp_wr_array(w, 1);
        kp_wr_i32(w, 0);
        kp_wr_i64(w, 0);
        kp_wr_i32(w, 1 << 20);
    } else if (key == 2) { /* ListOffsets v0 */
        kp_wr_i32(w, -1);
        kp_wr_array(w, 1);
        kp_wr_str(w, kp_str_of("base"));
        kp_wr_array(w, 1);
        kp_wr_i32(w, 0);
        kp_wr_i64(w, -2);  /* earliest */
        kp_wr_i32(w, 1);   /* max_num_offsets */
    } else if (key == 9) { /* OffsetFetch v0 */
        kp_wr_str(w, kp_str_of("g"));
        kp_wr_array(w, 1);
        kp_wr_str(w, kp_str_of("base"));
        kp_wr_array(w, 1);
        kp_wr_i32(w, 0);
    } else {
        kp_wr_i32(w, 0);
        kp_wr_i32(w, 0);
    }
}

START_TEST(outside_the_table_closes_like_kafka)
{
    static const struct {
        int16_t key, version;
        const char *logged; /* NULL: past the 5 lines in full of its call site */
    } cases[] = {
        {1, 0, "Fetch v0 is not supported (this broker speaks v4-13; Kafka 4.0 removed"},
        {1, 1, "Fetch v1 is not supported (this broker speaks v4-13; Kafka 4.0 removed"},
        {1, 2, "Fetch v2 is not supported (this broker speaks v4-13; Kafka 4.0 removed"},
        {1, 3, "Fetch v3 is not supported (this broker speaks v4-13; Kafka 4.0 removed"},
        {29, 0, "DescribeAcls v0 is not supported (this broker speaks v1-3; Kafka 4.0 removed"},
        {9, 0, NULL},
        {2, 8, NULL},
        {3, 13, NULL},
        {1000, 0, "unknown API key 1000 (v0): closing the connection, as Kafka does"},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    int good = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(good, "base", 1, &err), 0);
    for (int i = 0; i < N; i++) {
        int fd = tb_ck_connect(&B);
        char cid[32];
        snprintf(cid, sizeof cid, "old-client-%d", i);
        struct tb_req r;
        ck_assert_int_eq(
            tb_req_begin_id(&r, 512, cases[i].key, cases[i].version, 100 + i, kp_str_of(cid)), 0);
        if (kp_api_flexible(cases[i].key, cases[i].version))
            kp_wr_i8(&r.wr, 0); /* request header v2's tag buffer */
        old_body(&r, cases[i].key, cases[i].version);
        ck_assert_int_eq(tb_req_send(fd, &r), 0);
        tb_req_free(&r);
        struct tb_frame f;
        int rc = tb_recv_frame(fd, &f, 1 << 20);
        size_t answered = rc == 0 ? f.len : 0;
        if (rc == 0)
            tb_frame_free(&f);
        ck_assert_msg(rc == -ECONNRESET, "key %d v%d: answered (%zu bytes) instead of closed",
                      cases[i].key, cases[i].version, answered);
        close(fd);
        if (cases[i].logged) {
            char want[256];
            snprintf(want, sizeof want, "client.id=%s: %s", cid, cases[i].logged);
            ck_assert_msg(tb_log_wait(&B, want, 5000), "no log line '%s'", want);
        }
        /* another client is served meanwhile */
        struct tb_list_offsets_resp lo;
        ck_assert_int_eq(tb_list_offsets(good, "base", 0, -1, &lo), 0);
        ck_assert_int_eq(lo.error, 0);
    }
    /* past the 5 lines of the unsupported-version call site, the other 3 are counted: the
     * last one's line, with the count, once the window ends */
    ck_assert_msg(tb_log_wait(&B,
                              "client.id=old-client-7: Metadata v13 is not supported (this broker "
                              "speaks v0-12): closing the connection, as Kafka does (3 more like "
                              "this in the last 10 s)",
                              15000),
                  "no summary line");
    close(good);
}
END_TEST

/* ListOffsets v0 for timestamp ts of base-0: the old-style offsets (count into *n). */
static void list_offsets_v0(int fd, int64_t ts, int32_t *n, int64_t *first)
{
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, 2, 0, 41), 0);
    old_body(&r, 2, 0);
    /* old_body asks earliest: rewrite the timestamp (the 12 bytes before max_num_offsets) */
    kp_store_be64(r.wr.p - 12, (uint64_t)ts);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, 41, &f), 0);
    tb_req_free(&r);
    struct kp_rd rd;
    kp_rd_init(&rd, f.data + 4, f.len - 4); /* past the correlation id */
    ck_assert_int_eq(kp_rd_i32(&rd), 1);    /* topics */
    struct kp_str name = kp_rd_str(&rd);
    ck_assert(name.len == 4 && memcmp(name.ptr, "base", 4) == 0);
    ck_assert_int_eq(kp_rd_i32(&rd), 1); /* partitions */
    ck_assert_int_eq(kp_rd_i32(&rd), 0); /* partition */
    ck_assert_int_eq(kp_rd_i16(&rd), 0); /* error */
    *n = kp_rd_i32(&rd);
    *first = *n > 0 ? kp_rd_i64(&rd) : -1;
    ck_assert(kp_rd_ok(&rd) && kp_rd_left(&rd) == 0);
    tb_frame_free(&f);
}

START_TEST(list_offsets_v0_answers_for_burrow)
{
    int fd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, "base", 1, &err), 0);
    ck_assert_int_eq(tb_ck_produce_seq(fd, "base", 0, "v", 0, 3, 0), 0);
    int32_t n;
    int64_t off;
    list_offsets_v0(fd, -1, &n, &off);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(off, 3);
    list_offsets_v0(fd, -2, &n, &off);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(off, 0);
    close(fd);
}
END_TEST

/* ---- README ------------------------------------------------------------------------------ */

START_TEST(readme_table_is_what_is_advertised)
{
    const char *root = getenv("SPLICELOG_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/README.md", root ? root : ".");
    FILE *fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    struct {
        int key, min, max;
    } rows[64];
    int n = 0;
    bool in = false;
    char line[2048];
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "### ", 4) == 0 || strncmp(line, "## ", 3) == 0)
            in = strcmp(line, "### Protocol baseline\n") == 0;
        char name[64];
        int key, lo, hi;
        if (in && n < 64 && sscanf(line, "| %63s (%d) | %d-%d |", name, &key, &lo, &hi) == 4)
            rows[n++] = (typeof(rows[0])){key, lo, hi};
    }
    fclose(fp);
    ck_assert_int_ge(n, 10);

    int fd = tb_ck_connect(&B);
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, 18, 3, 7), 0);
    tb_enc_api_versions(&r, 3);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, 7, &f), 0);
    tb_req_free(&r);
    struct tb_api_versions av;
    ck_assert_int_eq(tb_dec_api_versions(&f, 3, &av), 0);
    tb_frame_free(&f);
    close(fd);
    ck_assert_msg(av.n == n, "README lists %d APIs, ApiVersions %d", n, av.n);
    for (int i = 0; i < n; i++) {
        int16_t lo, hi;
        ck_assert_msg(tb_api_range(&av, (int16_t)rows[i].key, &lo, &hi),
                      "README key %d is not advertised", rows[i].key);
        ck_assert_msg(lo == rows[i].min && hi == rows[i].max,
                      "key %d: README %d-%d, advertised %d-%d", rows[i].key, rows[i].min,
                      rows[i].max, lo, hi);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("protocol_baseline");
    TCase *tc = tcase_create("baseline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, outside_the_table_closes_like_kafka);
    tcase_add_test(tc, readme_table_is_what_is_advertised);
    tcase_add_test(tc, list_offsets_v0_answers_for_burrow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
