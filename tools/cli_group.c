/*
 * cli_group — `splicelog group list|describe|delete|seek`: consumer groups through the admin
 * handle (splicelog.h). describe shows, per partition, the committed offset, the log end offset
 * and the lag between them; seek resets committed offsets as `kafka-consumer-groups
 * --reset-offsets` does (only while the group has no members: the broker refuses otherwise).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_group_list(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    sl_admin *a = cli_admin_parse(cmd, argc, argv, &net, NULL, 0, 0, NULL);
    if (!a)
        return CLI_EXIT_USAGE;
    const sl_group_listing *gs;
    size_t n;
    sl_err e = sl_admin_list_groups(a, net.timeout_ms, &gs, &n);
    if (e) {
        sl_admin_free(a);
        return cli_err(cmd, e, "list groups");
    }
    if (net.json) {
        fputc('[', stdout);
        for (size_t i = 0; i < n; i++) {
            printf("%s{\"group\":", i ? "," : "");
            cli_json_str(stdout, gs[i].group);
            printf(",\"state\":");
            cli_json_str(stdout, gs[i].state);
            printf(",\"protocol_type\":");
            cli_json_str(stdout, gs[i].protocol_type);
            printf(",\"coordinator\":%d}", gs[i].coordinator);
        }
        printf("]\n");
    } else {
        static const char *const hdr[] = {"GROUP", "STATE", "PROTOCOL-TYPE", "COORDINATOR"};
        struct cli_table *t = cli_table_new(4, hdr);
        for (size_t i = 0; i < n; i++) {
            const char *row[] = {gs[i].group, *gs[i].state ? gs[i].state : "-",
                                 *gs[i].protocol_type ? gs[i].protocol_type : "-",
                                 cli_fmt("%d", gs[i].coordinator)};
            cli_table_row(t, row);
        }
        cli_table_print(t, stdout);
        cli_table_free(t);
    }
    sl_admin_free(a);
    return CLI_EXIT_OK;
}

/* One row of `group describe`: a partition the group committed or has assigned. */
struct row {
    char *topic;
    int32_t partition;
    int64_t committed; /* -1: none */
    int64_t end;       /* -1: unknown */
    char *member, *client_id, *host;
};

struct rows {
    struct row *v;
    size_t n, cap;
};

static struct row *row_get(struct rows *rs, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < rs->n; i++)
        if (rs->v[i].partition == partition && strcmp(rs->v[i].topic, topic) == 0)
            return &rs->v[i];
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 16;
        struct row *v = realloc(rs->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        rs->v = v;
        rs->cap = cap;
    }
    struct row *r = &rs->v[rs->n];
    *r = (struct row){strdup(topic), partition, -1, -1, NULL, NULL, NULL};
    if (!r->topic)
        return NULL;
    rs->n++;
    return r;
}

static int cmp_row(const void *x, const void *y)
{
    const struct row *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);
    return c ? c : (a->partition > b->partition) - (a->partition < b->partition);
}

static void rows_free(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].topic);
        free(rs->v[i].member);
        free(rs->v[i].client_id);
        free(rs->v[i].host);
    }
    free(rs->v);
}

