"""Reports for the regional coordinator: GET /v1/reports/occupancy and /v1/reports/demand.

A small region is built through the API on an empty database (two providers, three
locations, four pools, thirteen stays in every interesting state, three searches), and every
figure of both reports is checked against answers worked out by hand below, in JSON and in
CSV. Time is simulated only where the API cannot wait: a pool's as_of and a few stays'
created_at are moved back with SQL, and one hold's expiry is brought forward.

The scenario (T = today in Europe/Amsterdam, M = the first Monday at least 7 days ahead;
weeks W1 = [M, M+7), W2 = [M+7, M+14); the occupancy window is [M, M+14)):

  P1 "Zorg Een"  L1 Assen (GM0106): A planned instant 2 beds, B crisis 1 bed (nights M..M+13;
                                    A also 2 beds on T and T+1)
  P2 "Zorg Twee" L2 Emmen (GM0114): C planned approval 3 beds (nights M..M+6)
                 L3 Aa en Hunze (GM1680): D planned instant 1 bed (M..M+13), counts 10 days old

  stay who          pool nights       ends as             profile   created  confirmed after
  s1   c1 (GM0106)  A    M..M+2       confirmed           dementia  -1 day   1.0 day
  s2   c2 (GM0106)  A    M+5..M+8     held                somatic
  s3   c1           A    M+10..M+11   confirmed, cancelled dementia            0.0
  s4   coordinator  A    M+7..M+9     diversion confirmed dementia             0.0
  s5   referrer     B    M+1..M+3     crisis confirmed    somatic              0.0
  s6   c3 (GM0114)  C    M+2..M+4     requested, accepted dementia  -4 days  4.0
  s7   c3           C    M..M+1       declined R1         dementia
  s8   c4 (GM0114)  C    M+4..M+6     declined R1         dementia
  s9   c4           C    M+1..M+2     declined R2         dementia
  s10  c5 (GM1680)  D    M+3..M+4     confirmed (stale)   somatic   -2.5 d   2.5
  s11  c5           A    M+7..M+8     waitlisted (full)   dementia  -3 days (waiting 3.0)
  s12  c2           A    T            confirmed, no-show  somatic              0.0
  s13  c6 (GM0106)  A    M+12..M+13   hold expired        dementia
  searches: c1 youth (0 results), c1 dementia (>0 results), c3 youth (0 results)
"""

import csv
import datetime as dt
import io
import urllib.parse

import harness as h

R1 = "Geen plek voor deze zorgvraag"
R2 = 'Zorgzwaarte te hoog, "nachtzorg" nodig'  # a comma and quotes: RFC 4180 quoting
STALE_DAYS = 10


