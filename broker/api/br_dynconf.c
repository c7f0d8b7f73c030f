/*
 * br_dynconf — see br_dynconf.h. A small array under a mutex; a change is made on a copy,
 * written out, and only then installed, so a failed write changes nothing.
 */
#include "br_dynconf.h"
#include "st.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_log.h"

#define FILE_NAME "dynamic-broker-configs"

struct dyn_entry {
    int level;
    char key[96];
    char value[256];
};

struct br_dynconf {
    pthread_mutex_t mu;
    char dir[PATH_MAX];
    int n;
    struct dyn_entry e[BR_DYN_MAX];
    struct dyn_entry ne[BR_DYN_MAX]; /* a change's copy (under mu) */
};

static const char *const LEVEL_NAME[] = {"broker", "default"};

static int find(const struct dyn_entry *e, int n, int level, const char *key)
{
    for (int i = 0; i < n; i++)
        if (e[i].level == level && strcmp(e[i].key, key) == 0)
            return i;
    return -1;
}

static int write_file(const char *dir, const struct dyn_entry *e, int n)
{
    char path[PATH_MAX + 64], tmp[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, FILE_NAME);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, FILE_NAME);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f, "# splicelog dynamic broker configs (AlterConfigs on the BROKER resource)\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "%s %s=%s\n", LEVEL_NAME[e[i].level], e[i].key, e[i].value);
    int err = fflush(f) != 0 || fsync(fileno(f)) < 0 ? -errno : 0;
    if (fclose(f) != 0 && err == 0)
        err = -errno;
    if (err == 0 && rename(tmp, path) < 0)
        err = -errno;
    if (err < 0) {
        unlink(tmp);
        return err;
    }
    return st_fsync_dir(dir);
}

static void read_file(struct br_dynconf *d)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", d->dir, FILE_NAME);
    FILE *f = fopen(path, "r");
    if (!f)
        return; /* none yet */
    char line[512];
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = 0;
        if (l == 0 || line[0] == '#')
            continue;
        char *sp = strchr(line, ' ');
        char *eq = sp ? strchr(sp + 1, '=') : NULL;
        int level = -1;
        if (sp) {
            *sp = 0;
            level = strcmp(line, "broker") == 0    ? BR_DYN_BROKER
                    : strcmp(line, "default") == 0 ? BR_DYN_DEFAULT
                                                   : -1;
        }
        if (!eq || level < 0 || eq == sp + 1 || (size_t)(eq - sp - 1) >= sizeof d->e[0].key ||
            strlen(eq + 1) >= sizeof d->e[0].value || d->n == BR_DYN_MAX) {
            br_warn("%s: a line that does not parse, skipped", path);
            continue;
        }
        *eq = 0;
        struct dyn_entry *e = &d->e[d->n++];
        e->level = level;
        snprintf(e->key, sizeof e->key, "%s", sp + 1);
        snprintf(e->value, sizeof e->value, "%s", eq + 1);
    }
    fclose(f);
}

int br_dynconf_open(const char *data_dir, struct br_dynconf **out)
{
    struct br_dynconf *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    if (strlen(data_dir) >= sizeof d->dir) {
        free(d);
        return -ENAMETOOLONG;
    }
    snprintf(d->dir, sizeof d->dir, "%s", data_dir);
    pthread_mutex_init(&d->mu, NULL);
    read_file(d);
    *out = d;
    return 0;
}

void br_dynconf_free(struct br_dynconf *d)
{
    if (!d)
        return;
    pthread_mutex_destroy(&d->mu);
    free(d);
}

bool br_dynconf_get(struct br_dynconf *d, enum br_dyn_level level, const char *key, char *buf,
                    size_t cap)
{
    if (!d)
        return false;
    pthread_mutex_lock(&d->mu);
    int i = find(d->e, d->n, (int)level, key);
    if (i >= 0)
        snprintf(buf, cap, "%s", d->e[i].value);
    pthread_mutex_unlock(&d->mu);
    return i >= 0;
}

int br_dynconf_set(struct br_dynconf *d, enum br_dyn_level level, bool replace_all,
                   const char *const *keys, const char *const *values, int n)
{
    pthread_mutex_lock(&d->mu);
    struct dyn_entry *ne = d->ne;
    int nn = 0;
    for (int i = 0; i < d->n; i++)
        if (!replace_all || d->e[i].level != (int)level)
            ne[nn++] = d->e[i];
    int err = 0;
    for (int i = 0; i < n && err == 0; i++) {
        if (strlen(keys[i]) >= sizeof ne[0].key ||
            (values[i] && strlen(values[i]) >= sizeof ne[0].value)) {
            err = -EINVAL;
            break;
        }
        int at = find(ne, nn, (int)level, keys[i]);
        if (!values[i]) {
            if (at >= 0)
                ne[at] = ne[--nn];
            continue;
        }
        if (at < 0) {
            if (nn == BR_DYN_MAX) {
                err = -ENOSPC;
                break;
            }
            at = nn++;
            ne[at].level = (int)level;
            snprintf(ne[at].key, sizeof ne[at].key, "%s", keys[i]);
        }
        snprintf(ne[at].value, sizeof ne[at].value, "%s", values[i]);
    }
    if (err == 0)
        err = write_file(d->dir, ne, nn);
    if (err == 0) {
        memcpy(d->e, ne, (size_t)nn * sizeof(ne[0]));
        d->n = nn;
    }
    pthread_mutex_unlock(&d->mu);
    return err;
}

void br_dynconf_foreach(struct br_dynconf *d,
                        void (*fn)(void *arg, enum br_dyn_level level, const char *key,
                                   const char *value),
                        void *arg)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    for (int i = 0; i < d->n; i++)
        fn(arg, (enum br_dyn_level)d->e[i].level, d->e[i].key, d->e[i].value);
    pthread_mutex_unlock(&d->mu);
}
