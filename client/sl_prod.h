/*
 * sl_prod.h — producer internals shared by sl_producer.c (queues, requests, reports) and
 * sl_idemp.c (enable.idempotence: producer id, epochs, sequences). Not installed.
 *
 * Contract: single-threaded like the rest of the client (the application's thread, inside the
 * calls that take the handle). Internal calls return 0 or -errno; sl_err values only travel in
 * a batch's err and in the fatal error.
 */
#ifndef SPLICELOG_SL_PROD_H
#define SPLICELOG_SL_PROD_H

#include <stdbool.h>
#include <stdint.h>

#include "sl_accum.h"
#include "sl_int.h"

struct sl__ptopic {
    int32_t n;
    struct sl__ppart *parts;
    int32_t sticky; /* partition for unkeyed records, -1: pick one */
    /* Records produced before the topic's metadata was known, in produce order: batches of
     * partition -1 whose want[] holds each record's requested partition (sl_produce's). */
    struct sl__batch *pend_head, *pend_tail;
};

/*
 * The idempotent producer's state (librdkafka's rd_kafka_idemp_state_t, without the
 * transactional states):
 *   OFF          enable.idempotence=false: none of this applies
 *   REQ_PID      an InitProducerId is wanted (at start, after a failed one: not before req_at_ms)
 *   WAIT_PID     one is outstanding
 *   ASSIGNED     pid/epoch known: batches are stamped and sent
 *   DRAIN_BUMP   a sequence gap: nothing new is sent until no Produce is outstanding, then the
 *                epoch goes up by one locally (as librdkafka and the Java client do for a
 *                non-transactional producer) and every partition starts again at sequence 0
 *   DRAIN_RESET  the same, then a new producer id (the epoch cannot go higher)
 *   FATAL        the producer cannot go on without risking duplicates or reordering: every
 *                record fails with SL_ERR__FATAL, sl_produce refuses new ones
 */
enum sl__idemp_state {
    SL__IDEMP_OFF,
    SL__IDEMP_REQ_PID,
    SL__IDEMP_WAIT_PID,
    SL__IDEMP_ASSIGNED,
    SL__IDEMP_DRAIN_BUMP,
    SL__IDEMP_DRAIN_RESET,
    SL__IDEMP_FATAL,
};

struct sl__idemp {
    enum sl__idemp_state state;
    int64_t pid;       /* -1 until the first InitProducerId answer */
    int16_t epoch;     /* -1 likewise */
    int64_t req_at_ms; /* REQ_PID: no InitProducerId before this */
    sl_err fatal;      /* the error that made the producer fail (FATAL) */
    char reason[256];  /* and why, for sl_producer_fatal_error */
};

struct sl_producer {
    struct sl__client cl;
    struct sl__accum acc;
    struct sl__batch *done_head, *done_tail;
    size_t q_bytes; /* bytes of records produced and not yet reported */
    size_t q_msgs;  /* records produced and not yet reported */
    size_t q_max_bytes;
    bool flushing;   /* close open batches regardless of linger.ms */
    bool destroying; /* no retries: everything outstanding fails */
    int64_t last_io_us;
    bool fresh; /* a record was appended since the last turn (linger.ms=0: send it now) */
    struct kp_header *hdrs; /* scratch for converting sl_header, reused */
    int32_t hdrs_cap;
    struct sl__topic *last_topic;
    unsigned rnd;
    int produce_out; /* Produce requests written or queued and not yet completed */
    struct sl__idemp idemp;
};

static inline struct sl__ppart *sl__ppart_of(const struct sl__batch *b)
{
    return &((struct sl__ptopic *)b->topic->prod)->parts[b->partition];
}

/* ---- sl_idemp.c ------------------------------------------------------------------------- */

/* Sets the state for the conf (REQ_PID when enable.idempotence is on, else OFF). */
void sl__idemp_init(sl_producer *p);
/* From every producer turn: requests a producer id when one is wanted, and finishes a drain
 * (epoch bump or reset) once no Produce request is outstanding. */
void sl__idemp_turn(sl_producer *p, int64_t now_ms);
/* True when batches may be sent now (idempotence off, or a producer id assigned). */
bool sl__idemp_ready(const sl_producer *p);
/* True when partition pp may have b sent to node now (idempotence: at most 5 in flight, and not
 * to a new leader while batches are still out to the old one). */
bool sl__idemp_part_ready(const sl_producer *p, const struct sl__ppart *pp, int32_t node);
/* Before b is sent: gives it its base sequence when it has none under the current producer id
 * and epoch, and writes id, epoch and sequence into its header (the CRC follows). */
void sl__idemp_stamp(sl_producer *p, struct sl__batch *b);
/*
 * The broker's (or the transport's) answer err for b, as the idempotent producer reads it:
 * may turn it into success (DUPLICATE_SEQUENCE_NUMBER), a retry that keeps b's sequence
 * (OUT_OF_ORDER_SEQUENCE_NUMBER behind an earlier failed batch), or a fatal error (the
 * producer fails). *a is the plain verdict on entry and the idempotent one on return; *err may
 * be replaced (SL_ERR__FATAL).
 */
void sl__idemp_answer(sl_producer *p, struct sl__batch *b, sl_err *err, enum sl__answer *a);
/* b is reported (delivered or failed): a failed batch that used sequences of the current
 * epoch leaves a gap, so the epoch is bumped once the producer has drained. */
void sl__idemp_reported(sl_producer *p, const struct sl__batch *b);
/* The producer fails for good with err (reason as printf): error callback SL_ERR__FATAL. */
void sl__idemp_fatal(sl_producer *p, sl_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
