/*
 * splicelog-bench — what the broker costs and how fast it answers, measured (issues 7, 19).
 *
 *   splicelog-bench produce|consume|e2e|durable|scale|compare|overload|cluster [options]
 *
 * Subcommand dispatch and option parsing; the work is in bench/sb_*.c (see sb.h). Exit
 * status: 0 success, 1 a measurement or a correctness check failed, 2 usage error.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sb.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: splicelog-bench "
        "produce|consume|e2e|durable|scale|compare|overload|cluster|machine [options]\n"
        "\n"
        "  produce   produce records; records/s, MB/s, send->ack latency, CPU per GiB\n"
        "  consume   consume a topic from the beginning (own broker: preloaded first;\n"
        "            --bootstrap: up to each partition's high watermark)\n"
        "  e2e       producers at a fixed --rate and a consumer: latency from each record's\n"
        "            intended send time to the consumer (default 50000/s of 1 KiB for 10 s)\n"
        "  durable   e2e with acks=all and log.flush.interval.messages=1, 4 producers: latency,\n"
        "            records per fdatasync (group commit), the disk's own fdatasync latency\n"
        "  scale     broker CPU per million records and RSS per partition / per connection at\n"
        "            1, 100, 1000, 10000 partitions and connections (table, JSON, chart)\n"
        "  compare   every fetch path (splice, sendfile, copy, tls, ktls) against the\n"
        "            loopback limits: MB/s, records/s, broker and client CPU s/GiB\n"
        "  overload  paced clients (e2e at --rate, default 10000/s) alone, then beside --greedy\n"
        "            unthrottled producers: their latency quiet vs loaded, the greedy ones'\n"
        "            records/s alone vs loaded (quality of service under overload)\n"
        "  cluster   ZooKeeper + 3 brokers of its own and a single node: RF 3 acks=all vs\n"
        "            single acks=1 throughput (--count), the leader's CPU per GiB served to\n"
        "            followers (--size caught up after SIGSTOP), e2e latency with acks=all\n"
        "            (--rate, --duration), failover time after kill -9 of a leader (--rate);\n"
        "            defaults: 300000 records, 6 partitions, 256MiB, 5000/s, 5s\n"
        "  machine   the machine alone, no broker: how long a busy thread is kept off its CPU\n"
        "            (--duration, default 3s), a thread waking another across CPUs and on one\n"
        "            (--count hand-offs at --rate, default 20000 at 20000/s), page-cache writes\n"
        "            into a new file vs into pages just freed (--size, default 2GiB), and\n"
        "            fdatasync: the floor under the other modes' figures\n"
        "\n"
        "Every figure is measured --runs times and given as median [min-max]; latencies in ms\n"
        "(p50 p95 p99 p99.9 p99.99 max); CPU from the scheduler's nanosecond clock.\n"
        "\n"
        "options (sizes: 1024, 64k, 16MiB, 1G; durations: 10s, 500ms, 2m):\n"
        "  --client NAME          splicelog (libsplicelog, default) or rdkafka (librdkafka)\n"
        "  --bootstrap HOST:PORT  use this broker (any Kafka broker); default: start splicelogd\n"
        "  --broker PATH          splicelogd to start (default: next to this binary)\n"
        "  -X NAME=VALUE          a client property (repeatable), e.g. -X batch.size=65536\n"
        "  --broker-set KEY=VALUE own broker: a splicelogd setting (repeatable), e.g.\n"
        "                         --broker-set num.network.threads=1\n"
        "  --topic NAME           default splicelog-bench (e2e/durable: a prefix, -rN per run)\n"
        "  --record-size SIZE     value bytes per record, >= %d (default 1024; scale 100)\n"
        "  --count N              records (produce/consume 100000; scale 200000 per point)\n"
        "  --duration DUR         produce for this long instead of --count (e2e/durable 10s)\n"
        "  --partitions N         own broker's num.partitions; consume --bootstrap: read 0..N-1\n"
        "                         (default: all the topic has)\n"
        "  --acks 0|1|-1|all      default 1 (durable: all)\n"
        "  --linger MS            linger.ms (default 5; e2e/durable 0)\n"
        "  --rate N               records/s of all producers together (e2e 50000, durable\n"
        "                         20000; produce: paced when given)\n"
        "  --producers N          e2e/durable/cluster's e2e: producer threads, one connection\n"
        "                         each (1; durable 4)\n"
        "  --keyed                keys = sequence numbers (murmur2 partitioner); default none\n"
        "  --tls                  security.protocol=ssl (own broker: an SSL listener)\n"
        "  --ca FILE              ssl.ca.location with --bootstrap\n"
        "  --transfer PATH        own broker's fetch.transfer (auto|splice|sendfile|copy;\n"
        "                         default auto, the broker's own)\n"
        "  --runs N               measurements per figure, 1..%d (default 3; scale 1)\n"
        "  --interval DUR         a rate line on stderr this often (default 1s; 0: none)\n"
        "  --json FILE            results as JSON (- for stdout; the table then goes to stderr)\n"
        "  --plot FILE.png        compare, scale: chart (gnuplot; skipped when missing)\n"
        "  --size SIZE            compare: bytes to preload (default 1GiB); cluster: bytes\n"
        "                         the stopped followers catch up (default 256MiB)\n"
        "  --paths LIST           compare: subset of auto,splice,sendfile,copy,tls,ktls\n"
        "  --alternate            compare: the paths take turns, one pass each per round, each\n"
        "                         pass on a freshly started broker (a shared machine's load\n"
        "                         drifts across the rounds, not across the paths; the order\n"
        "                         rotates each round, so no path always goes first)\n"
        "  --partition-list LIST  scale: partition counts (default 1,100,1000,10000)\n"
        "  --connection-list LIST scale: connection counts (default 1,100,1000,10000)\n"
        "  --batch-records N      scale: records per request of the connection sweep (100)\n"
        "  --greedy N             overload: unthrottled producers, one connection each (1)\n"
        "  --greedy-client NAME   overload: their client (rdkafka when built, else splicelog)\n"
        "  --sticky N             scale: N records to each partition in turn, so that every\n"
        "                         partition count sees batches of up to N records (default 1:\n"
        "                         round-robin)\n",
        SB_VALUE_MIN, SB_MAX_RUNS);
    fprintf(f, "\nclients in this build: splicelog%s\n",
            sb_client_rdkafka.unavailable ? " (rdkafka: install librdkafka-dev and rebuild)"
                                          : ", rdkafka");
}

static int bad(const char *what, const char *arg)
{
    fprintf(stderr, "splicelog-bench: bad %s '%s'\n", what, arg ? arg : "");
    usage(stderr);
    return SB_EXIT_USAGE;
}

/* The command line as typed (arguments with spaces quoted), for the report. */
static void command_line(char *out, size_t len, int argc, char **argv)
{
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < argc && used + 1 < len; i++) {
        const char *a = i ? argv[i] : "splicelog-bench";
        bool q = strpbrk(a, " \t'\"") != NULL;
        int n = snprintf(out + used, len - used, q ? "%s'%s'" : "%s%s", i ? " " : "", a);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

int main(int argc, char **argv)
{
    /* a reader that stops early (--help | grep -q) must not kill us between two writes */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return SB_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    static const struct {
        const char *name;
        int (*run)(const struct sb_opts *);
    } cmds[] = {
        {"produce", sb_cmd_produce},   {"consume", sb_cmd_consume}, {"e2e", sb_cmd_e2e},
        {"durable", sb_cmd_durable},   {"scale", sb_cmd_scale},     {"compare", sb_cmd_compare},
        {"overload", sb_cmd_overload}, {"cluster", sb_cmd_cluster}, {"machine", sb_cmd_machine}};
    int (*run)(const struct sb_opts *) = NULL;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(cmd, cmds[i].name)) {
            run = cmds[i].run;
            cmd = cmds[i].name;
        }
    if (!run)
        return bad("subcommand", cmd);

    struct sb_opts o;
    sb_opts_defaults(&o);
    o.cmd = cmd;
    command_line(o.command, sizeof(o.command), argc, argv);
    bool is_e2e = run == sb_cmd_e2e || run == sb_cmd_durable, is_durable = run == sb_cmd_durable;
    bool is_overload = run == sb_cmd_overload;
    bool is_compare = run == sb_cmd_compare, is_scale = run == sb_cmd_scale;
    bool is_cluster = run == sb_cmd_cluster;
    bool is_machine = run == sb_cmd_machine;
    bool linger_set = false, rate_set = false, acks_set = false, producers_set = false;
    bool runs_set = false, size_set = false, record_size_set = false, paths_set = false;
    bool client_set = false, lists_set = false, greedy_set = false, sticky_set = false;
    int n_props = 0, n_sets = 0;
    char broker_buf[1024];
    static const struct option lo[] = {{"bootstrap", 1, 0, 'B'},
                                       {"broker", 1, 0, 'b'},
                                       {"topic", 1, 0, 't'},
                                       {"record-size", 1, 0, 'r'},
                                       {"count", 1, 0, 'c'},
                                       {"duration", 1, 0, 'd'},
                                       {"partitions", 1, 0, 'p'},
                                       {"acks", 1, 0, 'a'},
                                       {"linger", 1, 0, 'l'},
                                       {"rate", 1, 0, 'R'},
                                       {"tls", 0, 0, 'T'},
                                       {"ca", 1, 0, 'C'},
                                       {"transfer", 1, 0, 'x'},
                                       {"size", 1, 0, 's'},
                                       {"runs", 1, 0, 'n'},
                                       {"paths", 1, 0, 'P'},
                                       {"alternate", 0, 0, 'A'},
                                       {"json", 1, 0, 'j'},
                                       {"plot", 1, 0, 'g'},
                                       {"client", 1, 0, 'K'},
                                       {"interval", 1, 0, 'i'},
                                       {"producers", 1, 0, 'N'},
                                       {"keyed", 0, 0, 'k'},
                                       {"partition-list", 1, 0, 'L'},
                                       {"connection-list", 1, 0, 'M'},
                                       {"batch-records", 1, 0, 'Q'},
                                       {"sticky", 1, 0, 'Y'},
                                       {"broker-set", 1, 0, 'S'},
                                       {"greedy", 1, 0, 'G'},
                                       {"greedy-client", 1, 0, 'H'},
                                       {"help", 0, 0, 'h'},
                                       {0, 0, 0, 0}};
    int c;
    optind = 2;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "X:", lo, NULL)) != -1) {
        switch (c) {
        case 'B':
            o.bootstrap = optarg;
            break;
        case 'b':
            o.broker_bin = optarg;
            break;
        case 't':
            if (!*optarg || strlen(optarg) > 240)
                return bad("--topic", optarg);
            o.topic = optarg;
            o.topic_given = true;
            break;
        case 'r':
            if (sb_parse_size(optarg, &o.record_size) || o.record_size < SB_VALUE_MIN ||
                o.record_size > (1 << 20) - 256)
                return bad("--record-size", optarg);
            record_size_set = true;
            break;
        case 'c':
            if (sb_parse_long(optarg, 1, 1000000000000LL, &o.count))
                return bad("--count", optarg);
            o.count_given = true;
            if (!is_cluster &&
                !is_machine) /* cluster: --count for throughput, --duration for e2e */
                o.duration_ms = 0;
            break;
        case 'd':
            if (sb_parse_duration_ms(optarg, &o.duration_ms))
                return bad("--duration", optarg);
            if (!is_cluster && !is_machine) {
                o.count = 0;
                o.count_given = false;
            }
            break;
        case 'p':
            if (sb_parse_long(optarg, 1, 10000, &o.partitions))
                return bad("--partitions", optarg);
            o.partitions_given = true;
            break;
        case 'a':
            if (strcmp(optarg, "0") && strcmp(optarg, "1") && strcmp(optarg, "-1") &&
                strcmp(optarg, "all"))
                return bad("--acks", optarg);
            o.acks = optarg;
            acks_set = true;
            break;
        case 'l':
            if (sb_parse_long(optarg, 0, 900000, &o.linger_ms))
                return bad("--linger", optarg);
            linger_set = true;
            o.linger_given = true;
            break;
        case 'R':
            if (sb_parse_long(optarg, 1, 100000000, &o.rate))
                return bad("--rate", optarg);
            rate_set = true;
            break;
        case 'T':
            o.tls = true;
            break;
        case 'C':
            o.ca = optarg;
            break;
        case 'x':
            if (strcmp(optarg, "auto") && strcmp(optarg, "splice") && strcmp(optarg, "sendfile") &&
                strcmp(optarg, "copy"))
                return bad("--transfer", optarg);
            o.transfer = optarg;
            break;
        case 's':
            if (sb_parse_size(optarg, &o.size) || o.size < 4096)
                return bad("--size", optarg);
            size_set = true;
            break;
        case 'n':
            if (sb_parse_long(optarg, 1, SB_MAX_RUNS, &o.runs))
                return bad("--runs", optarg);
            runs_set = true;
            break;
        case 'P':
            if (!sb_compare_paths_valid(optarg))
                return bad("--paths", optarg);
            o.paths = optarg;
            paths_set = true;
            break;
        case 'A':
            o.alternate = true;
            break;
        case 'j':
            if (!*optarg)
                return bad("--json", optarg);
            o.json = optarg;
            break;
        case 'g':
            if (!*optarg)
                return bad("--plot", optarg);
            o.plot = optarg;
            break;
        case 'K':
            if (!strcmp(optarg, "splicelog"))
                o.client = &sb_client_splicelog;
            else if (!strcmp(optarg, "rdkafka"))
                o.client = &sb_client_rdkafka;
            else
                return bad("--client", optarg);
            client_set = true;
            break;
        case 'i':
            if (!strcmp(optarg, "0"))
                o.interval_ms = 0;
            else if (sb_parse_duration_ms(optarg, &o.interval_ms))
                return bad("--interval", optarg);
            break;
        case 'N':
            if (sb_parse_long(optarg, 1, 64, &o.producers))
                return bad("--producers", optarg);
            producers_set = true;
            break;
        case 'k':
            o.keyed = true;
            break;
        case 'L':
            if ((o.n_part_list = sb_parse_list(optarg, 1, 100000, o.part_list, SB_MAX_LIST)) < 0)
                return bad("--partition-list", optarg);
            lists_set = true;
            break;
        case 'M':
            if ((o.n_conn_list = sb_parse_list(optarg, 1, 100000, o.conn_list, SB_MAX_LIST)) < 0)
                return bad("--connection-list", optarg);
            lists_set = true;
            break;
        case 'Q':
            if (sb_parse_long(optarg, 1, 100000, &o.batch_records))
                return bad("--batch-records", optarg);
            break;
        case 'Y':
            if (sb_parse_long(optarg, 1, 1000000, &o.sticky))
                return bad("--sticky", optarg);
            sticky_set = true;
            break;
        case 'X':
            if (!strchr(optarg, '=') || n_props == SB_MAX_PROPS)
                return bad("-X", optarg);
            o.props[n_props++] = optarg;
            break;
        case 'S':
            if (!strchr(optarg, '=') || n_sets == SB_MAX_PROPS)
                return bad("--broker-set", optarg);
            o.broker_set[n_sets++] = optarg;
            break;
        case 'G':
            if (sb_parse_long(optarg, 1, 16, &o.greedy))
                return bad("--greedy", optarg);
            greedy_set = true;
            break;
        case 'H':
            if (!strcmp(optarg, "splicelog"))
                o.greedy_client = &sb_client_splicelog;
            else if (!strcmp(optarg, "rdkafka"))
                o.greedy_client = &sb_client_rdkafka;
            else
                return bad("--greedy-client", optarg);
            greedy_set = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return bad("option", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return bad("argument", argv[optind]);
    /* Options that belong to some subcommands are refused elsewhere rather than ignored. */
    if (is_machine && (o.bootstrap || o.broker_bin || o.tls || o.ca || n_props || n_sets ||
                       client_set || producers_set || o.keyed || acks_set || linger_set ||
                       record_size_set || o.partitions_given || strcmp(o.transfer, "auto")))
        return bad("option for machine (it measures the machine alone: --runs, --duration, "
                   "--count, --rate, --size, --json)",
                   "--bootstrap/--broker/--tls/--ca/-X/--broker-set/--client/--producers/"
                   "--keyed/--acks/--linger/--record-size/--partitions/--transfer");
    if (is_compare && (o.bootstrap || o.tls || o.ca || o.count_given || o.duration_ms || rate_set ||
                       client_set || producers_set || o.keyed || n_props))
        return bad("option for compare",
                   "--bootstrap/--tls/--ca/--count/--duration/--rate/--client/--producers/"
                   "--keyed/-X");
    if (!is_compare && !is_cluster && !is_machine && size_set)
        return bad("option outside compare, cluster and machine", "--size");
    if (!is_compare && (paths_set || o.alternate))
        return bad("option outside compare", "--paths/--alternate");
    if (!is_compare && !is_scale && o.plot)
        return bad("option outside compare and scale", "--plot");
    if (is_scale && (o.bootstrap || o.tls || rate_set || o.duration_ms || producers_set))
        return bad("option for scale", "--bootstrap/--tls/--rate/--duration/--producers");
    if (!is_scale && (lists_set || sticky_set))
        return bad("option outside scale", "--partition-list/--connection-list/--sticky");
    if (!is_e2e && !is_overload && !is_cluster && producers_set)
        return bad("option outside e2e, durable, overload and cluster", "--producers");
    if (is_cluster && (o.bootstrap || o.tls || o.ca || acks_set || o.keyed))
        return bad("option for cluster (its own brokers; acks 1 vs all)",
                   "--bootstrap/--tls/--ca/--acks/--keyed");
    if (!is_overload && greedy_set)
        return bad("option outside overload", "--greedy/--greedy-client");
    if (o.ca && !o.bootstrap)
        return bad("option without --bootstrap", "--ca");
    if (n_sets && (o.bootstrap || is_compare))
        return bad("option for a broker of our own", "--broker-set");
    if (o.client->unavailable) {
        fprintf(stderr, "splicelog-bench: --client %s: %s\n", o.client->name,
                o.client->unavailable);
        return 1;
    }
    if (is_e2e) {
        if (!rate_set)
            o.rate = is_durable ? 20000 : 50000;
        if (!o.count && !o.duration_ms)
            o.duration_ms = 10000;
        if (!linger_set)
            o.linger_ms = 0;
        if (!producers_set)
            o.producers = is_durable ? 4 : 1;
        if (is_durable && !acks_set)
            o.acks = "all";
    }
    if (is_overload) {
        if (!rate_set)
            o.rate = 10000;
        if (o.count_given)
            return bad("option for overload", "--count (use --duration)");
        if (!o.duration_ms)
            o.duration_ms = 10000;
        if (!linger_set)
            o.linger_ms = 0;
        if (!o.greedy)
            o.greedy = 1;
        if (!o.greedy_client)
            o.greedy_client =
                sb_client_rdkafka.unavailable ? &sb_client_splicelog : &sb_client_rdkafka;
        if (o.greedy_client->unavailable) {
            fprintf(stderr, "splicelog-bench: --greedy-client %s: %s\n", o.greedy_client->name,
                    o.greedy_client->unavailable);
            return 1;
        }
    }
    if (is_cluster) {
        if (!o.count)
            o.count = 300000;
        if (!o.duration_ms)
            o.duration_ms = 5000;
        if (!rate_set)
            o.rate = 5000;
        if (!o.partitions_given)
            o.partitions = 6;
        if (!size_set)
            o.size = 256LL << 20;
    }
    if (is_machine) {
        if (!o.duration_ms)
            o.duration_ms = 3000;
        if (!o.count)
            o.count = 20000;
        if (!rate_set)
            o.rate = 20000;
        if (!size_set)
            o.size = 2LL << 30;
        if (o.rate <= 0 || o.size <= 0)
            return bad("machine: --rate and --size above 0", "--rate/--size");
    }
    if (is_scale) {
        if (!runs_set)
            o.runs = 1;
        if (!record_size_set)
            o.record_size = 100;
        if (!o.count)
            o.count = 200000;
        if (!lists_set) {
            static const long long dflt[] = {1, 100, 1000, 10000};
            for (int i = 0; i < 4; i++)
                o.part_list[i] = o.conn_list[i] = dflt[i];
            o.n_part_list = o.n_conn_list = 4;
        }
    }
    if (!is_compare && !o.count && !o.duration_ms)
        o.count = 100000;
    if (!o.broker_bin)
        o.broker_bin = sb_default_broker(argv[0], broker_buf, sizeof(broker_buf));
    char topic[64];
    if (!o.topic) {
        if (is_e2e || is_overload || is_cluster)
            snprintf(topic, sizeof(topic), "splicelog-bench-%s-%d", cmd, (int)getpid());
        else
            snprintf(topic, sizeof(topic), "splicelog-bench");
        o.topic = topic;
    }
    o.progress = isatty(2);
    return run(&o);
}
