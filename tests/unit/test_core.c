/* Proves the reservation core's rules (lifecycle, roles, counter deltas) and the availability
 * index's filters and ranking, without a socket or a database. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "logeer/auth.h"
#include "logeer/core.h"

static void test_lifecycle_transitions_and_counter_deltas(void)
{
    struct core_transition t;
    date_day today = date_from_ymd(2026, 12, 1);
    CHECK(core_decide(ACT_CONFIRM, ROLE_CAREGIVER, STAY_HELD, MODE_INSTANT, today + 3, today, &t) == CORE_OK);
    CHECK(t.to == STAY_CONFIRMED && t.held_delta == -1 && t.booked_delta == 1);
    CHECK(core_decide(ACT_ACCEPT, ROLE_PROVIDER, STAY_REQUESTED, MODE_APPROVAL, today + 3, today, &t) == CORE_OK);
    CHECK(t.to == STAY_CONFIRMED && t.held_delta == -1 && t.booked_delta == 1);
    CHECK(core_decide(ACT_DECLINE, ROLE_PROVIDER, STAY_REQUESTED, MODE_APPROVAL, today + 3, today, &t) == CORE_OK);
    CHECK(t.to == STAY_DECLINED && t.held_delta == -1 && t.booked_delta == 0 && t.reason_required);
    CHECK(core_decide(ACT_CANCEL, ROLE_CAREGIVER, STAY_CONFIRMED, MODE_INSTANT, today + 3, today, &t) == CORE_OK);
    CHECK(t.to == STAY_CANCELLED && t.booked_delta == -1 && !t.reason_required);
    CHECK(core_decide(ACT_CANCEL, ROLE_PROVIDER, STAY_CONFIRMED, MODE_INSTANT, today + 3, today, &t) == CORE_OK);
    CHECK(t.reason_required);
    CHECK(core_decide(ACT_CANCEL, ROLE_COORDINATOR, STAY_CONFIRMED, MODE_INSTANT, today + 3, today, &t) == CORE_OK);
    CHECK(t.reason_required);
    CHECK(core_decide(ACT_CANCEL, ROLE_PROVIDER, STAY_WAITLISTED, MODE_INSTANT, today + 3, today, &t) == CORE_BAD_STATUS);
    CHECK(core_decide(ACT_CANCEL, ROLE_CAREGIVER, STAY_WAITLISTED, MODE_INSTANT, today + 3, today, &t) == CORE_OK);
    CHECK(t.held_delta == 0 && t.booked_delta == 0);
    CHECK(core_decide(ACT_CHECK_IN, ROLE_PROVIDER, STAY_CONFIRMED, MODE_INSTANT, today, today, &t) == CORE_OK);
    CHECK(t.to == STAY_CHECKED_IN && t.held_delta == 0 && t.booked_delta == 0);
    CHECK(core_decide(ACT_CHECK_OUT, ROLE_PROVIDER, STAY_CHECKED_IN, MODE_INSTANT, today, today, &t) == CORE_OK);
    CHECK(t.to == STAY_COMPLETED && t.booked_delta == 0);
    CHECK(core_decide(ACT_NO_SHOW, ROLE_PROVIDER, STAY_CONFIRMED, MODE_INSTANT, today, today, &t) == CORE_OK);
    CHECK(t.to == STAY_NO_SHOW && t.booked_delta == -1);
    CHECK(core_decide(ACT_EXPIRE, 0, STAY_HELD, MODE_INSTANT, today, today, &t) == CORE_OK);
    CHECK(t.to == STAY_EXPIRED && t.held_delta == -1);
}

static void test_illegal_transitions_are_refused(void)
{
    struct core_transition t;
    date_day today = date_from_ymd(2026, 12, 1);
    CHECK(core_decide(ACT_CONFIRM, ROLE_CAREGIVER, STAY_CONFIRMED, MODE_INSTANT, today, today, &t) == CORE_BAD_STATUS);
    CHECK(core_decide(ACT_CONFIRM, ROLE_CAREGIVER, STAY_EXPIRED, MODE_INSTANT, today, today, &t) == CORE_BAD_STATUS);
    CHECK(core_decide(ACT_CANCEL, ROLE_CAREGIVER, STAY_COMPLETED, MODE_INSTANT, today, today, &t) == CORE_BAD_STATUS);
    CHECK(core_decide(ACT_CHECK_OUT, ROLE_PROVIDER, STAY_CONFIRMED, MODE_INSTANT, today, today, &t) == CORE_BAD_STATUS);
    /* Roles that may never do an action. */
    CHECK(core_decide(ACT_ACCEPT, ROLE_CAREGIVER, STAY_REQUESTED, MODE_APPROVAL, today, today, &t) == CORE_FORBIDDEN_ROLE);
    CHECK(core_decide(ACT_CHECK_IN, ROLE_CAREGIVER, STAY_CONFIRMED, MODE_INSTANT, today, today, &t) == CORE_FORBIDDEN_ROLE);
    CHECK(core_decide(ACT_EXPIRE, ROLE_COORDINATOR, STAY_HELD, MODE_INSTANT, today, today, &t) == CORE_FORBIDDEN_ROLE);
    CHECK(core_decide(ACT_CONFIRM, ROLE_PROVIDER, STAY_HELD, MODE_INSTANT, today, today, &t) == CORE_FORBIDDEN_ROLE);
    /* Nobody checks in, or is marked a no-show, before the stay starts. */
    CHECK(core_decide(ACT_CHECK_IN, ROLE_PROVIDER, STAY_CONFIRMED, MODE_INSTANT, today + 1, today, &t) == CORE_TOO_EARLY);
    CHECK(core_decide(ACT_NO_SHOW, ROLE_PROVIDER, STAY_CONFIRMED, MODE_INSTANT, today + 1, today, &t) == CORE_TOO_EARLY);
}

