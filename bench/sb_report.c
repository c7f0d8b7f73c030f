/*
 * sb_report — what splicelog-bench prints: the compare table (stdout), its JSON (--json), its
 * gnuplot bar chart (--plot), latency percentiles, and the progress line (stderr, terminals
 * only). JSON numbers that could not be measured are null; strings are escaped.
 */
#include <errno.h>
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

void sb_hist_print(FILE *f, const char *title, const struct sb_hist *h)
{
    if (!h->count) {
        fprintf(f, "  %s: no samples\n", title);
        return;
    }
    static const double ps[] = {50, 90, 99, 99.9};
    fprintf(f, "  %s (%llu samples), microseconds:\n   ", title, (unsigned long long)h->count);
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
        fprintf(f, " p%g %.1f", ps[i], (double)sb_hist_percentile(h, ps[i]) / 1e3);
    fprintf(f, " max %.1f mean %.1f min %.1f\n", (double)h->max / 1e3,
            h->sum / (double)h->count / 1e3, (double)h->min / 1e3);
}

void sb_report_table(FILE *f, const struct sb_report *r)
{
    fprintf(f,
            "splicelog-bench compare: %lld MiB of %lld-byte records (%lld records), %lld runs "
            "per path (median)\n",
            r->size >> 20, r->record_size, r->records_produced, r->runs);
    fprintf(f, "machine: %s, %d cores, %s\n", r->machine.cpu_model, r->machine.cores,
            r->machine.kernel);
    fprintf(f, "limit sendfile (bare sendfile over loopback): %.0f MB/s\n",
            r->limit_sendfile_mb_per_s);
    fprintf(f, "reference: bare read+send stream over loopback: %.0f MB/s\n",
            r->limit_copy_mb_per_s);
    if (r->limit_tls_mb_per_s > 0)
        fprintf(f, "limit tls (bare TLS 1.3 AES-128-GCM stream):  %.0f MB/s\n",
                r->limit_tls_mb_per_s);
    else
        fprintf(f, "limit tls: unavailable (%s)\n", r->limit_tls_reason);
    fprintf(f, "%-9s %9s %11s %9s %17s %17s  %s\n", "path", "MB/s", "records/s", "ratio",
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
        char ratio[32];
        if (w->ratio_to_limit > 0)
            snprintf(ratio, sizeof(ratio), "%.2f", w->ratio_to_limit);
        else
            snprintf(ratio, sizeof(ratio), "-");
        fprintf(f, "%-9s %9.0f %11.0f %9s %17.3f %17.3f  %lld ok\n", w->path, w->mb_per_s,
                w->records_per_s, ratio, w->broker_cpu_s_per_gib, w->client_cpu_s_per_gib,
                w->records_consumed);
    }
    fprintf(f, "MB/s: fetch response bytes (the stored record batches) per second as received by "
               "the libsplicelog consumer; ratio: to the limit of its kind (sendfile, or tls for "
               "the TLS rows)\n");
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v, int decimals, bool valid)
{
    if (valid)
        fprintf(f, "%.*f", decimals, v);
    else
        fputs("null", f);
}

int sb_report_json(const char *path, const struct sb_report *r)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "{\n  \"size\": %lld,\n  \"record_size\": %lld,\n  \"runs\": %lld,\n", r->size,
            r->record_size, r->runs);
    fprintf(f, "  \"records_produced\": %lld,\n  \"digest\": \"%016llx\",\n", r->records_produced,
            (unsigned long long)r->digest);
    fprintf(f, "  \"machine\": {\"cpu_model\": ");
    json_str(f, r->machine.cpu_model);
    fprintf(f, ", \"cores\": %d, \"kernel\": ", r->machine.cores);
    json_str(f, r->machine.kernel);
    fprintf(f,
            "},\n  \"limits\": {\"sendfile_mb_per_s\": %.1f, \"copy_mb_per_s\": %.1f, "
            "\"tls_mb_per_s\": ",
            r->limit_sendfile_mb_per_s, r->limit_copy_mb_per_s);
    json_num(f, r->limit_tls_mb_per_s, 1, r->limit_tls_mb_per_s > 0);
    if (r->limit_tls_mb_per_s <= 0) {
        fprintf(f, ", \"tls_reason\": ");
        json_str(f, r->limit_tls_reason);
    }
    fprintf(f, "},\n  \"paths\": [");
    for (int i = 0; i < r->n_rows; i++) {
        const struct sb_row *w = &r->rows[i];
        bool ok = w->available && w->digest_ok;
        fprintf(f, "%s\n    {\"path\": ", i ? "," : "");
        json_str(f, w->path);
        fprintf(f, ", \"available\": %s, \"limit\": ", w->available ? "true" : "false");
        json_str(f, w->limit ? w->limit : "");
        fprintf(f, ", \"mb_per_s\": ");
        json_num(f, w->mb_per_s, 1, ok);
        fprintf(f, ", \"records_per_s\": ");
        json_num(f, w->records_per_s, 0, ok);
        fprintf(f, ", \"broker_cpu_s_per_gib\": ");
        json_num(f, w->broker_cpu_s_per_gib, 4, ok && w->broker_cpu_s_per_gib >= 0);
        fprintf(f, ", \"client_cpu_s_per_gib\": ");
        json_num(f, w->client_cpu_s_per_gib, 4, ok);
        fprintf(f, ", \"ratio_to_limit\": ");
        json_num(f, w->ratio_to_limit, 3, ok && w->ratio_to_limit > 0);
        fprintf(f, ", \"records_consumed\": %lld, \"digest_ok\": %s",
                w->available ? w->records_consumed : 0, ok ? "true" : "false");
        if (!ok) {
            fprintf(f, ", \"reason\": ");
            json_str(f, w->reason);
        }
        fputc('}', f);
    }
    fprintf(f, "\n  ]\n}\n");
    return fclose(f) ? -errno : 0;
}

