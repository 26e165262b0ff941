/* allowances: POST/GET /v1/allowances and GET/PATCH /v1/allowances/{id} (docs/practice.md):
 * a guest's grants of nights per funding route with the usage of the current week and year.
 * Caregivers manage their own guests' grants, the coordinator all; provider staff never see
 * them. Reads are access-logged per guest; PATCH is one database function that recounts. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guests.h"
#include "handlers.h"
#include "logeer/date.h"
#include "resource.h"

#define ALLOWANCE_JSON "logeer_allowance_json(r)"

/* Who sees an allowance, for the scope parameter $n (guests_scope): the guest's caregiver,
 * or everyone (NULL, the coordinator). Provider staff never reach these statements. */
#define ALLOWANCE_VISIBLE(n)                                                                 \
    "EXISTS (SELECT 1 FROM guests g WHERE g.id = r.guest_id AND g.erased_at IS NULL "        \
    "AND ($" n "::uuid IS NULL OR g.caregiver_id = $" n "::uuid))"

#define BSN_MESSAGE                                                                          \
    "must not be a citizen service number (BSN): give the decision's own reference"

static const struct res_refusal allowance_conflicts[] = {
    {"allowances_has_limit", PROBLEM_VALIDATION, "nights_per_week",
     "give nights_per_week, nights_per_year or both"},
    {"allowances_wmo_municipality", PROBLEM_VALIDATION, "municipality",
     "is required for wmo: the municipality that granted it"},
    {"allowances_municipality_fkey", PROBLEM_VALIDATION, "municipality",
     "is not a municipality of the region (see GET /v1/municipalities)"},
    {"allowances_valid_order", PROBLEM_VALIDATION, "valid_to", "must not be before valid_from"},
    {"allowances_valid_span", PROBLEM_VALIDATION, "valid_to", "an allowance is at most 10 years"},
    {"allowances_reference_length", PROBLEM_VALIDATION, "reference", "must be 1 to 100 characters"},
    {"allowances_reference_not_bsn", PROBLEM_VALIDATION, "reference", BSN_MESSAGE},
    {NULL, 0, NULL, NULL},
};

static void allowances_seen(struct api_ctx *c, const char *body);

static const struct res_call allowance_call = {
    .missing = "allowance not found",
    .location = "/v1/allowances",
    .get_stmt = "allowances_get",
    .versioned = true,
    .refusals = allowance_conflicts,
    .scope = guests_scope,
    .seen = allowances_seen,
};
static const struct res_call allowance_create_call = {
    .missing = "guest not found",
    .location = "/v1/allowances",
    .get_stmt = "allowances_get",
    .versioned = true,
    .refusals = allowance_conflicts,
    .scope = guests_scope,
    .seen = allowances_seen,
};
static const struct res_call allowance_list_call = {
    .missing = "allowance not found",
    .scope = guests_scope,
    .seen = allowances_seen,
};

static void allowances_seen(struct api_ctx *c, const char *body)
{
    const char *action = c->req->method == HTTP_POST    ? "allowance.create"
                         : c->req->method == HTTP_PATCH ? "allowance.update"
                         : c->route && strchr(c->route->pattern + 1, '{') ? "allowance.read"
                                                                          : "allowance.list";
    guests_log_seen(c, body, "allowances", "guest_id", action);
}

