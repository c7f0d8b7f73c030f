/*
 * br_quota — Kafka's client quotas (KIP-13, KIP-55, KIP-124, KIP-219): quota settings per user
 * and/or client id with defaults, durable; rates measured as Kafka's Sensor/Rate over sampled
 * windows; the throttle time a client over its quota is given.
 *
 * Settings. An entity is a user part and a client-id part, each absent, the default
 * (<default>, a null name on the wire) or a name. The quota that applies to a connection of
 * user U with client id C, for each quota type separately, is the first of (Kafka's
 * DefaultQuotaCallback, "precedence order" of the Kafka docs):
 *   1 (U, C)  2 (U, <default>)  3 (U)  4 (<default>, C)  5 (<default>, <default>)
 *   6 (<default>)  7 (client C)  8 (client <default>)
 * and it is shared by every connection that resolves to the same sensor: (U, C) for 1, 2, 4,
 * 5; (U) for 3 and 6 (all of U's clients together); (C) for 7 and 8 (all users of C
 * together). Keys: producer_byte_rate and consumer_byte_rate (bytes/s, whole numbers),
 * request_percentage (percent of one thread's time per second), controller_mutation_rate
 * (stored and described, not enforced here: no API mutates the controller's partitions).
 *
 * Measurement. A sensor is Kafka's Rate over a SampledStat: quota.window.num samples
 * (default 11) of quota.window.size.seconds each (default 1); a value recorded at t goes to the
 * current sample, a sample older than the window starts a new one, samples idle for the whole
 * span are reset, and the rate is sum / window, the window counting at least samples-1 full
 * samples (so a burst right after start is not measured over a few milliseconds). After each
 * record the rate is checked; over the bound B at rate O, the throttle time is
 *   round((O - B) / B * window_ms)
 * (QuotaUtils.throttleTime), capped at one sample's length for request_percentage (Kafka's
 * ClientRequestQuotaManager). What to do with it (throttle_time_ms in the response, not
 * reading the connection for that long) is the broker's.
 *
 * Contract
 * - struct br_quotas owns the settings, <data-dir>/__security/quotas (body format at the top
 *   of br_quota_store.c, framing st_snap's) and the sensors. Changes are durable before
 *   br_quotas_alter() returns and apply at once: every connection re-resolves at its next
 *   record (a generation counter, as the ACLs).
 * - struct br_quota_client belongs to one connection (one thread); br_quota_record() locks
 *   only the sensor it records into (sensors are shared between connections and threads).
 *   Sensors outlive their connections by an hour (Kafka's inactive sensor expiry), so a
 *   client cannot reset its rate by reconnecting; br_quotas_maintain() drops older ones.
 * - Time is always passed in (now_ms, monotonic milliseconds): tests inject a clock.
 * - Errors: 0 or -errno; -EINVAL with a reason in Kafka's words for settings and filters
 *   Kafka refuses; -EOPNOTSUPP for "ip" entities (connection_creation_rate is not
 *   implemented); -ENOSPC past BR_QUOTA_MAX entities; -EBADMSG for a damaged file at open.
 */
#ifndef SPLICELOG_BR_QUOTA_H
#define SPLICELOG_BR_QUOTA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_msg_sec.h"
#include "st.h"

#define BR_QUOTA_FILE        "quotas"
#define BR_QUOTA_MAX         100000 /* entities with settings */
#define BR_QUOTA_NAME_MAX    1024   /* bytes of a user or client-id name in an entity */
#define BR_QUOTA_SAMPLES_MAX 64     /* quota.window.num bound */
#define BR_QUOTA_EXPIRE_MS   (3600 * 1000LL)

enum br_quota_type {
    BR_QUOTA_PRODUCE = 0,  /* producer_byte_rate */
    BR_QUOTA_FETCH = 1,    /* consumer_byte_rate */
    BR_QUOTA_REQUEST = 2,  /* request_percentage */
    BR_QUOTA_MUTATION = 3, /* controller_mutation_rate (not enforced) */
    BR_QUOTA_NTYPES = 4,
};

/* Kafka's key name; NULL outside the enum. */
const char *br_quota_key(enum br_quota_type t);
/* The type of a key name: 0 or -ENOENT. */
int br_quota_key_parse(const char *name, size_t len, enum br_quota_type *out);

