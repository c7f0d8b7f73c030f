/*
 * test_cluster_tls — replication over an SSL inter-broker listener (issue 18,
 * docs/cluster.md "Inter-broker listener"): a real ZooKeeper and three splicelogd processes,
 * each with listeners PLAINTEXT + SSL and inter.broker.listener.name=SSL, the SSL listener
 * requiring a client certificate (ssl.client.auth=required) signed by the test CA; every
 * broker presents tb_certs.sh's broker.pem (serverAuth + clientAuth, IP:127.0.0.1).
 *
 * replicates_over_tls: an RF-3 topic of 3 partitions; acks=all produces over PLAINTEXT to
 * every leader succeed (the high watermark moves only once both followers fetched, over TLS:
 * their fetchers log the established session), every ISR holds the three brokers; a follower
 * killed with SIGKILL and restarted catches up (its ISRs hold three again) and its fetchers
 * connect over TLS again. Before, the fetchers spoke PLAINTEXT to the SSL listener, which
 * dropped them, and acks=all timed out.
 *
 * untrusted_ca_does_not_replicate: broker 3's ssl.ca.location is a CA that signed none of the
 * brokers' certificates: its fetchers refuse brokers 1 and 2 (a log line naming the peer
 * broker and "certificate verify failed"), and the partitions it follows never have it in
 * their ISR (it leaves within replica.lag.time.max.ms and stays out), while acks=all to
 * them goes on with the other two.
 *
 * markers_over_tls: the transaction markers sender (br_clu_markers) with a broker's TLS client
 * context writes an ABORT marker at every leader through the SSL listeners (client
 * certificates required); with a CA that trusts no broker it gets -EAGAIN (retried later).
 *
 * sasl_inter_broker_listener_is_refused: inter.broker.listener.name naming a SASL_PLAINTEXT
 * listener stops the broker's start with an error naming it.
 *
 * Every wait is bounded; skipped, saying so, without java or Debian's zookeeper package.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_clu_link.h"
#include "br_clu_markers.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_kafka.h"
#include "tb_tls.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define LAG_MS     3000
#define WAIT_MS    60000
#define NBROKERS   3
#define NPARTS     3

static struct tb_broker B[NBROKERS + 1];
static char CERTS[512];
static const char *CHROOT;
static const char *TOPIC;

static void teardown(void)
{
    for (int i = 0; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
    if (CERTS[0])
        tb_certs_cleanup(CERTS);
    CERTS[0] = 0;
}

/* Broker id with the SSL inter-broker listener; ca: its ssl.ca.location (a file of CERTS). */
static int start_broker(int id, const char *ca)
{
    char cert[700], key[700], cafile[700], p[600];
    snprintf(cert, sizeof cert, "ssl.certificate.location=%s",
             tb_cert_path(p, sizeof p, CERTS, "broker.pem"));
    snprintf(key, sizeof key, "ssl.key.location=%s",
             tb_cert_path(p, sizeof p, CERTS, "broker.key"));
    snprintf(cafile, sizeof cafile, "ssl.ca.location=%s", tb_cert_path(p, sizeof p, CERTS, ca));
    char lag[64];
    snprintf(lag, sizeof lag, "replica.lag.time.max.ms=%d", LAG_MS);
    const char *const more[] = {"-o", "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
                                "-o", "inter.broker.listener.name=SSL",
                                "-o", cert,
                                "-o", key,
                                "-o", cafile,
                                "-o", "ssl.client.auth=required",
                                "-o", "replica.fetch.backoff.ms=200",
                                "-o", lag,
                                NULL};
    return tb_zk_broker_start(&B[id], &tb_clu_zk, CHROOT, id, SESSION_MS, NULL, more);
}

static void start_cluster(const char *ca3)
{
    int rc = tb_certs_make(CERTS, sizeof CERTS);
    ck_assert_msg(rc == 0, "tb_certs_make: %s", strerror(-rc));
    for (int i = 1; i <= NBROKERS; i++) {
        rc = start_broker(i, i == 3 ? ca3 : "ca.pem");
        ck_assert_msg(rc == 0, "broker %d: %s (log %s)", i, strerror(-rc), B[i].log);
    }
}