class World:
    def __init__(self):
        self.url = h.migrated_database()
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        ahead = self.today + dt.timedelta(days=7)
        self.M = ahead + dt.timedelta(days=(7 - ahead.weekday()) % 7)
        self.ids = {}
        self.build()

    def day(self, offset):
        return self.M + dt.timedelta(days=offset)

    def req(self, method, path, token, body=None, headers=None):
        return self.srv.request(method, path, body, token=token, headers=headers)

    def must(self, name, resp, status, expect_status=None):
        ok = resp.status == status and (
            expect_status is None or (resp.json or {}).get("status") == expect_status)
        if not h.check(name, ok, repr(resp)):
            raise RuntimeError(f"scenario step failed: {name}")
        return resp.json

    def user(self, email, role, **kw):
        h.add_user(self.url, email, role, **kw)
        return self.srv.login(email, h.TEST_PASSWORD)

    def build(self):
        url = self.url
        self.admin = self.user("beheer@rep.test", "admin")
        self.coord = self.user("aanjager@rep.test", "coordinator")
        self.referrer = self.user("huisarts@rep.test", "referrer")
        p1 = self.must("admin creates provider P1", self.req(
            "POST", "/v1/providers", self.admin, {"name": "Zorg Een", "agb_code": "98770001"}), 201)
        p2 = self.must("admin creates provider P2", self.req(
            "POST", "/v1/providers", self.admin, {"name": "Zorg Twee", "agb_code": "98770002"}), 201)
        self.p1, self.p2 = p1["id"], p2["id"]
        self.staff1 = self.user("planner@een.rep.test", "provider", provider=self.p1)
        self.staff2 = self.user("planner@twee.rep.test", "provider", provider=self.p2)
        self.cg = {}
        for name, muni in (("c1", "GM0106"), ("c2", "GM0106"), ("c3", "GM0114"),
                           ("c4", "GM0114"), ("c5", "GM1680"), ("c6", "GM0106")):
            self.cg[name] = self.user(f"{name}@rep.test", "caregiver", municipality=muni)

        M, end = self.M, self.day(14)
        self.A = h.make_pool(self.srv, url, self.staff1, self.p1, 2, M, end, kind="planned",
                             booking_mode="instant", municipality="GM0106", name="Pool A")
        self.B = h.make_pool(self.srv, url, self.staff1, self.p1, 1, M, end, kind="crisis",
                             booking_mode="instant", location_id=self.A.location_id,
                             name="Pool B")
        self.C = h.make_pool(self.srv, url, self.staff2, self.p2, 3, M, self.day(7),
                             kind="planned", booking_mode="approval", municipality="GM0114",
                             name="Pool C")
        self.D = h.make_pool(self.srv, url, self.staff2, self.p2, 1, M, end, kind="planned",
                             booking_mode="instant", municipality="GM1680", name="Pool D")
        self.must("P1 adds beds on T and T+1 to pool A", h.put_capacity(
            self.srv, self.staff1, self.A.id,
            [{"from": self.today, "to": self.today + dt.timedelta(days=2), "beds": 2}]), 200)
        h.check_equal("every pool was made through the API",
                      {p.via for p in (self.A, self.B, self.C, self.D)}, {"api"})
        self.location_names = {self.A.location_id: "Locatie Pool A",
                               self.C.location_id: "Locatie Pool C"}

        def stay(key, who, token, pool, first, nights, profile, expect, first_day=None, **extra):
            start = first_day or self.day(first)
            body = h.stay_body(pool.id, start, start + dt.timedelta(days=nights),
                               care_profile=profile, alias=f"gast {key}", **extra)
            out = self.must(f"{key}: {who} requests {nights} night(s) in {pool.id[:8]}: {expect}",
                            self.req("POST", "/v1/stays", token, body), 201, expect)
            self.ids[key] = out["id"]
            return out["id"]

        def act(key, token, action, expect, reason=None):
            body = {"reason": reason} if reason else None
            self.must(f"{key}: {action} -> {expect}", self.req(
                "POST", f"/v1/stays/{self.ids[key]}/{action}", token, body), 200, expect)

        cg = self.cg
        stay("s1", "c1", cg["c1"], self.A, 0, 3, "dementia", "held")
        act("s1", cg["c1"], "confirm", "confirmed")
        stay("s2", "c2", cg["c2"], self.A, 5, 4, "somatic", "held")
        stay("s3", "c1", cg["c1"], self.A, 10, 2, "dementia", "held")
        act("s3", cg["c1"], "confirm", "confirmed")
        act("s3", cg["c1"], "cancel", "cancelled")
        stay("s4", "coordinator", self.coord, self.A, 7, 3, "dementia", "confirmed",
             diversion_reason="Geen crisisbed vrij")
        stay("s5", "referrer", self.referrer, self.B, 1, 3, "somatic", "confirmed")
        stay("s6", "c3", cg["c3"], self.C, 2, 3, "dementia", "requested")
        act("s6", self.staff2, "accept", "confirmed")
        stay("s7", "c3", cg["c3"], self.C, 0, 2, "dementia", "requested")
        act("s7", self.staff2, "decline", "declined", R1)
        stay("s8", "c4", cg["c4"], self.C, 4, 3, "dementia", "requested")
        act("s8", self.staff2, "decline", "declined", R1)
        stay("s9", "c4", cg["c4"], self.C, 1, 2, "dementia", "requested")
        act("s9", self.staff2, "decline", "declined", R2)
        stay("s10", "c5", cg["c5"], self.D, 3, 2, "somatic", "held")
        act("s10", cg["c5"], "confirm", "confirmed")
        stay("s11", "c5", cg["c5"], self.A, 7, 2, "dementia", "waitlisted", waitlist=True)
        stay("s12", "c2", cg["c2"], self.A, 0, 1, "somatic", "held", first_day=self.today)
        act("s12", cg["c2"], "confirm", "confirmed")
        act("s12", self.staff1, "no-show", "no_show")
        stay("s13", "c6", cg["c6"], self.A, 12, 2, "dementia", "held")

        # Searches: unmet demand is a search that found nothing.
        self.search_counts = []
        for who, profile in (("c1", "youth"), ("c1", "dementia"), ("c3", "youth")):
            resp = self.req("GET", f"/v1/availability?check_in={self.M}&nights=2"
                                   f"&care_profile={profile}", cg[who])
            body = self.must(f"{who} searches {profile} at M", resp, 200)
            self.search_counts.append(body["count"])
        h.check("the searches found 0, more than 0 and 0 pools",
                self.search_counts[0] == 0 and self.search_counts[1] > 0
                and self.search_counts[2] == 0, self.search_counts)
        # The service counts searches and writes the counts a few seconds late.
        h.check("the searches reach the search log",
                h.wait_until(lambda: h.scalar(
                    url, "SELECT coalesce(sum(searches), 0) FROM search_counts") == "3",
                    10 * h.SCALE))

        # Simulated time. The hold of s13 lapses now; the sweeper expires it within a second.
        h.psql(url, f"UPDATE stays SET hold_expires_at = now() WHERE id = '{self.ids['s13']}'")
        expired = h.wait_until(lambda: h.scalar(
            url, f"SELECT status FROM stays WHERE id = '{self.ids['s13']}'") == "expired",
            10 * h.SCALE)
        h.check("s13's lapsed hold is expired by the sweeper", expired)
        h.psql(url, f"UPDATE pools SET as_of = now() - interval '{STALE_DAYS} days' "
                    f"WHERE id = '{self.D.id}'")
        for key, days in (("s1", "1 day"), ("s6", "4 days"), ("s10", "2 days 12 hours")):
            h.psql(url, "UPDATE stays s SET created_at = (SELECT min(e.at) FROM stay_events e "
                        "WHERE e.stay_id = s.id AND e.to_status = 'confirmed') "
                        f"- interval '{days}' WHERE s.id = '{self.ids[key]}'")
        h.psql(url, "UPDATE stays SET created_at = now() - interval '3 days' "
                    f"WHERE id = '{self.ids['s11']}'")
        statuses = dict(h.psql(url, "SELECT id, status FROM stays"))
        want = {"s1": "confirmed", "s2": "held", "s3": "cancelled", "s4": "confirmed",
                "s5": "confirmed", "s6": "confirmed", "s7": "declined", "s8": "declined",
                "s9": "declined", "s10": "confirmed", "s11": "waitlisted", "s12": "no_show",
                "s13": "expired"}
        h.check_equal("the stays ended in the statuses of the scenario",
                      {k: statuses.get(self.ids[k]) for k in want}, want)

    def report(self, path, token=None, headers=None):
        return self.req("GET", path, token or self.coord, headers=headers)


