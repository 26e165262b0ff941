/* providers: POST/GET/PATCH /v1/providers[/{id}] (spec 4). Admins create and edit providers;
 * the coordinator reads them all; provider staff see and rename only their own. Must never
 * show one provider's staff another provider (that answers 404, not 403). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "resource.h"

#define PROVIDER_JSON                                                                        \
    "json_build_object('id', r.id, 'name', r.name, 'agb_code', r.agb_code, "                 \
    "'created_at', " RES_TS("r.created_at") ", 'updated_at', " RES_TS("r.updated_at") ")"

static const struct res_refusal provider_refusals[] = {
    {"providers_agb_code_key", PROBLEM_CONFLICT, NULL,
     "another provider is already registered with this AGB code"},
    {"providers_name_present", PROBLEM_VALIDATION, "name", "must be 1 to 200 characters"},
    {"providers_agb_code_format", PROBLEM_VALIDATION, "agb_code", "must be 8 digits"},
    {NULL, 0, NULL, NULL},
};

static const struct res_call provider_call = {
    .missing = "provider not found",
    .location = "/v1/providers",
    .get_stmt = "providers_get",
    .refusals = provider_refusals,
    .index_scope = SYNC_PROVIDER,
};

static int providers_prepare(struct app *app)
{
    /* Providers are the root of ownership: the owner column of a provider is its own id.
     * Creating one needs a caller without a provider scope ($6 IS NULL), whatever the route
     * table says, so staff can never mint a second provider. */
    if (api_prepare(app, "providers_create",
                    RES_CREATE_SQL("providers AS r (name, agb_code)",
                                   "SELECT $1::jsonb->>'name', $1::jsonb->>'agb_code' "
                                   "WHERE $6::uuid IS NULL",
                                   PROVIDER_JSON)))
        return -1;
    if (api_prepare(app, "providers_get", RES_GET_SQL(PROVIDER_JSON, "providers", "id")))
        return -1;
    if (api_prepare(app, "providers_list",
                    RES_LIST_SQL("providers", PROVIDER_JSON, "providers", "id", "true",
                                 "r.name, r.id")))
        return -1;
    return api_prepare(app, "providers_patch",
                       RES_PATCH_SQL(PROVIDER_JSON, "providers", "id",
                                     RES_SET_TEXT("name") ", " RES_SET_TEXT("agb_code"),
                                     "NULL"));
}

static bool agb_code_ok(const char *s)
{
    if (strlen(s) != 8)
        return false;
    for (int i = 0; i < 8; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* The AGB code is optional and may be cleared with null on PATCH. */
static void validate_agb_code(struct jsonv *v, const cJSON *body, cJSON *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, "agb_code");
    if (!item)
        return;
    if (cJSON_IsNull(item)) {
        cJSON_AddNullToObject(out, "agb_code");
        return;
    }
    if (!cJSON_IsString(item) || !agb_code_ok(item->valuestring)) {
        jsonv_error(v, "agb_code", "must be the 8-digit Vektis AGB code, as a string");
        return;
    }
    cJSON_AddStringToObject(out, "agb_code", item->valuestring);
}

static void providers_create(struct api_ctx *c)
{
    static const char *const known[] = {"name", "agb_code", NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    cJSON *doc = cJSON_CreateObject();
    const char *name;
    if (res_text(&v, c->body, "name", true, 200, &name))
        cJSON_AddStringToObject(doc, "name", name);
    validate_agb_code(&v, c->body, doc);
    res_create(c, "providers_create", doc, &v, &provider_call);
}

static void providers_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    res_list(c, "providers_list", &a, NULL, 0);
}

static void providers_get(struct api_ctx *c) { res_get_id(c, &provider_call); }

static void providers_patch(struct api_ctx *c)
{
    static const char *const known[] = {"name", "agb_code", NULL};
    static const char *const nullable[] = {"agb_code", NULL};
    const char *id = res_id(c, provider_call.missing);
    if (!id)
        return;
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    res_refuse_nulls(&v, c->body, nullable);
    cJSON *patch = cJSON_CreateObject();
    const char *name;
    if (res_text(&v, c->body, "name", false, 200, &name))
        cJSON_AddStringToObject(patch, "name", name);
    /* The AGB code identifies the organisation to insurers: staff may rename their
     * organisation for display, only the operator changes its registration. */
    if (c->who.role != ROLE_ADMIN && cJSON_GetObjectItemCaseSensitive(c->body, "agb_code"))
        jsonv_error(&v, "agb_code", "only an administrator may change the AGB code");
    else
        validate_agb_code(&v, c->body, patch);
    res_patch(c, "providers_patch", id, patch, &v, &provider_call);
}

static const struct api_endpoint create = {providers_create, true};
static const struct api_endpoint list = {providers_list, false};
static const struct api_endpoint get = {providers_get, false};
static const struct api_endpoint patch = {providers_patch, true};

#define READERS (ROLE_ADMIN | ROLE_COORDINATOR | ROLE_PROVIDER)

static const struct route provider_routes[] = {
    {HTTP_POST, "/v1/providers", &create, ROLE_ADMIN},
    {HTTP_GET, "/v1/providers", &list, READERS},
    {HTTP_GET, "/v1/providers/{id}", &get, READERS},
    {HTTP_PATCH, "/v1/providers/{id}", &patch, ROLE_ADMIN | ROLE_PROVIDER},
};

ROUTE_GROUP(providers_group, provider_routes, providers_prepare);
