/* resource: the api layer's request toolkit; every handler answers through it. Ids in paths
 * and the caller's ownership scope; query arguments and paging, with one 400 and one 422 for
 * them; validation replies; tables that turn database refusals (constraint names, function
 * outcomes) into problems; the statement patterns of the inventory resources (get, list,
 * partial update, idempotent create); lists of rows with their access log; entity tags.
 * Internal to src/api/. It never shapes a resource's JSON (each resource's SQL does, so a
 * shape lives in one file) and never decides who may call a route (the route tables do). */
#ifndef LOGEER_API_RESOURCE_H
#define LOGEER_API_RESOURCE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "logeer/api.h"
#include "logeer/events.h"
#include "logeer/jsonv.h"

#define RES_LIMIT_MAX 200
#define RES_MAX_FILTERS 6
#define RES_MAX_ARGS 8     /* a rows list's own arguments */

/* ---- SQL building blocks ------------------------------------------------------------------
 * Every statement aliases its table as r. The statement families and their parameters:
 *   get:    $1 id, $2 scope                       -> one row: the object's JSON, its version
 *   list:   $1 limit, $2 offset, $3 scope, $4.. filters -> one row: the whole body
 *   patch:  $1 patch (jsonb), $2 id, $3 scope, $4 If-Match version or NULL
 *                                                 -> one row: the updated JSON, its version
 *   create: $1 document (jsonb), $2 principal, $3 request fingerprint (hex; NULL without a
 *           key), $4 Idempotency-Key or NULL, $5 path, $6 scope
 *                                                 -> one row: outcome, body, id, version
 * "version" is the JSON's own "version" member (NULL for resources without one); it becomes
 * the reply's ETag, so the tag always describes exactly the body it comes with.
 * scope is the caller's provider id for provider staff and NULL for everyone else, so that
 * "another provider's object" and "no such object" are the same empty result (answered 404). */

/* An instant as RFC 3339 in UTC. */
#define RES_TS(expr) "to_char(" expr " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* A JSON array of strings in a jsonb document as text[], in order (empty when absent). */
#define RES_TEXT_ARRAY(doc, field)                                                           \
    "ARRAY(SELECT e FROM jsonb_array_elements_text(" doc "->'" field "') "                    \
    "WITH ORDINALITY AS t (e, i) ORDER BY i)"

/* Partial update of one column from the patch $1: the column keeps its value unless the patch
 * names it. A JSON null in the patch sets SQL NULL (handlers allow that only where it means
 * "clear"). */
#define RES_SET_TEXT(col)                                                                    \
    col " = CASE WHEN $1::jsonb ? '" col "' THEN $1::jsonb->>'" col "' ELSE r." col " END"
#define RES_SET_CAST(col, type)                                                              \
    col " = CASE WHEN $1::jsonb ? '" col "' THEN ($1::jsonb->>'" col "')::" type             \
    " ELSE r." col " END"
#define RES_SET_ARRAY(col)                                                                   \
    col " = CASE WHEN $1::jsonb ? '" col "' THEN " RES_TEXT_ARRAY("$1::jsonb", col)          \
    " ELSE r." col " END"

/* The ownership condition on column owner for the scope parameter $n. */
#define RES_OWNED(owner, n) "($" n "::uuid IS NULL OR r." owner " = $" n "::uuid)"

#define RES_GET_SQL(json, table, owner)                                                      \
    "SELECT j::text, j->>'version' FROM (SELECT " json " AS j FROM " table " r "              \
    "WHERE r.id = $1::uuid AND " RES_OWNED(owner, "2") ") AS s"

/* One row holding {"<key>": [...page...], "total": n}; total counts every match, so a client
 * can page on past the end and still learn how many there are. */
