"""logeerd migrate: applies every migration once, each in its own transaction, records what it
applied with a checksum, refuses to run over an applied file that changed or disappeared, and
leaves a schema whose database-level guards (the overbooking CHECK) really hold."""

import hashlib
import os
import shutil
import tempfile

import harness as h


def migration_files(directory):
    names = sorted(n for n in os.listdir(directory)
                   if n.endswith(".sql") and n[:4].isdigit() and n[4:5] == "_")
    out = []
    for name in names:
        with open(os.path.join(directory, name), "rb") as f:
            out.append((int(name[:4]), name, hashlib.sha256(f.read()).hexdigest()))
    return out


def applied(url):
    return h.psql(url, "SELECT version, name, checksum, applied_at FROM schema_migrations "
                       "ORDER BY version")


def copy_migrations():
    directory = tempfile.mkdtemp(prefix="logeer-test-migrations-")
    for _, name, _ in migration_files(h.MIGRATIONS_DIR):
        shutil.copy(os.path.join(h.MIGRATIONS_DIR, name), directory)
    return directory


def test_migrate_on_empty_database_applies_every_file_once_with_its_checksum():
    files = migration_files(h.MIGRATIONS_DIR)
    h.check("the source tree has migrations", len(files) > 0, h.MIGRATIONS_DIR)
    url = h.fresh_database()
    proc = h.migrate(url, h.MIGRATIONS_DIR)
    h.check("migrate on an empty database exits 0", proc.returncode == 0, h._describe(proc))
    rows = applied(url)
    h.check_equal("schema_migrations lists every migration file by version",
                  [int(r[0]) for r in rows], [v for v, _, _ in files])
    h.check_equal("schema_migrations records each file's sha256",
                  [r[2] for r in rows], [c for _, _, c in files])
    h.check("schema_migrations names each file",
            all(r[1] in (name, name[:-4], name[5:], name[5:-4])
                for r, (_, name, _) in zip(rows, files)),
            f"{[r[1] for r in rows]} vs {[n for _, n, _ in files]}")
    h.check("every applied_at is set", all(r[3] for r in rows), rows)

    proc = h.migrate(url, h.MIGRATIONS_DIR)
    h.check("migrate again exits 0", proc.returncode == 0, h._describe(proc))
    h.check_equal("migrate again changes nothing in schema_migrations (not even applied_at)",
                  applied(url), rows)


def test_migrate_reads_database_and_directory_from_the_environment():
    url = h.fresh_database()
    proc = h.logeerd("migrate", env={"LOGEER_DATABASE_URL": url,
                                     "LOGEER_MIGRATIONS_DIR": h.MIGRATIONS_DIR})
    h.check("migrate with LOGEER_DATABASE_URL and LOGEER_MIGRATIONS_DIR exits 0",
            proc.returncode == 0, h._describe(proc))
    h.check_equal("it applied every migration", len(applied(url)),
                  len(migration_files(h.MIGRATIONS_DIR)))


