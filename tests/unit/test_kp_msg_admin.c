/*
 * test_kp_msg_admin — the APIs new in issue 14 (kp_msg_config.h, kp_msg_groups_admin.h,
 * kp_msg_cluster.h): DescribeConfigs, AlterConfigs, IncrementalAlterConfigs, ListGroups,
 * DescribeGroups, DeleteGroups, OffsetDelete, DeleteRecords, OffsetForLeaderEpoch,
 * DescribeLogDirs, CreatePartitions, DescribeCluster. For each message and direction, golden
 * bytes written by hand from Kafka's schema (apache/kafka
 * clients/src/main/resources/common/message/<Name>{Request,Response}.json), at a flexible version
 * and, where the API has them, a classic one; then tm_check at that version (every prefix
 * rejected, hostile counts, trailing byte, smaller arenas, decode/encode identity), forged
 * compact and int32 counts at every position, field checks on the decoded struct, and tm_check
 * at every other version.
 */
#include "test_kp_msg_common.h"

#include "kp_msg_cluster.h"
#include "kp_msg_config.h"
#include "kp_msg_groups_admin.h"
#include "tb_check.h"

TM_CODEC(c_dc_req, kp_describe_configs_req, struct kp_describe_configs_req, 0, 4);
TM_CODEC(c_dc_resp, kp_describe_configs_resp, struct kp_describe_configs_resp, 0, 4);
TM_CODEC(c_ac_req, kp_alter_configs_req, struct kp_alter_configs_req, 0, 2);
TM_CODEC(c_ac_resp, kp_alter_configs_resp, struct kp_alter_configs_resp, 0, 2);
TM_CODEC(c_iac_req, kp_incremental_alter_configs_req, struct kp_incremental_alter_configs_req, 0,
         1);
TM_CODEC(c_iac_resp, kp_incremental_alter_configs_resp, struct kp_incremental_alter_configs_resp, 0,
         1);
TM_CODEC(c_lg_req, kp_list_groups_req, struct kp_list_groups_req, 0, 5);
TM_CODEC(c_lg_resp, kp_list_groups_resp, struct kp_list_groups_resp, 0, 5);
TM_CODEC(c_dg_req, kp_describe_groups_req, struct kp_describe_groups_req, 0, 5);
TM_CODEC(c_dg_resp, kp_describe_groups_resp, struct kp_describe_groups_resp, 0, 5);
TM_CODEC(c_dlg_req, kp_delete_groups_req, struct kp_delete_groups_req, 0, 2);
TM_CODEC(c_dlg_resp, kp_delete_groups_resp, struct kp_delete_groups_resp, 0, 2);
TM_CODEC(c_od_req, kp_offset_delete_req, struct kp_offset_delete_req, 0, 0);
TM_CODEC(c_od_resp, kp_offset_delete_resp, struct kp_offset_delete_resp, 0, 0);
TM_CODEC(c_dr_req, kp_delete_records_req, struct kp_delete_records_req, 0, 2);
TM_CODEC(c_dr_resp, kp_delete_records_resp, struct kp_delete_records_resp, 0, 2);
TM_CODEC(c_ofle_req, kp_offset_for_leader_epoch_req, struct kp_offset_for_leader_epoch_req, 0, 4);
TM_CODEC(c_ofle_resp, kp_offset_for_leader_epoch_resp, struct kp_offset_for_leader_epoch_resp, 0,
         4);
TM_CODEC(c_dld_req, kp_describe_log_dirs_req, struct kp_describe_log_dirs_req, 0, 4);
TM_CODEC(c_dld_resp, kp_describe_log_dirs_resp, struct kp_describe_log_dirs_resp, 0, 4);
TM_CODEC(c_cp_req, kp_create_partitions_req, struct kp_create_partitions_req, 0, 3);
TM_CODEC(c_cp_resp, kp_create_partitions_resp, struct kp_create_partitions_resp, 0, 3);
TM_CODEC(c_el_req, kp_elect_leaders_req, struct kp_elect_leaders_req, 0, 2);
TM_CODEC(c_el_resp, kp_elect_leaders_resp, struct kp_elect_leaders_resp, 0, 2);
TM_CODEC(c_dcl_req, kp_describe_cluster_req, struct kp_describe_cluster_req, 0, 1);
TM_CODEC(c_dcl_resp, kp_describe_cluster_resp, struct kp_describe_cluster_resp, 0, 1);