/* Every partition's leader as b's Metadata says (-1 none); true when each has one. */
static bool leaders(const struct tb_broker *b, int32_t *lead)
{
    const struct tb_metadata *m = tb_clu_metadata(b->port, TOPIC);
    bool all = m->n_topics == 1 && m->topic[0].n_parts == NPARTS;
    for (int p = 0; p < NPARTS; p++) {
        lead[p] = all ? m->topic[0].part[p].leader : -1;
        all = all && lead[p] >= 1 && lead[p] <= NBROKERS && B[lead[p]].pid;
    }
    return all;
}

static void wait_leaders(const struct tb_broker *b, int32_t *lead)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    while (!leaders(b, lead)) {
        ck_assert_msg(tb_now_ms() < until, "no leader for every partition of %s", TOPIC);
        tb_sleep_ms(100);
    }
}

/* One acks=all produce (tb_produce: 10 s timeout) of n records to partition p through broker
 * id over PLAINTEXT: Kafka's error code. */
static int16_t produce_all(int id, int p, int n)
{
    static int first;
    uint8_t batch[4096];
    long bl = tb_batch_values(batch, sizeof batch, "tls", first, n, 32, false, 0);
    ck_assert_int_gt(bl, 0);
    first += n;
    int fd = tb_connect(B[id].port);
    ck_assert_int_ge(fd, 0);
    struct tb_produce_resp out;
    int rc = tb_produce(fd, TOPIC, p, batch, (size_t)bl, &out);
    close(fd);
    ck_assert_msg(rc == 0, "produce through broker %d: %s", id, strerror(-rc));
    return out.error;
}

/* Produces with acks=all to partition p's current leader until it is answered without error
 * (a leader just elected, or an ISR still shrinking, answers otherwise for a while). */
static void produce_until_ok(int p)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    int16_t err = -1;
    for (;;) {
        int32_t lead[NPARTS];
        if (leaders(B[1].pid ? &B[1] : &B[2], lead) && (err = produce_all(lead[p], p, 5)) == 0)
            return;
        ck_assert_msg(tb_now_ms() < until, "acks=all to %s-%d: error %d", TOPIC, p, err);
        tb_sleep_ms(200);
    }
}

/* TOPIC-p's ISR in ZooKeeper (the state znode's "isr" array, e.g. "1,2,3"; static buffer). */
static const char *zk_isr(zhandle_t *zh, int p)
{
    static char isr[64];
    char path[256];
    snprintf(path, sizeof path, "%s/brokers/topics/%s/partitions/%d/state", CHROOT, TOPIC, p);
    const char *st = tb_zk_get(zh, path, NULL);
    const char *a = st ? strstr(st, "\"isr\":[") : NULL;
    isr[0] = 0;
    if (a) {
        a += 7;
        size_t l = strcspn(a, "]");
        snprintf(isr, sizeof isr, "%.*s", (int)(l < sizeof isr ? l : sizeof isr - 1), a);
    }
    return isr;
}

static void wait_full_isr(zhandle_t *zh, int p)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    while (strlen(zk_isr(zh, p)) != 5) {
        ck_assert_msg(tb_now_ms() < until, "%s-%d: ISR [%s], want three", TOPIC, p, zk_isr(zh, p));
        tb_sleep_ms(200);
    }
}

START_TEST(replicates_over_tls)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_tls");
    CHROOT = "/tls";
    TOPIC = "tls";
    start_cluster("ca.pem");
    tb_clu_create_topic(B[1].port, TOPIC, NPARTS, 3);
    int32_t lead[NPARTS];
    wait_leaders(&B[1], lead);
    for (int p = 0; p < NPARTS; p++)
        produce_until_ok(p);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_ptr_nonnull(zh);
    for (int p = 0; p < NPARTS; p++)
        wait_full_isr(zh, p);
    /* every broker follows someone: its fetchers say the session is TLS */
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_msg(tb_log_wait(&B[i], "replica: TLS established with broker", 10000),
                      "broker %d: no TLS session to a leader (log %s)", i, B[i].log);

    /* a follower of partition 0 killed and restarted: it catches up over TLS */
    int victim = lead[0] % NBROKERS + 1;
    ck_assert_int_ge(tb_broker_stop(&B[victim], SIGKILL), 0);
    B[victim].pid = 0;
    for (int k = 0; k < 3; k++)
        for (int p = 0; p < NPARTS; p++)
            produce_until_ok(p);
    ck_assert_int_eq(start_broker(victim, "ca.pem"), 0);
    for (int p = 0; p < NPARTS; p++)
        produce_until_ok(p);
    for (int p = 0; p < NPARTS; p++)
        wait_full_isr(zh, p);
    ck_assert_msg(tb_log_count(&B[victim], "replica: TLS established with broker") >= 2,
                  "restarted broker %d: no TLS session again (log %s)", victim, B[victim].log);
    zookeeper_close(zh);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

