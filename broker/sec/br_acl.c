/*
 * br_acl — the ACL set, decisions and changes (br_acl.h). The file is br_acl_store.c.
 *
 * A set is immutable once built: its bindings sorted and without duplicates, their strings
 * in one pool, grouped by resource pattern (type, pattern type, name), and a hash table from
 * pattern to group. A decision for (type T, name R) probes the table for LITERAL R, LITERAL
 * "*", and PREFIXED R[0, l) for each distinct length l of T's PREFIXED names (usually a
 * handful), then walks those groups' bindings. A change builds a whole new set beside the
 * live one, writes the file from it, and swaps it in under the write lock; the generation
 * then moves, which empties every connection's decision cache at its next use.
 */
#include "br_acl_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "br_cred.h" /* BR_SECURITY_DIR */

/* ---- validation and filters (Kafka's rules) ---------------------------------------------- */

static bool known_type(int8_t t) { return t >= KP_ACL_RESOURCE_TOPIC && t <= KP_ACL_RESOURCE_USER; }
static bool known_op(int8_t o) { return o >= KP_ACL_OP_ALL && o <= KP_ACL_OP_DESCRIBE_TOKENS; }

static bool str_is(struct kp_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == (int32_t)n && memcmp(s.ptr, lit, n) == 0;
}

