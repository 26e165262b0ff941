/* Proves the booking rules of the core without a server: who may request which kind of bed
 * (role x pool kind x diversion), and a pool's own limits (care profile, funding and Wmo
 * contract, nights, lead time, horizon, arrival days and blocks). Also that the search applies
 * the same limits as a booking, so a bed a search shows can be asked for. */
#include <string.h>

#include "check.h"
#include "logeer/auth.h"
#include "logeer/core.h"

static const unsigned roles[] = {ROLE_CAREGIVER, ROLE_PROVIDER, ROLE_REFERRER, ROLE_COORDINATOR,
                                 ROLE_ADMIN};
#define NROLES (sizeof roles / sizeof roles[0])

static void test_kinds_visible(void)
{
    CHECK(core_kinds_visible(0) == 1 << KIND_PLANNED); /* a visitor: never crisis beds */
    CHECK(core_kinds_visible(ROLE_CAREGIVER) == 1 << KIND_PLANNED);
    CHECK(core_kinds_visible(ROLE_REFERRER) == 1 << KIND_CRISIS);
    CHECK(core_kinds_visible(ROLE_COORDINATOR) == ((1 << KIND_PLANNED) | (1 << KIND_CRISIS)));
    CHECK(core_kinds_visible(ROLE_PROVIDER) == ((1 << KIND_PLANNED) | (1 << KIND_CRISIS)));
    CHECK(core_kinds_visible(ROLE_ADMIN) == ((1 << KIND_PLANNED) | (1 << KIND_CRISIS)));
}

/* The expected verdict for every role, pool kind and diversion (spec 3). */
static enum core_path expected_path(unsigned role, enum pool_kind kind, bool diversion)
{
    switch (role) {
    case ROLE_CAREGIVER:
        return kind == KIND_CRISIS ? CORE_PATH_HIDDEN
               : diversion        ? CORE_PATH_DIVERSION_FORBIDDEN
                                  : CORE_PATH_OK;
    case ROLE_REFERRER:
        return kind == KIND_PLANNED ? CORE_PATH_WRONG_KIND
               : diversion         ? CORE_PATH_DIVERSION_FORBIDDEN
                                   : CORE_PATH_OK;
    case ROLE_COORDINATOR:
        if (kind == KIND_PLANNED)
            return diversion ? CORE_PATH_OK : CORE_PATH_DIVERSION_REQUIRED;
        return diversion ? CORE_PATH_DIVERSION_NEEDLESS : CORE_PATH_OK;
    default:
        return CORE_PATH_ROLE;
    }
}

static void test_pathway_matrix(void)
{
    for (size_t r = 0; r < NROLES; r++)
        for (int kind = 0; kind < KIND_COUNT; kind++)
            for (int div = 0; div < 2; div++)
                for (int mode = 0; mode < MODE_COUNT; mode++) {
                    struct core_pathway out = {KIND_COUNT, STAY_STATUS_COUNT};
                    enum core_path got = core_pathway(roles[r], kind, mode, div, &out);
                    CHECK(got == expected_path(roles[r], kind, div));
                    if (got != CORE_PATH_OK)
                        continue;
                    if (roles[r] == ROLE_CAREGIVER) {
                        /* A planned stay: held where the pool books at once, else requested. */
                        CHECK(out.kind == KIND_PLANNED);
                        CHECK(out.initial == (mode == MODE_INSTANT ? STAY_HELD : STAY_REQUESTED));
                    } else {
                        /* A crisis placement, also a diversion: confirmed at once. */
                        CHECK(out.kind == KIND_CRISIS && out.initial == STAY_CONFIRMED);
                    }
                }
}

/* A caregiver never sees a crisis bed, by search or by booking, whatever else they send. */
static void test_caregivers_never_see_crisis_beds(void)
{
    struct core_pathway out;
    CHECK(!(core_kinds_visible(ROLE_CAREGIVER) & (1 << KIND_CRISIS)));
    CHECK(core_pathway(ROLE_CAREGIVER, KIND_CRISIS, MODE_INSTANT, false, &out) == CORE_PATH_HIDDEN);
    CHECK(core_pathway(ROLE_CAREGIVER, KIND_CRISIS, MODE_APPROVAL, true, &out) == CORE_PATH_HIDDEN);
}

