/* outbox: reads the events outbox (the events table) for live subscribers, such as the
 * Server-Sent Events of GET /v1/events. One LISTEN connection (channel logeer_events) and one
 * read position per process, however many subscribers; each subscriber may first catch up
 * from a position it was given (Last-Event-ID). Rows are walked in (txid, id) order, which
 * never skips a row (see migrations/0008_reports.sql). Knows no HTTP; rows hold no personal
 * data by the table's own rule. */
#ifndef LOGEER_OUTBOX_H
#define LOGEER_OUTBOX_H

#include <stdbool.h>

struct event_base;
struct db_pool;
struct outbox_feed;
struct outbox_sub;

/* One outbox row. The strings live only during the callback. */
struct outbox_event {
    const char *id;          /* events.id in decimal: the SSE id */
    const char *type;        /* e.g. "stay.confirmed", "capacity.updated" */
    const char *at;          /* RFC 3339 */
    const char *provider_id; /* "" when the row names none */
    const char *pool_id;     /* "" when none */
    const char *stay_id;     /* "" when none */
    const char *night_from;  /* YYYY-MM-DD, "" when none */
    const char *night_to;    /* exclusive; "" when none */
    const char *payload;     /* the row's JSON object */
};

/* Runs once, before any event. start_id is the id a client should resume from when it has
 * seen no event yet (NULL when the subscription resumes from a position the caller gave);
 * reset is true when that position was unknown (purged, mistyped) and the subscription starts
 * from now instead, so the client must reload what it shows. */
typedef void (*outbox_start_cb)(void *arg, const char *start_id, bool reset);
typedef void (*outbox_event_cb)(void *arg, const struct outbox_event *e);

/* Registers the feed's statements with pool (call before db_pool_start). */
__attribute__((warn_unused_result))
int outbox_feed_prepare(struct db_pool *pool);

/* Starts listening on conninfo. The feed reads the outbox only while someone subscribes. */
struct outbox_feed *outbox_feed_new(struct event_base *base, struct db_pool *pool,
                                    const char *conninfo);

/* Call after db_pool_free (no query of the feed may still be in flight) and after every
 * subscriber has unsubscribed; subscriptions still open are freed without callbacks. */
void outbox_feed_free(struct outbox_feed *f);

/* Subscribes to the rows of one provider (provider_id) or of all (NULL). last_id is the
 * Last-Event-ID the client sent, or NULL to start from now. Callbacks never run inside this
 * call; they run from the loop until outbox_unsubscribe, which may be called from inside
 * them. NULL when out of memory. */
struct outbox_sub *outbox_subscribe(struct outbox_feed *f, const char *provider_id,
                                    const char *last_id, outbox_start_cb on_start,
                                    outbox_event_cb on_event, void *arg);
void outbox_unsubscribe(struct outbox_sub *s);

/* One watcher (the notification worker) is told, from the loop, whenever the outbox may have
 * new rows: every NOTIFY and every reconnect of the feed's LISTEN connection (notifications
 * sent while it was away are lost). It reads the outbox itself; the feed reads nothing for it,
 * so it shares the connection and nothing else. wake must not free the feed. */
void outbox_feed_watch(struct outbox_feed *f, void (*wake)(void *arg), void *arg);

/* Subscriptions open now (for /metrics and tests). */
unsigned outbox_subscribers(const struct outbox_feed *f);

/* Seconds since the feed learnt of outbox rows it has not yet read and handed to its live
 * subscribers: a failing database or a long-running transaction that holds rows back makes
 * it grow. 0 when caught up or when nobody subscribes (then nothing is read). */
double outbox_feed_lag_seconds(const struct outbox_feed *f);

#endif
