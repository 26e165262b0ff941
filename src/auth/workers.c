/* workers: a fixed set of pthreads fed from one queue. Finished jobs move to a done queue and a
 * single libevent event is activated from the worker thread (event_active is thread-safe once
 * evthread_use_pthreads is on), so completions are delivered on the loop in order. */
#include "logeer/workers.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct job {
    void (*work)(void *);
    void (*done)(void *);
    void *arg;
    struct job *next;
};

struct job_queue {
    struct job *head, *tail;
};

struct workers {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job_queue todo;     /* waiting for a thread */
    struct job_queue finished; /* waiting for the loop */
    unsigned pending;          /* queued + running + finished-not-delivered */
    bool stopping;
    int nthreads;
    pthread_t *threads;
    struct event *deliver;     /* activated when finished gains jobs */
};

static void queue_push(struct job_queue *q, struct job *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
}

static struct job *queue_pop(struct job_queue *q)
{
    struct job *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
    }
    return j;
}

static void *worker_main(void *arg)
{
    struct workers *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->todo.head && !w->stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        struct job *j = queue_pop(&w->todo);
        if (!j)
            break; /* stopping and nothing left */
        pthread_mutex_unlock(&w->lock);
        j->work(j->arg);
        pthread_mutex_lock(&w->lock);
        queue_push(&w->finished, j);
        event_active(w->deliver, EV_READ, 0);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void deliver_finished(evutil_socket_t fd, short what, void *arg)
{
    struct workers *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        struct job *j = queue_pop(&w->finished);
        if (j)
            w->pending--;
        pthread_mutex_unlock(&w->lock);
        if (!j)
            return;
        j->done(j->arg);
        free(j);
    }
}

struct workers *workers_new(struct event_base *base, int nthreads)
{
    struct workers *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    w->deliver = event_new(base, -1, 0, deliver_finished, w);
    w->threads = calloc((size_t)nthreads, sizeof *w->threads);
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&w->threads[i], NULL, worker_main, w) == 0)
            w->nthreads++;
    return w;
}

void workers_submit(struct workers *w, void (*work)(void *), void (*done)(void *), void *arg)
{
    struct job *j = malloc(sizeof *j);
    if (!j)
        abort(); /* out of memory: nothing sensible left to do */
    j->work = work;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&w->lock);
    queue_push(&w->todo, j);
    w->pending++;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

unsigned workers_pending(struct workers *w)
{
    pthread_mutex_lock(&w->lock);
    unsigned n = w->pending;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void workers_free(struct workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    deliver_finished(-1, 0, w);
    event_free(w->deliver);
    free(w->threads);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