#define S_RETMS    'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm', 's'
#define S_CONSUMER 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r'
#define S_STABLE   'S', 't', 'a', 'b', 'l', 'e'

/* The codec's range is what kp_msg_codec_find says, and what these suites cover. */
static void check_range(const struct tm_codec *c, int16_t key)
{
    const struct kp_msg_codec *mc = kp_msg_codec_find(key);
    ck_assert_ptr_nonnull(mc);
    ck_assert_int_eq(mc->min_version, c->lo);
    ck_assert_int_eq(mc->max_version, c->hi);
}

/* ---- DescribeConfigs -------------------------------------------------------------------- */

START_TEST(test_describe_configs)
{
    check_range(&c_dc_req, 32);
    static const struct kp_describe_configs_resource res[] = {
        {KP_CONFIG_RESOURCE_TOPIC, {"t", 1}, -1, NULL}};
    struct kp_describe_configs_req req = {1, res, true, true};
    struct kp_describe_configs_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_dc_req, 4, &req, &o, &a, 0x02, 0x02, 0x02, 't', 0x00, 0x00, /* resources:
                                                           type 2, name, keys null, tags */
              0x01, 0x01, 0x00); /* include_synonyms (v1+), include_documentation (v3+), tags */
    ck_assert_int_eq(o.resources[0].n_configuration_keys, -1);
    ck_assert(o.include_documentation);
    TM_GOLDEN(&c_dc_req, 0, &req, &o, &a, B32(1), 0x02, B16(1), 't', B32(-1));
    ck_assert(!o.include_synonyms);
    ck_assert_int_eq(tm_every_version(&c_dc_req, &req), 5);

    static const struct kp_describe_configs_synonym syn[] = {
        {{"retention.ms", 12}, {"1000", 4}, KP_CONFIG_SOURCE_DYNAMIC_TOPIC}};
    static const struct kp_describe_configs_entry ent[] = {
        {.name = {"retention.ms", 12},
         .value = {"1000", 4},
         .config_source = KP_CONFIG_SOURCE_DYNAMIC_TOPIC,
         .n_synonyms = 1,
         .synonyms = syn,
         .config_type = KP_CONFIG_TYPE_LONG,
         .documentation = {NULL, -1}}};
    static const struct kp_describe_configs_result rr[] = {
        {0, {NULL, -1}, KP_CONFIG_RESOURCE_TOPIC, {"t", 1}, 1, ent}};
    struct kp_describe_configs_resp resp = {0, 1, rr};
    struct kp_describe_configs_resp ro;
    TM_GOLDEN(&c_dc_resp, 4, &resp, &ro, &a, B32(0), 0x02, /* throttle, results */
              B16(0), 0x00, 0x02, 0x02, 't', 0x02,         /* error, message null, type, name,
                                                              configs */
              0x0d, S_RETMS, 0x05, '1', '0', '0', '0',     /* name, value */
              0x00, 0x01, 0x00,                            /* read_only, source (v1+), sensitive */
              0x02, 0x0d, S_RETMS, 0x05, '1', '0', '0', '0', 0x01, 0x00, /* synonyms (v1+) */
              0x05, 0x00, 0x00, /* config_type (v3+), documentation
                                   null (v3+), tags */
              0x00, 0x00);      /* result tags, tags */
    ck_assert_int_eq(ro.results[0].configs[0].synonyms[0].source, 1);
    ck_assert_int_eq(ro.results[0].configs[0].config_type, KP_CONFIG_TYPE_LONG);
    tm_str_null(ro.results[0].configs[0].documentation);
    /* v0: is_default instead of config_source, no synonyms */
    TM_GOLDEN(&c_dc_resp, 0, &resp, &ro, &a, B32(0), B32(1), B16(0), B16(-1), 0x02, B16(1), 't',
              B32(1), B16(12), S_RETMS, B16(4), '1', '0', '0', '0', 0x00, 0x00, 0x00);
    ck_assert_int_eq(ro.results[0].configs[0].config_source, -1);
    ck_assert_int_eq(ro.results[0].configs[0].n_synonyms, 0);
    ck_assert_int_eq(tm_every_version(&c_dc_resp, &resp), 5);
}
END_TEST

