/*
 * st_txnidx — the aborted-transaction index of a segment (Kafka's TransactionIndex), what a
 * read_committed Fetch answers as aborted_transactions without reading a record byte.
 *
 * FILE <dir>/<20-digit base>.txnindex, beside the segment's .log: entries of
 * ST_TXNIDX_ENTRY = 34 bytes back to back, appended only (Kafka's AbortedTxn, same layout):
 *      0  2  version 0
 *      2  8  producer id
 *     10  8  first offset of the transaction (it may lie in an earlier segment)
 *     18  8  last offset: the ABORT marker's, which lies in this segment
 *     26  8  last stable offset when the marker was written: the first offset of the oldest
 *            other open transaction, else last offset + 1
 *   One entry per ABORT marker that closed a transaction holding data here (st_pstate.c);
 *   last offsets strictly increase. The file exists only once a segment has an entry.
 *
 * WRITE ORDER: under log->mu the entry is pwritten before its marker's batch (its offsets
 *   are known then) and published (txn_n, release) after the marker's bytes and before the
 *   log's end and LSO move, so a reader that sees the LSO past an aborted transaction finds
 *   its entry. A marker whose write fails leaves the entry unpublished; the next entry
 *   overwrites it. Synced with its segment by the flusher (before a snapshot that covers the
 *   marker is written, see st_pstate.c).
 *
 * LOAD RULE (recovery): a size that is not a multiple of 34, or an entry with version != 0,
 *   a negative producer id, first > last, last outside the segment's offsets, last not above
 *   the previous entry's, or an lso above last + 1, is damage: the file is cut before that
 *   entry and producer-state recovery replays the segment from an older snapshot. Entries of
 *   markers past the recovered end (a cut tail) are dropped without more ado.
 */
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_buf.h"

enum { TXNIDX_CHUNK = 64 }; /* entries read per pread */

static void encode(uint8_t *b, const struct st_abort *ab)
{
    kp_store_be16(b, 0);
    kp_store_be64(b + 2, (uint64_t)ab->pid);
    kp_store_be64(b + 10, (uint64_t)ab->first);
    kp_store_be64(b + 18, (uint64_t)ab->last);
    kp_store_be64(b + 26, (uint64_t)ab->lso);
}

static void decode(const uint8_t *b, struct st_abort *ab, int16_t *version)
{
    *version = (int16_t)kp_load_be16(b);
    ab->pid = (int64_t)kp_load_be64(b + 2);
    ab->first = (int64_t)kp_load_be64(b + 10);
    ab->last = (int64_t)kp_load_be64(b + 18);
    ab->lso = (int64_t)kp_load_be64(b + 26);
}

int st__txnidx_write(struct st_log *log, struct st_seg *s, const struct st_abort *ab)
{
    int err = st__seg_pin(s);
    if (err < 0)
        return err;
    bool existed = atomic_load_explicit(&s->txn_fd, memory_order_relaxed) >= 0 || s->txn_w > 0;
    int fd = st__seg_txn_fd(s, true);
    if (fd < 0) {
        st__seg_unpin(s);
        return fd;
    }
    if (!existed)
        log->dir_dirty = true;
    uint8_t b[ST_TXNIDX_ENTRY];
    encode(b, ab);
    err = st__pwrite_full(fd, b, sizeof(b), (int64_t)s->txn_w * ST_TXNIDX_ENTRY);
    if (err == 0)
        s->txn_w++;
    st__seg_unpin(s);
    return err;
}

void st__txnidx_publish(struct st_seg *s)
{
    atomic_store_explicit(&s->txn_n, s->txn_w, memory_order_release);
}

static int load(struct st_seg *s, int fd, int64_t end, bool *bad)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    int64_t size = st.st_size;
    uint32_t total = (uint32_t)(size / ST_TXNIDX_ENTRY), keep = 0;
    if (size % ST_TXNIDX_ENTRY != 0 || size / ST_TXNIDX_ENTRY > UINT32_MAX)
        *bad = true;
    int64_t prev = -1;
    uint8_t buf[TXNIDX_CHUNK * ST_TXNIDX_ENTRY];
    bool stop = false;
    for (uint32_t i = 0; i < total && !stop; i += TXNIDX_CHUNK) {
        uint32_t k = total - i < TXNIDX_CHUNK ? total - i : TXNIDX_CHUNK;
        int err =
            st__pread_full(fd, buf, (size_t)k * ST_TXNIDX_ENTRY, (int64_t)i * ST_TXNIDX_ENTRY);
        if (err < 0)
            return err;
        for (uint32_t j = 0; j < k; j++) {
            struct st_abort ab;
            int16_t ver;
            decode(buf + (size_t)j * ST_TXNIDX_ENTRY, &ab, &ver);
            if (ver == 0 && ab.last >= end && ab.last > prev) {
                stop = true; /* past a cut tail: dropped, not damage */
                break;
            }
            if (ver != 0 || ab.pid < 0 || ab.first < 0 || ab.first > ab.last || ab.last < s->base ||
                ab.last >= end || ab.last <= prev || ab.lso < 0 || ab.lso > ab.last + 1) {
                *bad = true;
                stop = true;
                break;
            }
            prev = ab.last;
            keep++;
        }
    }
    if ((int64_t)keep * ST_TXNIDX_ENTRY != size && ftruncate(fd, (off_t)keep * ST_TXNIDX_ENTRY) < 0)
        return -errno;
    s->txn_w = keep;
    atomic_store(&s->txn_n, keep);
    atomic_store(&s->txn_synced, 0);
    return 0;
}

