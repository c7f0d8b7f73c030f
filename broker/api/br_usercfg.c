/*
 * br_usercfg — ZooKeeper's user and client-id documents to and from the credential store and
 * the quotas (br_usercfg.h).
 */
#include "br_usercfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "br_auth.h"
#include "br_log.h"

_Static_assert((int)BR_CLU_ENT_ABSENT == (int)BR_QE_ABSENT &&
                   (int)BR_CLU_ENT_DEFAULT == (int)BR_QE_DEFAULT &&
                   (int)BR_CLU_ENT_NAMED == (int)BR_QE_NAMED,
               "an entity's kinds are the same numbers in br_clu_ents.h and br_quota.h");

/* The SCRAM mechanism a key names (0: none). */
static enum br_sasl_mech scram_key(const char *key)
{
    enum br_sasl_mech m;
    if (br_sasl_mech_parse(key, strlen(key), &m) < 0 || !br_sasl_is_scram(m))
        return (enum br_sasl_mech)0;
    return m;
}

static struct kp_str name_of(uint8_t kind, const char *s, size_t len)
{
    return kind == BR_CLU_ENT_NAMED ? (struct kp_str){s, (int32_t)len} : KP_STR_NULL;
}

static void apply_creds(struct br_cred *store, const struct br_clu_entdoc *d, size_t n, bool all)
{
    struct br_cred_user *u = calloc(n ? n : 1, sizeof *u);
    struct br_scram_cred *creds = calloc(2 * (n ? n : 1), sizeof *creds);
    if (!u || !creds) {
        br_err("cluster: out of memory for the SCRAM credentials of ZooKeeper");
        goto out;
    }
    size_t nu = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i].e.user_kind != BR_CLU_ENT_NAMED || d[i].e.client_kind != BR_CLU_ENT_ABSENT)
            continue;
        struct br_cred_user *x = &u[nu++];
        *x = (struct br_cred_user){d[i].e.user, d[i].e.user_len, &creds[2 * i], 0};
        for (int k = 0; k < d[i].nkv && x->n < 2; k++) {
            enum br_sasl_mech m = scram_key(d[i].kv[k].key);
            if (!m)
                continue;
            if (br_cred_text_parse(m, d[i].kv[k].val, strlen(d[i].kv[k].val),
                                   &creds[2 * i + x->n]) == 0)
                x->n++;
            else
                br_warn_limited("cluster: /config/users/%s: %s is not a SCRAM credential: left out",
                                d[i].e.user, d[i].kv[k].key);
        }
    }
    int rc = br_cred_sync(store, u, nu, all);
    if (rc < 0)
        br_err("cluster: cannot apply ZooKeeper's SCRAM credentials here: %s", strerror(-rc));
out:
    if (creds)
        OPENSSL_cleanse(creds, 2 * (n ? n : 1) * sizeof *creds);
    free(creds);
    free(u);
}

static void apply_quotas(struct br_quotas *q, const struct br_clu_entdoc *d, size_t n, bool all)
{
    struct br_quota_set *s = calloc(n ? n : 1, sizeof *s);
    if (!s) {
        br_err("cluster: out of memory for the client quotas of ZooKeeper");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct br_clu_entity *e = &d[i].e;
        s[i].entity = (struct br_quota_entity){e->user_kind, e->client_kind,
                                               name_of(e->user_kind, e->user, e->user_len),
                                               name_of(e->client_kind, e->client, e->client_len)};
        for (int k = 0; k < d[i].nkv; k++) {
            enum br_quota_type t;
            const char *key = d[i].kv[k].key;
            if (br_quota_key_parse(key, strlen(key), &t) < 0)
                continue;
            if (br_quota_text_parse(t, d[i].kv[k].val, &s[i].v[t]) == 0)
                s[i].has[t] = true;
            else
                br_warn_limited("cluster: quota %s=%s of a user or client id in ZooKeeper is not "
                                "valid: left out",
                                key, d[i].kv[k].val);
        }
    }
    size_t refused = 0;
    int rc = br_quotas_sync(q, s, n, all, &refused);
    if (rc < 0)
        br_err("cluster: cannot apply ZooKeeper's client quotas here: %s", strerror(-rc));
    else if (refused)
        br_warn_limited("cluster: %zu quota entit%s of ZooKeeper refused here", refused,
                        refused == 1 ? "y" : "ies");
    free(s);
}

