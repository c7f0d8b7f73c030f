/*
 * sl_idemp.c — the idempotent producer (enable.idempotence=true, KIP-98): a producer id and
 * epoch from InitProducerId, a base sequence in every batch, and the rules that keep retries
 * from duplicating or reordering records.
 *
 * Producer id: asked of any broker that advertises InitProducerId (the highest version both
 * speak, up to 4; transactional.id null, as librdkafka's idempotent producer does), once at
 * start and again only when the epoch is exhausted (DRAIN_RESET: from v3 on the request
 * carries the current id and epoch, KIP-360). A broker whose ApiVersions lacks InitProducerId
 * makes the producer fail (SL_ERR__UNSUPPORTED_FEATURE behind SL_ERR__FATAL): records are never
 * sent without a producer id. Nothing is produced until the id is known.
 *
 * Sequences: a batch gets its base sequence when it is first sent (so a batch that times out in
 * the queue leaves no gap), the partition's next_seq moving past its records, and the id, epoch
 * and sequence are written into its header (kp_batch_set_producer recomputes the CRC). A batch
 * sent again keeps all three, byte for byte: a broker that already has it answers with the
 * original offset. At most 5 batches of a partition are in flight (Kafka's broker remembers the
 * last 5 per producer), only one until the broker has acknowledged one of the current epoch (it
 * takes any sequence from a producer it does not know, so a batch behind a failed first one
 * would otherwise be written ahead of it), and a partition whose batches are out to one broker
 * sends nothing to another until they are answered.
 *
 * Answers (librdkafka's rd_kafka_handle_idempotent_Produce_error, which this follows):
 *   success                 next_ack_seq moves past the batch
 *   DUPLICATE_SEQUENCE_NUMBER  delivered (offset unknown); Kafka >= 2.5 never sends it
 *   OUT_OF_ORDER_SEQUENCE_NUMBER  base sequence after next_ack_seq: an earlier batch failed and
 *                           will be sent again first, so this one waits and is retried in order
 *                           with its sequence; equal to next_ack_seq ("desynchronization") or
 *                           before it ("rewound"): fatal
 *   UNKNOWN_PRODUCER_ID     the first send of the oldest unacknowledged batch: epoch bump and
 *                           retry; otherwise fatal (Kafka >= 2.5 never sends it)
 *   INVALID_PRODUCER_EPOCH, PRODUCER_FENCED  fatal: another producer has this id (librdkafka
 *                           bumps the epoch here for a non-transactional producer; a fenced id
 *                           cannot be told apart from a broker that lost our state, so this
 *                           library stops rather than risk duplicates)
 *   connection lost, timeout  retried with the same sequence; the batch is marked
 *                           maybe_persisted
 * A batch that ends failed after it had a sequence leaves a gap that the broker would answer
 * with OUT_OF_ORDER forever: the producer drains (sends nothing new until no Produce request is
 * outstanding), then bumps its epoch locally — Kafka accepts a higher epoch starting at
 * sequence 0 — and every partition starts again at 0 (DRAIN_BUMP). Batches queued at that moment
 * are renumbered, except those whose last send may have reached the log (maybe_persisted):
 * under a new epoch the broker could not recognise them, so they are reported failed
 * (SL_ERR__TRANSPORT, "possibly delivered") rather than risk a duplicate.
 *
 * Fatal: the error callback gets SL_ERR__FATAL with the reason, sl_producer_fatal_error returns
 * the underlying error, sl_produce returns SL_ERR__FATAL, and every record not yet delivered is
 * reported with SL_ERR__FATAL.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kp_api.h"
#include "sl_prod.h"

/* librdkafka's RD_KAFKA_IDEMP_MAX_INFLIGHT, Kafka's NUM_BATCHES_TO_RETAIN. */
#define IDEMP_MAX_INFLIGHT SL__IDEMP_MAX_IN_FLIGHT
/* InitProducerId versions spoken: 0-4 (flexible from 2; current id and epoch from 3). */
#define PID_VMAX 4
_Static_assert(PID_VMAX <= KP_API_INIT_PRODUCER_ID_CODEC_VMAX, "InitProducerId codec");

