/* second_factor: what every kind of second factor shares. Which sessions need one (a role
 * in LOGEER_MFA_REQUIRED_ROLES, or a person who set one up), recording that a session proved
 * one (factor_at, amr, access log), and the admin's reset of a person's factors. The factors
 * themselves (TOTP, passkeys) and their routes live in their own files; the gate that holds a
 * session without its factor is in dispatch.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/session_cache.h"
#include "resource.h"

/* Who did it and from where: $3 role, $4 request id, $5 address, $6 route. */
#define LOG_COLUMNS "INSERT INTO access_log (user_id, role, action, request_id, address, route, detail) "

static int second_factor_prepare(struct app *app)
{
    /* $1 token hash, $2 amr. */
    if (api_prepare(app, "session_factor_proven",
                    "WITH s AS (UPDATE sessions SET factor_at = now(), "
                    "amr = CASE WHEN $2::text = ANY (amr) THEN amr ELSE amr || $2::text END "
                    "WHERE token_hash = $1::bytea AND revoked_at IS NULL "
                    "RETURNING user_id, factor_at), "
                    "l AS (" LOG_COLUMNS "SELECT user_id, $3::user_role, 'factor.verify', $4, "
                    "$5::inet, $6, jsonb_build_object('method', $2::text) FROM s) "
                    "SELECT " RES_TS("factor_at") " FROM s"))
        return -1;
    /* $1 the user whose factors go; $2 the admin. Their sessions end with them: a reset is
     * what follows a lost phone or a leaver, and a session that proved the old factor must
     * not outlive it. Nor must the calendar feeds they made: a secret URL made in such a
     * session (a location's arrivals, a caregiver's stays) would go on being read. */
    return api_prepare(app, "user_factors_reset",
                       "WITH u AS (SELECT id FROM users WHERE id = $1::uuid), "
                       "f AS (DELETE FROM user_factors WHERE user_id = $1::uuid RETURNING kind), "
                       "s AS (UPDATE sessions SET revoked_at = now() WHERE user_id = $1::uuid "
                       "AND revoked_at IS NULL RETURNING 1), "
                       "c AS (UPDATE calendar_feeds SET revoked_at = now() "
                       "WHERE created_by = $1::uuid AND revoked_at IS NULL RETURNING 1), "
                       "l AS (" LOG_COLUMNS "SELECT $2::uuid, $3::user_role, 'factor.reset', $4, "
                       "$5::inet, $6, jsonb_build_object('user', $1::uuid, 'factors', "
                       "(SELECT count(*) FROM f), 'sessions_ended', (SELECT count(*) FROM s), "
                       "'feeds_stopped', (SELECT count(*) FROM c)) FROM u) "
                       "SELECT (SELECT count(*) FROM f), (SELECT count(*) FROM s), "
                       "EXISTS (SELECT 1 FROM u), (SELECT count(*) FROM c)");
}

bool api_needs_factor(const struct api_ctx *c)
{
    if (c->who.api_key_id[0] || !c->who.role)
        return false;
    return (c->who.role & c->app->cfg->mfa_roles) || c->who.has_factor;
}

const char *api_second_factor_step(const struct app *app, const struct principal *who)
{
    if (who->factor_at)
        return "none";
    if (who->has_factor)
        return "verify";
    return (who->role & app->cfg->mfa_roles) ? "enrol" : "none";
}

/* The access log's who-and-where parameters $3..$6 for this request. */
struct log_params {
    char addr[64], route[160];
};

static void log_params_fill(struct api_ctx *c, struct log_params *lp, const char **v)
{
    snprintf(lp->route, sizeof lp->route, "%s %s", http_method_name(c->req->method),
             c->route->pattern);
    v[0] = role_name(c->who.role);
    v[1] = c->req->request_id;
    v[2] = api_peer_address(c, lp->addr, sizeof lp->addr);
    v[3] = lp->route;
}

void api_session_factor_proven(struct api_ctx *c, const char *amr, api_query_cb cb)
{
    /* Every process reads this session afresh: the cached principal still says "no factor". */
    session_cache_forget(c->app->sessions, c->token_hash);
    struct log_params lp;
    const char *params[6] = {c->token_hash, amr};
    log_params_fill(c, &lp, params + 2);
    api_query(c, "session_factor_proven", 6, params, cb);
}

static void factors_reset_done(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (strcmp(db_value(r->res, 0, 2), "t") != 0) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "user not found");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "factors_removed", atoi(db_value(r->res, 0, 0)));
    cJSON_AddNumberToObject(o, "sessions_ended", atoi(db_value(r->res, 0, 1)));
    cJSON_AddNumberToObject(o, "feeds_stopped", atoi(db_value(r->res, 0, 3)));
    api_reply_json(c, 200, o);
}

static void user_factors_reset(struct api_ctx *c)
{
    const char *id = res_id(c, "user not found");
    if (!id)
        return;
    session_cache_forget_user(c->app->sessions, id);
    struct log_params lp;
    const char *params[6] = {id, c->who.user_id};
    log_params_fill(c, &lp, params + 2);
    api_query(c, "user_factors_reset", 6, params, factors_reset_done);
}

static const struct api_endpoint reset = {user_factors_reset, false};

static const struct route second_factor_routes[] = {
    {HTTP_DELETE, "/v1/users/{id}/factors", &reset, ROLE_ADMIN | ROUTE_STEP_UP},
};

ROUTE_GROUP(second_factor_group, second_factor_routes, second_factor_prepare);
