/* migrate: the schema's numbered SQL files and the commands that apply them or load demo
 * data. These run from the command line before the service starts, so they use blocking
 * libpq; nothing here runs on the event loop. */
#ifndef LOGEER_MIGRATE_H
#define LOGEER_MIGRATE_H

struct config;

struct migration {
    int version;          /* the NNNN of NNNN_name.sql */
    char name[128];       /* file name */
    char checksum[65];    /* sha256 hex of the file's bytes */
    char *sql;            /* file contents */
};

/* Reads dir's NNNN_name.sql files in version order. Returns the count, or -1 (with a message)
 * on an unreadable directory or two files with one version. Free with migrations_free. */
int migrations_load(const char *dir, struct migration **out);
void migrations_free(struct migration *m, int n);

/* The highest version in dir, or -1. */
int migrations_latest(const char *dir);

/* logeerd migrate: applies pending migrations, each in its own transaction, under an advisory
 * lock so that two processes starting at once cannot race. Fails (returns non-zero) when an
 * applied migration's file changed or disappeared. */
int migrate_command(const struct config *cfg);

/* logeerd seed-demo: demo users and the Drenthe demo data; idempotent. */
int seed_demo_command(const struct config *cfg);

/* logeerd user add --email E --role R [--provider ID] [--municipality GM....]; password on
 * stdin. argv holds the arguments after "user". */
int user_command(const struct config *cfg, int argc, char **argv);

#endif
