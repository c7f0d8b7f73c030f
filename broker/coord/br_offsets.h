/*
 * br_offsets — the committed offsets of consumer groups as the broker keeps them: the life of
 * their store (storage/st_offsets.h, <data dir>/__consumer_offsets/), its housekeeping, and the
 * removal of a deleted topic's offsets. The OffsetCommit and OffsetFetch handlers use the store
 * itself (st_offsets_commit_batch, st_offsets_lookup); the lock order is offsets, then groups,
 * then the topic store, and none of them calls back into one before it.
 *
 * Contract
 * - br_offsets_open() runs at start-up after the topic store is open (0 or -errno, logged);
 *   br_offsets_close() at shutdown before it (fdatasync). With log.flush.interval.messages=1
 *   the store never syncs by count itself: OffsetCommit then waits for st_offsets_sync() on
 *   the admin thread, so a loop thread never waits for the disk.
 * - br_offsets_housekeeping() runs on the housekeeping thread about once a second: flush by
 *   log.flush.interval.ms, and when expire is set (each log.retention.check.interval.ms)
 *   offsets.retention.minutes for groups without members and the removal of offsets of
 *   partitions that no longer exist. Logs what it removed.
 * - br_offsets_remove_topic() (admin thread, DeleteTopics) removes a deleted topic's offsets at
 *   once, so a topic created again under its name does not resume groups at old offsets;
 *   returns how many, or -errno (logged: the next retention check removes them).
 * - Any of them accepts a NULL store (offsets not open): nothing happens.
 */
#ifndef SPLICELOG_BR_OFFSETS_H
#define SPLICELOG_BR_OFFSETS_H

#include <stdbool.h>

#include "br_config.h"
#include "st.h"
#include "st_offsets.h"

struct br_groups;

int br_offsets_open(const struct br_config *cfg, struct st_offsets **out);
void br_offsets_close(struct st_offsets *o);
void br_offsets_housekeeping(struct st_offsets *o, struct st_store *store, struct br_groups *groups,
                             int64_t retention_ms, bool expire);
int br_offsets_remove_topic(struct st_offsets *o, const char *topic);

#endif
