/* sso: single sign-on for provider staff by OpenID Connect (authorization code with PKCE).
 * GET /v1/sso/start finds the issuer for an email domain (or an issuer id), keeps state, nonce
 * and PKCE verifier for ten minutes (state and nonce hashed, the verifier sealed), binds the
 * sign-in to this browser with a cookie and sends the browser to the issuer. GET
 * /v1/sso/callback uses that record once, has the code exchanged and the ID token verified on
 * the worker pool (oidc.h), and signs in the staff member the issuer vouched for: an existing,
 * enabled account of that provider, never a new one. Every outcome goes to the access log
 * ('sso.login', 'sso.fail' with the reason), and every answer is a redirect a browser can
 * follow: to the bed board, or to the sign-in page with a reason it explains in Dutch. */
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/log.h"
#include "logeer/oidc.h"
#include "logeer/webhook.h"
#include "logeer/workers.h"
#include "resource.h"

/* The cookie that ties a sign-in to the browser that started it, so a callback carrying
 * someone else's code and state (login CSRF) is refused. Lax, not Strict: the callback is a
 * top-level navigation from the issuer's site, which Strict cookies never accompany. */
#define SSO_COOKIE "logeer_sso"
#define SSO_TTL_S 600
#define SIGN_IN_PAGE "/inloggen.html?sso="
#define CALLBACK_PATH "/v1/sso/callback"
#define SCOPES "openid%%20email%%20profile" /* a printf format fragment */

static int sso_prepare(struct app *app)
{
    /* $1 email domain or NULL, $2 issuer id or NULL. */
    if (api_prepare(app, "sso_issuer_find",
                    "SELECT r.id, r.issuer, r.client_id FROM sso_issuers r WHERE r.enabled "
                    "AND ($1::text IS NULL OR $1::text = ANY (r.email_domains)) "
                    "AND ($2::uuid IS NULL OR r.id = $2::uuid) "
                    "AND ($1::text IS NOT NULL OR $2::uuid IS NOT NULL) LIMIT 1"))
        return -1;
    /* Sign-ins abandoned at the issuer are cleared by the next one to start. */
    if (api_prepare(app, "sso_login_begin",
                    "WITH gone AS (DELETE FROM sso_logins WHERE expires_at < now()) "
                    "INSERT INTO sso_logins (state_hash, issuer_id, nonce_hash, verifier_sealed, "
                    "verifier_key_id, expires_at) VALUES ($1::bytea, $2::uuid, $3::bytea, "
                    "decode($4, 'hex'), $5, now() + make_interval(secs => $6::int))"))
        return -1;
    /* Single use: the row is gone whatever the callback then finds. */
    if (api_prepare(app, "sso_login_take",
                    "WITH l AS (DELETE FROM sso_logins WHERE state_hash = $1::bytea RETURNING *) "
                    "SELECT i.id, i.issuer, i.client_id, encode(i.secret_sealed, 'hex'), "
                    "i.secret_key_id, i.auth_method, encode(l.nonce_hash, 'hex'), "
                    "encode(l.verifier_sealed, 'hex'), l.verifier_key_id, i.provider_id, "
                    "array_to_string(i.email_domains, ','), i.idp_factor, "
                    "coalesce(i.factor_acr, ''), i.enabled, l.expires_at > now() "
                    "FROM l JOIN sso_issuers i ON i.id = l.issuer_id"))
        return -1;
    if (api_prepare(app, "sso_fail_log",
                    "INSERT INTO access_log (action, request_id, address, route, detail) "
                    "VALUES ('sso.fail', $1, $2::inet, $3, jsonb_strip_nulls(jsonb_build_object("
                    "'reason', $4::text, 'issuer_id', $5::uuid, 'email', $6::text, "
                    "'error', $7::text)))"))
        return -1;
    /* The account the issuer vouched for: same provider, not disabled or erased. The session
     * and its log row are written together, or not at all. */
    return api_prepare(app, "sso_session_create",
                       "WITH u AS (SELECT id, role FROM users WHERE lower(email) = $1 "
                       "AND provider_id = $2::uuid AND disabled_at IS NULL AND erased_at IS NULL), "
                       "s AS (INSERT INTO sessions (token_hash, user_id, expires_at, idle_timeout, "
                       "address, user_agent, amr) SELECT $3::bytea, u.id, "
                       "now() + make_interval(secs => $4::int), make_interval(secs => $5::int), "
                       "$6::inet, left($7, 512), "
                       "ARRAY(SELECT jsonb_array_elements_text($11::jsonb)) FROM u "
                       "RETURNING user_id), "
                       "l AS (INSERT INTO access_log (user_id, role, action, request_id, address, "
                       "route, detail) SELECT u.id, u.role, 'sso.login', $8, $6::inet, $9, "
                       "jsonb_build_object('issuer_id', $10::uuid, 'amr', $11::jsonb, "
                       "'factor', $12::boolean) FROM u) "
                       "SELECT u.id, u.role::text FROM u JOIN s ON s.user_id = u.id");
}

