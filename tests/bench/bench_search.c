/* bench_search: how the availability index's search time grows with the number of pools.
 * Builds synthetic indexes of 500, 5,000 and 50,000 pools (or the sizes given as arguments)
 * shaped like tests/bench/national.sql: pools spread over ~350 municipalities, 80% planned,
 * one or two care profiles, Wmo contracted with the own municipality for most planned pools,
 * 1-6 beds a night with random bookings, 1,100 indexed nights. Then runs the query mix of
 * search.lua against each (a municipality, a point with a radius and flex days, or the whole
 * country for one profile and funding) and prints microseconds per search. A benchmark: it
 * measures the core alone (no HTTP, no JSON) and has no pass/fail. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logeer/core.h"

#define NDAYS 1100
#define NMUNI 347
#define QUERIES 4000

/* xorshift64*: repeatable across runs and machines. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}
static double urand(void) { return (double)(rng() >> 11) / 9007199254740992.0; }
static int irand(int lo, int hi) { return lo + (int)(urand() * (hi - lo + 1)); }

struct muni {
    char code[8];
    double lat, lon;
};
static struct muni munis[NMUNI];

static void make_munis(void)
{
    for (int i = 0; i < NMUNI; i++) {
        snprintf(munis[i].code, sizeof munis[i].code, "GM%04d", i + 1);
        munis[i].lat = 50.8 + urand() * 2.7;
        munis[i].lon = 3.4 + urand() * 3.8;
    }
}

static const char *const facility_words[] = {"wheelchair", "dementia", "night_care",
                                             "partner_can_stay", "garden", "pets_allowed"};
static const char *const exclusion_words[] = {"aggression", "wandering_risk", "ventilation"};

static void pick_words(char *out, size_t size, const char *const *words, int n, double p)
{
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (urand() >= p)
            continue;
        if (out[0])
            strncat(out, ",", size - strlen(out) - 1);
        strncat(out, words[i], size - strlen(out) - 1);
    }
}

static struct core_index *make_index(int npools, date_day today, time_t now)
{
    struct core_index *ix = core_index_new(today - 30, NDAYS);
    if (!ix)
        return NULL;
    for (int i = 0; i < npools; i++) {
        const struct muni *m = &munis[irand(0, NMUNI - 1)];
        char facilities[128], exclusions[64], name[32], wmo_list[8] = "";
        pick_words(facilities, sizeof facilities, facility_words, 6, 0.4);
        pick_words(exclusions, sizeof exclusions, exclusion_words, 3, 0.12);
        snprintf(name, sizeof name, "Pool %d", i);
        struct core_pool p = {0};
        snprintf(p.id, sizeof p.id, "%08x-0000-4000-8000-%012d", (unsigned)i, i);
        snprintf(p.provider_id, sizeof p.provider_id, "%08x-1111-4000-8000-%012d",
                 (unsigned)(i % 1000), i % 1000);
        snprintf(p.location_id, sizeof p.location_id, "%08x-2222-4000-8000-%012d",
                 (unsigned)(i / 2), i / 2);
        memcpy(p.municipality, m->code, sizeof p.municipality);
        p.pool_name = name;
        p.location_name = name;
        p.provider_name = name;
        p.lat = m->lat + (urand() - 0.5) * 0.06;
        p.lon = m->lon + (urand() - 0.5) * 0.08;
        p.kind = urand() < 0.2 ? KIND_CRISIS : KIND_PLANNED;
        p.mode = p.kind == KIND_CRISIS || urand() < 0.5 ? MODE_INSTANT : MODE_APPROVAL;
        p.care_profiles = (1u << (i % 5)) | (urand() < 0.4 ? 1u << irand(0, 4) : 0);
        bool wmo = p.kind == KIND_PLANNED && urand() < 0.6;
        /* pgb always; wmo, wlz, zvw, private as in national.sql (bits over core_funding_names) */
        p.funding = 1u << 3 | (wmo ? 1u << 0 : 0) | (urand() < 0.5 ? 1u << 1 : 0) |
                    (p.kind == KIND_CRISIS ? 1u << 2 : 0) | (urand() < 0.3 ? 1u << 4 : 0);
        if (wmo)
            memcpy(wmo_list, m->code, sizeof wmo_list);
        p.wmo_municipalities = wmo_list;
        p.facilities = facilities;
        p.exclusions = exclusions;
        p.min_nights = p.kind == KIND_PLANNED && urand() < 0.2 ? 2 : 1;
        p.max_nights = p.kind == KIND_PLANNED ? 28 : 14;
        p.lead_days = p.kind == KIND_PLANNED ? irand(0, 3) : 0;
        p.horizon_days = 730;
        p.as_of = now - (time_t)(urand() * 10 * 86400);
        p.active = true;
        if (core_index_put_pool(ix, &p) != 0) {
            core_index_free(ix);
            return NULL;
        }
        int beds = irand(1, 6);
        for (int d = 0; d < 730; d++) {
            int booked = urand() < 0.3 ? irand(0, beds) : 0;
            core_index_set_free(ix, p.id, today + d, beds - booked);
        }
    }
    return ix;
}

