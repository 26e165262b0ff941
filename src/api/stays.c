/* stays: requesting a stay, reading stays, moving them through their lifecycle (spec 3, 4,
 * 6) and changing their transport. Validates the request and turns the core's decisions (the
 * pathway by role and kind, the pool's own rules and windows, the lifecycle) into answers; it
 * decides none of them itself. One database function per write applies them atomically with
 * the night and companion counters, the history and the idempotency record. Every read or
 * change of a stay's personal data is access-logged; the stay's calendar file (iCalendar) is
 * one such read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access_log.h"
#include "handlers.h"
#include "logeer/config.h"
#include "logeer/core.h"
#include "logeer/events.h"
#include "logeer/ical.h"
#include "logeer/idempotency.h"
#include "logeer/jsonv.h"
#include "resource.h"
#include "stay_ical.h"
#include "stay_request.h"

#define MAX_STAY_NIGHTS 365
#define LIST_MAX_LIMIT 200
#define STAY_MISSING "no stay with this id"
#define POOL_MISSING "no pool with this id"
#define COMPANION_NONE                                                                       \
    "this pool has no place for a caregiver staying along (companion_places is 0); book "   \
    "without companion or choose a pool that offers one"

/* Where the stay is, so that a family's list says more than an id: the location's name,
 * place and address and the pool's name (null for a waitlist entry without a pool), and the
 * pool's check-in and check-out windows, so that a page changing the transport can say in
 * words which times fit before it sends one. */
#define STAY_PLACE                                                                           \
    "jsonb_build_object('pool_name', (SELECT p.name FROM pools p WHERE p.id = s.pool_id), "    \
    "'check_in_window', (SELECT p.check_in_window FROM pools p WHERE p.id = s.pool_id), "      \
    "'check_out_window', (SELECT p.check_out_window FROM pools p WHERE p.id = s.pool_id), "    \
    "'location', (SELECT jsonb_build_object('id', l.id, 'name', l.name, 'municipality', "      \
    "l.municipality, 'address', l.address) FROM pools p JOIN locations l "                    \
    "ON l.id = p.location_id WHERE p.id = s.pool_id))"

/* The stay as the caller may see it. The coordinator reads every stay in the region but not
 * care details beyond need (spec 1): on stays someone else asked for, the guest shows only
 * the care profile. $1 role, $2 user id. */
#define STAY_AS_SEEN                                                                         \
    "(CASE WHEN $1 = 'coordinator' AND s.requested_by <> $2::uuid THEN logeer_stay_json(s) || " \
    "jsonb_build_object('guest', jsonb_build_object('care_profile', s.guest_care_profile, "    \
    "'redacted', true)) ELSE logeer_stay_json(s) END) || " STAY_PLACE

/* Who sees which stays: requesters their own, provider staff those in their own pools, the
 * coordinator all of them. $1 role, $2 user id, $3 provider id. */
#define VISIBLE                                                                              \
    "(($1 = 'coordinator') OR ($1 IN ('caregiver', 'referrer') AND s.requested_by = $2::uuid) " \
    "OR ($1 = 'provider' AND s.provider_id = nullif($3, '')::uuid))"

/* What logeer_book_stay would look at before its quick look (0043's step 3c) refuses a full
 * night, and that quick look itself, in one plain statement: whether the idempotency key is
 * known ($1 principal, $2 key), the principal's open stays (counted only when $6 is true, as
 * step 2 counts them), whether the pool ($3) is active, whether a registered guest ($7, NULL
 * for one given inline) is the principal's and of a care profile the pool serves (steps 1b and
 * 3), whether the guest's latest decided intake at the pool's location lets the stay through
 * when the pool asks for one and the stay is planned ($8; step 3b: not unsuitable, not lapsed,
 * a trial_first stay not too long), and the nights [$4, $5): how many have a row and which of
 * them have no free bed, as step 3c lists them. Read from the committed state without a lock,
 * as step 3c reads it. */
#define FULL_CHECK_SQL                                                                        \
    "WITH po AS (SELECT p.active, p.care_profiles, p.intake_required, p.location_id "          \
    "              FROM pools p WHERE p.id = $3::uuid), "                                      \
    "nights AS (SELECT count(*) AS n, jsonb_agg(logeer_ymd(n.night) ORDER BY n.night) "        \
    "                   FILTER (WHERE n.capacity - n.held - n.booked <= 0) AS full "           \
    "             FROM pool_nights n "                                                         \
    "            WHERE n.pool_id = $3::uuid AND n.night >= $4::date AND n.night < $5::date) "  \
    "SELECT EXISTS (SELECT 1 FROM idempotency_keys k "                                         \
    "                WHERE k.principal_id = $1::uuid AND k.key = $2), "                        \
    "CASE WHEN $6::boolean THEN (SELECT count(DISTINCT coalesce(s.series_id, s.id)) "          \
    "  FROM stays s WHERE s.requested_by = $1::uuid "                                          \
    "   AND s.status IN ('held', 'requested', 'waitlisted') "                                  \
    "   AND (s.status <> 'held' OR s.hold_expires_at > now())) ELSE 0 END, "                   \
    "coalesce((SELECT po.active FROM po), false), "                                            \
    "$7::uuid IS NULL OR EXISTS (SELECT 1 FROM guests g, po WHERE g.id = $7::uuid "            \
    "  AND g.caregiver_id = $1::uuid AND g.erased_at IS NULL "                                 \
    "  AND g.care_profile = ANY (po.care_profiles)), "                                         \
    "NOT $8::boolean OR NOT coalesce((SELECT po.intake_required FROM po), true) "              \
    "OR coalesce((SELECT i.outcome <> 'not_suitable' "                                         \
    "  AND NOT coalesce(logeer_intake_valid_until(i) < logeer_today(), false) "                \
    "  AND NOT coalesce(i.outcome = 'trial_first' "                                            \
    "                   AND $5::date - $4::date > i.trial_max_nights, false) "                 \
    "  FROM intakes i, po WHERE i.guest_id = $7::uuid AND i.location_id = po.location_id "     \
    "   AND i.status = 'decided' ORDER BY i.decided_at DESC, i.id LIMIT 1), false), "          \
    "nights.n, nights.full::text FROM nights"

