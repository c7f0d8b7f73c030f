/*
 * cli_data — `splicelog produce` and `splicelog consume`, for quick tests: one record per line
 * of stdin, one record per line of stdout (raw value, or KEY<SEP>VALUE; --json: one JSON object
 * per record, JSON Lines), through libsplicelog's producer and consumer.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* ---- produce -------------------------------------------------------------------------------- */

struct prod_state {
    long delivered, failed;
    sl_err first_err;
};

static void on_delivery(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    struct prod_state *st = opaque;
    if (dr->err) {
        st->failed++;
        if (!st->first_err)
            st->first_err = dr->err;
    } else {
        st->delivered++;
    }
}

int cli_produce(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    const char *topic, *part_s, *sep, *acks;
    const struct cli_opt opts[] = {{"partition", &part_s, false, false},
                                   {"key-separator", &sep, false, false},
                                   {"acks", &acks, false, false},
                                   CLI_NET_OPTS(&net),
                                   {NULL, NULL, false, false}};
    int npos;
    if (!cli_parse(cmd, argc, argv, opts, &topic, 1, &npos))
        return CLI_EXIT_USAGE;
    if (npos != 1 || (sep && !*sep))
        return cli_usage(cmd);
    int64_t part = SL_PARTITION_ANY;
    if (part_s && !cli_int(part_s, 0, INT32_MAX, &part))
        return cli_fail(cmd, "--partition must be a partition number"), CLI_EXIT_USAGE;
    sl_conf *conf = cli_net_conf(cmd, &net);
    if (!conf)
        return CLI_EXIT_USAGE;
    struct prod_state st = {0};
    char errstr[256];
    if (acks && sl_conf_set(conf, "acks", acks, errstr, sizeof errstr)) {
        sl_conf_free(conf);
        return cli_fail(cmd, "--acks: %s", errstr), CLI_EXIT_USAGE;
    }
    char tmo[32];
    snprintf(tmo, sizeof tmo, "%d", net.timeout_ms);
    sl_conf_set(conf, "message.timeout.ms", tmo, NULL, 0);
    sl_conf_set_delivery_cb(conf, on_delivery);
    sl_conf_set_opaque(conf, &st);
    sl_producer *p = sl_producer_new(conf, errstr, sizeof errstr);
    if (!p)
        return cli_fail(cmd, "%s", errstr);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int code = CLI_EXIT_OK;
    long sent = 0;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = 0;
        const char *key = NULL, *val = line;
        size_t klen = 0, vlen = (size_t)len;
        if (sep) {
            char *s = strstr(line, sep);
            if (s) {
                key = line;
                klen = (size_t)(s - line);
                val = s + strlen(sep);
                vlen = (size_t)len - klen - strlen(sep);
            }
        }
        sl_err e;
        while ((e = sl_produce(p, topic, (int32_t)part, key, klen, val, vlen, NULL, 0, 0, NULL)) ==
               SL_ERR__QUEUE_FULL)
            sl_poll(p, 100);
        if (e) {
            code = cli_err(cmd, e, topic);
            break;
        }
        sent++;
        sl_poll(p, 0);
    }
    free(line);
    if (sl_flush(p, net.timeout_ms + 1000) != SL_ERR_NO_ERROR && code == CLI_EXIT_OK) {
        cli_fail(cmd, "%zu record(s) not delivered in time", sl_outq_len(p));
        code = CLI_EXIT_UNREACHABLE;
    }
    sl_producer_free(p);
    if (net.json) {
        printf("{\"topic\":");
        cli_json_str(stdout, topic);
        printf(",\"produced\":%ld,\"failed\":%ld}\n", st.delivered, sent - st.delivered);
    } else
        printf("%ld record(s) produced to %s\n", st.delivered, topic);
    if (st.failed && code == CLI_EXIT_OK)
        code = cli_err(cmd, st.first_err, cli_fmt("%ld record(s) failed", st.failed));
    return code;
}

/* ---- consume -------------------------------------------------------------------------------- */

static void print_record(const struct cli_net *net, const char *sep, const sl_record *r)
{
    if (net->json) {
        printf("{\"topic\":");
        cli_json_str(stdout, r->topic);
        printf(",\"partition\":%d,\"offset\":%lld,\"timestamp\":%lld,\"key\":", r->partition,
               (long long)r->offset, (long long)r->timestamp);
        if (r->key)
            cli_json_strn(stdout, r->key, r->key_len);
        else
            printf("null");
        printf(",\"value\":");
        if (r->value)
            cli_json_strn(stdout, r->value, r->value_len);
        else
            printf("null");
        printf("}\n");
        return;
    }
    if (sep) {
        if (r->key)
            fwrite(r->key, 1, r->key_len, stdout);
        fputs(sep, stdout);
    }
    if (r->value)
        fwrite(r->value, 1, r->value_len, stdout);
    fputc('\n', stdout);
}

/* A partition that reached its end (enable.partition.eof), for the stop rule. */
struct eofs {
    char topic[256];
    int32_t parts[4096];
    int n;
};

static void eof_add(struct eofs *e, int32_t p)
{
    for (int i = 0; i < e->n; i++)
        if (e->parts[i] == p)
            return;
    if (e->n < (int)(sizeof e->parts / sizeof e->parts[0]))
        e->parts[e->n++] = p;
}

