/*
 * sl_sasl.h — the client side of the SASL mechanisms libsplicelog speaks: PLAIN (RFC 4616) and
 * SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677), as pure message transformations.
 *
 * Contract
 * - One struct sl__sasl per authentication exchange (one connection attempt), made with
 *   sl__sasl_new and freed with sl__sasl_free; no I/O, no globals, any thread (one exchange is
 *   used by one thread at a time). The connection glue (sl_auth.c) carries the tokens in
 *   SaslAuthenticate requests.
 * - sl__sasl_step is called first with no input, then with each token the broker answers:
 *   it returns 1 with the next token to send (*out, owned by the exchange and valid until the
 *   next call), 0 when the exchange is complete (for SCRAM: the server's signature verified),
 *   or -errno: -EACCES (the broker refused, "e=" in SCRAM, or its signature does not match: a
 *   broker that does not know the password), -EBADMSG (a malformed server message, a nonce that
 *   does not extend ours, an iteration count outside [SL__SCRAM_ITER_MIN, SL__SCRAM_ITER_MAX]),
 *   -ENOMEM, -EIO (OpenSSL failed). After an error, sl__sasl_why says why (static or held by
 *   the exchange) and the exchange is finished.
 * - Secrets: the password is copied and wiped (OPENSSL_cleanse) with the derived keys at free.
 * - SCRAM details: the user name is escaped ('=' as "=3D", ',' as "=2C"); the client nonce is
 *   24 bytes from RAND_bytes in base64 (a fixed one may be given, for RFC test vectors); no
 *   channel binding (gs2 header "n,,"); SASLprep is not applied (names and passwords are used
 *   as UTF-8 bytes, as Kafka's Java client does); the server signature is compared in constant
 *   time (CRYPTO_memcmp).
 */
#ifndef SPLICELOG_SL_SASL_H
#define SPLICELOG_SL_SASL_H

#include <stddef.h>
#include <stdint.h>

enum sl__sasl_mech {
    SL__SASL_PLAIN = 1,
    SL__SASL_SCRAM_SHA_256 = 2,
    SL__SASL_SCRAM_SHA_512 = 3,
};

/* Kafka's iteration bounds for SCRAM (ScramMechanism: 4096 to 16384). */
#define SL__SCRAM_ITER_MIN 4096
#define SL__SCRAM_ITER_MAX 16384

/* "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512" (NULL for another value). */
const char *sl__sasl_mech_name(int mech);

struct sl__sasl;

/* A new exchange for mech as user with password. nonce: NULL for a random one (tests pass a
 * fixed one). 0, -EINVAL (an unknown mechanism, a NUL-free name/password required), -ENOMEM,
 * -EIO. */
int sl__sasl_new(int mech, const char *user, const char *password, const char *nonce,
                 struct sl__sasl **out);
void sl__sasl_free(struct sl__sasl *s);
/* See the contract: 1 (a token in *out), 0 (done), or -errno. */
int sl__sasl_step(struct sl__sasl *s, const uint8_t *in, size_t in_len, const uint8_t **out,
                  size_t *out_len);
/* Why the last step failed ("" when it did not). */
const char *sl__sasl_why(const struct sl__sasl *s);

/*
 * SaltedPassword = Hi(password, salt, iterations) for a SCRAM mechanism (PBKDF2 with the
 * mechanism's HMAC), into out (32 or 64 bytes: *out_len). What AlterUserScramCredentials
 * carries. 0, -EINVAL (not SCRAM, iterations out of bounds, out_cap too small), -EIO.
 */
int sl__scram_salted_password(int mech, const char *password, const uint8_t *salt, size_t salt_len,
                              int iterations, uint8_t *out, size_t out_cap, size_t *out_len);

#endif
