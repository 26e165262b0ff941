"""The bed board's edit flows with the keyboard alone, in a real browser: starts logeerd on the
Drenthe demo data, adds a pool of Zorggroep Esdorp at a location of its own (3 beds a night for
60 days), and runs tests/browser/board-keyboard.test.mjs: the planner logs in, changes a range
in the quick edit (werkdagen only, the last night typed), edits a pool's rules and a location's
facilities and exclusions on the settings page, meets a refused value and a colleague's change
meanwhile, all with Tab, Shift+Tab, Enter, Space, arrow keys and typing; 0 axe violations in
every state. Runs in the normal build only (as test_board_browser)."""

import datetime as dt
import os
import shutil
import subprocess

import harness as h

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
BROWSER_DIR = os.path.join(h.SOURCE_DIR, "tests", "browser")
SCRIPT = os.path.join(BROWSER_DIR, "board-keyboard.test.mjs")
ESDORP = "planner@esdorp.demo.logeer.nl"


def test_board_edits_by_keyboard_alone():
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
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    today = h.today_local(url)
    colleague = srv.login(ESDORP)
    pool = h.make_pool(srv, url, colleague, h.DEMO_PROVIDER_IDS[ESDORP], 3, today,
                       today + dt.timedelta(days=60), name="Toetsenbord")
    env = dict(os.environ, LOGEER_URL=f"http://127.0.0.1:{srv.port}", CHROMIUM=CHROMIUM,
               KEY_TODAY=str(today), KEY_POOL=pool.id, KEY_LOCATION=pool.location_id,
               KEY_COLLEAGUE_TOKEN=colleague)
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
