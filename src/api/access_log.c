/* access_log: the NEN 7513 trail. Every read or change of a stay's or a registered guest's
 * personal data writes who, in which role, which stay and guest, what action and from where. Written after the fact
 * and without waiting: the log must never be the reason a caregiver gets an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"

#define ACCESS_LOG_GUESTS_SQL(where)                                                           \
    "INSERT INTO access_log (user_id, role, guest_id, guest_ref, action, request_id, address, "  \
    "route, api_key_id) SELECT $1::uuid, $2::user_role, g.id, g.alias, $4, $5, $6::inet, $7, "   \
    "nullif($8, '')::uuid FROM guests g WHERE " where
#define ACCESS_LOG_STAYS_SQL(where)                                                            \
    "INSERT INTO access_log (user_id, role, on_behalf_of, stay_id, guest_ref, action, "          \
    "request_id, address, route, api_key_id) SELECT $1::uuid, $2::user_role, s.on_behalf_of, "   \
    "s.id, s.guest_alias, $4, $5, $6::inet, $7, nullif($8, '')::uuid FROM stays s WHERE " where

/* Each in two forms: one id (nearly every request: a booking, a stay read) and a list. With
 * "= ANY($3)" PostgreSQL plans every execution afresh (its generic plan guesses ten ids and
 * looks dearer than a plan for the one id given), which cost a booking about 0.2 ms of the
 * database's CPU; "= $3" settles on one generic plan after a few executions. */
int access_log_prepare(struct app *app)
{
    if (api_prepare(app, "access_log_guest", ACCESS_LOG_GUESTS_SQL("g.id = $3::uuid")) ||
        api_prepare(app, "access_log_guests", ACCESS_LOG_GUESTS_SQL("g.id = ANY($3::uuid[])")) ||
        api_prepare(app, "access_log_stay", ACCESS_LOG_STAYS_SQL("s.id = $3::uuid")))
        return -1;
    return api_prepare(app, "access_log_stays", ACCESS_LOG_STAYS_SQL("s.id = ANY($3::uuid[])"));
}

static void access_log_write(struct api_ctx *c, const char *one, const char *many,
                             const char *action, const char *const *ids, size_t n);

void access_log_stays(struct api_ctx *c, const char *action, const char *const *stay_ids,
                      size_t n)
{
    access_log_write(c, "access_log_stay", "access_log_stays", action, stay_ids, n);
}

void access_log_guests(struct api_ctx *c, const char *action, const char *const *guest_ids,
                       size_t n)
{
    access_log_write(c, "access_log_guest", "access_log_guests", action, guest_ids, n);
}

static void access_log_write(struct api_ctx *c, const char *one, const char *many,
                             const char *action, const char *const *ids, size_t n)
{
    if (n == 0)
        return;
    const char *stmt = n == 1 ? one : many;
    /* A PostgreSQL array literal of uuids (or the one uuid); ids come from the database or
     * were checked to be uuid-shaped, so they need no quoting. */
    size_t size = n * 38 + 3;
    char *array = malloc(size);
    if (!array)
        return;
    size_t len = 0;
    if (n > 1)
        array[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(array + len, size - len, "%s%.36s", i ? "," : "", ids[i]);
    if (n > 1)
        array[len++] = '}';
    array[len] = '\0';
    char addr[64], route[160];
    snprintf(route, sizeof route, "%s %s", http_method_name(c->req->method),
             c->route ? c->route->pattern : "");
    const char *params[] = {c->who.user_id, role_name(c->who.role), array, action,
                            c->req->request_id, api_peer_address(c, addr, sizeof addr), route,
                            c->who.api_key_id};
    db_query(c->app->db, stmt, 8, params, NULL, NULL);
    free(array);
}
