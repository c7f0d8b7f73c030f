/* tb_sec — see tb_sec.h. */
#include "tb_sec.h"

#include <check.h>
#include <signal.h>
#include <string.h>

#include "br_cred.h"
#include "tb_tls.h"

void tb_sec_add_user(const char *data, const char *user, const char *pw)
{
    struct br_cred *c;
    ck_assert_int_eq(br_cred_open(data, NULL, NULL, &c), 0);
    for (int m = BR_SASL_SCRAM_SHA_256; m <= BR_SASL_SCRAM_SHA_512; m++) {
        struct br_scram_cred cr;
        ck_assert_int_eq(br_scram_cred_from_password(m, pw, strlen(pw), NULL, 0, 4096, &cr), 0);
        ck_assert_int_eq(br_cred_put(c, user, strlen(user), &cr), 0);
    }
    br_cred_close(c);
}

int tb_sec_start(struct tb_broker *b, const char *const *base, const char *const *more,
                 const char *const *users)
{
    const char *argv[32];
    int n = 0;
    for (int i = 0; base[i] && n < 30; i++)
        argv[n++] = base[i];
    for (int i = 0; more && more[i] && n < 30; i++)
        argv[n++] = more[i];
    argv[n] = NULL;
    memset(b, 0, sizeof(*b));
    ck_assert_int_eq(tb_broker_start(b, argv), 0); /* makes the data dir */
    ck_assert_int_eq(tb_broker_stop(b, SIGTERM) >= 0, 1);
    for (int i = 0; users[i] && users[i + 1]; i += 2)
        tb_sec_add_user(b->data, users[i], users[i + 1]);
    ck_assert_int_eq(tb_broker_start(b, argv), 0);
    int port = tb_listener_port(b, "SASL_PLAINTEXT");
    ck_assert_int_gt(port, 0);
    return port;
}
