/* escalations: GET /v1/escalations, GET /v1/escalations/{id} and POST
 * /v1/escalations/{id}/resolve (docs/practice.md, the planned-stay guarantee): the guaranteed
 * requests the waitlist did not place by their deadline, for the coordinator only. Each
 * escalation shows its stay without guest details beyond the care profile; every stay shown
 * is access-logged. */
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "handlers.h"
#include "resource.h"

#define ESCALATION_MISSING "no escalation with this id"
#define ESCALATION_MAX_LIMIT 200

static const struct res_refusal escalation_constraints[] = {
    {"escalations_note_not_bsn", PROBLEM_VALIDATION, "note",
     "must not hold a citizen service number (BSN)"},
    {"escalations_note_length", PROBLEM_VALIDATION, "note", "must be 1 to 1000 characters"},
    {NULL, 0, NULL, NULL},
};

static const struct res_refusal escalation_outcomes[] = {
    {"not_found", PROBLEM_NOT_FOUND, NULL, ESCALATION_MISSING},
    {"already_resolved", PROBLEM_CONFLICT, NULL,
     "the escalation is already resolved; its resolution stands"},
    {NULL, 0, NULL, NULL},
};

/* The stay an escalation shows, for the access log. */
static void escalation_seen(struct api_ctx *c, const char *body, const char *action)
{
    cJSON *doc = cJSON_Parse(body);
    const cJSON *stay = cJSON_GetObjectItemCaseSensitive(doc, "stay");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(stay, "id");
    if (cJSON_IsString(id) && api_is_uuid(id->valuestring)) {
        const char *ids[] = {id->valuestring};
        access_log_stays(c, action, ids, 1);
    }
    cJSON_Delete(doc);
}

static void escalation_read_seen(struct api_ctx *c, const char *body)
{
    escalation_seen(c, body, "escalation.read");
}

static const struct res_call escalation_call = {
    .missing = ESCALATION_MISSING,
    .get_stmt = "escalations_get",
    .versioned = true,
    .refusals = escalation_constraints,
    .seen = escalation_read_seen,
};

/* Oldest first: the one waiting longest is at the top. Each stay shown is logged once. */
static const struct res_rows escalation_rows = {"escalations", ESCALATION_MAX_LIMIT, 2, 1,
                                                "escalation.list", false};

static int escalations_prepare(struct app *app)
{
    if (api_prepare(app, "escalations_get",
                    "SELECT j::text, j->>'version' FROM (SELECT logeer_escalation_json(r) AS j "
                    "FROM escalations r WHERE r.id = $1::uuid AND $2::uuid IS NULL) AS s"))
        return -1;
    if (api_prepare(app, "escalations_list",
                    "SELECT logeer_escalation_json(r)::text, r.stay_id::text, count(*) OVER () "
                    "FROM escalations r "
                    "WHERE ($1::text IS NULL OR r.status = $1::escalation_status) "
                    "ORDER BY r.opened_at, r.id LIMIT $2::int OFFSET $3::int"))
        return -1;
    return api_prepare(app, "escalations_resolve", RES_RESULT_SQL("logeer_escalation_resolve"));
}

static const char *const resolution_names[] = {"placed", "offered_alternative", "not_possible",
                                               NULL};

static void escalations_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *status = res_arg(c, &a, "status", 16);
    if (status && strcmp(status, "open") && strcmp(status, "resolved"))
        jsonv_error(&a.v, "status", "must be open or resolved");
    const char *args[] = {status};
    res_list_rows(c, "escalations_list", &a, args, 1, &escalation_rows);
}

static void escalations_get(struct api_ctx *c)
{
    const char *id = res_id(c, ESCALATION_MISSING);
    if (id)
        res_get(c, "escalations_get", id, &escalation_call);
}

static void resolved(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, escalation_constraints, &res))
        return;
    if (strcmp(res.outcome, "ok")) {
        res_reply_outcome(c, &res, escalation_outcomes);
        return;
    }
    escalation_seen(c, res.body, "escalation.resolve");
    res_reply_body(c, 200, res.body);
}

static void escalations_resolve(struct api_ctx *c)
{
    static const char *const known[] = {"resolution", "note", NULL};
    const char *id = res_id(c, ESCALATION_MISSING);
    if (!id)
        return;
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    cJSON *p = cJSON_CreateObject();
    int i = -1;
    const char *note;
    if (jsonv_enum(&v, c->body, "resolution", true, resolution_names, &i))
        cJSON_AddStringToObject(p, "resolution", resolution_names[i]);
    if (res_text(&v, c->body, "note", false, 1000, &note))
        cJSON_AddStringToObject(p, "note", note);
    if (!jsonv_ok(&v)) {
        cJSON_Delete(p);
        res_reply_invalid(c, &v, "check the highlighted fields");
        return;
    }
    cJSON_AddStringToObject(p, "escalation_id", id);
    cJSON_AddStringToObject(p, "actor_id", c->who.user_id);
    res_query_json(c, "escalations_resolve", p, resolved);
}

static const struct api_endpoint list = {escalations_list, false};
static const struct api_endpoint get = {escalations_get, false};
static const struct api_endpoint resolve = {escalations_resolve, true};

static const struct route escalation_routes[] = {
    {HTTP_GET, "/v1/escalations", &list, ROLE_COORDINATOR},
    {HTTP_GET, "/v1/escalations/{id}", &get, ROLE_COORDINATOR},
    {HTTP_POST, "/v1/escalations/{id}/resolve", &resolve, ROLE_COORDINATOR},
};

ROUTE_GROUP(escalations_group, escalation_routes, escalations_prepare);
