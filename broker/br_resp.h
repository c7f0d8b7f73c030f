/*
 * br_resp — a response slot: the one type net/ and api/ share. A handler (api/) fills it; its
 * owner (a connection, net/; or a test harness) queues it, parks it while it waits, and sends
 * it in request order.
 *
 * Contract
 * - A response is a frame built in memory, interleaved with file ranges (fetch): pieces. The
 *   memory pieces are offsets into the response buffer; the file pieces hold segment
 *   references (st_read) released once the response is sent or dropped (br_resp_reset).
 * - Frame layout: int32 size (of everything after it, file ranges included), the Kafka
 *   response header for (api_key, api_version, corr) (br_resp_begin), the body.
 * - The slot's buffers are reused from request to request of its owner; nothing here is
 *   thread-safe: one thread at a time (the owner's, or a group thread encoding into a parked
 *   slot its loop does not touch, br_api_group.c).
 * - Errors: 0 / -errno.
 * - struct br_peer is what the handler may know of the connection a request came on: its
 *   name for log lines, its principal, and the address to advertise to it (Metadata,
 *   FindCoordinator); the owner fills it once per connection. The principal changes only
 *   between requests (TLS handshake, SASL authentication: br_sess.h).
 */
#ifndef SPLICELOG_BR_RESP_H
#define SPLICELOG_BR_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "br_config.h"
#include "br_wait.h"
#include "kp_buf.h"
#include "st.h"

/* What dispatch returns besides -errno: a response is queued (ready or parked), or none is
 * (acks=0 produce: the slot is given back unused). */
enum {
    BR_REPLY = 0,
    BR_NO_REPLY = 1,
};

#define BR_PEER_NAME_MAX      64
#define BR_PEER_PRINCIPAL_MAX 320

struct br_peer {
    char name[BR_PEER_NAME_MAX];           /* "127.0.0.1:53412": for log lines */
    char principal[BR_PEER_PRINCIPAL_MAX]; /* "User:ANONYMOUS", or "User:" and the verified
                                              client certificate's subject on TLS */
    char adv_host[BR_HOST_MAX];            /* the address this client is told to use */
    int adv_port;
    char listener[32]; /* the name of the listener it connected to (the other brokers'
                          addresses in Metadata are their endpoints of that name) */
    void *sess;        /* the connection's security session (br_sess.h; broker/sec/br_auth.h), or
                          NULL: no security (tests, a server without it) */
};

enum br_piece_kind {
    BR_PIECE_MEM = 0,  /* bytes [off, off+len) of the response buffer */
    BR_PIECE_FILE = 1, /* bytes [off, off+len) of file fd */
};

struct br_piece {
    uint8_t kind;
    int fd;
    uint64_t off;
    size_t len;
};

/* A log a produce response waits on, and the offset that must become durable. */
struct br_durable_wait {
    struct st_log *log; /* reference held until the response is ready */
    int64_t need;       /* st_log_durable_offset(log) >= need */
    /* acks=all on a replicated partition (br_resp_add_hwait): st_log_high_watermark(log) >= need
     * instead; slot: the handler's index of the partition's answer; min_isr: the topic's
     * min.insync.replicas when it appended; done: answered (the handler's) */
    bool hw;
    bool done;
    int32_t slot;
    int32_t min_isr;
};

struct br_resp;
/* Runs on the owner's thread when a parked response's wait ends or its event happens (see
 * br_wait.h): why, and the arg it was parked with. */
typedef void (*br_resp_wake_fn)(struct br_resp *r, enum br_wake why, void *arg);

struct br_resp {
    /* the owner's: queue, parking (a handler never touches these) */
    struct br_resp *next; /* in the connection's queue */
    struct br_conn *conn; /* the owner (NULL for a test's slot) */
    bool parked;          /* not ready: waits (wait) for an event, a deadline or a post */
    struct br_wait wait;  /* on the loop while parked */
    br_resp_wake_fn wake; /* the handler's, while parked */
    void *wake_arg;
    bool close_after;    /* the connection closes once this is sent (br_sess.h) */
    int32_t throttle_ms; /* the handler's: the client is over a quota, its connection is not
                            read for this long (KIP-219); 0: not throttled */

    int16_t api_key;
    int16_t api_version;
    int32_t corr;
    int64_t t_start_ns; /* dispatch began (br_stats_clock; 0 when metrics are off) */

    /* The frame: size prefix, header, body. */
    uint8_t *buf;
    size_t cap;
    struct kp_wr wr;
    size_t mem_start;  /* start of the memory piece being written */
    size_t file_total; /* sum of file pieces so far */

    struct br_piece *pieces;
    int npieces, cap_pieces;
    struct st_read *reads; /* segment references held by the file pieces */
    int nreads, cap_reads;
    struct br_durable_wait *dwaits;
    int ndwaits, cap_dwaits;

    /* Handler-owned memory that outlives the request bytes (a parked fetch request). */
    void *scratch;
    size_t scratch_cap;
    void *hstate; /* handler's view into scratch */

    size_t total; /* bytes of the whole frame (set by br_resp_finish) */
};

/* Makes room for cap bytes in the frame buffer; 0 or -ENOMEM. */
int br_resp_reserve(struct br_resp *r, size_t cap);
/* Starts the frame: size placeholder and the response header for (api_key, api_version). */
void br_resp_begin(struct br_resp *r);
/* Appends a file range after the bytes written so far; takes over the segment references in
 * rd (the caller must not release it). 0 or -ENOMEM. */
int br_resp_add_read(struct br_resp *r, struct st_read *rd);
/* Closes the frame: writes the size prefix. -ENOSPC when the encoder overflowed. */
int br_resp_finish(struct br_resp *r);
/* Drops pieces and references (a fetch re-evaluated after waiting starts over); keeps the
 * handler's scratch and the buffers. */
void br_resp_reset(struct br_resp *r);
/* Grows the handler scratch memory; 0 or -ENOMEM. */
int br_resp_scratch(struct br_resp *r, size_t cap);
/* Durable wait list; takes the log reference. 0 or -ENOMEM. */
int br_resp_add_dwait(struct br_resp *r, struct st_log *log, int64_t need);
/* A high-watermark wait (acks=all, replicated log: br_durable_wait.hw); takes the log
 * reference. 0 or -ENOMEM. */
int br_resp_add_hwait(struct br_resp *r, struct st_log *log, int64_t need, int32_t slot,
                      int32_t min_isr);
/* Frees the slot's buffers and references, then the slot (NULL: nothing). */
void br_resp_free(struct br_resp *r);

#endif
