/* test_ratelimit: the visitors' token buckets, with time passed in by hand: the burst, the
 * refill rate, the wait that is announced, clients kept apart, IPv6 counted per /64, and a
 * flood of distinct addresses that neither grows the table nor locks a known client out. */
#include <stdio.h>

#include "check.h"
#include "logeer/ratelimit.h"

static void test_burst_then_refused_with_the_wait(void)
{
    struct ratelimit *rl = ratelimit_new(60, 5); /* one token a second, five at once */
    int allowed = 0;
    for (int i = 0; i < 5; i++)
        allowed += ratelimit_take(rl, "192.0.2.1", 100.0) == 0;
    CHECK(allowed == 5);
    CHECK(ratelimit_take(rl, "192.0.2.1", 100.0) == 1);
    CHECK(ratelimit_take(rl, "192.0.2.1", 100.5) == 1);   /* half a token back: wait 1 s */
    CHECK(ratelimit_take(rl, "192.0.2.1", 101.0) == 0);   /* one full token back */
    CHECK(ratelimit_take(rl, "192.0.2.1", 101.0) == 1);
    ratelimit_free(rl);
}

static void test_slow_rate_announces_a_longer_wait(void)
{
    struct ratelimit *rl = ratelimit_new(6, 1); /* one token per ten seconds */
    CHECK(ratelimit_take(rl, "192.0.2.9", 0.0) == 0);
    CHECK(ratelimit_take(rl, "192.0.2.9", 0.0) == 10);
    CHECK(ratelimit_take(rl, "192.0.2.9", 4.0) == 6);
    CHECK(ratelimit_take(rl, "192.0.2.9", 10.0) == 0);
    ratelimit_free(rl);
}

static void test_refill_stops_at_the_burst(void)
{
    struct ratelimit *rl = ratelimit_new(60, 3);
    CHECK(ratelimit_take(rl, "192.0.2.2", 0.0) == 0);
    int allowed = 0;
    for (int i = 0; i < 10; i++)
        allowed += ratelimit_take(rl, "192.0.2.2", 1000.0) == 0; /* long quiet: still only 3 */
    CHECK(allowed == 3);
    ratelimit_free(rl);
}

static void test_clients_are_apart(void)
{
    struct ratelimit *rl = ratelimit_new(60, 2);
    CHECK(ratelimit_take(rl, "192.0.2.3", 0.0) == 0);
    CHECK(ratelimit_take(rl, "192.0.2.3", 0.0) == 0);
    CHECK(ratelimit_take(rl, "192.0.2.3", 0.0) > 0);
    CHECK(ratelimit_take(rl, "192.0.2.4", 0.0) == 0);  /* a neighbour is not charged */
    ratelimit_free(rl);
}

static void test_ipv6_counts_per_64(void)
{
    char key[64];
    ratelimit_key("2001:db8:1:2:aaaa::1", key, sizeof key);
    CHECK_STR(key, "2001:db8:1:2::/64");
    ratelimit_key("192.0.2.5", key, sizeof key);
    CHECK_STR(key, "192.0.2.5");
    struct ratelimit *rl = ratelimit_new(60, 2);
    CHECK(ratelimit_take(rl, "2001:db8:1:2::1", 0.0) == 0);
    CHECK(ratelimit_take(rl, "2001:db8:1:2::ffff", 0.0) == 0);
    CHECK(ratelimit_take(rl, "2001:db8:1:2:1:2:3:4", 0.0) > 0); /* same /64: same bucket */
    CHECK(ratelimit_take(rl, "2001:db8:1:3::1", 0.0) == 0);     /* next /64: its own */
    ratelimit_free(rl);
}

static void test_flood_of_addresses_does_not_free_a_known_client(void)
{
    struct ratelimit *rl = ratelimit_new(60, 2);
    CHECK(ratelimit_take(rl, "198.51.100.7", 0.0) == 0);
    CHECK(ratelimit_take(rl, "198.51.100.7", 0.0) == 0);
    CHECK(ratelimit_take(rl, "198.51.100.7", 0.0) > 0);
    /* 100,000 other clients in the same instant, each asking once: the table stays its size,
     * and the spent client keeps its empty bucket, since the one-off clients' buckets still
     * hold a token and give way first. */
    char addr[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(addr, sizeof addr, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        ratelimit_take(rl, addr, 0.0);
    }
    CHECK(ratelimit_take(rl, "198.51.100.7", 0.0) > 0);
    ratelimit_free(rl);
}

static void test_zero_means_no_limit(void)
{
    CHECK(ratelimit_new(0, 10) == NULL);
    CHECK(ratelimit_new(10, 0) == NULL);
    CHECK(ratelimit_take(NULL, "192.0.2.1", 0.0) == 0);
}

int main(void)
{
    test_burst_then_refused_with_the_wait();
    test_slow_rate_announces_a_longer_wait();
    test_refill_stops_at_the_burst();
    test_clients_are_apart();
    test_ipv6_counts_per_64();
    test_flood_of_addresses_does_not_free_a_known_client();
    test_zero_means_no_limit();
    return check_done("ratelimit");
}