/* ---- shared pieces ---------------------------------------------------------------------------- */

/* What travels through a start's or a callback's callbacks. */
struct sso {
    struct oidc_login login;       /* the worker's part; secrets wiped at the end */
    struct oidc_endpoints ep;      /* start: from discovery */
    char state[AUTH_TOKEN_LEN];
    char nonce[AUTH_TOKEN_LEN];
    char provider_id[37];
    char domains[1400];            /* the issuer's allowed domains, comma-separated */
    char factor_acr[201];
    bool idp_factor;
    bool factor;                   /* the token asserted a factor that counts */
    char token[AUTH_TOKEN_LEN];    /* the new session's */
    char token_hash[AUTH_TOKEN_HASH_LEN];
    char idp_error[64];            /* ?error= from the issuer, for the log */
    char hint[256];                /* start: the email, passed on as login_hint */
    char iss[501];                 /* callback: ?iss= (RFC 9207), when the issuer sent one */
};

static void sso_free(void *p)
{
    struct sso *s = p;
    explicit_bzero(s, sizeof *s);
    free(s);
}

/* Letters, digits and -._~ stay; everything else is %XX (RFC 3986 unreserved). */
static void url_encode(const char *in, char *out, size_t size)
{
    size_t j = 0;
    for (; *in && j + 4 < size; in++) {
        unsigned char ch = (unsigned char)*in;
        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~')
            out[j++] = (char)ch;
        else
            j += (size_t)snprintf(out + j, size - j, "%%%02X", ch);
    }
    out[j] = '\0';
}

/* The address the issuer sends the browser back to; it must be registered there exactly. */
static void redirect_uri(struct api_ctx *c, char *out, size_t size)
{
    const struct config *cfg = c->app->cfg;
    if (cfg->public_url && *cfg->public_url) {
        size_t n = strlen(cfg->public_url);
        snprintf(out, size, "%.*s" CALLBACK_PATH,
                 (int)(cfg->public_url[n - 1] == '/' ? n - 1 : n), cfg->public_url);
        return;
    }
    const char *host = http_request_header(c->req, "Host");
    snprintf(out, size, "%s://%s" CALLBACK_PATH, cfg->tls_cert ? "https" : "http",
             host ? host : "localhost");
}

static void sso_cookie(struct api_ctx *c, const char *value, int max_age_s)
{
    char line[200];
    snprintf(line, sizeof line,
             SSO_COOKIE "=%s; Max-Age=%d; Path=/v1/sso/; HttpOnly; SameSite=Lax%s", value,
             max_age_s, config_https(c->app->cfg) ? "; Secure" : "");
    http_reply_header(c->req, "Set-Cookie", line);
}

static void redirect(struct api_ctx *c, const char *to)
{
    http_reply_header(c->req, "Location", to);
    http_reply_header(c->req, "Cache-Control", "no-store");
    /* The callback's address carries the code: no page after it may see it as a referrer. */
    http_reply_header(c->req, "Referrer-Policy", "no-referrer");
    api_reply_empty(c, 302);
}

