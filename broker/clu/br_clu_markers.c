/*
 * br_clu_markers — WriteTxnMarkers to other brokers (br_clu_markers.h). Each connection is a
 * link (br_clu_link.h, PLAINTEXT or TLS) whose send and receive timeouts are set, before every
 * request, to what is left of the caller's deadline, so a call never outlives its deadline by
 * more than one connect (CONNECT_MS at most, and never past the deadline either); a TLS
 * link's handshake is done at connect, within ssl.handshake.timeout.ms and the deadline.
 */
#include "br_clu_markers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "br_clock.h"
#include "br_clu_link.h"
#include "br_log.h"
#include "kp_api.h"
#include "kp_msg.h"
#include "kp_msg_markers.h"

#define CONNECT_MS 3000
#define CONNS_MAX  256       /* broker connections kept */
#define RX_MAX     (1 << 20) /* an answer names at most the partitions asked */

/* Kafka's error codes this file acts on (kp_api.h has them all). */
#define E_NONE            0
#define E_UNKNOWN_TOPIC   3
#define E_CLUSTER_AUTHZ   31
#define E_INVALID_EPOCH   47
#define E_COORD_FENCED    52
#define E_PRODUCER_FENCED 90

struct mconn {
    int32_t id;
    pthread_mutex_t mu;       /* one request in flight */
    struct br_clu_link *link; /* NULL: closed */
    char host[256];
    int32_t port;
    int32_t corr;
};

struct br_clu_markers {
    struct br_clu_markers_conf conf;
    char client_id[48];
    pthread_mutex_t mu; /* conns */
    struct mconn *conns[CONNS_MAX];
    int nconns;
};

int br_clu_markers_new(const struct br_clu_markers_conf *conf, struct br_clu_markers **out)
{
    *out = NULL;
    if (!conf || !conf->leader || !conf->endpoint)
        return -EINVAL;
    struct br_clu_markers *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->conf = *conf;
    snprintf(m->client_id, sizeof m->client_id, "splicelog-txn-coordinator-%d",
             (int)conf->broker_id);
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return 0;
}

void br_clu_markers_free(struct br_clu_markers *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nconns; i++) {
        br_clu_link_close(m->conns[i]->link);
        pthread_mutex_destroy(&m->conns[i]->mu);
        free(m->conns[i]);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Broker id's connection slot (made on first use); NULL when out of memory or slots. */
static struct mconn *conn_of(struct br_clu_markers *m, int32_t id)
{
    struct mconn *c = NULL;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < m->nconns && !c; i++)
        if (m->conns[i]->id == id)
            c = m->conns[i];
    if (!c && m->nconns < CONNS_MAX && (c = calloc(1, sizeof(*c)))) {
        c->id = id;
        pthread_mutex_init(&c->mu, NULL);
        m->conns[m->nconns++] = c;
    }
    pthread_mutex_unlock(&m->mu);
    return c;
}

static void conn_close(struct mconn *c)
{
    br_clu_link_close(c->link);
    c->link = NULL;
}

static int map_error(int16_t e)
{
    switch (e) {
    case E_NONE:
        return 0;
    case E_UNKNOWN_TOPIC:
        return -ENOENT;
    case E_INVALID_EPOCH:
    case E_PRODUCER_FENCED:
        return -ESTALE;
    case E_COORD_FENCED:
        return -EREMCHG;
    default:
        return -EAGAIN; /* NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, ... : retried */
    }
}

/* One request of the k partitions idx[] to leader c, its answers into their rc. */
struct batch {
    int64_t pid;
    int16_t epoch;
    bool commit;
    int32_t coordinator_epoch;
    struct br_clu_marker_part *parts;
    const int *idx;
    int k;
};

