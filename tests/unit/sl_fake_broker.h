/*
 * sl_fake_broker.h — a scripted Kafka broker for the client's unit suites (included by
 * test_sl_scripted.c and test_sl_mt.c; static functions, no other test support needed, so the
 * ThreadSanitizer build can use it too).
 *
 * It listens on an ephemeral 127.0.0.1 port, serves every connection on its own thread, and
 * speaks exactly the versions the client uses (ApiVersions 0, Metadata 4, Produce 7,
 * ListOffsets 2, Fetch 11), coded here with kp_buf alone. One topic, "t", with fb.nparts
 * partitions, each an in-memory log of the batches produced (baseOffset assigned). Fetches are
 * cut at partition_max_bytes by bytes, without Kafka's minimum of one whole batch, so clients
 * see oversized first batches and partial trailing ones. Script knobs: produce_fail_next /
 * produce_err (refuse that many Produce requests), not_leader (refuse every Produce with
 * NOT_LEADER_OR_FOLLOWER until a Metadata request arrives), chaos (corrupt every response a
 * little, from a seed). State is guarded by fb.mu.
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

#define FB_MAXB 4096
#define FB_MAXP 4
#define FB_MAXC 32

struct fb_part {
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
    unsigned chaos; /* when nonzero: a seed; every response gets 1-3 random bytes changed
                     * after its correlation id (the client must cope, never crash) */
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

