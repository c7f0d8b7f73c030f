/*
 * st_segment — the on-disk format of a partition log, and segment files.
 *
 * ON-DISK FORMAT (every integer big-endian; "rel" = offset - segment base offset)
 *
 * <data-dir>/
 *   clean-shutdown                  empty; present only while the store is closed cleanly:
 *                                   created (and the directory synced) at a clean close after
 *                                   every log's own clean-shutdown record; removed (and the
 *                                   directory synced) at open before any log can change
 *   log-checkpoint                  per log: its clean-shutdown record and the stat() of its
 *                                   directory and active .log while it was quiet, for this
 *                                   boot only (LOG CHECKPOINT in st_ckpt.c): after a process
 *                                   crash, the logs it still describes stay dormant
 *   <topic>.topic                   topic metadata, text, one "key=value" per line:
 *                                     version=1
 *                                     partitions=<n>
 *                                     id=<32 hex digits>    topic id (UUID); a file
 *                                                           without one gets one at open
 *                                     cluster.zxid=<n>      created from a cluster's
 *                                                           assignment: the zxid that
 *                                                           created its znode (absent:
 *                                                           this broker's own topic)
 *                                     <kafka key>=<value>   per-topic overrides only
 *                                                           (segment.bytes, retention.ms...)
 *                                   written as <topic>.tmp, fsync, rename, fsync dir.
 *                                   It is the commit point of a topic (delete removes it
 *                                   first); a partition's directory may come later.
 *   <topic>-<partition>/            one per partition, created (and the data directory synced
 *                                   at its first sync) by the partition's first append: a
 *                                   partition never written has no directory and is empty
 *     <base>.log                    base = offset of its first batch, 20 decimal digits
 *     <base>.index                  offset index (sparse)
 *     <base>.timeindex              time index (sparse)
 *     <base>.digest                 integrity sidecar, sealed segments only
 *     <base>.txnindex               aborted transactions whose marker is in this segment
 *                                   (format and load rule in st_txnidx.c)
 *     <offset>.snapshot             producer state as of that offset (format, when written
 *                                   and how recovery uses it: st_pstate.c)
 *     recovery-point                last durable position (see below)
 *     log-start-offset              DeleteRecords' low watermark: "<offset>\n" in decimal,
 *                                   written as .tmp, fsync, rename, fsync dir before the
 *                                   call returns; absent: 0. Reads below it are out of range;
 *                                   retention deletes segments wholly below it.
 *     high-watermark                a replicated log's high watermark as of a sync, "<offset>\n"
 *                                   (.tmp, rename; missing: 0) (st_replica.c)
 *     leader-epoch-checkpoint       the leader-epoch cache, Kafka's text format (st_epoch.c);
 *                                   only for logs that were replicas
 *     fenced                        byte and offset ranges found corrupt, no longer served
 *                                   (format and load rule in st_fence.c)
 *     clean-shutdown                the log as its last clean close left it (see below)
 *     cleaner-offset, clean-swap,   log compaction: the first dirty offset, a committed swap,
 *     cleaner/                      the new segments being written (SWAP RULE in st_clean.c)
 *
 * .log — RecordBatch v2 batches back to back, byte for byte as in proto/kp_batch.h. The
 *   producer's bytes are kept except baseOffset (bytes 0-7, the assigned offset) and
 *   partitionLeaderEpoch (bytes 12-15), neither covered by the CRC, plus, on LogAppendTime
 *   topics, attributes bit 3 and maxTimestamp with the CRC recomputed. Batch i+1 starts at
 *   12 + batchLength of batch i; the first batch's baseOffset equals the file's base offset and
 *   each next baseOffset = previous baseOffset + lastOffsetDelta + 1 (or the offset after a
 *   fenced range that ends there). A compacted segment (st_clean.c) keeps
 *   this: batches that lost records keep their offsets, and a run of batches that lost all of
 *   theirs is one empty batch (recordCount 0) spanning their offsets. partitionLeaderEpoch
 *   never decreases along a log. A segment
 *   never grows past 2^31-1 bytes nor 2^31-1 offsets past its base (int32 index fields). A
 *   fenced range counts as one batch for all of these (and for the .index entry rule), whose
 *   bytes are never read.
 *
 * .index — ST_IDX_ENTRY = 8-byte entries {be32 rel, be32 position}: the batch starting at
 *   `position` has baseOffset = base + rel. Entry rule (deterministic, so recovery rebuilds
 *   exactly what appends wrote): before a batch at position p > 0 is appended, if at least
 *   log.index.interval.bytes have been appended since the previous entry (or since position
 *   0), an entry {rel(batch), p} is added. Entries strictly increase in both fields and
 *   position 0 never has one. The file holds exactly a prefix of the segment's entries, back
 *   to back, never pre-sized: the active segment keeps its entries in memory (st_index.c)
 *   and the file receives them at each sync (those the recovery point certifies), at the
 *   seal and at a clean close; a sealed segment's file holds all of them. A segment without
 *   entries has no file. (Files of earlier versions, pre-sized with trailing all-zero
 *   entries, are cut to their entries by recovery.)
 *
 * .timeindex — ST_TIDX_ENTRY = 12-byte entries {be64 timestamp T, be32 rel}: every batch of
 *   the segment that starts before offset base + rel has maxTimestamp <= T. An entry is added
 *   together with each .index entry when T (the largest maxTimestamp so far) exceeds the last
 *   entry's T, and once more at seal time with rel = the segment's end offset - base. Entries
 *   strictly increase in both fields. Written as .index is.
 *
 * .digest (sealed segments) — a ST_DIGEST_HDR = 32-byte header then one digest per chunk:
 *      0  4  magic "SLDG"
 *      4  4  version 1
 *      8  4  chunk size (ST_DIGEST_CHUNK = 1 MiB)
 *     12  4  0
 *     16  8  .log size S in bytes
 *     24  8  chunk count N = ceil(S / chunk)
 *     32 8N  XXH3-64 (seed 0) of .log bytes [i*chunk, min(S, (i+1)*chunk)), i = 0..N-1
 *   32+8N 8  XXH3-64 of the sidecar's bytes [0, 32+8N)
 *   These digests cover the bytes the batch CRC does not (baseOffset, batchLength,
 *   partitionLeaderEpoch, magic). Computed as the bytes are appended (or, for a segment this
 *   process did not write from its start, by reading it back); written as .digest.tmp,
 *   fsync, rename, after the segment is synced.
 *
 * recovery-point (ST_RP_SIZE = 68 bytes, rewritten in place after every sync):
 *      0  4  magic "SLRP"
 *      4  4  version 1
 *      8  8  base offset B of the segment it describes
 *     16  8  position P: .log bytes [0, P) of segment B were on disk (fdatasync returned)
 *            before this record was written; P is a batch boundary
 *     24  8  next offset at P
 *     32  8  largest maxTimestamp of the batches in [0, P), -1 if none
 *     40  4  .index entries I describing [0, P)
 *     44  4  .timeindex entries J describing [0, P)
 *     48  8  hash of the first I .index entries: h = 0, then for each entry e in order
 *            h = XXH3_64bits_withSeed(e, entry size, seed h)
 *     56  8  the same over the first J .timeindex entries
 *     64  4  CRC-32C of bytes [0, 64)
 *   Every segment below B is sealed and was synced (log, indexes, digest) before a record
 *   naming B was written.
 *
 * clean-shutdown (CLEAN-SHUTDOWN RECORD, ST_CLEAN_SIZE = 100 bytes) — what the log held at its
 *   last clean close:
 *      0  4  magic "SLCS"
 *      4  4  version 1
 *      8  8  base offset of the first segment (the log start offset)
 *     16  8  base offset of the last (active) segment
 *     24  8  that segment's .log size
 *     32  8  log end offset
 *     40  8  last stable offset
 *     48  8  bytes of every segment's .log
 *     56  4  segments
 *     60  4  fenced ranges
 *     64  8  bytes they cover
 *     72  8  the first segment's .log size        (retention by size, while dormant)
 *     80  8  the first segment's time: its largest maxTimestamp, else its mtime in ms
 *     88  8  DeleteRecords' low watermark (log-start-offset's value; 0: none), so that a
 *            dormant log answers its log start offset without opening that file
 *     96  4  CRC-32C of bytes [0, 96)
 *   Written in place (a torn one fails its CRC and counts as absent) and fdatasync'd last at a
 *   clean close of a log that changed since it was opened, after every file above is synced;
 *   not removed at open. It stays true until the log changes, and every change moves one of
 *   its first four fields: an append the active segment's size, a roll its base, retention
 *   the first base (nothing else rewrites a segment but the cleaner, which unlinks
 *   the record before its swap; fences live in their own file). So a
 *   record whose bases, count and active size match the directory describes the files
 *   exactly. A stale one is removed when recovery finds it so. An empty file is an earlier
 *   version's marker: the log was closed cleanly, nothing more is known.
 *   A store whose own clean-shutdown file exists at open leaves every log with a good record
 *   dormant: not listed, no file opened, offsets and stats answered from the record, until
 *   its first use opens it (RECOVERY RULE); a log without one is opened at store open.
 *   DeleteRecords moves none of the four fields, only log-start-offset: it opens a dormant
 *   log first and marks it changed, so its next clean close writes the record again; and as
 *   the store's marker went at open, a crash before then opens every log at the next start,
 *   which reads log-start-offset from its file.
 *
 * FSYNC ORDER
 *   append   pwritev(.log) at the end; index entries stored in memory; then the new end is
 *            published (release). Nothing is written to the index files, nothing synced.
 *   sync     (flusher; one at a time per log; covers every append published before it began)
 *            1. each sealed, not yet synced segment: fdatasync .log, fsync .index and
 *               .timeindex (written whole at seal), fdatasync .txnindex;
 *            2. fsync the data directory if the partition directory is new (its first
 *               append made it), then the partition directory if segment files were
 *               created or renamed;
 *            3. fdatasync the active .log and its .txnindex; then, when one is wanted (after
 *               a roll, or before retention needs it), the producer-state snapshot as of
 *               the end synced here: .tmp, fdatasync, rename, fsync the directory, unlink all
 *               but the newest two;
 *            4. pwrite the active segment's new index entries (the I and J below; under
 *               log->mu, from memory, appended to the files, not synced), then pwrite
 *               recovery-point (not synced: a stale or lost one, or index entries that did
 *               not reach the disk, only make the next recovery scan more; a torn one fails
 *               its CRC and counts as absent);
 *            5. move the active segment's scrub mark (st_mark: how far the scrubber may check
 *               it, with the running digest of its last incomplete chunk as of step 3),
 *               publish the durable offset, notify; then write the .digest of each segment
 *               synced in 1 (tmp, fsync, rename; the rename reaches the disk with the next
 *               directory fsync, and a lost digest is written again after recovery).
 *   close    (a log opened and changed since its last clean close; any other has nothing to
 *            write) sync; fsync the data directory if the log's directory is new; write the
 *            active indexes' last entries and fsync them; recovery-point again + fdatasync;
 *            producer-state snapshot at the end; the clean-shutdown record (pwrite,
 *            fdatasync); fsync the directory. After every log: the store's clean-shutdown
 *            file, fsync the data directory.
 *   fence    (st_fence.c, whenever a range is fenced or dropped) fenced.tmp, fdatasync, rename
 *            over fenced, fsync the directory; readers stop at a new range before the write.
 *
 * RECOVERY RULE (st_recover.c)
 *   A log is opened at store open, or when dormant (CLEAN-SHUTDOWN RECORD; or, after a process
 *   crash, LOG CHECKPOINT in st_ckpt.c: then its record is not trusted below, as after a
 *   crash) at its first use, on the thread that uses it. First the fenced file is loaded
 * (st_fence.c): every walk below passes over those ranges. With a clean-shutdown record that
 * matches the directory (or an earlier version's empty marker): every file is trusted; the active
 * segment's indexes are loaded and get the cheap checks below; a sealed segment is taken as it is
 * unless one of its index files is missing (then it gets them too): its indexes are mapped at their
 * first lookup, which checks only that the file holds whole entries, and readers check every header
 * they walk to (-EBADMSG, never wrong bytes, from a damaged one); its largest timestamp is read at
 * its first need. Without a matching record: segments below B are trusted; segment B is scanned
 * from P (its first I/J index entries are kept if their hashes match, else its indexes are rebuilt
 * from 0) and every later segment from 0 (no usable recovery point: from the first segment). A scan
 *   walks batch by batch with THE RULE FOR A GOOD BATCH (st_walk.c): header (magic 2,
 *   batchLength >= 49), bounds, baseOffset continuity, CRC-32C, partitionLeaderEpoch order.
 *   Bytes known to have reached the disk are [0, P) of segment B, every segment below B, and
 *   a sealed segment whose .digest exists (written only after its sync): a bad batch there is
 *   corruption, not a torn write, and is fenced (the scan finds the next good batch and goes
 *   on). Anywhere else the first bad batch is a torn tail: the .log is truncated there and all
 *   later segments are deleted, so no byte past it is served. Indexes are (re)built by the
 *   entry rule while scanning. Any checked segment (trusted or not) whose index is missing,
 *   short (the rule would have added an entry after its last one), or inconsistent (entries
 *   out of order, pointing past the end or at a batch whose offset differs) is rebuilt by a
 *   scan from 0; a sealed segment whose checks pass and whose .digest is there for its size
 *   (written only after its .log and index files were synced) is left as it is, not settled,
 *   re-written or re-synced. Then producer state is rebuilt (PRODUCER STATE RECOVERY in
 *   st_pstate.c).
 *   Everything recovery did is reported (st_store_open_logged: at store open, or when the
 *   log is first used).
 */
