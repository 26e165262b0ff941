/* db pool: a fixed set of PostgreSQL connections on the libevent loop, each an explicit state
 * machine, plus the queue of queries waiting for one: two FIFO lanes, queries that continue
 * work already begun (db_query_next) before queries that start new work. Must never block the
 * loop, never retry a query that may have run, and never call a query's callback from inside
 * db_query. */
#include "logeer/db.h"

#include "logeer/clock.h"
#include "logeer/log.h"
#include "pgio.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_DEFAULT_SIZE 4
#define DB_DEFAULT_QUEUE_TIMEOUT_MS 5000u
#define DB_DEFAULT_MAX_QUEUE 10000u
#define DB_MAX_SIZE 1000

enum db_conn_state {
    DB_CONN_DISCONNECTED, /* never started, or closed by db_pool_free */
    DB_CONN_CONNECTING,   /* PQconnectPoll in progress */
    DB_CONN_CHECKING,     /* connected (read-write pool); asking whether commits are durable */
    DB_CONN_PREPARING,    /* connected; preparing the registered statements one by one */
    DB_CONN_IDLE,         /* ready; watching the socket only to notice the server leaving */
    DB_CONN_BUSY,         /* running one query */
    DB_CONN_WAKING,       /* the query has committed; sending the wake-ups it collected, whose
                           * transaction flushes the commit to disk before the query is answered */
    DB_CONN_BACKOFF,      /* failed; the timer reconnects */
};

struct db_stmt {
    char *name;
    char *sql;
    char sqlstate[6]; /* from the first failed prepare; "" while none failed */
    char *error;      /* that failure's message, or NULL */
};

/* One db_query call: a single allocation holding the parameter copies after the struct. */
struct db_request {
    struct db_request *next; /* queue or done-list link */
    db_cb cb;
    void *arg;
    int stmt;                /* index into pool->stmts, or -1 for an unknown name */
    int nparams;
    uint64_t queued_ms;      /* monotonic time of db_query, for the queue timeout */
    enum db_status status;   /* for failures delivered from the done list */
    const char *sqlstate;    /* idem; static or owned by a struct db_stmt */
    const char *message;     /* idem */
    const char *params[];    /* nparams entries, NULL for SQL NULL; the strings follow */
};

/* One FIFO lane of the queue. */
struct db_lane {
    struct db_request *head, *tail;
};

enum { DB_LANE_NEXT, DB_LANE_NEW, DB_LANES };

struct db_conn {
    struct db_pool *pool;
    int id;                   /* index in pool->conns, for log lines */
    enum db_conn_state state;
    PGconn *pg;               /* NULL in DISCONNECTED and BACKOFF */
    struct event *io;         /* socket watch; re-pointed by db_io_watch */
    struct event *timer;      /* connect timeout in CONNECTING, reconnect delay in BACKOFF */
    unsigned backoff_ms;      /* delay before the next reconnect */
    bool tried;               /* has finished at least one connect attempt */
    bool flushing;            /* output still pending after a send */
    unsigned failures;        /* consecutive failures, so only the first of a streak is logged */
    size_t prep_next;         /* PREPARING: index of the statement being prepared */
    bool *stmt_ok;            /* per statement: prepared on this connection */
    struct db_request *req;   /* BUSY: the query in flight; WAKING: the query to answer */
    PGresult *answer;         /* WAKING: its result, handed over once its commit is flushed */
    bool flush_retry;         /* WAKING: the wake-ups failed; flushing the commit alone */
    bool wakeup_pending;      /* the server said 'logeer:wakeup' during the query in flight */
    PGresult *res;            /* CHECKING/PREPARING/BUSY: result so far */
};

struct db_pool {
    struct event_base *base;
    char *conninfo;
    char *settings;            /* session settings (db_pool_options.settings) */
    bool read_write;           /* db_pool_options.read_write */
    bool wakeup_after_commit;  /* db_pool_options.wakeup_after_commit */
    int size;
    unsigned queue_timeout_ms;
    unsigned max_queue;
    struct db_stmt *stmts;
    size_t nstmts;
    struct db_conn *conns;
    bool started;
    bool closing;             /* inside db_pool_free: nothing new may start */
    int cb_depth;             /* > 0 while a user callback runs */
    struct db_lane lanes[DB_LANES]; /* DB_LANE_NEXT first, then DB_LANE_NEW */
    unsigned queued;                /* in both lanes */
    struct db_request *done_head, *done_tail; /* failures waiting to be delivered on the loop */
    struct event *deliver;    /* activated whenever the done list gains an entry */
    struct event *sweep;      /* queue-timeout check, pending while the queue is not empty */
    unsigned long long queries_total, errors_total, reconnects_total;
    unsigned long long wakeups_total, wakeups_lost_total;
};

