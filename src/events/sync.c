/* sync: feeds the availability index from PostgreSQL: pools with their rules (arrival days,
 * blocks, windows included) and their free beds per night. A full load runs whenever the listener
 * (re)connects, because notifications sent while it was away are lost; single pools are
 * reloaded when their description changes.
 *
 * A night's notification only says that the night changed: logeerd's sessions send theirs
 * after commit (migration 0044), so two sessions' notifications for one night may arrive in
 * the other order than their commits, and a value carried in them could be an old one. The
 * value is shown at once (as fast as before), and the night is read again: that read has the
 * last word. Every read of nights (loads, re-reads, a roll) counts as a load
 * in flight, and nights notified while any is in flight are read again once none is: a read
 * that may have missed a commit was in flight when that commit's notification came, so the
 * last read of that night starts after it. Re-reads go out at most every SYNC_REREAD_GAP_MS,
 * so that a burst's nights are read together. Loads of pool descriptions run one at a time, in
 * the order their notifications came. A notification lost between commit and sending (a
 * process killed in between) is repaired by reading everything again periodically: every
 * pool's description in one read, then every pool's checksum of its nights in one more, and
 * the nights only of the pools whose checksums differ from the index's, a slice of pools at a
 * time (at national size one read of every night held a connection for 15 s and the loop for
 * 0.2 s to apply it, and a request's own pool load queued behind it; read pool by pool, the
 * nights still cost PostgreSQL 11-15 s of a core every period).
 *
 * The window rolls with the calendar: when the service's today moves on, the nights the
 * window gains are loaded aside (as one more load, so re-reads wait for it too) and swapped in
 * at once; searches never see a half-rolled window. */
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "logeer/clock.h"
#include "logeer/core.h"
#include "logeer/db.h"
#include "logeer/events.h"
#include "logeer/log.h"

#define SYNC_CHANNEL "logeer_inventory"
/* Re-reads start at most this often: a notification's value is shown at once, the re-read
 * only corrects one that came out of order, so taking in a burst's nights together costs
 * nothing a searcher sees and saves a statement per notification under load (with a pool of
 * its own a re-read came back in 3 ms, and the next one went out at once: 363 a second in a
 * booking race, against 48 while it queued with the requests). */
#define SYNC_REREAD_GAP_MS 20
/* The periodic re-read reads the nights of pools whose checksums differed this many pools a
 * statement, the next after this pause. */
#define SYNC_SLICE_POOLS 100u
#define SYNC_SLICE_GAP_MS 20
/* Beyond this many nights waiting to be read again a full reload is cheaper and safer. */
#define SYNC_MAX_DIRTY 200000
/* Every night is read again this often by default (LOGEER_INDEX_RECONCILE_S). */
#define SYNC_RECONCILE_DEFAULT_S 300u
/* How often the window checks the calendar (and a test clock its file). */
#define SYNC_ROLL_CHECK_MS 1000u
#define SYNC_ROLL_CHECK_TEST_MS 100u
/* A failed load is retried as a full load after this delay, doubling up to the maximum. */
#define SYNC_RETRY_FIRST_MS 250u
#define SYNC_RETRY_MAX_MS 5000u

/* A night some commit changed, waiting to be read again. */
struct dirty_night {
    char pool_id[CORE_ID_LEN];
    date_day night;
};

struct inventory_sync {
    struct event_base *base;
    struct db_pool *pool;
    struct core_index *index;
    struct db_listener *listener;
    bool ready;               /* the first full load has been applied */
    int loads_in_flight;      /* full or single-pool loads not yet applied */
    struct dirty_night *dirty; /* nights notified and not yet asked for again */
    size_t ndirty, capdirty;
    struct event *reread;     /* activated by a notification: reads the dirty nights once the
                                 loop has taken in every notification it received at once;
                                 a timer while the last re-read is under SYNC_REREAD_GAP_MS old */
    long long reread_at_ms;   /* when the last re-read was sent (monotonic) */
    struct event *reconcile;  /* persistent: every night read again (lost notifications) */
    struct event *slice;      /* the periodic re-read's next slice of pools is due */
    bool slicing;             /* a periodic re-read is going on */
    date_day slice_first;     /* the window's first night when its running read was asked */
    char *differ;             /* ids (CORE_ID_LEN apart) of the pools whose checksums differed */
    size_t ndiffer, differ_next, differ_chunk; /* how many; the next to read; in the running read */
    unsigned slice_pools;     /* differing pools' nights a statement (SYNC_SLICE_POOLS; a test
                                 makes it small) */
    unsigned long long out_of_step; /* pools found differing, since start (/metrics) */
    bool reload_again;        /* too many dirty nights: do another full load afterwards */
    struct load *queue_head, *queue_tail; /* loads waiting for the one running */
    bool loading;             /* a load of the queue is running */
    struct event *retry;      /* pending while a failed load waits to be redone */
    unsigned retry_ms;        /* delay before the next retry */
    struct event *roll;       /* the calendar check, persistent */
    bool rolling;             /* a roll's nights are being loaded */
    char *clock_file;         /* LOGEER_TEST_CLOCK_FILE, or NULL */
    unsigned notify_delay_ms; /* LOGEER_TEST_NOTIFY_DELAY_MS: notifications applied this late */
    struct late_notify *late_head, *late_tail; /* delayed notifications, oldest first */
    struct event *late;       /* fires when the oldest delayed notification is due */
};

/* A notification held back by the test delay (a process whose notifications run late). */
struct late_notify {
    uint64_t due_ms;
    struct late_notify *next;
    char payload[];
};