/* ---- AlterConfigs, IncrementalAlterConfigs ---------------------------------------------- */

START_TEST(test_alter_configs)
{
    check_range(&c_ac_req, 33);
    check_range(&c_iac_req, 44);
    static const struct kp_alter_configs_config cfg[] = {{{"a", 1}, {"1", 1}}};
    static const struct kp_alter_configs_resource res[] = {{2, {"t", 1}, 1, cfg}};
    struct kp_alter_configs_req req = {1, res, false};
    struct kp_alter_configs_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_ac_req, 2, &req, &o, &a, 0x02, 0x02, 0x02, 't', 0x02, 0x02, 'a', 0x02, '1', 0x00,
              0x00, 0x00, 0x00);
    TM_GOLDEN(&c_ac_req, 0, &req, &o, &a, B32(1), 0x02, B16(1), 't', B32(1), B16(1), 'a', B16(1),
              '1', 0x00);
    tm_str_eq(o.resources[0].configs[0].value, cfg[0].value);
    ck_assert_int_eq(tm_every_version(&c_ac_req, &req), 3);

    static const struct kp_alter_configs_result rr[] = {{42, {"bad", 3}, 2, {"t", 1}}};
    struct kp_alter_configs_resp resp = {0, 1, rr};
    struct kp_alter_configs_resp ro;
    TM_GOLDEN(&c_ac_resp, 2, &resp, &ro, &a, B32(0), 0x02, B16(42), 0x04, 'b', 'a', 'd', 0x02, 0x02,
              't', 0x00, 0x00);
    TM_GOLDEN(&c_ac_resp, 1, &resp, &ro, &a, B32(0), B32(1), B16(42), B16(3), 'b', 'a', 'd', 0x02,
              B16(1), 't');
    ck_assert_int_eq(ro.responses[0].error_code, 42);

    static const struct kp_incremental_alter_configs_config icfg[] = {
        {{"a", 1}, KP_CONFIG_OP_DELETE, {NULL, -1}}};
    static const struct kp_incremental_alter_configs_resource ires[] = {{2, {"t", 1}, 1, icfg}};
    struct kp_incremental_alter_configs_req ireq = {1, ires, true};
    struct kp_incremental_alter_configs_req io;
    TM_GOLDEN(&c_iac_req, 1, &ireq, &io, &a, 0x02, 0x02, 0x02, 't', 0x02, 0x02, 'a', 0x01, 0x00,
              0x00, 0x00, 0x01, 0x00); /* ..., name, operation DELETE, value null, tags ... */
    ck_assert_int_eq(io.resources[0].configs[0].config_operation, KP_CONFIG_OP_DELETE);
    tm_str_null(io.resources[0].configs[0].value);
    TM_GOLDEN(&c_iac_req, 0, &ireq, &io, &a, B32(1), 0x02, B16(1), 't', B32(1), B16(1), 'a', 0x01,
              B16(-1), 0x01);
    struct kp_incremental_alter_configs_resp iresp = {0, 1, rr};
    struct kp_incremental_alter_configs_resp iro;
    TM_GOLDEN(&c_iac_resp, 1, &iresp, &iro, &a, B32(0), 0x02, B16(42), 0x04, 'b', 'a', 'd', 0x02,
              0x02, 't', 0x00, 0x00);
    ck_assert_int_eq(tm_every_version(&c_iac_resp, &iresp), 2);
}
END_TEST

/* ---- ListGroups, DescribeGroups, DeleteGroups, OffsetDelete ------------------------------ */

