/* password_change: POST /v1/me/password, a signed-in person changing their own password. The
 * current password is checked as at sign-in (the same attempt record and failure limits, so
 * a stolen session cannot be used to guess it), both hashes are made on the worker pool, and
 * the change ends every other session of the person: whoever knew the old password and
 * signed in with it is out. The change and each refusal are in the access log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/jsonv.h"
#include "logeer/session_cache.h"
#include "logeer/workers.h"
#include "resource.h"

static int password_change_prepare(struct app *app)
{
    /* $1 user, $2 new hash, $3 attempt, $4 whether the current password held, $5 the session
     * that stays, $6 role, $7 request id, $8 address. One statement, one transaction: the new
     * password, the success of the attempt, the other sessions' end and the log row. */
    return api_prepare(app, "password_change",
                       "WITH ok AS (UPDATE login_attempts SET success = true "
                       "WHERE id = $3::bigint AND $4::boolean), "
                       "u AS (UPDATE users SET password_hash = $2 WHERE id = $1::uuid "
                       "AND $4::boolean RETURNING id), "
                       "s AS (UPDATE sessions SET revoked_at = now() WHERE user_id = $1::uuid "
                       "AND revoked_at IS NULL AND token_hash <> $5::bytea AND $4::boolean "
                       "RETURNING 1), "
                       "l AS (INSERT INTO access_log (user_id, role, action, request_id, "
                       "address, route, detail) VALUES ($1::uuid, $6::user_role, "
                       "CASE WHEN $4::boolean THEN 'password.change' "
                       "ELSE 'password.change_fail' END, $7, $8::inet, 'POST /v1/me/password', "
                       "CASE WHEN $4::boolean THEN jsonb_build_object('sessions_ended', "
                       "(SELECT count(*) FROM s)) END)) "
                       "SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM u)");
}

/* What travels through the callbacks. Both passwords are wiped when it is freed. */
struct change {
    char attempt_id[24];
    char current[AUTH_PASSWORD_MAX + 1];
    char next[AUTH_PASSWORD_MAX + 1];
    char stored[256];        /* the account's hash now */
    char new_hash[AUTH_HASH_LEN];
    bool verified;           /* set by the worker */
    int hash_rc;             /* set by the worker */
};

static void change_free(void *p)
{
    struct change *ch = p;
    explicit_bzero(ch->current, sizeof ch->current);
    explicit_bzero(ch->next, sizeof ch->next);
    free(ch);
}

static void changed(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    struct change *ch = c->state;
    if (!ch->verified) {
        res_reply_field(c, "current_password", "is not your current password",
                        "the password was not changed");
        return;
    }
    if (atoi(db_value(r->res, 0, 1)) != 1) {
        api_reply_problem(c, PROBLEM_UNAUTHORIZED, "the account is gone; sign in again");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "sessions_ended", atoi(db_value(r->res, 0, 0)));
    api_reply_json(c, 200, o);
}

static void change_work(void *arg)
{
    struct api_ctx *c = arg;
    struct change *ch = c->state;
    ch->verified = auth_password_verify(ch->stored, ch->current);
    explicit_bzero(ch->current, sizeof ch->current);
    ch->hash_rc = ch->verified ? auth_password_hash(ch->next, ch->new_hash) : 0;
    explicit_bzero(ch->next, sizeof ch->next);
}

static void change_work_done(void *arg)
{
    struct api_ctx *c = arg;
    struct change *ch = c->state;
    if (ch->hash_rc != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not hash the new password");
        return;
    }
    /* Other processes stop the ended sessions within their cache's bound; this one now. */
    if (ch->verified)
        session_cache_forget_user(c->app->sessions, c->who.user_id);
    char addr[64];
    const char *params[] = {c->who.user_id, ch->verified ? ch->new_hash : NULL,
                            ch->attempt_id, ch->verified ? "true" : "false", c->token_hash,
                            role_name(c->who.role), c->req->request_id,
                            api_peer_address(c, addr, sizeof addr)};
    api_query(c, "password_change", 8, params, changed);
}

static void change_started(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    if (atoi(db_value(r->res, 0, 1)) > 0) {
        session_login_refuse(c, db_value(r->res, 0, 1));
        return;
    }
    struct change *ch = c->state;
    if (db_is_null(r->res, 0, 3)) {
        api_reply_problem(c, PROBLEM_UNAUTHORIZED, "the account has no password to change");
        return;
    }
    snprintf(ch->attempt_id, sizeof ch->attempt_id, "%s", db_value(r->res, 0, 0));
    snprintf(ch->stored, sizeof ch->stored, "%s", db_value(r->res, 0, 3));
    workers_submit(c->app->workers, change_work, change_work_done, c);
}

static void password_change(struct api_ctx *c)
{
    static const char *const known[] = {"current_password", "new_password", NULL};
    struct jsonv v;
    jsonv_init(&v);
    const char *current = NULL, *next = NULL;
    jsonv_only(&v, c->body, known);
    jsonv_string(&v, c->body, "current_password", true, 1, AUTH_PASSWORD_MAX, &current);
    /* The same rules as at registration, with the same words. */
    if (jsonv_string(&v, c->body, "new_password", true, 0, (size_t)-1, &next)) {
        const char *why = auth_password_policy(next);
        if (why)
            jsonv_error(&v, "new_password", why);
        else if (current && strcmp(current, next) == 0)
            jsonv_error(&v, "new_password", "must differ from the current password");
    }
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "check the highlighted fields");
        return;
    }
    struct change *ch = res_state_new(c, sizeof *ch, change_free);
    if (!ch)
        return;
    snprintf(ch->current, sizeof ch->current, "%s", current);
    snprintf(ch->next, sizeof ch->next, "%s", next);
    session_login_begin(c, c->who.email, change_started);
}

static const struct api_endpoint change = {password_change, true};

static const struct route password_change_routes[] = {
    {HTTP_POST, "/v1/me/password", &change, ROLE_ANY},
};

ROUTE_GROUP(password_change_group, password_change_routes, password_change_prepare);
