/* resource: the request toolkit of the api layer (see resource.h): paging and query-argument
 * replies, validation replies, refusal tables, rows lists with their access log, and the
 * statement patterns the inventory resources share. Never shapes a resource's JSON and never
 * decides who may call a route: the resource's SQL and route table do. */
#include "resource.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "logeer/digest.h"
#include "logeer/idempotency.h"
#include "logeer/log.h"

/* Refusals every resource can meet. */
static const struct res_refusal shared_refusals[] = {
    {"idempotency_keys_pkey", PROBLEM_IDEMPOTENCY_RUNNING, NULL, IDEM_DETAIL_RUNNING},
    {NULL, 0, NULL, NULL},
};

const char *res_scope(const struct api_ctx *c)
{
    /* Provider staff always carry a provider id (a database constraint); were it ever empty,
     * the cast to uuid fails and the request errs instead of seeing everything. */
    return c->who.role == ROLE_PROVIDER ? c->who.provider_id : NULL;
}

const char *res_body_provider(struct api_ctx *c, struct jsonv *v, const char *what)
{
    const char *pid = NULL;
    bool given = jsonv_string(v, c->body, "provider_id", false, 1, 64, &pid);
    if (c->who.role == ROLE_PROVIDER) {
        if (given && strcmp(pid, c->who.provider_id) != 0)
            jsonv_error(v, "provider_id", "must be your own provider (or left out)");
        return c->who.provider_id;
    }
    if (!given) {
        char message[160];
        snprintf(message, sizeof message, "is required: the provider %s", what);
        jsonv_error(v, "provider_id", message);
    }
    else if (!api_is_uuid(pid))
        jsonv_error(v, "provider_id", "must be a provider id (see GET /v1/providers)");
    return given ? pid : NULL;
}

void res_reply_created_secret(struct api_ctx *c, const struct db_result *r,
                              const struct res_refusal *refusals, const char *location,
                              const char *not_owner, const char *field, const char *secret)
{
    if (r->status != DB_OK) {
        res_reply_db_error(c, r, refusals);
        return;
    }
    const char *outcome = PQntuples(r->res) == 1 ? db_value(r->res, 0, 0) : "";
    if (idem_reply_refusal(c, outcome))
        return;
    if (strcmp(outcome, "created") != 0 && strcmp(outcome, "replayed") != 0) {
        res_reply_field(c, "provider_id", not_owner, "check the provider");
        return;
    }
    char where[160], etag[32];
    snprintf(where, sizeof where, "%s/%s", location, db_value(r->res, 0, 2));
    http_reply_header(c->req, "Location", where);
    if (!db_is_null(r->res, 0, 3)) {
        snprintf(etag, sizeof etag, "\"%s\"", db_value(r->res, 0, 3));
        http_reply_header(c->req, "ETag", etag);
    }
    http_reply_header(c->req, "Cache-Control", "no-store");
    if (strcmp(outcome, "replayed") == 0) {
        /* The secret was shown with the first answer only. */
        idem_mark_replayed(c);
        res_reply_body(c, 201, db_value(r->res, 0, 1));
        return;
    }
    cJSON *body = cJSON_Parse(db_value(r->res, 0, 1));
    if (!body) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    cJSON_AddStringToObject(body, field, secret);
    api_reply_json(c, 201, body);
}

const char *res_id(struct api_ctx *c, const char *missing)
{
    const char *id = api_param(c, "id");
    if (api_is_uuid(id))
        return id;
    api_reply_problem(c, PROBLEM_NOT_FOUND, "%s", missing);
    return NULL;
}

/* ---- query arguments ------------------------------------------------------------------- */

void res_args_init(struct res_args *a)
{
    jsonv_init(&a->v);
    a->malformed = false;
    a->used = 0;
}

const char *res_arg(const struct api_ctx *c, struct res_args *a, const char *name, size_t size)
{
    if (size > sizeof a->text - a->used) {
        /* The handlers' arguments together fit by far; more is a mistake here, not the
         * client's, but refusing is safe. */
        log_error("query arguments overflow their buffer at %s", name);
        a->malformed = true;
        return NULL;
    }
    const char *v = api_query_arg(c, name, a->text + a->used, size, &a->malformed);
    if (v)
        a->used += strlen(v) + 1;
    return v;
}