/* Logs the refusal and sends the browser to the sign-in page, which explains reason. */
static void refuse(struct api_ctx *c, const char *reason, const char *issuer_id,
                   const char *email, const char *error)
{
    char addr[64], route[160], to[96];
    snprintf(route, sizeof route, "GET %s", c->route->pattern);
    const char *params[] = {c->req->request_id, api_peer_address(c, addr, sizeof addr), route,
                            reason, issuer_id && *issuer_id ? issuer_id : NULL,
                            email && *email ? email : NULL, error && *error ? error : NULL};
    db_query(c->app->db, "sso_fail_log", 7, params, NULL, NULL);
    log_info("single sign-on refused: %s%s%s", reason, error && *error ? ": " : "",
             error ? error : "");
    sso_cookie(c, "", 0);
    snprintf(to, sizeof to, SIGN_IN_PAGE "%s", reason);
    redirect(c, to);
}

/* ---- start ------------------------------------------------------------------------------------ */

static void start_stored(struct api_ctx *c, const struct db_result *r)
{
    struct sso *s = c->state;
    if (r->status != DB_OK) {
        refuse(c, "unavailable", s->login.issuer_id, NULL, r->message);
        return;
    }
    char verifier_challenge[44], uri[OIDC_URL_MAX], e_uri[3 * OIDC_URL_MAX], e_client[800];
    char e_hint[800];
    oidc_pkce_challenge(s->login.verifier, verifier_challenge);
    redirect_uri(c, uri, sizeof uri);
    url_encode(uri, e_uri, sizeof e_uri);
    url_encode(s->login.client_id, e_client, sizeof e_client);
    url_encode(s->hint, e_hint, sizeof e_hint);
    size_t size = strlen(s->ep.authorization) + strlen(e_uri) + strlen(e_client) +
                  strlen(e_hint) + 400;
    char *to = malloc(size);
    if (!to) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    snprintf(to, size,
             "%s%cresponse_type=code&client_id=%s&redirect_uri=%s&scope=" SCOPES
             "&state=%s&nonce=%s&code_challenge=%s&code_challenge_method=S256%s%s",
             s->ep.authorization, strchr(s->ep.authorization, '?') ? '&' : '?', e_client, e_uri,
             s->state, s->nonce, verifier_challenge, e_hint[0] ? "&login_hint=" : "", e_hint);
    sso_cookie(c, s->state, SSO_TTL_S);
    redirect(c, to);
    free(to);
}

static void start_discover_work(void *arg)
{
    struct api_ctx *c = arg;
    struct sso *s = c->state;
    if (oidc_discover(s->login.issuer_id, s->login.issuer, &s->ep, s->login.error,
                      sizeof s->login.error) != 0)
        s->login.failure = OIDC_FAIL_DISCOVERY;
}

static void start_discover_done(void *arg)
{
    struct api_ctx *c = arg;
    struct sso *s = c->state;
    if (s->login.failure != OIDC_OK) {
        refuse(c, oidc_failure_name(s->login.failure), s->login.issuer_id, NULL, s->login.error);
        return;
    }
    char state_hash[AUTH_TOKEN_HASH_LEN], nonce_hash[AUTH_TOKEN_HASH_LEN], ttl[16];
    char sealed[WEBHOOK_SEALED_HEX_MAX];
    if (auth_token_new(s->state) != 0 || auth_token_new(s->nonce) != 0 ||
        auth_token_new(s->login.verifier) != 0 ||
        webhook_secret_seal(s->login.verifier, sealed) != 0) {
        refuse(c, "unavailable", s->login.issuer_id, NULL, "could not make or seal a secret");
        return;
    }
    auth_token_hash(s->state, state_hash);
    auth_token_hash(s->nonce, nonce_hash);
    snprintf(ttl, sizeof ttl, "%d", SSO_TTL_S);
    const char *params[] = {state_hash, s->login.issuer_id, nonce_hash, sealed,
                            webhook_key_id(), ttl};
    api_query(c, "sso_login_begin", 6, params, start_stored);
}

