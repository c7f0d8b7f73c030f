/*
 * tb_group — test support: the group-coordinator APIs (FindCoordinator v0-2, JoinGroup v0-5,
 * SyncGroup v0-3, Heartbeat v0-3, LeaveGroup v0-1) spoken over a blocking socket, encoded and
 * decoded here with kp_buf alone (not with the broker's codec), from the layouts in
 * shared/kafka-protocol-notes.md §5 and apache/kafka's message schemas.
 *
 * Contract: as tb_kafka.h. Requests carry client id "tb". Decoders fill fixed-size structs
 * (ids up to TB_GRP_ID bytes, at most TB_GRP_MEMBERS members, metadata / assignments up to
 * TB_GRP_BYTES bytes kept, longer ones counted but not kept) and return -EBADMSG when the
 * frame does not match the version's layout exactly, trailing bytes included.
 * tb_group_codec_check() decodes a response a second time with the project's own codec.
 */
#ifndef SPLICELOG_TB_GROUP_H
#define SPLICELOG_TB_GROUP_H

#include <stdint.h>

#include "tb_kafka.h"

enum {
    TB_GRP_ID = 256,
    TB_GRP_MEMBERS = 16,
    TB_GRP_BYTES = 256,
};

struct tb_proto {
    const char *name;
    const char *metadata; /* bytes of the string */
};

struct tb_assign {
    const char *member_id;
    const char *assignment;
};

void tb_enc_find_coordinator(struct tb_req *r, int16_t version, const char *key, int8_t key_type);
/* JoinGroup; protocol_type "consumer" unless ptype is given; rebalance_ms from v1. */
void tb_enc_join_group(struct tb_req *r, int16_t version, const char *group, int32_t session_ms,
                       int32_t rebalance_ms, const char *member_id, const char *ptype, int n,
                       const struct tb_proto *protos);
void tb_enc_sync_group(struct tb_req *r, int16_t version, const char *group, int32_t generation,
                       const char *member_id, int n, const struct tb_assign *as);
void tb_enc_heartbeat(struct tb_req *r, int16_t version, const char *group, int32_t generation,
                      const char *member_id);
void tb_enc_leave_group(struct tb_req *r, int16_t version, const char *group,
                        const char *member_id);

struct tb_find_coordinator {
    int16_t error;
    int32_t node_id;
    char host[TB_GRP_ID];
    int32_t port;
};

struct tb_join {
    int16_t error;
    int32_t generation;
    char protocol[TB_GRP_ID];
    char leader[TB_GRP_ID];
    char member_id[TB_GRP_ID];
    int32_t n_members;
    struct {
        char member_id[TB_GRP_ID];
        int32_t meta_len;
        char metadata[TB_GRP_BYTES];
    } member[TB_GRP_MEMBERS];
};

struct tb_sync {
    int16_t error;
    int32_t len; /* assignment length (-1: null) */
    char assignment[TB_GRP_BYTES];
};

int tb_dec_find_coordinator(const struct tb_frame *f, int16_t version,
                            struct tb_find_coordinator *out);
int tb_dec_join_group(const struct tb_frame *f, int16_t version, struct tb_join *out);
int tb_dec_sync_group(const struct tb_frame *f, int16_t version, struct tb_sync *out);
/* Heartbeat and LeaveGroup: throttle (from v1) and the error code. */
int tb_dec_group_error(const struct tb_frame *f, int16_t version, int16_t *error);

/* The response decoded by proto's kp_*_resp_decode: 0, or its -errno (trailing bytes:
 * -EBADMSG). */
int tb_group_codec_check(const struct tb_frame *f, int16_t api_key, int16_t version);

/* Round trips on correlation id corr: 0 or -errno (the frame is checked by both decoders). */
int tb_find_coordinator(int fd, int16_t version, int32_t corr, const char *key, int8_t key_type,
                        struct tb_find_coordinator *out);
int tb_join_group(int fd, int16_t version, int32_t corr, const char *group, int32_t session_ms,
                  int32_t rebalance_ms, const char *member_id, int n, const struct tb_proto *protos,
                  struct tb_join *out);
/* Sends a JoinGroup without reading the answer (it may be parked): 0 or -errno. */
int tb_join_group_send(int fd, int16_t version, int32_t corr, const char *group, int32_t session_ms,
                       int32_t rebalance_ms, const char *member_id, int n,
                       const struct tb_proto *protos);
/* Reads one JoinGroup answer with correlation id corr. */
int tb_join_group_recv(int fd, int16_t version, int32_t corr, struct tb_join *out);
int tb_sync_group(int fd, int16_t version, int32_t corr, const char *group, int32_t generation,
                  const char *member_id, int n, const struct tb_assign *as, struct tb_sync *out);
int tb_sync_group_send(int fd, int16_t version, int32_t corr, const char *group, int32_t generation,
                       const char *member_id, int n, const struct tb_assign *as);
int tb_sync_group_recv(int fd, int16_t version, int32_t corr, struct tb_sync *out);
int tb_heartbeat(int fd, int16_t version, int32_t corr, const char *group, int32_t generation,
                 const char *member_id, int16_t *error);
int tb_leave_group(int fd, int16_t version, int32_t corr, const char *group, const char *member_id,
                   int16_t *error);

#endif
