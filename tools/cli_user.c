/*
 * cli_user — `splicelog user create|delete|list`: SCRAM credentials.
 *
 * Without --data-dir, through a running broker's Kafka API as a super user (KIP-554's
 * DescribeUserScramCredentials / AlterUserScramCredentials through libsplicelog, as
 * kafka-configs.sh --alter --add-config SCRAM-SHA-512=[...] --entity-type users does): the
 * connection's security (security.protocol=sasl_ssl, sasl.mechanism, sasl.username, ...) comes
 * from --command-config FILE or -X key=value. libsplicelog salts and hashes the password; only
 * salt, iterations and SaltedPassword travel.
 *
 * With --data-dir, offline: straight into a data directory's credential store
 * (broker/sec/br_cred.h) while no broker runs on it, as `kafka-storage format --add-scram` makes
 * the first administrator. The password goes through PBKDF2 here; only salt, iterations,
 * StoredKey and ServerKey reach the disk. In a cluster (the broker has zookeeper.connect): a
 * user made offline before the broker's first start in the cluster is carried to ZooKeeper
 * then when ZooKeeper has no document for that user, and is otherwise replaced by ZooKeeper's;
 * from that start on the store is the broker's cache of ZooKeeper's /config/users (marked:
 * br_cred_zk_mark), and an offline create or delete there is refused, pointing at --bootstrap;
 * an offline list shows the cache (docs/cluster.md, "Users and client ids").
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_cred.h"

#include <openssl/crypto.h>

static void log_line(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "splicelog: %s\n", msg);
}

/* Opens the store of a locked data directory; NULL after printing why. A change (change)
 * is refused in a directory that is ZooKeeper's cache (br_cred_zk_mark): it would be replaced
 * by ZooKeeper's set at the broker's next start, never carried there. */
static struct br_cred *open_store(const struct cli_cmd *cmd, const char *dir, int *lock_fd,
                                  bool change)
{
    *lock_fd = cli_lock_data_dir(cmd, dir);
    if (*lock_fd < 0)
        return NULL;
    int m = change ? br_cred_zk_marked(dir) : 0;
    if (m != 0) {
        if (m > 0)
            cli_fail(cmd,
                     "%s belongs to a broker of a ZooKeeper cluster: its credentials are a cache "
                     "of ZooKeeper's /config/users, which an offline change cannot reach; change "
                     "them through a running broker (--bootstrap HOST:PORT, as a super user)",
                     dir);
        else
            cli_fail(cmd, "cannot read %s/%s: %s", dir, BR_SECURITY_DIR, strerror(-m));
        close(*lock_fd);
        return NULL;
    }
    struct br_cred *c = NULL;
    int rc = br_cred_open(dir, log_line, NULL, &c);
    if (rc) {
        cli_fail(cmd, "cannot open the credential store in %s: %s", dir, strerror(-rc));
        close(*lock_fd);
        return NULL;
    }
    return c;
}

static bool parse_mech(const struct cli_cmd *cmd, const char *s, enum br_sasl_mech *m)
{
    if (br_sasl_mech_parse(s, strlen(s), m) != 0 || !br_sasl_is_scram(*m)) {
        cli_fail(cmd, "--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, not '%s'", s);
        return false;
    }
    return true;
}

static bool check_name(const struct cli_cmd *cmd, const char *name)
{
    if (!br_sasl_user_valid(name, strlen(name))) {
        cli_fail(cmd, "--name must be 1 to %d bytes of UTF-8 without control characters",
                 BR_SASL_USER_MAX);
        return false;
    }
    return true;
}

static int scram_of(enum br_sasl_mech m)
{
    return m == BR_SASL_SCRAM_SHA_256 ? SL_SCRAM_SHA_256 : SL_SCRAM_SHA_512;
}

static const char *mech_name(int scram)
{
    return br_sasl_mech_name(scram == SL_SCRAM_SHA_256 ? BR_SASL_SCRAM_SHA_256
                                                       : BR_SASL_SCRAM_SHA_512);
}

