"""The open figures (GET /v1/open/availability[.csv]) on a region built for the test through
the API: three planned pools in Assen and Emmen, a crisis pool in Assen, stays held and
confirmed by a caregiver. The figures equal free planned nights per municipality, ISO week
and care profile computed here by hand from the capacity and stays the test made; crisis
beds and crisis stays change nothing in them; nothing personal is in the answer; a location
shows its own row only after its provider chose so; ETag and 304; the CSV says the same; the
weeks argument is checked; the figures have their own rate limit, apart from the visitors'
search."""

import csv
import datetime as dt
import io
import json
import uuid

import harness as h

ASSEN, EMMEN = "GM0106", "GM0114"


def world():
    def make():
        url = h.migrated_database()
        srv = h.Server(url, keep=True)
        tag = uuid.uuid4().hex[:6]
        h.add_user(url, f"beheer-{tag}@test.logeer.nl", "admin")
        admin = srv.login(f"beheer-{tag}@test.logeer.nl", h.TEST_PASSWORD)
        providers = []
        for name in ("Zorggroep Open", "Zorggroep Ander"):
            resp = srv.request("POST", "/v1/providers", {"name": name}, token=admin)
            providers.append(resp.json["id"])
        h.add_user(url, f"planner-{tag}@test.logeer.nl", "provider", provider=providers[0])
        h.add_user(url, f"ander-{tag}@test.logeer.nl", "provider", provider=providers[1])
        h.add_user(url, f"mz-{tag}@test.logeer.nl", "caregiver", municipality=ASSEN)
        h.add_user(url, f"arts-{tag}@test.logeer.nl", "referrer")
        w = {"url": url, "srv": srv, "admin": admin, "provider": providers[0],
             "planner": srv.login(f"planner-{tag}@test.logeer.nl", h.TEST_PASSWORD),
             "other": srv.login(f"ander-{tag}@test.logeer.nl", h.TEST_PASSWORD),
             "caregiver": srv.login(f"mz-{tag}@test.logeer.nl", h.TEST_PASSWORD),
             "referrer": srv.login(f"arts-{tag}@test.logeer.nl", h.TEST_PASSWORD),
             "today": h.today_local(url), "pools": {}, "stays": []}
        build_region(w)
        return w
    return h.once("world", make)


def build_region(w):
    """Pools and stays, each remembered as the hand computation needs it."""
    t, srv, url = w["today"], w["srv"], w["url"]
    specs = [  # name, municipality, kind, beds, first night offset, last night offset, profiles
        ("a", ASSEN, "planned", 2, 0, 21, ("dementia", "somatic")),
        ("b", ASSEN, "planned", 1, 5, 12, ("somatic",)),
        ("c", EMMEN, "planned", 3, 1, 27, ("youth",)),
        ("crisis", ASSEN, "crisis", 2, 0, 27, ("dementia", "somatic")),
    ]
    for name, municipality, kind, beds, first, last, profiles in specs:
        night_from, night_to = t + dt.timedelta(days=first), t + dt.timedelta(days=last + 1)
        pool = h.make_pool(srv, url, w["planner"], w["provider"], beds, night_from, night_to,
                           kind=kind, municipality=municipality, care_profiles=profiles,
                           wmo_municipalities=(municipality,),
                           name=f"Open {name} {uuid.uuid4().hex[:4]}")
        w["pools"][name] = {"id": pool.id, "location_id": pool.location_id,
                            "municipality": municipality, "kind": kind, "profiles": profiles,
                            "beds": {night_from + dt.timedelta(days=i): beds
                                     for i in range((night_to - night_from).days)}}
    # A confirmed stay and a hold in Assen, a confirmed stay in Emmen.
    book(w, "a", 1, 4, confirm=True)
    book(w, "a", 2, 3, confirm=False)
    book(w, "c", 8, 11, confirm=True)


