/* loop_lag: how late the event loop runs a timer due every 25 ms, which is how
 * long it was busy with something else (a long callback) or the process was not running. A
 * request waits that long before it is even read; the request's own duration never shows it.
 * Shown in /metrics as a histogram (as Redis's latency monitor and Node's event-loop delay
 * watch their one loop). Only touched from the loop's thread. */
#ifndef LOGEER_LOOP_LAG_H
#define LOGEER_LOOP_LAG_H

struct event_base;
struct evbuffer;
struct loop_lag;

struct loop_lag *loop_lag_new(struct event_base *base);
/* The family logeer_event_loop_lag_seconds. */
void loop_lag_render(const struct loop_lag *l, struct evbuffer *out);
void loop_lag_free(struct loop_lag *l);

#endif
