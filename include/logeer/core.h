/* core: the reservation core's vocabulary, its rules and the in-memory availability index.
 * Decides what is allowed (which role sees and books which kind of bed, a pool's care
 * profiles, funding, nights, lead time and horizon, the stay lifecycle) and answers searches.
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

/* ---- who books which bed: the separation of planned and crisis beds (spec 3) ---- */

/* The kinds of bed a role may search: caregivers (and visitors, role 0) planned beds,
 * referrers crisis beds, every other role both. A bit set of (1 << KIND_*). */
int core_kinds_visible(unsigned role);

/* The answer to "may this role request a stay in a pool of this kind, with or without a
 * diversion reason?". Every refusal but CORE_PATH_OK ends the request. */
enum core_path {
    CORE_PATH_OK,
    CORE_PATH_HIDDEN,              /* the role never learns such a pool exists (404) */
    CORE_PATH_WRONG_KIND,          /* a referrer in a planned pool: needs the coordinator (403) */
    CORE_PATH_DIVERSION_FORBIDDEN, /* a diversion reason from anyone but the coordinator (403) */
    CORE_PATH_DIVERSION_REQUIRED,  /* the coordinator in a planned pool without a reason (422) */
    CORE_PATH_DIVERSION_NEEDLESS,  /* a diversion reason for a crisis pool (422) */
    CORE_PATH_ROLE,                /* the role does not request stays at all (403) */
};

/* With CORE_PATH_OK: the stay's kind and the status it starts in. A crisis placement (also a
 * diversion into a planned pool) needs a bed now, so it is confirmed at once; a planned stay
 * starts held in an instant pool and requested in an approval pool. */
struct core_pathway {
    enum pool_kind kind;
    enum stay_status initial;
};

enum core_path core_pathway(unsigned role, enum pool_kind pool_kind, enum booking_mode mode,
                            bool diversion, struct core_pathway *out);

struct core_pool;

/* A stay asked for in one pool: what the pool's own rules look at. */
struct core_stay_ask {
    date_day check_in, check_out;  /* nights check_in <= night < check_out */
    date_day today;
    int care_profile;              /* index in core_care_profile_names, or -1 */
    int funding;                   /* index in core_funding_names, or -1 */
    unsigned role;                 /* the requester's ROLE_* bit */
    const char *municipality;      /* the requester's home municipality (CBS code) or "" */
    bool inline_guest;             /* a planned stay for a guest given inline, not registered */
};

/* The pool's own rules a stay can break, in the order the api reports them. */
enum core_stay_rule {
    CORE_RULE_CARE_PROFILE = 1u << 0, /* the pool does not serve the guest's care profile */
    CORE_RULE_FUNDING = 1u << 1,      /* the pool does not accept the funding */
    CORE_RULE_WMO_CONTRACT = 1u << 2, /* Wmo for a caregiver whose municipality has no
                                         contract with the pool */
    CORE_RULE_NIGHTS = 1u << 3,       /* fewer than min_nights or more than max_nights */
    CORE_RULE_PAST = 1u << 4,         /* check-in before today */
    CORE_RULE_LEAD_TIME = 1u << 5,    /* check-in sooner than lead_days after today */
    CORE_RULE_HORIZON = 1u << 6,      /* check-out later than horizon_days after today */
    CORE_RULE_ARRIVAL = 1u << 7,      /* check-in on a weekday the pool takes no arrivals */
    CORE_RULE_BLOCKS = 1u << 8,       /* the nights are not one block or a chain of blocks */
    CORE_RULE_INLINE_GUEST = 1u << 9, /* a public route for an inline guest in a pool that
                                       * checks allowances (allowance_required) */
};

/* The rules of p that the stay breaks, as a bit set of CORE_RULE_*; 0 when it fits. The
 * search (core_search_run) applies the same nights, lead time and horizon in its own
 * branch-free form, and the arrival rules through core_arrival_breaks. */
unsigned core_stay_breaks(const struct core_pool *p, const struct core_stay_ask *a);

/* A pool's arrival rules alone (docs/practice.md, "Blocks and arrival rules"): 0 when the
 * nights [check_in, check_in + nights) fit, CORE_RULE_ARRIVAL when check_in falls on a
 * weekday on which no stay may start (not in arrival_days, or no block arrives that day),
 * else CORE_RULE_BLOCKS when blocks are set and the nights are not one block or a chain of
 * blocks, each arriving on the day the one before leaves. */
