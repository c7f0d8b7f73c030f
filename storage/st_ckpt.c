/*
 * st_ckpt — the log checkpoint: what lets a store opened after a process crash (kill -9) leave
 * the logs that did not change since the checkpoint dormant, as a clean shutdown does, instead
 * of opening and checking every one of them at start-up (issue 21: 100,000 partitions).
 *
 * LOG CHECKPOINT (<data-dir>/log-checkpoint, ST_CK_NAME; every integer big-endian)
 *   Fixed-size slots, mapped shared and rewritten in place by the flusher thread; never
 *   synced. It speaks only for the boot that wrote it: a process crash keeps the page cache,
 *   so every byte the broker wrote to any file is there to be read (a write cut by the crash
 *   shows as a size or timestamp that moved); a machine crash may lose any of it, so after a
 *   reboot (another boot id) the file is ignored and every log is opened and recovered at
 *   start-up as before (RECOVERY RULE in st_segment.c).
 *
 *   header (ST_CK_HDR = 4096 bytes)
 *      0  4  magic "SLCK"
 *      4  4  version 1
 *      8  4  slot size (ST_CK_SLOT = 256)
 *     12  4  slots N
 *     16 36  boot id, as /proc/sys/kernel/random/boot_id says it (ASCII, no newline)
 *     52  4  CRC-32C of bytes [0, 52)
 *   slot i, at ST_CK_HDR + i * ST_CK_SLOT (i < N):
 *      0  4  CRC-32C of bytes [4, 256)
 *      4  4  state: 0 free, 1 a log
 *      8 100 the log's CLEAN-SHUTDOWN RECORD (st_segment.c) as its files stood when the slot
 *            was written
 *    108  8  its directory: mtime (ns since the epoch)
 *    116  8                 ctime (ns)
 *    124  8                 inode
 *    132  8  its active .log (the record's tail base): mtime (ns)
 *    140  8                                             ctime (ns)
 *    148  8                                             inode
 *    156  8                                             size (= the record's tail size)
 *    164  2  name length L, 1..ST_CK_NAME_MAX (88)
 *    166  L  "<topic>-<partition>"; the rest of the slot is zero
 *   A log whose name is longer has no slot (it is recovered at start-up as before).
 *
 * WRITING (st__ck_update, the flusher thread, at most every ST_CK_INTERVAL_MS, also in the
 * middle of a long round of syncs, under ck_mu)
 *   A slot is written for a log that is quiet:
 *   - dormant (its record is true: nothing changed it since it was loaded), or
 *   - open, its active segment written, no sealed segment waiting for its sync and digest,
 *     synced (recovery-point) on its active segment up to at most ST_CK_TAIL_MAX bytes before
 *     its end (so that its first use scans at most that much; the bytes past it are in the
 *     page cache, which is all this boot reads, and so is an entry not yet fsynced into its
 *     directory);
 *   and whose directory and active .log last changed at least ST_CK_AGE_MS ago. The two
 *   stat()s come first, the record (built under log->mu) after, and the record's active size
 *   must equal the size stat() saw. The slot is written with state 0 first, its CRC last.
 *   A slot is rewritten only when the log's segment list, end or start moved since; a slot
 *   whose log is gone is freed. Cost: one pass over the logs per interval; two stat()s and a
 *   record per log that changed.
 *
 * WHY A STALE SLOT IS HARMLESS
 *   Every change to a log either writes its active .log (its size and mtime move), or creates,
 *   renames or removes a file in its directory (mtime and ctime move): appends, rolls,
 *   retention, DeleteRecords (log-start-offset), fences (fenced), snapshots, compaction's swap,
 *   recovery's cuts. File timestamps come from a coarse clock (one tick, at most a few ms);
 *   as the slot was written only when both were ST_CK_AGE_MS old, any later change stamps a
 *   later time. So a slot whose six timestamps, two inodes and size still match describes the
 *   files exactly; one that does not is ignored. (A wall clock set back past the slot's
 *   timestamps could defeat this; ctime cannot be set otherwise.)
 *
 * READING (st__ck_open, at store open, before any log loads)
 *   Without the store's clean-shutdown marker, with the same boot id and a good header: each
 *   log with a good slot (CRC, state 1, a valid record) whose directory and active .log match
 *   it stays dormant with the slot's record (st__ck_dormant), counted in the recovery report.
 *   Its first use recovers it as after a crash (st_recover.c: the clean-shutdown record is not
 *   trusted; the active segment is scanned from its recovery point), and so does a clean close
 *   (st_flush.c), so that its clean-shutdown record is written true. A damaged header is
 *   reported (WARN) and every log is recovered at open; a damaged slot, that log. Then every
 *   slot not kept is freed, and the header says this boot.
 */
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kp_buf.h"
#include "kp_crc32c.h"

