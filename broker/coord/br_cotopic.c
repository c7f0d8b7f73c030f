/*
 * br_cotopic — the __consumer_offsets topic, a mirror of the offsets store (see br_cotopic.h).
 */
#include "br_cotopic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_clock.h"
#include "br_log.h"
#include "kp_batch.h"
#include "kp_buf.h"
#include "st_clean.h"

struct br_cotopic {
    struct st_store *store;
    struct st_offsets *offsets;
    int32_t want_partitions; /* offsets.topic.num.partitions, for the creation */
    int64_t segment_bytes;   /* offsets.topic.segment.bytes */
    int32_t n;               /* partitions of the topic, as found or created; 0 until then */
    struct st_log **logs;    /* n references, taken when the topic is found or created */
    /* the batch being built (under the offsets store's mutex, or at open) */
    uint8_t *buf;
    size_t cap;
    struct kp_batch_builder b;
    int32_t part; /* the batch's partition; -1: none begun */
    int64_t pid;  /* the batch's producer: -1 plain, else a transaction's (cluster mode) */
    int16_t epoch;
    uint8_t *kv; /* scratch for one record's key and value */
    size_t kv_cap;
    bool warned; /* a failed append was logged; reset by the next good one */
    /* a cluster (br_cotopic.h, M4): no logs held; each append asks the hooks */
    bool cluster;
    int64_t group_max;            /* bytes of a group snapshot's batch: message.max.bytes and
                                     replica.fetch.max.bytes, the smaller (followers must fetch it) */
    struct br_cotopic_cluster cl; /* hooks; partitions NULL until set */
};

/* The calling thread's tracking and quiet flag (br_cotopic.h). */
static _Thread_local struct br_cotopic_track *tl_track;
static _Thread_local bool tl_quiet;

void br_cotopic_track_begin(struct br_cotopic_track *t)
{
    *t = (struct br_cotopic_track){.part = -1, .end = -1, .rc = 0};
    tl_track = t;
}

void br_cotopic_track_end(void) { tl_track = NULL; }

bool br_cotopic_quiet(bool on)
{
    bool was = tl_quiet;
    tl_quiet = on;
    return was;
}

static void track(int32_t part, int64_t end, int rc)
{
    struct br_cotopic_track *t = tl_track;
    if (!t)
        return;
    if (rc < 0) {
        if (t->rc == 0)
            t->rc = rc;
        return;
    }
    t->part = part;
    t->end = end;
}

/* ---- names and hashing ----------------------------------------------------------------- */

bool br_cotopic_internal(const char *name, size_t len)
{
    return name && len == sizeof(BR_COTOPIC_NAME) - 1 && memcmp(name, BR_COTOPIC_NAME, len) == 0;
}

/* One code point of UTF-8 at s (left >= 1 bytes); the bytes it takes. A malformed sequence
 * (bad lead or continuation byte, overlong, surrogate, past U+10FFFF, cut short) gives
 * U+FFFD for its first byte. */
static size_t utf8_next(const uint8_t *s, size_t left, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    if (n > left) {
        *cp = 0xfffd;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        *cp = 0xfffd;
        return 1;
    }
    *cp = v;
    return n;
}

int32_t br_cotopic_java_hash(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    uint32_t h = 0; /* Java's int arithmetic: wraps */
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += utf8_next(p + i, len - i, &cp);
        if (cp >= 0x10000) { /* a surrogate pair in UTF-16 */
            cp -= 0x10000;
            h = h * 31u + (0xd800u + (cp >> 10));
            h = h * 31u + (0xdc00u + (cp & 0x3ff));
        } else {
            h = h * 31u + cp;
        }
    }
    return (int32_t)h;
}

int32_t br_cotopic_partition_of(const char *group, size_t len, int32_t n)
{
    int32_t h = br_cotopic_java_hash(group, len);
    /* Kafka's Utils.abs: INT32_MIN gives 0, not itself */
    int32_t a = h == INT32_MIN ? 0 : h < 0 ? -h : h;
    return n > 0 ? a % n : 0;
}

/* ---- encodings ------------------------------------------------------------------------- */

static void wr_string(struct kp_wr *w, const char *s, size_t len)
{
    kp_wr_str(w, (struct kp_str){s, (int32_t)len});
}

