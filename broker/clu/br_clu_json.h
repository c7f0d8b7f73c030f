/*
 * br_clu_json — the JSON of the znodes the cluster reads and writes, in Kafka's ZooKeeper-mode
 * formats (docs/cluster.md, "ZooKeeper layout"): a broker's registration (/brokers/ids/<id>,
 * version 5), the controller's (/controller, version 1), a topic's assignment
 * (/brokers/topics/<t>, version 2), a partition's state (.../partitions/<p>/state, version 1),
 * the cluster id (/cluster/id), a topic's configs (/config/topics/<t>, version 1), config
 * change notifications (/config/changes/config_change_<seq>, version 2) and ISR change
 * notifications (/isr_change_notification/isr_change_<seq>, version 1), ACL documents
 * (/kafka-acl/<Type>/<name>, version 1) and ACL change notifications (/kafka-acl-changes,
 * /kafka-acl-extended-changes).
 *
 * Contract
 * - Pure functions over caller-owned buffers; no allocation, no global state; any thread.
 * - Encoders write a NUL-terminated document into buf and return its length, or -ENOSPC when
 *   buf is too small, -EINVAL for an endpoint that cannot be written (empty name or host).
 * - Parsers read what Kafka writes and what this module writes: they look for the keys they
 *   need at the top level of the object and skip the rest (checking its syntax); a document
 *   without them, malformed, or with bytes after its end, is -EINVAL. Lengths are checked against
 * len: the data of a znode is not NUL-terminated.
 */
#ifndef SPLICELOG_BR_CLU_JSON_H
#define SPLICELOG_BR_CLU_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "br_config.h"

#define BR_CLU_LISTENER_MAX 32
#define BR_CLU_PROTO_MAX    16
#define BR_CLU_RF_MAX       16 /* replicas of one partition this module reads or writes */

/* One endpoint of a broker: "NAME://HOST:PORT" in the registration. */
struct br_clu_endpoint {
    char listener[BR_CLU_LISTENER_MAX]; /* listener name, e.g. "PLAINTEXT" */
    char protocol[BR_CLU_PROTO_MAX];    /* its security protocol (encode only) */
    char host[BR_HOST_MAX];             /* without IPv6 brackets */
    int32_t port;
};

/* {"listener_security_protocol_map":{..},"endpoints":[..],"rack":"r1","jmx_port":-1,
 *  "host":..,"timestamp":"<ms>","port":..,"version":5}; host and port are the PLAINTEXT
 *  endpoint's (null and -1 without one), "rack" only with one (rack NULL or "": none), as
 *  Kafka writes them. A registration's rack is read back with br_clu_json_str(.., "rack"). */
#define BR_CLU_RACK_MAX 128
int br_clu_json_broker(char *buf, size_t cap, const struct br_clu_endpoint *eps, int n,
                       const char *rack, int64_t timestamp_ms);
/* {"version":1,"brokerid":<id>,"timestamp":"<ms>"} */
int br_clu_json_controller(char *buf, size_t cap, int32_t broker_id, int64_t timestamp_ms);

/* The endpoints of a registration: up to max into out (protocol left empty); returns how many
 * the document has that fit (entries beyond max are skipped), or -EINVAL. */
int br_clu_json_endpoints(const char *json, size_t len, struct br_clu_endpoint *out, int max);
/* The integer value of a top-level key ("brokerid"): 0 and *out, or -EINVAL. */
int br_clu_json_int(const char *json, size_t len, const char *key, int64_t *out);

/* One partition's replicas, in assignment order (the first is the preferred leader). */
struct br_clu_replicas {
    int32_t n;
    int32_t id[BR_CLU_RF_MAX];
};

/* A partition's state as the controller writes it. */
struct br_clu_state {
    int32_t leader; /* -1: none (offline) */
    int32_t leader_epoch;
    int32_t controller_epoch;
    struct br_clu_replicas isr;
};

/* {"version":2,"partitions":{"0":[1,2],...},"adding_replicas":{},"removing_replicas":{}} for
 * partitions 0..n-1; with a topic id (id not NULL), Kafka's version 3 with "topic_id". */
