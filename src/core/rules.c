/* rules: the vocabulary tables, the stay lifecycle and the booking rules. One table per enum
 * maps it to its API string both ways; one table of transitions says who may move a stay from
 * where to where and what that does to the night counters; the separation of planned and
 * crisis beds and a pool's own limits (nights, lead time, horizon, arrival days and blocks)
 * say whether a stay may be asked for at all. Pure: the api layer supplies the facts, the
 * database applies decisions. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/auth.h"
#include "logeer/core.h"

const char *const core_kind_names[] = {"planned", "crisis", NULL};
const char *const core_mode_names[] = {"instant", "approval", NULL};
const char *const core_status_names[] = {"held",      "requested", "confirmed", "declined",
                                         "checked_in", "completed", "cancelled", "expired",
                                         "no_show",   "waitlisted", NULL};
const char *const core_action_names[] = {"confirm",   "accept",  "decline", "cancel",
                                         "check-in",  "check-out", "no-show", "expire", NULL};
const char *const core_care_profile_names[] = {"somatic", "dementia", "disability",
                                               "psychiatric", "youth", NULL};
const char *const core_funding_names[] = {"wmo", "wlz", "zvw", "pgb", "private", NULL};

int core_name_index(const char *const *names, const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

long core_bits_from_csv(const char *const *names, const char *csv)
{
    long bits = 0;
    const char *p = csv;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char word[64];
        if (len == 0 || len >= sizeof word)
            return -1;
        memcpy(word, p, len);
        word[len] = '\0';
        int i = core_name_index(names, word);
        if (i < 0)
            return -1;
        bits |= 1L << i;
        p = comma ? comma + 1 : NULL;
    }
    return bits;
}

/* Held and requested stays keep a bed in reserve (held); confirmed and checked-in stays have
 * it (booked). A requested stay must reserve its bed, or approval pools could be overbooked
 * between the request and the provider's answer. */
enum night_use core_status_night_use(enum stay_status s)
{
    switch (s) {
    case STAY_HELD:
    case STAY_REQUESTED:
        return USE_HELD;
    case STAY_CONFIRMED:
    case STAY_CHECKED_IN:
    case STAY_COMPLETED:
        return USE_BOOKED;
    default:
        return USE_NONE;
    }
}

bool core_status_final(enum stay_status s)
{
    return s == STAY_DECLINED || s == STAY_COMPLETED || s == STAY_CANCELLED ||
           s == STAY_EXPIRED || s == STAY_NO_SHOW;
}

struct transition_rule {
    enum stay_action action;
    enum stay_status from, to;
    unsigned roles;           /* who may; 0 = only the engine itself (expiry) */
    bool needs_started;       /* only on or after the check-in date */
    bool reason_required;
};

/* The lifecycle of spec section 3. Ownership (own stay, own pool) is checked by the api
 * layer before it asks; this table only knows roles. */