static bool str_eq(struct kp_str a, struct kp_str b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

int br_acl_validate(const struct br_acl_binding *b, const char **why)
{
    const char *w = NULL;
    if (!known_type(b->resource_type))
        w = "Invalid resourceType";
    else if (b->pattern_type != KP_ACL_PATTERN_LITERAL &&
             b->pattern_type != KP_ACL_PATTERN_PREFIXED)
        w = "Invalid patternType";
    else if (!known_op(b->operation))
        w = "Invalid operation";
    else if (b->permission != KP_ACL_PERM_ALLOW && b->permission != KP_ACL_PERM_DENY)
        w = "Invalid permissionType";
    else if (b->name.len <= 0)
        w = "Invalid empty resource name";
    else if (b->name.len > INT16_MAX || b->principal.len > INT16_MAX || b->host.len > INT16_MAX)
        w = "Resource name, principal or host longer than 32767 bytes";
    else if (b->resource_type == KP_ACL_RESOURCE_CLUSTER && !str_is(b->name, BR_ACL_CLUSTER))
        w = "The only valid name for the CLUSTER resource is kafka-cluster";
    else if (b->principal.len <= 0 || !memchr(b->principal.ptr, ':', (size_t)b->principal.len) ||
             b->principal.ptr[0] == ':' || b->principal.ptr[b->principal.len - 1] == ':')
        w = "Invalid principal: expected a string in format principalType:principalName";
    else if (b->host.len <= 0)
        w = "Invalid empty host";
    else if (memchr(b->name.ptr, 0, (size_t)b->name.len) ||
             memchr(b->principal.ptr, 0, (size_t)b->principal.len) ||
             memchr(b->host.ptr, 0, (size_t)b->host.len))
        w = "Resource name, principal or host contains a NUL character";
    if (why)
        *why = w;
    return w ? -EINVAL : 0;
}

int br_acl_filter_validate(const struct kp_acl_filter *f, const char **why)
{
    /* Kafka maps codes it does not know to UNKNOWN, and refuses UNKNOWN in a filter. */
    const char *w = NULL;
    if (f->resource_type != KP_ACL_RESOURCE_ANY && !known_type(f->resource_type))
        w = "Unknown patternFilter.";
    else if (f->pattern_type < KP_ACL_PATTERN_ANY || f->pattern_type > KP_ACL_PATTERN_PREFIXED)
        w = "Unknown patternFilter.";
    else if (f->operation != KP_ACL_OP_ANY && !known_op(f->operation))
        w = "Unknown entryFilter.";
    else if (f->permission_type < KP_ACL_PERM_ANY || f->permission_type > KP_ACL_PERM_ALLOW)
        w = "Unknown entryFilter.";
    if (why)
        *why = w;
    return w ? -EINVAL : 0;
}

bool br_acl_filter_matches(const struct kp_acl_filter *f, const struct br_acl_binding *b)
{
    /* ResourcePatternFilter.matches */
    if (f->resource_type != KP_ACL_RESOURCE_ANY && f->resource_type != b->resource_type)
        return false;
    bool any = f->pattern_type == KP_ACL_PATTERN_ANY,
         match = f->pattern_type == KP_ACL_PATTERN_MATCH;
    if (!any && !match && f->pattern_type != b->pattern_type)
        return false;
    if (f->resource_name.len >= 0) {
        if (any || f->pattern_type == b->pattern_type) {
            if (!str_eq(f->resource_name, b->name))
                return false;
        } else if (b->pattern_type == KP_ACL_PATTERN_LITERAL) {
            if (!str_eq(f->resource_name, b->name) && !str_is(b->name, BR_ACL_WILDCARD))
                return false;
        } else { /* PREFIXED: the filter's name starts with the pattern */
            if (f->resource_name.len < b->name.len ||
                memcmp(f->resource_name.ptr, b->name.ptr, (size_t)b->name.len) != 0)
                return false;
        }
    }
    /* AccessControlEntryFilter.matches */
    if (f->principal.len >= 0 && !str_eq(f->principal, b->principal))
        return false;
    if (f->host.len >= 0 && !str_eq(f->host, b->host))
        return false;
    if (f->operation != KP_ACL_OP_ANY && f->operation != b->operation)
        return false;
    return f->permission_type == KP_ACL_PERM_ANY || f->permission_type == b->permission;
}

/* ---- sets -------------------------------------------------------------------------------- */

struct grp {
    uint32_t first, count; /* bindings [first, first + count) of the set */
    uint64_t hash;
};

struct set {
    struct br__acl *v; /* sorted, no duplicates */
    size_t n;
    char *pool;
    size_t bytes; /* of strings */
    struct grp *g;
    size_t ng;
    uint32_t *ht; /* 1 + index into g; 0 empty; capacity htcap (a power of two) */
    size_t htcap;
    uint16_t *plen[8]; /* per resource type: distinct lengths of PREFIXED names, ascending */
    size_t nplen[8];
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t pattern_hash(int8_t type, int8_t pattern, const char *name, size_t len)
{
    uint8_t k[2] = {(uint8_t)type, (uint8_t)pattern};
    return fnv(fnv(0xcbf29ce484222325ull, k, 2), name, len);
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : al == bl ? 0 : al < bl ? -1 : 1;
}

static int cmp_acl(const void *pa, const void *pb)
{
    const struct br__acl *a = pa, *b = pb;
    if (a->type != b->type)
        return a->type - b->type;
    if (a->pattern != b->pattern)
        return a->pattern - b->pattern;
    int c = cmp_bytes(a->name, a->name_len, b->name, b->name_len);
    if (!c)
        c = cmp_bytes(a->principal, a->principal_len, b->principal, b->principal_len);
    if (!c)
        c = cmp_bytes(a->host, a->host_len, b->host, b->host_len);
    if (!c)
        c = a->op != b->op ? a->op - b->op : a->perm - b->perm;
    return c;
}

static bool same_pattern(const struct br__acl *a, const struct br__acl *b)
{
    return a->type == b->type && a->pattern == b->pattern && a->name_len == b->name_len &&
           memcmp(a->name, b->name, a->name_len) == 0;
}

static void set_free(struct set *s)
{
    if (!s)
        return;
    free(s->v);
    free(s->pool);
    free(s->g);
    free(s->ht);
    for (int t = 0; t < 8; t++)
        free(s->plen[t]);
    free(s);
}

static struct br_acl_binding view_of(const struct br__acl *a)
{
    return (struct br_acl_binding){a->type,
                                   {a->name, a->name_len},
                                   a->pattern,
                                   {a->principal, a->principal_len},
                                   {a->host, a->host_len},
                                   a->op,
                                   a->perm};
}

/* A set of the n bindings (already valid), copying their strings. -ENOSPC past the bounds. */
static int set_build(const struct br_acl_binding *b, size_t n, struct set **out)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += (size_t)b[i].name.len + (size_t)b[i].principal.len + (size_t)b[i].host.len;
    if (n > BR_ACL_MAX || bytes > BR_ACL_BYTES_MAX)
        return -ENOSPC;
    struct set *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->v = malloc((n ? n : 1) * sizeof *s->v);
    s->pool = malloc(bytes + 3 * n + 1);
    if (!s->v || !s->pool) {
        set_free(s);
        return -ENOMEM;
    }
    char *p = s->pool;
    for (size_t i = 0; i < n; i++) {
        struct br__acl *a = &s->v[i];
        a->type = b[i].resource_type;
        a->pattern = b[i].pattern_type;
        a->op = b[i].operation;
        a->perm = b[i].permission;
        const struct kp_str *src[3] = {&b[i].name, &b[i].principal, &b[i].host};
        const char **dst[3] = {&a->name, &a->principal, &a->host};
        uint16_t *len[3] = {&a->name_len, &a->principal_len, &a->host_len};
        for (int k = 0; k < 3; k++) {
            memcpy(p, src[k]->ptr, (size_t)src[k]->len);
            p[src[k]->len] = '\0';
            *dst[k] = p;
            *len[k] = (uint16_t)src[k]->len;
            p += src[k]->len + 1;
        }
    }
    qsort(s->v, n, sizeof *s->v, cmp_acl);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || cmp_acl(&s->v[m - 1], &s->v[i]) != 0)
            s->v[m++] = s->v[i];
    s->n = m;
    s->bytes = bytes;

    s->g = malloc((m ? m : 1) * sizeof *s->g);
    s->htcap = 16;
    while (s->htcap < 2 * m)
        s->htcap *= 2;
    s->ht = calloc(s->htcap, sizeof *s->ht);
    if (!s->g || !s->ht) {
        set_free(s);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m; i++) {
        if (s->ng > 0 && same_pattern(&s->v[s->g[s->ng - 1].first], &s->v[i])) {
            s->g[s->ng - 1].count++;
            continue;
        }
        const struct br__acl *a = &s->v[i];
        uint64_t h = pattern_hash(a->type, a->pattern, a->name, a->name_len);
        s->g[s->ng] = (struct grp){(uint32_t)i, 1, h};
        size_t at = h & (s->htcap - 1);
        while (s->ht[at])
            at = (at + 1) & (s->htcap - 1);
        s->ht[at] = (uint32_t)s->ng + 1;
        s->ng++;
        if (a->pattern == KP_ACL_PATTERN_PREFIXED) {
            int t = a->type & 7;
            size_t k = 0;
            while (k < s->nplen[t] && s->plen[t][k] < a->name_len)
                k++;
            if (k < s->nplen[t] && s->plen[t][k] == a->name_len)
                continue;
            uint16_t *np = realloc(s->plen[t], (s->nplen[t] + 1) * sizeof *np);
            if (!np) {
                set_free(s);
                return -ENOMEM;
            }
            memmove(np + k + 1, np + k, (s->nplen[t] - k) * sizeof *np);
            np[k] = a->name_len;
            s->plen[t] = np;
            s->nplen[t]++;
        }
    }
    *out = s;
    return 0;
}

