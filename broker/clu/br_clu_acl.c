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
 * again, at most WRITE_TRIES times, as Kafka's updateResourceAcls. Then the local authorizer
 * takes the pattern's new entries (conf.acl_apply), so the broker that answers enforces them at
 * once, and the notification is written; the request is answered after that.
 *   EVERY END WRITES ONE (end_pattern): also when nothing was written this time (the entries
 *   were there already, nothing left to delete, the document refused, a ZooKeeper error). A
 *   ZCONNECTIONLOSS on a write is ambiguous (it may have landed), and so is a notification
 *   lost: the client's retry then finds its work done, and only a notification at that point
 *   tells the other brokers. A notification is idempotent ("read this pattern again").
 *   Notifications ZooKeeper refuses stay due on the cluster thread (acl_notes, at most
 *   ACL_NOTES_MAX; beyond, one READ_ALL) and are written at its next turns, before the change
 *   notifications are read; the client is answered REQUEST_TIMED_OUT meanwhile (the change may
 *   or may not be everywhere yet). They never make a write be retried.
 *   DeleteAcls visits the candidate patterns the caller took from the local set (which follows
 *   ZooKeeper), not every document in ZooKeeper.
 *
 * Reads: br_clu_open reads every document (before clients are let in) and replaces the whole
 * local set; after a new session the same (watches lost, notifications maybe purged: a broker
 * that was away catches up). Meanwhile both change directories are watched: a new notification
 * makes the named pattern's document be read again and its bindings replaced (order does not
 * matter: each says only "read this pattern again"). One that cannot be parsed triggers a read
 * of everything, and so does READ_ALL ("ANY:*" in /kafka-acl-changes: no pattern is of type
 * ANY; Kafka would read that empty pattern and change nothing). Notifications older than 15
 * minutes are deleted (br_clu_notes.c).
 *
 * Limits: a document is at most BIG_MAX bytes (jute.maxbuffer); a full read at most
 * conf.acl_max bindings and conf.acl_bytes_max bytes of strings (br_acl.h's BR_ACL_MAX,
 * BR_ACL_BYTES_MAX), else refused whole: at open the broker does not start, after a new session
 * the previous set stays (logged). One pattern's bindings the authorizer refuses (past its
 * bounds, no memory) close that pattern instead (apply_pattern), and when even that is refused
 * everything is read again; CreateAcls is checked against the bounds before writing
 * (br_api_acl.c, br_authz_room).
 *
 * A DOCUMENT THAT CANNOT BE READ (not Kafka's JSON, an operation or permission name Kafka does
 * not have, a string too long or holding a NUL, a top-level key twice, larger than BIG_MAX, a
 * znode ZooKeeper does not let this broker read (ZNOAUTH), a name too long for a path) is
 * logged and its pattern handed over as
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
#define ACL_NOTES_MAX 64 /* notifications waiting to be written (then one READ_ALL instead) */
/* A literal notification naming no pattern: "read every ACL again" (Kafka's ResourceType ANY;
 * Kafka itself would read the empty pattern ANY:* and change nothing) */
#define READ_ALL "ANY:*"

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

static int notes_flush(struct br_clu *c);

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
    int len = BIG_MAX;
    struct Stat st;
    memset(&st, 0, sizeof st);
    int rc = doc_path(c, path, sizeof path, pattern, type, name)
                 ? zoo_get(c->zh, path, 0, c->big, &len, &st)
                 : ZBADARGUMENTS;
    if (rc == ZNONODE)
        return ZOK;
    if (rc != ZOK && br_clu__transient(rc))
        return rc;
    if (rc != ZOK) {
        /* ZNOAUTH, a name too long for a path, ...: this one document cannot be read, the
         * others can: it fails closed, as one that is not Kafka's JSON (a read of everything
         * goes on; a notification naming it is acted on) */
        *readable = false;
        br_err_limited("cluster: the ACL document of %s %.200s cannot be read (%s): its "
                       "resources are denied to everyone but super users until it is fixed",
                       br_clu_acl_type_name(type) ? br_clu_acl_type_name(type) : "?", name,
                       zerror(rc));
        acc_close(a, type, pattern, name);
        return ZOK;
    }
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

