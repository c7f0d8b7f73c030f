/*
 * cli_cluster — `splicelog cluster info|log-dirs|elect`: the cluster's id, controller and
 * brokers (DescribeCluster, or Metadata from a broker without it), each broker's log
 * directories with the size of every partition (DescribeLogDirs), and the preferred-replica
 * election of partitions (ElectLeaders, sent to the controller, as kafka-leader-election.sh
 * --election-type preferred).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_cluster_info(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    sl_admin *a = cli_admin_parse(cmd, argc, argv, &net, NULL, 0, 0, NULL);
    if (!a)
        return CLI_EXIT_USAGE;
    const sl_cluster *c;
    sl_err e = sl_admin_describe_cluster(a, net.timeout_ms, &c);
    if (e) {
        sl_admin_free(a);
        return cli_err(cmd, e, "describe cluster");
    }
    if (net.json) {
        printf("{\"cluster_id\":");
        cli_json_str(stdout, c->cluster_id);
        printf(",\"controller\":%d,\"brokers\":[", c->controller_id);
        for (size_t i = 0; i < c->broker_cnt; i++) {
            printf("%s{\"id\":%d,\"host\":", i ? "," : "", c->brokers[i].id);
            cli_json_str(stdout, c->brokers[i].host);
            printf(",\"port\":%d}", c->brokers[i].port);
        }
        printf("]}\n");
    } else {
        printf("cluster id: %s\ncontroller: %d\n", *c->cluster_id ? c->cluster_id : "(none)",
               c->controller_id);
        static const char *const hdr[] = {"BROKER", "HOST", "PORT"};
        struct cli_table *t = cli_table_new(3, hdr);
        for (size_t i = 0; i < c->broker_cnt; i++) {
            const char *row[] = {cli_fmt("%d", c->brokers[i].id), c->brokers[i].host,
                                 cli_fmt("%d", c->brokers[i].port)};
            cli_table_row(t, row);
        }
        cli_table_print(t, stdout);
        cli_table_free(t);
    }
    sl_admin_free(a);
    return CLI_EXIT_OK;
}

int cli_cluster_log_dirs(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    sl_admin *a = cli_admin_parse(cmd, argc, argv, &net, NULL, 0, 0, NULL);
    if (!a)
        return CLI_EXIT_USAGE;
    const sl_log_dir *ds;
    size_t n;
    sl_err e = sl_admin_describe_log_dirs(a, net.timeout_ms, &ds, &n);
    if (e) {
        sl_admin_free(a);
        return cli_err(cmd, e, "describe log dirs");
    }
    int code = CLI_EXIT_OK;
    if (net.json) {
        fputc('[', stdout);
        for (size_t i = 0; i < n; i++) {
            printf("%s{\"broker\":%d,\"path\":", i ? "," : "", ds[i].broker);
            cli_json_str(stdout, ds[i].path);
            printf(",\"error\":");
            cli_json_str(stdout, ds[i].err ? sl_err2name(ds[i].err) : NULL);
            printf(",\"total_bytes\":%lld,\"usable_bytes\":%lld,\"partitions\":[",
                   (long long)ds[i].total_bytes, (long long)ds[i].usable_bytes);
            for (size_t k = 0; k < ds[i].partition_cnt; k++) {
                const sl_log_dir_partition *p = &ds[i].partitions[k];
                printf("%s{\"topic\":", k ? "," : "");
                cli_json_str(stdout, p->topic);
                printf(",\"partition\":%d,\"size\":%lld,\"offset_lag\":%lld}", p->partition,
                       (long long)p->size, (long long)p->offset_lag);
            }
            printf("]}");
        }
        printf("]\n");
    } else {
        static const char *const hdr[] = {"BROKER", "DIR", "TOPIC", "PARTITION", "SIZE"};
        struct cli_table *t = cli_table_new(5, hdr);
        for (size_t i = 0; i < n; i++) {
            if (ds[i].err || ds[i].partition_cnt == 0) {
                const char *row[] = {cli_fmt("%d", ds[i].broker), ds[i].path,
                                     ds[i].err ? sl_err2name(ds[i].err) : "-", "-", "-"};
                cli_table_row(t, row);
            }
            for (size_t k = 0; k < ds[i].partition_cnt; k++) {
                const sl_log_dir_partition *p = &ds[i].partitions[k];
                const char *row[] = {cli_fmt("%d", ds[i].broker), ds[i].path, p->topic,
                                     cli_fmt("%d", p->partition),
                                     cli_fmt("%lld", (long long)p->size)};
                cli_table_row(t, row);
            }
        }
        cli_table_print(t, stdout);
        cli_table_free(t);
    }
    for (size_t i = 0; i < n; i++)
        if (ds[i].err) {
            cli_fail(cmd, "broker %d, %s: %s", ds[i].broker, ds[i].path, sl_err2str(ds[i].err));
            code = CLI_EXIT_FAILED;
        }
    sl_admin_free(a);
    return code;
}

/* The partitions of topic (Metadata) into *parts (malloc'd, topic's name borrowed). */
static int topic_parts(const struct cli_cmd *cmd, sl_admin *a, const struct cli_net *net,
                       const char *topic, sl_topic_partition **parts, size_t *n)
{
    sl_metadata *md;
    sl_err e = sl_admin_metadata(a, topic, net->timeout_ms, &md);
    if (e)
        return cli_err(cmd, e, "metadata");
    if (md->topic_cnt != 1 || md->topics[0].err) {
        sl_err te = md->topic_cnt == 1 ? md->topics[0].err : SL_ERR_UNKNOWN_TOPIC_OR_PART;
        sl_metadata_free(md);
        return cli_err(cmd, te, topic);
    }
    size_t np = (size_t)md->topics[0].partition_cnt;
    *parts = calloc(np + 1, sizeof(**parts));
    if (!*parts) {
        sl_metadata_free(md);
        return cli_fail(cmd, "out of memory");
    }
    for (size_t i = 0; i < np; i++)
        (*parts)[i] =
            (sl_topic_partition){.topic = topic, .partition = md->topics[0].partitions[i].id};
    *n = np;
    sl_metadata_free(md);
    return CLI_EXIT_OK;
}