static void start_found(struct api_ctx *c, const struct db_result *r)
{
    struct sso *s = c->state;
    if (r->status != DB_OK) {
        refuse(c, "unavailable", NULL, NULL, r->message);
        return;
    }
    if (PQntuples(r->res) != 1) {
        refuse(c, "no_issuer", NULL, NULL, NULL);
        return;
    }
    snprintf(s->login.issuer_id, sizeof s->login.issuer_id, "%s", db_value(r->res, 0, 0));
    snprintf(s->login.issuer, sizeof s->login.issuer, "%s", db_value(r->res, 0, 1));
    snprintf(s->login.client_id, sizeof s->login.client_id, "%s", db_value(r->res, 0, 2));
    /* Discovery may need the network; the loop never waits for it. */
    workers_submit(c->app->workers, start_discover_work, start_discover_done, c);
}

static void sso_start(struct api_ctx *c)
{
    /* Anyone may start a sign-in, and each start stores a row until it lapses: counted
     * against the visitors' limit per address, like the other routes open without an
     * account. */
    if (!api_visitor_allowed(c))
        return;
    struct res_args a;
    res_args_init(&a);
    const char *email = res_arg(c, &a, "email", 255);
    const char *issuer = res_arg_id(c, &a, "issuer", "must be an issuer id");
    const char *at = email ? strrchr(email, '@') : NULL;
    if (email && (!at || at == email || !at[1]))
        jsonv_error(&a.v, "email", "must be an email address");
    if (!email && !issuer && !a.malformed)
        jsonv_error(&a.v, "email", "give the email address (or ?issuer=)");
    if (!res_args_ok(c, &a, "say who signs in: ?email= or ?issuer="))
        return;
    char domain[256] = "";
    if (at) {
        size_t i = 0;
        for (const char *p = at + 1; *p && i < sizeof domain - 1; p++)
            domain[i++] = (char)tolower((unsigned char)*p);
        domain[i] = '\0';
    }
    if (!webhook_key_present()) {
        refuse(c, "unavailable", NULL, NULL, "LOGEER_WEBHOOK_KEY is not set");
        return;
    }
    struct sso *s = res_state_new(c, sizeof *s, sso_free);
    if (!s)
        return;
    /* The issuer's own sign-in page then asks only for the password. */
    if (email)
        snprintf(s->hint, sizeof s->hint, "%s", email);
    const char *params[] = {at ? domain : NULL, issuer};
    api_query(c, "sso_issuer_find", 2, params, start_found);
}

/* ---- callback ---------------------------------------------------------------------------------- */

/* amr values (RFC 8176) that mean more than a password was used. */
static bool amr_factor(const struct oidc_login *l)
{
    static const char *const strong[] = {"mfa", "otp", "hwk", "swk", "sc", NULL};
    for (int i = 0; i < l->namr; i++)
        for (int j = 0; strong[j]; j++)
            if (strcmp(l->amr[i], strong[j]) == 0)
                return true;
    return false;
}

static bool domain_allowed(const char *email, const char *domains)
{
    const char *at = strrchr(email, '@');
    if (!at)
        return false;
    size_t n = strlen(at + 1);
    for (const char *p = domains; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, at + 1, n) == 0)
            return true;
        p += len + (end ? 1 : 0);
    }
    return false;
}

/* The session exists (and, when the issuer's factor counts, has proven it): hand it to the
 * browser and open the bed board. */
static void session_ready(struct api_ctx *c, const struct db_result *r)
{
    struct sso *s = c->state;
    if (r->status != DB_OK) {
        refuse(c, "unavailable", s->login.issuer_id, s->login.email, r->message);
        return;
    }
    api_session_cookies_set(c, s->token, c->app->cfg->session_ttl_s);
    sso_cookie(c, "", 0);
    redirect(c, "/aanbieder/");
}

