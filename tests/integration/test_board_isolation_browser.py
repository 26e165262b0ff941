"""Provider isolation through the web routes: two planners of two providers, each in a browser
context of their own (own cookie session), on the bed board (/aanbieder/) and its settings page.
Sets up, for Zorggroep Esdorp (provider A), a pool that asks for approval with a request and a
pool that books at once with a confirmed stay, an intake asked at A's location and an import
A applies on the board; then runs tests/browser/board-isolation.test.mjs: A sees all of it (so
the checks on B can fail), B's board, edit form, import answer and settings page show none of
A's pools, stays, intakes or import results, B's own session (cookie and CSRF, as the pages
call the API) gets none of them either, and deep links to A's pool and location on the
settings page say "niet gevonden" and "geen toegang" in Dutch without showing any of A's data.
0 axe violations in every new state. Runs in the normal build only (as test_board_browser)."""

import datetime as dt
import uuid

import browser
import harness as h

SCRIPT = "board-isolation.test.mjs"
ESDORP = "planner@esdorp.demo.logeer.nl"


def setup_ok(name, ok, detail=""):
    if not h.check("set-up: " + name, ok, detail):
        raise RuntimeError("the browser test needs this")


def test_provider_isolation_in_two_browsers():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    today = h.today_local(url)
    day = lambda n: today + dt.timedelta(days=n)  # noqa: E731
    esdorp = srv.login(ESDORP)
    provider = h.DEMO_PROVIDER_IDS[ESDORP]
    approval = h.make_pool(srv, url, esdorp, provider, 3, today, day(60),
                           booking_mode="approval", name="Geheimhof aanvragen")
    instant = h.make_pool(srv, url, esdorp, provider, 3, today, day(60),
                          location_id=approval.location_id, name="Geheimhof direct")
    [email] = h.add_caregivers(url, 1, prefix="iso")
    caregiver = srv.login(email, h.TEST_PASSWORD)

    def book(pool, first, last, alias):
        resp = srv.request("POST", "/v1/stays", h.stay_body(pool, day(first), day(last),
                                                              alias=alias),
                           token=caregiver, headers={"Idempotency-Key": uuid.uuid4().hex})
        setup_ok(f"{alias} books in A's pool", resp.status == 201, repr(resp))
        return resp.json["id"]

    requested = book(approval.id, 3, 5, "mevr. Geheim")
    confirmed = book(instant.id, 0, 2, "dhr. Verborgen")
    resp = srv.request("POST", f"/v1/stays/{confirmed}/confirm", token=caregiver)
    setup_ok("dhr. Verborgen's stay is confirmed", resp.status == 200, repr(resp))
    resp = srv.request("POST", "/v1/guests", {"alias": "mevr. Kennismaking", "birth_year": 1939,
                                              "care_profile": "dementia", "needs": []},
                       token=caregiver)
    setup_ok("a registered guest", resp.status == 201, repr(resp))
    resp = srv.request("POST", "/v1/intakes", {"guest_id": resp.json["id"],
                                               "location_id": approval.location_id,
                                               "moments": "woensdagochtend"}, token=caregiver)
    setup_ok("an intake asked at A's location", resp.status == 201, repr(resp))
    intake = resp.json["id"]

    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}",
               ISO_TODAY=str(today), ISO_POOL_APPROVAL=approval.id, ISO_POOL_INSTANT=instant.id,
               ISO_LOCATION=approval.location_id, ISO_STAY_REQUESTED=requested,
               ISO_STAY_CONFIRMED=confirmed, ISO_INTAKE=intake, ISO_TOKEN_A=esdorp)
    browser.run(SCRIPT, env, timeout=300)
    srv.stop()


h.main(globals())
