/*
 * br_clu_fetch — the replica fetcher: the follower side of replication (issue 18 M3,
 * docs/cluster.md "Replication"). For every partition of the cluster's view that this broker
 * holds a replica of and does not lead (its leader live), it fetches from the leader over the
 * Kafka protocol and appends what it gets, unchanged, to its own log.
 *
 * Contract
 * - br_clu_fetch_start() starts conf->threads threads ("replica0".., sl-replicaN for the OS);
 *   leader broker L is served by thread L % threads, over one connection per leader (blocking
 *   connect and sends with timeouts, poll for the answers: a thread never waits on one leader
 *   longer than the connect or request timeout, and no loop thread ever waits on it).
 * - Connections (br_clu_link.h) are PLAINTEXT, or TLS when conf->tls is set (an SSL
 *   inter-broker listener): the handshake is driven in the thread's poll loop, never blocking
 *   it, and must finish within conf->handshake_ms; the leader's certificate is verified (CA,
 *   and its registered endpoint's host unless ssl.endpoint.identification.algorithm is
 *   empty); a failed or late handshake is logged naming the leader broker and the reason and
 *   retried after the backoff, as a lost connection is. Answers are read through the link
 *   (SSL_read for TLS); nothing here touches the consumer side's zero-copy path.
 *   br_clu_fetch_stop() stops and joins them, closes every connection and releases every log;
 *   call it before br_clu_close (the threads read the view). NULL is accepted.
 * - Per leader connection: ApiVersions first, then Fetch v12 (or the highest 9..12 the leader
 *   speaks) with replica_id = conf->broker_id, every partition followed from that leader in
 *   one request, fetch_offset = the log end offset, current_leader_epoch = the view's epoch,
 *   session id 0 / epoch -1 (no fetch sessions), isolation 0.
 * - Becoming follower (a partition enters the set, or its leader or leader epoch changes):
 *   st_log_set_replicated(log, true), then OffsetsForLeaderEpoch (v3+, replica_id) for the
 *   log's latest epoch when the leader speaks it, and st_log_truncate to min(the leader's end
 *   offset, this log's end offset for the epoch returned) (KIP-279); when the leader has no
 *   such API, answers epoch -1, or this log's epoch cache is empty: truncation to the high
 *   watermark, logged as a fallback. Only then fetching starts.
 * - Answers: batches go to st_log_append_replica (CRC checked there), the high watermark to
 *   min(the leader's, the log end offset). NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH,
 *   UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION: that partition waits
 *   replica.fetch.backoff.ms (and for the view to change); a lost connection, a timeout or a
 *   response that does not parse: the connection is closed and opened again after the backoff;
 *   OFFSET_OUT_OF_RANGE below the leader's log start: the replica is emptied and restarted
 *   there (st_log_restart_at), otherwise the divergence is looked for (OffsetsForLeaderEpoch).
 * - Fenced ranges (issue 18 M5; docs/cluster.md "Repair of fenced ranges"): a followed
 *   partition whose log has a fenced range (st_log_fenced_next: looked at when it becomes
 *   followed and whenever st_store_fence_gen moves) gets, on its leader's connection, a Fetch of
 *   that range alone (replica_id, fetch_offset = its first offset, partition_max_bytes = its
 *   bytes, no wait), and the answer's batches that hold exactly the range go to st_log_repair
 *   (in place; checked there: byte length, offsets, CRC, the digest sidecar). One range per
 *   request, between the regular fetches (after a repair, a due regular fetch goes first); each
 * repair is logged (topic-partition, offsets, bytes, the leader) and counted (on_repair); a refusal
 * (of the bytes, or an error answered) is logged (rate-limited) and the range stays fenced, the
 * next range tried meanwhile and this one at the next walk of the ranges, after REPAIR_RETRY_MS.
 * What local facts refuse already is not fetched at all
 * (br_clu_repair_precheck: a range in the active segment until it rolls, looked at again every
 * REPAIR_RETRY_MS; a lasting refusal, such as a range of several batches larger than
 * replica.fetch.response.max.bytes, remembered until the store's fences move or the partition
 * repairs a range). The repair Fetch's client_id is "splicelog-repair-<id>" (the other
 * requests' "splicelog-replica-<id>"): the leader serves it without taking its offset for
 * this follower's log end (br_clu_repl.h, br_repl_is_repair_fetch).
 * - A leader's own fenced ranges: thread 0 lists, whenever the view or st_store_fence_gen
 *   moves, the partitions this broker leads (replication factor > 1) whose log has a fenced
 *   range, each with an in-sync follower (the first of the view's ISR other than itself; none:
 *   not repaired, logged; one that refuses, by an error, bytes that are refused or no answer:
 *   the next one of the ISR, logged (rate-limited), the turn kept across view changes of the
 *   same leadership; an error once the turn has gone round: the next range meanwhile, as a
 *   follower does; a peer whose connection failed is not dialled again before its backoff
 *   ends, even when the turn comes back to it sooner),
 *   keeps a connection to it, and sends it the same Fetch (replica_id
 *   its own, current_leader_epoch the view's), which that follower serves below its high
 *   watermark (br_api_fetch.c); the answer goes to st_log_repair as above. The follower's
 *   state is not touched by that Fetch. Cost: each view change looks at the segment list of
 *   every partition led here (in memory; a dormant log is opened only when its record counts
 *   fenced ranges).
 * - Compacted logs: a leader's cleaned batches (fewer records than offsets, or none) are
 *   appended as they are; a log end inside one of the leader's empty batches (its cleaner
 *   merges a run of removed batches into one) continues with that batch's tail
 *   (br_clu_fetch_batches), so a follower that was down while its leader cleaned catches up.
 * - Bounds: each partition asks replica.fetch.max.bytes, the request
 *   replica.fetch.response.max.bytes; a response frame above that plus 2 x the partition bound
 *   and 64 KiB closes the connection. Every length of an answer is checked (proto's decoders,
 *   br_clu_fetch_batches): a broken or hostile leader cannot make the follower read outside
 *   what it received.
 * - Errors: 0 or -errno.
 */
