/*
 * br_clu_meta — which cluster and which broker a data directory belongs to: its
 * meta.properties, as Kafka's brokers keep it, checked before the broker registers
 * (docs/cluster.md "Data directory identity").
 *
 * Contract
 * - The file is <data_dir>/meta.properties, Java properties text (format at the top of
 *   br_clu_meta.c): version=0, broker.id, cluster.id. Kafka's own file reads the same.
 * - br_clu_meta_check(dir, broker_id, cluster_id): with no file (a new data directory, or one
 *   from a single node or an earlier splicelog), writes one naming this broker and cluster
 *   (a temporary file, fsync, rename, fsync of the directory) and returns 0. With a file, returns
 *   0 when both match, else -EXDEV with why saying which differs and what to check: the data
 *   directory belongs to another cluster (zookeeper.connect or its chroot names another
 *   ZooKeeper tree: its topic ids would not be this cluster's, and the broker deletes the
 *   logs of topics whose ids differ, br_clu_topics.c) or to another broker id (its replicas
 *   are another broker's). The broker does not start then, as Kafka's refuses with
 *   InconsistentClusterIdException / InconsistentBrokerIdException.
 * - A file that cannot be parsed (over 4 KiB, a line without '=', a broker.id that is not a
 *   number, version other than 0, keys missing) is -EINVAL with why naming the file: the
 *   broker does not start, and does not overwrite it. Other errors: -errno of the file calls.
 * - Blocking file I/O: the starting thread only (br_clu_open), never a loop thread.
 */
#ifndef SPLICELOG_BR_CLU_META_H
#define SPLICELOG_BR_CLU_META_H

#include <stddef.h>
#include <stdint.h>

#define BR_CLU_META_NAME "meta.properties"

int br_clu_meta_check(const char *data_dir, int32_t broker_id, const char *cluster_id, char *why,
                      size_t why_cap);

#endif
