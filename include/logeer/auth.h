/* auth: roles, principals, password hashing (Argon2id) and bearer tokens. Pure CPU work and
 * OpenSSL randomness only: no I/O. Hashing is slow on purpose, so the api layer runs it on the
 * worker pool (workers.h), never on the event loop. */
#ifndef LOGEER_AUTH_H
#define LOGEER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

enum role {
    ROLE_CAREGIVER = 1u << 0,
    ROLE_PROVIDER = 1u << 1,
    ROLE_REFERRER = 1u << 2,
    ROLE_COORDINATOR = 1u << 3,
    ROLE_ADMIN = 1u << 4,
};
#define ROLE_ANY (ROLE_CAREGIVER | ROLE_PROVIDER | ROLE_REFERRER | ROLE_COORDINATOR | ROLE_ADMIN)

/* "provider,coordinator" -> role bits in *out; "" gives 0. Returns -1 on an unknown name. */
int auth_roles_parse(const char *list, unsigned *out);

/* "caregiver" <-> ROLE_CAREGIVER, both ways; 0 / NULL when unknown. */
unsigned role_from_name(const char *name);
const char *role_name(unsigned role);

/* Who is calling. Filled from the session; ids are UUID text. */
struct principal {
    char user_id[37];
    char provider_id[37]; /* "" unless role is provider */
    char municipality[8]; /* caregiver's home municipality, "" if none */
    char email[256];
    unsigned role;        /* exactly one ROLE_* bit */
    char api_key_id[37];  /* "" for a person's session; else the key (user_id: its creator) */
    unsigned scopes;      /* with an API key: SCOPE_* bits it may use; unused otherwise */
    bool has_factor;      /* the person has a confirmed second factor (user_factors) */
    long long factor_at;  /* unix time this session last proved a second factor; 0 = not yet */
    bool provider_admin;  /* provider staff with their organisation's admin right (API keys) */
};

/* What an API key may do (docs/openapi.yaml, API keys). A route names the one scope that
 * opens it to keys; a route without one is for people only. */
enum scope {
    SCOPE_CAPACITY_READ = 1u << 0,
    SCOPE_CAPACITY_WRITE = 1u << 1,
    SCOPE_STAYS_READ = 1u << 2,
    SCOPE_STAYS_WRITE = 1u << 3,
};
/* "capacity:read" <-> SCOPE_CAPACITY_READ, both ways; 0 / NULL when unknown. */
unsigned scope_from_name(const char *name);
const char *scope_name(unsigned scope);

/* Argon2id with OWASP's password-storage parameters (m = 19 MiB, t = 2, p = 1), encoded in the
 * standard $argon2id$... form that carries its own salt and parameters, so they can be raised
 * later without breaking stored hashes. */
#define AUTH_HASH_LEN 128
__attribute__((warn_unused_result))
int auth_password_hash(const char *password, char out[AUTH_HASH_LEN]);
/* Constant-time with respect to the password; false for a malformed hash. */
bool auth_password_verify(const char *encoded, const char *password);
/* A valid hash of a random password: verifying against it costs the same as a real one, so
 * an unknown email takes as long as a wrong password. */
const char *auth_dummy_hash(void);

/* Password policy for passwords people choose (registration, admin-created accounts): 12 to
 * 1000 bytes, and none of the most common passwords, compared case-insensitively. Returns
 * NULL when acceptable, else a message for the client ("must be at least 12 characters"). */
#define AUTH_PASSWORD_MIN 12
#define AUTH_PASSWORD_MAX 1000
const char *auth_password_policy(const char *password);

/* 256 random bits from OpenSSL, base64url without padding (43 characters). */
#define AUTH_TOKEN_LEN 44
__attribute__((warn_unused_result))
int auth_token_new(char out[AUTH_TOKEN_LEN]);
/* SHA-256 of the token as PostgreSQL bytea hex input: "\x" + 64 hex digits. Only this is
 * stored, so a leaked sessions table does not leak usable tokens. */
#define AUTH_TOKEN_HASH_LEN 67
void auth_token_hash(const char *token, char out[AUTH_TOKEN_HASH_LEN]);
/* Extracts the token from an "Authorization: Bearer <token>" value; NULL when malformed. */
const char *auth_bearer_token(const char *authorization);
/* API keys are AUTH_API_KEY_PREFIX and a token: told apart from a session at a glance, and
 * findable by secret scanners. The whole key (prefix included) is what gets hashed. */
#define AUTH_API_KEY_PREFIX "lk_"
#define AUTH_API_KEY_LEN (3 + AUTH_TOKEN_LEN)
/* The key from "Authorization: Bearer lk_<token>"; NULL when it is not a well-formed key. */
const char *auth_bearer_api_key(const char *authorization);

/* The web pages' cookie session (spec section 8): the same token as a bearer token, sent in
 * the HttpOnly cookie AUTH_SESSION_COOKIE, and a CSRF token in AUTH_CSRF_COOKIE that script
 * reads and repeats in the AUTH_CSRF_HEADER of every unsafe request. */
#define AUTH_SESSION_COOKIE "logeer_session"
#define AUTH_CSRF_COOKIE "logeer_csrf"
/* Their names where browsers reach us over HTTPS (config_https): a cookie whose name starts
 * with __Host- is only accepted by a browser when it is Secure, for Path=/ and without a
 * Domain, so no other site or subdomain can set or overwrite it. */
#define AUTH_HOST_PREFIX "__Host-"
#define AUTH_CSRF_HEADER "X-CSRF-Token"
/* Copies the value of cookie name from a Cookie header into out when it is token-shaped;
 * false when absent or malformed. */
bool auth_cookie_token(const char *cookie_header, const char *name, char out[AUTH_TOKEN_LEN]);
/* The session's CSRF token: HMAC-SHA256 of a fixed label keyed with the session token,
 * base64url (43 characters); it proves the sender could read this origin's cookies. */
void auth_csrf_token(const char *token, char out[AUTH_TOKEN_LEN]);
/* Constant-time comparison of a sent X-CSRF-Token (may be NULL) with the session's. */
bool auth_csrf_ok(const char *token, const char *header);

#endif
