/* http/parse.c: the pure HTTP/1.1 request parser (head, framing, chunked bodies) plus the
 * method and status tables. It never does I/O, never allocates and never logs: every input
 * either parses or yields a status and a short detail for the server to answer with. */
#include "logeer/http_parse.h"

#include <string.h>
#include <strings.h>

#include "logeer/query.h"
#include "logeer/utf8.h"

void http_limits_resolve(const struct http_limits *in, struct http_limits *out)
{
    struct http_limits l = {0};
    if (in)
        l = *in;
    if (!l.max_body)
        l.max_body = HTTP_DEFAULT_MAX_BODY;
    if (!l.max_header_bytes)
        l.max_header_bytes = HTTP_DEFAULT_MAX_HEADER_BYTES;
    if (!l.max_headers)
        l.max_headers = HTTP_DEFAULT_MAX_HEADERS;
    if (!l.header_timeout_ms)
        l.header_timeout_ms = HTTP_DEFAULT_HEADER_TIMEOUT_MS;
    if (!l.body_timeout_ms)
        l.body_timeout_ms = HTTP_DEFAULT_BODY_TIMEOUT_MS;
    if (!l.idle_timeout_ms)
        l.idle_timeout_ms = HTTP_DEFAULT_IDLE_TIMEOUT_MS;
    if (!l.write_timeout_ms)
        l.write_timeout_ms = HTTP_DEFAULT_WRITE_TIMEOUT_MS;
    if (!l.max_connections)
        l.max_connections = HTTP_DEFAULT_MAX_CONNECTIONS;
    *out = l;
}

/* ---- methods and statuses ---------------------------------------------------------------- */

static const char *const http_method_names[] = {
    [HTTP_GET] = "GET",         [HTTP_HEAD] = "HEAD",     [HTTP_POST] = "POST",
    [HTTP_PUT] = "PUT",         [HTTP_PATCH] = "PATCH",   [HTTP_DELETE] = "DELETE",
    [HTTP_OPTIONS] = "OPTIONS", [HTTP_METHOD_OTHER] = "OTHER",
};

/* Method names are case-sensitive (RFC 9110 9.1): "get" is some other method. */
enum http_method http_method_from_name(const char *name, size_t len)
{
    for (int m = HTTP_GET; m < HTTP_METHOD_OTHER; m++) {
        const char *n = http_method_names[m];
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return (enum http_method)m;
    }
    return HTTP_METHOD_OTHER;
}

const char *http_method_name(enum http_method m)
{
    if ((int)m < HTTP_GET || m > HTTP_METHOD_OTHER)
        return "OTHER";
    return http_method_names[m];
}

const char *http_status_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* ---- character classes (RFC 9110 5.6.2) ------------------------------------------------ */

static bool http_is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Bytes allowed inside a field value: HTAB, SP, visible ASCII and obs-text. */
static bool http_is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool http_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int http_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int http_fail(struct http_head *out, int status, const char *detail)
{
    out->status = status;
    out->detail = detail;
    return -1;
}

/* ---- head ----------------------------------------------------------------------------- */

size_t http_head_end(const char *buf, size_t len, size_t from)
{
    while (from < len) {
        const char *lf = memchr(buf + from, '\n', len - from);
        if (!lf)
            return 0;
        size_t i = (size_t)(lf - buf);
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
        from = i + 1;
    }
    return 0;
}

/* Cuts the next line off *cursor: returns its start, NUL-terminates it (dropping a CR before
 * the LF) and stores its length. A CR anywhere else stays in the line, where the character
 * checks reject it. */
static char *http_next_line(char **cursor, char *end, size_t *line_len)
{
    char *start = *cursor;
    char *lf = memchr(start, '\n', (size_t)(end - start));
    if (!lf)
        return NULL;
    char *stop = lf;
    if (stop > start && stop[-1] == '\r')
        stop--;
    *stop = '\0';
    *line_len = (size_t)(stop - start);
    *cursor = lf + 1;
    return start;
}

