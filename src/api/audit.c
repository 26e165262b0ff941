/* audit: GET /v1/access-log, the NEN 7513 trail for the coordinator. Read-only by design: there
 * is no route that changes the log, and the table refuses UPDATE, DELETE and TRUNCATE itself.
 * Reading the log shows guest references, so reading it is logged too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "handlers.h"
#include "logeer/jsonv.h"

#define AUDIT_MAX_LIMIT 500

static int audit_prepare(struct app *app)
{
    return api_prepare(app, "audit_list",
                       "SELECT jsonb_build_object('id', l.id, 'at', logeer_rfc3339(l.at), "
                       "'user_id', l.user_id, 'role', l.role, 'on_behalf_of', l.on_behalf_of, "
                       "'stay_id', l.stay_id, 'guest_ref', l.guest_ref, 'action', l.action, "
                       "'request_id', l.request_id, 'address', host(l.address), "
                       "'route', l.route)::text, l.stay_id, count(*) OVER () "
                       "FROM access_log l "
                       "WHERE ($1::uuid IS NULL OR l.stay_id = $1::uuid) "
                       "AND ($2::uuid IS NULL OR l.user_id = $2::uuid) "
                       "AND ($3::timestamptz IS NULL OR l.at >= $3::timestamptz) "
                       "AND ($4::timestamptz IS NULL OR l.at < $4::timestamptz) "
                       "ORDER BY l.at DESC, l.id DESC LIMIT $5::int OFFSET $6::int");
}

static bool audit_digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM) as RFC 3339 has it. */
static bool audit_time_ok(const char *s)
{
    date_day day;
    size_t len = strlen(s);
    if (len < 10)
        return false;
    char date[11];
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!date_parse(date, &day))
        return false;
    if (len == 10)
        return true;
    const char *t = s + 10;
    if ((*t != 'T' && *t != 't') || strlen(t) < 9 || !audit_digits(t + 1, 2) || t[3] != ':' ||
        !audit_digits(t + 4, 2) || t[6] != ':' || !audit_digits(t + 7, 2))
        return false;
    if (atoi(t + 1) > 23 || atoi(t + 4) > 59 || atoi(t + 7) > 60)
        return false;
    const char *z = t + 9;
    if (*z == '.') {
        z++;
        if (!audit_digits(z, 1))
            return false;
        while (*z >= '0' && *z <= '9')
            z++;
    }
    if ((*z == 'Z' || *z == 'z') && z[1] == '\0')
        return true;
    return (*z == '+' || *z == '-') && strlen(z) == 6 && audit_digits(z + 1, 2) && z[3] == ':' &&
           audit_digits(z + 4, 2);
}

/* A date means midnight in Europe/Amsterdam, the service's day, whatever the database
 * session's time zone; an instant carries its own offset. */
static const char *audit_instant(const char *s, char *buf, size_t size)
{
    if (!s || strlen(s) != 10)
        return s;
    snprintf(buf, size, "%s 00:00:00 Europe/Amsterdam", s);
    return buf;
}

static void audit_listed(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    int n = PQntuples(r->res);
    size_t len;
    char *out = api_rows_json(r->res, 0, 2, "entries", &len);
    const char **stays = calloc((size_t)n + 1, sizeof *stays);
    if (!out || !stays) {
        free(out);
        free(stays);
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    size_t nstays = 0;
    for (int i = 0; i < n; i++) {
        /* Each stay once, however many of its entries are on the page. */
        const char *stay = db_value(r->res, i, 1);
        bool seen = !*stay;
        for (size_t k = 0; k < nstays && !seen; k++)
            seen = strcmp(stays[k], stay) == 0;
        if (!seen)
            stays[nstays++] = stay;
    }
    access_log_stays(c, "access_log.read", stays, nstays);
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_raw(c, 200, "application/json", out, len);
    free(out);
    free(stays);
}

static void audit_list(struct api_ctx *c)
{
    char stay[64], user[64], from[64], to[64], lims[API_PAGE_TEXT], offs[API_PAGE_TEXT];
    bool bad = false;
    struct jsonv v;
    jsonv_init(&v);
    const char *st = api_query_arg(c, "stay_id", stay, sizeof stay, &bad);
    const char *us = api_query_arg(c, "user_id", user, sizeof user, &bad);
    const char *fr = api_query_arg(c, "from", from, sizeof from, &bad);
    const char *un = api_query_arg(c, "to", to, sizeof to, &bad);
    api_page(c, &v, &bad, AUDIT_MAX_LIMIT, lims, offs);
    if (bad) {
        jsonv_free(&v);
        api_reply_problem(c, PROBLEM_BAD_REQUEST, "the query string has a malformed value");
        return;
    }
    if (st && !api_is_uuid(st))
        jsonv_error(&v, "stay_id", "must be a stay id");
    if (us && !api_is_uuid(us))
        jsonv_error(&v, "user_id", "must be a user id");
    if (fr && !audit_time_ok(fr))
        jsonv_error(&v, "from", "must be a date YYYY-MM-DD or an RFC 3339 instant");
    if (un && !audit_time_ok(un))
        jsonv_error(&v, "to", "must be a date YYYY-MM-DD or an RFC 3339 instant");
    if (!jsonv_ok(&v)) {
        api_reply_problem_full(c, PROBLEM_VALIDATION, "check the query parameters",
                               jsonv_take_errors(&v), NULL);
        return;
    }
    char from_ts[64], to_ts[64];
    const char *params[] = {st, us, audit_instant(fr, from_ts, sizeof from_ts),
                            audit_instant(un, to_ts, sizeof to_ts), lims, offs};
    api_query(c, "audit_list", 6, params, audit_listed);
}

static const struct api_endpoint list = {audit_list, false};

/* Only GET: the log is evidence, and no role may change it through the API. */
static const struct route audit_routes[] = {
    {HTTP_GET, "/v1/access-log", &list, ROLE_COORDINATOR},
};

ROUTE_GROUP(audit_group, audit_routes, audit_prepare);
