/* http_parse: the pure HTTP/1.1 request parser: request head, message framing and the chunked
 * body decoder. Does no I/O, allocates nothing and knows no libevent, so that every rule can be
 * unit-tested from byte strings. Every failure names the status to answer and a short detail. */
#ifndef LOGEER_HTTP_PARSE_H
#define LOGEER_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logeer/http.h"

#define HTTP_DEFAULT_MAX_BODY ((size_t)1 << 20)
#define HTTP_DEFAULT_MAX_HEADER_BYTES ((size_t)16 << 10)
#define HTTP_DEFAULT_MAX_HEADERS 100
#define HTTP_DEFAULT_HEADER_TIMEOUT_MS 10000u
#define HTTP_DEFAULT_BODY_TIMEOUT_MS 30000u
#define HTTP_DEFAULT_IDLE_TIMEOUT_MS 60000u
#define HTTP_DEFAULT_WRITE_TIMEOUT_MS 30000u
#define HTTP_DEFAULT_MAX_CONNECTIONS 4096u

/* Longest chunk-size line (size plus extensions) we accept; extensions carry nothing we use. */
#define HTTP_MAX_CHUNK_LINE 4096

/* Copies in (which may be NULL) to out, replacing every zero by its documented default. */
void http_limits_resolve(const struct http_limits *in, struct http_limits *out);

/* How the body of a parsed request is delimited. */
enum http_framing {
    HTTP_FRAMING_NONE,    /* no body */
    HTTP_FRAMING_LENGTH,  /* Content-Length bytes */
    HTTP_FRAMING_CHUNKED, /* Transfer-Encoding: chunked */
};

struct http_head {
    /* Set by the caller before http_parse_head: where the results may be stored. */
    struct http_header *headers;  /* room for headers_cap entries */
    size_t headers_cap;           /* more header lines than this (or than max_headers): 431 */
    char *path_buf;               /* receives the percent-decoded path */
    size_t path_cap;              /* the head's length + 1 is always enough */

    /* Results; strings point into the parsed buffer or path_buf. */
    enum http_method method;
    char *method_name;
    char *target;                 /* raw request target */
    char *path;                   /* decoded path (path_buf), no query */
    char *query;                  /* raw query after '?' (inside target), or NULL */
    size_t nheaders;
    int version_minor;            /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    enum http_framing framing;
    uint64_t content_length;      /* when framing is HTTP_FRAMING_LENGTH */
    bool keep_alive;              /* the client allows another request on this connection */
    bool expect_continue;         /* "Expect: 100-continue" on an HTTP/1.1 request */

    /* On failure. */
    int status;                   /* 400, 431, 501 or 505 */
    const char *detail;           /* static text, safe to show to the client */
};

/* Finds the end of a request head: the length up to and including the empty line that ends
 * it (CRLFCRLF or bare-LF variants), or 0 when it is not in buf yet. Scanning starts at from,
 * so a caller waiting for more bytes passes its previous length minus 2 and scans each byte
 * about once. The caller drops empty lines before a request line itself. (The server applies
 * the same rule directly on its input buffer, to avoid copying a head that is still growing.) */
size_t http_head_end(const char *buf, size_t len, size_t from);

/* Parses a complete request head of len bytes (as measured by http_head_end) in place: it
 * writes NUL terminators into buf. Returns 0, or -1 with out->status and out->detail set.
 * lim may be NULL for the defaults. */
__attribute__((warn_unused_result))
int http_parse_head(char *buf, size_t len, const struct http_limits *lim, struct http_head *out);

/* Incremental decoder for a chunked body. Line ends in the chunked framing must be CRLF: a bare
 * LF or CR there is rejected, because lenient chunk parsing is how request smuggling between
 * a proxy and an origin starts. Extensions are checked and ignored; trailers are checked and
 * discarded. */
enum http_chunked_state {
    HTTP_CHUNKED_SIZE,          /* hex digits of a chunk size */
    HTTP_CHUNKED_SIZE_WS,       /* white space after the size, before ';' or CR */
    HTTP_CHUNKED_EXT,           /* after ';', up to CR: extensions */
    HTTP_CHUNKED_SIZE_LF,       /* CR of the size line seen */
    HTTP_CHUNKED_DATA,          /* chunk_left data bytes to pass through */
    HTTP_CHUNKED_DATA_CR,       /* CRLF after the data */
    HTTP_CHUNKED_DATA_LF,
    HTTP_CHUNKED_TRAILER,       /* start of a trailer line, or the final CRLF */
    HTTP_CHUNKED_TRAILER_NAME,
    HTTP_CHUNKED_TRAILER_VALUE,
    HTTP_CHUNKED_TRAILER_LF,
    HTTP_CHUNKED_END_LF,        /* CR of the final empty line seen */
    HTTP_CHUNKED_DONE,          /* body complete; later bytes belong to the next request */
    HTTP_CHUNKED_ERROR,         /* status and detail say why */
};

struct http_chunked {
    enum http_chunked_state state;
    uint64_t chunk_left;      /* data bytes left in this chunk; the size while reading it */
    uint64_t total;           /* decoded bytes so far, including the current chunk's size */
    uint64_t max_body;        /* a larger total answers 413 before its data is read */
    size_t line_bytes;        /* bytes of the current size line */
    size_t trailer_bytes;     /* bytes of all trailers so far */
    size_t max_trailer_bytes; /* more answers 431, like a head */
    unsigned digits;          /* hex digits of the current size */
    int status;               /* on HTTP_CHUNKED_ERROR: 400, 413 or 431 */
    const char *detail;
};

void http_chunked_init(struct http_chunked *c, const struct http_limits *lim);

/* Consumes a prefix of in and returns its length. When that prefix contains body data,
 * *data and *data_len name it (a span inside in) and the call stops right after it;
 * otherwise *data_len is 0. Call again with the rest until everything is consumed or the
 * state is HTTP_CHUNKED_DONE or HTTP_CHUNKED_ERROR. */
size_t http_chunked_feed(struct http_chunked *c, const char *in, size_t len, const char **data,
                         size_t *data_len);

#endif
