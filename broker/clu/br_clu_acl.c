/*
 * br_clu_acl — ACLs held in ZooKeeper, as Kafka's ZooKeeper-mode AclAuthorizer holds them
 * (issue 18; docs/cluster.md, "ACLs"). See br_clu.h for the contract.
 *
 * The znodes (under the chroot; <Type> is Kafka's resource type name: Topic, Group, Cluster,
 * TransactionalId, DelegationToken, User; <name> the resource name as it is):
 *   /kafka-acl/<Type>/<name>                    a LITERAL pattern's entries
 *   /kafka-acl-extended/prefixed/<Type>/<name>  a PREFIXED pattern's entries
 *       {"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow",
 *        "operation":"Read","host":"*"},...]}   (br_clu_json_acls_enc: AclEntry's names)
 *       A pattern without entries has no znode: its last entry's deletion deletes it.
 *   /kafka-acl-changes/acl_changes_<seq>           "TOPIC:<name>": a literal pattern changed
 *   /kafka-acl-extended-changes/acl_changes_<seq>  {"version":1,"resourceType":"TOPIC",
 *       "name":"<name>","patternType":"PREFIXED"}: a prefixed one changed
 *   (the notifications as Kafka 2.4+'s Literal/ExtendedAclChangeStore write them; both read in
 *   any case, so older Kafka's "Topic:<name>" too)
 *
 * Writes (CreateAcls / DeleteAcls through any broker, run here on the cluster thread): per
 * resource pattern, read the document and its version, add or remove entries, write it back
 * conditionally (setData on the version; create when there was none; delete on the version
 * when none is left); BadVersion, NodeExists or NoNode (another broker wrote meanwhile): read
 * again, at most WRITE_TRIES times, as Kafka's updateResourceAcls. Then the notification, then
 * the local authorizer takes the pattern's new entries (conf.acl_apply), so the broker that
 * answers enforces them at once; the request is answered after that.
 *
 * Reads: br_clu_open reads every document (before clients are let in) and replaces the whole
 * local set; after a new session the same (watches lost, notifications maybe purged: a broker
 * that was away catches up). Meanwhile both change directories are watched: a new notification
 * makes the named pattern's document be read again and its bindings replaced (order does not
 * matter: each says only "read this pattern again"). One that cannot be parsed triggers a read
 * of everything. Notifications older than 15 minutes are deleted (br_clu_notes.c).
 *
 * Limits: a document is at most BIG_MAX bytes (jute.maxbuffer); a full read at most
 * conf.acl_max bindings and conf.acl_bytes_max bytes of strings (br_acl.h's BR_ACL_MAX,
 * BR_ACL_BYTES_MAX), else refused whole: at open the broker does not start, after a new session
 * the previous set stays (logged).
 *
 * A DOCUMENT THAT CANNOT BE READ (not Kafka's JSON, an operation or permission name Kafka does
 * not have, a string too long, larger than BIG_MAX) is logged and its pattern handed over as
 * closed: the authorizer denies everything on it to everyone but the super users
 * (br_authz_replace). Skipping it would drop its DENYs, which grants. Writes leave such a
 * document alone (CreateAcls on it answers an error); fix it with ZooKeeper's own tools and
 * write a notification (or restart the brokers).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_clu_int.h"
#include "br_log.h"
#include "kp_msg_sec.h"

#define WRITE_TRIES   10
#define CHANGE_PREFIX "acl_changes_"

enum { LIT = 0, EXT = 1 }; /* the two roots and their change directories */

static const char *const ROOT[2] = {"/kafka-acl", "/kafka-acl-extended/prefixed"};
static const char *const CHANGES[2] = {"/kafka-acl-changes", "/kafka-acl-extended-changes"};
static const int8_t PATTERN[2] = {KP_ACL_PATTERN_LITERAL, KP_ACL_PATTERN_PREFIXED};
static const int8_t TYPES[] = {KP_ACL_RESOURCE_TOPIC,
                               KP_ACL_RESOURCE_GROUP,
                               KP_ACL_RESOURCE_CLUSTER,
                               KP_ACL_RESOURCE_TRANSACTIONAL_ID,
                               KP_ACL_RESOURCE_DELEGATION_TOKEN,
                               KP_ACL_RESOURCE_USER};
