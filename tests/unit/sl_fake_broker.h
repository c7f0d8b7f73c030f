/*
 * sl_fake_broker.h — a scripted Kafka broker for the client's unit suites (included by
 * test_sl_scripted.c and test_sl_mt.c; static functions, no other test support needed, so the
 * ThreadSanitizer build can use it too).
 *
 * It listens on an ephemeral 127.0.0.1 port, serves every connection on its own thread, and
 * speaks exactly the versions the client uses (ApiVersions 0, Metadata 4, Produce 7,
 * ListOffsets 2, Fetch 11, InitProducerId 0-4), decoded and encoded with proto's kp_msg codecs (the
 * same ones the broker uses: a request the client encodes wrongly fails to decode here). One topic,
 * "t", with fb.nparts partitions, each an in-memory log of the batches produced (baseOffset
 * assigned). Fetches are cut at partition_max_bytes by bytes, without Kafka's minimum of one whole
 * batch, so clients see oversized first batches and partial trailing ones. Script knobs:
 * produce_fail_next / produce_err (refuse that many Produce requests), not_leader (refuse every
 * Produce with NOT_LEADER_OR_FOLLOWER until a Metadata request arrives), chaos (corrupt every
 * response a little, from a seed). State is guarded by fb.mu.
 *
 * Idempotence (Kafka >= 2.5's broker rules, eos-design.md §3.2): InitProducerId hands out
 * producer ids 1000, 1001, ... at epoch 0 (idemp_off: not in ApiVersions at all); a batch with a
 * producer id is checked against its partition's producer state: a duplicate of one of the last
 * 5 batches is answered with success and the original offset (nothing written, dups counted),
 * an older epoch with INVALID_PRODUCER_EPOCH, a sequence that does not follow (or a new epoch
 * not starting at 0) with OUT_OF_ORDER_SEQUENCE_NUMBER (oos counted); a producer the partition
 * has no state for may start at any sequence. Every batch received is recorded in rx[] (id,
 * epoch, sequence, count, the error answered). Knobs: fence (every batch with a producer id gets
 * INVALID_PRODUCER_EPOCH), oos_next (that many batches answered OUT_OF_ORDER_SEQUENCE_NUMBER
 * whatever their sequence), init_epoch (the epoch InitProducerId gives), drop_next (that many
 * Produce requests are written to the log but the
 * connection is shut instead of answering: the client must send them again), slow_us (a pause
 * before each Produce, so that the client's requests pile up in flight).
 *
 * Other APIs: a suite may set fb.extra (called, under fb.mu, for every API key the switch below
 * does not handle; it decodes the request and encodes the response body into w, returning 0, or
 * -errno for a request it refuses) and list what it serves in fb.extra_apis / fb.n_extra_apis,
 * which ApiVersions then advertises too (test_sl_admin.c serves the admin APIs this way). A
 * Metadata request for every topic (null list) answers with "t".
 */
#ifndef SPLICELOG_SL_FAKE_BROKER_H
#define SPLICELOG_SL_FAKE_BROKER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kp_batch.h"
#include "kp_buf.h"
#include "kp_msg.h"

/* The fake broker writes responses as positional initialisers in wire order; fields appended
 * to the kp_msg structs for later versions are meant to stay zero here. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define FB_MAXB 4096
#define FB_MAXP 4
#define FB_MAXC 32

struct fb_rx {
    int64_t pid;
    int16_t epoch;
    int32_t seq;
    int32_t count;
    int16_t err;
};

struct fb_part {
    /* producer state (one producer at a time is enough here) */
    int64_t pid; /* -1: none */
    int16_t epoch;
    struct {
        int32_t first, last;
        int64_t offset;
    } ring[5];
    int nring; /* newest last */
    struct fb_rx rx[FB_MAXB];
    int nrx;
    uint8_t *log;
    size_t len;
    size_t cap;
    int64_t next_offset;
    int64_t base[FB_MAXB];
    size_t pos[FB_MAXB];
    int nb;
};