enum {
    CK_BOOT = 16,
    CK_BOOT_LEN = 36,
    CK_HCRC = 52,
    CK_REC = 8,
    CK_STAT = 108,
    CK_NLEN = 164,
    CK_NAME = 166,
};

static void boot_id(char out[CK_BOOT_LEN])
{
    memset(out, 0, CK_BOOT_LEN);
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, CK_BOOT_LEN);
    close(fd);
    if (n != CK_BOOT_LEN)
        memset(out, 0, CK_BOOT_LEN);
}

static uint8_t *slot_at(struct st_store *st, uint32_t i)
{
    return st->ck_map + ST_CK_HDR + (size_t)i * ST_CK_SLOT;
}

static void hdr_write(struct st_store *st)
{
    uint8_t *h = st->ck_map;
    memcpy(h, "SLCK", 4);
    kp_store_be32(h + 4, 1);
    kp_store_be32(h + 8, ST_CK_SLOT);
    kp_store_be32(h + 12, st->ck_cap);
    memcpy(h + CK_BOOT, st->ck_boot, CK_BOOT_LEN);
    kp_store_be32(h + CK_HCRC, kp_crc32c(0, h, CK_HCRC));
}

static void slot_free(struct st_store *st, uint32_t i)
{
    uint8_t *s = slot_at(st, i);
    if (kp_load_be32(s + 4) == 0 && kp_load_be32(s) == 0)
        return;
    memset(s, 0, ST_CK_SLOT);
}

/* Maps cap slots (the file grown to hold them). */
static int ck_map(struct st_store *st, uint32_t cap)
{
    size_t len = ST_CK_HDR + (size_t)cap * ST_CK_SLOT;
    uint8_t *owned = realloc(st->ck_owned, cap);
    if (!owned)
        return -ENOMEM;
    if (cap > st->ck_cap)
        memset(owned + st->ck_cap, 0, cap - st->ck_cap);
    st->ck_owned = owned;
    /* the blocks reserved before the file is mapped: a store into a page the file system
     * cannot back (a full disk) would be SIGBUS, not an error */
    int e = posix_fallocate(st->ck_fd, 0, (off_t)len);
    if (e != 0)
        return -e;
    if (ftruncate(st->ck_fd, (off_t)len) < 0)
        return -errno;
    void *m = st->ck_map ? mremap(st->ck_map, st->ck_len, len, MREMAP_MAYMOVE)
                         : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, st->ck_fd, 0);
    if (m == MAP_FAILED)
        return -errno; /* (the old mapping, if any, stays as it was) */
    st->ck_map = m;
    st->ck_len = len;
    st->ck_cap = cap;
    hdr_write(st);
    return 0;
}

static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

/* Index of the good slots by name (open addressing; -1 empty). */
static int tab_build(struct st_store *st, uint32_t n)
{
    uint32_t cap = 16;
    while (cap < 2 * n + 2)
        cap *= 2;
    st->ck_tab = malloc((size_t)cap * sizeof(*st->ck_tab));
    if (!st->ck_tab)
        return -ENOMEM;
    memset(st->ck_tab, 0xff, (size_t)cap * sizeof(*st->ck_tab));
    st->ck_tab_cap = cap;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = slot_at(st, i);
        uint16_t len = kp_load_be16(s + CK_NLEN);
        if (kp_load_be32(s + 4) != 1)
            continue;
        if (kp_load_be32(s) != kp_crc32c(0, s + 4, ST_CK_SLOT - 4) || len == 0 ||
            len > ST_CK_NAME_MAX) {
            st->ck_damaged++;
            continue;
        }
        for (uint32_t h = (uint32_t)name_hash((const char *)s + CK_NAME, len) & (cap - 1);;
             h = (h + 1) & (cap - 1)) {
            if (st->ck_tab[h] < 0) {
                st->ck_tab[h] = (int32_t)i;
                break;
            }
        }
    }
    return 0;
}

