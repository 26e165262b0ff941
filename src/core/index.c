/* index: the in-memory availability index. Per pool and night, one small integer holds the
 * free beds. A search scans dense arrays of each pool's filter fields (kind, profiles,
 * funding, night limits) and coordinates without branching, and reads the free beds only of
 * the pools that pass; it proposes only stays that keep a pool's arrival days and blocks
 * (with flex_days, the nearest arrival that does). A search within one municipality visits
 * only that municipality's pools, a search for one care profile only that profile's pools,
 * and one around a point only those of the profile's pools in its band of latitudes. The
 * free beds are stored night-major (one row of all pools per night, each row allocated
 * apart), so the pools a search reads on one night lie in a few cache lines the prefetcher
 * streams, and the window rolls by moving row pointers: at the day boundary the oldest rows
 * go and new ones, filled aside, come in at the end (core_index_roll_*), in one step between
 * two searches. The descriptions (names, ids, lists) live apart and are read only for the
 * hits. At national size (5,000 pools x 1,100 nights) the rows are about 11 MiB. The index is
 * only ever changed after PostgreSQL committed, by the api layer's event handling. The
 * earliest fitting dates (core_earliest_run) pass the same filters and then walk a pool's
 * nights once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/core.h"

/* What a search looks at for every pool, packed so that a scan streams through 40 bytes a
 * pool and follows no pointer for a pool it does not show. */
struct pool_hot {
    int64_t as_of;
    uint64_t id_key;            /* the id's first 8 bytes (pack8): orders ties without strcmp */
    uint64_t wmo_only;          /* pack8 of the one contracted municipality; 0 when none */
    uint32_t care_profiles;
    uint8_t funding;            /* bits over core_funding_names (five routes) */
    uint8_t kind;
    bool active;
    uint8_t lists;              /* LIST_* bits: which description lists a search must read */
    int16_t min_nights, max_nights, lead_days, horizon_days;
};

/* Coordinates, apart from the rest: a search around a point scans only these (80 KB for
 * 5,000 pools) and computes its distances from them without touching the description. */
struct coords {
    double lat, lon;
};

enum {
    LIST_EXCLUSIONS = 1,        /* the pool excludes something */
    LIST_WMO_MANY = 2,          /* Wmo contracts too many or too long for wmo_only */
    LIST_ARRIVAL = 4,           /* arrival days or blocks: a stay's dates are judged */
};

/* Pools by position in the dense arrays, in no particular order (a search's ranking does not
 * depend on the order it meets pools in). */
struct pool_list {
    size_t *at;
    size_t n, cap;
};

/* The pools of one care profile by latitude, then position: a search around a point reads
 * only the band of its box's latitudes, and finds the pools there without their coords. */
struct lat_entry {
    double lat, lon;
    size_t at;
};

struct lat_list {
    struct lat_entry *e;
    size_t n, cap;
};

/* The pools of one municipality: a search within one municipality visits only these. */
struct muni_pools {
    uint64_t municipality;
    struct pool_list pools;
};

/* Care profiles are bits of a uint32_t (core_pool.care_profiles). */
#define PROFILE_BITS 32
/* The lists by care profile and funding route cover the first 8 of each (there are five of
 * each today): one bit of a uint64_t per pair, profile * 8 + route. */
#define PF_BITS 8

struct core_index {
    date_day first_day;
    int ndays;
    struct core_pool **pools; /* the descriptions, read for hits and the rarer filters; dense,
                                 in insertion order, each allocated apart so pointers last */
    struct pool_hot *hot;     /* hot[i] belongs to pools[i] */
    struct coords *coords;    /* coords[i] too: a search around a point scans only these */
    size_t npools, cap;
    int16_t **rows;           /* rows[night - first_day][pool]: ndays rows of cap pools */
    struct muni_pools *munis; /* one entry per municipality seen, in order of appearance */
    size_t nmunis, munis_cap;
    /* by_profile[b]: the pools serving care profile bit b. A search for one care profile
     * outside a municipality (nearly every search a caregiver makes) visits only these. */
    struct pool_list by_profile[PROFILE_BITS];
    /* by_profile_lat[b]: the same pools by latitude, for a search around a point. */
    struct lat_list by_profile_lat[PROFILE_BITS];
    /* by_profile_funding[b * PF_BITS + f]: the pools serving care profile b that take funding
     * route f. A search for one profile and route without a place (the whole country) visits
     * only these: about half of the profile's pools, as few routes are taken everywhere. */
    struct pool_list by_profile_funding[PF_BITS * PF_BITS];
    size_t *table;            /* open addressing: index into pools + 1, 0 = empty */
    size_t table_size;        /* power of two, at least twice npools */
};

/* Up to 8 bytes of s, big-endian, zero-padded: comparing two keys orders like strcmp on
 * those bytes, and equal strings of up to 8 bytes give equal keys. */
static uint64_t pack8(const char *s)
{
    uint64_t k = 0;
    bool ended = s == NULL;
    for (int i = 0; i < 8; i++) {
        unsigned char c = ended ? 0 : (unsigned char)s[i];
        ended = ended || c == 0;
        k = (k << 8) | c;
    }
    return k;
}

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
    ix->ndays = ndays > 0 ? ndays : 0;
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
        meta_free_strings(ix->pools[i]);
        free(ix->pools[i]);
    }
    for (size_t i = 0; i < ix->nmunis; i++)
        free(ix->munis[i].pools.at);
    free(ix->munis);
    for (int b = 0; b < PROFILE_BITS; b++) {
        free(ix->by_profile[b].at);
        free(ix->by_profile_lat[b].e);
    }
    for (int b = 0; b < PF_BITS * PF_BITS; b++)
        free(ix->by_profile_funding[b].at);
    free(ix->pools);
    free(ix->hot);
    free(ix->coords);
    for (int d = 0; ix->rows && d < ix->ndays; d++)
        free(ix->rows[d]);
    free(ix->rows);
    free(ix->table);
    free(ix);
}

