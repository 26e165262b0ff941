/* availability: GET /v1/availability, answered from the in-memory index without touching the
 * database (only the search log is written, after replying). Enforces who may see which
 * kind of bed: caregivers only ever see planned beds, referrers only crisis beds. */
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/core.h"
#include "logeer/events.h"
#include "logeer/jsonv.h"
#include "logeer/jsonw.h"

#define SEARCH_MAX_LIMIT 100

static int availability_prepare(struct app *app)
{
    /* Searches are kept (without personal data) so that the coordinator can count unmet
     * demand: searches that found nothing never become a request. */
    return api_prepare(app, "search_log",
                       "INSERT INTO searches (user_id, role, check_in, nights, municipality, "
                       "care_profile, funding, kind, flex_days, radius_km, results, params) "
                       "SELECT * FROM jsonb_to_recordset($1::jsonb) AS r (user_id uuid, "
                       "role user_role, check_in date, nights int, municipality text, "
                       "care_profile text, funding text, kind pool_kind, flex_days int, "
                       "radius_km int, results int, params jsonb)");
}

/* ---- the search log, written in batches ---------------------------------------------
 * One INSERT per search would put a database round trip behind every search, queued with
 * the requests that need an answer. Rows are kept for at most SEARCH_LOG_FLUSH_MS (or until
 * SEARCH_LOG_BATCH of them) and written by one statement. A crash or shutdown loses at most
 * that second of search statistics, never a booking. */
#define SEARCH_LOG_BATCH 500
#define SEARCH_LOG_FLUSH_MS 1000

struct search_log {
    struct db_pool *db;
    struct event *timer;
    struct jsonw rows;         /* the JSON array being filled, open: "[{...},{...}" */
    int nrows;
};

static void search_log_flush(evutil_socket_t fd, short what, void *arg)
{
    struct search_log *log = arg;
    if (log->nrows == 0)
        return;
    jw_array_end(&log->rows);
    const char *text = jw_text(&log->rows, NULL);
    if (text) {
        const char *params[] = {text};
        /* Fire and forget: the searches have been answered; a lost row is not worth a 5xx.
         * db_query copies the parameters, so the buffer is reused at once. */
        db_query(log->db, "search_log", 1, params, NULL, NULL);
    }
    jw_reset(&log->rows);
    log->nrows = 0;
}

static struct search_log *search_log_of(struct app *app)
{
    struct search_log *log = app->search_log;
    if (!log) {
        log = app->search_log = calloc(1, sizeof *log);
        if (!log)
            return NULL;
        log->db = app->db;
        log->timer = evtimer_new(app->base, search_log_flush, log);
        jw_init(&log->rows);
    }
    return log;
}

/* Called after a row was appended to log->rows. */
static void search_log_added(struct search_log *log)
{
    if (++log->nrows >= SEARCH_LOG_BATCH) {
        search_log_flush(-1, 0, log);
    } else if (log->timer && !evtimer_pending(log->timer, NULL)) {
        struct timeval tv = {SEARCH_LOG_FLUSH_MS / 1000, (SEARCH_LOG_FLUSH_MS % 1000) * 1000};
        evtimer_add(log->timer, &tv);
    }
}

void availability_log_free(struct app *app)
{
    struct search_log *log = app->search_log;
    if (!log)
        return;
    if (log->timer)
        event_free(log->timer);
    jw_free(&log->rows);
    free(log);
    app->search_log = NULL;
}

/* Reads and validates the query string into q; collects field errors in v. Strings point
 * into bufs, which the caller keeps alive. */
struct search_args {
    char check_in[32], nights[16], municipality[16], care_profile[32], funding[16], kind[16];
    char flex[16], lat[32], lon[32], radius[32], needs[512], facilities[512], home[16];
    char limit[16];
};

static bool parse_long(const char *s, long min, long max, long *out)
{
    if (!s)
        return false;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double min, double max, double *out)
{
    if (!s)
        return false;
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s || !isfinite(v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Comma lists of lowercase tokens, as stored for facilities and exclusions. */
static bool token_list_ok(const char *s)
{
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == ','))
            return false;
    return true;
}

/* Which kinds the caller may see, given the kind asked for (NULL = all they may). Returns 0
 * when the caller asked for a kind their role never sees. */
static int allowed_kinds(unsigned role, int asked)
{
    int may = role == ROLE_CAREGIVER ? 1 << KIND_PLANNED
              : role == ROLE_REFERRER ? 1 << KIND_CRISIS
                                      : (1 << KIND_PLANNED) | (1 << KIND_CRISIS);
    return asked < 0 ? may : may & (1 << asked);
}

/* A text member, JSON null when empty. */
static void put_text(struct jsonw *w, const char *name, const char *value)
{
    jw_kstring(w, name, value && *value ? value : NULL);
}

