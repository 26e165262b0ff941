/* search_log: searches written for the unmet-demand report, in batches, so that logging never
 * queues a database round trip in front of requests that wait for an answer. The caller
 * writes each row's members (the searches table's columns, by name); this module collects
 * the rows and sends them, one statement per second or per 500 rows. A crash or shutdown
 * loses at most that second of statistics, never a booking. */
#ifndef LOGEER_SEARCH_LOG_H
#define LOGEER_SEARCH_LOG_H

struct event_base;
struct db_pool;
struct jsonw;
struct search_log;

/* Registers the insert with pool (call before db_pool_start). */
__attribute__((warn_unused_result))
int search_log_prepare(struct db_pool *pool);

struct search_log *search_log_new(struct event_base *base, struct db_pool *pool);
/* Drops rows not yet written. */
void search_log_free(struct search_log *log);

/* Opens a row: the writer is inside the row's JSON object; the caller adds its members with
 * jw_k* and then calls search_log_row_done. NULL without a log. */
struct jsonw *search_log_row(struct search_log *log);
void search_log_row_done(struct search_log *log);

#endif
