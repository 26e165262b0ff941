"""The practice reports (docs/practice.md): intakes per month and location (provider staff see
only their own locations), days from the first request to the first stay per quarter and
municipality, nights used against allowances per route and municipality with the grants and
the refusals, and allowance_id in the stay. Known data is built through the API in a
municipality the demo data does not use (Zwolle, GM0193, added here: the demo has people in
every Drenthe municipality) or at locations made here, and every figure is checked exactly, in
JSON and CSV."""

import csv
import datetime as dt
import io
import statistics
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
MUNI = "GM0193"
ENV = {"LOGEER_MAX_OPEN_STAYS": "50"}


def guest_body(alias):
    return {"alias": alias, "birth_year": 1940, "care_profile": "dementia", "needs": [],
            "municipality": MUNI}


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        h.psql(self.url, "INSERT INTO municipalities (code, name, province, lat, lon) VALUES "
                         f"('{MUNI}', 'Zwolle', 'Overijssel', 52.5168, 6.0830) "
                         "ON CONFLICT DO NOTHING")
        self.srv = h.Server(self.url, env=ENV, keep=True)
        self.today = h.today_local(self.url)
        self.cg, self.cg2 = h.login_many(self.srv, h.add_caregivers(self.url, 2, prefix="pr",
                                                                    municipality=MUNI))
        self.esdorp = self.srv.login(ESDORP)
        self.hunzehof = self.srv.login(HUNZEHOF)
        self.coord = self.srv.login(COORDINATOR)
        provider = h.DEMO_PROVIDER_IDS[ESDORP]
        self.pool = h.make_pool(self.srv, self.url, self.esdorp, provider, 5, self.today,
                                self.day(90), wmo_municipalities=(MUNI,), municipality=MUNI,
                                name="Practice reports")
        self.other = h.make_pool(self.srv, self.url, self.hunzehof, h.DEMO_PROVIDER_IDS[HUNZEHOF],
                                 5, self.today, self.day(90), wmo_municipalities=(MUNI,),
                                 municipality=MUNI, name="Practice reports Hunzehof")

    def day(self, n):
        return self.today + dt.timedelta(days=n)

    def guest(self, alias, token=None):
        resp = self.srv.request("POST", "/v1/guests", guest_body(alias), token=token or self.cg)
        if resp.status != 201:
            raise RuntimeError(f"guest not created: {resp!r}")
        return resp.json["id"]

    def book(self, guest_id, first, last, funding="zvw", pool=None, waitlist=False, token=None):
        body = {"pool_id": (pool or self.pool).id, "check_in": str(self.day(first)),
                "check_out": str(self.day(last)), "funding": funding, "guest_id": guest_id,
                "waitlist": waitlist}
        return self.srv.request("POST", "/v1/stays", body, token=token or self.cg,
                                headers={"Idempotency-Key": uuid.uuid4().hex})

    def act(self, token, stay_id, action, body=None):
        resp = self.srv.request("POST", f"/v1/stays/{stay_id}/{action}", body, token=token)
        if resp.status != 200:
            raise RuntimeError(f"{action} refused: {resp!r}")
        return resp.json

    def intake(self, token, guest_id, location):
        resp = self.srv.request("POST", "/v1/intakes", {"guest_id": guest_id,
                                                        "location_id": location,
                                                        "moments": "dinsdagmiddag"}, token=token)
        if resp.status != 201:
            raise RuntimeError(f"intake not asked: {resp!r}")
        return resp.json["id"]

    def intake_act(self, token, iid, action, body):
        resp = self.srv.request("POST", f"/v1/intakes/{iid}/{action}", body, token=token)
        if resp.status != 200:
            raise RuntimeError(f"intake {action} refused: {resp!r}")


def world():
    return h.once("world", World)