static const struct transition_rule rules[] = {
    {ACT_CONFIRM, STAY_HELD, STAY_CONFIRMED, ROLE_CAREGIVER | ROLE_REFERRER | ROLE_COORDINATOR,
     false, false},
    {ACT_ACCEPT, STAY_REQUESTED, STAY_CONFIRMED, ROLE_PROVIDER, false, false},
    {ACT_DECLINE, STAY_REQUESTED, STAY_DECLINED, ROLE_PROVIDER, false, true},
    {ACT_CANCEL, STAY_HELD, STAY_CANCELLED, ROLE_CAREGIVER | ROLE_REFERRER, false, false},
    {ACT_CANCEL, STAY_REQUESTED, STAY_CANCELLED, ROLE_CAREGIVER | ROLE_REFERRER, false, false},
    {ACT_CANCEL, STAY_CONFIRMED, STAY_CANCELLED, ROLE_CAREGIVER | ROLE_REFERRER, false, false},
    {ACT_CANCEL, STAY_WAITLISTED, STAY_CANCELLED, ROLE_CAREGIVER | ROLE_REFERRER, false, false},
    /* A provider cancelling, or the coordinator overriding, is a bigger thing for the family
     * than the family cancelling: the reason is shown to them, so it is required. */
    {ACT_CANCEL, STAY_HELD, STAY_CANCELLED, ROLE_PROVIDER | ROLE_COORDINATOR, false, true},
    {ACT_CANCEL, STAY_REQUESTED, STAY_CANCELLED, ROLE_PROVIDER | ROLE_COORDINATOR, false, true},
    {ACT_CANCEL, STAY_CONFIRMED, STAY_CANCELLED, ROLE_PROVIDER | ROLE_COORDINATOR, false, true},
    {ACT_CANCEL, STAY_WAITLISTED, STAY_CANCELLED, ROLE_COORDINATOR, false, true},
    {ACT_CHECK_IN, STAY_CONFIRMED, STAY_CHECKED_IN, ROLE_PROVIDER, true, false},
    {ACT_CHECK_OUT, STAY_CHECKED_IN, STAY_COMPLETED, ROLE_PROVIDER, false, false},
    {ACT_NO_SHOW, STAY_CONFIRMED, STAY_NO_SHOW, ROLE_PROVIDER, true, false},
    {ACT_EXPIRE, STAY_HELD, STAY_EXPIRED, 0, false, false},
};

static void counter_deltas(enum stay_status from, enum stay_status to,
                           struct core_transition *out)
{
    enum night_use before = core_status_night_use(from), after = core_status_night_use(to);
    out->held_delta = (after == USE_HELD) - (before == USE_HELD);
    out->booked_delta = (after == USE_BOOKED) - (before == USE_BOOKED);
}

enum core_verdict core_decide(enum stay_action action, unsigned role, enum stay_status from,
                              enum booking_mode mode, date_day check_in, date_day today,
                              struct core_transition *out)
{
    bool role_ever_allowed = false;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct transition_rule *r = &rules[i];
        if (r->action != action)
            continue;
        bool role_ok = r->roles == 0 ? role == 0 : (r->roles & role) != 0;
        role_ever_allowed |= role_ok;
        if (!role_ok || r->from != from)
            continue;
        if (r->needs_started && today < check_in)
            return CORE_TOO_EARLY;
        out->to = r->to;
        out->reason_required = r->reason_required;
        counter_deltas(from, r->to, out);
        (void)mode; /* accept/decline exist only for requested stays, which only approval
                       pools create; the status already encodes the mode */
        return CORE_OK;
    }
    return role_ever_allowed ? CORE_BAD_STATUS : CORE_FORBIDDEN_ROLE;
}

/* ---- who books which bed ---------------------------------------------------------------- */

int core_kinds_visible(unsigned role)
{
    switch (role) {
    case 0:              /* a visitor without an account sees what a caregiver sees */
    case ROLE_CAREGIVER:
        return 1 << KIND_PLANNED;
    case ROLE_REFERRER:
        return 1 << KIND_CRISIS;
    default:
        return (1 << KIND_PLANNED) | (1 << KIND_CRISIS);
    }
}

/* The coordinator is the only one who may place a crisis in a plannable bed, and only with a
 * recorded reason (the database refuses a diversion without one, too). The order of the
 * checks decides which refusal a request that breaks two rules gets: a caregiver never learns
 * that a crisis pool exists, whatever else they sent. */
