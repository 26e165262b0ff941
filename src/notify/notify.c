/* notify: the message pipeline of one process. The loop runs its statements (produce, claim,
 * record an outcome, look up the next due time) and never blocks; a worker thread per attempt
 * renders and sends, touching only its own job. Idle, it costs the database nothing but a
 * round per poll_ms: new outbox rows wake it (LISTEN, through notify_wake) and it sleeps until
 * the next retry or lease end is due. A failed statement is retried from the timer, never from
 * its own callback. Outcomes that cannot be recorded (database down) are kept and recorded
 * later, so an outage does not turn every message in flight into a duplicate. */
#include "logeer/notify.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logeer/clock.h"
#include "logeer/db.h"
#include "logeer/log.h"
#include "logeer/mail.h"
#include "logeer/notify_text.h"
#include "logeer/webhook.h"
#include "logeer/workers.h"

#define PRODUCE_BATCH "200"
#define PRODUCE_BATCH_N 200
#define STATS_EVERY_MS 5000
#define ERR_LEN 300
/* After a failed statement, or while committed outbox rows wait for an older transaction (no
 * NOTIFY follows that one), look again this soon rather than a whole poll_ms later. */
#define RETRY_SOON_MS 1000
/* Rounds woken by new outbox rows start at most this often: under a stream of bookings every
 * commit wakes the pipeline, and a round costs the database the same few statements whether
 * it finds one new event or twenty. The delay a message can gain is this gap, once. */
#define WAKE_GAP_MS 200

enum channel { CH_EMAIL, CH_WEBHOOK, NCHANNELS };
static const char *const channel_names[NCHANNELS] = {"email", "webhook"};

/* OUT_PARKED: the endpoint is disabled; the message waits, unsent and not given up, until it
 * is enabled again. Not an attempt: its claim is undone. */
enum outcome { OUT_SENT, OUT_RETRY, OUT_FAILED, OUT_PARKED };
#define NOUTCOMES 3 /* counted outcomes: sent, retry, failed */

enum recipient_state { RCPT_OK, RCPT_OFF, RCPT_GONE };

/* One claimed message on its way through a worker thread and back. Strings are copies: the
 * worker thread may touch nothing else. */
struct job {
    struct notify *n;
    struct job *next;          /* in n->unrecorded while its outcome waits for the database */
    enum channel ch;
    char id[40];               /* the stable message id */
    char attempts[12];         /* the claim's attempt number, text: it identifies the claim */
    int attempt_n;
    char *kind;
    char *data;                /* JSON text: what the template shows */
    char *body;                /* webhook: the exact body */
    char *to;                  /* email address, or webhook URL */
    char *sealed, *key_id;     /* webhook secret, sealed */
    bool direct;               /* an account email: not in notify_messages, nothing to record */
    char *prev_sealed, *prev_key_id; /* the secret before a rotation, "" after its grace */
    enum recipient_state rcpt; /* the user or endpoint exists and takes messages, or is off */
    long long created;         /* unix time of the message: the webhook-timestamp */
    /* filled by the worker thread */
    enum outcome outcome;
    bool endpoint_failed;      /* the receiver failed (counts towards disabling it) */
    int status;                /* HTTP status or 0 */
    char err[ERR_LEN];
};

struct notify {
    struct event_base *base;
    struct db_pool *pool;
    struct notify_settings s;
    struct workers *workers;
    struct event *timer;       /* one-shot: the next round (due time, poll_ms or retry soon) */
    long long timer_due_ms;    /* when the timer fires (monotonic ms) */
    long long last_round_ms;   /* when the last round started (monotonic ms); 0 before any */
    struct event *stats_timer; /* every STATS_EVERY_MS: refresh the gauges if someone reads them */
    char instance[40];         /* claimed_by: this process */
    char from_name[128], from_addr[256], id_domain[256];
    bool email_on;             /* SMTP or a mail directory is configured */
    bool producing, claiming, stats_busy, scanning, stopping, finding;
    bool again;                /* more work seen: produce/claim again at once */
    bool rewake;               /* woken while producing: produce once more after it */
    bool look_soon;            /* this round met a failure or a busy producer: next in 1 s */
    bool stats_wanted;         /* /metrics was read since the last refresh */
    bool key_checked;          /* without a key: whether webhook endpoints exist was asked */
    bool dead;                 /* fatal() was called */
    bool failing;              /* last statement failed; logged once per streak */
    unsigned inflight;         /* claimed and not yet recorded */
    void (*drained)(void *);   /* notify_drain's callback, once inflight reaches 0 */
    void *drained_arg;
    struct event *drain_ev;
    unsigned max_inflight;
    struct job *unrecorded;    /* outcomes to record when the database is back */
    struct event *due_timer;   /* every schedule_s: the time-driven scan (scan_due) */
    char schedule_args[160];   /* the time-driven scan's JSON argument, fixed at start */
    unsigned long long scheduled_total; /* time-driven messages this process made */
    /* from the last stats query */
    bool stats_known;
    double pending[NCHANNELS], oldest_s[NCHANNELS], failed[NCHANNELS];
    /* this process's own counters */
    unsigned long long attempts_total[NCHANNELS][NOUTCOMES]; /* by outcome */
};

