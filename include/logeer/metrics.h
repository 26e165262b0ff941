/* metrics: request counters and latency histograms by route, method and status, rendered as
 * Prometheus text. Only touched from the event loop thread, so it needs no locks. */
#ifndef LOGEER_METRICS_H
#define LOGEER_METRICS_H

struct evbuffer;
struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
/* route is a static string (the route pattern, or a fixed name such as "unmatched"). */
void metrics_observe(struct metrics *m, const char *route, const char *method, int status,
                     double seconds);
void metrics_render(const struct metrics *m, struct evbuffer *out);

#endif
