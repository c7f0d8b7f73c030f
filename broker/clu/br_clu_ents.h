/*
 * br_clu_ents — the configs of users and client ids carried through ZooKeeper as Kafka's
 * ZooKeeper mode carries them (AdminZkClient.changeConfigs for the "users" and "clients"
 * config types): SCRAM credentials and client quotas are the cluster's, not each broker's
 * (issue 18; docs/cluster.md, "Users and client ids"). This module knows znodes, names and
 * documents of key/value strings; what the keys mean (a credential, a quota) is the caller's
 * (br_usercfg.h, through struct br_clu_conf's entity_config).
 *
 * The znodes (Kafka's layout; every name sanitized with br_clu_sanitize):
 *   /config/users/<user>                    {"version":1,"config":{"SCRAM-SHA-256":"salt=..,
 *                                           stored_key=..,server_key=..,iterations=4096",
 *                                           "producer_byte_rate":"1024",...}}: the user's
 *                                           credentials and quotas share one document
 *   /config/users/<user>/clients/<client>   {"version":1,"config":{...}}: quotas of (user, client)
 *   /config/clients/<client>                {"version":1,"config":{...}}: quotas of a client id
 *   "<default>" (not sanitized) names the default entity in each place; a parent znode that
 *   only holds children may be empty (Kafka creates it so): no configs.
 *   /config/changes/config_change_<seq>     {"version":2,"entity_path":"users/<user>"} (or
 *                                           "clients/<c>", "users/<u>/clients/<c>"), after
 *                                           every write
 *
 * Contract
 * - br_clu_entity_alter (any thread but a loop thread or the cluster thread: it waits for the
 *   cluster thread) changes only the keys it is given in the entity's document: a versioned
 *   read-modify-write (setData at the version read, or create), retried on BadVersion /
 *   NodeExists / NoNode at most BR_CLU_ENT_TRIES times (-EAGAIN after); once the document
 *   is written the cluster thread hands it to conf.entity_config (n = 1, BR_CLU_ENTS_CHANGED:
 *   this broker's state follows at once, in order with the notifications it processes), then
 *   the change notification. 0 once both are in ZooKeeper; -EAGAIN (ZooKeeper unreachable, or lost
 * every race), -EIO (a ZooKeeper error, or the document there does not parse: it is not
 *   overwritten, a log line says so), -ENOSPC (the document would exceed
 *   BR_CLU_ENT_DOC_MAX), -EINVAL (a name too long, a key or value too long), -ECANCELED
 *   (closing). The caller does not apply the change to its local state itself (an
 *   apply after the call returns could land over a newer document of another broker).
 * - Every broker (the writer too) acts on a notification naming a users/ or clients/ entity
 *   by reading that entity's document and calling conf.entity_config with it (n = 1,
 *   BR_CLU_ENTS_CHANGED: that entity's settings become exactly the document's; a missing or
 *   empty znode is an entity with no settings). At br_clu_open (on the starting thread,
 *   before it returns) and after every new session (on the cluster thread), it reads every
 *   document under /config/users (with their clients) and /config/clients, at most
 *   BR_CLU_ENT_MAX of them and BR_CLU_ENT_READ_MAX bytes, and calls entity_config once with
 *   all of them (BR_CLU_ENTS_START at br_clu_open, BR_CLU_ENTS_ALL after); br_clu_open fails
 *   when that read fails. br_clu_open lists /config/changes (recording the newest sequence and
 *   setting the watch) before that read, so a change made between the read and the cluster
 *   thread's first turn is still acted on. A document larger than BR_CLU_ENT_DOC_MAX or that
 *   does not parse is logged and read as the entity with no settings (fail closed: at a
 *   notification, a resync and a start alike). The documents given to entity_config are valid
 *   during the call only.
 */
#ifndef SPLICELOG_BR_CLU_ENTS_H
#define SPLICELOG_BR_CLU_ENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct br_clu;

