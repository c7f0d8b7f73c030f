/*
 * sb_figs — figures over runs (see sb.h): what produce, consume, e2e and durable report.
 *
 * A figure is one number per run, kept per run so that the report can give min / median /
 * max and the JSON can give every run. The text table has one line per figure, grouped in
 * sections; a figure whose spread ((max - min) / median) exceeds SB_SPREAD_WARN is marked '!'
 * and named in one warning on stderr. A single run prints one value column, headed "1 run":
 * there is no median of one.
 *
 * Also the window line: every --interval, one line on stderr with the rate and the latency of
 * that window only, whatever stderr is (a terminal, a file, a pipe).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"

void sb_figs_init(struct sb_figs *fs, const struct sb_opts *o)
{
    memset(fs, 0, sizeof(*fs));
    fs->o = o;
    sb_machine_get(&fs->machine);
    fs->load_start = sb_loadavg1();
}

void sb_figs_sect(struct sb_figs *fs, const char *key, const char *title)
{
    for (int i = 0; i < fs->n_sect; i++)
        if (!strcmp(fs->sect[i].key, key))
            return;
    if (fs->n_sect == (int)(sizeof(fs->sect) / sizeof(fs->sect[0])))
        return;
    struct sb_sect *s = &fs->sect[fs->n_sect++];
    snprintf(s->key, sizeof(s->key), "%s", key);
    snprintf(s->title, sizeof(s->title), "%s", title);
}

void sb_figs_set(struct sb_figs *fs, int run, const char *sect, const char *key, const char *label,
                 int decimals, double v)
{
    if (run < 0 || run >= SB_MAX_RUNS)
        return;
    struct sb_fig *f = NULL;
    for (int i = 0; i < fs->n && !f; i++)
        if (!strcmp(fs->f[i].sect, sect) && !strcmp(fs->f[i].key, key))
            f = &fs->f[i];
    if (!f) {
        if (fs->n == SB_MAX_FIGS)
            return;
        f = &fs->f[fs->n++];
        snprintf(f->sect, sizeof(f->sect), "%s", sect);
        snprintf(f->key, sizeof(f->key), "%s", key);
        snprintf(f->label, sizeof(f->label), "%s", label);
        f->decimals = decimals;
        for (int i = 0; i < SB_MAX_RUNS; i++)
            f->v[i] = NAN;
    }
    f->v[run] = v;
    if (run + 1 > fs->runs)
        fs->runs = run + 1;
}

void sb_figs_latency(struct sb_figs *fs, int run, const char *sect, const struct sb_hist *h)
{
    static const struct {
        const char *key, *label;
        double p;
    } ps[] = {{"p50_ms", "p50", 50},       {"p95_ms", "p95", 95},          {"p99_ms", "p99", 99},
              {"p99_9_ms", "p99.9", 99.9}, {"p99_99_ms", "p99.99", 99.99}, {"max_ms", "max", 100}};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
        sb_figs_set(fs, run, sect, ps[i].key, ps[i].label, 3,
                    h->count ? (double)sb_hist_percentile(h, ps[i].p) / 1e6 : NAN);
    sb_figs_set(fs, run, sect, "samples", "samples", 0, (double)h->count);
}

void sb_figs_note(struct sb_figs *fs, const char *fmt, ...)
{
    if (fs->n_notes == (int)(sizeof(fs->notes) / sizeof(fs->notes[0])))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fs->notes[fs->n_notes], sizeof(fs->notes[0]), fmt, ap);
    va_end(ap);
    for (int i = 0; i < fs->n_notes; i++) /* the same note from every run: once */
        if (!strcmp(fs->notes[i], fs->notes[fs->n_notes]))
            return;
    fs->n_notes++;
}

static bool fig_wide(const struct sb_fig *f, int runs)
{
    struct sb_stat s;
    sb_stat_of(f->v, runs, &s);
    return sb_stat_spread(&s) > SB_SPREAD_WARN;
}

