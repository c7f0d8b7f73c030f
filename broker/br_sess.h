/*
 * br_sess — a connection's security session as the connection layer (net/) sees it: an opaque
 * object made at accept, shown every whole request frame before dispatch, freed with the
 * connection. The server binds it to broker/sec/br_auth.h, which owns SASL (the handshake,
 * the exchange, re-authentication), the principal, and the per-connection state authorization
 * and quotas keep. net/ never asks which mechanism or principal: it applies the verdicts.
 *
 * Contract
 * - Loop thread of the connection only. open() runs once per connection (after the peer's
 *   name is set), close() once when it is freed. If open fails the connection is refused.
 * - frame(): BR_SESS_PASS (dispatch the frame as usual), BR_REPLY (the session filled r: its
 *   api_key, api_version and corr are set; v->delay_ms > 0: send it that late; v->close_after:
 *   close the connection once it is sent, reading nothing more), or -errno (close at once;
 *   the session logged why).
 * - max_frame(): the largest request frame the connection may send next (Kafka's
 *   sasl.server.max.receive.size before authentication); 0 = only socket.request.max.bytes.
 * - The session is what br_peer.sess points at; handlers reach it only through api/'s
 *   authorization and quota calls.
 */
#ifndef SPLICELOG_BR_SESS_H
#define SPLICELOG_BR_SESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "br_config.h"
#include "br_resp.h"

enum { BR_SESS_PASS = 2 }; /* beside BR_REPLY and BR_NO_REPLY (br_resp.h) */

struct br_sess_verdict {
    int64_t delay_ms; /* > 0: the response is sent this late */
    bool close_after; /* close once the response is sent */
};

struct br_sess_ops {
    int (*open)(void *arg, const struct br_listener_cfg *lc, struct br_peer *peer, void **out);
    void (*close)(void *arg, void *sess);
    int64_t (*max_frame)(void *sess);
    int (*frame)(void *sess, struct br_peer *peer, uint8_t *frame, size_t len, struct br_resp *r,
                 int64_t now_ms, struct br_sess_verdict *v);
};

#endif
