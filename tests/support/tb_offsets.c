/*
 * tb_offsets — see tb_offsets.h.
 */
#include "tb_offsets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum {
    API_OFFSET_COMMIT = 8,
    API_OFFSET_FETCH = 9,
};

/* Number of topics (runs of equal topic names) in parts[0..n). */
static int topic_runs(const struct tb_ofs_part *parts, int n)
{
    int runs = 0;
    for (int i = 0; i < n; i++)
        if (i == 0 || strcmp(parts[i].topic, parts[i - 1].topic) != 0)
            runs++;
    return runs;
}

/* Length of the run starting at i. */
static int run_len(const struct tb_ofs_part *parts, int n, int i)
{
    int j = i + 1;
    while (j < n && strcmp(parts[j].topic, parts[i].topic) == 0)
        j++;
    return j - i;
}

void tb_enc_offset_commit(struct tb_req *r, int16_t version, const char *group, int32_t generation,
                          const char *member, const struct tb_ofs_part *parts, int n)
{
    struct kp_wr *w = &r->wr;
    kp_wr_str(w, kp_str_of(group));
    if (version >= 1) {
        kp_wr_i32(w, generation);
        kp_wr_str(w, kp_str_of(member));
    }
    if (version >= 2 && version <= 4)
        kp_wr_i64(w, -1); /* retention_time_ms: the broker's */
    kp_wr_i32(w, topic_runs(parts, n));
    for (int i = 0; i < n;) {
        int len = run_len(parts, n, i);
        kp_wr_str(w, kp_str_of(parts[i].topic));
        kp_wr_i32(w, len);
        for (int j = i; j < i + len; j++) {
            kp_wr_i32(w, parts[j].partition);
            kp_wr_i64(w, parts[j].offset);
            if (version == 1)
                kp_wr_i64(w, -1); /* commit timestamp: now (what sarama sends) */
            kp_wr_nstr(w, kp_str_of(parts[j].metadata));
        }
        i += len;
    }
}

void tb_enc_offset_fetch(struct tb_req *r, int16_t version, const char *group,
                         const struct tb_ofs_part *parts, int n)
{
    struct kp_wr *w = &r->wr;
    (void)version;
    kp_wr_str(w, kp_str_of(group));
    if (n < 0) {
        kp_wr_i32(w, -1);
        return;
    }
    kp_wr_i32(w, topic_runs(parts, n));
    for (int i = 0; i < n;) {
        int len = run_len(parts, n, i);
        kp_wr_str(w, kp_str_of(parts[i].topic));
        kp_wr_i32(w, len);
        for (int j = i; j < i + len; j++)
            kp_wr_i32(w, parts[j].partition);
        i += len;
    }
}

