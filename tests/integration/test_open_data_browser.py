"""The open figures page "Vrije logeerplekken" and "Agenda koppelen" (Mijn gegevens, and the bed
board's "Agenda en open cijfers") in a real browser (tests/browser/open-data.test.mjs, Debian's
Chromium through playwright-core, axe-core on every state), against a logeerd with the Drenthe
demo data. Afterwards proves from the database what the pages did: the caregiver's calendar
link was made and stopped, the planner's location shows apart in the open figures and has a
live calendar link."""

import browser
import harness as h

SCRIPT = "open-data.test.mjs"


def test_open_figures_and_calendar_links_in_chromium():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}", LOGEER_PASSWORD=h.DEMO_PASSWORD)
    browser.run(SCRIPT, env, timeout=540)
    rows = h.psql(url, "SELECT f.revoked_at IS NULL FROM calendar_feeds f JOIN users u "
                       "ON u.id = f.user_id WHERE u.email = 'mantelzorger@demo.logeer.nl'")
    h.check_equal("the caregiver made one calendar link and stopped it", rows, [["f"]])
    live = h.scalar(url, "SELECT count(*) FROM calendar_feeds f JOIN locations l "
                         "ON l.id = f.location_id WHERE f.revoked_at IS NULL "
                         "AND l.open_data_detail")
    h.check_equal("the planner's location shows apart and has a live calendar link", int(live), 1)
    srv.stop()


h.main(globals())