int cli_consume(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_net net;
    const char *topic, *part_s, *from, *count_s, *group, *follow, *sep;
    const struct cli_opt opts[] = {{"partition", &part_s, false, false},
                                   {"from", &from, false, false},
                                   {"count", &count_s, false, false},
                                   {"group", &group, false, false},
                                   {"follow", &follow, false, true},
                                   {"key-separator", &sep, false, false},
                                   CLI_NET_OPTS(&net),
                                   {NULL, NULL, false, false}};
    int npos;
    if (!cli_parse(cmd, argc, argv, opts, &topic, 1, &npos))
        return CLI_EXIT_USAGE;
    if (npos != 1 || strlen(topic) >= 256)
        return cli_usage(cmd);
    int64_t part = -1, count = -1, start = SL_OFFSET_BEGINNING;
    if (part_s && !cli_int(part_s, 0, 4095, &part))
        return cli_fail(cmd, "--partition must be 0 to 4095"), CLI_EXIT_USAGE;
    if (count_s && !cli_int(count_s, 1, INT64_MAX, &count))
        return cli_fail(cmd, "--count must be a positive number"), CLI_EXIT_USAGE;
    if (from && strcmp(from, "beginning") == 0)
        start = SL_OFFSET_BEGINNING;
    else if (from && strcmp(from, "end") == 0)
        start = SL_OFFSET_END;
    else if (from && !cli_int(from, 0, INT64_MAX, &start))
        return cli_fail(cmd, "--from must be beginning, end or an offset"), CLI_EXIT_USAGE;
    if (group && (part_s || (from && start >= 0)))
        return cli_fail(cmd, "--group takes no --partition or --from OFFSET (the group assigns "
                             "partitions and keeps the offsets)"),
               CLI_EXIT_USAGE;
    sl_conf *conf = cli_net_conf(cmd, &net);
    if (!conf)
        return CLI_EXIT_USAGE;
    sl_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
    sl_conf_set(conf, "auto.offset.reset", start == SL_OFFSET_END ? "latest" : "earliest", NULL, 0);
    if (group && sl_conf_set(conf, "group.id", group, NULL, 0)) {
        sl_conf_free(conf);
        return cli_fail(cmd, "bad --group"), CLI_EXIT_USAGE;
    }
    char errstr[256];
    sl_consumer *c = sl_consumer_new(conf, errstr, sizeof errstr);
    if (!c)
        return cli_fail(cmd, "%s", errstr);
    int code = CLI_EXIT_OK;
    int nparts = 0;
    sl_err e = SL_ERR_NO_ERROR;
    if (group) {
        e = sl_consumer_subscribe(c, &topic, 1);
    } else {
        sl_metadata *md = NULL;
        e = sl_consumer_metadata(c, topic, net.timeout_ms, &md);
        if (!e && (md->topic_cnt != 1 || md->topics[0].err))
            e = md->topic_cnt == 1 ? md->topics[0].err : SL_ERR__BAD_MSG;
        for (int32_t i = 0; !e && i < md->topics[0].partition_cnt; i++) {
            int32_t id = md->topics[0].partitions[i].id;
            if (part >= 0 && id != part)
                continue;
            e = sl_consumer_assign(c, topic, id, start);
            nparts++;
        }
        if (!e && nparts == 0)
            e = SL_ERR__UNKNOWN_PARTITION;
        if (md)
            sl_metadata_free(md);
    }
    if (e) {
        code = cli_err(cmd, e, topic);
        sl_consumer_free(c);
        return code;
    }
    static struct eofs eof;
    memset(&eof, 0, sizeof eof);
    int64_t got = 0;
    int idle_ms = 0;
    while (count < 0 || got < count) {
        sl_record r;
        e = sl_consumer_poll(c, 100, &r);
        if (e == SL_ERR__TIMED_OUT) {
            idle_ms += 100;
            if (!follow && idle_ms >= net.timeout_ms)
                break;
            continue;
        }
        idle_ms = 0;
        if (e == SL_ERR__PARTITION_EOF) {
            eof_add(&eof, r.partition);
            if (group)
                nparts = (int)sl_consumer_assignment(c, NULL, 0);
            if (!follow && count < 0 && nparts > 0 && eof.n >= nparts)
                break;
            continue;
        }
        if (e) {
            code = cli_err(cmd, e, cli_fmt("%s-%d", r.topic ? r.topic : topic, r.partition));
            break;
        }
        /* a record after an EOF: that partition is no longer at its end */
        for (int i = 0; i < eof.n; i++)
            if (eof.parts[i] == r.partition)
                eof.parts[i] = eof.parts[--eof.n];
        print_record(&net, sep, &r);
        if (follow)
            fflush(stdout); /* a pipe reader sees each record as it comes */
        got++;
    }
    fflush(stdout);
    if (group)
        sl_consumer_close(c);
    sl_consumer_free(c);
    if (code == CLI_EXIT_OK && count > 0 && got < count) {
        cli_fail(cmd, "%lld of %lld record(s) within %d ms", (long long)got, (long long)count,
                 net.timeout_ms);
        code = CLI_EXIT_FAILED;
    }
    return code;
}