static int encode(struct br_clu_markers *m, struct mconn *c, const struct batch *b, uint8_t **buf,
                  size_t *len)
{
    struct kp_write_txn_markers_topic *topics = calloc((size_t)b->k, sizeof(*topics));
    int32_t *ps = calloc((size_t)b->k, sizeof(*ps));
    int rc = topics && ps ? 0 : -ENOMEM;
    /* partitions grouped by topic: ps laid out topic after topic */
    int nt = 0, np = 0;
    bool *used = rc == 0 ? calloc((size_t)b->k, sizeof(*used)) : NULL;
    if (rc == 0 && !used)
        rc = -ENOMEM;
    for (int i = 0; i < b->k && rc == 0; i++) {
        if (used[i])
            continue;
        const struct br_clu_marker_part *pi = &b->parts[b->idx[i]];
        topics[nt] = (struct kp_write_txn_markers_topic){
            .name = {pi->topic, (int32_t)pi->topic_len}, .n_partitions = 0, .partitions = &ps[np]};
        for (int j = i; j < b->k; j++) {
            const struct br_clu_marker_part *pj = &b->parts[b->idx[j]];
            if (used[j] || pj->topic_len != pi->topic_len ||
                memcmp(pj->topic, pi->topic, pi->topic_len) != 0)
                continue;
            used[j] = true;
            ps[np++] = pj->partition;
            topics[nt].n_partitions++;
        }
        nt++;
    }
    struct kp_write_txn_marker mk = {.producer_id = b->pid,
                                     .producer_epoch = b->epoch,
                                     .transaction_result = b->commit,
                                     .n_topics = nt,
                                     .topics = topics,
                                     .coordinator_epoch = b->coordinator_epoch};
    struct kp_write_txn_markers_req req = {1, &mk};
    size_t cap = 512 + (size_t)b->k * 8; /* header, client id, marker, tag buffers */
    for (int i = 0; i < nt; i++)
        cap += (size_t)topics[i].name.len + 8;
    uint8_t *out = rc == 0 ? malloc(cap) : NULL;
    if (rc == 0 && !out)
        rc = -ENOMEM;
    if (rc == 0) {
        struct kp_wr wr;
        kp_wr_init(&wr, out, cap);
        size_t pos = kp_frame_begin(&wr);
        struct kp_req_hdr h = {KP_API_WRITE_TXN_MARKERS, 1, ++c->corr, kp_str_of(m->client_id)};
        rc = kp_req_hdr_encode(&wr, &h);
        if (rc == 0)
            rc = kp_write_txn_markers_req_encode(&wr, 1, &req);
        if (rc == 0)
            rc = kp_frame_end(&wr, pos);
        *len = kp_wr_len(&wr);
    }
    free(used);
    free(topics);
    free(ps);
    if (rc < 0) {
        free(out);
        return rc;
    }
    *buf = out;
    return 0;
}

/* The answer's partitions into the batch's rc (a partition not answered stays -EAGAIN). */
static void take_answer(const struct kp_write_txn_markers_resp *resp, const struct batch *b,
                        int32_t leader)
{
    for (int32_t i = 0; i < resp->n_markers; i++) {
        const struct kp_write_txn_marker_result *mr = &resp->markers[i];
        if (mr->producer_id != b->pid)
            continue;
        for (int32_t t = 0; t < mr->n_topics; t++) {
            const struct kp_write_txn_markers_topic_result *tr = &mr->topics[t];
            for (int32_t p = 0; p < tr->n_partitions; p++) {
                int16_t e = tr->partitions[p].error_code;
                for (int k = 0; k < b->k; k++) {
                    struct br_clu_marker_part *pt = &b->parts[b->idx[k]];
                    if (pt->partition != tr->partitions[p].partition_index ||
                        (size_t)(tr->name.len > 0 ? tr->name.len : 0) != pt->topic_len ||
                        (pt->topic_len && memcmp(tr->name.ptr, pt->topic, pt->topic_len) != 0))
                        continue;
                    pt->rc = map_error(e);
                    if (e == E_CLUSTER_AUTHZ)
                        br_warn_limited("transaction markers: broker %d refuses WriteTxnMarkers "
                                        "(CLUSTER_AUTHORIZATION_FAILED): the inter-broker "
                                        "listener's principal needs CLUSTER_ACTION on the "
                                        "cluster",
                                        (int)leader);
                }
            }
        }
    }
}

/* Under c->mu: one request and its answer; 0 (answers taken) or -errno (the connection is
 * closed; the batch's partitions stay -EAGAIN). */