static void conn_on_io(evutil_socket_t fd, short what, void *arg);
static void conn_connect(struct db_conn *c);
static void conn_backoff(struct db_conn *c, const char *why);
static void pool_dispatch(struct db_pool *p);

static bool conn_is_connected(const struct db_conn *c)
{
    return c->state == DB_CONN_CHECKING || c->state == DB_CONN_PREPARING ||
           c->state == DB_CONN_IDLE || c->state == DB_CONN_BUSY || c->state == DB_CONN_WAKING;
}

/* After a failover the multi-host conninfo may still lead to a server that cannot take writes:
 * the old primary restarted by its keeper before it is demoted, or a standby when the caller's
 * conninfo has no target_session_attrs. The server reports both settings (PostgreSQL 14 and
 * later) at connect time and whenever they change, so asking costs no round trip. */
static bool conn_session_read_only(const struct db_conn *c)
{
    if (!c->pool->read_write || c->pg == NULL)
        return false;
    const char *standby = PQparameterStatus(c->pg, "in_hot_standby");
    const char *ro = PQparameterStatus(c->pg, "default_transaction_read_only");
    return (standby && strcmp(standby, "on") == 0) || (ro && strcmp(ro, "on") == 0);
}

/* SQLSTATE 25006 (read_only_sql_transaction) on the primary's pool: the statement did not run,
 * and every later write on this session would fail the same way. */
static bool conn_refused_as_read_only(const struct db_conn *c, const PGresult *res)
{
    if (!c->pool->read_write || res == NULL)
        return false;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state && strcmp(state, "25006") == 0;
}

/* ---- delivering results ------------------------------------------------------------------ */

static void pool_invoke(struct db_pool *p, const struct db_request *q, const struct db_result *r)
{
    if (r->status != DB_OK)
        p->errors_total++;
    p->cb_depth++;
    if (q->cb) /* NULL: fire and forget (e.g. log rows written after the reply) */
        q->cb(r, q->arg);
    p->cb_depth--;
}

/* Failures are never reported on the spot: the caller may be inside db_query or in the middle
 * of a state transition. They go to the done list, which the loop drains right after. */
static void request_fail(struct db_pool *p, struct db_request *q, enum db_status status,
                         const char *sqlstate, const char *message)
{
    q->status = status;
    q->sqlstate = sqlstate;
    q->message = message;
    q->next = NULL;
    if (p->done_tail)
        p->done_tail->next = q;
    else
        p->done_head = q;
    p->done_tail = q;
    if (!p->closing)
        event_active(p->deliver, EV_TIMEOUT, 0);
}

static void pool_drain_done(struct db_pool *p)
{
    while (p->done_head) {
        struct db_request *q = p->done_head;
        p->done_head = q->next;
        if (p->done_head == NULL)
            p->done_tail = NULL;
        struct db_result r = {.status = q->status, .res = NULL, .sqlstate = q->sqlstate,
                              .message = q->message};
        pool_invoke(p, q, &r);
        free(q);
    }
}

static void pool_on_deliver(evutil_socket_t fd, short what, void *arg)
{
    pool_drain_done(arg);
}

/* PQresultErrorMessage ends in a newline (and may hold DETAIL/HINT lines); the copy drops the
 * trailing white space so the message can be embedded in a log line or a problem detail. */
static char *db_error_copy(const PGresult *res)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (*msg == '\0')
        msg = "statement failed without a message";
    char *copy = strdup(msg);
    if (copy == NULL)
        return NULL;
    size_t n = strlen(copy);
    while (n > 0 && (copy[n - 1] == '\n' || copy[n - 1] == ' '))
        copy[--n] = '\0';
    return copy;
}

static void request_complete(struct db_pool *p, struct db_request *q, PGresult *res)
{
    struct db_result r = {.status = DB_OK, .res = res, .sqlstate = "", .message = ""};
    char *msg = NULL;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        r.status = DB_ERROR;
        r.sqlstate = state && strlen(state) == 5 ? state : "XX000";
        msg = db_error_copy(res);
        r.message = msg ? msg : "statement failed (out of memory copying the message)";
    }
    pool_invoke(p, q, &r);
    free(msg);
    PQclear(res);
    free(q);
}

/* ---- the queue ------------------------------------------------------------------------------ */

static void queue_push(struct db_pool *p, struct db_request *q, int lane)
{
    struct db_lane *l = &p->lanes[lane];
    q->next = NULL;
    if (l->tail)
        l->tail->next = q;
    else
        l->head = q;
    l->tail = q;
    p->queued++;
    if (!evtimer_pending(p->sweep, NULL)) {
        unsigned period = p->queue_timeout_ms / 10;
        db_io_timer_add(p->sweep, period < 10 ? 10 : period > 250 ? 250 : period);
    }
}

static struct db_request *lane_pop(struct db_pool *p, struct db_lane *l)
{
    struct db_request *q = l->head;
    if (q == NULL)
        return NULL;
    l->head = q->next;
    if (l->head == NULL)
        l->tail = NULL;
    p->queued--;
    return q;
}

