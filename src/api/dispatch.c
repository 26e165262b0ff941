/* dispatch: turns a parsed HTTP request into a handler call. Owns routing, content-type and
 * body checks, authentication (bearer token, or the pages' cookie session with its CSRF
 * check), role checks, the reply helpers and the per-request log
 * line. Everything a handler needs to answer goes through here, so errors look the same on
 * every route. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "handlers.h"
#include "logeer/api.h"
#include "logeer/clock.h"
#include "logeer/config.h"
#include "logeer/jsonv.h"
#include "logeer/jsonw.h"
#include "logeer/log.h"
#include "logeer/metrics.h"
#include "logeer/query.h"
#include "logeer/ratelimit.h"
#include "logeer/session_cache.h"

/* Seconds a client should wait before retrying while the database is unreachable. */
#define RETRY_AFTER_UNAVAILABLE "2"

static void ctx_free(struct api_ctx *c)
{
    if (c->state_free)
        c->state_free(c->state);
    cJSON_Delete(c->body);
    free(c);
}

/* The route pattern travels in req->user to the done callback, for logs and metrics. It is a
 * static string, so it outlives the context. */
static void finish(struct api_ctx *c, int status, const char *content_type, const char *body,
                   size_t len)
{
    struct http_request *req = c->req;
    req->user = (void *)(c->route ? c->route->pattern : NULL);
    ctx_free(c);
    http_reply(req, status, content_type, body, len);
}

void api_reply_raw(struct api_ctx *c, int status, const char *content_type, const char *body,
                   size_t len)
{
    finish(c, status, content_type, body, len);
}

void api_reply_json(struct api_ctx *c, int status, cJSON *body)
{
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not encode the response");
        return;
    }
    finish(c, status, "application/json", text, strlen(text));
    cJSON_free(text);
}

void api_reply_empty(struct api_ctx *c, int status) { finish(c, status, NULL, NULL, 0); }

struct http_request *api_detach(struct api_ctx *c)
{
    struct http_request *req = c->req;
    req->user = (void *)(c->route ? c->route->pattern : NULL);
    ctx_free(c);
    return req;
}

void api_reply_problem_full(struct api_ctx *c, enum problem_kind kind, const char *detail,
                            cJSON *errors, cJSON *extra)
{
    char *text = problem_render(kind, detail, errors, extra);
    if (kind == PROBLEM_UNAVAILABLE)
        http_reply_header(c->req, "Retry-After", RETRY_AFTER_UNAVAILABLE);
    if (kind == PROBLEM_UNAUTHORIZED)
        http_reply_header(c->req, "WWW-Authenticate", "Bearer realm=\"logeer\"");
    /* A cookie that names no live session is useless to the browser; dropping it lets the
     * page see plainly that nobody is logged in. */
    if (kind == PROBLEM_UNAUTHORIZED && c->by_cookie)
        api_session_cookies_clear(c);
    finish(c, problem_status(kind), "application/problem+json", text, text ? strlen(text) : 0);
    cJSON_free(text);
}

size_t api_problem_body(int status, const char *detail, char *buf, size_t size)
{
    char *text = problem_render(problem_for_status(status), detail, NULL, NULL);
    size_t n = text ? strlen(text) : 0;
    if (n >= size)
        n = 0;
    if (n)
        memcpy(buf, text, n + 1);
    cJSON_free(text);
    return n;
}

void api_reply_problem(struct api_ctx *c, enum problem_kind kind, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    api_reply_problem_full(c, kind, detail, NULL, NULL);
}

void api_reply_db_error(struct api_ctx *c, const struct db_result *r)
{
    if (r->status == DB_UNAVAILABLE || r->status == DB_TIMEOUT) {
        api_reply_problem(c, PROBLEM_UNAVAILABLE, "the database is not reachable; try again shortly");
        return;
    }
    enum problem_kind kind = problem_from_sqlstate(r->sqlstate);
    if (kind == PROBLEM_INTERNAL)
        log_error("query failed on %s: %s %s", c->route ? c->route->pattern : "?", r->sqlstate,
                  r->message);
    /* Database messages may name internals; clients get the problem's own wording. */
    api_reply_problem(c, kind, "%s", problem_title(kind));
}

