/*
 * br_clu_fetch — the replica fetcher (br_clu_fetch.h, docs/cluster.md "Replication").
 *
 * Each thread keeps
 *   parts  the partitions it follows (leader % threads == its index), rebuilt from the view
 *          whenever br_clu_view_gen moves: one whose leader, leader epoch and log (the store's
 *          for its name: not one deleted since) are unchanged keeps its state, one that is new
 *          or changed starts over (becoming follower), one that left is released;
 *   sess   one per leader broker of those partitions: a connection with at most one request
 *          in flight (ApiVersions, OffsetsForLeaderEpoch or Fetch).
 * A turn: open what is due (blocking connect, at most CONNECT_MS), send on every idle
 * connection what is due (truncation queries first, then a Fetch), then poll the busy ones
 * for at most TICK_MS and handle every complete answer. Sends are blocking with a timeout
 * (requests are small); answers are read as they come, into a buffer grown up to the bound.
 * A partition stamped with the leader and epoch of the request it is in takes the answer
 * only while both still hold, so an answer that crosses a view change is dropped.
 */
#include "br_clu_fetch.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "br_clu_link.h"
#include "br_clu_repl.h"
#include "br_log.h"
#include "kp_batch.h"
#include "kp_msg_cluster.h"
#include "st.h"

#define CONNECT_MS      3000
#define IO_MS           5000 /* a send, or an answer beyond the fetch's own wait */
#define TICK_MS         100
#define REQ_PARTS_MAX   1000 /* partitions in one request */
#define TX_MAX          (16 << 20)
#define RX_FIRST        (64 << 10)
#define REPAIR_RETRY_MS 10000 /* a fenced range not repaired: tried again after this */
#define PEER_WAITS      16    /* peers whose backoff outlives their session (peer_wait) */

enum { P_TRUNCATE = 0, P_FETCH = 1 };
enum { S_DOWN = 0, S_HANDSHAKE, S_IDLE, S_APIV, S_OFLE, S_FETCH, S_REPAIR };

/* Kafka's error codes this file acts on (kp_api.h has them all). */
#define E_NONE          0
#define E_OUT_OF_RANGE  1
#define E_UNKNOWN_TOPIC 3
#define E_NOT_LEADER    6
#define E_FENCED_EPOCH  74
#define E_UNKNOWN_EPOCH 75
#define TOPIC_MAX       256

struct fpart {
    char topic[TOPIC_MAX];
    int32_t partition;
    int32_t leader, leader_epoch;
    struct st_log *log;
    int state;
    int64_t retry_at;                /* monotonic ms */
    int32_t sent_leader, sent_epoch; /* the request it is in (sent_leader -1: none) */
    bool warned_nosys;
    int64_t repair_at;   /* when to look for a fenced range to repair (0: now; INT64_MAX: not
                            until the store fences something again) */
    int64_t repair_from; /* look for ranges ending above this offset (past ones refused) */
    int32_t target;      /* a partition led here (lparts): the in-sync follower asked; else -1 */
    struct br_clu_replicas peers; /* lparts: the view's ISR but this broker, in its order */
    int32_t turn; /* lparts: target = peers.id[turn % peers.n]; moved on at each refusal */
    struct br_clu_repair_memo memo; /* lasting refusals (br_clu_repair_precheck) */
};

struct fsess {
    int32_t leader;
    struct br_clu_link *link;    /* NULL: down */
    char peer[BR_HOST_MAX + 16]; /* host:port of link, for log lines */
    int phase;
    int64_t deadline, retry_at;
    int16_t fetch_v, ofle_v; /* ofle_v -1: the leader has no OffsetsForLeaderEpoch v3+ */
    int32_t corr;
    uint8_t *rx, *tx;
    size_t rx_cap, rx_have, tx_cap;
    bool ready; /* ApiVersions answered */
    /* the repair fetch in flight (S_REPAIR): its partition and range */
    char rp_topic[TOPIC_MAX];
    int32_t rp_partition, rp_epoch;
    int64_t rp_start; /* the log start offset sent */
    struct st_fenced_range rp;
    bool rp_led;        /* for a partition led here (lparts), asked of a follower */
    bool repaired_last; /* the last request was a repair: a due fetch goes next */
};

struct fthread {
    struct br_clu_fetch *f;
    int idx;
    bool resync; /* a led partition moved to another follower: sessions follow (fetch_main) */
    pthread_t th;
    bool started;
    uint64_t gen;
    bool have_gen;
    uint64_t fence_gen; /* st_store_fence_gen when the partitions last looked for ranges */
    int64_t rescan_at;
    struct fpart *parts;
    int nparts, cap_parts;
    struct fpart *lparts; /* thread 0: partitions led here with a fenced range (rebuild_led) */
    int nlparts;
    struct fsess *sess;
    int nsess;
    /* the backoffs of the last PEER_WAITS peers whose connection failed: a session made for
     * one again (a led partition's target moved away and back, sync_sessions) waits as the
     * freed one would have */
    struct {
        int32_t id;
        int64_t until; /* monotonic ms; 0: none */
    } waits[PEER_WAITS];
    /* request building and answer decoding, sized at each rebuild */
    struct kp_fetch_req_topic *rt;
    struct kp_fetch_req_partition *rp;
    struct kp_offset_for_leader_epoch_req_topic *ot;
    struct kp_offset_for_leader_epoch_req_partition *op;
    uint8_t *arena;
    size_t arena_cap;
};