def csv_rows(resp):
    text = resp.body.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_intakes_per_month_and_location_and_provider_isolation():
    w = world()
    loc, other_loc = w.pool.location_id, w.other.location_id
    at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).strftime("%Y-%m-%dT10:00:00Z")
    guests = [w.guest(f"I{i}.", token=w.cg2) for i in range(6)]
    ids = [w.intake(w.cg2, g, loc) for g in guests]
    for iid in ids[:4] + ids[5:]:
        w.intake_act(w.esdorp, iid, "schedule", {"at": at})
    w.intake_act(w.esdorp, ids[0], "decide", {"outcome": "welcome"})
    w.intake_act(w.esdorp, ids[1], "decide", {"outcome": "not_suitable",
                                               "reason": "nachtzorg nodig"})
    w.intake_act(w.esdorp, ids[2], "decide", {"outcome": "not_suitable",
                                               "reason": "nachtzorg nodig"})
    w.intake_act(w.esdorp, ids[3], "cancel", {"reason": "andere plek gevonden"})
    w.intake_act(w.esdorp, ids[5], "decide", {"outcome": "trial_first", "trial_max_nights": 2})
    # ids[4] stays requested (open). One intake at the other provider's location.
    w.intake(w.cg2, guests[0], other_loc)

    month = w.today.strftime("%Y-%m")
    resp = w.srv.get("/v1/reports/intakes", token=w.coord)
    h.check_equal("the coordinator reads the intakes report", resp.status, 200)
    rows = [r for r in resp.json["rows"] if r["location"]["id"] == loc]
    h.check_equal("one row for the location this month", [r["month"] for r in rows], [month])
    row = rows[0] if rows else {}
    expected = {"asked": 6, "scheduled": 5, "decided": 4, "welcome": 1, "trial_first": 1,
                "not_suitable": 2, "cancelled": 1, "open": 1,
                "not_suitable_reasons": [{"reason": "nachtzorg nodig", "count": 2}]}
    h.check_equal("every figure of the row", {k: row.get(k) for k in expected}, expected)
    h.check("the row names provider and municipality",
            row.get("provider", {}).get("id") == h.DEMO_PROVIDER_IDS[ESDORP]
            and row.get("location", {}).get("municipality") == MUNI, row)
    h.check("the coordinator also sees the other provider's location",
            any(r["location"]["id"] == other_loc for r in resp.json["rows"]))

    mine = w.srv.get("/v1/reports/intakes", token=w.esdorp)
    h.check_equal("provider staff read it too", mine.status, 200)
    h.check("provider staff see only their own provider's rows",
            mine.json["rows"] and all(r["provider"]["id"] == h.DEMO_PROVIDER_IDS[ESDORP]
                                      for r in mine.json["rows"])
            and not any(r["location"]["id"] == other_loc for r in mine.json["rows"]),
            mine.json["rows"])
    theirs = w.srv.get("/v1/reports/intakes", token=w.hunzehof)
    h.check("the other provider sees its own intake and none of Esdorp's",
            [r["asked"] for r in theirs.json["rows"] if r["location"]["id"] == other_loc] == [1]
            and not any(r["location"]["id"] == loc for r in theirs.json["rows"]),
            theirs.json["rows"])
    h.check("the other provider's total counts only its own intakes",
            theirs.json["total"]["asked"] == sum(r["asked"] for r in theirs.json["rows"]),
            theirs.json["total"])
    h.check_problem("a caregiver may not read it", w.srv.get("/v1/reports/intakes",
                                                             token=w.cg), 403)
    h.check_problem("a window the wrong way round is 422", w.srv.get(
        f"/v1/reports/intakes?from={w.today}&to={w.day(-1)}", token=w.coord), 422)

    table = w.srv.get("/v1/reports/intakes?format=csv", token=w.coord)
    h.check("the CSV variant is text/csv", table.status == 200
            and table.header("Content-Type", "").startswith("text/csv"), repr(table))
    lines = [r for r in csv_rows(table) if r["location_id"] == loc]
    h.check("the CSV row has the same figures and the reasons in one cell",
            len(lines) == 1 and lines[0]["asked"] == "6" and lines[0]["not_suitable"] == "2"
            and lines[0]["not_suitable_reasons"] == "nachtzorg nodig: 2"
            and lines[0]["section"] == "row", lines)


