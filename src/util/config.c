/* config: environment variables first, then command-line flags. Validates numbers so that a
 * typo in a unit file fails loudly at start-up instead of running with a surprise default. */
#include "logeer/config.h"
#include "logeer/auth.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef LOGEER_SOURCE_DIR
#define LOGEER_SOURCE_DIR "."
#endif

enum opt_type { OPT_STRING, OPT_INT };

struct option_def {
    const char *flag;  /* without the leading "--" */
    const char *env;
    enum opt_type type;
    size_t offset;     /* of the field in struct config */
    int min, max;      /* for OPT_INT */
    bool empty_ok;     /* an empty value in the environment is a value, not "unset" */
};

#define STR_OPT(f, e, field) {f, e, OPT_STRING, offsetof(struct config, field), 0, 0, false}
#define STR_OPT_EMPTY(f, e, field) {f, e, OPT_STRING, offsetof(struct config, field), 0, 0, true}
#define INT_OPT(f, e, field, lo, hi) {f, e, OPT_INT, offsetof(struct config, field), lo, hi, false}

static const struct option_def options[] = {
    STR_OPT("database-url", "LOGEER_DATABASE_URL", database_url),
    STR_OPT("replica-url", "LOGEER_REPLICA_URL", replica_url),
    STR_OPT("listen", "LOGEER_LISTEN", listen),
    STR_OPT("tls-cert", "LOGEER_TLS_CERT", tls_cert),
    STR_OPT("tls-key", "LOGEER_TLS_KEY", tls_key),
    STR_OPT("migrations-dir", "LOGEER_MIGRATIONS_DIR", migrations_dir),
    STR_OPT("seed-file", "LOGEER_SEED_FILE", seed_file),
    STR_OPT("web-dir", "LOGEER_WEB_DIR", web_dir),
    STR_OPT("log-level", "LOGEER_LOG_LEVEL", log_level),
    STR_OPT("smtp-url", "LOGEER_SMTP_URL", smtp_url),
    STR_OPT("smtp-starttls", "LOGEER_SMTP_STARTTLS", smtp_starttls),
    STR_OPT("smtp-ca", "LOGEER_SMTP_CA", smtp_ca),
    STR_OPT("mail-from", "LOGEER_MAIL_FROM", mail_from),
    STR_OPT("mail-dir", "LOGEER_MAIL_DIR", mail_dir),
    STR_OPT("public-url", "LOGEER_PUBLIC_URL", public_url),
    STR_OPT("webhook-key", "LOGEER_WEBHOOK_KEY", webhook_key),
    STR_OPT_EMPTY("mfa-required-roles", "LOGEER_MFA_REQUIRED_ROLES", mfa_required_roles),
    INT_OPT("step-up-s", "LOGEER_STEP_UP_S", step_up_s, 30, 86400),
    INT_OPT("webhook-allow-private", "LOGEER_WEBHOOK_ALLOW_PRIVATE", webhook_allow_private, 0, 1),
    INT_OPT("notify-workers", "LOGEER_NOTIFY_WORKERS", notify_workers, 1, 64),
    INT_OPT("workers", "LOGEER_WORKERS", workers, 1, 64),
    /* Small values are for tests, which want retries and polls within seconds. */
    INT_OPT("notify-poll-ms", "LOGEER_NOTIFY_POLL_MS", notify_poll_ms, 50, 600000),
    INT_OPT("webhook-disable-after-s", "LOGEER_WEBHOOK_DISABLE_AFTER_S",
            webhook_disable_after_s, 1, 90 * 86400),
    INT_OPT("webhook-rotation-grace-s", "LOGEER_WEBHOOK_ROTATION_GRACE_S",
            webhook_rotation_grace_s, 0, 7 * 86400),
    INT_OPT("notify-retry-base-s", "LOGEER_NOTIFY_RETRY_BASE_S", notify_retry_base_s, 1, 86400),
    INT_OPT("notify-retry-max-s", "LOGEER_NOTIFY_RETRY_MAX_S", notify_retry_max_s, 1, 86400),
    INT_OPT("notify-give-up-s", "LOGEER_NOTIFY_GIVE_UP_S", notify_give_up_s, 1, 30 * 86400),
    INT_OPT("notify-lease-s", "LOGEER_NOTIFY_LEASE_S", notify_lease_s, 3, 3600),
    INT_OPT("notify-timeout-s", "LOGEER_NOTIFY_TIMEOUT_S", notify_timeout_s, 1, 300),
    /* Seconds from 1: tests prove that a link expires without waiting half an hour. */
    INT_OPT("account-token-ttl", "LOGEER_ACCOUNT_TOKEN_TTL", account_token_ttl_s, 1, 86400),
    INT_OPT("hold-ttl", "LOGEER_HOLD_TTL", hold_ttl_s, 1, 86400),
    /* Up to the week the database functions accept for any hold; seconds from 1 for tests. */
    INT_OPT("offer-ttl", "LOGEER_OFFER_TTL", offer_ttl_s, 1, 604800),
    INT_OPT("notify-schedule-s", "LOGEER_NOTIFY_SCHEDULE_S", notify_schedule_s, 1, 86400),
    INT_OPT("reminder-days", "LOGEER_REMINDER_DAYS", reminder_days, 1, 30),
    INT_OPT("stale-nudge-hours", "LOGEER_STALE_NUDGE_HOURS", stale_nudge_hours, 1, 24 * 3650),
    INT_OPT("max-open-stays", "LOGEER_MAX_OPEN_STAYS", max_open_stays, 1, 1000),
    INT_OPT("guarantee-days", "LOGEER_GUARANTEE_DAYS", guarantee_days, 0, 3650),
    INT_OPT("guarantee-escalate-days", "LOGEER_GUARANTEE_ESCALATE_DAYS", guarantee_escalate_days,
            0, 3650),
    /* Seconds from 1: tests make deadlines arrive and want the job to see them at once. */
    INT_OPT("guarantee-check-s", "LOGEER_GUARANTEE_CHECK_S", guarantee_check_s, 1, 86400),
    /* Seconds from 1: a test proves that a lost notification is repaired. */
    INT_OPT("index-reconcile-s", "LOGEER_INDEX_RECONCILE_S", index_reconcile_s, 1, 86400),
    INT_OPT("stale-days", "LOGEER_STALE_DAYS", stale_days, 1, 3650),
    INT_OPT("db-pool-size", "LOGEER_DB_POOL_SIZE", db_pool_size, 1, 256),
    INT_OPT("db-background-pool-size", "LOGEER_DB_BACKGROUND_POOL_SIZE", db_background_pool_size,
            1, 64),
    /* Seconds, not minutes, as the lower bound: tests prove expiry with small values. */
    INT_OPT("session-ttl", "LOGEER_SESSION_TTL", session_ttl_s, 1, 30 * 86400),
    INT_OPT("session-idle", "LOGEER_SESSION_IDLE", session_idle_s, 1, 30 * 86400),
    /* Per client address (IPv6 per /64) and per process; 0 turns the limit off. */
    INT_OPT("visitor-rate", "LOGEER_VISITOR_RATE", visitor_rate, 0, 1000000),
    INT_OPT("visitor-burst", "LOGEER_VISITOR_BURST", visitor_burst, 1, 1000000),
    /* The open figures' own bucket (open_data.c), apart from the visitors' search. */
    INT_OPT("open-rate", "LOGEER_OPEN_RATE", open_rate, 0, 1000000),
    INT_OPT("open-burst", "LOGEER_OPEN_BURST", open_burst, 1, 1000000),
    INT_OPT("retention-days", "LOGEER_RETENTION_DAYS", retention_days, 0, 36500),
    /* Milliseconds, from 100 ms (tests prove slow-client handling with small values). */
    INT_OPT("http-header-timeout-ms", "LOGEER_HTTP_HEADER_TIMEOUT_MS", http_header_timeout_ms,
            100, 3600000),
    INT_OPT("http-body-timeout-ms", "LOGEER_HTTP_BODY_TIMEOUT_MS", http_body_timeout_ms, 100,
            3600000),
    INT_OPT("http-idle-timeout-ms", "LOGEER_HTTP_IDLE_TIMEOUT_MS", http_idle_timeout_ms, 100,
            3600000),
};
#define NOPTIONS (sizeof options / sizeof options[0])

