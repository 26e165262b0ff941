/* reports: GET /v1/reports/occupancy, demand, intakes, first-stay, allowance-use and
 * guarantee for the regional coordinator (intakes also for provider staff, their own), and
 * /v1/reports/cancellations for the coordinator and provider staff (their own), as JSON or as
 * CSV for a spreadsheet. Every figure is a SQL aggregate computed by one database function per
 * report (migrations/0008_reports.sql, 0015_companion_cancellation.sql,
 * 0016_reports_guarantee.sql); this file validates the question, picks the format and
 * flattens the JSON into CSV columns. It never computes a figure itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/core.h"
#include "logeer/csv.h"
#include "logeer/date.h"
#include "logeer/jsonv.h"
#include "resource.h"

/* Windows longer than three years say nothing a coordinator can act on and cost a full scan. */
#define REPORT_MAX_DAYS 1096
/* Night-by-night rows multiply quickly (groups x nights); a year is plenty for a spreadsheet. */
#define REPORT_MAX_NIGHT_DAYS 366
#define OCCUPANCY_DEFAULT_DAYS 84
#define DEMAND_DEFAULT_DAYS 90

static int cancellations_prepare(struct app *app);

static int reports_prepare(struct app *app)
{
    if (api_prepare(app, "report_occupancy", "SELECT logeer_report_occupancy($1::jsonb)::text"))
        return -1;
    if (api_prepare(app, "report_demand", "SELECT logeer_report_demand($1::jsonb)::text"))
        return -1;
    if (cancellations_prepare(app))
        return -1;
    if (api_prepare(app, "report_intakes", "SELECT logeer_report_intakes($1::jsonb)::text"))
        return -1;
    if (api_prepare(app, "report_first_stay",
                    "SELECT logeer_report_first_stay($1::jsonb)::text"))
        return -1;
    if (api_prepare(app, "report_allowance_use",
                    "SELECT logeer_report_allowance_use($1::jsonb)::text"))
        return -1;
    return api_prepare(app, "report_guarantee", "SELECT logeer_report_guarantee($1::jsonb)::text");
}

/* ---- CSV layout ------------------------------------------------------------------------- */

/* A CSV file is one table: each section of the JSON (group rows, region totals, stale pools)
 * becomes records whose first column names the section, and each column reads one member of
 * the section's objects by a dotted path. A NULL path leaves the column empty. */
#define MAX_COLUMNS 20

struct csv_section {
    const char *name;                 /* the value of the "section" column */
    const char *source;               /* dotted path to an array, or to one object */
    const char *paths[MAX_COLUMNS];   /* per column after "section" */
};

struct csv_layout {
    const char *const *headers;       /* NULL-terminated; the first is "section" */
    const struct csv_section *sections;
    size_t nsections;
};

static const char *const occupancy_headers[] = {
    "section", "group_id", "group_name", "period", "period_start", "period_end",
    "capacity_nights", "booked_nights", "held_nights", "free_nights", "occupancy_pct", "pools",
    "provider_id", "provider_name", "as_of", "days_stale", NULL};

#define OCC_FIGURES "period", "period_start", "period_end", "capacity_nights", "booked_nights", \
                    "held_nights", "free_nights", "occupancy_pct"

static const struct csv_section occupancy_sections[] = {
    {"group", "rows", {"group.id", "group.name", OCC_FIGURES, NULL, NULL, NULL, NULL, NULL}},
    {"region", "totals", {NULL, NULL, OCC_FIGURES, NULL, NULL, NULL, NULL, NULL}},
    {"region", "total", {NULL, NULL, OCC_FIGURES, NULL, NULL, NULL, NULL, NULL}},
    {"stale", "stale", {NULL, NULL, OCC_FIGURES, "pools", NULL, NULL, NULL, NULL}},
    {"stale_pool", "stale.list",
     {"pool_id", "pool_name", "period", NULL, NULL, "capacity_nights", "booked_nights",
      "held_nights", "free_nights", "occupancy_pct", NULL, "provider_id", "provider_name",
      "as_of", "days_stale"}},
};

