/* fuzz_jsonv: libFuzzer harness for the request-body validators. Feeds arbitrary bytes to
 * jsonv_parse_object and, whenever they parse, every typed getter on every member (and on the
 * members of nested objects). Must never do I/O: crashes, leaks and UB are its only output. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/jsonv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_kinds[] = {"planned", "crisis", NULL};
static const char *const fuzz_profiles[] = {"somatic", "dementia", "disability", "psychiatric",
                                            "youth", NULL};
static const char *const fuzz_known[] = {"pool_id", "check_in", "check_out", "funding", "guest",
                                         "waitlist", "beds", "lat", "name", NULL};

/* A violated invariant is a bug even when nothing crashed: make libFuzzer keep the input. */
static void fuzz_assert(int ok)
{
    if (!ok)
        abort();
}

/* Runs every getter on one field. The extreme bounds of jsonv_int are deliberate: they are
 * where a double-to-long conversion can overflow. */
static void fuzz_getters(struct jsonv *v, const cJSON *obj, const char *field)
{
    const char *s = NULL;
    long l = 0;
    double d = 0;
    bool b = false;
    date_day day = 0;
    int idx = -1;
    const cJSON *set = NULL;

    if (jsonv_string(v, obj, field, false, 1, 64, &s))
        fuzz_assert(s != NULL && strlen(s) >= 1 && strlen(s) <= 64);
    if (jsonv_int(v, obj, field, false, 0, 500, &l))
        fuzz_assert(l >= 0 && l <= 500);
    if (jsonv_int(v, obj, field, true, LONG_MIN, LONG_MAX, &l))
        fuzz_assert(l >= LONG_MIN && l <= LONG_MAX);
    if (jsonv_int(v, obj, field, false, 1900, 2100, &l))
        fuzz_assert(l >= 1900 && l <= 2100);
    if (jsonv_number(v, obj, field, false, -90.0, 90.0, &d))
        fuzz_assert(d >= -90.0 && d <= 90.0);
    (void)jsonv_bool(v, obj, field, false, &b);
    (void)jsonv_date(v, obj, field, true, &day);
    if (jsonv_enum(v, obj, field, false, fuzz_kinds, &idx))
        fuzz_assert(idx >= 0 && idx < 2);
    (void)jsonv_string_set(v, obj, field, false, fuzz_profiles, 5, &set);
    (void)jsonv_string_set(v, obj, field, false, NULL, 8, &set);
}

/* Validates obj the way a handler does, then descends into object members (bounded by the
 * depth the parser already enforced). */
static void fuzz_validate(const cJSON *obj, int depth)
{
    struct jsonv v;
    jsonv_init(&v);
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        if (m->string)
            fuzz_getters(&v, obj, m->string);
    }
    fuzz_getters(&v, obj, "absent");
    jsonv_only(&v, obj, fuzz_known);
    cJSON *errors = jsonv_take_errors(&v);
    fuzz_assert(jsonv_ok(&v));
    if (errors) {
        /* The api layer prints the errors into the problem body: do the same. */
        char *text = cJSON_PrintUnformatted(errors);
        fuzz_assert(text != NULL);
        free(text);
        cJSON_Delete(errors);
    }
    jsonv_free(&v);
    if (depth >= JSONV_MAX_DEPTH)
        return;
    cJSON_ArrayForEach(m, obj)
    {
        if (cJSON_IsObject(m))
            fuzz_validate(m, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so that reading one byte past the body is an ASan report. */
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    bool utf8 = jsonv_utf8_valid(body, size);
    const char *why = NULL;
    cJSON *root = jsonv_parse_object(body, size, &why);
    if (!root) {
        fuzz_assert(why != NULL);
    } else {
        fuzz_assert(utf8 && cJSON_IsObject(root));
        fuzz_validate(root, 1);
        cJSON_Delete(root);
    }
    free(body);
    return 0;
}
