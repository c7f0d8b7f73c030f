/*
 * st_pstate — what a partition knows of its producers (KIP-98): per producer id its epoch, its
 * last ST_PBATCHES batches (sequence ranges and offsets) and its open transaction; the
 * partition's open transactions and its last stable offset; snapshots of all that, and the
 * rebuild at open from the newest snapshot and the batch headers after it. Everything here
 * runs under log->mu (or single-threaded at open, before the log is visible).
 *
 * THE PRODUCER RULES (Kafka 3.8: UnifiedLog.analyzeAndValidateProducerState, then
 * ProducerAppendInfo.checkProducerEpoch, checkSequence, appendDataBatch). A batch of producer
 * id P >= 0 with epoch E and sequences [F, L] (L = F + lastOffsetDelta, wrapping from INT32_MAX
 * to 0, kp_batch_seq_add), against P's entry e (no entry: epoch -1, no batches):
 *   1. DUPLICATE: E == e.epoch and one of e's batches has exactly [F, L]. Nothing is written;
 *      the append answers that batch's offsets (Kafka never answers DUPLICATE_SEQUENCE_NUMBER).
 *   2. E < e.epoch: -ESTALE (INVALID_PRODUCER_EPOCH).
 *   3. E != e.epoch: F must be 0, unless e.epoch is -1: a producer this partition does not know
 *      (new, expired, evicted, or its batches deleted by retention) may start at any sequence
 *      (KIP-360; since Kafka 2.5 Produce never answers UNKNOWN_PRODUCER_ID). E == e.epoch: F
 *      must follow e's newest batch (its L + 1, or 0 after INT32_MAX), or be 0 when e has no
 *      batch; again anything goes when e.epoch is -1. Otherwise -EILSEQ
 *      (OUT_OF_ORDER_SEQUENCE_NUMBER): a repeat older than the last ST_PBATCHES batches gets
 *      this too, as in Kafka.
 *   4. While P has an open transaction here, only transactional batches (-EPROTO:
 *      INVALID_TXN_STATE). P's first transactional batch here needs the coordinator's word
 *      (KIP-890 part 1): -ENOKEY unless the append says it was verified.
 *   5. Once written: a new epoch empties e's batches; the batch joins them (the oldest of
 *      ST_PBATCHES + 1 leaves); e.last_ts = the batch's stored maxTimestamp; a first
 *      transactional batch opens P's transaction at its base offset.
 * A MARKER (control batch COMMIT / ABORT, written by the transaction coordinator) of P with
 * epoch E at offset M: E < e.epoch is -ESTALE. It closes P's open transaction here; an ABORT
 * that closes one gets a .txnindex entry {P, first offset, M, lso} in the segment holding M,
 * lso being the first offset of the oldest other open transaction, else M + 1 (Kafka's
 * ProducerStateManager.lastStableOffset(CompletedTxn)). Then e takes epoch E (emptying its
 * batches if that changed it), the coordinator epoch and the marker's time. A marker without
 * an open transaction changes only those, so writing one twice is harmless.
 *
 * LAST STABLE OFFSET: the first offset of the oldest open transaction, not below the log
 * start; the log end when none is open.
 *
 * MEMORY: producers come from clients, so the table is bounded store-wide by
 * producer.state.max.memory.bytes, charged ST_PRODUCER_COST per producer. A new producer over
 * the bound evicts this partition's longest-idle producer without an open transaction (it
 * becomes unknown: rule 3 lets its next batch in at any sequence, offsets stay right, only its
 * dedupe window is lost); with none to evict the batch gets -ENOBUFS. Expiry
 * (producer.id.expiration.ms, checked every producer.id.expiration.check.interval.ms) forgets
 * producers without an open transaction whose last_ts is that old (Kafka's
 * isProducerExpired; last_ts is the producer's clock, the only one a replay knows).
 *
 * SNAPSHOT FILE <dir>/<20-digit O>.snapshot: the state after every batch below offset O
 * (every integer big-endian):
 *      0  4  magic "SLPS"
 *      4  4  version 1
 *      8  8  O
 *     16  8  log start offset when written
 *     24  4  N producers
 *     28  N x ST_PSNAP_ENTRY (160) bytes, one per producer:
 *              0 8 producer id (>= 0, each once)   8 2 epoch   10 2 0   12 4 coordinator epoch
 *             16 8 last_ts    24 8 open transaction's first offset (< O), -1 none
 *             32 1 batches B (0..5)   33 7 0
 *             40 5 x 24 bytes, the B batches oldest first, then zeros:
 *                  {4 last sequence, 4 lastOffsetDelta, 8 last offset (< O), 8 maxTimestamp}
 *   28+160N  4  CRC-32C of bytes [0, 28 + 160N)
 *   Unlike Kafka's snapshot (one batch per producer) all ST_PBATCHES batches are kept, so the
 *   dedupe window survives a restart whole. Written as <O>.snapshot.tmp, fdatasync, rename;
 *   the directory fsync follows. A snapshot is only an optimisation: one that fails its checks
 *   is ignored and an older one (or none: the whole log) used instead.
 *   WHEN: by the flusher after a roll (O = the synced end, so every batch below O and every
 *   .txnindex entry of a marker below O is on disk first), at a clean close (O = end), after
 *   recovery replayed anything (O = end, after syncing the .txnindex files it wrote), and when
 *   retention would otherwise delete the segments the newest snapshot needs: retention never
 *   moves the log start past the newest snapshot, so a restart never loses a live producer
 *   whose batches retention deleted (Kafka keeps such producers in memory the same way, and in
 *   its snapshots). The flusher keeps the newest two snapshots and unlinks older ones.
 *
 * PRODUCER STATE RECOVERY (at open, after the segments are recovered; Kafka's
 *   UnifiedLog.rebuildProducerState + loadProducersFromRecords, no checks on replay):
 *   1. every segment's .txnindex is loaded (st_txnidx.c): entries of markers past the recovered
 *      end are dropped; a damaged file is cut at its first bad entry and the replay must then
 *      start at or below that segment's base;
 *   2. the newest snapshot with a good CRC, log start <= O <= log end, O a batch boundary (and
 *      at or below a damaged segment) is loaded, expired producers dropped; without one, O is
 *      the log start and the state empty. Snapshots past the end or below the start are deleted;
 *   3. .txnindex entries of markers at or past O are cut;
 *   4. the 61-byte headers of the batches from O to the end are read (fenced ranges passed
 *      over): producer batches apply rule 5, markers (their 78 bytes read) apply as above and
 *      write their .txnindex entries;
 *   5. the LSO is published. After a clean close O is the end and nothing is read; after a
 *      crash about the active segment is.
 */
