/* pools: POST/GET/PATCH /v1/pools[/{id}] (spec 2, 4, 6): beds of one kind at one location,
 * with the care profiles, funding, stay lengths, arrival days, blocks, check-in and check-out
 * windows, companion places, cancellation policy, booking mode and whether public routes need
 * a registered guest's allowance (allowance_required). Provider staff
 * manage their own pools, admins any; the coordinator reads all. Must never let a pool with
 * stays change kind: its stays keep the pathway they were booked under. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/core.h"
#include "resource.h"

#define MAX_NIGHTS 365
#define MAX_LEAD_DAYS 365
#define MAX_HORIZON_DAYS 1095
#define MAX_WMO_MUNICIPALITIES 400
#define MAX_COMPANION_PLACES 50   /* pools_companion_places_range */
#define MAX_FREE_CANCEL_DAYS 365  /* pools_free_cancel_days_range */
#define DEFAULT_SERIES_SHARE 50   /* pools.series_share_max_percent (migrations/0038) */

#define ARRIVAL_MESSAGE "must list distinct ISO weekdays, 1 (Monday) to 7 (Sunday)"
#define BLOCKS_MESSAGE                                                                       \
    "must list at most 14 distinct blocks {\"arrive\": ISO weekday 1..7, \"nights\": 1..28}"
#define WINDOW_MESSAGE "must be a time window \"HH:MM-HH:MM\" whose start is before its end, or null"

/* arrival_weekdays in a jsonb document as smallint[], in order (empty when absent). */
#define WEEKDAYS_ARRAY(doc)                                                                  \
    "ARRAY(SELECT e::smallint FROM jsonb_array_elements_text(" doc "->'arrival_weekdays') "   \
    "WITH ORDINALITY AS t (e, i) ORDER BY i)"

/* Where the region's staleness limit (LOGEER_STALE_DAYS) goes; filled in at prepare time. */
#define STALE_DAYS "@STALE_DAYS@"

#define POOL_JSON                                                                            \
    "json_build_object('id', r.id, 'location_id', r.location_id, 'provider_id', "            \
    "r.provider_id, 'name', r.name, 'kind', r.kind, 'care_profiles', r.care_profiles, "       \
    "'funding', r.funding, 'wmo_municipalities', r.wmo_municipalities, 'booking_mode', "      \
    "r.booking_mode, 'min_nights', r.min_nights, 'max_nights', r.max_nights, 'lead_days', "   \
    "r.lead_days, 'horizon_days', r.horizon_days, 'intake_required', r.intake_required, "    \
    "'allowance_required', r.allowance_required, "                                            \
    "'arrival_weekdays', r.arrival_weekdays, 'blocks', r.blocks, 'check_in_window', "         \
    "r.check_in_window, 'check_out_window', r.check_out_window, "                             \
    "'companion_places', r.companion_places, 'free_cancel_days', r.free_cancel_days, "       \
    "'series_share_max_percent', r.series_share_max_percent, "                                \
    "'as_of', " RES_TS("r.as_of") ", "                                                        \
    "'stale', r.as_of < now() - make_interval(days => " STALE_DAYS "), 'active', r.active, 'version', r.version, 'created_at', " RES_TS("r.created_at") ", "    \
    "'updated_at', " RES_TS("r.updated_at") ")"

