/* jsonw: a JSON text writer for the hot answers (availability search, the request log line,
 * the search log). cJSON builds a tree of small allocations and prints every number with
 * printf and then parses it back to check it; on a search answer of twenty hits that was more
 * work than the search itself. This appends straight into one growing buffer. Commas are
 * placed by the writer; the caller only opens, names and closes. Pure: no I/O. */
#ifndef LOGEER_JSONW_H
#define LOGEER_JSONW_H

#include <stdbool.h>
#include <stddef.h>

struct jsonw {
    char *buf;
    size_t len, cap;
    bool comma;     /* the next value or key in this container needs a comma first */
    bool failed;    /* out of memory: every further call is a no-op, jw_text returns NULL */
};

void jw_init(struct jsonw *w);
void jw_free(struct jsonw *w);
/* Empties the buffer but keeps its memory, for the next document. */
void jw_reset(struct jsonw *w);
/* Room for at least `bytes` more without growing: for a document whose size is known roughly,
 * so that it is not copied on its way up. */
void jw_reserve(struct jsonw *w, size_t bytes);

void jw_object_begin(struct jsonw *w);
void jw_object_end(struct jsonw *w);
void jw_array_begin(struct jsonw *w);
void jw_array_end(struct jsonw *w);
/* The key of the next member; keys are written unescaped, so they must be plain literals. */
void jw_key(struct jsonw *w, const char *key);
/* The same for a key that comes from input: escaped exactly as jw_string escapes a value. */
void jw_key_escaped(struct jsonw *w, const char *key);

/* Values. jw_string(NULL) writes null; text is escaped as JSON requires (quote, backslash,
 * control characters), UTF-8 passes through. */
void jw_string(struct jsonw *w, const char *s);
void jw_int(struct jsonw *w, long long v);
/* Whole numbers as integers, others with 15 significant digits; NaN and infinity as null. */
void jw_double(struct jsonw *w, double v);
/* A non-negative value with exactly `decimals` decimals (1 to 6) dropped when zero, e.g.
 * jw_fixed(w, 12.34, 1) writes 12.3 and jw_fixed(w, 3.0, 1) writes 3: no printf involved. */
void jw_fixed(struct jsonw *w, double v, int decimals);
void jw_bool(struct jsonw *w, bool v);
/* A number already formatted as JSON (e.g. by printf "%.15g"); anything else writes null. */
void jw_number_text(struct jsonw *w, const char *text);
void jw_null(struct jsonw *w);
/* Members written before by another writer (what lies between an object's braces, commas
 * included): a part of an answer that seldom changes, rendered once and copied into each. */
void jw_members_raw(struct jsonw *w, const char *text, size_t len);
/* Bytes written before by another writer that go on where the last write ended, with no
 * comma of their own: the rest of a member whose key and first part came before, or members
 * that carry their leading comma. What follows is separated as after a value. */
void jw_continue_raw(struct jsonw *w, const char *text, size_t len);
/* Shorthands for a member: key then value. */
void jw_kstring(struct jsonw *w, const char *key, const char *s);
void jw_kint(struct jsonw *w, const char *key, long long v);
void jw_kbool(struct jsonw *w, const char *key, bool v);

/* The text so far (NUL-terminated, owned by w), or NULL after a failed allocation. */
const char *jw_text(const struct jsonw *w, size_t *len);

#endif
