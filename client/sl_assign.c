/*
 * sl_assign.c — range, roundrobin and cooperative-sticky assignors (sl_assign.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sl_assign.h"

void sl__assign_free(struct sl__amember *m, int n)
{
    for (int i = 0; i < n; i++) {
        free(m[i].asg);
        m[i].asg = NULL;
        m[i].n_asg = 0;
    }
}

static int push(struct sl__amember *m, const char *topic, int32_t partition)
{
    if ((m->n_asg & (m->n_asg - 1)) == 0) { /* 0, 1, 2, 4, ...: grow to the next power */
        int cap = m->n_asg ? m->n_asg * 2 : 4;
        struct sl__atp *p = realloc(m->asg, (size_t)cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        m->asg = p;
    }
    m->asg[m->n_asg++] = (struct sl__atp){topic, partition};
    return 0;
}

static bool subscribes(const struct sl__amember *m, const char *topic)
{
    for (int i = 0; i < m->n_topics; i++)
        if (strcmp(m->topics[i], topic) == 0)
            return true;
    return false;
}

/* Index orders: members by id, topics by name (qsort_r over indexes into the caller's arrays:
 * handles on other threads may sort at the same time). */
static int by_id(const void *a, const void *b, void *ctx)
{
    const struct sl__amember *m = ctx;
    return strcmp(m[*(const int *)a].id, m[*(const int *)b].id);
}
static int by_name(const void *a, const void *b, void *ctx)
{
    const struct sl__atopic *t = ctx;
    return strcmp(t[*(const int *)a].name, t[*(const int *)b].name);
}

struct order {
    int *m; /* member indexes by id */
    int *t; /* topic indexes by name */
};

static int order_new(struct order *o, const struct sl__amember *m, int n,
                     const struct sl__atopic *t, int nt)
{
    o->m = malloc((size_t)(n ? n : 1) * sizeof(int));
    o->t = malloc((size_t)(nt ? nt : 1) * sizeof(int));
    if (!o->m || !o->t) {
        free(o->m);
        free(o->t);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++)
        o->m[i] = i;
    for (int i = 0; i < nt; i++)
        o->t[i] = i;
    qsort_r(o->m, (size_t)n, sizeof(int), by_id, (void *)m);
    qsort_r(o->t, (size_t)nt, sizeof(int), by_name, (void *)t);
    return 0;
}

static void order_free(struct order *o)
{
    free(o->m);
    free(o->t);
}

static int fail(struct sl__amember *m, int n, struct order *o)
{
    order_free(o);
    sl__assign_free(m, n);
    return -ENOMEM;
}

int sl__assign_range(struct sl__amember *m, int n, const struct sl__atopic *t, int nt)
{
    struct order o;
    if (order_new(&o, m, n, t, nt))
        return -ENOMEM;
    int *subs = malloc((size_t)(n ? n : 1) * sizeof(int));
    if (!subs)
        return fail(m, n, &o);
    for (int a = 0; a < nt; a++) {
        const struct sl__atopic *tp = &t[o.t[a]];
        int k = 0;
        for (int b = 0; b < n; b++)
            if (subscribes(&m[o.m[b]], tp->name))
                subs[k++] = o.m[b];
        if (k == 0)
            continue;
        int32_t per = tp->n_partitions / k, extra = tp->n_partitions % k;
        for (int i = 0; i < k; i++) {
            int32_t start = i * per + (i < extra ? i : extra);
            int32_t len = per + (i < extra);
            for (int32_t p = start; p < start + len; p++)
                if (push(&m[subs[i]], tp->name, p)) {
                    free(subs);
                    return fail(m, n, &o);
                }
        }
    }
    free(subs);
    order_free(&o);
    return 0;
}

int sl__assign_roundrobin(struct sl__amember *m, int n, const struct sl__atopic *t, int nt)
{
    struct order o;
    if (order_new(&o, m, n, t, nt))
        return -ENOMEM;
    int next = 0;
    for (int a = 0; a < nt && n > 0; a++) {
        const struct sl__atopic *tp = &t[o.t[a]];
        for (int32_t p = 0; p < tp->n_partitions; p++) {
            for (int tries = 0; tries < n; tries++) {
                int b = (next + tries) % n;
                if (!subscribes(&m[o.m[b]], tp->name))
                    continue;
                if (push(&m[o.m[b]], tp->name, p))
                    return fail(m, n, &o);
                next = b + 1;
                break;
            }
        }
    }
    order_free(&o);
    return 0;
}

/* ---- cooperative-sticky ------------------------------------------------------------------ */

struct coop {
    int total;      /* partitions of subscribed topics */
    int *base;      /* per topic (caller's index): index of its partition 0 in the flat arrays */
    int *owner;     /* per partition: the member (index) it goes to, -1 none yet */
    int *prev;      /* per partition: the member that owns it now, -1 none */
    int *count;     /* per member: partitions given */
    int *p_topic;   /* per partition: topic index */
    int32_t *p_num; /* per partition: partition number */
};

static int topic_index(const struct sl__atopic *t, int nt, const char *name)
{
    for (int i = 0; i < nt; i++)
        if (strcmp(t[i].name, name) == 0)
            return i;
    return -1;
}