#define RES_LIST_SQL(key, json, table, owner, filter, order)                                 \
    "WITH f AS (SELECT r.* FROM " table " r WHERE " RES_OWNED(owner, "3") " AND " filter "), " \
    "page AS (SELECT * FROM f r ORDER BY " order " LIMIT $1::int OFFSET $2::int) "            \
    "SELECT json_build_object('" key "', coalesce((SELECT json_agg(" json " ORDER BY " order  \
    ") FROM page r), '[]'::json), 'total', (SELECT count(*) FROM f))::text"

/* version is the row's version column, or NULL for a table without one. */
#define RES_PATCH_SQL(json, table, owner, sets, version)                                     \
    "WITH u AS (UPDATE " table " AS r SET " sets " WHERE r.id = $2::uuid AND "                \
    RES_OWNED(owner, "3") " AND ($4::int IS NULL OR " version " = $4::int) "                  \
    "RETURNING " json " AS j) SELECT j::text, j->>'version' FROM u"

/* Creation with Idempotency-Key (spec 5) in one statement, hence one transaction: a retry
 * with the same key and request gets the stored response, another request with that key
 * gets key_mismatch, and of two concurrent first attempts the second fails on the key's
 * primary key (idempotency_keys_pkey, answered 409: the original is still running) and its
 * insert is rolled back with it; a replay waits until the original's commit is on disk
 * (logeer_durable_read, migration 0048). insert is "table AS r (columns)"; select is a complete
 * "SELECT ... [FROM ...] WHERE ..." to which the statement appends a condition; an empty
 * select (the parent was not found) gives the outcome not_found. */
#define RES_CREATE_SQL(insert, select, json)                                                 \
    "WITH prior AS (SELECT k.state, k.request_hash = decode($3::text, 'hex') AS same, "       \
    "k.response_body FROM idempotency_keys k WHERE k.principal_id = $2::uuid "                \
    "AND k.key = $4::text), "                                                                 \
    "ins AS (INSERT INTO " insert " " select " AND NOT EXISTS (SELECT 1 FROM prior) "         \
    "RETURNING " json "::text AS body, r.id), "                                               \
    "rec AS (INSERT INTO idempotency_keys (principal_id, key, method, path, request_hash, "   \
    "state, status_code, response_body, response_headers, completed_at) "                     \
    "SELECT $2::uuid, $4::text, 'POST', $5::text, decode($3::text, 'hex'), 'done', 201, "     \
    "ins.body, jsonb_build_object('Location', $5::text || '/' || ins.id), now() FROM ins "    \
    "WHERE $4::text IS NOT NULL) "                                                            \
    "SELECT CASE WHEN p.state = 'running' THEN 'key_running' "                                \
    "WHEN p.same AND logeer_durable_read() THEN 'replayed' "                                  \
    "WHEN p.same IS NOT NULL THEN 'key_mismatch' WHEN i.body IS NOT NULL THEN 'created' "     \
    "ELSE 'not_found' END, coalesce(i.body, CASE WHEN p.same THEN p.response_body END), "     \
    "coalesce(i.id::text, CASE WHEN p.same THEN p.response_body::json->>'id' END), "          \
    "coalesce(i.body, CASE WHEN p.same THEN p.response_body END)::json->>'version' "          \
    "FROM (SELECT 1) AS one LEFT JOIN prior p ON true LEFT JOIN ins i ON true"

/* ---- query arguments ----------------------------------------------------------------------- */

#define RES_ARGS_TEXT 2048

/* A handler's query arguments as it reads them: their decoded texts (valid as long as this
 * is), the problems found in them (v, for 422) and whether one was malformed (400). */
struct res_args {
    struct jsonv v;
    bool malformed;
    size_t used;
    char text[RES_ARGS_TEXT];
};

void res_args_init(struct res_args *a);

/* ?name= percent-decoded; NULL when absent or empty. A malformed value, or one that does not
 * fit in size bytes with its NUL, sets a->malformed. */
const char *res_arg(const struct api_ctx *c, struct res_args *a, const char *name, size_t size);

