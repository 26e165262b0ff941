/* jsonv: typed getters over cJSON that record precise field errors. cJSON accepts some inputs
 * we must not (deep nesting that could exhaust the stack, invalid UTF-8 that would poison the
 * database), so the body is screened before it is parsed. */
#include "logeer/jsonv.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "logeer/utf8.h"

bool jsonv_utf8_valid(const char *s, size_t len) { return utf8_valid(s, len); }

/* True when the escape starting at s[i] (a backslash) is \u0000. cJSON would decode it into
 * a NUL that silently cuts the string short for every C consumer ("ab\u0000cd" -> "ab"). */
static bool escapes_nul(const char *s, size_t len, size_t i)
{
    return len - i >= 6 && memcmp(s + i, "\\u0000", 6) == 0;
}

/* Nesting depth outside strings; cJSON recurses per level, so we bound it first. The same
 * pass finds escaped NULs. */
static const char *screen_syntax(const char *s, size_t len)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') {
                if (escapes_nul(s, len, i))
                    return "the JSON contains an escaped NUL (\\u0000)";
                i++;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > JSONV_MAX_DEPTH)
                return "the JSON is nested too deeply";
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return NULL;
}

cJSON *jsonv_parse_object(const char *body, size_t len, const char **why)
{
    if (len == 0) {
        *why = "the request body is empty; a JSON object is expected";
        return NULL;
    }
    if (!jsonv_utf8_valid(body, len)) {
        *why = "the request body is not valid UTF-8";
        return NULL;
    }
    const char *bad = screen_syntax(body, len);
    if (bad) {
        *why = bad;
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root) {
        *why = "the request body is not valid JSON";
        return NULL;
    }
    /* cJSON stops at the end of the first value; anything but white space after it is junk. */
    for (const char *p = end; p && p < body + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            cJSON_Delete(root);
            *why = "unexpected data after the JSON value";
            return NULL;
        }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *why = "the request body must be a JSON object";
        return NULL;
    }
    return root;
}

void jsonv_init(struct jsonv *v) { v->errors = NULL; }
bool jsonv_ok(const struct jsonv *v) { return v->errors == NULL; }

cJSON *jsonv_take_errors(struct jsonv *v)
{
    cJSON *e = v->errors;
    v->errors = NULL;
    return e;
}

void jsonv_free(struct jsonv *v)
{
    cJSON_Delete(v->errors);
    v->errors = NULL;
}

void jsonv_error(struct jsonv *v, const char *field, const char *message)
{
    if (!v->errors)
        v->errors = cJSON_CreateArray();
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "field", field);
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddItemToArray(v->errors, e);
}

/* Looks up a field, recording "is required" when a required one is missing. JSON null counts
 * as missing, so a client can send null for an optional field. */
static const cJSON *field_get(struct jsonv *v, const cJSON *obj, const char *field,
                              bool required)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (item && !cJSON_IsNull(item))
        return item;
    if (required)
        jsonv_error(v, field, "is required");
    return NULL;
}

bool jsonv_string(struct jsonv *v, const cJSON *obj, const char *field, bool required,
                  size_t min_len, size_t max_len, const char **out)
{
    const cJSON *item = field_get(v, obj, field, required);
    if (!item)
        return false;
    if (!cJSON_IsString(item)) {
        jsonv_error(v, field, "must be a string");
        return false;
    }
    size_t len = strlen(item->valuestring);
    if (len < min_len || len > max_len) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be %zu to %zu characters long", min_len, max_len);
        jsonv_error(v, field, msg);
        return false;
    }
    *out = item->valuestring;
    return true;
}

bool jsonv_number(struct jsonv *v, const cJSON *obj, const char *field, bool required,
                  double min, double max, double *out)
{
    const cJSON *item = field_get(v, obj, field, required);
    if (!item)
        return false;
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
        jsonv_error(v, field, "must be a number");
        return false;
    }
    if (item->valuedouble < min || item->valuedouble > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be between %g and %g", min, max);
        jsonv_error(v, field, msg);
        return false;
    }
    *out = item->valuedouble;
    return true;
}