static void put_val(FILE *out, double v, int decimals)
{
    if (isnan(v))
        fprintf(out, " %11s", "-");
    else
        fprintf(out, " %11.*f", decimals, v);
}

static void print_head(FILE *out, const struct sb_figs *fs)
{
    const struct sb_opts *o = fs->o;
    fprintf(out, "splicelog-bench %s: %s\n", o->cmd, fs->settings);
    fprintf(out, "command: %s\n", o->command);
    fprintf(out, "machine: %s, %d cores, %s; load average (1 min) %.2f at start, %.2f at end\n",
            fs->machine.cpu_model, fs->machine.cores, fs->machine.kernel, fs->load_start,
            fs->load_end);
    fprintf(out, "broker: %s; CPU: %s\n", fs->broker, sb_proc_cpu_source());
}

static void print_table(FILE *out, const struct sb_figs *fs)
{
    print_head(out, fs);
    bool one = fs->runs <= 1;
    if (one)
        fprintf(out,
                "1 run (one value per figure; --runs 3 or more shows the spread between "
                "runs)\n%-46s %11s\n",
                "", "value");
    else
        fprintf(out,
                "%d runs: median, min, max of the per-run figures; '!' = max - min above %.0f%% "
                "of the median\n%-46s %11s %11s %11s\n",
                fs->runs, SB_SPREAD_WARN * 100, "", "median", "min", "max");
    for (int s = 0; s < fs->n_sect; s++) {
        bool any = false;
        for (int i = 0; i < fs->n && !any; i++)
            any = !strcmp(fs->f[i].sect, fs->sect[s].key);
        if (!any)
            continue;
        fprintf(out, "%s\n", fs->sect[s].title);
        for (int i = 0; i < fs->n; i++) {
            const struct sb_fig *f = &fs->f[i];
            if (strcmp(f->sect, fs->sect[s].key))
                continue;
            fprintf(out, "  %-44s", f->label);
            if (one) {
                put_val(out, f->v[0], f->decimals);
            } else {
                struct sb_stat st;
                sb_stat_of(f->v, fs->runs, &st);
                put_val(out, st.median, f->decimals);
                put_val(out, st.min, f->decimals);
                put_val(out, st.max, f->decimals);
                if (fig_wide(f, fs->runs))
                    fputs(" !", out);
            }
            fputc('\n', out);
        }
    }
    for (int i = 0; i < fs->n_notes; i++)
        fprintf(out, "note: %s\n", fs->notes[i]);
}

void sb_figs_json_head(struct sb_json *j, const struct sb_figs *fs)
{
    const struct sb_opts *o = fs->o;
    sb_json_str(j, "mode", o->cmd);
    sb_json_str(j, "command", o->command);
    sb_json_obj(j, "machine");
    sb_json_str(j, "cpu_model", fs->machine.cpu_model);
    sb_json_int(j, "cores", fs->machine.cores);
    sb_json_str(j, "kernel", fs->machine.kernel);
    sb_json_end(j);
    sb_json_obj(j, "load_average_1m");
    sb_json_num(j, "start", fs->load_start, 2);
    sb_json_num(j, "end", fs->load_end, 2);
    sb_json_end(j);
    sb_json_int(j, "runs", fs->runs);
    sb_json_str(j, "client", o->client ? o->client->name : "splicelog");
    sb_json_str(j, "broker", fs->broker);
    sb_json_str(j, "cpu_source", sb_proc_cpu_source());
    /* "key=value key=value": numbers as numbers */
    sb_json_obj(j, "settings");
    char buf[sizeof(fs->settings)], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", fs->settings);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(t, '=');
        if (!eq)
            continue;
        *eq = 0;
        char *end;
        double v = strtod(eq + 1, &end);
        if (end != eq + 1 && !*end)
            sb_json_num(j, t, v, v == (long long)v ? 0 : 3);
        else
            sb_json_str(j, t, eq + 1);
    }
    sb_json_end(j);
}

