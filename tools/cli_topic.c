/*
 * cli_topic — `splicelog topic create|list|describe|delete|add-partitions|alter-config`, on the
 * admin handle of libsplicelog (splicelog.h, "admin").
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CONFIGS 64

/*
 * Splits "k=v,k=v" into kvs (at most max; the string is modified). A piece without '=' belongs to
 * the value before it, so a list value survives: "cleanup.policy=compact,delete". Returns the
 * count, or -1 when a key is empty or there are too many.
 */
static int split_kvs(char *s, sl_config_kv *kvs, int max)
{
    int n = 0;
    for (char *p = s; p && *p;) {
        char *comma = strchr(p, ',');
        while (comma) {
            char *next = comma + 1;
            char *eq = strchr(next, '=');
            char *nc = strchr(next, ',');
            if (eq && (!nc || eq < nc))
                break; /* the next piece is a key=value of its own */
            comma = nc;
        }
        if (comma)
            *comma = 0;
        char *eq = strchr(p, '=');
        if (!eq || eq == p || n == max)
            return -1;
        *eq = 0;
        kvs[n].name = p;
        kvs[n].value = eq + 1;
        n++;
        p = comma ? comma + 1 : NULL;
    }
    return n;
}

int cli_topic_create(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    const char *parts_s, *rf_s, *configs_s, *validate, *name;
    const struct cli_opt opts[] = {{"partitions", &parts_s, false, false},
                                   {"replication-factor", &rf_s, false, false},
                                   {"config", &configs_s, false, false},
                                   {"validate-only", &validate, false, true},
                                   CLI_NET_OPTS(&net),
                                   {NULL, NULL, false, false}};
    int npos;
    if (!cli_parse(cmd, argc, argv, opts, &name, 1, &npos))
        return CLI_EXIT_USAGE;
    if (npos != 1)
        return cli_usage(cmd);
    int64_t parts = -1, rf = -1;
    if (parts_s && !cli_int(parts_s, 1, 1000000, &parts))
        return cli_fail(cmd, "--partitions must be 1 to 1000000"), CLI_EXIT_USAGE;
    if (rf_s && !cli_int(rf_s, 1, 32767, &rf))
        return cli_fail(cmd, "--replication-factor must be 1 to 32767"), CLI_EXIT_USAGE;
    sl_config_kv kvs[MAX_CONFIGS];
    int nkv = 0;
    char *cfg = configs_s ? strdup(configs_s) : NULL;
    if (configs_s && (!cfg || (nkv = split_kvs(cfg, kvs, MAX_CONFIGS)) < 0)) {
        free(cfg);
        cli_fail(cmd, "--config must be K=V[,K=V...] (at most %d)", MAX_CONFIGS);
        return CLI_EXIT_USAGE;
    }
    sl_admin *a = cli_admin(cmd, &net);
    if (!a) {
        free(cfg);
        return CLI_EXIT_USAGE;
    }
    sl_new_topic t = {name, (int32_t)parts, (int16_t)rf, kvs, (size_t)nkv};
    const sl_admin_result *r;
    sl_err e = sl_admin_create_topics(a, &t, 1, validate != NULL, net.timeout_ms, &r);
    int code =
        e ? cli_err(cmd, e, name)
          : cli_print_results(cmd, &net, r, 1,
                              validate ? "valid (nothing created): topic" : "created topic", true);
    sl_admin_free(a);
    free(cfg);
    return code;
}

static int cmp_topic(const void *x, const void *y)
{
    const sl_metadata_topic *a = *(const sl_metadata_topic *const *)x;
    const sl_metadata_topic *b = *(const sl_metadata_topic *const *)y;
    return strcmp(a->topic, b->topic);
}

