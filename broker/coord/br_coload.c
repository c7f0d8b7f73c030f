/*
 * br_coload — the groups this broker coordinates in a cluster and the loads of their
 * __consumer_offsets partitions (see br_coload.h): br_pload's callbacks for the offsets store
 * and the group coordinator.
 */
#include "br_coload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_clock.h"
#include "br_cotopic.h"
#include "br_group.h"
#include "br_log.h"
#include "br_pload.h"
#include "st_offsets.h"

#define ACC_MAX 256 /* commits of one group replayed with one write */

/* The loader thread's: the commits of one group in a row, written with one call. */
struct acc {
    struct br_pload_load *ld; /* the load under way */
    const char *group;
    size_t group_len;
    int64_t ms;
    int64_t pid; /* a transaction's pending offsets (its producer), or -1: plain commits */
    int16_t epoch;
    int n;
    struct st_offset_commit items[ACC_MAX];
    int results[ACC_MAX];
};

struct br_coload {
    struct br_coload_conf conf;
    struct br_pload *pl;
    struct acc acc; /* the loader thread's own */
};

static int32_t part_of(const char *group, size_t len, int32_t np)
{
    return br_cotopic_partition_of(group, len, np);
}

/* ---- lookups --------------------------------------------------------------------------- */

int32_t br_coload_partitions(struct br_coload *cl) { return br_pload_partitions(cl->pl); }

int16_t br_coload_check(struct br_coload *cl, const char *group, size_t len, int32_t *part,
                        int32_t *epoch)
{
    return br_pload_check(cl->pl, group, len, part, epoch);
}

bool br_coload_loaded(struct br_coload *cl, int32_t p, int32_t epoch)
{
    return br_pload_loaded(cl->pl, p, epoch);
}

bool br_coload_loading(struct br_coload *cl) { return br_pload_loading(cl->pl); }

int64_t br_coload_loads(struct br_coload *cl) { return br_pload_loads(cl->pl); }

void br_coload_update(struct br_coload *cl, const int32_t *epochs, int32_t np)
{
    br_pload_update(cl->pl, epochs, np);
}

/* ---- unloading (the cluster thread) ---------------------------------------------------- */

struct lost {
    const bool *lost; /* [np] */
    int32_t np;
};

static bool lost_match(void *arg, const char *id, size_t len)
{
    const struct lost *l = arg;
    return l->np > 0 && l->lost[part_of(id, len, l->np)];
}

struct one_part {
    int32_t p, np;
};

static bool part_match(void *arg, const char *id, size_t len)
{
    const struct one_part *o = arg;
    return part_of(id, len, o->np) == o->p;
}

/* The coordinator's groups of partition p (keys hashing with np) forgotten: before a load
 * replays them (no group held from an earlier leadership survives it), and after the
 * partition was lost (what a load cut short had restored). */
static int unload_part(struct br_coload *cl, int32_t p, int32_t np)
{
    struct one_part o = {p, np};
    return cl->conf.groups && np > 0 ? br_groups_unload(cl->conf.groups, part_match, &o) : 0;
}

static void on_drop(void *arg, int32_t p, int32_t np) { (void)unload_part(arg, p, np); }

static void on_lost(void *arg, const bool *lost, int32_t n)
{
    struct br_coload *cl = arg;
    if (!cl->conf.groups)
        return;
    struct lost l = {lost, n};
    int k = br_groups_unload(cl->conf.groups, lost_match, &l);
    if (k > 0)
        br_info("group coordinator: %d group(s) unloaded", k);
}

/* ---- loading (the loader thread) ------------------------------------------------------- */

/* A group deleted (its GroupMetadataKey tombstone): its restored members go too. */
static void group_forget(struct br_coload *cl, const char *id, size_t len)
{
    if (cl->conf.groups)
        (void)br_groups_forget(cl->conf.groups, (struct kp_str){id, (int32_t)len});
}

static void acc_flush(struct br_coload *cl)
{
    struct acc *a = &cl->acc;
    if (a->n == 0)
        return;
    int rc = a->pid >= 0
                 ? st_offsets_txn_commit_batch(cl->conf.offsets, a->group, a->group_len, a->pid,
                                               a->epoch, a->items, a->n, a->ms, a->results)
                 : st_offsets_commit_batch(cl->conf.offsets, a->group, a->group_len, a->items, a->n,
                                           a->ms, a->results);
    if (rc < 0)
        br_err_limited("group coordinator: cannot load the offsets of group %.*s: %s",
                       (int)(a->group_len > 200 ? 200 : a->group_len), a->group, strerror(-rc));
    a->ld->applied += a->n;
    a->n = 0;
}

/* One record, in log order; pid >= 0: of a transactional batch of that producer (its offset
 * commits become pending; nothing else is written in one). */
