/*
 * test_br_sasl — the SASL mechanisms (broker/sec/br_sasl*.c): RFC 7677's SCRAM-SHA-256 test
 * vector byte for byte; kafka-python's SCRAM client (Debian's python3-kafka, a real client
 * implementation, driven over pipes) against SCRAM-SHA-256 and -512, right and wrong
 * passwords; unknown users fail at the proof with a stable per-user salt; a client-final
 * message replayed into another exchange is refused; strict parsing of client-first and
 * client-final messages (gs2 header, channel binding, saslname escapes, nonces, extensions,
 * proof length, trailing fields); PLAIN against the same credentials; strict base64;
 * user-name rules; tokens after the end.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "br_sasl.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* ---- a one-user credential store --------------------------------------------------------- */

struct store {
    const char *user;
    struct br_scram_cred c256, c512;
    bool has256, has512;
    int calls;
};

static int lookup(void *arg, enum br_sasl_mech mech, const char *user, size_t len,
                  struct br_scram_cred *out)
{
    struct store *st = arg;
    st->calls++;
    if (strlen(st->user) != len || memcmp(st->user, user, len) != 0)
        return -ENOENT;
    if (mech == BR_SASL_SCRAM_SHA_256 && st->has256) {
        *out = st->c256;
        return 0;
    }
    if (mech == BR_SASL_SCRAM_SHA_512 && st->has512) {
        *out = st->c512;
        return 0;
    }
    return -ENOENT;
}

static const char *fixed_nonce;
static int nonce_fn(void *arg, char *out, size_t cap, size_t *len)
{
    (void)arg;
    size_t n = strlen(fixed_nonce);
    ck_assert_uint_le(n, cap);
    memcpy(out, fixed_nonce, n);
    *len = n;
    return 0;
}

static struct store st;
static struct br_sasl_server srv;

static void setup_user(const char *user, const char *pw)
{
    memset(&st, 0, sizeof st);
    st.user = user;
    ck_assert_int_eq(
        br_scram_cred_from_password(BR_SASL_SCRAM_SHA_256, pw, strlen(pw), NULL, 0, 4096, &st.c256),
        0);
    ck_assert_int_eq(
        br_scram_cred_from_password(BR_SASL_SCRAM_SHA_512, pw, strlen(pw), NULL, 0, 4096, &st.c512),
        0);
    st.has256 = st.has512 = true;
    ck_assert_int_eq(br_sasl_server_init(&srv, lookup, &st), 0);
}

/* One step with a C string token; returns the status, the answer in out (NUL-terminated). */
static int step(struct br_sasl *s, const char *tok, char *out)
{
    size_t n = 0;
    int rc =
        br_sasl_step(s, (const uint8_t *)tok, strlen(tok), (uint8_t *)out, BR_SASL_OUT_MAX, &n);
    out[n] = '\0';
    return rc;
}

/* ---- RFC 7677 section 3 ------------------------------------------------------------------ */