struct br_clu_fetch {
    struct br_clu_fetch_conf conf;
    atomic_bool stop;
    size_t rx_max;
    char client_id[48];
    char repair_id[48]; /* the client_id of repair fetches (br_repl_is_repair_fetch) */
    struct fthread *t;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct fpart *find_part(struct fpart *parts, int n, const char *topic, int32_t p);
static int on_repair(struct fthread *t, struct fsess *s);
static const char *repair_why(int rc);

/* ---- pure parts: batches and answers ----------------------------------------------------------
 */

int br_clu_fetch_batches(uint8_t *rec, size_t len, int64_t from, struct iovec *iov, int max,
                         size_t *used, uint8_t *empty)
{
    size_t at = 0;
    int n = 0;
    int64_t prev_last = INT64_MIN;
    *used = 0;
    while (n < max && len - at >= KP_BATCH_HEADER_LEN) {
        struct kp_batch_hdr h;
        if (kp_batch_parse_hdr(rec + at, len - at, &h) < 0)
            return -EBADMSG;
        if (h.batch_length > INT32_MAX - KP_BATCH_LOG_OVERHEAD || h.last_offset_delta < 0 ||
            h.base_offset < 0 || h.base_offset > INT64_MAX - h.last_offset_delta ||
            h.base_offset <= prev_last)
            return -EBADMSG;
        size_t size = kp_batch_size(&h);
        if (size > len - at)
            break; /* partial: the rest comes next time */
        int64_t last = h.base_offset + h.last_offset_delta;
        prev_last = last;
        if (last < from) {
            at += size; /* held already */
            continue;
        }
        if (h.base_offset < from) {
            if (n > 0 || h.record_count != 0 || !empty)
                return -ERANGE;
            /* the leader's cleaner merged the removed batches around this log's end into
             * one empty batch: its part from here on, with nothing lost (it has no records) */
            kp_batch_empty_tail(empty, rec + at, &h, from);
            iov[n].iov_base = empty;
            iov[n].iov_len = KP_BATCH_HEADER_LEN;
        } else {
            iov[n].iov_base = rec + at;
            iov[n].iov_len = size;
        }
        n++;
        at += size;
    }
    *used = at;
    return n;
}

int br_clu_fetch_decode(const uint8_t *body, size_t len, int16_t version, int32_t corr,
                        struct kp_arena *arena, struct kp_fetch_resp *out)
{
    struct kp_rd rd;
    kp_rd_init(&rd, body, len);
    int32_t got = 0;
    if (kp_resp_hdr_decode(&rd, KP_API_FETCH, version, &got) < 0)
        return -EBADMSG;
    if (got != corr)
        return -EPROTO;
    kp_arena_reset(arena);
    return kp_fetch_resp_decode(&rd, version, arena, out);
}

int br_clu_repair_precheck(const struct br_clu_repair_memo *m, const struct st_fenced_range *fr)
{
    if (!fr->sealed)
        return -EAGAIN;
    for (int i = 0; i < m->n; i++)
        if (m->r[i].seg_base == fr->seg_base && m->r[i].off_lo == fr->off_lo &&
            m->r[i].pos_lo == fr->pos_lo && m->r[i].pos_hi == fr->pos_hi)
            return m->r[i].rc;
    return 0;
}

bool br_clu_repair_remember(struct br_clu_repair_memo *m, const struct st_fenced_range *fr, int rc)
{
    if (rc != -EXDEV && rc != -EOPNOTSUPP && rc != -EFBIG)
        return false;
    /* full: what it holds stays (a walk in offset order replacing the oldest would evict the
     * next range's entry at every refusal, and fetch every range at every walk) */
    if (m->n >= BR_CLU_REFUSED_MAX)
        return false;
    m->r[m->n].seg_base = fr->seg_base;
    m->r[m->n].off_lo = fr->off_lo;
    m->r[m->n].pos_lo = fr->pos_lo;
    m->r[m->n].pos_hi = fr->pos_hi;
    m->r[m->n].rc = rc;
    m->n++;
    return true;
}

void br_clu_repair_forget(struct br_clu_repair_memo *m) { m->n = 0; }

int br_clu_repair_answer(const uint8_t *rec, size_t len, int64_t hw,
                         const struct st_fenced_range *fr, int32_t response_max, size_t *take)
{
    size_t at = 0;
    int64_t next = fr->off_lo;
    *take = 0;
    while (rec && next < fr->off_hi && len - at >= KP_BATCH_HEADER_LEN) {
        struct kp_batch_hdr h;
        if (kp_batch_parse_hdr(rec + at, len - at, &h) < 0 || h.last_offset_delta < 0 ||
            kp_batch_size(&h) > len - at)
            break;
        /* (the other replica's header: its last offset + 1 must be an int64) */
        if (h.base_offset < 0 || h.base_offset > INT64_MAX - 1 - h.last_offset_delta)
            return -EBADMSG;
        at += kp_batch_size(&h);
        next = h.base_offset + h.last_offset_delta + 1;
    }
    if (next >= fr->off_hi && at > 0) {
        *take = at;
        return 0;
    }
    /* nothing, or the other replica does not hold the whole range below its high watermark
     * yet: not a fact about the range (tried again) */
    if (!rec || len == 0 || (hw >= 0 && hw < fr->off_hi))
        return -ENODATA;
    if (fr->pos_hi - fr->pos_lo > response_max)
        return -EFBIG; /* (asked for at most response_max bytes) */
    return -EBADMSG;
}

/* ---- connections ------------------------------------------------------------------------------
 */

/* Peer is not dialled before until, whether or not its session is kept (the slot of the
 * peer, else the one that ends first). */
static void peer_wait(struct fthread *t, int32_t peer, int64_t until)
{
    int slot = 0;
    for (int i = 0; i < PEER_WAITS; i++) {
        if (t->waits[i].id == peer && t->waits[i].until > 0) {
            slot = i;
            break;
        }
        if (t->waits[i].until < t->waits[slot].until)
            slot = i;
    }
    t->waits[slot].id = peer;
    t->waits[slot].until = until;
}

/* When a session made now for peer may dial it (0: at once). */
static int64_t peer_wait_until(const struct fthread *t, int32_t peer)
{
    for (int i = 0; i < PEER_WAITS; i++)
        if (t->waits[i].id == peer && t->waits[i].until > 0)
            return t->waits[i].until;
    return 0;
}

static void sess_close(struct fthread *t, struct fsess *s, bool backoff)
{
    br_clu_link_close(s->link);
    s->link = NULL;
    s->phase = S_DOWN;
    s->ready = false;
    s->rx_have = 0;
    s->retry_at = backoff ? mono_ms() + t->f->conf.backoff_ms : 0;
    if (backoff)
        peer_wait(t, s->leader, s->retry_at);
    for (int i = 0; i < t->nparts; i++)
        if (t->parts[i].sent_leader == s->leader)
            t->parts[i].sent_leader = -1;
}

/* The leader's endpoint of the inter-broker listener: 0, -ENOENT (not live, or no such
 * listener). */
static int leader_endpoint(struct br_clu_fetch *f, int32_t id, char *host, size_t hcap, int *port)
{
    struct br_clu_node nodes[64];
    int n = br_clu_nodes(f->conf.clu, f->conf.listener, nodes, 64);
    for (int i = 0; i < n && i < 64; i++)
        if (nodes[i].id == id) {
            snprintf(host, hcap, "%s", nodes[i].host);
            *port = nodes[i].port;
            return 0;
        }
    return -ENOENT;
}

/* A blocking connect of at most CONNECT_MS, IO_MS bounding each later send; a TLS link's
 * handshake is still to be driven (S_HANDSHAKE). 0 or -errno. */
static int dial(struct br_clu_fetch *f, const char *host, int port, struct br_clu_link **out)
{
    int rc = br_clu_link_open(f->conf.tls, host, port, CONNECT_MS, out);
    if (rc == 0)
        br_clu_link_timeouts(*out, IO_MS);
    return rc;
}

/* What a request body writer gets: the thread, the session and the version. */
typedef int (*body_fn)(struct fthread *t, struct fsess *s, struct kp_wr *wr, int16_t version);

/* Frames and sends one request (growing the session's buffer when it does not fit); the
 * session then waits for its answer (phase, deadline). 0 or -errno (the caller closes). */
static int request(struct fthread *t, struct fsess *s, int16_t key, int16_t version, body_fn body,
                   int phase, int64_t wait_ms)
{
    for (;;) {
        if (!s->tx) {
            s->tx_cap = 4096;
            s->tx = malloc(s->tx_cap);
            if (!s->tx)
                return -ENOMEM;
        }
        struct kp_wr wr;
        kp_wr_init(&wr, s->tx, s->tx_cap);
        size_t pos = kp_frame_begin(&wr);
        /* (a repair fetch says so in its client_id: its leader does not take its offset for
         * this broker's log end, br_clu_repl.h) */
        const char *cid = phase == S_REPAIR ? t->f->repair_id : t->f->client_id;
        struct kp_req_hdr h = {key, version, ++s->corr, kp_str_of(cid)};
        kp_req_hdr_encode(&wr, &h);
        int rc = wr.err ? wr.err : body(t, s, &wr, version);
        if (rc == 0)
            rc = kp_frame_end(&wr, pos);
        if (rc == -ENOSPC && s->tx_cap < TX_MAX) {
            uint8_t *nb = realloc(s->tx, s->tx_cap * 2);
            if (!nb)
                return -ENOMEM;
            s->tx = nb;
            s->tx_cap *= 2;
            continue;
        }
        if (rc < 0)
            return rc;
        rc = br_clu_link_send(s->link, s->tx, kp_wr_len(&wr));
        if (rc < 0)
            return rc;
        s->phase = phase;
        s->rx_have = 0;
        s->deadline = mono_ms() + wait_ms + IO_MS;
        return 0;
    }
}

static int apiv_body(struct fthread *t, struct fsess *s, struct kp_wr *wr, int16_t version)
{
    (void)t, (void)s;
    struct kp_api_versions_req req = {kp_str_of("splicelog-replica"), kp_str_of("1")};
    return kp_api_versions_req_encode(wr, version, &req);
}

/* Whether partition pt is due for a request of kind state to leader s. */
static bool due(const struct fpart *pt, const struct fsess *s, int state, int64_t now)
{
    return pt->leader == s->leader && pt->state == state && pt->log && pt->sent_leader < 0 &&
           pt->retry_at <= now;
}

/* The partitions of the request being built, grouped by topic (parts are sorted by topic). */
static int fetch_body(struct fthread *t, struct fsess *s, struct kp_wr *wr, int16_t version)
{
    const struct br_clu_fetch_conf *c = &t->f->conf;
    int64_t now = mono_ms();
    int nt = 0, np = 0;
    for (int i = 0; i < t->nparts && np < REQ_PARTS_MAX; i++) {
        struct fpart *pt = &t->parts[i];
        if (!due(pt, s, P_FETCH, now))
            continue;
        if (nt == 0 || strcmp(t->rt[nt - 1].topic.ptr, pt->topic) != 0)
            t->rt[nt++] = (struct kp_fetch_req_topic){
                .topic = kp_str_of(pt->topic), .n_partitions = 0, .partitions = &t->rp[np]};
        t->rp[np++] = (struct kp_fetch_req_partition){
            .partition = pt->partition,
            .current_leader_epoch = pt->leader_epoch,
            .fetch_offset = st_log_end_offset(pt->log),
            .log_start_offset = st_log_start_offset(pt->log),
            .partition_max_bytes = c->partition_max,
            .last_fetched_epoch = -1,
        };
        t->rt[nt - 1].n_partitions++;
    }
    struct kp_fetch_req req = {
        .replica_id = c->broker_id,
        .max_wait_ms = c->wait_max_ms,
        .min_bytes = c->min_bytes,
        .max_bytes = c->response_max,
        .isolation_level = 0,
        .session_id = 0,
        .session_epoch = -1,
        .n_topics = nt,
        .topics = t->rt,
        .rack_id = kp_str_of(""),
        .cluster_id = KP_STR_NULL,
    };
    return kp_fetch_req_encode(wr, version, &req);
}

static int ofle_body(struct fthread *t, struct fsess *s, struct kp_wr *wr, int16_t version)
{
    int64_t now = mono_ms();
    int nt = 0, np = 0;
    for (int i = 0; i < t->nparts && np < REQ_PARTS_MAX; i++) {
        struct fpart *pt = &t->parts[i];
        if (!due(pt, s, P_TRUNCATE, now))
            continue;
        if (nt == 0 || strcmp(t->ot[nt - 1].topic.ptr, pt->topic) != 0)
            t->ot[nt++] = (struct kp_offset_for_leader_epoch_req_topic){
                .topic = kp_str_of(pt->topic), .n_partitions = 0, .partitions = &t->op[np]};
        t->op[np++] = (struct kp_offset_for_leader_epoch_req_partition){
            .partition = pt->partition,
            .current_leader_epoch = pt->leader_epoch,
            .leader_epoch = st_log_latest_epoch(pt->log),
        };
        t->ot[nt - 1].n_partitions++;
    }
    struct kp_offset_for_leader_epoch_req req = {
        .replica_id = t->f->conf.broker_id, .n_topics = nt, .topics = t->ot};
    return kp_offset_for_leader_epoch_req_encode(wr, version, &req);
}

/* Marks the partitions due of kind state as in this session's request. */
static int mark_sent(struct fthread *t, struct fsess *s, int state)
{
    int64_t now = mono_ms();
    int n = 0;
    for (int i = 0; i < t->nparts && n < REQ_PARTS_MAX; i++) {
        struct fpart *pt = &t->parts[i];
        if (!due(pt, s, state, now))
            continue;
        pt->sent_leader = s->leader;
        pt->sent_epoch = pt->leader_epoch;
        n++;
    }
    return n;
}

/* The partition of this thread named (topic, p) that is in s's request, or NULL. */
static struct fpart *answered(struct fthread *t, struct fsess *s, struct kp_str topic, int32_t p)
{
    for (int i = 0; i < t->nparts; i++) {
        struct fpart *pt = &t->parts[i];
        if (pt->partition == p && pt->sent_leader == s->leader &&
            pt->sent_epoch == pt->leader_epoch && pt->leader == s->leader &&
            kp_str_eq(topic, pt->topic))
            return pt;
    }
    return NULL;
}

/* ---- becoming follower: truncation ------------------------------------------------------------
 */

static void truncate_to(struct fthread *t, struct fpart *pt, int64_t off, const char *why)
{
    int64_t leo = st_log_end_offset(pt->log);
    if (off < 0 || off >= leo) {
        br_info("replica: %s-%d: follower of broker %d (leader epoch %d) from offset %lld, "
                "nothing to truncate (%s)",
                pt->topic, (int)pt->partition, (int)pt->leader, (int)pt->leader_epoch,
                (long long)leo, why);
        pt->state = P_FETCH;
        return;
    }
    int rc = st_log_truncate(pt->log, off);
    if (rc == -ENOSYS) {
        if (!pt->warned_nosys)
            br_warn("replica: %s-%d: the storage cannot truncate yet: fetching from %lld "
                    "without truncating to %lld (%s)",
                    pt->topic, (int)pt->partition, (long long)leo, (long long)off, why);
        pt->warned_nosys = true;
        pt->state = P_FETCH;
        return;
    }
    if (rc < 0) {
        br_err_limited("replica: %s-%d: cannot truncate to %lld: %s (retrying)", pt->topic,
                       (int)pt->partition, (long long)off, strerror(-rc));
        pt->retry_at = mono_ms() + t->f->conf.backoff_ms;
        return;
    }
    br_info("replica: %s-%d: follower of broker %d (leader epoch %d): truncated from %lld to "
            "%lld (%s)",
            pt->topic, (int)pt->partition, (int)pt->leader, (int)pt->leader_epoch, (long long)leo,
            (long long)st_log_end_offset(pt->log), why);
    pt->state = P_FETCH;
}

static void truncate_to_hw(struct fthread *t, struct fpart *pt, const char *why)
{
    char w[160];
    snprintf(w, sizeof w, "fallback to the high watermark: %s", why);
    truncate_to(t, pt, st_log_high_watermark(pt->log), w);
}

/* OffsetsForLeaderEpoch's answer for one partition (KIP-279). */
static void on_epoch_end(struct fthread *t, struct fpart *pt,
                         const struct kp_offset_for_leader_epoch_resp_partition *r)
{
    if (r->error_code != E_NONE) {
        br_warn_limited("replica: %s-%d: OffsetsForLeaderEpoch from broker %d: error %d "
                        "(retrying after the backoff)",
                        pt->topic, (int)pt->partition, (int)pt->leader, (int)r->error_code);
        pt->retry_at = mono_ms() + t->f->conf.backoff_ms;
        return;
    }
    if (r->leader_epoch < 0 || r->end_offset < 0) {
        truncate_to_hw(t, pt, "the leader knows no epoch at or below ours");
        return;
    }
    int32_t oe = -1;
    int64_t own = -1;
    (void)st_log_epoch_end_offset(pt->log, r->leader_epoch, &oe, &own);
    int64_t to = r->end_offset;
    if (oe >= 0 && own >= 0 && own < to)
        to = own;
    char why[160];
    snprintf(why, sizeof why, "leader's epoch %d ends at %lld, ours%s at %lld",
             (int)r->leader_epoch, (long long)r->end_offset,
             oe >= 0 && oe != r->leader_epoch ? " (an older epoch)" : "", (long long)own);
    int64_t before = st_log_end_offset(pt->log);
    truncate_to(t, pt, to, why);
    /* This log does not have the leader's epoch: the cut removed every epoch above the one it
     * has, so the next question (its latest epoch, now lower) may find the divergence further
     * down (Kafka's truncation in rounds). Only after a cut: each round then shortens the log,
     * so a leader answering nonsense cannot keep it asking. */
    if (pt->state == P_FETCH && oe >= 0 && oe != r->leader_epoch &&
        st_log_end_offset(pt->log) < before)
        pt->state = P_TRUNCATE;
}

/* The partitions of s's request that its answer left out are asked again. */
static void unsend(struct fthread *t, struct fsess *s)
{
    for (int i = 0; i < t->nparts; i++)
        if (t->parts[i].sent_leader == s->leader)
            t->parts[i].sent_leader = -1;
}

static int on_ofle(struct fthread *t, struct fsess *s, struct kp_rd *rd)
{
    struct kp_arena a;
    kp_arena_init(&a, t->arena, t->arena_cap);
    struct kp_offset_for_leader_epoch_resp resp;
    int rc = kp_offset_for_leader_epoch_resp_decode(rd, s->ofle_v, &a, &resp);
    if (rc < 0)
        return rc;
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const struct kp_offset_for_leader_epoch_resp_topic *rt = &resp.topics[i];
        for (int32_t j = 0; j < rt->n_partitions; j++) {
            const struct kp_offset_for_leader_epoch_resp_partition *r = &rt->partitions[j];
            struct fpart *pt = answered(t, s, rt->topic, r->partition);
            if (!pt || pt->state != P_TRUNCATE)
                continue;
            pt->sent_leader = -1;
            on_epoch_end(t, pt, r);
        }
    }
    unsend(t, s);
    return 0;
}