/* The next query to run: work already begun before new work, each lane oldest first. */
static struct db_request *queue_pop(struct db_pool *p)
{
    struct db_request *q = lane_pop(p, &p->lanes[DB_LANE_NEXT]);
    return q ? q : lane_pop(p, &p->lanes[DB_LANE_NEW]);
}

static void queue_fail_all(struct db_pool *p, const char *message)
{
    struct db_request *q;
    while ((q = queue_pop(p)) != NULL)
        request_fail(p, q, DB_UNAVAILABLE, "", message);
}

/* Each lane is FIFO, so its oldest entries are at its head and the scan of a lane stops at
 * the first one still within its time. */
static void pool_on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct db_pool *p = arg;
    uint64_t now = (uint64_t)clock_monotonic_ms();
    for (int i = 0; i < DB_LANES; i++) {
        struct db_lane *l = &p->lanes[i];
        while (l->head && now - l->head->queued_ms >= p->queue_timeout_ms)
            request_fail(p, lane_pop(p, l), DB_TIMEOUT, "",
                         "waited too long for a database connection");
    }
    if (p->queued > 0) {
        unsigned period = p->queue_timeout_ms / 10;
        db_io_timer_add(p->sweep, period < 10 ? 10 : period > 250 ? 250 : period);
    }
}

/* "Down" means every connection has tried at least once and none is connected now: queries
 * would only wait for the timeout, so they fail at once and the caller can answer 503. */
static bool pool_is_down(const struct db_pool *p)
{
    if (!p->started)
        return false;
    for (int i = 0; i < p->size; i++)
        if (!p->conns[i].tried || conn_is_connected(&p->conns[i]))
            return false;
    return true;
}

static void pool_fail_queue_if_down(struct db_pool *p)
{
    if (pool_is_down(p))
        queue_fail_all(p, "database unavailable");
}

/* ---- connection state transitions ---------------------------------------------------------- */

static void conn_watch_busy(struct db_conn *c)
{
    short events = EV_READ | EV_PERSIST | (c->flushing ? EV_WRITE : 0);
    if (!db_io_watch(c->io, c->pg, events, conn_on_io, c))
        conn_backoff(c, "lost its socket");
}

/* After a send: push out what libpq buffered, and wait for the rest or for the answer. */
static void conn_after_send(struct db_conn *c)
{
    enum db_io_step s = db_io_flush(c->pg);
    if (s == DB_IO_FAILED) {
        conn_backoff(c, "failed while sending");
        return;
    }
    c->flushing = s == DB_IO_WANT_WRITE;
    conn_watch_busy(c);
}

static void conn_close_pg(struct db_conn *c)
{
    db_io_unwatch(c->io);
    PQfinish(c->pg);
    c->pg = NULL;
    c->flushing = false;
    PQclear(c->res);
    c->res = NULL;
}

/* any connected state, CONNECTING -> BACKOFF. The query in flight, if any, may or may not
 * have committed, so it is reported as DB_UNAVAILABLE and never sent again. */
static void conn_backoff_because(struct db_conn *c, const char *why, const char *detail)
{
    struct db_pool *p = c->pool;
    char err[512];
    if (c->failures++ == 0 || conn_is_connected(c))
        log_warn("db: connection %d %s: %s", c->id, why,
                 detail ? detail : db_io_error_line(c->pg, err, sizeof err));
    if (c->req) {
        /* In WAKING too: the commit may not have reached the disk, so it is not reported as
         * done; the client retries with its Idempotency-Key and learns what happened. */
        request_fail(p, c->req, DB_UNAVAILABLE, "", "database connection lost during the query");
        c->req = NULL;
    }
    PQclear(c->answer);
    c->answer = NULL;
    c->flush_retry = false;
    if (c->state == DB_CONN_WAKING || c->wakeup_pending) {
        /* They were collected in the session that is now gone; other processes' indexes
         * repair themselves with their periodic re-read (src/events/sync.c). */
        p->wakeups_lost_total++;
        log_warn("db: connection %d lost the notifications of a committed transaction; other "
                 "processes see its changes at their next full re-read", c->id);
    }
    c->wakeup_pending = false;
    conn_close_pg(c);
    c->tried = true;
    c->state = DB_CONN_BACKOFF;
    evtimer_del(c->timer);
    db_io_timer_add(c->timer, c->backoff_ms);
    c->backoff_ms = db_io_backoff_next(c->backoff_ms);
    pool_fail_queue_if_down(p);
}

static void conn_backoff(struct db_conn *c, const char *why)
{
    conn_backoff_because(c, why, NULL);
}

/* PREPARING, BUSY -> IDLE. Watches for input so that a server going away is seen at once,
 * not when the next query is sent; then takes the oldest waiting query, if any. */
