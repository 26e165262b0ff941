/* availability: GET /v1/availability and its follow-up GET /v1/availability/earliest (the
 * earliest dates that fit when the asked ones are full), answered from the in-memory index
 * without touching the database. Reads the question, lets the core say which kinds of bed the
 * caller may see (caregivers only planned, referrers only crisis) and search (which keeps each
 * pool's arrival days and blocks), shapes the answer with the pool's windows and blocks, and
 * counts each search in the search log. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/core.h"
#include "logeer/events.h"
#include "logeer/fmt.h"
#include "logeer/jsonv.h"
#include "logeer/jsonw.h"
#include "logeer/search_log.h"
#include "resource.h"

#define SEARCH_MAX_LIMIT 100

/* The search as asked: texts as the client sent them (NULL when not), living in args; the
 * search log keeps them as they were asked. */
struct search_args {
    struct res_args args;
    const char *check_in, *nights, *municipality, *care_profile, *funding, *kind, *flex, *pool;
    const char *lat, *lon, *radius, *needs, *facilities, *home, *limit;
};

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

/* A text member, JSON null when empty. */
static void put_text(struct jsonw *w, const char *name, const char *value)
{
    jw_kstring(w, name, value && *value ? value : NULL);
}

/* Counts the search for the unmet-demand report: who asked (a role), the municipality it
 * counts for, what, and whether anything was found. No user id and nothing about the guest. */
static void log_search(struct api_ctx *c, const struct search_args *a, size_t results)
{
    struct search_count_key k;
    search_count_key_init(&k);
    time_t now = time(NULL);
    k.minute = (long long)(now - now % 60);
    const char *role = c->who.role ? role_name(c->who.role) : NULL;
    /* Every text was checked by read_search (the municipality's length, the names against
     * their tables), so each fits its field; one that did not would be logged as not asked. */
    search_count_key_text(k.role, sizeof k.role, role);
    /* The report counts a caregiver's search for their own municipality (Wmo follows it),
     * anyone else's for the one asked (logeer_demand_municipality). */
    bool home = c->who.role == ROLE_CAREGIVER && c->who.municipality[0];
    search_count_key_text(k.municipality, sizeof k.municipality,
                          home ? c->who.municipality : a->municipality);
    search_count_key_text(k.care_profile, sizeof k.care_profile, a->care_profile);
    search_count_key_text(k.funding, sizeof k.funding, a->funding);
    search_count_key_text(k.kind, sizeof k.kind, a->kind);
    k.nights = atoi(a->nights);
    k.found = results > 0;
    search_log_count(c->app->search_log, &k);
}

/* A comma list as a JSON array of its tokens. */
static void put_tokens(struct jsonw *w, const char *name, const char *csv)
{
    jw_key(w, name);
    jw_array_begin(w);
    for (const char *p = csv; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char token[64];
        if (n > 0 && n < sizeof token) {
            memcpy(token, p, n);
            token[n] = '\0';
            jw_string(w, token);
        }
        p = comma ? comma + 1 : NULL;
    }
    jw_array_end(w);
}

/* What an answer shows of a pool before its distance: what it is, where, whose. */
static void pool_head(struct jsonw *w, const struct core_pool *p)
{
    jw_kstring(w, "pool_id", p->id);
    jw_kstring(w, "pool_name", p->pool_name);
    jw_kstring(w, "kind", core_kind_names[p->kind]);
    jw_kstring(w, "booking_mode", core_mode_names[p->mode]);
    jw_kstring(w, "access", core_pool_access(p));
    jw_key(w, "location");
    jw_object_begin(w);
    jw_kstring(w, "id", p->location_id);
    jw_kstring(w, "name", p->location_name);
    jw_kstring(w, "municipality", p->municipality);
    jw_key(w, "lat");
    jw_number_text(w, p->lat_text);
    jw_key(w, "lon");
    jw_number_text(w, p->lon_text);
    put_tokens(w, "facilities", p->facilities);
    jw_object_end(w);
    jw_key(w, "provider");
    jw_object_begin(w);
    jw_kstring(w, "id", p->provider_id);
    jw_kstring(w, "name", p->provider_name);
    jw_object_end(w);
}