static void signed_in(struct api_ctx *c, const struct db_result *r)
{
    struct sso *s = c->state;
    if (r->status != DB_OK) {
        refuse(c, "unavailable", s->login.issuer_id, s->login.email, r->message);
        return;
    }
    if (PQntuples(r->res) != 1) {
        /* A stranger from an allowed domain, or a disabled account: no account is made. */
        refuse(c, "no_account", s->login.issuer_id, s->login.email, NULL);
        return;
    }
    if (!s->factor) {
        session_ready(c, r);
        return;
    }
    /* The issuer vouched for a second factor and this issuer's setting lets that count: the
     * new session has proven its factor, as if by TOTP or a passkey here. */
    snprintf(c->token_hash, sizeof c->token_hash, "%s", s->token_hash);
    snprintf(c->who.user_id, sizeof c->who.user_id, "%s", db_value(r->res, 0, 0));
    c->who.role = role_from_name(db_value(r->res, 0, 1));
    api_session_factor_proven(c, "mfa", session_ready);
}

static void callback_work(void *arg)
{
    struct api_ctx *c = arg;
    struct sso *s = c->state;
    oidc_login_finish(&s->login);
}

static void callback_verified(void *arg)
{
    struct api_ctx *c = arg;
    struct sso *s = c->state;
    struct oidc_login *l = &s->login;
    explicit_bzero(l->client_secret, sizeof l->client_secret);
    if (l->failure != OIDC_OK) {
        refuse(c, oidc_failure_name(l->failure), l->issuer_id, NULL, l->error);
        return;
    }
    if (!domain_allowed(l->email, s->domains)) {
        refuse(c, "domain", l->issuer_id, l->email, NULL);
        return;
    }
    s->factor = s->idp_factor &&
                (amr_factor(l) || (s->factor_acr[0] && strcmp(l->acr, s->factor_acr) == 0));
    cJSON *amr = cJSON_CreateArray();
    for (int i = 0; i < l->namr; i++)
        cJSON_AddItemToArray(amr, cJSON_CreateString(l->amr[i]));
    char *amr_text = cJSON_PrintUnformatted(amr);
    cJSON_Delete(amr);
    char hash[AUTH_TOKEN_HASH_LEN], ttl[16], idle[16], addr[64], route[160];
    if (!amr_text || auth_token_new(s->token) != 0) {
        cJSON_free(amr_text);
        refuse(c, "unavailable", l->issuer_id, l->email, "could not make a session token");
        return;
    }
    auth_token_hash(s->token, hash);
    snprintf(s->token_hash, sizeof s->token_hash, "%s", hash);
    snprintf(ttl, sizeof ttl, "%d", c->app->cfg->session_ttl_s);
    snprintf(idle, sizeof idle, "%d", c->app->cfg->session_idle_s);
    snprintf(route, sizeof route, "GET %s", c->route->pattern);
    const char *params[] = {l->email, s->provider_id, hash, ttl, idle,
                            api_peer_address(c, addr, sizeof addr),
                            http_request_header(c->req, "User-Agent"), c->req->request_id, route,
                            l->issuer_id, amr_text, s->factor ? "true" : "false"};
    api_query(c, "sso_session_create", 12, params, signed_in);
    cJSON_free(amr_text);
}

static bool hex_to_bytes(const char *hex, unsigned char *out, size_t n)
{
    if (strlen(hex) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (unsigned char)v;
    }
    return true;
}