/* Position of the pool in the dense arrays, or -1. */
static long find(const struct core_index *ix, const char *id)
{
    size_t mask = ix->table_size - 1;
    for (size_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
        size_t e = ix->table[i];
        if (e == 0)
            return -1;
        if (strcmp(ix->pools[e - 1]->id, id) == 0)
            return (long)(e - 1);
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

/* Room for one more pool: doubles the dense arrays and re-lays the night rows. */
static int grow_arrays(struct core_index *ix)
{
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    struct core_pool **pools = realloc(ix->pools, cap * sizeof *pools);
    if (!pools)
        return -1;
    ix->pools = pools;
    struct pool_hot *hot = realloc(ix->hot, cap * sizeof *hot);
    if (!hot)
        return -1;
    ix->hot = hot;
    struct coords *coords = realloc(ix->coords, cap * sizeof *coords);
    if (!coords)
        return -1;
    ix->coords = coords;
    if (!ix->rows && ix->ndays > 0 && !(ix->rows = calloc((size_t)ix->ndays, sizeof *ix->rows)))
        return -1;
    for (int d = 0; d < ix->ndays; d++) {
        int16_t *row = realloc(ix->rows[d], cap * sizeof *row);
        if (!row)
            return -1; /* the rows grown so far are larger than needed, which is harmless */
        memset(row + ix->cap, 0, (cap - ix->cap) * sizeof *row);
        ix->rows[d] = row;
    }
    ix->cap = cap;
    return 0;
}

static int grow(struct core_index *ix)
{
    if (ix->npools == ix->cap && grow_arrays(ix) != 0)
        return -1;
    if ((ix->npools + 1) * 2 > ix->table_size) {
        size_t size = ix->table_size * 2;
        size_t *t = calloc(size, sizeof *t);
        if (!t)
            return -1;
        for (size_t i = 0; i < ix->npools; i++)
            table_insert(t, size, ix->pools[i]->id, i + 1);
        free(ix->table);
        ix->table = t;
        ix->table_size = size;
    }
    return 0;
}

static int16_t clamp16(int v) { return (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v); }

/* A doubling array of n items of `size` bytes with room for one more: items itself when it
 * has room, else the grown block (*cap updated). NULL when out of memory; items is then
 * unchanged and still the caller's. */
static void *room_for_one(void *items, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return items;
    size_t bigger = *cap ? *cap * 2 : first;
    void *grown = realloc(items, bigger * size);
    if (grown)
        *cap = bigger;
    return grown;
}

/* Room for one more entry, so that the add that follows cannot fail. */
static int list_reserve(struct pool_list *l)
{
    size_t *at = room_for_one(l->at, l->n, &l->cap, sizeof *l->at, 8);
    if (!at)
        return -1;
    l->at = at;
    return 0;
}

static int list_add(struct pool_list *l, size_t at)
{
    if (list_reserve(l) != 0)
        return -1;
    l->at[l->n++] = at;
    return 0;
}

static void list_remove(struct pool_list *l, size_t at)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->at[i] == at) {
            l->at[i] = l->at[--l->n];
            return;
        }
    }
}

static struct muni_pools *muni_find(const struct core_index *ix, uint64_t municipality)
{
    for (size_t i = 0; i < ix->nmunis; i++)
        if (ix->munis[i].municipality == municipality)
            return &ix->munis[i];
    return NULL;
}

static int muni_add(struct core_index *ix, uint64_t municipality, size_t at)
{
    struct muni_pools *m = muni_find(ix, municipality);
    if (!m) {
        struct muni_pools *munis =
            room_for_one(ix->munis, ix->nmunis, &ix->munis_cap, sizeof *ix->munis, 64);
        if (!munis)
            return -1;
        ix->munis = munis;
        m = &ix->munis[ix->nmunis++];
        *m = (struct muni_pools){.municipality = municipality};
    }
    return list_add(&m->pools, at);
}

static void muni_remove(struct core_index *ix, uint64_t municipality, size_t at)
{
    struct muni_pools *m = muni_find(ix, municipality);
    if (m)
        list_remove(&m->pools, at);
}

static int lat_reserve(struct lat_list *l)
{
    struct lat_entry *e = room_for_one(l->e, l->n, &l->cap, sizeof *l->e, 8);
    if (!e)
        return -1;
    l->e = e;
    return 0;
}

/* The first entry at or after (lat, at) in the list's order. */
static size_t lat_lower(const struct lat_list *l, double lat, size_t at)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct lat_entry *e = &l->e[mid];
        if (e->lat < lat || (e->lat == lat && e->at < at))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Needs room (lat_reserve). */
static void lat_add(struct lat_list *l, const struct coords *c, size_t at)
{
    size_t i = lat_lower(l, c->lat, at);
    memmove(l->e + i + 1, l->e + i, (l->n - i) * sizeof *l->e);
    l->e[i] = (struct lat_entry){c->lat, c->lon, at};
    l->n++;
}

static void lat_remove(struct lat_list *l, const struct coords *c, size_t at)
{
    size_t i = lat_lower(l, c->lat, at);
    if (i < l->n && l->e[i].at == at) {
        memmove(l->e + i, l->e + i + 1, (l->n - i - 1) * sizeof *l->e);
        l->n--;
    }
}

