/*
 * test_br_clu_meta — a data directory's meta.properties (broker/clu/br_clu_meta.c): written
 * when missing and then accepted; another cluster id or broker id refused (-EXDEV) with a
 * reason naming both; a file Kafka wrote (comments, a date line, extra keys, spaces) read;
 * files that are not meta.properties (no '=', a version other than 0, a key missing, a
 * broker.id that is not a number, too large) refused (-EINVAL) and left as they were.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_clu_meta.h"
#include "tb_check.h"

static char dir[64];
static char path[128];
static char why[1024];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_br_clu_meta.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/%s", dir, BR_CLU_META_NAME);
    why[0] = 0;
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

static void put(const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static const char *get(void)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

START_TEST(written_when_missing_then_accepted)
{
    ck_assert_int_eq(br_clu_meta_check(dir, 3, "q1Sh-9_ISia_zwGINzRvyQ", why, sizeof why), 0);
    const char *t = get();
    ck_assert_msg(strstr(t, "\nversion=0\n") && strstr(t, "\nbroker.id=3\n") &&
                      strstr(t, "\ncluster.id=q1Sh-9_ISia_zwGINzRvyQ\n"),
                  "%s", t);
    ck_assert_int_eq(access(path + 0, F_OK), 0);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0); /* renamed, not left behind */
    ck_assert_int_eq(br_clu_meta_check(dir, 3, "q1Sh-9_ISia_zwGINzRvyQ", why, sizeof why), 0);
}
END_TEST

START_TEST(another_cluster_or_broker_refused)
{
    ck_assert_int_eq(br_clu_meta_check(dir, 3, "clusterA", why, sizeof why), 0);
    ck_assert_int_eq(br_clu_meta_check(dir, 3, "clusterB", why, sizeof why), -EXDEV);
    ck_assert_msg(strstr(why, "clusterA") && strstr(why, "clusterB") &&
                      strstr(why, "zookeeper.connect"),
                  "%s", why);
    ck_assert_int_eq(br_clu_meta_check(dir, 4, "clusterA", why, sizeof why), -EXDEV);
    ck_assert_msg(strstr(why, "broker 3") && strstr(why, "broker.id is 4"), "%s", why);
    /* refusals leave the file as it was */
    ck_assert_ptr_nonnull(strstr(get(), "cluster.id=clusterA\n"));
    ck_assert_int_eq(br_clu_meta_check(dir, 3, "clusterA", why, sizeof why), 0);
}
END_TEST

START_TEST(kafkas_file_read)
{
    put("#\n#Mon Dec 07 18:00:00 UTC 2026\n! another comment\n\n"
        "version = 0\r\n  broker.id=12\ncluster.id=AbC-dEf_123456789012345\n"
        "some.future.key=ignored\n");
    ck_assert_int_eq(br_clu_meta_check(dir, 12, "AbC-dEf_123456789012345", why, sizeof why), 0);
    ck_assert_int_eq(br_clu_meta_check(dir, 12, "other", why, sizeof why), -EXDEV);
}
END_TEST

START_TEST(not_a_meta_file_refused_and_kept)
{
    static const char *const bad[] = {
        "version=0\nbroker.id=1\ngarbage line\ncluster.id=x\n", /* no '=' */
        "version=1\nbroker.id=1\ncluster.id=x\n",               /* KRaft's version */
        "broker.id=1\ncluster.id=x\n",                          /* no version */
        "version=0\ncluster.id=x\n",                            /* no broker.id */
        "version=0\nbroker.id=1\n",                             /* no cluster.id */
        "version=0\nbroker.id=one\ncluster.id=x\n",             /* not a number */
        "version=0\nbroker.id=1\ncluster.id=\n",                /* empty id */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put(bad[i]);
        ck_assert_int_eq(br_clu_meta_check(dir, 1, "x", why, sizeof why), -EINVAL);
        ck_assert_msg(strstr(why, path), "case %zu: %s", i, why);
        ck_assert_str_eq(get(), bad[i]);
    }
    /* larger than any meta.properties */
    char *big = malloc(6000);
    ck_assert_ptr_nonnull(big);
    memset(big, '#', 5999);
    big[5999] = 0;
    put(big);
    ck_assert_int_eq(br_clu_meta_check(dir, 1, "x", why, sizeof why), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "larger"));
    free(big);
}
END_TEST

START_TEST(unwritable_dir_is_an_error)
{
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such/dir", dir);
    ck_assert_int_eq(br_clu_meta_check(missing, 1, "x", why, sizeof why), -ENOENT);
    ck_assert_ptr_nonnull(strstr(why, "cannot write"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_clu_meta");
    TCase *tc = tcase_create("meta");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, written_when_missing_then_accepted);
    tcase_add_test(tc, another_cluster_or_broker_refused);
    tcase_add_test(tc, kafkas_file_read);
    tcase_add_test(tc, not_a_meta_file_refused_and_kept);
    tcase_add_test(tc, unwritable_dir_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
