/*
 * br_api_scram — DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554) against
 * the credential store (broker/sec/br_cred.h), with Kafka's checks (ControllerApis /
 * ScramControlManager):
 *   - Describe needs DESCRIBE on the cluster, Alter ALTER (CLUSTER_AUTHORIZATION_FAILED:
 *     the response's error for Describe, every user's for Alter).
 *   - Describe with users null or empty lists every user; a named user without credentials is
 *     RESOURCE_NOT_FOUND, a user named twice DUPLICATE_RESOURCE.
 *   - Alter answers once per user, in the order users first appear (deletions, then
 *     upsertions). A user's changes apply all or none: an empty name or one the store refuses
 *     and iterations outside 4096..16384 or a salted password of the wrong length are
 *     UNACCEPTABLE_CREDENTIAL; an unknown mechanism UNSUPPORTED_SASL_MECHANISM; the same
 *     (user, mechanism) twice DUPLICATE_RESOURCE; deleting a credential that does not exist
 *     RESOURCE_NOT_FOUND. The client sends SaltedPassword (never the password); the store
 *     keeps StoredKey and ServerKey derived from it.
 *   - The durable write runs on the admin thread (the changes copied into the response's
 *     scratch memory), as CreateAcls does.
 *   - In a cluster (zookeeper.connect) each user's changes go to /config/users/<u>
 *     (br_usercfg.h: only the SCRAM keys of the user's document change), and the cluster
 *     thread applies the document written to the local store before answering (in order with
 *     the other brokers' notifications); a user ZooKeeper did not take is REQUEST_TIMED_OUT
 * (unreachable) or UNKNOWN_SERVER_ERROR and changes nowhere. The other brokers apply it from the
 * change notification (docs/cluster.md, "Users and client ids").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_api.h"
#include "br_auth.h"
#include "br_log.h"
#include "br_usercfg.h"
#include "kp_msg_sec.h"

static struct kp_str kstr(const char *s) { return (struct kp_str){s, s ? (int32_t)strlen(s) : -1}; }

static bool same(struct kp_str a, struct kp_str b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static enum br_sasl_mech mech_of(int8_t m)
{
    return m == KP_SCRAM_SHA_256   ? BR_SASL_SCRAM_SHA_256
           : m == KP_SCRAM_SHA_512 ? BR_SASL_SCRAM_SHA_512
                                   : (enum br_sasl_mech)0;
}

/* ---- DescribeUserScramCredentials --------------------------------------------------------------
 */

/* Kafka's ScramMechanism code of a store's mechanism. */
static int8_t kp_mech(enum br_sasl_mech m)
{
    return m == BR_SASL_SCRAM_SHA_256 ? KP_SCRAM_SHA_256 : KP_SCRAM_SHA_512;
}

