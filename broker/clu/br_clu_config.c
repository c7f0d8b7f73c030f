/*
 * br_clu_config — topic configs changed at run time, carried through ZooKeeper as Kafka's
 * ZooKeeper mode carries them (issue 18, issue 14; docs/cluster.md, "Topic configs"). See
 * br_clu.h for the contract.
 *
 * The znodes:
 *   /config/topics/<t>                   {"version":1,"config":{"retention.ms":"1000",...}}:
 *                                        the topic's whole override set (CreateTopics writes
 *                                        the first, AlterConfigs / IncrementalAlterConfigs
 *                                        rewrite it unconditionally, as Kafka's
 *                                        AdminZkClient.changeTopicConfig: the last writer wins)
 *   /config/changes/config_change_<seq>  {"version":2,"entity_path":"topics/<t>"}: sequential,
 *                                        written after the configs; every broker watches the
 *                                        children and re-reads the named topic's configs
 *                                        (version 1, {"entity_type":"topics","entity_name":..},
 *                                        older Kafka tools' format, is read too)
 *
 * Every broker (the writer too) acts on a notification by reading /config/topics/<t> again and
 * making it the local topic's overrides over the store's defaults (st_topic_config_set: the
 * running logs take it at once), when it holds a replica. Notifications are processed in any
 * order: each one only says "read this topic again", and the read sees the latest document.
 * At start and after a new session (watches lost, notifications maybe purged) every held
 * topic's configs are applied instead, so a broker that was down catches up. Notifications
 * older than 15 minutes are deleted by whichever broker sees them (Kafka's
 * ZkNodeChangeNotificationListener purges after changeExpirationMs, 15 minutes, the same way);
 * a broker down longer than that does not need them (it re-reads everything at start).
 * A notification naming a user or client id (users/<u>, clients/<c>, users/<u>/clients/<c>)
 * has that entity's document re-read (br_clu_ents.c), and a resync reads them all too.
 * brokers/ entities are not acted on here: this broker keeps those configs in its own file
 * (br_dynconf.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_clu_int.h"
#include "br_log.h"
#include "st.h"

#define CHANGE_PREFIX    "config_change_"
#define APPLY_TRIES      40 /* st_topic_config_set -EBUSY: another change runs */
#define APPLY_BACKOFF_US 25000

static int zk_errno(int rc) { return br_clu__transient(rc) ? -EAGAIN : -EIO; }

static void on_changes(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)state;
    (void)path;
    struct br_clu *c = ctx;
    br_clu__watch_mark(c, type, &c->cfg_dirty);
}

/* /brokers/topics/<name> exists: ZOK, ZNONODE (no such topic), or a ZooKeeper code. */
static int topic_exists(struct br_clu *c, const char *name)
{
    char path[PATH_MAX_LEN];
    if (snprintf(path, sizeof path, "%s/%s", c->p_topics, name) >= (int)sizeof path)
        return ZNONODE;
    struct Stat st;
    return zoo_exists(c->zh, path, 0, &st);
}

/* /config/topics/<name> into buf (cap bytes, NUL-terminated), *len its length (0: none); a
 * ZooKeeper code, ZBADARGUMENTS when it does not fit. */
static int read_config(struct br_clu *c, const char *name, char *buf, size_t cap, size_t *len)
{
    char path[PATH_MAX_LEN];
    *len = 0;
    if (cap < 1 || snprintf(path, sizeof path, "%s/%s", c->p_configs, name) >= (int)sizeof path)
        return ZBADARGUMENTS;
    buf[0] = 0;
    int l = cap - 1 > (size_t)BIG_MAX ? BIG_MAX : (int)(cap - 1);
    struct Stat st;
    memset(&st, 0, sizeof st);
    int rc = zoo_get(c->zh, path, 0, buf, &l, &st);
    if (rc == ZNONODE)
        return ZOK; /* no overrides */
    if (rc != ZOK)
        return rc;
    if (st.dataLength > l)
        return ZBADARGUMENTS; /* (cut by the buffer) */
    *len = l > 0 ? (size_t)l : 0;
    buf[*len] = 0;
    return ZOK;
}

static int run_get(struct br_clu *c, struct clu_req *r)
{
    int rc = topic_exists(c, r->name);
    if (rc == ZNONODE)
        return -ENOENT;
    if (rc != ZOK)
        return zk_errno(rc);
    rc = read_config(c, r->name, r->buf, r->cap, &r->len);
    if (rc == ZBADARGUMENTS)
        return -ENOSPC;
    return rc == ZOK ? 0 : zk_errno(rc);
}