/* The data directory is already ZooKeeper's cache (br_cred_zk_mark): 1, 0 (also without a
 * configuration: the unit tests'), -errno. */
static int marked(const struct br_auth *a)
{
    return a->cfg ? br_cred_zk_marked(a->cfg->data_dir) : 0;
}

void br_usercfg_apply(void *arg, const struct br_clu_entdoc *docs, size_t n, int scope)
{
    struct br_auth *a = arg;
    /* (at START, entities ZooKeeper lacks stay for br_usercfg_seed, unless the stores are
     * already a cache of ZooKeeper's: then ZooKeeper's set is the whole set, deletions made
     * while this broker was down included) */
    bool all = scope == BR_CLU_ENTS_ALL || (scope == BR_CLU_ENTS_START && marked(a) != 0);
    if (a->cred)
        apply_creds(a->cred, docs, n, all);
    if (a->quotas)
        apply_quotas(a->quotas, docs, n, all);
}

/* ---- carrying local entries to ZooKeeper at start ---------------------------------------------
 */

/* One entity's keys being carried: its quotas and, for a user, its credentials. */
struct carry {
    struct br_clu_ekv kv[BR_QUOTA_NTYPES + 2];
    char text[BR_QUOTA_NTYPES + 2][BR_CRED_TEXT_MAX];
    int n;
};

static void carry_creds(struct br_cred *c, const char *user, size_t len, struct carry *k)
{
    static const enum br_sasl_mech mechs[2] = {BR_SASL_SCRAM_SHA_256, BR_SASL_SCRAM_SHA_512};
    for (int m = 0; m < 2; m++) {
        struct br_scram_cred cred;
        if (br_cred_lookup(c, mechs[m], user, len, &cred) == 0 &&
            br_cred_text_format(&cred, k->text[k->n], sizeof k->text[k->n]) > 0) {
            k->kv[k->n] = (struct br_clu_ekv){br_sasl_mech_name(mechs[m]), k->text[k->n]};
            k->n++;
        }
        OPENSSL_cleanse(&cred, sizeof cred);
    }
}

/* Creates e's document of k's keys: 1 when carried, else 0 (*failed set when it could not be
 * written: not when ZooKeeper has a document already). */
static size_t carry(struct br_clu *clu, const struct br_clu_entity *e, struct carry *k,
                    bool *failed)
{
    char path[256];
    if (k->n == 0)
        return 0;
    int rc = br_clu_entity_create(clu, e, k->kv, k->n);
    if (br_clu_entity_path(e, path, sizeof path) < 0)
        snprintf(path, sizeof path, "(a long name)");
    if (rc == 0)
        br_info("cluster: %s of this broker's own stores carried to ZooKeeper (it had none)", path);
    else if (rc != -EEXIST)
        br_warn("cluster: cannot carry %s to ZooKeeper: %s", path, strerror(-rc));
    if (rc != 0 && rc != -EEXIST)
        *failed = true;
    OPENSSL_cleanse(k, sizeof *k);
    return rc == 0;
}

struct qents {
    struct qent {
        struct br_quota_entity e;
        char *names;
        double v[BR_QUOTA_NTYPES];
        bool has[BR_QUOTA_NTYPES];
    } * v;
    size_t n, cap;
    bool oom;
};