static void conn_become_idle(struct db_conn *c)
{
    /* The server reports a changed default_transaction_read_only with the answer to the next
     * query, so a read that just succeeded may bring the news that writes would not. */
    if (conn_session_read_only(c)) {
        conn_backoff_because(c, "became read-only", "dropped so that the reconnect finds the primary");
        return;
    }
    c->state = DB_CONN_IDLE;
    c->backoff_ms = DB_IO_BACKOFF_FIRST_MS;
    c->failures = 0;
    if (!db_io_watch(c->io, c->pg, EV_READ | EV_PERSIST, conn_on_io, c)) {
        conn_backoff(c, "lost its socket");
        return;
    }
    pool_dispatch(c->pool);
}

/* PREPARING: sends the next statement's Parse, or becomes IDLE after the last one. */
static void conn_prepare_next(struct db_conn *c)
{
    struct db_pool *p = c->pool;
    if (c->prep_next >= p->nstmts) {
        conn_become_idle(c);
        return;
    }
    struct db_stmt *s = &p->stmts[c->prep_next];
    if (!PQsendPrepare(c->pg, s->name, s->sql, 0, NULL)) {
        conn_backoff(c, "failed to send a prepare");
        return;
    }
    conn_after_send(c);
}

/* A statement that fails to prepare (bad SQL, missing table) stays unusable on this
 * connection; the others still work. It is not retried until the next reconnect, and it is
 * logged once per pool rather than once per connection. */
static void stmt_record_error(struct db_stmt *s, const PGresult *res)
{
    if (s->error != NULL)
        return;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(s->sqlstate, sizeof s->sqlstate, "%s", state && strlen(state) == 5 ? state : "XX000");
    s->error = db_error_copy(res);
    log_error("db: statement %s failed to prepare: %s", s->name,
              s->error ? s->error : "(no message)");
}

static void conn_prepared_one(struct db_conn *c, PGresult *res)
{
    struct db_stmt *s = &c->pool->stmts[c->prep_next];
    bool ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
    c->stmt_ok[c->prep_next] = ok;
    if (!ok)
        stmt_record_error(s, res);
    PQclear(res);
    c->prep_next++;
    conn_prepare_next(c);
}

/* A primary whose postmaster crashed is restarted by its keeper before the failover manager
 * demotes it. It then accepts writes that wait forever for the standby being promoted, and,
 * worse, shows in every read the commits it had written but never got acknowledged: they are
 * rewound away once it is demoted, so an answer based on them would be wrong. Such a server
 * names a synchronous standby that does not stream. A primary the manager has told to go on
 * alone (pg_auto_failover's wait_primary) names none and is fine. Seeing the standbys needs
 * pg_read_all_stats (pg_monitor); without it the check says yes rather than lock us out. */
#define DB_DURABLE_CHECK_SQL                                                                    \
    "SELECT NOT pg_has_role('pg_read_all_stats', 'USAGE') "                                    \
    "OR current_setting('synchronous_standby_names') = '' "                                    \
    "OR EXISTS (SELECT 1 FROM pg_stat_replication "                                            \
    "WHERE state = 'streaming' AND sync_state IN ('sync', 'quorum'))"

/* CHECKING -> PREPARING, or -> BACKOFF when the server cannot acknowledge a commit now. A
 * failed check (no answer that says "no") lets the connection through. */
static void conn_checked(struct db_conn *c, PGresult *res)
{
    bool refused = res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                   strcmp(PQgetvalue(res, 0, 0), "f") == 0;
    PQclear(res);
    if (refused) {
        conn_backoff_because(c, "reached a primary without its synchronous standby",
                             "its commits cannot be acknowledged now; trying again");
        return;
    }
    c->state = DB_CONN_PREPARING;
    conn_prepare_next(c);
}

/* CONNECTING -> CHECKING (read-write pool) or PREPARING. */
static void conn_prepare_begin(struct db_conn *c)
{
    evtimer_del(c->timer);
    c->state = DB_CONN_PREPARING;
    c->tried = true;
    c->prep_next = 0;
    c->flushing = false;
    if (c->pool->nstmts)
        memset(c->stmt_ok, 0, c->pool->nstmts * sizeof *c->stmt_ok);
    if (conn_session_read_only(c)) {
        conn_backoff_because(c, "reached a read-only server",
                             "in recovery or default_transaction_read_only; trying again");
        return;
    }
    if (c->pool->read_write) {
        c->state = DB_CONN_CHECKING;
        if (!PQsendQuery(c->pg, DB_DURABLE_CHECK_SQL)) {
            conn_backoff(c, "failed to send the primary check");
            return;
        }
        conn_after_send(c);
        return;
    }
    conn_prepare_next(c);
}

/* CONNECTING: one PQconnectPoll step per socket event. Socket watches here are one-shot
 * because libpq may replace the socket between steps (next address, SSL retry). */