static void copy_name(char *dst, size_t cap, struct kp_str s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

int tb_dec_offset_commit(const struct tb_frame *f, int16_t version, struct tb_ofs_resp *out)
{
    struct kp_rd rd;
    kp_rd_init(&rd, f->data, f->len);
    memset(out, 0, sizeof(*out));
    (void)kp_rd_i32(&rd); /* correlation id */
    if (version >= 3)
        out->throttle_ms = kp_rd_i32(&rd);
    int32_t nt = kp_rd_i32(&rd);
    if (!kp_rd_ok(&rd) || nt < 0 || nt > TB_OFS_MAX)
        return -EBADMSG;
    for (int32_t t = 0; t < nt; t++) {
        struct kp_str name = kp_rd_str(&rd);
        int32_t np = kp_rd_i32(&rd);
        if (!kp_rd_ok(&rd) || np < 0 || out->n + np > TB_OFS_MAX)
            return -EBADMSG;
        for (int32_t p = 0; p < np; p++) {
            struct tb_ofs_result *x = &out->p[out->n++];
            copy_name(x->topic, sizeof(x->topic), name);
            x->partition = kp_rd_i32(&rd);
            x->error = kp_rd_i16(&rd);
            x->offset = -1;
            x->meta_len = -1;
        }
    }
    return kp_rd_ok(&rd) && kp_rd_left(&rd) == 0 ? 0 : -EBADMSG;
}

int tb_dec_offset_fetch(const struct tb_frame *f, int16_t version, struct tb_ofs_resp *out)
{
    struct kp_rd rd;
    kp_rd_init(&rd, f->data, f->len);
    memset(out, 0, sizeof(*out));
    (void)kp_rd_i32(&rd); /* correlation id */
    if (version >= 3)
        out->throttle_ms = kp_rd_i32(&rd);
    int32_t nt = kp_rd_i32(&rd);
    if (!kp_rd_ok(&rd) || nt < 0 || nt > TB_OFS_MAX)
        return -EBADMSG;
    for (int32_t t = 0; t < nt; t++) {
        struct kp_str name = kp_rd_str(&rd);
        int32_t np = kp_rd_i32(&rd);
        if (!kp_rd_ok(&rd) || np < 0 || out->n + np > TB_OFS_MAX)
            return -EBADMSG;
        for (int32_t p = 0; p < np; p++) {
            struct tb_ofs_result *x = &out->p[out->n++];
            copy_name(x->topic, sizeof(x->topic), name);
            x->partition = kp_rd_i32(&rd);
            x->offset = kp_rd_i64(&rd);
            struct kp_str m = kp_rd_nstr(&rd);
            x->meta_len = m.len;
            copy_name(x->metadata, sizeof(x->metadata), m);
            x->error = kp_rd_i16(&rd);
        }
    }
    if (version >= 2)
        out->error = kp_rd_i16(&rd); /* the top-level error comes last */
    return kp_rd_ok(&rd) && kp_rd_left(&rd) == 0 ? 0 : -EBADMSG;
}

static int32_t ofs_corr(void)
{
    static int32_t corr = 0x4f000000; /* apart from tb_kafka's ids */
    return __atomic_fetch_add(&corr, 1, __ATOMIC_RELAXED);
}

static size_t req_cap(const char *group, const char *member, const struct tb_ofs_part *parts, int n)
{
    size_t cap = 256 + strlen(group) + (member ? strlen(member) : 0);
    for (int i = 0; i < n; i++)
        cap += 32 + strlen(parts[i].topic) + (parts[i].metadata ? strlen(parts[i].metadata) : 0);
    return cap;
}

int tb_offset_commit(int fd, int16_t version, const char *group, int32_t generation,
                     const char *member, const struct tb_ofs_part *parts, int n,
                     struct tb_ofs_resp *out)
{
    struct tb_req r;
    int32_t corr = ofs_corr();
    if (tb_req_begin(&r, req_cap(group, member, parts, n), API_OFFSET_COMMIT, version, corr))
        return -ENOMEM;
    tb_enc_offset_commit(&r, version, group, generation, member, parts, n);
    struct tb_frame f;
    int rc = tb_call(fd, &r, corr, &f);
    tb_req_free(&r);
    if (rc)
        return rc;
    rc = tb_dec_offset_commit(&f, version, out);
    tb_frame_free(&f);
    return rc;
}

int tb_offset_fetch(int fd, int16_t version, const char *group, const struct tb_ofs_part *parts,
                    int n, struct tb_ofs_resp *out)
{
    struct tb_req r;
    int32_t corr = ofs_corr();
    if (tb_req_begin(&r, req_cap(group, NULL, parts, n > 0 ? n : 0), API_OFFSET_FETCH, version,
                     corr))
        return -ENOMEM;
    tb_enc_offset_fetch(&r, version, group, parts, n);
    struct tb_frame f;
    int rc = tb_call(fd, &r, corr, &f);
    tb_req_free(&r);
    if (rc)
        return rc;
    rc = tb_dec_offset_fetch(&f, version, out);
    tb_frame_free(&f);
    return rc;
}

const struct tb_ofs_result *tb_ofs_find(const struct tb_ofs_resp *out, const char *topic,
                                        int32_t partition)
{
    for (int i = 0; i < out->n; i++)
        if (out->p[i].partition == partition && strcmp(out->p[i].topic, topic) == 0)
            return &out->p[i];
    return NULL;
}
