/*
 * br_quota_zk — client quotas in a cluster (br_quota.h, "in a cluster"): the values' text as
 * Kafka's ZooKeeper mode writes it in /config/users and /config/clients, and the settings made
 * what ZooKeeper holds, through br_quotas_describe and br_quotas_alter.
 */
#include "br_quota_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int br_quota_text_format(enum br_quota_type t, double v, char *out, size_t cap)
{
    int n;
    if (t == BR_QUOTA_PRODUCE || t == BR_QUOTA_FETCH) {
        n = snprintf(out, cap, "%lld", (long long)llround(v));
    } else if (v == floor(v) && fabs(v) < 1e15) {
        n = snprintf(out, cap, "%.1f", v); /* "50.0", as Java's Double.toString */
    } else {
        /* the shortest decimal that reads back the same (Kafka parses it as a double) */
        n = -1;
        for (int p = 1; p <= 17; p++) {
            n = snprintf(out, cap, "%.*g", p, v);
            if (n < 0 || (size_t)n >= cap)
                return -ENOSPC;
            if (strtod(out, NULL) == v)
                break;
        }
    }
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int br_quota_text_parse(enum br_quota_type t, const char *s, double *out)
{
    char *end;
    if ((unsigned)t >= BR_QUOTA_NTYPES || !s[0])
        return -EINVAL;
    double v = strtod(s, &end);
    if (*end || br__quota_value_ok(t, v, NULL) < 0)
        return -EINVAL;
    *out = (t == BR_QUOTA_PRODUCE || t == BR_QUOTA_FETCH) ? (double)llround(v) : v;
    return 0;
}

/* ---- sync ------------------------------------------------------------------------------------ */

struct have {
    struct br_quota_entity *v; /* names copied (user.ptr owns one allocation per entry) */
    size_t n, cap;
    bool oom;
};

static void collect(void *arg, const struct br_quota_entity *e, const double v[BR_QUOTA_NTYPES],
                    const bool has[BR_QUOTA_NTYPES])
{
    (void)v;
    (void)has;
    struct have *h = arg;
    if (h->oom)
        return;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        void *nv = realloc(h->v, cap * sizeof *h->v);
        if (!nv) {
            h->oom = true;
            return;
        }
        h->v = nv;
        h->cap = cap;
    }
    size_t ul = e->user.len > 0 ? (size_t)e->user.len : 0,
           cl = e->client.len > 0 ? (size_t)e->client.len : 0;
    char *m = malloc(ul + cl + 2);
    if (!m) {
        h->oom = true;
        return;
    }
    memcpy(m, ul ? e->user.ptr : "", ul);
    m[ul] = 0;
    memcpy(m + ul + 1, cl ? e->client.ptr : "", cl);
    m[ul + 1 + cl] = 0;
    struct br_quota_entity *x = &h->v[h->n++];
    *x = *e;
    x->user.ptr = m;
    x->client.ptr = m + ul + 1;
}

static int cmp_part(uint8_t ka, struct kp_str a, uint8_t kb, struct kp_str b)
{
    if (ka != kb)
        return ka < kb ? -1 : 1;
    if (ka != BR_QE_NAMED)
        return 0;
    int c = memcmp(a.ptr, b.ptr, (size_t)(a.len < b.len ? a.len : b.len));
    return c ? c : a.len == b.len ? 0 : a.len < b.len ? -1 : 1;
}

static int cmp_entity(const void *pa, const void *pb)
{
    const struct br_quota_entity *a = *(const struct br_quota_entity *const *)pa,
                                 *b = *(const struct br_quota_entity *const *)pb;
    int c = cmp_part(a->user_kind, a->user, b->user_kind, b->user);
    return c ? c : cmp_part(a->client_kind, a->client, b->client_kind, b->client);
}

int br_quotas_sync(struct br_quotas *q, const struct br_quota_set *s, size_t n, bool all,
                   size_t *refused)
{
    struct have h = {0};
    if (all) {
        struct br_quota_filter f; /* (everything: no part filtered, not strict) */
        memset(&f, 0, sizeof f);
        br_quotas_describe(q, &f, collect, &h);
    }
    size_t na = n + h.n;
    struct br_quota_alter *a = calloc(na ? na : 1, sizeof *a);
    struct br_quota_op *ops = calloc((na ? na : 1) * BR_QUOTA_NTYPES, sizeof *ops);
    const struct br_quota_entity **sorted = calloc(n ? n : 1, sizeof *sorted);
    int rc = 0;
    if (h.oom || !a || !ops || !sorted) {
        rc = -ENOMEM;
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++, k++) {
        a[k].entity = s[i].entity;
        a[k].ops = &ops[k * BR_QUOTA_NTYPES];
        for (int t = 0; t < BR_QUOTA_NTYPES; t++)
            ops[k * BR_QUOTA_NTYPES + t] = (struct br_quota_op){
                (enum br_quota_type)t, s[i].has[t] ? s[i].v[t] : 0, !s[i].has[t]};
        a[k].n_ops = BR_QUOTA_NTYPES;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = &s[i].entity;
    if (n)
        qsort(sorted, n, sizeof *sorted, cmp_entity);
    for (size_t i = 0; i < h.n; i++) {
        const struct br_quota_entity *key = &h.v[i];
        if (n && bsearch(&key, sorted, n, sizeof *sorted, cmp_entity))
            continue; /* (listed: set above) */
        a[k].entity = h.v[i];
        a[k].ops = &ops[k * BR_QUOTA_NTYPES];
        for (int t = 0; t < BR_QUOTA_NTYPES; t++)
            ops[k * BR_QUOTA_NTYPES + t] = (struct br_quota_op){(enum br_quota_type)t, 0, true};
        a[k].n_ops = BR_QUOTA_NTYPES;
        k++;
    }
    rc = br_quotas_alter(q, a, k, false);
    if (refused) {
        *refused = 0;
        for (size_t i = 0; i < k; i++)
            *refused += a[i].result != 0;
    }
out:
    free(a);
    free(ops);
    free(sorted);
    for (size_t i = 0; i < h.n; i++)
        free((char *)h.v[i].user.ptr);
    free(h.v);
    return rc;
}
