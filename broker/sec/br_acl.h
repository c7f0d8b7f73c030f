/*
 * br_acl — Kafka's ACL authorizer: the ACL set, its durable file, and the decision "may this
 * principal, from this host, do this operation on this resource", with Kafka's semantics
 * (org.apache.kafka.metadata.authorizer.StandardAuthorizerData, which AclAuthorizer shared):
 *
 *   1. a super user (super.users, "User:alice;User:bob") may do anything;
 *   2. the ACLs that apply to a resource (type T, name R) are those of type T whose pattern is
 *      LITERAL R, LITERAL "*", or PREFIXED P with P a prefix of R;
 *   3. an ACL matches the request when its principal is the request's or "User:*", its host is
 *      the request's address or "*", and its operation is the requested one or ALL; an ALLOW
 *      ACL also matches when it implies the operation: READ, WRITE, DELETE and ALTER imply
 *      DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS (a DENY of READ does not deny
 *      DESCRIBE);
 *   4. a matching DENY wins over any ALLOW; a matching ALLOW allows;
 *   5. no matching ACL: denied, unless no ACL at all applies to the resource (rule 2, any
 *      principal, host or operation) and allow.everyone.if.no.acl.found is true.
 * br_authz_allowed_any() is Kafka's authorizeByResourceType (InitProducerId without a
 * transactional id may write if the principal may write to some topic, etc.).
 *
 * Contract
 * - struct br_authz owns the set and <data-dir>/__security/acls (the record body format is at
 *   the top of br_acl_store.c; framing and crash-safe replacement are st_snap's). Changes
 *   (br_authz_create, br_authz_delete) are durable before they return and apply at once: the
 *   next decision on any thread sees them.
 * - Threads: decisions, describes and changes may come from any thread. A decision takes a
 *   read lock for a few hash probes; changes build the new set and write the file outside it
 *   and take the write lock only to swap. Changes are serialised among themselves.
 * - Decisions are cheap to repeat: struct br_authz_cache belongs to one connection (one
 *   thread, no locks) and remembers recent decisions per (resource type, name, operation);
 *   it empties itself when the set's generation moved (any change, on any thread).
 * - In a cluster (conf.no_file: zookeeper.connect set) ZooKeeper holds the ACLs, as Kafka's
 *   ZooKeeper-mode AclAuthorizer keeps them (/kafka-acl/..., broker/clu/br_clu_acl.c): the
 *   file is neither read nor written (one left from a single node is logged as not used), the
 *   set starts empty and is replaced from ZooKeeper before clients are let in, then kept
 *   current by br_authz_replace() (change notifications, this broker's own writes).
 *   br_authz_create/_delete are the single node's; in a cluster CreateAcls and DeleteAcls go
 *   to ZooKeeper (br_clu_acl_create/_delete) and come back through br_authz_replace().
 * - Errors: 0 or -errno. -EINVAL a binding or filter Kafka refuses (the reason in *why, Kafka's
 *   wording), -ENOSPC past BR_ACL_MAX bindings or BR_ACL_BYTES_MAX bytes, -EBADMSG at open
 *   (the file is damaged: refused whole, logged), -ENOMEM and the disk's own.
 */
#ifndef SPLICELOG_BR_ACL_H
#define SPLICELOG_BR_ACL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_msg_sec.h"
#include "st.h"

#define BR_ACL_FILE      "acls"
#define BR_ACL_MAX       100000          /* bindings */
#define BR_ACL_BYTES_MAX (32u << 20)     /* bytes of names, principals and hosts */
#define BR_ACL_CLUSTER   "kafka-cluster" /* the only name of the CLUSTER resource */
#define BR_ACL_WILDCARD  "*"             /* LITERAL name, host: any */
#define BR_ACL_ANY_USER  "User:*"        /* principal: any user */

/* One ACL binding: a resource pattern and an access-control entry. Views: the caller's. */
struct br_acl_binding {
    int8_t resource_type; /* enum kp_acl_resource_type */
    struct kp_str name;
    int8_t pattern_type;     /* LITERAL or PREFIXED */
    struct kp_str principal; /* "User:alice", "User:*" */
    struct kp_str host;      /* an address as the broker prints it, or "*" */
    int8_t operation;        /* enum kp_acl_operation */
    int8_t permission;       /* ALLOW or DENY */
};

/* 0 when Kafka accepts the binding for creation; else -EINVAL with *why in Kafka's words
 * (also a NUL byte in the name, principal or host: C strings and znode names cannot hold one,
 * and "a\0x" would become the broader "a"). */
int br_acl_validate(const struct br_acl_binding *b, const char **why);
/* 0 when Kafka accepts the filter (DescribeAcls, DeleteAcls); else -EINVAL with *why. */
int br_acl_filter_validate(const struct kp_acl_filter *f, const char **why);
/* Kafka's AclBindingFilter.matches: ANY, MATCH and null strings as Kafka reads them. */
bool br_acl_filter_matches(const struct kp_acl_filter *f, const struct br_acl_binding *b);

/* ---- the authorizer ---------------------------------------------------------------------- */