static int64_t ts_ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static void stat_store(uint8_t *b, const struct stat *d, const struct stat *f)
{
    kp_store_be64(b, (uint64_t)ts_ns(&d->st_mtim));
    kp_store_be64(b + 8, (uint64_t)ts_ns(&d->st_ctim));
    kp_store_be64(b + 16, (uint64_t)d->st_ino);
    kp_store_be64(b + 24, (uint64_t)ts_ns(&f->st_mtim));
    kp_store_be64(b + 32, (uint64_t)ts_ns(&f->st_ctim));
    kp_store_be64(b + 40, (uint64_t)f->st_ino);
    kp_store_be64(b + 48, (uint64_t)f->st_size);
}

/* stat() of the log's directory and of its segment at tail_base (its .log). */
static int stat_pair(const struct st_log *log, int64_t tail_base, struct stat *d, struct stat *f)
{
    char path[ST_MAX_PATH];
    if (stat(log->dir, d) < 0)
        return -errno;
    st__seg_path(path, sizeof(path), log->dir, tail_base, ".log");
    return stat(path, f) < 0 ? -errno : 0;
}

static int log_name(const struct st_log *log, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s-%" PRId32, log->topic, log->partition);
    return n > 0 && n <= ST_CK_NAME_MAX && (size_t)n < cap ? n : -1;
}

int st__ck_open(struct st_store *st, bool clean)
{
    char path[ST_MAX_PATH];
    snprintf(path, sizeof(path), "%s/%s", st->dir, ST_CK_NAME);
    boot_id(st->ck_boot);
    st->ck_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (st->ck_fd < 0)
        return -errno;
    struct stat sb;
    if (fstat(st->ck_fd, &sb) < 0)
        return -errno;
    uint8_t h[ST_CK_HDR];
    bool have = sb.st_size >= ST_CK_HDR && st__pread_full(st->ck_fd, h, sizeof(h), 0) == 0;
    uint32_t n = have ? kp_load_be32(h + 12) : 0;
    bool good = have && memcmp(h, "SLCK", 4) == 0 && kp_load_be32(h + 4) == 1 &&
                kp_load_be32(h + 8) == ST_CK_SLOT &&
                kp_load_be32(h + CK_HCRC) == kp_crc32c(0, h, CK_HCRC) &&
                (int64_t)sb.st_size >= ST_CK_HDR + (int64_t)n * ST_CK_SLOT;
    bool same_boot = good && st->ck_boot[0] && memcmp(h + CK_BOOT, st->ck_boot, CK_BOOT_LEN) == 0;
    if (!clean && have && !good && st->msg_fn)
        st->msg_fn(st->msg_arg, ST_MSG_WARN,
                   "log checkpoint is damaged and ignored: every log is recovered at start-up");
    int err;
    if (!clean && same_boot && n > 0) {
        if ((err = ck_map(st, n)) < 0 || (err = tab_build(st, n)) < 0)
            return err;
        st->ck_use = true;
        return 0;
    }
    /* nothing to use: a fresh file for this boot */
    if (ftruncate(st->ck_fd, 0) < 0)
        return -errno;
    return ck_map(st, 1024);
}

bool st__ck_dormant(struct st_log *log)
{
    struct st_store *st = log->store;
    char name[ST_CK_NAME_MAX + 1];
    int len = st->ck_use ? log_name(log, name, sizeof(name)) : -1;
    if (len < 0)
        return false;
    const uint8_t *s = NULL;
    int32_t at = -1;
    for (uint32_t h = (uint32_t)name_hash(name, (size_t)len) & (st->ck_tab_cap - 1);;
         h = (h + 1) & (st->ck_tab_cap - 1)) {
        if ((at = st->ck_tab[h]) < 0)
            return false;
        s = slot_at(st, (uint32_t)at);
        if (kp_load_be16(s + CK_NLEN) == len && memcmp(s + CK_NAME, name, (size_t)len) == 0)
            break;
    }
    st->ck_owned[at] = 1; /* the log's, whatever it turns out to be */
    log->ck_slot = at;
    struct st_clean c;
    st__clean_decode(s + CK_REC, &c);
    struct stat d, f;
    uint8_t now[56];
    if (!c.valid || c.legacy || stat_pair(log, c.tail_base, &d, &f) < 0)
        return false;
    stat_store(now, &d, &f);
    if (memcmp(now, s + CK_STAT, sizeof(now)) != 0)
        return false;
    log->rec = c;
    log->ck_dormant = true;
    memcpy(&log->ck_key, &(struct st_ckkey){.dormant = true}, sizeof(log->ck_key));
    log->ck_keyed = true;
    return true;
}

