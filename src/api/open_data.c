/* open_data: the open figures (GET /v1/open/availability[.csv]): free planned logeer nights
 * per municipality per ISO week, per care profile, and per location only where the provider
 * chose so (GET/PATCH /v1/locations/{id}/open-data). Anyone may read them without an account,
 * under a rate limit of their own and the CC0 licence. Never shows a person, a stay, a crisis
 * pool or a location that did not opt in; docs/open-data.md says why the figures are safe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "handlers.h"
#include "logeer/clock.h"
#include "logeer/config.h"
#include "logeer/csv.h"
#include "logeer/ratelimit.h"
#include "resource.h"

#define WEEKS_DEFAULT 12
/* The longest pool horizon the schema allows (1096 days) in whole weeks. */
#define WEEKS_CAP 157
/* Long enough for a CDN to absorb a crowd, short enough that a cancellation shows within
 * minutes; the ETag makes each revalidation cheap. */
#define OPEN_CACHE "public, max-age=300"
#define LICENCE_URL "https://creativecommons.org/publicdomain/zero/1.0/"

/* The open figures' own token buckets per client address, apart from the visitors' search
 * (dispatch.c): a newsroom refreshing a chart must not use up a caregiver's searches, nor the
 * other way round. One table per process, made at start-up. */
static struct ratelimit *open_limit;

/* Free beds count on the nights a stay could now start on in that pool (from lead_days to
 * horizon_days ahead), from today on; capacity, held and booked come from pool_nights, the
 * table the overbooking guard protects, so the figures agree with the search. $1 weeks. */
#define OPEN_POOL_WEEKS                                                                      \
    "WITH t AS (SELECT (now() AT TIME ZONE 'Europe/Amsterdam')::date AS today), "            \
    "wk AS (SELECT w, date_trunc('week', t.today)::date + 7 * w AS start, t.today "           \
    "FROM t, generate_series(0, $1::int - 1) AS w), "                                         \
    "pw AS (SELECT wk.w, p.location_id, p.care_profiles, "                                    \
    "sum(greatest(n.capacity - n.held - n.booked, 0)) AS free, sum(n.capacity) AS beds "      \
    "FROM wk JOIN pool_nights n ON n.night >= greatest(wk.start, wk.today) "                  \
    "AND n.night < wk.start + 7 JOIN pools p ON p.id = n.pool_id "                            \
    "WHERE p.kind = 'planned' AND p.active AND n.night >= wk.today + p.lead_days "            \
    "AND n.night < wk.today + p.horizon_days GROUP BY wk.w, p.id), "                          \
    "lw AS (SELECT pw.*, l.municipality FROM pw JOIN locations l ON l.id = pw.location_id)"

#define WEEK_LABEL "to_char(wk.start, 'IYYY-\"W\"IW')"

/* Sums per municipality, per municipality and care profile, and per opted-in location, each
 * by one GROUP BY and joined by hash: a national region (hundreds of municipalities, thousands
 * of pools) costs a few aggregations, not a subquery per cell. A pool serving two profiles
 * counts under both, so the profiles need not add up to the total. */
