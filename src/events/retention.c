/* retention: runs logeer_retention_purge at start and once a day on a libevent timer. A run
 * that finds a full batch goes again at once, so one transaction never locks many stays; a
 * run that fails (database away) is retried on the next short tick instead of a day later. */
#include "logeer/retention.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "logeer/db.h"
#include "logeer/log.h"

#define RETENTION_BATCH 1000
/* Until a run has succeeded (at start, or after a failure), try again this often. */
#define RETENTION_RETRY_S 5

struct retention {
    struct db_pool *pool;
    struct event *timer;
    unsigned period_s;
    char params[64];      /* the function's jsonb argument, fixed at start */
    bool in_flight;       /* never two runs at once from one process */
    long stays_this_run;  /* stays purged over the batches of the current run, for the log */
};

int retention_prepare(struct db_pool *pool)
{
    return db_pool_prepare(pool, "retention_purge",
                           "SELECT logeer_retention_purge($1::jsonb)::text");
}

static void retention_schedule(struct retention *r, unsigned seconds)
{
    struct timeval tv = {.tv_sec = seconds, .tv_usec = 0};
    event_add(r->timer, &tv);
}

/* The function answers {"stays":n,"batch_full":b,...}; a full batch means more are due. */
static bool retention_parse(const char *json, long *stays, bool *batch_full)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "stays");
    const cJSON *full = cJSON_GetObjectItemCaseSensitive(o, "batch_full");
    bool ok = cJSON_IsNumber(n) && cJSON_IsBool(full);
    if (ok) {
        *stays = (long)n->valuedouble;
        *batch_full = cJSON_IsTrue(full);
    }
    cJSON_Delete(o);
    return ok;
}

static void retention_done(const struct db_result *res, void *arg)
{
    struct retention *r = arg;
    r->in_flight = false;
    if (res->status != DB_OK || PQntuples(res->res) != 1) {
        log_warn("retention purge failed (%s %s); retrying in %d s", res->sqlstate, res->message,
                 RETENTION_RETRY_S);
        retention_schedule(r, RETENTION_RETRY_S);
        return;
    }
    const char *json = db_value(res->res, 0, 0);
    long stays = 0;
    bool batch_full = false;
    if (!retention_parse(json, &stays, &batch_full))
        log_warn("retention purge answered unexpectedly: %s", json);
    r->stays_this_run += stays;
    if (batch_full) {
        retention_schedule(r, 0);
        return;
    }
    log_info("retention purge: guest data cleared on %ld ended stay(s); last batch %s",
             r->stays_this_run, json);
    r->stays_this_run = 0;
    retention_schedule(r, r->period_s);
}

static void retention_tick(evutil_socket_t fd, short what, void *arg)
{
    struct retention *r = arg;
    if (r->in_flight)
        return;
    if (!db_pool_healthy(r->pool)) {
        retention_schedule(r, 1);
        return;
    }
    r->in_flight = true;
    const char *params[] = {r->params};
    db_query(r->pool, "retention_purge", 1, params, retention_done, r);
}

struct retention *retention_new(struct event_base *base, struct db_pool *pool, int guest_days,
                                unsigned period_s)
{
    struct retention *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->pool = pool;
    r->period_s = period_s;
    snprintf(r->params, sizeof r->params, "{\"guest_days\":%d,\"batch\":%d}", guest_days,
             RETENTION_BATCH);
    r->timer = evtimer_new(base, retention_tick, r);
    if (!r->timer) {
        free(r);
        return NULL;
    }
    retention_schedule(r, 0);
    return r;
}

void retention_free(struct retention *r)
{
    if (!r)
        return;
    event_free(r->timer);
    free(r);
}