def world():
    return h.once("world", World)


def fig(cap, booked, held, pct):
    """One set of occupancy figures; free is what capacity leaves after held and booked."""
    return {"capacity_nights": cap, "booked_nights": booked, "held_nights": held,
            "free_nights": cap - booked - held, "occupancy_pct": pct}


# ---- occupancy, worked out by hand ------------------------------------------------------------
# Pool A (2 beds): W1 booked s1 3, held s2 2 (M+5, M+6); W2 booked s4 3, held s2 2 (M+7, M+8).
# Pool B (1 bed):  W1 booked s5 3.            Pool C (3 beds, W1 only): booked s6 3.
# Pool D is stale: left out of rows and totals, counted apart (14 nights, 2 booked by s10).
P1_W1 = fig(14 + 7, 3 + 3, 2, 28.6)   # 6 / 21
P1_W2 = fig(14 + 7, 3, 2, 14.3)       # 3 / 21
P2_W1 = fig(21, 3, 0, 14.3)           # 3 / 21
TOT_W1 = fig(42, 9, 2, 21.4)          # 9 / 42
TOT_W2 = fig(21, 3, 2, 14.3)          # 3 / 21
TOTAL = fig(63, 12, 4, 19.0)          # 12 / 63
PLANNED_W1 = fig(14 + 21, 6, 2, 17.1)  # A + C: 6 / 35
PLANNED_W2 = fig(14, 3, 2, 21.4)      # A: 3 / 14
CRISIS_W1 = fig(7, 3, 0, 42.9)        # B: 3 / 7
CRISIS_W2 = fig(7, 0, 0, 0.0)
STALE = dict(fig(14, 2, 0, 14.3), pools=1)


