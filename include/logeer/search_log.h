/* search_log: searches counted for the unmet-demand report. Identical searches (same minute,
 * role, municipality counted for, question and whether anything was found) are added up in
 * memory and written as one row of search_counts with their number, in one statement: every
 * two seconds while few different searches wait, and once their minute is over when many do,
 * so that logging costs a hash lookup on the loop and PostgreSQL one row per different search
 * a minute, whatever the search rate. The caller says what was asked (struct search_count_key); this module never
 * looks at a request. A crash loses at most those seconds of statistics, never a
 * booking; a shutdown waits for them (search_log_drain). */
#ifndef LOGEER_SEARCH_LOG_H
#define LOGEER_SEARCH_LOG_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct db_pool;
struct search_log;

/* What one counted search asked; texts are "" when not asked (written as NULL). Compared as
 * bytes: clear it with search_count_key_init before filling it in. */
struct search_count_key {
    long long minute;          /* unix time of the start of the minute it was asked in */
    char role[16];             /* the asker's role name; "" for visitors */
    char municipality[8];      /* the CBS code the report counts it for: a caregiver's own,
                                  else the asked one */
    char care_profile[16];
    char funding[8];
    char kind[8];              /* the asked kind of bed */
    int nights;
    bool found;                /* whether the search found any pool */
};

/* Clears every byte (padding too), so that equal searches compare equal. */
void search_count_key_init(struct search_count_key *key);
/* Copies text into one of key's fields of size n; false (field left "") when it does not fit. */
bool search_count_key_text(char *field, size_t n, const char *text);

/* Registers the insert with pool (call before db_pool_start). */
__attribute__((warn_unused_result))
int search_log_prepare(struct db_pool *pool);

struct search_log *search_log_new(struct event_base *base, struct db_pool *pool);
/* Sends every count now, the current minute's too: for a shutdown, so that the insert runs
 * while the last requests finish rather than a minute's counts being dropped. */
void search_log_flush_all(struct search_log *log);
/* For a shutdown, once requests are answered: sends what they counted since
 * search_log_flush_all, then calls done when every statement sent has finished (written or
 * failed), so the pool is not closed under one. done runs at once when there is no log. */
void search_log_drain(struct search_log *log, void (*done)(void *arg), void *arg);
/* Drops counts not yet written. */
void search_log_free(struct search_log *log);

/* Counts one search. Nothing without a log (NULL). */
void search_log_count(struct search_log *log, const struct search_count_key *key);

#endif