static void log_search(struct api_ctx *c, const struct search_args *a, size_t results)
{
    struct search_log *log = search_log_of(c->app);
    if (!log)
        return;
    struct jsonw *w = &log->rows;
    if (log->nrows == 0)
        jw_array_begin(w);
    jw_object_begin(w);
    put_text(w, "user_id", c->who.user_id);
    put_text(w, "role", role_name(c->who.role));
    put_text(w, "check_in", a->check_in);
    jw_kint(w, "nights", atoi(a->nights));
    put_text(w, "municipality", a->municipality);
    put_text(w, "care_profile", a->care_profile);
    put_text(w, "funding", a->funding);
    put_text(w, "kind", a->kind);
    jw_kint(w, "flex_days", a->flex[0] ? atoi(a->flex) : 0);
    double r;
    jw_key(w, "radius_km");
    if (parse_double(a->radius, 0, 1000, &r))
        jw_int(w, lround(r));
    else
        jw_null(w);
    jw_kint(w, "results", (long long)results);
    jw_key(w, "params");
    jw_object_begin(w);
    if (a->needs[0])
        jw_kstring(w, "needs", a->needs);
    if (a->facilities[0])
        jw_kstring(w, "facilities", a->facilities);
    jw_object_end(w);
    jw_object_end(w);
    search_log_added(log);
}

static void hit_json(struct jsonw *w, const struct core_hit *h, date_day asked, int nights)
{
    const struct core_pool *p = h->pool;
    char ci[DATE_TEXT_LEN], co[DATE_TEXT_LEN];
    date_format(h->check_in, ci);
    date_format(h->check_in + nights, co);
    jw_object_begin(w);
    jw_kstring(w, "pool_id", p->id);
    jw_kstring(w, "pool_name", p->pool_name);
    jw_kstring(w, "kind", core_kind_names[p->kind]);
    jw_kstring(w, "booking_mode", core_mode_names[p->mode]);
    jw_kstring(w, "access", core_pool_access(p));
    jw_kint(w, "free", h->free);
    jw_kstring(w, "check_in", ci);
    jw_kstring(w, "check_out", co);
    jw_kint(w, "flex_shift", h->check_in - asked);
    jw_key(w, "location");
    jw_object_begin(w);
    jw_kstring(w, "id", p->location_id);
    jw_kstring(w, "name", p->location_name);
    jw_kstring(w, "municipality", p->municipality);
    jw_key(w, "lat");
    jw_number_text(w, p->lat_text);
    jw_key(w, "lon");
    jw_number_text(w, p->lon_text);
    jw_object_end(w);
    jw_key(w, "provider");
    jw_object_begin(w);
    jw_kstring(w, "id", p->provider_id);
    jw_kstring(w, "name", p->provider_name);
    jw_object_end(w);
    if (h->distance_km >= 0) {
        jw_key(w, "distance_km");
        jw_fixed(w, h->distance_km, 1);
    }
    jw_kstring(w, "as_of", p->as_of_text);
    jw_kbool(w, "stale", h->stale);
    jw_object_end(w);
}