static int set_option(struct config *cfg, const struct option_def *o, const char *value,
                      const char *origin)
{
    char *field = (char *)cfg + o->offset;
    if (o->type == OPT_STRING) {
        char **s = (char **)(void *)field;
        free(*s);
        *s = strdup(value);
        return *s ? 0 : -1;
    }
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0' || v < o->min || v > o->max) {
        fprintf(stderr, "logeerd: %s: '%s' is not a whole number from %d to %d\n", origin, value,
                o->min, o->max);
        return -1;
    }
    *(int *)(void *)field = (int)v;
    return 0;
}

static void set_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->database_url = strdup("");
    cfg->listen = strdup("127.0.0.1:8080");
    cfg->migrations_dir = strdup(LOGEER_SOURCE_DIR "/migrations");
    cfg->seed_file = strdup(LOGEER_SOURCE_DIR "/deploy/seed/drenthe_demo.sql");
    cfg->web_dir = strdup(LOGEER_SOURCE_DIR "/web");
    cfg->log_level = strdup("info");
    cfg->hold_ttl_s = 900;
    cfg->offer_ttl_s = 24 * 3600;
    cfg->notify_schedule_s = 300;
    cfg->reminder_days = 2;
    cfg->stale_nudge_hours = 24;
    cfg->account_token_ttl_s = 30 * 60;
    cfg->max_open_stays = 3;
    cfg->guarantee_days = 42;
    cfg->guarantee_escalate_days = 14;
    cfg->guarantee_check_s = 60;
    cfg->index_reconcile_s = 300;
    cfg->stale_days = 7;
    cfg->db_pool_size = 4;
    cfg->db_background_pool_size = 2;
    cfg->session_ttl_s = 12 * 3600;
    cfg->session_idle_s = 30 * 60;
    /* NEN 7510: whoever sees health data signs in with two factors. */
    cfg->mfa_required_roles = strdup("provider,coordinator,admin");
    cfg->step_up_s = 15 * 60;
    cfg->retention_days = 365;
    cfg->visitor_rate = 60;
    cfg->visitor_burst = 30;
    cfg->open_rate = 120;
    cfg->open_burst = 60;
    cfg->http_header_timeout_ms = 10000;
    cfg->http_body_timeout_ms = 30000;
    cfg->http_idle_timeout_ms = 60000;
    cfg->smtp_starttls = strdup("try");
    cfg->mail_from = strdup("Logeerzorg Drenthe <noreply@logeerzorg.invalid>");
    cfg->public_url = strdup("http://127.0.0.1:8080");
    cfg->notify_workers = 2;
    cfg->workers = 1;
    /* New outbox rows wake the worker (LISTEN) and it sleeps until its next retry is due, so
     * this is only the longest sleep between rounds: a safety net, not the pace of work. */
    cfg->notify_poll_ms = 60000;
    cfg->webhook_disable_after_s = 5 * 86400;
    cfg->webhook_rotation_grace_s = 86400;
    cfg->notify_retry_base_s = 30;
    cfg->notify_retry_max_s = 6 * 3600;
    cfg->notify_give_up_s = 26 * 3600; /* Standard Webhooks: retry for at least a day */
    cfg->notify_lease_s = 60;
    cfg->notify_timeout_s = 10;
}

