/* query: application/x-www-form-urlencoded query strings ("a=1&b=x%20y"). Pure. */
#ifndef LOGEER_QUERY_H
#define LOGEER_QUERY_H

#include <stdbool.h>
#include <stddef.h>

/* Finds the first name=value pair and percent-decodes the value ('+' is a space) into buf.
 * Returns buf, or NULL when the name is absent, the value does not fit, or it contains a
 * malformed escape or a NUL. *malformed (may be NULL) is set in the last two cases so the
 * caller can answer 400 instead of treating the parameter as missing. */
const char *query_get(const char *query, const char *name, char *buf, size_t size,
                      bool *malformed);

/* Percent-decodes len bytes of in into out (size bytes incl. NUL). Returns the decoded length,
 * or -1 on a malformed escape, an encoded NUL or when it does not fit. */
long query_decode(const char *in, size_t len, char *out, size_t size, bool plus_is_space);

/* NULL when every name and value of query (may be NULL) percent-decodes without a malformed
 * escape or a NUL into valid UTF-8; otherwise a static text saying what is wrong. The HTTP
 * parser refuses a request with such a query before any handler sees it. */
const char *query_problem(const char *query);

#endif