const char *res_arg_id(const struct api_ctx *c, struct res_args *a, const char *name,
                       const char *message)
{
    const char *v = res_arg(c, a, name, 64);
    if (v && !api_is_uuid(v))
        jsonv_error(&a->v, name, message);
    return v;
}

bool res_args_ok(struct api_ctx *c, struct res_args *a, const char *detail)
{
    if (a->malformed) {
        jsonv_free(&a->v);
        api_reply_problem(c, PROBLEM_BAD_REQUEST,
                          "the query string has a malformed or overlong value");
        return false;
    }
    if (!jsonv_ok(&a->v)) {
        res_reply_invalid(c, &a->v, detail);
        return false;
    }
    return true;
}

bool res_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* ---- database refusals ---------------------------------------------------------------- */

static const struct res_refusal *refusal_find(const struct res_refusal *table,
                                              const char *name)
{
    for (; table && table->name; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}

/* extra (consumed, may be NULL) adds its members to the problem. */
static void reply_refusal(struct api_ctx *c, const struct res_refusal *m, cJSON *extra)
{
    cJSON *errors = NULL;
    const char *detail = m->message;
    if (m->kind == PROBLEM_VALIDATION && m->field) {
        struct jsonv v;
        jsonv_init(&v);
        jsonv_error(&v, m->field, m->message);
        errors = jsonv_take_errors(&v);
        detail = "check the highlighted fields";
    }
    api_reply_problem_full(c, m->kind, detail, errors, extra);
}

void res_reply_db_error(struct api_ctx *c, const struct db_result *r,
                        const struct res_refusal *constraints)
{
    if (!constraints) {
        api_reply_db_error(c, r);
        return;
    }
    const char *constraint = NULL;
    if (r->status == DB_ERROR && r->res)
        constraint = PQresultErrorField(r->res, PG_DIAG_CONSTRAINT_NAME);
    if (constraint) {
        const struct res_refusal *m = refusal_find(constraints, constraint);
        if (!m)
            m = refusal_find(shared_refusals, constraint);
        if (m) {
            reply_refusal(c, m, NULL);
            return;
        }
    }
    /* The handlers validate every value before writing, so an unmapped integrity violation
     * means a rule here and a rule in the schema disagree: still the client's value, never a
     * lack of beds (the global mapping of 23514). */
    if (r->status == DB_ERROR && strncmp(r->sqlstate, "23", 2) == 0) {
        log_warn("inventory write refused by %s (%s): %s", constraint ? constraint : "?",
                 r->sqlstate, r->message);
        api_reply_problem(c, PROBLEM_VALIDATION,
                          "a value breaks a rule of the inventory; check the fields");
        return;
    }
    api_reply_db_error(c, r);
}

bool res_result_read(struct api_ctx *c, const struct db_result *r,
                     const struct res_refusal *constraints, struct res_result *out)
{
    if (r->status != DB_OK) {
        res_reply_db_error(c, r, constraints);
        return false;
    }
    if (PQntuples(r->res) != 1 || PQnfields(r->res) < 4) {
        api_reply_problem(c, PROBLEM_INTERNAL, "the database function returned no outcome");
        return false;
    }
    out->outcome = db_value(r->res, 0, 0);
    out->status = atoi(db_value(r->res, 0, 1));
    out->body = db_value(r->res, 0, 2);
    out->detail = db_value(r->res, 0, 3);
    return true;
}

cJSON *res_result_detail(const struct res_result *res)
{
    cJSON *o = *res->detail ? cJSON_Parse(res->detail) : NULL;
    if (o && !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return o;
}

void res_reply_outcome(struct api_ctx *c, const struct res_result *res,
                       const struct res_refusal *outcomes)
{
    const struct res_refusal *m = refusal_find(outcomes, res->outcome);
    if (m) {
        reply_refusal(c, m, res_result_detail(res));
        return;
    }
    if (idem_reply_refusal(c, res->outcome))
        return; /* key_mismatch, key_running */
    log_error("unexpected outcome %s on %s", res->outcome, c->route ? c->route->pattern : "?");
    api_reply_problem(c, PROBLEM_INTERNAL, "unexpected outcome of the database function");
}

/* ---- running statements --------------------------------------------------------------- */

bool res_one_row(struct api_ctx *c, const struct db_result *r, const char *missing)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return false;
    }
    if (PQntuples(r->res) != 1) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "%s", missing);
        return false;
    }
    return true;
}

