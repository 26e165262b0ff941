"""The caregiver portal's kennismaking (intake) and toekenning (allowance) steps in a real
browser (tests/browser/portaal-kennismaking.test.mjs, Debian's Chromium through
playwright-core, axe-core on every page and state). This wrapper makes, through the API on a
migrated database without the demo: one provider with a logeerhuis in Assen whose pool asks
for a kennismaking first (intake_required) and takes Wmo and private payment, a caregiver
with the person already described, and two earlier kennismakingen of that person already
decided (a trial of 2 nights first at a care farm whose pool asks for one too; not suitable,
with a reason, at a nursing home). The browser test then asks a kennismaking from the search,
cancels it by keyboard and asks again; the provider (through the API, in the test) schedules
and decides welcome; the caregiver reads it and the search says the place can be booked; the
caregiver enters a toekenning (a BSN-like reference refused at the field), a Wmo request
beyond it shows what is left and succeeds paid privately; the caregiver changes the toekenning
(a change made meanwhile elsewhere shown, more nights saved, a Wmo stay then booked, fewer
nights or an earlier end refused); 320 px reflow on the new pages."""

import datetime as dt
import os
import uuid

import browser
import harness as h

SCRIPT = "portaal-kennismaking.test.mjs"


def ok(resp, what):
    if resp.status not in (200, 201):
        raise RuntimeError(f"{what} refused: {resp!r}")
    return resp.json


def test_portal_intake_and_allowance_in_chromium():
    if not browser.tools_ready():
        return

    url = h.migrated_database(seed=False)
    srv = h.Server(url)
    today = h.today_local(url)
    tag = uuid.uuid4().hex[:6]
    provider_id = h.scalar(url, "INSERT INTO providers (name) VALUES ('Zorggroep Kennis') "
                                "RETURNING id")
    provider_email = f"planner-{tag}@kennis.logeer.nl"
    h.add_user(url, provider_email, "provider", provider=provider_id)
    provider = srv.login(provider_email, password=h.TEST_PASSWORD)
    resp = srv.request("POST", "/v1/locations", {
        "provider_id": provider_id, "name": "Logeerhuis De Hulst", "municipality": "GM0106",
        "address": "Hulstweg 2", "lat": 52.995, "lon": 6.561,
        "facilities": ["dementia", "night_care"], "exclusions": []}, token=provider)
    location = ok(resp, "POST /v1/locations")["id"]
    pool = h.make_pool(srv, url, provider, provider_id, 2, today, today + dt.timedelta(days=120),
                       name="Logeerkamers", location_id=location,
                       funding=("wmo", "private"), care_profiles=("dementia", "somatic")).id
    ok(srv.request("PATCH", f"/v1/pools/{pool}", {"intake_required": True}, token=provider),
       "PATCH /v1/pools/{id} intake_required")
    email = h.add_caregivers(url, 1, prefix="km")[0]
    caregiver = srv.login(email, password=h.TEST_PASSWORD)
    guest = ok(srv.request("POST", "/v1/guests", {"alias": "mevr. H.", "birth_year": 1939,
                                                  "care_profile": "dementia", "needs": [],
                                                  "municipality": "GM0106", "funding": "wmo"},
                           token=caregiver), "POST /v1/guests")["id"]
    # Two earlier kennismakingen, decided before the browser comes: a trial first at a care
    # farm whose pool also asks for one, and "not suitable" at a nursing home.
    decided = {}
    for name, outcome in (("Zorgboerderij De Es", {"outcome": "trial_first", "trial_max_nights": 2}),
                          ("Verpleeghuis Het Anker", {"outcome": "not_suitable",
                                                      "reason": "Wij hebben geen nachtzorg."})):
        at = ok(srv.request("POST", "/v1/locations", {
            "provider_id": provider_id, "name": name, "municipality": "GM0106",
            "address": "Esweg 1", "lat": 52.99, "lon": 6.56, "facilities": ["dementia"],
            "exclusions": []}, token=provider), "POST /v1/locations")["id"]
        decided[name] = at
        intake = ok(srv.request("POST", "/v1/intakes", {"guest_id": guest, "location_id": at,
                                                        "moments": "maandag"}, token=caregiver),
                    "POST /v1/intakes")["id"]
        ok(srv.request("POST", f"/v1/intakes/{intake}/schedule",
                       {"at": f"{today}T09:00:00Z"}, token=provider), "schedule")
        ok(srv.request("POST", f"/v1/intakes/{intake}/decide", outcome, token=provider), "decide")
    trial_pool = h.make_pool(srv, url, provider, provider_id, 1, today,
                             today + dt.timedelta(days=120), name="Logeerkamer",
                             location_id=decided["Zorgboerderij De Es"],
                             funding=("wmo", "private")).id
    ok(srv.request("PATCH", f"/v1/pools/{trial_pool}", {"intake_required": True},
                   token=provider), "PATCH /v1/pools/{id} intake_required")
    # The search index learns intake_required through NOTIFY a moment after the PATCH.
    shown = h.wait_until(lambda: sum(
        r.get("access") == "intake_first" for r in (srv.get(
            f"/v1/availability?check_in={today + dt.timedelta(days=14)}&nights=3",
            token=caregiver).json or {}).get("results", [])) == 2, 10)
    h.check("the search index says intake_first for both pools", bool(shown))

    artifacts = os.environ.get("LOGEER_TEST_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    shots = [artifacts]
    if os.environ.get("LOGEER_UPDATE_SCREENSHOT") == "1":
        shots.append(os.path.join(h.SOURCE_DIR, "docs"))
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}",
               LOGEER_SHOT_DIRS=",".join(shots), LOGEER_TODAY=str(today),
               LOGEER_ASKED=str(today + dt.timedelta(days=14)), LOGEER_POOL=pool,
               LOGEER_LOCATION=location, LOGEER_PROVIDER_TOKEN=provider,
               LOGEER_EMAIL=email, LOGEER_PASSWORD=h.TEST_PASSWORD)
    browser.run(SCRIPT, env, timeout=540)
    funding = h.psql(url, f"SELECT funding FROM stays WHERE pool_id = '{pool}' "
                          "AND status = 'confirmed' ORDER BY funding")
    h.check_equal("two confirmed stays: the one beyond the first toekenning paid privately, "
                  "the later one with Wmo", [r[0] for r in funding], ["private", "wmo"])
    allowance = h.psql(url, "SELECT nights_per_week, valid_to, reference FROM allowances")
    h.check_equal("the toekenning as the accepted changes left it (the refused ones changed "
                  "nothing)", [tuple(r) for r in allowance],
                  [("3", str(today + dt.timedelta(days=365)), "WMO-2026-0042-B")])
    h.check_counters_match_stays("after the browser flow", url, pool)
    srv.stop()


h.main(globals())
