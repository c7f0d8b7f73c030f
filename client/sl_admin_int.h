/*
 * sl_admin_int.h — the admin handle's internals (not installed), shared by its files:
 * sl_admin.c (the handle, its result pool, connections and the one request/response call),
 * sl_admin_topic.c (topics, configs), sl_admin_group.c (groups, committed offsets) and
 * sl_admin_cluster.c (offsets by time, cluster, log dirs).
 *
 * Every public admin call opens with sl__adm_begin (which empties the result pool: what "valid
 * until the next call" in splicelog.h means) and runs on the caller's thread; the handle is
 * single-threaded like the rest of the client. Internals return 0 or -errno (-ENOTSUP: the
 * broker speaks no version of an API this file handles); Kafka errors travel as sl_err. What
 * sl__adm_alloc / sl__adm_str return belongs to the pool; a decoded answer (sl__adm_ask) points
 * into the client's arena and the handle's held body and is valid until the next ask.
 */
#ifndef SPLICELOG_SL_ADMIN_INT_H
#define SPLICELOG_SL_ADMIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_int.h"

struct sl__adm_block;
struct sl__adm_call;

struct sl_admin {
    struct sl__client cl;
    struct sl__adm_block *pool;
    bool pool_failed;          /* an allocation failed since the last reset */
    struct sl__adm_call *held; /* the body the last decoded answer points into */
};

/* ---- the call ----------------------------------------------------------------------------------
 */

/* One admin API: its key, the versions the admin speaks, and its codec (type-erased). */
struct sl__adm_api {
    int16_t key;
    int16_t vmin, vmax;
    int (*enc)(struct kp_wr *wr, int16_t v, const void *req);
    int (*dec)(struct kp_rd *rd, int16_t v, struct kp_arena *ar, void *resp);
};

/* Defines api_<stem>, the API KP_API_<ID> with the codec kp_<stem>_req_encode /
 * _resp_decode, spoken within [vmin_mine, vmax_mine] and the codec's range. */
#define SL__ADM_API(stem, ID, vmin_mine, vmax_mine)                                                \
    static int enc_##stem(struct kp_wr *wr, int16_t v, const void *req)                            \
    {                                                                                              \
        return kp_##stem##_req_encode(wr, v, req);                                                 \
    }                                                                                              \
    static int dec_##stem(struct kp_rd *rd, int16_t v, struct kp_arena *ar, void *resp)            \
    {                                                                                              \
        return kp_##stem##_resp_decode(rd, v, ar, resp);                                           \
    }                                                                                              \
    static const struct sl__adm_api api_##stem = {                                                 \
        KP_API_##ID,                                                                               \
        (vmin_mine) > KP_API_##ID##_CODEC_VMIN ? (vmin_mine) : KP_API_##ID##_CODEC_VMIN,           \
        (vmax_mine) < KP_API_##ID##_CODEC_VMAX ? (vmax_mine) : KP_API_##ID##_CODEC_VMAX,           \
        enc_##stem,                                                                                \
        dec_##stem,                                                                                \
    }

/* The version of api to speak on c (up, versions known), or -1 (none offered). */
int sl__adm_version(const struct sl__conn *c, const struct sl__adm_api *api);

/*
 * Sends req as api on conn (ready) and waits until its answer or deadline, then decodes it into
 * resp (the API's kp_<stem>_resp). 0 with *v the version spoken; -ENOTSUP when conn speaks no
 * version of api; -ETIMEDOUT (the request stays out and cleans up after itself), -EBADMSG,
 * -ENOMEM or the transport's -errno. guess: the expected encoded size.
 */
int sl__adm_ask(sl_admin *a, struct sl__conn *conn, const struct sl__adm_api *api, const void *req,
                size_t guess, int64_t deadline, void *resp, int16_t *v);

/* ---- the handle and its pool -------------------------------------------------------------------
 */

/* Starts a public call: empties the pool, drops the held body. */
void sl__adm_begin(sl_admin *a);
/* n zeroed bytes, 16-aligned, owned by the pool; NULL (and pool_failed) when out of memory. */
void *sl__adm_alloc(sl_admin *a, size_t n);
/* A NUL-terminated copy of s in the pool ("" for an empty or null one, NULL with null_ok). */
const char *sl__adm_str(sl_admin *a, struct kp_str s, bool null_ok);
const char *sl__adm_cstr(sl_admin *a, const char *s);
/* Room for element *n of arr (elements of size bytes, *cap of them), growing it in the pool by
 * doubling; NULL when out of memory (arr unchanged). */
void *sl__adm_push(sl_admin *a, void **arr, size_t *n, size_t *cap, size_t size);
/* How a call that got this far ends: SL_ERR__NO_MEMORY when the pool failed, else e. */
sl_err sl__adm_done(const sl_admin *a, sl_err e);
int64_t sl__adm_deadline(const sl_admin *a, int timeout_ms);

/* ---- connections -------------------------------------------------------------------------------
 */

/* Waits until c is up with its ApiVersions answer in: 0, -ETIMEDOUT or the connection's error. */
int sl__adm_ready(sl_admin *a, struct sl__conn *c, int64_t deadline);
/* Any broker's connection, ready. */
int sl__adm_any(sl_admin *a, int64_t deadline, struct sl__conn **out);
/* The connection of broker node at host:port (not yet ready); NULL when out of memory. */
struct sl__conn *sl__adm_node_conn(sl_admin *a, int32_t node, const char *host, int port);
/* The cluster's metadata (sl_metadata_free it), within the deadline; -errno. */
int sl__adm_metadata(sl_admin *a, int64_t deadline, sl_metadata **md);

/*
 * Asks api of group's coordinator (found with FindCoordinator, retried while it is loading):
 * 0 with the answer in resp, as sl__adm_ask; 0 with *kerr set when the coordinator lookup
 * answered a Kafka error (resp untouched); -errno otherwise. *node: the coordinator's id.
 */
int sl__adm_ask_coordinator(sl_admin *a, const char *group, const struct sl__adm_api *api,
                            const void *req, size_t guess, int64_t deadline, void *resp, int16_t *v,
                            int32_t *node, sl_err *kerr);

/*
 * Asks api of every broker in the cluster (from Metadata) in turn, with the same req; each
 * answer, decoded into resp, goes to each(a, node, v, resp, ctx), and a nonzero sl_err from it
 * stops the walk and is returned (as are the first transport or decode error, mapped).
 */
sl_err sl__adm_each_broker(
    sl_admin *a, int64_t deadline, const struct sl__adm_api *api, const void *req, void *resp,
    sl_err (*each)(sl_admin *a, int32_t node, int16_t v, const void *resp, void *ctx), void *ctx);

/* ---- arguments and results ---------------------------------------------------------------------
 */

/* n names, each non-empty and within Kafka's string length. */
bool sl__adm_names_ok(const char *const *names, size_t n);
/* n topic partitions with topics named as above and partitions >= 0. */
bool sl__adm_parts_ok(const sl_topic_partition *parts, size_t n);
/* results[i] for names[i], each SL_ERR__BAD_MSG until an answer names it (sl__adm_result_set). */
sl_admin_result *sl__adm_results_new(sl_admin *a, const char *const *names, size_t n);
void sl__adm_result_set(sl_admin *a, sl_admin_result *r, size_t n, struct kp_str name, int16_t ec,
                        struct kp_str msg);

#endif