enum core_path core_pathway(unsigned role, enum pool_kind pool_kind, enum booking_mode mode,
                            bool diversion, struct core_pathway *out)
{
    switch (role) {
    case ROLE_CAREGIVER:
        if (!(core_kinds_visible(role) & (1 << pool_kind)))
            return CORE_PATH_HIDDEN;
        if (diversion)
            return CORE_PATH_DIVERSION_FORBIDDEN;
        out->kind = KIND_PLANNED;
        out->initial = mode == MODE_INSTANT ? STAY_HELD : STAY_REQUESTED;
        return CORE_PATH_OK;
    case ROLE_REFERRER:
        if (pool_kind == KIND_PLANNED)
            return CORE_PATH_WRONG_KIND;
        if (diversion)
            return CORE_PATH_DIVERSION_FORBIDDEN;
        break;
    case ROLE_COORDINATOR:
        if (pool_kind == KIND_PLANNED && !diversion)
            return CORE_PATH_DIVERSION_REQUIRED;
        if (pool_kind == KIND_CRISIS && diversion)
            return CORE_PATH_DIVERSION_NEEDLESS;
        break;
    default:
        return CORE_PATH_ROLE;
    }
    out->kind = KIND_CRISIS;
    out->initial = STAY_CONFIRMED;
    return CORE_PATH_OK;
}

