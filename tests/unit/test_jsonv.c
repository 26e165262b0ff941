/* Proves the request validators accept good input and name every bad field precisely. */
#include <limits.h>
#include <stdlib.h>

#include "check.h"
#include "logeer/jsonv.h"

static cJSON *parse(const char *s)
{
    const char *why = NULL;
    return jsonv_parse_object(s, strlen(s), &why);
}

static void test_parse_rejects_bad_bodies(void)
{
    const char *why = NULL;
    const char *bad[] = {"", "{", "{\"a\":}", "[1,2]", "\"x\"", "{\"a\":1} junk", "{\"a\":1}{}",
                         "nul", "{'a':1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *o = jsonv_parse_object(bad[i], strlen(bad[i]), &why);
        CHECK(o == NULL);
        CHECK(why != NULL);
    }
    char deep[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    CHECK(jsonv_parse_object(deep, strlen(deep), &why) == NULL);
    const char invalid_utf8[] = "{\"a\":\"\xC3\x28\"}";
    CHECK(jsonv_parse_object(invalid_utf8, strlen(invalid_utf8), &why) == NULL);
    const char overlong[] = "{\"a\":\"\xC0\xAF\"}";
    CHECK(jsonv_parse_object(overlong, strlen(overlong), &why) == NULL);
    const char with_nul[] = "{\"a\":1}\0";
    CHECK(jsonv_parse_object(with_nul, sizeof with_nul - 1, &why) == NULL);
    /* An escaped NUL would silently truncate "mevr.\u0000X" to "mevr.": refused instead. */
    const char escaped_nul[] = "{\"alias\":\"mevr.\\u0000X\"}";
    CHECK(jsonv_parse_object(escaped_nul, strlen(escaped_nul), &why) == NULL);
    cJSON *escaped_backslash = parse("{\"alias\":\"a\\\\u0000\"}");
    CHECK(escaped_backslash != NULL); /* "\\u0000" is a backslash and text, no NUL */
    cJSON_Delete(escaped_backslash);
    cJSON *ok = parse(" {\"naam\":\"Zorghuis \xC3\xA9\xC3\xA9n\"} \n");
    CHECK(ok != NULL);
    cJSON_Delete(ok);
}

static void test_getters_collect_all_field_errors(void)
{
    cJSON *o = parse("{\"beds\":-1,\"name\":7,\"check_in\":\"2026-02-30\",\"kind\":\"spoed\","
                     "\"profiles\":[\"dementia\",\"dementia\"],\"status\":\"confirmed\","
                     "\"flag\":\"yes\",\"nights\":2.5}");
    struct jsonv v;
    jsonv_init(&v);
    long beds = 99, nights = 0;
    const char *name = NULL;
    date_day d;
    int kind = -1;
    bool flag;
    const cJSON *profiles = NULL;
    static const char *const kinds[] = {"planned", "crisis", NULL};
    static const char *const profile_names[] = {"somatic", "dementia", NULL};
    static const char *const known[] = {"beds", "name", "check_in", "kind", "profiles", "flag",
                                        "nights", NULL};
    CHECK(!jsonv_int(&v, o, "beds", true, 0, 500, &beds));
    CHECK(beds == 99);
    CHECK(!jsonv_string(&v, o, "name", true, 1, 100, &name));
    CHECK(!jsonv_date(&v, o, "check_in", true, &d));
    CHECK(!jsonv_enum(&v, o, "kind", true, kinds, &kind));
    CHECK(!jsonv_string_set(&v, o, "profiles", true, profile_names, 5, &profiles));
    CHECK(!jsonv_bool(&v, o, "flag", true, &flag));
    CHECK(!jsonv_int(&v, o, "nights", true, 1, 28, &nights));
    CHECK(!jsonv_string(&v, o, "missing", true, 1, 10, &name));
    CHECK(!jsonv_string(&v, o, "optional", false, 1, 10, &name));
    jsonv_only(&v, o, known);
    cJSON *errors = jsonv_take_errors(&v);
    /* 8 invalid or missing + 1 unknown ("status"); the optional absent one adds nothing. */
    CHECK(cJSON_GetArraySize(errors) == 9);
    cJSON *last = cJSON_GetArrayItem(errors, 8);
    CHECK_STR(cJSON_GetObjectItem(last, "field")->valuestring, "status");
    cJSON_Delete(errors);
    cJSON_Delete(o);
}

static void test_getters_accept_good_values(void)
{
    cJSON *o = parse("{\"beds\":4,\"check_in\":\"2026-12-04\",\"kind\":\"crisis\","
                     "\"profiles\":[\"somatic\"],\"flag\":false,\"lat\":52.99,\"note\":null}");
    struct jsonv v;
    jsonv_init(&v);
    long beds;
    date_day d;
    int kind;
    bool flag = true;
    double lat;
    const char *note = NULL;
    const cJSON *profiles;
    static const char *const kinds[] = {"planned", "crisis", NULL};
    CHECK(jsonv_int(&v, o, "beds", true, 0, 500, &beds) && beds == 4);
    CHECK(jsonv_date(&v, o, "check_in", true, &d) && d == date_from_ymd(2026, 12, 4));
    CHECK(jsonv_enum(&v, o, "kind", true, kinds, &kind) && kind == 1);
    CHECK(jsonv_string_set(&v, o, "profiles", true, NULL, 5, &profiles));
    CHECK(jsonv_bool(&v, o, "flag", true, &flag) && !flag);
    CHECK(jsonv_number(&v, o, "lat", true, 50, 54, &lat));
    CHECK(!jsonv_string(&v, o, "note", false, 0, 10, &note)); /* null counts as absent */
    CHECK(jsonv_ok(&v));
    jsonv_free(&v);
    cJSON_Delete(o);
}

/* 2^63 is past LONG_MAX even though (double)LONG_MAX compares equal to it; converting it to
 * long would be undefined (UBSan in the sanitizer build turns that into a failure). */
static void test_int_refuses_two_to_the_63(void)
{
    cJSON *o = parse("{\"n\":9223372036854775808,\"m\":-9223372036854775808}");
    struct jsonv v;
    jsonv_init(&v);
    long n = 7;
    CHECK(!jsonv_int(&v, o, "n", true, LONG_MIN, LONG_MAX, &n));
    CHECK(n == 7);
    CHECK(jsonv_int(&v, o, "m", true, LONG_MIN, LONG_MAX, &n));
    CHECK(n == LONG_MIN);
    jsonv_free(&v);
    cJSON_Delete(o);
}

int main(void)
{
    test_parse_rejects_bad_bodies();
    test_getters_collect_all_field_errors();
    test_getters_accept_good_values();
    test_int_refuses_two_to_the_63();
    return check_done("jsonv");
}
