/* calendar_feeds: iCalendar subscriptions at secret URLs (RFC 5545): a caregiver's own stays
 * (/v1/me/calendar-feed) and a location's arrivals, stays and departures for its provider's
 * staff (/v1/locations/{id}/calendar-feed). POST makes or renews the URL (shown once, only its
 * hash kept; the old one stops), GET says whether one is live, DELETE stops it. The calendar
 * app then reads GET /v1/feeds/{token}.ics without logging in. A feed never shows health data
 * (no care profile, needs or birth year); the location's feed shows the guest's alias, which
 * that provider's staff see on their board anyway. Every read is access-logged per stay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/ical.h"
#include "resource.h"
#include "stay_ical.h"

#define FEED_MISSING "no calendar feed at this address; it may have been stopped or renewed"
#define LOCATION_MISSING "location not found"
#define FEED_PATH_MAX (sizeof "/v1/feeds/" + AUTH_TOKEN_LEN + sizeof ".ics")

/* Calendar apps poll; every poll revalidates (no-cache) and costs a 304 while nothing
 * changed. private: the feed is one person's or one location's, never for a shared cache. */
#define FEED_CACHE "private, no-cache"
/* How long ended stays stay in a feed, so that a calendar still shows last month's. */
#define FEED_PAST_DAYS "30"

/* The feed's owner for $1 creator, $2 location (NULL: the creator's own feed), $3 the
 * caller's provider scope: one row, or none when the location is not the caller's. */
#define FEED_OWNER                                                                           \
    "owner AS (SELECT CASE WHEN $2::uuid IS NULL THEN $1::uuid END AS user_id, l.id AS "      \
    "location_id FROM (SELECT 1) AS one LEFT JOIN locations l ON l.id = $2::uuid "            \
    "AND ($3::uuid IS NULL OR l.provider_id = $3::uuid) "                                     \
    "WHERE $2::uuid IS NULL OR l.id IS NOT NULL), "                                           \
    "live AS (SELECT f.* FROM calendar_feeds f, owner o WHERE f.revoked_at IS NULL "          \
    "AND (f.user_id = o.user_id OR f.location_id = o.location_id)) "

/* A feed stops with its maker's account, and a location's feed also when its maker no longer
 * works for the location's provider. */
#define FEED_LOOKUP                                                                          \
    "WITH f AS (SELECT f.id, f.user_id, f.location_id, f.created_by, u.role "                 \
    "FROM calendar_feeds f JOIN users u ON u.id = f.created_by "                              \
    "WHERE f.token_hash = $1::bytea AND f.revoked_at IS NULL AND u.disabled_at IS NULL "      \
    "AND u.erased_at IS NULL AND (f.location_id IS NULL OR EXISTS (SELECT 1 FROM locations l " \
    "WHERE l.id = f.location_id AND l.provider_id = u.provider_id))), "                       \
    "touch AS (UPDATE calendar_feeds c SET last_used_at = now() FROM f WHERE c.id = f.id "    \
    "AND (c.last_used_at IS NULL OR c.last_used_at < now() - interval '60 seconds')), "       \
    "s AS (SELECT s.* FROM f JOIN stays s ON (s.requested_by = f.user_id) "                   \
    "OR (s.pool_id IN (SELECT p.id FROM pools p WHERE p.location_id = f.location_id) "        \
    "AND s.status NOT IN ('held', 'expired', 'waitlisted')) "                                 \
    "WHERE s.check_in IS NOT NULL AND s.check_out >= "                                        \
    "(now() AT TIME ZONE 'Europe/Amsterdam')::date - " FEED_PAST_DAYS "), "                   \
    "logged AS (INSERT INTO access_log (user_id, role, stay_id, guest_ref, action, "          \
    "request_id, address, route) SELECT f.created_by, f.role, s.id, s.guest_alias, "          \
    "'stay.feed', $2, $3::inet, 'GET /v1/feeds/{token}.ics' FROM f, s) "

#define STAMP(expr) "to_char((" expr ") AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"')"

/* Columns: 0 location feed?, 1 calendar name, then per stay (NULL without stays): 2 id,
 * 3 status, 4 check_in, 5 check_out, 6 location, 7 address, 8 place, 9 pool, 10 provider,
 * 11 check-in window, 12 check-out window, 13 sequence, 14 last change, 15 guest alias. */
#define FEED_SQL                                                                             \
    FEED_LOOKUP                                                                              \
    "SELECT f.location_id IS NOT NULL, (SELECT name FROM locations WHERE id = f.location_id), " \
    "s.id, s.status::text, s.check_in, s.check_out, l.name, coalesce(l.address, ''), m.name, " \
    "p.name, pr.name, p.check_in_window, p.check_out_window, "                                \
    "(SELECT count(*) FROM stay_events e WHERE e.stay_id = s.id), "                           \
    STAMP("coalesce((SELECT max(e.at) FROM stay_events e WHERE e.stay_id = s.id), "           \
          "s.updated_at)") ", s.guest_alias "                                                 \
    "FROM f LEFT JOIN s ON true LEFT JOIN pools p ON p.id = s.pool_id "                       \
    "LEFT JOIN locations l ON l.id = p.location_id "                                          \
    "LEFT JOIN municipalities m ON m.code = l.municipality "                                  \
    "LEFT JOIN providers pr ON pr.id = s.provider_id ORDER BY s.check_in, s.id"

