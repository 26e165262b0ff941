/* seed: `logeerd seed-demo` (demo users plus deploy/seed/drenthe_demo.sql in one transaction)
 * and `logeerd user add`. Both are command-line tools, so blocking libpq and hashing on the
 * calling thread are fine here. Idempotent: existing users and rows are left as they are. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/auth.h"
#include "logeer/config.h"
#include "logeer/migrate.h"

/* Documented in README; for local demos only. */
#define DEMO_PASSWORD "logeerzorg-demo"

struct new_user {
    const char *email;
    const char *role;
    const char *provider_id;   /* NULL unless role is provider */
    const char *municipality;  /* caregiver's home municipality */
    const char *display_name;
};

static const char insert_user_sql[] =
    "INSERT INTO users (email, password_hash, role, provider_id, municipality, display_name) "
    "VALUES ($1, $2, $3::user_role, $4::uuid, $5, $6) "
    "ON CONFLICT ((lower(email))) DO NOTHING RETURNING id";

/* Inserts one user; prints its id when new. Returns 0 when added, 1 when the email already
 * had an account (left unchanged), -1 on error. */
static int insert_user(PGconn *conn, const struct new_user *u, const char *password)
{
    char hash[AUTH_HASH_LEN];
    if (auth_password_hash(password, hash) != 0) {
        fprintf(stderr, "logeerd: password hashing failed\n");
        return -1;
    }
    const char *params[] = {u->email, hash, u->role, u->provider_id, u->municipality,
                            u->display_name};
    PGresult *r = PQexecParams(conn, insert_user_sql, 6, NULL, params, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "logeerd: adding %s failed: %s", u->email, PQerrorMessage(conn));
    else if (PQntuples(r) == 1) {
        printf("%s\n", PQgetvalue(r, 0, 0));
        rc = 0;
    } else
        rc = 1;
    PQclear(r);
    return rc;
}

static int exec_sql(PGconn *conn, const char *sql, const char *what)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "logeerd: %s failed: %s", what, PQerrorMessage(conn));
    PQclear(r);
    return ok ? 0 : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[len] = '\0';
    fclose(f);
    return buf;
}

static PGconn *connect_or_complain(const struct config *cfg)
{
    PGconn *conn = PQconnectdb(cfg->database_url);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "logeerd: cannot connect to the database: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PGresult *r = PQexec(conn, "SET client_min_messages = warning");
    PQclear(r);
    return conn;
}

/* The demo file creates its own accounts (provider staff cannot exist before their provider
 * rows, which the file creates); it takes their password hash from a transaction-local
 * setting, because SQL cannot hash. All demo accounts share the one documented password. */
static int seed_in_transaction(PGconn *conn, const char *sql)
{
    char hash[AUTH_HASH_LEN];
    if (auth_password_hash(DEMO_PASSWORD, hash) != 0) {
        fprintf(stderr, "logeerd: password hashing failed\n");
        return -1;
    }
    const char *params[] = {hash};
    PGresult *r = PQexecParams(conn, "SELECT set_config('logeer.demo_password_hash', $1, true)",
                               1, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (!ok) {
        fprintf(stderr, "logeerd: %s", PQerrorMessage(conn));
        return -1;
    }
    return exec_sql(conn, sql, "the demo data");
}

int seed_demo_command(const struct config *cfg)
{
    char *sql = slurp(cfg->seed_file);
    if (!sql) {
        fprintf(stderr, "logeerd: cannot read the demo data file %s\n", cfg->seed_file);
        return 1;
    }
    PGconn *conn = connect_or_complain(cfg);
    int rc = 1;
    if (conn && exec_sql(conn, "BEGIN", "BEGIN") == 0) {
        if (seed_in_transaction(conn, sql) == 0 && exec_sql(conn, "COMMIT", "COMMIT") == 0) {
            rc = 0;
            fprintf(stderr, "demo data loaded; demo accounts use the password '%s'\n",
                    DEMO_PASSWORD);
        } else {
            exec_sql(conn, "ROLLBACK", "ROLLBACK");
        }
    }
    PQfinish(conn);
    free(sql);
    return rc;
}

/* Reads one line from stdin without its newline; false when empty or unreadable. */
static bool read_password(char *buf, size_t size)
{
    if (!fgets(buf, (int)size, stdin))
        return false;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] != '\0';
}

static void user_usage(void)
{
    fprintf(stderr, "usage: logeerd user add --email E --role caregiver|provider|referrer|"
                    "coordinator|admin [--provider ID] [--municipality GM....] [--name NAME]\n"
                    "       the password is read from standard input (one line, at least 12 "
                    "characters)\n");
}

int user_command(const struct config *cfg, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "add") != 0) {
        user_usage();
        return 2;
    }
    struct new_user u = {0};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--email") == 0)
            u.email = argv[i + 1];
        else if (strcmp(argv[i], "--role") == 0)
            u.role = argv[i + 1];
        else if (strcmp(argv[i], "--provider") == 0)
            u.provider_id = argv[i + 1];
        else if (strcmp(argv[i], "--municipality") == 0)
            u.municipality = argv[i + 1];
        else if (strcmp(argv[i], "--name") == 0)
            u.display_name = argv[i + 1];
        else {
            user_usage();
            return 2;
        }
    }
    if (!u.email || !u.role || !role_from_name(u.role) || (argc - 1) % 2 != 0) {
        user_usage();
        return 2;
    }
    if ((strcmp(u.role, "provider") == 0) != (u.provider_id != NULL)) {
        fprintf(stderr, "logeerd: --provider is required for role provider and only for it\n");
        return 2;
    }
    char password[1024];
    if (!read_password(password, sizeof password) || strlen(password) < 12) {
        fprintf(stderr, "logeerd: give a password of at least 12 characters on standard input\n");
        return 2;
    }
    PGconn *conn = connect_or_complain(cfg);
    int rc = 1;
    if (conn) {
        int added = insert_user(conn, &u, password);
        if (added == 1)
            fprintf(stderr, "logeerd: a user with email %s already exists\n", u.email);
        rc = added == 0 ? 0 : 1;
    }
    explicit_bzero(password, sizeof password);
    PQfinish(conn);
    return rc;
}
