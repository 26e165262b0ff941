/* db listener: one dedicated connection that LISTENs on a channel and hands each NOTIFY to its
 * owner, reconnecting with backoff when the server goes away. Never blocks the loop and never
 * runs queries for anyone else: a pool connection cannot LISTEN, since any session may hold it. */
#include "logeer/db.h"

#include "logeer/log.h"
#include "pgio.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum listener_state {
    LISTENER_CONNECTING,  /* PQconnectPoll in progress */
    LISTENER_SUBSCRIBING, /* LISTEN sent, waiting for its result */
    LISTENER_LISTENING,   /* watching the socket for notifications */
    LISTENER_BACKOFF,     /* failed; the timer reconnects */
};

struct db_listener {
    char *conninfo;
    char *channel;
    void (*on_notify)(const char *channel, const char *payload, void *arg);
    void (*on_reconnect)(void *arg);
    void *arg;
    enum listener_state state;
    PGconn *pg;          /* NULL in BACKOFF */
    struct event *io;    /* socket watch; re-pointed by db_io_watch */
    struct event *timer; /* connect timeout in CONNECTING, reconnect delay in BACKOFF */
    unsigned backoff_ms; /* delay before the next reconnect */
    unsigned failures;   /* consecutive failures, so only the first of a streak is logged */
    bool flushing;       /* SUBSCRIBING: output still pending */
    PGresult *res;       /* SUBSCRIBING: LISTEN's result so far */
    int cb_depth;        /* > 0 while on_notify or on_reconnect runs */
};

static void listener_on_io(evutil_socket_t fd, short what, void *arg);
static void listener_connect(struct db_listener *l);

static void listener_close_pg(struct db_listener *l)
{
    db_io_unwatch(l->io);
    PQfinish(l->pg);
    l->pg = NULL;
    PQclear(l->res);
    l->res = NULL;
    l->flushing = false;
}

/* any state -> BACKOFF. */
static void listener_backoff(struct db_listener *l, const char *why, const char *detail)
{
    char err[512];
    if (l->failures++ == 0 || l->state == LISTENER_LISTENING)
        log_warn("db: listener on %s %s: %s", l->channel, why,
                 detail ? detail : db_io_error_line(l->pg, err, sizeof err));
    listener_close_pg(l);
    l->state = LISTENER_BACKOFF;
    evtimer_del(l->timer);
    db_io_timer_add(l->timer, l->backoff_ms);
    l->backoff_ms = db_io_backoff_next(l->backoff_ms);
}

static void listener_watch(struct db_listener *l, short events)
{
    if (!db_io_watch(l->io, l->pg, events, listener_on_io, l))
        listener_backoff(l, "lost its socket", NULL);
}

/* Delivers every notification libpq has parsed. The owner's callback may not free the
 * listener (see db_listener_free), so the connection is still there after each call. */
static void listener_deliver(struct db_listener *l)
{
    PGnotify *n;
    while ((n = PQnotifies(l->pg)) != NULL) {
        l->cb_depth++;
        l->on_notify(n->relname, n->extra ? n->extra : "", l->arg);
        l->cb_depth--;
        PQfreemem(n);
    }
}

/* SUBSCRIBING -> LISTENING. Anything committed while we were away was not notified to us,
 * so the owner is told to resynchronise, on the first connect as on every later one. */
static void listener_subscribed(struct db_listener *l)
{
    l->state = LISTENER_LISTENING;
    l->backoff_ms = DB_IO_BACKOFF_FIRST_MS;
    l->failures = 0;
    listener_watch(l, EV_READ | EV_PERSIST);
    if (l->state != LISTENER_LISTENING)
        return;
    if (l->on_reconnect) {
        l->cb_depth++;
        l->on_reconnect(l->arg);
        l->cb_depth--;
    }
    listener_deliver(l);
}

/* CONNECTING -> SUBSCRIBING. The channel is quoted as an identifier, so any name is safe. */
static void listener_subscribe(struct db_listener *l)
{
    evtimer_del(l->timer);
    l->state = LISTENER_SUBSCRIBING;
    char *quoted = PQescapeIdentifier(l->pg, l->channel, strlen(l->channel));
    if (quoted == NULL) {
        listener_backoff(l, "could not quote the channel", NULL);
        return;
    }
    size_t len = strlen(quoted) + sizeof "LISTEN ";
    char *sql = malloc(len);
    if (sql)
        snprintf(sql, len, "LISTEN %s", quoted);
    PQfreemem(quoted);
    int sent = sql ? PQsendQuery(l->pg, sql) : 0;
    free(sql);
    enum db_io_step s = sent ? db_io_flush(l->pg) : DB_IO_FAILED;
    if (s == DB_IO_FAILED) {
        listener_backoff(l, "could not send LISTEN", NULL);
        return;
    }
    l->flushing = s == DB_IO_WANT_WRITE;
    listener_watch(l, EV_READ | EV_PERSIST | (l->flushing ? EV_WRITE : 0));
}

