/*
 * sb_verify — record-level checks of an e2e/durable run (see sb.h): what exactly differed when
 * the count or the digest does not match, instead of two digests.
 *
 * One slot per seq and side (delivery report, consumer): partition << 48 | offset, or UNSET.
 * A slot already set is a duplicate; at the end the two sides are compared slot by slot.
 * The first MAX_SHOWN anomalies of each check are kept with their details (one kind of fault,
 * a consumer reading the log again, must not hide another); every one is counted by check.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"

#define UNSET     UINT64_MAX
#define MAX_SHOWN 3

enum check {
    C_LEN,          /* value length is not record_size */
    C_SEQ,          /* seq of no producer of the run */
    C_BYTES,        /* filler differs from the one of its seq */
    C_SENT,         /* delivery report: send time in the value is not the one of its msg_opaque */
    C_ACK_DUP,      /* a second delivery report for a seq */
    C_DUP,          /* a seq consumed twice */
    C_ORDER,        /* consumed offset not above the previous one of its partition */
    C_PART,         /* consumed partition out of range */
    C_MISSING,      /* acknowledged, never consumed */
    C_UNACKED,      /* consumed, never acknowledged */
    C_MOVED,        /* consumed at another partition/offset than its delivery report said */
    C_NOT_PRODUCED, /* neither acknowledged nor consumed (a failed or never-sent record) */
    C_N
};

static const char *const check_name[C_N] = {
    [C_LEN] = "value length",
    [C_SEQ] = "seq of no producer",
    [C_BYTES] = "bytes differ from its seq",
    [C_SENT] = "send time differs from its report's msg_opaque",
    [C_ACK_DUP] = "delivery report twice",
    [C_DUP] = "consumed twice",
    [C_ORDER] = "offset not increasing in its partition",
    [C_PART] = "partition out of range",
    [C_MISSING] = "acknowledged, not consumed",
    [C_UNACKED] = "consumed, never acknowledged",
    [C_MOVED] = "consumed elsewhere than acknowledged",
    [C_NOT_PRODUCED] = "neither acknowledged nor consumed",
};

struct anomaly {
    enum check check;
    bool consumer; /* which side saw it */
    uint64_t seq;
    int32_t partition;
    int64_t offset;
    uint64_t other; /* C_MOVED: the acknowledged position; C_ORDER: the previous offset */
};

struct vprod {
    uint64_t base;
    long long count;
    uint64_t *acked, *consumed; /* count slots each */
};

struct sb_verify {
    int n, n_parts;
    size_t record_size;
    struct vprod *p;
    int64_t *last; /* per partition: the last consumed offset, -1 */
    int hint;      /* the consumer's last producer (seqs of one producer come in runs) */
    pthread_mutex_t mu;
    long long counts[C_N];
    struct anomaly shown[C_N][MAX_SHOWN];
    int n_shown[C_N];
};

struct sb_verify *sb_verify_new(int n, const uint64_t *seq_base, const long long *count,
                                size_t record_size, int n_parts)
{
    struct sb_verify *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    pthread_mutex_init(&v->mu, NULL);
    v->n = n;
    v->n_parts = n_parts > 0 ? n_parts : 1;
    v->record_size = record_size;
    v->p = calloc((size_t)(n > 0 ? n : 1), sizeof(*v->p));
    v->last = malloc((size_t)v->n_parts * sizeof(*v->last));
    if (!v->p || !v->last)
        goto fail;
    for (int i = 0; i < v->n_parts; i++)
        v->last[i] = -1;
    for (int k = 0; k < n; k++) {
        struct vprod *p = &v->p[k];
        p->base = seq_base[k];
        p->count = count[k] > 0 ? count[k] : 0;
        size_t slots = (size_t)(p->count ? p->count : 1);
        p->acked = malloc(slots * sizeof(uint64_t));
        p->consumed = malloc(slots * sizeof(uint64_t));
        if (!p->acked || !p->consumed)
            goto fail;
        memset(p->acked, 0xff, slots * sizeof(uint64_t));
        memset(p->consumed, 0xff, slots * sizeof(uint64_t));
    }
    return v;
fail:
    sb_verify_free(v);
    return NULL;
}

