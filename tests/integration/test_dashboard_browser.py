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

import browser
import harness as h

SCRIPT = "dashboard.test.mjs"


def test_dashboard_in_chromium():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    artifacts = os.environ.get("LOGEER_TEST_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    shots = [os.path.join(artifacts, "dashboard.png")]
    if os.environ.get("LOGEER_UPDATE_SCREENSHOT") == "1":
        shots.append(os.path.join(h.SOURCE_DIR, "docs", "dashboard.png"))
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}",
               LOGEER_SCREENSHOTS=",".join(shots))
    browser.run(SCRIPT, env, timeout=300)
    h.check("the screenshot was written", all(os.path.getsize(p) > 10000 for p in shots
                                              if os.path.exists(p)) and os.path.exists(shots[0]))
    srv.stop()


h.main(globals())
