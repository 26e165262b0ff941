/* sso_issuers: POST/GET /v1/sso-issuers and GET/PATCH/DELETE /v1/sso-issuers/{id}, the admin's
 * registration of a provider organisation's OpenID Connect issuer (migration 0035). The client
 * secret is sealed at rest like webhook secrets and never appears in an answer; the sign-in
 * itself is sso.c's. Admin only: a provider's staff could otherwise point their colleagues'
 * sign-in at an issuer they control. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/oidc.h"
#include "logeer/webhook.h"
#include "resource.h"

#define ISSUER_JSON                                                                          \
    "json_build_object('id', r.id, 'provider_id', r.provider_id, 'issuer', r.issuer, "       \
    "'client_id', r.client_id, 'auth_method', r.auth_method, "                               \
    "'email_domains', to_json(r.email_domains), 'idp_factor', r.idp_factor, "                \
    "'factor_acr', r.factor_acr, 'enabled', r.enabled, "                                     \
    "'created_at', " RES_TS("r.created_at") ", 'updated_at', " RES_TS("r.updated_at") ", "    \
    "'version', r.version)"

#define MISSING "single sign-on issuer not found"
#define SECRET_MAX (WEBHOOK_SECRET_LEN - 1)
#define DOMAINS_MAX 20

static const struct res_refusal issuer_refusals[] = {
    {"sso_issuers_domain_taken", PROBLEM_VALIDATION, "email_domains",
     "a domain already belongs to another issuer; each domain leads to one issuer"},
    {"sso_issuers_issuer_shape", PROBLEM_VALIDATION, "issuer",
     "must be an https URL (http only for 127.0.0.1, localhost or [::1])"},
    {"sso_issuers_domains_shape", PROBLEM_VALIDATION, "email_domains",
     "must be 1 to 20 lower-case domain names"},
    {"sso_issuers_provider_id_fkey", PROBLEM_NOT_FOUND, NULL, "provider not found"},
    {NULL, 0, NULL, NULL},
};

static const struct res_call issuer_call = {
    .missing = MISSING,
    .location = "/v1/sso-issuers",
    .get_stmt = "sso_issuers_get",
    .versioned = true,
    .refusals = issuer_refusals,
};

static const struct res_call issuer_create_call = {
    .missing = "provider not found",
    .location = "/v1/sso-issuers",
    .get_stmt = "sso_issuers_get",
    .versioned = true,
    .refusals = issuer_refusals,
};

static int sso_issuers_prepare(struct app *app)
{
    if (api_prepare(app, "sso_issuers_create",
                    RES_CREATE_SQL("sso_issuers AS r (provider_id, issuer, client_id, "
                                   "secret_sealed, secret_key_id, auth_method, email_domains, "
                                   "idp_factor, factor_acr, enabled, created_by)",
                                   "SELECT p.id, $1::jsonb->>'issuer', $1::jsonb->>'client_id', "
                                   "decode($1::jsonb->>'secret_sealed', 'hex'), "
                                   "$1::jsonb->>'secret_key_id', "
                                   "coalesce($1::jsonb->>'auth_method', 'client_secret_basic'), "
                                   RES_TEXT_ARRAY("$1::jsonb", "email_domains") ", "
                                   "coalesce(($1::jsonb->>'idp_factor')::boolean, false), "
                                   "$1::jsonb->>'factor_acr', "
                                   "coalesce(($1::jsonb->>'enabled')::boolean, true), $2::uuid "
                                   "FROM providers p "
                                   "WHERE p.id = ($1::jsonb->>'provider_id')::uuid "
                                   "AND ($6::uuid IS NULL OR p.id = $6::uuid)",
                                   ISSUER_JSON)))
        return -1;
    if (api_prepare(app, "sso_issuers_get",
                    RES_GET_SQL(ISSUER_JSON, "sso_issuers", "provider_id")))
        return -1;
    if (api_prepare(app, "sso_issuers_list",
                    RES_LIST_SQL("sso_issuers", ISSUER_JSON, "sso_issuers", "provider_id",
                                 "($4::uuid IS NULL OR r.provider_id = $4::uuid)",
                                 "r.created_at, r.id")))
        return -1;
    if (api_prepare(app, "sso_issuers_patch",
                    RES_PATCH_SQL(ISSUER_JSON, "sso_issuers", "provider_id",
                                  RES_SET_TEXT("issuer") ", " RES_SET_TEXT("client_id") ", "
                                  RES_SET_TEXT("auth_method") ", " RES_SET_TEXT("factor_acr") ", "
                                  RES_SET_ARRAY("email_domains") ", "
                                  RES_SET_CAST("idp_factor", "boolean") ", "
                                  RES_SET_CAST("enabled", "boolean") ", "
                                  "secret_sealed = CASE WHEN $1::jsonb ? 'secret_sealed' "
                                  "THEN decode($1::jsonb->>'secret_sealed', 'hex') "
                                  "ELSE r.secret_sealed END, "
                                  RES_SET_TEXT("secret_key_id") ", "
                                  "updated_at = now(), version = r.version + 1",
                                  "r.version")))
        return -1;
    return api_prepare(app, "sso_issuers_delete",
                       "DELETE FROM sso_issuers r WHERE r.id = $1::uuid AND "
                       RES_OWNED("provider_id", "2") " RETURNING r.id");
}

/* ---- validation ------------------------------------------------------------------------------ */

