/* me: the caller's own account (GET /v1/me), the export of everything stored about it (GET
 * /v1/me/export, AVG art. 15) and its erasure (DELETE /v1/me, art. 17). Erasure cancels open
 * stays through the same core rule and database transition as a caregiver's own cancel, so the
 * night counters stay right; it never deletes a row that a report counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "guests.h"
#include "handlers.h"
#include "logeer/config.h"
#include "logeer/core.h"
#include "logeer/session_cache.h"
#include "resource.h"

/* Open stays are cancelled and re-checked in rounds; a stay opened during erasure (another
 * session, a waitlist offer) is caught by the next round. More rounds than this means
 * something keeps opening stays: answer 409 rather than loop. */
#define ERASE_MAX_ROUNDS 3
#define ERASE_BATCH 100
#define ERASE_REASON "account erased"
#define ACCOUNT_GONE "the account no longer exists"

static int me_prepare(struct app *app)
{
    /* email_verified: the portal shows a reminder, and a button to send the link again. */
    if (api_prepare(app, "me_get",
                    "SELECT (logeer_user_json(u) || jsonb_build_object('email_verified', "
                    "u.email_verified_at IS NOT NULL, 'second_factor', $2::text))::text "
                    "FROM users u WHERE u.id = $1::uuid"))
        return -1;
    if (api_prepare(app, "me_export",
                    "SELECT (logeer_account_export($1::uuid) || jsonb_build_object('guests', "
                    "logeer_account_export_guests($1::uuid)) || "
                    "logeer_account_export_more($1::uuid))::text, "
                    "(SELECT coalesce(array_agg(s.id ORDER BY s.id), '{}') FROM stays s "
                    "JOIN users u ON u.id = s.requested_by "
                    "WHERE s.requested_by = $1::uuid AND u.role = 'caregiver')::text"))
        return -1;
    if (api_prepare(app, "me_open_stays",
                    "SELECT s.id, s.status::text, s.check_in, "
                    "coalesce(p.booking_mode::text, 'approval') "
                    "FROM stays s LEFT JOIN pools p ON p.id = s.pool_id "
                    "WHERE s.requested_by = $1::uuid AND logeer_stay_is_open(s) "
                    "ORDER BY s.created_at, s.id LIMIT $2::int"))
        return -1;
    if (api_prepare(app, "me_cancel_stay", RES_RESULT_SQL("logeer_stay_transition")))
        return -1;
    return api_prepare(app, "me_erase", "SELECT outcome, status, body, detail::text "
                                        "FROM logeer_erase_account($1::uuid, $2, $3::inet, $4)");
}

/* ---- GET /v1/me --------------------------------------------------------------------------- */

static void me_found(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, ACCOUNT_GONE))
        return;
    http_reply_header(c->req, "Cache-Control", "no-store");
    res_reply_body(c, 200, db_value(r->res, 0, 0));
}

static void me_get(struct api_ctx *c)
{
    const char *params[] = {c->who.user_id, api_second_factor_step(c->app, &c->who)};
    api_query(c, "me_get", 2, params, me_found);
}

/* ---- GET /v1/me/export -------------------------------------------------------------------- */

/* Splits a PostgreSQL uuid[] text ("{a,b}") in place into ids; returns how many. */
static size_t me_split_uuid_array(char *text, const char **ids, size_t max)
{
    size_t n = 0;
    char *p = text[0] == '{' ? text + 1 : text;
    while (*p && *p != '}' && n < max) {
        char *comma = strpbrk(p, ",}");
        ids[n++] = p;
        if (!comma)
            break;
        bool last = *comma == '}';
        *comma = '\0';
        if (last)
            break;
        p = comma + 1;
    }
    return n;
}

static void me_exported(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1 || db_is_null(r->res, 0, 0)) {
        api_reply_db_error(c, r);
        return;
    }
    const char *body = db_value(r->res, 0, 0);
    char *array = strdup(db_value(r->res, 0, 1));
    size_t max = array ? strlen(array) / 36 + 1 : 0;
    const char **ids = array ? calloc(max, sizeof *ids) : NULL;
    if (ids) {
        /* The export shows the guest data of every own stay: each is an access. */
        size_t n = me_split_uuid_array(array, ids, max);
        access_log_stays(c, "stay.export", ids, n);
    }
    free(ids);
    free(array);
    /* So does every registered guest it lists. */
    guests_log_seen(c, body, "guests", "id", "guest.export");
    http_reply_header(c->req, "Cache-Control", "no-store");
    http_reply_header(c->req, "Content-Disposition", "attachment; filename=\"logeer-export.json\"");
    res_reply_body(c, 200, body);
}

static void me_export(struct api_ctx *c)
{
    const char *params[] = {c->who.user_id};
    api_query(c, "me_export", 1, params, me_exported);
}

/* ---- DELETE /v1/me -------------------------------------------------------------------------- */

struct erase_stay {
    char id[CORE_ID_LEN];
    enum stay_status status;
    date_day check_in;
    enum booking_mode mode;
};

/* The erasure as it moves through its rounds. */
struct erasure {
    int round;                       /* 1-based; each round cancels, then tries to erase */
    int cancelled;                   /* stays cancelled over all rounds */
    size_t nstays, next;             /* this round's open stays and the one being cancelled */
    struct erase_stay stays[ERASE_BATCH];
};

static void erase_round(struct api_ctx *c);
static void erase_cancel_next(struct api_ctx *c);