static const struct res_refusal pool_refusals[] = {
    /* stays_pool_fkey copies (pool, provider, kind) into every stay with ON UPDATE NO
     * ACTION, so the database itself refuses a new kind once a stay refers to the pool. */
    {"stays_pool_fkey", PROBLEM_CONFLICT, NULL,
     "the pool has stays, so its kind cannot change: a stay keeps the pathway (planned or "
     "crisis) it was booked under. Create a new pool of the other kind instead"},
    {"pools_wmo_municipalities_fkey", PROBLEM_VALIDATION, "wmo_municipalities",
     "names a municipality that is not in the region (see GET /v1/municipalities)"},
    {"pools_wmo_needs_municipalities", PROBLEM_VALIDATION, "wmo_municipalities",
     "must name the contracting municipalities when funding includes wmo, and be empty "
     "otherwise"},
    {"pools_max_nights_range", PROBLEM_VALIDATION, "max_nights",
     "must be at least min_nights and at most 365"},
    {"pools_min_nights_positive", PROBLEM_VALIDATION, "min_nights", "must be at least 1"},
    {"pools_lead_days_range", PROBLEM_VALIDATION, "lead_days",
     "must be at least 0 and less than horizon_days"},
    {"pools_horizon_days_range", PROBLEM_VALIDATION, "horizon_days", "must be 1 to 1095"},
    {"pools_name_present", PROBLEM_VALIDATION, "name", "must be 1 to 200 characters"},
    {"pools_care_profiles_known", PROBLEM_VALIDATION, "care_profiles", "is not valid"},
    {"pools_funding_known", PROBLEM_VALIDATION, "funding", "is not valid"},
    {"pools_location_fkey", PROBLEM_NOT_FOUND, NULL, "location not found"},
    {"pools_arrival_weekdays_shape", PROBLEM_VALIDATION, "arrival_weekdays", ARRIVAL_MESSAGE},
    {"pools_blocks_shape", PROBLEM_VALIDATION, "blocks", BLOCKS_MESSAGE},
    {"pools_check_in_window_shape", PROBLEM_VALIDATION, "check_in_window", WINDOW_MESSAGE},
    {"pools_check_out_window_shape", PROBLEM_VALIDATION, "check_out_window", WINDOW_MESSAGE},
    {"pools_companion_places_range", PROBLEM_VALIDATION, "companion_places", "must be 0 to 50"},
    {"pools_free_cancel_days_range", PROBLEM_VALIDATION, "free_cancel_days",
     "must be 0 to 365, or null (always free)"},
    {"pools_series_share_range", PROBLEM_VALIDATION, "series_share_max_percent",
     "must be 0 to 100"},
    /* The trigger of that name: stays hold more companion places on some night from today. */
    {"pools_companion_places_below_taken", PROBLEM_CONFLICT, NULL,
     "stays hold more companion places than that on some night from today on; lower it after "
     "those stays, or cancel them first"},
    /* Refused rather than accepted with a warning: a pool where no stay can start is never
     * what a provider means, and search would silently never show it. */
    {"pools_arrival_possible", PROBLEM_VALIDATION, "blocks",
     "no block arrives on one of arrival_weekdays, so no stay could start: let a block arrive "
     "on an allowed day or widen arrival_weekdays"},
    {NULL, 0, NULL, NULL},
};

static const struct res_call pool_call = {
    .missing = "pool not found",
    .location = "/v1/pools",
    .get_stmt = "pools_get",
    .versioned = true,
    .refusals = pool_refusals,
    .index_scope = SYNC_POOL,
};
static const struct res_call pool_create_call = {
    .missing = "location not found",
    .location = "/v1/pools",
    .get_stmt = "pools_get",
    .versioned = true,
    .refusals = pool_refusals,
    .index_scope = SYNC_POOL,
};

/* Prepares sql with the staleness limit in place of STALE_DAYS: the limit is fixed for the
 * life of the process, so it belongs in the statement rather than in every call. */
static int pools_prepare_stmt(struct app *app, const char *name, const char *sql)
{
    char days[16];
    int dlen = snprintf(days, sizeof days, "%d", app->cfg->stale_days);
    size_t mark = strlen(STALE_DAYS), n = 0;
    for (const char *p = strstr(sql, STALE_DAYS); p; p = strstr(p + mark, STALE_DAYS))
        n++;
    char *out = malloc(strlen(sql) + n * (size_t)dlen + 1), *w = out;
    if (!out)
        return -1;
    const char *p = sql, *hit;
    while ((hit = strstr(p, STALE_DAYS))) {
        memcpy(w, p, (size_t)(hit - p));
        w += hit - p;
        memcpy(w, days, (size_t)dlen);
        w += dlen;
        p = hit + mark;
    }
    strcpy(w, p);
    int rc = api_prepare(app, name, out);
    free(out);
    return rc;
}

