/*
 * sl_adm.h — what sl_admin.c lends the admin calls kept in other files (sl_admin_sec.c): the
 * handle's result pool and one request/response round trip. Not installed.
 *
 * Contract: the thread that owns the handle, like every admin call. A call starts with
 * sl__adm_begin (empties the pool: results of the previous call die), allocates its results with
 * sl__adm_alloc / sl__adm_str (zeroed, owned by the handle, NULL or "" when out of memory, which
 * sl__adm_failed then reports), and sends its request with sl__adm_call: to any broker that is
 * up, at the highest version in [vmin, vmax] the broker offers, waiting up to timeout_ms (-1:
 * request.timeout.ms). sl__adm_call returns 0 with the response in *ans (a reader over the body
 * at ans->v and the client's arena to decode it into; release with sl__adm_done), or -errno:
 * -ENOTSUP (the broker does not offer the API), -ETIMEDOUT, the connection's failure.
 */
#ifndef SPLICELOG_SL_ADM_H
#define SPLICELOG_SL_ADM_H

#include <stdbool.h>

#include "sl_int.h"

struct sl__adm_ans {
    int16_t v;
    struct kp_rd rd;
    struct kp_arena *arena;
    void *call_; /* sl_admin.c's */
};

void sl__adm_begin(sl_admin *a);
void *sl__adm_alloc(sl_admin *a, size_t n);
const char *sl__adm_str(sl_admin *a, struct kp_str s);
bool sl__adm_failed(const sl_admin *a);
int sl__adm_call(sl_admin *a, int16_t api_key, int vmin, int vmax,
                 int (*enc)(struct kp_wr *, int16_t, const void *), const void *msg, size_t guess,
                 int timeout_ms, struct sl__adm_ans *ans);
void sl__adm_done(struct sl__adm_ans *ans);

#endif