static void query_json(struct api_ctx *c, const char *stmt, cJSON *arg, api_query_cb cb,
                       bool read_only)
{
    char *text = cJSON_PrintUnformatted(arg);
    cJSON_Delete(arg);
    if (!text) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    const char *params[] = {text};
    if (read_only)
        api_query_read(c, stmt, 1, params, cb);
    else
        api_query(c, stmt, 1, params, cb);
    explicit_bzero(text, strlen(text));
    cJSON_free(text);
}

void res_query_json(struct api_ctx *c, const char *stmt, cJSON *arg, api_query_cb cb)
{
    query_json(c, stmt, arg, cb, false);
}

void res_query_json_read(struct api_ctx *c, const char *stmt, cJSON *arg, api_query_cb cb)
{
    query_json(c, stmt, arg, cb, true);
}

void *res_state_new(struct api_ctx *c, size_t size, void (*free_fn)(void *))
{
    void *state = calloc(1, size);
    if (!state) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return NULL;
    }
    c->state = state;
    c->state_free = free_fn ? free_fn : free;
    return state;
}

void res_reply_body(struct api_ctx *c, int status, const char *json)
{
    api_reply_raw(c, status, "application/json", json, strlen(json));
}

/* ---- the inventory statements: get, patch ---------------------------------------------- */

/* Sends the object's version (column col, when the statement has one and it is not NULL)
 * as a strong ETag. */
static void res_etag(struct api_ctx *c, const PGresult *res, int col)
{
    if (PQnfields(res) <= col || db_is_null(res, 0, col))
        return;
    char etag[32];
    snprintf(etag, sizeof etag, "\"%s\"", db_value(res, 0, col));
    http_reply_header(c->req, "ETag", etag);
}

/* Calls are static tables; the context only borrows one for its callback and never writes
 * through it (state_free stays NULL). */
static void res_run(struct api_ctx *c, const char *stmt, int n, const char *const *params,
                    const struct res_call *call, api_query_cb cb)
{
    c->state = (void *)call;
    c->state_free = NULL;
    api_query(c, stmt, n, params, cb);
}

/* After a conditional PATCH changed nothing: the object exists (the version differed, 412)
 * or it does not, for this caller (404). */
static void res_precondition_checked(struct api_ctx *c, const struct db_result *r)
{
    const struct res_call *call = c->state;
    if (r->status != DB_OK) {
        res_reply_db_error(c, r, call->refusals);
        return;
    }
    if (PQntuples(r->res) != 1) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "%s", call->missing);
        return;
    }
    api_reply_problem(c, PROBLEM_PRECONDITION_FAILED,
                      "it changed since it was read (it is now at version %s); read it again "
                      "and send its new ETag in If-Match", db_value(r->res, 0, 1));
}

/* The scope parameter of a call's statements for this caller. */
static const char *call_scope(const struct api_ctx *c, const struct res_call *call)
{
    return call->scope ? call->scope(c) : res_scope(c);
}

/* Hands a body about to be sent to the call's access-log hook, if it has one. */
static void call_seen(struct api_ctx *c, const struct res_call *call, const char *body)
{
    if (call->seen)
        call->seen(c, body);
}

/* An answer kept while the index loads what the request changed. */
struct res_deferred {
    int status;
    char *body;
};

static void res_deferred_free(void *p)
{
    struct res_deferred *d = p;
    free(d->body);
    free(d);
}

static void res_send_deferred(void *arg, bool ok)
{
    (void)ok; /* the change is committed either way; a failed load is retried by the sync */
    struct api_ctx *c = arg;
    struct res_deferred *d = c->state;
    char *body = d->body; /* the reply frees the state before it sends */
    d->body = NULL;
    api_reply_raw(c, d->status, "application/json", body, strlen(body));
    free(body);
}

/* Sends body; after a write to something the availability index describes, only once this
 * process's index has loaded it again (call->index_scope: read your writes). */
