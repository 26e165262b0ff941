/* date: civil calendar arithmetic (days <-> year/month/day) and strict parsing/formatting.
 * Uses Howard Hinnant's well-known days-from-civil algorithm; no libc time zone state. */
#include "logeer/date.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

bool date_is_valid(int year, int month, int day)
{
    return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 &&
           day <= days_in_month(year, month);
}

date_day date_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;
    const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void date_to_ymd(date_day z, int *year, int *month, int *day)
{
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const int doe = z - era * 146097;
    const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int mp = (5 * doy + 2) / 153;
    const int d = doy - (153 * mp + 2) / 5 + 1;
    const int m = mp < 10 ? mp + 3 : mp - 9;
    *year = yoe + era * 400 + (m <= 2);
    *month = m;
    *day = d;
}

static bool parse_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool date_parse(const char *text, date_day *out)
{
    int y, m, d;
    if (text == NULL || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return false;
    if (!parse_digits(text, 4, &y) || !parse_digits(text + 5, 2, &m) ||
        !parse_digits(text + 8, 2, &d))
        return false;
    /* Dates before 1900 are never meaningful for a booking and are most likely typos. */
    if (y < 1900 || !date_is_valid(y, m, d))
        return false;
    *out = date_from_ymd(y, m, d);
    return true;
}

void date_format(date_day d, char buf[DATE_TEXT_LEN])
{
    int y, m, dd;
    date_to_ymd(d, &y, &m, &dd);
    /* Digit by digit: the compiler cannot prove snprintf's bounds for arbitrary ints. */
    unsigned yy = (unsigned)y % 10000u;
    buf[0] = (char)('0' + yy / 1000), buf[1] = (char)('0' + yy / 100 % 10);
    buf[2] = (char)('0' + yy / 10 % 10), buf[3] = (char)('0' + yy % 10);
    buf[4] = '-', buf[5] = (char)('0' + m / 10), buf[6] = (char)('0' + m % 10);
    buf[7] = '-', buf[8] = (char)('0' + dd / 10), buf[9] = (char)('0' + dd % 10);
    buf[10] = '\0';
}

int date_weekday(date_day d)
{
    /* 1970-01-01 was a Thursday (index 3). */
    int w = (d + 3) % 7;
    return w < 0 ? w + 7 : w;
}

/* Days the test clock moved the calendar; 0 unless LOGEER_TEST_CLOCK_FILE is used. Written and
 * read on the loop's thread only. */
static int test_day_offset;

date_day date_today_utc(void) { return (date_day)(time(NULL) / 86400) + test_day_offset; }

static date_day real_today_local(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

date_day date_today_local(void) { return real_today_local() + test_day_offset; }

int date_test_clock_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return test_day_offset;
    char line[64] = "";
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[strcspn(line, " \t\r\n")] = '\0';
    date_day d;
    char *end;
    long days = strtol(line, &end, 10);
    if (got && date_parse(line, &d))
        test_day_offset = (int)(d - real_today_local());
    else if (got && end != line && *end == '\0' && days > -100000 && days < 100000)
        test_day_offset = (int)days;
    return test_day_offset;
}

void date_format_rfc3339(time_t t, char buf[RFC3339_LEN])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
