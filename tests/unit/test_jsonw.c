/* Unit tests for the JSON text writer: commas, escapes and numbers, checked as exact text and
 * by parsing the output back with cJSON. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "check.h"
#include "logeer/jsonw.h"

static void test_structure_and_commas(void)
{
    struct jsonw w;
    jw_init(&w);
    jw_object_begin(&w);
    jw_kstring(&w, "a", "x");
    jw_key(&w, "list");
    jw_array_begin(&w);
    jw_int(&w, 1);
    jw_object_begin(&w);
    jw_kbool(&w, "t", true);
    jw_object_end(&w);
    jw_array_begin(&w);
    jw_array_end(&w);
    jw_null(&w);
    jw_array_end(&w);
    jw_kint(&w, "n", -42);
    jw_object_end(&w);
    CHECK_STR(jw_text(&w, NULL), "{\"a\":\"x\",\"list\":[1,{\"t\":true},[],null],\"n\":-42}");
    jw_reset(&w);
    jw_array_begin(&w);
    jw_array_end(&w);
    size_t len = 0;
    CHECK_STR(jw_text(&w, &len), "[]");
    CHECK(len == 2);
    jw_free(&w);
}

static void test_string_escapes(void)
{
    struct jsonw w;
    jw_init(&w);
    const char *nasty = "quote\" back\\ nl\n tab\t bell\a euro\xe2\x82\xac";
    jw_string(&w, nasty);
    CHECK_STR(jw_text(&w, NULL),
              "\"quote\\\" back\\\\ nl\\n tab\\t bell\\u0007 euro\xe2\x82\xac\"");
    cJSON *back = cJSON_Parse(jw_text(&w, NULL));
    CHECK(cJSON_IsString(back) && strcmp(back->valuestring, nasty) == 0);
    cJSON_Delete(back);
    jw_reset(&w);
    jw_string(&w, NULL);
    CHECK_STR(jw_text(&w, NULL), "null");
    jw_free(&w);
}

/* Keys from input are escaped like values and separated like any member. */
static void test_escaped_keys(void)
{
    struct jsonw w;
    jw_init(&w);
    jw_object_begin(&w);
    jw_key_escaped(&w, "a\"b");
    jw_int(&w, 1);
    jw_key_escaped(&w, "nl\n\xc3\xa9");
    jw_array_begin(&w);
    jw_array_end(&w);
    jw_key_escaped(&w, "");
    jw_null(&w);
    jw_object_end(&w);
    CHECK_STR(jw_text(&w, NULL), "{\"a\\\"b\":1,\"nl\\n\xc3\xa9\":[],\"\":null}");
    cJSON *back = cJSON_Parse(jw_text(&w, NULL));
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(back, "a\"b")));
    CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(back, "nl\n\xc3\xa9")));
    cJSON_Delete(back);
    jw_free(&w);
}

/* A quote, a backslash or a control character at every position of strings of 1 to 24
 * bytes (the writer checks eight bytes at a time), between plain ASCII and UTF-8 bytes: the
 * output always parses back to the input. */
static void test_escapes_at_every_position(void)
{
    const char specials[] = {'"', '\\', '\n', '\x01', '\x1f'};
    struct jsonw w;
    jw_init(&w);
    for (size_t len = 1; len <= 24; len++) {
        for (size_t at = 0; at < len; at++) {
            for (size_t k = 0; k < sizeof specials; k++) {
                char text[32];
                for (size_t i = 0; i < len; i++)
                    text[i] = (char)(i % 3 == 2 ? 0xc3 : 'a' + (int)(i % 26));
                for (size_t i = 0; i < len; i++) /* keep the UTF-8 valid: 0xc3 then 0xa9 */
                    if ((unsigned char)text[i] == 0xc3 && (i + 1 == len || i + 1 == at))
                        text[i] = 'x';
                    else if ((unsigned char)text[i] == 0xc3)
                        text[++i] = (char)0xa9;
                text[at] = specials[k];
                text[len] = '\0';
                jw_reset(&w);
                jw_string(&w, text);
                cJSON *back = cJSON_Parse(jw_text(&w, NULL));
                CHECK(cJSON_IsString(back) && strcmp(back->valuestring, text) == 0);
                cJSON_Delete(back);
            }
        }
    }
    jw_reset(&w);
    jw_string(&w, "Zorgcentrum De Brink \xe2\x80\x93 Logeerkamers");
    CHECK_STR(jw_text(&w, NULL), "\"Zorgcentrum De Brink \xe2\x80\x93 Logeerkamers\"");
    jw_free(&w);
}

