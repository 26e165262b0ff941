/* Proves problem+json bodies carry RFC 9457 members, field errors and extras, and that
 * SQLSTATEs map to the statuses clients rely on. */
#include <stdlib.h>

#include "check.h"
#include "logeer/problem.h"

static void test_render_has_standard_members(void)
{
    char *text = problem_render(PROBLEM_NO_BEDS, "no free bed on 2026-12-05", NULL, NULL);
    cJSON *o = cJSON_Parse(text);
    CHECK(o != NULL);
    CHECK(cJSON_GetObjectItem(o, "status")->valueint == 409);
    CHECK_STR(cJSON_GetObjectItem(o, "detail")->valuestring, "no free bed on 2026-12-05");
    CHECK_STR(cJSON_GetObjectItem(o, "title")->valuestring, "Not enough free beds");
    CHECK(strstr(cJSON_GetObjectItem(o, "type")->valuestring, "no-beds") != NULL);
    cJSON_Delete(o);
    cJSON_free(text);
}

static void test_render_with_errors_and_extra_cannot_override_status(void)
{
    cJSON *errors = cJSON_CreateArray();
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "field", "beds");
    cJSON_AddStringToObject(e, "message", "must be between 0 and 500");
    cJSON_AddItemToArray(errors, e);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "current_status", "confirmed");
    cJSON_AddNumberToObject(extra, "status", 200); /* must be ignored */
    char *text = problem_render(PROBLEM_VALIDATION, NULL, errors, extra);
    cJSON *o = cJSON_Parse(text);
    CHECK(cJSON_GetObjectItem(o, "status")->valueint == 422);
    CHECK_STR(cJSON_GetObjectItem(o, "current_status")->valuestring, "confirmed");
    cJSON *errs = cJSON_GetObjectItem(o, "errors");
    CHECK(cJSON_GetArraySize(errs) == 1);
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 0), "field")->valuestring, "beds");
    CHECK(cJSON_GetObjectItem(o, "detail") != NULL);
    cJSON_Delete(o);
    cJSON_free(text);
}

static void test_every_kind_has_a_status_and_title(void)
{
    for (int k = 0; k < PROBLEM_KIND_COUNT; k++) {
        CHECK(problem_status(k) >= 400 && problem_status(k) < 600);
        CHECK(problem_title(k) != NULL);
    }
}

static void test_sqlstate_mapping(void)
{
    CHECK(problem_from_sqlstate("23514") == PROBLEM_NO_BEDS);
    CHECK(problem_from_sqlstate("23505") == PROBLEM_CONFLICT);
    CHECK(problem_from_sqlstate("40P01") == PROBLEM_UNAVAILABLE);
    CHECK(problem_from_sqlstate("08006") == PROBLEM_UNAVAILABLE);
    CHECK(problem_from_sqlstate("42P01") == PROBLEM_INTERNAL);
    CHECK(problem_from_sqlstate(NULL) == PROBLEM_INTERNAL);
}

/* The HTTP layer's own answers have only a status; each must find a kind with that very
 * status, so the body never contradicts the status line. */
static void test_kind_for_status(void)
{
    int own[] = {400, 408, 413, 414, 431, 501, 503, 505};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        CHECK(problem_status(problem_for_status(own[i])) == own[i]);
    CHECK(problem_for_status(400) == PROBLEM_BAD_REQUEST);
    CHECK(problem_for_status(431) == PROBLEM_HEADERS_TOO_LARGE);
    CHECK(problem_for_status(418) == PROBLEM_BAD_REQUEST);
    CHECK(problem_for_status(599) == PROBLEM_INTERNAL);
    char *text = problem_render(problem_for_status(408), "request head not received in time",
                                NULL, NULL);
    CHECK(strstr(text, "\"type\":\"https://logeer.example/problems/request-timeout\"") != NULL);
    cJSON_free(text);
}

/* A detail cut at a byte count in the middle of a character still renders valid UTF-8. */
static void test_detail_cut_inside_a_character(void)
{
    char *text = problem_render(PROBLEM_NOT_FOUND, "no resource at /x/caf\xc3", NULL, NULL);
    CHECK(strstr(text, "\"detail\":\"no resource at /x/caf\"") != NULL);
    cJSON_free(text);
}

int main(void)
{
    test_render_has_standard_members();
    test_render_with_errors_and_extra_cannot_override_status();
    test_every_kind_has_a_status_and_title();
    test_sqlstate_mapping();
    test_kind_for_status();
    test_detail_cut_inside_a_character();
    return check_done("problem");
}
