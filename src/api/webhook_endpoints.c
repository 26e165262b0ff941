/* webhook_endpoints: POST/GET /v1/webhook-endpoints, GET/PATCH/DELETE /v1/webhook-endpoints/{id},
 * POST .../{id}/rotate-secret, the delivery log GET .../{id}/deliveries and
 * POST .../deliveries/{delivery_id}/redeliver.
 * Provider staff manage their own provider's endpoints, the admin everyone's. The secret is
 * made, sealed (src/notify/webhook.c) and shown here once; no answer after the first shows it,
 * and the Idempotency-Key record stores the answer without it. Sending is src/notify/'s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/idempotency.h"
#include "logeer/notify.h"
#include "logeer/webhook.h"
#include "resource.h"

#define HOOK_JSON                                                                            \
    "json_build_object('id', r.id, 'provider_id', r.provider_id, 'url', r.url, "             \
    "'event_types', to_json(r.event_types), 'description', r.description, "                 \
    "'enabled', r.enabled, 'disabled_reason', r.disabled_reason, 'disabled_at', "            \
    RES_TS("r.disabled_at") ", 'failing_since', " RES_TS("r.failing_since") ", "              \
    "'secret_rotated_at', " RES_TS("r.secret_rotated_at") ", 'previous_secret_expires_at', " \
    "CASE WHEN r.secret_prev_until > now() THEN " RES_TS("r.secret_prev_until") " END, "      \
    "'created_at', " RES_TS("r.created_at") ", 'updated_at', "                                \
    RES_TS("r.updated_at") ", 'version', r.version)"

#define DELIVERY_JSON                                                                        \
    "json_build_object('id', r.id, 'endpoint_id', r.recipient, 'event_type', r.kind, "       \
    "'event_id', r.event_id, 'state', r.state, 'attempts', r.attempts, "                     \
    "'next_attempt_at', CASE WHEN r.state = 'pending' AND r.next_attempt_at < 'infinity' "  \
    "THEN " RES_TS("r.next_attempt_at") " END, 'last_status', r.last_status, 'last_error', r.last_error, 'redeliveries', "        \
    "r.redeliveries, 'created_at', " RES_TS("r.created_at") ", 'sent_at', "                   \
    RES_TS("r.sent_at") ")"

#define HOOK_VISIBLE(n) "r.deleted_at IS NULL AND " RES_OWNED("provider_id", n)

#define MISSING "webhook endpoint not found"
#define DELIVERY_MISSING "delivery not found"

static const char *const event_types[] = {"stay.requested", "stay.confirmed", "stay.declined",
                                          "stay.cancelled", "stay.checked_in", "stay.completed",
                                          "waitlist.offered", "capacity.changed", "capacity.stale",
                                          NULL};

static const struct res_refusal hook_refusals[] = {
    {"webhook_endpoints_url_shape", PROBLEM_VALIDATION, "url",
     "must be an absolute http or https URL of at most 2000 characters"},
    {"webhook_endpoints_description_length", PROBLEM_VALIDATION, "description",
     "must be at most 500 characters"},
    {NULL, 0, NULL, NULL},
};

static const struct res_call hook_call = {
    .missing = MISSING,
    .location = "/v1/webhook-endpoints",
    .get_stmt = "hooks_get",
    .versioned = true,
    .refusals = hook_refusals,
};

static const struct res_call delivery_call = {.missing = MISSING};

static int hooks_prepare(struct app *app)
{
    if (api_prepare(app, "hooks_create",
                    RES_CREATE_SQL("webhook_endpoints AS r (provider_id, url, event_types, "
                                   "description, secret_sealed, secret_key_id, created_by)",
                                   "SELECT p.id, $1::jsonb->>'url', "
                                   RES_TEXT_ARRAY("$1::jsonb", "event_types") ", "
                                   "$1::jsonb->>'description', "
                                   "decode($1::jsonb->>'secret_sealed', 'hex'), "
                                   "$1::jsonb->>'secret_key_id', $2::uuid FROM providers p "
                                   "WHERE p.id = ($1::jsonb->>'provider_id')::uuid "
                                   "AND ($6::uuid IS NULL OR p.id = $6::uuid)",
                                   HOOK_JSON)))
        return -1;
    if (api_prepare(app, "hooks_get",
                    "SELECT j::text, j->>'version' FROM (SELECT " HOOK_JSON " AS j "
                    "FROM webhook_endpoints r WHERE r.id = $1::uuid AND " HOOK_VISIBLE("2")
                    ") AS s"))
        return -1;
    if (api_prepare(app, "hooks_list",
                    RES_LIST_SQL("webhook_endpoints", HOOK_JSON, "webhook_endpoints",
                                 "provider_id", "r.deleted_at IS NULL",
                                 "r.created_at, r.id")))
        return -1;
    /* Switching an endpoint off parks its pending messages; switching it on sends them with a
     * fresh retry window and forgets the run of failures that switched it off. */
    if (api_prepare(app, "hooks_patch",
                    "WITH u AS (UPDATE webhook_endpoints AS r SET "
                    RES_SET_TEXT("url") ", " RES_SET_ARRAY("event_types") ", "
                    RES_SET_TEXT("description") ", " RES_SET_CAST("enabled", "boolean") ", "
                    "disabled_reason = CASE WHEN NOT $1::jsonb ? 'enabled' THEN r.disabled_reason "
                    "WHEN ($1::jsonb->>'enabled')::boolean THEN NULL "
                    "WHEN r.enabled THEN 'manual' ELSE r.disabled_reason END, "
                    "disabled_at = CASE WHEN NOT $1::jsonb ? 'enabled' THEN r.disabled_at "
                    "WHEN ($1::jsonb->>'enabled')::boolean THEN NULL "
                    "WHEN r.enabled THEN now() ELSE r.disabled_at END, "
                    "failing_since = CASE WHEN ($1::jsonb->>'enabled')::boolean AND NOT r.enabled "
                    "THEN NULL ELSE r.failing_since END, "
                    "version = r.version + 1, updated_at = now() "
                    "WHERE r.id = $2::uuid AND " HOOK_VISIBLE("3")
                    " AND ($4::int IS NULL OR r.version = $4::int) "
                    "RETURNING " HOOK_JSON " AS j, r.id, r.enabled) "
                    "SELECT j::text, j->>'version', "
                    "logeer_webhook_endpoint_sync(u.id, u.enabled) FROM u"))
        return -1;
    /* Rotation keeps the secret it replaces for the grace period: deliveries carry both
     * signatures until then. The first column is NULL when If-Match did not match, the
     * second NULL when the endpoint is not the caller's. */
    if (api_prepare(app, "hooks_rotate",
                    "WITH t AS (SELECT r.id, r.version FROM webhook_endpoints r "
                    "WHERE r.id = $1::uuid AND " HOOK_VISIBLE("2") "), "
                    "u AS (UPDATE webhook_endpoints AS r SET secret_prev_sealed = r.secret_sealed, "
                    "secret_prev_key_id = r.secret_key_id, "
                    "secret_prev_until = now() + make_interval(secs => $5::int), "
                    "secret_sealed = decode($3, 'hex'), secret_key_id = $4, "
                    "secret_rotated_at = now(), updated_at = now(), version = r.version + 1 "
                    "FROM t WHERE r.id = t.id AND ($6::int IS NULL OR t.version = $6::int) "
                    "RETURNING " HOOK_JSON " AS j) "
                    "SELECT (SELECT j::text FROM u), (SELECT j->>'version' FROM u), "
                    "(SELECT version FROM t)"))
        return -1;
    /* Kept (parked) messages are released so the worker fails them: the endpoint is gone. */
    if (api_prepare(app, "hooks_delete",
                    "WITH d AS (UPDATE webhook_endpoints r SET deleted_at = now(), enabled = false, "
                    "updated_at = now(), version = r.version + 1 "
                    "WHERE r.id = $1::uuid AND " HOOK_VISIBLE("2") " RETURNING r.id), "
                    "m AS (UPDATE notify_messages m SET next_attempt_at = now() FROM d "
                    "WHERE m.channel = 'webhook' AND m.recipient = d.id AND m.state = 'pending' "
                    "AND m.next_attempt_at = 'infinity') SELECT id FROM d"))
        return -1;
    /* NULL (404) when the endpoint is not the caller's; else the page of its deliveries. */
    if (api_prepare(app, "hooks_deliveries",
                    "SELECT CASE WHEN EXISTS (SELECT 1 FROM webhook_endpoints r "
                    "WHERE r.id = $4::uuid AND " HOOK_VISIBLE("3") ") THEN ("
                    RES_LIST_SQL("deliveries", DELIVERY_JSON,
                                 "(SELECT m.*, $3::uuid AS scope FROM notify_messages m)",
                                 "scope", "r.channel = 'webhook' AND r.recipient = $4::uuid "
                                 "AND ($5::notify_state IS NULL OR r.state = $5::notify_state)",
                                 "r.created_at DESC, r.id")
                    ") END"))
        return -1;
    /* A redelivery keeps the message id (receivers drop a repeat they already handled) and
     * starts the retry window anew. One in flight right now keeps its claim. */
    return api_prepare(app, "hooks_redeliver",
                       "WITH u AS (UPDATE notify_messages m SET state = 'pending', "
                       "sent_at = NULL, redeliveries = m.redeliveries + 1, "
                       "window_start = now(), next_attempt_at = CASE WHEN m.state = 'pending' "
                       "AND m.claimed_by IS NOT NULL THEN m.next_attempt_at ELSE now() END "
                       "FROM webhook_endpoints w WHERE m.id = $2::uuid AND m.channel = 'webhook' "
                       "AND m.recipient = $1::uuid AND w.id = m.recipient "
                       "AND w.deleted_at IS NULL AND ($3::uuid IS NULL OR w.provider_id = $3::uuid) "
                       "RETURNING m.*) SELECT " DELIVERY_JSON "::text FROM u r");
}

