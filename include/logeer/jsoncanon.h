/* jsoncanon: one canonical JSON text for a parsed value, so that the texts different clients
 * and proxies send for the same content (key order, spacing, escapes, 1.0 or 1) read as one.
 * Idempotency fingerprints are taken over it. Pure: no I/O.
 *
 * The form, applied recursively:
 *   - no white space outside strings;
 *   - object members sorted by key, comparing the keys' UTF-8 bytes (unsigned); members with
 *     the same key keep the order they came in (see jsoncanon.c for why duplicates are kept);
 *   - strings (keys and values) written as jw_string writes them: quote, backslash and the
 *     control characters escaped (\b \f \n \r \t, the others as \u00xx in lower case),
 *     everything else as raw UTF-8, so "\u00e9" and "é" are the same text;
 *   - numbers by the double the parser made of them: whole numbers below 2^53 in magnitude as
 *     plain integers ("1", "-0" for negative zero), any other finite number in the shortest
 *     "%.<p>g" form that reads back as the same double ("0.1", "1e+100"), and the infinities
 *     an overflowing literal becomes (1e999) as "1e999" and "-1e999";
 *   - true, false, null as themselves. */
#ifndef LOGEER_JSONCANON_H
#define LOGEER_JSONCANON_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "logeer/jsonw.h"

/* Appends the canonical text of v to w. Members of the top-level object whose key is in omit
 * (NULL-terminated; NULL for none) are left out, every one of them if a key repeats. Returns
 * false for what no parser produces (NaN, raw or invalid items) or when w is out of memory. */
bool jsoncanon_write(struct jsonw *w, const cJSON *v, const char *const *omit);

/* The canonical text of v as a malloc'ed string (free()), or NULL as above. */
char *jsoncanon_text(const cJSON *v, const char *const *omit);

#endif