struct fake_broker {
    int lfd;
    int port;
    int nparts;
    pthread_t th;
    pthread_t conn_th[FB_MAXC];
    int conn_fd[FB_MAXC];
    int nconn;
    int stop; /* atomic */
    pthread_mutex_t mu;
    /* script */
    int produce_fail_next;
    int16_t produce_err;
    bool not_leader;
    bool idemp_off;
    bool fence;
    int drop_next;
    int oos_next;       /* that many idempotent batches answered OUT_OF_ORDER, not written */
    int16_t init_epoch; /* the epoch InitProducerId hands out */
    int slow_us;
    int64_t next_pid;
    int init_pids;            /* InitProducerId requests answered */
    int16_t init_pid_version; /* of the last one */
    int64_t init_pid_req_pid; /* its producer_id field (v3+; -1 otherwise) */
    int dups;
    int oos;
    unsigned chaos; /* when nonzero: a seed; every response gets 1-3 random bytes changed
                     * after its correlation id (the client must cope, never crash) */
    int (*extra)(int16_t api_key, int16_t version, struct kp_rd *rd, struct kp_arena *a,
                 struct kp_wr *w);
    const struct kp_api_range *extra_apis;
    int n_extra_apis;
    /* state */
    struct fb_part part[FB_MAXP];
    /* observations */
    int fetches;
    int partial_first;
    int partial_trailing;
    int metadata;
    int produce_refused;
    int bad_requests; /* anything the broker could not parse or validate */
};

static struct fake_broker fb;

static int fb_io(int fd, void *buf, size_t len, bool wr)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void fb_append(struct fb_part *fp, const uint8_t *p, size_t n)
{
    struct kp_batch_hdr h;
    if (kp_batch_validate(p, n, KP_BATCH_FROM_PRODUCER, &h) != 0 || fp->nb >= FB_MAXB) {
        fb.bad_requests++;
        return;
    }
    if (fp->len + n > fp->cap) {
        fp->cap = (fp->len + n) * 2;
        fp->log = realloc(fp->log, fp->cap);
    }
    memcpy(fp->log + fp->len, p, n);
    kp_batch_set_base_offset(fp->log + fp->len, fp->next_offset);
    fp->base[fp->nb] = fp->next_offset;
    fp->pos[fp->nb] = fp->len;
    fp->nb++;
    fp->len += n;
    fp->next_offset += h.last_offset_delta + 1;
}

/* The producer-state check of one batch (before fb_append). 0: append it; -1: a duplicate,
 * *dup_offset set; else the Kafka error to answer. */
static int16_t fb_check_seq(struct fb_part *fp, const uint8_t *p, size_t n, int64_t *dup_offset)
{
    struct kp_batch_hdr h;
    if (kp_batch_validate(p, n, KP_BATCH_FROM_PRODUCER, &h) != 0)
        return 0; /* fb_append counts it */
    int16_t err = 0;
    if (h.producer_id >= 0) {
        int32_t last = kp_batch_seq_add(h.base_sequence, h.last_offset_delta);
        bool same = fp->pid == h.producer_id;
        if (fb.fence) {
            err = KP_ERR_INVALID_PRODUCER_EPOCH;
        } else if (fb.oos_next > 0) {
            fb.oos_next--;
            err = KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        } else if (same && h.producer_epoch == fp->epoch) {
            for (int i = 0; i < fp->nring; i++)
                if (fp->ring[i].first == h.base_sequence && fp->ring[i].last == last) {
                    *dup_offset = fp->ring[i].offset;
                    fb.dups++;
                    err = -1;
                }
            int32_t prev = fp->nring ? fp->ring[fp->nring - 1].last : -1;
            if (err == 0 && h.base_sequence != kp_batch_seq_add(prev, 1) &&
                !(prev < 0 && h.base_sequence == 0))
                err = KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        } else if (same && h.producer_epoch < fp->epoch) {
            err = KP_ERR_INVALID_PRODUCER_EPOCH;
        } else if (same && h.base_sequence != 0) {
            err = KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER; /* a new epoch starts at 0 */
        }
        if (err == KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER)
            fb.oos++;
        if (fp->nrx < FB_MAXB)
            fp->rx[fp->nrx++] = (struct fb_rx){h.producer_id, h.producer_epoch, h.base_sequence,
                                               h.record_count, err < 0 ? 0 : err};
        if (err == 0) {
            if (!same || h.producer_epoch != fp->epoch) {
                fp->pid = h.producer_id;
                fp->epoch = h.producer_epoch;
                fp->nring = 0;
            }
            if (fp->nring == 5) {
                memmove(&fp->ring[0], &fp->ring[1], 4 * sizeof(fp->ring[0]));
                fp->nring = 4;
            }
            fp->ring[fp->nring].first = h.base_sequence;
            fp->ring[fp->nring].last = last;
            fp->ring[fp->nring].offset = fp->next_offset;
            fp->nring++;
        }
    }
    return err;
}