def occupancy_path(e, **q):
    params = {"from": str(e.day(0)), "to": str(e.day(14)), "period": "week"}
    params.update(q)
    return "/v1/reports/occupancy?" + urllib.parse.urlencode(params)


def figures(row):
    return {k: row.get(k) for k in ("capacity_nights", "booked_nights", "held_nights",
                                    "free_nights", "occupancy_pct")}


def rows_by(report):
    """{(group id, period): figures} and {period: (start, end)} of a report's rows."""
    out = {}
    for r in report["rows"]:
        out[(r["group"]["id"], r["period"])] = figures(r)
    return out


def week_label(d):
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def test_occupancy_by_provider_per_week_every_figure():
    e = world()
    resp = e.report(occupancy_path(e, group_by="provider"))
    if not h.check("GET /v1/reports/occupancy?group_by=provider: 200 JSON", resp.status == 200
                   and resp.header("content-type", "").startswith("application/json"), repr(resp)):
        return
    rep = resp.json
    w1, w2 = week_label(e.day(0)), week_label(e.day(7))
    h.info(f"window {e.day(0)}..{e.day(14)} (exclusive), weeks {w1} and {w2}")
    h.check_equal("the report echoes its question",
                  {k: rep[k] for k in ("from", "to", "period", "group_by", "stale_days")},
                  {"from": str(e.day(0)), "to": str(e.day(14)), "period": "week",
                   "group_by": "provider", "stale_days": 7})
    h.check_equal("rows: P1 in both weeks, P2 in the first only (its fresh pool C has no W2 "
                  "nights), every figure as worked out by hand", rows_by(rep),
                  {(e.p1, w1): P1_W1, (e.p1, w2): P1_W2, (e.p2, w1): P2_W1})
    names = {r["group"]["id"]: r["group"]["name"] for r in rep["rows"]}
    h.check_equal("groups carry the providers' names", names, {e.p1: "Zorg Een", e.p2: "Zorg Twee"})
    h.check_equal("row periods have their first and last+1 night",
                  [(r["period"], r["period_start"], r["period_end"]) for r in rep["rows"][:2]],
                  [(w1, str(e.day(0)), str(e.day(7))), (w2, str(e.day(7)), str(e.day(14)))])
    h.check_equal("region totals per week", {t["period"]: figures(t) for t in rep["totals"]},
                  {w1: TOT_W1, w2: TOT_W2})
    h.check_equal("region total over the window", figures(rep["total"]), TOTAL)
    stale = rep["stale"]
    h.check_equal("stale pools are counted apart: one pool, 14 nights, 2 booked",
                  dict(figures(stale), pools=stale["pools"]), STALE)
    item = stale["list"][0] if stale["list"] else {}
    h.check_equal("the stale pool is listed with pool, provider and days stale",
                  {k: item.get(k) for k in ("pool_id", "pool_name", "provider_id",
                                            "provider_name", "municipality", "days_stale")},
                  {"pool_id": e.D.id, "pool_name": "Pool D", "provider_id": e.p2,
                   "provider_name": "Zorg Twee", "municipality": "GM1680",
                   "days_stale": STALE_DAYS})
    asof = h.scalar(e.url, "SELECT to_char(as_of AT TIME ZONE 'UTC', "
                           f"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM pools WHERE id = '{e.D.id}'")
    h.check_equal("the stale pool's as_of is the stored one (RFC 3339)", item.get("as_of"), asof)