/* ?name= that must be an id (the shape of a UUID) when given; otherwise message goes to a->v. */
const char *res_arg_id(const struct api_ctx *c, struct res_args *a, const char *name,
                       const char *message);

/* After reading and checking: 400 when an argument was malformed or overlong, else 422 with
 * a->v's errors and detail; true (nothing sent) when neither. Frees a->v's errors always. */
bool res_args_ok(struct api_ctx *c, struct res_args *a, const char *detail);

/* ---- database refusals --------------------------------------------------------------------- */

/* A refusal from the database that a client can act on: a constraint that refused a write
 * (matched by its name) or a database function's outcome (matched by the outcome). */
struct res_refusal {
    const char *name;         /* constraint name or outcome; NULL ends a table */
    enum problem_kind kind;
    const char *field;        /* with PROBLEM_VALIDATION: the field to name, else NULL */
    const char *message;      /* the field message or the problem's detail */
};

/* Maps a failed statement. With a table (inventory writes): its constraints and the shared
 * ones to their problems, any other integrity violation to 422. Without one (NULL): the
 * global mapping of api_reply_db_error, under which 23514 means no beds. */
void res_reply_db_error(struct api_ctx *c, const struct db_result *r,
                        const struct res_refusal *constraints);

/* A database function that takes one jsonb argument ($1) and answers with logeer_result. */
#define RES_RESULT_SQL(function)                                                             \
    "SELECT outcome, status, body, detail::text FROM " function "($1::jsonb)"

/* The one row of a database function that answers with logeer_result. */
struct res_result {
    const char *outcome;      /* "created", "ok", "no_beds", ... */
    int status;               /* the HTTP status the function chose, or 0 */
    const char *body;         /* the JSON answer, or "" */
    const char *detail;       /* a JSON object with particulars of a refusal, or "" */
};

/* Reads that row into out; false after replying to a failed statement (mapped as
 * res_reply_db_error with constraints) or a missing row (500). Valid until the callback
 * returns. */
bool res_result_read(struct api_ctx *c, const struct db_result *r,
                     const struct res_refusal *constraints, struct res_result *out);

/* The function's particulars of a refusal as a JSON object (the caller deletes it), or NULL
 * when there are none. */
cJSON *res_result_detail(const struct res_result *res);

/* Answers an outcome that is not a success: from outcomes (a table, or NULL), with the
 * function's detail object merged into the problem; the Idempotency-Key refusals
 * (key_mismatch, key_running) for every route alike; 500 for anything else. */
void res_reply_outcome(struct api_ctx *c, const struct res_result *res,
                       const struct res_refusal *outcomes);

/* ---- running statements -------------------------------------------------------------------- */

/* For a callback that expects exactly one row: false after replying to a failed statement
 * (api_reply_db_error) or to no row (404 with missing). */
bool res_one_row(struct api_ctx *c, const struct db_result *r, const char *missing);

/* Runs stmt with arg's JSON text as its one parameter (the database functions take one jsonb
 * argument). Consumes arg; the text is wiped after use, as it may carry a password hash. */
void res_query_json(struct api_ctx *c, const char *stmt, cJSON *arg, api_query_cb cb);

/* The same for a function that only reads: api_query_read (the replica when there is one). */
void res_query_json_read(struct api_ctx *c, const char *stmt, cJSON *arg, api_query_cb cb);

/* State for the request's callbacks: size zeroed bytes in c->state, freed with free_fn (NULL:
 * free) when the request ends. NULL after answering 500. */
void *res_state_new(struct api_ctx *c, size_t size, void (*free_fn)(void *));

/* Replies with a JSON text, typically a body the database shaped. */
void res_reply_body(struct api_ctx *c, int status, const char *json);

