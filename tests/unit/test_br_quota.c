/*
 * test_br_quota — client quotas (broker/sec/br_quota*.c) with an injected clock: Kafka's
 * ClientQuotaManagerTest.testQuotaViolation to the millisecond (2100 ms for the spike, the
 * burst rolling out of the window) and testQuotaConfigPrecedence case by case (the eight levels,
 * sharing by user, by client id and by (user, client id), counters restarting when the
 * resolved entity changes); Rate's window rules; request_percentage's cap; fetch's unrecord;
 * getMaxValueInQuotaWindow; settings validated as Kafka does (entities, keys, values > 0,
 * whole byte rates, validate_only) and durable across a reopen; DescribeClientQuotas filters
 * (exact, default, specified, strict); sensors outliving a reconnect and expiring after an hour;
 * a damaged file refused.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "br_cred.h"
#include "br_quota.h"
#include "kp_buf.h"
#include "kp_crc32c.h"
#include "test_st_util.h"

static char dir[256], file[512];
static int nlines;
static char last_line[8192];

static void log_fn(void *arg, const char *msg)
{
    (void)arg;
    nlines++;
    snprintf(last_line, sizeof last_line, "%s", msg);
}

static void setup(void)
{
    tst_mkdtemp(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/%s/%s", dir, BR_SECURITY_DIR, BR_QUOTA_FILE);
    nlines = 0;
}

static void teardown(void) { tst_rmrf(dir); }

static struct br_quotas *open_q(int samples, int64_t window_ms)
{
    struct br_quotas_conf c = {dir, samples, window_ms, log_fn, NULL};
    struct br_quotas *q = NULL;
    ck_assert_int_eq(br_quotas_open(&c, &q), 0);
    return q;
}

#define S(lit) ((struct kp_str){(lit), (int32_t)strlen(lit)})
#define DEF    ((struct kp_str){NULL, -1})

enum { A = BR_QE_ABSENT, D = BR_QE_DEFAULT, N = BR_QE_NAMED };

/* Sets (or removes, value 0) one quota of type t on an entity. */
static void set_quota(struct br_quotas *q, uint8_t uk, const char *u, uint8_t ck, const char *c,
                      enum br_quota_type t, double value)
{
    struct br_quota_op op = {t, value, value == 0};
    struct br_quota_alter a = {{uk, ck, u ? S(u) : DEF, c ? S(c) : DEF}, &op, 1, 99, NULL};
    ck_assert_int_eq(br_quotas_alter(q, &a, 1, false), 0);
    ck_assert_msg(a.result == 0, "alter refused: %s", a.why);
}

/* ---- Kafka's ClientQuotaManagerTest ---------------------------------------------------------- */

START_TEST(t_quota_violation)
{
    struct br_quotas *q = open_q(11, 1000);
    set_quota(q, A, NULL, D, NULL, BR_QUOTA_PRODUCE, 500); /* client-id <default> */
    struct br_quota_client c;
    ck_assert_int_eq(br_quota_client_init(q, &c, "ANONYMOUS", 9, "unknown", 7), 0);
    int64_t t = 1000000;
    /* 10 s of 400 B/s under a 500 B/s quota: never throttled. */
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(br_quota_record(q, &c, BR_QUOTA_PRODUCE, 400, t), 0);
        t += 1000;
    }
    /* A spike: 400*10 + 2300 = 6300 bytes over 10.5 s = 600 B/s;
     * (600 - 500) / 500 * 10.5 s = 2100 ms (Kafka's number). */
    t += 500;
    int64_t throttle = br_quota_record(q, &c, BR_QUOTA_PRODUCE, 2300, t);
    ck_assert_int_eq(throttle, 2100);
    t += throttle;
    /* Delays go on until the bursty sample has rolled over. */
    for (int i = 0; i < 10; i++) {
        br_quota_record(q, &c, BR_QUOTA_PRODUCE, 400, t);
        t += 1000;
    }
    ck_assert_int_eq(br_quota_record(q, &c, BR_QUOTA_PRODUCE, 0, t), 0);
    br_quota_client_release(q, &c);
    br_quotas_close(q);
}
END_TEST

