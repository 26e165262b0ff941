/* metrics: a flat table of (route, method, status) series, each with a count and a fixed-bucket
 * latency histogram, and the text-format helpers for the other families. Routes are a static
 * table, so the number of series stays small and a linear search is fine; the label set
 * cannot be blown up by clients. */
#include "logeer/metrics.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])
#define MAX_SERIES 1024

struct series {
    const char *route;
    const char *method;
    int status;
    unsigned long long count;
    unsigned long long bucket[NBUCKETS]; /* cumulative at render time, per-bucket here */
    double sum;
};

struct metrics {
    struct series s[MAX_SERIES];
    size_t n;
};

struct metrics *metrics_new(void) { return calloc(1, sizeof(struct metrics)); }
void metrics_free(struct metrics *m) { free(m); }

static struct series *series_get(struct metrics *m, const char *route, const char *method,
                                 int status)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->s[i].status == status && m->s[i].route == route && strcmp(m->s[i].method, method) == 0)
            return &m->s[i];
    if (m->n == MAX_SERIES)
        return NULL;
    struct series *s = &m->s[m->n++];
    s->route = route;
    s->method = method;
    s->status = status;
    return s;
}

void metrics_observe(struct metrics *m, const char *route, const char *method, int status,
                     double seconds)
{
    struct series *s = series_get(m, route, method, status);
    if (!s)
        return;
    s->count++;
    s->sum += seconds;
    for (size_t b = 0; b < NBUCKETS; b++)
        if (seconds <= buckets[b]) {
            s->bucket[b]++;
            break;
        }
}

void metrics_family(struct evbuffer *out, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_gauge(struct evbuffer *out, const char *name, const char *help, double value)
{
    metrics_family(out, name, "gauge", help);
    evbuffer_add_printf(out, "%s %.15g\n", name, value);
}

void metrics_counter(struct evbuffer *out, const char *name, const char *help,
                     unsigned long long value)
{
    metrics_family(out, name, "counter", help);
    evbuffer_add_printf(out, "%s %llu\n", name, value);
}

void metrics_render(const struct metrics *m, struct evbuffer *out)
{
    metrics_family(out, "logeer_http_requests_total", "counter",
                   "HTTP requests answered, by route pattern, method and status.");
    for (size_t i = 0; i < m->n; i++)
        evbuffer_add_printf(out,
                            "logeer_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                            m->s[i].route, m->s[i].method, m->s[i].status, m->s[i].count);
    metrics_family(out, "logeer_http_request_duration_seconds", "histogram",
                   "Time from the complete request head to the reply, by route pattern, method "
                   "and status.");
    for (size_t i = 0; i < m->n; i++) {
        const struct series *s = &m->s[i];
        unsigned long long cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += s->bucket[b];
            evbuffer_add_printf(out,
                                "logeer_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
                                "status=\"%d\",le=\"%g\"} %llu\n",
                                s->route, s->method, s->status, buckets[b], cum);
        }
        evbuffer_add_printf(out,
                            "logeer_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
                            "status=\"%d\",le=\"+Inf\"} %llu\n"
                            "logeer_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\","
                            "status=\"%d\"} %.6f\n"
                            "logeer_http_request_duration_seconds_count{route=\"%s\",method=\"%s\","
                            "status=\"%d\"} %llu\n",
                            s->route, s->method, s->status, s->count, s->route, s->method,
                            s->status, s->sum, s->route, s->method, s->status, s->count);
    }
}