static struct fb_part *fb_part_of(struct kp_str topic, int32_t p)
{
    if (!kp_str_eq(topic, "t") || p < 0 || p >= fb.nparts)
        return NULL;
    return &fb.part[p];
}

/* Fetch of one partition: the records bytes [from, from + n) of its log. */
static int16_t fb_fetch_range(struct fb_part *fp, int64_t off, int32_t pmax, size_t *from,
                              size_t *n)
{
    *from = *n = 0;
    if (!fp)
        return 3;
    if (off > fp->next_offset || off < 0)
        return 1; /* OFFSET_OUT_OF_RANGE */
    if (off == fp->next_offset)
        return 0;
    int i = fp->nb - 1;
    while (i > 0 && fp->base[i] > off)
        i--;
    *from = fp->pos[i];
    *n = fp->len - *from;
    if (*n > (size_t)pmax)
        *n = (size_t)pmax;
    size_t first = (i + 1 < fp->nb ? fp->pos[i + 1] : fp->len) - *from;
    if (*n < first) {
        fb.partial_first++;
    } else {
        int k = i;
        while (k < fp->nb && fp->pos[k] < *from + *n)
            k++;
        size_t end = k < fp->nb ? fp->pos[k] : fp->len;
        if (end != *from + *n && *from + *n < fp->len)
            fb.partial_trailing++;
    }
    return 0;
}

/* Handles one request frame (after the size) with the arena a; writes the whole response frame
 * into w (false: none). */