size_t br_cotopic_offset_key(uint8_t *buf, size_t cap, const char *group, size_t glen,
                             const char *topic, size_t tlen, int32_t partition)
{
    if (glen > INT16_MAX || tlen > INT16_MAX)
        return 0;
    struct kp_wr w;
    kp_wr_init(&w, buf, cap);
    kp_wr_i16(&w, BR_COTOPIC_KEY_OFFSET);
    wr_string(&w, group, glen);
    wr_string(&w, topic, tlen);
    kp_wr_i32(&w, partition);
    return kp_wr_ok(&w) ? kp_wr_len(&w) : 0;
}

size_t br_cotopic_offset_value(uint8_t *buf, size_t cap, int64_t offset, const char *meta,
                               size_t mlen, int64_t commit_ms)
{
    if (mlen > INT16_MAX)
        return 0;
    struct kp_wr w;
    kp_wr_init(&w, buf, cap);
    kp_wr_i16(&w, BR_COTOPIC_VALUE_OFFSET);
    kp_wr_i64(&w, offset);
    kp_wr_i32(&w, -1); /* leader epoch: not kept */
    wr_string(&w, mlen ? meta : "", mlen);
    kp_wr_i64(&w, commit_ms);
    return kp_wr_ok(&w) ? kp_wr_len(&w) : 0;
}

size_t br_cotopic_group_key(uint8_t *buf, size_t cap, const char *group, size_t glen)
{
    if (glen > INT16_MAX)
        return 0;
    struct kp_wr w;
    kp_wr_init(&w, buf, cap);
    kp_wr_i16(&w, BR_COTOPIC_KEY_GROUP);
    wr_string(&w, group, glen);
    return kp_wr_ok(&w) ? kp_wr_len(&w) : 0;
}

static size_t str_size(struct kp_str x) { return 2 + (x.len > 0 ? (size_t)x.len : 0); }
static size_t bytes_size(struct kp_bytes x) { return 4 + (x.len > 0 ? (size_t)x.len : 0); }
static bool str_fits(struct kp_str x) { return x.len <= INT16_MAX; }

size_t br_cotopic_group_value_size(const struct br_group_snap *s)
{
    size_t n = 2 + str_size(s->protocol_type) + 4 + str_size(s->protocol_name) +
               str_size(s->leader_id) + 8 + 4;
    for (int32_t i = 0; i < s->n_members; i++) {
        const struct br_group_snap_member *m = &s->members[i];
        n += str_size(m->member_id) + str_size(m->group_instance_id) + str_size(m->client_id) +
             str_size(m->client_host) + 4 + 4 + bytes_size(m->subscription) +
             bytes_size(m->assignment);
    }
    return n;
}

static struct kp_bytes bytes_or_empty(struct kp_bytes b)
{
    return b.len > 0 ? b : (struct kp_bytes){(const uint8_t *)"", 0};
}

size_t br_cotopic_group_value(uint8_t *buf, size_t cap, const struct br_group_snap *s)
{
    if (!str_fits(s->protocol_type) || !str_fits(s->protocol_name) || !str_fits(s->leader_id) ||
        s->n_members < 0)
        return 0;
    struct kp_wr w;
    kp_wr_init(&w, buf, cap);
    kp_wr_i16(&w, BR_COTOPIC_VALUE_GROUP);
    kp_wr_str(&w, s->protocol_type);
    kp_wr_i32(&w, s->generation);
    kp_wr_nstr(&w, s->protocol_name);
    kp_wr_nstr(&w, s->leader_id);
    kp_wr_i64(&w, s->state_ms);
    kp_wr_array(&w, s->n_members);
    for (int32_t i = 0; i < s->n_members; i++) {
        const struct br_group_snap_member *m = &s->members[i];
        if (!str_fits(m->member_id) || !str_fits(m->group_instance_id) || !str_fits(m->client_id) ||
            !str_fits(m->client_host))
            return 0;
        kp_wr_str(&w, m->member_id);
        kp_wr_nstr(&w, m->group_instance_id.len > 0 ? m->group_instance_id : KP_STR_NULL);
        kp_wr_str(&w, m->client_id);
        kp_wr_str(&w, m->client_host);
        kp_wr_i32(&w, m->rebalance_timeout_ms);
        kp_wr_i32(&w, m->session_timeout_ms);
        kp_wr_bytes(&w, bytes_or_empty(m->subscription));
        kp_wr_bytes(&w, bytes_or_empty(m->assignment));
    }
    return kp_wr_ok(&w) ? kp_wr_len(&w) : 0;
}

