/* totp_factors: TOTP as a second factor and the recovery codes that stand in for it.
 * POST /v1/me/factors/totp starts an enrolment (secret, otpauth URI and QR code, shown once),
 * POST /v1/me/factors/totp/{id}/confirm finishes it with a first code and shows ten recovery
 * codes once; GET /v1/me/factors lists a person's factors, DELETE /v1/me/factors/{id} removes
 * one, POST /v1/me/recovery-codes makes a new set. The sign-in's second step (and a step-up
 * later) is POST /v1/sessions/current/totp or .../recovery-code. Secrets are sealed under the
 * server key (notify/webhook.c) and never leave this file after enrolment; codes are checked
 * by auth/totp.c; failed codes count against the account like failed passwords. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/digest.h"
#include "logeer/log.h"
#include "logeer/session_cache.h"
#include "logeer/totp.h"
#include "logeer/webhook.h"
#include "resource.h"

#define ISSUER "Logeerzorg"
#define FACTOR_MISSING "factor not found"
#define ENROLMENT_MISSING "no unfinished TOTP enrolment with this id"

/* Failed codes allowed per account within the window, as for passwords (sessions.c). */
#define CODE_WINDOW_S "900"
#define CODE_FAILURES "5"

/* Seconds until the account may try another code: 0 while fewer than CODE_FAILURES failed
 * within the window, else until the oldest of the last CODE_FAILURES leaves it. $1 user. */
#define RETRY_AFTER_SQL                                                                      \
    "(SELECT CASE WHEN count(*) >= " CODE_FAILURES " THEN greatest(1, ceil(extract(epoch FROM " \
    "min(x.at) + interval '" CODE_WINDOW_S " seconds' - now())))::int ELSE 0 END "            \
    "FROM (SELECT l.at FROM access_log l WHERE l.user_id = $1::uuid "                        \
    "AND l.action = 'factor.fail' AND l.at > now() - interval '" CODE_WINDOW_S " seconds' "  \
    "ORDER BY l.at DESC LIMIT " CODE_FAILURES ") AS x)"

/* One access-log row by the caller: $1 user, then $R role, $R+1 request id, $R+2 address,
 * $R+3 route. */
#define LOG_ROW(action, r0, r1, r2, r3)                                                      \
    "INSERT INTO access_log (user_id, role, action, request_id, address, route) "            \
    "SELECT $1::uuid, $" r0 "::user_role, '" action "', $" r1 ", $" r2 "::inet, $" r3

