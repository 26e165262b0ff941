"""Companion places, transport, the arrivals list and late cancellations (docs/practice.md,
migration 0015). A pool's companion places are never overbooked: 10 concurrent bookings with a
companion for 2 places over two logeerd processes give exactly 2 stays, the rest 409
no-companion-place, and the beds and places counted equal what the stays imply. A pool without
places refuses a companion (422). Transport times outside the pool's windows are 422 naming
the window in Dutch; a note with a citizen service number is refused; the requester changes
transport until check-in. The arrivals list shows provider staff their own arrivals and
departures, nothing of another provider's, and access-logs each stay. A requester's
cancellation of a confirmed stay inside the pool's free_cancel_days is recorded late, one
before it free; a cancellation offers the freed bed to the waitlist in the same transaction;
the cancellations report counts all of it."""

import collections
import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
RACE_CLIENTS = 10
PLACES = 2
# One caregiver makes every racing request: only the companion places decide who wins.
ENV = {"LOGEER_MAX_OPEN_STAYS": "50"}
SETTINGS = {"companion_places": PLACES, "free_cancel_days": 7,
            "check_in_window": "14:00-17:00", "check_out_window": "10:00-12:00"}


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.a = h.Server(self.url, env=ENV, keep=True)
        self.today = h.today_local(self.url)
        self.cg, self.cg2 = h.login_many(self.a, h.add_caregivers(self.url, 2, prefix="cc"))
        self.esdorp = self.a.login(ESDORP)
        self.hunzehof = self.a.login(HUNZEHOF)
        self.coord = self.a.login(COORDINATOR)
        provider = h.DEMO_PROVIDER_IDS[ESDORP]
        self.pool = h.make_pool(self.a, self.url, self.esdorp, provider, 20, self.today,
                                self.today + dt.timedelta(days=60), name="Companion pool")
        resp = self.a.request("PATCH", f"/v1/pools/{self.pool.id}", SETTINGS, token=self.esdorp)
        if resp.status != 200:
            raise RuntimeError(f"pool settings refused: {resp!r}")
        self.plain = h.make_pool(self.a, self.url, self.esdorp, provider, 1, self.today,
                                 self.today + dt.timedelta(days=60),
                                 location_id=self.pool.location_id, name="Plain pool")
        self.b = h.Server(self.url, env=ENV, keep=True)

    def day(self, n):
        return self.today + dt.timedelta(days=n)

    def book(self, first, nights, pool=None, token=None, srv=None, **extra):
        body = h.stay_body((pool or self.pool).id, first, first + dt.timedelta(days=nights),
                           funding="zvw", **extra)
        return (srv or self.a).request("POST", "/v1/stays", body, token=token or self.cg,
                                       headers={"Idempotency-Key": uuid.uuid4().hex})

    def confirmed(self, first, nights, pool=None, token=None, **extra):
        resp = self.book(first, nights, pool=pool, token=token, **extra)
        if resp.status != 201:
            raise RuntimeError(f"booking refused: {resp!r}")
        sid = resp.json["id"]
        ok = self.a.request("POST", f"/v1/stays/{sid}/confirm", token=token or self.cg)
        if ok.status != 200:
            raise RuntimeError(f"confirm refused: {ok!r}")
        return sid


def world():
    return h.once("world", World)


def companions(w, pool_id):
    rows = h.psql(w.url, "SELECT night, companions FROM pool_nights "
                         f"WHERE pool_id = '{pool_id}' AND companions <> 0 ORDER BY night")
    return {r[0]: int(r[1]) for r in rows}


def implied_companions(w, pool_id):
    rows = h.psql(w.url, "SELECT n.night, count(s.id) FROM pool_nights n JOIN stays s "
                         "ON s.pool_id = n.pool_id AND s.companion AND s.check_in <= n.night "
                         "AND n.night < s.check_out AND s.status IN ('held', 'requested', "
                         "'confirmed', 'checked_in', 'completed') "
                         f"WHERE n.pool_id = '{pool_id}' GROUP BY 1 ORDER BY 1")
    return {r[0]: int(r[1]) for r in rows}


def fields(resp):
    return {e.get("field"): e.get("message") for e in (resp.json or {}).get("errors", [])}