#include "st_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_batch.h"
#include "kp_crc32c.h"

/* What one producer costs (the table keeps at most half its slots full). */
#define ST_PRODUCER_COST ((int64_t)(2 * sizeof(struct st_producer)))

enum { PS_MIN_CAP = 16, PS_VERSION = 1 };

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static uint32_t home(const struct st_log *log, int64_t pid, uint32_t cap)
{
    return (uint32_t)mix((uint64_t)pid ^ log->store->ps_seed) & (cap - 1);
}

/* first sequence of a remembered batch */
static int32_t first_seq(const struct st_pbatch *b)
{
    return b->last_seq >= b->delta ? b->last_seq - b->delta
                                   : (int32_t)((int64_t)b->last_seq - b->delta + INT32_MAX + 1);
}

static const struct st_pbatch *newest(const struct st_producer *e)
{
    return &e->b[(e->head + e->nb - 1) % ST_PBATCHES];
}

/* ---- the table ------------------------------------------------------------------------------- */

struct st_producer *st__ps_find(struct st_log *log, int64_t pid)
{
    struct st_pstate *ps = &log->ps;
    if (ps->cap == 0)
        return NULL;
    uint32_t m = ps->cap - 1;
    for (uint32_t i = home(log, pid, ps->cap);; i = (i + 1) & m) {
        if (ps->tab[i].pid == pid)
            return &ps->tab[i];
        if (ps->tab[i].pid < 0)
            return NULL;
    }
}

static void place(struct st_log *log, struct st_producer *tab, uint32_t cap,
                  const struct st_producer *e)
{
    uint32_t m = cap - 1;
    uint32_t i = home(log, e->pid, cap);
    while (tab[i].pid >= 0)
        i = (i + 1) & m;
    tab[i] = *e;
}

/* Room in the table for one more producer (grows it; -ENOMEM). */
static int grow(struct st_log *log)
{
    struct st_pstate *ps = &log->ps;
    if ((ps->n + 1) * 2 <= ps->cap)
        return 0;
    uint32_t ncap = ps->cap ? ps->cap * 2 : PS_MIN_CAP;
    if (ncap == 0 || ncap > (1u << 30))
        return -ENOMEM;
    struct st_producer *nt = malloc((size_t)ncap * sizeof(*nt));
    if (!nt)
        return -ENOMEM;
    for (uint32_t i = 0; i < ncap; i++)
        nt[i].pid = -1;
    for (uint32_t i = 0; i < ps->cap; i++)
        if (ps->tab[i].pid >= 0)
            place(log, nt, ncap, &ps->tab[i]);
    free(ps->tab);
    ps->tab = nt;
    ps->cap = ncap;
    return 0;
}

