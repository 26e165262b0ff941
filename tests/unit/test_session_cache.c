/* Proves the session cache: a remembered token comes back until it is forgotten, by itself or
 * with every token of its user; tokens whose hashes meet in one set do not push each other out
 * until the set is full; nothing is remembered past the session's expiry or when the idle
 * timeout leaves no time to remember it. */
#include <string.h>
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

/* Hashes that share their first eight hex digits share a set (four slots). */
static void test_tokens_of_one_set_share_it(void)
{
    struct session_cache *sc = session_cache_new(1800);
    char h[5][AUTH_TOKEN_HASH_LEN];
    struct principal who[5];
    for (int i = 0; i < 5; i++) {
        snprintf(h[i], sizeof h[i], "\\x00c0ffee%056d", i);
        char id[37];
        snprintf(id, sizeof id, "00000000-0000-0000-0000-00000000000%d", i);
        who[i] = user(id, ROLE_CAREGIVER);
    }
    time_t later = time(NULL) + 3600;
    struct principal got;
    for (int i = 0; i < 4; i++)
        session_cache_put(sc, h[i], &who[i], later);
    int found = 0;
    for (int i = 0; i < 4; i++)
        found += session_cache_get(sc, h[i], &got) && strcmp(got.user_id, who[i].user_id) == 0;
    CHECK(found == 4);
    /* A fifth takes one slot of the four; the newest is always kept. */
    session_cache_put(sc, h[4], &who[4], later);
    CHECK(session_cache_get(sc, h[4], &got) && strcmp(got.user_id, who[4].user_id) == 0);
    found = 0;
    for (int i = 0; i < 4; i++)
        found += session_cache_get(sc, h[i], &got);
    CHECK(found == 3);
    /* A token put again keeps its one slot: forgetting it leaves none behind. */
    session_cache_put(sc, h[4], &who[4], later);
    session_cache_forget(sc, h[4]);
    CHECK(!session_cache_get(sc, h[4], &got));
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
    test_tokens_of_one_set_share_it();
    test_nothing_outlives_the_session();
    return check_done("session_cache");
}