static void qent_add(void *arg, const struct br_quota_entity *e, const double v[BR_QUOTA_NTYPES],
                     const bool has[BR_QUOTA_NTYPES])
{
    struct qents *q = arg;
    if (q->oom)
        return;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        void *nv = realloc(q->v, cap * sizeof *q->v);
        if (!nv) {
            q->oom = true;
            return;
        }
        q->v = nv;
        q->cap = cap;
    }
    size_t ul = e->user.len > 0 ? (size_t)e->user.len : 0;
    size_t cl = e->client.len > 0 ? (size_t)e->client.len : 0;
    char *m = malloc(ul + cl + 2);
    if (!m) {
        q->oom = true;
        return;
    }
    memcpy(m, ul ? e->user.ptr : "", ul);
    m[ul] = 0;
    memcpy(m + ul + 1, cl ? e->client.ptr : "", cl);
    m[ul + 1 + cl] = 0;
    struct qent *x = &q->v[q->n++];
    x->e = *e;
    x->e.user.ptr = m;
    x->e.client.ptr = m + ul + 1;
    x->names = m;
    memcpy(x->v, v, sizeof x->v);
    memcpy(x->has, has, sizeof x->has);
}

size_t br_usercfg_seed(struct br_clu *clu, struct br_auth *a)
{
    struct br_cred_entry *cl = NULL; /* the local credentials (a user once per mechanism) */
    size_t ncl = 0;
    bool *done = NULL; /* cl[j]'s user carried with its quotas */
    bool cl_oom = false;
    struct qents q = {0};
    struct carry *k = malloc(sizeof *k);
    size_t carried = 0;
    bool failed = false;
    int rc = marked(a);
    if (rc != 0) { /* (a cache already, or the mark unreadable: nothing carried) */
        if (rc < 0)
            br_err("cluster: cannot read the mark of %s/%s: %s (nothing carried to ZooKeeper)",
                   a->cfg->data_dir, BR_SECURITY_DIR, strerror(-rc));
        free(k);
        return 0;
    }
    if (a->cred)
        cl_oom = br_cred_list(a->cred, &cl, &ncl) < 0;
    done = calloc(ncl ? ncl : 1, sizeof *done);
    if (a->quotas) {
        struct br_quota_filter f;
        memset(&f, 0, sizeof f);
        br_quotas_describe(a->quotas, &f, qent_add, &q);
    }
    if (!k || cl_oom || !done || q.oom) {
        br_err("cluster: out of memory for carrying this broker's users to ZooKeeper");
        goto out;
    }
    for (size_t i = 0; i < q.n; i++) {
        const struct br_quota_entity *qe = &q.v[i].e;
        memset(k, 0, sizeof *k);
        for (int t = 0; t < BR_QUOTA_NTYPES; t++)
            if (q.v[i].has[t] && br_quota_text_format((enum br_quota_type)t, q.v[i].v[t],
                                                      k->text[k->n], sizeof k->text[k->n]) > 0) {
                k->kv[k->n] =
                    (struct br_clu_ekv){br_quota_key((enum br_quota_type)t), k->text[k->n]};
                k->n++;
            }
        struct br_clu_entity e = {qe->user_kind,
                                  qe->client_kind,
                                  qe->user.ptr,
                                  qe->client.ptr,
                                  qe->user_kind == BR_QE_NAMED ? (size_t)qe->user.len : 0,
                                  qe->client_kind == BR_QE_NAMED ? (size_t)qe->client.len : 0};
        if (qe->user_kind == BR_QE_NAMED && qe->client_kind == BR_QE_ABSENT && a->cred) {
            carry_creds(a->cred, e.user, e.user_len, k); /* (one document for both) */
            for (size_t j = 0; j < ncl; j++)
                if (cl[j].len == e.user_len && memcmp(cl[j].user, e.user, e.user_len) == 0)
                    done[j] = true;
        }
        carried += carry(clu, &e, k, &failed);
    }
    for (size_t j = 0; j < ncl; j++) {
        /* (sorted by user: a repeat is the previous entry's user, carried or done already) */
        if (done[j] || (j > 0 && cl[j].len == cl[j - 1].len &&
                        memcmp(cl[j].user, cl[j - 1].user, cl[j].len) == 0))
            continue;
        memset(k, 0, sizeof *k);
        carry_creds(a->cred, cl[j].user, cl[j].len, k);
        struct br_clu_entity e = {
            BR_CLU_ENT_NAMED, BR_CLU_ENT_ABSENT, cl[j].user, "", cl[j].len, 0};
        carried += carry(clu, &e, k, &failed);
    }
    /* (every entry is ZooKeeper's now: from here on the stores are its cache; a failure leaves
     * them unmarked, and the next start carries what is still missing) */
    if (!failed && a->cfg && (rc = br_cred_zk_mark(a->cfg->data_dir)) < 0)
        br_err("cluster: cannot mark %s/%s as ZooKeeper's cache: %s (entries ZooKeeper lacks at "
               "the next start are carried to it again)",
               a->cfg->data_dir, BR_SECURITY_DIR, strerror(-rc));
    else if (!failed && a->cfg)
        br_info("cluster: the credentials and quotas of %s are ZooKeeper's cache from now on",
                a->cfg->data_dir);
out:
    free(k);
    br_cred_list_free(cl, ncl);
    free(done);
    for (size_t i = 0; i < q.n; i++)
        free(q.v[i].names);
    free(q.v);
    return carried;
}

