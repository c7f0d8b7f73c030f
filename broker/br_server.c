/*
 * br_server — start-up, the threads, signals, shutdown (see br_server.h).
 *
 * Threads
 *   main          binds listeners, opens the store, starts the others, waits for a signal
 *                 (sigtimedwait: SIGINT/SIGTERM/SIGHUP/SIGUSR1/SIGUSR2 are blocked everywhere
 * else), then stops them; meanwhile, once a second, writes the log's pending summaries of repeated
 * lines (br_log_flush_limited). SIGHUP is logged and changes nothing: the configuration is read
 * once and the log is stderr. SIGUSR1 / SIGUSR2 make the log one level more / less verbose. loopN
 * one per num.network.threads: its io_uring, its SO_REUSEPORT listening socket per listener, its
 * connections. housekeeping  st_store_maintain every log.retention.check.interval.ms and
 *                 st_store_scrub at log.scrub.bytes.per.sec, so disk reads of the scrubber
 *                 never stall a loop.
 *   admin         runs the jobs handlers hand it (the context's admin operation, br_ctx.h)
 *                 and posts their responses back to their loops.
 *   (storage)     the flusher calls on_synced() after each fdatasync: BR_WAIT_SYNC.
 *   (groups)      the coordinator's timer thread (br_group.h).
 *   (txn)         the transaction coordinator's timer thread (br_txn.h, br_txn_host.c).
 *   http          metrics.listener (br_stats.h, br_http.h): /metrics, /health, /log-level.
 */
#include "br_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "br_api.h"
#include "br_auth.h"
#include "br_clock.h"
#include "br_clu_fetch.h"
#include "br_clu_link.h"
#include "st_clean.h"
#include "br_conn.h"
#include "br_group.h"
#include "br_log.h"
#include "br_cotopic.h"
#include "br_coload.h"
#include "br_clu_repl.h"
#include "br_usercfg.h"
#include "br_dynconf.h"
#include "br_offsets.h"
#include "br_stats.h"
#include "br_tls.h"
#include "br_xfer.h"

/* ---- the request context of a loop (br_ctx.h) ------------------------------------------------ */

static struct br_server_loop *per_loop_of(struct br_ctx *x)
{
    return (struct br_server_loop *)((char *)x - offsetof(struct br_server_loop, ctx));
}

static int op_park(struct br_ctx *x, struct br_resp *r, enum br_wait_on on, int64_t deadline_ms,
                   br_wake_fn wake, void *arg)
{
    (void)x;
    return br_conn_park(r, on, deadline_ms, wake, arg);
}

static void op_unpark(struct br_ctx *x, struct br_resp *r)
{
    (void)x;
    br_conn_unpark(r);
}

static void op_post(struct br_ctx *x, struct br_resp *r)
{
    (void)x;
    br_conn_post(r);
}

static void op_ready(struct br_ctx *x, struct br_resp *r)
{
    (void)x;
    br_conn_resp_ready(r);
}

static void op_fail(struct br_ctx *x, struct br_resp *r, const char *why)
{
    (void)x;
    br_conn_resp_fail(r, why);
}

static void op_notify(struct br_ctx *x, enum br_wait_on on)
{
    struct br_loop *l = x->host;
    br_loops_notify(l->all, l->nall, l, on);
}

static void admin_wake(struct br_resp *r, enum br_wake why, void *arg)
{
    (void)r;
    (void)why;
    struct br_job *j = arg;
    j->done(j);
}

static int op_admin(struct br_ctx *x, struct br_job *j)
{
    struct br_server *srv = per_loop_of(x)->srv;
    j->next = NULL;
    int rc = br_conn_park(j->r, BR_WAIT_POST, INT64_MAX, admin_wake, j);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&srv->admin_lock);
    if (srv->admin_tail)
        srv->admin_tail->next = j;
    else
        srv->admin_head = j;
    srv->admin_tail = j;
    pthread_cond_signal(&srv->admin_cond);
    pthread_mutex_unlock(&srv->admin_lock);
    return 0;
}

static int64_t op_now_ms(struct br_ctx *x) { return ((struct br_loop *)x->host)->now_ms; }

static int64_t op_wall_ms(struct br_ctx *x)
{
    (void)x;
    return br_wall_ms();
}

static bool op_stopping(struct br_ctx *x) { return ((struct br_loop *)x->host)->stopping; }

static const struct br_ctx_ops loop_ops = {
    .park = op_park,
    .unpark = op_unpark,
    .post = op_post,
    .ready = op_ready,
    .fail = op_fail,
    .notify = op_notify,
    .admin = op_admin,
    .now_ms = op_now_ms,
    .wall_ms = op_wall_ms,
    .stopping = op_stopping,
};

/* Every complete request frame of a loop's connections. */
static int on_frame(void *arg, const struct br_peer *peer, uint8_t *frame, size_t len,
                    struct br_resp *r)
{
    return br_dispatch(arg, peer, frame, len, r);
}

/* ---- the admin thread ---------------------------------------------------------------------- */

static void *admin_main(void *arg)
{
    struct br_server *srv = arg;
    br_log_set_thread("admin");
    pthread_mutex_lock(&srv->admin_lock);
    for (;;) {
        while (!srv->admin_head && !srv->admin_stop)
            pthread_cond_wait(&srv->admin_cond, &srv->admin_lock);
        struct br_job *j = srv->admin_head;
        if (!j)
            break; /* stopping and nothing queued */
        srv->admin_head = j->next;
        if (!srv->admin_head)
            srv->admin_tail = NULL;
        pthread_mutex_unlock(&srv->admin_lock);
        j->run(j);
        j->x->ops->post(j->x, j->r);
        pthread_mutex_lock(&srv->admin_lock);
    }
    pthread_mutex_unlock(&srv->admin_lock);
    return NULL;
}

/* ---- loop threads ---------------------------------------------------------------------------- */