#ifndef SPLICELOG_BR_CLU_FETCH_H
#define SPLICELOG_BR_CLU_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "br_clu.h"
#include "kp_buf.h"
#include "kp_msg.h"
#include "st.h"

struct br_clu_fetch;
struct br_clu_tls;
struct st_store;

struct br_clu_fetch_conf {
    int32_t broker_id;
    char listener[32];      /* inter.broker.listener.name: the endpoint fetched from */
    int threads;            /* num.replica.fetchers */
    int32_t partition_max;  /* replica.fetch.max.bytes */
    int32_t response_max;   /* replica.fetch.response.max.bytes */
    int32_t wait_max_ms;    /* replica.fetch.wait.max.ms */
    int32_t min_bytes;      /* replica.fetch.min.bytes */
    int64_t backoff_ms;     /* replica.fetch.backoff.ms */
    struct br_clu *clu;     /* the view */
    struct st_store *store; /* the logs */
    /* an SSL inter-broker listener: the client context every connection uses (br_clu_link.h;
     * the caller's, outliving the fetchers), and ssl.handshake.timeout.ms; NULL: PLAINTEXT */
    struct br_clu_tls *tls;
    int64_t handshake_ms;
    /* called (from a fetcher thread) after each fenced range repaired, with its bytes; NULL:
     * none */
    void (*on_repair)(void *arg, int64_t bytes);
    void *on_repair_arg;
};

/*
 * What a partition's repair scheduler knows without asking anyone (one per partition, fixed
 * size): the refusals that no other replica's bytes can change while the log's fences and
 * segments stay as they are (st_log_repair's -EXDEV: a compacted topic's chunk shared with
 * another fenced range (not -EINPROGRESS, its segment's sidecar not written yet: asked again);
 * -EOPNOTSUPP: a transaction's batches; -EFBIG: a range of several batches larger than one answer,
 * which brought its first batch only), per (segment base, first offset, byte range). At most
 * BR_CLU_REFUSED_MAX are kept: when full, a new one is not (those beyond are fetched again at each
 * walk, as before; replacing the oldest instead would, under the scheduler's walk in offset order,
 * evict the next range's entry at every refusal and fetch them all). Not told before a Fetch: a
 * range larger than replica.fetch.response.max.bytes may be one batch, which the leader sends whole
 * (KIP-74) and is repaired; the follower cannot read the batches of its own fenced bytes.
 */
