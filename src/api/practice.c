/* practice: booking for a registered guest (guest_id) and the refusals that only such a
 * booking meets: another caregiver's guest, a care profile the pool does not serve, a missing
 * or lapsed intake, a trial stay too long, an allowance missing or used up. The database
 * function decides; this file only words the answer. */
#include "practice.h"

#include <stdio.h>
#include <string.h>

bool practice_guest_id(const struct api_ctx *c, struct jsonv *v, const cJSON *body, cJSON *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, "guest_id");
    if (!item)
        return false;
    const char *id;
    if (cJSON_GetObjectItemCaseSensitive(body, "guest"))
        jsonv_error(v, "guest_id", "give either guest or guest_id, not both");
    else if (c->who.role != ROLE_CAREGIVER)
        jsonv_error(v, "guest_id", "only a caregiver books for a registered guest; give guest");
    else if (jsonv_string(v, body, "guest_id", true, 1, 64, &id)) {
        if (api_is_uuid(id))
            cJSON_AddStringToObject(out, "guest_id", id);
        else
            jsonv_error(v, "guest_id", "must be a guest id (see GET /v1/guests)");
    }
    return true;
}

static cJSON *detail_object(const char *detail)
{
    cJSON *extra = detail && *detail ? cJSON_Parse(detail) : NULL;
    if (extra && !cJSON_IsObject(extra)) {
        cJSON_Delete(extra);
        extra = NULL;
    }
    return extra;
}

static void field_problem(struct api_ctx *c, const char *field, const char *message)
{
    cJSON *errors = cJSON_CreateArray();
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "field", field);
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddItemToArray(errors, e);
    api_reply_problem_full(c, PROBLEM_VALIDATION, "the request does not fit this pool", errors,
                           NULL);
}

bool practice_booking_refused(struct api_ctx *c, const char *outcome, const char *detail)
{
    if (!strcmp(outcome, "guest_not_found")) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, "no guest with this id (see GET /v1/guests)");
    } else if (!strcmp(outcome, "care_profile")) {
        field_problem(c, "guest_id", "this pool does not serve the guest's care profile");
    } else if (!strcmp(outcome, "intake_required")) {
        api_reply_problem_full(c, PROBLEM_INTAKE_REQUIRED,
                               "this pool takes guests after an intake (kennismaking) at its "
                               "location, and the guest has no valid welcome or trial_first "
                               "outcome there: ask for one with POST /v1/intakes {guest_id, "
                               "location_id, moments}, or book a pool without that rule",
                               NULL, detail_object(detail));
    } else if (!strcmp(outcome, "trial_too_long")) {
        cJSON *extra = detail_object(detail);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(extra, "trial_max_nights");
        char msg[128];
        snprintf(msg, sizeof msg, "the intake allows a trial stay of at most %d nights first",
                 cJSON_IsNumber(n) ? n->valueint : 0);
        cJSON_Delete(extra);
        field_problem(c, "check_out", msg);
    } else if (!strcmp(outcome, "allowance_required")) {
        api_reply_problem_full(c, PROBLEM_ALLOWANCE_REQUIRED,
                               "this funding route (wmo, wlz, pgb) needs the guest's allowance "
                               "for it, valid on every night of the stay: register the grant "
                               "with POST /v1/allowances, or choose zvw or private",
                               NULL, detail_object(detail));
    } else if (!strcmp(outcome, "allowance_exceeded")) {
        api_reply_problem_full(c, PROBLEM_ALLOWANCE_EXCEEDED,
                               "the guest's allowance has too few nights left in a week or year "
                               "of this stay (remaining per period); shorten the stay, pick "
                               "other dates or another funding route",
                               NULL, detail_object(detail));
    } else {
        return false;
    }
    return true;
}
