/* index: the in-memory availability index. Per pool, one small integer per night holds the
 * free beds; a search scans the pools that pass the cheap filters and takes the minimum over
 * the asked nights. At national size (5,000 pools x 730 nights) that is 7 MiB and well under
 * a millisecond per search, so no cleverer structure is needed. The index is only ever
 * changed after PostgreSQL committed, by the api layer's event handling. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/core.h"

struct pool_slot {
    struct core_pool meta;
    int16_t *free;      /* ndays entries */
};

struct core_index {
    date_day first_day;
    int ndays;
    struct pool_slot **pools; /* dense array, in insertion order */
    size_t npools, cap;
    size_t *table;            /* open addressing: index into pools + 1, 0 = empty */
    size_t table_size;        /* power of two, at least twice npools */
};

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct core_index *core_index_new(date_day first_day, int ndays)
{
    struct core_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return NULL;
    ix->first_day = first_day;
    ix->ndays = ndays;
    ix->table_size = 64;
    ix->table = calloc(ix->table_size, sizeof *ix->table);
    if (!ix->table) {
        free(ix);
        return NULL;
    }
    return ix;
}

static void meta_free_strings(struct core_pool *p)
{
    free(p->pool_name);
    free(p->location_name);
    free(p->provider_name);
    free(p->wmo_municipalities);
    free(p->facilities);
    free(p->exclusions);
}

void core_index_free(struct core_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->npools; i++) {
        meta_free_strings(&ix->pools[i]->meta);
        free(ix->pools[i]->free);
        free(ix->pools[i]);
    }
    free(ix->pools);
    free(ix->table);
    free(ix);
}

static struct pool_slot *find(const struct core_index *ix, const char *id)
{
    size_t mask = ix->table_size - 1;
    for (size_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
        size_t e = ix->table[i];
        if (e == 0)
            return NULL;
        if (strcmp(ix->pools[e - 1]->meta.id, id) == 0)
            return ix->pools[e - 1];
    }
}

static void table_insert(size_t *table, size_t size, const char *id, size_t entry)
{
    size_t mask = size - 1;
    size_t i = hash_id(id) & mask;
    while (table[i])
        i = (i + 1) & mask;
    table[i] = entry;
}

static int grow(struct core_index *ix)
{
    if (ix->npools == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64;
        struct pool_slot **p = realloc(ix->pools, cap * sizeof *p);
        if (!p)
            return -1;
        ix->pools = p;
        ix->cap = cap;
    }
    if ((ix->npools + 1) * 2 > ix->table_size) {
        size_t size = ix->table_size * 2;
        size_t *t = calloc(size, sizeof *t);
        if (!t)
            return -1;
        for (size_t i = 0; i < ix->npools; i++)
            table_insert(t, size, ix->pools[i]->meta.id, i + 1);
        free(ix->table);
        ix->table = t;
        ix->table_size = size;
    }
    return 0;
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

int core_index_put_pool(struct core_index *ix, const struct core_pool *p)
{
    struct core_pool copy = *p;
    copy.pool_name = dup_or_empty(p->pool_name);
    copy.location_name = dup_or_empty(p->location_name);
    copy.provider_name = dup_or_empty(p->provider_name);
    copy.wmo_municipalities = dup_or_empty(p->wmo_municipalities);
    copy.facilities = dup_or_empty(p->facilities);
    copy.exclusions = dup_or_empty(p->exclusions);
    if (!copy.pool_name || !copy.location_name || !copy.provider_name ||
        !copy.wmo_municipalities || !copy.facilities || !copy.exclusions) {
        meta_free_strings(&copy);
        return -1;
    }
    struct pool_slot *slot = find(ix, p->id);
    if (slot) {
        meta_free_strings(&slot->meta);
        slot->meta = copy;
        return 0;
    }
    slot = calloc(1, sizeof *slot);
    int16_t *free_nights = calloc((size_t)ix->ndays, sizeof *free_nights);
    if (!slot || !free_nights || grow(ix) != 0) {
        free(slot);
        free(free_nights);
        meta_free_strings(&copy);
        return -1;
    }
    slot->meta = copy;
    slot->free = free_nights;
    ix->pools[ix->npools++] = slot;
    table_insert(ix->table, ix->table_size, p->id, ix->npools);
    return 0;
}

const struct core_pool *core_index_pool(const struct core_index *ix, const char *pool_id)
{
    struct pool_slot *s = find(ix, pool_id);
    return s ? &s->meta : NULL;
}

size_t core_index_pool_count(const struct core_index *ix) { return ix->npools; }
date_day core_index_first_day(const struct core_index *ix) { return ix->first_day; }
int core_index_ndays(const struct core_index *ix) { return ix->ndays; }

int core_index_set_free(struct core_index *ix, const char *pool_id, date_day night, int n)
{
    struct pool_slot *s = find(ix, pool_id);
    if (!s)
        return -1;
    long off = (long)night - ix->first_day;
    if (off >= 0 && off < ix->ndays)
        s->free[off] = (int16_t)(n < 0 ? 0 : n > INT16_MAX ? INT16_MAX : n);
    return 0;
}

int core_index_free_on(const struct core_index *ix, const char *pool_id, date_day night)
{
    struct pool_slot *s = find(ix, pool_id);
    long off = (long)night - ix->first_day;
    if (!s || off < 0 || off >= ix->ndays)
        return 0;
    return s->free[off];
}

double core_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * asin(sqrt(a < 1 ? a : 1));
}