struct query_call {
    struct api_ctx *c;
    api_query_cb cb;
};

static void query_done(const struct db_result *r, void *arg)
{
    struct query_call *q = arg;
    struct api_ctx *c = q->c;
    api_query_cb cb = q->cb;
    free(q);
    if (r->status == DB_UNAVAILABLE || r->status == DB_TIMEOUT) {
        api_reply_db_error(c, r);
        return;
    }
    cb(c, r);
}

/* A read sent to the replica keeps what it needs to be asked again of the primary: the
 * parameters are copied after the struct, as the pool copies them. */
struct read_call {
    struct api_ctx *c;
    api_query_cb cb;
    const char *stmt;         /* static: every statement name is a literal */
    int nparams;
    const char *params[];     /* NULL for SQL NULL; the strings follow */
};

/* A request's first statement starts new work; its later ones continue work begun and go
 * ahead of new work in the pool's queue (db_query_next). */
static void request_query(struct api_ctx *c, struct db_pool *pool, const char *stmt,
                          int nparams, const char *const *params, db_cb cb, void *arg)
{
    if (c->queries++ == 0)
        db_query(pool, stmt, nparams, params, cb, arg);
    else
        db_query_next(pool, stmt, nparams, params, cb, arg);
}

static struct read_call *read_call_new(struct api_ctx *c, const char *stmt, int nparams,
                                       const char *const *params, api_query_cb cb)
{
    size_t size = sizeof(struct read_call) + (size_t)nparams * sizeof(char *);
    for (int i = 0; i < nparams; i++)
        size += params[i] ? strlen(params[i]) + 1 : 0;
    struct read_call *q = malloc(size);
    if (!q)
        return NULL;
    *q = (struct read_call){.c = c, .cb = cb, .stmt = stmt, .nparams = nparams};
    char *text = (char *)&q->params[nparams];
    for (int i = 0; i < nparams; i++) {
        if (!params[i]) {
            q->params[i] = NULL;
            continue;
        }
        size_t len = strlen(params[i]) + 1;
        memcpy(text, params[i], len);
        q->params[i] = text;
        text += len;
    }
    return q;
}

static void read_done(const struct db_result *r, void *arg)
{
    struct read_call *q = arg;
    if (r->status == DB_UNAVAILABLE || r->status == DB_TIMEOUT) {
        /* The replica went away under the query: the primary answers instead. */
        api_query(q->c, q->stmt, q->nparams, q->params, q->cb);
        free(q);
        return;
    }
    struct api_ctx *c = q->c;
    api_query_cb cb = q->cb;
    free(q);
    cb(c, r);
}

void api_query_read(struct api_ctx *c, const char *stmt, int nparams, const char *const *params,
                    api_query_cb cb)
{
    struct db_pool *replica = c->app->replica;
    if (!replica || !db_pool_healthy(replica) || nparams < 0 || (nparams > 0 && !params)) {
        api_query(c, stmt, nparams, params, cb);
        return;
    }
    struct read_call *q = read_call_new(c, stmt, nparams, params, cb);
    if (!q) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    request_query(c, replica, stmt, nparams, params, read_done, q);
}

void api_query(struct api_ctx *c, const char *stmt, int nparams, const char *const *params,
               api_query_cb cb)
{
    struct query_call *q = malloc(sizeof *q);
    if (!q) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    q->c = c;
    q->cb = cb;
    request_query(c, c->app->db, stmt, nparams, params, query_done, q);
}

int api_prepare(struct app *app, const char *name, const char *sql)
{
    if (db_pool_prepare(app->db, name, sql) != 0) {
        log_error("cannot register statement %s", name);
        return -1;
    }
    /* The replica prepares every statement too (a hot standby prepares writes as well, it
     * only refuses to run them), so any read may be sent there by name. */
    if (app->replica && db_pool_prepare(app->replica, name, sql) != 0) {
        log_error("cannot register statement %s on the replica", name);
        return -1;
    }
    return 0;
}