/* How one resource's statements become replies; handlers keep these static. */
struct res_call {
    const char *missing;                  /* 404 detail when no row comes back */
    const char *location;                 /* creates: the collection path, e.g. "/v1/pools" */
    const char *get_stmt;                 /* the resource's get statement */
    bool versioned;                       /* has "version": PATCH honours If-Match */
    const struct res_refusal *refusals;   /* NULL or a table of constraints ending in {NULL} */
    /* For resources a provider does not own (guests, intakes, allowances): the scope parameter
     * of the statements for this caller instead of res_scope (e.g. a caregiver's own id);
     * NULL means res_scope. */
    const char *(*scope)(const struct api_ctx *c);
    /* Called with every body about to be sent, so that reads of personal data reach the
     * access log; NULL when the resource holds none. */
    void (*seen)(struct api_ctx *c, const char *body);
    /* For resources the availability index describes (pools, locations, providers): what a
     * create or PATCH reloads into this process's index before it answers, so the caller's
     * next search or booking here sees the change; SYNC_NONE (0) for the rest. */
    enum sync_scope index_scope;
};

/* The caller's provider id when the caller is provider staff, else NULL (sees everything the
 * route's roles allow). */
const char *res_scope(const struct api_ctx *c);
/* The provider an object created by this request belongs to: provider staff's own (the body's
 * provider_id may be left out or name it, nothing else), else the body's provider_id, which
 * is then required; `what` ends "is required: the provider ..." (e.g. "whose events go
 * there"). Problems are added to v; the result is NULL when there is none. */
const char *res_body_provider(struct api_ctx *c, struct jsonv *v, const char *what);

/* Answers an idempotent create (RES_CREATE_SQL) whose first answer alone carries a secret the
 * database never holds (an API key, a webhook signing secret): 201 with Location (location
 * + "/" + id), an ETag when the row has a version, Cache-Control: no-store, and the secret as
 * member `field`, except in a replay. Refusals as res_reply_db_error; an owner that is not
 * the caller's is a 422 on provider_id saying not_owner. */
void res_reply_created_secret(struct api_ctx *c, const struct db_result *r,
                              const struct res_refusal *refusals, const char *location,
                              const char *not_owner, const char *field, const char *secret);

/* The {id} path parameter when it has the shape of a UUID; otherwise replies 404 with
 * missing (an id of the wrong shape cannot exist) and returns NULL. */
const char *res_id(struct api_ctx *c, const char *missing);

/* get: replies 200 with the object, or 404 call->missing. */
void res_get(struct api_ctx *c, const char *stmt, const char *id, const struct res_call *call);

/* GET <collection>/{id}: res_id, then res_get with the call's get statement. */
void res_get_id(struct api_ctx *c, const struct res_call *call);

/* list (one row holding the whole body, RES_LIST_SQL): reads ?limit= (default 50, 1..200)
 * and ?offset= into a and answers as res_args_ok; otherwise runs stmt with the page, the scope
 * and nfilters filters (NULL entries mean "no filter"). */
void res_list(struct api_ctx *c, const char *stmt, struct res_args *a,
              const char *const *filters, int nfilters);
/* The same with a call's scope and seen hook (its missing, location and get_stmt unused). */
void res_list_call(struct api_ctx *c, const char *stmt, struct res_args *a,
                   const char *const *filters, int nfilters, const struct res_call *call);

/* A list whose statement returns one row per item: the item's JSON in column 0 and the count
 * of all matches (count(*) OVER ()) in total_col. Handlers keep these static. */
struct res_rows {
    const char *key;          /* the body's list member, e.g. "stays" */
    long max_limit;           /* the largest ?limit= */
    int total_col;
    int stay_col;             /* the column of the stay a row shows (access-logged), or -1 */
    const char *action;       /* with stay_col: the access-log action, e.g. "stay.list" */
    bool no_store;            /* the answer must not be cached */
};

/* list (rows): pages and answers as res_list, then runs stmt with the handler's nargs
 * arguments followed by the limit and the offset, and replies {"<key>": [...], "total": n}.
 * Each stay shown is access-logged once. */