static void apply(struct br_coload *cl, const struct br_cotopic_rec *r, int64_t pid, int16_t epoch)
{
    struct acc *a = &cl->acc;
    struct st_offsets *o = cl->conf.offsets;
    if (r->kind != BR_COTOPIC_REC_OFFSET ||
        (a->n > 0 && (a->group_len != r->group_len || a->ms != r->commit_ms || a->pid != pid ||
                      a->epoch != epoch || memcmp(a->group, r->group, r->group_len) != 0)))
        acc_flush(cl);
    if (pid >= 0 && r->kind != BR_COTOPIC_REC_OFFSET)
        return;
    switch (r->kind) {
    case BR_COTOPIC_REC_OFFSET:
        if (a->n == ACC_MAX)
            acc_flush(cl);
        a->group = r->group;
        a->group_len = r->group_len;
        a->ms = r->commit_ms;
        a->pid = pid;
        a->epoch = epoch;
        a->items[a->n++] = (struct st_offset_commit){
            .topic = r->topic,
            .topic_len = r->topic_len,
            .partition = r->partition,
            .offset = r->offset,
            .metadata = r->metadata_len ? r->metadata : NULL,
            .metadata_len = r->metadata_len,
        };
        break;
    case BR_COTOPIC_REC_OFFSET_GONE:
        (void)st_offsets_delete(o, r->group, r->group_len, r->topic, r->topic_len, r->partition);
        a->ld->applied++;
        break;
    case BR_COTOPIC_REC_GROUP_GONE:
        (void)st_offsets_delete_group(o, r->group, r->group_len);
        group_forget(cl, r->group, r->group_len);
        a->ld->applied++;
        break;
    case BR_COTOPIC_REC_GROUP:
        break; /* on_record: restore_group */
    }
}

/* A group's members as its coordinator stored them (GroupMetadataValue, br_cotopic.h): the group
 * restored in the coordinator, each record in log order replacing the one before (on_begin
 * dropped what the coordinator held of the partition). A value that cannot be read or
 * restored is skipped with a line: those members rejoin, as before this record existed. */
static void restore_group(struct br_coload *cl, const struct br_cotopic_rec *r,
                          const uint8_t *value, size_t vlen)
{
    if (!cl->conf.groups)
        return;
    struct br_group_snap snap;
    struct br_group_snap_member few[8], *m = few;
    int rc = br_cotopic_group_parse(value, vlen, &snap, few, 8);
    if (rc == -ENOSPC) { /* more members: their count is bounded by the value's bytes */
        m = calloc((size_t)snap.n_members, sizeof(*m));
        rc = m ? br_cotopic_group_parse(value, vlen, &snap, m, snap.n_members) : -ENOMEM;
    }
    if (rc == 0) {
        snap.group_id = (struct kp_str){r->group, (int32_t)r->group_len};
        rc = br_groups_restore(cl->conf.groups, &snap);
    }
    if (rc < 0)
        br_warn_limited("group coordinator: members of group %.*s not restored (%s): they rejoin",
                        (int)(r->group_len > 200 ? 200 : r->group_len), r->group, strerror(-rc));
    if (m != few)
        free(m);
    cl->acc.ld->applied++;
}

/* (group, producer) pairs with pending offsets, copied out of the store's callback. */
struct pairs {
    int32_t p, np;
    int64_t only_pid; /* -1: every producer */
    struct pair {
        char *group;
        size_t len;
        int64_t pid;
        int16_t epoch;
    } * v;
    int n, cap;
    bool oom;
};

static void pair_add(void *arg, const char *group, size_t len, int64_t pid, int16_t epoch)
{
    struct pairs *s = arg;
    if (s->oom || (s->only_pid >= 0 && pid != s->only_pid) || part_of(group, len, s->np) != s->p)
        return;
    for (int i = 0; i < s->n; i++) /* (one call per pending key: a few) */
        if (s->v[i].pid == pid && s->v[i].len == len && memcmp(s->v[i].group, group, len) == 0)
            return;
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 8;
        struct pair *v = realloc(s->v, (size_t)nc * sizeof(*v));
        if (!v) {
            s->oom = true;
            return;
        }
        s->v = v;
        s->cap = nc;
    }
    char *c = malloc(len ? len : 1);
    if (!c) {
        s->oom = true;
        return;
    }
    memcpy(c, group, len);
    s->v[s->n++] = (struct pair){c, len, pid, epoch};
}

static void pair_add_of(void *arg, const char *group, size_t len)
{
    pair_add(arg, group, len, ((struct pairs *)arg)->only_pid, -1);
}

/* Ends the pending offsets of the pairs (commit or abort); then frees them. 0 or the first
 * -errno (-ENOMEM when the list was cut short). */
static int pairs_end(struct br_coload *cl, struct pairs *s, int16_t epoch, bool commit)
{
    int rc = s->oom ? -ENOMEM : 0;
    for (int i = 0; i < s->n; i++) {
        int e = rc < 0
                    ? 0
                    : st_offsets_txn_end(cl->conf.offsets, s->v[i].group, s->v[i].len, s->v[i].pid,
                                         epoch >= 0 ? epoch : s->v[i].epoch, commit, br_wall_ms());
        if (e < 0 && rc == 0)
            rc = e;
        free(s->v[i].group);
    }
    free(s->v);
    return rc;
}

