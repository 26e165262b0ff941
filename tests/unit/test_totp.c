/* test_totp: RFC 6238's own test vectors through totp_check, the one-use rule, the drift
 * window, the URI and QR shapes, and recovery code normalisation. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "logeer/totp.h"

/* RFC 6238 appendix B: the ASCII seed "12345678901234567890", in base32. */
#define RFC_SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static void test_rfc6238_vectors_are_accepted_at_their_time(void)
{
    long long step = -1;
    CHECK(totp_check(RFC_SECRET, "287082", 59, -1, 0, &step) == TOTP_ACCEPTED);
    CHECK(step == 1);
    CHECK(totp_check(RFC_SECRET, "081804", 1111111109, -1, 0, &step) == TOTP_ACCEPTED);
    CHECK(step == 1111111109 / 30);
    CHECK(totp_check(RFC_SECRET, "005924", 1234567890, -1, 0, &step) == TOTP_ACCEPTED);
    CHECK(totp_check(RFC_SECRET, "279037", 2000000000, -1, 0, &step) == TOTP_ACCEPTED);
    CHECK(totp_check(RFC_SECRET, "005925", 1234567890, -1, 0, &step) == TOTP_WRONG);
}

static void test_a_code_is_good_once(void)
{
    long long step = -1;
    long long at = 1234567890, s = at / 30;
    CHECK(totp_check(RFC_SECRET, "005924", at, s - 1, 1, &step) == TOTP_ACCEPTED);
    CHECK(totp_check(RFC_SECRET, "005924", at, s, 1, &step) == TOTP_REPLAYED);
    CHECK(totp_check(RFC_SECRET, "005924", at + 30, s, 1, &step) == TOTP_REPLAYED);
}

static void test_drift_of_one_step_only(void)
{
    long long step = -1;
    /* The code of step s is accepted one step early or late, not two. */
    CHECK(totp_check(RFC_SECRET, "005924", 1234567890 + 30, -1, 1, &step) == TOTP_ACCEPTED);
    CHECK(step == 1234567890 / 30);
    CHECK(totp_check(RFC_SECRET, "005924", 1234567890 - 30, -1, 1, &step) == TOTP_ACCEPTED);
    CHECK(totp_check(RFC_SECRET, "005924", 1234567890 + 60, -1, 1, &step) == TOTP_WRONG);
    CHECK(totp_check(RFC_SECRET, "005924", 1234567890 - 60, -1, 1, &step) == TOTP_WRONG);
}

static void test_bad_secret_is_an_error(void)
{
    long long step;
    CHECK(totp_check("not base32!", "123456", 59, -1, 1, &step) == TOTP_ERROR);
}

static void test_new_secret_is_32_base32_characters(void)
{
    char a[TOTP_SECRET_B32_LEN], b[TOTP_SECRET_B32_LEN];
    CHECK(totp_secret_new(a) == 0 && totp_secret_new(b) == 0);
    CHECK(strlen(a) == 32);
    CHECK(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == 32);
    CHECK(strcmp(a, b) != 0);
}

static void test_uri_encodes_issuer_and_account(void)
{
    char uri[TOTP_URI_MAX];
    CHECK(totp_uri("Logeerzorg", "an+na@example.nl", "ABC", uri, sizeof uri) == 0);
    CHECK_STR(uri, "otpauth://totp/Logeerzorg:an%2Bna%40example.nl?secret=ABC&issuer=Logeerzorg"
                   "&algorithm=SHA1&digits=6&period=30");
    CHECK(totp_uri("Logeerzorg", "a@b.nl", "ABC", uri, 20) == -1);
}

static void test_qr_svg_is_a_square_svg(void)
{
    char *svg = totp_qr_svg("otpauth://totp/Logeerzorg:a%40b.nl?secret=ABC");
    CHECK(svg != NULL);
    if (svg) {
        CHECK(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
        CHECK(strstr(svg, "h1v1h-1z") != NULL);
        CHECK(strcmp(svg + strlen(svg) - 6, "</svg>") == 0);
    }
    free(svg);
}

static void test_code_normalise(void)
{
    char out[TOTP_DIGITS + 1];
    CHECK(totp_code_normalise("123 456", out));
    CHECK_STR(out, "123456");
    CHECK(totp_code_normalise("123-456", out));
    CHECK(!totp_code_normalise("12345", out));
    CHECK(!totp_code_normalise("1234567", out));
    CHECK(!totp_code_normalise("12345a", out));
    CHECK(!totp_code_normalise("", out));
}

static void test_recovery_codes(void)
{
    char code[TOTP_RECOVERY_LEN], norm[TOTP_RECOVERY_LEN];
    CHECK(totp_recovery_new(code) == 0);
    CHECK(strlen(code) == 14 && code[4] == '-' && code[9] == '-');
    CHECK(totp_recovery_normalise(code, norm));
    CHECK_STR(norm, code);
    CHECK(totp_recovery_normalise("ABCD EFGH JKMN", norm));
    CHECK_STR(norm, "abcd-efgh-jkmn");
    CHECK(totp_recovery_normalise("oil0-0000-0000", norm));
    CHECK_STR(norm, "0110-0000-0000");
    CHECK(!totp_recovery_normalise("abcd-efgh-jkm", norm));
    CHECK(!totp_recovery_normalise("abcd-efgh-jkmnp", norm));
    CHECK(!totp_recovery_normalise("abcd-efgh-jkmu", norm));
}

int main(void)
{
    test_rfc6238_vectors_are_accepted_at_their_time();
    test_a_code_is_good_once();
    test_drift_of_one_step_only();
    test_bad_secret_is_an_error();
    test_new_secret_is_32_base32_characters();
    test_uri_encodes_issuer_and_account();
    test_qr_svg_is_a_square_svg();
    test_code_normalise();
    test_recovery_codes();
    return check_done("totp");
}
