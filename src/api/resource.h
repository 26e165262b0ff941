/* resource: what the inventory resources (providers, locations, pools, capacity) have in
 * common: ids in paths, the caller's ownership scope, paging, idempotent creation, partial
 * updates and one way to turn a statement's JSON row into the reply. Internal to src/api/.
 * It never shapes a resource's JSON: each resource's SQL does, so a shape lives in one file. */
#ifndef LOGEER_API_RESOURCE_H
#define LOGEER_API_RESOURCE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "logeer/api.h"
#include "logeer/jsonv.h"

#define RES_LIMIT_MAX 200
#define RES_MAX_FILTERS 6

/* ---- SQL building blocks ------------------------------------------------------------------
 * Every statement aliases its table as r. The statement families and their parameters:
 *   get:    $1 id, $2 scope                       -> one row: the object's JSON, its version
 *   list:   $1 limit, $2 offset, $3 scope, $4.. filters -> one row: the whole body
 *   patch:  $1 patch (jsonb), $2 id, $3 scope, $4 If-Match version or NULL
 *                                                 -> one row: the updated JSON, its version
 *   create: $1 document (jsonb), $2 principal, $3 request hash (hex), $4 Idempotency-Key or
 *           NULL, $5 path, $6 scope               -> one row: outcome, body, id, version
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
 * insert is rolled back with it. insert is "table AS r (columns)"; select is a complete
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
    "SELECT CASE WHEN p.state = 'running' THEN 'key_running' WHEN p.same THEN 'replayed' "    \
    "WHEN p.same IS NOT NULL THEN 'key_mismatch' WHEN i.body IS NOT NULL THEN 'created' "     \
    "ELSE 'not_found' END, coalesce(i.body, CASE WHEN p.same THEN p.response_body END), "     \
    "coalesce(i.id::text, CASE WHEN p.same THEN p.response_body::json->>'id' END), "          \
    "coalesce(i.body, CASE WHEN p.same THEN p.response_body END)::json->>'version' "          \
    "FROM (SELECT 1) AS one LEFT JOIN prior p ON true LEFT JOIN ins i ON true"

/* ---- running statements -------------------------------------------------------------------- */

/* A database refusal that a client can act on, matched by constraint name. */
struct res_conflict {
    const char *constraint;   /* PostgreSQL constraint name; NULL ends a table */
    enum problem_kind kind;
    const char *field;        /* with PROBLEM_VALIDATION: the field to name, else NULL */
    const char *message;      /* the field message or the problem's detail */
};

/* How one resource's statements become replies; handlers keep these static. */
struct res_call {
    const char *missing;                  /* 404 detail when no row comes back */
    const char *location;                 /* creates: the collection path, e.g. "/v1/pools" */
    const char *get_stmt;                 /* the resource's get statement */
    bool versioned;                       /* has "version": PATCH honours If-Match */
    const struct res_conflict *conflicts; /* NULL or a table ending in {NULL} */
};

/* The caller's provider id when the caller is provider staff, else NULL (sees everything the
 * route's roles allow). */
const char *res_scope(const struct api_ctx *c);

/* The {id} path parameter when it has the shape of a UUID; otherwise replies 404 with
 * missing (an id of the wrong shape cannot exist) and returns NULL. */
const char *res_id(struct api_ctx *c, const char *missing);

/* get: replies 200 with the object, or 404 call->missing. */
void res_get(struct api_ctx *c, const char *stmt, const char *id, const struct res_call *call);

/* list: reads ?limit= (default 50, 1..200) and ?offset=, adds their problems to v and
 * answers 400 when malformed is set (or a paging argument is malformed), 422 when v has
 * errors; otherwise runs stmt with the page, the scope and nfilters filters (NULL entries
 * mean "no filter"). Frees v's errors in every case. */
void res_list(struct api_ctx *c, const char *stmt, struct jsonv *v, bool malformed,
              const char *const *filters, int nfilters);

/* patch: runs stmt with the patch document, or the get statement when the patch is empty
 * (nothing to change: the object comes back as it is, its version not bumped). For a
 * versioned resource an If-Match header makes the change conditional: 412 when the version
 * differs, 428 never (If-Match is optional here). Consumes patch. */
void res_patch(struct api_ctx *c, const char *stmt, const char *id, cJSON *patch,
               const struct res_call *call);

/* create: honours Idempotency-Key and replies 201 with a Location header, the replayed
 * response, 404 call->missing (parent not found) or the mapped problem. Consumes doc. */
void res_create(struct api_ctx *c, const char *stmt, cJSON *doc, const struct res_call *call);

/* Maps a failed statement: constraints in conflicts (then the shared ones) to their
 * problems, any other integrity violation to 422, everything else as api_reply_db_error. */
void res_reply_db_error(struct api_ctx *c, const struct db_result *r,
                        const struct res_conflict *conflicts);

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

/* A whole number in a query argument within [min, max]. */
bool res_parse_long(const char *s, long min, long max, long *out);

#endif