/* ---- fetching ---------------------------------------------------------------------------------
 */

static void part_backoff(struct fthread *t, struct fpart *pt)
{
    pt->retry_at = mono_ms() + t->f->conf.backoff_ms;
}

/* Appends one partition's records; false when it must back off. */
static bool append_records(struct fthread *t, struct fpart *pt, struct kp_bytes rec, uint8_t *buf,
                           size_t buflen)
{
    uint8_t *p = kp_bytes_mut(rec, buf, buflen);
    size_t left = rec.len > 0 ? (size_t)rec.len : 0;
    static __thread struct iovec iov[ST_APPEND_MAX_BATCHES];
    static __thread uint8_t empty[KP_BATCH_HEADER_LEN];
    while (p && left) {
        size_t used = 0;
        int n = br_clu_fetch_batches(p, left, st_log_end_offset(pt->log), iov,
                                     ST_APPEND_MAX_BATCHES, &used, empty);
        if (n < 0) {
            br_warn_limited("replica: %s-%d: broker %d sent records that %s (backing off)",
                            pt->topic, (int)pt->partition, (int)pt->leader,
                            n == -ERANGE ? "start inside a batch: the logs diverge"
                                         : "do not parse as batches");
            if (n == -ERANGE)
                pt->state = P_TRUNCATE;
            return false;
        }
        if (n == 0)
            return true;
        struct st_append_result res;
        int rc = st_log_append_replica(pt->log, iov, n, wall_ms(), &res);
        if (rc < 0) {
            if (rc != -ENOSYS || !pt->warned_nosys)
                br_warn_limited("replica: %s-%d: cannot append %d batch(es) at %lld from broker "
                                "%d: %s (backing off)",
                                pt->topic, (int)pt->partition, n,
                                (long long)st_log_end_offset(pt->log), (int)pt->leader,
                                strerror(-rc));
            if (rc == -ENOSYS)
                pt->warned_nosys = true;
            return false;
        }
        p += used;
        left -= used;
    }
    return true;
}