START_TEST(test_list_groups)
{
    check_range(&c_lg_req, 16);
    static const struct kp_str states[] = {{"Stable", 6}};
    static const struct kp_str types[] = {{"classic", 7}};
    struct kp_list_groups_req req = {1, states, 1, types};
    struct kp_list_groups_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_lg_req, 4, &req, &o, &a, 0x02, 0x07, S_STABLE, 0x00);
    ck_assert_int_eq(o.n_types_filter, 0);
    TM_GOLDEN(&c_lg_req, 5, &req, &o, &a, 0x02, 0x07, S_STABLE, 0x02, 0x08, 'c', 'l', 'a', 's', 's',
              'i', 'c', 0x00);
    tm_str_eq(o.types_filter[0], types[0]);
    struct kp_wr wr; /* v0-2: an empty body */
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_list_groups_req_encode(&wr, 0, &req), 0);
    ck_assert_uint_eq(kp_wr_len(&wr), 0);
    ck_assert_int_eq(tm_every_version(&c_lg_req, &req), 6);

    static const struct kp_list_groups_group g[] = {
        {{"g", 1}, {"consumer", 8}, {"Stable", 6}, {"classic", 7}}};
    struct kp_list_groups_resp resp = {0, 0, 1, g};
    struct kp_list_groups_resp ro;
    TM_GOLDEN(&c_lg_resp, 4, &resp, &ro, &a, B32(0), B16(0), 0x02, 0x02, 'g', 0x09, S_CONSUMER,
              0x07, S_STABLE, 0x00, 0x00);
    tm_str_eq(ro.groups[0].group_state, g[0].group_state);
    TM_GOLDEN(&c_lg_resp, 0, &resp, &ro, &a, B16(0), B32(1), B16(1), 'g', B16(8), S_CONSUMER);
    ck_assert_int_eq(ro.groups[0].group_state.len, 0);
    ck_assert_int_eq(tm_every_version(&c_lg_resp, &resp), 6);
}
END_TEST

START_TEST(test_describe_groups)
{
    check_range(&c_dg_req, 15);
    static const struct kp_str groups[] = {{"g", 1}};
    struct kp_describe_groups_req req = {1, groups, true};
    struct kp_describe_groups_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_dg_req, 5, &req, &o, &a, 0x02, 0x02, 'g', 0x01, 0x00);
    TM_GOLDEN(&c_dg_req, 0, &req, &o, &a, B32(1), B16(1), 'g');
    ck_assert(!o.include_authorized_operations);

    static const struct kp_describe_groups_member mem[] = {{{"m", 1},
                                                            {NULL, -1},
                                                            {"c", 1},
                                                            {"/1.2.3.4", 8},
                                                            {(const uint8_t *)"\x01", 1},
                                                            {(const uint8_t *)"\x02", 1}}};
    static const struct kp_describe_groups_group gr[] = {
        {0, {"g", 1}, {"Stable", 6}, {"consumer", 8}, {"range", 5}, 1, mem, INT32_MIN}};
    struct kp_describe_groups_resp resp = {0, 1, gr};
    struct kp_describe_groups_resp ro;
    TM_GOLDEN(&c_dg_resp, 5, &resp, &ro, &a, B32(0), 0x02,         /* throttle, groups */
              B16(0), 0x02, 'g', 0x07, S_STABLE, 0x09, S_CONSUMER, /* error, id, state, type */
              0x06, 'r', 'a', 'n', 'g', 'e', 0x02,                 /* protocol_data, members */
              0x02, 'm', 0x00, 0x02, 'c', 0x09, '/', '1', '.', '2', '.', '3', '.', '4', /* member
                                                        id, instance id null (v4+), client id,
                                                        client host */
              0x02, 0x01, 0x02, 0x02, 0x00, /* metadata, assignment, tags */
              B32(INT32_MIN), 0x00, 0x00);  /* authorized_operations (v3+), tags, tags */
    tm_bytes_eq(ro.groups[0].members[0].member_assignment, mem[0].member_assignment);
    /* v0: no throttle, no instance id, no authorized operations */
    TM_GOLDEN(&c_dg_resp, 0, &resp, &ro, &a, B32(1), B16(0), B16(1), 'g', B16(6), S_STABLE, B16(8),
              S_CONSUMER, B16(5), 'r', 'a', 'n', 'g', 'e', B32(1), B16(1), 'm', B16(1), 'c', B16(8),
              '/', '1', '.', '2', '.', '3', '.', '4', B32(1), 0x01, B32(1), 0x02);
    ck_assert_int_eq(ro.groups[0].authorized_operations, INT32_MIN);
    ck_assert_int_eq(tm_every_version(&c_dg_resp, &resp), 6);
}
END_TEST

