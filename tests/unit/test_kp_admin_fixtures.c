/*
 * test_kp_admin_fixtures — the admin and group requests librdkafka 2.0.2 (Debian 12) sends,
 * captured by tests/fixtures/capture_admin.py (see tests/fixtures/README.md): an encoder
 * independent of proto's, at the versions librdkafka picks when offered proto's ranges,
 * flexible ones included (InitProducerId v4, OffsetFetch v7, ListGroups v4). Each decodes
 * to the field values librdkafka was asked to send, re-encodes byte for byte, and every
 * strict prefix of its body is rejected. librdkafka 2.0.2 appends a second tag buffer to
 * ListGroups v3+ (fixed in 2.0.3): strict decoding rejects it, kp_rd_allow_trailing accepts
 * it, as Kafka does.
 *
 * Fixtures are read from $SPLICELOG_ROOT/tests/fixtures, else ./tests/fixtures.
 */
#include "test_kp_msg_common.h"

#include <stdio.h>

#include "kp_msg_cluster.h"
#include "kp_msg_config.h"
#include "kp_msg_groups_admin.h"
#include "tb_check.h"

TM_CODEC(c_oc, kp_offset_commit_req, struct kp_offset_commit_req, 0, 8);
TM_CODEC(c_of, kp_offset_fetch_req, struct kp_offset_fetch_req, 1, 8);
TM_CODEC(c_dg, kp_describe_groups_req, struct kp_describe_groups_req, 0, 5);
TM_CODEC(c_ct, kp_create_topics_req, struct kp_create_topics_req, 0, 7);
TM_CODEC(c_dt, kp_delete_topics_req, struct kp_delete_topics_req, 0, 6);
TM_CODEC(c_ip, kp_init_producer_id_req, struct kp_init_producer_id_req, 0, 4);
TM_CODEC(c_dc, kp_describe_configs_req, struct kp_describe_configs_req, 0, 4);
TM_CODEC(c_ac, kp_alter_configs_req, struct kp_alter_configs_req, 0, 2);
TM_CODEC(c_cp, kp_create_partitions_req, struct kp_create_partitions_req, 0, 3);
TM_CODEC(c_dlg, kp_delete_groups_req, struct kp_delete_groups_req, 0, 2);
TM_CODEC(c_od, kp_offset_delete_req, struct kp_offset_delete_req, 0, 0);

/* The body of fixture name (header checked and skipped), in a heap block of exactly its size.
 */
