/* workers: a small pool of threads for CPU-heavy work (password hashing) that must never run
 * on the event loop. A job's work() runs on a worker thread and touches only its own argument;
 * its done() then runs back on the loop, where it may use everything else. */
#ifndef LOGEER_WORKERS_H
#define LOGEER_WORKERS_H

struct event_base;
struct workers;

/* Requires evthread_use_pthreads() before the event_base was created. */
struct workers *workers_new(struct event_base *base, int nthreads);

/* Queues a job. done(arg) is called on the loop thread after work(arg) finished. */
void workers_submit(struct workers *w, void (*work)(void *arg), void (*done)(void *arg),
                    void *arg);

/* Jobs waiting or running, for /metrics. */
unsigned workers_pending(struct workers *w);

/* Finishes queued jobs (their done callbacks run), joins the threads, frees. */
void workers_free(struct workers *w);

#endif
