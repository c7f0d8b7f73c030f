/*
 * test_br_cred — the SCRAM credential store (broker/sec/br_cred.c): set, look up, delete, list in
 * order; a batch judged change by change in one write; everything survives a reopen; the file
 * is 0600 in a 0700 directory and holds no password; a damaged record or a repeated (user,
 * mechanism) refuses the file at open with a log line; SCRAM and PLAIN exchanges against the
 * store (the SASL server's lookup is the store itself); concurrent lookups during changes.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "br_cred.h"
#include "kp_buf.h"
#include "kp_crc32c.h"
#include "test_st_util.h"

static char dir[256], file[512];
static int nlines;
static char last_line[8192];

static void log_fn(void *arg, const char *msg)
{
    (void)arg;
    nlines++;
    snprintf(last_line, sizeof last_line, "%s", msg);
}

static void setup(void)
{
    tst_mkdtemp(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/%s/%s", dir, BR_SECURITY_DIR, BR_CRED_FILE);
    nlines = 0;
}

static void teardown(void) { tst_rmrf(dir); }

static struct br_cred *open_store(void)
{
    struct br_cred *c = NULL;
    ck_assert_int_eq(br_cred_open(dir, log_fn, NULL, &c), 0);
    return c;
}

static struct br_scram_cred mk(enum br_sasl_mech m, const char *pw, int32_t iters)
{
    struct br_scram_cred c;
    ck_assert_int_eq(br_scram_cred_from_password(m, pw, strlen(pw), NULL, 0, iters, &c), 0);
    return c;
}

#define S(lit) (lit), (sizeof(lit) - 1)

START_TEST(t_put_lookup_delete_reopen)
{
    struct br_cred *c = open_store();
    ck_assert_uint_eq(br_cred_count(c), 0);
    struct br_scram_cred a256 = mk(BR_SASL_SCRAM_SHA_256, "alice-pw", 4096);
    struct br_scram_cred a512 = mk(BR_SASL_SCRAM_SHA_512, "alice-pw", 8192);
    struct br_scram_cred b512 = mk(BR_SASL_SCRAM_SHA_512, "bob-pw", 4096);
    ck_assert_int_eq(br_cred_put(c, S("alice"), &a256), 0);
    ck_assert_int_eq(br_cred_put(c, S("alice"), &a512), 0);
    ck_assert_int_eq(br_cred_put(c, S("bob"), &b512), 0);
    struct br_scram_cred got;
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_512, S("alice"), &got), 0);
    ck_assert(memcmp(&got, &a512, sizeof got) == 0);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, S("bob"), &got), -ENOENT);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_512, S("alic"), &got), -ENOENT);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_512, S("alicee"), &got), -ENOENT);
    br_cred_close(c);

    c = open_store();
    ck_assert_uint_eq(br_cred_count(c), 3);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, S("alice"), &got), 0);
    ck_assert(memcmp(&got, &a256, sizeof got) == 0);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_512, S("bob"), &got), 0);
    ck_assert(memcmp(&got, &b512, sizeof got) == 0);
    /* Replace, delete, delete of nothing. */
    struct br_scram_cred a256b = mk(BR_SASL_SCRAM_SHA_256, "new-pw", 4096);
    ck_assert_int_eq(br_cred_put(c, S("alice"), &a256b), 0);
    ck_assert_int_eq(br_cred_delete(c, S("bob"), BR_SASL_SCRAM_SHA_512), 0);
    ck_assert_int_eq(br_cred_delete(c, S("bob"), BR_SASL_SCRAM_SHA_512), -ENOENT);
    ck_assert_int_eq(br_cred_delete(c, S("alice"), BR_SASL_PLAIN), -EINVAL);
    br_cred_close(c);
    c = open_store();
    ck_assert_uint_eq(br_cred_count(c), 2);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, S("alice"), &got), 0);
    ck_assert(memcmp(&got, &a256b, sizeof got) == 0);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_512, S("bob"), &got), -ENOENT);
    br_cred_close(c);

    /* File and directory modes; the password is nowhere in the file. */
    struct stat st;
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    char sd[512];
    snprintf(sd, sizeof sd, "%s/%s", dir, BR_SECURITY_DIR);
    ck_assert_int_eq(stat(sd, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    size_t len;
    uint8_t *b = tst_slurp(file, &len);
    ck_assert_ptr_null(memmem(b, len, "new-pw", 6));
    ck_assert_ptr_null(memmem(b, len, "alice-pw", 8));
    ck_assert_ptr_nonnull(memmem(b, len, "alice", 5));
    free(b);
    ck_assert_int_eq(nlines, 0);
}
END_TEST

struct listed {
    int n;
    char names[8][32];
    enum br_sasl_mech mech[8];
    int32_t iters[8];
};

static void each(void *arg, const char *user, size_t len, enum br_sasl_mech mech, int32_t it)
{
    struct listed *l = arg;
    ck_assert_int_lt(l->n, 8);
    snprintf(l->names[l->n], sizeof l->names[0], "%.*s", (int)len, user);
    l->mech[l->n] = mech;
    l->iters[l->n] = it;
    l->n++;
}

START_TEST(t_batch_and_listing)
{
    struct br_cred *c = open_store();
    struct br_scram_cred z = mk(BR_SASL_SCRAM_SHA_512, "z", 4096);
    struct br_scram_cred y = mk(BR_SASL_SCRAM_SHA_256, "y", 5000);
    struct br_scram_cred bad = y;
    bad.iterations = 100;
    struct br_cred_change ch[] = {
        {S("zed"), 0, &z, 99},
        {S("amy"), 0, &y, 99},
        {S("amy"), 0, &z, 99},
        {S("nobody"), BR_SASL_SCRAM_SHA_256, NULL, 99}, /* delete of nothing */
        {S("weak"), 0, &bad, 99},                       /* iterations below 4096 */
        {S("bad\nname"), 0, &y, 99},                    /* control character */
        {S("zed"), BR_SASL_SCRAM_SHA_512, NULL, 99},    /* deleted again in the same batch */
    };
    ck_assert_int_eq(br_cred_apply(c, ch, sizeof ch / sizeof ch[0]), 0);
    static const int want[] = {0, 0, 0, -ENOENT, -EINVAL, -EINVAL, 0};
    for (size_t i = 0; i < sizeof ch / sizeof ch[0]; i++)
        ck_assert_msg(ch[i].result == want[i], "change %zu: %d", i, ch[i].result);
    br_cred_close(c);
    c = open_store();
    struct listed l = {0};
    br_cred_each(c, each, &l);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.names[0], "amy");
    ck_assert_int_eq(l.mech[0], BR_SASL_SCRAM_SHA_256);
    ck_assert_int_eq(l.iters[0], 5000);
    ck_assert_str_eq(l.names[1], "amy");
    ck_assert_int_eq(l.mech[1], BR_SASL_SCRAM_SHA_512);
    br_cred_close(c);
}
END_TEST

