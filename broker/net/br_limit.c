/*
 * br_limit — connection and request-byte bounds (see br_limit.h).
 *
 * Addresses are 16-byte keys: IPv6 as is, IPv4 as its v4-mapped IPv6 form, so a client that
 * reaches a dual-stack listener both ways counts once. The per-address table holds only the
 * addresses with open connections (an entry goes when its count drops to zero), so it never
 * has more entries than max.connections.
 *
 * The request-byte budget is one atomic counter. take() is a compare-and-swap loop that never
 * passes the budget; force() may (bytes the kernel already handed to a connection that was
 * just stopped: at most what one loop turn receives, the loop's provided buffers); give()
 * reports waiters so that the caller can wake the loop threads where connections wait.
 */
#include "br_limit.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_log.h"

/* peer's address as a 16-byte key; false for a family without one (no per-address bound). */
static bool ip_key(const struct sockaddr *sa, uint8_t key[16])
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(key, &in6->sin6_addr, 16);
        return true;
    }
    return false;
}

static unsigned ip_hash(const uint8_t key[16])
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (int i = 0; i < 16; i++) {
        h ^= key[i];
        h *= 1099511628211ULL;
    }
    return (unsigned)(h ^ (h >> 32)) & (BR_LIMIT_BUCKETS - 1);
}

static int32_t bound_of(const struct br_limits *l, const uint8_t key[16])
{
    for (int i = 0; i < l->nip_limits; i++)
        if (memcmp(l->ip_limits[i].addr, key, 16) == 0)
            return l->ip_limits[i].max;
    return l->per_ip;
}

int br_limits_init(struct br_limits *l, const struct br_config *cfg, char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    l->max_conns = cfg->max_connections;
    l->per_ip = (int32_t)cfg->max_connections_per_ip;
    l->budget = cfg->queued_max_request_bytes;
    atomic_init(&l->nconns, 0);
    atomic_init(&l->bytes, 0);
    atomic_init(&l->bytes_waiters, 0);
    pthread_mutex_init(&l->lock, NULL);
    int cap = 0;
    for (int i = 0; i < cfg->nip_overrides; i++) {
        const struct br_ip_override *o = &cfg->ip_overrides[i];
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;
        int gai = getaddrinfo(o->host, NULL, &hints, &res);
        if (gai != 0) {
            snprintf(err, errlen, "max.connections.per.ip.overrides: cannot resolve '%s': %s",
                     o->host, gai_strerror(gai));
            br_limits_free(l);
            return -EINVAL;
        }
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            uint8_t key[16];
            if (!ip_key(ai->ai_addr, key))
                continue;
            int j;
            for (j = 0; j < l->nip_limits; j++)
                if (memcmp(l->ip_limits[j].addr, key, 16) == 0)
                    break;
            if (j == l->nip_limits) {
                if (l->nip_limits == cap) {
                    int ncap = cap ? cap * 2 : 16;
                    struct br_ip_limit *nl =
                        realloc(l->ip_limits, (size_t)ncap * sizeof(*l->ip_limits));
                    if (!nl) {
                        freeaddrinfo(res);
                        br_limits_free(l);
                        snprintf(err, errlen, "max.connections.per.ip.overrides: out of memory");
                        return -ENOMEM;
                    }
                    l->ip_limits = nl;
                    cap = ncap;
                }
                memcpy(l->ip_limits[j].addr, key, 16);
                l->nip_limits++;
            }
            l->ip_limits[j].max = o->max; /* a later entry for the same address wins */
        }
        freeaddrinfo(res);
    }
    l->track_ip = l->per_ip < INT32_MAX || l->nip_limits > 0;
    return 0;
}

void br_limits_free(struct br_limits *l)
{
    for (int b = 0; b < BR_LIMIT_BUCKETS; b++) {
        while (l->buckets[b]) {
            struct br_ip_slot *s = l->buckets[b];
            l->buckets[b] = s->next;
            free(s);
        }
    }
    free(l->ip_limits);
    l->ip_limits = NULL;
    l->nip_limits = 0;
    pthread_mutex_destroy(&l->lock);
}

