/*
 * br_dispatch — request header -> handler (see br_ctx.h), and the handlers' arenas.
 *
 * What an unsupported request gets, following Kafka 4.0:
 * - ApiVersions at a version we do not speak: a v0 body with UNSUPPORTED_VERSION and our
 *   ApiVersions range behind a v0 header, so librdkafka and kafkajs retry at a lower
 *   version. Only the correlation id must parse for that.
 * - Any other key or version outside kp_api_advertised() (an old client's Fetch v0-3 or
 *   ListOffsets v0, the versions KIP-896 removed): the connection is closed, with a WARN
 *   line naming the peer, the client.id, the API, the version asked for and the versions
 *   this broker speaks. That is what Kafka 4.0 does (its SocketServer Processor rejects the
 *   header with UnsupportedVersionException and closes the channel; no response is sent):
 *   a client sees the same failure here as against Kafka. A body we cannot parse has no
 *   layout to carry an error in; a made-up one (a header and an int16) is read by old
 *   clients as a broken response, retried for ever, and never reported.
 * - Produce v0-2 are advertised (librdkafka's compression gate): br_api_produce answers them in
 *   their own layout, refused per partition.
 * - A header that does not parse: the connection is closed with a log line.
 * Lines that a reconnecting client can repeat are rate-limited (br_warn_limited).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_rezip.h"
#include "br_api.h"
#include "br_log.h"
#include "br_stats.h"
#include "kp_msg.h"

#define ARENA_MIN (64 * 1024)

int br_req_arena(struct br_req *q, struct kp_arena *a, int attempt)
{
    struct br_ctx *l = q->x;
    /* No decoded struct is more than 8 times the wire bytes it came from (a kp_str of 16
     * bytes from an empty 2-byte string), so this bound always suffices. */
    size_t bound = q->frame_len * 8 + 4096;
    size_t want = (size_t)ARENA_MIN << (attempt < 20 ? attempt : 20);
    if (want >= bound) {
        if (attempt > 0 && ((size_t)ARENA_MIN << (attempt - 1 < 20 ? attempt - 1 : 20)) >= bound)
            return -ENOMEM; /* the previous attempt already had the bound */
        want = bound;
    }
    if (want > l->dec_cap) {
        void *m = realloc(l->dec_mem, want);
        if (!m)
            return -ENOMEM;
        l->dec_mem = m;
        l->dec_cap = want;
    }
    kp_arena_init(a, l->dec_mem, want);
    return 0;
}

int br_enc_arena(struct br_ctx *l, struct kp_arena *a, size_t cap)
{
    if (cap < 64)
        cap = 64;
    if (cap > l->enc_cap) {
        void *m = realloc(l->enc_mem, cap);
        if (!m)
            return -ENOMEM;
        l->enc_mem = m;
        l->enc_cap = cap;
    }
    kp_arena_init(a, l->enc_mem, cap);
    return 0;
}

int br_req_bad(struct br_req *q, int rc)
{
    br_warn_limited("peer=%s client.id=%s: malformed %s v%d request (correlation id %d): %s",
                    q->peer->name, BR_LOG_KSTR(q->client_id), kp_api_name(q->api_key),
                    q->api_version, q->corr, strerror(-rc));
    return rc;
}

/* Closes the connection, as Kafka 4.0 does for a key or version it does not support. */
static int unsupported(struct br_req *q)
{
    const struct kp_api_range *a = kp_api_find(q->api_key);
    if (a)
        br_warn_limited("peer=%s client.id=%s: %s v%d is not supported (this broker speaks "
                        "v%d-%d%s): closing the connection, as Kafka does",
                        q->peer->name, BR_LOG_KSTR(q->client_id), kp_api_name(q->api_key),
                        q->api_version, a->min_version, a->max_version,
                        q->api_version < a->min_version
                            ? "; Kafka 4.0 removed the older versions too, KIP-896"
                            : "");
    else
        br_warn_limited("peer=%s client.id=%s: unknown API key %d (v%d): closing the "
                        "connection, as Kafka does",
                        q->peer->name, BR_LOG_KSTR(q->client_id), q->api_key, q->api_version);
    return -EPROTONOSUPPORT;
}