/* ---- validation -------------------------------------------------------------------------- */

static void validate(struct api_ctx *c, struct jsonv *v, cJSON *out, bool create)
{
    const char *s;
    if (jsonv_string(v, c->body, "url", create, 1, 2000, &s)) {
        const char *problem = webhook_url_problem(s, c->app->cfg->webhook_allow_private == 1);
        if (problem)
            jsonv_error(v, "url", problem);
        else
            cJSON_AddStringToObject(out, "url", s);
    }
    const cJSON *types;
    if (jsonv_string_set(v, c->body, "event_types", create, event_types, 8, &types)) {
        if (cJSON_GetArraySize(types) == 0)
            jsonv_error(v, "event_types", "name at least one event type");
        else
            cJSON_AddItemToObject(out, "event_types", cJSON_Duplicate(types, true));
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(c->body, "description");
    if (cJSON_IsNull(d))
        cJSON_AddNullToObject(out, "description");
    else if (res_text(v, c->body, "description", false, 500, &s))
        cJSON_AddStringToObject(out, "description", s);
}

/* ---- POST -------------------------------------------------------------------------------- */

struct create_state {
    char secret[WEBHOOK_SECRET_LEN];
};

static void create_state_free(void *p)
{
    struct create_state *st = p;
    memset(st->secret, 0, sizeof st->secret);
    free(st);
}

static void hooks_created(struct api_ctx *c, const struct db_result *r)
{
    struct create_state *st = c->state;
    res_reply_created_secret(c, r, hook_refusals, "/v1/webhook-endpoints",
                             "is not a provider you may register endpoints for", "secret",
                             st->secret);
}

/* Without LOGEER_WEBHOOK_KEY no secret can be kept safe at rest, so none is made. */
static bool key_present(struct api_ctx *c)
{
    if (webhook_key_present())
        return true;
    api_reply_problem(c, PROBLEM_UNAVAILABLE,
                      "webhooks are off on this server: the operator has not set "
                      "LOGEER_WEBHOOK_KEY, which keeps webhook secrets safe at rest");
    return false;
}

static void hooks_create(struct api_ctx *c)
{
    static const char *const known[] = {"url", "event_types", "description", "provider_id",
                                        NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    cJSON *doc = cJSON_CreateObject();
    validate(c, &v, doc, true);
    const char *pid = res_body_provider(c, &v, "whose events go there");
    if (!jsonv_ok(&v)) {
        cJSON_Delete(doc);
        res_reply_invalid(c, &v, "check the fields listed");
        return;
    }
    jsonv_free(&v);
    if (!key_present(c)) {
        cJSON_Delete(doc);
        return;
    }
    struct create_state *st = res_state_new(c, sizeof *st, create_state_free);
    char sealed[WEBHOOK_SEALED_HEX_MAX];
    if (!st) {
        cJSON_Delete(doc);
        return;
    }
    if (webhook_secret_new(st->secret) != 0 || webhook_secret_seal(st->secret, sealed) != 0) {
        cJSON_Delete(doc);
        api_reply_problem(c, PROBLEM_INTERNAL, "could not make a secret");
        return;
    }
    cJSON_AddStringToObject(doc, "provider_id", pid);
    cJSON_AddStringToObject(doc, "secret_sealed", sealed);
    cJSON_AddStringToObject(doc, "secret_key_id", webhook_key_id());
    const char *key;
    char hash[DIGEST_HEX_LEN];
    if (!idem_key(c, &key) || (key && !idem_request_fingerprint(c, NULL, hash))) {
        cJSON_Delete(doc);
        return;
    }
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    const char *params[] = {text, c->who.user_id, key ? hash : NULL, key, c->req->path,
                            res_scope(c)};
    api_query(c, "hooks_create", 6, params, hooks_created);
    cJSON_free(text);
}

/* ---- GET, PATCH, DELETE --------------------------------------------------------------------- */

static void hooks_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    res_list(c, "hooks_list", &a, NULL, 0);
}

static void hooks_get(struct api_ctx *c)
{
    res_get_id(c, &hook_call);
}

static void hooks_patch(struct api_ctx *c)
{
    static const char *const known[] = {"url", "event_types", "description", "enabled", NULL};
    static const char *const nullable[] = {"description", NULL};
    const char *id = res_id(c, MISSING);
    if (!id)
        return;
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    res_refuse_nulls(&v, c->body, nullable);
    cJSON *patch = cJSON_CreateObject();
    validate(c, &v, patch, false);
    bool enabled;
    if (jsonv_bool(&v, c->body, "enabled", false, &enabled))
        cJSON_AddBoolToObject(patch, "enabled", enabled);
    res_patch(c, "hooks_patch", id, patch, &v, &hook_call);
}

/* ---- secret rotation ------------------------------------------------------------------------ */

static void hooks_rotated(struct api_ctx *c, const struct db_result *r)
{
    struct create_state *st = c->state;
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        res_reply_db_error(c, r, hook_refusals);
        return;
    }
    if (PQgetisnull(r->res, 0, 2)) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, MISSING);
        return;
    }
    if (PQgetisnull(r->res, 0, 0)) {
        api_reply_problem(c, PROBLEM_PRECONDITION_FAILED,
                          "it changed since it was read (it is now at version %s); read it "
                          "again and send its new ETag in If-Match", db_value(r->res, 0, 2));
        return;
    }
    cJSON *body = cJSON_Parse(db_value(r->res, 0, 0));
    if (!body) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    char etag[32];
    snprintf(etag, sizeof etag, "\"%s\"", db_value(r->res, 0, 1));
    http_reply_header(c->req, "ETag", etag);
    http_reply_header(c->req, "Cache-Control", "no-store");
    cJSON_AddStringToObject(body, "secret", st->secret);
    api_reply_json(c, 200, body);
}

