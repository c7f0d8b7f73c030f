/*
 * br_txn — the transaction coordinator (KIP-98) as a state machine: producer ids, the state of
 * every transactional id (Empty, Ongoing, PrepareCommit/Abort, CompleteCommit/Abort), fencing
 * by epoch, the end of a transaction (markers into its partitions, the end of its
 * transactional offset commits), timeouts and expiry. This single broker coordinates every
 * transactional id. Wire codecs and sockets live elsewhere; this module sees decoded requests,
 * answers with Kafka error codes, and acts on partitions and groups only through struct
 * br_txn_ops, so tests drive it with fakes and an injected clock.
 *
 * Contract
 * - Durable: every state change is written to the coordinator's log (storage/st_txnlog.c)
 *   before memory changes and before the answer; the order of the steps of an end is written
 *   out at the top of br_txn.c (ORDER OF AN END) with what a crash between any two leaves.
 * - Threads: every call is thread-safe. Calls that change a transaction may block on the disk
 *   (the log's fdatasync under log.flush.interval.messages=1, the markers' flush): an event
 *   loop should hand them to a worker. br_txn_verify() and br_txn_offset_commit() run the
 *   caller's function under the transaction's locks (see there); ops callbacks run with the
 *   transaction's operation lock held and must not call back into this module.
 * - Errors: answers carry Kafka error codes (kp_api.h), PRODUCER_FENCED included; the API
 *   layer turns it into INVALID_PRODUCER_EPOCH for the request versions that predate it
 *   (Kafka's KafkaApis does the same). Internal calls return 0 / -errno.
 * - Limits: ids of 1..BR_TXN_ID_MAX bytes; the state of all transactional ids together is
 *   bounded by cfg.max_memory_bytes (a new id past it: COORDINATOR_NOT_AVAILABLE, retried by
 *   clients); at most ST_TXNLOG_PARTS_MAX partitions per transaction (INVALID_REQUEST... as
 *   Kafka, whose record would not fit either, answers UNKNOWN_SERVER_ERROR; here
 *   INVALID_REQUEST).
 * - Time: the clock gives wall-clock milliseconds (they are persisted: transaction start,
 *   last update); NULL means br_wall_ms().
 * - A cluster (ops.serves and ops.state_write set; docs/cluster.md "Transactions"): the
 *   coordinator holds only the ids of the __transaction_state partitions this broker leads,
 *   loaded by br_txload.h through br_txn_drop / br_txn_load_rec / br_txn_recover_matching;
 *   every state change is written to the id's partition (state_write) instead of st_txnlog,
 *   which then records only the producer-id blocks; each step of an end is replicated before
 *   the next.
 * - Producer ids: handed out from blocks of cfg.pid_block_size, each recorded durably in the
 *   log before its first id is answered; a restart takes a new block (the rest of the old one
 *   is skipped), so an id is never handed out twice by this coordinator. In a cluster
 *   (ops.pid_block set) the blocks are reserved cluster-wide first, so no two coordinators
 *   hand out the same id either; without them InitProducerId answers COORDINATOR_NOT_AVAILABLE.
 */
#ifndef SPLICELOG_BR_TXN_H
#define SPLICELOG_BR_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "kp_buf.h"

struct st_txnlog;
struct st_txnlog_rec;
struct st_open_txn;
struct br_txns;

#define BR_TXN_ID_MAX 32767

struct br_txn_cfg {
    int32_t max_timeout_ms;   /* transaction.max.timeout.ms (900000) */
    int64_t abort_check_ms;   /* transaction.abort.timed.out.transaction.cleanup.interval.ms
                                 (10000) */
    int64_t id_expiration_ms; /* transactional.id.expiration.ms (604800000) */
    int64_t expire_check_ms;  /* transaction.remove.expired.transaction.cleanup.interval.ms
                                 (3600000) */
    int64_t max_memory_bytes; /* transaction.state.max.memory.bytes (64 MiB; splicelog's) */
    int32_t pid_block_size;   /* producer ids reserved per block (1000, as Kafka) */
};

void br_txn_cfg_default(struct br_txn_cfg *c);

