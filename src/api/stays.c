/* stays: requesting a stay, reading stays and moving them through their lifecycle (spec 3, 4,
 * 6). The core decides what is allowed (kinds, roles, lifecycle); one database function per
 * write applies it atomically with the night counters, the history and the idempotency
 * record. Every read or change of a stay's personal data is access-logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access_log.h"
#include "handlers.h"
#include "practice.h"
#include "logeer/config.h"
#include "logeer/core.h"
#include "logeer/events.h"
#include "logeer/idempotency.h"
#include "logeer/jsonv.h"

#define MAX_STAY_NIGHTS 365
#define LIST_MAX_LIMIT 200

/* The stay as the caller may see it. The coordinator reads every stay in the region but not
 * care details beyond need (spec 1): on stays someone else asked for, the guest shows only
 * the care profile. $1 role, $2 user id. */
#define STAY_AS_SEEN                                                                         \
    "CASE WHEN $1 = 'coordinator' AND s.requested_by <> $2::uuid THEN logeer_stay_json(s) || " \
    "jsonb_build_object('guest', jsonb_build_object('care_profile', s.guest_care_profile, "    \
    "'redacted', true)) ELSE logeer_stay_json(s) END"

/* Who sees which stays: requesters their own, provider staff those in their own pools, the
 * coordinator all of them. $1 role, $2 user id, $3 provider id. */
#define VISIBLE                                                                              \
    "(($1 = 'coordinator') OR ($1 IN ('caregiver', 'referrer') AND s.requested_by = $2::uuid) " \
    "OR ($1 = 'provider' AND s.provider_id = nullif($3, '')::uuid))"

static int stays_prepare(struct app *app)
{
    if (access_log_prepare(app))
        return -1;
    if (api_prepare(app, "stays_book", "SELECT outcome, status, body, detail::text "
                                       "FROM logeer_book_stay($1::jsonb)"))
        return -1;
    if (api_prepare(app, "stays_transition", "SELECT outcome, status, body, detail::text "
                                             "FROM logeer_stay_transition($1::jsonb)"))
        return -1;
    if (api_prepare(app, "stays_for_action",
                    "SELECT s.status::text, s.check_in, coalesce(p.booking_mode::text, 'approval'), "
                    "s.requested_by = $2::uuid "
                    "FROM stays s LEFT JOIN pools p ON p.id = s.pool_id "
                    "WHERE s.id = $4::uuid AND " VISIBLE))
        return -1;
    if (api_prepare(app, "stays_get",
                    "SELECT ((" STAY_AS_SEEN ") || jsonb_build_object('history', "
                    "(SELECT coalesce(jsonb_agg(jsonb_build_object("
                    "'at', to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                    "'from', e.from_status, 'to', e.to_status, 'actor_role', e.actor_role, "
                    "'reason', e.reason) ORDER BY e.id), '[]'::jsonb) "
                    "FROM stay_events e WHERE e.stay_id = s.id)))::text "
                    "FROM stays s WHERE s.id = $4::uuid AND " VISIBLE))
        return -1;
    return api_prepare(app, "stays_list",
                       "SELECT (" STAY_AS_SEEN ")::text, s.id, count(*) OVER () "
                       "FROM stays s WHERE " VISIBLE
                       " AND ($4::stay_status IS NULL OR s.status = $4::stay_status) "
                       "AND ($5::uuid IS NULL OR s.pool_id = $5::uuid) "
                       "ORDER BY s.created_at DESC, s.id LIMIT $6::int OFFSET $7::int");
}

/* The visibility parameters ($1..$3) for the caller. */
static void visibility_params(const struct api_ctx *c, const char *params[3])
{
    params[0] = role_name(c->who.role);
    params[1] = c->who.user_id;
    params[2] = c->who.provider_id;
}

/* ---- POST /v1/stays ------------------------------------------------------------------- */

/* A stay request after validation, before the database. */
struct stay_request {
    const struct core_pool *pool;
    date_day check_in, check_out;
    const char *initial_status;
    const char *kind;
};