/* ... and after its freshness: when to come and go, and the patterns a stay follows
 * (docs/practice.md). */
static void pool_tail(struct jsonw *w, const struct core_pool *p)
{
    put_text(w, "check_in_window", p->check_in_window);
    put_text(w, "check_out_window", p->check_out_window);
    jw_key(w, "arrival_weekdays");
    jw_array_begin(w);
    for (int d = 0; d < 7; d++)
        if (p->arrival_days & (1u << d))
            jw_int(w, d + 1);
    jw_array_end(w);
    jw_key(w, "blocks");
    jw_array_begin(w);
    for (int i = 0; i < p->nblocks; i++) {
        jw_object_begin(w);
        jw_kint(w, "arrive", p->blocks[i].arrive);
        jw_kint(w, "nights", p->blocks[i].nights);
        jw_object_end(w);
    }
    jw_array_end(w);
    /* Whether a companion place is free on these nights is not in the index (it counts beds);
     * the booking answers that. */
    jw_kint(w, "companion_places", p->companion_places);
    jw_key(w, "free_cancel_days");
    if (p->free_cancel_days < 0)
        jw_null(w);
    else
        jw_int(w, p->free_cancel_days);
}

/* A pool's head and tail as JSON members, rendered once per version of its description: a
 * twenty-hit answer then copies forty prepared strings instead of measuring, escaping and
 * formatting some six hundred values. Kept by the pool's slot in the index; the index changes
 * a pool's version whenever its description changes, and pools never leave it. This process's
 * own cache, used on the loop's thread only. */
struct shown_pool {
    uint32_t version;           /* the pool's version rendered; 0 = none yet */
    char *head, *tail;          /* members without braces */
    char *fresh;                /* "as_of":"...","stale": (the value is the search's) */
    size_t head_len, tail_len, fresh_len;
};

static struct shown_pool *shown;
static size_t nshown;

/* The members part writes, without the braces of the object they were written in. */
static char *members_of(void (*part)(struct jsonw *, const struct core_pool *),
                        const struct core_pool *p, size_t *len)
{
    struct jsonw w;
    jw_init(&w);
    jw_object_begin(&w);
    part(&w, p);
    jw_object_end(&w);
    size_t n = 0;
    const char *text = jw_text(&w, &n);
    char *out = text && n >= 2 ? strndup(text + 1, n - 2) : NULL;
    *len = out ? n - 2 : 0;
    jw_free(&w);
    return out;
}

/* The as_of member and the stale key after it: stale depends on the time of the search. */
static void pool_fresh(struct jsonw *w, const struct core_pool *p)
{
    jw_kstring(w, "as_of", p->as_of_text);
    jw_key(w, "stale");
}

static const struct shown_pool *shown_of(const struct core_pool *p)
{
    if (p->slot >= nshown) {
        size_t n = nshown ? nshown : 64;
        while (n <= p->slot)
            n *= 2;
        struct shown_pool *grown = realloc(shown, n * sizeof *grown);
        if (!grown)
            return NULL;
        memset(grown + nshown, 0, (n - nshown) * sizeof *grown);
        shown = grown;
        nshown = n;
    }
    struct shown_pool *s = &shown[p->slot];
    if (s->version != p->version) {
        free(s->head);
        free(s->tail);
        free(s->fresh);
        s->head = members_of(pool_head, p, &s->head_len);
        s->tail = members_of(pool_tail, p, &s->tail_len);
        s->fresh = members_of(pool_fresh, p, &s->fresh_len);
        s->version = s->head && s->tail && s->fresh ? p->version : 0;
    }
    return s->version ? s : NULL;
}

/* After the scan the hits' descriptions and their prepared members are in no cache, and each
 * hit waited in turn for its description (for the slot), then for its entry here, then for
 * the strings: pool_members' own time was almost all these waits, 7% of a search. Asked for
 * every hit at once, level by level, the waits of one level overlap. Only a hint: nothing is
 * read here that pool_members would not read, and a pool not rendered yet is passed over.
 * Inlined on purpose: a function whose only effect is prefetching has no effect the compiler
 * must keep, and GCC drops the call to it. */