#include "st_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_batch.h"

int st__pread_full(int fd, void *buf, size_t n, int64_t pos)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)pos);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        p += r;
        n -= (size_t)r;
        pos += r;
    }
    return 0;
}

int st__pwrite_full(int fd, const void *buf, size_t n, int64_t pos)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)pos);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        p += w;
        n -= (size_t)w;
        pos += w;
    }
    return 0;
}

void st__seg_path(char *buf, size_t cap, const char *dir, int64_t base, const char *suffix)
{
    snprintf(buf, cap, "%s/%020" PRId64 "%s", dir, base, suffix);
}

void st__seg_sibling(const struct st_seg *s, char *buf, size_t cap, const char *suffix)
{
    size_t len = strlen(s->path);
    /* path ends in ".log" */
    snprintf(buf, cap, "%.*s%s", (int)(len - 4), s->path, suffix);
}

int st__seg_open(const char *dir, int64_t base, int32_t interval, uint32_t idx_cap, bool create,
                 struct st_fcache *fc, struct st_seg **out)
{
    char path[ST_MAX_PATH];
    struct st_seg *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->fd = -1;
    s->slot = -1;
    s->fc = fc;
    st__fc_ref(fc);
    atomic_init(&s->pins, 0);
    atomic_init(&s->txn_fd, -1);
    atomic_init(&s->txn_n, 0);
    atomic_init(&s->txn_synced, 0);
    atomic_init(&s->refs, 1);
    atomic_init(&s->size, 0);
    atomic_init(&s->size_end, INT64_MAX);
    atomic_init(&s->max_ts, -1);
    atomic_init(&s->fences, NULL);
    atomic_init(&s->sealed, false);
    atomic_init(&s->synced, false);
    atomic_init(&s->digested, false);
    s->base = base;
    s->interval = interval;
    s->first_append_ms = -1;
    s->w = (struct st_wstate){.next_offset = base, .max_ts = -1, .tidx_last_ts = -1};
    s->mark = (struct st_mark){.pos = 0, .next = base};
    st__idx_init(&s->idx, ST_IDX_ENTRY);
    st__idx_init(&s->tidx, ST_TIDX_ENTRY);
    s->idx.limit = s->tidx.limit = idx_cap;

