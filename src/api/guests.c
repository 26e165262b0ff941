/* guests: POST/GET/PATCH /v1/guests[/{id}] (docs/practice.md): the people a caregiver cares
 * for, registered once so that intakes and allowances can belong to them. Caregivers manage
 * their own; the coordinator reads all; provider staff read a guest only through a stay or
 * intake at one of their locations. Every read or change is access-logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access_log.h"
#include "guests.h"
#include "handlers.h"
#include "logeer/core.h"
#include "resource.h"

#define GUEST_JSON                                                                           \
    "json_build_object('id', r.id, 'caregiver_id', r.caregiver_id, 'alias', r.alias, "       \
    "'birth_year', r.birth_year, 'care_profile', r.care_profile, 'needs', r.needs, "          \
    "'municipality', r.municipality, 'funding', r.funding, "                                  \
    "'created_at', " RES_TS("r.created_at") ", "                                                \
    "'updated_at', " RES_TS("r.updated_at") ", 'version', r.version)"

static const struct res_refusal guest_conflicts[] = {
    {"guests_alias_length", PROBLEM_VALIDATION, "alias", "must be 1 to 60 characters"},
    {"guests_birth_year_range", PROBLEM_VALIDATION, "birth_year", "is not a plausible year"},
    {"guests_care_profile_known", PROBLEM_VALIDATION, "care_profile", "is not a care profile"},
    {"guests_needs_tokens", PROBLEM_VALIDATION, "needs",
     "must be lower snake_case tokens such as night_care"},
    {"guests_municipality_fkey", PROBLEM_VALIDATION, "municipality",
     "is not a municipality of the region (see GET /v1/municipalities)"},
    {"guests_funding_known", PROBLEM_VALIDATION, "funding", "must be wmo, wlz, zvw, pgb or private"},
    {"guests_owner_is_caregiver", PROBLEM_FORBIDDEN, NULL, "only caregivers register guests"},
    {NULL, 0, NULL, NULL},
};

static void guests_seen(struct api_ctx *c, const char *body);

static const struct res_call guest_call = {
    .missing = "guest not found",
    .location = "/v1/guests",
    .get_stmt = "guests_get",
    .versioned = true,
    .refusals = guest_conflicts,
    .scope = guests_scope,
    .seen = guests_seen,
};
static const struct res_call guest_list_call = {
    .missing = "guest not found",
    .scope = guests_scope,
    .seen = guests_seen,
};

const char *guests_scope(const struct api_ctx *c)
{
    switch (c->who.role) {
    case ROLE_CAREGIVER:
        return c->who.user_id;
    case ROLE_PROVIDER:
        return c->who.provider_id;
    default:
        return NULL; /* the coordinator reads every guest */
    }
}

/* Collects the "id" (or, with key, key's value) of obj and of every object in its list
 * member, and logs them as action. */
void guests_log_seen(struct api_ctx *c, const char *body, const char *list, const char *key,
                     const char *action)
{
    cJSON *doc = cJSON_Parse(body);
    if (!doc)
        return;
    const char *ids[RES_LIMIT_MAX + 1];
    size_t n = 0;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, list);
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(doc, key);
    if (cJSON_IsString(one) && api_is_uuid(one->valuestring))
        ids[n++] = one->valuestring;
    const cJSON *e = cJSON_IsArray(items) ? items->child : NULL;
    for (; e; e = e->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, key);
        if (n < RES_LIMIT_MAX + 1 && cJSON_IsString(id) && api_is_uuid(id->valuestring))
            ids[n++] = id->valuestring;
    }
    access_log_guests(c, action, ids, n);
    cJSON_Delete(doc);
}

static void guests_seen(struct api_ctx *c, const char *body)
{
    const char *action = c->req->method == HTTP_POST    ? "guest.create"
                         : c->req->method == HTTP_PATCH ? "guest.update"
                         : c->route && strchr(c->route->pattern + 1, '{') ? "guest.read"
                                                                          : "guest.list";
    guests_log_seen(c, body, "guests", "id", action);
}

/* Who may see a guest, for the scope parameter $n (see guests_scope). */
#define GUEST_VISIBLE(n)                                                                     \
    "r.erased_at IS NULL AND ($" n "::uuid IS NULL OR r.caregiver_id = $" n "::uuid "          \
    "OR EXISTS (SELECT 1 FROM stays s WHERE s.guest_id = r.id AND s.provider_id = $" n         \
    "::uuid) OR EXISTS (SELECT 1 FROM intakes i WHERE i.guest_id = r.id "                     \
    "AND i.provider_id = $" n "::uuid))"