START_TEST(test_delete_groups_and_offsets)
{
    check_range(&c_dlg_req, 42);
    check_range(&c_od_req, 47);
    static const struct kp_str names[] = {{"g", 1}};
    struct kp_delete_groups_req req = {1, names};
    struct kp_delete_groups_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_dlg_req, 2, &req, &o, &a, 0x02, 0x02, 'g', 0x00);
    TM_GOLDEN(&c_dlg_req, 0, &req, &o, &a, B32(1), B16(1), 'g');
    static const struct kp_delete_groups_result rr[] = {{{"g", 1}, 69}};
    struct kp_delete_groups_resp resp = {0, 1, rr};
    struct kp_delete_groups_resp ro;
    TM_GOLDEN(&c_dlg_resp, 2, &resp, &ro, &a, B32(0), 0x02, 0x02, 'g', B16(69), 0x00, 0x00);
    TM_GOLDEN(&c_dlg_resp, 1, &resp, &ro, &a, B32(0), B32(1), B16(1), 'g', B16(69));
    ck_assert_int_eq(ro.results[0].error_code, 69);

    static const struct kp_offset_delete_req_partition rp[] = {{0}, {2}};
    static const struct kp_offset_delete_req_topic rt[] = {{{"t", 1}, 2, rp}};
    struct kp_offset_delete_req oreq = {{"g", 1}, 1, rt};
    struct kp_offset_delete_req oo;
    TM_GOLDEN(&c_od_req, 0, &oreq, &oo, &a, B16(1), 'g', B32(1), B16(1), 't', B32(2), B32(0),
              B32(2));
    ck_assert_int_eq(oo.topics[0].partitions[1].partition_index, 2);
    static const struct kp_offset_delete_resp_partition pp[] = {{0, 86}};
    static const struct kp_offset_delete_resp_topic pt[] = {{{"t", 1}, 1, pp}};
    struct kp_offset_delete_resp oresp = {0, 5, 1, pt};
    struct kp_offset_delete_resp oro;
    TM_GOLDEN(&c_od_resp, 0, &oresp, &oro, &a, B16(0), B32(5), B32(1), B16(1), 't', B32(1), B32(0),
              B16(86)); /* error first, then throttle */
    ck_assert_int_eq(oro.throttle_time_ms, 5);
    ck_assert_int_eq(oro.topics[0].partitions[0].error_code, 86);
    /* not flexible: v1 does not exist */
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_offset_delete_req_encode(&wr, 1, &oreq), -EINVAL);
    tm_check_bad_versions(&c_od_req, &oreq);
}
END_TEST

/* ---- DeleteRecords, OffsetForLeaderEpoch, DescribeLogDirs -------------------------------- */

START_TEST(test_delete_records)
{
    check_range(&c_dr_req, 21);
    static const struct kp_delete_records_req_partition rp[] = {{0, 5}};
    static const struct kp_delete_records_req_topic rt[] = {{{"t", 1}, 1, rp}};
    struct kp_delete_records_req req = {1, rt, 1000};
    struct kp_delete_records_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_dr_req, 2, &req, &o, &a, 0x02, 0x02, 't', 0x02, B32(0), B64(5), 0x00, 0x00,
              B32(1000), 0x00);
    TM_GOLDEN(&c_dr_req, 0, &req, &o, &a, B32(1), B16(1), 't', B32(1), B32(0), B64(5), B32(1000));
    ck_assert_int_eq(o.topics[0].partitions[0].offset, 5);
    static const struct kp_delete_records_resp_partition pp[] = {{0, 5, 0}};
    static const struct kp_delete_records_resp_topic pt[] = {{{"t", 1}, 1, pp}};
    struct kp_delete_records_resp resp = {0, 1, pt};
    struct kp_delete_records_resp ro;
    TM_GOLDEN(&c_dr_resp, 2, &resp, &ro, &a, B32(0), 0x02, 0x02, 't', 0x02, B32(0), B64(5), B16(0),
              0x00, 0x00, 0x00);
    ck_assert_int_eq(ro.topics[0].partitions[0].low_watermark, 5);
    ck_assert_int_eq(tm_every_version(&c_dr_resp, &resp), 3);
}
END_TEST