static const struct grp *find_group(const struct set *s, int8_t type, int8_t pattern,
                                    const char *name, size_t len)
{
    uint64_t h = pattern_hash(type, pattern, name, len);
    for (size_t at = h & (s->htcap - 1); s->ht[at]; at = (at + 1) & (s->htcap - 1)) {
        const struct grp *g = &s->g[s->ht[at] - 1];
        const struct br__acl *a = &s->v[g->first];
        if (g->hash == h && a->type == type && a->pattern == pattern && a->name_len == len &&
            memcmp(a->name, name, len) == 0)
            return g;
    }
    return NULL;
}

/* ---- decisions --------------------------------------------------------------------------- */

enum { NO_MATCH = 0, ALLOWS, DENIES };

static bool implies(int8_t acl_op, int8_t op)
{
    if (acl_op == op)
        return true;
    if (op == KP_ACL_OP_DESCRIBE)
        return acl_op == KP_ACL_OP_READ || acl_op == KP_ACL_OP_WRITE ||
               acl_op == KP_ACL_OP_DELETE || acl_op == KP_ACL_OP_ALTER;
    if (op == KP_ACL_OP_DESCRIBE_CONFIGS)
        return acl_op == KP_ACL_OP_ALTER_CONFIGS;
    return false;
}

static bool who_matches(const struct br__acl *a, const struct br_authz_who *w)
{
    bool principal = (a->principal_len == w->principal.len &&
                      memcmp(a->principal, w->principal.ptr, a->principal_len) == 0) ||
                     (a->principal_len == 6 && memcmp(a->principal, BR_ACL_ANY_USER, 6) == 0);
    bool host = (a->host_len == 1 && a->host[0] == '*') ||
                (a->host_len == w->host.len && memcmp(a->host, w->host.ptr, a->host_len) == 0);
    return principal && host;
}