def test_pool_settings_are_validated_and_shown():
    w = world()
    got = w.a.get(f"/v1/pools/{w.pool.id}", token=w.esdorp)
    h.check("the pool JSON shows companion_places and free_cancel_days",
            got.status == 200 and got.json["companion_places"] == PLACES
            and got.json["free_cancel_days"] == 7, repr(got))
    for body, field in (({"companion_places": -1}, "companion_places"),
                        ({"companion_places": 51}, "companion_places"),
                        ({"free_cancel_days": 400}, "free_cancel_days"),
                        ({"free_cancel_days": "7"}, "free_cancel_days")):
        resp = w.a.request("PATCH", f"/v1/pools/{w.plain.id}", body, token=w.esdorp)
        h.check(f"PATCH {body} is 422 on {field}", h.is_problem(resp, 422)
                and field in fields(resp), repr(resp))
    resp = w.a.request("PATCH", f"/v1/pools/{w.plain.id}", {"free_cancel_days": None},
                       token=w.esdorp)
    h.check("free_cancel_days null means always free", resp.status == 200
            and resp.json["free_cancel_days"] is None and resp.json["companion_places"] == 0,
            repr(resp))
    found = w.a.get(f"/v1/availability?check_in={w.day(30)}&nights=2&limit=100", token=w.cg)
    mine = [r for r in found.json.get("results", []) if r["pool_id"] == w.pool.id]
    h.check("search results show the companion places and the cancellation policy",
            mine and mine[0]["companion_places"] == PLACES and mine[0]["free_cancel_days"] == 7,
            mine)


def test_companion_refused_where_the_pool_has_none():
    w = world()
    resp = w.book(w.day(40), 2, pool=w.plain, companion=True)
    h.check("companion: true in a pool without companion places is 422 on companion",
            h.is_problem(resp, 422) and "companion_places is 0" in fields(resp).get("companion", ""),
            repr(resp))


def test_two_process_race_never_overbooks_companion_places():
    w = world()
    first = w.day(21)

    def action(i, barrier):
        client = h.Client((w.a if i % 2 == 0 else w.b).port, timeout=60 * h.SCALE)
        try:
            client.conn.connect()
            barrier.wait()
            body = h.stay_body(w.pool.id, first, first + dt.timedelta(days=3), funding="zvw",
                               companion=True)
            return client.request("POST", "/v1/stays", body, token=w.cg,
                                  headers={"Idempotency-Key": uuid.uuid4().hex})
        finally:
            client.close()

    results = h.race(RACE_CLIENTS, action)
    kinds = collections.Counter(
        f"exception {r.__class__.__name__}" if isinstance(r, Exception)
        else f"{r.status} {h.problem_type(r) or ''}".strip() for r in results)
    h.info(f"{RACE_CLIENTS} bookings with a companion for {PLACES} places over two processes: "
           f"{dict(kinds)}")
    won = [r for r in results if not isinstance(r, Exception) and r.status == 201]
    h.check_equal(f"exactly {PLACES} bookings win", len(won), PLACES)
    h.check("every winner has companion true", all(r.json["companion"] for r in won))
    h.check_equal("every other is 409 no-companion-place", kinds.get("409 no-companion-place"),
                  RACE_CLIENTS - PLACES)
    lost = [r for r in results if not isinstance(r, Exception) and r.status == 409]
    h.check("the refusal names the full nights", lost and lost[0].json.get("nights") == [
        str(first + dt.timedelta(days=i)) for i in range(3)], lost[:1])
    nights = {str(first + dt.timedelta(days=i)): PLACES for i in range(3)}
    h.check_equal("pool_nights.companions counts the winners on each night",
                  companions(w, w.pool.id), nights)
    h.check_counters_match_stays("after the companion race", w.url, w.pool.id)
    h.check_equal("only the winners hold beds", h.db_nights(w.url, w.pool.id)[str(first)][1],
                  PLACES)
    resp = w.a.request("POST", f"/v1/stays/{won[0].json['id']}/cancel", token=w.cg)
    h.check_equal("cancelling a winner is 200", resp.status, 200)
    h.check_equal("its companion place is given back with the bed", companions(w, w.pool.id),
                  {n: PLACES - 1 for n in nights})
    again = w.book(first, 3, companion=True)
    h.check("the freed place can be booked again", again.status == 201, repr(again))
    h.psql(w.url, "UPDATE stays SET hold_expires_at = now() - interval '1 second' "
                  f"WHERE id = '{again.json['id']}'")
    gone = h.wait_until(lambda: companions(w, w.pool.id).get(str(first)) == PLACES - 1,
                        10 * h.SCALE)
    h.check("an expired hold gives its companion place back (sweeper)", gone,
            companions(w, w.pool.id))
    h.check_equal("companion counts equal what the stays imply on every night",
                  companions(w, w.pool.id), implied_companions(w, w.pool.id))
    resp = w.a.request("PATCH", f"/v1/pools/{w.pool.id}", {"companion_places": 0},
                       token=w.esdorp)
    h.check("lowering companion_places below what stays hold is 409", h.is_problem(resp, 409),
            repr(resp))


