/*
 * st_txnlog — the transaction coordinator's durable state (see st_txnlog.h): the file, its
 * format, replay, compaction. Framing and replay rule are those of offsets.log (st_offsets.c).
 *
 * ON-DISK FORMAT (every integer big-endian)
 *
 * <data-dir>/__transaction_state/
 *   txn.log     the log below
 *   txn.tmp     a compaction (or the first creation) in progress; removed at open
 *
 * txn.log = a header, then records back to back, appended only.
 *   header (TL_HDR = 16 bytes):
 *      0  4  magic "SLTX"
 *      4  4  version 1
 *      8  4  0
 *     12  4  CRC-32C of bytes [0, 12)
 *   record (TL_REC_OVERHEAD = 8 bytes around a body of B bytes, TL_BODY_MIN <= B <=
 *   ST_TXNLOG_BODY_MAX):
 *      0  4  B
 *      4  B  body
 *    4+B  4  CRC-32C of bytes [0, 4+B)
 *   body:
 *      0  1  type: TL_STATE 1, TL_TOMBSTONE 2, TL_PID_BLOCK 3
 *      1  8  time in ms since the epoch (the state's last update; the deletion time)
 *   TL_STATE and TL_TOMBSTONE go on with
 *      9  2  L, transactional id length, 1..ST_TXNLOG_ID_MAX
 *     11  L  transactional id
 *   TL_STATE then:
 *         8  producer id         8  last producer id     2  epoch     2  last epoch
 *         4  transaction timeout ms                       1  state (0..7)
 *         8  transaction start ms (-1: none)
 *         4  T topics (0..ST_TXNLOG_PARTS_MAX), each: 2 length (1..ST_TXNLOG_TOPIC_MAX),
 *            name, 4 n partitions (0..ST_TXNLOG_PARTS_MAX), n x 4 partition (>= 0); at most
 *            ST_TXNLOG_PARTS_MAX partitions in all
 *         4  G groups (0..ST_TXNLOG_PARTS_MAX), each: 2 length (1..ST_TXNLOG_ID_MAX), id
 *   TL_PID_BLOCK then:
 *      9  8  block end: every producer id below it may have been handed out (> 0)
 *   The fields must end exactly at B.
 *
 * MEANING: replaying the records in order gives the state: the last TL_STATE of an id is its
 *   state, TL_TOMBSTONE forgets it, the largest TL_PID_BLOCK end is where new ids start.
 *   Unlike Kafka's TransactionLogValue the record keeps the last producer id and epoch (so a
 *   retried epoch bump is recognised across a restart) and, in Complete states, the
 *   partitions (so the coordinator's start-up sweep can finish a transaction whose markers a
 *   power loss took).
 *
 * REPLAY RULE (open): as offsets.log's: a record counts only if its length is within bounds,
 *   it ends within the file, its CRC matches and its body parses to exactly B bytes; at the
 *   first one that does not, the file is truncated there (and fdatasynced) with a log line.
 *   No length is used before it is checked against the bytes left and the bounds above. A
 *   bad header fails the open with -EBADMSG (the file is created complete).
 *
 * WRITE AND SYNC ORDER
 *   create   header -> txn.tmp, fdatasync, rename to txn.log, fsync the directory.
 *   write    one record per call, pwritten at the end before the call returns and before the
 *            in-memory state changes; fdatasync then per flush_interval_messages (1: every
 *            call) or later by flush_interval_ms; TL_PID_BLOCK always. A failed or short write
 *            is cut back (ftruncate); if that or an fdatasync fails, writes stop (-ESHUTDOWN).
 *   compact  when the file exceeds max(4 x live bytes, compact_min_bytes): header, one
 *            TL_PID_BLOCK, the live records -> txn.tmp, fdatasync, rename over txn.log, fsync
 *            the directory. A crash at any step leaves one complete file; open removes a
 *            leftover txn.tmp. A failed directory fsync after the rename stops writes.
 */
#include "st_txnlog.h"
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "kp_buf.h"
#include "kp_crc32c.h"