/* ---- the rate of one sensor (Kafka's Rate over SampledStat) ------------------------------- */

struct br_rate_sample {
    double value;
    int64_t start_ms, last_ms, count;
};

struct br_rate {
    int n;       /* samples in use, <= samples + 1 (Kafka keeps one extra) */
    int current; /* index of the current sample */
    struct br_rate_sample s[BR_QUOTA_SAMPLES_MAX + 1];
};

void br_rate_record(struct br_rate *r, int samples, int64_t window_ms, double value, int64_t now);
/* The measured window in ms (Rate.windowSize), at least 1. */
int64_t br_rate_window_ms(struct br_rate *r, int samples, int64_t window_ms, int64_t now);
/* The rate per second (Rate.measure). */
double br_rate_measure(struct br_rate *r, int samples, int64_t window_ms, int64_t now);

/* ---- settings ------------------------------------------------------------------------------ */

enum br_quota_kind {
    BR_QE_ABSENT = 0,  /* the entity has no part of this type */
    BR_QE_DEFAULT = 1, /* <default> */
    BR_QE_NAMED = 2,
};

/* An entity as views; name is used only when its kind is BR_QE_NAMED. */
struct br_quota_entity {
    uint8_t user_kind, client_kind; /* enum br_quota_kind */
    struct kp_str user, client;
};

/*
 * The entity an AlterClientQuotas / DescribeClientQuotas entry names ("user", "client-id";
 * null name = default), with Kafka's checks: 0, -EINVAL (empty, a type twice, an unknown type,
 * an empty name, a name too long) or -EOPNOTSUPP ("ip"); *why says which.
 */
int br_quota_entity_from_wire(const struct kp_quota_entity *e, int32_t n,
                              struct br_quota_entity *out, const char **why);

struct br_quota_op {
    enum br_quota_type type;
    double value; /* > 0; whole for the byte rates */
    bool remove;
};

/* One entity's changes; result and why are set by br_quotas_alter. */
struct br_quota_alter {
    struct br_quota_entity entity;
    const struct br_quota_op *ops;
    size_t n_ops;
    int result;      /* 0 or -EINVAL */
    const char *why; /* Kafka's message when result != 0 */
};

/* A DescribeClientQuotas filter: per part, not filtered (ABSENT), EXACT name, DEFAULT, or
 * SPECIFIED (the entity has that part, any name or the default: Kafka's rule). */
enum br_quota_match { BR_QM_NONE = 0, BR_QM_EXACT, BR_QM_DEFAULT, BR_QM_SPECIFIED };
struct br_quota_filter {
    uint8_t user, client;                 /* enum br_quota_match */
    struct kp_str user_name, client_name; /* for BR_QM_EXACT */
    bool strict;
};
/* Kafka's checks of filter components: 0, -EINVAL with *why, or -EOPNOTSUPP ("ip"). */
int br_quota_filter_from_wire(const struct kp_quota_filter_component *c, int32_t n, bool strict,
                              struct br_quota_filter *out, const char **why);

/* ---- the quotas ---------------------------------------------------------------------------- */

struct br_quotas_conf {
    const char *data_dir;
    int samples;       /* quota.window.num (11), 1..BR_QUOTA_SAMPLES_MAX */
    int64_t window_ms; /* quota.window.size.seconds * 1000 (1000) */
    st_log_fn log_fn;  /* the file refused at open (may be NULL) */
    void *log_arg;
};

struct br_quotas;

int br_quotas_open(const struct br_quotas_conf *conf, struct br_quotas **out);
/* Frees; every br_quota_client must have been released. */
void br_quotas_close(struct br_quotas *q);

/*
 * Applies each entity's changes (judged per entity: an invalid op fails its entity's result
 * and none of that entity's ops apply), durably, in one write; validate_only judges without
 * changing anything. Returns 0, or -ENOSPC / the write's error (then nothing changed).
 */
int br_quotas_alter(struct br_quotas *q, struct br_quota_alter *a, size_t n, bool validate_only);

/* Every entity with settings that matches f, in a stable order; has[t] says which values it
 * sets. Under a lock: fn must not call back into the quotas. */