static int write_json(const struct sb_figs *fs, const char *path)
{
    struct sb_json j;
    int rc = sb_json_open(&j, path);
    if (rc)
        return rc;
    sb_json_obj(&j, NULL);
    sb_figs_json_head(&j, fs);
    sb_json_obj(&j, "figures");
    for (int s = 0; s < fs->n_sect; s++) {
        bool open = false;
        for (int i = 0; i < fs->n; i++) {
            const struct sb_fig *f = &fs->f[i];
            if (strcmp(f->sect, fs->sect[s].key))
                continue;
            if (!open) {
                sb_json_obj(&j, fs->sect[s].key);
                open = true;
            }
            sb_json_stat(&j, f->key, f->v, fs->runs, f->decimals + 1);
        }
        if (open)
            sb_json_end(&j);
    }
    sb_json_end(&j);
    sb_json_arr(&j, "per_run");
    for (int r = 0; r < fs->runs; r++) {
        sb_json_obj(&j, NULL);
        for (int s = 0; s < fs->n_sect; s++) {
            bool open = false;
            for (int i = 0; i < fs->n; i++) {
                const struct sb_fig *f = &fs->f[i];
                if (strcmp(f->sect, fs->sect[s].key))
                    continue;
                if (!open) {
                    sb_json_obj(&j, fs->sect[s].key);
                    open = true;
                }
                sb_json_num(&j, f->key, f->v[r], f->decimals + 1);
            }
            if (open)
                sb_json_end(&j);
        }
        sb_json_end(&j);
    }
    sb_json_end(&j);
    sb_json_arr(&j, "spread_warnings");
    for (int i = 0; i < fs->n; i++)
        if (fig_wide(&fs->f[i], fs->runs)) {
            char name[64];
            snprintf(name, sizeof(name), "%s.%s", fs->f[i].sect, fs->f[i].key);
            sb_json_str(&j, NULL, name);
        }
    sb_json_end(&j);
    sb_json_arr(&j, "notes");
    for (int i = 0; i < fs->n_notes; i++)
        sb_json_str(&j, NULL, fs->notes[i]);
    sb_json_end(&j);
    /* the table's words, for whoever renders the figures (scripts/bench-readme.py) */
    sb_json_obj(&j, "labels");
    for (int s = 0; s < fs->n_sect; s++) {
        sb_json_obj(&j, fs->sect[s].key);
        sb_json_str(&j, "title", fs->sect[s].title);
        for (int i = 0; i < fs->n; i++)
            if (!strcmp(fs->f[i].sect, fs->sect[s].key))
                sb_json_str(&j, fs->f[i].key, fs->f[i].label);
        sb_json_end(&j);
    }
    sb_json_end(&j);
    sb_json_end(&j);
    return sb_json_close(&j);
}

int sb_figs_report(struct sb_figs *fs)
{
    const struct sb_opts *o = fs->o;
    fs->load_end = sb_loadavg1();
    bool json_stdout = o->json && !strcmp(o->json, "-");
    FILE *out = json_stdout ? stderr : stdout;
    print_table(out, fs);
    fflush(out);
    int wide = 0;
    char names[400] = "";
    for (int i = 0; i < fs->n; i++)
        if (fig_wide(&fs->f[i], fs->runs)) {
            size_t l = strlen(names);
            if (l < sizeof(names) - 80)
                snprintf(names + l, sizeof(names) - l, "%s%s.%s", wide ? ", " : "", fs->f[i].sect,
                         fs->f[i].key);
            wide++;
        }
    if (wide)
        fprintf(stderr,
                "splicelog-bench: warning: %d figure%s vary by more than %.0f%% of the median "
                "between runs (marked !): %s. The machine is busy or the runs are short: "
                "compare medians only with more --runs or longer runs.\n",
                wide, wide == 1 ? "" : "s", SB_SPREAD_WARN * 100, names);
    if (!o->json)
        return 0;
    int rc = write_json(fs, o->json);
    if (rc)
        fprintf(stderr, "splicelog-bench %s: %s: %s\n", o->cmd, o->json, strerror(-rc));
    return rc;
}