static int pools_prepare(struct app *app)
{
    /* provider_id comes from the location, never from the client: the composite foreign key
     * would refuse a mismatch anyway, but this way there is nothing to mismatch. */
    if (pools_prepare_stmt(app, "pools_create",
                    RES_CREATE_SQL("pools AS r (location_id, provider_id, name, kind, "
                                   "care_profiles, funding, wmo_municipalities, booking_mode, "
                                   "min_nights, max_nights, lead_days, horizon_days, active, "
                                   "intake_required, arrival_weekdays, blocks, "
                                   "check_in_window, check_out_window, companion_places, "
                                   "free_cancel_days, allowance_required, series_share_max_percent)",
                                   "SELECT l.id, l.provider_id, $1::jsonb->>'name', "
                                   "($1::jsonb->>'kind')::pool_kind, "
                                   RES_TEXT_ARRAY("$1::jsonb", "care_profiles") ", "
                                   RES_TEXT_ARRAY("$1::jsonb", "funding") ", "
                                   RES_TEXT_ARRAY("$1::jsonb", "wmo_municipalities") ", "
                                   "($1::jsonb->>'booking_mode')::booking_mode, "
                                   "($1::jsonb->>'min_nights')::int, "
                                   "($1::jsonb->>'max_nights')::int, "
                                   "($1::jsonb->>'lead_days')::int, "
                                   "($1::jsonb->>'horizon_days')::int, "
                                   "($1::jsonb->>'active')::boolean, "
                                   "($1::jsonb->>'intake_required')::boolean, "
                                   WEEKDAYS_ARRAY("$1::jsonb") ", "
                                   "coalesce($1::jsonb->'blocks', '[]'::jsonb), "
                                   "$1::jsonb->>'check_in_window', "
                                   "$1::jsonb->>'check_out_window', "
                                   "($1::jsonb->>'companion_places')::int, "
                                   "($1::jsonb->>'free_cancel_days')::int, "
                                   "($1::jsonb->>'allowance_required')::boolean, "
                                   "($1::jsonb->>'series_share_max_percent')::int FROM locations l "
                                   "WHERE l.id = ($1::jsonb->>'location_id')::uuid "
                                   "AND ($6::uuid IS NULL OR l.provider_id = $6::uuid)",
                                   POOL_JSON)))
        return -1;
    if (pools_prepare_stmt(app, "pools_get", RES_GET_SQL(POOL_JSON, "pools", "provider_id")))
        return -1;
    if (pools_prepare_stmt(app, "pools_list",
                    RES_LIST_SQL("pools", POOL_JSON, "pools", "provider_id",
                                 "($4::uuid IS NULL OR r.location_id = $4::uuid) "
                                 "AND ($5::pool_kind IS NULL OR r.kind = $5::pool_kind) "
                                 "AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM locations l "
                                 "WHERE l.id = r.location_id AND l.municipality = $6::text)) "
                                 "AND ($7::uuid IS NULL OR r.provider_id = $7::uuid)",
                                 "r.name, r.id")))
        return -1;
    return pools_prepare_stmt(app, "pools_patch",
                       RES_PATCH_SQL(POOL_JSON, "pools", "provider_id",
                                     RES_SET_TEXT("name") ", " RES_SET_CAST("kind", "pool_kind")
                                     ", " RES_SET_ARRAY("care_profiles") ", "
                                     RES_SET_ARRAY("funding") ", "
                                     RES_SET_ARRAY("wmo_municipalities") ", "
                                     RES_SET_CAST("booking_mode", "booking_mode") ", "
                                     RES_SET_CAST("min_nights", "int") ", "
                                     RES_SET_CAST("max_nights", "int") ", "
                                     RES_SET_CAST("lead_days", "int") ", "
                                     RES_SET_CAST("horizon_days", "int") ", "
                                     RES_SET_CAST("active", "boolean") ", "
                                     RES_SET_CAST("intake_required", "boolean") ", "
                                     RES_SET_CAST("allowance_required", "boolean") ", "
                                     "arrival_weekdays = CASE WHEN $1::jsonb ? "
                                     "'arrival_weekdays' THEN " WEEKDAYS_ARRAY("$1::jsonb")
                                     " ELSE r.arrival_weekdays END, "
                                     "blocks = CASE WHEN $1::jsonb ? 'blocks' THEN "
                                     "$1::jsonb->'blocks' ELSE r.blocks END, "
                                     RES_SET_TEXT("check_in_window") ", "
                                     RES_SET_TEXT("check_out_window") ", "
                                     RES_SET_CAST("companion_places", "int") ", "
                                     RES_SET_CAST("free_cancel_days", "int") ", "
                                     RES_SET_CAST("series_share_max_percent", "int"),
                                     "r.version"));
}