def test_occupancy_by_kind_location_municipality_and_care_profile():
    e = world()
    w1, w2 = week_label(e.day(0)), week_label(e.day(7))
    rep = e.report(occupancy_path(e, group_by="kind")).json
    h.check_equal("by kind: planned (A + C) and crisis (B), per week", rows_by(rep),
                  {("planned", w1): PLANNED_W1, ("planned", w2): PLANNED_W2,
                   ("crisis", w1): CRISIS_W1, ("crisis", w2): CRISIS_W2})
    rep = e.report(occupancy_path(e, group_by="location")).json
    h.check_equal("by location: L1 (A + B) equals P1, L2 (C) equals P2; L3 only holds the "
                  "stale pool", rows_by(rep),
                  {(e.A.location_id, w1): P1_W1, (e.A.location_id, w2): P1_W2,
                   (e.C.location_id, w1): P2_W1})
    h.check_equal("location groups carry the locations' names",
                  {r["group"]["id"]: r["group"]["name"] for r in rep["rows"]}, e.location_names)
    rep = e.report(occupancy_path(e, group_by="municipality")).json
    h.check_equal("by municipality: Assen and Emmen", rows_by(rep),
                  {("GM0106", w1): P1_W1, ("GM0106", w2): P1_W2, ("GM0114", w1): P2_W1})
    h.check_equal("municipality groups carry the names",
                  {r["group"]["id"]: r["group"]["name"] for r in rep["rows"]},
                  {"GM0106": "Assen", "GM0114": "Emmen"})
    rep = e.report(occupancy_path(e, group_by="care_profile")).json
    h.check_equal("by care profile: every fresh pool serves dementia and somatic, so both "
                  "groups show the whole region", rows_by(rep),
                  {("dementia", w1): TOT_W1, ("dementia", w2): TOT_W2,
                   ("somatic", w1): TOT_W1, ("somatic", w2): TOT_W2})
    h.check_equal("and the region total still counts every night once", figures(rep["total"]),
                  TOTAL)


def test_occupancy_per_night_and_per_month():
    e = world()
    rep = e.report(occupancy_path(e, group_by="provider", period="night")).json
    h.check_equal("per night: 14 nights of P1, 7 of P2", len(rep["rows"]), 21)
    first = {t["period"]: figures(t) for t in rep["totals"]}.get(str(e.day(0)))
    # Night M: A 2 beds, 1 booked (s1); B 1 bed; C 3 beds (s7 was declined).
    h.check_equal("region on night M: 6 beds, 1 booked", first, fig(6, 1, 0, 16.7))
    sixth = {t["period"]: figures(t) for t in rep["totals"]}.get(str(e.day(5)))
    # Night M+5: A held 1 (s2); B free; C 3 beds, s8 was declined.
    h.check_equal("region on night M+5: 6 beds, 1 held", sixth, fig(6, 0, 1, 0.0))
    rep = e.report(occupancy_path(e, group_by="provider", period="month")).json
    by_group = {}
    for r in rep["rows"]:
        acc = by_group.setdefault(r["group"]["id"], [0, 0, 0])
        acc[0] += r["capacity_nights"]
        acc[1] += r["booked_nights"]
        acc[2] += r["held_nights"]
    h.check_equal("per month: the months add up to each provider's window",
                  by_group, {e.p1: [42, 9, 4], e.p2: [21, 3, 0]})
    h.check_equal("per month: the same region total", figures(rep["total"]), TOTAL)
    labels = sorted({r["period"] for r in rep["rows"]})
    h.check_equal("month labels are YYYY-MM",
                  labels, sorted({f"{d:%Y-%m}" for d in (e.day(0), e.day(13))}))


# ---- demand, worked out by hand --------------------------------------------------------------

def demand(requests=0, placed=0, declined=0, reasons=(), cancelled=0, no_shows=0,
           expired=0, waiting=0, wait_median=None, wait_max=None, conf_median=None,
           conf_p90=None, searches=0, unmet=0, diversions=0, diversion_nights=0):
    return {"requests": requests, "placed": placed, "declined": declined,
            "declined_by_reason": [{"reason": r, "count": n} for r, n in reasons],
            "cancelled": cancelled, "no_shows": no_shows, "expired_holds": expired,
            "waitlisted_now": waiting, "waiting_days_median": wait_median,
            "waiting_days_max": wait_max, "days_to_confirmed_median": conf_median,
            "days_to_confirmed_p90": conf_p90, "searches": searches,
            "searches_without_result": unmet, "diversions": diversions,
            "diversion_nights": diversion_nights}


