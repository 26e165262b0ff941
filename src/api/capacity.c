/* capacity: GET/PUT /v1/pools/{id}/capacity (spec 2, 4, 6): staffed beds per night, with
 * what is held and booked, POST .../capacity/confirm ("alles klopt nog") and the CSV import
 * (POST /v1/capacity/import: every row checked and named by line, applied all or none). Reads carry the pool's version as a strong ETag; writes need
 * If-Match, so two planners cannot overwrite each other's counts unseen. The database
 * function applies a write atomically; it never lowers capacity below what is held or
 * booked unless the provider names the stays to cancel. Confirmations and applied imports
 * change no stay, so they write access-log entries of their own (capacity.confirm,
 * capacity.import) in the same transaction as the write. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/date.h"
#include "resource.h"

#define CAP_DEFAULT_NIGHTS 28
#define CAP_MAX_SPAN 731       /* nights in one read and in one range */
#define CAP_MAX_RANGES 50
#define CAP_MAX_BEDS 500       /* as pool_nights_capacity_sane */
#define CAP_MAX_CANCEL 100
/* The longest booking horizon is 1095 days, so no stay can use a night further ahead:
 * refusing those keeps a write (and its reply) bounded. */
#define CAP_MAX_AHEAD 1096
/* logeer_set_capacity writes at most this many nights per call, whatever the ranges. */
#define CAP_MAX_NIGHTS_PER_CALL 1096
#define CAP_NIGHTS_NAMED 10    /* nights spelled out in a 409's detail; all are in "nights" */

static const struct res_refusal capacity_refusals[] = {
    /* The function checks before it writes; should a booking slip in between anyway, the
     * overbooking guard refuses the write and nothing changes. */
    {"pool_nights_no_overbooking", PROBLEM_CONFLICT, NULL,
     "capacity would fall below the beds held or booked on some night; nothing was changed. "
     "Read the capacity again and retry"},
    {"stays_cancel_reason_length", PROBLEM_VALIDATION, "reason", "must be 1 to 1000 characters"},
    {NULL, 0, NULL, NULL},
};

static int capacity_prepare(struct app *app)
{
    /* The ETag is taken from the body's own version, not from a second read of the pool, so
     * the two can never disagree even if a write commits in between. */
    if (api_prepare(app, "capacity_get",
                    "SELECT j::text, j->>'version' FROM (SELECT logeer_capacity_json(r.id, "
                    "$2::date, $3::date) AS j FROM pools r WHERE r.id = $1::uuid "
                    "AND " RES_OWNED("provider_id", "4") ") AS s"))
        return -1;
    /* Confirming moves as_of and nothing else; pools_touch bumps the version, so a write
     * prepared before the confirmation still needs a fresh read, as after any other write.
     * The pools_notify trigger tells every process's index that the pool is fresh again.
     * The access-log entry is written by the same statement, so a confirmation never happens
     * without its entry (who, which pool, the nights the planner looked at). */
    if (api_prepare(app, "capacity_confirm",
                    "WITH u AS (UPDATE pools r SET as_of = now() WHERE r.id = $1::uuid AND "
                    RES_OWNED("provider_id", "2") " RETURNING r.id, r.provider_id, r.as_of), "
                    "a AS (INSERT INTO access_log (user_id, role, action, request_id, address, "
                    "route, detail) SELECT $3::uuid, $4::user_role, 'capacity.confirm', $5, "
                    "$6::inet, $7, jsonb_build_object('provider_id', u.provider_id, 'rows', 0, "
                    "'as_of', logeer_rfc3339(u.as_of), 'pools', jsonb_build_array("
                    "jsonb_build_object('pool_id', u.id, 'first_night', $8::text, "
                    "'last_night', $9::text))) FROM u) "
                    "SELECT u.id FROM u"))
        return -1;
    if (api_prepare(app, "capacity_import", RES_RESULT_SQL("logeer_import_capacity")))
        return -1;
    return api_prepare(app, "capacity_set", RES_RESULT_SQL("logeer_set_capacity"));
}

/* What a request carries from validation to its reply: the nights to answer with. */
struct cap_state {
    char pool_id[40];
    char from[DATE_TEXT_LEN], to[DATE_TEXT_LEN];
};

static struct cap_state *cap_state_new(struct api_ctx *c, const char *id, date_day from,
                                       date_day to)
{
    struct cap_state *s = res_state_new(c, sizeof *s, NULL);
    if (!s)
        return NULL;
    snprintf(s->pool_id, sizeof s->pool_id, "%s", id);
    date_format(from, s->from);
    date_format(to, s->to);
    return s;
}

/* ---- GET -------------------------------------------------------------------------------- */