static void res_reply_indexed(struct api_ctx *c, const struct res_call *call, int status,
                              const char *id, const char *body)
{
    if (!call->index_scope || c->req->method == HTTP_GET || !c->app->sync) {
        api_reply_raw(c, status, "application/json", body, strlen(body));
        return;
    }
    struct res_deferred *d = res_state_new(c, sizeof *d, res_deferred_free);
    if (!d)
        return;
    d->status = status;
    d->body = strdup(body);
    if (!d->body) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    inventory_sync_reload(c->app->sync, call->index_scope, id, res_send_deferred, c);
}

/* The one callback of get, list and patch: a single row whose first column is the body. */
static void res_done(struct api_ctx *c, const struct db_result *r)
{
    const struct res_call *call = c->state;
    if (r->status != DB_OK) {
        res_reply_db_error(c, r, call->refusals);
        return;
    }
    if (PQntuples(r->res) != 1 || db_is_null(r->res, 0, 0)) {
        bool conditional = c->req->method == HTTP_PATCH && call->versioned &&
                           http_request_header(c->req, "If-Match");
        if (conditional) {
            const char *params[] = {api_param(c, "id"), call_scope(c, call)};
            res_run(c, call->get_stmt, 2, params, call, res_precondition_checked);
            return;
        }
        api_reply_problem(c, PROBLEM_NOT_FOUND, "%s", call->missing);
        return;
    }
    res_etag(c, r->res, 1);
    const char *body = db_value(r->res, 0, 0);
    call_seen(c, call, body);
    res_reply_indexed(c, call, 200, api_param(c, "id"), body);
}

void res_get(struct api_ctx *c, const char *stmt, const char *id, const struct res_call *call)
{
    const char *params[] = {id, call_scope(c, call)};
    res_run(c, stmt, 2, params, call, res_done);
}

void res_get_id(struct api_ctx *c, const struct res_call *call)
{
    const char *id = res_id(c, call->missing);
    if (id)
        res_get(c, call->get_stmt, id, call);
}

/* ---- lists ------------------------------------------------------------------------------ */

#define RES_PAGE_TEXT 24
#define RES_LIMIT_DEFAULT 50
#define RES_OFFSET_MAX 1000000

struct res_page {
    char limit[RES_PAGE_TEXT], offset[RES_PAGE_TEXT];
};

/* ?limit= (default 50, 1..max) and ?offset= (0..1000000) as decimal texts for the statement;
 * their problems go to a. */
static void res_page_read(const struct api_ctx *c, struct res_args *a, long max,
                          struct res_page *page)
{
    const char *l = res_arg(c, a, "limit", RES_PAGE_TEXT);
    const char *o = res_arg(c, a, "offset", RES_PAGE_TEXT);
    long lim = max < RES_LIMIT_DEFAULT ? max : RES_LIMIT_DEFAULT, off = 0;
    char *end;
    if (l && ((lim = strtol(l, &end, 10)) < 1 || lim > max || *end)) {
        char msg[64];
        snprintf(msg, sizeof msg, "must be a whole number from 1 to %ld", max);
        jsonv_error(&a->v, "limit", msg);
    }
    if (o && ((off = strtol(o, &end, 10)) < 0 || off > RES_OFFSET_MAX || *end))
        jsonv_error(&a->v, "offset", "must be a whole number from 0 to 1000000");
    snprintf(page->limit, sizeof page->limit, "%ld", lim);
    snprintf(page->offset, sizeof page->offset, "%ld", off);
}

static const struct res_call list_call = {.missing = "not found"};

void res_list(struct api_ctx *c, const char *stmt, struct res_args *a,
              const char *const *filters, int nfilters)
{
    res_list_call(c, stmt, a, filters, nfilters, &list_call);
}

void res_list_call(struct api_ctx *c, const char *stmt, struct res_args *a,
                   const char *const *filters, int nfilters, const struct res_call *call)
{
    struct res_page page;
    res_page_read(c, a, RES_LIMIT_MAX, &page);
    if (!res_args_ok(c, a, "check the query parameters"))
        return;
    const char *params[3 + RES_MAX_FILTERS] = {page.limit, page.offset, call_scope(c, call)};
    if (nfilters > RES_MAX_FILTERS)
        nfilters = RES_MAX_FILTERS;
    for (int i = 0; i < nfilters; i++)
        params[3 + i] = filters[i];
    res_run(c, stmt, 3 + nfilters, params, call, res_done);
}

