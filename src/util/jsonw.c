/* jsonw: the JSON text writer (see include/logeer/jsonw.h for why it exists). */
#include "logeer/jsonw.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/fmt.h"

void jw_init(struct jsonw *w) { memset(w, 0, sizeof *w); }

void jw_free(struct jsonw *w)
{
    free(w->buf);
    jw_init(w);
}

void jw_reset(struct jsonw *w)
{
    w->len = 0;
    w->comma = false;
    w->failed = false;
    if (w->buf)
        w->buf[0] = '\0';
}

/* Room for n more bytes plus the terminating NUL. */
static bool reserve(struct jsonw *w, size_t n)
{
    if (w->failed)
        return false;
    if (w->len + n + 1 <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 512; /* a request log line fits */
    while (cap < w->len + n + 1)
        cap *= 2;
    char *buf = realloc(w->buf, cap);
    if (!buf) {
        w->failed = true;
        return false;
    }
    w->buf = buf;
    w->cap = cap;
    return true;
}

void jw_reserve(struct jsonw *w, size_t bytes) { (void)reserve(w, bytes); }

static void put(struct jsonw *w, const char *s, size_t n)
{
    if (!reserve(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void put_char(struct jsonw *w, char c) { put(w, &c, 1); }

/* Before any value or key: the comma that separates it from the previous one. */
static void separate(struct jsonw *w)
{
    if (w->comma)
        put_char(w, ',');
    w->comma = true;
}

static void open_container(struct jsonw *w, char c)
{
    separate(w);
    put_char(w, c);
    w->comma = false;
}

static void close_container(struct jsonw *w, char c)
{
    put_char(w, c);
    w->comma = true;
}

void jw_members_raw(struct jsonw *w, const char *text, size_t len)
{
    if (len == 0)
        return;
    separate(w);
    put(w, text, len);
    w->comma = true;
}

void jw_continue_raw(struct jsonw *w, const char *text, size_t len)
{
    put(w, text, len);
    w->comma = true;
}

void jw_object_begin(struct jsonw *w) { open_container(w, '{'); }
void jw_object_end(struct jsonw *w) { close_container(w, '}'); }
void jw_array_begin(struct jsonw *w) { open_container(w, '['); }
void jw_array_end(struct jsonw *w) { close_container(w, ']'); }

void jw_key(struct jsonw *w, const char *key)
{
    size_t n = strlen(key);
    if (!reserve(w, n + 4))
        return;
    if (w->comma)
        w->buf[w->len++] = ',';
    w->buf[w->len++] = '"';
    memcpy(w->buf + w->len, key, n);
    w->len += n;
    w->buf[w->len++] = '"';
    w->buf[w->len++] = ':';
    w->buf[w->len] = '\0';
    w->comma = false;
}

void jw_key_escaped(struct jsonw *w, const char *key)
{
    jw_string(w, key); /* also puts the comma before it, as for any member */
    put_char(w, ':');
    w->comma = false;
}

/* Quote, backslash and the control characters, NUL included (it ends the string). */
static const bool needs_escape[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

/* True when none of the 8 bytes in x needs an escape: none is below 0x20, a quote or a
 * backslash. The classic SWAR tests ("has a byte less than n", "has a zero byte" after an
 * XOR), exact for "any byte"; bytes of 0x80 and above (UTF-8) never match. */
static bool word_is_plain(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t control = (x - ones * 0x20) & ~x & highs;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t quote = (q - ones) & ~q & highs, backslash = (b - ones) & ~b & highs;
    return (control | quote | backslash) == 0;
}

/* Length of the prefix of s[0..len) that needs no escape, eight bytes at a time. */
static size_t plain_prefix(const char *s, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (!word_is_plain(x))
            break;
    }
    while (i < len && !needs_escape[(unsigned char)s[i]])
        i++;
    return i;
}

void jw_string(struct jsonw *w, const char *s)
{
    if (!s) {
        jw_null(w);
        return;
    }
    separate(w);
    size_t len = strlen(s), plain = plain_prefix(s, len);
    if (plain == len) { /* the usual case: one copy between the quotes */
        if (!reserve(w, len + 2))
            return;
        w->buf[w->len++] = '"';
        memcpy(w->buf + w->len, s, len);
        w->len += len;
        w->buf[w->len++] = '"';
        w->buf[w->len] = '\0';
        return;
    }
    put_char(w, '"');
    const char *run = s;     /* bytes that need no escape are copied in one go */
    for (const char *p = s + plain;; p++) {
        unsigned char c = (unsigned char)*p;
        if (!needs_escape[c])
            continue;
        put(w, run, (size_t)(p - run));
        if (c == '\0')
            break;
        char esc[8];
        switch (c) {
        case '"': put(w, "\\\"", 2); break;
        case '\\': put(w, "\\\\", 2); break;
        case '\b': put(w, "\\b", 2); break;
        case '\f': put(w, "\\f", 2); break;
        case '\n': put(w, "\\n", 2); break;
        case '\r': put(w, "\\r", 2); break;
        case '\t': put(w, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(w, esc, 6);
        }
        run = p + 1;
    }
    put_char(w, '"');
}

void jw_int(struct jsonw *w, long long v)
{
    separate(w);
    char buf[24];
    put(w, buf, (size_t)(fmt_int(buf, v) - buf));
}

void jw_double(struct jsonw *w, double v)
{
    if (!isfinite(v)) {
        jw_null(w);
        return;
    }
    if (v == trunc(v) && fabs(v) < 1e15) {
        jw_int(w, (long long)v);
        return;
    }
    separate(w);
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%.15g", v);
    put(w, buf, n > 0 ? (size_t)n : 0);
}

void jw_fixed(struct jsonw *w, double v, int decimals)
{
    static const long long scale[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    if (decimals < 1 || decimals > 6 || !isfinite(v) || v < 0 || v >= 1e12) {
        jw_double(w, v);
        return;
    }
    long long units = llround(v * (double)scale[decimals]);
    long long whole = units / scale[decimals], frac = units % scale[decimals];
    if (frac == 0) {
        jw_int(w, whole);
        return;
    }
    separate(w);
    char buf[40];
    char *end = fmt_uint(buf, (unsigned long long)whole);
    *end++ = '.';
    end = fmt_uint_pad(end, (unsigned)frac, decimals);
    while (end[-1] == '0') /* 12.50 -> 12.5; frac is not 0, so a digit stays */
        end--;
    put(w, buf, (size_t)(end - buf));
}

void jw_number_text(struct jsonw *w, const char *text)
{
    size_t n = text ? strspn(text, "0123456789+-.eE") : 0;
    if (n == 0 || text[n] != '\0' || !(text[0] == '-' || (text[0] >= '0' && text[0] <= '9'))) {
        jw_null(w);
        return;
    }
    separate(w);
    put(w, text, n);
}

void jw_bool(struct jsonw *w, bool v)
{
    separate(w);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void jw_null(struct jsonw *w)
{
    separate(w);
    put(w, "null", 4);
}

void jw_kstring(struct jsonw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_string(w, s);
}

void jw_kint(struct jsonw *w, const char *key, long long v)
{
    jw_key(w, key);
    jw_int(w, v);
}

void jw_kbool(struct jsonw *w, const char *key, bool v)
{
    jw_key(w, key);
    jw_bool(w, v);
}

const char *jw_text(const struct jsonw *w, size_t *len)
{
    if (w->failed)
        return NULL;
    if (len)
        *len = w->len;
    return w->buf ? w->buf : "";
}
