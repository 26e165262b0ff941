/* metrics: request counters and latency histograms by route, method and status, and the
 * helpers every other family of GET /metrics is written with (Prometheus text format 0.0.4).
 * Only touched from the event loop thread, so it needs no locks. */
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

/* The HELP and TYPE lines that open a family. Every family goes through here, so none can
 * lack either (promtool check metrics requires both). type: counter, gauge or histogram. */
void metrics_family(struct evbuffer *out, const char *name, const char *type, const char *help);
/* A family of one unlabelled sample. Gauges print up to 15 significant digits, which keeps
 * whole numbers such as unix times exact. */
void metrics_gauge(struct evbuffer *out, const char *name, const char *help, double value);
void metrics_counter(struct evbuffer *out, const char *name, const char *help,
                     unsigned long long value);

#endif