/* checkQuota: the bound, the window maximum, and whether value * samples throttles. */
static void check_quota(struct br_quotas *q, const char *user, const char *client, double bound,
                        double value, bool expect_throttle, int64_t now)
{
    struct br_quota_client c;
    ck_assert_int_eq(br_quota_client_init(q, &c, user, strlen(user), client, strlen(client)), 0);
    ck_assert_msg(br_quota_bound(q, &c, BR_QUOTA_PRODUCE) == bound, "%s/%s: bound %f, want %f",
                  user, client, br_quota_bound(q, &c, BR_QUOTA_PRODUCE), bound);
    ck_assert(fabs(br_quota_max_in_window(q, &c, BR_QUOTA_PRODUCE) - bound * 10) < 0.01);
    int64_t ms = br_quota_record(q, &c, BR_QUOTA_PRODUCE, value * 11, now);
    ck_assert_msg(expect_throttle ? ms > 0 : ms == 0, "%s/%s %f: throttle %lld", user, client,
                  value, (long long)ms);
    br_quota_client_release(q, &c);
}

START_TEST(t_quota_config_precedence)
{
    struct br_quotas *q = open_q(11, 1000);
    enum br_quota_type P = BR_QUOTA_PRODUCE;
    set_quota(q, D, NULL, A, NULL, P, 1000);
    set_quota(q, A, NULL, D, NULL, P, 2000);
    set_quota(q, D, NULL, D, NULL, P, 3000);
    set_quota(q, N, "userA", A, NULL, P, 4000);
    set_quota(q, N, "userA", N, "client1", P, 5000);
    set_quota(q, N, "userB", A, NULL, P, 6000);
    set_quota(q, N, "userB", N, "client1", P, 7000);
    set_quota(q, N, "userB", D, NULL, P, 8000);
    set_quota(q, N, "userC", A, NULL, P, 10000);
    set_quota(q, A, NULL, N, "client1", P, 9000);
    int64_t t = 5000;

    check_quota(q, "userA", "client1", 5000, 4500, false, t); /* <user, client> over <user> */
    check_quota(q, "userA", "client2", 4000, 4500, true, t);  /* <user> over <client>, defaults */
    check_quota(q, "userA", "client3", 4000, 0, true, t);     /* <user> shared across clients */
    check_quota(q, "userA", "client1", 5000, 0, false, t);    /* <user, client> is exclusive */

    check_quota(q, "userB", "client1", 7000, 8000, true, t);
    check_quota(q, "userB", "client2", 8000, 7000, false, t); /* default client, per client */
    check_quota(q, "userB", "client3", 8000, 7000, false, t);

    check_quota(q, "userD", "client1", 3000, 3500, true, t); /* default <user, client> */
    check_quota(q, "userD", "client2", 3000, 2500, false, t);
    check_quota(q, "userE", "client1", 3000, 2500, false, t);

    /* Remove default <user, client>: back to the <user> default. */
    set_quota(q, D, NULL, D, NULL, P, 0);
    check_quota(q, "userD", "client1", 1000, 0, false, t); /* tags changed: counter restarts */
    check_quota(q, "userE", "client4", 1000, 1500, true, t);
    check_quota(q, "userF", "client4", 1000, 800, false, t); /* <user> default shared per user */
    check_quota(q, "userF", "client5", 1000, 800, true, t);

    /* Remove the <user> default: back to the <client-id> default. */
    set_quota(q, D, NULL, A, NULL, P, 0);
    check_quota(q, "userF", "client4", 2000, 0, false, t); /* shared by a client id's users */
    check_quota(q, "userF", "client5", 2000, 0, false, t);
    check_quota(q, "userF", "client5", 2000, 2500, true, t);
    check_quota(q, "userG", "client5", 2000, 0, true, t);

    /* Updates. */
    set_quota(q, N, "userA", A, NULL, P, 8000);
    set_quota(q, N, "userA", N, "client1", P, 10000);
    check_quota(q, "userA", "client2", 8000, 0, false, t);
    check_quota(q, "userA", "client2", 8000, 4500, true, t); /* the sum of new and earlier */
    check_quota(q, "userA", "client1", 10000, 0, false, t);
    check_quota(q, "userA", "client1", 10000, 6000, true, t);
    set_quota(q, N, "userA", N, "client1", P, 0);
    check_quota(q, "userA", "client6", 8000, 0, true, t); /* the shared user quota */
    set_quota(q, N, "userA", N, "client6", P, 11000);
    check_quota(q, "userA", "client6", 11000, 8500, false, t);
    set_quota(q, N, "userA", D, NULL, P, 12000);
    set_quota(q, N, "userA", N, "client6", P, 0);
    check_quota(q, "userA", "client6", 12000, 4000, true, t);
    br_quotas_close(q);
}
END_TEST

