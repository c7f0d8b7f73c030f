/*
 * br_sasl — the server side of the SASL mechanisms Kafka clients use: PLAIN (RFC 4616) and
 * SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677), and the SCRAM key arithmetic the
 * credential store and its tools share. No sockets, no files, no Kafka framing: one exchange
 * is a sequence of client tokens in and server tokens out.
 *
 * Why our own SCRAM on OpenSSL rather than a SASL library: GNU SASL (Debian 12: 2.2) has no
 * SCRAM-SHA-512, which Kafka deployments use most; Cyrus SASL (2.1.28) has it, but its server
 * takes credentials only through auxprop plugins (its own secret format, plugins dlopen()ed
 * from a system path, process-wide sasl_server_init state and config files), which would make
 * the broker's credential store an adapter to Cyrus's. The mechanism is small: OpenSSL gives
 * PBKDF2 (Hi), HMAC, SHA-2, CRYPTO_memcmp and a CSPRNG; this file adds strict parsing.
 *
 * Contract
 * - An exchange (struct br_sasl) belongs to one connection and one thread at a time; it is
 *   created for a mechanism (br_sasl_new), fed the client's tokens in order (br_sasl_step) and
 *   freed (br_sasl_free). Its memory is one allocation made at br_sasl_new.
 * - The server settings (struct br_sasl_server) are read-only once exchanges exist; any thread
 *   may share them. The credential lookup callback is called from br_sasl_step on the calling
 *   thread; it copies the credential out (the exchange keeps no pointer into the store).
 * - br_sasl_step returns BR_SASL_CONTINUE (out holds the server's challenge), BR_SASL_DONE
 *   (authenticated; out holds the final server message, empty for PLAIN; br_sasl_user() is the
 *   authenticated user) or a negative errno, after which the exchange is failed for good:
 *     -EBADMSG  a token that breaks the mechanism's grammar (strict: RFC 5802 section 7,
 *               RFC 4616 section 2, valid UTF-8, lengths within the BR_SASL_*_MAX bounds);
 *     -ENOTSUP  something well-formed this server does not do: channel binding ("p="), a
 *               mandatory extension ("m="), delegation tokens ("tokenauth"), an authzid
 *               other than the user;
 *     -EPERM    the credentials do not verify (unknown user, wrong password or proof,
 *               a stored credential below BR_SCRAM_ITER_MIN);
 *     -EPROTO   a token after the exchange ended;
 *     -ENOSPC   out_cap too small (BR_SASL_OUT_MAX always suffices);
 *     -EIO      OpenSSL failed (no randomness, no digest).
 *   br_sasl_reason() says why in words for the log line (a static string, never credentials).
 * - Unknown users: SCRAM answers the first message with a salt derived from a server secret
 *   and the user name (stable, so repeated probes see the same salt) and the default iteration
 *   count, and fails at the proof like a wrong password: the exchange does not reveal whether
 *   a user exists (RFC 5802 section 9 suggests it; Kafka itself fails at the first message).
 *   PLAIN runs PBKDF2 for unknown users too, so the time taken does not tell either.
 * - Comparisons of keys and proofs are constant-time (CRYPTO_memcmp); server nonces are 24
 *   bytes from OpenSSL's CSPRNG (RAND_bytes), so a client-final message recorded from one
 *   exchange never matches another's nonce. Key material in an exchange is wiped when it ends.
 * - Names and passwords are used as bytes (no SASLprep), as Kafka does.
 */
#ifndef SPLICELOG_BR_SASL_H
#define SPLICELOG_BR_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum br_sasl_mech {
    BR_SASL_PLAIN = 1,
    BR_SASL_SCRAM_SHA_256 = 2,
    BR_SASL_SCRAM_SHA_512 = 3,
};

#define BR_SASL_USER_MAX     255  /* bytes of a user name (after SCRAM's =2C/=3D decoding) */
#define BR_SASL_PASSWORD_MAX 255  /* bytes of a PLAIN password */
#define BR_SASL_TOKEN_MAX    1024 /* bytes of one client token */
#define BR_SASL_OUT_MAX      1536 /* bytes of the longest server token */
#define BR_SCRAM_KEY_MAX     64   /* SHA-512's output */
#define BR_SCRAM_SALT_MAX    128
#define BR_SCRAM_SALT_LEN    32    /* salts made here */
#define BR_SCRAM_ITER_MIN    4096  /* RFC 7677's minimum, Kafka's too */
#define BR_SCRAM_ITER_MAX    16384 /* Kafka's ScramMechanism maximum */
#define BR_SASL_SECRET_LEN   32    /* struct br_sasl_server.mock_secret */

/* Kafka's mechanism name ("SCRAM-SHA-512"); NULL for a value outside the enum. */
const char *br_sasl_mech_name(enum br_sasl_mech mech);
/* The mechanism named exactly (case-sensitive, as Kafka): 0, or -ENOENT. */
int br_sasl_mech_parse(const char *name, size_t len, enum br_sasl_mech *out);
/* True for the SCRAM mechanisms. */
static inline bool br_sasl_is_scram(enum br_sasl_mech m)
{
    return m == BR_SASL_SCRAM_SHA_256 || m == BR_SASL_SCRAM_SHA_512;
}
/* Output length of the SCRAM mechanism's hash (32 or 64); 0 for PLAIN. */
size_t br_scram_key_len(enum br_sasl_mech mech);

