/*
 * br_quota — client quotas (br_quota.h): rates, settings and their resolution, sensors,
 * enforcement. The file is br_quota_store.c.
 *
 * Settings are an immutable snapshot (entities sorted, a hash table from entity to entry)
 * replaced whole on a change, with a generation counter that makes every connection resolve
 * again at its next record. Resolution (which entity gives the bound, which sensor is shared)
 * happens under the quotas' mutex, at most once per connection per change; a record locks only
 * its sensor.
 */
#include "br_quota_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "br_cred.h" /* BR_SECURITY_DIR */

static const char *const keys[BR_QUOTA_NTYPES] = {"producer_byte_rate", "consumer_byte_rate",
                                                  "request_percentage", "controller_mutation_rate"};

const char *br_quota_key(enum br_quota_type t)
{
    return (unsigned)t < BR_QUOTA_NTYPES ? keys[t] : NULL;
}

int br_quota_key_parse(const char *name, size_t len, enum br_quota_type *out)
{
    for (int t = 0; t < BR_QUOTA_NTYPES; t++) {
        if (strlen(keys[t]) == len && memcmp(keys[t], name, len) == 0) {
            *out = (enum br_quota_type)t;
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- Rate over SampledStat ------------------------------------------------------------------ */

static void sample_reset(struct br_rate_sample *s, int64_t now)
{
    s->value = 0;
    s->count = 0;
    s->start_ms = now;
    s->last_ms = now;
}

static struct br_rate_sample *current(struct br_rate *r, int64_t now)
{
    if (r->n == 0) {
        sample_reset(&r->s[0], now);
        r->n = 1;
        r->current = 0;
    }
    return &r->s[r->current];
}

/* SampledStat.purgeObsoleteSamples: samples idle for the whole span start afresh. */
static void purge(struct br_rate *r, int samples, int64_t window_ms, int64_t now)
{
    int64_t expire = (int64_t)samples * window_ms;
    for (int i = 0; i < r->n; i++)
        if (now - r->s[i].last_ms >= expire)
            sample_reset(&r->s[i], now);
}

void br_rate_record(struct br_rate *r, int samples, int64_t window_ms, double value, int64_t now)
{
    struct br_rate_sample *s = current(r, now);
    if (now - s->start_ms >= window_ms) {
        /* advance: Kafka keeps samples + 1 (one for the overlapping sample) */
        r->current = (r->current + 1) % (samples + 1);
        if (r->current >= r->n)
            r->n = r->current + 1;
        s = &r->s[r->current];
        sample_reset(s, now);
    }
    s->value += value;
    s->count++;
    s->last_ms = now;
}

int64_t br_rate_window_ms(struct br_rate *r, int samples, int64_t window_ms, int64_t now)
{
    purge(r, samples, window_ms, now);
    current(r, now); /* Kafka's oldest() makes a sample when there is none */
    int64_t oldest = r->s[0].start_ms;
    for (int i = 1; i < r->n; i++)
        if (r->s[i].start_ms < oldest)
            oldest = r->s[i].start_ms;
    int64_t elapsed = now - oldest;
    int64_t full = elapsed / window_ms, min_full = samples - 1;
    if (full < min_full)
        elapsed += (min_full - full) * window_ms;
    return elapsed > 1 ? elapsed : 1;
}

double br_rate_measure(struct br_rate *r, int samples, int64_t window_ms, int64_t now)
{
    purge(r, samples, window_ms, now);
    double total = 0;
    for (int i = 0; i < r->n; i++)
        total += r->s[i].value;
    return total / ((double)br_rate_window_ms(r, samples, window_ms, now) / 1000.0);
}

/* ---- wire entities and filters --------------------------------------------------------------- */

static bool str_is(struct kp_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == (int32_t)n && memcmp(s.ptr, lit, n) == 0;
}

int br_quota_entity_from_wire(const struct kp_quota_entity *e, int32_t n,
                              struct br_quota_entity *out, const char **why)
{
    memset(out, 0, sizeof *out);
    const char *w = NULL;
    if (n <= 0)
        w = "Invalid empty client quota entity";
    for (int32_t i = 0; !w && i < n; i++) {
        bool user = str_is(e[i].entity_type, "user"),
             client = str_is(e[i].entity_type, "client-id");
        if (str_is(e[i].entity_type, "ip")) {
            if (why)
                *why = "ip quotas (connection_creation_rate) are not supported";
            return -EOPNOTSUPP;
        }
        uint8_t *kind = user ? &out->user_kind : client ? &out->client_kind : NULL;
        struct kp_str *name = user ? &out->user : &out->client;
        if (!kind)
            w = "Unhandled client quota entity type";
        else if (*kind != BR_QE_ABSENT)
            w = "Invalid client quota entity, duplicate entity entry";
        else if (e[i].entity_name.len == 0)
            w = user ? "Empty user not supported" : "Empty client-id not supported";
        else if (e[i].entity_name.len > BR_QUOTA_NAME_MAX)
            w = "Entity name too long";
        else {
            *kind = e[i].entity_name.len < 0 ? BR_QE_DEFAULT : BR_QE_NAMED;
            *name = e[i].entity_name;
        }
    }
    if (why)
        *why = w;
    return w ? -EINVAL : 0;
}

int br_quota_filter_from_wire(const struct kp_quota_filter_component *c, int32_t n, bool strict,
                              struct br_quota_filter *out, const char **why)
{
    memset(out, 0, sizeof *out);
    out->strict = strict;
    const char *w = NULL;
    for (int32_t i = 0; !w && i < n; i++) {
        bool user = str_is(c[i].entity_type, "user"),
             client = str_is(c[i].entity_type, "client-id");
        uint8_t *m = user ? &out->user : client ? &out->client : NULL;
        struct kp_str *name = user ? &out->user_name : &out->client_name;
        if (c[i].entity_type.len <= 0)
            w = "Invalid empty entity type.";
        else if (str_is(c[i].entity_type, "ip")) {
            if (why)
                *why = "ip quotas are not supported";
            return -EOPNOTSUPP;
        } else if (!m)
            w = "Unsupported entity type";
        else if (*m != BR_QM_NONE)
            w = "Entity type cannot appear more than once in the filter.";
        else if (c[i].match_type == KP_QUOTA_MATCH_EXACT) {
            if (c[i].match.len < 0)
                w = "Request specified MATCH_TYPE_EXACT, but set match string to null.";
            *m = BR_QM_EXACT;
            *name = c[i].match;
        } else if (c[i].match_type == KP_QUOTA_MATCH_DEFAULT) {
            if (c[i].match.len >= 0)
                w = "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.";
            *m = BR_QM_DEFAULT;
        } else if (c[i].match_type == KP_QUOTA_MATCH_ANY) {
            if (c[i].match.len >= 0)
                w = "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.";
            *m = BR_QM_SPECIFIED;
        } else {
            w = "Unknown match type";
        }
    }
    if (why)
        *why = w;
    return w ? -EINVAL : 0;
}

/* ---- settings -------------------------------------------------------------------------------- */

struct settings {
    struct br__qlist l; /* sorted by entity */
    uint32_t *ht;       /* 1 + index into l.v; 0 empty */
    size_t htcap;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t ent_hash(uint8_t uk, const char *u, size_t ul, uint8_t ck, const char *c, size_t cl)
{
    uint8_t k[2] = {uk, ck};
    uint64_t h = fnv(0xcbf29ce484222325ull, k, 2);
    h = fnv(h, u, ul);
    h = fnv(h, "\0", 1);
    return fnv(h, c, cl);
}

static int cmp_part(uint8_t ka, const char *a, size_t al, uint8_t kb, const char *b, size_t bl)
{
    if (ka != kb)
        return ka < kb ? -1 : 1;
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : al == bl ? 0 : al < bl ? -1 : 1;
}

static int cmp_ent(const void *pa, const void *pb)
{
    const struct br__qent *a = pa, *b = pb;
    int c = cmp_part(a->user_kind, a->user, a->user_len, b->user_kind, b->user, b->user_len);
    return c ? c
             : cmp_part(a->client_kind, a->client, a->client_len, b->client_kind, b->client,
                        b->client_len);
}

static void settings_free(struct settings *s)
{
    if (!s)
        return;
    br__qlist_free(&s->l);
    free(s->ht);
    free(s);
}

/* Takes l; sorts it, refuses a repeated entity (-EEXIST), indexes it. */
static int settings_build(struct br__qlist *l, struct settings **out)
{
    struct settings *s = calloc(1, sizeof *s);
    if (!s) {
        br__qlist_free(l);
        return -ENOMEM;
    }
    s->l = *l;
    memset(l, 0, sizeof *l);
    if (s->l.n)
        qsort(s->l.v, s->l.n, sizeof *s->l.v, cmp_ent);
    for (size_t i = 1; i < s->l.n; i++) {
        if (cmp_ent(&s->l.v[i - 1], &s->l.v[i]) == 0) {
            settings_free(s);
            return -EEXIST;
        }
    }
    s->htcap = 16;
    while (s->htcap < 2 * s->l.n)
        s->htcap *= 2;
    s->ht = calloc(s->htcap, sizeof *s->ht);
    if (!s->ht) {
        settings_free(s);
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->l.n; i++) {
        const struct br__qent *e = &s->l.v[i];
        uint64_t h =
            ent_hash(e->user_kind, e->user, e->user_len, e->client_kind, e->client, e->client_len);
        size_t at = h & (s->htcap - 1);
        while (s->ht[at])
            at = (at + 1) & (s->htcap - 1);
        s->ht[at] = (uint32_t)i + 1;
    }
    *out = s;
    return 0;
}

static const struct br__qent *settings_get(const struct settings *s, uint8_t uk, const char *u,
                                           size_t ul, uint8_t ck, const char *c, size_t cl)
{
    if (uk != BR_QE_NAMED)
        ul = 0;
    if (ck != BR_QE_NAMED)
        cl = 0;
    uint64_t h = ent_hash(uk, u, ul, ck, c, cl);
    for (size_t at = h & (s->htcap - 1); s->ht[at]; at = (at + 1) & (s->htcap - 1)) {
        const struct br__qent *e = &s->l.v[s->ht[at] - 1];
        if (e->user_kind == uk && e->client_kind == ck && e->user_len == ul &&
            e->client_len == cl && memcmp(e->user, u, ul) == 0 && memcmp(e->client, c, cl) == 0)
            return e;
    }
    return NULL;
}

/* ---- sensors -----------------------------------------------------------------------------------
 */

struct br__quota_sensor {
    struct br__quota_sensor *next; /* hash chain, under q->mu */
    uint64_t hash;
    enum br_quota_type type;
    char *user, *client; /* the sharing tags; "" for a part not shared on */
    size_t user_len, client_len;
    int refs; /* connections bound to it, under q->mu */
    pthread_mutex_t mu;
    int64_t last_ms;     /* under mu */
    struct br_rate rate; /* under mu */
};

#define SENSOR_BUCKETS 1024

struct br_quotas {
    pthread_mutex_t mu;  /* settings pointer, sensor table, resolution */
    pthread_mutex_t wmu; /* serialises changes */
    struct settings *set;
    _Atomic uint64_t gen;
    int samples;
    int64_t window_ms;
    char dir[4096];
    struct br__quota_sensor *bucket[SENSOR_BUCKETS];
    size_t nsensors;
};

static struct br__quota_sensor *sensor_get(struct br_quotas *q, enum br_quota_type t, const char *u,
                                           size_t ul, const char *c, size_t cl, int64_t now)
{
    uint8_t k = (uint8_t)t;
    uint64_t h = fnv(fnv(fnv(fnv(0xcbf29ce484222325ull, &k, 1), u, ul), "\0", 1), c, cl);
    struct br__quota_sensor **b = &q->bucket[h % SENSOR_BUCKETS];
    for (struct br__quota_sensor *s = *b; s; s = s->next) {
        if (s->hash == h && s->type == t && s->user_len == ul && s->client_len == cl &&
            memcmp(s->user, u, ul) == 0 && memcmp(s->client, c, cl) == 0) {
            s->refs++;
            return s;
        }
    }
    struct br__quota_sensor *s = calloc(1, sizeof *s);
    char *names = malloc(ul + cl + 2);
    if (!s || !names) {
        free(s);
        free(names);
        return NULL;
    }
    memcpy(names, u, ul);
    names[ul] = '\0';
    memcpy(names + ul + 1, c, cl);
    names[ul + 1 + cl] = '\0';
    s->hash = h;
    s->type = t;
    s->user = names;
    s->client = names + ul + 1;
    s->user_len = ul;
    s->client_len = cl;
    s->refs = 1;
    s->last_ms = now;
    pthread_mutex_init(&s->mu, NULL);
    s->next = *b;
    *b = s;
    q->nsensors++;
    return s;
}

static void sensor_free(struct br__quota_sensor *s)
{
    pthread_mutex_destroy(&s->mu);
    free(s->user);
    free(s);
}

/* ---- resolution (DefaultQuotaCallback) ---------------------------------------------------------
 */

static bool has(const struct settings *s, enum br_quota_type t, uint8_t uk, const char *u,
                size_t ul, uint8_t ck, const char *c, size_t cl)
{
    const struct br__qent *e = settings_get(s, uk, u, ul, ck, c, cl);
    return e && e->has[t];
}

static double value(const struct settings *s, enum br_quota_type t, uint8_t uk, const char *u,
                    size_t ul, uint8_t ck, const char *c, size_t cl)
{
    const struct br__qent *e = settings_get(s, uk, u, ul, ck, c, cl);
    return e && e->has[t] ? e->v[t] : 0;
}

/* quotaMetricTags then quotaLimit: the sharing tags (*share_user, *share_client: whether the
 * sensor is keyed on the user and on the client id) and the bound (0: none). */
static double resolve_type(const struct settings *s, enum br_quota_type t, const char *u, size_t ul,
                           const char *c, size_t cl, bool *share_user, bool *share_client)
{
    enum { A = BR_QE_ABSENT, D = BR_QE_DEFAULT, N = BR_QE_NAMED };
    bool tu, tc;
    if (has(s, t, N, u, ul, N, c, cl) || has(s, t, N, u, ul, D, "", 0))
        tu = true, tc = true;
    else if (has(s, t, N, u, ul, A, "", 0))
        tu = true, tc = false;
    else if (has(s, t, D, "", 0, N, c, cl) || has(s, t, D, "", 0, D, "", 0))
        tu = true, tc = true;
    else if (has(s, t, D, "", 0, A, "", 0))
        tu = true, tc = false;
    else
        tu = false, tc = true;
    /* A part is a tag only when non-empty (Kafka's tags are strings, "" meaning none). */
    tu = tu && ul > 0;
    tc = tc && cl > 0;
    *share_user = tu;
    *share_client = tc;
    double v = 0;
    if (tu && tc) {
        v = value(s, t, N, u, ul, N, c, cl);
        if (v == 0)
            v = value(s, t, N, u, ul, D, "", 0);
        if (v == 0)
            v = value(s, t, D, "", 0, N, c, cl);
        if (v == 0)
            v = value(s, t, D, "", 0, D, "", 0);
    } else if (tu) {
        v = value(s, t, N, u, ul, A, "", 0);
        if (v == 0)
            v = value(s, t, D, "", 0, A, "", 0);
    } else if (tc) {
        v = value(s, t, A, "", 0, N, c, cl);
        if (v == 0)
            v = value(s, t, A, "", 0, D, "", 0);
    }
    return v;
}

static void unbind(struct br_quotas *q, struct br_quota_client *c)
{
    for (int t = 0; t < BR_QUOTA_NTYPES; t++) {
        if (c->t[t].sensor)
            c->t[t].sensor->refs--;
        c->t[t].sensor = NULL;
        c->t[t].bound = 0;
    }
}

/* Re-resolves c against the current settings; called with q->mu held. */
static void resolve(struct br_quotas *q, struct br_quota_client *c, int64_t now)
{
    unbind(q, c);
    c->gen = atomic_load(&q->gen);
    for (int t = 0; t < BR_QUOTA_NTYPES; t++) {
        bool su, sc;
        double b = resolve_type(q->set, (enum br_quota_type)t, c->user, c->user_len, c->client,
                                c->client_len, &su, &sc);
        if (b <= 0 || t == BR_QUOTA_MUTATION)
            continue;
        c->t[t].sensor =
            sensor_get(q, (enum br_quota_type)t, su ? c->user : "", su ? c->user_len : 0,
                       sc ? c->client : "", sc ? c->client_len : 0, now);
        c->t[t].bound = c->t[t].sensor ? b : 0; /* no memory for a sensor: not enforced */
    }
}

static void refresh(struct br_quotas *q, struct br_quota_client *c, int64_t now)
{
    if (c->gen == atomic_load_explicit(&q->gen, memory_order_acquire))
        return;
    pthread_mutex_lock(&q->mu);
    resolve(q, c, now);
    pthread_mutex_unlock(&q->mu);
}

/* ---- the quotas --------------------------------------------------------------------------------
 */

int br_quotas_open(const struct br_quotas_conf *conf, struct br_quotas **out)
{
    if (conf->samples < 1 || conf->samples > BR_QUOTA_SAMPLES_MAX || conf->window_ms < 1)
        return -EINVAL;
    struct br_quotas *q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    q->samples = conf->samples;
    q->window_ms = conf->window_ms;
    atomic_init(&q->gen, 1);
    pthread_mutex_init(&q->mu, NULL);
    pthread_mutex_init(&q->wmu, NULL);
    int rc = 0;
    if (snprintf(q->dir, sizeof q->dir, "%s/%s", conf->data_dir, BR_SECURITY_DIR) >=
        (int)sizeof q->dir)
        rc = -ENAMETOOLONG;
    if (!rc && mkdir(q->dir, 0700) != 0 && errno != EEXIST)
        rc = -errno;
    struct br__qlist l = {0};
    if (!rc)
        rc = br__quota_file_read(q->dir, &l, conf->log_fn, conf->log_arg);
    if (!rc) {
        rc = settings_build(&l, &q->set);
        if (rc == -EEXIST) {
            if (conf->log_fn) {
                char msg[4400];
                snprintf(msg, sizeof msg, "%s/%s: refused: an entity appears twice", q->dir,
                         BR_QUOTA_FILE);
                conf->log_fn(conf->log_arg, msg);
            }
            rc = -EBADMSG;
        }
    }
    br__qlist_free(&l);
    if (rc) {
        br_quotas_close(q);
        return rc;
    }
    *out = q;
    return 0;
}

void br_quotas_close(struct br_quotas *q)
{
    if (!q)
        return;
    settings_free(q->set);
    for (size_t i = 0; i < SENSOR_BUCKETS; i++) {
        for (struct br__quota_sensor *s = q->bucket[i], *n; s; s = n) {
            n = s->next;
            sensor_free(s);
        }
    }
    pthread_mutex_destroy(&q->mu);
    pthread_mutex_destroy(&q->wmu);
    free(q);
}

/* The entry of (entity) in l, appended empty when missing; NULL on -ENOMEM. */
static struct br__qent *entry_for(struct br__qlist *l, const struct br_quota_entity *e)
{
    size_t ul = e->user_kind == BR_QE_NAMED ? (size_t)e->user.len : 0;
    size_t cl = e->client_kind == BR_QE_NAMED ? (size_t)e->client.len : 0;
    const char *u = ul ? e->user.ptr : "", *c = cl ? e->client.ptr : "";
    for (size_t i = 0; i < l->n; i++) {
        struct br__qent *x = &l->v[i];
        if (x->user_kind == e->user_kind && x->client_kind == e->client_kind && x->user_len == ul &&
            x->client_len == cl && memcmp(x->user, u, ul) == 0 && memcmp(x->client, c, cl) == 0)
            return x;
    }
    struct br__qent n;
    memset(&n, 0, sizeof n);
    n.user_kind = e->user_kind;
    n.client_kind = e->client_kind;
    n.user_len = (uint16_t)ul;
    n.client_len = (uint16_t)cl;
    n.user = (char *)u;
    n.client = (char *)c;
    return br__qlist_add(l, &n) == 0 ? &l->v[l->n - 1] : NULL;
}

static bool entity_ok(const struct br_quota_entity *e)
{
    if (e->user_kind > BR_QE_NAMED || e->client_kind > BR_QE_NAMED ||
        (e->user_kind == BR_QE_ABSENT && e->client_kind == BR_QE_ABSENT))
        return false;
    if (e->user_kind == BR_QE_NAMED && (e->user.len < 1 || e->user.len > BR_QUOTA_NAME_MAX))
        return false;
    return e->client_kind != BR_QE_NAMED ||
           (e->client.len >= 1 && e->client.len <= BR_QUOTA_NAME_MAX);
}

int br_quotas_alter(struct br_quotas *q, struct br_quota_alter *a, size_t n, bool validate_only)
{
    pthread_mutex_lock(&q->wmu);
    /* A working copy of the live entries (only this thread replaces q->set). */
    struct br__qlist l = {0};
    int rc = 0;
    for (size_t i = 0; !rc && i < q->set->l.n; i++)
        rc = br__qlist_add(&l, &q->set->l.v[i]);
    bool changed = false;
    for (size_t i = 0; !rc && i < n; i++) {
        a[i].result = 0;
        a[i].why = NULL;
        if (!entity_ok(&a[i].entity)) {
            a[i].result = -EINVAL;
            a[i].why = "Invalid client quota entity";
            continue;
        }
        for (size_t k = 0; k < a[i].n_ops && !a[i].result; k++) {
            const struct br_quota_op *op = &a[i].ops[k];
            if ((unsigned)op->type >= BR_QUOTA_NTYPES) {
                a[i].result = -EINVAL;
                a[i].why = "Invalid configuration key";
            } else if (!op->remove) {
                a[i].result = br__quota_value_ok(op->type, op->value, &a[i].why);
            }
        }
        if (a[i].result || validate_only)
            continue;
        struct br__qent *x = entry_for(&l, &a[i].entity);
        if (!x) {
            rc = -ENOMEM;
            break;
        }
        for (size_t k = 0; k < a[i].n_ops; k++) {
            const struct br_quota_op *op = &a[i].ops[k];
            bool had = x->has[op->type];
            double was = x->v[op->type];
            x->has[op->type] = !op->remove;
            x->v[op->type] = op->remove ? 0 : op->value;
            changed |= had != x->has[op->type] || was != x->v[op->type];
        }
    }
    /* Entities left with no setting go. */
    size_t m = 0;
    for (size_t i = 0; i < l.n; i++) {
        bool any = false;
        for (int t = 0; t < BR_QUOTA_NTYPES; t++)
            any |= l.v[i].has[t];
        if (any)
            l.v[m++] = l.v[i];
        else
            free(l.v[i].user);
    }
    l.n = m;
    if (!rc && l.n > BR_QUOTA_MAX)
        rc = -ENOSPC;
    struct settings *ns = NULL;
    if (!rc && changed) {
        rc = settings_build(&l, &ns);
        if (!rc)
            rc = br__quota_file_write(q->dir, ns->l.v, ns->l.n);
    }
    if (!rc && ns) {
        pthread_mutex_lock(&q->mu);
        struct settings *old = q->set;
        q->set = ns;
        atomic_fetch_add_explicit(&q->gen, 1, memory_order_release);
        pthread_mutex_unlock(&q->mu);
        settings_free(old);
    } else {
        settings_free(ns);
    }
    br__qlist_free(&l);
    pthread_mutex_unlock(&q->wmu);
    return rc;
}

static bool part_matches(uint8_t m, struct kp_str name, uint8_t kind, const char *s, size_t n)
{
    switch (m) {
    case BR_QM_NONE:
        return true;
    case BR_QM_EXACT:
        return kind == BR_QE_NAMED && name.len == (int32_t)n && memcmp(name.ptr, s, n) == 0;
    case BR_QM_DEFAULT:
        return kind == BR_QE_DEFAULT;
    default: /* SPECIFIED: the part exists, named or default */
        return kind != BR_QE_ABSENT;
    }
}

void br_quotas_describe(struct br_quotas *q, const struct br_quota_filter *f, br_quota_each_fn fn,
                        void *arg)
{
    pthread_mutex_lock(&q->mu);
    for (size_t i = 0; i < q->set->l.n; i++) {
        const struct br__qent *x = &q->set->l.v[i];
        if (!part_matches(f->user, f->user_name, x->user_kind, x->user, x->user_len) ||
            !part_matches(f->client, f->client_name, x->client_kind, x->client, x->client_len))
            continue;
        if (f->strict && ((f->user == BR_QM_NONE && x->user_kind != BR_QE_ABSENT) ||
                          (f->client == BR_QM_NONE && x->client_kind != BR_QE_ABSENT)))
            continue;
        struct br_quota_entity e = {
            x->user_kind,
            x->client_kind,
            {x->user, x->user_kind == BR_QE_NAMED ? x->user_len : -1},
            {x->client, x->client_kind == BR_QE_NAMED ? x->client_len : -1}};
        fn(arg, &e, x->v, x->has);
    }
    pthread_mutex_unlock(&q->mu);
}

/* ---- enforcement -------------------------------------------------------------------------------
 */

int br_quota_client_init(struct br_quotas *q, struct br_quota_client *c, const char *user,
                         size_t user_len, const char *client, size_t client_len)
{
    memset(c, 0, sizeof *c);
    c->user = malloc(user_len + 1);
    c->client = malloc(client_len + 1);
    if (!c->user || !c->client) {
        free(c->user);
        free(c->client);
        memset(c, 0, sizeof *c);
        return -ENOMEM;
    }
    memcpy(c->user, user, user_len);
    c->user[user_len] = '\0';
    memcpy(c->client, client, client_len);
    c->client[client_len] = '\0';
    c->user_len = user_len;
    c->client_len = client_len;
    c->gen = 0; /* resolved at the first record */
    (void)q;
    return 0;
}

void br_quota_client_release(struct br_quotas *q, struct br_quota_client *c)
{
    pthread_mutex_lock(&q->mu);
    unbind(q, c);
    pthread_mutex_unlock(&q->mu);
    free(c->user);
    free(c->client);
    memset(c, 0, sizeof *c);
}

int64_t br_quota_record(struct br_quotas *q, struct br_quota_client *c, enum br_quota_type t,
                        double v, int64_t now_ms)
{
    if ((unsigned)t >= BR_QUOTA_NTYPES)
        return 0;
    refresh(q, c, now_ms);
    struct br__quota_sensor *s = c->t[t].sensor;
    if (!s)
        return 0;
    double bound = c->t[t].bound;
    pthread_mutex_lock(&s->mu);
    br_rate_record(&s->rate, q->samples, q->window_ms, v, now_ms);
    double rate = br_rate_measure(&s->rate, q->samples, q->window_ms, now_ms);
    int64_t win = br_rate_window_ms(&s->rate, q->samples, q->window_ms, now_ms);
    s->last_ms = now_ms;
    pthread_mutex_unlock(&s->mu);
    if (rate <= bound)
        return 0;
    int64_t ms = llround((rate - bound) / bound * (double)win);
    if (t == BR_QUOTA_REQUEST && ms > q->window_ms)
        ms = q->window_ms;
    return ms;
}

void br_quota_unrecord(struct br_quotas *q, struct br_quota_client *c, enum br_quota_type t,
                       double v, int64_t now_ms)
{
    if ((unsigned)t >= BR_QUOTA_NTYPES)
        return;
    refresh(q, c, now_ms);
    struct br__quota_sensor *s = c->t[t].sensor;
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    br_rate_record(&s->rate, q->samples, q->window_ms, -v, now_ms);
    s->last_ms = now_ms;
    pthread_mutex_unlock(&s->mu);
}

double br_quota_bound(struct br_quotas *q, struct br_quota_client *c, enum br_quota_type t)
{
    if ((unsigned)t >= BR_QUOTA_NTYPES)
        return 0;
    if (c->gen != atomic_load_explicit(&q->gen, memory_order_acquire)) {
        pthread_mutex_lock(&q->mu);
        /* No record has happened yet: a sensor's idle clock starts at its first record. */
        resolve(q, c, 0);
        pthread_mutex_unlock(&q->mu);
    }
    if (t == BR_QUOTA_MUTATION) {
        bool su, sc;
        pthread_mutex_lock(&q->mu);
        double b =
            resolve_type(q->set, t, c->user, c->user_len, c->client, c->client_len, &su, &sc);
        pthread_mutex_unlock(&q->mu);
        return b;
    }
    return c->t[t].bound;
}

double br_quota_max_in_window(struct br_quotas *q, struct br_quota_client *c, enum br_quota_type t)
{
    double b = br_quota_bound(q, c, t);
    return b * (q->samples - 1) * ((double)q->window_ms / 1000.0);
}

size_t br_quotas_maintain(struct br_quotas *q, int64_t now_ms)
{
    pthread_mutex_lock(&q->mu);
    for (size_t i = 0; i < SENSOR_BUCKETS; i++) {
        for (struct br__quota_sensor **p = &q->bucket[i]; *p;) {
            struct br__quota_sensor *s = *p;
            pthread_mutex_lock(&s->mu);
            bool idle = now_ms - s->last_ms >= BR_QUOTA_EXPIRE_MS;
            pthread_mutex_unlock(&s->mu);
            if (s->refs == 0 && idle) {
                *p = s->next;
                sensor_free(s);
                q->nsensors--;
            } else {
                p = &s->next;
            }
        }
    }
    size_t n = q->nsensors;
    pthread_mutex_unlock(&q->mu);
    return n;
}