static int stays_prepare(struct app *app)
{
    if (access_log_prepare(app))
        return -1;
    if (api_prepare(app, "stays_book", RES_RESULT_SQL("logeer_request_stay")))
        return -1;
    if (api_prepare(app, "stays_full_check", FULL_CHECK_SQL))
        return -1;
    if (api_prepare(app, "stays_transition", RES_RESULT_SQL("logeer_stay_transition")))
        return -1;
    if (api_prepare(app, "stays_set_transport", RES_RESULT_SQL("logeer_stay_set_transport")))
        return -1;
    if (api_prepare(app, "stays_for_transport",
                    "SELECT s.status::text, s.pool_id, s.version, s.requested_by = $2::uuid "
                    "FROM stays s WHERE s.id = $4::uuid AND " VISIBLE))
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
    /* What a calendar file shows: where and when, never who or why (it may end up in a
     * shared or synced calendar). The count of the stay's events numbers its versions. */
    if (api_prepare(app, "stays_calendar",
                    "SELECT s.id, s.status::text, s.check_in, s.check_out, l.name, l.address, "
                    "m.name, p.name, pr.name, p.check_in_window, p.check_out_window, "
                    "(SELECT count(*) FROM stay_events e WHERE e.stay_id = s.id) "
                    "FROM stays s LEFT JOIN pools p ON p.id = s.pool_id "
                    "LEFT JOIN locations l ON l.id = p.location_id "
                    "LEFT JOIN municipalities m ON m.code = l.municipality "
                    "LEFT JOIN providers pr ON pr.id = s.provider_id "
                    "WHERE s.id = $4::uuid AND " VISIBLE))
        return -1;
    return api_prepare(app, "stays_list",
                       "SELECT (" STAY_AS_SEEN ")::text, s.id, count(*) OVER () "
                       "FROM stays s WHERE " VISIBLE
                       " AND ($4::stay_status IS NULL OR s.status = $4::stay_status) "
                       "AND ($5::uuid IS NULL OR s.pool_id = $5::uuid) "
                       "ORDER BY s.created_at DESC, s.id LIMIT $6::int OFFSET $7::int");
}

void stay_visibility_params(const struct api_ctx *c, const char *params[3])
{
    params[0] = role_name(c->who.role);
    params[1] = c->who.user_id;
    params[2] = c->who.provider_id;
}

/* ---- POST /v1/stays ------------------------------------------------------------------- */


static int current_year(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return tm.tm_year + 1900;
}

/* A registered guest (docs/practice.md): when the body names guest_id, checks it (exactly one
 * of guest and guest_id; caregivers only), adds it to out and returns true; the database
 * function copies the guest's fields into the stay. False when the body has no guest_id. */
bool stay_registered_guest(const struct api_ctx *c, struct jsonv *v, const cJSON *body,
                             cJSON *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, "guest_id");
    if (!item)
        return false;
    const char *id;
    if (cJSON_GetObjectItemCaseSensitive(body, "guest"))
        jsonv_error(v, "guest_id", "give either guest or guest_id, not both");
    else if (c->who.role != ROLE_CAREGIVER)
        jsonv_error(v, "guest_id", "only a caregiver books for a registered guest; give guest");
    else if (jsonv_string(v, body, "guest_id", true, 1, 64, &id)) {
        if (api_is_uuid(id))
            cJSON_AddStringToObject(out, "guest_id", id);
        else
            jsonv_error(v, "guest_id", "must be a guest id (see GET /v1/guests)");
    }
    return true;
}

/* ---- transport (docs/practice.md, "Companion places, transport") ---------------------- */

static const char *const transport_by_names[] = {"caregiver", "provider", "other", NULL};

#define TRANSPORT_NOTE_MAX 300

/* arrival or departure: {by, time?, note?} (Transport in the contract). Adds the checked
 * object to out (a JSON null with allow_null, to clear it) and points *time at its time, or
 * NULL. Errors name the member, e.g. "arrival.time". The window is checked apart
 * (stay_check_transport_windows), once the pool is known. */
void stay_validate_transport(struct jsonv *v, const cJSON *body, const char *field,
                               bool allow_null, cJSON *out, const char **time)
{
    static const char *const known[] = {"by", "time", "note", NULL};
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, field);
    *time = NULL;
    if (!t)
        return;
    if (cJSON_IsNull(t) && allow_null) {
        cJSON_AddNullToObject(out, field);
        return;
    }
    if (!cJSON_IsObject(t)) {
        jsonv_error(v, field, "must be an object {\"by\": caregiver, provider or other, "
                              "\"time\": \"HH:MM\", \"note\": text}");
        return;
    }
    struct jsonv tv;
    jsonv_init(&tv);
    jsonv_only(&tv, t, known);
    cJSON *o = cJSON_CreateObject();
    int by;
    const char *s;
    if (jsonv_enum(&tv, t, "by", true, transport_by_names, &by))
        cJSON_AddStringToObject(o, "by", transport_by_names[by]);
    if (jsonv_string(&tv, t, "time", false, 5, 5, &s)) {
        if (core_time_valid(s)) {
            cJSON_AddStringToObject(o, "time", s);
            *time = cJSON_GetObjectItemCaseSensitive(o, "time")->valuestring;
        } else {
            jsonv_error(&tv, "time", "must be a time \"HH:MM\" on a 24-hour clock");
        }
    }
    if (res_text(&tv, t, "note", false, TRANSPORT_NOTE_MAX, &s)) {
        /* Practical arrangements only: health data stays out of free text, and the one
         * identifier we can recognise is refused outright. */
        if (res_text_has_bsn(s))
            jsonv_error(&tv, "note", "must not hold a citizen service number (BSN); write only "
                                     "practical arrangements, no health data");
        else
            cJSON_AddStringToObject(o, "note", s);
    }
    char prefix[24];
    snprintf(prefix, sizeof prefix, "%s.", field);
    bool ok = jsonv_ok(&tv);
    res_nest_errors(v, &tv, prefix);
    if (ok)
        cJSON_AddItemToObject(out, field, o);
    else {
        cJSON_Delete(o);
        *time = NULL;
    }
}

