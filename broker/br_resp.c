/*
 * br_resp — building a response frame: bytes written through a kp_wr into a per-slot buffer
 * that is reused across requests, interleaved with file ranges (fetch). See br_resp.h.
 *
 * Frame layout: int32 size (of everything after it, file ranges included), int32
 * correlation id, [tag buffer when the header is flexible], body.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_resp.h"
#include "kp_msg.h"

int br_resp_reserve(struct br_resp *r, size_t cap)
{
    if (cap <= r->cap)
        return 0;
    size_t ncap = r->cap ? r->cap : 512;
    while (ncap < cap)
        ncap *= 2;
    uint8_t *nb = realloc(r->buf, ncap);
    if (!nb)
        return -ENOMEM;
    r->buf = nb;
    r->cap = ncap;
    return 0;
}

void br_resp_begin(struct br_resp *r)
{
    kp_wr_init(&r->wr, r->buf, r->cap);
    kp_wr_i32(&r->wr, 0); /* size, written by br_resp_finish */
    kp_resp_hdr_encode(&r->wr, r->api_key, r->api_version, r->corr);
    r->mem_start = 0;
    r->file_total = 0;
    r->npieces = 0;
}

static int add_piece(struct br_resp *r, uint8_t kind, int fd, uint64_t off, size_t len)
{
    if (len == 0)
        return 0;
    if (r->npieces == r->cap_pieces) {
        int ncap = r->cap_pieces ? r->cap_pieces * 2 : 8;
        struct br_piece *np = realloc(r->pieces, sizeof(*np) * (size_t)ncap);
        if (!np)
            return -ENOMEM;
        r->pieces = np;
        r->cap_pieces = ncap;
    }
    r->pieces[r->npieces++] = (struct br_piece){.kind = kind, .fd = fd, .off = off, .len = len};
    return 0;
}

int br_resp_add_read(struct br_resp *r, struct st_read *rd)
{
    if (rd->n == 0) {
        st_read_release(rd);
        return 0;
    }
    if (r->nreads == r->cap_reads) {
        int ncap = r->cap_reads ? r->cap_reads * 2 : 4;
        struct st_read *nr = realloc(r->reads, sizeof(*nr) * (size_t)ncap);
        if (!nr) {
            st_read_release(rd);
            return -ENOMEM;
        }
        r->reads = nr;
        r->cap_reads = ncap;
    }
    size_t len = kp_wr_len(&r->wr);
    int rc = add_piece(r, BR_PIECE_MEM, -1, r->mem_start, len - r->mem_start);
    for (int i = 0; rc == 0 && i < rd->n; i++) {
        rc = add_piece(r, BR_PIECE_FILE, rd->r[i].fd, (uint64_t)rd->r[i].pos, rd->r[i].len);
        if (rc == 0)
            r->file_total += rd->r[i].len;
    }
    r->reads[r->nreads++] = *rd; /* the references now belong to the response */
    r->mem_start = len;
    return rc;
}

int br_resp_finish(struct br_resp *r)
{
    if (!kp_wr_ok(&r->wr))
        return -ENOSPC;
    size_t len = kp_wr_len(&r->wr);
    int rc = add_piece(r, BR_PIECE_MEM, -1, r->mem_start, len - r->mem_start);
    if (rc)
        return rc;
    r->mem_start = len;
    r->total = len + r->file_total;
    if (r->total - 4 > INT32_MAX)
        return -EOVERFLOW;
    kp_store_be32(r->buf, (uint32_t)(r->total - 4));
    return 0;
}

void br_resp_reset(struct br_resp *r)
{
    for (int i = 0; i < r->nreads; i++)
        st_read_release(&r->reads[i]);
    r->nreads = 0;
    for (int i = 0; i < r->ndwaits; i++)
        st_log_put(r->dwaits[i].log);
    r->ndwaits = 0;
    r->npieces = 0;
    r->mem_start = 0;
    r->file_total = 0;
    r->total = 0;
    kp_wr_init(&r->wr, r->buf, r->cap);
}

int br_resp_scratch(struct br_resp *r, size_t cap)
{
    if (cap <= r->scratch_cap)
        return 0;
    void *ns = realloc(r->scratch, cap);
    if (!ns)
        return -ENOMEM;
    r->scratch = ns;
    r->scratch_cap = cap;
    return 0;
}

int br_resp_add_dwait(struct br_resp *r, struct st_log *log, int64_t need)
{
    if (r->ndwaits == r->cap_dwaits) {
        int ncap = r->cap_dwaits ? r->cap_dwaits * 2 : 4;
        struct br_durable_wait *nd = realloc(r->dwaits, sizeof(*nd) * (size_t)ncap);
        if (!nd)
            return -ENOMEM;
        r->dwaits = nd;
        r->cap_dwaits = ncap;
    }
    r->dwaits[r->ndwaits++] = (struct br_durable_wait){.log = log, .need = need};
    return 0;
}

int br_resp_add_hwait(struct br_resp *r, struct st_log *log, int64_t need, int32_t slot,
                      int32_t min_isr)
{
    int rc = br_resp_add_dwait(r, log, need);
    if (rc == 0) {
        struct br_durable_wait *d = &r->dwaits[r->ndwaits - 1];
        d->hw = true;
        d->slot = slot;
        d->min_isr = min_isr;
    }
    return rc;
}

void br_resp_free(struct br_resp *r)
{
    if (!r)
        return;
    br_resp_reset(r);
    free(r->buf);
    free(r->pieces);
    free(r->reads);
    free(r->dwaits);
    free(r->scratch);
    free(r);
}
