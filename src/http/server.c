/* http/server.c: connections, limits, deadlines and responses of the HTTP/1.1 server on
 * libevent bufferevents. It hands each complete request to one callback and writes exactly one
 * reply for it; it never interprets routes, JSON or the database, and never blocks the loop.
 * The bodies of the errors it answers itself come from the caller's problem renderer. */
#include "logeer/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "logeer/clock.h"
#include "logeer/fmt.h"
#include "logeer/http_parse.h"
#include "logeer/log.h"

/* How long a closing connection keeps draining what the client still sends, so that the
 * client reads our final response instead of a TCP reset caused by unread input. */
#define HTTP_LINGER_MS 2000u
/* Input buffered beyond a request head while a handler works; reading pauses past this. */
#define HTTP_READ_SLACK ((size_t)64 << 10)
/* The most one read of a plain connection takes from the socket (libevent's own default). */
#define HTTP_READ_CHUNK 16384
#define HTTP_ACCEPT_RETRY_MS 100u
/* Connections the kernel queues for accept(). libevent's default (-1) is 128, which a burst
 * of connects overflows while the loop is busy: the kernel then drops SYNs and every client
 * in the burst, well-behaved ones included, waits a full second for its retransmit. The
 * kernel caps this at net.core.somaxconn. */
#define HTTP_LISTEN_BACKLOG 1024

enum conn_state {
    CONN_IDLE,      /* between requests: idle deadline armed, no request byte yet */
    CONN_HEAD,      /* reading a request head: absolute head deadline armed */
    CONN_BODY,      /* reading a body: absolute body deadline armed */
    CONN_HANDLER,   /* request is with the handler; later input waits in the buffer */
    CONN_STREAMING, /* the handler sends a chunked reply piece by piece */
    CONN_WRITING,   /* reply queued; waiting for the output buffer to drain */
    CONN_CLOSING,   /* the server's own error reply queued; close once it has drained */
    CONN_LINGER,    /* final reply sent: discard input until EOF or the linger deadline */
};

enum ex_state {
    EX_READING,    /* body still arriving; the handler has not seen the request */
    EX_HANDLER,    /* with the handler, which owes exactly one reply */
    EX_STREAMING,  /* stream head sent; the handler owes chunks and an end */
    EX_REPLIED,    /* reply queued (or stream over); only the drain or a loss is left */
};

struct http_conn;

/* One request/response exchange. The public request is the first member so that the handler's
 * pointer converts back. Head, decoded path and header array share this one allocation. */
struct http_exchange {
    struct http_request pub;
    struct http_server *srv;
    struct http_conn *conn;        /* NULL once orphaned: the client left before the reply */
    enum ex_state state;
    bool counted;                  /* included in srv->in_flight */
    bool keep_alive;               /* the client allows another request after this one */
    bool chunked_reply;            /* streaming with chunked framing (HTTP/1.1 clients) */
    int version_minor;
    int status;                    /* of the reply, for on_done */
    size_t body_cap;               /* allocated size of pub.body when it is not empty_body */
    char *reply_headers;           /* "Name: value\r\n" lines from http_reply_header */
    size_t reply_headers_len;
    size_t reply_headers_cap;
    void (*on_close)(struct http_request *, void *); /* streaming: the client went away */
    void *close_arg;
    struct event *deferred_close;  /* streaming started on an orphan: on_close from the loop */
    struct http_exchange *orphan_prev, *orphan_next;
    char empty_body[1];            /* pub.body when there is none, so it is always a string */
};

struct http_conn {
    struct http_server *srv;
    struct bufferevent *bev;
    struct event *timer;           /* the single deadline of the current state */
    struct event *readable;        /* plain connections: the socket has bytes (conn_on_readable) */
    bool read_paused;              /* readable is off: the input is full until it is read */
    bool read_done;                /* end of input or an error: nothing more is read */
    enum conn_state state;
    struct http_exchange *ex;      /* the request being read, handled or written */
    struct http_chunked chunked;   /* body decoder when the request is chunked */
    bool chunked_body;             /* the body being read is chunked, not Content-Length */
    uint64_t body_left;            /* Content-Length bytes still to read */
    size_t scan_from;              /* where the search for the end of the head resumes */
    size_t head_lines;             /* line ends passed before scan_from */
    uint64_t head_start_ns;        /* first byte of the current head, for error durations */
    bool tls;
    bool close_after;              /* no further request on this connection */
    bool peer_eof;                 /* the client has shut its sending side */
    char peer[64];
    struct http_conn *prev, *next;
};

struct http_server {
    struct event_base *base;
    struct http_limits lim;        /* with defaults filled in */
    http_request_cb on_request;
    http_done_cb on_done;
    void *arg;
    struct evconnlistener *listener;
    bool reuse_port;               /* SO_REUSEPORT: other processes serve the same port */
    bool hsts;                     /* HSTS on plain connections too (TLS at a proxy in front) */
    struct event *accept_retry;    /* re-enables accepting after running out of descriptors */
    SSL_CTX *ssl_ctx;              /* NULL for plain HTTP */
    int port;                      /* bound port, for tests that listen on port 0 */
    struct http_conn *conns;       /* every open connection */
    struct http_exchange *orphans; /* requests whose client left while a handler works */
    unsigned nconns;
    unsigned in_flight;            /* handed to the handler and not yet fully answered */
    bool shutting_down;
    bool done_scheduled;
    void (*done_cb)(void *);
    void *done_arg;
    struct event *done_ev;
    uint64_t rng;                  /* request id generator state; not cryptographic */
    http_problem_cb problem_body;  /* renders the bodies of our own error answers */
    char refusal[512];             /* the whole 503 for connections over the limit */
    size_t refusal_len;
    time_t date_sec;               /* second the cached Date value was formatted for */
    char date[40];
};

static void conn_process(struct http_conn *conn);
static void conn_free(struct http_conn *conn);
static void conn_arm(struct http_conn *conn, unsigned ms);

/* ---- small helpers ------------------------------------------------------------------------ */

static struct timeval http_tv_ms(unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000};
    return tv;
}

