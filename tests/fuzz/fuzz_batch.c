/*
 * fuzz_batch — libFuzzer target over RecordBatch v2 parsing, as storage recovery and the
 * produce path see it: raw bytes holding zero or more concatenated batches.
 *
 * For each batch: kp_batch_parse_hdr, kp_batch_validate with every flag combination (CRC
 * checked and skipped, so mutations get past the CRC), kp_batch_check_records, the record
 * and header iterators touching every byte of every view. Then two differential checks:
 *   - a batch whose records walk cleanly is rebuilt with kp_batch_builder from the records
 *     it yielded; the rebuilt batch must validate with its CRC and yield the same records;
 *   - kp_batch_set_log_append_time on a copy must leave a batch whose CRC validates.
 * Seeds: tests/fuzz/seeds/fuzz_batch/ (the batch kcat produced, plus hand-built ones).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kp_batch.h"
#include "kp_buf.h"
#include "kp_crc32c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void touch(const void *p, int32_t len)
{
    if (len <= 0)
        return;
    const uint8_t *b = p;
    uint8_t x = 0;
    for (int32_t i = 0; i < len; i++)
        x ^= b[i];
    sink = x;
}

static bool same_bytes(struct kp_bytes a, struct kp_bytes b)
{
    if (a.len != b.len)
        return false;
    return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

enum { MAX_HEADERS = 64 };

/* Rebuilds the batch from its records and checks that the copy yields the same records. */
static void rebuild(const uint8_t *p, const struct kp_batch_hdr *h)
{
    size_t bsize = kp_batch_size(h);
    /* Offset deltas and varint widths may differ: at most 5 more bytes per >= 7-byte record. */
    size_t cap = 2 * bsize + KP_BATCH_HEADER_LEN;
    uint8_t *out = malloc(cap);
    if (!out)
        return;
    struct kp_batch_builder b;
    if (kp_batch_begin(&b, out, cap, h->base_timestamp) != 0)
        abort();
    struct kp_record_iter it;
    struct kp_record r;
    kp_record_iter_init(&it, p, h);
    while (kp_record_next(&it, &r) == 1) {
        struct kp_header hdrs[MAX_HEADERS];
        if (r.header_count > MAX_HEADERS)
            goto out;
        struct kp_rd hr;
        kp_rd_init(&hr, r.headers.ptr, (size_t)r.headers.len);
        for (int32_t i = 0; i < r.header_count; i++)
            if (kp_header_next(&hr, &hdrs[i]) != 1)
                abort();
        int64_t ts = (int64_t)((uint64_t)h->base_timestamp + (uint64_t)r.timestamp_delta);
        if (kp_batch_add(&b, ts, r.key, r.value, hdrs, r.header_count) != 0)
            abort(); /* cap was enough for any record the original held */
    }
    long n = kp_batch_finish(&b);
    if (n <= 0)
        abort();
    struct kp_batch_hdr h2;
    if (kp_batch_validate(out, (size_t)n, KP_BATCH_FROM_PRODUCER, &h2) != 0 ||
        kp_batch_check_records(out, &h2) != 0 || h2.record_count != h->record_count)
        abort();
    struct kp_record_iter a, c;
    struct kp_record ra, rc;
    kp_record_iter_init(&a, p, h);
    kp_record_iter_init(&c, out, &h2);
    while (kp_record_next(&a, &ra) == 1) {
        if (kp_record_next(&c, &rc) != 1)
            abort();
        if (ra.timestamp_delta != rc.timestamp_delta || !same_bytes(ra.key, rc.key) ||
            !same_bytes(ra.value, rc.value) || ra.header_count != rc.header_count)
            abort();
        /* Headers are re-encoded identically unless the original used non-minimal varints. */
        struct kp_rd x, y;
        struct kp_header hx, hy;
        kp_rd_init(&x, ra.headers.ptr, (size_t)ra.headers.len);
        kp_rd_init(&y, rc.headers.ptr, (size_t)rc.headers.len);
        while (kp_header_next(&x, &hx) == 1) {
            if (kp_header_next(&y, &hy) != 1 || !kp_str_same(hx.key, hy.key) ||
                !same_bytes(hx.value, hy.value))
                abort();
        }
    }
    if (kp_record_next(&c, &rc) != 0)
        abort();
out:
    free(out);
}

static void one_batch(const uint8_t *p, const struct kp_batch_hdr *h)
{
    int rc = kp_batch_check_records(p, h);
    if (h->attributes & KP_BATCH_ATTR_CODEC_MASK)
        return;
    struct kp_record_iter it;
    struct kp_record r;
    kp_record_iter_init(&it, p, h);
    int32_t n = 0;
    int last;
    while ((last = kp_record_next(&it, &r)) == 1) {
        n++;
        touch(r.key.ptr, r.key.len);
        touch(r.value.ptr, r.value.len);
        struct kp_rd hr;
        struct kp_header hd;
        kp_rd_init(&hr, r.headers.ptr, (size_t)r.headers.len);
        while (kp_header_next(&hr, &hd) == 1) {
            touch(hd.key.ptr, hd.key.len);
            touch(hd.value.ptr, hd.value.len);
        }
    }
    if (last < 0 && rc == 0)
        abort(); /* the checker passed a batch the iterator rejects */
    if (rc == 0) {
        if (n != h->record_count)
            abort();
        rebuild(p, h);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t left = size;
    while (left > 0) {
        struct kp_batch_hdr h;
        (void)kp_batch_parse_hdr(p, left, &h);
        (void)kp_batch_validate(p, left, 0, NULL);
        (void)kp_batch_validate(p, left, KP_BATCH_FROM_PRODUCER, NULL);
        (void)kp_batch_validate(p, left, KP_BATCH_FROM_PRODUCER | KP_BATCH_SKIP_CRC, NULL);
        int rc = kp_batch_validate(p, left, KP_BATCH_SKIP_CRC, &h);
        if (rc != 0) {
            if (rc != -ENODATA && rc != -EBADMSG && rc != -EINVAL)
                abort(); /* only the documented error classes */
            return 0;
        }
        size_t bsize = kp_batch_size(&h);
        if (bsize < KP_BATCH_HEADER_LEN || bsize > left)
            abort();
        one_batch(p, &h);

        /* LogAppendTime rewrite on a copy: the CRC must validate afterwards. */
        uint8_t *copy = malloc(bsize);
        if (copy) {
            memcpy(copy, p, bsize);
            kp_batch_set_base_offset(copy, 77);
            kp_batch_set_leader_epoch(copy, 3);
            kp_batch_set_log_append_time(copy, bsize, 1234567890123LL);
            struct kp_batch_hdr h2;
            if (kp_batch_validate(copy, bsize, 0, &h2) != 0 ||
                h2.max_timestamp != 1234567890123LL ||
                !(h2.attributes & KP_BATCH_ATTR_LOG_APPEND_TIME) || h2.base_offset != 77)
                abort();
            free(copy);
        }
        p += bsize;
        left -= bsize;
    }
    return 0;
}
