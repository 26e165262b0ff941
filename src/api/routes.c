/* routes: gathers every resource module's route group into the one table the router
 * searches (kept in struct app for dispatch), prepares each group's statements at start and
 * calls each group's shutdown hook at the end. Each group's file shows its routes and who may
 * call them; this file shows which groups the service has, and frees nothing but the table. */
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "handlers.h"

static const struct route_group *const groups[] = {
    &health_group,
    &municipalities_group,
    &sessions_group,
    &availability_group,
    &stays_group,
    &series_group,
    &providers_group,
    &locations_group,
    &pools_group,
    &capacity_group,
    &users_group,
    &me_group,
    &audit_group,
    &reports_group,
    &events_stream_group,
    &guests_group,
    &intakes_group,
    &allowances_group,
    &escalations_group,
    &arrivals_group,
    &webhook_endpoints_group,
    &notification_prefs_group,
    &api_keys_group,
    &my_sessions_group,
    &password_change_group,
    &second_factor_group,
    &totp_factors_group,
    &account_tokens_group,
    &notify_messages_group,
    &sso_issuers_group,
    &sso_group,
    &open_data_group,
    &calendar_feeds_group,
    &passkeys_group,
    /* Last: its /{file} would otherwise shadow one-segment routes such as /livez. */
    &web_group,
};
#define NGROUPS (sizeof groups / sizeof groups[0])

int api_init(struct app *app)
{
    size_t n = 0;
    for (size_t g = 0; g < NGROUPS; g++)
        n += groups[g]->nroutes;
    app->routes = calloc(n, sizeof *app->routes);
    app->nroutes = 0;
    if (!app->routes)
        return -1;
    for (size_t g = 0; g < NGROUPS; g++) {
        memcpy(app->routes + app->nroutes, groups[g]->routes,
               groups[g]->nroutes * sizeof *app->routes);
        app->nroutes += groups[g]->nroutes;
        if (groups[g]->prepare && groups[g]->prepare(app) != 0)
            return -1;
    }
    return 0;
}

/* Each group releases what it holds itself; this file owns only the table. */
void api_shutdown(struct app *app)
{
    for (size_t g = 0; g < NGROUPS; g++)
        if (groups[g]->shutdown)
            groups[g]->shutdown(app);
    free(app->routes);
    app->routes = NULL;
    app->nroutes = 0;
    api_request_log_close();
    access_log_close();
}