/* ---- batches --------------------------------------------------------------------------- */

static int grow(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 4096;
    while (ncap < need)
        ncap *= 2;
    uint8_t *n = realloc(*p, ncap);
    if (!n)
        return -ENOMEM;
    *p = n;
    *cap = ncap;
    return 0;
}

static void append_failed(struct br_cotopic *c, int32_t part, const char *why)
{
    if (!c->warned)
        br_warn("%s-%d: committed offsets not mirrored (%s); the offsets store keeps them",
                BR_COTOPIC_NAME, part, why);
    c->warned = true;
}

/* Appends the batch being built, if any. */
static void batch_flush(struct br_cotopic *c)
{
    if (c->part < 0)
        return;
    int32_t part = c->part;
    c->part = -1;
    long len = kp_batch_finish(&c->b);
    if (len <= 0) {
        if (len < 0 && len != -EINVAL) /* -EINVAL: no record in it */
            append_failed(c, part, strerror((int)-len));
        return;
    }
    struct iovec iov = {c->buf, (size_t)len};
    struct st_append_result res;
    struct st_append_opts opts = {.txn_verified = true}; /* the coordinator's own batch */
    struct st_log *log = c->cluster ? NULL : c->logs[part];
    if (c->cluster) {
        /* only the leader appends, once it has loaded the partition (br_cotopic.h) */
        if (!c->cl.may_append || !c->cl.may_append(c->cl.arg, part)) {
            track(part, -1, -EAGAIN);
            return;
        }
        log = st_log_get(c->store, BR_COTOPIC_NAME, sizeof(BR_COTOPIC_NAME) - 1, part);
        if (!log) {
            track(part, -1, -ENOENT);
            append_failed(c, part, "no such partition here");
            return;
        }
    }
    if (c->pid >= 0) /* a transaction's offsets: its producer's next sequence here */
        kp_batch_set_producer(c->buf, (size_t)len, c->pid, c->epoch,
                              st_log_next_sequence(log, c->pid, c->epoch), true);
    int rc = c->pid >= 0 ? st_log_append_opts(log, &iov, 1, br_wall_ms(), &opts, &res)
                         : st_log_append(log, &iov, 1, br_wall_ms(), &res);
    if (rc < 0) {
        track(part, -1, rc);
        append_failed(c, part, strerror(-rc));
    } else {
        if (res.sync_needed)
            st_log_request_sync(log);
        c->warned = false;
        track(part, res.last_offset + 1, 0);
        if (c->cluster && c->cl.appended)
            c->cl.appended(c->cl.arg, log);
    }
    if (c->cluster)
        st_log_put(log);
}

/* Adds one record to the batch of partition part, beginning (or closing and beginning) one
 * as needed. value NULL: a tombstone. */
static void batch_add(struct br_cotopic *c, int32_t part, int64_t pid, int16_t epoch, int64_t ts,
                      const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen)
{
    struct kp_bytes k = {key, (int32_t)klen};
    struct kp_bytes v = {value, value ? (int32_t)vlen : -1};
    size_t rec = kp_batch_record_size(0, 0, k, v, NULL, 0) + 32; /* + the deltas' varints */
    bool full = c->part >= 0 && (kp_wr_left(&c->b.wr) < rec ||
                                 kp_wr_len(&c->b.wr) + rec > (size_t)BR_COTOPIC_BATCH_BYTES);
    if (c->part != part || c->pid != pid || c->epoch != epoch || full)
        batch_flush(c);
    if (c->part < 0) {
        size_t need = KP_BATCH_HEADER_LEN + rec;
        if (need < BR_COTOPIC_BATCH_BYTES + KP_BATCH_HEADER_LEN)
            need = BR_COTOPIC_BATCH_BYTES + KP_BATCH_HEADER_LEN;
        if (grow(&c->buf, &c->cap, need) < 0 || kp_batch_begin(&c->b, c->buf, c->cap, ts) < 0) {
            track(part, -1, -ENOMEM);
            append_failed(c, part, "out of memory");
            return;
        }
        c->part = part;
        c->pid = pid;
        c->epoch = epoch;
    }
    int rc = kp_batch_add(&c->b, ts, k, v, NULL, 0);
    if (rc < 0) {
        track(part, -1, rc);
        append_failed(c, part, strerror(-rc));
    }
}

