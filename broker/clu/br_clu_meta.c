/*
 * br_clu_meta — a data directory's meta.properties (contract: br_clu_meta.h).
 *
 * The file, as written (Kafka's ZooKeeper-mode layout, version 0; Java properties text, one
 * key=value a line, '#' or '!' starts a comment line, blank lines ignored):
 *
 *   #splicelog: the cluster and broker this data directory belongs to
 *   version=0
 *   broker.id=<decimal broker.id>
 *   cluster.id=<the /cluster/id of ZooKeeper: Kafka's base64 UUID, 22 characters>
 *
 * Read back: at most META_MAX bytes; every non-comment line must hold '='; whitespace around
 * keys and values is trimmed; unknown keys are ignored (Kafka's later versions add some);
 * version must be 0 and both broker.id and cluster.id present.
 */
#include "br_clu_meta.h"
#include "st.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { META_MAX = 4096, VALUE_MAX = 128 };

struct meta {
    bool has_version, has_broker, has_cluster;
    long long version, broker;
    char cluster[VALUE_MAX];
};

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = 0;
    return s;
}

static bool parse_ll(const char *s, long long *out)
{
    if (!*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* Parses text[0, len) (NUL-terminated by the caller) into m; 0 or -EINVAL with why. */
static int parse(char *text, size_t len, struct meta *m, const char *path, char *why, size_t cap)
{
    memset(m, 0, sizeof *m);
    char *p = text, *end = text + len;
    int line = 0;
    while (p < end) {
        line++;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        char *s = trim(p, le);
        p = nl ? nl + 1 : end;
        if (!*s || *s == '#' || *s == '!')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(why, cap, "%s, line %d: no '=' (not a properties file)", path, line);
            return -EINVAL;
        }
        char *key = trim(s, eq), *val = trim(eq + 1, eq + 1 + strlen(eq + 1));
        if (strcmp(key, "version") == 0) {
            m->has_version = parse_ll(val, &m->version);
            if (!m->has_version)
                goto bad_number;
        } else if (strcmp(key, "broker.id") == 0) {
            m->has_broker = parse_ll(val, &m->broker);
            if (!m->has_broker)
                goto bad_number;
        } else if (strcmp(key, "cluster.id") == 0) {
            if (!*val || strlen(val) >= sizeof m->cluster) {
                snprintf(why, cap, "%s, line %d: cluster.id empty or longer than %d bytes", path,
                         line, VALUE_MAX - 1);
                return -EINVAL;
            }
            snprintf(m->cluster, sizeof m->cluster, "%s", val);
            m->has_cluster = true;
        }
        continue;
    bad_number:
        snprintf(why, cap, "%s, line %d: %s is not a number", path, line, key);
        return -EINVAL;
    }
    if (!m->has_version || m->version != 0) {
        snprintf(why, cap, "%s: version %s (only version 0, ZooKeeper mode, is read)", path,
                 m->has_version ? "is not 0" : "missing");
        return -EINVAL;
    }
    if (!m->has_broker || !m->has_cluster) {
        snprintf(why, cap, "%s: %s missing", path, !m->has_broker ? "broker.id" : "cluster.id");
        return -EINVAL;
    }
    return 0;
}

/* Reads path into buf (at most cap - 1 bytes, NUL-terminated): its length, -ENOENT, -EFBIG
 * (larger), or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap - 1) {
            char extra;
            ssize_t more = read(fd, &extra, 1);
            close(fd);
            return more > 0 ? -EFBIG : (buf[n] = 0, (ssize_t)n);
        }
    }
    close(fd);
    buf[n] = 0;
    return (ssize_t)n;
}

/* Writes the file (format at the top) through a temporary file renamed over path. */
static int write_meta(const char *dir, const char *path, int32_t broker_id, const char *cluster_id)
{
    char tmp[4096 + 32], text[512];
    int tl = snprintf(text, sizeof text,
                      "#splicelog: the cluster and broker this data directory belongs to\n"
                      "version=0\nbroker.id=%d\ncluster.id=%s\n",
                      (int)broker_id, cluster_id);
    if (tl < 0 || (size_t)tl >= sizeof text)
        return -ENAMETOOLONG;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int err = 0;
    for (size_t off = 0; off < (size_t)tl && !err;) {
        ssize_t w = write(fd, text + off, (size_t)tl - off);
        if (w < 0 && errno != EINTR)
            err = -errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (!err && fsync(fd) < 0)
        err = -errno;
    close(fd);
    if (!err && rename(tmp, path) < 0)
        err = -errno;
    if (err) {
        unlink(tmp);
        return err;
    }
    return st_fsync_dir(dir);
}

int br_clu_meta_check(const char *data_dir, int32_t broker_id, const char *cluster_id, char *why,
                      size_t why_cap)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, BR_CLU_META_NAME) >= sizeof path) {
        snprintf(why, why_cap, "data dir path too long");
        return -ENAMETOOLONG;
    }
    char text[META_MAX + 1];
    ssize_t n = read_small(path, text, sizeof text);
    if (n == -ENOENT) {
        int err = write_meta(data_dir, path, broker_id, cluster_id);
        if (err < 0)
            snprintf(why, why_cap, "cannot write %s: %s", path, strerror(-err));
        return err;
    }
    if (n == -EFBIG) {
        snprintf(why, why_cap, "%s: larger than %d bytes (not a meta.properties)", path, META_MAX);
        return -EINVAL;
    }
    if (n < 0) {
        snprintf(why, why_cap, "cannot read %s: %s", path, strerror((int)-n));
        return (int)n;
    }
    struct meta m;
    int err = parse(text, (size_t)n, &m, path, why, why_cap);
    if (err < 0)
        return err;
    if (strcmp(m.cluster, cluster_id) != 0) {
        snprintf(why, why_cap,
                 "%s says this data directory belongs to cluster %s, but ZooKeeper's /cluster/id "
                 "is %s: zookeeper.connect (or its chroot) names another cluster's tree, or "
                 "ZooKeeper's data was lost; the broker does not join it with these logs",
                 path, m.cluster, cluster_id);
        return -EXDEV;
    }
    if (m.broker != broker_id) {
        snprintf(why, why_cap,
                 "%s says this data directory is broker %lld's, but broker.id is %d: its "
                 "replicas are that broker's (a moved data directory needs its broker.id; a new "
                 "broker needs an empty data directory)",
                 path, m.broker, (int)broker_id);
        return -EXDEV;
    }
    return 0;
}