static void capacity_answer(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        res_reply_db_error(c, r, capacity_refusals);
        return;
    }
    if (PQntuples(r->res) != 1) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "pool not found");
        return;
    }
    char etag[32];
    snprintf(etag, sizeof etag, "\"%s\"", db_value(r->res, 0, 1));
    /* The ETag is the pool's version, for If-Match on PUT. It is no cache validator: held and
     * booked change with every booking while the version stays, so If-None-Match is not
     * honoured (a 304 would hand out stale counts); a cache asks again and gets them all. */
    http_reply_header(c->req, "ETag", etag);
    http_reply_header(c->req, "Cache-Control", "private, no-cache");
    res_reply_body(c, 200, db_value(r->res, 0, 0));
}

static void capacity_read(struct api_ctx *c)
{
    const struct cap_state *s = c->state;
    const char *params[] = {s->pool_id, s->from, s->to, res_scope(c)};
    api_query(c, "capacity_get", 4, params, capacity_answer);
}

/* After a write: the answer waits until this process's index has the pool's nights again, so
 * the provider's or a caregiver's next search here shows the new counts (read your writes). */
static void capacity_read_after_reload(void *arg, bool ok)
{
    (void)ok; /* committed either way; a failed load is retried by the sync */
    capacity_read(arg);
}

static void capacity_reload_then_read(struct api_ctx *c)
{
    const struct cap_state *s = c->state;
    if (!c->app->sync) {
        capacity_read(c);
        return;
    }
    inventory_sync_reload(c->app->sync, SYNC_POOL, s->pool_id, capacity_read_after_reload, c);
}

static void capacity_get(struct api_ctx *c)
{
    const char *id = res_id(c, "pool not found");
    if (!id)
        return;
    struct res_args a;
    res_args_init(&a);
    const char *f = res_arg(c, &a, "from", 32);
    const char *t = res_arg(c, &a, "to", 32);
    date_day from = date_today_local(), to;
    if (f && !date_parse(f, &from))
        jsonv_error(&a.v, "from", "must be an existing date as YYYY-MM-DD");
    to = from + CAP_DEFAULT_NIGHTS;
    if (t && !date_parse(t, &to))
        jsonv_error(&a.v, "to", "must be an existing date as YYYY-MM-DD");
    else if (to <= from)
        jsonv_error(&a.v, "to", "must be after from (to is exclusive)");
    else if (to - from > CAP_MAX_SPAN)
        jsonv_error(&a.v, "to", "at most 731 nights can be read at once");
    if (!res_args_ok(c, &a, "check the query parameters"))
        return;
    if (cap_state_new(c, id, from, to))
        capacity_read(c);
}

/* ---- PUT -------------------------------------------------------------------------------- */

struct cap_range {
    date_day from, to;   /* nights from <= night < to */
    long beds;
};

/* One range's own rules; its errors are named "ranges[i].<field>". */
static bool validate_range(struct jsonv *v, const cJSON *item, int i, date_day today,
                           struct cap_range *out)
{
    static const char *const known[] = {"from", "to", "beds", NULL};
    char prefix[32];
    *out = (struct cap_range){0, 0, 0};
    snprintf(prefix, sizeof prefix, "ranges[%d]", i);
    if (!cJSON_IsObject(item)) {
        jsonv_error(v, prefix, "must be an object with from, to and beds");
        return false;
    }
    struct jsonv r;
    jsonv_init(&r);
    jsonv_only(&r, item, known);
    bool dates = jsonv_date(&r, item, "from", true, &out->from);
    dates &= jsonv_date(&r, item, "to", true, &out->to);
    jsonv_int(&r, item, "beds", true, 0, CAP_MAX_BEDS, &out->beds);
    if (dates) {
        char msg[128], day[DATE_TEXT_LEN];
        if (out->from < today) {
            date_format(today, day);
            snprintf(msg, sizeof msg, "is in the past: capacity can be set from today (%s) on", day);
            jsonv_error(&r, "from", msg);
        } else if (out->to <= out->from) {
            jsonv_error(&r, "to", "must be after from (to is exclusive)");
        } else if (out->to - out->from > CAP_MAX_SPAN) {
            jsonv_error(&r, "to", "a range covers at most 731 nights");
        } else if (out->to > today + CAP_MAX_AHEAD) {
            date_format(today + CAP_MAX_AHEAD, day);
            snprintf(msg, sizeof msg, "must be at most %s: no stay can be booked further ahead", day);
            jsonv_error(&r, "to", msg);
        }
    }
    bool ok = jsonv_ok(&r);
    strcat(prefix, ".");
    res_nest_errors(v, &r, prefix);
    return ok;
}

static int range_cmp(const void *a, const void *b)
{
    const struct cap_range *x = a, *y = b;
    return (x->from > y->from) - (x->from < y->from);
}

