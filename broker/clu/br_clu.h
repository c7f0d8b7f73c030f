/*
 * br_clu — this broker's membership in a cluster coordinated by Apache ZooKeeper, as Kafka's
 * ZooKeeper mode (docs/cluster.md): the session, the ephemeral registration
 * /brokers/ids/<id>, the controller election (/controller, /controller_epoch), and a view of
 * the live brokers and the controller for Metadata. Milestone M1: coordination only.
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
 * - Errors: 0 or -errno; ZooKeeper's own codes are named in the log lines.
 */
#ifndef SPLICELOG_BR_CLU_H
#define SPLICELOG_BR_CLU_H

#include <stddef.h>
#include <stdint.h>

#include "br_clu_json.h"
#include "br_config.h"

struct br_clu;

struct br_clu_conf {
    int32_t broker_id;
    const char *connect; /* zookeeper.connect: HOST:PORT[,HOST:PORT...][/chroot] */
    int64_t session_timeout_ms;
    int64_t conn_timeout_ms;
    int n_endpoints; /* this broker's listeners, as registered */
    struct br_clu_endpoint endpoints[BR_MAX_LISTENERS];
};

/* One live broker as a client of one listener sees it. */
struct br_clu_node {
    int32_t id;
    char host[BR_HOST_MAX];
    int32_t port;
};

int br_clu_open(const struct br_clu_conf *conf, struct br_clu **out, char *err, size_t errlen);
void br_clu_close(struct br_clu *c);

/* The live brokers that have an endpoint named listener, by id, at most max into out; returns
 * how many there are (may exceed max: call again with more room). */
int br_clu_nodes(struct br_clu *c, const char *listener, struct br_clu_node *out, int max);
/* The controller's broker id, -1 when none is known; *epoch (may be NULL): the controller
 * epoch read with it (0 when unknown). */
int32_t br_clu_controller(struct br_clu *c, int64_t *epoch);

/* zookeeper.connect split: hosts (HOST:PORT,...) and chroot ("" or "/a/b"). -EINVAL. */
int br_clu_parse_connect(const char *connect, char *hosts, size_t hcap, char *chroot, size_t ccap);

#endif