int cli_cluster_elect(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    const char *topic = NULL, *part_s = NULL;
    const struct cli_opt opts[] = {{"topic", &topic, false, false},
                                   {"partition", &part_s, false, false},
                                   CLI_NET_OPTS(&net),
                                   {NULL, NULL, false, false}};
    if (!cli_opts(cmd, argc, argv, opts))
        return CLI_EXIT_USAGE;
    int64_t part = -1;
    if (part_s && (!topic || !cli_int(part_s, 0, INT32_MAX, &part)))
        return cli_fail(cmd, "--partition takes a partition number, with --topic"), CLI_EXIT_USAGE;
    sl_admin *a = cli_admin(cmd, &net);
    if (!a)
        return CLI_EXIT_USAGE;
    sl_topic_partition one = {.topic = topic, .partition = (int32_t)part}, *parts = NULL;
    size_t n = 0;
    if (topic && part_s) {
        parts = &one;
        n = 1;
    } else if (topic) {
        int code = topic_parts(cmd, a, &net, topic, &parts, &n);
        if (code != CLI_EXIT_OK) {
            sl_admin_free(a);
            return code;
        }
    }
    const sl_election *es;
    size_t ne;
    sl_err e = n || !topic ? sl_admin_elect_leaders(a, parts, n, net.timeout_ms, &es, &ne)
                           : SL_ERR_NO_ERROR;
    if (parts != &one)
        free(parts);
    if (e) {
        sl_admin_free(a);
        return cli_err(cmd, e, "elect leaders");
    }
    if (!n && topic)
        ne = 0; /* (a topic of no partitions) */
    int code = CLI_EXIT_OK;
    if (net.json)
        fputc('[', stdout);
    for (size_t i = 0; i < ne; i++) {
        const sl_election *x = &es[i];
        bool ok = !x->err || x->err == SL_ERR_ELECTION_NOT_NEEDED;
        if (net.json) {
            printf("%s{\"topic\":", i ? "," : "");
            cli_json_str(stdout, x->topic);
            printf(",\"partition\":%d,\"error\":", x->partition);
            cli_json_str(stdout, x->err ? sl_err2name(x->err) : NULL);
            printf("}");
        } else if (ok) {
            printf("%s %s-%d\n", x->err ? "ALREADY" : "ELECTED", x->topic, x->partition);
        }
        if (!ok) {
            cli_fail(cmd, "%s-%d: %s%s%s", x->topic, x->partition, sl_err2str(x->err),
                     x->errmsg ? ": " : "", x->errmsg ? x->errmsg : "");
            code = CLI_EXIT_FAILED;
        }
    }
    if (net.json)
        printf("]\n");
    sl_admin_free(a);
    return code;
}
