/*
 * sb_admin — the questions the bench asks a broker that libsplicelog has no call for: how many
 * partitions a topic has (Metadata v4), where each partition ends (the high watermark:
 * ListOffsets v2 with timestamp -1; -2 for the earliest offset), and, for `cluster`, who leads a
 * partition, its replicas and ISR, and how many brokers are registered (Metadata v4). One blocking
 * plaintext connection per question, bounded by a 10 s socket timeout, encoded and decoded with
 * the proto module. Both versions are inside Kafka 4.0's supported ranges (KIP-896).
 * The bootstrap broker is asked directly: right for a single broker (splicelogd today); on a
 * cluster, --client rdkafka asks each partition's leader.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kp_api.h"
#include "kp_buf.h"
#include "kp_msg.h"
#include "sb.h"

#define REQ_CAP  4096
#define RESP_CAP (16 << 20) /* Metadata of 100,000 partitions: about 3.5 MB */
#define ARENA    (16 << 20)

static int dial(const char *bootstrap, char *why, size_t why_len)
{
    char host[256];
    const char *colon = strrchr(bootstrap, ':');
    if (!colon || colon == bootstrap || (size_t)(colon - bootstrap) >= sizeof(host)) {
        snprintf(why, why_len, "bad bootstrap address '%s' (want host:port)", bootstrap);
        return -EINVAL;
    }
    snprintf(host, sizeof(host), "%.*s", (int)(colon - bootstrap), bootstrap);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:9092 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(host, colon + 1, &hints, &res);
    if (g) {
        snprintf(why, why_len, "resolve %s: %s", bootstrap, gai_strerror(g));
        return -EHOSTUNREACH;
    }
    int fd = -ECONNREFUSED;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -errno;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(why, why_len, "connect %s: %s", bootstrap, strerror(-fd));
    return fd;
}

static int io_all(int fd, void *buf, size_t len, bool wr)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends the frame in req and reads one response frame; its body length, or -errno. */
static long roundtrip(const char *bootstrap, const uint8_t *req, size_t len, uint8_t *resp,
                      char *why, size_t why_len)
{
    int fd = dial(bootstrap, why, why_len);
    if (fd < 0)
        return fd;
    uint8_t sz[4];
    long rc = io_all(fd, (void *)req, len, true);
    if (!rc)
        rc = io_all(fd, sz, 4, false);
    if (!rc) {
        int32_t n = (int32_t)kp_load_be32(sz);
        if (n < 4 || n > RESP_CAP)
            rc = -EMSGSIZE;
        else if (!(rc = io_all(fd, resp, (size_t)n, false)))
            rc = n;
    }
    close(fd);
    if (rc < 0)
        snprintf(why, why_len, "%s: %s", bootstrap, strerror((int)-rc));
    return rc;
}

static size_t req_begin(struct kp_wr *wr, int16_t key, int16_t ver)
{
    size_t pos = kp_frame_begin(wr);
    struct kp_req_hdr h = {key, ver, 1, kp_str_of("splicelog-bench")};
    kp_req_hdr_encode(wr, &h);
    return pos;
}

struct bufs {
    uint8_t req[REQ_CAP];
    uint8_t resp[RESP_CAP];
    uint8_t arena[ARENA];
};

/* Sends the request framed in wr (begun at pos by req_begin(key, ver)) and reads the answer:
 * 0 with *rd at its body and *arena over b->arena for the decoder, or -errno with why. */
static int exchange(struct bufs *b, const char *bootstrap, struct kp_wr *wr, size_t pos,
                    int16_t key, int16_t ver, struct kp_rd *rd, struct kp_arena *arena, char *why,
                    size_t why_len)
{
    if (kp_frame_end(wr, pos)) {
        snprintf(why, why_len, "%s request does not fit", kp_api_name(key));
        return -EPROTO;
    }
    long n = roundtrip(bootstrap, b->req, kp_wr_len(wr), b->resp, why, why_len);
    if (n < 0)
        return (int)n;
    int32_t corr;
    kp_rd_init(rd, b->resp, (size_t)n);
    kp_arena_init(arena, b->arena, sizeof(b->arena));
    if (kp_resp_hdr_decode(rd, key, ver, &corr)) {
        snprintf(why, why_len, "%s: malformed %s response", bootstrap, kp_api_name(key));
        return -EPROTO;
    }
    return 0;
}