static int allowances_prepare(struct app *app)
{
    /* The guest must be the caller's own ($6: the caregiver's id; NULL: the coordinator). */
    if (api_prepare(app, "allowances_create",
                    RES_CREATE_SQL("allowances AS r (guest_id, funding, nights_per_week, "
                                   "nights_per_year, valid_from, valid_to, municipality, "
                                   "reference, created_by)",
                                   "SELECT g.id, $1::jsonb->>'funding', "
                                   "($1::jsonb->>'nights_per_week')::int, "
                                   "($1::jsonb->>'nights_per_year')::int, "
                                   "($1::jsonb->>'valid_from')::date, "
                                   "($1::jsonb->>'valid_to')::date, "
                                   "$1::jsonb->>'municipality', "
                                   "btrim($1::jsonb->>'reference'), $2::uuid FROM guests g "
                                   "WHERE g.id = ($1::jsonb->>'guest_id')::uuid "
                                   "AND g.erased_at IS NULL "
                                   "AND ($6::uuid IS NULL OR g.caregiver_id = $6::uuid)",
                                   ALLOWANCE_JSON)))
        return -1;
    if (api_prepare(app, "allowances_get",
                    "SELECT j::text, j->>'version' FROM (SELECT " ALLOWANCE_JSON " AS j "
                    "FROM allowances r WHERE r.id = $1::uuid AND " ALLOWANCE_VISIBLE("2")
                    ") AS s"))
        return -1;
    if (api_prepare(app, "allowances_list",
                    "WITH f AS (SELECT r.* FROM allowances r WHERE " ALLOWANCE_VISIBLE("3")
                    " AND ($4::uuid IS NULL OR r.guest_id = $4::uuid)), "
                    "page AS (SELECT * FROM f r ORDER BY r.valid_from DESC, r.id "
                    "LIMIT $1::int OFFSET $2::int) "
                    "SELECT json_build_object('allowances', coalesce((SELECT json_agg("
                    ALLOWANCE_JSON " ORDER BY r.valid_from DESC, r.id) FROM page r), "
                    "'[]'::json), 'total', (SELECT count(*) FROM f))::text"))
        return -1;
    return api_prepare(app, "allowances_patch",
                       "SELECT outcome, status, body, detail::text, body::json->>'version' "
                       "FROM logeer_allowance_patch($1::jsonb, $2::uuid, $3::uuid, $4::int)");
}

static const char *const funding_names[] = {"wmo", "wlz", "pgb", "zvw", "private", NULL};

static void add_date(cJSON *out, const char *field, date_day d)
{
    char text[DATE_TEXT_LEN];
    date_format(d, text);
    cJSON_AddStringToObject(out, field, text);
}

/* A nullable limit (PATCH) or an optional one (POST). Returns true when the body names it. */
static bool read_limit(struct jsonv *v, const cJSON *body, const char *field, long max,
                       cJSON *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, field);
    long n;
    if (!item)
        return false;
    if (cJSON_IsNull(item))
        cJSON_AddNullToObject(out, field);
    else if (jsonv_int(v, body, field, false, 0, max, &n))
        cJSON_AddNumberToObject(out, field, (double)n);
    return true;
}

/* The fields POST and PATCH share. */
static void validate_fields(struct jsonv *v, const cJSON *body, cJSON *out, bool create)
{
    const char *s;
    date_day from = 0, to = 0;
    bool week = read_limit(v, body, "nights_per_week", 7, out);
    bool year = read_limit(v, body, "nights_per_year", 366, out);
    if (create && !week && !year)
        jsonv_error(v, "nights_per_week", "give nights_per_week, nights_per_year or both");
    bool has_from = jsonv_date(v, body, "valid_from", create, &from);
    bool has_to = jsonv_date(v, body, "valid_to", create, &to);
    if (has_from)
        add_date(out, "valid_from", from);
    if (has_to)
        add_date(out, "valid_to", to);
    if (has_from && has_to && to < from)
        jsonv_error(v, "valid_to", "must not be before valid_from (both days are included)");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "municipality");
    if (cJSON_IsNull(m)) {
        cJSON_AddNullToObject(out, "municipality");
    } else if (jsonv_string(v, body, "municipality", false, 6, 6, &s)) {
        if (res_is_cbs_code(s))
            cJSON_AddStringToObject(out, "municipality", s);
        else
            jsonv_error(v, "municipality", "must be a CBS code such as GM0106");
    }
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(body, "reference");
    if (cJSON_IsNull(ref)) {
        cJSON_AddNullToObject(out, "reference");
    } else if (res_text(v, body, "reference", false, 100, &s)) {
        if (res_text_has_bsn(s))
            jsonv_error(v, "reference", BSN_MESSAGE);
        else
            cJSON_AddStringToObject(out, "reference", s);
    }
}

