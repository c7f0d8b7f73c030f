/*
 * br_clu_lead — the leader's duties toward ZooKeeper in replication (issue 18 M3,
 * docs/cluster.md "Replication"), on the cluster thread: taking up the partitions a new view
 * has this broker lead (leader epoch into the log, replicated or not, the replica state of
 * br_clu_repl) and writing the ISR changes the replica state wants.
 *
 * ISR writes: the partition state is rewritten with the same leader, leader epoch and
 * controller epoch and the new ISR, by a setData conditional on the state's znode version the
 * leader last saw (Kafka's leader does the same in ZooKeeper mode); the change counts only once
 * written (the high watermark then follows the new ISR). BadVersion: the state is read again;
 * a different leader or leader epoch drops the change (the controller decided meanwhile, and
 * the view that follows carries it), the same epoch keeps it for the next turn against the new
 * version. After each write an /isr_change_notification/isr_change_<seq> names the partition
 * for the controller, as Kafka's leaders do (the controller reads and deletes it:
 * br_clu_isrn.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "br_clu_int.h"
#include "br_log.h"
#include "st.h"

void br_clu__isr_kick(void *arg)
{
    struct br_clu *c = arg;
    pthread_mutex_lock(&c->lock);
    c->isr_dirty = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* Whether the published view (c->topics, sorted by name) already told the log of partition p
 * of topic name (of that topic id: not a previous incarnation of the name) that this broker
 * leads it at leader_epoch with rf replicas: nothing to tell it again (st_log_set_leader_epoch
 * opens a dormant log). (The controller patches the states it writes into the published view,
 * leaving told as it was.) */
