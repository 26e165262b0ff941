/* outbox: the read side of the events outbox for live subscribers. Owns the LISTEN connection
 * on logeer_events, the process's read position and each subscriber's own position while it
 * catches up. Never writes a row and never blocks the loop; a failed query is
 * retried from a timer, never from inside its own callback (the pool may be closing). */
#include "logeer/outbox.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logeer/clock.h"
#include "logeer/db.h"
#include "logeer/log.h"

#define OUTBOX_CHANNEL "logeer_events"
/* Rows per query: a long catch-up goes in pages so one query never holds a connection long. */
#define OUTBOX_PAGE 500
#define OUTBOX_PAGE_TEXT "500"
#define OUTBOX_RETRY_MS 1000
/* How soon to look again when committed rows wait for an older transaction to end. */
#define OUTBOX_HELD_BACK_MS 200
/* logeerd's writers notify after commit (migration 0044): a process killed between the two
 * loses that notification, so readers and workers also look this often without one. */
#define OUTBOX_SAFETY_POLL_S 30

/* A place in the outbox: the (txid, id) of a row, compared in that order. */
struct outbox_pos {
    uint64_t txid;
    int64_t id;
};

enum sub_state {
    SUB_LOOKUP,  /* finding the position of the Last-Event-ID the client sent */
    SUB_WAITING, /* the feed does not know its own position yet */
    SUB_CATCHUP, /* reading what the client missed, up to the feed's position */
    SUB_LIVE,    /* caught up: gets every new row as the feed reads it */
};

struct outbox_sub {
    struct outbox_feed *feed;
    struct outbox_sub *prev, *next;
    enum sub_state state;
    char provider_id[40];      /* "" = every provider */
    char resume_id[24];        /* the Last-Event-ID while it is looked up */
    bool fresh;                /* starts at the feed's position (no or unknown Last-Event-ID) */
    bool reset;                /* the Last-Event-ID was unknown */
    bool started;              /* on_start has run */
    bool busy;                 /* a query for this subscription is in flight */
    bool dead;                 /* unsubscribed; freed once nothing refers to it */
    int in_cb;                 /* > 0 while one of its callbacks runs */
    struct outbox_pos pos;     /* the last row handed out, or the start */
    struct outbox_pos target;  /* CATCHUP: read up to here (inclusive) */
    struct event *kick;        /* runs sub_advance from the loop, now or after a delay */
    outbox_start_cb on_start;
    outbox_event_cb on_event;
    void *arg;
};

struct outbox_feed {
    struct event_base *base;
    struct db_pool *pool;
    struct db_listener *listener;
    struct event *timer;       /* retry after a failure; look again for held-back rows */
    struct event *safety;      /* persistent, OUTBOX_SAFETY_POLL_S: as if notified */
    bool ready;                /* pos is current: read since the last notification */
    bool initing;              /* the head query is in flight */
    bool polling;              /* a read is in flight */
    bool poll_again;           /* notified while reading */
    int dispatching;           /* > 0 while rows are handed to subscribers */
    bool failing;              /* the last query failed; logged once per streak */
    struct outbox_pos pos;     /* the last row read (everything up to it is final) */
    bool behind;               /* knows of rows it has not read and handed out yet */
    double behind_since;         /* monotonic seconds: since when, for the lag gauge */
    struct outbox_sub *subs;
    unsigned nsubs;
    void (*watch)(void *arg);  /* outbox_feed_watch: told of every NOTIFY and reconnect */
    void *watch_arg;
};

int outbox_feed_prepare(struct db_pool *pool)
{
    /* Rows and positions go out to clients only once on disk: logeer_durable_read() makes the
     * read's commit flush the WAL when part of it is not (migration 0048), and the pool hands
     * over a result only after the commit. */
    if (db_pool_prepare(pool, "outbox_head",
                        "SELECT txid::text, id FROM logeer_events_head() "
                        "WHERE (SELECT logeer_durable_read())"))
        return -1;
    if (db_pool_prepare(pool, "outbox_position",
                        "SELECT txid::text FROM events WHERE id = $1::bigint"))
        return -1;
    if (db_pool_prepare(pool, "outbox_held_back",
                        "SELECT logeer_events_held_back($1::xid8, $2::bigint)"))
        return -1;
    return db_pool_prepare(pool, "outbox_read",
                           "SELECT id, txid::text, type, logeer_rfc3339(at), "
                           "coalesce(provider_id::text, ''), coalesce(pool_id::text, ''), "
                           "coalesce(stay_id::text, ''), coalesce(logeer_ymd(night_from), ''), "
                           "coalesce(logeer_ymd(night_to), ''), payload::text "
                           "FROM logeer_events_after($1::xid8, $2::bigint, $3::xid8, $4::bigint, "
                           "$5::uuid, $6::int) WHERE (SELECT logeer_durable_read())");
}

