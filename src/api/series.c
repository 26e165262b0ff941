/* series: recurring stays (logeerreeks). POST /v1/series asks for one stay per occurrence of a
 * rhythm or a list of arrivals, all or nothing or best effort; /v1/series/preview shows the
 * dates first; GET reads a series with its occurrences; POST /v1/series/{id}/{action}
 * confirms, accepts, declines or cancels the rest of them at once. Every occurrence is judged
 * by the same core rules as one stay and booked by the same database function, so a series can
 * never do what a stay may not; it decides no rule itself. Every read or change of the
 * occurrences' personal data is access-logged like a stay's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access_log.h"
#include "handlers.h"
#include "logeer/config.h"
#include "logeer/core.h"
#include "logeer/events.h"
#include "logeer/idempotency.h"
#include "logeer/jsonv.h"
#include "logeer/series.h"
#include "resource.h"
#include "stay_request.h"

#define SERIES_MISSING "no series with this id"
#define LIST_MAX_LIMIT 100

/* Who sees which series: caregivers their own, provider staff those in their own pools.
 * $1 role, $2 user id, $3 provider id. */
#define SERIES_VISIBLE                                                                       \
    "(($1 = 'caregiver' AND r.requested_by = $2::uuid) "                                      \
    "OR ($1 = 'provider' AND r.provider_id = nullif($3, '')::uuid))"

static int series_prepare(struct app *app)
{
    /* The access log's statements are registered once, by stays.c (its group comes first). */
    if (api_prepare(app, "series_book", RES_RESULT_SQL("logeer_book_series")))
        return -1;
    if (api_prepare(app, "series_apply", RES_RESULT_SQL("logeer_series_apply")))
        return -1;
    if (api_prepare(app, "series_get",
                    "SELECT logeer_series_json(r.id)::text FROM series r "
                    "WHERE r.id = $4::uuid AND " SERIES_VISIBLE))
        return -1;
    if (api_prepare(app, "series_for_action",
                    "SELECT s.id, s.status::text, s.check_in, "
                    "coalesce(p.booking_mode::text, 'approval'), r.requested_by = $2::uuid, "
                    "r.mode::text FROM series r JOIN stays s ON s.series_id = r.id "
                    "LEFT JOIN pools p ON p.id = s.pool_id "
                    "WHERE r.id = $4::uuid AND " SERIES_VISIBLE " ORDER BY s.check_in, s.id"))
        return -1;
    /* Newest first; "open" keeps the series that still have an occurrence to come. */
    return api_prepare(app, "series_list",
                       "SELECT logeer_series_json(r.id)::text, count(*) OVER () FROM series r "
                       "WHERE " SERIES_VISIBLE " AND ($4::uuid IS NULL OR r.pool_id = $4::uuid) "
                       "AND (NOT $5::boolean OR EXISTS (SELECT 1 FROM stays s "
                       "WHERE s.series_id = r.id AND s.status IN ('held', 'requested', "
                       "'confirmed', 'checked_in'))) "
                       "ORDER BY r.created_at DESC, r.id LIMIT $6::int OFFSET $7::int");
}

/* Access-logs every occurrence in a series body (or a list of them) under action. */
static void log_occurrences(struct api_ctx *c, const cJSON *series, const char *action)
{
    const cJSON *occ = cJSON_GetObjectItemCaseSensitive(series, "occurrences");
    int n = cJSON_GetArraySize(occ);
    if (n <= 0)
        return;
    const char **ids = calloc((size_t)n, sizeof *ids);
    if (!ids)
        return;
    size_t k = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, occ) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "id");
        if (cJSON_IsString(id))
            ids[k++] = id->valuestring;
    }
    access_log_stays(c, action, ids, k);
    free(ids);
}

/* Replies with a series body from the database, logging access to its occurrences. */
static void reply_series(struct api_ctx *c, int status, const char *body, const char *action)
{
    cJSON *series = cJSON_Parse(body);
    if (series) {
        log_occurrences(c, series, action);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(series, "id");
        if (status == 201 && cJSON_IsString(id)) {
            char location[80];
            snprintf(location, sizeof location, "/v1/series/%s", id->valuestring);
            http_reply_header(c->req, "Location", location);
        }
    }
    cJSON_Delete(series);
    res_reply_body(c, status, body);
}

