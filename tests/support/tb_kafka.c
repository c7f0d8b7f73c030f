/*
 * tb_kafka — client side of the Kafka protocol for the integration suites. Contract in
 * tb_kafka.h. Layouts follow ../shared/kafka-protocol-notes.md §1, §2 and §5.
 */
#include "tb_kafka.h"

#include "kp_msg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    API_PRODUCE = 0,
    API_FETCH = 1,
    API_LIST_OFFSETS = 2,
    API_METADATA = 3,
    API_API_VERSIONS = 18,
    API_CREATE_TOPICS = 19,
    API_DELETE_TOPICS = 20,
};

/* ---- framing ------------------------------------------------------------------------- */

int tb_send_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EPIPE)
                return -ECONNRESET;
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int tb_recv_all(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int tb_recv_frame(int fd, struct tb_frame *f, size_t max)
{
    f->data = NULL;
    f->len = 0;
    uint8_t sz[4];
    int rc = tb_recv_all(fd, sz, 4);
    if (rc)
        return rc;
    int32_t size = (int32_t)kp_load_be32(sz);
    if (size < 0 || (size_t)size > max)
        return -EMSGSIZE;
    f->data = malloc(size ? (size_t)size : 1);
    if (!f->data)
        return -ENOMEM;
    f->len = (size_t)size;
    rc = tb_recv_all(fd, f->data, f->len);
    if (rc) {
        tb_frame_free(f);
        return rc;
    }
    return 0;
}

void tb_frame_free(struct tb_frame *f)
{
    free(f->data);
    f->data = NULL;
    f->len = 0;
}

int32_t tb_frame_corr(const struct tb_frame *f)
{
    return f->len >= 4 ? (int32_t)kp_load_be32(f->data) : -1;
}

int tb_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    for (;;) {
        int n = poll(&pfd, 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        return n > 0;
    }
}

int tb_wait_closed(int fd, int timeout_ms)
{
    uint8_t junk[4096];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    /* Bounded by count as well as time: each poll waits at most timeout_ms. */
    for (int i = 0; i < 100000; i++) {
        int n = poll(&pfd, 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        ssize_t got = recv(fd, junk, sizeof junk, MSG_DONTWAIT);
        if (got == 0)
            return 1;
        if (got < 0 && errno != EAGAIN && errno != EINTR)
            return 1; /* ECONNRESET and friends: closed */
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------------------ */

static bool flexible_request(int16_t key, int16_t version)
{
    /* Only ApiVersions reaches a flexible version among the APIs these suites encode. */
    return key == API_API_VERSIONS && version >= 3;
}

int tb_req_begin(struct tb_req *r, size_t cap, int16_t api_key, int16_t version, int32_t corr)
{
    return tb_req_begin_id(r, cap, api_key, version, corr, kp_str_of("tb"));
}

int tb_req_begin_id(struct tb_req *r, size_t cap, int16_t api_key, int16_t version, int32_t corr,
                    struct kp_str client_id)
{
    r->buf = malloc(cap);
    if (!r->buf)
        return -ENOMEM;
    kp_wr_init(&r->wr, r->buf, cap);
    kp_wr_i32(&r->wr, 0); /* size, patched by tb_req_end */
    kp_wr_i16(&r->wr, api_key);
    kp_wr_i16(&r->wr, version);
    kp_wr_i32(&r->wr, corr);
    kp_wr_nstr(&r->wr, client_id);
    if (flexible_request(api_key, version))
        kp_wr_tags(&r->wr);
    return 0;
}

long tb_req_end(struct tb_req *r)
{
    if (!kp_wr_ok(&r->wr))
        return r->wr.err;
    size_t len = kp_wr_len(&r->wr);
    kp_wr_i32_at(&r->wr, 0, (int32_t)(len - 4));
    return (long)len;
}

void tb_req_free(struct tb_req *r)
{
    free(r->buf);
    r->buf = NULL;
}

int tb_req_send(int fd, struct tb_req *r)
{
    long len = tb_req_end(r);
    if (len < 0)
        return (int)len;
    return tb_send_all(fd, r->buf, (size_t)len);
}

void tb_enc_api_versions(struct tb_req *r, int16_t version)
{
    if (version >= 3) {
        kp_wr_cstr(&r->wr, kp_str_of("splicelog-tests"));
        kp_wr_cstr(&r->wr, kp_str_of("1.0"));
        kp_wr_tags(&r->wr);
    }
}

void tb_enc_metadata(struct tb_req *r, int16_t version, const char *const *topics, int n,
                     bool allow_auto_create)
{
    if (n < 0)
        kp_wr_array(&r->wr, version == 0 ? 0 : -1);
    else
        kp_wr_array(&r->wr, n);
    for (int i = 0; i < n; i++)
        kp_wr_str(&r->wr, kp_str_of(topics[i]));
    if (version >= 4)
        kp_wr_bool(&r->wr, allow_auto_create);
}

void tb_enc_produce(struct tb_req *r, int16_t version, int16_t acks, int32_t timeout_ms,
                    const char *topic, int32_t partition, const uint8_t *records, size_t len)
{
    if (version >= 3)
        kp_wr_nstr(&r->wr, KP_STR_NULL); /* transactional_id */
    kp_wr_i16(&r->wr, acks);
    kp_wr_i32(&r->wr, timeout_ms);
    kp_wr_array(&r->wr, 1);
    kp_wr_str(&r->wr, kp_str_of(topic));
    kp_wr_array(&r->wr, 1);
    kp_wr_i32(&r->wr, partition);
    if (records)
        kp_wr_nbytes(&r->wr, (struct kp_bytes){records, (int32_t)len});
    else
        kp_wr_nbytes(&r->wr, KP_BYTES_NULL);
}

void tb_enc_produce_multi(struct tb_req *r, int16_t version, int16_t acks, int32_t timeout_ms,
                          const char *topic, int n, const int32_t *parts,
                          const uint8_t *const *records, const size_t *lens)
{
    kp_wr_nstr(&r->wr, KP_STR_NULL); /* transactional_id (v3+) */
    kp_wr_i16(&r->wr, acks);
    kp_wr_i32(&r->wr, timeout_ms);
    kp_wr_array(&r->wr, 1);
    kp_wr_str(&r->wr, kp_str_of(topic));
    kp_wr_array(&r->wr, n);
    for (int i = 0; i < n; i++) {
        kp_wr_i32(&r->wr, parts[i]);
        kp_wr_nbytes(&r->wr, (struct kp_bytes){records[i], (int32_t)lens[i]});
    }
    (void)version;
}

void tb_enc_fetch_multi(struct tb_req *r, int16_t version, int32_t max_wait_ms, int32_t min_bytes,
                        int32_t max_bytes, const char *topic, int n, const int32_t *parts,
                        const int64_t *offsets, int32_t pmax)
{
    struct kp_wr *w = &r->wr;
    kp_wr_i32(w, -1); /* replica_id */
    kp_wr_i32(w, max_wait_ms);
    kp_wr_i32(w, min_bytes);
    kp_wr_i32(w, max_bytes);
    kp_wr_i8(w, 0); /* isolation_level (v4+) */
    if (version >= 7) {
        kp_wr_i32(w, 0);  /* session_id */
        kp_wr_i32(w, -1); /* session_epoch */
    }
    kp_wr_array(w, 1);
    kp_wr_str(w, kp_str_of(topic));
    kp_wr_array(w, n);
    for (int i = 0; i < n; i++) {
        kp_wr_i32(w, parts[i]);
        if (version >= 9)
            kp_wr_i32(w, -1); /* current_leader_epoch */
        kp_wr_i64(w, offsets[i]);
        if (version >= 5)
            kp_wr_i64(w, -1); /* log_start_offset (followers only) */
        kp_wr_i32(w, pmax);
    }
    if (version >= 7)
        kp_wr_array(w, 0); /* forgotten topics */
    if (version >= 11)
        kp_wr_str(w, kp_str_of(""));
}

void tb_enc_fetch(struct tb_req *r, int16_t version, const struct tb_fetch_args *a)
{
    tb_enc_fetch_multi(r, version, a->max_wait_ms, a->min_bytes, a->max_bytes, a->topic, 1,
                       &a->partition, &a->offset, a->partition_max_bytes);
}

int tb_send_fetch(int fd, int16_t version, int32_t corr, const struct tb_fetch_args *a)
{
    struct tb_req r;
    int rc = tb_req_begin(&r, 512, 1, version, corr);
    if (rc < 0)
        return rc;
    tb_enc_fetch(&r, version, a);
    rc = tb_req_send(fd, &r);
    tb_req_free(&r);
    return rc;
}

void tb_enc_list_offsets(struct tb_req *r, int16_t version, const char *topic, int32_t partition,
                         int64_t timestamp)
{
    struct kp_wr *w = &r->wr;
    kp_wr_i32(w, -1);
    if (version >= 2)
        kp_wr_i8(w, 0);
    kp_wr_array(w, 1);
    kp_wr_str(w, kp_str_of(topic));
    kp_wr_array(w, 1);
    kp_wr_i32(w, partition);
    kp_wr_i64(w, timestamp);
}

void tb_enc_create_topics(struct tb_req *r, int16_t version, const char *topic,
                          int32_t num_partitions, int16_t replication_factor, int32_t timeout_ms,
                          bool validate_only)
{
    struct kp_wr *w = &r->wr;
    kp_wr_array(w, 1);
    kp_wr_str(w, kp_str_of(topic));
    kp_wr_i32(w, num_partitions);
    kp_wr_i16(w, replication_factor);
    kp_wr_array(w, 0); /* assignments */
    kp_wr_array(w, 0); /* configs */
    kp_wr_i32(w, timeout_ms);
    if (version >= 1)
        kp_wr_bool(w, validate_only);
}

void tb_enc_delete_topics(struct tb_req *r, int16_t version, const char *topic, int32_t timeout_ms)
{
    (void)version; /* v0-v3 share one layout */
    kp_wr_array(&r->wr, 1);
    kp_wr_str(&r->wr, kp_str_of(topic));
    kp_wr_i32(&r->wr, timeout_ms);
}

/* ---- responses ----------------------------------------------------------------------- */

/* Starts a reader after the correlation id (response header v0). */
static void rd_body(struct kp_rd *rd, const struct tb_frame *f)
{
    kp_rd_init(rd, f->data, f->len);
    (void)kp_rd_i32(rd);
}

static int rd_done(struct kp_rd *rd)
{
    if (!kp_rd_ok(rd) || kp_rd_left(rd) != 0)
        return -EBADMSG;
    return 0;
}

static void copy_str(char *dst, size_t cap, struct kp_str s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

int tb_dec_api_versions(const struct tb_frame *f, int16_t version, struct tb_api_versions *out)
{
    struct kp_rd rd;
    rd_body(&rd, f);
    memset(out, 0, sizeof *out);
    out->error = kp_rd_i16(&rd);
    int32_t n = version >= 3 ? kp_rd_carray(&rd, 7, false) : kp_rd_array(&rd, 6, false);
    if (!kp_rd_ok(&rd) || n > TB_MAX_APIS)
        return -EBADMSG;
    out->n = n;
    for (int32_t i = 0; i < n; i++) {
        out->api[i].key = kp_rd_i16(&rd);
        out->api[i].min = kp_rd_i16(&rd);
        out->api[i].max = kp_rd_i16(&rd);
        if (version >= 3)
            kp_rd_tags(&rd);
    }
    if (version >= 1)
        out->throttle_ms = kp_rd_i32(&rd);
    if (version >= 3)
        kp_rd_tags(&rd);
    return rd_done(&rd);
}

bool tb_api_range(const struct tb_api_versions *v, int16_t key, int16_t *min, int16_t *max)
{
    for (int32_t i = 0; i < v->n; i++) {
        if (v->api[i].key == key) {
            *min = v->api[i].min;
            *max = v->api[i].max;
            return true;
        }
    }
    return false;
}

int tb_dec_metadata(const struct tb_frame *f, int16_t version, struct tb_metadata *out)
{
    struct kp_rd rd;
    rd_body(&rd, f);
    memset(out, 0, sizeof *out);
    out->controller_id = -1;
    if (version >= 3)
        (void)kp_rd_i32(&rd); /* throttle */
    int32_t nb = kp_rd_array(&rd, 10, false);
    if (!kp_rd_ok(&rd) || nb > TB_MAX_BROKERS)
        return -EBADMSG;
    out->n_brokers = nb;
    for (int32_t i = 0; i < nb; i++) {
        out->broker[i].node_id = kp_rd_i32(&rd);
        copy_str(out->broker[i].host, sizeof out->broker[i].host, kp_rd_str(&rd));
        out->broker[i].port = kp_rd_i32(&rd);
        if (version >= 1)
            (void)kp_rd_nstr(&rd); /* rack */
    }
    if (version >= 2)
        (void)kp_rd_nstr(&rd); /* cluster_id */
    if (version >= 1)
        out->controller_id = kp_rd_i32(&rd);
    int32_t nt = kp_rd_array(&rd, 8, false);
    if (!kp_rd_ok(&rd) || nt > TB_MAX_TOPICS)
        return -EBADMSG;
    out->n_topics = nt;
    for (int32_t t = 0; t < nt; t++) {
        out->topic[t].error = kp_rd_i16(&rd);
        copy_str(out->topic[t].name, sizeof out->topic[t].name, kp_rd_str(&rd));
        if (version >= 1)
            out->topic[t].internal = kp_rd_bool(&rd);
        int32_t np = kp_rd_array(&rd, 18, false);
        if (!kp_rd_ok(&rd) || np > TB_MAX_PARTS)
            return -EBADMSG;
        out->topic[t].n_parts = np;
        for (int32_t p = 0; p < np; p++) {
            out->topic[t].part[p].error = kp_rd_i16(&rd);
            out->topic[t].part[p].partition = kp_rd_i32(&rd);
            out->topic[t].part[p].leader = kp_rd_i32(&rd);
            int32_t nr = kp_rd_array(&rd, 4, false);
            for (int32_t i = 0; i < nr; i++)
                (void)kp_rd_i32(&rd);
            int32_t ni = kp_rd_array(&rd, 4, false);
            for (int32_t i = 0; i < ni; i++)
                (void)kp_rd_i32(&rd);
        }
    }
    return rd_done(&rd);
}

int tb_md_topic(const struct tb_metadata *m, const char *name)
{
    for (int32_t i = 0; i < m->n_topics; i++)
        if (strcmp(m->topic[i].name, name) == 0)
            return i;
    return -1;
}

int tb_dec_produce(const struct tb_frame *f, int16_t version, struct tb_produce_resp *out)
{
    struct kp_rd rd;
    rd_body(&rd, f);
    memset(out, 0, sizeof *out);
    out->log_start_offset = -1;
    if (kp_rd_array(&rd, 8, false) != 1)
        return -EBADMSG;
    (void)kp_rd_str(&rd);
    if (kp_rd_array(&rd, 14, false) != 1)
        return -EBADMSG;
    (void)kp_rd_i32(&rd);
    out->error = kp_rd_i16(&rd);
    out->base_offset = kp_rd_i64(&rd);
    out->log_append_time = version >= 2 ? kp_rd_i64(&rd) : -1;
    if (version >= 5)
        out->log_start_offset = kp_rd_i64(&rd);
    if (version >= 1)
        (void)kp_rd_i32(&rd); /* throttle, last */
    return rd_done(&rd);
}

int tb_dec_produce_multi(const struct tb_frame *f, int16_t version, struct tb_produce_resp *out,
                         int32_t *part, int max, int *n)
{
    struct kp_rd rd;
    rd_body(&rd, f);
    if (kp_rd_array(&rd, 8, false) != 1)
        return -EBADMSG;
    (void)kp_rd_str(&rd);
    int32_t np = kp_rd_array(&rd, 14, false);
    if (!kp_rd_ok(&rd) || np < 0 || np > max)
        return -EBADMSG;
    *n = np;
    for (int32_t i = 0; i < np; i++) {
        struct tb_produce_resp *o = &out[i];
        memset(o, 0, sizeof *o);
        part[i] = kp_rd_i32(&rd);
        o->error = kp_rd_i16(&rd);
        o->base_offset = kp_rd_i64(&rd);
        o->log_append_time = version >= 2 ? kp_rd_i64(&rd) : -1;
        o->log_start_offset = version >= 5 ? kp_rd_i64(&rd) : -1;
    }
    if (version >= 1)
        (void)kp_rd_i32(&rd); /* throttle, last */
    return rd_done(&rd);
}

int tb_dec_fetch_multi(const struct tb_frame *f, int16_t version, struct tb_fetch_resp *out,
                       int32_t *part, int max, int *n)
{
    struct kp_rd rd;
    rd_body(&rd, f);
    int16_t top_error = 0;
    int32_t session_id = 0;
    (void)kp_rd_i32(&rd); /* throttle */
    if (version >= 7) {
        top_error = kp_rd_i16(&rd);
        session_id = kp_rd_i32(&rd);
    }
    if (kp_rd_array(&rd, 8, false) != 1)
        return -EBADMSG;
    (void)kp_rd_str(&rd);
    int32_t np = kp_rd_array(&rd, 30, false);
    if (!kp_rd_ok(&rd) || np < 0 || np > max)
        return -EBADMSG;
    *n = np;
    for (int32_t i = 0; i < np; i++) {
        struct tb_fetch_resp *o = &out[i];
        memset(o, 0, sizeof *o);
        o->top_error = top_error;
        o->session_id = session_id;
        o->log_start_offset = -1;
        o->preferred_read_replica = -1;
        part[i] = kp_rd_i32(&rd);
        o->error = kp_rd_i16(&rd);
        o->high_watermark = kp_rd_i64(&rd);
        o->last_stable_offset = kp_rd_i64(&rd);
        if (version >= 5)
            o->log_start_offset = kp_rd_i64(&rd);
        o->n_aborted = kp_rd_array(&rd, 16, true);
        for (int32_t j = 0; j < o->n_aborted; j++) {
            (void)kp_rd_i64(&rd);
            (void)kp_rd_i64(&rd);
        }
        if (version >= 11)
            o->preferred_read_replica = kp_rd_i32(&rd);
        struct kp_bytes rec = kp_rd_nbytes(&rd);
        o->records_len = rec.len;
        o->records = rec.ptr;
    }
    return rd_done(&rd);
}

int tb_dec_fetch(const struct tb_frame *f, int16_t version, struct tb_fetch_resp *out)
{
    int32_t part;
    int n = 0;
    int rc = tb_dec_fetch_multi(f, version, out, &part, 1, &n);
    if (rc == 0 && n != 1)
        rc = -EBADMSG;
    return rc;
}

int tb_dec_list_offsets(const struct tb_frame *f, int16_t version, struct tb_list_offsets_resp *out)
{
    struct kp_rd rd;
    rd_body(&rd, f);
    memset(out, 0, sizeof *out);
    if (version >= 2)
        (void)kp_rd_i32(&rd);
    if (kp_rd_array(&rd, 8, false) != 1)
        return -EBADMSG;
    (void)kp_rd_str(&rd);
    if (kp_rd_array(&rd, 22, false) != 1)
        return -EBADMSG;
    (void)kp_rd_i32(&rd);
    out->error = kp_rd_i16(&rd);
    out->timestamp = kp_rd_i64(&rd);
    out->offset = kp_rd_i64(&rd);
    return rd_done(&rd);
}

int tb_dec_create_topics(const struct tb_frame *f, int16_t version, int16_t *error)
{
    struct kp_rd rd;
    rd_body(&rd, f);
    if (version >= 2)
        (void)kp_rd_i32(&rd);
    if (kp_rd_array(&rd, 4, false) != 1)
        return -EBADMSG;
    (void)kp_rd_str(&rd);
    *error = kp_rd_i16(&rd);
    if (version >= 1)
        (void)kp_rd_nstr(&rd);
    return rd_done(&rd);
}

int tb_dec_delete_topics(const struct tb_frame *f, int16_t version, int16_t *error)
{
    struct kp_rd rd;
    rd_body(&rd, f);
    if (version >= 1)
        (void)kp_rd_i32(&rd);
    if (kp_rd_array(&rd, 4, false) != 1)
        return -EBADMSG;
    (void)kp_rd_str(&rd);
    *error = kp_rd_i16(&rd);
    return rd_done(&rd);
}

/* ---- round trips --------------------------------------------------------------------- */

enum { TB_MAX_RESPONSE = 256 << 20 };

int tb_call(int fd, struct tb_req *r, int32_t corr, struct tb_frame *f)
{
    int rc = tb_req_send(fd, r);
    if (rc)
        return rc;
    rc = tb_recv_frame(fd, f, TB_MAX_RESPONSE);
    if (rc)
        return rc;
    if (tb_frame_corr(f) != corr) {
        tb_frame_free(f);
        return -EPROTO;
    }
    return 0;
}

int tb_ping(int fd, int32_t corr)
{
    struct tb_req r;
    if (tb_req_begin(&r, 128, 18, 2, corr))
        return -ENOMEM;
    tb_enc_api_versions(&r, 2);
    struct tb_frame f;
    int rc = tb_call(fd, &r, corr, &f);
    tb_req_free(&r);
    if (rc == 0)
        tb_frame_free(&f);
    return rc;
}

static int32_t next_corr(void)
{
    static int32_t corr = 1; /* shared by every thread of a test process */
    return __atomic_fetch_add(&corr, 1, __ATOMIC_RELAXED);
}

int tb_produce(int fd, const char *topic, int32_t partition, const uint8_t *records, size_t len,
               struct tb_produce_resp *out)
{
    struct tb_req r;
    int32_t corr = next_corr();
    if (tb_req_begin(&r, len + strlen(topic) + 128, API_PRODUCE, 7, corr))
        return -ENOMEM;
    tb_enc_produce(&r, 7, -1, 10000, topic, partition, records, len);
    struct tb_frame f;
    int rc = tb_call(fd, &r, corr, &f);
    tb_req_free(&r);
    if (rc)
        return rc;
    rc = tb_dec_produce(&f, 7, out);
    tb_frame_free(&f);
    return rc;
}

int tb_fetch(int fd, const struct tb_fetch_args *a, struct tb_frame *f, struct tb_fetch_resp *out)
{
    struct tb_req r;
    int32_t corr = next_corr();
    if (tb_req_begin(&r, strlen(a->topic) + 128, API_FETCH, 11, corr))
        return -ENOMEM;
    tb_enc_fetch(&r, 11, a);
    int rc = tb_call(fd, &r, corr, f);
    tb_req_free(&r);
    if (rc)
        return rc;
    rc = tb_dec_fetch(f, 11, out);
    if (rc)
        tb_frame_free(f);
    return rc;
}

int tb_list_offsets(int fd, const char *topic, int32_t partition, int64_t ts,
                    struct tb_list_offsets_resp *out)
{
    struct tb_req r;
    int32_t corr = next_corr();
    if (tb_req_begin(&r, strlen(topic) + 128, API_LIST_OFFSETS, 2, corr))
        return -ENOMEM;
    tb_enc_list_offsets(&r, 2, topic, partition, ts);
    struct tb_frame f;
    int rc = tb_call(fd, &r, corr, &f);
    tb_req_free(&r);
    if (rc)
        return rc;
    rc = tb_dec_list_offsets(&f, 2, out);
    tb_frame_free(&f);
    return rc;
}

int tb_metadata(int fd, const char *const *topics, int n, bool auto_create, struct tb_metadata *out)
{
    struct tb_req r;
    int32_t corr = next_corr();
    size_t cap = 128;
    for (int i = 0; i < n; i++)
        cap += strlen(topics[i]) + 2;
    if (tb_req_begin(&r, cap, API_METADATA, 4, corr))
        return -ENOMEM;
    tb_enc_metadata(&r, 4, topics, n, auto_create);
    struct tb_frame f;
    int rc = tb_call(fd, &r, corr, &f);
    tb_req_free(&r);
    if (rc)
        return rc;
    rc = tb_dec_metadata(&f, 4, out);
    tb_frame_free(&f);
    return rc;
}

int tb_create_topic(int fd, const char *topic, int32_t partitions, int16_t *error)
{
    struct tb_req r;
    int32_t corr = next_corr();
    if (tb_req_begin(&r, strlen(topic) + 128, API_CREATE_TOPICS, 4, corr))
        return -ENOMEM;
    tb_enc_create_topics(&r, 4, topic, partitions, 1, 10000, false);
    struct tb_frame f;
    int rc = tb_call(fd, &r, corr, &f);
    tb_req_free(&r);
    if (rc)
        return rc;
    rc = tb_dec_create_topics(&f, 4, error);
    tb_frame_free(&f);
    return rc;
}

/* ---- records ------------------------------------------------------------------------- */

size_t tb_value(char *buf, size_t cap, const char *prefix, int64_t i, size_t pad_to)
{
    int n = snprintf(buf, cap, "%s-%lld", prefix, (long long)i);
    size_t len = n < 0 ? 0 : (size_t)n;
    if (len >= cap)
        len = cap - 1;
    for (; len < pad_to && len < cap; len++)
        buf[len] = (char)('a' + (len * 7 + (size_t)i) % 26);
    return len;
}

long tb_batch_values(uint8_t *buf, size_t cap, const char *prefix, int first, int count,
                     size_t pad_to, bool keyed, int64_t ts)
{
    struct kp_batch_builder b;
    int rc = kp_batch_begin(&b, buf, cap, ts);
    if (rc)
        return rc;
    size_t vcap = pad_to + 64 + strlen(prefix);
    char *val = malloc(vcap);
    if (!val)
        return -ENOMEM;
    for (int i = 0; i < count; i++) {
        size_t len = tb_value(val, vcap, prefix, first + i, pad_to);
        char key[32];
        int kn = snprintf(key, sizeof key, "k%d", first + i);
        struct kp_bytes k = keyed ? (struct kp_bytes){(const uint8_t *)key, kn} : KP_BYTES_NULL;
        rc =
            kp_batch_add(&b, ts, k, (struct kp_bytes){(const uint8_t *)val, (int32_t)len}, NULL, 0);
        if (rc) {
            free(val);
            return rc;
        }
    }
    free(val);
    return kp_batch_finish(&b);
}

long tb_records_walk(const uint8_t *p, size_t len, tb_rec_fn fn, void *ctx, size_t *trailing)
{
    long count = 0;
    size_t pos = 0;
    if (trailing)
        *trailing = 0;
    while (pos < len) {
        struct kp_batch_hdr h;
        int rc = kp_batch_validate(p + pos, len - pos, 0, &h);
        if (rc == -ENODATA) {
            if (trailing)
                *trailing = len - pos;
            break;
        }
        if (rc)
            return -EBADMSG;
        if (kp_batch_check_records(p + pos, &h))
            return -EBADMSG;
        struct kp_record_iter it;
        kp_record_iter_init(&it, p + pos, &h);
        struct kp_record rec;
        for (;;) {
            rc = kp_record_next(&it, &rec);
            if (rc == 0)
                break;
            if (rc < 0)
                return -EBADMSG;
            struct tb_rec_view v = {
                .offset = h.base_offset + rec.offset_delta,
                .timestamp = h.base_timestamp + rec.timestamp_delta,
                .key = rec.key,
                .value = rec.value,
                .header_count = rec.header_count,
            };
            count++;
            if (fn) {
                int stop = fn(ctx, &v);
                if (stop)
                    return stop;
            }
        }
        pos += kp_batch_size(&h);
    }
    return count;
}

int tb_seq_check(void *ctx, const struct tb_rec_view *rec)
{
    struct tb_seq *s = ctx;
    if (rec->offset < s->next_offset)
        return 0;
    if (rec->offset != s->next_offset) {
        snprintf(s->err, sizeof s->err, "offset %lld where %lld was expected",
                 (long long)rec->offset, (long long)s->next_offset);
        return 1;
    }
    int64_t i = rec->offset - s->value_base;
    size_t pad = s->pad_of ? s->pad_of(i) : s->pad_to;
    size_t cap = pad + 64 + strlen(s->prefix);
    char *want = malloc(cap);
    if (!want) {
        snprintf(s->err, sizeof s->err, "out of memory");
        return 1;
    }
    size_t len = tb_value(want, cap, s->prefix, i, pad);
    bool same = rec->value.len == (int32_t)len && memcmp(rec->value.ptr, want, len) == 0;
    free(want);
    if (!same) {
        snprintf(s->err, sizeof s->err, "offset %lld: value of %d bytes \"%.*s...\" is not %s-%lld",
                 (long long)rec->offset, rec->value.len,
                 rec->value.len > 0 ? (rec->value.len < 40 ? rec->value.len : 40) : 0,
                 rec->value.len > 0 ? (const char *)rec->value.ptr : "", s->prefix, (long long)i);
        return 1;
    }
    s->next_offset++;
    s->seen++;
    return 0;
}

int tb_consume_seq(int fd, const char *topic, int32_t partition, int64_t until, struct tb_seq *seq,
                   int max_fetches)
{
    for (int n = 0; n < max_fetches && seq->next_offset < until; n++) {
        struct tb_fetch_args a = {
            .max_wait_ms = 200,
            .min_bytes = 1,
            .max_bytes = 8 << 20,
            .topic = topic,
            .partition = partition,
            .offset = seq->next_offset,
            .partition_max_bytes = 4 << 20,
        };
        struct tb_frame f;
        struct tb_fetch_resp r;
        int rc = tb_fetch(fd, &a, &f, &r);
        if (rc)
            return rc;
        if (r.error != 0 || r.top_error != 0) {
            snprintf(seq->err, sizeof seq->err, "fetch at %lld: error %d/%d",
                     (long long)seq->next_offset, r.top_error, r.error);
            tb_frame_free(&f);
            return 1;
        }
        size_t trailing;
        long got = r.records_len > 0 ? tb_records_walk(r.records, (size_t)r.records_len,
                                                       tb_seq_check, seq, &trailing)
                                     : 0;
        tb_frame_free(&f);
        if (got < 0) {
            snprintf(seq->err, sizeof seq->err, "fetch at %lld: corrupt records (%ld)",
                     (long long)seq->next_offset, got);
            return 1;
        }
        if (got == 1 && seq->err[0])
            return 1;
    }
    return seq->next_offset >= until ? 0 : -ETIMEDOUT;
}

/* ---- cross-check with kp_msg ----------------------------------------------------------------- */

enum { TB_ARENA = 4 << 20 };

#define TB_DECODE(kind, name, rd, v, arena)                                                        \
    do {                                                                                           \
        struct kp_##name##_##kind out_;                                                            \
        rc = kp_##name##_##kind##_decode((rd), (v), (arena), &out_);                               \
    } while (0)

static int codec_body(struct kp_rd *rd, int16_t key, int16_t v, bool request)
{
    void *mem = malloc(TB_ARENA);
    if (!mem)
        return -ENOMEM;
    struct kp_arena arena;
    kp_arena_init(&arena, mem, TB_ARENA);
    int rc = -ENOTSUP;
    switch (key) {
    case API_API_VERSIONS:
        if (request)
            TB_DECODE(req, api_versions, rd, v, &arena);
        else
            TB_DECODE(resp, api_versions, rd, v, &arena);
        break;
    case API_METADATA:
        if (request)
            TB_DECODE(req, metadata, rd, v, &arena);
        else
            TB_DECODE(resp, metadata, rd, v, &arena);
        break;
    case API_PRODUCE:
        if (request)
            TB_DECODE(req, produce, rd, v, &arena);
        else
            TB_DECODE(resp, produce, rd, v, &arena);
        break;
    case API_FETCH:
        if (request)
            TB_DECODE(req, fetch, rd, v, &arena);
        else
            TB_DECODE(resp, fetch, rd, v, &arena);
        break;
    case API_LIST_OFFSETS:
        if (request)
            TB_DECODE(req, list_offsets, rd, v, &arena);
        else
            TB_DECODE(resp, list_offsets, rd, v, &arena);
        break;
    case API_CREATE_TOPICS:
        if (request)
            TB_DECODE(req, create_topics, rd, v, &arena);
        else
            TB_DECODE(resp, create_topics, rd, v, &arena);
        break;
    case API_DELETE_TOPICS:
        if (request)
            TB_DECODE(req, delete_topics, rd, v, &arena);
        else
            TB_DECODE(resp, delete_topics, rd, v, &arena);
        break;
    default:
        break;
    }
    free(mem);
    if (rc == 0 && kp_rd_left(rd) != 0)
        rc = -EBADMSG;
    return rc;
}

int tb_codec_req_check(const uint8_t *frame, size_t len)
{
    if (len < 4 || kp_load_be32(frame) != len - 4)
        return -EBADMSG;
    struct kp_rd rd;
    kp_rd_init(&rd, frame + 4, len - 4);
    struct kp_req_hdr h;
    int rc = kp_req_hdr_decode(&rd, &h);
    if (rc)
        return rc;
    return codec_body(&rd, h.api_key, h.api_version, true);
}

int tb_codec_resp_check(const struct tb_frame *f, int16_t api_key, int16_t version)
{
    struct kp_rd rd;
    kp_rd_init(&rd, f->data, f->len);
    int32_t corr;
    int rc = kp_resp_hdr_decode(&rd, api_key, version, &corr);
    if (rc)
        return rc;
    return codec_body(&rd, api_key, version, false);
}