static void on_fetch_part(struct fthread *t, struct fsess *s, struct fpart *pt,
                          const struct kp_fetch_resp_partition *r)
{
    (void)s;
    switch (r->error_code) {
    case E_NONE:
        break;
    case E_NOT_LEADER:
    case E_FENCED_EPOCH:
    case E_UNKNOWN_EPOCH:
    case E_UNKNOWN_TOPIC:
        br_info_limited("replica: %s-%d: broker %d answers error %d for leader epoch %d: "
                        "waiting for the view to change",
                        pt->topic, (int)pt->partition, (int)pt->leader, (int)r->error_code,
                        (int)pt->leader_epoch);
        part_backoff(t, pt);
        return;
    case E_OUT_OF_RANGE: {
        /* Kafka's follower: below the leader's log start, start again there (the leader's
         * retention deleted what this replica lacks); above the leader's end, find the
         * divergence with OffsetsForLeaderEpoch and cut there */
        int64_t end = st_log_end_offset(pt->log);
        if (r->log_start_offset > end) {
            int rc = st_log_restart_at(pt->log, r->log_start_offset);
            br_warn("replica: %s-%d: offset %lld is below broker %d's log start %lld: "
                    "replica emptied and restarted there%s%s",
                    pt->topic, (int)pt->partition, (long long)end, (int)pt->leader,
                    (long long)r->log_start_offset, rc < 0 ? ": failed: " : "",
                    rc < 0 ? strerror(-rc) : "");
            if (rc < 0)
                part_backoff(t, pt);
            return;
        }
        br_warn_limited("replica: %s-%d: offset %lld out of range at broker %d (its log "
                        "starts at %lld, high watermark %lld): looking for the divergence",
                        pt->topic, (int)pt->partition, (long long)end, (int)pt->leader,
                        (long long)r->log_start_offset, (long long)r->high_watermark);
        pt->state = P_TRUNCATE;
        part_backoff(t, pt); /* one round per backoff, whatever the leader answers */
        return;
    }
    default:
        br_warn_limited("replica: %s-%d: broker %d answers error %d (backing off)", pt->topic,
                        (int)pt->partition, (int)pt->leader, (int)r->error_code);
        part_backoff(t, pt);
        return;
    }
    if (r->diverging_epoch && r->diverging_epoch->epoch >= 0) {
        pt->state = P_TRUNCATE; /* OffsetsForLeaderEpoch finds where */
        return;
    }
    if (!append_records(t, pt, r->records, s->rx, s->rx_have)) {
        part_backoff(t, pt);
        return;
    }
    if (r->high_watermark >= 0)
        (void)st_log_set_high_watermark(pt->log, r->high_watermark);
}

static int on_fetch(struct fthread *t, struct fsess *s)
{
    struct kp_arena a;
    kp_arena_init(&a, t->arena, t->arena_cap);
    struct kp_fetch_resp resp;
    int rc = br_clu_fetch_decode(s->rx + 4, s->rx_have - 4, s->fetch_v, s->corr, &a, &resp);
    if (rc < 0)
        return rc;
    if (resp.error_code != E_NONE) {
        br_warn_limited("replica: broker %d answers Fetch with error %d", (int)s->leader,
                        (int)resp.error_code);
        return -EPROTO;
    }
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const struct kp_fetch_resp_topic *rt = &resp.topics[i];
        for (int32_t j = 0; j < rt->n_partitions; j++) {
            struct fpart *pt = answered(t, s, rt->topic, rt->partitions[j].partition);
            if (!pt || pt->state != P_FETCH)
                continue;
            pt->sent_leader = -1;
            on_fetch_part(t, s, pt, &rt->partitions[j]);
        }
    }
    unsend(t, s);
    return 0;
}

static int on_apiv(struct fthread *t, struct fsess *s, struct kp_rd *rd)
{
    struct kp_arena a;
    kp_arena_init(&a, t->arena, t->arena_cap);
    struct kp_api_versions_resp resp;
    kp_rd_allow_trailing(rd);
    int rc = kp_api_versions_resp_decode(rd, 3, &a, &resp);
    if (rc < 0)
        return rc;
    if (resp.error_code != E_NONE)
        return -EPROTO;
    int16_t fmax = -1, omax = -1;
    for (int32_t i = 0; i < resp.n_api_keys; i++) {
        const struct kp_api_range *r = &resp.api_keys[i];
        if (r->api_key == KP_API_FETCH)
            fmax = r->max_version;
        if (r->api_key == KP_API_OFFSET_FOR_LEADER_EPOCH)
            omax = r->max_version;
    }
    if (fmax < 9) {
        br_err_limited("replica: broker %d speaks Fetch up to v%d: a follower needs v9+",
                       (int)s->leader, (int)fmax);
        return -EPROTO;
    }
    s->fetch_v = fmax >= 12 ? 12 : fmax;
    s->ofle_v = omax >= 3 ? (omax >= 4 ? 4 : omax) : -1;
    if (s->ofle_v < 0)
        br_info("replica: broker %d has no OffsetsForLeaderEpoch v3+: a partition becoming "
                "its follower truncates to its high watermark instead (fallback)",
                (int)s->leader);
    s->ready = true;
    return 0;
}

/* A complete answer in s->rx: handled by its kind. 0, or -errno (the caller closes). */
static int on_answer(struct fthread *t, struct fsess *s)
{
    int phase = s->phase;
    s->phase = S_IDLE;
    if (phase == S_FETCH)
        return on_fetch(t, s);
    if (phase == S_REPAIR)
        return on_repair(t, s);
    struct kp_rd rd;
    kp_rd_init(&rd, s->rx + 4, s->rx_have - 4);
    int16_t key = phase == S_APIV ? KP_API_API_VERSIONS : KP_API_OFFSET_FOR_LEADER_EPOCH;
    int16_t ver = phase == S_APIV ? 3 : s->ofle_v;
    int32_t corr = 0;
    if (kp_resp_hdr_decode(&rd, key, ver, &corr) < 0 || corr != s->corr)
        return -EPROTO;
    return phase == S_APIV ? on_apiv(t, s, &rd) : on_ofle(t, s, &rd);
}

/* Reads what is there; 1 when an answer is complete, 0 for more, -errno. */
static int receive(struct fthread *t, struct fsess *s)
{
    for (;;) {
        size_t want = 4;
        if (s->rx_have >= 4) {
            int32_t size = 0;
            int rc = kp_frame_peek(s->rx, s->rx_have, (int32_t)t->f->rx_max, &size);
            if (rc < 0)
                return rc;
            want = 4 + (size_t)size;
            if (s->rx_have == want)
                return 1;
        }
        if (want > s->rx_cap) {
            size_t cap = s->rx_cap ? s->rx_cap : RX_FIRST;
            while (cap < want)
                cap *= 2;
            uint8_t *nb = realloc(s->rx, cap);
            if (!nb)
                return -ENOMEM;
            s->rx = nb;
            s->rx_cap = cap;
        }
        /* no more than this frame: nothing follows an answer */
        ssize_t r = br_clu_link_read(s->link, s->rx + s->rx_have, want - s->rx_have);
        if (r == -EAGAIN)
            return 0;
        if (r < 0)
            return (int)r;
        s->rx_have += (size_t)r;
    }
}

