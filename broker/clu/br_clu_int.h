/*
 * br_clu_int — what br_clu.c (the session, registration, election, membership) and
 * br_clu_topics.c (topics, partition states, the controller's duties) share. Not for other
 * modules: br_clu.h is the interface.
 *
 * Ownership: the cluster thread is the only writer of the view (members, topics); it swaps in
 * new arrays under lock, so it may read them without the lock, and any other thread reads
 * them under the lock. Every ZooKeeper call is made by the thread owning the session (the
 * starting thread in br_clu_open, then the cluster thread).
 */
#ifndef SPLICELOG_BR_CLU_INT_H
#define SPLICELOG_BR_CLU_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#define THREADED /* the synchronous calls of libzookeeper_mt */
#include <zookeeper/zookeeper.h>

#include "br_clu.h"
#include "br_clu_ents.h"
#include "br_clu_repl.h"

#define PATH_MAX_LEN 1024
#define DATA_MAX     8192
#define BIG_MAX      (1024 * 1024) /* ZooKeeper's jute.maxbuffer: no znode is larger */
#define RETRY_MS     250
#define ELECT_TRIES  8

struct member {
    int32_t id;
    int n; /* endpoints */
    struct br_clu_endpoint ep[BR_MAX_LISTENERS];
    char rack[BR_CLU_RACK_MAX]; /* "" for none */
};

/* A partition as ZooKeeper has it. */
struct cpart {
    struct br_clu_replicas rep; /* the assignment */
    struct br_clu_state st;     /* valid when zver >= 0 */
    int32_t zver;               /* the state znode's version; -1: no state yet */
    int32_t told; /* M3: 1 + the leader epoch its log was given as leader (br_clu__lead);
                     0: none */
};

struct ctopic {
    char *name;
    uint8_t id[16]; /* the assignment's topic_id (all zero: none) */
    int64_t czxid;  /* the zxid that created its assignment znode (0: not known) */
    int32_t np;
    struct cpart *p; /* [np] */
};

/* What the topic watches announced since the cluster thread last took it (br_clu_topics.c,
 * under lock): only that is read again, or everything when full. Bounded: past TDIRTY_TOPICS
 * topics (or a name of TDIRTY_NAME bytes or more) everything is read; past TDIRTY_PARTS states
 * of one topic, the whole topic. */
#define TDIRTY_TOPICS 128
#define TDIRTY_PARTS  16
#define TDIRTY_NAME   256
struct tdirty_topic {
    char name[TDIRTY_NAME];
    bool whole; /* its assignment (or too many states): all of it */
    int np;
    int32_t p[TDIRTY_PARTS]; /* states, when !whole */
};
struct tdirty {
    bool full; /* everything: the first read, a (new) connection, an overflow, a failed read */
    bool kids; /* /brokers/topics' children */
    int n;
    struct tdirty_topic t[TDIRTY_TOPICS];
};

/* A request of another thread for the cluster thread (br_clu_create_topic ...). */
struct clu_req {
    struct clu_req *next;
    int kind; /* REQ_* */
    const char *name;
    const char *config; /* REQ_CREATE, REQ_CFG_SET: /config/topics/<t>'s document, or NULL */
    int32_t np;         /* REQ_CREATE: partitions; REQ_ADD: the new total; REQ_PID: ids */
    int16_t rf;
    const struct br_clu_replicas *assign; /* REQ_CREATE: the client's replicas of each of the np
                                             partitions (rf each); REQ_ADD: of each new one
                                             (np - nassign first); NULL: spread here */
    int32_t nassign;                      /* REQ_ADD: entries of assign */
    int64_t floor, first; /* REQ_PID: the lowest id wanted; the block's first id (answer) */
    char *buf;            /* REQ_CFG_GET: the document's room (cap bytes) and length (answer) */
    size_t cap, len;
    void *acl; /* REQ_ACL: br_clu_acl.c's operation */
    /* REQ_CFG_SET with ent: the changes of a user's or client id's document instead of a
     * topic's (br_clu_ents.c) */
    const struct br_clu_entity *ent;
    const struct br_clu_ekv *ekv;
    int nekv;
    bool ent_new;               /* only when the entity has no znode yet (br_clu_entity_create) */
    struct br_clu_elect *elect; /* REQ_ELECT: the partitions (np of them) and their answers */
    bool unclean;               /* REQ_ELECT: an unclean election (answered, never done) */
    /* REQ_ELECT: the first partition not answered yet when cut at a turn's cap (0 once all
     * are); more: cut (br_clu__turn_budget), clu_main runs it again after the turn's reads
     * instead of answering */
    int32_t elect_next;
    bool more;
    int rc;    /* the answer: 0 or -errno */
    bool done; /* under lock */
};
enum {
    REQ_CREATE = 1,
    REQ_DELETE = 2,
    REQ_ADD = 3,
    REQ_PID = 4,
    REQ_CFG_GET = 5, /* br_clu_config.c */
    REQ_CFG_SET = 6, /* name, config (the document) */
    REQ_ACL = 7,     /* br_clu_acl.c: CreateAcls / DeleteAcls */
    REQ_ELECT = 8,   /* br_clu_prefer.c: ElectLeaders */
    REQ_LEAVE = 9,   /* br_clu_leave.c: controlled shutdown */
};