int cli_topic_list(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    sl_admin *a = cli_admin_parse(cmd, argc, argv, &net, NULL, 0, 0, NULL);
    if (!a)
        return CLI_EXIT_USAGE;
    sl_metadata *md;
    sl_err e = sl_admin_metadata(a, NULL, net.timeout_ms, &md);
    if (e) {
        sl_admin_free(a);
        return cli_err(cmd, e, "metadata");
    }
    const sl_metadata_topic **ts = calloc((size_t)md->topic_cnt + 1, sizeof(*ts));
    if (!ts) {
        sl_metadata_free(md);
        sl_admin_free(a);
        return cli_fail(cmd, "out of memory");
    }
    for (int32_t i = 0; i < md->topic_cnt; i++)
        ts[i] = &md->topics[i];
    qsort(ts, (size_t)md->topic_cnt, sizeof(*ts), cmp_topic);
    if (net.json) {
        fputc('[', stdout);
        for (int32_t i = 0; i < md->topic_cnt; i++) {
            printf("%s{\"topic\":", i ? "," : "");
            cli_json_str(stdout, ts[i]->topic);
            printf(",\"partitions\":%d}", ts[i]->partition_cnt);
        }
        printf("]\n");
    } else {
        static const char *const hdr[] = {"TOPIC", "PARTITIONS"};
        struct cli_table *t = cli_table_new(2, hdr);
        for (int32_t i = 0; i < md->topic_cnt; i++) {
            const char *row[] = {ts[i]->topic, cli_fmt("%d", ts[i]->partition_cnt)};
            cli_table_row(t, row);
        }
        cli_table_print(t, stdout);
        cli_table_free(t);
    }
    free(ts);
    sl_metadata_free(md);
    sl_admin_free(a);
    return CLI_EXIT_OK;
}