/* Validates "ranges" into out (n of them); false when any problem was recorded. */
static bool validate_ranges(struct jsonv *v, const cJSON *body, struct cap_range *out, int *n)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "ranges");
    int size = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (size < 1 || size > CAP_MAX_RANGES) {
        jsonv_error(v, "ranges", "is required: an array of 1 to 50 {\"from\", \"to\", \"beds\"}");
        return false;
    }
    date_day today = date_today_local();
    bool ok = true;
    const cJSON *item;
    long total = 0;
    *n = 0;
    cJSON_ArrayForEach(item, list)
    {
        ok &= validate_range(v, item, *n, today, &out[*n]);
        total += out[*n].to - out[*n].from;
        (*n)++;
    }
    if (!ok)
        return false;
    if (total > CAP_MAX_NIGHTS_PER_CALL) {
        jsonv_error(v, "ranges", "cover at most 1096 nights together; split the change into "
                                 "several requests");
        return false;
    }
    struct cap_range sorted[CAP_MAX_RANGES];
    memcpy(sorted, out, (size_t)*n * sizeof *out);
    qsort(sorted, (size_t)*n, sizeof *sorted, range_cmp);
    for (int i = 1; i < *n; i++) {
        if (sorted[i].from < sorted[i - 1].to) {
            char a[DATE_TEXT_LEN], b[DATE_TEXT_LEN], msg[128];
            date_format(sorted[i].from, a);
            date_format(sorted[i - 1].to, b);
            snprintf(msg, sizeof msg, "must not overlap: a range starts on %s, before the one "
                                      "before it ends (%s, exclusive)", a, b);
            jsonv_error(v, "ranges", msg);
            return false;
        }
    }
    return true;
}

/* "cancel_stays" and its "reason" into p. */
static void validate_cancels(struct jsonv *v, const cJSON *body, cJSON *p)
{
    const cJSON *list = NULL, *e;
    const char *reason = NULL;
    if (jsonv_string_set(v, body, "cancel_stays", false, NULL, CAP_MAX_CANCEL, &list)) {
        cJSON_ArrayForEach(e, list)
        {
            if (!api_is_uuid(e->valuestring)) {
                jsonv_error(v, "cancel_stays", "must contain stay ids");
                return;
            }
        }
        cJSON_AddItemToObject(p, "cancel_stay_ids", cJSON_Duplicate(list, true));
    } else {
        cJSON_AddArrayToObject(p, "cancel_stay_ids");
    }
    if (res_text(v, body, "reason", false, 1000, &reason))
        cJSON_AddStringToObject(p, "reason", reason);
    else
        cJSON_AddNullToObject(p, "reason");
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(body, "reason");
    if (list && list->child && (!given || cJSON_IsNull(given)))
        jsonv_error(v, "reason", "is required when cancel_stays names stays: the families are "
                                 "told why their stay was cancelled");
}

static cJSON *ranges_json(const struct cap_range *ranges, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        char d[DATE_TEXT_LEN];
        cJSON *o = cJSON_CreateObject();
        date_format(ranges[i].from, d);
        cJSON_AddStringToObject(o, "from", d);
        date_format(ranges[i].to, d);
        cJSON_AddStringToObject(o, "to", d);
        cJSON_AddNumberToObject(o, "beds", (double)ranges[i].beds);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* 409 for a lowering below what is held or booked: names the nights in the detail and hands
 * the function's per-night figures to the client as "nights". */
static void reply_below_reserved(struct api_ctx *c, cJSON *detail)
{
    char text[1024];
    size_t len = (size_t)snprintf(text, sizeof text,
                                  "capacity would fall below the beds already held or booked on");
    const cJSON *nights = cJSON_GetObjectItemCaseSensitive(detail, "nights"), *n;
    int count = 0;
    cJSON_ArrayForEach(n, nights)
    {
        const cJSON *date = cJSON_GetObjectItemCaseSensitive(n, "date");
        if (count < CAP_NIGHTS_NAMED && cJSON_IsString(date) && len < sizeof text)
            len += (size_t)snprintf(text + len, sizeof text - len, "%s %s", count ? "," : "",
                                    date->valuestring);
        count++;
    }
    if (count > CAP_NIGHTS_NAMED && len < sizeof text)
        len += (size_t)snprintf(text + len, sizeof text - len, " and %d more night%s",
                                count - CAP_NIGHTS_NAMED, count - CAP_NIGHTS_NAMED == 1 ? "" : "s");
    if (len < sizeof text)
        snprintf(text + len, sizeof text - len,
                 "; nothing was changed. To lower it anyway, name the stays to cancel in "
                 "\"cancel_stays\" with a \"reason\" (GET /v1/stays?pool_id=%s lists them)",
                 api_param(c, "id"));
    api_reply_problem_full(c, PROBLEM_CONFLICT, text, NULL, detail);
}

static void reply_version_mismatch(struct api_ctx *c, cJSON *detail)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(detail, "current_version");
    char text[256];
    if (cJSON_IsNumber(v))
        snprintf(text, sizeof text, "the capacity changed since it was read (it is now at "
                 "version %d); read it again and send If-Match: \"%d\"", v->valueint, v->valueint);
    else
        snprintf(text, sizeof text, "the capacity changed since it was read; read it again");
    api_reply_problem_full(c, PROBLEM_PRECONDITION_FAILED, text, NULL, detail);
}