void st__ck_opened(struct st_store *st)
{
    if (!st->ck_map)
        return;
    pthread_mutex_lock(&st->ck_mu);
    for (uint32_t i = 0; i < st->ck_cap; i++)
        if (!st->ck_owned[i])
            slot_free(st, i);
    /* a slot kept for a log that was recovered now no longer says anything true */
    for (int t = 0; t < st->ntopics; t++)
        for (int32_t p = 0; p < st->topics[t]->partitions; p++) {
            struct st_log *log = st->topics[t]->logs[p];
            if (log->ck_slot >= 0 && !log->ck_dormant)
                slot_free(st, (uint32_t)log->ck_slot);
        }
    memcpy(st->ck_map + CK_BOOT, st->ck_boot, CK_BOOT_LEN);
    hdr_write(st);
    free(st->ck_tab);
    st->ck_tab = NULL;
    st->ck_use = false;
    pthread_mutex_unlock(&st->ck_mu);
}

void st__ck_close(struct st_store *st)
{
    if (st->ck_map)
        munmap(st->ck_map, st->ck_len);
    if (st->ck_fd >= 0)
        close(st->ck_fd);
    free(st->ck_owned);
    free(st->ck_tab);
    st->ck_fd = -1;
    st->ck_map = NULL;
    st->ck_owned = NULL;
    st->ck_tab = NULL;
    st->ck_cap = 0;
    st->ck_use = false;
}

/* The slot of a log that is quiet (WRITING above), or false. */
static bool slot_build(struct st_log *log, uint8_t *s, struct st_ckkey *key, int64_t now_ns)
{
    char name[ST_CK_NAME_MAX + 1];
    int len = log_name(log, name, sizeof(name));
    if (len < 0)
        return false;
    int64_t tail_base;
    if (!st__log_open(log)) {
        if (!log->rec.valid || log->rec.legacy || log->rec.segments < 1)
            return false; /* never written: no files, nothing to check */
        tail_base = log->rec.tail_base;
        *key = (struct st_ckkey){.dormant = true};
    } else {
        pthread_mutex_lock(&log->mu);
        struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
        struct st_seg *tail = v->s[v->n - 1];
        bool quiet = !log->deleted && !log->closed && !tail->absent && !log->cleaning &&
                     !atomic_load(&log->seal_pending) && !atomic_load(&log->fence_dirty) &&
                     log->synced_seg == tail && tail->w.pos - log->synced_pos <= ST_CK_TAIL_MAX;
        tail_base = tail->base;
        *key = (struct st_ckkey){.segs = (uintptr_t)v,
                                 .pos = tail->w.pos,
                                 .end = atomic_load(&log->end_offset),
                                 .start = atomic_load(&log->start_offset),
                                 .lso = atomic_load(&log->lso)};
        pthread_mutex_unlock(&log->mu);
        if (!quiet)
            return false;
    }
    struct stat d, f;
    if (stat_pair(log, tail_base, &d, &f) < 0)
        return false;
    int64_t newest = ts_ns(&d.st_mtim);
    const struct timespec *others[3] = {&d.st_ctim, &f.st_mtim, &f.st_ctim};
    for (int i = 0; i < 3; i++)
        if (ts_ns(others[i]) > newest)
            newest = ts_ns(others[i]);
    if (now_ns - newest < (int64_t)ST_CK_AGE_MS * 1000000)
        return false; /* changed too lately: a change now could carry the same timestamps */
    memset(s, 0, ST_CK_SLOT);
    if (!st__log_open(log)) {
        st__clean_encode_rec(&log->rec, s + CK_REC);
    } else if (st__log_clean_encode(log, s + CK_REC) < 0) {
        return false;
    }
    struct st_clean c;
    st__clean_decode(s + CK_REC, &c);
    if (!c.valid || c.tail_base != tail_base || c.tail_size != (int64_t)f.st_size)
        return false;
    if (st__log_open(log)) {
        /* the record is of the same moment as the key, or the slot waits for the next round */
        pthread_mutex_lock(&log->mu);
        struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
        bool same = (uintptr_t)v == key->segs && v->s[v->n - 1]->w.pos == key->pos &&
                    atomic_load(&log->end_offset) == key->end;
        pthread_mutex_unlock(&log->mu);
        if (!same)
            return false;
    }
    kp_store_be32(s + 4, 1);
    stat_store(s + CK_STAT, &d, &f);
    kp_store_be16(s + CK_NLEN, (uint16_t)len);
    memcpy(s + CK_NAME, name, (size_t)len);
    kp_store_be32(s, kp_crc32c(0, s + 4, ST_CK_SLOT - 4));
    return true;
}