static const char *state_name(enum sl__idemp_state s)
{
    static const char *const names[] = {"off",        "request-pid", "wait-pid", "assigned",
                                        "drain-bump", "drain-reset", "fatal"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static void set_state(sl_producer *p, enum sl__idemp_state s)
{
    if (p->idemp.state == s)
        return;
    sl__log(p->cl.conf, 7, "IDEMP", "state %s -> %s (pid %lld, epoch %d)",
            state_name(p->idemp.state), state_name(s), (long long)p->idemp.pid, p->idemp.epoch);
    p->idemp.state = s;
}

void sl__idemp_init(sl_producer *p)
{
    p->idemp.pid = -1;
    p->idemp.epoch = -1;
    p->idemp.state = p->cl.conf->enable_idempotence ? SL__IDEMP_REQ_PID : SL__IDEMP_OFF;
}

bool sl__idemp_ready(const sl_producer *p)
{
    return p->idemp.state == SL__IDEMP_OFF || p->idemp.state == SL__IDEMP_ASSIGNED;
}

bool sl__idemp_part_ready(const sl_producer *p, const struct sl__ppart *pp, int32_t node)
{
    if (p->idemp.state == SL__IDEMP_OFF)
        return true;
    if (!pp->inflight)
        return true;
    /* Until the broker has acknowledged a batch of this producer and epoch it accepts any
     * sequence (Kafka >= 2.5: an unknown producer may start anywhere), so a second batch sent
     * behind a first one that fails would be written ahead of it: one at a time until then. */
    if (!pp->seq_acked)
        return false;
    return pp->inflight->node == node && sl__ppart_inflight_count(pp) < IDEMP_MAX_INFLIGHT;
}

void sl__idemp_fatal(sl_producer *p, sl_err err, const char *fmt, ...)
{
    if (p->idemp.state == SL__IDEMP_FATAL || p->idemp.state == SL__IDEMP_OFF)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->idemp.reason, sizeof(p->idemp.reason), fmt, ap);
    va_end(ap);
    p->idemp.fatal = err;
    set_state(p, SL__IDEMP_FATAL);
    sl__log(p->cl.conf, 2, "FATAL", "%s: %s", sl_err2name(err), p->idemp.reason);
    sl__error(&p->cl, SL_ERR__FATAL, "Fatal error: %s: %s", sl_err2name(err), p->idemp.reason);
}

/* ---- sequences ------------------------------------------------------------------------------ */

/* How far sequence a is ahead of b (sequences wrap from INT32_MAX to 0): 0 when equal, > 0
 * ahead, < 0 behind (within half the range, far more than 5 batches ever span). */
static int64_t seq_ahead(int32_t a, int32_t b)
{
    int64_t d = ((int64_t)a - (int64_t)b) & INT32_MAX;
    return d > (INT32_MAX / 2) ? d - ((int64_t)INT32_MAX + 1) : d;
}

static bool current(const sl_producer *p, const struct sl__batch *b)
{
    return b->seq >= 0 && b->pid == p->idemp.pid && b->epoch == p->idemp.epoch;
}

void sl__idemp_stamp(sl_producer *p, struct sl__batch *b)
{
    if (p->idemp.state == SL__IDEMP_OFF || current(p, b))
        return; /* a retry keeps its id, epoch and sequence */
    struct sl__ppart *pp = sl__ppart_of(b);
    b->pid = p->idemp.pid;
    b->epoch = p->idemp.epoch;
    b->seq = pp->next_seq;
    pp->next_seq = kp_batch_seq_add(b->seq, b->count);
    kp_batch_set_producer((uint8_t *)b->wire, b->wire_size, b->pid, b->epoch, b->seq, false);
}

/* A new id or epoch: every partition starts again at sequence 0; queued batches are
 * renumbered when sent, except those that may be in the log already (see the top). */
static void restart_sequences(sl_producer *p)
{
    for (int i = 0; i < p->cl.n_topics; i++) {
        struct sl__ptopic *pt = p->cl.topics[i]->prod;
        if (!pt)
            continue;
        for (int32_t j = 0; j < pt->n; j++) {
            struct sl__ppart *pp = &pt->parts[j];
            pp->next_seq = 0;
            pp->next_ack_seq = 0;
            pp->seq_acked = false;
            struct sl__batch *keep = NULL, *keep_tail = NULL, *lost = NULL, *lost_tail = NULL;
            while (pp->q_head) {
                struct sl__batch *b = sl__ppart_pop(pp);
                if (b->seq >= 0 && b->maybe_persisted) {
                    if (lost_tail)
                        lost_tail->next = b;
                    else
                        lost = b;
                    lost_tail = b;
                    continue;
                }
                b->seq = -1;
                b->next = NULL;
                if (keep_tail)
                    keep_tail->next = b;
                else
                    keep = b;
                keep_tail = b;
            }
            while (keep) {
                struct sl__batch *b = keep;
                keep = b->next;
                sl__ppart_push_tail(pp, b);
            }
            for (struct sl__batch *b = lost; b;) {
                struct sl__batch *next = b->next;
                sl__log(p->cl.conf, 4, "IDEMP",
                        "%s [%d]: %d record(s) possibly delivered under the previous epoch "
                        "(base sequence %d) reported failed: sending them again under a new "
                        "epoch could duplicate them",
                        b->topic->name, b->partition, b->count, b->seq);
                b->err = SL_ERR__TRANSPORT;
                b->base_offset = -1;
                /* to the done list, reported from sl_poll like any other */
                b->next = NULL;
                if (p->done_tail)
                    p->done_tail->next = b;
                else
                    p->done_head = b;
                p->done_tail = b;
                b = next;
            }
        }
    }
}

void sl__idemp_reported(sl_producer *p, const struct sl__batch *b)
{
    enum sl__idemp_state s = p->idemp.state;
    if (s != SL__IDEMP_ASSIGNED || p->destroying || b->err == SL_ERR_NO_ERROR || !current(p, b))
        return;
    sl__log(p->cl.conf, 6, "IDEMP",
            "%s [%d]: batch with base sequence %d failed (%s): sequence gap, bumping the epoch "
            "once nothing is in flight",
            b->topic->name, b->partition, b->seq, sl_err2name(b->err));
    set_state(p, p->idemp.epoch >= INT16_MAX ? SL__IDEMP_DRAIN_RESET : SL__IDEMP_DRAIN_BUMP);
}

void sl__idemp_answer(sl_producer *p, struct sl__batch *b, sl_err *err, enum sl__answer *a)
{
    if (p->idemp.state == SL__IDEMP_OFF)
        return;
    if (p->idemp.state == SL__IDEMP_FATAL) {
        if (*a != SL__ANSWER_OK) {
            *a = SL__ANSWER_FAIL;
            *err = SL_ERR__FATAL;
        }
        return;
    }
    if (!current(p, b)) {
        /* Sent under an id or epoch that is no longer ours: never sent again. */
        if (*a == SL__ANSWER_RETRY)
            *a = SL__ANSWER_FAIL;
        return;
    }
    struct sl__ppart *pp = sl__ppart_of(b);
    int32_t end = kp_batch_seq_add(b->seq, b->count);
    int64_t ahead = seq_ahead(b->seq, pp->next_ack_seq);
    switch (*err) {
    case SL_ERR_DUPLICATE_SEQUENCE_NUMBER:
        *a = SL__ANSWER_OK; /* the broker has it: delivered, offset unknown */
        __attribute__((fallthrough));
    case SL_ERR_NO_ERROR:
        if (*a == SL__ANSWER_OK && seq_ahead(end, pp->next_ack_seq) > 0)
            pp->next_ack_seq = end;
        pp->seq_acked = true;
        return;
    case SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
        if (ahead > 0) {
            /* An earlier batch failed and goes again first: this one follows it, in order,
             * with the same sequence. */
            *a = sl__now_ms() - b->created_ms < p->cl.conf->delivery_timeout_ms ? SL__ANSWER_RETRY
                                                                                : SL__ANSWER_FAIL;
            return;
        }
        *a = SL__ANSWER_FAIL;
        sl__idemp_fatal(p, *err,
                        "%s [%d]: batch with base sequence %d failed with %s (next expected "
                        "acknowledgement %d): %s",
                        b->topic->name, b->partition, b->seq, sl_err2name(*err), pp->next_ack_seq,
                        ahead == 0 ? "sequence desynchronization with the broker"
                                   : "rewound sequence number");
        return;
    case SL_ERR_UNKNOWN_PRODUCER_ID:
        if (ahead == 0 && b->attempts == 1) {
            set_state(p,
                      p->idemp.epoch >= INT16_MAX ? SL__IDEMP_DRAIN_RESET : SL__IDEMP_DRAIN_BUMP);
            *a = SL__ANSWER_RETRY;
            return;
        }
        *a = SL__ANSWER_FAIL;
        sl__idemp_fatal(p, *err,
                        "%s [%d]: batch with base sequence %d (send %d) failed with "
                        "UNKNOWN_PRODUCER_ID: cannot retry without risking duplicates",
                        b->topic->name, b->partition, b->seq, b->attempts);
        return;
    case SL_ERR_INVALID_PRODUCER_EPOCH:
    case SL_ERR_PRODUCER_FENCED:
        *a = SL__ANSWER_FAIL;
        sl__idemp_fatal(p, *err, "%s [%d]: producer id %lld epoch %d fenced by the broker (%s)",
                        b->topic->name, b->partition, (long long)b->pid, b->epoch,
                        sl_err2name(*err));
        return;
    case SL_ERR__TRANSPORT:
    case SL_ERR__TIMED_OUT:
    case SL_ERR_REQUEST_TIMED_OUT:
    case SL_ERR_NETWORK_EXCEPTION:
    case SL_ERR__BAD_MSG:
        b->maybe_persisted = true; /* no answer: the broker may have it */
        return;
    default:
        return;
    }
}

/* ---- InitProducerId ------------------------------------------------------------------------- */

static int enc_init_pid(struct kp_wr *wr, const void *msg)
{
    const struct {
        int16_t v;
        struct kp_init_producer_id_req req;
    } *m = msg;
    return kp_init_producer_id_req_encode(wr, m->v, &m->req);
}

static void retry_later(sl_producer *p, const char *why)
{
    sl__log(p->cl.conf, 4, "IDEMP", "InitProducerId failed (%s): retrying in %d ms", why,
            p->cl.conf->retry_backoff_ms);
    p->idemp.req_at_ms = sl__now_ms() + p->cl.conf->retry_backoff_ms;
    set_state(p, SL__IDEMP_REQ_PID);
}

static void init_pid_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    sl_producer *p = cl->owner;
    if (p->idemp.state != SL__IDEMP_WAIT_PID)
        return;
    if (p->destroying) {
        set_state(p, SL__IDEMP_REQ_PID); /* the handle is going away: nothing to retry */
        return;
    }
    if (err || !f) {
        retry_later(p, err == -ETIMEDOUT ? "timed out" : "connection lost");
        return;
    }
    struct kp_init_producer_id_resp resp;
    struct kp_rd rd;
    kp_rd_init(&rd, f->body, f->len); /* after the response header (its tags too) */
    struct kp_arena *a = sl__arena(cl, f->len);
    if (rd.err || !a || kp_init_producer_id_resp_decode(&rd, req->api_version, a, &resp) != 0) {
        retry_later(p, "malformed response");
        return;
    }
    switch ((sl_err)resp.error_code) {
    case SL_ERR_NO_ERROR:
        break;
    case SL_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case SL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case SL_ERR_INVALID_TRANSACTION_TIMEOUT:
    case SL_ERR_INVALID_PRODUCER_EPOCH:
    case SL_ERR_PRODUCER_FENCED:
    case SL_ERR_UNSUPPORTED_VERSION:
        sl__idemp_fatal(p, (sl_err)resp.error_code, "InitProducerId refused by the broker");
        return;
    default:
        retry_later(p, sl_err2name((sl_err)resp.error_code));
        return;
    }
    if (resp.producer_id < 0 || resp.producer_epoch < 0) {
        retry_later(p, "invalid producer id or epoch in the answer");
        return;
    }
    sl__log(cl->conf, 6, "IDEMP", "acquired producer id %lld epoch %d (previous %lld epoch %d)",
            (long long)resp.producer_id, resp.producer_epoch, (long long)p->idemp.pid,
            p->idemp.epoch);
    p->idemp.pid = resp.producer_id;
    p->idemp.epoch = resp.producer_epoch;
    restart_sequences(p);
    set_state(p, SL__IDEMP_ASSIGNED);
}