int sl__assign_cooperative_sticky(struct sl__amember *m, int n, const struct sl__atopic *t, int nt)
{
    struct order o;
    if (order_new(&o, m, n, t, nt))
        return -ENOMEM;
    struct coop c = {0};
    c.base = calloc((size_t)(nt ? nt : 1), sizeof(int));
    c.count = calloc((size_t)(n ? n : 1), sizeof(int));
    if (!c.base || !c.count)
        goto nomem;
    /* The partitions to give: every topic some member subscribes to, by name. */
    for (int a = 0; a < nt; a++) {
        int ti = o.t[a];
        bool wanted = false;
        for (int b = 0; b < n && !wanted; b++)
            wanted = subscribes(&m[b], t[ti].name);
        c.base[ti] = wanted ? c.total : -1;
        if (wanted)
            c.total += t[ti].n_partitions;
    }
    size_t np = (size_t)(c.total ? c.total : 1);
    c.owner = malloc(np * sizeof(int));
    c.prev = malloc(np * sizeof(int));
    c.p_topic = malloc(np * sizeof(int));
    c.p_num = malloc(np * sizeof(int32_t));
    if (!c.owner || !c.prev || !c.p_topic || !c.p_num)
        goto nomem;
    for (int ti = 0; ti < nt; ti++)
        for (int32_t p = 0; c.base[ti] >= 0 && p < t[ti].n_partitions; p++) {
            c.p_topic[c.base[ti] + p] = ti;
            c.p_num[c.base[ti] + p] = p;
        }
    for (int i = 0; i < c.total; i++)
        c.owner[i] = c.prev[i] = -1;
    /* What each member owns now and may keep: a partition that still exists, of a topic it
     * subscribes to, claimed by nobody before it (in id order). */
    int members = 0;
    for (int b = 0; b < n; b++) {
        int mi = o.m[b];
        bool any = false;
        for (int k = 0; k < m[mi].n_topics && !any; k++)
            any = topic_index(t, nt, m[mi].topics[k]) >= 0;
        members += any;
        for (int k = 0; k < m[mi].n_owned; k++) {
            int ti = topic_index(t, nt, m[mi].owned[k].topic);
            int32_t p = m[mi].owned[k].partition;
            if (ti < 0 || c.base[ti] < 0 || p < 0 || p >= t[ti].n_partitions)
                continue;
            int at = c.base[ti] + p;
            if (c.prev[at] >= 0)
                continue;
            c.prev[at] = mi;
            if (subscribes(&m[mi], t[ti].name)) {
                c.owner[at] = mi;
                c.count[mi]++;
            }
        }
    }
    /* Shares: total / members each, one more for (total % members) of them; the members that
     * own the most keep the larger shares. Excess goes back to the pool (highest partitions
     * first kept: the lowest). */
    if (members > 0) {
        int min_q = c.total / members, bigger = c.total % members;
        int *by_load = malloc((size_t)n * sizeof(int));
        if (!by_load)
            goto nomem;
        memcpy(by_load, o.m, (size_t)n * sizeof(int));
        for (int i = 1; i < n; i++) /* stable insertion sort by load, descending */
            for (int j = i; j > 0 && c.count[by_load[j]] > c.count[by_load[j - 1]]; j--) {
                int x = by_load[j];
                by_load[j] = by_load[j - 1];
                by_load[j - 1] = x;
            }
        for (int b = 0; b < n; b++) {
            int mi = by_load[b];
            int limit = min_q;
            if (bigger > 0 && c.count[mi] > min_q) {
                limit = min_q + 1;
                bigger--;
            }
            int kept = 0;
            for (int i = 0; i < c.total; i++) {
                if (c.owner[i] != mi)
                    continue;
                if (kept < limit)
                    kept++;
                else
                    c.owner[i] = -1;
            }
            c.count[mi] = kept;
        }
        free(by_load);
    }
    /* The rest to the least loaded subscribed member (ties: by id). */
    for (int i = 0; i < c.total; i++) {
        if (c.owner[i] >= 0)
            continue;
        int best = -1;
        for (int b = 0; b < n; b++) {
            int mi = o.m[b];
            if (!subscribes(&m[mi], t[c.p_topic[i]].name))
                continue;
            if (best < 0 || c.count[mi] < c.count[best])
                best = mi;
        }
        if (best >= 0) {
            c.owner[i] = best;
            c.count[best]++;
        }
    }
    /* Out, leaving out what another member still owns (cooperative: it is revoked first). */
    for (int i = 0; i < c.total; i++) {
        int mi = c.owner[i];
        if (mi < 0 || (c.prev[i] >= 0 && c.prev[i] != mi))
            continue;
        if (push(&m[mi], t[c.p_topic[i]].name, c.p_num[i]))
            goto nomem;
    }
    free(c.base);
    free(c.count);
    free(c.owner);
    free(c.prev);
    free(c.p_topic);
    free(c.p_num);
    order_free(&o);
    return 0;
nomem:
    free(c.base);
    free(c.count);
    free(c.owner);
    free(c.prev);
    free(c.p_topic);
    free(c.p_num);
    return fail(m, n, &o);
}
