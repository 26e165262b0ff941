/* loop_lag: a timer that measures how late the loop runs it (see include/logeer/loop_lag.h).
 * Each tick records its lateness and sets the next one a period after it actually ran, so a
 * stall is counted once, by the tick it delayed, however long it lasted. */
#include "logeer/loop_lag.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <time.h>

#include "logeer/clock.h"
#include "logeer/metrics.h"

/* Often enough that a stall of a few tens of milliseconds always delays a tick. */
#define LOOP_LAG_PERIOD_MS 25
/* Seconds. Below 5 ms is the loop's ordinary turn under load; the rest are stalls. */
static const double lag_buckets[] = {0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0};
#define NLAG_BUCKETS (sizeof lag_buckets / sizeof lag_buckets[0])

struct loop_lag {
    struct event *tick;
    double due;                               /* monotonic seconds the tick is due */
    unsigned long long bucket[NLAG_BUCKETS];  /* not cumulative; rendered cumulative */
    unsigned long long count;
    double sum;
};

static void arm(struct loop_lag *l, double now)
{
    struct timeval tv = {0, LOOP_LAG_PERIOD_MS * 1000};
    l->due = now + LOOP_LAG_PERIOD_MS / 1000.0;
    evtimer_add(l->tick, &tv);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop_lag *l = arg;
    double now = clock_monotonic_s();
    double late = now > l->due ? now - l->due : 0;
    for (size_t b = 0; b < NLAG_BUCKETS; b++) {
        if (late <= lag_buckets[b]) {
            l->bucket[b]++;
            break;
        }
    }
    l->count++;
    l->sum += late;
    arm(l, now);
}

struct loop_lag *loop_lag_new(struct event_base *base)
{
    struct loop_lag *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->tick = evtimer_new(base, on_tick, l);
    if (!l->tick) {
        free(l);
        return NULL;
    }
    arm(l, clock_monotonic_s());
    return l;
}

void loop_lag_render(const struct loop_lag *l, struct evbuffer *out)
{
    if (!l)
        return;
    metrics_family(out, "logeer_event_loop_lag_seconds", "histogram",
                   "How late the event loop ran a timer due every 25 ms: the time it was busy "
                   "with something else or the process was not running. Requests arriving "
                   "meanwhile waited as long before being read.");
    unsigned long long cum = 0;
    for (size_t b = 0; b < NLAG_BUCKETS; b++) {
        cum += l->bucket[b];
        evbuffer_add_printf(out, "logeer_event_loop_lag_seconds_bucket{le=\"%g\"} %llu\n",
                            lag_buckets[b], cum);
    }
    evbuffer_add_printf(out,
                        "logeer_event_loop_lag_seconds_bucket{le=\"+Inf\"} %llu\n"
                        "logeer_event_loop_lag_seconds_sum %.6f\n"
                        "logeer_event_loop_lag_seconds_count %llu\n",
                        l->count, l->sum, l->count);
}

void loop_lag_free(struct loop_lag *l)
{
    if (!l)
        return;
    event_free(l->tick);
    free(l);
}
