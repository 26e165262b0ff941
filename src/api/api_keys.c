/* api_keys: POST/GET /v1/api-keys, GET/DELETE /v1/api-keys/{id}: keys for a provider's own
 * systems (planning software pushing capacity, reading stays). Provider staff see their own
 * provider's keys and those with its admin right make and withdraw them, the admin manages
 * everyone's; a key cannot manage keys. The key is made here
 * and shown once; only its SHA-256 is stored, and the Idempotency-Key record keeps the answer
 * without it. Using a key (dispatch.c) looks it up with the statement prepared here, which
 * also notes its last use and writes the use to the access log in the same round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/idempotency.h"
#include "resource.h"

#define KEY_JSON                                                                             \
    "json_build_object('id', r.id, 'provider_id', r.provider_id, 'name', r.name, "           \
    "'prefix', 'lk_' || r.prefix, 'scopes', to_json(r.scopes), 'created_by', r.created_by, "  \
    "'created_at', " RES_TS("r.created_at") ", 'expires_at', " RES_TS("r.expires_at") ", "    \
    "'revoked_at', " RES_TS("r.revoked_at") ", 'last_used_at', " RES_TS("r.last_used_at") ")"

#define MISSING "API key not found"

/* Long enough for a planning system's yearly maintenance, short enough that a forgotten key
 * dies on its own. */
#define EXPIRY_DAYS_DEFAULT 90
#define EXPIRY_DAYS_MAX 366

static const char *const scope_names[] = {"capacity:read", "capacity:write", "stays:read",
                                          "stays:write", NULL};

static const struct res_refusal key_refusals[] = {
    {"api_keys_name_length", PROBLEM_VALIDATION, "name", "must be 1 to 100 characters"},
    {NULL, 0, NULL, NULL},
};

static const struct res_call key_call = {
    .missing = MISSING,
    .location = "/v1/api-keys",
    .get_stmt = "api_keys_get",
    .refusals = key_refusals,
};

static int api_keys_prepare(struct app *app)
{
    if (api_prepare(app, "api_keys_create",
                    RES_CREATE_SQL("api_keys AS r (provider_id, name, prefix, key_hash, scopes, "
                                   "created_by, expires_at)",
                                   "SELECT p.id, $1::jsonb->>'name', $1::jsonb->>'prefix', "
                                   "decode($1::jsonb->>'key_hash', 'hex'), "
                                   RES_TEXT_ARRAY("$1::jsonb", "scopes") ", $2::uuid, "
                                   "now() + make_interval(days => ($1::jsonb->>'expires_in_days')::int) "
                                   "FROM providers p "
                                   "WHERE p.id = ($1::jsonb->>'provider_id')::uuid "
                                   "AND ($6::uuid IS NULL OR p.id = $6::uuid)",
                                   KEY_JSON)))
        return -1;
    if (api_prepare(app, "api_keys_get", RES_GET_SQL(KEY_JSON, "api_keys", "provider_id")))
        return -1;
    if (api_prepare(app, "api_keys_list",
                    RES_LIST_SQL("api_keys", KEY_JSON, "api_keys", "provider_id",
                                 "($4::boolean OR r.revoked_at IS NULL)",
                                 "r.created_at DESC, r.id")))
        return -1;
    /* Revoking twice is answered as once: the first moment stays on record. */
    if (api_prepare(app, "api_keys_revoke",
                    "UPDATE api_keys r SET revoked_at = coalesce(r.revoked_at, now()), "
                    "revoked_by = coalesce(r.revoked_by, $3::uuid) "
                    "WHERE r.id = $1::uuid AND " RES_OWNED("provider_id", "2") " RETURNING r.id"))
        return -1;
    /* $1 key hash, $2 request id, $3 client address, $4 route. A key stops with its creator's
     * account, its provider's existence, its expiry or its revocation. last_used_at is
     * written at most once a minute to spare writes; every use is in the access log. */
    return api_prepare(app, "api_key_lookup",
                       "WITH k AS (SELECT k.id, k.provider_id, k.scopes, k.created_by, u.email "
                       "FROM api_keys k JOIN users u ON u.id = k.created_by "
                       "WHERE k.key_hash = $1::bytea AND k.revoked_at IS NULL "
                       "AND k.expires_at > now() AND u.disabled_at IS NULL "
                       "AND u.erased_at IS NULL), "
                       "touch AS (UPDATE api_keys a SET last_used_at = now() FROM k "
                       "WHERE a.id = k.id AND (a.last_used_at IS NULL "
                       "OR a.last_used_at < now() - interval '60 seconds')), "
                       "logged AS (INSERT INTO access_log (user_id, role, action, request_id, "
                       "address, route, api_key_id) SELECT created_by, 'provider', 'api_key.use', "
                       "$2, $3::inet, $4, id FROM k) "
                       "SELECT id, provider_id, array_to_string(scopes, ','), created_by, email "
                       "FROM k");
}