static void test_every_final_status_has_no_way_out(void)
{
    struct core_transition t;
    for (int s = 0; s < STAY_STATUS_COUNT; s++) {
        if (!core_status_final(s))
            continue;
        for (int a = 0; a < ACT_COUNT; a++)
            for (unsigned role = 0; role <= ROLE_ADMIN; role = role ? role << 1 : 1)
                CHECK(core_decide(a, role, s, MODE_INSTANT, 0, 100, &t) != CORE_OK);
    }
}

static void test_name_tables(void)
{
    CHECK(core_name_index(core_status_names, "no_show") == STAY_NO_SHOW);
    CHECK(core_name_index(core_action_names, "check-in") == ACT_CHECK_IN);
    CHECK(core_name_index(core_kind_names, "crisis") == KIND_CRISIS);
    CHECK(core_bits_from_csv(core_care_profile_names, "dementia,somatic") == 3);
    CHECK(core_bits_from_csv(core_care_profile_names, "dementia,,somatic") == -1);
    CHECK(core_bits_from_csv(core_care_profile_names, "alien") == -1);
}

static struct core_pool pool(const char *id, enum pool_kind kind, const char *gm, double lat,
                             double lon)
{
    struct core_pool p = {0};
    snprintf(p.id, sizeof p.id, "%s", id);
    snprintf(p.provider_id, sizeof p.provider_id, "prov-%s", id);
    snprintf(p.municipality, sizeof p.municipality, "%s", gm);
    p.pool_name = (char *)"Kamers";
    p.location_name = (char *)"Logeerhuis";
    p.provider_name = (char *)"Zorg";
    p.lat = lat, p.lon = lon;
    p.kind = kind;
    p.care_profiles = 1u << 1; /* dementia */
    p.funding = 1u << 0 | 1u << 2; /* wmo, zvw */
    p.wmo_municipalities = (char *)"GM0106,GM1680";
    p.facilities = (char *)"dementia,wheelchair";
    p.exclusions = (char *)"aggression";
    p.min_nights = 1, p.max_nights = 14, p.horizon_days = 365;
    p.as_of = 1000000;
    p.active = true;
    return p;
}

static void test_index_search_filters_and_ranks(void)
{
    date_day today = date_from_ymd(2026, 12, 1);
    struct core_index *ix = core_index_new(today - 7, 400);
    struct core_pool a = pool("a", KIND_PLANNED, "GM0106", 52.99, 6.56); /* Assen */
    struct core_pool b = pool("b", KIND_PLANNED, "GM0114", 52.78, 6.90); /* Emmen */
    struct core_pool c = pool("c", KIND_CRISIS, "GM0106", 52.99, 6.57);
    struct core_pool d = pool("d", KIND_PLANNED, "GM0106", 53.00, 6.55);
    d.as_of = 0; /* stale */
    CHECK(core_index_put_pool(ix, &a) == 0 && core_index_put_pool(ix, &b) == 0);
    CHECK(core_index_put_pool(ix, &c) == 0 && core_index_put_pool(ix, &d) == 0);
    CHECK(core_index_pool_count(ix) == 4);
    for (date_day n = today; n < today + 60; n++) {
        core_index_set_free(ix, "a", n, 2);
        core_index_set_free(ix, "b", n, 1);
        core_index_set_free(ix, "c", n, 3);
        core_index_set_free(ix, "d", n, 5);
    }
    core_index_set_free(ix, "a", today + 11, 0); /* a is full on one night */

    struct core_search q = {.check_in = today + 10, .nights = 3, .today = today,
                            .kinds = 1 << KIND_PLANNED, .funding = -1, .stale_days = 7,
                            .now = 1000000 + 3600, .limit = 10, .has_point = true,
                            .lat = 52.99, .lon = 6.56};
    struct core_hit hits[10];
    size_t n = core_search_run(ix, &q, hits, 10);
    /* a is full on one night, c is crisis: b (fresh) ranks before d (stale, though nearer). */
    CHECK(n == 2);
    CHECK(n == 2 && strcmp(hits[0].pool->id, "b") == 0 && !hits[0].stale);
    CHECK(n == 2 && strcmp(hits[1].pool->id, "d") == 0 && hits[1].stale);

    /* Flex: a is full on night 11, so 10..12, 11..13 (+1) and 9..11 (-1) do not fit; +2
     * (12..14) is tried before -2 and fits. */
    q.flex_days = 2;
    q.municipality = "GM0106";
    n = core_search_run(ix, &q, hits, 10);
    CHECK(n == 2 && strcmp(hits[0].pool->id, "d") == 0 && hits[0].check_in == q.check_in);
    CHECK(n == 2 && strcmp(hits[1].pool->id, "a") == 0 && hits[1].check_in == q.check_in + 2);

    /* Crisis only for those allowed; wmo only where the home municipality is contracted. */
    q.flex_days = 0;
    q.kinds = 1 << KIND_CRISIS;
    n = core_search_run(ix, &q, hits, 10);
    CHECK(n == 1 && strcmp(hits[0].pool->id, "c") == 0);
    q.kinds = 1 << KIND_PLANNED;
    q.municipality = NULL;
    q.funding = 0;
    q.home_municipality = "GM0114";
    CHECK(core_search_run(ix, &q, hits, 10) == 0);
    q.home_municipality = "GM1680";
    CHECK(core_search_run(ix, &q, hits, 10) == 2);
    /* Guest needs that a location excludes, facilities it lacks, radius, lead time. */
    q.funding = -1;
    q.needs = "aggression";
    CHECK(core_search_run(ix, &q, hits, 10) == 0);
    q.needs = "wandering_risk";
    q.facilities = "wheelchair,dementia";
    CHECK(core_search_run(ix, &q, hits, 10) == 2);
    q.facilities = "night_care";
    CHECK(core_search_run(ix, &q, hits, 10) == 0);
    q.facilities = NULL;
    q.radius_km = 5;
    n = core_search_run(ix, &q, hits, 10);
    CHECK(n == 1 && strcmp(hits[0].pool->id, "d") == 0);
    q.radius_km = 0;
    q.check_in = today - 1; /* in the past */
    CHECK(core_search_run(ix, &q, hits, 10) == 0);
    q.check_in = today + 10;
    q.nights = 20; /* over max_nights */
    CHECK(core_search_run(ix, &q, hits, 10) == 0);
    /* Limit keeps the best. */
    q.nights = 3;
    n = core_search_run(ix, &q, hits, 1);
    CHECK(n == 1 && strcmp(hits[0].pool->id, "b") == 0);
    /* Replacing a pool keeps its nights. */
    b.kind = KIND_CRISIS;
    CHECK(core_index_put_pool(ix, &b) == 0);
    CHECK(core_index_pool_count(ix) == 4);
    CHECK(core_index_free_on(ix, "b", today + 10) == 1);
    CHECK(core_index_pool(ix, "b")->kind == KIND_CRISIS);
    CHECK(core_index_pool(ix, "zz") == NULL);
    core_index_free(ix);
}

