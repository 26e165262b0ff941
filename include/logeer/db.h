/* db: an asynchronous PostgreSQL connection pool on the service's libevent loop. Owns the
 * connections, their prepared statements, reconnecting with backoff and the queue of waiting
 * queries. Never blocks the loop: every libpq call it makes is non-blocking. Knows no HTTP. */
#ifndef LOGEER_DB_H
#define LOGEER_DB_H

#include <stdbool.h>
#include <libpq-fe.h>

struct event_base;
struct db_pool;

enum db_status {
    DB_OK,           /* the statement ran; result holds its rows (PGRES_TUPLES_OK/COMMAND_OK) */
    DB_ERROR,        /* PostgreSQL refused the statement; sqlstate and message say why */
    DB_UNAVAILABLE,  /* no connection could run it: database down, or lost mid-query */
    DB_TIMEOUT,      /* waited in the queue longer than the pool's queue timeout */
};

struct db_result {
    enum db_status status;
    PGresult *res;         /* owned by the pool, cleared after the callback returns; NULL
                              unless status is DB_OK or DB_ERROR, and also NULL for a
                              DB_ERROR that never reached the server (unknown statement
                              name: 26000; statement that failed to prepare: its sqlstate) */
    const char *sqlstate;  /* five characters for DB_ERROR, else "" */
    const char *message;   /* human-readable, never NULL */
};

/* Runs on the loop when the query is done, failed or timed out; exactly once per query. */
typedef void (*db_cb)(const struct db_result *r, void *arg);

struct db_pool_options {
    int size;                  /* connections; default 4 */
    unsigned queue_timeout_ms; /* default 5000 */
    unsigned max_queue;        /* default 10000; beyond that DB_UNAVAILABLE at once */
    const char *settings;      /* "-c name=value ..." for every session, or NULL; copied */
    bool read_write;           /* the primary's pool: a session found read-only (a standby, a
                                  demoted primary, default_transaction_read_only) is dropped
                                  and reconnected, and its query answered DB_UNAVAILABLE */
    bool wakeup_after_commit;  /* sessions collect their NOTIFYs and the pool sends them after
                                  each commit, in a transaction of their own (migration 0044) */
};

struct db_pool *db_pool_new(struct event_base *base, const char *conninfo,
                            const struct db_pool_options *opts);

/* Registers a statement every connection prepares right after it connects (and again after a
 * reconnect). Call before db_pool_start. name must be unique; sql uses $1..$n. */
__attribute__((warn_unused_result))
int db_pool_prepare(struct db_pool *pool, const char *name, const char *sql);

/* Starts connecting all connections; returns at once. */
void db_pool_start(struct db_pool *pool);

/* Queues a prepared statement. params are copied (NULL entries are SQL NULL), so the caller
 * may free them on return. cb runs later on the loop, never from inside this call; cb may be
 * NULL for a write whose outcome nobody waits for (its errors are still counted). */
void db_query(struct db_pool *pool, const char *stmt_name, int nparams,
              const char *const *params, db_cb cb, void *arg);

/* As db_query, for a statement that continues work already begun (a request's second
 * statement, after it read what it needs): queued ahead of every query that starts new work,
 * oldest first, so that a request of two statements waits in the queue about once, not twice,
 * and work begun is finished before more is begun. */
void db_query_next(struct db_pool *pool, const char *stmt_name, int nparams,
                   const char *const *params, db_cb cb, void *arg);

/* True when at least one connection is ready for queries. */
bool db_pool_healthy(const struct db_pool *pool);

struct db_pool_stats {
    int size, connected, idle, busy;   /* connected counts preparing, idle and busy */
    unsigned queued;                   /* waiting for a connection */
    unsigned long long queries_total;  /* db_query calls */
    unsigned long long errors_total;   /* callbacks with a status other than DB_OK */
    unsigned long long reconnects_total; /* reconnect attempts after a failure */
    unsigned long long wakeups_total;  /* notifications sent after commit */
    unsigned long long wakeups_lost_total; /* flushes that failed or whose session was lost */
};
void db_pool_stats(const struct db_pool *pool, struct db_pool_stats *out);

/* Closes everything; pending queries get DB_UNAVAILABLE callbacks first. Those callbacks run
 * synchronously inside this call. Must not be called from inside a db_cb. */
void db_pool_free(struct db_pool *pool);

/* LISTEN on a dedicated connection; on_notify(channel, payload, arg) for each notification.
 * Reconnects by itself; on_reconnect (may be NULL) runs after each re-established LISTEN so the
 * caller can resynchronise what it may have missed. */
struct db_listener;
struct db_listener *db_listener_new(struct event_base *base, const char *conninfo,
                                    const char *channel,
                                    void (*on_notify)(const char *channel, const char *payload,
                                                      void *arg),
                                    void (*on_reconnect)(void *arg), void *arg);
void db_listener_free(struct db_listener *l); /* not from inside on_notify/on_reconnect */

/* Helpers for results. */
const char *db_value(const PGresult *res, int row, int col);   /* "" for NULL */
bool db_is_null(const PGresult *res, int row, int col);

#endif