/* StandardAuthorizerData.findResult */
static int acl_result(const struct br__acl *a, const struct br_authz_who *w, int8_t op)
{
    if (!who_matches(a, w))
        return NO_MATCH;
    if (a->op != KP_ACL_OP_ALL) {
        if (a->perm == KP_ACL_PERM_ALLOW ? !implies(a->op, op) : a->op != op)
            return NO_MATCH;
    }
    return a->perm == KP_ACL_PERM_ALLOW ? ALLOWS : DENIES;
}

struct verdict {
    bool has_acls, allow, deny;
};

static void check_group(const struct set *s, const struct grp *g, const struct br_authz_who *w,
                        int8_t op, struct verdict *v)
{
    if (!g)
        return;
    v->has_acls = true;
    for (uint32_t i = 0; i < g->count && !v->deny; i++) {
        int r = acl_result(&s->v[g->first + i], w, op);
        v->allow |= r == ALLOWS;
        v->deny |= r == DENIES;
    }
}

static bool decide(const struct set *s, const struct br_authz_who *w, int8_t type, const char *name,
                   size_t len, int8_t op, bool allow_if_none)
{
    struct verdict v = {false, false, false};
    check_group(s, find_group(s, type, KP_ACL_PATTERN_LITERAL, name, len), w, op, &v);
    if (!(len == 1 && name[0] == '*'))
        check_group(s, find_group(s, type, KP_ACL_PATTERN_LITERAL, "*", 1), w, op, &v);
    if (type >= 0 && type < 8)
        for (size_t k = 0; k < s->nplen[type] && s->plen[type][k] <= len && !v.deny; k++)
            check_group(s, find_group(s, type, KP_ACL_PATTERN_PREFIXED, name, s->plen[type][k]), w,
                        op, &v);
    if (v.deny)
        return false;
    if (v.allow)
        return true;
    return !v.has_acls && allow_if_none;
}

/* ---- the authorizer ---------------------------------------------------------------------- */

struct br_authz {
    pthread_rwlock_t lock; /* the set pointer */
    pthread_mutex_t wmu;   /* serialises changes */
    struct set *set;
    _Atomic uint64_t gen;
    bool allow_if_none;
    bool no_file; /* a cluster: ZooKeeper holds the ACLs, the file is neither read nor written */
    char dir[4096];
    char **supers; /* super.users principals */
    size_t nsupers;
};

static int parse_supers(struct br_authz *a, const char *list)
{
    if (!list)
        return 0;
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *q = p;
        while (n && (*q == ' ' || *q == '\t'))
            q++, n--;
        while (n && (q[n - 1] == ' ' || q[n - 1] == '\t'))
            n--;
        if (n) {
            char **ns = realloc(a->supers, (a->nsupers + 1) * sizeof *ns);
            if (!ns)
                return -ENOMEM;
            a->supers = ns;
            if (!(ns[a->nsupers] = strndup(q, n)))
                return -ENOMEM;
            a->nsupers++;
        }
        p = e ? e + 1 : p + strlen(p);
    }
    return 0;
}

void br_authz_close(struct br_authz *a)
{
    if (!a)
        return;
    set_free(a->set);
    for (size_t i = 0; i < a->nsupers; i++)
        free(a->supers[i]);
    free(a->supers);
    pthread_rwlock_destroy(&a->lock);
    pthread_mutex_destroy(&a->wmu);
    free(a);
}

int br_authz_open(const struct br_authz_conf *conf, struct br_authz **out)
{
    struct br_authz *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    pthread_rwlock_init(&a->lock, NULL);
    pthread_mutex_init(&a->wmu, NULL);
    atomic_init(&a->gen, 1);
    a->allow_if_none = conf->allow_everyone_if_no_acl;
    a->no_file = conf->no_file;
    int rc = parse_supers(a, conf->super_users);
    if (!rc && snprintf(a->dir, sizeof a->dir, "%s/%s", conf->data_dir, BR_SECURITY_DIR) >=
                   (int)sizeof a->dir)
        rc = -ENAMETOOLONG;
    if (!rc && mkdir(a->dir, 0700) != 0 && errno != EEXIST)
        rc = -errno;
    struct br__acl_list l = {0};
    if (!rc && a->no_file) {
        char path[4200], msg[4400];
        struct stat st;
        snprintf(path, sizeof path, "%.4096s/%s", a->dir, BR_ACL_FILE);
        if (stat(path, &st) == 0 && conf->log_fn) {
            snprintf(msg, sizeof msg,
                     "%.4150s: not used in a cluster (ZooKeeper's /kafka-acl holds the ACLs): "
                     "create its ACLs again through any broker, or remove the file",
                     path);
            conf->log_fn(conf->log_arg, msg);
        }
    } else if (!rc) {
        rc = br__acl_file_read(a->dir, &l, conf->log_fn, conf->log_arg);
    }
    if (!rc)
        rc = set_build(l.v, l.n, &a->set);
    br__acl_list_free(&l);
    if (rc) {
        br_authz_close(a);
        return rc;
    }
    *out = a;
    return 0;
}