static void reply_bad_cancel(struct api_ctx *c, cJSON *detail)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(detail, "stay_id");
    char msg[256];
    snprintf(msg, sizeof msg, "stay %s cannot be cancelled here: it must be a held, requested "
             "or confirmed stay in this pool with a night in one of the ranges",
             cJSON_IsString(id) ? id->valuestring : "?");
    struct jsonv v;
    jsonv_init(&v);
    jsonv_error(&v, "cancel_stays", msg);
    api_reply_problem_full(c, PROBLEM_VALIDATION, "nothing was changed", jsonv_take_errors(&v),
                           detail);
}

/* Outcomes answered from the function's particulars: the nights, the version, the stay. */
static const struct {
    const char *outcome;
    void (*reply)(struct api_ctx *c, cJSON *detail);
} capacity_detailed[] = {
    {"below_reserved", reply_below_reserved},
    {"version_mismatch", reply_version_mismatch},
    {"bad_cancel", reply_bad_cancel},
};

/* Outcomes whose answer is the same text every time. */
static const struct res_refusal capacity_outcomes[] = {
    {"pool_not_found", PROBLEM_NOT_FOUND, NULL, "pool not found"},
    {NULL, 0, NULL, NULL},
};

static void capacity_set_done(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, capacity_refusals, &res))
        return;
    if (!strcmp(res.outcome, "ok")) {
        capacity_reload_then_read(c);
        return;
    }
    for (size_t i = 0; i < sizeof capacity_detailed / sizeof capacity_detailed[0]; i++)
        if (!strcmp(res.outcome, capacity_detailed[i].outcome)) {
            capacity_detailed[i].reply(c, res_result_detail(&res));
            return;
        }
    res_reply_outcome(c, &res, capacity_outcomes);
}

/* 428/400 for a missing or malformed If-Match; otherwise the precondition for the database. */
static bool read_if_match(struct api_ctx *c, enum res_if_match *m, long *version)
{
    const char *header = http_request_header(c->req, "If-Match");
    if (!header) {
        api_reply_problem(c, PROBLEM_PRECONDITION_REQUIRED,
                          "send If-Match with the ETag from GET /v1/pools/%s/capacity, or "
                          "If-Match: * to overwrite whatever is there", api_param(c, "id"));
        return false;
    }
    *m = res_if_match_parse(header, version);
    if (*m == RES_MATCH_MALFORMED) {
        api_reply_problem(c, PROBLEM_BAD_REQUEST,
                          "If-Match must be * or an entity tag in quotes, such as \"7\"");
        return false;
    }
    return true;
}

static void capacity_put(struct api_ctx *c)
{
    static const char *const known[] = {"ranges", "cancel_stays", "reason", NULL};
    const char *id = res_id(c, "pool not found");
    enum res_if_match match;
    long version = 0;
    if (!id || !read_if_match(c, &match, &version))
        return;
    struct cap_range ranges[CAP_MAX_RANGES];
    int n = 0;
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    bool ranges_ok = validate_ranges(&v, c->body, ranges, &n);
    cJSON *p = cJSON_CreateObject();
    validate_cancels(&v, c->body, p);
    if (!ranges_ok || !jsonv_ok(&v)) {
        cJSON_Delete(p);
        res_reply_invalid(c, &v, "check the highlighted fields; nothing was changed");
        return;
    }
    if (match == RES_MATCH_NEVER) {
        cJSON_Delete(p);
        api_reply_problem(c, PROBLEM_PRECONDITION_FAILED,
                          "If-Match names no version of this pool's capacity; read it again");
        return;
    }
    date_day lo = ranges[0].from, hi = ranges[0].to;
    for (int i = 1; i < n; i++) {
        lo = ranges[i].from < lo ? ranges[i].from : lo;
        hi = ranges[i].to > hi ? ranges[i].to : hi;
    }
    if (!cap_state_new(c, id, lo, hi)) {
        cJSON_Delete(p);
        return;
    }
    cJSON_AddStringToObject(p, "pool_id", id);
    cJSON_AddStringToObject(p, "provider_id", c->who.provider_id);
    if (match == RES_MATCH_VERSION)
        cJSON_AddNumberToObject(p, "if_match_version", (double)version);
    else
        cJSON_AddNullToObject(p, "if_match_version");
    cJSON_AddItemToObject(p, "ranges", ranges_json(ranges, n));
    cJSON_AddStringToObject(p, "actor_id", c->who.user_id);
    cJSON_AddStringToObject(p, "actor_role", role_name(c->who.role));
    cJSON_AddNumberToObject(p, "hold_ttl_s", c->app->cfg->hold_ttl_s);
    res_query_json(c, "capacity_set", p, capacity_set_done);
}