const char *api_param(const struct api_ctx *c, const char *name)
{
    return route_param(&c->match, name);
}

const char *api_query_arg(const struct api_ctx *c, const char *name, char *buf, size_t size,
                          bool *malformed)
{
    bool bad = false;
    const char *v = query_get(c->req->query, name, buf, size, &bad);
    if (bad && malformed)
        *malformed = true;
    return v && *v ? v : NULL;
}

bool api_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char ch = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        bool hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
        if (dash ? ch != '-' : !hex)
            return false;
    }
    return true;
}

const char *api_peer_address(const struct api_ctx *c, char *buf, size_t size)
{
    /* peer is "ip:port" or "[v6]:port"; PostgreSQL's inet wants the address alone. */
    const char *peer = c->req->peer;
    const char *colon = strrchr(peer, ':');
    size_t len = colon ? (size_t)(colon - peer) : strlen(peer);
    if (peer[0] == '[' && len >= 2 && peer[len - 1] == ']')
        peer++, len -= 2;
    if (len == 0 || len >= size)
        return NULL;
    memcpy(buf, peer, len);
    buf[len] = '\0';
    return buf;
}

/* "application/json" with optional parameters such as "; charset=utf-8". */
static bool is_json_content_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Parses the body when there is one; answers 400/415 itself and returns false then. */
static bool read_body(struct api_ctx *c, const struct api_endpoint *ep)
{
    struct http_request *req = c->req;
    if (req->body_len == 0 && !ep->json_body)
        return true;
    if (!is_json_content_type(http_request_header(req, "Content-Type"))) {
        api_reply_problem(c, PROBLEM_UNSUPPORTED_MEDIA,
                          "send the request body as application/json");
        return false;
    }
    const char *why = NULL;
    c->body = jsonv_parse_object(req->body, req->body_len, &why);
    if (!c->body) {
        api_reply_problem(c, PROBLEM_BAD_REQUEST, "%s", why);
        return false;
    }
    return true;
}

/* NEN 7510's second factor: a session that owes one may only sign out, say who it is, list
 * its sessions and set up or prove the factor; a sensitive action also wants it recent. */
static bool factor_gate_passed(struct api_ctx *c)
{
    if (!api_needs_factor(c))
        return true;
    unsigned roles = c->route->roles;
    if (!c->who.factor_at) {
        if (roles & ROUTE_BEFORE_FACTOR)
            return true;
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddBoolToObject(extra, "enrolled", c->who.has_factor);
        api_reply_problem_full(c, PROBLEM_SECOND_FACTOR,
                               c->who.has_factor
                                   ? "prove your second factor first (POST /v1/sessions/current/...)"
                                   : "your role needs a second factor: set one up first",
                               NULL, extra);
        return false;
    }
    long long age = (long long)time(NULL) - c->who.factor_at;
    if ((roles & ROUTE_STEP_UP) && age > c->app->cfg->step_up_s) {
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddNumberToObject(extra, "max_age", c->app->cfg->step_up_s);
        api_reply_problem_full(c, PROBLEM_STEP_UP,
                               "confirm this action with your second factor again", NULL, extra);
        return false;
    }
    return true;
}

static void run_handler(struct api_ctx *c)
{
    const struct api_endpoint *ep = c->route->handler;
    if (c->route->roles && !(c->route->roles & c->who.role)) {
        api_reply_problem(c, PROBLEM_FORBIDDEN, "the role %s may not use this route",
                          role_name(c->who.role));
        return;
    }
    if (c->authenticated && !factor_gate_passed(c))
        return;
    /* A key opens only the routes its scopes name; the rest is for people. */
    unsigned scope = c->who.api_key_id[0] ? api_key_route_scope(c->route) : 0;
    if (c->who.api_key_id[0] && !(scope & c->who.scopes)) {
        if (scope)
            api_reply_problem(c, PROBLEM_FORBIDDEN, "this API key lacks the scope %s",
                              scope_name(scope));
        else
            api_reply_problem(c, PROBLEM_FORBIDDEN,
                              "API keys may not use this route; a person must sign in");
        return;
    }
    ep->fn(c);
}