static int pos_cmp(struct outbox_pos a, struct outbox_pos b)
{
    if (a.txid != b.txid)
        return a.txid < b.txid ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id;
}

static struct outbox_pos pos_from_text(const char *txid, const char *id)
{
    struct outbox_pos p = {strtoull(txid, NULL, 10), strtoll(id, NULL, 10)};
    return p;
}

struct pos_text {
    char txid[24], id[24];
};

static void pos_format(struct outbox_pos p, struct pos_text *t)
{
    snprintf(t->txid, sizeof t->txid, "%" PRIu64, p.txid);
    snprintf(t->id, sizeof t->id, "%" PRId64, p.id);
}

/* The lag an operator sees runs from the first notification, reconnect or subscriber that
 * gave the feed something to read until a read found nothing more and nothing held back. */
static void feed_mark_behind(struct outbox_feed *f)
{
    if (f->behind)
        return;
    f->behind = true;
    f->behind_since = clock_monotonic_s();
}

static void feed_failed(struct outbox_feed *f, const char *what, const struct db_result *r)
{
    if (!f->failing)
        log_warn("events outbox: %s failed: %s", what, r->message);
    f->failing = true;
    struct timeval tv = {0, OUTBOX_RETRY_MS * 1000};
    evtimer_add(f->timer, &tv);
}

/* ---- subscribers ------------------------------------------------------------------------ */

static void sub_advance(struct outbox_sub *s);

static void sub_free(struct outbox_sub *s)
{
    struct outbox_feed *f = s->feed;
    if (s->prev)
        s->prev->next = s->next;
    else
        f->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    f->nsubs--;
    if (s->kick)
        event_free(s->kick);
    free(s);
}

/* Frees an unsubscribed subscription once no query, callback or hand-out refers to it.
 * Returns true when s is gone. */
static bool sub_reap(struct outbox_sub *s)
{
    if (!s->dead || s->busy || s->in_cb || s->feed->dispatching)
        return false;
    sub_free(s);
    return true;
}

static void sub_kick_later(struct outbox_sub *s, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(s->kick, &tv);
}

static void sub_kick_cb(evutil_socket_t fd, short what, void *arg)
{
    sub_advance(arg);
}

/* Hands one row to the subscriber; returns false when the subscription ended meanwhile. */
static bool sub_deliver(struct outbox_sub *s, const struct outbox_event *e)
{
    if (s->dead)
        return false;
    s->in_cb++;
    s->on_event(s->arg, e);
    s->in_cb--;
    return !s->dead;
}

static void row_event(const PGresult *res, int i, struct outbox_event *e)
{
    e->id = db_value(res, i, 0);
    e->type = db_value(res, i, 2);
    e->at = db_value(res, i, 3);
    e->provider_id = db_value(res, i, 4);
    e->pool_id = db_value(res, i, 5);
    e->stay_id = db_value(res, i, 6);
    e->night_from = db_value(res, i, 7);
    e->night_to = db_value(res, i, 8);
    e->payload = db_value(res, i, 9);
}

static void lookup_done(const struct db_result *r, void *arg)
{
    struct outbox_sub *s = arg;
    s->busy = false;
    if (sub_reap(s))
        return;
    if (r->status != DB_OK) {
        sub_kick_later(s, OUTBOX_RETRY_MS);
        return;
    }
    if (PQntuples(r->res) == 1) {
        s->pos = pos_from_text(db_value(r->res, 0, 0), s->resume_id);
    } else {
        /* Not in the outbox (never was, or purged): nobody can say what the client missed. */
        s->fresh = true;
        s->reset = true;
    }
    s->state = SUB_WAITING;
    sub_advance(s);
}

static void catchup_done(const struct db_result *r, void *arg)
{
    struct outbox_sub *s = arg;
    s->busy = false;
    if (sub_reap(s))
        return;
    if (r->status != DB_OK) {
        sub_kick_later(s, OUTBOX_RETRY_MS);
        return;
    }
    int n = PQntuples(r->res);
    for (int i = 0; i < n; i++) {
        struct outbox_event e;
        row_event(r->res, i, &e);
        s->pos = pos_from_text(db_value(r->res, i, 1), e.id);
        if (!sub_deliver(s, &e)) {
            sub_reap(s);
            return;
        }
    }
    /* A short page means nothing else up to the target is this subscriber's. */
    if (n < OUTBOX_PAGE && pos_cmp(s->pos, s->target) < 0)
        s->pos = s->target;
    sub_advance(s);
}

