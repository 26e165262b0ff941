/* intakes: the kennismaking of a guest at a location (docs/practice.md): POST/GET
 * /v1/intakes[/{id}] and POST /v1/intakes/{id}/{schedule,decide,cancel}. Caregivers ask for
 * their own guests; provider staff schedule and decide at their own locations; either side
 * cancels before a decision; the coordinator reads all. Transitions are one database function
 * (a compare-and-set on the status); every read shows guest data and is access-logged. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guests.h"
#include "handlers.h"
#include "resource.h"

/* The location's id, name and municipality, for a transition's answer (its body is
 * logeer_intake_json's, made inside logeer_intake_transition), as logeer_intake_api_json adds
 * them to every other answer: a caregiver may not read /v1/locations. */
#define INTAKE_LOCATION(id)                                                                  \
    "(SELECT jsonb_build_object('id', l.id, 'name', l.name, 'municipality', "                \
    "l.municipality) FROM locations l WHERE l.id = " id ")"
/* Its location and, for a trial_first intake, its trial stay beside it (migration 0056). */
#define INTAKE_JSON "logeer_intake_api_json(r)"

/* Who sees an intake, for the scope parameter $n (guests_scope): its caregiver, the provider
 * of its location, or everyone (NULL). */
#define INTAKE_VISIBLE(n)                                                                    \
    "($" n "::uuid IS NULL OR r.provider_id = $" n "::uuid OR EXISTS (SELECT 1 FROM guests g " \
    "WHERE g.id = r.guest_id AND g.caregiver_id = $" n "::uuid))"

static const struct res_refusal intake_conflicts[] = {
    {"intakes_one_open", PROBLEM_CONFLICT, NULL,
     "this guest already has an open intake request at this location; see GET /v1/intakes"},
    {"intakes_moments_length", PROBLEM_VALIDATION, "moments", "must be 1 to 500 characters"},
    {NULL, 0, NULL, NULL},
};

static void intakes_seen(struct api_ctx *c, const char *body);

static const struct res_call intake_call = {
    .missing = "intake not found",
    .location = "/v1/intakes",
    .get_stmt = "intakes_get",
    .refusals = intake_conflicts,
    .scope = guests_scope,
    .seen = intakes_seen,
};
static const struct res_call intake_create_call = {
    .missing = "guest or location not found",
    .location = "/v1/intakes",
    .get_stmt = "intakes_get",
    .refusals = intake_conflicts,
    .scope = guests_scope,
    .seen = intakes_seen,
};
static const struct res_call intake_list_call = {
    .missing = "intake not found",
    .scope = guests_scope,
    .seen = intakes_seen,
};

static void intakes_seen(struct api_ctx *c, const char *body)
{
    const char *action = c->req->method == HTTP_POST ? "intake.create"
                         : c->route && strchr(c->route->pattern + 1, '{') ? "intake.read"
                                                                          : "intake.list";
    guests_log_seen(c, body, "intakes", "guest_id", action);
}

static int intakes_prepare(struct app *app)
{
    /* The guest must be the caller's own ($6 is the caregiver's id), the location any. */
    if (api_prepare(app, "intakes_create",
                    RES_CREATE_SQL("intakes AS r (guest_id, location_id, provider_id, "
                                   "requested_by, moments)",
                                   "SELECT g.id, l.id, l.provider_id, $2::uuid, "
                                   "btrim($1::jsonb->>'moments') FROM guests g, locations l "
                                   "WHERE g.id = ($1::jsonb->>'guest_id')::uuid "
                                   "AND g.caregiver_id = $6::uuid AND g.erased_at IS NULL "
                                   "AND l.id = ($1::jsonb->>'location_id')::uuid",
                                   INTAKE_JSON)))
        return -1;
    if (api_prepare(app, "intakes_get",
                    "SELECT j::text, j->>'version' FROM (SELECT " INTAKE_JSON " AS j "
                    "FROM intakes r WHERE r.id = $1::uuid AND " INTAKE_VISIBLE("2") ") AS s"))
        return -1;
    if (api_prepare(app, "intakes_list",
                    "WITH f AS (SELECT r.* FROM intakes r WHERE " INTAKE_VISIBLE("3")
                    " AND ($4::intake_status IS NULL OR r.status = $4::intake_status) "
                    "AND ($5::uuid IS NULL OR r.location_id = $5::uuid) "
                    "AND ($6::uuid IS NULL OR r.guest_id = $6::uuid) "
                    "AND ($7::intake_outcome IS NULL OR r.outcome = $7::intake_outcome)), "
                    "page AS (SELECT * FROM f r ORDER BY r.created_at DESC, r.id "
                    "LIMIT $1::int OFFSET $2::int) "
                    "SELECT json_build_object('intakes', coalesce((SELECT json_agg(" INTAKE_JSON
                    " ORDER BY r.created_at DESC, r.id) FROM page r), '[]'::json), "
                    "'total', (SELECT count(*) FROM f))::text"))
        return -1;
    return api_prepare(app, "intakes_transition",
                       "SELECT outcome, status, (t.body::jsonb || jsonb_build_object('location', "
                       INTAKE_LOCATION("(t.body::jsonb->>'location_id')::uuid") ", "
                       /* A transition leaves no stay after a decision yet. */
                       "'trial_stay', NULL))::text, "
                       "detail::text FROM logeer_intake_transition($1::jsonb) AS t");
}

