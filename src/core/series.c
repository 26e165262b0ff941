/* series: the dates of a recurring stay, from a rhythm or a list (include/logeer/series.h).
 * Decides nothing about beds or rules: the api judges every occurrence with the core's
 * per-stay rules and the database books each as an ordinary stay. */
#include "logeer/series.h"

#include <stdlib.h>

int series_expand(const struct series_rule *r, int nights, date_day last_check_out,
                  date_day *out, enum series_end *end)
{
    int n = 0;
    *end = SERIES_END_ASKED;
    for (date_day d = r->first;; d += 7 * r->every_weeks) {
        if (r->count && n == r->count)
            break;
        if (r->until && d > r->until)
            break;
        /* Without an end of its own the rhythm runs to the horizon; with one, stopping here
         * means the family asked for more than the pool can take. */
        if (d + nights > last_check_out) {
            *end = SERIES_END_HORIZON;
            break;
        }
        if (n == SERIES_MAX_OCCURRENCES) {
            *end = SERIES_END_MAX;
            break;
        }
        out[n++] = d;
    }
    return n;
}

static int cmp_day(const void *a, const void *b)
{
    date_day x = *(const date_day *)a, y = *(const date_day *)b;
    return (x > y) - (x < y);
}

int series_sort_check(date_day *arrivals, int n, int nights)
{
    qsort(arrivals, (size_t)n, sizeof *arrivals, cmp_day);
    for (int i = 1; i < n; i++)
        if (arrivals[i] < arrivals[i - 1] + nights)
            return i;
    return -1;
}
