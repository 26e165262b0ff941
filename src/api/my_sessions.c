/* my_sessions: the sessions a person can see and end. GET /v1/me/sessions lists the caller's
 * open sessions (device, first and last seen, a shortened address), DELETE
 * /v1/me/sessions/{id} ends one, DELETE /v1/me/sessions ends all but the current one, and the
 * admin ends every session of a user with DELETE /v1/users/{id}/sessions (a lost phone, a
 * leaver). Each end is written to the access log. Token hashes never leave the database:
 * sessions are named by their own id (migration 0031). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/session_cache.h"
#include "resource.h"

#define MISSING "session not found"

/* "Firefox op Windows": enough for a person to recognise a device, no more. */
#define DEVICE_SQL                                                                           \
    "concat_ws(' op ', CASE WHEN s.user_agent ~ 'Edg/' THEN 'Edge' "                          \
    "WHEN s.user_agent ~ 'Firefox/' THEN 'Firefox' WHEN s.user_agent ~ 'Chrome/' THEN 'Chrome' " \
    "WHEN s.user_agent ~ 'Safari/' THEN 'Safari' WHEN s.user_agent ~ 'curl/' THEN 'curl' "    \
    "ELSE NULL END, CASE WHEN s.user_agent ~ 'Windows' THEN 'Windows' "                       \
    "WHEN s.user_agent ~ 'iPhone|iPad' THEN 'iOS' WHEN s.user_agent ~ 'Android' THEN 'Android' " \
    "WHEN s.user_agent ~ 'Mac OS X' THEN 'macOS' WHEN s.user_agent ~ 'Linux' THEN 'Linux' "   \
    "ELSE NULL END)"

/* The address cut to its network (IPv4 /24, IPv6 /48): where from, not who. */
#define ADDRESS_SQL                                                                          \
    "CASE WHEN s.address IS NULL THEN NULL WHEN family(s.address) = 4 "                      \
    "THEN network(set_masklen(s.address, 24))::text "                                         \
    "ELSE network(set_masklen(s.address, 48))::text END"

#define OPEN_SESSION "s.revoked_at IS NULL AND s.expires_at > now() " \
                     "AND s.last_seen_at + s.idle_timeout > now()"

/* Every session end, in the access log: who ended it, whose it was, from where. */
#define LOG_ENDS(from)                                                                       \
    "INSERT INTO access_log (user_id, role, action, request_id, address, route) "            \
    "SELECT $2::uuid, $3::user_role, 'session.end', $4, $5::inet, $6 FROM " from

static int my_sessions_prepare(struct app *app)
{
    if (api_prepare(app, "my_sessions_list",
                    "SELECT json_build_object('sessions', coalesce(json_agg(json_build_object("
                    "'id', s.id, 'current', s.token_hash = $2::bytea, "
                    "'device', nullif(" DEVICE_SQL ", ''), 'user_agent', s.user_agent, "
                    "'address', " ADDRESS_SQL ", "
                    "'created_at', " RES_TS("s.created_at") ", "
                    "'last_seen_at', " RES_TS("s.last_seen_at") ", "
                    "'expires_at', " RES_TS("least(s.expires_at, s.last_seen_at + s.idle_timeout)")
                    ") ORDER BY s.last_seen_at DESC, s.id), '[]'::json))::text "
                    "FROM sessions s WHERE s.user_id = $1::uuid AND " OPEN_SESSION))
        return -1;
    /* $1 owner, $2 actor, $3 role, $4 request id, $5 address, $6 route, $7 session id. */
    if (api_prepare(app, "my_sessions_end_one",
                    "WITH e AS (UPDATE sessions s SET revoked_at = now() "
                    "WHERE s.user_id = $1::uuid AND s.id = $7::uuid AND " OPEN_SESSION " "
                    "RETURNING s.token_hash), l AS (" LOG_ENDS("e") ") "
                    "SELECT count(*), bool_or(e.token_hash = $8::bytea) FROM e"))
        return -1;
    /* $7: the session to keep (the caller's own), or NULL to end them all. */
    return api_prepare(app, "my_sessions_end_all",
                       "WITH e AS (UPDATE sessions s SET revoked_at = now() "
                       "WHERE s.user_id = $1::uuid AND " OPEN_SESSION " "
                       "AND ($7::bytea IS NULL OR s.token_hash <> $7::bytea) "
                       "RETURNING s.token_hash), l AS (" LOG_ENDS("e") ") "
                       "SELECT count(*), EXISTS (SELECT 1 FROM users u WHERE u.id = $1::uuid) "
                       "FROM e");
}

