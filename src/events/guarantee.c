/* guarantee: the planned-stay guarantee's job (docs/practice.md). On a timer it asks the
 * database to turn guaranteed requests still unplaced at their deadline into escalations; the
 * function takes stays with SKIP LOCKED and escalates each stay once, so several logeerd
 * processes may run it at once. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "logeer/db.h"
#include "logeer/events.h"
#include "logeer/log.h"

/* Stays escalated per round trip; a full batch means more may be due, so go again at once. */
#define ESCALATE_BATCH 100

struct guarantee_job {
    struct db_pool *pool;
    struct event *timer;
    struct timeval interval;
    bool in_flight;       /* never two runs at once from one process */
};

int guarantee_job_prepare(struct db_pool *pool)
{
    return db_pool_prepare(pool, "escalate_due", "SELECT logeer_escalate_due($1::jsonb)");
}

static void escalated(const struct db_result *r, void *arg)
{
    struct guarantee_job *g = arg;
    g->in_flight = false;
    int opened = 0;
    if (r->status == DB_OK && PQntuples(r->res) == 1)
        opened = atoi(db_value(r->res, 0, 0));
    else if (r->status == DB_ERROR)
        log_error("escalation check failed: %s %s", r->sqlstate, r->message);
    if (opened > 0)
        log_info("opened %d escalation(s) for guaranteed requests past their deadline", opened);
    if (opened >= ESCALATE_BATCH)
        event_active(g->timer, EV_TIMEOUT, 0); /* now, without changing the period */
}

static void check(evutil_socket_t fd, short what, void *arg)
{
    struct guarantee_job *g = arg;
    (void)fd;
    (void)what;
    if (!g->in_flight && db_pool_healthy(g->pool)) {
        g->in_flight = true;
        char params[32];
        snprintf(params, sizeof params, "{\"limit\":%d}", ESCALATE_BATCH);
        const char *p[] = {params};
        db_query(g->pool, "escalate_due", 1, p, escalated, g);
    }
}

struct guarantee_job *guarantee_job_new(struct event_base *base, struct db_pool *pool,
                                        unsigned interval_s)
{
    struct guarantee_job *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->pool = pool;
    g->interval.tv_sec = interval_s;
    g->timer = event_new(base, -1, EV_PERSIST, check, g);
    if (!g->timer) {
        free(g);
        return NULL;
    }
    event_add(g->timer, &g->interval);
    return g;
}

void guarantee_job_free(struct guarantee_job *g)
{
    if (!g)
        return;
    event_free(g->timer);
    free(g);
}
