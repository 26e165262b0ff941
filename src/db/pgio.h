/* pgio: the non-blocking libpq plumbing shared by the pool and the listener (connect steps,
 * flushing, collecting results, socket watches, backoff). Internal to src/db/. Holds no state of
 * its own and never blocks: every call returns at once and says what to wait for next. */
#ifndef LOGEER_DB_PGIO_H
#define LOGEER_DB_PGIO_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* libpq ignores connect_timeout for asynchronous connects, so a server that never answers (a
 * dropped SYN) would leave a connection CONNECTING for minutes; we give up after this. */
#define DB_IO_CONNECT_TIMEOUT_MS 10000u
#define DB_IO_BACKOFF_FIRST_MS 100u
/* At most a second between attempts: a database failover takes seconds, and every second a
 * connection sleeps after the new primary is up is a second of 503s. One connect attempt per
 * second per connection is no load for a server. */
#define DB_IO_BACKOFF_MAX_MS 1000u

/* What a connection should do after a step. */
enum db_io_step {
    DB_IO_WANT_READ,  /* wait for the socket to be readable */
    DB_IO_WANT_WRITE, /* wait for it to be writable (and, outside connecting, readable too) */
    DB_IO_DONE,       /* the connect or the command is complete */
    DB_IO_FAILED,     /* the connection is unusable; PQerrorMessage says why */
};

/* PQconnectStart with our notice processor installed. Returns NULL when the attempt failed at
 * once, with the reason in err (errlen bytes). On success the caller waits for EV_WRITE before
 * the first db_io_connect_poll, as libpq's documentation requires. libpq resolves a host name
 * inside this call; configure hostaddr or a socket directory to keep it from blocking. */
PGconn *db_io_connect_start(const char *conninfo, char *err, size_t errlen);

/* The same, with server settings for the session ("-c name=value ..."), added to any options
 * the connection string already has. NULL or "" is db_io_connect_start. */
PGconn *db_io_connect_start_with(const char *conninfo, const char *settings, char *err,
                                 size_t errlen);

/* One PQconnectPoll step; on DB_IO_DONE the connection is also switched to non-blocking mode. */
enum db_io_step db_io_connect_poll(PGconn *pg);

/* PQflush once: DONE when everything is sent, WANT_WRITE when output remains. */
enum db_io_step db_io_flush(PGconn *pg);

/* Advances a sent command after a socket event (what = EV_READ/EV_WRITE bits): reads input,
 * continues flushing while *flushing, and collects results into *res until PQgetResult says
 * the command is complete. Of several results, the first error is kept, otherwise the last. */
enum db_io_step db_io_pump(PGconn *pg, short what, bool *flushing, PGresult **res);

/* Points ev at the connection's current socket for the given events (EV_READ, EV_WRITE,
 * EV_PERSIST) and adds it. Re-arming with the same socket and events is a no-op, so it is cheap
 * to call after every step. Returns false when the connection has no socket. */
bool db_io_watch(struct event *ev, PGconn *pg, short events, event_callback_fn cb, void *arg);

/* Stops watching. Must precede PQfinish: libevent has to forget a socket before it is closed,
 * or a new socket reusing the descriptor number would never be watched. */
void db_io_unwatch(struct event *ev);

/* Current delay, and the next one: 100 ms doubling up to 1 s. */
unsigned db_io_backoff_next(unsigned delay_ms);

/* Adds a timer of ms milliseconds. */
void db_io_timer_add(struct event *timer, unsigned ms);

/* The connection's last error as one line (newlines and tabs folded) in buf. */
const char *db_io_error_line(const PGconn *pg, char *buf, size_t len);

#endif