static void listed(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    http_reply_header(c->req, "Cache-Control", "no-store");
    res_reply_body(c, 200, db_value(r->res, 0, 0));
}

static void my_sessions_list(struct api_ctx *c)
{
    const char *params[] = {c->who.user_id, c->token_hash};
    api_query(c, "my_sessions_list", 2, params, listed);
}

/* The common parameters $1..$6 of an end: whose sessions, who ends them, and where from. */
struct end_params {
    char addr[64], route[160];
    const char *v[8];
};

static void end_params_fill(struct api_ctx *c, struct end_params *p, const char *owner)
{
    snprintf(p->route, sizeof p->route, "%s %s", http_method_name(c->req->method),
             c->route->pattern);
    p->v[0] = owner;
    p->v[1] = c->who.user_id;
    p->v[2] = role_name(c->who.role);
    p->v[3] = c->req->request_id;
    p->v[4] = api_peer_address(c, p->addr, sizeof p->addr);
    p->v[5] = p->route;
}

static void ended_one(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (atoi(db_value(r->res, 0, 0)) == 0) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, MISSING);
        return;
    }
    /* Ending the session this request came with is a logout. */
    if (strcmp(db_value(r->res, 0, 1), "t") == 0 && c->by_cookie)
        api_session_cookies_clear(c);
    api_reply_empty(c, 204);
}

static void my_sessions_end_one(struct api_ctx *c)
{
    const char *id = res_id(c, MISSING);
    if (!id)
        return;
    /* This process forgets them all at once; other processes within seconds (the cache's
     * bound), as after a logout elsewhere. */
    session_cache_forget_user(c->app->sessions, c->who.user_id);
    struct end_params p;
    end_params_fill(c, &p, c->who.user_id);
    p.v[6] = id;
    p.v[7] = c->token_hash;
    api_query(c, "my_sessions_end_one", 8, p.v, ended_one);
}

static void ended_all(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (strcmp(db_value(r->res, 0, 1), "t") != 0) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "user not found");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "ended", atoi(db_value(r->res, 0, 0)));
    api_reply_json(c, 200, o);
}

static void my_sessions_end_others(struct api_ctx *c)
{
    session_cache_forget_user(c->app->sessions, c->who.user_id);
    struct end_params p;
    end_params_fill(c, &p, c->who.user_id);
    p.v[6] = c->token_hash;
    api_query(c, "my_sessions_end_all", 7, p.v, ended_all);
}

static void user_sessions_end(struct api_ctx *c)
{
    const char *id = res_id(c, "user not found");
    if (!id)
        return;
    session_cache_forget_user(c->app->sessions, id);
    struct end_params p;
    end_params_fill(c, &p, id);
    p.v[6] = NULL;
    api_query(c, "my_sessions_end_all", 7, p.v, ended_all);
}

static const struct api_endpoint list = {my_sessions_list, false};
static const struct api_endpoint end_one = {my_sessions_end_one, false};
static const struct api_endpoint end_others = {my_sessions_end_others, false};
static const struct api_endpoint end_user = {user_sessions_end, false};

static const struct route my_session_routes[] = {
    {HTTP_GET, "/v1/me/sessions", &list, ROLE_ANY | ROUTE_BEFORE_FACTOR},
    {HTTP_DELETE, "/v1/me/sessions", &end_others, ROLE_ANY | ROUTE_BEFORE_FACTOR},
    {HTTP_DELETE, "/v1/me/sessions/{id}", &end_one, ROLE_ANY | ROUTE_BEFORE_FACTOR},
    {HTTP_DELETE, "/v1/users/{id}/sessions", &end_user, ROLE_ADMIN},
};

ROUTE_GROUP(my_sessions_group, my_session_routes, my_sessions_prepare);