struct br_clu {
    struct br_clu_conf conf;
    char hosts[1024];
    char chroot[512];
    char p_ids[PATH_MAX_LEN];        /* <chroot>/brokers/ids */
    char p_me[PATH_MAX_LEN];         /* <chroot>/brokers/ids/<id> */
    char p_controller[PATH_MAX_LEN]; /* <chroot>/controller */
    char p_epoch[PATH_MAX_LEN];      /* <chroot>/controller_epoch */
    char p_topics[PATH_MAX_LEN];     /* <chroot>/brokers/topics */
    char p_deletes[PATH_MAX_LEN];    /* <chroot>/admin/delete_topics */
    char p_configs[PATH_MAX_LEN];    /* <chroot>/config/topics */
    char p_pid_block[PATH_MAX_LEN];  /* <chroot>/latest_producer_id_block (br_clu_pid.c) */
    char p_changes[PATH_MAX_LEN];    /* <chroot>/config/changes (br_clu_config.c) */
    char p_isrn[PATH_MAX_LEN];       /* <chroot>/isr_change_notification (br_clu_isrn.c) */
    char cluster_id[64];             /* /cluster/id's, set once by br_clu_open */
    zhandle_t *zh;                   /* written under lock by the thread that owns the session */
    char *big;                       /* BIG_MAX bytes: the cluster thread's read buffer */

    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    /* under lock: what the watchers saw */
    int zstate;           /* the session's last state (ZOO_CONNECTED_STATE, ...) */
    bool expired;         /* the session expired: a new one is needed */
    bool ids_dirty;       /* /brokers/ids changed */
    bool ctl_dirty;       /* /controller changed */
    bool topics_dirty;    /* a topic, an assignment or a partition state changed: tdirty */
    struct tdirty tdirty; /* ... which (br_clu__topics_mark) */
    bool state_dirty;     /* zstate changed (logged by the cluster thread) */
    bool cfg_dirty;       /* /config/changes changed (br_clu_config.c) */
    bool isrn_dirty;      /* /isr_change_notification changed (br_clu_isrn.c) */
    bool acl_dirty;       /* an ACL change notification directory changed (br_clu_acl.c) */
    bool stop;            /* br_clu_close */
    struct clu_req *reqs; /* waiting for the cluster thread */
    /* under lock: the view */
    struct member *members; /* by id */
    int nmembers;
    int32_t controller; /* -1: none known */
    int64_t epoch;
    struct ctopic *topics; /* by name */
    int ntopics;
    uint64_t view_gen; /* raised at every swap of topics */

    /* the cluster thread's own */
    int32_t ctl_zver;   /* /controller_epoch's version when this broker is the controller */
    bool leaving;       /* controlled shutdown: registration deleted, never written again, no
                           ISR change written (br_clu_leave.c) */
    int64_t cfg_seq;    /* the last config change notification acted on (-1: none) */
    bool cfg_resync;    /* at start and after a new session: every held topic's configs are
                           applied at the next read of /config/changes */
    int64_t acl_seq[2]; /* the last ACL change notification acted on, literal and extended */
    bool acl_resync;    /* every ACL is read again at the next turn (a new session) */
    struct br_clu_acl *acl_notes; /* ACL change notifications due, not written yet (names
                                     allocated; br_clu_acl.c: at most ACL_NOTES_MAX) */
    size_t acl_nnotes;
    bool acl_note_all; /* ... and a "read every ACL again" one (more were due than fit) */
    bool ent_fresh;    /* br_clu_open recorded cfg_seq, then read the users' and client ids'
                          configs: the first cfg_resync acts on the notifications after cfg_seq
                          instead of reading them again (br_clu_config.c) */
    bool ent_done;     /* they were read once (later reads are BR_CLU_ENTS_ALL, not _START) */

    pthread_t thread;
    bool thread_started;