bool br_authz_is_super(const struct br_authz *a, struct kp_str principal)
{
    for (size_t i = 0; i < a->nsupers; i++)
        if (str_is(principal, a->supers[i]))
            return true;
    return false;
}

uint64_t br_authz_generation(const struct br_authz *a)
{
    return atomic_load_explicit(&((struct br_authz *)a)->gen, memory_order_acquire);
}

void br_authz_cache_init(struct br_authz_cache *c) { memset(c, 0, sizeof *c); }

bool br_authz_allowed(struct br_authz *a, const struct br_authz_who *who,
                      struct br_authz_cache *cache, int8_t type, const char *name, size_t len,
                      int8_t op)
{
    if (who->super)
        return true;
    uint64_t gen = br_authz_generation(a), h = 0;
    size_t slot = 0;
    bool cacheable = cache && len <= BR_AUTHZ_CACHE_NAME;
    if (cacheable) {
        if (cache->gen != gen) {
            memset(cache->slot, 0, sizeof cache->slot);
            cache->gen = gen;
        }
        uint8_t k[2] = {(uint8_t)type, (uint8_t)op};
        h = fnv(fnv(0xcbf29ce484222325ull, k, 2), name, len);
        slot = h % BR_AUTHZ_CACHE_SLOTS;
        if (cache->slot[slot].used && cache->slot[slot].hash == h &&
            cache->slot[slot].type == (uint8_t)type && cache->slot[slot].op == (uint8_t)op &&
            cache->slot[slot].name_len == len && memcmp(cache->slot[slot].name, name, len) == 0) {
            cache->hits++;
            return cache->slot[slot].allowed;
        }
        cache->misses++;
    }
    pthread_rwlock_rdlock(&a->lock);
    bool ok = decide(a->set, who, type, name, len, op, a->allow_if_none);
    pthread_rwlock_unlock(&a->lock);
    if (cacheable) {
        /* Stored under the generation read before deciding: a change since then moved the
         * generation, so this entry is dropped at the next use, never trusted stale. */
        cache->slot[slot].used = 1;
        cache->slot[slot].hash = h;
        cache->slot[slot].type = (uint8_t)type;
        cache->slot[slot].op = (uint8_t)op;
        cache->slot[slot].allowed = ok;
        cache->slot[slot].name_len = (uint8_t)len;
        memcpy(cache->slot[slot].name, name, len);
    }
    return ok;
}

/* Whether some prefix of s (s itself included) is one of the PREFIXED names in d. */
static bool prefix_denied(const struct br__acl *s, const struct br__acl *const *d, size_t nd)
{
    for (size_t i = 0; i < nd; i++)
        if (d[i]->pattern == KP_ACL_PATTERN_PREFIXED && d[i]->name_len <= s->name_len &&
            memcmp(d[i]->name, s->name, d[i]->name_len) == 0)
            return true;
    return false;
}

