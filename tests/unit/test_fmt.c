/* Unit tests for fmt, the hot path's formatting without snprintf: every function against
 * snprintf itself, at the edges of its range. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "logeer/fmt.h"

static void check_int(long long v)
{
    char got[32], want[32];
    *fmt_int(got, v) = '\0';
    snprintf(want, sizeof want, "%lld", v);
    CHECK_STR(got, want);
}

static void check_uint(unsigned long long v)
{
    char got[32], want[32];
    *fmt_uint(got, v) = '\0';
    snprintf(want, sizeof want, "%llu", v);
    CHECK_STR(got, want);
}

static void test_decimal_numbers_as_snprintf_writes_them(void)
{
    const long long ints[] = {0, 1, -1, 9, 10, -10, 99, 100, 13381, -2147483648LL, LLONG_MAX,
                              LLONG_MIN};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        check_int(ints[i]);
    const unsigned long long uints[] = {0, 7, 10, 200, 18446744073709551615ULL};
    for (size_t i = 0; i < sizeof uints / sizeof uints[0]; i++)
        check_uint(uints[i]);
    char got[8];
    *fmt_uint_pad(got, 7, 3) = '\0';
    CHECK_STR(got, "007");
    *fmt_uint_pad(got, 999, 3) = '\0';
    CHECK_STR(got, "999");
}

static void test_hex_and_pieces(void)
{
    char got[40], want[40];
    const uint64_t values[] = {0, 1, 0xdeadbeefULL, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        *fmt_hex64(got, values[i]) = '\0';
        snprintf(want, sizeof want, "%016llx", (unsigned long long)values[i]);
        CHECK_STR(got, want);
    }
    char *p = fmt_lit(got, "HTTP/1.1 ");
    p = fmt_uint(p, 200);
    *p++ = ' ';
    p = fmt_str(p, "OK");
    *p = '\0';
    CHECK_STR(got, "HTTP/1.1 200 OK");
    CHECK(p - got == 15);
    /* None of nothing: a reply without headers of its own has no buffer for them. */
    CHECK(fmt_bytes(got, NULL, 0) == got);
}

int main(void)
{
    test_decimal_numbers_as_snprintf_writes_them();
    test_hex_and_pieces();
    return check_done("fmt");
}
