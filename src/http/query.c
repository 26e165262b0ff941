/* query: query-string lookup and percent-decoding, shared by the router's callers and the
 * HTTP parser. Strict on malformed escapes so that "%zz" never silently becomes data, and on
 * encodings: every name and value must decode to UTF-8 text. */
#include "logeer/query.h"

#include <string.h>

#include "logeer/utf8.h"

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
    /* A handler asks for a dozen names in turn: each pair is matched against the name as it
     * is walked, so that most are left after a byte or two, and only the one found is
     * measured (three library calls a pair and name were most of a search's query work). */
    const char *p = query;
    while (*p) {
        size_t i = 0;
        while (name[i] && p[i] == name[i])
            i++;
        if (!name[i] && (p[i] == '=' || p[i] == '&' || p[i] == '\0')) {
            const char *v = p + i + (p[i] == '=');
            const char *amp = strchr(v, '&');
            size_t vlen = amp ? (size_t)(amp - v) : strlen(v);
            if (query_decode(v, vlen, buf, size, true) < 0) {
                if (malformed)
                    *malformed = true;
                return NULL;
            }
            return buf;
        }
        const char *amp = strchr(p + i, '&');
        if (!amp)
            break;
        p = amp + 1;
    }
    return NULL;
}

/* Decodes as it scans, so that no buffer is needed however long the query is. A '&' or '='
 * ends a name or value; a multi-byte sequence cut by one is invalid like any other. */
const char *query_problem(const char *query)
{
    if (!query)
        return NULL;
    struct utf8_scan u = {0};
    for (const char *p = query; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '&' || c == '=') {
            if (!utf8_scan_complete(&u))
                return "the query string is not valid UTF-8";
            continue;
        }
        if (c == '%') {
            int hi = hexval(p[1]);
            int lo = hi < 0 ? -1 : hexval(p[2]);
            if (hi < 0 || lo < 0)
                return "malformed percent-encoding in the query string";
            c = (unsigned char)(hi * 16 + lo);
            if (c == 0)
                return "encoded NUL in the query string";
            p += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (!utf8_scan_byte(&u, c))
            return "the query string is not valid UTF-8";
    }
    return utf8_scan_complete(&u) ? NULL : "the query string is not valid UTF-8";
}
