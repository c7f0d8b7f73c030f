/*
 * kp_msg_consumer — ConsumerProtocolSubscription and ConsumerProtocolAssignment (kp_consumer.h).
 */
#include "kp_consumer.h"

#include "kp_msg_int.h"

static bool parts_ok(int32_t n, const struct kp_consumer_topic_parts *t)
{
    if (!kp__arr_ok(n, t, false))
        return false;
    for (int32_t i = 0; i < n; i++)
        if (!kp__str_ok(t[i].topic) || !kp__arr_ok(t[i].n_partitions, t[i].partitions, false))
            return false;
    return true;
}

static void wr_parts(struct kp_wr *wr, int32_t n, const struct kp_consumer_topic_parts *t)
{
    kp_wr_array(wr, n);
    for (int32_t i = 0; i < n; i++) {
        kp_wr_str(wr, t[i].topic);
        kp__wr_i32s(wr, t[i].n_partitions, t[i].partitions);
    }
}

static const struct kp_consumer_topic_parts *rd_parts(struct kp_rd *rd, struct kp_arena *a,
                                                      int32_t *n)
{
    *n = kp_rd_array(rd, KP__STR + KP__ARRAY, false);
    struct kp_consumer_topic_parts *t = kp__rd_alloc(rd, a, *n, sizeof *t);
    for (int32_t i = 0; t && i < *n && kp_rd_ok(rd); i++) {
        t[i].topic = kp_rd_str(rd);
        t[i].partitions = kp__rd_i32s(rd, a, &t[i].n_partitions);
    }
    return t;
}

/* The end of a body of version v: exact for the versions known here, the rest skipped. */
static int rd_end(struct kp_rd *rd, int16_t v)
{
    if (v > KP_CONSUMER_PROTOCOL_MAX && kp_rd_ok(rd))
        kp_rd_skip(rd, kp_rd_left(rd));
    return kp__rd_end(rd);
}

int kp_consumer_subscription_encode(struct kp_wr *wr, const struct kp_consumer_subscription *s)
{
    int16_t v = s->version;
    if (!kp__ver_in(v, 0, KP_CONSUMER_PROTOCOL_MAX) || !kp__arr_ok(s->n_topics, s->topics, false) ||
        !kp__bytes_ok(s->user_data) || (v >= 1 && !parts_ok(s->n_owned, s->owned)) ||
        (v >= 3 && !kp__str_ok(s->rack_id)))
        return -EINVAL;
    for (int32_t i = 0; i < s->n_topics; i++)
        if (!kp__str_ok(s->topics[i]))
            return -EINVAL;
    kp_wr_i16(wr, v);
    kp_wr_array(wr, s->n_topics);
    for (int32_t i = 0; i < s->n_topics; i++)
        kp_wr_str(wr, s->topics[i]);
    kp_wr_nbytes(wr, s->user_data);
    if (v >= 1)
        wr_parts(wr, s->n_owned, s->owned);
    if (v >= 2)
        kp_wr_i32(wr, s->generation_id);
    if (v >= 3)
        kp_wr_nstr(wr, s->rack_id);
    return wr->err;
}

int kp_consumer_subscription_decode(struct kp_rd *rd, struct kp_arena *arena,
                                    struct kp_consumer_subscription *out)
{
    int16_t v = out->version = kp_rd_i16(rd);
    if (kp_rd_ok(rd) && v < 0)
        kp_rd_fail(rd, -EBADMSG);
    out->n_topics = kp_rd_array(rd, KP__STR, false);
    struct kp_str *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics; i++)
        t[i] = kp_rd_str(rd);
    out->user_data = kp_rd_nbytes(rd);
    out->n_owned = 0;
    out->owned = NULL;
    if (v >= 1)
        out->owned = rd_parts(rd, arena, &out->n_owned);
    out->generation_id = v >= 2 ? kp_rd_i32(rd) : -1;
    out->rack_id = v >= 3 ? kp_rd_nstr(rd) : KP_STR_NULL;
    return rd_end(rd, v);
}

int kp_consumer_assignment_encode(struct kp_wr *wr, const struct kp_consumer_assignment *a)
{
    if (!kp__ver_in(a->version, 0, KP_CONSUMER_PROTOCOL_MAX) || !parts_ok(a->n_topics, a->topics) ||
        !kp__bytes_ok(a->user_data))
        return -EINVAL;
    kp_wr_i16(wr, a->version);
    wr_parts(wr, a->n_topics, a->topics);
    kp_wr_nbytes(wr, a->user_data);
    return wr->err;
}

int kp_consumer_assignment_decode(struct kp_rd *rd, struct kp_arena *arena,
                                  struct kp_consumer_assignment *out)
{
    int16_t v = out->version = kp_rd_i16(rd);
    if (kp_rd_ok(rd) && v < 0)
        kp_rd_fail(rd, -EBADMSG);
    out->topics = rd_parts(rd, arena, &out->n_topics);
    out->user_data = kp_rd_nbytes(rd);
    return rd_end(rd, v);
}
