/* arrivals: GET /v1/arrivals, the provider's list of who arrives and who leaves per day (docs/
 * practice.md, "Arrivals list"): times and who brings or collects the guest, the companion,
 * the pool's windows and only what staff need of the guest. Provider staff see their own
 * locations, the coordinator all of them (the guest reduced to the care profile on stays
 * someone else asked for). Every stay shown is access-logged; nothing here writes a stay. */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "logeer/date.h"
#include "logeer/jsonv.h"
#include "resource.h"

#define ARRIVALS_MAX_DAYS 31
#define ARRIVALS_MAX_LIMIT 500

/* One row per movement: a stay's arrival on its check-in day and its departure on its
 * check-out day, for stays that are booked (confirmed), there (checked_in) or done
 * (completed); a hold or an unanswered request is not expected at the door. $1 role, $2 user
 * id, $3 the provider scope, $4 first day, $5 days, $6 location or NULL, $7 limit, $8 offset. */
#define ARRIVALS_SQL                                                                         \
    "WITH m AS ("                                                                             \
    "SELECT s.*, 'arrival' AS movement, s.check_in AS day, s.arrival AS transport "           \
    "FROM stays s WHERE s.check_in >= $4::date AND s.check_in < $4::date + $5::int "         \
    "AND s.status IN ('confirmed', 'checked_in', 'completed') "                               \
    "UNION ALL "                                                                              \
    "SELECT s.*, 'departure', s.check_out, s.departure "                                      \
    "FROM stays s WHERE s.check_out >= $4::date AND s.check_out < $4::date + $5::int "       \
    "AND s.status IN ('confirmed', 'checked_in', 'completed')) "                              \
    "SELECT json_build_object('date', logeer_ymd(m.day), 'movement', m.movement, "            \
    "'time', m.transport->>'time', 'transport', m.transport, 'stay_id', m.id, "              \
    "'status', m.status, 'check_in', logeer_ymd(m.check_in), "                                \
    "'check_out', logeer_ymd(m.check_out), 'nights', m.check_out - m.check_in, "              \
    "'companion', m.companion, "                                                              \
    "'pool', json_build_object('id', po.id, 'name', po.name, 'check_in_window', "             \
    "po.check_in_window, 'check_out_window', po.check_out_window), "                          \
    "'location', json_build_object('id', l.id, 'name', l.name), "                             \
    "'guest', CASE WHEN $1 = 'coordinator' AND m.requested_by <> $2::uuid "                   \
    "THEN json_build_object('care_profile', m.guest_care_profile, 'redacted', true) "          \
    "ELSE json_build_object('alias', m.guest_alias, 'birth_year', m.guest_birth_year, "       \
    "'care_profile', m.guest_care_profile, 'needs', coalesce(to_json(m.guest_needs), "        \
    "'[]'::json)) END)::text, m.id, count(*) OVER () "                                        \
    "FROM m JOIN pools po ON po.id = m.pool_id JOIN locations l ON l.id = po.location_id "   \
    "WHERE ($3::uuid IS NULL OR m.provider_id = $3::uuid) "                                   \
    "AND ($6::uuid IS NULL OR po.location_id = $6::uuid) "                                    \
    "ORDER BY m.day, l.name, l.id, m.movement, m.transport->>'time' NULLS LAST, m.id "       \
    "LIMIT $7::int OFFSET $8::int"

static int arrivals_prepare(struct app *app) { return api_prepare(app, "arrivals_list", ARRIVALS_SQL); }

/* Each stay on the page is an access to its guest's data (stay.arrivals in the access log). */
static const struct res_rows arrival_rows = {"arrivals", ARRIVALS_MAX_LIMIT, 2, 1,
                                             "stay.arrivals", true};

static void arrivals_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *date = res_arg(c, &a, "date", 16);
    const char *days = res_arg(c, &a, "days", 8);
    const char *location = res_arg_id(c, &a, "location_id", "must be a location id");
    date_day first = date_today_local();
    if (date && !date_parse(date, &first))
        jsonv_error(&a.v, "date", "must be a date YYYY-MM-DD");
    long n = 1;
    if (days && !res_parse_long(days, 1, ARRIVALS_MAX_DAYS, &n))
        jsonv_error(&a.v, "days", "must be a whole number from 1 to 31");
    char first_text[DATE_TEXT_LEN], days_text[8];
    date_format(first, first_text);
    snprintf(days_text, sizeof days_text, "%ld", n);
    const char *args[6] = {role_name(c->who.role), c->who.user_id, res_scope(c), first_text,
                           days_text, location};
    res_list_rows(c, "arrivals_list", &a, args, 6, &arrival_rows);
}

static const struct api_endpoint list = {arrivals_list, false};

static const struct route arrival_routes[] = {
    {HTTP_GET, "/v1/arrivals", &list, ROLE_PROVIDER | ROLE_COORDINATOR},
};

ROUTE_GROUP(arrivals_group, arrival_routes, arrivals_prepare);
