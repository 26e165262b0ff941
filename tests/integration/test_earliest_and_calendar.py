"""The earliest fitting dates and a stay's calendar file (issue 12). When the asked dates are
full, GET /v1/availability/earliest proposes per pool the first check-ins where the stay fits:
after the booked nights, never inside a pool's lead time, never on a day its arrival rules or
blocks refuse, within the window; and every date it proposes really books. GET
/v1/stays/{id}/calendar.ics is an RFC 5545 file (CRLF, folded at 75 octets, escaped text, a
stable UID, whole days or the pool's windows in Europe/Amsterdam) for exactly those who may
read the stay, and each download is access-logged. Stays read back say where they are."""

import datetime as dt
import time
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
BLOCKS = [{"arrive": 1, "nights": 2}, {"arrive": 3, "nights": 2}, {"arrive": 5, "nights": 3}]
# Long, with a comma, a semicolon, a backslash and letters of two octets: escaping and folding.
LOCATION_NAME = "Logeerhuis De Ühle, bij de kerk; achter de molen \\ naast het café Één"
ADDRESS = "Kerkstraat 7, achteringang; bel twee keer"


def fits(blocks, weekdays, check_in, nights):
    """The arrival rule of src/core/rules.c written out again (as in test_blocks)."""
    allowed = set(weekdays) or set(range(1, 8))
    if blocks:
        allowed &= {b["arrive"] for b in blocks}
    if check_in.isoweekday() not in allowed:
        return False
    if not blocks:
        return True
    reached = {0}
    for d in range(nights):
        if d not in reached:
            continue
        weekday = (check_in + dt.timedelta(days=d)).isoweekday()
        for b in blocks:
            if b["arrive"] == weekday and d + b["nights"] <= nights:
                reached.add(d + b["nights"])
    return nights in reached


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        self.cgs = h.login_many(self.srv, h.add_caregivers(self.url, 8, prefix="ea"))
        self.esdorp = self.srv.login(ESDORP)
        self.hunzehof = self.srv.login(HUNZEHOF)
        self.coord = self.srv.login(COORDINATOR)
        # A facility nobody else has: the questions below see only this test's pools.
        self.token = "proef_" + uuid.uuid4().hex[:8]
        resp = self.srv.request("POST", "/v1/locations", {
            "provider_id": h.DEMO_PROVIDER_IDS[ESDORP], "name": LOCATION_NAME,
            "municipality": "GM0106", "address": ADDRESS, "lat": 52.99, "lon": 6.56,
            "facilities": ["dementia", self.token], "exclusions": []}, token=self.esdorp)
        if resp.status != 201:
            raise RuntimeError(f"POST /v1/locations refused: {resp!r}")
        self.location = resp.json["id"]
        end = self.today + dt.timedelta(days=120)
        # plain: one bed, no rules; blocks: one bed, blocks and windows, closed for 20 days;
        # lead: one bed, 30 days' notice; monday: arrivals on Mondays only.
        self.plain = self.pool("Gewoon", end)
        self.blocks = self.pool("Blokken", end)
        self.lead = self.pool("Vooruit", end, lead_days=30)
        self.monday = self.pool("Maandag", end)
        self.patch(self.blocks, {"blocks": BLOCKS, "check_in_window": "14:00-17:00",
                                 "check_out_window": "10:00-12:00"})
        self.patch(self.monday, {"arrival_weekdays": [1]})
        resp = h.put_capacity(self.srv, self.esdorp, self.blocks, [
            {"from": self.today, "to": self.today + dt.timedelta(days=20), "beds": 0}])
        if resp.status != 200:
            raise RuntimeError(f"closing the blocks pool refused: {resp!r}")
        # The plain pool is full on the nights asked: days 5 .. 11.
        self.full_stay = self.book(self.plain, self.day(5), 7, cg=7, confirm=True)
        # On a Tuesday day 6 is a Monday, where the Monday pool takes arrivals: its bed is taken
        # then too, so that nothing fits on day 6 whatever the weekday the test runs on.
        if self.day(6).isoweekday() == 1:
            self.book(self.monday, self.day(6), 3, cg=6, confirm=True)
        h.wait_until(lambda: not self.search(self.day(6), 3), 2.0)

    def day(self, n):
        return self.today + dt.timedelta(days=n)

    def pool(self, name, end, lead_days=0):
        return h.make_pool(self.srv, self.url, self.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 1,
                           self.today, end, name=name, location_id=self.location,
                           lead_days=lead_days).id

    def patch(self, pool, body):
        resp = self.srv.request("PATCH", f"/v1/pools/{pool}", body, token=self.esdorp)
        if resp.status != 200:
            raise RuntimeError(f"PATCH /v1/pools refused: {resp!r}")

    def book(self, pool, check_in, nights, cg=0, confirm=False):
        body = h.stay_body(pool, check_in, check_in + dt.timedelta(days=nights), funding="zvw")
        resp = self.srv.request("POST", "/v1/stays", body, token=self.cgs[cg],
                                headers={"Idempotency-Key": uuid.uuid4().hex})
        if resp.status == 201 and confirm:
            resp = self.srv.request("POST", f"/v1/stays/{resp.json['id']}/confirm",
                                    token=self.cgs[cg])
        return resp

    def search(self, check_in, nights):
        resp = self.srv.get(f"/v1/availability?check_in={check_in}&nights={nights}"
                            f"&facilities={self.token}&limit=100", token=self.cgs[0])
        if resp.status != 200:
            raise RuntimeError(f"search refused: {resp!r}")
        return resp.json["results"]

    def earliest(self, query, token=None):
        return self.srv.get(f"/v1/availability/earliest?facilities={self.token}&{query}",
                            token=token or self.cgs[0])

    def dates(self, resp, pool):
        for r in (resp.json or {}).get("results", []):
            if r["pool_id"] == pool:
                return [dt.date.fromisoformat(d["check_in"]) for d in r["dates"]]
        return []