static int totp_prepare(struct app *app)
{
    /* A new enrolment replaces an unfinished one, so abandoned secrets do not pile up. */
    if (api_prepare(app, "totp_enrol",
                    "WITH gone AS (DELETE FROM user_factors f WHERE f.user_id = $1::uuid "
                    "AND f.kind = 'totp' AND f.confirmed_at IS NULL), "
                    "f AS (INSERT INTO user_factors (user_id, kind, label) "
                    "VALUES ($1::uuid, 'totp', $2) RETURNING id, created_at), "
                    "t AS (INSERT INTO totp_factors (factor_id, secret_sealed, secret_key_id) "
                    "SELECT f.id, decode($3, 'hex'), $4 FROM f), "
                    "l AS (" LOG_ROW("factor.enrol", "5", "6", "7", "8") ") "
                    "SELECT f.id, " RES_TS("f.created_at") " FROM f"))
        return -1;
    /* The factors a code is checked against: the unfinished enrolment $2, or with $2 NULL
     * every confirmed TOTP factor; one row with NULLs when there is none. */
    if (api_prepare(app, "totp_candidates",
                    "SELECT " RETRY_AFTER_SQL ", f.id, encode(t.secret_sealed, 'hex'), "
                    "t.secret_key_id, t.last_step FROM (SELECT 1) AS one "
                    "LEFT JOIN (user_factors f JOIN totp_factors t ON t.factor_id = f.id) "
                    "ON f.user_id = $1::uuid AND f.kind = 'totp' AND CASE WHEN $2::uuid IS NULL "
                    "THEN f.confirmed_at IS NOT NULL ELSE f.id = $2::uuid "
                    "AND f.confirmed_at IS NULL END ORDER BY f.created_at"))
        return -1;
    /* The step moves only forward, so of two requests with the same code one wins. $3: a
     * confirmation's recovery code digests (hex, comma-separated), which replace the old
     * set; NULL for a sign-in. */
    if (api_prepare(app, "totp_accept",
                    "WITH t AS (UPDATE totp_factors SET last_step = $2::bigint "
                    "WHERE factor_id = $1::uuid AND last_step < $2::bigint RETURNING factor_id), "
                    "f AS (UPDATE user_factors f SET last_used_at = now(), "
                    "confirmed_at = coalesce(f.confirmed_at, now()) FROM t "
                    "WHERE f.id = t.factor_id RETURNING f.id, f.user_id, f.kind, f.label, "
                    "f.created_at), "
                    "d AS (DELETE FROM recovery_codes r USING f WHERE $3::text IS NOT NULL "
                    "AND r.user_id = f.user_id), "
                    "i AS (INSERT INTO recovery_codes (user_id, code_hash) "
                    "SELECT f.user_id, decode(h, 'hex') FROM f, "
                    "unnest(string_to_array($3::text, ',')) AS h) "
                    "SELECT json_build_object('id', f.id, 'kind', f.kind, 'label', f.label, "
                    "'created_at', " RES_TS("f.created_at") ", 'last_used_at', "
                    RES_TS("now()") ")::text FROM f"))
        return -1;
    /* $6: which kind of code failed ("totp" or "recovery"), for whoever reads the log. */
    if (api_prepare(app, "totp_fail",
                    "INSERT INTO access_log (user_id, role, action, request_id, address, route, "
                    "detail) VALUES ($1::uuid, $2::user_role, 'factor.fail', $3, $4::inet, $5, "
                    "jsonb_build_object('method', $6::text))"))
        return -1;
    /* A recovery code counts only while its owner has a confirmed factor: after a reset by
     * the admin, left-over codes prove nothing. */
    if (api_prepare(app, "recovery_use",
                    "WITH lim AS (SELECT " RETRY_AFTER_SQL " AS wait), "
                    "u AS (UPDATE recovery_codes r SET used_at = now() FROM lim "
                    "WHERE lim.wait = 0 AND r.user_id = $1::uuid "
                    "AND r.code_hash = decode($2, 'hex') AND r.used_at IS NULL "
                    "AND EXISTS (SELECT 1 FROM user_factors f WHERE f.user_id = $1::uuid "
                    "AND f.confirmed_at IS NOT NULL) RETURNING r.user_id) "
                    "SELECT lim.wait, (SELECT count(*) FROM u), "
                    "(SELECT count(*) FROM recovery_codes r WHERE r.user_id = $1::uuid "
                    "AND r.used_at IS NULL) - (SELECT count(*) FROM u) FROM lim"))
        return -1;
    if (api_prepare(app, "factors_list",
                    "SELECT json_build_object('factors', coalesce(json_agg(json_build_object("
                    "'id', f.id, 'kind', f.kind, 'label', f.label, "
                    "'created_at', " RES_TS("f.created_at") ", "
                    "'last_used_at', " RES_TS("f.last_used_at") ") "
                    "ORDER BY f.created_at, f.id), '[]'::json), "
                    "'recovery_codes_left', (SELECT count(*) FROM recovery_codes r "
                    "WHERE r.user_id = $1::uuid AND r.used_at IS NULL))::text "
                    "FROM user_factors f WHERE f.user_id = $1::uuid AND f.confirmed_at IS NOT NULL"))
        return -1;
    /* Removing a factor ends the person's other sessions (someone who had it may be signed
     * in elsewhere); the last factor takes the recovery codes with it (a trigger of migration
     * 0033 sees to that for every way a factor goes). $6 keeps the caller's own session. */
    if (api_prepare(app, "factor_remove",
                    "WITH d AS (DELETE FROM user_factors f WHERE f.user_id = $1::uuid "
                    "AND f.id = $7::uuid RETURNING f.id), "
                    "s AS (UPDATE sessions s SET revoked_at = now() WHERE EXISTS (SELECT 1 FROM d) "
                    "AND s.user_id = $1::uuid AND s.revoked_at IS NULL "
                    "AND s.token_hash <> $6::bytea RETURNING s.id), "
                    "l AS (" LOG_ROW("factor.remove", "2", "3", "4", "5") " FROM d), "
                    "ls AS (" LOG_ROW("session.end", "2", "3", "4", "5") " FROM s) "
                    "SELECT count(*) FROM d"))
        return -1;
    return api_prepare(app, "recovery_renew",
                       "WITH ok AS (SELECT 1 FROM user_factors f WHERE f.user_id = $1::uuid "
                       "AND f.confirmed_at IS NOT NULL LIMIT 1), "
                       "d AS (DELETE FROM recovery_codes r WHERE r.user_id = $1::uuid "
                       "AND EXISTS (SELECT 1 FROM ok)), "
                       "i AS (INSERT INTO recovery_codes (user_id, code_hash) "
                       "SELECT $1::uuid, decode(h, 'hex') FROM unnest(string_to_array($6, ',')) "
                       "AS h WHERE EXISTS (SELECT 1 FROM ok) RETURNING 1), "
                       "l AS (" LOG_ROW("recovery.renew", "2", "3", "4", "5")
                       " WHERE EXISTS (SELECT 1 FROM ok)) "
                       "SELECT count(*) FROM i");
}