def test_days_from_first_request_to_first_stay():
    w = world()
    # Four guests of a caregiver in Zwolle: 10 and 20 days to a first stay, one waiting on the
    # waitlist, one whose only stay was cancelled.
    cg = h.login_many(w.srv, h.add_caregivers(w.url, 1, prefix="fs", municipality=MUNI))[0]
    a, b, c, d = (w.guest(n, token=cg) for n in ("A.", "B.", "C.", "D."))
    sa = w.book(a, 10, 12, token=cg)
    h.check_equal("a first stay is held (201)", sa.status, 201)
    w.act(cg, sa.json["id"], "confirm")
    full = h.make_pool(w.srv, w.url, w.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 0, w.today,
                       w.day(60), municipality=MUNI, name="Practice full")
    w.intake(cg, b, full.location_id)  # the first request of b is an intake
    sb = w.book(b, 20, 22, token=cg)
    w.act(cg, sb.json["id"], "confirm")
    sc = w.book(c, 30, 32, pool=full, waitlist=True, token=cg)
    h.check("c waits", sc.status == 201 and sc.json["status"] == "waitlisted", repr(sc))
    sd = w.book(d, 5, 7, token=cg)
    w.act(cg, sd.json["id"], "confirm")
    w.act(cg, sd.json["id"], "cancel", {"reason": "ziek"})

    resp = w.srv.get("/v1/reports/first-stay", token=w.coord)
    h.check_equal("the coordinator reads the first-stay report", resp.status, 200)
    quarter = f"{w.today.year}-Q{(w.today.month - 1) // 3 + 1}"
    rows = [r for r in resp.json["rows"] if r["municipality"]["code"] == MUNI]
    h.check_equal("one row for Zwolle this quarter", [r["quarter"] for r in rows], [quarter])
    row = rows[0] if rows else {}
    # Every guest in Zwolle with a first request made here is ours (the intake test's guests
    # asked intakes only and count as waiting).
    intake_only = 6
    expected = {"guests": 4 + intake_only, "with_first_stay": 2,
                "still_waiting": 2 + intake_only, "days_median": 15.0, "days_p90": 19.0}
    h.check_equal("guests, first stays, median and p90 of the days, still waiting",
                  {k: row.get(k) for k in expected}, expected)
    h.check("the municipality carries its name", row.get("municipality", {}).get("name")
            not in (None, "onbekend"), row)
    h.check_problem("provider staff may not read it", w.srv.get("/v1/reports/first-stay",
                                                                token=w.esdorp), 403)
    table = w.srv.get("/v1/reports/first-stay?format=csv", token=w.coord)
    lines = [r for r in csv_rows(table) if r["municipality"] == MUNI]
    h.check("the CSV row has the same figures", len(lines) == 1
            and lines[0]["days_median"] == "15" and lines[0]["days_p90"] == "19"
            and lines[0]["with_first_stay"] == "2", lines)
    empty = w.srv.get(f"/v1/reports/first-stay?from={w.day(-400)}&to={w.day(-300)}",
                      token=w.coord)
    h.check("a window before any request has no rows and a zero total",
            empty.status == 200 and empty.json["rows"] == []
            and empty.json["total"]["guests"] == 0, repr(empty))