/* ---- POST .../confirm -------------------------------------------------------------------- */

/* "METHOD /pattern" for the access log, as access_log.c writes it. */
static void cap_route(const struct api_ctx *c, char *buf, size_t size)
{
    snprintf(buf, size, "%s %s", http_method_name(c->req->method),
             c->route ? c->route->pattern : "");
}

static void capacity_confirmed(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        res_reply_db_error(c, r, capacity_refusals);
        return;
    }
    if (PQntuples(r->res) != 1) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "pool not found");
        return;
    }
    capacity_reload_then_read(c);
}

/* The planner says today's counts are still right: as_of becomes now, no night changes, so
 * the pool leaves the stale report without anyone retyping a number. No If-Match: nothing a
 * colleague wrote can be overwritten by saying the counts are current. */
static void capacity_confirm(struct api_ctx *c)
{
    const char *id = res_id(c, "pool not found");
    if (!id)
        return;
    date_day today = date_today_local();
    struct cap_state *s = cap_state_new(c, id, today, today + CAP_DEFAULT_NIGHTS);
    if (!s)
        return;
    char addr[64], route[160], last[DATE_TEXT_LEN];
    date_format(today + CAP_DEFAULT_NIGHTS - 1, last);
    cap_route(c, route, sizeof route);
    const char *params[] = {id, res_scope(c), c->who.user_id, role_name(c->who.role),
                            c->req->request_id, api_peer_address(c, addr, sizeof addr), route,
                            s->from, last};
    api_query(c, "capacity_confirm", 9, params, capacity_confirmed);
}

/* ---- POST /v1/capacity/import ---------------------------------------------------------- */

#define IMPORT_MAX_ROWS 500
#define IMPORT_MAX_BYTES 200000
#define IMPORT_MAX_FIELDS 16

/* The CSV's own column names: a provider's planning system exports them, so they are fixed. */
static const char *const import_columns[] = {"pool_id", "first_night", "last_night", "beds"};
enum { COL_POOL, COL_FIRST, COL_LAST, COL_BEDS, COL_COUNT };

struct import_row {
    int line;                   /* 1-based line of the CSV, the header being line 1 */
    char pool_id[40];
    date_day from, to;          /* nights from <= night < to */
    long beds;
};

struct import_state {
    bool apply;                 /* false: check and answer, write nothing (a preview) */
    cJSON *early;               /* lines refused while reading, before the database's checks */
    int nrows;
    struct import_row rows[IMPORT_MAX_ROWS];
    char *reply;                /* the answer, kept while the index loads the pools again */
    int reloading;              /* pools whose reload has not finished, plus one */
};

/* One refused line: {line, code, message}; code is stable (clients translate it), message is
 * for developers. */
static void import_refuse(cJSON *lines, int line, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void import_refuse(cJSON *lines, int line, const char *code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "line", line);
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddItemToArray(lines, o);
}

static int import_line_cmp(const void *a, const void *b)
{
    int x = cJSON_GetObjectItem(*(const cJSON *const *)a, "line")->valueint;
    int y = cJSON_GetObjectItem(*(const cJSON *const *)b, "line")->valueint;
    return (x > y) - (x < y);
}

/* 422 naming every refused line, in line order, both as "errors" (field "csv") and "lines". */
static void import_reply_refused(struct api_ctx *c, cJSON *lines)
{
    /* Lines are refused while reading and again after (overlaps, the database's checks):
     * answer them in line order, rebuilt rather than moved within the cJSON list. */
    int n = cJSON_GetArraySize(lines);
    const cJSON **order = malloc((size_t)(n ? n : 1) * sizeof *order);
    if (!order) {
        cJSON_Delete(lines);
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    for (int i = 0; i < n; i++)
        order[i] = cJSON_GetArrayItem(lines, i);
    qsort(order, (size_t)n, sizeof *order, import_line_cmp);
    cJSON *sorted = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(sorted, cJSON_Duplicate(order[i], true));
    free(order);
    cJSON_Delete(lines);
    lines = sorted;
    struct jsonv v;
    jsonv_init(&v);
    const cJSON *l;
    cJSON_ArrayForEach(l, lines)
    {
        char msg[300];
        snprintf(msg, sizeof msg, "line %d: %s", cJSON_GetObjectItem(l, "line")->valueint,
                 cJSON_GetObjectItem(l, "message")->valuestring);
        jsonv_error(&v, "csv", msg);
    }
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddItemToObject(extra, "lines", lines);
    api_reply_problem_full(c, PROBLEM_VALIDATION,
                           "some lines of the CSV cannot be imported; nothing was written",
                           jsonv_take_errors(&v), extra);
}

/* Splits line in place at sep into at most IMPORT_MAX_FIELDS trimmed fields, without their
 * surrounding double quotes. Returns the number of fields. */
static int import_fields(char *line, char sep, char **out)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *end = strchr(p, sep);
        if (end)
            *end = '\0';
        while (isspace((unsigned char)*p))
            p++;
        size_t len = strlen(p);
        while (len && isspace((unsigned char)p[len - 1]))
            p[--len] = '\0';
        if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
            p[len - 1] = '\0';
            p++;
        }
        if (n < IMPORT_MAX_FIELDS)
            out[n++] = p;
        if (!end)
            return n;
        p = end + 1;
    }
}