static const char *const demand_headers[] = {
    "section", "group_id", "group_name", "requests", "placed", "declined", "declined_by_reason",
    "cancelled", "no_shows", "expired_holds", "waitlisted_now", "waiting_days_median",
    "waiting_days_max", "days_to_confirmed_median", "days_to_confirmed_p90", "searches",
    "searches_without_result", "diversions", "diversion_nights", NULL};

#define DEMAND_FIGURES "requests", "placed", "declined", "declined_by_reason", "cancelled", \
                       "no_shows", "expired_holds", "waitlisted_now", "waiting_days_median",  \
                       "waiting_days_max", "days_to_confirmed_median",                       \
                       "days_to_confirmed_p90", "searches", "searches_without_result",       \
                       "diversions", "diversion_nights"

static const struct csv_section demand_sections[] = {
    {"group", "rows", {"group.id", "group.name", DEMAND_FIGURES}},
    {"region", "total", {NULL, NULL, DEMAND_FIGURES}},
};

static const struct csv_layout occupancy_layout = {occupancy_headers, occupancy_sections,
                                                   sizeof occupancy_sections / sizeof occupancy_sections[0]};
static const struct csv_layout demand_layout = {demand_headers, demand_sections,
                                                sizeof demand_sections / sizeof demand_sections[0]};

static const cJSON *json_path(const cJSON *o, const char *path)
{
    char part[64];
    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof part)
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        o = cJSON_GetObjectItemCaseSensitive(o, part);
        path += n + (dot ? 1 : 0);
    }
    return o;
}

/* [{"reason": "...", "count": n}] as "reason: n; reason: n", readable in one cell. */
static void csv_reasons(struct csv *out, const cJSON *list)
{
    size_t size = 1;
    const cJSON *r;
    cJSON_ArrayForEach(r, list)
    {
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(r, "reason");
        size += (cJSON_IsString(reason) ? strlen(reason->valuestring) : 0) + 32;
    }
    char *text = calloc(1, size);
    if (!text) {
        csv_text(out, NULL);
        return;
    }
    size_t len = 0;
    cJSON_ArrayForEach(r, list)
    {
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(r, "reason");
        const cJSON *count = cJSON_GetObjectItemCaseSensitive(r, "count");
        len += (size_t)snprintf(text + len, size - len, "%s%s: %d", len ? "; " : "",
                                cJSON_IsString(reason) ? reason->valuestring : "",
                                cJSON_IsNumber(count) ? count->valueint : 0);
    }
    csv_text(out, text);
    free(text);
}

static void csv_cell(struct csv *out, const cJSON *v)
{
    if (cJSON_IsNumber(v))
        csv_number(out, v->valuedouble);
    else if (cJSON_IsString(v))
        csv_text(out, v->valuestring);
    else if (cJSON_IsBool(v))
        csv_text(out, cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsArray(v))
        csv_reasons(out, v);
    else
        csv_text(out, NULL);
}

static void csv_record(struct csv *out, const struct csv_layout *l, const struct csv_section *s,
                       const cJSON *row)
{
    csv_text(out, s->name);
    for (size_t col = 1; l->headers[col]; col++) {
        const char *path = s->paths[col - 1];
        csv_cell(out, path ? json_path(row, path) : NULL);
    }
    csv_end_record(out);
}

/* Returns malloc'ed CSV text, or NULL when out of memory. */
static char *report_csv(const cJSON *report, const struct csv_layout *l, size_t *len)
{
    struct csv out;
    csv_init(&out);
    csv_bom(&out);
    for (size_t col = 0; l->headers[col]; col++)
        csv_text(&out, l->headers[col]);
    csv_end_record(&out);
    for (size_t i = 0; i < l->nsections; i++) {
        const struct csv_section *s = &l->sections[i];
        const cJSON *src = json_path(report, s->source);
        if (cJSON_IsArray(src)) {
            const cJSON *row;
            cJSON_ArrayForEach(row, src)
            csv_record(&out, l, s, row);
        } else if (cJSON_IsObject(src)) {
            csv_record(&out, l, s, src);
        }
    }
    return csv_take(&out, len);
}