static void json_ints(const int32_t *v, int32_t n)
{
    fputc('[', stdout);
    for (int32_t i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", v[i]);
    fputc(']', stdout);
}

static const char *ints_text(const int32_t *v, int32_t n)
{
    static char b[256];
    size_t k = 0;
    b[0] = 0;
    for (int32_t i = 0; i < n && k + 16 < sizeof b; i++)
        k += (size_t)snprintf(b + k, sizeof b - k, "%s%d", i ? "," : "", v[i]);
    return cli_fmt("%s", b);
}

int cli_topic_describe(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    const char *name;
    sl_admin *a = cli_admin_parse(cmd, argc, argv, &net, &name, 1, 1, NULL);
    if (!a)
        return CLI_EXIT_USAGE;
    sl_metadata *md = NULL;
    int code = CLI_EXIT_OK;
    sl_err e = sl_admin_metadata(a, name, net.timeout_ms, &md);
    const sl_metadata_topic *t = NULL;
    if (e)
        code = cli_err(cmd, e, name);
    else if (md->topic_cnt != 1 || strcmp(md->topics[0].topic, name) != 0)
        code = cli_err(cmd, SL_ERR__BAD_MSG, name);
    else if (md->topics[0].err)
        code = cli_err(cmd, md->topics[0].err, name);
    else
        t = &md->topics[0];
    if (!t) {
        sl_metadata_free(md);
        sl_admin_free(a);
        return code;
    }
    /* log start and end offsets: two ListOffsets rounds */
    int32_t np = t->partition_cnt;
    sl_topic_partition *lo = calloc((size_t)np + 1, sizeof(*lo));
    sl_topic_partition *hi = calloc((size_t)np + 1, sizeof(*hi));
    if (!lo || !hi) {
        free(lo);
        free(hi);
        sl_metadata_free(md);
        sl_admin_free(a);
        return cli_fail(cmd, "out of memory");
    }
    for (int32_t i = 0; i < np; i++) {
        lo[i] = (sl_topic_partition){name, t->partitions[i].id, SL_OFFSET_BEGINNING, NULL, 0, 0};
        hi[i] = (sl_topic_partition){name, t->partitions[i].id, SL_OFFSET_END, NULL, 0, 0};
    }
    sl_err elo = sl_admin_list_offsets(a, lo, (size_t)np, net.timeout_ms);
    sl_err ehi = elo ? elo : sl_admin_list_offsets(a, hi, (size_t)np, net.timeout_ms);
    if (ehi) {
        fprintf(stderr, "splicelog topic describe: offsets not available: %s\n", sl_err2str(ehi));
        for (int32_t i = 0; i < np; i++)
            lo[i].offset = hi[i].offset = -1;
    }
    if (net.json) {
        printf("{\"topic\":");
        cli_json_str(stdout, name);
        printf(",\"partitions\":[");
        for (int32_t i = 0; i < np; i++) {
            const sl_metadata_partition *p = &t->partitions[i];
            printf("%s{\"partition\":%d,\"leader\":%d,\"replicas\":", i ? "," : "", p->id,
                   p->leader);
            json_ints(p->replicas, p->replica_cnt);
            printf(",\"isr\":");
            json_ints(p->isrs, p->isr_cnt);
            printf(",\"log_start_offset\":%lld,\"end_offset\":%lld}",
                   (long long)(lo[i].err ? -1 : lo[i].offset),
                   (long long)(hi[i].err ? -1 : hi[i].offset));
        }
        printf("]");
    } else {
        printf("topic %s: %d partition(s)\n", name, np);
        static const char *const hdr[] = {"PARTITION", "LEADER",    "REPLICAS",
                                          "ISR",       "LOG-START", "END-OFFSET"};
        struct cli_table *tb = cli_table_new(6, hdr);
        for (int32_t i = 0; i < np; i++) {
            const sl_metadata_partition *p = &t->partitions[i];
            const char *row[] = {cli_fmt("%d", p->id),
                                 cli_fmt("%d", p->leader),
                                 ints_text(p->replicas, p->replica_cnt),
                                 ints_text(p->isrs, p->isr_cnt),
                                 lo[i].err ? "-" : cli_fmt("%lld", (long long)lo[i].offset),
                                 hi[i].err ? "-" : cli_fmt("%lld", (long long)hi[i].offset)};
            cli_table_row(tb, row);
        }
        cli_table_print(tb, stdout);
        cli_table_free(tb);
    }
    free(lo);
    free(hi);
    /* configs: where the broker offers DescribeConfigs */
    const sl_config_resource *r = NULL;
    e = sl_admin_describe_configs(a, SL_RESOURCE_TOPIC, name, NULL, 0, net.timeout_ms, &r);
    if (!e && r->err)
        e = r->err;
    if (net.json) {
        printf(",\"configs\":");
        if (e) {
            printf("null");
        } else {
            fputc('[', stdout);
            for (size_t i = 0; i < r->entry_cnt; i++) {
                const sl_config_entry *c = &r->entries[i];
                printf("%s{\"name\":", i ? "," : "");
                cli_json_str(stdout, c->name);
                printf(",\"value\":");
                cli_json_str(stdout, c->value);
                printf(",\"source\":");
                cli_json_str(stdout, sl_config_source_name(c->source));
                printf(",\"read_only\":%s,\"sensitive\":%s}", c->read_only ? "true" : "false",
                       c->is_sensitive ? "true" : "false");
            }
            fputc(']', stdout);
        }
        printf("}\n");
    } else if (e) {
        printf("configs: not available (%s)\n", sl_err2name(e));
    } else {
        printf("configs:\n");
        static const char *const hdr[] = {"NAME", "VALUE", "SOURCE"};
        struct cli_table *tb = cli_table_new(3, hdr);
        for (size_t i = 0; i < r->entry_cnt; i++) {
            const sl_config_entry *c = &r->entries[i];
            const char *row[] = {c->name,
                                 c->is_sensitive ? "(sensitive)"
                                 : c->value      ? c->value
                                                 : "(null)",
                                 sl_config_source_name(c->source)};
            cli_table_row(tb, row);
        }
        cli_table_print(tb, stdout);
        cli_table_free(tb);
    }
    sl_metadata_free(md);
    sl_admin_free(a);
    return CLI_EXIT_OK;
}

int cli_topic_delete(const struct cli_cmd *cmd, int argc, char **argv)
{
    return cli_admin_delete(cmd, argc, argv, sl_admin_delete_topics, "deleted topic", true);
}

int cli_topic_add_partitions(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    const char *name, *total_s, *validate;
    const struct cli_opt opts[] = {{"total", &total_s, true, false},
                                   {"validate-only", &validate, false, true},
                                   CLI_NET_OPTS(&net),
                                   {NULL, NULL, false, false}};
    int npos;
    if (!cli_parse(cmd, argc, argv, opts, &name, 1, &npos))
        return CLI_EXIT_USAGE;
    if (npos != 1)
        return cli_usage(cmd);
    int64_t total;
    if (!cli_int(total_s, 1, 1000000, &total))
        return cli_fail(cmd, "--total must be 1 to 1000000"), CLI_EXIT_USAGE;
    sl_admin *a = cli_admin(cmd, &net);
    if (!a)
        return CLI_EXIT_USAGE;
    sl_new_partitions p = {name, (int32_t)total};
    const sl_admin_result *r;
    sl_err e = sl_admin_create_partitions(a, &p, 1, validate != NULL, net.timeout_ms, &r);
    int code =
        e ? cli_err(cmd, e, name)
          : cli_print_results(cmd, &net, r, 1,
                              validate ? "valid (nothing changed): partitions of"
                                       : cli_fmt("%lld partition(s) now in", (long long)total),
                              true);
    sl_admin_free(a);
    return code;
}

int cli_topic_alter_config(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    const char *name, *set_s, *del_s, *validate;
    const struct cli_opt opts[] = {{"set", &set_s, false, false},
                                   {"delete", &del_s, false, false},
                                   {"validate-only", &validate, false, true},
                                   CLI_NET_OPTS(&net),
                                   {NULL, NULL, false, false}};
    int npos;
    if (!cli_parse(cmd, argc, argv, opts, &name, 1, &npos))
        return CLI_EXIT_USAGE;
    if (npos != 1 || (!set_s && !del_s))
        return cli_usage(cmd);
    sl_config_kv kvs[MAX_CONFIGS];
    sl_config_op ops[2 * MAX_CONFIGS];
    int nkv = 0, nops = 0;
    char *set = set_s ? strdup(set_s) : NULL;
    char *del = del_s ? strdup(del_s) : NULL;
    if ((set_s && (!set || (nkv = split_kvs(set, kvs, MAX_CONFIGS)) < 0)) || (del_s && !del)) {
        free(set);
        free(del);
        cli_fail(cmd, "--set must be K=V[,K=V...] (at most %d)", MAX_CONFIGS);
        return CLI_EXIT_USAGE;
    }
    for (int i = 0; i < nkv; i++)
        ops[nops++] = (sl_config_op){kvs[i].name, kvs[i].value, SL_CONFIG_OP_SET};
    for (char *p = del, *save = NULL, *k; p && (k = strtok_r(p, ",", &save)); p = NULL)
        if (nops < 2 * MAX_CONFIGS)
            ops[nops++] = (sl_config_op){k, NULL, SL_CONFIG_OP_DELETE};
    int code = CLI_EXIT_OK;
    sl_admin *a = cli_admin(cmd, &net);
    if (!a) {
        code = CLI_EXIT_USAGE;
    } else {
        const char *msg = "";
        sl_err e = sl_admin_incremental_alter_configs(a, SL_RESOURCE_TOPIC, name, ops, (size_t)nops,
                                                      validate != NULL, net.timeout_ms, &msg);
        if (net.json) {
            printf("{\"name\":");
            cli_json_str(stdout, name);
            printf(",\"error\":");
            cli_json_str(stdout, e ? sl_err2name(e) : NULL);
            printf(",\"message\":");
            cli_json_str(stdout, msg);
            printf("}\n");
        } else if (!e) {
            printf("%s configs of topic %s: %d set, %d deleted\n",
                   validate ? "valid (nothing changed):" : "changed", name, nkv, nops - nkv);
        }
        if (e) {
            code = cli_err(cmd, e, name);
            if (*msg)
                fprintf(stderr, "splicelog topic alter-config: %s\n", msg);
        }
        sl_admin_free(a);
    }
    free(set);
    free(del);
    return code;
}