/* Someone waiting for a load to be applied: a request that changed what it loads. */
struct load_waiter {
    inventory_sync_cb done;
    void *arg;
    struct load_waiter *next;
};

/* One load: all pools (pool_id "") or one pool, or the pools of one location or provider. */
struct load {
    struct inventory_sync *sync;
    char pool_id[CORE_ID_LEN], location_id[CORE_ID_LEN], provider_id[CORE_ID_LEN];
    bool with_nights;
    date_day first;           /* the window's first night when the nights were asked for */
    struct load_waiter *waiters; /* told once it is applied or has failed */
    struct load *next;        /* the queue of loads */
};

static const char pools_sql[] =
    "SELECT p.id, p.provider_id, p.location_id, l.municipality, p.name, l.name, v.name, "
    "l.lat, l.lon, p.kind::text, p.booking_mode::text, array_to_string(p.care_profiles, ','), "
    "array_to_string(p.funding, ','), array_to_string(p.wmo_municipalities, ','), "
    "array_to_string(l.facilities, ','), array_to_string(l.exclusions, ','), p.min_nights, "
    "p.max_nights, p.lead_days, p.horizon_days, extract(epoch FROM p.as_of)::bigint, p.active, "
    "p.intake_required, array_to_string(p.arrival_weekdays, ','), "
    "(SELECT string_agg((b->>'arrive') || ':' || (b->>'nights'), ',' ORDER BY i) "
    "FROM jsonb_array_elements(p.blocks) WITH ORDINALITY AS t (b, i)), "
    "p.check_in_window, p.check_out_window, p.companion_places, "
    "coalesce(p.free_cancel_days, -1), p.allowance_required "
    "FROM pools p JOIN locations l ON l.id = p.location_id JOIN providers v ON v.id = p.provider_id "
    "WHERE ($1::uuid IS NULL OR p.id = $1) AND ($2::uuid IS NULL OR p.location_id = $2) "
    "AND ($3::uuid IS NULL OR p.provider_id = $3)";

/* The nights that notifications named, read again; a night without a row has no beds. */
static const char reread_sql[] =
    "SELECT d.pool_id, to_char(d.night, 'YYYY-MM-DD'), "
    "coalesce(greatest(n.capacity - n.held - n.booked, 0), 0) "
    "FROM unnest($1::uuid[], $2::date[]) AS d (pool_id, night) "
    "LEFT JOIN pool_nights n ON n.pool_id = d.pool_id AND n.night = d.night";

/* Nights as "offset:free" pairs, one row per pool: a few KiB per pool instead of one row per
 * night keeps the national load (millions of nights) small in memory and on the wire. */
static const char nights_sql[] =
    "SELECT pool_id, string_agg((night - $1::date)::text || ':' || "
    "greatest(capacity - held - booked, 0)::text, ',') FROM pool_nights "
    "WHERE night >= $1::date AND night < $2::date AND ($3::uuid IS NULL OR pool_id = $3) "
    "GROUP BY pool_id";

/* The periodic re-read: every pool with the checksum of its nights in the window
 * (core_index_checksums: the same terms, the same prime), in one statement that reads
 * the table once. Sums, not nights: read pool by pool as text, the nights of the national data
 * set cost PostgreSQL 11-15 s of a core every period (each pool's nights lie on blocks of their
 * own, 730 block reads a pool), and the index a call per night to take them in, to find that
 * nearly always nothing differed; the sums take about half a second. */
#define SYNC_TEXT_(x) #x
#define SYNC_TEXT(x) SYNC_TEXT_(x)
#define SYNC_P SYNC_TEXT(CORE_NIGHTS_TERM_P)
static const char sums_sql[] =
    "SELECT p.id, coalesce(c.sum, 0) FROM pools p LEFT JOIN ("
    "SELECT n.pool_id, sum((t.x * t.x % " SYNC_P " * t.x % " SYNC_P ")::int) AS sum "
    "FROM pool_nights n CROSS JOIN LATERAL (SELECT (n.night - $1::date)::bigint * "
    SYNC_TEXT(CORE_NIGHTS_TERM_SHIFT) " + "
    "(n.capacity - n.held - n.booked) AS x) t "
    "WHERE n.night >= $1::date AND n.night < $2::date AND n.capacity - n.held - n.booked > 0 "
    "GROUP BY n.pool_id) c ON c.pool_id = p.id";

/* The nights of the pools whose checksums differed, as nights_sql writes them (an empty string
 * for a pool without nights in the window). */
static const char pools_nights_sql[] =
    "SELECT p.id, coalesce((SELECT string_agg((n.night - $1::date)::text || ':' || "
    "greatest(n.capacity - n.held - n.booked, 0)::text, ',') FROM pool_nights n "
    "WHERE n.pool_id = p.id AND n.night >= $1::date AND n.night < $2::date), '') "
    "FROM unnest($3::uuid[]) AS p (id)";

int inventory_sync_prepare(struct db_pool *pool)
{
    if (db_pool_prepare(pool, "sync_pools", pools_sql) != 0 ||
        db_pool_prepare(pool, "sync_sums", sums_sql) != 0 ||
        db_pool_prepare(pool, "sync_pools_nights", pools_nights_sql) != 0 ||
        db_pool_prepare(pool, "sync_reread", reread_sql) != 0)
        return -1;
    return db_pool_prepare(pool, "sync_nights", nights_sql);
}

bool inventory_sync_ready(const struct inventory_sync *s) { return s->ready; }

unsigned long long inventory_sync_out_of_step(const struct inventory_sync *s)
{
    return s ? s->out_of_step : 0;
}