static void conn_connect_step(struct db_conn *c)
{
    switch (db_io_connect_poll(c->pg)) {
    case DB_IO_WANT_READ:
        if (!db_io_watch(c->io, c->pg, EV_READ, conn_on_io, c))
            conn_backoff(c, "lost its socket while connecting");
        break;
    case DB_IO_WANT_WRITE:
        if (!db_io_watch(c->io, c->pg, EV_WRITE, conn_on_io, c))
            conn_backoff(c, "lost its socket while connecting");
        break;
    case DB_IO_DONE:
        conn_prepare_begin(c);
        break;
    case DB_IO_FAILED:
        conn_backoff(c, "could not connect");
        break;
    }
}

/* Notices arrive while a result is read. 'logeer:wakeup' (migration 0044) says the
 * transaction in flight collected notifications to send after its commit; any other notice
 * goes to the log, as libpq's default would print it. */
static void conn_on_notice(void *arg, const PGresult *res)
{
    struct db_conn *c = arg;
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (msg && strcmp(msg, "logeer:wakeup") == 0) {
        c->wakeup_pending = c->pool->wakeup_after_commit;
        return;
    }
    log_info("db: connection %d: %s", c->id, msg ? msg : "(notice without a message)");
}

/* DISCONNECTED, BACKOFF -> CONNECTING. */
static void conn_connect(struct db_conn *c)
{
    char err[512];
    c->pg = db_io_connect_start_with(c->pool->conninfo, c->pool->settings, err, sizeof err);
    c->state = DB_CONN_CONNECTING;
    if (c->pg == NULL) {
        conn_backoff_because(c, "could not connect", err);
        return;
    }
    PQsetNoticeReceiver(c->pg, conn_on_notice, c);
    c->wakeup_pending = false;
    evtimer_del(c->timer);
    db_io_timer_add(c->timer, DB_IO_CONNECT_TIMEOUT_MS);
    if (!db_io_watch(c->io, c->pg, EV_WRITE, conn_on_io, c))
        conn_backoff(c, "has no socket");
}

/* IDLE -> BUSY. */
static void conn_send(struct db_conn *c, struct db_request *q)
{
    struct db_pool *p = c->pool;
    c->state = DB_CONN_BUSY;
    c->req = q;
    if (!PQsendQueryPrepared(c->pg, p->stmts[q->stmt].name, q->nparams, q->params, NULL, NULL,
                             0)) {
        conn_backoff(c, "failed to send a query");
        return;
    }
    conn_after_send(c);
}

/* The commit's flush, then the notifications, each its own transaction, in one round trip:
 * the explicit block ends the first before the second begins. The flush must not share a
 * transaction with NOTIFY, which holds a cluster-wide lock until its commit is on disk. */
#define DB_FLUSH_THEN_WAKE_SQL                                                                 \
    "BEGIN; SELECT logeer_commit_flush(); COMMIT; SELECT logeer_wakeup_flush()"

/* BUSY -> WAKING: the transaction that just committed collected notifications (migration
 * 0044: logeerd's sessions send them after commit, so that their commits do not queue for
 * PostgreSQL's NOTIFY lock). Sent on the same session, the only one that holds them; a flush
 * that finds nothing (the transaction rolled back after the notice) costs one round trip.
 * Such a transaction committed without waiting for its WAL flush (migration 0048: the night's
 * row lock is released before the disk write, not after it); logeer_commit_flush()'s commit
 * writes the WAL through to disk, its position after the first commit's, and only then is
 * the query answered. */
static void conn_send_wakeups(struct db_conn *c)
{
    c->wakeup_pending = false;
    c->state = DB_CONN_WAKING;
    /* A failure inside the explicit block leaves it open and aborted: end it first. */
    const char *sql = !c->flush_retry ? DB_FLUSH_THEN_WAKE_SQL
                      : PQtransactionStatus(c->pg) == PQTRANS_IDLE
                          ? "SELECT logeer_commit_flush()"
                          : "ROLLBACK; SELECT logeer_commit_flush()";
    if (!PQsendQuery(c->pg, sql)) {
        conn_backoff(c, "failed to send the notifications");
        return;
    }
    conn_after_send(c);
}

/* WAKING -> IDLE, answering the query that waited for the flush. When the round trip fails on
 * a live server (it stops at its first error, which may have been the flush), the commit is
 * flushed by a statement of its own before the answer; should that fail too, the query is
 * answered all the same, since the server is up and writes its WAL out within a fraction of a
 * second. */
