/*
 * br_sec_conf — see br_sec_conf.h.
 */
#include "br_sec_conf.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void br_sec_conf_init(struct br_sec_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->mechanisms = BR_SEC_MECH_PLAIN | BR_SEC_MECH_SCRAM_SHA_256 | BR_SEC_MECH_SCRAM_SHA_512;
    c->sasl_max_receive = 524288;
    c->auth_fail_delay_ms = 100;
    snprintf(c->principal_rules, sizeof(c->principal_rules), "DEFAULT");
    c->quota_window_num = 11;
    c->quota_window_s = 1;
}

static int bad(char *err, size_t errlen, const char *key, const char *value, const char *what)
{
    snprintf(err, errlen, "%s: '%.64s' %s", key, value, what);
    return -EINVAL;
}

static int set_i64(const char *key, const char *v, int64_t lo, int64_t hi, int64_t *out, char *err,
                   size_t errlen)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        char what[96];
        snprintf(what, sizeof(what), "is not a whole number in %lld..%lld", (long long)lo,
                 (long long)hi);
        return bad(err, errlen, key, v, what);
    }
    *out = x;
    return 0;
}

static int set_bool(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
    if (strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0)
        *out = false;
    else
        return bad(err, errlen, key, v, "is not true or false");
    return 0;
}

