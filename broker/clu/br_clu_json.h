/*
 * br_clu_json — the JSON of the znodes the cluster reads and writes, in Kafka's ZooKeeper-mode
 * formats (docs/cluster.md, "ZooKeeper layout"): a broker's registration (/brokers/ids/<id>,
 * version 5) and the controller's (/controller, version 1).
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

/* One endpoint of a broker: "NAME://HOST:PORT" in the registration. */
struct br_clu_endpoint {
    char listener[BR_CLU_LISTENER_MAX]; /* listener name, e.g. "PLAINTEXT" */
    char protocol[BR_CLU_PROTO_MAX];    /* its security protocol (encode only) */
    char host[BR_HOST_MAX];             /* without IPv6 brackets */
    int32_t port;
};

/* {"listener_security_protocol_map":{..},"endpoints":[..],"jmx_port":-1,"host":..,
 *  "timestamp":"<ms>","port":..,"version":5}; host and port are the PLAINTEXT endpoint's
 *  (null and -1 without one), as Kafka writes them. */
int br_clu_json_broker(char *buf, size_t cap, const struct br_clu_endpoint *eps, int n,
                       int64_t timestamp_ms);
/* {"version":1,"brokerid":<id>,"timestamp":"<ms>"} */
int br_clu_json_controller(char *buf, size_t cap, int32_t broker_id, int64_t timestamp_ms);

/* The endpoints of a registration: up to max into out (protocol left empty); returns how many
 * the document has that fit (entries beyond max are skipped), or -EINVAL. */
int br_clu_json_endpoints(const char *json, size_t len, struct br_clu_endpoint *out, int max);
/* The integer value of a top-level key ("brokerid"): 0 and *out, or -EINVAL. */
int br_clu_json_int(const char *json, size_t len, const char *key, int64_t *out);

#endif
