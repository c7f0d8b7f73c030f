/*
 * st_stats — what a log holds, for metrics and admin answers (st.h: st_log_stats): read from
 * the published segment list inside a grace period, without the writer's lock, so asking
 * never delays an append.
 */
#include "st_int.h"

void st_log_stats(struct st_log *log, struct st_log_stats *out)
{
    *out = (struct st_log_stats){0};
    if (!st__log_open(log)) {
        /* dormant: as its clean close recorded it (st_segment.c, CLEAN-SHUTDOWN RECORD) */
        const struct st_clean *c = &log->rec;
        *out = (struct st_log_stats){.start_offset = st_log_start_offset(log),
                                     .end_offset = st_log_end_offset(log),
                                     .durable_offset = st_log_durable_offset(log),
                                     .bytes = c->bytes,
                                     .segments = c->segments,
                                     .fenced_ranges = c->fenced_ranges,
                                     .fenced_bytes = c->fenced_bytes};
        return;
    }
    uint64_t e = st__grace_enter(&log->grace);
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_acquire);
    out->segments = v->n;
    for (int i = 0; i < v->n; i++) {
        const struct st_seg *s = v->s[i];
        out->bytes += atomic_load_explicit(&((struct st_seg *)s)->size, memory_order_acquire);
        const struct st_fenceset *fs = st__fences(s);
        for (uint32_t j = 0; fs && j < fs->n; j++) {
            out->fenced_ranges++;
            out->fenced_bytes += fs->f[j].pos_hi - fs->f[j].pos_lo;
        }
    }
    st__grace_exit(&log->grace, e);
    out->start_offset = st_log_start_offset(log);
    out->end_offset = st_log_end_offset(log);
    out->durable_offset = st_log_durable_offset(log);
}