static const struct option_def *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strlen(options[i].flag) == len && strncmp(options[i].flag, name, len) == 0)
            return &options[i];
    return NULL;
}

int config_load(struct config *cfg, int *argc, char **argv)
{
    set_defaults(cfg);
    for (size_t i = 0; i < NOPTIONS; i++) {
        const char *v = getenv(options[i].env);
        if (v && (*v || options[i].empty_ok) && set_option(cfg, &options[i], v, options[i].env) != 0)
            return -1;
    }
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            argv[out++] = argv[i];
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct option_def *o = find_flag(name, len);
        if (!o) {
            argv[out++] = argv[i];
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < *argc ? argv[++i] : NULL);
        if (!value) {
            fprintf(stderr, "logeerd: --%s needs a value\n", o->flag);
            return -1;
        }
        if (set_option(cfg, o, value, a) != 0)
            return -1;
    }
    argv[out] = NULL;
    *argc = out;
    if (auth_roles_parse(cfg->mfa_required_roles, &cfg->mfa_roles) != 0) {
        fprintf(stderr, "logeerd: LOGEER_MFA_REQUIRED_ROLES: '%s' is not a list of roles "
                        "(caregiver, provider, referrer, coordinator, admin)\n",
                cfg->mfa_required_roles);
        return -1;
    }
    return 0;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (options[i].type == OPT_STRING) {
            char **s = (char **)(void *)((char *)cfg + options[i].offset);
            free(*s);
            *s = NULL;
        }
}

bool config_https(const struct config *cfg)
{
    return (cfg->tls_cert && cfg->tls_key) ||
           (cfg->public_url && strncasecmp(cfg->public_url, "https://", 8) == 0);
}