/* ---- the request: which dates, for whom ------------------------------------------------ */

static const char *const mode_names[] = {"all_or_nothing", "best_effort", NULL};

static int current_year(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return tm.tm_year + 1900;
}

/* A series request after validation: the stay request each occurrence shares, and the
 * occurrences' arrivals (ascending). */
struct series_request {
    struct stay_request stay;
    int nights;
    bool by_rule;              /* a rhythm (rule) rather than a list (arrivals) */
    int n;
    date_day arrival[SERIES_MAX_OCCURRENCES];
};

/* The rhythm: {first_check_in, every_weeks, until?, count?}. Its end is checked against the
 * pool once the pool is known (expand_rule). */
static bool validate_rule(struct jsonv *v, const cJSON *rule, struct series_rule *out)
{
    static const char *const known[] = {"first_check_in", "every_weeks", "until", "count", NULL};
    if (!cJSON_IsObject(rule)) {
        jsonv_error(v, "rule", "must be an object {first_check_in, every_weeks, until or count}");
        return false;
    }
    struct jsonv rv;
    jsonv_init(&rv);
    jsonv_only(&rv, rule, known);
    long every = 0, count = 0;
    memset(out, 0, sizeof *out);
    jsonv_date(&rv, rule, "first_check_in", true, &out->first);
    if (jsonv_int(&rv, rule, "every_weeks", true, 1, SERIES_MAX_EVERY_WEEKS, &every))
        out->every_weeks = (int)every;
    if (jsonv_int(&rv, rule, "count", false, 1, SERIES_MAX_OCCURRENCES, &count))
        out->count = (int)count;
    if (jsonv_date(&rv, rule, "until", false, &out->until) && out->first &&
        out->until < out->first)
        jsonv_error(&rv, "until", "must not be before first_check_in");
    bool ok = jsonv_ok(&rv);
    res_nest_errors(v, &rv, "rule.");
    return ok;
}

/* The explicit list: 1..SERIES_MAX_OCCURRENCES arrival dates. */
static void validate_arrivals(struct jsonv *v, const cJSON *list, struct series_request *r)
{
    int n = cJSON_GetArraySize(list);
    if (!cJSON_IsArray(list) || n < 1 || n > SERIES_MAX_OCCURRENCES) {
        jsonv_error(v, "arrivals", "must list 1 to 104 arrival dates \"YYYY-MM-DD\"");
        return;
    }
    int i = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, list) {
        if (!cJSON_IsString(d) || !date_parse(d->valuestring, &r->arrival[i])) {
            char field[24];
            snprintf(field, sizeof field, "arrivals[%d]", i);
            jsonv_error(v, field, "must be a date \"YYYY-MM-DD\"");
            return;
        }
        i++;
    }
    r->n = n;
}

/* The body of POST /v1/series and /v1/series/preview. Values for the database land in out
 * (the stay fields every occurrence shares). */