typedef void (*br_quota_each_fn)(void *arg, const struct br_quota_entity *e,
                                 const double v[BR_QUOTA_NTYPES], const bool has[BR_QUOTA_NTYPES]);
void br_quotas_describe(struct br_quotas *q, const struct br_quota_filter *f, br_quota_each_fn fn,
                        void *arg);

/* ---- in a cluster (br_quota_zk.c; docs/cluster.md, "Users and client ids") ---------------
 * ZooKeeper's /config/users and /config/clients are the truth; these settings are the broker's
 * copy of them (the file stays, a cache br_quotas_sync rewrites). */

/* A value as Kafka's ZooKeeper mode writes it: a byte rate as a whole number ("1024"), the
 * others as a decimal ("50.0", "0.5"). format: the length or -ENOSPC; parse: 0 or -EINVAL
 * (not a number, or a value br_quotas_alter would refuse). */
int br_quota_text_format(enum br_quota_type t, double v, char *out, size_t cap);
int br_quota_text_parse(enum br_quota_type t, const char *s, double *out);

/* One entity's settings as the cluster has them. */
struct br_quota_set {
    struct br_quota_entity entity;
    double v[BR_QUOTA_NTYPES];
    bool has[BR_QUOTA_NTYPES];
};
/* Makes each listed entity's settings exactly the listed ones; with all, every entity not
 * listed loses its settings too. One durable write (br_quotas_alter): 0 or its error; an
 * entity br_quotas_alter refuses is skipped (its result in *refused, may be NULL). */
int br_quotas_sync(struct br_quotas *q, const struct br_quota_set *s, size_t n, bool all,
                   size_t *refused);

/* ---- enforcement ----------------------------------------------------------------------------- */

struct br__quota_sensor;

/* One connection's view: who it is and, per type, the sensor and bound it resolved to. */
struct br_quota_client {
    char *user, *client; /* copies, NUL-terminated */
    size_t user_len, client_len;
    uint64_t gen; /* the settings' generation these were resolved at */
    struct {
        struct br__quota_sensor *sensor; /* NULL: no quota of this type applies */
        double bound;
    } t[BR_QUOTA_NTYPES];
};

/* Binds a connection to (user, client id): the user is the principal's name ("alice" for
 * User:alice, "ANONYMOUS"), the client id the request header's ("" for none). 0 or -ENOMEM. */
int br_quota_client_init(struct br_quotas *q, struct br_quota_client *c, const char *user,
                         size_t user_len, const char *client, size_t client_len);
/* Releases the connection's sensors (they stay for BR_QUOTA_EXPIRE_MS). */
void br_quota_client_release(struct br_quotas *q, struct br_quota_client *c);

/*
 * Records value (bytes for the byte rates; percent-seconds for request_percentage, see
 * br_quota_request_value) at now_ms and returns the throttle time in ms (0 within the quota,
 * or when no quota of that type applies).
 */
int64_t br_quota_record(struct br_quotas *q, struct br_quota_client *c, enum br_quota_type t,
                        double value, int64_t now_ms);
/* Takes back a recorded value without a check (Kafka's unrecordQuotaSensor: a throttled
 * fetch is answered empty, so its bytes do not count). */
void br_quota_unrecord(struct br_quotas *q, struct br_quota_client *c, enum br_quota_type t,
                       double value, int64_t now_ms);
/* The bound that applies (0: none), and the most one quota window allows
 * (bound * (samples - 1) * window seconds: Kafka's getMaxValueInQuotaWindow, which bounds a
 * fetch response); both re-resolve first when the settings changed. */
double br_quota_bound(struct br_quotas *q, struct br_quota_client *c, enum br_quota_type t);
double br_quota_max_in_window(struct br_quotas *q, struct br_quota_client *c, enum br_quota_type t);
/* request_percentage's unit: a request that kept a thread busy for ns nanoseconds. */
static inline double br_quota_request_value(int64_t ns) { return (double)ns * 100.0 / 1e9; }

/* Drops sensors no connection has used for BR_QUOTA_EXPIRE_MS; returns how many remain. */
size_t br_quotas_maintain(struct br_quotas *q, int64_t now_ms);

#endif