def test_transport_is_checked_against_the_windows_and_changes_until_check_in():
    w = world()
    resp = w.book(w.day(30), 2, arrival={"by": "caregiver", "time": "18:00"})
    h.check("an arrival at 18:00 in a 14:00-17:00 window is 422 naming the window in Dutch",
            h.is_problem(resp, 422)
            and "aankomst tussen 14:00 en 17:00" in fields(resp).get("arrival.time", ""),
            repr(resp))
    resp = w.book(w.day(30), 2, departure={"by": "provider", "time": "09:59"})
    h.check("a departure before the check-out window is 422 naming it",
            "vertrek tussen 10:00 en 12:00" in fields(resp).get("departure.time", ""), repr(resp))
    resp = w.book(w.day(30), 2, arrival={"by": "caregiver", "time": "15:00",
                                         "note": "bsn 123456782"})
    h.check("a note holding a citizen service number is 422 on arrival.note",
            "arrival.note" in fields(resp), repr(resp))
    resp = w.book(w.day(30), 2, arrival={"by": "taxi"})
    h.check("an unknown bringer is 422 on arrival.by", "arrival.by" in fields(resp), repr(resp))
    arrival = {"by": "caregiver", "time": "15:30", "note": "dochter brengt, rolstoel mee"}
    resp = w.book(w.day(30), 2, arrival=arrival)
    h.check("a booking with transport inside the windows is 201 and shows it",
            resp.status == 201 and resp.json["arrival"] == arrival
            and resp.json["departure"] is None, repr(resp))
    sid = resp.json["id"]
    path = f"/v1/stays/{sid}"
    resp = w.a.request("PATCH", path, {"departure": {"by": "provider", "time": "12:30"}},
                       token=w.cg)
    h.check("PATCH with a departure outside the window is 422", h.is_problem(resp, 422)
            and "departure.time" in fields(resp), repr(resp))
    resp = w.a.request("PATCH", path, {"departure": {"by": "provider", "time": "10:30"}},
                       token=w.esdorp)
    h.check_problem("provider staff cannot change the family's transport (403)", resp, 403)
    h.check_problem("another caregiver gets 404", w.a.request(
        "PATCH", path, {"arrival": None}, token=w.cg2), 404)
    version = w.a.get(path, token=w.cg).json["version"]
    resp = w.a.request("PATCH", path, {"departure": {"by": "provider", "time": "10:30"}},
                       token=w.cg, headers={"If-Match": f'"{version}"'})
    h.check("the requester sets the departure (200)", resp.status == 200
            and resp.json["departure"] == {"by": "provider", "time": "10:30"}
            and resp.json["arrival"] == arrival, repr(resp))
    h.check_problem("an old If-Match is 412", w.a.request(
        "PATCH", path, {"arrival": None}, token=w.cg, headers={"If-Match": f'"{version}"'}), 412)
    events = h.scalar(w.url, "SELECT count(*) FROM events WHERE type = 'stay.transport_changed' "
                             f"AND stay_id = '{sid}'")
    h.check_equal("the change is an event in the outbox", events, "1")
    # Until check-in only: a stay that has arrived keeps its transport.
    today = w.confirmed(w.today, 1, arrival={"by": "other", "time": "14:00"})
    h.check_equal("check-in is 200", w.a.request("POST", f"/v1/stays/{today}/check-in",
                                                 token=w.esdorp).status, 200)
    resp = w.a.request("PATCH", f"/v1/stays/{today}", {"arrival": None}, token=w.cg)
    h.check("after check-in the transport cannot change (409 with current_status)",
            h.is_problem(resp, 409) and resp.json.get("current_status") == "checked_in",
            repr(resp))


