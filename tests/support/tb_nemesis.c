/* tb_nemesis — the cluster fault tests' producer and checks (tb_nemesis.h). */
#include "tb_nemesis.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "tb_check.h"
#include "tb_kafka.h"

#define VALUE_LEN 24

static const char *nem_host(const struct tb_broker *b)
{
    return b->host[0] ? b->host : "127.0.0.1";
}

static void nem_bootstrap(const struct tb_nemesis *n, char *out, size_t cap)
{
    out[0] = 0;
    for (int i = 1; i <= n->nbrokers; i++) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%s:%d", i > 1 ? "," : "", nem_host(&n->b[i]), n->b[i].port);
    }
}

/* ---- the run ------------------------------------------------------------------------------- */

void tb_nem_init(struct tb_nemesis *n, const char *name, struct tb_broker *b, int nbrokers,
                 const struct tb_zk *z, const char *chroot)
{
    memset(n, 0, sizeof *n);
    n->name = name;
    n->topic = "nemesis";
    n->nparts = 3;
    n->nbrokers = nbrokers;
    n->b = b;
    n->z = z;
    n->chroot = chroot;
}

int tb_nem_seconds(const char *name, int dflt)
{
    const char *secs_env = getenv("CLUSTER_FAULT_SECONDS");
    int seconds = secs_env ? atoi(secs_env) : dflt;
    seconds = seconds < 5 ? 5 : seconds > 1200 ? 1200 : seconds;
    const char *seed_env = getenv("CLUSTER_FAULT_SEED");
    unsigned seed = seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)time(NULL);
    srand(seed);
    fprintf(stderr, "%s: %d s of faults, seed %u (CLUSTER_FAULT_SEED)\n", name, seconds, seed);
    return seconds;
}

void tb_nem_start_broker_with(struct tb_nemesis *n, int id, int session_ms, const char *zk_override,
                              const char *const *opts)
{
    int64_t until = tb_now_ms() + session_ms * 10 + 20000;
    for (;;) {
        int rc = tb_zk_broker_start(&n->b[id], n->z, n->chroot, id, session_ms, zk_override, opts);
        if (rc == 0)
            return;
        ck_assert_msg(tb_now_ms() < until, "broker %d does not start (%d): see %s", id, rc,
                      n->b[id].log);
        tb_sleep_ms(500);
    }
}

void tb_nem_start_broker(struct tb_nemesis *n, int id, int session_ms, const char *zk_override)
{
    static const char *const opts[] = {
        "-o", "default.replication.factor=3", "-o", "min.insync.replicas=2",
        "-o", "replica.lag.time.max.ms=4000", "-o", "log.segment.bytes=262144",
        NULL};
    tb_nem_start_broker_with(n, id, session_ms, zk_override, opts);
}

int tb_nem_run(const char *suite, SFun setup, SFun teardown, SFun b_teardown, const TTest *t)
{
    TCase *tc = tcase_create("nemesis");
    if (!tc)
        return 1;
    tcase_set_timeout(tc, 1800); /* the longest run (1200 s of faults), then the checks */
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_checked_fixture(tc, NULL, b_teardown);
    tcase_add_test(tc, t);
    Suite *s = suite_create(suite);
    suite_add_tcase(s, tc);
    return tb_ck_run(s);
}

/* ---- the topic ------------------------------------------------------------------------------ */

