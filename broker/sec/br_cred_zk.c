/*
 * br_cred_zk — the credential store in a cluster (br_cred.h, "in a cluster"): Kafka's text of
 * a credential, and the store made what ZooKeeper holds. Built on the store's public calls.
 *
 * TEXT (Kafka's ScramCredentialUtils, the value of "SCRAM-SHA-256" / "SCRAM-SHA-512" in
 * /config/users/<u>):  salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=<n>
 * base64 standard with padding; the keys are the mechanism's hash length (32 or 64 bytes).
 *
 * FILE: <data-dir>/__security/zk.cache — the mark "this data directory's credentials and quotas
 * are a cache of ZooKeeper's" (br_cred_zk_mark), written once the broker has synced them from
 * ZooKeeper at a start. An st_snap file (storage/st_snap.c: header, CRCs, temp file,
 * fdatasync, rename, directory fsync), magic "SLZC", version 1, one record whose body is the
 * ASCII text of ZK_MARK_TEXT (no NUL); only the file's existence is read (br_cred_zk_marked):
 * what is in it is for a person looking at the directory. Without it, the stores are a single
 * node's or made offline, and their entries ZooKeeper lacks are carried there at the next
 * start (br_usercfg_seed); with it they never are (ZooKeeper's deletions stay deleted).
 */
#include "br_cred.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <openssl/crypto.h>

#include "st_snap.h"

#define ZK_MARK_FILE  "zk.cache"
#define ZK_MARK_MAGIC "SLZC"
#define ZK_MARK_VER   1
#define ZK_MARK_TEXT                                                                               \
    "the SCRAM credentials and client quotas here are a cache of ZooKeeper's /config/users and "   \
    "/config/clients"