START_TEST(test_rfc7677_vector)
{
    uint8_t salt[32];
    int sl = br_b64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof salt);
    ck_assert_int_eq(sl, 16);
    memset(&st, 0, sizeof st);
    st.user = "user";
    ck_assert_int_eq(br_scram_cred_from_password(BR_SASL_SCRAM_SHA_256, "pencil", 6, salt,
                                                 (size_t)sl, 4096, &st.c256),
                     0);
    st.has256 = true;
    ck_assert_int_eq(br_sasl_server_init(&srv, lookup, &st), 0);
    fixed_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    srv.nonce = nonce_fn;

    struct br_sasl *s;
    char out[BR_SASL_OUT_MAX + 1];
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_SCRAM_SHA_256, &s), 0);
    ck_assert_int_eq(step(s, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", out), BR_SASL_CONTINUE);
    ck_assert_str_eq(out, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                          "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    ck_assert_int_eq(step(s,
                          "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                          "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                          out),
                     BR_SASL_DONE);
    ck_assert_str_eq(out, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    ck_assert_str_eq(br_sasl_user(s), "user");
    ck_assert_str_eq(br_sasl_reason(s), "");
    /* Nothing after the end. */
    ck_assert_int_eq(step(s, "c=biws", out), -EPROTO);
    br_sasl_free(s);

    /* The same exchange with one bit of the proof flipped. */
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_SCRAM_SHA_256, &s), 0);
    ck_assert_int_eq(step(s, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", out), BR_SASL_CONTINUE);
    ck_assert_int_eq(step(s,
                          "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                          "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=",
                          out),
                     -EPERM);
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(br_sasl_reason(s), "wrong password (bad proof)");
    br_sasl_free(s);
}
END_TEST

/* ---- kafka-python's ScramClient ---------------------------------------------------------- */

static const char py_client[] =
    "import sys\n"
    "from kafka.scram import ScramClient\n"
    "c = ScramClient(sys.argv[1], sys.argv[2], sys.argv[3])\n"
    "print(c.first_message(), flush=True)\n"
    "c.process_server_first_message(sys.stdin.readline().rstrip('\\n'))\n"
    "print(c.final_message(), flush=True)\n"
    "try:\n"
    "    c.process_server_final_message(sys.stdin.readline().rstrip('\\n'))\n"
    "    print('VERIFIED', flush=True)\n"
    "except Exception as e:\n"
    "    print('REFUSED', e, flush=True)\n";

#define PYTHON "/usr/bin/python3"

static bool have_kafka_python(void)
{
    return system(PYTHON " -c 'import kafka.scram' 2>/dev/null") == 0;
}

struct child {
    pid_t pid;
    FILE *to, *from;
};

static void spawn(struct child *c, const char *user, const char *pw, const char *mech)
{
    int in[2], out[2];
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    c->pid = fork();
    ck_assert_int_ge(c->pid, 0);
    if (c->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl(PYTHON, PYTHON, "-c", py_client, user, pw, mech, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->to = fdopen(in[1], "w");
    c->from = fdopen(out[0], "r");
}

static void read_line(struct child *c, char *buf, size_t cap)
{
    alarm(30);
    ck_assert_ptr_nonnull(fgets(buf, (int)cap, c->from));
    alarm(0);
    buf[strcspn(buf, "\n")] = '\0';
}

static void finish(struct child *c)
{
    fclose(c->to);
    fclose(c->from);
    int status;
    ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Runs one exchange with kafka-python's client; returns the server's final status. */
static int py_exchange(enum br_sasl_mech mech, const char *user, const char *pw, char *verdict)
{
    struct child c;
    spawn(&c, user, pw, br_sasl_mech_name(mech));
    char line[4096], out[BR_SASL_OUT_MAX + 1];
    struct br_sasl *s;
    ck_assert_int_eq(br_sasl_new(&srv, mech, &s), 0);
    read_line(&c, line, sizeof line);
    ck_assert_int_eq(step(s, line, out), BR_SASL_CONTINUE);
    fprintf(c.to, "%s\n", out);
    fflush(c.to);
    read_line(&c, line, sizeof line);
    int rc = step(s, line, out);
    fprintf(c.to, "%s\n", rc == BR_SASL_DONE ? out : "e=invalid-proof");
    fflush(c.to);
    read_line(&c, verdict, 256);
    if (rc == BR_SASL_DONE)
        ck_assert_str_eq(br_sasl_user(s), user);
    br_sasl_free(s);
    finish(&c);
    return rc;
}

START_TEST(test_kafka_python_client)
{
    if (!have_kafka_python()) {
        fprintf(stderr, "test_kafka_python_client: skipped, no python3-kafka\n");
        return;
    }
    setup_user("alice", "alice-secret");
    char verdict[256];
    for (enum br_sasl_mech m = BR_SASL_SCRAM_SHA_256; m <= BR_SASL_SCRAM_SHA_512; m++) {
        ck_assert_int_eq(py_exchange(m, "alice", "alice-secret", verdict), BR_SASL_DONE);
        ck_assert_str_eq(verdict, "VERIFIED"); /* the client checked the server's signature */
        ck_assert_int_eq(py_exchange(m, "alice", "wrong", verdict), -EPERM);
        ck_assert_int_eq(strncmp(verdict, "REFUSED", 7), 0);
        ck_assert_int_eq(py_exchange(m, "mallory", "x", verdict), -EPERM);
    }
}
END_TEST

/* ---- forged messages ------------------------------------------------------------------ */

/* A proof of the right length that proves nothing: the tests below need well-formed client-final
 * messages, not correct ones (the RFC vector and kafka-python cover the arithmetic). */
static const char *proof_b64(enum br_sasl_mech m)
{
    return m == BR_SASL_SCRAM_SHA_256 ? "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
                                      : "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                        "AAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
}

/* Starts an exchange with client-first tok; returns the server-first in sf. */
static struct br_sasl *start(enum br_sasl_mech m, const char *tok, char *sf)
{
    struct br_sasl *s;
    ck_assert_int_eq(br_sasl_new(&srv, m, &s), 0);
    ck_assert_int_eq(step(s, tok, sf), BR_SASL_CONTINUE);
    return s;
}

/* The nonce of a server-first message. */
static void nonce_of(const char *sf, char *nonce)
{
    const char *e = strchr(sf, ',');
    memcpy(nonce, sf + 2, (size_t)(e - sf - 2));
    nonce[e - sf - 2] = '\0';
}

START_TEST(test_replayed_final_refused)
{
    if (!have_kafka_python()) {
        fprintf(stderr, "test_replayed_final_refused: skipped, no python3-kafka\n");
        return;
    }
    setup_user("alice", "pw");
    /* Exchange A, completed by kafka-python; its client-final is recorded. */
    struct child c;
    spawn(&c, "alice", "pw", "SCRAM-SHA-256");
    char first[1024], final[2048], out[BR_SASL_OUT_MAX + 1], verdict[256];
    struct br_sasl *a;
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_SCRAM_SHA_256, &a), 0);
    read_line(&c, first, sizeof first);
    ck_assert_int_eq(step(a, first, out), BR_SASL_CONTINUE);
    fprintf(c.to, "%s\n", out);
    fflush(c.to);
    read_line(&c, final, sizeof final);
    ck_assert_int_eq(step(a, final, out), BR_SASL_DONE);
    fprintf(c.to, "%s\n", out);
    fflush(c.to);
    read_line(&c, verdict, sizeof verdict);
    ck_assert_str_eq(verdict, "VERIFIED");
    finish(&c);
    br_sasl_free(a);

    /* Exchange B: the same client-first, then A's client-final. The server's nonce differs,
     * so the replay fails, and it fails before any proof is looked at. */
    struct br_sasl *b = start(BR_SASL_SCRAM_SHA_256, first, out);
    ck_assert_int_eq(step(b, final, out), -EPERM);
    ck_assert_str_eq(br_sasl_reason(b), "SCRAM client-final: not the nonce this exchange sent");
    br_sasl_free(b);
}
END_TEST

START_TEST(test_unknown_user_mock)
{
    setup_user("alice", "pw");
    char sf1[BR_SASL_OUT_MAX + 1], sf2[BR_SASL_OUT_MAX + 1], sf3[BR_SASL_OUT_MAX + 1];
    char out[BR_SASL_OUT_MAX + 1], nonce[1024], fin[2048];
    for (enum br_sasl_mech m = BR_SASL_SCRAM_SHA_256; m <= BR_SASL_SCRAM_SHA_512; m++) {
        struct br_sasl *s1 = start(m, "n,,n=mallory,r=abc", sf1);
        struct br_sasl *s2 = start(m, "n,,n=mallory,r=abc", sf2);
        struct br_sasl *s3 = start(m, "n,,n=trudy,r=abc", sf3);
        /* Same salt and 4096 iterations for the same name, another salt for another name. */
        ck_assert_str_eq(strstr(sf1, ",s="), strstr(sf2, ",s="));
        ck_assert_str_ne(strstr(sf1, ",s="), strstr(sf3, ",s="));
        ck_assert_str_eq(strstr(sf1, ",i="), ",i=4096");
        nonce_of(sf1, nonce);
        snprintf(fin, sizeof fin, "c=biws,r=%s,p=%s", nonce, proof_b64(m));
        ck_assert_int_eq(step(s1, fin, out), -EPERM);
        ck_assert_str_eq(br_sasl_reason(s1), "unknown user");
        ck_assert_str_eq(br_sasl_user(s1), "mallory");
        br_sasl_free(s1);
        br_sasl_free(s2);
        br_sasl_free(s3);
    }
    /* A known user's salt is the stored one, and different from a mock salt. */
    struct br_sasl *k = start(BR_SASL_SCRAM_SHA_256, "n,,n=alice,r=abc", sf1);
    char salt64[256];
    br_b64_encode(st.c256.salt, st.c256.salt_len, salt64, sizeof salt64);
    ck_assert_ptr_nonnull(strstr(sf1, salt64));
    br_sasl_free(k);
}
END_TEST

/* ---- strict parsing ---------------------------------------------------------------------- */

START_TEST(test_client_first_grammar)
{
    setup_user("a,b=c", "pw");
    static const struct {
        const char *tok;
        int want;
    } cases[] = {
        {"n,,n=user,r=abc", BR_SASL_CONTINUE},
        {"y,,n=user,r=abc", BR_SASL_CONTINUE},
        {"n,a=user,n=user,r=abc", BR_SASL_CONTINUE},
        {"n,,n=user,r=abc,x=1,ext=y", BR_SASL_CONTINUE},
        {"n,,n=a=2Cb=3Dc,r=abc", BR_SASL_CONTINUE},
        {"n,,n=us\xc3\xa9r,r=abc", BR_SASL_CONTINUE},
        {"p=tls-unique,,n=user,r=abc", -ENOTSUP},
        {"n,,m=ext,n=user,r=abc", -ENOTSUP},
        {"n,a=other,n=user,r=abc", -ENOTSUP},
        {"n,,n=user,r=abc,tokenauth=true", -ENOTSUP},
        {"", -EBADMSG},
        {"n", -EBADMSG},
        {"n,", -EBADMSG},
        {"n,,", -EBADMSG},
        {"x,,n=user,r=abc", -EBADMSG},
        {"n,n=user,r=abc", -EBADMSG},
        {"n;,n=user,r=abc", -EBADMSG},
        {"n,,n=,r=abc", -EBADMSG},
        {"n,,n=us=2Xer,r=abc", -EBADMSG},
        {"n,,n=user=,r=abc", -EBADMSG},
        {"n,,n=user=2,r=abc", -EBADMSG},
        {"n,,n=user", -EBADMSG},
        {"n,,n=user,r=", -EBADMSG},
        {"n,,n=user,r=a b", -EBADMSG},
        {"n,,n=user,r=abc,", -EBADMSG},
        {"n,,n=user,r=abc,=x", -EBADMSG},
        {"n,,n=user,r=abc,x=", -EBADMSG},
        {"n,,n=user,r=abc,1=x", -EBADMSG},
        {"n,,r=abc,n=user", -EBADMSG},
        {"n,,n=us\xff"
         "er,r=abc",
         -EBADMSG},
        {"n,,n=us\xc0\xafr,r=abc", -EBADMSG}, /* overlong '/' */
        {"n,,n=us\x01r,r=abc", -EBADMSG},     /* control character */
        {"n,,n=user,r=ab\x80", -EBADMSG},
        {"n,a=,n=user,r=abc", -EBADMSG},
        {"n,a=us=er,n=user,r=abc", -EBADMSG},
    };
    char out[BR_SASL_OUT_MAX + 1];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct br_sasl *s;
        ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_SCRAM_SHA_512, &s), 0);
        int rc = step(s, cases[i].tok, out);
        ck_assert_msg(rc == cases[i].want, "case %zu '%s': %d, want %d", i, cases[i].tok, rc,
                      cases[i].want);
        if (rc < 0) {
            ck_assert_str_eq(out, "");
            ck_assert_str_ne(br_sasl_reason(s), "");
            /* Failed for good. */
            ck_assert_int_eq(step(s, "n,,n=user,r=abc", out), -EPROTO);
        }
        br_sasl_free(s);
    }
    /* A NUL inside the token. */
    struct br_sasl *s;
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_SCRAM_SHA_256, &s), 0);
    size_t n;
    ck_assert_int_eq(
        br_sasl_step(s, (const uint8_t *)"n,,n=u\0r,r=abc", 14, (uint8_t *)out, sizeof out, &n),
        -EBADMSG);
    br_sasl_free(s);
    /* A token over BR_SASL_TOKEN_MAX. */
    static char big[BR_SASL_TOKEN_MAX + 16];
    memset(big, 'a', sizeof big - 1);
    memcpy(big, "n,,n=user,r=", 12);
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_SCRAM_SHA_256, &s), 0);
    ck_assert_int_eq(step(s, big, out), -EBADMSG);
    br_sasl_free(s);
    /* The escaped name is the user name. */
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_SCRAM_SHA_256, &s), 0);
    ck_assert_int_eq(step(s, "n,,n=a=2Cb=3Dc,r=abc", out), BR_SASL_CONTINUE);
    ck_assert_str_eq(br_sasl_user(s), "a,b=c");
    ck_assert_int_eq(st.calls > 0, 1);
    br_sasl_free(s);
}
END_TEST