/* ---- repairing fenced ranges from the leader --------------------------------------------------
 */

/* A partition of s due for a look at its fenced ranges whose log has one: *fr, and the
 * partition; NULL when none. Partitions found without one are done until the store fences
 * something again (fetch_main). */
static struct fpart *repair_due(struct fthread *t, struct fsess *s, int64_t now,
                                struct st_fenced_range *fr)
{
    for (int i = 0; i < t->nparts + t->nlparts; i++) {
        bool led = i >= t->nparts;
        struct fpart *pt = led ? &t->lparts[i - t->nparts] : &t->parts[i];
        if ((led ? pt->target : pt->leader) != s->leader || pt->state != P_FETCH || !pt->log ||
            pt->sent_leader >= 0 || pt->repair_at > now || pt->retry_at > now)
            continue;
        int rc;
        /* (ranges local facts refuse are passed over without a Fetch; bounded: each one
         * moves repair_from past it) */
        while ((rc = st_log_fenced_next(pt->log, pt->repair_from, fr)) > 0) {
            int why = br_clu_repair_precheck(&pt->memo, fr);
            if (why == 0)
                return pt;
            br_info_limited("replica: %s-%d: fenced offsets [%lld, %lld) (%lld bytes) not "
                            "fetched: %s; they stay fenced (looked at again in %d s)",
                            pt->topic, (int)pt->partition, (long long)fr->off_lo,
                            (long long)fr->off_hi, (long long)(fr->pos_hi - fr->pos_lo),
                            repair_why(why), REPAIR_RETRY_MS / 1000);
            pt->repair_from = fr->off_hi;
        }
        if (rc < 0 || pt->repair_from > 0) {
            /* ranges refused before this one (or the log could not be opened): all again later */
            pt->repair_from = 0;
            pt->repair_at = now + REPAIR_RETRY_MS;
        } else {
            pt->repair_at = INT64_MAX;
        }
    }
    return NULL;
}

static int repair_body(struct fthread *t, struct fsess *s, struct kp_wr *wr, int16_t version)
{
    const struct br_clu_fetch_conf *c = &t->f->conf;
    int64_t len = s->rp.pos_hi - s->rp.pos_lo;
    int32_t max = len < c->response_max ? (int32_t)len : c->response_max;
    struct kp_fetch_req_partition p = {
        .partition = s->rp_partition,
        .current_leader_epoch = s->rp_epoch,
        .fetch_offset = s->rp.off_lo,
        .log_start_offset = s->rp_start,
        .partition_max_bytes = max,
        .last_fetched_epoch = -1,
    };
    struct kp_fetch_req_topic tp = {
        .topic = kp_str_of(s->rp_topic), .n_partitions = 1, .partitions = &p};
    struct kp_fetch_req req = {
        .replica_id = c->broker_id,
        .max_wait_ms = 0,
        .min_bytes = 0,
        .max_bytes = max,
        .isolation_level = 0,
        .session_id = 0,
        .session_epoch = -1,
        .n_topics = 1,
        .topics = &tp,
        .rack_id = kp_str_of(""),
        .cluster_id = KP_STR_NULL,
    };
    return kp_fetch_req_encode(wr, version, &req);
}

/* Sends the repair fetch of pt's range fr on s. 0 or -errno (the caller closes). */
static int repair_send(struct fthread *t, struct fsess *s, struct fpart *pt,
                       const struct st_fenced_range *fr, int64_t now)
{
    snprintf(s->rp_topic, sizeof s->rp_topic, "%s", pt->topic);
    s->rp_partition = pt->partition;
    s->rp_epoch = pt->leader_epoch;
    s->rp_start = st_log_start_offset(pt->log);
    s->rp = *fr;
    s->rp_led = pt->target >= 0;
    pt->repair_at = now + REPAIR_RETRY_MS; /* (an answer lost with the connection: again then) */
    return request(t, s, KP_API_FETCH, s->fetch_v, repair_body, S_REPAIR, 0);
}

static const char *repair_why(int rc)
{
    switch (rc) {
    case -EAGAIN:
        return "the range is in the active segment (repaired once it rolls)";
    case -EXDEV:
        return "another fenced range shares its digest chunk, in a compacted topic (its "
               "replicas' bytes may differ: not copied without the digest)";
    case -EINPROGRESS:
        return "its segment's digest sidecar is not written yet, in a compacted topic (not "
               "copied without the digest)";
    case -EMSGSIZE:
        return "its batches for them have another byte length (compacted replicas differ): "
               "not copied in place";
    case -EBADMSG:
        return "its bytes are not whole good batches holding exactly those offsets";
    case -EILSEQ:
        return "with its bytes in place the segment's digest does not match";
    case -ENOENT:
        return "no longer fenced";
    case -EFBIG:
        return "the range is larger than one answer may be (replica.fetch.response.max.bytes)";
    case -EOPNOTSUPP:
        return "they hold a transaction's batches or markers (a repair does not replay them "
               "into producer state)";
    case -EBUSY:
        return "the log is being compacted or scrubbed";
    default:
        return strerror(-rc);
    }
}

/* The store's fences moved: pt's ranges are all looked at again from its start at `at`, and
 * nothing it remembered being refused still holds. */
static void repair_restart(struct fpart *pt, int64_t at)
{
    pt->repair_at = at;
    pt->repair_from = 0;
    br_clu_repair_forget(&pt->memo);
}

/* A partition led here whose in-sync follower refused its range (an error answered, bytes
 * refused, no answer): the next attempt asks the next follower of the view's ISR, logged;
 * true when that is another broker (tried at once; once round the ISR, after
 * REPAIR_RETRY_MS). The session follows at the next turn (fetch_main): never here, where s may
 * be the session in use. */
static bool next_peer(struct fthread *t, struct fpart *pt, const char *why)
{
    if (pt->peers.n < 2)
        return false;
    int32_t was = pt->target;
    pt->turn = (pt->turn + 1) % pt->peers.n;
    pt->target = pt->peers.id[pt->turn];
    t->resync = true;
    br_info_limited("replica: %s-%d: in-sync follower %d %s: its fenced ranges are asked of "
                    "broker %d next",
                    pt->topic, (int)pt->partition, (int)was, why, (int)pt->target);
    return pt->turn != 0;
}