/* The times against the pool's windows, named in Dutch for the caregiver ("aankomst tussen
 * 14:00 en 17:00"). */
void stay_check_transport_windows(struct jsonv *v, const struct core_pool *p,
                                    const char *arrival, const char *departure)
{
    char msg[160];
    const char *w = p->check_in_window;
    if (arrival && !core_time_in_window(w, arrival)) {
        snprintf(msg, sizeof msg, "must lie inside the pool's check-in window: aankomst tussen "
                 "%.5s en %.5s", w, w + 6);
        jsonv_error(v, "arrival.time", msg);
    }
    w = p->check_out_window;
    if (departure && !core_time_in_window(w, departure)) {
        snprintf(msg, sizeof msg, "must lie inside the pool's check-out window: vertrek tussen "
                 "%.5s en %.5s", w, w + 6);
        jsonv_error(v, "departure.time", msg);
    }
}

/* The request's transport times, kept until the pool is known. */
struct transport_times {
    const char *arrival, *departure;
};

/* Field-level validation of the body; values land in the request and in out (the jsonb
 * argument for the database function, built as we go). */
static void validate_body(struct api_ctx *c, struct jsonv *v, cJSON *out, struct stay_request *r,
                          const char **pool_id, struct transport_times *times)
{
    static const char *const known[] = {"pool_id", "check_in", "check_out", "funding", "guest",
                                        "guest_id", "waitlist", "waitlist_window",
                                        "on_behalf_of", "diversion_reason", "companion",
                                        "arrival", "departure", "wait_municipality", NULL};
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
    if (jsonv_enum(v, b, "funding", true, core_funding_names, &r->funding))
        cJSON_AddStringToObject(out, "funding", core_funding_names[r->funding]);

    const cJSON *g = cJSON_GetObjectItemCaseSensitive(b, "guest");
    r->inline_guest = true;
    if (stay_registered_guest(c, v, b, out)) {
        /* a registered guest: its fields come from the guests table */
        r->inline_guest = false;
    } else if (!cJSON_IsObject(g)) {
        jsonv_error(v, "guest", "is required: alias, birth_year, care_profile, needs");
    } else {
        const char *alias;
        long birth_year;
        const cJSON *needs = NULL;
        struct jsonv gv;
        jsonv_init(&gv);
        jsonv_only(&gv, g, guest_known);
        cJSON *guest = cJSON_AddObjectToObject(out, "guest");
        if (jsonv_string(&gv, g, "alias", true, 1, 60, &alias))
            cJSON_AddStringToObject(guest, "alias", alias);
        if (jsonv_int(&gv, g, "birth_year", true, 1900, current_year(), &birth_year))
            cJSON_AddNumberToObject(guest, "birth_year", (double)birth_year);
        if (jsonv_enum(&gv, g, "care_profile", true, core_care_profile_names, &r->care_profile))
            cJSON_AddStringToObject(guest, "care_profile", core_care_profile_names[r->care_profile]);
        if (jsonv_string_set(&gv, g, "needs", false, NULL, 16, &needs))
            cJSON_AddItemToObject(guest, "needs", cJSON_Duplicate(needs, true));
        else
            cJSON_AddArrayToObject(guest, "needs");
        /* Nest the guest's errors under "guest." so the client knows where they are. */
        res_nest_errors(v, &gv, "guest.");
    }
    bool waitlist = false;
    jsonv_bool(v, b, "waitlist", false, &waitlist);
    cJSON_AddBoolToObject(out, "waitlist", waitlist);
    const char *text;
    if (jsonv_string(v, b, "on_behalf_of", false, 1, 200, &text))
        cJSON_AddStringToObject(out, "on_behalf_of", text);
    if (jsonv_string(v, b, "diversion_reason", false, 1, 1000, &text))
        cJSON_AddStringToObject(out, "diversion_reason", text);
    bool companion = false;
    jsonv_bool(v, b, "companion", false, &companion);
    cJSON_AddBoolToObject(out, "companion", companion);
    stay_validate_transport(v, b, "arrival", false, out, &times->arrival);
    stay_validate_transport(v, b, "departure", false, out, &times->departure);
    /* Where the caregiver wants the guest to stay: the escalation options of a guaranteed
     * request look there first. Only a waitlist request has one; without it the database
     * takes the guest's (else the caregiver's) home municipality. */
    if (jsonv_string(v, b, "wait_municipality", false, 1, 16, &text)) {
        if (!res_is_cbs_code(text))
            jsonv_error(v, "wait_municipality", "must be a CBS code such as GM0106");
        else if (!waitlist)
            jsonv_error(v, "wait_municipality", "is only for a waitlist request (\"waitlist\": true)");
        else
            cJSON_AddStringToObject(out, "wait_municipality", text);
    }
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

/* The separation of planned and crisis beds (spec 3), decided by the core from the caller's
 * role and the pool's kind. Replies and returns false when the request may not go ahead. */
bool stay_decide_pathway(struct api_ctx *c, struct stay_request *r, bool has_diversion)
{
    struct core_pathway path;
    switch (core_pathway(c->who.role, r->pool->kind, r->pool->mode, has_diversion, &path)) {
    case CORE_PATH_OK:
        r->kind = core_kind_names[path.kind];
        r->initial_status = core_status_names[path.initial];
        return true;
    case CORE_PATH_HIDDEN:
        api_reply_problem(c, PROBLEM_NOT_FOUND, POOL_MISSING);
        return false;
    case CORE_PATH_WRONG_KIND:
        api_reply_problem(c, PROBLEM_FORBIDDEN,
                          "referrers place crisis stays in crisis pools; a crisis placement in "
                          "a plannable bed needs the regional coordinator");
        return false;
    case CORE_PATH_DIVERSION_FORBIDDEN:
        api_reply_problem(c, PROBLEM_FORBIDDEN, "only the coordinator may divert a bed");
        return false;
    case CORE_PATH_DIVERSION_REQUIRED:
        res_reply_field(c, "diversion_reason", "is required to place a crisis stay in a plannable bed",
                        "a crisis stay in a planned pool is a diversion");
        return false;
    case CORE_PATH_DIVERSION_NEEDLESS:
        api_reply_problem(c, PROBLEM_VALIDATION, "diversion_reason is only for planned pools");
        return false;
    case CORE_PATH_ROLE:
        break;
    }
    api_reply_problem(c, PROBLEM_FORBIDDEN, "this role cannot request stays");
    return false;
}

/* The pool's own rules, judged by the core: care profile, funding (for an inline guest of a
 * planned stay, private only where the pool checks allowances), nights, lead time, horizon,
 * arrival days and blocks. Each broken rule becomes a field error that says what the
 * pool takes. */
static void check_pool_rules(struct api_ctx *c, struct jsonv *v, const struct stay_request *r,
                             const cJSON *p_out, const struct transport_times *times)
{
    const struct core_pool *p = r->pool;
    struct core_stay_ask ask = {r->check_in, r->check_out, date_today_local(), r->care_profile,
                                r->funding, c->who.role, c->who.municipality,
                                r->inline_guest && strcmp(r->kind, "planned") == 0};
    unsigned broken = core_stay_breaks(p, &ask);
    char msg[96];
    if (broken & CORE_RULE_CARE_PROFILE)
        jsonv_error(v, "guest.care_profile", "this pool does not serve that care profile");
    if (broken & CORE_RULE_FUNDING)
        jsonv_error(v, "funding", "this pool does not accept that funding");
    if (broken & CORE_RULE_WMO_CONTRACT)
        jsonv_error(v, "funding", "this pool has no Wmo contract with your municipality");
    if (broken & CORE_RULE_INLINE_GUEST)
        jsonv_error(v, "funding",
                    "this pool checks allowances: wmo, wlz, zvw and pgb are only for a "
                    "registered guest. Register the guest (POST /v1/guests) and the allowance "
                    "(POST /v1/allowances) and book with guest_id, or choose private");
    if (broken & CORE_RULE_NIGHTS) {
        snprintf(msg, sizeof msg, "this pool takes stays of %d to %d nights", p->min_nights,
                 p->max_nights);
        jsonv_error(v, "check_out", msg);
    }
    if (broken & CORE_RULE_PAST)
        jsonv_error(v, "check_in", "is in the past");
    if (broken & CORE_RULE_LEAD_TIME) {
        snprintf(msg, sizeof msg, "this pool needs %d days' notice", p->lead_days);
        jsonv_error(v, "check_in", msg);
    }
    if (broken & CORE_RULE_HORIZON) {
        snprintf(msg, sizeof msg, "this pool takes bookings up to %d days ahead", p->horizon_days);
        jsonv_error(v, "check_out", msg);
    }
    if (broken & (CORE_RULE_ARRIVAL | CORE_RULE_BLOCKS)) {
        /* The allowed patterns in the caregiver's words, e.g. "aankomst op maandag of
         * vrijdag; blokken ma–vr (4 nachten), vr–ma (3)". */
        char rules[400], text[512];
        core_arrival_text(p, rules, sizeof rules);
        if (broken & CORE_RULE_ARRIVAL)
            snprintf(text, sizeof text, "this pool takes no arrivals on that day: %s", rules);
        else
            snprintf(text, sizeof text, "the stay must be one block or a chain of blocks: %s",
                     rules);
        jsonv_error(v, broken & CORE_RULE_ARRIVAL ? "check_in" : "check_out", text);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p_out, "companion")) &&
        p->companion_places == 0)
        jsonv_error(v, "companion", COMPANION_NONE);
    stay_check_transport_windows(v, p, times->arrival, times->departure);
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
    res_reply_body(c, status, body);
}