/* Handles one request frame (after the size); writes the response into w (false: none). */
static bool fb_handle(const uint8_t *req, size_t len, struct kp_wr *w, bool *idle)
{
    struct kp_rd rd;
    kp_rd_init(&rd, req, len);
    int16_t key = kp_rd_i16(&rd);
    kp_rd_i16(&rd);
    int32_t corr = kp_rd_i32(&rd);
    kp_rd_nstr(&rd);
    kp_wr_i32(w, 0);
    kp_wr_i32(w, corr);
    bool respond = true;
    switch (key) {
    case 18: {
        static const int16_t v[][3] = {{0, 3, 7}, {1, 4, 11}, {2, 1, 2}, {3, 0, 4}, {18, 0, 3}};
        kp_wr_i16(w, 0);
        kp_wr_array(w, 5);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 3; j++)
                kp_wr_i16(w, v[i][j]);
        break;
    }
    case 3: {
        fb.metadata++;
        if (fb.not_leader && fb.produce_refused > 0)
            fb.not_leader = false;
        int32_t n = kp_rd_array(&rd, 2, true);
        kp_wr_i32(w, 0);
        kp_wr_array(w, 1);
        kp_wr_i32(w, 0);
        kp_wr_str(w, kp_str_of("127.0.0.1"));
        kp_wr_i32(w, fb.port);
        kp_wr_nstr(w, KP_STR_NULL);
        kp_wr_nstr(w, KP_STR_NULL);
        kp_wr_i32(w, 0);
        kp_wr_array(w, n < 0 ? 0 : n);
        for (int32_t i = 0; i < n; i++) {
            struct kp_str name = kp_rd_str(&rd);
            bool t = kp_str_eq(name, "t");
            kp_wr_i16(w, t ? 0 : 3);
            kp_wr_str(w, name);
            kp_wr_bool(w, false);
            kp_wr_array(w, t ? fb.nparts : 0);
            for (int p = 0; t && p < fb.nparts; p++) {
                kp_wr_i16(w, 0);
                kp_wr_i32(w, p);
                kp_wr_i32(w, 0);
                kp_wr_array(w, 1);
                kp_wr_i32(w, 0);
                kp_wr_array(w, 1);
                kp_wr_i32(w, 0);
            }
        }
        break;
    }
    case 0: {
        kp_rd_nstr(&rd);
        int16_t acks = kp_rd_i16(&rd);
        kp_rd_i32(&rd);
        int32_t nt = kp_rd_array(&rd, 6, false);
        bool refuse = fb.produce_fail_next > 0 || fb.not_leader;
        if (refuse) {
            if (fb.produce_fail_next > 0)
                fb.produce_fail_next--;
            fb.produce_refused++;
        }
        int16_t refuse_err = fb.not_leader ? 6 : fb.produce_err;
        kp_wr_array(w, nt);
        for (int32_t i = 0; i < nt; i++) {
            struct kp_str name = kp_rd_str(&rd);
            int32_t np = kp_rd_array(&rd, 8, false);
            kp_wr_str(w, name);
            kp_wr_array(w, np);
            for (int32_t j = 0; j < np; j++) {
                int32_t p = kp_rd_i32(&rd);
                struct kp_bytes rec = kp_rd_nbytes(&rd);
                struct fb_part *fp = fb_part_of(name, p);
                int16_t err = refuse ? refuse_err : fp ? 0 : 3;
                int64_t base = fp && !err ? fp->next_offset : -1;
                if (!kp_rd_ok(&rd) || rec.len <= 0)
                    fb.bad_requests++;
                else if (!err)
                    fb_append(fp, rec.ptr, (size_t)rec.len);
                kp_wr_i32(w, p);
                kp_wr_i16(w, err);
                kp_wr_i64(w, base);
                kp_wr_i64(w, -1);
                kp_wr_i64(w, 0);
            }
        }
        kp_wr_i32(w, 0);
        respond = acks != 0;
        break;
    }
    case 2: {
        kp_rd_i32(&rd);
        kp_rd_i8(&rd);
        int32_t nt = kp_rd_array(&rd, 6, false);
        kp_wr_i32(w, 0);
        kp_wr_array(w, nt);
        for (int32_t i = 0; i < nt; i++) {
            struct kp_str name = kp_rd_str(&rd);
            kp_wr_str(w, name);
            int32_t np = kp_rd_array(&rd, 12, false);
            kp_wr_array(w, np);
            for (int32_t j = 0; j < np; j++) {
                int32_t p = kp_rd_i32(&rd);
                int64_t ts = kp_rd_i64(&rd);
                struct fb_part *fp = fb_part_of(name, p);
                kp_wr_i32(w, p);
                kp_wr_i16(w, fp ? 0 : 3);
                kp_wr_i64(w, -1);
                kp_wr_i64(w, !fp ? -1 : ts == -2 ? 0 : fp->next_offset);
            }
        }
        break;
    }
    case 1: {
        fb.fetches++;
        for (int i = 0; i < 4; i++)
            kp_rd_i32(&rd);
        kp_rd_i8(&rd);
        kp_rd_i32(&rd);
        kp_rd_i32(&rd);
        int32_t nt = kp_rd_array(&rd, 6, false);
        kp_wr_i32(w, 0);
        kp_wr_i16(w, 0);
        kp_wr_i32(w, 0);
        kp_wr_array(w, nt);
        bool any = false;
        for (int32_t i = 0; i < nt; i++) {
            struct kp_str name = kp_rd_str(&rd);
            int32_t np = kp_rd_array(&rd, 28, false);
            kp_wr_str(w, name);
            kp_wr_array(w, np);
            for (int32_t j = 0; j < np; j++) {
                int32_t p = kp_rd_i32(&rd);
                kp_rd_i32(&rd);
                int64_t off = kp_rd_i64(&rd);
                kp_rd_i64(&rd);
                int32_t pmax = kp_rd_i32(&rd);
                struct fb_part *fp = fb_part_of(name, p);
                size_t from, n;
                int16_t err = fb_fetch_range(fp, off, pmax, &from, &n);
                any |= n > 0 || err;
                kp_wr_i32(w, p);
                kp_wr_i16(w, err);
                kp_wr_i64(w, fp ? fp->next_offset : -1);
                kp_wr_i64(w, fp ? fp->next_offset : -1);
                kp_wr_i64(w, 0);
                kp_wr_array(w, -1);
                kp_wr_i32(w, -1);
                kp_wr_bytes(w, (struct kp_bytes){fp ? fp->log + from : NULL, (int32_t)n});
            }
        }
        *idle = !any;
        break;
    }
    default:
        fb.bad_requests++;
        return false;
    }
    if (!kp_rd_ok(&rd))
        fb.bad_requests++;
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
        size_t cap = 4096;
        for (int p = 0; p < fb.nparts; p++)
            cap += fb.part[p].len;
        uint8_t *buf = malloc(cap);
        struct kp_wr w;
        kp_wr_init(&w, buf, cap);
        bool idle = false;
        bool respond = fb_handle(req, sz, &w, &idle);
        pthread_mutex_unlock(&fb.mu);
        free(req);
        if (idle)
            usleep(5000); /* nothing to fetch: a short long-poll */
        int rc = 0;
        if (respond && kp_wr_ok(&w)) {
            kp_store_be32(buf, (uint32_t)(kp_wr_len(&w) - 4));
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