#define BR_CLU_REFUSED_MAX 4
struct br_clu_repair_memo {
    struct {
        int64_t seg_base, off_lo, pos_lo, pos_hi;
        int rc;
    } r[BR_CLU_REFUSED_MAX];
    int n;
};
/* Whether a Fetch of fenced range fr would be refused whatever comes back: -EAGAIN (its segment
 * is the active one: st_log_repair waits for the roll), or the refusal remembered for it; 0:
 * worth a Fetch. Pure. */
int br_clu_repair_precheck(const struct br_clu_repair_memo *m, const struct st_fenced_range *fr);
/* rc, st_log_repair's refusal of fr: remembered when it is one of the lasting ones above and
 * the table has room (true). */
bool br_clu_repair_remember(struct br_clu_repair_memo *m, const struct st_fenced_range *fr, int rc);
/* Everything forgotten: the log's fences moved (st_store_fence_gen) or a range was repaired. */
void br_clu_repair_forget(struct br_clu_repair_memo *m);
/*
 * What the answer to a repair Fetch of fenced range fr holds: rec, len, the partition's records
 * as sent (NULL, 0: none); hw, the answer's high watermark (-1: unknown); response_max, the most
 * the Fetch asked for (replica.fetch.response.max.bytes). 0 and *take, the bytes of its whole
 * batches from the first up to the one holding fr->off_hi - 1, for st_log_repair (which checks
 * them all); else no attempt: -ENODATA (no bytes, or the other replica's high watermark below
 * the range's end: nothing it may send yet, so not a fact about the range), -EFBIG (batches
 * stopping short of a range larger than response_max: one answer cannot hold it, lasting),
 * -EBADMSG (bytes stopping short otherwise, or a header whose last offset + 1 is not an int64:
 * malformed). Pure; the headers are parsed within len.
 */
int br_clu_repair_answer(const uint8_t *rec, size_t len, int64_t hw,
                         const struct st_fenced_range *fr, int32_t response_max, size_t *take);

int br_clu_fetch_start(const struct br_clu_fetch_conf *conf, struct br_clu_fetch **out);
void br_clu_fetch_stop(struct br_clu_fetch *f);

/*
 * The records of one partition of a Fetch answer, split into whole batches for
 * st_log_append_replica: batches whose last offset is below from are skipped (already held),
 * then up to max batches go into iov (pointing into rec). A partial batch at the end is left
 * out (its rest comes with the next fetch). *used: the bytes of rec walked (skipped and
 * taken). Returns the number taken (0..max), -EBADMSG (a header that cannot be a batch: magic
 * not 2, batchLength below 49 or above what a batch may be, offsets not increasing), -ERANGE
 * (a batch holding from but starting below it: the logs diverge). One exception: a first
 * batch holding from that is empty (recordCount 0: the leader's cleaner merged a run of
 * removed batches, st_clean.c) is taken as its tail from `from` on, built in empty
 * (KP_BATCH_HEADER_LEN bytes; kp_batch_empty_tail), so a follower that was behind its
 * leader's cleaning goes on instead of stopping there; empty NULL: -ERANGE as above. The
 * replica then differs from its leader in that batch's bytes, not in any record. Pure; no
 * allocation.
 */
int br_clu_fetch_batches(uint8_t *rec, size_t len, int64_t from, struct iovec *iov, int max,
                         size_t *used, uint8_t *empty);
/*
 * A Fetch response frame body (after the int32 size) of the given version: checks the
 * correlation id (-EPROTO when it is not corr) and decodes it into *out with arena (records
 * are views into body). 0, -EBADMSG (short, malformed or trailing bytes), -ENOMEM (arena too
 * small: more topics or partitions than asked), -EPROTO.
 */
int br_clu_fetch_decode(const uint8_t *body, size_t len, int16_t version, int32_t corr,
                        struct kp_arena *arena, struct kp_fetch_resp *out);

#endif