const struct res_refusal stay_booking_outcomes[] = {
    {"no_beds", PROBLEM_NO_BEDS, NULL,
     "no free bed on every night asked; try other dates, another pool, or join the waitlist "
     "with \"waitlist\": true"},
    {"too_many_open", PROBLEM_CONFLICT, NULL,
     "you already have the most open requests allowed; confirm or cancel one first"},
    /* The account was erased while the request waited for it (migration 0055). */
    {"account_erased", PROBLEM_UNAUTHORIZED, NULL, "this account has been erased"},
    {"pool_not_found", PROBLEM_NOT_FOUND, NULL, POOL_MISSING},
    {"guest_not_found", PROBLEM_NOT_FOUND, NULL, "no guest with this id (see GET /v1/guests)"},
    {"care_profile", PROBLEM_VALIDATION, "guest_id",
     "this pool does not serve the guest's care profile"},
    {"intake_required", PROBLEM_INTAKE_REQUIRED, NULL,
     "this pool takes guests after an intake (kennismaking) at its location, and the guest has "
     "no valid welcome or trial_first outcome there: ask for one with POST /v1/intakes "
     "{guest_id, location_id, moments}, or book a pool without that rule"},
    {"trial_too_long", PROBLEM_VALIDATION, "check_out",
     "the intake allows a shorter trial stay first: at most trial_max_nights nights"},
    {"allowance_required", PROBLEM_ALLOWANCE_REQUIRED, NULL,
     "this funding route (wmo, wlz, pgb) needs the guest's allowance for it, valid on every "
     "night of the stay: register the grant with POST /v1/allowances, or choose zvw or private"},
    {"no_companion_offered", PROBLEM_VALIDATION, "companion", COMPANION_NONE},
    {"no_companion_place", PROBLEM_NO_COMPANION_PLACE, NULL,
     "the caregiver's place (companion) is taken on some nights asked (nights); book without "
     "companion, pick other dates, or join the waitlist with \"waitlist\": true"},
    {"allowance_exceeded", PROBLEM_ALLOWANCE_EXCEEDED, NULL,
     "the guest's allowance has too few nights left in a week or year of this stay (remaining "
     "per period); shorten the stay, pick other dates or another funding route"},
    {NULL, 0, NULL, NULL},
};