/* The leader's answer to a repair fetch: the batches holding exactly the range, in place. */
static void on_repair_part(struct fthread *t, struct fsess *s, struct fpart *pt,
                           const struct kp_fetch_resp_partition *r)
{
    const struct st_fenced_range *fr = &s->rp;
    int64_t now = mono_ms();
    int rc;
    if (r->error_code != E_NONE) {
        /* a led partition asks the next follower of its turn for the same range at once;
         * otherwise (a follower, or the turn round every follower) the next range meanwhile:
         * this one is asked again at the next walk (repair_due, after REPAIR_RETRY_MS) */
        bool other = s->rp_led && next_peer(t, pt, "answered an error");
        char then[80] = "asked of the next in-sync follower now";
        if (!other)
            snprintf(then, sizeof then, "the next range meanwhile, this one again in %d s",
                     REPAIR_RETRY_MS / 1000);
        br_warn_limited("replica: %s-%d: repair of fenced offsets [%lld, %lld): broker %d "
                        "answers error %d (%s)",
                        pt->topic, (int)pt->partition, (long long)fr->off_lo, (long long)fr->off_hi,
                        (int)s->leader, (int)r->error_code, then);
        if (!other)
            pt->repair_from = fr->off_hi;
        pt->repair_at = now;
        return;
    }
    const uint8_t *rec = r->records.len > 0 ? kp_bytes_mut(r->records, s->rx, s->rx_have) : NULL;
    size_t len = rec ? (size_t)r->records.len : 0;
    /* the answer's batches up to the range's end (st_log_repair checks them all) */
    size_t take = 0;
    int perr = 0;
    rc = br_clu_repair_answer(rec, len, r->high_watermark, fr, t->f->conf.response_max, &take);
    if (rc == 0)
        rc = st_log_repair(pt->log, fr->off_lo, rec, take, &perr);
    if (rc == 0) {
        br_info("replica: %s-%d: repaired fenced offsets [%lld, %lld), %lld bytes at [%lld, "
                "%lld) of segment %020lld, with broker %d's bytes (%s)%s",
                pt->topic, (int)pt->partition, (long long)fr->off_lo, (long long)fr->off_hi,
                (long long)(fr->pos_hi - fr->pos_lo), (long long)fr->pos_lo, (long long)fr->pos_hi,
                (long long)fr->seg_base, (int)s->leader,
                s->rp_led ? "an in-sync follower: this broker leads the partition" : "the leader",
                perr < 0 ? "; the fenced file could not be rewritten yet (retried)" : "");
        if (t->f->conf.on_repair)
            t->f->conf.on_repair(t->f->conf.on_repair_arg, fr->pos_hi - fr->pos_lo);
        pt->repair_at = now;             /* the next range, if any */
        br_clu_repair_forget(&pt->memo); /* (a chunk shared with this range is free now) */
        return;
    }
    bool lasting = br_clu_repair_remember(&pt->memo, fr, rc);
    char again[32];
    snprintf(again, sizeof again, "again in %d s", REPAIR_RETRY_MS / 1000);
    br_warn_limited("replica: %s-%d: fenced offsets [%lld, %lld) (%lld bytes) not repaired from "
                    "broker %d: %s; they stay fenced (%s)",
                    pt->topic, (int)pt->partition, (long long)fr->off_lo, (long long)fr->off_hi,
                    (long long)(fr->pos_hi - fr->pos_lo), (int)s->leader,
                    rc == -ENODATA ? "it sent no batches for them" : repair_why(rc),
                    lasting ? "not fetched again until the log's fences change" : again);
    pt->repair_from = fr->off_hi; /* the next range meanwhile */
    pt->repair_at = now;
    /* bytes the follower's own copy got wrong (not a local refusal): the next one is asked
     * when the range's turn comes again */
    if (s->rp_led && (rc == -ENODATA || rc == -EBADMSG || rc == -EILSEQ || rc == -EMSGSIZE))
        (void)next_peer(t, pt, "sent bytes refused");
}

static int on_repair(struct fthread *t, struct fsess *s)
{
    struct kp_arena a;
    kp_arena_init(&a, t->arena, t->arena_cap);
    struct kp_fetch_resp resp;
    int rc = br_clu_fetch_decode(s->rx + 4, s->rx_have - 4, s->fetch_v, s->corr, &a, &resp);
    if (rc < 0)
        return rc;
    if (resp.error_code != E_NONE)
        return -EPROTO;
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const struct kp_fetch_resp_topic *rt = &resp.topics[i];
        for (int32_t j = 0; j < rt->n_partitions; j++) {
            const struct kp_fetch_resp_partition *r = &rt->partitions[j];
            if (r->partition != s->rp_partition || !kp_str_eq(rt->topic, s->rp_topic))
                continue;
            struct fpart *pt = s->rp_led
                                   ? find_part(t->lparts, t->nlparts, s->rp_topic, s->rp_partition)
                                   : find_part(t->parts, t->nparts, s->rp_topic, s->rp_partition);
            /* (the same leader or follower and epoch as when asked: else the view moved, the
             * answer goes) */
            if (pt && pt->log && (s->rp_led ? pt->target : pt->leader) == s->leader &&
                pt->leader_epoch == s->rp_epoch && pt->state == P_FETCH)
                on_repair_part(t, s, pt, r);
            return 0;
        }
    }
    return 0;
}

/* ---- the view: which partitions, which leaders ------------------------------------------------
 */

/* A list of partitions built from the view (collect_one: followed here; collect_led: led here
 * with a fence to mend). */
struct collect {
    struct fthread *t;
    struct fpart *out;
    int n, cap;
    bool oom;
};

/* Appends a partition to c's list, in state P_TRUNCATE (a follower asks its leader first);
 * NULL (c->oom) without memory. */
static struct fpart *collect_push(struct collect *c, const char *topic, int32_t p, int32_t leader,
                                  int32_t leader_epoch)
{
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        struct fpart *nb = realloc(c->out, (size_t)cap * sizeof(*nb));
        if (!nb) {
            c->oom = true;
            return NULL;
        }
        c->out = nb;
        c->cap = cap;
    }
    struct fpart *pt = &c->out[c->n++];
    memset(pt, 0, sizeof *pt);
    snprintf(pt->topic, sizeof pt->topic, "%s", topic);
    pt->partition = p;
    pt->leader = leader;
    pt->leader_epoch = leader_epoch;
    pt->sent_leader = -1;
    pt->target = -1;
    return pt;
}

static int collect_one(void *ctx, const char *topic, int32_t p,
                       const struct br_clu_replicas *replicas, int32_t leader, int32_t leader_epoch)
{
    struct collect *c = ctx;
    const struct br_clu_fetch_conf *conf = &c->t->f->conf;
    if (leader < 0 || leader == conf->broker_id || leader % conf->threads != c->t->idx ||
        strlen(topic) >= TOPIC_MAX)
        return 0;
    bool mine = false;
    for (int32_t k = 0; k < replicas->n; k++)
        mine |= replicas->id[k] == conf->broker_id;
    if (!mine)
        return 0;
    return collect_push(c, topic, p, leader, leader_epoch) ? 0 : 1;
}

static struct fpart *find_part(struct fpart *parts, int n, const char *topic, int32_t p)
{
    for (int i = 0; i < n; i++)
        if (parts[i].partition == p && strcmp(parts[i].topic, topic) == 0)
            return &parts[i];
    return NULL;
}

static struct fsess *find_sess(struct fthread *t, int32_t leader)
{
    for (int i = 0; i < t->nsess; i++)
        if (t->sess[i].leader == leader)
            return &t->sess[i];
    return NULL;
}

static void sess_free(struct fthread *t, struct fsess *s)
{
    sess_close(t, s, false);
    free(s->rx);
    free(s->tx);
}

/* Brings the sessions in line with the partitions: one per leader. false: out of memory. */
static bool sync_sessions(struct fthread *t)
{
    for (int i = 0; i < t->nsess;) {
        bool used = false;
        for (int j = 0; j < t->nparts && !used; j++)
            used = t->parts[j].leader == t->sess[i].leader;
        for (int j = 0; j < t->nlparts && !used; j++)
            used = t->lparts[j].target == t->sess[i].leader;
        if (used) {
            i++;
            continue;
        }
        sess_free(t, &t->sess[i]);
        t->sess[i] = t->sess[--t->nsess];
    }
    for (int j = 0; j < t->nparts + t->nlparts; j++) {
        int32_t peer = j < t->nparts ? t->parts[j].leader : t->lparts[j - t->nparts].target;
        if (find_sess(t, peer))
            continue;
        struct fsess *nb = realloc(t->sess, (size_t)(t->nsess + 1) * sizeof(*nb));
        if (!nb)
            return false;
        t->sess = nb;
        t->sess[t->nsess++] = (struct fsess){.leader = peer, .retry_at = peer_wait_until(t, peer)};
    }
    return true;
}

/* ---- a leader's own fenced ranges (thread 0) ---------------------------------------------------
 */

static int collect_led(void *ctx, const char *topic, int32_t p,
                       const struct br_clu_replicas *replicas, int32_t leader, int32_t leader_epoch)
{
    struct collect *c = ctx;
    if (leader != c->t->f->conf.broker_id || replicas->n < 2 || strlen(topic) >= TOPIC_MAX)
        return 0;
    struct fpart *pt = collect_push(c, topic, p, leader, leader_epoch);
    if (!pt)
        return 1;
    pt->state = P_FETCH;
    return 0;
}

/* Thread 0, when the view or the store's fences move: lparts = the partitions this broker
 * leads (replication factor > 1) whose log has a fenced range, each with the in-sync follower
 * it asks for the range (the first of the view's ISR that is not this broker; with none the
 * range stays fenced, logged). Sessions follow. */