/* The next turn of the cluster thread comes at once (br_clu.c: acl_dirty), for acl_resync or
 * the notifications still to write. */
static void turn_soon(struct br_clu *c)
{
    pthread_mutex_lock(&c->lock);
    c->acl_dirty = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* The bindings of pattern pat become v[0, n) (closed[0, nclosed): pat could not be read). When
 * the authorizer refuses (past BR_ACL_MAX / BR_ACL_BYTES_MAX, out of memory) the pattern FAILS
 * CLOSED (its one DENY ALL binding); when even that is refused, every ACL is read again at the
 * next turn (acl_resync). The previous bindings are never silently kept: they may lack a DENY
 * the document has. */
static void apply_pattern(struct br_clu *c, const struct br_clu_acl *pat,
                          const struct br_clu_acl *v, size_t n, const struct br_clu_acl *closed,
                          size_t nclosed)
{
    struct br_clu_acl_change ch = {
        .pats = pat, .npats = 1, .b = v, .n = n, .closed = closed, .nclosed = nclosed};
    if (apply(c, &ch) == 0)
        return;
    struct br_clu_acl shut = {pat->resource_type, pat->pattern_type, 0, 0, pat->name, "", ""};
    struct br_clu_acl_change closing = {.pats = &shut, .npats = 1, .closed = &shut, .nclosed = 1};
    if (apply(c, &closing) == 0) {
        br_err_limited("cluster: the ACLs of %s %.200s are closed (denied to everyone but super "
                       "users) until they can be taken",
                       br_clu_acl_type_name(pat->resource_type), pat->name);
        return;
    }
    br_err_limited("cluster: the ACLs of %s %.200s cannot be taken: every ACL is read again",
                   br_clu_acl_type_name(pat->resource_type), pat->name);
    c->acl_resync = true;
    turn_soon(c);
}

/* Reads one pattern's document again and replaces its bindings. A ZooKeeper code (transient
 * only: a document that cannot be read closes its pattern). */
static int reload_pattern(struct br_clu *c, int8_t type, int8_t pattern, const char *name)
{
    struct acc a = {0};
    int32_t version;
    bool readable;
    int rc = read_doc(c, type, pattern, name, &a, &version, &readable);
    if (rc == ZOK) {
        struct br_clu_acl pat = {type, pattern, 0, 0, name, "", ""};
        if (a.err) /* (-ENOMEM: not all of it read) */
            apply_pattern(c, &pat, NULL, 0, &pat, 1);
        else
            apply_pattern(c, &pat, a.v, a.n, a.closed, a.nclosed);
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
    if (root == LIT && len == (int)strlen(READ_ALL) && memcmp(data, READ_ALL, (size_t)len) == 0) {
        c->acl_resync = true; /* (written when notifications were due beyond ACL_NOTES_MAX) */
        return ZOK;
    }
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
    int nrc = c->acl_nnotes || c->acl_note_all ? notes_flush(c) : ZOK;
    int rc = c->acl_resync ? resync(c) : read_changes(c, false);
    if (rc == ZOK && c->acl_resync) /* (a notification could not be parsed, or READ_ALL) */
        rc = resync(c);
    return rc == ZOK ? nrc : rc;
}

/* ---- writes -----------------------------------------------------------------------------------
 */

struct acl_op {
    bool del;
    const struct br_clu_acl *b; /* create: the bindings, results[i] each */
    size_t n;
    int *results;
    const struct br_clu_acl *pats; /* delete: the candidate patterns */
    size_t npats;
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

/* The pattern's change notification, in its pattern type's own format (pat NULL: READ_ALL).
 * A ZooKeeper code; ZBADARGUMENTS when it cannot be encoded. */
static int write_note(struct br_clu *c, const struct br_clu_acl *pat)
{
    char note[BR_CLU_ACL_STR_MAX + 128], dir[PATH_MAX_LEN];
    int nl = !pat ? snprintf(note, sizeof note, "%s", READ_ALL)
             : pat->pattern_type == KP_ACL_PATTERN_LITERAL
                 ? br_clu_acl_change_literal_enc(note, sizeof note, pat->resource_type, pat->name)
                 : br_clu_json_acl_change_enc(note, sizeof note, pat->resource_type,
                                              pat->pattern_type, pat->name);
    if (nl < 0)
        return ZBADARGUMENTS;
    dir_path(c, dir, sizeof dir, CHANGES[pat ? root_of(pat->pattern_type) : LIT]);
    return br_clu__note_write(c, dir, CHANGE_PREFIX, note, nl, NULL, 0);
}

/* Writes the notifications due (acl_notes, then acl_note_all), oldest first. A notification
 * only says "read this pattern again", so writing one twice, or late, is harmless; one never
 * written is a change the other brokers do not enforce until their next full read. ZOK, or
 * ZooKeeper's code (the rest stay due: the cluster thread tries again at its next turns). */
static int notes_flush(struct br_clu *c)
{
    int rc = ZOK;
    if (c->acl_note_all) {
        rc = write_note(c, NULL);
        if (rc == ZOK) { /* (everything is read again: the others are covered) */
            c->acl_note_all = false;
            for (size_t i = 0; i < c->acl_nnotes; i++)
                free((void *)c->acl_notes[i].name);
            c->acl_nnotes = 0;
        }
    }
    size_t done = 0;
    while (rc == ZOK && done < c->acl_nnotes) {
        rc = write_note(c, &c->acl_notes[done]);
        if (rc == ZBADARGUMENTS) { /* (cannot be written as one: everything instead) */
            c->acl_note_all = true;
            rc = ZOK;
        }
        if (rc == ZOK)
            free((void *)c->acl_notes[done++].name);
    }
    memmove(c->acl_notes, c->acl_notes + done, (c->acl_nnotes - done) * sizeof *c->acl_notes);
    c->acl_nnotes -= done;
    if (rc == ZOK && c->acl_note_all)
        return notes_flush(c);
    if (rc != ZOK)
        br_warn_limited("cluster: %zu ACL change notification(s)%s not written yet (%s): the "
                        "other brokers enforce those changes once they are (retrying)",
                        c->acl_nnotes, c->acl_note_all ? " and a read-everything one" : "",
                        zerror(rc));
    return rc;
}

/* A notification for pat is due (once: an equal one already due covers it). */
static void note_due(struct br_clu *c, const struct br_clu_acl *pat)
{
    for (size_t i = 0; i < c->acl_nnotes; i++)
        if (c->acl_notes[i].resource_type == pat->resource_type &&
            c->acl_notes[i].pattern_type == pat->pattern_type &&
            strcmp(c->acl_notes[i].name, pat->name) == 0)
            return;
    if (!c->acl_notes)
        c->acl_notes = malloc(ACL_NOTES_MAX * sizeof *c->acl_notes);
    char *name = c->acl_notes && c->acl_nnotes < ACL_NOTES_MAX ? strdup(pat->name) : NULL;
    if (!name) { /* (too many due, or no memory: one notification covers them all) */
        c->acl_note_all = true;
        return;
    }
    c->acl_notes[c->acl_nnotes++] =
        (struct br_clu_acl){pat->resource_type, pat->pattern_type, 0, 0, name, "", ""};
}

void br_clu__acl_free(struct br_clu *c)
{
    for (size_t i = 0; i < c->acl_nnotes; i++)
        free((void *)c->acl_notes[i].name);
    free(c->acl_notes);
    c->acl_notes = NULL;
    c->acl_nnotes = 0;
}

/* The document of a pattern as last read, for end_pattern. */
struct doc_seen {
    bool known; /* false: what ZooKeeper holds is unknown (a write that may or may not have
                   landed, a failed read): nothing is applied here, the notification makes every
                   broker, this one included, read it again */
    const struct br_clu_acl *v;
    size_t n;
    const struct br_clu_acl *closed;
    size_t nclosed;
    bool down; /* ZooKeeper did not answer (ZCONNECTIONLOSS...): the notification is only made
                  due, not tried now (each try would wait for the connection again) */
};

/* Ends the write of one pattern, whichever way it went (written, nothing to write, refused,
 * failed): this broker's authorizer takes the document as last seen, and a notification is due
 * (written now if ZooKeeper takes it, else by the cluster thread at its next turns). Each end
 * writes one, even with nothing written this time: a request retried after an ambiguous error
 * (ZCONNECTIONLOSS on a write that landed) or a lost notification finds its work done, and
 * only this notification tells the others. 0, or -EAGAIN: the notification is not written yet
 * (the client is told: REQUEST_TIMED_OUT, the change may or may not be everywhere). */
static int end_pattern(struct br_clu *c, const struct br_clu_acl *pat, const struct doc_seen *d)
{
    if (d->known)
        apply_pattern(c, pat, d->v, d->n, d->closed, d->nclosed);
    note_due(c, pat);
    if (!d->down && notes_flush(c) == ZOK)
        return 0;
    turn_soon(c); /* (need_acl: br_clu__acl_changes writes them) */
    return -EAGAIN;
}

static bool raced(int rc) { return rc == ZBADVERSION || rc == ZNODEEXISTS || rc == ZNONODE; }

static int zk_result(int rc)
{
    return rc == ZBADARGUMENTS ? -ENOSPC : rc == ZSYSTEMERROR ? -EIO : zk_errno(rc);
}

/* Adds the bindings of op->b that have pattern pat (results[i] of each set). Whether ZooKeeper
 * did not answer. */
static bool create_pattern(struct br_clu *c, struct acl_op *op, const struct br_clu_acl *pat)
{
    int res = -EAGAIN;
    struct acc a = {0};
    struct doc_seen seen = {false, NULL, 0, NULL, 0, false};
    for (int t = 0; t < WRITE_TRIES; t++) {
        acc_free(&a);
        seen.known = false;
        int32_t version;
        bool readable;
        int rc =
            read_doc(c, pat->resource_type, pat->pattern_type, pat->name, &a, &version, &readable);
        if (rc != ZOK) {
            seen.down = br_clu__transient(rc);
            res = zk_result(rc);
            break;
        }
        size_t have = a.n;
        seen = (struct doc_seen){!a.err, a.v, have, a.closed, a.nclosed, false};
        if (!readable || a.err) {
            res = !readable ? -EBADMSG : a.err; /* (left alone) */
            break;
        }
        for (size_t i = 0; i < op->n && !a.err; i++) {
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
        seen.v = a.v; /* (acc_add may have moved it; the first have are the document's) */
        if (a.err) {
            res = a.err;
            break;
        }
        if (a.n == have) {
            res = 0; /* all there already (maybe by this client's earlier, ambiguous try) */
            break;
        }
        rc = write_doc(c, pat, a.v, a.n, version);
        if (rc == ZOK) {
            seen.n = a.n;
            res = 0;
            break;
        }
        if (!raced(rc)) {
            /* ZCONNECTIONLOSS and the like: the write may have landed, or not (others, as
             * too large or ZNOAUTH: the document is as read) */
            seen.down = br_clu__transient(rc);
            seen.known = !seen.down;
            res = zk_result(rc);
            break;
        }
    }
    int nrc = end_pattern(c, pat, &seen);
    if (res == 0)
        res = nrc;
    acc_free(&a);
    for (size_t i = 0; i < op->n; i++)
        if (op->results[i] == 1 && same_pattern(&op->b[i], pat))
            op->results[i] = res;
    return seen.down;
}

static int run_create(struct br_clu *c, struct acl_op *op)
{
    for (size_t i = 0; i < op->n; i++)
        op->results[i] =
            znode_name_ok(op->b[i].name) && br_clu_acl_type_name(op->b[i].resource_type)
                ? 1 /* (to do) */
                : -EINVAL;
    bool down = false;
    for (size_t i = 0; i < op->n; i++)
        if (op->results[i] == 1)
            down = down || create_pattern(c, op, &op->b[i]);
    for (size_t i = 0; i < op->n; i++)
        if (op->results[i] == 1) /* (ZooKeeper away: not tried, each would wait for it) */
            op->results[i] = -EAGAIN;
    return 0;
}

/* Deletes the matching entries of one document. 0 or -errno; *down: ZooKeeper did not
 * answer. */
static int delete_in(struct br_clu *c, struct acl_op *op, const struct br_clu_acl *pat, bool *down)
{
    int res = -EAGAIN;
    struct acc a = {0}, keep = {0};
    int *hit = NULL;
    struct doc_seen seen = {false, NULL, 0, NULL, 0, false};
    for (int t = 0; t < WRITE_TRIES; t++) {
        acc_free(&a);
        acc_free(&keep);
        free(hit);
        hit = NULL;
        seen.known = false;
        int32_t version;
        bool readable;
        int rc =
            read_doc(c, pat->resource_type, pat->pattern_type, pat->name, &a, &version, &readable);
        if (rc != ZOK) {
            seen.down = br_clu__transient(rc);
            res = zk_result(rc);
            break;
        }
        seen = (struct doc_seen){!a.err, a.v, a.n, a.closed, a.nclosed, false};
        if (!readable || a.err) {
            res = readable ? a.err : 0; /* (unreadable: left alone, logged) */
            break;
        }
        if (a.n > 0 && !(hit = malloc(a.n * sizeof *hit))) {
            res = -ENOMEM;
            break;
        }
        size_t nhit = 0;
        for (size_t i = 0; i < a.n; i++) {
            hit[i] = op->match(op->arg, &a.v[i]);
            if (hit[i] >= 0)
                nhit++;
            else
                acc_add(&keep, pat->resource_type, pat->pattern_type, pat->name, a.v[i].principal,
                        a.v[i].host, a.v[i].operation, a.v[i].permission);
        }
        if (nhit == 0) {
            res = 0; /* (nothing, or no more: an earlier ambiguous try's work) */
            break;
        }
        if (keep.err) {
            res = keep.err;
            break;
        }
        rc = write_doc(c, pat, keep.v, keep.n, version);
        if (rc == ZOK) {
            for (size_t i = 0; i < a.n; i++)
                if (hit[i] >= 0)
                    op->deleted(op->arg, hit[i], &a.v[i]);
            seen = (struct doc_seen){true, keep.v, keep.n, NULL, 0, false};
            res = 0;
            break;
        }
        if (!raced(rc)) {
            seen.down = br_clu__transient(rc);
            seen.known = !seen.down; /* (ambiguous when transient, as in create_pattern) */
            res = zk_result(rc);
            break;
        }
    }
    int nrc = end_pattern(c, pat, &seen);
    if (res == 0)
        res = nrc;
    *down = seen.down;
    free(hit);
    acc_free(&a);
    acc_free(&keep);
    return res;
}

/* The candidate patterns (this broker's set, which follows ZooKeeper, as Kafka's deleteAcls
 * takes them from its cache); each one's document is read, matched and written. */
static int run_delete(struct br_clu *c, struct acl_op *op)
{
    int res = 0;
    for (size_t i = 0; i < op->npats; i++) {
        const struct br_clu_acl *pat = &op->pats[i];
        if (!znode_name_ok(pat->name) || !br_clu_acl_type_name(pat->resource_type))
            continue; /* (not one ZooKeeper can hold) */
        bool down = false;
        int rc = delete_in(c, op, pat, &down);
        if (rc < 0 && (res == 0 || res == -EAGAIN))
            res = rc; /* (the others are still tried: each is its own write) */
        if (down)
            break; /* (ZooKeeper away: each would wait for it; the client retries) */
    }
    return res;
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

int br_clu_acl_delete(struct br_clu *c, const struct br_clu_acl *pats, size_t npats,
                      int (*match)(void *arg, const struct br_clu_acl *b),
                      void (*deleted)(void *arg, int filter, const struct br_clu_acl *b), void *arg)
{
    struct acl_op op = {
        .del = true, .pats = pats, .npats = npats, .match = match, .deleted = deleted, .arg = arg};
    struct clu_req r = {.kind = REQ_ACL, .acl = &op};
    return br_clu__submit(c, &r);
}
