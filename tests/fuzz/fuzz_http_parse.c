/* fuzz_http_parse: libFuzzer harness for the pure HTTP/1.1 parser: head detection (whole and
 * trickled), head parsing with the server's buffer layout, and the chunked decoder fed in one
 * piece and in arbitrary splits, which must agree byte for byte. Never does I/O. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/http_parse.h"
#include "logeer/query.h"
#include "logeer/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_assert(int ok)
{
    if (!ok)
        abort();
}

/* Byte 0 picks the limits, so that both the defaults and tight limits (where the 413 and 431
 * paths live) are reachable. */
static void fuzz_limits(uint8_t sel, struct http_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    if (sel & 1) {
        lim->max_body = 1 + (sel >> 1) * 7;
        lim->max_header_bytes = 64 + (size_t)sel * 4;
        lim->max_headers = 1 + (sel >> 4);
    }
    http_limits_resolve(lim, lim);
}

/* The one-shot search and a byte-by-byte search with the documented restart point must find
 * the same end. */
static size_t fuzz_head_end(const char *buf, size_t len)
{
    size_t whole = http_head_end(buf, len, 0);
    size_t found = 0;
    for (size_t have = 1; have <= len && !found; have++) {
        size_t from = have >= 3 ? have - 3 : 0;
        found = http_head_end(buf, have, from);
    }
    fuzz_assert(found == whole);
    fuzz_assert(whole == 0 || (whole <= len && buf[whole - 1] == '\n'));
    return whole;
}

static void fuzz_check_head(const struct http_head *h, int rc, size_t cap)
{
    if (rc != 0) {
        fuzz_assert(h->status == 400 || h->status == 431 || h->status == 501 ||
                    h->status == 505);
        fuzz_assert(h->detail != NULL);
        return;
    }
    fuzz_assert(h->status == 0 && h->method_name && h->target && h->path);
    fuzz_assert(h->path[0] == '/' || strcmp(h->path, "*") == 0);
    fuzz_assert(h->nheaders <= cap);
    fuzz_assert(h->version_minor == 0 || h->version_minor == 1);
    for (size_t i = 0; i < h->nheaders; i++)
        fuzz_assert(h->headers[i].name[0] != '\0' && h->headers[i].value != NULL);
    /* Whatever parses is text a handler and the database can take: UTF-8 throughout. */
    fuzz_assert(utf8_valid(h->path, strlen(h->path)));
    fuzz_assert(query_problem(h->query) == NULL);
    for (size_t i = 0; i < h->nheaders; i++)
        fuzz_assert(utf8_valid(h->headers[i].value, strlen(h->headers[i].value)));
}

/* Parses a head laid out the way the server lays it out: head, NUL, then the path buffer. */
static void fuzz_parse_head(const char *in, size_t len, const struct http_limits *lim)
{
    size_t skip = 0;
    while (skip < len && (in[skip] == '\r' || in[skip] == '\n'))
        skip++;
    size_t end = fuzz_head_end(in + skip, len - skip);
    if (!end)
        return;
    /* The server sizes the header array by the line ends it passed before the one that ends
     * the head: every line end but the last two. Anything tighter would be the parser's bug. */
    size_t lines = 0;
    for (size_t i = 0; i < end; i++)
        lines += in[skip + i] == '\n';
    lines = lines >= 2 ? lines - 2 : 0;
    size_t cap = lines < lim->max_headers + 1 ? lines : lim->max_headers + 1;
    char *buf = malloc(2 * end + 2);
    struct http_header *headers = malloc((cap ? cap : 1) * sizeof *headers);
    fuzz_assert(buf && headers);
    memcpy(buf, in + skip, end);
    buf[end] = '\0';
    struct http_head head = {
        .headers = headers,
        .headers_cap = cap,
        .path_buf = buf + end + 1,
        .path_cap = end + 1,
    };
    int rc = http_parse_head(buf, end, lim, &head);
    fuzz_check_head(&head, rc, cap);
    free(headers);
    free(buf);
}

struct fuzz_chunked_run {
    char *out;        /* decoded body */
    size_t out_len;
    size_t consumed;  /* input bytes the decoder took */
    struct http_chunked c;
};

/* Feeds in to a fresh decoder in pieces whose sizes come from split (cycled), or in one
 * piece when nsplit is 0. Each piece is an exact-size heap copy, as a socket read would be. */
static void fuzz_chunked_run(const char *in, size_t len, const uint8_t *split, size_t nsplit,
                             const struct http_limits *lim, struct fuzz_chunked_run *r)
{
    http_chunked_init(&r->c, lim);
    r->out = malloc(len + 1);
    r->out_len = 0;
    r->consumed = 0;
    fuzz_assert(r->out != NULL);
    size_t pos = 0, k = 0;
    while (pos < len && r->c.state != HTTP_CHUNKED_DONE && r->c.state != HTTP_CHUNKED_ERROR) {
        size_t piece = nsplit ? 1 + split[k++ % nsplit] % 17 : len - pos;
        if (piece > len - pos)
            piece = len - pos;
        char *copy = malloc(piece);
        fuzz_assert(copy != NULL);
        memcpy(copy, in + pos, piece);
        size_t off = 0;
        while (off < piece && r->c.state != HTTP_CHUNKED_DONE &&
               r->c.state != HTTP_CHUNKED_ERROR) {
            const char *data;
            size_t data_len;
            size_t used = http_chunked_feed(&r->c, copy + off, piece - off, &data, &data_len);
            fuzz_assert(used <= piece - off);
            if (data_len) {
                fuzz_assert(data >= copy + off && data + data_len <= copy + off + used);
                memcpy(r->out + r->out_len, data, data_len);
                r->out_len += data_len;
            }
            if (used == 0)
                break; /* the decoder only stops without progress when it is finished */
            off += used;
        }
        r->consumed += off;
        free(copy);
        if (off < piece)
            break;
        pos += piece;
    }
    fuzz_assert(r->out_len <= r->c.max_body);
}

static void fuzz_chunked(const char *in, size_t len, const uint8_t *split, size_t nsplit,
                         const struct http_limits *lim)
{
    struct fuzz_chunked_run whole, pieces;
    fuzz_chunked_run(in, len, NULL, 0, lim, &whole);
    fuzz_chunked_run(in, len, split, nsplit, lim, &pieces);
    fuzz_assert(whole.c.state == pieces.c.state);
    fuzz_assert(whole.consumed == pieces.consumed);
    fuzz_assert(whole.out_len == pieces.out_len &&
                memcmp(whole.out, pieces.out, whole.out_len) == 0);
    if (whole.c.state == HTTP_CHUNKED_ERROR)
        fuzz_assert(whole.c.status == pieces.c.status && whole.c.detail != NULL &&
                    (whole.c.status == 400 || whole.c.status == 413 || whole.c.status == 431));
    free(whole.out);
    free(pieces.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    struct http_limits lim;
    fuzz_limits(data[0], &lim);
    /* Byte 1: how many of the last bytes steer the split feed (they stay part of the input). */
    size_t nsplit = data[1] % 8;
    const char *in = (const char *)data + 2;
    size_t len = size - 2;
    const uint8_t *split = nsplit <= len ? data + size - nsplit : NULL;
    if (!split)
        nsplit = 0;
    fuzz_parse_head(in, len, &lim);
    /* The body after a head, and the whole input, each as a chunked body. */
    size_t end = http_head_end(in, len, 0);
    if (end)
        fuzz_chunked(in + end, len - end, split, nsplit, &lim);
    fuzz_chunked(in, len, split, nsplit, &lim);
    return 0;
}