static int set_str(char *dst, size_t cap, const char *key, const char *v, char *err, size_t errlen)
{
    if (strlen(v) >= cap)
        return bad(err, errlen, key, v, "is too long");
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* The comma-separated items of s, trimmed: fn(item, len) for each; stops at its error. */
static int each_item(const char *s, int (*fn)(void *arg, const char *p, size_t n), void *arg)
{
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        const char *p = s;
        while (n && isspace((unsigned char)*p))
            p++, n--;
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if (n) {
            int rc = fn(arg, p, n);
            if (rc)
                return rc;
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    return 0;
}

static int mech_item(void *arg, const char *p, size_t n)
{
    unsigned *m = arg;
    if (n == 5 && memcmp(p, "PLAIN", 5) == 0)
        *m |= BR_SEC_MECH_PLAIN;
    else if (n == 13 && memcmp(p, "SCRAM-SHA-256", 13) == 0)
        *m |= BR_SEC_MECH_SCRAM_SHA_256;
    else if (n == 13 && memcmp(p, "SCRAM-SHA-512", 13) == 0)
        *m |= BR_SEC_MECH_SCRAM_SHA_512;
    else
        return -EINVAL;
    return 0;
}

/* Kafka's class names, and splicelog's own. */
static bool acl_authorizer(const char *v)
{
    return strcmp(v, "kafka.security.authorizer.AclAuthorizer") == 0 ||
           strcmp(v, "org.apache.kafka.metadata.authorizer.StandardAuthorizer") == 0 ||
           strcmp(v, "kafka.security.auth.SimpleAclAuthorizer") == 0 || strcmp(v, "acl") == 0;
}

int br_sec_conf_set(struct br_sec_conf *c, const char *key, const char *v, char *err, size_t errlen)
{
    if (strcmp(key, "sasl.enabled.mechanisms") == 0) {
        unsigned m = 0;
        if (each_item(v, mech_item, &m) || !m)
            return bad(err, errlen, key, v,
                       "names a mechanism this broker does not have (PLAIN, SCRAM-SHA-256, "
                       "SCRAM-SHA-512)");
        c->mechanisms = m;
        return 0;
    }
    if (strcmp(key, "sasl.server.max.receive.size") == 0)
        return set_i64(key, v, 1024, 64 << 20, &c->sasl_max_receive, err, errlen);
    if (strcmp(key, "connection.failed.authentication.delay.ms") == 0)
        return set_i64(key, v, 0, 60000, &c->auth_fail_delay_ms, err, errlen);
    if (strcmp(key, "connections.max.reauth.ms") == 0)
        return set_i64(key, v, 0, INT64_MAX / 2, &c->reauth_ms, err, errlen);
    if (strcmp(key, "authorizer.class.name") == 0) {
        if (!*v)
            c->authorizer = false;
        else if (acl_authorizer(v))
            c->authorizer = true;
        else
            return bad(err, errlen, key, v,
                       "is not an authorizer this broker has "
                       "(org.apache.kafka.metadata.authorizer.StandardAuthorizer, "
                       "kafka.security.authorizer.AclAuthorizer)");
        return 0;
    }
    if (strcmp(key, "super.users") == 0)
        return set_str(c->super_users, sizeof(c->super_users), key, v, err, errlen);
    if (strcmp(key, "allow.everyone.if.no.acl.found") == 0)
        return set_bool(key, v, &c->allow_everyone, err, errlen);
    if (strcmp(key, "ssl.principal.mapping.rules") == 0) {
        int rc = br_sec_principal_rules_check(v, err, errlen);
        if (rc)
            return rc;
        return set_str(c->principal_rules, sizeof(c->principal_rules), key, v, err, errlen);
    }
    if (strcmp(key, "quota.window.num") == 0) {
        int64_t x;
        int rc = set_i64(key, v, 1, 64, &x, err, errlen);
        c->quota_window_num = rc ? c->quota_window_num : (int32_t)x;
        return rc;
    }
    if (strcmp(key, "quota.window.size.seconds") == 0) {
        int64_t x;
        int rc = set_i64(key, v, 1, 3600, &x, err, errlen);
        c->quota_window_s = rc ? c->quota_window_s : (int32_t)x;
        return rc;
    }
    return -ENOENT;
}

void br_sec_conf_keys(void (*fn)(void *arg, const char *key, const char *def, const char *doc),
                      void *arg)
{
    fn(arg, "sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
       "SASL listeners: the mechanisms offered");
    fn(arg, "sasl.server.max.receive.size", "524288",
       "SASL listeners: the largest frame read before authentication; a bigger one closes the "
       "connection");
    fn(arg, "connection.failed.authentication.delay.ms", "100",
       "a failed authentication is answered this late, then the connection closes");
    fn(arg, "connections.max.reauth.ms", "0",
       "SASL sessions last this long (KIP-368): clients re-authenticate (0 = for ever)");
    fn(arg, "authorizer.class.name", "",
       "org.apache.kafka.metadata.authorizer.StandardAuthorizer or "
       "kafka.security.authorizer.AclAuthorizer: Kafka's ACLs (\"\" = everyone may do anything)");
    fn(arg, "super.users", "", "User:a;User:b - principals every ACL check allows");
    fn(arg, "allow.everyone.if.no.acl.found", "false",
       "with an authorizer: a resource no ACL names is open to everyone");
    fn(arg, "ssl.principal.mapping.rules", "DEFAULT",
       "certificate subject -> user name: RULE:pattern/replacement/[LU],...,DEFAULT");
    fn(arg, "quota.window.num", "11", "client quotas: samples in a rate's window");
    fn(arg, "quota.window.size.seconds", "1", "client quotas: length of one sample");
}

/* ---- ssl.principal.mapping.rules ---------------------------------------------------------- */

struct rule {
    bool is_default;
    char pattern[512], repl[256];
    char fold; /* 0, 'L' or 'U' */
};

/* Parses the rule at *s (Kafka's grammar: RULE:pattern/replacement/[LU] or DEFAULT, separated
 * by commas and spaces; '/' escaped as "\/"). 1 with *r filled, 0 at the end, -EINVAL. */
static int next_rule(const char **s, struct rule *r)
{
    const char *p = *s;
    while (*p == ',' || isspace((unsigned char)*p))
        p++;
    if (!*p)
        return 0;
    memset(r, 0, sizeof(*r));
    if (strncmp(p, "DEFAULT", 7) == 0) {
        r->is_default = true;
        *s = p + 7;
        return 1;
    }
    if (strncmp(p, "RULE:", 5) != 0)
        return -EINVAL;
    p += 5;
    char *dst[2] = {r->pattern, r->repl};
    size_t cap[2] = {sizeof(r->pattern), sizeof(r->repl)};
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        while (*p && *p != '/') {
            if (p[0] == '\\' && p[1] == '/')
                p++;
            if (n + 1 >= cap[k])
                return -EINVAL;
            dst[k][n++] = *p++;
        }
        if (*p != '/')
            return -EINVAL;
        dst[k][n] = 0;
        p++;
    }
    if (*p == 'L' || *p == 'U')
        r->fold = *p++;
    *s = p;
    return 1;
}

int br_sec_principal_rules_check(const char *rules, char *err, size_t errlen)
{
    struct rule r;
    const char *s = rules;
    int rc;
    while ((rc = next_rule(&s, &r)) == 1) {
        if (r.is_default)
            continue;
        regex_t re;
        if (regcomp(&re, r.pattern, REG_EXTENDED) != 0) {
            snprintf(err, errlen,
                     "ssl.principal.mapping.rules: pattern '%.64s' is not a POSIX extended "
                     "regular expression",
                     r.pattern);
            return -EINVAL;
        }
        regfree(&re);
    }
    if (rc < 0) {
        snprintf(err, errlen,
                 "ssl.principal.mapping.rules: '%.64s' is not a list of "
                 "RULE:pattern/replacement/[LU] and DEFAULT",
                 rules);
        return -EINVAL;
    }
    return 0;
}

static int put(char *out, size_t cap, size_t *n, char ch)
{
    if (*n + 1 >= cap)
        return -ENOSPC;
    out[(*n)++] = ch;
    return 0;
}

static int apply_rule(const struct rule *r, const char *subject, char *out, size_t cap)
{
    regex_t re;
    if (regcomp(&re, r->pattern, REG_EXTENDED) != 0)
        return -EINVAL;
    regmatch_t m[10];
    int rc = regexec(&re, subject, 10, m, 0);
    regfree(&re);
    if (rc != 0 || m[0].rm_so != 0 || (size_t)m[0].rm_eo != strlen(subject))
        return -ENOENT; /* Kafka matches the whole subject */
    size_t n = 0;
    for (const char *p = r->repl; *p; p++) {
        if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
            int g = p[1] - '0';
            p++;
            if (m[g].rm_so < 0)
                continue;
            for (regoff_t i = m[g].rm_so; i < m[g].rm_eo; i++)
                if (put(out, cap, &n, subject[i]))
                    return -ENOSPC;
            continue;
        }
        if (put(out, cap, &n, *p))
            return -ENOSPC;
    }
    out[n] = 0;
    for (size_t i = 0; i < n; i++)
        out[i] = r->fold == 'L'   ? (char)tolower((unsigned char)out[i])
                 : r->fold == 'U' ? (char)toupper((unsigned char)out[i])
                                  : out[i];
    return 0;
}

int br_sec_principal_map(const char *rules, const char *subject, char *out, size_t cap)
{
    struct rule r;
    const char *s = rules;
    int rc;
    while ((rc = next_rule(&s, &r)) == 1) {
        if (r.is_default) {
            if (strlen(subject) >= cap)
                return -ENOSPC;
            memcpy(out, subject, strlen(subject) + 1);
            return 0;
        }
        rc = apply_rule(&r, subject, out, cap);
        if (rc != -ENOENT)
            return rc;
    }
    return rc < 0 ? -EINVAL : -ENOENT;
}