/* One change of the store as a record of its group's partition; a transaction's pending
 * offset (cluster mode only) goes into a transactional batch of its producer. */
static void add_change(struct br_cotopic *c, const struct st_offset_change *x)
{
    bool txn = x->kind == ST_OFS_TXN_SET;
    if (txn && !c->cluster)
        return; /* a single node: written at the transaction's end (br_cotopic.h) */
    int32_t part = br_cotopic_partition_of(x->group, x->group_len, c->n);
    size_t need =
        2 + 2 + x->group_len + 2 + x->e.topic_len + 4 + 2 + 8 + 4 + 2 + x->e.metadata_len + 8;
    if (grow(&c->kv, &c->kv_cap, need) < 0) {
        append_failed(c, part, "out of memory");
        return;
    }
    size_t klen, vlen = 0;
    switch (x->kind) {
    case ST_OFS_GROUP_GONE:
        klen = br_cotopic_group_key(c->kv, c->kv_cap, x->group, x->group_len);
        break;
    default:
        klen = br_cotopic_offset_key(c->kv, c->kv_cap, x->group, x->group_len, x->e.topic,
                                     x->e.topic_len, x->e.partition);
        if (x->kind == ST_OFS_SET || txn)
            vlen = br_cotopic_offset_value(c->kv + klen, c->kv_cap - klen, x->e.offset,
                                           x->e.metadata, x->e.metadata_len, x->e.commit_ms);
        break;
    }
    bool valued = x->kind == ST_OFS_SET || txn;
    if (klen == 0 || (valued && vlen == 0)) {
        track(part, -1, -EINVAL);
        append_failed(c, part, "a name or metadata too long for its STRING");
        return;
    }
    batch_add(c, part, txn ? x->producer_id : -1, txn ? x->producer_epoch : -1, x->ms, c->kv, klen,
              valued ? c->kv + klen : NULL, vlen);
}

static int topic_attach(struct br_cotopic *c, bool *created);

/* The store's observer: one write's changes, in order, under the store's mutex. The first one
 * creates the topic when start-up did not (the store was empty then, so this write's changes
 * are all the store holds that the topic lacks). */
static void observe(void *arg, const struct st_offset_change *changes, int n)
{
    struct br_cotopic *c = arg;
    if (tl_quiet)
        return; /* a load replaying the topic into the store */
    if (c->cluster) {
        int32_t np = c->cl.partitions ? c->cl.partitions(c->cl.arg) : 0;
        if (np <= 0) {
            track(-1, -1, -EAGAIN);
            return;
        }
        c->n = np;
        for (int i = 0; i < n; i++)
            add_change(c, &changes[i]);
        batch_flush(c);
        return;
    }
    bool created;
    int rc = c->logs ? 0 : topic_attach(c, &created);
    if (rc < 0) {
        append_failed(c, 0, strerror(-rc));
        return;
    }
    if (!c->logs)
        return;
    for (int i = 0; i < n; i++)
        add_change(c, &changes[i]);
    batch_flush(c);
}

/* ---- group members (a cluster) ------------------------------------------------------------ */