static struct core_pool pool(void)
{
    struct core_pool p = {0};
    snprintf(p.id, sizeof p.id, "p");
    p.pool_name = p.location_name = p.provider_name = (char *)"x";
    p.kind = KIND_PLANNED;
    p.care_profiles = 1u << 1;              /* dementia */
    p.funding = 1u << 0 | 1u << 2;          /* wmo, zvw */
    p.wmo_municipalities = (char *)"GM0106,GM1680";
    p.facilities = p.exclusions = (char *)"";
    p.min_nights = 2, p.max_nights = 7, p.lead_days = 3, p.horizon_days = 60;
    p.as_of = 1000000;
    p.active = true;
    return p;
}

static struct core_stay_ask ask(date_day today, int from, int nights)
{
    struct core_stay_ask a = {.check_in = today + from, .check_out = today + from + nights,
                              .today = today, .care_profile = 1, .funding = 2,
                              .role = ROLE_CAREGIVER, .municipality = "GM0106"};
    return a;
}

static void test_nights_lead_time_and_horizon(void)
{
    struct core_pool p = pool();
    date_day today = date_from_ymd(2026, 12, 1);
    struct core_stay_ask a = ask(today, 10, 3);
    CHECK(core_stay_breaks(&p, &a) == 0);
    /* min and max nights, both ends included */
    a = ask(today, 10, 2);
    CHECK(core_stay_breaks(&p, &a) == 0);
    a = ask(today, 10, 1);
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_NIGHTS);
    a = ask(today, 10, 7);
    CHECK(core_stay_breaks(&p, &a) == 0);
    a = ask(today, 10, 8);
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_NIGHTS);
    /* lead time: three days' notice; the past is its own refusal */
    a = ask(today, 3, 2);
    CHECK(core_stay_breaks(&p, &a) == 0);
    a = ask(today, 2, 2);
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_LEAD_TIME);
    a = ask(today, 0, 2);
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_LEAD_TIME);
    a = ask(today, -1, 2);
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_PAST);
    p.lead_days = 0;
    a = ask(today, 0, 2);
    CHECK(core_stay_breaks(&p, &a) == 0);
    p.lead_days = 3;
    /* horizon: the last night may be the night before today + horizon_days */
    a = ask(today, 55, 5);
    CHECK(core_stay_breaks(&p, &a) == 0);
    a = ask(today, 56, 5);
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_HORIZON);
    /* several at once, all reported */
    a = ask(today, 1, 70);
    CHECK(core_stay_breaks(&p, &a) ==
          (CORE_RULE_NIGHTS | CORE_RULE_LEAD_TIME | CORE_RULE_HORIZON));
}

static void test_care_profile_funding_and_wmo(void)
{
    struct core_pool p = pool();
    date_day today = date_from_ymd(2026, 12, 1);
    struct core_stay_ask a = ask(today, 10, 3);
    a.care_profile = 0; /* somatic: not served */
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_CARE_PROFILE);
    a = ask(today, 10, 3);
    a.funding = 1; /* wlz: not accepted */
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_FUNDING);
    /* Wmo: the caregiver's own municipality must hold a contract with the pool. */
    a = ask(today, 10, 3);
    a.funding = 0;
    CHECK(core_stay_breaks(&p, &a) == 0);
    a.municipality = "GM1680";
    CHECK(core_stay_breaks(&p, &a) == 0);
    a.municipality = "GM0114";
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_WMO_CONTRACT);
    a.municipality = "GM010"; /* a prefix of a contracted code is not that code */
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_WMO_CONTRACT);
    a.municipality = "";
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_WMO_CONTRACT);
    /* Professionals are not asked for a home municipality. */
    a.role = ROLE_REFERRER;
    CHECK(core_stay_breaks(&p, &a) == 0);
    a.role = ROLE_COORDINATOR;
    CHECK(core_stay_breaks(&p, &a) == 0);
    /* Funding the pool does not accept is refused as such, not as a missing contract. */
    p.funding = 1u << 2;
    a.role = ROLE_CAREGIVER;
    CHECK(core_stay_breaks(&p, &a) == CORE_RULE_FUNDING);
    /* Values not given are not judged. */
    a = ask(today, 10, 3);
    a.care_profile = -1;
    a.funding = -1;
    CHECK(core_stay_breaks(&p, &a) == 0);
}

/* In a pool that checks allowances, an inline guest pays privately: every public route needs
 * the grant of a registered guest. Registered guests and other pools are not affected. */