/* tmpl with every "N" replaced by nonce and every "P" by proof (neither letter occurs
 * otherwise in the templates below). */
static void subst(const char *tmpl, const char *nonce, const char *proof, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *t = tmpl; *t; t++) {
        const char *r = *t == 'N' ? nonce : *t == 'P' ? proof : NULL;
        size_t n = r ? strlen(r) : 1;
        ck_assert_uint_lt(o + n, cap);
        memcpy(out + o, r ? r : t, n);
        o += n;
    }
    out[o] = '\0';
}

START_TEST(test_client_final_grammar)
{
    setup_user("user", "pw");
    char sf[BR_SASL_OUT_MAX + 1], out[BR_SASL_OUT_MAX + 1], nonce[1024], tok[4096];
    const char *p256 = proof_b64(BR_SASL_SCRAM_SHA_256);
    static const char *const bad[] = {
        "",
        "c=biws",
        "c=biws,r=N",          /* no proof */
        "c=eSws,r=N,p=P",      /* c= is "y,," but the client sent "n,," */
        "c=biw,r=N,p=P",       /* bad base64 */
        "c=biws,r=N,p=AAAA",   /* proof of the wrong length */
        "c=biws,r=N,p=P,x=1",  /* a field after the proof */
        "c=biws,r=N,p=P,",     /* trailing comma */
        "r=N,c=biws,p=P",      /* order */
        "c=biws,r=N,bad,p=P",  /* not an extension */
        "c=biws,r=N,x=1,p=P!", /* proof not base64 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct br_sasl *s = start(BR_SASL_SCRAM_SHA_256, "n,,n=user,r=abc", sf);
        nonce_of(sf, nonce);
        subst(bad[i], nonce, p256, tok, sizeof tok);
        ck_assert_msg(step(s, tok, out) == -EBADMSG, "case %zu: %s", i, tok);
        br_sasl_free(s);
    }
    /* The nonce must be exactly the one sent: a prefix, a longer one, another one. */
    static const char *const nonces[] = {"abc", "NX", "XN"};
    for (size_t i = 0; i < sizeof nonces / sizeof nonces[0]; i++) {
        struct br_sasl *s = start(BR_SASL_SCRAM_SHA_256, "n,,n=user,r=abc", sf);
        nonce_of(sf, nonce);
        char n2[1100];
        subst(nonces[i], nonce, "", n2, sizeof n2);
        snprintf(tok, sizeof tok, "c=biws,r=%s,p=%s", n2, p256);
        ck_assert_int_eq(step(s, tok, out), -EPERM);
        br_sasl_free(s);
    }
    /* Well-formed with an extension but a wrong proof: -EPERM, after parsing. */
    struct br_sasl *s = start(BR_SASL_SCRAM_SHA_256, "y,,n=user,r=abc", sf);
    nonce_of(sf, nonce);
    snprintf(tok, sizeof tok, "c=eSws,r=%s,x=1,p=%s", nonce, p256);
    ck_assert_int_eq(step(s, tok, out), -EPERM);
    ck_assert_str_eq(br_sasl_reason(s), "wrong password (bad proof)");
    br_sasl_free(s);
}
END_TEST

/* The client side of SCRAM-SHA-256's proof, for a client-final-without-proof wo. */
static void client_proof(const char *pw, const char *salt64, int iters, const char *auth,
                         char *out64)
{
    uint8_t salt[128], salted[32], ckey[32], stored[32], sig[32], proof[32];
    int sl = br_b64_decode(salt64, strlen(salt64), salt, sizeof salt);
    ck_assert_int_gt(sl, 0);
    PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sl, iters, EVP_sha256(), 32, salted);
    unsigned l;
    HMAC(EVP_sha256(), salted, 32, (const uint8_t *)"Client Key", 10, ckey, &l);
    EVP_Digest(ckey, 32, stored, NULL, EVP_sha256(), NULL);
    HMAC(EVP_sha256(), stored, 32, (const uint8_t *)auth, strlen(auth), sig, &l);
    for (int i = 0; i < 32; i++)
        proof[i] = ckey[i] ^ sig[i];
    ck_assert_int_gt(br_b64_encode(proof, 32, out64, 64), 0);
}

