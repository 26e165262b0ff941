"""The bed board's practice parts in a real browser: kennismakingen (intakes), transport and a
caregiver staying along on the arrivals list, and the practice rules on the settings page.
Starts logeerd on the Drenthe demo data and makes, through the API: a location and two pools of
Zorggroep Esdorp (one with companion places and check-in and check-out windows), a caregiver
with two registered guests who each ask for a kennismaking at that location (one of them
already scheduled by a colleague), and a confirmed stay from today with the caregiver staying
along, brought at 15:30 and collected at 11:00. Then runs tests/browser/board-practice.test.mjs
(Debian's Chromium through playwright-core, axe-core): the planner schedules one intake and
records "welkom" by keyboard alone, refuses the other as "niet passend" with a reason that the
caregiver's own API view shows, finds a third guest (on trial for 2 nights, the trial stay
booked) under "Na een proefverblijf" with her stay's dates and records "welkom" after it, sees
companion and transport on the arrivals list, and edits the practice rules on the settings
page. 0 axe violations in every state.

Runs in the normal build only (as test_board_browser). A missing Chromium, Node.js or npm
package is a failure, never a skip: deploy/install-deps.sh installs them."""

import datetime as dt
import os
import uuid

import browser
import harness as h

SCRIPT = "board-practice.test.mjs"
ESDORP = "planner@esdorp.demo.logeer.nl"


def must(what, resp, code, **fields):
    """A set-up step through the API that the browser test needs; raises when it fails."""
    body = resp.json if isinstance(resp.json, dict) else {}
    ok = resp.status == code and all(body.get(k) == v for k, v in fields.items())
    if not h.check(f"set-up: {what}", ok, repr(resp)):
        raise RuntimeError("the browser test needs this: " + what)
    return body


def post(srv, token, path, body):
    return srv.request("POST", path, body, token=token,
                       headers={"Idempotency-Key": uuid.uuid4().hex})


def test_board_practice_in_chromium():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    today = h.today_local(url)
    day = lambda n: today + dt.timedelta(days=n)  # noqa: E731
    colleague = srv.login(ESDORP)
    provider = h.DEMO_PROVIDER_IDS[ESDORP]
    pool = h.make_pool(srv, url, colleague, provider, 3, today, day(60),
                       booking_mode="instant", name="Praktijktest logeerkamers")
    other = h.make_pool(srv, url, colleague, provider, 2, today, day(60),
                        booking_mode="approval", location_id=pool.location_id,
                        name="Praktijktest aanvragen")
    resp = srv.request("PATCH", f"/v1/pools/{pool.id}",
                       {"companion_places": 2, "check_in_window": "14:00-18:00",
                        "check_out_window": "10:00-12:00"}, token=colleague)
    must("the pool has 2 companion places and arrival and departure times", resp, 200,
         companion_places=2)

    [email] = h.add_caregivers(url, 1, prefix="praktijk")
    caregiver = srv.login(email, h.TEST_PASSWORD)
    guests = {}
    for alias, born, needs in (("mevr. Welkom", 1942, ["night_care"]),
                               ("dhr. Past Niet", 1938, ["wandering_risk"]),
                               ("mevr. Proef", 1945, [])):
        body = must(f"guest {alias} registered", post(srv, caregiver, "/v1/guests", {
            "alias": alias, "birth_year": born, "care_profile": "dementia", "needs": needs,
            "municipality": "GM0106"}), 201)
        guests[alias] = body["id"]
    welcome = must("mevr. Welkom asks for a kennismaking", post(srv, caregiver, "/v1/intakes", {
        "guest_id": guests["mevr. Welkom"], "location_id": pool.location_id,
        "moments": "Dinsdagmiddag of donderdagochtend"}), 201, status="requested")["id"]
    refuse = must("dhr. Past Niet asks for a kennismaking", post(srv, caregiver, "/v1/intakes", {
        "guest_id": guests["dhr. Past Niet"], "location_id": pool.location_id,
        "moments": "Maandag na 13 uur"}), 201, status="requested")["id"]
    at = f"{day(2)}T10:00:00+01:00"
    must("a colleague has scheduled dhr. Past Niet's kennismaking",
         srv.request("POST", f"/v1/intakes/{refuse}/schedule", {"at": at}, token=colleague),
         200, status="scheduled")

    # mevr. Proef came to a kennismaking, may come on trial for 2 nights, and the trial stay
    # is booked: the board lists her for the outcome that follows.
    trial = must("mevr. Proef asks for a kennismaking", post(srv, caregiver, "/v1/intakes", {
        "guest_id": guests["mevr. Proef"], "location_id": pool.location_id,
        "moments": "Woensdag"}), 201)["id"]
    must("a colleague schedules it", srv.request(
        "POST", f"/v1/intakes/{trial}/schedule", {"at": f"{today}T09:00:00+01:00"},
        token=colleague), 200, status="scheduled")
    must("and decides: first a trial of 2 nights", srv.request(
        "POST", f"/v1/intakes/{trial}/decide", {"outcome": "trial_first", "trial_max_nights": 2},
        token=colleague), 200, outcome="trial_first")
    trial_stay = must("mevr. Proef's trial stay is held", post(srv, caregiver, "/v1/stays", {
        "pool_id": pool.id, "check_in": str(day(5)), "check_out": str(day(7)), "funding": "zvw",
        "guest_id": guests["mevr. Proef"]}), 201)["id"]
    must("and confirmed", srv.request("POST", f"/v1/stays/{trial_stay}/confirm",
                                      token=caregiver), 200, status="confirmed")

    stay = must("a stay from today with the caregiver along and transport both ways",
                post(srv, caregiver, "/v1/stays", h.stay_body(
                    pool.id, today, day(2), alias="mevr. Meelogeer", companion=True,
                    arrival={"by": "caregiver", "time": "15:30", "note": "zoon brengt, rolstoel mee"},
                    departure={"by": "provider", "time": "11:00"})), 201, status="held")["id"]
    must("that stay is confirmed",
         srv.request("POST", f"/v1/stays/{stay}/confirm", token=caregiver), 200,
         status="confirmed")
    plain = must("a stay from tomorrow without transport",
                 post(srv, caregiver, "/v1/stays", h.stay_body(pool.id, day(1), day(3),
                                                               alias="dhr. Zonder")), 201)["id"]
    must("that stay is confirmed",
         srv.request("POST", f"/v1/stays/{plain}/confirm", token=caregiver), 200,
         status="confirmed")

    artifacts = os.environ.get("LOGEER_TEST_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    shots = [os.path.join(artifacts, "aanbieder-praktijk.png")]
    if os.environ.get("LOGEER_UPDATE_SCREENSHOT") == "1":
        shots.append(os.path.join(h.SOURCE_DIR, "docs", "aanbieder-praktijk.png"))
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}",
               LOGEER_SCREENSHOTS=",".join(shots), BORD_TODAY=str(today),
               BORD_POOL=pool.id, BORD_POOL_OTHER=other.id, BORD_INTAKE_WELCOME=welcome,
               BORD_INTAKE_REFUSE=refuse, BORD_INTAKE_TRIAL=trial, BORD_TRIAL_IN=str(day(5)),
               BORD_STAY_COMPANION=stay, BORD_STAY_PLAIN=plain,
               BORD_CAREGIVER_TOKEN=caregiver, BORD_CAREGIVER_EMAIL=email,
               BORD_COLLEAGUE_TOKEN=colleague)
    browser.run(SCRIPT, env, timeout=1100)
    srv.stop()


h.main(globals())