static int run_set(struct br_clu *c, struct clu_req *r)
{
    int rc = topic_exists(c, r->name);
    if (rc == ZNONODE)
        return -ENOENT;
    if (rc != ZOK)
        return zk_errno(rc);
    char path[PATH_MAX_LEN], note[PATH_MAX_LEN + 64], made[PATH_MAX_LEN + 32];
    if (snprintf(path, sizeof path, "%s/%s", c->p_configs, r->name) >= (int)sizeof path ||
        snprintf(note, sizeof note, "topics/%s", r->name) >= (int)sizeof note)
        return -ENOENT;
    int cl = (int)strlen(r->config);
    rc = zoo_set(c->zh, path, r->config, cl, -1);
    if (rc == ZNONODE) { /* (a topic created without configs by a Kafka tool: none yet) */
        rc = zoo_create(c->zh, path, r->config, cl, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (rc == ZNODEEXISTS)
            rc = zoo_set(c->zh, path, r->config, cl, -1);
    }
    if (rc != ZOK) {
        br_warn("cluster: cannot write the configs of topic %s: %s", r->name, zerror(rc));
        return zk_errno(rc);
    }
    char json[PATH_MAX_LEN + 128];
    int jl = br_clu_json_change_enc(json, sizeof json, note);
    if (jl < 0)
        return -EIO;
    rc = br_clu__note_write(c, c->p_changes, CHANGE_PREFIX, json, jl, made, (int)sizeof made);
    if (rc != ZOK) {
        /* the configs are written; the brokers see them at their next start or re-read, but
         * not now: the client is told (it may retry, which writes the same again) */
        br_warn("cluster: configs of topic %s written, but not the change notification: %s",
                r->name, zerror(rc));
        return zk_errno(rc);
    }
    br_info("cluster: configs of topic %s written (%s)", r->name, made);
    return 0;
}

int br_clu__cfg_run(struct br_clu *c, struct clu_req *r)
{
    if (r->ent) /* (a user's or client id's document: br_clu_ents.c) */
        return br_clu__ent_write(c, r->ent, r->ekv, r->nekv, r->ent_new);
    return r->kind == REQ_CFG_GET ? run_get(c, r) : run_set(c, r);
}

/* ---- applying ---------------------------------------------------------------------------- */

struct fold {
    struct br_clu *c;
    const char *topic;
    struct st_log_config *lc;
    uint32_t ov;
};

static int fold_one(void *ctx, const char *key, const char *val)
{
    struct fold *f = ctx;
    if (f->c->conf.topic_config && f->c->conf.topic_config(f->lc, &f->ov, key, val) != 0)
        br_warn_limited("cluster: topic %s: config %s=%s not applied here", f->topic, key, val);
    return 0;
}

/* Whether the topic's overrides (cov, cur) already are (ov, want). */
static bool same(const struct st_log_config *cur, uint32_t cov, const struct st_log_config *want,
                 uint32_t ov)
{
    if (cov != ov)
        return false;
    for (int k = 0; k < ST_TK_COUNT; k++)
        if ((ov & (1u << k)) && st_topic_key_get(cur, (enum st_topic_key)k) !=
                                    st_topic_key_get(want, (enum st_topic_key)k))
            return false;
    return true;
}

int br_clu__cfg_apply(struct br_clu *c, const char *name)
{
    struct st_store *store = c->conf.store;
    size_t nl = strlen(name);
    struct st_log_config cur;
    uint32_t cov;
    if (!store || st_topic_config(store, name, nl, &cur, &cov) < 0)
        return ZOK; /* not held here */
    char buf[DATA_MAX];
    size_t len;
    int rc = read_config(c, name, buf, sizeof buf, &len);
    if (rc == ZBADARGUMENTS) {
        br_warn_limited("cluster: /config/topics/%s is larger than %d bytes: not applied", name,
                        DATA_MAX);
        return ZOK;
    }
    if (rc != ZOK)
        return rc;
    struct st_log_config lc;
    st_store_defaults(store, &lc);
    struct fold f = {c, name, &lc, 0};
    if (len > 0 && br_clu_json_config_each(buf, len, fold_one, &f) < 0) {
        br_warn_limited("cluster: /config/topics/%s is not a topic config document", name);
        return ZOK;
    }
    if (same(&cur, cov, &lc, f.ov))
        return ZOK;
    int err = -EBUSY;
    for (int i = 0; i < APPLY_TRIES && err == -EBUSY; i++) {
        err = st_topic_config_set(store, name, &lc, f.ov);
        if (err == -EBUSY)
            usleep(APPLY_BACKOFF_US); /* (an AlterConfigs or a growth of it is writing) */
    }
    if (err == 0)
        br_info("cluster: topic %s: configs from ZooKeeper applied here", name);
    else if (err != -ENOENT)
        br_err_limited("cluster: topic %s: cannot apply its configs here: %s", name,
                       strerror(-err));
    return ZOK;
}

/* A notification (json, len) naming a user or client id: its document re-read
 * (br_clu_ents.c); other entity types are not acted on. A ZooKeeper code. */
static int one_entity(struct br_clu *c, const char *json, size_t len)
{
    /* (an entity path is up to BR_CLU_ENT_PATH_MAX, ~6 KiB: 12 KiB of the cluster thread's
     * default 8 MiB stack, or of br_clu_open's caller's) */
    char entity[BR_CLU_ENT_PATH_MAX], type[32], name[BR_CLU_ENT_PATH_MAX];
    if (br_clu_json_str(json, len, "entity_path", entity, sizeof entity) != 0) {
        if (br_clu_json_str(json, len, "entity_type", type, sizeof type) != 0 ||
            br_clu_json_str(json, len, "entity_name", name, sizeof name) != 0 ||
            snprintf(entity, sizeof entity, "%s/%s", type, name) >= (int)sizeof entity)
            return ZOK;
    }
    if (strncmp(entity, "users/", 6) != 0 && strncmp(entity, "clients/", 8) != 0)
        return ZOK;
    return br_clu__ent_changed(c, entity);
}

/* A new notification (br_clu_notes.c): the topic it names has its configs applied (a user's
 * or client id's: its document re-read). */
static int one_change(struct br_clu *c, void *ctx, const char *path, const char *buf, int len)
{
    (void)ctx;
    /* version 2: "entity_path":"topics/<t>"; version 1 (older Kafka tools):
     * "entity_type":"topics","entity_name":"<t>" */
    char entity[BR_CLU_ENT_PATH_MAX], type[32];
    const char *topic = NULL;
    if (len > 0 && br_clu_json_str(buf, (size_t)len, "entity_path", entity, sizeof entity) == 0)
        topic = strncmp(entity, "topics/", 7) == 0 && entity[7] ? entity + 7 : "";
    else if (len > 0 && br_clu_json_str(buf, (size_t)len, "entity_type", type, sizeof type) == 0 &&
             br_clu_json_str(buf, (size_t)len, "entity_name", entity, sizeof entity) == 0)
        topic = strcmp(type, "topics") == 0 ? entity : "";
    int rc;
    if (topic && !topic[0] && (rc = one_entity(c, buf, (size_t)len)) != ZOK)
        return rc;
    if (!topic)
        br_warn_limited("cluster: %s is not a config change notification", path);
    else if (topic[0])
        return br_clu__cfg_apply(c, topic);
    return ZOK;
}

int br_clu__cfg_mark(struct br_clu *c)
{
    return br_clu__notes_read(c, c->p_changes, CHANGE_PREFIX, on_changes, c, &c->cfg_seq, true,
                              one_change, NULL);
}

int br_clu__cfg_changes(struct br_clu *c)
{
    /* (on a resync every topic and entity is read below: the notifications are only purged;
     * but at the first turn after br_clu_open read the entities (ent_fresh), the ones after the
     * sequence br_clu__cfg_mark recorded there are acted on: they may be newer than that read) */
    bool resync = c->cfg_resync;
    int rc = br_clu__notes_read(c, c->p_changes, CHANGE_PREFIX, on_changes, c, &c->cfg_seq,
                                resync && !c->ent_fresh, one_change, NULL);
    if (rc != ZOK)
        return rc; /* (cfg_seq unchanged: the same notifications again next time) */
    if (resync) {
        /* (the cluster thread is the view's only writer: it reads it without the lock) */
        for (int i = 0; rc == ZOK && i < c->ntopics; i++)
            rc = br_clu__cfg_apply(c, c->topics[i].name);
        if (rc == ZOK && !c->ent_fresh) /* (users and client ids: br_clu_ents.c) */
            rc = br_clu__ent_resync(c, !c->ent_done);
        if (rc != ZOK)
            return rc;
        c->ent_done = true;
        c->ent_fresh = false;
        c->cfg_resync = false;
        br_info("cluster: topic configs read from ZooKeeper (%d topic(s) in the cluster)",
                c->ntopics);
    }
    return ZOK;
}

/* ---- requests of other threads -------------------------------------------------------------- */

int br_clu_topic_config_get(struct br_clu *c, const char *name, char *buf, size_t cap, size_t *len)
{
    struct clu_req r = {.kind = REQ_CFG_GET, .name = name, .buf = buf, .cap = cap};
    int rc = br_clu__submit(c, &r);
    *len = rc == 0 ? r.len : 0;
    return rc;
}

int br_clu_topic_config_set(struct br_clu *c, const char *name, const char *config_json)
{
    struct clu_req r = {.kind = REQ_CFG_SET, .name = name, .config = config_json};
    return br_clu__submit(c, &r);
}