int notify_prepare(struct db_pool *pool)
{
    if (db_pool_prepare(pool, "notify_produce", "SELECT logeer_notify_produce($1::int)"))
        return -1;
    /* The claim moves next_attempt_at forward by the lease: until then no other process
     * claims the message; a process that dies leaves it to the first claim after that. Both
     * questions about due messages go channel by channel, each one range of the index that
     * leads with the channel (0057): never past a backlog of a channel this process does not
     * send, which a filter on the generic plan read row by row. */
    if (db_pool_prepare(
            pool, "notify_claim",
            "WITH due AS (SELECT d.id FROM unnest($4::notify_channel[]) AS ch (channel) "
            "CROSS JOIN LATERAL (SELECT m.id, m.next_attempt_at FROM notify_messages m "
            "WHERE m.state = 'pending' AND m.channel = ch.channel AND m.next_attempt_at <= now() "
            "ORDER BY m.next_attempt_at, m.id LIMIT $1::int FOR UPDATE SKIP LOCKED) d "
            "ORDER BY d.next_attempt_at, d.id LIMIT $1::int), "
            "c AS (UPDATE notify_messages m SET attempts = m.attempts + 1, claimed_by = $3, "
            "next_attempt_at = now() + make_interval(secs => $2::int) FROM due "
            "WHERE m.id = due.id RETURNING m.*) "
            "SELECT c.id, c.channel::text, c.kind, c.attempts, c.data::text, coalesce(c.body, ''), "
            "coalesce(u.email, w.url, ''), "
            "CASE WHEN c.channel = 'email' THEN CASE WHEN u.erased_at IS NULL "
            "AND u.disabled_at IS NULL THEN 'ok' ELSE 'gone' END "
            "WHEN w.deleted_at IS NOT NULL OR w.id IS NULL THEN 'gone' "
            "WHEN NOT w.enabled THEN 'off' ELSE 'ok' END, "
            "coalesce(encode(w.secret_sealed, 'hex'), ''), coalesce(w.secret_key_id, ''), "
            "extract(epoch FROM c.created_at)::bigint, "
            "CASE WHEN w.secret_prev_until > now() THEN encode(w.secret_prev_sealed, 'hex') "
            "ELSE '' END, CASE WHEN w.secret_prev_until > now() THEN w.secret_prev_key_id "
            "ELSE '' END "
            "FROM c LEFT JOIN users u ON c.channel = 'email' AND u.id = c.recipient "
            "LEFT JOIN webhook_endpoints w ON c.channel = 'webhook' AND w.id = c.recipient"))
        return -1;
    /* Sent is true whoever holds the claim now, so it needs no claim check. A webhook's
     * success ends its endpoint's run of failures. */
    if (db_pool_prepare(pool, "notify_sent",
                        "WITH m AS (UPDATE notify_messages SET state = 'sent', sent_at = now(), "
                        "last_error = NULL, last_status = $2::int, claimed_by = NULL "
                        "WHERE id = $1::uuid AND state = 'pending' RETURNING id, channel, "
                        "recipient) SELECT logeer_webhook_outcome(m.recipient, m.id, true, 0) "
                        "FROM m WHERE m.channel = 'webhook'"))
        return -1;
    /* A disabled endpoint's message waits for it, unless it was enabled again meanwhile. The
     * claim is undone: parking is not an attempt. */
    if (db_pool_prepare(pool, "notify_park",
                        "UPDATE notify_messages m SET next_attempt_at = CASE WHEN EXISTS "
                        "(SELECT 1 FROM webhook_endpoints w WHERE w.id = m.recipient "
                        "AND NOT w.enabled) THEN 'infinity' ELSE now() END, "
                        "attempts = m.attempts - 1, claimed_by = NULL "
                        "WHERE m.id = $1::uuid AND m.claimed_by = $2 AND m.attempts = $3::int "
                        "AND m.state = 'pending'"))
        return -1;
    /* When a round finds nothing more due: how long until the next retry or lease end, and
     * whether committed outbox rows wait for an older transaction (no NOTIFY follows them). */
    if (db_pool_prepare(pool, "notify_next",
                        "SELECT (SELECT extract(epoch FROM min(d.at) - now()) "
                        "FROM unnest($1::notify_channel[]) AS ch (channel) "
                        "CROSS JOIN LATERAL (SELECT min(m.next_attempt_at) AS at "
                        "FROM notify_messages m WHERE m.state = 'pending' "
                        "AND m.channel = ch.channel AND m.next_attempt_at < 'infinity') d"
                        ")::double precision, "
                        "(SELECT logeer_events_held_back(c.txid, c.event_id) FROM notify_cursor c)"))
        return -1;
    /* Without LOGEER_WEBHOOK_KEY no secret can be sealed or opened: endpoints must not exist. */
    if (db_pool_prepare(pool, "notify_hooks_in_use",
                        "SELECT count(*) FROM webhook_endpoints WHERE deleted_at IS NULL"))
        return -1;
    /* A retry or failure only for the claim it belongs to: a later claim by another process
     * has its own outcome to record. A message gives up when an attempt fails after the
     * give-up time, so retries always go on for at least that long. */
    if (db_pool_prepare(pool, "notify_retry",
                        "WITH m AS (UPDATE notify_messages SET state = CASE WHEN $4::boolean OR "
                        "now() >= window_start + make_interval(secs => $5::int) THEN 'failed' "
                        "ELSE 'pending' END::notify_state, next_attempt_at = now() + "
                        "make_interval(secs => $3::double precision), last_error = left($6, 500), "
                        "last_status = $7::int, claimed_by = NULL "
                        "WHERE id = $1::uuid AND claimed_by = $2 AND attempts = $8::int "
                        "AND state = 'pending' RETURNING id, channel, recipient) "
                        "SELECT logeer_webhook_outcome(m.recipient, m.id, false, $9::int) "
                        "FROM m WHERE m.channel = 'webhook' AND $10::boolean"))
        return -1;
    if (db_pool_prepare(pool, "notify_schedule", "SELECT logeer_notify_schedule($1::jsonb)"))
        return -1;
    return db_pool_prepare(
        pool, "notify_stats",
        "SELECT c.ch::text, count(m.id) FILTER (WHERE m.state = 'pending'), "
        "coalesce(extract(epoch FROM now() - min(m.created_at) FILTER (WHERE m.state = "
        "'pending')), 0)::double precision, count(m.id) FILTER (WHERE m.state = 'failed') "
        "FROM unnest(enum_range(NULL::notify_channel)) AS c (ch) "
        "LEFT JOIN notify_messages m ON m.channel = c.ch AND m.state <> 'sent' GROUP BY c.ch");
}

