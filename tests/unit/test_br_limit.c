/*
 * test_br_limit — the connection and request-byte bounds without sockets: max.connections,
 * max.connections.per.ip and its overrides (addresses, host names, IPv4 as v4-mapped IPv6),
 * release giving places back, a host name that does not resolve, and the request-byte budget
 * (take never passes it, force may, give reports waiters).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_config.h"
#include "br_limit.h"

static struct br_config C;
static struct br_limits L;
static char err[512];

static void setup(void)
{
    br_config_init(&C);
    err[0] = 0;
}

static void set(const char *kv) { ck_assert_int_eq(br_config_set(&C, kv, err, sizeof err), 0); }

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons(40000);
    ck_assert_int_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    ck_assert_int_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
    return ss;
}

/* Admits one connection from peer; its admit result, slot in *slot. */
static int admit(const struct sockaddr_storage *peer, struct br_ip_slot **slot, int32_t *bound)
{
    return br_limits_admit(&L, peer, slot, bound);
}

START_TEST(untracked_by_default)
{
    set("max.connections=3");
    ck_assert_int_eq(br_limits_init(&L, &C, err, sizeof err), 0);
    ck_assert(!L.track_ip); /* no per-address bound: no table, no lock */
    struct sockaddr_storage a = v4("10.0.0.1");
    struct br_ip_slot *s[4];
    int32_t bound;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(admit(&a, &s[i], &bound), 0);
        ck_assert_ptr_null(s[i]);
    }
    ck_assert_int_eq(admit(&a, &s[3], &bound), -ENFILE);
    ck_assert_int_eq(atomic_load(&L.nconns), 3);
    br_limits_release(&L, s[0]);
    ck_assert_int_eq(admit(&a, &s[3], &bound), 0);
    for (int i = 1; i < 4; i++)
        br_limits_release(&L, s[i]);
    ck_assert_int_eq(atomic_load(&L.nconns), 0);
    br_limits_free(&L);
}
END_TEST

START_TEST(per_ip_and_overrides)
{
    set("max.connections=100");
    set("max.connections.per.ip=2");
    set("max.connections.per.ip.overrides=10.0.0.9:4,localhost:1,[2001:db8::5]:0");
    ck_assert_int_eq(br_limits_init(&L, &C, err, sizeof err), 0);
    ck_assert(L.track_ip);
    struct sockaddr_storage a = v4("10.0.0.1"), b = v4("10.0.0.2"), o = v4("10.0.0.9");
    struct sockaddr_storage lo = v4("127.0.0.1"), z = v6("2001:db8::5");
    struct sockaddr_storage mapped = v6("::ffff:10.0.0.1"); /* the same client as a */
    struct br_ip_slot *sa[3], *sb[2], *so[5], *sl[2], *sz;
    int32_t bound = -1;

    ck_assert_int_eq(admit(&a, &sa[0], &bound), 0);
    ck_assert_int_eq(admit(&mapped, &sa[1], &bound), 0);
    ck_assert_ptr_eq(sa[0], sa[1]);
    ck_assert_int_eq(admit(&a, &sa[2], &bound), -EUSERS);
    ck_assert_int_eq(bound, 2);
    /* another address is not affected */
    ck_assert_int_eq(admit(&b, &sb[0], &bound), 0);
    ck_assert_int_eq(admit(&b, &sb[1], &bound), 0);
    /* the override by address raises the bound, the one by name (localhost) lowers it */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(admit(&o, &so[i], &bound), 0);
    ck_assert_int_eq(admit(&o, &so[4], &bound), -EUSERS);
    ck_assert_int_eq(bound, 4);
    ck_assert_int_eq(br_limits_ip_bound(&L, &o), 4);
    ck_assert_int_eq(br_limits_ip_bound(&L, &lo), 1);
    ck_assert_int_eq(admit(&lo, &sl[0], &bound), 0);
    ck_assert_int_eq(admit(&lo, &sl[1], &bound), -EUSERS);
    ck_assert_int_eq(bound, 1);
    ck_assert_int_eq(admit(&z, &sz, &bound), -EUSERS);
    ck_assert_int_eq(bound, 0);
    ck_assert_int_eq(atomic_load(&L.nconns), 2 + 2 + 4 + 1);

    /* a released place is usable again; a refused admit counted nothing */
    br_limits_release(&L, sa[0]);
    ck_assert_int_eq(admit(&a, &sa[2], &bound), 0);
    br_limits_release(&L, sa[1]);
    br_limits_release(&L, sa[2]);
    for (int i = 0; i < 2; i++)
        br_limits_release(&L, sb[i]);
    for (int i = 0; i < 4; i++)
        br_limits_release(&L, so[i]);
    br_limits_release(&L, sl[0]);
    ck_assert_int_eq(atomic_load(&L.nconns), 0);
    for (int i = 0; i < BR_LIMIT_BUCKETS; i++)
        ck_assert_ptr_null(L.buckets[i]); /* entries go with their last connection */
    br_limits_free(&L);
}
END_TEST

