/*
 * br_metrics — counters, gauges and histograms with labels, cheap enough for the request path,
 * and their exposition in the Prometheus text format (version 0.0.4).
 *
 * Contract
 * - One registry (struct br_metrics) holds families (a name, a help text, a type, label
 *   names) and their series (one set of label values each). br_metrics_new() sizes everything
 *   once: `shards` writer shards of `cells` 64-bit cells each, plus one shared shard; nothing
 *   grows afterwards, so memory is bounded and no pointer a writer holds ever moves.
 * - Families are registered at start-up, before any other thread records or scrapes
 *   (br_metrics_family: not thread-safe). Series may be made at any time from any thread
 *   (br_metrics_series: one mutex, taken only when the series does not exist yet); a family's
 *   max_series bounds them: past it, a lookup gets the family's overflow series (label values
 *   BR_METRICS_OTHER) when it was registered with one, else NULL, and the family counts the
 *   drop (br_metrics_dropped) and logs one line the first time.
 * - Recording (br_metrics_add, br_metrics_observe) takes no lock and no atomic read-modify-
 *   write on a shared cache line: each thread that records is given its own shard the first
 *   time (its cells are written by that thread only, with relaxed atomic loads and stores);
 *   threads beyond `shards` share the last shard through atomic adds. A NULL series is a no-op.
 *   A scrape sums the shards (relaxed loads): it sees each cell at some recent value.
 * - Values: counters count up (uint64); gauges recorded here go up and down by adds (their
 *   shard sums are signed); histograms take int64 observations in a base unit and print them
 *   scaled (nanoseconds printed as seconds: unit_scale 1e-9), with cumulative buckets, +Inf,
 *   _sum and _count; _count always equals the +Inf bucket. Gauges whose value is read from
 *   elsewhere (sizes, offsets) are written by collectors at scrape time.
 * - Exposition (br_metrics_expose, any thread, one at a time or concurrently): the registry's
 *   families in registration order (those without series left out), then each collector's
 *   output. HELP and TYPE lines, label values escaped (\\ \" \n) and made valid UTF-8 (bad
 *   bytes become U+FFFD), floats as Prometheus parses them (+Inf, -Inf, NaN). The text is
 *   bounded by max_bytes: past it the scrape stops at the last whole line and says so (-EMSGSIZE,
 *   the text so far still returned).
 * - Errors: 0 or -errno (-EINVAL bad name or argument, -ENOMEM, -ENOSPC out of cells).
 */
#ifndef SPLICELOG_BR_METRICS_H
#define SPLICELOG_BR_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BR_METRICS_LABELS_MAX  4         /* labels per family */
#define BR_METRICS_BUCKETS_MAX 24        /* finite histogram buckets */
#define BR_METRICS_OTHER       "(other)" /* label value of an overflow series */

enum br_metrics_type {
    BR_METRICS_COUNTER = 0,
    BR_METRICS_GAUGE,
    BR_METRICS_HISTOGRAM,
};

struct br_metrics;
struct br_metrics_family;

/* One series (one set of label values) of a family; opaque, valid until br_metrics_free. */
struct br_metrics_series;

/* A label value that may not be NUL-terminated (a wire string). */
struct br_metrics_val {
    const char *p;
    size_t len;
};
#define BR_METRICS_VAL(s) ((struct br_metrics_val){(s), sizeof(s) - 1})

struct br_metrics_opts {
    const char *const *labels; /* nlabels label names */
    int nlabels;               /* 0..BR_METRICS_LABELS_MAX */
    uint32_t max_series;       /* 0: 1 when nlabels == 0, else 1024 */
    bool overflow;             /* past max_series, share one BR_METRICS_OTHER series */
    const double *bounds;      /* histograms: finite upper bounds, ascending, in the printed
                                  unit (seconds) */
    int nbounds;               /* 1..BR_METRICS_BUCKETS_MAX */
    double unit_scale;         /* histograms: printed value = observed value * unit_scale
                                  (1e-9: observations in ns, printed in seconds) */
};

/*
 * A registry: shards writer shards (plus one shared) of cells cells each, exposition bounded
 * by max_bytes. NULL on failure (no memory, or shards/cells 0).
 */
struct br_metrics *br_metrics_new(int shards, uint32_t cells, size_t max_bytes);
/* After every thread that records or scrapes is done with it. NULL is a no-op. */
void br_metrics_free(struct br_metrics *m);