#define OPEN_SUMS                                                                            \
    "mw AS (SELECT municipality, w, sum(free) AS f, sum(beds) AS b FROM lw GROUP BY 1, 2), "  \
    "mp AS (SELECT municipality, w, json_object_agg(cp, json_build_object('free_nights', f, " \
    "'bed_nights', b) ORDER BY cp) AS profiles FROM (SELECT municipality, w, cp, "            \
    "sum(free) AS f, sum(beds) AS b FROM lw, unnest(lw.care_profiles) AS cp GROUP BY 1, 2, 3) " \
    "AS x GROUP BY 1, 2), "                                                                   \
    "shown AS (SELECT l.id, l.name, l.municipality FROM locations l WHERE l.open_data_detail " \
    "AND EXISTS (SELECT 1 FROM pools p WHERE p.location_id = l.id AND p.kind = 'planned' "    \
    "AND p.active)), "                                                                        \
    "sw AS (SELECT location_id, w, sum(free) AS f, sum(beds) AS b FROM lw "                   \
    "WHERE location_id IN (SELECT id FROM shown) GROUP BY 1, 2), "                            \
    "mweeks AS (SELECT m.code, json_agg(json_build_object('week', " WEEK_LABEL ", "           \
    "'free_nights', coalesce(mw.f, 0), 'bed_nights', coalesce(mw.b, 0), "                     \
    "'care_profiles', coalesce(mp.profiles, '{}'::json)) ORDER BY wk.w) AS weeks "            \
    "FROM municipalities m CROSS JOIN wk LEFT JOIN mw ON mw.municipality = m.code "           \
    "AND mw.w = wk.w LEFT JOIN mp ON mp.municipality = m.code AND mp.w = wk.w "               \
    "GROUP BY m.code), "                                                                      \
    "lweeks AS (SELECT s.municipality, json_agg(json_build_object('id', s.id, 'name', s.name, " \
    "'weeks', s.weeks) ORDER BY s.name, s.id) AS locations FROM (SELECT shown.*, "            \
    "json_agg(json_build_object('week', " WEEK_LABEL ", 'free_nights', coalesce(sw.f, 0), "   \
    "'bed_nights', coalesce(sw.b, 0)) ORDER BY wk.w) AS weeks FROM shown CROSS JOIN wk "      \
    "LEFT JOIN sw ON sw.location_id = shown.id AND sw.w = wk.w "                              \
    "GROUP BY shown.id, shown.name, shown.municipality) AS s GROUP BY s.municipality) "

#define OPEN_AVAILABILITY_SQL                                                                \
    OPEN_POOL_WEEKS ", " OPEN_SUMS                                                           \
    "SELECT json_build_object("                                                               \
    "'licence', json_build_object('id', 'CC0-1.0', 'name', 'CC0 1.0 Universal', "            \
    "'url', '" LICENCE_URL "'), "                                                             \
    "'as_of', (SELECT today FROM t), "                                                        \
    "'weeks', (SELECT json_agg(json_build_object('week', " WEEK_LABEL ", 'start', wk.start, " \
    "'end', wk.start + 7, 'nights', wk.start + 7 - greatest(wk.start, wk.today)) "            \
    "ORDER BY wk.w) FROM wk), "                                                               \
    "'municipalities', (SELECT json_agg(json_build_object('code', m.code, 'name', m.name, "  \
    "'weeks', mweeks.weeks, 'locations', coalesce(lweeks.locations, '[]'::json)) "            \
    "ORDER BY m.name) FROM municipalities m JOIN mweeks ON mweeks.code = m.code "             \
    "LEFT JOIN lweeks ON lweeks.municipality = m.code))::text, "                              \
    "(SELECT ceil(max(horizon_days) / 7.0)::int FROM pools "                                  \
    "WHERE kind = 'planned' AND active)"

#define OPEN_SETTING_JSON                                                                    \
    "json_build_object('location_id', r.id, 'publish_location', r.open_data_detail)"

static int open_data_prepare(struct app *app)
{
    open_limit = ratelimit_new(app->cfg->open_rate, app->cfg->open_burst); /* NULL: off */
    if (api_prepare(app, "open_availability", OPEN_AVAILABILITY_SQL))
        return -1;
    if (api_prepare(app, "open_setting_get",
                    "SELECT " OPEN_SETTING_JSON "::text FROM locations r "
                    "WHERE r.id = $1::uuid AND " RES_OWNED("provider_id", "2")))
        return -1;
    return api_prepare(app, "open_setting_set",
                       "UPDATE locations r SET open_data_detail = $3::boolean "
                       "WHERE r.id = $1::uuid AND " RES_OWNED("provider_id", "2") " "
                       "RETURNING " OPEN_SETTING_JSON "::text");
}

static void open_data_shutdown(struct app *app)
{
    (void)app;
    ratelimit_free(open_limit);
    open_limit = NULL;
}

/* ---- GET /v1/open/availability[.csv] ------------------------------------------------------ */

struct open_state {
    bool csv;
    bool weeks_given;  /* the client named ?weeks=; otherwise the default fits the horizon */
    long weeks;
};