# Assen: c1 (s1, s3), c2 (s2, s12), c6 (s13), and the coordinator's s4 and referrer's s5 at the
# Assen location. Placed s1 s3 s4 s5 s12; days to confirmed [0,0,0,0,1.0]: median 0,
# p90 = 0 + 0.6 * (1 - 0) = 0.6 (percentile_cont: position 0.9 * 4 = 3.6).
ASSEN = demand(requests=7, placed=5, cancelled=1, no_shows=1, expired=1, conf_median=0.0,
               conf_p90=0.6, searches=2, unmet=1, diversions=1, diversion_nights=3)
# Emmen: c3 (s6, s7), c4 (s8, s9). Placed s6 after 4.0 days.
EMMEN = demand(requests=4, placed=1, declined=3, reasons=((R1, 2), (R2, 1)), conf_median=4.0,
               conf_p90=4.0, searches=1, unmet=1)
# Aa en Hunze: c5 (s10 confirmed after 2.5 days, s11 waiting 3.0 days).
AA_EN_HUNZE = demand(requests=2, placed=1, waiting=1, wait_median=3.0, wait_max=3.0,
                     conf_median=2.5, conf_p90=2.5)
# Region: 13 requests; days to confirmed [0,0,0,0,1.0,2.5,4.0]: median 0,
# p90 at position 5.4 = 2.5 + 0.4 * (4.0 - 2.5) = 3.1.
REGION = demand(requests=13, placed=7, declined=3, reasons=((R1, 2), (R2, 1)), cancelled=1,
                no_shows=1, expired=1, waiting=1, wait_median=3.0, wait_max=3.0,
                conf_median=0.0, conf_p90=3.1, searches=3, unmet=2, diversions=1,
                diversion_nights=3)
# By care profile. Dementia: s1 s3 s4 s6 s7 s8 s9 s11 s13; placed s1 s3 s4 s6, days
# [0,0,1.0,4.0]: median 0.5, p90 at 2.7 = 1.0 + 0.7 * 3.0 = 3.1. Somatic: s2 s5 s10 s12; placed
# s5 s10 s12, days [0,0,2.5]: median 0, p90 at 1.8 = 0 + 0.8 * 2.5 = 2.0. Youth: two searches.
DEMENTIA = demand(requests=9, placed=4, declined=3, reasons=((R1, 2), (R2, 1)), cancelled=1,
                  expired=1, waiting=1, wait_median=3.0, wait_max=3.0, conf_median=0.5,
                  conf_p90=3.1, searches=1, diversions=1, diversion_nights=3)
SOMATIC = demand(requests=4, placed=3, no_shows=1, conf_median=0.0, conf_p90=2.0)
YOUTH = demand(searches=2, unmet=2)


def demand_path(e, **q):
    params = {"from": str(e.today - dt.timedelta(days=10)),
              "to": str(e.today + dt.timedelta(days=1))}
    params.update(q)
    return "/v1/reports/demand?" + urllib.parse.urlencode(params)


def demand_rows(rep):
    return {r["group"]["id"]: {k: v for k, v in r.items() if k != "group"} for r in rep["rows"]}


def test_demand_by_municipality_every_figure():
    e = world()
    resp = e.report(demand_path(e))
    if not h.check("GET /v1/reports/demand: 200 JSON", resp.status == 200, repr(resp)):
        return
    rep = resp.json
    rows = demand_rows(rep)
    h.check_equal("by default grouped by municipality: all twelve, in name order",
                  [r["group"]["name"] for r in rep["rows"]], sorted(h.DRENTHE.values()))
    h.check_equal("Assen: every figure", rows.get("GM0106"), ASSEN)
    h.check_equal("Emmen: every figure, declines by reason", rows.get("GM0114"), EMMEN)
    h.check_equal("Aa en Hunze: every figure, the waitlist", rows.get("GM1680"), AA_EN_HUNZE)
    quiet = [code for code in h.DRENTHE if code not in ("GM0106", "GM0114", "GM1680")]
    h.check("the other nine municipalities show zeros and no medians",
            all(rows.get(c) == demand() for c in quiet), {c: rows.get(c) for c in quiet})
    h.check_equal("the region total (medians over the region, not sums)", rep["total"], REGION)