static inline __attribute__((always_inline)) void
prefetch_shown(const struct core_pool *const *pools, size_t n)
{
    for (size_t i = 0; i < n; i++)
        __builtin_prefetch(&pools[i]->slot);
    for (size_t i = 0; i < n; i++)
        if (pools[i]->slot < nshown)
            __builtin_prefetch(&shown[pools[i]->slot]);
    for (size_t i = 0; i < n; i++) {
        if (pools[i]->slot >= nshown)
            continue;
        const struct shown_pool *s = &shown[pools[i]->slot];
        for (size_t k = 0; k < s->head_len; k += 64)
            __builtin_prefetch(s->head + k);
        for (size_t k = 0; k < s->tail_len; k += 64)
            __builtin_prefetch(s->tail + k);
        __builtin_prefetch(s->fresh);
    }
}

static void shown_free(struct app *app)
{
    (void)app;
    for (size_t i = 0; i < nshown; i++) {
        free(shown[i].head);
        free(shown[i].tail);
        free(shown[i].fresh);
    }
    free(shown);
    shown = NULL;
    nshown = 0;
}

/* The members every answer shows of a pool: what it is, where, whose, how fresh, and the
 * patterns a stay follows. The caller has opened the object. */
static void pool_members(struct jsonw *w, const struct core_pool *p, double distance_km,
                         bool stale)
{
    const struct shown_pool *s = shown_of(p);
    if (s)
        jw_members_raw(w, s->head, s->head_len);
    else
        pool_head(w, p);
    if (distance_km >= 0) {
        jw_key(w, "distance_km");
        jw_fixed(w, distance_km, 1);
    }
    if (s) {
        jw_members_raw(w, s->fresh, s->fresh_len);
        jw_continue_raw(w, stale ? "true" : "false", stale ? 4 : 5);
        jw_members_raw(w, s->tail, s->tail_len);
    } else {
        jw_kstring(w, "as_of", p->as_of_text);
        jw_kbool(w, "stale", stale);
        pool_tail(w, p);
    }
}

/* A hit's last members, which follow from its check-in date alone (the stay's length and the
 * asked date are the search's): ,"check_in":"...","check_out":"...","flex_shift":n, at most
 * 74 bytes. The last one made is kept: most hits of an answer share their dates. */
struct dates_memo {
    date_day check_in;
    size_t len;                 /* 0 until the first */
    char text[96];
};

static const struct dates_memo *hit_dates(struct dates_memo *m, date_day check_in,
                                          date_day asked, int nights)
{
    if (m->len && m->check_in == check_in)
        return m;
    char in[DATE_TEXT_LEN], out[DATE_TEXT_LEN];
    date_format(check_in, in);
    date_format(check_in + nights, out);
    char *p = fmt_lit(m->text, ",\"check_in\":\"");
    p = fmt_str(p, in);
    p = fmt_lit(p, "\",\"check_out\":\"");
    p = fmt_str(p, out);
    p = fmt_lit(p, "\",\"flex_shift\":");
    p = fmt_int(p, (long long)check_in - asked);
    m->len = (size_t)(p - m->text);
    m->check_in = check_in;
    return m;
}

static void hit_json(struct jsonw *w, const struct core_hit *h, date_day asked, int nights,
                     struct dates_memo *dates)
{
    jw_object_begin(w);
    pool_members(w, h->pool, h->distance_km, h->stale);
    jw_kint(w, "free", h->free);
    const struct dates_memo *d = hit_dates(dates, h->check_in, asked, nights);
    jw_continue_raw(w, d->text, d->len);
    jw_object_end(w);
}

/* The filters both questions share (nights, area, care profile, funding, kind, needs,
 * facilities) from the query string into a and q; problems go to a->args.v. Returns the kind
 * asked for, or -1. */
