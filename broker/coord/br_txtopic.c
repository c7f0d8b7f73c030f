/*
 * br_txtopic — __transaction_state's records (see br_txtopic.h for the format).
 */
#include "br_txtopic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_cotopic.h"
#include "kp_batch.h"
#include "kp_buf.h"

bool br_txtopic_is(const char *name, size_t len)
{
    return name && len == BR_TXTOPIC_LEN && memcmp(name, BR_TXTOPIC_NAME, len) == 0;
}

int32_t br_txtopic_partition_of(const char *id, size_t len, int32_t n)
{
    return br_cotopic_partition_of(id, len, n);
}

/* ---- writing --------------------------------------------------------------------------- */

static size_t value_size(const struct st_txnlog_rec *r)
{
    size_t n = 2 + 8 + 2 + 4 + 1 + 5 + 8 + 8 + 5;
    for (int32_t i = 0; i < r->n_topics; i++)
        n += 5 + r->topics[i].len + 5 + 4 * (size_t)r->topics[i].n + 1;
    n += 5 + 5 + 10; /* LAST */
    n += 5 + 5 + 5;  /* GROUPS */
    for (int32_t i = 0; i < r->n_groups; i++)
        n += 5 + r->groups[i].len;
    return n;
}

size_t br_txtopic_batch_size(size_t id_len, const struct st_txnlog_rec *r)
{
    /* the key and value are encoded at the buffer's end, then copied into the record */
    return KP_BATCH_HEADER_LEN + 64 + 2 * (2 + 2 + id_len + (r ? value_size(r) : 0));
}

static size_t groups_size(const struct st_txnlog_rec *r)
{
    size_t n = kp_uvarint_size((uint64_t)r->n_groups + 1);
    for (int32_t i = 0; i < r->n_groups; i++)
        n += kp_uvarint_size(r->groups[i].len + 1) + r->groups[i].len;
    return n;
}

static void write_value(struct kp_wr *w, const struct st_txnlog_rec *r)
{
    kp_wr_i16(w, BR_TXTOPIC_VALUE_VERSION);
    kp_wr_i64(w, r->producer_id);
    kp_wr_i16(w, r->epoch);
    kp_wr_i32(w, r->timeout_ms);
    kp_wr_i8(w, (int8_t)r->state);
    kp_wr_carray(w, r->n_topics > 0 ? r->n_topics : -1);
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct st_txnlog_topic *t = &r->topics[i];
        kp_wr_cstr(w, (struct kp_str){t->name, (int32_t)t->len});
        kp_wr_carray(w, t->n);
        for (int32_t k = 0; k < t->n; k++)
            kp_wr_i32(w, t->partitions[k]);
        kp_wr_tags(w);
    }
    kp_wr_i64(w, r->update_ms);
    kp_wr_i64(w, r->start_ms);
    bool last = r->last_producer_id >= 0 || r->last_epoch >= 0;
    uint32_t ntags = (uint32_t)last + (uint32_t)(r->n_groups > 0);
    kp_wr_uvarint(w, ntags);
    if (last) { /* (tags in increasing order) */
        kp_wr_uvarint(w, BR_TXTOPIC_TAG_LAST);
        kp_wr_uvarint(w, 10);
        kp_wr_i64(w, r->last_producer_id);
        kp_wr_i16(w, r->last_epoch);
    }
    if (r->n_groups > 0) {
        kp_wr_uvarint(w, BR_TXTOPIC_TAG_GROUPS);
        kp_wr_uvarint(w, (uint32_t)groups_size(r));
        kp_wr_carray(w, r->n_groups);
        for (int32_t i = 0; i < r->n_groups; i++)
            kp_wr_cstr(w, (struct kp_str){r->groups[i].id, (int32_t)r->groups[i].len});
    }
}

long br_txtopic_batch(uint8_t *buf, size_t cap, const char *id, size_t id_len,
                      const struct st_txnlog_rec *r, int64_t ts)
{
    if (id_len < 1 || id_len > INT16_MAX)
        return -EINVAL;
    size_t kl = 2 + 2 + id_len, vl = r ? value_size(r) : 0;
    if (cap < br_txtopic_batch_size(id_len, r))
        return -ENOSPC;
    /* key and value are written at the buffer's end, then the batch before them */
    uint8_t *kv = buf + cap - kl - vl;
    struct kp_wr w;
    kp_wr_init(&w, kv, kl + vl);
    kp_wr_i16(&w, BR_TXTOPIC_KEY_VERSION);
    kp_wr_str(&w, (struct kp_str){id, (int32_t)id_len});
    size_t klen = kp_wr_len(&w);
    if (r)
        write_value(&w, r);
    if (!kp_wr_ok(&w))
        return -ENOSPC;
    size_t vlen = kp_wr_len(&w) - klen;
    struct kp_batch_builder b;
    int rc = kp_batch_begin(&b, buf, (size_t)(kv - buf), ts);
    if (rc < 0)
        return rc;
    rc = kp_batch_add(&b, ts, (struct kp_bytes){kv, (int32_t)klen},
                      (struct kp_bytes){r ? kv + klen : NULL, r ? (int32_t)vlen : -1}, NULL, 0);
    if (rc < 0)
        return rc;
    return kp_batch_finish(&b);
}

/* ---- reading --------------------------------------------------------------------------- */

