/* pgio: the non-blocking libpq steps the pool and the listener share. Keeps no state: callers
 * own their PGconn, events and state machines. Must never call a blocking libpq function
 * (PQexec, PQgetResult while busy, PQconnectdb, blocking PQflush). */
#include "pgio.h"

#include "logeer/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL sends NOTICE and WARNING messages, and on an idle connection also the FATAL that
 * precedes a server shutdown, through this hook. libpq's default prints them raw to stderr;
 * for the service they are noise at best, so they only appear at debug level. */
static void db_io_on_notice(void *arg, const char *message)
{
    (void)arg;
    size_t len = strlen(message);
    while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == ' '))
        len--;
    log_debug("db: server notice: %.*s", (int)len, message);
}

const char *db_io_error_line(const PGconn *pg, char *buf, size_t len)
{
    const char *msg = pg ? PQerrorMessage(pg) : "out of memory";
    snprintf(buf, len, "%s", msg && *msg ? msg : "unknown error");
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}

PGconn *db_io_connect_start(const char *conninfo, char *err, size_t errlen)
{
    PGconn *pg = PQconnectStart(conninfo);
    if (pg == NULL || PQstatus(pg) == CONNECTION_BAD || PQsocket(pg) < 0) {
        db_io_error_line(pg, err, errlen);
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, db_io_on_notice, NULL);
    return pg;
}

PGconn *db_io_connect_start_with(const char *conninfo, const char *settings, char *err,
                                 size_t errlen)
{
    if (!settings || !*settings)
        return db_io_connect_start(conninfo, err, errlen);
    /* The connection string may carry options of its own: ours are appended, not put in
     * their place. */
    char *parse_err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &parse_err);
    if (!opts) {
        snprintf(err, errlen, "%s", parse_err ? parse_err : "out of memory");
        PQfreemem(parse_err);
        return NULL;
    }
    const char *own = "";
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "options") == 0 && o->val)
            own = o->val;
    size_t len = strlen(own) + strlen(settings) + 2;
    char *merged = malloc(len);
    if (!merged) {
        PQconninfoFree(opts);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(merged, len, "%s%s%s", own, *own ? " " : "", settings);
    PQconninfoFree(opts);
    /* expand_dbname: conninfo is read as a whole connection string, then "options" wins. */
    const char *const keys[] = {"dbname", "options", NULL};
    const char *const values[] = {conninfo, merged, NULL};
    PGconn *pg = PQconnectStartParams(keys, values, 1);
    free(merged);
    if (pg == NULL || PQstatus(pg) == CONNECTION_BAD || PQsocket(pg) < 0) {
        db_io_error_line(pg, err, errlen);
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, db_io_on_notice, NULL);
    return pg;
}

enum db_io_step db_io_connect_poll(PGconn *pg)
{
    switch (PQconnectPoll(pg)) {
    case PGRES_POLLING_READING:
        return DB_IO_WANT_READ;
    case PGRES_POLLING_WRITING:
        return DB_IO_WANT_WRITE;
    case PGRES_POLLING_OK:
        return PQsetnonblocking(pg, 1) == 0 ? DB_IO_DONE : DB_IO_FAILED;
    default:
        return DB_IO_FAILED;
    }
}

enum db_io_step db_io_flush(PGconn *pg)
{
    int r = PQflush(pg);
    if (r < 0)
        return DB_IO_FAILED;
    return r == 0 ? DB_IO_DONE : DB_IO_WANT_WRITE;
}

/* A failed command usually yields one error result, but if several results arrive the error
 * is what the caller must see, so it is never replaced by a later result. */
static void db_io_keep_result(PGresult **slot, PGresult *r)
{
    if (*slot != NULL && PQresultStatus(*slot) == PGRES_FATAL_ERROR) {
        PQclear(r);
        return;
    }
    PQclear(*slot);
    *slot = r;
}

enum db_io_step db_io_pump(PGconn *pg, short what, bool *flushing, PGresult **res)
{
    /* libpq asks callers to consume input even while output is still pending, since the
     * server may be blocked writing to us until we read. */
    if ((what & EV_READ) && !PQconsumeInput(pg))
        return DB_IO_FAILED;
    if (*flushing) {
        enum db_io_step s = db_io_flush(pg);
        if (s == DB_IO_FAILED)
            return s;
        *flushing = s == DB_IO_WANT_WRITE;
    }
    while (!PQisBusy(pg)) {
        PGresult *r = PQgetResult(pg);
        if (r == NULL)
            return PQstatus(pg) == CONNECTION_BAD ? DB_IO_FAILED : DB_IO_DONE;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            /* COPY would keep PQgetResult answering forever; nothing here drives it, so
             * the connection is given up rather than left stuck. */
            PQclear(r);
            return DB_IO_FAILED;
        }
        db_io_keep_result(res, r);
    }
    if (PQstatus(pg) == CONNECTION_BAD)
        return DB_IO_FAILED;
    return *flushing ? DB_IO_WANT_WRITE : DB_IO_WANT_READ;
}

bool db_io_watch(struct event *ev, PGconn *pg, short events, event_callback_fn cb, void *arg)
{
    evutil_socket_t fd = PQsocket(pg);
    if (fd < 0)
        return false;
    if (event_pending(ev, EV_READ | EV_WRITE, NULL) && event_get_fd(ev) == fd &&
        event_get_events(ev) == events)
        return true;
    event_del(ev);
    if (event_assign(ev, event_get_base(ev), fd, events, cb, arg) != 0)
        return false;
    return event_add(ev, NULL) == 0;
}

void db_io_unwatch(struct event *ev)
{
    if (ev != NULL)
        event_del(ev);
}

unsigned db_io_backoff_next(unsigned delay_ms)
{
    if (delay_ms < DB_IO_BACKOFF_FIRST_MS)
        return DB_IO_BACKOFF_FIRST_MS;
    return delay_ms >= DB_IO_BACKOFF_MAX_MS / 2 ? DB_IO_BACKOFF_MAX_MS : delay_ms * 2;
}

void db_io_timer_add(struct event *timer, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(timer, &tv);
}