START_TEST(untrusted_ca_does_not_replicate)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_tls");
    CHROOT = "/tlsbad";
    TOPIC = "tlsbad";
    start_cluster("other-ca.pem");
    tb_clu_create_topic(B[1].port, TOPIC, NPARTS, 3);
    int32_t lead[NPARTS];
    wait_leaders(&B[1], lead);
    int peer = lead[0] != 3 ? lead[0] : lead[1] != 3 ? lead[1] : lead[2];
    ck_assert_msg(peer != 3, "broker 3 leads every partition");
    /* broker 3's fetcher names the leader it refuses, and why */
    char needle[64];
    snprintf(needle, sizeof needle, "replica: connection to broker %d at 127.0.0.1:", peer);
    ck_assert_msg(tb_log_wait_line(&B[3], needle, NULL, WAIT_MS), "broker 3: no '%s' (log %s)",
                  needle, B[3].log);
    ck_assert_msg(tb_log_wait(&B[3], "certificate verify failed", 1000), "log %s", B[3].log);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_ptr_nonnull(zh);
    for (int p = 0; p < NPARTS; p++) {
        if (lead[p] == 3)
            continue;
        produce_until_ok(p); /* once broker 3 left the ISR, acks=all needs the other two */
        int64_t until = tb_now_ms() + WAIT_MS;
        while (strchr(zk_isr(zh, p), '3')) {
            ck_assert_msg(tb_now_ms() < until, "%s-%d: ISR [%s] keeps broker 3", TOPIC, p,
                          zk_isr(zh, p));
            tb_sleep_ms(200);
        }
    }
    /* and it stays out: more than a lag time later, with records flowing */
    int64_t until = tb_now_ms() + 2 * LAG_MS;
    while (tb_now_ms() < until) {
        for (int p = 0; p < NPARTS; p++) {
            if (lead[p] == 3)
                continue;
            produce_until_ok(p);
            ck_assert_msg(!strchr(zk_isr(zh, p), '3'), "%s-%d: broker 3 joined the ISR [%s]", TOPIC,
                          p, zk_isr(zh, p));
        }
        tb_sleep_ms(300);
    }
    ck_assert_msg(!tb_log_contains(&B[3], "replica: TLS established with broker"), "log %s",
                  B[3].log);
    zookeeper_close(zh);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

/* The markers sender's view (br_clu_markers_conf): the leaders of TOPIC, the SSL endpoints. */
static int32_t LEAD[NPARTS];

static int32_t view_leader(void *arg, const char *topic, size_t len, int32_t p)
{
    (void)arg;
    if (len != strlen(TOPIC) || memcmp(topic, TOPIC, len) != 0 || p < 0 || p >= NPARTS)
        return -ENOENT;
    return LEAD[p];
}

static int view_endpoint(void *arg, int32_t id, char *host, size_t cap, int32_t *port)
{
    (void)arg;
    if (id < 1 || id > NBROKERS || B[id].pid <= 0)
        return -ENOENT;
    snprintf(host, cap, "127.0.0.1");
    *port = tb_listener_port(&B[id], "SSL");
    return *port > 0 ? 0 : -ENOENT;
}

