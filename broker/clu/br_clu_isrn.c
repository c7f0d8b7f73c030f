/*
 * br_clu_isrn — the controller reads and deletes the ISR change notifications (issue 18,
 * docs/cluster.md "Replication"), as Kafka's controller does in ZooKeeper mode. See
 * br_clu_int.h for the contract.
 *
 * The znodes: /isr_change_notification/isr_change_<seq>, persistent sequential,
 * {"version":1,"partitions":[{"topic":"t","partition":0},...]}, written by a partition's leader
 * after each ISR change it writes (br_clu_lead.c). Nothing else deletes them: without a reader
 * ZooKeeper would keep one znode per ISR change for ever.
 *
 * Only the controller reads them. It watches the children of /isr_change_notification (the
 * watch is set at each read, so a broker that is no longer the controller stops getting it
 * after one last firing, ignored), and reads them again after each election (what is already
 * there is processed by the new controller) and after a new session. For each notification,
 * oldest first: the data is read, every partition it names has its state znode's version
 * compared with the view's (an exists, no data); a state newer than the view, or one the view
 * lacks, is marked to be read again (br_clu__topics_mark; br_clu__read_topics: how this broker
 * learns partition states until controller requests replace the watches, see docs/cluster.md
 * "How brokers learn state"); then the notification is deleted. A notification
 * that is not one (malformed, not version 1) is deleted too, with a warning naming it.
 * NoNode on the read or the delete means another broker (an earlier controller) got there
 * first: fine.
 *
 * Bounded per loop turn: at most ISRN_TURN_MAX notifications and ISRN_READS_MAX state reads;
 * what is left is done the next turn (the caller is told so, and does not wait in between).
 * Once the whole view is to be read again (marks past their bound) no more states are read
 * this turn: that read covers every partition. Listing the children is one getChildren of every
 * name; past about 40,000 notifications (ZooKeeper's jute.maxbuffer) that reply fails, as Kafka's
 * would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_clu_int.h"
#include "br_log.h"

#define ISRN_PREFIX    "isr_change_"
#define ISRN_TURN_MAX  200  /* notifications per loop turn */
#define ISRN_READS_MAX 1000 /* state reads per loop turn */

static void on_isrn(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)state;
    (void)path;
    struct br_clu *c = ctx;
    br_clu__watch_mark(c, type, &c->isrn_dirty);
}

/* What one loop turn has done so far. */
struct turn {
    struct br_clu *c;
    int reads;  /* state reads made */
    bool stale; /* the whole view is to be read again: no more reads needed */
    int rc;     /* the ZooKeeper code that stopped the turn */
};

/* The view's partition p of topic name (the cluster thread reads the view without the lock),
 * or NULL when the view has no such partition. */
static const struct cpart *view_part(const struct br_clu *c, const char *name, int32_t p)
{
    int lo = 0, hi = c->ntopics;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int cmp = strcmp(c->topics[mid].name, name);
        if (cmp == 0)
            return p < c->topics[mid].np ? &c->topics[mid].p[p] : NULL;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* br_clu_json_isr_change_each's fn: whether the view has partition (topic, p)'s state as
 * ZooKeeper has it; when not, the view is marked dirty. Non-zero stops the notification (a
 * ZooKeeper error: kept, tried again next turn). */
static int refresh_one(void *ctx, const char *topic, int32_t p)
{
    struct turn *tu = ctx;
    struct br_clu *c = tu->c;
    if (tu->stale)
        return 0;
    char path[PATH_MAX_LEN];
    if (snprintf(path, sizeof path, "%s/%s/partitions/%d/state", c->p_topics, topic, (int)p) >=
        (int)sizeof path)
        return 0; /* (no such partition: no name that long fits a znode path here) */
    const struct cpart *cp = view_part(c, topic, p);
    int version = -1;
    if (tu->reads < ISRN_READS_MAX) {
        struct Stat st;
        tu->reads++;
        int rc = zoo_exists(c->zh, path, 0, &st);
        if (rc != ZOK && rc != ZNONODE) {
            tu->rc = rc;
            return 1;
        }
        version = rc == ZOK ? st.version : -1;
        if ((cp ? cp->zver : -1) == version)
            return 0; /* the view has it */
    }
    /* newer than the view (or not read: more than a turn's reads): read again */
    tu->stale = br_clu__topics_mark(c, topic, strlen(topic), p);
    return 0;
}

/* Reads, acts on and deletes notification child; a ZooKeeper code (ZOK also when it was gone
 * already, or was garbage). */
static int one_notification(struct turn *tu, const char *child)
{
    struct br_clu *c = tu->c;
    char path[PATH_MAX_LEN];
    if (snprintf(path, sizeof path, "%s/%s", c->p_isrn, child) >= (int)sizeof path)
        return ZOK; /* (cannot be: ZooKeeper's names are shorter) */
    int len = BIG_MAX;
    struct Stat st;
    memset(&st, 0, sizeof st);
    int rc = zoo_get(c->zh, path, 0, c->big, &len, &st);
    if (rc == ZNONODE)
        return ZOK; /* (deleted by another broker meanwhile) */
    if (rc != ZOK)
        return rc;
    tu->rc = ZOK;
    int prc = len > 0 && st.dataLength <= len
                  ? br_clu_json_isr_change_each(c->big, (size_t)len, refresh_one, tu)
                  : -1;
    if (prc > 0)
        return tu->rc; /* a state could not be read: kept for the next turn */
    if (prc < 0)
        br_warn_limited("cluster: controller: %s is not an ISR change notification (%d bytes): "
                        "deleted",
                        path, (int)st.dataLength);
    rc = zoo_delete(c->zh, path, -1);
    if (rc == ZOK || rc == ZNONODE)
        return ZOK;
    if (br_clu__transient(rc))
        return rc;
    br_warn_limited("cluster: controller: cannot delete %s: %s", path, zerror(rc));
    return ZOK; /* (listed again next time: not worth stopping the others for) */
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int br_clu__isr_changes(struct br_clu *c, bool *more)
{
    *more = false;
    struct String_vector kids = {0};
    int rc = zoo_wget_children(c->zh, c->p_isrn, on_isrn, c, &kids);
    if (rc == ZNONODE) {
        /* (deleted by hand: made again, so that the watch is set) */
        rc = br_clu__ensure_path(c, c->p_isrn);
        if (rc == ZOK)
            rc = zoo_wget_children(c->zh, c->p_isrn, on_isrn, c, &kids);
    }
    if (rc != ZOK)
        return rc;
    /* oldest first: the sequence numbers have a fixed width, so names sort as numbers */
    if (kids.count > 1)
        qsort(kids.data, (size_t)kids.count, sizeof(kids.data[0]), by_name);
    struct turn tu = {.c = c};
    pthread_mutex_lock(&c->lock);
    tu.stale = c->tdirty.full; /* (the whole view is read again next) */
    pthread_mutex_unlock(&c->lock);
    int done = 0;
    for (int i = 0; rc == ZOK && i < kids.count; i++) {
        if (strncmp(kids.data[i], ISRN_PREFIX, strlen(ISRN_PREFIX)) != 0)
            continue; /* (not a notification: left alone) */
        if (done == ISRN_TURN_MAX) {
            *more = true;
            break;
        }
        rc = one_notification(&tu, kids.data[i]);
        done++;
    }
    deallocate_String_vector(&kids);
    if (done > 0)
        br_debug("cluster: controller: %d ISR change notification(s) read%s", done,
                 tu.stale ? ": the view is read again" : "");
    return rc;
}