START_TEST(test_offset_for_leader_epoch)
{
    check_range(&c_ofle_req, 23);
    static const struct kp_offset_for_leader_epoch_req_partition rp[] = {{0, -1, 3}};
    static const struct kp_offset_for_leader_epoch_req_topic rt[] = {{{"t", 1}, 1, rp}};
    struct kp_offset_for_leader_epoch_req req = {-2, 1, rt};
    struct kp_offset_for_leader_epoch_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_ofle_req, 4, &req, &o, &a, B32(-2), 0x02, 0x02, 't', 0x02, B32(0), B32(-1), B32(3),
              0x00, 0x00, 0x00); /* replica (v3+), topics, partition, current epoch (v2+), epoch */
    TM_GOLDEN(&c_ofle_req, 0, &req, &o, &a, B32(1), B16(1), 't', B32(1), B32(0), B32(3));
    ck_assert_int_eq(o.replica_id, -2);
    ck_assert_int_eq(o.topics[0].partitions[0].current_leader_epoch, -1);
    ck_assert_int_eq(tm_every_version(&c_ofle_req, &req), 5);

    static const struct kp_offset_for_leader_epoch_resp_partition pp[] = {{0, 0, 3, 100}};
    static const struct kp_offset_for_leader_epoch_resp_topic pt[] = {{{"t", 1}, 1, pp}};
    struct kp_offset_for_leader_epoch_resp resp = {0, 1, pt};
    struct kp_offset_for_leader_epoch_resp ro;
    TM_GOLDEN(&c_ofle_resp, 4, &resp, &ro, &a, B32(0), 0x02, 0x02, 't', 0x02, B16(0), B32(0),
              B32(3), B64(100), 0x00, 0x00, 0x00);
    TM_GOLDEN(&c_ofle_resp, 0, &resp, &ro, &a, B32(1), B16(1), 't', B32(1), B16(0), B32(0),
              B64(100));
    ck_assert_int_eq(ro.topics[0].partitions[0].leader_epoch, -1);
    ck_assert_int_eq(ro.topics[0].partitions[0].end_offset, 100);
    ck_assert_int_eq(tm_every_version(&c_ofle_resp, &resp), 5);
}
END_TEST

START_TEST(test_describe_log_dirs)
{
    check_range(&c_dld_req, 35);
    struct kp_describe_log_dirs_req req = {-1, NULL};
    struct kp_describe_log_dirs_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_dld_req, 4, &req, &o, &a, 0x00, 0x00); /* topics null (all), tags */
    ck_assert_int_eq(o.n_topics, -1);
    static const int32_t parts[] = {0};
    static const struct kp_describe_log_dirs_req_topic rt[] = {{{"t", 1}, 1, parts}};
    req = (struct kp_describe_log_dirs_req){1, rt};
    TM_GOLDEN(&c_dld_req, 2, &req, &o, &a, 0x02, 0x02, 't', 0x02, B32(0), 0x00, 0x00);
    TM_GOLDEN(&c_dld_req, 1, &req, &o, &a, B32(1), B16(1), 't', B32(1), B32(0));

    static const struct kp_describe_log_dirs_partition pp[] = {{0, 100, 0, false}};
    static const struct kp_describe_log_dirs_topic pt[] = {{{"t", 1}, 1, pp}};
    static const struct kp_describe_log_dirs_result rr[] = {{0, {"/d", 2}, 1, pt, 1000, 500}};
    struct kp_describe_log_dirs_resp resp = {0, 0, 1, rr};
    struct kp_describe_log_dirs_resp ro;
    TM_GOLDEN(&c_dld_resp, 4, &resp, &ro, &a, B32(0), B16(0), 0x02, /* throttle, error (v3+) */
              B16(0), 0x03, '/', 'd', 0x02, 0x02, 't', 0x02,        /* result: error, dir, topic */
              B32(0), B64(100), B64(0), 0x00, 0x00, 0x00, /* partition, tags, topic tags */
              B64(1000), B64(500), 0x00, 0x00);           /* total, usable (v4+), tags, tags */
    ck_assert_int_eq(ro.results[0].usable_bytes, 500);
    TM_GOLDEN(&c_dld_resp, 0, &resp, &ro, &a, B32(0), B32(1), B16(0), B16(2), '/', 'd', B32(1),
              B16(1), 't', B32(1), B32(0), B64(100), B64(0), 0x00);
    ck_assert_int_eq(ro.results[0].total_bytes, -1);
    ck_assert_int_eq(ro.error_code, 0);
    ck_assert_int_eq(tm_every_version(&c_dld_resp, &resp), 5);
}
END_TEST