/*
 * A user name the broker accepts: 1..BR_SASL_USER_MAX bytes of valid UTF-8 without control
 * characters (C0, DEL, C1). The same rule for SASL, the credential store and its tools.
 */
bool br_sasl_user_valid(const char *name, size_t len);

/* ---- SCRAM credentials -------------------------------------------------------------------- */

/* What the server keeps of a SCRAM password (RFC 5802 section 3): never the password. */
struct br_scram_cred {
    enum br_sasl_mech mech; /* SCRAM-SHA-256 or -512 */
    int32_t iterations;
    uint16_t salt_len; /* 1..BR_SCRAM_SALT_MAX */
    uint8_t salt[BR_SCRAM_SALT_MAX];
    uint8_t stored_key[BR_SCRAM_KEY_MAX]; /* H(HMAC(SaltedPassword, "Client Key")) */
    uint8_t server_key[BR_SCRAM_KEY_MAX]; /* HMAC(SaltedPassword, "Server Key") */
};

/*
 * The credential for a password: SaltedPassword = Hi(password, salt, iterations) (PBKDF2
 * with the mechanism's HMAC), then the two keys. iterations must be within
 * [BR_SCRAM_ITER_MIN, BR_SCRAM_ITER_MAX], salt_len within [1, BR_SCRAM_SALT_MAX]: -EINVAL
 * otherwise (or for PLAIN). -EIO when OpenSSL fails. salt NULL: BR_SCRAM_SALT_LEN random
 * bytes are drawn.
 */
int br_scram_cred_from_password(enum br_sasl_mech mech, const char *password, size_t password_len,
                                const uint8_t *salt, size_t salt_len, int32_t iterations,
                                struct br_scram_cred *out);
/* The same from SaltedPassword itself (AlterUserScramCredentials sends that, KIP-554).
 * salted_len must be the mechanism's key length. */
int br_scram_cred_from_salted(enum br_sasl_mech mech, const uint8_t *salted, size_t salted_len,
                              const uint8_t *salt, size_t salt_len, int32_t iterations,
                              struct br_scram_cred *out);

/* ---- the server side of one exchange ------------------------------------------------------ */

/*
 * Finds user's credential for a SCRAM mechanism: 0 with *out filled, -ENOENT when the user
 * has none for that mechanism (or does not exist), another -errno on failure (the exchange
 * fails with -EPERM). For PLAIN the exchange asks for SCRAM-SHA-256 first, then -512.
 */
typedef int (*br_sasl_lookup_fn)(void *arg, enum br_sasl_mech mech, const char *user,
                                 size_t user_len, struct br_scram_cred *out);

/*
 * Writes a server nonce (printable ASCII other than ',', 1..cap bytes) to out and its length
 * to *len; 0 or -errno. NULL in struct br_sasl_server means 24 bytes from RAND_bytes in
 * base64, which is what the broker uses; tests inject RFC 7677's fixed nonce.
 */
typedef int (*br_sasl_nonce_fn)(void *arg, char *out, size_t cap, size_t *len);

struct br_sasl_server {
    br_sasl_lookup_fn lookup;
    void *lookup_arg;
    uint8_t mock_secret[BR_SASL_SECRET_LEN]; /* random per broker: unknown users' salts */
    int32_t mock_iterations;                 /* what unknown users are told (4096) */
    br_sasl_nonce_fn nonce;                  /* NULL: the CSPRNG */
    void *nonce_arg;
};

/* Fills s: lookup as given, a random mock secret, 4096 mock iterations, the CSPRNG's
 * nonces. 0 or -EIO. */
int br_sasl_server_init(struct br_sasl_server *s, br_sasl_lookup_fn lookup, void *arg);

enum br_sasl_status {
    BR_SASL_CONTINUE = 1, /* send out, expect another client token */
    BR_SASL_DONE = 2,     /* authenticated: send out (may be empty) */
};

struct br_sasl;

/* A new exchange for mech. 0, -EINVAL (mech), -ENOMEM. *out is freed with br_sasl_free. */
int br_sasl_new(const struct br_sasl_server *srv, enum br_sasl_mech mech, struct br_sasl **out);
/* Wipes and frees; NULL is ignored. */
void br_sasl_free(struct br_sasl *s);

/*
 * Feeds one client token (in, in_len; may be empty) and writes the server's answer to
 * out[0, *out_len). Returns BR_SASL_CONTINUE, BR_SASL_DONE or a negative errno (see the top).
 * On error *out_len is 0.
 */
int br_sasl_step(struct br_sasl *s, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                 size_t *out_len);

enum br_sasl_mech br_sasl_mech(const struct br_sasl *s);
/* The user the exchange is about: the authenticated user after BR_SASL_DONE; before that (or
 * after a failure) the name the client claimed, if it got that far ("" otherwise), for log
 * lines. NUL-terminated, valid UTF-8 or "". */
const char *br_sasl_user(const struct br_sasl *s);
/* Why the last step failed, in words; "" when it did not. */
const char *br_sasl_reason(const struct br_sasl *s);

/* ---- helpers shared with the credential store and its tools ------------------------------- */

/* Standard base64 with padding. encode: out_cap >= 4 * ceil(n / 3) + 1 (NUL-terminated);
 * returns the length or -ENOSPC. decode: strict (canonical padding and trailing bits, no
 * whitespace); returns the length or -EBADMSG / -ENOSPC. */
int br_b64_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);
int br_b64_decode(const char *in, size_t n, uint8_t *out, size_t out_cap);

#endif