static void validate_body(struct api_ctx *c, struct jsonv *v, cJSON *out, struct series_request *r,
                          const char **pool_id, struct series_rule *rule, bool mode_required,
                          const char **times)
{
    static const char *const known[] = {"pool_id", "mode", "nights", "rule", "arrivals",
                                        "funding", "guest", "guest_id", "companion", "arrival",
                                        "departure", NULL};
    static const char *const guest_known[] = {"alias", "birth_year", "care_profile", "needs", NULL};
    const cJSON *b = c->body;
    jsonv_only(v, b, known);
    if (jsonv_string(v, b, "pool_id", true, 1, 64, pool_id) && !api_is_uuid(*pool_id))
        jsonv_error(v, "pool_id", "must be a pool id");
    int mode = 0;
    if (jsonv_enum(v, b, "mode", mode_required, mode_names, &mode))
        cJSON_AddStringToObject(out, "mode", mode_names[mode]);
    long nights = 0;
    if (jsonv_int(v, b, "nights", true, 1, 365, &nights))
        r->nights = (int)nights;
    const cJSON *rj = cJSON_GetObjectItemCaseSensitive(b, "rule");
    const cJSON *aj = cJSON_GetObjectItemCaseSensitive(b, "arrivals");
    if ((rj != NULL) == (aj != NULL))
        jsonv_error(v, "rule", "give either rule (a rhythm) or arrivals (a list of dates)");
    else if (rj) {
        r->by_rule = true;
        if (validate_rule(v, rj, rule))
            cJSON_AddItemToObject(out, "rule", cJSON_Duplicate(rj, true));
    } else {
        validate_arrivals(v, aj, r);
    }
    if (jsonv_enum(v, b, "funding", true, core_funding_names, &r->stay.funding))
        cJSON_AddStringToObject(out, "funding", core_funding_names[r->stay.funding]);

    r->stay.inline_guest = true;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(b, "guest");
    if (stay_registered_guest(c, v, b, out)) {
        r->stay.inline_guest = false;
    } else if (!cJSON_IsObject(g)) {
        jsonv_error(v, "guest", "is required: alias, birth_year, care_profile, needs (or guest_id)");
    } else {
        /* The same inline guest as a single stay's; the database checks it again. */
        struct jsonv gv;
        jsonv_init(&gv);
        jsonv_only(&gv, g, guest_known);
        cJSON *guest = cJSON_AddObjectToObject(out, "guest");
        const char *alias = NULL;
        long birth_year = 0;
        const cJSON *needs = NULL;
        if (jsonv_string(&gv, g, "alias", true, 1, 60, &alias))
            cJSON_AddStringToObject(guest, "alias", alias);
        if (jsonv_int(&gv, g, "birth_year", true, 1900, current_year(), &birth_year))
            cJSON_AddNumberToObject(guest, "birth_year", (double)birth_year);
        if (jsonv_enum(&gv, g, "care_profile", true, core_care_profile_names,
                       &r->stay.care_profile))
            cJSON_AddStringToObject(guest, "care_profile",
                                    core_care_profile_names[r->stay.care_profile]);
        if (jsonv_string_set(&gv, g, "needs", false, NULL, 16, &needs))
            cJSON_AddItemToObject(guest, "needs", cJSON_Duplicate(needs, true));
        else
            cJSON_AddArrayToObject(guest, "needs");
        res_nest_errors(v, &gv, "guest.");
    }
    bool companion = false;
    jsonv_bool(v, b, "companion", false, &companion);
    cJSON_AddBoolToObject(out, "companion", companion);
    stay_validate_transport(v, b, "arrival", false, out, &times[0]);
    stay_validate_transport(v, b, "departure", false, out, &times[1]);
}

/* The rhythm's arrivals up to the pool's horizon. A rule with its own end that the horizon
 * (or the maximum) would cut short is refused rather than shortened behind the family's back;
 * a rule without one runs to the horizon. */
static void expand_rule(struct jsonv *v, const struct series_rule *rule, struct series_request *r,
                        date_day today)
{
    const struct core_pool *p = r->stay.pool;
    enum series_end end;
    r->n = series_expand(rule, r->nights, today + p->horizon_days, r->arrival, &end);
    char msg[160];
    if (end == SERIES_END_MAX && (rule->until || rule->count)) {
        jsonv_error(v, rule->count ? "rule.count" : "rule.until",
                    "a series holds at most 104 stays; end it sooner");
    } else if (end == SERIES_END_HORIZON && (rule->until || rule->count)) {
        snprintf(msg, sizeof msg, "this pool takes bookings up to %d days ahead; only %d stays "
                 "of this rhythm fit", p->horizon_days, r->n);
        jsonv_error(v, rule->count ? "rule.count" : "rule.until", msg);
    } else if (r->n == 0) {
        snprintf(msg, sizeof msg, "this pool takes bookings up to %d days ahead",
                 p->horizon_days);
        jsonv_error(v, "rule.first_check_in", msg);
    }
}

/* The field an occurrence's problem belongs to. */
static void occurrence_field(const struct series_request *r, int i, bool nights_rule,
                             char *buf, size_t size)
{
    if (nights_rule)
        snprintf(buf, size, "nights");
    else if (r->by_rule)
        snprintf(buf, size, "rule.first_check_in");
    else
        snprintf(buf, size, "arrivals[%d]", i);
}