static void test_index_grows_to_many_pools(void)
{
    struct core_index *ix = core_index_new(0, 30);
    char id[40];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "pool-%d", i);
        struct core_pool p = pool(id, KIND_PLANNED, "GM0106", 52.9, 6.5);
        CHECK(core_index_put_pool(ix, &p) == 0);
        core_index_set_free(ix, id, 5, i % 3);
    }
    CHECK(core_index_pool_count(ix) == 5000);
    CHECK(core_index_free_on(ix, "pool-4999", 5) == 4999 % 3);
    CHECK(core_index_free_on(ix, "pool-4999", 99) == 0);
    /* The nights of the first pools survived every regrowth of the night rows. */
    CHECK(core_index_free_on(ix, "pool-1", 5) == 1 && core_index_free_on(ix, "pool-2", 5) == 2);
    CHECK(core_index_free_on(ix, "pool-100", 5) == 100 % 3);
    CHECK(core_index_free_on(ix, "pool-1", 4) == 0);
    core_index_free(ix);
}

/* The periodic re-read's checksum: the sum of the terms of the nights with free beds, moved by
 * any one night's change, even by changes whose plain sums cancel; asked for another window
 * (the index rolled meanwhile) or an unknown pool, it says so. */
static int checksum(const struct core_index *ix, const char *id, long long *sum)
{
    struct core_checksums *c = core_index_checksums(ix, 100, 30);
    int rc = c ? core_checksums_get(c, ix, id, sum) : -2;
    core_checksums_free(c);
    return rc;
}

static void test_index_nights_checksum(void)
{
    struct core_index *ix = core_index_new(100, 30);
    struct core_pool p = pool("c", KIND_PLANNED, "GM0106", 52.9, 6.5);
    CHECK(core_index_put_pool(ix, &p) == 0);
    long long sum = -1, before;
    CHECK(checksum(ix, "c", &sum) == 0 && sum == 0);
    core_index_set_free(ix, "c", 103, 2);
    core_index_set_free(ix, "c", 104, 2);
    core_index_set_free(ix, "c", 105, 2);
    CHECK(checksum(ix, "c", &sum) == 0);
    CHECK(sum == core_nights_term(3, 2) + core_nights_term(4, 2) + core_nights_term(5, 2));
    before = sum;
    /* +1, -2, +1 on three nights in a row: the nights' own sums (offset and free) stay. */
    core_index_set_free(ix, "c", 103, 3);
    core_index_set_free(ix, "c", 104, 0);
    core_index_set_free(ix, "c", 105, 3);
    CHECK(checksum(ix, "c", &sum) == 0 && sum != before);
    core_index_set_free(ix, "c", 104, 2);
    core_index_set_free(ix, "c", 103, 2);
    core_index_set_free(ix, "c", 105, 2);
    CHECK(checksum(ix, "c", &sum) == 0 && sum == before);
    for (int f = 0; f <= 500; f++) /* one night's every value gives its own sum */
        CHECK(f == 2 || core_nights_term(29, f) != core_nights_term(29, 2));
    CHECK(core_nights_term(1099, 500) < 2147483647LL);
    CHECK(core_index_checksums(ix, 101, 30) == NULL);
    CHECK(checksum(ix, "nope", &sum) == -1);
    core_index_free(ix);
}

/* The window rolls: nights before the new first day are gone, the nights in between keep their
 * values, the new nights come from the roll (0 where it set none), searches on the new nights
 * find what the roll brought, and a pool added while a roll was on its way keeps its place. */
