/*
 * br_cred — SCRAM credentials (br_cred.h).
 *
 * FILE: <data-dir>/__security/scram.credentials, an st_snap file (storage/st_snap.c gives
 * the header, the record framing with CRC-32C and the write order) with magic "SLCR",
 * version 1, one record per (user, mechanism), sorted by user bytes then mechanism.
 *
 * RECORD BODY, version 1 (integers big-endian):
 *      0  1  mechanism: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512 (Kafka's ScramMechanism type byte)
 *      1  4  iterations, BR_SCRAM_ITER_MIN..BR_SCRAM_ITER_MAX (4096..16384)
 *      5  1  S, salt length, 1..BR_SCRAM_SALT_MAX
 *      6  S  salt
 *    6+S  2  U, user name length, 1..BR_SASL_USER_MAX
 *    8+S  U  user name (br_sasl_user_valid: UTF-8, no control characters)
 *  8+S+U  K  StoredKey (K = 32 for SHA-256, 64 for SHA-512)
 * 8+S+U+K K  ServerKey
 *   The fields must end exactly at the body's end; two records of the same (user, mechanism)
 *   make the file invalid. A file that breaks any rule is refused whole (st_snap.h says why).
 *
 * CHANGES: a batch builds the new sorted array beside the live one, writes the whole file
 * from it (st_snap_commit: temp, fdatasync, rename, directory fsync) under the writers'
 * mutex only, and swaps the arrays under the lookup mutex once the file is in place.
 */
#include "br_cred.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "kp_buf.h"
#include "st_snap.h"

#define CRED_MAGIC   "SLCR"
#define CRED_VERSION 1
#define CRED_FIXED   8 /* mechanism, iterations, salt length, user length */

struct entry {
    uint16_t user_len;
    char user[BR_SASL_USER_MAX + 1];
    struct br_scram_cred c;
};

struct br_cred {
    pthread_mutex_t mu;  /* the live array: lookups, each, the swap */
    pthread_mutex_t wmu; /* serialises changes (held across the file write) */
    char dir[4096];
    struct entry *e; /* sorted by (user bytes, mech) */
    size_t n;
};

static uint8_t mech_byte(enum br_sasl_mech m) { return m == BR_SASL_SCRAM_SHA_256 ? 1 : 2; }

static int cmp_key(const char *u1, size_t l1, enum br_sasl_mech m1, const char *u2, size_t l2,
                   enum br_sasl_mech m2)
{
    int c = memcmp(u1, u2, l1 < l2 ? l1 : l2);
    if (c)
        return c;
    if (l1 != l2)
        return l1 < l2 ? -1 : 1;
    return m1 == m2 ? 0 : m1 < m2 ? -1 : 1;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return cmp_key(x->user, x->user_len, x->c.mech, y->user, y->user_len, y->c.mech);
}

/* Index of (user, mech) in e[0, n), or -(insertion point) - 1. */
static long find(const struct entry *e, size_t n, const char *user, size_t len,
                 enum br_sasl_mech mech)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_key(e[mid].user, e[mid].user_len, e[mid].c.mech, user, len, mech);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static bool cred_valid(const struct br_scram_cred *c)
{
    return br_sasl_is_scram(c->mech) && c->iterations >= BR_SCRAM_ITER_MIN &&
           c->iterations <= BR_SCRAM_ITER_MAX && c->salt_len >= 1 &&
           c->salt_len <= BR_SCRAM_SALT_MAX;
}

/* ---- the file ---------------------------------------------------------------------------- */

struct loader {
    struct entry *e;
    size_t n, cap;
    bool bad; /* a record did not parse */
};