/* A new secret, shown in this answer only. If-Match (the endpoint's ETag) makes a retried
 * rotation safe: the retry finds a newer version and is refused instead of rotating again,
 * which would end the grace period of the secret the receivers still use. */
static void hooks_rotate(struct api_ctx *c)
{
    const char *id = res_id(c, MISSING);
    if (!id || !key_present(c))
        return;
    const char *header = http_request_header(c->req, "If-Match");
    char version[24];
    const char *vparam = NULL;
    long v = 0;
    if (header) {
        switch (res_if_match_parse(header, &v)) {
        case RES_MATCH_MALFORMED:
            api_reply_problem(c, PROBLEM_BAD_REQUEST,
                              "If-Match must be * or an entity tag in quotes, such as \"7\"");
            return;
        case RES_MATCH_ANY:
            break;
        case RES_MATCH_NEVER:
            v = 0; /* versions start at 1: nothing matches, so 412 (or 404) */
            /* fall through */
        case RES_MATCH_VERSION:
            snprintf(version, sizeof version, "%ld", v);
            vparam = version;
            break;
        }
    }
    struct create_state *st = res_state_new(c, sizeof *st, create_state_free);
    char sealed[WEBHOOK_SEALED_HEX_MAX], grace[16];
    if (!st)
        return;
    if (webhook_secret_new(st->secret) != 0 || webhook_secret_seal(st->secret, sealed) != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not make a secret");
        return;
    }
    snprintf(grace, sizeof grace, "%d", c->app->cfg->webhook_rotation_grace_s);
    const char *params[] = {id, res_scope(c), sealed, webhook_key_id(), grace, vparam};
    api_query(c, "hooks_rotate", 6, params, hooks_rotated);
}

