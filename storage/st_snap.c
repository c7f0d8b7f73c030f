/*
 * st_snap — small files replaced whole (st_snap.h).
 *
 * ON-DISK FORMAT (every integer big-endian)
 *
 *   header (SNAP_HDR = 16 bytes):
 *      0  4  magic: the owner's 4 bytes ("SLCR" credentials, "SLAC" ACLs, "SLQU" quotas)
 *      4  4  version: the owner's format version, 1..its maximum
 *      8  4  N, the number of records that follow
 *     12  4  CRC-32C of bytes [0, 12)
 *   then N records, back to back (SNAP_REC_OVERHEAD = 8 bytes around a body of B bytes):
 *      0  4  B, 1 <= B <= ST_SNAP_BODY_MAX
 *      4  B  body (the owner's)
 *    4+B  4  CRC-32C of bytes [0, 4+B) (the length and the body)
 *   and nothing after the N-th record.
 *
 * VALID FILE: the header's magic and CRC match, its version is one the owner reads, every
 *   record's length is in bounds and ends inside the file, every CRC matches, and the N-th
 *   record ends exactly at the end of the file. Anything else refuses the whole file (there is
 *   no torn tail to cut: see the write order).
 *
 * WRITE AND SYNC ORDER (st_snap_commit)
 *   1. the whole file -> <name>.tmp (created with the caller's mode, truncated if a crash left
 *      one), one pwrite loop;
 *   2. fdatasync(<name>.tmp), close;
 *   3. rename(<name>.tmp, <name>): atomic, so <name> is the old complete file or the new one;
 *   4. fsync(<dir>), so the rename survives a power loss.
 *   A failure in 1-3 unlinks the temp file and leaves <name> as it was. A crash in 1-2 leaves a
 *   partial or complete <name>.tmp that nothing reads; st_snap_read() removes it. A crash
 *   between 3 and 4 leaves either name pointing at a complete file.
 */
#include "st_snap.h"
#include "st.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_buf.h"
#include "kp_crc32c.h"

enum {
    SNAP_HDR = 16,
    SNAP_REC_OVERHEAD = 8,
    SNAP_PATH_MAX = 4096,
};

/* Whole-buffer pread/pwrite (EINTR retried; a short read is -EIO). Kept here rather than
 * taken from st_segment.c so that tools using st_snap link no segment code. */
static int pread_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    off_t pos = 0;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, pos);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -EIO;
        p += r, n -= (size_t)r, pos += r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w, n -= (size_t)w;
    }
    return 0;
}

static int grow(struct st_snap_w *w, size_t need)
{
    if (w->cap - w->len >= need)
        return 0;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap - w->len < need) {
        if (cap > SIZE_MAX / 2)
            return -ENOMEM;
        cap *= 2;
    }
    uint8_t *b = realloc(w->buf, cap);
    if (!b)
        return -ENOMEM;
    w->buf = b;
    w->cap = cap;
    return 0;
}

void st_snap_begin(struct st_snap_w *w, const char magic[4], uint32_t version)
{
    memset(w, 0, sizeof *w);
    w->err = grow(w, SNAP_HDR);
    if (w->err)
        return;
    memset(w->buf, 0, SNAP_HDR);
    memcpy(w->buf, magic, 4);
    kp_store_be32(w->buf + 4, version);
    w->len = SNAP_HDR;
}

uint8_t *st_snap_reserve(struct st_snap_w *w, size_t len)
{
    if (w->err)
        return NULL;
    if (len == 0 || len > ST_SNAP_BODY_MAX || w->count == UINT32_MAX) {
        w->err = -EINVAL;
        return NULL;
    }
    int rc = grow(w, len + SNAP_REC_OVERHEAD);
    if (rc) {
        w->err = rc;
        return NULL;
    }
    uint8_t *r = w->buf + w->len;
    kp_store_be32(r, (uint32_t)len);
    w->len += len + SNAP_REC_OVERHEAD;
    w->count++;
    return r + 4;
}

void st_snap_add(struct st_snap_w *w, const void *body, size_t len)
{
    uint8_t *p = st_snap_reserve(w, len);
    if (p)
        memcpy(p, body, len);
}

void st_snap_abort(struct st_snap_w *w)
{
    if (w->buf)
        explicit_bzero(w->buf, w->cap); /* credentials pass through here */
    free(w->buf);
    memset(w, 0, sizeof *w);
}

