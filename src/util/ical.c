/* ical: RFC 5545 content lines. A line is assembled whole (name, ':', value) and then folded,
 * because the 75-octet limit counts the name too; a fold is CRLF and one space, placed before
 * a UTF-8 lead byte so that no reader sees half a character. Pure: no I/O. */
#include "logeer/ical.h"

#include <stdlib.h>
#include <string.h>

#define ICAL_LINE_MAX 75 /* octets per line, without the CRLF (RFC 5545 3.1) */

void ical_init(struct ical *c) { memset(c, 0, sizeof *c); }

static void put(struct ical *c, const char *s, size_t n)
{
    if (c->failed)
        return;
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (c->len + n + 1 > cap)
            cap *= 2;
        char *grown = realloc(c->buf, cap);
        if (!grown) {
            c->failed = true;
            return;
        }
        c->buf = grown;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
    c->buf[c->len] = '\0';
}

/* A UTF-8 continuation byte: a fold must not come before one. */
static bool continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

/* Writes one unfolded line of n octets folded, then CRLF. The first line holds 75 octets,
 * each continuation line a space and 74. */
static void put_folded(struct ical *c, const char *line, size_t n)
{
    size_t room = ICAL_LINE_MAX;
    while (n > room) {
        size_t cut = room;
        while (cut > 1 && continuation((unsigned char)line[cut]))
            cut--;
        put(c, line, cut);
        put(c, "\r\n ", 3);
        line += cut;
        n -= cut;
        room = ICAL_LINE_MAX - 1;
    }
    put(c, line, n);
    put(c, "\r\n", 2);
}

void ical_line(struct ical *c, const char *name, const char *value)
{
    size_t nn = strlen(name), nv = strlen(value);
    char *line = malloc(nn + nv + 2);
    if (!line) {
        c->failed = true;
        return;
    }
    memcpy(line, name, nn);
    line[nn] = ':';
    memcpy(line + nn + 1, value, nv + 1);
    put_folded(c, line, nn + 1 + nv);
    free(line);
}

void ical_text(struct ical *c, const char *name, const char *text)
{
    if (!text)
        return;
    /* Every character grows to at most two. */
    char *escaped = malloc(strlen(text) * 2 + 1);
    if (!escaped) {
        c->failed = true;
        return;
    }
    char *o = escaped;
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '\\':
        case ';':
        case ',':
            *o++ = '\\';
            *o++ = *p;
            break;
        case '\r':
            if (p[1] != '\n') { /* a lone CR is a line break too */
                *o++ = '\\';
                *o++ = 'n';
            }
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        default:
            /* Other control characters are not allowed in TEXT (RFC 5545 3.3.11). */
            if ((unsigned char)*p >= 0x20 && *p != 0x7f)
                *o++ = *p;
            else if (*p == '\t')
                *o++ = ' ';
        }
    }
    *o = '\0';
    ical_line(c, name, escaped);
    free(escaped);
}

char *ical_take(struct ical *c, size_t *len)
{
    char *out = NULL;
    if (c->failed)
        free(c->buf);
    else if (c->buf)
        out = c->buf;
    else /* nothing was written: an empty text, not a failure */
        out = strdup("");
    *len = out ? c->len : 0;
    ical_init(c);
    return out;
}

void ical_free(struct ical *c)
{
    free(c->buf);
    ical_init(c);
}
