/*
 * cli_net — what the commands that speak to a broker share (tools/cli.h): their conf and admin
 * handle, error reporting with exit codes, JSON strings and text tables.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

bool cli_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Applies a properties file (key=value lines, '#' and '!' comments) to conf; false after
 * printing why. */
static bool apply_file(const struct cli_cmd *cmd, sl_conf *conf, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_fail(cmd, "--command-config %s: %s", path, strerror(errno));
        return false;
    }
    char line[4096];
    int lineno = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        s[strcspn(s, "\r\n")] = 0;
        if (!*s || *s == '#' || *s == '!')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            cli_fail(cmd, "%s:%d: not key=value", path, lineno);
            ok = false;
            break;
        }
        char *k_end = eq;
        while (k_end > s && (k_end[-1] == ' ' || k_end[-1] == '\t'))
            k_end--;
        *k_end = 0;
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char errstr[256];
        if (sl_conf_set(conf, s, v, errstr, sizeof errstr)) {
            cli_fail(cmd, "%s:%d: %s", path, lineno, errstr);
            ok = false;
        }
    }
    fclose(f);
    return ok;
}

sl_conf *cli_net_conf(const struct cli_cmd *cmd, struct cli_net *net)
{
    int64_t t = 10000;
    if (net->timeout && !cli_int(net->timeout, 1, 3600000, &t)) {
        cli_fail(cmd, "--timeout must be 1 to 3600000 ms");
        return NULL;
    }
    net->timeout_ms = (int)t;
    sl_conf *conf = sl_conf_new();
    char errstr[256];
    char tms[32];
    snprintf(tms, sizeof tms, "%d", net->timeout_ms);
    if (!conf ||
        sl_conf_set(conf, "bootstrap.servers", net->bootstrap ? net->bootstrap : "127.0.0.1:9092",
                    errstr, sizeof errstr) ||
        sl_conf_set(conf, "client.id", "splicelog-cli", errstr, sizeof errstr) ||
        sl_conf_set(conf, "request.timeout.ms", tms, errstr, sizeof errstr)) {
        cli_fail(cmd, "%s", conf ? errstr : "out of memory");
        sl_conf_free(conf);
        return NULL;
    }
    if (net->conf_file && !apply_file(cmd, conf, net->conf_file)) {
        sl_conf_free(conf);
        return NULL;
    }
    for (int i = 0; i < CLI_REPEAT_MAX && net->props[i]; i++) {
        const char *eq = strchr(net->props[i], '=');
        char key[256];
        if (!eq || eq == net->props[i] || (size_t)(eq - net->props[i]) >= sizeof key) {
            cli_fail(cmd, "-X %s: not key=value", net->props[i]);
            sl_conf_free(conf);
            return NULL;
        }
        memcpy(key, net->props[i], (size_t)(eq - net->props[i]));
        key[eq - net->props[i]] = 0;
        if (sl_conf_set(conf, key, eq + 1, errstr, sizeof errstr)) {
            cli_fail(cmd, "-X %s: %s", key, errstr);
            sl_conf_free(conf);
            return NULL;
        }
    }
    return conf;
}

sl_admin *cli_admin(const struct cli_cmd *cmd, struct cli_net *net)
{
    sl_conf *conf = cli_net_conf(cmd, net);
    if (!conf)
        return NULL;
    char errstr[256];
    sl_admin *a = sl_admin_new(conf, errstr, sizeof errstr);
    if (!a)
        cli_fail(cmd, "%s", errstr);
    return a;
}

sl_admin *cli_admin_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_net *net,
                          const char **pos, int min_pos, int max_pos, int *npos)
{
    const struct cli_opt opts[] = {CLI_NET_OPTS(net), {NULL, NULL, false, false}};
    int np = 0;
    if (!cli_parse(cmd, argc, argv, opts, pos, max_pos, &np))
        return NULL;
    if (npos)
        *npos = np;
    if (np < min_pos) {
        cli_usage(cmd);
        return NULL;
    }
    return cli_admin(cmd, net);
}

int cli_admin_delete(const struct cli_cmd *cmd, int argc, char **argv,
                     sl_err (*del)(sl_admin *a, const char *const *names, size_t n, int timeout_ms,
                                   const sl_admin_result **results),
                     const char *done, bool message)
{
    struct cli_net net;
    const char *names[64];
    int npos;
    sl_admin *a = cli_admin_parse(cmd, argc, argv, &net, names, 1, 64, &npos);
    if (!a)
        return CLI_EXIT_USAGE;
    const sl_admin_result *r;
    sl_err e = del(a, names, (size_t)npos, net.timeout_ms, &r);
    int code = e ? cli_err(cmd, e, "delete")
                 : cli_print_results(cmd, &net, r, (size_t)npos, done, message);
    sl_admin_free(a);
    return code;
}