static int api_versions_fallback(struct br_req *q, struct br_resp *r)
{
    br_info_limited("peer=%s: ApiVersions v%d not supported: answering with the v0 fallback",
                    q->peer->name, q->api_version);
    r->api_version = 0; /* v0 header and body */
    for (;;) {
        br_resp_begin(r);
        int rc = kp_api_versions_fallback_encode(&r->wr);
        if (rc == 0)
            rc = br_resp_finish(r);
        if (rc != -ENOSPC)
            return rc < 0 ? rc : BR_REPLY;
        if (br_resp_reserve(r, r->cap ? r->cap * 2 : 512) < 0)
            return -ENOMEM;
    }
}

void br_ctx_release(struct br_ctx *x)
{
    free(x->dec_mem);
    free(x->enc_mem);
    x->dec_mem = x->enc_mem = NULL;
    x->dec_cap = x->enc_cap = 0;
    if (x->rezip) {
        br_rezip_free(x->rezip);
        free(x->rezip);
        x->rezip = NULL;
    }
}

static int handle(struct br_req *q, struct br_resp *r)
{
    switch (q->api_key) {
#define HANDLER(id, key, name, role, amin, amax, cmin, cmax, flex, stem)                           \
    KP_API_IF_SERVED(role, case KP_API_##id : return br_api_##stem(q, r);)
        KP_API_LIST(HANDLER)
#undef HANDLER
    }
    return unsupported(q); /* a SESSION row's API without a session (no security layer) */
}

static int dispatch(struct br_ctx *x, const struct br_peer *peer, uint8_t *frame, size_t len,
                    struct br_resp *r)
{
    struct br_req q;
    memset(&q, 0, sizeof(q));
    q.x = x;
    q.peer = peer;
    q.frame = frame;
    q.frame_len = len;
    kp_rd_init(&q.rd, frame, len);
    struct kp_req_hdr h;
    int rc = kp_req_hdr_decode(&q.rd, &h);
    if (rc < 0) {
        if (len >= 8 && (int16_t)kp_load_be16(frame) == KP_API_API_VERSIONS) {
            /* an ApiVersions header we cannot parse (a future flexible version): the
             * correlation id is all the fallback needs */
            q.api_key = KP_API_API_VERSIONS;
            q.api_version = (int16_t)kp_load_be16(frame + 2);
            q.corr = (int32_t)kp_load_be32(frame + 4);
            r->api_key = q.api_key;
            r->api_version = q.api_version;
            r->corr = q.corr;
            return api_versions_fallback(&q, r);
        }
        br_warn_limited("peer=%s: request header does not parse (%zu-byte frame)", peer->name, len);
        return rc;
    }
    q.api_key = h.api_key;
    q.api_version = h.api_version;
    q.corr = h.correlation_id;
    q.client_id = h.client_id;
    r->api_key = h.api_key;
    r->api_version = h.api_version;
    r->corr = h.correlation_id;
    br_debug("peer=%s client.id=%s: %s v%d correlation id %d, %zu bytes", peer->name,
             BR_LOG_KSTR(h.client_id), kp_api_name(h.api_key), h.api_version, h.correlation_id,
             len);

    if (!kp_api_supported(h.api_key, h.api_version)) {
        if (h.api_key == KP_API_API_VERSIONS)
            return api_versions_fallback(&q, r);
        return unsupported(&q);
    }
    int64_t qt0 = br_quota_begin(&q);
    int hrc = handle(&q, r);
    br_quota_end(&q, r, qt0, hrc);
    return hrc;
}

/* Metrics: every request counted by API; its latency observed now when it is answered (or
 * needs no answer), else when its parked response becomes ready (its owner's ready). */
int br_dispatch(struct br_ctx *x, const struct br_peer *peer, uint8_t *frame, size_t len,
                struct br_resp *r)
{
    int64_t t0 = br_stats_clock(x->stats);
    r->t_start_ns = t0;
    int rc = dispatch(x, peer, frame, len, r);
    br_stats_request(x->stats, len >= 2 ? (int16_t)kp_load_be16(frame) : -1, t0,
                     rc == BR_NO_REPLY || (rc == BR_REPLY && !r->parked));
    return rc;
}
