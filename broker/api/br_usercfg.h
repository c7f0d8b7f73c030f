/*
 * br_usercfg — SCRAM credentials and client quotas in a cluster: what the keys of a user's or
 * client id's document in ZooKeeper (br_clu_ents.h) mean to this broker's credential store
 * (br_cred.h) and quotas (br_quota.h), both ways (issue 18; docs/cluster.md, "Users and
 * client ids"). Without zookeeper.connect none of this runs.
 *
 * Keys: "SCRAM-SHA-256", "SCRAM-SHA-512" (br_cred_text_format's text; a user entity only),
 * "producer_byte_rate", "consumer_byte_rate", "request_percentage",
 * "controller_mutation_rate" (br_quota_text_format's). Other keys (Kafka's other user and
 * client configs) are left alone and kept in the document; a value that does not parse is
 * logged and left out.
 *
 * Contract
 * - br_usercfg_apply is struct br_clu_conf's entity_config (arg: the struct br_auth): the
 *   cluster thread (or br_clu_open's caller) hands it ZooKeeper's documents, and the
 *   credential store and the quotas become what they say (br_cred_sync, br_quotas_sync: the
 *   local files are rewritten as caches, connections re-resolve their quotas at their next
 *   request, the next login uses the new credentials). At BR_CLU_ENTS_START the local entries
 *   of entities ZooKeeper has no znode for stay, for br_usercfg_seed, unless the data dir is
 *   marked as ZooKeeper's cache (br_cred_zk_marked; unreadable counts as marked): then START is
 *   ALL. A user whose document did not parse comes as one without configs (br_clu_ents.h).
 * - br_usercfg_scram_write and br_usercfg_quota_write change a document in ZooKeeper
 *   (br_clu_entity_alter: wait for the cluster thread; the admin thread calls them) and touch
 *   only their own keys; 0 or br_clu_entity_alter's -errno. The caller does not apply the
 *   change locally: the cluster thread hands the document it wrote to br_usercfg_apply before
 *   they return (BR_CLU_ENTS_CHANGED).
 */
#ifndef SPLICELOG_BR_USERCFG_H
#define SPLICELOG_BR_USERCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "br_clu.h"
#include "br_clu_ents.h"
#include "br_cred.h"
#include "br_quota.h"

void br_usercfg_apply(void *auth, const struct br_clu_entdoc *docs, size_t n, int scope);

struct br_auth;
/* At a broker's start, right after br_clu_open (the starting thread, before clients are let
 * in), when the data dir is not marked as ZooKeeper's cache yet: every entity of the local
 * stores ZooKeeper had no znode for (kept by BR_CLU_ENTS_START: a single node's past, users
 * made offline with `splicelog user create --data-dir` before this first cluster start) is
 * created in ZooKeeper with its credentials and quotas (br_clu_entity_create: never over a
 * document another broker wrote meanwhile); then, when none failed, the data dir is marked
 * (br_cred_zk_mark, durable) and no later start carries anything (a deletion in ZooKeeper
 * stays a deletion). How many were carried; failures are logged (the entry stays local, the
 * dir unmarked, until the next start). A marked dir: 0, nothing done. */
size_t br_usercfg_seed(struct br_clu *clu, struct br_auth *a);

/* user's changes (each ch[i].user is user): upsertions set the mechanism's key, deletions
 * remove it. */
int br_usercfg_scram_write(struct br_clu *clu, const char *user, size_t user_len,
                           const struct br_cred_change *ch, size_t n);
/* One entity's quota changes (a->ops). */
int br_usercfg_quota_write(struct br_clu *clu, const struct br_quota_alter *a);

#endif