int32_t br_limits_ip_bound(const struct br_limits *l, const struct sockaddr_storage *peer)
{
    uint8_t key[16];
    if (!ip_key((const struct sockaddr *)peer, key))
        return l->per_ip;
    return bound_of(l, key);
}

/* Counts one more connection from key; 0, -EUSERS at its bound, -ENOMEM. Under l->lock. */
static int ip_take(struct br_limits *l, const uint8_t key[16], struct br_ip_slot **slot,
                   int32_t *bound)
{
    int32_t max = bound_of(l, key);
    unsigned b = ip_hash(key);
    struct br_ip_slot *s = l->buckets[b];
    while (s && memcmp(s->addr, key, 16) != 0)
        s = s->next;
    int32_t n = s ? s->n : 0;
    if (n >= max) {
        *bound = max;
        return -EUSERS;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -ENOMEM;
        memcpy(s->addr, key, 16);
        s->next = l->buckets[b];
        l->buckets[b] = s;
    }
    s->n++;
    *slot = s;
    return 0;
}

static void ip_give(struct br_limits *l, struct br_ip_slot *s)
{
    if (--s->n > 0)
        return;
    struct br_ip_slot **pp = &l->buckets[ip_hash(s->addr)];
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    free(s);
}

int br_limits_admit_ip(struct br_limits *l, const struct sockaddr_storage *peer,
                       struct br_ip_slot **slot, int32_t *bound)
{
    *slot = NULL;
    *bound = 0;
    uint8_t key[16];
    if (!l->track_ip || !ip_key((const struct sockaddr *)peer, key))
        return 0;
    pthread_mutex_lock(&l->lock);
    int rc = ip_take(l, key, slot, bound);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

void br_limits_release_ip(struct br_limits *l, struct br_ip_slot *slot)
{
    if (!slot)
        return;
    pthread_mutex_lock(&l->lock);
    ip_give(l, slot);
    pthread_mutex_unlock(&l->lock);
}

int br_limits_admit(struct br_limits *l, const struct sockaddr_storage *peer,
                    struct br_ip_slot **slot, int32_t *bound)
{
    int rc = br_limits_admit_ip(l, peer, slot, bound);
    if (rc < 0)
        return rc;
    long n = atomic_fetch_add(&l->nconns, 1) + 1;
    if (n > l->max_conns) {
        atomic_fetch_sub(&l->nconns, 1);
        br_limits_release_ip(l, *slot);
        *slot = NULL;
        return -ENFILE;
    }
    return 0;
}

void br_limits_release(struct br_limits *l, struct br_ip_slot *slot)
{
    br_limits_release_ip(l, slot);
    long before = atomic_fetch_sub(&l->nconns, 1);
    assert(before > 0);
    (void)before;
}

int br_limits_bytes_take(struct br_limits *l, size_t n)
{
    if (l->budget < 0 || n == 0)
        return 0;
    long long cur = atomic_load(&l->bytes);
    do {
        if ((uint64_t)cur + n > (uint64_t)l->budget)
            return -EAGAIN;
    } while (!atomic_compare_exchange_weak(&l->bytes, &cur, cur + (long long)n));
    return 0;
}

void br_limits_bytes_force(struct br_limits *l, size_t n)
{
    if (l->budget < 0 || n == 0)
        return;
    atomic_fetch_add(&l->bytes, (long long)n);
}

bool br_limits_bytes_give(struct br_limits *l, size_t n)
{
    if (l->budget < 0 || n == 0)
        return false;
    atomic_fetch_sub(&l->bytes, (long long)n);
    /* seq_cst: a waiter registers before it retries take(), we look after freeing (br_conn.c) */
    return atomic_load(&l->bytes_waiters) > 0;
}

int64_t br_limits_bytes_used(const struct br_limits *l) { return atomic_load(&l->bytes); }