/* The groups of one partition held in the store, to drop before replaying. */
struct names {
    int32_t p, np;
    char **v;
    size_t *len;
    int n, cap;
    bool oom;
};

static void collect(void *arg, const char *group, size_t group_len, const struct st_offset_entry *e)
{
    (void)e;
    struct names *s = arg;
    if (s->oom || part_of(group, group_len, s->np) != s->p)
        return;
    if (s->n > 0 && s->len[s->n - 1] == group_len && memcmp(s->v[s->n - 1], group, group_len) == 0)
        return; /* (a group's entries come in a row) */
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, (size_t)nc * sizeof(*v));
        if (v)
            s->v = v;
        size_t *l = v ? realloc(s->len, (size_t)nc * sizeof(*l)) : NULL;
        if (l)
            s->len = l;
        if (!v || !l) {
            s->oom = true;
            return;
        }
        s->cap = nc;
    }
    char *c = malloc(group_len + 1);
    if (!c) {
        s->oom = true;
        return;
    }
    memcpy(c, group, group_len);
    c[group_len] = 0;
    s->v[s->n] = c;
    s->len[s->n++] = group_len;
}

/* Before a load: the store's entries of every group of the partition dropped, and their pending
 * offsets. 0 or -errno. */
static int on_begin(void *arg, struct br_pload_load *ld)
{
    struct br_coload *cl = arg;
    cl->acc.ld = ld;
    cl->acc.n = 0;
    (void)unload_part(cl, ld->p, ld->np); /* the log says who the members are */
    struct names s = {.p = ld->p, .np = ld->np};
    st_offsets_foreach_all(cl->conf.offsets, -1, collect, &s);
    for (int i = 0; i < s.n; i++) {
        if (!s.oom)
            (void)st_offsets_delete_group(cl->conf.offsets, s.v[i], s.len[i]);
        free(s.v[i]);
    }
    free(s.v);
    free(s.len);
    if (s.oom)
        return -ENOMEM;
    /* and what they have pending (a stale cache: the log says what is still pending) */
    struct pairs pend = {.p = ld->p, .np = ld->np, .only_pid = -1};
    st_offsets_txn_foreach(cl->conf.offsets, pair_add, &pend);
    return pairs_end(cl, &pend, -1, false);
}

static int on_record(void *arg, struct br_pload_load *ld, const uint8_t *key, size_t klen,
                     const uint8_t *value, size_t vlen)
{
    struct br_coload *cl = arg;
    struct br_cotopic_rec r;
    if (br_cotopic_parse(key, klen, value, vlen, &r) < 0)
        return 0; /* not ours to read (logged nowhere: Kafka skips unknown keys too) */
    if (part_of(r.group, r.group_len, ld->np) != ld->p)
        return 0;
    if (r.kind == BR_COTOPIC_REC_GROUP && ld->producer_id < 0)
        restore_group(cl, &r, value, vlen);
    else
        apply(cl, &r, ld->producer_id, ld->producer_epoch);
    return 0;
}

/* A marker of ld->producer_id: its pending offsets of this partition's groups, replayed so far,
 * committed or dropped (as WriteTxnMarkers does live, br_api_markers.c). */
static int on_control(void *arg, struct br_pload_load *ld, bool commit)
{
    struct br_coload *cl = arg;
    acc_flush(cl);
    struct pairs s = {.p = ld->p, .np = ld->np, .only_pid = ld->producer_id};
    st_offsets_txn_groups(cl->conf.offsets, ld->producer_id, pair_add_of, &s);
    ld->applied += s.n;
    int rc = pairs_end(cl, &s, ld->producer_epoch, commit);
    if (rc < 0)
        br_err_limited("group coordinator: cannot end producer %lld's offsets: %s",
                       (long long)ld->producer_id, strerror(-rc));
    return rc;
}

static void on_flush(void *arg, struct br_pload_load *ld)
{
    (void)ld;
    acc_flush(arg);
}

static void on_thread_start(void *arg)
{
    (void)arg;
    (void)br_cotopic_quiet(true); /* nothing the loader thread writes into the store is mirrored */
}

/* ---- life ------------------------------------------------------------------------------ */

static const struct br_pload_ops coload_ops = {
    .what = "group coordinator",
    .topic = BR_COTOPIC_NAME,
    .keys = "groups",
    .unit = "change(s)",
    .thread = "sl-coload",
    .log_as = "coload",
    .partition_of = part_of,
    .thread_start = on_thread_start,
    .begin = on_begin,
    .record = on_record,
    .control = on_control,
    .flush = on_flush,
    .lost = on_lost,
    .drop = on_drop,
};

int br_coload_new(const struct br_coload_conf *conf, struct br_coload **out)
{
    *out = NULL;
    struct br_coload *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return -ENOMEM;
    cl->conf = *conf;
    int rc = br_pload_new(conf->store, &coload_ops, cl, &cl->pl);
    if (rc < 0) {
        free(cl);
        return rc;
    }
    *out = cl;
    return 0;
}

void br_coload_free(struct br_coload *cl)
{
    if (!cl)
        return;
    br_pload_free(cl->pl);
    free(cl);
}
