"""The provider's bed board (/aanbieder/) in a real browser: starts logeerd on the Drenthe demo
data, adds two pools of Zorggroep Esdorp made for the test (one that asks for approval, one that
books at once), two requests and one stay that starts today, and runs
tests/browser/board.test.mjs (Debian's Chromium driven by playwright-core, axe-core): the
planner logs in, sees the board, changes a range, is told of a colleague's change made
meanwhile (the colleague saves on the board in a second browser with a session of their own), is refused a lowering below what is booked with the nights and the stay named,
confirms "alles klopt nog", accepts one request and declines another with a reason (read back
through the caregiver's own API view and in the portal, the caregiver logged in in a browser
of their own), checks a guest in and out, marks another no-show, cancels a stay with a reason, runs the edit flow by
keyboard alone, edits a pool's rules on the settings page (a refused value shown as a Dutch
sentence at its field, a colleague's change meanwhile reported), and the other provider's planner sees none of it. 0 axe violations in every
state. Screenshots go to artifacts/aanbieder-*.png in the test's working directory; with
LOGEER_UPDATE_SCREENSHOT=1 also to docs/aanbieder-*.png.

Runs in the normal build only (as test_portal_browser). A missing Chromium, Node.js or npm
package is a failure, never a skip: deploy/install-deps.sh installs them."""

import datetime as dt
import os
import uuid

import browser
import harness as h

SCRIPT = "board.test.mjs"
ESDORP = "planner@esdorp.demo.logeer.nl"


def book(srv, token, pool_id, first, last, alias, expect):
    resp = srv.request("POST", "/v1/stays", h.stay_body(pool_id, first, last, alias=alias),
                       token=token, headers={"Idempotency-Key": uuid.uuid4().hex})
    ok = h.check(f"set-up: {alias} is {expect}",
                 resp.status == 201 and (resp.json or {}).get("status") == expect, repr(resp))
    if not ok:
        raise RuntimeError("the browser test needs this stay")
    return resp.json["id"]


def test_board_in_chromium():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    today = h.today_local(url)
    day = lambda n: today + dt.timedelta(days=n)  # noqa: E731
    colleague = srv.login(ESDORP)
    provider = h.DEMO_PROVIDER_IDS[ESDORP]
    approval = h.make_pool(srv, url, colleague, provider, 3, today, day(60),
                           booking_mode="approval", name="Bordtest aanvragen")
    instant = h.make_pool(srv, url, colleague, provider, 3, today, day(60),
                          booking_mode="instant", location_id=approval.location_id,
                          name="Bordtest direct")
    [email] = h.add_caregivers(url, 1, prefix="bord")
    caregiver = srv.login(email, h.TEST_PASSWORD)
    accept = book(srv, caregiver, approval.id, day(5), day(7), "mevr. Akkoord", "requested")
    decline = book(srv, caregiver, approval.id, day(9), day(11), "dhr. Afwijs", "requested")
    arriving = book(srv, caregiver, instant.id, today, day(2), "mevr. Vandaag", "held")
    resp = srv.request("POST", f"/v1/stays/{arriving}/confirm", token=caregiver)
    if not h.check("set-up: mevr. Vandaag's stay is confirmed", resp.status == 200
                   and (resp.json or {}).get("status") == "confirmed", repr(resp)):
        raise RuntimeError("the browser test needs this stay")

    no_show = book(srv, caregiver, instant.id, today, day(1), "dhr. Weg", "held")
    resp = srv.request("POST", f"/v1/stays/{no_show}/confirm", token=caregiver)
    if not h.check("set-up: dhr. Weg's stay is confirmed", resp.status == 200, repr(resp)):
        raise RuntimeError("the browser test needs this stay")

    artifacts = os.environ.get("LOGEER_TEST_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    shots = [os.path.join(artifacts, "aanbieder.png")]
    if os.environ.get("LOGEER_UPDATE_SCREENSHOT") == "1":
        shots.append(os.path.join(h.SOURCE_DIR, "docs", "aanbieder.png"))
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}",
               LOGEER_SCREENSHOTS=",".join(shots), BORD_TODAY=str(today),
               BORD_POOL_APPROVAL=approval.id, BORD_POOL_INSTANT=instant.id,
               BORD_STAY_ACCEPT=accept, BORD_STAY_DECLINE=decline, BORD_STAY_ARRIVING=arriving,
               BORD_STAY_NO_SHOW=no_show,
               BORD_CAREGIVER_TOKEN=caregiver, BORD_CAREGIVER_EMAIL=email,
               BORD_CAREGIVER_PASSWORD=h.TEST_PASSWORD, BORD_COLLEAGUE_TOKEN=colleague)
    browser.run(SCRIPT, env, timeout=560)
    srv.stop()


h.main(globals())