/* A connection to ask for a producer id: established, its ApiVersions answered with
 * InitProducerId in it, and room for a request. NULL when none can take it now; *unsupported is
 * set when every answered broker lacks InitProducerId. */
static struct sl__conn *pid_conn(sl_producer *p, bool *unsupported)
{
    struct sl__client *cl = &p->cl;
    bool pending = false, lacking = false;
    for (int i = 0; i < cl->n_conns; i++) {
        struct sl__conn *c = cl->conns[i];
        if (c->state != SL__CONN_UP) {
            pending |= c->state == SL__CONN_CONNECTING;
            continue;
        }
        if (!c->versions_known) {
            pending = true; /* its ApiVersions answer is on the way */
            continue;
        }
        if (sl__conn_version(c, KP_API_INIT_PRODUCER_ID, 0, PID_VMAX) < 0) {
            lacking = true;
            continue;
        }
        if (c->n_out < (uint32_t)cl->conf->max_in_flight)
            return c;
        pending = true;
    }
    *unsupported = lacking && !pending;
    if (!lacking && !pending)
        (void)sl__any_conn(cl); /* nothing up or coming: start connecting */
    return NULL;
}

static void request_pid(sl_producer *p)
{
    struct sl__client *cl = &p->cl;
    bool unsupported = false;
    struct sl__conn *c = pid_conn(p, &unsupported);
    if (!c) {
        if (unsupported)
            sl__idemp_fatal(p, SL_ERR__UNSUPPORTED_FEATURE,
                            "idempotent producer not supported by the broker(s): no "
                            "InitProducerId in their ApiVersions");
        return;
    }
    struct {
        int16_t v;
        struct kp_init_producer_id_req req;
    } m = {
        .v = (int16_t)sl__conn_version(c, KP_API_INIT_PRODUCER_ID, 0, PID_VMAX),
        .req = {.transactional_id = KP_STR_NULL,
                .transaction_timeout_ms = -1,
                .producer_id = -1,
                .producer_epoch = -1},
    };
    if (m.v >= 3 && p->idemp.pid >= 0) {
        /* KIP-360: a producer that had an id says which (the broker may bump its epoch). */
        m.req.producer_id = p->idemp.pid;
        m.req.producer_epoch = p->idemp.epoch;
    }
    struct sl__req *r = sl__req_get(cl);
    int err = r ? sl__req_begin(cl, r, KP_API_INIT_PRODUCER_ID, m.v) : -ENOMEM;
    if (!err)
        err = sl__req_body(r, 32, enc_init_pid, &m);
    if (!err)
        err = sl__req_end(r);
    if (err) {
        if (r)
            sl__req_put(cl, r);
        retry_later(p, "could not build the request");
        return;
    }
    r->cb = init_pid_cb;
    set_state(p, SL__IDEMP_WAIT_PID);
    sl__conn_enqueue(c, r);
    sl__conn_flush(c);
}

