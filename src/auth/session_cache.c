/* session_cache: a fixed table of recently verified tokens, in sets of four slots chosen by the
 * token hash. Every authenticated request would otherwise cost a database round trip before
 * any work is done, which for an in-memory search is most of its cost. An entry is short-lived
 * so that while a session is in use the database still sees it often enough to keep its idle
 * clock fresh, and so that a logout or erasure handled by another process takes effect here
 * soon. Never holds a token itself, only its hash. */
#include "logeer/session_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/clock.h"

#define SESSION_CACHE_SLOTS 4096 /* a power of two */
/* A token may sit in any of the WAYS slots of its set. With one slot a token, two tokens whose
 * hashes met in it pushed each other out on every request while both were in use: among the
 * search bench's 130 sessions two such pairs are to be expected, and their requests all went to
 * the database. A full set gives up its stalest entry. */
#define SESSION_CACHE_WAYS 4
#define SESSION_CACHE_MAX_S 10

struct session_entry {
    char hash[AUTH_TOKEN_HASH_LEN]; /* "" when empty */
    struct principal who;
    time_t fresh_until;             /* monotonic seconds */
};

struct session_cache {
    long ttl_s;                     /* a quarter of the idle timeout, at most the maximum */
    struct session_entry slot[SESSION_CACHE_SLOTS];
};

struct session_cache *session_cache_new(int idle_s)
{
    struct session_cache *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->ttl_s = idle_s / 4;
    if (sc->ttl_s > SESSION_CACHE_MAX_S)
        sc->ttl_s = SESSION_CACHE_MAX_S;
    return sc;
}

void session_cache_free(struct session_cache *sc) { free(sc); }

/* The first of the token's set of SESSION_CACHE_WAYS slots. */
static struct session_entry *session_set(struct session_cache *sc, const char *hash)
{
    /* The hash is SHA-256 hex after "\x": its leading digits are already uniform. */
    if (strlen(hash) < 10)
        return &sc->slot[0];
    unsigned long h = strtoul((char[9]){hash[2], hash[3], hash[4], hash[5], hash[6], hash[7],
                                        hash[8], hash[9], '\0'},
                              NULL, 16);
    return &sc->slot[(h * SESSION_CACHE_WAYS) & (SESSION_CACHE_SLOTS - 1)];
}

/* The token's entry in its set, or NULL. */
static struct session_entry *session_find(struct session_cache *sc, const char *hash)
{
    struct session_entry *set = session_set(sc, hash);
    for (int i = 0; i < SESSION_CACHE_WAYS; i++)
        if (strcmp(set[i].hash, hash) == 0)
            return &set[i];
    return NULL;
}

bool session_cache_get(struct session_cache *sc, const char *token_hash, struct principal *out)
{
    if (!sc)
        return false;
    struct session_entry *e = session_find(sc, token_hash);
    if (!e || (time_t)clock_monotonic_s() >= e->fresh_until)
        return false;
    *out = e->who;
    return true;
}

/* Where a token is remembered: its own entry, else an empty or the stalest one of its set. */
static struct session_entry *session_place(struct session_cache *sc, const char *hash)
{
    struct session_entry *e = session_find(sc, hash);
    if (e)
        return e;
    struct session_entry *set = session_set(sc, hash);
    e = &set[0];
    for (int i = 0; i < SESSION_CACHE_WAYS && e->hash[0]; i++)
        if (!set[i].hash[0] || set[i].fresh_until < e->fresh_until)
            e = &set[i];
    return e;
}

void session_cache_put(struct session_cache *sc, const char *token_hash,
                       const struct principal *who, time_t expires_epoch)
{
    if (!sc)
        return;
    long ttl = sc->ttl_s;
    long left = (long)(expires_epoch - time(NULL));
    if (left < ttl)
        ttl = left;
    if (ttl <= 0)
        return;
    struct session_entry *e = session_place(sc, token_hash);
    snprintf(e->hash, sizeof e->hash, "%s", token_hash);
    e->who = *who;
    e->fresh_until = (time_t)clock_monotonic_s() + ttl;
}

void session_cache_forget(struct session_cache *sc, const char *token_hash)
{
    if (!sc)
        return;
    struct session_entry *e = session_find(sc, token_hash);
    if (e)
        e->hash[0] = '\0';
}

void session_cache_forget_user(struct session_cache *sc, const char *user_id)
{
    if (!sc)
        return;
    for (size_t i = 0; i < SESSION_CACHE_SLOTS; i++)
        if (strcmp(sc->slot[i].who.user_id, user_id) == 0)
            sc->slot[i].hash[0] = '\0';
}
