/* migrate: applies migrations/NNNN_name.sql in order, one transaction each, and records every
 * applied file with its SHA-256 in schema_migrations. An applied file that was edited or
 * removed is an error, never silently skipped: the database would no longer match the code. */
#include "logeer/migrate.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/config.h"
#include "logeer/digest.h"

/* Any fixed number works; it only has to be the same for every logeerd process. */
#define MIGRATE_LOCK_KEY "7061626"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* "0003_stays.sql" -> 3; -1 for names that are not migrations. */
static int parse_version(const char *name)
{
    size_t len = strlen(name);
    if (len < 10 || strcmp(name + len - 4, ".sql") != 0 || name[4] != '_')
        return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v > 0 ? v : -1;
}

static int by_version(const void *a, const void *b)
{
    return ((const struct migration *)a)->version - ((const struct migration *)b)->version;
}

int migrations_load(const char *dir, struct migration **out)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "logeerd: cannot open migrations directory %s\n", dir);
        return -1;
    }
    struct migration *list = NULL;
    int n = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        int version = parse_version(e->d_name);
        if (version < 0 || strlen(e->d_name) >= sizeof list->name)
            continue;
        struct migration *grown = realloc(list, sizeof *list * (size_t)(n + 1));
        if (!grown) {
            rc = -1;
            break;
        }
        list = grown;
        struct migration *m = &list[n];
        memset(m, 0, sizeof *m);
        m->version = version;
        memcpy(m->name, e->d_name, strlen(e->d_name) + 1); /* length checked above */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        m->sql = read_file(path, &len);
        n++;
        if (!m->sql) {
            fprintf(stderr, "logeerd: cannot read %s\n", path);
            rc = -1;
            break;
        }
        digest_sha256_hex(m->sql, len, m->checksum);
    }
    closedir(d);
    if (rc == 0) {
        qsort(list, (size_t)n, sizeof *list, by_version);
        for (int i = 1; i < n; i++)
            if (list[i].version == list[i - 1].version) {
                fprintf(stderr, "logeerd: %s and %s have the same version\n", list[i - 1].name,
                        list[i].name);
                rc = -1;
            }
    }
    if (rc != 0) {
        migrations_free(list, n);
        return -1;
    }
    *out = list;
    return n;
}

void migrations_free(struct migration *m, int n)
{
    for (int i = 0; i < n; i++)
        free(m[i].sql);
    free(m);
}

int migrations_latest(const char *dir)
{
    struct migration *m;
    int n = migrations_load(dir, &m);
    if (n < 0)
        return -1;
    int latest = n ? m[n - 1].version : 0;
    migrations_free(m, n);
    return latest;
}

static int exec_ok(PGconn *conn, const char *sql, const char *what)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "logeerd: %s failed: %s", what, PQerrorMessage(conn));
    PQclear(r);
    return ok ? 0 : -1;
}

static const char create_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* Verifies every applied migration against the files; returns the highest applied version or
 * -1 when the files and the database disagree. */
static int check_applied(PGconn *conn, const struct migration *m, int n)
{
    PGresult *r = PQexec(conn, "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "logeerd: reading schema_migrations failed: %s", PQerrorMessage(conn));
        PQclear(r);
        return -1;
    }
    int highest = 0, bad = 0;
    for (int row = 0; row < PQntuples(r); row++) {
        int version = atoi(PQgetvalue(r, row, 0));
        const char *name = PQgetvalue(r, row, 1), *sum = PQgetvalue(r, row, 2);
        const struct migration *file = NULL;
        for (int i = 0; i < n; i++)
            if (m[i].version == version)
                file = &m[i];
        if (!file) {
            fprintf(stderr, "logeerd: applied migration %s is missing from the migrations directory\n", name);
            bad = 1;
        } else if (strcmp(file->checksum, sum) != 0) {
            fprintf(stderr, "logeerd: applied migration %s has been changed since it was applied "
                            "(checksum %.12s..., file now %.12s...); add a new migration instead\n",
                    file->name, sum, file->checksum);
            bad = 1;
        }
        if (version > highest)
            highest = version;
    }
    /* A file numbered below the highest applied one that was never applied means two
     * branches numbered migrations alike; applying it late could reorder history. */
    for (int i = 0; i < n; i++) {
        bool applied = false;
        for (int row = 0; row < PQntuples(r); row++)
            applied |= atoi(PQgetvalue(r, row, 0)) == m[i].version;
        if (!applied && m[i].version < highest) {
            fprintf(stderr, "logeerd: migration %s is older than the applied version %d but was "
                            "never applied; renumber it\n", m[i].name, highest);
            bad = 1;
        }
    }
    PQclear(r);
    return bad ? -1 : highest;
}

static int apply_one(PGconn *conn, const struct migration *m)
{
    if (exec_ok(conn, "BEGIN", "BEGIN") != 0)
        return -1;
    if (exec_ok(conn, m->sql, m->name) != 0) {
        exec_ok(conn, "ROLLBACK", "ROLLBACK");
        return -1;
    }
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[] = {version, m->name, m->checksum};
    PGresult *r = PQexecParams(conn,
                               "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                               3, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok || exec_ok(conn, "COMMIT", "COMMIT") != 0) {
        exec_ok(conn, "ROLLBACK", "ROLLBACK");
        return -1;
    }
    printf("applied %s\n", m->name);
    return 0;
}

static int migrate_with(PGconn *conn, const struct migration *m, int n)
{
    if (exec_ok(conn, "SET client_min_messages = warning", "SET") != 0 ||
        exec_ok(conn, create_table_sql, "creating schema_migrations") != 0 ||
        exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "locking") != 0)
        return -1;
    int rc = 0, applied = 0;
    int highest = check_applied(conn, m, n);
    if (highest < 0)
        rc = -1;
    for (int i = 0; rc == 0 && i < n; i++) {
        if (m[i].version <= highest)
            continue;
        rc = apply_one(conn, &m[i]);
        applied += rc == 0;
    }
    exec_ok(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "unlocking");
    if (rc == 0 && applied == 0)
        printf("schema is up to date (version %d)\n", highest);
    return rc;
}

int migrate_command(const struct config *cfg)
{
    struct migration *m;
    int n = migrations_load(cfg->migrations_dir, &m);
    if (n < 0)
        return 1;
    PGconn *conn = PQconnectdb(cfg->database_url);
    int rc = 1;
    if (PQstatus(conn) != CONNECTION_OK)
        fprintf(stderr, "logeerd: cannot connect to the database: %s", PQerrorMessage(conn));
    else
        rc = migrate_with(conn, m, n) == 0 ? 0 : 1;
    PQfinish(conn);
    migrations_free(m, n);
    return rc;
}
