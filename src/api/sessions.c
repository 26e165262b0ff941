/* sessions: log in (POST /v1/sessions) and log out (DELETE /v1/sessions/current). Password
 * verification runs on the worker pool; an unknown email is checked against a dummy hash so
 * that it costs as much, and answers the same, as a wrong password. Repeated failures are
 * refused per account and per address before any password is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/jsonv.h"
#include "logeer/session_cache.h"
#include "logeer/workers.h"
#include "resource.h"

static int sessions_prepare(struct app *app)
{
    /* Rate limit, attempt record and account lookup in one round trip (migration 0007). */
    if (api_prepare(app, "session_login_begin",
                    "SELECT attempt_id, retry_after_s, u_id, u_hash, u_role, u_provider, "
                    "u_municipality, u_email FROM logeer_login_begin($1, $2::inet, $3::int, "
                    "$4::int, $5::int)"))
        return -1;
    /* The attempt was recorded as a failure when it began; the session and the success are
     * written together. */
    if (api_prepare(app, "session_insert",
                    "WITH ok AS (UPDATE login_attempts SET success = true "
                    "WHERE id = $7::bigint), "
                    "logged AS (INSERT INTO access_log (user_id, role, action, request_id, "
                    "address, route, detail) VALUES ($2::uuid, $8::user_role, 'session.start', "
                    "$9, $5::inet, 'POST /v1/sessions', '{\"method\": \"password\"}')) "
                    "INSERT INTO sessions (token_hash, user_id, expires_at, idle_timeout, "
                    "address, user_agent) VALUES ($1::bytea, $2::uuid, "
                    "now() + make_interval(secs => $3::int), make_interval(secs => $4::int), "
                    "$5::inet, left($6, 512)) RETURNING to_char(expires_at AT TIME ZONE 'UTC', "
                    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), EXISTS (SELECT 1 FROM user_factors f "
                    "WHERE f.user_id = $2::uuid AND f.confirmed_at IS NOT NULL)"))
        return -1;
    /* A refused password, in the access log beside login_attempts (which limits the rate):
     * NEN 7513 wants failed sign-ins where the other access events are. $1 is NULL for an
     * email nobody has. */
    if (api_prepare(app, "session_login_failed",
                    "INSERT INTO access_log (user_id, role, action, request_id, address, route, "
                    "detail) VALUES ($1::uuid, $2::user_role, 'login.fail', $3, $4::inet, "
                    "'POST /v1/sessions', jsonb_build_object('email', $5::text))"))
        return -1;
    if (api_prepare(app, "session_revoke",
                    "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1::bytea "
                    "AND revoked_at IS NULL"))
        return -1;
    /* Idle expiry: a session unused for longer than its idle timeout is dead even before its
     * absolute expiry. last_seen_at is refreshed at most once a minute to spare writes, and
     * at least every quarter of the idle timeout, so a short timeout still sees activity. */
    return api_prepare(app, "session_lookup",
                       "WITH s AS (SELECT s.token_hash, u.id, u.role::text AS role, "
                       "coalesce(u.provider_id::text, '') AS provider_id, "
                       "coalesce(u.municipality, '') AS municipality, u.email, "
                       "extract(epoch FROM s.expires_at)::bigint AS expires_epoch, "
                       "EXISTS (SELECT 1 FROM user_factors f WHERE f.user_id = u.id "
                       "AND f.confirmed_at IS NOT NULL) AS has_factor, "
                       /* Whole seconds down, as time() counts them: a cast would round
                        * up half the time, making a step-up up to a second younger. */
                       "coalesce(floor(extract(epoch FROM s.factor_at))::bigint, 0) AS factor_at, "
                       "u.provider_admin "
                       "FROM sessions s JOIN users u ON u.id = s.user_id "
                       "WHERE s.token_hash = $1::bytea AND s.revoked_at IS NULL "
                       "AND s.expires_at > now() "
                       "AND s.last_seen_at + s.idle_timeout > now() "
                       "AND u.disabled_at IS NULL AND u.erased_at IS NULL), "
                       "touch AS (UPDATE sessions SET last_seen_at = now() "
                       "WHERE token_hash = (SELECT token_hash FROM s) "
                       "AND last_seen_at < now() - least(interval '60 seconds', "
                       "idle_timeout / 4)) "
                       "SELECT id, role, provider_id, municipality, email, expires_epoch, "
                       "has_factor, factor_at, provider_admin FROM s");
}