/* The subscriber's next step, always from the loop: look up, wait, catch up or go live. */
static void sub_advance(struct outbox_sub *s)
{
    struct outbox_feed *f = s->feed;
    if (s->dead || s->busy)
        return;
    if (s->state == SUB_LOOKUP) {
        const char *params[] = {s->resume_id};
        s->busy = true;
        db_query(f->pool, "outbox_position", 1, params, lookup_done, s);
        return;
    }
    if (!f->ready) {
        s->state = SUB_WAITING;
        return; /* the feed's head query advances every waiting subscriber */
    }
    if (!s->started) {
        char start[24];
        if (s->fresh) {
            s->pos = f->pos;
            snprintf(start, sizeof start, "%" PRId64, s->pos.id);
        }
        s->started = true;
        s->in_cb++;
        s->on_start(s->arg, s->fresh ? start : NULL, s->reset);
        s->in_cb--;
        if (sub_reap(s) || s->dead)
            return;
    }
    if (pos_cmp(s->pos, f->pos) >= 0) {
        s->state = SUB_LIVE;
        return;
    }
    /* Behind the feed: read the missed rows up to where the feed is now. Rows the feed reads
     * meanwhile lie beyond that target and are fetched by the next round. */
    s->state = SUB_CATCHUP;
    s->target = f->pos;
    struct pos_text from, to;
    pos_format(s->pos, &from);
    pos_format(s->target, &to);
    const char *params[] = {from.txid, from.id, to.txid, to.id,
                            s->provider_id[0] ? s->provider_id : NULL, OUTBOX_PAGE_TEXT};
    s->busy = true;
    db_query(f->pool, "outbox_read", 6, params, catchup_done, s);
}

/* ---- the feed ----------------------------------------------------------------------------- */

static void feed_poll(struct outbox_feed *f);

static void head_done(const struct db_result *r, void *arg)
{
    struct outbox_feed *f = arg;
    f->initing = false;
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        feed_failed(f, "reading the outbox head", r);
        return;
    }
    f->failing = false;
    f->pos = pos_from_text(db_value(r->res, 0, 0), db_value(r->res, 0, 1));
    f->ready = true;
    for (struct outbox_sub *s = f->subs; s; s = s->next)
        if (s->state == SUB_WAITING && !s->dead)
            sub_kick_later(s, 0);
    /* Rows committed between the head and LISTEN taking effect would otherwise wait. */
    feed_poll(f);
}

static void feed_init(struct outbox_feed *f)
{
    feed_mark_behind(f);
    if (f->initing)
        return;
    f->initing = true;
    db_query(f->pool, "outbox_head", 0, NULL, head_done, f);
}

/* Hands one row to every live subscriber that has not seen it and may see it. */
static void feed_fanout(struct outbox_feed *f, struct outbox_pos pos, const struct outbox_event *e)
{
    f->dispatching++;
    for (struct outbox_sub *s = f->subs; s; s = s->next) {
        if (s->dead || s->state != SUB_LIVE || pos_cmp(pos, s->pos) <= 0)
            continue;
        s->pos = pos;
        if (!s->provider_id[0] || strcmp(s->provider_id, e->provider_id) == 0)
            sub_deliver(s, e);
    }
    f->dispatching--;
    if (f->dispatching)
        return;
    struct outbox_sub *next;
    for (struct outbox_sub *s = f->subs; s; s = next) {
        next = s->next;
        sub_reap(s);
    }
}

static void held_done(const struct db_result *r, void *arg)
{
    struct outbox_feed *f = arg;
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        /* Unknown whether rows wait: look again later rather than wait for a notification
         * that may never come. */
        feed_failed(f, "checking for held-back rows", r);
        return;
    }
    f->failing = false;
    if (db_value(r->res, 0, 0)[0] == 't') {
        struct timeval tv = {0, OUTBOX_HELD_BACK_MS * 1000};
        evtimer_add(f->timer, &tv);
    } else if (!f->polling && !f->initing) {
        f->behind = false; /* nothing committed is left unread */
    }
}

static void read_done(const struct db_result *r, void *arg)
{
    struct outbox_feed *f = arg;
    f->polling = false;
    if (r->status != DB_OK) {
        feed_failed(f, "reading the outbox", r);
        return;
    }
    f->failing = false;
    int n = PQntuples(r->res);
    for (int i = 0; i < n; i++) {
        struct outbox_event e;
        row_event(r->res, i, &e);
        f->pos = pos_from_text(db_value(r->res, i, 1), e.id);
        feed_fanout(f, f->pos, &e);
    }
    if (n == OUTBOX_PAGE || f->poll_again) {
        f->poll_again = false;
        feed_poll(f);
        return;
    }
    /* A transaction still running may hold back rows that committed after it started; it
     * need not write events itself, so no notification may come when it ends. */
    struct pos_text t;
    pos_format(f->pos, &t);
    const char *params[] = {t.txid, t.id};
    db_query(f->pool, "outbox_held_back", 2, params, held_done, f);
}

