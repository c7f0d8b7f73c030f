/*
 * br_clu_coord — what the group coordinator reads of the cluster's view (issue 18 M4, groups;
 * docs/cluster.md "Internal topics and failover"): which partitions of __consumer_offsets (and,
 * for the transaction coordinator, of __transaction_state) a new view has this broker lead, at
 * which leader epoch (told before the view is published), and where a broker listens. Kept apart
 * from br_clu_topics.c (which writes the view) so the coordinator's side touches its own file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_clu_int.h"
#include "br_log.h"

#define COTOPIC "__consumer_offsets"
#define TXTOPIC "__transaction_state"

/* Tells fn which partitions of the internal topic name the new view has this broker lead. */
static void tell(struct br_clu *c, const struct ctopic *nt, int n, const char *name,
                 void (*fn)(void *arg, const int32_t *epochs, int32_t np))
{
    int32_t me = c->conf.broker_id;
    const struct ctopic *t = NULL;
    for (int i = 0; i < n && !t; i++) /* (a few topics: no need for the sorted search) */
        if (strcmp(nt[i].name, name) == 0)
            t = &nt[i];
    int32_t np = t ? t->np : 0;
    int32_t *epochs = np > 0 ? malloc((size_t)np * sizeof(*epochs)) : NULL;
    if (np > 0 && !epochs) {
        br_err_limited("cluster: out of memory telling a coordinator its partitions of %s", name);
        return; /* (told at the next view) */
    }
    for (int32_t p = 0; p < np; p++) {
        const struct cpart *cp = &t->p[p];
        epochs[p] = cp->zver >= 0 && cp->st.leader == me ? cp->st.leader_epoch : -1;
    }
    fn(c->conf.coord_arg, epochs, np);
    free(epochs);
}

void br_clu__coord_tell(struct br_clu *c, const struct ctopic *nt, int n)
{
    if (c->conf.coord_view)
        tell(c, nt, n, COTOPIC, c->conf.coord_view);
    if (c->conf.txn_view)
        tell(c, nt, n, TXTOPIC, c->conf.txn_view);
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
            snprintf(out->rack, sizeof out->rack, "%s", m->rack);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}
