/*
 * st_replica — PLACEHOLDER on branch rep-base only (replaced by branch rep-st before anything
 * lands on main): the replication contract of st.h with an unreplicated log's behaviour, so
 * the broker side can be built against it meanwhile.
 */
#include <errno.h>

#include "st.h"

void st_log_set_replicated(struct st_log *log, bool replicated)
{
    (void)log;
    (void)replicated;
}

bool st_log_replicated(const struct st_log *log)
{
    (void)log;
    return false;
}

int64_t st_log_high_watermark(const struct st_log *log) { return st_log_end_offset(log); }

int64_t st_log_set_high_watermark(struct st_log *log, int64_t hw)
{
    (void)hw;
    return st_log_end_offset(log);
}

int st_log_append_replica(struct st_log *log, struct iovec *batches, int n, int64_t now_ms,
                          struct st_append_result *res)
{
    (void)log, (void)batches, (void)n, (void)now_ms, (void)res;
    return -ENOSYS;
}

int st_log_truncate(struct st_log *log, int64_t offset)
{
    (void)log, (void)offset;
    return -ENOSYS;
}

int32_t st_log_latest_epoch(struct st_log *log)
{
    (void)log;
    return -1;
}

int st_log_epoch_end_offset(struct st_log *log, int32_t epoch, int32_t *out_epoch, int64_t *out_end)
{
    (void)log, (void)epoch;
    *out_epoch = -1;
    *out_end = -1;
    return 0;
}