static void test_index_window_rolls_without_losing_or_inventing_nights(void)
{
    date_day today = date_from_ymd(2026, 12, 1);
    struct core_index *ix = core_index_new(today - CORE_INDEX_DAYS_BEFORE, 20);
    CHECK(core_index_today(ix) == today);
    struct core_pool a = pool("a", KIND_PLANNED, "GM0106", 52.99, 6.56);
    a.horizon_days = 40;
    CHECK(core_index_put_pool(ix, &a) == 0);
    for (int d = -1; d < 19; d++)
        core_index_set_free(ix, "a", today + d, 10 + d);
    CHECK(core_index_roll_begin(ix, today - CORE_INDEX_DAYS_BEFORE) == NULL);

    /* Three days on. */
    struct core_roll *r = core_index_roll_begin(ix, today + 2);
    CHECK(r != NULL);
    date_day from, to;
    core_roll_range(r, &from, &to);
    CHECK(from == today + 19 && to == today + 22);
    CHECK(core_roll_set_free(r, ix, "a", today + 19, 7) == 0);
    CHECK(core_roll_set_free(r, ix, "a", today + 21, 5) == 0);
    CHECK(core_roll_set_free(r, ix, "a", today + 10, 99) == 0); /* not a new night: ignored */
    CHECK(core_roll_set_free(r, ix, "nope", today + 20, 1) == -1);
    /* A pool that comes in before the swap widens the rows; it keeps its own nights. */
    struct core_pool b = pool("b", KIND_PLANNED, "GM0106", 52.99, 6.56);
    CHECK(core_index_put_pool(ix, &b) == 0);
    core_index_set_free(ix, "b", today + 5, 3);
    /* Until the swap, everything is as before. */
    CHECK(core_index_first_day(ix) == today - 1 && core_index_free_on(ix, "a", today + 19) == 0);
    CHECK(core_index_roll_commit(ix, r) == 0);
    CHECK(core_index_first_day(ix) == today + 2 && core_index_ndays(ix) == 20);
    CHECK(core_index_today(ix) == today + 3);
    CHECK(core_index_free_on(ix, "a", today + 1) == 0);      /* dropped */
    CHECK(core_index_free_on(ix, "a", today + 2) == 12);     /* kept, first night */
    CHECK(core_index_free_on(ix, "a", today + 10) == 20);    /* kept, untouched by the roll */
    CHECK(core_index_free_on(ix, "a", today + 18) == 28);    /* kept, last old night */
    CHECK(core_index_free_on(ix, "a", today + 19) == 7);     /* new */
    CHECK(core_index_free_on(ix, "a", today + 20) == 0);     /* new, nothing set */
    CHECK(core_index_free_on(ix, "a", today + 21) == 5);     /* new, last night */
    CHECK(core_index_free_on(ix, "a", today + 22) == 0);     /* beyond the window */
    CHECK(core_index_free_on(ix, "b", today + 5) == 3 && core_index_free_on(ix, "b", today + 19) == 0);
    core_index_set_free(ix, "b", today + 21, 2);
    CHECK(core_index_free_on(ix, "b", today + 21) == 2 && core_index_free_on(ix, "a", today + 21) == 5);

    /* A search for the new last night finds it with the fewest free beds of its nights. */
    struct core_search q = {.check_in = today + 21, .nights = 1, .today = core_index_today(ix),
                            .kinds = 1 << KIND_PLANNED, .funding = -1, .stale_days = 0,
                            .now = 1000000, .limit = 5};
    struct core_hit hits[5];
    CHECK(core_search_run(ix, &q, hits, 5) == 2);
    CHECK(hits[0].free == 5 && hits[1].free == 2);
    q.check_in = today + 18, q.nights = 3;
    CHECK(core_search_run(ix, &q, hits, 5) == 0); /* pool a: 28, 7, 0 free: the middle night is full */
    q.check_in = today + 19, q.nights = 1;
    CHECK(core_search_run(ix, &q, hits, 5) == 1 && hits[0].free == 7);

    /* A jump past the whole window: every night is new. */
    r = core_index_roll_begin(ix, today + 100);
    core_roll_range(r, &from, &to);
    CHECK(from == today + 100 && to == today + 120);
    core_roll_set_free(r, ix, "a", today + 100, 4);
    CHECK(core_index_roll_commit(ix, r) == 0);
    CHECK(core_index_free_on(ix, "a", today + 100) == 4 && core_index_free_on(ix, "a", today + 101) == 0);
    CHECK(core_index_free_on(ix, "a", today + 21) == 0);
    /* A roll that the window has overtaken is refused and can be freed. */
    r = core_index_roll_begin(ix, today + 101);
    struct core_roll *late = core_index_roll_begin(ix, today + 101);
    CHECK(core_index_roll_commit(ix, r) == 0);
    CHECK(core_index_roll_commit(ix, late) == -1);
    core_roll_free(late);
    core_index_free(ix);
}

/* A pool 'km' kilometres from (lat, lon) at bearing north (0) or east (1). */
static struct core_pool pool_at(const char *id, double lat, double lon, double km, int east)
{
    double dlat = east ? 0 : km / 111.195;
    double dlon = east ? km / (111.195 * cos(lat * M_PI / 180.0)) : 0;
    return pool(id, KIND_PLANNED, "GM0106", lat + dlat, lon + dlon);
}

