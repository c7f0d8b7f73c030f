/*
 * br_clu_coord — what the group coordinator reads of the cluster's view (issue 18 M4, groups;
 * docs/cluster.md "Internal topics and failover"): which partitions of __consumer_offsets this
 * broker leads, at which leader epoch, and where a broker listens. Kept apart from
 * br_clu_topics.c (which writes the view) so the coordinator's side touches its own file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "br_clu_int.h"

/* The topic of the view named name (c->topics sorted by name), under c->lock. */
static const struct ctopic *topic_of(const struct br_clu *c, const char *name, size_t len)
{
    int lo = 0, hi = c->ntopics;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        const char *tn = c->topics[mid].name;
        size_t tl = strlen(tn);
        int cmp = memcmp(tn, name, tl < len ? tl : len);
        if (cmp == 0)
            cmp = (tl > len) - (tl < len);
        if (cmp == 0)
            return &c->topics[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int32_t br_clu_led(struct br_clu *c, const char *name, size_t len, int32_t *epochs, int32_t max)
{
    int32_t me = c->conf.broker_id, np = -ENOENT;
    pthread_mutex_lock(&c->lock);
    const struct ctopic *t = topic_of(c, name, len);
    if (t) {
        np = t->np;
        for (int32_t p = 0; p < np && p < max; p++) {
            const struct cpart *cp = &t->p[p];
            epochs[p] = cp->zver >= 0 && cp->st.leader == me ? cp->st.leader_epoch : -1;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return np;
}

int br_clu_node(struct br_clu *c, const char *listener, int32_t id, struct br_clu_node *out)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->nmembers && rc < 0; i++) {
        const struct member *m = &c->members[i];
        if (m->id != id)
            continue;
        for (int e = 0; e < m->n; e++) {
            if (strcmp(m->ep[e].listener, listener) != 0)
                continue;
            out->id = m->id;
            snprintf(out->host, sizeof out->host, "%s", m->ep[e].host);
            out->port = m->ep[e].port;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}
