/*
 * br_cred — the broker's SCRAM credentials, durable in the data directory: (user, mechanism)
 * -> salt, iterations, StoredKey, ServerKey (struct br_scram_cred). Never a password.
 *
 * Contract
 * - Owns <data-dir>/__security/scram.credentials (the record bodies are written out at the
 *   top of br_cred.c; the file's framing, CRCs and crash-safe replacement are st_snap's).
 *   The directory is created 0700, the file 0600. The storage loader ignores __security/.
 * - Threads: every call may come from any thread. Lookups take a mutex held for a binary
 *   search and a copy; changes are serialised among themselves and write the file without
 *   holding that mutex, so authentication never waits for the disk.
 * - A change is durable before its call returns (st_snap: temp file, fdatasync, rename, fsync
 *   of the directory); if the write fails nothing changes in memory either.
 * - One broker or one offline tool at a time: the caller holds the data directory's lock
 *   (the broker's flock on the directory, which `splicelog user create --data-dir` takes too).
 * - Errors: 0 or -errno. -ENOENT no such credential, -EINVAL a user name that
 *   br_sasl_user_valid() refuses or a credential outside the SCRAM rules (mechanism,
 *   iterations 4096..16384, salt 1..128 bytes), -ENOSPC more than BR_CRED_MAX entries,
 *   -EBADMSG at open: the file is damaged (refused whole, logged; see st_snap.h), -ENOMEM,
 *   and the disk's own.
 */
#ifndef SPLICELOG_BR_CRED_H
#define SPLICELOG_BR_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "br_sasl.h"
#include "st.h"

#define BR_SECURITY_DIR "__security"
#define BR_CRED_FILE    "scram.credentials"
#define BR_CRED_MAX     100000 /* (user, mechanism) pairs */

struct br_cred;

/* Opens (creating the directory if needed) and loads the credentials. log_fn (may be NULL)
 * gets a line when the file is refused. */
int br_cred_open(const char *data_dir, st_log_fn log_fn, void *log_arg, struct br_cred **out);
/* Frees; NULL is ignored. */
void br_cred_close(struct br_cred *c);

/* The credential of (user, mech): 0 or -ENOENT. The signature of br_sasl_lookup_fn, so the
 * store is the SASL server's lookup (arg = the struct br_cred). */
int br_cred_lookup(void *store, enum br_sasl_mech mech, const char *user, size_t user_len,
                   struct br_scram_cred *out);

/* One change of a batch: set (cred != NULL, its mech) or delete (cred == NULL, mech). */
struct br_cred_change {
    const char *user;
    size_t user_len;
    enum br_sasl_mech mech;           /* for deletions; an upsertion uses cred->mech */
    const struct br_scram_cred *cred; /* NULL: delete */
    int result;                       /* out: 0, -ENOENT (delete of nothing), -EINVAL */
};

/*
 * Applies changes in order, each judged on its own (result), in one durable write. Returns 0
 * when the write succeeded (or nothing was to be written), else the write's error, and then
 * nothing changed. -ENOSPC when the result would exceed BR_CRED_MAX (nothing changes).
 */
int br_cred_apply(struct br_cred *c, struct br_cred_change *changes, size_t n);

/* Shorthands for one change: 0 or the change's (or the write's) error. */
int br_cred_put(struct br_cred *c, const char *user, size_t user_len,
                const struct br_scram_cred *cred);
int br_cred_delete(struct br_cred *c, const char *user, size_t user_len, enum br_sasl_mech mech);

/* Calls fn for every credential, sorted by user (bytes) then mechanism, under the lookup
 * mutex: fn must not call back into the store. */
typedef void (*br_cred_each_fn)(void *arg, const char *user, size_t user_len,
                                enum br_sasl_mech mech, int32_t iterations);
void br_cred_each(struct br_cred *c, br_cred_each_fn fn, void *arg);

/* Every credential's user, mechanism and iterations copied out, in br_cred_each's order (the
 * lookup mutex is not held while the caller uses them): *out (user NUL-terminated; free with
 * br_cred_list_free), *n. 0 or -ENOMEM (then *out is NULL and *n 0). */
struct br_cred_entry {
    char *user;
    size_t len;
    enum br_sasl_mech mech;
    int32_t iterations;
};
int br_cred_list(struct br_cred *c, struct br_cred_entry **out, size_t *n);
void br_cred_list_free(struct br_cred_entry *v, size_t n);

/* Number of (user, mechanism) pairs. */
size_t br_cred_count(struct br_cred *c);

/* ---- in a cluster (br_cred_zk.c; docs/cluster.md, "Users and client ids") ----------------
 * ZooKeeper's /config/users/<u> is the truth; this store is the broker's copy of it (the file
 * stays, a cache that br_cred_sync rewrites). A user the file has and ZooKeeper has no
 * /config/users/<u> for at the broker's first start in the cluster (made by the offline tool,
 * or a single node's past) is carried to ZooKeeper then (br_usercfg_seed); any other is
 * replaced by ZooKeeper's. After that first sync the directory is marked (br_cred_zk_mark) and
 * is a pure cache: an entry ZooKeeper lacks is deleted here, never carried. */

/* Kafka's credential text in /config/users/<u>:
 * "salt=<base64>,stored_key=<base64>,server_key=<base64>,iterations=<n>". format: the length
 * (out NUL-terminated) or -ENOSPC (BR_CRED_TEXT_MAX is always enough); parse (fields in any
 * order, each once; base64 standard with padding): 0 or -EINVAL (also for values outside the
 * SCRAM rules, or keys of the wrong length for mech). */
#define BR_CRED_TEXT_MAX 512
int br_cred_text_format(const struct br_scram_cred *c, char *out, size_t cap);
int br_cred_text_parse(enum br_sasl_mech mech, const char *s, size_t len,
                       struct br_scram_cred *out);

/* One user's credentials as the cluster has them (n: 0..2, one per mechanism). */
struct br_cred_user {
    const char *user;
    size_t user_len;
    const struct br_scram_cred *creds;
    size_t n;
};
/* Makes each listed user's credentials exactly the listed ones (puts what differs, deletes
 * the mechanisms not listed); with all, every user not listed loses every credential too.
 * One durable write when anything changes. 0, or br_cred_apply's error (nothing changed);
 * entries the store refuses (a user name br_sasl_user_valid refuses) are skipped. */
int br_cred_sync(struct br_cred *c, const struct br_cred_user *u, size_t n, bool all);

/* The mark of a data directory whose credentials and quotas are a cache of ZooKeeper's
 * (<data-dir>/__security/zk.cache, written out at the top of br_cred_zk.c): written durably
 * once a broker has synced them from ZooKeeper (br_usercfg_seed); then nothing local is carried
 * to ZooKeeper any more, and `splicelog user create|delete --data-dir` refuses the directory.
 * mark: 0 or -errno; marked: 1, 0, or -errno (the caller holds the data directory's lock). */
int br_cred_zk_mark(const char *data_dir);
int br_cred_zk_marked(const char *data_dir);

#endif