/* ---- the question ------------------------------------------------------------------------ */

/* A report request after validation. */
struct report_state {
    const struct csv_layout *layout;
    char filename[128];
    bool csv;
};

/* True when the client asked for CSV: ?format=csv, or Accept naming text/csv without
 * ?format=json. Another format is an error in v. */
static bool wants_csv(struct api_ctx *c, const char *format, struct jsonv *v)
{
    if (format) {
        if (strcmp(format, "csv") == 0)
            return true;
        if (strcmp(format, "json") != 0)
            jsonv_error(v, "format", "must be json or csv");
        return false;
    }
    const char *accept = http_request_header(c->req, "Accept");
    return accept && strcasestr(accept, "text/csv") != NULL;
}

static void parse_window(struct jsonv *v, const char *from, const char *to, date_day dflt_from,
                         int dflt_days, int max_days, date_day *f, date_day *t)
{
    bool ok = true;
    *f = dflt_from;
    if (from && !date_parse(from, f)) {
        jsonv_error(v, "from", "must be a date YYYY-MM-DD");
        ok = false;
    }
    *t = *f + dflt_days;
    if (to && !date_parse(to, t)) {
        jsonv_error(v, "to", "must be a date YYYY-MM-DD");
        ok = false;
    }
    if (!ok)
        return;
    if (*t <= *f) {
        jsonv_error(v, "to", "must be after from (to is exclusive)");
    } else if (*t - *f > max_days) {
        char msg[96];
        snprintf(msg, sizeof msg, "at most %d days after from", max_days);
        jsonv_error(v, "to", msg);
    }
}

static void report_answered(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    const struct report_state *st = c->state;
    const char *json = db_value(r->res, 0, 0);
    http_reply_header(c->req, "Cache-Control", "no-store");
    http_reply_header(c->req, "Vary", "Accept");
    if (!st->csv) {
        res_reply_body(c, 200, json);
        return;
    }
    cJSON *report = cJSON_Parse(json);
    size_t len = 0;
    char *text = report ? report_csv(report, st->layout, &len) : NULL;
    cJSON_Delete(report);
    if (!text) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not write the CSV");
        return;
    }
    char disposition[200];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", st->filename);
    http_reply_header(c->req, "Content-Disposition", disposition);
    api_reply_raw(c, 200, "text/csv; charset=utf-8; header=present", text, len);
    free(text);
}

/* A CSV file is an export: the figures leave the service, so a session that needs a second
 * factor must have proven it within LOGEER_STEP_UP_S, as on the routes marked ROUTE_STEP_UP.
 * The same report as JSON (what the dashboard draws) asks nothing more. */
static bool export_allowed(struct api_ctx *c)
{
    long long age = (long long)time(NULL) - c->who.factor_at;
    if (!api_needs_factor(c) || (c->who.factor_at && age <= c->app->cfg->step_up_s))
        return true;
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "max_age", c->app->cfg->step_up_s);
    api_reply_problem_full(c, PROBLEM_STEP_UP,
                           "a CSV export needs your second factor proven a moment ago", NULL,
                           extra);
    return false;
}

/* Shared tail: the state, the argument for the database function, the query. */
static void report_run(struct api_ctx *c, const char *stmt, cJSON *arg, bool csv,
                       const struct csv_layout *layout, const char *filename)
{
    if (csv && !export_allowed(c)) {
        cJSON_Delete(arg);
        return;
    }
    struct report_state *st = res_state_new(c, sizeof *st, NULL);
    if (!st) {
        cJSON_Delete(arg);
        return;
    }
    st->csv = csv;
    st->layout = layout;
    snprintf(st->filename, sizeof st->filename, "%s", filename);
    /* Reports and their CSV exports are the heaviest reads: a replica takes them if there is
     * one (every report function is STABLE, so a hot standby runs it). */
    res_query_json_read(c, stmt, arg, report_answered);
}

