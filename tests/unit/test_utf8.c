/* Proves the one UTF-8 check: well-formed text passes; overlong forms, surrogates, values past
 * U+10FFFF, stray or missing continuation bytes and NUL are refused, whole or byte by byte. */
#include "check.h"
#include "logeer/utf8.h"

static bool scanned(const char *s, size_t len)
{
    struct utf8_scan u = {0};
    for (size_t i = 0; i < len; i++)
        if (!utf8_scan_byte(&u, (unsigned char)s[i]))
            return false;
    return utf8_scan_complete(&u);
}

/* Both forms of the check must agree on every case. */
#define VALID(lit) CHECK(utf8_valid(lit, sizeof(lit) - 1) && scanned(lit, sizeof(lit) - 1))
#define INVALID(lit) CHECK(!utf8_valid(lit, sizeof(lit) - 1) && !scanned(lit, sizeof(lit) - 1))

int main(void)
{
    VALID("");
    VALID("plain ASCII ~");
    VALID("caf\xc3\xa9");                 /* U+00E9 */
    VALID("\xe2\x82\xac");                /* U+20AC */
    VALID("\xf0\x9f\x98\x80");            /* U+1F600 */
    VALID("\xf4\x8f\xbf\xbf");            /* U+10FFFF, the last code point */
    VALID("\xed\x9f\xbf");                /* U+D7FF, just below the surrogates */
    INVALID("\xff\xfe");
    INVALID("\x80");                      /* continuation without a lead */
    INVALID("caf\xe9");                   /* Latin-1 */
    INVALID("\xc3");                      /* cut short at the end */
    INVALID("\xc3(");                     /* lead followed by ASCII */
    INVALID("\xc0\xaf");                  /* overlong '/' */
    INVALID("\xe0\x80\xaf");              /* overlong, three bytes */
    INVALID("\xf0\x80\x80\xaf");          /* overlong, four bytes */
    INVALID("\xed\xa0\x80");              /* U+D800, a surrogate */
    INVALID("\xf4\x90\x80\x80");          /* U+110000 */
    INVALID("\xf8\x88\x80\x80\x80");      /* five-byte form */
    INVALID("a\0b");                      /* NUL */
    /* Where text cut at a byte count may end: before a half sequence, never inside one. */
    CHECK(utf8_valid_prefix("caf\xc3\xa9", 5) == 5);
    CHECK(utf8_valid_prefix("caf\xc3\xa9", 4) == 3);
    CHECK(utf8_valid_prefix("\xf0\x9f\x98\x80\xf0\x9f\x98", 7) == 4);
    CHECK(utf8_valid_prefix("ab\xff", 3) == 2);
    CHECK(utf8_valid_prefix("", 0) == 0);
    return check_done("utf8");
}