/* {"<key>":[<row json>,...],"total":<total>} assembled from the rows' JSON texts without
 * parsing them again. malloc'ed; NULL when out of memory. */
static char *res_rows_json(const PGresult *res, int total_col, const char *key, size_t *len)
{
    int n = PQntuples(res);
    size_t size = strlen(key) + 64;
    for (int i = 0; i < n; i++)
        size += strlen(db_value(res, i, 0)) + 1;
    char *out = malloc(size);
    if (!out)
        return NULL;
    size_t o = (size_t)snprintf(out, size, "{\"%s\":[", key);
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, size - o, "%s%s", i ? "," : "", db_value(res, i, 0));
    o += (size_t)snprintf(out + o, size - o, "],\"total\":%s}",
                          n ? db_value(res, 0, total_col) : "0");
    *len = o;
    return out;
}

/* Access-logs each stay the rows show, once however many rows show it; false when out of
 * memory (the rows must not be shown unlogged). */
static bool res_log_stays(struct api_ctx *c, const PGresult *res, int col, const char *action)
{
    int n = PQntuples(res);
    const char **ids = calloc((size_t)n + 1, sizeof *ids);
    if (!ids)
        return false;
    size_t nids = 0;
    for (int i = 0; i < n; i++) {
        const char *id = db_value(res, i, col);
        bool seen = !*id;
        for (size_t k = 0; k < nids && !seen; k++)
            seen = strcmp(ids[k], id) == 0;
        if (!seen)
            ids[nids++] = id;
    }
    access_log_stays(c, action, ids, nids);
    free(ids);
    return true;
}

static void res_rows_done(struct api_ctx *c, const struct db_result *r)
{
    const struct res_rows *rows = c->state;
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    size_t len;
    char *out = res_rows_json(r->res, rows->total_col, rows->key, &len);
    if (!out || (rows->stay_col >= 0 && !res_log_stays(c, r->res, rows->stay_col, rows->action))) {
        free(out);
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    if (rows->no_store)
        http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_raw(c, 200, "application/json", out, len);
    free(out);
}

void res_list_rows(struct api_ctx *c, const char *stmt, struct res_args *a,
                   const char *const *args, int nargs, const struct res_rows *rows)
{
    struct res_page page;
    res_page_read(c, a, rows->max_limit, &page);
    if (!res_args_ok(c, a, "check the query parameters"))
        return;
    const char *params[RES_MAX_ARGS + 2];
    if (nargs > RES_MAX_ARGS)
        nargs = RES_MAX_ARGS;
    for (int i = 0; i < nargs; i++)
        params[i] = args[i];
    params[nargs] = page.limit;
    params[nargs + 1] = page.offset;
    /* Like calls, rows descriptions are static tables the context only borrows. */
    c->state = (void *)rows;
    c->state_free = NULL;
    api_query(c, stmt, nargs + 2, params, res_rows_done);
}

/* The version a conditional PATCH must find, as text into buf; NULL for "no condition".
 * Replies 400 and returns false for a malformed If-Match. */
static bool res_patch_condition(struct api_ctx *c, const struct res_call *call, char *buf,
                                size_t size, const char **out)
{
    const char *header = http_request_header(c->req, "If-Match");
    *out = NULL;
    if (!call->versioned || !header)
        return true;
    long version = 0;
    switch (res_if_match_parse(header, &version)) {
    case RES_MATCH_MALFORMED:
        api_reply_problem(c, PROBLEM_BAD_REQUEST,
                          "If-Match must be * or an entity tag in quotes, such as \"7\"");
        return false;
    case RES_MATCH_ANY:
        return true;
    case RES_MATCH_NEVER:
        version = 0; /* versions start at 1: the update finds nothing, then 412 or 404 */
        break;
    case RES_MATCH_VERSION:
        break;
    }
    snprintf(buf, size, "%ld", version);
    *out = buf;
    return true;
}

/* 422 for the body's problems, consuming the document; true when there are none. */
static bool res_body_ok(struct api_ctx *c, struct jsonv *v, cJSON *doc)
{
    if (jsonv_ok(v))
        return true;
    cJSON_Delete(doc);
    res_reply_invalid(c, v, "check the highlighted fields");
    return false;
}

void res_patch(struct api_ctx *c, const char *stmt, const char *id, cJSON *patch,
               struct jsonv *v, const struct res_call *call)
{
    res_patch_then(c, stmt, id, patch, v, call, res_done);
}

void res_patch_then(struct api_ctx *c, const char *stmt, const char *id, cJSON *patch,
                    struct jsonv *v, const struct res_call *call, api_query_cb done)
{
    char vbuf[24];
    const char *version;
    if (!res_body_ok(c, v, patch))
        return;
    if (!res_patch_condition(c, call, vbuf, sizeof vbuf, &version)) {
        cJSON_Delete(patch);
        return;
    }
    if (!patch->child) {
        cJSON_Delete(patch);
        res_get(c, call->get_stmt, id, call);
        return;
    }
    char *text = cJSON_PrintUnformatted(patch);
    cJSON_Delete(patch);
    if (!text) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    const char *params[] = {text, id, call_scope(c, call), version};
    res_run(c, stmt, 4, params, call, done);
    cJSON_free(text);
}

/* ---- entity tags ------------------------------------------------------------------------ */

/* Next entity tag in a comma-separated header value: sets *tag and *len to the tag with its
 * quotes (or "*") and *weak for W/; returns where to go on, or NULL at the end or when
 * something that is not an entity tag sets *malformed. */
static const char *etag_next(const char *p, const char **tag, size_t *len, bool *weak,
                             bool *malformed)
{
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    if (!*p)
        return NULL;
    *weak = strncmp(p, "W/", 2) == 0;
    if (*weak)
        p += 2;
    const char *start = p;
    if (*p == '*') {
        p++;
    } else if (*p == '"' && strchr(p + 1, '"')) {
        p = strchr(p + 1, '"') + 1;
    } else {
        *malformed = true;
        return NULL;
    }
    *tag = start;
    *len = (size_t)(p - start);
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p && *p != ',') {
        *malformed = true;
        return NULL;
    }
    return p;
}