/* The caller's role, request id, address and route: the access log's columns. */
struct log_params {
    char addr[64], route[160];
    const char *role, *request_id, *address;
};

static void log_params_fill(struct api_ctx *c, struct log_params *p)
{
    snprintf(p->route, sizeof p->route, "%s %s", http_method_name(c->req->method),
             c->route->pattern);
    p->role = role_name(c->who.role);
    p->request_id = c->req->request_id;
    p->address = api_peer_address(c, p->addr, sizeof p->addr);
}

/* Without LOGEER_WEBHOOK_KEY no secret can be kept safe at rest, so none is made or opened. */
static bool key_present(struct api_ctx *c)
{
    if (webhook_key_present())
        return true;
    api_reply_problem(c, PROBLEM_UNAVAILABLE,
                      "TOTP is off on this server: the operator has not set LOGEER_WEBHOOK_KEY, "
                      "which keeps TOTP secrets safe at rest");
    return false;
}

/* ---- recovery codes ---------------------------------------------------------------------- */

/* A new set: the codes to show once, and their digests for the database. */
struct recovery_set {
    char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_LEN];
    char digests[TOTP_RECOVERY_COUNT * (DIGEST_HEX_LEN + 1)];
};

static int recovery_set_new(struct recovery_set *rs)
{
    size_t o = 0;
    for (int i = 0; i < TOTP_RECOVERY_COUNT; i++) {
        if (totp_recovery_new(rs->codes[i]) != 0)
            return -1;
        char hex[DIGEST_HEX_LEN];
        digest_sha256_hex(rs->codes[i], strlen(rs->codes[i]), hex);
        o += (size_t)snprintf(rs->digests + o, sizeof rs->digests - o, "%s%s", i ? "," : "", hex);
    }
    return 0;
}

static cJSON *recovery_set_json(const struct recovery_set *rs)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < TOTP_RECOVERY_COUNT; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(rs->codes[i]));
    return a;
}

static void recovery_set_wipe(struct recovery_set *rs) { explicit_bzero(rs, sizeof *rs); }

/* ---- enrolment --------------------------------------------------------------------------- */

struct enrol {
    char secret[TOTP_SECRET_B32_LEN];
};

static void enrol_free(void *p)
{
    explicit_bzero(p, sizeof(struct enrol));
    free(p);
}

static void enrolled(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, "user not found"))
        return;
    struct enrol *e = c->state;
    char uri[TOTP_URI_MAX];
    if (totp_uri(ISSUER, c->who.email, e->secret, uri, sizeof uri) != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not make the otpauth URI");
        return;
    }
    char *svg = totp_qr_svg(uri);
    if (!svg) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not make the QR code");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", db_value(r->res, 0, 0));
    cJSON_AddStringToObject(o, "kind", "totp");
    cJSON_AddStringToObject(o, "created_at", db_value(r->res, 0, 1));
    cJSON_AddStringToObject(o, "secret", e->secret);
    cJSON_AddStringToObject(o, "otpauth_uri", uri);
    cJSON_AddStringToObject(o, "qr_svg", svg);
    free(svg);
    char where[96];
    snprintf(where, sizeof where, "/v1/me/factors/%s", db_value(r->res, 0, 0));
    http_reply_header(c->req, "Location", where);
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 201, o);
}

/* Someone who already has a factor adds another only with a fresh proof of it: the
 * password alone must never let a stranger add their own phone. */
static bool may_add_factor(struct api_ctx *c)
{
    if (!c->who.has_factor)
        return true;
    long long now = (long long)time(NULL);
    if (c->who.factor_at > 0 && now - c->who.factor_at <= c->app->cfg->step_up_s)
        return true;
    cJSON *extra = cJSON_CreateObject();
    if (c->who.factor_at == 0) {
        cJSON_AddBoolToObject(extra, "enrolled", true);
        api_reply_problem_full(c, PROBLEM_SECOND_FACTOR,
                               "prove the second factor you have before adding another", NULL,
                               extra);
    } else {
        cJSON_AddNumberToObject(extra, "max_age", c->app->cfg->step_up_s);
        api_reply_problem_full(c, PROBLEM_STEP_UP,
                               "confirm with your second factor again before adding another",
                               NULL, extra);
    }
    return false;
}