    int err;
    bool made = false;
    st__seg_path(path, sizeof(path), dir, base, ".log");
    s->path = strdup(path);
    if (!s->path) {
        err = -ENOMEM;
        goto fail;
    }
    if (create) {
        if ((err = st__seg_pin_new(s)) < 0)
            goto fail;
        made = true;
        st__seg_unpin(s); /* it stays open in the cache */
        /* a new segment's index files are created by its first entries */
        static const char *const sfx[] = {".index", ".timeindex"};
        for (int i = 0; i < 2; i++) {
            st__seg_path(path, sizeof(path), dir, base, sfx[i]);
            if (unlink(path) < 0 && errno != ENOENT) {
                err = -errno;
                goto fail;
            }
        }
    }
    s->prepared = !create;
    *out = s;
    return 0;
fail:
    if (made) {
        /* leave nothing half-made behind */
        st__seg_unlink(s);
    }
    st__seg_put(s);
    return err;
}

int st__seg_prepare(struct st_seg *s, const char *dir, bool *made_dir)
{
    assert(s->w.pos == 0 && !s->prepared);
    *made_dir = false;
    if (s->absent) {
        /* a log never written: its directory and first .log come with its first append */
        if (mkdir(dir, 0755) == 0)
            *made_dir = true;
        else if (errno != EEXIST)
            return -errno;
        int err = st__seg_pin_new(s);
        if (err == -EEXIST)
            err = st__seg_pin(s); /* left by a crash before the first batch reached it */
        if (err < 0)
            return err;
        st__seg_unpin(s);
        s->absent = false;
    }
    /* without memory for it the digest is read back at seal: not an append failure */
    if (!s->rd)
        s->rd = st__rundigest_new(s->rd_chunks);
    s->prepared = true;
    return 0;
}

