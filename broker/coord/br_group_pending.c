/*
 * br_group_pending — a group's pending member ids (see br_group_int.h): the ids handed out
 * with MEMBER_ID_REQUIRED to a JoinGroup v4+ without one, kept until the client joins with
 * the id or the session timeout it asked for passes. An array in handout order; lookups are
 * linear, as the members' are, and the coordinator caps the count at group.max.size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_group_int.h"

int br_group__pending_add(struct br_group__pendings *p, const char *id, int32_t id_len,
                          int64_t deadline)
{
    if (p->n == p->cap) {
        int32_t ncap = p->cap ? 2 * p->cap : 4;
        struct br_group__pending *nv = realloc(p->v, (size_t)ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        p->v = nv;
        p->cap = ncap;
    }
    char *copy = strndup(id, (size_t)id_len);
    if (!copy)
        return -ENOMEM;
    p->v[p->n++] = (struct br_group__pending){copy, id_len, deadline};
    return 0;
}

int32_t br_group__pending_find(const struct br_group__pendings *p, struct kp_str id)
{
    for (int32_t i = 0; i < p->n; i++)
        if (p->v[i].id_len == id.len && memcmp(p->v[i].id, id.ptr, (size_t)id.len) == 0)
            return i;
    return -1;
}

void br_group__pending_remove(struct br_group__pendings *p, int32_t i)
{
    free(p->v[i].id);
    memmove(&p->v[i], &p->v[i + 1], (size_t)(p->n - i - 1) * sizeof(p->v[0]));
    p->n--;
}

int64_t br_group__pending_next(const struct br_group__pendings *p)
{
    int64_t next = INT64_MAX;
    for (int32_t i = 0; i < p->n; i++)
        if (p->v[i].deadline < next)
            next = p->v[i].deadline;
    return next;
}

void br_group__pending_free(struct br_group__pendings *p)
{
    for (int32_t i = 0; i < p->n; i++)
        free(p->v[i].id);
    free(p->v);
    *p = (struct br_group__pendings){0};
}