static unsigned scopes_from_list(const char *list)
{
    unsigned bits = 0;
    char copy[128];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *save = NULL, *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save))
        bits |= scope_from_name(s);
    return bits;
}

static void api_key_found(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (PQntuples(r->res) != 1) {
        api_reply_problem(c, PROBLEM_UNAUTHORIZED,
                          "the API key is unknown, expired or revoked, or its creator's account "
                          "was closed");
        return;
    }
    struct principal *p = &c->who;
    snprintf(p->api_key_id, sizeof p->api_key_id, "%s", db_value(r->res, 0, 0));
    snprintf(p->provider_id, sizeof p->provider_id, "%s", db_value(r->res, 0, 1));
    p->scopes = scopes_from_list(db_value(r->res, 0, 2));
    snprintf(p->user_id, sizeof p->user_id, "%s", db_value(r->res, 0, 3));
    snprintf(p->email, sizeof p->email, "%s", db_value(r->res, 0, 4));
    p->role = ROLE_PROVIDER; /* whoever made it: a key acts as its provider's staff */
    c->authenticated = true;
    run_handler(c);
}

/* Keys are looked up every time, not cached: a revoked key must stop at once everywhere,
 * and systems call far less often than people click. */
static void authenticate_api_key(struct api_ctx *c, const char *key)
{
    auth_token_hash(key, c->token_hash);
    char addr[64], route[160];
    snprintf(route, sizeof route, "%s %s", http_method_name(c->req->method), c->route->pattern);
    const char *params[] = {c->token_hash, c->req->request_id,
                            api_peer_address(c, addr, sizeof addr), route};
    api_query(c, "api_key_lookup", 4, params, api_key_found);
}

static void session_found(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (PQntuples(r->res) != 1) {
        api_reply_problem(c, PROBLEM_UNAUTHORIZED, "the session has expired or was ended; log in again");
        return;
    }
    struct principal *p = &c->who;
    snprintf(p->user_id, sizeof p->user_id, "%s", db_value(r->res, 0, 0));
    p->role = role_from_name(db_value(r->res, 0, 1));
    snprintf(p->provider_id, sizeof p->provider_id, "%s", db_value(r->res, 0, 2));
    snprintf(p->municipality, sizeof p->municipality, "%s", db_value(r->res, 0, 3));
    snprintf(p->email, sizeof p->email, "%s", db_value(r->res, 0, 4));
    p->has_factor = strcmp(db_value(r->res, 0, 6), "t") == 0;
    p->factor_at = atoll(db_value(r->res, 0, 7));
    p->provider_admin = strcmp(db_value(r->res, 0, 8), "t") == 0;
    c->authenticated = p->role != 0;
    if (!c->authenticated) {
        api_reply_problem(c, PROBLEM_UNAUTHORIZED, "the session has no valid role");
        return;
    }
    /* A session still owing its factor is not cached: the moment it proves one (perhaps on
     * another process) it must be let through everywhere. */
    if (!api_needs_factor(c) || p->factor_at)
        session_cache_put(c->app->sessions, c->token_hash, p,
                          (time_t)atoll(db_value(r->res, 0, 5)));
    run_handler(c);
}

/* Methods a page may be tricked into sending by another site; everything but GET and HEAD. */
static bool method_is_unsafe(enum http_method m) { return m != HTTP_GET && m != HTTP_HEAD; }

/* A visitor has no account to charge, so an open route would let one client run the
 * search as fast as it can send; each client address gets a bucket instead (logged-in users
 * are not limited here: their account is known and their requests are logged). */
