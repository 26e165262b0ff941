/* idempotency: the one reading of Idempotency-Key for every creating POST that takes one
 * (stays, the inventory resources, staff accounts): which keys are accepted, the fingerprint
 * stored with a key, and the answers to a key reused for another request or still running.
 * Looking keys up, storing responses and pruning them is the database's (idempotency_keys). */
#ifndef LOGEER_IDEMPOTENCY_H
#define LOGEER_IDEMPOTENCY_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "logeer/api.h"
#include "logeer/digest.h"

#define IDEM_KEY_MAX 255

/* The details of the three refusals, the same on every route. */
#define IDEM_DETAIL_MALFORMED "Idempotency-Key must be 1 to 255 visible ASCII characters"
#define IDEM_DETAIL_REUSED "this Idempotency-Key was used for a different request; use a new key"
#define IDEM_DETAIL_RUNNING \
    "the first request with this Idempotency-Key has not finished; retry shortly"

/* ---- pure ---------------------------------------------------------------------------------- */

/* 1 to 255 visible ASCII characters (0x21..0x7e). */
bool idem_key_valid(const char *key);

/* The request's fingerprint: SHA-256 hex over method, path and the canonical text of the
 * parsed body (jsoncanon), framed as "<method> <path>\n<body>". So the same key sent to
 * another route is another request, and a retry whose JSON differs only in key order,
 * spacing, escapes or the spelling of a number is the same request. Members of the body named
 * in omit (NULL-terminated, or NULL) are left out: a value that must never be stored, even
 * hashed (a password). body may be NULL (no body). False when out of memory. */
bool idem_fingerprint(const char *method, const char *path, const cJSON *body,
                      const char *const *omit, char out[DIGEST_HEX_LEN]);

/* ---- for handlers ------------------------------------------------------------------------- */

/* The request's Idempotency-Key into *key (NULL when it has none). A malformed key is
 * answered 400 here and gives false: the handler then stops. */
bool idem_key(struct api_ctx *c, const char **key);

/* idem_fingerprint of this request (its method, path and parsed body). Answers 500 and gives
 * false when it cannot be computed. */
bool idem_request_fingerprint(struct api_ctx *c, const char *const *omit,
                              char out[DIGEST_HEX_LEN]);

/* For the database's outcomes "key_mismatch" (422 idempotency-key-reused) and "key_running"
 * (409 idempotency-in-progress): answers and gives true. Any other outcome: false, nothing
 * sent. */
bool idem_reply_refusal(struct api_ctx *c, const char *outcome);

/* Marks the reply being prepared as a stored response played back (Idempotent-Replayed). */
void idem_mark_replayed(struct api_ctx *c);

#endif