/* Failed logins allowed per email and per client address within the window; the next
 * attempt is answered 429 until the oldest of them leaves the window. */
#define LOGIN_WINDOW_S 900
#define LOGIN_EMAIL_FAILURES 5
#define LOGIN_ADDRESS_FAILURES 20

/* What travels through the login's callbacks. */
struct login {
    char attempt_id[24];   /* login_attempts row, turned into a success with the session */
    char email[256];
    char password[1024];
    char hash[256];        /* stored hash, or the dummy hash when the user is unknown */
    bool user_known;
    bool verified;         /* set by the worker */
    bool cookie;           /* the web pages' login: the token goes into cookies, not the body */
    struct principal who;
    char token[AUTH_TOKEN_LEN];
};

static void login_free(void *p)
{
    struct login *l = p;
    /* The plain password must not linger in freed memory. */
    explicit_bzero(l->password, sizeof l->password);
    free(l);
}

static void login_session_stored(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    struct login *l = c->state;
    cJSON *o = cJSON_CreateObject();
    if (l->cookie) {
        /* Script never sees the session token: it is only in the HttpOnly cookie. */
        api_session_cookies_set(c, l->token, c->app->cfg->session_ttl_s);
        cJSON_AddStringToObject(o, "token_type", "Cookie");
    } else {
        cJSON_AddStringToObject(o, "token", l->token);
        cJSON_AddStringToObject(o, "token_type", "Bearer");
    }
    cJSON_AddStringToObject(o, "expires_at", db_value(r->res, 0, 0));
    cJSON *u = cJSON_AddObjectToObject(o, "user");
    cJSON_AddStringToObject(u, "id", l->who.user_id);
    cJSON_AddStringToObject(u, "email", l->who.email);
    cJSON_AddStringToObject(u, "role", role_name(l->who.role));
    if (l->who.provider_id[0])
        cJSON_AddStringToObject(u, "provider_id", l->who.provider_id);
    else
        cJSON_AddNullToObject(u, "provider_id");
    if (l->who.municipality[0])
        cJSON_AddStringToObject(u, "municipality", l->who.municipality);
    l->who.has_factor = strcmp(db_value(r->res, 0, 1), "t") == 0;
    cJSON_AddStringToObject(o, "second_factor", api_second_factor_step(c->app, &l->who));
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 201, o);
}

static void login_verify_work(void *arg)
{
    struct api_ctx *c = arg;
    struct login *l = c->state;
    bool ok = auth_password_verify(l->hash, l->password);
    l->verified = ok && l->user_known;
    explicit_bzero(l->password, sizeof l->password);
}

static void login_failure_logged(struct api_ctx *c, const struct db_result *r)
{
    (void)r; /* a log row that could not be written does not change the answer */
    api_reply_problem(c, PROBLEM_BAD_CREDENTIALS, "email or password is incorrect");
}

static void login_verify_done(void *arg)
{
    struct api_ctx *c = arg;
    struct login *l = c->state;
    if (!l->verified) {
        char addr[64];
        const char *params[] = {l->user_known ? l->who.user_id : NULL,
                                l->user_known ? role_name(l->who.role) : NULL,
                                c->req->request_id, api_peer_address(c, addr, sizeof addr),
                                l->email};
        api_query(c, "session_login_failed", 5, params, login_failure_logged);
        return;
    }
    if (auth_token_new(l->token) != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not create a session token");
        return;
    }
    char hash[AUTH_TOKEN_HASH_LEN], ttl[16], idle[16], addr[64];
    auth_token_hash(l->token, hash);
    snprintf(ttl, sizeof ttl, "%d", c->app->cfg->session_ttl_s);
    snprintf(idle, sizeof idle, "%d", c->app->cfg->session_idle_s);
    const char *ua = http_request_header(c->req, "User-Agent");
    const char *params[] = {hash, l->who.user_id, ttl, idle, api_peer_address(c, addr, sizeof addr),
                            ua, l->attempt_id, role_name(l->who.role), c->req->request_id};
    api_query(c, "session_insert", 9, params, login_session_stored);
}

