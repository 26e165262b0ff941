"""The caregiver portal in a real browser: starts logeerd on a database with the Drenthe demo
data and runs tests/browser/portal.test.mjs (Debian's Chromium driven by playwright-core, axe-core):
start page, registration with its error summary, the cookie
session, logout, keyboard-only login, 0 axe violations on every page and state, and no sideways
scrolling at 320 px. Screenshots go to artifacts/portaal-*.png in the test's working directory;
with LOGEER_UPDATE_SCREENSHOT=1 also to docs/portaal-*.png.

Runs in the normal build only (as test_dashboard_browser). A missing Chromium, Node.js or npm
package is a failure, never a skip: deploy/install-deps.sh installs them."""

import os

import browser
import harness as h

SCRIPT = "portal.test.mjs"


def test_portal_in_chromium():
    if not browser.tools_ready():
        return
    srv = h.Server(h.migrated_database(seed=True))
    artifacts = os.environ.get("LOGEER_TEST_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    shots = [os.path.join(artifacts, "portaal.png")]
    if os.environ.get("LOGEER_UPDATE_SCREENSHOT") == "1":
        shots.append(os.path.join(h.SOURCE_DIR, "docs", "portaal.png"))
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}",
               LOGEER_SCREENSHOTS=",".join(shots))
    browser.run(SCRIPT, env, timeout=300)
    srv.stop()


h.main(globals())
