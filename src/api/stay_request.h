/* stay_request: what a request for one stay (stays.c) and for a series of stays (series.c)
 * share: the validated request, the registered guest, transport, the planned/crisis pathway
 * and the database's booking refusals. stays.c owns all of it; series.c asks for each of its
 * occurrences exactly what a single stay is asked. Internal to src/api/. */
#ifndef LOGEER_API_STAY_REQUEST_H
#define LOGEER_API_STAY_REQUEST_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "logeer/api.h"
#include "logeer/core.h"
#include "logeer/jsonv.h"
#include "resource.h"

/* A stay request after validation, before the database. */
struct stay_request {
    const struct core_pool *pool;
    date_day check_in, check_out;
    int care_profile, funding;  /* indices in the core's name lists; -1 until valid */
    bool inline_guest;          /* the guest is given inline, not as guest_id */
    const char *initial_status;
    const char *kind;
};

/* A registered guest (guest_id, caregivers only): checks it, adds it to out and returns true;
 * false when the body has no guest_id. */
bool stay_registered_guest(const struct api_ctx *c, struct jsonv *v, const cJSON *body,
                           cJSON *out);

/* arrival or departure ({by, time?, note?}) into out; *time points at its time or NULL. */
void stay_validate_transport(struct jsonv *v, const cJSON *body, const char *field,
                             bool allow_null, cJSON *out, const char **time);

/* The transport times against the pool's check-in and check-out windows. */
void stay_check_transport_windows(struct jsonv *v, const struct core_pool *p,
                                  const char *arrival, const char *departure);

/* The active pool pool_id, as this process's index has it. When the index does not know it
 * or knows it as switched off, the pool may have been created or switched on a moment ago
 * through another process whose notification has not arrived here: the first time, the
 * handler's state is freed, the pool is loaded and handler runs again from the start; after
 * that, 404. NULL in both cases (the caller returns). */
const struct core_pool *stay_known_pool(struct api_ctx *c, const char *pool_id,
                                        void (*handler)(struct api_ctx *c));

/* The separation of planned and crisis beds for r->pool: sets r->kind and r->initial_status,
 * or replies and returns false. */
bool stay_decide_pathway(struct api_ctx *c, struct stay_request *r, bool has_diversion);

/* An action's optional body {"reason": 1..1000 characters} (decline, cancel, ...): copies the
 * reason into reason[1001] and sets *has_reason. Replies 422 and returns false when the body
 * holds anything else. */
bool stay_action_reason(struct api_ctx *c, char reason[1001], bool *has_reason);

/* The visibility parameters $1..$3 (role, user, provider) that the stay and series queries
 * share: who may see which stays. */
void stay_visibility_params(const struct api_ctx *c, const char *params[3]);

/* logeer_book_stay's refusals as problems (NULL-terminated). */
extern const struct res_refusal stay_booking_outcomes[];

#endif
