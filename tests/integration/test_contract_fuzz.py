"""Every operation fuzzed from the contract: starts logeerd on a database with the Drenthe demo
data and runs tests/contract/fuzz.mjs, which generates valid and spoiled requests for every
operation of docs/openapi.yaml (as every demo role and anonymously) and stateful sequences, and
checks every answer against the contract: no 5xx (503 only with Retry-After), no dropped
connection, only documented statuses, one vocabulary of problem types, 2xx bodies valid
against their schemas. Afterwards, from here: the server is alive, the stored data still adds
up (counters equal a recount of the stays, no night over capacity, no idempotency key left
half done), and every answer that showed a guest's data is in the access log under its
request id.

CI runs a fixed seed and a bounded count (FUZZ_RUNS spoiled requests per operation; half as
many in the sanitizer build, where every request is several times slower). A longer run on demand:
    FUZZ_SECONDS=600 FUZZ_SEED=7 ctest -R contract_fuzz --output-on-failure
A missing Node.js or contract package is a failure, never a skip: deploy/install-deps.sh
installs them."""

import json
import os
import shutil
import subprocess
import tempfile

import harness as h

CONTRACT_DIR = os.path.join(h.SOURCE_DIR, "tests", "contract")
SCRIPT = os.path.join(CONTRACT_DIR, "fuzz.mjs")
PACKAGES = ("fast-check", "ajv", "ajv-formats", "@redocly/cli")
DEFAULT_SEED = "20261204"
# Spoiled requests per operation: about 25 s of fuzzing in the normal build; the sanitized
# server is several times slower, so it gets half the requests (and more patience).
DEFAULT_RUNS = "100" if h.SANITIZED else "200"
TIMEOUT_MS = "60000" if h.SANITIZED else "15000"

COUNTING = "('held', 'requested', 'confirmed', 'checked_in', 'completed')"


def run_fuzzer(port, report_path):
    env = dict(os.environ, LOGEER_URL=f"http://127.0.0.1:{port}", FUZZ_REPORT=report_path)
    env.setdefault("FUZZ_SEED", DEFAULT_SEED)
    env.setdefault("FUZZ_RUNS", DEFAULT_RUNS)
    env.setdefault("FUZZ_TIMEOUT_MS", TIMEOUT_MS)
    limit = int(env.get("FUZZ_SECONDS") or 0) + 480
    h.info(f"node fuzz.mjs with FUZZ_SEED={env['FUZZ_SEED']} FUZZ_RUNS={env['FUZZ_RUNS']}"
           + (f" FUZZ_SECONDS={env['FUZZ_SECONDS']}" if env.get("FUZZ_SECONDS") else ""))
    proc = subprocess.run([shutil.which("node"), SCRIPT], cwd=CONTRACT_DIR, env=env,
                          capture_output=True, text=True, timeout=limit)
    for line in proc.stdout.splitlines():
        h.info(line)
    if proc.stderr.strip():
        h.info("fuzz.mjs stderr: " + proc.stderr.strip()[-3000:])
    return proc


def check_counters_add_up(url):
    """One statement per check, so that each reads one snapshot (the hold sweeper of the
    running server may commit between two reads)."""
    h.check_equal("no night anywhere has held + booked over its capacity",
                  h.overbooked_night_count(url), 0)
    off = h.psql(url, f"""
        SELECT n.pool_id, n.night, n.held, n.booked, i.held, i.booked
          FROM pool_nights n
          CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE s.status IN ('held', 'requested')) AS held,
                   count(*) FILTER (WHERE s.status IN ('confirmed', 'checked_in', 'completed'))
                     AS booked
              FROM stays s
             WHERE s.pool_id = n.pool_id AND s.check_in <= n.night AND n.night < s.check_out) i
         WHERE n.held <> i.held OR n.booked <> i.booked
         ORDER BY 1, 2 LIMIT 20""")
    nights = h.scalar(url, "SELECT count(*) FROM pool_nights")
    h.check(f"on all {nights} nights of every pool, held and booked equal a recount of the "
            "stays", not off, f"(pool, night, held, booked, recounted held, booked): {off}")
    orphans = h.scalar(url, f"""
        SELECT count(*) FROM stays s
         CROSS JOIN LATERAL generate_series(s.check_in, s.check_out - 1, interval '1 day') d
         WHERE s.status IN {COUNTING} AND s.pool_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM pool_nights n
                            WHERE n.pool_id = s.pool_id AND n.night = d::date)""")
    h.check_equal("every night a stay holds or books has its pool_nights row", orphans, "0")
    h.check_equal("no Idempotency-Key is left half done",
                  h.scalar(url, "SELECT count(*) FROM idempotency_keys WHERE state <> 'done'"),
                  "0")
    rows = h.psql(url, "SELECT status, count(*) FROM stays GROUP BY 1 ORDER BY 1")
    h.info("stays after the run: " + ", ".join(f"{s} {n}" for s, n in rows))


