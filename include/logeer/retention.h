/* retention: the daily job that removes personal data the engine no longer needs (guest data
 * of stays that ended long enough ago, old login attempts and sessions). It only asks the
 * database to purge (logeer_retention_purge); it never decides what is due itself. */
#ifndef LOGEER_RETENTION_H
#define LOGEER_RETENTION_H

struct event_base;
struct db_pool;
struct retention;

/* Registers the purge statement with pool (call before db_pool_start). */
__attribute__((warn_unused_result))
int retention_prepare(struct db_pool *pool);

/* Runs a purge as soon as the database is reachable after start, then every period_s
 * seconds. guest_days: days after a stay ended that its guest data is kept. */
struct retention *retention_new(struct event_base *base, struct db_pool *pool, int guest_days,
                                unsigned period_s);
void retention_free(struct retention *r);

#endif
