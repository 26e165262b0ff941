/* access_log: the NEN 7513 trail. Every read or change of a stay's or a registered guest's
 * personal data writes who, in which role, which stay and guest, what action and from where.
 * Written after the fact and without waiting: the log must never be the reason a caregiver
 * gets an error. The rows of many requests are collected for at most ACCESS_LOG_BATCH_MS
 * (or ACCESS_LOG_BATCH_ROWS rows) and written by one statement: one commit for them all
 * instead of one commit, with its WAL flush, per request. A batch the database could not take
 * for a passing reason (connection lost, failover, server shutting down, out of connections)
 * is kept and sent again with backoff, up to ACCESS_LOG_RETRY_MAX_ROWS rows; beyond that, or
 * for an error that would recur (a bug), its rows are dropped, logged and counted in /metrics.
 * On a signal the waiting rows are written, and kept ones tried once more, before the process
 * exits (api_access_log_flush); a crash loses at most that window, as it loses a row whose
 * statement was still queued before. */
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "logeer/jsonw.h"
#include "logeer/log.h"

/* Short next to a person's attention, long next to a commit: under load a batch holds tens of
 * rows, when quiet a row is in the table 20 ms after its request. */
#define ACCESS_LOG_BATCH_MS 20
#define ACCESS_LOG_BATCH_ROWS 256

/* A failed batch is sent again after 0.5 s, then twice as long each time up to 30 s: a
 * restart or failover of PostgreSQL is over in seconds to a minute. Rows kept meanwhile are
 * bounded (about 300 bytes a row: 30 MB), so an outage of hours costs rows, not the process. */
#define ACCESS_LOG_RETRY_FIRST_MS 500
#define ACCESS_LOG_RETRY_MAX_MS 30000
#define ACCESS_LOG_RETRY_MAX_ROWS 100000

/* One row per entry of the batch: a stay's (on whose behalf, the guest's alias from the stay)
 * or a registered guest's (its alias). An id that no longer exists writes no row, as before. */
#define ACCESS_LOG_BATCH_SQL                                                                   \
    "WITH r AS MATERIALIZED (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r (stay uuid, "      \
    "guest uuid, user_id uuid, role user_role, action text, request_id text, address inet, "     \
    "route text, api_key_id uuid)) "                                                             \
    "INSERT INTO access_log (user_id, role, on_behalf_of, stay_id, guest_id, guest_ref, action, " \
    "request_id, address, route, api_key_id) "                                                   \
    "SELECT r.user_id, r.role, s.on_behalf_of, s.id, NULL, s.guest_alias, r.action, "            \
    "r.request_id, r.address, r.route, r.api_key_id FROM r JOIN stays s ON s.id = r.stay "       \
    "UNION ALL "                                                                                 \
    "SELECT r.user_id, r.role, NULL, NULL, g.id, g.alias, r.action, r.request_id, r.address, "   \
    "r.route, r.api_key_id FROM r JOIN guests g ON g.id = r.guest"

/* A statement sent, with its own copy of the rows so that a failed one can be sent again. */
struct sent_batch {
    struct sent_batch *prev, *next; /* in batch.retrying while its retry timer waits */
    struct event *retry;            /* made at the first failure */
    size_t rows;
    unsigned attempts;
    char text[];                    /* the JSON array */
};

/* The rows waiting to be written; one per process, like the request log's lines. */
static struct {
    struct event_base *base;
    struct db_pool *db;
    struct event *timer;  /* pending while rows wait */
    struct jsonw rows;    /* a JSON array being filled */
    size_t n;             /* entries in it */
    bool closed;          /* after the shutdown's flush: every row is written at once */
    unsigned writing;     /* statements sent and not yet finished */
    void (*drained)(void *arg); /* the shutdown's: runs once nothing is being written */
    void *drained_arg;
    struct sent_batch *retrying; /* failed batches whose retry timer waits */
    size_t rows_retrying;
    unsigned long long rows_lost_total;
} batch;

/* The batches go to the background pool: no client waits for them, so they never take a
 * connection a request is queued for. */