/* Every occurrence against the pool's rules, as the core judges a single stay. Each broken
 * rule is reported once, at the first occurrence that breaks it, naming its date. */
static void check_occurrences(struct api_ctx *c, struct jsonv *v, const struct series_request *r,
                              date_day today)
{
    const struct core_pool *p = r->stay.pool;
    unsigned reported = 0;
    for (int i = 0; i < r->n; i++) {
        struct core_stay_ask ask = {r->arrival[i], r->arrival[i] + r->nights, today,
                                    r->stay.care_profile, r->stay.funding, c->who.role,
                                    c->who.municipality, r->stay.inline_guest};
        unsigned broken = core_stay_breaks(p, &ask) & ~reported;
        if (!broken)
            continue;
        reported |= broken;
        char field[32], day[DATE_TEXT_LEN], msg[600], rules[400];
        date_format(r->arrival[i], day);
        if (broken & CORE_RULE_CARE_PROFILE)
            jsonv_error(v, "guest.care_profile", "this pool does not serve that care profile");
        if (broken & CORE_RULE_FUNDING)
            jsonv_error(v, "funding", "this pool does not accept that funding");
        if (broken & CORE_RULE_WMO_CONTRACT)
            jsonv_error(v, "funding", "this pool has no Wmo contract with your municipality");
        if (broken & CORE_RULE_INLINE_GUEST)
            jsonv_error(v, "funding", "this pool checks allowances: wmo, wlz, zvw and pgb are "
                                      "only for a registered guest (guest_id), or choose private");
        if (broken & CORE_RULE_NIGHTS) {
            snprintf(msg, sizeof msg, "this pool takes stays of %d to %d nights",
                     p->min_nights, p->max_nights);
            jsonv_error(v, "nights", msg);
        }
        occurrence_field(r, i, false, field, sizeof field);
        if (broken & CORE_RULE_PAST) {
            snprintf(msg, sizeof msg, "the stay arriving %s is in the past", day);
            jsonv_error(v, field, msg);
        }
        if (broken & CORE_RULE_LEAD_TIME) {
            snprintf(msg, sizeof msg, "the stay arriving %s is too soon: this pool needs %d "
                     "days' notice", day, p->lead_days);
            jsonv_error(v, field, msg);
        }
        if (broken & CORE_RULE_HORIZON) {
            snprintf(msg, sizeof msg, "the stay arriving %s is too far ahead: this pool takes "
                     "bookings up to %d days ahead", day, p->horizon_days);
            jsonv_error(v, field, msg);
        }
        if (broken & (CORE_RULE_ARRIVAL | CORE_RULE_BLOCKS)) {
            core_arrival_text(p, rules, sizeof rules);
            bool arrival = broken & CORE_RULE_ARRIVAL;
            occurrence_field(r, i, !arrival, field, sizeof field);
            snprintf(msg, sizeof msg, arrival ? "this pool takes no arrivals on %s: %s"
                                              : "the stay arriving %s must be one block or a "
                                                "chain of blocks: %s", day, rules);
            jsonv_error(v, field, msg);
        }
    }
}

/* Steps shared by the preview and the request: the body, the pool, the pathway, the dates
 * and every occurrence's rules. Replies and returns false when the request cannot go on. */
