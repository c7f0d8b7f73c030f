/*
 * br_clu_prefer — preferred-replica leader election (issue 18; docs/cluster.md, "The
 * controller"), as Kafka's auto leader rebalance in ZooKeeper mode.
 *
 * A partition's preferred replica is the first broker of its assignment. A leader that dies is
 * replaced by another ISR member (br_clu__decide) and nothing there moves leadership back: after
 * a rolling restart, the broker restarted last leads nothing. The controller therefore looks,
 * every leader.imbalance.check.interval.seconds while auto.leader.rebalance.enable is true, at
 * each live broker b: of the partitions whose preferred replica is b (total), how many are led
 * by another broker or by none (moved). When moved / total exceeds
 * leader.imbalance.per.broker.percentage / 100 (Kafka's strict "greater than"), every such
 * partition whose preferred replica is live and in the ISR gets b as leader: leader epoch + 1,
 * ISR unchanged, written like every other controller decision (br_clu__write_state in
 * br_clu_topics.c: the multi with check(/controller_epoch) and the state's znode version; a
 * BadVersion marks the state to be read again, and the next check looks again). Never a
 * replica outside the ISR: that would lose acknowledged records. The old leader learns from its
 * state watch, as on any leader change, and becomes a follower (truncating through
 * OffsetsForLeaderEpoch); its producers get NOT_LEADER_OR_FOLLOWER and go to the new leader.
 *
 * ElectLeaders (br_clu_elect, Kafka's API 43 in ZooKeeper mode): the partitions a client names
 * (the API handler lists every partition of the view for a null list) are handed to the
 * cluster thread (REQ_ELECT), which answers each from the view as the controller: the
 * preferred replica elected the same way (br_clu__prefer, br_clu__write_state) and answered
 * once the write succeeded; -EALREADY when it leads already, -ENXIO when it cannot lead. A
 * write that finds the state changed meanwhile (the view is often a turn behind: requests run
 * before the turn's state reads) reads that one state again (zoo_get) and decides again,
 * ELECT_REREADS writes at most, then -EBUSY (retriable on the wire). An
 * unclean election (type 1) is only answered: -EALREADY with a live leader, else -ENXIO
 * (unclean.leader.election.enable is not supported, so nothing outside the ISR is elected).
 * A broker that is not the controller answers -ENOTCONN (NOT_CONTROLLER on the wire).
 *
 * Dead preferred replicas are not counted: Kafka counts them but cannot elect them, so the
 * outcome is the same. Topics marked for deletion are deleted by the same controller turn
 * before the check (br_clu__reconcile), so they are not looked at either.
 *
 * Threads: br_clu__prefer and br_clu__imbalance are pure (they read c->members and the view
 * they are given; the unit test drives them); br_clu__rebalance runs on the cluster thread
 * while this broker is the controller (the view's only writer: it reads it without the lock).
 * Cost: members x partitions comparisons per check, no allocation. Writes: each election is
 * a blocking zoo_multi on the cluster thread, so one turn makes BR_CLU_TURN_WRITES of them at
 * most (br_clu__turn_budget) and stops before the next when the broker closes, the session
 * expired or the live brokers changed: the rebalance checks again at the next turn (its cut
 * partitions are then judged by the per-broker percentage again, on the moved view), an
 * ElectLeaders goes on where it stopped after that turn's reads (clu_main's later list).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "br_clu_int.h"
#include "br_clu_json.h"
#include "br_log.h"

#define ELECT_REREADS 3 /* an ElectLeaders partition's writes, the first and after re-reads */

static bool in(const struct br_clu_replicas *r, int32_t id)
{
    for (int32_t k = 0; k < r->n; k++)
        if (r->id[k] == id)
            return true;
    return false;
}

enum br_clu_prefer br_clu__prefer(const struct br_clu *c, const struct cpart *cp,
                                  struct br_clu_state *ns)
{
    if (cp->rep.n < 1 || cp->zver < 0)
        return BR_CLU_PREFER_UNAVAILABLE; /* (no state yet: br_clu__decide makes one) */
    int32_t pref = cp->rep.id[0];
    if (cp->st.leader == pref)
        return BR_CLU_PREFER_LEADS;
    if (!br_clu__live(c, pref) || !in(&cp->st.isr, pref))
        return BR_CLU_PREFER_UNAVAILABLE;
    *ns = (struct br_clu_state){
        .leader = pref, .leader_epoch = cp->st.leader_epoch + 1, .isr = cp->st.isr};
    return BR_CLU_PREFER_MOVE;
}