/* librdkafka (to 2.x) writes the client nonce twice in its client-final (client nonce, then
 * the combined one); Kafka accepts a nonce that ends with its own, and so does this server,
 * the proof covering the message as sent. Another prefix of the same length is refused. */
START_TEST(test_librdkafka_doubled_nonce)
{
    setup_user("user", "pencil");
    char sf[BR_SASL_OUT_MAX + 1], out[BR_SASL_OUT_MAX + 1], nonce[1024], tok[4096], wo[2048],
        auth[4096], p64[64];
    for (int k = 0; k < 2; k++) {
        struct br_sasl *s = start(BR_SASL_SCRAM_SHA_256, "n,,n=user,r=abcdef", sf);
        nonce_of(sf, nonce);
        const char *salt = strstr(sf, ",s=") + 3;
        char salt64[256];
        snprintf(salt64, sizeof salt64, "%.*s", (int)(strchr(salt, ',') - salt), salt);
        snprintf(wo, sizeof wo, "c=biws,r=%s%s", k == 0 ? "abcdef" : "zzzzzz", nonce);
        snprintf(auth, sizeof auth, "n=user,r=abcdef,%s,%s", sf, wo);
        client_proof("pencil", salt64, 4096, auth, p64);
        snprintf(tok, sizeof tok, "%s,p=%s", wo, p64);
        ck_assert_int_eq(step(s, tok, out), k == 0 ? BR_SASL_DONE : -EPERM);
        br_sasl_free(s);
    }
}
END_TEST

