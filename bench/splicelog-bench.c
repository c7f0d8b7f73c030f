/*
 * splicelog-bench — what zero-copy buys and what TLS costs, measured (issue 7).
 *
 *   splicelog-bench produce|consume|e2e|compare [options]
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
        "usage: splicelog-bench produce|consume|e2e|compare [options]\n"
        "\n"
        "  produce   produce records; records/s, MB/s, send->ack latency percentiles\n"
        "  consume   consume a topic from the beginning (our own broker: preloaded first)\n"
        "  e2e       a producer at --rate and a consumer; record timestamp -> receipt latency\n"
        "  compare   every fetch path (splice, sendfile, copy, tls, ktls) against the\n"
        "            loopback limits: MB/s, records/s, broker and client CPU s/GiB\n"
        "\n"
        "options (sizes: 1024, 64k, 16MiB, 1G; durations: 10s, 500ms, 2m):\n"
        "  --bootstrap HOST:PORT  use this broker (produce/consume/e2e); default: start one\n"
        "  --broker PATH          splicelogd to start (default: next to this binary)\n"
        "  --topic NAME           default splicelog-bench (e2e: splicelog-bench-e2e-PID)\n"
        "  --record-size SIZE     value bytes per record, >= %d (default 1024)\n"
        "  --count N              records (produce/consume default 100000)\n"
        "  --duration DUR         produce for this long instead of --count\n"
        "  --partitions N         own broker's num.partitions; consume reads 0..N-1 (default 1)\n"
        "  --acks 0|1|-1|all      default 1\n"
        "  --linger MS            linger.ms (default 5; e2e 0)\n"
        "  --rate N               records per second (e2e: default 50000; produce: paced)\n"
        "  --tls                  security.protocol=ssl (own broker: an SSL listener)\n"
        "  --ca FILE              ssl.ca.location with --bootstrap\n"
        "  --transfer PATH        own broker's fetch.transfer (splice|sendfile|copy)\n"
        "  --size SIZE            compare: bytes to preload (default 1GiB)\n"
        "  --runs N               compare: timed passes per path, 1..%d (default 3)\n"
        "  --paths LIST           compare: subset of splice,sendfile,copy,tls,ktls\n"
        "  --json FILE            compare: results as JSON\n"
        "  --plot FILE.png        compare: bar chart (gnuplot)\n",
        SB_VALUE_MIN, SB_MAX_RUNS);
}

static int bad(const char *what, const char *arg)
{
    fprintf(stderr, "splicelog-bench: bad %s '%s'\n", what, arg ? arg : "");
    usage(stderr);
    return SB_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SB_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    int (*run)(const struct sb_opts *) = NULL;
    if (!strcmp(cmd, "produce"))
        run = sb_cmd_produce;
    else if (!strcmp(cmd, "consume"))
        run = sb_cmd_consume;
    else if (!strcmp(cmd, "e2e"))
        run = sb_cmd_e2e;
    else if (!strcmp(cmd, "compare"))
        run = sb_cmd_compare;
    else
        return bad("subcommand", cmd);

    struct sb_opts o;
    sb_opts_defaults(&o);
    bool is_e2e = run == sb_cmd_e2e, is_compare = run == sb_cmd_compare;
    bool linger_set = false;
    if (is_e2e) {
        o.rate = 50000;
        o.duration_ms = 10000;
    }
    char broker_buf[1024];
    static const struct option lo[] = {
        {"bootstrap", 1, 0, 'B'},   {"broker", 1, 0, 'b'}, {"topic", 1, 0, 't'},
        {"record-size", 1, 0, 'r'}, {"count", 1, 0, 'c'},  {"duration", 1, 0, 'd'},
        {"partitions", 1, 0, 'p'},  {"acks", 1, 0, 'a'},   {"linger", 1, 0, 'l'},
        {"rate", 1, 0, 'R'},        {"tls", 0, 0, 'T'},    {"ca", 1, 0, 'C'},
        {"transfer", 1, 0, 'x'},    {"size", 1, 0, 's'},   {"runs", 1, 0, 'n'},
        {"paths", 1, 0, 'P'},       {"json", 1, 0, 'j'},   {"plot", 1, 0, 'g'},
        {"help", 0, 0, 'h'},        {0, 0, 0, 0}};
    int c;
    optind = 2;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'B':
            o.bootstrap = optarg;
            break;
        case 'b':
            o.broker_bin = optarg;
            break;
        case 't':
            if (!*optarg || strlen(optarg) > 249)
                return bad("--topic", optarg);
            o.topic = optarg;
            break;
        case 'r':
            if (sb_parse_size(optarg, &o.record_size) || o.record_size < SB_VALUE_MIN ||
                o.record_size > (1 << 20) - 256)
                return bad("--record-size", optarg);
            break;
        case 'c':
            if (sb_parse_long(optarg, 1, 1000000000000LL, &o.count))
                return bad("--count", optarg);
            o.duration_ms = 0;
            break;
        case 'd':
            if (sb_parse_duration_ms(optarg, &o.duration_ms))
                return bad("--duration", optarg);
            o.count = 0;
            break;
        case 'p':
            if (sb_parse_long(optarg, 1, 10000, &o.partitions))
                return bad("--partitions", optarg);
            break;
        case 'a':
            if (strcmp(optarg, "0") && strcmp(optarg, "1") && strcmp(optarg, "-1") &&
                strcmp(optarg, "all"))
                return bad("--acks", optarg);
            o.acks = optarg;
            break;
        case 'l':
            if (sb_parse_long(optarg, 0, 900000, &o.linger_ms))
                return bad("--linger", optarg);
            linger_set = true;
            break;
        case 'R':
            if (sb_parse_long(optarg, 1, 100000000, &o.rate))
                return bad("--rate", optarg);
            break;
        case 'T':
            o.tls = true;
            break;
        case 'C':
            o.ca = optarg;
            break;
        case 'x':
            if (strcmp(optarg, "splice") && strcmp(optarg, "sendfile") && strcmp(optarg, "copy"))
                return bad("--transfer", optarg);
            o.transfer = optarg;
            break;
        case 's':
            if (sb_parse_size(optarg, &o.size) || o.size < 4096)
                return bad("--size", optarg);
            break;
        case 'n':
            if (sb_parse_long(optarg, 1, SB_MAX_RUNS, &o.runs))
                return bad("--runs", optarg);
            break;
        case 'P':
            if (!sb_compare_paths_valid(optarg))
                return bad("--paths", optarg);
            o.paths = optarg;
            break;
        case 'j':
            o.json = optarg;
            break;
        case 'g':
            o.plot = optarg;
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
    /* Options that belong to one subcommand are refused elsewhere rather than ignored. */
    if (is_compare && (o.bootstrap || o.tls || o.ca || o.count || o.duration_ms || o.rate))
        return bad("option for compare", "--bootstrap/--tls/--ca/--count/--duration/--rate");
    if (!is_compare && (o.json || o.plot))
        return bad("option outside compare", "--json/--plot");
    if (o.ca && !o.bootstrap)
        return bad("option without --bootstrap", "--ca");
    if (!is_compare && !o.count && !o.duration_ms)
        o.count = 100000;
    if (is_e2e && !linger_set)
        o.linger_ms = 0;
    if (!o.broker_bin)
        o.broker_bin = sb_default_broker(argv[0], broker_buf, sizeof(broker_buf));
    char topic[64];
    if (!o.topic) {
        if (is_e2e)
            snprintf(topic, sizeof(topic), "splicelog-bench-e2e-%d", (int)getpid());
        else
            snprintf(topic, sizeof(topic), "splicelog-bench");
        o.topic = topic;
    }
    o.progress = isatty(2);
    signal(SIGPIPE, SIG_IGN);
    return run(&o);
}