void sl__idemp_turn(sl_producer *p, int64_t now_ms)
{
    switch (p->idemp.state) {
    case SL__IDEMP_REQ_PID:
        if (now_ms >= p->idemp.req_at_ms)
            request_pid(p);
        break;
    case SL__IDEMP_DRAIN_BUMP:
    case SL__IDEMP_DRAIN_RESET:
        if (p->produce_out > 0)
            break; /* not drained yet */
        if (p->idemp.state == SL__IDEMP_DRAIN_BUMP && p->idemp.epoch < INT16_MAX) {
            /* The idempotent producer bumps its own epoch (librdkafka, the Java client). */
            p->idemp.epoch++;
            sl__log(p->cl.conf, 6, "IDEMP", "drained: producer id %lld bumped to epoch %d",
                    (long long)p->idemp.pid, p->idemp.epoch);
            restart_sequences(p);
            set_state(p, SL__IDEMP_ASSIGNED);
        } else {
            p->idemp.req_at_ms = now_ms;
            set_state(p, SL__IDEMP_REQ_PID);
            request_pid(p);
        }
        break;
    default:
        break;
    }
}

sl_err sl_producer_fatal_error(const sl_producer *p, char *errstr, size_t errstr_size)
{
    if (!p || p->idemp.state != SL__IDEMP_FATAL)
        return SL_ERR_NO_ERROR;
    sl__errstr(errstr, errstr_size, "%s", p->idemp.reason);
    return p->idemp.fatal;
}
