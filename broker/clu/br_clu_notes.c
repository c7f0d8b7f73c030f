/*
 * br_clu_notes — sequential change notifications, as Kafka's ZkNodeChangeNotificationListener
 * reads them: a directory of persistent sequential znodes <prefix><seq> (ZooKeeper's ten-digit
 * counter), each saying "read this entity again". Every broker watches the directory's
 * children, acts on the notifications it has not seen (sequence above the last one acted on),
 * and deletes the ones older than 15 minutes (Kafka's changeExpirationMs), whichever broker
 * sees them first; a broker down longer than that re-reads everything when it starts, so it
 * does not need them. Used by /config/changes (br_clu_config.c) and the ACL changes
 * (br_clu_acl.c: /kafka-acl-changes, /kafka-acl-extended-changes).
 *
 * On the thread that owns the session; ZooKeeper codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_clu_int.h"
#include "br_log.h"

int64_t br_clu__note_seq(const char *child, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(child, prefix, pl) != 0 || !child[pl])
        return -1;
    char *end;
    long long v = strtoll(child + pl, &end, 10);
    return *end || v < 0 ? -1 : v;
}

int br_clu__note_write(struct br_clu *c, const char *dir, const char *prefix, const char *data,
                       int len, char *made, int madecap)
{
    char path[PATH_MAX_LEN + 64];
    if (snprintf(path, sizeof path, "%s/%s", dir, prefix) >= (int)sizeof path)
        return ZBADARGUMENTS;
    int rc = zoo_create(c->zh, path, data, len, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, made, madecap);
    if (rc == ZNONODE && br_clu__ensure_path(c, dir) == ZOK)
        rc = zoo_create(c->zh, path, data, len, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, made, madecap);
    return rc;
}

int br_clu__notes_read(struct br_clu *c, const char *dir, const char *prefix, watcher_fn w,
                       void *wctx, int64_t *last, bool skip_new, br_clu_note_fn fn, void *ctx)
{
    struct String_vector kids = {0};
    int rc = zoo_wget_children(c->zh, dir, w, wctx, &kids);
    if (rc != ZOK)
        return rc;
    int64_t now = br_clu__wall_ms(), top = *last;
    for (int i = 0; rc == ZOK && i < kids.count; i++) {
        int64_t seq = br_clu__note_seq(kids.data[i], prefix);
        if (seq < 0)
            continue;
        char path[PATH_MAX_LEN + 64], buf[DATA_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, kids.data[i]) >= (int)sizeof path)
            continue;
        bool fresh = seq > *last && !skip_new;
        int len = (int)sizeof buf - 1;
        struct Stat st;
        memset(&st, 0, sizeof st);
        int grc = fresh ? zoo_get(c->zh, path, 0, buf, &len, &st) : zoo_exists(c->zh, path, 0, &st);
        if (grc == ZNONODE)
            continue; /* (purged meanwhile) */
        if (grc != ZOK && br_clu__transient(grc)) {
            rc = grc;
            break;
        }
        if (grc != ZOK) {
            /* (ZNOAUTH...: this one cannot be read, the next ones can: not a stall) */
            br_warn_limited("cluster: cannot read the notification %s: %s", path, zerror(grc));
            len = -1;
            st.ctime = 0;
        }
        if (fresh) {
            if (len < 0 || st.dataLength > len)
                len = -1; /* (none, or more than a notification holds: fn says what it does) */
            if (len >= 0)
                buf[len] = 0;
            rc = fn(c, ctx, path, buf, len);
            if (rc != ZOK)
                break;
        }
        if (seq > top)
            top = seq;
        if (st.ctime > 0 && now - st.ctime > BR_CLU_NOTE_EXPIRY_MS) {
            int drc = zoo_delete(c->zh, path, -1);
            if (drc != ZOK && drc != ZNONODE)
                br_warn_limited("cluster: cannot delete the old notification %s: %s", path,
                                zerror(drc));
        }
    }
    deallocate_String_vector(&kids);
    if (rc == ZOK)
        *last = top;
    return rc;
}