/* The broker's hands: partitions and groups, through the store (tests: fakes). */
struct br_txn_ops {
    /* Appends a COMMIT or ABORT marker to topic-partition. 0; -ENOENT the partition is gone and
     * -ESTALE it knows a newer epoch of this producer (both: skipped, as Kafka drops markers for
     * partitions it cannot write); other -errno: the end stays prepared and is retried by
     * br_txn_tick(). coord_epoch: the coordinator epoch the marker carries (a cluster: the
     * id's __transaction_state partition's leader epoch, from serves; a single node: 0), by
     * which a partition's leader refuses a deposed coordinator's markers. */
    int (*marker)(void *arg, const char *topic, size_t topic_len, int32_t partition, int64_t pid,
                  int16_t epoch, bool commit, int32_t coord_epoch, int64_t now_ms);
    /* Ends the group's transactional offset commits of pid (st_offsets_txn_end); -errno as
     * marker. */
    int (*offsets_end)(void *arg, const char *group, size_t group_len, int64_t pid, int16_t epoch,
                       bool commit, int32_t coord_epoch, int64_t now_ms);
    /* Makes what marker and offsets_end wrote since the last call durable as the flush policy
     * requires (blocks; may be NULL: nothing to wait for). 0 or -errno (retried by the tick). */
    int (*flush)(void *arg);
    /* Whether topic-partition exists (AddPartitionsToTxn, TxnOffsetCommit). */
    bool (*partition_exists)(void *arg, const char *topic, size_t topic_len, int32_t partition);
    /* Tests: called after each step of an end with a growing count (ORDER OF AN END in
     * br_txn.c); NULL in production. */
    void (*step)(void *arg, int n);
    /* Where blocks of producer ids come from. NULL (a single node): from the coordinator's own
     * log, each block starting where the last ended. Set (a cluster: the broker gives
     * ZooKeeper's /latest_producer_id_block, broker/clu/br_clu_pid.c): reserves n ids
     * [*first, *first + n) that no other coordinator of the cluster ever hands out, all
     * >= floor (the end of every block this log recorded); may block (InitProducerId runs off
     * the event loops); 0, or -errno: the request is answered COORDINATOR_NOT_AVAILABLE
     * (retriable) and nothing is handed out. Called with no lock held but the producer-id
     * lock (and a transaction's operation lock). */
    int (*pid_block)(void *arg, int32_t n, int64_t floor, int64_t *first);
    /* A cluster (both set, or both NULL; broker/br_txn_clu.c, docs/cluster.md "Transactions"):
     * serves(id) is what the coordinator answers for a transactional id here: KP_ERR_NONE
     * (this broker leads the id's partition of __transaction_state and has loaded it; then
     * *coord_epoch, when not NULL, is that partition's leader epoch, the coordinator epoch),
     * NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS; InitProducerId (with an id),
     * AddPartitionsToTxn, AddOffsetsToTxn and EndTxn ask it first, the timer skips ids it
     * does not serve, and an end stops between two steps once it is no longer served.
     * state_write(id, r) replaces st_txnlog_put (r NULL: the id's tombstone, expiry): the
     * record is appended to the id's partition and the call returns once it is replicated
     * (0), or -errno: -ETIMEDOUT, -EAGAIN (too few in-sync replicas) and -ENOMEM answer
     * COORDINATOR_NOT_AVAILABLE, any other (-ENOTCONN: not the leader any more)
     * NOT_COORDINATOR; memory is not changed, as after a failed st_txnlog_put. May block
     * (t->op held, nothing else). */
    int16_t (*serves)(void *arg, const char *id, size_t len, int32_t *coord_epoch);
    int (*state_write)(void *arg, const char *id, size_t len, const struct st_txnlog_rec *r);
    void *arg;
};

typedef int64_t (*br_txn_clock_fn)(void *arg);

/*
 * Loads every transactional id from log (opened by the caller, owned by the caller, outlives
 * the coordinator). Transactions found prepared are not finished here: call br_txn_recover().
 */
int br_txn_new(const struct br_txn_cfg *cfg, const struct br_txn_ops *ops, struct st_txnlog *log,
               br_txn_clock_fn clock, void *clock_arg, struct br_txns **out);
/* Stops the timer thread (if started) and frees everything. NULL is a no-op. */
void br_txn_free(struct br_txns *c);

/*
 * Start-up, before clients are let in: finishes every transaction the log shows prepared
 * (its markers written again: a marker already there completes nothing a second time), then
 * returns how many were finished, or -errno when one could not be (the tick retries).
 */
int br_txn_recover(struct br_txns *c);
/*
 * Start-up sweep of one partition's open transactions (st_log_open_txns), for the case the
 * log cannot explain (markers lost to a power loss without fsync): each one whose producer the
 * coordinator holds Ongoing with this partition is left to its timeout; one whose last
 * transaction ended with this partition in it gets that end's marker; any other gets an ABORT
 * with its own epoch. Returns the markers written or -errno.
 */
int br_txn_sweep(struct br_txns *c, const char *topic, size_t topic_len, int32_t partition,
                 const struct st_open_txn *open, int n);

/* ---- a cluster's loads (br_txload.h) ------------------------------------------------------ */