static void hooks_deleted(struct api_ctx *c, const struct db_result *r)
{
    if (res_one_row(c, r, MISSING))
        api_reply_empty(c, 204);
}

static void hooks_delete(struct api_ctx *c)
{
    const char *id = res_id(c, MISSING);
    if (!id)
        return;
    const char *params[] = {id, res_scope(c)};
    api_query(c, "hooks_delete", 2, params, hooks_deleted);
}

/* ---- deliveries ----------------------------------------------------------------------------- */

static void hooks_deliveries(struct api_ctx *c)
{
    static const char *const states[] = {"pending", "sent", "failed", NULL};
    const char *id = res_id(c, MISSING);
    if (!id)
        return;
    struct res_args a;
    res_args_init(&a);
    const char *state = res_arg(c, &a, "state", 16);
    if (state) {
        bool known = false;
        for (int i = 0; states[i]; i++)
            known = known || strcmp(states[i], state) == 0;
        if (!known)
            jsonv_error(&a.v, "state", "must be pending, sent or failed");
    }
    const char *filters[] = {id, state};
    res_list_call(c, "hooks_deliveries", &a, filters, 2, &delivery_call);
}

static void hooks_redelivered(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, DELIVERY_MISSING))
        return;
    /* Due now: this process sends it at once instead of at its next round. */
    notify_wake(c->app->notify);
    res_reply_body(c, 202, db_value(r->res, 0, 0));
}