/* What every report is asked: a window of nights, a grouping and a format. The texts live in
 * the query arguments a. */
struct report_question {
    struct res_args a;
    const char *group;                      /* group_by, the report's default, or NULL */
    char from[DATE_TEXT_LEN], to[DATE_TEXT_LEN];
    bool csv;
};

/* Reads the window (dflt_days from dflt_from unless given; at most max_days) and the format,
 * then answers 400 or 422 for everything read into q->a. Returns the database function's
 * argument with from, to and group_by, or NULL after replying. */
static cJSON *report_window(struct api_ctx *c, struct report_question *q, date_day dflt_from,
                            int dflt_days, int max_days)
{
    const char *from = res_arg(c, &q->a, "from", 16);
    const char *to = res_arg(c, &q->a, "to", 16);
    const char *format = res_arg(c, &q->a, "format", 8);
    date_day f, t;
    parse_window(&q->a.v, from, to, dflt_from, dflt_days, max_days, &f, &t);
    q->csv = wants_csv(c, format, &q->a.v);
    if (!res_args_ok(c, &q->a, "check the query parameters"))
        return NULL;
    date_format(f, q->from);
    date_format(t, q->to);
    cJSON *arg = cJSON_CreateObject();
    cJSON_AddStringToObject(arg, "from", q->from);
    cJSON_AddStringToObject(arg, "to", q->to);
    if (q->group)
        cJSON_AddStringToObject(arg, "group_by", q->group);
    return arg;
}

/* ---- GET /v1/reports/occupancy ----------------------------------------------------------- */

static const char *const periods[] = {"night", "week", "month", NULL};
static const char *const occupancy_groups[] = {"provider", "location", "municipality", "kind",
                                               "care_profile", NULL};

static void reports_occupancy(struct api_ctx *c)
{
    struct report_question q;
    res_args_init(&q.a);
    const char *period = res_arg(c, &q.a, "period", 16);
    q.group = res_arg(c, &q.a, "group_by", 24);
    period = period ? period : "week";
    q.group = q.group ? q.group : "provider";
    if (core_name_index(periods, period) < 0)
        jsonv_error(&q.a.v, "period", "must be night, week or month");
    if (core_name_index(occupancy_groups, q.group) < 0)
        jsonv_error(&q.a.v, "group_by", "must be provider, location, municipality, kind or care_profile");
    bool nightly = strcmp(period, "night") == 0;
    cJSON *arg = report_window(c, &q, date_today_local(), OCCUPANCY_DEFAULT_DAYS,
                               nightly ? REPORT_MAX_NIGHT_DAYS : REPORT_MAX_DAYS);
    if (!arg)
        return;
    char filename[128];
    snprintf(filename, sizeof filename, "occupancy_%s_%s_%s_%s.csv", q.from, q.to, period, q.group);
    cJSON_AddStringToObject(arg, "period", period);
    cJSON_AddNumberToObject(arg, "stale_days", c->app->cfg->stale_days);
    report_run(c, "report_occupancy", arg, q.csv, &occupancy_layout, filename);
}

/* ---- GET /v1/reports/demand ---------------------------------------------------------------- */

static const char *const demand_groups[] = {"municipality", "care_profile", NULL};