/* ---- CreatePartitions, DescribeCluster -------------------------------------------------- */

START_TEST(test_create_partitions)
{
    check_range(&c_cp_req, 37);
    static const struct kp_create_partitions_topic tt[] = {{{"t", 1}, 4, -1, NULL}};
    struct kp_create_partitions_req req = {1, tt, 1000, false};
    struct kp_create_partitions_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_cp_req, 3, &req, &o, &a, 0x02, 0x02, 't', B32(4), 0x00, 0x00, B32(1000), 0x00,
              0x00); /* topic, count, assignments null, tags; timeout, validate_only, tags */
    ck_assert_int_eq(o.topics[0].n_assignments, -1);
    static const int32_t b1[] = {1};
    static const struct kp_create_partitions_assignment as[] = {{1, b1}};
    static const struct kp_create_partitions_topic t2[] = {{{"t", 1}, 4, 1, as}};
    struct kp_create_partitions_req r0 = {1, t2, 1000, true};
    TM_GOLDEN(&c_cp_req, 0, &r0, &o, &a, B32(1), B16(1), 't', B32(4), B32(1), B32(1), B32(1),
              B32(1000), 0x01);
    ck_assert_int_eq(o.topics[0].assignments[0].broker_ids[0], 1);
    ck_assert_int_eq(tm_every_version(&c_cp_req, &r0), 4);

    static const struct kp_create_partitions_result rr[] = {{{"t", 1}, 37, {NULL, -1}}};
    struct kp_create_partitions_resp resp = {0, 1, rr};
    struct kp_create_partitions_resp ro;
    TM_GOLDEN(&c_cp_resp, 3, &resp, &ro, &a, B32(0), 0x02, 0x02, 't', B16(37), 0x00, 0x00, 0x00);
    TM_GOLDEN(&c_cp_resp, 1, &resp, &ro, &a, B32(0), B32(1), B16(1), 't', B16(37), B16(-1));
    tm_str_null(ro.results[0].error_message);
}
END_TEST

START_TEST(test_elect_leaders)
{
    check_range(&c_el_req, 43);
    static const int32_t ps[] = {0, 2};
    static const struct kp_elect_leaders_req_topic tp[] = {{{"t", 1}, 2, ps}};
    struct kp_elect_leaders_req req = {0, 1, tp, 60000};
    struct kp_elect_leaders_req o;
    struct kp_arena a;
    /* v2 (flexible): type, compact array of {compact string, compact int32 array}, timeout */
    TM_GOLDEN(&c_el_req, 2, &req, &o, &a, 0x00, 0x02, 0x02, 't', 0x03, B32(0), B32(2), 0x00,
              B32(60000), 0x00);
    ck_assert_int_eq(o.topic_partitions[0].partitions[1], 2);
    /* v0: no election type (decoded 0) */
    TM_GOLDEN(&c_el_req, 0, &req, &o, &a, B32(1), B16(1), 't', B32(2), B32(0), B32(2), B32(60000));
    ck_assert_int_eq(o.election_type, 0);
    /* v1, null list: every partition */
    req = (struct kp_elect_leaders_req){1, -1, NULL, 5000};
    TM_GOLDEN(&c_el_req, 1, &req, &o, &a, 0x01, B32(-1), B32(5000));
    ck_assert_int_eq(o.n_topic_partitions, -1);
    ck_assert_int_eq(o.election_type, 1);
    TM_GOLDEN(&c_el_req, 2, &req, &o, &a, 0x01, 0x00, B32(5000), 0x00);
    ck_assert_int_eq(o.n_topic_partitions, -1);

    static const struct kp_elect_leaders_resp_partition rp[] = {{0, 0, {NULL, -1}},
                                                                {2, 84, {"n", 1}}};
    static const struct kp_elect_leaders_resp_topic rt[] = {{{"t", 1}, 2, rp}};
    struct kp_elect_leaders_resp resp = {0, 41, 1, rt};
    struct kp_elect_leaders_resp ro;
    TM_GOLDEN(&c_el_resp, 2, &resp, &ro, &a, B32(0), B16(41), 0x02, 0x02, 't', 0x03, B32(0), B16(0),
              0x00, 0x00, B32(2), B16(84), 0x02, 'n', 0x00, 0x00, 0x00);
    tm_str_null(ro.results[0].partitions[0].error_message);
    ck_assert_int_eq(ro.results[0].partitions[1].error_code, 84);
    /* v0: no top-level error code */
    TM_GOLDEN(&c_el_resp, 0, &resp, &ro, &a, B32(0), B32(1), B16(1), 't', B32(2), B32(0), B16(0),
              B16(-1), B32(2), B16(84), B16(1), 'n');
    ck_assert_int_eq(ro.error_code, 0);
}
END_TEST

