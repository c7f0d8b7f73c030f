/*
 * br_metrics — see br_metrics.h.
 *
 * Layout. Every series owns a run of cells at the same index in every shard: one cell for a
 * counter or gauge; for a histogram one per finite bucket, one for +Inf, one for the sum
 * (bucket cells hold per-bucket counts; the scrape makes them cumulative, so _count is the +Inf
 * bucket by construction). A shard is one aligned array written by one thread only, so an
 * increment is a plain load and store of the thread's own cache lines; the last shard is for
 * threads past the count and takes atomic adds.
 *
 * Lookups. A family's series sit in an open-addressing table of fixed size (more than twice
 * max_series, never full, entries never removed): readers probe it with acquire loads and no
 * lock; a series is built completely, then published with a release store under the mutex.
 * The hash is seeded at random, since label values (topic names, group ids) come from clients.
 */
#include "br_metrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <xxhash.h>

#include "br_log.h"

#define COLLECTORS_MAX 8
#define LE_TEXT        32

struct br_metrics_series {
    const struct br_metrics_family *fam;
    uint32_t cell;                  /* first cell, at this index in every shard */
    struct br_metrics_series *next; /* the family's series in creation order (under mu) */
    uint64_t hash;
    char *labels;                         /* `a="x",b="y"`, escaped; "" without labels */
    uint16_t vlen[BR_METRICS_LABELS_MAX]; /* raw label values (lookups compare them) */
    char vals[];                          /* concatenated */
};

struct br_metrics_family {
    struct br_metrics_family *next;
    char *name;
    char *help;
    enum br_metrics_type type;
    int nlabels;
    char *label_names[BR_METRICS_LABELS_MAX];
    uint32_t max_series;
    bool overflow;
    int nbounds;
    int64_t bounds[BR_METRICS_BUCKETS_MAX]; /* in the base unit */
    char le[BR_METRICS_BUCKETS_MAX][LE_TEXT];
    double unit_div;    /* printed value = observed value / unit_div (1e9: ns as seconds) */
    uint32_t cells_per; /* cells of one series */

    /* series: list under the registry mutex, table read lock-free */
    struct br_metrics_series *head, *tail;
    uint32_t nseries; /* in the table (the overflow series not counted) */
    struct br_metrics_series *other;
    struct br_metrics_series *_Atomic *table;
    uint32_t tmask;
    _Atomic uint64_t dropped;
    bool warned;
};

struct br_metrics {
    uint64_t gen; /* tells this registry from any other a thread recorded into before */
    int nshards;  /* writer shards; shards[nshards] is the shared one */
    uint32_t ncells;
    _Atomic uint64_t **shards;
    _Atomic int next_shard;
    size_t max_bytes;
    uint64_t seed;

    pthread_mutex_t mu; /* series creation, and the walk of a scrape */
    uint32_t used_cells;
    struct br_metrics_family *fams, *fams_tail;
    struct {
        br_metrics_collect_fn fn;
        void *arg;
    } collectors[COLLECTORS_MAX];
    int ncollectors;
};

struct br_metrics_out {
    char *p;
    size_t len, cap, max;
    size_t line_start; /* where the line being written began */
    bool line_bad;     /* the line being written did not fit */
    bool full;         /* a line was dropped: the text is cut */
    bool nomem;
};

/* ---- names and text ----------------------------------------------------------------------- */

bool br_metrics_name_ok(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p != name && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

bool br_metrics_label_ok(const char *name)
{
    if (!name || !*name || strncmp(name, "__", 2) == 0)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(p != name && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when the byte starts none. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (left < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

size_t br_metrics_escape_value(char *out, size_t cap, const char *v, size_t len)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t k = 0;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (k + 1 < cap)                                                                           \
            out[k] = (char)(ch);                                                                   \
        k++;                                                                                       \
    } while (0)
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c == '\\' || c == '"') {
            PUT('\\');
            PUT(c);
            i++;
        } else if (c == '\n') {
            PUT('\\');
            PUT('n');
            i++;
        } else if (c >= 0x20 && c < 0x7f) {
            PUT(c);
            i++;
        } else {
            /* a control byte, or a byte that starts no valid UTF-8 sequence: U+FFFD */
            size_t n = c >= 0x80 ? utf8_seq(s + i, len - i) : 0;
            if (n == 0) {
                PUT(0xef);
                PUT(0xbf);
                PUT(0xbd);
                i++;
            } else {
                for (size_t j = 0; j < n; j++)
                    PUT(s[i + j]);
                i += n;
            }
        }
    }
#undef PUT
    if (cap)
        out[k < cap ? k : cap - 1] = 0;
    return k;
}

