/* query: query-string lookup and percent-decoding, shared by the router's callers and the
 * HTTP parser. Strict on malformed escapes so that "%zz" never silently becomes data. */
#include "logeer/query.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long query_decode(const char *in, size_t len, char *out, size_t size, bool plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1; /* a '%' needs two hex digits after it */
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            if (c == '\0')
                return -1;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (o + 1 >= size)
            return -1;
        out[o++] = c;
    }
    if (size == 0)
        return -1;
    out[o] = '\0';
    return (long)o;
}

const char *query_get(const char *query, const char *name, char *buf, size_t size,
                      bool *malformed)
{
    if (malformed)
        *malformed = false;
    if (!query)
        return NULL;
    size_t nlen = strlen(name);
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t plen = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', plen);
        size_t klen = eq ? (size_t)(eq - p) : plen;
        if (klen == nlen && memcmp(p, name, nlen) == 0) {
            const char *v = eq ? eq + 1 : p + plen;
            size_t vlen = (size_t)(p + plen - v);
            if (query_decode(v, vlen, buf, size, true) < 0) {
                if (malformed)
                    *malformed = true;
                return NULL;
            }
            return buf;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    return NULL;
}
