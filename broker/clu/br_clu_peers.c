/*
 * br_clu_peers — a topic change is answered once every broker shows it (docs/cluster.md M2,
 * "What CreateTopics' answer means"). Brokers learn partition states through their own
 * ZooKeeper watches, each at its own pace, and the controller puts its decisions into its own
 * view at once: without this wait, the broker that answered CreateTopics (the controller, most
 * of all) could answer while another broker still listed a new partition without a leader
 * (LEADER_NOT_AVAILABLE, leader -1), or not yet know it led one (NOT_LEADER_OR_FOLLOWER), and a
 * client that asked that broker next kept the hole (librdkafka's 0081_admin:
 * query_watermark_offsets "Local: Unknown partition" right after CreateTopics). Kafka's brokers
 * are told by one UpdateMetadata sent to all at once; this asks them afterwards instead.
 *
 * How (br_clu__peers_wait, on the thread that made the change: the admin thread): every other
 * live broker with an endpoint of conf.peer_listener (inter.broker.listener.name) is asked, one
 * after another, Metadata v7 for the topic alone (allow_auto_topic_creation false: the question
 * never creates anything), on a link of its own (br_clu_link.h: PLAINTEXT, or TLS with
 * conf.peer_tls), again every POLL_MS while its answer lacks the topic, np partitions or a
 * leader of one of them. A broker that cannot be reached, does not answer within PEER_IO_MS,
 * or answers another error (TOPIC_AUTHORIZATION_FAILED: with an authorizer, the inter-broker
 * principal needs DESCRIBE on the topic) is not waited for any more (a rate-limited warning
 * names it): the wait only ever ends early, never fails the change. Everything within the
 * caller's deadline (each connect and each read bounded by what is left of it). A peer answers
 * a topic of 10,000 partitions or more on its admin thread (br_api_meta.c): two brokers each
 * waiting for the other's such answer wait PEER_IO_MS, then go on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "br_clock.h"
#include "br_clu_int.h"
#include "br_clu_link.h"
#include "br_log.h"
#include "kp_api.h"
#include "kp_msg.h"

#define CONNECT_MS 3000
#define PEER_IO_MS 2000       /* one answer of one broker */
#define POLL_MS    2          /* between two questions to a broker that does not show it yet */
#define RX_MAX     (16 << 20) /* one topic's answer (ST_MAX_PARTITIONS partitions at most) */
#define MD_VERSION 7          /* v4+: allow_auto_topic_creation; v7: non-flexible */
#define NODES_MAX  1024

/* Kafka's error codes this file acts on (kp_api.h has them all). */
#define E_NONE          0
#define E_UNKNOWN_TOPIC 3
#define E_LEADER_NA     5

/* ask()'s verdicts (above 0: below are its errors) */
enum answer { SHOWN = 1, NOT_YET = 2, REFUSED = 3 };

static int64_t left_of(int64_t deadline_ms) { return deadline_ms - br_now_ms(); }

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* The answer's verdict for topic name of np partitions; *why the error code seen. */
static enum answer judge(const struct kp_metadata_resp *md, const char *name, int32_t np,
                         bool *seen, int16_t *why)
{
    *why = E_NONE;
    size_t nl = strlen(name);
    for (int32_t i = 0; i < md->n_topics; i++) {
        const struct kp_metadata_topic *t = &md->topics[i];
        if (t->name.len < 0 || (size_t)t->name.len != nl || memcmp(t->name.ptr, name, nl) != 0)
            continue;
        if (t->error_code == E_UNKNOWN_TOPIC || t->error_code == E_LEADER_NA)
            return NOT_YET; /* (not read yet there; "being created") */
        if (t->error_code != E_NONE) {
            *why = t->error_code;
            return REFUSED;
        }
        memset(seen, 0, (size_t)np * sizeof(*seen));
        int32_t led = 0;
        for (int32_t k = 0; k < t->n_partitions; k++) {
            const struct kp_metadata_partition *p = &t->partitions[k];
            if (p->partition_index < 0 || p->partition_index >= np || seen[p->partition_index] ||
                p->error_code != E_NONE || p->leader_id < 0)
                continue;
            seen[p->partition_index] = true;
            led++;
        }
        return led == np ? SHOWN : NOT_YET;
    }
    return NOT_YET;
}

/* One question to the broker on l and its answer's verdict; -errno when the exchange failed
 * (what is on the wire then is unknown: the link is not used again). */