static int read_filters(struct api_ctx *c, struct search_args *a, struct core_search *q)
{
    struct res_args *args = &a->args;
    a->nights = res_arg(c, args, "nights", 16);
    a->municipality = res_arg(c, args, "municipality", 16);
    a->care_profile = res_arg(c, args, "care_profile", 32);
    a->funding = res_arg(c, args, "funding", 16);
    a->kind = res_arg(c, args, "kind", 16);
    a->lat = res_arg(c, args, "lat", 32);
    a->lon = res_arg(c, args, "lon", 32);
    a->radius = res_arg(c, args, "radius_km", 32);
    a->needs = res_arg(c, args, "needs", 512);
    a->facilities = res_arg(c, args, "facilities", 512);
    a->home = res_arg(c, args, "home_municipality", 16);
    a->pool = res_arg_id(c, args, "pool_id", "must be a pool's id (a UUID)");
    struct jsonv *v = &args->v;
    long n = 0;
    if (!res_parse_long(a->nights, 1, 365, &n))
        jsonv_error(v, "nights", "is required: a whole number from 1 to 365");
    q->nights = (int)n;
    if (a->municipality && strlen(a->municipality) != 6)
        jsonv_error(v, "municipality", "must be a CBS code such as GM0106");
    q->municipality = a->municipality;
    q->care_profile = 0;
    int profile = a->care_profile ? core_name_index(core_care_profile_names, a->care_profile) : -1;
    if (a->care_profile && profile < 0)
        jsonv_error(v, "care_profile", "must be somatic, dementia, disability, psychiatric or youth");
    else if (profile >= 0)
        q->care_profile = 1u << profile;
    q->funding = -1;
    if (a->funding && (q->funding = core_name_index(core_funding_names, a->funding)) < 0)
        jsonv_error(v, "funding", "must be wmo, wlz, zvw, pgb or private");
    int asked_kind = -1;
    if (a->kind && (asked_kind = core_name_index(core_kind_names, a->kind)) < 0)
        jsonv_error(v, "kind", "must be planned or crisis");
    q->has_point = a->lat || a->lon;
    if (q->has_point &&
        (!parse_double(a->lat, -90, 90, &q->lat) || !parse_double(a->lon, -180, 180, &q->lon)))
        jsonv_error(v, "lat", "lat and lon must both be given as decimal degrees");
    q->radius_km = 0;
    if (a->radius && (!q->has_point || !parse_double(a->radius, 0.1, 1000, &q->radius_km)))
        jsonv_error(v, "radius_km", "must be 0.1 to 1000, together with lat and lon");
    if (a->needs && !token_list_ok(a->needs))
        jsonv_error(v, "needs", "must be a comma-separated list of lowercase words");
    if (a->facilities && !token_list_ok(a->facilities))
        jsonv_error(v, "facilities", "must be a comma-separated list of lowercase words");
    q->needs = a->needs;
    q->facilities = a->facilities;
    q->pool_id = a->pool;
    /* Caregivers' Wmo contracts are those of their own municipality, whatever they send;
     * visitors and professionals name one. */
    q->home_municipality = c->who.role == ROLE_CAREGIVER ? c->who.municipality : a->home;
    return asked_kind;
}

/* After the arguments were read: 400/422 for bad ones, 403 for a kind the role may not see;
 * otherwise fills the rest of q and returns true. */
static bool search_allowed(struct api_ctx *c, struct search_args *a, struct core_search *q,
                           int asked_kind)
{
    if (!res_args_ok(c, &a->args, "check the search parameters"))
        return false;
    q->kinds = core_kinds_visible(c->who.role);
    if (asked_kind >= 0)
        q->kinds &= 1 << asked_kind;
    if (!q->kinds) {
        api_reply_problem(c, PROBLEM_FORBIDDEN, "the role %s may not search %s beds",
                          c->who.role ? role_name(c->who.role) : "visitor", a->kind);
        return false;
    }
    /* The window's today, not the clock's: around midnight the index may not have rolled
     * yet, and lead times and horizons must be judged on the nights it has. */
    q->today = core_index_today(c->app->index);
    q->stale_days = c->app->cfg->stale_days;
    q->now = time(NULL);
    return true;
}