/* Room in each list of `lists` the pool joins (the bits of `after` not in `before`). */
static int lists_reserve(struct pool_list *lists, int n, uint64_t before, uint64_t after)
{
    for (int b = 0; b < n; b++)
        if ((((after & ~before) >> b) & 1) && list_reserve(&lists[b]) != 0)
            return -1;
    return 0;
}

/* Pool `at` out of the lists it leaves and into those it joins (room made by lists_reserve). */
static void lists_move(struct pool_list *lists, int n, uint64_t before, uint64_t after, size_t at)
{
    for (int b = 0; b < n; b++) {
        if (((before & ~after) >> b) & 1)
            list_remove(&lists[b], at);
        if (((after & ~before) >> b) & 1)
            list_add(&lists[b], at);
    }
}

/* The lists by care profile and funding route a pool belongs in, as bits. */
static uint64_t pf_mask(uint32_t care_profiles, uint32_t funding)
{
    uint64_t mask = 0;
    for (int b = 0; b < PF_BITS; b++)
        if (care_profiles & (1u << b))
            mask |= (uint64_t)(funding & 0xffu) << (b * PF_BITS);
    return mask;
}

/* What a pool's place in the lists depends on. */
struct membership {
    uint32_t care_profiles, funding;
    struct coords where;
};

/* Moves pool `at` from the lists of `before` to those of `after`: by care profile, by
 * profile and latitude, by profile and funding route. Room is made first, so that a failure
 * leaves everything as it was. */
static int profiles_move(struct core_index *ix, size_t at, const struct membership *before,
                         const struct membership *after)
{
    uint32_t was_in = before->care_profiles, now_in = after->care_profiles;
    uint64_t pf_before = pf_mask(was_in, before->funding), pf_after = pf_mask(now_in, after->funding);
    if (lists_reserve(ix->by_profile, PROFILE_BITS, was_in, now_in) != 0 ||
        lists_reserve(ix->by_profile_funding, PF_BITS * PF_BITS, pf_before, pf_after) != 0)
        return -1;
    for (int b = 0; b < PROFILE_BITS; b++)
        if ((((now_in & ~was_in) >> b) & 1) && lat_reserve(&ix->by_profile_lat[b]) != 0)
            return -1;
    /* By latitude a pool that stays in a profile but moves is taken out and put back. */
    bool moved = before->where.lat != after->where.lat || before->where.lon != after->where.lon;
    for (int b = 0; b < PROFILE_BITS; b++) {
        uint32_t bit = 1u << b;
        bool stays = (was_in & bit) && (now_in & bit);
        if ((was_in & bit) && (!stays || moved))
            lat_remove(&ix->by_profile_lat[b], &before->where, at);
        if ((now_in & bit) && (!stays || moved))
            lat_add(&ix->by_profile_lat[b], &after->where, at);
    }
    lists_move(ix->by_profile, PROFILE_BITS, was_in, now_in, at);
    lists_move(ix->by_profile_funding, PF_BITS * PF_BITS, pf_before, pf_after, at);
    return 0;
}