static struct load *start_load(struct inventory_sync *s, const char *pool_id,
                               const char *location_id, const char *provider_id,
                               bool with_nights);

/* Arrival days "1,5" as bits 1 << (ISO weekday - 1). */
static uint8_t weekday_bits(const char *csv)
{
    unsigned bits = 0;
    for (const char *p = csv; *p; p++)
        if (*p >= '1' && *p <= '7')
            bits |= 1u << (*p - '1');
    return (uint8_t)bits;
}

/* Blocks "1:2,3:2,5:3" (arrive:nights, as pools_sql writes them); the database checked them
 * (pools_blocks_shape), anything else is skipped. */
static void parse_blocks(struct core_pool *p, const char *text)
{
    const char *s = text;
    p->nblocks = 0;
    while (*s && p->nblocks < CORE_MAX_BLOCKS) {
        char *end;
        long arrive = strtol(s, &end, 10);
        if (*end != ':')
            break;
        long nights = strtol(end + 1, &end, 10);
        if (arrive >= 1 && arrive <= 7 && nights >= 1 && nights <= CORE_BLOCK_MAX_NIGHTS)
            p->blocks[p->nblocks++] = (struct core_block){(uint8_t)arrive, (uint8_t)nights};
        if (*end != ',')
            break;
        s = end + 1;
    }
}

static void apply_pool_row(struct inventory_sync *s, const PGresult *r, int i)
{
    struct core_pool p = {0};
    snprintf(p.id, sizeof p.id, "%s", db_value(r, i, 0));
    snprintf(p.provider_id, sizeof p.provider_id, "%s", db_value(r, i, 1));
    snprintf(p.location_id, sizeof p.location_id, "%s", db_value(r, i, 2));
    snprintf(p.municipality, sizeof p.municipality, "%s", db_value(r, i, 3));
    p.pool_name = (char *)db_value(r, i, 4);
    p.location_name = (char *)db_value(r, i, 5);
    p.provider_name = (char *)db_value(r, i, 6);
    p.lat = atof(db_value(r, i, 7));
    p.lon = atof(db_value(r, i, 8));
    p.kind = core_name_index(core_kind_names, db_value(r, i, 9)) == KIND_CRISIS ? KIND_CRISIS
                                                                                : KIND_PLANNED;
    p.mode = core_name_index(core_mode_names, db_value(r, i, 10)) == MODE_INSTANT ? MODE_INSTANT
                                                                                  : MODE_APPROVAL;
    long profiles = core_bits_from_csv(core_care_profile_names, db_value(r, i, 11));
    long funding = core_bits_from_csv(core_funding_names, db_value(r, i, 12));
    p.care_profiles = profiles > 0 ? (uint32_t)profiles : 0;
    p.funding = funding > 0 ? (uint32_t)funding : 0;
    p.wmo_municipalities = (char *)db_value(r, i, 13);
    p.facilities = (char *)db_value(r, i, 14);
    p.exclusions = (char *)db_value(r, i, 15);
    p.min_nights = atoi(db_value(r, i, 16));
    p.max_nights = atoi(db_value(r, i, 17));
    p.lead_days = atoi(db_value(r, i, 18));
    p.horizon_days = atoi(db_value(r, i, 19));
    p.as_of = (time_t)atoll(db_value(r, i, 20));
    p.active = db_value(r, i, 21)[0] == 't';
    p.intake_required = db_value(r, i, 22)[0] == 't';
    p.arrival_days = weekday_bits(db_value(r, i, 23));
    parse_blocks(&p, db_value(r, i, 24));
    snprintf(p.check_in_window, sizeof p.check_in_window, "%s", db_value(r, i, 25));
    snprintf(p.check_out_window, sizeof p.check_out_window, "%s", db_value(r, i, 26));
    p.companion_places = atoi(db_value(r, i, 27));
    p.free_cancel_days = atoi(db_value(r, i, 28));
    p.allowance_required = db_value(r, i, 29)[0] == 't';
    if (core_index_put_pool(s->index, &p) != 0)
        log_error("availability index: out of memory adding pool %s", p.id);
}

/* One row of nights_sql: "offset:free" pairs from first, each handed to set (the index's own
 * nights, or a roll's new ones). */
static void apply_nights_row(struct inventory_sync *s, struct core_roll *roll, date_day first,
                             const char *pool_id, const char *pairs)
{
    const char *p = pairs;
    while (*p) {
        char *end;
        long off = strtol(p, &end, 10);
        if (*end != ':')
            break;
        long free_beds = strtol(end + 1, &end, 10);
        if (roll)
            core_roll_set_free(roll, s->index, pool_id, first + (date_day)off, (int)free_beds);
        else
            core_index_set_free(s->index, pool_id, first + (date_day)off, (int)free_beds);
        if (*end != ',')
            break;
        p = end + 1;
    }
}

static void start_reread(struct inventory_sync *s);
static void load_done(struct load *l, bool ok);

/* A failed load leaves the index without what it was to bring, and nothing else would bring
 * it: the listener may well have reconnected before the pool's connections did (after a
 * database restart), so its load failed at once and the next reconnect may never come. Redo
 * it as a full load, with backoff while the database stays away. */
static void retry_later(struct inventory_sync *s)
{
    if (evtimer_pending(s->retry, NULL))
        return;
    struct timeval tv = {.tv_sec = s->retry_ms / 1000, .tv_usec = (s->retry_ms % 1000) * 1000};
    evtimer_add(s->retry, &tv);
    s->retry_ms = s->retry_ms >= SYNC_RETRY_MAX_MS / 2 ? SYNC_RETRY_MAX_MS : s->retry_ms * 2;
}