static void allowances_create(struct api_ctx *c)
{
    static const char *const known[] = {"guest_id", "funding", "nights_per_week",
                                        "nights_per_year", "valid_from", "valid_to",
                                        "municipality", "reference", NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    cJSON *doc = cJSON_CreateObject();
    const char *s;
    int i = -1;
    if (jsonv_string(&v, c->body, "guest_id", true, 1, 64, &s)) {
        if (api_is_uuid(s))
            cJSON_AddStringToObject(doc, "guest_id", s);
        else
            jsonv_error(&v, "guest_id", "must be a guest id (see GET /v1/guests)");
    }
    if (jsonv_enum(&v, c->body, "funding", true, funding_names, &i))
        cJSON_AddStringToObject(doc, "funding", funding_names[i]);
    validate_fields(&v, c->body, doc, true);
    if (i == 0 && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "municipality")))
        jsonv_error(&v, "municipality", "is required for wmo: the municipality that granted it");
    res_create(c, "allowances_create", doc, &v, &allowance_create_call);
}

static void allowances_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *g = res_arg_id(c, &a, "guest_id", "must be a guest id");
    const char *filters[] = {g};
    res_list_call(c, "allowances_list", &a, filters, 1, &allowance_list_call);
}

static void allowances_get(struct api_ctx *c)
{
    const char *id = res_id(c, allowance_call.missing);
    if (id)
        res_get(c, "allowances_get", id, &allowance_call);
}

/* ---- PATCH ------------------------------------------------------------------------------ */

static const struct res_refusal patch_outcomes[] = {
    {"stale", PROBLEM_PRECONDITION_FAILED, NULL,
     "it changed since it was read; read it again and send its new ETag in If-Match"},
    {"below_used", PROBLEM_CONFLICT, NULL,
     "stays already use more nights than the new limit in the periods listed; cancel or "
     "shorten stays first, or keep the limit"},
    {"outside_validity", PROBLEM_CONFLICT, NULL,
     "the stays listed count against this allowance and lie outside the new validity; cancel "
     "them first, or keep the dates"},
    {"not_found", PROBLEM_NOT_FOUND, NULL, "allowance not found"},
    {NULL, 0, NULL, NULL},
};

/* logeer_allowance_patch's answer; its fifth column is the new version, sent as the ETag. */
static void patched(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, allowance_conflicts, &res))
        return;
    if (strcmp(res.outcome, "ok") != 0) {
        res_reply_outcome(c, &res, patch_outcomes);
        return;
    }
    char etag[32];
    snprintf(etag, sizeof etag, "\"%s\"", db_value(r->res, 0, 4));
    http_reply_header(c->req, "ETag", etag);
    guests_log_seen(c, res.body, "allowances", "guest_id", "allowance.update");
    res_reply_body(c, 200, res.body);
}

static void allowances_patch(struct api_ctx *c)
{
    static const char *const known[] = {"nights_per_week", "nights_per_year", "valid_from",
                                        "valid_to", "municipality", "reference", NULL};
    static const char *const nullable[] = {"nights_per_week", "nights_per_year",
                                           "municipality", "reference", NULL};
    const char *id = res_id(c, allowance_call.missing);
    if (!id)
        return;
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    res_refuse_nulls(&v, c->body, nullable);
    cJSON *patch = cJSON_CreateObject();
    validate_fields(&v, c->body, patch, false);
    res_patch_then(c, "allowances_patch", id, patch, &v, &allowance_call, patched);
}

static const struct api_endpoint create = {allowances_create, true};
static const struct api_endpoint list = {allowances_list, false};
static const struct api_endpoint get = {allowances_get, false};
static const struct api_endpoint patch = {allowances_patch, true};

#define MANAGERS (ROLE_CAREGIVER | ROLE_COORDINATOR)

static const struct route allowance_routes[] = {
    {HTTP_POST, "/v1/allowances", &create, MANAGERS},
    {HTTP_GET, "/v1/allowances", &list, MANAGERS},
    {HTTP_GET, "/v1/allowances/{id}", &get, MANAGERS},
    {HTTP_PATCH, "/v1/allowances/{id}", &patch, MANAGERS},
};

ROUTE_GROUP(allowances_group, allowance_routes, allowances_prepare);
