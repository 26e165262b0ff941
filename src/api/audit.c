/* audit: GET /v1/access-log, the NEN 7513 trail for the coordinator. Read-only by design: there
 * is no route that changes the log, and the table refuses UPDATE, DELETE and TRUNCATE itself.
 * Reading the log shows guest references, so reading it is logged too. Entries without a stay
 * (capacity.confirm, capacity.import) carry their particulars in detail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/jsonv.h"
#include "resource.h"

#define AUDIT_MAX_LIMIT 500

static int audit_prepare(struct app *app)
{
    return api_prepare(app, "audit_list",
                       "SELECT jsonb_build_object('id', l.id, 'at', logeer_rfc3339(l.at), "
                       "'user_id', l.user_id, 'role', l.role, 'on_behalf_of', l.on_behalf_of, "
                       "'stay_id', l.stay_id, 'guest_ref', l.guest_ref, 'action', l.action, "
                       "'request_id', l.request_id, 'address', host(l.address), "
                       "'route', l.route, 'api_key_id', l.api_key_id, 'detail', l.detail)::text, "
                       "l.stay_id, "
                       "count(*) OVER () "
                       "FROM access_log l "
                       "WHERE ($1::uuid IS NULL OR l.stay_id = $1::uuid) "
                       "AND ($2::uuid IS NULL OR l.user_id = $2::uuid) "
                       "AND ($3::timestamptz IS NULL OR l.at >= $3::timestamptz) "
                       "AND ($4::timestamptz IS NULL OR l.at < $4::timestamptz) "
                       "AND ($5::text IS NULL OR l.action = $5::text "
                       "OR (right($5::text, 1) = '.' AND starts_with(l.action, $5::text))) "
                       "ORDER BY l.at DESC, l.id DESC LIMIT $6::int OFFSET $7::int");
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

/* An action (stay.read) or a family of them ending in a dot (factor.): lower-case letters,
 * digits, '_' and '.', as every action is spelt. */
static bool audit_action_ok(const char *s)
{
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
            return false;
    return *s != '\0';
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

/* Each stay once, however many of its entries are on the page; the log is evidence, so no
 * cache may keep a copy. */
static const struct res_rows audit_rows = {"entries", AUDIT_MAX_LIMIT, 2, 1, "access_log.read",
                                           true};

static void audit_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *st = res_arg_id(c, &a, "stay_id", "must be a stay id");
    const char *us = res_arg_id(c, &a, "user_id", "must be a user id");
    const char *fr = res_arg(c, &a, "from", 64);
    const char *un = res_arg(c, &a, "to", 64);
    const char *ac = res_arg(c, &a, "action", 64);
    if (ac && !audit_action_ok(ac))
        jsonv_error(&a.v, "action", "must be an action (stay.read) or a family ending in a dot "
                                    "(factor.)");
    if (fr && !audit_time_ok(fr))
        jsonv_error(&a.v, "from", "must be a date YYYY-MM-DD or an RFC 3339 instant");
    if (un && !audit_time_ok(un))
        jsonv_error(&a.v, "to", "must be a date YYYY-MM-DD or an RFC 3339 instant");
    char from_ts[64], to_ts[64];
    const char *args[] = {st, us, audit_instant(fr, from_ts, sizeof from_ts),
                          audit_instant(un, to_ts, sizeof to_ts), ac};
    res_list_rows(c, "audit_list", &a, args, 5, &audit_rows);
}

static const struct api_endpoint list = {audit_list, false};

/* Only GET: the log is evidence, and no role may change it through the API. */
static const struct route audit_routes[] = {
    {HTTP_GET, "/v1/access-log", &list, ROLE_COORDINATOR},
};

ROUTE_GROUP(audit_group, audit_routes, audit_prepare);