/* A non-empty subset of a vocabulary (care profiles, funding routes). */
static const cJSON *validate_subset(struct jsonv *v, const cJSON *body, const char *field,
                                    bool required, const char *const *names, cJSON *out)
{
    const cJSON *list;
    if (!jsonv_string_set(v, body, field, required, names, 16, &list))
        return NULL;
    if (!list->child) {
        jsonv_error(v, field, "must name at least one");
        return NULL;
    }
    cJSON_AddItemToObject(out, field, cJSON_Duplicate(list, true));
    return list;
}

static bool contains(const cJSON *list, const char *s)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0)
            return true;
    }
    return false;
}

/* CBS codes of the municipalities whose Wmo contract covers the pool; whether each exists is
 * the database's to say (pools_wmo_municipalities_fkey). */
static const cJSON *validate_wmo(struct jsonv *v, const cJSON *body, cJSON *out, bool *ok)
{
    const cJSON *list;
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(body, "wmo_municipalities");
    *ok = true;
    if (!jsonv_string_set(v, body, "wmo_municipalities", false, NULL, MAX_WMO_MUNICIPALITIES,
                          &list)) {
        *ok = !given || cJSON_IsNull(given); /* absent is fine; anything else was refused */
        return NULL;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        if (!res_is_cbs_code(e->valuestring)) {
            jsonv_error(v, "wmo_municipalities", "must contain CBS codes such as GM0106");
            *ok = false;
            return NULL;
        }
    }
    cJSON_AddItemToObject(out, "wmo_municipalities", cJSON_Duplicate(list, true));
    return list;
}

/* Adds field to out when it is valid; on create an absent field gets its default. Returns
 * true when the value in out (given or default) is known. */
static bool validate_int(struct jsonv *v, const cJSON *body, const char *field, bool create,
                         long min, long max, long dflt, cJSON *out, long *value)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, field);
    if (!item || cJSON_IsNull(item)) {
        if (!create)
            return false;
        *value = dflt;
    } else if (!jsonv_int(v, body, field, false, min, max, value)) {
        return false;
    }
    cJSON_AddNumberToObject(out, field, (double)*value);
    return true;
}

struct pool_numbers {
    long min_nights, max_nights, lead_days, horizon_days;
    bool has_min, has_max, has_lead, has_horizon;
};

/* The rules between fields, where both sides are in the request (or defaults on create).
 * A PATCH that gives only one side is checked by the schema's constraints instead. */
static void check_relations(struct jsonv *v, const struct pool_numbers *n)
{
    if (n->has_min && n->has_max && n->max_nights < n->min_nights) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be at least min_nights (%ld)", n->min_nights);
        jsonv_error(v, "max_nights", msg);
    }
    if (n->has_lead && n->has_horizon && n->lead_days >= n->horizon_days) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be less than horizon_days (%ld)", n->horizon_days);
        jsonv_error(v, "lead_days", msg);
    }
}