START_TEST(test_stored_credential_rules)
{
    setup_user("user", "pw");
    char out[BR_SASL_OUT_MAX + 1];
    /* A credential below 4096 iterations is refused (as Kafka does). */
    st.c256.iterations = 1000;
    struct br_sasl *s;
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_SCRAM_SHA_256, &s), 0);
    ck_assert_int_eq(step(s, "n,,n=user,r=abc", out), -EPERM);
    br_sasl_free(s);
    /* Only -512 stored: SCRAM-SHA-256 sees an unknown user, PLAIN falls back to -512. */
    setup_user("user", "pw");
    st.has256 = false;
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_SCRAM_SHA_256, &s), 0);
    ck_assert_int_eq(step(s, "n,,n=user,r=abc", out), BR_SASL_CONTINUE);
    br_sasl_free(s);
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_PLAIN, &s), 0);
    size_t n;
    ck_assert_int_eq(
        br_sasl_step(s, (const uint8_t *)"\0user\0pw", 8, (uint8_t *)out, sizeof out, &n),
        BR_SASL_DONE);
    br_sasl_free(s);
    /* Credentials: iteration and salt bounds. */
    struct br_scram_cred c;
    ck_assert_int_eq(br_scram_cred_from_password(BR_SASL_SCRAM_SHA_256, "p", 1, NULL, 0, 4095, &c),
                     -EINVAL);
    ck_assert_int_eq(br_scram_cred_from_password(BR_SASL_SCRAM_SHA_256, "p", 1, NULL, 0, 16385, &c),
                     -EINVAL);
    ck_assert_int_eq(br_scram_cred_from_password(BR_SASL_PLAIN, "p", 1, NULL, 0, 4096, &c),
                     -EINVAL);
    uint8_t salt[BR_SCRAM_SALT_MAX + 1] = {0};
    ck_assert_int_eq(
        br_scram_cred_from_password(BR_SASL_SCRAM_SHA_256, "p", 1, salt, sizeof salt, 4096, &c),
        -EINVAL);
    ck_assert_int_eq(br_scram_cred_from_salted(BR_SASL_SCRAM_SHA_512, salt, 32, salt, 16, 4096, &c),
                     -EINVAL); /* SHA-512's salted password is 64 bytes */
}
END_TEST

