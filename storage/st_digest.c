/*
 * st_digest — integrity digests: the running digest of a segment being appended to and the
 * sidecar of a sealed one. The .digest layout is in st_segment.c; the scrubber that checks
 * them is st_scrub.c.
 *
 * The batch CRC leaves baseOffset, batchLength, partitionLeaderEpoch and magic uncovered, and
 * nothing re-reads a sealed segment until a consumer fetches it. A segment therefore gets
 * XXH3-64 digests over fixed 1 MiB chunks of its bytes. They are computed while the segment
 * is appended to (st_rundigest: each byte is hashed once, as it is written, so a roll never
 * re-reads a 1 GiB segment); the flusher records the digest of the incomplete last chunk at
 * each sync (st_mark) so that the scrubber can check the active segment up to its last synced
 * byte, and writes the sidecar right after a sealed segment is synced; a segment recovered
 * at open is read back instead.
 */
#include "st_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_buf.h"

struct st_rundigest *st__rundigest_new(uint32_t cap_chunks)
{
    struct st_rundigest *rd = calloc(1, sizeof(*rd));
    if (!rd)
        return NULL;
    /* a few chunks first, doubled as the segment grows: a partition written a little (most,
     * when there are 100,000) keeps 32 bytes of digests, not log.segment.bytes / 1 MiB * 8 */
    rd->cap = cap_chunks > 0 && cap_chunks < 4 ? cap_chunks : 4;
    rd->d = malloc((size_t)rd->cap * sizeof(rd->d[0]));
    rd->state = XXH3_createState();
    if (!rd->d || !rd->state) {
        st__rundigest_free(rd);
        return NULL;
    }
    XXH3_64bits_reset(rd->state);
    return rd;
}

void st__rundigest_free(struct st_rundigest *rd)
{
    if (rd) {
        if (rd->state)
            XXH3_freeState(rd->state);
        free(rd->d);
        free(rd);
    }
}

static void rundigest_push(struct st_rundigest *rd)
{
    if (rd->n == rd->cap) {
        /* every doubling of the segment (ten times up to 1 GiB), or past log.segment.bytes */
        uint64_t *nd = realloc(rd->d, (size_t)rd->cap * 2 * sizeof(rd->d[0]));
        if (!nd) {
            rd->failed = true;
            return;
        }
        rd->d = nd;
        rd->cap *= 2;
    }
    rd->d[rd->n++] = XXH3_64bits_digest(rd->state);
}

void st__rundigest_feed(struct st_rundigest *rd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0 && !rd->failed) {
        size_t room = ST_DIGEST_CHUNK - (size_t)(rd->pos % ST_DIGEST_CHUNK);
        size_t k = n < room ? n : room;
        XXH3_64bits_update(rd->state, b, k);
        rd->pos += (int64_t)k;
        b += k;
        n -= k;
        if (rd->pos % ST_DIGEST_CHUNK == 0) {
            rundigest_push(rd);
            XXH3_64bits_reset(rd->state);
        }
    }
}

void st__rundigest_finish(struct st_rundigest *rd)
{
    if (!rd->failed && rd->pos % ST_DIGEST_CHUNK != 0)
        rundigest_push(rd);
    rd->complete = !rd->failed;
}

int st__digest_write(struct st_seg *s)
{
    int64_t size = atomic_load(&s->size);
    uint64_t nchunks = (uint64_t)(size + ST_DIGEST_CHUNK - 1) / ST_DIGEST_CHUNK;
    size_t sidecar = ST_DIGEST_HDR + (size_t)nchunks * 8 + 8;
    /* digests computed while appending when this process wrote the whole segment,
     * otherwise (a segment recovered at open) the bytes are read back */
    const struct st_rundigest *rd = s->rd;
    bool running = rd && rd->complete && rd->pos == size && rd->n == nchunks;
    uint8_t *out = malloc(sidecar);
    uint8_t *buf = running ? NULL : malloc(ST_DIGEST_CHUNK);
    int err = 0;
    if (!out || (!running && !buf)) {
        err = -ENOMEM;
        goto done;
    }
    memset(out, 0, ST_DIGEST_HDR);
    memcpy(out, ST_DIGEST_MAGIC, 4);
    kp_store_be32(out + 4, 1);
    kp_store_be32(out + 8, ST_DIGEST_CHUNK);
    kp_store_be64(out + 16, (uint64_t)size);
    kp_store_be64(out + 24, nchunks);
    for (uint64_t i = 0; i < nchunks; i++) {
        int64_t pos = (int64_t)i * ST_DIGEST_CHUNK;
        size_t n = (size_t)(size - pos < ST_DIGEST_CHUNK ? size - pos : ST_DIGEST_CHUNK);
        uint64_t d;
        if (running) {
            d = rd->d[i];
        } else {
            if ((err = st__seg_read(s, buf, n, pos)) < 0)
                goto done;
            d = XXH3_64bits(buf, n);
        }
        kp_store_be64(out + ST_DIGEST_HDR + i * 8, d);
    }
    kp_store_be64(out + sidecar - 8, XXH3_64bits(out, sidecar - 8));

    char tmp[ST_MAX_PATH], path[ST_MAX_PATH];
    st__seg_sibling(s, tmp, sizeof(tmp), ".digest.tmp");
    st__seg_sibling(s, path, sizeof(path), ".digest");
    int fd = st__fc_open(s->fc, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        err = fd;
        goto done;
    }
    ssize_t w = pwrite(fd, out, sidecar, 0);
    if (w != (ssize_t)sidecar)
        err = w < 0 ? -errno : -EIO;
    else if (fsync(fd) < 0)
        err = -errno;
    close(fd);
    if (err == 0 && rename(tmp, path) < 0)
        err = -errno;
    if (err < 0)
        unlink(tmp);
done:
    free(out);
    free(buf);
    return err;
}

uint8_t *st__digest_load(struct st_seg *s, int64_t size, uint64_t *nchunks)
{
    char path[ST_MAX_PATH];
    st__seg_sibling(s, path, sizeof(path), ".digest");
    int fd = st__fc_open(s->fc, path, O_RDONLY, 0);
    if (fd < 0)
        return NULL;
    uint8_t hdr[ST_DIGEST_HDR];
    uint8_t *all = NULL;
    if (st__pread_full(fd, hdr, sizeof(hdr), 0) < 0 || memcmp(hdr, ST_DIGEST_MAGIC, 4) != 0 ||
        kp_load_be32(hdr + 4) != 1 || kp_load_be32(hdr + 8) != ST_DIGEST_CHUNK ||
        (int64_t)kp_load_be64(hdr + 16) != size)
        goto fail;
    uint64_t n = kp_load_be64(hdr + 24);
    if (n != (uint64_t)(size + ST_DIGEST_CHUNK - 1) / ST_DIGEST_CHUNK)
        goto fail;
    size_t total = ST_DIGEST_HDR + (size_t)n * 8 + 8;
    all = malloc(total);
    if (!all || st__pread_full(fd, all, total, 0) < 0 ||
        kp_load_be64(all + total - 8) != XXH3_64bits(all, total - 8))
        goto fail;
    close(fd);
    *nchunks = n;
    return all;
fail:
    free(all);
    close(fd);
    return NULL;
}
