/* jsonv: validation of untrusted JSON request bodies. A validator collects every field problem
 * (not just the first) so that a client can fix a form in one round trip; the api layer turns
 * them into a 422 problem's "errors" array. Pure: no I/O. */
#ifndef LOGEER_JSONV_H
#define LOGEER_JSONV_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "logeer/date.h"

#define JSONV_MAX_DEPTH 16

struct jsonv {
    cJSON *errors; /* array of {"field","message"}; NULL until the first problem */
};

/* Parses body (len bytes, need not be NUL-terminated) into an object. Returns NULL and sets
 * *why for malformed JSON, nesting deeper than JSONV_MAX_DEPTH, invalid UTF-8, an escaped NUL
 * (\u0000, which would cut a C string short), or a top level that is not an object. */
cJSON *jsonv_parse_object(const char *body, size_t len, const char **why);

void jsonv_init(struct jsonv *v);
bool jsonv_ok(const struct jsonv *v);
/* Hands the collected errors to the caller (who must delete them) and resets v. */
cJSON *jsonv_take_errors(struct jsonv *v);
void jsonv_free(struct jsonv *v);
void jsonv_error(struct jsonv *v, const char *field, const char *message);

/* Each getter returns true when the field is present and valid (the value is stored), false
 * when absent or invalid. An absent required field and every invalid value add an error. */
bool jsonv_string(struct jsonv *v, const cJSON *obj, const char *field, bool required,
                  size_t min_len, size_t max_len, const char **out);
bool jsonv_int(struct jsonv *v, const cJSON *obj, const char *field, bool required, long min,
               long max, long *out);
bool jsonv_number(struct jsonv *v, const cJSON *obj, const char *field, bool required,
                  double min, double max, double *out);
bool jsonv_bool(struct jsonv *v, const cJSON *obj, const char *field, bool required, bool *out);
bool jsonv_date(struct jsonv *v, const cJSON *obj, const char *field, bool required,
                date_day *out);
/* Value must be one of the NULL-terminated allowed list; *out is its index. */
bool jsonv_enum(struct jsonv *v, const cJSON *obj, const char *field, bool required,
                const char *const *allowed, int *out);
/* An array of distinct strings each in allowed (or any non-empty string up to 64 bytes when
 * allowed is NULL), at most max_items. *out points at the cJSON array. */
bool jsonv_string_set(struct jsonv *v, const cJSON *obj, const char *field, bool required,
                      const char *const *allowed, size_t max_items, const cJSON **out);
/* Adds an error for every member of obj not in the NULL-terminated known list: unknown and
 * privileged fields are refused, never silently ignored. */
void jsonv_only(struct jsonv *v, const cJSON *obj, const char *const *known);

/* True if s is valid UTF-8 without NUL bytes. */
bool jsonv_utf8_valid(const char *s, size_t len);

#endif