void tb_nem_create_topic(struct tb_nemesis *n)
{
    int fd = tb_connect_host(nem_host(&n->b[1]), n->b[1].port);
    ck_assert_int_ge(fd, 0);
    struct tb_req r;
    struct tb_frame f;
    int16_t err = -1;
    int64_t until = tb_now_ms() + 60000;
    for (;;) { /* the brokers see each other a moment after they start */
        ck_assert_int_eq(tb_req_begin(&r, 256, 19, 4, 77), 0);
        tb_enc_create_topics(&r, 4, n->topic, n->nparts, (int16_t)n->nbrokers, 30000, false);
        ck_assert_int_eq(tb_call(fd, &r, 77, &f), 0);
        tb_req_free(&r);
        ck_assert_int_eq(tb_dec_create_topics(&f, 4, &err), 0);
        tb_frame_free(&f);
        if (err == 0 || err == 36 /* TOPIC_ALREADY_EXISTS: an earlier try got through */)
            break;
        ck_assert_msg(tb_now_ms() < until, "CreateTopics: error %d", err);
        tb_sleep_ms(500);
    }
    close(fd);
    zhandle_t *zh = tb_zk_open(n->z);
    char why[512] = "";
    until = tb_now_ms() + 60000;
    while (!tb_nem_isr_full(n, zh, why, sizeof why)) {
        ck_assert_msg(tb_now_ms() < until, "the ISR never filled: %s", why);
        tb_sleep_ms(200);
    }
    zookeeper_close(zh);
}

/* ---- the producer ---------------------------------------------------------------------------- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct tb_nemesis *n = opaque;
    long seq = (long)(intptr_t)m->_private;
    if (seq < 0 || seq >= TB_NEM_MAX_SEQ)
        return;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        n->recs[seq].partition = m->partition;
        n->recs[seq].offset = m->offset;
        if (m->partition >= 0 && m->partition < n->nparts) {
            int64_t now = tb_now_ms(), *last = &n->last_ack_ms[m->partition];
            if (*last && now - *last > n->longest_gap_ms[m->partition])
                n->longest_gap_ms[m->partition] = now - *last;
            *last = now;
        }
        atomic_store(&n->recs[seq].state, TB_NEM_ACKED);
        atomic_fetch_add(&n->n_acked, 1);
    } else {
        atomic_store(&n->recs[seq].state, TB_NEM_FAILED);
        if (atomic_fetch_add(&n->n_failed, 1) == 0)
            snprintf(n->first_error, sizeof n->first_error, "%s", rd_kafka_err2str(m->err));
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct tb_nemesis *n = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL && !n->fatal_error[0]) {
        char why[400];
        rd_kafka_fatal_error(rk, why, sizeof why);
        snprintf(n->fatal_error, sizeof n->fatal_error, "%s (%s)", why, reason);
    }
}

/* librdkafka's sockets, bound to src_addr first (a test that cuts brokers off from some
 * addresses of this host and not from the producer's). */
