/* sweeper: expires lapsed holds on a timer. The database function picks holds with SKIP
 * LOCKED, so several logeerd processes can sweep the same database without doing any hold
 * twice; a process that was down simply sweeps the backlog at its first tick. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "logeer/db.h"
#include "logeer/events.h"
#include "logeer/log.h"

/* Holds handled per round trip; a full batch means more may be waiting, so go again at once. */
#define SWEEP_BATCH 200

struct sweeper {
    struct db_pool *pool;
    struct event *timer;
    struct timeval interval;
    char params[64];      /* the function's jsonb argument, fixed at start */
    bool in_flight;       /* never two sweeps at once from one process */
};

int sweeper_prepare(struct db_pool *pool)
{
    return db_pool_prepare(pool, "sweep_holds", "SELECT logeer_expire_holds($1::jsonb)");
}

static void sweep(evutil_socket_t fd, short what, void *arg);

static void swept(const struct db_result *r, void *arg)
{
    struct sweeper *s = arg;
    s->in_flight = false;
    int expired = 0;
    if (r->status == DB_OK && PQntuples(r->res) == 1)
        expired = atoi(db_value(r->res, 0, 0));
    else if (r->status == DB_ERROR)
        log_error("hold expiry failed: %s %s", r->sqlstate, r->message);
    if (expired > 0)
        log_info("expired %d lapsed hold(s)", expired);
    if (expired >= SWEEP_BATCH)
        event_active(s->timer, EV_TIMEOUT, 0); /* now, without changing the period */
}

static void sweep(evutil_socket_t fd, short what, void *arg)
{
    struct sweeper *s = arg;
    if (!s->in_flight && db_pool_healthy(s->pool)) {
        s->in_flight = true;
        const char *params[] = {s->params};
        db_query(s->pool, "sweep_holds", 1, params, swept, s);
    }
}

struct sweeper *sweeper_new(struct event_base *base, struct db_pool *pool, int hold_ttl_s,
                            unsigned interval_ms)
{
    struct sweeper *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->pool = pool;
    snprintf(s->params, sizeof s->params, "{\"limit\":%d,\"hold_ttl_s\":%d}", SWEEP_BATCH,
             hold_ttl_s);
    s->interval.tv_sec = interval_ms / 1000;
    s->interval.tv_usec = (interval_ms % 1000) * 1000;
    s->timer = event_new(base, -1, EV_PERSIST, sweep, s);
    event_add(s->timer, &s->interval);
    return s;
}

void sweeper_free(struct sweeper *s)
{
    if (!s)
        return;
    event_free(s->timer);
    free(s);
}