static void booked(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, NULL, &res))
        return;
    if (strcmp(res.outcome, "created") != 0 && strcmp(res.outcome, "waitlisted") != 0 &&
        strcmp(res.outcome, "replayed") != 0) {
        res_reply_outcome(c, &res, stay_booking_outcomes);
        return;
    }
    if (!strcmp(res.outcome, "replayed"))
        idem_mark_replayed(c);
    reply_stay(c, res.status ? res.status : 201, res.body, "stay.create");
}

/* The database function's argument: the validated request (p, already holding the body's
 * values), who asks, the key and what the core decided. */
static void add_booking(struct api_ctx *c, cJSON *p, const struct stay_request *r,
                        const char *key, const char *hash)
{
    char ci[DATE_TEXT_LEN], co[DATE_TEXT_LEN];
    date_format(r->check_in, ci);
    date_format(r->check_out, co);
    cJSON_AddStringToObject(p, "principal_id", c->who.user_id);
    cJSON_AddStringToObject(p, "principal_role", role_name(c->who.role));
    if (key) {
        cJSON_AddStringToObject(p, "idempotency_key", key);
        cJSON_AddStringToObject(p, "request_hash", hash);
    }
    cJSON_AddStringToObject(p, "method", "POST");
    cJSON_AddStringToObject(p, "path", "/v1/stays");
    cJSON_AddStringToObject(p, "pool_id", r->pool->id);
    cJSON_AddStringToObject(p, "check_in", ci);
    cJSON_AddStringToObject(p, "check_out", co);
    cJSON_AddStringToObject(p, "kind", r->kind);
    cJSON_AddStringToObject(p, "initial_status", r->initial_status);
    cJSON_AddNumberToObject(p, "hold_ttl_s", c->app->cfg->hold_ttl_s);
    if (c->who.role == ROLE_CAREGIVER)
        cJSON_AddNumberToObject(p, "max_open_stays", c->app->cfg->max_open_stays);
    /* Whether a waitlist request is guaranteed is decided as it is made (docs/practice.md). */
    cJSON_AddNumberToObject(p, "guarantee_days", c->app->cfg->guarantee_days);
    cJSON_AddNumberToObject(p, "guarantee_escalate_days", c->app->cfg->guarantee_escalate_days);
}

static void stay_pool_loaded(void *arg, bool ok)
{
    (void)ok; /* a failed load leaves the index as it was: the pool is still unknown, 404 */
    struct api_ctx *c = arg;
    c->rerun(c);
}

const struct core_pool *stay_known_pool(struct api_ctx *c, const char *pool_id,
                                        void (*handler)(struct api_ctx *c))
{
    const struct core_pool *pool = core_index_pool(c->app->index, pool_id);
    if (pool && pool->active)
        return pool;
    if (!c->pool_reloaded && c->app->sync) {
        /* The steps before the index lookup only validate, so running them again is safe. */
        c->pool_reloaded = true;
        c->rerun = handler;
        if (c->state && c->state_free)
            c->state_free(c->state);
        c->state = NULL;
        c->state_free = NULL;
        inventory_sync_reload(c->app->sync, SYNC_POOL, pool_id, stay_pool_loaded, c);
        return NULL;
    }
    api_reply_problem(c, PROBLEM_NOT_FOUND, POOL_MISSING);
    return NULL;
}

/* ---- a full night refused without the booking function --------------------------------
 *
 * In a race for a night's last beds most requests find it full. logeer_book_stay refuses them
 * at its quick look (step 3c), but only after its argument checks, the idempotency claim, the
 * open-stays count, the pool and the intake: half a millisecond of PL/pgSQL each, most of the
 * database's time in such a race. When this process's index already sees a night of the stay
 * full, one plain statement (FULL_CHECK_SQL) asks the committed state the same questions; it
 * refuses only when the function would have refused with the same no_beds, and anything else
 * (a known key, the open-stays limit reached, an inactive pool, a night without a row, a bed
 * free after all, a registered guest that is not the caller's or not served by the pool, an
 * intake the pool asks for and the guest lacks) goes on to the function, which decides as
 * before. Waitlist requests go to the function from the start: they wait instead. */

struct full_check {
    cJSON *p;   /* the function's argument, complete: sent as it is when the function decides */
    int nights; /* asked */
};

static void full_check_free(void *arg)
{
    struct full_check *f = arg;
    cJSON_Delete(f->p);
    free(f);
}

/* Whether this process's index sees a night of the stay without a free bed: only a hint for
 * asking the database, never an answer by itself. */
static bool index_sees_full_night(const struct api_ctx *c, const struct stay_request *r)
{
    for (date_day d = r->check_in; d < r->check_out; d++)
        if (core_index_free_on(c->app->index, r->pool->id, d) <= 0)
            return true;
    return false;
}