/* True when the comma-separated list has token. */
static bool csv_has(const char *csv, const char *token, size_t len)
{
    for (const char *p = csv; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == len && memcmp(p, token, len) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

/* any = true: does haystack contain any of needles; false: does it contain all of them. */
static bool csv_match(const char *haystack, const char *needles, bool any)
{
    if (!needles || !*needles)
        return !any;
    for (const char *p = needles; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        bool has = csv_has(haystack, p, n);
        if (any && has)
            return true;
        if (!any && !has)
            return false;
        p = comma ? comma + 1 : NULL;
    }
    return !any;
}

/* Filters that do not depend on the dates. */
static bool pool_matches(const struct core_pool *p, const struct core_search *q)
{
    if (!p->active || !(q->kinds & (1 << p->kind)))
        return false;
    if (q->municipality && strcmp(q->municipality, p->municipality) != 0)
        return false;
    if (q->care_profile && !(p->care_profiles & q->care_profile))
        return false;
    if (q->funding >= 0) {
        if (!(p->funding & (1u << q->funding)))
            return false;
        /* Wmo is contracted per municipality: only pools that contract the guest's own. */
        if (strcmp(core_funding_names[q->funding], "wmo") == 0 &&
            (!q->home_municipality ||
             !csv_has(p->wmo_municipalities, q->home_municipality, strlen(q->home_municipality))))
            return false;
    }
    if (q->nights < p->min_nights || q->nights > p->max_nights)
        return false;
    if (csv_match(p->exclusions, q->needs, true))
        return false;
    if (!csv_match(p->facilities, q->facilities, false))
        return false;
    return true;
}

/* Fewest free beds over [check_in, check_in + nights), or 0 when the stay breaks the pool's
 * lead time or horizon or leaves the indexed range. */
static int min_free(const struct core_index *ix, const struct pool_slot *s,
                    const struct core_search *q, date_day check_in)
{
    const struct core_pool *p = &s->meta;
    if (check_in < q->today + p->lead_days || check_in + q->nights > q->today + p->horizon_days)
        return 0;
    long off = (long)check_in - ix->first_day;
    if (off < 0 || off + q->nights > ix->ndays)
        return 0;
    int m = INT16_MAX;
    for (int i = 0; i < q->nights && m > 0; i++)
        if (s->free[off + i] < m)
            m = s->free[off + i];
    return m;
}

static int hit_rank_cmp(const struct core_hit *a, const struct core_hit *b, date_day asked)
{
    long da = labs((long)a->check_in - asked), db = labs((long)b->check_in - asked);
    if (da != db)
        return da < db ? -1 : 1;
    if (a->stale != b->stale)
        return a->stale ? 1 : -1;
    if (a->distance_km != b->distance_km)
        return a->distance_km < b->distance_km ? -1 : 1;
    if (a->free != b->free)
        return a->free > b->free ? -1 : 1;
    if (a->check_in != b->check_in)
        return a->check_in < b->check_in ? -1 : 1;
    return strcmp(a->pool->id, b->pool->id);
}

/* Keeps the best max hits in hits[0..*n) sorted; an insertion sort is right for small max. */
static void keep_best(struct core_hit *hits, size_t *n, size_t max, const struct core_hit *h,
                      date_day asked)
{
    size_t i = *n;
    if (i == max) {
        if (max == 0 || hit_rank_cmp(h, &hits[max - 1], asked) >= 0)
            return;
        i = max - 1;
    } else {
        (*n)++;
    }
    while (i > 0 && hit_rank_cmp(h, &hits[i - 1], asked) < 0) {
        hits[i] = hits[i - 1];
        i--;
    }
    hits[i] = *h;
}

size_t core_search_run(const struct core_index *ix, const struct core_search *q,
                       struct core_hit *hits, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < ix->npools; i++) {
        const struct pool_slot *s = ix->pools[i];
        const struct core_pool *p = &s->meta;
        if (!pool_matches(p, q))
            continue;
        double dist = -1;
        if (q->has_point) {
            dist = core_distance_km(q->lat, q->lon, p->lat, p->lon);
            if (q->radius_km > 0 && dist > q->radius_km)
                continue;
        }
        bool stale = difftime(q->now, p->as_of) > (double)q->stale_days * 86400.0;
        /* The asked date first, then +1, -1, +2, -2, ...: one hit per pool, the nearest. */
        for (int k = 0; k <= 2 * q->flex_days; k++) {
            int shift = (k + 1) / 2 * (k % 2 ? 1 : -1);
            int f = min_free(ix, s, q, q->check_in + shift);
            if (f <= 0)
                continue;
            struct core_hit h = {p, q->check_in + shift, f, dist, stale};
            keep_best(hits, &n, max, &h, q->check_in);
            break;
        }
    }
    return n;
}