static int current_year(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return tm.tm_year + 1900;
}

/* Field-level validation of the body; values land in the request and in out (the jsonb
 * argument for the database function, built as we go). */
static void validate_body(struct api_ctx *c, struct jsonv *v, cJSON *out, struct stay_request *r,
                          const char **pool_id)
{
    static const char *const known[] = {"pool_id", "check_in", "check_out", "funding", "guest",
                                        "guest_id", "waitlist", "waitlist_window",
                                        "on_behalf_of", "diversion_reason", NULL};
    static const char *const guest_known[] = {"alias", "birth_year", "care_profile", "needs", NULL};
    const cJSON *b = c->body;
    jsonv_only(v, b, known);
    if (jsonv_string(v, b, "pool_id", true, 1, 64, pool_id) && !api_is_uuid(*pool_id))
        jsonv_error(v, "pool_id", "must be a pool id");
    bool dates = jsonv_date(v, b, "check_in", true, &r->check_in);
    dates &= jsonv_date(v, b, "check_out", true, &r->check_out);
    if (dates && r->check_out <= r->check_in)
        jsonv_error(v, "check_out", "must be after check_in");
    else if (dates && r->check_out - r->check_in > MAX_STAY_NIGHTS)
        jsonv_error(v, "check_out", "a stay is at most 365 nights");
    int funding;
    if (jsonv_enum(v, b, "funding", true, core_funding_names, &funding))
        cJSON_AddStringToObject(out, "funding", core_funding_names[funding]);

    const cJSON *g = cJSON_GetObjectItemCaseSensitive(b, "guest");
    if (practice_guest_id(c, v, b, out)) {
        /* a registered guest: its fields come from the guests table */
    } else if (!cJSON_IsObject(g)) {
        jsonv_error(v, "guest", "is required: alias, birth_year, care_profile, needs");
    } else {
        const char *alias;
        long birth_year;
        int profile;
        const cJSON *needs = NULL;
        struct jsonv gv;
        jsonv_init(&gv);
        jsonv_only(&gv, g, guest_known);
        cJSON *guest = cJSON_AddObjectToObject(out, "guest");
        if (jsonv_string(&gv, g, "alias", true, 1, 60, &alias))
            cJSON_AddStringToObject(guest, "alias", alias);
        if (jsonv_int(&gv, g, "birth_year", true, 1900, current_year(), &birth_year))
            cJSON_AddNumberToObject(guest, "birth_year", (double)birth_year);
        if (jsonv_enum(&gv, g, "care_profile", true, core_care_profile_names, &profile))
            cJSON_AddStringToObject(guest, "care_profile", core_care_profile_names[profile]);
        if (jsonv_string_set(&gv, g, "needs", false, NULL, 16, &needs))
            cJSON_AddItemToObject(guest, "needs", cJSON_Duplicate(needs, true));
        else
            cJSON_AddArrayToObject(guest, "needs");
        /* Nest the guest's errors under "guest." so the client knows where they are. */
        cJSON *errors = jsonv_take_errors(&gv), *e;
        cJSON_ArrayForEach(e, errors)
        {
            char field[96];
            snprintf(field, sizeof field, "guest.%s", cJSON_GetObjectItem(e, "field")->valuestring);
            jsonv_error(v, field, cJSON_GetObjectItem(e, "message")->valuestring);
        }
        cJSON_Delete(errors);
    }
    bool waitlist = false;
    jsonv_bool(v, b, "waitlist", false, &waitlist);
    cJSON_AddBoolToObject(out, "waitlist", waitlist);
    const char *text;
    if (jsonv_string(v, b, "on_behalf_of", false, 1, 200, &text))
        cJSON_AddStringToObject(out, "on_behalf_of", text);
    if (jsonv_string(v, b, "diversion_reason", false, 1, 1000, &text))
        cJSON_AddStringToObject(out, "diversion_reason", text);
}

