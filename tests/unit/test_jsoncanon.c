/* Proves the canonical JSON form behind idempotency fingerprints: texts that differ only in key
 * order, spacing, escapes or the spelling of a number read as one; anything a handler would
 * read differently (values, array order, which duplicate comes first) stays apart. Also the
 * fingerprint's framing and the Idempotency-Key validator. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "logeer/idempotency.h"
#include "logeer/jsoncanon.h"
#include "logeer/jsonv.h"

/* The canonical text of a body as the server parses it (NULL when the body is refused). */
static char *canon(const char *body)
{
    const char *why = NULL;
    cJSON *o = jsonv_parse_object(body, strlen(body), &why);
    char *text = o ? jsoncanon_text(o, NULL) : NULL;
    cJSON_Delete(o);
    return text;
}

#define CHECK_CANON(body, expected)                                                          \
    do {                                                                                     \
        char *t_ = canon(body);                                                              \
        CHECK_STR(t_, expected);                                                             \
        free(t_);                                                                            \
    } while (0)

/* Two bodies read alike (same canonical text) or not. */
static bool same(const char *a, const char *b)
{
    char *x = canon(a), *y = canon(b);
    bool eq = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return eq;
}

static void test_key_order_and_nesting(void)
{
    CHECK_CANON("{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}");
    CHECK(same("{\"pool_id\":\"p\",\"check_in\":\"2026-03-01\",\"guest\":{\"alias\":\"x\","
               "\"birth_year\":1940}}",
               "{\"guest\":{\"birth_year\":1940,\"alias\":\"x\"},\"check_in\":\"2026-03-01\","
               "\"pool_id\":\"p\"}"));
    /* Recursively, through arrays of objects; arrays keep their order. */
    CHECK_CANON("{\"z\":{\"y\":[3,{\"d\":1,\"c\":[{\"f\":0,\"e\":1}]}],\"x\":null},\"a\":[]}",
                "{\"a\":[],\"z\":{\"x\":null,\"y\":[3,{\"c\":[{\"e\":1,\"f\":0}],\"d\":1}]}}");
    CHECK(!same("{\"a\":[1,2]}", "{\"a\":[2,1]}"));
    CHECK(!same("{\"a\":{\"b\":1}}", "{\"a\":[{\"b\":1}]}"));
    CHECK_CANON("{}", "{}");
    CHECK_CANON("{\"a\":{},\"b\":[[]]}", "{\"a\":{},\"b\":[[]]}");
}

static void test_keys_sort_by_utf8_bytes(void)
{
    /* "" < "B" < "Z" < "a" < "ab" < "b" < "é" (0xC3 0xA9) < "😀" (0xF0 ...): byte order, so
     * upper case before lower case and every non-ASCII key after every ASCII one. */
    CHECK_CANON("{\"\xF0\x9F\x98\x80\":7,\"b\":6,\"\xC3\xA9\":5,\"ab\":4,\"a\":3,\"Z\":2,"
                "\"B\":1,\"\":0}",
                "{\"\":0,\"B\":1,\"Z\":2,\"a\":3,\"ab\":4,\"b\":6,\"\xC3\xA9\":5,"
                "\"\xF0\x9F\x98\x80\":7}");
    /* Keys that differ only in case are different keys to every handler. */
    CHECK(!same("{\"Alias\":\"x\"}", "{\"alias\":\"x\"}"));
}

static void test_whitespace_is_insignificant(void)
{
    CHECK(same(" {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\" :{ } } \n", "{\"a\":[1,2],\"b\":{}}"));
    CHECK_CANON("{ \"a\" : \"two  words \" }", "{\"a\":\"two  words \"}");
    CHECK(!same("{\"a\":\"x \"}", "{\"a\":\"x\"}")); /* inside strings it counts */
}

