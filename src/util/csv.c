/* csv: RFC 4180 writing into a growing buffer. Owns quoting and the formula guard; never
 * decides what goes into a report. */
#include "logeer/csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void csv_init(struct csv *c)
{
    memset(c, 0, sizeof *c);
}

static void csv_put(struct csv *c, const char *s, size_t n)
{
    if (c->failed)
        return;
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (c->len + n + 1 > cap)
            cap *= 2;
        char *buf = realloc(c->buf, cap);
        if (!buf) {
            c->failed = true;
            return;
        }
        c->buf = buf;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
    c->buf[c->len] = '\0';
}

void csv_bom(struct csv *c)
{
    csv_put(c, "\xEF\xBB\xBF", 3);
}

static void csv_separator(struct csv *c)
{
    if (c->mid_record)
        csv_put(c, ",", 1);
    c->mid_record = true;
}

void csv_text(struct csv *c, const char *s)
{
    csv_separator(c);
    if (!s || !*s)
        return;
    bool formula = strchr("=+-@\t\r", s[0]) != NULL;
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        csv_put(c, "\"", 1);
    if (formula)
        csv_put(c, "'", 1);
    for (const char *p = s; *p;) {
        const char *q = strchr(p, '"');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        csv_put(c, p, n);
        if (!q)
            break;
        csv_put(c, "\"\"", 2);
        p = q + 1;
    }
    if (quote)
        csv_put(c, "\"", 1);
}

void csv_number(struct csv *c, double v)
{
    csv_separator(c);
    char text[40];
    int n;
    if (!isfinite(v))
        return;
    if (v == floor(v) && fabs(v) < 1e15)
        n = snprintf(text, sizeof text, "%.0f", v);
    else
        n = snprintf(text, sizeof text, "%.15g", v);
    /* "%.0f" of -0.0 is "-0": a spreadsheet shows that, and it means nothing here. */
    if (n == 2 && text[0] == '-' && text[1] == '0')
        n = snprintf(text, sizeof text, "0");
    csv_put(c, text, (size_t)n);
}

void csv_end_record(struct csv *c)
{
    csv_put(c, "\r\n", 2);
    c->mid_record = false;
}

char *csv_take(struct csv *c, size_t *len)
{
    if (c->failed || !c->buf) {
        csv_free(c);
        return NULL;
    }
    char *out = c->buf;
    *len = c->len;
    csv_init(c);
    return out;
}

void csv_free(struct csv *c)
{
    free(c->buf);
    csv_init(c);
}