int br_cred_text_format(const struct br_scram_cred *c, char *out, size_t cap)
{
    size_t kl = br_scram_key_len(c->mech);
    char salt[4 * ((BR_SCRAM_SALT_MAX + 2) / 3) + 1], sk[4 * ((BR_SCRAM_KEY_MAX + 2) / 3) + 1],
        vk[sizeof sk];
    if (!kl || c->salt_len < 1 || c->salt_len > BR_SCRAM_SALT_MAX ||
        br_b64_encode(c->salt, c->salt_len, salt, sizeof salt) < 0 ||
        br_b64_encode(c->stored_key, kl, sk, sizeof sk) < 0 ||
        br_b64_encode(c->server_key, kl, vk, sizeof vk) < 0)
        return -ENOSPC;
    int n = snprintf(out, cap, "salt=%s,stored_key=%s,server_key=%s,iterations=%d", salt, sk, vk,
                     (int)c->iterations);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int br_cred_text_parse(enum br_sasl_mech mech, const char *s, size_t len, struct br_scram_cred *out)
{
    memset(out, 0, sizeof *out);
    size_t kl = br_scram_key_len(mech);
    if (!br_sasl_is_scram(mech) || !kl)
        return -EINVAL;
    out->mech = mech;
    bool got_salt = false, got_sk = false, got_vk = false, got_it = false;
    size_t at = 0;
    while (at <= len) {
        const char *f = s + at;
        const char *comma = memchr(f, ',', len - at);
        size_t fl = comma ? (size_t)(comma - f) : len - at;
        const char *eq = memchr(f, '=', fl);
        if (!eq)
            return -EINVAL;
        size_t kn = (size_t)(eq - f), vl = fl - kn - 1;
        const char *v = eq + 1;
        int n;
        if (kn == 4 && memcmp(f, "salt", 4) == 0 && !got_salt) {
            n = br_b64_decode(v, vl, out->salt, sizeof out->salt);
            if (n < 1)
                return -EINVAL;
            out->salt_len = (uint16_t)n;
            got_salt = true;
        } else if (kn == 10 && memcmp(f, "stored_key", 10) == 0 && !got_sk) {
            if (br_b64_decode(v, vl, out->stored_key, sizeof out->stored_key) != (int)kl)
                return -EINVAL;
            got_sk = true;
        } else if (kn == 10 && memcmp(f, "server_key", 10) == 0 && !got_vk) {
            if (br_b64_decode(v, vl, out->server_key, sizeof out->server_key) != (int)kl)
                return -EINVAL;
            got_vk = true;
        } else if (kn == 10 && memcmp(f, "iterations", 10) == 0 && !got_it) {
            char num[16];
            if (vl < 1 || vl >= sizeof num)
                return -EINVAL;
            memcpy(num, v, vl);
            num[vl] = 0;
            char *end;
            long it = strtol(num, &end, 10);
            if (*end || it < BR_SCRAM_ITER_MIN || it > BR_SCRAM_ITER_MAX)
                return -EINVAL;
            out->iterations = (int32_t)it;
            got_it = true;
        } else {
            return -EINVAL;
        }
        if (!comma)
            break;
        at += fl + 1;
    }
    return got_salt && got_sk && got_vk && got_it ? 0 : -EINVAL;
}

/* ---- sync ------------------------------------------------------------------------------------ */

static bool same_cred(const struct br_scram_cred *a, const struct br_scram_cred *b)
{
    size_t kl = br_scram_key_len(a->mech);
    return a->mech == b->mech && a->iterations == b->iterations && a->salt_len == b->salt_len &&
           a->salt_len <= BR_SCRAM_SALT_MAX && memcmp(a->salt, b->salt, a->salt_len) == 0 &&
           CRYPTO_memcmp(a->stored_key, b->stored_key, kl) == 0 &&
           CRYPTO_memcmp(a->server_key, b->server_key, kl) == 0;
}

static int cmp_user(const void *a, const void *b)
{
    const struct br_cred_user *x = *(const struct br_cred_user *const *)a,
                              *y = *(const struct br_cred_user *const *)b;
    int c = memcmp(x->user, y->user, x->user_len < y->user_len ? x->user_len : y->user_len);
    return c ? c : x->user_len == y->user_len ? 0 : x->user_len < y->user_len ? -1 : 1;
}

static bool listed(const struct br_cred_user **sorted, size_t n, const char *user, size_t len)
{
    struct br_cred_user key = {user, len, NULL, 0};
    const struct br_cred_user *kp = &key;
    return bsearch(&kp, sorted, n, sizeof *sorted, cmp_user) != NULL;
}

int br_cred_sync(struct br_cred *c, const struct br_cred_user *u, size_t n, bool all)
{
    static const enum br_sasl_mech mechs[2] = {BR_SASL_SCRAM_SHA_256, BR_SASL_SCRAM_SHA_512};
    struct br_cred_entry *l = NULL;
    size_t nl = 0;
    const struct br_cred_user **sorted = NULL;
    bool oom = false;
    if (all) {
        oom = br_cred_list(c, &l, &nl) < 0; /* (the local pairs: those ZooKeeper lacks go) */
        sorted = malloc((n ? n : 1) * sizeof *sorted);
    }
    size_t cap = 2 * n + nl + 1;
    struct br_cred_change *ch = malloc(cap * sizeof *ch);
    struct br_scram_cred *have = malloc(sizeof *have);
    int rc = 0;
    if (oom || (all && !sorted) || !ch || !have) {
        rc = -ENOMEM;
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        for (int m = 0; m < 2; m++) {
            const struct br_scram_cred *want = NULL;
            for (size_t j = 0; j < u[i].n; j++)
                if (u[i].creds[j].mech == mechs[m])
                    want = &u[i].creds[j];
            bool had = br_cred_lookup(c, mechs[m], u[i].user, u[i].user_len, have) == 0;
            if (want && (!had || !same_cred(want, have)))
                ch[k++] = (struct br_cred_change){u[i].user, u[i].user_len, mechs[m], want, 0};
            else if (!want && had)
                ch[k++] = (struct br_cred_change){u[i].user, u[i].user_len, mechs[m], NULL, 0};
        }
    }
    if (all) {
        for (size_t i = 0; i < n; i++)
            sorted[i] = &u[i];
        if (n)
            qsort(sorted, n, sizeof *sorted, cmp_user);
        for (size_t i = 0; i < nl; i++)
            if (!listed(sorted, n, l[i].user, l[i].len))
                ch[k++] = (struct br_cred_change){l[i].user, l[i].len, l[i].mech, NULL, 0};
    }
    if (k)
        rc = br_cred_apply(c, ch, k);
out:
    if (have)
        OPENSSL_cleanse(have, sizeof *have);
    free(have);
    free(ch);
    free(sorted);
    br_cred_list_free(l, nl);
    return rc;
}

/* ---- the cache mark ------------------------------------------------------------------------- */

static int mark_dir(const char *data_dir, char *out, size_t cap)
{
    return snprintf(out, cap, "%s/%s", data_dir, BR_SECURITY_DIR) >= (int)cap ? -ENAMETOOLONG : 0;
}

int br_cred_zk_mark(const char *data_dir)
{
    char dir[4096];
    int rc = mark_dir(data_dir, dir, sizeof dir);
    if (rc < 0)
        return rc;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -errno;
    struct st_snap_w w;
    st_snap_begin(&w, ZK_MARK_MAGIC, ZK_MARK_VER);
    st_snap_add(&w, ZK_MARK_TEXT, strlen(ZK_MARK_TEXT));
    return st_snap_commit(&w, dir, ZK_MARK_FILE, 0600);
}

int br_cred_zk_marked(const char *data_dir)
{
    char path[4096 + 32];
    int rc = mark_dir(data_dir, path, sizeof path - 32);
    if (rc < 0)
        return rc;
    strcat(path, "/" ZK_MARK_FILE);
    struct stat st;
    if (stat(path, &st) == 0)
        return 1;
    return errno == ENOENT ? 0 : -errno;
}
