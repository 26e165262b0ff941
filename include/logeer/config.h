/* config: the service's settings from the environment, overridden by command-line flags
 * (spec section 7). Read once at start-up; afterwards read-only. */
#ifndef LOGEER_CONFIG_H
#define LOGEER_CONFIG_H

#include <stdbool.h>

struct config {
    char *database_url;     /* libpq conninfo; LOGEER_DATABASE_URL */
    char *replica_url;      /* LOGEER_REPLICA_URL: a standby for heavy reads, or NULL */
    char *listen;           /* host:port; LOGEER_LISTEN, default 127.0.0.1:8080 */
    char *tls_cert;         /* LOGEER_TLS_CERT; with tls_key, serve HTTPS only */
    char *tls_key;          /* LOGEER_TLS_KEY */
    char *migrations_dir;   /* LOGEER_MIGRATIONS_DIR, default <source>/migrations */
    char *seed_file;        /* LOGEER_SEED_FILE, default <source>/deploy/seed/drenthe_demo.sql */
    char *web_dir;          /* LOGEER_WEB_DIR: web pages, default <source>/web */
    int account_token_ttl_s; /* LOGEER_ACCOUNT_TOKEN_TTL: reset and verify links, default 1800 */
    int hold_ttl_s;         /* LOGEER_HOLD_TTL, default 900 */
    int offer_ttl_s;        /* LOGEER_OFFER_TTL: a waitlist offer's hold, default 24 h */
    int max_open_stays;     /* LOGEER_MAX_OPEN_STAYS: a caregiver's open requests, default 3 */
    int guarantee_days;     /* LOGEER_GUARANTEE_DAYS: planned-stay guarantee, 42; 0 = off */
    int guarantee_escalate_days; /* LOGEER_GUARANTEE_ESCALATE_DAYS: deadline before check-in, 14 */
    int guarantee_check_s;  /* LOGEER_GUARANTEE_CHECK_S: escalation job period, default 60 */
    int index_reconcile_s;  /* LOGEER_INDEX_RECONCILE_S: every night read again, default 300 */
    int stale_days;         /* LOGEER_STALE_DAYS, default 7 */
    int db_pool_size;       /* LOGEER_DB_POOL_SIZE: the requests' connections, default 4 */
    int db_background_pool_size; /* LOGEER_DB_BACKGROUND_POOL_SIZE: the jobs' connections, 2 */
    int session_ttl_s;      /* LOGEER_SESSION_TTL: absolute session lifetime, default 12 h */
    int session_idle_s;     /* LOGEER_SESSION_IDLE: idle expiry, default 30 min */
    char *mfa_required_roles; /* LOGEER_MFA_REQUIRED_ROLES: roles that must prove a second
                               * factor; default provider,coordinator,admin; "" = nobody */
    unsigned mfa_roles;     /* the same as role bits, set by serve at start-up */
    int step_up_s;          /* LOGEER_STEP_UP_S: a sensitive action needs a factor this recent */
    int visitor_rate;       /* LOGEER_VISITOR_RATE: a visitor's requests a minute, 60; 0 = off */
    int visitor_burst;      /* LOGEER_VISITOR_BURST: a visitor's requests at once, default 30 */
    int open_rate;          /* LOGEER_OPEN_RATE: open figures per address a minute, 120; 0 = off */
    int open_burst;         /* LOGEER_OPEN_BURST: open figures at once, default 60 */
    int retention_days;     /* LOGEER_RETENTION_DAYS: guest data kept after a stay ends, 365 */
    int http_header_timeout_ms; /* LOGEER_HTTP_HEADER_TIMEOUT_MS: whole request head, 10000 */
    int http_body_timeout_ms;   /* LOGEER_HTTP_BODY_TIMEOUT_MS: body after the head, 30000 */
    int http_idle_timeout_ms;   /* LOGEER_HTTP_IDLE_TIMEOUT_MS: keep-alive idle, 60000 */
    char *log_level;        /* LOGEER_LOG_LEVEL, default info */
    /* Notifications (docs/operations.md) */
    char *smtp_url;         /* LOGEER_SMTP_URL: smtp[s]://[user:password@]host[:port] */
    char *smtp_starttls;    /* LOGEER_SMTP_STARTTLS: "try" (default) or "required" */
    char *smtp_ca;          /* LOGEER_SMTP_CA: CA file that verifies the SMTP server */
    char *mail_from;        /* LOGEER_MAIL_FROM */
    char *mail_dir;         /* LOGEER_MAIL_DIR: one .eml per message when there is no SMTP */
    char *public_url;       /* LOGEER_PUBLIC_URL: base of links in messages */
    char *webhook_key;      /* LOGEER_WEBHOOK_KEY: seals webhook secrets at rest */
    int webhook_allow_private; /* LOGEER_WEBHOOK_ALLOW_PRIVATE: 1 lets webhooks reach private nets */
    int notify_workers;     /* LOGEER_NOTIFY_WORKERS: sending threads, default 2 */
    int workers;            /* LOGEER_WORKERS: serving processes sharing the port, default 1 */
    int notify_poll_ms;     /* LOGEER_NOTIFY_POLL_MS: longest idle sleep, default 60000 */
    int webhook_disable_after_s; /* LOGEER_WEBHOOK_DISABLE_AFTER_S: failing that long, default 5 d */
    int webhook_rotation_grace_s; /* LOGEER_WEBHOOK_ROTATION_GRACE_S: old secret signs, 24 h */
    int notify_retry_base_s; /* LOGEER_NOTIFY_RETRY_BASE_S: first retry delay, default 30 */
    int notify_retry_max_s; /* LOGEER_NOTIFY_RETRY_MAX_S: longest retry delay, default 6 h */
    int notify_give_up_s;   /* LOGEER_NOTIFY_GIVE_UP_S: then failed, default 26 h */
    int notify_lease_s;     /* LOGEER_NOTIFY_LEASE_S: a claim's lifetime, default 60 */
    int notify_timeout_s;   /* LOGEER_NOTIFY_TIMEOUT_S: one attempt at most, default 10 */
    int notify_schedule_s;  /* LOGEER_NOTIFY_SCHEDULE_S: time-driven scan period, default 300 */
    int reminder_days;      /* LOGEER_REMINDER_DAYS: reminder before arrival, default 2 */
    int stale_nudge_hours;  /* LOGEER_STALE_NUDGE_HOURS: nudge before counts go stale, 24 */
};

/* Fills cfg from the environment and then from "--name value" / "--name=value" flags in argv
 * (the flags a command does not know are left for it: they are returned compacted in argv and
 * *argc). Returns 0, or -1 with a message on stderr for a malformed value. */
__attribute__((warn_unused_result))
int config_load(struct config *cfg, int *argc, char **argv);
void config_free(struct config *cfg);
/* True when browsers reach this service over HTTPS: logeerd's own TLS, or LOGEER_PUBLIC_URL
 * starting with https:// (TLS at a reverse proxy in front). Cookies are then Secure. */
bool config_https(const struct config *cfg);

#endif