static const char *const intake_status_names[] = {"requested", "scheduled", "decided",
                                                  "cancelled", NULL};
static const char *const intake_outcome_names[] = {"welcome", "trial_first", "not_suitable",
                                                   NULL};

static bool is_one_of(const char *const *names, const char *s)
{
    for (const char *const *n = names; *n; n++)
        if (!strcmp(*n, s))
            return true;
    return false;
}

static void intakes_create(struct api_ctx *c)
{
    static const char *const known[] = {"guest_id", "location_id", "moments", NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    cJSON *doc = cJSON_CreateObject();
    const char *s;
    if (jsonv_string(&v, c->body, "guest_id", true, 1, 64, &s)) {
        if (api_is_uuid(s))
            cJSON_AddStringToObject(doc, "guest_id", s);
        else
            jsonv_error(&v, "guest_id", "must be a guest id (see GET /v1/guests)");
    }
    if (jsonv_string(&v, c->body, "location_id", true, 1, 64, &s)) {
        if (api_is_uuid(s))
            cJSON_AddStringToObject(doc, "location_id", s);
        else
            jsonv_error(&v, "location_id", "must be a location id");
    }
    if (res_text(&v, c->body, "moments", false, 500, &s))
        cJSON_AddStringToObject(doc, "moments", s);
    res_create(c, "intakes_create", doc, &v, &intake_create_call);
}

static void intakes_list(struct api_ctx *c)
{
    struct res_args a;
    res_args_init(&a);
    const char *s = res_arg(c, &a, "status", 32);
    const char *l = res_arg_id(c, &a, "location_id", "must be a location id");
    const char *g = res_arg_id(c, &a, "guest_id", "must be a guest id");
    const char *o = res_arg(c, &a, "outcome", 32);
    if (s && !is_one_of(intake_status_names, s))
        jsonv_error(&a.v, "status", "must be requested, scheduled, decided or cancelled");
    if (o && !is_one_of(intake_outcome_names, o))
        jsonv_error(&a.v, "outcome", "must be welcome, trial_first or not_suitable");
    const char *filters[] = {s, l, g, o};
    res_list_call(c, "intakes_list", &a, filters, 4, &intake_list_call);
}

static void intakes_get(struct api_ctx *c)
{
    const char *id = res_id(c, intake_call.missing);
    if (id)
        res_get(c, "intakes_get", id, &intake_call);
}

/* ---- POST /v1/intakes/{id}/{schedule,decide,cancel} ------------------------------------ */

static const struct res_refusal transition_outcomes[] = {
    {"stale", PROBLEM_CONFLICT, NULL, "not possible in the intake's current status"},
    {"not_found", PROBLEM_NOT_FOUND, NULL, "intake not found"},
    {NULL, 0, NULL, NULL},
};

static void transitioned(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, intake_conflicts, &res))
        return;
    if (strcmp(res.outcome, "ok") != 0) {
        res_reply_outcome(c, &res, transition_outcomes);
        return;
    }
    guests_log_seen(c, res.body, "intakes", "guest_id", "intake.update");
    res_reply_body(c, 200, res.body);
}

/* An RFC 3339 instant's shape (2027-03-01T10:30:00Z, with optional fraction and offset);
 * whether it is a real moment is the database's to say (22007/22008 answer 422). */
static bool is_rfc3339(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t i = 0;
    for (; shape[i]; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return false;
    }
    s += i;
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s); s++)
            ;
    if (*s == 'Z')
        return s[1] == '\0';
    return (*s == '+' || *s == '-') && isdigit((unsigned char)s[1]) &&
           isdigit((unsigned char)s[2]) && s[3] == ':' && isdigit((unsigned char)s[4]) &&
           isdigit((unsigned char)s[5]) && s[6] == '\0';
}

