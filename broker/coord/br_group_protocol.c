/*
 * br_group_protocol — the protocols a member offers and the group's choice among them
 * (see br_group_int.h). Names and metadata are opaque bytes to the coordinator; a name is
 * compared by length and bytes.
 *
 * Costs are bounded by BR_GROUP_PROTOCOLS_MAX (P) protocols per member: accepting a member
 * is O(P^2 * M) and choosing the protocol of a generation is O(P^2 * M) for M members.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_group_int.h"

static bool name_is(const struct br_group__proto *p, const char *name, int32_t len)
{
    return p->name_len == len && (len == 0 || memcmp(p->name, name, (size_t)len) == 0);
}

int64_t br_group__protocols_bytes(const struct br_group_join_req *req)
{
    int64_t bytes = 0;
    for (int32_t i = 0; i < req->n_protocols; i++) {
        bytes += BR_GROUP_PROTOCOL_OVERHEAD;
        bytes += req->protocols[i].name.len > 0 ? req->protocols[i].name.len : 0;
        bytes += req->protocols[i].metadata.len > 0 ? req->protocols[i].metadata.len : 0;
    }
    return bytes;
}

static void protos_free(struct br_group__proto *v, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].meta);
    }
    free(v);
}

void br_group__protocols_clear(struct br_group__member *m)
{
    protos_free(m->protocols, m->n_protocols);
    m->protocols = NULL;
    m->n_protocols = 0;
}

int br_group__protocols_set(struct br_group__member *m, const struct br_group_join_req *req)
{
    struct br_group__proto *pc = calloc((size_t)req->n_protocols, sizeof(*pc));
    if (!pc)
        return -ENOMEM;
    for (int32_t i = 0; i < req->n_protocols; i++) {
        const struct br_group_protocol *p = &req->protocols[i];
        int32_t nl = p->name.len > 0 ? p->name.len : 0;
        int32_t ml = p->metadata.len > 0 ? p->metadata.len : 0;
        pc[i].name = malloc((size_t)nl + 1);
        pc[i].meta = malloc((size_t)ml + 1);
        if (!pc[i].name || !pc[i].meta) {
            protos_free(pc, i + 1);
            return -ENOMEM;
        }
        if (nl)
            memcpy(pc[i].name, p->name.ptr, (size_t)nl);
        pc[i].name[nl] = 0;
        pc[i].name_len = nl;
        if (ml)
            memcpy(pc[i].meta, p->metadata.ptr, (size_t)ml);
        pc[i].meta_len = ml;
    }
    br_group__protocols_clear(m);
    m->protocols = pc;
    m->n_protocols = req->n_protocols;
    return 0;
}

bool br_group__protocols_same(const struct br_group__member *m, const struct br_group_join_req *req)
{
    if (m->n_protocols != req->n_protocols)
        return false;
    for (int32_t i = 0; i < m->n_protocols; i++) {
        const struct br_group__proto *a = &m->protocols[i];
        const struct br_group_protocol *b = &req->protocols[i];
        int32_t bl = b->metadata.len > 0 ? b->metadata.len : 0;
        if (!name_is(a, b->name.ptr, b->name.len) || a->meta_len != bl ||
            (bl && memcmp(a->meta, b->metadata.ptr, (size_t)bl) != 0))
            return false;
    }
    return true;
}

const struct br_group__proto *br_group__protocol_find(const struct br_group__member *m,
                                                      const char *name, int32_t len)
{
    for (int32_t i = 0; i < m->n_protocols; i++)
        if (name_is(&m->protocols[i], name, len))
            return &m->protocols[i];
    return NULL;
}

bool br_group__protocols_acceptable(struct br_group__member *const *members, int32_t n,
                                    const struct br_group__member *self,
                                    const struct br_group_join_req *req)
{
    for (int32_t p = 0; p < req->n_protocols; p++) {
        bool all = true;
        for (int32_t i = 0; i < n && all; i++)
            if (members[i] != self)
                all = br_group__protocol_find(members[i], req->protocols[p].name.ptr,
                                              req->protocols[p].name.len) != NULL;
        if (all)
            return true;
    }
    return false;
}

const struct br_group__proto *br_group__protocol_choose(struct br_group__member *const *members,
                                                        int32_t n,
                                                        const struct br_group__member *leader)
{
    /* the candidates: the leader's protocols every member offers (every common protocol is
     * one of the leader's) */
    bool common[BR_GROUP_PROTOCOLS_MAX];
    int32_t votes[BR_GROUP_PROTOCOLS_MAX] = {0};
    int32_t np = leader->n_protocols;
    assert(np <= BR_GROUP_PROTOCOLS_MAX); /* the join refuses more */
    for (int32_t p = 0; p < np; p++) {
        common[p] = true;
        for (int32_t i = 0; i < n && common[p]; i++)
            common[p] = br_group__protocol_find(members[i], leader->protocols[p].name,
                                                leader->protocols[p].name_len) != NULL;
    }
    /* each member votes for its first candidate */
    for (int32_t i = 0; i < n; i++) {
        const struct br_group__member *m = members[i];
        bool voted = false;
        for (int32_t q = 0; q < m->n_protocols && !voted; q++)
            for (int32_t p = 0; p < np && !voted; p++)
                if (common[p] && name_is(&leader->protocols[p], m->protocols[q].name,
                                         m->protocols[q].name_len)) {
                    votes[p]++;
                    voted = true;
                }
    }
    const struct br_group__proto *best = NULL;
    int32_t best_votes = -1;
    for (int32_t p = 0; p < np; p++)
        if (common[p] && votes[p] > best_votes) {
            best = &leader->protocols[p];
            best_votes = votes[p];
        }
    return best;
}