#define BR_CLU_ENT_MAX          100000 /* entities read at a resync (BR_QUOTA_MAX, BR_CRED_MAX) */
#define BR_CLU_ENT_DOC_MAX      8192   /* bytes of one entity's document */
#define BR_CLU_ENT_READ_MAX     (64 << 20) /* bytes of the documents one resync holds */
#define BR_CLU_ENT_NAME_MAX     1024 /* bytes of a user or client-id name (BR_QUOTA_NAME_MAX) */
#define BR_CLU_ENT_TRIES        16   /* read-modify-write attempts */
#define BR_CLU_ENT_DEFAULT_NAME "<default>"
/* bytes of an entity path with its NUL ("users/<u>/clients/<c>", each name sanitized: %XX per
 * byte at most) */
#define BR_CLU_ENT_PATH_MAX (2 * (3 * BR_CLU_ENT_NAME_MAX + 1) + 32)

enum br_clu_ent_kind {
    BR_CLU_ENT_ABSENT = 0,  /* the entity has no part of this type */
    BR_CLU_ENT_DEFAULT = 1, /* <default> */
    BR_CLU_ENT_NAMED = 2,
};

/* users/<user>, clients/<client>, users/<user>/clients/<client>; names raw (not sanitized),
 * used only when their kind is BR_CLU_ENT_NAMED. */
struct br_clu_entity {
    uint8_t user_kind, client_kind; /* enum br_clu_ent_kind; the user part first in a path */
    const char *user, *client;
    size_t user_len, client_len;
};

/* One key and its value (NUL-terminated); val NULL in a change: remove the key. */
struct br_clu_ekv {
    const char *key, *val;
};

/* One entity's configs as ZooKeeper holds them. */
struct br_clu_entdoc {
    struct br_clu_entity e;
    const struct br_clu_ekv *kv;
    int nkv;
};

int br_clu_entity_alter(struct br_clu *c, const struct br_clu_entity *e,
                        const struct br_clu_ekv *changes, int n);
/* The same for an entity ZooKeeper has no znode for: -EEXIST (nothing written) when it has
 * one. For a broker's start, carrying entries of its local stores that ZooKeeper lacks. */
int br_clu_entity_create(struct br_clu *c, const struct br_clu_entity *e,
                         const struct br_clu_ekv *kv, int n);

/* What the documents given to conf.entity_config stand for. */
enum br_clu_ent_scope {
    BR_CLU_ENTS_CHANGED = 0, /* each replaces that entity's settings (a notification) */
    BR_CLU_ENTS_ALL = 1,     /* every entity: the local sets become exactly these */
    BR_CLU_ENTS_START = 2,   /* every entity, at br_clu_open: as ALL, except that local entries
                                of entities ZooKeeper has no znode for stay (the caller may carry
                                them to ZooKeeper with br_clu_entity_create) */
};

/* ---- pure helpers (any thread; unit-tested) ---------------------------------------------- */

/* Kafka's Sanitizer.sanitize: URL encoding of the UTF-8 bytes (A-Z a-z 0-9 . - _ kept, every
 * other byte %XX in upper-case hex: a space is %20, '*' %2A). The length written (out
 * NUL-terminated) or -ENOSPC. */
int br_clu_sanitize(const char *name, size_t len, char *out, size_t cap);
/* Sanitizer.desanitize (URL decoding: %XX, and '+' as a space): the length or -EINVAL (a
 * '%' without two hex digits), -ENOSPC. */
int br_clu_desanitize(const char *s, size_t len, char *out, size_t cap);
/* The entity's path under /config ("users/alice", "users/%3Cdefault%3E/clients/<default>"):
 * the length, or -EINVAL (no part, a kind outside the enum, an empty name), -ENOSPC. */
int br_clu_entity_path(const struct br_clu_entity *e, char *out, size_t cap);
/* The inverse: *e with its names desanitized into names (cap bytes, both NUL-terminated, e's
 * pointers into it): 0 or -EINVAL (not an entity path of these types), -ENOSPC. */
int br_clu_entity_parse(const char *path, struct br_clu_entity *e, char *names, size_t cap);
/* The document after changes: doc (len bytes, 0: none yet) with the changed keys set or
 * removed and the others kept, encoded into out (cap bytes): the length, -EINVAL (doc does
 * not parse, a key or value too long), -ENOSPC. */
int br_clu_entdoc_merge(const char *doc, size_t len, const struct br_clu_ekv *changes, int n,
                        char *out, size_t cap);

#endif