int br_usercfg_scram_write(struct br_clu *clu, const char *user, size_t user_len,
                           const struct br_cred_change *ch, size_t n)
{
    struct br_clu_ekv *kv = calloc(n ? n : 1, sizeof *kv);
    char(*text)[BR_CRED_TEXT_MAX] = calloc(n ? n : 1, sizeof *text);
    int rc = 0;
    if (!kv || !text) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        enum br_sasl_mech m = ch[i].cred ? ch[i].cred->mech : ch[i].mech;
        kv[i].key = br_sasl_mech_name(m);
        kv[i].val = NULL;
        if (!kv[i].key)
            rc = -EINVAL;
        else if (ch[i].cred && br_cred_text_format(ch[i].cred, text[i], sizeof text[i]) < 0)
            rc = -EINVAL;
        else if (ch[i].cred)
            kv[i].val = text[i];
    }
    struct br_clu_entity e = {BR_CLU_ENT_NAMED, BR_CLU_ENT_ABSENT, user, "", user_len, 0};
    if (!rc)
        rc = br_clu_entity_alter(clu, &e, kv, (int)n);
out:
    if (text)
        OPENSSL_cleanse(text, (n ? n : 1) * sizeof *text);
    free(text);
    free(kv);
    return rc;
}

int br_usercfg_quota_write(struct br_clu *clu, const struct br_quota_alter *a)
{
    size_t n = a->n_ops;
    struct br_clu_ekv *kv = calloc(n ? n : 1, sizeof *kv);
    char(*text)[40] = calloc(n ? n : 1, sizeof *text);
    int rc = 0;
    if (!kv || !text) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const struct br_quota_op *op = &a->ops[i];
        kv[i].key = br_quota_key(op->type);
        kv[i].val = op->remove ? NULL : text[i];
        if (!kv[i].key ||
            (!op->remove && br_quota_text_format(op->type, op->value, text[i], sizeof text[i]) < 0))
            rc = -EINVAL;
    }
    const struct br_quota_entity *q = &a->entity;
    struct br_clu_entity e = {q->user_kind,
                              q->client_kind,
                              q->user_kind == BR_QE_NAMED ? q->user.ptr : "",
                              q->client_kind == BR_QE_NAMED ? q->client.ptr : "",
                              q->user_kind == BR_QE_NAMED ? (size_t)q->user.len : 0,
                              q->client_kind == BR_QE_NAMED ? (size_t)q->client.len : 0};
    if (!rc)
        rc = br_clu_entity_alter(clu, &e, kv, (int)n);
out:
    free(text);
    free(kv);
    return rc;
}