/* ---- PLAIN ------------------------------------------------------------------------------- */

static int plain(const char *tok, size_t n)
{
    struct br_sasl *s;
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_PLAIN, &s), 0);
    char out[BR_SASL_OUT_MAX];
    size_t on = 99;
    int rc = br_sasl_step(s, (const uint8_t *)tok, n, (uint8_t *)out, sizeof out, &on);
    ck_assert_uint_eq(on, 0);
    if (rc == BR_SASL_DONE)
        ck_assert_str_eq(br_sasl_user(s), "alice");
    br_sasl_free(s);
    return rc;
}
#define PLAIN(lit) plain((lit), sizeof(lit) - 1)

START_TEST(test_plain)
{
    setup_user("alice", "s3cret");
    ck_assert_int_eq(PLAIN("\0alice\0s3cret"), BR_SASL_DONE);
    ck_assert_int_eq(PLAIN("alice\0alice\0s3cret"), BR_SASL_DONE);
    ck_assert_int_eq(PLAIN("\0alice\0s3creT"), -EPERM);
    ck_assert_int_eq(PLAIN("\0bob\0s3cret"), -EPERM);
    ck_assert_int_eq(PLAIN("bob\0alice\0s3cret"), -ENOTSUP);
    ck_assert_int_eq(PLAIN("\0alice"), -EBADMSG);
    ck_assert_int_eq(PLAIN("\0alice\0s3cret\0"), -EBADMSG);
    ck_assert_int_eq(PLAIN("\0\0s3cret"), -EBADMSG);
    ck_assert_int_eq(PLAIN("\0alice\0"), -EBADMSG);
    ck_assert_int_eq(PLAIN(""), -EBADMSG);
    ck_assert_int_eq(PLAIN("\0alice\0s3\xff"), -EBADMSG);
    ck_assert_int_eq(PLAIN("\0al\x7fice\0s3cret"), -EBADMSG);
    /* After DONE nothing more. */
    struct br_sasl *s;
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_PLAIN, &s), 0);
    char out[16];
    size_t n;
    ck_assert_int_eq(
        br_sasl_step(s, (const uint8_t *)"\0alice\0s3cret", 13, (uint8_t *)out, sizeof out, &n),
        BR_SASL_DONE);
    ck_assert_int_eq(br_sasl_step(s, (const uint8_t *)"x", 1, (uint8_t *)out, sizeof out, &n),
                     -EPROTO);
    br_sasl_free(s);
}
END_TEST