static void erase_finished(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, NULL, &res))
        return;
    struct erasure *e = c->state;
    if (!strcmp(res.outcome, "open_stays")) {
        erase_round(c); /* something opened a stay meanwhile: cancel it too */
        return;
    }
    if (strcmp(res.outcome, "erased") != 0) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, ACCOUNT_GONE);
        return;
    }
    session_cache_forget_user(c->app->sessions, c->who.user_id);
    cJSON *o = cJSON_Parse(res.body);
    if (!o) {
        api_reply_problem(c, PROBLEM_INTERNAL, "unexpected erasure result");
        return;
    }
    cJSON_AddNumberToObject(o, "stays_cancelled", e->cancelled);
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 200, o);
}

static void erase_account(struct api_ctx *c)
{
    char addr[64], route[64];
    snprintf(route, sizeof route, "%s %s", http_method_name(c->req->method), c->route->pattern);
    const char *params[] = {c->who.user_id, c->req->request_id,
                            api_peer_address(c, addr, sizeof addr), route};
    api_query(c, "me_erase", 4, params, erase_finished);
}

static void erase_cancelled(struct api_ctx *c, const struct db_result *r)
{
    struct res_result res;
    if (!res_result_read(c, r, NULL, &res))
        return;
    struct erasure *e = c->state;
    /* "stale": the stay changed meanwhile (a hold lapsed, the provider acted); the next
     * round sees its new status. */
    if (!strcmp(res.outcome, "ok")) {
        const char *ids[] = {e->stays[e->next].id};
        access_log_stays(c, "stay.cancel", ids, 1);
        e->cancelled++;
    }
    e->next++;
    erase_cancel_next(c);
}

/* Cancels the next open stay with the caregiver's own cancel rule; after the last one, asks
 * the database to erase (which re-checks that nothing is open any more). */
static void erase_cancel_next(struct api_ctx *c)
{
    struct erasure *e = c->state;
    while (e->next < e->nstays) {
        const struct erase_stay *s = &e->stays[e->next];
        struct core_transition t;
        if (core_decide(ACT_CANCEL, ROLE_CAREGIVER, s->status, s->mode, s->check_in,
                        date_today_local(), &t) != CORE_OK) {
            e->next++;
            continue;
        }
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "stay_id", s->id);
        cJSON_AddStringToObject(p, "from_status", core_status_names[s->status]);
        cJSON_AddStringToObject(p, "to_status", core_status_names[t.to]);
        cJSON_AddNumberToObject(p, "held_delta", t.held_delta);
        cJSON_AddNumberToObject(p, "booked_delta", t.booked_delta);
        cJSON_AddStringToObject(p, "actor_id", c->who.user_id);
        cJSON_AddStringToObject(p, "actor_role", role_name(ROLE_CAREGIVER));
        cJSON_AddStringToObject(p, "reason", ERASE_REASON);
        cJSON_AddNumberToObject(p, "hold_ttl_s", c->app->cfg->hold_ttl_s);
        res_query_json(c, "me_cancel_stay", p, erase_cancelled);
        return;
    }
    erase_account(c);
}

static void erase_open_found(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    struct erasure *e = c->state;
    int n = PQntuples(r->res);
    e->nstays = 0;
    e->next = 0;
    for (int i = 0; i < n && e->nstays < ERASE_BATCH; i++) {
        struct erase_stay *s = &e->stays[e->nstays];
        int status = core_name_index(core_status_names, db_value(r->res, i, 1));
        if (status < 0)
            continue;
        snprintf(s->id, sizeof s->id, "%s", db_value(r->res, i, 0));
        s->status = (enum stay_status)status;
        s->check_in = 0;
        if (!db_is_null(r->res, i, 2) && !date_parse(db_value(r->res, i, 2), &s->check_in))
            s->check_in = 0;
        s->mode = strcmp(db_value(r->res, i, 3), "instant") == 0 ? MODE_INSTANT : MODE_APPROVAL;
        e->nstays++;
    }
    erase_cancel_next(c);
}

static void erase_round(struct api_ctx *c)
{
    struct erasure *e = c->state;
    if (++e->round > ERASE_MAX_ROUNDS) {
        api_reply_problem(c, PROBLEM_CONFLICT,
                          "stays of this account keep changing; try the erasure again");
        return;
    }
    char batch[16];
    snprintf(batch, sizeof batch, "%d", ERASE_BATCH);
    const char *params[] = {c->who.user_id, batch};
    api_query(c, "me_open_stays", 2, params, erase_open_found);
}

static void me_delete(struct api_ctx *c)
{
    if (res_state_new(c, sizeof(struct erasure), NULL))
        erase_round(c);
}

static const struct api_endpoint get = {me_get, false};
static const struct api_endpoint export = {me_export, false};
static const struct api_endpoint erase = {me_delete, false};

static const struct route me_routes[] = {
    {HTTP_GET, "/v1/me", &get, ROLE_ANY | ROUTE_BEFORE_FACTOR},
    /* Everything about the person (and their guests) in one file: a session taken over must
     * not walk away with it, so a second factor, where the person has one, must be recent. */
    {HTTP_GET, "/v1/me/export", &export, ROLE_ANY | ROUTE_STEP_UP},
    /* Staff accounts belong to their organisation and are ended by the admin; a caregiver's
     * account is the caregiver's own to erase. */
    {HTTP_DELETE, "/v1/me", &erase, ROLE_CAREGIVER | ROUTE_STEP_UP},
};

ROUTE_GROUP(me_group, me_routes, me_prepare);