/* Checks one data line into row; false after refusing it (the first reason only). */
static bool import_row_check(char **f, int nf, const int *col, int need, int line,
                             date_day today, cJSON *lines, struct import_row *row)
{
    if (nf < need) {
        import_refuse(lines, line, "columns", "has %d fields; the header names %d", nf, need);
        return false;
    }
    const char *pool = f[col[COL_POOL]];
    if (!api_is_uuid(pool)) {
        import_refuse(lines, line, "unknown_pool", "pool_id must be the id of one of your pools");
        return false;
    }
    date_day first, last;
    if (!date_parse(f[col[COL_FIRST]], &first)) {
        import_refuse(lines, line, "date", "first_night must be an existing date as YYYY-MM-DD");
        return false;
    }
    if (!date_parse(f[col[COL_LAST]], &last)) {
        import_refuse(lines, line, "date", "last_night must be an existing date as YYYY-MM-DD");
        return false;
    }
    char day[DATE_TEXT_LEN];
    if (first < today) {
        date_format(today, day);
        import_refuse(lines, line, "past", "first_night is in the past: capacity can be set "
                      "from today (%s) on", day);
        return false;
    }
    if (last < first) {
        import_refuse(lines, line, "order", "last_night is before first_night");
        return false;
    }
    if (last - first + 1 > CAP_MAX_SPAN) {
        import_refuse(lines, line, "too_long", "a line covers at most 731 nights");
        return false;
    }
    if (last + 1 > today + CAP_MAX_AHEAD) {
        date_format(today + CAP_MAX_AHEAD - 1, day);
        import_refuse(lines, line, "too_far", "last_night must be at most %s: no stay can be "
                      "booked further ahead", day);
        return false;
    }
    if (!res_parse_long(f[col[COL_BEDS]], 0, CAP_MAX_BEDS, &row->beds)) {
        import_refuse(lines, line, "beds", "beds must be a whole number from 0 to 500");
        return false;
    }
    row->line = line;
    snprintf(row->pool_id, sizeof row->pool_id, "%s", pool);
    row->from = first;
    row->to = last + 1;
    return true;
}

static int import_row_cmp(const void *a, const void *b)
{
    const struct import_row *x = a, *y = b;
    int c = strcmp(x->pool_id, y->pool_id);
    return c ? c : (x->from > y->from) - (x->from < y->from);
}

/* Reads the CSV text into s->rows, refusing lines into lines. */
static void import_parse(char *text, struct import_state *s, cJSON *lines)
{
    date_day today = date_today_local();
    int col[COL_COUNT], need = 0, line = 0;
    char sep = ',';
    bool header = false;
    char *p = text;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        line++;
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[--len] = '\0';
        char *cur = p;
        p = nl ? nl + 1 : NULL;
        while (isspace((unsigned char)*cur))
            cur++;
        if (!*cur || *cur == '#')
            continue;
        char *f[IMPORT_MAX_FIELDS];
        if (!header) {
            /* Dutch spreadsheets write ';' where others write ','; the header tells which. */
            sep = strchr(cur, ';') ? ';' : ',';
            int nf = import_fields(cur, sep, f);
            for (int k = 0; k < COL_COUNT; k++) {
                col[k] = -1;
                for (int i = 0; i < nf; i++)
                    if (!strcasecmp(f[i], import_columns[k]))
                        col[k] = i;
                if (col[k] < 0) {
                    import_refuse(lines, line, "columns", "the header must name the columns "
                                  "pool_id, first_night, last_night and beds (%s is missing)",
                                  import_columns[k]);
                    return;
                }
                if (col[k] + 1 > need)
                    need = col[k] + 1;
            }
            header = true;
            continue;
        }
        int nf = import_fields(cur, sep, f);
        if (s->nrows == IMPORT_MAX_ROWS) {
            import_refuse(lines, line, "too_many", "an import has at most 500 lines of data; "
                          "split the file");
            return;
        }
        if (import_row_check(f, nf, col, need, line, today, lines, &s->rows[s->nrows]))
            s->nrows++;
    }
    if (!header) {
        import_refuse(lines, 1, "columns", "the CSV is empty: it needs a header line and rows");
        return;
    }
    if (s->nrows == 0 && cJSON_GetArraySize(lines) == 0) {
        import_refuse(lines, line, "empty", "there are no rows under the header");
        return;
    }
    /* Two lines for the same pool and night would leave the result to their order. */
    struct import_row *sorted = malloc((size_t)s->nrows * sizeof *sorted);
    if (!sorted)
        return;
    memcpy(sorted, s->rows, (size_t)s->nrows * sizeof *sorted);
    qsort(sorted, (size_t)s->nrows, sizeof *sorted, import_row_cmp);
    for (int i = 1; i < s->nrows; i++)
        if (!strcmp(sorted[i].pool_id, sorted[i - 1].pool_id) && sorted[i].from < sorted[i - 1].to) {
            const struct import_row *later = sorted[i].line > sorted[i - 1].line ? &sorted[i] : &sorted[i - 1];
            const struct import_row *other = later == &sorted[i] ? &sorted[i - 1] : &sorted[i];
            import_refuse(lines, later->line, "overlap", "overlaps line %d for the same pool",
                          other->line);
        }
    free(sorted);
}

