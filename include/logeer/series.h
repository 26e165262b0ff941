/* series: the dates of a recurring stay (logeerreeks). Turns a rhythm ("every N weeks from
 * this arrival, until a date or a count") or a list of arrival dates into the occurrences'
 * check-in dates, ascending, and finds overlaps. Pure: no I/O, no HTTP, no SQL; whether each
 * occurrence fits its pool is the core's per-stay rule (core_stay_breaks), as for one stay. */
#ifndef LOGEER_SERIES_H
#define LOGEER_SERIES_H

#include <stdbool.h>

#include "logeer/date.h"

/* The most occurrences one series may hold: two years of weekly stays. */
#define SERIES_MAX_OCCURRENCES 104
#define SERIES_MAX_EVERY_WEEKS 52

struct series_rule {
    date_day first;       /* the first arrival */
    int every_weeks;      /* 1 .. SERIES_MAX_EVERY_WEEKS */
    date_day until;       /* the last day an occurrence may arrive; 0 = no end date */
    int count;            /* the number of occurrences asked; 0 = no count */
};

/* Why an expansion stopped. */
enum series_end {
    SERIES_END_ASKED,     /* the rule's own until or count ended it */
    SERIES_END_HORIZON,   /* the next occurrence would leave after last_check_out */
    SERIES_END_MAX,       /* SERIES_MAX_OCCURRENCES reached first */
};

/* Writes the arrival dates of r (stays of nights nights that end by last_check_out, the
 * pool's horizon) into out (room for SERIES_MAX_OCCURRENCES) and returns how many. *end says
 * what stopped it: a rule with an until or count that ends by the horizon or the maximum
 * asked for more than it gets, which the caller refuses rather than cut silently. */
int series_expand(const struct series_rule *r, int nights, date_day last_check_out,
                  date_day *out, enum series_end *end);

/* Sorts arrivals ascending; returns the index (after sorting) of the first arrival that
 * repeats or starts before the stay before it ends (nights each), or -1 when none does. */
int series_sort_check(date_day *arrivals, int n, int nights);

#endif
