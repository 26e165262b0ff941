/* events_stream: GET /v1/events, Server-Sent Events of stay transitions and capacity changes
 * for the coordinator (the whole region) and provider staff (their own pools only). Owns the
 * open streams: their limit, the heartbeats and the periodic check that the session behind
 * each stream is still valid. Never sends personal data: every event is rebuilt from a short
 * whitelist of outbox fields (type, ids, status, nights), whatever the outbox row holds. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/log.h"
#include "logeer/outbox.h"

/* Each stream holds a connection and a subscription; beyond this many the service would
 * rather say "later" than let dashboards crowd out bookings. */
#define SSE_MAX_CLIENTS 200
/* Comments this often keep proxies and browsers from closing a quiet stream, and let the
 * server notice a vanished client (the write fails) within a bounded time. */
#define SSE_HEARTBEAT_S 15
/* What a disconnected EventSource waits before reconnecting. */
#define SSE_RETRY_TEXT "retry: 3000\n\n"

struct sse_client {
    struct sse_client *prev, *next;
    struct http_request *req;  /* NULL once the client left (on_close) */
    struct app *app;
    struct outbox_sub *sub;
    char token_hash[AUTH_TOKEN_HASH_LEN];
    bool checking;             /* a session check is in flight; it frees a departed client */
};

/* The open streams of this process. */
static struct {
    struct sse_client *head;
    unsigned n;
    struct event *heartbeat;
} streams;

static int events_prepare(struct app *app)
{
    /* Not the login lookup: a stream is not user activity, so it must neither extend the
     * session's idle time nor end because of it. Logout, expiry and disabling do end it. */
    return api_prepare(app, "sse_session_check",
                       "SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id "
                       "WHERE s.token_hash = $1::bytea AND s.revoked_at IS NULL "
                       "AND s.expires_at > now() AND u.disabled_at IS NULL "
                       "AND u.erased_at IS NULL");
}

static void sse_unlink(struct sse_client *cl)
{
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        streams.head = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    cl->prev = cl->next = NULL;
    streams.n--;
    if (streams.n == 0 && streams.heartbeat) {
        event_free(streams.heartbeat);
        streams.heartbeat = NULL;
    }
}

static void sse_write(struct sse_client *cl, const char *text)
{
    if (cl->req)
        http_stream_chunk(cl->req, text, strlen(text));
}

/* Copies a string member of the payload, or null. */
static void copy_string(cJSON *to, const char *name, const cJSON *from, const char *key)
{
    const cJSON *v = from ? cJSON_GetObjectItemCaseSensitive(from, key) : NULL;
    if (cJSON_IsString(v))
        cJSON_AddStringToObject(to, name, v->valuestring);
    else
        cJSON_AddNullToObject(to, name);
}

static void add_id(cJSON *o, const char *name, const char *value)
{
    if (value && *value)
        cJSON_AddStringToObject(o, name, value);
    else
        cJSON_AddNullToObject(o, name);
}

/* Capacity ranges as the outbox holds them: [{from, to, beds}]; counts, no people. */
static void copy_ranges(cJSON *to, const cJSON *payload)
{
    const cJSON *ranges = payload ? cJSON_GetObjectItemCaseSensitive(payload, "ranges") : NULL;
    if (!cJSON_IsArray(ranges))
        return;
    cJSON *out = cJSON_AddArrayToObject(to, "ranges");
    const cJSON *r;
    cJSON_ArrayForEach(r, ranges)
    {
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(r, "from");
        const cJSON *until = cJSON_GetObjectItemCaseSensitive(r, "to");
        const cJSON *beds = cJSON_GetObjectItemCaseSensitive(r, "beds");
        if (!cJSON_IsString(from) || !cJSON_IsString(until) || !cJSON_IsNumber(beds))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "from", from->valuestring);
        cJSON_AddStringToObject(o, "to", until->valuestring);
        cJSON_AddNumberToObject(o, "beds", beds->valuedouble);
        cJSON_AddItemToArray(out, o);
    }
}

static char *event_json(const struct outbox_event *e)
{
    cJSON *payload = cJSON_Parse(e->payload);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", e->id);
    cJSON_AddStringToObject(o, "type", e->type);
    cJSON_AddStringToObject(o, "at", e->at);
    add_id(o, "provider_id", e->provider_id);
    add_id(o, "pool_id", e->pool_id);
    add_id(o, "stay_id", e->stay_id);
    copy_string(o, "status", payload, "status");
    copy_string(o, "previous_status", payload, "from");
    copy_string(o, "kind", payload, "kind");
    if (*e->night_from && *e->night_to) {
        cJSON *n = cJSON_AddObjectToObject(o, "nights");
        cJSON_AddStringToObject(n, "from", e->night_from);
        cJSON_AddStringToObject(n, "to", e->night_to);
    } else {
        cJSON_AddNullToObject(o, "nights");
    }
    copy_ranges(o, payload);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    cJSON_Delete(payload);
    return text;
}

static void sse_on_event(void *arg, const struct outbox_event *e)
{
    struct sse_client *cl = arg;
    char *data = event_json(e);
    if (!data)
        return;
    size_t size = strlen(data) + strlen(e->id) + 32;
    char *msg = malloc(size);
    if (msg) {
        snprintf(msg, size, "id: %s\ndata: %s\n\n", e->id, data);
        sse_write(cl, msg);
    }
    free(msg);
    cJSON_free(data);
}

/* A fresh stream learns its starting id at once, so that a client that sees no event before
 * it reconnects still resumes from the moment it connected. */