double notify_backoff_s(int attempts, int base_s, int max_s, double r)
{
    double d = base_s;
    for (int i = 1; i < attempts && d < max_s; i++)
        d *= 2;
    if (d > max_s)
        d = max_s;
    /* Jitter spreads the retries of many messages that failed together (an SMTP outage), so
     * they do not all come back in the same second. */
    return d * (0.8 + 0.4 * r);
}

static double random_unit(void)
{
    uint32_t v = 0;
    if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
        v = (uint32_t)rand();
    return (double)v / 4294967296.0;
}

static void job_free(struct job *j)
{
    /* An account email's data holds a live token: it must not linger in freed memory. */
    if (j->direct && j->data)
        explicit_bzero(j->data, strlen(j->data));
    free(j->kind);
    free(j->data);
    free(j->body);
    free(j->to);
    free(j->sealed);
    free(j->key_id);
    free(j->prev_sealed);
    free(j->prev_key_id);
    free(j);
}

/* ---- on a worker thread -------------------------------------------------------------------- */

static void deliver_email(struct job *j)
{
    const struct notify *n = j->n;
    cJSON *data = cJSON_Parse(j->data);
    struct mail_buf subject = {0}, text = {0}, html = {0}, msg = {0};
    if (!data || notify_text_render(j->kind, data, n->s.public_url, &subject, &text, &html) != 0) {
        j->outcome = OUT_FAILED;
        snprintf(j->err, sizeof j->err, "no text for kind %s", j->kind);
        goto out;
    }
    struct mail_parts p = {.from_name = n->from_name, .from_addr = n->from_addr,
                           .to_addr = j->to, .subject = subject.text, .message_id = j->id,
                           .id_domain = n->id_domain, .text = text.text, .html = html.text,
                           .date = j->created};
    if (mail_build(&msg, &p) != 0) {
        j->outcome = OUT_FAILED;
        snprintf(j->err, sizeof j->err, "the recipient's address is not one we send to");
        goto out;
    }
    enum mail_outcome mo;
    if (n->s.smtp_url && *n->s.smtp_url) {
        struct mail_smtp smtp = {n->s.smtp_url, n->s.starttls_required, n->s.timeout_s,
                                 n->s.smtp_ca};
        mo = mail_send_smtp(&smtp, n->from_addr, j->to, msg.text, msg.len, j->err,
                            sizeof j->err);
    } else {
        mo = mail_write_file(n->s.mail_dir, j->id, msg.text, msg.len, j->err, sizeof j->err);
    }
    j->outcome = mo == MAIL_SENT ? OUT_SENT : mo == MAIL_RETRY ? OUT_RETRY : OUT_FAILED;
out:
    cJSON_Delete(data);
    mail_buf_free(&subject);
    mail_buf_free(&text);
    mail_buf_free(&html);
    mail_buf_free(&msg);
}

/* During a rotation's grace period the previous secret signs too, after the new one. A
 * previous secret that no longer opens (sealed under another key) is left out, not fatal. */
static void add_previous_signature(const struct job *j, long long ts,
                                   char sig[WEBHOOK_SIGNATURES_LEN])
{
    char secret[WEBHOOK_SECRET_LEN], prev[WEBHOOK_SIGNATURE_LEN];
    if (!*j->prev_sealed || webhook_secret_open(j->prev_sealed, j->prev_key_id, secret) != 0)
        return;
    int ok = webhook_sign(secret, j->id, ts, j->body, strlen(j->body), prev);
    memset(secret, 0, sizeof secret);
    size_t len = strlen(sig);
    if (ok == 0 && len + 1 + strlen(prev) < WEBHOOK_SIGNATURES_LEN)
        snprintf(sig + len, WEBHOOK_SIGNATURES_LEN - len, " %s", prev);
}

