/*
 * test_groups — the group coordinator of a real splicelogd, spoken to in raw protocol
 * (tests/support/tb_group.h, checked by two decoders): FindCoordinator v0-2 naming the
 * listener the client connected to; two members joining (parked until the initial delay),
 * syncing (the follower parked until the leader's assignments), heartbeating and leaving,
 * the rest rebalancing; every JoinGroup, SyncGroup, Heartbeat and LeaveGroup version; a
 * JoinGroup parked while its connection closes (dropped safely, the member later expires by
 * session timeout); one member's JoinGroup on a second connection while the first is parked;
 * a parked JoinGroup answered NOT_COORDINATOR when the broker stops; KIP-394 (JoinGroup v4+
 * without an id: MEMBER_ID_REQUIRED and a pending id, which nobody waits for and which
 * expires) and the librdkafka subscription change that stalled 45 s without it; bad
 * inputs answered with Kafka's error codes, and undecodable requests closing the connection.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_group.h"
#include "../support/tb_kafka.h"
#include "kp_api.h"

static struct tb_broker B;

static void setup(void)
{
    static const char *const extra[] = {"-o", "group.initial.rebalance.delay.ms=200",
                                        "-o", "group.min.session.timeout.ms=1000",
                                        "-o", "num.network.threads=2",
                                        NULL};
    tb_ck_start_fresh(&B, extra);
}

static void teardown(void) { tb_ck_finish(&B); }

static const struct tb_proto PROTOS[] = {{"range", "range-meta"}, {"roundrobin", "rr-meta"}};

#define JOIN(fd, v, corr, group, session, member, out)                                             \
    ck_assert_int_eq(                                                                              \
        tb_join_group((fd), (v), (corr), (group), (session), 30000, (member), 2, PROTOS, (out)),   \
        0)

/* A new member's JoinGroup, sent as clients send it: from v4 (KIP-394) a JoinGroup without an
 * id is answered at once with MEMBER_ID_REQUIRED and an id, and the JoinGroup is sent again
 * with it; then the answer may be parked. id (TB_GRP_ID bytes) gets the id, "" below v4. */
static void join_send_new(int fd, int16_t v, int32_t corr, const char *group, int32_t session,
                          char *id)
{
    id[0] = 0;
    if (v >= 4) {
        struct tb_join j;
        ck_assert_int_eq(tb_join_group(fd, v, corr, group, session, 30000, "", 2, PROTOS, &j), 0);
        ck_assert_msg(j.error == KP_ERR_MEMBER_ID_REQUIRED, "JoinGroup v%d without an id: %d", v,
                      j.error);
        ck_assert_int_eq(j.generation, -1);
        ck_assert(strncmp(j.member_id, "tb-", 3) == 0); /* "<client id>-<uuid>" */
        snprintf(id, TB_GRP_ID, "%s", j.member_id);
    }
    ck_assert_int_eq(tb_join_group_send(fd, v, corr, group, session, 30000, id, 2, PROTOS), 0);
}

/* join_send_new and its answer. */
static void join_new(int fd, int16_t v, int32_t corr, const char *group, int32_t session,
                     struct tb_join *out)
{
    char id[TB_GRP_ID];
    join_send_new(fd, v, corr, group, session, id);
    ck_assert_int_eq(tb_join_group_recv(fd, v, corr, out), 0);
    if (id[0] && out->error == 0)
        ck_assert_str_eq(out->member_id, id);
}

/* ---- FindCoordinator ------------------------------------------------------------------------ */

START_TEST(find_coordinator_every_version)
{
    int fd = tb_ck_connect(&B);
    for (int16_t v = 0; v <= 2; v++) {
        struct tb_find_coordinator fc;
        ck_assert_int_eq(tb_find_coordinator(fd, v, 100 + v, "some-group", 0, &fc), 0);
        ck_assert_int_eq(fc.error, 0);
        ck_assert_int_eq(fc.node_id, 0);
        ck_assert_str_eq(fc.host, "127.0.0.1");
        ck_assert_int_eq(fc.port, B.port);
    }
    for (int16_t v = 1; v <= 2; v++) {
        struct tb_find_coordinator fc;
        ck_assert_int_eq(tb_find_coordinator(fd, v, 110 + v, "txn", 1, &fc), 0);
        ck_assert_int_eq(fc.error, 0); /* the transaction coordinator too (issue 13) */
        ck_assert_int_eq(fc.node_id, 0);
        ck_assert_int_eq(fc.port, B.port);
        ck_assert_int_eq(tb_find_coordinator(fd, v, 120 + v, "x", 7, &fc), 0);
        ck_assert_int_eq(fc.error, KP_ERR_INVALID_REQUEST);
    }
    close(fd);
}
END_TEST

/* ---- two members ---------------------------------------------------------------------------- */