static void import_state_free(void *p)
{
    struct import_state *s = p;
    cJSON_Delete(s->early);
    free(s->reply);
    free(s);
}

static void import_reply_applied(struct api_ctx *c)
{
    struct import_state *s = c->state;
    char *text = s->reply; /* the reply frees the state before it sends */
    s->reply = NULL;
    res_reply_body(c, 200, text);
    free(text);
}

static void import_pool_reloaded(void *arg, bool ok)
{
    (void)ok; /* committed either way; a failed load is retried by the sync */
    struct api_ctx *c = arg;
    struct import_state *s = c->state;
    if (--s->reloading == 0)
        import_reply_applied(c);
}

/* Read your writes, as for a PUT: the answer waits until this process's index has the nights
 * of every pool the file changed. The count starts one high so that a reload finishing at
 * once cannot answer before every pool has been asked for. */
static void import_reload_pools(struct api_ctx *c)
{
    struct import_state *s = c->state;
    s->reloading = 1;
    for (int i = 0; c->app->sync && i < s->nrows; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = !strcmp(s->rows[j].pool_id, s->rows[i].pool_id);
        if (!seen) {
            s->reloading++;
            inventory_sync_reload(c->app->sync, SYNC_POOL, s->rows[i].pool_id,
                                  import_pool_reloaded, c);
        }
    }
    import_pool_reloaded(c, true);
}

static void import_done(struct api_ctx *c, const struct db_result *r)
{
    struct import_state *s = c->state;
    struct res_result res;
    if (!res_result_read(c, r, capacity_refusals, &res))
        return;
    cJSON *detail = res_result_detail(&res);
    bool early = cJSON_GetArraySize(s->early) > 0;
    if (!strcmp(res.outcome, "refused") || early) {
        /* One answer names every bad line: those refused while reading and those the
         * database refused among the others (checked without writing). */
        cJSON *lines = s->early;
        s->early = NULL;
        const cJSON *l;
        cJSON_ArrayForEach(l, cJSON_GetObjectItem(detail, "lines"))
        {
            int line = cJSON_GetObjectItem(l, "line")->valueint;
            const char *outcome = cJSON_GetObjectItem(l, "outcome")->valuestring;
            if (!strcmp(outcome, "below_reserved")) {
                char text[200] = "";
                size_t len = 0;
                const cJSON *n;
                cJSON_ArrayForEach(n, cJSON_GetObjectItem(l, "nights"))
                {
                    const cJSON *d = cJSON_GetObjectItem(n, "date");
                    if (len < 120 && cJSON_IsString(d))
                        len += (size_t)snprintf(text + len, sizeof text - len, "%s%s",
                                                len ? ", " : "", d->valuestring);
                }
                import_refuse(lines, line, "below_reserved", "beds would fall below what is "
                              "already held or booked on %s", text);
                /* The nights and the stays on them (ids, status, dates: no guest data), for a
                 * client that names them, as the capacity PUT's refusal lets it. */
                cJSON *last = cJSON_GetArrayItem(lines, cJSON_GetArraySize(lines) - 1);
                cJSON_AddItemToObject(last, "nights",
                                      cJSON_Duplicate(cJSON_GetObjectItem(l, "nights"), true));
                const cJSON *stays = cJSON_GetObjectItem(l, "stays");
                cJSON_AddItemToObject(last, "stays", cJSON_IsArray(stays)
                                                         ? cJSON_Duplicate(stays, true)
                                                         : cJSON_CreateArray());
            } else {
                import_refuse(lines, line, "unknown_pool", "pool_id must be the id of one of "
                              "your pools");
            }
        }
        cJSON_Delete(detail);
        import_reply_refused(c, lines);
        return;
    }
    if (strcmp(res.outcome, "ok") && strcmp(res.outcome, "preview")) {
        cJSON_Delete(detail);
        res_reply_outcome(c, &res, NULL);
        return;
    }
    const cJSON *names = cJSON_GetObjectItem(detail, "pool_names");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "applied", !strcmp(res.outcome, "ok"));
    const cJSON *nights = cJSON_GetObjectItem(detail, "nights");
    cJSON_AddNumberToObject(body, "nights", cJSON_IsNumber(nights) ? nights->valuedouble : 0);
    cJSON *rows = cJSON_AddArrayToObject(body, "rows");
    for (int i = 0; i < s->nrows; i++) {
        char d[DATE_TEXT_LEN];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "line", s->rows[i].line);
        cJSON_AddStringToObject(o, "pool_id", s->rows[i].pool_id);
        const cJSON *name = cJSON_GetObjectItem(names, s->rows[i].pool_id);
        cJSON_AddStringToObject(o, "pool_name", cJSON_IsString(name) ? name->valuestring : "");
        date_format(s->rows[i].from, d);
        cJSON_AddStringToObject(o, "first_night", d);
        date_format(s->rows[i].to - 1, d);
        cJSON_AddStringToObject(o, "last_night", d);
        cJSON_AddNumberToObject(o, "beds", (double)s->rows[i].beds);
        cJSON_AddItemToArray(rows, o);
    }
    cJSON_Delete(detail);
    s->reply = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!s->reply) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    if (!strcmp(res.outcome, "ok"))
        import_reload_pools(c);
    else
        import_reply_applied(c);
}