/* Inserts a fresh entry for pid (room made by grow) and charges it. */
static struct st_producer *insert(struct st_log *log, int64_t pid)
{
    struct st_pstate *ps = &log->ps;
    struct st_producer e = {
        .pid = pid, .epoch = -1, .coord_epoch = -1, .last_ts = -1, .txn_first = -1};
    place(log, ps->tab, ps->cap, &e);
    ps->n++;
    atomic_fetch_add(&log->store->ps_bytes, ST_PRODUCER_COST);
    return st__ps_find(log, pid);
}

/* Removes the entry at slot i (backward-shift deletion: no tombstones). */
static void remove_at(struct st_log *log, uint32_t i)
{
    struct st_pstate *ps = &log->ps;
    uint32_t m = ps->cap - 1, j = i;
    for (;;) {
        j = (j + 1) & m;
        if (ps->tab[j].pid < 0)
            break;
        uint32_t k = home(log, ps->tab[j].pid, ps->cap);
        /* the entry at j may move to i when its home is not cyclically in (i, j] */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            ps->tab[i] = ps->tab[j];
            i = j;
        }
    }
    ps->tab[i].pid = -1;
    ps->n--;
    atomic_fetch_sub(&log->store->ps_bytes, ST_PRODUCER_COST);
}

void st__ps_free(struct st_log *log)
{
    struct st_pstate *ps = &log->ps;
    if (ps->n > 0)
        atomic_fetch_sub(&log->store->ps_bytes, (int64_t)ps->n * ST_PRODUCER_COST);
    free(ps->tab);
    free(ps->ong);
    memset(ps, 0, sizeof(*ps));
}

/* ---- open transactions ----------------------------------------------------------------------- */

static int ong_reserve(struct st_pstate *ps)
{
    if (ps->nong < ps->ong_cap)
        return 0;
    uint32_t ncap = ps->ong_cap ? ps->ong_cap * 2 : 8;
    struct st_ongoing *n = realloc(ps->ong, (size_t)ncap * sizeof(*n));
    if (!n)
        return -ENOMEM;
    ps->ong = n;
    ps->ong_cap = ncap;
    return 0;
}

/* Adds (first, pid) in ascending first order (room reserved). */
static void ong_add(struct st_pstate *ps, int64_t first, int64_t pid)
{
    uint32_t i = ps->nong;
    while (i > 0 && ps->ong[i - 1].first > first) {
        ps->ong[i] = ps->ong[i - 1];
        i--;
    }
    ps->ong[i] = (struct st_ongoing){.first = first, .pid = pid};
    ps->nong++;
}

static void ong_remove(struct st_pstate *ps, int64_t pid)
{
    for (uint32_t i = 0; i < ps->nong; i++) {
        if (ps->ong[i].pid == pid) {
            memmove(&ps->ong[i], &ps->ong[i + 1], (ps->nong - i - 1) * sizeof(ps->ong[0]));
            ps->nong--;
            return;
        }
    }
}

int64_t st__ps_lso(const struct st_log *log, int64_t end)
{
    const struct st_pstate *ps = &log->ps;
    if (ps->nong == 0)
        return end;
    int64_t first = ps->ong[0].first;
    int64_t start = atomic_load_explicit(&log->start_offset, memory_order_relaxed);
    return first < start ? start : first;
}

/* ---- the rules ------------------------------------------------------------------------------- */

/* Evicts the longest-idle producer without an open transaction; false when there is none. */
static bool evict_one(struct st_log *log)
{
    struct st_pstate *ps = &log->ps;
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < ps->cap; i++) {
        const struct st_producer *e = &ps->tab[i];
        if (e->pid >= 0 && e->txn_first < 0 &&
            (best == UINT32_MAX || e->last_ts < ps->tab[best].last_ts))
            best = i;
    }
    if (best == UINT32_MAX)
        return false;
    remove_at(log, best);
    return true;
}

int st__ps_reserve(struct st_log *log, int64_t pid, bool replay)
{
    if (st__ps_find(log, pid))
        return 0;
    int64_t max = log->store->defaults.producer_state_max_bytes;
    if (!replay && max >= 0 && atomic_load(&log->store->ps_bytes) + ST_PRODUCER_COST > max &&
        !evict_one(log))
        return -ENOBUFS;
    return grow(log);
}

