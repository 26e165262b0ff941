/* fmt: decimal and hexadecimal digits and copied pieces for text the hot path builds itself
 * (see logeer/fmt.h for why not snprintf). */
#include "logeer/fmt.h"

#include <string.h>

char *fmt_bytes(char *p, const char *s, size_t n)
{
    /* No bytes may come with no buffer (a reply without headers of its own): memcpy must not
     * be given NULL even for none. */
    if (n)
        memcpy(p, s, n);
    return p + n;
}

char *fmt_str(char *p, const char *s) { return fmt_bytes(p, s, strlen(s)); }

char *fmt_uint(char *p, unsigned long long v)
{
    char tmp[20], *end = tmp + sizeof tmp, *d = end;
    do {
        *--d = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return fmt_bytes(p, d, (size_t)(end - d));
}

char *fmt_int(char *p, long long v)
{
    if (v >= 0)
        return fmt_uint(p, (unsigned long long)v);
    *p++ = '-';
    /* -(v + 1) + 1 is defined for the smallest long long too. */
    return fmt_uint(p, (unsigned long long)(-(v + 1)) + 1);
}

char *fmt_uint_pad(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

char *fmt_hex64(char *p, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        p[i] = hex[v & 0xf];
        v >>= 4;
    }
    return p + 16;
}