static void totp_enrol(struct api_ctx *c)
{
    static const char *const known[] = {"label", NULL};
    struct jsonv v;
    jsonv_init(&v);
    const char *label = NULL;
    if (c->body) {
        jsonv_only(&v, c->body, known);
        res_text(&v, c->body, "label", false, 100, &label);
    }
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "check the highlighted fields");
        return;
    }
    jsonv_free(&v);
    if (!may_add_factor(c) || !key_present(c))
        return;
    struct enrol *e = res_state_new(c, sizeof *e, enrol_free);
    if (!e)
        return;
    char sealed[WEBHOOK_SEALED_HEX_MAX];
    if (totp_secret_new(e->secret) != 0 || webhook_secret_seal(e->secret, sealed) != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not make a secret");
        return;
    }
    struct log_params lp;
    log_params_fill(c, &lp);
    const char *params[] = {c->who.user_id, label ? label : "Authenticator-app", sealed,
                            webhook_key_id(), lp.role, lp.request_id, lp.address, lp.route};
    api_query(c, "totp_enrol", 8, params, enrolled);
}

/* ---- checking a code --------------------------------------------------------------------- */

enum verify_purpose {
    VERIFY_CONFIRM, /* the first code of an enrolment */
    VERIFY_SIGN_IN, /* the second step of a sign-in, or a step-up */
};

/* What travels through a code check's callbacks. */
struct verify {
    enum verify_purpose purpose;
    char code[TOTP_DIGITS + 1];        /* normalised */
    char factor_id[37];                /* with VERIFY_CONFIRM: the enrolment */
    bool replayed;                     /* the code matched only a step already used */
    char accepted_json[512];           /* the factor as totp_accept shaped it */
    struct recovery_set recovery;      /* with VERIFY_CONFIRM: the new set */
    bool recovery_code;                /* a recovery code, not a code from the app */
    long long recovery_left;           /* after a recovery code: how many remain */
};

static void verify_free(void *p)
{
    struct verify *v = p;
    recovery_set_wipe(&v->recovery);
    explicit_bzero(v->code, sizeof v->code);
    free(v);
}

static void refuse_rate_limited(struct api_ctx *c, const char *retry_after)
{
    http_reply_header(c->req, "Retry-After", retry_after);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "retry_after", atoi(retry_after));
    api_reply_problem_full(c, PROBLEM_RATE_LIMITED,
                           "too many wrong codes for this account; try again after "
                           "Retry-After seconds",
                           NULL, extra);
}

static void failure_logged(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    struct verify *v = c->state;
    res_reply_field(c, "code",
                    v->replayed ? "was already used; wait for the next code"
                                : "is wrong or has expired",
                    "the code was not accepted");
}

/* Every refused code is written down before the answer: the next attempt counts it. */
static void refuse_code(struct api_ctx *c)
{
    struct verify *v = c->state;
    struct log_params lp;
    log_params_fill(c, &lp);
    const char *params[] = {c->who.user_id, lp.role, lp.request_id, lp.address, lp.route,
                            v->recovery_code ? "recovery" : "totp"};
    api_query(c, "totp_fail", 6, params, failure_logged);
}

static void proven(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, "session not found"))
        return;
    struct verify *v = c->state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "factor_at", db_value(r->res, 0, 0));
    if (v->accepted_json[0])
        cJSON_AddItemToObject(o, "factor", cJSON_Parse(v->accepted_json));
    if (v->purpose == VERIFY_CONFIRM)
        cJSON_AddItemToObject(o, "recovery_codes", recovery_set_json(&v->recovery));
    if (v->recovery_left >= 0)
        cJSON_AddNumberToObject(o, "recovery_codes_left", (double)v->recovery_left);
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 200, o);
}

static void accepted(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    struct verify *v = c->state;
    if (PQntuples(r->res) != 1) {
        /* Another request took this step first: the code is spent. */
        v->replayed = true;
        refuse_code(c);
        return;
    }
    snprintf(v->accepted_json, sizeof v->accepted_json, "%s", db_value(r->res, 0, 0));
    /* "otp" (RFC 8176): the person proved a one-time password. */
    api_session_factor_proven(c, "otp", proven);
}