int64_t st__seg_max_ts(struct st_seg *s)
{
    int64_t t = atomic_load_explicit(&s->max_ts, memory_order_acquire);
    if (t != ST_TS_UNKNOWN)
        return t;
    /* the last time-index entry covers every batch before its offset; the headers after it
     * (none when the seal added its entry) the rest */
    int64_t size = atomic_load_explicit(&s->size, memory_order_acquire), pos = 0, next = s->base;
    int32_t rel = 0, p;
    int64_t ts = -1;
    if (st__tidx_lookup_last(s, &ts, &rel) < 0)
        return -1;
    if (rel > 0 && st__oidx_lookup_rel(s, rel, &rel, &p) == 1) {
        pos = p;
        next = s->base + rel;
    } else {
        pos = 0;
    }
    const struct st_fenceset *fs = st__fences(s);
    while (pos + KP_BATCH_HEADER_LEN <= size) {
        const struct st_fence *f = st__fence_by_pos(fs, pos);
        if (f) {
            pos = f->pos_hi;
            next = f->off_hi;
            continue;
        }
        uint8_t b[KP_BATCH_HEADER_LEN];
        struct kp_batch_hdr h;
        if (st__seg_read(s, b, sizeof(b), pos) < 0 || kp_batch_parse_hdr(b, sizeof(b), &h) < 0 ||
            h.base_offset != next)
            break; /* what is known so far */
        if (h.max_timestamp > ts)
            ts = h.max_timestamp;
        pos += (int64_t)kp_batch_size(&h);
        next = h.base_offset + h.last_offset_delta + 1;
    }
    int64_t expect = ST_TS_UNKNOWN;
    atomic_compare_exchange_strong(&s->max_ts, &expect, ts);
    return atomic_load_explicit(&s->max_ts, memory_order_acquire);
}