enum {
    TL_HDR = 16,
    TL_REC_OVERHEAD = 8,
    TL_STATE = 1,
    TL_TOMBSTONE = 2,
    TL_PID_BLOCK = 3,
    TL_VERSION = 1,
    TL_BODY_MIN = 9 + 3, /* a tombstone of a 1-byte id */
    TL_STATE_FIXED = 8 + 8 + 2 + 2 + 4 + 1 + 8 + 4 + 4,
};

#define TL_MAGIC    "SLTX"
#define TL_LOG_NAME "txn.log"
#define TL_TMP_NAME "txn.tmp"

/* The last record of one id: its body bytes, as written. */
struct tl_entry {
    struct tl_entry *next;
    uint64_t hash;
    uint8_t *body;
    uint32_t len;
    uint16_t id_len;
    const char *id; /* into body */
};

struct st_txnlog {
    pthread_mutex_t mu;
    struct st_txnlog_opts opts;
    char *dir;
    int fd;
    int64_t size;
    uint64_t seed;
    struct tl_entry **tab;
    size_t nbuckets;
    int64_t n, live_bytes;
    int64_t next_pid;
    int64_t write_seq, synced_seq, unsynced_since_ms;
    int64_t compactions;
    int broken;
};

static void say(const struct st_txnlog *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const struct st_txnlog *l, const char *fmt, ...)
{
    if (!l->opts.log_fn)
        return;
    char msg[ST_MAX_PATH + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    l->opts.log_fn(l->opts.log_arg, msg);
}

void st_txnlog_opts_default(struct st_txnlog_opts *o)
{
    *o = (struct st_txnlog_opts){
        .flush_interval_messages = -1,
        .flush_interval_ms = -1,
        .compact_min_bytes = 1 << 20,
    };
}

/* ---- records ------------------------------------------------------------------------------- */

static size_t state_body_size(const struct st_txnlog_rec *r)
{
    size_t n = 9 + 2 + r->id_len + TL_STATE_FIXED;
    for (int32_t i = 0; i < r->n_topics; i++)
        n += 2 + r->topics[i].len + 4 + 4 * (size_t)r->topics[i].n;
    for (int32_t i = 0; i < r->n_groups; i++)
        n += 2 + r->groups[i].len;
    return n;
}

static bool rec_ok(const struct st_txnlog_rec *r)
{
    if (!r->id || r->id_len < 1 || r->id_len > ST_TXNLOG_ID_MAX || r->state > 7 ||
        r->n_topics < 0 || r->n_groups < 0 || r->n_groups > ST_TXNLOG_PARTS_MAX ||
        r->n_topics > ST_TXNLOG_PARTS_MAX || (r->n_topics && !r->topics) ||
        (r->n_groups && !r->groups))
        return false;
    int64_t parts = 0;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct st_txnlog_topic *t = &r->topics[i];
        if (t->len < 1 || t->len > ST_TXNLOG_TOPIC_MAX || t->n < 0 || (t->n && !t->partitions))
            return false;
        for (int32_t k = 0; k < t->n; k++)
            if (t->partitions[k] < 0)
                return false;
        parts += t->n;
    }
    for (int32_t i = 0; i < r->n_groups; i++)
        if (r->groups[i].len < 1 || r->groups[i].len > ST_TXNLOG_ID_MAX)
            return false;
    return parts <= ST_TXNLOG_PARTS_MAX && state_body_size(r) <= ST_TXNLOG_BODY_MAX;
}

static void state_encode(uint8_t *b, const struct st_txnlog_rec *r)
{
    struct kp_wr w;
    kp_wr_init(&w, b, state_body_size(r));
    kp_wr_i8(&w, TL_STATE);
    kp_wr_i64(&w, r->update_ms);
    kp_wr_i16(&w, (int16_t)r->id_len);
    kp_wr_raw(&w, r->id, r->id_len);
    kp_wr_i64(&w, r->producer_id);
    kp_wr_i64(&w, r->last_producer_id);
    kp_wr_i16(&w, r->epoch);
    kp_wr_i16(&w, r->last_epoch);
    kp_wr_i32(&w, r->timeout_ms);
    kp_wr_i8(&w, (int8_t)r->state);
    kp_wr_i64(&w, r->start_ms);
    kp_wr_i32(&w, r->n_topics);
    for (int32_t i = 0; i < r->n_topics; i++) {
        kp_wr_i16(&w, (int16_t)r->topics[i].len);
        kp_wr_raw(&w, r->topics[i].name, r->topics[i].len);
        kp_wr_i32(&w, r->topics[i].n);
        for (int32_t k = 0; k < r->topics[i].n; k++)
            kp_wr_i32(&w, r->topics[i].partitions[k]);
    }
    kp_wr_i32(&w, r->n_groups);
    for (int32_t i = 0; i < r->n_groups; i++) {
        kp_wr_i16(&w, (int16_t)r->groups[i].len);
        kp_wr_raw(&w, r->groups[i].id, r->groups[i].len);
    }
}

