/*
 * br_api — request dispatch and the API handlers (one file per API family).
 *
 * Contract
 * - br_dispatch() parses the request header of one whole frame, picks the handler by api key
 *   and version, and fills the response slot r. Returns BR_REPLY (r is queued: ready, or
 *   parked waiting), BR_NO_REPLY (acks=0 produce: r is given back unused) or -errno (a
 *   request that cannot be parsed: the connection is closed, as Kafka does).
 * - Unsupported (key, version): UNSUPPORTED_VERSION. ApiVersions at an unsupported version is
 *   answered with a v0 body behind a v0 header, as Kafka does, so clients can fall back.
 * - Handlers run on the connection's loop thread, read the request through a bounds-checked
 *   reader, and never keep pointers into the request bytes after returning (a parked fetch
 *   copies what it needs into the response's scratch memory).
 * - Wire errors are enum kp_err values; internal calls return 0 / -errno.
 */
#ifndef SPLICELOG_BR_API_H
#define SPLICELOG_BR_API_H

#include <stdbool.h>
#include <stdint.h>

#include "br_clock.h"
#include "br_conn.h"
#include "br_server.h"
#include "kp_api.h"
#include "kp_buf.h"

enum {
    BR_REPLY = 0,
    BR_NO_REPLY = 1,
};

struct br_req {
    struct br_conn *conn;
    struct br_loop *loop;
    struct br_server *srv;
    int16_t api_key;
    int16_t api_version;
    int32_t corr;
    struct kp_str client_id;
    struct kp_rd rd; /* the request body */
    uint8_t *frame;  /* the whole frame (after the size), mutable: produce rewrites it */
    size_t frame_len;
};

/* A decode arena for this request: attempt 0, 1, 2... gives a bigger one each time, bounded
 * by what the frame could possibly need; -ENOMEM past that. */
int br_req_arena(struct br_req *q, struct kp_arena *a, int attempt);
/* An encode arena of exactly cap bytes (reused per loop); -ENOMEM. */
int br_enc_arena(struct br_req *q, struct kp_arena *a, size_t cap);
/* Logs a request that cannot be decoded (peer, API, version, reason). Returns rc. */
int br_req_bad(struct br_req *q, int rc);
/* n rounded up to a multiple of 8: lays out several arrays in one scratch block. */
static inline size_t br_align8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Decodes the request body with fn, growing the arena on -ENOMEM. Evaluates to 0 or -errno. */
#define BR_DECODE(q, fn, out)                                                                      \
    ({                                                                                             \
        struct kp_rd _save = (q)->rd;                                                              \
        struct kp_arena _a;                                                                        \
        int _rc;                                                                                   \
        for (int _i = 0;; _i++) {                                                                  \
            _rc = br_req_arena((q), &_a, _i);                                                      \
            if (_rc < 0)                                                                           \
                break;                                                                             \
            (q)->rd = _save;                                                                       \
            _rc = fn(&(q)->rd, (q)->api_version, &_a, (out));                                      \
            if (_rc != -ENOMEM)                                                                    \
                break;                                                                             \
        }                                                                                          \
        _rc;                                                                                       \
    })

/* Encodes a whole response (header + body from msg) into r, growing r's buffer on -ENOSPC,
 * and finishes the frame. Evaluates to 0 or -errno. */
#define BR_ENCODE(r, fn, msg)                                                                      \
    ({                                                                                             \
        int _rc;                                                                                   \
        for (;;) {                                                                                 \
            br_resp_begin(r);                                                                      \
            _rc = fn(&(r)->wr, (r)->api_version, (msg));                                           \
            if (_rc == 0)                                                                          \
                _rc = br_resp_finish(r);                                                           \
            if (_rc != -ENOSPC)                                                                    \
                break;                                                                             \
            if (br_resp_reserve((r), (r)->cap ? (r)->cap * 2 : 4096) < 0) {                        \
                _rc = -ENOMEM;                                                                     \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
        _rc;                                                                                       \
    })

int br_dispatch(struct br_conn *c, struct br_resp *r, uint8_t *frame, size_t len);

/* The handlers, one per row of KP_API_LIST (kp_api.h): br_api_<stem>. Each answers every
 * version the row advertises (Produce v0-2 too, refused in their own layout). */
#define BR__API_HANDLER(id, key, name, amin, amax, cmin, cmax, flex, stem)                         \
    int br_api_##stem(struct br_req *q, struct br_resp *r);
KP_API_LIST(BR__API_HANDLER)
#undef BR__API_HANDLER

/* committed offsets (br_api_commit.c) */
/* Advertised address of the listener the connection came in on. */
void br_api_advertised(struct br_conn *c, char *host, size_t hostlen, int *port);

#endif