static void deliver_webhook(struct job *j)
{
    char secret[WEBHOOK_SECRET_LEN], sig[WEBHOOK_SIGNATURES_LEN];
    if (webhook_secret_open(j->sealed, j->key_id, secret) != 0) {
        j->outcome = OUT_FAILED;
        snprintf(j->err, sizeof j->err,
                 "the endpoint's secret cannot be opened with this server's LOGEER_WEBHOOK_KEY");
        return;
    }
    /* A fresh timestamp on every attempt: receivers refuse old ones (replay protection), and
     * a retry a day later would otherwise always be refused. */
    long long ts = (long long)time(NULL);
    int signed_ok = webhook_sign(secret, j->id, ts, j->body, strlen(j->body), sig);
    memset(secret, 0, sizeof secret);
    if (signed_ok != 0) {
        j->outcome = OUT_FAILED;
        snprintf(j->err, sizeof j->err, "the endpoint's secret is malformed");
        return;
    }
    add_previous_signature(j, ts, sig);
    enum webhook_outcome wo = webhook_post(j->to, j->id, ts, sig, j->body,
                                           j->n->s.webhook_allow_private, j->n->s.timeout_s,
                                           &j->status, j->err, sizeof j->err);
    /* A forbidden address may be fixed by DNS or by the provider: retried, not failed. */
    j->outcome = wo == WEBHOOK_SENT ? OUT_SENT : OUT_RETRY;
    j->endpoint_failed = wo != WEBHOOK_SENT;
}

static void job_work(void *arg)
{
    struct job *j = arg;
    if (j->rcpt == RCPT_OFF && j->ch == CH_WEBHOOK) {
        j->outcome = OUT_PARKED;
        return;
    }
    if (j->rcpt != RCPT_OK) {
        j->outcome = OUT_FAILED;
        snprintf(j->err, sizeof j->err, "%s",
                 j->ch == CH_EMAIL ? "the recipient's account is closed"
                                   : "the endpoint was deleted");
        return;
    }
    if (j->ch == CH_EMAIL)
        deliver_email(j);
    else
        deliver_webhook(j);
}

/* ---- back on the loop ---------------------------------------------------------------------- */

static void notify_kick(struct notify *n);
static void find_next(struct notify *n);
static void produce(struct notify *n);

/* The next round in ms from now; an earlier one already armed is kept only by re-arming. */
static void schedule(struct notify *n, long long ms)
{
    if (n->stopping || !n->timer)
        return;
    if (ms < 0)
        ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_del(n->timer);
    evtimer_add(n->timer, &tv);
    n->timer_due_ms = clock_monotonic_ms() + ms;
}

/* A round in at most ms from now: an armed timer that fires sooner is left alone. */
static void schedule_within(struct notify *n, long long ms)
{
    if (evtimer_pending(n->timer, NULL) && n->timer_due_ms <= clock_monotonic_ms() + ms)
        return;
    schedule(n, ms);
}

static int retry_soon_ms(const struct notify *n)
{
    return n->s.poll_ms < RETRY_SOON_MS ? n->s.poll_ms : RETRY_SOON_MS;
}

static void statement_failed(struct notify *n, const char *what, const struct db_result *r)
{
    if (!n->failing)
        log_warn("notifications: %s failed: %s", what, r->message);
    n->failing = true;
    n->look_soon = true;
    schedule(n, retry_soon_ms(n));
}

static void record(struct job *j);

static void drain_finish(struct notify *n)
{
    void (*cb)(void *) = n->drained;
    n->drained = NULL;
    if (cb)
        cb(n->drained_arg);
}

/* Drained once nothing is claimed, in flight or being claimed. */
static void drain_check(struct notify *n)
{
    if (n->stopping && n->drained && n->inflight == 0 && !n->claiming)
        drain_finish(n);
}

static void claim(struct notify *n);

static void recorded(const struct db_result *r, void *arg)
{
    struct job *j = arg;
    struct notify *n = j->n;
    if (r->status != DB_OK && !n->stopping) {
        /* Keep the outcome: recorded again from the timer. A 'sent' lost here would make the
         * message go out again after its lease. */
        statement_failed(n, "recording a delivery", r);
        j->next = n->unrecorded;
        n->unrecorded = j;
        return;
    }
    if (r->status != DB_OK)
        log_warn("notifications: outcome of message %s not recorded at shutdown (%s); it is "
                 "delivered again after its lease", j->id, r->message);
    n->inflight--;
    job_free(j);
    /* A slot is free: claim what else is due (the retry just recorded is not). Producing is
     * the outbox NOTIFY's business, so no produce here. */
    if (!n->stopping)
        claim(n);
    else
        drain_check(n);
}