struct br_authz_conf {
    const char *data_dir;
    const char *super_users;       /* super.users: "User:a;User:b" (may be NULL) */
    bool allow_everyone_if_no_acl; /* allow.everyone.if.no.acl.found (false) */
    st_log_fn log_fn;              /* the file refused at open (may be NULL) */
    void *log_arg;
    bool no_file; /* a cluster (zookeeper.connect): see "In a cluster" above */
};

struct br_authz;

int br_authz_open(const struct br_authz_conf *conf, struct br_authz **out);
void br_authz_close(struct br_authz *a);

/* Who asks: the principal ("User:alice", "User:ANONYMOUS") and the peer's address. */
struct br_authz_who {
    struct kp_str principal;
    struct kp_str host;
    bool super; /* br_authz_is_super(principal), computed once per connection */
};

bool br_authz_is_super(const struct br_authz *a, struct kp_str principal);

/* One connection's decision cache (see the contract). Zero it, or call init. */
#define BR_AUTHZ_CACHE_SLOTS 32
#define BR_AUTHZ_CACHE_NAME  64 /* longer resource names are decided every time */
struct br_authz_cache {
    uint64_t gen;
    struct {
        uint64_t hash;
        uint8_t used, type, op, allowed;
        uint8_t name_len;
        char name[BR_AUTHZ_CACHE_NAME];
    } slot[BR_AUTHZ_CACHE_SLOTS];
    uint64_t hits, misses; /* for tests and metrics */
};
void br_authz_cache_init(struct br_authz_cache *c);

/* May who do op on (type, name)? cache may be NULL. */
bool br_authz_allowed(struct br_authz *a, const struct br_authz_who *who,
                      struct br_authz_cache *cache, int8_t type, const char *name, size_t len,
                      int8_t op);
/* Kafka's authorizeByResourceType: may who do op on some resource of type (allowed by some
 * LITERAL or PREFIXED ALLOW not dominated by a DENY)? */
bool br_authz_allowed_any(struct br_authz *a, const struct br_authz_who *who, int8_t type,
                          int8_t op);

/* The set's generation: moves on every change. */
uint64_t br_authz_generation(const struct br_authz *a);

/*
 * Creates bindings durably, each judged on its own: results[i] = 0 (created, or already
 * there: Kafka leaves an existing ACL unchanged), or -EINVAL (why[i] set, may be NULL array).
 * Returns 0, or the write's error / -ENOSPC (then nothing was created).
 */
int br_authz_create(struct br_authz *a, const struct br_acl_binding *b, size_t n, int *results,
                    const char **why);

/* Called once per binding a filter matched (DescribeAcls, DeleteAcls); views live until the
 * callback returns. */
typedef void (*br_acl_each_fn)(void *arg, size_t filter_index, const struct br_acl_binding *b);

/*
 * Deletes every binding that matches one of the filters, durably, in one write; fn (may be
 * NULL) is told each deleted binding with the index of the first filter that matched it.
 * Filters must have passed br_acl_filter_validate(). Returns 0 or the write's error (then
 * nothing was deleted, and fn has been called for what would have been).
 */
int br_authz_delete(struct br_authz *a, const struct kp_acl_filter *f, size_t n, br_acl_each_fn fn,
                    void *arg);

/* Every binding matching f, sorted by (resource type, pattern type, name, principal, host,
 * operation, permission), under the read lock: fn must not call back into the authorizer. */
void br_authz_describe(struct br_authz *a, const struct kp_acl_filter *f, br_acl_each_fn fn,
                       void *arg);

/* Number of bindings. */
size_t br_authz_count(struct br_authz *a);
/* Whether n more bindings with bytes more bytes of strings stay within BR_ACL_MAX and
 * BR_ACL_BYTES_MAX (a cluster's CreateAcls checks before writing to ZooKeeper). */
bool br_authz_room(struct br_authz *a, size_t n, size_t bytes);

/* ---- in a cluster (see "In a cluster" in the contract) ------------------------------------- */

/* A change read from ZooKeeper. With all, the whole set becomes b[0, n) (pats unused); else
 * the bindings of each resource pattern of pats[0, npats) (only their type, pattern type and
 * name are read) become those of b with that pattern (b holds no other). closed[0, nclosed)
 * are patterns whose document could not be read. */
struct br_acl_change {
    bool all;
    const struct br_acl_binding *pats;
    size_t npats;
    const struct br_acl_binding *b;
    size_t n;
    const struct br_acl_binding *closed;
    size_t nclosed;
};
/* Applies ch at once (the generation moves). FAIL CLOSED: a pattern of closed, or of a
 * binding br_acl_validate refuses, gets one binding instead of its own: DENY ALL to User:*
 * from *, so that a document that cannot be read denies its resources to everyone but the
 * super users rather than dropping a DENY (which would grant). *nclosed: how many patterns
 * were closed (the caller logs them). 0, -ENOSPC (past BR_ACL_MAX / BR_ACL_BYTES_MAX: nothing
 * changed), -ENOMEM. Writes no file (no_file authorizers only, but works on any). */
int br_authz_replace(struct br_authz *a, const struct br_acl_change *ch, size_t *nclosed);

#endif
