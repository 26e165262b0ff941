/* main: the logeerd command line (spec section 7): migrate, seed-demo, user add, serve.
 * serve wires the modules together on one libevent loop and owns start-up and shutdown order;
 * it contains no request logic. */
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/api.h"
#include "logeer/assets.h"
#include "logeer/config.h"
#include "logeer/core.h"
#include "logeer/date.h"
#include "logeer/db.h"
#include "logeer/events.h"
#include "logeer/http.h"
#include "logeer/log.h"
#include "logeer/loop_lag.h"
#include "logeer/metrics.h"
#include "logeer/migrate.h"
#include "logeer/notify.h"
#include "logeer/outbox.h"
#include "logeer/ratelimit.h"
#include "logeer/retention.h"
#include "logeer/search_log.h"
#include "logeer/session_cache.h"
#include "logeer/tls.h"
#include "logeer/webhook.h"
#include "logeer/workers.h"

#ifndef LOGEER_VERSION
#define LOGEER_VERSION "dev"
#endif

/* Password hashing is the only CPU-heavy work; two threads match the target machines. */
#define HASH_WORKERS 2
/* The index covers yesterday (stays that began last night) through three years ahead, more
 * than any pool's booking horizon. */
#define INDEX_DAYS 1100
#define SWEEP_INTERVAL_MS 1000
#define RETENTION_PERIOD_S 86400

static void usage(void)
{
    fprintf(stderr,
            "logeerd %s: logeerzorg bed-availability booking engine\n\n"
            "usage:\n"
            "  logeerd migrate                  apply pending migrations\n"
            "  logeerd seed-demo                load the Drenthe demo data (idempotent)\n"
            "  logeerd user add --email E --role R [--provider ID] [--municipality GM....]\n"
            "                                   add a user; password read from stdin\n"
            "  logeerd serve                    run the service\n\n"
            "settings (environment, or --flag value):\n"
            "  LOGEER_DATABASE_URL --database-url   libpq connection string\n"
            "  LOGEER_REPLICA_URL  --replica-url    a standby for reports, exports, open figures\n"
            "  LOGEER_LISTEN       --listen         host:port (default 127.0.0.1:8080)\n"
            "  LOGEER_TLS_CERT / LOGEER_TLS_KEY     serve HTTPS only with this certificate\n"
            "  LOGEER_HOLD_TTL     --hold-ttl       seconds a hold lasts (default 900)\n"
            "  LOGEER_OFFER_TTL    --offer-ttl      seconds a waitlist offer lasts (86400)\n"
            "  LOGEER_MAX_OPEN_STAYS --max-open-stays  a caregiver's open requests (default 3)\n"
            "  LOGEER_GUARANTEE_DAYS --guarantee-days  planned-stay guarantee, days ahead (42; 0 off)\n"
            "  LOGEER_GUARANTEE_ESCALATE_DAYS        escalate this many days before check-in (14)\n"
            "  LOGEER_GUARANTEE_CHECK_S              seconds between escalation checks (60)\n"
            "  LOGEER_INDEX_RECONCILE_S              seconds between full reloads of the index (300)\n"
            "  LOGEER_STALE_DAYS   --stale-days     days before capacity counts are stale (7)\n"
            "  LOGEER_DB_POOL_SIZE --db-pool-size   database connections for requests (default 4)\n"
            "  LOGEER_DB_BACKGROUND_POOL_SIZE       connections for the background jobs (default 2)\n"
            "  LOGEER_WORKERS      --workers        serving processes on the one port (default 1)\n"
            "  LOGEER_SESSION_TTL / LOGEER_SESSION_IDLE  session lifetime / idle limit, seconds\n"
            "  LOGEER_MFA_REQUIRED_ROLES  roles that need a second factor\n"
            "                      (provider,coordinator,admin; \"\" = none: tests and demos only)\n"
            "  LOGEER_STEP_UP_S    --step-up-s      sensitive actions need a factor this recent (900)\n"
            "  LOGEER_RETENTION_DAYS --retention-days  guest data kept after a stay ends (365)\n"
            "  LOGEER_HTTP_HEADER_TIMEOUT_MS, _BODY_, _IDLE_  slow-client limits, ms\n"
            "  LOGEER_SMTP_URL, LOGEER_MAIL_FROM, LOGEER_MAIL_DIR, LOGEER_PUBLIC_URL  email\n"
            "  LOGEER_WEBHOOK_KEY (required for webhooks), LOGEER_WEBHOOK_*, LOGEER_NOTIFY_*\n"
            "  LOGEER_REMINDER_DAYS, LOGEER_STALE_NUDGE_HOURS  reminder (2 days), stale nudge (24 h)\n"
            "  LOGEER_LOG_LEVEL    --log-level      debug, info, warn, error\n"
            "  LOGEER_MIGRATIONS_DIR, LOGEER_SEED_FILE, LOGEER_WEB_DIR (web pages)\n",
            LOGEER_VERSION);
}