static int exchange(struct br_clu_markers *m, struct mconn *c, const struct batch *b,
                    int64_t deadline_ms)
{
    char host[sizeof c->host];
    int32_t port = 0;
    if (m->conf.endpoint(m->conf.arg, c->id, host, sizeof host, &port) < 0)
        return -EHOSTUNREACH; /* not live, or no such listener */
    if (c->link && (c->port != port || strcmp(c->host, host) != 0))
        conn_close(c); /* it moved */
    int64_t left = deadline_ms - br_now_ms();
    if (left <= 0)
        return -ETIMEDOUT;
    if (!c->link) {
        int rc = br_clu_link_open(m->conf.tls, host, port, left < CONNECT_MS ? left : CONNECT_MS,
                                  &c->link);
        if (rc < 0)
            return rc;
        left = deadline_ms - br_now_ms();
        int64_t hs = m->conf.handshake_ms > 0 ? m->conf.handshake_ms : CONNECT_MS;
        rc = br_clu_link_handshake_wait(c->link, left < hs ? left : hs);
        if (rc < 0) {
            br_warn_limited("transaction markers: TLS handshake with broker %d at %s:%d "
                            "failed: %s (%s; retried)",
                            (int)c->id, host, (int)port, strerror(-rc), br_clu_link_error(c->link));
            conn_close(c);
            return rc;
        }
        snprintf(c->host, sizeof c->host, "%s", host);
        c->port = port;
    }
    uint8_t *req = NULL;
    size_t len = 0;
    int rc = encode(m, c, b, &req, &len);
    if (rc < 0)
        return rc;
    br_clu_link_timeouts(c->link, deadline_ms - br_now_ms());
    struct br_clu_answer ans;
    rc = br_clu_link_call(c->link, req, len, RX_MAX, KP_API_WRITE_TXN_MARKERS, 1, c->corr, &ans);
    free(req);
    if (rc < 0)
        goto out;
    struct kp_write_txn_markers_resp resp;
    rc = kp_write_txn_markers_resp_decode(&ans.rd, 1, &ans.a, &resp);
    if (rc == 0)
        take_answer(&resp, b, c->id);
    br_clu_answer_free(&ans);
out:
    if (rc < 0)
        conn_close(c); /* what is on the wire now is unknown */
    return rc;
}

int br_clu_markers_write(struct br_clu_markers *m, int64_t pid, int16_t epoch, bool commit,
                         int32_t coordinator_epoch, struct br_clu_marker_part *parts, int n,
                         int64_t deadline_ms)
{
    if (!m || n < 0 || (n > 0 && !parts) || pid < 0)
        return -EINVAL;
    if (n == 0)
        return 0;
    int32_t *lead = malloc((size_t)n * sizeof(*lead));
    int *idx = malloc((size_t)n * sizeof(*idx));
    if (!lead || !idx) {
        free(lead);
        free(idx);
        for (int i = 0; i < n; i++)
            parts[i].rc = -EAGAIN;
        return 0;
    }
    for (int i = 0; i < n; i++) {
        parts[i].rc = -EAGAIN;
        lead[i] =
            m->conf.leader(m->conf.arg, parts[i].topic, parts[i].topic_len, parts[i].partition);
        if (lead[i] == -ENOENT)
            parts[i].rc = -ENOENT;
    }
    for (int i = 0; i < n; i++) {
        if (lead[i] < 0)
            continue; /* none (-EAGAIN), or no such partition (-ENOENT), or sent */
        int32_t l = lead[i];
        int k = 0;
        for (int j = i; j < n; j++)
            if (lead[j] == l) {
                idx[k++] = j;
                lead[j] = -1;
            }
        struct mconn *c = conn_of(m, l);
        if (!c)
            continue;
        struct batch b = {pid, epoch, commit, coordinator_epoch, parts, idx, k};
        pthread_mutex_lock(&c->mu);
        int rc = exchange(m, c, &b, deadline_ms);
        pthread_mutex_unlock(&c->mu);
        if (rc < 0)
            br_warn_limited("transaction markers: broker %d: %s (retried)", (int)l, strerror(-rc));
    }
    free(lead);
    free(idx);
    return 0;
}
