/*
 * rk_eos — librdkafka (Debian's 2.0.2) as an idempotent and as a transactional producer
 * against splicelog, built by test_rdkafka_eos.sh against librdkafka-dev (issue 13).
 *
 *   rk_eos idem BROKER TOPIC N ACKED_FILE
 *       enable.idempotence=true, acks=all: produces N keyed records "idem-<i>" and writes the
 *       value of each one librdkafka reports delivered to ACKED_FILE (one per line), spread over
 *       RK_EOS_SECONDS (environment, default 10), while the script kills and restarts the
 *       broker. Exits 0 once every record has a delivery report
 *       (failed ones are counted on stderr), 1 on a fatal error (a sequence desynchronisation
 *       or a rewound sequence would be one: the broker lost or invented producer state).
 *   rk_eos txn BROKER TOPIC INPUT_TOPIC NTXN
 *       transactional.id=rk-eos: NTXN transactions of 100 records "txn-<t>-<j>" over the
 *       topic's partitions, each with send_offsets_to_transaction (group rk-eos-group,
 *       INPUT_TOPIC partition 0, offset t + 1); even t commit, odd t abort. Then a
 *       read_committed consumer and a read_uncommitted one read the topic to its end: the
 *       first must see every committed record exactly once and no aborted one, the second all
 *       of them; the group's committed offset must be the last committed transaction's; a
 *       second producer with the same transactional.id must fence the first (its next commit
 *       fails with a fatal _FENCED). Prints "commit_ms p50 P p99 P n N" and the counts; exit 0
 *       when all holds.
 *   rk_eos txnloop BROKER TOPIC SECONDS COMMITTED_FILE
 *       transactions of 50 records one after the other for SECONDS while the script kills
 *       brokers of a cluster (test_cluster_eos.sh): retriable commit errors retried, abortable
 *       ones aborted, fatal ones exit 1; each confirmed commit's number goes to
 *       COMMITTED_FILE (see run_txnloop).
 */
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "rk_eos: %s: %s\n", what, detail ? detail : "");
    exit(2);
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
        die(k, err);
}

/* Produces a copy of key and value, waiting (polling) while librdkafka's queue is full. */
static void produce_copy(rd_kafka_t *rk, const char *topic, const char *k, int kl, const char *v,
                         int vl)
{
    for (;;) {
        rd_kafka_resp_err_t e =
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(k, (size_t)kl),
                              RD_KAFKA_V_VALUE((char *)v, (size_t)vl), /* (copied) */
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 10);
            continue;
        }
        if (e)
            die("produce", rd_kafka_err2str(e));
        return;
    }
}

/* ---- idempotent ---------------------------------------------------------------------------- */

struct idem {
    FILE *acked;
    long delivered, failed;
    bool fatal;
};

static void idem_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct idem *st = opaque;
    if (m->err) {
        st->failed++;
        fprintf(stderr, "rk_eos: delivery failed: %s\n", rd_kafka_err2str(m->err));
        return;
    }
    st->delivered++;
    fprintf(st->acked, "%.*s\n", (int)m->len, (const char *)m->payload);
}

static void idem_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct idem *st = opaque;
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
    if (orig) {
        st->fatal = true;
        fprintf(stderr, "rk_eos: FATAL %s: %s\n", rd_kafka_err2name(orig), buf);
    } else {
        fprintf(stderr, "rk_eos: (%s) %s\n", rd_kafka_err2name(err), reason);
    }
}

