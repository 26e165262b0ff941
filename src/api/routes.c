/* routes: gathers every resource module's route group into the one table the router
 * searches. Each group's file shows its routes and who may call them; this file shows which
 * groups the service has. */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "logeer/log.h"

static const struct route_group *const groups[] = {
    &health_group,
    &municipalities_group,
    &sessions_group,
    &availability_group,
    &stays_group,
    &providers_group,
    &locations_group,
    &pools_group,
    &capacity_group,
    &users_group,
    &me_group,
    &audit_group,
    &reports_group,
    &events_stream_group,
    &dashboard_group,
    &guests_group,
    &intakes_group,
    &allowances_group,
};
#define NGROUPS (sizeof groups / sizeof groups[0])

static struct route *all_routes;
static size_t nall_routes;

const struct route *api_routes(size_t *n)
{
    *n = nall_routes;
    return all_routes;
}

static void free_routes(void)
{
    free(all_routes);
    all_routes = NULL;
    nall_routes = 0;
}

int api_init(struct app *app)
{
    size_t n = 0;
    for (size_t g = 0; g < NGROUPS; g++)
        n += groups[g]->nroutes;
    free_routes();
    all_routes = calloc(n, sizeof *all_routes);
    if (!all_routes)
        return -1;
    for (size_t g = 0; g < NGROUPS; g++) {
        memcpy(all_routes + nall_routes, groups[g]->routes,
               groups[g]->nroutes * sizeof *all_routes);
        nall_routes += groups[g]->nroutes;
        if (groups[g]->prepare && groups[g]->prepare(app) != 0)
            return -1;
    }
    return 0;
}

void api_shutdown(struct app *app)
{
    free_routes();
    api_session_cache_free(app);
    availability_log_free(app);
    health_free(app);
}
