/* ratelimit: a fixed table of token buckets, found by hashing the client's key with a short
 * linear probe. The table never grows, so a flood of distinct addresses costs no memory: when
 * every probed slot is in use by another client, the bucket with the most tokens left gives
 * way. That client loses least by starting again full, and a client that has spent its
 * bucket keeps it while one-off visitors come and go. */
#include "logeer/ratelimit.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096   /* power of two; far more than the distinct visitors of a minute */
#define PROBE 8
#define KEY_LEN 64   /* INET6_ADDRSTRLEN and "/64"; a /64 prefix is in fact at most 24 */

struct bucket {
    char key[KEY_LEN];  /* "" when the slot is free */
    double tokens;
    double updated;     /* when tokens was last brought up to date */
};

struct ratelimit {
    double per_second;
    double burst;
    struct bucket slots[SLOTS];
};

struct ratelimit *ratelimit_new(int per_minute, int burst)
{
    if (per_minute <= 0 || burst <= 0)
        return NULL;
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->per_second = per_minute / 60.0;
    rl->burst = burst;
    return rl;
}

void ratelimit_free(struct ratelimit *rl) { free(rl); }

void ratelimit_key(const char *address, char *out, size_t size)
{
    struct in6_addr a6;
    if (address && inet_pton(AF_INET6, address, &a6) == 1) {
        /* One subscriber usually holds a whole /64 and may pick any address in it. */
        memset(a6.s6_addr + 8, 0, 8);
        char text[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &a6, text, sizeof text);
        snprintf(out, size, "%s/64", text);
        return;
    }
    snprintf(out, size, "%s", address ? address : "");
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Brings a bucket's tokens up to now. */
static void refill(const struct ratelimit *rl, struct bucket *b, double now)
{
    double elapsed = now - b->updated;
    if (elapsed > 0) {
        b->tokens += elapsed * rl->per_second;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->updated = now;
    }
}

/* Tokens a bucket would hold at now, without changing it. */
static double tokens_at(const struct ratelimit *rl, const struct bucket *b, double now)
{
    double t = b->tokens + (now - b->updated) * rl->per_second;
    return t > rl->burst ? rl->burst : t;
}

/* The key's bucket; else a free slot or the probed bucket with the most tokens, given to key. */
static struct bucket *find_bucket(struct ratelimit *rl, const char *key, double now)
{
    size_t start = (size_t)(fnv1a(key) & (SLOTS - 1));
    struct bucket *fullest = NULL;
    double most = -1.0;
    for (size_t i = 0; i < PROBE; i++) {
        struct bucket *b = &rl->slots[(start + i) & (SLOTS - 1)];
        if (b->key[0] && strcmp(b->key, key) == 0)
            return b;
        double t = b->key[0] ? tokens_at(rl, b, now) : rl->burst + 1.0; /* free beats all */
        if (t > most) {
            most = t;
            fullest = b;
        }
    }
    snprintf(fullest->key, sizeof fullest->key, "%s", key);
    fullest->tokens = rl->burst;
    fullest->updated = now;
    return fullest;
}

int ratelimit_take(struct ratelimit *rl, const char *address, double now)
{
    if (!rl)
        return 0;
    char key[KEY_LEN];
    ratelimit_key(address, key, sizeof key);
    struct bucket *b = find_bucket(rl, key, now);
    refill(rl, b, now);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    int wait = (int)((1.0 - b->tokens) / rl->per_second + 0.999);
    return wait < 1 ? 1 : wait;
}