unsigned core_arrival_breaks(const struct core_pool *p, date_day check_in, int nights);

/* The weekdays on which a stay may start, as bits (1 << (ISO weekday - 1)): arrival_days
 * (all when empty), and with blocks only the days some block arrives. */
unsigned core_arrival_days(const struct core_pool *p);

/* The arrival rules in Dutch for a caregiver, e.g. "aankomst op maandag, woensdag of vrijdag;
 * blokken ma–wo (2 nachten), wo–vr (2), vr–ma (3)"; "" when the pool has none. Writes at most
 * size bytes (always terminated) and returns the length it needed, like snprintf. */
size_t core_arrival_text(const struct core_pool *p, char *buf, size_t size);

/* Transport (docs/practice.md, "Companion places, transport"): whether a time "HH:MM" lies
 * inside a window "HH:MM-HH:MM", both ends included. An empty window takes any time; a
 * malformed time or window is outside. */
bool core_time_in_window(const char *window, const char *time);

/* A time "HH:MM" on a 24-hour clock. */
bool core_time_valid(const char *time);

/* ---- the availability index ---- */

#define CORE_ID_LEN 37
#define CORE_MAX_BLOCKS 14      /* blocks a pool may set */
#define CORE_BLOCK_MAX_NIGHTS 28
#define CORE_WINDOW_LEN 12      /* "HH:MM-HH:MM" and its NUL */

/* A block: a stay pattern that starts on one weekday and lasts a fixed number of nights. */
struct core_block {
    uint8_t arrive;             /* ISO weekday: 1 = Monday .. 7 = Sunday */
    uint8_t nights;             /* 1 .. CORE_BLOCK_MAX_NIGHTS */
};

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
    bool allowance_required;    /* public routes only for a registered guest (checked grant) */
    uint8_t arrival_days;       /* bits 1 << (ISO weekday - 1) on which stays may start; 0 = any */
    uint8_t nblocks;            /* 0 = no blocks: any length within the night limits */
    struct core_block blocks[CORE_MAX_BLOCKS];
    char check_in_window[CORE_WINDOW_LEN];  /* "HH:MM-HH:MM" or "": shown, and transport
                                               times must lie inside (core_time_in_window) */
    char check_out_window[CORE_WINDOW_LEN];
    int companion_places;       /* places for a caregiver staying along, every night; 0 = none */
    int free_cancel_days;       /* free cancellation until this many days before; -1 = always */
    uint32_t slot;              /* set by the index: the pool's place, 0 .. count - 1, for good */
    uint32_t version;           /* set by the index: changes whenever the description does, so
                                   that what others derive from it can be kept until then */
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

/* The index covers today - CORE_INDEX_DAYS_BEFORE ... : yesterday stays for stays that began
 * then. core_index_today is the "today" of the window (first_day + CORE_INDEX_DAYS_BEFORE):
 * searches judge lead times and horizons by it, so that rules and nights agree while a roll
 * is still loading its new nights. */
#define CORE_INDEX_DAYS_BEFORE 1
date_day core_index_today(const struct core_index *ix);

/* Rolling the window forward (at the day boundary): core_index_roll_begin makes the nights
 * the window gains, aside and all 0, for a window starting at first_day (later than now;
 * NULL when not, or out of memory); core_roll_range says which nights those are; the caller
 * fills them with core_roll_set_free (-1 for an unknown pool) and swaps them in with
 * core_index_roll_commit, which drops as many nights at the front, keeps every night in
 * between as it is, frees the roll and returns 0 (-1, roll kept: out of memory or the
 * window has moved past first_day already; then core_roll_free). Searches see the old window
 * or the new one, never a mix; memory stays the same from roll to roll. */
struct core_roll;
struct core_roll *core_index_roll_begin(const struct core_index *ix, date_day first_day);
void core_roll_range(const struct core_roll *r, date_day *from, date_day *to);
int core_roll_set_free(struct core_roll *r, const struct core_index *ix, const char *pool_id,
                       date_day night, int free);
__attribute__((warn_unused_result))
int core_index_roll_commit(struct core_index *ix, struct core_roll *r);
void core_roll_free(struct core_roll *r);

/* Sets the free beds (capacity - held - booked, never below 0) of one night. Nights outside
 * the covered range are ignored. Returns -1 for an unknown pool. */