void br_cotopic_store_group(struct br_cotopic *c, const struct br_group_snap *s)
{
    if (!c || !c->cluster || tl_quiet || s->group_id.len <= 0)
        return;
    int32_t np = c->cl.partitions ? c->cl.partitions(c->cl.arg) : 0;
    int32_t part = br_cotopic_partition_of(s->group_id.ptr, (size_t)s->group_id.len, np);
    if (np <= 0 || !c->cl.may_append || !c->cl.may_append(c->cl.arg, part))
        return; /* not this broker's group (any more): the new coordinator has it */
    const char *why = NULL;
    size_t kcap = 4 + (size_t)s->group_id.len, vcap = br_cotopic_group_value_size(s);
    if ((int64_t)(kcap + vcap + KP_BATCH_HEADER_LEN + 64) > c->group_max) {
        /* as Kafka's RecordTooLarge: a batch no follower could fetch would stall replication */
        br_warn_limited("%s-%d: members of group %s (generation %d) not stored: %zu bytes, over "
                        "message.max.bytes / replica.fetch.max.bytes (%lld): after a "
                        "coordinator move they rejoin",
                        BR_COTOPIC_NAME, part, br_log_str(s->group_id.ptr, s->group_id.len).s,
                        s->generation, kcap + vcap, (long long)c->group_max);
        return;
    }
    uint8_t *kv = malloc(kcap + vcap), *buf = NULL;
    size_t klen = 0, vlen = 0, cap = 0;
    if (kv) {
        klen = br_cotopic_group_key(kv, kcap, s->group_id.ptr, (size_t)s->group_id.len);
        vlen = klen ? br_cotopic_group_value(kv + klen, vcap, s) : 0;
    }
    struct kp_bytes k = {kv, (int32_t)klen}, v = {kv ? kv + klen : NULL, (int32_t)vlen};
    if (vlen) {
        cap = KP_BATCH_HEADER_LEN + kp_batch_record_size(0, 0, k, v, NULL, 0) + 32;
        buf = malloc(cap);
    }
    struct kp_batch_builder b;
    int64_t ts = br_wall_ms();
    long len = -ENOMEM;
    if (!kv || (vlen && !buf))
        why = "out of memory";
    else if (!vlen)
        why = "a name too long for its STRING";
    else if (kp_batch_begin(&b, buf, cap, ts) < 0 || kp_batch_add(&b, ts, k, v, NULL, 0) < 0 ||
             (len = kp_batch_finish(&b)) <= 0)
        why = "the batch does not build";
    struct st_log *log =
        why ? NULL : st_log_get(c->store, BR_COTOPIC_NAME, sizeof(BR_COTOPIC_NAME) - 1, part);
    if (!why && !log)
        why = "no such partition here";
    if (log) {
        struct iovec iov = {buf, (size_t)len};
        struct st_append_result res;
        int rc = st_log_append(log, &iov, 1, ts, &res);
        if (rc < 0) {
            why = strerror(-rc);
        } else {
            if (res.sync_needed)
                st_log_request_sync(log);
            if (c->cl.appended)
                c->cl.appended(c->cl.arg, log);
        }
        st_log_put(log);
    }
    if (why)
        br_warn_limited("%s-%d: members of group %s (generation %d) not stored (%s): after a "
                        "coordinator move they rejoin",
                        BR_COTOPIC_NAME, part, br_log_str(s->group_id.ptr, s->group_id.len).s,
                        s->generation, why);
    free(buf);
    free(kv);
}

/* ---- life ------------------------------------------------------------------------------ */

struct seed {
    struct br_cotopic *c;
    int64_t n;
};

static void seed_one(void *arg, const char *group, size_t group_len,
                     const struct st_offset_entry *e)
{
    struct seed *s = arg;
    struct st_offset_change x = {
        .kind = ST_OFS_SET,
        .group = group,
        .group_len = group_len,
        .e = *e,
        .ms = e->commit_ms,
    };
    add_change(s->c, &x);
    s->n++;
}

int br_cotopic_create(struct st_store *store, int32_t partitions, int64_t segment_bytes)
{
    struct st_log_config lc;
    st_store_defaults(store, &lc);
    lc.cleanup_policy = ST_CLEANUP_COMPACT;
    lc.segment_bytes = segment_bytes;
    /* the keys that differ from the defaults become its overrides */
    return st_topic_create(store, BR_COTOPIC_NAME, partitions, &lc);
}

/* Finds the topic, creating it when missing (*created then), and takes a reference on each
 * partition's log. 0 or -errno (logged). */