static int on_socket(int domain, int type, int protocol, void *opaque)
{
    struct tb_nemesis *n = opaque;
    int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd < 0 || domain != AF_INET)
        return fd;
    struct sockaddr_in a = {.sin_family = AF_INET};
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (inet_pton(AF_INET, n->src_addr, &a.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A client's configuration: the brokers, IPv4, errors only in the log, nkv more settings, n as
 * the opaque, its sockets bound to n->src_addr when there is one. */
static rd_kafka_conf_t *nem_conf(struct tb_nemesis *n, const char *const (*kv)[2], size_t nkv)
{
    char bs[256], err[512];
    nem_bootstrap(n, bs, sizeof bs);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    const char *base[][2] = {
        {"bootstrap.servers", bs}, {"broker.address.family", "v4"}, {"log_level", "3"}};
    for (size_t i = 0; i < sizeof base / sizeof base[0] + nkv; i++) {
        const char *const *e = i < 3 ? base[i] : kv[i - 3];
        ck_assert_msg(rd_kafka_conf_set(c, e[0], e[1], err, sizeof err) == RD_KAFKA_CONF_OK,
                      "%s: %s", e[0], err);
    }
    rd_kafka_conf_set_opaque(c, n);
    if (n->src_addr)
        rd_kafka_conf_set_socket_cb(c, on_socket);
    return c;
}

static rd_kafka_t *producer_new(struct tb_nemesis *n)
{
    static const char *const kv[][2] = {{"enable.idempotence", "true"},
                                        {"acks", "all"},
                                        {"linger.ms", "5"},
                                        {"message.timeout.ms", "60000"},
                                        {"retry.backoff.ms", "200"},
                                        {"topic.metadata.refresh.interval.ms", "2000"}};
    rd_kafka_conf_t *c = nem_conf(n, kv, sizeof kv / sizeof kv[0]);
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_error_cb(c, on_error);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    ck_assert_msg(rk != NULL, "rd_kafka_new: %s", err);
    return rk;
}

static void *produce_loop(void *arg)
{
    struct tb_nemesis *n = arg;
    int64_t start = tb_now_ms();
    long seq = 0;
    while (!atomic_load(&n->stop) && seq < TB_NEM_MAX_SEQ) {
        long due = (long)((tb_now_ms() - start) * TB_NEM_RATE / 1000);
        while (seq < due && seq < TB_NEM_MAX_SEQ) {
            char v[VALUE_LEN + 1];
            snprintf(v, sizeof v, "seq:%020ld", seq);
            atomic_store(&n->recs[seq].state, TB_NEM_SENT);
            rd_kafka_resp_err_t e =
                rd_kafka_producev(n->rk, RD_KAFKA_V_TOPIC(n->topic), RD_KAFKA_V_VALUE(v, VALUE_LEN),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_OPAQUE((void *)(intptr_t)seq), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                atomic_store(&n->recs[seq].state, 0);
                break; /* the queue is full while the cluster is down: try again later */
            }
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                atomic_store(&n->recs[seq].state, TB_NEM_FAILED);
                atomic_fetch_add(&n->n_failed, 1);
            }
            seq++;
            atomic_fetch_add(&n->n_sent, 1);
        }
        rd_kafka_poll(n->rk, 10);
    }
    return NULL;
}

void tb_nem_produce_start(struct tb_nemesis *n)
{
    ck_assert(n->nparts > 0 && n->nparts <= TB_NEM_PARTS);
    n->recs = calloc(TB_NEM_MAX_SEQ, sizeof *n->recs);
    ck_assert_ptr_nonnull(n->recs);
    n->rk = producer_new(n);
    ck_assert_int_eq(pthread_create(&n->th, NULL, produce_loop, n), 0);
}

void tb_nem_produce_stop(struct tb_nemesis *n)
{
    atomic_store(&n->stop, true);
    pthread_join(n->th, NULL);
    rd_kafka_flush(n->rk, 90000);
    n->left = rd_kafka_outq_len(n->rk);
    rd_kafka_destroy(n->rk);
    n->rk = NULL;
}

/* ---- the group reading along ------------------------------------------------------------- */

#define NEM_GROUP "nemesis-group"

static int64_t nem_pos(int32_t partition, int64_t offset)
{
    return (int64_t)partition << 40 | (offset + 1);
}

static void group_error(struct tb_nem_group *g, const char *what)
{
    if (atomic_fetch_add(&g->errors, 1) == 0)
        snprintf(g->first_error, sizeof g->first_error, "%s", what);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct tb_nemesis *n = opaque;
    atomic_fetch_add(&n->group.rebalances, 1);
    /* what librdkafka does without a callback (the eager protocol of its default assignors) */
    rd_kafka_assign(rk, err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? parts : NULL);
}

/* One record the group was given: where, and how often. */
static void group_note(struct tb_nemesis *n, const rd_kafka_message_t *m)
{
    struct tb_nem_group *g = &n->group;
    long seq = -1;
    if (m->len == VALUE_LEN && memcmp(m->payload, "seq:", 4) == 0)
        seq = strtol((const char *)m->payload + 4, NULL, 10);
    if (seq < 0 || seq >= TB_NEM_MAX_SEQ || m->partition < 0 || m->partition >= n->nparts ||
        m->offset < 0) {
        group_error(g, "a record that is not one of this test's");
        return;
    }
    int64_t pos = nem_pos(m->partition, m->offset), was = 0;
    if (!atomic_compare_exchange_strong(&g->pos[seq], &was, pos) && was != pos)
        atomic_fetch_add(&g->moved, 1); /* given again at another place */
    uint8_t t = atomic_load(&g->times[seq]);
    while (t < 255 && !atomic_compare_exchange_weak(&g->times[seq], &t, (uint8_t)(t + 1)))
        ;
    atomic_fetch_add(&g->given, 1);
}

static void *consume_loop(void *arg)
{
    rd_kafka_t *rk = arg;
    struct tb_nemesis *n = rd_kafka_opaque(rk);
    while (!atomic_load(&n->group.stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
            group_note(n, m);
        else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            group_error(&n->group, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

static rd_kafka_t *member_new(struct tb_nemesis *n)
{
    static const char *const kv[][2] = {{"group.id", NEM_GROUP}, {"auto.offset.reset", "earliest"}};
    rd_kafka_conf_t *c = nem_conf(n, kv, sizeof kv / sizeof kv[0]);
    rd_kafka_conf_set_rebalance_cb(c, on_rebalance);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    ck_assert_msg(rk != NULL, "rd_kafka_new: %s", err);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tl, n->topic, RD_KAFKA_PARTITION_UA);
    ck_assert_int_eq(rd_kafka_subscribe(rk, tl), 0);
    rd_kafka_topic_partition_list_destroy(tl);
    return rk;
}

void tb_nem_consume_start(struct tb_nemesis *n)
{
    struct tb_nem_group *g = &n->group;
    ck_assert(!g->started);
    g->pos = calloc(TB_NEM_MAX_SEQ, sizeof *g->pos);
    g->times = calloc(TB_NEM_MAX_SEQ, sizeof *g->times);
    ck_assert(g->pos && g->times);
    for (int i = 0; i < TB_NEM_CONSUMERS; i++) {
        g->rk[i] = member_new(n);
        ck_assert_int_eq(pthread_create(&g->th[i], NULL, consume_loop, g->rk[i]), 0);
    }
    g->started = true;
}

/* Acknowledged records the group has not been given yet. */
static long group_missing(const struct tb_nemesis *n)
{
    long missing = 0;
    for (long s = 0; s < TB_NEM_MAX_SEQ; s++)
        missing += atomic_load(&n->recs[s].state) == TB_NEM_ACKED && !atomic_load(&n->group.pos[s]);
    return missing;
}

struct group_check {
    long missed, misplaced, more_than_once;
};

/* Waits (bounded) for the group to be given every acknowledged record, stops it, and checks
 * what it was given against the final log (logpos: each record's place there, 0 if absent). */
static void group_finish(struct tb_nemesis *n, const int64_t *logpos, struct group_check *out)
{
    struct tb_nem_group *g = &n->group;
    int64_t until = tb_now_ms() + 90000;
    while (group_missing(n) > 0 && tb_now_ms() < until)
        tb_sleep_ms(250);
    atomic_store(&g->stop, true);
    for (int i = 0; i < TB_NEM_CONSUMERS; i++) {
        pthread_join(g->th[i], NULL);
        rd_kafka_consumer_close(g->rk[i]);
        rd_kafka_destroy(g->rk[i]);
        g->rk[i] = NULL;
    }
    out->misplaced = atomic_load(&g->moved);
    for (long s = 0; s < TB_NEM_MAX_SEQ; s++) {
        int64_t pos = atomic_load(&g->pos[s]);
        if (atomic_load(&n->recs[s].state) == TB_NEM_ACKED && !pos) {
            if (out->missed < 10)
                fprintf(stderr,
                        "record %ld acknowledged at %d@%" PRId64 ": the group never got it\n", s,
                        n->recs[s].partition, n->recs[s].offset);
            out->missed++;
        }
        if (pos && pos != logpos[s]) {
            if (out->misplaced < 10)
                fprintf(stderr,
                        "record %ld given to the group at %d@%" PRId64 " but the log has %s\n", s,
                        (int)(pos >> 40), (pos & (((int64_t)1 << 40) - 1)) - 1,
                        logpos[s] ? "it elsewhere" : "no such record");
            out->misplaced++;
        }
        out->more_than_once += atomic_load(&g->times[s]) > 1;
    }
    free(g->pos);
    free(g->times);
    g->pos = NULL;
    g->times = NULL;
}

/* ---- the cluster's state ------------------------------------------------------------------- */

static const char *nem_state(const struct tb_nemesis *n, zhandle_t *zh, int p, char *path,
                             size_t cap)
{
    snprintf(path, cap, "%s/brokers/topics/%s/partitions/%d/state", n->chroot, n->topic, p);
    return tb_zk_get(zh, path, NULL);
}

bool tb_nem_isr_full(const struct tb_nemesis *n, zhandle_t *zh, char *why, size_t cap)
{
    for (int p = 0; p < n->nparts; p++) {
        char path[160];
        const char *st = nem_state(n, zh, p, path, sizeof path);
        if (!st) {
            snprintf(why, cap, "%s: none", path);
            return false;
        }
        const char *isr = strstr(st, "\"isr\":[");
        int commas = 0;
        for (const char *q = isr; q && *q && *q != ']'; q++)
            commas += *q == ',';
        if (tb_zk_json_int(st, "leader") < 1 || !isr || commas != n->nbrokers - 1) {
            snprintf(why, cap, "%s: %s", path, st);
            return false;
        }
    }
    return true;
}

int tb_nem_leader(const struct tb_nemesis *n, zhandle_t *zh, int p)
{
    char path[160];
    return (int)tb_zk_json_int(nem_state(n, zh, p, path, sizeof path), "leader");
}

int tb_nem_leader_epoch(const struct tb_nemesis *n, zhandle_t *zh, int p)
{
    char path[160];
    return (int)tb_zk_json_int(nem_state(n, zh, p, path, sizeof path), "leader_epoch");
}

int tb_nem_isr(const struct tb_nemesis *n, zhandle_t *zh, int p, int *ids, int cap)
{
    char path[160];
    const char *st = nem_state(n, zh, p, path, sizeof path);
    const char *at = st ? strstr(st, "\"isr\":[") : NULL;
    int k = 0;
    if (!at)
        return 0;
    at += 7;
    while (k < cap && *at && *at != ']') {
        char *end;
        long v = strtol(at, &end, 10);
        if (end == at)
            break;
        ids[k++] = (int)v;
        at = *end == ',' ? end + 1 : end;
    }
    return k;
}

void tb_nem_print_states(const struct tb_nemesis *n, zhandle_t *zh, const char *prefix)
{
    char line[1024];
    size_t l = (size_t)snprintf(line, sizeof line, "%s", prefix);
    for (int p = 0; p < n->nparts && l < sizeof line; p++) {
        char path[160];
        const char *st = nem_state(n, zh, p, path, sizeof path);
        const char *isr = st ? strstr(st, "\"isr\":[") : NULL;
        const char *close_ = isr ? strchr(isr, ']') : NULL;
        l += (size_t)snprintf(line + l, sizeof line - l, " %s-%d: leader %ld epoch %ld isr %.*s",
                              n->topic, p, tb_zk_json_int(st, "leader"),
                              tb_zk_json_int(st, "leader_epoch"),
                              close_ ? (int)(close_ - isr - 5) : 1, close_ ? isr + 6 : "?");
    }
    fprintf(stderr, "%s\n", line);
}

/* ---- the replicas -------------------------------------------------------------------------- */

/* The batches of one replica of partition p: their bytes' digest, count and end offset, from
 * the .log segments in offset order, each walked batch by batch. */
struct replica_sum {
    uint64_t digest;
    long batches;
    int64_t end;
};

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replica_sum(const struct tb_nemesis *n, int id, int p, struct replica_sum *out)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s-%d", n->b[id].data, n->topic, p);
    memset(out, 0, sizeof *out);
    XXH64_state_t *h = XXH64_createState();
    XXH64_reset(h, 0);
    DIR *d = opendir(dir);
    if (!d && errno == ENOENT) { /* a partition's directory is made at its first append */
        out->digest = XXH64_digest(h);
        XXH64_freeState(h);
        return;
    }
    ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
    char *names[4096];
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && count < 4096) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".log") == 0)
            names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)count, sizeof names[0], name_cmp);
    for (int i = 0; i < count; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        int fd = open(path, O_RDONLY);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) != 0) {
            if (fd >= 0)
                close(fd);
            continue; /* deleted meanwhile (a roll's rename): the next walk sees it */
        }
        uint8_t *buf = malloc((size_t)sb.st_size + 1);
        ssize_t got = pread(fd, buf, (size_t)sb.st_size, 0);
        close(fd);
        size_t pos = 0, size = got > 0 ? (size_t)got : 0;
        while (pos + 61 <= size) {
            uint64_t base = 0;
            uint32_t len = 0, delta = 0;
            for (int k = 0; k < 8; k++)
                base = base << 8 | buf[pos + (size_t)k];
            for (int k = 0; k < 4; k++)
                len = len << 8 | buf[pos + 8 + (size_t)k];
            for (int k = 0; k < 4; k++)
                delta = delta << 8 | buf[pos + 23 + (size_t)k];
            if (len < 49 || pos + 12 + len > size || buf[pos + 16] != 2)
                break; /* the end of what was written (a preallocated tail is zeros) */
            XXH64_update(h, buf + pos, 12 + (size_t)len);
            out->batches++;
            out->end = (int64_t)base + delta + 1;
            pos += 12 + (size_t)len;
        }
        free(buf);
    }
    out->digest = XXH64_digest(h);
    XXH64_freeState(h);
}

