/* Proves the booking rules of the core without a server: who may request which kind of bed
 * (role x pool kind x diversion), and a pool's own limits (care profile, funding and Wmo
 * contract, nights, lead time, horizon). Also that the search applies the same nights, lead
 * time and horizon as a booking, so a bed a search shows can be asked for. */
#include <string.h>

#include "check.h"
#include "logeer/auth.h"
#include "logeer/core.h"

static const unsigned roles[] = {ROLE_CAREGIVER, ROLE_PROVIDER, ROLE_REFERRER, ROLE_COORDINATOR,
                                 ROLE_ADMIN};
#define NROLES (sizeof roles / sizeof roles[0])

static void test_kinds_visible(void)
{
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

int main(void)
{
    test_kinds_visible();
    test_pathway_matrix();
    test_caregivers_never_see_crisis_beds();
    test_nights_lead_time_and_horizon();
    test_care_profile_funding_and_wmo();
    test_search_and_booking_agree();
    return check_done("rules");
}