def world():
    return h.once("world", World)


def test_full_dates_give_the_earliest_dates_that_fit():
    w = world()
    h.check("the stay that fills days 5-11 is confirmed", w.full_stay.status == 200
            and w.full_stay.json.get("status") == "confirmed", repr(w.full_stay))
    h.check_equal("a search for 3 nights from day 6 finds nothing", w.search(w.day(6), 3), [])
    resp = w.earliest(f"nights=3&from={w.day(6)}&per_pool=5&limit=10")
    h.check("GET /v1/availability/earliest is 200", resp.status == 200, repr(resp))
    plain = w.dates(resp, w.plain)
    h.check_equal("the plain pool's earliest dates start the day its nights are free again",
                  plain, [w.day(n) for n in range(12, 17)])
    first = [dt.date.fromisoformat(r["dates"][0]["check_in"]) for r in resp.json["results"]]
    h.check("pools come in the order of their first date", first == sorted(first), first)
    r = next(x for x in resp.json["results"] if x["pool_id"] == w.plain)
    h.check("a result says where and how: location with facilities, access, free per date",
            r["location"]["name"] == LOCATION_NAME and w.token in r["location"]["facilities"]
            and r["access"] == "direct" and all(d["free"] == 1 for d in r["dates"])
            and r["dates"][0]["check_out"] == str(w.day(15)), repr(r))
    h.check("from, until and nights are echoed", resp.json["from"] == str(w.day(6))
            and resp.json["nights"] == 3 and resp.json["count"] == len(resp.json["results"]),
            repr(resp.json)[:300])


def test_dates_keep_lead_time_blocks_and_arrival_days():
    w = world()
    for nights in (2, 3, 5, 7):
        resp = w.earliest(f"nights={nights}&from={w.day(1)}&per_pool=10")
        lead = w.dates(resp, w.lead)
        h.check(f"{nights} nights: the 30-day lead time pool proposes nothing before day 30",
                lead and min(lead) >= w.day(30), lead)
        blocks = w.dates(resp, w.blocks)
        h.check(f"{nights} nights: the blocks pool proposes only whole chains of blocks after "
                f"its closed 20 days", blocks and all(fits(BLOCKS, [], d, nights) for d in blocks)
                and min(blocks) >= w.day(20), [str(d) for d in blocks])
        monday = w.dates(resp, w.monday)
        h.check(f"{nights} nights: the Monday pool proposes only Mondays",
                monday and all(d.isoweekday() == 1 for d in monday), [str(d) for d in monday])
        # Every fitting check-in of the blocks pool in its first weeks, and none skipped.
        expected = [d for d in (w.day(n) for n in range(20, 120)) if fits(BLOCKS, [], d, nights)]
        h.check_equal(f"{nights} nights: the blocks pool's dates are the first fitting ones",
                      blocks, expected[:len(blocks)])