def test_arrivals_list_shows_own_stays_only_and_logs_each_guest():
    w = world()
    day = w.day(45)
    sid = w.confirmed(day, 3, companion=True, arrival={"by": "caregiver", "time": "16:00"},
                      departure={"by": "provider", "time": "11:00"})
    resp = w.a.get(f"/v1/arrivals?date={day}&days=4", token=w.esdorp)
    mine = [a for a in (resp.json or {}).get("arrivals", []) if a["stay_id"] == sid]
    h.check_equal("the provider sees the stay arrive and leave",
                  [(a["date"], a["movement"], a["time"]) for a in mine],
                  [(str(day), "arrival", "16:00"), (str(day + dt.timedelta(days=3)), "departure",
                                                   "11:00")])
    if mine:
        a = mine[0]
        h.check("an entry carries the transport, companion, windows and the guest's needs",
                a["companion"] is True and a["transport"]["by"] == "caregiver"
                and a["pool"]["check_in_window"] == "14:00-17:00"
                and a["pool"]["check_out_window"] == "10:00-12:00"
                and a["guest"] == {"alias": "mevr. T.", "birth_year": 1940,
                                   "care_profile": "dementia", "needs": []}, a)
    logged = h.scalar(w.url, "SELECT count(*) FROM access_log WHERE action = 'stay.arrivals' "
                             f"AND stay_id = '{sid}'")
    h.check("the guest shown is in the access log (stay.arrivals)", int(logged) >= 1, logged)
    other = w.a.get(f"/v1/arrivals?date={day}&days=4", token=w.hunzehof)
    h.check("another provider's staff see nothing of it", other.status == 200
            and all(a["stay_id"] != sid for a in other.json["arrivals"]), repr(other))
    other = w.a.get(f"/v1/arrivals?date={day}&days=4&location_id={w.pool.location_id}",
                    token=w.hunzehof)
    h.check("not even naming the location", other.status == 200
            and other.json["arrivals"] == [] and other.json["total"] == 0, repr(other))
    h.check_problem("a caregiver may not read the arrivals list (403)",
                    w.a.get(f"/v1/arrivals?date={day}", token=w.cg), 403)
    coord = w.a.get(f"/v1/arrivals?date={day}&days=4", token=w.coord)
    seen = [a for a in (coord.json or {}).get("arrivals", []) if a["stay_id"] == sid]
    h.check("the coordinator sees it with the guest reduced to the care profile",
            seen and seen[0]["guest"] == {"care_profile": "dementia", "redacted": True}, seen)
    bad = w.a.get("/v1/arrivals?date=2026-13-01&days=40", token=w.esdorp)
    h.check("a bad date and too many days are 422 on both", h.is_problem(bad, 422)
            and {"date", "days"} <= set(fields(bad)), repr(bad))


def test_late_cancellation_recorded_and_free_one_not():
    w = world()
    late = w.confirmed(w.day(3), 2)
    resp = w.a.request("POST", f"/v1/stays/{late}/cancel", token=w.cg)
    h.check("a cancellation 3 days before check-in with 7 free days is recorded late",
            resp.status == 200 and resp.json["cancellation"] == {
                "late": True, "days_before": 3, "free_cancel_days": 7}, repr(resp))
    free = w.confirmed(w.day(20), 2)
    resp = w.a.request("POST", f"/v1/stays/{free}/cancel", token=w.cg)
    h.check("one 20 days before is free (late false)", resp.status == 200
            and resp.json["cancellation"] == {"late": False, "days_before": 20,
                                              "free_cancel_days": 7}, repr(resp))
    by_provider = w.confirmed(w.day(2), 1)
    resp = w.a.request("POST", f"/v1/stays/{by_provider}/cancel", {"reason": "lekkage"},
                       token=w.esdorp)
    h.check("a provider's cancellation is not the family's (cancellation null)",
            resp.status == 200 and resp.json["cancellation"] is None, repr(resp))
    held = w.book(w.day(2), 1)
    resp = w.a.request("POST", f"/v1/stays/{held.json['id']}/cancel", token=w.cg)
    h.check("dropping a hold is not judged", resp.status == 200
            and resp.json["cancellation"] is None, repr(resp))
    detail = h.scalar(w.url, "SELECT detail->>'late' FROM stay_events WHERE stay_id = "
                             f"'{late}' AND to_status = 'cancelled'")
    h.check_equal("the history records it", detail, "true")