def test_allowance_use_per_route_municipality_month_and_year():
    w = world()
    cg = h.login_many(w.srv, h.add_caregivers(w.url, 1, prefix="au", municipality=MUNI))[0]
    g = w.guest("U.", token=cg)
    resp = w.srv.request("POST", "/v1/allowances", {
        "guest_id": g, "funding": "wmo", "nights_per_week": 3, "nights_per_year": 20,
        "valid_from": str(w.today), "valid_to": str(w.day(400)), "municipality": MUNI,
        "reference": "WMO-DW-7"}, token=cg)
    h.check_equal("the Wmo allowance is registered", resp.status, 201)
    allowance = resp.json["id"]

    done = w.book(g, 0, 1, funding="wmo", token=cg)
    h.check("a Wmo stay shows the allowance it counts against", done.status == 201
            and done.json.get("allowance_id") == allowance, repr(done))
    w.act(cg, done.json["id"], "confirm")
    w.act(w.esdorp, done.json["id"], "check-in")
    w.act(w.esdorp, done.json["id"], "check-out")
    conf = w.book(g, 10, 13, funding="wmo", token=cg)
    w.act(cg, conf.json["id"], "confirm")
    held = w.book(g, 20, 22, funding="wmo", token=cg)
    h.check("a held stay counts too", held.status == 201 and held.json["status"] == "held",
            repr(held))
    zvw = w.book(g, 40, 41, funding="zvw", token=cg)
    h.check("a zvw stay needs no allowance (allowance_id null)", zvw.status == 201
            and "allowance_id" in zvw.json and zvw.json["allowance_id"] is None, repr(zvw))
    read = w.srv.get(f"/v1/stays/{conf.json['id']}", token=cg)
    h.check("GET /v1/stays/{id} shows allowance_id", read.json.get("allowance_id") == allowance,
            read.json)
    # Four nights from a Monday with no other stay that week: beyond the weekly grant of 3.
    monday = 24 + (7 - w.day(24).weekday()) % 7
    over = w.book(g, monday, monday + 4, funding="wmo", token=cg)
    h.check_problem("a stay beyond the weekly grant is refused", over, 409)
    none = w.book(g, 30, 32, funding="wlz", token=cg)
    h.check_problem("a wlz stay without a wlz allowance is refused", none, 409)

    year = w.today.year
    resp = w.srv.get(f"/v1/reports/allowance-use?year={year}", token=w.coord)
    h.check_equal("the coordinator reads the allowance report", resp.status, 200)
    months = {}
    for first, last, kind in ((0, 1, "completed"), (10, 13, "confirmed"), (20, 22, "held")):
        for n in range(first, last):
            night = w.day(n)
            if night.year == year:
                key = night.strftime("%Y-%m")
                months.setdefault(key, {"held_nights": 0, "confirmed_nights": 0,
                                        "completed_nights": 0})
                months[key][f"{kind}_nights"] += 1
    this_month = w.today.strftime("%Y-%m")
    got = {r["month"]: {k: r[k] for k in ("held_nights", "confirmed_nights",
                                          "completed_nights")}
           for r in resp.json["months"] if r["funding"] == "wmo"
           and r["municipality"]["code"] == MUNI and r["used_nights"] > 0}
    h.check_equal("nights held, confirmed and completed per month", got, months)
    refused = {r["funding"]: (r["refused_no_allowance"], r["refused_exceeded"])
               for r in resp.json["months"] if r["month"] == this_month
               and r["municipality"]["code"] == MUNI}
    h.check_equal("refusals per route this month", refused, {"wmo": (0, 1), "wlz": (1, 0)})
    years = {r["funding"]: r for r in resp.json["years"] if r["municipality"]["code"] == MUNI}
    used = sum(sum(m.values()) for m in months.values())
    wmo = years.get("wmo", {})
    h.check_equal("the year row: allowances, granted, used and its share",
                  {k: wmo.get(k) for k in ("allowances", "granted_nights", "used_nights",
                                           "used_pct", "refused_exceeded")},
                  {"allowances": 1, "granted_nights": 20, "used_nights": used,
                   "used_pct": round(100 * used / 20, 1), "refused_exceeded": 1})
    wlz = years.get("wlz", {})
    h.check_equal("a route without allowances: no grant, one refusal",
                  {k: wlz.get(k) for k in ("allowances", "granted_nights",
                                           "refused_no_allowance")},
                  {"allowances": 0, "granted_nights": None, "refused_no_allowance": 1})
    h.check_problem("provider staff may not read it", w.srv.get("/v1/reports/allowance-use",
                                                                token=w.esdorp), 403)
    h.check_problem("a year out of range is 422", w.srv.get(
        "/v1/reports/allowance-use?year=1999", token=w.coord), 422)
    table = w.srv.get(f"/v1/reports/allowance-use?year={year}", token=w.coord,
                      headers={"Accept": "text/csv"})
    lines = [r for r in csv_rows(table) if r["section"] == "year" and r["funding"] == "wmo"
             and r["municipality"] == MUNI]
    h.check("the CSV year row has the grant and the nights used", len(lines) == 1
            and lines[0]["granted_nights"] == "20" and lines[0]["used_nights"] == str(used),
            lines)


h.main(globals())