static void test_strings_have_one_spelling(void)
{
    /* \u escapes and raw UTF-8 are one text: é, a key spelt with escapes, an astral character
     * as a surrogate pair, upper- and lower-case hex digits. */
    CHECK(same("{\"naam\":\"Caf\\u00e9\"}", "{\"naam\":\"Caf\xC3\xA9\"}"));
    CHECK(same("{\"naam\":\"Caf\\u00E9\"}", "{\"naam\":\"Caf\xC3\xA9\"}"));
    CHECK_CANON("{\"naam\":\"Caf\\u00e9\"}", "{\"naam\":\"Caf\xC3\xA9\"}");
    CHECK(same("{\"\\u0061lias\":1}", "{\"alias\":1}"));
    CHECK(same("{\"s\":\"\\ud83d\\ude00\"}", "{\"s\":\"\xF0\x9F\x98\x80\"}"));
    /* Escapes that are optional are dropped; required ones are written one way. */
    CHECK(same("{\"s\":\"a\\/b\"}", "{\"s\":\"a/b\"}"));
    CHECK_CANON("{\"s\":\"\\u0022q\\u005c\"}", "{\"s\":\"\\\"q\\\\\"}");
    CHECK_CANON("{\"s\":\"\\u000a\\u0009\\u000d\\u0008\\u000c\"}", "{\"s\":\"\\n\\t\\r\\b\\f\"}");
    CHECK_CANON("{\"s\":\"\\u001F\\u0001\"}", "{\"s\":\"\\u001f\\u0001\"}");
    CHECK(same("{\"s\":\"\\n\"}", "{\"s\":\"\\u000A\"}"));
    /* Types stay apart. */
    CHECK(!same("{\"a\":true}", "{\"a\":\"true\"}"));
    CHECK(!same("{\"a\":null}", "{\"a\":\"null\"}"));
    CHECK(!same("{\"a\":1}", "{\"a\":\"1\"}"));
    CHECK(!same("{\"a\":false}", "{\"a\":0}"));
    CHECK_CANON("{\"t\":true,\"f\":false,\"n\":null}", "{\"f\":false,\"n\":null,\"t\":true}");
}

static void test_numbers_by_value(void)
{
    const char *ones[] = {"1", "1.0", "1e0", "1E0", "1e+0", "10e-1", "0.1e1", "1.000000"};
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++) {
        char body[40];
        snprintf(body, sizeof body, "{\"n\":%s}", ones[i]);
        CHECK_CANON(body, "{\"n\":1}");
    }
    CHECK_CANON("{\"n\":100}", "{\"n\":100}");
    CHECK_CANON("{\"n\":1e2}", "{\"n\":100}");
    CHECK_CANON("{\"n\":-42.0}", "{\"n\":-42}");
    CHECK_CANON("{\"n\":0.1}", "{\"n\":0.1}");
    CHECK_CANON("{\"n\":1.5E0}", "{\"n\":1.5}");
    CHECK_CANON("{\"n\":0.30000000000000004}", "{\"n\":0.30000000000000004}");
    CHECK(!same("{\"n\":0.30000000000000004}", "{\"n\":0.3}"));
    CHECK_CANON("{\"n\":123456789012}", "{\"n\":123456789012}");
    CHECK_CANON("{\"n\":1e100}", "{\"n\":1e+100}");
    CHECK_CANON("{\"n\":2.5e-7}", "{\"n\":2.5e-07}");
    CHECK_CANON("{\"n\":9007199254740992}", "{\"n\":9007199254740992}");
    /* Past 2^53 two literals can be one double: one number to the handlers as well. */
    CHECK(same("{\"n\":9007199254740993}", "{\"n\":9007199254740992}"));
    CHECK(!same("{\"n\":1}", "{\"n\":2}"));
    CHECK(!same("{\"n\":1}", "{\"n\":1.0000000000000002}"));
    /* Negative zero is kept apart (the safe side: a refusal, never a wrong replay). */
    CHECK_CANON("{\"n\":-0}", "{\"n\":-0}");
    CHECK(same("{\"n\":-0.0}", "{\"n\":-0}"));
    CHECK(!same("{\"n\":-0}", "{\"n\":0}"));
    /* An overflowing literal is infinity to the parser; still a number, still not null. */
    CHECK_CANON("{\"n\":1e999,\"m\":-1e999}", "{\"m\":-1e999,\"n\":1e999}");
    CHECK(!same("{\"n\":1e999}", "{\"n\":null}"));
    /* Every canonical number reads back as the same double. */
    const double samples[] = {0.1, 1.0 / 3, 2.0 / 3, 1e-300, 5e-324, 1.7976931348623157e308,
                              123456.789, -98765.4321e10, 4503599627370496.5};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        cJSON *n = cJSON_CreateNumber(samples[i]);
        char *t = jsoncanon_text(n, NULL);
        CHECK(t && strtod(t, NULL) == samples[i]);
        free(t);
        cJSON_Delete(n);
    }
}