static void test_inline_guest_in_allowance_pool(void)
{
    struct core_pool p = pool();
    p.funding = 0x1fu; /* every route */
    date_day today = date_from_ymd(2026, 12, 1);
    struct core_stay_ask a = ask(today, 10, 3);
    a.inline_guest = true;
    CHECK(core_stay_breaks(&p, &a) == 0); /* the pool does not check allowances */
    p.allowance_required = true;
    for (int f = 0; core_funding_names[f]; f++) {
        a.funding = f;
        bool private = strcmp(core_funding_names[f], "private") == 0;
        CHECK(core_stay_breaks(&p, &a) == (private ? 0u : (unsigned)CORE_RULE_INLINE_GUEST));
    }
    a.funding = 2;
    a.inline_guest = false;
    CHECK(core_stay_breaks(&p, &a) == 0);
}

/* For every start and length around the limits, a pool is a search hit exactly when a
 * booking of those nights keeps its nights, lead time and horizon. */
static void test_search_and_booking_agree(void)
{
    date_day today = date_from_ymd(2026, 12, 1);
    struct core_index *ix = core_index_new(today - 1, 120);
    struct core_pool p = pool();
    CHECK(core_index_put_pool(ix, &p) == 0);
    for (date_day n = today - 1; n < today + 119; n++)
        core_index_set_free(ix, "p", n, 1);
    struct core_hit hits[1];
    for (int from = -1; from <= 62; from++)
        for (int nights = 1; nights <= 9; nights++) {
            struct core_search q = {.check_in = today + from, .nights = nights, .today = today,
                                    .kinds = 1 << KIND_PLANNED, .funding = -1,
                                    .stale_days = 7, .now = p.as_of, .limit = 1};
            struct core_stay_ask a = ask(today, from, nights);
            bool bookable = core_stay_breaks(&p, &a) == 0;
            CHECK(bookable == (core_search_run(ix, &q, hits, 1) == 1));
        }
    core_index_free(ix);
}

/* The demo pattern: ma-wo (2 nights), wo-vr (2), vr-ma (3). */
static struct core_pool block_pool(void)
{
    struct core_pool p = pool();
    p.min_nights = 1, p.max_nights = 28, p.lead_days = 0, p.horizon_days = 400;
    p.nblocks = 3;
    p.blocks[0] = (struct core_block){1, 2};
    p.blocks[1] = (struct core_block){3, 2};
    p.blocks[2] = (struct core_block){5, 3};
    return p;
}

static unsigned breaks_on(const struct core_pool *p, date_day today, date_day check_in,
                          int nights)
{
    struct core_stay_ask a = ask(today, 0, nights);
    a.check_in = check_in;
    a.check_out = check_in + nights;
    return core_stay_breaks(p, &a);
}

