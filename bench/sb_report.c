/*
 * sb_report — what `compare` prints: its table (stdout), its JSON (--json), its gnuplot bar
 * chart (--plot); running gnuplot for any chart; the progress line (stderr, terminals only).
 * Every figure is the median of the runs with [min-max] beside it; JSON figures are
 * {min, median, max, spread, runs} objects, null where nothing was measured.
 * Charts: no legend inside the plot area (below it, or none when a panel has one series),
 * margins wide enough for two-line tick labels, headroom above the tallest bar for its label.
 * A missing gnuplot skips the chart with a message; it does not fail the command.
 */
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb.h"

extern char **environ;

void sb_progress(const struct sb_opts *o, const char *fmt, ...)
{
    if (!o->progress)
        return;
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

void sb_progress_end(const struct sb_opts *o)
{
    if (o->progress) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
}

double sb_row_median(const double *v, int n)
{
    struct sb_stat s;
    sb_stat_of(v, n, &s);
    return s.median;
}

static int n_tls(const struct sb_report *r) { return r->n_limit_tls; }

void sb_report_table(FILE *f, const struct sb_report *r)
{
    const struct sb_figs *h = &r->head;
    int runs = (int)r->runs;
    char a[64], b[64], c[64], d[64];
    fprintf(f,
            "splicelog-bench compare: %lld MiB of %lld-byte records (%lld records), %lld run%s "
            "per path%s\n",
            r->size >> 20, r->record_size, r->records_produced, r->runs, runs == 1 ? "" : "s",
            runs == 1 ? " (one value, no spread)"
                      : ": median [min-max], '!' = max - min above 25% of the median");
    fprintf(f, "command: %s\n", h->o->command);
    fprintf(f, "machine: %s, %d cores, %s; load average (1 min) %.2f at start, %.2f at end\n",
            h->machine.cpu_model, h->machine.cores, h->machine.kernel, h->load_start, h->load_end);
    fprintf(f, "CPU: %s\n", sb_proc_cpu_source());
    sb_fmt_stat(a, sizeof(a), r->limit_sendfile, runs, 0);
    fprintf(f, "limit sendfile (bare sendfile over loopback): %s MB/s\n", a);
    sb_fmt_stat(a, sizeof(a), r->limit_copy, runs, 0);
    fprintf(f, "reference: bare read+send stream over loopback: %s MB/s\n", a);
    if (n_tls(r)) {
        sb_fmt_stat(a, sizeof(a), r->limit_tls, runs, 0);
        fprintf(f, "limit tls (bare TLS 1.3 AES-128-GCM stream): %s MB/s\n", a);
    } else {
        fprintf(f, "limit tls: unavailable (%s)\n", r->limit_tls_reason);
    }
    fprintf(f, "%-9s %-22s %-19s %6s %-22s %-22s %s\n", "path", "MB/s", "M records/s", "ratio",
            "broker CPU s/GiB", "client CPU s/GiB", "records, digest");
    for (int i = 0; i < r->n_rows; i++) {
        const struct sb_row *w = &r->rows[i];
        if (!w->available) {
            fprintf(f, "%-9s unavailable: %s\n", w->path, w->reason);
            continue;
        }
        if (!w->digest_ok) {
            fprintf(f, "%-9s FAILED: %s\n", w->path, w->reason);
            continue;
        }
        double mrec[SB_MAX_RUNS];
        for (int k = 0; k < w->n; k++)
            mrec[k] = w->records_per_s[k] / 1e6;
        sb_fmt_stat(a, sizeof(a), w->mb_per_s, w->n, 0);
        sb_fmt_stat(b, sizeof(b), mrec, w->n, 2);
        sb_fmt_stat(c, sizeof(c), w->broker_cpu_s_per_gib, w->n, 3);
        sb_fmt_stat(d, sizeof(d), w->client_cpu_s_per_gib, w->n, 3);
        double limit = sb_row_median(strcmp(w->limit, "tls") ? r->limit_sendfile : r->limit_tls,
                                     strcmp(w->limit, "tls") ? runs : n_tls(r));
        double ratio = limit > 0 ? sb_row_median(w->mb_per_s, w->n) / limit : NAN;
        char rs[16];
        if (isnan(ratio))
            snprintf(rs, sizeof(rs), "-");
        else
            snprintf(rs, sizeof(rs), "%.2f", ratio);
        fprintf(f, "%-9s %-22s %-19s %6s %-22s %-22s %lld ok\n", w->path, a, b, rs, c, d,
                w->records_consumed);
    }
    fprintf(f,
            "MB/s: fetch response bytes (the stored record batches) per second as received by "
            "the libsplicelog consumer; ratio: %s of its kind (sendfile, or tls for the TLS "
            "rows)\n",
            runs > 1 ? "median MB/s to the median limit" : "MB/s to the limit");
}

int sb_report_json(const char *path, const struct sb_report *r)
{
    struct sb_json j;
    int rc = sb_json_open(&j, path);
    if (rc)
        return rc;
    int runs = (int)r->runs;
    sb_json_obj(&j, NULL);
    sb_figs_json_head(&j, &r->head);
    sb_json_int(&j, "size", r->size);
    sb_json_int(&j, "record_size", r->record_size);
    sb_json_int(&j, "records_produced", r->records_produced);
    char dg[20];
    snprintf(dg, sizeof(dg), "%016llx", (unsigned long long)r->digest);
    sb_json_str(&j, "digest", dg);
    sb_json_obj(&j, "limits");
    sb_json_stat(&j, "sendfile_mb_per_s", r->limit_sendfile, runs, 1);
    sb_json_stat(&j, "copy_mb_per_s", r->limit_copy, runs, 1);
    if (n_tls(r)) {
        sb_json_stat(&j, "tls_mb_per_s", r->limit_tls, n_tls(r), 1);
    } else {
        sb_json_null(&j, "tls_mb_per_s");
        sb_json_str(&j, "tls_reason", r->limit_tls_reason);
    }
    sb_json_end(&j);
    sb_json_arr(&j, "paths");
    for (int i = 0; i < r->n_rows; i++) {
        const struct sb_row *w = &r->rows[i];
        bool ok = w->available && w->digest_ok;
        int n = ok ? w->n : 0;
        sb_json_obj(&j, NULL);
        sb_json_str(&j, "path", w->path);
        sb_json_bool(&j, "available", w->available);
        sb_json_str(&j, "limit", w->limit ? w->limit : "");
        if (ok) {
            sb_json_stat(&j, "mb_per_s", w->mb_per_s, n, 1);
            sb_json_stat(&j, "records_per_s", w->records_per_s, n, 0);
            sb_json_stat(&j, "broker_cpu_s_per_gib", w->broker_cpu_s_per_gib, n, 4);
            sb_json_stat(&j, "client_cpu_s_per_gib", w->client_cpu_s_per_gib, n, 4);
            bool tls = !strcmp(w->limit, "tls");
            double limit =
                sb_row_median(tls ? r->limit_tls : r->limit_sendfile, tls ? n_tls(r) : runs);
            sb_json_num(&j, "ratio_to_limit",
                        limit > 0 ? sb_row_median(w->mb_per_s, n) / limit : NAN, 3);
        } else {
            static const char *const keys[] = {"mb_per_s", "records_per_s", "broker_cpu_s_per_gib",
                                               "client_cpu_s_per_gib", "ratio_to_limit"};
            for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
                sb_json_null(&j, keys[k]);
        }
        sb_json_int(&j, "records_consumed", w->available ? w->records_consumed : 0);
        sb_json_bool(&j, "digest_ok", ok);
        if (!ok)
            sb_json_str(&j, "reason", w->reason);
        sb_json_end(&j);
    }
    sb_json_end(&j);
    sb_json_arr(&j, "spread_warnings");
    for (int i = 0; i < r->n_rows; i++) {
        const struct sb_row *w = &r->rows[i];
        if (!w->available || !w->digest_ok)
            continue;
        const double *figs[] = {w->mb_per_s, w->broker_cpu_s_per_gib, w->client_cpu_s_per_gib};
        static const char *const names[] = {"mb_per_s", "broker_cpu_s_per_gib",
                                            "client_cpu_s_per_gib"};
        for (int k = 0; k < 3; k++) {
            struct sb_stat s;
            sb_stat_of(figs[k], w->n, &s);
            if (sb_stat_spread(&s) > SB_SPREAD_WARN) {
                char name[64];
                snprintf(name, sizeof(name), "%s.%s", w->path, names[k]);
                sb_json_str(&j, NULL, name);
            }
        }
    }
    sb_json_end(&j);
    sb_json_end(&j);
    return sb_json_close(&j);
}

int sb_gnuplot(const char *script, char *why, size_t why_len)
{
    char path[600];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/splicelog-bench-plot.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        snprintf(why, why_len, "temporary file: %s", strerror(errno));
        return -EIO;
    }
    size_t len = strlen(script);
    bool ok = write(fd, script, len) == (ssize_t)len;
    close(fd);
    if (!ok) {
        unlink(path);
        snprintf(why, why_len, "write %s: %s", path, strerror(errno));
        return -EIO;
    }
    pid_t pid;
    char *argv[] = {"gnuplot", path, NULL};
    int rc = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
    if (rc) {
        unlink(path);
        snprintf(why, why_len, "gnuplot is not installed (%s; Debian package gnuplot-nox)",
                 strerror(rc));
        return -ENOENT;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    unlink(path);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        snprintf(why, why_len, "gnuplot failed (status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return -EIO;
    }
    return 0;
}

bool sb_plot_or_skip(int rc, const char *png, const char *why)
{
    if (!rc) {
        fprintf(stderr, "chart: %s\n", png);
        return true;
    }
    fprintf(stderr, "splicelog-bench: no chart %s: %s\n", png, why);
    return rc == -ENOENT; /* a missing gnuplot is not a failure of the measurement */
}

/* gnuplot reads the script from a file; the data sits inline in a datablock:
 * name, MB/s median min max, colour, broker CPU median min max, client CPU median min max. */
int sb_report_plot(const char *png, const struct sb_report *r, char *why, size_t why_len)
{
    size_t cap = 16384, used = 0;
    char *sc = malloc(cap);
    if (!sc)
        return -ENOMEM;
#define OUT(...) used += (size_t)snprintf(sc + used, used < cap ? cap - used : 0, __VA_ARGS__)
    int runs = (int)r->runs;
    struct sb_stat s, b, c;
    OUT("$d << EOD\n");
    sb_stat_of(r->limit_sendfile, runs, &s);
    OUT("\"limit\\nsendfile\" %.1f %.1f %.1f 1 0 0 0 0 0 0\n", s.median, s.min, s.max);
    sb_stat_of(r->limit_copy, runs, &s);
    OUT("\"bare\\ncopy\" %.1f %.1f %.1f 1 0 0 0 0 0 0\n", s.median, s.min, s.max);
    if (n_tls(r)) {
        sb_stat_of(r->limit_tls, n_tls(r), &s);
        OUT("\"limit\\ntls\" %.1f %.1f %.1f 1 0 0 0 0 0 0\n", s.median, s.min, s.max);
    }
    double top = 0;
    for (int i = 0; i < r->n_rows; i++) {
        const struct sb_row *w = &r->rows[i];
        if (w->available && w->digest_ok) {
            sb_stat_of(w->mb_per_s, w->n, &s);
            sb_stat_of(w->broker_cpu_s_per_gib, w->n, &b);
            sb_stat_of(w->client_cpu_s_per_gib, w->n, &c);
            OUT("\"%s\" %.1f %.1f %.1f 2 %.4f %.4f %.4f %.4f %.4f %.4f\n", w->path, s.median, s.min,
                s.max, isnan(b.median) ? 0 : b.median, isnan(b.min) ? 0 : b.min,
                isnan(b.max) ? 0 : b.max, c.median, c.min, c.max);
            if (s.max > top)
                top = s.max;
        } else {
            OUT("\"%s\\n(n/a)\" 0 0 0 2 0 0 0 0 0 0\n", w->path);
        }
    }
    OUT("EOD\n");
    OUT("set terminal pngcairo size 1300,560 font 'sans,10'\nset output '%s'\n", png);
    OUT("set multiplot layout 1,2 title \"splicelog-bench compare: %lld MiB of %lld-byte "
        "records, %s%lld run%s (%s, %d cores)\" font 'sans,12'\n",
        r->size >> 20, r->record_size, runs > 1 ? "median and min-max of " : "", r->runs,
        runs == 1 ? "" : "s", r->head.machine.kernel, r->head.machine.cores);
    OUT("set bmargin 6\nset lmargin 11\nset rmargin 3\nset tmargin 4\n"
        "set style fill solid 0.8 border -1\nset grid ytics\nset xtics nomirror\n"
        "set yrange [0:*]\nset offsets 0.3, 0.3, graph 0.15, 0\n");
    /* left: throughput, one series, no key; labels above the error bar */
    OUT("unset key\nset title 'consumer throughput, MB/s (grey: bare loopback streams)'\n"
        "set ylabel 'MB/s'\nset boxwidth 0.6\n"
        "set linetype 101 lc rgb '#a0a0a0'\nset linetype 102 lc rgb '#3b6ea5'\n"
        "plot $d using 0:2:(0.6):($5 + 100):xtic(1) with boxes lc variable, "
        "'' using 0:2:3:4 with yerrorbars lc rgb '#202020' ps 0 lw 1.5, "
        "'' using 0:($4 > 0 ? $4 : 1/0):($2 > 0 ? sprintf('%%.0f', $2) : '') with labels "
        "offset 0,0.9\n");
    /* right: CPU per GiB, two series: the key goes below the plot, never over a bar */
    OUT("set title 'CPU seconds per GiB consumed (lower is better)'\nset ylabel 'CPU s/GiB'\n"
        "set key below horizontal\nset style data histograms\n"
        "set style histogram errorbars gap 1 lw 1.5\nset boxwidth 0.9 relative\n"
        "set offsets 0, 0, graph 0.1, 0\n"
        "plot $d every ::%d using 6:7:8:xtic(1) title 'broker' lc rgb '#c0504d', "
        "'' every ::%d using 9:10:11 title 'client (libsplicelog consumer, hashing every "
        "record)' lc rgb '#9bbb59'\n",
        n_tls(r) ? 3 : 2, n_tls(r) ? 3 : 2);
    OUT("unset multiplot\n");
#undef OUT
    (void)top;
    if (used >= cap) {
        free(sc);
        snprintf(why, why_len, "chart script too long");
        return -ENOSPC;
    }
    int rc = sb_gnuplot(sc, why, why_len);
    free(sc);
    return rc;
}
