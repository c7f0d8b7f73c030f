/*
 * br_acl_int — what br_acl.c (the set, decisions, changes) and br_acl_store.c (the file)
 * share. Not a public header.
 */
#ifndef SPLICELOG_BR_ACL_INT_H
#define SPLICELOG_BR_ACL_INT_H

#include "br_acl.h"

/* One binding in a set: strings NUL-terminated in the set's pool. */
struct br__acl {
    int8_t type, pattern, op, perm;
    uint16_t name_len, principal_len, host_len;
    const char *name, *principal, *host;
};

/* Bindings read from the file: each one's strings in its own allocation (name, principal,
 * host back to back, each NUL-terminated), freed by br__acl_list_free. */
struct br__acl_list {
    struct br_acl_binding *v;
    size_t n, cap;
};
void br__acl_list_free(struct br__acl_list *l);

/* Writes the bindings as <dir>/acls (durably, st_snap). */
int br__acl_file_write(const char *dir, const struct br__acl *v, size_t n);
/* Reads <dir>/acls into *out (empty and 0 when there is no file); -EBADMSG when a record
 * does not parse or a binding would not be accepted by br_acl_validate (logged). */
int br__acl_file_read(const char *dir, struct br__acl_list *out, st_log_fn log_fn, void *log_arg);

#endif
