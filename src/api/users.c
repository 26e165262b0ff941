/* users: accounts. The admin creates, lists and changes staff accounts (POST/GET/PATCH
 * /v1/users: the provider admin right, the name, disabling); caregivers
 * register themselves (POST /v1/caregivers) and log in afterwards. Passwords are hashed on the
 * worker pool, never on the event loop, and are never stored, logged or echoed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account_tokens.h"
#include "handlers.h"
#include "logeer/idempotency.h"
#include "logeer/jsonv.h"
#include "logeer/session_cache.h"
#include "logeer/workers.h"
#include "resource.h"

#define USERS_LIST_MAX 200

static int users_prepare(struct app *app)
{
    if (api_prepare(app, "users_create", RES_RESULT_SQL("logeer_create_user")))
        return -1;
    if (api_prepare(app, "users_get", RES_GET_SQL("logeer_user_json(r)", "users", "provider_id")))
        return -1;
    if (api_prepare(app, "users_list",
                       "SELECT logeer_user_json(u)::text, count(*) OVER () FROM users u "
                       "WHERE ($1::user_role IS NULL OR u.role = $1::user_role) "
                       "AND ($2::uuid IS NULL OR u.provider_id = $2::uuid) "
                       "AND ($3::text IS NULL OR lower(u.email) = lower($3)) "
                       "ORDER BY u.created_at, u.id LIMIT $4::int OFFSET $5::int"))
        return -1;
    /* $1 the change, $2 the user; $3..$7 the admin and where from, for the access log. One
     * row always: the changed account (NULL when nothing changed), the account's role and
     * whether it was erased, so the answer can say why nothing changed. */
    return api_prepare(app, "users_patch",
                       "WITH t AS (SELECT role, erased_at FROM users WHERE id = $2::uuid), "
                       "u AS (UPDATE users AS r SET "
                       RES_SET_CAST("provider_admin", "boolean") ", "
                       RES_SET_TEXT("display_name") ", "
                       "disabled_at = CASE WHEN NOT $1::jsonb ? 'disabled' THEN r.disabled_at "
                       "WHEN ($1::jsonb->>'disabled')::boolean THEN coalesce(r.disabled_at, now()) "
                       "ELSE NULL END "
                       "WHERE r.id = $2::uuid AND r.erased_at IS NULL "
                       "AND (NOT $1::jsonb ? 'provider_admin' OR r.role = 'provider') "
                       "RETURNING logeer_user_json(r) AS j, r.id), "
                       "l AS (INSERT INTO access_log (user_id, role, action, request_id, address, "
                       "route, detail) SELECT $3::uuid, $4::user_role, 'user.update', $5, $6::inet, "
                       "$7, $1::jsonb || jsonb_build_object('user', u.id) FROM u) "
                       "SELECT (SELECT j::text FROM u), (SELECT role::text FROM t), "
                       "(SELECT erased_at IS NOT NULL FROM t)");
}

/* ---- shared by both ways of creating an account --------------------------------------- */

/* An account on its way from a validated body, through the hash worker, to the database. */
struct new_account {
    cJSON *args;              /* logeer_create_user's argument, without the hash until hashed */
    char password[AUTH_PASSWORD_MAX + 1];
    char hash[AUTH_HASH_LEN];
    int hash_rc;              /* set by the worker */
    bool staff;               /* admin-created: Idempotency-Key, and /v1/users/{id} exists */
};

static void new_account_free(void *p)
{
    struct new_account *a = p;
    explicit_bzero(a->password, sizeof a->password);
    cJSON_Delete(a->args);
    free(a);
}

/* An address someone can receive mail at, roughly: one '@' with something on both sides and
 * no white space or control characters. The ".invalid" top-level domain is reserved for erased
 * accounts ('erased-<id>@invalid'), so nobody may take such an address first. */