/* A client context as a broker's, with ca as its ssl.ca.location. */
static struct br_clu_tls *broker_tls(const char *ca)
{
    struct br_tls_conf c;
    br_tls_conf_init(&c);
    char p[600];
    snprintf(c.certificate, sizeof c.certificate, "%s",
             tb_cert_path(p, sizeof p, CERTS, "broker.pem"));
    snprintf(c.key, sizeof c.key, "%s", tb_cert_path(p, sizeof p, CERTS, "broker.key"));
    snprintf(c.ca, sizeof c.ca, "%s", tb_cert_path(p, sizeof p, CERTS, ca));
    struct br_clu_tls *t = NULL;
    char err[512] = "";
    ck_assert_msg(br_clu_tls_new(&c, true, &t, err, sizeof err) == 0, "%s", err);
    return t;
}

/* The transaction markers sender (br_clu_markers, as a coordinator uses it) over the SSL
 * listeners, which require a client certificate: an ABORT marker for a producer reaches every
 * leader (answered once replicated); with a CA that trusts no broker, -EAGAIN (retried). */
START_TEST(markers_over_tls)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_tls");
    signal(SIGPIPE, SIG_IGN); /* as the broker (br_clu_link.h) */
    CHROOT = "/tlsmarkers";
    TOPIC = "tlsmarkers";
    start_cluster("ca.pem");
    tb_clu_create_topic(B[1].port, TOPIC, NPARTS, 3);
    wait_leaders(&B[1], LEAD);
    for (int p = 0; p < NPARTS; p++)
        produce_until_ok(p); /* (every ISR caught up: a marker's answer waits for it) */
    struct br_clu_tls *bad = broker_tls("other-ca.pem");
    struct br_clu_markers_conf mc = {.broker_id = 99,
                                     .leader = view_leader,
                                     .endpoint = view_endpoint,
                                     .tls = bad,
                                     .handshake_ms = 3000};
    struct br_clu_markers *m = NULL;
    ck_assert_int_eq(br_clu_markers_new(&mc, &m), 0);
    struct br_clu_marker_part one = {TOPIC, strlen(TOPIC), 0, 1};
    ck_assert_int_eq(br_clu_markers_write(m, 4242, 0, false, 0, &one, 1, tb_now_ms() + 10000), 0);
    ck_assert_int_eq(one.rc, -EAGAIN);
    br_clu_markers_free(m);
    br_clu_tls_free(bad);

    struct br_clu_tls *good = broker_tls("ca.pem");
    mc.tls = good;
    ck_assert_int_eq(br_clu_markers_new(&mc, &m), 0);
    struct br_clu_marker_part parts[NPARTS];
    for (int p = 0; p < NPARTS; p++)
        parts[p] = (struct br_clu_marker_part){TOPIC, strlen(TOPIC), p, 1};
    ck_assert_int_eq(br_clu_markers_write(m, 4242, 0, false, 0, parts, NPARTS, tb_now_ms() + 40000),
                     0);
    for (int p = 0; p < NPARTS; p++)
        ck_assert_msg(parts[p].rc == 0, "partition %d at broker %d: %d", p, (int)LEAD[p],
                      parts[p].rc);
    br_clu_markers_free(m);
    br_clu_tls_free(good);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

/* SASL between brokers is not done: a SASL inter-broker listener stops the start with an
 * error naming it (it was a warning, and followers then spoke PLAINTEXT to it). */
START_TEST(sasl_inter_broker_listener_is_refused)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_tls");
    CHROOT = "/tlssasl";
    const char *const more[] = {
        "-o", "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "-o", "sasl.enabled.mechanisms=SCRAM-SHA-256",
        "-o", "inter.broker.listener.name=SASL_PLAINTEXT",
        NULL};
    int rc = tb_zk_broker_start(&B[1], &tb_clu_zk, CHROOT, 1, SESSION_MS, NULL, more);
    ck_assert_msg(rc != 0, "the broker started (log %s)", B[1].log);
    ck_assert_msg(tb_log_contains(&B[1], "inter.broker.listener.name=SASL_PLAINTEXT is "
                                         "SASL_PLAINTEXT: SASL between brokers is not done"),
                  "log %s", B[1].log);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_tls");
    TCase *tc = tb_clu_tcase("tls", teardown, 300);
    tcase_add_test(tc, replicates_over_tls);
    tcase_add_test(tc, untrusted_ca_does_not_replicate);
    tcase_add_test(tc, markers_over_tls);
    tcase_add_test(tc, sasl_inter_broker_listener_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
