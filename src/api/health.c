/* health: liveness, readiness and Prometheus metrics for operators. livez never touches the
 * database (a live process with a dead database must not be restarted in a loop); readyz does.
 * Owns the readiness probe that keeps the logeer_ready gauge current without a scrape ever
 * waiting for the database. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "access_log.h"
#include "handlers.h"
#include "logeer/config.h"
#include "logeer/core.h"
#include "logeer/events.h"
#include "logeer/loop_lag.h"
#include "logeer/metrics.h"
#include "logeer/notify.h"
#include "logeer/outbox.h"
#include "logeer/workers.h"

/* Readiness as a gauge. A scrape must answer at once, above all while the database is in
 * trouble, so it cannot ask the database as /readyz does. The schema half of readiness is
 * checked on a timer instead (every tick while not current, so recovery shows within a
 * second; every READY_RECHECK_TICKS ticks while current, to notice another binary migrating
 * the database) and remembered; the rest is the process's own state. */
#define READY_TICK_MS 1000
#define READY_RECHECK_TICKS 5

struct health_probe {
    struct app *app;
    struct event *timer;
    bool in_flight;        /* never two checks at once */
    bool schema_current;   /* the last answer: the schema is at this binary's version */
    unsigned ticks;        /* since the last check */
};

static void probe_done(const struct db_result *r, void *arg)
{
    struct health_probe *p = arg;
    p->in_flight = false;
    if (r->status == DB_OK && PQntuples(r->res) == 1)
        p->schema_current = atoi(db_value(r->res, 0, 0)) == p->app->schema_version;
    else if (r->status == DB_ERROR)
        p->schema_current = false; /* no schema_migrations table: not migrated */
    /* Unavailable or timed out: nothing learnt; logeer_db_up already says why. */
}

static void probe_tick(evutil_socket_t fd, short what, void *arg)
{
    struct health_probe *p = arg;
    if (p->in_flight || !db_pool_healthy(p->app->db))
        return;
    if (p->schema_current && ++p->ticks < READY_RECHECK_TICKS)
        return;
    p->ticks = 0;
    p->in_flight = true;
    db_query(p->app->db, "schema_version", 0, NULL, probe_done, p);
}

static int probe_start(struct app *app)
{
    struct health_probe *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->app = app;
    p->timer = event_new(app->base, -1, EV_PERSIST, probe_tick, p);
    if (!p->timer) {
        free(p);
        return -1;
    }
    struct timeval tv = {READY_TICK_MS / 1000, (READY_TICK_MS % 1000) * 1000};
    event_add(p->timer, &tv);
    app->health = p;
    return 0;
}

/* After db_pool_free: a check still in flight has been called back by then. */
static void health_free(struct app *app)
{
    struct health_probe *p = app->health;
    if (!p)
        return;
    event_free(p->timer);
    free(p);
    app->health = NULL;
}

/* What /readyz would answer now, as far as the process knows without asking. */
static bool ready_now(const struct app *app)
{
    return !app->shutting_down && app->health && app->health->schema_current &&
           db_pool_healthy(app->db) && inventory_sync_ready(app->sync);
}

static int health_prepare(struct app *app)
{
    if (api_prepare(app, "schema_version",
                    "SELECT coalesce(max(version), 0) FROM schema_migrations") != 0)
        return -1;
    return probe_start(app);
}

static void health_livez(struct api_ctx *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "alive");
    api_reply_json(c, 200, o);
}

static void readyz_version(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        /* No schema_migrations table at all means "not migrated", which is not ready. */
        if (c->app->health)
            c->app->health->schema_current = false;
        api_reply_problem(c, PROBLEM_UNAVAILABLE, "the database schema is not migrated");
        return;
    }
    int version = atoi(db_value(r->res, 0, 0));
    if (c->app->health) /* a fresher answer than the probe's */
        c->app->health->schema_current = version == c->app->schema_version;
    if (version != c->app->schema_version) {
        api_reply_problem(c, PROBLEM_UNAVAILABLE,
                          "database schema is at version %d, this binary needs %d; run "
                          "'logeerd migrate'",
                          version, c->app->schema_version);
        return;
    }
    if (!inventory_sync_ready(c->app->sync)) {
        api_reply_problem(c, PROBLEM_UNAVAILABLE, "the availability index is still loading");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ready");
    cJSON_AddNumberToObject(o, "schema_version", version);
    api_reply_json(c, 200, o);
}

