/* Proves a series rhythm gives the right arrival dates, stops where it must (its own end,
 * the pool's horizon, the maximum) and says which, and that overlapping lists are found. */
#include "check.h"
#include "logeer/series.h"

static void test_every_four_weeks_until_a_date_keeps_the_weekday(void)
{
    date_day out[SERIES_MAX_OCCURRENCES];
    enum series_end end;
    date_day first = date_from_ymd(2027, 1, 8); /* a Friday */
    struct series_rule r = {first, 4, date_from_ymd(2027, 4, 2), 0};
    int n = series_expand(&r, 3, first + 365, out, &end);
    CHECK(n == 4); /* 8 Jan, 5 Feb, 5 Mar, 2 Apr: until is inclusive */
    CHECK(end == SERIES_END_ASKED);
    for (int i = 0; i < n; i++)
        CHECK(date_weekday(out[i]) == 4 && out[i] == first + 28 * i);
}

static void test_count_and_horizon(void)
{
    date_day out[SERIES_MAX_OCCURRENCES];
    enum series_end end;
    date_day first = date_from_ymd(2027, 1, 8);
    struct series_rule r = {first, 2, 0, 3};
    CHECK(series_expand(&r, 2, first + 365, out, &end) == 3 && end == SERIES_END_ASKED);
    /* The third stay would end a night after the horizon: the count is not met, and the
     * caller is told so instead of getting two silently. */
    CHECK(series_expand(&r, 2, first + 28 + 1, out, &end) == 2 && end == SERIES_END_HORIZON);
    CHECK(series_expand(&r, 2, first + 28 + 2, out, &end) == 3 && end == SERIES_END_ASKED);
    struct series_rule open = {first, 1, 0, 0};
    CHECK(series_expand(&open, 1, first + 70, out, &end) == 10 && end == SERIES_END_HORIZON);
    CHECK(series_expand(&open, 1, first + 3000, out, &end) == SERIES_MAX_OCCURRENCES &&
          end == SERIES_END_MAX);
}

static void test_lists_are_sorted_and_overlaps_found(void)
{
    date_day d[] = {30, 10, 20};
    CHECK(series_sort_check(d, 3, 10) == -1);
    CHECK(d[0] == 10 && d[1] == 20 && d[2] == 30);
    date_day e[] = {30, 10, 19};
    CHECK(series_sort_check(e, 3, 10) == 1);
    date_day f[] = {10, 10};
    CHECK(series_sort_check(f, 2, 1) == 1);
}

int main(void)
{
    test_every_four_weeks_until_a_date_keeps_the_weekday();
    test_count_and_horizon();
    test_lists_are_sorted_and_overlaps_found();
    return check_done("series");
}