static int ask(struct br_clu *c, struct br_clu_link *l, int32_t corr, const char *name, int32_t np,
               bool *seen, int16_t *why)
{
    struct kp_str topic = kp_str_of(name);
    struct kp_metadata_req req = {.n_topics = 1, .topics = &topic};
    char client_id[48];
    snprintf(client_id, sizeof client_id, "splicelog-broker-%d", (int)c->conf.broker_id);
    size_t cap = 256 + strlen(name);
    uint8_t *out = malloc(cap);
    if (!out)
        return -ENOMEM;
    struct kp_wr wr;
    kp_wr_init(&wr, out, cap);
    size_t pos = kp_frame_begin(&wr);
    struct kp_req_hdr h = {KP_API_METADATA, MD_VERSION, corr, kp_str_of(client_id)};
    int rc = kp_req_hdr_encode(&wr, &h);
    if (rc == 0)
        rc = kp_metadata_req_encode(&wr, MD_VERSION, &req);
    if (rc == 0)
        rc = kp_frame_end(&wr, pos);
    struct br_clu_answer ans;
    if (rc == 0)
        rc = br_clu_link_call(l, out, kp_wr_len(&wr), RX_MAX, KP_API_METADATA, MD_VERSION, corr,
                              &ans);
    free(out);
    if (rc < 0)
        return rc;
    struct kp_metadata_resp md;
    rc = kp_metadata_resp_decode(&ans.rd, MD_VERSION, &ans.a, &md) < 0 ? -EPROTO : 0;
    if (rc == 0)
        rc = (int)judge(&md, name, np, seen, why);
    br_clu_answer_free(&ans);
    return rc;
}

/* Asks broker n until it shows topic name led, refuses, fails or deadline_ms passes: true when
 * it showed it. */
static bool peer_shows(struct br_clu *c, const struct br_clu_node *n, const char *name, int32_t np,
                       bool *seen, int64_t deadline_ms)
{
    struct br_clu_link *l = NULL;
    int64_t left = left_of(deadline_ms);
    if (left <= 0)
        return false;
    int rc = br_clu_link_open(c->conf.peer_tls, n->host, n->port, min64(left, CONNECT_MS), &l);
    if (rc == 0) {
        int64_t hs = c->conf.peer_handshake_ms > 0 ? c->conf.peer_handshake_ms : CONNECT_MS;
        left = left_of(deadline_ms);
        rc = left > 0 ? br_clu_link_handshake_wait(l, min64(left, hs)) : -ETIMEDOUT;
    }
    int16_t why = E_NONE;
    int32_t corr = 0;
    while (rc == 0) {
        left = left_of(deadline_ms);
        if (left <= 0) {
            rc = -ETIMEDOUT;
            break;
        }
        br_clu_link_timeouts(l, min64(left, PEER_IO_MS));
        rc = ask(c, l, ++corr, name, np, seen, &why);
        if (rc == SHOWN) {
            br_clu_link_close(l);
            return true;
        }
        if (rc == NOT_YET) {
            rc = 0;
            struct timespec ts = {0, POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (rc == REFUSED)
        br_warn_limited("cluster: topic %s: broker %d answers error %d to this broker's Metadata "
                        "(with an authorizer, the inter-broker principal needs DESCRIBE on the "
                        "topic): answered without waiting for it",
                        name, (int)n->id, (int)why);
    else if (rc == -ETIMEDOUT)
        br_warn_limited("cluster: topic %s: broker %d did not show every partition led in time "
                        "(answered anyway)",
                        name, (int)n->id);
    else
        br_warn_limited("cluster: topic %s: cannot ask broker %d at %s:%d whether it shows it: "
                        "%s%s%s (answered without waiting for it)",
                        name, (int)n->id, n->host, (int)n->port, strerror(-rc),
                        l && br_clu_link_error(l)[0] ? "; " : "", l ? br_clu_link_error(l) : "");
    br_clu_link_close(l);
    return false;
}

int br_clu__peers_wait(struct br_clu *c, const char *name, int32_t np, int64_t deadline_ms)
{
    if (!c->conf.peer_listener[0] || np <= 0)
        return 0;
    int have = br_clu_nodes(c, c->conf.peer_listener, NULL, 0);
    if (have <= 1)
        return 0; /* (this broker alone, or none: nothing to ask) */
    if (have > NODES_MAX)
        have = NODES_MAX;
    struct br_clu_node *nodes = calloc((size_t)have, sizeof(*nodes));
    bool *seen = calloc((size_t)np, sizeof(*seen));
    if (!nodes || !seen) {
        free(nodes);
        free(seen);
        return -ENOMEM;
    }
    int n = br_clu_nodes(c, c->conf.peer_listener, nodes, have);
    if (n > have)
        n = have; /* (one more registered meanwhile: asked next time) */
    int missing = 0;
    for (int i = 0; i < n; i++)
        if (nodes[i].id != c->conf.broker_id &&
            !peer_shows(c, &nodes[i], name, np, seen, deadline_ms))
            missing++;
    free(nodes);
    free(seen);
    return missing;
}