static void rebuild_led(struct fthread *t, bool fences_moved)
{
    struct br_clu_fetch *f = t->f;
    struct fpart *old = t->lparts;
    int nold = t->nlparts;
    t->lparts = NULL;
    t->nlparts = 0;
    struct collect c = {.t = t};
    (void)br_clu_each_partition(f->conf.clu, collect_led, &c);
    if (c.oom)
        br_err_limited("replica: out of memory listing the partitions led here (their fenced "
                       "ranges are looked at again at the next change)");
    int n = 0;
    for (int i = 0; i < c.n; i++) {
        struct fpart *pt = &c.out[i];
        struct st_fenced_range fr;
        struct br_clu_part part;
        pt->log = st_log_get(f->conf.store, pt->topic, strlen(pt->topic), pt->partition);
        if (!pt->log)
            continue;
        if (st_log_fenced_next(pt->log, 0, &fr) <= 0 ||
            br_clu_partition(f->conf.clu, pt->topic, strlen(pt->topic), pt->partition, &part) < 0 ||
            part.leader != f->conf.broker_id || part.leader_epoch != pt->leader_epoch) {
            st_log_put(pt->log);
            continue;
        }
        pt->peers.n = 0;
        for (int32_t k = 0; k < part.isr.n && k < BR_CLU_RF_MAX; k++)
            if (part.isr.id[k] != f->conf.broker_id)
                pt->peers.id[pt->peers.n++] = part.isr.id[k];
        /* (the same leadership as before: where its turn had got to, and what it knows) */
        const struct fpart *was = find_part(old, nold, pt->topic, pt->partition);
        if (was && was->leader_epoch == pt->leader_epoch && was->log == pt->log) {
            pt->turn = was->turn;
            pt->memo = was->memo;
            pt->repair_at = was->repair_at;
            pt->repair_from = was->repair_from;
        }
        if (fences_moved)
            repair_restart(pt, 0);
        if (pt->peers.n > 0)
            pt->target = pt->peers.id[pt->turn % pt->peers.n];
        if (pt->target < 0) {
            br_warn_limited("replica: %s-%d: fenced offsets [%lld, %lld) of a partition led "
                            "here: no in-sync follower to repair them from; they stay fenced",
                            pt->topic, (int)pt->partition, (long long)fr.off_lo,
                            (long long)fr.off_hi);
            st_log_put(pt->log);
            continue;
        }
        c.out[n++] = *pt;
    }
    for (int i = 0; i < nold; i++)
        st_log_put(old[i].log);
    free(old);
    t->lparts = c.out;
    t->nlparts = n;
    if (!sync_sessions(t))
        t->rescan_at = mono_ms() + f->conf.backoff_ms;
}

/* Sizes the request and decoding memory for n partitions. */
static bool size_scratch(struct fthread *t, int n)
{
    size_t m = (size_t)(n > 0 ? n : 1);
    void *a = realloc(t->rt, m * sizeof(*t->rt)), *b = a ? realloc(t->rp, m * sizeof(*t->rp)) : 0;
    if (a)
        t->rt = a;
    if (b)
        t->rp = b;
    void *c = b ? realloc(t->ot, m * sizeof(*t->ot)) : 0,
         *d = c ? realloc(t->op, m * sizeof(*t->op)) : 0;
    if (c)
        t->ot = c;
    if (d)
        t->op = d;
    /* an answer names at most the partitions asked (more: -ENOMEM, the connection closed) */
    size_t cap = kp_arena_need(4 + 3 * m, 64 * 1024 + m * 256);
    uint8_t *e = d ? realloc(t->arena, cap) : NULL;
    if (e) {
        t->arena = e;
        t->arena_cap = cap;
    }
    return e != NULL;
}

/* Reads the view again: keeps the state of partitions whose leader, epoch and log did not
 * change, starts the others over (becoming follower), releases the ones that left. */
static void rebuild(struct fthread *t)
{
    struct br_clu_fetch *f = t->f;
    struct collect c = {.t = t};
    uint64_t gen = br_clu_view_gen(f->conf.clu);
    (void)br_clu_each_partition(f->conf.clu, collect_one, &c);
    if (c.oom || !size_scratch(t, c.n)) {
        free(c.out);
        br_err_limited("replica: out of memory reading the view (retrying)");
        t->rescan_at = mono_ms() + f->conf.backoff_ms;
        return;
    }
    bool retry = false;
    for (int i = 0; i < c.n; i++) {
        struct fpart *np = &c.out[i];
        struct fpart *op = find_part(t->parts, t->nparts, np->topic, np->partition);
        np->log = st_log_get(f->conf.store, np->topic, strlen(np->topic), np->partition);
        /* (the same log: a topic deleted and created again under its name, at the same leader
         * and epoch, between two looks at the view, is a new log that starts over) */
        if (op && op->log && op->log == np->log && op->leader == np->leader &&
            op->leader_epoch == np->leader_epoch) {
            st_log_put(np->log);
            *np = *op;
            op->log = NULL; /* moved */
            continue;
        }
        if (!np->log) {
            retry = true; /* not created here yet */
            continue;
        }
        st_log_set_replicated(np->log, true);
        np->state = P_TRUNCATE;
        br_info("replica: %s-%d: follower of broker %d, leader epoch %d (log end %lld, high "
                "watermark %lld)",
                np->topic, (int)np->partition, (int)np->leader, (int)np->leader_epoch,
                (long long)st_log_end_offset(np->log), (long long)st_log_high_watermark(np->log));
    }
    for (int i = 0; i < t->nparts; i++) {
        struct fpart *op = &t->parts[i];
        if (!op->log)
            continue;
        if (!find_part(c.out, c.n, op->topic, op->partition))
            br_info("replica: %s-%d: no longer fetched from broker %d", op->topic,
                    (int)op->partition, (int)op->leader);
        st_log_put(op->log);
    }
    free(t->parts);
    t->parts = c.out;
    t->nparts = c.n;
    t->cap_parts = c.cap;
    t->gen = gen;
    t->have_gen = true;
    t->rescan_at = retry ? mono_ms() + TICK_MS * 5 : INT64_MAX;
    if (!sync_sessions(t))
        t->rescan_at = mono_ms() + f->conf.backoff_ms;
}

/* ---- the thread -------------------------------------------------------------------------------
 */

/* A lost connection: logged (naming the leader, and for TLS OpenSSL's reason), closed, and
 * opened again after the backoff. */
static void sess_fail(struct fthread *t, struct fsess *s, int rc, const char *what)
{
    const char *tls = br_clu_link_error(s->link);
    br_warn_limited("replica: connection to broker %d%s%s: %s: %s%s%s (again in %lld ms)",
                    (int)s->leader, s->peer[0] ? " at " : "", s->peer, what,
                    strerror(rc < 0 ? -rc : rc), tls[0] ? ": " : "", tls,
                    (long long)t->f->conf.backoff_ms);
    /* a follower a partition led here asks for its ranges, unreachable or silent: the next one
     * (the partition whose repair was in flight, or every one when it cannot be reached) */
    for (int i = 0; i < t->nlparts; i++) {
        struct fpart *pt = &t->lparts[i];
        if (pt->target == s->leader &&
            (s->phase != S_REPAIR ||
             (s->rp_led && pt->partition == s->rp_partition && !strcmp(pt->topic, s->rp_topic))))
            (void)next_peer(t, pt, "did not answer");
    }
    sess_close(t, s, true);
}

/* One step of a TLS link's handshake (S_HANDSHAKE): idle once done; failed at its error or
 * once the handshake deadline (s->deadline) passed. */
static void sess_handshake(struct fthread *t, struct fsess *s, int64_t now)
{
    int rc = br_clu_link_handshake(s->link);
    if (rc == 0) {
        s->phase = S_IDLE;
        if (br_clu_link_is_tls(s->link))
            br_info("replica: TLS established with broker %d at %s (listener %s)", (int)s->leader,
                    s->peer, t->f->conf.listener);
    } else if (rc != -EAGAIN) {
        sess_fail(t, s, rc, "TLS handshake");
    } else if (now > s->deadline) {
        sess_fail(t, s, -ETIMEDOUT, "TLS handshake not finished in ssl.handshake.timeout.ms");
    }
}

/* Partitions of s that became follower and have no way to ask the leader: truncated to their
 * high watermark here (fallback). */
static void local_truncations(struct fthread *t, struct fsess *s, int64_t now)
{
    for (int i = 0; i < t->nparts; i++) {
        struct fpart *pt = &t->parts[i];
        if (!due(pt, s, P_TRUNCATE, now))
            continue;
        if (s->ofle_v < 0)
            truncate_to_hw(t, pt, "the leader has no OffsetsForLeaderEpoch v3+");
        else if (st_log_latest_epoch(pt->log) < 0)
            truncate_to_hw(t, pt, "no leader epoch in this log's cache");
    }
}