bool api_rate_allowed(struct api_ctx *c, struct ratelimit *limit, const char *why)
{
    char addr[64];
    int wait = ratelimit_take(limit, api_peer_address(c, addr, sizeof addr), clock_monotonic_s());
    if (wait == 0)
        return true;
    char retry_after[16];
    snprintf(retry_after, sizeof retry_after, "%d", wait);
    http_reply_header(c->req, "Retry-After", retry_after);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "retry_after", wait);
    api_reply_problem_full(c, PROBLEM_RATE_LIMITED, why, NULL, extra);
    return false;
}

bool api_visitor_allowed(struct api_ctx *c)
{
    return api_rate_allowed(c, c->app->visitor_limit,
                            "too many requests without an account from this address; try "
                            "again after Retry-After seconds, or sign in");
}

/* An Authorization header decides alone (API clients); without one, the session cookie of the
 * web pages is taken. A browser adds that cookie to requests another site makes it send, so
 * an unsafe request by cookie must also carry the session's CSRF token, which only a page of
 * this origin can read (SameSite=Strict is the first guard, this the second). */
static void authenticate(struct api_ctx *c)
{
    const char *authorization = http_request_header(c->req, "Authorization");
    char from_cookie[AUTH_TOKEN_LEN];
    const char *token = NULL;
    if (authorization) {
        const char *key = auth_bearer_api_key(authorization);
        if (key) {
            authenticate_api_key(c, key);
            return;
        }
        token = auth_bearer_token(authorization);
    } else if (auth_cookie_token(http_request_header(c->req, "Cookie"),
                                 config_https(c->app->cfg) ? AUTH_HOST_PREFIX AUTH_SESSION_COOKIE
                                                           : AUTH_SESSION_COOKIE,
                                 from_cookie)) {
        token = from_cookie;
        c->by_cookie = true;
    }
    /* A visitor who sent nothing at all may try what the route offers visitors (a search
     * before making an account); a wrong or stale token or cookie still gets its 401. */
    if (!token && !authorization && (c->route->roles & ROUTE_VISITORS)) {
        if (api_visitor_allowed(c))
            ((const struct api_endpoint *)c->route->handler)->fn(c);
        return;
    }
    if (!token) {
        api_reply_problem(c, PROBLEM_UNAUTHORIZED,
                          "send 'Authorization: Bearer <token>' from POST /v1/sessions");
        return;
    }
    if (c->by_cookie && method_is_unsafe(c->req->method) &&
        !auth_csrf_ok(token, http_request_header(c->req, AUTH_CSRF_HEADER))) {
        api_reply_problem(c, PROBLEM_CSRF,
                          "a request by cookie session must repeat the " AUTH_CSRF_COOKIE
                          " cookie in the " AUTH_CSRF_HEADER " header");
        return;
    }
    auth_token_hash(token, c->token_hash);
    /* A step-up route reads the session afresh: the factor may have been proven a moment ago
     * on another process, which this process's cache cannot know. */
    if (!(c->route->roles & ROUTE_STEP_UP) &&
        session_cache_get(c->app->sessions, c->token_hash, &c->who)) {
        c->authenticated = true;
        run_handler(c);
        return;
    }
    const char *params[] = {c->token_hash};
    api_query(c, "session_lookup", 1, params, session_found);
}

void api_on_request(struct http_request *req, void *arg)
{
    struct app *app = arg;
    struct api_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        http_reply(req, 500, NULL, NULL, 0);
        return;
    }
    c->req = req;
    c->app = app;
    switch (router_match(app->routes, app->nroutes, req->method, req->path, &c->match)) {
    case ROUTE_NOT_FOUND:
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no resource at %.200s", req->path);
        return;
    case ROUTE_METHOD_NOT_ALLOWED:
        http_reply_header(req, "Allow", c->match.allow);
        api_reply_problem(c, PROBLEM_METHOD_NOT_ALLOWED, "%s is not supported here; use %s",
                          req->method_name, c->match.allow);
        return;
    case ROUTE_FOUND:
        break;
    }
    c->route = c->match.route;
    if (!read_body(c, c->route->handler))
        return;
    if (c->route->roles)
        authenticate(c);
    else
        run_handler(c);
}