static const char *users_email_problem(const char *email)
{
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strchr(at + 1, '@'))
        return "must be an email address";
    for (const char *p = email; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return "must be an email address without spaces";
    size_t len = strlen(at + 1);
    if (strcasecmp(at + 1, "invalid") == 0 ||
        (len >= 8 && strcasecmp(at + 1 + len - 8, ".invalid") == 0))
        return "must be an email address that can receive mail";
    return NULL;
}

/* The fields every account has; adds their errors to v and their values to args. */
static void users_validate_common(struct jsonv *v, const cJSON *body, cJSON *args,
                                  const char **password)
{
    const char *email = NULL, *name = NULL;
    if (jsonv_string(v, body, "email", true, 3, 254, &email)) {
        const char *why = users_email_problem(email);
        if (why)
            jsonv_error(v, "email", why);
        else
            cJSON_AddStringToObject(args, "email", email);
    }
    /* Length is the policy's to judge, with its own message; the getter only types it. */
    if (jsonv_string(v, body, "password", true, 0, (size_t)-1, password)) {
        const char *why = auth_password_policy(*password);
        if (why)
            jsonv_error(v, "password", why);
    }
    if (jsonv_string(v, body, "display_name", false, 1, 200, &name))
        cJSON_AddStringToObject(args, "display_name", name);
}

static const struct res_refusal account_refusals[] = {
    {"email_taken", PROBLEM_CONFLICT, NULL, "an account with this email address exists"},
    {"unknown_provider", PROBLEM_VALIDATION, "provider_id", "no provider with this id"},
    {"unknown_municipality", PROBLEM_VALIDATION, "municipality",
     "is not a municipality of the region"},
    {NULL, 0, NULL, NULL},
};

static void account_created(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, NULL, &res))
        return;
    if (strcmp(res.outcome, "created") != 0 && strcmp(res.outcome, "replayed") != 0) {
        res_reply_outcome(c, &res, account_refusals);
        return;
    }
    const struct new_account *a = c->state;
    if (!strcmp(res.outcome, "replayed"))
        idem_mark_replayed(c);
    cJSON *user = cJSON_Parse(res.body);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(user, "id");
    if (a->staff && cJSON_IsString(id)) {
        char location[80];
        snprintf(location, sizeof location, "/v1/users/%s", id->valuestring);
        http_reply_header(c->req, "Location", location);
    }
    if (!a->staff && cJSON_IsString(id)) {
        /* A self-registered address is unproven until its owner follows the link. */
        char user_id[64];
        snprintf(user_id, sizeof user_id, "%s", id->valuestring);
        cJSON_Delete(user);
        account_tokens_after_register(c, user_id, res.body);
        return;
    }
    cJSON_Delete(user);
    res_reply_body(c, 201, res.body);
}

/* Runs on a worker thread: touches only the account it was given. */
static void account_hash_work(void *arg)
{
    struct api_ctx *c = arg;
    struct new_account *a = c->state;
    a->hash_rc = auth_password_hash(a->password, a->hash);
    explicit_bzero(a->password, sizeof a->password);
}

static void account_hash_done(void *arg)
{
    struct api_ctx *c = arg;
    struct new_account *a = c->state;
    if (a->hash_rc != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not hash the password");
        return;
    }
    cJSON_AddStringToObject(a->args, "password_hash", a->hash);
    explicit_bzero(a->hash, sizeof a->hash);
    cJSON *args = a->args;
    a->args = NULL;
    res_query_json(c, "users_create", args, account_created);
}

/* Idempotency-Key on the admin's POST /v1/users (spec 5). The fingerprint covers the body
 * but not the password: a stored SHA-256 of it would be an unsalted password hash. So a retry
 * that changes only the password replays the account as first made. */
