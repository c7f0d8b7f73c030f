/* br_clu_assign — where the replicas of a new partition go (br_clu_assign.h). */
#include "br_clu_assign.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool has_rack(const struct br_clu_assign_broker *b) { return b->rack && b->rack[0]; }

static const char *rack_of(const struct br_clu_assign_broker *b) { return b->rack ? b->rack : ""; }

/* The rack-alternated order into ord (indexes into b): racks by name, round robin, each rack's
 * brokers by id (b is sorted by id). Quadratic in n: n is the number of live brokers. */
static void alternate(const struct br_clu_assign_broker *b, int n, int *ord)
{
    int k = 0;
    bool *taken = (bool *)(ord + n); /* (the caller's array has room for both) */
    memset(taken, 0, (size_t)n * sizeof(*taken));
    while (k < n) {
        /* one round: the first untaken broker of every rack, racks in name order */
        const char *prev = NULL;
        for (;;) {
            int best = -1;
            for (int i = 0; i < n; i++) {
                if (taken[i] || (prev && strcmp(rack_of(&b[i]), prev) <= 0))
                    continue;
                if (best < 0 || strcmp(rack_of(&b[i]), rack_of(&b[best])) < 0)
                    best = i; /* (the first of equal racks: the lowest id) */
            }
            if (best < 0)
                break;
            taken[best] = true;
            ord[k++] = best;
            prev = rack_of(&b[best]);
        }
    }
}

int br_clu_assign(const struct br_clu_assign_broker *brokers, int n, uint32_t start, int32_t first,
                  int32_t count, int rf, struct br_clu_replicas *out, bool *mixed)
{
    if (n < 1 || rf < 1 || rf > n || rf > BR_CLU_RF_MAX || count < 0 || first < 0)
        return -EINVAL;
    int with = 0, racks = 0;
    for (int i = 0; i < n; i++) {
        if (!has_rack(&brokers[i]))
            continue;
        with++;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = has_rack(&brokers[j]) && strcmp(brokers[j].rack, brokers[i].rack) == 0;
        racks += !seen;
    }
    if (mixed)
        *mixed = with > 0 && with < n;
    bool aware = with == n && racks > 1;
    /* ord: n ints, then n bools for alternate() */
    int *ord = malloc((size_t)n * sizeof(int) + (size_t)n * sizeof(bool) + sizeof(int));
    if (!ord)
        return -ENOMEM;
    if (aware)
        alternate(brokers, n, ord);
    else
        for (int i = 0; i < n; i++)
            ord[i] = i;
    for (int32_t q = 0; q < count; q++) {
        int64_t p = (int64_t)first + q;
        struct br_clu_replicas *r = &out[q];
        int at = (int)(((int64_t)start + p) % n);
        r->n = rf;
        r->id[0] = brokers[ord[at]].id;
        for (int k = 1; k < rf; k++) {
            int pick = -1;
            /* with racks: first a broker on an unused rack, then (all used) any free one */
            for (int pass = aware ? 0 : 1; pass < 2 && pick < 0; pass++) {
                for (int step = 1; step < n && pick < 0; step++) {
                    int cand = ord[(at + step) % n];
                    bool free_broker = true, free_rack = true;
                    for (int j = 0; j < k; j++) {
                        free_broker = free_broker && r->id[j] != brokers[cand].id;
                        if (aware)
                            for (int m = 0; m < n; m++)
                                if (brokers[m].id == r->id[j] &&
                                    strcmp(brokers[m].rack, brokers[cand].rack) == 0)
                                    free_rack = false;
                    }
                    if (free_broker && (pass == 1 || free_rack))
                        pick = cand;
                }
            }
            r->id[k] = brokers[pick].id; /* (rf <= n: a free broker always exists) */
            if (!aware)
                continue;
            /* (the next replica searches on from this one, as the rule says) */
            for (int i = 0; i < n; i++)
                if (ord[i] == pick)
                    at = i;
        }
    }
    free(ord);
    return 0;
}