static int load_one(void *arg, const uint8_t *b, size_t len)
{
    struct loader *ld = arg;
    struct kp_rd rd;
    kp_rd_init(&rd, b, len);
    struct entry x;
    memset(&x, 0, sizeof x);
    uint8_t mb = (uint8_t)kp_rd_i8(&rd);
    x.c.mech = mb == 1 ? BR_SASL_SCRAM_SHA_256 : mb == 2 ? BR_SASL_SCRAM_SHA_512 : 0;
    x.c.iterations = kp_rd_i32(&rd);
    x.c.salt_len = (uint8_t)kp_rd_i8(&rd);
    const uint8_t *salt = kp_rd_raw(&rd, x.c.salt_len);
    x.user_len = (uint16_t)kp_rd_i16(&rd);
    const uint8_t *user = x.user_len <= BR_SASL_USER_MAX ? kp_rd_raw(&rd, x.user_len) : NULL;
    size_t kl = br_scram_key_len(x.c.mech);
    const uint8_t *sk = kl ? kp_rd_raw(&rd, kl) : NULL;
    const uint8_t *vk = kl ? kp_rd_raw(&rd, kl) : NULL;
    if (!kp_rd_ok(&rd) || kp_rd_left(&rd) != 0 || !salt || !user || !sk || !vk ||
        !cred_valid(&x.c) || !br_sasl_user_valid((const char *)user, x.user_len)) {
        ld->bad = true;
        return -EBADMSG;
    }
    memcpy(x.c.salt, salt, x.c.salt_len);
    memcpy(x.user, user, x.user_len);
    memcpy(x.c.stored_key, sk, kl);
    memcpy(x.c.server_key, vk, kl);
    if (ld->n == BR_CRED_MAX) {
        ld->bad = true;
        return -EBADMSG;
    }
    if (ld->n == ld->cap) {
        size_t cap = ld->cap ? ld->cap * 2 : 16;
        struct entry *ne = realloc(ld->e, cap * sizeof *ne);
        if (!ne)
            return -ENOMEM;
        ld->e = ne;
        ld->cap = cap;
    }
    ld->e[ld->n++] = x;
    OPENSSL_cleanse(&x, sizeof x);
    return 0;
}

static int write_file(const char *dir, const struct entry *e, size_t n)
{
    struct st_snap_w w;
    st_snap_begin(&w, CRED_MAGIC, CRED_VERSION);
    for (size_t i = 0; i < n; i++) {
        size_t kl = br_scram_key_len(e[i].c.mech);
        size_t len = CRED_FIXED + e[i].c.salt_len + e[i].user_len + 2 * kl;
        uint8_t *b = st_snap_reserve(&w, len);
        if (!b)
            break;
        struct kp_wr wr;
        kp_wr_init(&wr, b, len);
        kp_wr_i8(&wr, (int8_t)mech_byte(e[i].c.mech));
        kp_wr_i32(&wr, e[i].c.iterations);
        kp_wr_i8(&wr, (int8_t)e[i].c.salt_len);
        kp_wr_raw(&wr, e[i].c.salt, e[i].c.salt_len);
        kp_wr_i16(&wr, (int16_t)e[i].user_len);
        kp_wr_raw(&wr, e[i].user, e[i].user_len);
        kp_wr_raw(&wr, e[i].c.stored_key, kl);
        kp_wr_raw(&wr, e[i].c.server_key, kl);
    }
    return st_snap_commit(&w, dir, BR_CRED_FILE, 0600); /* wipes the buffer */
}

/* ---- open, close, lookups ---------------------------------------------------------------- */

int br_cred_open(const char *data_dir, st_log_fn log_fn, void *log_arg, struct br_cred **out)
{
    struct br_cred *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    if (snprintf(c->dir, sizeof c->dir, "%s/%s", data_dir, BR_SECURITY_DIR) >= (int)sizeof c->dir) {
        free(c);
        return -ENAMETOOLONG;
    }
    if (mkdir(c->dir, 0700) != 0 && errno != EEXIST) {
        int e = -errno;
        free(c);
        return e;
    }
    struct loader ld = {0};
    uint32_t version;
    int rc =
        st_snap_read(c->dir, BR_CRED_FILE, CRED_MAGIC, CRED_VERSION,
                     (size_t)BR_CRED_MAX * 512 + 4096, &version, load_one, &ld, log_fn, log_arg);
    if (rc == 0) {
        if (ld.n)
            qsort(ld.e, ld.n, sizeof *ld.e, cmp_entry);
        for (size_t i = 1; i < ld.n; i++)
            if (cmp_entry(&ld.e[i - 1], &ld.e[i]) == 0)
                ld.bad = true;
        if (ld.bad)
            rc = -EBADMSG;
    }
    if (ld.bad && log_fn) {
        char msg[4400];
        snprintf(msg, sizeof msg,
                 "%s/%s: refused: a record does not parse, or repeats a (user, mechanism) "
                 "(restore the file, or remove it to start with no SCRAM users)",
                 c->dir, BR_CRED_FILE);
        log_fn(log_arg, msg);
    }
    if (rc != 0 && rc != -ENOENT) {
        if (ld.e)
            OPENSSL_cleanse(ld.e, ld.cap * sizeof *ld.e);
        free(ld.e);
        free(c);
        return rc;
    }
    c->e = ld.e;
    c->n = ld.n;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->wmu, NULL);
    *out = c;
    return 0;
}

void br_cred_close(struct br_cred *c)
{
    if (!c)
        return;
    if (c->e)
        OPENSSL_cleanse(c->e, c->n * sizeof *c->e);
    free(c->e);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->wmu);
    free(c);
}