void br_metrics_format_f64(char *out, size_t cap, double v)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* the shortest digits that read back as v; positional (30, not 3e+01) for exponents in
     * [-4, 21), as Go's strconv prints them */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) != v)
            continue;
        const char *e = strchr(out, 'e');
        if (e) {
            int x = atoi(e + 1);
            if (x >= -4 && x < 21)
                snprintf(out, cap, "%.*f", prec - 1 - x > 0 ? prec - 1 - x : 0, v);
        }
        return;
    }
}

/* ---- the registry ------------------------------------------------------------------------- */

static _Atomic uint64_t gen_next = 1;

struct br_metrics *br_metrics_new(int shards, uint32_t cells, size_t max_bytes)
{
    if (shards <= 0 || cells == 0)
        return NULL;
    struct br_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->gen = atomic_fetch_add(&gen_next, 1);
    m->nshards = shards;
    m->ncells = cells;
    m->max_bytes = max_bytes ? max_bytes : 64u << 20;
    pthread_mutex_init(&m->mu, NULL);
    if (getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) != (ssize_t)sizeof(m->seed))
        m->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)m;
    m->shards = calloc((size_t)shards + 1, sizeof(*m->shards));
    if (!m->shards) {
        free(m);
        return NULL;
    }
    size_t bytes = ((size_t)cells * sizeof(uint64_t) + 63) & ~(size_t)63;
    for (int i = 0; i <= shards; i++) {
        m->shards[i] = aligned_alloc(64, bytes);
        if (!m->shards[i]) {
            br_metrics_free(m);
            return NULL;
        }
        memset((void *)m->shards[i], 0, bytes);
    }
    return m;
}

static void series_free(struct br_metrics_series *s)
{
    if (!s)
        return;
    free(s->labels);
    free(s);
}

static void family_free(struct br_metrics_family *f)
{
    free(f->name);
    free(f->help);
    for (int i = 0; i < f->nlabels; i++)
        free(f->label_names[i]);
    free((void *)f->table);
    free(f);
}

void br_metrics_free(struct br_metrics *m)
{
    if (!m)
        return;
    for (struct br_metrics_family *f = m->fams, *next; f; f = next) {
        next = f->next;
        for (struct br_metrics_series *s = f->head, *sn; s; s = sn) {
            sn = s->next;
            series_free(s);
        }
        family_free(f);
    }
    if (m->shards)
        for (int i = 0; i <= m->nshards; i++)
            free((void *)m->shards[i]);
    free(m->shards);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

struct br_metrics_family *br_metrics_family(struct br_metrics *m, const char *name,
                                            enum br_metrics_type type, const char *help,
                                            const struct br_metrics_opts *opts)
{
    static const struct br_metrics_opts none = {0};
    if (!opts)
        opts = &none;
    if (!br_metrics_name_ok(name) || !help || opts->nlabels < 0 ||
        opts->nlabels > BR_METRICS_LABELS_MAX)
        return NULL;
    for (int i = 0; i < opts->nlabels; i++)
        if (!br_metrics_label_ok(opts->labels[i]) ||
            (type == BR_METRICS_HISTOGRAM && strcmp(opts->labels[i], "le") == 0))
            return NULL;
    if (type == BR_METRICS_HISTOGRAM) {
        if (opts->nbounds < 1 || opts->nbounds > BR_METRICS_BUCKETS_MAX || !opts->bounds)
            return NULL;
        for (int i = 0; i < opts->nbounds; i++)
            if (!isfinite(opts->bounds[i]) || (i > 0 && opts->bounds[i] <= opts->bounds[i - 1]))
                return NULL;
    }
    struct br_metrics_family *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help);
    f->nlabels = opts->nlabels;
    bool ok = f->name && f->help;
    for (int i = 0; i < f->nlabels; i++)
        ok = ok && (f->label_names[i] = strdup(opts->labels[i]));
    f->max_series = opts->max_series ? opts->max_series : f->nlabels == 0 ? 1 : 1024;
    f->overflow = opts->overflow && f->nlabels > 0;
    f->cells_per = 1;
    if (type == BR_METRICS_HISTOGRAM) {
        f->nbounds = opts->nbounds;
        /* dividing by an exact 1e9 keeps printed sums and bounds exact where the decimal is */
        double div = opts->unit_scale > 0 ? 1.0 / opts->unit_scale : 1.0;
        f->unit_div = fabs(div - (double)llround(div)) < 1e-6 * div ? (double)llround(div) : div;
        for (int i = 0; i < f->nbounds; i++) {
            f->bounds[i] = llround(opts->bounds[i] * f->unit_div);
            br_metrics_format_f64(f->le[i], LE_TEXT, opts->bounds[i]);
        }
        f->cells_per = (uint32_t)f->nbounds + 2; /* buckets, +Inf, sum */
    }
    uint32_t tcap = 4;
    while (tcap < 2 * f->max_series + 2 && tcap < (1u << 30))
        tcap <<= 1;
    f->table = calloc(tcap, sizeof(*f->table));
    f->tmask = tcap - 1;
    if (!ok || !f->table) {
        family_free(f);
        return NULL;
    }
    if (m->fams_tail)
        m->fams_tail->next = f;
    else
        m->fams = f;
    m->fams_tail = f;
    return f;
}