static void test_blocks(void)
{
    struct core_pool p = block_pool();
    date_day today = date_from_ymd(2026, 12, 1);
    date_day mon = date_from_ymd(2026, 12, 7), wed = mon + 2, fri = mon + 4;
    CHECK(date_weekday(mon) == 0);
    /* single blocks */
    CHECK(breaks_on(&p, today, mon, 2) == 0);
    CHECK(breaks_on(&p, today, wed, 2) == 0);
    CHECK(breaks_on(&p, today, fri, 3) == 0);
    /* chains: each next block arrives the day the previous one leaves */
    CHECK(breaks_on(&p, today, mon, 4) == 0);          /* ma-wo + wo-vr */
    CHECK(breaks_on(&p, today, mon, 7) == 0);          /* a whole week, ma-ma */
    CHECK(breaks_on(&p, today, wed, 5) == 0);          /* wo-vr + vr-ma */
    CHECK(breaks_on(&p, today, fri, 5) == 0);          /* vr-ma + ma-wo */
    CHECK(breaks_on(&p, today, mon, 21) == 0);         /* three weeks */
    /* lengths that end inside a block */
    CHECK(breaks_on(&p, today, mon, 1) == CORE_RULE_BLOCKS);
    CHECK(breaks_on(&p, today, mon, 3) == CORE_RULE_BLOCKS);
    CHECK(breaks_on(&p, today, fri, 2) == CORE_RULE_BLOCKS);
    CHECK(breaks_on(&p, today, wed, 3) == CORE_RULE_BLOCKS);
    CHECK(breaks_on(&p, today, mon, 8) == CORE_RULE_BLOCKS);
    /* no block arrives on Tuesday, Thursday or the weekend */
    for (int d = 0; d < 7; d++) {
        bool arrives = d == 0 || d == 2 || d == 4;
        CHECK((breaks_on(&p, today, mon + d, 2) == CORE_RULE_ARRIVAL) == !arrives);
    }
    /* the other rules still apply, and are all reported */
    p.max_nights = 4;
    CHECK(breaks_on(&p, today, mon, 7) == CORE_RULE_NIGHTS);
    CHECK(breaks_on(&p, today, mon + 1, 7) == (CORE_RULE_NIGHTS | CORE_RULE_ARRIVAL));
    /* a stay across the turn of the year: Wed 30 Dec + Fri 1 Jan to Mon 4 Jan */
    p = block_pool();
    date_day wed30 = date_from_ymd(2026, 12, 30);
    CHECK(date_weekday(wed30) == 2);
    CHECK(breaks_on(&p, today, wed30, 5) == 0);
    CHECK(breaks_on(&p, today, wed30, 2) == 0);
    CHECK(breaks_on(&p, today, wed30, 4) == CORE_RULE_BLOCKS);
    CHECK(breaks_on(&p, today, date_from_ymd(2027, 1, 1), 3) == 0);
    CHECK(breaks_on(&p, today, date_from_ymd(2026, 12, 31), 2) == CORE_RULE_ARRIVAL);
    /* a pool with one weekly block: only whole weeks from Friday */
    p.nblocks = 1;
    p.blocks[0] = (struct core_block){5, 7};
    CHECK(breaks_on(&p, today, fri, 7) == 0);
    CHECK(breaks_on(&p, today, fri, 14) == 0);
    CHECK(breaks_on(&p, today, fri, 10) == CORE_RULE_BLOCKS);
    CHECK(breaks_on(&p, today, mon, 7) == CORE_RULE_ARRIVAL);
}

static void test_arrival_days(void)
{
    date_day today = date_from_ymd(2026, 12, 1);
    date_day mon = date_from_ymd(2026, 12, 7);
    /* empty rules: every day and every length within the limits */
    struct core_pool p = pool();
    p.lead_days = 0;
    for (int d = 0; d < 7; d++)
        for (int n = 2; n <= 7; n++)
            CHECK(breaks_on(&p, today, mon + d, n) == 0);
    CHECK(core_arrival_days(&p) == 0x7f);
    /* arrival days only: Monday and Friday, any length */
    p.arrival_days = 1u << 0 | 1u << 4;
    for (int d = 0; d < 7; d++)
        for (int n = 2; n <= 7; n++)
            CHECK(breaks_on(&p, today, mon + d, n) ==
                  (d == 0 || d == 4 ? 0u : (unsigned)CORE_RULE_ARRIVAL));
    /* arrival days and blocks: only the blocks arriving on an allowed day start a stay, but a
     * chain goes on through the others (vr-ma then ma-wo) */
    struct core_pool b = block_pool();
    b.arrival_days = 1u << 4; /* Friday */
    CHECK(core_arrival_days(&b) == 1u << 4);
    CHECK(breaks_on(&b, today, mon + 4, 3) == 0);
    CHECK(breaks_on(&b, today, mon + 4, 5) == 0);
    CHECK(breaks_on(&b, today, mon, 2) == CORE_RULE_ARRIVAL);
    CHECK(breaks_on(&b, today, mon + 2, 2) == CORE_RULE_ARRIVAL);
    /* arrival days that no block arrives on leave no day at all */
    b.arrival_days = 1u << 1; /* Tuesday */
    CHECK(core_arrival_days(&b) == 0);
    for (int d = 0; d < 7; d++)
        CHECK(breaks_on(&b, today, mon + d, 2) == CORE_RULE_ARRIVAL);
}

