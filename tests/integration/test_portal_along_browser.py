"""The caregiver portal's staying along, transport and email choices in a real browser
(tests/browser/portaal-vervoer.test.mjs, Debian's Chromium through playwright-core, axe-core on
every page and state). This wrapper makes, through the API on a migrated database without the
demo: one provider with a logeerhuis in Assen whose pool (2 beds, direct booking) has one
companion place, a check-in window 14:00-17:00 and a check-out window 10:00-12:00; a caregiver
with the person already described (paid privately); and another family's confirmed stay with
companion on later dates, so a bed is left there but no companion place. The browser test then
asks with a time outside the window (refused at the field, in Dutch, naming the window), with
companion on the full dates (refused at the checkbox), and on the free dates with companion and
transport both ways; reads both back on Mijn logeerplekken and changes the transport there (a
time outside the window refused at the field first), partly by keyboard; switches one email off
on Mijn gegevens and sees it stay off after a reload, while essential ones cannot be switched
off and a forced refusal is shown at its box; 320 px reflow on each new state. Afterwards this
wrapper checks through SQL what was stored."""

import datetime as dt
import json
import os

import browser
import harness as h

SCRIPT = "portaal-vervoer.test.mjs"


def ok(resp, what):
    if resp.status not in (200, 201):
        raise RuntimeError(f"{what} refused: {resp!r}")
    return resp.json


def test_portal_companion_transport_and_email_choices_in_chromium():
    if not browser.tools_ready():
        return

    url = h.migrated_database(seed=False)
    srv = h.Server(url)
    today = h.today_local(url)
    asked = today + dt.timedelta(days=14)
    full = today + dt.timedelta(days=21)
    provider_id = h.scalar(url, "INSERT INTO providers (name) VALUES ('Zorggroep Samen') "
                                "RETURNING id")
    provider_email = "planner@samen.logeer.nl"
    h.add_user(url, provider_email, "provider", provider=provider_id)
    provider = srv.login(provider_email, password=h.TEST_PASSWORD)
    pool = h.make_pool(srv, url, provider, provider_id, 2, today, today + dt.timedelta(days=120),
                       name="Logeerkamers", funding=("private",),
                       care_profiles=("dementia", "somatic")).id
    ok(srv.request("PATCH", f"/v1/pools/{pool}", {
        "companion_places": 1, "check_in_window": "14:00-17:00",
        "check_out_window": "10:00-12:00"}, token=provider), "PATCH /v1/pools/{id}")
    mine, other = h.add_caregivers(url, 2, prefix="mee")
    caregiver = srv.login(mine, password=h.TEST_PASSWORD)
    ok(srv.request("POST", "/v1/guests", {"alias": "mevr. S.", "birth_year": 1938,
                                          "care_profile": "dementia", "needs": [],
                                          "municipality": "GM0106", "funding": "private"},
                   token=caregiver), "POST /v1/guests")
    # Another family stays along on the later dates: a bed is left there, the companion place
    # is not.
    other_token = srv.login(other, password=h.TEST_PASSWORD)
    taken = ok(srv.request("POST", "/v1/stays", {
        "pool_id": pool, "check_in": str(full), "check_out": str(full + dt.timedelta(days=3)),
        "funding": "private", "companion": True,
        "guest": {"alias": "dhr. K.", "birth_year": 1940, "care_profile": "dementia",
                  "needs": []}}, token=other_token), "POST /v1/stays (other family)")["id"]
    ok(srv.request("POST", f"/v1/stays/{taken}/confirm", token=other_token), "confirm")
    # The search index learns the pool's companion place through NOTIFY a moment after the PATCH.
    shown = h.wait_until(lambda: any(
        r.get("pool_id") == pool and r.get("companion_places") == 1 for r in (srv.get(
            f"/v1/availability?check_in={asked}&nights=3", token=caregiver).json or {}).get(
                "results", [])), 10)
    h.check("the search index shows the pool's companion place", bool(shown))

    artifacts = os.environ.get("LOGEER_TEST_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}", LOGEER_SHOT_DIRS=artifacts,
               LOGEER_ASKED=str(asked), LOGEER_FULL=str(full), LOGEER_POOL=pool,
               LOGEER_EMAIL=mine, LOGEER_PASSWORD=h.TEST_PASSWORD)
    browser.run(SCRIPT, env, timeout=540)

    rows = h.psql(url, "SELECT s.check_in, s.companion, s.arrival::text, s.departure::text "
                       "FROM stays s JOIN users u ON u.id = s.requested_by "
                       f"WHERE lower(u.email) = lower('{mine}') AND s.status = 'confirmed'")
    h.check_equal("the caregiver has one confirmed stay, on the free dates", len(rows), 1)
    if rows:
        check_in, companion, arrival, departure = rows[0]
        h.check_equal("it starts on the asked day", check_in, str(asked))
        h.check("the caregiver stays along", companion == "t", companion)
        h.check_equal("the caregiver brings the guest at 15:30 with the note",
                      json.loads(arrival), {"by": "caregiver", "time": "15:30",
                                            "note": "dochter rijdt mee"})
        # The page changed it to someone else at 11:00; then "another window" to the caregiver
        # at 11:30, and the page's form opened before that (10:15) was refused with 412.
        h.check_equal("the last change stands: the one made in the other window, not the stale "
                      "form's", json.loads(departure), {"by": "caregiver", "time": "11:30"})
    h.check_equal("no stay of the caregiver took the full dates",
                  h.scalar(url, "SELECT count(*) FROM stays s JOIN users u "
                                "ON u.id = s.requested_by WHERE lower(u.email) = "
                                f"lower('{mine}') AND s.check_in = '{full}'"), "0")
    h.check_counters_match_stays("after the browser flow", url, pool)
    srv.stop()


h.main(globals())