static void test_index_municipality_moves_radius_edges_and_ties(void)
{
    date_day today = date_from_ymd(2026, 12, 1);
    struct core_index *ix = core_index_new(today, 100);
    struct core_pool m = pool("mover", KIND_PLANNED, "GM0106", 52.99, 6.56);
    struct core_pool stay = pool("stayer", KIND_PLANNED, "GM0106", 52.99, 6.56);
    CHECK(core_index_put_pool(ix, &m) == 0 && core_index_put_pool(ix, &stay) == 0);
    core_index_set_free(ix, "mover", today + 5, 1);
    core_index_set_free(ix, "stayer", today + 5, 1);
    struct core_search q = {.check_in = today + 5, .nights = 1, .today = today,
                            .kinds = 1 << KIND_PLANNED, .funding = -1, .stale_days = 7,
                            .now = 1000000, .limit = 10, .municipality = "GM0106"};
    struct core_hit hits[10];
    CHECK(core_search_run(ix, &q, hits, 10) == 2);
    /* The location moved to Emmen: it leaves Assen's list and joins Emmen's. */
    snprintf(m.municipality, sizeof m.municipality, "GM0114");
    CHECK(core_index_put_pool(ix, &m) == 0);
    size_t n = core_search_run(ix, &q, hits, 10);
    CHECK(n == 1 && strcmp(hits[0].pool->id, "stayer") == 0);
    q.municipality = "GM0114";
    n = core_search_run(ix, &q, hits, 10);
    CHECK(n == 1 && strcmp(hits[0].pool->id, "mover") == 0);
    CHECK(n == 1 && hits[0].free == 1);
    q.municipality = "GM9999";
    CHECK(core_search_run(ix, &q, hits, 10) == 0);
    q.municipality = "GM01060"; /* longer than any code: matches nothing */
    CHECK(core_search_run(ix, &q, hits, 10) == 0);
    core_index_free(ix);

    /* Radius edges, north and east, at Drenthe's latitude: 9.9 km in, 10.1 km out. */
    ix = core_index_new(today, 100);
    const double lat = 52.99, lon = 6.56;
    struct core_pool ring[] = {
        pool_at("n-in", lat, lon, 9.9, 0), pool_at("n-out", lat, lon, 10.1, 0),
        pool_at("e-in", lat, lon, 9.9, 1), pool_at("e-out", lat, lon, 10.1, 1),
        pool_at("s-in", lat, lon, -9.9, 0), pool_at("w-out", lat, lon, -10.1, 1),
    };
    for (size_t i = 0; i < sizeof ring / sizeof ring[0]; i++) {
        CHECK(core_index_put_pool(ix, &ring[i]) == 0);
        core_index_set_free(ix, ring[i].id, today + 5, 2);
    }
    q = (struct core_search){.check_in = today + 5, .nights = 1, .today = today,
                             .kinds = 1 << KIND_PLANNED, .funding = -1, .stale_days = 7,
                             .now = 1000000, .limit = 10, .has_point = true, .lat = lat,
                             .lon = lon, .radius_km = 10};
    n = core_search_run(ix, &q, hits, 10);
    CHECK(n == 3);
    for (size_t i = 0; i < n; i++)
        CHECK(strstr(hits[i].pool->id, "-in") != NULL && hits[i].distance_km <= 10);
    /* The shown coordinates and as_of are kept as text. */
    CHECK_STR(core_index_pool(ix, "n-in")->as_of_text, "1970-01-12T13:46:40Z");
    CHECK(fabs(strtod(core_index_pool(ix, "e-in")->lon_text, NULL) - ring[2].lon) < 1e-12);
    core_index_free(ix);

    /* Equal in everything but the id, and the ids share their first 8 bytes. */
    ix = core_index_new(today, 100);
    const char *ids[] = {"samepref-c", "samepref-a", "samepref-b", "samepre"};
    for (int i = 0; i < 4; i++) {
        struct core_pool t = pool(ids[i], KIND_PLANNED, "GM0106", lat, lon);
        CHECK(core_index_put_pool(ix, &t) == 0);
        core_index_set_free(ix, ids[i], today + 5, 1);
    }
    q = (struct core_search){.check_in = today + 5, .nights = 1, .today = today,
                             .kinds = 1 << KIND_PLANNED, .funding = -1, .stale_days = 7,
                             .now = 1000000, .limit = 10};
    n = core_search_run(ix, &q, hits, 10);
    CHECK(n == 4);
    CHECK(n == 4 && strcmp(hits[0].pool->id, "samepre") == 0 &&
          strcmp(hits[1].pool->id, "samepref-a") == 0 &&
          strcmp(hits[2].pool->id, "samepref-b") == 0 &&
          strcmp(hits[3].pool->id, "samepref-c") == 0);
    core_index_free(ix);
}

