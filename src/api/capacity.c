/* capacity: GET/PUT /v1/pools/{id}/capacity (spec 2, 4, 6): staffed beds per night, with
 * what is held and booked, and POST .../capacity/confirm ("alles klopt nog"). Reads carry the pool's version as a strong ETag; writes need
 * If-Match, so two planners cannot overwrite each other's counts unseen. The database
 * function applies a write atomically; it never lowers capacity below what is held or
 * booked unless the provider names the stays to cancel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
     * The pools_notify trigger tells every process's index that the pool is fresh again. */
    if (api_prepare(app, "capacity_confirm",
                    "UPDATE pools r SET as_of = now() WHERE r.id = $1::uuid AND "
                    RES_OWNED("provider_id", "2") " RETURNING r.id"))
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
        capacity_read(c);
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
    capacity_read(c);
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
    if (!cap_state_new(c, id, today, today + CAP_DEFAULT_NIGHTS))
        return;
    const char *params[] = {id, res_scope(c)};
    api_query(c, "capacity_confirm", 2, params, capacity_confirmed);
}

static const struct api_endpoint get = {capacity_get, false};
static const struct api_endpoint put = {capacity_put, true};
static const struct api_endpoint confirm = {capacity_confirm, false};

/* Only the pool's own staff set its counts; the coordinator reads them for the region. */
static const struct route capacity_routes[] = {
    {HTTP_GET, "/v1/pools/{id}/capacity", &get, ROLE_PROVIDER | ROLE_COORDINATOR},
    {HTTP_PUT, "/v1/pools/{id}/capacity", &put, ROLE_PROVIDER},
    {HTTP_POST, "/v1/pools/{id}/capacity/confirm", &confirm, ROLE_PROVIDER},
};

ROUTE_GROUP(capacity_group, capacity_routes, capacity_prepare);
