/*
 * br_clu_leave — controlled shutdown (issue 18; docs/cluster.md "Controlled shutdown"), as
 * Kafka's controlled.shutdown.enable: before a broker stops serving, the leadership of its
 * partitions moves to other in-sync replicas, so that producers and consumers fail over at
 * once instead of after the broker's ZooKeeper session (and its in-flight requests, up to
 * shutdown.timeout.ms) ends.
 *
 * How: the cluster thread deletes this broker's registration (/brokers/ids/<id>, its own
 * ephemeral znode) and never writes it again (c->leaving); the session stays open. For the
 * controller (another broker, or this one) the broker is then gone: it elects for each
 * partition this broker led the next live replica of the assignment in the ISR (never outside
 * it) and takes the broker out of the ISRs (br_clu__decide), with the usual fenced writes. This
 * broker sees those states through its watches like any other change: it stops leading
 * (br_clu__lead), its parked acks=all answers are woken and answered NOT_LEADER_OR_FOLLOWER,
 * and its clients ask Metadata again. A partition with no other live in-sync replica (replication
 * factor 1, an ISR shrunk to this broker) goes offline as it would at the end of the session.
 * While leaving, the broker writes no ISR change of its own (br_clu__isr_tick): followers whose
 * fetches stop being answered during the shutdown are not shrunk out of an ISR that this broker
 * is about to leave.
 *
 * br_clu_leave waits (bounded) until the view shows no partition led by this broker; the
 * server then stops its loops as before. Kafka's ControlledShutdown request is not used
 * (brokers learn states through ZooKeeper here, docs/cluster.md "How brokers learn state").
 */
#include <errno.h>
#include <string.h>

#include "br_clu_int.h"
#include "br_log.h"

int br_clu__leave_run(struct br_clu *c, struct clu_req *r)
{
    (void)r;
    c->leaving = true;
    int rc = zoo_delete(c->zh, c->p_me, -1);
    if (rc != ZOK && rc != ZNONODE) {
        br_warn("cluster: controlled shutdown: cannot delete %s: %s (the controller will move "
                "this broker's leaderships when its session ends)",
                c->p_me, zerror(rc));
        return br_clu__transient(rc) ? -EAGAIN : -EIO;
    }
    br_info("cluster: controlled shutdown: %s deleted: the controller moves this broker's "
            "leaderships to other in-sync replicas",
            c->p_me);
    return 0;
}

/* Under lock: partitions of the view this broker leads. */
static int led_here(const struct br_clu *c)
{
    int n = 0;
    for (int i = 0; i < c->ntopics; i++)
        for (int32_t p = 0; p < c->topics[i].np; p++)
            n += c->topics[i].p[p].zver >= 0 && c->topics[i].p[p].st.leader == c->conf.broker_id;
    return n;
}

int br_clu_leave(struct br_clu *c, int64_t wait_ms)
{
    if (!c)
        return 0;
    struct clu_req r = {.kind = REQ_LEAVE};
    int rc = br_clu__submit(c, &r);
    if (rc < 0)
        return rc;
    struct timespec dl = br_clu__deadline_in(wait_ms);
    pthread_mutex_lock(&c->lock);
    int n;
    while ((n = led_here(c)) > 0 && !c->stop)
        if (pthread_cond_timedwait(&c->cond, &c->lock, &dl) == ETIMEDOUT) {
            n = led_here(c);
            break;
        }
    pthread_mutex_unlock(&c->lock);
    if (n > 0)
        br_warn("cluster: controlled shutdown: still leading %d partition(s) after %lld ms "
                "(no other live in-sync replica, or the controller did not act): stopping anyway",
                n, (long long)wait_ms);
    else
        br_info("cluster: controlled shutdown: this broker leads no partition");
    return n;
}