static void on_notify_drained(void *arg)
{
    event_base_loopexit(arg, NULL);
}

/* Both logs are written; the notification attempts in flight finish and are recorded
 * while the loop still runs, so none of them is sent twice after a restart. */
static void on_search_log_written(void *arg)
{
    struct app *app = arg;
    notify_drain(app->notify, on_notify_drained, app->base);
}

/* The search counts go on the background pool too: the loop must not stop, and the pool
 * close, under a statement still queued there. */
static void on_access_log_written(void *arg)
{
    struct app *app = arg;
    search_log_drain(app->search_log, on_search_log_written, app);
}

/* Requests are answered: their access-log rows still waiting for a batch are written first. */
static void on_shutdown_done(void *arg)
{
    api_access_log_flush(arg, on_access_log_written, arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct app *app = arg;
    if (app->shutting_down)
        return;
    log_info("received signal %d: finishing in-flight requests, then exiting", (int)sig);
    app->shutting_down = true;
    /* A busy minute's counts wait for the minute to end: send them while requests finish. */
    search_log_flush_all(app->search_log);
    http_server_shutdown(app->http, on_shutdown_done, app);
}

/* A module refuses to run on (notify: webhook endpoints without LOGEER_WEBHOOK_KEY): stop
 * serving the same way as on SIGTERM, and exit 1. */
static void on_fatal(void *arg)
{
    struct app *app = arg;
    app->fatal = true;
    if (app->shutting_down)
        return;
    app->shutting_down = true;
    http_server_shutdown(app->http, on_shutdown_done, app);
}

static struct http_limits default_limits(const struct config *cfg)
{
    struct http_limits l = {
        .max_body = 1024 * 1024,
        .max_header_bytes = 16 * 1024,
        .max_headers = 100,
        .header_timeout_ms = (unsigned)cfg->http_header_timeout_ms,
        .body_timeout_ms = (unsigned)cfg->http_body_timeout_ms,
        .idle_timeout_ms = (unsigned)cfg->http_idle_timeout_ms,
        .write_timeout_ms = 30000,
        .max_connections = 4096,
    };
    return l;
}

/* --workers N: the other N - 1 serving processes, started by the first one, which stops them
 * when it stops. */
static pid_t worker_pids[64];
static int nworker_pids;

/* Forks the other workers before any thread, connection or index exists, so that each is a
 * whole server of its own: its own loop, database connections, LISTEN connection and index,
 * kept in sync like separately started processes on one database (tested by
 * test_multi_process). The kernel spreads connections over them (SO_REUSEPORT). Returns
 * false in a worker, true in the first process. */
static bool fork_workers(int workers)
{
    pid_t parent = getpid();
    for (int i = 1; i < workers && nworker_pids < (int)(sizeof worker_pids / sizeof *worker_pids); i++) {
        pid_t pid = fork();
        if (pid < 0) {
            log_error("cannot start worker %d: %s", i + 1, strerror(errno));
            break;
        }
        if (pid == 0) {
            /* A worker never outlives the first process, even when that one is killed. */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(0);
            nworker_pids = 0;
            return false;
        }
        worker_pids[nworker_pids++] = pid;
    }
    return true;
}

/* The first process has stopped serving: stop the others and wait for them. Exit code 0 only
 * when every worker stopped cleanly too. */
static int stop_workers(int rc)
{
    for (int i = 0; i < nworker_pids; i++)
        kill(worker_pids[i], SIGTERM);
    for (int i = 0; i < nworker_pids; i++) {
        int status = 0;
        if (waitpid(worker_pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            rc = rc ? rc : 1;
    }
    nworker_pids = 0;
    return rc;
}

static int serve_one(const struct config *cfg);

static int serve(const struct config *cfg)
{
    if (cfg->workers > 1 && fork_workers(cfg->workers)) {
        log_info("serving from %d processes on %s", nworker_pids + 1, cfg->listen);
        return stop_workers(serve_one(cfg));
    }
    return serve_one(cfg);
}

static int serve_one(const struct config *cfg)
{
    int schema_version = migrations_latest(cfg->migrations_dir);
    if (schema_version < 0) {
        log_error("cannot read migrations from %s (set LOGEER_MIGRATIONS_DIR)", cfg->migrations_dir);
        return 1;
    }
    void *ssl_ctx = NULL;
    if (cfg->tls_cert && cfg->tls_key) {
        ssl_ctx = tls_server_context(cfg->tls_cert, cfg->tls_key);
        if (!ssl_ctx)
            return 1;
    } else if (cfg->tls_cert || cfg->tls_key) {
        log_error("set both LOGEER_TLS_CERT and LOGEER_TLS_KEY, or neither");
        return 1;
    }
    /* Nights are Dutch nights: the database functions use Europe/Amsterdam too. */
    setenv("TZ", "Europe/Amsterdam", 1);
    tzset();
    evthread_use_pthreads();
    /* libcurl's global state before any thread exists (notify's workers send with it). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        log_error("cannot initialise libcurl");
        return 1;
    }
    webhook_key_init(cfg->webhook_key);
    const unsigned sees_health_data = ROLE_PROVIDER | ROLE_COORDINATOR | ROLE_ADMIN;
    if ((cfg->mfa_roles & sees_health_data) != sees_health_data)
        log_warn("LOGEER_MFA_REQUIRED_ROLES='%s': some staff who see health data sign in with a "
                 "password alone; only for tests and local demos",
                 cfg->mfa_required_roles);
    /* TOTP secrets are sealed under the same key as webhook secrets: without it nobody can
     * set up TOTP, and a role that must have a second factor cannot get past set-up. */
    if (cfg->mfa_roles && !webhook_key_present())
        log_warn("LOGEER_WEBHOOK_KEY is not set: TOTP cannot be set up, so staff whose role "
                 "needs a second factor (LOGEER_MFA_REQUIRED_ROLES) can sign in only with a "
                 "passkey");
    struct app app = {0};
    struct sweeper *sweeper = NULL;
    struct guarantee_job *guarantee = NULL;
    struct retention *retention = NULL;
    app.cfg = cfg;
    app.schema_version = schema_version;
    if (ssl_ctx && (app.tls_not_after = tls_certificate_not_after(ssl_ctx)) < 0) {
        log_warn("cannot read the TLS certificate's expiry time; it is not in /metrics");
        app.tls_not_after = 0;
    }
    app.base = event_base_new();
    app.metrics = metrics_new();
    app.workers = workers_new(app.base, HASH_WORKERS);
    /* A test clock moves "today" before the index is made, so that both start on one day. */
    const char *clock_file = getenv("LOGEER_TEST_CLOCK_FILE");
    if (clock_file && *clock_file) {
        log_warn("LOGEER_TEST_CLOCK_FILE is set: the calendar follows %s (%d days moved); a "
                 "test setting, never for a real service", clock_file,
                 date_test_clock_read(clock_file));
    }
    app.index = core_index_new(date_today_local() - CORE_INDEX_DAYS_BEFORE, INDEX_DAYS);
    /* A waitlist offer's lifetime travels as a session setting: every database function that
     * offers freed nights reads it there (migration 0023), whichever request or job frees them. */
    char db_settings[64];
    snprintf(db_settings, sizeof db_settings, "-c logeer.offer_ttl_s=%d", cfg->offer_ttl_s);
    /* read_write: after a failover the multi-host conninfo may lead to a server that takes
     * no writes (yet); such a session is dropped and the pool looks for the primary again.
     * wakeup_after_commit: our writes notify after their commit, not in it, so that they do
     * not commit one at a time behind PostgreSQL's NOTIFY lock (migration 0044). */
    struct db_pool_options dbo = {.size = cfg->db_pool_size, .settings = db_settings,
                                  .read_write = true, .wakeup_after_commit = true};
    app.db = db_pool_new(app.base, cfg->database_url, &dbo);
    /* The jobs get connections of their own, so that a job's statement never takes one a
     * request is queued for: with one pool, a slow job statement left the bookings three of
     * four connections (docs/performance.md). Same session settings: the sweeper frees nights
     * and offers them on, and its commits wake other processes as the requests' do. */
    char bg_settings[sizeof db_settings + 48];
    snprintf(bg_settings, sizeof bg_settings, "%s -c application_name=logeerd-background",
             db_settings);
    struct db_pool_options bgo = dbo;
    bgo.size = cfg->db_background_pool_size;
    bgo.settings = bg_settings;
    /* Nobody holds a socket open for a job's answer, and a job may wait behind the index's
     * reconciling read of every night (seconds at national size): waiting a minute beats
     * dropping an access-log batch after the requests' five seconds. */
    bgo.queue_timeout_ms = 60000;
    app.background = db_pool_new(app.base, cfg->database_url, &bgo);
    bool want_replica = cfg->replica_url && *cfg->replica_url;
    if (want_replica) {
        /* The name shows the operator (pg_stat_activity) which sessions are the replica's. */
        struct db_pool_options ro = {.size = cfg->db_pool_size,
                                     .settings = "-c application_name=logeerd-replica"};
        app.replica = db_pool_new(app.base, cfg->replica_url, &ro);
    }
    app.web = assets_load(cfg->web_dir); /* now: the loop never reads the disk */
    app.sessions = session_cache_new(cfg->session_idle_s);
    app.visitor_limit = ratelimit_new(cfg->visitor_rate, cfg->visitor_burst); /* NULL: off */
    int rc = 1;
    if (!app.base || !app.web || !app.metrics || !app.workers || !app.index || !app.db ||
        !app.background || !app.sessions || (want_replica && !app.replica) ||
        api_init(&app) != 0 || inventory_sync_prepare(app.background) != 0 ||
        sweeper_prepare(app.background) != 0 || guarantee_job_prepare(app.background) != 0 ||
        retention_prepare(app.background) != 0 || outbox_feed_prepare(app.background) != 0 ||
        search_log_prepare(app.background) != 0 || notify_prepare(app.background) != 0)
        goto out;
    struct http_limits limits = default_limits(cfg);
    app.http = http_server_new(app.base, &limits, api_on_request, api_on_done, &app);
    if (!app.http)
        goto out;
    /* TLS at a proxy in front (LOGEER_PUBLIC_URL https://...): browsers are told to stay on
     * HTTPS by our answers too, not only by the proxy's. */
    http_server_set_hsts(app.http, config_https(cfg));
    http_server_set_problem_body(app.http, api_problem_body);
    http_server_set_reuse_port(app.http, cfg->workers > 1);
    if (http_server_listen(app.http, cfg->listen, ssl_ctx) != 0)
        goto out;
    db_pool_start(app.db);
    db_pool_start(app.background);
    if (app.replica)
        db_pool_start(app.replica);
    app.sync = inventory_sync_new(app.base, app.background, cfg->database_url, app.index);
    if (app.sync)
        inventory_sync_set_reconcile(app.sync, (unsigned)cfg->index_reconcile_s);
    if (app.sync && clock_file && *clock_file)
        inventory_sync_set_clock_file(app.sync, clock_file);
    const char *slice = getenv("LOGEER_TEST_RECONCILE_SLICE");
    if (app.sync && slice && atoi(slice) > 0) {
        log_warn("LOGEER_TEST_RECONCILE_SLICE is set: the periodic re-read reads the nights of "
                 "%d differing pools a statement; a test setting", atoi(slice));
        inventory_sync_set_reconcile_slice(app.sync, (unsigned)atoi(slice));
    }
    const char *notify_delay = getenv("LOGEER_TEST_NOTIFY_DELAY_MS");
    if (app.sync && notify_delay && atoi(notify_delay) > 0) {
        log_warn("LOGEER_TEST_NOTIFY_DELAY_MS is set: the index applies notifications %d ms "
                 "late; a test setting, never for a real service", atoi(notify_delay));
        inventory_sync_set_notify_delay(app.sync, (unsigned)atoi(notify_delay));
    }
    sweeper = sweeper_new(app.base, app.background, cfg->hold_ttl_s, SWEEP_INTERVAL_MS);
    guarantee = guarantee_job_new(app.base, app.background, (unsigned)cfg->guarantee_check_s);
    retention = retention_new(app.base, app.background, cfg->retention_days, RETENTION_PERIOD_S);
    app.outbox = outbox_feed_new(app.base, app.background, cfg->database_url);
    app.search_log = search_log_new(app.base, app.background);
    app.lag = loop_lag_new(app.base);
    struct notify_settings ns = {
        .smtp_url = cfg->smtp_url,
        .starttls_required = cfg->smtp_starttls && strcmp(cfg->smtp_starttls, "required") == 0,
        .smtp_ca = cfg->smtp_ca,
        .mail_from = cfg->mail_from,
        .mail_dir = cfg->mail_dir,
        .public_url = cfg->public_url,
        .webhook_allow_private = cfg->webhook_allow_private == 1,
        .threads = cfg->notify_workers,
        .poll_ms = cfg->notify_poll_ms,
        .retry_base_s = cfg->notify_retry_base_s,
        .retry_max_s = cfg->notify_retry_max_s,
        .give_up_s = cfg->notify_give_up_s,
        .lease_s = cfg->notify_lease_s,
        .timeout_s = cfg->notify_timeout_s,
        .schedule_s = cfg->notify_schedule_s,
        .reminder_days = cfg->reminder_days,
        .stale_days = cfg->stale_days,
        .stale_nudge_hours = cfg->stale_nudge_hours,
        .disable_after_s = cfg->webhook_disable_after_s,
        .fatal = on_fatal,
        .fatal_arg = &app,
    };
    app.notify = notify_new(app.base, app.background, &ns);
    /* New outbox rows wake the worker through the feed's LISTEN connection. */
    if (app.notify && app.outbox)
        outbox_feed_watch(app.outbox, notify_wake, app.notify);
    if (!app.sync || !sweeper || !guarantee || !retention || !app.outbox || !app.search_log ||
        !app.lag || !app.notify)
        goto out;

    struct event *sigterm = evsignal_new(app.base, SIGTERM, on_signal, &app);
    struct event *sigint = evsignal_new(app.base, SIGINT, on_signal, &app);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    log_info("logeerd %s listening on %s%s (schema version %d)", LOGEER_VERSION, cfg->listen,
             ssl_ctx ? " with TLS" : "", schema_version);
    event_base_dispatch(app.base);
    event_free(sigterm);
    event_free(sigint);
    rc = app.fatal ? 1 : 0;
    log_info("stopped");
out:
    /* Teardown runs callbacks that may still reach the next module down: finished hashing
     * jobs may queue queries, failed queries reply to requests. So free from the top of the
     * data path down: workers, then the pool, then the server. */
    if (app.workers)
        workers_free(app.workers);
    notify_stop(app.notify); /* its last outcomes still need the pool */
    /* The replica first: a read it fails now is asked of the primary, which must still be
     * there to answer it (or to fail it in turn). */
    if (app.replica)
        db_pool_free(app.replica);
    if (app.db)
        db_pool_free(app.db);
    /* After the requests' pool: requests it fails still write their access-log rows. */
    if (app.background)
        db_pool_free(app.background);
    notify_free(app.notify);
    /* After the pool: a sweep, escalation check or purge in flight still calls back while the
     * pool closes. */
    sweeper_free(sweeper);
    guarantee_job_free(guarantee);
    retention_free(retention);
    search_log_free(app.search_log);
    loop_lag_free(app.lag);
    inventory_sync_free(app.sync);
    if (app.http)
        http_server_free(app.http);
    outbox_feed_free(app.outbox); /* after the server: closing streams unsubscribe */
    assets_free(app.web);
    core_index_free(app.index);
    api_shutdown(&app);
    session_cache_free(app.sessions); /* with the api: only its handlers read it */
    ratelimit_free(app.visitor_limit);
    metrics_free(app.metrics);
    if (app.base)
        event_base_free(app.base);
    if (ssl_ctx)
        tls_context_free(ssl_ctx);
    libevent_global_shutdown();
    curl_global_cleanup();
    return rc;
}

int main(int argc, char **argv)
{
    /* Request logs are read line by line by log shippers and tests. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    struct config cfg;
    if (config_load(&cfg, &argc, argv) != 0) {
        config_free(&cfg);
        return 2;
    }
    int level = log_level_from_name(cfg.log_level);
    if (level < 0) {
        fprintf(stderr, "logeerd: unknown log level '%s'\n", cfg.log_level);
        config_free(&cfg);
        return 2;
    }
    log_set_level((enum log_level)level);

    int rc;
    const char *cmd = argc > 1 ? argv[1] : "";
    if (strcmp(cmd, "migrate") == 0 && argc == 2)
        rc = migrate_command(&cfg);
    else if (strcmp(cmd, "seed-demo") == 0 && argc == 2)
        rc = seed_demo_command(&cfg);
    else if (strcmp(cmd, "user") == 0)
        rc = user_command(&cfg, argc - 2, argv + 2);
    else if (strcmp(cmd, "serve") == 0 && argc == 2)
        rc = serve(&cfg);
    else if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("logeerd %s\n", LOGEER_VERSION);
        rc = 0;
    } else {
        usage();
        rc = strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ? 0 : 2;
    }
    config_free(&cfg);
    return rc;
}