/* ---- helpers ----------------------------------------------------------------------------- */

START_TEST(test_base64_strict)
{
    uint8_t b[16];
    ck_assert_int_eq(br_b64_decode("biws", 4, b, sizeof b), 3);
    ck_assert(memcmp(b, "n,,", 3) == 0);
    ck_assert_int_eq(br_b64_decode("YQ==", 4, b, sizeof b), 1);
    ck_assert_int_eq(br_b64_decode("YWI=", 4, b, sizeof b), 2);
    ck_assert_int_eq(br_b64_decode("", 0, b, sizeof b), 0);
    ck_assert_int_eq(br_b64_decode("YR==", 4, b, sizeof b), -EBADMSG); /* trailing bits */
    ck_assert_int_eq(br_b64_decode("YWJ=", 4, b, sizeof b), -EBADMSG);
    ck_assert_int_eq(br_b64_decode("YQ=", 3, b, sizeof b), -EBADMSG);
    ck_assert_int_eq(br_b64_decode("Y Q=", 4, b, sizeof b), -EBADMSG);
    ck_assert_int_eq(br_b64_decode("Y=Q=", 4, b, sizeof b), -EBADMSG);
    ck_assert_int_eq(br_b64_decode("====", 4, b, sizeof b), -EBADMSG);
    ck_assert_int_eq(br_b64_decode("YQ==YQ==", 8, b, sizeof b), -EBADMSG);
    ck_assert_int_eq(br_b64_decode("YWJj", 4, b, 2), -ENOSPC);
    char e[16];
    ck_assert_int_eq(br_b64_encode((const uint8_t *)"n,,", 3, e, sizeof e), 4);
    ck_assert_str_eq(e, "biws");
    ck_assert_int_eq(br_b64_encode((const uint8_t *)"a", 1, e, sizeof e), 4);
    ck_assert_str_eq(e, "YQ==");
    ck_assert_int_eq(br_b64_encode((const uint8_t *)"abcd", 4, e, 8), -ENOSPC);
}
END_TEST