static const char *const funding_pick[] = {"pgb", "wlz", "wmo", "private"};

enum query_shape { IN_MUNICIPALITY, AROUND_POINT, WHOLE_COUNTRY, SHAPES };
static const char *const shape_names[SHAPES] = {"municipality", "point", "country"};

/* One query of search.lua's mix; municipality strings point into munis. */
static enum query_shape make_query(struct core_search *q, date_day today, time_t now)
{
    memset(q, 0, sizeof *q);
    q->today = today;
    q->now = now;
    q->stale_days = 7;
    q->limit = 20;
    q->check_in = today + irand(0, 599);
    q->nights = irand(1, 14);
    q->funding = -1;
    q->kinds = urand() < 0.85 ? 1 << KIND_PLANNED : (1 << KIND_PLANNED) | (1 << KIND_CRISIS);
    const struct muni *m = &munis[irand(0, NMUNI - 1)];
    double r = urand();
    if (r < 0.45) {
        q->municipality = m->code;
        if (urand() < 0.5)
            q->care_profile = 1u << irand(0, 4);
        return IN_MUNICIPALITY;
    }
    if (r < 0.75) {
        q->has_point = true;
        q->lat = m->lat;
        q->lon = m->lon;
        q->radius_km = irand(10, 40);
        q->flex_days = irand(0, 3);
        q->care_profile = 1u << irand(0, 4);
        return AROUND_POINT;
    }
    q->care_profile = 1u << irand(0, 4);
    q->funding = core_name_index(core_funding_names, funding_pick[irand(0, 3)]);
    q->home_municipality = m->code;
    q->flex_days = irand(0, 7);
    return WHOLE_COUNTRY;
}

static double seconds(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench_size(int npools, date_day today, time_t now)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct core_index *ix = make_index(npools, today, now);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!ix) {
        fprintf(stderr, "bench_search: out of memory for %d pools\n", npools);
        return 1;
    }
    static struct core_search queries[QUERIES];
    static enum query_shape shapes[QUERIES];
    rng_state = 2463534242ull; /* the same queries for every size */
    for (int i = 0; i < QUERIES; i++)
        shapes[i] = make_query(&queries[i], today, now);
    double shape_us[SHAPES] = {0};
    int shape_n[SHAPES] = {0};

    static struct core_hit hits[100];
    static double per[QUERIES];
    long total_hits = 0;
    /* One pass to warm the caches, then the measured pass, one clock reading per query. */
    for (int i = 0; i < QUERIES; i++)
        total_hits += (long)core_search_run(ix, &queries[i], hits, 20);
    total_hits = 0;
    struct timespec a, b;
    double sum = 0;
    for (int i = 0; i < QUERIES; i++) {
        clock_gettime(CLOCK_MONOTONIC, &a);
        total_hits += (long)core_search_run(ix, &queries[i], hits, 20);
        clock_gettime(CLOCK_MONOTONIC, &b);
        per[i] = seconds(&a, &b) * 1e6;
        sum += per[i];
        shape_us[shapes[i]] += per[i];
        shape_n[shapes[i]]++;
    }
    qsort(per, QUERIES, sizeof per[0], cmp_double);
    printf("BENCH search_core pools=%d build_s=%.2f queries=%d mean_us=%.1f p50_us=%.1f "
           "p99_us=%.1f max_us=%.1f searches_per_s=%.0f hits=%ld\n",
           npools, seconds(&t0, &t1), QUERIES, sum / QUERIES, per[QUERIES / 2],
           per[QUERIES * 99 / 100], per[QUERIES - 1], QUERIES / (sum / 1e6), total_hits);
    printf("      mean us by shape:");
    for (int k = 0; k < SHAPES; k++)
        printf(" %s=%.1f (%d)", shape_names[k], shape_n[k] ? shape_us[k] / shape_n[k] : 0.0,
               shape_n[k]);
    printf("\n");
    core_index_free(ix);
    return 0;
}

int main(int argc, char **argv)
{
    make_munis();
    time_t now = time(NULL);
    date_day today = date_today_local();
    int sizes[] = {500, 5000, 50000};
    int rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            rc |= bench_size(atoi(argv[i]), today, now);
    } else {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            rc |= bench_size(sizes[i], today, now);
    }
    return rc;
}