static void test_arrival_text(void)
{
    struct core_pool p = block_pool();
    char buf[200];
    size_t n = core_arrival_text(&p, buf, sizeof buf);
    CHECK(strcmp(buf, "aankomst op maandag, woensdag of vrijdag; blokken "
                      "ma\u2013wo (2 nachten), wo\u2013vr (2), vr\u2013ma (3)") == 0);
    CHECK(n == strlen(buf));
    /* cut short: still terminated, and says how much it needed */
    char small[10];
    CHECK(core_arrival_text(&p, small, sizeof small) == n);
    CHECK(strlen(small) == sizeof small - 1);
    p = pool();
    CHECK(core_arrival_text(&p, buf, sizeof buf) == 0 && buf[0] == '\0');
    p.arrival_days = 1u << 0 | 1u << 4;
    core_arrival_text(&p, buf, sizeof buf);
    CHECK(strcmp(buf, "aankomst op maandag of vrijdag") == 0);
    p.arrival_days = 1u << 6;
    core_arrival_text(&p, buf, sizeof buf);
    CHECK(strcmp(buf, "aankomst op zondag") == 0);
}

/* With blocks, arrival days or both, over every start around two weeks and the turn of the
 * year and every length up to three weeks: a pool is a search hit exactly when a booking of
 * those nights fits. With flex_days a search moves the arrival to the nearest day that fits,
 * and never proposes one that does not. */
static void test_search_and_booking_agree_on_blocks(void)
{
    date_day today = date_from_ymd(2026, 12, 1);
    struct core_index *ix = core_index_new(today, 120);
    struct core_pool p = block_pool();
    p.horizon_days = 110;
    for (int variant = 0; variant < 3; variant++) {
        if (variant == 1)
            p.arrival_days = 1u << 0 | 1u << 4;
        if (variant == 2)
            p.nblocks = 0;
        CHECK(core_index_put_pool(ix, &p) == 0);
        for (date_day d = today; d < today + 120; d++)
            core_index_set_free(ix, "p", d, 1);
        struct core_hit hits[1];
        for (int from = 0; from <= 40; from++)
            for (int nights = 1; nights <= 21; nights++)
                for (int flex = 0; flex <= 3; flex += 3) {
                    struct core_search q = {.check_in = today + from, .nights = nights,
                                            .flex_days = flex, .today = today,
                                            .kinds = 1 << KIND_PLANNED, .funding = -1,
                                            .stale_days = 7, .now = p.as_of, .limit = 1};
                    size_t n = core_search_run(ix, &q, hits, 1);
                    if (flex == 0) {
                        bool fits = breaks_on(&p, today, today + from, nights) == 0;
                        CHECK(fits == (n == 1));
                        continue;
                    }
                    /* the nearest fitting arrival within the flex days, if any */
                    date_day best = 0;
                    bool found = false;
                    for (int k = 0; k <= 2 * flex && !found; k++) {
                        int shift = (k + 1) / 2 * (k % 2 ? 1 : -1);
                        date_day ci = today + from + shift;
                        if (ci >= today && breaks_on(&p, today, ci, nights) == 0)
                            best = ci, found = true;
                    }
                    CHECK(found == (n == 1));
                    if (n == 1) {
                        CHECK(hits[0].check_in == best);
                        CHECK(breaks_on(&p, today, hits[0].check_in, nights) == 0);
                    }
                }
    }
    core_index_free(ix);
}

/* Transport times lie inside the pool's window, both ends included; no window takes any
 * valid time; a malformed time is never inside. */
static void test_transport_times(void)
{
    CHECK(core_time_in_window("14:00-17:00", "14:00"));
    CHECK(core_time_in_window("14:00-17:00", "17:00"));
    CHECK(core_time_in_window("14:00-17:00", "15:30"));
    CHECK(!core_time_in_window("14:00-17:00", "13:59"));
    CHECK(!core_time_in_window("14:00-17:00", "17:01"));
    CHECK(!core_time_in_window("14:00-17:00", "18:00"));
    CHECK(core_time_in_window("", "03:00"));
    CHECK(!core_time_in_window("", "24:00"));
    CHECK(!core_time_in_window("14:00-17:00", "1500"));
    CHECK(!core_time_in_window("14:00-17:00", NULL));
    CHECK(core_time_valid("00:00") && core_time_valid("23:59"));
    CHECK(!core_time_valid("23:60") && !core_time_valid("7:30") && !core_time_valid("07:30:00"));
}

int main(void)
{
    test_kinds_visible();
    test_pathway_matrix();
    test_caregivers_never_see_crisis_beds();
    test_nights_lead_time_and_horizon();
    test_care_profile_funding_and_wmo();
    test_inline_guest_in_allowance_pool();
    test_search_and_booking_agree();
    test_blocks();
    test_arrival_days();
    test_arrival_text();
    test_search_and_booking_agree_on_blocks();
    test_transport_times();
    return check_done("rules");
}