static bool any_due(struct fthread *t, struct fsess *s, int state, int64_t now)
{
    for (int i = 0; i < t->nparts; i++)
        if (due(&t->parts[i], s, state, now))
            return true;
    return false;
}

/* What an idle or closed session does now. */
static void sess_turn(struct fthread *t, struct fsess *s, int64_t now)
{
    const struct br_clu_fetch_conf *c = &t->f->conf;
    if (s->phase == S_DOWN) {
        if (s->retry_at > now)
            return;
        char host[BR_HOST_MAX];
        int port = 0;
        int rc = leader_endpoint(t->f, s->leader, host, sizeof host, &port);
        if (rc < 0) {
            br_warn_limited("replica: broker %d has no live %s endpoint (again in %lld ms)",
                            (int)s->leader, c->listener, (long long)c->backoff_ms);
            s->retry_at = now + c->backoff_ms;
            peer_wait(t, s->leader, s->retry_at);
            return;
        }
        snprintf(s->peer, sizeof s->peer, "%s:%d", host, port);
        rc = dial(t->f, host, port, &s->link);
        if (rc < 0) {
            sess_fail(t, s, rc, "connect");
            return;
        }
        br_info("replica: connected to broker %d at %s:%d (listener %s%s)", (int)s->leader, host,
                port, c->listener, c->tls ? ", TLS handshake next" : "");
        s->phase = S_HANDSHAKE;
        s->deadline = now + (c->handshake_ms > 0 ? c->handshake_ms : IO_MS);
        sess_handshake(t, s, now);
    }
    if (s->phase != S_IDLE)
        return;
    int rc = 0;
    struct fpart *rpt;
    struct st_fenced_range fr;
    if (!s->ready) {
        rc = request(t, s, KP_API_API_VERSIONS, 3, apiv_body, S_APIV, 0);
    } else {
        local_truncations(t, s, now);
        if (s->ofle_v >= 0 && any_due(t, s, P_TRUNCATE, now)) {
            rc = request(t, s, KP_API_OFFSET_FOR_LEADER_EPOCH, s->ofle_v, ofle_body, S_OFLE, 0);
            if (rc == 0)
                mark_sent(t, s, P_TRUNCATE);
        } else if (!(s->repaired_last && any_due(t, s, P_FETCH, now)) &&
                   (rpt = repair_due(t, s, now, &fr)) != NULL) {
            /* (a repair, then a regular fetch if one is due: many fenced ranges never hold
             * replication up for more than a round trip at a time) */
            rc = repair_send(t, s, rpt, &fr, now);
            s->repaired_last = true;
        } else if (any_due(t, s, P_FETCH, now)) {
            rc = request(t, s, KP_API_FETCH, s->fetch_v, fetch_body, S_FETCH, c->wait_max_ms);
            if (rc == 0)
                mark_sent(t, s, P_FETCH);
            s->repaired_last = false;
        }
    }
    if (rc < 0)
        sess_fail(t, s, rc, "send");
}

static void *fetch_main(void *arg)
{
    struct fthread *t = arg;
    struct br_clu_fetch *f = t->f;
    char name[16];
    snprintf(name, sizeof name, "replica%d", t->idx);
    br_log_set_thread(name);
    struct pollfd *pfd = NULL;
    int pcap = 0;
    while (!atomic_load(&f->stop)) {
        int64_t now = mono_ms();
        bool led = false, fences_moved = false;
        if (!t->have_gen || br_clu_view_gen(f->conf.clu) != t->gen || now >= t->rescan_at) {
            rebuild(t);
            led = true;
        }
        uint64_t fg = st_store_fence_gen(f->conf.store);
        if (fg != t->fence_gen) { /* something was fenced: every partition looks again */
            t->fence_gen = fg;
            for (int i = 0; i < t->nparts; i++)
                repair_restart(&t->parts[i], now);
            led = fences_moved = true;
        }
        if (led && t->idx == 0)
            rebuild_led(t, fences_moved);
        if (t->resync) { /* (a led partition asks another follower now) */
            t->resync = false;
            if (!sync_sessions(t))
                t->resync = true;
        }
        for (int i = 0; i < t->nsess; i++)
            sess_turn(t, &t->sess[i], now);
        if (pcap < t->nsess) {
            struct pollfd *nb = realloc(pfd, (size_t)t->nsess * sizeof(*nb));
            if (nb) {
                pfd = nb;
                pcap = t->nsess;
            }
        }
        int n = 0;
        for (int i = 0; i < t->nsess && n < pcap; i++) {
            struct fsess *s = &t->sess[i];
            if (s->link && s->phase != S_IDLE && s->phase != S_DOWN)
                pfd[n++] = (struct pollfd){
                    .fd = br_clu_link_fd(s->link),
                    .events = s->phase == S_HANDSHAKE ? br_clu_link_events(s->link) : POLLIN};
        }
        int pr = poll(pfd, (nfds_t)n, TICK_MS);
        if (pr < 0 && errno != EINTR)
            br_err_limited("replica: poll: %s", strerror(errno));
        now = mono_ms();
        for (int i = 0; i < t->nsess; i++) {
            struct fsess *s = &t->sess[i];
            if (!s->link || s->phase == S_IDLE || s->phase == S_DOWN)
                continue;
            if (s->phase == S_HANDSHAKE) {
                sess_handshake(t, s, now); /* a step costs no I/O wait: taken every turn */
                continue;
            }
            bool ready = false;
            for (int k = 0; k < n; k++)
                if (pfd[k].fd == br_clu_link_fd(s->link) &&
                    (pfd[k].revents & (POLLIN | POLLERR | POLLHUP)))
                    ready = true;
            if (ready) {
                int rc = receive(t, s);
                if (rc == 1)
                    rc = on_answer(t, s);
                if (rc < 0) {
                    sess_fail(t, s, rc, "answer");
                    continue;
                }
            }
            if (s->phase != S_IDLE && s->link && now > s->deadline)
                sess_fail(t, s, -ETIMEDOUT, "no answer");
        }
    }
    free(pfd);
    return NULL;
}

static void thread_free(struct fthread *t)
{
    for (int i = 0; i < t->nsess; i++)
        sess_free(t, &t->sess[i]);
    free(t->sess);
    for (int i = 0; i < t->nparts; i++)
        if (t->parts[i].log)
            st_log_put(t->parts[i].log);
    free(t->parts);
    for (int i = 0; i < t->nlparts; i++)
        st_log_put(t->lparts[i].log);
    free(t->lparts);
    free(t->rt);
    free(t->rp);
    free(t->ot);
    free(t->op);
    free(t->arena);
}

int br_clu_fetch_start(const struct br_clu_fetch_conf *conf, struct br_clu_fetch **out)
{
    *out = NULL;
    if (conf->threads < 1 || !conf->clu || !conf->store)
        return -EINVAL;
    struct br_clu_fetch *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->conf = *conf;
    atomic_init(&f->stop, false);
    f->rx_max = (size_t)conf->response_max + 2 * (size_t)conf->partition_max + 64 * 1024;
    if (f->rx_max > INT32_MAX)
        f->rx_max = INT32_MAX;
    snprintf(f->client_id, sizeof f->client_id, "splicelog-replica-%d", (int)conf->broker_id);
    br_repl_repair_client_id(f->repair_id, sizeof f->repair_id, conf->broker_id);
    f->t = calloc((size_t)conf->threads, sizeof(*f->t));
    if (!f->t) {
        free(f);
        return -ENOMEM;
    }
    for (int i = 0; i < conf->threads; i++) {
        f->t[i].f = f;
        f->t[i].idx = i;
        f->t[i].rescan_at = INT64_MAX;
        if (pthread_create(&f->t[i].th, NULL, fetch_main, &f->t[i]) != 0) {
            br_clu_fetch_stop(f);
            return -EAGAIN;
        }
        f->t[i].started = true;
    }
    br_info("replica: %d fetcher thread(s) on listener %s (replica.fetch.max.bytes=%d, "
            "replica.fetch.wait.max.ms=%d)",
            conf->threads, conf->listener, (int)conf->partition_max, (int)conf->wait_max_ms);
    *out = f;
    return 0;
}

void br_clu_fetch_stop(struct br_clu_fetch *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, true);
    for (int i = 0; i < f->conf.threads; i++)
        if (f->t[i].started)
            pthread_join(f->t[i].th, NULL);
    for (int i = 0; i < f->conf.threads; i++)
        thread_free(&f->t[i]);
    free(f->t);
    free(f);
}
