"""The caregiver portal's whole flow in a real browser (tests/browser/portaal-flow.test.mjs,
Debian's Chromium through playwright-core, axe-core on every page and state). This wrapper
makes the data the flow needs through the API, on a migrated database without the demo (so
how full the demo region is never matters): one provider with a logeerhuis in Assen whose
only bed is taken on the asked dates, and a second caregiver with a registered person for the
keyboard-only run. The browser test then registers, describes the person, searches, sees the
earliest dates that fit, holds, confirms, cancels; waits, gets an offer when the provider
frees the bed, and accepts it; repeats the main flow by keyboard alone; and checks 320 px
reflow. Screenshots go to artifacts/ (and with LOGEER_UPDATE_SCREENSHOT=1 to docs/)."""

import datetime as dt
import os
import uuid

import browser
import harness as h

SCRIPT = "portaal-flow.test.mjs"


def ok(resp, what):
    if resp.status not in (200, 201):
        raise RuntimeError(f"{what} refused: {resp!r}")
    return resp.json


def test_portal_flow_in_chromium():
    if not browser.tools_ready():
        return

    url = h.migrated_database(seed=False)
    srv = h.Server(url)
    today = h.today_local(url)
    tag = uuid.uuid4().hex[:6]
    provider_id = h.scalar(url, "INSERT INTO providers (name) VALUES ('Zorggroep Proef') "
                                "RETURNING id")
    provider_email = f"planner-{tag}@proef.logeer.nl"
    h.add_user(url, provider_email, "provider", provider=provider_id)
    provider = srv.login(provider_email, password=h.TEST_PASSWORD)
    resp = srv.request("POST", "/v1/locations", {
        "provider_id": provider_id, "name": "Logeerhuis De Linde", "municipality": "GM0106",
        "address": "Lindelaan 4", "lat": 52.992, "lon": 6.564,
        "facilities": ["dementia", "garden", "night_care"], "exclusions": []}, token=provider)
    location = ok(resp, "POST /v1/locations")["id"]
    pool = h.make_pool(srv, url, provider, provider_id, 1, today, today + dt.timedelta(days=120),
                       name="Logeerkamer", location_id=location,
                       care_profiles=("dementia", "somatic")).id
    # The asked dates (day 14 for 3 nights) are taken by someone else's confirmed stay.
    other = srv.login(h.add_caregivers(url, 1, prefix="pf")[0], password=h.TEST_PASSWORD)
    asked = today + dt.timedelta(days=14)
    stay = ok(srv.request("POST", "/v1/stays", h.stay_body(
        pool, asked, asked + dt.timedelta(days=3), funding="zvw"), token=other,
        headers={"Idempotency-Key": uuid.uuid4().hex}), "POST /v1/stays")
    ok(srv.request("POST", f"/v1/stays/{stay['id']}/confirm", token=other), "confirm")
    # The keyboard user: an account with the person already described.
    keyboard_email = h.add_caregivers(url, 1, prefix="kb")[0]
    keyboard = srv.login(keyboard_email, password=h.TEST_PASSWORD)
    ok(srv.request("POST", "/v1/guests", {"alias": "dhr. K.", "birth_year": 1944,
                                          "care_profile": "dementia", "needs": [],
                                          "funding": "zvw"}, token=keyboard), "POST /v1/guests")

    artifacts = os.environ.get("LOGEER_TEST_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    shots = [artifacts]
    if os.environ.get("LOGEER_UPDATE_SCREENSHOT") == "1":
        shots.append(os.path.join(h.SOURCE_DIR, "docs"))
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}",
               LOGEER_SHOT_DIRS=",".join(shots), LOGEER_ASKED=str(asked),
               LOGEER_POOL=pool, LOGEER_BLOCKING_STAY=stay["id"], LOGEER_PROVIDER_TOKEN=provider,
               LOGEER_KEYBOARD_EMAIL=keyboard_email, LOGEER_KEYBOARD_PASSWORD=h.TEST_PASSWORD)
    browser.run(SCRIPT, env, timeout=540)
    h.check_counters_match_stays("after the browser flow", url, pool)
    srv.stop()


h.main(globals())
