"""The caregiver portal in a real browser: starts logeerd on a database with the Drenthe demo
data and runs tests/browser/portal.test.mjs (Debian's Chromium driven by playwright-core, axe-core
through @axe-core/playwright): start page, registration with its error summary, the cookie
session, logout, keyboard-only login, 0 axe violations on every page and state, and no sideways
scrolling at 320 px. Screenshots go to artifacts/portaal-*.png in the test's working directory;
with LOGEER_UPDATE_SCREENSHOT=1 also to docs/portaal-*.png.

Runs in the normal build only (as test_dashboard_browser). A missing Chromium, Node.js or npm
package is a failure, never a skip: deploy/install-deps.sh installs them."""

import os
import shutil
import subprocess

import harness as h

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
BROWSER_DIR = os.path.join(h.SOURCE_DIR, "tests", "browser")
SCRIPT = os.path.join(BROWSER_DIR, "portal.test.mjs")


def test_portal_in_chromium():
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
    for what, ok in have.items():
        h.check(f"{what} (installed by deploy/install-deps.sh)", ok)
    if not all(have.values()):
        return
    srv = h.Server(h.migrated_database(seed=True))
    artifacts = os.environ.get("LOGEER_TEST_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    shots = [os.path.join(artifacts, "portaal.png")]
    if os.environ.get("LOGEER_UPDATE_SCREENSHOT") == "1":
        shots.append(os.path.join(h.SOURCE_DIR, "docs", "portaal.png"))
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
    srv.stop()


h.main(globals())
