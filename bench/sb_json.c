/*
 * sb_json — the bench's JSON writer (see sb.h): members and elements are written as they come,
 * the writer only remembers, per nesting level, whether a comma is due. Strings are escaped
 * (quote, backslash, control characters); numbers that are not finite become null, so a figure
 * that could not be measured never produces invalid JSON.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sb.h"

int sb_json_open(struct sb_json *j, const char *path)
{
    memset(j, 0, sizeof(*j));
    if (!strcmp(path, "-")) {
        j->f = stdout;
        return 0;
    }
    j->f = fopen(path, "w");
    if (!j->f)
        return -errno;
    j->own = true;
    return 0;
}

int sb_json_close(struct sb_json *j)
{
    if (!j->f)
        return -EBADF;
    fputc('\n', j->f);
    int rc = ferror(j->f) ? -EIO : 0;
    if (j->own) {
        if (fclose(j->f) && !rc)
            rc = -errno;
    } else if (fflush(j->f) && !rc) {
        rc = -errno;
    }
    j->f = NULL;
    return rc;
}

static void put_str(FILE *f, const char *s)
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

/* The comma, the indentation and the key of the next member or element. */
static void lead(struct sb_json *j, const char *key)
{
    if (j->depth > 0) {
        if (!j->first[j->depth])
            fputc(',', j->f);
        j->first[j->depth] = false;
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    }
    if (key) {
        put_str(j->f, key);
        fputs(": ", j->f);
    }
}

static void open_level(struct sb_json *j, const char *key, char c)
{
    lead(j, key);
    fputc(c, j->f);
    if (j->depth < 15)
        j->depth++;
    j->first[j->depth] = true;
    j->closer[j->depth] = c == '{' ? '}' : ']';
}

void sb_json_obj(struct sb_json *j, const char *key) { open_level(j, key, '{'); }

void sb_json_arr(struct sb_json *j, const char *key) { open_level(j, key, '['); }

void sb_json_end(struct sb_json *j)
{
    if (j->depth == 0)
        return;
    bool empty = j->first[j->depth];
    char closer = j->closer[j->depth];
    j->depth--;
    if (!empty)
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(closer, j->f);
}

void sb_json_num(struct sb_json *j, const char *key, double v, int decimals)
{
    lead(j, key);
    if (isfinite(v))
        fprintf(j->f, "%.*f", decimals, v);
    else
        fputs("null", j->f);
}

void sb_json_int(struct sb_json *j, const char *key, long long v)
{
    lead(j, key);
    fprintf(j->f, "%lld", v);
}

void sb_json_str(struct sb_json *j, const char *key, const char *s)
{
    lead(j, key);
    put_str(j->f, s ? s : "");
}

void sb_json_bool(struct sb_json *j, const char *key, bool v)
{
    lead(j, key);
    fputs(v ? "true" : "false", j->f);
}

void sb_json_null(struct sb_json *j, const char *key)
{
    lead(j, key);
    fputs("null", j->f);
}

void sb_json_stat(struct sb_json *j, const char *key, const double *v, int n, int decimals)
{
    struct sb_stat s;
    sb_stat_of(v, n, &s);
    sb_json_obj(j, key);
    sb_json_num(j, "min", s.min, decimals);
    sb_json_num(j, "median", s.median, decimals);
    sb_json_num(j, "max", s.max, decimals);
    sb_json_num(j, "spread", s.n ? sb_stat_spread(&s) : NAN, 3);
    sb_json_int(j, "runs", s.n);
    sb_json_end(j);
}