/* The same rule as sso_issuers_issuer_shape: https, or plain http to this machine only (a
 * developer's or a test's own provider). */
static bool issuer_url_ok(const char *s)
{
    static const char *const loopback[] = {"http://127.0.0.1", "http://localhost",
                                           "http://[::1]", NULL};
    if (strncmp(s, "https://", 8) == 0) {
        if (!s[8] || s[8] == '/')
            return false;
    } else {
        int i = 0;
        size_t n = 0;
        for (; loopback[i]; i++)
            if (strncmp(s, loopback[i], n = strlen(loopback[i])) == 0)
                break;
        /* "http://localhost.example.org" is not this machine. */
        if (!loopback[i] || (s[n] && s[n] != ':' && s[n] != '/'))
            return false;
    }
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p) || *p == '?' || *p == '#' || *p == '@')
            return false;
    return true;
}

static bool domain_ok(const char *d)
{
    size_t n = strlen(d);
    if (n < 3 || n > 253 || !strchr(d, '.') || d[0] == '.' || d[0] == '-' || d[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)d[i]) || isdigit((unsigned char)d[i]) || d[i] == '.' ||
              d[i] == '-'))
            return false;
    return true;
}

/* Domains are compared in lower case; the list goes into out lower-cased. */
static void validate_domains(struct jsonv *v, const cJSON *body, bool required, cJSON *out)
{
    const cJSON *list;
    if (!jsonv_string_set(v, body, "email_domains", required, NULL, DOMAINS_MAX, &list))
        return;
    cJSON *lower = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        char d[64];
        size_t i = 0;
        for (; e->valuestring[i] && i < sizeof d - 1; i++)
            d[i] = (char)tolower((unsigned char)e->valuestring[i]);
        d[i] = '\0';
        if (!domain_ok(d)) {
            jsonv_error(v, "email_domains", "must be domain names such as \"zorggroep.nl\"");
            cJSON_Delete(lower);
            return;
        }
        cJSON_AddItemToArray(lower, cJSON_CreateString(d));
    }
    if (cJSON_GetArraySize(lower) == 0) {
        jsonv_error(v, "email_domains", "name at least one domain");
        cJSON_Delete(lower);
        return;
    }
    cJSON_AddItemToObject(out, "email_domains", lower);
}

/* Seals a client secret into out (secret_sealed, secret_key_id). */
static void seal_secret(struct jsonv *v, const char *secret, cJSON *out)
{
    char sealed[WEBHOOK_SEALED_HEX_MAX];
    if (webhook_secret_seal(secret, sealed) != 0) {
        jsonv_error(v, "client_secret", "could not be sealed");
        return;
    }
    cJSON_AddStringToObject(out, "secret_sealed", sealed);
    cJSON_AddStringToObject(out, "secret_key_id", webhook_key_id());
}

static void validate(struct api_ctx *c, struct jsonv *v, cJSON *out, bool create)
{
    static const char *const methods[] = {"client_secret_basic", "client_secret_post", NULL};
    const char *s;
    if (jsonv_string(v, c->body, "issuer", create, 1, 500, &s)) {
        if (!issuer_url_ok(s))
            jsonv_error(v, "issuer", "must be an https URL (http only for 127.0.0.1, localhost "
                                     "or [::1]) without query, fragment or user");
        else
            cJSON_AddStringToObject(out, "issuer", s);
    }
    if (res_text(v, c->body, "client_id", create, 255, &s))
        cJSON_AddStringToObject(out, "client_id", s);
    if (jsonv_string(v, c->body, "client_secret", create, 1, SECRET_MAX, &s))
        seal_secret(v, s, out);
    int method;
    if (jsonv_enum(v, c->body, "auth_method", false, methods, &method))
        cJSON_AddStringToObject(out, "auth_method", methods[method]);
    validate_domains(v, c->body, create, out);
    bool b;
    if (jsonv_bool(v, c->body, "idp_factor", false, &b))
        cJSON_AddBoolToObject(out, "idp_factor", b);
    if (jsonv_bool(v, c->body, "enabled", false, &b))
        cJSON_AddBoolToObject(out, "enabled", b);
    const cJSON *acr = cJSON_GetObjectItemCaseSensitive(c->body, "factor_acr");
    if (cJSON_IsNull(acr))
        cJSON_AddNullToObject(out, "factor_acr");
    else if (res_text(v, c->body, "factor_acr", false, 200, &s))
        cJSON_AddStringToObject(out, "factor_acr", s);
}