/* The partitions whose replicas still differ after a bounded wait for the followers. */
static int nem_divergent(const struct tb_nemesis *n)
{
    int divergent = 0;
    ck_assert(n->nbrokers <= TB_NEM_BROKERS);
    for (int p = 0; p < n->nparts; p++) {
        struct replica_sum s[TB_NEM_BROKERS + 1];
        int64_t until = tb_now_ms() + 60000;
        for (;;) {
            for (int i = 1; i <= n->nbrokers; i++)
                replica_sum(n, i, p, &s[i]);
            bool same = true;
            for (int i = 2; i <= n->nbrokers; i++)
                same = same && s[i].digest == s[1].digest && s[i].batches == s[1].batches &&
                       s[i].end == s[1].end;
            if (same)
                break;
            if (tb_now_ms() >= until) {
                for (int i = 1; i <= n->nbrokers; i++)
                    fprintf(stderr,
                            "%s-%d on broker %d: %ld batches, end %" PRId64 ", digest %016" PRIx64
                            "\n",
                            n->topic, p, i, s[i].batches, s[i].end, s[i].digest);
                divergent++;
                break;
            }
            tb_sleep_ms(250);
        }
    }
    return divergent;
}

/* ---- reading the log back ------------------------------------------------------------------ */

struct log_check {
    long lost, dups, unacked_in_log, read, acked_no_offset;
};

