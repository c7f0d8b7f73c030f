/*
 * sb_cl_rdkafka_none — what --client rdkafka is in a build without librdkafka-dev: a client
 * that says so (the Makefile links this file instead of sb_cl_rdkafka.c when pkg-config has no
 * rdkafka). Its functions are never called: subcommands check `unavailable` first.
 */
#include "sb.h"

const struct sb_client sb_client_rdkafka = {
    .name = "rdkafka",
    .unavailable = "this splicelog-bench was built without librdkafka: install librdkafka-dev "
                   "(scripts/deps.sh bench) and rebuild",
};
