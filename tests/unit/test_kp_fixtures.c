/*
 * test_kp_fixtures — the request frames kcat 1.7.1 (librdkafka 2.0.2) sent, captured by
 * tests/fixtures/capture.py (see tests/fixtures/README.md), decoded to their known field
 * values; re-encoded byte for byte; and every strict prefix of every fixture rejected.
 *
 * Fixtures are read from $SPLICELOG_ROOT/tests/fixtures (set by scripts/run-tests.sh), else
 * from ./tests/fixtures. Each is loaded into a heap block of exactly its size, so ASan flags
 * any read past the end.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_batch.h"
#include "kp_buf.h"
#include "kp_msg.h"
#include "tb_check.h"

#define TOPIC     "splicelog-fixture"
#define MAX_FRAME (100 * 1024 * 1024)

static const char *const fixtures[] = {
    "apiversions_v3", "metadata_v4", "produce_v7",
    "listoffsets_v2", "fetch_v11",   "listoffsets_v2_latest",
};
#define N_FIXTURES (sizeof fixtures / sizeof fixtures[0])

struct blob {
    uint8_t *p;
    size_t n;
};

static struct blob load(const char *name)
{
    const char *root = getenv("SPLICELOG_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s.bin", root && *root ? root : ".", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (set SPLICELOG_ROOT or run from the repo)", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_gt(n, 0);
    rewind(f);
    struct blob b = {malloc((size_t)n), (size_t)n};
    ck_assert_ptr_nonnull(b.p);
    ck_assert_uint_eq(fread(b.p, 1, b.n, f), b.n);
    fclose(f);
    return b;
}

static bool bytes_eq(struct kp_bytes a, const char *s)
{
    if (!s)
        return a.len == -1;
    return a.len == (int32_t)strlen(s) && memcmp(a.ptr, s, (size_t)a.len) == 0;
}

/* Every decoded message of one fixture. */
struct decoded {
    struct kp_req_hdr hdr;
    union {
        struct kp_api_versions_req av;
        struct kp_metadata_req md;
        struct kp_produce_req pr;
        struct kp_list_offsets_req lo;
        struct kp_fetch_req fe;
    } u;
};

static _Alignas(max_align_t) uint8_t arena_mem[64 * 1024];