int br_clu_json_topic(char *buf, size_t cap, const struct br_clu_replicas *parts, int32_t n,
                      const uint8_t *id);
/* A topic's "topic_id" (16 bytes): 0, -ENOENT (none: version 2), -EINVAL. */
int br_clu_json_topic_id(const char *json, size_t len, uint8_t id[16]);
/* Kafka's Uuid text: 16 bytes in base64url without padding, 22 characters (out: 23 bytes);
 * and back (-EINVAL). */
void br_clu_uuid_str(const uint8_t id[16], char out[23]);
int br_clu_uuid_parse(const char *s, uint8_t id[16]);
/* The assignment of a topic: partition p's replicas into out[p] for p < max; returns how many
 * partitions the document has (may exceed max: call again with more room), or -EINVAL (also
 * when the partition numbers are not 0..n-1, each once, or a replica list is empty). */
int br_clu_json_partitions(const char *json, size_t len, struct br_clu_replicas *out, int32_t max);
/* {"controller_epoch":E,"leader":L,"version":1,"leader_epoch":LE,"isr":[..]} */
int br_clu_json_state_enc(char *buf, size_t cap, const struct br_clu_state *st);
int br_clu_json_state(const char *json, size_t len, struct br_clu_state *out);
/* One topic config as given to CreateTopics (not NUL-terminated). */
struct br_clu_kv {
    const char *key, *val;
    size_t klen, vlen;
};
/* /config/topics/<t>: {"version":1,"config":{"k":"v",...}} */
int br_clu_json_config_enc(char *buf, size_t cap, const struct br_clu_kv *kv, int n);
/* Calls fn for each key and value of a /config/topics/<t> document (strings, NUL-terminated,
 * keys up to 127 bytes, values up to 1023: a SCRAM credential of
 * /config/users/<u> is longer than 255); stops at fn's first non-zero return. 0, fn's
 * return, or -EINVAL. */
int br_clu_json_config_each(const char *json, size_t len,
                            int (*fn)(void *ctx, const char *key, const char *val), void *ctx);

/* A config change notification (/config/changes/config_change_<seq>), Kafka's version 2:
 * {"version":2,"entity_path":"topics/<t>"}. */
int br_clu_json_change_enc(char *buf, size_t cap, const char *entity_path);
/* The string value of a top-level key ("entity_path") into out (cap bytes, NUL-terminated):
 * 0, or -EINVAL (missing, not a string, longer than out, malformed document). */
int br_clu_json_str(const char *json, size_t len, const char *key, char *out, size_t cap);

/* An ISR change notification (/isr_change_notification/isr_change_<seq>), Kafka's version 1:
 * {"version":1,"partitions":[{"topic":"t","partition":0},...]}. The whole document is checked
 * first (each entry a "topic" string of up to BR_CLU_TOPIC_MAX - 1 bytes and a "partition"
 * from 0 to INT32_MAX, other keys skipped; "version" 1 when present), then fn is called for
 * each entry in order until its first non-zero return: 0, fn's return, or -EINVAL (and then fn
 * was not called). */
#define BR_CLU_TOPIC_MAX 256
int br_clu_json_isr_change_each(const char *json, size_t len,
                                int (*fn)(void *ctx, const char *topic, int32_t partition),
                                void *ctx);

/* {"version":"1","id":"<id>"} and its id (out: cap bytes, NUL-terminated); -EINVAL. */
int br_clu_json_cluster_id_enc(char *buf, size_t cap, const char *id);
int br_clu_json_cluster_id(const char *json, size_t len, char *out, size_t cap);

/* ---- ACLs (Kafka's AclAuthorizer in ZooKeeper mode; br_clu_acl.c has the znodes) ---- */

#define BR_CLU_ACL_STR_MAX 32768 /* a principal or host with its NUL (Kafka's 32767 bytes) */

/* One ACL binding as ZooKeeper holds it: a resource pattern and an entry, with Kafka's wire
 * codes (kp_msg_sec.h: resource type TOPIC..USER, pattern LITERAL or PREFIXED, operation
 * ALL..DESCRIBE_TOKENS, permission DENY or ALLOW); strings NUL-terminated, the caller's. */
