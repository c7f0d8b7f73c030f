/*
 * tb_ctx — a hand-driven host for br_dispatch (see tb_ctx.h).
 */
#include "tb_ctx.h"

#include "br_auth.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "br_group.h"
#include "br_offsets.h"
#include "br_txn.h"
#include "st.h"
#include "st_offsets.h"
#include "st_txnlog.h"

static struct tb_host *host_of(struct br_ctx *x)
{
    return (struct tb_host *)((char *)x - offsetof(struct tb_host, x));
}

static struct tb_slot *slot_of(struct tb_host *h, const struct br_resp *r)
{
    for (int i = 0; i < TB_HOST_SLOTS; i++)
        if (h->slots[i].r == r)
            return &h->slots[i];
    return NULL;
}

static struct tb_slot *slot_new(struct tb_host *h, struct br_resp *r)
{
    struct tb_slot *s = slot_of(h, r);
    if (s)
        return s;
    for (int i = 0; i < TB_HOST_SLOTS; i++) {
        if (!h->slots[i].r) {
            memset(&h->slots[i], 0, sizeof(h->slots[i]));
            h->slots[i].r = r;
            return &h->slots[i];
        }
    }
    return NULL;
}

/* ---- the ops ----------------------------------------------------------------------------------
 */

static int op_park(struct br_ctx *x, struct br_resp *r, enum br_wait_on on, int64_t deadline_ms,
                   br_wake_fn wake, void *arg)
{
    struct tb_slot *s = slot_new(host_of(x), r);
    if (!s)
        return -ENOMEM;
    s->state = TB_RESP_PARKED;
    r->parked = true; /* (the owner's flag, as a connection keeps it) */
    s->on = on;
    s->deadline = deadline_ms;
    s->wake = wake;
    s->arg = arg;
    s->posted = false;
    return 0;
}

static void op_unpark(struct br_ctx *x, struct br_resp *r)
{
    struct tb_slot *s = slot_of(host_of(x), r);
    if (s && s->state == TB_RESP_PARKED)
        s->state = TB_RESP_UNKNOWN; /* the handler answers now: br_dispatch's rc says how */
    r->parked = false;
}

static void op_post(struct br_ctx *x, struct br_resp *r)
{
    struct tb_slot *s = slot_of(host_of(x), r);
    if (s)
        s->posted = true;
}

static void op_ready(struct br_ctx *x, struct br_resp *r)
{
    struct tb_slot *s = slot_new(host_of(x), r);
    if (s)
        s->state = TB_RESP_READY;
    r->parked = false;
}

static void op_fail(struct br_ctx *x, struct br_resp *r, const char *why)
{
    struct tb_slot *s = slot_new(host_of(x), r);
    if (s) {
        s->state = TB_RESP_FAILED;
        snprintf(s->why, sizeof(s->why), "%s", why);
    }
}

static void op_notify(struct br_ctx *x, enum br_wait_on on)
{
    struct tb_host *h = host_of(x);
    h->events |= 1u << on;
    h->notified[on]++;
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
    struct tb_host *h = host_of(x);
    int rc = op_park(x, j->r, BR_WAIT_POST, INT64_MAX, admin_wake, j);
    if (rc < 0)
        return rc;
    j->next = h->jobs;
    h->jobs = j;
    return 0;
}

static int64_t op_now_ms(struct br_ctx *x) { return host_of(x)->now_ms; }
static int64_t op_wall_ms(struct br_ctx *x) { return host_of(x)->wall_ms; }
static bool op_stopping(struct br_ctx *x) { return host_of(x)->stopping; }