    /* M3: the leader's replica state (br_clu_repl.h); isr_dirty (under lock): an ISR change
     * is wanted (br_clu_lead.c writes it) */
    struct br_repl *repl;
    bool isr_dirty;

    /* br_clu_topics.c, the cluster thread's own: a local topic could not be made or deleted,
     * the next view brings every topic in line, not only the changed ones */
    bool sync_all;
};

/* A watch fired: sets *dirty (a flag of c, under c->lock) and wakes the cluster thread;
 * session events are on_session's. */
void br_clu__watch_mark(struct br_clu *c, int type, bool *dirty);
int64_t br_clu__wall_ms(void);
struct timespec br_clu__deadline_in(int64_t ms);
bool br_clu__transient(int rc);
/* Creates path and its parents as persistent empty znodes; a ZooKeeper code. */
int br_clu__ensure_path(struct br_clu *c, const char *path);
bool br_clu__live(const struct br_clu *c, int32_t id);

/* br_clu_topics.c, on the thread owning the session (ZooKeeper codes): */
/* Reads again (with watches) what c->tdirty names (every topic, assignment and partition state
 * when full, and at the first read), builds the new view from the old one and what was read,
 * creates (and deletes) the local logs of the changed topics this broker holds, then publishes
 * the view. A failure leaves the view as it was and makes the next read a full one. */
int br_clu__read_topics(struct br_clu *c);
/* Any thread, not holding c->lock: marks partition p's state (p >= 0) or all of topic
 * name[0, len) (p < 0) to be read again and wakes the cluster thread; true when everything is
 * to be read again (marked full before, or now: an overflow). */
bool br_clu__topics_mark(struct br_clu *c, const char *name, size_t len, int32_t p);
/* The controller's duties: states for new partitions, leaders for partitions whose leader
 * died or came back, pending deletions. Only while this broker is the controller. */
int br_clu__reconcile(struct br_clu *c);
/* The state partition cp should have given the live brokers (c->members), when it differs
 * from what it has: true and *ns (the controller epoch left to the writer). Pure. */
bool br_clu__decide(const struct br_clu *c, const struct cpart *cp, struct br_clu_state *ns);
/* Writes ns as partition p of t's state (creating it when cp has none), fenced by the
 * controller epoch; updates cp. ZOK (also when the state changed meanwhile: marked to be read
 * again), ZBADVERSION (no longer the controller), or a ZooKeeper code to retry. */
int br_clu__write_state(struct br_clu *c, const struct ctopic *t, int32_t p, struct cpart *cp,
                        struct br_clu_state *ns);
/* Runs one queued request (creates an assignment / marks a deletion / reserves ids). */
void br_clu__run_req(struct br_clu *c, struct clu_req *r);
/* Queues r for the cluster thread and waits for its answer (r->rc); -ECANCELED when closing.
 * Not on the cluster thread. */
int br_clu__submit(struct br_clu *c, struct clu_req *r);
/* Reads /cluster/id, creating it when missing. */
int br_clu__cluster_id(struct br_clu *c);
void br_clu__topics_free(struct ctopic *t, int n);

/* br_clu_pid.c, on the cluster thread: reserves the block r asks for (REQ_PID); 0 or -errno
 * (br_clu_pid_block). */
int br_clu__pid_run(struct br_clu *c, struct clu_req *r);
/* br_clu_config.c, on the cluster thread: */
/* Runs REQ_CFG_GET / REQ_CFG_SET; 0 or -errno (br_clu_topic_config_get / _set). */
int br_clu__cfg_run(struct br_clu *c, struct clu_req *r);
/* Reads /config/changes (with a watch) and applies the configs of the topics the new
 * notifications name to their logs;
 * deletes notifications older than 15 minutes, as Kafka. With cfg_resync: every held topic's
 * instead. A ZooKeeper code to retry. */
int br_clu__cfg_changes(struct br_clu *c);
/* Makes the local topic name's configs what /config/topics/<name> says over the store's
 * defaults (nothing when this broker does not hold it). A ZooKeeper code. */
int br_clu__cfg_apply(struct br_clu *c, const char *name);

/* br_clu_notes.c, on the thread owning the session: sequential change notifications
 * (<dir>/<prefix><seq>) as Kafka's ZkNodeChangeNotificationListener (/config/changes,
 * br_clu_config.c and br_clu_ents.c; the ACL changes, br_clu_acl.c); br_clu__note_write also
 * writes the leaders' /isr_change_notification entries (br_clu_lead.c). */
