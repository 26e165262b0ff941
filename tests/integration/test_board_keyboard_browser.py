"""The bed board's edit flows with the keyboard alone, in a real browser: starts logeerd on the
Drenthe demo data, adds a pool of Zorggroep Esdorp at a location of its own (3 beds a night for
60 days), and runs tests/browser/board-keyboard.test.mjs: the planner logs in, changes a range
in the quick edit (werkdagen only, the last night typed), edits a pool's rules and a location's
facilities and exclusions on the settings page, meets a refused value and a colleague's change
meanwhile, all with Tab, Shift+Tab, Enter, Space, arrow keys and typing; 0 axe violations in
every state. Runs in the normal build only (as test_board_browser)."""

import datetime as dt

import browser
import harness as h

SCRIPT = "board-keyboard.test.mjs"
ESDORP = "planner@esdorp.demo.logeer.nl"


def test_board_edits_by_keyboard_alone():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    today = h.today_local(url)
    colleague = srv.login(ESDORP)
    pool = h.make_pool(srv, url, colleague, h.DEMO_PROVIDER_IDS[ESDORP], 3, today,
                       today + dt.timedelta(days=60), name="Toetsenbord")
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}",
               KEY_TODAY=str(today), KEY_POOL=pool.id, KEY_LOCATION=pool.location_id,
               KEY_COLLEAGUE_TOKEN=colleague)
    browser.run(SCRIPT, env, timeout=300)
    srv.stop()


h.main(globals())