int br_clu__imbalance(const struct br_clu *c, struct ctopic *t, int nt, int32_t pct,
                      int (*fn)(void *ctx, struct ctopic *t, int32_t p, struct br_clu_state *ns),
                      void *ctx)
{
    for (int m = 0; m < c->nmembers; m++) {
        int32_t b = c->members[m].id;
        int64_t total = 0, moved = 0;
        for (int i = 0; i < nt; i++)
            for (int32_t p = 0; p < t[i].np; p++) {
                const struct cpart *cp = &t[i].p[p];
                if (cp->rep.n < 1 || cp->rep.id[0] != b || cp->zver < 0)
                    continue;
                total++;
                moved += cp->st.leader != b;
            }
        if (moved == 0 || moved * 100 <= (int64_t)pct * total)
            continue;
        bool told = false; /* (logged once per broker, and only when one can move) */
        for (int i = 0; i < nt; i++)
            for (int32_t p = 0; p < t[i].np; p++) {
                struct cpart *cp = &t[i].p[p];
                struct br_clu_state ns;
                if (cp->rep.n < 1 || cp->rep.id[0] != b ||
                    br_clu__prefer(c, cp, &ns) != BR_CLU_PREFER_MOVE)
                    continue;
                if (!told)
                    br_info("cluster: controller: broker %d is preferred for %lld partition(s) "
                            "and leads %lld of them: above "
                            "leader.imbalance.per.broker.percentage=%d, electing it where it is "
                            "in the ISR",
                            (int)b, (long long)total, (long long)(total - moved), (int)pct);
                told = true;
                int rc = fn(ctx, &t[i], p, &ns);
                if (rc != 0)
                    return rc;
            }
    }
    return 0;
}

enum br_clu_budget br_clu__turn_budget(struct br_clu *c, int writes)
{
    pthread_mutex_lock(&c->lock);
    bool stop = c->stop || c->expired, ids = c->ids_dirty;
    pthread_mutex_unlock(&c->lock);
    if (stop)
        return BR_CLU_BUDGET_STOP;
    return ids || writes >= BR_CLU_TURN_WRITES ? BR_CLU_BUDGET_MORE : BR_CLU_BUDGET_GO;
}

struct rebalance {
    struct br_clu *c;
    int writes; /* this turn's */
};

static int elect(void *ctx, struct ctopic *t, int32_t p, struct br_clu_state *ns)
{
    struct rebalance *rb = ctx;
    struct br_clu *c = rb->c;
    enum br_clu_budget b = br_clu__turn_budget(c, rb->writes);
    if (b == BR_CLU_BUDGET_STOP)
        return ZCLOSING; /* (transient: not warned about) */
    if (b == BR_CLU_BUDGET_MORE)
        return BR_CLU_BUDGET_MORE;
    rb->writes++;
    br_info("cluster: controller: preferred replica %d of %s-%d: electing it (leader %d)",
            (int)ns->leader, t->name, (int)p, (int)t->p[p].st.leader);
    return br_clu__write_state(c, t, p, &t->p[p], ns);
}

int br_clu__rebalance(struct br_clu *c)
{
    if (c->ctl_zver < 0)
        return ZBADVERSION;
    int32_t pct = c->conf.imbalance_pct;
    struct rebalance rb = {.c = c};
    return br_clu__imbalance(c, c->topics, c->ntopics, pct, elect, &rb);
}

/* Partition p of t's state read again from ZooKeeper into the view (cp), as read_state does
 * but without a watch (the state's own watch stands, and write_state marked the partition to
 * be read again anyway). Under c->lock, as write_state updates the view. A ZooKeeper code. */
static int reread_state(struct br_clu *c, const struct ctopic *t, int32_t p, struct cpart *cp)
{
    char path[PATH_MAX_LEN], buf[DATA_MAX];
    int n = snprintf(path, sizeof path, "%s/%s/partitions/%d/state", c->p_topics, t->name, (int)p);
    if (n < 0 || (size_t)n >= sizeof path)
        return ZBADARGUMENTS;
    int len = (int)sizeof buf;
    struct Stat st;
    int rc = zoo_get(c->zh, path, 0, buf, &len, &st);
    struct br_clu_state ns = {.leader = -1};
    if (rc == ZOK &&
        (len <= 0 || len > (int)sizeof buf || br_clu_json_state(buf, (size_t)len, &ns) < 0))
        return ZMARSHALLINGERROR; /* (the next full read warns and the controller rewrites it) */
    if (rc != ZOK && rc != ZNONODE)
        return rc;
    pthread_mutex_lock(&c->lock);
    cp->zver = rc == ZNONODE ? -1 : st.version;
    cp->st = ns;
    pthread_mutex_unlock(&c->lock);
    return ZOK;
}

