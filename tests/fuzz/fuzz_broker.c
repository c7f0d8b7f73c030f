/*
 * fuzz_broker — libFuzzer target over the broker itself: request frames go through br_dispatch
 * and the handlers against a real store, committed offsets and group coordinator in a
 * temporary directory (tests/support/tb_ctx.h is the host: no socket, no loop, a hand-driven
 * clock). Issue 11, item 8.
 *
 * Input: a sequence of frames, each an int32 size and that many bytes (a size past the end
 * takes what is left), dispatched in order as one connection would send them. After each
 * frame the host runs a turn (admin jobs, posts, woken long polls) and the clock moves 7 ms;
 * after the last, the clock jumps past every deadline and session timeout and the group
 * coordinator ticks until nothing is parked, so every response is answered before it is
 * freed. Every response is flattened (memory and file pieces), so ASan checks every byte a
 * client would receive.
 *
 * State persists across inputs (topics produced to by one input are fetched by the next); it
 * is bounded: the host is rebuilt on a fresh directory every RESET_EVERY inputs, when the store
 * holds more than MAX_TOPICS topics, or when something stays parked. A crash that depends on
 * accumulated state may therefore need the inputs before it to reproduce.
 * Security (issue 17): each input is one connection with its own session (br_sess.h, as
 * br_conn.c runs it): on a SASL_PLAINTEXT listener when the first frame is a SaslHandshake
 * (the host knows user "user", password "pencil"), else on a PLAINTEXT one; the ACL
 * authorizer is on (allow.everyone.if.no.acl.found, so the handlers stay reachable; ACL APIs
 * change the set the next inputs are judged by) and quotas are open. A frame the session
 * refuses ends the input, as the closed connection would.
 * Seeds: tests/fuzz/seeds/fuzz_broker/ (kcat's frames, a produce-fetch sequence, a group's
 * life, topic admin, SASL PLAIN and SCRAM logins, ACL and quota requests).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_log.h"
#include "kp_buf.h"
#include "st.h"
#include "tb_ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define RESET_EVERY 20000
#define MAX_TOPICS  64
#define MAX_FRAMES  64

static struct tb_host H;
static bool open_ok;
static unsigned long runs;
static volatile uint8_t sink;

static const char *const host_kv[] = {
    "num.partitions=2",
    "topic.partitions.max=8",
    "message.max.bytes=65536",
    "log.segment.bytes=65536",
    "group.initial.rebalance.delay.ms=0",
    "group.min.session.timeout.ms=10",
    "group.max.session.timeout.ms=60000",
    "group.max.groups=64",
    "group.max.size=16",
    "offset.metadata.max.bytes=256",
    NULL,
};

static void host_open(void)
{
    if (tb_host_open(&H, host_kv) != 0) {
        fprintf(stderr, "fuzz_broker: cannot open the host\n");
        abort();
    }
    open_ok = true;
}

static void host_close(void)
{
    if (open_ok)
        tb_host_close(&H);
    open_ok = false;
}

static void host_reset(void)
{
    if (open_ok)
        tb_host_close(&H);
    open_ok = false;
    host_open();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    br_log_set_level(BR_LOG_ERROR); /* malformed requests log warnings: not at this rate */
    host_open();
    atexit(host_close); /* (removes the directory) */
    return 0;
}

static void count_topic(void *arg, const char *name, int32_t partitions)
{
    (void)name;
    (void)partitions;
    (*(int *)arg)++;
}

/* Reads every byte a client would get, then frees the responses no longer parked. */
static void reap(void)
{
    for (int i = 0; i < TB_HOST_SLOTS; i++) {
        struct tb_slot *s = &H.slots[i];
        if (!s->r || s->state == TB_RESP_PARKED)
            continue;
        if (s->state == TB_RESP_READY) {
            uint8_t *b;
            ssize_t n = tb_resp_flatten(s->r, &b);
            if (n < 0)
                abort(); /* a response whose pieces cannot be read back */
            uint8_t x = 0;
            for (ssize_t k = 0; k < n; k++)
                x ^= b[k];
            sink = x;
            /* the size prefix must say what follows (a raw SASL token after a v0 handshake
             * has no header: PLAIN's empty one is 4 bytes) */
            if (n < 4 || kp_load_be32(b) != (uint32_t)(n - 4))
                abort();
            free(b);
        }
        tb_host_free_resp(&H, s->r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (++runs % RESET_EVERY == 0)
        host_reset();
    bool sasl = size >= 6 && kp_load_be16(data + 4) == 17; /* SaslHandshake first */
    if (tb_host_security(&H, sasl) != 0)
        abort();
    size_t at = 0;
    for (int f = 0; f < MAX_FRAMES && size - at >= 4; f++) {
        uint32_t len = kp_load_be32(data + at);
        size_t n = size - at - 4;
        if (len < n)
            n = len;
        uint8_t frame[4 + 4096];
        const uint8_t *body = data + at + 4;
        at += 4 + n;
        /* (tb_host_call copies the frame: handlers may write into it) */
        uint8_t *buf = n <= 4096 ? frame : malloc(4 + n);
        if (!buf)
            return 0;
        kp_store_be32(buf, (uint32_t)n);
        memcpy(buf + 4, body, n);
        struct br_resp *r;
        int rc = tb_host_call(&H, buf, 4 + n, &r);
        if (buf != frame)
            free(buf);
        if (rc == -EPIPE)
            break; /* the session closed the connection */
        tb_host_turn(&H);
        H.now_ms += 7;
        H.wall_ms += 7;
        reap();
    }
    /* answer everything still parked: deadlines and sessions run out, the coordinator ticks */
    for (int k = 0; k < 8 && tb_host_parked(&H) > 0; k++) {
        H.now_ms += 120000;
        tb_host_tick(&H);
        tb_host_turn(&H);
        reap();
    }
    int ntopics = 0;
    st_topic_foreach(H.x.store, count_topic, &ntopics);
    if (tb_host_parked(&H) > 0 || ntopics > MAX_TOPICS)
        host_reset(); /* (br_groups_stop answers the rest) */
    return 0;
}