static void retry_now(evutil_socket_t fd, short what, void *arg)
{
    start_load(arg, NULL, NULL, NULL, true);
}

/* A load finished (applied or failed): replay what arrived meanwhile once nothing is left. */
static void load_finished(struct inventory_sync *s, bool ok, bool full)
{
    s->loads_in_flight--;
    if (!ok)
        retry_later(s);
    else if (full)
        s->retry_ms = SYNC_RETRY_FIRST_MS;
    if (ok && full && !s->ready) {
        s->ready = true;
        log_info("availability index loaded: %zu pools", core_index_pool_count(s->index));
    }
    if (s->loads_in_flight > 0)
        return;
    if (s->reload_again) {
        /* Its snapshot is newer than every commit notified so far. */
        s->reload_again = false;
        s->ndirty = 0;
        start_load(s, NULL, NULL, NULL, true);
        return;
    }
    start_reread(s);
}

static void nights_loaded(const struct db_result *r, void *arg)
{
    struct load *l = arg;
    struct inventory_sync *s = l->sync;
    bool ok = r->status == DB_OK;
    if (ok) {
        /* The offsets count from the night the query started at: a roll may have moved the
         * window since (set_free ignores what has left it). */
        for (int i = 0; i < PQntuples(r->res); i++)
            apply_nights_row(s, NULL, l->first, db_value(r->res, i, 0), db_value(r->res, i, 1));
    } else {
        log_warn("availability index: loading nights failed: %s", r->message);
    }
    load_done(l, ok);
}

/* The window's nights of the load's pool (all pools when it names none). */
static void query_nights(struct load *l)
{
    struct inventory_sync *s = l->sync;
    char from[DATE_TEXT_LEN], to[DATE_TEXT_LEN];
    l->first = core_index_first_day(s->index);
    date_format(l->first, from);
    date_format(l->first + core_index_ndays(s->index), to);
    const char *params[] = {from, to, l->pool_id[0] ? l->pool_id : NULL};
    db_query(s->pool, "sync_nights", 3, params, nights_loaded, l);
}

static void pools_loaded(const struct db_result *r, void *arg)
{
    struct load *l = arg;
    if (r->status != DB_OK) {
        log_warn("availability index: loading pools failed: %s", r->message);
        load_done(l, false);
        return;
    }
    for (int i = 0; i < PQntuples(r->res); i++)
        apply_pool_row(l->sync, r->res, i);
    if (!l->with_nights) {
        load_done(l, true);
        return;
    }
    query_nights(l);
}

static bool load_is_full(const struct load *l)
{
    return !l->pool_id[0] && !l->location_id[0] && !l->provider_id[0];
}

/* Runs the oldest queued load unless one runs. One at a time, in the order asked for: each
 * starts after the notification that asked for it arrived, so its snapshot has that commit,
 * and none can overwrite a newer load's descriptions with an older snapshot's (two renames
 * in a row, loaded on two connections at once, could otherwise end with the first). */
static void issue_load(struct inventory_sync *s)
{
    struct load *l = s->queue_head;
    if (s->loading || !l)
        return;
    s->queue_head = l->next;
    if (!s->queue_head)
        s->queue_tail = NULL;
    s->loading = true;
    const char *params[] = {l->pool_id[0] ? l->pool_id : NULL,
                            l->location_id[0] ? l->location_id : NULL,
                            l->provider_id[0] ? l->provider_id : NULL};
    db_query(s->pool, "sync_pools", 3, params, pools_loaded, l);
}

/* Tells and frees every waiter of l. */
static void tell_waiters(struct load *l, bool ok)
{
    while (l->waiters) {
        struct load_waiter *w = l->waiters;
        l->waiters = w->next;
        w->done(w->arg, ok);
        free(w);
    }
}

/* The running load is done: its waiters are told, the next one starts, then whatever waits
 * for all loads. */
static void load_done(struct load *l, bool ok)
{
    struct inventory_sync *s = l->sync;
    bool full = load_is_full(l);
    tell_waiters(l, ok);
    free(l);
    s->loading = false;
    issue_load(s);
    load_finished(s, ok, full);
}

static bool same_load(const struct load *l, const char *pool_id, const char *location_id,
                      const char *provider_id)
{
    return strcmp(l->pool_id, pool_id ? pool_id : "") == 0 &&
           strcmp(l->location_id, location_id ? location_id : "") == 0 &&
           strcmp(l->provider_id, provider_id ? provider_id : "") == 0;
}

/* Queues a load (or finds a queued one that covers it) and returns it; NULL without memory. */
static struct load *start_load(struct inventory_sync *s, const char *pool_id,
                               const char *location_id, const char *provider_id,
                               bool with_nights)
{
    /* A queued load that has not started covers a new request for the same rows, and a
     * queued full load covers every request it reads enough for: it starts later, so its
     * snapshot has whatever made the new request. (A request for a pool's nights does not
     * turn the periodic re-read's quick read of descriptions into a read of every night.) */
    for (struct load *q = s->queue_head; q; q = q->next) {
        if ((load_is_full(q) && (q->with_nights || !with_nights)) ||
            same_load(q, pool_id, location_id, provider_id)) {
            q->with_nights |= with_nights;
            return q;
        }
    }
    struct load *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->sync = s;
    l->with_nights = with_nights;
    snprintf(l->pool_id, sizeof l->pool_id, "%s", pool_id ? pool_id : "");
    snprintf(l->location_id, sizeof l->location_id, "%s", location_id ? location_id : "");
    snprintf(l->provider_id, sizeof l->provider_id, "%s", provider_id ? provider_id : "");
    s->loads_in_flight++;
    if (s->queue_tail)
        s->queue_tail->next = l;
    else
        s->queue_head = l;
    s->queue_tail = l;
    issue_load(s);
    return l;
}

