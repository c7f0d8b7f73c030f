/*
 * br_quota_store — the client-quota settings' file (br_quota.h).
 *
 * FILE: <data-dir>/__security/quotas, an st_snap file (storage/st_snap.c gives the header,
 * the CRC-32C record framing and the write order) with magic "SLQU", version 1, one record
 * per entity that has at least one setting.
 *
 * RECORD BODY, version 1 (integers big-endian):
 *      0  1  user part: 0 absent, 1 <default>, 2 named
 *      1  2  U, user name length: 0 unless named, else 1..BR_QUOTA_NAME_MAX
 *      3  U  user name
 *    3+U  1  client-id part: 0 absent, 1 <default>, 2 named
 *    4+U  2  C, client id length, as U
 *    6+U  C  client id
 *  6+U+C  1  K, number of settings, 1..4
 *  7+U+C     K times: 1 key (0 producer_byte_rate, 1 consumer_byte_rate, 2 request_percentage,
 *            3 controller_mutation_rate; each at most once), 8 value (IEEE 754 binary64 bits)
 *   At least one part is present; values follow br__quota_value_ok (> 0, finite, whole for the
 *   byte rates); the fields end exactly at the body's end. Anything else refuses the file.
 */
#include "br_quota_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_buf.h"
#include "st_snap.h"

#define QU_MAGIC   "SLQU"
#define QU_VERSION 1

int br__qlist_add(struct br__qlist *l, const struct br__qent *e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct br__qent *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    char *s = malloc((size_t)e->user_len + e->client_len + 2);
    if (!s)
        return -ENOMEM;
    struct br__qent *x = &l->v[l->n++];
    *x = *e;
    memcpy(s, e->user, e->user_len);
    s[e->user_len] = '\0';
    memcpy(s + e->user_len + 1, e->client, e->client_len);
    s[e->user_len + 1 + e->client_len] = '\0';
    x->user = s;
    x->client = s + e->user_len + 1;
    return 0;
}

void br__qlist_free(struct br__qlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].user);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int br__quota_value_ok(enum br_quota_type t, double v, const char **why)
{
    const char *w = NULL;
    if (!(v > 0.0) || !isfinite(v))
        w = "Quota must be greater than 0";
    else if ((t == BR_QUOTA_PRODUCE || t == BR_QUOTA_FETCH) &&
             (v > 9.2e18 || fabs(fmod(v, 1.0)) > 1e-6))
        w = "A byte rate must be a whole number of bytes per second (a LONG)";
    if (why)
        *why = w;
    return w ? -EINVAL : 0;
}

int br__quota_file_write(const char *dir, const struct br__qent *v, size_t n)
{
    struct st_snap_w w;
    st_snap_begin(&w, QU_MAGIC, QU_VERSION);
    for (size_t i = 0; i < n; i++) {
        int k = 0;
        for (int t = 0; t < BR_QUOTA_NTYPES; t++)
            k += v[i].has[t];
        size_t len = 7 + (size_t)v[i].user_len + v[i].client_len + 9 * (size_t)k;
        uint8_t *b = st_snap_reserve(&w, len);
        if (!b)
            break;
        struct kp_wr wr;
        kp_wr_init(&wr, b, len);
        kp_wr_i8(&wr, (int8_t)v[i].user_kind);
        kp_wr_i16(&wr, (int16_t)v[i].user_len);
        kp_wr_raw(&wr, v[i].user, v[i].user_len);
        kp_wr_i8(&wr, (int8_t)v[i].client_kind);
        kp_wr_i16(&wr, (int16_t)v[i].client_len);
        kp_wr_raw(&wr, v[i].client, v[i].client_len);
        kp_wr_i8(&wr, (int8_t)k);
        for (int t = 0; t < BR_QUOTA_NTYPES; t++) {
            if (!v[i].has[t])
                continue;
            uint64_t bits;
            memcpy(&bits, &v[i].v[t], sizeof bits);
            kp_wr_i8(&wr, (int8_t)t);
            kp_wr_i64(&wr, (int64_t)bits);
        }
    }
    return st_snap_commit(&w, dir, BR_QUOTA_FILE, 0600);
}

struct loader {
    struct br__qlist *l;
    const char *why;
};

/* One part of an entity: kind, length, name. */
static bool read_part(struct kp_rd *rd, uint8_t *kind, uint16_t *len, const char **name)
{
    *kind = (uint8_t)kp_rd_i8(rd);
    int16_t n = kp_rd_i16(rd);
    *name = (const char *)kp_rd_raw(rd, n > 0 ? (size_t)n : 0);
    *len = n > 0 ? (uint16_t)n : 0;
    if (!kp_rd_ok(rd) || n < 0 || *kind > BR_QE_NAMED)
        return false;
    if (*kind == BR_QE_NAMED)
        return n >= 1 && n <= BR_QUOTA_NAME_MAX;
    return n == 0;
}

static int load_one(void *arg, const uint8_t *b, size_t len)
{
    struct loader *ld = arg;
    struct kp_rd rd;
    kp_rd_init(&rd, b, len);
    struct br__qent e;
    memset(&e, 0, sizeof e);
    const char *u = NULL, *c = NULL;
    bool ok = read_part(&rd, &e.user_kind, &e.user_len, &u) &&
              read_part(&rd, &e.client_kind, &e.client_len, &c) &&
              (e.user_kind != BR_QE_ABSENT || e.client_kind != BR_QE_ABSENT);
    int k = ok ? kp_rd_i8(&rd) : 0;
    ok = ok && k >= 1 && k <= BR_QUOTA_NTYPES;
    for (int i = 0; ok && i < k; i++) {
        int t = kp_rd_i8(&rd);
        uint64_t bits = (uint64_t)kp_rd_i64(&rd);
        ok = kp_rd_ok(&rd) && t >= 0 && t < BR_QUOTA_NTYPES && !e.has[t];
        if (ok) {
            memcpy(&e.v[t], &bits, sizeof bits);
            e.has[t] = true;
            ok = br__quota_value_ok((enum br_quota_type)t, e.v[t], NULL) == 0;
        }
    }
    if (!ok || !kp_rd_ok(&rd) || kp_rd_left(&rd) != 0) {
        ld->why = "a record does not parse, or holds a value Kafka would refuse";
        return -EBADMSG;
    }
    if (ld->l->n == BR_QUOTA_MAX) {
        ld->why = "more entities than BR_QUOTA_MAX";
        return -EBADMSG;
    }
    e.user = (char *)(u ? u : "");
    e.client = (char *)(c ? c : "");
    return br__qlist_add(ld->l, &e);
}

int br__quota_file_read(const char *dir, struct br__qlist *out, st_log_fn log_fn, void *log_arg)
{
    memset(out, 0, sizeof *out);
    struct loader ld = {out, NULL};
    uint32_t version;
    int rc = st_snap_read(dir, BR_QUOTA_FILE, QU_MAGIC, QU_VERSION, 64u << 20, &version, load_one,
                          &ld, log_fn, log_arg);
    if (rc == -ENOENT)
        rc = 0;
    if (rc && ld.why && log_fn) {
        char msg[4400];
        snprintf(msg, sizeof msg,
                 "%s/%s: refused: %s (restore the file, or remove it to start with no quotas)", dir,
                 BR_QUOTA_FILE, ld.why);
        log_fn(log_arg, msg);
    }
    if (rc)
        br__qlist_free(out);
    return rc;
}
