/* notify: the delivery worker of every logeerd process (spec section 9). On the loop it turns
 * new outbox events into messages (one database function, whichever process gets there), claims
 * due messages with FOR UPDATE SKIP LOCKED and a lease, and records each outcome; the sending
 * itself (SMTP, .eml files, webhook POSTs) runs on its own worker threads, because name
 * resolution, the SSRF check and file writes block. At least once: a message in flight when a
 * process dies is claimed again when its lease ends, and carries the same stable id. Every
 * schedule_s one process (whichever gets the lock) also makes the time-driven messages: the
 * reminder before arrival, the stale nudge and capacity.stale, the weekly digest. */
#ifndef LOGEER_NOTIFY_H
#define LOGEER_NOTIFY_H

#include <stdbool.h>

struct event_base;
struct db_pool;
struct evbuffer;
struct notify;

struct notify_settings {
    const char *smtp_url;         /* LOGEER_SMTP_URL; NULL/"" = no SMTP */
    bool starttls_required;       /* LOGEER_SMTP_STARTTLS=required */
    const char *smtp_ca;          /* LOGEER_SMTP_CA: CA file for the SMTP server, or NULL */
    const char *mail_from;        /* LOGEER_MAIL_FROM */
    const char *mail_dir;         /* LOGEER_MAIL_DIR: .eml files when there is no SMTP */
    const char *public_url;       /* LOGEER_PUBLIC_URL: base of links, no trailing slash */
    bool webhook_allow_private;   /* LOGEER_WEBHOOK_ALLOW_PRIVATE=1 */
    int threads;                  /* LOGEER_NOTIFY_WORKERS */
    int poll_ms;                  /* LOGEER_NOTIFY_POLL_MS: longest sleep without a wake-up */
    int retry_base_s;             /* LOGEER_NOTIFY_RETRY_BASE_S: first retry delay */
    int retry_max_s;              /* LOGEER_NOTIFY_RETRY_MAX_S: longest retry delay */
    int give_up_s;                /* LOGEER_NOTIFY_GIVE_UP_S: then failed (default 26 h) */
    int lease_s;                  /* LOGEER_NOTIFY_LEASE_S: a claim's lifetime */
    int timeout_s;                /* one SMTP or HTTP attempt at most */
    int schedule_s;               /* LOGEER_NOTIFY_SCHEDULE_S: time-driven scan period */
    int reminder_days;            /* LOGEER_REMINDER_DAYS: reminder this many days ahead */
    int stale_days;               /* LOGEER_STALE_DAYS: when counts are stale */
    int stale_nudge_hours;        /* LOGEER_STALE_NUDGE_HOURS: nudge this long before */
    int disable_after_s;          /* LOGEER_WEBHOOK_DISABLE_AFTER_S: only failures that long */
    /* Called once, from the loop, when the process must not run on (webhook endpoints exist
     * but LOGEER_WEBHOOK_KEY is not set); already logged. */
    void (*fatal)(void *arg);
    void *fatal_arg;
};

/* Registers the worker's statements (call before db_pool_start). */
__attribute__((warn_unused_result))
int notify_prepare(struct db_pool *pool);

/* Checks the settings (NULL and a logged reason when they cannot work) and starts the timer
 * and the worker threads. Call after webhook_key_init. */
struct notify *notify_new(struct event_base *base, struct db_pool *pool,
                          const struct notify_settings *settings);

/* New work may be there (an outbox NOTIFY, a listener reconnect, a redelivery or an endpoint
 * enabled through the API): produce and claim now instead of at the next due time. Between
 * wake-ups a process sleeps until its next retry or lease end is due, at most poll_ms. */
void notify_wake(void *n);

/* Graceful shutdown, while the loop still runs: stops claiming, lets the attempts in flight
 * finish (bounded by timeout_s) and records their outcomes, then calls done(arg) from the
 * loop. Without it, every message in flight at a SIGTERM would be sent again later. */
void notify_drain(struct notify *n, void (*done)(void *), void *arg);

/* First half of teardown, before db_pool_free: stops claiming and waits for the attempts in
 * flight (bounded by timeout_s); their outcomes are queued to the database. */
void notify_stop(struct notify *n);
/* After db_pool_free. */
void notify_free(struct notify *n);

/* The metric families (queue depth, oldest pending age, failures by channel), from counts
 * refreshed every few seconds while someone reads them, and this process's own counters. */
void notify_metrics(struct notify *n, struct evbuffer *out);

/* Sends one account email (kind "password_reset" or "email_verify", notify_text.c) to `to`
 * at once on the worker threads, WITHOUT storing it: the link holds a token that must exist
 * nowhere but in the mail, so it cannot wait in notify_messages. One attempt; the outcome is
 * logged without the link, and someone whose mail is lost asks again. -1 when no email
 * channel is configured or out of memory. */
__attribute__((warn_unused_result))
int notify_send_account_mail(struct notify *n, const char *kind, const char *to,
                             const char *link, int valid_minutes);

/* Backoff: the delay before attempt `attempts` + 1, base * 2^(attempts-1) capped at max,
 * times a jitter factor in [0.8, 1.2) from r in [0, 1). Exposed for tests. */
double notify_backoff_s(int attempts, int base_s, int max_s, double r);

#endif