/* A search for one care profile visits only that profile's pools (the index keeps a list per
 * profile). Checked against the same pools without the list: an index holding only the pools
 * that serve the profile, searched for any profile, must give the same hits in the same order,
 * also after pools changed their profiles (and so moved between lists) and their places. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return (unsigned)((rng_state * 2685821657736338717ull) >> 33) % n;
}

static void check_same_hits(const struct core_index *all, const struct core_index *only,
                            struct core_search q)
{
    struct core_hit a[8], b[8];
    size_t na = core_search_run(all, &q, a, 8);
    q.care_profile = 0;
    size_t nb = core_search_run(only, &q, b, 8);
    CHECK(na == nb);
    for (size_t i = 0; i < na && i < nb; i++)
        CHECK(strcmp(a[i].pool->id, b[i].pool->id) == 0 && a[i].check_in == b[i].check_in &&
              a[i].free == b[i].free);
}

static void test_index_care_profile_lists_follow_changes(void)
{
    date_day today = date_from_ymd(2026, 12, 1);
    enum { NPOOLS = 300, NPROFILES = 5 };
    struct core_pool pools[NPOOLS];
    char ids[NPOOLS][16];
    const char *const gms[] = {"GM0106", "GM0114", "GM0118"};
    struct core_index *all = core_index_new(today, 60);
    for (int i = 0; i < NPOOLS; i++) {
        snprintf(ids[i], sizeof ids[i], "p%03d", i);
        pools[i] = pool(ids[i], KIND_PLANNED, gms[rnd(3)], 52.7 + rnd(60) / 100.0,
                        6.3 + rnd(80) / 100.0);
        pools[i].care_profiles = 1u << rnd(NPROFILES) | (rnd(3) == 0 ? 1u << rnd(NPROFILES) : 0);
        pools[i].funding = 1u << 3 | (unsigned)rnd(32); /* pgb and some of the five routes */
        CHECK(core_index_put_pool(all, &pools[i]) == 0);
    }
    for (int round = 0; round < 3; round++) {
        if (round > 0) {
            /* A third of the pools change their profiles, some move to another municipality;
             * a fifth move to another place (the lists by latitude must follow), some of
             * those keeping their profiles or their latitude; a seventh change their funding
             * routes only (the lists by profile and route must follow). */
            for (int i = 0; i < NPOOLS; i += 3) {
                pools[i].care_profiles = 1u << rnd(NPROFILES);
                if (i % 2)
                    pools[i].funding = (unsigned)rnd(32);
                snprintf(pools[i].municipality, sizeof pools[i].municipality, "%s", gms[rnd(3)]);
                CHECK(core_index_put_pool(all, &pools[i]) == 0);
            }
            for (int i = 1; i < NPOOLS; i += 5) {
                if (i % 2)
                    pools[i].lat = 52.7 + rnd(60) / 100.0;
                pools[i].lon = 6.3 + rnd(80) / 100.0;
                CHECK(core_index_put_pool(all, &pools[i]) == 0);
            }
            for (int i = 2; i < NPOOLS; i += 7) {
                pools[i].funding = (unsigned)rnd(32);
                CHECK(core_index_put_pool(all, &pools[i]) == 0);
            }
        }
        for (int i = 0; i < NPOOLS; i++)
            for (date_day n = today; n < today + 40; n++)
                core_index_set_free(all, ids[i], n, (int)rnd(4));
        for (unsigned profile = 0; profile < NPROFILES; profile++) {
            struct core_index *only = core_index_new(today, 60);
            for (int i = 0; i < NPOOLS; i++) {
                if (!(pools[i].care_profiles & (1u << profile)))
                    continue;
                CHECK(core_index_put_pool(only, &pools[i]) == 0);
                for (date_day n = today; n < today + 40; n++)
                    core_index_set_free(only, ids[i], n, core_index_free_on(all, ids[i], n));
            }
            for (int k = 0; k < 20; k++) {
                struct core_search q = {.check_in = today + 1 + rnd(30), .nights = 1 + (int)rnd(5),
                                        .today = today, .kinds = 1 << KIND_PLANNED, .funding = -1,
                                        .stale_days = 7, .now = 1000000, .limit = 8,
                                        .care_profile = 1u << profile, .flex_days = (int)rnd(3)};
                if (k % 2) {
                    q.has_point = true, q.lat = 52.7 + rnd(60) / 100.0;
                    q.lon = 6.3 + rnd(80) / 100.0, q.radius_km = 1 + rnd(30);
                }
                if (k % 4 >= 2)
                    q.funding = 1 + (int)rnd(4); /* wlz, zvw, pgb, private: no contract asked */
                check_same_hits(all, only, q);
            }
            core_index_free(only);
        }
    }
    /* One pool, by hand: it leaves the dementia list and joins the somatic one. */
    struct core_search q = {.check_in = today + 5, .nights = 1, .today = today,
                            .kinds = 1 << KIND_PLANNED, .funding = -1, .stale_days = 7,
                            .now = 1000000, .limit = 8, .care_profile = 1u << 1};
    struct core_index *ix = core_index_new(today, 60);
    struct core_pool p = pool("changer", KIND_PLANNED, "GM0106", 52.99, 6.56);
    CHECK(core_index_put_pool(ix, &p) == 0);
    core_index_set_free(ix, "changer", today + 5, 1);
    struct core_hit hits[8];
    CHECK(core_search_run(ix, &q, hits, 8) == 1);
    p.care_profiles = 1u << 0;
    CHECK(core_index_put_pool(ix, &p) == 0);
    CHECK(core_search_run(ix, &q, hits, 8) == 0);
    q.care_profile = 1u << 0;
    CHECK(core_search_run(ix, &q, hits, 8) == 1);
    struct core_early early[4];
    CHECK(core_earliest_run(ix, &q, today + 30, 2, early, 4) == 1);
    q.care_profile = 1u << 1;
    CHECK(core_earliest_run(ix, &q, today + 30, 2, early, 4) == 0);
    core_index_free(ix);
    core_index_free(all);
}

/* One pool asked by its id (a link to its request page): that pool alone, and only when it
 * passes every other filter, the municipality's included. */
static void test_index_search_for_one_pool(void)
{
    date_day today = date_from_ymd(2026, 12, 1);
    struct core_index *ix = core_index_new(today - 7, 60);
    struct core_pool a = pool("a", KIND_PLANNED, "GM0106", 52.99, 6.56);
    struct core_pool b = pool("b", KIND_PLANNED, "GM0114", 52.78, 6.90);
    struct core_pool c = pool("c", KIND_CRISIS, "GM0106", 52.99, 6.57);
    CHECK(core_index_put_pool(ix, &a) == 0 && core_index_put_pool(ix, &b) == 0);
    CHECK(core_index_put_pool(ix, &c) == 0);
    for (date_day n = today; n < today + 30; n++) {
        core_index_set_free(ix, "a", n, 2);
        core_index_set_free(ix, "b", n, 3);
        core_index_set_free(ix, "c", n, 1);
    }
    struct core_search q = {.check_in = today + 5, .nights = 2, .today = today,
                            .kinds = 1 << KIND_PLANNED, .funding = -1, .now = 1000000,
                            .limit = 10};
    struct core_hit hits[10];
    CHECK(core_search_run(ix, &q, hits, 10) == 2);
    q.pool_id = "a";
    CHECK(core_search_run(ix, &q, hits, 10) == 1 && strcmp(hits[0].pool->id, "a") == 0 &&
          hits[0].free == 2);
    q.municipality = "GM0114"; /* a lies elsewhere */
    CHECK(core_search_run(ix, &q, hits, 10) == 0);
    q.municipality = "GM0106";
    CHECK(core_search_run(ix, &q, hits, 10) == 1);
    q.municipality = NULL;
    q.pool_id = "c"; /* crisis: not a kind this search may see */
    CHECK(core_search_run(ix, &q, hits, 10) == 0);
    q.pool_id = "nope";
    CHECK(core_search_run(ix, &q, hits, 10) == 0);
    q.pool_id = "b";
    q.nights = 40; /* past the pool's max_nights */
    CHECK(core_search_run(ix, &q, hits, 10) == 0);
    q.nights = 2;
    struct core_early early[4];
    CHECK(core_earliest_run(ix, &q, today + 30, 2, early, 4) == 1 &&
          strcmp(early[0].pool->id, "b") == 0);
    core_index_free(ix);
}