static bool open_allowed(struct api_ctx *c)
{
    return api_rate_allowed(c, open_limit,
                            "too many requests for the open figures from this address; they "
                            "change slowly: cache them and try again after Retry-After seconds");
}

static int json_int(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valueint : 0;
}

static const char *json_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One CSV record; location and profile are NULL / "all" for the municipality's total. */
static void csv_row(struct csv *out, const cJSON *m, const cJSON *loc, const cJSON *week,
                    const char *start, const char *profile, const cJSON *figures)
{
    csv_text(out, json_str(m, "code"));
    csv_text(out, json_str(m, "name"));
    csv_text(out, loc ? json_str(loc, "id") : NULL);
    csv_text(out, loc ? json_str(loc, "name") : NULL);
    csv_text(out, json_str(week, "week"));
    csv_text(out, start);
    csv_text(out, profile);
    csv_number(out, json_int(figures, "free_nights"));
    csv_number(out, json_int(figures, "bed_nights"));
    csv_end_record(out);
}

/* The JSON answer as one flat table: a municipality's total per week ("all"), then its care
 * profiles, then each opted-in location. The licence travels in the file name's page and in
 * the Link header, since CSV has no place for it. */
static char *open_csv(const cJSON *doc, size_t *len)
{
    static const char *const headers[] = {"municipality", "municipality_name", "location_id",
                                          "location_name", "week", "week_start",
                                          "care_profile", "free_nights", "bed_nights"};
    struct csv out;
    csv_init(&out);
    csv_bom(&out);
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
        csv_text(&out, headers[i]);
    csv_end_record(&out);
    const cJSON *weeks = cJSON_GetObjectItemCaseSensitive(doc, "weeks"), *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(doc, "municipalities"))
    {
        int i = 0;
        const cJSON *w, *loc;
        cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(m, "weeks"))
        {
            const char *start = json_str(cJSON_GetArrayItem(weeks, i++), "start");
            csv_row(&out, m, NULL, w, start, "all", w);
            const cJSON *p;
            cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(w, "care_profiles"))
                csv_row(&out, m, NULL, w, start, p->string, p);
        }
        cJSON_ArrayForEach(loc, cJSON_GetObjectItemCaseSensitive(m, "locations"))
        {
            i = 0;
            cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(loc, "weeks"))
            {
                const char *start = json_str(cJSON_GetArrayItem(weeks, i++), "start");
                csv_row(&out, m, loc, w, start, "all", w);
            }
        }
    }
    return csv_take(&out, len);
}

static void open_answered(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    const struct open_state *st = c->state;
    /* Without planned pools there is no horizon; the default is then the limit. */
    long max = db_is_null(r->res, 0, 1) ? WEEKS_DEFAULT : atol(db_value(r->res, 0, 1));
    if (max < 1)
        max = 1;
    if (st->weeks > max) {
        if (!st->weeks_given) {
            /* The default is more than the region plans ahead: ask again for what there is. */
            struct open_state *again = c->state;
            again->weeks = max;
            char weeks[24];
            snprintf(weeks, sizeof weeks, "%ld", max);
            const char *params[] = {weeks};
            api_query_read(c, "open_availability", 1, params, open_answered);
            return;
        }
        char message[96];
        snprintf(message, sizeof message,
                 "must be at most %ld: no pool in the region books further ahead", max);
        res_reply_field(c, "weeks", message, "the region does not plan that far ahead");
        return;
    }
    const char *json = db_value(r->res, 0, 0);
    http_reply_header(c->req, "Vary", "Accept");
    http_reply_header(c->req, "Access-Control-Allow-Origin", "*");
    http_reply_header(c->req, "Link", "<" LICENCE_URL ">; rel=\"license\"");
    if (!st->csv) {
        res_reply_tagged(c, "application/json", json, strlen(json), OPEN_CACHE);
        return;
    }
    cJSON *doc = cJSON_Parse(json);
    size_t len = 0;
    char *text = doc ? open_csv(doc, &len) : NULL;
    cJSON_Delete(doc);
    if (!text) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not write the CSV");
        return;
    }
    http_reply_header(c->req, "Content-Disposition",
                      "inline; filename=\"vrije-logeerplekken.csv\"");
    res_reply_tagged(c, "text/csv; charset=utf-8; header=present", text, len, OPEN_CACHE);
    free(text);
}