/* The waitlist window defaults to exactly the asked dates. */
static void validate_window(struct jsonv *v, const cJSON *b, cJSON *out,
                            const struct stay_request *r)
{
    date_day earliest = r->check_in, latest = r->check_out;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(b, "waitlist_window");
    if (w && !cJSON_IsNull(w)) {
        if (!cJSON_IsObject(w)) {
            jsonv_error(v, "waitlist_window", "must be an object with earliest_check_in and latest_check_out");
            return;
        }
        jsonv_date(v, w, "earliest_check_in", false, &earliest);
        jsonv_date(v, w, "latest_check_out", false, &latest);
        if (latest - earliest < r->check_out - r->check_in || earliest > r->check_in ||
            latest < r->check_out) {
            jsonv_error(v, "waitlist_window", "must contain the asked nights");
            return;
        }
    }
    char d[DATE_TEXT_LEN];
    date_format(earliest, d);
    cJSON_AddStringToObject(out, "wait_earliest_check_in", d);
    date_format(latest, d);
    cJSON_AddStringToObject(out, "wait_latest_check_out", d);
    cJSON_AddNumberToObject(out, "wait_nights", r->check_out - r->check_in);
}

/* The separation of planned and crisis beds (spec 3), decided from the caller's role and the
 * pool's kind. Replies and returns false when the request may not go ahead. */
static bool decide_pathway(struct api_ctx *c, struct stay_request *r, bool has_diversion)
{
    const struct core_pool *p = r->pool;
    switch (c->who.role) {
    case ROLE_CAREGIVER:
        /* Caregivers never learn that a crisis pool exists. */
        if (p->kind == KIND_CRISIS) {
            api_reply_problem(c, PROBLEM_NOT_FOUND, "no pool with this id");
            return false;
        }
        if (has_diversion) {
            api_reply_problem(c, PROBLEM_FORBIDDEN, "only the coordinator may divert a bed");
            return false;
        }
        r->kind = "planned";
        r->initial_status = p->mode == MODE_INSTANT ? "held" : "requested";
        return true;
    case ROLE_REFERRER:
        if (p->kind == KIND_PLANNED) {
            api_reply_problem(c, PROBLEM_FORBIDDEN,
                              "referrers place crisis stays in crisis pools; a crisis placement in "
                              "a plannable bed needs the regional coordinator");
            return false;
        }
        if (has_diversion) {
            api_reply_problem(c, PROBLEM_FORBIDDEN, "only the coordinator may divert a bed");
            return false;
        }
        break;
    case ROLE_COORDINATOR:
        if (p->kind == KIND_PLANNED && !has_diversion) {
            cJSON *errors = cJSON_CreateArray();
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "field", "diversion_reason");
            cJSON_AddStringToObject(e, "message", "is required to place a crisis stay in a plannable bed");
            cJSON_AddItemToArray(errors, e);
            api_reply_problem_full(c, PROBLEM_VALIDATION, "a crisis stay in a planned pool is a diversion",
                                   errors, NULL);
            return false;
        }
        if (p->kind == KIND_CRISIS && has_diversion) {
            api_reply_problem(c, PROBLEM_VALIDATION, "diversion_reason is only for planned pools");
            return false;
        }
        break;
    default:
        api_reply_problem(c, PROBLEM_FORBIDDEN, "this role cannot request stays");
        return false;
    }
    /* Crisis placements need a bed now: confirmed at once, no hold to confirm. */
    r->kind = "crisis";
    r->initial_status = "confirmed";
    return true;
}