/*
 * Parses a TL_STATE body (its CRC checked) into r, the arrays into topics, partitions and
 * groups; with those NULL it only checks the body (r's counts and *nparts then size them).
 * 0 or -EBADMSG.
 */
static int state_decode(const uint8_t *body, size_t len, struct st_txnlog_rec *r,
                        struct st_txnlog_topic *topics, int32_t *partitions,
                        struct st_txnlog_group *groups, int64_t *nparts)
{
    struct kp_rd rd;
    kp_rd_init(&rd, body, len);
    memset(r, 0, sizeof(*r));
    if (kp_rd_i8(&rd) != TL_STATE)
        return -EBADMSG;
    r->update_ms = kp_rd_i64(&rd);
    r->id_len = (uint16_t)kp_rd_i16(&rd);
    r->id = (const char *)kp_rd_raw(&rd, r->id_len);
    r->producer_id = kp_rd_i64(&rd);
    r->last_producer_id = kp_rd_i64(&rd);
    r->epoch = kp_rd_i16(&rd);
    r->last_epoch = kp_rd_i16(&rd);
    r->timeout_ms = kp_rd_i32(&rd);
    r->state = (uint8_t)kp_rd_i8(&rd);
    r->start_ms = kp_rd_i64(&rd);
    r->n_topics = kp_rd_i32(&rd);
    if (!kp_rd_ok(&rd) || r->id_len < 1 || r->id_len > ST_TXNLOG_ID_MAX || r->state > 7 ||
        r->n_topics < 0 || r->n_topics > ST_TXNLOG_PARTS_MAX ||
        (size_t)r->n_topics > kp_rd_left(&rd) / 7)
        return -EBADMSG;
    int64_t parts = 0;
    for (int32_t i = 0; i < r->n_topics && kp_rd_ok(&rd); i++) {
        struct st_txnlog_topic t;
        t.len = (uint16_t)kp_rd_i16(&rd);
        t.name = (const char *)kp_rd_raw(&rd, t.len);
        t.n = kp_rd_i32(&rd);
        if (!kp_rd_ok(&rd) || t.len < 1 || t.len > ST_TXNLOG_TOPIC_MAX || t.n < 0 ||
            (size_t)t.n > kp_rd_left(&rd) / 4 || parts + t.n > ST_TXNLOG_PARTS_MAX)
            return -EBADMSG;
        t.partitions = partitions ? partitions + parts : NULL;
        for (int32_t k = 0; k < t.n; k++) {
            int32_t p = kp_rd_i32(&rd);
            if (p < 0)
                return -EBADMSG;
            if (partitions)
                partitions[parts + k] = p;
        }
        parts += t.n;
        if (topics)
            topics[i] = t;
    }
    r->n_groups = kp_rd_i32(&rd);
    if (!kp_rd_ok(&rd) || r->n_groups < 0 || r->n_groups > ST_TXNLOG_PARTS_MAX ||
        (size_t)r->n_groups > kp_rd_left(&rd) / 3)
        return -EBADMSG;
    for (int32_t i = 0; i < r->n_groups && kp_rd_ok(&rd); i++) {
        struct st_txnlog_group g;
        g.len = (uint16_t)kp_rd_i16(&rd);
        g.id = (const char *)kp_rd_raw(&rd, g.len);
        if (!kp_rd_ok(&rd) || g.len < 1 || g.len > ST_TXNLOG_ID_MAX)
            return -EBADMSG;
        if (groups)
            groups[i] = g;
    }
    if (!kp_rd_ok(&rd) || kp_rd_left(&rd) != 0)
        return -EBADMSG;
    r->topics = topics;
    r->groups = groups;
    *nparts = parts;
    return 0;
}