static void candidates_read(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) < 1) {
        api_reply_db_error(c, r);
        return;
    }
    struct verify *v = c->state;
    if (atoi(db_value(r->res, 0, 0)) > 0) {
        refuse_rate_limited(c, db_value(r->res, 0, 0));
        return;
    }
    if (db_is_null(r->res, 0, 1)) {
        if (v->purpose == VERIFY_CONFIRM)
            api_reply_problem(c, PROBLEM_NOT_FOUND, ENROLMENT_MISSING);
        else
            api_reply_problem(c, PROBLEM_CONFLICT,
                              "this account has no TOTP factor; set one up with "
                              "POST /v1/me/factors/totp");
        return;
    }
    long long now = (long long)time(NULL);
    for (int i = 0; i < PQntuples(r->res); i++) {
        char secret[WEBHOOK_SECRET_LEN];
        if (webhook_secret_open(db_value(r->res, i, 2), db_value(r->res, i, 3), secret) != 0) {
            log_error("a TOTP secret cannot be opened with this server's LOGEER_WEBHOOK_KEY");
            continue;
        }
        long long step = -1;
        enum totp_result res = totp_check(secret, v->code, now, atoll(db_value(r->res, i, 4)),
                                          TOTP_DRIFT_STEPS, &step);
        explicit_bzero(secret, sizeof secret);
        if (res == TOTP_REPLAYED)
            v->replayed = true;
        if (res != TOTP_ACCEPTED)
            continue;
        char step_text[24];
        snprintf(step_text, sizeof step_text, "%lld", step);
        const char *params[] = {db_value(r->res, i, 1), step_text,
                                v->purpose == VERIFY_CONFIRM ? v->recovery.digests : NULL};
        api_query(c, "totp_accept", 3, params, accepted);
        return;
    }
    refuse_code(c);
}

/* Reads {"code": "123456"}; NULL after answering 422. */
static const char *body_code(struct api_ctx *c, size_t max)
{
    static const char *const known[] = {"code", NULL};
    struct jsonv v;
    jsonv_init(&v);
    const char *code = NULL;
    jsonv_only(&v, c->body, known);
    jsonv_string(&v, c->body, "code", true, 1, max, &code);
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "send the code");
        return NULL;
    }
    jsonv_free(&v);
    return code;
}

static void verify_start(struct api_ctx *c, enum verify_purpose purpose, const char *factor_id)
{
    const char *code = body_code(c, 32);
    if (!code || !key_present(c))
        return;
    struct verify *v = res_state_new(c, sizeof *v, verify_free);
    if (!v)
        return;
    v->purpose = purpose;
    v->recovery_left = -1;
    if (!totp_code_normalise(code, v->code)) {
        res_reply_field(c, "code", "must be the 6 digits the app shows", "check the code");
        return;
    }
    if (purpose == VERIFY_CONFIRM && recovery_set_new(&v->recovery) != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not make recovery codes");
        return;
    }
    if (factor_id)
        snprintf(v->factor_id, sizeof v->factor_id, "%s", factor_id);
    const char *params[] = {c->who.user_id, factor_id};
    api_query(c, "totp_candidates", 2, params, candidates_read);
}

static void totp_confirm(struct api_ctx *c)
{
    const char *id = res_id(c, ENROLMENT_MISSING);
    if (id)
        verify_start(c, VERIFY_CONFIRM, id);
}

static void session_totp(struct api_ctx *c) { verify_start(c, VERIFY_SIGN_IN, NULL); }

/* ---- recovery codes at sign-in ----------------------------------------------------------- */

static void recovery_used(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    if (atoi(db_value(r->res, 0, 0)) > 0) {
        refuse_rate_limited(c, db_value(r->res, 0, 0));
        return;
    }
    struct verify *v = c->state;
    if (atoi(db_value(r->res, 0, 1)) != 1) {
        refuse_code(c);
        return;
    }
    v->recovery_left = atoll(db_value(r->res, 0, 2));
    /* RFC 8176 has no value for a printed list of single-use codes; "otp" (a one-time
     * password) is the nearest, and the access log's route tells the two apart. */
    api_session_factor_proven(c, "otp", proven);
}