def test_demand_by_care_profile_and_window():
    e = world()
    rep = e.report(demand_path(e, group_by="care_profile")).json
    rows = demand_rows(rep)
    h.check_equal("by care profile: the five profiles", sorted(rows),
                  sorted(["dementia", "somatic", "youth", "disability", "psychiatric"]))
    h.check_equal("dementia: every figure", rows.get("dementia"), DEMENTIA)
    h.check_equal("somatic: every figure", rows.get("somatic"), SOMATIC)
    h.check_equal("youth: only the searches that found nothing", rows.get("youth"), YOUTH)
    h.check("disability and psychiatric: nothing", rows.get("disability") == demand()
            and rows.get("psychiatric") == demand())
    h.check_equal("the same region total", rep["total"], REGION)
    # The window counts requests by the day they were made: from tomorrow on there are none,
    # but the waitlist is a snapshot and still shows who waits.
    later = e.report(demand_path(e, **{"from": str(e.today + dt.timedelta(days=1)),
                                       "to": str(e.today + dt.timedelta(days=2))})).json
    h.check_equal("a window after the requests: no requests, the waitlist still there",
                  later["total"], demand(waiting=1, wait_median=3.0, wait_max=3.0))


# ---- CSV -------------------------------------------------------------------------------------

def parse_csv(resp):
    text = resp.body.decode("utf-8")
    return text, list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))


def check_csv_envelope(name, resp, filename_prefix):
    h.check(f"{name}: 200 text/csv", resp.status == 200
            and resp.header("content-type", "").startswith("text/csv"), repr(resp))
    disp = resp.header("content-disposition", "")
    h.check(f"{name}: Content-Disposition attachment with a .csv file name",
            disp.startswith("attachment; filename=\"" + filename_prefix) and disp.endswith('.csv"'),
            disp)
    h.check(f"{name}: starts with a UTF-8 byte order mark (spreadsheets read accents right)",
            resp.body.startswith(b"\xef\xbb\xbf"))
    lines = resp.body.split(b"\r\n")
    h.check(f"{name}: every record ends in CRLF (RFC 4180)",
            lines[-1] == b"" and not any(b"\n" in line for line in lines[:-1]))


def num(cell):
    if cell == "":
        return None
    value = float(cell)
    return int(value) if value.is_integer() and "." not in cell else value


def test_occupancy_csv_has_every_json_figure():
    e = world()
    path = occupancy_path(e, group_by="provider")
    js = e.report(path).json
    by_accept = e.report(path, headers={"Accept": "text/csv"})
    by_param = e.report(path + "&format=csv")
    check_csv_envelope("occupancy with Accept: text/csv", by_accept, "occupancy_")
    check_csv_envelope("occupancy with ?format=csv", by_param, "occupancy_")
    h.check("Accept: text/csv and ?format=csv give the same bytes (apart from generated_at)",
            by_accept.body == by_param.body)
    text, records = parse_csv(by_param)
    header = records[0]
    h.check_equal("the header row", header,
                  ["section", "group_id", "group_name", "period", "period_start", "period_end",
                   "capacity_nights", "booked_nights", "held_nights", "free_nights",
                   "occupancy_pct", "pools", "provider_id", "provider_name", "as_of",
                   "days_stale"])
    rows = [dict(zip(header, r)) for r in records[1:]]
    h.check("every record has as many fields as the header",
            all(len(r) == len(header) for r in records[1:]))
    keys = ("capacity_nights", "booked_nights", "held_nights", "free_nights", "occupancy_pct")
    got = {(r["group_id"], r["period"]): {k: num(r[k]) for k in keys}
           for r in rows if r["section"] == "group"}
    h.check_equal("the group records carry the JSON rows' figures", got, rows_by(js))
    got = {r["period"]: {k: num(r[k]) for k in keys} for r in rows if r["section"] == "region"}
    want = {t["period"]: figures(t) for t in js["totals"]}
    want["all"] = figures(js["total"])
    h.check_equal("the region records: per week and for the whole window", got, want)
    stale = [r for r in rows if r["section"] == "stale"]
    h.check_equal("one stale summary record", [(num(r["pools"]), {k: num(r[k]) for k in keys})
                                               for r in stale], [(1, figures(STALE))])
    pools = [r for r in rows if r["section"] == "stale_pool"]
    h.check_equal("one stale pool record with provider, as_of and days stale",
                  [(r["group_id"], r["group_name"], r["provider_name"], r["as_of"],
                    num(r["days_stale"])) for r in pools],
                  [(e.D.id, "Pool D", "Zorg Twee", js["stale"]["list"][0]["as_of"], STALE_DAYS)])