static void reports_demand(struct api_ctx *c)
{
    struct report_question q;
    res_args_init(&q.a);
    q.group = res_arg(c, &q.a, "group_by", 24);
    q.group = q.group ? q.group : "municipality";
    if (core_name_index(demand_groups, q.group) < 0)
        jsonv_error(&q.a.v, "group_by", "must be municipality or care_profile");
    /* By default the last 90 days up to and including today. */
    cJSON *arg = report_window(c, &q, date_today_local() + 1 - DEMAND_DEFAULT_DAYS,
                               DEMAND_DEFAULT_DAYS, REPORT_MAX_DAYS);
    if (!arg)
        return;
    char filename[128];
    snprintf(filename, sizeof filename, "demand_%s_%s_%s.csv", q.from, q.to, q.group);
    report_run(c, "report_demand", arg, q.csv, &demand_layout, filename);
}

/* ---- GET /v1/reports/cancellations ------------------------------------------------------- */

#define CANCELLATIONS_DEFAULT_DAYS 90

static const char *const cancellation_headers[] = {
    "section", "pool_id", "pool_name", "provider_id", "provider_name", "free_cancel_days",
    "month", "cancellations", "by_requester", "by_provider", "late", "no_shows",
    "nights_released", NULL};

#define CANCEL_FIGURES "cancellations", "by_requester", "by_provider", "late", "no_shows", \
                       "nights_released"

static const struct csv_section cancellation_sections[] = {
    {"pool", "rows", {"pool.id", "pool.name", "provider.id", "provider.name",
                      "pool.free_cancel_days", "month", CANCEL_FIGURES}},
    {"total", "total", {NULL, NULL, NULL, NULL, NULL, NULL, CANCEL_FIGURES}},
};

static const struct csv_layout cancellation_layout = {
    cancellation_headers, cancellation_sections,
    sizeof cancellation_sections / sizeof cancellation_sections[0]};

static int cancellations_prepare(struct app *app)
{
    return api_prepare(app, "report_cancellations",
                       "SELECT logeer_report_cancellations($1::jsonb)::text");
}

/* Provider staff see their own provider's pools only: another provider_id is 404 (spec 1). */
static void reports_cancellations(struct api_ctx *c)
{
    struct report_question q;
    res_args_init(&q.a);
    q.group = "pool";
    const char *provider = res_arg_id(c, &q.a, "provider_id", "must be a provider id");
    const char *scope = res_scope(c);
    /* By default the last 90 days up to and including today. The window also checks (and
     * releases) the arguments, so a bad provider_id is a 422 before anything else. */
    cJSON *arg = report_window(c, &q, date_today_local() + 1 - CANCELLATIONS_DEFAULT_DAYS,
                               CANCELLATIONS_DEFAULT_DAYS, REPORT_MAX_DAYS);
    if (!arg)
        return;
    if (scope && provider && strcmp(provider, scope) != 0) {
        cJSON_Delete(arg);
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no provider with this id");
        return;
    }
    cJSON_DeleteItemFromObject(arg, "group_by");
    if (scope || provider)
        cJSON_AddStringToObject(arg, "provider_id", scope ? scope : provider);
    char filename[128];
    snprintf(filename, sizeof filename, "cancellations_%s_%s.csv", q.from, q.to);
    report_run(c, "report_cancellations", arg, q.csv, &cancellation_layout, filename);
}

/* ---- GET /v1/reports/intakes ------------------------------------------------------------- */

/* Provider staff see the intakes at their own locations: the figures of their own work. */
static const char *const intakes_headers[] = {
    "section", "month", "provider_id", "provider_name", "location_id", "location_name",
    "municipality", "asked", "scheduled", "decided", "welcome", "trial_first", "not_suitable",
    "not_suitable_reasons", "cancelled", "open", NULL};

#define INTAKE_FIGURES "asked", "scheduled", "decided", "welcome", "trial_first", \
                       "not_suitable", "not_suitable_reasons", "cancelled", "open"

static const struct csv_section intakes_sections[] = {
    {"row", "rows", {"month", "provider.id", "provider.name", "location.id", "location.name",
                     "location.municipality", INTAKE_FIGURES}},
    {"total", "total", {NULL, NULL, NULL, NULL, NULL, NULL, INTAKE_FIGURES}},
};

