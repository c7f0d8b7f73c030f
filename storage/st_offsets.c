/*
 * st_offsets — consumer groups' committed offsets (see st_offsets.h): the file, its format,
 * replay, compaction and the public calls. The in-memory map they keep is st_offsets_map.c
 * (st_offsets_int.h).
 *
 * ON-DISK FORMAT (every integer big-endian)
 *
 * <data-dir>/__consumer_offsets/
 *   offsets.log     the log below; the only file that matters
 *   offsets.tmp     a compaction (or the first creation) in progress; removed at open
 *
 * offsets.log = a header, then records back to back, appended only.
 *   header (OFS_HDR = 16 bytes):
 *      0  4  magic "SLOF"
 *      4  4  version: 2, or 3 once a transactional record went in (OFS_TXN_*); 1 is read too
 *            (no OFS_MORE), see UPGRADE
 *      8  4  0 (reserved)
 *     12  4  CRC-32C of bytes [0, 12)
 *   record (OFS_REC_OVERHEAD = 8 bytes around a body of B bytes):
 *      0  4  B, OFS_BODY_MIN <= B <= OFS_BODY_MAX
 *      4  B  body
 *    4+B  4  CRC-32C of bytes [0, 4+B) (the length and the body)
 *   body:
 *      0  1  type: OFS_COMMIT 1, OFS_TOMBSTONE 2 (one key), OFS_GROUP_TOMBSTONE 3,
 *            OFS_TXN_COMMIT 4, OFS_TXN_END 5 (version 3 files only), plus OFS_MORE (0x80)
 *            when the next record belongs to the same write (the records of one
 *            st_offsets_commit_batch() or st_offsets_txn_commit_batch() call, all but the
 *            last)
 *      1  8  time in ms since the epoch (commit time; deletion time for tombstones)
 *      9  2  G, group id length, 1..ST_OFFSETS_GROUP_MAX
 *     11  G  group id
 *   then, for OFS_COMMIT, OFS_TOMBSTONE and OFS_TXN_COMMIT:
 *         2  T, topic length, 1..ST_OFFSETS_TOPIC_MAX
 *         T  topic
 *         4  partition (>= 0)
 *   then, for OFS_COMMIT and OFS_TXN_COMMIT:
 *         8  offset
 *         4  M, metadata length, 0..ST_OFFSETS_META_CAP
 *         M  metadata
 *   then, for OFS_TXN_COMMIT and OFS_TXN_END:
 *         8  producer id (>= 0)
 *         2  producer epoch
 *   then, for OFS_TXN_END only:
 *         1  1 commit, 0 abort
 *   The fields must end exactly at B.
 *
 * MEANING: replaying the records in order gives the state. OFS_COMMIT sets (group, topic,
 *   partition) to (offset, metadata, time); OFS_TOMBSTONE removes that key; OFS_GROUP_TOMBSTONE
 *   removes every key of the group. OFS_TXN_COMMIT is a transaction's commit (TxnOffsetCommit)
 *   of (group, topic, partition) by producer P: pending, invisible to reads, replacing P's
 *   earlier pending one of that key; OFS_TXN_END (written when the coordinator ends P's
 *   transaction) drops P's pending commits of the group on abort and, on commit, makes each
 *   one the key's offset unless the key's current commit record came after it in the file
 *   (Kafka's completePendingTxnOffsetCommit: a plain commit made meanwhile wins). Reads see
 *   only the keys. Compaction writes keys and pending commits in the order of their records,
 *   so this rule gives the same answer after it.
 *
 * REPLAY RULE (open): a record is accepted only if B is within bounds, the record ends within
 *   the file, its CRC matches and its body parses to exactly B bytes. At the first record that
 *   fails, the file is truncated there (and fdatasynced), with a log line naming the position
 *   and the bytes dropped: a crash leaves at most a torn tail, and a corrupt record in the
 *   middle (the disk's fault) cannot be told from a torn one, so nothing after it is trusted.
 *   A commit of many partitions is one write of one record per partition, all but the last
 *   marked OFS_MORE: replay applies such a run only once its last record (without OFS_MORE)
 *   is accepted, and cuts the file at the run's first record when the run is torn or
 *   corrupt, so a commit is all-or-nothing across its partitions, as Kafka's one batch per
 *   commit is (the commit was not acknowledged).
 *   Memory is bounded by the file: no length is used before it is checked against the bytes
 *   left and the caps above. A header that is short or wrong fails the open with -EBADMSG
 *   (the file is created complete, see below, so a crash cannot leave one).
 *
 * UPGRADE: a version 1 file (written before OFS_MORE) is replayed the same way and compacted
 *   at once at open, so the file has a version 2 header before the first OFS_MORE record
 *   goes in (a build that knows only version 1 refuses the file rather than cut it). The same
 *   way a version 2 file is compacted into version 3 just before the first OFS_TXN_* record is
 *   written, so a build without transactions never meets one (it refuses version 3).
 *
 * WRITE AND SYNC ORDER
 *   create   header -> offsets.tmp, fdatasync, rename to offsets.log, fsync the directory.
 *   commit   the records of one call are pwrite()n at the end of offsets.log in one call
 *            before the in-memory state changes and before the caller acknowledges them
 *            (kill -9 safe). fdatasync then if log.flush.interval.messages says so (1: every
 *            call), or later from st_offsets_maintain() by log.flush.interval.ms, or from
 *            st_offsets_sync() (outside the mutex, on a dup of the fd; under it when no
 *            descriptor is left for the dup), and always at close.
 *            A failed or short write is cut off again (ftruncate to the old end); if even
 *            that fails, or an fdatasync fails (the page cache may have dropped the pages),
 *            the store refuses further commits with -ESHUTDOWN.
 *   compact  when the file exceeds max(4 x live bytes, compact_min_bytes), from
 *            st_offsets_maintain() (the owner's housekeeping thread), or from a commit when
 *            the file has grown to twice that (housekeeping fell behind): header + one
 *            OFS_COMMIT per live key -> offsets.tmp, fdatasync, rename over offsets.log,
 *            fsync the directory, then switch to the new file. From st_offsets_maintain()
 *            the fdatasync runs without the mutex, so loop threads' commits do not wait for
 *            it; the records they append to offsets.log meanwhile are then copied to the end
 *            of offsets.tmp and synced before the rename (write_snapshot). A crash at any step
 * leaves either the old file or the new one complete, and open() removes a leftover offsets.tmp
 * (complete or not: offsets.log is complete until the rename). A failure before the rename keeps
 * the old file and the store goes on (the directory is opened before the rename, so a lack of
 * descriptors is such a failure). Once the rename is done the old file is unlinked, so the store
 * switches to the new one even when the directory fsync then fails, and refuses further commits
 *            (-ESHUTDOWN): the rename may not be durable, and a commit appended to the new
 *            file after it would be lost if the old name came back after a power loss.
 */
#include "st_offsets.h"
#include "st_int.h"
#include "st_offsets_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kp_buf.h"
#include "kp_crc32c.h"

#include <pthread.h>

enum {
    OFS_HDR = 16,
    OFS_REC_OVERHEAD = 8, /* be32 length + be32 CRC */
    OFS_COMMIT = 1,
    OFS_TOMBSTONE = 2,
    OFS_GROUP_TOMBSTONE = 3,
    OFS_TXN_COMMIT = 4,
    OFS_TXN_END = 5,
    OFS_MORE = 0x80, /* type flag: the next record belongs to the same write */
    OFS_VERSION = 2,
    OFS_VERSION_TXN = 3,               /* a file with transactional records */
    OFS_TXN_EXTRA = 8 + 2,             /* producer id, epoch */
    OFS_BODY_FIXED = 11,               /* type, time, group length */
    OFS_BODY_MIN = OFS_BODY_FIXED + 1, /* a group tombstone of a 1-byte id */
    OFS_KEY_EXTRA = 2 + 4,             /* topic length, partition */
    OFS_COMMIT_EXTRA = 8 + 4,          /* offset, metadata length */
    OFS_BODY_MAX = OFS_BODY_FIXED + ST_OFFSETS_GROUP_MAX + OFS_KEY_EXTRA + ST_OFFSETS_TOPIC_MAX +
                   OFS_COMMIT_EXTRA + ST_OFFSETS_META_CAP + OFS_TXN_EXTRA,
    OFS_PATH_MAX = 4096,
    OFS_COPY_BUF = 64 * 1024,    /* compaction write buffer */
    OFS_WBUF_KEEP = 1024 * 1024, /* a larger commit buffer is freed after use */
};