static const struct br_ctx_ops tb_ops = {
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

static int64_t group_clock(void *arg) { return ((struct tb_host *)arg)->now_ms; }

/* The transaction coordinator's hands: the host's store and offsets; its clock the wall. */
static int64_t txn_clock(void *arg) { return ((struct tb_host *)arg)->wall_ms; }

static int txn_marker(void *arg, const char *topic, size_t topic_len, int32_t partition,
                      int64_t pid, int16_t epoch, bool commit, int32_t coord_epoch, int64_t now_ms)
{
    struct tb_host *h = arg;
    struct st_log *log = st_log_get(h->x.store, topic, topic_len, partition);
    if (!log)
        return -ENOENT;
    struct st_append_result res;
    int rc = st_log_append_marker(log, pid, epoch, commit, coord_epoch, now_ms, &res);
    st_log_put(log);
    if (rc == 0)
        h->events |= 1u << BR_WAIT_APPEND;
    return rc;
}

static int txn_offsets_end(void *arg, const char *group, size_t group_len, int64_t pid,
                           int16_t epoch, bool commit, int32_t coord_epoch, int64_t now_ms)
{
    (void)coord_epoch;
    struct tb_host *h = arg;
    return st_offsets_txn_end(h->x.offsets, group, group_len, pid, epoch, commit, now_ms);
}

static bool txn_partition_exists(void *arg, const char *topic, size_t topic_len, int32_t partition)
{
    struct tb_host *h = arg;
    int32_t n = st_topic_partitions(h->x.store, topic, topic_len);
    return n > 0 && partition >= 0 && partition < n;
}

static int open_txns(struct tb_host *h)
{
    struct st_txnlog_opts o;
    st_txnlog_opts_default(&o);
    int rc = st_txnlog_open(h->dir, &o, &h->txnlog);
    if (rc < 0)
        return rc;
    struct br_txn_cfg c;
    br_txn_cfg_default(&c);
    c.max_timeout_ms = h->cfg.txn_max_timeout_ms;
    struct br_txn_ops ops = {.marker = txn_marker,
                             .offsets_end = txn_offsets_end,
                             .partition_exists = txn_partition_exists,
                             .arg = h};
    return br_txn_new(&c, &ops, h->txnlog, txn_clock, h, &h->x.txns);
}

/* ---- life -------------------------------------------------------------------------------------
 */

int tb_host_open(struct tb_host *h, const char *const *kv)
{
    memset(h, 0, sizeof(*h));
    h->now_ms = 1000000;
    h->wall_ms = 1700000000000;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(h->dir, sizeof(h->dir), "%s/tb-ctx-XXXXXX", base);
    if (!mkdtemp(h->dir))
        return -errno;
    char err[512];
    br_config_init(&h->cfg);
    int rc = br_config_set_kv(&h->cfg, "log.dirs", h->dir, err, sizeof(err));
    for (int i = 0; rc == 0 && kv && kv[i]; i++)
        rc = br_config_set(&h->cfg, kv[i], err, sizeof(err));
    if (rc == 0)
        rc = br_config_finish(&h->cfg, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "tb_host_open: %s\n", err);
        rmdir(h->dir);
        return rc;
    }
    struct st_store *store = NULL;
    struct st_offsets *offsets = NULL;
    struct br_groups *groups = NULL;
    rc = st_store_open(h->dir, &h->cfg.log, &store);
    if (rc == 0)
        rc = br_offsets_open(&h->cfg, &offsets);
    if (rc == 0) {
        struct br_groups_cfg g = {
            .initial_rebalance_delay_ms = h->cfg.group_initial_delay_ms,
            .min_session_timeout_ms = h->cfg.group_min_session_ms,
            .max_session_timeout_ms = h->cfg.group_max_session_ms,
            .max_size = h->cfg.group_max_size,
            .max_groups = h->cfg.group_max_groups,
            .max_member_bytes = h->cfg.group_max_member_bytes,
            .max_total_bytes = h->cfg.group_max_total_bytes,
        };
        rc = br_groups_new(&g, group_clock, h, &groups);
    }
    if (rc < 0) {
        fprintf(stderr, "tb_host_open: %s\n", strerror(-rc));
        br_offsets_close(offsets);
        if (store)
            st_store_close(store);
        tb_host_close(h);
        return rc;
    }
    h->x = (struct br_ctx){
        .ops = &tb_ops,
        .host = h,
        .store = store,
        .offsets = offsets,
        .groups = groups,
        .cfg = &h->cfg,
    };
    rc = open_txns(h);
    if (rc < 0) {
        fprintf(stderr, "tb_host_open: transaction coordinator: %s\n", strerror(-rc));
        tb_host_close(h);
        return rc;
    }
    h->peer = (struct br_peer){
        .name = "test:1", .principal = "User:ANONYMOUS", .adv_host = "127.0.0.1", .adv_port = 9092};
    return 0;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void log_null(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

int tb_host_security(struct tb_host *h, bool sasl)
{
    if (h->sess) {
        br_auth_sess_ops.close(h->auth, h->sess);
        h->sess = NULL;
        h->peer.sess = NULL;
    }
    h->sess_closed = false;
    snprintf(h->peer.principal, sizeof h->peer.principal, "User:ANONYMOUS");
    int rc = 0;
    if (!h->auth) {
        rc = br_cred_open(h->dir, log_null, NULL, &h->cred);
        for (int m = BR_SASL_SCRAM_SHA_256; rc == 0 && m <= BR_SASL_SCRAM_SHA_512; m++) {
            struct br_scram_cred c;
            rc = br_scram_cred_from_password((enum br_sasl_mech)m, "pencil", 6, NULL, 0, 4096, &c);
            if (rc == 0)
                rc = br_cred_put(h->cred, "user", 4, &c);
        }
        struct br_authz_conf ac = {.data_dir = h->dir,
                                   .super_users = "User:admin",
                                   .allow_everyone_if_no_acl = true,
                                   .log_fn = log_null};
        if (rc == 0)
            rc = br_authz_open(&ac, &h->authz);
        struct br_quotas_conf qc = {
            .data_dir = h->dir, .samples = 11, .window_ms = 1000, .log_fn = log_null};
        if (rc == 0)
            rc = br_quotas_open(&qc, &h->quotas);
        if (rc == 0) {
            h->auth = calloc(1, sizeof(*h->auth));
            rc = h->auth ? br_auth_init(h->auth, &h->cfg, h->cred, h->authz, h->quotas) : -ENOMEM;
        }
        if (rc < 0)
            return rc;
        h->x.auth = h->auth;
    }
    struct br_listener_cfg lc = {.protocol = sasl ? BR_PROTO_SASL_PLAINTEXT : BR_PROTO_PLAINTEXT};
    return br_auth_sess_ops.open(h->auth, &lc, &h->peer, &h->sess);
}

void tb_host_close(struct tb_host *h)
{
    if (h->x.groups) {
        br_groups_stop(h->x.groups);
        tb_host_turn(h); /* the parked joins answered NOT_COORDINATOR */
        br_groups_free(h->x.groups);
    }
    for (int i = 0; i < TB_HOST_SLOTS; i++)
        if (h->slots[i].r)
            tb_host_free_resp(h, h->slots[i].r);
    if (h->sess)
        br_auth_sess_ops.close(h->auth, h->sess);
    h->sess = NULL;
    h->peer.sess = NULL;
    free(h->auth);
    h->auth = NULL;
    if (h->quotas)
        br_quotas_close(h->quotas);
    if (h->authz)
        br_authz_close(h->authz);
    br_cred_close(h->cred);
    h->quotas = NULL;
    h->authz = NULL;
    h->cred = NULL;
    br_txn_free(h->x.txns);
    st_txnlog_close(h->txnlog);
    h->txnlog = NULL;
    br_offsets_close(h->x.offsets);
    if (h->x.store)
        st_store_close(h->x.store);
    br_ctx_release(&h->x);
    h->x = (struct br_ctx){0};
    if (h->dir[0])
        nftw(h->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    h->dir[0] = 0;
}

int tb_host_call(struct tb_host *h, const uint8_t *frame, size_t len, struct br_resp **out)
{
    *out = NULL;
    if (len < 4)
        return -EINVAL;
    struct br_resp *r = calloc(1, sizeof(*r));
    uint8_t *copy = malloc(len - 4 ? len - 4 : 1);
    if (!r || !copy) {
        free(r);
        free(copy);
        return -ENOMEM;
    }
    memcpy(copy, frame + 4, len - 4);
    *out = r;
    int rc = BR_SESS_PASS;
    if (h->sess_closed) {
        rc = -EPIPE;
    } else if (h->sess) {
        struct br_sess_verdict v = {0};
        rc = br_auth_sess_ops.frame(h->sess, &h->peer, copy, len - 4, r, h->now_ms, &v);
        if (rc < 0 || v.close_after)
            h->sess_closed = true; /* (a delayed answer is answered at once here) */
    }
    if (rc == BR_SESS_PASS)
        rc = br_dispatch(&h->x, &h->peer, copy, len - 4, r);
    free(copy);
    /* every response gets a slot, so that the host can free it (the owner's job) */
    struct tb_slot *s = slot_new(h, r);
    if (!s) {
        br_resp_free(r); /* (not parked: a parked one has its slot) */
        *out = NULL;
        return rc < 0 ? rc : -ENOMEM;
    }
    if (rc == BR_REPLY && s->state == TB_RESP_UNKNOWN)
        s->state = TB_RESP_READY;
    return rc;
}

int tb_host_turn(struct tb_host *h)
{
    int woke = 0;
    /* the admin thread's share: run every queued job (oldest first), then post it */
    struct br_job *rev = NULL;
    while (h->jobs) {
        struct br_job *j = h->jobs;
        h->jobs = j->next;
        j->next = rev;
        rev = j;
    }
    while (rev) {
        struct br_job *j = rev;
        rev = j->next;
        j->run(j);
        j->x->ops->post(j->x, j->r);
    }
    unsigned ev = h->events;
    h->events = 0;
    for (int i = 0; i < TB_HOST_SLOTS; i++) {
        struct tb_slot *s = &h->slots[i];
        if (!s->r || s->state != TB_RESP_PARKED)
            continue;
        enum br_wake why;
        if (s->on == BR_WAIT_POST) {
            if (!s->posted)
                continue;
            s->posted = false;
            s->state = TB_RESP_UNKNOWN; /* the wait is over; wake makes it ready or failed */
            why = BR_WAKE_EVENT;
        } else if (h->stopping && s->on == BR_WAIT_APPEND) {
            why = BR_WAKE_STOP;
        } else if (ev & (1u << s->on)) {
            why = BR_WAKE_EVENT;
        } else if (s->deadline <= h->now_ms) {
            s->deadline = INT64_MAX;
            why = BR_WAKE_DEADLINE;
        } else {
            continue;
        }
        s->wake(s->r, why, s->arg);
        woke++;
    }
    return woke;
}

void tb_host_stop(struct tb_host *h) { h->stopping = true; }

void tb_host_tick(struct tb_host *h)
{
    if (h->x.groups)
        br_groups_tick(h->x.groups);
    if (h->x.txns)
        br_txn_tick(h->x.txns);
}

int tb_host_parked(const struct tb_host *h)
{
    int n = 0;
    for (int i = 0; i < TB_HOST_SLOTS; i++)
        n += h->slots[i].r && h->slots[i].state == TB_RESP_PARKED;
    return n;
}

enum tb_resp_state tb_host_state(const struct tb_host *h, const struct br_resp *r)
{
    for (int i = 0; i < TB_HOST_SLOTS; i++)
        if (h->slots[i].r == r)
            return h->slots[i].state;
    return TB_RESP_UNKNOWN;
}

void tb_host_free_resp(struct tb_host *h, struct br_resp *r)
{
    struct tb_slot *s = slot_of(h, r);
    if (s)
        memset(s, 0, sizeof(*s));
    br_resp_free(r);
}

ssize_t tb_resp_flatten(const struct br_resp *r, uint8_t **out)
{
    *out = NULL;
    size_t n = r->total;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return -ENOMEM;
    size_t at = 0;
    for (int i = 0; i < r->npieces; i++) {
        const struct br_piece *p = &r->pieces[i];
        if (at + p->len > n) {
            free(b);
            return -EOVERFLOW;
        }
        if (p->kind == BR_PIECE_MEM) {
            memcpy(b + at, r->buf + p->off, p->len);
        } else if (pread(p->fd, b + at, p->len, (off_t)p->off) != (ssize_t)p->len) {
            free(b);
            return -EIO;
        }
        at += p->len;
    }
    *out = b;
    return (ssize_t)at;
}
