/*
 * br_clu — see br_clu.h and docs/cluster.md.
 *
 * Threads
 *   starting thread  br_clu_open: the first session, registration, election, the first view.
 *   clu              every ZooKeeper call afterwards, synchronously (the C client's
 *                    synchronous calls must not be made from its own completion thread, where
 *                    the watchers run: they would wait for themselves).
 *   (zookeeper)      the C client's I/O and completion threads: on_session and on_watch only
 *                    set flags under c->lock and signal c->cond.
 *
 * Paths are built with the chroot in front by this file (the session itself has none), so the
 * chroot can be created like any other parent.
 */
#include "br_clu.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "br_clock.h"
#include "br_clu_int.h"
#include "br_clu_meta.h"
#include "br_log.h"

/* ---- helpers -------------------------------------------------------------------------------- */

int64_t br_clu__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec br_clu__deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

static void zk_log(const char *msg) { br_debug("zookeeper client: %s", msg); }

/* A lost connection, a timeout: worth retrying on the same session. */
bool br_clu__transient(int rc)
{
    return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONMOVED ||
           rc == ZINVALIDSTATE || rc == ZCLOSING;
}

int br_clu_parse_connect(const char *connect, char *hosts, size_t hcap, char *chroot, size_t ccap)
{
    const char *slash = strchr(connect, '/');
    size_t hl = slash ? (size_t)(slash - connect) : strlen(connect);
    if (hl == 0 || hl >= hcap)
        return -EINVAL;
    memcpy(hosts, connect, hl);
    hosts[hl] = 0;
    const char *cr = slash ? slash : "";
    size_t cl = strlen(cr);
    if (cl >= ccap || (cl && (cl == 1 || cr[cl - 1] == '/' || strstr(cr, "//"))))
        return -EINVAL;
    memcpy(chroot, cr, cl + 1);
    return 0;
}

/* ---- watchers (the C client's threads) ------------------------------------------------------ */

static void on_session(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)path;
    struct br_clu *c = ctx;
    if (type != ZOO_SESSION_EVENT)
        return;
    pthread_mutex_lock(&c->lock);
    c->zstate = state;
    c->state_dirty = true;
    if (state == ZOO_EXPIRED_SESSION_STATE)
        c->expired = true;
    if (state == ZOO_CONNECTED_STATE)
        c->ids_dirty = c->ctl_dirty = c->topics_dirty = c->cfg_dirty = c->isrn_dirty =
            c->acl_dirty = true; /* re-read what may have changed meanwhile */
    pthread_cond_broadcast(&c->cond);
    if (state == ZOO_CONNECTED_STATE)
        c->tdirty.full = true; /* (every topic: watches of an expired session are lost) */
    pthread_mutex_unlock(&c->lock);
}

void br_clu__watch_mark(struct br_clu *c, int type, bool *dirty)
{
    if (type == ZOO_SESSION_EVENT)
        return; /* on_session has it */
    pthread_mutex_lock(&c->lock);
    *dirty = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void on_ids(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)state;
    (void)path;
    struct br_clu *c = ctx;
    br_clu__watch_mark(c, type, &c->ids_dirty);
}

static void on_controller(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)state;
    (void)path;
    struct br_clu *c = ctx;
    br_clu__watch_mark(c, type, &c->ctl_dirty);
}

/* ---- the session ---------------------------------------------------------------------------- */

