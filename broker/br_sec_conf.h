/*
 * br_sec_conf — the security settings, a part of the broker's configuration (br_config.h) kept
 * beside the modules that use them (sec/: SASL, the authorizer, quotas; net/: the certificate
 * principal), with Kafka's key names, so stock server.properties files work (the listeners'
 * protocols, listener.security.protocol.map, are br_config's):
 *   sasl.enabled.mechanisms          PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
 *   sasl.server.max.receive.size     the largest frame read before authentication (512 KiB)
 *   connection.failed.authentication.delay.ms   a failed authentication is answered this late
 *   connections.max.reauth.ms        KIP-368 session lifetime (0: none)
 *   authorizer.class.name            Kafka's two ACL authorizer classes (or splicelog's name)
 *   super.users, allow.everyone.if.no.acl.found
 *   ssl.principal.mapping.rules      RULE:pattern/replacement/[LU], DEFAULT (POSIX extended
 *                                    regular expressions, $1..$9 in the replacement)
 *   quota.window.num, quota.window.size.seconds
 *
 * Contract: as br_tls_conf.h. br_sec_conf_set() returns -ENOENT for a key that is not one of
 * these and -EINVAL with a message naming the key for a bad value; plain data, read-only once
 * the server starts. br_sec_principal_map() is a pure function any thread may call.
 */
#ifndef SPLICELOG_BR_SEC_CONF_H
#define SPLICELOG_BR_SEC_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bits of struct br_sec_conf.mechanisms: 1 << enum br_sasl_mech (br_sasl.h). */
#define BR_SEC_MECH_PLAIN         (1u << 1)
#define BR_SEC_MECH_SCRAM_SHA_256 (1u << 2)
#define BR_SEC_MECH_SCRAM_SHA_512 (1u << 3)

struct br_sec_conf {
    unsigned mechanisms;        /* sasl.enabled.mechanisms, BR_SEC_MECH_* */
    int64_t sasl_max_receive;   /* sasl.server.max.receive.size */
    int64_t auth_fail_delay_ms; /* connection.failed.authentication.delay.ms */
    int64_t reauth_ms;          /* connections.max.reauth.ms (0 = never) */
    bool authorizer;            /* authorizer.class.name names an ACL authorizer */
    char super_users[4096];     /* super.users: "User:a;User:b" */
    bool allow_everyone;        /* allow.everyone.if.no.acl.found */
    char principal_rules[2048]; /* ssl.principal.mapping.rules */
    int32_t quota_window_num;   /* quota.window.num */
    int32_t quota_window_s;     /* quota.window.size.seconds */
};

void br_sec_conf_init(struct br_sec_conf *c);
/* 0; -ENOENT when key is not a security key; -EINVAL (err names the key) for a bad value. */
int br_sec_conf_set(struct br_sec_conf *c, const char *key, const char *value, char *err,
                    size_t errlen);
/* Every security key with its default and a one-line description (for --help). */
void br_sec_conf_keys(void (*fn)(void *arg, const char *key, const char *def, const char *doc),
                      void *arg);

/*
 * Kafka's ssl.principal.mapping.rules applied to a certificate subject (the distinguished
 * name as the TLS engine prints it): the first rule whose pattern matches the whole subject
 * gives its replacement ($1..$9: the groups; /L lower-case, /U upper-case); DEFAULT gives the
 * subject itself. Writes the name (without "User:") to out: 0, -ENOENT (no rule matched:
 * Kafka refuses the connection), -ENOSPC, -EINVAL (a rule that does not parse or compile).
 */
int br_sec_principal_map(const char *rules, const char *subject, char *out, size_t cap);
/* 0 when rules parse and compile; -EINVAL with a message in err. */
int br_sec_principal_rules_check(const char *rules, char *err, size_t errlen);

#endif