#define BR_CLU_NOTE_EXPIRY_MS (15 * 60 * 1000) /* Kafka's changeExpirationMs */
/* The sequence number of child, a <prefix><seq> name; -1 for another. */
int64_t br_clu__note_seq(const char *child, const char *prefix);
/* Creates a notification <dir>/<prefix><seq> holding data[0, len) (dir created when missing);
 * made (may be NULL): its path. A ZooKeeper code. */
int br_clu__note_write(struct br_clu *c, const char *dir, const char *prefix, const char *data,
                       int len, char *made, int madecap);
/* Called for a notification not acted on yet: its path and data (NUL-terminated; len -1: none,
 * or larger than DATA_MAX). ZOK, or a ZooKeeper code that stops the read. */
typedef int (*br_clu_note_fn)(struct br_clu *c, void *ctx, const char *path, const char *data,
                              int len);
/* Lists dir's notifications (watch w, wctx); calls fn for each with a sequence above *last
 * (none with skip_new), in listing order; deletes those older than BR_CLU_NOTE_EXPIRY_MS; then
 * *last = the highest sequence seen. A notification ZooKeeper will not give (ZNOAUTH...) is
 * handed to fn with len -1, as one that cannot be read. A ZooKeeper code (fn's, or a transient
 * one of ZooKeeper's; *last unchanged then, so the same notifications come again). */
int br_clu__notes_read(struct br_clu *c, const char *dir, const char *prefix, watcher_fn w,
                       void *wctx, int64_t *last, bool skip_new, br_clu_note_fn fn, void *ctx);

/* br_clu_acl.c (ACLs in ZooKeeper), when conf.acl_apply is set: */
/* At open (the starting thread): creates the ACL roots and change directories, reads every
 * ACL and hands them to conf.acl_apply. A ZooKeeper code; ZSYSTEMERROR when acl_apply or the
 * limits refused the set (logged). */
int br_clu__acl_load(struct br_clu *c);
/* On the cluster thread: writes the ACL change notifications still due, acts on new ones
 * (with watches), or, with acl_resync, reads every ACL again. A ZooKeeper code to retry (also
 * while notifications are still due). */
int br_clu__acl_changes(struct br_clu *c);
/* Runs a REQ_ACL; 0 or -errno (br_clu_acl_create / _delete). */
int br_clu__acl_run(struct br_clu *c, struct clu_req *r);
/* Frees the notifications still due (at close). */
void br_clu__acl_free(struct br_clu *c);

/* br_clu_ents.c (br_clu_ents.h), on the thread owning the session: */
/* Runs an entity's read-modify-write and its notification: 0 or -errno (br_clu_entity_alter). */
int br_clu__ent_write(struct br_clu *c, const struct br_clu_entity *e,
                      const struct br_clu_ekv *changes, int n, bool only_new);
/* A notification named entity epath ("users/<u>", ...): its document to conf.entity_config.
 * A ZooKeeper code to retry. */
int br_clu__ent_changed(struct br_clu *c, const char *epath);
/* Every user's and client id's document to conf.entity_config (BR_CLU_ENTS_START when start,
 * else BR_CLU_ENTS_ALL). A ZooKeeper code. */
int br_clu__ent_resync(struct br_clu *c, bool start);
/* br_clu_open, before reading the entities: lists /config/changes (watch set) and records its
 * newest sequence in cfg_seq without acting on any (br_clu_config.c). A ZooKeeper code. */
int br_clu__cfg_mark(struct br_clu *c);

/* br_clu_isrn.c, on the cluster thread, only while this broker is the controller: reads the
 * children of /isr_change_notification (with a watch), oldest first, at most a turn's worth
 * (*more: some are left for the next turn); for each, marks a partition it names to be read
 * again when its state is newer than the view's, then deletes it (garbage too, with a warning). A
 * ZooKeeper code to retry; notifications not yet deleted are read again then. */
int br_clu__isr_changes(struct br_clu *c, bool *more);

/* br_clu_peers.c, on the thread that made a topic change (never the cluster thread nor a loop
 * thread): asks every other live broker (conf.peer_listener) for topic name's Metadata until
 * it shows np partitions, each led, or deadline_ms (br_now_ms) passes; a broker that cannot
 * be asked, or refuses, is not waited for (logged). How many were not seen showing it, or
 * -ENOMEM. */
int br_clu__peers_wait(struct br_clu *c, const char *name, int32_t np, int64_t deadline_ms);

/* br_clu_coord.c (M4), on the cluster thread: tells conf.coord_view which partitions of
 * __consumer_offsets the view (nt, n) has this broker lead. */