static void test_duplicate_keys_keep_their_order(void)
{
    /* Handlers read the first of duplicate members: which one is first must survive. */
    CHECK_CANON("{\"b\":0,\"a\":1,\"a\":2}", "{\"a\":1,\"a\":2,\"b\":0}");
    CHECK(!same("{\"a\":1,\"a\":2}", "{\"a\":2,\"a\":1}"));
    CHECK(same("{\"a\":1,\"b\":0,\"a\":2}", "{\"b\":0,\"a\":1,\"a\":2}"));
    CHECK(!same("{\"a\":1}", "{\"a\":1,\"a\":2}"));
    CHECK(!same("{\"g\":{\"x\":1,\"x\":2}}", "{\"g\":{\"x\":2,\"x\":1}}"));
}

static void test_omitted_members(void)
{
    static const char *const omit[] = {"password", NULL};
    const char *why = NULL;
    const char *body = "{\"password\":\"a\",\"email\":\"e@x.nl\",\"password\":\"b\","
                       "\"nested\":{\"password\":\"c\"}}";
    cJSON *o = jsonv_parse_object(body, strlen(body), &why);
    char *t = jsoncanon_text(o, omit);
    /* Every top-level member of that name goes, a nested one stays. */
    CHECK_STR(t, "{\"email\":\"e@x.nl\",\"nested\":{\"password\":\"c\"}}");
    free(t);
    cJSON_Delete(o);
}

static void test_larger_objects_and_round_trip(void)
{
    char body[20000] = "{";
    for (int i = 999; i >= 0; i--) {
        char m[24];
        snprintf(m, sizeof m, "\"k%04d\":%d%s", i, i, i ? "," : "}");
        strcat(body, m);
    }
    char *t = canon(body);
    CHECK(t && strncmp(t, "{\"k0000\":0,\"k0001\":1,", 21) == 0);
    CHECK(t && strstr(t, "\"k0998\":998,\"k0999\":999}") != NULL);
    free(t);
    /* The canonical text is JSON and means what the input meant. */
    const char *doc = "{ \"z\": [1.5, \"\\u00e9\\n\", {\"b\": null, \"a\": [true, false]}],"
                      " \"a\": -7e-3 }";
    cJSON *in = cJSON_Parse(doc);
    char *text = jsoncanon_text(in, NULL);
    cJSON *back = text ? cJSON_Parse(text) : NULL;
    CHECK(back && cJSON_Compare(in, back, true));
    cJSON_Delete(in);
    cJSON_Delete(back);
    free(text);
}

static void test_non_json_values_are_refused(void)
{
    cJSON *nan = cJSON_CreateNumber(NAN);
    CHECK(jsoncanon_text(nan, NULL) == NULL);
    cJSON_Delete(nan);
    cJSON *raw = cJSON_CreateObject();
    cJSON_AddRawToObject(raw, "r", "{}");
    CHECK(jsoncanon_text(raw, NULL) == NULL);
    cJSON_Delete(raw);
    CHECK(jsoncanon_text(NULL, NULL) == NULL);
    /* Scalars at the top are fine (only request bodies must be objects). */
    cJSON *s = cJSON_CreateString("x");
    char *t = jsoncanon_text(s, NULL);
    CHECK_STR(t, "\"x\"");
    free(t);
    cJSON_Delete(s);
}

