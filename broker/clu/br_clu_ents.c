/*
 * br_clu_ents — users' and client ids' configs through ZooKeeper (br_clu_ents.h has the
 * znodes and the contract).
 *
 * WRITE (br_clu_entity_alter, on the cluster thread through br_clu__submit): read
 * /config/<entity path> and its version; merge the changes into it (br_clu_entdoc_merge: only
 * the keys given change, so a credential write keeps the user's quotas and the other way
 * round); setData at that version, or create it (its parents created empty first, as Kafka's
 * createRecursive) when there was none; BadVersion, NoNode or NodeExists (another broker
 * wrote in between) start again from the read, at most BR_CLU_ENT_TRIES times. Then the
 * sequential notification, as a topic's (br_clu_config.c). Concurrent writers of different
 * keys of one document therefore never lose each other's keys.
 *
 * READ: a notification's entity, or every entity at a resync (users, their clients, client
 * ids), each document at most BR_CLU_ENT_DOC_MAX bytes, handed to conf.entity_config.
 */
#include "br_clu_ents.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_clu_int.h"
#include "br_log.h"

#define CHANGE_PREFIX "config_change_"
#define SAN_MAX       (3 * BR_CLU_ENT_NAME_MAX + 1) /* a sanitized name: %XX per byte */
#define EPATH_MAX     BR_CLU_ENT_PATH_MAX
_Static_assert(BR_CLU_ENT_PATH_MAX >= 2 * SAN_MAX + 32, "two sanitized names and the words");

static int zk_errno(int rc) { return br_clu__transient(rc) ? -EAGAIN : -EIO; }

/* ---- names --------------------------------------------------------------------------------- */

static bool kept(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '-' || ch == '_';
}

int br_clu_sanitize(const char *name, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        size_t need = kept(ch) ? 1 : 3;
        if (n + need + 1 > cap)
            return -ENOSPC;
        if (need == 1) {
            out[n++] = (char)ch;
        } else {
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    if (n + 1 > cap)
        return -ENOSPC;
    out[n] = 0;
    return (int)n;
}

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

int br_clu_desanitize(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '%') {
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1, lo = hi >= 0 ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -EINVAL;
            ch = (char)(hi << 4 | lo);
            i += 2;
        } else if (ch == '+') {
            ch = ' ';
        }
        if (n + 2 > cap)
            return -ENOSPC;
        out[n++] = ch;
    }
    if (cap < 1)
        return -ENOSPC;
    out[n] = 0;
    return (int)n;
}

/* One part of a path: "<default>" or the sanitized name; the length or -errno. */
static int part(uint8_t kind, const char *name, size_t len, char *out, size_t cap)
{
    if (kind == BR_CLU_ENT_DEFAULT)
        return snprintf(out, cap, "%s", BR_CLU_ENT_DEFAULT_NAME) >= (int)cap
                   ? -ENOSPC
                   : (int)strlen(BR_CLU_ENT_DEFAULT_NAME);
    if (kind != BR_CLU_ENT_NAMED || len == 0 || len > BR_CLU_ENT_NAME_MAX)
        return -EINVAL;
    return br_clu_sanitize(name, len, out, cap);
}

int br_clu_entity_path(const struct br_clu_entity *e, char *out, size_t cap)
{
    char u[SAN_MAX], cl[SAN_MAX];
    int ul = 0, cll = 0;
    if (e->user_kind > BR_CLU_ENT_NAMED || e->client_kind > BR_CLU_ENT_NAMED ||
        (e->user_kind == BR_CLU_ENT_ABSENT && e->client_kind == BR_CLU_ENT_ABSENT))
        return -EINVAL;
    if (e->user_kind != BR_CLU_ENT_ABSENT &&
        (ul = part(e->user_kind, e->user, e->user_len, u, sizeof u)) < 0)
        return ul;
    if (e->client_kind != BR_CLU_ENT_ABSENT &&
        (cll = part(e->client_kind, e->client, e->client_len, cl, sizeof cl)) < 0)
        return cll;
    int n = e->user_kind == BR_CLU_ENT_ABSENT ? snprintf(out, cap, "clients/%s", cl)
            : e->client_kind == BR_CLU_ENT_ABSENT
                ? snprintf(out, cap, "users/%s", u)
                : snprintf(out, cap, "users/%s/clients/%s", u, cl);
    return n < 0 || n >= (int)cap ? -ENOSPC : n;
}

