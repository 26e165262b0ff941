/* account_tokens: password reset and email verification by link (issue 14). Owns the four
 * routes and the link sent after a caregiver registers. A token is made here, goes into one
 * email (notify_send_account_mail) and only its SHA-256 into the database; it is never logged,
 * echoed or put in a query string (the link carries it in the fragment, which browsers do not
 * send to the server). Asking for a link answers the same 202, after the same one statement,
 * whether or not the address has an account. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account_tokens.h"
#include "handlers.h"
#include "logeer/config.h"
#include "logeer/jsonv.h"
#include "logeer/log.h"
#include "logeer/notify.h"
#include "logeer/session_cache.h"
#include "logeer/workers.h"
#include "resource.h"

/* Requests for a link allowed per address asked for and per client within the window; fewer
 * than for logins, since each one may send a mail to someone who did not ask. */
#define TOKEN_WINDOW_S 900
#define TOKEN_EMAIL_REQUESTS 3
#define TOKEN_ADDRESS_REQUESTS 20

#define PURPOSE_RESET "password_reset"
#define PURPOSE_VERIFY "email_verify"

static int account_tokens_prepare(struct app *app)
{
    if (api_prepare(app, "token_issue",
                    "SELECT retry_after_s, u_id, u_email, u_role FROM "
                    "logeer_account_token_issue($1::account_token_purpose, $2, $3::uuid, "
                    "$4::inet, $5::bytea, $6::int, $7::int, $8::int, $9::int, $10::boolean, "
                    "$11::boolean)"))
        return -1;
    /* Read before the password is hashed, so a dead link costs no hash; the reset itself
     * checks again under a row lock. */
    if (api_prepare(app, "token_state",
                    "SELECT logeer_account_token_state(t) FROM (SELECT 1) one LEFT JOIN "
                    "account_tokens t ON t.token_hash = $1::bytea "
                    "AND t.purpose = 'password_reset'"))
        return -1;
    if (api_prepare(app, "token_reset",
                    "SELECT outcome, u_id, u_role FROM logeer_password_reset($1::bytea, $2)"))
        return -1;
    return api_prepare(app, "token_verify",
                       "SELECT outcome, u_email FROM logeer_email_verify($1::bytea)");
}

/* What travels through a request's callbacks. */
struct token_req {
    char token[AUTH_TOKEN_LEN];        /* the plain token: into the mail only */
    char hash[AUTH_TOKEN_HASH_LEN];    /* what the database sees */
    char password[AUTH_PASSWORD_MAX + 1];
    char password_hash[AUTH_HASH_LEN];
    int hash_rc;                       /* set by the worker */
    const char *purpose;               /* PURPOSE_RESET or PURPOSE_VERIFY */
    char *created_body;                /* registration: the 201 body to answer with */
};

static void token_req_free(void *p)
{
    struct token_req *t = p;
    explicit_bzero(t->token, sizeof t->token);
    explicit_bzero(t->password, sizeof t->password);
    explicit_bzero(t->password_hash, sizeof t->password_hash);
    free(t->created_body);
    free(t);
}

static int ttl_minutes(const struct api_ctx *c)
{
    int s = c->app->cfg->account_token_ttl_s;
    return s < 60 ? 1 : s / 60;
}

/* The link to the portal page that uses the token. The token is in the fragment: it never
 * reaches a server log, a proxy or a Referer header. */
static void account_link(const struct api_ctx *c, const char *purpose, const char *token,
                         char *out, size_t size)
{
    const char *page = strcmp(purpose, PURPOSE_RESET) == 0 ? "/nieuw-wachtwoord.html"
                                                           : "/e-mailadres-bevestigen.html";
    snprintf(out, size, "%s%s#token=%s", c->app->cfg->public_url, page, token);
}

/* Hands the mail to notify's threads; a failure is logged there or here, never answered:
 * the client's answer must not depend on whether an account exists. */
static void account_mail(struct api_ctx *c, const char *to)
{
    struct token_req *t = c->state;
    char link[1200];
    account_link(c, t->purpose, t->token, link, sizeof link);
    if (notify_send_account_mail(c->app->notify, t->purpose, to, link, ttl_minutes(c)) != 0)
        log_warn("account mail (%s) not sent: no email channel configured or out of memory",
                 t->purpose);
    explicit_bzero(link, sizeof link);
}

/* A fresh token and its hash in t; false (and answered) when the random source failed. */
static bool token_make(struct api_ctx *c, struct token_req *t)
{
    if (auth_token_new(t->token) != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not create a token");
        return false;
    }
    auth_token_hash(t->token, t->hash);
    return true;
}