static bool users_idempotency(struct api_ctx *c, cJSON *args)
{
    static const char *const not_fingerprinted[] = {"password", NULL};
    const char *key;
    char hash[DIGEST_HEX_LEN];
    if (!idem_key(c, &key))
        return false;
    if (!key)
        return true;
    if (!idem_request_fingerprint(c, not_fingerprinted, hash))
        return false;
    cJSON_AddStringToObject(args, "principal_id", c->who.user_id);
    cJSON_AddStringToObject(args, "idempotency_key", key);
    cJSON_AddStringToObject(args, "request_hash", hash);
    cJSON_AddStringToObject(args, "path", c->req->path);
    return true;
}

/* Replies 422 when v holds errors; otherwise hands the account to the hash worker. Consumes
 * args either way. Anonymous registrations take no Idempotency-Key (keys belong to a
 * principal); their retry is answered 409 naming the existing account's email. */
static void account_submit(struct api_ctx *c, struct jsonv *v, cJSON *args, const char *password,
                           bool staff)
{
    if (!jsonv_ok(v)) {
        cJSON_Delete(args);
        res_reply_invalid(c, v, "check the highlighted fields");
        return;
    }
    if (staff && !users_idempotency(c, args)) {
        cJSON_Delete(args);
        return;
    }
    struct new_account *a = res_state_new(c, sizeof *a, new_account_free);
    if (!a) {
        cJSON_Delete(args);
        return;
    }
    a->args = args;
    a->staff = staff;
    snprintf(a->password, sizeof a->password, "%s", password);
    workers_submit(c->app->workers, account_hash_work, account_hash_done, c);
}

/* ---- POST /v1/caregivers ---------------------------------------------------------------- */

static void caregivers_register(struct api_ctx *c)
{
    /* No role, provider or status here: a caregiver account is a caregiver account. */
    static const char *const known[] = {"email", "password", "municipality", "display_name",
                                        NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "role", "caregiver");
    const char *password = NULL, *municipality = NULL;
    users_validate_common(&v, c->body, args, &password);
    if (jsonv_string(&v, c->body, "municipality", true, 1, 16, &municipality)) {
        if (!res_is_cbs_code(municipality))
            jsonv_error(&v, "municipality", "must be a CBS municipality code such as GM0106");
        else
            cJSON_AddStringToObject(args, "municipality", municipality);
    }
    account_submit(c, &v, args, password, false);
}

/* ---- POST /v1/users ------------------------------------------------------------------- */

/* Roles the admin hands out; caregivers register themselves. */
static const char *const staff_roles[] = {"provider", "referrer", "coordinator", "admin", NULL};

static void users_create(struct api_ctx *c)
{
    static const char *const known[] = {"email", "password", "role", "provider_id",
                                        "display_name", "provider_admin", NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    cJSON *args = cJSON_CreateObject();
    const char *password = NULL, *provider = NULL;
    users_validate_common(&v, c->body, args, &password);
    int role = -1;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(c->body, "role");
    if (cJSON_IsString(r) && strcmp(r->valuestring, "caregiver") == 0)
        jsonv_error(&v, "role", "caregivers register themselves with POST /v1/caregivers");
    else if (jsonv_enum(&v, c->body, "role", true, staff_roles, &role))
        cJSON_AddStringToObject(args, "role", staff_roles[role]);
    bool has_provider = jsonv_string(&v, c->body, "provider_id", false, 1, 64, &provider);
    if (has_provider && !api_is_uuid(provider))
        jsonv_error(&v, "provider_id", "must be a provider id");
    else if (has_provider && role >= 0 && strcmp(staff_roles[role], "provider") != 0)
        jsonv_error(&v, "provider_id", "only provider staff belong to a provider");
    else if (has_provider)
        cJSON_AddStringToObject(args, "provider_id", provider);
    else if (role >= 0 && strcmp(staff_roles[role], "provider") == 0)
        jsonv_error(&v, "provider_id", "is required for provider staff");
    bool provider_admin = false;
    if (jsonv_bool(&v, c->body, "provider_admin", false, &provider_admin) && provider_admin &&
        role >= 0 && strcmp(staff_roles[role], "provider") != 0)
        jsonv_error(&v, "provider_admin", "only provider staff have the admin right for a provider");
    cJSON_AddBoolToObject(args, "provider_admin", provider_admin);
    account_submit(c, &v, args, password, true);
}

/* ---- GET /v1/users and /v1/users/{id} ---------------------------------------------------- */

static const struct res_call user_call = {
    .missing = "no user with this id",
    .location = "/v1/users",
    .get_stmt = "users_get",
};

static void users_get(struct api_ctx *c) { res_get_id(c, &user_call); }

static const struct res_rows user_rows = {"users", USERS_LIST_MAX, 1, -1, NULL, false};

static void users_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *ro = res_arg(c, &a, "role", 32);
    const char *pr = res_arg_id(c, &a, "provider_id", "must be a provider id");
    const char *em = res_arg(c, &a, "email", 260);
    if (ro && !role_from_name(ro))
        jsonv_error(&a.v, "role", "is not a role");
    const char *args[] = {ro, pr, em};
    res_list_rows(c, "users_list", &a, args, 3, &user_rows);
}

