/*
 * splicelogd — argument handling; everything else is br_server.
 *
 *   splicelogd [--config FILE] [-o key=value]... [--listen HOST:PORT] [--data-dir DIR]
 *              [--port-file FILE] [--help] [--version]
 *
 * The config file is applied first, then -o, --listen and --data-dir in the order given.
 * Exit status: 0 after a clean shutdown, 2 for a bad command line or configuration, 1 when
 * the broker could not start.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_config.h"
#include "br_log.h"
#include "br_server.h"

#define SPLICELOGD_VERSION "0.1.0"

static void print_key(void *arg, const char *key, const char *def, const char *doc)
{
    (void)arg;
    printf("  %-34s %-28s %s\n", key, !def ? "(alias)" : def[0] ? def : "(empty)", doc);
}

static void print_ignored(void *arg, const char *key)
{
    int *col = arg;
    int len = (int)strlen(key) + 2;
    if (*col + len > 96) {
        printf("\n ");
        *col = 1;
    }
    printf(" %s", key);
    *col += len;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: splicelogd [--config FILE] [-o key=value]... [--listen HOST:PORT]\n"
               "                  [--data-dir DIR] [--port-file FILE] [--help] [--version]\n"
               "\n"
               "A Kafka-compatible log broker. With no options: PLAINTEXT on 127.0.0.1:9092,\n"
               "data in ./data.\n"
               "\n"
               "  --config FILE      server.properties-style file (Kafka's key names)\n"
               "  -o key=value       set one key (repeatable; applied after the file)\n"
               "  --listen HOST:PORT the PLAINTEXT listener's address (port 0: any); other\n"
               "                     listeners (SSL) are kept\n"
               "  --data-dir DIR     shortcut for log.dirs=DIR\n"
               "  --port-file FILE   once listening, write the PLAINTEXT (else the first)\n"
               "                     listener's port there, then one \"NAME PORT\" line per\n"
               "                     listener\n"
               "  --help, --version\n"
               "\n"
               "Signals: SIGINT and SIGTERM stop the broker cleanly (in-flight requests finish,\n"
               "logs are flushed and marked clean). SIGUSR1 makes the log one level more\n"
               "verbose (up to debug), SIGUSR2 one level less (down to error). SIGHUP is logged\n"
               "and changes nothing: the configuration is read only at start-up (restart to\n"
               "change it) and the log goes to stderr, so there is no file to reopen (rotate\n"
               "with the service manager, or copytruncate). The log level also changes through\n"
               "the metrics listener: metrics.listener=http://127.0.0.1:9644, then\n"
               "curl -X PUT --data debug http://127.0.0.1:9644/log-level\n"
               "\n"
               "A stock Kafka server.properties starts: keys only Kafka's JVM or KRaft\n"
               "read (process.roles, num.io.threads, ...) are ignored, with one warning listing\n"
               "them (--help lists them at the end).\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'd'},
        {"port-file", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config_file = NULL;
    const char *port_file = NULL;
    int opt;
    /* first pass: the config file and the informational options */
    while ((opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_file = optarg;
            break;
        case 'p':
            port_file = optarg;
            break;
        case 'h':
            usage(stdout);
            printf("\nconfiguration keys (default):\n");
            br_config_keys(print_key, NULL);
            printf("\nignored, with a warning (Kafka's JVM, KRaft):\n ");
            int col = 1;
            br_config_ignored_keys(print_ignored, &col);
            printf("\n");
            return 0;
        case 'V':
            printf("splicelogd %s\n", SPLICELOGD_VERSION);
            return 0;
        case 'o':
        case 'l':
        case 'd':
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "splicelogd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    static struct br_config cfg;
    char err[1024];
    br_config_init(&cfg);
    if (config_file && br_config_load_file(&cfg, config_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "splicelogd: %s\n", err);
        return 2;
    }
    /* second pass: overrides in command-line order */
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        int rc = 0;
        switch (opt) {
        case 'o':
            rc = br_config_set(&cfg, optarg, err, sizeof(err));
            break;
        case 'l':
            rc = br_config_listen(&cfg, optarg, err, sizeof(err));
            break;
        case 'd':
            rc = br_config_set_kv(&cfg, "log.dirs", optarg, err, sizeof(err));
            break;
        default:
            break;
        }
        if (rc < 0) {
            fprintf(stderr, "splicelogd: %s\n", err);
            return 2;
        }
    }
    if (br_config_finish(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "splicelogd: %s\n", err);
        return 2;
    }
    br_log_set_level(cfg.log_level);
    br_log_set_format(cfg.log_format);
    br_info("splicelogd %s starting (config %s)", SPLICELOGD_VERSION,
            config_file ? config_file : "built-in defaults");
    if (cfg.ignored[0])
        br_warn("ignoring configuration keys that only Kafka's JVM or KRaft use: %s", cfg.ignored);
    int rc = br_server_run(&cfg, port_file);
    return rc < 0 ? 1 : 0;
}