static int guests_prepare(struct app *app)
{
    if (api_prepare(app, "guests_create",
                    RES_CREATE_SQL("guests AS r (caregiver_id, alias, birth_year, care_profile, "
                                   "needs, municipality, funding)",
                                   "SELECT $2::uuid, btrim($1::jsonb->>'alias'), "
                                   "($1::jsonb->>'birth_year')::int, $1::jsonb->>'care_profile', "
                                   RES_TEXT_ARRAY("$1::jsonb", "needs") ", "
                                   "$1::jsonb->>'municipality', $1::jsonb->>'funding' "
                                   "WHERE $6::uuid IS NOT DISTINCT FROM $2::uuid",
                                   GUEST_JSON)))
        return -1;
    if (api_prepare(app, "guests_get",
                    "SELECT j::text, j->>'version' FROM (SELECT " GUEST_JSON " AS j FROM guests r "
                    "WHERE r.id = $1::uuid AND " GUEST_VISIBLE("2") ") AS s"))
        return -1;
    if (api_prepare(app, "guests_list",
                    "WITH f AS (SELECT r.* FROM guests r WHERE " GUEST_VISIBLE("3") "), "
                    "page AS (SELECT * FROM f r ORDER BY r.created_at, r.id "
                    "LIMIT $1::int OFFSET $2::int) "
                    "SELECT json_build_object('guests', coalesce((SELECT json_agg(" GUEST_JSON
                    " ORDER BY r.created_at, r.id) FROM page r), '[]'::json), "
                    "'total', (SELECT count(*) FROM f))::text"))
        return -1;
    return api_prepare(app, "guests_patch",
                       RES_PATCH_SQL(GUEST_JSON, "guests", "caregiver_id",
                                     "alias = CASE WHEN $1::jsonb ? 'alias' THEN "
                                     "btrim($1::jsonb->>'alias') ELSE r.alias END, "
                                     RES_SET_CAST("birth_year", "int") ", "
                                     RES_SET_TEXT("care_profile") ", " RES_SET_ARRAY("needs")
                                     ", " RES_SET_TEXT("municipality") ", "
                                     RES_SET_TEXT("funding"),
                                     "r.version"));
}

static int current_year(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return tm.tm_year + 1900;
}

/* The fields POST and PATCH share; on create the required ones must be there. */
static void validate_fields(struct jsonv *v, const cJSON *body, cJSON *out, bool create)
{
    const char *s;
    long year;
    int i;
    const cJSON *needs;
    if (res_text(v, body, "alias", create, 60, &s))
        cJSON_AddStringToObject(out, "alias", s);
    if (jsonv_int(v, body, "birth_year", create, 1900, current_year(), &year))
        cJSON_AddNumberToObject(out, "birth_year", (double)year);
    if (jsonv_enum(v, body, "care_profile", create, core_care_profile_names, &i))
        cJSON_AddStringToObject(out, "care_profile", core_care_profile_names[i]);
    if (jsonv_string_set(v, body, "needs", false, NULL, 16, &needs))
        cJSON_AddItemToObject(out, "needs", cJSON_Duplicate(needs, true));
    else if (create)
        cJSON_AddArrayToObject(out, "needs");
    /* The funding route the family prefers, offered again for the next request. */
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, "funding");
    if (cJSON_IsNull(f))
        cJSON_AddNullToObject(out, "funding");
    else if (jsonv_enum(v, body, "funding", false, core_funding_names, &i))
        cJSON_AddStringToObject(out, "funding", core_funding_names[i]);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "municipality");
    if (cJSON_IsNull(m)) {
        cJSON_AddNullToObject(out, "municipality");
    } else if (jsonv_string(v, body, "municipality", false, 6, 6, &s)) {
        if (res_is_cbs_code(s))
            cJSON_AddStringToObject(out, "municipality", s);
        else
            jsonv_error(v, "municipality", "must be a CBS code such as GM0106");
    }
}

static void guests_create(struct api_ctx *c)
{
    static const char *const known[] = {"alias", "birth_year", "care_profile", "needs",
                                        "municipality", "funding", NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    cJSON *doc = cJSON_CreateObject();
    validate_fields(&v, c->body, doc, true);
    res_create(c, "guests_create", doc, &v, &guest_call);
}

static void guests_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    res_list_call(c, "guests_list", &a, NULL, 0, &guest_list_call);
}

static void guests_get(struct api_ctx *c)
{
    const char *id = res_id(c, guest_call.missing);
    if (id)
        res_get(c, "guests_get", id, &guest_call);
}

static void guests_patch(struct api_ctx *c)
{
    static const char *const known[] = {"alias", "birth_year", "care_profile", "needs",
                                        "municipality", "funding", NULL};
    static const char *const nullable[] = {"municipality", "funding", NULL};
    const char *id = res_id(c, guest_call.missing);
    if (!id)
        return;
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    res_refuse_nulls(&v, c->body, nullable);
    cJSON *patch = cJSON_CreateObject();
    validate_fields(&v, c->body, patch, false);
    res_patch(c, "guests_patch", id, patch, &v, &guest_call);
}

static const struct api_endpoint create = {guests_create, true};
static const struct api_endpoint list = {guests_list, false};
static const struct api_endpoint get = {guests_get, false};
static const struct api_endpoint patch = {guests_patch, true};

#define READERS (ROLE_CAREGIVER | ROLE_PROVIDER | ROLE_COORDINATOR)

static const struct route guest_routes[] = {
    {HTTP_POST, "/v1/guests", &create, ROLE_CAREGIVER},
    {HTTP_GET, "/v1/guests", &list, READERS},
    {HTTP_GET, "/v1/guests/{id}", &get, READERS},
    {HTTP_PATCH, "/v1/guests/{id}", &patch, ROLE_CAREGIVER},
};

ROUTE_GROUP(guests_group, guest_routes, guests_prepare);