static bool series_validate(struct api_ctx *c, struct series_request *r, cJSON *out,
                            bool mode_required, const char **times,
                            void (*handler)(struct api_ctx *c))
{
    struct jsonv v;
    jsonv_init(&v);
    const char *pool_id = NULL;
    struct series_rule rule = {0};
    r->stay.care_profile = r->stay.funding = -1;
    validate_body(c, &v, out, r, &pool_id, &rule, mode_required, times);
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "check the highlighted fields");
        return false;
    }
    if (!inventory_sync_ready(c->app->sync)) {
        api_reply_problem(c, PROBLEM_UNAVAILABLE, "the availability index is still loading; "
                                                  "try again shortly");
        return false;
    }
    const struct core_pool *pool = stay_known_pool(c, pool_id, handler);
    if (!pool)
        return false; /* r is already freed when the pool is being loaded */
    r->stay.pool = pool;
    if (!stay_decide_pathway(c, &r->stay, false))
        return false;
    date_day today = date_today_local();
    if (r->by_rule)
        expand_rule(&v, &rule, r, today);
    /* The rules first, while a listed date still has the index the caller gave it
     * ("arrivals[2]"); then sorted, for the overlap check and the booking order. */
    if (jsonv_ok(&v))
        check_occurrences(c, &v, r, today);
    int overlap = jsonv_ok(&v) && r->n > 0 ? series_sort_check(r->arrival, r->n, r->nights) : -1;
    if (overlap >= 0) {
        char day[DATE_TEXT_LEN], msg[120];
        date_format(r->arrival[overlap], day);
        snprintf(msg, sizeof msg, "the stay arriving %s starts before the one before it "
                 "has ended", day);
        jsonv_error(&v, r->by_rule ? "rule.every_weeks" : "arrivals", msg);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(out, "companion")) &&
        r->stay.pool->companion_places == 0)
        jsonv_error(&v, "companion", "this pool has no place for a caregiver staying along");
    stay_check_transport_windows(&v, r->stay.pool, times[0], times[1]);
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "the series does not fit this pool");
        return false;
    }
    return true;
}

/* ---- POST /v1/series/preview ----------------------------------------------------------- */

/* The dates the request would ask for, each with the fewest free beds over its nights as
 * the search index knows them now: a hint, not a promise (the booking decides). */
static void series_preview(struct api_ctx *c)
{
    struct series_request *r = res_state_new(c, sizeof *r, NULL);
    if (!r)
        return;
    const char *times[2] = {NULL, NULL};
    cJSON *out = cJSON_CreateObject();
    if (!series_validate(c, r, out, false, times, series_preview)) {
        cJSON_Delete(out);
        return;
    }
    cJSON_Delete(out);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "pool_id", r->stay.pool->id);
    cJSON_AddNumberToObject(body, "nights", r->nights);
    cJSON *list = cJSON_AddArrayToObject(body, "occurrences");
    for (int i = 0; i < r->n; i++) {
        char in[DATE_TEXT_LEN], out_day[DATE_TEXT_LEN];
        date_format(r->arrival[i], in);
        date_format(r->arrival[i] + r->nights, out_day);
        int free = -1;
        for (date_day d = r->arrival[i]; d < r->arrival[i] + r->nights; d++) {
            int f = core_index_free_on(c->app->index, r->stay.pool->id, d);
            if (free < 0 || f < free)
                free = f;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "check_in", in);
        cJSON_AddStringToObject(o, "check_out", out_day);
        cJSON_AddNumberToObject(o, "free", free < 0 ? 0 : free);
        cJSON_AddItemToArray(list, o);
    }
    api_reply_json(c, 200, body);
}

/* ---- POST /v1/series ------------------------------------------------------------------- */

/* An all-or-nothing series (or a best-effort one of which nothing fits) is refused with the
 * occurrences that block it, as the problem its first blocker would be for a single stay. */
static void reply_blocked(struct api_ctx *c, const struct res_result *res)
{
    cJSON *d = res_result_detail(res);
    const cJSON *blocked = cJSON_GetObjectItemCaseSensitive(d, "blocked");
    const cJSON *first = cJSON_GetArrayItem(blocked, 0);
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(first, "reason");
    enum problem_kind kind = PROBLEM_NO_BEDS;
    const char *why = "some stays of the series find no free bed (nights, blocked); choose "
                      "other dates, another pool, or best_effort to hold the ones that fit";
    if (cJSON_IsString(reason) && !strcmp(reason->valuestring, "no_companion_place")) {
        kind = PROBLEM_NO_COMPANION_PLACE;
        why = "the caregiver's place (companion) is taken on some nights of the series "
              "(blocked); ask without companion or choose other dates";
    } else if (cJSON_IsString(reason) && !strcmp(reason->valuestring, "allowance_exceeded")) {
        kind = PROBLEM_ALLOWANCE_EXCEEDED;
        why = "the guest's allowance has too few nights left for some stays of the series "
              "(blocked); shorten the series or choose best_effort";
    } else if (cJSON_IsString(reason) && !strcmp(reason->valuestring, "series_share")) {
        why = "on some nights the beds this pool leaves to series are taken (blocked, reason "
              "series_share): single stays keep the rest; choose other dates or best_effort";
    }
    api_reply_problem_full(c, kind, why, NULL, d);
}