/* Fills q from the query string; replies itself and returns false on bad input. */
static bool read_search(struct api_ctx *c, struct search_args *a, struct core_search *q)
{
    struct res_args *args = &a->args;
    a->check_in = res_arg(c, args, "check_in", 32);
    a->flex = res_arg(c, args, "flex_days", 16);
    a->limit = res_arg(c, args, "limit", 16);
    int asked_kind = read_filters(c, a, q);
    struct jsonv *v = &args->v;
    long n = 0;
    if (!a->check_in || !date_parse(a->check_in, &q->check_in))
        jsonv_error(v, "check_in", "is required as an existing date YYYY-MM-DD");
    q->flex_days = 0;
    if (a->flex && !res_parse_long(a->flex, 0, 14, &n))
        jsonv_error(v, "flex_days", "must be a whole number from 0 to 14");
    else if (a->flex)
        q->flex_days = (int)n;
    q->limit = 20;
    if (a->limit && !res_parse_long(a->limit, 1, SEARCH_MAX_LIMIT, &n))
        jsonv_error(v, "limit", "must be a whole number from 1 to 100");
    else if (a->limit)
        q->limit = (int)n;
    return search_allowed(c, a, q, asked_kind);
}

static void availability_search(struct api_ctx *c)
{
    if (!inventory_sync_ready(c->app->sync)) {
        api_reply_problem(c, PROBLEM_UNAVAILABLE, "availability is still loading; try again shortly");
        return;
    }
    struct search_args a;
    memset(&a, 0, sizeof a);
    res_args_init(&a.args);
    struct core_search q;
    memset(&q, 0, sizeof q);
    if (!read_search(c, &a, &q))
        return;
    struct core_hit hits[SEARCH_MAX_LIMIT];
    size_t n = core_search_run(c->app->index, &q, hits, (size_t)q.limit);
    /* A look at one place (a link to its request page) is not a search for a bed: the
     * unmet-demand report would count it as one. */
    if (!q.pool_id)
        log_search(c, &a, n);

    struct jsonw w;
    jw_init(&w);
    /* A hit is about 670 bytes with the national data set's names: room for a third more,
     * so that an answer is never moved to a larger buffer halfway (a copy of all of it). */
    jw_reserve(&w, 128 + n * 900);
    char ci[DATE_TEXT_LEN];
    date_format(q.check_in, ci);
    jw_object_begin(&w);
    jw_kstring(&w, "check_in", ci);
    jw_kint(&w, "nights", q.nights);
    jw_kint(&w, "count", (long long)n);
    jw_key(&w, "results");
    jw_array_begin(&w);
    struct dates_memo dates = {0};
    const struct core_pool *pools[SEARCH_MAX_LIMIT];
    for (size_t i = 0; i < n; i++)
        pools[i] = hits[i].pool;
    prefetch_shown(pools, n);
    for (size_t i = 0; i < n; i++)
        hit_json(&w, &hits[i], q.check_in, q.nights, &dates);
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

/* ---- GET /v1/availability/earliest ---------------------------------------------------- */

#define EARLIEST_MAX_LIMIT 50
/* Without ?until=, the window runs this long: a season ahead is what a family plans. */
#define EARLIEST_DEFAULT_DAYS 180

/* The earliest fitting dates per pool: what a caregiver sees when the asked dates are full
 * (issue 12). A question of its own rather than a part of every search answer: the search
 * stays as cheap as it is measured to be, and a client asks this one with its own window
 * (from, until) when it needs it. Not written to the search log: the search before it was. */
static void availability_earliest(struct api_ctx *c)
{
    if (!inventory_sync_ready(c->app->sync)) {
        api_reply_problem(c, PROBLEM_UNAVAILABLE, "availability is still loading; try again shortly");
        return;
    }
    struct search_args a;
    memset(&a, 0, sizeof a);
    res_args_init(&a.args);
    struct core_search q;
    memset(&q, 0, sizeof q);
    const char *from = res_arg(c, &a.args, "from", 32);
    const char *until = res_arg(c, &a.args, "until", 32);
    const char *limit = res_arg(c, &a.args, "limit", 16);
    const char *per_pool = res_arg(c, &a.args, "per_pool", 16);
    int asked_kind = read_filters(c, &a, &q);
    struct jsonv *v = &a.args.v;
    date_day today = core_index_today(c->app->index), last_day = today, latest = 0;
    long n = 0, lim = 10, per = 3;
    q.check_in = today;
    if (from && !date_parse(from, &q.check_in))
        jsonv_error(v, "from", "must be an existing date YYYY-MM-DD");
    if (until && !date_parse(until, &latest))
        jsonv_error(v, "until", "must be an existing date YYYY-MM-DD");
    else if (until && latest <= q.check_in)
        jsonv_error(v, "until", "must be after from: the latest check-out");
    if (limit && !res_parse_long(limit, 1, EARLIEST_MAX_LIMIT, &lim))
        jsonv_error(v, "limit", "must be a whole number from 1 to 50");
    if (per_pool && !res_parse_long(per_pool, 1, CORE_EARLIEST_MAX_DATES, &per))
        jsonv_error(v, "per_pool", "must be a whole number from 1 to 10");
    if (!search_allowed(c, &a, &q, asked_kind))
        return;
    /* Nobody checks in before today; the window ends by ?until= (the latest check-out) or a
     * season ahead, and never past the index's last night: that bounds the work. */
    if (q.check_in < today)
        q.check_in = today;
    if (!until)
        latest = q.check_in + EARLIEST_DEFAULT_DAYS;
    last_day = core_index_first_day(c->app->index) + core_index_ndays(c->app->index);
    if (latest > last_day)
        latest = last_day;
    struct core_early found[EARLIEST_MAX_LIMIT];
    n = (long)core_earliest_run(c->app->index, &q, latest, (int)per, found, (size_t)lim);
    const struct core_pool *pools[EARLIEST_MAX_LIMIT];
    for (long i = 0; i < n; i++)
        pools[i] = found[i].pool;
    prefetch_shown(pools, (size_t)n);

    struct jsonw w;
    jw_init(&w);
    jw_reserve(&w, 128 + (size_t)n * 900);
    char d[DATE_TEXT_LEN];
    jw_object_begin(&w);
    date_format(q.check_in, d);
    jw_kstring(&w, "from", d);
    date_format(latest, d);
    jw_kstring(&w, "until", d);
    jw_kint(&w, "nights", q.nights);
    jw_kint(&w, "count", n);
    jw_key(&w, "results");
    jw_array_begin(&w);
    for (long i = 0; i < n; i++) {
        const struct core_early *e = &found[i];
        jw_object_begin(&w);
        pool_members(&w, e->pool, e->distance_km, e->stale);
        jw_key(&w, "dates");
        jw_array_begin(&w);
        for (int k = 0; k < e->ndates; k++) {
            jw_object_begin(&w);
            date_format(e->check_in[k], d);
            jw_kstring(&w, "check_in", d);
            date_format(e->check_in[k] + q.nights, d);
            jw_kstring(&w, "check_out", d);
            jw_kint(&w, "free", e->free[k]);
            jw_object_end(&w);
        }
        jw_array_end(&w);
        jw_object_end(&w);
    }
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
static const struct api_endpoint earliest = {availability_earliest, false};

/* Visitors may search before they make an account (issue 12): they see planned beds only, as
 * caregivers do, and name their own municipality for Wmo with home_municipality. */
#define SEARCHERS (ROLE_CAREGIVER | ROLE_REFERRER | ROLE_COORDINATOR | ROUTE_VISITORS)

static const struct route availability_routes[] = {
    {HTTP_GET, "/v1/availability", &search, SEARCHERS},
    {HTTP_GET, "/v1/availability/earliest", &earliest, SEARCHERS},
};

ROUTE_GROUP_SHUTDOWN(availability_group, availability_routes, NULL, shown_free);
