/* api: the layer between HTTP and the rest. It routes a request, enforces content types and
 * body syntax, authenticates the caller and checks the route's roles, then hands a per-request
 * context to one handler. Handlers validate, authorise objects and shape JSON; they end every
 * request with exactly one api_reply_* call, which also frees the context. */
#ifndef LOGEER_API_H
#define LOGEER_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "logeer/auth.h"
#include "logeer/db.h"
#include "logeer/http.h"
#include "logeer/problem.h"
#include "logeer/router.h"

struct config;
struct core_index;
struct session_cache;
struct search_log;
struct health_probe;
struct inventory_sync;
struct outbox_feed;
struct assets;
struct metrics;
struct workers;
struct notify;

/* Everything a handler may reach; one per process, owned by main. */
struct app {
    struct event_base *base;
    const struct config *cfg;
    struct db_pool *db;        /* the requests' pool: what a client waits for */
    struct db_pool *background; /* the jobs' pool: index rereads, sweeper, notifier, logs */
    struct db_pool *replica;   /* LOGEER_REPLICA_URL's read-only pool for heavy reads, or NULL */
    struct workers *workers;
    struct http_server *http;
    struct metrics *metrics;
    struct core_index *index;  /* availability, kept equal to the database by sync */
    struct inventory_sync *sync;
    struct outbox_feed *outbox; /* the events outbox read for Server-Sent Events */
    struct assets *web;        /* the web pages (web/<folder>/), loaded at start-up */
    struct session_cache *sessions; /* recently verified bearer tokens */
    struct ratelimit *visitor_limit; /* requests without credentials, per client address */
    struct search_log *search_log;  /* searches waiting to be written */
    struct health_probe *health;    /* readiness remembered for /metrics (health.c) */
    struct loop_lag *lag;           /* how late the loop runs its timers, for /metrics */
    struct notify *notify;          /* the delivery worker, for its metrics */
    struct route *routes;      /* every route group's routes, built by api_init */
    size_t nroutes;
    int schema_version;        /* highest migration this binary knows; readyz compares */
    long long tls_not_after;   /* unix time the served certificate expires; 0 without TLS */
    bool shutting_down;
    bool fatal;                /* a module found the process must not run on: exit 1 */
};

struct api_ctx;
typedef void (*api_handler)(struct api_ctx *c);

/* What a route needs beyond its pattern; struct route's handler points at one of these. */
/* In a route's roles: the route also serves a request that sent no credentials at all, as a
 * visitor (who.role 0); credentials that are sent must still be valid. */
#define ROUTE_VISITORS (1u << 31)
/* In a route's roles: a session still owing its second factor may use the route (sign-out,
 * who am I, setting up or proving a factor). Every other route waits for the factor. */
#define ROUTE_BEFORE_FACTOR (1u << 30)
/* In a route's roles: a sensitive action (exports, erasure, user management, secrets and
 * keys) that needs a second factor proven within LOGEER_STEP_UP_S. */
#define ROUTE_STEP_UP (1u << 29)

struct api_endpoint {
    api_handler fn;
    bool json_body;            /* a JSON object body is required */
};

/* The state of one request as it passes through callbacks. */
struct api_ctx {
    struct http_request *req;
    struct app *app;
    const struct route *route;
    struct route_match match;
    cJSON *body;               /* parsed request body, or NULL */
    struct principal who;      /* valid when authenticated */
    bool authenticated;
    bool by_cookie;            /* the session came in the cookie, not as a bearer token */
    char token_hash[AUTH_TOKEN_HASH_LEN]; /* the session's token hash, when one was sent */
    void *state;               /* handler-owned; freed with state_free at reply */
    void (*state_free)(void *);
    unsigned queries;          /* statements sent for this request: from the second on they
                                  go ahead of new work in the pool's queue (db_query_next) */
    bool pool_reloaded;        /* stay_known_pool has loaded this request's pool once */
    void (*rerun)(struct api_ctx *c); /* the handler to run again once that load is done */
};

/* Builds app->routes and prepares the routes' statements; call before db_pool_start. */
__attribute__((warn_unused_result))
int api_init(struct app *app);

/* Runs every route group's shutdown hook and frees the route table. */
void api_shutdown(struct app *app);

/* The http_server callbacks. */
void api_on_request(struct http_request *req, void *app);
void api_on_done(const struct http_request *req, int status, uint64_t duration_ns, void *app);
/* Writes the NEN 7513 access-log rows still waiting for their batch and from then on writes
 * every row at once; done(arg) runs when no access-log write is in flight any more, the
 * batches sent earlier included (at once when none is).
 * For shutdown, after the last request is answered and while the pool still runs. */