static void record(struct job *j)
{
    struct notify *n = j->n;
    if (j->outcome == OUT_PARKED) {
        const char *params[] = {j->id, n->instance, j->attempts};
        db_query(n->pool, "notify_park", 3, params, recorded, j);
        return;
    }
    if (j->outcome == OUT_SENT) {
        char status[12];
        snprintf(status, sizeof status, "%d", j->status);
        const char *params[] = {j->id, j->status ? status : NULL};
        db_query(n->pool, "notify_sent", 2, params, recorded, j);
        return;
    }
    char delay[32], give_up[16], status[12], disable[16];
    snprintf(delay, sizeof delay, "%.3f",
             notify_backoff_s(j->attempt_n, n->s.retry_base_s, n->s.retry_max_s, random_unit()));
    snprintf(give_up, sizeof give_up, "%d", n->s.give_up_s);
    snprintf(status, sizeof status, "%d", j->status);
    snprintf(disable, sizeof disable, "%d", n->s.disable_after_s);
    const char *params[] = {j->id, n->instance, delay, j->outcome == OUT_FAILED ? "t" : "f",
                            give_up, j->err, j->status ? status : NULL, j->attempts, disable,
                            j->endpoint_failed ? "t" : "f"};
    db_query(n->pool, "notify_retry", 10, params, recorded, j);
}

static void job_done(void *arg)
{
    struct job *j = arg;
    struct notify *n = j->n;
    if (j->outcome < NOUTCOMES)
        n->attempts_total[j->ch][j->outcome]++;
    if (j->direct) {
        /* Never the link: it holds the token. */
        if (j->outcome == OUT_SENT)
            log_info("notifications: %s mail %s sent", j->kind, j->id);
        else
            log_warn("notifications: %s mail %s not sent: %s", j->kind, j->id, j->err);
        n->inflight--;
        job_free(j);
        drain_check(n);
        return;
    }
    if (j->outcome != OUT_SENT && j->outcome != OUT_PARKED)
        log_info("notifications: %s message %s attempt %d: %s", channel_names[j->ch], j->id,
                 j->attempt_n, j->err);
    record(j);
}

static char *dup_value(const PGresult *res, int row, int col)
{
    return strdup(db_value(res, row, col));
}

static enum recipient_state recipient_state_parse(const char *s)
{
    return strcmp(s, "ok") == 0 ? RCPT_OK : strcmp(s, "off") == 0 ? RCPT_OFF : RCPT_GONE;
}

static void claimed(const struct db_result *r, void *arg)
{
    struct notify *n = arg;
    n->claiming = false;
    if (r->status != DB_OK) {
        statement_failed(n, "claiming messages", r);
        drain_check(n);
        return;
    }
    n->failing = false;
    int rows = PQntuples(r->res);
    if (n->stopping || !n->workers) {
        /* Claimed while shutting down: left unsent, claimed again when the lease ends. */
        drain_check(n);
        return;
    }
    unsigned asked = n->max_inflight - n->inflight;
    for (int i = 0; i < rows; i++) {
        struct job *j = calloc(1, sizeof *j);
        if (!j)
            continue; /* claimed but not sent: its lease ends and it is claimed again */
        j->n = n;
        snprintf(j->id, sizeof j->id, "%s", db_value(r->res, i, 0));
        j->ch = strcmp(db_value(r->res, i, 1), "webhook") == 0 ? CH_WEBHOOK : CH_EMAIL;
        j->kind = dup_value(r->res, i, 2);
        snprintf(j->attempts, sizeof j->attempts, "%s", db_value(r->res, i, 3));
        j->attempt_n = atoi(j->attempts);
        j->data = dup_value(r->res, i, 4);
        j->body = dup_value(r->res, i, 5);
        j->to = dup_value(r->res, i, 6);
        j->rcpt = recipient_state_parse(db_value(r->res, i, 7));
        j->sealed = dup_value(r->res, i, 8);
        j->key_id = dup_value(r->res, i, 9);
        j->created = atoll(db_value(r->res, i, 10));
        j->prev_sealed = dup_value(r->res, i, 11);
        j->prev_key_id = dup_value(r->res, i, 12);
        if (!j->kind || !j->data || !j->body || !j->to || !j->sealed || !j->key_id ||
            !j->prev_sealed || !j->prev_key_id) {
            job_free(j);
            continue;
        }
        n->inflight++;
        workers_submit(n->workers, job_work, job_done, j);
    }
    /* A full batch suggests more is due; a short one means nothing else is due now, so it is
     * time to learn when something will be. */
    if ((unsigned)rows >= asked && n->inflight < n->max_inflight)
        claim(n);
    else if ((unsigned)rows < asked)
        find_next(n);
}

static void claim(struct notify *n)
{
    if (n->claiming || n->stopping || n->inflight >= n->max_inflight)
        return;
    char limit[12], lease[12];
    snprintf(limit, sizeof limit, "%u", n->max_inflight - n->inflight);
    snprintf(lease, sizeof lease, "%d", n->s.lease_s);
    const char *channels = n->email_on ? "{email,webhook}" : "{webhook}";
    const char *params[] = {limit, lease, n->instance, channels};
    n->claiming = true;
    db_query(n->pool, "notify_claim", 4, params, claimed, n);
}