static int run_idem(const char *broker, const char *topic, long n, const char *acked_path)
{
    struct idem st = {0};
    st.acked = fopen(acked_path, "w");
    if (!st.acked)
        die("open", acked_path);
    setvbuf(st.acked, NULL, _IOLBF, 0);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", broker);
    set(c, "enable.idempotence", "true");
    set(c, "acks", "all");
    set(c, "linger.ms", "5");
    set(c, "message.timeout.ms", "300000");
    set(c, "reconnect.backoff.ms", "50");
    set(c, "reconnect.backoff.max.ms", "500");
    set(c, "retry.backoff.ms", "50");
    rd_kafka_conf_set_dr_msg_cb(c, idem_dr);
    rd_kafka_conf_set_error_cb(c, idem_error);
    rd_kafka_conf_set_opaque(c, &st);
    char err[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (!rk)
        die("rd_kafka_new", err);
    const char *secs = getenv("RK_EOS_SECONDS");
    int64_t span_us = (secs ? atoll(secs) : 10) * 1000000LL, t0 = now_us();
    for (long i = 0; i < n && !st.fatal; i++) {
        char v[32], k[32];
        int vl = snprintf(v, sizeof v, "idem-%ld", i);
        int kl = snprintf(k, sizeof k, "k%ld", i % 97);
        produce_copy(rk, topic, k, kl, v, vl);
        if (i % 500 == 0) /* spread over RK_EOS_SECONDS, across the broker's restarts */
            while (now_us() - t0 < (int64_t)((double)i / (double)n * (double)span_us))
                rd_kafka_poll(rk, 5);
        rd_kafka_poll(rk, 0);
    }
    int64_t deadline = now_us() + 280 * 1000000LL;
    while (!st.fatal && rd_kafka_outq_len(rk) > 0 && now_us() < deadline)
        rd_kafka_poll(rk, 100);
    fprintf(stderr, "rk_eos: idempotent: %ld produced, %ld delivered, %ld failed%s\n", n,
            st.delivered, st.failed, st.fatal ? ", FATAL error" : "");
    printf("acked %ld failed %ld\n", st.delivered, st.failed);
    rd_kafka_destroy(rk);
    fclose(st.acked);
    return st.fatal || st.delivered + st.failed != n ? 1 : 0;
}

/* ---- transactional ------------------------------------------------------------------------- */

static void check(rd_kafka_error_t *e, const char *what)
{
    if (!e)
        return;
    fprintf(stderr, "rk_eos: %s: %s%s%s\n", what, rd_kafka_error_string(e),
            rd_kafka_error_is_fatal(e) ? " (fatal)" : "",
            rd_kafka_error_txn_requires_abort(e) ? " (abortable)" : "");
    exit(1);
}

static rd_kafka_t *txn_producer(const char *broker)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", broker);
    set(c, "transactional.id", "rk-eos");
    set(c, "linger.ms", "5");
    char err[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (!rk)
        die("rd_kafka_new", err);
    check(rd_kafka_init_transactions(rk, 30000), "init_transactions");
    return rk;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Reads the whole topic; seen[t][j] counts record txn-t-j. */
static long consume_all(const char *broker, const char *topic, bool committed, int ntxn,
                        unsigned char *seen)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", broker);
    set(c, "group.id", committed ? "rk-eos-rc" : "rk-eos-ru");
    set(c, "isolation.level", committed ? "read_committed" : "read_uncommitted");
    set(c, "auto.offset.reset", "earliest");
    set(c, "enable.partition.eof", "true");
    set(c, "enable.auto.commit", "false");
    char err[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    if (!rk)
        die("rd_kafka_new consumer", err);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(rk, sub))
        die("subscribe", topic);
    rd_kafka_topic_partition_list_destroy(sub);
    long n = 0;
    int eofs = 0, parts = -1;
    int64_t deadline = now_us() + 60 * 1000000LL;
    while (now_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (parts < 0) {
                const struct rd_kafka_metadata *md;
                rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
                if (rd_kafka_metadata(rk, 0, t, &md, 5000) == 0) {
                    parts = md->topics[0].partition_cnt;
                    rd_kafka_metadata_destroy(md);
                }
                rd_kafka_topic_destroy(t);
            }
            eofs++;
            rd_kafka_message_destroy(m);
            if (parts > 0 && eofs >= parts)
                break;
            continue;
        }
        if (m->err) {
            fprintf(stderr, "rk_eos: consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int t, j;
        char v[64];
        snprintf(v, sizeof v, "%.*s", (int)m->len, (const char *)m->payload);
        if (sscanf(v, "txn-%d-%d", &t, &j) == 2 && t >= 0 && t < ntxn && j >= 0 && j < 100) {
            if (seen[t * 100 + j] < 255)
                seen[t * 100 + j]++;
            n++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n;
}

static int run_txn(const char *broker, const char *topic, const char *input, int ntxn)
{
    rd_kafka_t *rk = txn_producer(broker);
    int64_t *lat = calloc((size_t)ntxn, sizeof *lat);
    int nlat = 0;
    rd_kafka_consumer_group_metadata_t *gm = rd_kafka_consumer_group_metadata_new("rk-eos-group");
    int last_committed = -1;
    for (int t = 0; t < ntxn; t++) {
        bool commit = t % 2 == 0;
        check(rd_kafka_begin_transaction(rk), "begin_transaction");
        for (int j = 0; j < 100; j++) {
            char v[32];
            int vl = snprintf(v, sizeof v, "txn-%d-%d", t, j);
            produce_copy(rk, topic, v, vl, v, vl);
        }
        rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(offs, input, 0)->offset = t + 1;
        check(rd_kafka_send_offsets_to_transaction(rk, offs, gm, 30000), "send_offsets");
        rd_kafka_topic_partition_list_destroy(offs);
        /* flushed first, also before an abort: the aborted records must reach the log (an
         * abort purges what was not sent yet) */
        check(rd_kafka_flush(rk, 30000)
                  ? rd_kafka_error_new(RD_KAFKA_RESP_ERR__TIMED_OUT, "flush timed out")
                  : NULL,
              "flush");
        if (commit) {
            int64_t t0 = now_us();
            check(rd_kafka_commit_transaction(rk, 30000), "commit_transaction");
            lat[nlat++] = now_us() - t0;
            last_committed = t;
        } else {
            check(rd_kafka_abort_transaction(rk, 30000), "abort_transaction");
        }
    }
    /* fencing: a second instance with the same transactional.id */
    rd_kafka_t *rk2 = txn_producer(broker);
    check(rd_kafka_begin_transaction(rk), "begin_transaction (zombie)");
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE("zombie", 6),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_error_t *ze = rd_kafka_commit_transaction(rk, 30000);
    bool fenced =
        ze && rd_kafka_error_is_fatal(ze) && rd_kafka_error_code(ze) == RD_KAFKA_RESP_ERR__FENCED;
    fprintf(stderr, "rk_eos: the zombie's commit: %s\n", ze ? rd_kafka_error_string(ze) : "ok");
    if (ze)
        rd_kafka_error_destroy(ze);
    rd_kafka_destroy(rk);
    rd_kafka_destroy(rk2);

    qsort(lat, (size_t)nlat, sizeof *lat, cmp_i64);
    if (nlat > 0)
        printf("commit_ms p50 %.2f p99 %.2f n %d\n", lat[nlat / 2] / 1000.0,
               lat[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1] / 1000.0, nlat);

    unsigned char *rc = calloc((size_t)ntxn * 100, 1), *ru = calloc((size_t)ntxn * 100, 1);
    long nrc = consume_all(broker, topic, true, ntxn, rc);
    long nru = consume_all(broker, topic, false, ntxn, ru);
    long committed_once = 0, aborted_seen = 0, dup = 0, lost = 0, ru_missing = 0;
    for (int t = 0; t < ntxn; t++)
        for (int j = 0; j < 100; j++) {
            unsigned char c = rc[t * 100 + j];
            if (t % 2 == 0) {
                committed_once += c == 1;
                dup += c > 1;
                lost += c == 0;
            } else {
                aborted_seen += c;
            }
            ru_missing += ru[t * 100 + j] == 0;
        }
    printf("read_committed %ld records: committed once %ld, duplicates %ld, lost %ld, aborted "
           "seen %ld; read_uncommitted %ld records, missing %ld; fenced %s\n",
           nrc, committed_once, dup, lost, aborted_seen, nru, ru_missing, fenced ? "yes" : "no");

    /* the group's offset: the last committed transaction's */
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", broker);
    set(c, "group.id", "rk-eos-group");
    char err[256];
    rd_kafka_t *ck = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(q, input, 0);
    rd_kafka_resp_err_t ce = rd_kafka_committed(ck, q, 10000);
    int64_t goff = ce ? -2 : q->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(q);
    rd_kafka_destroy(ck);
    printf("group offset %lld (want %d)\n", (long long)goff, last_committed + 1);

    long want = (long)((ntxn + 1) / 2) * 100;
    bool ok = committed_once == want && dup == 0 && lost == 0 && aborted_seen == 0 &&
              ru_missing == 0 && fenced && goff == last_committed + 1;
    free(lat);
    free(rc);
    free(ru);
    rd_kafka_consumer_group_metadata_destroy(gm);
    return ok ? 0 : 1;
}

/* ---- transactions across broker kills ------------------------------------------------------ */

/* Runs e (a transactional call) again while it fails retriably, at most tries times; returns
 * the last error (NULL: done). */
static rd_kafka_error_t *retrying(rd_kafka_t *rk, bool commit, int tries)
{
    rd_kafka_error_t *e = NULL;
    for (int i = 0; i < tries; i++) {
        if (e)
            rd_kafka_error_destroy(e);
        e = commit ? rd_kafka_commit_transaction(rk, 30000) : rd_kafka_abort_transaction(rk, 30000);
        if (!e || !rd_kafka_error_is_retriable(e))
            return e;
        fprintf(stderr, "rk_eos: %s retriable: %s\n", commit ? "commit" : "abort",
                rd_kafka_error_string(e));
    }
    return e;
}

/*
 * rk_eos txnloop BROKER TOPIC SECONDS COMMITTED_FILE: transactions of 50 keyed records
 * "txl-<t>-<j>" (transactional.id rk-eos-loop) one after the other for SECONDS, while the
 * script kills brokers: a commit that fails retriably is retried, one that needs an abort is
 * aborted (and counted), a fatal error ends the run with exit 1. The number t of every
 * transaction whose commit librdkafka confirmed goes to COMMITTED_FILE, one per line. Prints
 * "committed C aborted A".
 */
static int run_txnloop(const char *broker, const char *topic, int seconds, const char *path)
{
    FILE *out = fopen(path, "w");
    if (!out)
        die("open", path);
    setvbuf(out, NULL, _IOLBF, 0);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", broker);
    set(c, "transactional.id", "rk-eos-loop");
    set(c, "linger.ms", "5");
    set(c, "reconnect.backoff.ms", "50");
    set(c, "reconnect.backoff.max.ms", "500");
    set(c, "retry.backoff.ms", "50");
    char err[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (!rk)
        die("rd_kafka_new", err);
    rd_kafka_error_t *e = NULL;
    for (int i = 0; i < 10; i++) { /* the coordinator may be moving at start */
        e = rd_kafka_init_transactions(rk, 30000);
        if (!e || !rd_kafka_error_is_retriable(e))
            break;
        fprintf(stderr, "rk_eos: init retriable: %s\n", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        e = NULL;
    }
    check(e, "init_transactions");
    int64_t end = now_us() + (int64_t)seconds * 1000000;
    long committed = 0, aborted = 0;
    for (int t = 0; now_us() < end; t++) {
        check(rd_kafka_begin_transaction(rk), "begin_transaction");
        for (int j = 0; j < 50; j++) {
            char v[32];
            int vl = snprintf(v, sizeof v, "txl-%d-%d", t, j);
            produce_copy(rk, topic, v, vl, v, vl);
        }
        e = retrying(rk, true, 20);
        if (!e) {
            fprintf(out, "%d\n", t);
            committed++;
            continue;
        }
        if (rd_kafka_error_is_fatal(e) || !rd_kafka_error_txn_requires_abort(e))
            check(e, "commit_transaction");
        fprintf(stderr, "rk_eos: transaction %d aborted: %s\n", t, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        check(retrying(rk, false, 20), "abort_transaction");
        aborted++;
    }
    printf("committed %ld aborted %ld\n", committed, aborted);
    rd_kafka_destroy(rk);
    fclose(out);
    return committed > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "idem") == 0)
        return run_idem(argv[2], argv[3], atol(argv[4]), argv[5]);
    if (argc == 6 && strcmp(argv[1], "txn") == 0)
        return run_txn(argv[2], argv[3], argv[4], atoi(argv[5]));
    if (argc == 6 && strcmp(argv[1], "txnloop") == 0)
        return run_txnloop(argv[2], argv[3], atoi(argv[4]), argv[5]);
    fprintf(stderr, "usage: rk_eos idem BROKER TOPIC N ACKED_FILE | "
                    "rk_eos txn BROKER TOPIC INPUT_TOPIC NTXN | "
                    "rk_eos txnloop BROKER TOPIC SECONDS COMMITTED_FILE\n");
    return 2;
}