static void sse_on_start(void *arg, const char *start_id, bool reset)
{
    struct sse_client *cl = arg;
    if (!start_id)
        return;
    char msg[160];
    if (reset)
        snprintf(msg, sizeof msg,
                 "id: %s\ndata: {\"type\":\"stream.reset\",\"id\":\"%s\"}\n\n", start_id, start_id);
    else
        snprintf(msg, sizeof msg, "id: %s\n\n", start_id);
    sse_write(cl, msg);
}

/* The client left or the server is shutting down: the request is freed after this returns. */
static void sse_on_close(struct http_request *req, void *arg)
{
    struct sse_client *cl = arg;
    cl->req = NULL;
    outbox_unsubscribe(cl->sub);
    cl->sub = NULL;
    sse_unlink(cl);
    if (!cl->checking)
        free(cl);
}

/* Ends a stream from this side, e.g. because its session ended. */
static void sse_end(struct sse_client *cl, const char *reason)
{
    char msg[128];
    snprintf(msg, sizeof msg, "data: {\"type\":\"stream.end\",\"reason\":\"%s\"}\n\n", reason);
    sse_write(cl, msg);
    outbox_unsubscribe(cl->sub);
    cl->sub = NULL;
    struct http_request *req = cl->req;
    cl->req = NULL;
    sse_unlink(cl);
    if (req)
        http_stream_end(req);
    free(cl);
}

static void session_checked(const struct db_result *r, void *arg)
{
    struct sse_client *cl = arg;
    cl->checking = false;
    if (!cl->req) {
        free(cl);
        return;
    }
    /* An unreachable database proves nothing about the session: keep streaming. */
    if (r->status == DB_OK && PQntuples(r->res) == 0)
        sse_end(cl, "session_ended");
}

static void sse_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    struct sse_client *next;
    for (struct sse_client *cl = streams.head; cl; cl = next) {
        next = cl->next;
        sse_write(cl, ": heartbeat\n\n");
        if (cl->checking)
            continue;
        cl->checking = true;
        const char *params[] = {cl->token_hash};
        db_query(cl->app->db, "sse_session_check", 1, params, session_checked, cl);
    }
}

static bool heartbeat_running(struct app *app)
{
    if (streams.heartbeat)
        return true;
    streams.heartbeat = event_new(app->base, -1, EV_PERSIST, sse_heartbeat, NULL);
    struct timeval tv = {SSE_HEARTBEAT_S, 0};
    if (!streams.heartbeat || event_add(streams.heartbeat, &tv) != 0) {
        if (streams.heartbeat)
            event_free(streams.heartbeat);
        streams.heartbeat = NULL;
        return false;
    }
    return true;
}

static void events_stream(struct api_ctx *c)
{
    struct app *app = c->app;
    if (c->req->method == HTTP_HEAD) {
        http_reply_header(c->req, "Cache-Control", "no-store");
        api_reply_raw(c, 200, "text/event-stream", NULL, 0);
        return;
    }
    if (c->who.role == ROLE_PROVIDER && !c->who.provider_id[0]) {
        api_reply_problem(c, PROBLEM_FORBIDDEN, "this account belongs to no provider");
        return;
    }
    if (!app->outbox || app->shutting_down) {
        api_reply_problem(c, PROBLEM_UNAVAILABLE, "live events are not available right now");
        return;
    }
    if (streams.n >= SSE_MAX_CLIENTS) {
        api_reply_problem(c, PROBLEM_UNAVAILABLE,
                          "too many live streams are open (%d); try again later", SSE_MAX_CLIENTS);
        return;
    }
    struct sse_client *cl = calloc(1, sizeof *cl);
    if (!cl || (streams.n == 0 && !heartbeat_running(app))) {
        free(cl);
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    cl->app = app;
    /* The route's authentication found this session valid (bearer token or cookie). */
    snprintf(cl->token_hash, sizeof cl->token_hash, "%s", c->token_hash);
    const char *provider = c->who.role == ROLE_PROVIDER ? c->who.provider_id : NULL;
    cl->sub = outbox_subscribe(app->outbox, provider, http_request_header(c->req, "Last-Event-ID"),
                               sse_on_start, sse_on_event, cl);
    if (!cl->sub) {
        free(cl);
        if (streams.n == 0 && streams.heartbeat) {
            event_free(streams.heartbeat);
            streams.heartbeat = NULL;
        }
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    cl->next = streams.head;
    if (streams.head)
        streams.head->prev = cl;
    streams.head = cl;
    streams.n++;
    http_reply_header(c->req, "Cache-Control", "no-store");
    /* Reverse proxies (nginx) would otherwise buffer the stream and delay every event. */
    http_reply_header(c->req, "X-Accel-Buffering", "no");
    cl->req = api_detach(c);
    http_stream_start(cl->req, 200, "text/event-stream; charset=utf-8", sse_on_close, cl);
    sse_write(cl, SSE_RETRY_TEXT);
}

/* The server's shutdown closes every stream, and the heartbeat goes with the last one; should
 * a stream outlive the server, its timer must still go before the event base. */
static void events_shutdown(struct app *app)
{
    if (streams.heartbeat) {
        event_free(streams.heartbeat);
        streams.heartbeat = NULL;
    }
}

static const struct api_endpoint stream = {events_stream, false};

static const struct route events_routes[] = {
    {HTTP_GET, "/v1/events", &stream, ROLE_COORDINATOR | ROLE_PROVIDER},
};

ROUTE_GROUP_SHUTDOWN(events_stream_group, events_routes, events_prepare, events_shutdown);