static const char *one(struct jsonw *w, void (*f)(struct jsonw *, double, int), double v, int d)
{
    jw_reset(w);
    f(w, v, d);
    return jw_text(w, NULL);
}

static void fixed(struct jsonw *w, double v, int d) { jw_fixed(w, v, d); }
static void dbl(struct jsonw *w, double v, int d) { (void)d; jw_double(w, v); }

static void test_numbers(void)
{
    struct jsonw w;
    jw_init(&w);
    CHECK_STR(one(&w, fixed, 12.34, 1), "12.3");
    CHECK_STR(one(&w, fixed, 12.35, 1), "12.4");
    CHECK_STR(one(&w, fixed, 3.0, 1), "3");
    CHECK_STR(one(&w, fixed, 0.04, 1), "0");
    CHECK_STR(one(&w, fixed, 0.05, 2), "0.05");
    CHECK_STR(one(&w, fixed, 7.5, 3), "7.5");
    CHECK_STR(one(&w, fixed, 0.1234567, 3), "0.123");
    CHECK_STR(one(&w, fixed, 1000.0005, 3), "1000.001");
    CHECK_STR(one(&w, dbl, 52.99, 0), "52.99");
    CHECK_STR(one(&w, dbl, 6.5, 0), "6.5");
    CHECK_STR(one(&w, dbl, 21.0, 0), "21");
    CHECK_STR(one(&w, dbl, -3.0, 0), "-3");
    CHECK_STR(one(&w, dbl, NAN, 0), "null");
    CHECK_STR(one(&w, dbl, INFINITY, 0), "null");
    jw_reset(&w);
    jw_int(&w, -9223372036854775807LL - 1);
    CHECK_STR(jw_text(&w, NULL), "-9223372036854775808");
    jw_free(&w);
}

static void test_large_document_round_trips(void)
{
    struct jsonw w;
    jw_init(&w);
    jw_array_begin(&w);
    for (int i = 0; i < 5000; i++) {
        jw_object_begin(&w);
        jw_kint(&w, "i", i);
        jw_key(&w, "d");
        jw_double(&w, i / 8.0);
        jw_kstring(&w, "s", "Logeerhuis \"De Es\"");
        jw_object_end(&w);
    }
    jw_array_end(&w);
    cJSON *back = cJSON_Parse(jw_text(&w, NULL));
    CHECK(cJSON_IsArray(back) && cJSON_GetArraySize(back) == 5000);
    cJSON *last = cJSON_GetArrayItem(back, 4999);
    CHECK(cJSON_GetObjectItem(last, "i")->valueint == 4999);
    CHECK(cJSON_GetObjectItem(last, "d")->valuedouble == 4999 / 8.0);
    CHECK_STR(cJSON_GetObjectItem(last, "s")->valuestring, "Logeerhuis \"De Es\"");
    cJSON_Delete(back);
    jw_free(&w);
}

/* Prepared members, a value that goes on after a prepared key, members carrying their own
 * comma: the same text as written member by member. */
static void test_raw_parts_join_as_members(void)
{
    struct jsonw w;
    jw_init(&w);
    jw_object_begin(&w);
    jw_kint(&w, "id", 7);
    const char *fresh = "\"as_of\":\"x\",\"stale\":", *tail = "\"a\":1", *dates = ",\"d\":\"y\"";
    jw_members_raw(&w, fresh, strlen(fresh));
    jw_continue_raw(&w, "true", 4);
    jw_members_raw(&w, tail, strlen(tail));
    jw_kint(&w, "free", 2);
    jw_continue_raw(&w, dates, strlen(dates));
    jw_kbool(&w, "last", false);
    jw_object_end(&w);
    CHECK_STR(jw_text(&w, NULL),
              "{\"id\":7,\"as_of\":\"x\",\"stale\":true,\"a\":1,\"free\":2,\"d\":\"y\",\"last\":false}");
    jw_free(&w);
}

int main(void)
{
    test_structure_and_commas();
    test_raw_parts_join_as_members();
    test_string_escapes();
    test_escaped_keys();
    test_escapes_at_every_position();
    test_numbers();
    test_large_document_round_trips();
    return check_done("jsonw");
}