/* Issues a link: p_email or p_user names the account (statement token_issue). */
static void token_issue(struct api_ctx *c, const char *email, const char *user, bool limit,
                        bool unverify, api_query_cb done)
{
    struct token_req *t = c->state;
    char addr[64], ttl[16], window[16], per_email[16], per_address[16];
    snprintf(ttl, sizeof ttl, "%d", c->app->cfg->account_token_ttl_s);
    snprintf(window, sizeof window, "%d", TOKEN_WINDOW_S);
    snprintf(per_email, sizeof per_email, "%d", TOKEN_EMAIL_REQUESTS);
    snprintf(per_address, sizeof per_address, "%d", TOKEN_ADDRESS_REQUESTS);
    const char *params[] = {t->purpose, email, user, api_peer_address(c, addr, sizeof addr),
                            t->hash, ttl, window, per_email, per_address,
                            limit ? "t" : "f", unverify ? "t" : "f"};
    api_query(c, "token_issue", 11, params, done);
}

static void reply_accepted(struct api_ctx *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "accepted");
    cJSON_AddStringToObject(o, "detail", "if the address belongs to an account that needs it, a "
                                         "link is on its way; it works once, for a limited time");
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 202, o);
}

/* The rate limit's 429, or false when the request may go on. */
static bool token_refused(struct api_ctx *c, const struct db_result *r)
{
    const char *retry = db_value(r->res, 0, 0);
    if (atoi(retry) <= 0)
        return false;
    http_reply_header(c->req, "Retry-After", retry);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "retry_after", atoi(retry));
    api_reply_problem_full(c, PROBLEM_RATE_LIMITED,
                           "too many requests for a link for this address or from this client; "
                           "try again after Retry-After seconds",
                           NULL, extra);
    return true;
}

static void link_issued(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    if (token_refused(c, r))
        return;
    /* Answer first: the mail is handed over after, so its cost never shows in the timing. */
    bool known = !db_is_null(r->res, 0, 1);
    char to[256];
    snprintf(to, sizeof to, "%s", known ? db_value(r->res, 0, 2) : "");
    if (known)
        account_mail(c, to);
    reply_accepted(c);
}

/* ---- POST /v1/password-resets ---------------------------------------------------------- */

static void password_reset_request(struct api_ctx *c)
{
    static const char *const known[] = {"email", NULL};
    struct jsonv v;
    jsonv_init(&v);
    const char *email = NULL;
    jsonv_only(&v, c->body, known);
    jsonv_string(&v, c->body, "email", true, 3, 254, &email);
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "check the highlighted fields");
        return;
    }
    struct token_req *t = res_state_new(c, sizeof *t, token_req_free);
    if (!t)
        return;
    t->purpose = PURPOSE_RESET;
    /* A token is made for every request, known address or not: the same work either way. */
    if (!token_make(c, t))
        return;
    token_issue(c, email, NULL, true, false, link_issued);
}

/* ---- POST /v1/password-resets/complete -------------------------------------------------- */

/* A token as auth_token_new makes it: 43 base64url characters. Anything else is unknown. */
static bool token_shaped(const char *s)
{
    size_t n = strlen(s);
    if (n != AUTH_TOKEN_LEN - 1)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* 422 on the token field, in words a page can turn into advice (used, expired, unknown). */
static void reply_bad_token(struct api_ctx *c, const char *state)
{
    const char *why = strcmp(state, "used") == 0      ? "this link has already been used"
                      : strcmp(state, "expired") == 0 ? "this link has expired"
                                                      : "this link is not valid";
    struct jsonv v;
    jsonv_init(&v);
    jsonv_error(&v, "token", why);
    cJSON *errors = jsonv_take_errors(&v);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "token_state", strcmp(state, "used") == 0 ? "used"
                                                  : strcmp(state, "expired") == 0 ? "expired"
                                                                                   : "unknown");
    api_reply_problem_full(c, PROBLEM_VALIDATION, why, errors, extra);
}

static const char *sign_in_page(const char *role)
{
    if (strcmp(role, "provider") == 0)
        return "/aanbieder/";
    if (strcmp(role, "coordinator") == 0 || strcmp(role, "admin") == 0)
        return "/dashboard/";
    return "/inloggen.html";
}

static void reset_done(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    const char *outcome = db_value(r->res, 0, 0);
    if (strcmp(outcome, "reset") != 0) {
        reply_bad_token(c, outcome);
        return;
    }
    const char *user = db_value(r->res, 0, 1), *role = db_value(r->res, 0, 2);
    /* This process forgets the account's sessions at once; another process's cache entry
     * lapses within seconds (session_cache.h), after which the database refuses them. */
    session_cache_forget_user(c->app->sessions, user);
    if (c->by_cookie)
        api_session_cookies_clear(c);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "reset");
    cJSON_AddStringToObject(o, "role", role);
    cJSON_AddStringToObject(o, "sign_in", sign_in_page(role));
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 200, o);
}

/* Runs on a worker thread: touches only its own request state. */
static void reset_hash_work(void *arg)
{
    struct api_ctx *c = arg;
    struct token_req *t = c->state;
    t->hash_rc = auth_password_hash(t->password, t->password_hash);
    explicit_bzero(t->password, sizeof t->password);
}

static void reset_hash_done(void *arg)
{
    struct api_ctx *c = arg;
    struct token_req *t = c->state;
    if (t->hash_rc != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not hash the password");
        return;
    }
    const char *params[] = {t->hash, t->password_hash};
    api_query(c, "token_reset", 2, params, reset_done);
}