int st__ps_check(struct st_log *log, const struct kp_batch_hdr *h, bool verified,
                 struct st_pcheck *out)
{
    struct st_producer *e = st__ps_find(log, h->producer_id);
    int16_t cur = e ? e->epoch : -1;
    int32_t first = h->base_sequence;
    int32_t last = kp_batch_seq_add(first, h->last_offset_delta);
    bool txnl = (h->attributes & KP_BATCH_ATTR_TRANSACTIONAL) != 0;
    out->dup = false;
    if (e && h->producer_epoch == cur) {
        for (uint32_t k = 0; k < e->nb; k++) {
            const struct st_pbatch *b = &e->b[(e->head + k) % ST_PBATCHES];
            if (b->last_seq == last && first_seq(b) == first) {
                out->dup = true;
                out->dup_first = b->last_offset - b->delta;
                out->dup_last = b->last_offset;
                out->dup_ts = b->ts;
                return 1;
            }
        }
    }
    if (e && h->producer_epoch < cur)
        return -ESTALE;
    if (h->producer_epoch != cur) {
        if (first != 0 && cur != -1)
            return -EILSEQ;
    } else if (cur != -1) {
        int64_t lastseq = e->nb ? newest(e)->last_seq : -1;
        if (!((int64_t)first == lastseq + 1 || (first == 0 && lastseq == INT32_MAX)))
            return -EILSEQ;
    }
    bool open = e && e->txn_first >= 0;
    if (open && !txnl)
        return -EPROTO;
    if (txnl && !open) {
        if (!verified)
            return -ENOKEY;
        int err = ong_reserve(&log->ps);
        if (err < 0)
            return err;
    }
    return e ? 0 : st__ps_reserve(log, h->producer_id, false);
}

void st__ps_apply_data(struct st_log *log, const struct kp_batch_hdr *h)
{
    struct st_producer *e = st__ps_find(log, h->producer_id);
    if (!e)
        e = insert(log, h->producer_id);
    if (h->producer_epoch != e->epoch) {
        e->epoch = h->producer_epoch;
        e->nb = 0;
        e->head = 0;
    }
    struct st_pbatch b = {
        .last_seq = kp_batch_seq_add(h->base_sequence, h->last_offset_delta),
        .delta = h->last_offset_delta,
        .last_offset = h->base_offset + h->last_offset_delta,
        .ts = h->max_timestamp,
    };
    if (e->nb == ST_PBATCHES) {
        e->b[e->head] = b; /* the oldest leaves */
        e->head = (uint8_t)((e->head + 1) % ST_PBATCHES);
    } else {
        e->b[(e->head + e->nb) % ST_PBATCHES] = b;
        e->nb++;
    }
    e->last_ts = h->max_timestamp;
    if ((h->attributes & KP_BATCH_ATTR_TRANSACTIONAL) && e->txn_first < 0) {
        e->txn_first = h->base_offset;
        ong_add(&log->ps, h->base_offset, h->producer_id);
    }
}

int32_t st__ps_next_seq(struct st_log *log, int64_t pid, int16_t epoch)
{
    const struct st_producer *e = st__ps_find(log, pid);
    if (!e || e->epoch != epoch || e->nb == 0)
        return 0; /* rule 3: a new epoch (or producer) starts at 0 */
    return kp_batch_seq_add(newest(e)->last_seq, 1);
}

int st__ps_check_marker(struct st_log *log, int64_t pid, int16_t epoch, int32_t coord_epoch)
{
    const struct st_producer *e = st__ps_find(log, pid);
    if (e && epoch < e->epoch)
        return -ESTALE;
    /* Kafka's ProducerStateManager: a marker from a coordinator older than the one that wrote
     * this producer's last marker here is a deposed coordinator's */
    return e && coord_epoch < e->coord_epoch ? -EREMCHG : 0;
}

bool st__ps_marker_abort(struct st_log *log, int64_t pid, int64_t offset, struct st_abort *ab)
{
    const struct st_producer *e = st__ps_find(log, pid);
    if (!e || e->txn_first < 0)
        return false;
    const struct st_pstate *ps = &log->ps;
    int64_t lso = offset + 1;
    for (uint32_t i = 0; i < ps->nong; i++) {
        if (ps->ong[i].pid != pid) {
            lso = ps->ong[i].first;
            break;
        }
    }
    *ab = (struct st_abort){.pid = pid, .first = e->txn_first, .last = offset, .lso = lso};
    return true;
}