/* The per-user outcomes of an AlterUserScramCredentials call: 0 when every one succeeded. */
static int alter_results(const struct cli_cmd *cmd, const sl_admin_result *r, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].err) {
            cli_fail(cmd, "user '%s': %s%s%s", r[i].name, sl_err2str(r[i].err),
                     r[i].errmsg[0] ? ": " : "", r[i].errmsg);
            rc = 1;
        }
    return rc;
}

static int create_online(const struct cli_cmd *cmd, struct cli_net *net, const char *name,
                         const char *pw, enum br_sasl_mech mech, long iters)
{
    sl_admin *a = cli_admin(cmd, net);
    if (!a)
        return 1;
    sl_scram_upsertion up = {name, scram_of(mech), (int32_t)iters, pw};
    const sl_admin_result *r;
    size_t n;
    sl_err err = sl_admin_alter_user_scram_credentials(a, &up, 1, NULL, 0, net->timeout_ms, &r, &n);
    int rc = err ? cli_err(cmd, err, "AlterUserScramCredentials") : alter_results(cmd, r, n);
    sl_admin_free(a);
    if (rc == 0)
        printf("%s credential for user '%s' (%ld iterations) stored by the broker\n",
               br_sasl_mech_name(mech), name, iters);
    return rc;
}

int cli_user_create(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *dir, *name, *pw, *mech_s, *iter_s;
    struct cli_net net = {0};
    const struct cli_opt opts[] = {{"data-dir", &dir, false, false},
                                   {"name", &name, true, false},
                                   {"password", &pw, true, false},
                                   {"mechanism", &mech_s, true, false},
                                   {"iterations", &iter_s, false, false},
                                   CLI_NET_OPTS(&net),
                                   {NULL, NULL, false, false}};
    if (!cli_opts(cmd, argc, argv, opts))
        return 2;
    enum br_sasl_mech mech;
    if (!parse_mech(cmd, mech_s, &mech) || !check_name(cmd, name))
        return 1;
    long iters = BR_SCRAM_ITER_MIN;
    if (iter_s) {
        char *end;
        errno = 0;
        iters = strtol(iter_s, &end, 10);
        if (errno || *end || iters < BR_SCRAM_ITER_MIN || iters > BR_SCRAM_ITER_MAX)
            return cli_fail(cmd, "--iterations must be %d to %d", BR_SCRAM_ITER_MIN,
                            BR_SCRAM_ITER_MAX);
    }
    char line[BR_SASL_PASSWORD_MAX + 2];
    if (strcmp(pw, "-") == 0) {
        if (!fgets(line, sizeof line, stdin))
            return cli_fail(cmd, "no password on stdin");
        line[strcspn(line, "\r\n")] = '\0';
        pw = line;
    }
    size_t pl = strlen(pw);
    if (pl == 0 || pl > BR_SASL_PASSWORD_MAX)
        return cli_fail(cmd, "the password must be 1 to %d bytes", BR_SASL_PASSWORD_MAX);

    if (!dir) {
        int rc = create_online(cmd, &net, name, pw, mech, iters);
        OPENSSL_cleanse(line, sizeof line);
        return rc;
    }
    struct br_scram_cred cred;
    int rc = br_scram_cred_from_password(mech, pw, pl, NULL, 0, (int32_t)iters, &cred);
    OPENSSL_cleanse(line, sizeof line);
    if (rc)
        return cli_fail(cmd, "cannot derive the credential: %s", strerror(-rc));
    int lock_fd;
    struct br_cred *c = open_store(cmd, dir, &lock_fd, true);
    if (!c) {
        OPENSSL_cleanse(&cred, sizeof cred);
        return 1;
    }
    rc = br_cred_put(c, name, strlen(name), &cred);
    OPENSSL_cleanse(&cred, sizeof cred);
    br_cred_close(c);
    close(lock_fd);
    if (rc)
        return cli_fail(cmd, "cannot store the credential: %s", strerror(-rc));
    printf("%s credential for user '%s' (%ld iterations) stored in %s/%s/%s\n",
           br_sasl_mech_name(mech), name, iters, dir, BR_SECURITY_DIR, BR_CRED_FILE);
    return 0;
}