/* ---- rates -------------------------------------------------------------------------------------
 */

START_TEST(t_rate_window_rules)
{
    struct br_rate r = {0};
    /* At the very start the window counts samples-1 full samples: 1000 bytes now = 100 B/s. */
    br_rate_record(&r, 11, 1000, 1000, 0);
    ck_assert_int_eq(br_rate_window_ms(&r, 11, 1000, 0), 10000);
    ck_assert(br_rate_measure(&r, 11, 1000, 0) == 100.0);
    /* 15 s later with one record a second: the window is the span of the retained samples. */
    for (int64_t t = 1000; t <= 15000; t += 1000)
        br_rate_record(&r, 11, 1000, 1000, t);
    int64_t w = br_rate_window_ms(&r, 11, 1000, 15000);
    ck_assert_int_ge(w, 10000);
    ck_assert_int_le(w, 12000);
    /* 11 samples of 1000 (the current one included) over the 10 s since the oldest: 1100. */
    ck_assert(br_rate_measure(&r, 11, 1000, 15000) == 1100.0);
    /* After a silence longer than the whole span everything is purged. */
    ck_assert(br_rate_measure(&r, 11, 1000, 15000 + 11000) == 0.0);
    /* Negative records (unrecord) take values back. */
    struct br_rate r2 = {0};
    br_rate_record(&r2, 2, 1000, 500, 0);
    br_rate_record(&r2, 2, 1000, -500, 0);
    ck_assert(br_rate_measure(&r2, 2, 1000, 0) == 0.0);
}
END_TEST

START_TEST(t_request_percentage_and_unrecord)
{
    struct br_quotas *q = open_q(11, 1000);
    set_quota(q, N, "u", A, NULL, BR_QUOTA_REQUEST, 10); /* 10% of a thread */
    set_quota(q, N, "u", A, NULL, BR_QUOTA_FETCH, 1000);
    struct br_quota_client c;
    ck_assert_int_eq(br_quota_client_init(q, &c, "u", 1, "", 0), 0);
    /* 5 s of thread time at once: far over; the throttle is capped at one window (1 s). */
    int64_t ms =
        br_quota_record(q, &c, BR_QUOTA_REQUEST, br_quota_request_value(5000000000LL), 100);
    ck_assert_int_eq(ms, 1000);
    ck_assert(br_quota_request_value(1000000000LL) == 100.0);
    /* A throttled fetch is answered empty: its bytes are taken back. */
    ck_assert_int_gt(br_quota_record(q, &c, BR_QUOTA_FETCH, 50000, 100), 0);
    br_quota_unrecord(q, &c, BR_QUOTA_FETCH, 50000, 100);
    ck_assert_int_eq(br_quota_record(q, &c, BR_QUOTA_FETCH, 100, 100), 0);
    /* No quota of a type: nothing recorded, never throttled. */
    ck_assert_int_eq(br_quota_record(q, &c, BR_QUOTA_PRODUCE, 1e12, 100), 0);
    ck_assert(br_quota_bound(q, &c, BR_QUOTA_PRODUCE) == 0);
    /* controller_mutation_rate is stored and resolved, never enforced. */
    set_quota(q, N, "u", A, NULL, BR_QUOTA_MUTATION, 1);
    ck_assert(br_quota_bound(q, &c, BR_QUOTA_MUTATION) == 1);
    ck_assert_int_eq(br_quota_record(q, &c, BR_QUOTA_MUTATION, 1e9, 100), 0);
    br_quota_client_release(q, &c);
    br_quotas_close(q);
}
END_TEST