/* Fills in the header's count and CRC and every record's CRC. */
static void seal(struct st_snap_w *w)
{
    kp_store_be32(w->buf + 8, w->count);
    kp_store_be32(w->buf + 12, kp_crc32c(0, w->buf, 12));
    for (size_t at = SNAP_HDR; at < w->len;) {
        uint32_t b = kp_load_be32(w->buf + at);
        kp_store_be32(w->buf + at + 4 + b, kp_crc32c(0, w->buf + at, 4 + b));
        at += 4 + b + 4;
    }
}

int st_snap_commit(struct st_snap_w *w, const char *dir, const char *name, unsigned mode)
{
    int rc = w->err;
    if (!rc && !w->buf)
        rc = -EINVAL;
    char path[SNAP_PATH_MAX], tmp[SNAP_PATH_MAX];
    if (!rc && (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
                snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= (int)sizeof tmp))
        rc = -ENAMETOOLONG;
    if (rc) {
        st_snap_abort(w);
        return rc;
    }
    seal(w);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) {
        rc = -errno;
        st_snap_abort(w);
        return rc;
    }
    rc = write_full(fd, w->buf, w->len);
    if (!rc && fdatasync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) != 0)
        rc = -errno;
    st_snap_abort(w);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    return st_fsync_dir(dir) ? -EIO : 0;
}

/* ---- reading ----------------------------------------------------------------------------- */

static int refuse(st_log_fn log_fn, void *log_arg, const char *path, size_t at, const char *why)
{
    if (log_fn) {
        char msg[SNAP_PATH_MAX + 200];
        snprintf(msg, sizeof msg,
                 "%s: refused at byte %zu: %s (restore the file, or remove it "
                 "to start empty)",
                 path, at, why);
        log_fn(log_arg, msg);
    }
    return -EBADMSG;
}

int st_snap_read(const char *dir, const char *name, const char magic[4], uint32_t max_version,
                 size_t max_bytes, uint32_t *version,
                 int (*each)(void *arg, const uint8_t *body, size_t len), void *arg,
                 st_log_fn log_fn, void *log_arg)
{
    char path[SNAP_PATH_MAX], tmp[SNAP_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    if (unlink(tmp) != 0 && errno != ENOENT)
        return -errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return -EFBIG;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *b = malloc(size ? size : 1);
    if (!b) {
        close(fd);
        return -ENOMEM;
    }
    int rc = pread_full(fd, b, size);
    close(fd);
    if (rc) {
        free(b);
        return rc == -EIO ? -EBADMSG : rc; /* -EIO: the file shrank under us */
    }

    rc = 0;
    if (size < SNAP_HDR || memcmp(b, magic, 4) != 0)
        rc = refuse(log_fn, log_arg, path, 0, "not this kind of file (magic)");
    else if (kp_load_be32(b + 12) != kp_crc32c(0, b, 12))
        rc = refuse(log_fn, log_arg, path, 12, "header CRC mismatch");
    uint32_t ver = rc ? 0 : kp_load_be32(b + 4), n = rc ? 0 : kp_load_be32(b + 8);
    if (!rc && (ver == 0 || ver > max_version))
        rc = refuse(log_fn, log_arg, path, 4, "format version not known to this build");
    size_t at = SNAP_HDR;
    for (uint32_t i = 0; !rc && i < n; i++) {
        if (size - at < SNAP_REC_OVERHEAD) {
            rc = refuse(log_fn, log_arg, path, at, "file ends before its last record");
            break;
        }
        uint32_t len = kp_load_be32(b + at);
        if (len == 0 || len > ST_SNAP_BODY_MAX || len > size - at - SNAP_REC_OVERHEAD) {
            rc = refuse(log_fn, log_arg, path, at, "record length out of bounds");
            break;
        }
        if (kp_load_be32(b + at + 4 + len) != kp_crc32c(0, b + at, 4 + len)) {
            rc = refuse(log_fn, log_arg, path, at, "record CRC mismatch");
            break;
        }
        at += SNAP_REC_OVERHEAD + len;
    }
    if (!rc && at != size)
        rc = refuse(log_fn, log_arg, path, at, "bytes after the last record");
    if (!rc) {
        *version = ver;
        for (at = SNAP_HDR; !rc && at < size;) {
            uint32_t len = kp_load_be32(b + at);
            rc = each(arg, b + at + 4, len);
            at += SNAP_REC_OVERHEAD + len;
        }
    }
    free(b);
    return rc;
}