/* What ops.serves answers for id (NONE without the hook: a single node serves every id). */
int16_t br_txn_serves(struct br_txns *c, struct kp_str id);
/* Which ids a call is about: match(arg, id, len); NULL: every id. */
typedef bool (*br_txn_match_fn)(void *arg, const char *id, size_t len);
/* Forgets every matching id (each after the operation under way on it): a partition lost, or
 * one about to be loaded. Returns how many. */
int br_txn_drop(struct br_txns *c, br_txn_match_fn match, void *arg);
/* Makes r the state of r->id (replacing what is held; tombstone: forgets it), as a load
 * replays a partition's records in order. 0 or -ENOMEM. */
int br_txn_load_rec(struct br_txns *c, const struct st_txnlog_rec *r, bool tombstone);
/* br_txn_recover for the matching ids only (a partition just loaded). */
int br_txn_recover_matching(struct br_txns *c, br_txn_match_fn match, void *arg);

/* Runs the timer thread (aborts of timed-out transactions, expiry, retries); 0 or -errno. */
int br_txn_timer_start(struct br_txns *c);
/* Fires what is due at the clock's now; returns the next deadline (wall ms). */
int64_t br_txn_tick(struct br_txns *c);

/* ---- requests -------------------------------------------------------------------------------- */

struct br_txn_init_req {
    struct kp_str txn_id; /* null: an idempotent producer */
    int32_t timeout_ms;
    int64_t producer_id; /* v3+: the producer's current id and epoch, or -1 / -1 */
    int16_t epoch;
};

struct br_txn_init_res {
    int16_t error_code;
    int64_t producer_id;
    int16_t epoch;
};

/* InitProducerId. */
void br_txn_init_producer(struct br_txns *c, const struct br_txn_init_req *req,
                          struct br_txn_init_res *res);

struct br_txn_topic {
    struct kp_str name;
    int32_t n;
    const int32_t *partitions;
};

/*
 * AddPartitionsToTxn v0-3: one error for every partition (errors[i] for the i-th partition in
 * request order, topics flattened), except that unknown partitions get
 * UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, as Kafka answers.
 */
void br_txn_add_partitions(struct br_txns *c, struct kp_str txn_id, int64_t pid, int16_t epoch,
                           const struct br_txn_topic *topics, int32_t n_topics, int16_t *errors);
/* AddOffsetsToTxn. */
int16_t br_txn_add_offsets(struct br_txns *c, struct kp_str txn_id, int64_t pid, int16_t epoch,
                           struct kp_str group_id);
/* EndTxn: answered once the transaction is complete (markers written). */
int16_t br_txn_end(struct br_txns *c, struct kp_str txn_id, int64_t pid, int16_t epoch,
                   bool commit);

/*
 * TxnOffsetCommit: checks the transaction (open, pid, epoch, the group added) and runs
 * write(arg) while holding the transaction's operation lock, so no end can come between the
 * check and the write (the write must not call back into this module). Returns the check's
 * error (write did not run) or NONE (write ran; its own result is the caller's).
 */
int16_t br_txn_offset_commit(struct br_txns *c, struct kp_str txn_id, int64_t pid, int16_t epoch,
                             struct kp_str group_id, int (*write)(void *arg), void *arg);

/*
 * Produce, for a producer's first transactional batch on a partition (storage said -ENOKEY):
 * checks that pid's transaction is open with that partition and this epoch, and runs
 * append(arg) under the transaction's state lock, so no end (whose markers wait for that
 * lock) comes between the check and the append (KIP-890 part 1, without its tokens). NONE
 * (append ran), INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE (no open transaction with that
 * partition), or NOT_ENOUGH_REPLICAS (the transaction is ending: retriable, Kafka's answer).
 */
int16_t br_txn_verify(struct br_txns *c, int64_t pid, int16_t epoch, struct kp_str topic,
                      int32_t partition, int (*append)(void *arg), void *arg);

/* Sizes, for tests and metrics. */
struct br_txn_stats {
    int64_t ids;          /* transactional ids held */
    int64_t ongoing;      /* of them in a transaction */
    int64_t memory_bytes; /* what max_memory_bytes bounds */
    int64_t next_pid;     /* the next producer id to hand out */
    int64_t timed_out;    /* transactions aborted by the timer since start */
    int64_t expired;      /* ids forgotten since start */
};
void br_txn_stats(struct br_txns *c, struct br_txn_stats *s);

/* The state of an id, for tests: Kafka's numbers (Empty 0 .. CompleteAbort 5), -1 unknown. */
int br_txn_state_of(struct br_txns *c, struct kp_str txn_id, int64_t *pid, int16_t *epoch);

#endif