/* True when code is one of the comma-separated codes in list. */
static bool list_has(const char *list, const char *code)
{
    size_t n = strlen(code);
    if (n == 0)
        return false;
    for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, code, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* A Wmo-funded stay is paid by the caregiver's own municipality, so the pool must hold a
 * contract with it. Only a caregiver's home is known; professionals asking on someone's
 * behalf are trusted to have checked. */
static bool wmo_contract_missing(const struct core_pool *p, const struct core_stay_ask *a)
{
    if (a->funding < 0 || strcmp(core_funding_names[a->funding], "wmo") != 0 ||
        a->role != ROLE_CAREGIVER)
        return false;
    return !a->municipality || !list_has(p->wmo_municipalities ? p->wmo_municipalities : "",
                                         a->municipality);
}

unsigned core_stay_breaks(const struct core_pool *p, const struct core_stay_ask *a)
{
    unsigned broken = 0;
    if (a->care_profile >= 0 && !(p->care_profiles & (1u << a->care_profile)))
        broken |= CORE_RULE_CARE_PROFILE;
    if (a->funding >= 0 && !(p->funding & (1u << a->funding)))
        broken |= CORE_RULE_FUNDING;
    else if (wmo_contract_missing(p, a))
        broken |= CORE_RULE_WMO_CONTRACT;
    /* A public route is paid against a grant the booking checks, and only a registered guest
     * has grants; an inline guest can therefore only pay privately in such a pool. */
    if (p->allowance_required && a->inline_guest && a->funding >= 0 &&
        strcmp(core_funding_names[a->funding], "private") != 0)
        broken |= CORE_RULE_INLINE_GUEST;
    int nights = a->check_out - a->check_in;
    if (nights < p->min_nights || nights > p->max_nights)
        broken |= CORE_RULE_NIGHTS;
    if (a->check_in < a->today)
        broken |= CORE_RULE_PAST;
    else if (a->check_in < a->today + p->lead_days)
        broken |= CORE_RULE_LEAD_TIME;
    if (a->check_out > a->today + p->horizon_days)
        broken |= CORE_RULE_HORIZON;
    if (nights > 0)
        broken |= core_arrival_breaks(p, a->check_in, nights);
    return broken;
}

/* ---- arrival days and blocks ------------------------------------------------------------- */

#define ALL_DAYS 0x7fu

unsigned core_arrival_days(const struct core_pool *p)
{
    unsigned days = p->arrival_days ? p->arrival_days & ALL_DAYS : ALL_DAYS;
    if (p->nblocks) {
        unsigned arrive = 0;
        for (int i = 0; i < p->nblocks && i < CORE_MAX_BLOCKS; i++)
            if (p->blocks[i].arrive >= 1 && p->blocks[i].arrive <= 7)
                arrive |= 1u << (p->blocks[i].arrive - 1);
        days &= arrive;
    }
    return days;
}

/* Whether [check_in, check_in + nights) is a chain of blocks: a walk over the days where a
 * day is reached when a chain of blocks from check_in ends there. A block is at most
 * CORE_BLOCK_MAX_NIGHTS long, so a ring of 32 days is enough, for a stay of any length. */
static bool blocks_chain(const struct core_pool *p, date_day check_in, int nights)
{
    enum { RING = 32 };
    bool reached[RING] = {false};
    reached[0] = true;
    int weekday = date_weekday(check_in); /* 0 = Monday */
    for (int d = 0; d < nights; d++, weekday = weekday == 6 ? 0 : weekday + 1) {
        if (!reached[d % RING])
            continue;
        reached[d % RING] = false;
        for (int i = 0; i < p->nblocks && i < CORE_MAX_BLOCKS; i++) {
            const struct core_block *b = &p->blocks[i];
            if (b->arrive == weekday + 1 && b->nights >= 1 && b->nights < RING &&
                d + b->nights <= nights)
                reached[(d + b->nights) % RING] = true;
        }
    }
    return reached[nights % RING];
}

unsigned core_arrival_breaks(const struct core_pool *p, date_day check_in, int nights)
{
    if (!p->arrival_days && !p->nblocks)
        return 0;
    if (!(core_arrival_days(p) & (1u << date_weekday(check_in))))
        return CORE_RULE_ARRIVAL;
    if (p->nblocks && (nights <= 0 || !blocks_chain(p, check_in, nights)))
        return CORE_RULE_BLOCKS;
    return 0;
}

static const char *const day_names[] = {"maandag", "dinsdag", "woensdag", "donderdag",
                                        "vrijdag", "zaterdag", "zondag"};
static const char *const day_short[] = {"ma", "di", "wo", "do", "vr", "za", "zo"};

/* Appends to buf like snprintf at *len, which counts what was needed. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*len < size ? buf + *len : NULL, *len < size ? size - *len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n;
}

size_t core_arrival_text(const struct core_pool *p, char *buf, size_t size)
{
    size_t len = 0;
    if (size)
        buf[0] = '\0';
    if (!p->arrival_days && !p->nblocks)
        return 0;
    unsigned days = core_arrival_days(p);
    int count = 0, seen = 0;
    for (int d = 0; d < 7; d++)
        count += (days >> d) & 1;
    if (count == 0)
        append(buf, size, &len, "geen aankomstdag mogelijk");
    else
        append(buf, size, &len, "aankomst op ");
    for (int d = 0; d < 7; d++) {
        if (!((days >> d) & 1))
            continue;
        seen++;
        append(buf, size, &len, "%s%s", seen == 1 ? "" : seen == count ? " of " : ", ",
               day_names[d]);
    }
    for (int i = 0; i < p->nblocks && i < CORE_MAX_BLOCKS; i++) {
        const struct core_block *b = &p->blocks[i];
        if (b->arrive < 1 || b->arrive > 7)
            continue;
        int leave = (b->arrive - 1 + b->nights) % 7;
        append(buf, size, &len, "%s%s\u2013%s (%d%s)", i == 0 ? "; blokken " : ", ",
               day_short[b->arrive - 1], day_short[leave], b->nights,
               i == 0 ? (b->nights == 1 ? " nacht" : " nachten") : "");
    }
    return len;
}

/* ---- transport times (docs/practice.md, "Companion places, transport") ---- */

/* Minutes since midnight of "HH:MM" at s, or -1. */
static int clock_minutes(const char *s)
{
    if (!s || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] != ':' ||
        s[3] < '0' || s[3] > '9' || s[4] < '0' || s[4] > '9')
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    return h > 23 || m > 59 ? -1 : h * 60 + m;
}

bool core_time_valid(const char *time) { return time && strlen(time) == 5 && clock_minutes(time) >= 0; }

bool core_time_in_window(const char *window, const char *time)
{
    if (!core_time_valid(time))
        return false;
    if (!window || !*window)
        return true;
    if (strlen(window) != 11 || window[5] != '-')
        return false;
    int from = clock_minutes(window), to = clock_minutes(window + 6), t = clock_minutes(time);
    return from >= 0 && to >= 0 && t >= from && t <= to;
}