static bool full_check_applies(const struct api_ctx *c, const cJSON *p,
                               const struct stay_request *r)
{
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "waitlist")))
        return false;
    return index_sees_full_night(c, r);
}

/* The function decides: it replays, counts, refuses or books. Takes p. */
static void book(struct api_ctx *c, cJSON *p)
{
    res_query_json(c, "stays_book", p, booked);
}

static void full_checked(struct api_ctx *c, const struct db_result *r)
{
    struct full_check *f = c->state;
    cJSON *p = f->p;
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (PQntuples(r->res) != 1) { /* an aggregate: cannot happen; the function knows best */
        f->p = NULL;
        book(c, p);
        return;
    }
    bool keyed = db_value(r->res, 0, 0)[0] == 't';
    long open = strtol(db_value(r->res, 0, 1), NULL, 10);
    bool active = db_value(r->res, 0, 2)[0] == 't';
    bool guest_ok = db_value(r->res, 0, 3)[0] == 't';
    bool intake_ok = db_value(r->res, 0, 4)[0] == 't';
    long rows = strtol(db_value(r->res, 0, 5), NULL, 10);
    bool at_limit = c->who.role == ROLE_CAREGIVER && open >= c->app->cfg->max_open_stays;
    if (keyed || at_limit || !active || !guest_ok || !intake_ok || rows < f->nights ||
        db_is_null(r->res, 0, 6)) {
        f->p = NULL;
        book(c, p);
        return;
    }
    const char *nights = db_value(r->res, 0, 6);
    size_t size = strlen(nights) + 16;
    char *detail = malloc(size);
    if (!detail) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    snprintf(detail, size, "{\"nights\": %s}", nights);
    struct res_result res = {"no_beds", 0, "", detail};
    res_reply_outcome(c, &res, stay_booking_outcomes);
    free(detail);
}

/* Asks FULL_CHECK_SQL first when the index sees a full night; else books at once. The
 * function's argument is made complete first, so that nothing the callback needs points into
 * the index (a pool's description may be replaced while the statement runs). Takes p. */
static void book_or_check_full(struct api_ctx *c, cJSON *p, const struct stay_request *r,
                               const char *key, const char *hash)
{
    add_booking(c, p, r, key, hash);
    if (!full_check_applies(c, p, r)) {
        book(c, p);
        return;
    }
    struct full_check *f = res_state_new(c, sizeof *f, full_check_free);
    if (!f) {
        cJSON_Delete(p);
        return;
    }
    f->p = p;
    f->nights = (int)(r->check_out - r->check_in);
    char ci[DATE_TEXT_LEN], co[DATE_TEXT_LEN];
    date_format(r->check_in, ci);
    date_format(r->check_out, co);
    bool counts = c->who.role == ROLE_CAREGIVER;
    const cJSON *guest = cJSON_GetObjectItemCaseSensitive(p, "guest_id");
    bool planned = strcmp(r->kind, "planned") == 0;
    const char *params[] = {c->who.user_id,
                            key,
                            r->pool->id,
                            ci,
                            co,
                            counts ? "t" : "f",
                            cJSON_IsString(guest) ? guest->valuestring : NULL,
                            planned ? "t" : "f"};
    api_query(c, "stays_full_check", 8, params, full_checked);
}

static void stays_create(struct api_ctx *c)
{
    const char *key;
    if (!idem_key(c, &key))
        return;
    struct stay_request r = {.care_profile = -1, .funding = -1};
    const char *pool_id = NULL;
    struct transport_times times = {NULL, NULL};
    struct jsonv v;
    jsonv_init(&v);
    cJSON *p = cJSON_CreateObject();
    validate_body(c, &v, p, &r, &pool_id, &times);
    if (!jsonv_ok(&v)) {
        cJSON_Delete(p);
        res_reply_invalid(c, &v, "check the highlighted fields");
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
    r.pool = stay_known_pool(c, pool_id, stays_create);
    if (!r.pool) {
        cJSON_Delete(p);
        return;
    }
    if (!stay_decide_pathway(c, &r, cJSON_GetObjectItem(p, "diversion_reason") != NULL)) {
        cJSON_Delete(p);
        return;
    }
    check_pool_rules(c, &v, &r, p, &times);
    validate_window(&v, c->body, p, &r);
    if (!jsonv_ok(&v)) {
        cJSON_Delete(p);
        res_reply_invalid(c, &v, "the request does not fit this pool");
        return;
    }
    char hash[DIGEST_HEX_LEN];
    if (key && !idem_request_fingerprint(c, NULL, hash)) {
        cJSON_Delete(p);
        return;
    }
    book_or_check_full(c, p, &r, key, hash);
}

/* ---- GET /v1/stays and /v1/stays/{id} ------------------------------------------------- */

static void got_stay(struct api_ctx *c, const struct db_result *r)
{
    if (res_one_row(c, r, STAY_MISSING))
        reply_stay(c, 200, db_value(r->res, 0, 0), "stay.read");
}

static void stays_get(struct api_ctx *c)
{
    const char *id = res_id(c, STAY_MISSING);
    if (!id)
        return;
    const char *params[4];
    stay_visibility_params(c, params);
    params[3] = id;
    api_query(c, "stays_get", 4, params, got_stay);
}

/* Each stay on the page is an access to its guest's data. */
static const struct res_rows stay_rows = {"stays", LIST_MAX_LIMIT, 2, 1, "stay.list", false};

static void stays_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *s = res_arg(c, &a, "status", 32);
    const char *p = res_arg_id(c, &a, "pool_id", "must be a pool id");
    if (s && core_name_index(core_status_names, s) < 0)
        jsonv_error(&a.v, "status", "is not a stay status");
    const char *args[5];
    stay_visibility_params(c, args);
    args[3] = s;
    args[4] = p;
    res_list_rows(c, "stays_list", &a, args, 5, &stay_rows);
}