static const struct csv_layout intakes_layout = {intakes_headers, intakes_sections,
                                                 sizeof intakes_sections / sizeof intakes_sections[0]};

#define INTAKES_DEFAULT_DAYS 365

static void reports_intakes(struct api_ctx *c)
{
    struct report_question q = {.group = NULL};
    res_args_init(&q.a);
    /* By default the last year up to and including today. */
    cJSON *arg = report_window(c, &q, date_today_local() + 1 - INTAKES_DEFAULT_DAYS,
                               INTAKES_DEFAULT_DAYS, REPORT_MAX_DAYS);
    if (!arg)
        return;
    const char *scope = res_scope(c);
    if (scope)
        cJSON_AddStringToObject(arg, "provider_id", scope);
    char filename[128];
    snprintf(filename, sizeof filename, "intakes_%s_%s.csv", q.from, q.to);
    report_run(c, "report_intakes", arg, q.csv, &intakes_layout, filename);
}

/* ---- GET /v1/reports/first-stay ---------------------------------------------------------- */

static const char *const first_stay_headers[] = {
    "section", "quarter", "municipality", "municipality_name", "guests", "with_first_stay",
    "still_waiting", "days_median", "days_p90", NULL};

#define FIRST_STAY_FIGURES "guests", "with_first_stay", "still_waiting", "days_median", "days_p90"

static const struct csv_section first_stay_sections[] = {
    {"row", "rows", {"quarter", "municipality.code", "municipality.name", FIRST_STAY_FIGURES}},
    {"total", "total", {NULL, NULL, NULL, FIRST_STAY_FIGURES}},
};

static const struct csv_layout first_stay_layout = {
    first_stay_headers, first_stay_sections,
    sizeof first_stay_sections / sizeof first_stay_sections[0]};

#define FIRST_STAY_DEFAULT_DAYS 365

static void reports_first_stay(struct api_ctx *c)
{
    struct report_question q = {.group = NULL};
    res_args_init(&q.a);
    cJSON *arg = report_window(c, &q, date_today_local() + 1 - FIRST_STAY_DEFAULT_DAYS,
                               FIRST_STAY_DEFAULT_DAYS, REPORT_MAX_DAYS);
    if (!arg)
        return;
    char filename[128];
    snprintf(filename, sizeof filename, "first_stay_%s_%s.csv", q.from, q.to);
    report_run(c, "report_first_stay", arg, q.csv, &first_stay_layout, filename);
}

/* ---- GET /v1/reports/allowance-use ------------------------------------------------------- */

static const char *const allowance_headers[] = {
    "section", "period", "funding", "municipality", "municipality_name", "allowances",
    "granted_nights", "held_nights", "confirmed_nights", "completed_nights", "used_nights",
    "used_pct", "refused_no_allowance", "refused_exceeded", NULL};

#define ALLOWANCE_NIGHTS "held_nights", "confirmed_nights", "completed_nights", "used_nights"

static const struct csv_section allowance_sections[] = {
    {"month", "months", {"month", "funding", "municipality.code", "municipality.name", NULL, NULL,
                         ALLOWANCE_NIGHTS, NULL, "refused_no_allowance", "refused_exceeded"}},
    {"year", "years", {"year", "funding", "municipality.code", "municipality.name", "allowances",
                       "granted_nights", ALLOWANCE_NIGHTS, "used_pct", "refused_no_allowance",
                       "refused_exceeded"}},
};

static const struct csv_layout allowance_layout = {
    allowance_headers, allowance_sections,
    sizeof allowance_sections / sizeof allowance_sections[0]};

/* A calendar year, because yearly limits (the grants the figures are held against) count per
 * calendar year. */