/* Validates every batch in a produce request and walks its records. */
static int check_produce_batches(const struct kp_produce_req *pr)
{
    for (int32_t t = 0; t < pr->n_topics; t++) {
        for (int32_t p = 0; p < pr->topics[t].n_partitions; p++) {
            struct kp_bytes rec = pr->topics[t].partitions[p].records;
            if (rec.len < 0)
                return -EBADMSG;
            struct kp_batch_hdr h;
            int rc = kp_batch_validate(rec.ptr, (size_t)rec.len, KP_BATCH_FROM_PRODUCER, &h);
            if (rc)
                return rc;
            if (kp_batch_size(&h) != (size_t)rec.len)
                return -EBADMSG; /* one batch per partition, nothing after it */
            rc = kp_batch_check_records(rec.ptr, &h);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Header + body of a frame body (the bytes after the size field). */
static int decode_body(const uint8_t *p, size_t n, struct kp_arena *arena, struct decoded *d)
{
    struct kp_rd rd;
    kp_rd_init(&rd, p, n);
    int rc = kp_req_hdr_decode(&rd, &d->hdr);
    if (rc)
        return rc;
    int16_t v = d->hdr.api_version;
    switch (d->hdr.api_key) {
    case KP_API_API_VERSIONS:
        return kp_api_versions_req_decode(&rd, v, arena, &d->u.av);
    case KP_API_METADATA:
        return kp_metadata_req_decode(&rd, v, arena, &d->u.md);
    case KP_API_PRODUCE:
        rc = kp_produce_req_decode(&rd, v, arena, &d->u.pr);
        return rc ? rc : check_produce_batches(&d->u.pr);
    case KP_API_LIST_OFFSETS:
        return kp_list_offsets_req_decode(&rd, v, arena, &d->u.lo);
    case KP_API_FETCH:
        return kp_fetch_req_decode(&rd, v, arena, &d->u.fe);
    default:
        return -EINVAL;
    }
}

/* A whole frame: size prefix, then exactly that many bytes. */
static int decode_frame(const uint8_t *p, size_t n, struct kp_arena *arena, struct decoded *d)
{
    int32_t size;
    int rc = kp_frame_peek(p, n, MAX_FRAME, &size);
    if (rc)
        return rc;
    if (n - 4 < (size_t)size)
        return -EAGAIN; /* incomplete */
    if (n - 4 > (size_t)size)
        return -EBADMSG; /* a fixture is exactly one frame */
    return decode_body(p + 4, (size_t)size, arena, d);
}

static void decode_fixture(const char *name, struct blob *b, struct kp_arena *a, struct decoded *d)
{
    *b = load(name);
    kp_arena_init(a, arena_mem, sizeof arena_mem);
    ck_assert_int_eq(decode_frame(b->p, b->n, a, d), 0);
    ck_assert(kp_str_eq(d->hdr.client_id, "rdkafka"));
}

/* Encodes header + body into a frame and compares with the captured bytes. */
static void assert_reencodes(const struct blob *b, const struct decoded *d)
{
    uint8_t out[1024];
    struct kp_wr wr;
    kp_wr_init(&wr, out, sizeof out);
    size_t pos = kp_frame_begin(&wr);
    ck_assert_int_eq(kp_req_hdr_encode(&wr, &d->hdr), 0);
    int16_t v = d->hdr.api_version;
    int rc;
    switch (d->hdr.api_key) {
    case KP_API_API_VERSIONS:
        rc = kp_api_versions_req_encode(&wr, v, &d->u.av);
        break;
    case KP_API_METADATA:
        rc = kp_metadata_req_encode(&wr, v, &d->u.md);
        break;
    case KP_API_PRODUCE:
        rc = kp_produce_req_encode(&wr, v, &d->u.pr);
        break;
    case KP_API_LIST_OFFSETS:
        rc = kp_list_offsets_req_encode(&wr, v, &d->u.lo);
        break;
    case KP_API_FETCH:
        rc = kp_fetch_req_encode(&wr, v, &d->u.fe);
        break;
    default:
        rc = -EINVAL;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(kp_frame_end(&wr, pos), 0);
    ck_assert_uint_eq(kp_wr_len(&wr), b->n);
    ck_assert_mem_eq(out, b->p, b->n);
}

START_TEST(test_apiversions_v3)
{
    struct blob b;
    struct kp_arena a;
    struct decoded d;
    decode_fixture("apiversions_v3", &b, &a, &d);
    ck_assert_int_eq(d.hdr.api_key, KP_API_API_VERSIONS);
    ck_assert_int_eq(d.hdr.api_version, 3);
    ck_assert_int_eq(d.hdr.correlation_id, 1);
    ck_assert_int_eq(kp_api_req_hdr_version(d.hdr.api_key, d.hdr.api_version), 2);
    ck_assert(kp_str_eq(d.u.av.client_software_name, "librdkafka"));
    ck_assert(kp_str_eq(d.u.av.client_software_version, "2.0.2"));
    assert_reencodes(&b, &d);
    free(b.p);
}
END_TEST

START_TEST(test_metadata_v4)
{
    struct blob b;
    struct kp_arena a;
    struct decoded d;
    decode_fixture("metadata_v4", &b, &a, &d);
    ck_assert_int_eq(d.hdr.api_key, KP_API_METADATA);
    ck_assert_int_eq(d.hdr.api_version, 4);
    ck_assert_int_eq(d.hdr.correlation_id, 2);
    ck_assert_int_eq(d.u.md.n_topics, 1);
    ck_assert(kp_str_eq(d.u.md.topics[0], TOPIC));
    ck_assert(d.u.md.allow_auto_topic_creation); /* the producer's default */
    ck_assert(!kp_metadata_req_all_topics(&d.u.md, 4));
    assert_reencodes(&b, &d);
    free(b.p);
}
END_TEST

START_TEST(test_produce_v7)
{
    struct blob b;
    struct kp_arena a;
    struct decoded d;
    decode_fixture("produce_v7", &b, &a, &d);
    ck_assert_int_eq(d.hdr.api_key, KP_API_PRODUCE);
    ck_assert_int_eq(d.hdr.api_version, 7);
    ck_assert_int_eq(d.hdr.correlation_id, 3);
    const struct kp_produce_req *pr = &d.u.pr;
    ck_assert_int_eq(pr->transactional_id.len, -1);
    ck_assert_int_eq(pr->acks, -1);
    ck_assert_int_eq(pr->timeout_ms, 30000);
    ck_assert_int_eq(pr->n_topics, 1);
    ck_assert(kp_str_eq(pr->topics[0].name, TOPIC));
    ck_assert_int_eq(pr->topics[0].n_partitions, 1);
    const struct kp_produce_req_partition *pp = &pr->topics[0].partitions[0];
    ck_assert_int_eq(pp->partition_index, 0);
    ck_assert_int_eq(pp->records.len, 157);
    ck_assert_ptr_eq(pp->records.ptr, b.p + 64); /* a view into the receive buffer */
    ck_assert_ptr_eq(kp_bytes_mut(pp->records, b.p, b.n), b.p + 64);

    struct kp_batch_hdr h;
    ck_assert_int_eq(
        kp_batch_validate(pp->records.ptr, (size_t)pp->records.len, KP_BATCH_FROM_PRODUCER, &h), 0);
    ck_assert_int_eq(h.magic, 2);
    ck_assert_int_eq(h.record_count, 3);
    ck_assert_int_eq(h.last_offset_delta, 2);
    ck_assert_int_eq(h.attributes, 0); /* uncompressed, CreateTime */
    ck_assert(h.producer_id == -1);
    ck_assert_int_eq(h.producer_epoch, -1);
    ck_assert_int_eq(h.base_sequence, -1);
    ck_assert(h.base_timestamp == h.max_timestamp);
    ck_assert_uint_eq(h.crc, 0x104d49c8u);

    static const char *keys[] = {"k1", "k2", ""};
    static const char *vals[] = {"hello", "splicelog", "no-key"};
    struct kp_record_iter it;
    struct kp_record r;
    kp_record_iter_init(&it, pp->records.ptr, &h);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(kp_record_next(&it, &r), 1);
        ck_assert_int_eq(r.offset_delta, i);
        ck_assert(bytes_eq(r.key, keys[i]));
        ck_assert(bytes_eq(r.value, vals[i]));
        ck_assert_int_eq(r.header_count, 2);
        struct kp_rd hr;
        struct kp_header hd;
        kp_rd_init(&hr, r.headers.ptr, (size_t)r.headers.len);
        ck_assert_int_eq(kp_header_next(&hr, &hd), 1);
        ck_assert(kp_str_eq(hd.key, "trace"));
        ck_assert(bytes_eq(hd.value, "abc"));
        ck_assert_int_eq(kp_header_next(&hr, &hd), 1);
        ck_assert(kp_str_eq(hd.key, "empty"));
        ck_assert(bytes_eq(hd.value, ""));
        ck_assert_int_eq(kp_header_next(&hr, &hd), 0);
    }
    ck_assert_int_eq(kp_record_next(&it, &r), 0);

    /* What the broker does on append: baseOffset in place, CRC still valid. */
    uint8_t *batch = kp_bytes_mut(pp->records, b.p, b.n);
    kp_batch_set_base_offset(batch, 1000);
    ck_assert_int_eq(kp_batch_validate(batch, (size_t)pp->records.len, 0, &h), 0);
    ck_assert(h.base_offset == 1000);
    ck_assert_int_eq(
        kp_batch_validate(batch, (size_t)pp->records.len, KP_BATCH_FROM_PRODUCER, NULL), -EINVAL);
    kp_batch_set_base_offset(batch, 0);
    assert_reencodes(&b, &d);
    free(b.p);
}
END_TEST

START_TEST(test_listoffsets_v2)
{
    struct blob b;
    struct kp_arena a;
    struct decoded d;
    decode_fixture("listoffsets_v2", &b, &a, &d);
    ck_assert_int_eq(d.hdr.api_key, KP_API_LIST_OFFSETS);
    ck_assert_int_eq(d.hdr.api_version, 2);
    ck_assert_int_eq(d.hdr.correlation_id, 4);
    const struct kp_list_offsets_req *lo = &d.u.lo;
    ck_assert_int_eq(lo->replica_id, -1);
    ck_assert_int_eq(lo->isolation_level, 1); /* read_committed */
    ck_assert_int_eq(lo->n_topics, 1);
    ck_assert(kp_str_eq(lo->topics[0].name, TOPIC));
    ck_assert_int_eq(lo->topics[0].n_partitions, 1);
    ck_assert_int_eq(lo->topics[0].partitions[0].partition_index, 0);
    ck_assert(lo->topics[0].partitions[0].timestamp == KP_LIST_OFFSETS_EARLIEST);
    assert_reencodes(&b, &d);
    free(b.p);
}
END_TEST

/* kcat -o -1: the latest offset (timestamp -1), then it fetches from there minus one. */
START_TEST(test_listoffsets_v2_latest)
{
    struct blob b;
    struct kp_arena a;
    struct decoded d;
    decode_fixture("listoffsets_v2_latest", &b, &a, &d);
    ck_assert_int_eq(d.hdr.api_key, KP_API_LIST_OFFSETS);
    ck_assert_int_eq(d.hdr.api_version, 2);
    ck_assert_int_eq(d.hdr.correlation_id, 4);
    const struct kp_list_offsets_req *lo = &d.u.lo;
    ck_assert_int_eq(lo->replica_id, -1);
    ck_assert_int_eq(lo->isolation_level, 1);
    ck_assert_int_eq(lo->n_topics, 1);
    ck_assert(kp_str_eq(lo->topics[0].name, TOPIC));
    ck_assert_int_eq(lo->topics[0].n_partitions, 1);
    ck_assert_int_eq(lo->topics[0].partitions[0].partition_index, 0);
    ck_assert(lo->topics[0].partitions[0].timestamp == KP_LIST_OFFSETS_LATEST);
    assert_reencodes(&b, &d);
    free(b.p);
}
END_TEST

START_TEST(test_fetch_v11)
{
    struct blob b;
    struct kp_arena a;
    struct decoded d;
    decode_fixture("fetch_v11", &b, &a, &d);
    ck_assert_int_eq(d.hdr.api_key, KP_API_FETCH);
    ck_assert_int_eq(d.hdr.api_version, 11);
    ck_assert_int_eq(d.hdr.correlation_id, 5);
    const struct kp_fetch_req *fe = &d.u.fe;
    ck_assert_int_eq(fe->replica_id, -1);
    ck_assert_int_eq(fe->max_wait_ms, 500);
    ck_assert_int_eq(fe->min_bytes, 1);
    ck_assert_int_eq(fe->max_bytes, 52428800);
    ck_assert_int_eq(fe->isolation_level, 1);
    ck_assert_int_eq(fe->session_id, 0);
    ck_assert_int_eq(fe->session_epoch, -1);
    ck_assert_int_eq(fe->n_topics, 1);
    ck_assert(kp_str_eq(fe->topics[0].topic, TOPIC));
    ck_assert_int_eq(fe->topics[0].n_partitions, 1);
    const struct kp_fetch_req_partition *fp = &fe->topics[0].partitions[0];
    ck_assert_int_eq(fp->partition, 0);
    ck_assert_int_eq(fp->current_leader_epoch, -1);
    ck_assert(fp->fetch_offset == 0);
    ck_assert(fp->log_start_offset == -1);
    ck_assert_int_eq(fp->partition_max_bytes, 1048576);
    ck_assert_int_eq(fe->n_forgotten, 0);
    ck_assert(kp_str_eq(fe->rack_id, ""));
    assert_reencodes(&b, &d);
    free(b.p);
}
END_TEST

/* The raw header bytes, read with kp_buf alone (independent of kp_msg's header decoder). */
START_TEST(test_raw_headers)
{
    static const int16_t keys[] = {18, 3, 0, 2, 1, 2};
    static const int16_t versions[] = {3, 4, 7, 2, 11, 2};
    static const int32_t corr[] = {1, 2, 3, 4, 5, 4};
    for (size_t i = 0; i < N_FIXTURES; i++) {
        struct blob b = load(fixtures[i]);
        struct kp_rd rd;
        kp_rd_init(&rd, b.p, b.n);
        ck_assert_uint_eq((size_t)kp_rd_i32(&rd), b.n - 4);
        ck_assert_int_eq(kp_rd_i16(&rd), keys[i]);
        ck_assert_int_eq(kp_rd_i16(&rd), versions[i]);
        ck_assert_int_eq(kp_rd_i32(&rd), corr[i]); /* as captured */
        ck_assert(kp_str_eq(kp_rd_nstr(&rd), "rdkafka"));
        ck_assert(kp_rd_ok(&rd));
        free(b.p);
    }
}
END_TEST

/*
 * Every strict prefix fails: as a frame (the size says more is coming) and as a frame body
 * handed straight to the decoders (no over-read, no crash, an error every time). Each prefix
 * lives in a heap block of exactly its length.
 */
START_TEST(test_every_prefix_fails)
{
    const char *name = fixtures[_i];
    struct blob b = load(name);
    struct kp_arena a;
    struct decoded d;
    for (size_t len = 0; len < b.n; len++) {
        uint8_t *p = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(p);
        memcpy(p, b.p, len);
        kp_arena_init(&a, arena_mem, sizeof arena_mem);
        int rc = decode_frame(p, len, &a, &d);
        ck_assert_msg(rc < 0, "%s: frame prefix %zu decoded", name, len);
        free(p);
    }
    size_t body = b.n - 4;
    for (size_t len = 0; len < body; len++) {
        uint8_t *p = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(p);
        memcpy(p, b.p + 4, len);
        kp_arena_init(&a, arena_mem, sizeof arena_mem);
        int rc = decode_body(p, len, &a, &d);
        ck_assert_msg(rc < 0, "%s: body prefix %zu of %zu decoded", name, len, body);
        free(p);
    }
    /* And the whole thing does decode (the loop above stopped one short). */
    kp_arena_init(&a, arena_mem, sizeof arena_mem);
    ck_assert_int_eq(decode_frame(b.p, b.n, &a, &d), 0);
    free(b.p);
}
END_TEST

/* A trailing byte after the body is an error (a body must end where the frame ends). */
START_TEST(test_trailing_byte_fails)
{
    const char *name = fixtures[_i];
    struct blob b = load(name);
    uint8_t *p = malloc(b.n + 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, b.p, b.n);
    p[b.n] = 0;
    kp_store_be32(p, (uint32_t)(b.n - 3));
    struct kp_arena a;
    struct decoded d;
    kp_arena_init(&a, arena_mem, sizeof arena_mem);
    ck_assert_int_lt(decode_frame(p, b.n + 1, &a, &d), 0);
    free(p);
    free(b.p);
}
END_TEST

/* A tiny arena makes the decoders fail with -ENOMEM, never overflow it. */
START_TEST(test_small_arena)
{
    const char *name = fixtures[_i];
    struct blob b = load(name);
    struct decoded d;
    bool saw_enomem = false;
    for (size_t cap = 0; cap <= 256; cap += 8) {
        uint8_t *mem = malloc(cap ? cap : 1);
        ck_assert_ptr_nonnull(mem);
        struct kp_arena a;
        kp_arena_init(&a, mem, cap);
        int rc = decode_frame(b.p, b.n, &a, &d);
        ck_assert(rc == 0 || rc == -ENOMEM);
        saw_enomem |= rc == -ENOMEM;
        ck_assert_uint_le(a.used, cap);
        free(mem);
    }
    /* ApiVersions needs no arena; every other fixture has arrays. */
    ck_assert(saw_enomem == (strcmp(name, "apiversions_v3") != 0));
    free(b.p);
}
END_TEST

static Suite *fixtures_suite(void)
{
    Suite *s = suite_create("kp_fixtures");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, test_apiversions_v3);
    tcase_add_test(tc, test_metadata_v4);
    tcase_add_test(tc, test_produce_v7);
    tcase_add_test(tc, test_listoffsets_v2);
    tcase_add_test(tc, test_listoffsets_v2_latest);
    tcase_add_test(tc, test_fetch_v11);
    tcase_add_test(tc, test_raw_headers);
    suite_add_tcase(s, tc);
    TCase *bad = tcase_create("malformed");
    tcase_set_timeout(bad, 60);
    tcase_add_loop_test(bad, test_every_prefix_fails, 0, N_FIXTURES);
    tcase_add_loop_test(bad, test_trailing_byte_fails, 0, N_FIXTURES);
    tcase_add_loop_test(bad, test_small_arena, 0, N_FIXTURES);
    suite_add_tcase(s, bad);
    return s;
}

int main(void) { return tb_ck_run(fixtures_suite()); }
