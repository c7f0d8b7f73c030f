/*
 * br_limit — what clients may hold in the broker, counted across every loop thread:
 * connections (max.connections, max.connections.per.ip and its overrides) and the bytes of
 * requests being received (queued.max.request.bytes).
 *
 * Contract
 * - One struct br_limits per server: br_limits_init() (start-up, before any loop thread runs;
 *   resolves the host names of max.connections.per.ip.overrides) and br_limits_free() (after
 *   every loop thread has stopped). Every other call may come from any loop thread: counts are
 *   atomics, the per-address table is under a mutex (taken on accept and close only).
 * - Connections: br_limits_admit() counts a new connection from an address, or says why not
 *   (the address is at its own bound; the broker is at max.connections). An admitted
 *   connection is given back with br_limits_release() exactly once, with the slot admit
 *   returned. Deciding what to do at max.connections (close an idle connection to make room)
 *   is the caller's: it knows its connections.
 * - Request bytes: a connection takes bytes of the budget before it grows its frame buffer
 *   for a request (br_limits_bytes_take(), which fails rather than pass the budget), takes them
 *   unconditionally for bytes the kernel has already handed over (br_limits_bytes_force(),
 *   bounded by what one loop turn can receive), and gives them back when the buffer shrinks or
 *   the connection is freed (br_limits_bytes_give(), which says whether anyone may be waiting).
 *   With queued.max.request.bytes=-1 nothing is counted and take never fails.
 * - Errors are -errno; nothing here logs except br_limits_init (a host name that does not
 *   resolve).
 */
#ifndef SPLICELOG_BR_LIMIT_H
#define SPLICELOG_BR_LIMIT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "br_config.h"

#define BR_LIMIT_BUCKETS 4096

/* Connections open from one address (a per-address table entry; v4 as v4-mapped v6). */
struct br_ip_slot {
    struct br_ip_slot *next; /* in its bucket */
    uint8_t addr[16];
    int32_t n; /* open connections from addr, 0 < n <= its bound */
};

/* One resolved address of max.connections.per.ip.overrides. */
struct br_ip_limit {
    uint8_t addr[16];
    int32_t max;
};

struct br_limits {
    int64_t max_conns; /* max.connections */
    int32_t per_ip;    /* max.connections.per.ip */
    bool track_ip;     /* per-address counting is on (a bound or an override exists) */
    int nip_limits;
    struct br_ip_limit *ip_limits; /* the overrides, resolved */
    pthread_mutex_t lock;          /* guards buckets */
    struct br_ip_slot *buckets[BR_LIMIT_BUCKETS];
    atomic_long nconns; /* admitted and not yet released */
    /* fair service (br_conn.h): when a light connection last had a request handled, monotonic
     * ms, any loop (relaxed: a hint whether holding heavy connections helps anyone) */
    atomic_llong light_ms;
    atomic_uintptr_t light_conn; /* ... and which connection that was */

    int64_t budget;            /* queued.max.request.bytes, -1 = no bound */
    atomic_llong bytes;        /* taken; <= budget except for forced takes */
    atomic_long bytes_waiters; /* connections waiting for bytes (maintained by callers) */
};

/* 0, or -EINVAL with err naming the key (an override host that does not resolve), -ENOMEM. */
int br_limits_init(struct br_limits *l, const struct br_config *cfg, char *err, size_t errlen);
void br_limits_free(struct br_limits *l);

/*
 * Admits a connection from peer: 0 (counted; *slot is what br_limits_release needs, NULL when
 * addresses are not tracked), -EUSERS when peer's address already has its bound of connections
 * (*bound set to it), -ENFILE when max.connections are open, -ENOMEM. Nothing is counted on
 * failure.
 */
int br_limits_admit(struct br_limits *l, const struct sockaddr_storage *peer,
                    struct br_ip_slot **slot, int32_t *bound);
/* Gives back an admitted connection (slot as admit returned it). */
void br_limits_release(struct br_limits *l, struct br_ip_slot *slot);
/*
 * Making room at max.connections without a race with other threads: the connection closed to
 * make room gives back only its address's count (br_limits_release_ip), and the new one takes
 * over its place, counting only its address (br_limits_admit_ip: 0 or -EUSERS/-ENOMEM as
 * admit; on failure the caller gives the place back with br_limits_release(l, NULL)).
 */
int br_limits_admit_ip(struct br_limits *l, const struct sockaddr_storage *peer,
                       struct br_ip_slot **slot, int32_t *bound);
void br_limits_release_ip(struct br_limits *l, struct br_ip_slot *slot);
/* The bound on connections from peer's address (max.connections.per.ip or its override). */
int32_t br_limits_ip_bound(const struct br_limits *l, const struct sockaddr_storage *peer);

/* Takes n bytes: 0, or -EAGAIN when that would pass the budget (nothing taken). */
int br_limits_bytes_take(struct br_limits *l, size_t n);
/* Takes n bytes even past the budget (bytes already received that must be kept). */
void br_limits_bytes_force(struct br_limits *l, size_t n);
/* Gives n bytes back; true when connections wait for bytes (the caller wakes them). */
bool br_limits_bytes_give(struct br_limits *l, size_t n);
/* Bytes taken now (tests, logs). */
int64_t br_limits_bytes_used(const struct br_limits *l);

#endif