/* The pool's own rules: care profile, funding, nights, lead time and horizon. */
static void check_pool_rules(struct api_ctx *c, struct jsonv *v, const struct stay_request *r,
                             const cJSON *out)
{
    const struct core_pool *p = r->pool;
    const cJSON *guest = cJSON_GetObjectItem(out, "guest");
    const cJSON *profile = guest ? cJSON_GetObjectItem(guest, "care_profile") : NULL;
    int pi = profile ? core_name_index(core_care_profile_names, profile->valuestring) : -1;
    if (pi >= 0 && !(p->care_profiles & (1u << pi)))
        jsonv_error(v, "guest.care_profile", "this pool does not serve that care profile");
    const cJSON *funding = cJSON_GetObjectItem(out, "funding");
    int fi = funding ? core_name_index(core_funding_names, funding->valuestring) : -1;
    if (fi >= 0 && !(p->funding & (1u << fi)))
        jsonv_error(v, "funding", "this pool does not accept that funding");
    else if (fi == 0 && c->who.role == ROLE_CAREGIVER &&
             (!c->who.municipality[0] || !strstr(p->wmo_municipalities, c->who.municipality)))
        jsonv_error(v, "funding", "this pool has no Wmo contract with your municipality");
    int nights = r->check_out - r->check_in;
    if (nights < p->min_nights || nights > p->max_nights) {
        char msg[96];
        snprintf(msg, sizeof msg, "this pool takes stays of %d to %d nights", p->min_nights,
                 p->max_nights);
        jsonv_error(v, "check_out", msg);
    }
    date_day today = date_today_local();
    if (r->check_in < today)
        jsonv_error(v, "check_in", "is in the past");
    else if (r->check_in < today + p->lead_days) {
        char msg[96];
        snprintf(msg, sizeof msg, "this pool needs %d days' notice", p->lead_days);
        jsonv_error(v, "check_in", msg);
    }
    if (r->check_out > today + p->horizon_days) {
        char msg[96];
        snprintf(msg, sizeof msg, "this pool takes bookings up to %d days ahead", p->horizon_days);
        jsonv_error(v, "check_out", msg);
    }
}

static void reply_with_detail(struct api_ctx *c, enum problem_kind kind, const char *detail,
                              const char *detail_json)
{
    cJSON *extra = detail_json && *detail_json ? cJSON_Parse(detail_json) : NULL;
    if (extra && !cJSON_IsObject(extra)) {
        cJSON_Delete(extra);
        extra = NULL;
    }
    api_reply_problem_full(c, kind, detail, NULL, extra);
}

/* Replies with a stay body from the database and logs the access. */
static void reply_stay(struct api_ctx *c, int status, const char *body, const char *action)
{
    cJSON *stay = cJSON_Parse(body);
    const cJSON *id = stay ? cJSON_GetObjectItem(stay, "id") : NULL;
    if (cJSON_IsString(id)) {
        const char *ids[] = {id->valuestring};
        access_log_stays(c, action, ids, 1);
        if (status == 201) {
            char location[80];
            snprintf(location, sizeof location, "/v1/stays/%s", id->valuestring);
            http_reply_header(c->req, "Location", location);
        }
    }
    cJSON_Delete(stay);
    api_reply_raw(c, status, "application/json", body, strlen(body));
}

static void booked(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    const char *outcome = db_value(r->res, 0, 0);
    int status = atoi(db_value(r->res, 0, 1));
    const char *body = db_value(r->res, 0, 2);
    const char *detail = db_value(r->res, 0, 3);
    if (idem_reply_refusal(c, outcome))
        return; /* key_mismatch, key_running */
    if (!strcmp(outcome, "created") || !strcmp(outcome, "waitlisted") || !strcmp(outcome, "replayed")) {
        if (!strcmp(outcome, "replayed"))
            idem_mark_replayed(c);
        reply_stay(c, status ? status : 201, body, "stay.create");
    } else if (!strcmp(outcome, "no_beds")) {
        reply_with_detail(c, PROBLEM_NO_BEDS,
                          "no free bed on every night asked; try other dates, another pool, or "
                          "join the waitlist with \"waitlist\": true", detail);
    } else if (!strcmp(outcome, "too_many_open")) {
        reply_with_detail(c, PROBLEM_CONFLICT,
                          "you already have the most open requests allowed; confirm or cancel one "
                          "first", detail);
    } else if (!strcmp(outcome, "pool_not_found")) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no pool with this id");
    } else if (!practice_booking_refused(c, outcome, detail)) {
        api_reply_problem(c, PROBLEM_INTERNAL, "unexpected booking outcome");
    }
}