int st__txnidx_load(struct st_log *log, struct st_seg *s, int64_t end, bool *bad)
{
    (void)log;
    *bad = false;
    if (!s->has_txn)
        return 0; /* none when the directory was listed: nothing to open */
    int err = st__seg_pin(s);
    if (err < 0)
        return err;
    int fd = st__seg_txn_fd(s, false);
    err = fd == -ENOENT ? 0 : fd < 0 ? fd : load(s, fd, end, bad);
    st__seg_unpin(s);
    return err;
}

int st__txnidx_cut(struct st_seg *s, int64_t offset)
{
    uint32_t n = s->txn_w, keep = n;
    if (n == 0)
        return 0;
    int err = st__seg_pin(s);
    if (err < 0)
        return err;
    int fd = st__seg_txn_fd(s, false);
    uint8_t b[ST_TXNIDX_ENTRY];
    while (fd >= 0 && keep > 0) { /* from the end: entries ascend */
        if ((err = st__pread_full(fd, b, sizeof(b), (int64_t)(keep - 1) * ST_TXNIDX_ENTRY)) < 0)
            break;
        if ((int64_t)kp_load_be64(b + 18) < offset)
            break;
        keep--;
    }
    if (fd < 0)
        err = fd;
    if (err == 0 && keep != n) {
        if (ftruncate(fd, (off_t)keep * ST_TXNIDX_ENTRY) < 0) {
            err = -errno;
        } else {
            s->txn_w = keep;
            atomic_store(&s->txn_n, keep);
        }
    }
    st__seg_unpin(s);
    return err;
}

int st__txnidx_sync(struct st_seg *s)
{
    uint32_t n = atomic_load_explicit(&s->txn_n, memory_order_acquire);
    if (n == atomic_load(&s->txn_synced))
        return 0;
    int err = st__seg_pin(s);
    if (err < 0)
        return err;
    int fd = st__seg_txn_fd(s, false);
    err = fd < 0 ? fd : fdatasync(fd) < 0 ? -errno : 0;
    st__seg_unpin(s);
    if (err == 0)
        atomic_store(&s->txn_synced, n);
    return err;
}

static int collect(struct st_seg *s, int fd, uint32_t total, int64_t from, int64_t upper,
                   struct st_aborted *out, int cap, int *n);

int st__txnidx_collect(struct st_seg *s, int64_t from, int64_t upper, struct st_aborted *out,
                       int cap, int *n)
{
    uint32_t total = atomic_load_explicit(&s->txn_n, memory_order_acquire);
    if (total == 0)
        return 0;
    int err = st__seg_pin(s);
    if (err < 0)
        return err;
    int fd = st__seg_txn_fd(s, false);
    err = fd < 0 ? fd : collect(s, fd, total, from, upper, out, cap, n);
    st__seg_unpin(s);
    return err;
}

static int collect(struct st_seg *s, int fd, uint32_t total, int64_t from, int64_t upper,
                   struct st_aborted *out, int cap, int *n)
{
    (void)s;
    uint8_t buf[TXNIDX_CHUNK * ST_TXNIDX_ENTRY];
    for (uint32_t i = 0; i < total; i += TXNIDX_CHUNK) {
        uint32_t k = total - i < TXNIDX_CHUNK ? total - i : TXNIDX_CHUNK;
        int err =
            st__pread_full(fd, buf, (size_t)k * ST_TXNIDX_ENTRY, (int64_t)i * ST_TXNIDX_ENTRY);
        if (err < 0)
            return err;
        for (uint32_t j = 0; j < k; j++) {
            struct st_abort ab;
            int16_t ver;
            decode(buf + (size_t)j * ST_TXNIDX_ENTRY, &ab, &ver);
            if (ab.last >= from && ab.first < upper) {
                if (*n == cap)
                    return -ENOBUFS;
                out[(*n)++] = (struct st_aborted){.producer_id = ab.pid, .first_offset = ab.first};
            }
            if (ab.lso >= upper)
                return 1;
        }
    }
    return 0;
}