static void lifecycle_conflict(struct api_ctx *c, const char *status, const char *detail);

/* ---- GET /v1/stays/{id}/calendar.ics ----------------------------------------------------- */

static void got_calendar(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, STAY_MISSING))
        return;
    PGresult *res = r->res;
    const char *id = db_value(res, 0, 0), *status = db_value(res, 0, 1);
    date_day check_in, check_out;
    if (db_is_null(res, 0, 2) || !date_parse(db_value(res, 0, 2), &check_in) ||
        !date_parse(db_value(res, 0, 3), &check_out) || db_is_null(res, 0, 4)) {
        lifecycle_conflict(c, status, "the stay has no dates or place yet (a waitlist entry); "
                                      "a calendar file comes with an offer");
        return;
    }
    const char *in_window = db_is_null(res, 0, 9) ? NULL : db_value(res, 0, 9);
    const char *out_window = db_is_null(res, 0, 10) ? NULL : db_value(res, 0, 10);
    char summary[300], stamp[20];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(summary, sizeof summary, "Logeren bij %s", db_value(res, 0, 4));
    struct stay_ical ev = {
        .id = id, .status = status, .check_in = check_in, .check_out = check_out,
        .summary = summary, .location = db_value(res, 0, 4), .address = db_value(res, 0, 5),
        .place = db_value(res, 0, 6), .pool = db_value(res, 0, 7),
        .provider = db_value(res, 0, 8), .in_window = in_window, .out_window = out_window,
        .sequence = db_value(res, 0, 11), .stamp = stamp,
    };
    struct ical ic;
    ical_init(&ic);
    stay_ical_begin(&ic, NULL, in_window && out_window);
    stay_ical_event(&ic, &ev);
    stay_ical_end(&ic);
    size_t len;
    char *body = ical_take(&ic, &len);
    if (!body) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not write the calendar file");
        return;
    }
    const char *ids[] = {id};
    access_log_stays(c, "stay.calendar", ids, 1);
    char disposition[80], day[DATE_TEXT_LEN];
    date_format(check_in, day);
    snprintf(disposition, sizeof disposition, "attachment; filename=\"logeren-%s.ics\"", day);
    http_reply_header(c->req, "Content-Disposition", disposition);
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_raw(c, 200, "text/calendar; charset=utf-8", body, len);
    free(body);
}

/* The stay as an iCalendar file for the family's own calendar ("Zet in agenda"): who may read
 * the stay may have its file, and the read is access-logged like any other. */
static void stays_calendar(struct api_ctx *c)
{
    const char *id = res_id(c, STAY_MISSING);
    if (!id)
        return;
    const char *params[4];
    stay_visibility_params(c, params);
    params[3] = id;
    api_query(c, "stays_calendar", 4, params, got_calendar);
}

/* ---- POST /v1/stays/{id}/{action} ----------------------------------------------------- */

struct action_state {
    enum stay_action action;
    char reason[1001];
    bool has_reason;
};

static const struct res_refusal transition_outcomes[] = {
    {"stale", PROBLEM_LIFECYCLE, NULL, "the stay changed meanwhile; reload it"},
    {"not_found", PROBLEM_NOT_FOUND, NULL, STAY_MISSING},
    {NULL, 0, NULL, NULL},
};

static void transitioned(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, NULL, &res))
        return;
    if (strcmp(res.outcome, "ok") != 0) {
        res_reply_outcome(c, &res, transition_outcomes);
        return;
    }
    const struct action_state *a = c->state;
    char action[32];
    snprintf(action, sizeof action, "stay.%s", core_action_names[a->action]);
    reply_stay(c, 200, res.body, action);
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
    if (!res_one_row(c, r, STAY_MISSING))
        return;
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
        res_reply_field(c, "reason", "is required: the family sees it", "give a reason");
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
    res_query_json(c, "stays_transition", p, transitioned);
}

bool stay_action_reason(struct api_ctx *c, char reason[1001], bool *has_reason)
{
    if (!c->body)
        return true;
    static const char *const known[] = {"reason", NULL};
    struct jsonv v;
    jsonv_init(&v);
    const char *text;
    jsonv_only(&v, c->body, known);
    if (jsonv_string(&v, c->body, "reason", false, 1, 1000, &text)) {
        snprintf(reason, 1001, "%s", text);
        *has_reason = true;
    }
    if (jsonv_ok(&v))
        return true;
    res_reply_invalid(c, &v, "check the highlighted fields");
    return false;
}

static void stays_action(struct api_ctx *c)
{
    int action = core_name_index(core_action_names, api_param(c, "action"));
    if (action < 0 || action == ACT_EXPIRE) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no such action; use confirm, accept, decline, "
                                                "cancel, check-in, check-out or no-show");
        return;
    }
    const char *id = res_id(c, STAY_MISSING);
    if (!id)
        return;
    struct action_state *a = res_state_new(c, sizeof *a, NULL);
    if (!a)
        return;
    a->action = action;
    if (!stay_action_reason(c, a->reason, &a->has_reason))
        return;
    const char *params[4];
    stay_visibility_params(c, params);
    params[3] = id;
    api_query(c, "stays_for_action", 4, params, found_for_action);
}

/* ---- PATCH /v1/stays/{id}: transport ------------------------------------------------- */

/* The validated change, kept while the stay is read. */
struct transport_state {
    cJSON *patch;             /* {arrival?, departure?}, each an object or null */
    long if_match;            /* the client's version, or 0 without If-Match */
};

static void transport_state_free(void *p)
{
    struct transport_state *t = p;
    cJSON_Delete(t->patch);
    free(t);
}

