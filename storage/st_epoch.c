/*
 * st_epoch — the leader-epoch cache of a partition log (KIP-101, KIP-279): the start offset
 * of every leader epoch the log holds batches of, in memory under log->mu and in
 * <dir>/leader-epoch-checkpoint in Kafka's text format (ST_EPOCH_NAME in st_int.h).
 *
 * Load rule: the file is read at the first use of the cache (a replicated partition's: a
 * single node never reads or writes it). A file that parses (version 0, its count of lines,
 * epochs strictly increasing, starts not decreasing) is taken, without the entries that start
 * past the log end (their batches did not survive a crash) and with the first one raised to
 * the log start. A missing or damaged file: the cache is rebuilt from the batch headers
 * (partitionLeaderEpoch of every batch, one 61-byte pread each), and written.
 * Write rule: whenever the cache changes (a new epoch, a truncation, retention), at once when
 * the partition's directory exists, else at the next sync (ep_dirty): .tmp, fdatasync,
 * rename, fsync of the directory.
 */
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_batch.h"

void st__epoch_free(struct st_log *log)
{
    free(log->ep);
    log->ep = NULL;
    log->ep_n = log->ep_cap = 0;
}

static int push(struct st_log *log, int32_t epoch, int64_t start)
{
    if (log->ep_n == log->ep_cap) {
        int32_t nc = log->ep_cap ? log->ep_cap * 2 : 8;
        struct st_epoch_ent *n = realloc(log->ep, (size_t)nc * sizeof(*n));
        if (!n)
            return -ENOMEM;
        log->ep = n;
        log->ep_cap = nc;
    }
    log->ep[log->ep_n++] = (struct st_epoch_ent){.epoch = epoch, .start = start};
    return 0;
}

bool st__epoch_add(struct st_log *log, int32_t epoch, int64_t start)
{
    if (epoch < 0 || (log->ep_n > 0 && epoch <= log->ep[log->ep_n - 1].epoch))
        return false;
    if (log->ep_n > 0 && start < log->ep[log->ep_n - 1].start)
        start = log->ep[log->ep_n - 1].start;
    /* an epoch that holds no batch (the next one starts where it did) leaves, as Kafka's
     * cache drops the entries a new one conflicts with */
    while (log->ep_n > 0 && log->ep[log->ep_n - 1].start >= start)
        log->ep_n--;
    if (push(log, epoch, start) < 0)
        return false;
    atomic_store(&log->ep_dirty, true);
    return true;
}

bool st__epoch_cut(struct st_log *log, int64_t end)
{
    int32_t n = log->ep_n;
    while (n > 0 && log->ep[n - 1].start >= end)
        n--;
    if (n == log->ep_n)
        return false;
    log->ep_n = n;
    atomic_store(&log->ep_dirty, true);
    return true;
}

bool st__epoch_trim_start(struct st_log *log, int64_t start)
{
    int32_t k = 0; /* entries wholly below start: the next one starts at or below it */
    while (k + 1 < log->ep_n && log->ep[k + 1].start <= start)
        k++;
    bool changed = k > 0;
    if (k > 0) {
        memmove(log->ep, log->ep + k, (size_t)(log->ep_n - k) * sizeof(log->ep[0]));
        log->ep_n -= k;
    }
    if (log->ep_n > 0 && log->ep[0].start < start) {
        log->ep[0].start = start;
        changed = true;
    }
    if (changed)
        atomic_store(&log->ep_dirty, true);
    return changed;
}

/* Parses the file's bytes into the cache; false when they are not a good checkpoint. */
static bool parse(struct st_log *log, char *text)
{
    char *p = text, *e;
    long long v = strtoll(p, &e, 10);
    if (e == p || v != 0 || *e != '\n')
        return false;
    p = e + 1;
    long long cnt = strtoll(p, &e, 10);
    if (e == p || cnt < 0 || cnt > 1 << 20 || *e != '\n')
        return false;
    p = e + 1;
    for (long long i = 0; i < cnt; i++) {
        long long ep = strtoll(p, &e, 10);
        if (e == p || *e != ' ' || ep < 0 || ep > INT32_MAX)
            return false;
        p = e + 1;
        long long st = strtoll(p, &e, 10);
        if (e == p || *e != '\n' || st < 0)
            return false;
        p = e + 1;
        if (log->ep_n > 0 &&
            (ep <= log->ep[log->ep_n - 1].epoch || st < log->ep[log->ep_n - 1].start))
            return false;
        if (push(log, (int32_t)ep, st) < 0)
            return false;
    }
    return *p == '\0';
}

static int read_file(struct st_log *log, bool *good)
{
    char path[ST_MAX_PATH];
    snprintf(path, sizeof(path), "%s/%s", log->dir, ST_EPOCH_NAME);
    *good = false;
    int fd = st__fc_open(log->store->fc, path, O_RDONLY, 0);
    if (fd < 0)
        return fd == -ENOENT ? 0 : fd;
    struct stat sb;
    if (fstat(fd, &sb) < 0 || sb.st_size > (64 << 20)) {
        close(fd);
        return 0;
    }
    char *text = malloc((size_t)sb.st_size + 1);
    if (!text) {
        close(fd);
        return -ENOMEM;
    }
    int err = st__pread_full(fd, text, (size_t)sb.st_size, 0);
    close(fd);
    if (err == 0) {
        text[sb.st_size] = '\0';
        *good = strlen(text) == (size_t)sb.st_size && parse(log, text);
        if (!*good)
            log->ep_n = 0;
    }
    free(text);
    return err == -EIO ? 0 : err;
}