def book(w, pool, first, last_exclusive, confirm, token=None, **extra):
    t = w["today"]
    body = h.stay_body(w["pools"][pool]["id"], t + dt.timedelta(days=first),
                       t + dt.timedelta(days=last_exclusive), alias="mevr. Geheim",
                       birth_year=1938, care_profile=w["pools"][pool]["profiles"][0], **extra)
    resp = w["srv"].request("POST", "/v1/stays", body, token=token or w["caregiver"])
    if not h.check(f"set-up: a stay in pool {pool} is held (201)", resp.status == 201,
                   repr(resp)):
        return None
    sid = resp.json["id"]
    if confirm:
        done = w["srv"].request("POST", f"/v1/stays/{sid}/confirm", token=token or w["caregiver"])
        h.check(f"set-up: the stay in pool {pool} is confirmed", done.status == 200, repr(done))
    if w["pools"][pool]["kind"] == "planned":
        w["stays"].append((pool, t + dt.timedelta(days=first),
                           t + dt.timedelta(days=last_exclusive)))
    return sid


def expected(w, weeks):
    """{(municipality, week label): (free, beds, {profile: (free, beds)})} by hand: every
    planned pool's beds per night from today, minus the planned stays on that night."""
    t = w["today"]
    monday = t - dt.timedelta(days=t.weekday())
    out = {}
    for name, pool in w["pools"].items():
        if pool["kind"] != "planned":
            continue
        for night, beds in pool["beds"].items():
            week = (night - monday).days // 7
            if night < t or week >= weeks:
                continue
            used = sum(1 for p, cin, cout in w["stays"] if p == name and cin <= night < cout)
            label = "%d-W%02d" % night.isocalendar()[:2]
            free, total, profiles = out.get((pool["municipality"], label), (0, 0, {}))
            for profile in pool["profiles"]:
                pf, pb = profiles.get(profile, (0, 0))
                profiles[profile] = (pf + beds - used, pb + beds)
            out[(pool["municipality"], label)] = (free + beds - used, total + beds, profiles)
    return out


def observed(doc):
    out = {}
    for m in doc["municipalities"]:
        for week in m["weeks"]:
            profiles = {p: (v["free_nights"], v["bed_nights"])
                        for p, v in week.get("care_profiles", {}).items()}
            if week["bed_nights"] or week["free_nights"] or profiles:
                out[(m["code"], week["week"])] = (week["free_nights"], week["bed_nights"],
                                                  profiles)
    return out


def figures(w, query="?weeks=4", **kw):
    return w["srv"].get("/v1/open/availability" + query, **kw)


def test_the_figures_equal_the_hand_computed_scenario():
    w = world()
    resp = figures(w)
    if not h.check("GET /v1/open/availability without login answers 200 JSON",
                   resp.status == 200 and isinstance(resp.json, dict), repr(resp)[:300]):
        return
    doc = resp.json
    want, got = expected(w, 4), observed(doc)
    for key in sorted(want):
        h.info(f"{key}: expected free/beds {want[key][:2]}, answered {got.get(key, (0, 0))[:2]}")
    h.check_equal("free and offered planned nights per municipality and ISO week, per care "
                  "profile, equal the hand computation", got, want)
    h.check("the answer covers 4 ISO weeks from this one, the first from today",
            [wk["start"] for wk in doc["weeks"]] == [
                str(w["today"] - dt.timedelta(days=w["today"].weekday() - 7 * i))
                for i in range(4)]
            and doc["weeks"][0]["nights"] == 7 - w["today"].weekday(), doc["weeks"])
    h.check("every municipality of the region is listed, also those without beds",
            {m["code"] for m in doc["municipalities"]} == set(h.DRENTHE),
            [m["code"] for m in doc["municipalities"]])
    h.check("the licence is CC0 1.0, in the body and the Link header",
            doc["licence"]["id"] == "CC0-1.0" and "publicdomain/zero/1.0" in
            (resp.header("Link") or ""), (doc["licence"], resp.header("Link")))
    h.check_equal("the default is 12 weeks", len(figures(w, "").json["weeks"]), 12)


def test_crisis_beds_and_crisis_stays_change_nothing():
    w = world()
    before = figures(w)
    crisis = w["pools"]["crisis"]
    body = h.stay_body(crisis["id"], w["today"] + dt.timedelta(days=2),
                       w["today"] + dt.timedelta(days=6), funding="zvw", alias="dhr. Spoed",
                       birth_year=1938)
    placed = w["srv"].request("POST", "/v1/stays", body, token=w["referrer"])
    h.check("set-up: the referrer places a crisis stay in the crisis pool", placed.status == 201,
            repr(placed))
    more = h.put_capacity(w["srv"], w["planner"], crisis["id"],
                          [{"from": w["today"], "to": w["today"] + dt.timedelta(days=20),
                            "beds": 5}])
    h.check("set-up: the crisis pool gets more beds", more.status == 200, repr(more))
    after = figures(w)
    h.check("the open figures are byte for byte the same after a crisis stay and new crisis "
            "beds", after.status == 200 and after.body == before.body, "")
    h.check("and so is the ETag", after.header("ETag") == before.header("ETag"),
            (before.header("ETag"), after.header("ETag")))


