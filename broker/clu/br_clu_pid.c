/*
 * br_clu_pid — producer ids unique in the cluster (issue 18), the way Kafka's brokers take
 * them in ZooKeeper mode (ZkProducerIdManager): each broker hands out ids from blocks it
 * reserves in one znode that every broker writes conditionally, so no two brokers ever hold
 * overlapping blocks and an idempotent producer's id names one producer in every partition.
 * See br_clu.h (br_clu_pid_block) for the contract.
 *
 * THE ZNODE: <chroot>/latest_producer_id_block, persistent; its data, Kafka's
 * ProducerIdBlockZNode version 1 (Kafka's tooling and brokers read it):
 *
 *     {"version":1,"broker":2,"block_start":"2000","block_end":"2999"}
 *
 *   version      1; not checked on reading (Kafka does not either)
 *   broker       the broker that reserved the block (for people: nothing acts on it)
 *   block_start  the first id of the last block reserved, a decimal string (Kafka writes its
 *   block_end    Longs as strings here) and its last id: both inclusive, start <= end
 *
 *   No znode, or one with empty data (Kafka creates it empty at start-up): no block was ever
 *   reserved. The document is parsed by br_clu_json_pid_block; anything else in it is an
 *   error (-EIO, logged), never a guess: a broker that cannot read where the last block ended
 *   cannot know where the next may start.
 *
 * TAKING A BLOCK of n ids, on the cluster thread (the coordinator waits on the admin thread):
 *   1. getData: the last block [s, e] and the znode's version V (or none).
 *   2. The next block: first = max(e + 1, floor) (none: max(0, floor)), last = first + n - 1;
 *      e + n past INT64_MAX: -EOVERFLOW (Kafka: "exhausted all producerIds").
 *   3. setData(next, version V); no znode: create(next).
 *   4. BadVersion or NoNode on the set, NodeExists on the create: another broker wrote in
 *      between; again from 1, at most PID_TRIES rounds, then -EAGAIN (the client retries).
 *   Why no overlap: every write that succeeds was made against the version it read, so writes
 *   are totally ordered and each one's block starts after the block of the one before it.
 *   A lost connection during 3 leaves unknown whether the write was applied: the block is not
 *   used (-EAGAIN). If it was, the next round reads it and starts after it: ids are skipped,
 *   never shared (Kafka re-reads and adopts the block when the znode holds exactly it; skipping
 *   is as safe and simpler).
 *   floor: the coordinator passes the end of the ids its own log (st_txnlog) says it handed
 *   out, so a broker that ran alone before joining never hands one of its old ids out again. A
 *   new cluster's znode starts at 0, as Kafka's.
 */
#include <errno.h>
#include <string.h>

#include "br_clu_int.h"
#include "br_log.h"

#define PID_TRIES 16

int br_clu__pid_run(struct br_clu *c, struct clu_req *r)
{
    const int64_t n = r->np;
    for (int round = 0; round < PID_TRIES; round++) {
        char *buf = c->big; /* (the cluster thread's: any size a znode may have) */
        int len = BIG_MAX;
        struct Stat st;
        int rc = zoo_get(c->zh, c->p_pid_block, 0, buf, &len, &st);
        bool exists = rc == ZOK;
        if (rc != ZOK && rc != ZNONODE) {
            br_warn_limited("cluster: cannot read %s: %s", c->p_pid_block, zerror(rc));
            return -EAGAIN;
        }
        int64_t first = r->floor;
        if (exists && len > 0) {
            struct br_clu_pid_block last;
            if (br_clu_json_pid_block(buf, (size_t)len, &last) < 0) {
                br_err_limited("cluster: %s holds no producer-id block this broker can read: "
                               "'%.*s' (%d bytes)",
                               c->p_pid_block, len < 200 ? len : 200, buf, len);
                return -EIO;
            }
            if (last.last > INT64_MAX - n) {
                br_err_limited("cluster: producer ids exhausted (%s ends at %lld)", c->p_pid_block,
                               (long long)last.last);
                return -EOVERFLOW;
            }
            if (last.last + 1 > first)
                first = last.last + 1;
        }
        if (first > INT64_MAX - (n - 1))
            return -EOVERFLOW;
        struct br_clu_pid_block next = {c->conf.broker_id, first, first + n - 1};
        char json[160];
        int jl = br_clu_json_pid_block_enc(json, sizeof json, &next);
        if (jl < 0)
            return -EINVAL;
        struct Stat nst;
        if (exists)
            rc = zoo_set2(c->zh, c->p_pid_block, json, jl, st.version, &nst);
        else
            rc = zoo_create(c->zh, c->p_pid_block, json, jl, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (rc == ZOK) {
            br_info("cluster: producer ids %lld..%lld reserved for this broker (%s, version %d)",
                    (long long)next.first, (long long)next.last, c->p_pid_block,
                    exists ? (int)nst.version : 0);
            r->first = next.first;
            return 0;
        }
        if (rc != ZBADVERSION && rc != ZNONODE && rc != ZNODEEXISTS) {
            br_warn_limited("cluster: cannot write %s: %s", c->p_pid_block, zerror(rc));
            return br_clu__transient(rc) ? -EAGAIN : -EIO;
        }
        br_debug("cluster: %s: another broker reserved a block meanwhile (%s): reading it again",
                 c->p_pid_block, zerror(rc));
    }
    br_warn_limited("cluster: %s: lost the conditional write %d times in a row", c->p_pid_block,
                    PID_TRIES);
    return -EAGAIN;
}

int br_clu_pid_block(struct br_clu *c, int32_t n, int64_t floor, int64_t *first)
{
    if (n < 1 || floor < 0)
        return -EINVAL;
    struct clu_req r = {.kind = REQ_PID, .np = n, .floor = floor, .first = -1};
    int rc = br_clu__submit(c, &r);
    if (rc == 0)
        *first = r.first;
    return rc;
}