#define NTYPES (sizeof TYPES / sizeof TYPES[0])

static int zk_errno(int rc) { return br_clu__transient(rc) ? -EAGAIN : -EIO; }

static int root_of(int8_t pattern) { return pattern == KP_ACL_PATTERN_PREFIXED ? EXT : LIT; }

static void dir_path(const struct br_clu *c, char *out, size_t cap, const char *dir)
{
    snprintf(out, cap, "%s%s", c->chroot, dir);
}

/* <chroot><root>/<Type>[/<name>]; false when it does not fit. */
static bool doc_path(const struct br_clu *c, char *out, size_t cap, int8_t pattern, int8_t type,
                     const char *name)
{
    const char *t = br_clu_acl_type_name(type);
    if (!t)
        return false;
    int n = name ? snprintf(out, cap, "%s%s/%s/%s", c->chroot, ROOT[root_of(pattern)], t, name)
                 : snprintf(out, cap, "%s%s/%s", c->chroot, ROOT[root_of(pattern)], t);
    return n > 0 && (size_t)n < cap;
}

/* Whether name can be one znode's name (ZooKeeper's PathUtils: no "/", not "." or "..", no
 * control characters). */
static bool znode_name_ok(const char *name)
{
    if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p == '/' || *p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* ---- bindings read --------------------------------------------------------------------------- */

/* Bindings with their strings (one allocation each: name, principal, host), and the patterns
 * that could not be read (name allocated). */
struct acc {
    struct br_clu_acl *v;
    size_t n, cap;
    struct br_clu_acl *closed;
    size_t nclosed, ccap;
    size_t bytes, max, bytes_max; /* max 0: no bound */
    int err;                      /* -ENOMEM, -ENOSPC: refused */
};

static void acc_free(struct acc *a)
{
    for (size_t i = 0; i < a->n; i++)
        free((void *)a->v[i].name);
    for (size_t i = 0; i < a->nclosed; i++)
        free((void *)a->closed[i].name);
    free(a->v);
    free(a->closed);
    memset(a, 0, sizeof *a);
}

static bool grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*v, nc * size);
    if (!p)
        return false;
    *v = p;
    *cap = nc;
    return true;
}

static void acc_add(struct acc *a, int8_t type, int8_t pattern, const char *name,
                    const char *principal, const char *host, int8_t op, int8_t perm)
{
    if (a->err)
        return;
    size_t nl = strlen(name), pl = strlen(principal), hl = strlen(host);
    if (a->max && (a->n + a->nclosed >= a->max || a->bytes + nl + pl + hl > a->bytes_max)) {
        a->err = -ENOSPC;
        return;
    }
    char *s = malloc(nl + pl + hl + 3);
    if (!s || !grow((void **)&a->v, &a->cap, a->n + 1, sizeof *a->v)) {
        free(s);
        a->err = -ENOMEM;
        return;
    }
    memcpy(s, name, nl + 1);
    memcpy(s + nl + 1, principal, pl + 1);
    memcpy(s + nl + pl + 2, host, hl + 1);
    a->v[a->n++] = (struct br_clu_acl){type, pattern, op, perm, s, s + nl + 1, s + nl + pl + 2};
    a->bytes += nl + pl + hl;
}