START_TEST(test_describe_cluster)
{
    check_range(&c_dcl_req, 60);
    struct kp_describe_cluster_req req = {false, 1};
    struct kp_describe_cluster_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_dcl_req, 1, &req, &o, &a, 0x00, 0x01, 0x00);
    TM_GOLDEN(&c_dcl_req, 0, &req, &o, &a, 0x00, 0x00); /* flexible from v0 */
    ck_assert_int_eq(o.endpoint_type, 1);

    static const struct kp_describe_cluster_broker br[] = {{1, {"h", 1}, 9092, {NULL, -1}}};
    struct kp_describe_cluster_resp resp = {0, 0, {NULL, -1}, 1, {"c", 1}, 1, 1, br, INT32_MIN};
    struct kp_describe_cluster_resp ro;
    TM_GOLDEN(&c_dcl_resp, 1, &resp, &ro, &a, B32(0), B16(0), 0x00, 0x01, /* ..., message null,
                                                                              endpoint type (v1+) */
              0x02, 'c', B32(1), 0x02, B32(1), 0x02, 'h', B32(9092), 0x00, 0x00, /* cluster id,
                                                     controller, brokers: id, host, port, rack */
              B32(INT32_MIN), 0x00);
    tm_str_eq(ro.cluster_id, resp.cluster_id);
    ck_assert_int_eq(ro.brokers[0].port, 9092);
    TM_GOLDEN(&c_dcl_resp, 0, &resp, &ro, &a, B32(0), B16(0), 0x00, 0x02, 'c', B32(1), 0x02, B32(1),
              0x02, 'h', B32(9092), 0x00, 0x00, B32(INT32_MIN), 0x00);
}
END_TEST

static Suite *kp_msg_admin_suite(void)
{
    Suite *s = suite_create("kp_msg_admin");
    TCase *c = tcase_create("configs");
    tcase_set_timeout(c, 60);
    tcase_add_test(c, test_describe_configs);
    tcase_add_test(c, test_alter_configs);
    suite_add_tcase(s, c);
    TCase *g = tcase_create("groups");
    tcase_add_test(g, test_list_groups);
    tcase_add_test(g, test_describe_groups);
    tcase_add_test(g, test_delete_groups_and_offsets);
    suite_add_tcase(s, g);
    TCase *l = tcase_create("logs");
    tcase_add_test(l, test_delete_records);
    tcase_add_test(l, test_offset_for_leader_epoch);
    tcase_add_test(l, test_describe_log_dirs);
    tcase_add_test(l, test_create_partitions);
    tcase_add_test(l, test_describe_cluster);
    tcase_add_test(l, test_elect_leaders);
    suite_add_tcase(s, l);
    return s;
}

int main(void) { return tb_ck_run(kp_msg_admin_suite()); }