/* Rebuilds the cache from the partitionLeaderEpoch of every batch header (fenced ranges
 * passed over). */
static int rebuild(struct st_log *log)
{
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    log->ep_n = 0;
    for (int i = 0; i < v->n; i++) {
        struct st_seg *s = v->s[i];
        if (s->absent)
            continue;
        int64_t size = atomic_load(&s->size);
        const struct st_fenceset *fs = st__fences(s);
        int64_t pos = 0;
        while (pos + KP_BATCH_HEADER_LEN <= size) {
            const struct st_fence *f = st__fence_by_pos(fs, pos);
            if (f) {
                pos = f->pos_hi;
                continue;
            }
            uint8_t b[KP_BATCH_HEADER_LEN];
            struct kp_batch_hdr h;
            int err = st__seg_read(s, b, sizeof(b), pos);
            if (err < 0)
                return err;
            if (kp_batch_parse_hdr(b, sizeof(b), &h) < 0)
                break;
            if (h.leader_epoch >= 0 &&
                (log->ep_n == 0 || h.leader_epoch > log->ep[log->ep_n - 1].epoch) &&
                push(log, h.leader_epoch, h.base_offset) < 0)
                return -ENOMEM;
            pos += (int64_t)kp_batch_size(&h);
        }
    }
    return 0;
}

int st__epoch_load(struct st_log *log)
{
    if (log->ep_loaded)
        return 0;
    if (!atomic_load_explicit(&log->segs, memory_order_relaxed))
        return -EAGAIN; /* dormant: the caller opens the log first */
    bool good;
    int err = read_file(log, &good);
    if (err < 0)
        return err;
    int64_t end = atomic_load_explicit(&log->end_offset, memory_order_relaxed);
    int64_t start = atomic_load_explicit(&log->start_offset, memory_order_relaxed);
    if (good) {
        bool changed = st__epoch_cut(log, end + 1); /* batches lost with a crash */
        changed |= st__epoch_trim_start(log, start);
        atomic_store(&log->ep_dirty, changed);
    } else {
        if ((err = rebuild(log)) < 0) {
            log->ep_n = 0;
            return err;
        }
        atomic_store(&log->ep_dirty, true);
        char msg[ST_MAX_PATH + 128];
        snprintf(msg, sizeof(msg),
                 "%s/%s missing or damaged: rebuilt from the batch headers (%" PRId32 " epoch(s))",
                 log->dir, ST_EPOCH_NAME, log->ep_n);
        st__say(log->store, ST_MSG_INFO, msg);
    }
    log->ep_loaded = true;
    (void)st__epoch_persist(log); /* when it changed; else retried at the next sync */
    return 0;
}

int st__epoch_persist(struct st_log *log)
{
    if (!log->ep_loaded || !atomic_load(&log->ep_dirty))
        return 0;
    if (access(log->dir, F_OK) < 0)
        return errno == ENOENT ? 0 : -errno; /* never written: at the first sync after it */
    size_t cap = 32 + (size_t)log->ep_n * 32;
    char *text = malloc(cap);
    if (!text)
        return -ENOMEM;
    size_t len = (size_t)snprintf(text, cap, "0\n%" PRId32 "\n", log->ep_n);
    for (int32_t i = 0; i < log->ep_n; i++)
        len += (size_t)snprintf(text + len, cap - len, "%" PRId32 " %" PRId64 "\n",
                                log->ep[i].epoch, log->ep[i].start);
    char tmp[ST_MAX_PATH + 8], path[ST_MAX_PATH];
    snprintf(path, sizeof(path), "%s/%s", log->dir, ST_EPOCH_NAME);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int err = 0;
    int fd = st__fc_open(log->store->fc, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        err = fd;
    } else {
        err = st__pwrite_full(fd, text, len, 0);
        if (err == 0 && fdatasync(fd) < 0)
            err = -errno;
        close(fd);
    }
    free(text);
    if (err == 0 && rename(tmp, path) < 0)
        err = -errno;
    if (err == 0)
        err = st_fsync_dir(log->dir);
    if (err == 0)
        atomic_store(&log->ep_dirty, false);
    else
        unlink(tmp);
    return err;
}

int32_t st_log_latest_epoch(struct st_log *log)
{
    if (st__log_activate(log) < 0)
        return -1;
    pthread_mutex_lock(&log->mu);
    int32_t e = -1;
    if (st__epoch_load(log) == 0 && log->ep_n > 0)
        e = log->ep[log->ep_n - 1].epoch;
    pthread_mutex_unlock(&log->mu);
    return e;
}

int st_log_epoch_end_offset(struct st_log *log, int32_t epoch, int32_t *out_epoch, int64_t *out_end)
{
    *out_epoch = -1;
    *out_end = -1;
    if (st__log_activate(log) < 0)
        return 0;
    pthread_mutex_lock(&log->mu);
    if (st__epoch_load(log) == 0) {
        /* the largest epoch <= epoch; its end: the next entry's start, or the log end */
        int32_t i = log->ep_n - 1;
        while (i >= 0 && log->ep[i].epoch > epoch)
            i--;
        if (i >= 0) {
            *out_epoch = log->ep[i].epoch;
            *out_end = i + 1 < log->ep_n
                           ? log->ep[i + 1].start
                           : atomic_load_explicit(&log->end_offset, memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&log->mu);
    return 0;
}
