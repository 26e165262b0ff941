/* http: the HTTP/1.1 server on libevent bufferevents. Owns sockets, parsing, limits,
 * keep-alive, timeouts and writing responses. Knows nothing of routes, JSON or the database:
 * it hands each complete request to one callback and waits for exactly one reply. */
#ifndef LOGEER_HTTP_H
#define LOGEER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_server;
struct http_request;

enum http_method {
    HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_OPTIONS,
    HTTP_METHOD_OTHER
};

struct http_header {
    char *name;  /* as sent; compare case-insensitively */
    char *value; /* leading/trailing white space removed */
};

/* Limits are explicit so that a hostile client cannot make the server hold unbounded memory
 * or a connection forever. Zero means "use the default" given in the comment. */
struct http_limits {
    size_t max_body;           /* 1 MiB; larger bodies answer 413 */
    size_t max_header_bytes;   /* 16 KiB for request line + headers; larger answers 431 */
    size_t max_headers;        /* 100 header lines; more answers 431 */
    unsigned header_timeout_ms;  /* 10 s to receive a whole request head (slowloris) */
    unsigned body_timeout_ms;    /* 30 s to receive the body once the head is in */
    unsigned idle_timeout_ms;    /* 60 s between requests on a keep-alive connection */
    unsigned write_timeout_ms;   /* 30 s for the peer to take our response */
    unsigned max_connections;    /* 4096; beyond that new connections are closed at once */
};

/* The request as the handler sees it. All memory belongs to the server and stays valid until
 * http_reply*() has been called, even if the client goes away meanwhile (then the reply is
 * silently dropped, and on_done still reports it). The client counts as gone when its
 * connection closes or resets, or when it shuts its sending side while the request is with
 * the handler (nginx treats a half-close the same way); requests it pipelined behind this one
 * are then dropped unanswered. The body is complete before the handler sees the request. */
struct http_request {
    enum http_method method;
    char *method_name;          /* as sent, e.g. "GET" */
    char *target;               /* raw request target, e.g. "/v1/x?a=b" */
    char *path;                 /* percent-decoded path, no query */
    char *query;                /* raw query string after '?', or NULL */
    struct http_header *headers;
    size_t nheaders;
    char *body;                 /* NUL-terminated for convenience; body_len excludes the NUL */
    size_t body_len;
    char request_id[65];        /* X-Request-Id echoed if 1-64 of [A-Za-z0-9._-], else 32
                                   generated hex digits */
    char peer[64];              /* remote address as text */
    uint64_t start_ns;          /* monotonic time the head was complete */
    bool tls;                   /* arrived over TLS */
    void *user;                 /* free for the handler; the server never touches it */
};

/* Called once per complete request. The handler must answer it exactly once, now or later
 * from another callback on the same event loop: with http_reply() (every api_reply_* of the
 * api layer ends there) or with a stream (http_stream_start ... http_stream_end). */
typedef void (*http_request_cb)(struct http_request *req, void *arg);

/* Called after a reply has been written to the socket buffer (or dropped because the client
 * left): status and duration, for access logs and metrics. Exactly once per request handed to
 * the handler, and also for the errors the server answers itself (400, 408, 413, 414, 431, 501,
 * 503, 505); for those that came before a head could be parsed, method is HTTP_METHOD_OTHER
 * and method_name, target and path are NULL. */
typedef void (*http_done_cb)(const struct http_request *req, int status, uint64_t duration_ns,
                             void *arg);

struct http_server *http_server_new(struct event_base *base, const struct http_limits *limits,
                                    http_request_cb on_request, http_done_cb on_done, void *arg);

/* Renders the application/problem+json body of an answer the server gives itself (a
 * malformed or oversized head, a body over the limit, a timeout, a shutdown, too many
 * connections) into buf, NUL-terminated, and returns its length (0 when it does not fit). The
 * api layer supplies it, so that these answers use the same problem types as every other. */
typedef size_t (*http_problem_cb)(int status, const char *detail, char *buf, size_t size);

/* Without a renderer the server's own error answers have no body. */
void http_server_set_problem_body(struct http_server *srv, http_problem_cb cb);

/* Binds "host:port" and starts accepting. ssl_ctx (an SSL_CTX *, or NULL for plain HTTP)
 * makes every connection TLS-only. Returns 0 or -1 with a message on stderr. */
__attribute__((warn_unused_result))
int http_server_listen(struct http_server *srv, const char *hostport, void *ssl_ctx);
/* Before http_server_listen: let several processes listen on the same port (SO_REUSEPORT),
 * the kernel spreading connections over them. Off by default, so that a second server started
 * on a taken port by mistake fails instead of taking half the connections. */
void http_server_set_reuse_port(struct http_server *srv, bool on);

/* on: every answer carries Strict-Transport-Security, also on plain connections, because TLS
 * ends at a proxy in front and browsers reach us over HTTPS all the same (they honour the
 * header only on an HTTPS answer). Off (the default): only answers over our own TLS carry it. */
void http_server_set_hsts(struct http_server *srv, bool on);

/* Stops accepting, closes idle connections, lets in-flight requests finish. When the last
 * one is done, done_cb(arg) runs (it usually breaks the event loop). Requests whose client
 * already left count as in flight until their handler replies. Streams are ended at once:
 * their on_close runs and the last chunk is sent. A connection still receiving a body is
 * answered 503. done_cb always runs from the loop, never from inside this call. */
void http_server_shutdown(struct http_server *srv, void (*done_cb)(void *), void *arg);

/* Frees the server, every connection and every request, including requests a handler still
 * holds (streams get their on_close first). Call it after done_cb, or when no handler will
 * reply any more; never from inside a callback of this server. */
void http_server_free(struct http_server *srv);

/* The port the server listens on (useful after listening on port 0), or -1. */
int http_server_port(const struct http_server *srv);

/* Number of open connections and requests in flight, for /metrics. */
void http_server_stats(const struct http_server *srv, unsigned *connections, unsigned *in_flight);

/* Case-insensitive header lookup; first match or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);

/* Adds a response header for the coming reply (copied). A name that is not a token or a
 * value with CR or LF is dropped with a warning: it could forge headers. */
void http_reply_header(struct http_request *req, const char *name, const char *value);

/* Sends the response and releases the request. body may be NULL when len is 0. For HEAD the
 * body is omitted but Content-Length is kept. Content-Type is set from content_type when not
 * NULL. 204 and 304 get neither body nor Content-Length. An invalid status becomes 500.
 * A second reply to the same request is ignored with an error log. */
void http_reply(struct http_request *req, int status, const char *content_type, const char *body,
                size_t len);

/* Streaming replies (Server-Sent Events): send the head with chunked encoding, then chunks,
 * then end. Instead of http_reply, the handler calls http_stream_start once, then
 * http_stream_chunk any number of times (empty chunks are skipped), then http_stream_end,
 * after which the request is finished like a reply and must not be touched.
 * on_close(req, arg) runs if the client goes away (from the loop) or the server shuts down
 * (from inside http_server_shutdown or http_server_free) before http_stream_end; the request
 * is freed after on_close returns, so the handler must forget it there and must not call
 * http_stream_* on it again. An HTTP/1.0 client gets
 * the data unchunked and the connection closes at the end. */
void http_stream_start(struct http_request *req, int status, const char *content_type,
                       void (*on_close)(struct http_request *, void *), void *arg);
void http_stream_chunk(struct http_request *req, const char *data, size_t len);
void http_stream_end(struct http_request *req);

const char *http_status_reason(int status);
enum http_method http_method_from_name(const char *name, size_t len);
const char *http_method_name(enum http_method m);

#endif