/* Queues a load as start_load does and calls done once it is applied or has failed (at once
 * with false when there is no memory for it). */
static void load_and_tell(struct inventory_sync *s, const char *pool_id, const char *location_id,
                          const char *provider_id, bool with_nights, inventory_sync_cb done,
                          void *arg)
{
    struct load_waiter *w = calloc(1, sizeof *w);
    /* Attached after start_load may have issued the load: that is safe, since a query's
     * result (a failure too) comes on a later turn of the loop, never inside db_query. */
    struct load *l = w ? start_load(s, pool_id, location_id, provider_id, with_nights) : NULL;
    if (!l) {
        free(w);
        done(arg, false);
        return;
    }
    w->done = done;
    w->arg = arg;
    w->next = l->waiters;
    l->waiters = w;
}

void inventory_sync_reload(struct inventory_sync *s, enum sync_scope scope, const char *id,
                           inventory_sync_cb done, void *arg)
{
    load_and_tell(s, scope == SYNC_POOL ? id : NULL, scope == SYNC_LOCATION ? id : NULL,
                  scope == SYNC_PROVIDER ? id : NULL, scope == SYNC_POOL, done, arg);
}

/* Copies the id after "x:" if it looks like a uuid. */
static bool take_id(const char *payload, char out[CORE_ID_LEN])
{
    size_t len = strcspn(payload + 2, ":");
    if (len != CORE_ID_LEN - 1)
        return false;
    memcpy(out, payload + 2, len);
    out[len] = '\0';
    return true;
}

static void sums_loaded(const struct db_result *r, void *arg);
static void differing_loaded(const struct db_result *r, void *arg);

/* Asks for every pool's checksum of its nights in the window, in one statement. A read of
 * nights like the others: it counts as a load in flight, so nights notified meanwhile are read
 * again after it. */
static void query_sums(struct inventory_sync *s)
{
    char from[DATE_TEXT_LEN], to[DATE_TEXT_LEN];
    s->slice_first = core_index_first_day(s->index);
    date_format(s->slice_first, from);
    date_format(s->slice_first + core_index_ndays(s->index), to);
    const char *params[] = {from, to};
    s->loads_in_flight++;
    db_query(s->pool, "sync_sums", 2, params, sums_loaded, s);
}

/* The periodic re-read is over (done, or failed and left to the full load that follows). */
static void reread_over(struct inventory_sync *s)
{
    free(s->differ);
    s->differ = NULL;
    s->ndiffer = s->differ_next = s->differ_chunk = 0;
    s->slicing = false;
}

/* "{id,id}": the n pool ids that lie stride bytes apart from first, as a PostgreSQL array;
 * NULL without memory. */
static char *uuid_array(const char *first, size_t stride, size_t n)
{
    char *text = malloc(n * CORE_ID_LEN + 3), *p = text;
    if (!text)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        const char *id = first + i * stride;
        size_t len = strlen(id);
        if (i)
            *p++ = ',';
        memcpy(p, id, len);
        p += len;
    }
    memcpy(p, "}", 2);
    return text;
}

/* The nights of the next slice_pools pools whose checksums differed, in one statement; the
 * next slice after a pause. A read of nights: a load in flight. */
static void query_differing(struct inventory_sync *s)
{
    size_t end = s->differ_next + s->slice_pools;
    if (end > s->ndiffer)
        end = s->ndiffer;
    char *ids = uuid_array(s->differ + s->differ_next * CORE_ID_LEN, CORE_ID_LEN,
                           end - s->differ_next);
    if (!ids) {
        reread_over(s);
        retry_later(s); /* without memory: a full load reads every night */
        return;
    }
    s->differ_chunk = end - s->differ_next;
    char from[DATE_TEXT_LEN], to[DATE_TEXT_LEN];
    s->slice_first = core_index_first_day(s->index);
    date_format(s->slice_first, from);
    date_format(s->slice_first + core_index_ndays(s->index), to);
    const char *params[] = {from, to, ids};
    s->loads_in_flight++;
    db_query(s->pool, "sync_pools_nights", 3, params, differing_loaded, s);
    free(ids);
}

/* Every pool's checksum is in: those that differ from the index's (a notification lost, or
 * one still on its way, the index then newer than the sums; or every pool, when the window
 * rolled meanwhile) are kept, and their nights read. A failure is redone as a full load. */
static void sums_loaded(const struct db_result *r, void *arg)
{
    struct inventory_sync *s = arg;
    bool ok = r->status == DB_OK;
    int n = ok ? PQntuples(r->res) : 0;
    if (!ok)
        log_warn("availability index: reading the nights' checksums failed: %s", r->message);
    else if (n > 0 && !(s->differ = malloc((size_t)n * CORE_ID_LEN)))
        ok = false;
    /* Without the index's sums (the window rolled meanwhile, or no memory) every pool is
     * taken as differing: its nights are read, as before checksums. */
    struct core_checksums *mine = ok ? core_index_checksums(s->index, s->slice_first,
                                                            core_index_ndays(s->index)) : NULL;
    for (int i = 0; ok && i < n; i++) {
        const char *id = db_value(r->res, i, 0);
        long long sum;
        if (mine && core_checksums_get(mine, s->index, id, &sum) == 0 &&
            sum == strtoll(db_value(r->res, i, 1), NULL, 10))
            continue;
        snprintf(s->differ + s->ndiffer++ * CORE_ID_LEN, CORE_ID_LEN, "%s", id);
    }
    bool summed = mine != NULL;
    core_checksums_free(mine);
    if (ok && summed)
        s->out_of_step += s->ndiffer; /* not the whole index read again after a roll */
    if (ok && s->ndiffer > 0)
        log_info("availability index: the periodic re-read reads the nights of %zu pool(s) "
                 "whose checksum differed", s->ndiffer);
    bool more = ok && s->ndiffer > 0;
    if (!more)
        reread_over(s);
    load_finished(s, ok, false);
    if (more)
        query_differing(s);
}

