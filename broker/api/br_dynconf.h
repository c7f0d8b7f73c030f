/*
 * br_dynconf — dynamic broker configs (Kafka's DynamicBrokerConfig): the values set at run time
 * through AlterConfigs / IncrementalAlterConfigs on the BROKER resource, at two levels: this
 * broker (resource name = its node id; source DYNAMIC_BROKER_CONFIG) and the cluster default
 * (resource name ""; DYNAMIC_DEFAULT_BROKER_CONFIG). A broker-level value wins over the default
 * one, which wins over the configuration file. Which keys may be set, and what they do, is
 * br_api_config.c's; this module keeps them.
 *
 * Contract
 * - Durable: every change rewrites <data_dir>/dynamic-broker-configs (tmp, fsync, rename,
 *   directory fsync) before it returns; br_dynconf_open reads it back. Lines: "broker KEY=VALUE"
 *   or "default KEY=VALUE"; a line that does not parse is skipped with a warning.
 * - At most BR_DYN_MAX entries, keys below 96 bytes, values below 256: -ENOSPC / -EINVAL.
 * - Thread-safe (one mutex): alters on the admin thread, describes on the loops.
 * - Errors are -errno.
 */
#ifndef SPLICELOG_BR_DYNCONF_H
#define SPLICELOG_BR_DYNCONF_H

#include <stdbool.h>
#include <stddef.h>

enum br_dyn_level { BR_DYN_BROKER = 0, BR_DYN_DEFAULT = 1 };
#define BR_DYN_MAX 64

struct br_dynconf;

int br_dynconf_open(const char *data_dir, struct br_dynconf **out);
void br_dynconf_free(struct br_dynconf *d);

/* The value of key at level into buf (NUL-terminated); false when not set there. */
bool br_dynconf_get(struct br_dynconf *d, enum br_dyn_level level, const char *key, char *buf,
                    size_t cap);

/*
 * Replaces the values of one level: the n keys[i] = values[i] (values[i] NULL: removed) are
 * applied, with replace_all every other key of that level is removed first (the legacy
 * AlterConfigs). Durable on return; on an error nothing changed.
 */
int br_dynconf_set(struct br_dynconf *d, enum br_dyn_level level, bool replace_all,
                   const char *const *keys, const char *const *values, int n);

/* fn for every entry (under the lock: fn must not call back). */
void br_dynconf_foreach(struct br_dynconf *d,
                        void (*fn)(void *arg, enum br_dyn_level level, const char *key,
                                   const char *value),
                        void *arg);

#endif
