"""The dashboard in a real browser: starts logeerd on a database with the Drenthe demo data and
runs tests/browser/dashboard.test.mjs (Debian's Chromium driven by playwright-core), which logs
in as the coordinator, checks the heat map, books through the API and sees the booking appear
without a reload. The screenshot goes to artifacts/dashboard.png in the test's working
directory (the build tree); with LOGEER_UPDATE_SCREENSHOT=1 also to docs/dashboard.png, the
picture README shows (so an ordinary test run never changes the source tree).

Runs in the normal build only: under AddressSanitizer the server is the same code, and the
browser adds minutes without proving more. A missing Chromium, Node.js or playwright-core is a
failure, never a skip: deploy/install-deps.sh installs all three."""

import os
import shutil
import subprocess

import harness as h

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
BROWSER_DIR = os.path.join(h.SOURCE_DIR, "tests", "browser")
SCRIPT = os.path.join(BROWSER_DIR, "dashboard.test.mjs")


def test_dashboard_in_chromium():
    if h.SANITIZED:
        h.info("sanitized build: the browser test runs in the normal build only")
        h.check("skipped under AddressSanitizer on purpose (the normal build runs it)", True)
        return
    node = shutil.which("node")
    have = {"chromium at " + CHROMIUM: os.access(CHROMIUM, os.X_OK),
            "node on PATH": node is not None,
            "playwright-core in tests/browser/node_modules":
                os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core"))}
    for what, ok in have.items():
        h.check(f"{what} (installed by deploy/install-deps.sh)", ok)
    if not all(have.values()):
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    artifacts = os.environ.get("LOGEER_TEST_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    shots = [os.path.join(artifacts, "dashboard.png")]
    if os.environ.get("LOGEER_UPDATE_SCREENSHOT") == "1":
        shots.append(os.path.join(h.SOURCE_DIR, "docs", "dashboard.png"))
    env = dict(os.environ, LOGEER_URL=f"http://127.0.0.1:{srv.port}", CHROMIUM=CHROMIUM,
               LOGEER_SCREENSHOTS=",".join(shots))
    proc = subprocess.run([node, SCRIPT], cwd=BROWSER_DIR, env=env, capture_output=True,
                          text=True, timeout=300)
    for line in proc.stdout.splitlines():
        h.info("browser: " + line)
    if proc.stderr.strip():
        h.info("browser stderr: " + proc.stderr.strip()[-2000:])
    h.check("the browser test passes (every check above says ok)", proc.returncode == 0,
            f"exit {proc.returncode}")
    h.check("the screenshot was written", all(os.path.getsize(p) > 10000 for p in shots
                                              if os.path.exists(p)) and os.path.exists(shots[0]))
    srv.stop()


h.main(globals())
