/* clock: the monotonic clock in the units its callers count in. For intervals, timeouts and
 * rate limits only: it never jumps with the wall clock (NTP, a changed time zone, the test
 * clock), and says nothing about the date. */
#ifndef LOGEER_CLOCK_H
#define LOGEER_CLOCK_H

#include <stdint.h>

uint64_t clock_monotonic_ns(void);
long long clock_monotonic_ms(void);
double clock_monotonic_s(void);

#endif
