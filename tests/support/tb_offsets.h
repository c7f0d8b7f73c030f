/*
 * tb_offsets — test support: OffsetCommit v0-5 and OffsetFetch v1-4 spoken over a blocking
 * socket, encoded and decoded here with kp_buf alone (not with the broker's codec), from the
 * layouts in shared/kafka-protocol-notes.md §5.
 *
 * Contract: as tb_kafka.h. Decoders fill fixed-size structs (at most TB_OFS_MAX partitions,
 * topic names up to 63 bytes, metadata up to TB_OFS_META bytes kept; longer metadata is
 * counted in meta_len but not kept) and return -EBADMSG when the frame does not match the
 * version's layout exactly, trailing bytes included. Round trips return 0 or -errno.
 */
#ifndef SPLICELOG_TB_OFFSETS_H
#define SPLICELOG_TB_OFFSETS_H

#include <stdint.h>

#include "tb_kafka.h"

enum {
    TB_OFS_MAX = 256,
    TB_OFS_META = 256,
};

/* One partition of a request: consecutive entries with the same topic form one topic. */
struct tb_ofs_part {
    const char *topic;
    int32_t partition;
    int64_t offset;       /* OffsetCommit only */
    const char *metadata; /* OffsetCommit only; NULL = null */
};

struct tb_ofs_result {
    char topic[64];
    int32_t partition;
    int16_t error;
    int64_t offset;             /* OffsetFetch */
    int32_t meta_len;           /* OffsetFetch; -1 = null */
    char metadata[TB_OFS_META]; /* NUL-terminated when meta_len < TB_OFS_META */
};

struct tb_ofs_resp {
    int32_t throttle_ms;
    int16_t error; /* OffsetFetch v2+: the top-level error (the last field) */
    int n;
    struct tb_ofs_result p[TB_OFS_MAX];
};

/* OffsetCommit v0-5 body (v0 has no generation and member id; v1 carries a commit timestamp
 * of -1 per partition; v2-4 carry retention_time_ms -1). */
void tb_enc_offset_commit(struct tb_req *r, int16_t version, const char *group, int32_t generation,
                          const char *member, const struct tb_ofs_part *parts, int n);
/* OffsetFetch v1-4 body; n < 0 sends topics = null (v2+: every committed partition). */
void tb_enc_offset_fetch(struct tb_req *r, int16_t version, const char *group,
                         const struct tb_ofs_part *parts, int n);

int tb_dec_offset_commit(const struct tb_frame *f, int16_t version, struct tb_ofs_resp *out);
int tb_dec_offset_fetch(const struct tb_frame *f, int16_t version, struct tb_ofs_resp *out);

int tb_offset_commit(int fd, int16_t version, const char *group, int32_t generation,
                     const char *member, const struct tb_ofs_part *parts, int n,
                     struct tb_ofs_resp *out);
int tb_offset_fetch(int fd, int16_t version, const char *group, const struct tb_ofs_part *parts,
                    int n, struct tb_ofs_resp *out);

/* The result for (topic, partition) in out, or NULL. */
const struct tb_ofs_result *tb_ofs_find(const struct tb_ofs_resp *out, const char *topic,
                                        int32_t partition);

#endif