/* The fields of each action, into p; returns false after replying 422. */
static bool read_action(struct api_ctx *c, const char *action, cJSON *p)
{
    static const char *const sched_known[] = {"at", "notes", NULL};
    static const char *const decide_known[] = {"outcome", "trial_max_nights", "reason", "notes",
                                               NULL};
    static const char *const cancel_known[] = {"reason", NULL};
    const cJSON *b = c->body;
    struct jsonv v;
    jsonv_init(&v);
    const char *s;
    if (!b) {
        b = p; /* nothing sent: every required field is missing */
    }
    if (!strcmp(action, "schedule")) {
        jsonv_only(&v, b, sched_known);
        if (jsonv_string(&v, b, "at", true, 20, 40, &s)) {
            if (is_rfc3339(s))
                cJSON_AddStringToObject(p, "at", s);
            else
                jsonv_error(&v, "at", "must be an RFC 3339 instant such as 2027-03-01T10:30:00Z");
        }
    } else if (!strcmp(action, "decide")) {
        int i;
        long nights = 0;
        jsonv_only(&v, b, decide_known);
        bool has_outcome = jsonv_enum(&v, b, "outcome", true, intake_outcome_names, &i);
        if (has_outcome)
            cJSON_AddStringToObject(p, "outcome", intake_outcome_names[i]);
        bool has_nights = cJSON_GetObjectItemCaseSensitive(b, "trial_max_nights") != NULL;
        if (has_outcome && i == 1) {
            if (jsonv_int(&v, b, "trial_max_nights", true, 1, 28, &nights))
                cJSON_AddNumberToObject(p, "trial_max_nights", (double)nights);
        } else if (has_nights) {
            jsonv_error(&v, "trial_max_nights", "only with the outcome trial_first");
        }
        bool has_reason = res_text(&v, b, "reason", false, 1000, &s);
        if (has_reason)
            cJSON_AddStringToObject(p, "reason", s);
        if (has_outcome && i == 2 && !has_reason && !cJSON_GetObjectItemCaseSensitive(b, "reason"))
            jsonv_error(&v, "reason", "is required with not_suitable: the family reads it");
    } else {
        jsonv_only(&v, b, cancel_known);
        if (res_text(&v, b, "reason", false, 1000, &s))
            cJSON_AddStringToObject(p, "reason", s);
    }
    if (strcmp(action, "cancel") && res_text(&v, b, "notes", false, 1000, &s))
        cJSON_AddStringToObject(p, "notes", s);
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "check the highlighted fields");
        return false;
    }
    return true;
}

static void intakes_action(struct api_ctx *c, const char *action)
{
    const char *id = res_id(c, intake_call.missing);
    if (!id)
        return;
    if (strcmp(action, "cancel") && c->who.role != ROLE_PROVIDER) {
        api_reply_problem(c, PROBLEM_FORBIDDEN, "only the provider's staff %s an intake",
                          !strcmp(action, "schedule") ? "schedule" : "decide");
        return;
    }
    cJSON *p = cJSON_CreateObject();
    if (!read_action(c, action, p)) {
        cJSON_Delete(p);
        return;
    }
    cJSON_AddStringToObject(p, "intake_id", id);
    cJSON_AddStringToObject(p, "action", action);
    cJSON_AddStringToObject(p, "actor_role", role_name(c->who.role));
    const char *scope = guests_scope(c);
    if (scope)
        cJSON_AddStringToObject(p, "scope", scope);
    if (!strcmp(action, "cancel") && !cJSON_GetObjectItemCaseSensitive(p, "reason"))
        cJSON_AddStringToObject(p, "reason", c->who.role == ROLE_PROVIDER
                                                 ? "geannuleerd door de zorgaanbieder"
                                                 : "geannuleerd door de mantelzorger");
    char *arg = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    if (!arg) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    const char *params[] = {arg};
    api_query(c, "intakes_transition", 1, params, transitioned);
    cJSON_free(arg);
}

static void intakes_schedule(struct api_ctx *c) { intakes_action(c, "schedule"); }
static void intakes_decide(struct api_ctx *c) { intakes_action(c, "decide"); }
static void intakes_cancel(struct api_ctx *c) { intakes_action(c, "cancel"); }

static const struct api_endpoint create = {intakes_create, true};
static const struct api_endpoint list = {intakes_list, false};
static const struct api_endpoint get = {intakes_get, false};
static const struct api_endpoint schedule = {intakes_schedule, true};
static const struct api_endpoint decide = {intakes_decide, true};
static const struct api_endpoint cancel = {intakes_cancel, false};

#define READERS (ROLE_CAREGIVER | ROLE_PROVIDER | ROLE_COORDINATOR)

static const struct route intake_routes[] = {
    {HTTP_POST, "/v1/intakes", &create, ROLE_CAREGIVER},
    {HTTP_GET, "/v1/intakes", &list, READERS},
    {HTTP_GET, "/v1/intakes/{id}", &get, READERS},
    {HTTP_POST, "/v1/intakes/{id}/schedule", &schedule, ROLE_PROVIDER},
    {HTTP_POST, "/v1/intakes/{id}/decide", &decide, ROLE_PROVIDER},
    {HTTP_POST, "/v1/intakes/{id}/cancel", &cancel, ROLE_CAREGIVER | ROLE_PROVIDER},
};

ROUTE_GROUP(intakes_group, intake_routes, intakes_prepare);
