/* handlers: the api layer's internal table of handlers and statement registrations, one pair
 * per resource file. Not a public header: only src/api/ includes it. */
#ifndef LOGEER_API_HANDLERS_H
#define LOGEER_API_HANDLERS_H

#include <stddef.h>

#include "logeer/api.h"

const struct route *api_routes(size_t *n);

/* health.c */
int health_prepare(struct app *app);
void health_livez(struct api_ctx *c);
void health_readyz(struct api_ctx *c);
void health_metrics(struct api_ctx *c);

/* municipalities.c */
int municipalities_prepare(struct app *app);
void municipalities_list(struct api_ctx *c);

/* sessions.c */
int sessions_prepare(struct app *app);
void sessions_create(struct api_ctx *c);
void sessions_delete_current(struct api_ctx *c);

#endif