/* Sleeps until the next retry or lease end is due, at most poll_ms; soon when outbox rows are
 * held back behind an older transaction, since no NOTIFY will say when they are readable. */
static void next_found(const struct db_result *r, void *arg)
{
    struct notify *n = arg;
    n->finding = false;
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        statement_failed(n, "finding the next due message", r);
        return;
    }
    long long ms = n->s.poll_ms;
    if (!PQgetisnull(r->res, 0, 0)) {
        double due = atof(db_value(r->res, 0, 0)) * 1000.0;
        if (due < (double)ms)
            ms = due < 0 ? 0 : (long long)due + 1;
    }
    if ((n->look_soon || db_value(r->res, 0, 1)[0] == 't') && ms > retry_soon_ms(n))
        ms = retry_soon_ms(n);
    schedule(n, ms);
}

static void find_next(struct notify *n)
{
    if (n->finding || n->stopping)
        return;
    const char *params[] = {n->email_on ? "{email,webhook}" : "{webhook}"};
    n->finding = true;
    db_query(n->pool, "notify_next", 1, params, next_found, n);
}

static void produced(const struct db_result *r, void *arg)
{
    struct notify *n = arg;
    n->producing = false;
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        statement_failed(n, "turning events into messages", r);
        return;
    }
    n->failing = false;
    int count = atoi(db_value(r->res, 0, 0));
    if (n->stopping)
        return;
    /* A full batch, or a wake-up that came while producing: produce again. -1 means another
     * process holds the cursor right now; its messages are claimable by anyone once it
     * commits, and a NOTIFY does not follow that, so look again soon. */
    if (count == PRODUCE_BATCH_N || n->rewake)
        n->again = true;
    if (count < 0) {
        n->look_soon = true;
        schedule(n, retry_soon_ms(n));
    }
    n->rewake = false;
    claim(n);
    if (n->again) {
        n->again = false;
        produce(n);
    }
}

static void produce(struct notify *n)
{
    if (n->stopping)
        return;
    if (n->producing) {
        n->rewake = true;
        return;
    }
    const char *params[] = {PRODUCE_BATCH};
    n->producing = true;
    db_query(n->pool, "notify_produce", 1, params, produced, n);
}

static void stats_done(const struct db_result *r, void *arg)
{
    struct notify *n = arg;
    n->stats_busy = false;
    if (r->status != DB_OK)
        return; /* the gauges keep their last values; db_up tells the operator why */
    for (int i = 0; i < PQntuples(r->res); i++) {
        int ch = strcmp(db_value(r->res, i, 0), "webhook") == 0 ? CH_WEBHOOK : CH_EMAIL;
        n->pending[ch] = atof(db_value(r->res, i, 1));
        n->oldest_s[ch] = atof(db_value(r->res, i, 2));
        n->failed[ch] = atof(db_value(r->res, i, 3));
    }
    n->stats_known = true;
}

static void scheduled(const struct db_result *r, void *arg)
{
    struct notify *n = arg;
    n->scanning = false;
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        statement_failed(n, "making time-driven messages", r);
        return;
    }
    int made = atoi(db_value(r->res, 0, 0));
    if (made > 0) {
        n->scheduled_total += (unsigned long long)made;
        log_info("notifications: %d time-driven message(s) made", made);
        notify_kick(n);
    }
}

/* The time-driven scan, on its own timer (not the delivery rounds, which wake on LISTEN and
 * come at no fixed pace): once per schedule_s from each process, and the database function
 * lets only one of them scan per period. An idle system costs one small statement per
 * period per process. */
static void scan_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct notify *n = arg;
    if (n->scanning || n->stopping)
        return;
    const char *params[] = {n->schedule_args};
    n->scanning = true;
    db_query(n->pool, "notify_schedule", 1, params, scheduled, n);
}

static void hooks_in_use(const struct db_result *r, void *arg)
{
    struct notify *n = arg;
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        n->key_checked = false; /* asked again on the next round */
        return;
    }
    long long count = atoll(db_value(r->res, 0, 0));
    if (count > 0 && !n->dead) {
        log_error("refusing to run: %lld webhook endpoint(s) exist but LOGEER_WEBHOOK_KEY is "
                  "not set, so their secrets can be neither opened nor kept safe; set "
                  "LOGEER_WEBHOOK_KEY (deploy/run.sh keeps one in .local/webhook-key)", count);
        n->dead = true;
        if (n->s.fatal)
            n->s.fatal(n->s.fatal_arg);
    }
}

static void notify_kick(struct notify *n)
{
    if (n->stopping)
        return;
    /* Whatever happens in this round, the next one comes at the latest poll_ms from now. */
    n->last_round_ms = clock_monotonic_ms();
    n->look_soon = false;
    schedule(n, n->s.poll_ms);
    if (!webhook_key_present() && !n->key_checked) {
        n->key_checked = true;
        db_query(n->pool, "notify_hooks_in_use", 0, NULL, hooks_in_use, n);
    }
    produce(n);
    claim(n);
}