START_TEST(t_sensors_survive_reconnect_then_expire)
{
    struct br_quotas *q = open_q(11, 1000);
    set_quota(q, N, "u", A, NULL, BR_QUOTA_PRODUCE, 1000);
    struct br_quota_client c;
    ck_assert_int_eq(br_quota_client_init(q, &c, "u", 1, "a", 1), 0);
    ck_assert_int_eq(br_quota_record(q, &c, BR_QUOTA_PRODUCE, 9000, 0), 0);
    br_quota_client_release(q, &c);
    ck_assert_uint_eq(br_quotas_maintain(q, 1000), 1);
    /* Reconnecting (even with another client id: the quota is per user) keeps the rate. */
    ck_assert_int_eq(br_quota_client_init(q, &c, "u", 1, "b", 1), 0);
    ck_assert_int_gt(br_quota_record(q, &c, BR_QUOTA_PRODUCE, 2000, 0), 0);
    br_quota_client_release(q, &c);
    /* An hour without use: gone. */
    ck_assert_uint_eq(br_quotas_maintain(q, BR_QUOTA_EXPIRE_MS - 1), 1);
    ck_assert_uint_eq(br_quotas_maintain(q, BR_QUOTA_EXPIRE_MS), 0);
    /* A bound sensor never expires. */
    ck_assert_int_eq(br_quota_client_init(q, &c, "u", 1, "b", 1), 0);
    br_quota_record(q, &c, BR_QUOTA_PRODUCE, 1, 0);
    ck_assert_uint_eq(br_quotas_maintain(q, 10 * BR_QUOTA_EXPIRE_MS), 1);
    br_quota_client_release(q, &c);
    br_quotas_close(q);
}
END_TEST

/* ---- settings -------------------------------------------------------------------------------- */