static void series_booked(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, NULL, &res))
        return;
    if (!strcmp(res.outcome, "blocked")) {
        reply_blocked(c, &res);
        return;
    }
    if (strcmp(res.outcome, "created") != 0 && strcmp(res.outcome, "replayed") != 0) {
        res_reply_outcome(c, &res, stay_booking_outcomes);
        return;
    }
    if (!strcmp(res.outcome, "replayed"))
        idem_mark_replayed(c);
    reply_series(c, res.status ? res.status : 201, res.body, "stay.create");
}

static void series_create(struct api_ctx *c)
{
    const char *key;
    if (!idem_key(c, &key))
        return;
    struct series_request *r = res_state_new(c, sizeof *r, NULL);
    if (!r)
        return;
    const char *times[2] = {NULL, NULL};
    cJSON *p = cJSON_CreateObject();
    if (!series_validate(c, r, p, true, times, series_create)) {
        cJSON_Delete(p);
        return;
    }
    char hash[DIGEST_HEX_LEN];
    if (key && !idem_request_fingerprint(c, NULL, hash)) {
        cJSON_Delete(p);
        return;
    }
    cJSON_AddStringToObject(p, "principal_id", c->who.user_id);
    cJSON_AddStringToObject(p, "principal_role", role_name(c->who.role));
    if (key) {
        cJSON_AddStringToObject(p, "idempotency_key", key);
        cJSON_AddStringToObject(p, "request_hash", hash);
    }
    cJSON_AddStringToObject(p, "method", "POST");
    cJSON_AddStringToObject(p, "path", "/v1/series");
    cJSON_AddStringToObject(p, "pool_id", r->stay.pool->id);
    cJSON_AddNumberToObject(p, "nights", r->nights);
    cJSON_AddStringToObject(p, "kind", r->stay.kind);
    cJSON_AddStringToObject(p, "initial_status", r->stay.initial_status);
    cJSON_AddNumberToObject(p, "hold_ttl_s", c->app->cfg->hold_ttl_s);
    /* The whole series is one open request (migrations/0038_series.sql). */
    cJSON_AddNumberToObject(p, "max_open_stays", c->app->cfg->max_open_stays);
    cJSON *list = cJSON_AddArrayToObject(p, "occurrences");
    for (int i = 0; i < r->n; i++) {
        char in[DATE_TEXT_LEN], out[DATE_TEXT_LEN];
        date_format(r->arrival[i], in);
        date_format(r->arrival[i] + r->nights, out);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "check_in", in);
        cJSON_AddStringToObject(o, "check_out", out);
        cJSON_AddItemToArray(list, o);
    }
    res_query_json(c, "series_book", p, series_booked);
}

/* ---- GET /v1/series and /v1/series/{id} ------------------------------------------------ */

static void got_series(struct api_ctx *c, const struct db_result *r)
{
    if (res_one_row(c, r, SERIES_MISSING))
        reply_series(c, 200, db_value(r->res, 0, 0), "stay.read");
}

static void series_get(struct api_ctx *c)
{
    const char *id = res_id(c, SERIES_MISSING);
    if (!id)
        return;
    const char *params[4];
    stay_visibility_params(c, params);
    params[3] = id;
    api_query(c, "series_get", 4, params, got_series);
}

static void listed(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    int rows = PQntuples(r->res);
    cJSON *body = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(body, "series");
    for (int i = 0; i < rows; i++) {
        cJSON *s = cJSON_Parse(db_value(r->res, i, 0));
        if (!s)
            continue;
        log_occurrences(c, s, "stay.list");
        cJSON_AddItemToArray(list, s);
    }
    cJSON_AddNumberToObject(body, "total", rows ? atof(db_value(r->res, 0, 1)) : 0);
    api_reply_json(c, 200, body);
}

