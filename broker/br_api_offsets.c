/*
 * br_api_offsets — ListOffsets v1-2.
 *
 * timestamp -1 (latest) answers the high watermark (= log end; also for read_committed, as
 * there are no transactions), -2 (earliest) the log start offset. Any other timestamp answers
 * the first record whose timestamp >= timestamp, with that record's timestamp, or offset -1
 * and timestamp -1 when no record is that recent, as Kafka does. The store's time index finds
 * the batch (the first whose maxTimestamp >= timestamp); the batch is then read (pread, on
 * the loop thread: a rare request, and the batch was found through the page cache's index)
 * and its records walked. A compressed batch is not opened: its base offset and
 * maxTimestamp are answered.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_api.h"
#include "br_log.h"
#include "kp_batch.h"
#include "kp_msg.h"

/* The first record of the batch holding offset whose timestamp >= ts. 0 or -errno. */
static int record_for_time(struct st_log *log, int64_t offset, int64_t ts, int64_t *out_offset,
                           int64_t *out_ts)
{
    struct st_read rd;
    int rc = st_log_read(log, offset, 1, &rd);
    if (rc < 0)
        return rc;
    if (rd.n == 0) {
        st_read_release(&rd);
        return -ENOENT;
    }
    size_t len = rd.r[0].len;
    uint8_t *buf = malloc(len);
    if (!buf) {
        st_read_release(&rd);
        return -ENOMEM;
    }
    ssize_t got = pread(rd.r[0].fd, buf, len, rd.r[0].pos);
    st_read_release(&rd);
    struct kp_batch_hdr h;
    rc = got == (ssize_t)len ? kp_batch_validate(buf, len, KP_BATCH_SKIP_CRC, &h) : -EIO;
    if (rc < 0) {
        free(buf);
        return rc == -EIO ? rc : -EBADMSG;
    }
    *out_offset = h.base_offset;
    *out_ts = h.max_timestamp;
    if ((h.attributes & KP_BATCH_ATTR_CODEC_MASK) == 0 &&
        !(h.attributes & KP_BATCH_ATTR_LOG_APPEND_TIME)) {
        struct kp_record_iter it;
        struct kp_record rec;
        kp_record_iter_init(&it, buf, &h);
        while (kp_record_next(&it, &rec) == 1) {
            int64_t rts = h.base_timestamp + rec.timestamp_delta;
            if (rts >= ts) {
                *out_offset = h.base_offset + rec.offset_delta;
                *out_ts = rts;
                break;
            }
        }
    }
    free(buf);
    return 0;
}

int br_api_list_offsets(struct br_req *q, struct br_resp *r)
{
    struct br_server *srv = q->srv;
    struct kp_list_offsets_req req;
    int rc = BR_DECODE(q, kp_list_offsets_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t nparts = 0;
    for (int32_t i = 0; i < req.n_topics; i++)
        nparts += (size_t)req.topics[i].n_partitions;
    struct kp_arena a;
    /* One topic array, then one partition array per topic. */
    rc = br_enc_arena(
        q, &a,
        kp_arena_need((size_t)req.n_topics + 1,
                      (size_t)req.n_topics * sizeof(struct kp_list_offsets_resp_topic) +
                          nparts * sizeof(struct kp_list_offsets_resp_partition)));
    if (rc < 0)
        return rc;
    struct kp_list_offsets_resp_topic *topics =
        kp_arena_alloc(&a, (size_t)req.n_topics, sizeof(*topics));
    if (!topics && req.n_topics > 0)
        return -ENOMEM;
    for (int32_t i = 0; i < req.n_topics; i++) {
        const struct kp_list_offsets_req_topic *t = &req.topics[i];
        struct kp_list_offsets_resp_partition *ps =
            kp_arena_alloc(&a, (size_t)t->n_partitions, sizeof(*ps));
        if (!ps && t->n_partitions > 0)
            return -ENOMEM;
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_list_offsets_req_partition *p = &t->partitions[j];
            struct kp_list_offsets_resp_partition *o = &ps[j];
            *o = (struct kp_list_offsets_resp_partition){
                .partition_index = p->partition_index,
                .error_code = KP_ERR_NONE,
                .timestamp = -1,
                .offset = -1,
            };
            struct st_log *log =
                st_log_get(srv->store, t->name.ptr, t->name.len > 0 ? (size_t)t->name.len : 0,
                           p->partition_index);
            if (!log) {
                o->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if (p->timestamp == KP_LIST_OFFSETS_LATEST) {
                o->offset = st_log_end_offset(log);
            } else if (p->timestamp == KP_LIST_OFFSETS_EARLIEST) {
                o->offset = st_log_start_offset(log);
            } else if (p->timestamp < 0) {
                o->error_code = KP_ERR_INVALID_REQUEST;
            } else {
                int64_t off;
                int trc = st_log_offset_for_time(log, p->timestamp, &off);
                if (trc == 0)
                    trc = record_for_time(log, off, p->timestamp, &o->offset, &o->timestamp);
                if (trc == -ENOENT || trc == -ERANGE) {
                    o->offset = -1; /* retention removed it meanwhile */
                    o->timestamp = -1;
                } else if (trc < 0) {
                    br_err("ListOffsets %.*s-%d by time: %s", t->name.len, t->name.ptr,
                           p->partition_index, strerror(-trc));
                    o->error_code = KP_ERR_KAFKA_STORAGE_ERROR;
                }
            }
            st_log_put(log);
        }
        topics[i] = (struct kp_list_offsets_resp_topic){
            .name = t->name, .n_partitions = t->n_partitions, .partitions = ps};
    }
    struct kp_list_offsets_resp resp = {
        .throttle_time_ms = 0, .n_topics = req.n_topics, .topics = topics};
    rc = BR_ENCODE(r, kp_list_offsets_resp_encode, &resp);
    return rc < 0 ? rc : BR_REPLY;
}
