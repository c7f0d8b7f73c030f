/*
 * sl_accum.c — the producer's accumulator: per-partition RecordBatch v2 buffers.
 *
 * A record is appended in place into the open batch of its partition with kp_batch_add (no
 * allocation per record: batch buffers come from a pool and keep their per-record opaque
 * arrays). A batch closes when the next record does not fit (batch.size), when linger.ms has
 * passed since it opened, or on flush; it then joins its partition's ready queue (FIFO).
 * A record larger than batch.size gets a batch of its own, sized for it. With compression.type
 * set, a closing batch's records area is compressed into the batch's second buffer (zbuf), which
 * is what is sent; the plain batch stays for the delivery reports. batch.size bounds the plain
 * batch, as in the Java client.
 *
 * Per-partition state also tracks the batches in flight, each stamped with a send counter:
 * sl__ppart_answer uses the stamps to retry failed batches without reordering the partition
 * (see sl_accum.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_accum.h"
#include "kp_codec.h"

void sl__accum_init(struct sl__accum *a, size_t batch_size)
{
    memset(a, 0, sizeof(*a));
    a->batch_size = batch_size;
}

static void batch_free(struct sl__batch *b)
{
    free(b->buf);
    free(b->zbuf);
    free(b->want);
    free(b->opq);
    free(b);
}

void sl__accum_destroy(struct sl__accum *a)
{
    while (a->pool) {
        struct sl__batch *b = a->pool;
        a->pool = b->next;
        batch_free(b);
    }
    a->pool_n = 0;
}

struct sl__batch *sl__batch_get(struct sl__accum *a, size_t need)
{
    struct sl__batch *b = NULL;
    size_t cap = need > a->batch_size ? need : a->batch_size;
    if (cap == a->batch_size && a->pool) {
        b = a->pool;
        a->pool = b->next;
        a->pool_n--;
    } else {
        b = calloc(1, sizeof(*b));
        if (!b)
            return NULL;
        b->buf = malloc(cap);
        if (!b->buf) {
            free(b);
            return NULL;
        }
        b->cap = cap;
    }
    b->next = NULL;
    b->inflight_next = NULL;
    b->topic = NULL;
    b->partition = -1;
    b->size = 0;
    b->wire = NULL;
    b->wire_size = 0;
    b->count = 0;
    b->bytes = 0;
    b->attempts = 0;
    b->retry_at_ms = 0;
    b->stamp = 0;
    b->inflight = false;
    b->retry_wanted = false;
    b->pid = -1;
    b->epoch = -1;
    b->seq = -1;
    b->node = -1;
    b->maybe_persisted = false;
    b->err = SL_ERR_NO_ERROR;
    b->base_offset = -1;
    b->log_append_time = -1;
    return b;
}

void sl__batch_put(struct sl__accum *a, struct sl__batch *b)
{
    if (b->cap != a->batch_size || a->pool_n >= SL__POOL_MAX) {
        batch_free(b);
        return;
    }
    b->next = a->pool;
    a->pool = b;
    a->pool_n++;
}

int sl__batch_open(struct sl__batch *b, int64_t base_timestamp, int64_t now_ms)
{
    b->created_ms = now_ms;
    return kp_batch_begin(&b->b, b->buf, b->cap, base_timestamp);
}

int sl__batch_append(struct sl__batch *b, int64_t ts, struct kp_bytes key, struct kp_bytes value,
                     const struct kp_header *hdrs, int32_t nh, void *opaque, size_t acct)
{
    if (b->count == b->opq_cap) {
        int32_t cap = b->opq_cap ? b->opq_cap * 2 : 1024;
        void **p = realloc(b->opq, (size_t)cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        b->opq = p;
        b->opq_cap = cap;
    }
    int err = kp_batch_add(&b->b, ts, key, value, hdrs, nh);
    if (err)
        return err;
    b->opq[b->count++] = opaque;
    b->bytes += acct;
    return 0;
}

int sl__batch_close(struct sl__accum *a, struct sl__batch *b)
{
    long n = kp_batch_finish(&b->b);
    if (n < 0)
        return (int)n;
    b->size = (size_t)n;
    b->wire = b->buf;
    b->wire_size = b->size;
    if (a->codec == 0)
        return 0;
    /* Compressed: the records area goes through the codec into zbuf, behind a copy of the
     * header; buf keeps the plain records for the delivery reports. */
    size_t plain = b->size - KP_BATCH_HEADER_LEN;
    size_t need = KP_BATCH_HEADER_LEN + kp_codec_bound(a->codec, plain);
    if (b->zcap < need) {
        uint8_t *z = realloc(b->zbuf, need);
        if (!z)
            return -ENOMEM;
        b->zbuf = z;
        b->zcap = need;
    }
    long zlen = kp_codec_compress(a->z, a->codec, a->level, b->buf + KP_BATCH_HEADER_LEN, plain,
                                  b->zbuf + KP_BATCH_HEADER_LEN, b->zcap - KP_BATCH_HEADER_LEN);
    if (zlen < 0)
        return (int)zlen;
    if ((size_t)zlen >= plain)
        return 0; /* no smaller: sent plain, as librdkafka and the Java client do */
    long size = kp_batch_seal_compressed(b->zbuf, b->buf, (size_t)zlen, (unsigned)a->codec);
    if (size < 0)
        return (int)size;
    b->wire = b->zbuf;
    b->wire_size = (size_t)size;
    return 0;
}