def test_demand_csv_has_every_json_figure_and_quotes_reasons():
    e = world()
    js = e.report(demand_path(e)).json
    resp = e.report(demand_path(e), headers={"Accept": "text/csv, application/json;q=0.5"})
    check_csv_envelope("demand with Accept: text/csv", resp, "demand_")
    text, records = parse_csv(resp)
    header = records[0]
    h.check_equal("the header row", header[:4], ["section", "group_id", "group_name", "requests"])
    rows = [dict(zip(header, r)) for r in records[1:]]
    h.check_equal("twelve municipality records and one region record",
                  [r["section"] for r in rows], ["group"] * 12 + ["region"])
    scalar_keys = [k for k in header[3:] if k != "declined_by_reason"]
    got = {r["group_id"] or "region": {k: num(r[k]) for k in scalar_keys} for r in rows}
    want = {g: {k: v for k, v in f.items() if k in scalar_keys}
            for g, f in demand_rows(js).items()}
    want["region"] = {k: v for k, v in js["total"].items() if k in scalar_keys}
    h.check_equal("every figure of every record equals the JSON report", got, want)
    emmen = next((r for r in rows if r["group_id"] == "GM0114"), {})
    h.check_equal("declines by reason in one readable cell", emmen.get("declined_by_reason"),
                  f"{R1}: 2; {R2}: 1")
    h.check("the reason with a comma and quotes is quoted with doubled quotes (RFC 4180)",
            f'"{R1}: 2; Zorgzwaarte te hoog, ""nachtzorg"" nodig: 1"' in text)


# ---- who may ask, and how ---------------------------------------------------------------------

def test_only_the_coordinator_and_only_valid_questions():
    e = world()
    for name, token in (("caregiver", e.cg["c1"]), ("provider staff", e.staff1),
                        ("referrer", e.referrer), ("admin", e.admin)):
        for path in ("/v1/reports/occupancy", "/v1/reports/demand"):
            h.check_problem(f"{name} GET {path}: 403", e.report(path, token), 403)
    h.check_problem("no token: 401", e.srv.request("GET", "/v1/reports/occupancy"), 401)
    bad = [
        ("/v1/reports/occupancy?period=year", "period"),
        ("/v1/reports/occupancy?group_by=pool", "group_by"),
        ("/v1/reports/occupancy?from=2026-02-30", "from"),
        ("/v1/reports/occupancy?from=2027-01-10&to=2027-01-01", "to"),
        ("/v1/reports/occupancy?from=2027-01-01&to=2031-01-01", "to"),
        ("/v1/reports/occupancy?period=night&from=2027-01-01&to=2028-06-01", "to"),
        ("/v1/reports/occupancy?format=xml", "format"),
        ("/v1/reports/demand?group_by=provider", "group_by"),
        ("/v1/reports/demand?from=tomorrow", "from"),
    ]
    for path, field in bad:
        resp = e.report(path)
        fields = [x.get("field") for x in (resp.json or {}).get("errors", [])]
        h.check(f"{path}: 422 naming {field}", h.is_problem(resp, 422) and field in fields,
                repr(resp))
    resp = e.report("/v1/reports/occupancy")
    h.check("defaults: from today, 12 weeks, per week, by provider",
            resp.status == 200 and resp.json["from"] == str(e.today)
            and resp.json["to"] == str(e.today + dt.timedelta(days=84))
            and resp.json["period"] == "week" and resp.json["group_by"] == "provider", repr(resp))
    resp = e.report("/v1/reports/demand")
    h.check("demand defaults: the 90 days up to and including today, by municipality",
            resp.status == 200 and resp.json["to"] == str(e.today + dt.timedelta(days=1))
            and resp.json["from"] == str(e.today - dt.timedelta(days=89))
            and resp.json["group_by"] == "municipality", repr(resp))
    h.check_equal("the default demand window sees the scenario", resp.json["total"], REGION)
    e.srv.stop()


h.main(globals())