static void test_index_counts_stale_pools_and_their_providers(void)
{
    struct core_index *ix = core_index_new(0, 30);
    struct core_stale st = {1, 1};
    CHECK(core_index_stale(ix, 1000000, 7, &st) == 0 && st.pools == 0 && st.providers == 0);
    time_t now = 1000000 + 7 * 86400;
    const char *ids[] = {"s1", "s2", "s3", "fresh", "gone", "edge"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct core_pool p = pool(ids[i], KIND_PLANNED, "GM0106", 52.9, 6.5);
        p.as_of = 1000000 - 1; /* one second past the limit */
        if (i < 2)
            snprintf(p.provider_id, sizeof p.provider_id, "prov-shared");
        if (strcmp(ids[i], "fresh") == 0)
            p.as_of = now;
        if (strcmp(ids[i], "gone") == 0)
            p.active = false; /* an inactive pool is nobody's worry */
        if (strcmp(ids[i], "edge") == 0)
            p.as_of = 1000000; /* exactly stale_days old: still fresh, as in a search */
        CHECK(core_index_put_pool(ix, &p) == 0);
    }
    CHECK(core_index_stale(ix, now, 7, &st) == 0);
    CHECK(st.pools == 3);      /* s1, s2, s3 */
    CHECK(st.providers == 2);  /* prov-shared (s1, s2) and prov-s3 */
    CHECK(core_index_stale(ix, now, 8, &st) == 0 && st.pools == 0 && st.providers == 0);
    core_index_free(ix);
}

/* The access a search result shows: a required intake wins over the booking mode, and crisis
 * pools (which never wait for a kennismaking) are direct. */
static void test_pool_access(void)
{
    struct core_pool p = {0};
    p.kind = KIND_PLANNED;
    p.mode = MODE_INSTANT;
    CHECK(strcmp(core_pool_access(&p), "direct") == 0);
    p.mode = MODE_APPROVAL;
    CHECK(strcmp(core_pool_access(&p), "approval") == 0);
    p.intake_required = true;
    CHECK(strcmp(core_pool_access(&p), "intake_first") == 0);
    p.mode = MODE_INSTANT;
    CHECK(strcmp(core_pool_access(&p), "intake_first") == 0);
    p.kind = KIND_CRISIS;
    CHECK(strcmp(core_pool_access(&p), "direct") == 0);
}

/* The earliest check-ins of one pool the slow way: every date in the window, asking the
 * booking rules (core_stay_breaks) and every night's free beds. */
static int brute_earliest(const struct core_index *ix, const struct core_pool *p, date_day from,
                          date_day latest_check_out, int nights, date_day today,
                          date_day *dates, int max)
{
    int n = 0;
    for (date_day ci = from; ci + nights <= latest_check_out && n < max; ci++) {
        struct core_stay_ask ask = {ci, ci + nights, today, -1, -1, ROLE_CAREGIVER, "GM0106", false};
        if (core_stay_breaks(p, &ask))
            continue;
        bool free = true;
        for (date_day d = ci; d < ci + nights; d++)
            free = free && core_index_free_on(ix, p->id, d) > 0;
        if (free)
            dates[n++] = ci;
    }
    return n;
}