static void callback_taken(struct api_ctx *c, const struct db_result *r)
{
    struct sso *s = c->state;
    struct oidc_login *l = &s->login;
    if (r->status != DB_OK) {
        refuse(c, "unavailable", NULL, NULL, r->message);
        return;
    }
    /* Unknown, used before, or older than ten minutes: the same answer. */
    if (PQntuples(r->res) != 1 || strcmp(db_value(r->res, 0, 14), "t") != 0) {
        refuse(c, "state", NULL, NULL, "no sign-in under way for this state");
        return;
    }
    snprintf(l->issuer_id, sizeof l->issuer_id, "%s", db_value(r->res, 0, 0));
    if (strcmp(db_value(r->res, 0, 13), "t") != 0) {
        refuse(c, "disabled", l->issuer_id, NULL, NULL);
        return;
    }
    if (s->idp_error[0]) {
        refuse(c, "idp_error", l->issuer_id, NULL, s->idp_error);
        return;
    }
    snprintf(l->issuer, sizeof l->issuer, "%s", db_value(r->res, 0, 1));
    /* RFC 9207: an issuer that names itself in the answer must be the one this sign-in went
     * to, or the code may come from another issuer (a mix-up attack). */
    if (s->iss[0] && strcmp(s->iss, l->issuer) != 0) {
        refuse(c, "issuer", l->issuer_id, NULL, "the answer's iss parameter names another issuer");
        return;
    }
    snprintf(l->client_id, sizeof l->client_id, "%s", db_value(r->res, 0, 2));
    l->secret_post = strcmp(db_value(r->res, 0, 5), "client_secret_post") == 0;
    snprintf(s->provider_id, sizeof s->provider_id, "%s", db_value(r->res, 0, 9));
    snprintf(s->domains, sizeof s->domains, "%s", db_value(r->res, 0, 10));
    s->idp_factor = strcmp(db_value(r->res, 0, 11), "t") == 0;
    snprintf(s->factor_acr, sizeof s->factor_acr, "%s", db_value(r->res, 0, 12));
    if (webhook_secret_open(db_value(r->res, 0, 3), db_value(r->res, 0, 4), l->client_secret) !=
            0 ||
        webhook_secret_open(db_value(r->res, 0, 7), db_value(r->res, 0, 8), l->verifier) != 0 ||
        !hex_to_bytes(db_value(r->res, 0, 6), l->nonce_sha256, sizeof l->nonce_sha256)) {
        refuse(c, "unavailable", l->issuer_id, NULL,
               "the client secret or verifier cannot be opened with this LOGEER_WEBHOOK_KEY");
        return;
    }
    redirect_uri(c, l->redirect_uri, sizeof l->redirect_uri);
    workers_submit(c->app->workers, callback_work, callback_verified, c);
}

static void sso_callback(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *state = res_arg(c, &a, "state", AUTH_TOKEN_LEN);
    const char *code = res_arg(c, &a, "code", 1024);
    const char *error = res_arg(c, &a, "error", 64);
    const char *iss = res_arg(c, &a, "iss", 501);
    bool malformed = a.malformed;
    jsonv_free(&a.v);
    struct sso *s = res_state_new(c, sizeof *s, sso_free);
    if (!s)
        return;
    char cookie[AUTH_TOKEN_LEN];
    /* The state must come back in the browser that was sent away with it. */
    if (malformed || !state ||
        !auth_cookie_token(http_request_header(c->req, "Cookie"), SSO_COOKIE, cookie) ||
        strlen(cookie) != strlen(state) || CRYPTO_memcmp(cookie, state, strlen(state)) != 0) {
        refuse(c, "state", NULL, NULL,
               malformed || !state ? "no state" : "the state is not this browser's");
        return;
    }
    if (iss)
        snprintf(s->iss, sizeof s->iss, "%s", iss);
    if (error)
        snprintf(s->idp_error, sizeof s->idp_error, "%s", error);
    else if (!code)
        snprintf(s->idp_error, sizeof s->idp_error, "no code");
    else
        snprintf(s->login.code, sizeof s->login.code, "%s", code);
    char state_hash[AUTH_TOKEN_HASH_LEN];
    auth_token_hash(state, state_hash);
    const char *params[] = {state_hash};
    api_query(c, "sso_login_take", 1, params, callback_taken);
}

static const struct api_endpoint start = {sso_start, false};
static const struct api_endpoint callback = {sso_callback, false};

/* No credentials: whoever is signing in has none yet. */
static const struct route sso_routes[] = {
    {HTTP_GET, "/v1/sso/start", &start, 0},
    {HTTP_GET, "/v1/sso/callback", &callback, 0},
};

ROUTE_GROUP(sso_group, sso_routes, sso_prepare);