/* New outbox rows: a round now, or WAKE_GAP_MS after the last one when that was sooner. */
void notify_wake(void *arg)
{
    struct notify *n = arg;
    if (!n || n->stopping)
        return;
    long long since = clock_monotonic_ms() - n->last_round_ms;
    if (n->last_round_ms > 0 && since >= 0 && since < WAKE_GAP_MS) {
        schedule_within(n, WAKE_GAP_MS - since);
        return;
    }
    notify_kick(n);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct notify *n = arg;
    struct job *pending = n->unrecorded;
    n->unrecorded = NULL;
    while (pending) {
        struct job *j = pending;
        pending = j->next;
        record(j);
    }
    notify_kick(n);
}

/* The gauges cost a query; it runs only while someone reads /metrics (and once at start). */
static void on_stats_timer(evutil_socket_t fd, short what, void *arg)
{
    struct notify *n = arg;
    if ((n->stats_wanted || !n->stats_known) && !n->stats_busy && !n->stopping) {
        n->stats_wanted = false;
        n->stats_busy = true;
        db_query(n->pool, "notify_stats", 0, NULL, stats_done, n);
    }
}

struct notify *notify_new(struct event_base *base, struct db_pool *pool,
                          const struct notify_settings *settings)
{
    struct notify *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->base = base;
    n->pool = pool;
    n->s = *settings;
    snprintf(n->schedule_args, sizeof n->schedule_args,
             "{\"interval_s\":%d,\"reminder_days\":%d,\"stale_days\":%d,\"nudge_hours\":%d}",
             n->s.schedule_s, n->s.reminder_days, n->s.stale_days, n->s.stale_nudge_hours);
    if (!mail_from_parse(n->s.mail_from, n->from_name, sizeof n->from_name, n->from_addr,
                         sizeof n->from_addr)) {
        log_error("LOGEER_MAIL_FROM must be an address or 'Name <address>'");
        free(n);
        return NULL;
    }
    snprintf(n->id_domain, sizeof n->id_domain, "%s", strchr(n->from_addr, '@') + 1);
    bool smtp = n->s.smtp_url && *n->s.smtp_url;
    if (smtp && strncmp(n->s.smtp_url, "smtp://", 7) != 0 &&
        strncmp(n->s.smtp_url, "smtps://", 8) != 0) {
        log_error("LOGEER_SMTP_URL must start with smtp:// or smtps://");
        free(n);
        return NULL;
    }
    if (!smtp && n->s.mail_dir && *n->s.mail_dir) {
        if (mkdir(n->s.mail_dir, 0750) != 0 && access(n->s.mail_dir, W_OK) != 0) {
            log_error("LOGEER_MAIL_DIR %s cannot be created or written", n->s.mail_dir);
            free(n);
            return NULL;
        }
    }
    n->email_on = smtp || (n->s.mail_dir && *n->s.mail_dir);
    if (!n->email_on)
        log_warn("neither LOGEER_SMTP_URL nor LOGEER_MAIL_DIR is set: emails wait in the "
                 "queue until a process that has one delivers them");
    unsigned char r[8];
    if (RAND_bytes(r, sizeof r) != 1) {
        free(n);
        return NULL;
    }
    snprintf(n->instance, sizeof n->instance, "%d-%02x%02x%02x%02x%02x%02x%02x%02x",
             (int)getpid(), r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    /* Two claims per thread keep each thread busy; a claimed message waits at most one other
     * attempt in the queue, so the lease must outlast two attempts or a slow receiver would
     * see a message claimed again while it still waits. */
    n->max_inflight = (unsigned)n->s.threads * 2;
    if (n->s.lease_s <= 2 * n->s.timeout_s) {
        log_error("LOGEER_NOTIFY_LEASE_S must be more than twice LOGEER_NOTIFY_TIMEOUT_S");
        free(n);
        return NULL;
    }
    n->workers = workers_new(base, n->s.threads);
    n->timer = evtimer_new(base, on_timer, n);
    n->stats_timer = event_new(base, -1, EV_PERSIST, on_stats_timer, n);
    n->due_timer = event_new(base, -1, EV_PERSIST, scan_due, n);
    if (!n->workers || !n->timer || !n->stats_timer || !n->due_timer) {
        notify_stop(n);
        notify_free(n);
        return NULL;
    }
    /* The first round at once: it produces what the outbox gathered while no process ran. */
    schedule(n, 0);
    struct timeval st = {STATS_EVERY_MS / 1000, (STATS_EVERY_MS % 1000) * 1000};
    event_add(n->stats_timer, &st);
    event_active(n->stats_timer, EV_TIMEOUT, 0); /* the gauges are filled from the start */
    struct timeval due = {n->s.schedule_s, 0};
    event_add(n->due_timer, &due);
    return n;
}

int notify_send_account_mail(struct notify *n, const char *kind, const char *to,
                             const char *link, int valid_minutes)
{
    if (!n || !n->workers || n->stopping || !n->email_on)
        return -1;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->n = n;
    j->direct = true;
    j->ch = CH_EMAIL;
    j->rcpt = RCPT_OK;
    j->created = (long long)time(NULL);
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) {
        free(j);
        return -1;
    }
    /* A fresh id for the Message-ID, shaped like the stored messages' uuids. */
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(j->id, sizeof j->id,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
             r[15]);
    cJSON *data = cJSON_CreateObject();
    char minutes[16];
    snprintf(minutes, sizeof minutes, "%d", valid_minutes);
    if (data) {
        cJSON_AddStringToObject(data, "link", link);
        cJSON_AddStringToObject(data, "valid_minutes", minutes);
        j->data = cJSON_PrintUnformatted(data);
        cJSON_Delete(data);
    }
    j->kind = strdup(kind);
    j->to = strdup(to);
    j->body = strdup("");
    j->sealed = strdup("");
    j->key_id = strdup("");
    if (!j->data || !j->kind || !j->to || !j->body || !j->sealed || !j->key_id) {
        job_free(j);
        return -1;
    }
    n->inflight++;
    workers_submit(n->workers, job_work, job_done, j);
    return 0;
}