static void health_readyz(struct api_ctx *c)
{
    if (c->app->shutting_down) {
        api_reply_problem(c, PROBLEM_UNAVAILABLE, "shutting down");
        return;
    }
    api_query(c, "schema_version", 0, NULL, readyz_version);
}

/* Each pool's figures under one family, told apart by the label pool: "api" (the requests'),
 * "background" (the jobs'), "replica" (when a standby is configured). */
struct pool_row {
    const char *name;
    const struct db_pool *pool;
    struct db_pool_stats s;
};

static size_t pool_rows(const struct app *app, struct pool_row rows[3])
{
    size_t n = 0;
    rows[n++] = (struct pool_row){"api", app->db, {0}};
    if (app->background)
        rows[n++] = (struct pool_row){"background", app->background, {0}};
    if (app->replica)
        rows[n++] = (struct pool_row){"replica", app->replica, {0}};
    for (size_t i = 0; i < n; i++)
        db_pool_stats(rows[i].pool, &rows[i].s);
    return n;
}

enum pool_figure { QUEUED, QUERIES, ERRORS, RECONNECTS, WAKEUPS, WAKEUPS_LOST, UP };

static unsigned long long pool_figure(const struct pool_row *r, enum pool_figure f)
{
    switch (f) {
    case QUEUED: return r->s.queued;
    case QUERIES: return r->s.queries_total;
    case ERRORS: return r->s.errors_total;
    case RECONNECTS: return r->s.reconnects_total;
    case WAKEUPS: return r->s.wakeups_total;
    case WAKEUPS_LOST: return r->s.wakeups_lost_total;
    case UP: return db_pool_healthy(r->pool) ? 1 : 0;
    }
    return 0;
}

/* The families of one figure per pool. */
static const struct {
    const char *name, *type;
    enum pool_figure figure;
    const char *help;
} pool_families[] = {
    {"logeer_db_pool_queued", "gauge", QUEUED,
     "Queries waiting for a free connection of the pool."},
    {"logeer_db_queries_total", "counter", QUERIES, "Queries handed to the pool."},
    {"logeer_db_errors_total", "counter", ERRORS,
     "Queries that did not succeed: refused by PostgreSQL, database unavailable, or timed out "
     "waiting for a connection."},
    {"logeer_db_reconnects_total", "counter", RECONNECTS,
     "Attempts to reconnect a lost or failed database connection."},
    {"logeer_db_wakeups_total", "counter", WAKEUPS,
     "Change notifications sent after their transaction committed."},
    {"logeer_db_wakeups_lost_total", "counter", WAKEUPS_LOST,
     "Committed transactions whose change notifications could not be sent (the session was "
     "lost or the sending failed); other processes catch up at their next full re-read."},
    {"logeer_db_up", "gauge", UP,
     "1 when at least one connection of the pool is ready for queries, else 0."},
};

static void render_pool(const struct app *app, struct evbuffer *out)
{
    struct pool_row rows[3];
    size_t n = pool_rows(app, rows);
    metrics_family(out, "logeer_db_pool_connections", "gauge",
                   "Database connections of each pool: configured (the pool size), connected "
                   "(preparing, idle or busy), idle and busy.");
    for (size_t i = 0; i < n; i++) {
        const struct db_pool_stats *s = &rows[i].s;
        const char *p = rows[i].name;
        evbuffer_add_printf(out,
                            "logeer_db_pool_connections{pool=\"%s\",state=\"configured\"} %d\n"
                            "logeer_db_pool_connections{pool=\"%s\",state=\"connected\"} %d\n"
                            "logeer_db_pool_connections{pool=\"%s\",state=\"idle\"} %d\n"
                            "logeer_db_pool_connections{pool=\"%s\",state=\"busy\"} %d\n",
                            p, s->size, p, s->connected, p, s->idle, p, s->busy);
    }
    for (size_t f = 0; f < sizeof pool_families / sizeof pool_families[0]; f++) {
        metrics_family(out, pool_families[f].name, pool_families[f].type, pool_families[f].help);
        for (size_t i = 0; i < n; i++)
            evbuffer_add_printf(out, "%s{pool=\"%s\"} %llu\n", pool_families[f].name,
                                rows[i].name, pool_figure(&rows[i], pool_families[f].figure));
    }
}