START_TEST(max_connections_counts_every_address)
{
    set("max.connections=3");
    set("max.connections.per.ip=2");
    ck_assert_int_eq(br_limits_init(&L, &C, err, sizeof err), 0);
    struct sockaddr_storage a = v4("10.0.0.1"), b = v4("10.0.0.2");
    struct br_ip_slot *s[4];
    int32_t bound;
    ck_assert_int_eq(admit(&a, &s[0], &bound), 0);
    ck_assert_int_eq(admit(&a, &s[1], &bound), 0);
    ck_assert_int_eq(admit(&b, &s[2], &bound), 0);
    ck_assert_int_eq(admit(&b, &s[3], &bound), -ENFILE);
    /* refused at max.connections: b's count was given back */
    br_limits_release(&L, s[0]);
    ck_assert_int_eq(admit(&b, &s[3], &bound), 0);
    ck_assert_int_eq(admit(&b, &s[0], &bound), -EUSERS);
    for (int i = 1; i < 4; i++)
        br_limits_release(&L, s[i]);
    br_limits_free(&L);
}
END_TEST

START_TEST(unresolvable_override)
{
    set("max.connections.per.ip.overrides=no-such-host.invalid:3");
    ck_assert_int_eq(br_limits_init(&L, &C, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "max.connections.per.ip.overrides"));
    ck_assert_ptr_nonnull(strstr(err, "no-such-host.invalid"));
}
END_TEST

START_TEST(request_byte_budget)
{
    set("queued.max.request.bytes=1000");
    ck_assert_int_eq(br_limits_init(&L, &C, err, sizeof err), 0);
    ck_assert_int_eq(br_limits_bytes_take(&L, 600), 0);
    ck_assert_int_eq(br_limits_bytes_take(&L, 401), -EAGAIN);
    ck_assert_int_eq(br_limits_bytes_used(&L), 600); /* a failed take took nothing */
    ck_assert_int_eq(br_limits_bytes_take(&L, 400), 0);
    ck_assert_int_eq(br_limits_bytes_take(&L, 1), -EAGAIN);
    br_limits_bytes_force(&L, 50); /* bytes already received: kept past the bound */
    ck_assert_int_eq(br_limits_bytes_used(&L), 1050);
    ck_assert(!br_limits_bytes_give(&L, 100)); /* nobody waits */
    ck_assert_int_eq(br_limits_bytes_take(&L, 50), 0);
    atomic_fetch_add(&L.bytes_waiters, 1);
    ck_assert(br_limits_bytes_give(&L, 1000)); /* someone waits: the caller wakes them */
    ck_assert_int_eq(br_limits_bytes_used(&L), 0);
    br_limits_free(&L);

    /* -1: no bound, nothing counted */
    set("queued.max.request.bytes=-1");
    ck_assert_int_eq(br_limits_init(&L, &C, err, sizeof err), 0);
    ck_assert_int_eq(br_limits_bytes_take(&L, (size_t)1 << 40), 0);
    ck_assert_int_eq(br_limits_bytes_used(&L), 0);
    ck_assert(!br_limits_bytes_give(&L, (size_t)1 << 40));
    br_limits_free(&L);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_limit");
    TCase *tc = tcase_create("limit");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 30); /* a resolver that times out on the bad name */
    tcase_add_test(tc, untracked_by_default);
    tcase_add_test(tc, per_ip_and_overrides);
    tcase_add_test(tc, max_connections_counts_every_address);
    tcase_add_test(tc, unresolvable_override);
    tcase_add_test(tc, request_byte_budget);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
