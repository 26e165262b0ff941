/* notification_prefs: GET/PUT /v1/me/notifications, the emails the caller gets and which of
 * them are switched off. The kinds and whether each is essential come from the one table in
 * src/notify/notify_text.c; essential kinds (a decision about one's own stay, an offer that
 * lapses, a request that waits) cannot be switched off. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/notify_text.h"
#include "resource.h"

static int prefs_prepare(struct app *app)
{
    if (api_prepare(app, "prefs_off",
                    "SELECT coalesce(array_agg(p.kind ORDER BY p.kind), '{}')::text "
                    "FROM notify_preferences p WHERE p.user_id = $1::uuid AND NOT p.enabled"))
        return -1;
    return api_prepare(app, "prefs_put",
                       "WITH w AS (INSERT INTO notify_preferences (user_id, kind, enabled) "
                       "SELECT $1::uuid, e->>'kind', (e->>'enabled')::boolean "
                       "FROM jsonb_array_elements($2::jsonb) e "
                       "ON CONFLICT (user_id, kind) DO UPDATE SET enabled = EXCLUDED.enabled, "
                       "updated_at = now() RETURNING 1) "
                       "SELECT coalesce(array_agg(p.kind ORDER BY p.kind), '{}')::text "
                       "FROM (SELECT p.kind FROM notify_preferences p WHERE p.user_id = $1::uuid "
                       "AND NOT p.enabled AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements($2::jsonb) e "
                       "WHERE e->>'kind' = p.kind) UNION ALL SELECT e->>'kind' FROM "
                       "jsonb_array_elements($2::jsonb) e WHERE NOT (e->>'enabled')::boolean) p "
                       "WHERE (SELECT count(*) FROM w) >= 0");
}

static const char *role_audience(unsigned role)
{
    return role == ROLE_CAREGIVER      ? "caregiver"
           : role == ROLE_PROVIDER    ? "provider"
           : role == ROLE_COORDINATOR ? "coordinator"
                                      : "";
}

/* The body of both answers from the text array of switched-off kinds ("{a,b}"). */
static void prefs_reply(struct api_ctx *c, const struct db_result *r)
{
    if (!res_one_row(c, r, "the account no longer exists"))
        return;
    const char *off = db_value(r->res, 0, 0);
    const char *audience = role_audience(c->who.role);
    cJSON *body = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(body, "preferences");
    for (unsigned i = 0; i < notify_nkinds; i++) {
        const struct notify_kind *k = &notify_kinds[i];
        if (strcmp(k->audience, audience) != 0)
            continue;
        /* Kind names are plain words, so a search for ",name," in "{a,b}" is exact. */
        char needle[80];
        snprintf(needle, sizeof needle, "%s", k->name);
        bool disabled = false;
        const char *p = off;
        size_t n = strlen(needle);
        while ((p = strstr(p, needle)) != NULL) {
            if ((p[-1] == '{' || p[-1] == ',') && (p[n] == '}' || p[n] == ','))
                disabled = true;
            p += n;
        }
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "kind", k->name);
        cJSON_AddStringToObject(item, "description", k->description);
        cJSON_AddBoolToObject(item, "essential", k->essential);
        cJSON_AddBoolToObject(item, "enabled", k->essential || !disabled);
        cJSON_AddItemToArray(list, item);
    }
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 200, body);
}

static void prefs_get(struct api_ctx *c)
{
    const char *params[] = {c->who.user_id};
    api_query(c, "prefs_off", 1, params, prefs_reply);
}

static void prefs_put(struct api_ctx *c)
{
    static const char *const known[] = {"preferences", NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, known);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(c->body, "preferences");
    const char *audience = role_audience(c->who.role);
    cJSON *doc = cJSON_CreateArray();
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > 50) {
        jsonv_error(&v, "preferences", "must be a list of at most 50 {kind, enabled} objects");
    } else {
        int i = 0;
        char seen[1024] = " "; /* the kinds listed so far, each followed by a space */
        char needle[80];
        const cJSON *item;
        cJSON_ArrayForEach(item, list) {
            char field[48];
            snprintf(field, sizeof field, "preferences[%d]", i++);
            const cJSON *kind = cJSON_GetObjectItemCaseSensitive(item, "kind");
            const cJSON *enabled = cJSON_GetObjectItemCaseSensitive(item, "enabled");
            const struct notify_kind *k =
                cJSON_IsString(kind) ? notify_kind_find(kind->valuestring) : NULL;
            if (!cJSON_IsObject(item) || cJSON_GetArraySize(item) != 2 || !cJSON_IsBool(enabled)) {
                jsonv_error(&v, field, "must be {\"kind\": ..., \"enabled\": true or false}");
            } else if (!k || strcmp(k->audience, audience) != 0) {
                jsonv_error(&v, field, "kind is not one of your messages (see GET /v1/me/notifications)");
            } else if (k->essential && cJSON_IsFalse(enabled)) {
                jsonv_error(&v, field, "this message is essential and cannot be switched off");
            } else if (strstr(seen, (snprintf(needle, sizeof needle, " %s ", k->name), needle))) {
                jsonv_error(&v, field, "names a kind already listed");
            } else {
                strncat(seen, needle + 1, sizeof seen - strlen(seen) - 1);
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "kind", k->name);
                cJSON_AddBoolToObject(o, "enabled", cJSON_IsTrue(enabled));
                cJSON_AddItemToArray(doc, o);
            }
        }
    }
    if (!jsonv_ok(&v)) {
        cJSON_Delete(doc);
        res_reply_invalid(c, &v, "check the preferences listed");
        return;
    }
    jsonv_free(&v);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    const char *params[] = {c->who.user_id, text};
    api_query(c, "prefs_put", 2, params, prefs_reply);
    cJSON_free(text);
}

static const struct api_endpoint get = {prefs_get, false};
static const struct api_endpoint put = {prefs_put, true};

static const struct route prefs_routes[] = {
    {HTTP_GET, "/v1/me/notifications", &get, ROLE_ANY},
    {HTTP_PUT, "/v1/me/notifications", &put, ROLE_ANY},
};

ROUTE_GROUP(notification_prefs_group, prefs_routes, prefs_prepare);