static void stays_create(struct api_ctx *c)
{
    const char *key;
    if (!idem_key(c, &key))
        return;
    struct stay_request r = {0};
    const char *pool_id = NULL;
    struct jsonv v;
    jsonv_init(&v);
    cJSON *p = cJSON_CreateObject();
    validate_body(c, &v, p, &r, &pool_id);
    if (!jsonv_ok(&v)) {
        cJSON_Delete(p);
        api_reply_problem_full(c, PROBLEM_VALIDATION, "check the highlighted fields",
                               jsonv_take_errors(&v), NULL);
        return;
    }
    /* Until the first load, an empty index would call every pool unknown: a 404 a client takes
     * as final although the booking might well succeed. Say "try again" instead. */
    if (!inventory_sync_ready(c->app->sync)) {
        cJSON_Delete(p);
        api_reply_problem(c, PROBLEM_UNAVAILABLE, "the availability index is still loading; "
                                                  "try again shortly");
        return;
    }
    r.pool = core_index_pool(c->app->index, pool_id);
    if (!r.pool || !r.pool->active) {
        cJSON_Delete(p);
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no pool with this id");
        return;
    }
    if (!decide_pathway(c, &r, cJSON_GetObjectItem(p, "diversion_reason") != NULL)) {
        cJSON_Delete(p);
        return;
    }
    check_pool_rules(c, &v, &r, p);
    validate_window(&v, c->body, p, &r);
    if (!jsonv_ok(&v)) {
        cJSON_Delete(p);
        api_reply_problem_full(c, PROBLEM_VALIDATION, "the request does not fit this pool",
                               jsonv_take_errors(&v), NULL);
        return;
    }
    char ci[DATE_TEXT_LEN], co[DATE_TEXT_LEN], hash[DIGEST_HEX_LEN];
    if (key && !idem_request_fingerprint(c, NULL, hash)) {
        cJSON_Delete(p);
        return;
    }
    date_format(r.check_in, ci);
    date_format(r.check_out, co);
    cJSON_AddStringToObject(p, "principal_id", c->who.user_id);
    cJSON_AddStringToObject(p, "principal_role", role_name(c->who.role));
    if (key) {
        cJSON_AddStringToObject(p, "idempotency_key", key);
        cJSON_AddStringToObject(p, "request_hash", hash);
    }
    cJSON_AddStringToObject(p, "method", "POST");
    cJSON_AddStringToObject(p, "path", "/v1/stays");
    cJSON_AddStringToObject(p, "pool_id", r.pool->id);
    cJSON_AddStringToObject(p, "check_in", ci);
    cJSON_AddStringToObject(p, "check_out", co);
    cJSON_AddStringToObject(p, "kind", r.kind);
    cJSON_AddStringToObject(p, "initial_status", r.initial_status);
    cJSON_AddNumberToObject(p, "hold_ttl_s", c->app->cfg->hold_ttl_s);
    if (c->who.role == ROLE_CAREGIVER)
        cJSON_AddNumberToObject(p, "max_open_stays", c->app->cfg->max_open_stays);
    char *arg = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    const char *params[] = {arg};
    api_query(c, "stays_book", 1, params, booked);
    cJSON_free(arg);
}

/* ---- GET /v1/stays and /v1/stays/{id} ------------------------------------------------- */

static void got_stay(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (PQntuples(r->res) != 1) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no stay with this id");
        return;
    }
    reply_stay(c, 200, db_value(r->res, 0, 0), "stay.read");
}

static void stays_get(struct api_ctx *c)
{
    const char *id = api_param(c, "id");
    if (!api_is_uuid(id)) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no stay with this id");
        return;
    }
    const char *params[4];
    visibility_params(c, params);
    params[3] = id;
    api_query(c, "stays_get", 4, params, got_stay);
}