static bool led_already(const struct br_clu *c, const char *name, const uint8_t id[16], int32_t p,
                        int32_t leader_epoch, int32_t rf)
{
    int lo = 0, hi = c->ntopics;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int cmp = strcmp(c->topics[mid].name, name);
        if (cmp == 0) {
            const struct ctopic *t = &c->topics[mid];
            if (p >= t->np || memcmp(t->id, id, sizeof t->id) != 0)
                return false;
            const struct cpart *cp = &t->p[p];
            return cp->told == leader_epoch + 1 && cp->rep.n == rf;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

int br_clu__lead(struct br_clu *c, struct ctopic *nt, int n)
{
    struct st_store *store = c->conf.store;
    if (!store)
        return 0;
    int32_t me = c->conf.broker_id;
    br_repl_begin(c->repl);
    for (int i = 0; i < n; i++) {
        const struct ctopic *t = &nt[i];
        size_t len = strlen(t->name);
        for (int32_t p = 0; p < t->np; p++) {
            struct cpart *cp = &t->p[p];
            if (cp->zver < 0 || cp->st.leader != me)
                continue;
            struct st_log *log = st_log_get(store, t->name, len, p);
            if (!log)
                continue;
            if (!led_already(c, t->name, t->id, p, cp->st.leader_epoch, cp->rep.n)) {
                st_log_set_leader_epoch(log, cp->st.leader_epoch);
                st_log_set_replicated(log, cp->rep.n > 1);
            }
            cp->told = cp->st.leader_epoch + 1;
            if (cp->rep.n <= 1) {
                st_log_put(log);
                continue;
            }
            struct br_repl_view v = {
                .topic = t->name,
                .partition = p,
                .leader_epoch = cp->st.leader_epoch,
                .controller_epoch = cp->st.controller_epoch,
                .zver = cp->zver,
                .replicas = cp->rep,
                .isr = cp->st.isr,
            };
            if (br_repl_lead(c->repl, log, &v) < 0)
                br_err_limited("cluster: out of memory for the replica state of %s-%d", t->name,
                               (int)p);
        }
    }
    return br_repl_end(c->repl);
}

static void ids_str(char *out, size_t cap, const struct br_clu_replicas *r)
{
    size_t l = 0;
    out[0] = 0;
    for (int32_t k = 0; k < r->n && l + 14 < cap; k++)
        l += (size_t)snprintf(out + l, cap - l, "%s%d", k ? "," : "", (int)r->id[k]);
}

/* /isr_change_notification/isr_change_<seq> naming w's partition (Kafka's version 1); the
 * controller reads and deletes it (br_clu_isrn.c). */
static int notify_change(struct br_clu *c, const struct br_repl_isr *w)
{
    char json[512];
    int jl = snprintf(json, sizeof json,
                      "{\"version\":1,\"partitions\":[{\"topic\":\"%s\","
                      "\"partition\":%d}]}",
                      w->topic, (int)w->partition);
    if (jl < 0 || (size_t)jl >= sizeof json)
        return ZBADARGUMENTS;
    /* (the directory made again when deleted by hand) */
    return br_clu__note_write(c, c->p_isrn, "isr_change_", json, jl, NULL, 0);
}

/* Writes entry i's wanted ISR w; a ZooKeeper code (ZOK also when the change was dropped). */
static int write_isr(struct br_clu *c, int i, const struct br_repl_isr *w)
{
    char path[PATH_MAX_LEN], json[DATA_MAX], isr[128];
    struct br_clu_state ns = {.leader = c->conf.broker_id,
                              .leader_epoch = w->leader_epoch,
                              .controller_epoch = w->controller_epoch,
                              .isr = w->isr};
    int jl = br_clu_json_state_enc(json, sizeof json, &ns);
    int pl = snprintf(path, sizeof path, "%s/%s/partitions/%d/state", c->p_topics, w->topic,
                      (int)w->partition);
    if (jl < 0 || pl < 0 || (size_t)pl >= sizeof path)
        return ZBADARGUMENTS;
    struct Stat st;
    memset(&st, 0, sizeof st);
    int rc = zoo_set2(c->zh, path, json, jl, w->zver, &st);
    ids_str(isr, sizeof isr, &w->isr);
    if (rc == ZOK) {
        br_info("cluster: leader: %s-%d isr [%s] (leader epoch %d)", w->topic, (int)w->partition,
                isr, (int)w->leader_epoch);
        if (br_repl_isr_done(c->repl, i, w, st.version) && c->conf.hw_moved)
            c->conf.hw_moved(c->conf.hw_arg);
        int nrc = notify_change(c, w);
        if (nrc != ZOK)
            br_warn_limited("cluster: cannot write an ISR change notification for %s-%d: %s",
                            w->topic, (int)w->partition, zerror(nrc));
        return ZOK;
    }
    if (rc != ZBADVERSION && rc != ZNONODE)
        return rc;
    /* changed meanwhile (the controller): read it again */
    char buf[DATA_MAX];
    int len = (int)sizeof buf;
    struct br_clu_state cur;
    rc = zoo_get(c->zh, path, 0, buf, &len, &st);
    if (rc == ZOK && len > 0 && br_clu_json_state(buf, (size_t)len, &cur) == 0 &&
        cur.leader == c->conf.broker_id && cur.leader_epoch == w->leader_epoch) {
        br_repl_isr_reread(c->repl, i, cur.leader_epoch, st.version, &cur.isr);
    } else {
        br_info("cluster: leader: ISR change [%s] of %s-%d dropped: its state moved on", isr,
                w->topic, (int)w->partition);
    }
    (void)br_clu__topics_mark(c, w->topic, strlen(w->topic), w->partition);
    return rc == ZOK || rc == ZNONODE ? ZOK : rc;
}

int br_clu__isr_tick(struct br_clu *c)
{
    int n = br_repl_count(c->repl);
    int first = ZOK;
    for (int i = 0; i < n; i++) {
        struct br_repl_isr w;
        if (!br_repl_isr_want(c->repl, i, &w))
            continue;
        int rc = write_isr(c, i, &w);
        if (rc != ZOK && first == ZOK)
            first = rc;
    }
    return first; /* (wanted again at the next turn: lag / 2) */
}