static void render_process(const struct app *app, struct evbuffer *out)
{
    metrics_gauge(out, "logeer_ready",
                  "1 when GET /readyz would answer 200: not shutting down, a database "
                  "connection ready, the schema at this binary's version (checked every few "
                  "seconds) and the availability index loaded; else 0.",
                  ready_now(app) ? 1 : 0);
    unsigned conns = 0, in_flight = 0;
    http_server_stats(app->http, &conns, &in_flight);
    metrics_gauge(out, "logeer_http_connections", "Open client connections.", conns);
    metrics_gauge(out, "logeer_http_in_flight",
                  "Requests received and not yet answered (open event streams included).",
                  in_flight);
    metrics_gauge(out, "logeer_workers_pending",
                  "Password hashes waiting for or running on a worker thread.",
                  workers_pending(app->workers));
    loop_lag_render(app->lag, out);
    size_t retrying;
    unsigned long long lost;
    access_log_stats(&retrying, &lost);
    metrics_gauge(out, "logeer_access_log_rows_retrying",
                  "Access-log rows of batches the database could not take, kept to be sent "
                  "again.",
                  (double)retrying);
    metrics_counter(out, "logeer_access_log_rows_lost_total",
                    "Access-log rows given up on: an error that would recur, more rows failing "
                    "than are kept, or still failing when the process stopped.",
                    lost);
}

/* Stale counts mislead searchers (they are ranked last) and the coordinator's figures, and only
 * the provider can refresh them. Read from the index, so no query; absent until it loaded. */
static void render_inventory(const struct app *app, struct evbuffer *out)
{
    struct core_stale st = {0};
    bool known = inventory_sync_ready(app->sync) &&
                 core_index_stale(app->index, time(NULL), app->cfg->stale_days, &st) == 0;
    metrics_counter(out, "logeer_index_pools_out_of_step_total",
                    "Pools whose nights the periodic re-read of the availability index found "
                    "out of step with the database (a change notification lost, or still on "
                    "its way) and read again.",
                    inventory_sync_out_of_step(app->sync));
    metrics_family(out, "logeer_pools_stale", "gauge",
                   "Active pools whose capacity counts were last confirmed more than "
                   "LOGEER_STALE_DAYS days ago.");
    if (known)
        evbuffer_add_printf(out, "logeer_pools_stale %zu\n", st.pools);
    metrics_family(out, "logeer_providers_stale", "gauge",
                   "Providers with at least one active pool whose capacity counts are stale.");
    if (known)
        evbuffer_add_printf(out, "logeer_providers_stale %zu\n", st.providers);
}

static void render_events(const struct app *app, struct evbuffer *out)
{
    metrics_gauge(out, "logeer_events_subscribers", "Open live event streams (GET /v1/events).",
                  outbox_subscribers(app->outbox));
    metrics_gauge(out, "logeer_events_feed_lag_seconds",
                  "Seconds the live events feed has known of outbox rows it has not yet handed "
                  "to its subscribers; 0 when caught up or when nobody subscribes.",
                  outbox_feed_lag_seconds(app->outbox));
}

/* Only when logeerd terminates TLS itself; behind a proxy the proxy's certificate matters. */
static void render_tls(const struct app *app, struct evbuffer *out)
{
    if (app->tls_not_after > 0)
        metrics_gauge(out, "logeer_tls_certificate_expiry_timestamp_seconds",
                      "Unix time at which the TLS certificate logeerd serves expires (the "
                      "certificate is read once, at start-up).",
                      (double)app->tls_not_after);
}

static void health_metrics(struct api_ctx *c)
{
    struct evbuffer *out = evbuffer_new();
    metrics_render(c->app->metrics, out);
    render_pool(c->app, out);
    render_process(c->app, out);
    render_inventory(c->app, out);
    render_events(c->app, out);
    render_tls(c->app, out);
    notify_metrics(c->app->notify, out);
    size_t len = evbuffer_get_length(out);
    const char *text = (const char *)evbuffer_pullup(out, -1);
    api_reply_raw(c, 200, "text/plain; version=0.0.4", text, len);
    evbuffer_free(out);
}

static const struct api_endpoint livez = {health_livez, false};
static const struct api_endpoint readyz = {health_readyz, false};
static const struct api_endpoint metrics = {health_metrics, false};

/* Probes need no login: orchestrators and Prometheus call them. Keep /metrics off the public
 * interface with the reverse proxy (see docs/operations.md). */
static const struct route health_routes[] = {
    {HTTP_GET, "/livez", &livez, 0},
    {HTTP_GET, "/readyz", &readyz, 0},
    {HTTP_GET, "/metrics", &metrics, 0},
};

ROUTE_GROUP_SHUTDOWN(health_group, health_routes, health_prepare, health_free);