void sb_verify_free(struct sb_verify *v)
{
    if (!v)
        return;
    for (int k = 0; v->p && k < v->n; k++) {
        free(v->p[k].acked);
        free(v->p[k].consumed);
    }
    free(v->p);
    free(v->last);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

static void note(struct sb_verify *v, enum check c, bool consumer, uint64_t seq, int32_t partition,
                 int64_t offset, uint64_t other)
{
    pthread_mutex_lock(&v->mu);
    v->counts[c]++;
    if (v->n_shown[c] < MAX_SHOWN)
        v->shown[c][v->n_shown[c]++] = (struct anomaly){c, consumer, seq, partition, offset, other};
    pthread_mutex_unlock(&v->mu);
}

static uint64_t pos(int32_t partition, int64_t offset)
{
    return (uint64_t)(uint32_t)partition << 48 | ((uint64_t)offset & 0xffffffffffffULL);
}

/* The record's slot index in producer *k, or -1 (anomaly noted). */
static long long check_value(struct sb_verify *v, int *k, bool consumer, const void *value,
                             size_t len, int32_t partition, int64_t offset)
{
    uint64_t seq = sb_value_seq(value, len);
    if (len != v->record_size) {
        note(v, C_LEN, consumer, seq, partition, offset, len);
        return -1;
    }
    int want = *k;
    if (want < 0 || want >= v->n || seq - v->p[want].base >= (uint64_t)v->p[want].count) {
        want = -1;
        for (int i = 0; i < v->n && want < 0; i++)
            if (seq - v->p[i].base < (uint64_t)v->p[i].count)
                want = i;
        if (want < 0 || (*k >= 0 && !consumer)) {
            note(v, C_SEQ, consumer, seq, partition, offset, 0);
            return -1;
        }
        *k = want;
    }
    if (!sb_value_filler_ok(value, len)) {
        note(v, C_BYTES, consumer, seq, partition, offset, 0);
        return -1;
    }
    return (long long)(seq - v->p[want].base);
}

void sb_verify_acked(struct sb_verify *v, int k, const void *value, size_t len, int32_t partition,
                     int64_t offset, uint64_t want_send_ns)
{
    long long i = check_value(v, &k, false, value, len, partition, offset);
    if (i < 0)
        return;
    uint64_t seq = v->p[k].base + (uint64_t)i;
    if (want_send_ns && sb_value_send_ns(value, len) != want_send_ns)
        note(v, C_SENT, false, seq, partition, offset, sb_value_send_ns(value, len));
    uint64_t *slot = &v->p[k].acked[i];
    if (*slot != UNSET)
        note(v, C_ACK_DUP, false, seq, partition, offset, *slot);
    else
        *slot = pos(partition, offset);
}

void sb_verify_consumed(struct sb_verify *v, const void *value, size_t len, int32_t partition,
                        int64_t offset)
{
    uint64_t seq = sb_value_seq(value, len);
    if (partition < 0 || partition >= v->n_parts) {
        note(v, C_PART, true, seq, partition, offset, 0);
    } else {
        if (offset <= v->last[partition])
            note(v, C_ORDER, true, seq, partition, offset, (uint64_t)v->last[partition]);
        v->last[partition] = offset;
    }
    int k = v->hint;
    long long i = check_value(v, &k, true, value, len, partition, offset);
    if (i < 0)
        return;
    v->hint = k;
    uint64_t *slot = &v->p[k].consumed[i];
    if (*slot != UNSET)
        note(v, C_DUP, true, seq, partition, offset, *slot);
    else
        *slot = pos(partition, offset);
}

long long sb_verify_finish(struct sb_verify *v, bool complete, FILE *out, const char *label,
                           char *why, size_t why_len)
{
    for (int k = 0; k < v->n; k++) {
        const struct vprod *p = &v->p[k];
        for (long long i = 0; i < p->count; i++) {
            uint64_t a = p->acked[i], c = p->consumed[i], seq = p->base + (uint64_t)i;
            if (a == UNSET && c == UNSET) {
                if (complete)
                    note(v, C_NOT_PRODUCED, false, seq, -1, -1, 0);
            } else if (c == UNSET) {
                note(v, C_MISSING, false, seq, (int32_t)(a >> 48), (int64_t)(a & 0xffffffffffffULL),
                     0);
            } else if (a == UNSET) {
                note(v, C_UNACKED, true, seq, (int32_t)(c >> 48), (int64_t)(c & 0xffffffffffffULL),
                     0);
            } else if (a != c && (int64_t)(a & 0xffffffffffffULL) != 0xffffffffffffLL) {
                /* (an acks=0 report has offset -1: nothing to compare) */
                note(v, C_MOVED, true, seq, (int32_t)(c >> 48), (int64_t)(c & 0xffffffffffffULL),
                     a);
            }
        }
    }
    long long total = 0;
    for (int c = 0; c < C_N; c++)
        total += v->counts[c];
    if (!total)
        return 0;
    /* Not-produced records only matter with other anomalies (a failed run says why itself). */
    if (total == v->counts[C_NOT_PRODUCED])
        return 0;
    int w = 0;
    for (int c = 0; c < C_N; c++)
        if (v->counts[c]) {
            int m = snprintf(why + w, w < (int)why_len ? why_len - (size_t)w : 0, "%s%lld %s",
                             w ? ", " : "", v->counts[c], check_name[c]);
            if (m > 0)
                w += m;
        }
    for (int s = 0; s < C_N * MAX_SHOWN; s++) {
        if (s % MAX_SHOWN >= v->n_shown[s / MAX_SHOWN])
            continue;
        const struct anomaly *a = &v->shown[s / MAX_SHOWN][s % MAX_SHOWN];
        fprintf(out, "%s: %s: seq %016llx (producer seq +%llu) partition %d offset %lld: %s", label,
                a->consumer ? "consumer" : "delivery report", (unsigned long long)a->seq,
                (unsigned long long)(a->seq & 0xffffffffffULL), a->partition, (long long)a->offset,
                check_name[a->check]);
        if (a->check == C_MOVED || a->check == C_ACK_DUP || a->check == C_DUP)
            fprintf(out, " (%s at partition %d offset %lld)",
                    a->check == C_MOVED ? "acknowledged" : "first", (int)(a->other >> 48),
                    (long long)(a->other & 0xffffffffffffULL));
        else if (a->check == C_ORDER)
            fprintf(out, " (previous %lld)", (long long)a->other);
        else if (a->check == C_LEN)
            fprintf(out, " (%llu bytes)", (unsigned long long)a->other);
        else if (a->check == C_SENT)
            fprintf(out, " (value says %llu)", (unsigned long long)a->other);
        fputc('\n', out);
    }
    return total;
}
