/* jsoncanon: the canonical JSON text of a parsed cJSON value (the form is described in
 * include/logeer/jsoncanon.h). Written through jsonw, so strings are escaped exactly one way. */
#include "logeer/jsoncanon.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Doubles hold every integer up to 2^53 exactly; up to there a whole number is written as an
 * integer, which is also the form people expect ("100", not "1e+02"). */
#define CANON_EXACT_INT 9007199254740992.0

static bool canon_value(struct jsonw *w, const cJSON *v, const char *const *omit);

/* Numbers are compared by the double cJSON made of them, which is all a handler ever sees:
 * "1", "1.0", "1e0" and "10e-1" are one number, and two literals that round to the same double
 * (9007199254740993 and 9007199254740992) are one number to the handlers as well. Negative zero
 * stays "-0": a retry that swaps 0 for -0 is refused as another request, which is safe.
 * printf's decimal point is the C locale's: logeerd never calls setlocale. */
static bool canon_number(struct jsonw *w, double d)
{
    char text[40];
    if (isnan(d))
        return false; /* no JSON literal parses to NaN */
    if (isinf(d)) {
        /* An overflowing literal (1e999) parses to infinity: kept apart from every finite
         * number, from null and from strings, and still a JSON number. */
        jw_number_text(w, d > 0 ? "1e999" : "-1e999");
        return true;
    }
    if (d == trunc(d) && fabs(d) < CANON_EXACT_INT) {
        snprintf(text, sizeof text, "%.0f", d);
    } else {
        for (int precision = 1; precision <= 17; precision++) {
            snprintf(text, sizeof text, "%.*g", precision, d);
            if (strtod(text, NULL) == d)
                break; /* 17 significant digits always read back (IEEE 754 binary64) */
        }
    }
    jw_number_text(w, text);
    return true;
}

struct canon_member {
    const cJSON *item;
    size_t seq; /* position in the object as received */
};

/* Key bytes as unsigned (strcmp's order), then arrival order. */
static int canon_member_cmp(const void *a, const void *b)
{
    const struct canon_member *x = a, *y = b;
    int c = strcmp(x->item->string, y->item->string);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool canon_omitted(const char *key, const char *const *omit)
{
    for (; omit && *omit; omit++)
        if (strcmp(*omit, key) == 0)
            return true;
    return false;
}

/* Duplicate keys are kept, in the order they came, rather than folded into one or refused.
 * cJSON keeps every member and the handlers read the first one with a given key (the
 * case-sensitive lookup, cJSON_GetObjectItemCaseSensitive); a stable sort keeps that first one
 * first, so two bodies that read the same to a handler compare equal whenever their members
 * merely moved, and {"a":1,"a":2} never reads as {"a":2,"a":1}. It may call two bodies
 * different that a handler reads alike ({"a":1} and {"a":1,"a":2}): a retry is then refused
 * (422), never answered with another request's response. */
static bool canon_object(struct jsonw *w, const cJSON *obj, const char *const *omit)
{
    size_t n = 0;
    for (const cJSON *m = obj->child; m; m = m->next)
        n++;
    struct canon_member *members = n ? malloc(n * sizeof *members) : NULL;
    if (n && !members)
        return false;
    size_t kept = 0;
    bool ok = true;
    for (const cJSON *m = obj->child; m && ok; m = m->next) {
        ok = m->string != NULL;
        if (ok && !canon_omitted(m->string, omit)) {
            members[kept].item = m;
            members[kept].seq = kept;
            kept++;
        }
    }
    if (ok && kept > 1)
        qsort(members, kept, sizeof *members, canon_member_cmp);
    jw_object_begin(w);
    for (size_t i = 0; ok && i < kept; i++) {
        jw_key_escaped(w, members[i].item->string);
        ok = canon_value(w, members[i].item, NULL);
    }
    jw_object_end(w);
    free(members);
    return ok;
}

static bool canon_array(struct jsonw *w, const cJSON *arr)
{
    bool ok = true;
    jw_array_begin(w);
    for (const cJSON *e = arr->child; e && ok; e = e->next)
        ok = canon_value(w, e, NULL);
    jw_array_end(w);
    return ok;
}

/* Recursion is bounded by the parser: request bodies are refused past JSONV_MAX_DEPTH. */
static bool canon_value(struct jsonw *w, const cJSON *v, const char *const *omit)
{
    if (cJSON_IsObject(v))
        return canon_object(w, v, omit);
    if (cJSON_IsArray(v))
        return canon_array(w, v);
    if (cJSON_IsString(v) && v->valuestring) {
        jw_string(w, v->valuestring);
        return true;
    }
    if (cJSON_IsNumber(v))
        return canon_number(w, v->valuedouble);
    if (cJSON_IsBool(v)) {
        jw_bool(w, cJSON_IsTrue(v));
        return true;
    }
    if (cJSON_IsNull(v)) {
        jw_null(w);
        return true;
    }
    return false; /* raw text or an invalid item: not something a parser makes */
}

bool jsoncanon_write(struct jsonw *w, const cJSON *v, const char *const *omit)
{
    return v && canon_value(w, v, omit) && jw_text(w, NULL) != NULL;
}

char *jsoncanon_text(const cJSON *v, const char *const *omit)
{
    struct jsonw w;
    jw_init(&w);
    if (!jsoncanon_write(&w, v, omit)) {
        jw_free(&w);
        return NULL;
    }
    return w.buf; /* NUL-terminated and malloc'ed: handed over as it is */
}