static void feed_poll(struct outbox_feed *f)
{
    if (!f->ready) {
        feed_init(f);
        return;
    }
    if (f->polling) {
        f->poll_again = true;
        return;
    }
    f->polling = true;
    struct pos_text t;
    pos_format(f->pos, &t);
    const char *params[] = {t.txid, t.id, NULL, NULL, NULL, OUTBOX_PAGE_TEXT};
    db_query(f->pool, "outbox_read", 6, params, read_done, f);
}

/* With nobody subscribed the feed reads nothing; it only forgets that its position is
 * current, and the next subscriber starts from a fresh head. */
static void feed_wake(struct outbox_feed *f)
{
    if (f->nsubs == 0) {
        if (!f->initing)
            f->ready = false;
        f->behind = false; /* nobody waits for what it has not read */
        return;
    }
    feed_mark_behind(f);
    feed_poll(f);
}

static void feed_tell_watcher(struct outbox_feed *f)
{
    if (f->watch)
        f->watch(f->watch_arg);
}

static void feed_on_notify(const char *channel, const char *payload, void *arg)
{
    feed_tell_watcher(arg);
    feed_wake(arg);
}

static void feed_on_safety_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    feed_on_notify(OUTBOX_CHANNEL, "", arg);
}

static void feed_on_reconnect(void *arg)
{
    /* Notifications sent while the connection was down are lost; the read catches up. */
    feed_tell_watcher(arg);
    feed_wake(arg);
}

void outbox_feed_watch(struct outbox_feed *f, void (*wake)(void *arg), void *arg)
{
    f->watch = wake;
    f->watch_arg = arg;
}

static void feed_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct outbox_feed *f = arg;
    if (!f->ready && f->nsubs > 0)
        feed_init(f);
    else
        feed_wake(f);
}

struct outbox_feed *outbox_feed_new(struct event_base *base, struct db_pool *pool,
                                    const char *conninfo)
{
    struct outbox_feed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->base = base;
    f->pool = pool;
    f->timer = evtimer_new(base, feed_on_timer, f);
    f->safety = event_new(base, -1, EV_PERSIST, feed_on_safety_poll, f);
    f->listener = db_listener_new(base, conninfo, OUTBOX_CHANNEL, feed_on_notify,
                                  feed_on_reconnect, f);
    if (!f->timer || !f->safety || !f->listener) {
        outbox_feed_free(f);
        return NULL;
    }
    struct timeval tv = {.tv_sec = OUTBOX_SAFETY_POLL_S};
    evtimer_add(f->safety, &tv);
    return f;
}

void outbox_feed_free(struct outbox_feed *f)
{
    if (!f)
        return;
    while (f->subs)
        sub_free(f->subs);
    if (f->listener)
        db_listener_free(f->listener);
    if (f->timer)
        event_free(f->timer);
    if (f->safety)
        event_free(f->safety);
    free(f);
}

struct outbox_sub *outbox_subscribe(struct outbox_feed *f, const char *provider_id,
                                    const char *last_id, outbox_start_cb on_start,
                                    outbox_event_cb on_event, void *arg)
{
    struct outbox_sub *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->kick = evtimer_new(f->base, sub_kick_cb, s);
    if (!s->kick) {
        free(s);
        return NULL;
    }
    if (f->nsubs == 0)
        f->behind = false; /* a lag from before the last subscriber left is nobody's */
    s->feed = f;
    s->on_start = on_start;
    s->on_event = on_event;
    s->arg = arg;
    snprintf(s->provider_id, sizeof s->provider_id, "%s", provider_id ? provider_id : "");
    s->next = f->subs;
    if (f->subs)
        f->subs->prev = s;
    f->subs = s;
    f->nsubs++;

    size_t len = last_id ? strlen(last_id) : 0;
    bool digits = len > 0 && len < 19 && strspn(last_id, "0123456789") == len;
    if (!last_id) {
        s->fresh = true;
        s->state = SUB_WAITING;
    } else if (!digits) {
        s->fresh = s->reset = true;
        s->state = SUB_WAITING;
    } else if (strtoll(last_id, NULL, 10) == 0) {
        /* "0" is before the first row: everything. */
        s->state = SUB_WAITING;
    } else {
        snprintf(s->resume_id, sizeof s->resume_id, "%s", last_id);
        s->state = SUB_LOOKUP;
    }
    if (!f->ready)
        feed_init(f);
    sub_kick_later(s, 0);
    return s;
}

void outbox_unsubscribe(struct outbox_sub *s)
{
    if (!s || s->dead)
        return;
    s->dead = true;
    evtimer_del(s->kick);
    sub_reap(s);
}

unsigned outbox_subscribers(const struct outbox_feed *f)
{
    return f ? f->nsubs : 0;
}

double outbox_feed_lag_seconds(const struct outbox_feed *f)
{
    if (!f || !f->behind || f->nsubs == 0)
        return 0;
    return clock_monotonic_s() - f->behind_since;
}