/* A whole body checked: type, its fields. For TL_STATE / TL_TOMBSTONE the id is returned. */
static int body_check(const uint8_t *body, size_t len, uint8_t *type, const char **id,
                      size_t *id_len, int64_t *block)
{
    if (len < 9)
        return -EBADMSG;
    *type = body[0];
    if (*type == TL_PID_BLOCK) {
        if (len != 17)
            return -EBADMSG;
        *block = (int64_t)kp_load_be64(body + 9);
        return *block > 0 ? 0 : -EBADMSG;
    }
    if (*type == TL_TOMBSTONE) {
        if (len < 12)
            return -EBADMSG;
        *id_len = kp_load_be16(body + 9);
        *id = (const char *)body + 11;
        return *id_len >= 1 && *id_len <= ST_TXNLOG_ID_MAX && 11 + *id_len == len ? 0 : -EBADMSG;
    }
    if (*type != TL_STATE)
        return -EBADMSG;
    struct st_txnlog_rec r;
    int64_t np;
    if (state_decode(body, len, &r, NULL, NULL, NULL, &np) < 0)
        return -EBADMSG;
    *id = r.id;
    *id_len = r.id_len;
    return 0;
}

/* ---- the map of last records ---------------------------------------------------------------- */

static uint64_t id_hash(const struct st_txnlog *l, const char *id, size_t len)
{
    return XXH3_64bits_withSeed(id, len, l->seed);
}

static struct tl_entry **slot_of(struct st_txnlog *l, const char *id, size_t len, uint64_t h)
{
    struct tl_entry **pp = &l->tab[h & (l->nbuckets - 1)];
    while (*pp && !((*pp)->hash == h && (*pp)->id_len == len && memcmp((*pp)->id, id, len) == 0))
        pp = &(*pp)->next;
    return pp;
}

static int map_grow(struct st_txnlog *l)
{
    if ((size_t)l->n < l->nbuckets)
        return 0;
    size_t nb = l->nbuckets * 2;
    struct tl_entry **nt = calloc(nb, sizeof(*nt));
    if (!nt)
        return -ENOMEM;
    for (size_t i = 0; i < l->nbuckets; i++) {
        for (struct tl_entry *e = l->tab[i], *next; e; e = next) {
            next = e->next;
            e->next = nt[e->hash & (nb - 1)];
            nt[e->hash & (nb - 1)] = e;
        }
    }
    free(l->tab);
    l->tab = nt;
    l->nbuckets = nb;
    return 0;
}

/* Remembers body (copied) as the id's last record. -ENOMEM leaves the map as it was. */
static int map_set(struct st_txnlog *l, const uint8_t *body, size_t len, const char *id,
                   size_t id_len)
{
    int err = map_grow(l);
    if (err < 0)
        return err;
    uint8_t *copy = malloc(len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, body, len);
    uint64_t h = id_hash(l, id, id_len);
    struct tl_entry **pp = slot_of(l, id, id_len, h);
    struct tl_entry *e = *pp;
    if (!e) {
        if (!(e = calloc(1, sizeof(*e)))) {
            free(copy);
            return -ENOMEM;
        }
        e->hash = h;
        *pp = e;
        l->n++;
    } else {
        l->live_bytes -= TL_REC_OVERHEAD + e->len;
        free(e->body);
    }
    e->body = copy;
    e->len = (uint32_t)len;
    e->id_len = (uint16_t)id_len;
    e->id = (const char *)copy + 11; /* TL_STATE: the id follows type, time, length */
    l->live_bytes += TL_REC_OVERHEAD + (int64_t)len;
    return 0;
}

static void map_del(struct st_txnlog *l, const char *id, size_t id_len)
{
    struct tl_entry **pp = slot_of(l, id, id_len, id_hash(l, id, id_len));
    struct tl_entry *e = *pp;
    if (!e)
        return;
    *pp = e->next;
    l->live_bytes -= TL_REC_OVERHEAD + e->len;
    l->n--;
    free(e->body);
    free(e);
}

/* ---- files ---------------------------------------------------------------------------------- */

