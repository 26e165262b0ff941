/* session_cache: the bearer tokens this process verified a moment ago, so that an
 * authenticated request need not ask the database every time. Memory and the clock only, no
 * I/O; it never decides whether a session is valid, it only remembers that the database said
 * so. Owned by main; the api layer reads it before looking a session up and forgets entries at
 * logout and erasure. */
#ifndef LOGEER_SESSION_CACHE_H
#define LOGEER_SESSION_CACHE_H

#include <stdbool.h>
#include <time.h>

#include "logeer/auth.h"

struct session_cache;

/* idle_s is the sessions' idle timeout (LOGEER_SESSION_IDLE). NULL when out of memory. */
struct session_cache *session_cache_new(int idle_s);
void session_cache_free(struct session_cache *sc);

/* The principal remembered for a token hash (as from auth_token_hash), if still fresh. */
bool session_cache_get(struct session_cache *sc, const char *token_hash, struct principal *out);

/* Remembers a verified token for at most a quarter of the idle timeout, never more than 10 s
 * and never past the session's absolute expiry (expires_epoch, wall-clock seconds). */
void session_cache_put(struct session_cache *sc, const char *token_hash,
                       const struct principal *who, time_t expires_epoch);

/* Forgets one token (logout here) or every token of a user (account erased or disabled
 * here). Another process notices when its own entry lapses. */
void session_cache_forget(struct session_cache *sc, const char *token_hash);
void session_cache_forget_user(struct session_cache *sc, const char *user_id);

#endif