static void hot_from_meta(struct pool_hot *h, struct coords *c, const struct core_pool *p)
{
    const char *wmo = p->wmo_municipalities ? p->wmo_municipalities : "";
    bool many = strchr(wmo, ',') || strlen(wmo) > 8;
    c->lat = p->lat;
    c->lon = p->lon;
    h->as_of = (int64_t)p->as_of;
    h->id_key = pack8(p->id);
    h->wmo_only = many ? 0 : pack8(wmo);
    h->lists = (p->exclusions && *p->exclusions ? LIST_EXCLUSIONS : 0) |
               (many ? LIST_WMO_MANY : 0) |
               (p->arrival_days || p->nblocks ? LIST_ARRIVAL : 0);
    h->care_profiles = p->care_profiles;
    h->funding = (uint8_t)p->funding;
    h->min_nights = clamp16(p->min_nights);
    h->max_nights = clamp16(p->max_nights);
    h->lead_days = clamp16(p->lead_days);
    h->horizon_days = clamp16(p->horizon_days);
    h->kind = (uint8_t)p->kind;
    h->active = p->active;
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

int core_index_put_pool(struct core_index *ix, const struct core_pool *p)
{
    struct core_pool copy = *p;
    /* Formatted once here rather than on every search answer that shows the pool. */
    snprintf(copy.lat_text, sizeof copy.lat_text, "%.15g", p->lat);
    snprintf(copy.lon_text, sizeof copy.lon_text, "%.15g", p->lon);
    date_format_rfc3339(p->as_of, copy.as_of_text);
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
    uint64_t municipality = pack8(p->municipality);
    long at = find(ix, p->id);
    if (at >= 0) {
        struct core_pool *meta = ix->pools[at];
        uint64_t before = pack8(meta->municipality);
        bool moved = before != municipality;
        if (moved && muni_add(ix, municipality, (size_t)at) != 0) {
            meta_free_strings(&copy);
            return -1;
        }
        struct membership was = {meta->care_profiles, meta->funding, ix->coords[at]};
        struct membership now = {p->care_profiles, p->funding, {p->lat, p->lon}};
        if (profiles_move(ix, (size_t)at, &was, &now) != 0) {
            if (moved)
                muni_remove(ix, municipality, (size_t)at);
            meta_free_strings(&copy);
            return -1;
        }
        if (moved)
            muni_remove(ix, before, (size_t)at);
        copy.slot = meta->slot;
        copy.version = meta->version + 1;
        meta_free_strings(meta);
        *meta = copy;
        hot_from_meta(&ix->hot[at], &ix->coords[at], meta);
        return 0;
    }
    struct core_pool *meta = malloc(sizeof *meta);
    if (!meta || grow(ix) != 0 || muni_add(ix, municipality, ix->npools) != 0) {
        free(meta);
        meta_free_strings(&copy);
        return -1;
    }
    struct membership none = {0, 0, {p->lat, p->lon}};
    struct membership here = {p->care_profiles, p->funding, {p->lat, p->lon}};
    if (profiles_move(ix, ix->npools, &none, &here) != 0) {
        muni_remove(ix, municipality, ix->npools);
        free(meta);
        meta_free_strings(&copy);
        return -1;
    }
    copy.slot = (uint32_t)ix->npools;
    copy.version = 1;
    *meta = copy;
    ix->pools[ix->npools] = meta;
    hot_from_meta(&ix->hot[ix->npools], &ix->coords[ix->npools], meta);
    ix->npools++;
    table_insert(ix->table, ix->table_size, p->id, ix->npools);
    return 0;
}

const char *core_pool_access(const struct core_pool *p)
{
    if (p->kind == KIND_PLANNED && p->intake_required)
        return "intake_first";
    return p->kind == KIND_PLANNED && p->mode == MODE_APPROVAL ? "approval" : "direct";
}

const struct core_pool *core_index_pool(const struct core_index *ix, const char *pool_id)
{
    long at = find(ix, pool_id);
    return at >= 0 ? ix->pools[at] : NULL;
}

size_t core_index_pool_count(const struct core_index *ix) { return ix->npools; }
date_day core_index_first_day(const struct core_index *ix) { return ix->first_day; }
int core_index_ndays(const struct core_index *ix) { return ix->ndays; }

static int16_t *night_row(const struct core_index *ix, long off)
{
    return ix->rows[off];
}

int core_index_set_free(struct core_index *ix, const char *pool_id, date_day night, int n)
{
    long at = find(ix, pool_id);
    if (at < 0)
        return -1;
    long off = (long)night - ix->first_day;
    if (off >= 0 && off < ix->ndays)
        night_row(ix, off)[at] = clamp16(n < 0 ? 0 : n);
    return 0;
}

int core_index_free_on(const struct core_index *ix, const char *pool_id, date_day night)
{
    long at = find(ix, pool_id);
    long off = (long)night - ix->first_day;
    if (at < 0 || off < 0 || off >= ix->ndays)
        return 0;
    return night_row(ix, off)[at];
}

struct core_checksums {
    size_t n;                   /* pools summed, by position */
    long long sum[];
};

struct core_checksums *core_index_checksums(const struct core_index *ix, date_day first,
                                            int ndays)
{
    if (first != ix->first_day || ndays != ix->ndays)
        return NULL;
    struct core_checksums *c = calloc(1, sizeof *c + ix->npools * sizeof c->sum[0]);
    if (!c)
        return NULL;
    c->n = ix->npools;
    for (long off = 0; off < ndays; off++) {
        const int16_t *row = night_row(ix, off);
        for (size_t at = 0; at < c->n; at++)
            if (row[at] > 0)
                c->sum[at] += core_nights_term(off, row[at]);
    }
    return c;
}

int core_checksums_get(const struct core_checksums *c, const struct core_index *ix,
                       const char *pool_id, long long *sum)
{
    long at = find(ix, pool_id);
    if (at < 0 || (size_t)at >= c->n)
        return -1;
    *sum = c->sum[at];
    return 0;
}

void core_checksums_free(struct core_checksums *c) { free(c); }

/* ---- the rolling window ---- */

struct core_roll {
    date_day first_day;         /* the window's first night after the roll */
    date_day from;              /* the first night not covered before: rows[0] */
    int nrows;                  /* new rows, nights [from, first_day + ndays) */
    size_t cap;                 /* pools per row, as the index had when the roll began */
    int16_t **rows;
};

date_day core_index_today(const struct core_index *ix)
{
    return ix->first_day + CORE_INDEX_DAYS_BEFORE;
}

struct core_roll *core_index_roll_begin(const struct core_index *ix, date_day first_day)
{
    if (first_day <= ix->first_day || ix->ndays == 0)
        return NULL;
    struct core_roll *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    long shift = (long)first_day - ix->first_day;
    r->first_day = first_day;
    r->nrows = shift < ix->ndays ? (int)shift : ix->ndays;
    r->from = first_day + ix->ndays - r->nrows;
    r->cap = ix->cap;
    r->rows = calloc((size_t)r->nrows, sizeof *r->rows);
    for (int d = 0; r->rows && d < r->nrows; d++)
        if (!(r->rows[d] = calloc(r->cap + 1, sizeof **r->rows))) {
            core_roll_free(r);
            return NULL;
        }
    if (!r->rows) {
        free(r);
        return NULL;
    }
    return r;
}

void core_roll_range(const struct core_roll *r, date_day *from, date_day *to)
{
    *from = r->from;
    *to = r->from + r->nrows;
}

int core_roll_set_free(struct core_roll *r, const struct core_index *ix, const char *pool_id,
                       date_day night, int n)
{
    long at = find(ix, pool_id);
    if (at < 0)
        return -1;
    long off = (long)night - r->from;
    if (off >= 0 && off < r->nrows && (size_t)at < r->cap)
        r->rows[off][at] = clamp16(n < 0 ? 0 : n);
    return 0;
}

void core_roll_free(struct core_roll *r)
{
    if (!r)
        return;
    for (int d = 0; r->rows && d < r->nrows; d++)
        free(r->rows[d]);
    free(r->rows);
    free(r);
}

int core_index_roll_commit(struct core_index *ix, struct core_roll *r)
{
    /* Pools added since the roll began (a new pool's own load) make the index's rows wider
     * than the new ones: widen those first, so that nothing can fail after the first change.
     * The new pools' new nights stay 0 until their next change: their own load asked only
     * for the window of its time. */
    if (r->first_day <= ix->first_day)
        return -1;
    for (int d = 0; ix->cap > r->cap && d < r->nrows; d++) {
        int16_t *row = realloc(r->rows[d], ix->cap * sizeof *row);
        if (!row)
            return -1;
        memset(row + r->cap, 0, (ix->cap - r->cap) * sizeof *row);
        r->rows[d] = row;
    }
    r->cap = ix->cap > r->cap ? ix->cap : r->cap;
    int drop = r->nrows; /* as many rows leave at the front as come in at the end */
    for (int d = 0; ix->rows && d < drop; d++)
        free(ix->rows[d]);
    if (ix->rows) {
        memmove(ix->rows, ix->rows + drop, (size_t)(ix->ndays - drop) * sizeof *ix->rows);
        memcpy(ix->rows + (ix->ndays - drop), r->rows, (size_t)drop * sizeof *ix->rows);
    } else {
        /* No pool yet, so no rows: the new ones are not needed either. */
        for (int d = 0; d < drop; d++)
            free(r->rows[d]);
    }
    ix->first_day = r->first_day;
    free(r->rows);
    free(r);
    return 0;
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

/* A search prepared once for the scan: what every pool is compared with. */
struct scan {
    const struct core_search *q;
    uint64_t municipality;      /* 0: any */
    bool wmo;                   /* the funding asked is Wmo: contracts are checked */
    size_t home_len;
    uint64_t home;              /* pack8 of the guest's municipality, when it fits */
    int64_t fresh_since;        /* as_of before this is stale */
    bool read_lists;            /* the search asks for facilities or names needs */
    int any_care, any_funding;  /* 1 when the search does not filter on it */
    uint32_t funding_bit;
    /* The search's own filters again, so that gather's copy of the scan holds all that the
     * cheap filters compare (through q the compiler had to load them again for every pool,
     * the batch's stores might have changed them: some fifty instructions a pool). */
    uint32_t kinds, care_profile;
    int nights;
    double min_lat, max_lat, min_lon, max_lon; /* the radius's bounding box, when one */
    bool boxed;
};

static void scan_init(struct scan *s, const struct core_search *q)
{
    memset(s, 0, sizeof *s);
    s->q = q;
    s->municipality = q->municipality ? pack8(q->municipality) : 0;
    s->wmo = q->funding >= 0 && strcmp(core_funding_names[q->funding], "wmo") == 0;
    s->home_len = q->home_municipality ? strlen(q->home_municipality) : 0;
    s->home = s->home_len <= 8 ? pack8(q->home_municipality) : 0;
    s->fresh_since = (int64_t)q->now - (int64_t)q->stale_days * 86400;
    s->read_lists = (q->needs && *q->needs) || (q->facilities && *q->facilities);
    s->any_care = q->care_profile == 0;
    s->any_funding = q->funding < 0;
    s->funding_bit = q->funding >= 0 && q->funding < 32 ? 1u << q->funding : 0;
    s->kinds = q->kinds;
    s->care_profile = q->care_profile;
    s->nights = q->nights;
    if (q->has_point && q->radius_km > 0) {
        /* A degree of latitude is at least 110.5 km, a degree of longitude at least that
         * times the cosine of the box's highest latitude: a slightly larger box is fine,
         * the exact distance decides. Near a pole the box is the whole longitude range. */
        double dlat = q->radius_km / 110.5 + 1e-9;
        s->min_lat = q->lat - dlat;
        s->max_lat = q->lat + dlat;
        double far = fmax(fabs(s->min_lat), fabs(s->max_lat));
        double c = far < 89.0 ? cos(far * M_PI / 180.0) : 0;
        double dlon = c > 0 ? q->radius_km / (110.5 * c) + 1e-9 : 360.0;
        s->min_lon = q->lon - dlon;
        s->max_lon = q->lon + dlon;
        s->boxed = dlon < 180.0;
    }
}

/* Without branches: in a box around a point, whether the next pool is in it is a coin the
 * branch predictor cannot call. */
static inline __attribute__((always_inline)) int in_box(const struct scan *f,
                                                        const struct coords *c)
{
    return (c->lat >= f->min_lat) & (c->lat <= f->max_lat) & (c->lon >= f->min_lon) &
           (c->lon <= f->max_lon);
}

/* Filters on the packed fields: no pointer is followed, and no branch is taken: in a scan
 * over every pool, whether the next one serves the asked care profile or funding is a coin
 * the branch predictor cannot call. Inlined in each of gather's loops, where it is most of
 * the work (as a call it was a tenth of a search's time). */
static inline __attribute__((always_inline)) int hot_matches(const struct scan *f,
                                                             const struct pool_hot *h)
{
    int wmo_ok = (f->home_len != 0) &
                 (((h->lists & LIST_WMO_MANY) != 0) | ((f->home != 0) & (h->wmo_only == f->home)));
    return (int)h->active & (int)((f->kinds >> h->kind) & 1) &
           (f->any_care | ((h->care_profiles & f->care_profile) != 0)) &
           (f->any_funding | ((h->funding & f->funding_bit) != 0)) &
           (f->nights >= h->min_nights) & (f->nights <= h->max_nights) & ((int)!f->wmo | wmo_ok);
}

/* Filters that read the description's lists: only for pools the packed fields let through,
 * and only when the search or the pool has such a list. */
static bool lists_match(const struct scan *s, const struct pool_hot *h, const struct core_pool *p)
{
    const struct core_search *q = s->q;
    if (s->wmo && (h->lists & LIST_WMO_MANY) &&
        !csv_has(p->wmo_municipalities, q->home_municipality, s->home_len))
        return false;
    if (!s->read_lists)
        return true;
    if ((h->lists & LIST_EXCLUSIONS) && csv_match(p->exclusions, q->needs, true))
        return false;
    if (!csv_match(p->facilities, q->facilities, false))
        return false;
    return true;
}

/* Fewest free beds of pool `at` over [check_in, check_in + nights), or 0 when the stay breaks
 * the pool's lead time, horizon or arrival rules or leaves the indexed range, or as soon as it
 * is clear that the fewest is below `need` (the caller could not use fewer). */
static int min_free(const struct core_index *ix, size_t at, const struct pool_hot *h,
                    const struct core_search *q, date_day check_in, int need)
{
    if (check_in < q->today + h->lead_days || check_in + q->nights > q->today + h->horizon_days)
        return 0;
    /* The same rule as a booking's (core_stay_breaks), read from the description only for
     * the few pools that have arrival days or blocks. */
    if ((h->lists & LIST_ARRIVAL) && core_arrival_breaks(ix->pools[at], check_in, q->nights))
        return 0;
    long off = (long)check_in - ix->first_day;
    if (off < 0 || off + q->nights > ix->ndays)
        return 0;
    int16_t *const *row = ix->rows + off;
    int m = INT16_MAX;
    for (int i = 0; i < q->nights; i++) {
        int f = row[i][at];
        if (f < m)
            m = f;
        if (m < need)
            return 0;
    }
    return m;
}

/* The ranking's first keys packed into two integers when a hit is made, so that comparing
 * two hits (some ten times for each one kept) is a few integer compares: the days from the
 * asked date, then fresh before stale; after the distance, more free beds, then the earlier
 * date. The id settles what is left. */
static void hit_rank_keys(struct core_hit *h, date_day asked)
{
    uint32_t days = (uint32_t)labs((long)h->check_in - asked);
    h->rank_near = days << 1 | (h->stale ? 1u : 0u);
    /* free is at most a night's capacity, which the schema keeps at 500 or less. */
    h->rank_more = (uint64_t)(uint32_t)(INT16_MAX - h->free) << 32 |
                   (uint32_t)((int64_t)h->check_in - INT32_MIN);
}

static int hit_rank_cmp(const struct core_hit *a, const struct core_hit *b)
{
    if (a->rank_near != b->rank_near)
        return a->rank_near < b->rank_near ? -1 : 1;
    if (a->distance_km != b->distance_km)
        return a->distance_km < b->distance_km ? -1 : 1;
    if (a->rank_more != b->rank_more)
        return a->rank_more < b->rank_more ? -1 : 1;
    if (a->id_key != b->id_key)
        return a->id_key < b->id_key ? -1 : 1;
    return strcmp(a->pool->id, b->pool->id);
}

/* Keeps the best max hits in hits[0..*n) sorted. The place is found by halving (a hit that
 * enters goes after those that rank before or with it, as an insertion from the end would
 * put it), and the hits after it move down one. */
static void keep_best(struct core_hit *hits, size_t *n, size_t max, const struct core_hit *h)
{
    size_t count = *n;
    if (count == max && (max == 0 || hit_rank_cmp(h, &hits[max - 1]) >= 0))
        return;
    size_t kept = count == max ? max - 1 : count; /* the hits that stay */
    size_t lo = 0, hi = kept;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (hit_rank_cmp(h, &hits[mid]) < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    memmove(&hits[lo + 1], &hits[lo], (kept - lo) * sizeof *hits);
    hits[lo] = *h;
    if (count < max)
        *n = count + 1;
}

/* What a pool must reach to enter a full list of hits, whose worst is `worst` (NULL while
 * the list has room). The worst is a hit on some date; a pool whose every possible hit ranks
 * after it is passed over without reading its nights, and a pool that can only tie on date,
 * freshness and distance need not be read past the first night with fewer free beds. The
 * ranking itself stays keep_best's: this only skips work whose answer it would refuse. */
struct bar {
    bool asked_only;        /* only a hit on the asked date can rank before the worst */
    int need;               /* fewest free beds worth reading on for */
};

static bool pass_bar(const struct core_hit *worst, date_day asked, bool stale, double dist,
                     struct bar *b)
{
    b->asked_only = false;
    b->need = 1;
    if (!worst || worst->check_in != asked)
        return true;
    b->asked_only = true;
    if (stale != worst->stale)
        return !stale;
    if (dist != worst->distance_km)
        return dist < worst->distance_km;
    b->need = worst->free > 1 ? worst->free : 1;
    return true;
}

/* One pool that passed the packed filters: the rest of the filters, the nearest check-in that
 * fits, and its place in the hits. */
static void consider(const struct core_index *ix, const struct scan *s, size_t at,
                     struct core_hit *hits, size_t *n, size_t max)
{
    const struct core_search *q = s->q;
    const struct pool_hot *h = &ix->hot[at];
    const struct core_pool *p = ix->pools[at]; /* read below only when needed */
    double dist = -1;
    if (q->has_point) {
        dist = core_distance_km(q->lat, q->lon, ix->coords[at].lat, ix->coords[at].lon);
        if (q->radius_km > 0 && dist > q->radius_km)
            return;
    }
    bool stale = h->as_of < s->fresh_since;
    struct bar bar;
    if (!pass_bar(*n == max && max > 0 ? &hits[max - 1] : NULL, q->check_in, stale, dist, &bar))
        return;
    /* The asked date first, then +1, -1, +2, -2, ...: one hit per pool, the nearest. */
    int f = 0, shift = 0;
    int tries = bar.asked_only ? 1 : 2 * q->flex_days + 1;
    for (int k = 0; k < tries && f <= 0; k++) {
        shift = (k + 1) / 2 * (k % 2 ? 1 : -1);
        f = min_free(ix, at, h, q, q->check_in + shift, bar.need);
    }
    if (f <= 0)
        return;
    if (!lists_match(s, h, p))
        return;
    struct core_hit hit = {p, q->check_in + shift, f, dist, stale, h->id_key, 0, 0};
    hit_rank_keys(&hit, q->check_in);
    keep_best(hits, n, max, &hit);
}

/* Where a search looks: a band of one care profile's pools by latitude (around a point), a
 * municipality's or one care profile's pools (list), or every pool. Any pool left out would
 * fail hot_matches or in_box. */
struct walk {
    const struct lat_entry *band;   /* band[from..end) when not NULL */
    const struct pool_list *list;   /* list->at[from..end) when not NULL */
    size_t from, end;               /* else the pools from..end */
};

static void walk_init(const struct core_index *ix, const struct scan *s, struct walk *w)
{
    static const struct pool_list none;
    memset(w, 0, sizeof *w);
    uint32_t care = s->q->care_profile;
    bool one_profile = care != 0 && (care & (care - 1)) == 0;
    if (s->q->pool_id) {
        /* One pool: the walk is its place alone, and every filter still applies; the
         * municipality's, which the other walks apply by their lists, is checked here. */
        long at = find(ix, s->q->pool_id);
        bool in_muni = at >= 0 && (!s->municipality ||
                                   pack8(ix->pools[at]->municipality) == s->municipality);
        w->from = in_muni ? (size_t)at : 0;
        w->end = in_muni ? (size_t)at + 1 : 0;
    } else if (s->municipality) {
        const struct muni_pools *m = muni_find(ix, s->municipality);
        w->list = m ? &m->pools : &none;
        w->end = w->list->n;
    } else if (one_profile && s->boxed) {
        const struct lat_list *l = &ix->by_profile_lat[__builtin_ctz(care)];
        w->band = l->e;
        w->from = lat_lower(l, s->min_lat, 0);
        w->end = lat_lower(l, nextafter(s->max_lat, INFINITY), 0);
    } else if (one_profile && s->funding_bit && s->q->funding < PF_BITS &&
               __builtin_ctz(care) < PF_BITS) {
        w->list = &ix->by_profile_funding[__builtin_ctz(care) * PF_BITS + s->q->funding];
        w->end = w->list->n;
    } else if (one_profile) {
        w->list = &ix->by_profile[__builtin_ctz(care)];
        w->end = w->list->n;
    } else {
        w->end = ix->npools;
    }
}

/* The next pools of the walk that pass the cheap filters, up to `room` of them, into batch.
 * Branch-free within a pool, so the scan runs at memory speed; the caller then considers the
 * few that passed. */
static size_t gather(const struct core_index *ix, const struct scan *s, struct walk *w,
                     size_t *batch, size_t room)
{
    size_t nb = 0, i = w->from, end = w->end;
    const struct scan f = *s; /* in registers through the loops (see struct scan) */
    const struct pool_hot *hot = ix->hot;
    const size_t *list = w->list ? w->list->at : NULL;
    if (w->band) {
        /* Within the band's latitudes already: only the longitude is left of the box. */
        for (; i < end && nb < room; i++) {
            const struct lat_entry *e = &w->band[i];
            batch[nb] = e->at;
            nb += (size_t)((e->lon >= f.min_lon) & (e->lon <= f.max_lon) &
                           hot_matches(&f, &hot[e->at]));
        }
    } else if (s->boxed) {
        for (; i < end && nb < room; i++) {
            size_t at = list ? list[i] : i;
            batch[nb] = at;
            nb += (size_t)(in_box(&f, &ix->coords[at]) && hot_matches(&f, &hot[at]));
        }
    } else {
        for (; i < end && nb < room; i++) {
            size_t at = list ? list[i] : i;
            batch[nb] = at;
            nb += (size_t)hot_matches(&f, &hot[at]);
        }
    }
    w->from = i;
    return nb;
}

size_t core_search_run(const struct core_index *ix, const struct core_search *q,
                       struct core_hit *hits, size_t max)
{
    struct scan s;
    scan_init(&s, q);
    struct walk w;
    walk_init(ix, &s, &w);
    size_t n = 0;
    enum { BATCH = 256 };
    size_t batch[BATCH];
    while (w.from < w.end) {
        size_t nb = gather(ix, &s, &w, batch, BATCH);
        for (size_t i = 0; i < nb; i++)
            consider(ix, &s, batch[i], hits, &n, max);
    }
    return n;
}

/* ---- the earliest fitting dates ---------------------------------------------------------- */

static int early_cmp(const struct core_early *a, const struct core_early *b)
{
    if (a->check_in[0] != b->check_in[0])
        return a->check_in[0] < b->check_in[0] ? -1 : 1;
    if (a->stale != b->stale)
        return a->stale ? 1 : -1;
    if (a->distance_km != b->distance_km)
        return a->distance_km < b->distance_km ? -1 : 1;
    if (a->free[0] != b->free[0])
        return a->free[0] > b->free[0] ? -1 : 1;
    if (a->id_key != b->id_key)
        return a->id_key < b->id_key ? -1 : 1;
    return strcmp(a->pool->id, b->pool->id);
}

/* Keeps the best max pools in out[0..*n) sorted, as keep_best does for hits. */
static void early_keep(struct core_early *out, size_t *n, size_t max, const struct core_early *e)
{
    size_t i = *n;
    if (i == max) {
        if (max == 0 || early_cmp(e, &out[max - 1]) >= 0)
            return;
        i = max - 1;
    } else {
        (*n)++;
    }
    while (i > 0 && early_cmp(e, &out[i - 1]) < 0) {
        out[i] = out[i - 1];
        i--;
    }
    out[i] = *e;
}

/* The first check-ins of pool `at` in [first, last] (last: the latest check-in the window,
 * the pool's horizon and the index allow) on which every night has a free bed and the
 * arrival rules hold; none when the first of them would come after first_by. One pass over
 * the nights: `run` counts the free nights in a row up to the night looked at, so a check-in
 * fits when the run reaches the stay's length. */
static void early_dates(const struct core_index *ix, size_t at, const struct core_search *q,
                        date_day first, date_day last, date_day first_by, int per_pool,
                        struct core_early *e)
{
    const struct pool_hot *h = &ix->hot[at];
    int run = 0;
    e->ndates = 0;
    for (date_day night = first; night < last + q->nights && e->ndates < per_pool; night++) {
        run = ix->rows[night - ix->first_day][at] > 0 ? run + 1 : 0;
        if (run < q->nights)
            continue;
        date_day check_in = night - q->nights + 1;
        if (e->ndates == 0 && check_in > first_by)
            return;
        if ((h->lists & LIST_ARRIVAL) && core_arrival_breaks(ix->pools[at], check_in, q->nights))
            continue;
        int m = INT16_MAX;
        for (date_day n = check_in; n <= night; n++) {
            int f = ix->rows[n - ix->first_day][at];
            m = f < m ? f : m;
        }
        e->check_in[e->ndates] = check_in;
        e->free[e->ndates++] = m;
    }
}

/* One pool that passed the packed filters: its distance, the rest of the filters, its dates. */
static void early_consider(const struct core_index *ix, const struct scan *s, size_t at,
                           date_day latest_check_out, int per_pool, struct core_early *out,
                           size_t *n, size_t max)
{
    const struct core_search *q = s->q;
    const struct pool_hot *h = &ix->hot[at];
    struct core_early e = {.pool = ix->pools[at], .distance_km = -1, .id_key = h->id_key};
    if (q->has_point) {
        e.distance_km = core_distance_km(q->lat, q->lon, ix->coords[at].lat, ix->coords[at].lon);
        if (q->radius_km > 0 && e.distance_km > q->radius_km)
            return;
    }
    e.stale = h->as_of < s->fresh_since;
    if (!lists_match(s, h, e.pool))
        return;
    date_day first = q->check_in, last = latest_check_out - q->nights;
    if (first < q->today + h->lead_days)
        first = q->today + h->lead_days;
    if (first < ix->first_day)
        first = ix->first_day;
    if (last > q->today + h->horizon_days - q->nights)
        last = q->today + h->horizon_days - q->nights;
    if (last > ix->first_day + ix->ndays - q->nights)
        last = ix->first_day + ix->ndays - q->nights;
    /* With the list full, a pool whose first date comes after the worst one's cannot enter:
     * its nights are read no further than needed to learn that. */
    date_day first_by = *n == max && max > 0 ? out[max - 1].check_in[0] : last;
    if (first > last || first > first_by)
        return;
    early_dates(ix, at, q, first, last, first_by, per_pool, &e);
    if (e.ndates > 0)
        early_keep(out, n, max, &e);
}

size_t core_earliest_run(const struct core_index *ix, const struct core_search *q,
                         date_day latest_check_out, int per_pool, struct core_early *out,
                         size_t max)
{
    if (per_pool < 1 || q->nights < 1)
        return 0;
    if (per_pool > CORE_EARLIEST_MAX_DATES)
        per_pool = CORE_EARLIEST_MAX_DATES;
    struct scan s;
    scan_init(&s, q);
    struct walk w;
    walk_init(ix, &s, &w);
    size_t n = 0;
    enum { BATCH = 256 };
    size_t batch[BATCH];
    while (w.from < w.end) {
        size_t nb = gather(ix, &s, &w, batch, BATCH);
        for (size_t i = 0; i < nb; i++)
            early_consider(ix, &s, batch[i], latest_check_out, per_pool, out, &n, max);
    }
    return n;
}

static int cmp_id_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct strings among n pointers; sorts them in place. */
static size_t count_distinct(const char **ids, size_t n)
{
    qsort(ids, n, sizeof *ids, cmp_id_ptr);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || strcmp(ids[i - 1], ids[i]) != 0;
    return distinct;
}

int core_index_stale(const struct core_index *ix, time_t now, int stale_days,
                     struct core_stale *out)
{
    /* The same rule as a search's stale flag and the occupancy report's stale list. */
    int64_t fresh_since = (int64_t)now - (int64_t)stale_days * 86400;
    *out = (struct core_stale){0};
    for (size_t i = 0; i < ix->npools; i++)
        out->pools += ix->hot[i].active && ix->hot[i].as_of < fresh_since;
    if (out->pools == 0)
        return 0;
    const char **providers = malloc(out->pools * sizeof *providers);
    if (!providers)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < ix->npools; i++)
        if (ix->hot[i].active && ix->hot[i].as_of < fresh_since)
            providers[n++] = ix->pools[i]->provider_id;
    out->providers = count_distinct(providers, n);
    free(providers);
    return 0;
}