int cli_print_results(const struct cli_cmd *cmd, const struct cli_net *net,
                      const sl_admin_result *r, size_t n, const char *done, bool message)
{
    int code = CLI_EXIT_OK;
    if (net->json)
        fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        if (net->json) {
            printf("%s{\"name\":", i ? "," : "");
            cli_json_str(stdout, r[i].name);
            printf(",\"error\":");
            cli_json_str(stdout, r[i].err ? sl_err2name(r[i].err) : NULL);
            if (message) {
                printf(",\"message\":");
                cli_json_str(stdout, r[i].errmsg);
            }
            fputc('}', stdout);
        } else if (!r[i].err) {
            printf("%s %s\n", done, r[i].name);
        }
        if (r[i].err) {
            cli_fail(cmd, "%s: %s (%s)%s%s", r[i].name, sl_err2str(r[i].err), sl_err2name(r[i].err),
                     *r[i].errmsg ? ": " : "", r[i].errmsg);
            int c = cli_exit_of(r[i].err);
            if (c > code)
                code = c;
        }
    }
    if (net->json)
        printf("]\n");
    return code;
}

int cli_exit_of(sl_err err)
{
    switch (err) {
    case SL_ERR_NO_ERROR:
        return CLI_EXIT_OK;
    case SL_ERR__TRANSPORT:
    case SL_ERR__TIMED_OUT:
    case SL_ERR__RESOLVE:
    case SL_ERR__ALL_BROKERS_DOWN:
    case SL_ERR__SSL:
        return CLI_EXIT_UNREACHABLE;
    case SL_ERR__UNSUPPORTED_FEATURE:
    case SL_ERR_UNSUPPORTED_VERSION:
        return CLI_EXIT_UNSUPPORTED;
    case SL_ERR__INVALID_ARG:
        return CLI_EXIT_USAGE;
    default:
        return CLI_EXIT_FAILED;
    }
}

int cli_err(const struct cli_cmd *cmd, sl_err err, const char *what)
{
    int code = cli_exit_of(err);
    if (code == CLI_EXIT_UNSUPPORTED)
        cli_fail(cmd, "%s: the broker does not offer the API this needs (%s)", what,
                 sl_err2name(err));
    else if (code == CLI_EXIT_UNREACHABLE)
        cli_fail(cmd, "%s: broker not reachable: %s", what, sl_err2str(err));
    else
        cli_fail(cmd, "%s: %s (%s)", what, sl_err2str(err), sl_err2name(err));
    return code;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

void cli_json_strn(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void cli_json_str(FILE *f, const char *s)
{
    if (!s)
        fputs("null", f);
    else
        cli_json_strn(f, s, strlen(s));
}

/* ---- tables --------------------------------------------------------------------------------- */

struct cli_table {
    int ncols;
    char **cells; /* rows * ncols, row 0 the header */
    size_t rows, cap;
};

static char *dup_cell(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) {
        fputs("splicelog: out of memory\n", stderr);
        exit(CLI_EXIT_FAILED);
    }
    for (char *p = d; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?'; /* a table line stays one line */
    return d;
}

struct cli_table *cli_table_new(int ncols, const char *const *headers)
{
    struct cli_table *t = calloc(1, sizeof(*t));
    if (!t) {
        fputs("splicelog: out of memory\n", stderr);
        exit(CLI_EXIT_FAILED);
    }
    t->ncols = ncols;
    cli_table_row(t, headers);
    return t;
}

void cli_table_row(struct cli_table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*c));
        if (!c) {
            fputs("splicelog: out of memory\n", stderr);
            exit(CLI_EXIT_FAILED);
        }
        t->cells = c;
        t->cap = cap;
    }
    for (int i = 0; i < t->ncols; i++)
        t->cells[t->rows * (size_t)t->ncols + (size_t)i] = dup_cell(cells[i]);
    t->rows++;
}

const char *cli_fmt(const char *fmt, ...)
{
    static char ring[64][256];
    static int next;
    char *b = ring[next++ % 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof ring[0], fmt, ap);
    va_end(ap);
    return b;
}

void cli_table_print(struct cli_table *t, FILE *f)
{
    size_t w[32] = {0};
    int nc = t->ncols < 32 ? t->ncols : 32;
    for (size_t r = 0; r < t->rows; r++)
        for (int c = 0; c < nc; c++) {
            size_t l = strlen(t->cells[r * (size_t)t->ncols + (size_t)c]);
            if (l > w[c])
                w[c] = l;
        }
    for (size_t r = 0; r < t->rows; r++) {
        for (int c = 0; c < nc; c++) {
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
            if (c + 1 < nc)
                fprintf(f, "%-*s  ", (int)w[c], s);
            else
                fprintf(f, "%s", s);
        }
        fputc('\n', f);
    }
}

void cli_table_free(struct cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}