void res_list_rows(struct api_ctx *c, const char *stmt, struct res_args *a,
                   const char *const *args, int nargs, const struct res_rows *rows);

/* patch: 422 when v (the body's validation) holds errors. Otherwise runs stmt with the patch
 * document, or the get statement when the patch is empty (nothing to change: the object
 * comes back as it is, its version not bumped). For a versioned resource an If-Match header
 * makes the change conditional: 412 when the version differs, 428 never (If-Match is
 * optional here). Consumes patch. */
void res_patch(struct api_ctx *c, const char *stmt, const char *id, cJSON *patch,
               struct jsonv *v, const struct res_call *call);
/* The same, answered by done instead of the one-row reply: for a statement that decides more
 * than "changed or not" (e.g. refuses a limit below what is used). */
void res_patch_then(struct api_ctx *c, const char *stmt, const char *id, cJSON *patch,
                    struct jsonv *v, const struct res_call *call, api_query_cb done);

/* create: 422 when v holds errors. Otherwise honours Idempotency-Key and replies 201 with a
 * Location header, the replayed response, 404 call->missing (parent not found) or the mapped
 * problem. Consumes doc. */
void res_create(struct api_ctx *c, const char *stmt, cJSON *doc, struct jsonv *v,
                const struct res_call *call);

/* ---- entity tags -------------------------------------------------------------------------- */

enum res_if_match {
    RES_MATCH_ANY,        /* "*" */
    RES_MATCH_VERSION,    /* a strong tag holding a version we issue */
    RES_MATCH_NEVER,      /* only tags that cannot match (weak, or not a version of ours) */
    RES_MATCH_MALFORMED,  /* not a list of entity tags */
};

/* If-Match uses the strong comparison (RFC 9110 13.1.1). The database compares one version,
 * so of several tags only the first usable one is tried: a refusal is safe, the client reads
 * again and retries. */
enum res_if_match res_if_match_parse(const char *header, long *version);

/* ---- validation ---------------------------------------------------------------------------- */

/* 422 with v's errors and detail. */
void res_reply_invalid(struct api_ctx *c, struct jsonv *v, const char *detail);

/* 422 naming one field. */
void res_reply_field(struct api_ctx *c, const char *field, const char *message,
                     const char *detail);

/* A string of 1..max bytes that is not only white space (names, reasons). */
bool res_text(struct jsonv *v, const cJSON *obj, const char *field, bool required, size_t max,
              const char **out);

/* A CBS municipality code's shape: "GM" and four digits. */
bool res_is_cbs_code(const char *s);

/* For partial updates: every member of obj that is JSON null and not in the NULL-terminated
 * nullable list is an error (a null would otherwise read as "absent" and be ignored). */
void res_refuse_nulls(struct jsonv *v, const cJSON *obj, const char *const *nullable);

/* Moves inner's errors into v, each field prefixed (e.g. "ranges[2]." + "from"). */
void res_nest_errors(struct jsonv *v, struct jsonv *inner, const char *prefix);

/* True when a run of exactly 9 digits in s passes the eleven-test of a citizen service
 * number (BSN); logeer_text_has_bsn in migrations/0012_allowances.sql agrees. Free text
 * (references, notes) must never carry one. */
bool res_text_has_bsn(const char *s);

/* A whole number in a query argument within [min, max]. */
bool res_parse_long(const char *s, long min, long max, long *out);

/* ---- answers computed from the data (open figures, calendar feeds) -------------------------- */

/* Replies 200 with body under a strong ETag made from the body itself (a hash), or 304
 * without a body when If-None-Match names that tag (or is "*"); both with cache_control. For
 * answers that have no version of their own, so that a client polling them costs a 304 as
 * long as nothing changed. */
void res_reply_tagged(struct api_ctx *c, const char *content_type, const char *body,
                      size_t len, const char *cache_control);

#endif