/* The request log's lines are written in batches, as nginx's buffered access log does: a
 * write of its own for every request was a system call on every request, and system calls are
 * dear on virtual machines (about a tenth of the availability search's throughput on the
 * bench's). A batch is written when the next line would not fit, or REQLOG_FLUSH_MS after its
 * first line, so a line reaches stdout within that time even when the service is quiet; a
 * crash loses at most that much of the request log (the access log of personal data is in the
 * database, not here). Whole lines only and at most PIPE_BUF bytes a write, so that worker
 * processes sharing stdout never interleave their lines. */
#define REQLOG_FLUSH_MS 50

static char reqlog[PIPE_BUF];
static size_t reqlog_len;
static struct event *reqlog_due; /* the flush, set off by a batch's first line */
static bool reqlog_closed;       /* after api_request_log_close: every line at once */

static void write_all(const char *p, size_t len)
{
    fflush(stdout); /* anything stdio still holds goes first, in order */
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* a log that cannot be written must not stop the service */
        p += n;
        len -= (size_t)n;
    }
}

static void reqlog_flush(void)
{
    write_all(reqlog, reqlog_len);
    reqlog_len = 0;
}

static void reqlog_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    reqlog_flush();
}

/* A line that cannot wait (no loop, closed, or longer than the buffer): one write of its own,
 * newline included. */
static void reqlog_write_line(const char *text, size_t len)
{
    char *line = malloc(len + 1);
    if (!line)
        return;
    memcpy(line, text, len);
    line[len] = '\n';
    write_all(line, len + 1);
    free(line);
}

static void reqlog_put(struct app *app, const char *text, size_t len)
{
    if (!reqlog_due && !reqlog_closed && app->base)
        reqlog_due = evtimer_new(app->base, reqlog_flush_cb, NULL);
    if (reqlog_len + len + 1 > sizeof reqlog)
        reqlog_flush();
    if (!reqlog_due || len + 1 > sizeof reqlog) {
        reqlog_write_line(text, len);
        return;
    }
    if (reqlog_len == 0 && !evtimer_pending(reqlog_due, NULL)) {
        struct timeval due = {0, REQLOG_FLUSH_MS * 1000};
        evtimer_add(reqlog_due, &due);
    }
    memcpy(reqlog + reqlog_len, text, len);
    reqlog[reqlog_len + len] = '\n';
    reqlog_len += len + 1;
}

void api_request_log_close(void)
{
    reqlog_flush();
    if (reqlog_due)
        event_free(reqlog_due);
    reqlog_due = NULL;
    reqlog_closed = true;
}

/* One JSON line per request on stdout: what an operator greps when a caregiver calls. */
static void log_request(struct app *app, const struct http_request *req, const char *route,
                        int status, double ms)
{
    char when[LOG_TIME_LEN];
    log_time_now(when);

    struct jsonw w;
    jw_init(&w);
    jw_object_begin(&w);
    jw_kstring(&w, "time", when);
    jw_kstring(&w, "level", "info");
    jw_kstring(&w, "msg", "request");
    jw_kstring(&w, "method", req->method_name ? req->method_name : "-");
    jw_kstring(&w, "route", route);
    jw_kstring(&w, "path", req->path ? req->path : "-");
    jw_kint(&w, "status", status);
    jw_key(&w, "duration_ms");
    jw_fixed(&w, ms, 3); /* to the microsecond */
    jw_kstring(&w, "request_id", req->request_id);
    jw_kstring(&w, "peer", req->peer);
    jw_object_end(&w);
    size_t len = 0;
    const char *text = jw_text(&w, &len);
    if (text)
        reqlog_put(app, text, len);
    jw_free(&w);
}

void api_on_done(const struct http_request *req, int status, uint64_t duration_ns, void *arg)
{
    struct app *app = arg;
    const char *route = req->user ? (const char *)req->user : "unmatched";
    double seconds = (double)duration_ns / 1e9;
    metrics_observe(app->metrics, route, http_method_name(req->method), status, seconds);
    log_request(app, req, route, status, seconds * 1000.0);
}
