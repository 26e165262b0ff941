/* locations: POST/GET/PATCH /v1/locations[/{id}] (spec 2, 4, 6). Provider staff manage their
 * own provider's locations, admins any; the coordinator reads all. A location never changes
 * provider, and another provider's location answers 404, never 403. A location also says how
 * long an intake outcome there holds without a stay (intake_valid_days). Reads carry the
 * location's version as an ETag; PATCH with If-Match refuses a write over a colleague's change
 * (412), as pools do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "resource.h"

/* The Netherlands' bounding box, as in the schema: it catches swapped coordinates. */
#define LAT_MIN 50.7
#define LAT_MAX 53.7
#define LON_MIN 3.2
#define LON_MAX 7.3
#define MAX_TOKENS 32
#define MAX_TOKEN_LEN 48

#define LOCATION_JSON                                                                        \
    "json_build_object('id', r.id, 'provider_id', r.provider_id, 'name', r.name, "           \
    "'municipality', r.municipality, 'address', r.address, 'lat', r.lat, 'lon', r.lon, "      \
    "'facilities', r.facilities, 'exclusions', r.exclusions, "                                \
    "'intake_valid_days', r.intake_valid_days, 'version', r.version, "                        \
    "'created_at', " RES_TS("r.created_at") ", 'updated_at', " RES_TS("r.updated_at") ")"

static const struct res_refusal location_refusals[] = {
    {"locations_municipality_fkey", PROBLEM_VALIDATION, "municipality",
     "is not a municipality of the region (see GET /v1/municipalities)"},
    {"locations_provider_id_fkey", PROBLEM_NOT_FOUND, NULL, "provider not found"},
    {"locations_name_present", PROBLEM_VALIDATION, "name", "must be 1 to 200 characters"},
    {"locations_address_length", PROBLEM_VALIDATION, "address", "must be at most 300 characters"},
    {"locations_lat_in_nl", PROBLEM_VALIDATION, "lat", "must lie in the Netherlands (50.7 to 53.7)"},
    {"locations_lon_in_nl", PROBLEM_VALIDATION, "lon", "must lie in the Netherlands (3.2 to 7.3)"},
    {"locations_facilities_tokens", PROBLEM_VALIDATION, "facilities", "must be lowercase tokens"},
    {"locations_exclusions_tokens", PROBLEM_VALIDATION, "exclusions", "must be lowercase tokens"},
    {"locations_intake_valid_days_range", PROBLEM_VALIDATION, "intake_valid_days",
     "must be a whole number of days from 1 to 3650"},
    {NULL, 0, NULL, NULL},
};

static const struct res_call location_call = {
    .missing = "location not found",
    .location = "/v1/locations",
    .get_stmt = "locations_get",
    .versioned = true,
    .refusals = location_refusals,
    .index_scope = SYNC_LOCATION,
};
/* Creating a location under a provider the caller may not see: that provider "is not there". */
static const struct res_call location_create_call = {
    .missing = "provider not found",
    .location = "/v1/locations",
    .get_stmt = "locations_get",
    .versioned = true,
    .refusals = location_refusals,
};

static int locations_prepare(struct app *app)
{
    if (api_prepare(app, "locations_create",
                    RES_CREATE_SQL("locations AS r (provider_id, name, municipality, address, lat, "
                                   "lon, facilities, exclusions, intake_valid_days)",
                                   "SELECT v.id, $1::jsonb->>'name', $1::jsonb->>'municipality', "
                                   "$1::jsonb->>'address', ($1::jsonb->>'lat')::float8, "
                                   "($1::jsonb->>'lon')::float8, "
                                   RES_TEXT_ARRAY("$1::jsonb", "facilities") ", "
                                   RES_TEXT_ARRAY("$1::jsonb", "exclusions") ", "
                                   "coalesce(($1::jsonb->>'intake_valid_days')::int, 730)"
                                   " FROM providers v WHERE v.id = ($1::jsonb->>'provider_id')::uuid "
                                   "AND ($6::uuid IS NULL OR v.id = $6::uuid)",
                                   LOCATION_JSON)))
        return -1;
    if (api_prepare(app, "locations_get", RES_GET_SQL(LOCATION_JSON, "locations", "provider_id")))
        return -1;
    if (api_prepare(app, "locations_list",
                    RES_LIST_SQL("locations", LOCATION_JSON, "locations", "provider_id",
                                 "($4::text IS NULL OR r.municipality = $4::text) "
                                 "AND ($5::uuid IS NULL OR r.provider_id = $5::uuid)",
                                 "r.name, r.id")))
        return -1;
    return api_prepare(app, "locations_patch",
                       RES_PATCH_SQL(LOCATION_JSON, "locations", "provider_id",
                                     RES_SET_TEXT("name") ", " RES_SET_TEXT("municipality") ", "
                                     RES_SET_TEXT("address") ", " RES_SET_CAST("lat", "float8") ", "
                                     RES_SET_CAST("lon", "float8") ", " RES_SET_ARRAY("facilities")
                                     ", " RES_SET_ARRAY("exclusions") ", "
                                     RES_SET_CAST("intake_valid_days", "int"),
                                     "r.version"));
}

/* Facilities and exclusions are an open vocabulary of machine tokens, matched exactly by
 * searches, so their shape is fixed: lower snake_case, starting with a letter. */
static bool token_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > MAX_TOKEN_LEN || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    }
    return true;
}