static void differing_loaded(const struct db_result *r, void *arg)
{
    struct inventory_sync *s = arg;
    bool ok = r->status == DB_OK;
    if (ok) {
        for (int i = 0; i < PQntuples(r->res); i++)
            apply_nights_row(s, NULL, s->slice_first, db_value(r->res, i, 0),
                             db_value(r->res, i, 1));
    } else {
        log_warn("availability index: re-reading nights failed: %s", r->message);
    }
    s->differ_next += s->differ_chunk;
    bool more = ok && s->differ_next < s->ndiffer;
    if (!more)
        reread_over(s); /* a failure is retried as a full load by load_finished */
    load_finished(s, ok, false);
    if (more) {
        struct timeval gap = {0, SYNC_SLICE_GAP_MS * 1000};
        evtimer_add(s->slice, &gap);
    }
}

static void slice_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    query_differing(arg);
}

/* The periodic re-read's descriptions are in (a pool whose creation was not notified is now
 * known, so its nights are not passed over): the nights' checksums follow. A failed read is
 * redone as a full load (load_finished), which reads every night as well. */
static void descriptions_read(void *arg, bool ok)
{
    struct inventory_sync *s = arg;
    if (!ok) {
        s->slicing = false;
        return;
    }
    query_sums(s);
}

/* Everything is read again: a notification lost between a commit and its sending leaves
 * nothing else that would bring that change. Pools too (their changes are notified after
 * commit as well; rendering each pool's search answer again once per period costs little),
 * all in one quick read through the load queue; then the nights, a slice at a time. */
static void reconcile_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct inventory_sync *s = arg;
    if (!s->ready)
        return;
    if (s->slicing) {
        /* The last period's nights are still being read: they go on from where they are. */
        start_load(s, NULL, NULL, NULL, false);
        return;
    }
    s->slicing = true;
    load_and_tell(s, NULL, NULL, NULL, false, descriptions_read, s);
}

static int dirty_cmp(const void *a, const void *b)
{
    const struct dirty_night *x = a, *y = b;
    int c = strcmp(x->pool_id, y->pool_id);
    return c ? c : (x->night > y->night) - (x->night < y->night);
}

static void reread_done(const struct db_result *r, void *arg)
{
    struct inventory_sync *s = arg;
    bool ok = r->status == DB_OK;
    if (ok) {
        for (int i = 0; i < PQntuples(r->res); i++) {
            const char *id = db_value(r->res, i, 0);
            date_day night;
            if (!date_parse(db_value(r->res, i, 1), &night))
                continue;
            /* An unknown pool was just created: its description and nights load together. */
            if (core_index_set_free(s->index, id, night, atoi(db_value(r->res, i, 2))) != 0)
                start_load(s, id, NULL, NULL, true);
        }
    } else {
        log_warn("availability index: reading changed nights failed: %s", r->message);
    }
    load_finished(s, ok, false);
}

/* True when the last re-read went out less than SYNC_REREAD_GAP_MS ago; the re-read is then
 * due when the gap is over (the dirty nights wait for it). */
static bool reread_paced(struct inventory_sync *s)
{
    long long since = clock_monotonic_ms() - s->reread_at_ms;
    if (since >= SYNC_REREAD_GAP_MS)
        return false;
    if (!evtimer_pending(s->reread, NULL)) {
        struct timeval tv = {0, (suseconds_t)((SYNC_REREAD_GAP_MS - since) * 1000)};
        evtimer_add(s->reread, &tv);
    }
    return true;
}

/* Asks for the dirty nights, once no other read is in flight (see the top of the file). */
static void start_reread(struct inventory_sync *s)
{
    if (s->loads_in_flight > 0 || s->ndirty == 0 || reread_paced(s))
        return;
    s->reread_at_ms = clock_monotonic_ms();
    qsort(s->dirty, s->ndirty, sizeof *s->dirty, dirty_cmp);
    size_t n = 0;
    for (size_t i = 0; i < s->ndirty; i++)
        if (n == 0 || dirty_cmp(&s->dirty[n - 1], &s->dirty[i]) != 0)
            s->dirty[n++] = s->dirty[i];
    /* "{id,id}" and "{date,date}" */
    char *ids = uuid_array(s->dirty[0].pool_id, sizeof *s->dirty, n);
    char *days = malloc(n * DATE_TEXT_LEN + 3);
    if (!ids || !days) {
        free(ids);
        free(days);
        s->reload_again = true;
        s->ndirty = 0;
        s->loads_in_flight++;
        load_finished(s, true, false);
        return;
    }
    char *pd = days;
    *pd++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *pd++ = ',';
        date_format(s->dirty[i].night, pd);
        pd += strlen(pd);
    }
    memcpy(pd, "}", 2);
    s->ndirty = 0;
    s->loads_in_flight++;
    const char *params[] = {ids, days};
    db_query(s->pool, "sync_reread", 2, params, reread_done, s);
    free(ids);
    free(days);
}