static int delete_online(const struct cli_cmd *cmd, struct cli_net *net, const char *name,
                         enum br_sasl_mech mech)
{
    sl_admin *a = cli_admin(cmd, net);
    if (!a)
        return 1;
    sl_scram_deletion del = {name, scram_of(mech)};
    const sl_admin_result *r;
    size_t n;
    sl_err err =
        sl_admin_alter_user_scram_credentials(a, NULL, 0, &del, 1, net->timeout_ms, &r, &n);
    int rc = err ? cli_err(cmd, err, "AlterUserScramCredentials") : alter_results(cmd, r, n);
    sl_admin_free(a);
    if (rc == 0)
        printf("%s credential of user '%s' deleted\n", br_sasl_mech_name(mech), name);
    return rc;
}

int cli_user_delete(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *dir, *name, *mech_s;
    struct cli_net net = {0};
    const struct cli_opt opts[] = {{"data-dir", &dir, false, false},
                                   {"name", &name, true, false},
                                   {"mechanism", &mech_s, true, false},
                                   CLI_NET_OPTS(&net),
                                   {NULL, NULL, false, false}};
    if (!cli_opts(cmd, argc, argv, opts))
        return 2;
    enum br_sasl_mech mech;
    if (!parse_mech(cmd, mech_s, &mech) || !check_name(cmd, name))
        return 1;
    if (!dir)
        return delete_online(cmd, &net, name, mech);
    int lock_fd;
    struct br_cred *c = open_store(cmd, dir, &lock_fd, true);
    if (!c)
        return 1;
    int rc = br_cred_delete(c, name, strlen(name), mech);
    br_cred_close(c);
    close(lock_fd);
    if (rc == -ENOENT)
        return cli_fail(cmd, "user '%s' has no %s credential", name, br_sasl_mech_name(mech));
    if (rc)
        return cli_fail(cmd, "cannot delete the credential: %s", strerror(-rc));
    printf("%s credential of user '%s' deleted\n", br_sasl_mech_name(mech), name);
    return 0;
}

static void print_one(void *arg, const char *user, size_t len, enum br_sasl_mech mech,
                      int32_t iterations)
{
    const char *want = arg;
    if (want && (strlen(want) != len || memcmp(want, user, len) != 0))
        return;
    printf("%.*s\t%s\t%d\n", (int)len, user, br_sasl_mech_name(mech), (int)iterations);
}

static int list_online(const struct cli_cmd *cmd, struct cli_net *net, const char *name)
{
    sl_admin *a = cli_admin(cmd, net);
    if (!a)
        return 1;
    const sl_user_scram_credentials *u;
    size_t n;
    sl_err err = sl_admin_describe_user_scram_credentials(a, name ? &name : NULL, name ? 1 : 0,
                                                          net->timeout_ms, &u, &n);
    int rc = err ? cli_err(cmd, err, "DescribeUserScramCredentials") : 0;
    for (size_t i = 0; !err && i < n; i++) {
        if (u[i].err) {
            rc = cli_fail(cmd, "user '%s': %s%s%s", u[i].user, sl_err2str(u[i].err),
                          u[i].errmsg[0] ? ": " : "", u[i].errmsg);
            continue;
        }
        for (size_t j = 0; j < u[i].credential_cnt; j++)
            printf("%s\t%s\t%d\n", u[i].user, mech_name(u[i].credentials[j].mechanism),
                   (int)u[i].credentials[j].iterations);
    }
    sl_admin_free(a);
    return rc;
}

int cli_user_list(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *dir, *name;
    struct cli_net net = {0};
    const struct cli_opt opts[] = {{"data-dir", &dir, false, false},
                                   {"name", &name, false, false},
                                   CLI_NET_OPTS(&net),
                                   {NULL, NULL, false, false}};
    if (!cli_opts(cmd, argc, argv, opts))
        return 2;
    if (!dir)
        return list_online(cmd, &net, name);
    int lock_fd;
    struct br_cred *c = open_store(cmd, dir, &lock_fd, false);
    if (!c)
        return 1;
    br_cred_each(c, print_one, (void *)name);
    br_cred_close(c);
    close(lock_fd);
    return 0;
}
