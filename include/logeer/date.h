/* date: calendar dates as day numbers, strict ISO 8601 parsing and RFC 3339 formatting.
 * Pure functions: no time zone database, no locale, no I/O. Nights are counted in whole days,
 * so a stay from check_in to check_out (exclusive) covers check_out - check_in nights. */
#ifndef LOGEER_DATE_H
#define LOGEER_DATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Days since 1970-01-01 in the proleptic Gregorian calendar. */
typedef int32_t date_day;

#define DATE_TEXT_LEN 11 /* "YYYY-MM-DD" + NUL */

bool date_is_valid(int year, int month, int day);
date_day date_from_ymd(int year, int month, int day);
void date_to_ymd(date_day d, int *year, int *month, int *day);

/* Parses exactly "YYYY-MM-DD" (years 1900..9999) and rejects impossible dates such as
 * 2026-02-30. Returns false on anything else, leaving *out untouched. */
__attribute__((warn_unused_result))
bool date_parse(const char *text, date_day *out);

/* Writes "YYYY-MM-DD" into buf (at least DATE_TEXT_LEN bytes). */
void date_format(date_day d, char buf[DATE_TEXT_LEN]);

/* 0 = Monday .. 6 = Sunday (ISO weekday minus one). */
int date_weekday(date_day d);

/* Today's date in UTC. */
date_day date_today_utc(void);

/* Today's date in the service's zone (the process's TZ; logeerd serve sets Europe/Amsterdam,
 * the zone the database functions use, so both agree on what "today" and "tonight" are). */
date_day date_today_local(void);

/* A test setting (LOGEER_TEST_CLOCK_FILE): whole days added to both todays above, so that a
 * test can move the service's calendar (the rolling index window, lead times, horizons)
 * without waiting for midnight. The database's own today (now()) does not move. Reads the
 * file: a whole number of days, or a date YYYY-MM-DD meaning "today is that date"; an
 * unreadable or malformed file leaves the offset as it was. Returns the offset in force. */
int date_test_clock_read(const char *path);

/* Formats a Unix time as RFC 3339 in UTC with a Z offset, e.g. "2026-12-04T09:15:00Z". */
#define RFC3339_LEN 21
void date_format_rfc3339(time_t t, char buf[RFC3339_LEN]);

#endif