/* One Metadata v4 for topic (NULL: no topic, brokers only) into *mr (decoded into b->arena).
 * 0 or -errno with why. */
static int metadata(struct bufs *b, const char *bootstrap, const char *topic, bool create,
                    struct kp_metadata_resp *mr, char *why, size_t why_len)
{
    struct kp_wr wr;
    kp_wr_init(&wr, b->req, sizeof(b->req));
    size_t pos = req_begin(&wr, KP_API_METADATA, 4);
    struct kp_str topics[1] = {kp_str_of(topic ? topic : "")};
    struct kp_metadata_req mreq = {
        .n_topics = topic ? 1 : 0, .topics = topics, .allow_auto_topic_creation = create};
    struct kp_rd rd;
    struct kp_arena arena;
    int rc = kp_metadata_req_encode(&wr, 4, &mreq) ? -EPROTO : 0;
    if (rc)
        snprintf(why, why_len, "Metadata request does not fit");
    else
        rc = exchange(b, bootstrap, &wr, pos, KP_API_METADATA, 4, &rd, &arena, why, why_len);
    if (rc)
        return rc;
    if (kp_metadata_resp_decode(&rd, 4, &arena, mr) || mr->n_topics != (topic ? 1 : 0)) {
        snprintf(why, why_len, "%s: malformed Metadata response", bootstrap);
        return -EPROTO;
    }
    if (topic && mr->topics[0].error_code) {
        snprintf(why, why_len, "Metadata %s: %s", topic, kp_err_name(mr->topics[0].error_code));
        return -ENOENT;
    }
    return 0;
}

int sb_admin_partitions(const char *bootstrap, const char *topic, bool create, char *why,
                        size_t why_len)
{
    struct bufs *b = malloc(sizeof(*b));
    if (!b)
        return -ENOMEM;
    struct kp_metadata_resp mr;
    int rc = metadata(b, bootstrap, topic, create, &mr, why, why_len);
    if (!rc)
        rc = mr.topics[0].n_partitions;
    free(b);
    return rc;
}

int sb_admin_delete_topic(const char *bootstrap, const char *topic, char *why, size_t why_len)
{
    struct bufs *b = malloc(sizeof(*b));
    if (!b)
        return -ENOMEM;
    struct kp_wr wr;
    kp_wr_init(&wr, b->req, sizeof(b->req));
    size_t pos = req_begin(&wr, KP_API_DELETE_TOPICS, 1);
    struct kp_str names[1] = {kp_str_of(topic)};
    struct kp_delete_topics_req dreq = {.n_topics = 1, .topic_names = names, .timeout_ms = 30000};
    struct kp_rd rd;
    struct kp_arena arena;
    struct kp_delete_topics_resp dr;
    int rc = kp_delete_topics_req_encode(&wr, 1, &dreq) ? -EPROTO : 0;
    if (rc)
        snprintf(why, why_len, "DeleteTopics request does not fit");
    else
        rc = exchange(b, bootstrap, &wr, pos, KP_API_DELETE_TOPICS, 1, &rd, &arena, why, why_len);
    if (rc) {
        free(b);
        return rc;
    }
    if (kp_delete_topics_resp_decode(&rd, 1, &arena, &dr) || dr.n_results != 1) {
        snprintf(why, why_len, "%s: malformed DeleteTopics response", bootstrap);
        rc = -EPROTO;
    } else if (dr.results[0].error_code &&
               dr.results[0].error_code != KP_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
        snprintf(why, why_len, "DeleteTopics %s: %s", topic, kp_err_name(dr.results[0].error_code));
        rc = -EIO;
    }
    free(b);
    return rc;
}