static int http_parse_version(const char *v, struct http_head *out)
{
    if (strlen(v) != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
        v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
        return http_fail(out, 400, "malformed HTTP version");
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return http_fail(out, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
    out->version_minor = v[7] - '0';
    return 0;
}

/* Decodes %XX escapes of the path part of the target into path_buf. A decoded NUL would cut
 * the path short for every C consumer, so it is refused like a malformed escape; so are an
 * encoded '/' and a path that does not decode to UTF-8, which no handler or database could use. */
static int http_decode_path(const char *raw, size_t len, struct http_head *out)
{
    if (!out->path_buf || out->path_cap < len + 1)
        return http_fail(out, 400, "request target too long");
    char *w = out->path_buf;
    for (size_t i = 0; i < len; i++) {
        if (raw[i] != '%') {
            *w++ = raw[i];
            continue;
        }
        int hi = i + 1 < len ? http_hex_value((unsigned char)raw[i + 1]) : -1;
        int lo = i + 2 < len ? http_hex_value((unsigned char)raw[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            return http_fail(out, 400, "malformed percent-encoding in path");
        int c = hi * 16 + lo;
        if (c == 0)
            return http_fail(out, 400, "encoded NUL in path");
        /* Routing works on the decoded path, where an encoded '/' would pass for a segment
         * separator: /v1/stays/a%2Fconfirm would reach a stay transition. */
        if (c == '/')
            return http_fail(out, 400, "encoded '/' (%2F) in path");
        *w++ = (char)c;
        i += 2;
    }
    *w = '\0';
    if (!utf8_valid(out->path_buf, (size_t)(w - out->path_buf)))
        return http_fail(out, 400, "the path is not valid UTF-8");
    out->path = out->path_buf;
    return 0;
}

static int http_parse_target(char *target, struct http_head *out)
{
    out->target = target;
    out->query = NULL;
    if (strcmp(target, "*") == 0) {
        if (out->method != HTTP_OPTIONS)
            return http_fail(out, 400, "asterisk-form target is only valid for OPTIONS");
        if (!out->path_buf || out->path_cap < 2)
            return http_fail(out, 400, "request target too long");
        strcpy(out->path_buf, "*");
        out->path = out->path_buf;
        return 0;
    }
    if (target[0] != '/')
        return http_fail(out, 400, "request target must start with '/'");
    for (const char *p = target; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f)
            return http_fail(out, 400, "invalid character in request target");
        if (c == '#')
            return http_fail(out, 400, "fragment in request target");
    }
    char *q = strchr(target, '?');
    size_t path_len = q ? (size_t)(q - target) : strlen(target);
    if (q)
        out->query = q + 1;
    /* The query stays encoded for the handlers, but it is checked here once, so that no
     * handler ever meets a malformed escape, a NUL or bytes that are not UTF-8 in it. */
    const char *why = query_problem(out->query);
    if (why)
        return http_fail(out, 400, why);
    return http_decode_path(target, path_len, out);
}

static int http_parse_request_line(char *line, size_t len, struct http_head *out)
{
    char *sp1 = memchr(line, ' ', len);
    if (!sp1 || sp1 == line)
        return http_fail(out, 400, "malformed request line");
    char *target = sp1 + 1;
    char *sp2 = memchr(target, ' ', len - (size_t)(target - line));
    if (!sp2 || sp2 == target)
        return http_fail(out, 400, "malformed request line");
    *sp1 = '\0';
    *sp2 = '\0';
    const char *version = sp2 + 1;
    if (strchr(version, ' '))
        return http_fail(out, 400, "malformed request line");
    for (const char *p = line; *p; p++)
        if (!http_is_tchar((unsigned char)*p))
            return http_fail(out, 400, "invalid method");
    out->method_name = line;
    out->method = http_method_from_name(line, (size_t)(sp1 - line));
    if (http_parse_version(version, out) != 0)
        return -1;
    return http_parse_target(target, out);
}

/* One "name: value" line; obs-fold, white space before the colon and control characters are
 * all refused (RFC 9112 5.1, 5.2) rather than repaired, since repairs differ between servers. */
static int http_parse_header_line(char *line, size_t len, struct http_head *out)
{
    if (http_is_ows((unsigned char)line[0]))
        return http_fail(out, 400, "obsolete line folding is not accepted");
    char *colon = memchr(line, ':', len);
    if (!colon)
        return http_fail(out, 400, "header line without a colon");
    if (colon == line)
        return http_fail(out, 400, "empty header name");
    for (char *p = line; p < colon; p++) {
        if (http_is_ows((unsigned char)*p))
            return http_fail(out, 400, "white space before the colon of a header");
        if (!http_is_tchar((unsigned char)*p))
            return http_fail(out, 400, "invalid character in header name");
    }
    char *v = colon + 1;
    char *end = line + len;
    for (char *p = v; p < end; p++)
        if (!http_is_field_char((unsigned char)*p))
            return http_fail(out, 400, "control character in header value");
    while (v < end && http_is_ows((unsigned char)*v))
        v++;
    while (end > v && http_is_ows((unsigned char)end[-1]))
        end--;
    /* RFC 9110 lets values carry any octets above 0x7F; this service speaks UTF-8 only, and
     * values end up in logs and the database (User-Agent of a session). */
    if (!utf8_valid(v, (size_t)(end - v)))
        return http_fail(out, 400, "a header value is not valid UTF-8");
    *colon = '\0';
    *end = '\0';
    struct http_header *h = &out->headers[out->nheaders++];
    h->name = line;
    h->value = v;
    return 0;
}

/* Content-Length is digits only: no sign, no list, no white space inside, no overflow. */
static int http_parse_content_length(const char *v, struct http_head *out)
{
    if (out->framing == HTTP_FRAMING_LENGTH)
        return http_fail(out, 400, "more than one Content-Length");
    if (!*v)
        return http_fail(out, 400, "empty Content-Length");
    uint64_t n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return http_fail(out, 400, "Content-Length must be decimal digits");
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return http_fail(out, 400, "Content-Length too large");
        n = n * 10 + d;
    }
    out->framing = HTTP_FRAMING_LENGTH;
    out->content_length = n;
    return 0;
}

/* Calls fn for each comma-separated element of a list value, trimmed of white space; empty
 * elements are skipped as RFC 9110 5.6.1 asks. Stops at the first non-zero return. */
static int http_list_each(const char *v, int (*fn)(const char *el, size_t n, void *arg),
                          void *arg)
{
    while (*v) {
        const char *comma = strchr(v, ',');
        const char *stop = comma ? comma : v + strlen(v);
        const char *s = v;
        const char *e = stop;
        while (s < e && http_is_ows((unsigned char)*s))
            s++;
        while (e > s && http_is_ows((unsigned char)e[-1]))
            e--;
        if (e > s) {
            int r = fn(s, (size_t)(e - s), arg);
            if (r)
                return r;
        }
        v = comma ? comma + 1 : stop;
    }
    return 0;
}

static bool http_token_eq(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

struct http_te_scan {
    unsigned chunked;  /* "chunked" elements seen */
    unsigned other;    /* any other coding seen */
    unsigned total;
    bool chunked_last; /* the last element seen was chunked */
};

static int http_te_element(const char *el, size_t n, void *arg)
{
    struct http_te_scan *s = arg;
    s->total++;
    s->chunked_last = http_token_eq(el, n, "chunked");
    if (s->chunked_last)
        s->chunked++;
    else
        s->other++;
    return 0;
}

static int http_connection_element(const char *el, size_t n, void *arg)
{
    int *flags = arg;
    if (http_token_eq(el, n, "close"))
        *flags |= 1;
    else if (http_token_eq(el, n, "keep-alive"))
        *flags |= 2;
    return 0;
}

/* Decides the body framing and the connection's fate from the parsed header lines. */
static int http_interpret_headers(struct http_head *out)
{
    struct http_te_scan te = {0};
    bool have_te = false;
    int conn_flags = 0;
    unsigned hosts = 0;
    for (size_t i = 0; i < out->nheaders; i++) {
        const char *n = out->headers[i].name;
        const char *v = out->headers[i].value;
        if (strcasecmp(n, "Content-Length") == 0) {
            if (http_parse_content_length(v, out) != 0)
                return -1;
        } else if (strcasecmp(n, "Transfer-Encoding") == 0) {
            have_te = true;
            (void)http_list_each(v, http_te_element, &te);
        } else if (strcasecmp(n, "Connection") == 0) {
            (void)http_list_each(v, http_connection_element, &conn_flags);
        } else if (strcasecmp(n, "Expect") == 0) {
            if (strcasecmp(v, "100-continue") == 0 && out->version_minor == 1)
                out->expect_continue = true;
        } else if (strcasecmp(n, "Host") == 0) {
            hosts++;
        }
    }
    if (out->version_minor == 1 && hosts != 1)
        return http_fail(out, 400, hosts ? "more than one Host header" : "missing Host header");
    if (have_te) {
        /* Both framings at once is the classic request-smuggling shape: refuse, never pick. */
        if (out->framing == HTTP_FRAMING_LENGTH)
            return http_fail(out, 400, "both Transfer-Encoding and Content-Length");
        if (out->version_minor == 0)
            return http_fail(out, 400, "Transfer-Encoding in an HTTP/1.0 request");
        if (te.other)
            return http_fail(out, 501, "unsupported transfer coding");
        if (te.chunked != 1 || !te.chunked_last)
            return http_fail(out, 400, "invalid Transfer-Encoding");
        out->framing = HTTP_FRAMING_CHUNKED;
    }
    if (conn_flags & 1)
        out->keep_alive = false;
    else
        out->keep_alive = out->version_minor == 1 || (conn_flags & 2);
    return 0;
}

int http_parse_head(char *buf, size_t len, const struct http_limits *lim, struct http_head *out)
{
    struct http_limits l;
    http_limits_resolve(lim, &l);
    out->method = HTTP_METHOD_OTHER;
    out->method_name = out->target = out->path = out->query = NULL;
    out->nheaders = 0;
    out->version_minor = 1;
    out->framing = HTTP_FRAMING_NONE;
    out->content_length = 0;
    out->keep_alive = false;
    out->expect_continue = false;
    out->status = 0;
    out->detail = NULL;

    if (len > l.max_header_bytes)
        return http_fail(out, 431, "request head too large");
    char *cursor = buf;
    char *end = buf + len;
    size_t line_len;
    char *line = http_next_line(&cursor, end, &line_len);
    if (!line || line_len == 0)
        return http_fail(out, 400, "missing request line");
    for (size_t i = 0; i < line_len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f)
            return http_fail(out, 400, "control character in request line");
    }
    if (http_parse_request_line(line, line_len, out) != 0)
        return -1;
    for (;;) {
        line = http_next_line(&cursor, end, &line_len);
        if (!line)
            return http_fail(out, 400, "request head not terminated by an empty line");
        if (line_len == 0)
            break;
        if (out->nheaders >= l.max_headers || out->nheaders >= out->headers_cap)
            return http_fail(out, 431, "too many header lines");
        if (http_parse_header_line(line, line_len, out) != 0)
            return -1;
    }
    if (cursor != end)
        return http_fail(out, 400, "bytes after the end of the request head");
    return http_interpret_headers(out);
}

/* ---- chunked bodies --------------------------------------------------------------------- */

void http_chunked_init(struct http_chunked *c, const struct http_limits *lim)
{
    struct http_limits l;
    http_limits_resolve(lim, &l);
    memset(c, 0, sizeof(*c));
    c->state = HTTP_CHUNKED_SIZE;
    c->max_body = l.max_body;
    c->max_trailer_bytes = l.max_header_bytes;
}

static size_t http_chunked_fail(struct http_chunked *c, int status, const char *detail,
                                size_t used)
{
    c->state = HTTP_CHUNKED_ERROR;
    c->status = status;
    c->detail = detail;
    return used;
}

/* A size line is complete: a zero size is the last chunk, and trailers follow. (Sizes over
 * the body limit were already refused digit by digit, before any of their data arrived.) */
static void http_chunked_size_done(struct http_chunked *c)
{
    if (c->chunk_left == 0) {
        c->state = HTTP_CHUNKED_TRAILER;
        return;
    }
    c->state = HTTP_CHUNKED_DATA;
}

/* Steps the state machine over one framing byte (anything but chunk data). Returns false when
 * the byte is an error; the caller then reports the failure recorded in c. */
static bool http_chunked_byte(struct http_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case HTTP_CHUNKED_SIZE: {
        int d = http_hex_value(ch);
        if (d >= 0) {
            if (c->chunk_left > (UINT64_MAX >> 4)) {
                c->status = 400, c->detail = "chunk size too large";
                return false;
            }
            c->chunk_left = c->chunk_left * 16 + (unsigned)d;
            c->digits++;
            if (c->chunk_left > c->max_body || c->total + c->chunk_left > c->max_body) {
                c->status = 413, c->detail = "request body too large";
                return false;
            }
            return true;
        }
        if (c->digits == 0) {
            c->status = 400, c->detail = "chunk size is not hexadecimal";
            return false;
        }
        c->total += c->chunk_left;
        if (ch == '\r') {
            c->state = HTTP_CHUNKED_SIZE_LF;
            return true;
        }
        if (ch == ';') {
            c->state = HTTP_CHUNKED_EXT;
            return true;
        }
        if (http_is_ows(ch)) {
            c->state = HTTP_CHUNKED_SIZE_WS;
            return true;
        }
        c->status = 400, c->detail = "chunk size is not hexadecimal";
        return false;
    }
    case HTTP_CHUNKED_SIZE_WS:
        if (ch == '\r') {
            c->state = HTTP_CHUNKED_SIZE_LF;
            return true;
        }
        if (ch == ';') {
            c->state = HTTP_CHUNKED_EXT;
            return true;
        }
        if (http_is_ows(ch))
            return true;
        c->status = 400, c->detail = "chunk size is not hexadecimal";
        return false;
    case HTTP_CHUNKED_EXT:
        if (ch == '\r') {
            c->state = HTTP_CHUNKED_SIZE_LF;
            return true;
        }
        if (ch == '\t' || (ch >= 0x20 && ch != 0x7f))
            return true;
        c->status = 400, c->detail = "control character in chunk extension";
        return false;
    case HTTP_CHUNKED_SIZE_LF:
        if (ch != '\n') {
            c->status = 400, c->detail = "chunk size line not ended by CRLF";
            return false;
        }
        http_chunked_size_done(c);
        return true;
    case HTTP_CHUNKED_DATA_CR:
        if (ch != '\r') {
            c->status = 400, c->detail = "chunk data not followed by CRLF";
            return false;
        }
        c->state = HTTP_CHUNKED_DATA_LF;
        return true;
    case HTTP_CHUNKED_DATA_LF:
        if (ch != '\n') {
            c->status = 400, c->detail = "chunk data not followed by CRLF";
            return false;
        }
        c->state = HTTP_CHUNKED_SIZE;
        c->chunk_left = 0;
        c->digits = 0;
        c->line_bytes = 0;
        return true;
    case HTTP_CHUNKED_TRAILER:
        if (ch == '\r') {
            c->state = HTTP_CHUNKED_END_LF;
            return true;
        }
        if (http_is_ows(ch)) {
            c->status = 400, c->detail = "obsolete line folding in trailer";
            return false;
        }
        if (!http_is_tchar(ch)) {
            c->status = 400, c->detail = "invalid trailer line";
            return false;
        }
        c->state = HTTP_CHUNKED_TRAILER_NAME;
        return true;
    case HTTP_CHUNKED_TRAILER_NAME:
        if (ch == ':') {
            c->state = HTTP_CHUNKED_TRAILER_VALUE;
            return true;
        }
        if (http_is_tchar(ch))
            return true;
        c->status = 400, c->detail = "invalid trailer line";
        return false;
    case HTTP_CHUNKED_TRAILER_VALUE:
        if (ch == '\r') {
            c->state = HTTP_CHUNKED_TRAILER_LF;
            return true;
        }
        if (http_is_field_char(ch))
            return true;
        c->status = 400, c->detail = "control character in trailer";
        return false;
    case HTTP_CHUNKED_TRAILER_LF:
        if (ch != '\n') {
            c->status = 400, c->detail = "trailer line not ended by CRLF";
            return false;
        }
        c->state = HTTP_CHUNKED_TRAILER;
        return true;
    case HTTP_CHUNKED_END_LF:
        if (ch != '\n') {
            c->status = 400, c->detail = "chunked body not ended by CRLF";
            return false;
        }
        c->state = HTTP_CHUNKED_DONE;
        return true;
    default:
        c->status = 400, c->detail = "chunked decoder misuse";
        return false;
    }
}

size_t http_chunked_feed(struct http_chunked *c, const char *in, size_t len, const char **data,
                         size_t *data_len)
{
    *data = NULL;
    *data_len = 0;
    size_t i = 0;
    while (i < len) {
        if (c->state == HTTP_CHUNKED_DONE || c->state == HTTP_CHUNKED_ERROR)
            return i;
        if (c->state == HTTP_CHUNKED_DATA) {
            size_t n = len - i;
            if ((uint64_t)n > c->chunk_left)
                n = (size_t)c->chunk_left;
            *data = in + i;
            *data_len = n;
            c->chunk_left -= n;
            if (c->chunk_left == 0)
                c->state = HTTP_CHUNKED_DATA_CR;
            return i + n;
        }
        bool in_trailer = c->state >= HTTP_CHUNKED_TRAILER && c->state <= HTTP_CHUNKED_END_LF;
        if (in_trailer && ++c->trailer_bytes > c->max_trailer_bytes)
            return http_chunked_fail(c, 431, "trailer section too large", i);
        if (!in_trailer && ++c->line_bytes > HTTP_MAX_CHUNK_LINE)
            return http_chunked_fail(c, 400, "chunk size line too long", i);
        if (!http_chunked_byte(c, (unsigned char)in[i]))
            return http_chunked_fail(c, c->status, c->detail, i);
        i++;
    }
    return i;
}
