/* guests: what the resources about a registered guest (intakes, allowances) share with
 * guests.c: the caller's scope and the access log of what a reply shows. Internal to
 * src/api/. */
#ifndef LOGEER_API_GUESTS_H
#define LOGEER_API_GUESTS_H

#include "logeer/api.h"

/* The scope parameter of guest statements: a caregiver's own id, provider staff's provider
 * id, NULL for the coordinator (every guest). */
const char *guests_scope(const struct api_ctx *c);

/* Access-logs action for the guest ids in body: the member key of the object itself and of
 * every object in its array member list (e.g. "intakes", "guest_id"). */
void guests_log_seen(struct api_ctx *c, const char *body, const char *list, const char *key,
                     const char *action);

#endif