static void conn_wakeups_sent(struct db_conn *c, PGresult *res)
{
    struct db_pool *p = c->pool;
    bool ok = res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    char *msg = ok ? NULL : db_error_copy(res);
    if (!c->flush_retry && !ok) {
        p->wakeups_lost_total++;
        log_warn("db: connection %d could not send its notifications (kept for the next "
                 "flush): %s", c->id, msg ? msg : "(no message)");
        free(msg);
        PQclear(res);
        c->flush_retry = true;
        conn_send_wakeups(c);
        return;
    }
    if (ok && !c->flush_retry)
        p->wakeups_total += (unsigned long long)atoll(PQgetvalue(res, 0, 0));
    else if (!ok)
        log_error("db: connection %d could not flush a commit before answering: %s", c->id,
                  msg ? msg : "(no message)");
    free(msg);
    PQclear(res);
    c->flush_retry = false;
    /* Always set in WAKING: only conn_finish_query enters it, and a lost connection leaves. */
    struct db_request *q = c->req;
    PGresult *answer = c->answer;
    c->req = NULL;
    c->answer = NULL;
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        conn_backoff_because(c, "was left inside a transaction block",
                             "dropped so that no later query runs in it");
    else
        conn_become_idle(c);
    request_complete(p, q, answer);
}

/* BUSY -> IDLE (or WAKING). The connection takes its next query before this one's callback
 * runs, so the server is not kept waiting for our reply to the client; the callback is free
 * to queue more work, and what continues this work (db_query_next) goes ahead of new work for
 * the next connection that frees up. (Running the callback first, so that a continuation
 * took this very connection, was measured slower: the connection then waits out the reply.)
 * A query whose transaction collected wake-ups is answered after their flush (above). */
static void conn_finish_query(struct db_conn *c, PGresult *res)
{
    if (c->wakeup_pending) {
        c->answer = res;
        conn_send_wakeups(c);
        return;
    }
    struct db_request *q = c->req;
    c->req = NULL;
    conn_become_idle(c);
    request_complete(c->pool, q, res);
}

/* IDLE: input here is never an answer. It is the server leaving (an error, then EOF) or a
 * stray notification, which is dropped. */
static void conn_idle_input(struct db_conn *c)
{
    if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_backoff(c, "lost");
        return;
    }
    PGnotify *n;
    while ((n = PQnotifies(c->pg)) != NULL)
        PQfreemem(n);
    if (conn_session_read_only(c))
        conn_backoff_because(c, "became read-only", "dropped so that the reconnect finds the primary");
}

/* CHECKING, PREPARING, BUSY: advances the command in flight. */
static void conn_command_io(struct db_conn *c, short what)
{
    switch (db_io_pump(c->pg, what, &c->flushing, &c->res)) {
    case DB_IO_FAILED:
        conn_backoff(c, "lost");
        return;
    case DB_IO_WANT_READ:
    case DB_IO_WANT_WRITE:
        conn_watch_busy(c);
        return;
    case DB_IO_DONE:
        break;
    }
    PGresult *res = c->res;
    c->res = NULL;
    if (c->state == DB_CONN_BUSY && conn_refused_as_read_only(c, res)) {
        /* The query in flight is answered DB_UNAVAILABLE (a 503 with Retry-After): retrying
         * it on the primary is the client's choice, made with its Idempotency-Key. */
        PQclear(res);
        conn_backoff_because(c, "is read-only (SQLSTATE 25006)",
                             "dropped so that the reconnect finds the primary");
        return;
    }
    if (c->state == DB_CONN_CHECKING)
        conn_checked(c, res);
    else if (c->state == DB_CONN_PREPARING)
        conn_prepared_one(c, res);
    else if (c->state == DB_CONN_WAKING)
        conn_wakeups_sent(c, res);
    else
        conn_finish_query(c, res);
}

static void conn_on_io(evutil_socket_t fd, short what, void *arg)
{
    struct db_conn *c = arg;
    switch (c->state) {
    case DB_CONN_CONNECTING:
        conn_connect_step(c);
        break;
    case DB_CONN_CHECKING:
    case DB_CONN_PREPARING:
    case DB_CONN_BUSY:
    case DB_CONN_WAKING:
        conn_command_io(c, what);
        break;
    case DB_CONN_IDLE:
        conn_idle_input(c);
        break;
    case DB_CONN_DISCONNECTED:
    case DB_CONN_BACKOFF:
        break;
    }
}

static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct db_conn *c = arg;
    if (c->state == DB_CONN_BACKOFF) {
        c->pool->reconnects_total++;
        conn_connect(c);
    } else if (c->state == DB_CONN_CONNECTING) {
        conn_backoff(c, "timed out connecting");
    }
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static struct db_conn *pool_idle_conn(struct db_pool *p)
{
    for (int i = 0; i < p->size; i++)
        if (p->conns[i].state == DB_CONN_IDLE)
            return &p->conns[i];
    return NULL;
}

/* Hands waiting queries to idle connections, oldest first. Runs no user code: failures go to
 * the done list, so it is safe from inside db_query and from inside a transition. */