static void open_run(struct api_ctx *c, bool csv_route)
{
    if (!open_allowed(c))
        return;
    struct res_args a;
    res_args_init(&a);
    const char *weeks = res_arg(c, &a, "weeks", 8);
    const char *format = res_arg(c, &a, "format", 8);
    long n = WEEKS_DEFAULT;
    if (weeks && !res_parse_long(weeks, 1, WEEKS_CAP, &n))
        jsonv_error(&a.v, "weeks", "must be a whole number of weeks from 1 to 157");
    bool csv = csv_route;
    if (format && strcmp(format, "csv") == 0)
        csv = true;
    else if (format && strcmp(format, "json") != 0)
        jsonv_error(&a.v, "format", "must be json or csv");
    else if (!format && !csv_route) {
        const char *accept = http_request_header(c->req, "Accept");
        csv = accept && strcasestr(accept, "text/csv") != NULL;
    }
    if (!res_args_ok(c, &a, "the question for the open figures is not valid"))
        return;
    struct open_state *st = res_state_new(c, sizeof *st, NULL);
    if (!st)
        return;
    st->csv = csv;
    st->weeks = n;
    st->weeks_given = weeks != NULL;
    char text[24];
    snprintf(text, sizeof text, "%ld", n);
    const char *params[] = {text};
    api_query_read(c, "open_availability", 1, params, open_answered);
}

static void open_availability(struct api_ctx *c) { open_run(c, false); }
static void open_availability_csv(struct api_ctx *c) { open_run(c, true); }

/* ---- GET/PATCH /v1/locations/{id}/open-data ----------------------------------------------- */

#define LOCATION_MISSING "location not found"

static void setting_answered(struct api_ctx *c, const struct db_result *r)
{
    if (res_one_row(c, r, LOCATION_MISSING)) {
        http_reply_header(c->req, "Cache-Control", "no-store");
        res_reply_body(c, 200, db_value(r->res, 0, 0));
    }
}

static void open_setting_get(struct api_ctx *c)
{
    const char *id = res_id(c, LOCATION_MISSING);
    if (!id)
        return;
    const char *params[] = {id, res_scope(c)};
    api_query(c, "open_setting_get", 2, params, setting_answered);
}

/* Only the provider's own staff decide: it is their location's figure that becomes public. */
static void open_setting_set(struct api_ctx *c)
{
    const char *id = res_id(c, LOCATION_MISSING);
    if (!id)
        return;
    static const char *const known[] = {"publish_location", NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    bool publish = false;
    jsonv_bool(&v, c->body, "publish_location", true, &publish);
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "the open-figures setting is not valid");
        return;
    }
    const char *params[] = {id, res_scope(c), publish ? "true" : "false"};
    api_query(c, "open_setting_set", 3, params, setting_answered);
}

static const struct api_endpoint open_ep = {open_availability, false};
static const struct api_endpoint open_csv_ep = {open_availability_csv, false};
static const struct api_endpoint setting_get_ep = {open_setting_get, false};
static const struct api_endpoint setting_set_ep = {open_setting_set, true};

/* The figures need no login (roles 0: credentials sent along are not even looked at); the
 * setting is the provider's, read also by the coordinator. */
static const struct route open_routes[] = {
    {HTTP_GET, "/v1/open/availability", &open_ep, 0},
    {HTTP_GET, "/v1/open/availability.csv", &open_csv_ep, 0},
    {HTTP_GET, "/v1/locations/{id}/open-data", &setting_get_ep, ROLE_PROVIDER | ROLE_COORDINATOR},
    {HTTP_PATCH, "/v1/locations/{id}/open-data", &setting_set_ep, ROLE_PROVIDER},
};

ROUTE_GROUP_SHUTDOWN(open_data_group, open_routes, open_data_prepare, open_data_shutdown);