int core_index_set_free(struct core_index *ix, const char *pool_id, date_day night, int free);
/* Free beds of one night; 0 outside the covered range or for an unknown pool. */
int core_index_free_on(const struct core_index *ix, const char *pool_id, date_day night);

/* The periodic re-read's checksum of one pool's nights: over the nights of the window with free
 * beds, the sum of core_nights_term(offset from the window's first night, free). PostgreSQL
 * computes the same sum over pool_nights (src/events/sync.c), so a pool whose sums agree need
 * not have its nights read. x = offset * 1024 + free (free is at most 500, by the schema);
 * the term is x cubed modulo a prime P with P mod 3 = 2, where cubing is one to one: a change
 * of one night always changes the sum, and changes of several cancel only by accident, never
 * by a pattern (a sum of x alone would miss +1, +1 and -2 on three nights in a row). Each term
 * is below 2^31, so PostgreSQL sums them as integers. */
#define CORE_NIGHTS_TERM_P 2147483579 /* without a suffix: sync.c writes it into its SQL */
#define CORE_NIGHTS_TERM_SHIFT 1024
static inline long long core_nights_term(long offset, int free)
{
    long long x = (long long)offset * CORE_NIGHTS_TERM_SHIFT + free;
    return x * x % CORE_NIGHTS_TERM_P * x % CORE_NIGHTS_TERM_P;
}
/* Every pool's checksum over [first, first + ndays), summed in one pass over the nights as
 * they lie (a pool's nights lie a row apart: read pool by pool, 5,000 pools took 40-60 ms of
 * the loop); NULL when that is not the index's window now (it rolled meanwhile) or without
 * memory. Valid until the index next changes. */
struct core_checksums;
struct core_checksums *core_index_checksums(const struct core_index *ix, date_day first,
                                            int ndays);
/* pool_id's checksum into *sum; -1 for a pool the index does not have. */
int core_checksums_get(const struct core_checksums *c, const struct core_index *ix,
                       const char *pool_id, long long *sum);
void core_checksums_free(struct core_checksums *c);

/* A search, already validated and authorised by the api layer. */
struct core_search {
    date_day check_in;
    int nights;
    int flex_days;              /* also try check-in dates within +-flex_days */
    date_day today;
    int kinds;                  /* bit set of (1 << KIND_*) allowed for the caller */
    const char *municipality;   /* CBS code or NULL */
    const char *pool_id;        /* one pool only, or NULL: what a link to one place asks */
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
    uint32_t rank_near;         /* the index's: days from the asked date, then stale */
    uint64_t rank_more;         /* the index's: most free beds, then the earlier date */
};

/* Fills up to max hits, best first: asked date before flex dates (nearest first), fresh
 * before stale, then nearest, then most free beds. Returns the number of hits. */
size_t core_search_run(const struct core_index *ix, const struct core_search *q,
                       struct core_hit *hits, size_t max);

/* The earliest fitting dates: when the asked dates are full, the first check-in dates on
 * which a stay of q->nights fits, per pool, so that nobody tries dates one by one. The same
 * filters as core_search_run (kind, care profile, funding and Wmo contract, nights, needs and
 * facilities, municipality or radius) and the same rules per date (lead time, horizon,
 * arrival days and blocks, a free bed every night). q->check_in is the earliest check-in;
 * q->flex_days and q->limit are not used. */
#define CORE_EARLIEST_MAX_DATES 10

struct core_early {
    const struct core_pool *pool;
    double distance_km;         /* -1 when no point was given */
    bool stale;
    uint64_t id_key;            /* orders ties without strcmp */
    int ndates;                 /* 1 .. per_pool */
    date_day check_in[CORE_EARLIEST_MAX_DATES]; /* ascending */
    int free[CORE_EARLIEST_MAX_DATES];          /* fewest free beds over that stay's nights */
};

/* Fills up to max pools, each with up to per_pool (1 .. CORE_EARLIEST_MAX_DATES) check-in
 * dates in ascending order whose stay ends by latest_check_out; pools ordered by their first
 * date, then fresh before stale, then nearest, then most free beds. Work is bounded by the
 * index: dates past its last night, or past a pool's horizon, are never looked at, and once
 * max pools are found a pool is read only up to the date it would have to beat. Returns the
 * number of pools. */
size_t core_earliest_run(const struct core_index *ix, const struct core_search *q,
                         date_day latest_check_out, int per_pool, struct core_early *out,
                         size_t max);

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
