/*
 * br_clu — this broker's membership in a cluster coordinated by Apache ZooKeeper, as Kafka's
 * ZooKeeper mode (docs/cluster.md): the session, the ephemeral registration
 * /brokers/ids/<id>, the controller election (/controller, /controller_epoch), and a view of
 * the live brokers and the controller for Metadata (M1); topics, their assignments and
 * partition states, the controller's duties (new partitions' states, leader election when a
 * leader dies or returns, deletions, the preferred-leader rebalance on a timer and ElectLeaders'
 * elections: br_clu_prefer.c) and /cluster/id (M2); the leader's side of replication
 * (M3: br_clu_repl.h, the ISR changes a leader writes); producer ids unique in the cluster
 * (br_clu_pid_block: blocks reserved in /latest_producer_id_block).
 *
 * Contract
 * - br_clu_open() runs on the starting thread and blocks: it connects (at most
 *   conn_timeout_ms, else -ETIMEDOUT), creates the persistent parents under the chroot,
 *   registers (an id already registered: -EEXIST, Kafka's NodeExists), takes part in the
 *   election and reads the live brokers, then starts the cluster thread. On failure err says
 *   why, nothing is left behind (the session is closed), *out is NULL.
 * - Every ZooKeeper call after that runs on the cluster thread ("clu"), synchronously. The
 *   ZooKeeper client's own threads only run its watchers, which note what changed under the
 *   module's lock and wake the cluster thread: no loop thread ever waits on ZooKeeper. The
 *   cluster thread re-registers and re-elects after a session expiry, re-reads /brokers/ids
 *   and /controller when their watches fire, and retries what a lost connection interrupted.
 * - The view (br_clu_nodes, br_clu_controller) may be read from any thread at any time; it
 *   is copied out under the lock and is what ZooKeeper said at the last read (it is not
 *   cleared while the connection is down: Kafka's brokers also serve their last view).
 * - br_clu_close() stops the thread and closes the session (ZooKeeper deletes the ephemeral
 *   nodes at once, so the others see this broker leave without waiting for the timeout);
 *   call it once no thread reads the view. NULL is accepted.
 * - Topics: the cluster thread keeps a view of every topic's assignment and partition states,
 *   read through ZooKeeper watches (docs/cluster.md says why this deviates from Kafka's
 *   LeaderAndIsr requests for now). Before a view that makes this broker a replica of a
 *   partition is published, the cluster thread creates the topic in conf->store; a topic
 *   that leaves the view is deleted from it. br_clu_topic_partitions, br_clu_partition,
 *   br_clu_leader and br_clu_topics read the view from any thread (under the lock, no
 *   allocation). br_clu_create_topic and br_clu_delete_topic hand the work to the cluster
 *   thread and wait for it: never call them from a loop thread. br_clu_create_topic and
 *   br_clu_add_partitions then, on the caller's thread, ask the other live brokers over the
 *   inter-broker listener until their Metadata shows the topic led (br_clu_peers.c), so that
 *   once the caller answers, every broker shows the change.
 * - Topic configs: /config/topics/<t> is the truth in a cluster. The cluster thread watches
 *   /config/changes and applies a changed topic's configs to the logs this broker holds (no
 *   restart); at start and after a new session it applies every held topic's, so a broker
 *   that was down catches up (br_clu_config.c).
 * - ACLs (when the broker has an authorizer): ZooKeeper holds them as Kafka's ZooKeeper-mode
 *   AclAuthorizer does (/kafka-acl/..., /kafka-acl-changes; br_clu_acl.c). br_clu_open reads
 *   them all and hands them to conf.acl_apply before returning; the cluster thread keeps the
 *   authorizer current from the change notifications and reads everything again after a new
 *   session. br_clu_acl_create / _delete hand the writes to the cluster thread and wait.
 * - br_clu_elect (ElectLeaders) hands the partitions to the cluster thread, which answers
 *   them as the controller (BR_CLU_TURN_WRITES writes a turn at most: a long request spans
 *   turns), and waits: never from a loop thread.
 * - Users and client ids: /config/users and /config/clients are the truth in a cluster for
 *   SCRAM credentials and client quotas (br_clu_ents.h: the writes, the notifications, the
 *   reads at start and after a new session, through conf->entity_config). br_clu_open
 *   reads them all before returning and fails when it cannot.
 * - Errors: 0 or -errno; ZooKeeper's own codes are named in the log lines.
 */
#ifndef SPLICELOG_BR_CLU_H
#define SPLICELOG_BR_CLU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "br_clu_json.h"
#include "br_config.h"
#include "st.h"