static void test_fingerprint(void)
{
    const char *why = NULL;
    const char *a_text = "{\"b\":[1,2],\"a\":\"\\u00e9\"}";
    const char *b_text = " { \"a\" : \"\xC3\xA9\", \"b\" : [ 1.0, 2e0 ] } ";
    cJSON *a = jsonv_parse_object(a_text, strlen(a_text), &why);
    cJSON *b = jsonv_parse_object(b_text, strlen(b_text), &why);
    char fa[DIGEST_HEX_LEN], fb[DIGEST_HEX_LEN], other[DIGEST_HEX_LEN], want[DIGEST_HEX_LEN];
    CHECK(idem_fingerprint("POST", "/v1/stays", a, NULL, fa));
    CHECK(idem_fingerprint("POST", "/v1/stays", b, NULL, fb));
    CHECK_STR(fa, fb);
    CHECK(strlen(fa) == 64);
    /* The framing is "<method> <path>\n<canonical body>". */
    const char framed[] = "POST /v1/stays\n{\"a\":\"\xC3\xA9\",\"b\":[1,2]}";
    digest_sha256_hex(framed, sizeof framed - 1, want);
    CHECK_STR(fa, want);
    /* Another route or method is another request. */
    CHECK(idem_fingerprint("POST", "/v1/providers", a, NULL, other));
    CHECK(strcmp(fa, other) != 0);
    CHECK(idem_fingerprint("PUT", "/v1/stays", a, NULL, other));
    CHECK(strcmp(fa, other) != 0);
    /* Omitted members do not count. */
    static const char *const omit[] = {"a", NULL};
    char fo[DIGEST_HEX_LEN];
    CHECK(idem_fingerprint("POST", "/v1/stays", a, omit, fo));
    const char only_b[] = "POST /v1/stays\n{\"b\":[1,2]}";
    digest_sha256_hex(only_b, sizeof only_b - 1, want);
    CHECK_STR(fo, want);
    /* No body at all. */
    CHECK(idem_fingerprint("POST", "/v1/x", NULL, NULL, fo));
    digest_sha256_hex("POST /v1/x\n", 11, want);
    CHECK_STR(fo, want);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_key_validator(void)
{
    char longest[IDEM_KEY_MAX + 2];
    memset(longest, 'k', sizeof longest);
    longest[IDEM_KEY_MAX] = '\0';
    CHECK(idem_key_valid(longest));
    longest[IDEM_KEY_MAX] = 'k';
    longest[IDEM_KEY_MAX + 1] = '\0';
    CHECK(!idem_key_valid(longest));
    CHECK(idem_key_valid("a"));
    CHECK(idem_key_valid("3f1c9a7e-2b4d-4e8a-9c1f-0d2e3b4a5c6d"));
    CHECK(idem_key_valid("!~\"#{}"));
    CHECK(!idem_key_valid(""));
    CHECK(!idem_key_valid("two words"));
    CHECK(!idem_key_valid("tab\there"));
    CHECK(!idem_key_valid("del\x7f"));
    CHECK(!idem_key_valid("caf\xC3\xA9"));
}

int main(void)
{
    test_key_order_and_nesting();
    test_keys_sort_by_utf8_bytes();
    test_whitespace_is_insignificant();
    test_strings_have_one_spelling();
    test_numbers_by_value();
    test_duplicate_keys_keep_their_order();
    test_omitted_members();
    test_larger_objects_and_round_trip();
    test_non_json_values_are_refused();
    test_fingerprint();
    test_key_validator();
    return check_done("jsoncanon");
}