/* The Date header changes once a second; formatting it per response would waste the time. */
static const char *srv_date(struct http_server *srv)
{
    time_t now = time(NULL);
    if (now != srv->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(srv->date, sizeof(srv->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        srv->date_sec = now;
    }
    return srv->date;
}

/* xorshift64*: request ids only need to be unique in practice, not unpredictable. */
static uint64_t srv_random(struct http_server *srv)
{
    uint64_t x = srv->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    srv->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void srv_seed(struct http_server *srv)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
        seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ clock_monotonic_ns();
    srv->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

static bool http_request_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > 64)
        return false;
    for (const char *p = id; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static void ex_set_request_id(struct http_exchange *ex)
{
    const char *given = http_request_header(&ex->pub, "X-Request-Id");
    if (given && http_request_id_ok(given)) {
        snprintf(ex->pub.request_id, sizeof(ex->pub.request_id), "%s", given);
        return;
    }
    uint64_t a = srv_random(ex->srv);
    uint64_t b = srv_random(ex->srv);
    _Static_assert(sizeof(ex->pub.request_id) > 32, "a generated request id is 32 hex digits");
    *fmt_hex64(fmt_hex64(ex->pub.request_id, a), b) = '\0';
}

/* ---- exchanges ------------------------------------------------------------------------------ */

/* Allocates an exchange with room for a head of head_len bytes, its decoded path and up to
 * nheaders header entries, in one block. */
static struct http_exchange *ex_new(struct http_conn *conn, size_t head_len, size_t nheaders)
{
    size_t hdr_off = (sizeof(struct http_exchange) + alignof(struct http_header) - 1) &
                     ~(alignof(struct http_header) - 1);
    size_t head_off = hdr_off + nheaders * sizeof(struct http_header);
    size_t path_off = head_off + head_len + 1;
    char *block = malloc(path_off + head_len + 1);
    if (!block)
        return NULL;
    struct http_exchange *ex = (struct http_exchange *)block;
    memset(ex, 0, sizeof(*ex));
    ex->srv = conn->srv;
    ex->conn = conn;
    ex->state = EX_READING;
    ex->version_minor = 1;
    ex->pub.method = HTTP_METHOD_OTHER;
    ex->pub.headers = (struct http_header *)(block + hdr_off);
    ex->pub.body = ex->empty_body;
    ex->pub.tls = conn->tls;
    /* Replaced once the head is complete; until then errors count from the first byte. */
    ex->pub.start_ns = conn->head_start_ns ? conn->head_start_ns : clock_monotonic_ns();
    memcpy(ex->pub.peer, conn->peer, sizeof(ex->pub.peer));
    block[head_off] = '\0';
    block[path_off] = '\0';
    return ex;
}

static char *ex_head_buf(struct http_exchange *ex, size_t nheaders)
{
    return (char *)(ex->pub.headers + nheaders);
}

static void srv_orphan_unlink(struct http_server *srv, struct http_exchange *ex)
{
    if (ex->orphan_prev)
        ex->orphan_prev->orphan_next = ex->orphan_next;
    else if (srv->orphans == ex)
        srv->orphans = ex->orphan_next;
    if (ex->orphan_next)
        ex->orphan_next->orphan_prev = ex->orphan_prev;
    ex->orphan_prev = ex->orphan_next = NULL;
}

/* Releases the memory only; callers decide about callbacks first. */
static void ex_free(struct http_exchange *ex)
{
    struct http_server *srv = ex->srv;
    if (ex->counted) {
        srv->in_flight--;
        ex->counted = false;
    }
    srv_orphan_unlink(srv, ex);
    if (ex->deferred_close)
        event_free(ex->deferred_close);
    if (ex->pub.body != ex->empty_body)
        free(ex->pub.body);
    free(ex->reply_headers);
    free(ex);
}

static void srv_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *srv = arg;
    if (srv->done_cb)
        srv->done_cb(srv->done_arg);
}

/* After a shutdown, done_cb runs from the loop (never from inside a reply) once nothing is in
 * flight any more. */
static void srv_check_drained(struct http_server *srv)
{
    if (!srv->shutting_down || srv->done_scheduled || srv->in_flight > 0)
        return;
    srv->done_scheduled = true;
    struct timeval zero = {0, 0};
    evtimer_add(srv->done_ev, &zero);
}

/* The exchange is over: report it, then free it. */
static void ex_finish(struct http_exchange *ex)
{
    struct http_server *srv = ex->srv;
    if (srv->on_done)
        srv->on_done(&ex->pub, ex->status, clock_monotonic_ns() - ex->pub.start_ns, srv->arg);
    ex_free(ex);
    srv_check_drained(srv);
}

/* ---- writing responses ------------------------------------------------------------------------ */

static bool http_status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

static bool conn_will_close(const struct http_conn *conn, const struct http_exchange *ex)
{
    return !ex->keep_alive || conn->close_after || conn->peer_eof || conn->srv->shutting_down;
}

/* The status line and headers of a reply, formatted in one piece. */
struct reply_head {
    char *text;
    size_t len;
    char small[1024];              /* room for every head without extra headers of a handler */
};

/* Formats the status line and headers. length < 0 means none (streaming or no-body status).
 * extra_line (may be NULL) is one more header line of the server's own, such as the chunked
 * framing of a stream. Returns false when out of memory. */
static bool conn_format_head(struct http_conn *conn, struct http_exchange *ex, int status,
                             const char *content_type, long long length, const char *extra_line,
                             struct reply_head *h)
{
    bool closing = conn_will_close(conn, ex);
    if (closing)
        conn->close_after = true;
    const char *reason = http_status_reason(status);
    size_t cap = 400 + strlen(reason) + strlen(ex->pub.request_id) + ex->reply_headers_len +
                 (content_type ? strlen(content_type) : 0) + (extra_line ? strlen(extra_line) : 0);
    h->text = cap <= sizeof(h->small) ? h->small : malloc(cap);
    if (!h->text)
        return false;
    /* Pieces copied into the room counted above (the fixed ones and the numbers take less
     * than its 400 bytes). */
    char *p = fmt_lit(h->text, "HTTP/1.1 ");
    p = fmt_uint(p, (unsigned)status);
    *p++ = ' ';
    p = fmt_str(p, reason);
    p = fmt_lit(p, "\r\nDate: ");
    p = fmt_str(p, srv_date(conn->srv));
    p = fmt_lit(p, "\r\nX-Request-Id: ");
    p = fmt_str(p, ex->pub.request_id);
    p = fmt_lit(p, "\r\n");
    if (length >= 0) {
        p = fmt_lit(p, "Content-Length: ");
        p = fmt_int(p, length);
        p = fmt_lit(p, "\r\n");
    }
    if (extra_line) {
        p = fmt_str(p, extra_line);
        p = fmt_lit(p, "\r\n");
    }
    if (content_type) {
        p = fmt_lit(p, "Content-Type: ");
        p = fmt_str(p, content_type);
        p = fmt_lit(p, "\r\n");
    }
    /* HSTS on every TLS response, errors included: a browser that once reached us over TLS
     * must never again try plain HTTP, where a caregiver's token could be read. */
    if (conn->tls || conn->srv->hsts)
        p = fmt_lit(p, "Strict-Transport-Security: max-age=63072000\r\n");
    p = fmt_bytes(p, ex->reply_headers, ex->reply_headers_len);
    if (closing)
        p = fmt_lit(p, "Connection: close\r\n\r\n");
    else if (ex->version_minor == 0)
        p = fmt_lit(p, "Connection: keep-alive\r\n\r\n");
    else
        p = fmt_lit(p, "\r\n");
    *p = '\0';
    h->len = (size_t)(p - h->text);
    return true;
}

static void reply_head_free(struct reply_head *h)
{
    if (h->text != h->small)
        free(h->text);
}

/* Writes the status line and headers to the connection's output (see conn_format_head). */
static void conn_add_head(struct http_conn *conn, struct http_exchange *ex, int status,
                          const char *content_type, long long length, const char *extra_line)
{
    struct reply_head h;
    if (!conn_format_head(conn, ex, status, content_type, length, extra_line, &h))
        return;
    evbuffer_add(bufferevent_get_output(conn->bev), h.text, h.len);
    reply_head_free(&h);
}

/* The body of one of our own error answers, or 0 bytes when no renderer was set. */
static size_t srv_problem_body(const struct http_server *srv, int status, const char *detail,
                               char *buf, size_t size)
{
    if (!srv->problem_body)
        return 0;
    size_t n = srv->problem_body(status, detail ? detail : "", buf, size);
    return n < size ? n : 0;
}

/* Out of memory for an exchange: nothing can be answered, so the connection goes. Not freed
 * here: the caller may be conn_process, which looks at the connection's state after each
 * step; it lingers for no time and the timer frees it from the loop. */
static void conn_drop(struct http_conn *conn)
{
    conn->close_after = true;
    conn->state = CONN_LINGER;
    shutdown(bufferevent_getfd(conn->bev), SHUT_RDWR);
    conn_arm(conn, 0);
}

/* Answers a protocol error as problem+json and closes after flushing. The exchange may be one
 * whose head parsed, or a bare one made for the error. */
static void conn_fail(struct http_conn *conn, int status, const char *detail)
{
    struct http_exchange *ex = conn->ex;
    if (!ex) {
        ex = ex_new(conn, 0, 0);
        if (!ex) {
            conn_drop(conn);
            return;
        }
        ex_set_request_id(ex);
        conn->ex = ex;
    }
    char body[1024];
    size_t n = srv_problem_body(conn->srv, status, detail, body, sizeof(body));
    ex->status = status;
    ex->state = EX_REPLIED;
    ex->reply_headers_len = 0;
    conn->close_after = true;
    conn->state = CONN_CLOSING;
    evtimer_del(conn->timer);
    /* Only a shutdown answers 503 here; a client may come back a moment later. */
    conn_add_head(conn, ex, status, n ? "application/problem+json" : NULL, (long long)n,
                  status == 503 ? "Retry-After: 1" : NULL);
    if (n && ex->pub.method != HTTP_HEAD)
        evbuffer_add(bufferevent_get_output(conn->bev), body, n);
}

/* Sends a reply's head and body. On a plain connection with nothing queued before them they go
 * to the socket at once, in one system call; only what the socket does not take is queued in
 * the output for the bufferevent to write when it can. The queued way alone costs two more
 * system calls a reply (turning the write event on and off again) and a pass of the loop; this
 * is how Redis answers too. The end of the reply is announced from the loop either way, never
 * inside the handler's own call. */
static void conn_send(struct http_conn *conn, const char *head, size_t head_len, const char *body,
                      size_t body_len)
{
    struct evbuffer *out = bufferevent_get_output(conn->bev);
    size_t sent = 0;
    if (!conn->tls && evbuffer_get_length(out) == 0) {
        struct iovec iov[2] = {{(void *)head, head_len}, {(void *)body, body_len}};
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = body_len ? 2 : 1};
        ssize_t n = sendmsg(bufferevent_getfd(conn->bev), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        /* An error is left to the bufferevent's own write, which reports it as usual. */
        sent = n > 0 ? (size_t)n : 0;
    }
    if (sent < head_len)
        evbuffer_add(out, head + sent, head_len - sent);
    size_t body_sent = sent > head_len ? sent - head_len : 0;
    if (body_sent < body_len)
        evbuffer_add(out, body + body_sent, body_len - body_sent);
    if (evbuffer_get_length(out) == 0)
        bufferevent_trigger(conn->bev, EV_WRITE,
                            BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void http_reply_header(struct http_request *req, const char *name, const char *value)
{
    struct http_exchange *ex = (struct http_exchange *)req;
    if (ex->state != EX_HANDLER)
        return;
    /* A CR or LF here would let a value smuggle in extra headers or a second response. */
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == ':' || (unsigned char)*p >= 0x7f)
            goto bad;
    for (const char *p = value; *p; p++)
        if (*p == '\r' || *p == '\n' || *p == '\0')
            goto bad;
    size_t need = strlen(name) + strlen(value) + 4;
    if (!*name)
        goto bad;
    if (ex->reply_headers_len + need + 1 > ex->reply_headers_cap) {
        size_t cap = ex->reply_headers_cap ? ex->reply_headers_cap * 2 : 256;
        while (cap < ex->reply_headers_len + need + 1)
            cap *= 2;
        char *p = realloc(ex->reply_headers, cap);
        if (!p)
            return;
        ex->reply_headers = p;
        ex->reply_headers_cap = cap;
    }
    ex->reply_headers_len += (size_t)snprintf(ex->reply_headers + ex->reply_headers_len,
                                              ex->reply_headers_cap - ex->reply_headers_len,
                                              "%s: %s\r\n", name, value);
    return;
bad:
    log_warn("http: dropped invalid response header %.64s", name);
}

static bool http_content_type_ok(const char *ct)
{
    for (const char *p = ct; *p; p++)
        if (*p == '\r' || *p == '\n')
            return false;
    return true;
}

void http_reply(struct http_request *req, int status, const char *content_type, const char *body,
                size_t len)
{
    struct http_exchange *ex = (struct http_exchange *)req;
    if (ex->state != EX_HANDLER) {
        log_error("http: reply to a request that was already answered (status %d)", status);
        return;
    }
    if (status < 100 || status > 599) {
        log_error("http: handler replied with invalid status %d", status);
        status = 500;
        content_type = NULL;
        len = 0;
    }
    ex->status = status;
    ex->state = EX_REPLIED;
    struct http_conn *conn = ex->conn;
    if (!conn) {
        ex_finish(ex);
        return;
    }
    if (content_type && !http_content_type_ok(content_type))
        content_type = NULL;
    bool has_body = http_status_has_body(status);
    struct reply_head h;
    if (!conn_format_head(conn, ex, status, content_type, has_body ? (long long)len : -1, NULL,
                          &h)) {
        /* Out of memory: no answer can be made; the connection closes once the loop comes
         * back to it, so the client is not left waiting. */
        conn->close_after = true;
        conn->state = CONN_WRITING;
        conn_send(conn, "", 0, NULL, 0);
        return;
    }
    if (!has_body || ex->pub.method == HTTP_HEAD)
        len = 0;
    conn->state = CONN_WRITING;
    conn_send(conn, h.text, h.len, body, len);
    reply_head_free(&h);
}

/* ---- streaming ---------------------------------------------------------------------------- */

static void ex_deferred_close_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_exchange *ex = arg;
    ex->state = EX_REPLIED;
    if (ex->on_close)
        ex->on_close(&ex->pub, ex->close_arg);
    ex_finish(ex);
}

void http_stream_start(struct http_request *req, int status, const char *content_type,
                       void (*on_close)(struct http_request *, void *), void *arg)
{
    struct http_exchange *ex = (struct http_exchange *)req;
    if (ex->state != EX_HANDLER) {
        log_error("http: stream started on a request that was already answered");
        return;
    }
    ex->status = status;
    ex->state = EX_STREAMING;
    ex->on_close = on_close;
    ex->close_arg = arg;
    struct http_conn *conn = ex->conn;
    if (!conn) {
        /* The client is already gone; tell the handler from the loop, not from inside this
         * call, so that it has finished setting up whatever on_close tears down. */
        ex->deferred_close = evtimer_new(ex->srv->base, ex_deferred_close_cb, ex);
        struct timeval zero = {0, 0};
        if (ex->deferred_close)
            evtimer_add(ex->deferred_close, &zero);
        return;
    }
    if (content_type && !http_content_type_ok(content_type))
        content_type = NULL;
    /* HTTP/1.0 has no chunked coding: the stream is delimited by closing the connection. */
    ex->chunked_reply = ex->version_minor == 1;
    if (!ex->chunked_reply)
        ex->keep_alive = false;
    conn_add_head(conn, ex, status, content_type, -1,
                  ex->chunked_reply ? "Transfer-Encoding: chunked" : NULL);
    conn->state = CONN_STREAMING;
}

void http_stream_chunk(struct http_request *req, const char *data, size_t len)
{
    struct http_exchange *ex = (struct http_exchange *)req;
    if (ex->state != EX_STREAMING || !ex->conn || len == 0 || ex->pub.method == HTTP_HEAD)
        return;
    struct evbuffer *out = bufferevent_get_output(ex->conn->bev);
    if (ex->chunked_reply)
        evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, data, len);
    if (ex->chunked_reply)
        evbuffer_add(out, "\r\n", 2);
}

static void conn_stream_finish(struct http_conn *conn, struct http_exchange *ex)
{
    if (ex->chunked_reply && ex->pub.method != HTTP_HEAD)
        evbuffer_add(bufferevent_get_output(conn->bev), "0\r\n\r\n", 5);
    ex->state = EX_REPLIED;
    conn->state = CONN_WRITING;
    /* With nothing left to write no write callback would come; ask for one from the loop, so
     * that the exchange never ends inside the handler's own call. */
    if (evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0)
        bufferevent_trigger(conn->bev, EV_WRITE,
                            BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void http_stream_end(struct http_request *req)
{
    struct http_exchange *ex = (struct http_exchange *)req;
    if (ex->state != EX_STREAMING)
        return;
    if (!ex->conn) {
        ex->state = EX_REPLIED;
        ex_finish(ex);
        return;
    }
    conn_stream_finish(ex->conn, ex);
}

/* ---- connection lifecycle ----------------------------------------------------------------- */

static void conn_arm(struct http_conn *conn, unsigned ms)
{
    struct timeval tv = http_tv_ms(ms);
    evtimer_add(conn->timer, &tv);
}

/* The input a plain connection holds before it stops reading: a head at its limit and the
 * slack. TLS connections hold the same through the bufferevent's watermark. */
static size_t conn_read_high(const struct http_conn *conn)
{
    return conn->srv->lim.max_header_bytes + HTTP_READ_SLACK;
}

/* Reading paused on a full input goes on once the input was read below the mark. */
static void conn_read_resume(struct http_conn *conn)
{
    if (!conn->read_paused || conn->read_done ||
        evbuffer_get_length(bufferevent_get_input(conn->bev)) >= conn_read_high(conn))
        return;
    conn->read_paused = false;
    event_add(conn->readable, NULL);
}

static void conn_unlink(struct http_conn *conn)
{
    struct http_server *srv = conn->srv;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        srv->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    srv->nconns--;
}

/* Frees the connection and any exchange still attached to it, without callbacks. */
static void conn_free(struct http_conn *conn)
{
    conn_unlink(conn);
    if (conn->ex)
        ex_free(conn->ex);
    if (conn->readable)
        event_free(conn->readable);
    bufferevent_free(conn->bev);
    event_free(conn->timer);
    free(conn);
}

/* The client left while a handler still holds the request: keep the request for the handler
 * and let the connection go. http_reply then only reports and frees it. */
static void conn_orphan(struct http_conn *conn)
{
    struct http_exchange *ex = conn->ex;
    struct http_server *srv = conn->srv;
    conn->ex = NULL;
    ex->conn = NULL;
    ex->orphan_prev = NULL;
    ex->orphan_next = srv->orphans;
    if (srv->orphans)
        srv->orphans->orphan_prev = ex;
    srv->orphans = ex;
    conn_free(conn);
}

/* The connection is unusable (EOF mid-request, reset, write timeout): settle the exchange by
 * state and free it. */
static void conn_lost(struct http_conn *conn)
{
    struct http_exchange *ex = conn->ex;
    switch (conn->state) {
    case CONN_HANDLER:
        conn_orphan(conn);
        return;
    case CONN_STREAMING:
        conn->ex = NULL;
        ex->conn = NULL;
        ex->state = EX_REPLIED;
        if (ex->on_close)
            ex->on_close(&ex->pub, ex->close_arg);
        ex_finish(ex);
        break;
    case CONN_WRITING:
    case CONN_CLOSING:
        conn->ex = NULL;
        ex->conn = NULL;
        ex_finish(ex);
        break;
    default:
        break;
    }
    conn_free(conn);
}

/* Stop sending and drain what the client still has in flight for a moment, so our last
 * response is read rather than destroyed by a reset. TLS keeps its write side: shutting the
 * socket under it would cut the record stream. */
static void conn_linger(struct http_conn *conn)
{
    if (conn->peer_eof) {
        conn_free(conn);
        return;
    }
    conn->state = CONN_LINGER;
    if (!conn->tls)
        shutdown(bufferevent_getfd(conn->bev), SHUT_WR);
    evbuffer_drain(bufferevent_get_input(conn->bev),
                   evbuffer_get_length(bufferevent_get_input(conn->bev)));
    conn_read_resume(conn);
    conn_arm(conn, HTTP_LINGER_MS);
}

/* Ready for the next request: pipelined bytes may already be waiting. */
static void conn_next(struct http_conn *conn)
{
    conn->state = CONN_IDLE;
    conn_arm(conn, conn->srv->lim.idle_timeout_ms);
    conn_process(conn);
    conn_read_resume(conn);
    if (conn->peer_eof &&
        (conn->state == CONN_IDLE || conn->state == CONN_HEAD || conn->state == CONN_BODY))
        conn_free(conn);
}

/* The reply (or stream end) has left the output buffer. */
static void conn_reply_flushed(struct http_conn *conn)
{
    struct http_exchange *ex = conn->ex;
    conn->ex = NULL;
    ex->conn = NULL;
    /* The state stays CONN_WRITING during on_done, so a shutdown started from there treats
     * this connection as busy rather than freeing it under us. */
    ex_finish(ex);
    if (conn->close_after || conn->srv->shutting_down)
        conn_linger(conn);
    else
        conn_next(conn);
}

static void conn_error_flushed(struct http_conn *conn)
{
    struct http_exchange *ex = conn->ex;
    conn->ex = NULL;
    ex->conn = NULL;
    ex_finish(ex);
    conn_linger(conn);
}

/* ---- reading requests -------------------------------------------------------------------- */

static void conn_dispatch(struct http_conn *conn)
{
    struct http_exchange *ex = conn->ex;
    struct http_server *srv = conn->srv;
    evtimer_del(conn->timer);
    ex->state = EX_HANDLER;
    ex->counted = true;
    srv->in_flight++;
    if (!ex->keep_alive)
        conn->close_after = true;
    conn->state = CONN_HANDLER;
    srv->on_request(&ex->pub, srv->arg);
}

static void conn_send_continue(struct http_conn *conn)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    evbuffer_add(bufferevent_get_output(conn->bev), msg, sizeof(msg) - 1);
}

/* Head parsed: choose how to read the body, or hand the request over when there is none. */
static void conn_start_body(struct http_conn *conn, const struct http_head *head)
{
    struct http_exchange *ex = conn->ex;
    const struct http_limits *lim = &conn->srv->lim;
    if (head->framing == HTTP_FRAMING_NONE ||
        (head->framing == HTTP_FRAMING_LENGTH && head->content_length == 0)) {
        conn_dispatch(conn);
        return;
    }
    if (head->framing == HTTP_FRAMING_LENGTH) {
        /* Refused before a byte of it is read, so a client cannot make us buffer it. */
        if (head->content_length > lim->max_body) {
            conn_fail(conn, 413, "request body larger than the limit");
            return;
        }
        ex->pub.body = malloc((size_t)head->content_length + 1);
        if (!ex->pub.body) {
            ex->pub.body = ex->empty_body;
            conn_fail(conn, 413, "request body cannot be buffered");
            return;
        }
        ex->body_cap = (size_t)head->content_length + 1;
        conn->body_left = head->content_length;
        conn->chunked_body = false;
    } else {
        http_chunked_init(&conn->chunked, lim);
        conn->chunked_body = true;
    }
    if (head->expect_continue)
        conn_send_continue(conn);
    conn->state = CONN_BODY;
    conn_arm(conn, lim->body_timeout_ms);
}

static void ex_take_head(struct http_exchange *ex, const struct http_head *head)
{
    ex->pub.method = head->method;
    ex->pub.method_name = head->method_name;
    ex->pub.target = head->target;
    ex->pub.path = head->path;
    ex->pub.query = head->query;
    ex->pub.nheaders = head->nheaders;
    ex->version_minor = head->version_minor;
    ex->keep_alive = head->keep_alive;
    ex->pub.start_ns = clock_monotonic_ns();
    ex_set_request_id(ex);
}

/* Looks for the empty line ending the head without copying the buffer: only bytes not seen
 * before are searched, so a head trickled in byte by byte costs linear time. Counts the lines
 * passed on the way (an upper bound for the header array). Returns the head's length or 0. */
static size_t conn_find_head_end(struct http_conn *conn, struct evbuffer *in, size_t limit)
{
    struct evbuffer_ptr pos;
    struct evbuffer_ptr stop;
    if (conn->scan_from >= limit || evbuffer_ptr_set(in, &pos, conn->scan_from,
                                                     EVBUFFER_PTR_SET) != 0 ||
        evbuffer_ptr_set(in, &stop, limit, EVBUFFER_PTR_SET) != 0)
        return 0;
    for (;;) {
        pos = evbuffer_search_range(in, "\n", 1, &pos, &stop);
        if (pos.pos < 0) {
            conn->scan_from = limit;
            return 0;
        }
        size_t at = (size_t)pos.pos;
        char t[3];
        ev_ssize_t n = evbuffer_copyout_from(in, &pos, t, sizeof(t));
        if (n >= 2 && t[1] == '\n')
            return at + 2;
        if (n >= 3 && t[1] == '\r' && t[2] == '\n')
            return at + 3;
        if (n < 2 || (n < 3 && t[1] == '\r')) {
            conn->scan_from = at; /* undecided until the next bytes arrive */
            return 0;
        }
        conn->head_lines++;
        conn->scan_from = at + 1;
        if (evbuffer_ptr_set(in, &pos, 1, EVBUFFER_PTR_ADD) != 0)
            return 0;
    }
}

/* Over the head limit without its end in sight. When no line end was passed at all, the
 * request line alone (in practice its target) is too long: RFC 9112 answers that with 414. */
static void conn_fail_head_too_large(struct http_conn *conn)
{
    if (conn->head_lines == 0)
        conn_fail(conn, 414, "request line longer than the limit");
    else
        conn_fail(conn, 431, "request head larger than the limit");
}

static void conn_read_head(struct http_conn *conn)
{
    struct evbuffer *in = bufferevent_get_input(conn->bev);
    const struct http_limits *lim = &conn->srv->lim;
    size_t avail = evbuffer_get_length(in);
    size_t look = avail < lim->max_header_bytes ? avail : lim->max_header_bytes;
    size_t end = conn_find_head_end(conn, in, look);
    if (!end) {
        if (avail >= lim->max_header_bytes)
            conn_fail_head_too_large(conn);
        return;
    }
    size_t lines = conn->head_lines;
    size_t cap = lines < lim->max_headers + 1 ? lines : lim->max_headers + 1;
    struct http_exchange *ex = ex_new(conn, end, cap);
    if (!ex) {
        conn_drop(conn);
        return;
    }
    conn->ex = ex;
    char *buf = ex_head_buf(ex, cap);
    evbuffer_remove(in, buf, end);
    buf[end] = '\0';
    conn->scan_from = 0;
    conn->head_lines = 0;
    struct http_head head = {
        .headers = ex->pub.headers,
        .headers_cap = cap,
        .path_buf = buf + end + 1,
        .path_cap = end + 1,
    };
    if (http_parse_head(buf, end, lim, &head) != 0) {
        /* Nothing of a broken head is trusted, not even its X-Request-Id. */
        ex->pub.nheaders = 0;
        ex_set_request_id(ex);
        conn_fail(conn, head.status, head.detail);
        return;
    }
    ex_take_head(ex, &head);
    conn_start_body(conn, &head);
}

static bool ex_body_append(struct http_exchange *ex, const char *data, size_t n)
{
    size_t need = ex->pub.body_len + n + 1;
    if (need > ex->body_cap) {
        size_t cap = ex->body_cap ? ex->body_cap : 1024;
        while (cap < need)
            cap *= 2;
        char *old = ex->pub.body == ex->empty_body ? NULL : ex->pub.body;
        char *nb = realloc(old, cap);
        if (!nb)
            return false;
        ex->pub.body = nb;
        ex->body_cap = cap;
    }
    memcpy(ex->pub.body + ex->pub.body_len, data, n);
    ex->pub.body_len += n;
    ex->pub.body[ex->pub.body_len] = '\0';
    return true;
}

static void conn_read_chunked(struct http_conn *conn)
{
    struct evbuffer *in = bufferevent_get_input(conn->bev);
    struct http_chunked *c = &conn->chunked;
    while (evbuffer_get_length(in) > 0 && c->state != HTTP_CHUNKED_DONE &&
           c->state != HTTP_CHUNKED_ERROR) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        const char *data;
        size_t data_len;
        size_t used = http_chunked_feed(c, v.iov_base, v.iov_len, &data, &data_len);
        if (data_len && !ex_body_append(conn->ex, data, data_len)) {
            conn_fail(conn, 413, "request body cannot be buffered");
            return;
        }
        evbuffer_drain(in, used);
    }
    if (c->state == HTTP_CHUNKED_ERROR)
        conn_fail(conn, c->status, c->detail);
    else if (c->state == HTTP_CHUNKED_DONE)
        conn_dispatch(conn);
}

static void conn_read_body(struct http_conn *conn)
{
    struct http_exchange *ex = conn->ex;
    if (conn->chunked_body) {
        conn_read_chunked(conn);
        return;
    }
    struct evbuffer *in = bufferevent_get_input(conn->bev);
    size_t avail = evbuffer_get_length(in);
    size_t n = avail < conn->body_left ? avail : (size_t)conn->body_left;
    if (n > 0) {
        evbuffer_remove(in, ex->pub.body + ex->pub.body_len, n);
        ex->pub.body_len += n;
        conn->body_left -= n;
    }
    if (conn->body_left == 0) {
        ex->pub.body[ex->pub.body_len] = '\0';
        conn_dispatch(conn);
    }
}

/* Empty lines before a request line are ignored (RFC 9112 2.2); the first real byte starts
 * the head deadline, so a client cannot trickle a head forever. */
static void conn_read_idle(struct http_conn *conn)
{
    struct evbuffer *in = bufferevent_get_input(conn->bev);
    while (evbuffer_get_length(in) > 0) {
        const unsigned char *p = evbuffer_pullup(in, 1);
        if (*p != '\r' && *p != '\n') {
            conn->state = CONN_HEAD;
            conn->scan_from = 0;
            conn->head_lines = 0;
            conn->head_start_ns = clock_monotonic_ns();
            conn_arm(conn, conn->srv->lim.header_timeout_ms);
            return;
        }
        evbuffer_drain(in, 1);
    }
}

/* Advances through as many states as the buffered input allows. */
static void conn_process(struct http_conn *conn)
{
    for (;;) {
        enum conn_state before = conn->state;
        switch (conn->state) {
        case CONN_IDLE:
            conn_read_idle(conn);
            break;
        case CONN_HEAD:
            conn_read_head(conn);
            break;
        case CONN_BODY:
            conn_read_body(conn);
            break;
        case CONN_LINGER: {
            struct evbuffer *in = bufferevent_get_input(conn->bev);
            evbuffer_drain(in, evbuffer_get_length(in));
            return;
        }
        default:
            return;
        }
        if (conn->state == before)
            return;
    }
}

/* ---- libevent callbacks ----------------------------------------------------------------- */

static void conn_on_read(struct bufferevent *bev, void *arg)
{
    conn_process(arg);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg);

/* Plain connections read the socket here rather than through the bufferevent, whose every
 * read first asks the kernel how many bytes wait (ioctl FIONREAD): one system call of the
 * three a request cost, with the read and the send. One recv on the stack is all a request
 * needs; what it took goes to the bufferevent's input, which the parser reads either way. As
 * there, reading pauses while the input is full and stops at the end of input or an error,
 * which go to the same event handling. */
static void conn_on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *conn = arg;
    struct evbuffer *in = bufferevent_get_input(conn->bev);
    size_t have = evbuffer_get_length(in), high = conn_read_high(conn);
    if (have >= high) {
        event_del(conn->readable);
        conn->read_paused = true;
        return;
    }
    char buf[HTTP_READ_CHUNK];
    size_t room = high - have < sizeof buf ? high - have : sizeof buf;
    ssize_t n = recv(fd, buf, room, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    /* The bufferevent keeps its input closed to additions but for its own reads; so here. */
    int added = -1;
    if (n > 0) {
        evbuffer_unfreeze(in, 0);
        added = evbuffer_add(in, buf, (size_t)n);
        evbuffer_freeze(in, 0);
    }
    if (added != 0) {
        event_del(conn->readable);
        conn->read_done = true;
        conn_on_event(conn->bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR),
                      conn);
        return;
    }
    conn_process(conn);
}

