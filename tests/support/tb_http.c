/*
 * tb_http — see tb_http.h.
 */
#include "tb_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int tb_http(int port, const char *method, const char *path, const char *body, size_t max_body,
            struct tb_http_resp *out)
{
    memset(out, 0, sizeof(*out));
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    char req[1024];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     method, path, port, blen);
    int rc = send_all(fd, req, (size_t)n);
    if (rc == 0 && blen)
        rc = send_all(fd, body, blen);
    size_t cap = max_body + sizeof(out->head) + 1, len = 0;
    char *buf = rc == 0 ? malloc(cap + 1) : NULL;
    if (rc == 0 && !buf)
        rc = -ENOMEM;
    while (rc == 0) {
        if (len == cap) {
            rc = -EFBIG;
            break;
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = -errno;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[len] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    int major, minor;
    if (!end || sscanf(buf, "HTTP/%d.%d %d", &major, &minor, &out->status) != 3) {
        free(buf);
        return -EPROTO;
    }
    size_t hlen = (size_t)(end - buf);
    snprintf(out->head, sizeof out->head, "%.*s", (int)hlen, buf);
    size_t bl = len - hlen - 4;
    if (bl > max_body) {
        free(buf);
        return -EFBIG;
    }
    memmove(buf, end + 4, bl);
    buf[bl] = 0;
    out->body = buf;
    out->len = bl;
    return 0;
}

void tb_http_resp_free(struct tb_http_resp *r)
{
    free(r->body);
    r->body = NULL;
}

int tb_promtool_check(const char *text, size_t len, char *msg, size_t cap)
{
    if (cap)
        msg[0] = 0;
    char in[] = "/tmp/tb_promtool_in.XXXXXX";
    char outp[] = "/tmp/tb_promtool_out.XXXXXX";
    int fi = mkstemp(in);
    if (fi < 0)
        return -errno;
    int fo = mkstemp(outp);
    if (fo < 0) {
        int e = -errno;
        close(fi);
        unlink(in);
        return e;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fi, text + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fi);
    int rc;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(in, O_RDONLY);
        if (fd < 0)
            _exit(126);
        dup2(fd, 0);
        dup2(fo, 1);
        dup2(fo, 2);
        execlp("promtool", "promtool", "check", "metrics", (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        rc = -errno;
    } else {
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
            rc = -ENOENT;
        else
            rc = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
    }
    if (cap) {
        ssize_t r = pread(fo, msg, cap - 1, 0);
        msg[r > 0 ? r : 0] = 0;
    }
    close(fo);
    unlink(in);
    unlink(outp);
    return rc;
}

double tb_metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

double tb_metric_at(int port, const char *series)
{
    struct tb_http_resp r;
    if (tb_http(port, "GET", "/metrics", NULL, 16 << 20, &r) != 0)
        return -1;
    double v = r.status == 200 ? tb_metric(r.body, series) : -1;
    tb_http_resp_free(&r);
    return v;
}