static void path_of(const struct st_txnlog *l, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", l->dir, name);
}

static void header_encode(uint8_t b[TL_HDR])
{
    memcpy(b, TL_MAGIC, 4);
    kp_store_be32(b + 4, TL_VERSION);
    kp_store_be32(b + 8, 0);
    kp_store_be32(b + 12, kp_crc32c(0, b, 12));
}

/* Frames body into out (len + 8 bytes). */
static void frame(uint8_t *out, const uint8_t *body, size_t len)
{
    kp_store_be32(out, (uint32_t)len);
    memcpy(out + 4, body, len);
    kp_store_be32(out + 4 + len, kp_crc32c(0, out, 4 + len));
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends one framed record at the end (cut back on failure), then syncs per the policy. */
static int append_locked(struct st_txnlog *l, const uint8_t *rec, size_t len, bool force_sync)
{
    if (l->broken)
        return -ESHUTDOWN;
    int err = st__pwrite_full(l->fd, rec, len, l->size);
    if (err < 0) {
        if (ftruncate(l->fd, l->size) < 0) {
            l->broken = err;
            say(l, "txnlog: %s/%s: a failed write could not be cut back: writes stop", l->dir,
                TL_LOG_NAME);
        }
        return err;
    }
    l->size += (int64_t)len;
    if (l->write_seq == l->synced_seq)
        l->unsynced_since_ms = mono_ms();
    l->write_seq++;
    int64_t fim = l->opts.flush_interval_messages;
    if (force_sync || (fim > 0 && l->write_seq - l->synced_seq >= fim)) {
        if (fdatasync(l->fd) < 0) {
            err = -errno;
            l->broken = err;
            say(l, "txnlog: fdatasync of %s/%s failed (%s): writes stop", l->dir, TL_LOG_NAME,
                strerror(-err));
            return err;
        }
        l->synced_seq = l->write_seq;
    }
    return 0;
}

/* Writes header + one PID_BLOCK + every live record to txn.tmp, syncs, renames. */
static int compact_locked(struct st_txnlog *l)
{
    char tmp[ST_MAX_PATH], dst[ST_MAX_PATH];
    path_of(l, TL_TMP_NAME, tmp, sizeof(tmp));
    path_of(l, TL_LOG_NAME, dst, sizeof(dst));
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    uint8_t hb[TL_HDR + TL_REC_OVERHEAD + 17];
    header_encode(hb);
    uint8_t blk[17] = {TL_PID_BLOCK};
    kp_store_be64(blk + 1, 0);
    kp_store_be64(blk + 9, (uint64_t)l->next_pid);
    int64_t pos = TL_HDR;
    size_t hlen = TL_HDR;
    if (l->next_pid > 0) {
        frame(hb + TL_HDR, blk, sizeof(blk));
        hlen += TL_REC_OVERHEAD + sizeof(blk);
    }
    int err = st__pwrite_full(fd, hb, hlen, 0);
    pos = (int64_t)hlen;
    uint8_t *buf = NULL;
    size_t cap = 0;
    for (size_t i = 0; err == 0 && i < l->nbuckets; i++) {
        for (struct tl_entry *e = l->tab[i]; e && err == 0; e = e->next) {
            size_t need = e->len + TL_REC_OVERHEAD;
            if (need > cap) {
                uint8_t *nb = realloc(buf, need);
                if (!nb) {
                    err = -ENOMEM;
                    break;
                }
                buf = nb;
                cap = need;
            }
            frame(buf, e->body, e->len);
            if ((err = st__pwrite_full(fd, buf, need, pos)) == 0)
                pos += (int64_t)need;
        }
    }
    free(buf);
    if (err == 0 && fdatasync(fd) < 0)
        err = -errno;
    int dfd = err == 0 ? open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (err == 0 && dfd < 0)
        err = -errno;
    if (err == 0 && rename(tmp, dst) < 0)
        err = -errno;
    if (err < 0) {
        if (dfd >= 0)
            close(dfd);
        close(fd);
        unlink(tmp);
        say(l, "txnlog: compaction of %s/%s failed: %s (the old file is kept)", l->dir, TL_LOG_NAME,
            strerror(-err));
        return err;
    }
    close(l->fd);
    l->fd = fd;
    l->size = pos;
    l->synced_seq = l->write_seq;
    l->compactions++;
    if (fsync(dfd) < 0) {
        err = -errno;
        l->broken = err;
        say(l, "txnlog: fsync of directory %s after compacting failed: %s: writes stop", l->dir,
            strerror(-err));
    }
    close(dfd);
    return err;
}

static bool compaction_due(const struct st_txnlog *l, int factor)
{
    int64_t limit = 4 * (l->live_bytes + TL_HDR + 32);
    if (limit < l->opts.compact_min_bytes)
        limit = l->opts.compact_min_bytes;
    return l->size > factor * limit;
}

static int replay(struct st_txnlog *l)
{
    struct stat st;
    if (fstat(l->fd, &st) < 0)
        return -errno;
    int64_t fsize = st.st_size;
    uint8_t hdr[TL_HDR], want[TL_HDR];
    header_encode(want);
    if (fsize < TL_HDR || st__pread_full(l->fd, hdr, TL_HDR, 0) < 0 ||
        memcmp(hdr, want, TL_HDR) != 0) {
        say(l, "txnlog: %s/%s has no valid header: refusing to guess", l->dir, TL_LOG_NAME);
        return -EBADMSG;
    }
    int64_t pos = TL_HDR;
    uint8_t *buf = NULL;
    size_t cap = 0;
    int err = 0;
    const char *why = NULL;
    while (pos < fsize) {
        uint8_t lb[4];
        if (fsize - pos < TL_REC_OVERHEAD) {
            why = "torn record";
            break;
        }
        if ((err = st__pread_full(l->fd, lb, 4, pos)) < 0)
            break;
        uint32_t body = kp_load_be32(lb);
        if (body < TL_BODY_MIN || body > ST_TXNLOG_BODY_MAX) {
            why = "bad record length";
            break;
        }
        if ((int64_t)body + TL_REC_OVERHEAD > fsize - pos) {
            why = "torn record";
            break;
        }
        size_t total = body + TL_REC_OVERHEAD;
        if (total > cap) {
            uint8_t *nb = realloc(buf, total);
            if (!nb) {
                err = -ENOMEM;
                break;
            }
            buf = nb;
            cap = total;
        }
        if ((err = st__pread_full(l->fd, buf, total, pos)) < 0)
            break;
        if (kp_crc32c(0, buf, 4 + body) != kp_load_be32(buf + 4 + body)) {
            why = "CRC mismatch";
            break;
        }
        uint8_t type;
        const char *id = NULL;
        size_t id_len = 0;
        int64_t block = 0;
        if (body_check(buf + 4, body, &type, &id, &id_len, &block) < 0) {
            why = "malformed record";
            break;
        }
        if (type == TL_STATE)
            err = map_set(l, buf + 4, body, id, id_len);
        else if (type == TL_TOMBSTONE)
            map_del(l, id, id_len);
        else if (block > l->next_pid)
            l->next_pid = block;
        if (err < 0)
            break;
        pos += (int64_t)total;
    }
    free(buf);
    if (err < 0)
        return err;
    if (why) {
        say(l, "txnlog: %s/%s: %s at byte %lld: truncating, %lld byte(s) dropped", l->dir,
            TL_LOG_NAME, why, (long long)pos, (long long)(fsize - pos));
        if (ftruncate(l->fd, pos) < 0 || fdatasync(l->fd) < 0)
            return -errno;
    }
    l->size = pos;
    return 0;
}

static int create_empty(struct st_txnlog *l)
{
    char tmp[ST_MAX_PATH], dst[ST_MAX_PATH];
    path_of(l, TL_TMP_NAME, tmp, sizeof(tmp));
    path_of(l, TL_LOG_NAME, dst, sizeof(dst));
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    uint8_t hdr[TL_HDR];
    header_encode(hdr);
    int err = st__pwrite_full(fd, hdr, TL_HDR, 0);
    if (err == 0 && fdatasync(fd) < 0)
        err = -errno;
    close(fd);
    if (err == 0 && rename(tmp, dst) < 0)
        err = -errno;
    if (err == 0)
        err = st_fsync_dir(l->dir);
    if (err < 0)
        unlink(tmp);
    return err;
}

static void free_all(struct st_txnlog *l)
{
    for (size_t i = 0; l->tab && i < l->nbuckets; i++) {
        for (struct tl_entry *e = l->tab[i], *next; e; e = next) {
            next = e->next;
            free(e->body);
            free(e);
        }
    }
    free(l->tab);
    free(l->dir);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int st_txnlog_open(const char *data_dir, const struct st_txnlog_opts *opts, struct st_txnlog **out)
{
    if (!data_dir || !out)
        return -EINVAL;
    struct st_txnlog *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    pthread_mutex_init(&l->mu, NULL);
    l->fd = -1;
    if (opts)
        l->opts = *opts;
    else
        st_txnlog_opts_default(&l->opts);
    l->nbuckets = 64;
    l->tab = calloc(l->nbuckets, sizeof(*l->tab));
    size_t dl = strlen(data_dir) + sizeof(ST_TXNLOG_DIR) + 2;
    l->dir = malloc(dl);
    if (!l->tab || !l->dir) {
        free_all(l);
        return -ENOMEM;
    }
    snprintf(l->dir, dl, "%s/%s", data_dir, ST_TXNLOG_DIR);
    if (getrandom(&l->seed, sizeof(l->seed), GRND_NONBLOCK) != sizeof(l->seed))
        l->seed = (uint64_t)mono_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    int err = 0;
    if (mkdir(l->dir, 0755) < 0 && errno != EEXIST)
        err = -errno;
    char path[ST_MAX_PATH];
    if (err == 0) {
        path_of(l, TL_TMP_NAME, path, sizeof(path));
        unlink(path);
        path_of(l, TL_LOG_NAME, path, sizeof(path));
        if (access(path, F_OK) < 0)
            err = create_empty(l);
    }
    if (err == 0 && (l->fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
        err = -errno;
    if (err == 0)
        err = replay(l);
    if (err < 0) {
        if (l->fd >= 0)
            close(l->fd);
        free_all(l);
        return err;
    }
    *out = l;
    return 0;
}

void st_txnlog_close(struct st_txnlog *l)
{
    if (!l)
        return;
    if (l->write_seq != l->synced_seq && !l->broken)
        (void)fdatasync(l->fd);
    close(l->fd);
    free_all(l);
}

/* ---- calls ---------------------------------------------------------------------------------- */

int st_txnlog_foreach(struct st_txnlog *l, void (*fn)(void *arg, const struct st_txnlog_rec *r),
                      void *arg)
{
    pthread_mutex_lock(&l->mu);
    int n = 0, err = 0;
    for (size_t i = 0; i < l->nbuckets && err == 0; i++) {
        for (struct tl_entry *e = l->tab[i]; e && err == 0; e = e->next) {
            struct st_txnlog_rec r;
            int64_t np;
            if (state_decode(e->body, e->len, &r, NULL, NULL, NULL, &np) < 0)
                continue; /* checked when it was written or replayed */
            struct st_txnlog_topic *topics = calloc((size_t)r.n_topics + 1, sizeof(*topics));
            int32_t *partitions = calloc((size_t)np + 1, sizeof(*partitions));
            struct st_txnlog_group *groups = calloc((size_t)r.n_groups + 1, sizeof(*groups));
            if (!topics || !partitions || !groups) {
                err = -ENOMEM;
            } else if (state_decode(e->body, e->len, &r, topics, partitions, groups, &np) == 0) {
                fn(arg, &r);
                n++;
            }
            free(topics);
            free(partitions);
            free(groups);
        }
    }
    pthread_mutex_unlock(&l->mu);
    return err < 0 ? err : n;
}

int64_t st_txnlog_next_pid(struct st_txnlog *l)
{
    pthread_mutex_lock(&l->mu);
    int64_t n = l->next_pid;
    pthread_mutex_unlock(&l->mu);
    return n;
}

int st_txnlog_put(struct st_txnlog *l, const struct st_txnlog_rec *r)
{
    if (!l || !r || !rec_ok(r))
        return -EINVAL;
    size_t len = state_body_size(r);
    uint8_t *rec = malloc(len + TL_REC_OVERHEAD);
    if (!rec)
        return -ENOMEM;
    state_encode(rec + 4, r);
    kp_store_be32(rec, (uint32_t)len);
    kp_store_be32(rec + 4 + len, kp_crc32c(0, rec, 4 + len));
    pthread_mutex_lock(&l->mu);
    int err = append_locked(l, rec, len + TL_REC_OVERHEAD, false);
    /* in the file: memory follows; without memory for it, stop rather than diverge */
    if (err == 0 && (err = map_set(l, rec + 4, len, r->id, r->id_len)) < 0)
        l->broken = err;
    if (err == 0 && compaction_due(l, 2))
        (void)compact_locked(l);
    pthread_mutex_unlock(&l->mu);
    free(rec);
    return err;
}

int st_txnlog_delete(struct st_txnlog *l, const char *id, size_t id_len, int64_t now_ms)
{
    if (!l || !id || id_len < 1 || id_len > ST_TXNLOG_ID_MAX)
        return -EINVAL;
    uint8_t *rec = malloc(11 + id_len + TL_REC_OVERHEAD);
    if (!rec)
        return -ENOMEM;
    uint8_t *body = rec + 4;
    body[0] = TL_TOMBSTONE;
    kp_store_be64(body + 1, (uint64_t)now_ms);
    kp_store_be16(body + 9, (uint16_t)id_len);
    memcpy(body + 11, id, id_len);
    kp_store_be32(rec, (uint32_t)(11 + id_len));
    kp_store_be32(rec + 4 + 11 + id_len, kp_crc32c(0, rec, 4 + 11 + id_len));
    pthread_mutex_lock(&l->mu);
    int err = append_locked(l, rec, 11 + id_len + TL_REC_OVERHEAD, false);
    if (err == 0)
        map_del(l, id, id_len);
    pthread_mutex_unlock(&l->mu);
    free(rec);
    return err;
}

int st_txnlog_pid_block(struct st_txnlog *l, int64_t block_end)
{
    if (!l || block_end <= 0)
        return -EINVAL;
    uint8_t body[17] = {TL_PID_BLOCK};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    kp_store_be64(body + 1, (uint64_t)((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
    kp_store_be64(body + 9, (uint64_t)block_end);
    uint8_t rec[sizeof(body) + TL_REC_OVERHEAD];
    frame(rec, body, sizeof(body));
    pthread_mutex_lock(&l->mu);
    int err = append_locked(l, rec, sizeof(rec), true);
    if (err == 0 && block_end > l->next_pid)
        l->next_pid = block_end;
    pthread_mutex_unlock(&l->mu);
    return err;
}

int st_txnlog_sync(struct st_txnlog *l)
{
    pthread_mutex_lock(&l->mu);
    int err = l->broken ? -ESHUTDOWN : 0;
    if (err == 0 && l->write_seq != l->synced_seq) {
        if (fdatasync(l->fd) < 0) {
            err = -errno;
            l->broken = err;
        } else {
            l->synced_seq = l->write_seq;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return err;
}

void st_txnlog_maintain(struct st_txnlog *l)
{
    pthread_mutex_lock(&l->mu);
    int64_t ms = l->opts.flush_interval_ms;
    bool due = !l->broken && l->write_seq != l->synced_seq && ms >= 0 &&
               mono_ms() - l->unsynced_since_ms >= ms;
    pthread_mutex_unlock(&l->mu);
    if (due)
        (void)st_txnlog_sync(l);
    pthread_mutex_lock(&l->mu);
    if (!l->broken && compaction_due(l, 1))
        (void)compact_locked(l);
    pthread_mutex_unlock(&l->mu);
}

int st_txnlog_compact(struct st_txnlog *l)
{
    pthread_mutex_lock(&l->mu);
    int err = l->broken ? -ESHUTDOWN : compact_locked(l);
    pthread_mutex_unlock(&l->mu);
    return err;
}

void st_txnlog_stats(struct st_txnlog *l, struct st_txnlog_stats *s)
{
    pthread_mutex_lock(&l->mu);
    *s = (struct st_txnlog_stats){
        .ids = l->n,
        .file_bytes = l->size,
        .live_bytes = l->live_bytes,
        .compactions = l->compactions,
    };
    pthread_mutex_unlock(&l->mu);
}
