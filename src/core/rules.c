/* rules: the vocabulary tables and the stay lifecycle. One table per enum maps it to its API
 * string both ways; one table of transitions says who may move a stay from where to where
 * and what that does to the night counters. The database applies those deltas atomically. */
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