enum res_if_match res_if_match_parse(const char *header, long *version)
{
    const char *tag;
    size_t len;
    bool weak, malformed = false, any = false, found = false;
    for (const char *p = header; (p = etag_next(p, &tag, &len, &weak, &malformed));) {
        if (len == 1 && *tag == '*') {
            any = true;
        } else if (!weak && !found && len >= 3 && len <= 12) {
            char digits[16];
            memcpy(digits, tag + 1, len - 2);
            digits[len - 2] = '\0';
            found = res_parse_long(digits, 1, 2147483647L, version);
        }
    }
    if (malformed)
        return RES_MATCH_MALFORMED;
    if (any)
        return RES_MATCH_ANY;
    return found ? RES_MATCH_VERSION : RES_MATCH_NEVER;
}

/* ---- creation --------------------------------------------------------------------------- */

static void res_created(struct api_ctx *c, const struct db_result *r)
{
    const struct res_call *call = c->state;
    if (r->status != DB_OK) {
        res_reply_db_error(c, r, call->refusals);
        return;
    }
    if (PQntuples(r->res) != 1) {
        api_reply_problem(c, PROBLEM_INTERNAL, "the create statement returned no outcome");
        return;
    }
    const char *outcome = db_value(r->res, 0, 0);
    if (idem_reply_refusal(c, outcome))
        return; /* key_mismatch, key_running */
    if (!strcmp(outcome, "created") || !strcmp(outcome, "replayed")) {
        char location[128];
        snprintf(location, sizeof location, "%s/%s", call->location, db_value(r->res, 0, 2));
        http_reply_header(c->req, "Location", location);
        if (!strcmp(outcome, "replayed"))
            idem_mark_replayed(c);
        res_etag(c, r->res, 3);
        const char *body = db_value(r->res, 0, 1);
        call_seen(c, call, body);
        res_reply_indexed(c, call, 201, db_value(r->res, 0, 2), body);
    } else {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "%s", call->missing);
    }
}

void res_create(struct api_ctx *c, const char *stmt, cJSON *doc, struct jsonv *v,
                const struct res_call *call)
{
    const char *key;
    char hash[DIGEST_HEX_LEN];
    if (!res_body_ok(c, v, doc))
        return;
    if (!idem_key(c, &key) || (key && !idem_request_fingerprint(c, NULL, hash))) {
        cJSON_Delete(doc);
        return;
    }
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not prepare the request");
        return;
    }
    const char *params[] = {text, c->who.user_id, key ? hash : NULL, key, c->req->path,
                            call_scope(c, call)};
    res_run(c, stmt, 6, params, call, res_created);
    cJSON_free(text);
}