static void validate_numbers(struct jsonv *v, const cJSON *body, cJSON *out, bool create)
{
    struct pool_numbers n = {0};
    n.has_min = validate_int(v, body, "min_nights", create, 1, MAX_NIGHTS, 1, out, &n.min_nights);
    n.has_max = validate_int(v, body, "max_nights", create, 1, MAX_NIGHTS, 14, out, &n.max_nights);
    n.has_lead = validate_int(v, body, "lead_days", create, 0, MAX_LEAD_DAYS, 0, out, &n.lead_days);
    n.has_horizon = validate_int(v, body, "horizon_days", create, 1, MAX_HORIZON_DAYS, 365, out,
                                 &n.horizon_days);
    check_relations(v, &n);
}

/* arrival_weekdays: distinct ISO weekdays, stored in ascending order. */
static void validate_weekdays(struct jsonv *v, const cJSON *body, cJSON *out)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "arrival_weekdays");
    if (!list || cJSON_IsNull(list))
        return;
    unsigned seen = 0;
    const cJSON *e;
    bool ok = cJSON_IsArray(list);
    const cJSON *array = ok ? list : NULL;
    cJSON_ArrayForEach(e, array)
    {
        double d = e->valuedouble;
        int day = cJSON_IsNumber(e) && d == floor(d) && d >= 1 && d <= 7 ? (int)d : 0;
        if (!day || (seen & (1u << day))) {
            ok = false;
            break;
        }
        seen |= 1u << day;
    }
    if (!ok) {
        jsonv_error(v, "arrival_weekdays", ARRIVAL_MESSAGE);
        return;
    }
    cJSON *days = cJSON_AddArrayToObject(out, "arrival_weekdays");
    for (int day = 1; day <= 7; day++)
        if (seen & (1u << day))
            cJSON_AddItemToArray(days, cJSON_CreateNumber(day));
}

/* blocks: at most CORE_MAX_BLOCKS distinct {arrive, nights}; errors name the block, e.g.
 * "blocks[1].nights". */
static void validate_blocks(struct jsonv *v, const cJSON *body, cJSON *out)
{
    static const char *const block_known[] = {"arrive", "nights", NULL};
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "blocks");
    if (!list || cJSON_IsNull(list))
        return;
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > CORE_MAX_BLOCKS) {
        jsonv_error(v, "blocks", BLOCKS_MESSAGE);
        return;
    }
    cJSON *blocks = cJSON_CreateArray();
    unsigned char seen[8][CORE_BLOCK_MAX_NIGHTS + 1] = {{0}};
    bool ok = true;
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        char prefix[24];
        snprintf(prefix, sizeof prefix, "blocks[%d].", i++);
        if (!cJSON_IsObject(e)) {
            char field[24];
            snprintf(field, sizeof field, "blocks[%d]", i - 1);
            jsonv_error(v, field, "must be an object {\"arrive\": 1..7, \"nights\": 1..28}");
            ok = false;
            continue;
        }
        struct jsonv bv;
        jsonv_init(&bv);
        jsonv_only(&bv, e, block_known);
        long arrive = 0, nights = 0;
        bool has = jsonv_int(&bv, e, "arrive", true, 1, 7, &arrive);
        has &= jsonv_int(&bv, e, "nights", true, 1, CORE_BLOCK_MAX_NIGHTS, &nights);
        if (has && jsonv_ok(&bv) && seen[arrive][nights]) {
            char field[24];
            snprintf(field, sizeof field, "blocks[%d]", i - 1);
            jsonv_error(v, field, "is the same block as one before it");
            ok = false;
        } else if (has && jsonv_ok(&bv)) {
            seen[arrive][nights] = 1;
            cJSON *b = cJSON_CreateObject();
            cJSON_AddNumberToObject(b, "arrive", (double)arrive);
            cJSON_AddNumberToObject(b, "nights", (double)nights);
            cJSON_AddItemToArray(blocks, b);
        }
        ok &= jsonv_ok(&bv);
        res_nest_errors(v, &bv, prefix);
    }
    if (ok)
        cJSON_AddItemToObject(out, "blocks", blocks);
    else
        cJSON_Delete(blocks);
}