/* Fills q from the query string; replies itself and returns false on bad input. */
static bool read_search(struct api_ctx *c, struct search_args *a, struct core_search *q)
{
    bool malformed = false;
    const char *check_in = api_query_arg(c, "check_in", a->check_in, sizeof a->check_in, &malformed);
    const char *nights = api_query_arg(c, "nights", a->nights, sizeof a->nights, &malformed);
    const char *municipality = api_query_arg(c, "municipality", a->municipality, sizeof a->municipality, &malformed);
    const char *profile = api_query_arg(c, "care_profile", a->care_profile, sizeof a->care_profile, &malformed);
    const char *funding = api_query_arg(c, "funding", a->funding, sizeof a->funding, &malformed);
    const char *kind = api_query_arg(c, "kind", a->kind, sizeof a->kind, &malformed);
    const char *flex = api_query_arg(c, "flex_days", a->flex, sizeof a->flex, &malformed);
    const char *lat = api_query_arg(c, "lat", a->lat, sizeof a->lat, &malformed);
    const char *lon = api_query_arg(c, "lon", a->lon, sizeof a->lon, &malformed);
    const char *radius = api_query_arg(c, "radius_km", a->radius, sizeof a->radius, &malformed);
    const char *needs = api_query_arg(c, "needs", a->needs, sizeof a->needs, &malformed);
    const char *facilities = api_query_arg(c, "facilities", a->facilities, sizeof a->facilities, &malformed);
    const char *home = api_query_arg(c, "home_municipality", a->home, sizeof a->home, &malformed);
    const char *limit = api_query_arg(c, "limit", a->limit, sizeof a->limit, &malformed);
    if (malformed) {
        api_reply_problem(c, PROBLEM_BAD_REQUEST,
                          "the query string has a malformed or overlong value");
        return false;
    }
    struct jsonv v;
    jsonv_init(&v);
    long n = 0;
    if (!check_in || !date_parse(check_in, &q->check_in))
        jsonv_error(&v, "check_in", "is required as an existing date YYYY-MM-DD");
    if (!parse_long(nights, 1, 365, &n))
        jsonv_error(&v, "nights", "is required: a whole number from 1 to 365");
    q->nights = (int)n;
    q->flex_days = 0;
    if (flex && !parse_long(flex, 0, 14, &n))
        jsonv_error(&v, "flex_days", "must be a whole number from 0 to 14");
    else if (flex)
        q->flex_days = (int)n;
    q->limit = 20;
    if (limit && !parse_long(limit, 1, SEARCH_MAX_LIMIT, &n))
        jsonv_error(&v, "limit", "must be a whole number from 1 to 100");
    else if (limit)
        q->limit = (int)n;
    if (municipality && strlen(municipality) != 6)
        jsonv_error(&v, "municipality", "must be a CBS code such as GM0106");
    q->municipality = municipality;
    q->care_profile = 0;
    int i;
    if (profile && (i = core_name_index(core_care_profile_names, profile)) < 0)
        jsonv_error(&v, "care_profile", "must be somatic, dementia, disability, psychiatric or youth");
    else if (profile)
        q->care_profile = 1u << i;
    q->funding = -1;
    if (funding && (q->funding = core_name_index(core_funding_names, funding)) < 0)
        jsonv_error(&v, "funding", "must be wmo, wlz, zvw, pgb or private");
    int asked_kind = -1;
    if (kind && (asked_kind = core_name_index(core_kind_names, kind)) < 0)
        jsonv_error(&v, "kind", "must be planned or crisis");
    q->has_point = lat || lon;
    if (q->has_point && (!parse_double(lat, -90, 90, &q->lat) || !parse_double(lon, -180, 180, &q->lon)))
        jsonv_error(&v, "lat", "lat and lon must both be given as decimal degrees");
    q->radius_km = 0;
    if (radius && (!q->has_point || !parse_double(radius, 0.1, 1000, &q->radius_km)))
        jsonv_error(&v, "radius_km", "must be 0.1 to 1000, together with lat and lon");
    if (needs && !token_list_ok(needs))
        jsonv_error(&v, "needs", "must be a comma-separated list of lowercase words");
    if (facilities && !token_list_ok(facilities))
        jsonv_error(&v, "facilities", "must be a comma-separated list of lowercase words");
    q->needs = needs;
    q->facilities = facilities;
    /* Caregivers' Wmo contracts are those of their own municipality, whatever they send. */
    q->home_municipality = c->who.role == ROLE_CAREGIVER ? c->who.municipality : home;
    if (!jsonv_ok(&v)) {
        api_reply_problem_full(c, PROBLEM_VALIDATION, "check the search parameters",
                               jsonv_take_errors(&v), NULL);
        return false;
    }
    q->kinds = allowed_kinds(c->who.role, asked_kind);
    if (!q->kinds) {
        api_reply_problem(c, PROBLEM_FORBIDDEN, "the role %s may not search %s beds",
                          role_name(c->who.role), kind);
        return false;
    }
    q->today = date_today_local();
    q->stale_days = c->app->cfg->stale_days;
    q->now = time(NULL);
    return true;
}

static void availability_search(struct api_ctx *c)
{
    if (!inventory_sync_ready(c->app->sync)) {
        api_reply_problem(c, PROBLEM_UNAVAILABLE, "availability is still loading; try again shortly");
        return;
    }
    struct search_args a;
    memset(&a, 0, sizeof a);
    struct core_search q;
    memset(&q, 0, sizeof q);
    if (!read_search(c, &a, &q))
        return;
    struct core_hit hits[SEARCH_MAX_LIMIT];
    size_t n = core_search_run(c->app->index, &q, hits, (size_t)q.limit);
    log_search(c, &a, n);

    struct jsonw w;
    jw_init(&w);
    jw_reserve(&w, 128 + n * 640); /* a hit is about 470 bytes with typical names */
    char ci[DATE_TEXT_LEN];
    date_format(q.check_in, ci);
    jw_object_begin(&w);
    jw_kstring(&w, "check_in", ci);
    jw_kint(&w, "nights", q.nights);
    jw_kint(&w, "count", (long long)n);
    jw_key(&w, "results");
    jw_array_begin(&w);
    for (size_t i = 0; i < n; i++)
        hit_json(&w, &hits[i], q.check_in, q.nights);
    jw_array_end(&w);
    jw_object_end(&w);
    size_t len = 0;
    const char *text = jw_text(&w, &len);
    if (text)
        api_reply_raw(c, 200, "application/json", text, len);
    else
        api_reply_problem(c, PROBLEM_INTERNAL, "could not encode the response");
    jw_free(&w);
}

static const struct api_endpoint search = {availability_search, false};

static const struct route availability_routes[] = {
    {HTTP_GET, "/v1/availability", &search, ROLE_CAREGIVER | ROLE_REFERRER | ROLE_COORDINATOR},
};

ROUTE_GROUP(availability_group, availability_routes, availability_prepare);
