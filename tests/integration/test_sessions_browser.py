"""Mijn sessies in a real browser (tests/browser/sessions.test.mjs, Debian's Chromium through
playwright-core, axe-core on every state), against a logeerd with the Drenthe demo data: a
caregiver on two computers signs one out, then all others, then itself; a planner finds the
page in the bed board's menu. Afterwards the database must hold no open session of the
caregiver."""


import browser
import harness as h

SCRIPT = "sessions.test.mjs"


def test_sessions_are_seen_and_ended_in_chromium():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}",
               LOGEER_PASSWORD=h.DEMO_PASSWORD)
    browser.run(SCRIPT, env, timeout=540)
    open_sessions = h.scalar(url, "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
                                  "WHERE u.email = 'mantelzorger@demo.logeer.nl' "
                                  "AND s.revoked_at IS NULL")
    h.check_equal("the caregiver has no open session left", int(open_sessions), 0)
    srv.stop()


h.main(globals())
