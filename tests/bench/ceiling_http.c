/* ceiling_http.c: the benchmark's search ceiling: a bare libevent evhttp server on one event loop
 * that answers every request with the same bytes, a real search response captured from logeerd
 * in the same run. It never looks at the request, authenticates, or touches a database.
 *
 * Usage: ceiling_http PORT BODY_FILE   (listens on 127.0.0.1 only; stops on SIGTERM/SIGINT)
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

struct ceiling_body {
    char *data;
    size_t len;
};

/* Reads the whole body file once at start, so each reply is a copy from memory. */
static int ceiling_read_body(const char *path, struct ceiling_body *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 65536, len = 0;
    char *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            char *bigger = realloc(data, cap);
            if (!bigger)
                free(data);
            data = bigger;
        }
    }
    fclose(f);
    if (!data)
        return -1;
    b->data = data;
    b->len = len;
    return 0;
}

/* Same headers as a JSON API would send; the body is added by reference, not copied twice. */
static void ceiling_reply(struct evhttp_request *req, void *arg)
{
    const struct ceiling_body *b = arg;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evbuffer_add_reference(out, b->data, b->len, NULL, NULL);
    evhttp_send_reply(req, HTTP_OK, "OK", out);
    evbuffer_free(out);
}

static void ceiling_stop(evutil_socket_t sig, short events, void *arg)
{
    (void)sig;
    (void)events;
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT BODY_FILE\n", argv[0]);
        return 2;
    }
    struct ceiling_body body;
    if (ceiling_read_body(argv[2], &body) != 0) {
        fprintf(stderr, "ceiling_http: cannot read %s\n", argv[2]);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    if (!http || evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)atoi(argv[1])) != 0) {
        fprintf(stderr, "ceiling_http: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    evhttp_set_gencb(http, ceiling_reply, &body);
    struct event *term = evsignal_new(base, SIGTERM, ceiling_stop, base);
    struct event *intr = evsignal_new(base, SIGINT, ceiling_stop, base);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    free(body.data);
    return 0;
}