#define OFS_MAGIC    "SLOF"
#define OFS_LOG_NAME "offsets.log"
#define OFS_TMP_NAME "offsets.tmp"

struct st_offsets {
    pthread_mutex_t mu;
    struct st_offsets_opts opts;
    char *dir;
    int fd;                    /* offsets.log, O_RDWR */
    int64_t size;              /* bytes of offsets.log written (= the end) */
    struct st__ofs_map m;      /* the state: what replaying offsets.log gives */
    bool cap_warned;           /* max_memory_bytes reached was logged (again below 9/10 of it) */
    int64_t write_seq;         /* appends written (each one write()) */
    int64_t synced_seq;        /* appends covered by a completed fdatasync; <= write_seq */
    int64_t unsynced_since_ms; /* monotonic time of the first append after synced_seq */
    int64_t compactions;
    int64_t compact_floor; /* after a failed compaction: not again below this size */
    int broken;            /* 0, or the error that stopped commits */
    bool compacting;       /* a compaction is writing offsets.tmp (perhaps without the mutex) */
    int file_version;      /* of offsets.log's header (1 until the UPGRADE compaction; 3
                              once transactional records may be in it) */
    uint8_t *wbuf;
    size_t wcap;
    st_offsets_observe_fn observe; /* st_offsets_set_observer() */
    void *observe_arg;
    struct st_offset_change *chg; /* the changes of the write under way, for observe */
    int nchg, chg_cap;
    bool chg_warned; /* a change lost to -ENOMEM was logged */
};