def test_the_spec_tables_exist_after_migrate():
    url = h.fresh_database()
    proc = h.migrate(url, h.MIGRATIONS_DIR)
    h.check("migrate exits 0", proc.returncode == 0, h._describe(proc))
    tables = {r[0] for r in h.psql(
        url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    for table in ("schema_migrations", "municipalities", "providers", "locations", "pools",
                  "pool_nights", "users", "sessions", "stays", "stay_events",
                  "idempotency_keys", "access_log"):
        h.check(f"table {table} exists", table in tables, sorted(tables))
    h.check_equal("the 12 Drenthe municipalities ship with the schema",
                  int(h.scalar(url, "SELECT count(*) FROM municipalities")), 12)


def test_pool_nights_check_refuses_held_plus_booked_above_capacity():
    url = h.fresh_database()
    proc = h.migrate(url, h.MIGRATIONS_DIR)
    h.check("migrate exits 0", proc.returncode == 0, h._describe(proc))
    setup = """
        WITH p AS (INSERT INTO providers (name) VALUES ('Testzorg') RETURNING id),
             l AS (INSERT INTO locations (provider_id, name, municipality, lat, lon)
                   SELECT id, 'Testhuis', 'GM0106', 52.99, 6.56 FROM p RETURNING id, provider_id),
             o AS (INSERT INTO pools (location_id, provider_id, name, kind, care_profiles, funding)
                   SELECT id, provider_id, 'Kamers', 'planned', ARRAY['somatic'], ARRAY['wlz']
                   FROM l RETURNING id)
        INSERT INTO pool_nights (pool_id, night, capacity, held, booked)
        SELECT id, DATE '2030-01-01', 2, 1, 1 FROM o
    """
    h.psql(url, setup)
    for label, sql in (
            ("one more hold on a full night",
             "UPDATE pool_nights SET held = held + 1"),
            ("one more booking on a full night",
             "UPDATE pool_nights SET booked = booked + 1"),
            ("lowering capacity below held + booked",
             "UPDATE pool_nights SET capacity = 1")):
        try:
            h.psql(url, sql)
            h.fail(f"{label} fails with 23514 (check_violation)", "the UPDATE succeeded")
        except h.SqlError as e:
            h.check_equal(f"{label} fails with 23514 (check_violation)", e.sqlstate, "23514")
    h.check_equal("the night still reads capacity 2, held 1, booked 1",
                  h.psql(url, "SELECT capacity, held, booked FROM pool_nights"),
                  [["2", "1", "1"]])


def test_changed_or_missing_applied_migration_is_refused_by_name():
    files = migration_files(h.MIGRATIONS_DIR)
    if not h.check("there is at least one migration to tamper with", files):
        return
    directory = copy_migrations()
    try:
        url = h.fresh_database()
        proc = h.migrate(url, directory)
        h.check("migrate from a copy of migrations/ exits 0", proc.returncode == 0,
                h._describe(proc))
        before = applied(url)

        _, first, _ = files[0]
        path = os.path.join(directory, first)
        with open(path, "rb") as f:
            original = f.read()
        with open(path, "ab") as f:
            f.write(b"\n-- an edit after the file was applied\n")
        proc = h.migrate(url, directory)
        h.check_equal("migrate over an edited applied file exits 1", proc.returncode, 1)
        h.check(f"the error names the edited file {first}", first in proc.stderr,
                proc.stderr.strip())
        h.check_equal("schema_migrations is unchanged after the refusal", applied(url), before)

        with open(path, "wb") as f:
            f.write(original)
        _, last, _ = files[-1]
        os.rename(os.path.join(directory, last), os.path.join(directory, last + ".removed"))
        proc = h.migrate(url, directory)
        h.check_equal("migrate with an applied file missing exits 1", proc.returncode, 1)
        h.check(f"the error names the missing file {last}", last in proc.stderr,
                proc.stderr.strip())
        os.rename(os.path.join(directory, last + ".removed"), os.path.join(directory, last))

        proc = h.migrate(url, directory)
        h.check("with the files restored, migrate exits 0 again", proc.returncode == 0,
                h._describe(proc))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_new_migration_is_applied_alone_and_a_failing_one_rolls_back():
    directory = copy_migrations()
    try:
        url = h.fresh_database()
        proc = h.migrate(url, directory)
        h.check("migrate from a copy of migrations/ exits 0", proc.returncode == 0,
                h._describe(proc))
        before = applied(url)

        with open(os.path.join(directory, "9001_test_extra.sql"), "w") as f:
            f.write("CREATE TABLE test_extra (id integer PRIMARY KEY);\n")
        proc = h.migrate(url, directory)
        h.check("migrate with one new file exits 0", proc.returncode == 0, h._describe(proc))
        after = applied(url)
        h.check_equal("only the new file was added to schema_migrations",
                      [r[0] for r in after], [r[0] for r in before] + ["9001"])
        h.check_equal("earlier rows were not touched", after[:len(before)], before)
        h.check("the new migration's table exists",
                h.scalar(url, "SELECT to_regclass('public.test_extra') IS NOT NULL") == "t")

        # The first statement succeeds, the second fails: a transaction per file means neither
        # the table nor the schema_migrations row may survive.
        with open(os.path.join(directory, "9002_test_broken.sql"), "w") as f:
            f.write("CREATE TABLE test_half_done (id integer);\nSELECT 1 / 0;\n")
        proc = h.migrate(url, directory)
        h.check("migrate with a failing file exits non-zero", proc.returncode != 0,
                h._describe(proc))
        h.check("the failing file's partial work was rolled back",
                h.scalar(url, "SELECT to_regclass('public.test_half_done') IS NULL") == "t")
        h.check_equal("the failing file was not recorded",
                      [r[0] for r in applied(url)], [r[0] for r in after])
    finally:
        shutil.rmtree(directory, ignore_errors=True)


h.main(globals())