static int session_start(struct br_clu *c)
{
    pthread_mutex_lock(&c->lock);
    c->zstate = 0;
    c->expired = false;
    pthread_mutex_unlock(&c->lock);
    errno = 0;
    zhandle_t *zh =
        zookeeper_init2(c->hosts, on_session, (int)c->conf.session_timeout_ms, NULL, c, 0, zk_log);
    if (!zh)
        return errno ? -errno : -EINVAL;
    pthread_mutex_lock(&c->lock);
    c->zh = zh;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* Closes the session: ZooKeeper deletes its ephemeral nodes now. */
static void session_stop(struct br_clu *c)
{
    pthread_mutex_lock(&c->lock);
    zhandle_t *zh = c->zh;
    c->zh = NULL;
    pthread_mutex_unlock(&c->lock);
    if (zh)
        zookeeper_close(zh);
}

/* Waits (at most ms) for the session to be connected: 0, -ETIMEDOUT, -ECONNRESET (it expired
 * first), -ECANCELED (br_clu_close). */
static int session_wait(struct br_clu *c, int64_t ms)
{
    struct timespec dl = br_clu__deadline_in(ms);
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        if (c->stop) {
            rc = -ECANCELED;
            break;
        }
        if (c->expired || c->zstate == ZOO_AUTH_FAILED_STATE) {
            rc = -ECONNRESET;
            break;
        }
        if (c->zstate == ZOO_CONNECTED_STATE)
            break;
        if (pthread_cond_timedwait(&c->cond, &c->lock, &dl) == ETIMEDOUT) {
            rc = c->zstate == ZOO_CONNECTED_STATE ? 0 : -ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Creates path and every parent as persistent empty nodes (those that exist are fine). */
int br_clu__ensure_path(struct br_clu *c, const char *path)
{
    char p[PATH_MAX_LEN];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        char keep = *s;
        *s = 0;
        int rc = zoo_create(c->zh, p, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (rc != ZOK && rc != ZNODEEXISTS)
            return rc;
        *s = keep;
        if (!keep)
            return ZOK;
    }
}

/* ---- registration and election (the thread that owns the session) --------------------------- */

static int do_register(struct br_clu *c)
{
    char json[DATA_MAX];
    int n = br_clu_json_broker(json, sizeof json, c->conf.endpoints, c->conf.n_endpoints,
                               c->conf.rack, br_clu__wall_ms());
    if (n < 0)
        return ZBADARGUMENTS;
    int rc = zoo_create(c->zh, c->p_me, json, n, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
    if (rc == ZNODEEXISTS) {
        /* ours after all when a lost connection hid the answer to an earlier create */
        struct Stat st;
        const clientid_t *me = zoo_client_id(c->zh);
        if (zoo_exists(c->zh, c->p_me, 0, &st) == ZOK && me && st.ephemeralOwner == me->client_id)
            rc = ZOK;
    }
    return rc;
}

static int64_t parse_epoch(const char *buf, int len)
{
    char s[32];
    if (len <= 0 || len >= (int)sizeof s)
        return 0;
    memcpy(s, buf, (size_t)len);
    s[len] = 0;
    return strtoll(s, NULL, 10);
}

/*
 * Kafka's registerControllerAndIncrementControllerEpoch: read /controller_epoch (E, version
 * V), then one multi: create /controller (ephemeral) and set /controller_epoch to E+1 only if
 * its version is still V. NodeExists: another broker is the controller. BadVersion: another
 * broker won in between; read again.
 */
static int do_elect(struct br_clu *c)
{
    for (int attempt = 0; attempt < ELECT_TRIES; attempt++) {
        char buf[64];
        int len = (int)sizeof buf;
        struct Stat st;
        int rc = zoo_get(c->zh, c->p_epoch, 0, buf, &len, &st);
        if (rc == ZNONODE) {
            rc = zoo_create(c->zh, c->p_epoch, "0", 1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
            if (rc != ZOK && rc != ZNODEEXISTS)
                return rc;
            continue;
        }
        if (rc != ZOK)
            return rc;
        int64_t epoch = parse_epoch(buf, len) + 1;
        char cjson[128], ejson[32];
        int cl = br_clu_json_controller(cjson, sizeof cjson, c->conf.broker_id, br_clu__wall_ms());
        int el = snprintf(ejson, sizeof ejson, "%lld", (long long)epoch);
        zoo_op_t ops[2];
        zoo_op_result_t res[2];
        struct Stat est;
        memset(res, 0, sizeof res);
        zoo_create_op_init(&ops[0], c->p_controller, cjson, cl, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL,
                           NULL, 0);
        zoo_set_op_init(&ops[1], c->p_epoch, ejson, el, st.version, &est);
        rc = zoo_multi(c->zh, 2, ops, res);
        if (rc == ZOK) {
            c->ctl_zver = est.version;
            br_info("cluster: this broker (%d) is the controller, controller epoch %lld",
                    (int)c->conf.broker_id, (long long)epoch);
            return ZOK;
        }
        if (res[0].err == ZNODEEXISTS)
            return ZOK; /* another broker is the controller */
        if (res[1].err != ZBADVERSION)
            return rc;
    }
    return ZOPERATIONTIMEOUT; /* kept losing races: tried again later */
}

/* Reads /controller (with a watch), electing when there is none, and /controller_epoch. */
static int read_controller(struct br_clu *c)
{
    for (int attempt = 0; attempt < ELECT_TRIES; attempt++) {
        struct Stat st;
        int rc = zoo_wexists(c->zh, c->p_controller, on_controller, c, &st);
        if (rc == ZNONODE) {
            rc = do_elect(c);
            if (rc != ZOK)
                return rc;
            continue;
        }
        if (rc != ZOK)
            return rc;
        char buf[512];
        int len = (int)sizeof buf;
        rc = zoo_get(c->zh, c->p_controller, 0, buf, &len, &st);
        if (rc == ZNONODE)
            continue;
        if (rc != ZOK)
            return rc;
        int64_t id = -1;
        if (len <= 0 || br_clu_json_int(buf, (size_t)len, "brokerid", &id) < 0) {
            br_warn("cluster: %s holds no broker id: '%.*s'", c->p_controller, len > 0 ? len : 0,
                    buf);
            id = -1;
        }
        char eb[64];
        int el = (int)sizeof eb;
        int64_t epoch = 0;
        struct Stat est;
        if (zoo_get(c->zh, c->p_epoch, 0, eb, &el, &est) == ZOK) {
            epoch = parse_epoch(eb, el);
            /* /controller and /controller_epoch are written in one multi: while /controller
             * names this broker, the epoch's version is the one it wrote */
            if (id == c->conf.broker_id)
                c->ctl_zver = est.version;
        }
        pthread_mutex_lock(&c->lock);
        bool changed = c->controller != (int32_t)id || c->epoch != epoch;
        c->controller = (int32_t)id;
        c->epoch = epoch;
        pthread_mutex_unlock(&c->lock);
        if (changed)
            br_info("cluster: controller is broker %lld (controller epoch %lld)", (long long)id,
                    (long long)epoch);
        return ZOK;
    }
    return ZOPERATIONTIMEOUT;
}

static int by_id(const void *a, const void *b)
{
    int32_t x = ((const struct member *)a)->id, y = ((const struct member *)b)->id;
    return x < y ? -1 : x > y;
}

/* Reads /brokers/ids (with a watch) and every registration; replaces the view. */
static int read_brokers(struct br_clu *c)
{
    struct String_vector kids = {0};
    int rc = zoo_wget_children(c->zh, c->p_ids, on_ids, c, &kids);
    if (rc != ZOK)
        return rc;
    struct member *m = calloc(kids.count > 0 ? (size_t)kids.count : 1, sizeof(*m));
    if (!m) {
        deallocate_String_vector(&kids);
        return ZSYSTEMERROR;
    }
    int n = 0;
    char data[DATA_MAX];
    for (int i = 0; i < kids.count && rc == ZOK; i++) {
        char *stop;
        long id = strtol(kids.data[i], &stop, 10);
        if (*stop || stop == kids.data[i] || id < 0 || id > INT32_MAX)
            continue;
        char path[PATH_MAX_LEN];
        if (snprintf(path, sizeof path, "%s/%s", c->p_ids, kids.data[i]) >= (int)sizeof path)
            continue;
        int len = (int)sizeof data;
        int grc = zoo_get(c->zh, path, 0, data, &len, NULL);
        if (grc == ZNONODE)
            continue; /* left since the listing */
        if (grc != ZOK) {
            rc = grc;
            break;
        }
        int ne = len > 0 ? br_clu_json_endpoints(data, (size_t)len, m[n].ep, BR_MAX_LISTENERS) : -1;
        if (ne < 0) {
            br_warn_limited("cluster: %s: registration without readable endpoints", path);
            continue;
        }
        m[n].id = (int32_t)id;
        m[n].n = ne;
        /* (none, null or too long: no rack) */
        if (br_clu_json_str(data, (size_t)len, "rack", m[n].rack, sizeof m[n].rack) < 0)
            m[n].rack[0] = '\0';
        n++;
    }
    deallocate_String_vector(&kids);
    if (rc != ZOK) {
        free(m);
        return rc;
    }
    qsort(m, (size_t)n, sizeof(*m), by_id);
    char ids[256] = "";
    size_t il = 0;
    for (int i = 0; i < n && il + 48 < sizeof ids; i++)
        il += (size_t)snprintf(ids + il, sizeof ids - il, "%s%d%s%.32s", i ? "," : "", (int)m[i].id,
                               m[i].rack[0] ? "@" : "", m[i].rack);
    pthread_mutex_lock(&c->lock);
    bool changed = n != c->nmembers;
    for (int i = 0; !changed && i < n; i++)
        changed = m[i].id != c->members[i].id || strcmp(m[i].rack, c->members[i].rack) != 0;
    struct member *old = c->members;
    c->members = m;
    c->nmembers = n;
    pthread_mutex_unlock(&c->lock);
    free(old);
    if (changed)
        br_info("cluster: %d live broker(s): %s", n, ids);
    return ZOK;
}

/* ---- the cluster thread --------------------------------------------------------------------- */

/* How often the leader looks for followers out of sync: half replica.lag.time.max.ms, as
 * Kafka's isr-expiration task. */
static int64_t lag_tick_ms(const struct br_clu *c)
{
    int64_t lag = c->conf.replica_lag_time_max_ms > 0 ? c->conf.replica_lag_time_max_ms : 30000;
    return lag / 2 > 50 ? lag / 2 : 50;
}

/* leader.imbalance.check.interval.seconds, in ms. */
static int64_t rebalance_ms(const struct br_clu *c)
{
    return c->conf.imbalance_check_ms > 0 ? c->conf.imbalance_check_ms : 300000;
}

/* The controller's preferred-leader check (br_clu_prefer.c), every rebalance_ms while this
 * broker is the controller and the view is current; *next: when it is due (br_now_ms), the
 * first one an interval after this broker became the controller. A failed check is tried
 * again at the next interval; one cut at its turn's cap (BR_CLU_BUDGET_MORE) goes on at the
 * next turn, soon (the wait's 50 ms floor), after that turn's reads; ZBADVERSION: another
 * controller since (read who). */
static int rebalance_turn(struct br_clu *c, bool ready, int64_t *next)
{
    int64_t now = br_now_ms();
    bool ctl = c->conf.leader_rebalance && c->controller == c->conf.broker_id && c->ctl_zver >= 0;
    if (!ctl || *next == 0) {
        *next = now + rebalance_ms(c);
        return ZOK;
    }
    if (!ready || now < *next)
        return ZOK;
    *next = now + rebalance_ms(c);
    int rc = br_clu__rebalance(c);
    if (rc == BR_CLU_BUDGET_MORE) {
        *next = now; /* (the rest, once the next turn has read what changed) */
        return ZOK;
    }
    if (rc != ZOK && rc != ZBADVERSION && !br_clu__transient(rc))
        br_warn_limited("cluster: controller: preferred-leader check failed: %s (next in %lld ms)",
                        zerror(rc), (long long)rebalance_ms(c));
    return rc;
}

static void *clu_main(void *arg)
{
    struct br_clu *c = arg;
    br_log_set_thread("clu");
    bool need_session = false, need_register = false, need_ctl = false, need_ids = false;
    bool need_topics = false, need_reconcile = true;
    bool need_cfg = true; /* (cfg_resync: every held topic's configs, once the view is there) */
    bool need_isrn = true, isrn_more = false; /* (the controller's: br_clu_isrn.c) */
    bool need_acl = false;                    /* (br_clu_open read them all: br_clu_acl.c) */
    bool was_connected = true;                /* (br_clu_open returns connected) */
    int64_t rebalance_next = 0;               /* (br_now_ms; 0: not the controller) */
    struct clu_req *later = NULL; /* REQ_ELECTs cut at a turn's cap: go on after the reads */
    for (;;) {
        bool pending = need_session || need_register || need_ctl || need_ids || need_topics ||
                       need_reconcile || need_cfg || need_isrn || need_acl;
        pthread_mutex_lock(&c->lock);
        int64_t wait_ms = isrn_more || (later && !need_session) ? 0 : pending ? RETRY_MS : 1000;
        if (br_repl_count(c->repl) > 0 && lag_tick_ms(c) < wait_ms)
            wait_ms = lag_tick_ms(c); /* (followers out of sync are looked for) */
        if (rebalance_next > 0) {     /* (the controller's preferred-leader check) */
            int64_t due = rebalance_next - br_now_ms();
            if (due < 50)
                due = 50; /* (not busy while the view is not ready) */
            if (due < wait_ms)
                wait_ms = due;
        }
        struct timespec dl = br_clu__deadline_in(wait_ms);
        while (!c->stop && !c->expired && !c->ids_dirty && !c->ctl_dirty && !c->state_dirty &&
               !c->topics_dirty && !c->reqs && !c->isr_dirty && !c->cfg_dirty && !c->isrn_dirty &&
               !c->acl_dirty)
            if (pthread_cond_timedwait(&c->cond, &c->lock, &dl) == ETIMEDOUT)
                break;
        bool stop = c->stop;
        int zstate = c->zstate;
        c->state_dirty = false;
        if (c->expired && !need_session) {
            need_session = true;
            br_warn("cluster: ZooKeeper session expired: opening a new one and registering again");
        }
        need_ids |= c->ids_dirty;
        need_ctl |= c->ctl_dirty;
        need_topics |= c->topics_dirty;
        need_cfg |= c->cfg_dirty;
        need_isrn |= c->isrn_dirty;
        need_acl |= c->acl_dirty;
        c->ids_dirty = c->ctl_dirty = c->topics_dirty = c->isr_dirty = c->cfg_dirty =
            c->isrn_dirty = c->acl_dirty = false;
        struct clu_req *reqs = c->reqs;
        c->reqs = NULL;
        pthread_mutex_unlock(&c->lock);
        /* requests first (answered even while ZooKeeper is away: with its error) */
        for (struct clu_req *r = reqs, *next; r; r = next) {
            next = r->next;
            r->more = false;
            br_clu__run_req(c, r);
            if (r->more && !stop) { /* (cut at the turn's cap: after the reads below) */
                r->next = later;
                later = r;
                continue;
            }
            if (r->more)
                br_clu__elect_cancel(r);
            pthread_mutex_lock(&c->lock);
            r->done = true;
            pthread_cond_broadcast(&c->cond);
            pthread_mutex_unlock(&c->lock);
        }
        if (stop)
            break;
        bool connected = zstate == ZOO_CONNECTED_STATE;
        if (connected != was_connected && !need_session) {
            if (connected)
                br_info("cluster: ZooKeeper connection restored (same session)");
            else
                br_warn("cluster: ZooKeeper connection lost: serving the last view of the "
                        "cluster while the client reconnects");
        }
        was_connected = connected;
        if (need_session) {
            session_stop(c);
            if (session_start(c) < 0 || session_wait(c, c->conf.conn_timeout_ms) < 0) {
                br_warn_limited("cluster: no ZooKeeper session yet at %s: retrying", c->hosts);
                continue;
            }
            need_session = false;
            was_connected = true;
            need_register = need_ctl = need_ids = need_topics = need_cfg = need_isrn = true;
            c->cfg_resync = true; /* (notifications may have been missed, and purged) */
            c->acl_resync = need_acl = c->conf.acl_apply != NULL; /* (the same for ACLs) */
        }
        if (need_register && c->leaving)
            need_register = false; /* (stopping: the controller keeps it gone) */
        if (need_register) {
            int rc = do_register(c);
            if (rc == ZOK) {
                need_register = false;
                br_info("cluster: registered again as %s", c->p_me);
            } else if (!br_clu__transient(rc)) {
                br_err_limited("cluster: cannot register %s: %s (retrying)", c->p_me, zerror(rc));
            }
        }
        if (need_ctl && read_controller(c) == ZOK) {
            need_ctl = false;
            need_reconcile = true;
            need_isrn = true; /* (a new controller processes what is already there) */
        }
        if (need_ids && read_brokers(c) == ZOK) {
            need_ids = false;
            need_reconcile = true;
        }
        if (need_topics && br_clu__read_topics(c) == ZOK) {
            need_topics = false;
            need_reconcile = true;
        }
        /* topic configs changed at run time, once the view shows the topics (br_clu_config.c) */
        if (need_cfg && !need_topics && br_clu__cfg_changes(c) == ZOK)
            need_cfg = false;
        /* ACL change notifications, or every ACL after a new session (br_clu_acl.c) */
        if (need_acl && (!c->conf.acl_apply || br_clu__acl_changes(c) == ZOK))
            need_acl = false;
        /* ISR change notifications, the controller's: read and deleted, a turn's worth at a
         * time (isrn_more: the rest without waiting) (br_clu_isrn.c) */
        isrn_more = false;
        if (need_isrn && !need_ctl && !need_topics) {
            int rc = c->controller == c->conf.broker_id && c->ctl_zver >= 0
                         ? br_clu__isr_changes(c, &isrn_more)
                         : ZOK;
            if (rc != ZOK && !br_clu__transient(rc))
                br_warn_limited("cluster: controller: cannot read %s: %s (retrying)", c->p_isrn,
                                zerror(rc));
            need_isrn = rc != ZOK || isrn_more;
        }
        if (need_reconcile && !need_ctl && !need_ids && !need_topics) {
            int rc = c->controller == c->conf.broker_id ? br_clu__reconcile(c) : ZOK;
            if (rc == ZBADVERSION) /* another controller since: read who */
                need_ctl = true;
            else if (rc == ZOK)
                need_reconcile = false;
        }
        if (connected && !need_session && !need_topics && !c->leaving && br_repl_count(c->repl) > 0)
            (void)br_clu__isr_tick(c); /* (what failed is wanted again next turn) */
        /* ElectLeaders cut at a turn's cap go on now that the turn has read what changed (a
         * broker that died, a new session); cut again, they wait for the next turn */
        struct clu_req *again = later;
        later = NULL;
        for (struct clu_req *r = again, *next; r; r = next) {
            next = r->next;
            r->more = false;
            br_clu__run_req(c, r);
            if (r->more) {
                r->next = later;
                later = r;
                continue;
            }
            pthread_mutex_lock(&c->lock);
            r->done = true;
            pthread_cond_broadcast(&c->cond);
            pthread_mutex_unlock(&c->lock);
        }
        bool ready =
            connected && !need_session && !need_ctl && !need_ids && !need_topics && !need_reconcile;
        if (rebalance_turn(c, ready, &rebalance_next) == ZBADVERSION)
            need_ctl = true;
        if (c->controller != c->conf.broker_id || !c->conf.leader_rebalance)
            rebalance_next = 0;
    }
    /* (br_clu_close: whatever was asked meanwhile is refused) */
    pthread_mutex_lock(&c->lock);
    for (struct clu_req *r = later, *next; r; r = next) {
        next = r->next;
        br_clu__elect_cancel(r);
        r->done = true;
    }
    for (struct clu_req *r = c->reqs; r; r = r->next) {
        r->rc = -ECANCELED;
        r->done = true;
    }
    c->reqs = NULL;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* ---- open, close, the view ------------------------------------------------------------------ */

static void clu_free(struct br_clu *c)
{
    free(c->members);
    br_repl_free(c->repl);
    br_clu__topics_free(c->topics, c->ntopics);
    br_clu__acl_free(c);
    free(c->big);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static int open_fail(struct br_clu *c, int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int open_fail(struct br_clu *c, int rc, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    session_stop(c);
    clu_free(c);
    return rc;
}

int br_clu_open(const struct br_clu_conf *conf, struct br_clu **out, char *err, size_t errlen)
{
    *out = NULL;
    struct br_clu *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->conf = *conf;
    c->controller = -1;
    c->ctl_zver = -1;
    c->cfg_seq = -1;
    c->cfg_resync = true;
    c->acl_seq[0] = c->acl_seq[1] = -1;
    c->big = malloc(BIG_MAX);
    c->repl = br_repl_new(conf->broker_id, conf->replica_lag_time_max_ms, br_clu__isr_kick, c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (conf->rack && strlen(conf->rack) >= BR_CLU_RACK_MAX)
        return open_fail(c, -EINVAL, err, errlen, "broker.rack: longer than %d bytes",
                         BR_CLU_RACK_MAX - 1);
    if (br_clu_parse_connect(conf->connect, c->hosts, sizeof c->hosts, c->chroot,
                             sizeof c->chroot) < 0)
        return open_fail(c, -EINVAL, err, errlen, "zookeeper.connect: '%s' is not valid",
                         conf->connect);
    snprintf(c->p_ids, sizeof c->p_ids, "%s/brokers/ids", c->chroot);
    if (snprintf(c->p_me, sizeof c->p_me, "%s/%d", c->p_ids, (int)conf->broker_id) >=
        (int)sizeof c->p_me)
        return open_fail(c, -EINVAL, err, errlen, "zookeeper.connect: chroot too long");
    snprintf(c->p_controller, sizeof c->p_controller, "%s/controller", c->chroot);
    snprintf(c->p_epoch, sizeof c->p_epoch, "%s/controller_epoch", c->chroot);
    snprintf(c->p_topics, sizeof c->p_topics, "%s/brokers/topics", c->chroot);
    snprintf(c->p_deletes, sizeof c->p_deletes, "%s/admin/delete_topics", c->chroot);
    snprintf(c->p_configs, sizeof c->p_configs, "%s/config/topics", c->chroot);
    snprintf(c->p_pid_block, sizeof c->p_pid_block, "%s/latest_producer_id_block", c->chroot);
    snprintf(c->p_changes, sizeof c->p_changes, "%s/config/changes", c->chroot);
    snprintf(c->p_isrn, sizeof c->p_isrn, "%s/isr_change_notification", c->chroot);
    if (!c->big || !c->repl)
        return open_fail(c, -ENOMEM, err, errlen, "cluster: out of memory");

    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
    int rc = session_start(c);
    if (rc < 0)
        return open_fail(c, rc, err, errlen, "zookeeper.connect=%s: %s", conf->connect,
                         strerror(-rc));
    rc = session_wait(c, conf->conn_timeout_ms);
    if (rc < 0)
        return open_fail(c, -ETIMEDOUT, err, errlen,
                         "cannot connect to ZooKeeper at %s within %lld ms "
                         "(zookeeper.connection.timeout.ms)",
                         c->hosts, (long long)conf->conn_timeout_ms);
    br_info("cluster: ZooKeeper session with %s%s, timeout %d ms", c->hosts, c->chroot,
            zoo_recv_timeout(c->zh));
    if ((rc = br_clu__ensure_path(c, c->p_ids)) != ZOK ||
        (rc = br_clu__ensure_path(c, c->p_topics)) != ZOK ||
        (rc = br_clu__ensure_path(c, c->p_deletes)) != ZOK ||
        (rc = br_clu__ensure_path(c, c->p_configs)) != ZOK ||
        (rc = br_clu__ensure_path(c, c->p_changes)) != ZOK ||
        (rc = br_clu__ensure_path(c, c->p_isrn)) != ZOK)
        return open_fail(c, -EIO, err, errlen, "ZooKeeper: cannot create %s: %s", c->p_ids,
                         zerror(rc));
    if ((rc = br_clu__cluster_id(c)) != ZOK)
        return open_fail(c, -EIO, err, errlen, "ZooKeeper: cannot read or create /cluster/id: %s",
                         zerror(rc));
    if (conf->data_dir) { /* this cluster's and this broker's data directory (br_clu_meta.h) */
        char why[1024];
        rc = br_clu_meta_check(conf->data_dir, conf->broker_id, c->cluster_id, why, sizeof why);
        if (rc < 0)
            return open_fail(c, rc, err, errlen, "%s", why);
    }
    rc = do_register(c);
    if (rc == ZNODEEXISTS)
        return open_fail(c, -EEXIST, err, errlen,
                         "broker.id %d is already registered in ZooKeeper (%s exists: "
                         "NodeExists): another live broker has this id, or this broker's "
                         "previous session has not expired yet (zookeeper.session.timeout.ms)",
                         (int)conf->broker_id, c->p_me);
    if (rc != ZOK)
        return open_fail(c, -EIO, err, errlen, "ZooKeeper: cannot register %s: %s", c->p_me,
                         zerror(rc));
    br_info("cluster: registered as %s", c->p_me);
    if ((rc = read_controller(c)) != ZOK || (rc = read_brokers(c)) != ZOK ||
        (rc = br_clu__read_topics(c)) != ZOK)
        return open_fail(c, -EIO, err, errlen, "ZooKeeper: cannot read the cluster's state: %s",
                         zerror(rc));
    if (conf->acl_apply && (rc = br_clu__acl_load(c)) != ZOK)
        return open_fail(c, -EIO, err, errlen, "ZooKeeper: cannot read the ACLs: %s",
                         rc == ZSYSTEMERROR ? "refused (logged above)" : zerror(rc));
    /* users' and client ids' configs before clients are let in (br_clu_ents.h): the change
     * notifications listed first (their newest sequence recorded), so that the cluster thread
     * acts on every one written after this read; a broker that cannot read them does not
     * start (it would serve credentials deleted in ZooKeeper from its cache) */
    if ((rc = br_clu__cfg_mark(c)) != ZOK || (rc = br_clu__ent_resync(c, true)) != ZOK)
        return open_fail(c, -EIO, err, errlen,
                         "ZooKeeper: cannot read the users' and client ids' configs: %s",
                         rc == ZSYSTEMERROR ? "out of memory" : zerror(rc));
    c->ent_fresh = c->ent_done = true;
    if (pthread_create(&c->thread, NULL, clu_main, c) != 0)
        return open_fail(c, -EAGAIN, err, errlen, "cannot start the cluster thread");
    c->thread_started = true;
    *out = c;
    return 0;
}

void br_clu_close(struct br_clu *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    session_stop(c);
    br_info("cluster: left (ZooKeeper session closed)");
    clu_free(c);
}

int br_clu_nodes(struct br_clu *c, const char *listener, struct br_clu_node *out, int max)
{
    int n = 0;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->nmembers; i++) {
        const struct member *m = &c->members[i];
        for (int e = 0; e < m->n; e++) {
            if (strcmp(m->ep[e].listener, listener) != 0)
                continue;
            if (n < max) {
                out[n].id = m->id;
                snprintf(out[n].host, sizeof out[n].host, "%s", m->ep[e].host);
                out[n].port = m->ep[e].port;
                snprintf(out[n].rack, sizeof out[n].rack, "%s", m->rack);
            }
            n++;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

bool br_clu__live(const struct br_clu *c, int32_t id)
{
    for (int i = 0; i < c->nmembers; i++)
        if (c->members[i].id == id)
            return true;
    return false;
}

struct br_repl *br_clu_repl(struct br_clu *c) { return c->repl; }

int32_t br_clu_controller(struct br_clu *c, int64_t *epoch)
{
    pthread_mutex_lock(&c->lock);
    int32_t id = c->controller;
    if (epoch)
        *epoch = c->epoch;
    pthread_mutex_unlock(&c->lock);
    return id;
}
