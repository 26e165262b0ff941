/* events: keeps the in-memory availability index equal to what PostgreSQL has committed, and
 * runs the engine's own timed work (hold expiry, guarantee escalations). Changes reach the index only from the
 * database after commit: at start-up by a full load, afterwards by re-reading the nights that
 * LISTEN/NOTIFY on a dedicated connection names, so every logeerd process on one database sees
 * every other's writes. */
#ifndef LOGEER_EVENTS_H
#define LOGEER_EVENTS_H

#include <stdbool.h>

struct event_base;
struct db_pool;
struct core_index;
struct inventory_sync;
struct sweeper;
struct guarantee_job;

/* Registers its statements with pool (call before db_pool_start). */
__attribute__((warn_unused_result))
int inventory_sync_prepare(struct db_pool *pool);

/* Starts listening on conninfo and (re)loads the index every time the listener (re)connects. */
struct inventory_sync *inventory_sync_new(struct event_base *base, struct db_pool *pool,
                                          const char *conninfo, struct core_index *index);
/* A test setting: the file that moves the service's calendar (date_test_clock_read), read on
 * every calendar check of the rolling window (ten times a second); NULL for none. */
void inventory_sync_set_clock_file(struct inventory_sync *s, const char *path);
/* A test setting: every notification is applied ms late (LOGEER_TEST_NOTIFY_DELAY_MS), as in
 * a process far behind its peers; a request's own reload (inventory_sync_reload) is not. */
void inventory_sync_set_notify_delay(struct inventory_sync *s, unsigned ms);
/* True once the first full load has been applied: searches before that would be wrong. */
bool inventory_sync_ready(const struct inventory_sync *s);
/* Pools whose nights the periodic re-read found out of step with the database (a change
 * notification lost, or one still on its way) and read again, since start. */
unsigned long long inventory_sync_out_of_step(const struct inventory_sync *s);
void inventory_sync_free(struct inventory_sync *s);

/* How often every pool and night is loaded again, repairing what a notification lost between
 * a commit and its sending would leave wrong (LOGEER_INDEX_RECONCILE_S; default 300 s). */
void inventory_sync_set_reconcile(struct inventory_sync *s, unsigned seconds);
/* A test setting: the periodic re-read reads the nights of this many pools whose checksums
 * differed a statement (LOGEER_TEST_RECONCILE_SLICE; default 100), so that a few span several. */
void inventory_sync_set_reconcile_slice(struct inventory_sync *s, unsigned pools);

/* What a reload covers: one pool with its nights, or the descriptions of the pools of one
 * location or provider (their names, places and facilities). */
enum sync_scope { SYNC_NONE, SYNC_POOL, SYNC_LOCATION, SYNC_PROVIDER };
typedef void (*inventory_sync_cb)(void *arg, bool ok);
/* Loads what scope and id name into the index again and calls done once it is applied (ok) or
 * has failed (the index then catches up on its own: retries, notifications, reconciling). A
 * request that changed those rows calls this after its commit and answers from done, so its
 * caller's next search or booking on this process sees the change (read your writes); other
 * processes learn it from the notification. done is always called, on a later turn of the
 * loop or, without memory, at once; at the latest when the database pool or sync is freed. */
void inventory_sync_reload(struct inventory_sync *s, enum sync_scope scope, const char *id,
                           inventory_sync_cb done, void *arg);

/* Applies one notification payload ('n:<pool>:<date>[:<free>]' (the value is shown at once
 * and the night read again, which has the last word), 'p:<pool>', 'l:<location>',
 * 'v:<provider>'); exposed for tests. Returns false for a malformed payload. */
bool inventory_sync_apply(struct inventory_sync *s, const char *payload);

/* Hold expiry: every interval, asks the database to expire lapsed holds (several processes
 * may sweep at once; the database hands each hold to one of them). */
__attribute__((warn_unused_result))
int sweeper_prepare(struct db_pool *pool);
struct sweeper *sweeper_new(struct event_base *base, struct db_pool *pool, int hold_ttl_s,
                            unsigned interval_ms);
void sweeper_free(struct sweeper *s);

/* The planned-stay guarantee: every interval, asks the database to open an escalation for
 * each guaranteed request still unplaced at its deadline (once per request, whichever
 * process runs first). */
__attribute__((warn_unused_result))
int guarantee_job_prepare(struct db_pool *pool);
struct guarantee_job *guarantee_job_new(struct event_base *base, struct db_pool *pool,
                                        unsigned interval_s);
void guarantee_job_free(struct guarantee_job *g);

#endif