int access_log_prepare(struct app *app)
{
    if (db_pool_prepare(app->background, "access_log_batch", ACCESS_LOG_BATCH_SQL) != 0) {
        log_error("cannot register statement access_log_batch");
        return -1;
    }
    return 0;
}

/* The shutdown waits for every statement in flight, not only its own: a batch its timer sent
 * a moment before may still be queued or waiting for a lock. */
static void batch_check_drained(void)
{
    if (batch.writing > 0 || batch.drained == NULL)
        return;
    void (*done)(void *arg) = batch.drained;
    batch.drained = NULL;
    done(batch.drained_arg);
}

/* Failures that pass: the connection or the server (08, 57: shut down, terminated,
 * cancelled), a failover under way (25006: the session found itself read-only), resources
 * (53), a serialization failure or deadlock (40), the queue's timeout. Anything else, such as
 * a row the statement cannot take, would fail again. */
static bool worth_retrying(const struct db_result *r)
{
    if (r->status == DB_UNAVAILABLE || r->status == DB_TIMEOUT)
        return true;
    if (r->status != DB_ERROR)
        return false;
    static const char *const classes[] = {"08", "40", "53", "57"};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strncmp(r->sqlstate, classes[i], 2) == 0)
            return true;
    return strcmp(r->sqlstate, "25006") == 0;
}

static void batch_written(const struct db_result *r, void *arg);

static void send_batch(struct sent_batch *b)
{
    b->attempts++;
    const char *params[] = {b->text}; /* copied by the pool */
    db_query(batch.db, "access_log_batch", 1, params, batch_written, b);
}

static void finish_batch(struct sent_batch *b)
{
    if (b->retry)
        event_free(b->retry);
    free(b);
    batch.writing--;
    batch_check_drained();
}

static void retrying_remove(struct sent_batch *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        batch.retrying = b->next;
    if (b->next)
        b->next->prev = b->prev;
    b->prev = b->next = NULL;
    batch.rows_retrying -= b->rows;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sent_batch *b = arg;
    retrying_remove(b);
    send_batch(b);
}

/* Keeps a failed batch for its next attempt; false when it cannot be kept. */
static bool keep_for_retry(struct sent_batch *b, const char *why)
{
    if (batch.closed || batch.rows_retrying + b->rows > ACCESS_LOG_RETRY_MAX_ROWS)
        return false;
    if (!b->retry && !(b->retry = evtimer_new(batch.base, on_retry, b)))
        return false;
    uint64_t ms = ACCESS_LOG_RETRY_FIRST_MS;
    for (unsigned i = 1; i < b->attempts && ms < ACCESS_LOG_RETRY_MAX_MS; i++)
        ms *= 2;
    if (ms > ACCESS_LOG_RETRY_MAX_MS)
        ms = ACCESS_LOG_RETRY_MAX_MS;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(b->retry, &tv);
    b->next = batch.retrying;
    if (b->next)
        b->next->prev = b;
    batch.retrying = b;
    batch.rows_retrying += b->rows;
    log_warn("access log: %zu row(s) not written yet (%s); sending them again in %llu ms",
             b->rows, why, (unsigned long long)ms);
    return true;
}

static void batch_written(const struct db_result *r, void *arg)
{
    struct sent_batch *b = arg;
    if (r->status == DB_OK) {
        if (b->attempts > 1)
            log_info("access log: %zu row(s) written at attempt %u", b->rows, b->attempts);
        finish_batch(b);
        return;
    }
    if (worth_retrying(r) && keep_for_retry(b, r->message))
        return; /* still counted as being written: the shutdown waits for it */
    log_error("access log: %zu row(s) could not be written: %s", b->rows, r->message);
    batch.rows_lost_total += b->rows;
    finish_batch(b);
}

/* One statement for the waiting rows. */
static void batch_flush(void)
{
    if (batch.timer)
        evtimer_del(batch.timer);
    if (batch.n == 0)
        return;
    jw_array_end(&batch.rows);
    size_t len = 0;
    const char *text = jw_text(&batch.rows, &len);
    struct sent_batch *b = text ? calloc(1, sizeof *b + len + 1) : NULL;
    if (!b) {
        log_error("access log: out of memory; %zu row(s) not written", batch.n);
        batch.rows_lost_total += batch.n;
    } else {
        memcpy(b->text, text, len + 1);
        b->rows = batch.n;
        batch.writing++;
        send_batch(b);
    }
    jw_reset(&batch.rows);
    batch.n = 0;
}