def all_keys(value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(k)
            all_keys(v, out)
    elif isinstance(value, list):
        for v in value:
            all_keys(v, out)
    return out


def test_nothing_personal_and_no_location_unless_its_provider_chose_so():
    w = world()
    resp = figures(w)
    text = resp.text
    stays = h.psql(w["url"], "SELECT id, guest_alias FROM stays")
    leaked = [v for row in stays for v in row if v and v in text]
    leaked += [v for v in ("Geheim", "Spoed", "1938", "crisis", "@test.logeer.nl") if v in text]
    leaked += [p["id"] for p in w["pools"].values() if p["id"] in text]
    h.check("no stay id, alias, birth year, email, pool id or the word crisis in the answer",
            not leaked, leaked)
    keys = all_keys(resp.json, set())
    allowed = {"licence", "id", "name", "url", "as_of", "weeks", "week", "start", "end",
               "nights", "municipalities", "code", "free_nights", "bed_nights",
               "care_profiles", "locations", "dementia", "somatic", "youth", "disability",
               "psychiatric"}
    h.check("the answer has only the documented members", keys <= allowed, keys - allowed)
    h.check("no location is listed before a provider chose so",
            all(m["locations"] == [] for m in resp.json["municipalities"]))

    a = w["pools"]["a"]
    other = w["srv"].request("PATCH", f"/v1/locations/{a['location_id']}/open-data",
                             {"publish_location": True}, token=w["other"])
    h.check_problem("another provider's planner cannot choose for this location: 404", other, 404)
    caregiver = w["srv"].request("PATCH", f"/v1/locations/{a['location_id']}/open-data",
                                 {"publish_location": True}, token=w["caregiver"])
    h.check_problem("a caregiver may not: 403", caregiver, 403)
    bad = w["srv"].request("PATCH", f"/v1/locations/{a['location_id']}/open-data",
                           {"publish_location": "ja"}, token=w["planner"])
    h.check_problem("publish_location must be true or false: 422", bad, 422)
    chose = w["srv"].request("PATCH", f"/v1/locations/{a['location_id']}/open-data",
                             {"publish_location": True}, token=w["planner"])
    h.check("the planner chooses to show the location: 200 publish_location true",
            chose.status == 200 and chose.json == {"location_id": a["location_id"],
                                                   "publish_location": True}, repr(chose))
    read = w["srv"].get(f"/v1/locations/{a['location_id']}/open-data", token=w["planner"])
    h.check("GET says so too", read.status == 200 and read.json["publish_location"] is True,
            repr(read))
    doc = figures(w).json
    assen = next(m for m in doc["municipalities"] if m["code"] == ASSEN)
    h.check("now Assen lists that location, and only that one",
            [loc["id"] for loc in assen["locations"]] == [a["location_id"]], assen["locations"])
    only_a = {"pools": {"a": a}, "stays": w["stays"], "today": w["today"]}
    want = {k[1]: v[:2] for k, v in expected(only_a, 4).items()}
    got = {wk["week"]: (wk["free_nights"], wk["bed_nights"])
           for wk in assen["locations"][0]["weeks"] if wk["bed_nights"]}
    h.check_equal("its own figures per week equal the hand computation for its pool", got, want)
    off = w["srv"].request("PATCH", f"/v1/locations/{a['location_id']}/open-data",
                           {"publish_location": False}, token=w["planner"])
    h.check("the planner takes it back", off.status == 200, repr(off))
    doc = figures(w).json
    h.check("and the location is gone from the figures again",
            all(m["locations"] == [] for m in doc["municipalities"]))


def test_etag_and_304_until_a_booking_changes_the_figures():
    w = world()
    first = figures(w)
    etag = first.header("ETag")
    h.check("the answer has a strong ETag and public caching",
            bool(etag) and not etag.startswith("W/")
            and "public" in first.header("Cache-Control", "")
            and "max-age=" in first.header("Cache-Control", ""),
            (etag, first.header("Cache-Control")))
    again = figures(w, headers={"If-None-Match": etag})
    h.check("If-None-Match with that tag: 304 without a body",
            again.status == 304 and not again.body and again.header("ETag") == etag,
            repr(again))
    book(w, "b", 6, 8, confirm=True)
    changed = figures(w, headers={"If-None-Match": etag})
    h.check("after a booking in a planned pool: 200 with a new ETag",
            changed.status == 200 and changed.header("ETag") != etag, repr(changed)[:200])
    h.check_equal("and the figures still equal the hand computation", observed(changed.json),
                  expected(w, 4))


def test_csv_says_the_same():
    w = world()
    doc = figures(w).json
    answers = {"/v1/open/availability.csv?weeks=4": {},
               "/v1/open/availability?weeks=4&format=csv": {},
               "/v1/open/availability?weeks=4": {"Accept": "text/csv"}}
    for path, headers in answers.items():
        resp = w["srv"].get(path, headers=headers)
        h.check(f"{path} {headers or ''}: 200 text/csv",
                resp.status == 200 and resp.header("Content-Type", "").startswith("text/csv"),
                repr(resp)[:200])
        rows = list(csv.DictReader(io.StringIO(resp.body.decode("utf-8-sig"))))
        totals = {(r["municipality"], r["week"]): (int(r["free_nights"]), int(r["bed_nights"]))
                  for r in rows if r["care_profile"] == "all" and not r["location_id"]}
        want = {(m["code"], wk["week"]): (wk["free_nights"], wk["bed_nights"])
                for m in doc["municipalities"] for wk in m["weeks"]}
        h.check_equal(f"{path}: the municipality totals equal the JSON's", totals, want)
        profiles = {(r["municipality"], r["week"], r["care_profile"]): int(r["free_nights"])
                    for r in rows if r["care_profile"] != "all"}
        want = {(m["code"], wk["week"], p): v["free_nights"] for m in doc["municipalities"]
                for wk in m["weeks"] for p, v in wk["care_profiles"].items()}
        h.check_equal(f"{path}: and so do the care profiles", profiles, want)


def test_weeks_are_checked():
    w = world()
    for query in ("?weeks=0", "?weeks=abc", "?weeks=158", "?format=xml"):
        h.check_problem(f"GET /v1/open/availability{query}: 422", figures(w, query), 422)
    # The test's pools book 365 days ahead: 53 weeks; more is past the region's horizon.
    h.check("53 weeks (the horizon) is fine", figures(w, "?weeks=53").status == 200)
    h.check_problem("54 weeks is past every pool's horizon: 422", figures(w, "?weeks=54"), 422)


def test_the_open_figures_have_their_own_rate_limit():
    url = h.migrated_database()
    srv = h.Server(url, env={"LOGEER_OPEN_RATE": "1", "LOGEER_OPEN_BURST": "3",
                             "LOGEER_VISITOR_RATE": "1", "LOGEER_VISITOR_BURST": "2"})
    statuses = [srv.get("/v1/open/availability?weeks=1").status for _ in range(4)]
    h.check_equal("three in a burst, then 429", statuses, [200, 200, 200, 429])
    limited = srv.get("/v1/open/availability?weeks=1")
    h.check("the 429 is a problem with Retry-After",
            h.is_problem(limited, 429) and int(limited.header("Retry-After", "0")) >= 1,
            repr(limited))
    day = h.today_local(url) + dt.timedelta(days=7)
    search = srv.get(f"/v1/availability?check_in={day}&nights=2")
    h.check("the visitors' search is not used up by the open figures", search.status == 200,
            repr(search)[:200])
    for _ in range(3):
        srv.get(f"/v1/availability?check_in={day}&nights=2")
    h.check("(the visitors' own limit is reached now)",
            srv.get(f"/v1/availability?check_in={day}&nights=2").status == 429)
    srv.stop()
    other = h.Server(url, env={"LOGEER_VISITOR_RATE": "1", "LOGEER_VISITOR_BURST": "1"})
    for _ in range(3):
        other.get(f"/v1/availability?check_in={day}&nights=2")
    h.check("with the visitors' search used up, the open figures still answer",
            other.get("/v1/open/availability?weeks=1").status == 200)
    other.stop()


h.main(globals())