static void acc_close(struct acc *a, int8_t type, int8_t pattern, const char *name)
{
    if (a->err)
        return;
    size_t nl = strlen(name);
    if (a->max && (a->n + a->nclosed >= a->max || a->bytes + nl > a->bytes_max)) {
        a->err = -ENOSPC; /* (each closed pattern is a binding too) */
        return;
    }
    char *s = strdup(name);
    if (!s || !grow((void **)&a->closed, &a->ccap, a->nclosed + 1, sizeof *a->closed)) {
        free(s);
        a->err = -ENOMEM;
        return;
    }
    a->closed[a->nclosed++] = (struct br_clu_acl){type, pattern, 0, 0, s, "", ""};
    a->bytes += nl;
}

struct doc_ctx {
    struct acc *a;
    int8_t type, pattern;
    const char *name;
};

static int doc_entry(void *ctx, const struct br_clu_acl *e)
{
    struct doc_ctx *d = ctx;
    acc_add(d->a, d->type, d->pattern, d->name, e->principal, e->host, e->operation, e->permission);
    return 0;
}

/* Reads the pattern's document into a (entries, or the pattern closed when it cannot be read;
 * none when there is no znode); *version its version (-1: none) and *readable. A ZooKeeper
 * code. */
static int read_doc(struct br_clu *c, int8_t type, int8_t pattern, const char *name, struct acc *a,
                    int32_t *version, bool *readable)
{
    char path[PATH_MAX_LEN + BR_CLU_ACL_STR_MAX];
    *version = -1;
    *readable = true;
    if (!doc_path(c, path, sizeof path, pattern, type, name))
        return ZBADARGUMENTS;
    int len = BIG_MAX;
    struct Stat st;
    memset(&st, 0, sizeof st);
    int rc = zoo_get(c->zh, path, 0, c->big, &len, &st);
    if (rc == ZNONODE)
        return ZOK;
    if (rc != ZOK)
        return rc;
    *version = st.version;
    struct doc_ctx d = {a, type, pattern, name};
    if (st.dataLength > len || len < 0 ||
        br_clu_json_acls_each(c->big, (size_t)(len > 0 ? len : 0), doc_entry, &d) < 0) {
        *readable = false;
        br_err_limited("cluster: %s is not an ACL document Kafka writes: its resources are "
                       "denied to everyone but super users until it is fixed",
                       path);
        acc_close(a, type, pattern, name);
    }
    return ZOK;
}

/* Reads every document into a. A ZooKeeper code. */
static int read_all(struct br_clu *c, struct acc *a)
{
    for (int r = 0; r < 2; r++) {
        for (size_t t = 0; t < NTYPES; t++) {
            char path[PATH_MAX_LEN];
            if (!doc_path(c, path, sizeof path, PATTERN[r], TYPES[t], NULL))
                return ZBADARGUMENTS;
            struct String_vector kids = {0};
            int rc = zoo_get_children(c->zh, path, 0, &kids);
            if (rc == ZNONODE)
                continue;
            if (rc != ZOK)
                return rc;
            for (int i = 0; rc == ZOK && i < kids.count && !a->err; i++) {
                int32_t version;
                bool readable;
                rc = read_doc(c, TYPES[t], PATTERN[r], kids.data[i], a, &version, &readable);
            }
            deallocate_String_vector(&kids);
            if (rc != ZOK)
                return rc;
        }
    }
    return ZOK;
}

/* Hands a change to conf.acl_apply (logged when refused). */
static int apply(struct br_clu *c, const struct br_clu_acl_change *ch)
{
    int rc = c->conf.acl_apply(c->conf.acl_arg, ch);
    if (rc < 0)
        br_err_limited("cluster: the authorizer refused the ACLs read from ZooKeeper: %s",
                       strerror(-rc));
    return rc;
}