/* Registers a family (start-up only). NULL when the name, a label name or the bounds are not
 * valid, or when out of memory. */
struct br_metrics_family *br_metrics_family(struct br_metrics *m, const char *name,
                                            enum br_metrics_type type, const char *help,
                                            const struct br_metrics_opts *opts);
/*
 * The series of f with these label values (f's nlabels of them), made on first use (cells
 * permitting). NULL when f is at max_series without overflow, or out of cells (counted as
 * dropped). Lock-free when the series exists.
 */
struct br_metrics_series *br_metrics_series(struct br_metrics *m, struct br_metrics_family *f,
                                            const struct br_metrics_val *vals);
/* The same for C strings (NULL-terminated list not needed: f's nlabels are read). */
struct br_metrics_series *br_metrics_series_c(struct br_metrics *m, struct br_metrics_family *f,
                                              const char *const *vals);
/* Series lookups refused for f (max_series reached without overflow, or no cells). */
uint64_t br_metrics_dropped(const struct br_metrics_family *f);
const char *br_metrics_family_name(const struct br_metrics_family *f);

/* Counter += n, or gauge += (int64_t)n. */
void br_metrics_add(struct br_metrics *m, const struct br_metrics_series *s, uint64_t n);
/* Histogram: one observation v (in the base unit); negative values count as 0. */
void br_metrics_observe(struct br_metrics *m, const struct br_metrics_series *s, int64_t v);
/* The sum over shards of a counter or gauge cell (tests, collectors). */
uint64_t br_metrics_value(const struct br_metrics *m, const struct br_metrics_series *s);
/* Histogram count and sum (base unit) over shards. */
void br_metrics_hist_value(const struct br_metrics *m, const struct br_metrics_series *s,
                           uint64_t *count, uint64_t *sum);

/* ---- exposition ------------------------------------------------------------------------- */

/* The text being built by a scrape; collectors write into it through br_metrics_out_*. */
struct br_metrics_out;

struct br_metrics_label {
    const char *name;
    const char *value; /* len bytes, any bytes (escaped and made valid UTF-8 on output) */
    size_t len;
};

/* A collector writes whole families (a family line, then its samples) at scrape time. It
 * runs on the scraping thread, without the registry's lock. */
typedef void (*br_metrics_collect_fn)(void *arg, struct br_metrics_out *o);
/* Start-up only; at most 8 collectors. 0 or -ENOSPC. */
int br_metrics_collector(struct br_metrics *m, br_metrics_collect_fn fn, void *arg);

/* HELP and TYPE lines of a family written by a collector. */
void br_metrics_out_family(struct br_metrics_out *o, const char *name, enum br_metrics_type type,
                           const char *help);
/* One sample line: name, labels (n of them, may be 0), value. */
void br_metrics_out_i64(struct br_metrics_out *o, const char *name,
                        const struct br_metrics_label *labels, int n, int64_t v);
void br_metrics_out_f64(struct br_metrics_out *o, const char *name,
                        const struct br_metrics_label *labels, int n, double v);
/* True once the scrape has hit max_bytes: a collector may stop early. */
bool br_metrics_out_full(const struct br_metrics_out *o);

/*
 * The whole exposition: *text (malloc'd, NUL-terminated, caller frees) and *len. 0, -ENOMEM
 * (nothing returned), or -EMSGSIZE (cut at max_bytes; the text so far returned).
 */
int br_metrics_expose(struct br_metrics *m, char **text, size_t *len);

/* ---- text helpers (exposed for tests) --------------------------------------------------- */

/* Appends v as a label value: escaped, valid UTF-8. Returns the bytes written (never more than
 * cap - 1; NUL-terminated), or the bytes needed when cap is too small (nothing usable then). */
size_t br_metrics_escape_value(char *out, size_t cap, const char *v, size_t len);
/* Formats a float as the text format wants it (shortest round-trip, +Inf, -Inf, NaN). */
void br_metrics_format_f64(char *out, size_t cap, double v);
/* A valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) / label name ([a-zA-Z_][a-zA-Z0-9_]*, not
 * starting with __). */
bool br_metrics_name_ok(const char *name);
bool br_metrics_label_ok(const char *name);

#endif