/* "HH:MM-HH:MM" on a 24-hour clock, the start before the end (as logeer_window_valid). */
static bool window_ok(const char *s)
{
    static const int at[4] = {0, 3, 6, 9}; /* HH, MM, HH, MM */
    if (strlen(s) != 11 || s[2] != ':' || s[5] != '-' || s[8] != ':')
        return false;
    int t[4];
    for (int k = 0; k < 4; k++) {
        const char *p = s + at[k];
        if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
            return false;
        t[k] = (p[0] - '0') * 10 + (p[1] - '0');
    }
    if (t[0] > 23 || t[2] > 23 || t[1] > 59 || t[3] > 59)
        return false;
    return t[0] * 60 + t[1] < t[2] * 60 + t[3];
}

/* A window, or null to have none (on PATCH: to clear it). */
static void validate_window(struct jsonv *v, const cJSON *body, const char *field, cJSON *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, field);
    if (!item)
        return;
    if (cJSON_IsNull(item))
        cJSON_AddNullToObject(out, field);
    else if (!cJSON_IsString(item) || !window_ok(item->valuestring))
        jsonv_error(v, field, WINDOW_MESSAGE);
    else
        cJSON_AddStringToObject(out, field, item->valuestring);
}

/* The fields POST and PATCH share. On create, required fields must be there and the others
 * get their defaults, so the document is complete. */
static void validate_fields(struct jsonv *v, const cJSON *body, cJSON *out, bool create)
{
    const char *s;
    int i;
    bool b;
    if (res_text(v, body, "name", create, 200, &s))
        cJSON_AddStringToObject(out, "name", s);
    if (jsonv_enum(v, body, "kind", create, core_kind_names, &i))
        cJSON_AddStringToObject(out, "kind", core_kind_names[i]);
    validate_subset(v, body, "care_profiles", create, core_care_profile_names, out);
    const cJSON *funding = validate_subset(v, body, "funding", create, core_funding_names, out);
    bool wmo_ok;
    const cJSON *wmo = validate_wmo(v, body, out, &wmo_ok);
    /* On PATCH both sides must be in the request to be compared here; otherwise the stored
     * side is only known to the database (pools_wmo_needs_municipalities). */
    if (funding && wmo_ok && (create || wmo)) {
        bool wants = contains(funding, "wmo"), names = wmo && wmo->child;
        if (wants && !names)
            jsonv_error(v, "wmo_municipalities", "is required when funding includes wmo: the "
                                                 "municipalities whose Wmo contract covers this pool");
        else if (!wants && names)
            jsonv_error(v, "wmo_municipalities", "must be empty unless funding includes wmo");
    }
    if (jsonv_enum(v, body, "booking_mode", false, core_mode_names, &i))
        cJSON_AddStringToObject(out, "booking_mode", core_mode_names[i]);
    else if (create)
        cJSON_AddStringToObject(out, "booking_mode", "approval");
    validate_numbers(v, body, out, create);
    if (jsonv_bool(v, body, "active", false, &b))
        cJSON_AddBoolToObject(out, "active", b);
    else if (create)
        cJSON_AddBoolToObject(out, "active", true);
    if (jsonv_bool(v, body, "intake_required", false, &b))
        cJSON_AddBoolToObject(out, "intake_required", b);
    else if (create)
        cJSON_AddBoolToObject(out, "intake_required", false);
    if (jsonv_bool(v, body, "allowance_required", false, &b))
        cJSON_AddBoolToObject(out, "allowance_required", b);
    else if (create)
        cJSON_AddBoolToObject(out, "allowance_required", false);
    validate_weekdays(v, body, out);
    validate_blocks(v, body, out);
    validate_window(v, body, "check_in_window", out);
    validate_window(v, body, "check_out_window", out);
    long n;
    validate_int(v, body, "companion_places", create, 0, MAX_COMPANION_PLACES, 0, out, &n);
    /* Of each night's beds, the share recurring stays (series) may hold; see series.c. */
    validate_int(v, body, "series_share_max_percent", create, 0, 100, DEFAULT_SERIES_SHARE, out,
                 &n);
    /* null means "always free" (the default), so it is kept as a JSON null, not a default. */
    const cJSON *fc = cJSON_GetObjectItemCaseSensitive(body, "free_cancel_days");
    if (cJSON_IsNull(fc))
        cJSON_AddNullToObject(out, "free_cancel_days");
    else if (fc && jsonv_int(v, body, "free_cancel_days", false, 0, MAX_FREE_CANCEL_DAYS, &n))
        cJSON_AddNumberToObject(out, "free_cancel_days", (double)n);
}