struct br_clu;
struct br_clu_acl_change;
struct br_clu_entdoc;
struct br_clu_tls;
struct st_store;

struct br_clu_conf {
    int32_t broker_id;
    const char *connect; /* zookeeper.connect: HOST:PORT[,HOST:PORT...][/chroot] */
    const char *rack;    /* broker.rack: NULL or "" = none (at most BR_CLU_RACK_MAX - 1 bytes) */
    int64_t session_timeout_ms;
    int64_t conn_timeout_ms;
    int n_endpoints; /* this broker's listeners, as registered */
    struct br_clu_endpoint endpoints[BR_MAX_LISTENERS];
    struct st_store *store; /* where the partitions this broker holds live */
    /* the data directory (NULL: not checked): br_clu_open refuses to join when its
     * meta.properties names another cluster id or broker id, and writes one when it has none
     * (br_clu_meta.h) */
    const char *data_dir;
    /* A topic this broker starts holding is created with log_defaults and its
     * /config/topics/<t> entries applied by topic_config (0, or non-zero: the entry is
     * skipped with a warning; it sets the key in lc and its bit, 1 << enum st_topic_key, in
     * *overrides when the key is one the store keeps); topic_config may be NULL (defaults
     * only). The same function applies a topic's configs when they change at run time
     * (br_clu_config.c): the store's defaults now, with the entries over them, become the
     * topic's (st_topic_config_set). */
    struct st_log_config log_defaults;
    int (*topic_config)(struct st_log_config *lc, uint32_t *overrides, const char *key,
                        const char *val);
    /* M3 (br_clu_repl.h): replica.lag.time.max.ms (0: 30000); hw_moved (may be NULL) is
     * called on the cluster thread when an ISR change it wrote moved a high watermark (the
     * server wakes the produce and fetch requests waiting for it). */
    int64_t replica_lag_time_max_ms;
    void (*hw_moved)(void *arg);
    void *hw_arg;
    /* M4 (groups; may be NULL): called on the cluster thread with every new view of the
     * topics, after the partitions it has this broker lead were given their leader epoch and
     * before the view is published (so nothing appends to a partition this broker no longer
     * leads once followers see the view): __consumer_offsets' np partitions (0: no such
     * topic), epochs[p] the leader epoch at which this broker leads p, else -1
     * (br_clu_coord.c). The group coordinator loads and unloads its partitions from it. */
    void (*coord_view)(void *arg, const int32_t *epochs, int32_t np);
    /* M4 (transactions; may be NULL): the same for __transaction_state, right after
     * coord_view, with the same coord_arg (the transaction coordinator's loads, br_txload.h). */
    void (*txn_view)(void *arg, const int32_t *epochs, int32_t np);
    void *coord_arg;
    /* ACLs in ZooKeeper (br_clu_acl.c; NULL: no authorizer, the ACL znodes are not read):
     * called with what ZooKeeper holds, in br_clu_open (the starting thread: the whole set,
     * before it returns) and on the cluster thread (the whole set after a new session; the
     * patterns a change notification names; those this broker's CreateAcls / DeleteAcls just
     * wrote). A full read holds at most acl_max bindings and acl_bytes_max bytes of strings
     * (br_acl.h's bounds), else it is refused whole (logged; at open br_clu_open fails).
     * 0 or -errno (logged). */
    int (*acl_apply)(void *arg, const struct br_clu_acl_change *ch);
    void *acl_arg;
    size_t acl_max, acl_bytes_max;
    /* Users' and client ids' configs (SCRAM credentials, quotas; may be NULL: not read): the
     * documents of /config/users and /config/clients, each entity's key/values, and what
     * they stand for (enum br_clu_ent_scope, br_clu_ents.h: one changed entity, or every
     * entity). Called on the cluster thread (for a notification, a resync, and for the
     * document this broker itself just wrote: br_clu_entity_alter), and once on the starting
     * thread inside br_clu_open before it returns (BR_CLU_ENTS_START); docs valid during the
     * call only. */
    void (*entity_config)(void *arg, const struct br_clu_entdoc *docs, size_t n, int scope);
    void *entity_arg;
    /* A topic made or grown through this broker (br_clu_create_topic, br_clu_add_partitions)
     * is answered once every other live broker's Metadata shows it led (br_clu_peers.c): they
     * are asked at their endpoint of the listener named peer_listener
     * (inter.broker.listener.name; "": not asked), over PLAINTEXT, or TLS with peer_tls (the
     * caller's, outliving c; NULL: PLAINTEXT), the handshake within peer_handshake_ms (0:
     * 3000). */
    char peer_listener[32];
    struct br_clu_tls *peer_tls;
    int64_t peer_handshake_ms;
    /* Preferred-leader rebalance (br_clu_prefer.c), while this broker is the controller:
     * auto.leader.rebalance.enable, leader.imbalance.check.interval.seconds (in ms here; <= 0:
     * 300 s) and leader.imbalance.per.broker.percentage. false (a zeroed conf): never. */
    bool leader_rebalance;
    int64_t imbalance_check_ms;
    int32_t imbalance_pct;
};

