/* routes: the table of every route the service answers, who may call it, and what it needs.
 * Reading this file tells you the whole API surface and its role rules at a glance. */
#include "handlers.h"

static const struct api_endpoint ep_livez = {health_livez, false};
static const struct api_endpoint ep_readyz = {health_readyz, false};
static const struct api_endpoint ep_metrics = {health_metrics, false};
static const struct api_endpoint ep_municipalities = {municipalities_list, false};
static const struct api_endpoint ep_session_create = {sessions_create, true};
static const struct api_endpoint ep_session_delete = {sessions_delete_current, false};

/* roles 0: no login needed (probes, the municipality list a registration form shows, login). */
static const struct route routes[] = {
    {HTTP_GET, "/livez", &ep_livez, 0},
    {HTTP_GET, "/readyz", &ep_readyz, 0},
    {HTTP_GET, "/metrics", &ep_metrics, 0},
    {HTTP_GET, "/v1/municipalities", &ep_municipalities, 0},
    {HTTP_POST, "/v1/sessions", &ep_session_create, 0},
    {HTTP_DELETE, "/v1/sessions/current", &ep_session_delete, ROLE_ANY},
};

const struct route *api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

int api_init(struct app *app)
{
    if (health_prepare(app) || municipalities_prepare(app) || sessions_prepare(app))
        return -1;
    return 0;
}