void sl__ppart_push_tail(struct sl__ppart *pp, struct sl__batch *b)
{
    b->next = NULL;
    if (pp->q_tail)
        pp->q_tail->next = b;
    else
        pp->q_head = b;
    pp->q_tail = b;
}

void sl__ppart_push_head(struct sl__ppart *pp, struct sl__batch *b)
{
    b->next = pp->q_head;
    pp->q_head = b;
    if (!pp->q_tail)
        pp->q_tail = b;
}

struct sl__batch *sl__ppart_pop(struct sl__ppart *pp)
{
    struct sl__batch *b = pp->q_head;
    if (b) {
        pp->q_head = b->next;
        if (!pp->q_head)
            pp->q_tail = NULL;
        b->next = NULL;
    }
    return b;
}

void sl__ppart_sent(struct sl__ppart *pp, struct sl__batch *b)
{
    b->stamp = ++pp->stamp_next;
    b->inflight = true;
    b->retry_wanted = false;
    b->inflight_next = pp->inflight;
    pp->inflight = b;
}

int sl__ppart_inflight_count(const struct sl__ppart *pp)
{
    int n = 0;
    for (const struct sl__batch *h = pp->inflight; h; h = h->inflight_next)
        n++;
    return n;
}

static void unlink_inflight(struct sl__ppart *pp, struct sl__batch *b)
{
    for (struct sl__batch **pb = &pp->inflight; *pb; pb = &(*pb)->inflight_next) {
        if (*pb == b) {
            *pb = b->inflight_next;
            break;
        }
    }
    if (b->retry_wanted)
        pp->held--;
    b->inflight = false;
    b->retry_wanted = false;
    b->inflight_next = NULL;
}

int sl__ppart_answer(struct sl__ppart *pp, struct sl__batch *b, enum sl__answer a,
                     void (*final)(void *ctx, struct sl__batch *b, bool ok), void *ctx)
{
    if (a == SL__ANSWER_RETRY) {
        b->retry_wanted = true;
        pp->held++;
    } else {
        unlink_inflight(pp, b);
        final(ctx, b, a == SL__ANSWER_OK);
        if (a == SL__ANSWER_OK) {
            /* Batches sent before b that wait for a retry would land after it: they fail. */
            struct sl__batch *h = pp->inflight;
            while (h) {
                struct sl__batch *next = h->inflight_next;
                if (h->retry_wanted && h->stamp < b->stamp) {
                    unlink_inflight(pp, h);
                    final(ctx, h, false);
                }
                h = next;
            }
        }
    }
    /* Nothing of the partition on the wire any more: waiting batches go back in send order. */
    for (struct sl__batch *h = pp->inflight; h; h = h->inflight_next)
        if (!h->retry_wanted)
            return 0;
    int n = 0;
    while (pp->inflight) {
        /* Newest first onto the head, so the oldest ends up first. */
        struct sl__batch *newest = pp->inflight;
        for (struct sl__batch *h = pp->inflight; h; h = h->inflight_next)
            if (h->stamp > newest->stamp)
                newest = h;
        unlink_inflight(pp, newest);
        sl__ppart_push_head(pp, newest);
        n++;
    }
    return n;
}
