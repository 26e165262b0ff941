/* problem: the table of problem kinds (status, type URI, title) and the SQLSTATE mapping.
 * Keeping both here means a client-visible error text changes in exactly one place. */
#include "logeer/problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/utf8.h"

struct problem_def {
    int status;
    const char *slug;   /* last part of the type URI */
    const char *title;
};

static const struct problem_def problems[PROBLEM_KIND_COUNT] = {
    [PROBLEM_BAD_REQUEST] = {400, "bad-request", "Bad request"},
    [PROBLEM_UNAUTHORIZED] = {401, "unauthorized", "Authentication required"},
    [PROBLEM_BAD_CREDENTIALS] = {401, "bad-credentials", "Email or password is incorrect"},
    [PROBLEM_FORBIDDEN] = {403, "forbidden", "Not allowed for this role"},
    [PROBLEM_NOT_FOUND] = {404, "not-found", "Not found"},
    [PROBLEM_METHOD_NOT_ALLOWED] = {405, "method-not-allowed", "Method not allowed"},
    [PROBLEM_NOT_ACCEPTABLE] = {406, "not-acceptable", "Not acceptable"},
    [PROBLEM_CONFLICT] = {409, "conflict", "Conflict"},
    [PROBLEM_NO_BEDS] = {409, "no-beds", "Not enough free beds"},
    [PROBLEM_LIFECYCLE] = {409, "invalid-transition", "Not possible in the stay's current status"},
    [PROBLEM_IDEMPOTENCY_RUNNING] = {409, "idempotency-in-progress",
                                     "The original request with this Idempotency-Key is still running"},
    [PROBLEM_REQUEST_TIMEOUT] = {408, "request-timeout", "Request not received in time"},
    [PROBLEM_PRECONDITION_FAILED] = {412, "precondition-failed", "The resource has changed"},
    [PROBLEM_TOO_LARGE] = {413, "payload-too-large", "Request body too large"},
    [PROBLEM_URI_TOO_LONG] = {414, "uri-too-long", "Request target too long"},
    [PROBLEM_UNSUPPORTED_MEDIA] = {415, "unsupported-media-type", "Unsupported media type"},
    [PROBLEM_VALIDATION] = {422, "validation", "Invalid values"},
    [PROBLEM_IDEMPOTENCY_MISMATCH] = {422, "idempotency-key-reused",
                                      "Idempotency-Key was used for a different request"},
    [PROBLEM_PRECONDITION_REQUIRED] = {428, "precondition-required", "If-Match header required"},
    [PROBLEM_RATE_LIMITED] = {429, "rate-limited", "Too many requests"},
    [PROBLEM_HEADERS_TOO_LARGE] = {431, "header-fields-too-large", "Request head too large"},
    [PROBLEM_INTERNAL] = {500, "internal", "Internal server error"},
    [PROBLEM_NOT_IMPLEMENTED] = {501, "not-implemented", "Not implemented"},
    [PROBLEM_UNAVAILABLE] = {503, "unavailable", "Service temporarily unavailable"},
    [PROBLEM_INTAKE_REQUIRED] = {409, "intake-required",
                                 "An intake (kennismaking) at this location comes first"},
    [PROBLEM_HTTP_VERSION] = {505, "http-version-not-supported", "HTTP version not supported"},
    [PROBLEM_ALLOWANCE_REQUIRED] = {409, "allowance-required",
                                    "This funding route needs a registered allowance"},
    [PROBLEM_ALLOWANCE_EXCEEDED] = {409, "allowance-exceeded",
                                    "Not enough nights left in the allowance"},
    [PROBLEM_NO_COMPANION_PLACE] = {409, "no-companion-place",
                                    "No place for the caregiver to stay along"},
    [PROBLEM_CSRF] = {403, "csrf-failed",
                      "The X-CSRF-Token header is missing or does not match the session"},
    [PROBLEM_SECOND_FACTOR] = {403, "second-factor-required",
                               "Prove (or first set up) a second factor to continue"},
    [PROBLEM_STEP_UP] = {403, "step-up-required",
                         "This action needs a second factor proven a moment ago"},
};