/* Without LOGEER_WEBHOOK_KEY no client secret can be kept safe at rest. */
static bool key_present(struct api_ctx *c)
{
    if (webhook_key_present())
        return true;
    api_reply_problem(c, PROBLEM_UNAVAILABLE,
                      "single sign-on is off on this server: the operator has not set "
                      "LOGEER_WEBHOOK_KEY, which keeps client secrets safe at rest");
    return false;
}

/* ---- handlers -------------------------------------------------------------------------------- */

static void issuers_create(struct api_ctx *c)
{
    static const char *const known[] = {"provider_id", "issuer", "client_id", "client_secret",
                                        "auth_method", "email_domains", "idp_factor",
                                        "factor_acr", "enabled", NULL};
    if (!key_present(c))
        return;
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    cJSON *doc = cJSON_CreateObject();
    validate(c, &v, doc, true);
    const char *pid = res_body_provider(c, &v, "whose staff sign in there");
    if (pid)
        cJSON_AddStringToObject(doc, "provider_id", pid);
    res_create(c, "sso_issuers_create", doc, &v, &issuer_create_call);
}

static void issuers_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *provider = res_arg_id(c, &a, "provider_id", "must be a provider id");
    const char *filters[] = {provider};
    res_list(c, "sso_issuers_list", &a, filters, 1);
}

static void issuers_get(struct api_ctx *c)
{
    res_get_id(c, &issuer_call);
}

static void issuers_patch(struct api_ctx *c)
{
    static const char *const known[] = {"issuer", "client_id", "client_secret", "auth_method",
                                        "email_domains", "idp_factor", "factor_acr",
                                        "enabled", NULL};
    static const char *const nullable[] = {"factor_acr", NULL};
    const char *id = res_id(c, MISSING);
    if (!id)
        return;
    if (cJSON_GetObjectItemCaseSensitive(c->body, "client_secret") && !key_present(c))
        return;
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    res_refuse_nulls(&v, c->body, nullable);
    cJSON *patch = cJSON_CreateObject();
    validate(c, &v, patch, false);
    /* A changed issuer, client or key must not be served from the old discovery or keys. */
    oidc_forget(id);
    res_patch(c, "sso_issuers_patch", id, patch, &v, &issuer_call);
}

static void issuers_deleted(struct api_ctx *c, const struct db_result *r)
{
    if (res_one_row(c, r, MISSING))
        api_reply_empty(c, 204);
}

static void issuers_delete(struct api_ctx *c)
{
    const char *id = res_id(c, MISSING);
    if (!id)
        return;
    oidc_forget(id);
    const char *params[] = {id, res_scope(c)};
    api_query(c, "sso_issuers_delete", 2, params, issuers_deleted);
}

static const struct api_endpoint create = {issuers_create, true};
static const struct api_endpoint list = {issuers_list, false};
static const struct api_endpoint get = {issuers_get, false};
static const struct api_endpoint patch = {issuers_patch, true};
static const struct api_endpoint del = {issuers_delete, false};

/* Changing who may sign in for a provider is as sensitive as managing its accounts: the
 * writes ask for a recent second factor (step-up). */
static const struct route issuer_routes[] = {
    {HTTP_POST, "/v1/sso-issuers", &create, ROLE_ADMIN | ROUTE_STEP_UP},
    {HTTP_GET, "/v1/sso-issuers", &list, ROLE_ADMIN},
    {HTTP_GET, "/v1/sso-issuers/{id}", &get, ROLE_ADMIN},
    {HTTP_PATCH, "/v1/sso-issuers/{id}", &patch, ROLE_ADMIN | ROUTE_STEP_UP},
    {HTTP_DELETE, "/v1/sso-issuers/{id}", &del, ROLE_ADMIN | ROUTE_STEP_UP},
};

ROUTE_GROUP(sso_issuers_group, issuer_routes, sso_issuers_prepare);