/* SUBSCRIBING: waits for LISTEN's result. */
static void listener_subscribe_io(struct db_listener *l, short what)
{
    switch (db_io_pump(l->pg, what, &l->flushing, &l->res)) {
    case DB_IO_FAILED:
        listener_backoff(l, "lost", NULL);
        return;
    case DB_IO_WANT_READ:
    case DB_IO_WANT_WRITE:
        listener_watch(l, EV_READ | EV_PERSIST | (l->flushing ? EV_WRITE : 0));
        return;
    case DB_IO_DONE:
        break;
    }
    bool ok = l->res && PQresultStatus(l->res) == PGRES_COMMAND_OK;
    if (!ok) {
        const char *msg = l->res ? PQresultErrorMessage(l->res) : "no result";
        char detail[512];
        snprintf(detail, sizeof detail, "%s", msg);
        detail[strcspn(detail, "\n")] = '\0';
        listener_backoff(l, "LISTEN failed", detail);
        return;
    }
    PQclear(l->res);
    l->res = NULL;
    listener_subscribed(l);
}

/* LISTENING: reads notifications, or notices the server leaving. */
static void listener_listen_io(struct db_listener *l)
{
    if (!PQconsumeInput(l->pg) || PQstatus(l->pg) == CONNECTION_BAD) {
        listener_backoff(l, "lost", NULL);
        return;
    }
    listener_deliver(l);
}

/* CONNECTING: one PQconnectPoll step per socket event, with one-shot watches because libpq
 * may replace the socket between steps. */
static void listener_connect_step(struct db_listener *l)
{
    switch (db_io_connect_poll(l->pg)) {
    case DB_IO_WANT_READ:
        listener_watch(l, EV_READ);
        break;
    case DB_IO_WANT_WRITE:
        listener_watch(l, EV_WRITE);
        break;
    case DB_IO_DONE:
        listener_subscribe(l);
        break;
    case DB_IO_FAILED:
        listener_backoff(l, "could not connect", NULL);
        break;
    }
}

static void listener_on_io(evutil_socket_t fd, short what, void *arg)
{
    struct db_listener *l = arg;
    switch (l->state) {
    case LISTENER_CONNECTING:
        listener_connect_step(l);
        break;
    case LISTENER_SUBSCRIBING:
        listener_subscribe_io(l, what);
        break;
    case LISTENER_LISTENING:
        listener_listen_io(l);
        break;
    case LISTENER_BACKOFF:
        break;
    }
}

static void listener_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct db_listener *l = arg;
    if (l->state == LISTENER_BACKOFF)
        listener_connect(l);
    else if (l->state == LISTENER_CONNECTING)
        listener_backoff(l, "timed out connecting", NULL);
}

/* BACKOFF (or new) -> CONNECTING. */
static void listener_connect(struct db_listener *l)
{
    char err[512];
    l->state = LISTENER_CONNECTING;
    l->pg = db_io_connect_start(l->conninfo, err, sizeof err);
    if (l->pg == NULL) {
        listener_backoff(l, "could not connect", err);
        return;
    }
    evtimer_del(l->timer);
    db_io_timer_add(l->timer, DB_IO_CONNECT_TIMEOUT_MS);
    listener_watch(l, EV_WRITE);
}

struct db_listener *db_listener_new(struct event_base *base, const char *conninfo,
                                    const char *channel,
                                    void (*on_notify)(const char *channel, const char *payload,
                                                      void *arg),
                                    void (*on_reconnect)(void *arg), void *arg)
{
    if (base == NULL || channel == NULL || on_notify == NULL)
        return NULL;
    struct db_listener *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->conninfo = strdup(conninfo ? conninfo : "");
    l->channel = strdup(channel);
    l->on_notify = on_notify;
    l->on_reconnect = on_reconnect;
    l->arg = arg;
    l->backoff_ms = DB_IO_BACKOFF_FIRST_MS;
    l->io = event_new(base, -1, 0, listener_on_io, l);
    l->timer = evtimer_new(base, listener_on_timer, l);
    if (!l->conninfo || !l->channel || !l->io || !l->timer) {
        db_listener_free(l);
        return NULL;
    }
    /* Connecting starts here, but no callback runs before the loop does: a failure only
     * arms the reconnect timer. */
    listener_connect(l);
    return l;
}

/* Must not be called from inside on_notify or on_reconnect. */
void db_listener_free(struct db_listener *l)
{
    if (l == NULL)
        return;
    if (l->cb_depth > 0) {
        log_error("db: db_listener_free called from inside a listener callback");
        abort();
    }
    if (l->pg)
        listener_close_pg(l);
    if (l->io)
        event_free(l->io);
    if (l->timer)
        event_free(l->timer);
    free(l->conninfo);
    free(l->channel);
    free(l);
}