uint64_t br_metrics_dropped(const struct br_metrics_family *f)
{
    return atomic_load_explicit(&((struct br_metrics_family *)f)->dropped, memory_order_relaxed);
}

const char *br_metrics_family_name(const struct br_metrics_family *f) { return f->name; }

int br_metrics_collector(struct br_metrics *m, br_metrics_collect_fn fn, void *arg)
{
    if (m->ncollectors == COLLECTORS_MAX)
        return -ENOSPC;
    m->collectors[m->ncollectors].fn = fn;
    m->collectors[m->ncollectors].arg = arg;
    m->ncollectors++;
    return 0;
}

/* ---- series ------------------------------------------------------------------------------- */

static uint64_t vals_hash(const struct br_metrics *m, const struct br_metrics_family *f,
                          const struct br_metrics_val *vals)
{
    uint64_t h = m->seed;
    for (int i = 0; i < f->nlabels; i++) {
        uint64_t len = vals[i].len;
        h = XXH3_64bits_withSeed(&len, sizeof(len), h);
        if (vals[i].len)
            h = XXH3_64bits_withSeed(vals[i].p, vals[i].len, h);
    }
    return h;
}

static bool vals_equal(const struct br_metrics_series *s, int n, const struct br_metrics_val *vals)
{
    const char *p = s->vals;
    for (int i = 0; i < n; i++) {
        if (s->vlen[i] != vals[i].len || (vals[i].len && memcmp(p, vals[i].p, vals[i].len) != 0))
            return false;
        p += s->vlen[i];
    }
    return true;
}

/* The table slot holding the series with these values, or the empty slot where it would go. */
static struct br_metrics_series *_Atomic *probe(const struct br_metrics_family *f, uint64_t h,
                                                const struct br_metrics_val *vals,
                                                struct br_metrics_series **found)
{
    for (uint32_t i = (uint32_t)h & f->tmask;; i = (i + 1) & f->tmask) {
        struct br_metrics_series *s = atomic_load_explicit(&f->table[i], memory_order_acquire);
        if (!s || (s->hash == h && vals_equal(s, f->nlabels, vals))) {
            *found = s;
            return &f->table[i];
        }
    }
}