struct br_clu_acl {
    int8_t resource_type, pattern_type, operation, permission;
    const char *name, *principal, *host;
};

/* Kafka's names (SecurityUtils' PascalCase of the enums): resource types "Topic", "Group",
 * "Cluster", "TransactionalId", "DelegationToken", "User" (the znode paths); operations
 * "All", "Read", ..., "DescribeConfigs", "IdempotentWrite", "CreateTokens", "DescribeTokens";
 * permissions "Deny", "Allow". NULL for a code without one. */
const char *br_clu_acl_type_name(int8_t type);
const char *br_clu_acl_op_name(int8_t op);
const char *br_clu_acl_perm_name(int8_t perm);
/* A resource type's code from its name: the PascalCase name exactly (a path), or also the
 * enum's name ("TOPIC", "TRANSACTIONAL_ID") in any case when loose (change notifications:
 * Kafka's ResourceType.fromString); -1 when neither. */
int br_clu_acl_type_of(const char *name, int loose);

/* A resource pattern's document (/kafka-acl/<Type>/<name>, AclEntry's version 1):
 * {"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read",
 * "host":"*"},...]} of the entries of v[0, n) (their pattern fields are not written).
 * -EINVAL for a code without a name, -ENOSPC. */
int br_clu_json_acls_enc(char *buf, size_t cap, const struct br_clu_acl *v, size_t n);
/* Checks the whole document first ("version" 1; "acls" an array of objects, each with the
 * four keys as strings, operation and permission by Kafka's exact names; other keys skipped;
 * strings up to BR_CLU_ACL_STR_MAX - 1 bytes, without NUL, raw or \u0000; "version" and
 * "acls" each once: Kafka's Jackson would take the last of two, this parser the first), then
 * calls fn for each entry (principal, host,
 * operation, permission set; name NULL; the strings live during the call) until its first
 * non-zero return: 0, fn's return, or -EINVAL (and fn was not called). Uses 64 KiB of stack. */
int br_clu_json_acls_each(const char *json, size_t len,
                          int (*fn)(void *ctx, const struct br_clu_acl *e), void *ctx);
/* A literal pattern's change notification (/kafka-acl-changes/acl_changes_<seq>):
 * "<TYPE>:<name>" with the resource type's enum name, as Kafka's LiteralAclChangeStore writes
 * ResourceType.toString ("TOPIC:orders"); not JSON. Read with br_clu_acl_change_literal (the
 * type loose, the name everything after the first ':'). */
int br_clu_acl_change_literal_enc(char *buf, size_t cap, int8_t type, const char *name);
int br_clu_acl_change_literal(const char *data, size_t len, int8_t *type, char *name, size_t cap);
/* A prefixed pattern's (/kafka-acl-extended-changes/acl_changes_<seq>), Kafka's
 * ExtendedAclChangeEvent: {"version":1,"resourceType":"TOPIC","name":"orders-",
 * "patternType":"PREFIXED"} (enum names; read loosely, as Kafka's fromString; each key once,
 * the name without NUL, else -EINVAL: the reader then reads every ACL again). */
int br_clu_json_acl_change_enc(char *buf, size_t cap, int8_t type, int8_t pattern,
                               const char *name);
int br_clu_json_acl_change(const char *json, size_t len, int8_t *type, int8_t *pattern, char *name,
                           size_t cap);

/* A block of producer ids [first, last] (both inclusive, as Kafka's ProducerIdsBlock) reserved
 * by broker (br_clu_pid.c writes it, the format is described there). */
struct br_clu_pid_block {
    int32_t broker;
    int64_t first, last;
};
/* {"version":1,"broker":<id>,"block_start":"<first>","block_end":"<last>"}: Kafka's
 * ProducerIdBlockZNode (the ids as decimal strings); -EINVAL unless 0 <= first <= last. */
int br_clu_json_pid_block_enc(char *buf, size_t cap, const struct br_clu_pid_block *b);
/* The block of such a document: "broker" an integer, "block_start" and "block_end" strings
 * of decimal digits (what Kafka writes); -EINVAL when one is missing or malformed, or unless
 * 0 <= first <= last. */
int br_clu_json_pid_block(const char *json, size_t len, struct br_clu_pid_block *out);

#endif
