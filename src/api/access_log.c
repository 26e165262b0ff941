/* access_log: the NEN 7513 trail. Every read or change of a stay's or a registered guest's
 * personal data writes who, in which role, which stay and guest, what action and from where.
 * Written after the fact and without waiting: the log must never be the reason a caregiver
 * gets an error. The rows of many requests are collected for at most ACCESS_LOG_BATCH_MS
 * (or ACCESS_LOG_BATCH_ROWS rows) and written by one statement: one commit for them all
 * instead of one commit, with its WAL flush, per request. On a signal the waiting rows are
 * written before the process exits (api_access_log_flush); a crash loses at most that window,
 * as it loses a row whose statement was still queued before. */
#include <event2/event.h>
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

/* The rows waiting to be written; one per process, like the request log's lines. */
static struct {
    struct db_pool *db;
    struct event *timer;  /* pending while rows wait */
    struct jsonw rows;    /* a JSON array being filled */
    size_t n;             /* entries in it */
    bool closed;          /* after the shutdown's flush: every row is written at once */
    unsigned writing;     /* statements sent and not yet finished */
    void (*drained)(void *arg); /* the shutdown's: runs once nothing is being written */
    void *drained_arg;
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

static void batch_written(const struct db_result *r, void *arg)
{
    size_t *rows = arg;
    if (r->status != DB_OK)
        log_error("access log: %zu row(s) could not be written: %s", *rows, r->message);
    free(rows);
    batch.writing--;
    batch_check_drained();
}

/* One statement for the waiting rows. */
static void batch_flush(void)
{
    if (batch.timer)
        evtimer_del(batch.timer);
    if (batch.n == 0)
        return;
    jw_array_end(&batch.rows);
    const char *text = jw_text(&batch.rows, NULL);
    size_t *rows = malloc(sizeof *rows);
    if (!text || !rows) {
        log_error("access log: out of memory; %zu row(s) not written", batch.n);
        free(rows);
    } else {
        *rows = batch.n;
        batch.writing++;
        const char *params[] = {text}; /* copied by the pool, so the buffer is reused at once */
        db_query(batch.db, "access_log_batch", 1, params, batch_written, rows);
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
    batch_check_drained();
}

void access_log_close(void)
{
    if (batch.timer) {
        event_free(batch.timer);
        batch.timer = NULL;
        jw_free(&batch.rows);
    }
    batch.n = 0;
}