def test_cancellation_offers_the_bed_to_the_waitlist_in_the_same_transaction():
    w = world()
    first = w.day(35)
    holder = w.confirmed(first, 2, pool=w.plain)
    wait = w.book(first, 2, pool=w.plain, token=w.cg2, waitlist=True)
    h.check("the full pool puts the second request on the waitlist",
            wait.status == 201 and wait.json["status"] == "waitlisted", repr(wait))
    resp = w.a.request("POST", f"/v1/stays/{holder}/cancel", token=w.cg)
    h.check_equal("the cancel is 200", resp.status, 200)
    now = w.a.get(f"/v1/stays/{wait.json['id']}", token=w.cg2)
    h.check("right after the cancel the waiting request holds the bed",
            now.status == 200 and now.json["status"] == "held", repr(now))
    same = h.scalar(w.url, "SELECT count(DISTINCT e.xmin::text) FROM stay_events e "
                           f"WHERE (e.stay_id = '{holder}' AND e.to_status = 'cancelled') OR "
                           f"(e.stay_id = '{wait.json['id']}' AND e.to_status = 'held')")
    h.check_equal("the offer was written by the cancel's own transaction (one xmin)", same, "1")
    h.check_counters_match_stays("after the cancel and the offer", w.url, w.plain.id)


def test_cancellations_report_counts_late_cancellations_and_no_shows():
    w = world()
    no_show = w.confirmed(w.today, 2, token=w.cg2)
    resp = w.a.request("POST", f"/v1/stays/{no_show}/no-show", token=w.esdorp)
    h.check_equal("the no-show is 200", resp.status, 200)
    late = w.confirmed(w.day(1), 3, token=w.cg2)
    w.a.request("POST", f"/v1/stays/{late}/cancel", token=w.cg2)
    frm, to = w.today, w.day(1)
    expect = h.psql(w.url, "SELECT count(*) FILTER (WHERE e.to_status = 'cancelled'), "
                           "count(*) FILTER (WHERE e.to_status = 'cancelled' AND s.cancel_late), "
                           "count(*) FILTER (WHERE e.to_status = 'no_show'), "
                           "coalesce(sum(s.check_out - s.check_in), 0) FROM stay_events e "
                           "JOIN stays s ON s.id = e.stay_id WHERE e.to_status IN "
                           "('cancelled', 'no_show') AND e.from_status IN ('held', 'requested', "
                           f"'confirmed') AND s.pool_id = '{w.pool.id}'")[0]
    resp = w.a.get(f"/v1/reports/cancellations?from={frm}&to={to}", token=w.coord)
    rows = [r for r in (resp.json or {}).get("rows", []) if r["pool"]["id"] == w.pool.id]
    h.check("the coordinator's report has one row for the pool this month", resp.status == 200
            and len(rows) == 1 and rows[0]["month"] == frm.strftime("%Y-%m"), repr(resp))
    if rows:
        r = rows[0]
        h.check_equal("its figures equal a recount from the stays",
                      (r["cancellations"], r["late"], r["no_shows"], r["nights_released"]),
                      tuple(int(x) for x in expect))
        h.check("it counts the no-show, at least one late cancellation and a provider's one",
                r["no_shows"] >= 1 and r["late"] >= 1 and r["by_provider"] >= 1, r)
    own = w.a.get(f"/v1/reports/cancellations?from={frm}&to={to}", token=w.esdorp)
    h.check("provider staff get their own pools", own.status == 200
            and any(r["pool"]["id"] == w.pool.id for r in own.json["rows"]), repr(own))
    theirs = w.a.get(f"/v1/reports/cancellations?from={frm}&to={to}", token=w.hunzehof)
    h.check("another provider's staff see none of them", theirs.status == 200
            and all(r["provider"]["id"] == h.DEMO_PROVIDER_IDS[HUNZEHOF]
                    for r in theirs.json["rows"]), repr(theirs))
    h.check_problem("another provider's id is 404 for provider staff", w.a.get(
        f"/v1/reports/cancellations?provider_id={h.DEMO_PROVIDER_IDS[ESDORP]}",
        token=w.hunzehof), 404)
    h.check_problem("caregivers may not read it (403)",
                    w.a.get("/v1/reports/cancellations", token=w.cg), 403)
    csv = w.a.get(f"/v1/reports/cancellations?from={frm}&to={to}&format=csv", token=w.coord)
    text = csv.text
    h.check("the CSV variant has a header and a total record", csv.status == 200
            and "nights_released" in text and "\r\ntotal," in text, text[:300])


h.main(globals())
