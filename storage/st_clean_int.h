/*
 * st_clean_int — internals shared by the cleaner's files (st_clean*.c), never included
 * elsewhere. Errors: 0 or -errno.
 */
#ifndef SPLICELOG_ST_CLEAN_INT_H
#define SPLICELOG_ST_CLEAN_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_int.h"

/*
 * The key -> latest offset map (Kafka's SkimpyOffsetMap): open addressing over slots of a
 * 128-bit XXH3 of the key and the offset, filled to at most 90% (Kafka's
 * log.cleaner.io.buffer.load.factor). Two keys with the same 128-bit hash count as one (as
 * with Kafka's MD5). Cleared in O(1) by a generation number. Owned by one cleaner thread.
 */
struct st_cmap;
/* A map of at most bytes bytes (at least 1024 slots). */
int st__cmap_new(size_t bytes, struct st_cmap **out);
void st__cmap_free(struct st_cmap *m);
void st__cmap_clear(struct st_cmap *m);
/* Records offset as the key's latest: 0, or -ENOSPC when the map is full (nothing stored). */
int st__cmap_put(struct st_cmap *m, const void *key, size_t len, int64_t offset);
/* The key's offset, or -1. */
int64_t st__cmap_get(const struct st_cmap *m, const void *key, size_t len);
/* Keys held, and how many it may hold. */
uint32_t st__cmap_count(const struct st_cmap *m);
uint32_t st__cmap_room(const struct st_cmap *m);

/* Test hook: when > 0, a cleaning kills its own process (SIGKILL) at step crash_at of its swap
 * (SWAP RULE in st_clean.c): the crash loop of tests/unit/test_st_clean.c. */
extern int st__clean_crash_at;

/* A cleaning's buffers and map, reused from one cleaning to the next (one per cleaner). */
struct st_cleanwork;
int st__cleanwork_new(size_t map_bytes, int64_t io_bps, struct st_cleanwork **out);
void st__cleanwork_free(struct st_cleanwork *w);
/* A flag that, once set, makes a cleaning in progress give up with -ECANCELED before its next
 * batch (nothing committed is undone). */
void st__cleanwork_set_stop(struct st_cleanwork *w, const _Atomic bool *stop);
int st__clean_log(struct st_log *log, struct st_cleanwork *w, int64_t now_ms, unsigned flags,
                  struct st_clean_stats *stats);
/* How dirty a log is (without I/O beyond segment timestamps): its cleanable bytes, the dirty
 * ones among them, and whether max.compaction.lag.ms is overdue. false: nothing to clean. */
bool st__clean_due(struct st_log *log, int64_t now_ms, double *ratio, bool *overdue);

#endif