static void pools_create(struct api_ctx *c)
{
    static const char *const known[] = {"location_id", "name", "kind", "care_profiles",
                                        "funding", "wmo_municipalities", "booking_mode",
                                        "min_nights", "max_nights", "lead_days",
                                        "horizon_days", "active", "intake_required",
                                        "allowance_required", "arrival_weekdays", "blocks",
                                        "check_in_window", "check_out_window", "companion_places",
                                        "free_cancel_days", "series_share_max_percent", NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    cJSON *doc = cJSON_CreateObject();
    const char *location;
    if (jsonv_string(&v, c->body, "location_id", true, 1, 64, &location)) {
        if (api_is_uuid(location))
            cJSON_AddStringToObject(doc, "location_id", location);
        else
            jsonv_error(&v, "location_id", "must be a location id");
    }
    validate_fields(&v, c->body, doc, true);
    res_create(c, "pools_create", doc, &v, &pool_create_call);
}

static void pools_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *l = res_arg_id(c, &a, "location_id", "must be a location id");
    const char *k = res_arg(c, &a, "kind", 16);
    const char *m = res_arg(c, &a, "municipality", 16);
    const char *p = res_arg_id(c, &a, "provider_id", "must be a provider id");
    if (k && core_name_index(core_kind_names, k) < 0)
        jsonv_error(&a.v, "kind", "must be planned or crisis");
    if (m && !res_is_cbs_code(m))
        jsonv_error(&a.v, "municipality", "must be a CBS code such as GM0106");
    const char *filters[] = {l, k, m, p};
    res_list(c, "pools_list", &a, filters, 4);
}

static void pools_get(struct api_ctx *c) { res_get_id(c, &pool_call); }

static void pools_patch(struct api_ctx *c)
{
    static const char *const known[] = {"name", "kind", "care_profiles", "funding",
                                        "wmo_municipalities", "booking_mode", "min_nights",
                                        "max_nights", "lead_days", "horizon_days", "active",
                                        "intake_required", "allowance_required",
                                        "arrival_weekdays", "blocks", "check_in_window",
                                        "check_out_window", "location_id", "companion_places",
                                        "free_cancel_days", "series_share_max_percent", NULL};
    static const char *const nullable[] = {"check_in_window", "check_out_window",
                                           "free_cancel_days", NULL};
    const char *id = res_id(c, pool_call.missing);
    if (!id)
        return;
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    res_refuse_nulls(&v, c->body, nullable);
    if (cJSON_GetObjectItemCaseSensitive(c->body, "location_id"))
        jsonv_error(&v, "location_id", "cannot be changed; create a pool at the other location");
    cJSON *patch = cJSON_CreateObject();
    validate_fields(&v, c->body, patch, false);
    res_patch(c, "pools_patch", id, patch, &v, &pool_call);
}

static const struct api_endpoint create = {pools_create, true};
static const struct api_endpoint list = {pools_list, false};
static const struct api_endpoint get = {pools_get, false};
static const struct api_endpoint patch = {pools_patch, true};

#define READERS (ROLE_PROVIDER | ROLE_COORDINATOR | ROLE_ADMIN)
#define WRITERS (ROLE_PROVIDER | ROLE_ADMIN)

static const struct route pool_routes[] = {
    {HTTP_POST, "/v1/pools", &create, WRITERS},
    {HTTP_GET, "/v1/pools", &list, READERS},
    {HTTP_GET, "/v1/pools/{id}", &get, READERS},
    {HTTP_PATCH, "/v1/pools/{id}", &patch, WRITERS},
};

ROUTE_GROUP(pools_group, pool_routes, pools_prepare);