static void capacity_import(struct api_ctx *c)
{
    static const char *const known[] = {"csv", "apply", NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    const char *csv = NULL;
    bool apply = false;
    jsonv_string(&v, c->body, "csv", true, 1, IMPORT_MAX_BYTES, &csv);
    jsonv_bool(&v, c->body, "apply", true, &apply);
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "send {\"csv\": \"...\", \"apply\": false} to check, true to write");
        return;
    }
    struct import_state *s = res_state_new(c, sizeof *s, import_state_free);
    char *text = strdup(csv);
    if (!s || !text) {
        free(text);
        if (s)
            api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    s->early = cJSON_CreateArray();
    import_parse(text, s, s->early);
    free(text);
    bool early = cJSON_GetArraySize(s->early) > 0;
    if (early && s->nrows == 0) {
        cJSON *lines = s->early;
        s->early = NULL;
        import_reply_refused(c, lines);
        return;
    }
    /* With lines already refused, the others still get the database's checks, never a write. */
    s->apply = apply && !early;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "provider_id", c->who.provider_id);
    cJSON_AddStringToObject(p, "actor_id", c->who.user_id);
    cJSON_AddStringToObject(p, "actor_role", role_name(c->who.role));
    cJSON_AddNumberToObject(p, "hold_ttl_s", c->app->cfg->hold_ttl_s);
    cJSON_AddBoolToObject(p, "apply", s->apply);
    /* for the access-log entry of an applied import */
    char addr[64], route[160];
    cap_route(c, route, sizeof route);
    const char *peer = api_peer_address(c, addr, sizeof addr);
    cJSON_AddStringToObject(p, "request_id", c->req->request_id);
    if (peer)
        cJSON_AddStringToObject(p, "address", peer);
    else
        cJSON_AddNullToObject(p, "address");
    cJSON_AddStringToObject(p, "route", route);
    cJSON *rows = cJSON_AddArrayToObject(p, "rows");
    for (int i = 0; i < s->nrows; i++) {
        char d[DATE_TEXT_LEN];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "line", s->rows[i].line);
        cJSON_AddStringToObject(o, "pool_id", s->rows[i].pool_id);
        date_format(s->rows[i].from, d);
        cJSON_AddStringToObject(o, "from", d);
        date_format(s->rows[i].to, d);
        cJSON_AddStringToObject(o, "to", d);
        cJSON_AddNumberToObject(o, "beds", (double)s->rows[i].beds);
        cJSON_AddItemToArray(rows, o);
    }
    res_query_json(c, "capacity_import", p, import_done);
}

static const struct api_endpoint get = {capacity_get, false};
static const struct api_endpoint put = {capacity_put, true};
static const struct api_endpoint confirm = {capacity_confirm, false};
static const struct api_endpoint import = {capacity_import, true};

/* Only the pool's own staff set its counts; the coordinator reads them for the region. */
static const struct route capacity_routes[] = {
    {HTTP_GET, "/v1/pools/{id}/capacity", &get, ROLE_PROVIDER | ROLE_COORDINATOR},
    {HTTP_PUT, "/v1/pools/{id}/capacity", &put, ROLE_PROVIDER},
    {HTTP_POST, "/v1/pools/{id}/capacity/confirm", &confirm, ROLE_PROVIDER},
    {HTTP_POST, "/v1/capacity/import", &import, ROLE_PROVIDER},
};

ROUTE_GROUP(capacity_group, capacity_routes, capacity_prepare);