static void series_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *pool = res_arg_id(c, &a, "pool_id", "must be a pool id");
    const char *open = res_arg(c, &a, "open", 8);
    const char *limit = res_arg(c, &a, "limit", 8), *offset = res_arg(c, &a, "offset", 12);
    long n;
    if (open && strcmp(open, "true") != 0 && strcmp(open, "false") != 0)
        jsonv_error(&a.v, "open", "must be true or false");
    if (limit && !res_parse_long(limit, 1, LIST_MAX_LIMIT, &n))
        jsonv_error(&a.v, "limit", "must be a whole number from 1 to 100");
    if (offset && !res_parse_long(offset, 0, 1000000, &n))
        jsonv_error(&a.v, "offset", "must be a whole number from 0 to 1000000");
    if (!res_args_ok(c, &a, "check the query parameters"))
        return;
    const char *params[7];
    stay_visibility_params(c, params);
    params[3] = pool;
    params[4] = open && !strcmp(open, "true") ? "true" : "false";
    params[5] = limit ? limit : "20";
    params[6] = offset ? offset : "0";
    api_query(c, "series_list", 7, params, listed);
}

/* ---- POST /v1/series/{id}/{action} ---------------------------------------------------- */

/* The series actions and the stay action each applies to its occurrences. */
enum series_action { SER_CONFIRM, SER_ACCEPT, SER_DECLINE, SER_CANCEL_REST, SER_COUNT };
static const char *const series_action_names[] = {"confirm", "accept", "decline",
                                                  "cancel-rest", NULL};
static const enum stay_action stay_action_of[SER_COUNT] = {ACT_CONFIRM, ACT_ACCEPT,
                                                           ACT_DECLINE, ACT_CANCEL};

struct series_action_state {
    enum series_action action;
    char reason[1001];
    bool has_reason;
};

static const struct res_refusal apply_outcomes[] = {
    {"not_found", PROBLEM_NOT_FOUND, NULL, SERIES_MISSING},
    {"stale", PROBLEM_LIFECYCLE, NULL,
     "some stays of the series changed meanwhile (skipped); read the series again"},
    {NULL, 0, NULL, NULL},
};

static void applied(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, NULL, &res))
        return;
    if (strcmp(res.outcome, "ok") != 0) {
        res_reply_outcome(c, &res, apply_outcomes);
        return;
    }
    const struct series_action_state *a = c->state;
    char action[40];
    snprintf(action, sizeof action, "stay.%s", core_action_names[stay_action_of[a->action]]);
    reply_series(c, 200, res.body, action);
}

/* Which occurrences the action is for: confirm the holds, accept or decline the requests,
 * cancel whatever is still to come (held, requested or confirmed, from today on). */
static bool action_applies(enum series_action a, enum stay_status st, date_day check_in,
                           date_day today)
{
    switch (a) {
    case SER_CONFIRM:
        return st == STAY_HELD;
    case SER_ACCEPT:
    case SER_DECLINE:
        return st == STAY_REQUESTED;
    case SER_CANCEL_REST:
        return (st == STAY_HELD || st == STAY_REQUESTED || st == STAY_CONFIRMED) &&
               check_in >= today;
    case SER_COUNT:
        break;
    }
    return false;
}

