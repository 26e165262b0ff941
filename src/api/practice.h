/* practice: the parts of POST /v1/stays that come from logeerzorg as practised
 * (docs/practice.md): a registered guest instead of the inline one, and the answers to the
 * booking function's refusals about guests, intakes and allowances. Internal to src/api/. */
#ifndef LOGEER_API_PRACTICE_H
#define LOGEER_API_PRACTICE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "logeer/api.h"
#include "logeer/jsonv.h"

/* When body names guest_id: checks it (exactly one of guest and guest_id; caregivers only),
 * adds it to out and returns true. Returns false when the body has no guest_id. */
bool practice_guest_id(const struct api_ctx *c, struct jsonv *v, const cJSON *body, cJSON *out);

/* Answers a logeer_book_stay outcome about a registered guest, an intake or an allowance
 * (detail is the function's detail JSON, may be empty); returns false for other outcomes. */
bool practice_booking_refused(struct api_ctx *c, const char *outcome, const char *detail);

#endif
