#include "tb_clu.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "kp_api.h"
#include "kp_msg.h"
#include "tb_broker.h"
#include "tb_kafka.h"
#include "tb_sasl.h"

struct tb_zk tb_clu_zk;

static void zk_start(void) { tb_zk_start(&tb_clu_zk, program_invocation_short_name); }
static void zk_stop(void) { tb_zk_stop(&tb_clu_zk); }

TCase *tb_clu_tcase(const char *name, void (*teardown)(void), int timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, zk_start, zk_stop);
    if (teardown)
        tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, timeout_s);
    return tc;
}

const struct tb_metadata *tb_clu_metadata(int port, const char *topic)
{
    static struct tb_metadata m;
    const char *const names[] = {topic};
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_metadata(fd, names, 1, false, &m), 0);
    close(fd);
    return &m;
}

void tb_clu_create_topic(int port, const char *topic, int32_t nparts, int16_t rf)
{
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    struct tb_req rr;
    ck_assert_int_eq(tb_req_begin(&rr, 256, 19, 4, 77), 0);
    tb_enc_create_topics(&rr, 4, topic, nparts, rf, 10000, false);
    struct tb_frame ff;
    ck_assert_int_eq(tb_call(fd, &rr, 77, &ff), 0);
    tb_req_free(&rr);
    int16_t err = -1;
    ck_assert_int_eq(tb_dec_create_topics(&ff, 4, &err), 0);
    tb_frame_free(&ff);
    close(fd);
    ck_assert_msg(err == 0, "CreateTopics %s: error %d", topic, err);
}

void tb_clu_find_coordinators_v4(int port, int8_t key_type, const char *const keys[2],
                                 const int32_t want[2], const int want_port[2])
{
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    struct kp_str k[2] = {kp_str_of(keys[0]), kp_str_of(keys[1])};
    struct kp_find_coordinator_req req = {
        .key_type = key_type, .n_coordinator_keys = 2, .coordinator_keys = k};
    struct kp_find_coordinator_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_FIND_COORDINATOR, 4,
                              TB_ENC(kp_find_coordinator_req_encode), &req,
                              TB_DEC(kp_find_coordinator_resp_decode), &resp),
                     0);
    close(fd);
    ck_assert_int_eq(resp.n_coordinators, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(resp.coordinators[i].error_code, 0);
        ck_assert_int_eq(resp.coordinators[i].node_id, want[i]);
        ck_assert_int_eq(resp.coordinators[i].port, want_port[i]);
    }
}