int br_api_describe_user_scram_credentials(struct br_req *q, struct br_resp *r)
{
    struct kp_describe_user_scram_credentials_req req;
    int rc = BR_DECODE(q, kp_describe_user_scram_credentials_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    struct kp_describe_user_scram_credentials_resp resp = {.error_message = kstr(NULL)};
    struct br_cred_entry *l = NULL;
    size_t nl = 0;
    struct kp_describe_user_scram_credentials_result *res = NULL;
    struct kp_scram_credential_info *infos = NULL;
    char(*msgs)[160] = NULL;
    if (!q->x->auth || !q->x->auth->cred) {
        resp.error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
        goto encode;
    }
    if (!br_allowed_cluster(q, KP_ACL_OP_DESCRIBE)) {
        resp.error_code = KP_ERR_CLUSTER_AUTHORIZATION_FAILED;
        goto encode;
    }
    bool oom = br_cred_list(q->x->auth->cred, &l, &nl) < 0;
    bool all = req.n_users <= 0;
    size_t nres = all ? nl : (size_t)req.n_users; /* at most */
    res = calloc(nres ? nres : 1, sizeof(*res));
    infos = calloc(nl ? nl : 1, sizeof(*infos));
    msgs = calloc(nres ? nres : 1, sizeof(*msgs));
    if (oom || !res || !infos || !msgs) {
        rc = -ENOMEM;
        goto out;
    }
    size_t k = 0, ni = 0;
    if (all) {
        for (size_t i = 0; i < nl; i++) {
            if (i == 0 || l[i].len != l[i - 1].len ||
                memcmp(l[i].user, l[i - 1].user, l[i].len) != 0)
                res[k++] = (struct kp_describe_user_scram_credentials_result){
                    .user = {l[i].user, (int32_t)l[i].len},
                    .error_message = kstr(NULL),
                    .credential_infos = &infos[ni]};
            infos[ni++] = (struct kp_scram_credential_info){kp_mech(l[i].mech), l[i].iterations};
            res[k - 1].n_credential_infos++;
        }
    } else {
        for (int32_t u = 0; u < req.n_users; u++) {
            struct kp_str name = req.users[u];
            struct kp_describe_user_scram_credentials_result *x = &res[k++];
            *x = (struct kp_describe_user_scram_credentials_result){
                .user = name, .error_message = kstr(NULL), .credential_infos = &infos[ni]};
            bool dup = false;
            for (int32_t v = 0; v < u && !dup; v++)
                dup = same(req.users[v], name);
            if (dup) {
                x->error_code = KP_ERR_DUPLICATE_RESOURCE;
                snprintf(msgs[u], sizeof msgs[u],
                         "Cannot describe SCRAM credentials for the same "
                         "user twice in a single request");
                x->error_message = kstr(msgs[u]);
                continue;
            }
            for (size_t i = 0; i < nl && ni < nl; i++)
                if (name.len >= 0 && l[i].len == (size_t)name.len &&
                    memcmp(l[i].user, name.ptr, l[i].len) == 0) {
                    infos[ni++] =
                        (struct kp_scram_credential_info){kp_mech(l[i].mech), l[i].iterations};
                    x->n_credential_infos++;
                }
            if (x->n_credential_infos == 0) {
                x->error_code = KP_ERR_RESOURCE_NOT_FOUND;
                snprintf(msgs[u], sizeof msgs[u],
                         "Attempt to describe a user credential that does not exist");
                x->error_message = kstr(msgs[u]);
            }
        }
    }
    resp.n_results = (int32_t)k;
    resp.results = res;
encode:
    rc = BR_ENCODE(r, kp_describe_user_scram_credentials_resp_encode, &resp);
out:
    free(res);
    free(infos);
    free(msgs);
    br_cred_list_free(l, nl);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- AlterUserScramCredentials ------------------------------------------------------------------
 */

struct as_user {
    struct kp_str name; /* into the job's string space */
    int16_t err;
    const char *msg;
    int zrc; /* in a cluster: ZooKeeper's write of the user's document (0, or -errno) */
};

struct as_job {
    struct br_job job; /* first: the job is the start of the scratch memory */
    size_t nusers, nch;
    struct as_user *users;
    struct br_cred_change *ch;
    size_t *ch_user; /* the user of each change */
    struct br_scram_cred *creds;
    int wrc;
    const struct br_peer *peer;
};

/* In a cluster: each user's changes to /config/users/<u> (br_usercfg.h), one document per
 * user; the cluster thread applies the document it wrote to the local store before the write
 * returns (br_clu_ents.h), in order with the notifications of other brokers' writes: not
 * applied again here (that could land over a newer document). */
static void as_run_cluster(struct as_job *aj)
{
    struct br_job *j = &aj->job;
    for (size_t u = 0; u < aj->nusers; u++) {
        struct br_cred_change mine[2]; /* (one per mechanism: a repeat is refused before) */
        size_t m = 0;
        for (size_t i = 0; i < aj->nch; i++)
            if (aj->ch_user[i] == u && m < 2)
                mine[m++] = aj->ch[i];
        if (m)
            aj->users[u].zrc = br_usercfg_scram_write(j->x->clu, aj->users[u].name.ptr,
                                                      (size_t)aj->users[u].name.len, mine, m);
    }
    size_t k = 0;
    for (size_t i = 0; i < aj->nch; i++) {
        if (aj->users[aj->ch_user[i]].zrc)
            continue;
        aj->ch[k] = aj->ch[i];
        aj->ch[k].result = 0;
        aj->ch_user[k] = aj->ch_user[i];
        k++;
    }
    aj->wrc = 0;
    aj->nch = k; /* (as_done judges the changes written; the others have zrc) */
}

static void as_run(struct br_job *j)
{
    struct as_job *aj = (struct as_job *)j;
    if (j->x->clu) {
        as_run_cluster(aj);
        return;
    }
    aj->wrc = aj->nch ? br_cred_apply(j->x->auth->cred, aj->ch, aj->nch) : 0;
}

static void as_done(struct br_job *j)
{
    struct as_job *aj = (struct as_job *)j;
    for (size_t u = 0; u < aj->nusers; u++)
        if (aj->users[u].zrc && !aj->users[u].err) {
            aj->users[u].err = aj->users[u].zrc == -EAGAIN ? KP_ERR_REQUEST_TIMED_OUT
                                                           : KP_ERR_UNKNOWN_SERVER_ERROR;
            aj->users[u].msg = "cannot write the user's credentials to ZooKeeper";
        }
    for (size_t i = 0; i < aj->nch; i++) {
        struct as_user *u = &aj->users[aj->ch_user[i]];
        if (u->err)
            continue;
        if (aj->wrc < 0) {
            u->err = KP_ERR_UNKNOWN_SERVER_ERROR;
            u->msg = "cannot write the credential store";
        } else if (aj->ch[i].result == -ENOENT) {
            u->err = KP_ERR_RESOURCE_NOT_FOUND;
            u->msg = "Attempt to delete a user credential that does not exist";
        } else if (aj->ch[i].result < 0) {
            u->err = KP_ERR_UNACCEPTABLE_CREDENTIAL;
            u->msg = "the credential store refused the credential";
        }
    }
    struct kp_alter_user_scram_credentials_result *res =
        calloc(aj->nusers ? aj->nusers : 1, sizeof(*res));
    if (!res) {
        br_fail(j->x, j->r, "out of memory for an AlterUserScramCredentials response");
        return;
    }
    for (size_t i = 0; i < aj->nusers; i++)
        res[i] = (struct kp_alter_user_scram_credentials_result){
            aj->users[i].name, aj->users[i].err, kstr(aj->users[i].err ? aj->users[i].msg : NULL)};
    if (aj->nch && aj->wrc == 0)
        br_info("peer=%s: %s changed SCRAM credentials (%zu change(s))", aj->peer->name,
                aj->peer->principal, aj->nch);
    struct kp_alter_user_scram_credentials_resp resp = {.n_results = (int32_t)aj->nusers,
                                                        .results = res};
    int rc = BR_ENCODE(j->r, kp_alter_user_scram_credentials_resp_encode, &resp);
    free(res);
    if (rc < 0) {
        br_fail(j->x, j->r, "cannot encode an AlterUserScramCredentials response");
        return;
    }
    br_ready(j->x, j->r);
}

/* The index of user name in users[0, *n), added when new. */
static size_t user_index(struct as_user *users, size_t *n, struct kp_str name)
{
    for (size_t i = 0; i < *n; i++)
        if (same(users[i].name, name))
            return i;
    users[*n] = (struct as_user){name, KP_ERR_NONE, NULL, 0};
    return (*n)++;
}

static void refuse(struct as_user *u, int16_t err, const char *msg)
{
    if (!u->err) {
        u->err = err;
        u->msg = msg;
    }
}

int br_api_alter_user_scram_credentials(struct br_req *q, struct br_resp *r)
{
    struct kp_alter_user_scram_credentials_req req;
    int rc = BR_DECODE(q, kp_alter_user_scram_credentials_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t nd = req.n_deletions > 0 ? (size_t)req.n_deletions : 0;
    size_t nu = req.n_upsertions > 0 ? (size_t)req.n_upsertions : 0;
    size_t nch = nd + nu, names = 0;
    for (size_t i = 0; i < nd; i++)
        names += (size_t)(req.deletions[i].name.len > 0 ? req.deletions[i].name.len : 0) + 1;
    for (size_t i = 0; i < nu; i++)
        names += (size_t)(req.upsertions[i].name.len > 0 ? req.upsertions[i].name.len : 0) + 1;
    size_t need = br_align8(sizeof(struct as_job)) + br_align8(nch * sizeof(struct as_user)) +
                  br_align8(nch * sizeof(struct br_cred_change)) + br_align8(nch * sizeof(size_t)) +
                  br_align8(nu * sizeof(struct br_scram_cred)) + names + 8;
    rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct as_job *aj = (struct as_job *)m;
    memset(aj, 0, sizeof(*aj));
    m += br_align8(sizeof(*aj));
    aj->users = (struct as_user *)m;
    m += br_align8(nch * sizeof(struct as_user));
    aj->ch = (struct br_cred_change *)m;
    m += br_align8(nch * sizeof(struct br_cred_change));
    aj->ch_user = (size_t *)m;
    m += br_align8(nch * sizeof(size_t));
    aj->creds = (struct br_scram_cred *)m;
    m += br_align8(nu * sizeof(struct br_scram_cred));
    char *sp = (char *)m;
    aj->peer = q->peer;
    int16_t all = !q->x->auth || !q->x->auth->cred          ? KP_ERR_UNKNOWN_SERVER_ERROR
                  : !br_allowed_cluster(q, KP_ACL_OP_ALTER) ? KP_ERR_CLUSTER_AUTHORIZATION_FAILED
                                                            : KP_ERR_NONE;
    /* users (names copied), in order of first appearance */
    for (size_t i = 0; i < nch; i++) {
        struct kp_str name = i < nd ? req.deletions[i].name : req.upsertions[i - nd].name;
        size_t before = aj->nusers;
        size_t u = user_index(aj->users, &aj->nusers, name);
        if (aj->nusers > before) { /* new: copy its name */
            size_t l = name.len > 0 ? (size_t)name.len : 0;
            if (l)
                memcpy(sp, name.ptr, l);
            sp[l] = 0;
            aj->users[u].name = (struct kp_str){sp, (int32_t)l};
            sp += l + 1;
        }
        aj->ch_user[i] = u;
        if (all)
            refuse(&aj->users[u], all, NULL);
    }
    /* Kafka's checks, per change; a user with one refused change gets none applied */
    for (size_t i = 0; i < nch && !all; i++) {
        struct as_user *u = &aj->users[aj->ch_user[i]];
        int8_t m8 = i < nd ? req.deletions[i].mechanism : req.upsertions[i - nd].mechanism;
        enum br_sasl_mech mech = mech_of(m8);
        if (u->name.len <= 0 || !br_sasl_user_valid(u->name.ptr, (size_t)u->name.len)) {
            refuse(u, KP_ERR_UNACCEPTABLE_CREDENTIAL, "Username must not be empty");
            continue;
        }
        if (!mech) {
            refuse(u, KP_ERR_UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
            continue;
        }
        for (size_t k = 0; k < i; k++) {
            int8_t mk = k < nd ? req.deletions[k].mechanism : req.upsertions[k - nd].mechanism;
            if (aj->ch_user[k] == aj->ch_user[i] && mk == m8)
                refuse(u, KP_ERR_DUPLICATE_RESOURCE,
                       "A user credential cannot be altered twice in the same request");
        }
        if (i < nd) {
            struct br_scram_cred tmp;
            if (br_cred_lookup(q->x->auth->cred, mech, u->name.ptr, (size_t)u->name.len, &tmp) < 0)
                refuse(u, KP_ERR_RESOURCE_NOT_FOUND,
                       "Attempt to delete a user credential that does not exist");
            aj->ch[i] = (struct br_cred_change){u->name.ptr, (size_t)u->name.len, mech, NULL, 0};
            continue;
        }
        const struct kp_scram_credential_upsertion *up = &req.upsertions[i - nd];
        struct br_scram_cred *c = &aj->creds[i - nd];
        if (up->iterations < BR_SCRAM_ITER_MIN || up->iterations > BR_SCRAM_ITER_MAX) {
            refuse(u, KP_ERR_UNACCEPTABLE_CREDENTIAL, "Iterations must be between 4096 and 16384");
            continue;
        }
        if (up->salt.len <= 0 || up->salted_password.len <= 0 ||
            br_scram_cred_from_salted(mech, up->salted_password.ptr,
                                      (size_t)up->salted_password.len, up->salt.ptr,
                                      (size_t)up->salt.len, up->iterations, c) < 0) {
            refuse(u, KP_ERR_UNACCEPTABLE_CREDENTIAL,
                   "Salt and salted password must be present and of the mechanism's size");
            continue;
        }
        aj->ch[i] = (struct br_cred_change){u->name.ptr, (size_t)u->name.len, mech, c, 0};
    }
    /* only the changes of users without a refusal go to the store */
    size_t k = 0;
    for (size_t i = 0; i < nch; i++) {
        if (all || aj->users[aj->ch_user[i]].err)
            continue;
        aj->ch[k] = aj->ch[i];
        aj->ch_user[k] = aj->ch_user[i];
        k++;
    }
    aj->nch = k;
    aj->job.r = r;
    aj->job.run = as_run;
    aj->job.done = as_done;
    if (k == 0) { /* nothing to write: answered here */
        struct kp_alter_user_scram_credentials_result *res =
            calloc(aj->nusers ? aj->nusers : 1, sizeof(*res));
        if (!res)
            return -ENOMEM;
        for (size_t i = 0; i < aj->nusers; i++)
            res[i] = (struct kp_alter_user_scram_credentials_result){
                aj->users[i].name, aj->users[i].err,
                kstr(aj->users[i].err ? aj->users[i].msg : NULL)};
        struct kp_alter_user_scram_credentials_resp resp = {.n_results = (int32_t)aj->nusers,
                                                            .results = res};
        rc = BR_ENCODE(r, kp_alter_user_scram_credentials_resp_encode, &resp);
        free(res);
        return rc < 0 ? rc : BR_REPLY;
    }
    rc = br_admin(q->x, &aj->job);
    return rc < 0 ? rc : BR_REPLY;
}