static void reread_now(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_reread(arg);
}

static void mark_dirty(struct inventory_sync *s, const char *pool_id, date_day night)
{
    if (s->reload_again)
        return; /* a full load follows, and covers it */
    if (s->ndirty == s->capdirty) {
        size_t cap = s->capdirty ? s->capdirty * 2 : 256;
        struct dirty_night *d =
            cap <= SYNC_MAX_DIRTY ? realloc(s->dirty, cap * sizeof *d) : NULL;
        if (!d) {
            s->reload_again = true;
            s->ndirty = 0;
            if (s->loads_in_flight == 0) {
                s->loads_in_flight++;
                load_finished(s, true, false);
            }
            return;
        }
        s->dirty = d;
        s->capdirty = cap;
    }
    struct dirty_night *d = &s->dirty[s->ndirty++];
    memcpy(d->pool_id, pool_id, CORE_ID_LEN);
    d->night = night;
    if (!evtimer_pending(s->reread, NULL)) /* else a paced re-read is already due */
        event_active(s->reread, EV_TIMEOUT, 0);
}

/* 'n:<pool>:<YYYY-MM-DD>:<free>' (also without ':<free>'). The value is applied at once but
 * not trusted: the night is read again, and that read has the last word. */
static bool apply_night(struct inventory_sync *s, const char *payload)
{
    char id[CORE_ID_LEN], date[DATE_TEXT_LEN];
    if (!take_id(payload, id))
        return false;
    const char *rest = payload + 2 + CORE_ID_LEN - 1;
    if (rest[0] != ':' || strlen(rest) < 11 || (rest[11] != '\0' && rest[11] != ':'))
        return false;
    memcpy(date, rest + 1, 10);
    date[10] = '\0';
    date_day night;
    if (!date_parse(date, &night))
        return false;
    if (rest[11] == ':') {
        char *end;
        long free_beds = strtol(rest + 12, &end, 10);
        if (end == rest + 12 || *end != '\0')
            return false;
        /* Shown at once, as fast as before 0044; the read that follows corrects it should
         * an older commit's notification have come last. An unknown pool was just created:
         * its description and nights load together. */
        if (core_index_set_free(s->index, id, night, (int)free_beds) != 0)
            start_load(s, id, NULL, NULL, true);
    }
    mark_dirty(s, id, night);
    return true;
}

static bool apply_now(struct inventory_sync *s, const char *payload)
{
    char id[CORE_ID_LEN];
    switch (payload[0] && payload[1] == ':' ? payload[0] : '\0') {
    case 'n':
        return apply_night(s, payload);
    case 'p':
        if (!take_id(payload, id))
            return false;
        start_load(s, id, NULL, NULL, core_index_pool(s->index, id) == NULL);
        return true;
    case 'l':
        if (!take_id(payload, id))
            return false;
        start_load(s, NULL, id, NULL, false);
        return true;
    case 'v':
        if (!take_id(payload, id))
            return false;
        start_load(s, NULL, NULL, id, false);
        return true;
    default:
        return false;
    }
}

bool inventory_sync_apply(struct inventory_sync *s, const char *payload)
{
    return apply_now(s, payload);
}

static void apply_or_warn(struct inventory_sync *s, const char *payload)
{
    if (!inventory_sync_apply(s, payload))
        log_warn("availability index: ignoring malformed notification '%.80s'", payload);
}

static void arm_late(struct inventory_sync *s)
{
    if (!s->late_head)
        return;
    uint64_t now = (uint64_t)clock_monotonic_ms();
    uint64_t wait = s->late_head->due_ms > now ? s->late_head->due_ms - now : 0;
    struct timeval tv = {(time_t)(wait / 1000u), (suseconds_t)(wait % 1000u) * 1000};
    evtimer_add(s->late, &tv);
}

/* Applies the delayed notifications that are due, in the order they arrived. */
static void late_due(evutil_socket_t fd, short what, void *arg)
{
    struct inventory_sync *s = arg;
    uint64_t now = (uint64_t)clock_monotonic_ms();
    while (s->late_head && s->late_head->due_ms <= now) {
        struct late_notify *n = s->late_head;
        s->late_head = n->next;
        if (!s->late_head)
            s->late_tail = NULL;
        apply_or_warn(s, n->payload);
        free(n);
    }
    arm_late(s);
}

static void hold_back(struct inventory_sync *s, const char *payload)
{
    size_t len = strlen(payload) + 1;
    struct late_notify *n = malloc(sizeof *n + len);
    if (!n) {
        apply_or_warn(s, payload);
        return;
    }
    n->due_ms = (uint64_t)clock_monotonic_ms() + s->notify_delay_ms;
    n->next = NULL;
    memcpy(n->payload, payload, len);
    bool first = !s->late_head;
    if (s->late_tail)
        s->late_tail->next = n;
    else
        s->late_head = n;
    s->late_tail = n;
    if (first)
        arm_late(s);
}

static void on_notify(const char *channel, const char *payload, void *arg)
{
    struct inventory_sync *s = arg;
    if (s->notify_delay_ms && s->late)
        hold_back(s, payload);
    else
        apply_or_warn(s, payload);
}

void inventory_sync_set_notify_delay(struct inventory_sync *s, unsigned ms)
{
    if (!s->late)
        s->late = evtimer_new(s->base, late_due, s);
    s->notify_delay_ms = ms;
}

