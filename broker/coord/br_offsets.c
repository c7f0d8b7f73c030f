/*
 * br_offsets — the committed offsets' life in the broker (see br_offsets.h).
 */
#include "br_offsets.h"

#include <errno.h>
#include <string.h>

#include "br_clock.h"
#include "br_group.h"
#include "br_log.h"

static void offsets_log(void *arg, const char *msg)
{
    (void)arg;
    br_warn("%s", msg);
}

int br_offsets_open(const struct br_config *cfg, struct st_offsets **out)
{
    struct st_offsets_opts o;
    st_offsets_opts_default(&o);
    o.metadata_max_bytes = cfg->offset_metadata_max_bytes;
    /* 1: OffsetCommit waits for st_offsets_sync on the admin thread instead, so a loop thread
     * never waits for the disk (br_api_commit.c) */
    o.flush_interval_messages =
        cfg->log.flush_interval_messages == 1 ? -1 : cfg->log.flush_interval_messages;
    o.flush_interval_ms = cfg->log.flush_interval_ms;
    o.log_fn = offsets_log;
    int rc = st_offsets_open(cfg->data_dir, &o, out);
    if (rc < 0) {
        br_err("cannot open the committed offsets in %s/%s: %s", cfg->data_dir, ST_OFFSETS_DIR,
               strerror(-rc));
        return rc;
    }
    struct st_offsets_stats s;
    st_offsets_stats(*out, &s);
    br_info("committed offsets: %lld partition(s) of %lld group(s)", (long long)s.entries,
            (long long)s.groups);
    return 0;
}

void br_offsets_close(struct st_offsets *o)
{
    if (o)
        st_offsets_close(o); /* fdatasync */
}

/* A group with members keeps its offsets (-1); otherwise retention counts from its commits
 * and from the last check that saw members (st_offsets_expire). Called under the offsets
 * store's mutex; takes the coordinator's (lock order: offsets, then groups; the coordinator
 * never calls into the offsets store). */
static int64_t group_empty_since(void *arg, const char *group, size_t len)
{
    struct br_groups *groups = arg;
    if (!groups)
        return 0;
    struct br_group_info info;
    br_group_describe(groups, (struct kp_str){group, (int32_t)len}, &info);
    return info.n_members > 0 ? -1 : 0;
}

/* A committed partition that no longer exists (its topic was deleted, or recreated with
 * fewer partitions): Kafka drops such offsets with the topic. Store lock, then the topic
 * store's (which never calls into the offsets store). */
static bool partition_gone(void *arg, const struct st_offset_entry *e)
{
    struct st_store *store = arg;
    int32_t n = st_topic_partitions(store, e->topic, e->topic_len);
    return n < 0 ? n == -ENOENT : e->partition >= n;
}

void br_offsets_housekeeping(struct st_offsets *o, struct st_store *store, struct br_groups *groups,
                             int64_t retention_ms, bool expire)
{
    if (!o)
        return;
    st_offsets_maintain(o);
    if (!expire)
        return;
    int gone = st_offsets_remove_if(o, br_wall_ms(), partition_gone, store);
    if (gone > 0)
        br_info("%d committed offset(s) of deleted topics or partitions removed", gone);
    else if (gone < 0)
        br_warn("committed offsets of deleted topics: %s", strerror(-gone));
    int n = st_offsets_expire(o, br_wall_ms(), retention_ms, group_empty_since, groups);
    if (n > 0)
        br_info("offsets.retention.minutes: %d committed offset(s) of empty groups expired", n);
    else if (n < 0)
        br_warn("committed offsets retention: %s", strerror(-n));
}

static bool offset_of_topic(void *arg, const struct st_offset_entry *e)
{
    const char *name = arg;
    return e->topic_len == strlen(name) && memcmp(e->topic, name, e->topic_len) == 0;
}

int br_offsets_remove_topic(struct st_offsets *o, const char *topic)
{
    if (!o)
        return 0;
    int gone = st_offsets_remove_if(o, br_wall_ms(), offset_of_topic, (void *)topic);
    if (gone > 0)
        br_info("deleted topic %s: %d committed offset(s) removed", br_log_cstr(topic).s, gone);
    else if (gone < 0)
        br_warn("deleted topic %s: committed offsets not removed (%s); the next retention check "
                "removes them",
                br_log_cstr(topic).s, strerror(-gone));
    return gone;
}