static bool fb_handle(const uint8_t *req, size_t len, struct kp_arena *a, struct kp_wr *w,
                      bool *idle, int16_t *api_key)
{
    struct kp_rd rd;
    kp_rd_init(&rd, req, len);
    struct kp_req_hdr h;
    if (kp_req_hdr_decode(&rd, &h) != 0) {
        fb.bad_requests++;
        return false;
    }
    *api_key = h.api_key;
    size_t frame = kp_frame_begin(w);
    kp_resp_hdr_encode(w, h.api_key, h.api_version, h.correlation_id);
    int16_t v = h.api_version;
    int rc = -EINVAL;
    bool respond = true;
    switch (h.api_key) {
    case KP_API_API_VERSIONS: {
        static const struct kp_api_range keys[] = {
            {KP_API_PRODUCE, 3, 7},  {KP_API_FETCH, 4, 11},       {KP_API_LIST_OFFSETS, 1, 2},
            {KP_API_METADATA, 0, 4}, {KP_API_API_VERSIONS, 0, 3}, {KP_API_INIT_PRODUCER_ID, 0, 4},
        };
        struct kp_api_versions_req q;
        rc = kp_api_versions_req_decode(&rd, v, a, &q);
        int nbase = fb.idemp_off ? 5 : 6; /* InitProducerId last: left out when idemp_off */
        int nk = nbase + fb.n_extra_apis;
        struct kp_api_range *all = kp_arena_alloc(a, (size_t)nk, sizeof(*all));
        memcpy(all, keys, (size_t)nbase * sizeof(*all));
        for (int i = 0; i < fb.n_extra_apis; i++)
            all[nbase + i] = fb.extra_apis[i];
        struct kp_api_versions_resp r = {0, nk, all, 0};
        if (!rc)
            rc = kp_api_versions_resp_encode(w, v, &r);
        break;
    }
    case KP_API_INIT_PRODUCER_ID: {
        struct kp_init_producer_id_req q;
        rc = kp_init_producer_id_req_decode(&rd, v, a, &q);
        if (rc)
            break;
        fb.init_pids++;
        fb.init_pid_version = v;
        fb.init_pid_req_pid = v >= 3 ? q.producer_id : -1;
        struct kp_init_producer_id_resp r = {0, 0, 1000 + fb.next_pid++, fb.init_epoch};
        rc = kp_init_producer_id_resp_encode(w, v, &r);
        break;
    }
    case KP_API_METADATA: {
        fb.metadata++;
        if (fb.not_leader && fb.produce_refused > 0)
            fb.not_leader = false;
        struct kp_metadata_req q;
        rc = kp_metadata_req_decode(&rd, v, a, &q);
        if (rc)
            break;
        static const int32_t node0[] = {0};
        struct kp_metadata_broker b = {0, kp_str_of("127.0.0.1"), fb.port, KP_STR_NULL};
        static const struct kp_str all_t = {"t", 1};
        bool all = q.n_topics < 0;
        if (all) {
            q.n_topics = 1;
            q.topics = &all_t;
        }
        int32_t nt = q.n_topics;
        struct kp_metadata_topic *ts = kp_arena_alloc(a, (size_t)nt + 1, sizeof(*ts));
        struct kp_metadata_partition *ps = kp_arena_alloc(a, FB_MAXP, sizeof(*ps));
        for (int p = 0; p < fb.nparts; p++)
            ps[p] = (struct kp_metadata_partition){0, p, 0, 1, node0, 1, node0};
        for (int32_t i = 0; i < nt; i++) {
            bool t = kp_str_eq(q.topics[i], "t");
            ts[i] =
                (struct kp_metadata_topic){t ? 0 : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, q.topics[i],
                                           false, t ? fb.nparts : 0, t ? ps : NULL};
        }
        struct kp_metadata_resp r = {0, 1, &b, KP_STR_NULL, 0, nt, ts};
        rc = kp_metadata_resp_encode(w, v, &r);
        break;
    }
    case KP_API_PRODUCE: {
        struct kp_produce_req q;
        rc = kp_produce_req_decode(&rd, v, a, &q);
        if (rc)
            break;
        bool refuse = fb.produce_fail_next > 0 || fb.not_leader;
        if (refuse) {
            if (fb.produce_fail_next > 0)
                fb.produce_fail_next--;
            fb.produce_refused++;
        }
        int16_t refuse_err = fb.not_leader ? KP_ERR_NOT_LEADER_OR_FOLLOWER : fb.produce_err;
        struct kp_produce_resp_topic *rt = kp_arena_alloc(a, (size_t)q.n_topics + 1, sizeof(*rt));
        for (int32_t i = 0; i < q.n_topics; i++) {
            const struct kp_produce_req_topic *t = &q.topics[i];
            struct kp_produce_resp_partition *rp =
                kp_arena_alloc(a, (size_t)t->n_partitions + 1, sizeof(*rp));
            for (int32_t j = 0; j < t->n_partitions; j++) {
                const struct kp_produce_req_partition *pp = &t->partitions[j];
                struct fb_part *fp = fb_part_of(t->name, pp->partition_index);
                int16_t err = refuse ? refuse_err : fp ? 0 : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                int64_t base = fp && !err ? fp->next_offset : -1;
                int64_t dup = -1;
                if (pp->records.len <= 0)
                    fb.bad_requests++;
                else if (!err && (err = fb_check_seq(fp, pp->records.ptr, (size_t)pp->records.len,
                                                     &dup)) < 0)
                    err = 0, base = dup; /* a duplicate: the original offset, nothing written */
                else if (!err)
                    fb_append(fp, pp->records.ptr, (size_t)pp->records.len);
                if (err)
                    base = -1;
                rp[j] = (struct kp_produce_resp_partition){pp->partition_index, err, base, -1, 0};
            }
            rt[i] = (struct kp_produce_resp_topic){t->name, t->n_partitions, rp};
        }
        struct kp_produce_resp r = {q.n_topics, rt, 0};
        rc = kp_produce_resp_encode(w, v, &r);
        respond = q.acks != 0;
        break;
    }
    case KP_API_LIST_OFFSETS: {
        struct kp_list_offsets_req q;
        rc = kp_list_offsets_req_decode(&rd, v, a, &q);
        if (rc)
            break;
        struct kp_list_offsets_resp_topic *rt =
            kp_arena_alloc(a, (size_t)q.n_topics + 1, sizeof(*rt));
        for (int32_t i = 0; i < q.n_topics; i++) {
            const struct kp_list_offsets_req_topic *t = &q.topics[i];
            struct kp_list_offsets_resp_partition *rp =
                kp_arena_alloc(a, (size_t)t->n_partitions + 1, sizeof(*rp));
            for (int32_t j = 0; j < t->n_partitions; j++) {
                int32_t p = t->partitions[j].partition_index;
                int64_t ts = t->partitions[j].timestamp;
                struct fb_part *fp = fb_part_of(t->name, p);
                rp[j] = (struct kp_list_offsets_resp_partition){
                    p, fp ? 0 : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, -1,
                    !fp                              ? -1
                    : ts == KP_LIST_OFFSETS_EARLIEST ? 0
                                                     : fp->next_offset};
            }
            rt[i] = (struct kp_list_offsets_resp_topic){t->name, t->n_partitions, rp};
        }
        struct kp_list_offsets_resp r = {0, q.n_topics, rt};
        rc = kp_list_offsets_resp_encode(w, v, &r);
        break;
    }
    case KP_API_FETCH: {
        fb.fetches++;
        struct kp_fetch_req q;
        rc = kp_fetch_req_decode(&rd, v, a, &q);
        if (rc)
            break;
        bool any = false;
        struct kp_fetch_resp_topic *rt = kp_arena_alloc(a, (size_t)q.n_topics + 1, sizeof(*rt));
        for (int32_t i = 0; i < q.n_topics; i++) {
            const struct kp_fetch_req_topic *t = &q.topics[i];
            struct kp_fetch_resp_partition *rp =
                kp_arena_alloc(a, (size_t)t->n_partitions + 1, sizeof(*rp));
            for (int32_t j = 0; j < t->n_partitions; j++) {
                const struct kp_fetch_req_partition *qp = &t->partitions[j];
                struct fb_part *fp = fb_part_of(t->topic, qp->partition);
                size_t from, n;
                int16_t err =
                    fb_fetch_range(fp, qp->fetch_offset, qp->partition_max_bytes, &from, &n);
                any |= n > 0 || err;
                rp[j] = (struct kp_fetch_resp_partition){
                    .partition = qp->partition,
                    .error_code = err,
                    .high_watermark = fp ? fp->next_offset : -1,
                    .last_stable_offset = fp ? fp->next_offset : -1,
                    .log_start_offset = 0,
                    .n_aborted = -1,
                    .preferred_read_replica = -1,
                    .records = {fp ? fp->log + from : NULL, (int32_t)n},
                };
            }
            rt[i] = (struct kp_fetch_resp_topic){t->topic, t->n_partitions, rp};
        }
        struct kp_fetch_resp r = {0, 0, 0, q.n_topics, rt};
        rc = kp_fetch_resp_encode(w, v, &r);
        *idle = !any;
        break;
    }
    default:
        if (fb.extra)
            rc = fb.extra(h.api_key, v, &rd, a, w);
        break;
    }
    if (rc == 0)
        rc = kp_frame_end(w, frame);
    if (rc) {
        fb.bad_requests++;
        return false;
    }
    return respond;
}