START_TEST(t_alter_validation_and_durability)
{
    struct br_quotas *q = open_q(11, 1000);
    struct br_quota_op ok[] = {{BR_QUOTA_PRODUCE, 1024, false}, {BR_QUOTA_REQUEST, 12.5, false}};
    struct br_quota_op frac[] = {{BR_QUOTA_FETCH, 10.5, false}};
    struct br_quota_op zero[] = {{BR_QUOTA_REQUEST, 0, false}};
    struct br_quota_op neg[] = {{BR_QUOTA_PRODUCE, -1, false}};
    struct br_quota_op nan_op[] = {{BR_QUOTA_PRODUCE, NAN, false}};
    struct br_quota_alter a[] = {
        {{N, A, S("alice"), DEF}, ok, 2, 99, NULL}, {{D, N, DEF, S("c1")}, frac, 1, 99, NULL},
        {{A, D, DEF, DEF}, zero, 1, 99, NULL},      {{A, A, DEF, DEF}, ok, 1, 99, NULL},
        {{N, A, S("bob"), DEF}, neg, 1, 99, NULL},  {{N, A, S("carol"), DEF}, nan_op, 1, 99, NULL},
    };
    ck_assert_int_eq(br_quotas_alter(q, a, 6, false), 0);
    ck_assert_int_eq(a[0].result, 0);
    for (int i = 1; i < 6; i++)
        ck_assert_msg(a[i].result == -EINVAL && a[i].why, "entry %d: %d", i, a[i].result);
    ck_assert_ptr_nonnull(strstr(a[1].why, "whole number"));
    ck_assert_ptr_nonnull(strstr(a[2].why, "greater than 0"));
    /* validate_only: judged, not applied. */
    struct br_quota_alter v = {{N, A, S("dave"), DEF}, ok, 1, 99, NULL};
    ck_assert_int_eq(br_quotas_alter(q, &v, 1, true), 0);
    ck_assert_int_eq(v.result, 0);
    br_quotas_close(q);

    q = open_q(11, 1000);
    struct br_quota_client c;
    ck_assert_int_eq(br_quota_client_init(q, &c, "alice", 5, "x", 1), 0);
    ck_assert(br_quota_bound(q, &c, BR_QUOTA_PRODUCE) == 1024);
    ck_assert(br_quota_bound(q, &c, BR_QUOTA_REQUEST) == 12.5);
    br_quota_client_release(q, &c);
    ck_assert_int_eq(br_quota_client_init(q, &c, "dave", 4, "x", 1), 0);
    ck_assert(br_quota_bound(q, &c, BR_QUOTA_PRODUCE) == 0);
    br_quota_client_release(q, &c);
    /* Removing every value drops the entity from the file. */
    struct br_quota_op rm[] = {{BR_QUOTA_PRODUCE, 0, true}, {BR_QUOTA_REQUEST, 0, true}};
    struct br_quota_alter r = {{N, A, S("alice"), DEF}, rm, 2, 99, NULL};
    ck_assert_int_eq(br_quotas_alter(q, &r, 1, false), 0);
    br_quotas_close(q);
    size_t len;
    uint8_t *b = tst_slurp(file, &len);
    ck_assert_uint_eq(len, 16); /* the header alone */
    free(b);
}
END_TEST

START_TEST(t_wire_entities_and_filters)
{
    struct br_quota_entity e;
    const char *why;
    struct kp_quota_entity uc[] = {{S("user"), S("alice")}, {S("client-id"), DEF}};
    ck_assert_int_eq(br_quota_entity_from_wire(uc, 2, &e, &why), 0);
    ck_assert_int_eq(e.user_kind, N);
    ck_assert_int_eq(e.client_kind, D);
    ck_assert_int_eq(br_quota_entity_from_wire(uc, 0, &e, &why), -EINVAL);
    struct kp_quota_entity dup[] = {{S("user"), S("a")}, {S("user"), S("b")}};
    ck_assert_int_eq(br_quota_entity_from_wire(dup, 2, &e, &why), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "duplicate"));
    struct kp_quota_entity empty[] = {{S("client-id"), S("")}};
    ck_assert_int_eq(br_quota_entity_from_wire(empty, 1, &e, &why), -EINVAL);
    struct kp_quota_entity other[] = {{S("group"), S("x")}};
    ck_assert_int_eq(br_quota_entity_from_wire(other, 1, &e, &why), -EINVAL);
    struct kp_quota_entity ip[] = {{S("ip"), S("10.0.0.1")}};
    ck_assert_int_eq(br_quota_entity_from_wire(ip, 1, &e, &why), -EOPNOTSUPP);

    struct br_quota_filter f;
    struct kp_quota_filter_component ex[] = {{S("user"), KP_QUOTA_MATCH_EXACT, S("alice")}};
    ck_assert_int_eq(br_quota_filter_from_wire(ex, 1, true, &f, &why), 0);
    ck_assert_int_eq(f.user, BR_QM_EXACT);
    struct kp_quota_filter_component bad1[] = {{S("user"), KP_QUOTA_MATCH_EXACT, DEF}};
    ck_assert_int_eq(br_quota_filter_from_wire(bad1, 1, true, &f, &why), -EINVAL);
    struct kp_quota_filter_component bad2[] = {{S("user"), KP_QUOTA_MATCH_DEFAULT, S("x")}};
    ck_assert_int_eq(br_quota_filter_from_wire(bad2, 1, true, &f, &why), -EINVAL);
    struct kp_quota_filter_component bad3[] = {{S("user"), 7, DEF}};
    ck_assert_int_eq(br_quota_filter_from_wire(bad3, 1, true, &f, &why), -EINVAL);
    struct kp_quota_filter_component bad4[] = {{S("user"), KP_QUOTA_MATCH_ANY, DEF},
                                               {S("user"), KP_QUOTA_MATCH_ANY, DEF}};
    ck_assert_int_eq(br_quota_filter_from_wire(bad4, 2, false, &f, &why), -EINVAL);
    struct kp_quota_filter_component bad5[] = {{S(""), KP_QUOTA_MATCH_ANY, DEF}};
    ck_assert_int_eq(br_quota_filter_from_wire(bad5, 1, false, &f, &why), -EINVAL);
}
END_TEST