static int topic_attach(struct br_cotopic *c, bool *created)
{
    *created = false;
    int rc = 0;
    if (st_topic_partitions(c->store, BR_COTOPIC_NAME, sizeof(BR_COTOPIC_NAME) - 1) <= 0) {
        rc = br_cotopic_create(c->store, c->want_partitions, c->segment_bytes);
        *created = rc == 0;
        if (rc == -EEXIST)
            rc = 0;
    }
    int32_t n = st_topic_partitions(c->store, BR_COTOPIC_NAME, sizeof(BR_COTOPIC_NAME) - 1);
    if (rc == 0 && n <= 0)
        rc = n < 0 ? n : -ENOENT;
    struct st_log **logs = rc == 0 ? calloc((size_t)n, sizeof(*logs)) : NULL;
    if (rc == 0 && !logs)
        rc = -ENOMEM;
    for (int32_t p = 0; rc == 0 && p < n; p++) {
        logs[p] = st_log_get(c->store, BR_COTOPIC_NAME, sizeof(BR_COTOPIC_NAME) - 1, p);
        if (!logs[p]) {
            for (int32_t q = 0; q < p; q++)
                st_log_put(logs[q]);
            rc = -ENOENT;
        }
    }
    if (rc < 0) {
        free(logs);
        br_err("cannot create or open the %s topic: %s", BR_COTOPIC_NAME, strerror(-rc));
        return rc;
    }
    c->logs = logs;
    c->n = n;
    if (*created)
        br_info("created %s with %d partition(s) (cleanup.policy=compact)", BR_COTOPIC_NAME, n);
    return 0;
}

int br_cotopic_open(const struct br_config *cfg, struct st_store *store, struct st_offsets *offsets,
                    struct br_cotopic **out)
{
    *out = NULL;
    struct br_cotopic *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->store = store;
    c->offsets = offsets;
    c->want_partitions = cfg->offsets_topic_partitions;
    c->segment_bytes = cfg->offsets_topic_segment_bytes;
    c->part = -1;
    c->pid = -1;
    c->group_max = cfg->message_max_bytes < cfg->replica_fetch_max_bytes
                       ? cfg->message_max_bytes
                       : cfg->replica_fetch_max_bytes;
    if (cfg->zk_connect[0]) {
        /* a cluster: the topic is the cluster's (br_cotopic.h), hooks come later */
        c->cluster = true;
        st_offsets_set_observer(offsets, observe, c);
        *out = c;
        return 0;
    }
    /* Kafka creates the topic when it is first needed: here at the first commit (observe), or
     * now when it exists already or the store holds offsets it must get (a data directory from
     * before this module, or a topic deleted by an admin) */
    struct st_offsets_stats os;
    st_offsets_stats(offsets, &os);
    bool exists = st_topic_partitions(store, BR_COTOPIC_NAME, sizeof(BR_COTOPIC_NAME) - 1) > 0;
    if (exists || os.entries > 0) {
        bool created;
        int rc = topic_attach(c, &created);
        if (rc < 0) {
            free(c);
            return rc;
        }
        if (created) {
            struct seed s = {c, 0};
            st_offsets_foreach_all(offsets, -1, seed_one, &s);
            batch_flush(c);
            br_info("%s: %lld committed offset(s) written from the offsets store", BR_COTOPIC_NAME,
                    (long long)s.n);
        }
    }
    st_offsets_set_observer(offsets, observe, c);
    *out = c;
    return 0;
}

void br_cotopic_set_cluster(struct br_cotopic *c, const struct br_cotopic_cluster *cl)
{
    if (c && c->cluster)
        c->cl = *cl;
}

/* ---- reading records back (a cluster's load) -------------------------------------------- */

static bool rd_string(struct kp_rd *r, const char **p, size_t *len)
{
    struct kp_str s = kp_rd_str(r);
    if (!kp_rd_ok(r) || s.len < 0)
        return false;
    *p = s.len ? s.ptr : "";
    *len = (size_t)s.len;
    return true;
}