void sb_cpu_figs(struct sb_figs *fs, int run, const char *who, int64_t ns, double gib,
                 long long records, double seconds)
{
    char key[32], label[64];
    double s = ns >= 0 ? (double)ns / 1e9 : NAN;
    snprintf(key, sizeof(key), "%s_cpu_s_per_gib", who);
    snprintf(label, sizeof(label), "%s CPU s per GiB of values", who);
    sb_figs_set(fs, run, "cpu", key, label, 3, gib > 0 ? s / gib : NAN);
    snprintf(key, sizeof(key), "%s_cpu_s_per_m_records", who);
    snprintf(label, sizeof(label), "%s CPU s per million records", who);
    sb_figs_set(fs, run, "cpu", key, label, 3, records > 0 ? s / (double)records * 1e6 : NAN);
    snprintf(key, sizeof(key), "%s_cpu_cores", who);
    snprintf(label, sizeof(label), "%s CPU, cores busy", who);
    sb_figs_set(fs, run, "cpu", key, label, 2, seconds > 0 ? s / seconds : NAN);
}

void sb_fmt_stat(char *buf, size_t len, const double *v, int n, int decimals)
{
    struct sb_stat s;
    sb_stat_of(v, n, &s);
    if (!s.n)
        snprintf(buf, len, "-");
    else if (n == 1)
        snprintf(buf, len, "%.*f", decimals, s.median);
    else
        snprintf(buf, len, "%.*f [%.*f-%.*f]%s", decimals, s.median, decimals, s.min, decimals,
                 s.max, sb_stat_spread(&s) > SB_SPREAD_WARN ? "!" : "");
}

/* ---- window lines ------------------------------------------------------------------------- */

void sb_window_init(struct sb_window *w, const char *label, long long interval_ms, bool latency)
{
    memset(w, 0, sizeof(*w));
    w->label = label;
    w->interval_ns = interval_ms > 0 ? (uint64_t)interval_ms * 1000000ULL : 0;
    w->start = w->from = sb_now_ns();
    if (latency && w->interval_ns) {
        w->hist = malloc(sizeof(*w->hist));
        if (w->hist)
            sb_hist_init(w->hist);
    }
}

void sb_window_start(struct sb_window *w, uint64_t now)
{
    w->start = w->from = now;
    w->records = w->bytes = 0;
    if (w->hist)
        sb_hist_init(w->hist);
}

void sb_window_add(struct sb_window *w, long long bytes, uint64_t latency_ns)
{
    w->records++;
    w->bytes += bytes;
    if (w->hist && latency_ns != UINT64_MAX)
        sb_hist_add(w->hist, latency_ns);
}

static void window_line(struct sb_window *w, uint64_t now);

void sb_window_tick(struct sb_window *w, uint64_t now)
{
    if (!w->interval_ns || now - w->from < w->interval_ns)
        return;
    window_line(w, now);
}

void sb_window_flush(struct sb_window *w, uint64_t now)
{
    /* a sliver of a window (the run ended just after a line) says nothing */
    if (w->interval_ns && w->records && now - w->from >= w->interval_ns / 10)
        window_line(w, now);
}

static void window_line(struct sb_window *w, uint64_t now)
{
    double dt = (double)(now - w->from) / 1e9;
    char lat[64] = "";
    if (w->hist) {
        if (w->hist->count)
            snprintf(lat, sizeof(lat), ", p99 %.3f ms, max %.3f ms",
                     (double)sb_hist_percentile(w->hist, 99) / 1e6, (double)w->hist->max / 1e6);
        else
            snprintf(lat, sizeof(lat), ", no latency samples");
        sb_hist_init(w->hist);
    }
    fprintf(stderr, "[%s %6.1f s] %.0f records/s, %.1f MB/s%s\n", w->label,
            (double)(now - w->start) / 1e9, (double)w->records / dt, (double)w->bytes / dt / 1e6,
            lat);
    w->records = w->bytes = 0;
    w->from = now;
}

void sb_window_free(struct sb_window *w)
{
    free(w->hist);
    w->hist = NULL;
}