/* Rewrites record k's body byte at body offset off, fixing the record CRC, so the framing is
 * valid and only the store's own rules can refuse it. */
static void poke_record(int k, size_t off, uint8_t val)
{
    size_t len;
    uint8_t *b = tst_slurp(file, &len);
    size_t at = 16;
    for (int i = 0; i < k; i++)
        at += 8 + kp_load_be32(b + at);
    uint32_t bl = kp_load_be32(b + at);
    ck_assert_uint_lt(off, bl);
    b[at + 4 + off] = val;
    kp_store_be32(b + at + 4 + bl, kp_crc32c(0, b + at, 4 + bl));
    tst_spit(file, b, len);
    free(b);
}

START_TEST(t_damaged_file_refused)
{
    struct br_cred *c = open_store();
    struct br_scram_cred a = mk(BR_SASL_SCRAM_SHA_256, "p", 4096);
    ck_assert_int_eq(br_cred_put(c, S("aa"), &a), 0);
    ck_assert_int_eq(br_cred_put(c, S("ab"), &a), 0);
    br_cred_close(c);
    size_t len;
    uint8_t *good = tst_slurp(file, &len);

    /* A flipped bit anywhere: st_snap refuses it. */
    for (size_t at = 0; at < len; at += 7) {
        uint8_t *bad = malloc(len);
        memcpy(bad, good, len);
        bad[at] ^= 0x10;
        tst_spit(file, bad, len);
        free(bad);
        c = NULL;
        ck_assert_int_eq(br_cred_open(dir, log_fn, NULL, &c), -EBADMSG);
        ck_assert_ptr_null(c);
    }
    /* Valid framing, invalid contents: mechanism 9, negative iterations, iterations 1, an
     * empty salt, a control character in the name, a duplicate (user, mechanism). Body:
     * mech(0) iterations(1-4) S(5) salt(6-37) U(38-39) name(40-). */
    static const struct {
        size_t off;
        uint8_t val;
    } pokes[] = {{0, 9}, {1, 0xff}, {3, 0}, {5, 0}, {40, '\n'}};
    for (size_t i = 0; i < sizeof pokes / sizeof pokes[0]; i++) {
        tst_spit(file, good, len);
        poke_record(0, pokes[i].off, pokes[i].val);
        if (pokes[i].off == 3) /* iterations 0x0000_00xx: below 4096 */
            poke_record(0, 4, 1);
        nlines = 0;
        ck_assert_int_eq(br_cred_open(dir, log_fn, NULL, &c), -EBADMSG);
        ck_assert_int_ge(nlines, 1);
        ck_assert_ptr_nonnull(strstr(last_line, BR_CRED_FILE));
    }
    tst_spit(file, good, len);
    poke_record(1, 6 + 32 + 2 + 1, 'a'); /* "ab" -> "aa": a repeated (user, mechanism) */
    ck_assert_int_eq(br_cred_open(dir, log_fn, NULL, &c), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(last_line, "repeats"));
    tst_spit(file, good, len);
    c = open_store();
    ck_assert_uint_eq(br_cred_count(c), 2);
    br_cred_close(c);
    free(good);
}
END_TEST

