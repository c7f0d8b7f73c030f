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

void br_usercfg_apply(void *arg, const struct br_clu_entdoc *docs, size_t n, bool all)
{
    struct br_auth *a = arg;
    if (a->cred)
        apply_creds(a->cred, docs, n, all);
    if (a->quotas)
        apply_quotas(a->quotas, docs, n, all);
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