static void reports_allowance_use(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *year_text = res_arg(c, &a, "year", 8);
    const char *format = res_arg(c, &a, "format", 8);
    int y, m, d;
    date_to_ymd(date_today_local(), &y, &m, &d);
    long year = y;
    if (year_text && !res_parse_long(year_text, 2000, 2100, &year))
        jsonv_error(&a.v, "year", "must be a year from 2000 to 2100");
    bool csv = wants_csv(c, format, &a.v);
    if (!res_args_ok(c, &a, "check the query parameters"))
        return;
    cJSON *arg = cJSON_CreateObject();
    cJSON_AddNumberToObject(arg, "year", (double)year);
    char filename[64];
    snprintf(filename, sizeof filename, "allowance_use_%ld.csv", year);
    report_run(c, "report_allowance_use", arg, csv, &allowance_layout, filename);
}

/* ---- GET /v1/reports/guarantee ----------------------------------------------------------- */

static const char *const guarantee_headers[] = {
    "section", "quarter", "municipality", "municipality_name", "guaranteed",
    "placed_before_deadline", "escalated", "escalations_open", "resolved_placed",
    "resolved_offered_alternative", "resolved_not_possible", "closed", "withdrawn", "pending",
    "met", "share_met_pct", NULL};

#define GUARANTEE_FIGURES "guaranteed", "placed_before_deadline", "escalated", \
                          "escalations_open", "resolved_placed",              \
                          "resolved_offered_alternative", "resolved_not_possible", "closed", \
                          "withdrawn", "pending", "met", "share_met_pct"

static const struct csv_section guarantee_sections[] = {
    {"row", "rows", {"quarter", "municipality.code", "municipality.name", GUARANTEE_FIGURES}},
    {"total", "total", {NULL, NULL, NULL, GUARANTEE_FIGURES}},
};

static const struct csv_layout guarantee_layout = {
    guarantee_headers, guarantee_sections,
    sizeof guarantee_sections / sizeof guarantee_sections[0]};

/* The window is over deadlines (when a guarantee is judged); by default this calendar year,
 * so that its quarters are whole. */
static void reports_guarantee(struct api_ctx *c)
{
    struct report_question q = {.group = NULL};
    res_args_init(&q.a);
    int y, m, d;
    date_to_ymd(date_today_local(), &y, &m, &d);
    date_day jan1 = date_from_ymd(y, 1, 1);
    cJSON *arg = report_window(c, &q, jan1, date_from_ymd(y + 1, 1, 1) - jan1, REPORT_MAX_DAYS);
    if (!arg)
        return;
    char filename[128];
    snprintf(filename, sizeof filename, "guarantee_%s_%s.csv", q.from, q.to);
    report_run(c, "report_guarantee", arg, q.csv, &guarantee_layout, filename);
}

static const struct api_endpoint occupancy = {reports_occupancy, false};
static const struct api_endpoint demand = {reports_demand, false};
static const struct api_endpoint cancellations = {reports_cancellations, false};
static const struct api_endpoint intakes = {reports_intakes, false};
static const struct api_endpoint first_stay = {reports_first_stay, false};
static const struct api_endpoint allowance_use = {reports_allowance_use, false};
static const struct api_endpoint guarantee = {reports_guarantee, false};

static const struct route report_routes[] = {
    {HTTP_GET, "/v1/reports/occupancy", &occupancy, ROLE_COORDINATOR},
    {HTTP_GET, "/v1/reports/demand", &demand, ROLE_COORDINATOR},
    {HTTP_GET, "/v1/reports/cancellations", &cancellations, ROLE_COORDINATOR | ROLE_PROVIDER},
    {HTTP_GET, "/v1/reports/intakes", &intakes, ROLE_COORDINATOR | ROLE_PROVIDER},
    {HTTP_GET, "/v1/reports/first-stay", &first_stay, ROLE_COORDINATOR},
    {HTTP_GET, "/v1/reports/allowance-use", &allowance_use, ROLE_COORDINATOR},
    {HTTP_GET, "/v1/reports/guarantee", &guarantee, ROLE_COORDINATOR},
};

ROUTE_GROUP(reports_group, report_routes, reports_prepare);