def check_guest_views_logged(url, views):
    """Every answer that showed a guest's data (a stay with its guest, an access-log entry
    naming one, a registered guest, an intake) has access-log rows under its request id: for
    each stay by its id, for each registered guest by the guest's id. The rows are written
    after the reply without waiting, so they get a moment to arrive."""
    if not h.check("the run showed guest data (so the access-log check means something)",
                   len(views) > 0, "no answer showed a guest"):
        return
    wanted = {(v["request_id"], "stay", s) for v in views for s in v.get("stays", [])}
    wanted |= {(v["request_id"], "guest", g) for v in views for g in v.get("guests", [])}
    ids = sorted({v["request_id"] for v in views})
    id_list = ",".join(h._sql_text(i) for i in ids)

    def logged():
        rows = h.psql(url, f"SELECT DISTINCT request_id, 'stay', stay_id FROM access_log "
                           f"WHERE request_id IN ({id_list}) AND stay_id IS NOT NULL "
                           f"UNION SELECT DISTINCT request_id, 'guest', guest_id FROM access_log "
                           f"WHERE request_id IN ({id_list}) AND guest_id IS NOT NULL")
        return {(r[0], r[1], r[2]) for r in rows}

    h.wait_until(lambda: wanted <= logged(), 10 * h.SLACK)
    missing = sorted(wanted - logged())
    h.check(f"all {len(views)} answers that showed guest data ({len(wanted)} stay and guest "
            "views) are in the access log under their request id", not missing,
            f"{len(missing)} missing, e.g. {missing[:5]}")


def test_contract_fuzz():
    node = shutil.which("node")
    have = {"node on PATH": node is not None}
    for package in PACKAGES:
        have[f"{package} in tests/contract/node_modules"] = os.path.isdir(
            os.path.join(CONTRACT_DIR, "node_modules", *package.split("/")))
    for what, ok in have.items():
        h.check(f"{what} (installed by deploy/install-deps.sh)", ok)
    if not all(have.values()):
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    with tempfile.TemporaryDirectory(prefix="logeer-fuzz-") as tmp:
        report_path = os.path.join(tmp, "report.json")
        proc = run_fuzzer(srv.port, report_path)
        summary = [line for line in proc.stdout.splitlines()
                   if line.startswith("fuzz: ") and " requests, " in line]
        h.check("fuzz.mjs ran to its summary line", bool(summary) and proc.returncode in (0, 1),
                f"exit {proc.returncode}")
        report = {}
        if os.path.exists(report_path):
            with open(report_path, encoding="utf-8") as f:
                report = json.load(f)
    findings = report.get("findings", [])
    h.check("every documented operation was fuzzed",
            report.get("operations") and report.get("covered") == report.get("operations"),
            f"{report.get('covered')} of {report.get('operations')}")
    h.check("the contract fuzz has no findings", proc.returncode == 0 and not findings,
            f"{len(findings)} findings (listed above), first: "
            f"{json.dumps(findings[0], ensure_ascii=False)[:600] if findings else proc.returncode}")
    h.check("logeerd is still the same running process", srv.proc.poll() is None)
    h.check_equal("GET /livez still answers 200", srv.get("/livez").status, 200)
    check_counters_add_up(url)
    check_guest_views_logged(url, report.get("guest_views", []))
    srv.stop(label="logeerd after the contract fuzz")


h.main(globals())
