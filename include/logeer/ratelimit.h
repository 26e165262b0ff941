/* ratelimit: token buckets keyed by client address, in memory, for requests that carry no
 * account to charge (a visitor's search). Each process keeps its own table, so N processes
 * behind one balancer allow up to N times the rate; the bound is against one client flooding
 * the search, not an exact quota. Only touched from the event loop thread: no locks. */
#ifndef LOGEER_RATELIMIT_H
#define LOGEER_RATELIMIT_H

#include <stddef.h>

struct ratelimit;

/* per_minute tokens come back per minute, up to burst. NULL when per_minute or burst is 0
 * (no limit) or on allocation failure; ratelimit_take(NULL, …) always allows. */
struct ratelimit *ratelimit_new(int per_minute, int burst);
void ratelimit_free(struct ratelimit *rl);

/* Takes one token for the client at address (text, IPv4 or IPv6) at time now (seconds, any
 * monotonic origin). Returns 0 when allowed, else the whole seconds until one token is back
 * (at least 1). IPv6 clients are counted per /64, the block one subscriber usually holds. */
int ratelimit_take(struct ratelimit *rl, const char *address, double now);

/* The key ratelimit_take counts address under, written to out (at least 64 bytes):
 * the address itself for IPv4, its /64 prefix for IPv6. Exposed for the unit test. */
void ratelimit_key(const char *address, char *out, size_t size);

#endif