/* Builds a series (under mu): cells, label text. NULL when out of cells or memory. */
static struct br_metrics_series *series_make(struct br_metrics *m, struct br_metrics_family *f,
                                             const struct br_metrics_val *vals, uint64_t h)
{
    if (m->used_cells + f->cells_per > m->ncells)
        return NULL;
    size_t total = 0, text = 1;
    for (int i = 0; i < f->nlabels; i++) {
        if (vals[i].len > UINT16_MAX)
            return NULL;
        total += vals[i].len;
        text += strlen(f->label_names[i]) + 4 +
                br_metrics_escape_value(NULL, 0, vals[i].p, vals[i].len);
    }
    struct br_metrics_series *s = calloc(1, sizeof(*s) + total + 1);
    if (!s)
        return NULL;
    s->labels = malloc(text);
    if (!s->labels) {
        free(s);
        return NULL;
    }
    size_t k = 0;
    char *vp = s->vals;
    for (int i = 0; i < f->nlabels; i++) {
        s->vlen[i] = (uint16_t)vals[i].len;
        if (vals[i].len)
            memcpy(vp, vals[i].p, vals[i].len);
        vp += vals[i].len;
        k += (size_t)snprintf(s->labels + k, text - k, "%s%s=\"", i ? "," : "", f->label_names[i]);
        k += br_metrics_escape_value(s->labels + k, text - k, vals[i].p, vals[i].len);
        k += (size_t)snprintf(s->labels + k, text - k, "\"");
    }
    s->labels[k] = 0;
    s->fam = f;
    s->hash = h;
    s->cell = m->used_cells;
    m->used_cells += f->cells_per;
    if (f->tail)
        f->tail->next = s;
    else
        f->head = s;
    f->tail = s;
    return s;
}

static void drop(struct br_metrics_family *f, const char *why)
{
    atomic_fetch_add_explicit(&f->dropped, 1, memory_order_relaxed);
    if (!f->warned) {
        f->warned = true;
        br_warn("metrics: %s: %s", f->name, why);
    }
}

struct br_metrics_series *br_metrics_series(struct br_metrics *m, struct br_metrics_family *f,
                                            const struct br_metrics_val *vals)
{
    static const struct br_metrics_val novals[1] = {{"", 0}};
    if (!m || !f)
        return NULL;
    if (f->nlabels == 0)
        vals = novals;
    uint64_t h = vals_hash(m, f, vals);
    struct br_metrics_series *s;
    probe(f, h, vals, &s);
    if (s)
        return s;
    pthread_mutex_lock(&m->mu);
    struct br_metrics_series *_Atomic *slot = probe(f, h, vals, &s);
    if (s) {
        pthread_mutex_unlock(&m->mu);
        return s;
    }
    if (f->nseries >= f->max_series) {
        if (f->overflow && !f->other) {
            struct br_metrics_val ov[BR_METRICS_LABELS_MAX];
            for (int i = 0; i < f->nlabels; i++)
                ov[i] = BR_METRICS_VAL(BR_METRICS_OTHER);
            f->other = series_make(m, f, ov, 0);
            if (f->other && !f->warned) {
                f->warned = true;
                br_warn("metrics: %s has its %u series (the configured bound): further label "
                        "values are counted under " BR_METRICS_OTHER,
                        f->name, f->max_series);
            }
        }
        s = f->other;
        if (!s)
            drop(f, f->overflow ? "out of metric cells: series dropped"
                                : "series bound reached: further label values are dropped");
        pthread_mutex_unlock(&m->mu);
        return s;
    }
    s = series_make(m, f, vals, h);
    if (s) {
        f->nseries++;
        atomic_store_explicit(slot, s, memory_order_release);
    } else {
        drop(f, "out of metric cells (or memory): series dropped");
    }
    pthread_mutex_unlock(&m->mu);
    return s;
}

struct br_metrics_series *br_metrics_series_c(struct br_metrics *m, struct br_metrics_family *f,
                                              const char *const *vals)
{
    struct br_metrics_val v[BR_METRICS_LABELS_MAX];
    for (int i = 0; f && i < f->nlabels; i++)
        v[i] = (struct br_metrics_val){vals[i], strlen(vals[i])};
    return br_metrics_series(m, f, v);
}

/* ---- recording ---------------------------------------------------------------------------- */

static __thread uint64_t tl_gen;
static __thread _Atomic uint64_t *tl_cells;
static __thread bool tl_shared;

/* The calling thread's shard of m (given on first use). */
static inline _Atomic uint64_t *my_shard(struct br_metrics *m, bool *shared)
{
    if (tl_gen != m->gen) {
        int i = atomic_fetch_add_explicit(&m->next_shard, 1, memory_order_relaxed);
        tl_shared = i >= m->nshards;
        tl_cells = m->shards[tl_shared ? m->nshards : i];
        tl_gen = m->gen;
    }
    *shared = tl_shared;
    return tl_cells;
}

static inline void cell_add(_Atomic uint64_t *c, uint64_t n, bool shared)
{
    if (shared)
        atomic_fetch_add_explicit(c, n, memory_order_relaxed);
    else
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                              memory_order_relaxed);
}