static void hooks_redeliver(struct api_ctx *c)
{
    const char *id = res_id(c, MISSING);
    if (!id)
        return;
    const char *delivery = api_param(c, "delivery_id");
    if (!api_is_uuid(delivery)) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, DELIVERY_MISSING);
        return;
    }
    const char *params[] = {id, delivery, res_scope(c)};
    api_query(c, "hooks_redeliver", 3, params, hooks_redelivered);
}

static const struct api_endpoint create = {hooks_create, true};
static const struct api_endpoint list = {hooks_list, false};
static const struct api_endpoint get = {hooks_get, false};
static const struct api_endpoint patch = {hooks_patch, true};
static const struct api_endpoint del = {hooks_delete, false};
static const struct api_endpoint deliveries = {hooks_deliveries, false};
static const struct api_endpoint redeliver = {hooks_redeliver, false};
static const struct api_endpoint rotate = {hooks_rotate, false};

#define OWNERS (ROLE_PROVIDER | ROLE_ADMIN)

static const struct route hook_routes[] = {
    {HTTP_POST, "/v1/webhook-endpoints", &create, OWNERS | ROUTE_STEP_UP},
    {HTTP_GET, "/v1/webhook-endpoints", &list, OWNERS},
    {HTTP_GET, "/v1/webhook-endpoints/{id}", &get, OWNERS},
    {HTTP_PATCH, "/v1/webhook-endpoints/{id}", &patch, OWNERS},
    {HTTP_DELETE, "/v1/webhook-endpoints/{id}", &del, OWNERS},
    {HTTP_POST, "/v1/webhook-endpoints/{id}/rotate-secret", &rotate, OWNERS | ROUTE_STEP_UP},
    {HTTP_GET, "/v1/webhook-endpoints/{id}/deliveries", &deliveries, OWNERS},
    {HTTP_POST, "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver", &redeliver,
     OWNERS},
};

ROUTE_GROUP(webhook_endpoints_group, hook_routes, hooks_prepare);