START_TEST(test_user_names_and_mechanisms)
{
    ck_assert(br_sasl_user_valid("alice", 5));
    ck_assert(br_sasl_user_valid("a,b=c d", 7));
    ck_assert(br_sasl_user_valid("\xc3\xa9", 2));
    ck_assert(!br_sasl_user_valid("", 0));
    ck_assert(!br_sasl_user_valid("a\nb", 3));
    ck_assert(!br_sasl_user_valid("a\x7f", 2));
    ck_assert(!br_sasl_user_valid("\xc2\x85", 2));     /* C1 NEL */
    ck_assert(!br_sasl_user_valid("\xed\xa0\x80", 3)); /* surrogate */
    ck_assert(!br_sasl_user_valid("\xc3", 1));
    static char long_name[BR_SASL_USER_MAX + 1];
    memset(long_name, 'x', sizeof long_name);
    ck_assert(br_sasl_user_valid(long_name, BR_SASL_USER_MAX));
    ck_assert(!br_sasl_user_valid(long_name, BR_SASL_USER_MAX + 1));

    enum br_sasl_mech m;
    ck_assert_int_eq(br_sasl_mech_parse("SCRAM-SHA-512", 13, &m), 0);
    ck_assert_int_eq(m, BR_SASL_SCRAM_SHA_512);
    ck_assert_int_eq(br_sasl_mech_parse("PLAIN", 5, &m), 0);
    ck_assert_int_eq(br_sasl_mech_parse("plain", 5, &m), -ENOENT);
    ck_assert_int_eq(br_sasl_mech_parse("SCRAM-SHA-1", 11, &m), -ENOENT);
    ck_assert_int_eq(br_sasl_mech_parse("GSSAPI", 6, &m), -ENOENT);
    struct br_sasl *s;
    ck_assert_int_eq(br_sasl_new(&srv, (enum br_sasl_mech)9, &s), -EINVAL);
}
END_TEST

static Suite *br_sasl_suite(void)
{
    Suite *s = suite_create("br_sasl");
    TCase *t = tcase_create("sasl");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_rfc7677_vector);
    tcase_add_test(t, test_kafka_python_client);
    tcase_add_test(t, test_replayed_final_refused);
    tcase_add_test(t, test_librdkafka_doubled_nonce);
    tcase_add_test(t, test_unknown_user_mock);
    tcase_add_test(t, test_client_first_grammar);
    tcase_add_test(t, test_client_final_grammar);
    tcase_add_test(t, test_stored_credential_rules);
    tcase_add_test(t, test_plain);
    tcase_add_test(t, test_base64_strict);
    tcase_add_test(t, test_user_names_and_mechanisms);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(br_sasl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
