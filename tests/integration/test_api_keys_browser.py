"""API-sleutels on the bed board in a real browser (tests/browser/api-keys.test.mjs, Debian's
Chromium through playwright-core, axe-core on every state), against a logeerd with the Drenthe
demo data: a planner makes a key by keyboard, sees it once, the key works for its right only,
its use shows, and it is withdrawn. Afterwards the database holds the key only as a hash,
withdrawn, and the access log has its use."""


import browser
import harness as h

SCRIPT = "api-keys.test.mjs"


def test_a_planner_manages_api_keys_in_chromium():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}", LOGEER_PASSWORD=h.DEMO_PASSWORD)
    browser.run(SCRIPT, env, timeout=540)
    rows = h.psql(url, "SELECT name, revoked_at IS NOT NULL, octet_length(key_hash) "
                       "FROM api_keys")
    h.check("one key, withdrawn, stored as a 32-byte hash",
            rows == [["Planningssysteem De Es", "t", "32"]], rows)
    used = int(h.scalar(url, "SELECT count(*) FROM access_log WHERE action = 'api_key.use'"))
    h.check("its uses are in the access log", used >= 2, used)
    srv.stop()


h.main(globals())