static void conn_on_write(struct bufferevent *bev, void *arg)
{
    struct http_conn *conn = arg;
    if (conn->state == CONN_WRITING)
        conn_reply_flushed(conn);
    else if (conn->state == CONN_CLOSING)
        conn_error_flushed(conn);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct http_conn *conn = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    bool eof_only = (what & BEV_EVENT_EOF) && !(what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT));
    /* A half-close after the request still lets the client read the reply in progress. */
    if (eof_only && (conn->state == CONN_WRITING || conn->state == CONN_CLOSING)) {
        conn->peer_eof = true;
        return;
    }
    conn_lost(conn);
}

static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *conn = arg;
    switch (conn->state) {
    case CONN_HEAD:
        conn_fail(conn, 408, "request head not received in time");
        break;
    case CONN_BODY:
        conn_fail(conn, 408, "request body not received in time");
        break;
    case CONN_IDLE:
    case CONN_LINGER:
        conn_free(conn);
        break;
    default:
        break;
    }
}

static void http_format_peer(const struct sockaddr *sa, char *out, size_t size)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof(ip));
        snprintf(out, size, "%s:%u", ip, ntohs(in4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(out, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(out, size, "unknown");
    }
}

/* Over the connection limit there is no memory to spend on the client: the 503 made when the
 * renderer was set goes out with a single non-blocking send, then the socket closes. */
static void http_refuse(const struct http_server *srv, evutil_socket_t fd)
{
    if (!srv->ssl_ctx) {
        ssize_t r = send(fd, srv->refusal, srv->refusal_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)r;
        shutdown(fd, SHUT_WR);
    }
    evutil_closesocket(fd);
}

/* Formats the refusal once, so that refusing costs no allocation and no rendering. */
static void srv_make_refusal(struct http_server *srv)
{
    char body[384];
    size_t n = srv_problem_body(srv, 503, "too many connections", body, sizeof(body));
    int len = snprintf(srv->refusal, sizeof(srv->refusal),
                       "HTTP/1.1 503 Service Unavailable\r\n%sContent-Length: %zu\r\n"
                       "Retry-After: 1\r\nConnection: close\r\n\r\n%.*s",
                       n ? "Content-Type: application/problem+json\r\n" : "", n, (int)n, body);
    srv->refusal_len = len > 0 && (size_t)len < sizeof(srv->refusal) ? (size_t)len : 0;
}

static struct bufferevent *srv_make_bev(struct http_server *srv, evutil_socket_t fd)
{
    if (!srv->ssl_ctx)
        return bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    SSL *ssl = SSL_new(srv->ssl_ctx);
    if (!ssl)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* A client that closes without close_notify is an ordinary EOF for us. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static void srv_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                          int socklen, void *arg)
{
    struct http_server *srv = arg;
    if (srv->nconns >= srv->lim.max_connections || srv->shutting_down) {
        http_refuse(srv, fd);
        return;
    }
    int one = 1;
    /* Responses go out whole; Nagle would only delay pipelined replies and stream chunks. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct http_conn *conn = calloc(1, sizeof(*conn));
    struct bufferevent *bev = conn ? srv_make_bev(srv, fd) : NULL;
    struct event *timer = bev ? evtimer_new(srv->base, conn_on_timer, conn) : NULL;
    struct event *readable = timer && !srv->ssl_ctx
                                 ? event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_on_readable, conn)
                                 : NULL;
    if (!timer || (!srv->ssl_ctx && !readable)) {
        if (timer)
            event_free(timer);
        if (bev)
            bufferevent_free(bev);
        else
            evutil_closesocket(fd);
        free(conn);
        return;
    }
    conn->srv = srv;
    conn->bev = bev;
    conn->timer = timer;
    conn->readable = readable;
    conn->tls = srv->ssl_ctx != NULL;
    http_format_peer(sa, conn->peer, sizeof(conn->peer));
    conn->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = conn;
    srv->conns = conn;
    srv->nconns++;
    bufferevent_setcb(bev, conn_on_read, conn_on_write, conn_on_event, conn);
    struct timeval wtv = http_tv_ms(srv->lim.write_timeout_ms);
    bufferevent_set_timeouts(bev, NULL, &wtv);
    conn->state = CONN_IDLE;
    conn_arm(conn, srv->lim.idle_timeout_ms);
    if (readable) {
        event_add(readable, NULL);
        bufferevent_enable(bev, EV_WRITE);
    } else {
        bufferevent_setwatermark(bev, EV_READ, 0, conn_read_high(conn));
        bufferevent_enable(bev, EV_READ | EV_WRITE);
    }
}

static void srv_accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *srv = arg;
    if (srv->listener)
        evconnlistener_enable(srv->listener);
}

/* Out of descriptors, accept() fails at once and the listener would spin; pause it briefly. */
static void srv_on_accept_error(struct evconnlistener *l, void *arg)
{
    struct http_server *srv = arg;
    int err = EVUTIL_SOCKET_ERROR();
    log_warn("http: accept failed: %s", evutil_socket_error_to_string(err));
    evconnlistener_disable(l);
    struct timeval tv = http_tv_ms(HTTP_ACCEPT_RETRY_MS);
    evtimer_add(srv->accept_retry, &tv);
}

/* ---- public API ----------------------------------------------------------------------------- */

struct http_server *http_server_new(struct event_base *base, const struct http_limits *limits,
                                    http_request_cb on_request, http_done_cb on_done, void *arg)
{
    struct http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->base = base;
    http_limits_resolve(limits, &srv->lim);
    srv->on_request = on_request;
    srv->on_done = on_done;
    srv->arg = arg;
    srv->done_ev = evtimer_new(base, srv_done_cb, srv);
    srv->accept_retry = evtimer_new(base, srv_accept_retry_cb, srv);
    if (!srv->done_ev || !srv->accept_retry) {
        http_server_free(srv);
        return NULL;
    }
    srv_seed(srv);
    srv_make_refusal(srv);
    /* A peer that vanishes while we write would otherwise kill the process with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    return srv;
}

void http_server_set_problem_body(struct http_server *srv, http_problem_cb cb)
{
    srv->problem_body = cb;
    srv_make_refusal(srv);
}

static int http_split_hostport(const char *hostport, char *host, size_t hsize, char *port,
                               size_t psize)
{
    const char *colon = strrchr(hostport, ':');
    if (!colon || !colon[1] || strlen(colon + 1) >= psize)
        return -1;
    const char *h = hostport;
    size_t hlen = (size_t)(colon - hostport);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= hsize)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

static int srv_bound_port(evutil_socket_t fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

void http_server_set_reuse_port(struct http_server *srv, bool on) { srv->reuse_port = on; }

void http_server_set_hsts(struct http_server *srv, bool on) { srv->hsts = on; }

int http_server_listen(struct http_server *srv, const char *hostport, void *ssl_ctx)
{
    char host[256];
    char port[16];
    if (srv->listener) {
        fprintf(stderr, "http: already listening\n");
        return -1;
    }
    if (!hostport || http_split_hostport(hostport, host, sizeof(host), port, sizeof(port))) {
        fprintf(stderr, "http: listen address must be host:port, got \"%s\"\n",
                hostport ? hostport : "(null)");
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    bool any = host[0] == '\0' || strcmp(host, "*") == 0;
    int rc = getaddrinfo(any ? NULL : host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "http: cannot resolve %s: %s\n", hostport, gai_strerror(rc));
        return -1;
    }
    int err = 0;
    for (struct addrinfo *ai = res; ai && !srv->listener; ai = ai->ai_next) {
        srv->listener = evconnlistener_new_bind(
            srv->base, srv_on_accept, srv,
            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC |
                (srv->reuse_port ? LEV_OPT_REUSEABLE_PORT : 0),
            HTTP_LISTEN_BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
        if (!srv->listener)
            err = errno;
    }
    freeaddrinfo(res);
    if (!srv->listener) {
        fprintf(stderr, "http: cannot listen on %s: %s\n", hostport, strerror(err));
        return -1;
    }
    evconnlistener_set_error_cb(srv->listener, srv_on_accept_error);
    srv->port = srv_bound_port(evconnlistener_get_fd(srv->listener));
    srv->ssl_ctx = ssl_ctx;
    return 0;
}

int http_server_port(const struct http_server *srv)
{
    return srv->listener ? srv->port : -1;
}

/* Ends a stream for shutdown: the handler hears on_close and must forget the request; the
 * last chunk then goes out like any reply. */
static void conn_end_stream_for_shutdown(struct http_conn *conn)
{
    struct http_exchange *ex = conn->ex;
    conn->close_after = true;
    ex->state = EX_REPLIED;
    if (ex->on_close)
        ex->on_close(&ex->pub, ex->close_arg);
    conn_stream_finish(conn, ex);
}

void http_server_shutdown(struct http_server *srv, void (*done_cb)(void *), void *arg)
{
    srv->done_cb = done_cb;
    srv->done_arg = arg;
    if (srv->shutting_down) {
        srv_check_drained(srv);
        return;
    }
    srv->shutting_down = true;
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    evtimer_del(srv->accept_retry);
    struct http_conn *next;
    for (struct http_conn *conn = srv->conns; conn; conn = next) {
        next = conn->next;
        switch (conn->state) {
        case CONN_IDLE:
        case CONN_HEAD:
            conn_free(conn);
            break;
        case CONN_BODY:
            conn_fail(conn, 503, "server is shutting down");
            break;
        case CONN_HANDLER:
        case CONN_WRITING:
            conn->close_after = true;
            break;
        case CONN_STREAMING:
            conn_end_stream_for_shutdown(conn);
            break;
        case CONN_CLOSING:
        case CONN_LINGER:
            break;
        }
    }
    srv_check_drained(srv);
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    if (srv->listener)
        evconnlistener_free(srv->listener);
    while (srv->conns) {
        struct http_conn *conn = srv->conns;
        struct http_exchange *ex = conn->ex;
        if (conn->state == CONN_STREAMING && ex && ex->on_close) {
            ex->state = EX_REPLIED;
            ex->on_close(&ex->pub, ex->close_arg);
        }
        conn_free(conn);
    }
    while (srv->orphans)
        ex_free(srv->orphans);
    if (srv->done_ev)
        event_free(srv->done_ev);
    if (srv->accept_retry)
        event_free(srv->accept_retry);
    free(srv);
}

void http_server_stats(const struct http_server *srv, unsigned *connections, unsigned *in_flight)
{
    if (connections)
        *connections = srv->nconns;
    if (in_flight)
        *in_flight = srv->in_flight;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}