/* ACLs read from ZooKeeper (br_clu_acl.c), for conf.acl_apply. With all, b[0, n) is the whole
 * set; else the resource patterns of pats[0, npats) (type, pattern type and name) have the
 * bindings of b (all of those patterns) and no others. closed[0, nclosed): patterns whose
 * document could not be read (not Kafka's format, too large): the authorizer must fail them
 * closed, never skip them (a dropped DENY would grant). Views valid during the call. */
struct br_clu_acl_change {
    bool all;
    const struct br_clu_acl *pats;
    size_t npats;
    const struct br_clu_acl *b;
    size_t n;
    const struct br_clu_acl *closed;
    size_t nclosed;
};

/* One partition as the cluster's view has it. */
struct br_clu_part {
    int32_t leader; /* -1: none (offline, or no state yet) */
    int32_t leader_epoch;
    struct br_clu_replicas replicas, isr;
    struct br_clu_replicas offline; /* replicas that are not live */
};

/* One live broker as a client of one listener sees it. */
struct br_clu_node {
    int32_t id;
    char host[BR_HOST_MAX];
    int32_t port;
    char rack[BR_CLU_RACK_MAX]; /* its broker.rack, "" for none */
};

int br_clu_open(const struct br_clu_conf *conf, struct br_clu **out, char *err, size_t errlen);
void br_clu_close(struct br_clu *c);

/* The live brokers that have an endpoint named listener, by id, at most max into out; returns
 * how many there are (may exceed max: call again with more room). */
int br_clu_nodes(struct br_clu *c, const char *listener, struct br_clu_node *out, int max);
/* The controller's broker id, -1 when none is known; *epoch (may be NULL): the controller
 * epoch read with it (0 when unknown). */
int32_t br_clu_controller(struct br_clu *c, int64_t *epoch);

/* /cluster/id's id (set at br_clu_open, never changes). */
const char *br_clu_cluster_id(const struct br_clu *c);

/* The partition count of a topic of the view, or -ENOENT. */
int32_t br_clu_topic_partitions(struct br_clu *c, const char *name, size_t len);
/* The topic id of a topic of the view (the same on every broker): 0, -ENOENT (no such topic,
 * or it has none). */
int br_clu_topic_id(struct br_clu *c, const char *name, size_t len, uint8_t id[16]);
/* The name of the topic of the view with that id (cap bytes, NUL-terminated): 0, -ENOENT. */
int br_clu_topic_by_id(struct br_clu *c, const uint8_t id[16], char *name, size_t cap);
/* Partition p of topic name: 0 and *out, or -ENOENT. */
int br_clu_partition(struct br_clu *c, const char *name, size_t len, int32_t p,
                     struct br_clu_part *out);
/* Who leads partition p of topic name in the view: its broker id, -1 none (offline, no state
 * yet, or this broker named leader before its log was told so), -ENOENT no such partition. */
int32_t br_clu_leader(struct br_clu *c, const char *name, size_t len, int32_t p);
/* Calls fn for every topic of the view, by name, under the view's lock (fn must not call
 * this module); stops at fn's first non-zero return, which it returns. */
int br_clu_topics(struct br_clu *c, int (*fn)(void *ctx, const char *name, int32_t np), void *ctx);
/* Writes topic name's configs (config_json: br_clu_json_config_enc's, NULL: none) to
 * /config/topics/<name>, then its assignment (np partitions, rf replicas each: assign[p] when
 * given — a client's, checked by the caller for shape — else spread over the live brokers) to
 * /brokers/topics/<name>; the controller then writes the partition states. Waits at most
 * wait_ms for this broker's view to show a leader for every partition, then (within the same
 * wait_ms) for every other live broker's Metadata to show them too (conf.peer_listener; a
 * broker that cannot be asked is not waited for); it is created all the same if that takes
 * longer. 0, -EEXIST, -EINVAL (rf above the live brokers), -ENXIO (assign
 * names a broker that is not live), -EIO, -EAGAIN (ZooKeeper unreachable), -ECANCELED
 * (closing). Not on a loop thread. */
