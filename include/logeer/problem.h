/* problem: the one place that turns "what went wrong" into an RFC 9457 problem+json body.
 * Handlers name a problem kind and give a detail; the table here owns status codes, type URIs
 * and titles, and the mapping from PostgreSQL SQLSTATEs to problems. Pure: no I/O. */
#ifndef LOGEER_PROBLEM_H
#define LOGEER_PROBLEM_H

#include <cjson/cJSON.h>

enum problem_kind {
    PROBLEM_BAD_REQUEST,        /* 400 malformed syntax, bad JSON, bad query string */
    PROBLEM_UNAUTHORIZED,       /* 401 no, bad or expired token */
    PROBLEM_BAD_CREDENTIALS,    /* 401 login failed (same for unknown user and wrong password) */
    PROBLEM_FORBIDDEN,          /* 403 authenticated but the role may not use this route */
    PROBLEM_NOT_FOUND,          /* 404 unknown route or an object the caller may not see */
    PROBLEM_METHOD_NOT_ALLOWED, /* 405 */
    PROBLEM_NOT_ACCEPTABLE,     /* 406 */
    PROBLEM_CONFLICT,           /* 409 generic conflict (unique key taken) */
    PROBLEM_NO_BEDS,            /* 409 not enough free beds for every night asked */
    PROBLEM_LIFECYCLE,          /* 409 the stay's status does not allow this transition */
    PROBLEM_IDEMPOTENCY_RUNNING,/* 409 the original request with this key is still running */
    PROBLEM_REQUEST_TIMEOUT,    /* 408 the request head or body did not arrive in time */
    PROBLEM_PRECONDITION_FAILED,/* 412 If-Match does not match */
    PROBLEM_TOO_LARGE,          /* 413 */
    PROBLEM_URI_TOO_LONG,       /* 414 request line longer than the head limit */
    PROBLEM_UNSUPPORTED_MEDIA,  /* 415 */
    PROBLEM_VALIDATION,         /* 422 well-formed but invalid values; see "errors" */
    PROBLEM_IDEMPOTENCY_MISMATCH,/* 422 same Idempotency-Key, different request */
    PROBLEM_PRECONDITION_REQUIRED,/* 428 If-Match required */
    PROBLEM_RATE_LIMITED,       /* 429 */
    PROBLEM_HEADERS_TOO_LARGE,  /* 431 request head over its byte or line limit */
    PROBLEM_INTERNAL,           /* 500 */
    PROBLEM_NOT_IMPLEMENTED,    /* 501 a transfer coding the server does not know */
    PROBLEM_UNAVAILABLE,        /* 503 database unreachable or shutting down */
    PROBLEM_INTAKE_REQUIRED,    /* 409 the pool needs a valid kennismaking first */
    PROBLEM_HTTP_VERSION,       /* 505 */
    PROBLEM_ALLOWANCE_REQUIRED, /* 409 the funding route needs a registered allowance */
    PROBLEM_ALLOWANCE_EXCEEDED, /* 409 the allowance has too few nights left in a period */
    PROBLEM_NO_COMPANION_PLACE, /* 409 no companion place free on some night asked */
    PROBLEM_CSRF,               /* 403 cookie session without the right X-CSRF-Token */
    PROBLEM_SECOND_FACTOR,      /* 403 the session has not proved its second factor yet */
    PROBLEM_STEP_UP,            /* 403 a sensitive action needs a recent second factor */
    PROBLEM_KIND_COUNT
};

int problem_status(enum problem_kind kind);
const char *problem_title(enum problem_kind kind);

/* The general problem for an HTTP status, for answers that have only a status to go by (the
 * HTTP layer's own refusals): the first kind in the table with that status, else bad-request
 * for other 4xx and internal for anything else. */
enum problem_kind problem_for_status(int status);

/* Returns a malloc'ed JSON text. detail may be NULL. errors (an array of {"field","message"})
 * and extra (an object whose members are copied into the top level, e.g. "nights" or
 * "current_status") may be NULL; both are consumed (deleted) by this call. */
char *problem_render(enum problem_kind kind, const char *detail, cJSON *errors, cJSON *extra);

/* Maps a PostgreSQL SQLSTATE to the problem a client should see. Constraint violations are
 * client conflicts; connection-class states mean the database is unavailable; anything
 * unexpected is an internal error. */
enum problem_kind problem_from_sqlstate(const char *sqlstate);

#endif