void br_clu__coord_tell(struct br_clu *c, const struct ctopic *nt, int n);

/* br_clu_prefer.c: preferred-replica election (the assignment's first replica). */
enum br_clu_prefer {
    BR_CLU_PREFER_MOVE = 0,        /* *ns: the preferred replica leads, epoch + 1, same ISR */
    BR_CLU_PREFER_LEADS = 1,       /* it leads already */
    BR_CLU_PREFER_UNAVAILABLE = 2, /* not live, not in the ISR, or no state yet */
};
/* What electing partition cp's preferred replica means given the live brokers (c->members).
 * Pure. */
enum br_clu_prefer br_clu__prefer(const struct br_clu *c, const struct cpart *cp,
                                  struct br_clu_state *ns);
/* Kafka's imbalance check over the view (t, nt): for each live broker whose preferred
 * partitions are led elsewhere (or nowhere) for more than pct percent of them, calls fn with
 * each of those partitions its preferred replica can lead (BR_CLU_PREFER_MOVE) and the state
 * to write; stops at fn's first non-zero return, which it returns. Pure but for fn. */
int br_clu__imbalance(const struct br_clu *c, struct ctopic *t, int nt, int32_t pct,
                      int (*fn)(void *ctx, struct ctopic *t, int32_t p, struct br_clu_state *ns),
                      void *ctx);
/* How much more controller writes one cluster-thread turn may do (the rebalance, an
 * ElectLeaders): each is a blocking zoo_multi, and with thousands of partitions they would
 * hold broker deaths, session expiry, shutdown and other requests for seconds. */
#define BR_CLU_TURN_WRITES 64
enum br_clu_budget {
    BR_CLU_BUDGET_GO = 0,   /* write on */
    BR_CLU_BUDGET_MORE = 1, /* BR_CLU_TURN_WRITES done, or the live brokers changed (ids_dirty):
                               the rest after the turn's reads, soon */
    BR_CLU_BUDGET_STOP = 2, /* closing (stop) or the session expired: no more writes */
};
/* Whether a turn that has made writes controller writes may make one more: reads c->stop,
 * c->expired and c->ids_dirty under c->lock. Pure but for the lock. */
enum br_clu_budget br_clu__turn_budget(struct br_clu *c, int writes);
/* Runs a REQ_ELECT on the cluster thread from r->elect_next: 0 or -ENOTCONN (br_clu_elect);
 * r->more when cut at BR_CLU_TURN_WRITES or by a membership change (run it again later: it
 * goes on where it stopped); closing or an expired session answers the rest -ENOTCONN /
 * -EAGAIN. */
int br_clu__elect_run(struct br_clu *c, struct clu_req *r);
/* A REQ_ELECT cut by br_clu__elect_run but not to be run again (closing): the partitions from
 * r->elect_next answered -ENOTCONN (another controller will), r->rc 0. */
void br_clu__elect_cancel(struct clu_req *r);
/* br_clu_leave.c, on the cluster thread: deletes the registration, sets leaving. */
int br_clu__leave_run(struct br_clu *c, struct clu_req *r);
/* The topic called name[0, len) in the view (topics, n, sorted by name), or NULL. */
struct ctopic *br_clu__find_topic(struct ctopic *topics, int n, const char *name, size_t len);
/* On the cluster thread, while this broker is the controller: the imbalance check over the
 * view with conf.imbalance_pct, each election written (br_clu__write_state), at most
 * BR_CLU_TURN_WRITES of them (br_clu__turn_budget). ZOK, BR_CLU_BUDGET_MORE (cut: check again
 * soon, after the turn's reads), ZBADVERSION (no longer the controller), or a ZooKeeper code to
 * retry. */
int br_clu__rebalance(struct br_clu *c);

/* br_clu_lead.c (M3), on the cluster thread: */
/* Before the view (nt, n) is published: every partition it has this broker lead gets its
 * leader epoch (st_log_set_leader_epoch) and st_log_set_replicated(rf > 1); those of rf > 1
 * are tracked by c->repl (br_repl_begin/lead/end). Returns how many partitions of rf > 1 this
 * broker stopped leading (their parked acks=all answers are to be woken: NOT_LEADER). */
int br_clu__lead(struct br_clu *c, struct ctopic *nt, int n);
/* Writes the ISR changes c->repl wants (conditional on the state's znode version) and an
 * /isr_change_notification; ZooKeeper code of the first failure to retry. */
int br_clu__isr_tick(struct br_clu *c);
/* br_repl's kick: marks isr_dirty and wakes the cluster thread. */
void br_clu__isr_kick(void *arg);

#endif