def test_the_window_bounds_the_dates():
    w = world()
    resp = w.earliest(f"nights=3&from={w.day(6)}&until={w.day(15)}")
    h.check_equal("until (the latest check-out) keeps only stays that end by it",
                  w.dates(resp, w.plain), [w.day(12)])
    h.check("no pool outside the window", w.dates(resp, w.lead) == []
            and w.dates(resp, w.blocks) == [], repr(resp.json)[:300])
    resp = w.earliest("nights=3&from=2000-01-01&until=2999-01-01")
    h.check("a window from the past and far ahead is answered from today to the index's end",
            resp.status == 200 and resp.json["from"] == str(w.today)
            and resp.json["until"] < "2999-01-01", repr(resp)[:300])
    resp = w.earliest(f"nights=3&from={w.day(6)}&limit=1")
    h.check("limit gives the pool with the earliest date", resp.status == 200
            and [r["pool_id"] for r in resp.json["results"]] == [w.monday]
            or resp.json["results"][0]["dates"][0]["check_in"] <= str(w.day(12)),
            repr(resp)[:300])


def test_every_proposed_date_books():
    w = world()
    resp = w.earliest(f"nights=3&from={w.day(6)}&per_pool=3")
    booked, tried = [], 0
    for r in resp.json["results"]:
        for d in r["dates"]:
            tried += 1
            check_in = dt.date.fromisoformat(d["check_in"])
            stay = w.book(r["pool_id"], check_in, 3, cg=1)
            ok = stay.status == 201 and stay.json.get("status") == "held"
            h.check(f"{r['pool_name']} from {check_in} for 3 nights books (201 held)", ok,
                    repr(stay))
            if ok:
                booked.append(stay.json["id"])
                w.srv.request("POST", f"/v1/stays/{stay.json['id']}/cancel", token=w.cgs[1])
    h.check(f"all {tried} proposed dates of {len(resp.json['results'])} pools booked",
            tried >= 9 and len(booked) == tried, (tried, len(booked)))


def test_earliest_is_validated_and_authorised():
    w = world()
    resp = w.earliest("from=2026-01-01")
    h.check("without nights: 422 naming nights", h.is_problem(resp, 422)
            and any(e.get("field") == "nights" for e in resp.json.get("errors", [])), repr(resp))
    resp = w.earliest(f"nights=2&from={w.day(10)}&until={w.day(5)}")
    h.check("until before from: 422 naming until", h.is_problem(resp, 422)
            and any(e.get("field") == "until" for e in resp.json.get("errors", [])), repr(resp))
    resp = w.earliest("nights=2&per_pool=11")
    h.check("per_pool above 10: 422", h.is_problem(resp, 422), repr(resp))
    resp = w.earliest("nights=2&kind=crisis")
    h.check("a caregiver asking for crisis beds: 403", h.is_problem(resp, 403), repr(resp))
    resp = w.srv.get(f"/v1/availability/earliest?nights=3&from={w.day(6)}&facilities={w.token}")
    h.check("a visitor without login gets the same dates as a caregiver",
            resp.status == 200 and w.dates(resp, w.plain) == [w.day(n) for n in range(12, 15)],
            repr(resp)[:300])
    resp = w.srv.get(f"/v1/availability?check_in={w.day(30)}&nights=2&facilities={w.token}")
    h.check("a visitor may search too", resp.status == 200 and {r["pool_id"] for r in
            resp.json["results"]} >= {w.plain, w.lead}, repr(resp)[:300])
    crisis = h.make_pool(w.srv, w.url, w.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 2, w.today,
                         w.day(60), kind="crisis", location_id=w.location, name="Spoed")
    resp = w.srv.get(f"/v1/availability?check_in={w.day(30)}&nights=2&facilities={w.token}"
                     "&limit=100")
    h.check("a visitor never sees crisis beds", resp.status == 200 and crisis.id not in
            {r["pool_id"] for r in resp.json["results"]}, repr(resp)[:300])
    resp = w.srv.get("/v1/availability?check_in=2030-01-01&nights=2&kind=crisis")
    h.check("a visitor asking for crisis beds: 403", h.is_problem(resp, 403)
            and "visitor" in resp.json.get("detail", ""), repr(resp))
    resp = w.srv.get("/v1/availability/earliest?nights=2",
                     headers={"Authorization": "Bearer " + "x" * 43})
    h.check("a wrong token is 401, not a visitor", h.is_problem(resp, 401), repr(resp))