int st__seg_index_grow(struct st_seg *s, int n)
{
    int err = st__idx_reserve(&s->idx, s->idx.w + (uint32_t)n + 1);
    if (err == 0)
        err = st__idx_reserve(&s->tidx, s->tidx.w + (uint32_t)n + 1);
    return err;
}

void st__seg_ref(struct st_seg *s)
{
    int old = atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    (void)old;
    assert(old > 0);
}

void st__seg_put(struct st_seg *s)
{
    if (!s)
        return;
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    st__seg_close_files(s); /* out of the cache; descriptors closed, mappings unmapped */
    st__fc_put(s->fc);
    st__idx_free(&s->idx);
    st__idx_free(&s->tidx);
    st__rundigest_free(s->rd);
    st__fence_free_all(s);
    free(s->path);
    free(s);
}

void st__seg_unlink(struct st_seg *s)
{
    static const char *const suffixes[] = {
        ".index",        ".timeindex",          ".digest", ".digest.tmp", ".txnindex",
        ST_PSNAP_SUFFIX, ST_PSNAP_SUFFIX ".tmp"};
    char path[ST_MAX_PATH];
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        st__seg_sibling(s, path, sizeof(path), suffixes[i]);
        unlink(path);
    }
    unlink(s->path);
}

void st__seg_note_batch(struct st_seg *s, int64_t base_offset, int32_t last_delta, int64_t size,
                        int64_t max_ts)
{
    struct st_wstate *w = &s->w;
    assert(base_offset == w->next_offset);
    int32_t rel = (int32_t)(base_offset - s->base);
    if (w->pos > 0 && w->since_entry >= s->interval) {
        st__oidx_put(&s->idx, s->idx.w++, rel, (int32_t)w->pos);
        if (w->max_ts > w->tidx_last_ts) {
            st__tidx_put(&s->tidx, s->tidx.w++, w->max_ts, rel);
            w->tidx_last_ts = w->max_ts;
        }
        w->since_entry = 0;
    }
    w->since_entry += size;
    w->pos += size;
    if (max_ts > w->max_ts)
        w->max_ts = max_ts;
    w->next_offset = base_offset + (int64_t)last_delta + 1;
}

int st__seg_seal(struct st_seg *s)
{
    struct st_wstate *w = &s->w;
    /* Appends keep one entry free under the limit for this (st__seg_index_room); without
     * memory for it the segment is sealed without it, which its format allows. */
    if (w->max_ts > w->tidx_last_ts && w->pos > 0 &&
        st__idx_reserve(&s->tidx, s->tidx.w + 1) == 0) {
        st__tidx_put(&s->tidx, s->tidx.w++, w->max_ts, (int32_t)(w->next_offset - s->base));
        w->tidx_last_ts = w->max_ts;
        st__idx_publish(&s->tidx);
    }
    if (s->rd) {
        if (s->rd->pos == w->pos) {
            st__rundigest_finish(s->rd);
        } else {
            st__rundigest_free(s->rd); /* cannot happen; the digest is then read back */
            s->rd = NULL;
        }
    }
    int err = st__idx_seal_file(s, &s->idx);
    if (err == 0)
        err = st__idx_seal_file(s, &s->tidx);
    atomic_store_explicit(&s->sealed, true, memory_order_release);
    return err;
}