int br_cotopic_parse(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
                     struct br_cotopic_rec *out)
{
    memset(out, 0, sizeof(*out));
    struct kp_rd r;
    kp_rd_init(&r, key, klen);
    kp_rd_allow_trailing(&r);
    int16_t kv = kp_rd_i16(&r);
    if (!kp_rd_ok(&r))
        return -EBADMSG;
    if (kv == 0 || kv == 1) { /* OffsetCommitKey */
        if (!rd_string(&r, &out->group, &out->group_len) ||
            !rd_string(&r, &out->topic, &out->topic_len))
            return -EBADMSG;
        out->partition = kp_rd_i32(&r);
        if (!kp_rd_ok(&r))
            return -EBADMSG;
        if (!value) {
            out->kind = BR_COTOPIC_REC_OFFSET_GONE;
            return 0;
        }
        out->kind = BR_COTOPIC_REC_OFFSET;
        struct kp_rd v;
        kp_rd_init(&v, value, vlen);
        kp_rd_allow_trailing(&v);
        int16_t vv = kp_rd_i16(&v);
        if (!kp_rd_ok(&v))
            return -EBADMSG;
        if (vv < 0 || vv > 3)
            return -EINVAL; /* (v4+ are flexible versions: not written by this broker) */
        out->offset = kp_rd_i64(&v);
        if (vv == 3)
            (void)kp_rd_i32(&v); /* leader epoch */
        if (!rd_string(&v, &out->metadata, &out->metadata_len))
            return -EBADMSG;
        out->commit_ms = kp_rd_i64(&v); /* (v1's expire timestamp follows: unused) */
        return kp_rd_ok(&v) ? 0 : -EBADMSG;
    }
    if (kv == 2) { /* GroupMetadataKey */
        if (!rd_string(&r, &out->group, &out->group_len))
            return -EBADMSG;
        out->kind = value ? BR_COTOPIC_REC_GROUP : BR_COTOPIC_REC_GROUP_GONE;
        return 0;
    }
    return -EINVAL;
}

int br_cotopic_group_parse(const uint8_t *value, size_t vlen, struct br_group_snap *out,
                           struct br_group_snap_member *m, int32_t cap)
{
    memset(out, 0, sizeof(*out));
    out->group_id = (struct kp_str){"", 0};
    struct kp_rd r;
    kp_rd_init(&r, value, vlen);
    kp_rd_allow_trailing(&r); /* (fields a later version appends) */
    int16_t v = kp_rd_i16(&r);
    if (!kp_rd_ok(&r))
        return -EBADMSG;
    if (v < 0 || v > 3)
        return -EINVAL; /* (v4+ are flexible versions: not written by this broker) */
    out->protocol_type = kp_rd_str(&r);
    out->generation = kp_rd_i32(&r);
    out->protocol_name = kp_rd_nstr(&r);
    out->leader_id = kp_rd_nstr(&r);
    out->state_ms = v >= 2 ? kp_rd_i64(&r) : -1;
    /* the smallest member: its empty STRINGs (v3: four, the instance id null; else three), its
     * timeouts (v0: one), two empty BYTES */
    size_t min_member = 2 * (v >= 3 ? 4 : 3) + 4 * (v >= 1 ? 2 : 1) + 4 * 2;
    int32_t n = kp_rd_array(&r, min_member, false);
    if (!kp_rd_ok(&r) || n < 0)
        return -EBADMSG;
    out->n_members = n;
    if (n > cap)
        return -ENOSPC;
    for (int32_t i = 0; i < n; i++) {
        m[i].member_id = kp_rd_str(&r);
        m[i].group_instance_id = v >= 3 ? kp_rd_nstr(&r) : KP_STR_NULL;
        m[i].client_id = kp_rd_str(&r);
        m[i].client_host = kp_rd_str(&r);
        m[i].rebalance_timeout_ms = v >= 1 ? kp_rd_i32(&r) : -1;
        m[i].session_timeout_ms = kp_rd_i32(&r);
        if (v == 0)
            m[i].rebalance_timeout_ms = m[i].session_timeout_ms;
        m[i].subscription = kp_rd_bytes(&r);
        m[i].assignment = kp_rd_bytes(&r);
        if (!kp_rd_ok(&r))
            return -EBADMSG;
    }
    out->members = m;
    return kp_rd_ok(&r) ? 0 : -EBADMSG;
}

void br_cotopic_close(struct br_cotopic *c)
{
    if (!c)
        return;
    if (c->offsets)
        st_offsets_set_observer(c->offsets, NULL, NULL);
    for (int32_t p = 0; c->logs && p < c->n; p++)
        st_log_put(c->logs[p]);
    free(c->logs);
    free(c->buf);
    free(c->kv);
    free(c);
}