/* gnuplot reads the script from a file; the data sits inline in a datablock. */
int sb_report_plot(const char *png, const struct sb_report *r, const char *tmpdir, char *why,
                   size_t why_len)
{
    char script[600];
    const char *tmp = tmpdir ? tmpdir : getenv("TMPDIR");
    snprintf(script, sizeof(script), "%s/splicelog-bench-plot.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(script);
    if (fd < 0) {
        snprintf(why, why_len, "temporary file: %s", strerror(errno));
        return -errno;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(script);
        snprintf(why, why_len, "fdopen: %s", strerror(errno));
        return -EIO;
    }
    fprintf(f, "$d << EOD\n");
    fprintf(f, "\"limit\\nsendfile\" %.1f 0 0 1\n", r->limit_sendfile_mb_per_s);
    fprintf(f, "\"bare\\ncopy\" %.1f 0 0 1\n", r->limit_copy_mb_per_s);
    if (r->limit_tls_mb_per_s > 0)
        fprintf(f, "\"limit\\ntls\" %.1f 0 0 1\n", r->limit_tls_mb_per_s);
    int shown = 0;
    for (int i = 0; i < r->n_rows; i++) {
        const struct sb_row *w = &r->rows[i];
        if (w->available && w->digest_ok) {
            fprintf(f, "\"%s\" %.1f %.4f %.4f 2\n", w->path, w->mb_per_s,
                    w->broker_cpu_s_per_gib > 0 ? w->broker_cpu_s_per_gib : 0,
                    w->client_cpu_s_per_gib);
            shown++;
        } else {
            fprintf(f, "\"%s\\n(n/a)\" 0 0 0 2\n", w->path);
        }
    }
    fprintf(f, "EOD\n");
    fprintf(f, "set terminal pngcairo size 1200,500 font 'sans,10'\n");
    fprintf(f, "set output '%s'\n", png);
    fprintf(f,
            "set multiplot layout 1,2 title 'splicelog-bench compare: %lld MiB of %lld-byte "
            "records, median of %lld runs (%s, %d cores)'\n",
            r->size >> 20, r->record_size, r->runs, r->machine.kernel, r->machine.cores);
    fprintf(f,
            "set bmargin 5\nset style fill solid 0.8 border -1\nset grid ytics\nset yrange [0:*]\n"
            "set boxwidth 0.6\nunset key\n");
    fprintf(f, "set title 'consumer throughput (MB/s; limits: bare loopback streams)'\n"
               "set ylabel 'MB/s'\n"
               "set linetype 101 lc rgb '#a0a0a0'\nset linetype 102 lc rgb '#3b6ea5'\n"
               "plot $d using 0:2:(0.6):($5 + 100):xtic(1) with boxes lc variable, "
               "'' using 0:2:($2 > 0 ? sprintf('%%.0f', $2) : '') with labels offset 0,0.7\n");
    fprintf(f, "set title 'CPU seconds per GiB consumed (lower is better)'\n"
               "set ylabel 'CPU s/GiB'\nset key top left\nset style data histograms\n"
               "set style histogram clustered gap 1\nset boxwidth 0.9 relative\n"
               "plot $d using 3:xtic(1) title 'broker' lc rgb '#c0504d', "
               "'' using 4 title 'client (libsplicelog consumer)' lc rgb '#9bbb59'\n");
    fprintf(f, "unset multiplot\n");
    (void)shown;
    if (fclose(f)) {
        unlink(script);
        snprintf(why, why_len, "write %s: %s", script, strerror(errno));
        return -EIO;
    }
    pid_t pid;
    char *argv[] = {"gnuplot", script, NULL};
    int rc = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
    if (rc) {
        unlink(script);
        snprintf(why, why_len, "cannot run gnuplot (%s); Debian package gnuplot-nox", strerror(rc));
        return -rc;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    unlink(script);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        snprintf(why, why_len, "gnuplot failed (status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return -EIO;
    }
    return 0;
}
