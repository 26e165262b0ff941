/* resource: the statement patterns the inventory resources share (get with ownership, list
 * with paging, partial update, idempotent create) and the mapping of their database refusals
 * to problems. Never shapes a resource's JSON and never decides who may call a route: the
 * resource's SQL and route table do. */
#include "resource.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/log.h"

/* Refusals every resource can meet. */
static const struct res_conflict shared_conflicts[] = {
    {"idempotency_keys_pkey", PROBLEM_IDEMPOTENCY_RUNNING, NULL,
     "the first request with this Idempotency-Key has not finished; retry shortly"},
    {NULL, 0, NULL, NULL},
};

const char *res_scope(const struct api_ctx *c)
{
    /* Provider staff always carry a provider id (a database constraint); were it ever empty,
     * the cast to uuid fails and the request errs instead of seeing everything. */
    return c->who.role == ROLE_PROVIDER ? c->who.provider_id : NULL;
}

const char *res_id(struct api_ctx *c, const char *missing)
{
    const char *id = api_param(c, "id");
    if (api_is_uuid(id))
        return id;
    api_reply_problem(c, PROBLEM_NOT_FOUND, "%s", missing);
    return NULL;
}

static const struct res_conflict *conflict_find(const struct res_conflict *table,
                                                const char *constraint)
{
    for (; table && table->constraint; table++)
        if (strcmp(table->constraint, constraint) == 0)
            return table;
    return NULL;
}

static void reply_conflict(struct api_ctx *c, const struct res_conflict *m)
{
    if (m->kind == PROBLEM_VALIDATION && m->field) {
        struct jsonv v;
        jsonv_init(&v);
        jsonv_error(&v, m->field, m->message);
        res_reply_invalid(c, &v, "check the highlighted fields");
        return;
    }
    api_reply_problem(c, m->kind, "%s", m->message);
}

