/* Proves date parsing rejects impossible dates and that day arithmetic round-trips. */
#include "check.h"
#include "logeer/date.h"

static void test_parse_accepts_real_dates_and_rejects_impossible_ones(void)
{
    date_day d;
    CHECK(date_parse("2026-12-04", &d));
    CHECK(date_parse("2028-02-29", &d)); /* leap year */
    CHECK(!date_parse("2026-02-29", &d));
    CHECK(!date_parse("2026-02-30", &d));
    CHECK(!date_parse("2100-02-29", &d)); /* century, not leap */
    CHECK(date_parse("2000-02-29", &d));  /* 400-year rule */
    CHECK(!date_parse("2026-13-01", &d));
    CHECK(!date_parse("2026-00-10", &d));
    CHECK(!date_parse("2026-04-31", &d));
    CHECK(!date_parse("2026-4-1", &d));
    CHECK(!date_parse("2026-04-01T00:00", &d));
    CHECK(!date_parse("20260401", &d));
    CHECK(!date_parse("", &d));
    CHECK(!date_parse(NULL, &d));
    CHECK(!date_parse("1899-12-31", &d));
    CHECK(!date_parse("+026-04-01", &d));
    CHECK(!date_parse("2026-04-0a", &d));
}

static void test_day_numbers_round_trip_and_count_nights(void)
{
    CHECK(date_from_ymd(1970, 1, 1) == 0);
    CHECK(date_from_ymd(2000, 3, 1) - date_from_ymd(2000, 2, 28) == 2);
    date_day a = 0, b = 0; /* clang cannot see that CHECK fails when a parse does */
    CHECK(date_parse("2026-12-30", &a) && date_parse("2027-01-02", &b));
    CHECK(b - a == 3);
    for (date_day d = date_from_ymd(1999, 1, 1); d < date_from_ymd(2031, 1, 1); d++) {
        int y, m, dd;
        date_to_ymd(d, &y, &m, &dd);
        if (date_from_ymd(y, m, dd) != d || !date_is_valid(y, m, dd)) {
            CHECK(!"round trip");
            break;
        }
    }
    char buf[DATE_TEXT_LEN];
    date_format(date_from_ymd(2026, 2, 3), buf);
    CHECK_STR(buf, "2026-02-03");
}

static void test_weekday_and_rfc3339(void)
{
    CHECK(date_weekday(date_from_ymd(2026, 11, 23)) == 0); /* a Monday */
    CHECK(date_weekday(date_from_ymd(2026, 11, 29)) == 6);
    char buf[RFC3339_LEN];
    date_format_rfc3339(0, buf);
    CHECK_STR(buf, "1970-01-01T00:00:00Z");
}

int main(void)
{
    test_parse_accepts_real_dates_and_rejects_impossible_ones();
    test_day_numbers_round_trip_and_count_nights();
    test_weekday_and_rfc3339();
    return check_done("date");
}