static void signal_started(struct br_server_loop *sl, int rc)
{
    struct br_server *srv = sl->srv;
    pthread_mutex_lock(&srv->start_lock);
    sl->start_rc = rc;
    srv->started++;
    pthread_cond_broadcast(&srv->start_cond);
    pthread_mutex_unlock(&srv->start_lock);
}

/* network.threads.pin: the calling loop thread onto the (id mod n)-th CPU of the process's
 * affinity mask (a cpuset or taskset narrows it; the loops spread over what is left). */
static void pin_loop(const struct br_loop *loop)
{
    cpu_set_t allowed, one;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
        br_warn("network.threads.pin: sched_getaffinity: %s", strerror(errno));
        return;
    }
    int n = CPU_COUNT(&allowed), want = loop->id % (n > 0 ? n : 1), cpu = -1;
    for (int c = 0, k = 0; c < CPU_SETSIZE && cpu < 0; c++)
        if (CPU_ISSET(c, &allowed) && k++ == want)
            cpu = c;
    if (cpu < 0)
        return;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
    if (rc != 0)
        br_warn("network.threads.pin: CPU %d: %s", cpu, strerror(rc));
    else
        br_info("pinned to CPU %d (network.threads.pin)", cpu);
}

static void *loop_main(void *arg)
{
    struct br_server_loop *sl = arg;
    struct br_loop *loop = sl->ctx.host;
    char name[16];
    snprintf(name, sizeof(name), "loop%d", loop->id);
    br_log_set_thread(name);
    if (loop->cfg->network_threads_pin)
        pin_loop(loop);
    int rc = br_loop_init(loop);
    signal_started(sl, rc);
    if (rc < 0)
        return NULL;
    br_loop_run(loop);
    br_loop_exit(loop);
    return NULL;
}

static void on_synced(void *arg, struct st_log *log)
{
    (void)log;
    struct br_server *srv = arg;
    br_loops_notify(srv->loops, srv->nloops, NULL, BR_WAIT_SYNC);
    br_server_txn_synced(srv);
}

/* ---- the data dir and the port file ------------------------------------------------------ */

/* mkdir -p, then an exclusive flock on the directory itself: one broker per data dir. */
static int lock_data_dir(const char *dir, int *out_fd)
{
    char path[1024];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -errno;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    *out_fd = fd;
    return 0;
}

/*
 * The port file: the first line is the PLAINTEXT listener's port (the first listener's when
 * there is no PLAINTEXT one), so "read one number" readers keep working; then one
 * "NAME PORT" line per listener, in configuration order.
 */
static int write_port_file(const char *path, const struct br_server *srv)
{
    int port = srv->listeners[0].port;
    for (int i = 0; i < srv->nlisteners; i++) {
        if (srv->listeners[i].cfg->protocol == BR_PROTO_PLAINTEXT) {
            port = srv->listeners[i].port;
            break;
        }
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f, "%d\n", port);
    for (int i = 0; i < srv->nlisteners; i++)
        fprintf(f, "%s %d\n", srv->listeners[i].cfg->name, srv->listeners[i].port);
    if (fclose(f) != 0) {
        int e = errno;
        unlink(tmp);
        return -e;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return -e;
    }
    return 0;
}

/* ---- TLS ------------------------------------------------------------------------------ */

/*
 * One context per SSL listener, built before anything binds so that a bad certificate or key
 * stops the start-up with a line naming the key. The kernel-TLS probe runs once; its verdict
 * is logged, and each SSL listener's line says which path it takes.
 */
static int tls_setup(struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    bool any = false;
    for (int li = 0; li < cfg->nlisteners; li++)
        any |= br_proto_tls(cfg->listeners[li].protocol);
    if (!any)
        return 0;
    char msg[256];
    bool ktls = br_ktls_probe(msg, sizeof(msg));
    br_info("%s", msg);
    /* Tests only: sessions start in socket mode as on a kernel with TLS, so that the
     * poll-driven handshake and the fall-back to tls-copy run on kernels without it. */
    bool socket_mode_test = cfg->test_tls_socket_mode;
    if (socket_mode_test && !ktls)
        br_warn("test.tls.socket.mode=true: SSL sessions start in socket mode although the "
                "kernel cannot take their keys (a test setting)");
    for (int li = 0; li < cfg->nlisteners; li++) {
        const struct br_listener_cfg *lc = &cfg->listeners[li];
        if (!br_proto_tls(lc->protocol))
            continue;
        char err[512];
        bool use_ktls = (ktls || socket_mode_test) && cfg->tls.ktls;
        int rc = br_tls_ctx_new(&cfg->tls, use_ktls, &srv->listeners[li].tls, err, sizeof(err));
        if (rc < 0) {
            br_err("listener %s: %s", lc->name, err);
            return rc;
        }
        const char *why = use_ktls ? "ktls-sendfile (kernel TLS; a session whose cipher the "
                                     "kernel cannot take falls back to tls-copy)"
                          : !cfg->tls.ktls ? "tls-copy (ssl.ktls.enable=false)"
                                           : "tls-copy (no kernel TLS)";
        br_info("listener %s: TLS (ssl.client.auth=%s, ssl.protocols=%s%s%s), fetch path %s",
                lc->name,
                cfg->tls.client_auth == BR_TLS_AUTH_REQUIRED    ? "required"
                : cfg->tls.client_auth == BR_TLS_AUTH_REQUESTED ? "requested"
                                                                : "none",
                (cfg->tls.versions & BR_TLS_V12) ? "TLSv1.2" : "",
                (cfg->tls.versions & BR_TLS_V12) && (cfg->tls.versions & BR_TLS_V13) ? "," : "",
                (cfg->tls.versions & BR_TLS_V13) ? "TLSv1.3" : "", why);
    }
    return 0;
}