/* ---- validation ------------------------------------------------------------------------- */

void res_reply_invalid(struct api_ctx *c, struct jsonv *v, const char *detail)
{
    api_reply_problem_full(c, PROBLEM_VALIDATION, detail, jsonv_take_errors(v), NULL);
}

void res_reply_field(struct api_ctx *c, const char *field, const char *message,
                     const char *detail)
{
    struct jsonv v;
    jsonv_init(&v);
    jsonv_error(&v, field, message);
    res_reply_invalid(c, &v, detail);
}


bool res_text(struct jsonv *v, const cJSON *obj, const char *field, bool required, size_t max,
              const char **out)
{
    const char *s;
    if (!jsonv_string(v, obj, field, required, 1, max, &s))
        return false;
    for (const char *p = s; *p; p++)
        if (!isspace((unsigned char)*p)) {
            *out = s;
            return true;
        }
    jsonv_error(v, field, "must not be blank");
    return false;
}

bool res_is_cbs_code(const char *s)
{
    if (!s || strlen(s) != 6 || s[0] != 'G' || s[1] != 'M')
        return false;
    for (int i = 2; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

void res_refuse_nulls(struct jsonv *v, const cJSON *obj, const char *const *nullable)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        if (!cJSON_IsNull(m))
            continue;
        bool allowed = false;
        for (const char *const *n = nullable; n && *n && !allowed; n++)
            allowed = strcmp(*n, m->string) == 0;
        if (!allowed)
            jsonv_error(v, m->string, "must not be null; leave it out to keep the current value");
    }
}

void res_nest_errors(struct jsonv *v, struct jsonv *inner, const char *prefix)
{
    cJSON *errors = jsonv_take_errors(inner), *e;
    cJSON_ArrayForEach(e, errors)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "field");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
        char field[160];
        snprintf(field, sizeof field, "%s%s", prefix, cJSON_IsString(f) ? f->valuestring : "");
        jsonv_error(v, field, cJSON_IsString(m) ? m->valuestring : "is invalid");
    }
    cJSON_Delete(errors);
}

/* The BSN eleven-test on 9 digits. */
static bool res_is_bsn(const char *d)
{
    int sum = 0;
    for (int i = 0; i < 8; i++)
        sum += (9 - i) * (d[i] - '0');
    return (sum - (d[8] - '0')) % 11 == 0;
}

bool res_text_has_bsn(const char *s)
{
    while (*s) {
        if (*s < '0' || *s > '9') {
            s++;
            continue;
        }
        const char *start = s;
        while (*s >= '0' && *s <= '9')
            s++;
        if (s - start == 9 && res_is_bsn(start))
            return true;
    }
    return false;
}

/* ---- answers computed from the data ------------------------------------------------------ */

/* True when an If-None-Match list names etag (weak or strong: RFC 9110 13.1.2 compares weakly)
 * or is "*". */
static bool none_match_names(const char *header, const char *etag)
{
    if (!header)
        return false;
    while (*header == ' ')
        header++;
    if (strcmp(header, "*") == 0)
        return true;
    size_t n = strlen(etag);
    for (const char *p = strstr(header, etag); p; p = strstr(p + 1, etag)) {
        char after = p[n];
        if (after == '\0' || after == ',' || after == ' ')
            return true;
    }
    return false;
}

void res_reply_tagged(struct api_ctx *c, const char *content_type, const char *body,
                      size_t len, const char *cache_control)
{
    char hex[DIGEST_HEX_LEN], etag[40];
    digest_sha256_hex(body, len, hex);
    /* 128 bits of the hash tell versions apart as well as all 256, in a shorter header. */
    snprintf(etag, sizeof etag, "\"%.32s\"", hex);
    http_reply_header(c->req, "ETag", etag);
    http_reply_header(c->req, "Cache-Control", cache_control);
    if (none_match_names(http_request_header(c->req, "If-None-Match"), etag)) {
        api_reply_empty(c, 304);
        return;
    }
    api_reply_raw(c, 200, content_type, body, len);
}