/* Reads everything and replaces the local set. ZOK; ZSYSTEMERROR: refused (logged). */
static int load_all(struct br_clu *c)
{
    struct acc a = {.max = c->conf.acl_max, .bytes_max = c->conf.acl_bytes_max};
    int rc = read_all(c, &a);
    if (rc == ZOK && a.err) {
        br_err("cluster: the ACLs in ZooKeeper cannot be taken: %s (at most %zu bindings, %zu "
               "bytes)",
               strerror(-a.err), c->conf.acl_max, c->conf.acl_bytes_max);
        rc = ZSYSTEMERROR;
    }
    if (rc == ZOK) {
        struct br_clu_acl_change ch = {
            .all = true, .b = a.v, .n = a.n, .closed = a.closed, .nclosed = a.nclosed};
        if (apply(c, &ch) < 0)
            rc = ZSYSTEMERROR;
        else
            br_info("cluster: ACLs read from ZooKeeper: %zu binding(s)%s", a.n,
                    a.nclosed ? ", some resources closed (logged)" : "");
    }
    acc_free(&a);
    return rc;
}

/* Reads one pattern's document again and replaces its bindings. A ZooKeeper code. */
static int reload_pattern(struct br_clu *c, int8_t type, int8_t pattern, const char *name)
{
    struct acc a = {0};
    int32_t version;
    bool readable;
    int rc = read_doc(c, type, pattern, name, &a, &version, &readable);
    if (rc == ZBADARGUMENTS) {
        br_warn_limited("cluster: an ACL change names a resource too long for a path: ignored");
        rc = ZOK;
    } else if (rc == ZOK && !a.err) {
        struct br_clu_acl pat = {type, pattern, 0, 0, name, "", ""};
        struct br_clu_acl_change ch = {
            .pats = &pat, .npats = 1, .b = a.v, .n = a.n, .closed = a.closed, .nclosed = a.nclosed};
        (void)apply(c, &ch);
    }
    acc_free(&a);
    return rc;
}

/* ---- change notifications ------------------------------------------------------------------- */

static void on_changes(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)state;
    (void)path;
    struct br_clu *c = ctx;
    br_clu__watch_mark(c, type, &c->acl_dirty);
}

static int one_change(struct br_clu *c, void *ctx, const char *path, const char *data, int len)
{
    int root = *(const int *)ctx;
    int8_t type = 0, pattern = KP_ACL_PATTERN_LITERAL;
    char name[BR_CLU_ACL_STR_MAX];
    int prc = len <= 0 ? -EINVAL
              : root == LIT
                  ? br_clu_acl_change_literal(data, (size_t)len, &type, name, sizeof name)
                  : br_clu_json_acl_change(data, (size_t)len, &type, &pattern, name, sizeof name);
    if (prc < 0) {
        /* which pattern changed is unknown: every ACL is read again */
        br_warn_limited("cluster: %s is not an ACL change notification: reading every ACL again",
                        path);
        c->acl_resync = true;
        return ZOK;
    }
    return reload_pattern(c, type, pattern, name);
}

/* Reads both change directories (with watches): new notifications acted on (skip_new: only
 * the last sequence noted, and old ones purged). */
static int read_changes(struct br_clu *c, bool skip_new)
{
    for (int r = 0; r < 2; r++) {
        char dir[PATH_MAX_LEN];
        dir_path(c, dir, sizeof dir, CHANGES[r]);
        int rc = br_clu__notes_read(c, dir, CHANGE_PREFIX, on_changes, c, &c->acl_seq[r], skip_new,
                                    one_change, &r);
        if (rc != ZOK)
            return rc;
    }
    return ZOK;
}

/* Everything again: the watches and the sequences first, so a change written during the read
 * is either in it or acted on at the next turn. */
static int resync(struct br_clu *c)
{
    int rc = read_changes(c, true);
    if (rc != ZOK)
        return rc;
    rc = load_all(c);
    if (rc == ZSYSTEMERROR) {
        br_err("cluster: the previous ACLs stay in force until the next change");
        rc = ZOK;
    }
    if (rc == ZOK)
        c->acl_resync = false;
    return rc;
}