START_TEST(t_sasl_against_store)
{
    struct br_cred *c = open_store();
    struct br_scram_cred a = mk(BR_SASL_SCRAM_SHA_512, "s3cret", 4096);
    ck_assert_int_eq(br_cred_put(c, S("alice"), &a), 0);
    struct br_sasl_server srv;
    ck_assert_int_eq(br_sasl_server_init(&srv, br_cred_lookup, c), 0);
    struct br_sasl *s;
    uint8_t out[BR_SASL_OUT_MAX];
    size_t n;
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_PLAIN, &s), 0);
    ck_assert_int_eq(br_sasl_step(s, (const uint8_t *)"\0alice\0s3cret", 13, out, sizeof out, &n),
                     BR_SASL_DONE);
    br_sasl_free(s);
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_PLAIN, &s), 0);
    ck_assert_int_eq(br_sasl_step(s, (const uint8_t *)"\0alice\0s3creT", 13, out, sizeof out, &n),
                     -EPERM);
    br_sasl_free(s);
    /* SCRAM-SHA-512 reaches the stored salt and iteration count. */
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_SCRAM_SHA_512, &s), 0);
    ck_assert_int_eq(br_sasl_step(s, (const uint8_t *)"n,,n=alice,r=xyz", 16, out, sizeof out, &n),
                     BR_SASL_CONTINUE);
    char salt64[200];
    br_b64_encode(a.salt, a.salt_len, salt64, sizeof salt64);
    ck_assert_ptr_nonnull(memmem(out, n, salt64, strlen(salt64)));
    br_sasl_free(s);
    /* Deleted: the user is unknown at once. */
    ck_assert_int_eq(br_cred_delete(c, S("alice"), BR_SASL_SCRAM_SHA_512), 0);
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_PLAIN, &s), 0);
    ck_assert_int_eq(br_sasl_step(s, (const uint8_t *)"\0alice\0s3cret", 13, out, sizeof out, &n),
                     -EPERM);
    ck_assert_str_eq(br_sasl_reason(s), "unknown user");
    br_sasl_free(s);
    br_cred_close(c);
}
END_TEST

/* Lookups from several threads while another thread changes the store: every lookup sees
 * either no credential or a whole one (ASan/TSan-friendly, bounded). */
static struct br_cred *shared;
static struct br_scram_cred shared_a;
static atomic_int stop_flag;

static void *looker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000 && !atomic_load(&stop_flag); i++) {
        struct br_scram_cred got;
        int rc = br_cred_lookup(shared, BR_SASL_SCRAM_SHA_256, S("u"), &got);
        ck_assert(rc == -ENOENT || (rc == 0 && memcmp(&got, &shared_a, sizeof got) == 0));
    }
    return NULL;
}

START_TEST(t_concurrent_lookups)
{
    shared = open_store();
    shared_a = mk(BR_SASL_SCRAM_SHA_256, "p", 4096);
    atomic_store(&stop_flag, 0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, looker, NULL);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(br_cred_put(shared, S("u"), &shared_a), 0);
        ck_assert_int_eq(br_cred_delete(shared, S("u"), BR_SASL_SCRAM_SHA_256), 0);
    }
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    br_cred_close(shared);
}
END_TEST

static Suite *br_cred_suite(void)
{
    Suite *s = suite_create("br_cred");
    TCase *t = tcase_create("cred");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, t_put_lookup_delete_reopen);
    tcase_add_test(t, t_batch_and_listing);
    tcase_add_test(t, t_damaged_file_refused);
    tcase_add_test(t, t_sasl_against_store);
    tcase_add_test(t, t_concurrent_lookups);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(br_cred_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
