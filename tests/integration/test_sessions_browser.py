"""Mijn sessies in a real browser (tests/browser/sessions.test.mjs, Debian's Chromium through
playwright-core, axe-core on every state), against a logeerd with the Drenthe demo data: a
caregiver on two computers signs one out, then all others, then itself; a planner finds the
page in the bed board's menu. Afterwards the database must hold no open session of the
caregiver."""

import os
import shutil
import subprocess

import harness as h

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
BROWSER_DIR = os.path.join(h.SOURCE_DIR, "tests", "browser")
SCRIPT = os.path.join(BROWSER_DIR, "sessions.test.mjs")


def test_sessions_are_seen_and_ended_in_chromium():
    if h.SANITIZED:
        h.info("sanitized build: the browser test runs in the normal build only")
        h.check("skipped under AddressSanitizer on purpose (the normal build runs it)", True)
        return
    node = shutil.which("node")
    have = {"chromium at " + CHROMIUM: os.access(CHROMIUM, os.X_OK),
            "node on PATH": node is not None}
    for package in ("playwright-core", "@axe-core/playwright"):
        have[f"{package} in tests/browser/node_modules"] = os.path.isdir(
            os.path.join(BROWSER_DIR, "node_modules", package))
    for what, good in have.items():
        h.check(f"{what} (installed by deploy/install-deps.sh)", good)
    if not all(have.values()):
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    env = dict(os.environ, LOGEER_URL=f"http://127.0.0.1:{srv.port}", CHROMIUM=CHROMIUM,
               LOGEER_PASSWORD=h.DEMO_PASSWORD)
    proc = subprocess.run([node, SCRIPT], cwd=BROWSER_DIR, env=env, capture_output=True,
                          text=True, timeout=540)
    for line in proc.stdout.splitlines():
        h.info("browser: " + line)
    if proc.stderr.strip():
        h.info("browser stderr: " + proc.stderr.strip()[-2000:])
    h.check("the browser test passes (every check above says ok)", proc.returncode == 0,
            f"exit {proc.returncode}")
    open_sessions = h.scalar(url, "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
                                  "WHERE u.email = 'mantelzorger@demo.logeer.nl' "
                                  "AND s.revoked_at IS NULL")
    h.check_equal("the caregiver has no open session left", int(open_sessions), 0)
    srv.stop()


h.main(globals())