void br_metrics_add(struct br_metrics *m, const struct br_metrics_series *s, uint64_t n)
{
    if (!s)
        return;
    bool shared;
    _Atomic uint64_t *cells = my_shard(m, &shared);
    cell_add(&cells[s->cell], n, shared);
}

void br_metrics_observe(struct br_metrics *m, const struct br_metrics_series *s, int64_t v)
{
    if (!s)
        return;
    const struct br_metrics_family *f = s->fam;
    if (v < 0)
        v = 0;
    int i = 0;
    while (i < f->nbounds && v > f->bounds[i])
        i++;
    bool shared;
    _Atomic uint64_t *cells = my_shard(m, &shared);
    cell_add(&cells[s->cell + (uint32_t)i], 1, shared);
    cell_add(&cells[s->cell + (uint32_t)f->nbounds + 1], (uint64_t)v, shared);
}

static uint64_t cell_sum(const struct br_metrics *m, uint32_t cell)
{
    uint64_t v = 0;
    for (int i = 0; i <= m->nshards; i++)
        v += atomic_load_explicit(&m->shards[i][cell], memory_order_relaxed);
    return v;
}

uint64_t br_metrics_value(const struct br_metrics *m, const struct br_metrics_series *s)
{
    return s ? cell_sum(m, s->cell) : 0;
}

void br_metrics_hist_value(const struct br_metrics *m, const struct br_metrics_series *s,
                           uint64_t *count, uint64_t *sum)
{
    *count = *sum = 0;
    if (!s)
        return;
    for (uint32_t i = 0; i <= (uint32_t)s->fam->nbounds; i++)
        *count += cell_sum(m, s->cell + i);
    *sum = cell_sum(m, s->cell + (uint32_t)s->fam->nbounds + 1);
}

/* ---- the text ----------------------------------------------------------------------------- */

static void out_put(struct br_metrics_out *o, const char *p, size_t n)
{
    if (o->line_bad)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t want = o->cap ? o->cap : 16384;
        while (want < o->len + n + 1)
            want *= 2;
        if (want > o->max)
            want = o->max;
        if (o->len + n + 1 > want) {
            o->line_bad = true;
            return;
        }
        char *np = realloc(o->p, want);
        if (!np) {
            o->line_bad = true;
            o->nomem = true;
            return;
        }
        o->p = np;
        o->cap = want;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

static void out_str(struct br_metrics_out *o, const char *s) { out_put(o, s, strlen(s)); }

static void line_begin(struct br_metrics_out *o)
{
    o->line_start = o->len;
    o->line_bad = false;
}

static void line_end(struct br_metrics_out *o)
{
    out_put(o, "\n", 1);
    if (o->line_bad) {
        o->len = o->line_start;
        o->full = true;
        o->line_bad = false;
    }
}

/* A help text: \ and newline escaped. */
static void out_help(struct br_metrics_out *o, const char *h)
{
    for (const char *p = h; *p; p++) {
        if (*p == '\\')
            out_put(o, "\\\\", 2);
        else if (*p == '\n')
            out_put(o, "\\n", 2);
        else
            out_put(o, p, 1);
    }
}

static const char *type_name(enum br_metrics_type t)
{
    return t == BR_METRICS_COUNTER ? "counter" : t == BR_METRICS_GAUGE ? "gauge" : "histogram";
}

void br_metrics_out_family(struct br_metrics_out *o, const char *name, enum br_metrics_type type,
                           const char *help)
{
    if (o->full)
        return;
    line_begin(o);
    out_str(o, "# HELP ");
    out_str(o, name);
    out_put(o, " ", 1);
    out_help(o, help);
    line_end(o);
    line_begin(o);
    out_str(o, "# TYPE ");
    out_str(o, name);
    out_put(o, " ", 1);
    out_str(o, type_name(type));
    line_end(o);
}

/* name[suffix]{labels[,le="x"]} value */
static void out_line(struct br_metrics_out *o, const char *name, const char *suffix,
                     const char *labels, const char *le, const char *value)
{
    if (o->full)
        return;
    line_begin(o);
    out_str(o, name);
    if (suffix)
        out_str(o, suffix);
    bool has = labels && *labels;
    if (has || le) {
        out_put(o, "{", 1);
        if (has)
            out_str(o, labels);
        if (le) {
            out_str(o, has ? ",le=\"" : "le=\"");
            out_str(o, le);
            out_put(o, "\"", 1);
        }
        out_put(o, "}", 1);
    }
    out_put(o, " ", 1);
    out_str(o, value);
    line_end(o);
}

static void out_sample(struct br_metrics_out *o, const char *name,
                       const struct br_metrics_label *labels, int n, const char *value)
{
    if (o->full)
        return;
    line_begin(o);
    out_str(o, name);
    if (n > 0) {
        out_put(o, "{", 1);
        for (int i = 0; i < n; i++) {
            if (i)
                out_put(o, ",", 1);
            out_str(o, labels[i].name);
            out_put(o, "=\"", 2);
            char small[256];
            size_t need =
                br_metrics_escape_value(small, sizeof(small), labels[i].value, labels[i].len);
            if (need < sizeof(small)) {
                out_put(o, small, need);
            } else {
                char *big = malloc(need + 1);
                if (!big) {
                    o->line_bad = true;
                    o->nomem = true;
                } else {
                    br_metrics_escape_value(big, need + 1, labels[i].value, labels[i].len);
                    out_put(o, big, need);
                    free(big);
                }
            }
            out_put(o, "\"", 1);
        }
        out_put(o, "}", 1);
    }
    out_put(o, " ", 1);
    out_str(o, value);
    line_end(o);
}

void br_metrics_out_i64(struct br_metrics_out *o, const char *name,
                        const struct br_metrics_label *labels, int n, int64_t v)
{
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)v);
    out_sample(o, name, labels, n, num);
}