/* One part of a path back: kind and name (desanitized into *at, advanced). */
static int unpart(const char *s, size_t len, uint8_t *kind, const char **name, size_t *nlen,
                  char **at, size_t *left)
{
    if (len == 0 || memchr(s, '/', len))
        return -EINVAL;
    if (len == strlen(BR_CLU_ENT_DEFAULT_NAME) && memcmp(s, BR_CLU_ENT_DEFAULT_NAME, len) == 0) {
        *kind = BR_CLU_ENT_DEFAULT;
        *name = "";
        *nlen = 0;
        return 0;
    }
    int n = br_clu_desanitize(s, len, *at, *left);
    if (n < 0)
        return n;
    if (n == 0 || n > BR_CLU_ENT_NAME_MAX)
        return -EINVAL;
    *kind = BR_CLU_ENT_NAMED;
    *name = *at;
    *nlen = (size_t)n;
    *at += n + 1;
    *left -= (size_t)n + 1;
    return 0;
}

int br_clu_entity_parse(const char *path, struct br_clu_entity *e, char *names, size_t cap)
{
    memset(e, 0, sizeof *e);
    e->user = e->client = "";
    size_t left = cap;
    char *at = names;
    if (strncmp(path, "clients/", 8) == 0)
        return unpart(path + 8, strlen(path + 8), &e->client_kind, &e->client, &e->client_len, &at,
                      &left);
    if (strncmp(path, "users/", 6) != 0)
        return -EINVAL;
    const char *u = path + 6, *slash = strchr(u, '/');
    int rc = unpart(u, slash ? (size_t)(slash - u) : strlen(u), &e->user_kind, &e->user,
                    &e->user_len, &at, &left);
    if (rc < 0 || !slash)
        return rc;
    if (strncmp(slash, "/clients/", 9) != 0)
        return -EINVAL;
    return unpart(slash + 9, strlen(slash + 9), &e->client_kind, &e->client, &e->client_len, &at,
                  &left);
}

/* ---- documents ----------------------------------------------------------------------------- */

struct kvlist {
    struct br_clu_ekv *v;
    int n, cap;
    bool oom;
};