static void validate_tokens(struct jsonv *v, const cJSON *body, const char *field, cJSON *out)
{
    const cJSON *list;
    if (!jsonv_string_set(v, body, field, false, NULL, MAX_TOKENS, &list))
        return;
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        if (!token_ok(e->valuestring)) {
            jsonv_error(v, field, "must contain lowercase tokens such as \"night_care\" "
                                  "(a letter, then letters, digits or _; at most 48)");
            return;
        }
    }
    cJSON_AddItemToObject(out, field, cJSON_Duplicate(list, true));
}

/* The fields POST and PATCH share; on POST the required ones must be there. */
static void validate_fields(struct jsonv *v, const cJSON *body, cJSON *out, bool create)
{
    const char *s;
    double d;
    if (res_text(v, body, "name", create, 200, &s))
        cJSON_AddStringToObject(out, "name", s);
    if (jsonv_string(v, body, "municipality", create, 1, 16, &s)) {
        if (res_is_cbs_code(s))
            cJSON_AddStringToObject(out, "municipality", s);
        else
            jsonv_error(v, "municipality", "must be a CBS code such as GM0106");
    }
    if (jsonv_string(v, body, "address", false, 1, 300, &s))
        cJSON_AddStringToObject(out, "address", s);
    else if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(body, "address")))
        cJSON_AddNullToObject(out, "address");
    if (jsonv_number(v, body, "lat", create, LAT_MIN, LAT_MAX, &d))
        cJSON_AddNumberToObject(out, "lat", d);
    if (jsonv_number(v, body, "lon", create, LON_MIN, LON_MAX, &d))
        cJSON_AddNumberToObject(out, "lon", d);
    validate_tokens(v, body, "facilities", out);
    validate_tokens(v, body, "exclusions", out);
    /* How long an intake outcome holds without a stay (docs/practice.md); 730 days unless
     * the location says otherwise. */
    long days;
    if (jsonv_int(v, body, "intake_valid_days", false, 1, 3650, &days))
        cJSON_AddNumberToObject(out, "intake_valid_days", (double)days);
}

/* Staff create under their own provider (provider_id may be left out); an admin names one. */
static const char *owner_for_create(struct api_ctx *c, struct jsonv *v, bool *foreign)
{
    const char *given = NULL;
    if (jsonv_string(v, c->body, "provider_id", c->who.role != ROLE_PROVIDER, 1, 64, &given) &&
        !api_is_uuid(given)) {
        jsonv_error(v, "provider_id", "must be a provider id");
        return NULL;
    }
    if (c->who.role != ROLE_PROVIDER)
        return given;
    if (given && strcasecmp(given, c->who.provider_id) != 0)
        *foreign = true;
    return c->who.provider_id;
}

static void locations_create(struct api_ctx *c)
{
    static const char *const known[] = {"provider_id", "name", "municipality", "address", "lat",
                                        "lon", "facilities", "exclusions",
                                        "intake_valid_days", NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    bool foreign = false;
    const char *owner = owner_for_create(c, &v, &foreign);
    cJSON *doc = cJSON_CreateObject();
    validate_fields(&v, c->body, doc, true);
    /* Another provider's id from staff: that provider "is not there" for them. */
    if (foreign && jsonv_ok(&v)) {
        cJSON_Delete(doc);
        api_reply_problem(c, PROBLEM_NOT_FOUND, "%s", location_create_call.missing);
        return;
    }
    if (owner)
        cJSON_AddStringToObject(doc, "provider_id", owner);
    res_create(c, "locations_create", doc, &v, &location_create_call);
}

static void locations_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *m = res_arg(c, &a, "municipality", 16);
    const char *p = res_arg_id(c, &a, "provider_id", "must be a provider id");
    if (m && !res_is_cbs_code(m))
        jsonv_error(&a.v, "municipality", "must be a CBS code such as GM0106");
    const char *filters[] = {m, p};
    res_list(c, "locations_list", &a, filters, 2);
}

static void locations_get(struct api_ctx *c) { res_get_id(c, &location_call); }

static void locations_patch(struct api_ctx *c)
{
    static const char *const known[] = {"name", "municipality", "address", "lat", "lon",
                                        "facilities", "exclusions", "intake_valid_days",
                                        "provider_id", NULL};
    static const char *const nullable[] = {"address", NULL};
    const char *id = res_id(c, location_call.missing);
    if (!id)
        return;
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    res_refuse_nulls(&v, c->body, nullable);
    /* Ownership is history: pools and their stays hang off the location's provider. */
    if (cJSON_GetObjectItemCaseSensitive(c->body, "provider_id"))
        jsonv_error(&v, "provider_id", "cannot be changed; a location belongs to its provider "
                                       "for good");
    cJSON *patch = cJSON_CreateObject();
    validate_fields(&v, c->body, patch, false);
    res_patch(c, "locations_patch", id, patch, &v, &location_call);
}

static const struct api_endpoint create = {locations_create, true};
static const struct api_endpoint list = {locations_list, false};
static const struct api_endpoint get = {locations_get, false};
static const struct api_endpoint patch = {locations_patch, true};

#define READERS (ROLE_PROVIDER | ROLE_COORDINATOR | ROLE_ADMIN)
#define WRITERS (ROLE_PROVIDER | ROLE_ADMIN)

static const struct route location_routes[] = {
    {HTTP_POST, "/v1/locations", &create, WRITERS},
    {HTTP_GET, "/v1/locations", &list, READERS},
    {HTTP_GET, "/v1/locations/{id}", &get, READERS},
    {HTTP_PATCH, "/v1/locations/{id}", &patch, WRITERS},
};

ROUTE_GROUP(locations_group, location_routes, locations_prepare);