START_TEST(two_members_join_sync_heartbeat_leave)
{
    int fa = tb_ck_connect(&B), fb = tb_ck_connect(&B);
    /* both join before the initial delay ends: one generation with both */
    char ida[TB_GRP_ID], idb[TB_GRP_ID];
    join_send_new(fa, 5, 1, "g2", 10000, ida);
    join_send_new(fb, 5, 1, "g2", 10000, idb);
    struct tb_join j1, j2;
    ck_assert_int_eq(tb_join_group_recv(fa, 5, 1, &j1), 0);
    ck_assert_int_eq(tb_join_group_recv(fb, 5, 1, &j2), 0);
    ck_assert_int_eq(j1.error, 0);
    ck_assert_int_eq(j2.error, 0);
    ck_assert_int_eq(j1.generation, 1);
    ck_assert_int_eq(j2.generation, 1);
    ck_assert_str_eq(j1.protocol, "range");
    ck_assert_str_eq(j2.protocol, "range");
    ck_assert_str_eq(j1.leader, j2.leader);
    ck_assert_str_ne(j1.member_id, j2.member_id);
    ck_assert_str_eq(j1.member_id, ida); /* the ids handed out with MEMBER_ID_REQUIRED */
    ck_assert_str_eq(j2.member_id, idb);
    /* a: the leader (whichever request the broker saw first), b: the follower */
    bool first_leads = strcmp(j1.leader, j1.member_id) == 0;
    int a = first_leads ? fa : fb, b = first_leads ? fb : fa;
    struct tb_join ja = first_leads ? j1 : j2, jb = first_leads ? j2 : j1;
    ck_assert_str_eq(ja.leader, ja.member_id);
    ck_assert_int_eq(ja.n_members, 2); /* only the leader gets the members */
    ck_assert_int_eq(jb.n_members, 0);
    for (int i = 0; i < 2; i++)
        ck_assert_str_eq(ja.member[i].metadata, "range-meta");
    ck_assert(strcmp(ja.member[0].member_id, jb.member_id) == 0 ||
              strcmp(ja.member[1].member_id, jb.member_id) == 0);

    /* the follower waits for the leader's assignments */
    ck_assert_int_eq(tb_sync_group_send(b, 3, 2, "g2", 1, jb.member_id, 0, NULL), 0);
    ck_assert_int_eq(tb_readable(b, 200), 0);
    int16_t err;
    ck_assert_int_eq(tb_heartbeat(a, 3, 3, "g2", 1, ja.member_id, &err), 0);
    ck_assert_int_eq(err, 0); /* CompletingRebalance: the current generation is fine (Kafka) */
    struct tb_assign as[] = {{ja.member_id, "for-a"}, {jb.member_id, "for-b"}};
    struct tb_sync sa, sb;
    ck_assert_int_eq(tb_sync_group(a, 3, 4, "g2", 1, ja.member_id, 2, as, &sa), 0);
    ck_assert_int_eq(tb_sync_group_recv(b, 3, 2, &sb), 0);
    ck_assert_int_eq(sa.error, 0);
    ck_assert_int_eq(sb.error, 0);
    ck_assert_str_eq(sa.assignment, "for-a");
    ck_assert_str_eq(sb.assignment, "for-b");

    ck_assert_int_eq(tb_heartbeat(a, 3, 5, "g2", 1, ja.member_id, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_heartbeat(b, 3, 5, "g2", 1, jb.member_id, &err), 0);
    ck_assert_int_eq(err, 0);

    /* the leader leaves: b is told to rejoin, and leads generation 2 alone */
    ck_assert_int_eq(tb_leave_group(a, 1, 6, "g2", ja.member_id, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert(tb_log_wait(&B, "left group g2", 5000));
    ck_assert_int_eq(tb_heartbeat(b, 3, 6, "g2", 1, jb.member_id, &err), 0);
    ck_assert_int_eq(err, KP_ERR_REBALANCE_IN_PROGRESS);
    struct tb_join jb2;
    JOIN(b, 5, 7, "g2", 10000, jb.member_id, &jb2);
    ck_assert_int_eq(jb2.error, 0);
    ck_assert_int_eq(jb2.generation, 2);
    ck_assert_str_eq(jb2.member_id, jb.member_id);
    ck_assert_str_eq(jb2.leader, jb.member_id);
    ck_assert_int_eq(jb2.n_members, 1);
    /* an old generation's heartbeat and sync */
    ck_assert_int_eq(tb_heartbeat(b, 3, 8, "g2", 1, jb.member_id, &err), 0);
    ck_assert_int_eq(err, KP_ERR_ILLEGAL_GENERATION); /* generation checked first, as Kafka */
    ck_assert_int_eq(tb_sync_group(b, 3, 9, "g2", 1, jb.member_id, 0, NULL, &sb), 0);
    ck_assert_int_eq(sb.error, KP_ERR_ILLEGAL_GENERATION);
    struct tb_assign as2[] = {{jb.member_id, "all"}};
    ck_assert_int_eq(tb_sync_group(b, 3, 10, "g2", 2, jb.member_id, 1, as2, &sb), 0);
    ck_assert_int_eq(sb.error, 0);
    ck_assert_str_eq(sb.assignment, "all");
    ck_assert_int_eq(tb_heartbeat(b, 3, 11, "g2", 1, jb.member_id, &err), 0);
    ck_assert_int_eq(err, KP_ERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(tb_leave_group(b, 0, 12, "g2", jb.member_id, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_heartbeat(b, 3, 13, "g2", 2, jb.member_id, &err), 0);
    ck_assert_int_eq(err, KP_ERR_UNKNOWN_MEMBER_ID);
    close(fa);
    close(fb);
}
END_TEST

START_TEST(every_version)
{
    int fd = tb_ck_connect(&B);
    for (int16_t v = 0; v <= 5; v++) {
        char group[32];
        snprintf(group, sizeof group, "gv%d", v);
        struct tb_join j;
        join_new(fd, v, 200 + v, group, 10000, &j); /* v4, v5: MEMBER_ID_REQUIRED first */
        ck_assert_msg(j.error == 0, "JoinGroup v%d: error %d", v, j.error);
        ck_assert_int_eq(j.generation, 1);
        ck_assert_int_eq(j.n_members, 1);
        int16_t sv = v > 3 ? 3 : v, hv = v > 3 ? 3 : v, lv = v > 1 ? 1 : v;
        struct tb_assign as[] = {{j.member_id, "x"}};
        struct tb_sync s;
        ck_assert_int_eq(tb_sync_group(fd, sv, 300 + v, group, 1, j.member_id, 1, as, &s), 0);
        ck_assert_int_eq(s.error, 0);
        ck_assert_str_eq(s.assignment, "x");
        int16_t err;
        ck_assert_int_eq(tb_heartbeat(fd, hv, 400 + v, group, 1, j.member_id, &err), 0);
        ck_assert_int_eq(err, 0);
        ck_assert_int_eq(tb_leave_group(fd, lv, 500 + v, group, j.member_id, &err), 0);
        ck_assert_int_eq(err, 0);
    }
    close(fd);
}
END_TEST

/* ---- one member, two connections ----------------------------------------------------------- */

/* The leader rejoins (parked: the follower has not rejoined yet), then rejoins again on a new
 * connection (a client that gave up on the first): the first connection is answered
 * REBALANCE_IN_PROGRESS, the second joins the next generation once the follower is back; the
 * first connection closing meanwhile harms nothing. */
START_TEST(member_rejoins_on_new_connection_while_parked)
{
    int fa = tb_ck_connect(&B), fb = tb_ck_connect(&B);
    char ida[TB_GRP_ID], idb[TB_GRP_ID];
    join_send_new(fa, 5, 1, "g-re", 10000, ida);
    join_send_new(fb, 5, 1, "g-re", 10000, idb);
    struct tb_join j1, j2;
    ck_assert_int_eq(tb_join_group_recv(fa, 5, 1, &j1), 0);
    ck_assert_int_eq(tb_join_group_recv(fb, 5, 1, &j2), 0);
    ck_assert_int_eq(j1.generation, 1);
    bool first_leads = strcmp(j1.leader, j1.member_id) == 0;
    int a = first_leads ? fa : fb, b = first_leads ? fb : fa;
    struct tb_join ja = first_leads ? j1 : j2, jb = first_leads ? j2 : j1;
    struct tb_assign as[] = {{ja.member_id, "for-a"}, {jb.member_id, "for-b"}};
    struct tb_sync sa, sb;
    ck_assert_int_eq(tb_sync_group(a, 3, 2, "g-re", 1, ja.member_id, 2, as, &sa), 0);
    ck_assert_int_eq(tb_sync_group(b, 3, 2, "g-re", 1, jb.member_id, 0, NULL, &sb), 0);
    ck_assert_str_eq(sb.assignment, "for-b");

    /* the leader rejoins: parked until b rejoins */
    ck_assert_int_eq(tb_join_group_send(a, 5, 3, "g-re", 10000, 30000, ja.member_id, 2, PROTOS), 0);
    ck_assert_int_eq(tb_readable(a, 300), 0);
    /* ... and again on a new connection: the first is answered */
    int a2 = tb_ck_connect(&B);
    ck_assert_int_eq(tb_join_group_send(a2, 5, 1, "g-re", 10000, 30000, ja.member_id, 2, PROTOS),
                     0);
    struct tb_join old;
    ck_assert_int_eq(tb_join_group_recv(a, 5, 3, &old), 0);
    ck_assert_int_eq(old.error, KP_ERR_REBALANCE_IN_PROGRESS);
    close(a);
    ck_assert_int_eq(tb_readable(a2, 300), 0); /* still parked */
    int16_t err;
    ck_assert_int_eq(tb_heartbeat(b, 3, 4, "g-re", 1, jb.member_id, &err), 0);
    ck_assert_int_eq(err, KP_ERR_REBALANCE_IN_PROGRESS);
    struct tb_join nb, na;
    JOIN(b, 5, 5, "g-re", 10000, jb.member_id, &nb);
    ck_assert_int_eq(tb_join_group_recv(a2, 5, 1, &na), 0);
    ck_assert_int_eq(na.error, 0);
    ck_assert_int_eq(nb.error, 0);
    ck_assert_int_eq(na.generation, 2);
    ck_assert_int_eq(nb.generation, 2);
    ck_assert_str_eq(na.leader, ja.member_id);
    ck_assert_int_eq(na.n_members, 2);
    close(a2);
    close(b);
}
END_TEST

/* ---- a parked JoinGroup whose connection closes --------------------------------------------- */

START_TEST(parked_join_connection_closes)
{
    int gone = tb_ck_connect(&B);
    char id[TB_GRP_ID];
    join_send_new(gone, 5, 1, "gp", 1500, id);
    ck_assert(tb_log_wait(&B, "group gp: preparing to rebalance", 5000)); /* parked */
    close(gone); /* the answer will have nowhere to go */
    int fd = tb_ck_connect(&B);
    struct tb_join j;
    join_new(fd, 5, 2, "gp", 10000, &j);
    ck_assert_int_eq(j.error, 0);
    if (strcmp(j.leader, j.member_id) != 0) {
        /* generation 1 with both, led by the member that is gone: this one never gets
         * assignments from it ... */
        ck_assert_int_eq(j.generation, 1);
        struct tb_sync s;
        ck_assert_int_eq(tb_sync_group_send(fd, 3, 3, "gp", 1, j.member_id, 0, NULL), 0);
        /* ... until the gone member's session (1.5 s) expires: a rebalance */
        ck_assert_int_eq(tb_sync_group_recv(fd, 3, 3, &s), 0);
        ck_assert_int_eq(s.error, KP_ERR_REBALANCE_IN_PROGRESS);
        struct tb_join j2;
        JOIN(fd, 5, 4, "gp", 10000, j.member_id, &j2);
        ck_assert_int_eq(j2.error, 0);
        ck_assert_int_eq(j2.generation, 2);
        j = j2;
    } else {
        /* (a slow start: the gone member's generation completed before this one joined, so
         * this join waited for its session to expire instead) */
        ck_assert_int_ge(j.generation, 2);
    }
    ck_assert_str_eq(j.leader, j.member_id);
    ck_assert_int_eq(j.n_members, 1);
    ck_assert(tb_broker_alive(&B));
    close(fd);
}
END_TEST

/* ---- a parked SyncGroup whose connection closes -------------------------------------------- */

START_TEST(parked_sync_connection_closes)
{
    int fa = tb_ck_connect(&B), fb = tb_ck_connect(&B);
    char ida[TB_GRP_ID], idb[TB_GRP_ID];
    join_send_new(fa, 5, 1, "gq", 10000, ida);
    join_send_new(fb, 5, 1, "gq", 10000, idb);
    struct tb_join j1, j2;
    ck_assert_int_eq(tb_join_group_recv(fa, 5, 1, &j1), 0);
    ck_assert_int_eq(tb_join_group_recv(fb, 5, 1, &j2), 0);
    ck_assert_int_eq(j1.generation, j2.generation);
    bool first_leads = strcmp(j1.leader, j1.member_id) == 0;
    int leader = first_leads ? fa : fb, follower = first_leads ? fb : fa;
    struct tb_join jl = first_leads ? j1 : j2, jf = first_leads ? j2 : j1;
    /* the follower's SyncGroup parks, then its connection goes away */
    ck_assert_int_eq(tb_sync_group_send(follower, 3, 2, "gq", jf.generation, jf.member_id, 0, NULL),
                     0);
    ck_assert_int_eq(tb_readable(follower, 200), 0);
    close(follower);
    /* the leader's assignments answer into the void for it, and normally for the leader */
    struct tb_assign as[] = {{jl.member_id, "L"}, {jf.member_id, "F"}};
    struct tb_sync s;
    ck_assert_int_eq(tb_sync_group(leader, 3, 3, "gq", jl.generation, jl.member_id, 2, as, &s), 0);
    ck_assert_int_eq(s.error, 0);
    ck_assert_str_eq(s.assignment, "L");
    /* the follower reconnects with its member id: still a member, its assignment is kept */
    int again = tb_ck_connect(&B);
    ck_assert_int_eq(tb_sync_group(again, 3, 4, "gq", jf.generation, jf.member_id, 0, NULL, &s), 0);
    ck_assert_int_eq(s.error, 0);
    ck_assert_str_eq(s.assignment, "F");
    int16_t err;
    ck_assert_int_eq(tb_heartbeat(again, 3, 5, "gq", jf.generation, jf.member_id, &err), 0);
    ck_assert_int_eq(err, 0);
    close(again);
    close(leader);
}
END_TEST

/* ---- many members at once, over both loop threads ---------------------------------------------
 */

#define MANY 24

START_TEST(many_members_one_generation)
{
    /* an initial delay no straggler on a loaded machine misses */
    tb_ck_finish(&B);
    static const char *const extra[] = {"-o", "group.initial.rebalance.delay.ms=2000", "-o",
                                        "num.network.threads=2", NULL};
    tb_ck_start_fresh(&B, extra);
    int fds[MANY];
    for (int i = 0; i < MANY; i++)
        fds[i] = tb_ck_connect(&B);
    for (int i = 0; i < MANY; i++) {
        char id[TB_GRP_ID];
        join_send_new(fds[i], (int16_t)(i % 6), 1, "gm", 10000, id);
    }
    static struct tb_join j[MANY];
    int leaders = 0, leader_idx = -1;
    for (int i = 0; i < MANY; i++) {
        ck_assert_int_eq(tb_join_group_recv(fds[i], (int16_t)(i % 6), 1, &j[i]), 0);
        ck_assert_int_eq(j[i].error, 0);
        ck_assert_str_eq(j[i].leader, j[0].leader);
        if (strcmp(j[i].leader, j[i].member_id) == 0) {
            leaders++;
            leader_idx = i;
        }
    }
    ck_assert_int_eq(leaders, 1);
    /* one generation for all, whose members joined on either loop thread */
    for (int i = 1; i < MANY; i++)
        ck_assert_int_eq(j[i].generation, j[0].generation);
    ck_assert_int_eq(j[leader_idx].n_members, MANY);
    /* every follower parks in SyncGroup; the leader's answer releases them all */
    for (int i = 0; i < MANY; i++)
        if (i != leader_idx)
            ck_assert_int_eq(
                tb_sync_group_send(fds[i], 3, 2, "gm", j[i].generation, j[i].member_id, 0, NULL),
                0);
    static struct tb_assign as[MANY];
    static char bytes[MANY][16];
    for (int i = 0; i < MANY; i++) {
        snprintf(bytes[i], sizeof bytes[i], "part-%d", i);
        as[i] = (struct tb_assign){j[i].member_id, bytes[i]};
    }
    struct tb_sync s;
    ck_assert_int_eq(tb_sync_group(fds[leader_idx], 3, 2, "gm", j[leader_idx].generation,
                                   j[leader_idx].member_id, MANY, as, &s),
                     0);
    ck_assert_str_eq(s.assignment, bytes[leader_idx]);
    for (int i = 0; i < MANY; i++) {
        if (i == leader_idx)
            continue;
        ck_assert_int_eq(tb_sync_group_recv(fds[i], 3, 2, &s), 0);
        ck_assert_int_eq(s.error, 0);
        ck_assert_str_eq(s.assignment, bytes[i]);
    }
    for (int i = 0; i < MANY; i++)
        close(fds[i]);
}
END_TEST

/* ---- KIP-394: MEMBER_ID_REQUIRED and pending member ids -------------------------------------- */

/* JoinGroup v4+ without an id: MEMBER_ID_REQUIRED at once, with an id that is not a member
 * until it joins (Heartbeat and SyncGroup do not know it), that may leave, and that is
 * forgotten after the session timeout of the JoinGroup that asked for it. v0-3: a member at
 * once (parked), as before and as Kafka. */
START_TEST(member_id_required_and_pending_ids)
{
    int fd = tb_ck_connect(&B);
    for (int16_t v = 0; v <= 3; v++) {
        char group[32];
        snprintf(group, sizeof group, "gk%d", v);
        ck_assert_int_eq(tb_join_group_send(fd, v, 1, group, 10000, 30000, "", 2, PROTOS), 0);
        ck_assert_int_eq(tb_readable(fd, 100), 0); /* parked for the initial delay */
        struct tb_join j;
        ck_assert_int_eq(tb_join_group_recv(fd, v, 1, &j), 0);
        ck_assert_int_eq(j.error, 0);
        ck_assert_int_eq(j.generation, 1);
    }
    for (int16_t v = 4; v <= 5; v++) {
        struct tb_join j;
        JOIN(fd, v, 2, "gk", 1000, "", &j);
        ck_assert_int_eq(j.error, KP_ERR_MEMBER_ID_REQUIRED);
        ck_assert_int_eq(j.generation, -1);
        ck_assert_str_eq(j.leader, "");
        ck_assert_int_eq(j.n_members, 0);
        ck_assert(strncmp(j.member_id, "tb-", 3) == 0);
    }
    /* a pending id is not a member ... */
    struct tb_join p1, p2, p3;
    JOIN(fd, 5, 3, "gk", 1000, "", &p1);
    JOIN(fd, 5, 4, "gk", 1000, "", &p2);
    JOIN(fd, 5, 5, "gk", 1000, "", &p3);
    ck_assert_str_ne(p1.member_id, p2.member_id);
    int16_t err;
    ck_assert_int_eq(tb_heartbeat(fd, 3, 6, "gk", 0, p1.member_id, &err), 0);
    ck_assert_int_eq(err, KP_ERR_UNKNOWN_MEMBER_ID);
    struct tb_sync s;
    ck_assert_int_eq(tb_sync_group(fd, 3, 7, "gk", 0, p1.member_id, 0, NULL, &s), 0);
    ck_assert_int_eq(s.error, KP_ERR_UNKNOWN_MEMBER_ID);
    /* ... but may leave, after which its id is unknown */
    ck_assert_int_eq(tb_leave_group(fd, 1, 8, "gk", p2.member_id, &err), 0);
    ck_assert_int_eq(err, 0);
    struct tb_join j;
    JOIN(fd, 5, 9, "gk", 10000, p2.member_id, &j);
    ck_assert_int_eq(j.error, KP_ERR_UNKNOWN_MEMBER_ID);
    /* joining with a pending id makes a member of that id */
    JOIN(fd, 5, 10, "gk", 10000, p3.member_id, &j);
    ck_assert_int_eq(j.error, 0);
    ck_assert_int_eq(j.generation, 1);
    ck_assert_str_eq(j.member_id, p3.member_id);
    ck_assert_str_eq(j.leader, p3.member_id);
    ck_assert_int_eq(j.n_members, 1);
    /* an id unused for its session timeout (1 s) is forgotten */
    char line[TB_GRP_ID + 64];
    snprintf(line, sizeof line, "pending member %s forgotten: no JoinGroup", p1.member_id);
    ck_assert(tb_log_wait(&B, line, 5000));
    JOIN(fd, 5, 11, "gk", 10000, p1.member_id, &j);
    ck_assert_int_eq(j.error, KP_ERR_UNKNOWN_MEMBER_ID);
    close(fd);
}
END_TEST

/* The librdkafka subscription change of issue 11: a consumer changes its subscription while
 * its first JoinGroup is parked, drops that JoinGroup's answer when it comes (librdkafka:
 * "discarding outdated request"), and joins again with its new subscription and whatever id
 * it knows. Without KIP-394 it knew none: its first JoinGroup had made a member that the
 * second one's rebalance waited for until that member's session (10 s here) expired. Now it
 * learnt its id from MEMBER_ID_REQUIRED before parking, so the rejoin is that same member
 * and the next generation follows at once. */
START_TEST(subscription_change_during_first_join_does_not_stall)
{
    tb_ck_finish(&B);
    static const char *const extra[] = {"-o", "group.initial.rebalance.delay.ms=1000", NULL};
    tb_ck_start_fresh(&B, extra);
    static const struct tb_proto sub1[] = {{"range", "topics:a"}};
    static const struct tb_proto sub2[] = {{"range", "topics:a,b"}};
    int fd = tb_ck_connect(&B);
    char id[TB_GRP_ID] = "";
    int32_t outstanding = 1;
    ck_assert_int_eq(tb_join_group_send(fd, 5, 1, "g-sub", 10000, 30000, "", 1, sub1), 0);
    if (tb_readable(fd, 300) == 1) { /* a quick answer: MEMBER_ID_REQUIRED, join with the id */
        struct tb_join j;
        ck_assert_int_eq(tb_join_group_recv(fd, 5, 1, &j), 0);
        if (j.error == KP_ERR_MEMBER_ID_REQUIRED)
            snprintf(id, sizeof id, "%s", j.member_id);
        ck_assert_int_eq(tb_join_group_send(fd, 5, 2, "g-sub", 10000, 30000, id, 1, sub1), 0);
        outstanding = 2;
    }
    /* the subscription changes: the parked JoinGroup's answer (the initial delay's end) is
     * read and dropped */
    struct tb_join dropped;
    ck_assert_int_eq(tb_join_group_recv(fd, 5, outstanding, &dropped), 0);
    int64_t t0 = tb_now_ms();
    ck_assert_int_eq(tb_join_group_send(fd, 5, 3, "g-sub", 10000, 30000, id, 1, sub2), 0);
    ck_assert_msg(tb_readable(fd, 3000) == 1,
                  "the rejoin after a subscription change is still parked after 3 s "
                  "(waiting for a member left by the dropped JoinGroup?)");
    struct tb_join j;
    ck_assert_int_eq(tb_join_group_recv(fd, 5, 3, &j), 0);
    int64_t waited = tb_now_ms() - t0;
    ck_assert_int_eq(j.error, 0);
    ck_assert_str_eq(j.member_id, id);
    ck_assert_str_eq(j.leader, id);
    ck_assert_int_eq(j.n_members, 1); /* no ghost */
    ck_assert_str_eq(j.member[0].metadata, "topics:a,b");
    ck_assert_int_lt(waited, 1000);
    close(fd);
}
END_TEST

/* A pending id whose client never comes back holds nobody: a member's rebalance completes as
 * soon as the members have rejoined. */
START_TEST(pending_id_is_not_waited_for)
{
    int fa = tb_ck_connect(&B), ghost = tb_ck_connect(&B);
    struct tb_join ja;
    join_new(fa, 5, 1, "g-gh", 10000, &ja);
    ck_assert_int_eq(ja.error, 0);
    struct tb_assign as[] = {{ja.member_id, "all"}};
    struct tb_sync s;
    ck_assert_int_eq(tb_sync_group(fa, 3, 2, "g-gh", ja.generation, ja.member_id, 1, as, &s), 0);
    ck_assert_int_eq(s.error, 0);
    /* a client asks for an id and goes away */
    struct tb_join jg;
    JOIN(ghost, 5, 1, "g-gh", 10000, "", &jg);
    ck_assert_int_eq(jg.error, KP_ERR_MEMBER_ID_REQUIRED);
    close(ghost);
    int16_t err;
    ck_assert_int_eq(tb_heartbeat(fa, 3, 3, "g-gh", ja.generation, ja.member_id, &err), 0);
    ck_assert_int_eq(err, 0); /* a pending id starts no rebalance */
    /* the leader rejoins (a rebalance): answered at once, alone */
    int64_t t0 = tb_now_ms();
    struct tb_join j;
    JOIN(fa, 5, 4, "g-gh", 10000, ja.member_id, &j);
    ck_assert_int_eq(j.error, 0);
    ck_assert_int_eq(j.generation, ja.generation + 1);
    ck_assert_int_eq(j.n_members, 1);
    ck_assert_int_lt(tb_now_ms() - t0, 2000);
    close(fa);
}
END_TEST

/* ---- shutdown ------------------------------------------------------------------------------- */

START_TEST(stop_answers_parked_join)
{
    tb_ck_finish(&B);
    static const char *const extra[] = {"-o", "group.initial.rebalance.delay.ms=600000", NULL};
    tb_ck_start_fresh(&B, extra);
    int fd = tb_ck_connect(&B);
    char id[TB_GRP_ID];
    join_send_new(fd, 5, 1, "gs", 10000, id);
    ck_assert_int_eq(tb_readable(fd, 200), 0); /* parked for the (long) initial delay */
    ck_assert_int_eq(kill(B.pid, SIGTERM), 0);
    struct tb_join j;
    ck_assert_int_eq(tb_join_group_recv(fd, 5, 1, &j), 0);
    ck_assert_int_eq(j.error, KP_ERR_NOT_COORDINATOR);
    close(fd);
    tb_ck_stop_clean(&B); /* already signalled: must exit 0 */
}
END_TEST

/* ---- bad inputs ----------------------------------------------------------------------------- */

START_TEST(bad_inputs_get_kafka_errors)
{
    int fd = tb_ck_connect(&B);
    struct tb_join j;
    JOIN(fd, 5, 1, "", 10000, "", &j);
    ck_assert_int_eq(j.error, KP_ERR_INVALID_GROUP_ID);
    JOIN(fd, 5, 2, "gb", 100, "", &j);
    ck_assert_int_eq(j.error, KP_ERR_INVALID_SESSION_TIMEOUT);
    JOIN(fd, 5, 3, "gb", 1800001, "", &j);
    ck_assert_int_eq(j.error, KP_ERR_INVALID_SESSION_TIMEOUT);
    JOIN(fd, 5, 4, "gb", 10000, "no-such-member", &j);
    ck_assert_int_eq(j.error, KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(tb_join_group(fd, 5, 5, "gb", 10000, 30000, "", 0, NULL, &j), 0);
    ck_assert_int_eq(j.error, KP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    /* more protocols than BR_GROUP_PROTOCOLS_MAX (64) */
    static struct tb_proto many[65];
    static char many_names[65][8];
    for (int i = 0; i < 65; i++) {
        snprintf(many_names[i], sizeof many_names[i], "p%d", i);
        many[i] = (struct tb_proto){many_names[i], ""};
    }
    ck_assert_int_eq(tb_join_group(fd, 5, 5, "gb", 10000, 30000, "", 65, many, &j), 0);
    ck_assert_int_eq(j.error, KP_ERR_INVALID_REQUEST);

    /* a member with "range"; another offering only "sticky" cannot join */
    struct tb_join j1;
    join_new(fd, 5, 6, "gb", 10000, &j1);
    ck_assert_int_eq(j1.error, 0);
    int fd2 = tb_ck_connect(&B);
    static const struct tb_proto sticky[] = {{"sticky", "s"}};
    ck_assert_int_eq(tb_join_group(fd2, 5, 7, "gb", 10000, 30000, "", 1, sticky, &j), 0);
    ck_assert_int_eq(j.error, KP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    /* another protocol type */
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 1024, KP_API_JOIN_GROUP, 5, 8), 0);
    tb_enc_join_group(&r, 5, "gb", 10000, 30000, "", "connect", 2, PROTOS);
    ck_assert_int_eq(tb_req_send(fd2, &r), 0);
    tb_req_free(&r);
    ck_assert_int_eq(tb_join_group_recv(fd2, 5, 8, &j), 0);
    ck_assert_int_eq(j.error, KP_ERR_INCONSISTENT_GROUP_PROTOCOL);

    int16_t err;
    ck_assert_int_eq(tb_heartbeat(fd2, 3, 9, "nope", 1, "m", &err), 0);
    ck_assert_int_eq(err, KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(tb_heartbeat(fd2, 3, 10, "gb", 99, j1.member_id, &err), 0);
    ck_assert_int_eq(err, KP_ERR_ILLEGAL_GENERATION); /* generation first, as Kafka */
    struct tb_sync s;
    ck_assert_int_eq(tb_sync_group(fd2, 3, 11, "gb", 99, j1.member_id, 0, NULL, &s), 0);
    ck_assert_int_eq(s.error, KP_ERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(tb_sync_group(fd2, 3, 12, "gb", 1, "stranger", 0, NULL, &s), 0);
    ck_assert_int_eq(s.error, KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(tb_leave_group(fd2, 1, 13, "gb", "stranger", &err), 0);
    ck_assert_int_eq(err, KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(tb_leave_group(fd2, 1, 14, "", "stranger", &err), 0);
    ck_assert_int_eq(err, KP_ERR_INVALID_GROUP_ID);
    close(fd2);

    /* a JoinGroup whose protocol count is larger than its bytes: closed, with a log line */
    ck_assert_int_eq(tb_req_begin(&r, 1024, KP_API_JOIN_GROUP, 5, 15), 0);
    kp_wr_str(&r.wr, kp_str_of("gb"));
    kp_wr_i32(&r.wr, 10000);
    kp_wr_i32(&r.wr, 30000);
    kp_wr_str(&r.wr, kp_str_of(""));
    kp_wr_nstr(&r.wr, KP_STR_NULL);
    kp_wr_str(&r.wr, kp_str_of("consumer"));
    kp_wr_i32(&r.wr, 1000000);
    ck_assert_int_eq(tb_req_send(fd, &r), 0);
    tb_req_free(&r);
    ck_assert_int_eq(tb_wait_closed(fd, 5000), 1);
    ck_assert(tb_log_wait(&B, "malformed JoinGroup v5", 5000));
    close(fd);

    /* the group is unharmed: its member still heartbeats (CompletingRebalance: it must sync) */
    int fd3 = tb_ck_connect(&B);
    struct tb_assign as[] = {{j1.member_id, "a"}};
    ck_assert_int_eq(tb_sync_group(fd3, 3, 16, "gb", 1, j1.member_id, 1, as, &s), 0);
    ck_assert_int_eq(s.error, 0);
    ck_assert_int_eq(tb_heartbeat(fd3, 3, 17, "gb", 1, j1.member_id, &err), 0);
    ck_assert_int_eq(err, 0);
    close(fd3);
}
END_TEST

static Suite *groups_suite(void)
{
    Suite *s = suite_create("groups");
    TCase *tc = tcase_create("coordinator");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, find_coordinator_every_version);
    tcase_add_test(tc, two_members_join_sync_heartbeat_leave);
    tcase_add_test(tc, every_version);
    tcase_add_test(tc, parked_join_connection_closes);
    tcase_add_test(tc, parked_sync_connection_closes);
    tcase_add_test(tc, member_rejoins_on_new_connection_while_parked);
    tcase_add_test(tc, many_members_one_generation);
    tcase_add_test(tc, member_id_required_and_pending_ids);
    tcase_add_test(tc, subscription_change_during_first_join_does_not_stall);
    tcase_add_test(tc, pending_id_is_not_waited_for);
    tcase_add_test(tc, stop_answers_parked_join);
    tcase_add_test(tc, bad_inputs_get_kafka_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(groups_suite()); }
