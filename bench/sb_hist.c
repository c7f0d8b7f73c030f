/*
 * sb_hist — a log-bucketed latency histogram in fixed memory (HdrHistogram's layout, reduced
 * to what the bench needs). Layout: index i < 2^S (S = SB_HIST_SUB_BITS) holds the value i
 * exactly. A value v >= 2^S with highest set bit h has shift = h - S + 1, and top = v >> shift
 * is in [2^(S-1), 2^S); it lands in index 2^S + (shift - 1) * 2^(S-1) + (top - 2^(S-1)). So each
 * power-of-two range [2^h, 2^(h+1)) is split into 2^(S-1) equal buckets of width 2^shift: a
 * bucket's width is below 1/64 of its lower bound (S = 7). 2240 buckets cover 2^40 ns.
 */
#include <string.h>

#include "sb.h"

#define SUB  (1ULL << SB_HIST_SUB_BITS)
#define HALF (SUB / 2)

void sb_hist_init(struct sb_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

size_t sb_hist_index(uint64_t v)
{
    if (v > SB_HIST_MAX_NS)
        v = SB_HIST_MAX_NS;
    if (v < SUB)
        return (size_t)v;
    unsigned hbit = 63u - (unsigned)__builtin_clzll(v); /* >= SB_HIST_SUB_BITS */
    unsigned shift = hbit - SB_HIST_SUB_BITS + 1;       /* >= 1 */
    uint64_t top = v >> shift;                          /* in [HALF, SUB) */
    return (size_t)(SUB + (uint64_t)(shift - 1) * HALF + (top - HALF));
}

uint64_t sb_hist_bucket_high(size_t idx)
{
    if (idx < SUB)
        return idx;
    uint64_t k = idx - SUB;
    unsigned shift = (unsigned)(k / HALF) + 1;
    uint64_t top = HALF + k % HALF;
    return ((top + 1) << shift) - 1;
}

void sb_hist_add(struct sb_hist *h, uint64_t ns)
{
    size_t i = sb_hist_index(ns);
    if (i >= SB_HIST_BUCKETS)
        i = SB_HIST_BUCKETS - 1;
    h->bucket[i]++;
    h->count++;
    h->sum += (double)ns;
    if (ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
}

uint64_t sb_hist_percentile(const struct sb_hist *h, double p)
{
    if (!h->count)
        return 0;
    if (p >= 100)
        return h->max;
    double want = p / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < SB_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t v = sb_hist_bucket_high(i);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}

void sb_hist_merge(struct sb_hist *h, const struct sb_hist *src)
{
    if (!src->count)
        return;
    for (size_t i = 0; i < SB_HIST_BUCKETS; i++)
        h->bucket[i] += src->bucket[i];
    h->count += src->count;
    h->sum += src->sum;
    if (src->min < h->min)
        h->min = src->min;
    if (src->max > h->max)
        h->max = src->max;
}