static void listed(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    int n = PQntuples(r->res);
    size_t len;
    char *out = api_rows_json(r->res, 0, 2, "stays", &len);
    const char **ids = calloc((size_t)n + 1, sizeof *ids);
    if (!out || !ids) {
        free(out);
        free(ids);
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    for (int i = 0; i < n; i++)
        ids[i] = db_value(r->res, i, 1);
    access_log_stays(c, "stay.list", ids, (size_t)n);
    api_reply_raw(c, 200, "application/json", out, len);
    free(out);
    free(ids);
}

static void stays_list(struct api_ctx *c)
{
    char status[32], pool[64], limit[API_PAGE_TEXT], offset[API_PAGE_TEXT];
    bool bad = false;
    struct jsonv v;
    jsonv_init(&v);
    const char *s = api_query_arg(c, "status", status, sizeof status, &bad);
    const char *p = api_query_arg(c, "pool_id", pool, sizeof pool, &bad);
    api_page(c, &v, &bad, LIST_MAX_LIMIT, limit, offset);
    if (bad) {
        jsonv_free(&v);
        api_reply_problem(c, PROBLEM_BAD_REQUEST, "the query string has a malformed value");
        return;
    }
    if (s && core_name_index(core_status_names, s) < 0)
        jsonv_error(&v, "status", "is not a stay status");
    if (p && !api_is_uuid(p))
        jsonv_error(&v, "pool_id", "must be a pool id");
    if (!jsonv_ok(&v)) {
        api_reply_problem_full(c, PROBLEM_VALIDATION, "check the query parameters",
                               jsonv_take_errors(&v), NULL);
        return;
    }
    const char *params[7];
    visibility_params(c, params);
    params[3] = s;
    params[4] = p;
    params[5] = limit;
    params[6] = offset;
    api_query(c, "stays_list", 7, params, listed);
}

/* ---- POST /v1/stays/{id}/{action} ----------------------------------------------------- */

struct action_state {
    enum stay_action action;
    char reason[1001];
    bool has_reason;
};

static void transitioned(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    const char *outcome = db_value(r->res, 0, 0);
    if (!strcmp(outcome, "ok")) {
        const struct action_state *a = c->state;
        char action[32];
        snprintf(action, sizeof action, "stay.%s", core_action_names[a->action]);
        reply_stay(c, 200, db_value(r->res, 0, 2), action);
    } else if (!strcmp(outcome, "stale")) {
        reply_with_detail(c, PROBLEM_LIFECYCLE, "the stay changed meanwhile; reload it",
                          db_value(r->res, 0, 3));
    } else if (!strcmp(outcome, "not_found")) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no stay with this id");
    } else {
        api_reply_problem(c, PROBLEM_INTERNAL, "unexpected transition outcome");
    }
}

static void lifecycle_conflict(struct api_ctx *c, const char *status, const char *detail)
{
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "current_status", status);
    api_reply_problem_full(c, PROBLEM_LIFECYCLE, detail, NULL, extra);
}

static const char *default_reason(unsigned role)
{
    return role == ROLE_CAREGIVER ? "geannuleerd door de mantelzorger"
                                  : "geannuleerd door de aanvrager";
}