bool jsonv_int(struct jsonv *v, const cJSON *obj, const char *field, bool required, long min,
               long max, long *out)
{
    const cJSON *item = field_get(v, obj, field, required);
    if (!item)
        return false;
    double d = item->valuedouble;
    if (!cJSON_IsNumber(item) || !isfinite(d) || d != floor(d)) {
        jsonv_error(v, field, "must be a whole number");
        return false;
    }
    /* (double)LONG_MAX rounds up to 2^63, which is no long: a max of LONG_MAX would let 2^63
     * through to the conversion below, which is undefined. -(double)LONG_MIN is that bound
     * exactly. (Found by tests/fuzz/fuzz_jsonv.) */
    if (d < (double)min || d > (double)max || d >= -(double)LONG_MIN) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be between %ld and %ld", min, max);
        jsonv_error(v, field, msg);
        return false;
    }
    *out = (long)d;
    return true;
}

bool jsonv_bool(struct jsonv *v, const cJSON *obj, const char *field, bool required, bool *out)
{
    const cJSON *item = field_get(v, obj, field, required);
    if (!item)
        return false;
    if (!cJSON_IsBool(item)) {
        jsonv_error(v, field, "must be true or false");
        return false;
    }
    *out = cJSON_IsTrue(item);
    return true;
}

bool jsonv_date(struct jsonv *v, const cJSON *obj, const char *field, bool required,
                date_day *out)
{
    const char *s;
    if (!jsonv_string(v, obj, field, required, 0, 64, &s))
        return false;
    if (!date_parse(s, out)) {
        jsonv_error(v, field, "must be an existing date as YYYY-MM-DD");
        return false;
    }
    return true;
}

static int index_of(const char *const *allowed, const char *s)
{
    for (int i = 0; allowed[i]; i++)
        if (strcmp(allowed[i], s) == 0)
            return i;
    return -1;
}

static void error_one_of(struct jsonv *v, const char *field, const char *const *allowed)
{
    char msg[512] = "must be one of:";
    for (int i = 0; allowed[i]; i++) {
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, "%s %s", i ? "," : "", allowed[i]);
    }
    jsonv_error(v, field, msg);
}

bool jsonv_enum(struct jsonv *v, const cJSON *obj, const char *field, bool required,
                const char *const *allowed, int *out)
{
    const char *s;
    if (!jsonv_string(v, obj, field, required, 0, 256, &s))
        return false;
    int i = index_of(allowed, s);
    if (i < 0) {
        error_one_of(v, field, allowed);
        return false;
    }
    *out = i;
    return true;
}

bool jsonv_string_set(struct jsonv *v, const cJSON *obj, const char *field, bool required,
                      const char *const *allowed, size_t max_items, const cJSON **out)
{
    const cJSON *item = field_get(v, obj, field, required);
    if (!item)
        return false;
    if (!cJSON_IsArray(item) || (size_t)cJSON_GetArraySize(item) > max_items) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be an array of at most %zu strings", max_items);
        jsonv_error(v, field, msg);
        return false;
    }
    const cJSON *e, *f;
    cJSON_ArrayForEach(e, item)
    {
        if (!cJSON_IsString(e) || e->valuestring[0] == '\0' || strlen(e->valuestring) > 64) {
            jsonv_error(v, field, "must contain only non-empty strings of at most 64 characters");
            return false;
        }
        if (allowed && index_of(allowed, e->valuestring) < 0) {
            error_one_of(v, field, allowed);
            return false;
        }
        for (f = item->child; f != e; f = f->next)
            if (strcmp(f->valuestring, e->valuestring) == 0) {
                jsonv_error(v, field, "must not repeat a value");
                return false;
            }
    }
    *out = item;
    return true;
}

void jsonv_only(struct jsonv *v, const cJSON *obj, const char *const *known)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        if (index_of(known, m->string) < 0)
            jsonv_error(v, m->string, "is not a known field");
    }
}
