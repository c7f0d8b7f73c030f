/*
 * br_acl_store — the ACLs' file (br_acl.h).
 *
 * FILE: <data-dir>/__security/acls, an st_snap file (storage/st_snap.c gives the header,
 * the CRC-32C record framing and the write order) with magic "SLAC", version 1, one record
 * per binding, sorted as br_authz_describe() lists them.
 *
 * RECORD BODY, version 1 (integers big-endian):
 *      0  1  resource type (Kafka's ResourceType code: 2 TOPIC .. 7 USER)
 *      1  1  pattern type (3 LITERAL, 4 PREFIXED)
 *      2  1  operation (Kafka's AclOperation code, 2 ALL .. 14)
 *      3  1  permission (2 DENY, 3 ALLOW)
 *      4  2  N, resource name length, 1..32767
 *      6  N  resource name
 *    6+N  2  P, principal length, 1..32767
 *    8+N  P  principal ("User:alice")
 *  8+N+P  2  H, host length, 1..32767
 * 10+N+P  H  host
 *   The fields must end exactly at the body's end, and the binding must pass
 *   br_acl_validate(); otherwise the file is refused whole (st_snap.h says why: a dropped
 *   DENY would grant access).
 */
#include "br_acl_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_buf.h"
#include "st_snap.h"

#define ACL_MAGIC   "SLAC"
#define ACL_VERSION 1
#define ACL_FIXED   10 /* type, pattern, op, perm and three lengths */

void br__acl_list_free(struct br__acl_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((void *)l->v[i].name.ptr);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int br__acl_file_write(const char *dir, const struct br__acl *v, size_t n)
{
    struct st_snap_w w;
    st_snap_begin(&w, ACL_MAGIC, ACL_VERSION);
    for (size_t i = 0; i < n; i++) {
        size_t len = ACL_FIXED + v[i].name_len + v[i].principal_len + v[i].host_len;
        uint8_t *b = st_snap_reserve(&w, len);
        if (!b)
            break;
        struct kp_wr wr;
        kp_wr_init(&wr, b, len);
        kp_wr_i8(&wr, v[i].type);
        kp_wr_i8(&wr, v[i].pattern);
        kp_wr_i8(&wr, v[i].op);
        kp_wr_i8(&wr, v[i].perm);
        kp_wr_i16(&wr, (int16_t)v[i].name_len);
        kp_wr_raw(&wr, v[i].name, v[i].name_len);
        kp_wr_i16(&wr, (int16_t)v[i].principal_len);
        kp_wr_raw(&wr, v[i].principal, v[i].principal_len);
        kp_wr_i16(&wr, (int16_t)v[i].host_len);
        kp_wr_raw(&wr, v[i].host, v[i].host_len);
    }
    return st_snap_commit(&w, dir, BR_ACL_FILE, 0600);
}

struct loader {
    struct br__acl_list *l;
    const char *why; /* the first record that did not pass */
};

static int load_one(void *arg, const uint8_t *b, size_t len)
{
    struct loader *ld = arg;
    struct kp_rd rd;
    kp_rd_init(&rd, b, len);
    struct br_acl_binding x;
    x.resource_type = kp_rd_i8(&rd);
    x.pattern_type = kp_rd_i8(&rd);
    x.operation = kp_rd_i8(&rd);
    x.permission = kp_rd_i8(&rd);
    x.name = kp_rd_str(&rd);
    x.principal = kp_rd_str(&rd);
    x.host = kp_rd_str(&rd);
    if (!kp_rd_ok(&rd) || kp_rd_left(&rd) != 0) {
        ld->why = "a record does not parse";
        return -EBADMSG;
    }
    if (br_acl_validate(&x, &ld->why) != 0)
        return -EBADMSG;
    struct br__acl_list *l = ld->l;
    if (l->n == BR_ACL_MAX) {
        ld->why = "more bindings than BR_ACL_MAX";
        return -EBADMSG;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct br_acl_binding *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    size_t nl = (size_t)x.name.len, pl = (size_t)x.principal.len, hl = (size_t)x.host.len;
    char *s = malloc(nl + pl + hl + 3);
    if (!s)
        return -ENOMEM;
    memcpy(s, x.name.ptr, nl);
    s[nl] = '\0';
    memcpy(s + nl + 1, x.principal.ptr, pl);
    s[nl + 1 + pl] = '\0';
    memcpy(s + nl + pl + 2, x.host.ptr, hl);
    s[nl + pl + 2 + hl] = '\0';
    x.name.ptr = s;
    x.principal.ptr = s + nl + 1;
    x.host.ptr = s + nl + pl + 2;
    l->v[l->n++] = x;
    return 0;
}

int br__acl_file_read(const char *dir, struct br__acl_list *out, st_log_fn log_fn, void *log_arg)
{
    memset(out, 0, sizeof *out);
    struct loader ld = {out, NULL};
    uint32_t version;
    int rc = st_snap_read(dir, BR_ACL_FILE, ACL_MAGIC, ACL_VERSION, (size_t)BR_ACL_BYTES_MAX * 2,
                          &version, load_one, &ld, log_fn, log_arg);
    if (rc == -ENOENT)
        rc = 0;
    if (rc && ld.why && log_fn) {
        char msg[4400];
        snprintf(msg, sizeof msg,
                 "%s/%s: refused: %s (restore the file, or remove it to start with no ACLs)", dir,
                 BR_ACL_FILE, ld.why);
        log_fn(log_arg, msg);
    }
    if (rc)
        br__acl_list_free(out);
    return rc;
}