static void tls_teardown(struct br_server *srv)
{
    for (int li = 0; li < BR_MAX_LISTENERS; li++) {
        br_tls_ctx_free(srv->listeners[li].tls);
        srv->listeners[li].tls = NULL;
    }
}

/* ---- housekeeping --------------------------------------------------------------------- */

static void count_topic(void *arg, const char *name, int32_t partitions)
{
    (void)name;
    (void)partitions;
    (*(int *)arg)++;
}

/* What storage recovery did at open (st_store_open_logged). */
static void store_msg(void *arg, enum st_msg_level level, const char *msg)
{
    (void)arg;
    br_log(level == ST_MSG_ERROR  ? BR_LOG_ERROR
           : level == ST_MSG_WARN ? BR_LOG_WARN
                                  : BR_LOG_INFO,
           "%s", msg);
}

static void scrub_log(void *arg, const char *msg)
{
    (void)arg;
    br_err("%s", msg); /* the store names the segment and the range */
}

static void *hk_main(void *arg)
{
    struct br_server *srv = arg;
    br_log_set_thread("housekeeping");
    int64_t next_maintain = br_now_ms() + srv->cfg->retention_check_interval_ms;
    pthread_mutex_lock(&srv->hk_lock);
    while (!srv->hk_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&srv->hk_cond, &srv->hk_lock, &ts);
        if (srv->hk_stop)
            break;
        pthread_mutex_unlock(&srv->hk_lock);
        int64_t now = br_now_ms();
        bool expire = now >= next_maintain;
        if (expire) {
            st_store_maintain(srv->store, br_wall_ms());
            next_maintain = now + srv->cfg->retention_check_interval_ms;
        }
        if (expire && srv->quotas)
            br_quotas_maintain(srv->quotas, now); /* sensors idle for an hour */
        br_offsets_housekeeping(srv->offsets, srv->store, srv->groups,
                                srv->cfg->offsets_retention_ms,
                                expire); /* flush by time; retention with the logs' */
        br_server_txn_housekeeping(srv);
        int ntopics = 0;
        st_topic_foreach(srv->store, count_topic, &ntopics);
        /* (an empty store is skipped: st_store_scrub trips over it, see the issue note) */
        if (srv->cfg->scrub_bytes_per_sec > 0 && ntopics > 0) {
            struct st_scrub_report rep = {0};
            int rc =
                st_store_scrub(srv->store, srv->cfg->scrub_bytes_per_sec, scrub_log, srv, &rep);
            if (rc >= 0)
                br_stats_scrub(srv->stats, &rep);
            if (rc < 0)
                br_warn("scrub: %s", strerror(-rc));
            else if (rep.bad_segments > 0)
                br_err("scrub: %lld segment(s) no longer match their digests",
                       (long long)rep.bad_segments);
        }
        pthread_mutex_lock(&srv->hk_lock);
    }
    pthread_mutex_unlock(&srv->hk_lock);
    return NULL;
}

/* ---- start-up ------------------------------------------------------------------------------- */

/*
 * br_server_run is setup, run, teardown. Every setup step records what it made in srv (a
 * descriptor >= 0, a non-NULL pointer, a count of started threads) and stops at the first
 * failure; teardown() undoes exactly what is recorded, in reverse order, whatever step failed:
 * the one unwind path.
 */

/* Signals are taken by sigtimedwait in the main thread only; SIGPIPE never kills us. The
 * kernel's io_uring features are probed once. */