struct seen {
    int n;
    char what[16][96];
};

static void collect(void *arg, const struct br_quota_entity *e, const double v[BR_QUOTA_NTYPES],
                    const bool has[BR_QUOTA_NTYPES])
{
    struct seen *s = arg;
    ck_assert_int_lt(s->n, 16);
    char u[32], c[32];
    snprintf(u, sizeof u, "%s", e->user_kind == A ? "-" : e->user_kind == D ? "<default>" : "");
    if (e->user_kind == N)
        snprintf(u, sizeof u, "%.*s", e->user.len, e->user.ptr);
    snprintf(c, sizeof c, "%s", e->client_kind == A ? "-" : e->client_kind == D ? "<default>" : "");
    if (e->client_kind == N)
        snprintf(c, sizeof c, "%.*s", e->client.len, e->client.ptr);
    snprintf(s->what[s->n++], sizeof s->what[0], "%s/%s=%g", u, c,
             has[BR_QUOTA_PRODUCE] ? v[BR_QUOTA_PRODUCE] : -1.0);
}

static int describe(struct br_quotas *q, uint8_t um, const char *un, uint8_t cm, const char *cn,
                    bool strict, struct seen *s)
{
    struct br_quota_filter f = {um, cm, un ? S(un) : DEF, cn ? S(cn) : DEF, strict};
    memset(s, 0, sizeof *s);
    br_quotas_describe(q, &f, collect, s);
    return s->n;
}

START_TEST(t_describe_filters)
{
    struct br_quotas *q = open_q(11, 1000);
    enum br_quota_type P = BR_QUOTA_PRODUCE;
    set_quota(q, N, "alice", A, NULL, P, 1);
    set_quota(q, N, "alice", N, "c1", P, 2);
    set_quota(q, D, NULL, A, NULL, P, 3);
    set_quota(q, D, NULL, D, NULL, P, 4);
    set_quota(q, A, NULL, N, "c1", P, 5);
    struct seen s;
    ck_assert_int_eq(describe(q, BR_QM_EXACT, "alice", BR_QM_NONE, NULL, false, &s), 2);
    ck_assert_int_eq(describe(q, BR_QM_EXACT, "alice", BR_QM_NONE, NULL, true, &s), 1);
    ck_assert_str_eq(s.what[0], "alice/-=1");
    ck_assert_int_eq(describe(q, BR_QM_DEFAULT, NULL, BR_QM_NONE, NULL, true, &s), 1);
    ck_assert_str_eq(s.what[0], "<default>/-=3");
    ck_assert_int_eq(describe(q, BR_QM_SPECIFIED, NULL, BR_QM_SPECIFIED, NULL, true, &s), 2);
    ck_assert_int_eq(describe(q, BR_QM_NONE, NULL, BR_QM_EXACT, "c1", false, &s), 2);
    ck_assert_int_eq(describe(q, BR_QM_NONE, NULL, BR_QM_EXACT, "c1", true, &s), 1);
    ck_assert_str_eq(s.what[0], "-/c1=5");
    ck_assert_int_eq(describe(q, BR_QM_NONE, NULL, BR_QM_NONE, NULL, false, &s), 5);
    ck_assert_int_eq(describe(q, BR_QM_NONE, NULL, BR_QM_NONE, NULL, true, &s), 0);
    br_quotas_close(q);
}
END_TEST

