/*
 * st_snap — a small durable file that is always replaced whole: a header and CRC-framed
 * records, written to a temp file, synced and renamed over the old one. For state that
 * changes rarely and must never be half-applied or silently shortened: SCRAM credentials,
 * ACLs, client-quota settings (broker/sec/br_cred.c, br_acl_store.c, br_quota_store.c), each of
 * which describes its record bodies at the top of its own file.
 *
 * Contract
 * - Pure file I/O, no global state; the caller serialises writers of one file (two writers of
 *   the same name would share its temp file). Readers never see a partial file: the name
 *   holds either the old complete file or the new complete one, across crashes and power
 *   loss (the order is written out at the top of st_snap.c).
 * - st_snap_read() checks the whole file (magic, version, header CRC, every record's length
 *   and CRC, the record count, nothing after the last record) before the callback sees the
 *   first record, so a damaged file is refused whole (-EBADMSG, with a log line naming the
 *   path, the offset and what is wrong) rather than trimmed: dropping records of this kind of
 *   state would quietly change who may do what (a lost DENY ACL grants access). The operator
 *   decides (restore the file, or remove it to start empty).
 * - Errors: 0 or -errno. -ENOENT no file (st_snap_read; the caller starts empty), -EBADMSG
 *   damaged or not this kind of file, -EFBIG larger than max_bytes, -EINVAL bad argument,
 *   -ENOMEM, and the disk's own. After st_snap_write() fails before its rename the old file
 *   is untouched and the temp file removed; -EIO after the rename means the directory fsync
 *   failed: the new file is in place but may not survive a power loss.
 * - Files are created with the mode the caller gives (0600 for credentials).
 */
#ifndef SPLICELOG_ST_SNAP_H
#define SPLICELOG_ST_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "st.h"

#define ST_SNAP_BODY_MAX (1u << 20) /* bytes of one record body */

/* A file being built in memory: records are appended, then st_snap_commit() writes it. */
struct st_snap_w {
    uint8_t *buf;
    size_t len, cap;
    uint32_t count;
    int err; /* sticky: -ENOMEM or -EINVAL from an add */
};

/* Starts a file with the caller's 4-byte magic and version. */
void st_snap_begin(struct st_snap_w *w, const char magic[4], uint32_t version);
/* Appends one record (1..ST_SNAP_BODY_MAX bytes; other lengths make the writer fail). */
void st_snap_add(struct st_snap_w *w, const void *body, size_t len);
/* Reserves a record of len bytes and returns where its body goes (NULL on failure). */
uint8_t *st_snap_reserve(struct st_snap_w *w, size_t len);
/* Writes the file as <dir>/<name> (mode for a new file), durably, and wipes and frees the
 * buffer (also on failure). Returns the writer's sticky error or the write's. */
int st_snap_commit(struct st_snap_w *w, const char *dir, const char *name, unsigned mode);
/* Wipes (explicit_bzero: credentials pass through) and frees the buffer without writing. */
void st_snap_abort(struct st_snap_w *w);

/*
 * Reads <dir>/<name>: checks it whole (max_bytes bounds the file), then calls each() for
 * every record in order; a non-zero return from each() stops and is returned. A leftover
 * <name>.tmp (a write cut by a crash before its rename) is removed. *version gets the file's
 * version, which must be between 1 and max_version. log_fn (may be NULL) gets one line when
 * the file is refused.
 */
int st_snap_read(const char *dir, const char *name, const char magic[4], uint32_t max_version,
                 size_t max_bytes, uint32_t *version,
                 int (*each)(void *arg, const uint8_t *body, size_t len), void *arg,
                 st_log_fn log_fn, void *log_arg);

#endif