int br_clu_create_topic(struct br_clu *c, const char *name, int32_t np, int16_t rf,
                        const struct br_clu_replicas *assign, const char *config_json,
                        int64_t wait_ms);
/* Grows topic name to total partitions: the new ones are assigned like a new topic's (the
 * replication factor of partition 0), or as assign[0, nassign) gives them (a client's, one per
 * new partition, shape checked by the caller), and the assignment rewritten conditionally on
 * its version; the controller writes their states. Waits at most wait_ms for the view, then
 * every other live broker's Metadata, to show them led (as br_clu_create_topic). 0, -ENOENT,
 * -EINVAL (not more than it has), -EBUSY (changed meanwhile: retry), -EDOM (assign is not one list
 * per new partition of the topic's replication factor), -ENXIO (assign names a broker that is not
 * alive), -EIO, -EAGAIN, -ECANCELED. Not on a loop thread. */
int br_clu_add_partitions(struct br_clu *c, const char *name, int32_t total,
                          const struct br_clu_replicas *assign, int32_t nassign, int64_t wait_ms);
/* Marks topic name for deletion (/admin/delete_topics/<name>); the controller deletes it.
 * Waits at most wait_ms for it to leave this broker's view. 0, -ENOENT, -EIO, -EAGAIN,
 * -ECANCELED. Not on a loop thread. */
int br_clu_delete_topic(struct br_clu *c, const char *name, int64_t wait_ms);

/* Topic configs changed at run time (br_clu_config.c, Kafka's ZooKeeper mode):
 * br_clu_topic_config_get reads topic name's /config/topics/<name> document into buf (cap
 * bytes, NUL-terminated; *len its length, 0 when the topic has no such znode: no overrides),
 * straight from ZooKeeper, as Kafka's DescribeConfigs does. 0; -ENOENT (no
 * /brokers/topics/<name>: no such topic in the cluster); -ENOSPC (buf too small); -EIO;
 * -EAGAIN (ZooKeeper unreachable); -ECANCELED (closing). Not on a loop thread. */
int br_clu_topic_config_get(struct br_clu *c, const char *name, char *buf, size_t cap, size_t *len);
/* Writes config_json (br_clu_json_config_enc's: the topic's whole override set) as
 * /config/topics/<name>, then a change notification (a sequential
 * /config/changes/config_change_ with {"version":2,"entity_path":"topics/<name>"}); every
 * broker then applies the topic's configs to the logs it holds. 0 once both are written;
 * -ENOENT (no such topic), -EIO, -EAGAIN, -ECANCELED. Not on a loop thread. */
int br_clu_topic_config_set(struct br_clu *c, const char *name, const char *config_json);

/* Reserves the next block of n producer ids for this broker, cluster-wide (Kafka's
 * ZooKeeper mode: /latest_producer_id_block, format and steps at the top of br_clu_pid.c):
 * *first .. *first + n - 1, every id >= floor, no id of it ever in a block another (or this)
 * broker reserved before. Waits for the cluster thread (at most its current ZooKeeper call and
 * this one). 0; -EAGAIN (ZooKeeper unreachable, or other brokers kept winning the conditional
 * write: retry); -EIO (the znode unreadable: a log line says what it holds); -EOVERFLOW (ids
 * exhausted); -EINVAL (n < 1 or floor < 0); -ECANCELED (closing). Not on a loop thread. */
int br_clu_pid_block(struct br_clu *c, int32_t n, int64_t floor, int64_t *first);

/* CreateAcls in a cluster (br_clu_acl.c): adds the bindings b[0, n) (each already valid for
 * br_acl_validate) to ZooKeeper, per resource pattern a conditional read-modify-write of its
 * document (retried on a concurrent change) and then a change notification; the local
 * authorizer has them (conf.acl_apply) before this returns. results[i]: 0 (written, or already
 * there: a notification is written then too), -EINVAL (the name cannot be a znode: "/", ".",
 * "..", control characters), -EBADMSG (the pattern's document in ZooKeeper cannot be read:
 * left as it is), -ENOSPC (the document would pass jute.maxbuffer), -EAGAIN (ZooKeeper
 * unreachable, too many concurrent writers, or the notification not written yet: the cluster
 * thread keeps trying; the change may or may not be in ZooKeeper), -EIO. The caller checks the
 * authorizer's bounds first (br_authz_room). Returns 0, or -ECANCELED (closing). Not on a loop
 * thread. */