static void test_earliest_dates_skip_full_nights_and_follow_the_pool_rules(void)
{
    date_day today = date_from_ymd(2026, 12, 1);
    struct core_index *ix = core_index_new(today - 1, 200);
    struct core_pool a = pool("a", KIND_PLANNED, "GM0106", 52.99, 6.56);
    struct core_pool b = pool("b", KIND_PLANNED, "GM0106", 52.99, 6.60);
    struct core_pool c = pool("c", KIND_CRISIS, "GM0106", 52.99, 6.56);
    struct core_pool d = pool("d", KIND_PLANNED, "GM0106", 52.99, 6.56);
    /* Blocks mon-wed (2 nights), wed-fri (2), fri-mon (3): only those arrivals. */
    d.nblocks = 3;
    d.blocks[0] = (struct core_block){1, 2};
    d.blocks[1] = (struct core_block){3, 2};
    d.blocks[2] = (struct core_block){5, 3};
    CHECK(core_index_put_pool(ix, &a) == 0 && core_index_put_pool(ix, &b) == 0);
    CHECK(core_index_put_pool(ix, &c) == 0 && core_index_put_pool(ix, &d) == 0);
    for (date_day n = today; n < today + 150; n++) {
        core_index_set_free(ix, "a", n, n >= today + 10 && n <= today + 20 ? 0 : 2);
        core_index_set_free(ix, "b", n, n >= today + 15 ? 1 : 0);
        core_index_set_free(ix, "c", n, 5);
        core_index_set_free(ix, "d", n, n >= today + 30 ? 1 : 0);
    }
    core_index_set_free(ix, "a", today + 23, 0); /* a gap: 21-22 fit 2 nights, not 3 */
    struct core_search q = {.check_in = today + 10, .nights = 3, .today = today,
                            .kinds = 1 << KIND_PLANNED, .funding = -1, .stale_days = 7,
                            .now = 1000000};
    struct core_early out[4];
    size_t n = core_earliest_run(ix, &q, today + 120, 3, out, 4);
    /* b from day 15; a only after its gap on day 23; d on block arrivals from day 30; never
     * the crisis pool. */
    CHECK(n == 3);
    CHECK(n == 3 && strcmp(out[0].pool->id, "b") == 0 && out[0].ndates == 3);
    CHECK(n == 3 && out[0].check_in[0] == today + 15 && out[0].check_in[2] == today + 17);
    CHECK(n == 3 && out[0].free[0] == 1);
    CHECK(n == 3 && strcmp(out[1].pool->id, "a") == 0 && out[1].check_in[0] == today + 24);
    CHECK(n == 3 && out[1].free[0] == 2);
    CHECK(n == 3 && strcmp(out[2].pool->id, "d") == 0);
    for (size_t i = 0; i < n; i++) {
        date_day want[CORE_EARLIEST_MAX_DATES];
        int m = brute_earliest(ix, out[i].pool, q.check_in, today + 120, q.nights, today, want, 3);
        CHECK(m == out[i].ndates);
        for (int k = 0; k < m && k < out[i].ndates; k++)
            CHECK(want[k] == out[i].check_in[k]);
    }
    /* d's dates are block arrivals of 3 nights: Fridays only. */
    for (int k = 0; n == 3 && k < out[2].ndates; k++)
        CHECK(date_weekday(out[2].check_in[k]) == 4);

    /* The window's end: a stay must check out by latest_check_out. */
    n = core_earliest_run(ix, &q, today + 19, 10, out, 4);
    CHECK(n == 1 && strcmp(out[0].pool->id, "b") == 0 && out[0].ndates == 2);
    /* Lead time and horizon of the pool itself. */
    a.lead_days = 40;
    b.horizon_days = 20;
    CHECK(core_index_put_pool(ix, &a) == 0 && core_index_put_pool(ix, &b) == 0);
    n = core_earliest_run(ix, &q, today + 120, 10, out, 4);
    CHECK(n == 3);
    CHECK(n == 3 && strcmp(out[0].pool->id, "b") == 0 && out[0].ndates == 3 &&
          out[0].check_in[2] == today + 17); /* checks out on day 20 at the latest */
    CHECK(n == 3 && strcmp(out[2].pool->id, "a") == 0 && out[2].check_in[0] == today + 40);
    /* A full list reads a pool only as far as the date it would have to beat, and still gives
     * a pool that does enter all its dates, also those after that date. */
    struct core_index *small = core_index_new(today, 100);
    struct core_pool late = pool("late", KIND_PLANNED, "GM0106", 52.99, 6.56);
    struct core_pool early = pool("early", KIND_PLANNED, "GM0106", 52.99, 6.56);
    CHECK(core_index_put_pool(small, &late) == 0 && core_index_put_pool(small, &early) == 0);
    for (date_day night = today; night < today + 100; night++) {
        core_index_set_free(small, "late", night, night >= today + 20);
        core_index_set_free(small, "early", night, night == today + 10 || night >= today + 30);
    }
    struct core_search one = {.check_in = today, .nights = 1, .today = today,
                              .kinds = 1 << KIND_PLANNED, .funding = -1, .stale_days = 7,
                              .now = 1000000};
    n = core_earliest_run(small, &one, today + 100, 10, out, 1);
    CHECK(n == 1 && strcmp(out[0].pool->id, "early") == 0 && out[0].ndates == 10);
    CHECK(n == 1 && out[0].check_in[0] == today + 10 && out[0].check_in[1] == today + 30);
    core_index_free(small);
    /* The search's filters: a care profile no pool serves, a need a pool excludes. */
    q.care_profile = 1u << 4;
    CHECK(core_earliest_run(ix, &q, today + 120, 3, out, 4) == 0);
    q.care_profile = 0;
    q.needs = "aggression";
    CHECK(core_earliest_run(ix, &q, today + 120, 3, out, 4) == 0);
    q.needs = NULL;
    /* Longer than max_nights: no pool fits at all. */
    q.nights = 15;
    CHECK(core_earliest_run(ix, &q, today + 120, 3, out, 4) == 0);
    /* A window past the index's last night is cut there. */
    q.nights = 3;
    q.check_in = today + 190;
    CHECK(core_earliest_run(ix, &q, today + 5000, 3, out, 4) == 0);
    core_index_free(ix);

    /* Random nights and arrival days against the slow way. */
    ix = core_index_new(today, 120);
    struct core_pool r = pool("r", KIND_PLANNED, "GM0106", 52.99, 6.56);
    r.arrival_days = 1u << 0 | 1u << 3 | 1u << 5; /* monday, thursday, saturday */
    r.lead_days = 3;
    r.horizon_days = 100;
    CHECK(core_index_put_pool(ix, &r) == 0);
    srand(12);
    for (int round = 0; round < 50; round++) {
        for (date_day night = today; night < today + 120; night++)
            core_index_set_free(ix, "r", night, rand() % 4 == 0 ? 0 : rand() % 3);
        q = (struct core_search){.check_in = today + rand() % 30, .nights = 1 + rand() % 5,
                                 .today = today, .kinds = 1 << KIND_PLANNED, .funding = -1,
                                 .stale_days = 7, .now = 1000000};
        date_day latest = q.check_in + 10 + rand() % 100;
        n = core_earliest_run(ix, &q, latest, CORE_EARLIEST_MAX_DATES, out, 4);
        date_day want[CORE_EARLIEST_MAX_DATES];
        int m = brute_earliest(ix, &r, q.check_in, latest, q.nights, today, want,
                               CORE_EARLIEST_MAX_DATES);
        CHECK((int)n == (m > 0));
        for (int k = 0; n == 1 && k < m; k++)
            CHECK(out[0].ndates == m && out[0].check_in[k] == want[k]);
    }
    core_index_free(ix);
}

int main(void)
{
    test_lifecycle_transitions_and_counter_deltas();
    test_illegal_transitions_are_refused();
    test_every_final_status_has_no_way_out();
    test_name_tables();
    test_index_search_filters_and_ranks();
    test_index_grows_to_many_pools();
    test_index_nights_checksum();
    test_index_window_rolls_without_losing_or_inventing_nights();
    test_index_municipality_moves_radius_edges_and_ties();
    test_index_care_profile_lists_follow_changes();
    test_index_search_for_one_pool();
    test_index_counts_stale_pools_and_their_providers();
    test_pool_access();
    test_earliest_dates_skip_full_nights_and_follow_the_pool_rules();
    return check_done("core");
}
