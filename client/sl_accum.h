/*
 * sl_accum.h — producer accumulator internals (not installed): batch buffers and the
 * per-partition queues. See sl_accum.c for the rules; single-threaded like the rest.
 *
 * Ownership: a batch belongs to exactly one place at a time — the pool, a partition's open
 * slot, its ready queue, a request (in flight), or the producer's done list.
 */
#ifndef SPLICELOG_SL_ACCUM_H
#define SPLICELOG_SL_ACCUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_int.h"

#define SL__POOL_MAX 64 /* free batch buffers kept for reuse */

struct sl__batch {
    struct sl__batch *next;          /* pool, ready queue, or done list */
    struct sl__batch *inflight_next; /* partition's in-flight list */
    struct sl__topic *topic;
    int32_t partition;
    uint8_t *buf;
    size_t cap;
    struct kp_batch_builder b;
    size_t size;   /* finished batch size; 0 while open */
    uint8_t *zbuf; /* the compressed batch (compression.type), kept with the batch */
    size_t zcap;
    const uint8_t *wire; /* what is sent: buf, or zbuf when compressing made it smaller */
    size_t wire_size;
    int32_t count; /* records */
    size_t bytes;  /* queue accounting for these records */
    void **opq;    /* per-record msg_opaque, count entries */
    int32_t opq_cap;
    int32_t *want; /* a pending batch (partition -1): each record's requested partition */
    int32_t want_cap;
    int64_t created_ms;
    int attempts;        /* sends so far */
    int64_t retry_at_ms; /* not before (retry backoff) */
    uint64_t stamp;      /* send order within the partition */
    bool inflight;
    bool retry_wanted; /* answered with a retriable error, waits on the in-flight list */
    /* enable.idempotence: what the batch's header says once stamped (sl_idemp.c). */
    int64_t pid;             /* producer id, -1: not stamped */
    int16_t epoch;           /* producer epoch */
    int32_t seq;             /* base sequence, -1: none assigned yet */
    int32_t node;            /* broker the batch was last sent to */
    bool maybe_persisted;    /* the last send ended without an answer (connection lost, timeout) */
    sl_err err;              /* result */
    int64_t base_offset;     /* result: offset of the first record, -1 unknown */
    int64_t log_append_time; /* result: -1 = CreateTime */
};

struct sl__ppart {
    struct sl__batch *open;            /* accepting records */
    struct sl__batch *q_head, *q_tail; /* closed, waiting to be sent (FIFO) */
    struct sl__batch *inflight;        /* sent, awaiting the response */
    uint64_t stamp_next;
    int held; /* in-flight batches waiting for a retry; no new batch is sent while > 0 */
    /* enable.idempotence (sl_idemp.c): the sequence the next new batch gets, and the one after
     * the last batch the broker acknowledged, under the producer's current id and epoch. */
    int32_t next_seq;
    int32_t next_ack_seq;
    bool seq_acked; /* a batch of this epoch was acknowledged: the broker knows the producer */
};
/* Batches of the partition on its in-flight list (sent, or answered and waiting to retry). */
int sl__ppart_inflight_count(const struct sl__ppart *pp);

struct sl__accum {
    size_t batch_size;
    int codec; /* compression.type (enum kp_codec) */
    int level; /* compression.level for that codec */
    struct kp_codec_ctx *z;
    struct sl__batch *pool;
    int pool_n;
};

void sl__accum_init(struct sl__accum *a, size_t batch_size);
void sl__accum_destroy(struct sl__accum *a);
/* A batch with room for at least need bytes (pooled when need <= batch.size). */
struct sl__batch *sl__batch_get(struct sl__accum *a, size_t need);
void sl__batch_put(struct sl__accum *a, struct sl__batch *b);
int sl__batch_open(struct sl__batch *b, int64_t base_timestamp, int64_t now_ms);
/* Appends one record; -ENOSPC (nothing written) when it does not fit. */
int sl__batch_append(struct sl__batch *b, int64_t ts, struct kp_bytes key, struct kp_bytes value,
                     const struct kp_header *hdrs, int32_t nh, void *opaque, size_t acct);
/* Finishes the batch (lengths, CRC; compression when a->codec is set): size, wire and
 * wire_size are set. 0 or -errno. */
int sl__batch_close(struct sl__accum *a, struct sl__batch *b);

void sl__ppart_push_tail(struct sl__ppart *pp, struct sl__batch *b);
void sl__ppart_push_head(struct sl__ppart *pp, struct sl__batch *b);
struct sl__batch *sl__ppart_pop(struct sl__ppart *pp);
/* Marks b in flight (stamped after every earlier send of the partition). */
void sl__ppart_sent(struct sl__ppart *pp, struct sl__batch *b);
enum sl__answer { SL__ANSWER_OK, SL__ANSWER_RETRY, SL__ANSWER_FAIL };

/*
 * Records the broker's answer for the in-flight batch b and keeps the partition's order:
 * - OK and FAIL are final: final(ctx, b, ok) runs for b. An OK also makes final every batch
 *   waiting for a retry that was sent before b (retrying it would put it after b): final(ctx,
 *   h, false), h->err being the error it got.
 * - RETRY leaves b on the in-flight list, waiting; the partition sends nothing new meanwhile
 *   (held > 0). Once no batch of the partition is on the wire, every waiting batch goes back
 *   to the head of the ready queue in send order. Returns how many went back.
 * Whatever order the answers arrive in (a lost connection answers newest first), the
 * delivered batches of a partition are in the log in the order they were produced.
 */
int sl__ppart_answer(struct sl__ppart *pp, struct sl__batch *b, enum sl__answer a,
                     void (*final)(void *ctx, struct sl__batch *b, bool ok), void *ctx);

#endif