def test_visitors_are_rate_limited_per_address_and_signed_in_users_are_not():
    srv = h.Server(h.migrated_database(seed=True),
                   env={"LOGEER_VISITOR_BURST": "3", "LOGEER_VISITOR_RATE": "60"})
    try:
        when = (h.today_local(srv.database_url) + dt.timedelta(days=30)).isoformat()
        path = f"/v1/availability?check_in={when}&nights=2"
        first = [srv.get(path).status for _ in range(3)]
        h.check_equal("a visitor's burst of 3 searches is answered", first, [200, 200, 200])
        resp = srv.get(path)
        h.check("the 4th at once: 429 problem with Retry-After 1 and retry_after",
                h.is_problem(resp, 429) and resp.headers.get("retry-after") == "1"
                and resp.json.get("retry_after") == 1, repr(resp))
        resp = srv.get(f"/v1/availability/earliest?nights=2&from={when}")
        h.check("the earliest dates share the visitor's bucket: 429", h.is_problem(resp, 429),
                repr(resp))
        token = srv.login("mantelzorger@demo.logeer.nl")
        statuses = {srv.get(path, token=token).status for _ in range(10)}
        h.check_equal("a signed-in caregiver from the same address is not limited", statuses,
                      {200})
        time.sleep(1.2)
        h.check_equal("a second later the visitor may search once more", srv.get(path).status,
                      200)
    finally:
        srv.stop()


# ---- the calendar file --------------------------------------------------------------------

def parse_ics(body):
    """A strict reading of RFC 5545's syntax: CRLF only, lines of at most 75 octets, folds
    that start with a space, BEGIN/END nested; returns the unfolded content lines as
    (name with parameters, value) and the components' nesting."""
    problems = []
    if b"\n" in body.replace(b"\r\n", b""):
        problems.append("a line ends without CR")
    raw = body.split(b"\r\n")
    if raw[-1] != b"":
        problems.append("the last line has no CRLF")
    raw = raw[:-1]
    for line in raw:
        if len(line) > 75:
            problems.append(f"a line of {len(line)} octets: {line[:40]!r}")
    lines = []
    for line in raw:
        if line.startswith(b" "):
            if not lines:
                problems.append("a fold before the first line")
                continue
            lines[-1] += line[1:]
        else:
            lines.append(line)
    out, stack = [], []
    for line in lines:
        text = line.decode("utf-8")  # raises on a fold inside a character
        name, _, value = text.partition(":")
        out.append((name, value))
        if name == "BEGIN":
            stack.append(value)
        elif name == "END":
            if not stack or stack.pop() != value:
                problems.append(f"END:{value} does not close the open component")
    if stack:
        problems.append(f"components left open: {stack}")
    return out, problems


def unescape(value):
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def event_props(lines):
    inside, props = False, {}
    for name, value in lines:
        if (name, value) == ("BEGIN", "VEVENT"):
            inside = True
        elif (name, value) == ("END", "VEVENT"):
            inside = False
        elif inside:
            props[name] = value
    return props