static int feeds_prepare(struct app *app)
{
    /* $4 the new token's hash. The old URL stops in the same statement, so there is never
     * a moment with two live ones, and the old row stays as history. */
    if (api_prepare(app, "feeds_make",
                    "WITH " FEED_OWNER ", "
                    "old AS (UPDATE calendar_feeds c SET revoked_at = now() FROM live "
                    "WHERE c.id = live.id RETURNING c.id), "
                    "made AS (INSERT INTO calendar_feeds (token_hash, user_id, location_id, "
                    "created_by) SELECT $4::bytea, o.user_id, o.location_id, $1::uuid "
                    "FROM owner o, (SELECT count(*) AS n FROM old) AS x RETURNING created_at) "
                    "SELECT " RES_TS("made.created_at") ", (SELECT count(*) > 0 FROM old) "
                    "FROM made"))
        return -1;
    if (api_prepare(app, "feeds_state",
                    "WITH " FEED_OWNER
                    "SELECT json_build_object('active', live.id IS NOT NULL, "
                    "'created_at', " RES_TS("live.created_at") ", "
                    "'last_used_at', " RES_TS("live.last_used_at") ")::text "
                    "FROM owner LEFT JOIN live ON true"))
        return -1;
    if (api_prepare(app, "feeds_stop",
                    "WITH " FEED_OWNER ", "
                    "stopped AS (UPDATE calendar_feeds c SET revoked_at = now() FROM live "
                    "WHERE c.id = live.id RETURNING c.id) "
                    "SELECT (SELECT count(*) FROM stopped) FROM owner"))
        return -1;
    return api_prepare(app, "feeds_read", FEED_SQL);
}

/* ---- making, showing and stopping the URL ------------------------------------------------ */

struct feed_state {
    char token[AUTH_TOKEN_LEN];
};

static void feed_state_free(void *p)
{
    if (p)
        memset(p, 0, sizeof(struct feed_state)); /* the secret must not linger in memory */
    free(p);
}

/* The owner parameters $1..$3 (and room for the hash $4 of a new feed): for
 * /v1/locations/{id}/calendar-feed the location, else the caller's own feed. NULL after
 * answering 404 for a location id that cannot exist. */
static bool owner_params(struct api_ctx *c, const char *params[4])
{
    const char *location = NULL;
    if (api_param(c, "id")) {
        location = res_id(c, LOCATION_MISSING);
        if (!location)
            return false;
    }
    params[0] = c->who.user_id;
    params[1] = location;
    params[2] = res_scope(c);
    params[3] = NULL;
    return true;
}

static void feed_made(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, LOCATION_MISSING))
        return;
    const struct feed_state *st = c->state;
    char path[FEED_PATH_MAX], url[600];
    snprintf(path, sizeof path, "/v1/feeds/%s.ics", st->token);
    snprintf(url, sizeof url, "%s%s", c->app->cfg->public_url, path);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "url", url);
    cJSON_AddStringToObject(body, "path", path);
    cJSON_AddStringToObject(body, "created_at", db_value(r->res, 0, 0));
    cJSON_AddBoolToObject(body, "replaced", strcmp(db_value(r->res, 0, 1), "t") == 0);
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 201, body);
}

/* POST: a new secret URL, shown in this answer only. Calling again is renewing: the answer
 * of the last call names the one URL that works, so a retried request is harmless. */
static void feed_make(struct api_ctx *c)
{
    const char *params[4];
    if (!owner_params(c, params))
        return;
    struct feed_state *st = res_state_new(c, sizeof *st, feed_state_free);
    if (!st)
        return;
    if (auth_token_new(st->token) != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not make a secret");
        return;
    }
    char hash[AUTH_TOKEN_HASH_LEN];
    auth_token_hash(st->token, hash);
    params[3] = hash;
    api_query(c, "feeds_make", 4, params, feed_made);
}

static void feed_shown(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, LOCATION_MISSING))
        return;
    http_reply_header(c->req, "Cache-Control", "no-store");
    res_reply_body(c, 200, db_value(r->res, 0, 0));
}

/* GET: whether a URL is live and when it was last read; never the URL itself. */
static void feed_show(struct api_ctx *c)
{
    const char *params[4];
    if (owner_params(c, params))
        api_query(c, "feeds_state", 3, params, feed_shown);
}

static void feed_stopped(struct api_ctx *c, const struct db_result *r)
{
    if (res_one_row(c, r, LOCATION_MISSING))
        api_reply_empty(c, 204);
}

/* DELETE: the URL stops at once (404 from then on); stopping what is not there is done too. */
static void feed_stop(struct api_ctx *c)
{
    const char *params[4];
    if (owner_params(c, params))
        api_query(c, "feeds_stop", 3, params, feed_stopped);
}