static void *fb_conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    for (;;) {
        uint8_t hdr[4];
        if (fb_io(fd, hdr, 4, false))
            break;
        uint32_t sz = kp_load_be32(hdr);
        if (sz > (64u << 20))
            break;
        uint8_t *req = malloc(sz ? sz : 1);
        if (fb_io(fd, req, sz, false)) {
            free(req);
            break;
        }
        pthread_mutex_lock(&fb.mu);
        size_t cap = 4096 + 64 * (size_t)sz;
        for (int p = 0; p < fb.nparts; p++)
            cap += fb.part[p].len;
        uint8_t *buf = malloc(cap);
        struct kp_wr w;
        kp_wr_init(&w, buf, cap);
        size_t acap = 4096 + 16 * (size_t)sz;
        void *amem = malloc(acap);
        struct kp_arena a;
        kp_arena_init(&a, amem, acap);
        bool idle = false;
        int16_t key = -1;
        int slow = fb.slow_us;
        if (slow > 0 && sz >= 4 && kp_load_be16(req) == KP_API_PRODUCE) {
            pthread_mutex_unlock(&fb.mu);
            usleep((useconds_t)slow);
            pthread_mutex_lock(&fb.mu);
        }
        bool respond = fb_handle(req, sz, &a, &w, &idle, &key);
        bool drop = key == KP_API_PRODUCE && fb.drop_next > 0;
        if (drop)
            fb.drop_next--;
        pthread_mutex_unlock(&fb.mu);
        if (drop) {
            /* Written but never answered: the client sees the connection go. */
            free(amem);
            free(req);
            free(buf);
            shutdown(fd, SHUT_RDWR);
            break;
        }
        free(amem);
        free(req);
        if (idle)
            usleep(5000); /* nothing to fetch: a short long-poll */
        int rc = 0;
        if (respond && kp_wr_ok(&w)) {
            pthread_mutex_lock(&fb.mu);
            if (fb.chaos && kp_wr_len(&w) > 8) {
                int flips = 1 + (int)(rand_r(&fb.chaos) % 3);
                for (int i = 0; i < flips; i++)
                    buf[8 + rand_r(&fb.chaos) % (kp_wr_len(&w) - 8)] ^=
                        (uint8_t)(1 + rand_r(&fb.chaos) % 255);
            }
            pthread_mutex_unlock(&fb.mu);
            rc = fb_io(fd, buf, kp_wr_len(&w), true);
        }
        free(buf);
        if (rc)
            break;
    }
    return NULL;
}