static void session_recovery(struct api_ctx *c)
{
    const char *code = body_code(c, 64);
    if (!code)
        return;
    struct verify *v = res_state_new(c, sizeof *v, verify_free);
    if (!v)
        return;
    v->purpose = VERIFY_SIGN_IN;
    v->recovery_code = true;
    v->recovery_left = -1;
    char norm[TOTP_RECOVERY_LEN];
    if (!totp_recovery_normalise(code, norm)) {
        /* A code of the wrong shape is still an attempt: it counts like a wrong one. */
        refuse_code(c);
        return;
    }
    char hex[DIGEST_HEX_LEN];
    digest_sha256_hex(norm, strlen(norm), hex);
    explicit_bzero(norm, sizeof norm);
    const char *params[] = {c->who.user_id, hex};
    api_query(c, "recovery_use", 2, params, recovery_used);
}

/* ---- listing and removing ---------------------------------------------------------------- */

static void factors_listed(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, "user not found"))
        return;
    http_reply_header(c->req, "Cache-Control", "no-store");
    res_reply_body(c, 200, db_value(r->res, 0, 0));
}

static void factors_list(struct api_ctx *c)
{
    const char *params[] = {c->who.user_id};
    api_query(c, "factors_list", 1, params, factors_listed);
}

static void factor_removed(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, FACTOR_MISSING))
        return;
    if (atoi(db_value(r->res, 0, 0)) == 0) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, FACTOR_MISSING);
        return;
    }
    api_reply_empty(c, 204);
}

static void factor_remove(struct api_ctx *c)
{
    const char *id = res_id(c, FACTOR_MISSING);
    if (!id)
        return;
    /* The other sessions end in the database; this process forgets them at once, other
     * processes within the cache's bound. */
    session_cache_forget_user(c->app->sessions, c->who.user_id);
    struct log_params lp;
    log_params_fill(c, &lp);
    const char *params[] = {c->who.user_id, lp.role, lp.request_id, lp.address, lp.route,
                            c->token_hash, id};
    api_query(c, "factor_remove", 7, params, factor_removed);
}

static void recovery_renewed(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, "user not found"))
        return;
    if (atoi(db_value(r->res, 0, 0)) == 0) {
        api_reply_problem(c, PROBLEM_CONFLICT,
                          "recovery codes come with a second factor; set one up first");
        return;
    }
    struct verify *v = c->state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "recovery_codes", recovery_set_json(&v->recovery));
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 201, o);
}

static void recovery_renew(struct api_ctx *c)
{
    struct verify *v = res_state_new(c, sizeof *v, verify_free);
    if (!v)
        return;
    if (recovery_set_new(&v->recovery) != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not make recovery codes");
        return;
    }
    struct log_params lp;
    log_params_fill(c, &lp);
    const char *params[] = {c->who.user_id, lp.role, lp.request_id, lp.address, lp.route,
                            v->recovery.digests};
    api_query(c, "recovery_renew", 6, params, recovery_renewed);
}

static const struct api_endpoint enrol = {totp_enrol, false};
static const struct api_endpoint confirm = {totp_confirm, true};
static const struct api_endpoint list = {factors_list, false};
static const struct api_endpoint remove_one = {factor_remove, false};
static const struct api_endpoint renew = {recovery_renew, false};
static const struct api_endpoint sign_in_totp = {session_totp, true};
static const struct api_endpoint sign_in_recovery = {session_recovery, true};

/* People only: routes without a scope are closed to API keys (dispatch.c). The set-up and
 * second-step routes serve a session that has not proven a factor yet; removing a factor and
 * new recovery codes ask for a recent one. */
static const struct route totp_routes[] = {
    {HTTP_GET, "/v1/me/factors", &list, ROLE_ANY | ROUTE_BEFORE_FACTOR},
    {HTTP_POST, "/v1/me/factors/totp", &enrol, ROLE_ANY | ROUTE_BEFORE_FACTOR},
    {HTTP_POST, "/v1/me/factors/totp/{id}/confirm", &confirm, ROLE_ANY | ROUTE_BEFORE_FACTOR},
    {HTTP_DELETE, "/v1/me/factors/{id}", &remove_one, ROLE_ANY | ROUTE_STEP_UP},
    {HTTP_POST, "/v1/me/recovery-codes", &renew, ROLE_ANY | ROUTE_STEP_UP},
    {HTTP_POST, "/v1/sessions/current/totp", &sign_in_totp, ROLE_ANY | ROUTE_BEFORE_FACTOR},
    {HTTP_POST, "/v1/sessions/current/recovery-code", &sign_in_recovery,
     ROLE_ANY | ROUTE_BEFORE_FACTOR},
};

ROUTE_GROUP(totp_factors_group, totp_routes, totp_prepare);