static void drain_now(evutil_socket_t fd, short what, void *arg)
{
    drain_check(arg);
}

void notify_drain(struct notify *n, void (*done)(void *), void *arg)
{
    if (!n) {
        done(arg);
        return;
    }
    n->stopping = true;
    event_del(n->timer);
    event_del(n->stats_timer);
    event_del(n->due_timer);
    n->drained = done;
    n->drained_arg = arg;
    if ((n->inflight == 0 && !n->claiming) || !n->workers) {
        /* From the loop, never inside the caller's own callback. */
        n->drain_ev = evtimer_new(n->base, drain_now, n);
        struct timeval tv = {0, 0};
        if (n->drain_ev)
            evtimer_add(n->drain_ev, &tv);
        else
            drain_finish(n);
    }
}

void notify_stop(struct notify *n)
{
    if (!n)
        return;
    n->stopping = true;
    if (n->timer)
        event_del(n->timer);
    if (n->stats_timer)
        event_del(n->stats_timer);
    if (n->due_timer)
        event_del(n->due_timer);
    if (n->workers) {
        workers_free(n->workers); /* runs job_done for every attempt in flight */
        n->workers = NULL;
    }
    struct job *pending = n->unrecorded;
    n->unrecorded = NULL;
    while (pending) {
        struct job *j = pending;
        pending = j->next;
        record(j);
    }
}

void notify_free(struct notify *n)
{
    if (!n)
        return;
    while (n->unrecorded) {
        struct job *j = n->unrecorded;
        n->unrecorded = j->next;
        job_free(j);
    }
    if (n->timer)
        event_free(n->timer);
    if (n->stats_timer)
        event_free(n->stats_timer);
    if (n->due_timer)
        event_free(n->due_timer);
    if (n->drain_ev)
        event_free(n->drain_ev);
    free(n);
}

void notify_metrics(struct notify *n, struct evbuffer *out)
{
    static const char *const outcome_names[NOUTCOMES] = {"sent", "retry", "failed"};
    if (!n)
        return;
    n->stats_wanted = true;
    const char *fam = "logeer_notify_queue_depth";
    evbuffer_add_printf(out, "# HELP %s Messages waiting to be delivered (pending), by channel; "
                             "refreshed every few seconds.\n# TYPE %s gauge\n", fam, fam);
    if (n->stats_known)
        for (int c = 0; c < NCHANNELS; c++)
            evbuffer_add_printf(out, "%s{channel=\"%s\"} %.0f\n", fam, channel_names[c],
                                n->pending[c]);
    fam = "logeer_notify_oldest_pending_seconds";
    evbuffer_add_printf(out, "# HELP %s Age of the oldest message still pending, by channel; 0 "
                             "when none.\n# TYPE %s gauge\n", fam, fam);
    if (n->stats_known)
        for (int c = 0; c < NCHANNELS; c++)
            evbuffer_add_printf(out, "%s{channel=\"%s\"} %.3f\n", fam, channel_names[c],
                                n->oldest_s[c]);
    fam = "logeer_notify_failed_messages";
    evbuffer_add_printf(out, "# HELP %s Messages that gave up (state failed), by channel.\n"
                             "# TYPE %s gauge\n", fam, fam);
    if (n->stats_known)
        for (int c = 0; c < NCHANNELS; c++)
            evbuffer_add_printf(out, "%s{channel=\"%s\"} %.0f\n", fam, channel_names[c],
                                n->failed[c]);
    fam = "logeer_notify_scheduled_total";
    evbuffer_add_printf(out, "# HELP %s Time-driven messages (reminders, stale nudges, "
                             "capacity.stale, weekly digests) this process made.\n"
                             "# TYPE %s counter\n%s %llu\n", fam, fam, fam, n->scheduled_total);
    fam = "logeer_notify_attempts_total";
    evbuffer_add_printf(out, "# HELP %s Delivery attempts by this process, by channel and "
                             "outcome (sent, retry, failed).\n# TYPE %s counter\n", fam, fam);
    for (int c = 0; c < NCHANNELS; c++)
        for (int o = 0; o < NOUTCOMES; o++)
            evbuffer_add_printf(out, "%s{channel=\"%s\",outcome=\"%s\"} %llu\n", fam,
                                channel_names[c], outcome_names[o], n->attempts_total[c][o]);
}