int br_clu_acl_create(struct br_clu *c, const struct br_clu_acl *b, size_t n, int *results);
/* DeleteAcls in a cluster: for each candidate pattern of pats[0, npats) (those of this
 * broker's bindings a filter matches: the local set follows ZooKeeper, as Kafka's deleteAcls
 * takes them from its cache; only their type, pattern type and name are read), the bindings
 * its document in ZooKeeper holds for which match returns a filter index (>= 0) are deleted (a
 * conditional write per document, retried on a concurrent change); deleted is then told each
 * with its index (views valid during the call). Every candidate ends with its document taken
 * by the local authorizer (as read or written) and a change notification (also when nothing
 * matched there any more: see br_clu_acl.c, "every end writes one"). Documents that cannot be
 * read are left alone (logged). 0, -EAGAIN (ZooKeeper unreachable, too many concurrent
 * writers, or a notification not written yet: the cluster thread keeps trying), -EIO, -ENOMEM
 * (each pattern is tried; what was deleted was told), -ECANCELED. Not on a loop thread.
 * match and deleted run on the cluster thread. */
int br_clu_acl_delete(struct br_clu *c, const struct br_clu_acl *pats, size_t npats,
                      int (*match)(void *arg, const struct br_clu_acl *b),
                      void (*deleted)(void *arg, int filter, const struct br_clu_acl *b),
                      void *arg);

/* ElectLeaders (br_clu_prefer.c): one partition to elect a leader for, and its answer. */
struct br_clu_elect {
    const char *topic; /* [len], not NUL-terminated; the caller's, during the call */
    size_t len;
    int32_t partition;
    /* the answer: 0 (elected: the new state is written), -EALREADY (the preferred replica
     * leads already; unclean: a live leader leads), -ENXIO (the preferred replica is not live
     * or not in the ISR; unclean: no live leader, and unclean election is not done), -ENOENT
     * (no such partition), -ENOTCONN (this broker stopped being the controller), -EBUSY (the
     * state kept changing: read again and decided again a few times; ask again), -EAGAIN
     * (ZooKeeper unreachable: ask again) / -EIO (ZooKeeper refused the write) */
    int rc;
};
/* Elects the preferred replica (the assignment's first) of each partition of e[0, n) when it
 * is live and in the ISR (unclean: answers only, nothing is written), on the cluster thread
 * as the controller's every decision (br_clu_prefer.c); waits for it. 0 (each e[i].rc says),
 * -ENOTCONN (this broker is not the controller), -EAGAIN (ZooKeeper unreachable), -ECANCELED
 * (closing). Not on a loop thread. */
int br_clu_elect(struct br_clu *c, bool unclean, struct br_clu_elect *e, size_t n);

/* Controlled shutdown (br_clu_leave.c): deletes this broker's registration so that the
 * controller moves the leadership of its partitions to other in-sync replicas, then waits at
 * most wait_ms until the view shows it leading none. From then on it never registers again
 * and writes no ISR change. The number of partitions still led (0: all moved), or -errno
 * (-EAGAIN: ZooKeeper unreachable; the session's end does it then). Not on a loop thread;
 * before the loops stop, so that they answer the moved partitions' clients meanwhile. */
int br_clu_leave(struct br_clu *c, int64_t wait_ms);

/* The leader's replica state of the partitions this broker leads (br_clu_repl.h); lives as
 * long as c. */
struct br_repl *br_clu_repl(struct br_clu *c);
/* Raised at every change of the topics' view (assignments, partition states): a reader that
 * saw the same number saw the same view (br_clu_view.c). */
uint64_t br_clu_view_gen(struct br_clu *c);
/* Calls fn for every partition of the view (its topic, index, replicas, leader -1: none, and
 * leader epoch) under the view's lock (fn must not call this module nor block); stops at fn's
 * first non-zero return, which it returns. The internal topics (__consumer_offsets,
 * __transaction_state: M4) replicate like any topic. */
int br_clu_each_partition(struct br_clu *c,
                          int (*fn)(void *ctx, const char *topic, int32_t p,
                                    const struct br_clu_replicas *replicas, int32_t leader,
                                    int32_t leader_epoch),
                          void *ctx);

/* The live broker id's endpoint on listener (*out): 0, or -ENOENT (not live, or no endpoint
 * of that name). Any thread. */
int br_clu_node(struct br_clu *c, const char *listener, int32_t id, struct br_clu_node *out);

/* zookeeper.connect split: hosts (HOST:PORT,...) and chroot ("" or "/a/b"). -EINVAL. */
int br_clu_parse_connect(const char *connect, char *hosts, size_t hcap, char *chroot, size_t ccap);

#endif
