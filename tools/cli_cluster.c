/*
 * cli_cluster — `splicelog cluster info|log-dirs`: the cluster's id, controller and brokers
 * (DescribeCluster, or Metadata from a broker without it), and each broker's log directories
 * with the size of every partition (DescribeLogDirs).
 */
#include "cli.h"

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