void st__ps_apply_marker(struct st_log *log, int64_t pid, int16_t epoch, int32_t coord_epoch,
                         int64_t ts)
{
    struct st_producer *e = st__ps_find(log, pid);
    if (!e)
        e = insert(log, pid);
    if (e->txn_first >= 0) {
        ong_remove(&log->ps, pid);
        e->txn_first = -1;
    }
    if (epoch != e->epoch) {
        e->epoch = epoch;
        e->nb = 0;
        e->head = 0;
    }
    e->coord_epoch = coord_epoch;
    e->last_ts = ts;
}

int st__ps_expire(struct st_log *log, int64_t now_ms)
{
    struct st_pstate *ps = &log->ps;
    int64_t exp = log->store->defaults.producer_id_expiration_ms;
    if (exp < 0)
        return 0;
    int gone = 0;
    for (uint32_t i = 0; i < ps->cap;) {
        const struct st_producer *e = &ps->tab[i];
        if (e->pid >= 0 && e->txn_first < 0 && now_ms - e->last_ts >= exp) {
            remove_at(log, i); /* slot i may now hold a shifted entry: look again */
            gone++;
            continue;
        }
        i++;
    }
    return gone;
}

/* ---- snapshots ------------------------------------------------------------------------------- */

int st__ps_snap_encode(const struct st_log *log, int64_t upto, uint8_t **out, size_t *len)
{
    const struct st_pstate *ps = &log->ps;
    size_t n = ST_PSNAP_HDR + (size_t)ps->n * ST_PSNAP_ENTRY + 4;
    uint8_t *b = calloc(1, n);
    if (!b)
        return -ENOMEM;
    memcpy(b, ST_PSNAP_MAGIC, 4);
    kp_store_be32(b + 4, PS_VERSION);
    kp_store_be64(b + 8, (uint64_t)upto);
    kp_store_be64(b + 16, (uint64_t)atomic_load_explicit(&log->start_offset, memory_order_relaxed));
    kp_store_be32(b + 24, ps->n);
    uint8_t *p = b + ST_PSNAP_HDR;
    for (uint32_t i = 0; i < ps->cap; i++) {
        const struct st_producer *e = &ps->tab[i];
        if (e->pid < 0)
            continue;
        kp_store_be64(p, (uint64_t)e->pid);
        kp_store_be16(p + 8, (uint16_t)e->epoch);
        kp_store_be32(p + 12, (uint32_t)e->coord_epoch);
        kp_store_be64(p + 16, (uint64_t)e->last_ts);
        kp_store_be64(p + 24, (uint64_t)e->txn_first);
        p[32] = e->nb;
        for (uint32_t k = 0; k < e->nb; k++) {
            const struct st_pbatch *bt = &e->b[(e->head + k) % ST_PBATCHES];
            uint8_t *q = p + 40 + 24 * k;
            kp_store_be32(q, (uint32_t)bt->last_seq);
            kp_store_be32(q + 4, (uint32_t)bt->delta);
            kp_store_be64(q + 8, (uint64_t)bt->last_offset);
            kp_store_be64(q + 16, (uint64_t)bt->ts);
        }
        p += ST_PSNAP_ENTRY;
    }
    kp_store_be32(p, kp_crc32c(0, b, (size_t)(p - b)));
    *out = b;
    *len = n;
    return 0;
}