void api_access_log_flush(struct app *app, void (*done)(void *arg), void *arg);
/* Writes the request log's waiting lines and stops holding lines back (api_shutdown does). */
void api_request_log_close(void);
/* The http_problem_cb for the HTTP layer's own error answers: the same problem table as
 * every other answer, chosen by status. */
size_t api_problem_body(int status, const char *detail, char *buf, size_t size);

/* Replies; each ends the request and frees c. */
void api_reply_json(struct api_ctx *c, int status, cJSON *body);  /* consumes body */
void api_reply_raw(struct api_ctx *c, int status, const char *content_type, const char *body,
                   size_t len);
void api_reply_empty(struct api_ctx *c, int status);
/* For a handler that answers with a stream instead of a reply: ends the api's part (frees c,
 * keeps the route for the access log and metrics) and hands the request over. The caller
 * must then answer it with http_stream_start (or http_reply) and never touch c again. */
struct http_request *api_detach(struct api_ctx *c);
void api_reply_problem(struct api_ctx *c, enum problem_kind kind, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* errors/extra are consumed, as in problem_render. */
void api_reply_problem_full(struct api_ctx *c, enum problem_kind kind, const char *detail,
                            cJSON *errors, cJSON *extra);
/* The web pages' cookie session (web.c): sets the session and CSRF cookies for a new session
 * of max_age_s seconds, or clears both (logout, or a cookie that no longer names a session).
 * Call before the reply. */
void api_session_cookies_set(struct api_ctx *c, const char *token, int max_age_s);
void api_session_cookies_clear(struct api_ctx *c);

/* Maps a failed query (DB_ERROR, DB_UNAVAILABLE, DB_TIMEOUT) to the right problem. */
void api_reply_db_error(struct api_ctx *c, const struct db_result *r);

/* Runs a prepared statement for this request. The callback sees only DB_OK and DB_ERROR:
 * unavailability and time-outs are answered with 503 + Retry-After here, once. */
typedef void (*api_query_cb)(struct api_ctx *c, const struct db_result *r);
void api_query(struct api_ctx *c, const char *stmt, int nparams, const char *const *params,
               api_query_cb cb);

/* The same for a read that may be a little behind (reports, exports, open figures): it goes to
 * the replica pool when one is configured and has a ready connection, else to the primary. A
 * read the replica could not answer (lost mid-query, timed out) is asked of the primary once,
 * which is safe because it changes nothing. The statement must only read. */
void api_query_read(struct api_ctx *c, const char *stmt, int nparams, const char *const *params,
                    api_query_cb cb);

/* Second factors (second_factor.c). What a session must still do before it is whole:
 * "none", "verify" (prove the factor the person has) or "enrol" (set one up first). */
const char *api_second_factor_step(const struct app *app, const struct principal *who);
/* True when the caller's session needs a second factor: a required role, or a person who set
 * one up. Never for API keys. */
bool api_needs_factor(const struct api_ctx *c);
/* Records that this session just proved a second factor (RFC 8176 method amr, e.g. "otp"):
 * factor_at = now, amr added, an access-log row 'factor.verify'; the session is forgotten in
 * this process's cache. cb gets one row: factor_at as ISO text. */
void api_session_factor_proven(struct api_ctx *c, const char *amr, api_query_cb cb);

/* Registers a statement with the pool (wraps db_pool_prepare, logs failures). */
__attribute__((warn_unused_result))
int api_prepare(struct app *app, const char *name, const char *sql);

/* Route parameter by name (never NULL for a parameter in the matched pattern). */
const char *api_param(const struct api_ctx *c, const char *name);

/* True for the canonical 8-4-4-4-12 hex form of a UUID. Ids that fail it cannot exist, so
 * handlers answer 404 without asking the database. */
bool api_is_uuid(const char *s);

/* The client's IP address without port (for inet columns), or NULL when unknown. */
const char *api_peer_address(const struct api_ctx *c, char *buf, size_t size);

/* Takes a token from limit's bucket for the caller's address; when it is empty, replies 429
 * (Retry-After, retry_after) with why and returns false. */
bool api_rate_allowed(struct api_ctx *c, struct ratelimit *limit, const char *why);
/* The same with the limit on requests without an account (LOGEER_VISITOR_RATE). */
bool api_visitor_allowed(struct api_ctx *c);

/* Query-string value, percent-decoded into buf; NULL when absent or empty. A malformed or
 * overlong value also gives NULL and sets *malformed (which callers may OR over several
 * arguments and answer 400 once). */
const char *api_query_arg(const struct api_ctx *c, const char *name, char *buf, size_t size,
                          bool *malformed);

#endif