static void say(const struct st_offsets *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const struct st_offsets *o, const char *fmt, ...)
{
    if (!o->opts.log_fn)
        return;
    char msg[OFS_PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o->opts.log_fn(o->opts.log_arg, msg);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void st_offsets_opts_default(struct st_offsets_opts *o)
{
    *o = (struct st_offsets_opts){
        .metadata_max_bytes = 4096,
        .flush_interval_messages = -1,
        .flush_interval_ms = -1,
        .compact_min_bytes = 1 << 20,
        .max_memory_bytes = (int64_t)256 << 20,
    };
}

size_t st__ofs_record_size(size_t glen, size_t tlen, size_t mlen)
{
    return OFS_REC_OVERHEAD + OFS_BODY_FIXED + glen + OFS_KEY_EXTRA + tlen + OFS_COMMIT_EXTRA +
           mlen;
}

size_t st__ofs_txn_record_size(size_t glen, size_t tlen, size_t mlen)
{
    return st__ofs_record_size(glen, tlen, mlen) + OFS_TXN_EXTRA;
}

/* ---- records ------------------------------------------------------------------------------ */

struct ofs_rec {
    uint8_t type; /* without OFS_MORE */
    bool more;    /* OFS_MORE */
    int64_t ms;
    const char *group;
    size_t glen;
    const char *topic;
    size_t tlen;
    int32_t partition;
    int64_t offset;
    const char *meta;
    size_t mlen;
    int64_t pid; /* OFS_TXN_* */
    int16_t epoch;
    bool commit; /* OFS_TXN_END */
};

static bool has_key(uint8_t type)
{
    return type == OFS_COMMIT || type == OFS_TOMBSTONE || type == OFS_TXN_COMMIT;
}

static bool has_offset(uint8_t type) { return type == OFS_COMMIT || type == OFS_TXN_COMMIT; }

static size_t rec_size(const struct ofs_rec *r)
{
    size_t n = OFS_REC_OVERHEAD + OFS_BODY_FIXED + r->glen;
    if (has_key(r->type))
        n += OFS_KEY_EXTRA + r->tlen;
    if (has_offset(r->type))
        n += OFS_COMMIT_EXTRA + r->mlen;
    if (r->type == OFS_TXN_COMMIT)
        n += OFS_TXN_EXTRA;
    if (r->type == OFS_TXN_END)
        n += OFS_TXN_EXTRA + 1;
    return n;
}

/* Encodes r at b (rec_size(r) bytes); returns the bytes written. */
static size_t rec_encode(uint8_t *b, const struct ofs_rec *r)
{
    size_t total = rec_size(r);
    size_t body = total - OFS_REC_OVERHEAD;
    uint8_t *p = b;
    kp_store_be32(p, (uint32_t)body);
    p += 4;
    *p++ = (uint8_t)(r->type | (r->more ? OFS_MORE : 0));
    kp_store_be64(p, (uint64_t)r->ms);
    p += 8;
    kp_store_be16(p, (uint16_t)r->glen);
    p += 2;
    memcpy(p, r->group, r->glen);
    p += r->glen;
    if (has_key(r->type)) {
        kp_store_be16(p, (uint16_t)r->tlen);
        p += 2;
        memcpy(p, r->topic, r->tlen);
        p += r->tlen;
        kp_store_be32(p, (uint32_t)r->partition);
        p += 4;
    }
    if (has_offset(r->type)) {
        kp_store_be64(p, (uint64_t)r->offset);
        p += 8;
        kp_store_be32(p, (uint32_t)r->mlen);
        p += 4;
        if (r->mlen)
            memcpy(p, r->meta, r->mlen);
        p += r->mlen;
    }
    if (r->type == OFS_TXN_COMMIT || r->type == OFS_TXN_END) {
        kp_store_be64(p, (uint64_t)r->pid);
        p += 8;
        kp_store_be16(p, (uint16_t)r->epoch);
        p += 2;
    }
    if (r->type == OFS_TXN_END)
        *p++ = r->commit ? 1 : 0;
    kp_store_be32(p, kp_crc32c(0, b, (size_t)(p - b)));
    p += 4;
    return (size_t)(p - b);
}

/* Parses a body of exactly len bytes (its CRC already checked). 0 or -EBADMSG. */
static int rec_decode(const uint8_t *body, size_t len, struct ofs_rec *r)
{
    struct kp_rd rd;
    kp_rd_init(&rd, body, len);
    memset(r, 0, sizeof(*r));
    uint8_t type = (uint8_t)kp_rd_i8(&rd);
    r->type = type & (uint8_t)~OFS_MORE;
    r->more = (type & OFS_MORE) != 0;
    r->ms = kp_rd_i64(&rd);
    r->glen = (uint16_t)kp_rd_i16(&rd);
    r->group = (const char *)kp_rd_raw(&rd, r->glen);
    if (!kp_rd_ok(&rd) || r->glen < 1 || r->glen > ST_OFFSETS_GROUP_MAX)
        return -EBADMSG;
    if (r->type < OFS_COMMIT || r->type > OFS_TXN_END)
        return -EBADMSG;
    if (has_key(r->type)) {
        r->tlen = (uint16_t)kp_rd_i16(&rd);
        r->topic = (const char *)kp_rd_raw(&rd, r->tlen);
        r->partition = kp_rd_i32(&rd);
        if (!kp_rd_ok(&rd) || r->tlen < 1 || r->tlen > ST_OFFSETS_TOPIC_MAX || r->partition < 0)
            return -EBADMSG;
    }
    if (has_offset(r->type)) {
        r->offset = kp_rd_i64(&rd);
        uint32_t m = kp_rd_u32(&rd);
        if (!kp_rd_ok(&rd) || m > ST_OFFSETS_META_CAP)
            return -EBADMSG;
        r->mlen = m;
        r->meta = (const char *)kp_rd_raw(&rd, m);
    }
    if (r->type == OFS_TXN_COMMIT || r->type == OFS_TXN_END) {
        r->pid = kp_rd_i64(&rd);
        r->epoch = kp_rd_i16(&rd);
        if (r->pid < 0)
            return -EBADMSG;
    }
    if (r->type == OFS_TXN_END) {
        int8_t c = kp_rd_i8(&rd);
        if (c != 0 && c != 1)
            return -EBADMSG;
        r->commit = c == 1;
    }
    if (!kp_rd_ok(&rd) || kp_rd_left(&rd) != 0)
        return -EBADMSG;
    return 0;
}

static int rec_apply(struct st_offsets *o, const struct ofs_rec *r)
{
    switch (r->type) {
    case OFS_COMMIT:
        return st__ofs_key_set(&o->m, r->group, r->glen, r->topic, r->tlen, r->partition, r->offset,
                               r->meta, r->mlen, r->ms);
    case OFS_TOMBSTONE:
        st__ofs_key_delete(&o->m, r->group, r->glen, r->topic, r->tlen, r->partition);
        return 0;
    case OFS_TXN_COMMIT:
        return st__ofs_pending_set(&o->m, r->group, r->glen, r->pid, r->epoch, r->topic, r->tlen,
                                   r->partition, r->offset, r->meta, r->mlen, r->ms);
    case OFS_TXN_END: {
        int n = st__ofs_pending_end(&o->m, r->group, r->glen, r->pid, r->commit, NULL, NULL);
        return n < 0 ? n : 0;
    }
    default:
        (void)st__ofs_group_delete(&o->m, r->group, r->glen);
        return 0;
    }
}

/* ---- files -------------------------------------------------------------------------------- */

static void path_of(const struct st_offsets *o, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", o->dir, name);
}

static void header_encode(uint8_t b[OFS_HDR], uint32_t version)
{
    memcpy(b, OFS_MAGIC, 4);
    kp_store_be32(b + 4, version);
    kp_store_be32(b + 8, 0);
    kp_store_be32(b + 12, kp_crc32c(0, b, 12));
}

/* Copies len bytes at from_pos of from to to_pos of to, through buf (cap bytes). */
static int copy_range(int from, int64_t from_pos, int to, int64_t to_pos, int64_t len, uint8_t *buf,
                      size_t cap)
{
    while (len > 0) {
        size_t n = len < (int64_t)cap ? (size_t)len : cap;
        int err = st__pread_full(from, buf, n, from_pos);
        if (err == 0)
            err = st__pwrite_full(to, buf, n, to_pos);
        if (err < 0)
            return err;
        from_pos += (int64_t)n;
        to_pos += (int64_t)n;
        len -= (int64_t)n;
    }
    return 0;
}

/* A compaction's write buffer: records are encoded into it and written out when full. */
struct snap_buf {
    int fd;
    uint8_t *buf;
    size_t cap, used;
    int64_t pos;
};

static int snap_put(struct snap_buf *b, const struct ofs_rec *r)
{
    size_t need = rec_size(r);
    if (b->used + need > b->cap) {
        int err = st__pwrite_full(b->fd, b->buf, b->used, b->pos);
        if (err < 0)
            return err;
        b->pos += (int64_t)b->used;
        b->used = 0;
        if (need > b->cap) {
            uint8_t *nb = realloc(b->buf, need);
            if (!nb)
                return -ENOMEM;
            b->buf = nb;
            b->cap = need;
        }
    }
    b->used += rec_encode(b->buf + b->used, r);
    return 0;
}

static struct ofs_rec key_rec(const struct ofs_entry *e)
{
    return (struct ofs_rec){
        .type = OFS_COMMIT,
        .ms = e->commit_ms,
        .group = e->grp->name,
        .glen = e->grp->len,
        .topic = e->topic,
        .tlen = e->topic_len,
        .partition = e->partition,
        .offset = e->offset,
        .meta = e->meta,
        .mlen = e->meta_len,
    };
}

static struct ofs_rec pending_rec(const struct ofs_pending *x)
{
    return (struct ofs_rec){
        .type = OFS_TXN_COMMIT,
        .ms = x->commit_ms,
        .group = x->names,
        .glen = x->group_len,
        .topic = x->names + x->group_len,
        .tlen = x->topic_len,
        .partition = x->partition,
        .offset = x->offset,
        .meta = x->meta,
        .mlen = x->meta_len,
        .pid = x->pid,
        .epoch = x->epoch,
    };
}

struct seq_item {
    uint64_t seq;
    const struct ofs_entry *e; /* or */
    const struct ofs_pending *x;
};

static int seq_cmp(const void *a, const void *b)
{
    const struct seq_item *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Every live key, and every pending transactional commit, into b; with pending ones in the
 * order of their records (MEANING in the header), else in table order. */
static int snap_records(struct st_offsets *o, struct snap_buf *b)
{
    int err = 0;
    if (o->m.npend == 0) {
        for (size_t i = 0; err == 0 && i < o->m.nkeys_buckets; i++)
            for (struct ofs_entry *e = o->m.keys[i]; e && err == 0; e = e->hnext) {
                struct ofs_rec r = key_rec(e);
                err = snap_put(b, &r);
            }
        return err;
    }
    size_t n = (size_t)(o->m.nkeys + o->m.npend), k = 0;
    struct seq_item *v = malloc(n * sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < o->m.nkeys_buckets; i++)
        for (struct ofs_entry *e = o->m.keys[i]; e; e = e->hnext)
            v[k++] = (struct seq_item){.seq = e->seq, .e = e};
    for (size_t i = 0; i < o->m.npend_buckets; i++)
        for (struct ofs_pending *x = o->m.pend[i]; x; x = x->next)
            v[k++] = (struct seq_item){.seq = x->seq, .x = x};
    assert(k == n);
    qsort(v, n, sizeof(*v), seq_cmp);
    for (size_t i = 0; i < n && err == 0; i++) {
        struct ofs_rec r = v[i].e ? key_rec(v[i].e) : pending_rec(v[i].x);
        err = snap_put(b, &r);
    }
    free(v);
    return err;
}

/*
 * Writes header (version) + every live key to offsets.tmp, fdatasync, renames it over
 * offsets.log and fsyncs the directory. Once the rename is done, offsets.log is the new file
 * whatever follows: *fd_out is then the new file, open, and *size_out its size, even when the
 * directory fsync fails (returned as the error; the old file is unlinked and must not be
 * written again). A failure before the rename removes the temp file, leaves offsets.log
 * untouched and sets *fd_out to -1.
 *
 * With unlock_io, the mutex (held on entry and on return) is released for the fdatasync of
 * the temp file, the long part, so that commits go on meanwhile; they are appended to the old
 * file, and once the mutex is back those records (whole ones: an append is made under the
 * mutex, a failed one cut back) are copied after the snapshot and synced in turn. Replaying
 * the snapshot then them gives the state of the moment. o->compacting keeps a second
 * compaction out meanwhile.
 */
static int write_snapshot(struct st_offsets *o, bool unlock_io, uint32_t version, int *fd_out,
                          int64_t *size_out)
{
    *fd_out = -1;
    char tmp[OFS_PATH_MAX], dst[OFS_PATH_MAX];
    path_of(o, OFS_TMP_NAME, tmp, sizeof(tmp));
    path_of(o, OFS_LOG_NAME, dst, sizeof(dst));
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct snap_buf sb = {.fd = fd, .cap = OFS_COPY_BUF};
    sb.buf = malloc(sb.cap);
    int err = sb.buf ? 0 : -ENOMEM;
    if (err == 0) {
        header_encode(sb.buf, version);
        sb.used = OFS_HDR;
        err = snap_records(o, &sb);
    }
    uint8_t *buf = sb.buf;
    size_t cap = sb.cap, used = sb.used;
    int64_t pos = sb.pos;
    if (err == 0 && used > 0 && (err = st__pwrite_full(fd, buf, used, pos)) == 0)
        pos += (int64_t)used;
    if (err == 0 && unlock_io) {
        int64_t snap_end = o->size; /* the records after it are not in the snapshot */
        assert(o->compacting);
        pthread_mutex_unlock(&o->mu);
        if (fdatasync(fd) < 0)
            err = -errno;
        pthread_mutex_lock(&o->mu);
        if (err == 0 && o->broken)
            err = -ESHUTDOWN;
        if (err == 0 && o->size > snap_end) {
            err = copy_range(o->fd, snap_end, fd, pos, o->size - snap_end, buf, cap);
            if (err == 0)
                pos += o->size - snap_end;
            if (err == 0 && fdatasync(fd) < 0)
                err = -errno;
        }
    } else if (err == 0 && fdatasync(fd) < 0) {
        err = -errno;
    }
    free(buf);
    /* the directory is opened before the rename, so that what can fail after it is the
     * fsync itself, not a lack of descriptors */
    int dfd = err == 0 ? open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (err == 0 && dfd < 0)
        err = -errno;
    if (err == 0 && rename(tmp, dst) < 0)
        err = -errno;
    if (err < 0) {
        if (dfd >= 0)
            close(dfd);
        close(fd);
        unlink(tmp);
        return err;
    }
    *fd_out = fd;
    *size_out = pos;
    err = fsync(dfd) < 0 ? -errno : 0;
    close(dfd);
    return err;
}

/* Compacts (COMPACT in the header) into a file of the given version (at least the current
 * one); with unlock_io the mutex is released for the long fdatasync (see write_snapshot).
 * -EBUSY when a compaction is under way already. */
static int compact_to(struct st_offsets *o, bool unlock_io, int version)
{
    if (o->compacting)
        return -EBUSY;
    int fd;
    int64_t size;
    o->compacting = true;
    int err = write_snapshot(o, unlock_io, (uint32_t)version, &fd, &size);
    o->compacting = false;
    if (err < 0 && fd < 0) {
        say(o, "offsets: compaction of %s/%s failed: %s (the old file is kept)", o->dir,
            OFS_LOG_NAME, strerror(-err));
        o->compact_floor = o->size + o->size / 2;
        return err;
    }
    if (err < 0) {
        /* The new file has the name, so it is the one to write; but the rename may not be
         * durable, and after a power loss the name could point at the old file again, without
         * whatever is appended from now on: refuse further commits (COMPACT in the header). */
        o->broken = err;
        say(o, "offsets: fsync of directory %s after compacting %s failed: %s: commits stop",
            o->dir, OFS_LOG_NAME, strerror(-err));
    }
    o->compact_floor = 0;
    o->file_version = version;
    close(o->fd);
    o->fd = fd;
    o->size = size;
    o->synced_seq = o->write_seq; /* the new file was synced whole */
    o->compactions++;
    return err;
}

static int compact_locked(struct st_offsets *o, bool unlock_io)
{
    return compact_to(o, unlock_io, o->file_version > OFS_VERSION ? o->file_version : OFS_VERSION);
}

/* The file is past factor x max(4 x live bytes, compact_min_bytes) (COMPACT in the header). */
static bool compaction_due(const struct st_offsets *o, int factor)
{
    int64_t limit = 4 * o->m.live_bytes;
    if (limit < o->opts.compact_min_bytes)
        limit = o->opts.compact_min_bytes;
    return o->size > factor * limit && o->size > o->compact_floor;
}

/*
 * Applies the records in [from, to) of offsets.log, each already checked by replay() (which
 * has buf large enough for the largest of them): one OFS_MORE run and its last record.
 */
static int replay_run(struct st_offsets *o, int64_t from, int64_t to, uint8_t *buf)
{
    while (from < to) {
        uint8_t lb[4];
        int err = st__pread_full(o->fd, lb, 4, from);
        if (err < 0)
            return err;
        size_t total = kp_load_be32(lb) + (size_t)OFS_REC_OVERHEAD;
        if ((err = st__pread_full(o->fd, buf, total, from)) < 0)
            return err;
        struct ofs_rec r;
        if (rec_decode(buf + 4, total - OFS_REC_OVERHEAD, &r) < 0)
            return -EIO; /* the file changed under us */
        if ((err = rec_apply(o, &r)) < 0)
            return err;
        from += (int64_t)total;
    }
    return 0;
}

/*
 * Replays offsets.log. A record that fails the REPLAY RULE is cut off with everything after
 * it. 0, -EBADMSG (bad header), -ENOMEM, or the disk's errors.
 */
static int replay(struct st_offsets *o)
{
    struct stat st;
    if (fstat(o->fd, &st) < 0)
        return -errno;
    int64_t fsize = st.st_size;
    uint8_t hdr[OFS_HDR], want[OFS_HDR];
    uint32_t version = 0;
    if (fsize >= OFS_HDR && st__pread_full(o->fd, hdr, OFS_HDR, 0) == 0) {
        version = kp_load_be32(hdr + 4);
        header_encode(want, version);
        if (version < 1 || version > OFS_VERSION_TXN || memcmp(hdr, want, OFS_HDR) != 0)
            version = 0;
    }
    if (version == 0) {
        say(o, "offsets: %s/%s has no valid header: refusing to guess", o->dir, OFS_LOG_NAME);
        return -EBADMSG;
    }
    o->file_version = (int)version;
    int64_t pos = OFS_HDR;
    uint8_t *buf = NULL;
    size_t cap = 0;
    int err = 0;
    const char *why = NULL;
    int64_t run = -1; /* the first record of an OFS_MORE run not yet closed */
    while (pos < fsize) {
        uint8_t lb[4];
        if (fsize - pos < OFS_REC_OVERHEAD) {
            why = "torn record";
            break;
        }
        if ((err = st__pread_full(o->fd, lb, 4, pos)) < 0)
            break;
        uint32_t body = kp_load_be32(lb);
        if (body < OFS_BODY_MIN || body > OFS_BODY_MAX) {
            why = "bad record length";
            break;
        }
        if ((int64_t)body + OFS_REC_OVERHEAD > fsize - pos) {
            why = "torn record";
            break;
        }
        size_t total = body + OFS_REC_OVERHEAD;
        if (total > cap) {
            uint8_t *nb = realloc(buf, total);
            if (!nb) {
                err = -ENOMEM;
                break;
            }
            buf = nb;
            cap = total;
        }
        if ((err = st__pread_full(o->fd, buf, total, pos)) < 0)
            break;
        if (kp_crc32c(0, buf, 4 + body) != kp_load_be32(buf + 4 + body)) {
            why = "CRC mismatch";
            break;
        }
        struct ofs_rec r;
        if (rec_decode(buf + 4, body, &r) < 0) {
            why = "malformed record";
            break;
        }
        if (r.more) { /* applied with the rest of its write, once that is whole */
            if (run < 0)
                run = pos;
            pos += (int64_t)total;
            continue;
        }
        if (run >= 0) {
            err = replay_run(o, run, pos + (int64_t)total, buf);
            run = -1;
        } else {
            err = rec_apply(o, &r);
        }
        if (err < 0)
            break;
        pos += (int64_t)total;
    }
    free(buf);
    if (err < 0)
        return err;
    if (run >= 0) { /* a write cut short, or a bad record inside it: none of it counts */
        if (!why)
            why = "torn commit";
        pos = run;
    }
    if (why) {
        say(o, "offsets: %s/%s: %s at byte %lld: truncating, %lld byte(s) dropped", o->dir,
            OFS_LOG_NAME, why, (long long)pos, (long long)(fsize - pos));
        if (ftruncate(o->fd, pos) < 0 || fdatasync(o->fd) < 0)
            return -errno;
    }
    o->size = pos;
    return 0;
}

static int create_empty(struct st_offsets *o)
{
    char tmp[OFS_PATH_MAX], dst[OFS_PATH_MAX];
    path_of(o, OFS_TMP_NAME, tmp, sizeof(tmp));
    path_of(o, OFS_LOG_NAME, dst, sizeof(dst));
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    uint8_t hdr[OFS_HDR];
    header_encode(hdr, OFS_VERSION);
    int err = st__pwrite_full(fd, hdr, OFS_HDR, 0);
    if (err == 0 && fdatasync(fd) < 0)
        err = -errno;
    close(fd);
    if (err == 0 && rename(tmp, dst) < 0)
        err = -errno;
    if (err == 0)
        err = st_fsync_dir(o->dir);
    if (err < 0)
        unlink(tmp);
    return err;
}

/* ---- observing the changes (st_offsets_set_observer) ------------------------------------ */

static struct st_offset_entry entry_view(const struct ofs_entry *e);

/* Queues one change of the write under way (nothing without an observer). A change that
 * finds no memory is dropped with a log line: the observer's mirror then lacks it, the
 * store does not. */
static void chg_push(struct st_offsets *o, enum st_ofs_change_kind kind, const char *group,
                     size_t glen, const struct st_offset_entry *e, int64_t ms)
{
    if (!o->observe)
        return;
    if (o->nchg == o->chg_cap) {
        int ncap = o->chg_cap ? o->chg_cap * 2 : 64;
        struct st_offset_change *n = realloc(o->chg, (size_t)ncap * sizeof(*n));
        if (!n) {
            if (!o->chg_warned)
                say(o, "offsets: out of memory: a change is not passed to the observer");
            o->chg_warned = true;
            return;
        }
        o->chg = n;
        o->chg_cap = ncap;
    }
    o->chg[o->nchg++] = (struct st_offset_change){
        .kind = kind,
        .group = group,
        .group_len = glen,
        .e = e ? *e : (struct st_offset_entry){0},
        .ms = ms,
        .producer_id = -1,
        .producer_epoch = -1,
    };
}

/* Hands the queued changes to the observer (under the mutex) and forgets them. */
static void chg_flush(struct st_offsets *o)
{
    if (o->observe && o->nchg > 0)
        o->observe(o->observe_arg, o->chg, o->nchg);
    o->nchg = 0;
}

/* The commits of wbuf[0, len), just written and applied, as changes. */
static void chg_written(struct st_offsets *o, size_t len)
{
    if (!o->observe)
        return;
    for (size_t pos = 0; pos < len;) {
        uint32_t body = kp_load_be32(o->wbuf + pos);
        struct ofs_rec r;
        if (rec_decode(o->wbuf + pos + 4, body, &r) == 0 &&
            (r.type == OFS_COMMIT || r.type == OFS_TXN_COMMIT)) {
            struct st_offset_entry e = {
                .topic = r.topic,
                .topic_len = r.tlen,
                .partition = r.partition,
                .offset = r.offset,
                .metadata = r.meta,
                .metadata_len = r.mlen,
                .commit_ms = r.ms,
            };
            bool txn = r.type == OFS_TXN_COMMIT;
            int at = o->nchg;
            chg_push(o, txn ? ST_OFS_TXN_SET : ST_OFS_SET, r.group, r.glen, &e, r.ms);
            if (txn && o->nchg > at) {
                o->chg[at].producer_id = r.pid;
                o->chg[at].producer_epoch = r.epoch;
            }
        }
        pos += OFS_REC_OVERHEAD + body;
    }
    chg_flush(o);
}

/* A key a transaction's commit made visible (st__ofs_pending_end). */
static void chg_txn_set(void *arg, const struct ofs_entry *e)
{
    struct st_offsets *o = arg;
    struct st_offset_entry v = entry_view(e);
    chg_push(o, ST_OFS_SET, e->grp->name, e->grp->len, &v, e->commit_ms);
}

void st_offsets_set_observer(struct st_offsets *o, st_offsets_observe_fn fn, void *arg)
{
    pthread_mutex_lock(&o->mu);
    o->observe = fn;
    o->observe_arg = arg;
    o->nchg = 0;
    pthread_mutex_unlock(&o->mu);
}

static void free_all(struct st_offsets *o)
{
    st__ofs_map_free(&o->m);
    free(o->chg);
    free(o->wbuf);
    free(o->dir);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

int st_offsets_open(const char *data_dir, const struct st_offsets_opts *opts,
                    struct st_offsets **out)
{
    if (!data_dir || !out)
        return -EINVAL;
    struct st_offsets_opts def;
    st_offsets_opts_default(&def);
    if (!opts)
        opts = &def;
    if (opts->metadata_max_bytes < 0 || opts->metadata_max_bytes > ST_OFFSETS_META_CAP)
        return -EINVAL;
    if (mkdir(data_dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    struct st_offsets *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    pthread_mutex_init(&o->mu, NULL);
    o->opts = *opts;
    o->fd = -1;
    size_t dl = strlen(data_dir) + 1 + strlen(ST_OFFSETS_DIR) + 1;
    o->dir = malloc(dl);
    if (st__ofs_map_init(&o->m) < 0 || !o->dir) {
        free_all(o);
        return -ENOMEM;
    }
    snprintf(o->dir, dl, "%s/%s", data_dir, ST_OFFSETS_DIR);
    o->m.live_bytes = OFS_HDR;

    int err = 0;
    bool created = false;
    if (mkdir(o->dir, 0755) == 0)
        created = true;
    else if (errno != EEXIST)
        err = -errno;
    if (err == 0 && created)
        err = st_fsync_dir(data_dir);
    char path[OFS_PATH_MAX];
    if (err == 0) {
        path_of(o, OFS_TMP_NAME, path, sizeof(path));
        if (unlink(path) == 0)
            say(o, "offsets: removed %s left by an interrupted compaction", path);
        path_of(o, OFS_LOG_NAME, path, sizeof(path));
        if (access(path, F_OK) < 0) {
            err = errno == ENOENT ? create_empty(o) : -errno;
            if (err == 0 && !created) /* the directory was there: someone removed the log */
                say(o, "offsets: %s was missing: starting with no committed offsets", path);
        }
    }
    if (err == 0) {
        o->fd = open(path, O_RDWR | O_CLOEXEC);
        if (o->fd < 0)
            err = -errno;
    }
    if (err == 0)
        err = replay(o);
    if (err == 0 && o->file_version < OFS_VERSION) { /* UPGRADE in the header */
        err = compact_locked(o, false);
        if (err == 0)
            say(o, "offsets: %s/%s rewritten in format version %d", o->dir, OFS_LOG_NAME,
                OFS_VERSION);
    }
    if (err == 0 && opts->max_memory_bytes >= 0 && o->m.mem_bytes > opts->max_memory_bytes)
        say(o,
            "offsets: %s holds %lld bytes of committed offsets in memory, past the max (%lld): "
            "all kept, commits that add offsets are refused until groups expire",
            o->dir, (long long)o->m.mem_bytes, (long long)opts->max_memory_bytes);
    if (err < 0) {
        if (o->fd >= 0)
            close(o->fd);
        free_all(o);
        return err;
    }
    *out = o;
    return 0;
}

void st_offsets_close(struct st_offsets *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    if (o->write_seq > o->synced_seq && fdatasync(o->fd) < 0)
        say(o, "offsets: fdatasync of %s/%s at close: %s", o->dir, OFS_LOG_NAME, strerror(errno));
    pthread_mutex_unlock(&o->mu);
    close(o->fd);
    free_all(o);
}

/* ---- writes ------------------------------------------------------------------------------- */

static int wbuf_reserve(struct st_offsets *o, size_t need)
{
    if (need <= o->wcap)
        return 0;
    size_t cap = o->wcap ? o->wcap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *nb = realloc(o->wbuf, cap);
    if (!nb)
        return -ENOMEM;
    o->wbuf = nb;
    o->wcap = cap;
    return 0;
}

/*
 * Appends len bytes of o->wbuf at the end, then syncs per the flush policy. On a failed write
 * the file is cut back; the store is marked broken when that or an fdatasync fails.
 */
static int append_locked(struct st_offsets *o, size_t len)
{
    int err = st__pwrite_full(o->fd, o->wbuf, len, o->size);
    if (err < 0) {
        if (ftruncate(o->fd, o->size) < 0) {
            o->broken = err;
            say(o, "offsets: write to %s/%s failed (%s) and cannot be undone: commits stop", o->dir,
                OFS_LOG_NAME, strerror(-err));
        }
        return err;
    }
    o->size += (int64_t)len;
    if (o->write_seq++ == o->synced_seq)
        o->unsynced_since_ms = mono_ms();
    int64_t every = o->opts.flush_interval_messages;
    if (every > 0 && o->write_seq - o->synced_seq >= every) {
        if (fdatasync(o->fd) < 0) {
            err = -errno;
            o->broken = err;
            say(o, "offsets: fdatasync of %s/%s failed (%s): commits stop", o->dir, OFS_LOG_NAME,
                strerror(-err));
            return err;
        }
        o->synced_seq = o->write_seq;
    }
    return 0;
}

static bool name_ok(size_t len, size_t max) { return len >= 1 && len <= max; }

/* 0, -EINVAL or -EMSGSIZE for one item of a commit. */
static int item_check(const struct st_offsets *o, const struct st_offset_commit *c)
{
    if (!c->topic || !name_ok(c->topic_len, ST_OFFSETS_TOPIC_MAX) || c->partition < 0 ||
        (c->metadata_len > 0 && !c->metadata))
        return -EINVAL;
    if (c->metadata_len > (size_t)o->opts.metadata_max_bytes)
        return -EMSGSIZE;
    return 0;
}

/*
 * How much item c would grow the map of group grp (NULL: not there yet; *grp_counted says
 * whether an earlier item of the same call already paid for creating it).
 */
static int64_t item_growth(struct st_offsets *o, struct ofs_group *grp, uint64_t gh,
                           size_t group_len, const struct st_offset_commit *c, bool *grp_counted)
{
    struct ofs_entry *e =
        grp ? st__ofs_key_find(&o->m, grp, c->topic, c->topic_len, c->partition,
                               st__ofs_key_hash(gh, c->topic, c->topic_len, c->partition))
            : NULL;
    if (e)
        return (int64_t)c->metadata_len - (int64_t)e->meta_len;
    int64_t g = 0;
    if (!grp && !*grp_counted) {
        g = st__ofs_group_mem(group_len);
        *grp_counted = true;
    }
    return g + st__ofs_entry_mem(c->topic_len, c->metadata_len);
}

/* Applies the records of wbuf[0, len), just written, to memory: memory follows the file. */
static int apply_written(struct st_offsets *o, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        uint32_t body = kp_load_be32(o->wbuf + pos);
        struct ofs_rec r;
        int err = rec_decode(o->wbuf + pos + 4, body, &r);
        assert(err == 0); /* encoded by rec_encode a moment ago */
        if (err == 0)
            err = rec_apply(o, &r);
        if (err < 0)
            return err;
        pos += OFS_REC_OVERHEAD + body;
    }
    return 0;
}

/* A write buffer grown for one large commit is not kept. */
static void wbuf_trim(struct st_offsets *o)
{
    if (o->wcap > OFS_WBUF_KEEP) {
        free(o->wbuf);
        o->wbuf = NULL;
        o->wcap = 0;
    }
}

/* A transaction's producer, for commit_items(). */
struct txn_of {
    int64_t pid;
    int16_t epoch;
};

/* st_offsets_commit_batch and st_offsets_txn_commit_batch (txn != NULL). */
static int commit_items(struct st_offsets *o, const char *group, size_t group_len,
                        const struct txn_of *txn, const struct st_offset_commit *items, int n,
                        int64_t now_ms, int *results)
{
    if (!o || !group || !name_ok(group_len, ST_OFFSETS_GROUP_MAX) || n < 0 || (n > 0 && !items) ||
        (txn && txn->pid < 0))
        return -EINVAL;
    size_t need = 0;
    int good = 0;
    for (int i = 0; i < n; i++) {
        int r = item_check(o, &items[i]);
        if (results)
            results[i] = r;
        if (r == 0) {
            need +=
                txn ? st__ofs_txn_record_size(group_len, items[i].topic_len, items[i].metadata_len)
                    : st__ofs_record_size(group_len, items[i].topic_len, items[i].metadata_len);
            good++;
        }
    }
    if (good == 0)
        return 0;
    pthread_mutex_lock(&o->mu);
    int err = o->broken ? -ESHUTDOWN : wbuf_reserve(o, need);
    if (err == 0 && txn && o->file_version < OFS_VERSION_TXN)
        err = compact_to(o, false, OFS_VERSION_TXN); /* UPGRADE in the header */
    int64_t cap = o->opts.max_memory_bytes;
    uint64_t gh = st__ofs_group_hash(&o->m, group, group_len);
    struct ofs_group *grp = st__ofs_group_find(&o->m, group, group_len, gh);
    bool grp_counted = false;
    int64_t mem = o->m.mem_bytes; /* as it will be after the items taken so far */
    int refused = 0;
    size_t len = 0, last = 0; /* last: where the last record encoded starts */
    for (int i = 0; i < n && err == 0; i++) {
        const struct st_offset_commit *c = &items[i];
        if (item_check(o, c) != 0)
            continue;
        if (cap >= 0) {
            bool counted = grp_counted;
            int64_t grow = txn ? st__ofs_entry_mem(group_len + c->topic_len, c->metadata_len)
                               : item_growth(o, grp, gh, group_len, c, &grp_counted);
            if (grow > 0 && mem + grow > cap) {
                grp_counted = counted;
                if (results)
                    results[i] = -ENOBUFS;
                refused++;
                continue;
            }
            mem += grow;
        }
        struct ofs_rec r = {
            .type = OFS_COMMIT,
            .ms = now_ms,
            .group = group,
            .glen = group_len,
            .topic = c->topic,
            .tlen = c->topic_len,
            .partition = c->partition,
            .offset = c->offset,
            .meta = c->metadata,
            .mlen = c->metadata_len,
            .more = true,
        };
        if (txn) {
            r.type = OFS_TXN_COMMIT;
            r.pid = txn->pid;
            r.epoch = txn->epoch;
        }
        last = len;
        len += rec_encode(o->wbuf + len, &r);
    }
    if (len > 0) { /* the last record closes the run: clear its OFS_MORE, CRC again */
        uint8_t *b = o->wbuf + last;
        size_t body = kp_load_be32(b);
        b[4] &= (uint8_t)~OFS_MORE;
        kp_store_be32(b + 4 + body, kp_crc32c(0, b, 4 + body));
    }
    if (refused > 0 && !o->cap_warned) {
        o->cap_warned = true;
        say(o,
            "offsets: the committed offsets in %s hold %lld bytes of memory, the most allowed "
            "(max %lld): commits that add offsets are refused until groups expire",
            o->dir, (long long)o->m.mem_bytes, (long long)cap);
    } else if (o->cap_warned && o->m.mem_bytes < cap / 10 * 9) {
        o->cap_warned = false;
    }
    if (err == 0 && len > 0)
        err = append_locked(o, len);
    /* The records are in the file: memory follows. On -ENOMEM here the file holds what memory
     * lacks; a reopen would show it, so refuse further commits rather than diverge. */
    if (err == 0 && len > 0 && (err = apply_written(o, len)) < 0)
        o->broken = err;
    if (err == 0 && len > 0)
        chg_written(o, len);
    wbuf_trim(o);
    if (err == 0 && len > 0 && compaction_due(o, 2))
        (void)compact_locked(o, false); /* a failure is logged (see COMPACT in the header) */
    pthread_mutex_unlock(&o->mu);
    return err;
}

int st_offsets_commit_batch(struct st_offsets *o, const char *group, size_t group_len,
                            const struct st_offset_commit *items, int n, int64_t now_ms,
                            int *results)
{
    return commit_items(o, group, group_len, NULL, items, n, now_ms, results);
}

int st_offsets_txn_commit_batch(struct st_offsets *o, const char *group, size_t group_len,
                                int64_t producer_id, int16_t epoch,
                                const struct st_offset_commit *items, int n, int64_t now_ms,
                                int *results)
{
    struct txn_of t = {.pid = producer_id, .epoch = epoch};
    return commit_items(o, group, group_len, &t, items, n, now_ms, results);
}

int st_offsets_txn_end(struct st_offsets *o, const char *group, size_t group_len,
                       int64_t producer_id, int16_t epoch, bool commit, int64_t now_ms)
{
    if (!o || !group || !name_ok(group_len, ST_OFFSETS_GROUP_MAX) || producer_id < 0)
        return -EINVAL;
    struct ofs_rec r = {
        .type = OFS_TXN_END,
        .ms = now_ms,
        .group = group,
        .glen = group_len,
        .pid = producer_id,
        .epoch = epoch,
        .commit = commit,
    };
    pthread_mutex_lock(&o->mu);
    int err = o->broken ? -ESHUTDOWN : 0;
    /* nothing pending in this file: nothing to end (a marker written twice, or a transaction
     * that committed no offset of this group) */
    bool any = false;
    uint64_t h = st__ofs_pending_hash(&o->m, group, group_len, producer_id);
    for (struct ofs_pending *x = o->m.pend[h & (o->m.npend_buckets - 1)]; x && !any; x = x->next)
        any = x->hash == h && x->pid == producer_id && x->group_len == group_len &&
              memcmp(x->names, group, group_len) == 0;
    if (err == 0 && any)
        err = wbuf_reserve(o, rec_size(&r));
    if (err == 0 && any)
        err = append_locked(o, rec_encode(o->wbuf, &r));
    if (err == 0 && any) {
        int n = st__ofs_pending_end(&o->m, group, group_len, producer_id, commit,
                                    o->observe ? chg_txn_set : NULL, o);
        if (n < 0) /* the file says more than memory: stop rather than diverge */
            err = o->broken = n;
        chg_flush(o);
    }
    pthread_mutex_unlock(&o->mu);
    return err;
}

int st_offsets_txn_groups(struct st_offsets *o, int64_t producer_id,
                          void (*fn)(void *arg, const char *group, size_t group_len), void *arg)
{
    int n = 0;
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->m.npend_buckets; i++)
        for (struct ofs_pending *x = o->m.pend[i]; x; x = x->next)
            if (x->pid == producer_id) {
                fn(arg, x->names, x->group_len);
                n++;
            }
    pthread_mutex_unlock(&o->mu);
    return n;
}

int st_offsets_txn_foreach(struct st_offsets *o,
                           void (*fn)(void *arg, const char *group, size_t group_len,
                                      int64_t producer_id, int16_t epoch),
                           void *arg)
{
    int n = 0;
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->m.npend_buckets; i++)
        for (struct ofs_pending *x = o->m.pend[i]; x; x = x->next) {
            fn(arg, x->names, x->group_len, x->pid, x->epoch);
            n++;
        }
    pthread_mutex_unlock(&o->mu);
    return n;
}

bool st_offsets_txn_pending(struct st_offsets *o, const char *group, size_t group_len,
                            const char *topic, size_t topic_len, int32_t partition)
{
    pthread_mutex_lock(&o->mu);
    bool any =
        st__ofs_pending_find_key(&o->m, group, group_len, topic, topic_len, partition) != NULL;
    pthread_mutex_unlock(&o->mu);
    return any;
}

int st_offsets_commit(struct st_offsets *o, const char *group, size_t group_len, const char *topic,
                      size_t topic_len, int32_t partition, int64_t offset, const char *metadata,
                      size_t metadata_len, int64_t now_ms)
{
    struct st_offset_commit c = {
        .topic = topic,
        .topic_len = topic_len,
        .partition = partition,
        .offset = offset,
        .metadata = metadata,
        .metadata_len = metadata_len,
    };
    int res = 0;
    int err = st_offsets_commit_batch(o, group, group_len, &c, 1, now_ms, &res);
    return err < 0 ? err : res;
}

/* ---- reads -------------------------------------------------------------------------------- */

int st_offsets_get(struct st_offsets *o, const char *group, size_t group_len, const char *topic,
                   size_t topic_len, int32_t partition, int64_t *offset, char *meta,
                   size_t meta_cap, size_t *meta_len)
{
    if (!o || !group || !topic)
        return -EINVAL;
    pthread_mutex_lock(&o->mu);
    uint64_t gh = st__ofs_group_hash(&o->m, group, group_len);
    struct ofs_group *grp = st__ofs_group_find(&o->m, group, group_len, gh);
    struct ofs_entry *e = grp ? st__ofs_key_find(&o->m, grp, topic, topic_len, partition,
                                                 st__ofs_key_hash(gh, topic, topic_len, partition))
                              : NULL;
    int err = -ENOENT;
    if (e) {
        if (offset)
            *offset = e->offset;
        if (meta && e->meta_len > 0)
            memcpy(meta, e->meta, e->meta_len < meta_cap ? e->meta_len : meta_cap);
        if (meta_len)
            *meta_len = e->meta_len;
        err = 0;
    }
    pthread_mutex_unlock(&o->mu);
    return err;
}

static struct st_offset_entry entry_view(const struct ofs_entry *e)
{
    return (struct st_offset_entry){
        .topic = e->topic,
        .topic_len = e->topic_len,
        .partition = e->partition,
        .offset = e->offset,
        .metadata = e->meta,
        .metadata_len = e->meta_len,
        .commit_ms = e->commit_ms,
    };
}

int st_offsets_lookup(struct st_offsets *o, const char *group, size_t group_len, const char *topic,
                      size_t topic_len, int32_t partition,
                      void (*fn)(void *arg, const struct st_offset_entry *e), void *arg)
{
    if (!o || !group || !topic || !fn)
        return -EINVAL;
    pthread_mutex_lock(&o->mu);
    uint64_t gh = st__ofs_group_hash(&o->m, group, group_len);
    struct ofs_group *grp = st__ofs_group_find(&o->m, group, group_len, gh);
    struct ofs_entry *e = grp ? st__ofs_key_find(&o->m, grp, topic, topic_len, partition,
                                                 st__ofs_key_hash(gh, topic, topic_len, partition))
                              : NULL;
    if (e) {
        struct st_offset_entry x = entry_view(e);
        fn(arg, &x);
    }
    pthread_mutex_unlock(&o->mu);
    return e ? 0 : -ENOENT;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct ofs_entry *x = *(struct ofs_entry *const *)a;
    const struct ofs_entry *y = *(struct ofs_entry *const *)b;
    size_t n = x->topic_len < y->topic_len ? x->topic_len : y->topic_len;
    int c = memcmp(x->topic, y->topic, n);
    if (c == 0)
        c = (x->topic_len > y->topic_len) - (x->topic_len < y->topic_len);
    if (c == 0)
        c = (x->partition > y->partition) - (x->partition < y->partition);
    return c;
}

int st_offsets_foreach(struct st_offsets *o, const char *group, size_t group_len,
                       void (*fn)(void *arg, const struct st_offset_entry *e), void *arg)
{
    if (!o || !group || !fn)
        return -EINVAL;
    pthread_mutex_lock(&o->mu);
    struct ofs_group *grp =
        st__ofs_group_find(&o->m, group, group_len, st__ofs_group_hash(&o->m, group, group_len));
    if (!grp) {
        pthread_mutex_unlock(&o->mu);
        return 0;
    }
    struct ofs_entry **v = malloc((size_t)grp->n * sizeof(*v));
    if (!v) {
        pthread_mutex_unlock(&o->mu);
        return -ENOMEM;
    }
    int n = 0;
    for (struct ofs_entry *e = grp->head; e; e = e->gnext)
        v[n++] = e;
    qsort(v, (size_t)n, sizeof(*v), entry_cmp);
    for (int i = 0; i < n; i++) {
        struct st_offset_entry x = entry_view(v[i]);
        fn(arg, &x);
    }
    free(v);
    pthread_mutex_unlock(&o->mu);
    return n;
}

int st_offsets_foreach_all(struct st_offsets *o, int64_t max,
                           void (*fn)(void *arg, const char *group, size_t group_len,
                                      const struct st_offset_entry *e),
                           void *arg)
{
    if (!o || !fn)
        return -EINVAL;
    int n = 0;
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->m.ngroup_buckets; i++) {
        for (struct ofs_group *g = o->m.groups[i]; g; g = g->hnext) {
            for (struct ofs_entry *e = g->head; e; e = e->gnext) {
                if (max >= 0 && n >= max)
                    goto out;
                struct st_offset_entry x = entry_view(e);
                fn(arg, g->name, g->len, &x);
                n++;
            }
        }
    }
out:
    pthread_mutex_unlock(&o->mu);
    return n;
}

/* ---- deletion, retention, maintenance ----------------------------------------------------- */

int st_offsets_delete_group(struct st_offsets *o, const char *group, size_t group_len)
{
    if (!o || !group || !name_ok(group_len, ST_OFFSETS_GROUP_MAX))
        return -EINVAL;
    pthread_mutex_lock(&o->mu);
    int err = o->broken ? -ESHUTDOWN : 0;
    if (err == 0 &&
        !st__ofs_group_find(&o->m, group, group_len, st__ofs_group_hash(&o->m, group, group_len))) {
        pthread_mutex_unlock(&o->mu);
        return 0;
    }
    struct ofs_rec r = {
        .type = OFS_GROUP_TOMBSTONE,
        .ms = 0,
        .group = group,
        .glen = group_len,
    };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r.ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (err == 0)
        err = wbuf_reserve(o, rec_size(&r));
    if (err == 0)
        err = append_locked(o, rec_encode(o->wbuf, &r));
    if (err == 0 && o->observe) {
        struct ofs_group *g = st__ofs_group_find(&o->m, group, group_len,
                                                 st__ofs_group_hash(&o->m, group, group_len));
        for (struct ofs_entry *e = g ? g->head : NULL; e; e = e->gnext) {
            struct st_offset_entry v = entry_view(e);
            chg_push(o, ST_OFS_REMOVED, group, group_len, &v, r.ms);
        }
        chg_push(o, ST_OFS_GROUP_GONE, group, group_len, NULL, r.ms);
        chg_flush(o);
    }
    if (err == 0)
        err = st__ofs_group_delete(&o->m, group, group_len);
    pthread_mutex_unlock(&o->mu);
    return err;
}

/* Keys chosen for removal, and the size of their tombstones. */
struct victims {
    struct ofs_entry **v;
    int64_t n;
    size_t bytes;
};

static int victim_add(struct victims *vs, struct ofs_entry *e)
{
    if ((vs->n & (vs->n - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
        struct ofs_entry **nv = realloc(vs->v, (size_t)(vs->n ? vs->n * 2 : 1) * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        vs->v = nv;
    }
    vs->v[vs->n++] = e;
    vs->bytes += OFS_REC_OVERHEAD + OFS_BODY_FIXED + e->grp->len + OFS_KEY_EXTRA + e->topic_len;
    return 0;
}

/* Tombstones the victims in one write, then forgets them. Frees vs->v. Returns how many
 * were removed, or -errno (then nothing was). */
static int victims_remove(struct st_offsets *o, struct victims *vs, int64_t now_ms)
{
    int err = vs->n > 0 ? wbuf_reserve(o, vs->bytes) : 0;
    if (err == 0 && vs->n > 0) {
        size_t len = 0;
        for (int64_t i = 0; i < vs->n; i++) {
            struct ofs_entry *e = vs->v[i];
            struct ofs_rec r = {
                .type = OFS_TOMBSTONE,
                .ms = now_ms,
                .group = e->grp->name,
                .glen = e->grp->len,
                .topic = e->topic,
                .tlen = e->topic_len,
                .partition = e->partition,
            };
            len += rec_encode(o->wbuf + len, &r);
        }
        err = append_locked(o, len);
        for (int64_t i = 0; i < vs->n && err == 0 && o->observe; i++) {
            struct st_offset_entry v = entry_view(vs->v[i]);
            chg_push(o, ST_OFS_REMOVED, vs->v[i]->grp->name, vs->v[i]->grp->len, &v, now_ms);
        }
        if (err == 0)
            chg_flush(o);
        for (int64_t i = 0; i < vs->n && err == 0; i++)
            st__ofs_key_remove(&o->m, vs->v[i]);
        wbuf_trim(o);
        if (err == 0 && compaction_due(o, 2))
            (void)compact_locked(o, false);
    }
    free(vs->v);
    vs->v = NULL;
    return err < 0 ? err : (int)(vs->n > INT32_MAX ? INT32_MAX : vs->n);
}

int st_offsets_expire(struct st_offsets *o, int64_t now_ms, int64_t retention_ms,
                      st_offsets_empty_since_fn empty_since, void *arg)
{
    if (!o)
        return -EINVAL;
    if (retention_ms < 0)
        return 0;
    pthread_mutex_lock(&o->mu);
    if (o->broken) {
        pthread_mutex_unlock(&o->mu);
        return -ESHUTDOWN;
    }
    struct victims vs = {0};
    int err = 0;
    for (size_t i = 0; i < o->m.ngroup_buckets && err == 0; i++) {
        for (struct ofs_group *g = o->m.groups[i]; g && err == 0; g = g->hnext) {
            int64_t since = empty_since ? empty_since(arg, g->name, g->len) : 0;
            if (since < 0) {
                g->active_ms = now_ms; /* so it is empty since no earlier than now */
                continue;
            }
            if (g->active_ms > since)
                since = g->active_ms;
            for (struct ofs_entry *e = g->head; e && err == 0; e = e->gnext) {
                int64_t ref = e->commit_ms > since ? e->commit_ms : since;
                if (now_ms - ref >= retention_ms)
                    err = victim_add(&vs, e);
            }
        }
    }
    if (err == 0)
        err = victims_remove(o, &vs, now_ms);
    free(vs.v);
    pthread_mutex_unlock(&o->mu);
    return err;
}

int st_offsets_remove_if(struct st_offsets *o, int64_t now_ms,
                         bool (*gone)(void *arg, const struct st_offset_entry *e), void *arg)
{
    if (!o || !gone)
        return -EINVAL;
    pthread_mutex_lock(&o->mu);
    if (o->broken) {
        pthread_mutex_unlock(&o->mu);
        return -ESHUTDOWN;
    }
    struct victims vs = {0};
    int err = 0;
    for (size_t i = 0; i < o->m.nkeys_buckets && err == 0; i++) {
        for (struct ofs_entry *e = o->m.keys[i]; e && err == 0; e = e->hnext) {
            struct st_offset_entry x = entry_view(e);
            if (gone(arg, &x))
                err = victim_add(&vs, e);
        }
    }
    if (err == 0)
        err = victims_remove(o, &vs, now_ms);
    free(vs.v);
    pthread_mutex_unlock(&o->mu);
    return err;
}

int st_offsets_delete(struct st_offsets *o, const char *group, size_t group_len, const char *topic,
                      size_t topic_len, int32_t partition)
{
    if (!o || !group || !topic)
        return -EINVAL;
    pthread_mutex_lock(&o->mu);
    if (o->broken) {
        pthread_mutex_unlock(&o->mu);
        return -ESHUTDOWN;
    }
    uint64_t gh = st__ofs_group_hash(&o->m, group, group_len);
    struct ofs_group *grp = st__ofs_group_find(&o->m, group, group_len, gh);
    struct ofs_entry *e = grp ? st__ofs_key_find(&o->m, grp, topic, topic_len, partition,
                                                 st__ofs_key_hash(gh, topic, topic_len, partition))
                              : NULL;
    int err = 0;
    if (e) {
        struct victims vs = {0};
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        err = victim_add(&vs, e);
        if (err == 0)
            err = victims_remove(o, &vs, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        free(vs.v);
        if (err > 0)
            err = 0;
    }
    pthread_mutex_unlock(&o->mu);
    return err < 0 ? err : e ? 1 : 0;
}

int st_offsets_sync(struct st_offsets *o)
{
    pthread_mutex_lock(&o->mu);
    if (o->broken || o->write_seq == o->synced_seq) {
        int err = o->broken ? -ESHUTDOWN : 0;
        pthread_mutex_unlock(&o->mu);
        return err;
    }
    /* fdatasync without the mutex, so commits go on meanwhile. A dup keeps the file open if a
     * compaction replaces it; the new file was synced whole by the compaction anyway. */
    int64_t seq = o->write_seq;
    int fd = fcntl(o->fd, F_DUPFD_CLOEXEC, 0);
    int err = 0;
    if (fd < 0) {
        /* No descriptor to spare (EMFILE: many connections): sync under the mutex this once
         * rather than stop the store for a failure that lost nothing. */
        if (fdatasync(o->fd) < 0)
            err = -errno;
    } else {
        pthread_mutex_unlock(&o->mu);
        if (fdatasync(fd) < 0)
            err = -errno;
        close(fd);
        pthread_mutex_lock(&o->mu);
    }
    if (err < 0) {
        if (!o->broken)
            say(o, "offsets: fdatasync of %s/%s failed (%s): commits stop", o->dir, OFS_LOG_NAME,
                strerror(-err));
        o->broken = err;
    } else if (seq > o->synced_seq) {
        o->synced_seq = seq;
    }
    pthread_mutex_unlock(&o->mu);
    return err;
}

void st_offsets_maintain(struct st_offsets *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    int64_t ms = o->opts.flush_interval_ms;
    bool due = !o->broken && o->write_seq > o->synced_seq && ms >= 0 &&
               mono_ms() - o->unsynced_since_ms >= ms;
    pthread_mutex_unlock(&o->mu);
    if (due)
        (void)st_offsets_sync(o); /* a failure is logged and stops commits */
    pthread_mutex_lock(&o->mu);
    if (!o->broken && compaction_due(o, 1))
        (void)compact_locked(o, true); /* a failure is logged (see COMPACT in the header) */
    pthread_mutex_unlock(&o->mu);
}

void st_offsets_stats(struct st_offsets *o, struct st_offsets_stats *s)
{
    pthread_mutex_lock(&o->mu);
    *s = (struct st_offsets_stats){
        .entries = o->m.nkeys,
        .pending = o->m.npend,
        .groups = o->m.ngroups,
        .file_bytes = o->size,
        .live_bytes = o->m.live_bytes,
        .compactions = o->compactions,
        .memory_bytes = o->m.mem_bytes,
    };
    pthread_mutex_unlock(&o->mu);
}

int st_offsets_compact(struct st_offsets *o)
{
    pthread_mutex_lock(&o->mu);
    int err = o->broken ? -ESHUTDOWN : compact_locked(o, true);
    pthread_mutex_unlock(&o->mu);
    return err;
}
