/*
 * br_txload — the transactional ids this broker coordinates in a cluster and the loads of their
 * __transaction_state partitions (see br_txload.h): br_pload's callbacks for the transaction
 * coordinator.
 */
#include "br_txload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_log.h"
#include "br_pload.h"
#include "br_txn.h"
#include "br_txtopic.h"

struct br_txload {
    struct br_txload_conf conf;
    struct br_pload *pl;
};

/* ---- lookups --------------------------------------------------------------------------- */

int16_t br_txload_check(struct br_txload *tl, const char *id, size_t len, int32_t *part,
                        int32_t *epoch)
{
    return br_pload_check(tl->pl, id, len, part, epoch);
}

bool br_txload_loaded(struct br_txload *tl, int32_t p, int32_t epoch)
{
    return br_pload_loaded(tl->pl, p, epoch);
}

void br_txload_update(struct br_txload *tl, const int32_t *epochs, int32_t np)
{
    br_pload_update(tl->pl, epochs, np);
}

/* ---- the loader thread's callbacks ----------------------------------------------------- */

struct part_match {
    int32_t p, np;
};

static bool in_partition(void *arg, const char *id, size_t len)
{
    const struct part_match *m = arg;
    return br_txtopic_partition_of(id, len, m->np) == m->p;
}

/* Before a load: the coordinator's ids of the partition dropped. 0 or -errno. */
static int on_begin(void *arg, struct br_pload_load *ld)
{
    struct br_txload *tl = arg;
    struct part_match m = {ld->p, ld->np};
    int rc = br_txn_drop(tl->conf.txns, in_partition, &m);
    return rc < 0 ? rc : 0;
}

/* One record: the last of an id wins, a tombstone forgets it. 0 or -ENOMEM. */
static int on_record(void *arg, struct br_pload_load *ld, const uint8_t *key, size_t klen,
                     const uint8_t *value, size_t vlen)
{
    struct br_txload *tl = arg;
    struct br_txtopic_rec r;
    int rc = br_txtopic_parse(key, klen, value, vlen, &r);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0)
        return 0; /* not ours to read (Kafka skips unknown keys too) */
    struct part_match m = {ld->p, ld->np};
    rc = 0;
    if (in_partition(&m, r.r.id, r.r.id_len)) {
        rc = br_txn_load_rec(tl->conf.txns, &r.r, r.tombstone);
        ld->applied++;
    }
    br_txtopic_rec_free(&r);
    return rc == -ENOMEM ? rc : 0;
}

/* Loaded: the transactions of partition p found prepared are finished; one that cannot be
 * finished yet (a marker's partition not led here yet) makes br_pload try again a second later,
 * as long as p stays loaded at its epoch (the coordinator's timer retries it too). */
static int on_loaded(void *arg, int32_t p, int32_t np)
{
    struct br_txload *tl = arg;
    struct part_match m = {p, np};
    int rc = br_txn_recover_matching(tl->conf.txns, in_partition, &m);
    if (rc > 0)
        br_info("transaction coordinator: %s-%d: %d prepared transaction(s) finished",
                BR_TXTOPIC_NAME, (int)p, rc);
    if (rc >= 0)
        return 0;
    br_warn_limited("transaction coordinator: %s-%d: a prepared transaction could not be "
                    "finished yet (%s): tried again",
                    BR_TXTOPIC_NAME, (int)p, strerror(-rc));
    return rc;
}

/* Leadership lost: the partition's ids go. */
static void on_drop(void *arg, int32_t p, int32_t np)
{
    struct br_txload *tl = arg;
    struct part_match m = {p, np};
    int n = br_txn_drop(tl->conf.txns, in_partition, &m);
    if (n > 0)
        br_info("transaction coordinator: %d transactional id(s) of %s-%d unloaded", n,
                BR_TXTOPIC_NAME, (int)p);
}

/* ---- life ------------------------------------------------------------------------------ */

static const struct br_pload_ops txload_ops = {
    .what = "transaction coordinator",
    .topic = BR_TXTOPIC_NAME,
    .keys = "ids",
    .unit = "record(s)",
    .thread = "sl-txload",
    .log_as = "txload",
    .partition_of = br_txtopic_partition_of,
    .begin = on_begin,
    .record = on_record,
    .loaded = on_loaded,
    .drop = on_drop,
};

int br_txload_new(const struct br_txload_conf *conf, struct br_txload **out)
{
    *out = NULL;
    struct br_txload *tl = calloc(1, sizeof(*tl));
    if (!tl)
        return -ENOMEM;
    tl->conf = *conf;
    int rc = br_pload_new(conf->store, &txload_ops, tl, &tl->pl);
    if (rc < 0) {
        free(tl);
        return rc;
    }
    *out = tl;
    return 0;
}

void br_txload_stop(struct br_txload *tl)
{
    if (tl)
        br_pload_stop(tl->pl);
}

void br_txload_free(struct br_txload *tl)
{
    if (!tl)
        return;
    br_pload_free(tl->pl);
    free(tl);
}
