/* Proves the session cache: a remembered token comes back until it is forgotten, by itself or
 * with every token of its user; nothing is remembered past the session's expiry or when the
 * idle timeout leaves no time to remember it. */
#include <time.h>

#include "check.h"
#include "logeer/session_cache.h"

static struct principal user(const char *id, unsigned role)
{
    struct principal p = {0};
    snprintf(p.user_id, sizeof p.user_id, "%s", id);
    p.role = role;
    return p;
}

static void test_remember_and_forget(void)
{
    struct session_cache *sc = session_cache_new(1800);
    char a[AUTH_TOKEN_HASH_LEN], b[AUTH_TOKEN_HASH_LEN], c[AUTH_TOKEN_HASH_LEN];
    auth_token_hash("token-a", a);
    auth_token_hash("token-b", b);
    auth_token_hash("token-c", c);
    struct principal ann = user("11111111-1111-1111-1111-111111111111", ROLE_CAREGIVER);
    struct principal bob = user("22222222-2222-2222-2222-222222222222", ROLE_PROVIDER);
    time_t later = time(NULL) + 3600;
    struct principal got;
    CHECK(!session_cache_get(sc, a, &got));
    session_cache_put(sc, a, &ann, later);
    session_cache_put(sc, b, &ann, later);
    session_cache_put(sc, c, &bob, later);
    CHECK(session_cache_get(sc, a, &got) && got.role == ROLE_CAREGIVER);
    CHECK_STR(got.user_id, ann.user_id);
    /* Logout forgets one token; erasure every token of the user. */
    session_cache_forget(sc, a);
    CHECK(!session_cache_get(sc, a, &got));
    CHECK(session_cache_get(sc, b, &got));
    session_cache_forget_user(sc, ann.user_id);
    CHECK(!session_cache_get(sc, b, &got));
    CHECK(session_cache_get(sc, c, &got) && got.role == ROLE_PROVIDER);
    session_cache_free(sc);
}

static void test_nothing_outlives_the_session(void)
{
    struct session_cache *sc = session_cache_new(1800);
    char a[AUTH_TOKEN_HASH_LEN];
    auth_token_hash("token-a", a);
    struct principal ann = user("11111111-1111-1111-1111-111111111111", ROLE_CAREGIVER);
    struct principal got;
    session_cache_put(sc, a, &ann, time(NULL) - 1); /* already expired */
    CHECK(!session_cache_get(sc, a, &got));
    session_cache_free(sc);
    /* An idle timeout under 4 s leaves no whole second to remember a token for. */
    sc = session_cache_new(3);
    session_cache_put(sc, a, &ann, time(NULL) + 3600);
    CHECK(!session_cache_get(sc, a, &got));
    session_cache_free(sc);
    /* Without a cache every lookup misses and nothing fails. */
    session_cache_put(NULL, a, &ann, time(NULL) + 3600);
    CHECK(!session_cache_get(NULL, a, &got));
    session_cache_forget(NULL, a);
    session_cache_forget_user(NULL, ann.user_id);
}

int main(void)
{
    test_remember_and_forget();
    test_nothing_outlives_the_session();
    return check_done("session_cache");
}