static const struct res_refusal transport_outcomes[] = {
    {"not_found", PROBLEM_NOT_FOUND, NULL, STAY_MISSING},
    {"stale", PROBLEM_LIFECYCLE, NULL, "the stay changed meanwhile; read it again"},
    {NULL, 0, NULL, NULL},
};

static void transport_set(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, NULL, &res))
        return;
    if (!strcmp(res.outcome, "too_late")) {
        cJSON *d = res_result_detail(&res);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(d, "current_status");
        lifecycle_conflict(c, cJSON_IsString(st) ? st->valuestring : "checked_in",
                           "transport can change only until check-in");
        cJSON_Delete(d);
        return;
    }
    if (strcmp(res.outcome, "ok") != 0) {
        res_reply_outcome(c, &res, transport_outcomes);
        return;
    }
    reply_stay(c, 200, res.body, "stay.transport");
}

static void found_for_transport(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, STAY_MISSING))
        return;
    struct transport_state *t = c->state;
    const char *status = db_value(r->res, 0, 0);
    long version = atol(db_value(r->res, 0, 2));
    if (db_value(r->res, 0, 3)[0] != 't') {
        api_reply_problem(c, PROBLEM_FORBIDDEN,
                          "only the person who asked for the stay can change its transport");
        return;
    }
    if (t->if_match && t->if_match != version) {
        api_reply_problem(c, PROBLEM_PRECONDITION_FAILED,
                          "it changed since it was read (it is now at version %ld); read it "
                          "again and send its new ETag in If-Match", version);
        return;
    }
    int st = core_name_index(core_status_names, status);
    if (st != STAY_WAITLISTED && st != STAY_HELD && st != STAY_REQUESTED && st != STAY_CONFIRMED) {
        lifecycle_conflict(c, status, "transport can change only until check-in");
        return;
    }
    /* The windows are the pool's as the index knows them now (like the booking's rules). */
    const struct core_pool *pool =
        db_is_null(r->res, 0, 1) ? NULL : core_index_pool(c->app->index, db_value(r->res, 0, 1));
    if (pool) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(t->patch, "arrival");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(t->patch, "departure");
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(a, "time");
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(d, "time");
        struct jsonv v;
        jsonv_init(&v);
        stay_check_transport_windows(&v, pool, cJSON_IsString(at) ? at->valuestring : NULL,
                                cJSON_IsString(dt) ? dt->valuestring : NULL);
        if (!jsonv_ok(&v)) {
            res_reply_invalid(c, &v, "the times do not fit this pool");
            return;
        }
    }
    cJSON *p = cJSON_Duplicate(t->patch, true);
    cJSON_AddStringToObject(p, "stay_id", api_param(c, "id"));
    cJSON_AddStringToObject(p, "actor_id", c->who.user_id);
    /* The version read: the change applies only to the row the windows were checked on. */
    cJSON_AddNumberToObject(p, "version", (double)version);
    res_query_json(c, "stays_set_transport", p, transport_set);
}

static void stays_patch(struct api_ctx *c)
{
    static const char *const known[] = {"arrival", "departure", NULL};
    const char *id = res_id(c, STAY_MISSING);
    if (!id)
        return;
    long if_match = 0;
    const char *header = http_request_header(c->req, "If-Match");
    if (header) {
        switch (res_if_match_parse(header, &if_match)) {
        case RES_MATCH_MALFORMED:
            api_reply_problem(c, PROBLEM_BAD_REQUEST,
                              "If-Match must be * or an entity tag in quotes, such as \"7\"");
            return;
        case RES_MATCH_ANY:
            if_match = 0;
            break;
        case RES_MATCH_NEVER:
            if_match = -1; /* matches no version: 412 once the stay is found */
            break;
        case RES_MATCH_VERSION:
            break;
        }
    }
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    cJSON *patch = cJSON_CreateObject();
    const char *unused;
    stay_validate_transport(&v, c->body, "arrival", true, patch, &unused);
    stay_validate_transport(&v, c->body, "departure", true, patch, &unused);
    if (jsonv_ok(&v) && !patch->child)
        jsonv_error(&v, "arrival", "give arrival and/or departure");
    if (!jsonv_ok(&v)) {
        cJSON_Delete(patch);
        res_reply_invalid(c, &v, "check the highlighted fields");
        return;
    }
    struct transport_state *t = res_state_new(c, sizeof *t, transport_state_free);
    if (!t) {
        cJSON_Delete(patch);
        return;
    }
    t->patch = patch;
    t->if_match = if_match;
    const char *params[4];
    stay_visibility_params(c, params);
    params[3] = id;
    api_query(c, "stays_for_transport", 4, params, found_for_transport);
}

static const struct api_endpoint create = {stays_create, true};
static const struct api_endpoint list = {stays_list, false};
static const struct api_endpoint get = {stays_get, false};
static const struct api_endpoint action = {stays_action, false};
static const struct api_endpoint patch = {stays_patch, true};
static const struct api_endpoint calendar = {stays_calendar, false};

#define STAY_ROLES (ROLE_CAREGIVER | ROLE_PROVIDER | ROLE_REFERRER | ROLE_COORDINATOR)

static const struct route stay_routes[] = {
    {HTTP_POST, "/v1/stays", &create, ROLE_CAREGIVER | ROLE_REFERRER | ROLE_COORDINATOR},
    {HTTP_GET, "/v1/stays", &list, STAY_ROLES},
    {HTTP_GET, "/v1/stays/{id}", &get, STAY_ROLES},
    {HTTP_PATCH, "/v1/stays/{id}", &patch, STAY_ROLES},
    {HTTP_GET, "/v1/stays/{id}/calendar.ics", &calendar, STAY_ROLES},
    {HTTP_POST, "/v1/stays/{id}/{action}", &action, STAY_ROLES},
};

ROUTE_GROUP(stays_group, stay_routes, stays_prepare);