/* ---- PATCH /v1/users/{id} ------------------------------------------------------------------ */

static void users_patched(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (db_is_null(r->res, 0, 1)) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no user with this id");
        return;
    }
    if (!db_is_null(r->res, 0, 0)) {
        res_reply_body(c, 200, db_value(r->res, 0, 0));
        return;
    }
    if (strcmp(db_value(r->res, 0, 2), "t") == 0)
        api_reply_problem(c, PROBLEM_CONFLICT, "the account was erased; it cannot be changed");
    else
        res_reply_field(c, "provider_admin",
                        "only provider staff have the admin right for a provider",
                        "check the highlighted fields");
}

/* The admin grants or takes the right to manage a provider's API keys, renames, and disables
 * or re-enables an account. Disabling ends its sessions at their next request (the session
 * lookup refuses disabled accounts); this process forgets them at once. */
static void users_patch(struct api_ctx *c)
{
    static const char *const known[] = {"provider_admin", "display_name", "disabled", NULL};
    const char *id = res_id(c, "no user with this id");
    if (!id)
        return;
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    res_refuse_nulls(&v, c->body, (const char *const[]){"display_name", NULL});
    bool flag;
    const char *name;
    jsonv_bool(&v, c->body, "provider_admin", false, &flag);
    jsonv_bool(&v, c->body, "disabled", false, &flag);
    res_text(&v, c->body, "display_name", false, 200, &name);
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "check the highlighted fields");
        return;
    }
    session_cache_forget_user(c->app->sessions, id);
    char *patch = cJSON_PrintUnformatted(c->body);
    char addr[64], route[160];
    snprintf(route, sizeof route, "%s %s", http_method_name(c->req->method), c->route->pattern);
    const char *params[] = {patch, id, c->who.user_id, role_name(c->who.role),
                            c->req->request_id, api_peer_address(c, addr, sizeof addr), route};
    api_query(c, "users_patch", 7, params, users_patched);
    cJSON_free(patch);
}

static const struct api_endpoint create = {users_create, true};
static const struct api_endpoint patch = {users_patch, true};
static const struct api_endpoint list = {users_list, false};
static const struct api_endpoint get = {users_get, false};
static const struct api_endpoint register_caregiver = {caregivers_register, true};

static const struct route user_routes[] = {
    {HTTP_POST, "/v1/users", &create, ROLE_ADMIN},
    {HTTP_GET, "/v1/users", &list, ROLE_ADMIN},
    {HTTP_GET, "/v1/users/{id}", &get, ROLE_ADMIN},
    {HTTP_PATCH, "/v1/users/{id}", &patch, ROLE_ADMIN | ROUTE_STEP_UP},
    /* Anyone may register as a caregiver: that is how a caregiver's account comes to exist. */
    {HTTP_POST, "/v1/caregivers", &register_caregiver, 0},
};

ROUTE_GROUP(users_group, user_routes, users_prepare);