/* ---- what a key may reach ------------------------------------------------------------------
 * One table, so that what a key can do is read in one place (docs/openapi.yaml repeats it).
 * A route missing here is for people only. */

static const struct {
    enum http_method method;
    const char *pattern;
    unsigned scope;
} key_reach[] = {
    {HTTP_GET, "/v1/locations", SCOPE_CAPACITY_READ},
    {HTTP_GET, "/v1/locations/{id}", SCOPE_CAPACITY_READ},
    {HTTP_GET, "/v1/pools", SCOPE_CAPACITY_READ},
    {HTTP_GET, "/v1/pools/{id}", SCOPE_CAPACITY_READ},
    {HTTP_GET, "/v1/pools/{id}/capacity", SCOPE_CAPACITY_READ},
    {HTTP_PUT, "/v1/pools/{id}/capacity", SCOPE_CAPACITY_WRITE},
    {HTTP_POST, "/v1/pools/{id}/capacity/confirm", SCOPE_CAPACITY_WRITE},
    {HTTP_POST, "/v1/capacity/import", SCOPE_CAPACITY_WRITE},
    {HTTP_GET, "/v1/stays", SCOPE_STAYS_READ},
    {HTTP_GET, "/v1/stays/{id}", SCOPE_STAYS_READ},
    {HTTP_GET, "/v1/stays/{id}/calendar.ics", SCOPE_STAYS_READ},
    {HTTP_GET, "/v1/arrivals", SCOPE_STAYS_READ},
    {HTTP_PATCH, "/v1/stays/{id}", SCOPE_STAYS_WRITE},
    {HTTP_POST, "/v1/stays/{id}/{action}", SCOPE_STAYS_WRITE},
};

unsigned api_key_route_scope(const struct route *route)
{
    for (size_t i = 0; i < sizeof key_reach / sizeof key_reach[0]; i++)
        if (route->method == key_reach[i].method &&
            strcmp(route->pattern, key_reach[i].pattern) == 0)
            return key_reach[i].scope;
    return 0;
}

/* ---- POST ---------------------------------------------------------------------------------- */

struct create_state {
    char key[AUTH_API_KEY_LEN];
};

static void create_state_free(void *p)
{
    struct create_state *st = p;
    explicit_bzero(st->key, sizeof st->key);
    free(st);
}

static void api_keys_created(struct api_ctx *c, const struct db_result *r)
{
    struct create_state *st = c->state;
    res_reply_created_secret(c, r, key_refusals, "/v1/api-keys",
                             "is not a provider you may make keys for", "key", st->key);
}

/* Fills doc from the request; false (and the reply sent) when it is refused. */
static bool read_create(struct api_ctx *c, cJSON *doc)
{
    static const char *const known[] = {"name", "scopes", "expires_in_days", "provider_id",
                                        NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    const char *name;
    if (res_text(&v, c->body, "name", true, 100, &name))
        cJSON_AddStringToObject(doc, "name", name);
    const cJSON *scopes;
    if (jsonv_string_set(&v, c->body, "scopes", true, scope_names, 4, &scopes)) {
        if (cJSON_GetArraySize(scopes) == 0)
            jsonv_error(&v, "scopes", "name at least one scope");
        else
            cJSON_AddItemToObject(doc, "scopes", cJSON_Duplicate(scopes, true));
    }
    long days = EXPIRY_DAYS_DEFAULT;
    jsonv_int(&v, c->body, "expires_in_days", false, 1, EXPIRY_DAYS_MAX, &days);
    cJSON_AddNumberToObject(doc, "expires_in_days", (double)days);
    const char *pid = res_body_provider(c, &v, "whose systems use the key");
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "check the fields listed");
        return false;
    }
    jsonv_free(&v);
    cJSON_AddStringToObject(doc, "provider_id", pid);
    return true;
}