int br_clu__acl_load(struct br_clu *c)
{
    for (int r = 0; r < 2; r++) {
        char p[PATH_MAX_LEN];
        dir_path(c, p, sizeof p, ROOT[r]);
        int rc = br_clu__ensure_path(c, p);
        if (rc == ZOK) {
            dir_path(c, p, sizeof p, CHANGES[r]);
            rc = br_clu__ensure_path(c, p);
        }
        if (rc != ZOK)
            return rc;
    }
    int rc = read_changes(c, true);
    return rc == ZOK ? load_all(c) : rc;
}

int br_clu__acl_changes(struct br_clu *c)
{
    if (c->acl_resync)
        return resync(c);
    int rc = read_changes(c, false);
    if (rc == ZOK && c->acl_resync) /* (a notification could not be parsed) */
        rc = resync(c);
    return rc;
}

/* ---- writes -----------------------------------------------------------------------------------
 */

struct acl_op {
    bool del;
    const struct br_clu_acl *b; /* create: the bindings, results[i] each */
    size_t n;
    int *results;
    int (*match)(void *arg, const struct br_clu_acl *b); /* delete */
    void (*deleted)(void *arg, int filter, const struct br_clu_acl *b);
    void *arg;
};

static bool same_pattern(const struct br_clu_acl *x, const struct br_clu_acl *y)
{
    return x->resource_type == y->resource_type && x->pattern_type == y->pattern_type &&
           strcmp(x->name, y->name) == 0;
}

static bool same_entry(const struct br_clu_acl *x, const struct br_clu_acl *y)
{
    return x->operation == y->operation && x->permission == y->permission &&
           strcmp(x->principal, y->principal) == 0 && strcmp(x->host, y->host) == 0;
}

/* Writes the pattern's entries v[0, n) conditionally on version (-1: create; n 0: delete). ZOK,
 * a ZooKeeper code (ZBADVERSION, ZNODEEXISTS, ZNONODE: raced, read again), or ZBADARGUMENTS
 * (too large). */