void br_txtopic_rec_free(struct br_txtopic_rec *rec)
{
    if (!rec)
        return;
    for (int32_t i = 0; rec->r.topics && i < rec->r.n_topics; i++)
        free((void *)rec->r.topics[i].partitions);
    free((void *)rec->r.topics);
    free((void *)rec->r.groups);
    rec->r.topics = NULL;
    rec->r.groups = NULL;
}

static struct kp_str rd_string(struct kp_rd *r, bool compact)
{
    return compact ? kp_rd_cstr(r) : kp_rd_str(r);
}

static int read_groups(struct kp_rd *r, struct br_txtopic_rec *out)
{
    int32_t n = kp_rd_carray(r, 1, true);
    if (!kp_rd_ok(r))
        return -EBADMSG;
    if (n <= 0)
        return 0;
    struct st_txnlog_group *g = calloc((size_t)n, sizeof(*g));
    if (!g)
        return -ENOMEM;
    out->r.groups = g;
    for (int32_t i = 0; i < n; i++) {
        struct kp_str s = kp_rd_cstr(r);
        if (!kp_rd_ok(r) || s.len <= 0)
            return -EBADMSG;
        g[i] = (struct st_txnlog_group){s.ptr, (size_t)s.len};
    }
    out->r.n_groups = n;
    return 0;
}

static int read_value(struct kp_rd *r, struct br_txtopic_rec *out)
{
    int16_t v = kp_rd_i16(r);
    if (!kp_rd_ok(r))
        return -EBADMSG;
    if (v != 0 && v != 1)
        return -EINVAL;
    bool flex = v >= 1;
    struct st_txnlog_rec *x = &out->r;
    x->producer_id = kp_rd_i64(r);
    x->epoch = kp_rd_i16(r);
    x->timeout_ms = kp_rd_i32(r);
    x->state = (uint8_t)kp_rd_i8(r);
    x->last_producer_id = -1;
    x->last_epoch = -1;
    int32_t nt = flex ? kp_rd_carray(r, 2, true) : kp_rd_array(r, 6, true);
    if (!kp_rd_ok(r))
        return -EBADMSG;
    if (nt > 0) {
        struct st_txnlog_topic *t = calloc((size_t)nt, sizeof(*t));
        if (!t)
            return -ENOMEM;
        x->topics = t;
        for (int32_t i = 0; i < nt; i++) {
            struct kp_str name = rd_string(r, flex);
            int32_t np = flex ? kp_rd_carray(r, 4, false) : kp_rd_array(r, 4, false);
            if (!kp_rd_ok(r) || name.len <= 0 || np < 0)
                return -EBADMSG;
            /* (big-endian on the wire: copied out) */
            int32_t *parts = malloc((size_t)(np ? np : 1) * sizeof(*parts));
            if (!parts)
                return -ENOMEM;
            for (int32_t k = 0; k < np; k++)
                parts[k] = kp_rd_i32(r);
            t[i] = (struct st_txnlog_topic){name.ptr, (size_t)name.len, np, parts};
            x->n_topics = i + 1; /* (freed from here on) */
            if (flex)
                kp_rd_tags(r);
            if (!kp_rd_ok(r))
                return -EBADMSG;
        }
    }
    x->update_ms = kp_rd_i64(r);
    x->start_ms = kp_rd_i64(r);
    if (!kp_rd_ok(r))
        return -EBADMSG;
    if (!flex)
        return 0;
    uint32_t ntags = kp_rd_uvarint(r);
    for (uint32_t i = 0; i < ntags && kp_rd_ok(r); i++) {
        uint32_t tag = kp_rd_uvarint(r), size = kp_rd_uvarint(r);
        if (!kp_rd_ok(r) || size > kp_rd_left(r))
            return -EBADMSG;
        struct kp_rd f;
        kp_rd_init(&f, kp_rd_raw(r, size), size);
        kp_rd_allow_trailing(&f);
        if (tag == BR_TXTOPIC_TAG_LAST) {
            x->last_producer_id = kp_rd_i64(&f);
            x->last_epoch = kp_rd_i16(&f);
            if (!kp_rd_ok(&f))
                return -EBADMSG;
        } else if (tag == BR_TXTOPIC_TAG_GROUPS) {
            int rc = read_groups(&f, out);
            if (rc < 0)
                return rc;
        }
    }
    return kp_rd_ok(r) ? 0 : -EBADMSG;
}

int br_txtopic_parse(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
                     struct br_txtopic_rec *out)
{
    memset(out, 0, sizeof(*out));
    struct kp_rd r;
    kp_rd_init(&r, key, klen);
    kp_rd_allow_trailing(&r);
    int16_t kv = kp_rd_i16(&r);
    struct kp_str id = kp_rd_str(&r);
    if (!kp_rd_ok(&r))
        return -EBADMSG;
    if (kv != BR_TXTOPIC_KEY_VERSION || id.len <= 0)
        return -EINVAL;
    out->r.id = id.ptr;
    out->r.id_len = (size_t)id.len;
    if (!value) {
        out->tombstone = true;
        return 0;
    }
    struct kp_rd v;
    kp_rd_init(&v, value, vlen);
    kp_rd_allow_trailing(&v);
    int rc = read_value(&v, out);
    if (rc < 0) {
        br_txtopic_rec_free(out);
        out->r.n_topics = 0;
        out->r.n_groups = 0;
    }
    return rc;
}
