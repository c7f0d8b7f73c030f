/*
 * br_clu_view — readers of the topics' view for the replica fetcher (br_clu.h): the view's
 * generation and a walk over every partition, under the view's lock. Kept apart from
 * br_clu_topics.c (which writes the view) so the two sides of replication touch separate files.
 */
#include <string.h>

#include "br_clu_int.h"

uint64_t br_clu_view_gen(struct br_clu *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t g = c->view_gen;
    pthread_mutex_unlock(&c->lock);
    return g;
}

int br_clu_each_partition(struct br_clu *c,
                          int (*fn)(void *ctx, const char *topic, int32_t p,
                                    const struct br_clu_replicas *replicas, int32_t leader,
                                    int32_t leader_epoch),
                          void *ctx)
{
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->ntopics && rc == 0; i++) {
        const struct ctopic *t = &c->topics[i];
        for (int32_t p = 0; p < t->np && rc == 0; p++) {
            const struct cpart *cp = &t->p[p];
            int32_t leader = cp->zver >= 0 ? cp->st.leader : -1;
            rc = fn(ctx, t->name, p, &cp->rep, leader, cp->zver >= 0 ? cp->st.leader_epoch : -1);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}
