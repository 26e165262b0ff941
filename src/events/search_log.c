/* search_log: the batched writer behind the unmet-demand report. Rows wait in one JSON array
 * for at most SEARCH_LOG_FLUSH_MS (or until SEARCH_LOG_BATCH of them) and are inserted by one
 * statement. Knows the searches table's columns, never what a search asked or found: the
 * availability handler writes those. */
#include "logeer/search_log.h"

#include <event2/event.h>
#include <stdlib.h>

#include "logeer/db.h"
#include "logeer/jsonw.h"

#define SEARCH_LOG_BATCH 500
#define SEARCH_LOG_FLUSH_MS 1000

struct search_log {
    struct db_pool *db;
    struct event *timer;
    struct jsonw rows;         /* the JSON array being filled, open: "[{...},{...}" */
    int nrows;
};

int search_log_prepare(struct db_pool *pool)
{
    /* Searches are kept (without personal data) so that the coordinator can count unmet
     * demand: searches that found nothing never become a request. */
    return db_pool_prepare(pool, "search_log",
                           "INSERT INTO searches (user_id, role, check_in, nights, municipality, "
                           "care_profile, funding, kind, flex_days, radius_km, results, params) "
                           "SELECT * FROM jsonb_to_recordset($1::jsonb) AS r (user_id uuid, "
                           "role user_role, check_in date, nights int, municipality text, "
                           "care_profile text, funding text, kind pool_kind, flex_days int, "
                           "radius_km int, results int, params jsonb)");
}

static void search_log_flush(evutil_socket_t fd, short what, void *arg)
{
    struct search_log *log = arg;
    if (log->nrows == 0)
        return;
    jw_array_end(&log->rows);
    const char *text = jw_text(&log->rows, NULL);
    if (text) {
        const char *params[] = {text};
        /* Fire and forget: the searches have been answered; a lost row is not worth a 5xx.
         * db_query copies the parameters, so the buffer is reused at once. */
        db_query(log->db, "search_log", 1, params, NULL, NULL);
    }
    jw_reset(&log->rows);
    log->nrows = 0;
}

struct search_log *search_log_new(struct event_base *base, struct db_pool *pool)
{
    struct search_log *log = calloc(1, sizeof *log);
    if (!log)
        return NULL;
    log->db = pool;
    log->timer = evtimer_new(base, search_log_flush, log);
    if (!log->timer) {
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
    jw_free(&log->rows);
    free(log);
}

struct jsonw *search_log_row(struct search_log *log)
{
    if (!log)
        return NULL;
    if (log->nrows == 0)
        jw_array_begin(&log->rows);
    jw_object_begin(&log->rows);
    return &log->rows;
}

void search_log_row_done(struct search_log *log)
{
    jw_object_end(&log->rows);
    if (++log->nrows >= SEARCH_LOG_BATCH) {
        search_log_flush(-1, 0, log);
    } else if (!evtimer_pending(log->timer, NULL)) {
        struct timeval tv = {SEARCH_LOG_FLUSH_MS / 1000, (SEARCH_LOG_FLUSH_MS % 1000) * 1000};
        evtimer_add(log->timer, &tv);
    }
}
