/*
 * br_quota_int — what br_quota.c (settings, sensors, enforcement) and br_quota_store.c (the
 * file) share. Not a public header.
 */
#ifndef SPLICELOG_BR_QUOTA_INT_H
#define SPLICELOG_BR_QUOTA_INT_H

#include "br_quota.h"

/* An entity with settings: names NUL-terminated in one allocation (user, then client). */
struct br__qent {
    uint8_t user_kind, client_kind;
    uint16_t user_len, client_len;
    char *user, *client; /* "" when not named; user owns the allocation */
    bool has[BR_QUOTA_NTYPES];
    double v[BR_QUOTA_NTYPES];
};

struct br__qlist {
    struct br__qent *v;
    size_t n, cap;
};

/* Appends a copy of e (names copied); 0 or -ENOMEM. */
int br__qlist_add(struct br__qlist *l, const struct br__qent *e);
void br__qlist_free(struct br__qlist *l);
/* Kafka's rules for a value of key t: 0, or -EINVAL with *why. */
int br__quota_value_ok(enum br_quota_type t, double v, const char **why);

int br__quota_file_write(const char *dir, const struct br__qent *v, size_t n);
/* Reads <dir>/quotas into *out (empty and 0 without a file); -EBADMSG, logged, when a record
 * does not parse or breaks the rules. */
int br__quota_file_read(const char *dir, struct br__qlist *out, st_log_fn log_fn, void *log_arg);

#endif