void res_reply_db_error(struct api_ctx *c, const struct db_result *r,
                        const struct res_conflict *conflicts)
{
    const char *constraint = NULL;
    if (r->status == DB_ERROR && r->res)
        constraint = PQresultErrorField(r->res, PG_DIAG_CONSTRAINT_NAME);
    if (constraint) {
        const struct res_conflict *m = conflict_find(conflicts, constraint);
        if (!m)
            m = conflict_find(shared_conflicts, constraint);
        if (m) {
            reply_conflict(c, m);
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
        res_reply_db_error(c, r, call->conflicts);
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

/* The one callback of get, list and patch: a single row whose first column is the body. */
static void res_done(struct api_ctx *c, const struct db_result *r)
{
    const struct res_call *call = c->state;
    if (r->status != DB_OK) {
        res_reply_db_error(c, r, call->conflicts);
        return;
    }
    if (PQntuples(r->res) != 1 || db_is_null(r->res, 0, 0)) {
        bool conditional = c->req->method == HTTP_PATCH && call->versioned &&
                           http_request_header(c->req, "If-Match");
        if (conditional) {
            const char *params[] = {api_param(c, "id"), res_scope(c)};
            res_run(c, call->get_stmt, 2, params, call, res_precondition_checked);
            return;
        }
        api_reply_problem(c, PROBLEM_NOT_FOUND, "%s", call->missing);
        return;
    }
    res_etag(c, r->res, 1);
    const char *body = db_value(r->res, 0, 0);
    api_reply_raw(c, 200, "application/json", body, strlen(body));
}

void res_get(struct api_ctx *c, const char *stmt, const char *id, const struct res_call *call)
{
    const char *params[] = {id, res_scope(c)};
    res_run(c, stmt, 2, params, call, res_done);
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

static const struct res_call list_call = {"not found", NULL, NULL, false, NULL};

void res_list(struct api_ctx *c, const char *stmt, struct jsonv *v, bool malformed,
              const char *const *filters, int nfilters)
{
    char lims[API_PAGE_TEXT], offs[API_PAGE_TEXT];
    api_page(c, v, &malformed, RES_LIMIT_MAX, lims, offs);
    if (malformed) {
        jsonv_free(v);
        api_reply_problem(c, PROBLEM_BAD_REQUEST, "the query string has a malformed or overlong value");
        return;
    }
    if (!jsonv_ok(v)) {
        res_reply_invalid(c, v, "check the query parameters");
        return;
    }
    const char *params[3 + RES_MAX_FILTERS] = {lims, offs, res_scope(c)};
    if (nfilters > RES_MAX_FILTERS)
        nfilters = RES_MAX_FILTERS;
    for (int i = 0; i < nfilters; i++)
        params[3 + i] = filters[i];
    res_run(c, stmt, 3 + nfilters, params, &list_call, res_done);
}

/* The version a conditional PATCH must find, as text into buf; NULL for "no condition".
 * Replies 400 and returns false for a malformed If-Match. */
static bool patch_condition(struct api_ctx *c, const struct res_call *call, char *buf,
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

void res_patch(struct api_ctx *c, const char *stmt, const char *id, cJSON *patch,
               const struct res_call *call)
{
    char vbuf[24];
    const char *version;
    if (!patch_condition(c, call, vbuf, sizeof vbuf, &version)) {
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
    const char *params[] = {text, id, res_scope(c), version};
    res_run(c, stmt, 4, params, call, res_done);
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

static bool idempotency_key_ok(const char *key)
{
    size_t len = strlen(key);
    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return false;
    return true;
}

/* SHA-256 over method, path and body (as idempotency_keys.request_hash documents), so the
 * same key sent to another route is "another request", never a replay. */
static bool request_hash(const struct api_ctx *c, char out[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    const struct http_request *req = c->req;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
              EVP_DigestUpdate(md, req->method_name, strlen(req->method_name)) &&
              EVP_DigestUpdate(md, " ", 1) &&
              EVP_DigestUpdate(md, req->path, strlen(req->path)) &&
              EVP_DigestUpdate(md, "\n", 1) &&
              EVP_DigestUpdate(md, req->body ? req->body : "", req->body_len) &&
              EVP_DigestFinal_ex(md, d, &dlen) && dlen == 32;
    EVP_MD_CTX_free(md);
    for (unsigned i = 0; ok && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return ok;
}

static void res_created(struct api_ctx *c, const struct db_result *r)
{
    const struct res_call *call = c->state;
    if (r->status != DB_OK) {
        res_reply_db_error(c, r, call->conflicts);
        return;
    }
    if (PQntuples(r->res) != 1) {
        api_reply_problem(c, PROBLEM_INTERNAL, "the create statement returned no outcome");
        return;
    }
    const char *outcome = db_value(r->res, 0, 0);
    if (!strcmp(outcome, "created") || !strcmp(outcome, "replayed")) {
        char location[128];
        snprintf(location, sizeof location, "%s/%s", call->location, db_value(r->res, 0, 2));
        http_reply_header(c->req, "Location", location);
        if (!strcmp(outcome, "replayed"))
            http_reply_header(c->req, "Idempotent-Replayed", "true");
        res_etag(c, r->res, 3);
        const char *body = db_value(r->res, 0, 1);
        api_reply_raw(c, 201, "application/json", body, strlen(body));
    } else if (!strcmp(outcome, "key_mismatch")) {
        api_reply_problem(c, PROBLEM_IDEMPOTENCY_MISMATCH,
                          "this Idempotency-Key was used for a different request; use a new key");
    } else if (!strcmp(outcome, "key_running")) {
        api_reply_problem(c, PROBLEM_IDEMPOTENCY_RUNNING,
                          "the first request with this Idempotency-Key has not finished");
    } else {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "%s", call->missing);
    }
}

void res_create(struct api_ctx *c, const char *stmt, cJSON *doc, const struct res_call *call)
{
    const char *key = http_request_header(c->req, "Idempotency-Key");
    if (key && !idempotency_key_ok(key)) {
        cJSON_Delete(doc);
        api_reply_problem(c, PROBLEM_BAD_REQUEST,
                          "Idempotency-Key must be 1 to 255 visible ASCII characters");
        return;
    }
    char hash[65];
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text || !request_hash(c, hash)) {
        cJSON_free(text);
        api_reply_problem(c, PROBLEM_INTERNAL, "could not prepare the request");
        return;
    }
    const char *params[] = {text, c->who.user_id, hash, key, c->req->path, res_scope(c)};
    res_run(c, stmt, 6, params, call, res_created);
    cJSON_free(text);
}

/* ---- validation ------------------------------------------------------------------------- */

void res_reply_invalid(struct api_ctx *c, struct jsonv *v, const char *detail)
{
    api_reply_problem_full(c, PROBLEM_VALIDATION, detail, jsonv_take_errors(v), NULL);
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