/* A roll in flight: the new nights being loaded, aside from the index. */
struct roll_load {
    struct inventory_sync *sync;
    struct core_roll *roll;
    date_day from;            /* the query's first night: offsets count from it */
};

/* The roll's nights arrived: fill them in aside and swap them in, in one step between two
 * searches. A failed load drops the roll; the next calendar check starts it again, and a
 * notification for its nights that came meanwhile is in the database it will read. */
static void roll_loaded(const struct db_result *r, void *arg)
{
    struct roll_load *l = arg;
    struct inventory_sync *s = l->sync;
    s->rolling = false;
    if (r->status == DB_OK) {
        for (int i = 0; i < PQntuples(r->res); i++)
            apply_nights_row(s, l->roll, l->from, db_value(r->res, i, 0),
                             db_value(r->res, i, 1));
        if (core_index_roll_commit(s->index, l->roll) == 0) {
            char first[DATE_TEXT_LEN];
            date_format(core_index_first_day(s->index), first);
            log_info("availability index: the window now starts at %s (%d nights)", first,
                     core_index_ndays(s->index));
            l->roll = NULL;
        } else {
            log_error("availability index: out of memory rolling the window");
        }
    } else {
        log_warn("availability index: loading the nights for the next day failed: %s",
                 r->message);
    }
    core_roll_free(l->roll);
    free(l);
    load_finished(s, true, false);
}

/* Every SYNC_ROLL_CHECK_MS: when the service's today has moved past the window's, load the
 * nights the window gains. Until they are in, searches keep the old window and its today
 * (core_index_today), so rules and nights agree. */
static void roll_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct inventory_sync *s = arg;
    if (s->clock_file)
        date_test_clock_read(s->clock_file);
    date_day first = date_today_local() - CORE_INDEX_DAYS_BEFORE;
    if (!s->ready || s->rolling || first <= core_index_first_day(s->index))
        return;
    struct roll_load *l = calloc(1, sizeof *l);
    if (l)
        l->roll = core_index_roll_begin(s->index, first);
    if (!l || !l->roll) {
        free(l);
        log_error("availability index: out of memory rolling the window");
        return;
    }
    l->sync = s;
    date_day to;
    core_roll_range(l->roll, &l->from, &to);
    char from_text[DATE_TEXT_LEN], to_text[DATE_TEXT_LEN];
    date_format(l->from, from_text);
    date_format(to, to_text);
    s->rolling = true;
    s->loads_in_flight++;
    const char *params[] = {from_text, to_text, NULL};
    db_query(s->pool, "sync_nights", 3, params, roll_loaded, l);
}

void inventory_sync_set_clock_file(struct inventory_sync *s, const char *path)
{
    free(s->clock_file);
    s->clock_file = path ? strdup(path) : NULL;
    struct timeval tv = {0, (s->clock_file ? SYNC_ROLL_CHECK_TEST_MS : SYNC_ROLL_CHECK_MS) * 1000};
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec = tv.tv_usec / 1000000;
        tv.tv_usec %= 1000000;
    }
    evtimer_add(s->roll, &tv);
}

/* After every (re)connect: notifications sent while we were away are lost, so reload all. */
static void on_listen(void *arg)
{
    start_load(arg, NULL, NULL, NULL, true);
}

static void sync_free_events(struct inventory_sync *s)
{
    struct event *evs[] = {s->retry, s->roll, s->reread, s->reconcile, s->slice, s->late};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i])
            event_free(evs[i]);
}

struct inventory_sync *inventory_sync_new(struct event_base *base, struct db_pool *pool,
                                          const char *conninfo, struct core_index *index)
{
    struct inventory_sync *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    s->pool = pool;
    s->index = index;
    s->retry_ms = SYNC_RETRY_FIRST_MS;
    s->retry = evtimer_new(base, retry_now, s);
    s->roll = event_new(base, -1, EV_PERSIST, roll_check, s);
    s->reread = event_new(base, -1, 0, reread_now, s);
    s->reconcile = event_new(base, -1, EV_PERSIST, reconcile_due, s);
    s->slice = evtimer_new(base, slice_due, s);
    s->slice_pools = SYNC_SLICE_POOLS;
    if (s->retry && s->roll && s->reread && s->reconcile && s->slice)
        s->listener = db_listener_new(base, conninfo, SYNC_CHANNEL, on_notify, on_listen, s);
    if (!s->listener) {
        sync_free_events(s);
        free(s);
        return NULL;
    }
    inventory_sync_set_clock_file(s, NULL);
    inventory_sync_set_reconcile(s, SYNC_RECONCILE_DEFAULT_S);
    return s;
}

void inventory_sync_set_reconcile_slice(struct inventory_sync *s, unsigned pools)
{
    s->slice_pools = pools ? pools : SYNC_SLICE_POOLS;
}

void inventory_sync_set_reconcile(struct inventory_sync *s, unsigned seconds)
{
    struct timeval tv = {.tv_sec = seconds ? seconds : SYNC_RECONCILE_DEFAULT_S};
    evtimer_add(s->reconcile, &tv);
}

void inventory_sync_free(struct inventory_sync *s)
{
    if (!s)
        return;
    db_listener_free(s->listener);
    while (s->queue_head) {
        struct load *l = s->queue_head;
        s->queue_head = l->next;
        tell_waiters(l, false);
        free(l);
    }
    while (s->late_head) {
        struct late_notify *n = s->late_head;
        s->late_head = n->next;
        free(n);
    }
    sync_free_events(s);
    free(s->clock_file);
    free(s->dirty);
    free(s->differ);
    free(s);
}