static void found_for_action(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (PQntuples(r->res) != 1) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no stay with this id");
        return;
    }
    struct action_state *a = c->state;
    const char *status = db_value(r->res, 0, 0);
    enum stay_status from = core_name_index(core_status_names, status);
    date_day check_in = 0;
    if (!db_is_null(r->res, 0, 1) && !date_parse(db_value(r->res, 0, 1), &check_in))
        check_in = 0;
    enum booking_mode mode = strcmp(db_value(r->res, 0, 2), "instant") == 0 ? MODE_INSTANT : MODE_APPROVAL;
    /* Only the requester confirms a hold: the coordinator sees every stay, but confirming
     * a family's hold for them would be deciding for them. */
    if (a->action == ACT_CONFIRM && db_value(r->res, 0, 3)[0] != 't') {
        api_reply_problem(c, PROBLEM_FORBIDDEN, "only the person who asked for the stay can confirm it");
        return;
    }
    struct core_transition t;
    switch (core_decide(a->action, c->who.role, from, mode, check_in, date_today_local(), &t)) {
    case CORE_FORBIDDEN_ROLE:
        api_reply_problem(c, PROBLEM_FORBIDDEN, "the role %s cannot %s a stay",
                          role_name(c->who.role), core_action_names[a->action]);
        return;
    case CORE_BAD_STATUS:
        lifecycle_conflict(c, status, "not possible in the stay's current status");
        return;
    case CORE_TOO_EARLY:
        lifecycle_conflict(c, status, "the stay has not started yet");
        return;
    case CORE_OK:
        break;
    }
    if (t.reason_required && !a->has_reason) {
        cJSON *errors = cJSON_CreateArray();
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "field", "reason");
        cJSON_AddStringToObject(e, "message", "is required: the family sees it");
        cJSON_AddItemToArray(errors, e);
        api_reply_problem_full(c, PROBLEM_VALIDATION, "give a reason", errors, NULL);
        return;
    }
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "stay_id", api_param(c, "id"));
    cJSON_AddStringToObject(p, "from_status", core_status_names[from]);
    cJSON_AddStringToObject(p, "to_status", core_status_names[t.to]);
    cJSON_AddNumberToObject(p, "held_delta", t.held_delta);
    cJSON_AddNumberToObject(p, "booked_delta", t.booked_delta);
    cJSON_AddStringToObject(p, "actor_id", c->who.user_id);
    cJSON_AddStringToObject(p, "actor_role", role_name(c->who.role));
    if (a->has_reason)
        cJSON_AddStringToObject(p, "reason", a->reason);
    else if (t.to == STAY_CANCELLED)
        cJSON_AddStringToObject(p, "reason", default_reason(c->who.role));
    cJSON_AddNumberToObject(p, "hold_ttl_s", c->app->cfg->hold_ttl_s);
    char *arg = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    const char *params[] = {arg};
    api_query(c, "stays_transition", 1, params, transitioned);
    cJSON_free(arg);
}

static void stays_action(struct api_ctx *c)
{
    const char *id = api_param(c, "id");
    int action = core_name_index(core_action_names, api_param(c, "action"));
    if (action < 0 || action == ACT_EXPIRE) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no such action; use confirm, accept, decline, "
                                                "cancel, check-in, check-out or no-show");
        return;
    }
    if (!api_is_uuid(id)) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no stay with this id");
        return;
    }
    struct action_state *a = calloc(1, sizeof *a);
    if (!a) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    c->state = a;
    c->state_free = free;
    a->action = action;
    if (c->body) {
        static const char *const known[] = {"reason", NULL};
        struct jsonv v;
        jsonv_init(&v);
        const char *reason;
        jsonv_only(&v, c->body, known);
        if (jsonv_string(&v, c->body, "reason", false, 1, 1000, &reason)) {
            snprintf(a->reason, sizeof a->reason, "%s", reason);
            a->has_reason = true;
        }
        if (!jsonv_ok(&v)) {
            api_reply_problem_full(c, PROBLEM_VALIDATION, "check the highlighted fields",
                                   jsonv_take_errors(&v), NULL);
            return;
        }
    }
    const char *params[4];
    visibility_params(c, params);
    params[3] = id;
    api_query(c, "stays_for_action", 4, params, found_for_action);
}

static const struct api_endpoint create = {stays_create, true};
static const struct api_endpoint list = {stays_list, false};
static const struct api_endpoint get = {stays_get, false};
static const struct api_endpoint action = {stays_action, false};

#define STAY_ROLES (ROLE_CAREGIVER | ROLE_PROVIDER | ROLE_REFERRER | ROLE_COORDINATOR)

static const struct route stay_routes[] = {
    {HTTP_POST, "/v1/stays", &create, ROLE_CAREGIVER | ROLE_REFERRER | ROLE_COORDINATOR},
    {HTTP_GET, "/v1/stays", &list, STAY_ROLES},
    {HTTP_GET, "/v1/stays/{id}", &get, STAY_ROLES},
    {HTTP_POST, "/v1/stays/{id}/{action}", &action, STAY_ROLES},
};

ROUTE_GROUP(stays_group, stay_routes, stays_prepare);