static void *fb_main(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&fb.stop, __ATOMIC_ACQUIRE)) {
        struct pollfd p = {fb.lfd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(fb.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (fb.nconn == FB_MAXC) {
            close(fd);
            continue;
        }
        fb.conn_fd[fb.nconn] = fd;
        pthread_create(&fb.conn_th[fb.nconn], NULL, fb_conn_main, (void *)(intptr_t)fd);
        fb.nconn++;
    }
    return NULL;
}

static int fb_start(int nparts)
{
    memset(&fb, 0, sizeof(fb));
    pthread_mutex_init(&fb.mu, NULL);
    fb.nparts = nparts;
    for (int p = 0; p < FB_MAXP; p++)
        fb.part[p].pid = -1;
    fb.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    if (bind(fb.lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fb.lfd, 16))
        return -errno;
    socklen_t sl = sizeof(sa);
    getsockname(fb.lfd, (struct sockaddr *)&sa, &sl);
    fb.port = ntohs(sa.sin_port);
    return pthread_create(&fb.th, NULL, fb_main, NULL) ? -EAGAIN : 0;
}

/* Call after every client is freed (their connections closed). */
static void fb_stop(void)
{
    __atomic_store_n(&fb.stop, 1, __ATOMIC_RELEASE);
    pthread_join(fb.th, NULL);
    for (int i = 0; i < fb.nconn; i++) {
        shutdown(fb.conn_fd[i], SHUT_RDWR);
        pthread_join(fb.conn_th[i], NULL);
        close(fb.conn_fd[i]);
    }
    close(fb.lfd);
    for (int p = 0; p < FB_MAXP; p++)
        free(fb.part[p].log);
    pthread_mutex_destroy(&fb.mu);
}

#endif