static void found_series_for_action(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    int rows = PQntuples(r->res);
    if (rows == 0) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, SERIES_MISSING);
        return;
    }
    struct series_action_state *a = c->state;
    if (a->action == SER_CONFIRM && db_value(r->res, 0, 4)[0] != 't') {
        api_reply_problem(c, PROBLEM_FORBIDDEN,
                          "only the person who asked for the series can confirm it");
        return;
    }
    date_day today = date_today_local();
    bool reason_required = false;
    cJSON *list = cJSON_CreateArray();
    for (int i = 0; i < rows; i++) {
        int st = core_name_index(core_status_names, db_value(r->res, i, 1));
        date_day check_in = 0;
        if (st < 0 || db_is_null(r->res, i, 2) || !date_parse(db_value(r->res, i, 2), &check_in))
            continue;
        if (!action_applies(a->action, st, check_in, today))
            continue;
        enum booking_mode mode = strcmp(db_value(r->res, i, 3), "instant") == 0 ? MODE_INSTANT
                                                                                : MODE_APPROVAL;
        struct core_transition t;
        enum core_verdict verdict = core_decide(stay_action_of[a->action], c->who.role, st,
                                                mode, check_in, today, &t);
        if (verdict == CORE_FORBIDDEN_ROLE) {
            cJSON_Delete(list);
            api_reply_problem(c, PROBLEM_FORBIDDEN, "the role %s cannot %s a series",
                              role_name(c->who.role), series_action_names[a->action]);
            return;
        }
        if (verdict != CORE_OK)
            continue;
        reason_required |= t.reason_required;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "stay_id", db_value(r->res, i, 0));
        cJSON_AddStringToObject(o, "from_status", core_status_names[st]);
        cJSON_AddStringToObject(o, "to_status", core_status_names[t.to]);
        cJSON_AddNumberToObject(o, "held_delta", t.held_delta);
        cJSON_AddNumberToObject(o, "booked_delta", t.booked_delta);
        cJSON_AddItemToArray(list, o);
    }
    if (cJSON_GetArraySize(list) == 0) {
        cJSON_Delete(list);
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddStringToObject(extra, "current_status", "none");
        api_reply_problem_full(c, PROBLEM_LIFECYCLE,
                               "no stay of the series can take this action now", NULL, extra);
        return;
    }
    if (reason_required && !a->has_reason) {
        cJSON_Delete(list);
        res_reply_field(c, "reason", "is required: the family sees it", "give a reason");
        return;
    }
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "series_id", api_param(c, "id"));
    cJSON_AddStringToObject(p, "actor_id", c->who.user_id);
    cJSON_AddStringToObject(p, "actor_role", role_name(c->who.role));
    if (a->has_reason)
        cJSON_AddStringToObject(p, "reason", a->reason);
    else if (a->action == SER_CANCEL_REST)
        cJSON_AddStringToObject(p, "reason", "reeks geannuleerd door de aanvrager");
    cJSON_AddNumberToObject(p, "hold_ttl_s", c->app->cfg->hold_ttl_s);
    /* Confirming an all-or-nothing series is all or nothing too: if one hold lapsed, none is
     * confirmed, and the family decides what to do with the rest. */
    cJSON_AddBoolToObject(p, "strict", a->action == SER_CONFIRM &&
                                           !strcmp(db_value(r->res, 0, 5), "all_or_nothing"));
    cJSON_AddItemToObject(p, "transitions", list);
    res_query_json(c, "series_apply", p, applied);
}

static void series_action(struct api_ctx *c)
{
    int action = core_name_index(series_action_names, api_param(c, "action"));
    if (action < 0) {
        api_reply_problem(c, PROBLEM_NOT_FOUND,
                          "no such action; use confirm, accept, decline or cancel-rest");
        return;
    }
    const char *id = res_id(c, SERIES_MISSING);
    if (!id)
        return;
    struct series_action_state *a = res_state_new(c, sizeof *a, NULL);
    if (!a)
        return;
    a->action = action;
    if (!stay_action_reason(c, a->reason, &a->has_reason))
        return;
    const char *params[4];
    stay_visibility_params(c, params);
    params[3] = id;
    api_query(c, "series_for_action", 4, params, found_series_for_action);
}

static const struct api_endpoint create = {series_create, true};
static const struct api_endpoint preview = {series_preview, true};
static const struct api_endpoint list = {series_list, false};
static const struct api_endpoint get = {series_get, false};
static const struct api_endpoint action = {series_action, false};

#define SERIES_READERS (ROLE_CAREGIVER | ROLE_PROVIDER)

static const struct route series_routes[] = {
    {HTTP_POST, "/v1/series", &create, ROLE_CAREGIVER},
    {HTTP_POST, "/v1/series/preview", &preview, ROLE_CAREGIVER},
    {HTTP_GET, "/v1/series", &list, SERIES_READERS},
    {HTTP_GET, "/v1/series/{id}", &get, SERIES_READERS},
    {HTTP_POST, "/v1/series/{id}/{action}", &action, SERIES_READERS},
};

ROUTE_GROUP(series_group, series_routes, series_prepare);