static void kvlist_free(struct kvlist *l)
{
    for (int i = 0; i < l->n; i++) {
        free((char *)l->v[i].key);
        free((char *)l->v[i].val);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int kv_collect(void *ctx, const char *key, const char *val)
{
    struct kvlist *l = ctx;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        struct br_clu_ekv *nv = realloc(l->v, (size_t)cap * sizeof *nv);
        if (!nv) {
            l->oom = true;
            return -ENOMEM;
        }
        l->v = nv;
        l->cap = cap;
    }
    char *k = strdup(key), *v = strdup(val);
    if (!k || !v) {
        free(k);
        free(v);
        l->oom = true;
        return -ENOMEM;
    }
    l->v[l->n++] = (struct br_clu_ekv){k, v};
    return 0;
}

/* The key/values of a document (len 0: none); 0, -EINVAL, -ENOMEM. */
static int doc_parse(const char *doc, size_t len, struct kvlist *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return 0;
    int rc = br_clu_json_config_each(doc, len, kv_collect, out);
    if (rc < 0) {
        bool oom = out->oom;
        kvlist_free(out);
        return oom ? -ENOMEM : -EINVAL;
    }
    return 0;
}

int br_clu_entdoc_merge(const char *doc, size_t len, const struct br_clu_ekv *ch, int n, char *out,
                        size_t cap)
{
    struct kvlist old;
    int rc = doc_parse(doc, len, &old);
    if (rc < 0)
        return rc;
    struct br_clu_kv *kv = calloc((size_t)old.n + (size_t)n + 1, sizeof *kv);
    bool *used = calloc((size_t)n + 1, sizeof *used);
    int m = 0;
    if (!kv || !used) {
        rc = -ENOMEM;
        goto out;
    }
    for (int i = 0; i < n; i++)
        if (strlen(ch[i].key) > 127 || (ch[i].val && strlen(ch[i].val) > 1023)) {
            rc = -EINVAL; /* (br_clu_json_config_each could not read it back) */
            goto out;
        }
    for (int i = 0; i < old.n; i++) {
        const char *val = old.v[i].val;
        for (int k = n - 1; k >= 0; k--) /* (the last change of a key wins) */
            if (strcmp(ch[k].key, old.v[i].key) == 0) {
                val = ch[k].val;
                break;
            }
        for (int k = 0; k < n; k++)
            if (strcmp(ch[k].key, old.v[i].key) == 0)
                used[k] = true;
        if (val)
            kv[m++] = (struct br_clu_kv){old.v[i].key, val, strlen(old.v[i].key), strlen(val)};
    }
    for (int k = n - 1; k >= 0; k--) {
        bool later = false; /* a later change of the same key was taken */
        for (int j = k + 1; j < n && !later; j++)
            later = strcmp(ch[j].key, ch[k].key) == 0;
        if (used[k] || later || !ch[k].val)
            continue;
        kv[m++] = (struct br_clu_kv){ch[k].key, ch[k].val, strlen(ch[k].key), strlen(ch[k].val)};
    }
    rc = br_clu_json_config_enc(out, cap, kv, m);
    if (rc < 0 || (size_t)rc >= cap)
        rc = -ENOSPC;
out:
    free(kv);
    free(used);
    kvlist_free(&old);
    return rc;
}

/* ---- the write (cluster thread) ------------------------------------------------------------ */

static int notify(struct br_clu *c, const char *epath)
{
    char json[EPATH_MAX + 64];
    int jl = br_clu_json_change_enc(json, sizeof json, epath);
    if (jl < 0)
        return ZBADARGUMENTS;
    return br_clu__note_write(c, c->p_changes, CHANGE_PREFIX, json, jl, NULL, 0);
}

/* /config/<epath>: the full path; false when too long. */
static bool full_path(const struct br_clu *c, const char *epath, char *out, size_t cap)
{
    return snprintf(out, cap, "%s/config/%s", c->chroot, epath) < (int)cap;
}

/* The document just written (doc, len bytes) made this broker's at once, on the cluster
 * thread: in order with the notifications it processes, so an older write can never be applied
 * over a newer document read from a notification (the admin thread applying it after
 * br_clu__submit returned could). */
static void apply_local(struct br_clu *c, const struct br_clu_entity *e, const char *doc,
                        size_t len)
{
    if (!c->conf.entity_config)
        return;
    struct kvlist kv;
    if (doc_parse(doc, len, &kv) < 0) { /* (it was just encoded: only out of memory) */
        br_err("cluster: out of memory applying a user's or client id's configs here: the "
               "change notification applies them");
        return;
    }
    struct br_clu_entdoc d = {*e, kv.v, kv.n};
    c->conf.entity_config(c->conf.entity_arg, &d, 1, BR_CLU_ENTS_CHANGED);
    kvlist_free(&kv);
}

int br_clu__ent_write(struct br_clu *c, const struct br_clu_entity *e, const struct br_clu_ekv *ch,
                      int n, bool only_new)
{
    char epath[EPATH_MAX], path[EPATH_MAX + PATH_MAX_LEN];
    if (br_clu_entity_path(e, epath, sizeof epath) < 0 || !full_path(c, epath, path, sizeof path))
        return -EINVAL;
    char *cur = malloc(BR_CLU_ENT_DOC_MAX), *next = malloc(BR_CLU_ENT_DOC_MAX);
    int rc = -EAGAIN;
    if (!cur || !next) {
        rc = -ENOMEM;
        goto out;
    }
    for (int t = 0; t < BR_CLU_ENT_TRIES; t++) {
        int l = BR_CLU_ENT_DOC_MAX - 1;
        struct Stat st;
        memset(&st, 0, sizeof st);
        int zr = zoo_get(c->zh, path, 0, cur, &l, &st);
        bool exists = zr == ZOK;
        if (zr != ZOK && zr != ZNONODE) {
            rc = zk_errno(zr);
            goto out;
        }
        if (exists && l >= 0 && st.dataLength > l) { /* (l -1: no data, Kafka's parents) */
            br_warn_limited("cluster: %s is larger than %d bytes: not changed", path,
                            BR_CLU_ENT_DOC_MAX);
            rc = -ENOSPC;
            goto out;
        }
        if (exists && only_new) {
            rc = -EEXIST;
            goto out;
        }
        size_t len = exists && l > 0 ? (size_t)l : 0;
        int nl = br_clu_entdoc_merge(cur, len, ch, n, next, BR_CLU_ENT_DOC_MAX);
        if (nl < 0) {
            if (nl == -EINVAL && len > 0)
                br_warn_limited("cluster: %s is not a config document: not overwritten", path);
            rc = nl == -EINVAL && len > 0 ? -EIO : nl;
            goto out;
        }
        if (exists) {
            zr = zoo_set(c->zh, path, next, nl, st.version);
        } else {
            char *slash = strrchr(path, '/');
            *slash = 0;
            zr = br_clu__ensure_path(c, path);
            *slash = '/';
            if (zr == ZOK)
                zr = zoo_create(c->zh, path, next, nl, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        }
        if (zr == ZNODEEXISTS && only_new) {
            rc = -EEXIST;
            goto out;
        }
        if (zr == ZBADVERSION || zr == ZNODEEXISTS || zr == ZNONODE)
            continue; /* (another writer in between: read again) */
        if (zr != ZOK) {
            rc = zk_errno(zr);
            goto out;
        }
        apply_local(c, e, next, (size_t)nl); /* (ZooKeeper has it: the truth, notified or not) */
        zr = notify(c, epath);
        if (zr != ZOK) {
            /* (written: the others see it at their next resync; the client is told and may
             * retry, which writes the same again) */
            br_warn("cluster: %s written, but not its change notification: %s", path, zerror(zr));
            rc = zk_errno(zr);
            goto out;
        }
        br_info("cluster: configs of %s written", epath);
        rc = 0;
        goto out;
    }
    br_warn("cluster: %s changed under every one of %d writes: given up", path, BR_CLU_ENT_TRIES);
out:
    free(cur);
    free(next);
    return rc;
}

int br_clu_entity_alter(struct br_clu *c, const struct br_clu_entity *e,
                        const struct br_clu_ekv *changes, int n)
{
    struct clu_req r = {.kind = REQ_CFG_SET, .ent = e, .ekv = changes, .nekv = n};
    return br_clu__submit(c, &r);
}

int br_clu_entity_create(struct br_clu *c, const struct br_clu_entity *e,
                         const struct br_clu_ekv *kv, int n)
{
    struct clu_req r = {.kind = REQ_CFG_SET, .ent = e, .ekv = kv, .nekv = n, .ent_new = true};
    return br_clu__submit(c, &r);
}

/* ---- reading (cluster thread, or the starting thread in br_clu_open) ----------------------- */

/* One entity's document, loaded for entity_config. */
struct edoc {
    struct br_clu_entdoc d;
    struct kvlist kv;
    char *names;
};

struct edocs {
    struct edoc *v;
    size_t n, cap;
    size_t bytes; /* of the documents read, at most BR_CLU_ENT_READ_MAX */
    bool full;    /* BR_CLU_ENT_MAX or BR_CLU_ENT_READ_MAX reached */
};

static void edocs_free(struct edocs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        kvlist_free(&l->v[i].kv);
        free(l->v[i].names);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Reads /config/<epath> into a new entry of l: ZOK (also when it is left out: not an entity
 * path, or l is full), or a ZooKeeper code (ZSYSTEMERROR: out of memory). A document too
 * large or that does not parse is an entry without configs (fail closed: the entity's
 * credentials go, its quotas are the defaults). */
static int load(struct br_clu *c, const char *epath, struct edocs *l)
{
    if (l->n >= BR_CLU_ENT_MAX || l->bytes >= BR_CLU_ENT_READ_MAX) {
        if (!l->full)
            br_warn("cluster: more than %d user and client-id entities (or %d MiB of them) in "
                    "ZooKeeper: the rest are left out",
                    BR_CLU_ENT_MAX, BR_CLU_ENT_READ_MAX >> 20);
        l->full = true;
        return ZOK;
    }
    char path[EPATH_MAX + PATH_MAX_LEN];
    if (!full_path(c, epath, path, sizeof path))
        return ZOK;
    struct edoc x;
    memset(&x, 0, sizeof x);
    x.names = malloc(2 * BR_CLU_ENT_NAME_MAX + 4);
    if (!x.names || br_clu_entity_parse(epath, &x.d.e, x.names, 2 * BR_CLU_ENT_NAME_MAX + 4) < 0) {
        if (x.names)
            br_warn_limited("cluster: %s does not name a user or client id: left out", path);
        free(x.names);
        return ZOK;
    }
    int l_ = BR_CLU_ENT_DOC_MAX - 1;
    struct Stat st;
    memset(&st, 0, sizeof st);
    int rc = zoo_get(c->zh, path, 0, c->big, &l_, &st);
    if (rc == ZNONODE) {
        l_ = 0; /* (deleted: no settings) */
    } else if (rc != ZOK) {
        free(x.names);
        return rc;
    } else if (l_ >= 0 && st.dataLength > l_) { /* (l_ -1: no data) */
        br_warn_limited("cluster: %s is larger than %d bytes: read as no configs (its "
                        "credentials removed here, its quotas the defaults)",
                        path, BR_CLU_ENT_DOC_MAX);
        l_ = 0; /* (fail closed, the same at a notification, a resync and a start) */
    }
    int prc = doc_parse(c->big, l_ > 0 ? (size_t)l_ : 0, &x.kv);
    if (prc == -ENOMEM) {
        free(x.names);
        return ZSYSTEMERROR;
    }
    if (prc < 0) {
        br_warn_limited("cluster: %s is not a config document: read as no configs (its "
                        "credentials removed here, its quotas the defaults)",
                        path);
        memset(&x.kv, 0, sizeof x.kv);
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct edoc *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) {
            kvlist_free(&x.kv);
            free(x.names);
            return ZSYSTEMERROR;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    l->bytes += (size_t)(l_ > 0 ? l_ : 0) + 64;
    return ZOK;
}

static void tell(struct br_clu *c, struct edocs *l, enum br_clu_ent_scope scope)
{
    struct br_clu_entdoc *d = calloc(l->n ? l->n : 1, sizeof *d);
    if (!d) {
        br_err("cluster: out of memory for the users' and client ids' configs");
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        d[i] = l->v[i].d;
        d[i].kv = l->v[i].kv.v;
        d[i].nkv = l->v[i].kv.n;
    }
    c->conf.entity_config(c->conf.entity_arg, d, l->n, scope);
    free(d);
}

int br_clu__ent_changed(struct br_clu *c, const char *epath)
{
    if (!c->conf.entity_config)
        return ZOK;
    struct edocs l = {0};
    int rc = load(c, epath, &l);
    if (rc == ZOK && l.n == 1)
        tell(c, &l, BR_CLU_ENTS_CHANGED);
    edocs_free(&l);
    return rc;
}

/* The children of path (ZNONODE: none). */
static int kids_of(struct br_clu *c, const char *path, struct String_vector *out)
{
    memset(out, 0, sizeof *out);
    int rc = zoo_get_children(c->zh, path, 0, out);
    return rc == ZNONODE ? ZOK : rc;
}

static int read_users(struct br_clu *c, struct edocs *l)
{
    char path[PATH_MAX_LEN + 32], epath[EPATH_MAX], sub[EPATH_MAX + PATH_MAX_LEN];
    snprintf(path, sizeof path, "%s/config/users", c->chroot);
    struct String_vector users;
    int rc = kids_of(c, path, &users);
    for (int i = 0; rc == ZOK && i < users.count && !l->full; i++) {
        if (snprintf(epath, sizeof epath, "users/%s", users.data[i]) >= (int)sizeof epath)
            continue;
        if ((rc = load(c, epath, l)) != ZOK)
            break;
        if (!full_path(c, epath, sub, sizeof sub) || strlen(sub) + 9 >= sizeof sub)
            continue;
        strcat(sub, "/clients");
        struct String_vector clients;
        rc = kids_of(c, sub, &clients);
        for (int k = 0; rc == ZOK && k < clients.count && !l->full; k++) {
            char ep[EPATH_MAX];
            if (snprintf(ep, sizeof ep, "%s/clients/%s", epath, clients.data[k]) < (int)sizeof ep)
                rc = load(c, ep, l);
        }
        deallocate_String_vector(&clients);
    }
    deallocate_String_vector(&users);
    return rc;
}

static int read_clients(struct br_clu *c, struct edocs *l)
{
    char path[PATH_MAX_LEN + 32], epath[EPATH_MAX];
    snprintf(path, sizeof path, "%s/config/clients", c->chroot);
    struct String_vector clients;
    int rc = kids_of(c, path, &clients);
    for (int i = 0; rc == ZOK && i < clients.count && !l->full; i++)
        if (snprintf(epath, sizeof epath, "clients/%s", clients.data[i]) < (int)sizeof epath)
            rc = load(c, epath, l);
    deallocate_String_vector(&clients);
    return rc;
}

int br_clu__ent_resync(struct br_clu *c, bool start)
{
    if (!c->conf.entity_config)
        return ZOK;
    struct edocs l = {0};
    int rc = read_users(c, &l);
    if (rc == ZOK)
        rc = read_clients(c, &l);
    if (rc == ZOK) {
        tell(c, &l, start ? BR_CLU_ENTS_START : BR_CLU_ENTS_ALL);
        br_info("cluster: users' and client ids' configs read from ZooKeeper (%zu entit%s)", l.n,
                l.n == 1 ? "y" : "ies");
    }
    edocs_free(&l);
    return rc;
}