/* Authorizer.authorizeByResourceType (Kafka's default implementation). */
static bool decide_any(const struct set *s, const struct br_authz_who *w, int8_t type, int8_t op,
                       bool allow_if_none)
{
    if (decide(s, w, type, "hardcode", 8, op, allow_if_none))
        return true;
    const struct br__acl **deny = malloc((s->n ? s->n : 1) * sizeof *deny);
    const struct br__acl **allow = malloc((s->n ? s->n : 1) * sizeof *allow);
    size_t nd = 0, na = 0;
    bool wildcard_allow = false, result = false;
    if (!deny || !allow)
        goto out; /* refuse rather than guess */
    for (size_t i = 0; i < s->n; i++) {
        const struct br__acl *a = &s->v[i];
        if (a->type != type || !who_matches(a, w) || (a->op != op && a->op != KP_ACL_OP_ALL))
            continue;
        bool wild = a->pattern == KP_ACL_PATTERN_LITERAL && a->name_len == 1 && a->name[0] == '*';
        if (a->perm == KP_ACL_PERM_DENY) {
            if (wild)
                goto out;
            deny[nd++] = a;
        } else if (wild) {
            wildcard_allow = true;
        } else {
            allow[na++] = a;
        }
    }
    if (wildcard_allow) {
        result = true;
        goto out;
    }
    for (size_t i = 0; i < na && !result; i++) {
        bool dominated = false;
        if (allow[i]->pattern == KP_ACL_PATTERN_LITERAL)
            for (size_t j = 0; j < nd && !dominated; j++)
                dominated = deny[j]->pattern == KP_ACL_PATTERN_LITERAL &&
                            deny[j]->name_len == allow[i]->name_len &&
                            memcmp(deny[j]->name, allow[i]->name, allow[i]->name_len) == 0;
        if (!dominated)
            dominated = prefix_denied(allow[i], deny, nd);
        result = !dominated;
    }
out:
    free(deny);
    free(allow);
    return result;
}

bool br_authz_allowed_any(struct br_authz *a, const struct br_authz_who *who, int8_t type,
                          int8_t op)
{
    if (who->super)
        return true;
    pthread_rwlock_rdlock(&a->lock);
    bool ok = decide_any(a->set, who, type, op, a->allow_if_none);
    pthread_rwlock_unlock(&a->lock);
    return ok;
}

size_t br_authz_count(struct br_authz *a)
{
    pthread_rwlock_rdlock(&a->lock);
    size_t n = a->set->n;
    pthread_rwlock_unlock(&a->lock);
    return n;
}

bool br_authz_room(struct br_authz *a, size_t n, size_t bytes)
{
    pthread_rwlock_rdlock(&a->lock);
    bool ok = n <= BR_ACL_MAX - a->set->n && bytes <= BR_ACL_BYTES_MAX - a->set->bytes;
    pthread_rwlock_unlock(&a->lock);
    return ok;
}

void br_authz_describe(struct br_authz *a, const struct kp_acl_filter *f, br_acl_each_fn fn,
                       void *arg)
{
    pthread_rwlock_rdlock(&a->lock);
    for (size_t i = 0; i < a->set->n; i++) {
        struct br_acl_binding b = view_of(&a->set->v[i]);
        if (br_acl_filter_matches(f, &b))
            fn(arg, 0, &b);
    }
    pthread_rwlock_unlock(&a->lock);
}

/* ---- changes ----------------------------------------------------------------------------- */

/* Writes the file from ns, then swaps it in; on failure ns is freed and nothing changes.
 * Called with wmu held. */
static int install(struct br_authz *a, struct set *ns)
{
    int rc = a->no_file ? 0 : br__acl_file_write(a->dir, ns->v, ns->n);
    if (rc) {
        set_free(ns);
        return rc;
    }
    pthread_rwlock_wrlock(&a->lock);
    struct set *old = a->set;
    a->set = ns;
    atomic_fetch_add_explicit(&a->gen, 1, memory_order_release);
    pthread_rwlock_unlock(&a->lock);
    set_free(old);
    return 0;
}

int br_authz_create(struct br_authz *a, const struct br_acl_binding *b, size_t n, int *results,
                    const char **why)
{
    pthread_mutex_lock(&a->wmu);
    /* Only this thread replaces a->set, so reading it without the lock is safe here. */
    const struct set *cur = a->set;
    struct br_acl_binding *all = malloc((cur->n + n + 1) * sizeof *all);
    if (!all) {
        pthread_mutex_unlock(&a->wmu);
        return -ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < cur->n; i++)
        all[m++] = view_of(&cur->v[i]);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const char *w = NULL;
        results[i] = br_acl_validate(&b[i], &w);
        if (why)
            why[i] = w;
        if (results[i] == 0) {
            all[m++] = b[i];
            any = true;
        }
    }
    int rc = 0;
    if (any) {
        struct set *ns;
        rc = set_build(all, m, &ns);
        if (!rc && ns->n == cur->n)
            set_free(ns); /* all of them were already there: nothing to write */
        else if (!rc)
            rc = install(a, ns);
    }
    free(all);
    pthread_mutex_unlock(&a->wmu);
    return rc;
}