/* ---- GET /v1/feeds/{token}.ics ------------------------------------------------------------ */

/* A token as auth_token_new makes it: 43 base64url characters. Anything else is unknown
 * without asking the database. */
static bool token_shaped(const char *s)
{
    if (!s || strlen(s) != AUTH_TOKEN_LEN - 1)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

/* One row's stay as an event: the family's feed says where they go, the location's feed who
 * comes (the alias its staff already see) to which pool. */
static void feed_event(struct ical *ic, const PGresult *res, int i, bool for_location)
{
    date_day in, out;
    if (!date_parse(db_value(res, i, 4), &in) || !date_parse(db_value(res, i, 5), &out))
        return;
    char summary[300];
    if (for_location && !db_is_null(res, i, 15))
        snprintf(summary, sizeof summary, "Logeergast %s (%s)", db_value(res, i, 15),
                 db_value(res, i, 9));
    else if (for_location)
        snprintf(summary, sizeof summary, "Logeergast (%s)", db_value(res, i, 9));
    else
        snprintf(summary, sizeof summary, "Logeren bij %s", db_value(res, i, 6));
    struct stay_ical ev = {
        .id = db_value(res, i, 2), .status = db_value(res, i, 3), .check_in = in,
        .check_out = out, .summary = summary, .location = db_value(res, i, 6),
        .address = db_value(res, i, 7), .place = db_value(res, i, 8),
        .pool = db_value(res, i, 9), .provider = db_value(res, i, 10),
        .in_window = db_is_null(res, i, 11) ? NULL : db_value(res, i, 11),
        .out_window = db_is_null(res, i, 12) ? NULL : db_value(res, i, 12),
        .sequence = db_value(res, i, 13), .stamp = db_value(res, i, 14),
    };
    stay_ical_event(ic, &ev);
}

static void feed_read(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    const PGresult *res = r->res;
    int rows = PQntuples(res);
    if (rows == 0) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, FEED_MISSING);
        return;
    }
    bool for_location = strcmp(db_value(res, 0, 0), "t") == 0;
    char name[260];
    if (for_location)
        snprintf(name, sizeof name, "Logeergasten %s", db_value(res, 0, 1));
    else
        snprintf(name, sizeof name, "Mijn logeerplekken");
    struct ical ic;
    ical_init(&ic);
    stay_ical_begin(&ic, name, true);
    for (int i = 0; i < rows; i++)
        if (!db_is_null(res, i, 2))
            feed_event(&ic, res, i, for_location);
    stay_ical_end(&ic);
    size_t len;
    char *body = ical_take(&ic, &len);
    if (!body) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not write the calendar");
        return;
    }
    /* The URL is the secret: it must not travel on in a Referer nor land in a search index. */
    http_reply_header(c->req, "Referrer-Policy", "no-referrer");
    http_reply_header(c->req, "X-Robots-Tag", "noindex");
    res_reply_tagged(c, "text/calendar; charset=utf-8", body, len, FEED_CACHE);
    free(body);
}

static void feed_get(struct api_ctx *c)
{
    const char *token = api_param(c, "token");
    if (!token_shaped(token)) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, FEED_MISSING);
        return;
    }
    char hash[AUTH_TOKEN_HASH_LEN], addr[64];
    auth_token_hash(token, hash);
    const char *params[] = {hash, c->req->request_id, api_peer_address(c, addr, sizeof addr)};
    api_query(c, "feeds_read", 3, params, feed_read);
}

static const struct api_endpoint make_ep = {feed_make, false};
static const struct api_endpoint show_ep = {feed_show, false};
static const struct api_endpoint stop_ep = {feed_stop, false};
static const struct api_endpoint read_ep = {feed_get, false};

/* The family's own feed is the caregiver's; a location's is for its provider's staff (a
 * coordinator reads the whole region elsewhere and has no use for one location's agenda).
 * Making one hands out a secret that reads stays without signing in, so it asks for a recent
 * second factor where the session needs one. The feed itself needs no login: the secret in
 * its URL is the credential. */
static const struct route feed_routes[] = {
    {HTTP_POST, "/v1/me/calendar-feed", &make_ep, ROLE_CAREGIVER | ROUTE_STEP_UP},
    {HTTP_GET, "/v1/me/calendar-feed", &show_ep, ROLE_CAREGIVER},
    {HTTP_DELETE, "/v1/me/calendar-feed", &stop_ep, ROLE_CAREGIVER},
    {HTTP_POST, "/v1/locations/{id}/calendar-feed", &make_ep, ROLE_PROVIDER | ROUTE_STEP_UP},
    {HTTP_GET, "/v1/locations/{id}/calendar-feed", &show_ep, ROLE_PROVIDER},
    {HTTP_DELETE, "/v1/locations/{id}/calendar-feed", &stop_ep, ROLE_PROVIDER},
    {HTTP_GET, "/v1/feeds/{token}.ics", &read_ep, 0},
};

ROUTE_GROUP(calendar_feeds_group, feed_routes, feeds_prepare);