START_TEST(t_damaged_file_refused)
{
    struct br_quotas *q = open_q(11, 1000);
    set_quota(q, N, "alice", A, NULL, BR_QUOTA_PRODUCE, 1000);
    br_quotas_close(q);
    size_t len;
    uint8_t *good = tst_slurp(file, &len);
    struct br_quotas_conf conf = {dir, 11, 1000, log_fn, NULL};
    for (size_t at = 0; at < len; at++) {
        uint8_t *bad = malloc(len);
        memcpy(bad, good, len);
        bad[at] ^= 0x01;
        tst_spit(file, bad, len);
        free(bad);
        ck_assert_int_eq(br_quotas_open(&conf, &q), -EBADMSG);
    }
    /* Valid framing, a negative value inside: refused, logged. The value's sign bit is the
     * first byte of the 8-byte value at the end of the body. */
    uint8_t *bad = malloc(len);
    memcpy(bad, good, len);
    uint32_t bl = kp_load_be32(bad + 16);
    bad[16 + 4 + bl - 8] |= 0x80;
    kp_store_be32(bad + 16 + 4 + bl, kp_crc32c(0, bad + 16, 4 + bl));
    tst_spit(file, bad, len);
    nlines = 0;
    ck_assert_int_eq(br_quotas_open(&conf, &q), -EBADMSG);
    ck_assert_int_eq(nlines, 1);
    ck_assert_ptr_nonnull(strstr(last_line, BR_QUOTA_FILE));
    free(bad);
    free(good);
}
END_TEST

/* Connections on several threads recording into one shared user sensor while another thread
 * changes the settings (ASan here, TSan through the tsan build): no lost sensor, no race. */
static struct br_quotas *shared;
static atomic_int stop_flag;

static void *recorder(void *arg)
{
    struct br_quota_client c;
    char client[16];
    snprintf(client, sizeof client, "c%d", (int)(intptr_t)arg);
    ck_assert_int_eq(br_quota_client_init(shared, &c, "u", 1, client, strlen(client)), 0);
    for (int i = 0; i < 20000 && !atomic_load(&stop_flag); i++) {
        int64_t ms = br_quota_record(shared, &c, BR_QUOTA_PRODUCE, 100, i);
        ck_assert_int_ge(ms, 0);
    }
    br_quota_client_release(shared, &c);
    return NULL;
}

START_TEST(t_concurrent_records_and_changes)
{
    shared = open_q(11, 1000);
    set_quota(shared, N, "u", A, NULL, BR_QUOTA_PRODUCE, 1000);
    atomic_store(&stop_flag, 0);
    pthread_t th[3];
    for (intptr_t i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, recorder, (void *)i);
    for (int i = 0; i < 10; i++) {
        set_quota(shared, N, "u", A, NULL, BR_QUOTA_PRODUCE, 1000 + i);
        set_quota(shared, N, "u", D, NULL, BR_QUOTA_PRODUCE, i % 2 ? 500 : 0);
    }
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_le(br_quotas_maintain(shared, 0), 4);
    br_quotas_close(shared);
}
END_TEST

static Suite *br_quota_suite(void)
{
    Suite *s = suite_create("br_quota");
    TCase *t = tcase_create("quota");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, t_quota_violation);
    tcase_add_test(t, t_quota_config_precedence);
    tcase_add_test(t, t_rate_window_rules);
    tcase_add_test(t, t_request_percentage_and_unrecord);
    tcase_add_test(t, t_sensors_survive_reconnect_then_expire);
    tcase_add_test(t, t_alter_validation_and_durability);
    tcase_add_test(t, t_wire_entities_and_filters);
    tcase_add_test(t, t_describe_filters);
    tcase_add_test(t, t_damaged_file_refused);
    tcase_add_test(t, t_concurrent_records_and_changes);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(br_quota_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