void br_metrics_out_f64(struct br_metrics_out *o, const char *name,
                        const struct br_metrics_label *labels, int n, double v)
{
    char num[40];
    br_metrics_format_f64(num, sizeof(num), v);
    out_sample(o, name, labels, n, num);
}

bool br_metrics_out_full(const struct br_metrics_out *o) { return o->full; }

static void expose_series(const struct br_metrics *m, struct br_metrics_out *o,
                          const struct br_metrics_family *f, const struct br_metrics_series *s)
{
    char num[48];
    if (f->type == BR_METRICS_COUNTER) {
        snprintf(num, sizeof(num), "%llu", (unsigned long long)cell_sum(m, s->cell));
        out_line(o, f->name, NULL, s->labels, NULL, num);
        return;
    }
    if (f->type == BR_METRICS_GAUGE) {
        snprintf(num, sizeof(num), "%lld", (long long)(int64_t)cell_sum(m, s->cell));
        out_line(o, f->name, NULL, s->labels, NULL, num);
        return;
    }
    uint64_t cum = 0;
    for (int i = 0; i <= f->nbounds; i++) {
        cum += cell_sum(m, s->cell + (uint32_t)i);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)cum);
        out_line(o, f->name, "_bucket", s->labels, i < f->nbounds ? f->le[i] : "+Inf", num);
    }
    uint64_t sum = cell_sum(m, s->cell + (uint32_t)f->nbounds + 1);
    br_metrics_format_f64(num, sizeof(num), (double)sum / f->unit_div);
    out_line(o, f->name, "_sum", s->labels, NULL, num);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)cum);
    out_line(o, f->name, "_count", s->labels, NULL, num);
}

int br_metrics_expose(struct br_metrics *m, char **text, size_t *len)
{
    struct br_metrics_out o = {.max = m->max_bytes};
    pthread_mutex_lock(&m->mu);
    for (const struct br_metrics_family *f = m->fams; f && !o.full; f = f->next) {
        if (!f->head)
            continue;
        br_metrics_out_family(&o, f->name, f->type, f->help);
        for (const struct br_metrics_series *s = f->head; s; s = s->next)
            expose_series(m, &o, f, s);
    }
    pthread_mutex_unlock(&m->mu);
    for (int i = 0; i < m->ncollectors && !o.full; i++)
        m->collectors[i].fn(m->collectors[i].arg, &o);
    if (o.nomem && o.len == 0) {
        free(o.p);
        return -ENOMEM;
    }
    if (!o.p) {
        o.p = malloc(1);
        if (!o.p)
            return -ENOMEM;
    }
    o.p[o.len] = 0;
    *text = o.p;
    *len = o.len;
    return o.full ? -EMSGSIZE : 0;
}