static void batch_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    batch_flush();
}

/* Starts a batch (the array and its timer) when none is open. */
static bool batch_open(struct app *app)
{
    if (batch.n > 0)
        return true;
    if (batch.timer == NULL) {
        jw_init(&batch.rows);
        batch.base = app->base;
        batch.db = app->background;
        batch.timer = evtimer_new(app->base, batch_on_timer, NULL);
        if (batch.timer == NULL)
            return false;
    }
    jw_reset(&batch.rows);
    jw_array_begin(&batch.rows);
    if (!batch.closed) {
        struct timeval tv = {0, ACCESS_LOG_BATCH_MS * 1000};
        evtimer_add(batch.timer, &tv);
    }
    return true;
}

static void batch_add(struct api_ctx *c, const char *kind, const char *action,
                      const char *const *ids, size_t n)
{
    if (n == 0 || !batch_open(c->app))
        return;
    char addr[64], route[160];
    snprintf(route, sizeof route, "%s %s", http_method_name(c->req->method),
             c->route ? c->route->pattern : "");
    const char *address = api_peer_address(c, addr, sizeof addr);
    const char *api_key = c->who.api_key_id[0] ? c->who.api_key_id : NULL;
    const char *user = c->who.user_id[0] ? c->who.user_id : NULL;
    for (size_t i = 0; i < n; i++) {
        /* ids come from the database or were checked to be uuid-shaped. */
        char id[37];
        snprintf(id, sizeof id, "%.36s", ids[i]);
        jw_object_begin(&batch.rows);
        jw_kstring(&batch.rows, kind, id);
        jw_kstring(&batch.rows, "user_id", user);
        jw_kstring(&batch.rows, "role", role_name(c->who.role));
        jw_kstring(&batch.rows, "action", action);
        jw_kstring(&batch.rows, "request_id", c->req->request_id);
        jw_kstring(&batch.rows, "address", address);
        jw_kstring(&batch.rows, "route", route);
        jw_kstring(&batch.rows, "api_key_id", api_key);
        jw_object_end(&batch.rows);
        batch.n++;
    }
    if (batch.closed || batch.n >= ACCESS_LOG_BATCH_ROWS)
        batch_flush();
}

void access_log_stays(struct api_ctx *c, const char *action, const char *const *stay_ids,
                      size_t n)
{
    batch_add(c, "stay", action, stay_ids, n);
}

void access_log_guests(struct api_ctx *c, const char *action, const char *const *guest_ids,
                       size_t n)
{
    batch_add(c, "guest", action, guest_ids, n);
}

void api_access_log_flush(struct app *app, void (*done)(void *arg), void *arg)
{
    (void)app;
    batch.closed = true;
    batch.drained = done;
    batch.drained_arg = arg;
    batch_flush();
    /* The kept batches get one more try now; a failure then is final (batch.closed). */
    while (batch.retrying) {
        struct sent_batch *b = batch.retrying;
        evtimer_del(b->retry);
        retrying_remove(b);
        send_batch(b);
    }
    batch_check_drained();
}

void access_log_stats(size_t *rows_retrying, unsigned long long *rows_lost_total)
{
    *rows_retrying = batch.rows_retrying;
    *rows_lost_total = batch.rows_lost_total;
}

void access_log_close(void)
{
    while (batch.retrying) { /* only when the loop ended without the shutdown's flush */
        struct sent_batch *b = batch.retrying;
        retrying_remove(b);
        log_error("access log: %zu row(s) not written at exit", b->rows);
        batch.rows_lost_total += b->rows;
        finish_batch(b);
    }
    if (batch.timer) {
        event_free(batch.timer);
        batch.timer = NULL;
        jw_free(&batch.rows);
    }
    batch.n = 0;
}