def test_calendar_file_of_a_stay():
    w = world()
    stay = w.book(w.plain, w.day(40), 3, cg=2, confirm=True)
    h.check("a stay to put in the calendar is confirmed", stay.status == 200, repr(stay))
    sid = stay.json["id"]
    resp = w.srv.get(f"/v1/stays/{sid}", token=w.cgs[2])
    h.check("GET /v1/stays/{id} says where: the location's name, municipality and address",
            resp.status == 200 and resp.json.get("pool_name") == "Gewoon"
            and resp.json.get("location") == {"id": w.location, "name": LOCATION_NAME,
                                              "municipality": "GM0106", "address": ADDRESS},
            repr(resp)[:400])
    listed = w.srv.get("/v1/stays?limit=5", token=w.cgs[2]).json["stays"]
    h.check("so does the list", any(x["id"] == sid and x["location"]["name"] == LOCATION_NAME
                                    for x in listed), repr(listed)[:300])
    resp = w.srv.get(f"/v1/stays/{sid}/calendar.ics", token=w.cgs[2])
    h.check("GET /v1/stays/{id}/calendar.ics is 200 text/calendar; charset=utf-8",
            resp.status == 200 and resp.header("content-type") == "text/calendar; charset=utf-8",
            repr(resp))
    h.check("it comes as an attachment named after the check-in",
            resp.header("content-disposition") == f'attachment; filename="logeren-{w.day(40)}.ics"'
            and resp.header("cache-control") == "no-store", resp.headers)
    lines, problems = parse_ics(resp.body)
    h.check("the file keeps RFC 5545's syntax (CRLF, 75 octets, folds, nesting)", not problems,
            problems)
    h.check("one VCALENDAR 2.0 with a PRODID around one VEVENT",
            lines[0] == ("BEGIN", "VCALENDAR") and lines[-1] == ("END", "VCALENDAR")
            and ("VERSION", "2.0") in lines and any(n == "PRODID" for n, _ in lines)
            and lines.count(("BEGIN", "VEVENT")) == 1, lines[:6])
    ev = event_props(lines)
    h.check_equal("UID is stable, made from the stay id", ev.get("UID"), f"{sid}@logeerzorg")
    h.check_equal("whole days: DTSTART is the check-in", ev.get("DTSTART;VALUE=DATE"),
                  w.day(40).strftime("%Y%m%d"))
    h.check_equal("whole days: DTEND is the day after the check-out (the pick-up day shows)",
                  ev.get("DTEND;VALUE=DATE"), w.day(44).strftime("%Y%m%d"))
    h.check_equal("SUMMARY says where, escaped and folded back whole",
                  unescape(ev.get("SUMMARY", "")), f"Logeren bij {LOCATION_NAME}")
    h.check("the escaping of , ; and \\ is there before unescaping",
            "\\," in ev.get("SUMMARY", "") and "\\;" in ev.get("SUMMARY", "")
            and "\\\\" in ev.get("SUMMARY", ""), ev.get("SUMMARY"))
    h.check_equal("LOCATION is the address and the municipality",
                  unescape(ev.get("LOCATION", "")), f"{ADDRESS}, Assen")
    h.check("STATUS CONFIRMED, a DTSTAMP in UTC, nothing about the guest",
            ev.get("STATUS") == "CONFIRMED" and ev.get("DTSTAMP", "").endswith("Z")
            and "mevr" not in resp.text and "dementia" not in resp.text, ev)
    sequence = int(ev.get("SEQUENCE", "-1"))

    # Who may read the stay may have the file; nobody else learns it exists.
    for label, token, status in (("another caregiver", w.cgs[3], 404),
                                 ("another provider", w.hunzehof, 404),
                                 ("the pool's provider", w.esdorp, 200),
                                 ("the coordinator", w.coord, 200)):
        resp = w.srv.get(f"/v1/stays/{sid}/calendar.ics", token=token)
        h.check(f"{label}: {status}", resp.status == status, repr(resp))
    resp = w.srv.get(f"/v1/stays/{sid}/calendar.ics")
    h.check("without a session: 401", h.is_problem(resp, 401), repr(resp))
    logged = h.wait_until(lambda: int(h.scalar(
        w.url, f"SELECT count(*) FROM access_log WHERE stay_id = '{sid}' "
               "AND action = 'stay.calendar'")) >= 3, 5.0)
    h.check("each download is in the access log as stay.calendar (owner, provider, "
            "coordinator)", logged)

    w.srv.request("POST", f"/v1/stays/{sid}/cancel", token=w.cgs[2])
    ev = event_props(parse_ics(w.srv.get(f"/v1/stays/{sid}/calendar.ics",
                                         token=w.cgs[2]).body)[0])
    h.check("after the cancel: the same UID, STATUS CANCELLED and a higher SEQUENCE",
            ev.get("UID") == f"{sid}@logeerzorg" and ev.get("STATUS") == "CANCELLED"
            and int(ev.get("SEQUENCE", "-1")) > sequence, ev)


def test_calendar_file_with_the_pool_windows():
    w = world()
    friday = w.day(21)
    while friday.isoweekday() != 5:
        friday += dt.timedelta(days=1)
    stay = w.book(w.blocks, friday, 3, cg=4, confirm=True)
    h.check("a Friday block in the pool with windows is confirmed", stay.status == 200,
            repr(stay))
    resp = w.srv.get(f"/v1/stays/{stay.json['id']}/calendar.ics", token=w.cgs[4])
    lines, problems = parse_ics(resp.body)
    h.check("the file keeps RFC 5545's syntax", resp.status == 200 and not problems, problems)
    ev = event_props(lines)
    h.check("with a VTIMEZONE for Europe/Amsterdam", ("BEGIN", "VTIMEZONE") in lines
            and ("TZID", "Europe/Amsterdam") in lines, lines[:12])
    h.check_equal("DTSTART is the start of the check-in window",
                  ev.get("DTSTART;TZID=Europe/Amsterdam"), friday.strftime("%Y%m%d") + "T140000")
    h.check_equal("DTEND is the end of the check-out window",
                  ev.get("DTEND;TZID=Europe/Amsterdam"),
                  (friday + dt.timedelta(days=3)).strftime("%Y%m%d") + "T120000")
    h.check("the description names both windows in Dutch",
            "Aankomst tussen 14:00 en 17:00\\, vertrek tussen 10:00 en 12:00"
            in ev.get("DESCRIPTION", ""), ev.get("DESCRIPTION"))
    resp = w.srv.get(f"/v1/stays/{uuid.uuid4()}/calendar.ics", token=w.cgs[4])
    h.check("an unknown stay: 404", h.is_problem(resp, 404), repr(resp))


h.main(globals())