int br_authz_delete(struct br_authz *a, const struct kp_acl_filter *f, size_t n, br_acl_each_fn fn,
                    void *arg)
{
    pthread_mutex_lock(&a->wmu);
    const struct set *cur = a->set;
    struct br_acl_binding *keep = malloc((cur->n + 1) * sizeof *keep);
    if (!keep) {
        pthread_mutex_unlock(&a->wmu);
        return -ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < cur->n; i++) {
        struct br_acl_binding b = view_of(&cur->v[i]);
        size_t k = 0;
        while (k < n && !br_acl_filter_matches(&f[k], &b))
            k++;
        if (k == n)
            keep[m++] = b;
        else if (fn)
            fn(arg, k, &b);
    }
    int rc = 0;
    if (m != cur->n) {
        struct set *ns;
        rc = set_build(keep, m, &ns);
        if (!rc)
            rc = install(a, ns);
    }
    free(keep);
    pthread_mutex_unlock(&a->wmu);
    return rc;
}

/* ---- cluster mode: replaced from ZooKeeper ------------------------------------------------- */

static bool pattern_is(const struct br_acl_binding *x, int8_t type, int8_t pattern,
                       const char *name, size_t len)
{
    return x->resource_type == type && x->pattern_type == pattern && x->name.len == (int32_t)len &&
           memcmp(x->name.ptr, name, len) == 0;
}

static bool in_patterns(const struct br_acl_binding *pats, size_t n, int8_t type, int8_t pattern,
                        const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (pattern_is(&pats[i], type, pattern, name, len))
            return true;
    return false;
}

int br_authz_replace(struct br_authz *a, const struct br_acl_change *ch, size_t *nclosed)
{
    *nclosed = 0;
    pthread_mutex_lock(&a->wmu);
    const struct set *cur = a->set;
    size_t keep_max = ch->all ? 0 : cur->n;
    size_t cap = keep_max + ch->n + ch->nclosed + ch->n + 1;
    struct br_acl_binding *all = malloc(cap * sizeof *all);
    /* the patterns that fail closed: those given, and those of a binding Kafka would refuse */
    struct br_acl_binding *closed = malloc((ch->nclosed + ch->n + 1) * sizeof *closed);
    if (!all || !closed) {
        free(all);
        free(closed);
        pthread_mutex_unlock(&a->wmu);
        return -ENOMEM;
    }
    size_t nc = 0, m = 0;
    for (size_t i = 0; i < ch->nclosed; i++)
        closed[nc++] = ch->closed[i];
    for (size_t i = 0; i < ch->n; i++) {
        const struct br_acl_binding *b = &ch->b[i];
        if (br_acl_validate(b, NULL) != 0 &&
            !in_patterns(closed, nc, b->resource_type, b->pattern_type, b->name.ptr,
                         (size_t)(b->name.len > 0 ? b->name.len : 0)))
            closed[nc++] = *b;
    }
    for (size_t i = 0; i < keep_max; i++) {
        const struct br__acl *x = &cur->v[i];
        if (!in_patterns(ch->pats, ch->npats, x->type, x->pattern, x->name, x->name_len) &&
            !in_patterns(closed, nc, x->type, x->pattern, x->name, x->name_len))
            all[m++] = view_of(x);
    }
    for (size_t i = 0; i < ch->n; i++) {
        const struct br_acl_binding *b = &ch->b[i];
        if (!in_patterns(closed, nc, b->resource_type, b->pattern_type, b->name.ptr,
                         (size_t)(b->name.len > 0 ? b->name.len : 0)))
            all[m++] = *b;
    }
    /* FAIL CLOSED: the pattern's one binding denies everything to everyone (super users
     * excepted), so a DENY that could not be read is never an ALLOW by omission */
    for (size_t i = 0; i < nc; i++)
        all[m++] = (struct br_acl_binding){
            closed[i].resource_type, closed[i].name, closed[i].pattern_type, {BR_ACL_ANY_USER, 6},
            {BR_ACL_WILDCARD, 1},    KP_ACL_OP_ALL,  KP_ACL_PERM_DENY};
    struct set *ns;
    int rc = set_build(all, m, &ns);
    if (!rc)
        rc = install(a, ns);
    if (!rc)
        *nclosed = nc;
    free(all);
    free(closed);
    pthread_mutex_unlock(&a->wmu);
    return rc;
}