/* Which outside systems act for an organisation is its beheerders' decision: provider staff
 * need their organisation's admin right (users.provider_admin) to make or withdraw a key. */
static bool may_manage_keys(struct api_ctx *c)
{
    if (c->who.role != ROLE_PROVIDER || c->who.provider_admin)
        return true;
    api_reply_problem(c, PROBLEM_FORBIDDEN,
                      "only staff with the admin right for your organisation (beheerder) may "
                      "make or withdraw API keys");
    return false;
}

static void api_keys_create(struct api_ctx *c)
{
    if (!may_manage_keys(c))
        return;
    cJSON *doc = cJSON_CreateObject();
    if (!doc || !read_create(c, doc)) {
        cJSON_Delete(doc);
        return;
    }
    struct create_state *st = res_state_new(c, sizeof *st, create_state_free);
    char token[AUTH_TOKEN_LEN], hash[AUTH_TOKEN_HASH_LEN];
    if (!st || auth_token_new(token) != 0) {
        cJSON_Delete(doc);
        if (st)
            api_reply_problem(c, PROBLEM_INTERNAL, "could not make a key");
        return;
    }
    snprintf(st->key, sizeof st->key, "%s%s", AUTH_API_KEY_PREFIX, token);
    explicit_bzero(token, sizeof token);
    auth_token_hash(st->key, hash);
    char prefix[9];
    snprintf(prefix, sizeof prefix, "%s", st->key + strlen(AUTH_API_KEY_PREFIX));
    cJSON_AddStringToObject(doc, "prefix", prefix);
    cJSON_AddStringToObject(doc, "key_hash", hash + 2); /* hex without PostgreSQL's "\x" */
    const char *idem;
    char fingerprint[DIGEST_HEX_LEN];
    if (!idem_key(c, &idem) || (idem && !idem_request_fingerprint(c, NULL, fingerprint))) {
        cJSON_Delete(doc);
        return;
    }
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    const char *params[] = {text, c->who.user_id, idem ? fingerprint : NULL, idem,
                            c->req->path, res_scope(c)};
    api_query(c, "api_keys_create", 6, params, api_keys_created);
    explicit_bzero(text, strlen(text));
    cJSON_free(text);
}

/* ---- GET, DELETE ---------------------------------------------------------------------------- */

static void api_keys_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *revoked = res_arg(c, &a, "include_revoked", 8);
    if (revoked && strcmp(revoked, "true") != 0 && strcmp(revoked, "false") != 0)
        jsonv_error(&a.v, "include_revoked", "must be true or false");
    const char *filters[] = {revoked && strcmp(revoked, "true") == 0 ? "true" : "false"};
    res_list(c, "api_keys_list", &a, filters, 1);
}

static void api_keys_get(struct api_ctx *c) { res_get_id(c, &key_call); }

static void api_keys_revoked(struct api_ctx *c, const struct db_result *r)
{
    if (res_one_row(c, r, MISSING))
        api_reply_empty(c, 204);
}

static void api_keys_revoke(struct api_ctx *c)
{
    const char *id = res_id(c, MISSING);
    if (!id || !may_manage_keys(c))
        return;
    const char *params[] = {id, res_scope(c), c->who.user_id};
    api_query(c, "api_keys_revoke", 3, params, api_keys_revoked);
}

static const struct api_endpoint create = {api_keys_create, true};
static const struct api_endpoint list = {api_keys_list, false};
static const struct api_endpoint get = {api_keys_get, false};
static const struct api_endpoint revoke = {api_keys_revoke, false};

#define OWNERS (ROLE_PROVIDER | ROLE_ADMIN)

static const struct route key_routes[] = {
    {HTTP_POST, "/v1/api-keys", &create, OWNERS},
    {HTTP_GET, "/v1/api-keys", &list, OWNERS},
    {HTTP_GET, "/v1/api-keys/{id}", &get, OWNERS},
    {HTTP_DELETE, "/v1/api-keys/{id}", &revoke, OWNERS},
};

ROUTE_GROUP(api_keys_group, key_routes, api_keys_prepare);
