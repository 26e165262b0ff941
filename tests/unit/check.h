/* check: the smallest useful test harness. CHECK records a failure with its line and keeps
 * going, so one run shows every broken expectation; check_done() sets the exit status. */
#ifndef LOGEER_TEST_CHECK_H
#define LOGEER_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        check_count++;                                                               \
        if (!(cond)) {                                                               \
            check_failures++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
        }                                                                            \
    } while (0)

#define CHECK_STR(a, b)                                                              \
    do {                                                                             \
        const char *a_ = (a), *b_ = (b);                                             \
        check_count++;                                                               \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                     \
            check_failures++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, \
                    __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");           \
        }                                                                            \
    } while (0)

static inline int check_done(const char *suite)
{
    printf("%s: %d checks, %d failed\n", suite, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