int br_cred_lookup(void *store, enum br_sasl_mech mech, const char *user, size_t user_len,
                   struct br_scram_cred *out)
{
    struct br_cred *c = store;
    pthread_mutex_lock(&c->mu);
    long i = find(c->e, c->n, user, user_len, mech);
    if (i >= 0)
        *out = c->e[i].c;
    pthread_mutex_unlock(&c->mu);
    return i >= 0 ? 0 : -ENOENT;
}

void br_cred_each(struct br_cred *c, br_cred_each_fn fn, void *arg)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++)
        fn(arg, c->e[i].user, c->e[i].user_len, c->e[i].c.mech, c->e[i].c.iterations);
    pthread_mutex_unlock(&c->mu);
}

int br_cred_list(struct br_cred *c, struct br_cred_entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&c->mu);
    size_t k = 0, cnt = c->n;
    struct br_cred_entry *v = calloc(cnt ? cnt : 1, sizeof *v);
    for (; v && k < cnt; k++) {
        const struct entry *e = &c->e[k];
        if (!(v[k].user = malloc(e->user_len + 1)))
            break;
        memcpy(v[k].user, e->user, e->user_len);
        v[k].user[e->user_len] = '\0';
        v[k].len = e->user_len;
        v[k].mech = e->c.mech;
        v[k].iterations = e->c.iterations;
    }
    pthread_mutex_unlock(&c->mu);
    if (!v || k < cnt) {
        br_cred_list_free(v, k);
        return -ENOMEM;
    }
    *out = v;
    *n = cnt;
    return 0;
}

void br_cred_list_free(struct br_cred_entry *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].user);
    free(v);
}

size_t br_cred_count(struct br_cred *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* ---- changes ----------------------------------------------------------------------------- */

int br_cred_apply(struct br_cred *c, struct br_cred_change *ch, size_t nch)
{
    pthread_mutex_lock(&c->wmu);
    /* Only this thread changes c->e, so reading it without c->mu is safe here. */
    size_t cap = c->n + nch;
    struct entry *e = malloc((cap ? cap : 1) * sizeof *e);
    if (!e) {
        pthread_mutex_unlock(&c->wmu);
        return -ENOMEM;
    }
    if (c->n)
        memcpy(e, c->e, c->n * sizeof *e);
    size_t n = c->n;
    bool changed = false;
    for (size_t k = 0; k < nch; k++) {
        struct br_cred_change *x = &ch[k];
        enum br_sasl_mech mech = x->cred ? x->cred->mech : x->mech;
        if (!br_sasl_user_valid(x->user, x->user_len) || !br_sasl_is_scram(mech) ||
            (x->cred && !cred_valid(x->cred))) {
            x->result = -EINVAL;
            continue;
        }
        long i = find(e, n, x->user, x->user_len, mech);
        if (!x->cred) {
            if (i < 0) {
                x->result = -ENOENT;
                continue;
            }
            OPENSSL_cleanse(&e[i], sizeof e[i]);
            memmove(&e[i], &e[i + 1], (n - (size_t)i - 1) * sizeof *e);
            n--;
        } else {
            if (i < 0) {
                i = -i - 1;
                memmove(&e[i + 1], &e[i], (n - (size_t)i) * sizeof *e);
                n++;
            }
            memset(&e[i], 0, sizeof e[i]);
            memcpy(e[i].user, x->user, x->user_len);
            e[i].user_len = (uint16_t)x->user_len;
            e[i].c = *x->cred;
        }
        x->result = 0;
        changed = true;
    }
    int rc = 0;
    if (n > BR_CRED_MAX)
        rc = -ENOSPC;
    else if (changed)
        rc = write_file(c->dir, e, n);
    if (rc == 0 && changed) {
        pthread_mutex_lock(&c->mu);
        struct entry *old = c->e;
        size_t old_n = c->n;
        c->e = e;
        c->n = n;
        pthread_mutex_unlock(&c->mu);
        e = old;
        n = old_n;
    }
    if (e)
        OPENSSL_cleanse(e, n * sizeof *e);
    free(e);
    pthread_mutex_unlock(&c->wmu);
    return rc;
}

int br_cred_put(struct br_cred *c, const char *user, size_t user_len,
                const struct br_scram_cred *cred)
{
    struct br_cred_change ch = {user, user_len, cred->mech, cred, 0};
    int rc = br_cred_apply(c, &ch, 1);
    return rc ? rc : ch.result;
}

int br_cred_delete(struct br_cred *c, const char *user, size_t user_len, enum br_sasl_mech mech)
{
    struct br_cred_change ch = {user, user_len, mech, NULL, 0};
    int rc = br_cred_apply(c, &ch, 1);
    return rc ? rc : ch.result;
}
