"""Recurring stays (logeerreeks) in a real browser (tests/browser/portaal-reeks.test.mjs,
Debian's Chromium through playwright-core, axe-core on every state). This wrapper makes,
through the API on a migrated database without the demo: one provider with an instant pool of
4 beds (none on one night, LOGEER_FULL) and an approval pool; a caregiver with the person
described; and another family's series of three dates waiting in the approval pool. The browser
test previews, asks, confirms and cancels the rest of a series as the caregiver, sees an
all-or-nothing series refused, and as provider staff declines one date of the waiting series
and accepts the rest at once. Afterwards this wrapper checks through SQL what was stored."""

import datetime as dt
import os

import browser
import harness as h

SCRIPT = "portaal-reeks.test.mjs"


def ok(resp, what):
    if resp.status not in (200, 201):
        raise RuntimeError(f"{what} refused: {resp!r}")
    return resp.json


def test_series_in_portal_and_board_in_chromium():
    if not browser.tools_ready():
        return

    url = h.migrated_database(seed=False)
    srv = h.Server(url)
    today = h.today_local(url)
    asked = today + dt.timedelta(days=14)
    full = today + dt.timedelta(days=21)
    provider_id = h.scalar(url, "INSERT INTO providers (name) VALUES ('Zorggroep Ritme') "
                                "RETURNING id")
    provider_email = "planner@ritme.logeer.nl"
    h.add_user(url, provider_email, "provider", provider=provider_id)
    provider = srv.login(provider_email, password=h.TEST_PASSWORD)
    pool = h.make_pool(srv, url, provider, provider_id, 4, today, today + dt.timedelta(days=120),
                       name="Logeerkamers", funding=("private",)).id
    ok(h.put_capacity(srv, provider, pool, [{"from": full, "to": full + dt.timedelta(days=1),
                                             "beds": 0}]), "PUT capacity (a full night)")
    approval = h.make_pool(srv, url, provider, provider_id, 4, today,
                           today + dt.timedelta(days=120), name="Op aanvraag",
                           funding=("private",), booking_mode="approval").id
    mine, other = h.add_caregivers(url, 2, prefix="rks")
    for email in (mine, other):
        token = srv.login(email, password=h.TEST_PASSWORD)
        ok(srv.request("POST", "/v1/guests", {"alias": "mevr. S.", "birth_year": 1938,
                                              "care_profile": "dementia", "needs": [],
                                              "municipality": "GM0106", "funding": "private"},
                       token=token), "POST /v1/guests")
    other_token = srv.login(other, password=h.TEST_PASSWORD)
    guest = ok(srv.request("GET", "/v1/guests", token=other_token), "GET /v1/guests")
    ok(srv.request("POST", "/v1/series", {
        "pool_id": approval, "mode": "all_or_nothing", "nights": 2,
        "rule": {"first_check_in": str(asked), "every_weeks": 1, "count": 3},
        "funding": "private", "guest_id": guest["guests"][0]["id"]}, token=other_token),
       "POST /v1/series (other family, approval pool)")
    # The search index learns the full night through NOTIFY a moment after the PUT.
    h.wait_until(lambda: h.availability_free(srv, other_token, pool, full, 1) == 0, 10)

    artifacts = os.environ.get("LOGEER_TEST_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}", LOGEER_SHOT_DIRS=artifacts,
               LOGEER_ASKED=str(asked), LOGEER_UIT=str(asked + dt.timedelta(days=2)),
               LOGEER_FULL=str(full), LOGEER_POOL=pool, LOGEER_EMAIL=mine,
               LOGEER_PASSWORD=h.TEST_PASSWORD, LOGEER_PROVIDER_EMAIL=provider_email)
    browser.run(SCRIPT, env, timeout=540)

    mine_rows = h.psql(url, "SELECT s.status, count(*) FROM stays s JOIN users u "
                            "ON u.id = s.requested_by WHERE lower(u.email) = "
                            f"lower('{mine}') GROUP BY s.status ORDER BY 1")
    h.check_equal("the caregiver's series: three stays, all cancelled; the refused one left "
                  "nothing", [tuple(r) for r in mine_rows], [("cancelled", "3")])
    other_rows = h.psql(url, "SELECT s.status, count(*) FROM stays s WHERE s.pool_id = "
                             f"'{approval}' GROUP BY s.status ORDER BY 1")
    h.check_equal("the other family's series: one declined, two confirmed",
                  [tuple(r) for r in other_rows], [("confirmed", "2"), ("declined", "1")])
    h.check_counters_match_stays("after the browser flow", url, pool)
    h.check_counters_match_stays("after the browser flow (approval pool)", url, approval)
    srv.stop()


h.main(globals())