int sb_admin_partition_state(const char *bootstrap, const char *topic, int32_t partition,
                             struct sb_part_state *out, char *why, size_t why_len)
{
    struct bufs *b = malloc(sizeof(*b));
    if (!b)
        return -ENOMEM;
    memset(out, 0, sizeof(*out));
    out->leader = -1;
    struct kp_metadata_resp mr;
    int rc = metadata(b, bootstrap, topic, false, &mr, why, why_len);
    if (rc == -ENOENT && topic) /* a topic without a led partition yet: still the brokers */
        rc = 0;
    if (!rc) {
        out->n_brokers = mr.n_brokers;
        out->controller = mr.controller_id;
        const struct kp_metadata_topic *t = topic ? &mr.topics[0] : NULL;
        for (int32_t i = 0; t && i < t->n_partitions; i++) {
            const struct kp_metadata_partition *p = &t->partitions[i];
            if (p->partition_index != partition)
                continue;
            out->found = true;
            out->error = p->error_code;
            out->leader = p->leader_id;
            out->n_replicas = p->n_replicas;
            out->n_isr = p->n_isr;
            for (int32_t k = 0; k < p->n_replicas && k < SB_MAX_REPLICAS; k++)
                out->replicas[k] = p->replicas[k];
        }
    }
    free(b);
    return rc;
}

/* One ListOffsets v2 for (topic, partition) at timestamp ts (-1 latest, -2 earliest). */
static int list_offset(struct bufs *b, const char *bootstrap, const char *topic, int32_t partition,
                       int64_t ts, int64_t *out, char *why, size_t why_len)
{
    struct kp_wr wr;
    kp_wr_init(&wr, b->req, sizeof(b->req));
    size_t pos = req_begin(&wr, KP_API_LIST_OFFSETS, 2);
    struct kp_list_offsets_req_partition p = {
        .partition_index = partition, .timestamp = ts, .current_leader_epoch = -1};
    struct kp_list_offsets_req_topic t = {kp_str_of(topic), 1, &p};
    struct kp_list_offsets_req req = {-1, 0, 1, &t};
    struct kp_rd rd;
    struct kp_arena arena;
    struct kp_list_offsets_resp lr;
    int rc = kp_list_offsets_req_encode(&wr, 2, &req) ? -EPROTO : 0;
    if (rc)
        snprintf(why, why_len, "ListOffsets request does not fit");
    else
        rc = exchange(b, bootstrap, &wr, pos, KP_API_LIST_OFFSETS, 2, &rd, &arena, why, why_len);
    if (rc)
        return rc;
    if (kp_list_offsets_resp_decode(&rd, 2, &arena, &lr) || lr.n_topics != 1 ||
        lr.topics[0].n_partitions != 1) {
        snprintf(why, why_len, "%s: malformed ListOffsets response", bootstrap);
        return -EPROTO;
    }
    const struct kp_list_offsets_resp_partition *r = &lr.topics[0].partitions[0];
    if (r->error_code) {
        snprintf(why, why_len, "ListOffsets %s[%d]: %s", topic, (int)partition,
                 kp_err_name(r->error_code));
        return -EIO;
    }
    *out = r->offset;
    return 0;
}

int sb_admin_watermarks(const char *bootstrap, const char *topic, int32_t partition, int64_t *lo,
                        int64_t *hi, char *why, size_t why_len)
{
    struct bufs *b = malloc(sizeof(*b));
    if (!b)
        return -ENOMEM;
    int rc = list_offset(b, bootstrap, topic, partition, -2, lo, why, why_len);
    if (!rc)
        rc = list_offset(b, bootstrap, topic, partition, -1, hi, why, why_len);
    free(b);
    return rc;
}