static int slot_alloc(struct st_store *st)
{
    for (uint32_t i = 0; i < st->ck_cap; i++) {
        uint32_t k = (st->ck_hint + i) % st->ck_cap;
        if (!st->ck_owned[k]) {
            st->ck_hint = k + 1;
            return (int)k;
        }
    }
    uint32_t cap = st->ck_cap;
    if (ck_map(st, cap * 2) < 0)
        return -1;
    st->ck_hint = cap + 1;
    return (int)cap;
}

void st__ck_update(struct st_store *st, struct st_log **logs, int n)
{
    int64_t now = st__mono_ms();
    if (!st->ck_map || now - st->ck_last_ms < ST_CK_INTERVAL_MS)
        return;
    st->ck_last_ms = now;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t now_ns = ts_ns(&rt);
    pthread_mutex_lock(&st->ck_mu);
    /* slots whose log is gone (topic deleted) */
    memset(st->ck_owned, 0, st->ck_cap);
    for (int i = 0; i < n; i++)
        if (logs[i]->ck_slot >= 0)
            st->ck_owned[logs[i]->ck_slot] = 1;
    for (uint32_t i = 0; i < st->ck_cap; i++)
        if (!st->ck_owned[i])
            slot_free(st, i);
    uint8_t s[ST_CK_SLOT];
    for (int i = 0; i < n; i++) {
        struct st_log *log = logs[i];
        struct st_ckkey key;
        if (log->ck_keyed) {
            /* unchanged since its slot was written: nothing to do (a cheap look) */
            if (log->ck_key.dormant && !st__log_open(log))
                continue;
            if (!log->ck_key.dormant && st__log_open(log)) {
                pthread_mutex_lock(&log->mu);
                struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
                bool same = (uintptr_t)v == log->ck_key.segs &&
                            v->s[v->n - 1]->w.pos == log->ck_key.pos &&
                            atomic_load(&log->end_offset) == log->ck_key.end &&
                            atomic_load(&log->start_offset) == log->ck_key.start &&
                            atomic_load(&log->lso) == log->ck_key.lso;
                pthread_mutex_unlock(&log->mu);
                if (same)
                    continue;
            }
        }
        log->ck_keyed = false;
        pthread_mutex_lock(&log->sync_mu); /* synced_seg / synced_pos */
        bool ok = slot_build(log, s, &key, now_ns);
        pthread_mutex_unlock(&log->sync_mu);
        if (log->ck_slot >= 0)
            slot_free(st, (uint32_t)log->ck_slot);
        if (!ok)
            continue;
        if (log->ck_slot < 0) {
            int k = slot_alloc(st);
            if (k < 0)
                continue;
            log->ck_slot = k;
            st->ck_owned[k] = 1;
        }
        uint8_t *dst = slot_at(st, (uint32_t)log->ck_slot);
        memcpy(dst + 4, s + 4, ST_CK_SLOT - 4); /* state, fields... */
        memcpy(dst, s, 4);                      /* ...then the CRC that makes them good */
        log->ck_key = key;
        log->ck_keyed = true;
    }
    pthread_mutex_unlock(&st->ck_mu);
}