/* One partition of an ElectLeaders request, as the controller: e->rc. A request runs at the
 * top of a cluster-thread turn, before that turn reads the states its watches announced, so
 * the view's znode version is often stale while ISRs change: a write that finds the state
 * changed meanwhile reads that state again and decides again, ELECT_REREADS times at most;
 * then -EBUSY (REQUEST_TIMED_OUT on the wire: the client asks again). */
static void elect_one(struct br_clu *c, bool unclean, struct br_clu_elect *e, int *writes)
{
    struct ctopic *t = br_clu__find_topic(c->topics, c->ntopics, e->topic, e->len);
    if (!t || e->partition < 0 || e->partition >= t->np) {
        e->rc = -ENOENT;
        return;
    }
    struct cpart *cp = &t->p[e->partition];
    if (unclean) {
        bool led = cp->zver >= 0 && cp->st.leader >= 0 && br_clu__live(c, cp->st.leader);
        e->rc = led ? -EALREADY : -ENXIO;
        return;
    }
    for (int round = 0;; round++) {
        struct br_clu_state ns;
        enum br_clu_prefer what = br_clu__prefer(c, cp, &ns);
        if (what != BR_CLU_PREFER_MOVE) {
            e->rc = what == BR_CLU_PREFER_LEADS ? -EALREADY : -ENXIO;
            return;
        }
        br_info("cluster: controller: ElectLeaders: preferred replica %d of %s-%d (leader %d "
                "before)",
                (int)ns.leader, t->name, (int)e->partition, (int)cp->st.leader);
        ++*writes; /* (a re-read's write counts too: the cap is a bound, not a quota) */
        int zrc = br_clu__write_state(c, t, e->partition, cp, &ns);
        if (zrc == ZBADVERSION) {
            e->rc = -ENOTCONN;
            pthread_mutex_lock(&c->lock);
            c->ctl_dirty = true; /* (who the controller is: read again) */
            pthread_mutex_unlock(&c->lock);
            return;
        }
        if (zrc != ZOK) {
            e->rc = br_clu__transient(zrc) ? -EAGAIN : -EIO;
            return;
        }
        /* ZOK also when the state had changed meanwhile (marked to be read again): only a
         * state that now says what was decided was written */
        if (cp->st.leader == ns.leader && cp->st.leader_epoch == ns.leader_epoch) {
            e->rc = 0;
            return;
        }
        if (round + 1 >= ELECT_REREADS) {
            e->rc = -EBUSY;
            return;
        }
        zrc = reread_state(c, t, e->partition, cp);
        if (zrc != ZOK) {
            e->rc = br_clu__transient(zrc) ? -EAGAIN : -EIO;
            return;
        }
    }
}

int br_clu__elect_run(struct br_clu *c, struct clu_req *r)
{
    struct br_clu_elect *e = r->elect;
    r->more = false;
    if (c->controller != c->conf.broker_id || c->ctl_zver < 0)
        return -ENOTCONN;
    int writes = 0;
    enum br_clu_budget b = BR_CLU_BUDGET_GO;
    int32_t i = r->elect_next > 0 ? r->elect_next : 0;
    for (; i < r->np; i++) {
        if (c->ctl_zver < 0) { /* (replaced meanwhile: a write failed its check) */
            e[i].rc = -ENOTCONN;
            continue;
        }
        if (b != BR_CLU_BUDGET_STOP)
            b = br_clu__turn_budget(c, writes);
        if (b == BR_CLU_BUDGET_MORE) {
            r->elect_next = i;
            r->more = true;
            return 0;
        }
        if (b == BR_CLU_BUDGET_STOP) { /* closing: another controller; expired: ZooKeeper */
            bool closing;
            pthread_mutex_lock(&c->lock);
            closing = c->stop;
            pthread_mutex_unlock(&c->lock);
            e[i].rc = closing ? -ENOTCONN : -EAGAIN;
            continue;
        }
        elect_one(c, r->unclean, &e[i], &writes);
    }
    r->elect_next = 0; /* (all answered: run again, it starts over) */
    return 0;
}

void br_clu__elect_cancel(struct clu_req *r)
{
    for (int32_t i = r->elect_next > 0 ? r->elect_next : 0; i < r->np; i++)
        r->elect[i].rc = -ENOTCONN;
    r->elect_next = r->np;
    r->more = false;
    r->rc = 0;
}

int br_clu_elect(struct br_clu *c, bool unclean, struct br_clu_elect *e, size_t n)
{
    if (n > INT32_MAX)
        return -EINVAL;
    struct clu_req r = {.kind = REQ_ELECT, .elect = e, .np = (int32_t)n, .unclean = unclean};
    return br_clu__submit(c, &r);
}