static void pool_dispatch(struct db_pool *p)
{
    struct db_conn *c;
    while (p->queued > 0 && (c = pool_idle_conn(p)) != NULL) {
        struct db_request *q = queue_pop(p);
        struct db_stmt *s = &p->stmts[q->stmt];
        if (!c->stmt_ok[q->stmt])
            request_fail(p, q, DB_ERROR, s->error ? s->sqlstate : "26000",
                         s->error ? s->error : "statement is not prepared on this connection");
        else
            conn_send(c, q);
    }
}

/* ---- public interface ---------------------------------------------------------------------- */

/* The caller's session settings, plus what wake-ups after commit need: the switch itself and
 * notices reaching the client even where a role or database raised client_min_messages. */
static char *pool_settings(const struct db_pool_options *opts)
{
    static const char wake[] = "-c logeer.wakeup_after_commit=on -c client_min_messages=notice";
    const char *own = opts && opts->settings ? opts->settings : "";
    if (!(opts && opts->wakeup_after_commit))
        return strdup(own);
    size_t len = strlen(own) + sizeof wake + 1;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s%s%s", own, *own ? " " : "", wake);
    return s;
}

struct db_pool *db_pool_new(struct event_base *base, const char *conninfo,
                            const struct db_pool_options *opts)
{
    struct db_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->base = base;
    p->size = opts && opts->size > 0 ? opts->size : DB_DEFAULT_SIZE;
    if (p->size > DB_MAX_SIZE)
        p->size = DB_MAX_SIZE;
    p->queue_timeout_ms = opts && opts->queue_timeout_ms ? opts->queue_timeout_ms
                                                         : DB_DEFAULT_QUEUE_TIMEOUT_MS;
    p->max_queue = opts && opts->max_queue ? opts->max_queue : DB_DEFAULT_MAX_QUEUE;
    p->conninfo = strdup(conninfo ? conninfo : "");
    p->read_write = opts && opts->read_write;
    p->wakeup_after_commit = opts && opts->wakeup_after_commit;
    p->settings = pool_settings(opts);
    p->conns = calloc((size_t)p->size, sizeof *p->conns);
    p->deliver = event_new(base, -1, 0, pool_on_deliver, p);
    p->sweep = evtimer_new(base, pool_on_sweep, p);
    if (!p->conninfo || !p->settings || !p->conns || !p->deliver || !p->sweep)
        goto fail;
    for (int i = 0; i < p->size; i++) {
        struct db_conn *c = &p->conns[i];
        c->pool = p;
        c->id = i;
        c->state = DB_CONN_DISCONNECTED;
        c->backoff_ms = DB_IO_BACKOFF_FIRST_MS;
        c->io = event_new(base, -1, 0, conn_on_io, c);
        c->timer = evtimer_new(base, conn_on_timer, c);
        if (!c->io || !c->timer)
            goto fail;
    }
    return p;
fail:
    db_pool_free(p);
    return NULL;
}

static int pool_find_stmt(const struct db_pool *p, const char *name)
{
    for (size_t i = 0; i < p->nstmts; i++)
        if (strcmp(p->stmts[i].name, name) == 0)
            return (int)i;
    return -1;
}