static void reset_token_checked(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    const char *state = db_value(r->res, 0, 0);
    if (strcmp(state, "valid") != 0) {
        reply_bad_token(c, state);
        return;
    }
    workers_submit(c->app->workers, reset_hash_work, reset_hash_done, c);
}

static void password_reset_complete(struct api_ctx *c)
{
    static const char *const known[] = {"token", "password", NULL};
    struct jsonv v;
    jsonv_init(&v);
    const char *token = NULL, *password = NULL;
    jsonv_only(&v, c->body, known);
    jsonv_string(&v, c->body, "token", true, 1, 200, &token);
    /* The same rules as at registration, with the same words. */
    if (jsonv_string(&v, c->body, "password", true, 0, (size_t)-1, &password)) {
        const char *why = auth_password_policy(password);
        if (why)
            jsonv_error(&v, "password", why);
    }
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "check the highlighted fields");
        return;
    }
    if (!token_shaped(token)) {
        reply_bad_token(c, "unknown");
        return;
    }
    struct token_req *t = res_state_new(c, sizeof *t, token_req_free);
    if (!t)
        return;
    auth_token_hash(token, t->hash);
    snprintf(t->password, sizeof t->password, "%s", password);
    const char *params[] = {t->hash};
    api_query(c, "token_state", 1, params, reset_token_checked);
}

/* ---- POST /v1/email-verifications -------------------------------------------------------- */

static void verify_done(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    const char *outcome = db_value(r->res, 0, 0);
    if (strcmp(outcome, "verified") != 0) {
        reply_bad_token(c, outcome);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "verified");
    cJSON_AddStringToObject(o, "email", db_value(r->res, 0, 1));
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 200, o);
}

static void email_verify(struct api_ctx *c)
{
    static const char *const known[] = {"token", NULL};
    struct jsonv v;
    jsonv_init(&v);
    const char *token = NULL;
    jsonv_only(&v, c->body, known);
    jsonv_string(&v, c->body, "token", true, 1, 200, &token);
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "check the highlighted fields");
        return;
    }
    if (!token_shaped(token)) {
        reply_bad_token(c, "unknown");
        return;
    }
    char hash[AUTH_TOKEN_HASH_LEN];
    auth_token_hash(token, hash);
    const char *params[] = {hash};
    api_query(c, "token_verify", 1, params, verify_done);
}

/* ---- POST /v1/me/email-verification (send the link again) -------------------------------- */

static void verification_resend(struct api_ctx *c)
{
    struct token_req *t = res_state_new(c, sizeof *t, token_req_free);
    if (!t)
        return;
    t->purpose = PURPOSE_VERIFY;
    if (!token_make(c, t))
        return;
    /* Limited like a reset request: each one mails the address. An account whose address is
     * already confirmed gets no mail, and the same answer. */
    token_issue(c, NULL, c->who.user_id, true, false, link_issued);
}

/* ---- after POST /v1/caregivers ------------------------------------------------------------ */

static void registered_link_issued(struct api_ctx *c, const struct db_result *r)
{
    struct token_req *t = c->state;
    /* The account exists whatever happens to the link: answer 201 either way, and the page
     * offers "send again" when the mail does not come. */
    if (r->status == DB_OK && PQntuples(r->res) == 1 && !db_is_null(r->res, 0, 1))
        account_mail(c, db_value(r->res, 0, 2));
    else
        log_warn("no verification link for a new account: %s",
                 r->status == DB_OK ? "account not found" : r->message);
    cJSON *body = cJSON_Parse(t->created_body);
    if (!body) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    api_reply_json(c, 201, body);
}

void account_tokens_after_register(struct api_ctx *c, const char *user_id, const char *body)
{
    /* The account's own state (its password, now hashed and stored) is done with. */
    if (c->state_free && c->state)
        c->state_free(c->state);
    c->state = NULL;
    c->state_free = NULL;
    struct token_req *t = res_state_new(c, sizeof *t, token_req_free);
    if (!t)
        return;
    t->purpose = PURPOSE_VERIFY;
    t->created_body = strdup(body);
    if (!t->created_body) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    if (!token_make(c, t))
        return;
    token_issue(c, NULL, user_id, false, true, registered_link_issued);
}

static const struct api_endpoint reset_request = {password_reset_request, true};
static const struct api_endpoint reset_complete = {password_reset_complete, true};
static const struct api_endpoint verify = {email_verify, true};
static const struct api_endpoint resend = {verification_resend, false};

static const struct route account_token_routes[] = {
    /* Anonymous: whoever lost a password has no session, and a link may be opened anywhere. */
    {HTTP_POST, "/v1/password-resets", &reset_request, 0},
    {HTTP_POST, "/v1/password-resets/complete", &reset_complete, 0},
    {HTTP_POST, "/v1/email-verifications", &verify, 0},
    {HTTP_POST, "/v1/me/email-verification", &resend, ROLE_ANY},
};

ROUTE_GROUP(account_tokens_group, account_token_routes, account_tokens_prepare);