static int setup_process(struct br_server *srv)
{
    sigemptyset(&srv->signals);
    sigaddset(&srv->signals, SIGINT);
    sigaddset(&srv->signals, SIGTERM);
    sigaddset(&srv->signals, SIGHUP);
    sigaddset(&srv->signals, SIGUSR1);
    sigaddset(&srv->signals, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &srv->signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = br_loop_probe(&srv->feat);
    if (rc < 0) {
        br_err("io_uring is not usable on this kernel: %s", strerror(-rc));
        return rc;
    }
    struct utsname un;
    char feats[256];
    br_loop_features_str(&srv->feat, feats, sizeof(feats));
    uname(&un);
    br_info("kernel %s: io_uring %s", un.release, feats);
    br_info("io_uring use: %s accept, %s, send/sendmsg for responses",
            srv->feat.multishot_accept ? "multishot" : "single-shot",
            srv->feat.multishot_recv ? "multishot recv into provided buffers (128 x 16 KiB per "
                                       "loop)"
                                     : "single-shot recv into each connection's frame buffer");
    return 0;
}

static int setup_limits(struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    char lerr[512];
    int rc = br_limits_init(&srv->limits, cfg, lerr, sizeof(lerr));
    if (rc < 0) {
        br_err("%s", lerr);
        return rc;
    }
    srv->limits_ok = true;
    if (cfg->queued_max_request_bytes >= 0 &&
        cfg->queued_max_request_bytes < cfg->socket_request_max_bytes)
        br_warn("queued.max.request.bytes=%lld is below socket.request.max.bytes=%lld: larger "
                "requests close their connection",
                (long long)cfg->queued_max_request_bytes, (long long)cfg->socket_request_max_bytes);
    return 0;
}

/* The loops, their request contexts and their listening-socket slots (not yet bound). */
static int setup_loops(struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    srv->nloops = cfg->num_network_threads;
    srv->loops = calloc((size_t)srv->nloops, sizeof(*srv->loops));
    srv->accepts = calloc((size_t)srv->nloops * BR_MAX_LISTENERS, sizeof(*srv->accepts));
    srv->per_loop = calloc((size_t)srv->nloops, sizeof(*srv->per_loop));
    if (!srv->loops || !srv->accepts || !srv->per_loop)
        return -ENOMEM;
    for (int i = 0; i < srv->nloops * BR_MAX_LISTENERS; i++)
        srv->accepts[i].fd = -1;
    for (int i = 0; i < srv->nloops; i++) {
        struct br_loop *l = &srv->loops[i];
        struct br_server_loop *sl = &srv->per_loop[i];
        br_loop_prepare(l, i, cfg, &srv->feat);
        l->limits = &srv->limits;
        l->all = srv->loops;
        l->nall = srv->nloops;
        l->stop = &srv->stopping;
        l->shared_nwaits[BR_WAIT_BYTES] = &srv->limits.bytes_waiters;
        l->accepts = &srv->accepts[i * BR_MAX_LISTENERS];
        l->on_frame = on_frame;
        l->on_frame_arg = &sl->ctx;
        sl->srv = srv;
        sl->ctx = (struct br_ctx){.ops = &loop_ops, .host = l, .cfg = cfg};
    }
    return 0;
}

/* metrics.listener: up before recovery, so that /health says 503 while it runs; the loops'
 * and contexts' hooks see the registry (NULL when metrics are off). */
static int setup_metrics(struct br_server *srv)
{
    int rc = br_stats_start(srv);
    if (rc < 0)
        return rc;
    for (int i = 0; i < srv->nloops; i++) {
        srv->loops[i].stats = srv->stats;
        srv->per_loop[i].ctx.stats = srv->stats;
    }
    return 0;
}

/* Every listener on every loop: the first socket of a listener picks the port (0 =
 * ephemeral), the others join it with SO_REUSEPORT. */
static int bind_listeners(struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    enum br_transfer xt = cfg->transfer;
    if (xt == BR_XFER_SPLICE && !srv->feat.splice) {
        br_warn("fetch.transfer=splice but the kernel lacks IORING_OP_SPLICE: using sendfile");
        xt = BR_XFER_SENDFILE;
    }
    if (xt == BR_XFER_AUTO) {
        char why[768];
        xt = br_xfer_auto_choose(cfg->data_dir, &srv->feat, (size_t)cfg->copy_buffer_bytes, why,
                                 sizeof(why));
        br_info("fetch.transfer=auto: %s, %s", br_transfer_name(xt), why);
    }
    int rc = 0;
    for (int li = 0; li < cfg->nlisteners && rc == 0; li++)
        rc = br_listen_port_free(&cfg->listeners[li]);
    srv->nlisteners = cfg->nlisteners;
    for (int li = 0; li < cfg->nlisteners && rc == 0; li++) {
        struct br_listener *l = &srv->listeners[li];
        l->cfg = &cfg->listeners[li];
        l->index = li;
        l->xfer = br_proto_tls(l->cfg->protocol) ? &br_xfer_tls : br_xfer_for(xt);
        for (int i = 0; i < srv->nloops && rc == 0; i++) {
            struct br_accept *a = &srv->loops[i].accepts[li];
            rc = br_listen_bind(l->cfg, i == 0 ? l->cfg->port : l->port, l, &a->fd);
            a->op = (struct br_op){BR_OP_ACCEPT, a};
            a->loop = &srv->loops[i];
            a->lst = l;
            a->multishot = srv->feat.multishot_accept;
            srv->loops[i].naccepts = li + 1;
        }
    }
    return rc;
}

/* ---- the group coordinator in a cluster (docs/cluster.md, M4) ---------------------------- */

static int32_t coord_partitions(void *arg)
{
    struct br_server *srv = arg;
    return srv->coload ? br_coload_partitions(srv->coload) : 0;
}

static bool coord_may_append(void *arg, int32_t p)
{
    struct br_server *srv = arg;
    return srv->coload && br_coload_loaded(srv->coload, p, -1);
}

/* The mirror appended to a __consumer_offsets partition this broker leads: its high watermark
 * follows when the ISR is this broker alone; followers' long polls and commits waiting for the
 * high watermark look again. */
static void coord_appended(void *arg, struct st_log *log)
{
    struct br_server *srv = arg;
    struct br_clu *clu = srv->clu;
    if (clu && br_repl_appended(br_clu_repl(clu), log))
        br_loops_notify(srv->loops, srv->nloops, NULL, BR_WAIT_SYNC);
    br_loops_notify(srv->loops, srv->nloops, NULL, BR_WAIT_APPEND);
}

/* The cluster thread's new view: which __consumer_offsets partitions are led here. */
static void coord_view(void *arg, const int32_t *epochs, int32_t np)
{
    struct br_server *srv = arg;
    if (srv->coload)
        br_coload_update(srv->coload, epochs, np);
}

/* The group coordinator's store hook (br_group.h): a group's members into its partition. */
static void coord_store_group(void *arg, const struct br_group_snap *s)
{
    br_cotopic_store_group(arg, s);
}

/* In a cluster: the coordinator's partitions and loader, and the mirror's hooks. */
static int open_coordinator(struct br_server *srv)
{
    if (!srv->cfg->zk_connect[0])
        return 0;
    struct br_coload_conf cc = {
        .store = srv->store, .offsets = srv->offsets, .groups = srv->groups};
    int rc = br_coload_new(&cc, &srv->coload);
    if (rc < 0) {
        br_err("cannot start the group coordinator's loader: %s", strerror(-rc));
        return rc;
    }
    struct br_cotopic_cluster hooks = {
        .partitions = coord_partitions,
        .may_append = coord_may_append,
        .appended = coord_appended,
        .arg = srv,
    };
    br_cotopic_set_cluster(srv->cotopic, &hooks);
    br_groups_set_store(srv->groups, coord_store_group, srv->cotopic);
    return 0;
}

/* The store, the committed offsets and the group coordinator, then the contexts that see them. */
static int open_state(struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    int rc = st_store_open_logged(cfg->data_dir, &cfg->log, store_msg, NULL, NULL, &srv->store);
    if (rc < 0) {
        br_err("cannot open data dir %s: %s", cfg->data_dir, strerror(-rc));
        return rc;
    }
    /* the dynamic broker configs kept in the data dir, over the file's (br_dynconf.h) */
    rc = br_dynconf_open(cfg->data_dir, &srv->dyn);
    if (rc == 0)
        rc = br_config_dyn_apply(srv->store, cfg, srv->dyn);
    if (rc < 0) {
        br_err("cannot load the dynamic broker configs: %s", strerror(-rc));
        return rc;
    }
    rc = br_offsets_open(cfg, &srv->offsets);
    if (rc < 0)
        return rc;
    rc = br_cotopic_open(cfg, srv->store, srv->offsets, &srv->cotopic);
    if (rc < 0)
        return rc;
    st_store_set_notify(srv->store, on_synced, srv);
    if ((rc = st_store_cleaner_start(srv->store)) < 0) {
        br_err("cannot start the log cleaner: %s", strerror(-rc));
        return rc;
    }
    struct br_groups_cfg gcfg = {
        .initial_rebalance_delay_ms = cfg->group_initial_delay_ms,
        .min_session_timeout_ms = cfg->group_min_session_ms,
        .max_session_timeout_ms = cfg->group_max_session_ms,
        .max_size = cfg->group_max_size,
        .max_groups = cfg->group_max_groups,
        .max_member_bytes = cfg->group_max_member_bytes,
        .max_total_bytes = cfg->group_max_total_bytes,
    };
    rc = br_groups_new(&gcfg, NULL, NULL, &srv->groups);
    if (rc == 0)
        rc = br_groups_timer_start(srv->groups);
    if (rc < 0) {
        br_err("cannot set up the group coordinator: %s", strerror(-rc));
        return rc;
    }
    if ((rc = open_coordinator(srv)) < 0)
        return rc;
    for (int i = 0; i < srv->nloops; i++) {
        srv->per_loop[i].ctx.store = srv->store;
        srv->per_loop[i].ctx.offsets = srv->offsets;
        srv->per_loop[i].ctx.groups = srv->groups;
        srv->per_loop[i].ctx.coload = srv->coload;
        srv->per_loop[i].ctx.dyn = srv->dyn;
    }
    return br_server_txn_open(srv);
}

static void sec_log(void *arg, const char *msg)
{
    (void)arg;
    br_err("%s", msg);
}

/* The credential store, the authorizer (authorizer.class.name), quotas and the sessions every
 * connection gets (br_auth.h); the loops' connections and contexts are bound to them. */
static int open_security(struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    int rc = br_cred_open(cfg->data_dir, sec_log, NULL, &srv->cred);
    if (rc == 0 && cfg->sec.authorizer) {
        struct br_authz_conf ac = {
            .data_dir = cfg->data_dir,
            .super_users = cfg->sec.super_users,
            .allow_everyone_if_no_acl = cfg->sec.allow_everyone,
            .no_file = cfg->zk_connect[0] != 0, /* (ZooKeeper holds them: br_clu_acl.c) */
            .log_fn = sec_log,
        };
        rc = br_authz_open(&ac, &srv->authz);
    }
    if (rc == 0) {
        struct br_quotas_conf qc = {
            .data_dir = cfg->data_dir,
            .samples = cfg->sec.quota_window_num,
            .window_ms = (int64_t)cfg->sec.quota_window_s * 1000,
            .log_fn = sec_log,
        };
        rc = br_quotas_open(&qc, &srv->quotas);
    }
    if (rc == 0) {
        srv->auth = calloc(1, sizeof(*srv->auth));
        rc = srv->auth ? br_auth_init(srv->auth, cfg, srv->cred, srv->authz, srv->quotas) : -ENOMEM;
    }
    if (rc < 0) {
        br_err("cannot set up security in %s/%s: %s", cfg->data_dir, BR_SECURITY_DIR,
               strerror(-rc));
        return rc;
    }
    if (srv->authz)
        br_info("authorizer: Kafka ACLs, %zu binding(s); super.users=%s; "
                "allow.everyone.if.no.acl.found=%s",
                br_authz_count(srv->authz), cfg->sec.super_users[0] ? cfg->sec.super_users : "-",
                cfg->sec.allow_everyone ? "true" : "false");
    for (int i = 0; i < srv->nloops; i++) {
        srv->loops[i].sess_ops = &br_auth_sess_ops;
        srv->loops[i].sess_arg = srv->auth;
        srv->per_loop[i].ctx.auth = srv->auth;
    }
    return 0;
}

static void close_security(struct br_server *srv)
{
    free(srv->auth);
    if (srv->quotas)
        br_quotas_close(srv->quotas);
    if (srv->authz)
        br_authz_close(srv->authz);
    br_cred_close(srv->cred);
}

/* This broker's endpoints as the cluster registers them: each listener's advertised address
 * (advertised.listeners, else the bound one; a wildcard bind: this host's name, as Kafka). */
static void cluster_endpoints(const struct br_server *srv, struct br_clu_conf *cc)
{
    char me[BR_HOST_MAX] = "";
    for (int li = 0; li < srv->nlisteners && li < BR_MAX_LISTENERS; li++) {
        const struct br_listener *l = &srv->listeners[li];
        struct br_clu_endpoint *e = &cc->endpoints[cc->n_endpoints++];
        snprintf(e->listener, sizeof e->listener, "%s", l->cfg->name);
        snprintf(e->protocol, sizeof e->protocol, "%s", br_protocol_name(l->cfg->protocol));
        const char *host = l->cfg->adv_host[0] ? l->cfg->adv_host : l->bound_host;
        if (!l->cfg->adv_host[0] &&
            (!host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)) {
            if (!me[0] && gethostname(me, sizeof me - 1) != 0)
                snprintf(me, sizeof me, "localhost");
            host = me;
        }
        snprintf(e->host, sizeof e->host, "%s", host);
        e->port = l->cfg->adv_port ? l->cfg->adv_port : l->port;
    }
}

/* A topic config from ZooKeeper (/config/topics/<t>) onto the log config a replica creates
 * the topic with: CreateTopics' own rule (br_topic_config_apply). */
static int cluster_topic_config(struct st_log_config *lc, uint32_t *overrides, const char *key,
                                const char *val)
{
    const char *why = NULL;
    return br_topic_config_apply(lc, overrides, kp_str_of(key), kp_str_of(val), &why) ? -EINVAL : 0;
}

/* ACLs read from ZooKeeper (br_clu_acl.c) into the authorizer (br_acl.h: br_authz_replace),
 * on the cluster thread or in br_clu_open. */
static struct br_acl_binding acl_of_clu(const struct br_clu_acl *x)
{
    return (struct br_acl_binding){
        x->resource_type,   kp_str_of(x->name), x->pattern_type, kp_str_of(x->principal),
        kp_str_of(x->host), x->operation,       x->permission};
}

static int cluster_acl_apply(void *arg, const struct br_clu_acl_change *ch)
{
    struct br_server *srv = arg;
    size_t tot = ch->npats + ch->n + ch->nclosed;
    struct br_acl_binding *v = malloc((tot ? tot : 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < ch->npats; i++)
        v[i] = acl_of_clu(&ch->pats[i]);
    for (size_t i = 0; i < ch->n; i++)
        v[ch->npats + i] = acl_of_clu(&ch->b[i]);
    for (size_t i = 0; i < ch->nclosed; i++)
        v[ch->npats + ch->n + i] = acl_of_clu(&ch->closed[i]);
    struct br_acl_change c = {ch->all,    v, ch->npats, v + ch->npats, ch->n, v + ch->npats + ch->n,
                              ch->nclosed};
    size_t nclosed = 0;
    int rc = br_authz_replace(srv->authz, &c, &nclosed);
    free(v);
    if (rc == 0 && nclosed)
        br_warn_limited("authorizer: %zu resource pattern(s) from ZooKeeper could not be read or "
                        "are not valid: denied to everyone but super users (fail closed)",
                        nclosed);
    return rc;
}

/* An ISR change moved a high watermark (the cluster thread): the produce requests waiting
 * for acks=all (SYNC waits) and the fetches waiting for data (APPEND) look again. */
static void cluster_hw_moved(void *arg)
{
    struct br_server *srv = arg;
    br_loops_notify(srv->loops, srv->nloops, NULL, BR_WAIT_SYNC);
    br_loops_notify(srv->loops, srv->nloops, NULL, BR_WAIT_APPEND);
}
/* The client side of inter.broker.listener.name (br_clu_link.h): PLAINTEXT, or for SSL a TLS
 * client context from the ssl.* settings (srv->clu_tls, used by the replica fetchers and the
 * markers sender). SASL between brokers is not done: refused. 0 or -errno (logged). */
static int inter_broker_client(struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    for (int li = 0; li < srv->nlisteners; li++) {
        const struct br_listener_cfg *l = srv->listeners[li].cfg;
        if (strcmp(l->name, cfg->inter_broker_listener) != 0 || l->protocol == BR_PROTO_PLAINTEXT)
            continue;
        if (l->protocol != BR_PROTO_SSL) {
            br_err("inter.broker.listener.name=%s is %s: SASL between brokers is not done "
                   "(use a PLAINTEXT or SSL listener for replication)",
                   l->name, br_protocol_name(l->protocol));
            return -EINVAL;
        }
        char err[512];
        int rc = br_clu_tls_new(&cfg->tls, cfg->tls.verify_host, &srv->clu_tls, err, sizeof err);
        if (rc < 0) {
            br_err("inter.broker.listener.name=%s (SSL): %s", l->name, err);
            return rc;
        }
        br_info("inter-broker connections use TLS (listener %s, certificates verified against "
                "ssl.ca.location%s)",
                l->name, cfg->tls.verify_host ? " and the peer's endpoint host" : "");
    }
    return 0;
}

/* A replica fetcher repaired a fenced range (br_clu_fetch.h): counted. */
static void replica_repaired(void *arg, int64_t bytes)
{
    struct br_server *srv = arg;
    br_stats_scrub_repaired(srv->stats, bytes);
}

/* The follower side of replication (br_clu_fetch.h), once the view is there. */
static int start_replica_fetchers(struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    struct br_clu_fetch_conf fc = {
        .broker_id = cfg->node_id,
        .threads = cfg->num_replica_fetchers,
        .partition_max = cfg->replica_fetch_max_bytes,
        .response_max = cfg->replica_fetch_response_max_bytes,
        .wait_max_ms = cfg->replica_fetch_wait_max_ms,
        .min_bytes = cfg->replica_fetch_min_bytes,
        .backoff_ms = cfg->replica_fetch_backoff_ms,
        .clu = srv->clu,
        .store = srv->store,
        .tls = srv->clu_tls,
        .handshake_ms = cfg->tls.handshake_timeout_ms,
        .on_repair = replica_repaired,
        .on_repair_arg = srv,
    };
    snprintf(fc.listener, sizeof fc.listener, "%s", cfg->inter_broker_listener);
    int rc = br_clu_fetch_start(&fc, &srv->replica);
    if (rc < 0)
        br_err("cannot start the replica fetchers: %s", strerror(-rc));
    return rc;
}

/* With zookeeper.connect: join the cluster (br_clu.h) once the listeners are bound and the
 * state is open, before clients are let in; the loops' contexts read its view. */
static int open_cluster(struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    if (!cfg->zk_connect[0])
        return 0;
    struct br_clu_conf cc = {
        .broker_id = cfg->node_id,
        .connect = cfg->zk_connect,
        .rack = cfg->rack,
        .session_timeout_ms = cfg->zk_session_timeout_ms,
        .conn_timeout_ms = cfg->zk_connection_timeout_ms,
        .store = srv->store,
        .data_dir = cfg->data_dir,
        .log_defaults = cfg->log,
        .topic_config = cluster_topic_config,
        .replica_lag_time_max_ms = cfg->replica_lag_time_max_ms,
        .leader_rebalance = cfg->auto_leader_rebalance,
        .imbalance_check_ms = cfg->leader_imbalance_check_s * 1000,
        .imbalance_pct = cfg->leader_imbalance_pct,
        .hw_moved = cluster_hw_moved,
        .hw_arg = srv,
        .coord_view = coord_view,
        .txn_view = br_server_txn_view,
        .coord_arg = srv,
        .acl_apply = srv->authz ? cluster_acl_apply : NULL,
        .acl_arg = srv,
        .acl_max = BR_ACL_MAX,
        .acl_bytes_max = BR_ACL_BYTES_MAX,
        /* SCRAM credentials and quotas from /config/users and /config/clients (br_usercfg.h) */
        .entity_config = srv->auth ? br_usercfg_apply : NULL,
        .entity_arg = srv->auth,
    };
    cluster_endpoints(srv, &cc);
    int rc = inter_broker_client(srv);
    if (rc < 0)
        return rc;
    /* topic changes answered once the other brokers show them (br_clu_peers.c), asked as the
     * replica fetchers ask: inter.broker.listener.name, PLAINTEXT or TLS */
    snprintf(cc.peer_listener, sizeof cc.peer_listener, "%s", cfg->inter_broker_listener);
    cc.peer_tls = srv->clu_tls;
    cc.peer_handshake_ms = cfg->tls.handshake_timeout_ms;
    char err[1024];
    rc = br_clu_open(&cc, &srv->clu, err, sizeof err);
    if (rc < 0) {
        br_err("cluster: %s", err);
        return rc;
    }
    for (int i = 0; i < srv->nloops; i++)
        srv->per_loop[i].ctx.clu = srv->clu;
    if (srv->auth) /* (users made here before: to ZooKeeper when it lacks them) */
        br_usercfg_seed(srv->clu, srv->auth);
    return start_replica_fetchers(srv);
}

static void log_state(const struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    int ntopics = 0;
    st_topic_foreach(srv->store, count_topic, &ntopics);
    br_info("data dir %s: %d topic(s)", cfg->data_dir, ntopics);
    for (int li = 0; li < srv->nlisteners; li++) {
        const struct br_listener *l = &srv->listeners[li];
        br_info("listener %s://%s:%d (bound %s:%d, advertised %s:%d), fetch transfer %s",
                l->cfg->name, l->cfg->host, l->cfg->port, l->bound_host, l->port,
                l->cfg->adv_host[0] ? l->cfg->adv_host : l->bound_host,
                l->cfg->adv_port ? l->cfg->adv_port : l->port,
                br_tls_ctx_ktls(l->tls) ? br_xfer_ktls.name : l->xfer->name);
    }
    br_info("%d network thread(s), node.id=%d, auto.create.topics.enable=%s, "
            "num.partitions=%d, log.flush.interval.messages=%lld",
            srv->nloops, cfg->node_id, cfg->auto_create_topics ? "true" : "false",
            cfg->num_partitions, (long long)cfg->log.flush_interval_messages);
}

/* The admin thread, the loop threads (each reports its ring set-up), housekeeping. */
static int start_threads(struct br_server *srv)
{
    if (pthread_create(&srv->admin_thread, NULL, admin_main, srv) != 0) {
        br_err("cannot start the admin thread");
        return -EAGAIN;
    }
    srv->admin_started = true;
    int rc = 0;
    for (int i = 0; i < srv->nloops; i++) {
        if (pthread_create(&srv->per_loop[i].thread, NULL, loop_main, &srv->per_loop[i]) != 0) {
            br_err("cannot start loop thread %d", i);
            rc = -EAGAIN;
            break;
        }
        srv->nthreads++;
    }
    pthread_mutex_lock(&srv->start_lock);
    while (srv->started < srv->nthreads)
        pthread_cond_wait(&srv->start_cond, &srv->start_lock);
    pthread_mutex_unlock(&srv->start_lock);
    for (int i = 0; i < srv->nthreads; i++)
        if (srv->per_loop[i].start_rc < 0)
            rc = srv->per_loop[i].start_rc;
    if (rc < 0)
        return rc;
    srv->hk_started = pthread_create(&srv->hk_thread, NULL, hk_main, srv) == 0;
    if (!srv->hk_started)
        br_warn("cannot start the housekeeping thread: retention and scrub are off");
    return 0;
}

static int setup(struct br_server *srv, const char *port_file)
{
    const struct br_config *cfg = srv->cfg;
    int rc = setup_process(srv);
    if (rc == 0)
        rc = setup_limits(srv);
    if (rc == 0)
        rc = tls_setup(srv);
    if (rc == 0)
        rc = setup_loops(srv);
    if (rc == 0)
        rc = setup_metrics(srv);
    if (rc == 0) {
        rc = lock_data_dir(cfg->data_dir, &srv->lock_fd);
        if (rc < 0)
            br_err("data dir %s: %s", cfg->data_dir,
                   rc == -EBUSY ? "in use by another broker" : strerror(-rc));
    }
    if (rc == 0)
        rc = bind_listeners(srv);
    if (rc == 0)
        rc = open_state(srv);
    if (rc == 0)
        rc = open_security(srv);
    if (rc == 0)
        rc = open_cluster(srv);
    if (rc == 0) {
        log_state(srv);
        rc = start_threads(srv);
    }
    if (rc == 0)
        br_stats_ready(srv); /* /health: 200 (before the port file: readers take it as ready) */
    if (rc == 0 && port_file) {
        rc = write_port_file(port_file, srv);
        if (rc < 0)
            br_err("cannot write port file %s: %s", port_file, strerror(-rc));
    }
    return rc;
}

/* ---- run ------------------------------------------------------------------------------------ */

/* The main thread until SIGINT or SIGTERM; once a second it writes the log's pending summaries
 * of repeated lines. SIGHUP changes nothing: the configuration is read once, the log is stderr.
 * SIGUSR1 makes the log one level more verbose, SIGUSR2 one level less. */
static void run(struct br_server *srv)
{
    br_info("splicelogd ready");
    for (;;) {
        const struct timespec tick = {.tv_sec = 1};
        int sig = sigtimedwait(&srv->signals, NULL, &tick);
        br_log_flush_limited();
        if (sig == SIGHUP) {
            br_info("received SIGHUP: nothing to do, still running (the configuration is "
                    "read only at start-up: restart to change it; the log is stderr, "
                    "nothing to reopen)");
        } else if (sig == SIGUSR1 || sig == SIGUSR2) {
            br_log_step_level(sig == SIGUSR1 ? 1 : -1, sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
        } else if (sig == SIGINT || sig == SIGTERM) {
            br_info("received %s: stopping (in-flight requests finish, then clean shutdown)",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
            return;
        }
    }
}

/* ---- teardown ------------------------------------------------------------------------------- */

static void stop_thread(pthread_mutex_t *lock, pthread_cond_t *cond, bool *stop, pthread_t t)
{
    pthread_mutex_lock(lock);
    *stop = true;
    pthread_cond_broadcast(cond);
    pthread_mutex_unlock(lock);
    pthread_join(t, NULL);
}

/* Undoes whatever setup() made, in reverse order (see "start-up"). */
static void teardown(struct br_server *srv)
{
    atomic_store(&srv->stopping, true);
    br_stats_stopping(srv); /* /health: 503 */
    if (srv->groups) {
        br_groups_stop(srv->groups); /* parked JoinGroup / SyncGroup: NOT_COORDINATOR */
        /* the timer thread runs until br_groups_free: no snapshot may reach the mirror's hooks
         * (the view, the loader) once teardown frees them (waits out a hook in flight) */
        br_groups_set_store(srv->groups, NULL, NULL);
    }
    for (int i = 0; i < srv->nthreads; i++)
        if (srv->per_loop[i].start_rc == 0)
            br_ring_wake(&srv->loops[i].ring);
    for (int i = 0; i < srv->nthreads; i++)
        pthread_join(srv->per_loop[i].thread, NULL);
    if (srv->admin_started)
        stop_thread(&srv->admin_lock, &srv->admin_cond, &srv->admin_stop, srv->admin_thread);
    if (srv->hk_started)
        stop_thread(&srv->hk_lock, &srv->hk_cond, &srv->hk_stop, srv->hk_thread);
    for (int i = 0; srv->accepts && i < srv->nloops * BR_MAX_LISTENERS; i++)
        if (srv->accepts[i].fd >= 0)
            close(srv->accepts[i].fd); /* (a loop that ran closed its own) */
    /* the transaction coordinator's timer and loader write markers, offsets and (a cluster)
     * __transaction_state, asking the cluster's view: before those and the cluster close */
    br_server_txn_close(srv);
    br_clu_fetch_stop(srv->replica); /* reads the view and appends to the store */
    srv->replica = NULL;
    br_clu_close(srv->clu); /* no loop reads its view past here; others see this broker leave */
    srv->clu = NULL;
    br_clu_tls_free(srv->clu_tls); /* the fetchers and the markers sender are gone */
    srv->clu_tls = NULL;
    br_stats_stop(srv);          /* no scrape reads the groups, offsets or store past here */
    br_coload_free(srv->coload); /* no view comes past here; its loader uses the groups */
    srv->coload = NULL;
    br_groups_free(srv->groups);
    br_cotopic_close(srv->cotopic); /* detaches from the offsets store: before it closes */
    srv->cotopic = NULL;
    br_offsets_close(srv->offsets);
    close_security(srv); /* no connection is left: the loops have exited */
    if (srv->store) {
        st_store_close(srv->store);
        br_info("stopped: data flushed, clean-shutdown markers written");
    }
    br_dynconf_free(srv->dyn); /* the loops and the admin thread have stopped */
    srv->dyn = NULL;
    /* every thread that could wake a loop (flusher, admin, housekeeping, group timer, the
     * loops themselves) has stopped */
    for (int i = 0; srv->loops && i < srv->nloops; i++) {
        br_ring_close_wake(&srv->loops[i].ring);
        br_ctx_release(&srv->per_loop[i].ctx);
    }
    br_stats_free(srv); /* after the store: its flusher reported syncs until it closed */
    if (srv->lock_fd >= 0)
        close(srv->lock_fd);
    free(srv->loops);
    free(srv->accepts);
    free(srv->per_loop);
    tls_teardown(srv);
    if (srv->limits_ok)
        br_limits_free(&srv->limits);
}

int br_server_run(struct br_config *cfg, const char *port_file)
{
    static struct br_server s; /* one per process */
    struct br_server *srv = &s;
    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    srv->lock_fd = -1;
    pthread_mutex_init(&srv->start_lock, NULL);
    pthread_cond_init(&srv->start_cond, NULL);
    pthread_mutex_init(&srv->hk_lock, NULL);
    pthread_cond_init(&srv->hk_cond, NULL);
    pthread_mutex_init(&srv->admin_lock, NULL);
    pthread_cond_init(&srv->admin_cond, NULL);
    pthread_mutex_init(&srv->txn_sync_lock, NULL);
    pthread_cond_init(&srv->txn_sync_cond, NULL);
    int rc = setup(srv, port_file);
    if (rc == 0) {
        run(srv);
        /* controlled shutdown: the loops still answer while the leaderships move away */
        if (srv->clu && cfg->controlled_shutdown)
            (void)br_clu_leave(srv->clu, cfg->shutdown_timeout_ms);
    }
    teardown(srv);
    return rc;
}
