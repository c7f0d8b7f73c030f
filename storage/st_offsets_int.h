/*
 * st_offsets_int.h — internals shared by the files of the committed-offsets store
 * (st_offsets.c: the file, its format, replay, compaction and the public calls;
 * st_offsets_map.c: the in-memory map those calls keep). Not for other modules.
 *
 * The map is what replaying offsets.log gives: (group, topic, partition) -> (offset, metadata,
 * commit time), in two chained hash tables (keys, and groups with the list of their keys),
 * seeded at random since the names come from clients. It does no I/O and takes no lock: the
 * store calls it under its mutex. Errors: 0 or -ENOMEM (then the map is unchanged).
 */
#ifndef SPLICELOG_ST_OFFSETS_INT_H
#define SPLICELOG_ST_OFFSETS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ofs_group;

struct ofs_entry {
    struct ofs_entry *hnext;         /* key hash chain */
    struct ofs_entry *gprev, *gnext; /* the group's keys */
    struct ofs_group *grp;
    uint64_t hash;
    uint64_t seq; /* order of its commit record among all commit records (replay order) */
    int64_t offset;
    int64_t commit_ms;
    char *meta; /* NULL when meta_len == 0 */
    uint32_t meta_len;
    int32_t partition;
    uint16_t topic_len;
    char topic[];
};

struct ofs_group {
    struct ofs_group *hnext;
    struct ofs_entry *head; /* its keys, unordered */
    int64_t active_ms;      /* last st_offsets_expire() that found it with members, or 0 */
    uint64_t hash;
    int64_t n;
    uint16_t len;
    char name[];
};

/*
 * An offset committed inside a transaction (TxnOffsetCommit), not visible until the
 * transaction's end: on commit it becomes the key's offset if its record is newer than the
 * key's (seq), on abort it is dropped (Kafka's pendingTransactionalOffsetCommits).
 */
struct ofs_pending {
    struct ofs_pending *next; /* chain of its (group, producer) bucket */
    uint64_t hash;            /* of (group, producer id) */
    uint64_t seq;
    int64_t pid;
    int16_t epoch;
    int64_t offset;
    int64_t commit_ms;
    char *meta; /* NULL when meta_len == 0 */
    uint32_t meta_len;
    int32_t partition;
    uint16_t group_len, topic_len;
    char names[]; /* group, then topic */
};

struct st__ofs_map {
    uint64_t seed; /* hash seed (random: keys come from clients) */
    struct ofs_entry **keys;
    size_t nkeys_buckets; /* a power of two; doubled past one key per bucket */
    int64_t nkeys;
    struct ofs_group **groups;
    size_t ngroup_buckets; /* a power of two; doubled past one group per bucket */
    int64_t ngroups;
    int64_t live_bytes; /* header + one commit record per live key (what compaction writes);
                           the owner sets the header's part */
    int64_t mem_bytes;  /* estimated memory: st__ofs_entry_mem() + st__ofs_group_mem() of each */
    uint64_t next_seq;  /* seq of the last commit record applied */
    struct ofs_pending **pend; /* transactional offsets by (group, producer id) */
    size_t npend_buckets;      /* a power of two */
    int64_t npend;
};

/* Empty tables and a random seed; 0 or -ENOMEM. st__ofs_map_free() frees everything. */
int st__ofs_map_init(struct st__ofs_map *m);
void st__ofs_map_free(struct st__ofs_map *m);

/* Bytes of an OFS_COMMIT record for these lengths (ON-DISK FORMAT in st_offsets.c). */
size_t st__ofs_record_size(size_t glen, size_t tlen, size_t mlen);
/* What a key and a group cost in memory (allocator overhead and hash buckets included). */
int64_t st__ofs_entry_mem(size_t tlen, size_t mlen);
int64_t st__ofs_group_mem(size_t glen);

uint64_t st__ofs_group_hash(const struct st__ofs_map *m, const char *g, size_t glen);
uint64_t st__ofs_key_hash(uint64_t gh, const char *t, size_t tlen, int32_t p);
/* h from st__ofs_group_hash / st__ofs_key_hash; NULL when absent. */
struct ofs_group *st__ofs_group_find(struct st__ofs_map *m, const char *g, size_t glen, uint64_t h);
struct ofs_entry *st__ofs_key_find(struct st__ofs_map *m, const struct ofs_group *grp,
                                   const char *t, size_t tlen, int32_t p, uint64_t h);

/* Sets a key, creating its group and entry as needed; 0 or -ENOMEM (map unchanged). */
int st__ofs_key_set(struct st__ofs_map *m, const char *g, size_t glen, const char *t, size_t tlen,
                    int32_t p, int64_t offset, const char *meta, size_t mlen, int64_t ms);
/* Removes e (and its group with its last key). */
void st__ofs_key_remove(struct st__ofs_map *m, struct ofs_entry *e);
/* Removes a key if present. */
void st__ofs_key_delete(struct st__ofs_map *m, const char *g, size_t glen, const char *t,
                        size_t tlen, int32_t p);
/* Removes every key of a group; returns how many. */
int st__ofs_group_delete(struct st__ofs_map *m, const char *g, size_t glen);

/* Bytes of an OFS_TXN_COMMIT record (ON-DISK FORMAT in st_offsets.c). */
size_t st__ofs_txn_record_size(size_t glen, size_t tlen, size_t mlen);
uint64_t st__ofs_pending_hash(const struct st__ofs_map *m, const char *g, size_t glen, int64_t pid);
/* A transactional commit of (group, pid, topic, partition), replacing an earlier one of the
 * same transaction; 0 or -ENOMEM (map unchanged). */
int st__ofs_pending_set(struct st__ofs_map *m, const char *g, size_t glen, int64_t pid,
                        int16_t epoch, const char *t, size_t tlen, int32_t p, int64_t offset,
                        const char *meta, size_t mlen, int64_t ms);
/* Ends (group, pid)'s transaction: commit applies its offsets where newer, abort drops them.
 * Returns how many were pending, or -ENOMEM (some may have been applied: the caller stops).
 * set (may be NULL) is told each key a commit made visible, right after it changed. */
int st__ofs_pending_end(struct st__ofs_map *m, const char *g, size_t glen, int64_t pid, bool commit,
                        void (*set)(void *arg, const struct ofs_entry *e), void *set_arg);
/* The pending item of (group, topic, partition), any producer; NULL if none. */
struct ofs_pending *st__ofs_pending_find_key(struct st__ofs_map *m, const char *g, size_t glen,
                                             const char *t, size_t tlen, int32_t p);

#endif