int st__ps_snap_write(const char *dir, int64_t upto, const uint8_t *b, size_t len)
{
    char tmp[ST_MAX_PATH], path[ST_MAX_PATH];
    st__seg_path(path, sizeof(path), dir, upto, ST_PSNAP_SUFFIX);
    st__seg_path(tmp, sizeof(tmp), dir, upto, ST_PSNAP_SUFFIX ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int err = st__pwrite_full(fd, b, len, 0);
    if (err == 0 && fdatasync(fd) < 0)
        err = -errno;
    close(fd);
    if (err == 0 && rename(tmp, path) < 0)
        err = -errno;
    if (err < 0)
        unlink(tmp);
    return err;
}

/* Snapshot offsets found in dir, descending. */
static int list_snaps(const char *dir, int64_t **out, int *nout)
{
    *out = NULL;
    *nout = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno; /* a log never written has no directory */
    int n = 0, cap = 0;
    int64_t *v = NULL;
    size_t sl = strlen(ST_PSNAP_SUFFIX);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        if (strlen(nm) != ST_NAME_DIGITS + sl || strcmp(nm + ST_NAME_DIGITS, ST_PSNAP_SUFFIX) != 0)
            continue;
        int64_t o = 0;
        bool ok = true;
        for (int i = 0; i < ST_NAME_DIGITS && ok; i++) {
            ok = nm[i] >= '0' && nm[i] <= '9' && o <= (INT64_MAX - 9) / 10;
            o = o * 10 + (nm[i] - '0');
        }
        if (!ok)
            continue;
        if (n == cap) {
            int ncap = cap ? cap * 2 : 8;
            int64_t *nv = realloc(v, (size_t)ncap * sizeof(*nv));
            if (!nv) {
                free(v);
                closedir(d);
                return -ENOMEM;
            }
            v = nv;
            cap = ncap;
        }
        v[n++] = o;
    }
    closedir(d);
    for (int i = 1; i < n; i++) /* insertion sort, descending: a handful of files */
        for (int j = i; j > 0 && v[j - 1] < v[j]; j--) {
            int64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    *out = v;
    *nout = n;
    return 0;
}

static void snap_unlink(const char *dir, int64_t o)
{
    char path[ST_MAX_PATH];
    st__seg_path(path, sizeof(path), dir, o, ST_PSNAP_SUFFIX);
    unlink(path);
}

void st__ps_snap_prune(const char *dir, int64_t keep)
{
    int64_t *v;
    int n;
    if (list_snaps(dir, &v, &n) < 0)
        return;
    for (int i = 0; i < n; i++)
        if (keep < 0 || v[i] < keep)
            snap_unlink(dir, v[i]);
    free(v);
}

/*
 * Loads <dir>/<o>.snapshot into the (empty) table if it passes every check of the format;
 * expired producers are left out. 0, or -EBADMSG / -errno (the table is then emptied again).
 */
static int snap_load(struct st_log *log, int64_t o, int64_t now_ms)
{
    char path[ST_MAX_PATH];
    st__seg_path(path, sizeof(path), log->dir, o, ST_PSNAP_SUFFIX);
    int fd = st__fc_open(log->store->fc, path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    struct stat stt;
    uint8_t *b = NULL;
    int err = fstat(fd, &stt) < 0 ? -errno : 0;
    size_t len = err == 0 ? (size_t)stt.st_size : 0;
    if (err == 0 && (len < ST_PSNAP_HDR + 4 || (len - ST_PSNAP_HDR - 4) % ST_PSNAP_ENTRY != 0))
        err = -EBADMSG;
    if (err == 0 && !(b = malloc(len)))
        err = -ENOMEM;
    if (err == 0)
        err = st__pread_full(fd, b, len, 0);
    close(fd);
    uint32_t n = 0;
    if (err == 0) {
        n = kp_load_be32(b + 24);
        if (memcmp(b, ST_PSNAP_MAGIC, 4) != 0 || kp_load_be32(b + 4) != PS_VERSION ||
            (int64_t)kp_load_be64(b + 8) != o ||
            (size_t)n != (len - ST_PSNAP_HDR - 4) / ST_PSNAP_ENTRY ||
            kp_load_be32(b + len - 4) != kp_crc32c(0, b, len - 4))
            err = -EBADMSG;
    }
    int64_t exp = log->store->defaults.producer_id_expiration_ms;
    for (uint32_t i = 0; err == 0 && i < n; i++) {
        const uint8_t *p = b + ST_PSNAP_HDR + (size_t)i * ST_PSNAP_ENTRY;
        struct st_producer e = {
            .pid = (int64_t)kp_load_be64(p),
            .epoch = (int16_t)kp_load_be16(p + 8),
            .coord_epoch = (int32_t)kp_load_be32(p + 12),
            .last_ts = (int64_t)kp_load_be64(p + 16),
            .txn_first = (int64_t)kp_load_be64(p + 24),
            .nb = p[32],
        };
        if (e.pid < 0 || e.nb > ST_PBATCHES || e.txn_first < -1 || e.txn_first >= o ||
            st__ps_find(log, e.pid)) {
            err = -EBADMSG;
            break;
        }
        for (uint32_t k = 0; k < e.nb; k++) {
            const uint8_t *q = p + 40 + 24 * k;
            e.b[k] = (struct st_pbatch){
                .last_seq = (int32_t)kp_load_be32(q),
                .delta = (int32_t)kp_load_be32(q + 4),
                .last_offset = (int64_t)kp_load_be64(q + 8),
                .ts = (int64_t)kp_load_be64(q + 16),
            };
            if (e.b[k].last_seq < 0 || e.b[k].delta < 0 || e.b[k].last_offset >= o ||
                e.b[k].last_offset < e.b[k].delta)
                err = -EBADMSG;
        }
        if (err < 0)
            break;
        if (e.txn_first < 0 && exp >= 0 && now_ms - e.last_ts >= exp)
            continue; /* expired */
        if ((err = grow(log)) < 0)
            break;
        if (e.txn_first >= 0 && (err = ong_reserve(&log->ps)) < 0)
            break;
        struct st_producer *s = insert(log, e.pid);
        *s = e;
        if (e.txn_first >= 0)
            ong_add(&log->ps, e.txn_first, e.pid);
    }
    free(b);
    if (err < 0)
        st__ps_free(log);
    return err;
}

int st__ps_follow(struct st_log *log, struct st_seg *s, const struct kp_batch_hdr *h,
                  const uint8_t *b, size_t sz)
{
    if (h->producer_id < 0)
        return 0;
    int err;
    if (h->attributes & KP_BATCH_ATTR_CONTROL) {
        int type = kp_batch_control_type(b, sz);
        if (type != KP_CONTROL_ABORT && type != KP_CONTROL_COMMIT)
            return 0;
        if ((err = st__ps_reserve(log, h->producer_id, true)) < 0)
            return err;
        struct st_abort ab;
        /* the entry is published with the batch (publish in st_log.c) */
        if (type == KP_CONTROL_ABORT &&
            st__ps_marker_abort(log, h->producer_id, h->base_offset, &ab) &&
            (err = st__txnidx_write(log, s, &ab)) < 0)
            return err;
        int32_t coord = sz == KP_BATCH_MARKER_LEN ? (int32_t)kp_load_be32(b + 73) : -1;
        st__ps_apply_marker(log, h->producer_id, h->producer_epoch, coord, h->max_timestamp);
        return 0;
    }
    if ((err = st__ps_reserve(log, h->producer_id, true)) < 0 || (err = ong_reserve(&log->ps)) < 0)
        return err;
    if (h->base_sequence >= 0)
        st__ps_apply_data(log, h);
    return 0;
}

/* ---- recovery: walking batch headers --------------------------------------------------------- */

/* The position of offset o in segment s (o a batch boundary in it), or -1. */
static int64_t boundary_of(struct st_seg *s, int64_t o)
{
    if (o == s->base)
        return 0;
    int64_t size = atomic_load(&s->size);
    const struct st_fenceset *fs = st__fences(s);
    int32_t rel, p;
    int k = st__oidx_lookup_rel(s, (int32_t)(o - s->base), &rel, &p);
    int64_t pos = 0, next = s->base;
    if (k == 1) {
        pos = p;
        next = s->base + rel;
    }
    while (pos < size && next < o) {
        const struct st_fence *f = st__fence_by_pos(fs, pos);
        if (f) {
            pos = f->pos_hi;
            next = f->off_hi;
            continue;
        }
        uint8_t b[KP_BATCH_HEADER_LEN];
        struct kp_batch_hdr h;
        if (pos + KP_BATCH_HEADER_LEN > size || st__seg_read(s, b, sizeof(b), pos) < 0 ||
            kp_batch_parse_hdr(b, sizeof(b), &h) < 0 || h.base_offset != next)
            return -1;
        pos += (int64_t)kp_batch_size(&h);
        next = h.base_offset + h.last_offset_delta + 1;
    }
    return next == o ? pos : -1;
}

/* Replays one marker batch (its bytes at pos, header h) of segment s. */
static int replay_marker(struct st_log *log, struct st_seg *s, int64_t pos,
                         const struct kp_batch_hdr *h)
{
    uint8_t b[256];
    size_t sz = kp_batch_size(h);
    if (sz > sizeof(b))
        return 0; /* no marker of ours; not a transaction's end */
    int err = st__seg_read(s, b, sz, pos);
    if (err < 0)
        return err;
    int type = kp_batch_control_type(b, sz);
    if (type != KP_CONTROL_ABORT && type != KP_CONTROL_COMMIT)
        return 0;
    if ((err = st__ps_reserve(log, h->producer_id, true)) < 0)
        return err;
    struct st_abort ab;
    if (type == KP_CONTROL_ABORT && st__ps_marker_abort(log, h->producer_id, h->base_offset, &ab)) {
        if ((err = st__txnidx_write(log, s, &ab)) < 0)
            return err;
        st__txnidx_publish(s);
    }
    int32_t coord = -1;
    if (sz == KP_BATCH_MARKER_LEN)
        coord = (int32_t)kp_load_be32(b + 73);
    st__ps_apply_marker(log, h->producer_id, h->producer_epoch, coord, h->max_timestamp);
    return 0;
}

/* Replays segment s from byte pos (a boundary holding offset next) to its end. 0, 1 when a
 * header did not follow its predecessor (the rest of the segment is passed over; recovery
 * checked the segments before, so only a disk changing under us gets here), or -errno. */
static int replay_seg(struct st_log *log, struct st_seg *s, int64_t pos, int64_t next,
                      int64_t *bytes)
{
    int64_t size = atomic_load(&s->size);
    const struct st_fenceset *fs = st__fences(s);
    int64_t from = pos;
    while (pos < size) {
        const struct st_fence *f = st__fence_by_pos(fs, pos);
        if (f) {
            pos = f->pos_hi;
            next = f->off_hi;
            continue;
        }
        uint8_t b[KP_BATCH_HEADER_LEN];
        struct kp_batch_hdr h;
        int err = pos + KP_BATCH_HEADER_LEN <= size ? st__seg_read(s, b, sizeof(b), pos) : -EBADMSG;
        if (err == -EBADMSG ||
            (err == 0 && (kp_batch_parse_hdr(b, sizeof(b), &h) < 0 || h.base_offset != next ||
                          pos + (int64_t)kp_batch_size(&h) > size))) {
            *bytes += pos - from;
            return 1;
        }
        if (err < 0)
            return err;
        if (h.producer_id >= 0) {
            if (h.attributes & KP_BATCH_ATTR_CONTROL) {
                err = replay_marker(log, s, pos, &h);
            } else if ((err = st__ps_reserve(log, h.producer_id, true)) == 0 &&
                       (err = ong_reserve(&log->ps)) == 0) {
                if (h.base_sequence >= 0)
                    st__ps_apply_data(log, &h);
            }
            if (err < 0)
                return err;
        }
        pos += (int64_t)kp_batch_size(&h);
        next = h.base_offset + h.last_offset_delta + 1;
    }
    *bytes += pos - from;
    return 0;
}

int st__ps_recover(struct st_log *log, struct st_segvec *v, int64_t now_ms,
                   struct st_ps_recovery *r)
{
    memset(r, 0, sizeof(*r));
    r->snapshot = -1;
    int64_t *walked = &r->bytes;
    int64_t start = v->s[0]->base, end = v->s[v->n - 1]->w.next_offset;
    /* 1: the .txnindex files, and the lowest base a damaged one asks the replay to start at */
    int64_t floor = INT64_MAX;
    for (int i = 0; i < v->n; i++) {
        bool bad = false;
        int64_t seg_end = i + 1 < v->n ? v->s[i + 1]->base : end;
        int err = st__txnidx_load(log, v->s[i], seg_end, &bad);
        if (err < 0)
            return err;
        if (bad && v->s[i]->base < floor)
            floor = v->s[i]->base;
        r->damaged += bad;
    }
    /* 2: the newest usable snapshot */
    int64_t *snaps;
    int ns;
    int err = list_snaps(log->dir, &snaps, &ns);
    if (err < 0)
        return err;
    int64_t o = -1;
    int at = 0;
    int64_t pos = 0;
    for (int i = 0; i < ns && o < 0; i++) {
        if (snaps[i] > end || snaps[i] < start) {
            snap_unlink(log->dir, snaps[i]);
            continue;
        }
        if (snaps[i] > floor)
            continue;
        int k = v->n - 1;
        while (k > 0 && v->s[k]->base > snaps[i])
            k--;
        int64_t p = boundary_of(v->s[k], snaps[i]);
        if (p < 0 || snap_load(log, snaps[i], now_ms) < 0)
            continue;
        o = snaps[i];
        at = k;
        pos = p;
    }
    free(snaps);
    r->snapshot = o;
    if (o < 0) {
        o = start;
        at = 0;
        pos = 0;
    }
    log->snap_newest = r->snapshot;
    /* 3, 4: the .txnindex entries from o on are made again by the replay */
    for (int i = at; i < v->n; i++)
        if ((err = st__txnidx_cut(v->s[i], o)) < 0)
            return err;
    int64_t next = o;
    for (int i = at; i < v->n; i++) {
        if ((err = replay_seg(log, v->s[i], pos, next, walked)) < 0)
            return err;
        r->stopped += err;
        pos = 0;
        next = i + 1 < v->n ? v->s[i + 1]->base : end;
    }
    /* 5 */
    atomic_store(&log->lso, st__ps_lso(log, end));
    return 0;
}
