/*
 * fuzz_sasl — libFuzzer target over the SASL mechanisms (broker/sec/br_sasl*.c): what a client
 * sends before it is authenticated.
 *
 * Input: one byte choosing the mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 by its value
 * mod 3), a big-endian uint16 length L, the first client token (L bytes), then the second
 * client token (the rest). The server nonce is fixed ("SRVNONCE") and the store knows user
 * "user" (password "pencil") for both SCRAM mechanisms, so the fuzzer can reach the
 * client-final parser with a matching nonce. Every result must be BR_SASL_CONTINUE,
 * BR_SASL_DONE or one of the documented errors, the output within its bounds and a failed
 * exchange must stay failed; ASan/UBSan turn any over-read or UB into a crash.
 * Seeds: tests/fuzz/seeds/fuzz_sasl/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "br_sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct br_scram_cred c256, c512;
static struct br_sasl_server srv;

static int lookup(void *arg, enum br_sasl_mech mech, const char *user, size_t len,
                  struct br_scram_cred *out)
{
    (void)arg;
    if (len != 4 || memcmp(user, "user", 4) != 0)
        return -ENOENT;
    *out = mech == BR_SASL_SCRAM_SHA_256 ? c256 : c512;
    return 0;
}

static int nonce(void *arg, char *out, size_t cap, size_t *len)
{
    (void)arg;
    if (cap < 8)
        return -ENOSPC;
    memcpy(out, "SRVNONCE", 8);
    *len = 8;
    return 0;
}

static void init(void)
{
    static bool done;
    if (done)
        return;
    static const uint8_t salt[] = "fixed-salt";
    if (br_scram_cred_from_password(BR_SASL_SCRAM_SHA_256, "pencil", 6, salt, 10, 4096, &c256) ||
        br_scram_cred_from_password(BR_SASL_SCRAM_SHA_512, "pencil", 6, salt, 10, 4096, &c512) ||
        br_sasl_server_init(&srv, lookup, NULL))
        abort();
    srv.nonce = nonce;
    done = true;
}

static bool allowed(int rc)
{
    return rc == BR_SASL_CONTINUE || rc == BR_SASL_DONE || rc == -EBADMSG || rc == -ENOTSUP ||
           rc == -EPERM || rc == -EPROTO;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 3)
        return 0;
    enum br_sasl_mech mech = (enum br_sasl_mech)(BR_SASL_PLAIN + data[0] % 3);
    size_t l1 = (size_t)data[1] << 8 | data[2];
    if (l1 > size - 3)
        l1 = size - 3;
    const uint8_t *t1 = data + 3, *t2 = t1 + l1;
    size_t l2 = size - 3 - l1;

    struct br_sasl *s;
    if (br_sasl_new(&srv, mech, &s) != 0)
        abort();
    uint8_t out[BR_SASL_OUT_MAX];
    size_t n = 0;
    int rc = br_sasl_step(s, t1, l1, out, sizeof out, &n);
    if (!allowed(rc) || n > sizeof out || (rc < 0 && n != 0))
        abort();
    if (rc != BR_SASL_CONTINUE && br_sasl_step(s, t2, l2, out, sizeof out, &n) != -EPROTO)
        abort(); /* done or failed: nothing more */
    if (rc == BR_SASL_CONTINUE) {
        rc = br_sasl_step(s, t2, l2, out, sizeof out, &n);
        if (!allowed(rc) || rc == BR_SASL_CONTINUE || n > sizeof out || (rc < 0 && n != 0))
            abort();
    }
    const char *u = br_sasl_user(s);
    if (strlen(u) > BR_SASL_USER_MAX)
        abort();
    br_sasl_free(s);
    return 0;
}
