/*
 * br_auth — the security session of every connection (br_sess.h): SASL on SASL_PLAINTEXT and
 * SASL_SSL listeners (Kafka's SaslServerAuthenticator), and the per-connection state of
 * authorization and quotas that api/ reads through br_peer.sess.
 *
 * SASL, as Kafka does it (KIP-43, KIP-152, KIP-368):
 *   - Before authentication a connection may send ApiVersions, then SaslHandshake; after the
 *     handshake only SaslAuthenticate (v1 handshake) or raw tokens, each a 4-byte length and
 *     the token, answered the same way (v0 handshake: the framing of Kafka before 1.0, which
 *     kafka-python 2.0 still uses). Any other request closes the connection with a log line;
 *     a frame above sasl.server.max.receive.size closes it before it is read (br_conn.c asks
 *     max_frame()).
 *   - A mechanism not in sasl.enabled.mechanisms: UNSUPPORTED_SASL_MECHANISM with the enabled
 *     list, then the connection closes. Credentials that do not verify, or a token that breaks
 *     the mechanism: SASL_AUTHENTICATION_FAILED, answered connection.failed.authentication.
 *     delay.ms late, then the connection closes; logged at WARN (rate-limited) with the peer,
 *     the mechanism, the user the client claimed (escaped) and the reason (br_sasl_reason:
 *     never a credential). A raw-token (v0) exchange has no error response: a failure there
 *     closes the connection at once, logged the same way.
 *   - Success: the principal becomes User:<name>; with connections.max.reauth.ms > 0,
 *     SaslAuthenticate v1+ tells the session lifetime, and a request other than SaslHandshake
 *     after it ends closes the connection (KIP-368). Re-authentication (a new SaslHandshake on
 *     an authenticated connection) must end in the same principal and mechanism, else the
 *     connection closes; requests keep flowing meanwhile.
 *   - On PLAINTEXT and SSL listeners SaslHandshake and SaslAuthenticate are answered
 *     ILLEGAL_SASL_STATE (Kafka's KafkaApis does the same).
 *
 * Contract
 * - struct br_auth is made once by the server (br_auth_new) and is read-only afterwards; the
 *   stores it points at have their own locking. Sessions live on their connection's loop
 *   thread (br_sess.h).
 * - A session's public part (struct br_auth_sess's who, host, cache, quota client) is read by
 *   api/ (br_api_sec.c) on the same thread; who is current whenever a handler runs.
 */
#ifndef SPLICELOG_BR_AUTH_H
#define SPLICELOG_BR_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "br_acl.h"
#include "br_config.h"
#include "br_cred.h"
#include "br_quota.h"
#include "br_resp.h"
#include "br_sasl.h"
#include "br_sess.h"

struct br_auth {
    const struct br_config *cfg;
    struct br_sasl_server sasl;
    struct br_cred *cred;     /* SCRAM credentials (PLAIN is checked against them too) */
    struct br_authz *authz;   /* NULL: no authorizer, everything is allowed */
    struct br_quotas *quotas; /* NULL: no quotas */
};

/* Fills a (cred, authz, quotas as given; authz and quotas may be NULL). 0 or -EIO. */
int br_auth_init(struct br_auth *a, const struct br_config *cfg, struct br_cred *cred,
                 struct br_authz *authz, struct br_quotas *quotas);

/* The session operations (arg: the struct br_auth). */
extern const struct br_sess_ops br_auth_sess_ops;

enum br_auth_state {
    BR_AUTH_OPEN = 0,     /* no SASL on this listener: the transport authenticated it */
    BR_AUTH_START = 1,    /* SASL listener: ApiVersions or SaslHandshake expected */
    BR_AUTH_EXCHANGE = 2, /* after a v1 handshake: SaslAuthenticate */
    BR_AUTH_RAW = 3,      /* after a v0 handshake: raw tokens */
    BR_AUTH_DONE = 4,     /* authenticated */
    BR_AUTH_REAUTH = 5,   /* authenticated, a re-authentication's SaslAuthenticate expected */
    BR_AUTH_FAILED = 6,   /* answered the failure; closing */
};

struct br_auth_sess {
    struct br_auth *a;
    uint8_t state; /* enum br_auth_state */
    enum br_sasl_mech mech;
    struct br_sasl *x;  /* the exchange in progress, or NULL */
    int64_t expires_ms; /* KIP-368: the session ends (0: never) */
    struct br_peer *peer;

    /* for api/: who asks, from where, and the decisions already made (br_acl.h) */
    struct br_authz_who who;
    char host[64];                /* the peer's address without the port */
    bool who_valid;               /* who matches peer->principal */
    struct br_authz_cache *cache; /* made at the first decision (an authorizer is on) */
    struct br_quota_client qc;    /* bound at the first request that records a quota */
    bool qc_bound;
};

#endif