int cli_group_describe(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    const char *group;
    sl_admin *a = cli_admin_parse(cmd, argc, argv, &net, &group, 1, 1, NULL);
    if (!a)
        return CLI_EXIT_USAGE;
    struct rows rs = {0};
    int code = CLI_EXIT_OK;
    /* 1. state and members (DescribeGroups), copied: the next call replaces the results */
    char *state = NULL, *ptype = NULL, *proto = NULL;
    size_t nmembers = 0;
    const sl_group_description *d;
    sl_err de = sl_admin_describe_groups(a, &group, 1, net.timeout_ms, &d);
    if (!de && d->err)
        de = d->err;
    if (!de) {
        state = strdup(d->state);
        ptype = strdup(d->protocol_type);
        proto = strdup(d->protocol);
        nmembers = d->member_cnt;
        for (size_t m = 0; m < d->member_cnt; m++) {
            const sl_group_member *mb = &d->members[m];
            for (size_t k = 0; k < mb->assignment_cnt; k++) {
                struct row *r = row_get(&rs, mb->assignment[k].topic, mb->assignment[k].partition);
                if (r && !r->member) {
                    r->member = strdup(mb->member_id);
                    r->client_id = strdup(mb->client_id);
                    r->host = strdup(mb->client_host);
                }
            }
        }
    } else if (cli_exit_of(de) != CLI_EXIT_UNSUPPORTED) {
        code = cli_err(cmd, de, group);
        goto out;
    }
    /* 2. committed offsets (OffsetFetch) */
    const sl_topic_partition *cp;
    size_t ncp;
    sl_err e = sl_admin_committed(a, group, net.timeout_ms, &cp, &ncp);
    if (e) {
        code = cli_err(cmd, e, group);
        goto out;
    }
    for (size_t i = 0; i < ncp; i++) {
        struct row *r = row_get(&rs, cp[i].topic, cp[i].partition);
        if (r)
            r->committed = cp[i].err ? -1 : cp[i].offset < 0 ? -1 : cp[i].offset;
    }
    if (de && rs.n == 0) {
        code = cli_fail(cmd,
                        "group %s: no committed offsets (and the broker cannot describe "
                        "groups: %s)",
                        group, sl_err2name(de));
        goto out;
    }
    if (!de && strcmp(state, "Dead") == 0 && rs.n == 0) {
        code = cli_fail(cmd, "group %s does not exist", group);
        goto out;
    }
    /* 3. log end offsets (ListOffsets), for the lag */
    sl_topic_partition *ends = calloc(rs.n + 1, sizeof(*ends));
    if (!ends) {
        code = cli_fail(cmd, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < rs.n; i++)
        ends[i] = (sl_topic_partition){rs.v[i].topic, rs.v[i].partition, SL_OFFSET_END, NULL, 0, 0};
    e = sl_admin_list_offsets(a, ends, rs.n, net.timeout_ms);
    for (size_t i = 0; !e && i < rs.n; i++)
        rs.v[i].end = ends[i].err ? -1 : ends[i].offset;
    free(ends);
    if (e)
        fprintf(stderr, "splicelog group describe: end offsets not available: %s\n", sl_err2str(e));
    qsort(rs.v, rs.n, sizeof(*rs.v), cmp_row);

    if (net.json) {
        printf("{\"group\":");
        cli_json_str(stdout, group);
        printf(",\"state\":");
        cli_json_str(stdout, state);
        printf(",\"protocol_type\":");
        cli_json_str(stdout, ptype);
        printf(",\"protocol\":");
        cli_json_str(stdout, proto);
        if (de)
            printf(",\"members\":null");
        else
            printf(",\"members\":%zu", nmembers);
        printf(",\"partitions\":[");
        for (size_t i = 0; i < rs.n; i++) {
            const struct row *r = &rs.v[i];
            printf("%s{\"topic\":", i ? "," : "");
            cli_json_str(stdout, r->topic);
            printf(",\"partition\":%d,\"committed\":", r->partition);
            if (r->committed >= 0)
                printf("%lld", (long long)r->committed);
            else
                printf("null");
            printf(",\"end_offset\":");
            if (r->end >= 0)
                printf("%lld", (long long)r->end);
            else
                printf("null");
            printf(",\"lag\":");
            if (r->end >= 0)
                printf("%lld", (long long)(r->end - (r->committed >= 0 ? r->committed : 0)));
            else
                printf("null");
            printf(",\"member\":");
            cli_json_str(stdout, r->member);
            printf(",\"client_id\":");
            cli_json_str(stdout, r->client_id);
            printf(",\"host\":");
            cli_json_str(stdout, r->host);
            fputc('}', stdout);
        }
        printf("]}\n");
    } else {
        if (de)
            printf("group %s: state unknown (the broker cannot describe groups: %s)\n", group,
                   sl_err2name(de));
        else
            printf("group %s: %s, protocol %s%s%s, %zu member(s)\n", group, state,
                   *ptype ? ptype : "-", *proto ? "/" : "", proto, nmembers);
        static const char *const hdr[] = {"TOPIC", "PARTITION", "COMMITTED", "END-OFFSET",
                                          "LAG",   "MEMBER",    "CLIENT-ID", "HOST"};
        struct cli_table *t = cli_table_new(8, hdr);
        int64_t total = 0;
        for (size_t i = 0; i < rs.n; i++) {
            const struct row *r = &rs.v[i];
            int64_t lag = r->end >= 0 ? r->end - (r->committed >= 0 ? r->committed : 0) : -1;
            if (lag > 0)
                total += lag;
            const char *row[] = {r->topic,
                                 cli_fmt("%d", r->partition),
                                 r->committed >= 0 ? cli_fmt("%lld", (long long)r->committed) : "-",
                                 r->end >= 0 ? cli_fmt("%lld", (long long)r->end) : "-",
                                 lag >= 0 ? cli_fmt("%lld", (long long)lag) : "-",
                                 r->member ? r->member : "-",
                                 r->client_id ? r->client_id : "-",
                                 r->host ? r->host : "-"};
            cli_table_row(t, row);
        }
        cli_table_print(t, stdout);
        cli_table_free(t);
        printf("total lag: %lld\n", (long long)total);
    }
out:
    free(state);
    free(ptype);
    free(proto);
    rows_free(&rs);
    sl_admin_free(a);
    return code;
}

int cli_group_delete(const struct cli_cmd *cmd, int argc, char **argv)
{
    return cli_admin_delete(cmd, argc, argv, sl_admin_delete_groups, "deleted group", false);
}

int cli_group_seek(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    const char *group, *topic, *part_s, *earliest, *latest, *ts_s, *off_s, *dry;
    const struct cli_opt opts[] = {{"topic", &topic, true, false},
                                   {"partition", &part_s, false, false},
                                   {"to-earliest", &earliest, false, true},
                                   {"to-latest", &latest, false, true},
                                   {"to-timestamp", &ts_s, false, false},
                                   {"to-offset", &off_s, false, false},
                                   {"dry-run", &dry, false, true},
                                   CLI_NET_OPTS(&net),
                                   {NULL, NULL, false, false}};
    int npos;
    if (!cli_parse(cmd, argc, argv, opts, &group, 1, &npos))
        return CLI_EXIT_USAGE;
    if (npos != 1 || (!!earliest + !!latest + !!ts_s + !!off_s) != 1) {
        cli_fail(cmd, "give the group and exactly one of --to-earliest, --to-latest, "
                      "--to-timestamp, --to-offset");
        return cli_usage(cmd);
    }
    int64_t part = -1, ts = 0, off = 0;
    if (part_s && !cli_int(part_s, 0, INT32_MAX, &part))
        return cli_fail(cmd, "--partition must be a partition number"), CLI_EXIT_USAGE;
    if (ts_s && !cli_int(ts_s, 0, INT64_MAX, &ts))
        return cli_fail(cmd, "--to-timestamp must be ms since the epoch"), CLI_EXIT_USAGE;
    if (off_s && !cli_int(off_s, 0, INT64_MAX, &off))
        return cli_fail(cmd, "--to-offset must be an offset (>= 0)"), CLI_EXIT_USAGE;
    sl_admin *a = cli_admin(cmd, &net);
    if (!a)
        return CLI_EXIT_USAGE;
    int code = CLI_EXIT_OK;
    sl_topic_partition *tp = NULL, *lo = NULL, *hi = NULL;
    size_t n = 0;
    sl_metadata *md = NULL;
    sl_err e = sl_admin_metadata(a, topic, net.timeout_ms, &md);
    if (!e && (md->topic_cnt != 1 || md->topics[0].err))
        e = md->topic_cnt == 1 ? md->topics[0].err : SL_ERR__BAD_MSG;
    if (e) {
        code = cli_err(cmd, e, topic);
        goto out;
    }
    const sl_metadata_topic *t = &md->topics[0];
    tp = calloc((size_t)t->partition_cnt + 1, sizeof(*tp));
    lo = calloc((size_t)t->partition_cnt + 1, sizeof(*lo));
    hi = calloc((size_t)t->partition_cnt + 1, sizeof(*hi));
    if (!tp || !lo || !hi) {
        code = cli_fail(cmd, "out of memory");
        goto out;
    }
    for (int32_t i = 0; i < t->partition_cnt; i++) {
        if (part >= 0 && t->partitions[i].id != part)
            continue;
        lo[n] = (sl_topic_partition){topic, t->partitions[i].id, SL_OFFSET_BEGINNING, NULL, 0, 0};
        hi[n] = (sl_topic_partition){topic, t->partitions[i].id, SL_OFFSET_END, NULL, 0, 0};
        tp[n] = (sl_topic_partition){
            topic, t->partitions[i].id, ts_s ? ts : SL_OFFSET_BEGINNING, NULL, 0, 0};
        n++;
    }
    if (n == 0) {
        code = cli_fail(cmd, "topic %s has no partition %lld", topic, (long long)part);
        goto out;
    }
    /* the range of each partition, then the target (timestamps: the first offset at or after) */
    e = sl_admin_list_offsets(a, lo, n, net.timeout_ms);
    if (!e)
        e = sl_admin_list_offsets(a, hi, n, net.timeout_ms);
    if (!e && ts_s)
        e = sl_admin_list_offsets(a, tp, n, net.timeout_ms);
    for (size_t i = 0; !e && i < n; i++)
        e = lo[i].err ? lo[i].err : hi[i].err ? hi[i].err : tp[i].err;
    if (e) {
        code = cli_err(cmd, e, "offsets");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t target = earliest ? lo[i].offset
                         : latest ? hi[i].offset
                         : ts_s   ? (tp[i].offset >= 0 ? tp[i].offset : hi[i].offset)
                                  : off;
        if (target < lo[i].offset)
            target = lo[i].offset; /* as Kafka's tool: clamped into the log */
        if (target > hi[i].offset)
            target = hi[i].offset;
        tp[i].offset = target;
        tp[i].err = SL_ERR_NO_ERROR;
    }
    if (!dry) {
        e = sl_admin_commit(a, group, tp, n, net.timeout_ms);
        if (e && cli_exit_of(e) != CLI_EXIT_FAILED) {
            code = cli_err(cmd, e, group);
            goto out;
        }
    }
    if (net.json) {
        fputc('[', stdout);
        for (size_t i = 0; i < n; i++) {
            printf("%s{\"topic\":", i ? "," : "");
            cli_json_str(stdout, topic);
            printf(",\"partition\":%d,\"offset\":%lld,\"error\":", tp[i].partition,
                   (long long)tp[i].offset);
            cli_json_str(stdout, tp[i].err ? sl_err2name(tp[i].err) : NULL);
            fputc('}', stdout);
        }
        printf("]\n");
    } else {
        static const char *const hdr[] = {"TOPIC", "PARTITION", "NEW-OFFSET", "RESULT"};
        struct cli_table *tb = cli_table_new(4, hdr);
        for (size_t i = 0; i < n; i++) {
            const char *row[] = {topic, cli_fmt("%d", tp[i].partition),
                                 cli_fmt("%lld", (long long)tp[i].offset),
                                 dry         ? "dry run"
                                 : tp[i].err ? sl_err2name(tp[i].err)
                                             : "committed"};
            cli_table_row(tb, row);
        }
        cli_table_print(tb, stdout);
        cli_table_free(tb);
    }
    for (size_t i = 0; !dry && i < n; i++)
        if (tp[i].err) {
            code = cli_fail(cmd, "group %s: %s-%d: %s (%s)%s", group, topic, tp[i].partition,
                            sl_err2str(tp[i].err), sl_err2name(tp[i].err),
                            tp[i].err == SL_ERR_UNKNOWN_MEMBER_ID
                                ? ": the group has members (stop its consumers first)"
                                : "");
            break;
        }
out:
    free(tp);
    free(lo);
    free(hi);
    sl_metadata_free(md);
    sl_admin_free(a);
    return code;
}