#define PROBLEM_TYPE_BASE "https://logeer.example/problems/"

int problem_status(enum problem_kind kind) { return problems[kind].status; }
const char *problem_title(enum problem_kind kind) { return problems[kind].title; }

enum problem_kind problem_for_status(int status)
{
    for (int k = 0; k < PROBLEM_KIND_COUNT; k++)
        if (problems[k].status == status)
            return (enum problem_kind)k;
    return status >= 400 && status < 500 ? PROBLEM_BAD_REQUEST : PROBLEM_INTERNAL;
}

/* Details quote the request ("no resource at %.200s") and may be cut at a byte count; a
 * sequence cut in half would make the whole body invalid UTF-8, so the text ends before it. */
static void problem_add_text(cJSON *o, const char *key, const char *text)
{
    size_t len = strlen(text);
    size_t keep = utf8_valid_prefix(text, len);
    if (keep == len) {
        cJSON_AddStringToObject(o, key, text);
        return;
    }
    char *copy = strndup(text, keep);
    cJSON_AddStringToObject(o, key, copy ? copy : "");
    free(copy);
}

char *problem_render(enum problem_kind kind, const char *detail, cJSON *errors, cJSON *extra)
{
    const struct problem_def *d = &problems[kind];
    char type[128];
    snprintf(type, sizeof type, PROBLEM_TYPE_BASE "%s", d->slug);

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "title", d->title);
    cJSON_AddNumberToObject(o, "status", d->status);
    problem_add_text(o, "detail", detail ? detail : d->title);
    if (errors)
        cJSON_AddItemToObject(o, "errors", errors);
    if (extra) {
        /* Move members so the caller's object can be deleted without copying deep trees. */
        while (extra->child) {
            cJSON *item = cJSON_DetachItemViaPointer(extra, extra->child);
            if (cJSON_GetObjectItemCaseSensitive(o, item->string))
                cJSON_Delete(item); /* never let extra overwrite the standard members */
            else
                cJSON_AddItemToObject(o, item->string, item);
        }
        cJSON_Delete(extra);
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

struct sqlstate_map {
    const char *prefix; /* full code or two-letter class */
    enum problem_kind kind;
};

static const struct sqlstate_map sqlstates[] = {
    {"23514", PROBLEM_NO_BEDS},      /* check_violation: held + booked <= capacity */
    {"23505", PROBLEM_CONFLICT},     /* unique_violation */
    {"23503", PROBLEM_VALIDATION},   /* foreign_key_violation: an unknown referenced id */
    {"23502", PROBLEM_VALIDATION},   /* not_null_violation */
    {"22P02", PROBLEM_VALIDATION},   /* invalid_text_representation (e.g. a malformed uuid) */
    {"22007", PROBLEM_VALIDATION},   /* invalid_datetime_format */
    {"22008", PROBLEM_VALIDATION},   /* datetime_field_overflow */
    {"40001", PROBLEM_UNAVAILABLE},  /* serialization_failure: safe to retry */
    {"40P01", PROBLEM_UNAVAILABLE},  /* deadlock_detected: safe to retry */
    {"55P03", PROBLEM_UNAVAILABLE},  /* lock_not_available */
    {"57P01", PROBLEM_UNAVAILABLE},  /* admin_shutdown */
    {"57P02", PROBLEM_UNAVAILABLE},  /* crash_shutdown */
    {"57P03", PROBLEM_UNAVAILABLE},  /* cannot_connect_now */
    {"08", PROBLEM_UNAVAILABLE},     /* connection exceptions */
    {"53", PROBLEM_UNAVAILABLE},     /* insufficient resources */
};

enum problem_kind problem_from_sqlstate(const char *sqlstate)
{
    if (!sqlstate)
        return PROBLEM_INTERNAL;
    for (size_t i = 0; i < sizeof sqlstates / sizeof sqlstates[0]; i++)
        if (strncmp(sqlstate, sqlstates[i].prefix, strlen(sqlstates[i].prefix)) == 0)
            return sqlstates[i].kind;
    return PROBLEM_INTERNAL;
}