static int write_doc(struct br_clu *c, const struct br_clu_acl *pat, const struct br_clu_acl *v,
                     size_t n, int32_t version)
{
    char path[PATH_MAX_LEN + BR_CLU_ACL_STR_MAX];
    if (!doc_path(c, path, sizeof path, pat->pattern_type, pat->resource_type, pat->name))
        return ZBADARGUMENTS;
    int rc;
    if (n == 0) {
        rc = version < 0 ? ZOK : zoo_delete(c->zh, path, version);
    } else {
        char *buf = malloc(BIG_MAX);
        if (!buf)
            return ZSYSTEMERROR;
        int len = br_clu_json_acls_enc(buf, BIG_MAX, v, n);
        if (len < 0) {
            free(buf);
            return ZBADARGUMENTS;
        }
        if (version >= 0) {
            rc = zoo_set(c->zh, path, buf, len, version);
        } else {
            rc = zoo_create(c->zh, path, buf, len, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
            if (rc == ZNONODE) { /* (the <Type> parent, created once) */
                char parent[PATH_MAX_LEN];
                if (doc_path(c, parent, sizeof parent, pat->pattern_type, pat->resource_type,
                             NULL) &&
                    br_clu__ensure_path(c, parent) == ZOK)
                    rc = zoo_create(c->zh, path, buf, len, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
            }
        }
        free(buf);
    }
    return rc;
}

/* The pattern's change notification, in its pattern type's own format. ZOK or -errno. */
static int write_note(struct br_clu *c, const struct br_clu_acl *pat)
{
    char note[BR_CLU_ACL_STR_MAX + 128], dir[PATH_MAX_LEN];
    int nl = pat->pattern_type == KP_ACL_PATTERN_LITERAL
                 ? br_clu_acl_change_literal_enc(note, sizeof note, pat->resource_type, pat->name)
                 : br_clu_json_acl_change_enc(note, sizeof note, pat->resource_type,
                                              pat->pattern_type, pat->name);
    if (nl < 0)
        return -ENOSPC;
    dir_path(c, dir, sizeof dir, CHANGES[root_of(pat->pattern_type)]);
    int rc = br_clu__note_write(c, dir, CHANGE_PREFIX, note, nl, NULL, 0);
    if (rc == ZOK)
        return 0;
    /* the ACLs are written and taken here; the other brokers see them at their next full read
     * (a new session, a restart), not now: the client is told (it may retry: the same write) */
    br_warn("cluster: ACLs of %s %s written, but not the change notification: %s",
            br_clu_acl_type_name(pat->resource_type), pat->name, zerror(rc));
    return zk_errno(rc);
}

/* After a document was written: taken here at once, then the notification. 0 or -errno. */
static int written(struct br_clu *c, const struct br_clu_acl *pat, const struct br_clu_acl *v,
                   size_t n);

/* The local authorizer takes the pattern's entries v[0, n) at once. */
static void apply_local(struct br_clu *c, const struct br_clu_acl *pat, const struct br_clu_acl *v,
                        size_t n)
{
    struct br_clu_acl_change ch = {.pats = pat, .npats = 1, .b = v, .n = n};
    (void)apply(c, &ch);
}

static int written(struct br_clu *c, const struct br_clu_acl *pat, const struct br_clu_acl *v,
                   size_t n)
{
    apply_local(c, pat, v, n);
    return write_note(c, pat);
}

static bool raced(int rc) { return rc == ZBADVERSION || rc == ZNODEEXISTS || rc == ZNONODE; }

static int zk_result(int rc)
{
    return rc == ZBADARGUMENTS ? -ENOSPC : rc == ZSYSTEMERROR ? -EIO : zk_errno(rc);
}

/* Adds the bindings of op->b that have pattern pat (results[i] of each set). */
static void create_pattern(struct br_clu *c, struct acl_op *op, const struct br_clu_acl *pat)
{
    int res = -EAGAIN;
    for (int t = 0; t < WRITE_TRIES; t++) {
        struct acc a = {0};
        int32_t version;
        bool readable;
        int rc =
            read_doc(c, pat->resource_type, pat->pattern_type, pat->name, &a, &version, &readable);
        size_t have = a.n;
        for (size_t i = 0; rc == ZOK && i < op->n && !a.err; i++) {
            const struct br_clu_acl *b = &op->b[i];
            if (op->results[i] != 1 || !same_pattern(b, pat))
                continue;
            bool there = false;
            for (size_t k = 0; k < a.n && !there; k++)
                there = same_entry(&a.v[k], b);
            if (!there)
                acc_add(&a, b->resource_type, b->pattern_type, b->name, b->principal, b->host,
                        b->operation, b->permission);
        }
        if (rc == ZOK && (!readable || a.err)) {
            res = !readable ? -EBADMSG : a.err;
        } else if (rc == ZOK && a.n == have) {
            res = 0; /* all there already */
        } else if (rc == ZOK) {
            rc = write_doc(c, pat, a.v, a.n, version);
            if (rc == ZOK)
                res = written(c, pat, a.v, a.n);
            else if (!raced(rc)) {
                res = zk_result(rc);
            }
        } else {
            res = zk_result(rc);
        }
        acc_free(&a);
        if (res != -EAGAIN || (rc != ZOK && !raced(rc)))
            break;
    }
    for (size_t i = 0; i < op->n; i++)
        if (op->results[i] == 1 && same_pattern(&op->b[i], pat))
            op->results[i] = res;
}

static int run_create(struct br_clu *c, struct acl_op *op)
{
    for (size_t i = 0; i < op->n; i++)
        op->results[i] =
            znode_name_ok(op->b[i].name) && br_clu_acl_type_name(op->b[i].resource_type)
                ? 1 /* (to do) */
                : -EINVAL;
    for (size_t i = 0; i < op->n; i++)
        if (op->results[i] == 1)
            create_pattern(c, op, &op->b[i]);
    return 0;
}

/* Deletes the matching entries of one document. A ZooKeeper code. */
static int delete_in(struct br_clu *c, struct acl_op *op, int8_t type, int8_t pattern,
                     const char *name)
{
    struct br_clu_acl pat = {type, pattern, 0, 0, name, "", ""};
    for (int t = 0; t < WRITE_TRIES; t++) {
        struct acc a = {0}, keep = {0};
        int32_t version;
        bool readable;
        int rc = read_doc(c, type, pattern, name, &a, &version, &readable);
        int *hit = NULL;
        if (rc == ZOK && readable && !a.err && a.n > 0) {
            hit = malloc(a.n * sizeof *hit);
            if (!hit)
                rc = ZSYSTEMERROR;
        }
        size_t nhit = 0;
        for (size_t i = 0; hit && i < a.n; i++) {
            hit[i] = op->match(op->arg, &a.v[i]);
            if (hit[i] >= 0)
                nhit++;
            else
                acc_add(&keep, type, pattern, name, a.v[i].principal, a.v[i].host, a.v[i].operation,
                        a.v[i].permission);
        }
        if (rc == ZOK && nhit > 0 && !keep.err) {
            rc = write_doc(c, &pat, keep.v, keep.n, version);
            if (rc == ZOK) {
                for (size_t i = 0; i < a.n; i++)
                    if (hit[i] >= 0)
                        op->deleted(op->arg, hit[i], &a.v[i]);
                if (written(c, &pat, keep.v, keep.n) < 0)
                    rc = ZSYSTEMERROR; /* (deleted, told; the others not notified) */
            }
        } else if (rc == ZOK && keep.err) {
            rc = ZSYSTEMERROR;
        }
        free(hit);
        acc_free(&a);
        acc_free(&keep);
        if (!raced(rc))
            return rc;
    }
    return ZOPERATIONTIMEOUT; /* (kept losing to other writers) */
}

static int run_delete(struct br_clu *c, struct acl_op *op)
{
    for (int r = 0; r < 2; r++) {
        for (size_t t = 0; t < NTYPES; t++) {
            char path[PATH_MAX_LEN];
            if (!doc_path(c, path, sizeof path, PATTERN[r], TYPES[t], NULL))
                return -EIO;
            struct String_vector kids = {0};
            int rc = zoo_get_children(c->zh, path, 0, &kids);
            if (rc == ZNONODE)
                continue;
            for (int i = 0; rc == ZOK && i < kids.count; i++)
                rc = delete_in(c, op, TYPES[t], PATTERN[r], kids.data[i]);
            deallocate_String_vector(&kids);
            if (rc != ZOK)
                return rc == ZOPERATIONTIMEOUT ? -EAGAIN : zk_result(rc);
        }
    }
    return 0;
}

int br_clu__acl_run(struct br_clu *c, struct clu_req *r)
{
    struct acl_op *op = r->acl;
    return op->del ? run_delete(c, op) : run_create(c, op);
}

/* ---- requests of other threads -------------------------------------------------------------- */

int br_clu_acl_create(struct br_clu *c, const struct br_clu_acl *b, size_t n, int *results)
{
    struct acl_op op = {.b = b, .n = n, .results = results};
    struct clu_req r = {.kind = REQ_ACL, .acl = &op};
    for (size_t i = 0; i < n; i++)
        results[i] = -EAGAIN; /* (what a refused request leaves) */
    int rc = br_clu__submit(c, &r);
    if (rc == -EAGAIN) /* (ZooKeeper unreachable: the cluster thread ran nothing) */
        rc = 0;
    return rc;
}

int br_clu_acl_delete(struct br_clu *c, int (*match)(void *arg, const struct br_clu_acl *b),
                      void (*deleted)(void *arg, int filter, const struct br_clu_acl *b), void *arg)
{
    struct acl_op op = {.del = true, .match = match, .deleted = deleted, .arg = arg};
    struct clu_req r = {.kind = REQ_ACL, .acl = &op};
    return br_clu__submit(c, &r);
}
