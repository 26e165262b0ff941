/* core: the reservation core's vocabulary, its rules and the in-memory availability index.
 * Decides what is allowed (kinds, roles, lifecycle, lead time, horizon) and answers searches.
 * Does no I/O and knows no HTTP and no SQL: the api layer feeds it facts and PostgreSQL
 * enforces the counters atomically, so the core can never overbook even if it were wrong. */
#ifndef LOGEER_CORE_H
#define LOGEER_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "logeer/date.h"

/* ---- vocabulary: enums and their API strings, one table each, used both ways ---- */

enum pool_kind { KIND_PLANNED, KIND_CRISIS, KIND_COUNT };
enum booking_mode { MODE_INSTANT, MODE_APPROVAL, MODE_COUNT };
enum stay_status {
    STAY_HELD, STAY_REQUESTED, STAY_CONFIRMED, STAY_DECLINED, STAY_CHECKED_IN, STAY_COMPLETED,
    STAY_CANCELLED, STAY_EXPIRED, STAY_NO_SHOW, STAY_WAITLISTED, STAY_STATUS_COUNT
};
enum stay_action {
    ACT_CONFIRM, ACT_ACCEPT, ACT_DECLINE, ACT_CANCEL, ACT_CHECK_IN, ACT_CHECK_OUT, ACT_NO_SHOW,
    ACT_EXPIRE, ACT_COUNT
};

/* NULL-terminated lists of the API strings, in enum order (usable with jsonv_enum). */
extern const char *const core_kind_names[];
extern const char *const core_mode_names[];
extern const char *const core_status_names[];
extern const char *const core_action_names[];   /* "confirm", ..., "check-in", ... */
extern const char *const core_care_profile_names[]; /* somatic, dementia, ... */
extern const char *const core_funding_names[];  /* wmo, wlz, zvw, pgb, private */

/* Index in a NULL-terminated name list, or -1. */
int core_name_index(const char *const *names, const char *name);
/* Bit set from a comma-separated list ("dementia,somatic"); -1 on an unknown name. */
long core_bits_from_csv(const char *const *names, const char *csv);

/* How a stay occupies its nights: which counter holds it, if any. */
enum night_use { USE_NONE, USE_HELD, USE_BOOKED };
enum night_use core_status_night_use(enum stay_status s);
/* True when no further transition is possible. */
bool core_status_final(enum stay_status s);

/* ---- rules ---- */

/* The outcome of asking the core for a transition. */
struct core_transition {
    enum stay_status to;
    int held_delta;       /* per night, applied by the database with the status change */
    int booked_delta;
    bool reason_required;
};

enum core_verdict {
    CORE_OK,
    CORE_FORBIDDEN_ROLE,   /* this role may never do this action */
    CORE_BAD_STATUS,       /* not possible from the current status (409) */
    CORE_TOO_EARLY,        /* check-in/no-show before the check-in date (409) */
};

/* Decides an action on a stay. role is one ROLE_* bit (auth.h); mode is the pool's booking
 * mode; today is the current date, used so that nobody checks in before the stay starts. */
enum core_verdict core_decide(enum stay_action action, unsigned role, enum stay_status from,
                              enum booking_mode mode, date_day check_in, date_day today,
                              struct core_transition *out);

/* ---- the availability index ---- */

#define CORE_ID_LEN 37

/* What the index knows about one pool: enough to filter and to show a search result. */
struct core_pool {
    char id[CORE_ID_LEN];
    char provider_id[CORE_ID_LEN];
    char location_id[CORE_ID_LEN];
    char municipality[8];       /* the location's CBS code */
    char *pool_name, *location_name, *provider_name; /* owned by the index */
    double lat, lon;
    char lat_text[24], lon_text[24]; /* the same as shown ("%.15g"); set by the index */
    enum pool_kind kind;
    enum booking_mode mode;
    uint32_t care_profiles;     /* bits over core_care_profile_names */
    uint32_t funding;           /* bits over core_funding_names */
    char *wmo_municipalities;   /* comma-separated CBS codes; owned by the index */
    char *facilities;           /* comma-separated tokens; owned */
    char *exclusions;           /* comma-separated tokens; owned */
    int min_nights, max_nights, lead_days, horizon_days;
    time_t as_of;               /* when the provider last confirmed its counts */
    char as_of_text[RFC3339_LEN]; /* the same as RFC 3339; set by the index */
    bool active;
    bool intake_required;       /* planned stays need a kennismaking first (docs/practice.md) */
};

/* How a caregiver gets into a pool, as search results say: "direct" (book at once),
 * "approval" (the provider accepts), "intake_first" (a kennismaking comes first). The index
 * knows pools, not guests, so a pool that requires an intake is always intake_first. */
const char *core_pool_access(const struct core_pool *p);

struct core_index;

/* The index covers nights [first_day, first_day + ndays). */
struct core_index *core_index_new(date_day first_day, int ndays);
void core_index_free(struct core_index *ix);

/* Inserts or replaces a pool's description (strings are copied); keeps its nights. */
__attribute__((warn_unused_result))
int core_index_put_pool(struct core_index *ix, const struct core_pool *p);
const struct core_pool *core_index_pool(const struct core_index *ix, const char *pool_id);
date_day core_index_first_day(const struct core_index *ix);
int core_index_ndays(const struct core_index *ix);
size_t core_index_pool_count(const struct core_index *ix);

/* Sets the free beds (capacity - held - booked, never below 0) of one night. Nights outside
 * the covered range are ignored. Returns -1 for an unknown pool. */
int core_index_set_free(struct core_index *ix, const char *pool_id, date_day night, int free);
/* Free beds of one night; 0 outside the covered range or for an unknown pool. */
int core_index_free_on(const struct core_index *ix, const char *pool_id, date_day night);

/* A search, already validated and authorised by the api layer. */
struct core_search {
    date_day check_in;
    int nights;
    int flex_days;              /* also try check-in dates within +-flex_days */
    date_day today;
    int kinds;                  /* bit set of (1 << KIND_*) allowed for the caller */
    const char *municipality;   /* CBS code or NULL */
    bool has_point;
    double lat, lon, radius_km; /* radius_km 0 = no limit (still sorts by distance) */
    uint32_t care_profile;      /* one bit or 0 */
    int funding;                /* funding index or -1 */
    const char *home_municipality; /* for wmo: the guest's municipality must be contracted */
    const char *needs;          /* comma-separated exclusion tokens the guest has */
    const char *facilities;     /* comma-separated facilities every result must offer */
    int stale_days;
    time_t now;
    int limit;
};

struct core_hit {
    const struct core_pool *pool;
    date_day check_in;          /* may differ from the asked date with flex_days */
    int free;                   /* the fewest free beds over the nights */
    double distance_km;         /* -1 when no point was given */
    bool stale;
    uint64_t id_key;            /* the pool id's first bytes: orders ties without strcmp */
};

/* Fills up to max hits, best first: asked date before flex dates (nearest first), fresh
 * before stale, then nearest, then most free beds. Returns the number of hits. */
size_t core_search_run(const struct core_index *ix, const struct core_search *q,
                       struct core_hit *hits, size_t max);

/* Active pools whose counts are stale (as_of more than stale_days before now) and the
 * providers owning at least one of them, for /metrics. Walks every pool once; -1 when out of
 * memory (providers is then 0). */
struct core_stale {
    size_t pools, providers;
};
int core_index_stale(const struct core_index *ix, time_t now, int stale_days,
                     struct core_stale *out);

/* Great-circle distance in kilometres. */
double core_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif
