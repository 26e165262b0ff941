/* search_log: the counting writer behind the unmet-demand report. Searches are added up in an
 * open-addressing table keyed by what was asked; every SEARCH_LOG_FLUSH_MS the counts of
 * minutes that are over, and all of them while fewer than SEARCH_LOG_FEW_KEYS wait, are
 * written (all of them at once when SEARCH_LOG_MAX_KEYS wait): SEARCH_LOG_ROWS_PER_INSERT rows a
 * statement, one statement a turn of the loop, so that a busy minute's tens of thousands of
 * rows (45,000-55,000 with the bench's varied searches) never hold the loop for long.
 * Knows the search_counts table's columns, never a request: the availability handler says
 * what a search asked. */
#include "logeer/search_log.h"

#include <event2/event.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logeer/db.h"
#include "logeer/jsonw.h"
#include "logeer/log.h"

/* A few seconds: the report counts days, and the reports test waits for its searches. */
#define SEARCH_LOG_FLUSH_MS 2000
/* Below this many different searches waiting, a flush also writes the current minute: the
 * counts appear within seconds when searches are few. Above it, the current minute waits
 * until it is over, so that a busy minute's identical searches become one row. */
#define SEARCH_LOG_FEW_KEYS 512
/* Bounds the memory (two tables of twice this many 80-byte slots: 21 MB) and the size of one
 * insert when many different searches come in: large enough that a busy minute of varied
 * searches (the bench's mix at 17,000 a second) is written once, not every few seconds. */
#define SEARCH_LOG_MAX_KEYS 65536
/* One statement's rows: a few milliseconds of the loop to render (0.5 MB of JSON). */
#define SEARCH_LOG_ROWS_PER_INSERT 2000

struct search_count {
    struct search_count_key key;
    uint32_t hash;
    int searches;              /* 0: the slot is free */
};

struct search_log {
    struct db_pool *db;
    struct event *timer;
    struct search_count *slots;
    struct search_count *spare; /* as many slots: the current minute moves here on a flush */
    size_t nslots;             /* a power of two, at least twice SEARCH_LOG_MAX_KEYS */
    size_t nkeys;
    long long oldest;          /* the oldest minute counted in slots; LLONG_MAX when empty */
    /* The slots in use, in the order they were taken: a flush visits these instead of
     * scanning and clearing both whole tables (megabytes) on the loop every second. */
    uint32_t *used, *spare_used;
    /* Being written: the counts a flush left in the spare table, listed in spare_used[0..
     * nwrite); written from next_write on, a statement a turn of the loop. The spare table
     * is empty again once they all are. */
    size_t nwrite, next_write;
    struct event *write_more;  /* due on the loop's next turn while rows are left */
    struct jsonw rows;         /* reused for each statement */
    unsigned writing;          /* statements sent and not yet finished */
    void (*drained)(void *arg); /* the shutdown's: runs once nothing is being written */
    void *drained_arg;
};

void search_count_key_init(struct search_count_key *key)
{
    memset(key, 0, sizeof *key);
}

bool search_count_key_text(char *field, size_t n, const char *text)
{
    size_t len = text ? strlen(text) : 0;
    if (len >= n)
        return false;
    memcpy(field, text ? text : "", len + 1);
    return true;
}

int search_log_prepare(struct db_pool *pool)
{
    /* Searches are counted (without personal data) so that the coordinator can see unmet
     * demand: searches that found nothing never become a request. */
    return db_pool_prepare(pool, "search_log",
                           "INSERT INTO search_counts (minute, role, municipality, "
                           "care_profile, funding, kind, nights, found, searches) "
                           "SELECT to_timestamp(r.minute), r.role, r.municipality, "
                           "r.care_profile, r.funding, r.kind, r.nights, "
                           "r.found, r.searches FROM jsonb_to_recordset($1::jsonb) AS r "
                           "(minute bigint, role user_role, municipality text, "
                           "care_profile text, funding text, kind pool_kind, "
                           "nights int, found boolean, searches int)");
}

/* FNV-1a over the key's bytes: the key is cleared before it is filled, padding included. */
static uint32_t key_hash(const struct search_count_key *key)
{
    const unsigned char *p = (const unsigned char *)key;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < sizeof *key; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void put_text(struct jsonw *w, const char *name, const char *value)
{
    jw_kstring(w, name, *value ? value : NULL);
}

static void put_row(struct jsonw *w, const struct search_count *s)
{
    const struct search_count_key *k = &s->key;
    jw_object_begin(w);
    jw_kint(w, "minute", k->minute);
    put_text(w, "role", k->role);
    put_text(w, "municipality", k->municipality);
    put_text(w, "care_profile", k->care_profile);
    put_text(w, "funding", k->funding);
    put_text(w, "kind", k->kind);
    jw_kint(w, "nights", k->nights);
    jw_kbool(w, "found", k->found);
    jw_kint(w, "searches", s->searches);
    jw_object_end(w);
}

/* Where key goes in slots (its own slot, or the free one it would take). */
static struct search_count *slot_for(struct search_count *slots, size_t nslots,
                                     const struct search_count_key *key, uint32_t h)
{
    size_t mask = nslots - 1;
    /* Linear probing in a table never more than half full: a free slot is always near. */
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct search_count *s = &slots[i];
        if (s->searches == 0 || (s->hash == h && memcmp(&s->key, key, sizeof *key) == 0))
            return s;
    }
}

/* The shutdown waits for every statement in flight: one sent a moment before may still be
 * queued for one of the background connections, and closing the pool would drop it. */
static void check_drained(struct search_log *log)
{
    if (log->writing > 0 || log->drained == NULL)
        return;
    void (*done)(void *arg) = log->drained;
    log->drained = NULL;
    done(log->drained_arg);
}

static void rows_written(const struct db_result *r, void *arg)
{
    struct search_log *log = arg;
    if (r->status != DB_OK)
        log_warn("search log: counts not written: %s", r->message);
    log->writing--;
    check_drained(log);
}

/* Sends the next statement's rows of those being written; true when rows are left. */
static bool write_some(struct search_log *log)
{
    size_t end = log->next_write + SEARCH_LOG_ROWS_PER_INSERT;
    if (end > log->nwrite)
        end = log->nwrite;
    jw_reset(&log->rows);
    jw_array_begin(&log->rows);
    for (size_t i = log->next_write; i < end; i++) {
        struct search_count *c = &log->spare[log->spare_used[i]];
        put_row(&log->rows, c);
        c->searches = 0;
    }
    jw_array_end(&log->rows);
    const char *text = jw_text(&log->rows, NULL);
    if (end > log->next_write && text) {
        const char *params[] = {text};
        /* The searches have been answered: a lost count is logged, never a 5xx. db_query
         * copies the parameters, so the buffer is reused at once. */
        log->writing++;
        db_query(log->db, "search_log", 1, params, rows_written, log);
    }
    log->next_write = end;
    if (end < log->nwrite)
        return true;
    log->nwrite = log->next_write = 0;
    return false;
}

static void write_all(struct search_log *log)
{
    while (write_some(log))
        ;
}

/* One statement now, the next on the loop's next turn while rows are left. */
static void write_some_then_more(struct search_log *log)
{
    if (write_some(log)) {
        struct timeval now = {0, 0}; /* a timer: runs after the loop has looked at the sockets */
        evtimer_add(log->write_more, &now);
    }
}

static void on_write_more(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    write_some_then_more(arg);
}

/* Writes the counts of the minutes before keep_from and keeps the others: those kept move into
 * the spare table, which becomes the table; those to write stay behind in the old one, which
 * becomes the spare, and go a statement a turn (write_some). */
static void flush_before(struct search_log *log, long long keep_from)
{
    /* A busy minute's counts wait for its end: until then nothing is moved (every two seconds
     * that moved tens of thousands of counts, 4-8 ms of the loop, to write none). */
    if (log->oldest >= keep_from)
        return;
    write_all(log); /* the last flush's, should any be left: the spare must be empty */
    size_t nwrite = 0, kept = 0;
    log->oldest = LLONG_MAX;
    for (size_t u = 0; u < log->nkeys; u++) {
        struct search_count *s = &log->slots[log->used[u]];
        if (s->key.minute < keep_from) {
            log->used[nwrite++] = log->used[u]; /* u >= nwrite: nothing unread is overwritten */
        } else {
            if (s->key.minute < log->oldest)
                log->oldest = s->key.minute;
            struct search_count *to = slot_for(log->spare, log->nslots, &s->key, s->hash);
            memcpy(to, s, sizeof *s);
            log->spare_used[kept++] = (uint32_t)(to - log->spare);
            s->searches = 0;
        }
    }
    struct search_count *t = log->slots;
    log->slots = log->spare;
    log->spare = t;
    uint32_t *tu = log->used;
    log->used = log->spare_used;
    log->spare_used = tu;
    log->nkeys = kept;
    log->nwrite = nwrite;
    log->next_write = 0;
    write_some_then_more(log);
}

static void arm(struct search_log *log)
{
    if (!evtimer_pending(log->timer, NULL)) {
        struct timeval tv = {SEARCH_LOG_FLUSH_MS / 1000, (SEARCH_LOG_FLUSH_MS % 1000) * 1000};
        evtimer_add(log->timer, &tv);
    }
}

static void search_log_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct search_log *log = arg;
    if (log->nkeys == 0)
        return;
    time_t now = time(NULL);
    flush_before(log, log->nkeys < SEARCH_LOG_FEW_KEYS ? LLONG_MAX : (long long)(now - now % 60));
    if (log->nkeys > 0)
        arm(log);
}

struct search_log *search_log_new(struct event_base *base, struct db_pool *pool)
{
    struct search_log *log = calloc(1, sizeof *log);
    if (!log)
        return NULL;
    log->db = pool;
    log->nslots = 2 * SEARCH_LOG_MAX_KEYS;
    log->oldest = LLONG_MAX;
    log->slots = calloc(log->nslots, sizeof *log->slots);
    log->spare = calloc(log->nslots, sizeof *log->spare);
    log->used = calloc(SEARCH_LOG_MAX_KEYS, sizeof *log->used);
    log->spare_used = calloc(SEARCH_LOG_MAX_KEYS, sizeof *log->spare_used);
    log->timer = evtimer_new(base, search_log_flush, log);
    log->write_more = evtimer_new(base, on_write_more, log);
    if (!log->timer || !log->write_more || !log->slots || !log->spare || !log->used ||
        !log->spare_used) {
        if (log->timer)
            event_free(log->timer);
        if (log->write_more)
            event_free(log->write_more);
        free(log->used);
        free(log->spare_used);
        free(log->slots);
        free(log->spare);
        free(log);
        return NULL;
    }
    jw_init(&log->rows);
    return log;
}

void search_log_free(struct search_log *log)
{
    if (!log)
        return;
    event_free(log->timer);
    event_free(log->write_more);
    jw_free(&log->rows);
    free(log->used);
    free(log->spare_used);
    free(log->slots);
    free(log->spare);
    free(log);
}

void search_log_flush_all(struct search_log *log)
{
    if (!log)
        return;
    if (log->nkeys > 0)
        flush_before(log, LLONG_MAX);
    write_all(log);
}

void search_log_count(struct search_log *log, const struct search_count_key *key)
{
    if (!log)
        return;
    uint32_t h = key_hash(key);
    struct search_count *s = slot_for(log->slots, log->nslots, key, h);
    if (s->searches == 0) {
        memcpy(&s->key, key, sizeof *key); /* padding too: keys compare as bytes */
        s->hash = h;
        log->used[log->nkeys++] = (uint32_t)(s - log->slots);
        if (key->minute < log->oldest)
            log->oldest = key->minute;
    }
    s->searches++;
    if (log->nkeys >= SEARCH_LOG_MAX_KEYS)
        flush_before(log, LLONG_MAX);
    else
        arm(log);
}

void search_log_drain(struct search_log *log, void (*done)(void *arg), void *arg)
{
    if (!log) {
        done(arg);
        return;
    }
    search_log_flush_all(log); /* what the last requests counted since the signal */
    log->drained = done;
    log->drained_arg = arg;
    check_drained(log);
}
