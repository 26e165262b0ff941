/* clock: CLOCK_MONOTONIC read in one place (see include/logeer/clock.h). */
#include "logeer/clock.h"

#include <time.h>

uint64_t clock_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long long clock_monotonic_ms(void)
{
    return (long long)(clock_monotonic_ns() / 1000000u);
}

double clock_monotonic_s(void)
{
    return (double)clock_monotonic_ns() / 1e9;
}
