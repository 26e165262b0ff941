/* handlers: the api layer's internal list of resource modules. Each resource file (health.c,
 * sessions.c, ...) exports one route group: its routes, who may call them, a function that
 * prepares its SQL statements and, if it holds anything past a request, one that releases it.
 * Not a public header: only src/api/ includes it. */
#ifndef LOGEER_API_HANDLERS_H
#define LOGEER_API_HANDLERS_H

#include <stddef.h>

#include "logeer/api.h"

struct route_group {
    const struct route *routes;
    size_t nroutes;
    int (*prepare)(struct app *app); /* registers the group's statements; NULL if none */
    void (*shutdown)(struct app *app); /* releases what the group holds; NULL if nothing */
};

#define ROUTE_GROUP(name, routes_array, prepare_fn)                                          \
    ROUTE_GROUP_SHUTDOWN(name, routes_array, prepare_fn, NULL)
#define ROUTE_GROUP_SHUTDOWN(name, routes_array, prepare_fn, shutdown_fn)                    \
    const struct route_group name = {.routes = routes_array,                                 \
                                     .nroutes = sizeof routes_array / sizeof routes_array[0], \
                                     .prepare = prepare_fn,                                  \
                                     .shutdown = shutdown_fn}

extern const struct route_group health_group;         /* health.c: probes and metrics */
extern const struct route_group municipalities_group; /* municipalities.c */
extern const struct route_group sessions_group;       /* sessions.c: log in and out */
extern const struct route_group availability_group;   /* availability.c: search */
extern const struct route_group stays_group;          /* stays.c: requests and lifecycle */
extern const struct route_group series_group;         /* series.c: recurring stays */
extern const struct route_group providers_group;      /* providers.c: inventory owners */
extern const struct route_group locations_group;      /* locations.c: logeerhuizen */
extern const struct route_group pools_group;          /* pools.c: beds of one kind */
extern const struct route_group capacity_group;       /* capacity.c: beds per night */
extern const struct route_group users_group;          /* users.c: accounts, registration */
extern const struct route_group me_group;             /* me.c: own account, export, erasure */
extern const struct route_group audit_group;          /* audit.c: the access log */
extern const struct route_group reports_group;        /* reports.c: occupancy, demand */
extern const struct route_group events_stream_group;  /* events_stream.c: live events (SSE) */
extern const struct route_group guests_group;         /* guests.c: registered guests */
extern const struct route_group intakes_group;        /* intakes.c: kennismaking */
extern const struct route_group allowances_group;     /* allowances.c: grants of nights */
extern const struct route_group escalations_group;    /* escalations.c: the guarantee */
extern const struct route_group arrivals_group;       /* arrivals.c: who comes and goes */
extern const struct route_group webhook_endpoints_group; /* webhook_endpoints.c: webhooks */
extern const struct route_group totp_factors_group; /* totp_factors.c: TOTP, recovery codes */
extern const struct route_group my_sessions_group; /* my_sessions.c: see and end sessions */
extern const struct route_group second_factor_group; /* second_factor.c: factor reset */
extern const struct route_group api_keys_group;   /* api_keys.c: keys for provider systems */
/* The SCOPE_* that opens route to API keys; 0 when it is for people only (api_keys.c). */
unsigned api_key_route_scope(const struct route *route);
extern const struct route_group notify_messages_group; /* notify_messages.c: admin's queue view */
extern const struct route_group notification_prefs_group; /* notification_prefs.c: emails */
extern const struct route_group account_tokens_group;  /* account_tokens.c: reset, verify */
extern const struct route_group sso_issuers_group;     /* sso_issuers.c: OIDC issuers */
extern const struct route_group sso_group;     /* sso.c: single sign-on (OpenID Connect) */
extern const struct route_group open_data_group;       /* open_data.c: open figures */
extern const struct route_group calendar_feeds_group;  /* calendar_feeds.c: iCalendar feeds */
extern const struct route_group passkeys_group;      /* passkeys.c: WebAuthn */
extern const struct route_group password_change_group; /* password_change.c: own password */
extern const struct route_group web_group;            /* web.c: the pages; last, see there */

/* The password check shared by sign-in and a password change (sessions.c): records an attempt
 * and applies the failure limits per account and address; cb gets one row: attempt id,
 * retry_after_s (> 0: refused; answer with session_login_refuse), then the account (id, hash,
 * role, provider, municipality, email) or NULLs. */
void session_login_begin(struct api_ctx *c, const char *email, api_query_cb cb);
void session_login_refuse(struct api_ctx *c, const char *retry_after);

#endif