static uint8_t *body_of(const char *name, int16_t key, int16_t version, size_t *len)
{
    const char *root = getenv("SPLICELOG_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s.bin", root && *root ? root : ".", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (set SPLICELOG_ROOT or run from the repo)", path);
    uint8_t frame[4096];
    size_t n = fread(frame, 1, sizeof frame, f);
    fclose(f);
    int32_t size;
    ck_assert_int_eq(kp_frame_peek(frame, n, 1 << 20, &size), 0);
    ck_assert_uint_eq((size_t)size + 4, n);
    struct kp_rd rd;
    kp_rd_init(&rd, frame + 4, n - 4);
    ck_assert_int_eq(kp_rd_i16(&rd), key);
    ck_assert_int_eq(kp_rd_i16(&rd), version);
    (void)kp_rd_i32(&rd); /* correlation id */
    ck_assert(kp_str_eq(kp_rd_nstr(&rd), "rdkafka"));
    if (version >= kp_msg_codec_find(key)->first_flexible)
        kp_rd_tags(&rd); /* request header v2 */
    ck_assert(kp_rd_ok(&rd));
    *len = kp_rd_left(&rd);
    uint8_t *b = malloc(*len ? *len : 1);
    memcpy(b, rd.p, *len);
    return b;
}

/* Decodes the fixture's body into out (arena over out_mem), re-encodes it byte for byte and
 * rejects every strict prefix (tm_check). */
static void check(const struct tm_codec *c, const char *name, int16_t key, int16_t v, void *out,
                  struct kp_arena *a)
{
    size_t len;
    uint8_t *b = body_of(name, key, v, &len);
    kp_arena_init(a, out_mem, sizeof out_mem);
    struct kp_rd rd;
    kp_rd_init(&rd, b, len);
    ck_assert_msg(c->dec(&rd, v, a, out) == 0, "%s", name);
    ck_assert_uint_eq(tm_check(c, v, out, out, buf, a, out_mem, sizeof out_mem), len);
    ck_assert(memcmp(buf, b, len) == 0);
    free(b);
}

START_TEST(test_group_requests)
{
    struct kp_arena a;
    struct kp_offset_commit_req oc;
    check(&c_oc, "admin_offsetcommit_v7", 8, 7, &oc, &a);
    tm_str_eq(oc.group_id, TM_S("g"));
    ck_assert_int_eq(oc.generation_id, -1);
    tm_str_null(oc.group_instance_id);
    ck_assert_int_eq(oc.topics[0].partitions[0].committed_offset, 5);
    ck_assert_int_eq(oc.topics[0].partitions[0].committed_leader_epoch, -1);

    struct kp_offset_fetch_req of;
    check(&c_of, "admin_offsetfetch_v7", 9, 7, &of, &a);
    tm_str_eq(of.group_id, TM_S("g"));
    ck_assert_int_eq(of.topics[0].n_partition_indexes, 1);
    ck_assert(!of.require_stable);

    struct kp_describe_groups_req dg;
    check(&c_dg, "admin_describegroups_v4", 15, 4, &dg, &a);
    tm_str_eq(dg.groups[0], TM_S("g"));

    struct kp_delete_groups_req dlg;
    check(&c_dlg, "admin_deletegroups_v1", 42, 1, &dlg, &a);
    tm_str_eq(dlg.groups_names[0], TM_S("g"));

    struct kp_offset_delete_req od;
    check(&c_od, "admin_offsetdelete_v0", 47, 0, &od, &a);
    ck_assert_int_eq(od.topics[0].partitions[0].partition_index, 0);

    struct kp_init_producer_id_req ip;
    check(&c_ip, "admin_initproducerid_v4", 22, 4, &ip, &a);
    tm_str_null(ip.transactional_id);
    ck_assert_int_eq(ip.producer_id, -1);
    ck_assert_int_eq(ip.producer_epoch, -1);
}
END_TEST

START_TEST(test_topic_and_config_requests)
{
    struct kp_arena a;
    struct kp_create_topics_req ct;
    check(&c_ct, "admin_createtopics_v4", 19, 4, &ct, &a);
    ck_assert_int_eq(ct.topics[0].num_partitions, 3);
    tm_str_eq(ct.topics[0].configs[0].value, TM_S("1000"));
    struct kp_delete_topics_req dt;
    check(&c_dt, "admin_deletetopics_v1", 20, 1, &dt, &a);
    tm_str_eq(dt.topic_names[0], TM_S("t"));
    struct kp_create_partitions_req cp;
    check(&c_cp, "admin_createpartitions_v0", 37, 0, &cp, &a);
    ck_assert_int_eq(cp.topics[0].count, 4);
    ck_assert_int_eq(cp.topics[0].n_assignments, -1);
    struct kp_describe_configs_req dc;
    check(&c_dc, "admin_describeconfigs_v1", 32, 1, &dc, &a);
    ck_assert_int_eq(dc.resources[0].resource_type, KP_CONFIG_RESOURCE_TOPIC);
    ck_assert_int_eq(dc.resources[0].n_configuration_keys, -1);
    ck_assert(dc.include_synonyms);
    struct kp_alter_configs_req ac;
    check(&c_ac, "admin_alterconfigs_v0", 33, 0, &ac, &a);
    tm_str_eq(ac.resources[0].configs[0].name, TM_S("retention.ms"));
    tm_str_eq(ac.resources[0].configs[0].value, TM_S("5000"));
}
END_TEST

/* librdkafka 2.0.2's ListGroups v4: states_filter [], tags, and one more (empty) tag buffer. */
START_TEST(test_list_groups_trailing_tags)
{
    size_t len;
    uint8_t *b = body_of("admin_listgroups_v4", 16, 4, &len);
    EXPECT_BYTES(b, len, 0x01, 0x00, 0x00);
    struct kp_list_groups_req o;
    struct kp_arena a;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    struct kp_rd rd;
    kp_rd_init(&rd, b, len);
    ck_assert_int_eq(kp_list_groups_req_decode(&rd, 4, &a, &o), -EBADMSG);
    kp_rd_init(&rd, b, len);
    kp_rd_allow_trailing(&rd);
    ck_assert_int_eq(kp_list_groups_req_decode(&rd, 4, &a, &o), 0);
    ck_assert_uint_eq(kp_rd_left(&rd), 1); /* left at the end of the body */
    ck_assert_int_eq(o.n_states_filter, 0);
    /* a short body is still an error */
    kp_rd_init(&rd, b, 1);
    kp_rd_allow_trailing(&rd);
    ck_assert_int_eq(kp_list_groups_req_decode(&rd, 4, &a, &o), -EBADMSG);
    free(b);
}
END_TEST

static Suite *kp_admin_fixtures_suite(void)
{
    Suite *s = suite_create("kp_admin_fixtures");
    TCase *t = tcase_create("librdkafka");
    tcase_add_test(t, test_group_requests);
    tcase_add_test(t, test_topic_and_config_requests);
    tcase_add_test(t, test_list_groups_trailing_tags);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tb_ck_run(kp_admin_fixtures_suite()); }