void session_login_refuse(struct api_ctx *c, const char *retry_after)
{
    http_reply_header(c->req, "Retry-After", retry_after);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "retry_after", atoi(retry_after));
    api_reply_problem_full(c, PROBLEM_RATE_LIMITED,
                           "too many failed logins for this account or from this address; "
                           "try again after Retry-After seconds",
                           NULL, extra);
}

static void login_started(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    struct login *l = c->state;
    if (atoi(db_value(r->res, 0, 1)) > 0) {
        session_login_refuse(c, db_value(r->res, 0, 1));
        return;
    }
    snprintf(l->attempt_id, sizeof l->attempt_id, "%s", db_value(r->res, 0, 0));
    l->user_known = !db_is_null(r->res, 0, 2);
    if (l->user_known) {
        struct principal *p = &l->who;
        snprintf(p->user_id, sizeof p->user_id, "%s", db_value(r->res, 0, 2));
        snprintf(l->hash, sizeof l->hash, "%s", db_value(r->res, 0, 3));
        p->role = role_from_name(db_value(r->res, 0, 4));
        snprintf(p->provider_id, sizeof p->provider_id, "%s", db_value(r->res, 0, 5));
        snprintf(p->municipality, sizeof p->municipality, "%s", db_value(r->res, 0, 6));
        snprintf(p->email, sizeof p->email, "%s", db_value(r->res, 0, 7));
    } else {
        snprintf(l->hash, sizeof l->hash, "%s", auth_dummy_hash());
    }
    workers_submit(c->app->workers, login_verify_work, login_verify_done, c);
}

static void sessions_create(struct api_ctx *c)
{
    static const char *const known[] = {"email", "password", "cookie", NULL};
    struct jsonv v;
    jsonv_init(&v);
    const char *email = NULL, *password = NULL;
    bool cookie = false;
    jsonv_only(&v, c->body, known);
    jsonv_string(&v, c->body, "email", true, 3, 254, &email);
    jsonv_string(&v, c->body, "password", true, 1, 1000, &password);
    jsonv_bool(&v, c->body, "cookie", false, &cookie);
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "check the highlighted fields");
        return;
    }
    struct login *l = res_state_new(c, sizeof *l, login_free);
    if (!l)
        return;
    l->cookie = cookie;
    snprintf(l->email, sizeof l->email, "%s", email);
    snprintf(l->password, sizeof l->password, "%s", password);
    session_login_begin(c, l->email, login_started);
}

void session_login_begin(struct api_ctx *c, const char *email, api_query_cb cb)
{
    char addr[64], window[16], per_email[16], per_address[16];
    snprintf(window, sizeof window, "%d", LOGIN_WINDOW_S);
    snprintf(per_email, sizeof per_email, "%d", LOGIN_EMAIL_FAILURES);
    snprintf(per_address, sizeof per_address, "%d", LOGIN_ADDRESS_FAILURES);
    const char *params[] = {email, api_peer_address(c, addr, sizeof addr), window, per_email,
                            per_address};
    api_query(c, "session_login_begin", 5, params, cb);
}

static void logout_done(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (c->by_cookie)
        api_session_cookies_clear(c);
    api_reply_empty(c, 204);
}

static void sessions_delete_current(struct api_ctx *c)
{
    /* Authentication already proved the session valid (bearer token or cookie); revoke
     * exactly that one. */
    session_cache_forget(c->app->sessions, c->token_hash);
    const char *params[] = {c->token_hash};
    api_query(c, "session_revoke", 1, params, logout_done);
}

static const struct api_endpoint create = {sessions_create, true};
static const struct api_endpoint delete_current = {sessions_delete_current, false};

static const struct route session_routes[] = {
    {HTTP_POST, "/v1/sessions", &create, 0},
    {HTTP_DELETE, "/v1/sessions/current", &delete_current, ROLE_ANY | ROUTE_BEFORE_FACTOR},
};

ROUTE_GROUP(sessions_group, session_routes, sessions_prepare);