int db_pool_prepare(struct db_pool *pool, const char *name, const char *sql)
{
    if (pool->started || name == NULL || sql == NULL || *name == '\0' ||
        pool_find_stmt(pool, name) >= 0)
        return -1;
    struct db_stmt *grown = realloc(pool->stmts, (pool->nstmts + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    pool->stmts = grown;
    struct db_stmt *s = &pool->stmts[pool->nstmts];
    *s = (struct db_stmt){.name = strdup(name), .sql = strdup(sql)};
    if (s->name == NULL || s->sql == NULL) {
        free(s->name);
        free(s->sql);
        return -1;
    }
    pool->nstmts++;
    return 0;
}

void db_pool_start(struct db_pool *pool)
{
    if (pool->started)
        return;
    for (int i = 0; i < pool->size; i++) {
        struct db_conn *c = &pool->conns[i];
        c->stmt_ok = calloc(pool->nstmts ? pool->nstmts : 1, sizeof *c->stmt_ok);
        if (c->stmt_ok == NULL) {
            log_error("db: out of memory starting the pool");
            abort();
        }
    }
    pool->started = true;
    for (int i = 0; i < pool->size; i++)
        conn_connect(&pool->conns[i]);
}

/* One allocation per query: the struct, the parameter pointers, then the strings. Running out
 * of memory here leaves no way to honour "the callback runs exactly once", so it is fatal. */
static struct db_request *request_new(int nparams, const char *const *params, db_cb cb,
                                      void *arg)
{
    if (nparams < 0)
        nparams = 0;
    if (params == NULL)
        nparams = 0;
    size_t size = sizeof(struct db_request) + (size_t)nparams * sizeof(char *);
    for (int i = 0; i < nparams; i++)
        if (params[i])
            size += strlen(params[i]) + 1;
    struct db_request *q = malloc(size);
    if (q == NULL) {
        log_error("db: out of memory queueing a query");
        abort();
    }
    *q = (struct db_request){.cb = cb, .arg = arg, .nparams = nparams,
                             .queued_ms = (uint64_t)clock_monotonic_ms()};
    char *text = (char *)&q->params[nparams];
    for (int i = 0; i < nparams; i++) {
        if (params[i] == NULL) {
            q->params[i] = NULL;
            continue;
        }
        size_t len = strlen(params[i]) + 1;
        memcpy(text, params[i], len);
        q->params[i] = text;
        text += len;
    }
    return q;
}

static void pool_query(struct db_pool *pool, int lane, const char *stmt_name, int nparams,
                       const char *const *params, db_cb cb, void *arg)
{
    struct db_request *q = request_new(nparams, params, cb, arg);
    pool->queries_total++;
    q->stmt = stmt_name ? pool_find_stmt(pool, stmt_name) : -1;
    if (q->stmt < 0)
        request_fail(pool, q, DB_ERROR, "26000", "unknown prepared statement");
    else if (pool->closing || pool_is_down(pool))
        request_fail(pool, q, DB_UNAVAILABLE, "", "database unavailable");
    else if (pool->queued >= pool->max_queue)
        request_fail(pool, q, DB_UNAVAILABLE, "", "too many queries waiting for the database");
    else {
        queue_push(pool, q, lane);
        pool_dispatch(pool);
    }
}

void db_query(struct db_pool *pool, const char *stmt_name, int nparams,
              const char *const *params, db_cb cb, void *arg)
{
    pool_query(pool, DB_LANE_NEW, stmt_name, nparams, params, cb, arg);
}

void db_query_next(struct db_pool *pool, const char *stmt_name, int nparams,
                   const char *const *params, db_cb cb, void *arg)
{
    pool_query(pool, DB_LANE_NEXT, stmt_name, nparams, params, cb, arg);
}

bool db_pool_healthy(const struct db_pool *pool)
{
    for (int i = 0; i < pool->size; i++)
        if (pool->conns[i].state == DB_CONN_IDLE || pool->conns[i].state == DB_CONN_BUSY ||
            pool->conns[i].state == DB_CONN_WAKING)
            return true;
    return false;
}

void db_pool_stats(const struct db_pool *pool, struct db_pool_stats *out)
{
    *out = (struct db_pool_stats){
        .size = pool->size,
        .queued = pool->queued,
        .queries_total = pool->queries_total,
        .errors_total = pool->errors_total,
        .reconnects_total = pool->reconnects_total,
        .wakeups_total = pool->wakeups_total,
        .wakeups_lost_total = pool->wakeups_lost_total,
    };
    for (int i = 0; i < pool->size; i++) {
        const struct db_conn *c = &pool->conns[i];
        out->connected += conn_is_connected(c);
        out->idle += c->state == DB_CONN_IDLE;
        out->busy += c->state == DB_CONN_BUSY || c->state == DB_CONN_WAKING;
    }
}

/* DB_CONN_* -> DISCONNECTED for good; the query in flight joins the done list. */
static void conn_shutdown(struct db_conn *c)
{
    if (c->req) {
        request_fail(c->pool, c->req, DB_UNAVAILABLE, "", "database pool closed");
        c->req = NULL;
    }
    PQclear(c->answer);
    c->answer = NULL;
    if (c->pg)
        conn_close_pg(c);
    c->state = DB_CONN_DISCONNECTED;
    if (c->io)
        event_free(c->io);
    if (c->timer)
        event_free(c->timer);
    free(c->stmt_ok);
}

/* Callbacks of pending queries run synchronously in here, since the loop may no longer run.
 * A callback may call db_query (it fails at once, also in here) but not db_pool_free. */
void db_pool_free(struct db_pool *pool)
{
    if (pool == NULL)
        return;
    if (pool->cb_depth > 0) {
        log_error("db: db_pool_free called from inside a query callback");
        abort();
    }
    pool->closing = true;
    for (int i = 0; pool->conns && i < pool->size; i++)
        conn_shutdown(&pool->conns[i]);
    queue_fail_all(pool, "database pool closed");
    pool_drain_done(pool);
    if (pool->deliver)
        event_free(pool->deliver);
    if (pool->sweep)
        event_free(pool->sweep);
    for (size_t i = 0; i < pool->nstmts; i++) {
        free(pool->stmts[i].name);
        free(pool->stmts[i].sql);
        free(pool->stmts[i].error);
    }
    free(pool->stmts);
    free(pool->conns);
    free(pool->conninfo);
    free(pool->settings);
    free(pool);
}

const char *db_value(const PGresult *res, int row, int col)
{
    if (res == NULL || PQgetisnull(res, row, col))
        return "";
    const char *v = PQgetvalue(res, row, col);
    return v ? v : "";
}

bool db_is_null(const PGresult *res, int row, int col)
{
    return res == NULL || PQgetisnull(res, row, col);
}