/* Reads every partition from its leader up to the high watermark with a librdkafka consumer
 * (no group), checking each record against what was acknowledged; logpos[seq] gets each
 * record's place (nem_pos). */
static void check_log(const struct tb_nemesis *n, struct log_check *out, int64_t *logpos)
{
    char bs[256], err[512];
    nem_bootstrap(n, bs, sizeof bs);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(c, "bootstrap.servers", bs, err, sizeof err),
                     RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(c, "group.id", "nemesis-check", err, sizeof err),
                     RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof err),
                     RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    ck_assert_ptr_nonnull(rk);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(n->nparts);
    int64_t hw[TB_NEM_PARTS];
    for (int p = 0; p < n->nparts; p++) {
        int64_t lo = -1;
        hw[p] = -1;
        int64_t until = tb_now_ms() + 60000;
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_query_watermark_offsets(rk, n->topic, p, &lo, &hw[p], 5000)) != 0)
            ck_assert_msg(tb_now_ms() < until, "watermarks of %s-%d: %s", n->topic, p,
                          rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_add(tl, n->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    ck_assert_int_eq(rd_kafka_assign(rk, tl), 0);
    rd_kafka_topic_partition_list_destroy(tl);

    uint8_t *seen = calloc(TB_NEM_MAX_SEQ, 1);
    int64_t next[TB_NEM_PARTS] = {0};
    int done = 0;
    for (int p = 0; p < n->nparts; p++)
        done += hw[p] == 0;
    int64_t until = tb_now_ms() + 120000;
    while (done < n->nparts) {
        ck_assert_msg(tb_now_ms() < until, "reading the log back takes too long");
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err) {
            ck_assert_msg(m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF, "consume: %s",
                          rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int p = m->partition;
        ck_assert(p >= 0 && p < n->nparts);
        if (m->offset >= hw[p]) {
            rd_kafka_message_destroy(m);
            continue;
        }
        ck_assert_msg(m->offset >= next[p], "%s-%d: offset %" PRId64 " after %" PRId64, n->topic, p,
                      m->offset, next[p]);
        next[p] = m->offset + 1;
        out->read++;
        long seq = -1;
        if (m->len == VALUE_LEN && memcmp(m->payload, "seq:", 4) == 0)
            seq = strtol((const char *)m->payload + 4, NULL, 10);
        ck_assert_msg(seq >= 0 && seq < TB_NEM_MAX_SEQ,
                      "%s-%d@%" PRId64 ": not a record of this test", n->topic, p, m->offset);
        if (seen[seq]++)
            out->dups++;
        else
            logpos[seq] = nem_pos(p, m->offset);
        if (atomic_load(&n->recs[seq].state) == TB_NEM_ACKED) {
            /* an idempotent producer acknowledges without an offset (-1001) a batch whose
             * answer it lost but that a later batch's success proves written (librdkafka's
             * PERSISTED status): its partition is still known, and checked */
            bool no_offset = n->recs[seq].offset < 0;
            out->acked_no_offset += no_offset;
            if (n->recs[seq].partition != p || (!no_offset && n->recs[seq].offset != m->offset)) {
                fprintf(stderr,
                        "record %ld acknowledged at %d@%" PRId64 " but read at %d@%" PRId64 "\n",
                        seq, n->recs[seq].partition, n->recs[seq].offset, p, m->offset);
                out->lost++;
            }
        } else {
            out->unacked_in_log++;
        }
        if (next[p] == hw[p])
            done++;
        rd_kafka_message_destroy(m);
    }
    for (long s = 0; s < TB_NEM_MAX_SEQ; s++)
        if (atomic_load(&n->recs[s].state) == TB_NEM_ACKED && !seen[s]) {
            if (out->lost < 10)
                fprintf(stderr, "record %ld acknowledged at %d@%" PRId64 " is not in the log\n", s,
                        n->recs[s].partition, n->recs[s].offset);
            out->lost++;
        }
    free(seen);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* ---- after the faults ---------------------------------------------------------------------- */

void tb_nem_finish(struct tb_nemesis *n, const char *rounds_fmt, ...)
{
    char rounds[512];
    va_list ap;
    va_start(ap, rounds_fmt);
    vsnprintf(rounds, sizeof rounds, rounds_fmt, ap);
    va_end(ap);
    tb_nem_produce_stop(n);
    for (int i = 1; i <= n->nbrokers; i++)
        ck_assert_msg(tb_broker_alive(&n->b[i]), "broker %d died (see %s)", i, n->b[i].log);
    zhandle_t *zh = tb_zk_open(n->z); /* ZooKeeper may have been restarted: a fresh session */
    char why[512] = "";
    int64_t until = tb_now_ms() + 90000;
    while (!tb_nem_isr_full(n, zh, why, sizeof why)) {
        if (tb_now_ms() >= until)
            tb_nem_print_states(n, zh, "the ISR did not recover:");
        ck_assert_msg(tb_now_ms() < until, "the ISR did not recover: %s", why);
        tb_sleep_ms(250);
    }
    zookeeper_close(zh);

    /* replicas: the same batches, byte for byte, once the followers have caught up */
    int divergent = nem_divergent(n);
    struct log_check lc = {0};
    int64_t *logpos = calloc(TB_NEM_MAX_SEQ, sizeof *logpos);
    ck_assert_ptr_nonnull(logpos);
    check_log(n, &lc, logpos);
    struct group_check gc = {0};
    char group_text[512] = "";
    if (n->group.started) {
        group_finish(n, logpos, &gc);
        snprintf(group_text, sizeof group_text,
                 "; a group of %d consumers: given %ld records (%ld more than once), %ld "
                 "rebalances, %ld consumer errors (first: %s), missed %ld, not where the log "
                 "has them %ld",
                 TB_NEM_CONSUMERS, atomic_load(&n->group.given), gc.more_than_once,
                 atomic_load(&n->group.rebalances), atomic_load(&n->group.errors),
                 atomic_load(&n->group.errors) ? n->group.first_error : "-", gc.missed,
                 gc.misplaced);
    }
    free(logpos);
    int64_t gap = 0;
    for (int p = 0; p < n->nparts; p++)
        gap = n->longest_gap_ms[p] > gap ? n->longest_gap_ms[p] : gap;
    fprintf(stderr,
            "%s: the longest pause between two acknowledgements of one partition: %" PRId64 " ms\n",
            n->name, gap);
    fprintf(stderr,
            "%s: %s; records sent %ld, acknowledged %ld, failed %ld (first: %s), left queued %d; "
            "read back %ld (%ld not acknowledged: a failed or timed-out send that was written; "
            "%ld acknowledged without an offset: found once in their partition); "
            "lost %ld, duplicates %ld, divergent replicas %d%s\n",
            n->name, rounds, atomic_load(&n->n_sent), atomic_load(&n->n_acked),
            atomic_load(&n->n_failed), n->first_error[0] ? n->first_error : "-", n->left, lc.read,
            lc.unacked_in_log, lc.acked_no_offset, lc.lost, lc.dups, divergent, group_text);
    ck_assert_msg(!n->fatal_error[0], "the idempotent producer failed: %s", n->fatal_error);
    ck_assert_int_gt(atomic_load(&n->n_acked), 0);
    ck_assert_int_eq(lc.lost, 0);
    ck_assert_int_eq(lc.dups, 0);
    ck_assert_int_eq(divergent, 0);
    ck_assert_int_eq(gc.missed, 0);
    ck_assert_int_eq(gc.misplaced, 0);
    free(n->recs);
    n->recs = NULL;
}

static int seg_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The nth (0: the oldest) sealed segment of dir with its .digest sidecar (not the newest
 * .log): its path in path; false when there is none yet. */
bool tb_nem_sealed_segment(const char *dir, int nth, char *path, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    char *names[1024];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 1024) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".log") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], seg_name_cmp);
    bool found = false;
    for (int i = 0; i + 2 < n && !found; i++) { /* two newer ones: this one is sealed for sure */
        char dg[700];
        snprintf(dg, sizeof dg, "%s/%.*s.digest", dir, (int)(strlen(names[i]) - 4), names[i]);
        if (access(dg, F_OK) == 0 && nth-- == 0) {
            snprintf(path, cap, "%s/%s", dir, names[i]);
            found = true;
        }
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    return found;
}
