"""Allowances (grants of nights, docs/practice.md). Caregivers register their guests'
allowances, the coordinator any, provider staff none; validation refuses a reference that is a
citizen service number, an allowance without a weekly or yearly limit and Wmo without a
municipality. A registered guest's wmo/wlz/pgb stay needs an allowance (409
allowance-required) and may not exceed it (409 allowance-exceeded with remaining per period);
cancelling and expiring give the nights back; lowering a limit below what is used is 409. The
race: 20 concurrent bookings for one guest with 6 nights left, over two logeerd processes,
book at most 6 nights, every refusal is allowance-exceeded, and allowance_usage equals a
recount from the stays."""

import collections
import datetime as dt
import time
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
GUEST = {"alias": "mevr. A.", "birth_year": 1938, "care_profile": "dementia", "needs": []}
RACE_CLIENTS = 20
RACE_LEFT = 6
RACE_POOLS = 4
# Both processes allow more open requests than the race makes, so that only the allowance
# decides who gets a stay.
ENV = {"LOGEER_MAX_OPEN_STAYS": "50"}


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.a = h.Server(self.url, env=ENV, keep=True)
        self.today = h.today_local(self.url)
        # A Monday at least a week ahead, so that weeks in the tests are whole and bookable.
        self.monday = self.today + dt.timedelta(days=7 + (7 - self.today.weekday()) % 7)
        # The race's nights lie in one calendar year (nights_per_year is the limit there).
        if self.today.month <= 9:
            self.race_start = self.today + dt.timedelta(days=7)
        else:
            self.race_start = dt.date(self.today.year + 1, 1, 5)
        emails = h.add_caregivers(self.url, 3, prefix="al")
        self.cg, self.cg2, self.cg3 = h.login_many(self.a, emails)
        self.esdorp = self.a.login(ESDORP)
        self.coord = self.a.login(COORDINATOR)
        provider = h.DEMO_PROVIDER_IDS[ESDORP]
        self.pool = h.make_pool(self.a, self.url, self.esdorp, provider, 3, self.today,
                                self.today + dt.timedelta(days=60), name="Allowance pool")
        self.race_pools = [
            h.make_pool(self.a, self.url, self.esdorp, provider, 3, self.race_start,
                        self.race_start + dt.timedelta(days=3 * RACE_CLIENTS + 3),
                        location_id=self.pool.location_id, name=f"Allowance race {i}")
            for i in range(RACE_POOLS)]
        self.b = h.Server(self.url, env=ENV, keep=True)

    def guest(self, token):
        resp = self.a.request("POST", "/v1/guests", GUEST, token=token)
        if resp.status != 201:
            raise RuntimeError(f"guest not created: {resp!r}")
        return resp.json["id"]

    def allowance(self, token, body, key=None):
        headers = {"Idempotency-Key": key} if key else {}
        return self.a.request("POST", "/v1/allowances", body, token=token, headers=headers)

    def book(self, guest_id, first, nights, funding="wlz", pool=None, srv=None, token=None):
        body = {"pool_id": (pool or self.pool).id, "check_in": str(first),
                "check_out": str(first + dt.timedelta(days=nights)), "funding": funding,
                "guest_id": guest_id}
        return (srv or self.a).request("POST", "/v1/stays", body, token=token or self.cg,
                                       headers={"Idempotency-Key": uuid.uuid4().hex})


def world():
    return h.once("world", World)


def grant(w, guest_id, **extra):
    body = {"guest_id": guest_id, "funding": "wlz", "nights_per_week": 2, "nights_per_year": 10,
            "valid_from": str(w.today), "valid_to": str(w.today + dt.timedelta(days=400)),
            "reference": "WLZ-2026-0042"}
    body.update(extra)
    return body


def usage(w, allowance_id):
    rows = h.psql(w.url, "SELECT kind, period_start, used, max FROM allowance_usage "
                         f"WHERE allowance_id = '{allowance_id}' ORDER BY kind, period_start")
    return {(k, s): (int(u), int(m)) for k, s, u, m in rows}


def test_create_read_and_patch_with_validation():
    w = world()
    gid = w.guest(w.cg)
    for label, body, field in (
            ("a reference that is a citizen service number",
             grant(w, gid, reference="123456782"), "reference"),
            ("a BSN inside the reference", grant(w, gid, reference="beschikking 111222333"),
             "reference"),
            ("neither a weekly nor a yearly limit",
             {k: v for k, v in grant(w, gid).items() if not k.startswith("nights_")},
             "nights_per_week"),
            ("wmo without a municipality", grant(w, gid, funding="wmo"), "municipality"),
            ("valid_to before valid_from",
             grant(w, gid, valid_to=str(w.today - dt.timedelta(days=1))), "valid_to"),
            ("a weekly limit over 7", grant(w, gid, nights_per_week=8), "nights_per_week")):
        resp = w.allowance(w.cg, body)
        h.check(f"an allowance with {label} is 422 on {field}", h.is_problem(resp, 422)
                and any(e.get("field") == field for e in resp.json.get("errors", [])),
                repr(resp))
        if field == "reference" and resp.status == 422:
            msg = [e["message"] for e in resp.json["errors"] if e["field"] == "reference"]
            h.check("the message says it must not be a citizen service number",
                    msg and "citizen service number" in msg[0], msg)
    h.check_problem("provider staff may not register allowances",
                    w.allowance(w.esdorp, grant(w, gid)), 403)
    h.check_problem("another caregiver's guest is 404", w.allowance(w.cg2, grant(w, gid)), 404)

    key = uuid.uuid4().hex
    body = grant(w, gid, funding="wmo", municipality="GM0106", nights_per_week=3,
                 nights_per_year=18, reference="123456789")  # fails the eleven-test: fine
    resp = w.allowance(w.cg, body, key=key)
    h.check("POST /v1/allowances answers 201 with usage of the current week and year",
            resp.status == 201 and resp.json["usage"]["week"]["remaining"] == 3
            and resp.json["usage"]["year"]["remaining"] == 18, repr(resp))
    aid = resp.json["id"]
    h.check_equal("the 201 has a Location", resp.header("location"), f"/v1/allowances/{aid}")
    again = w.allowance(w.cg, body, key=key)
    h.check("a retry with the same Idempotency-Key replays it", again.status == 201
            and again.json.get("id") == aid and again.header("idempotent-replayed") == "true",
            repr(again))
    h.check("the coordinator reads it", w.a.get(f"/v1/allowances/{aid}", token=w.coord).status
            == 200)
    h.check_problem("another caregiver gets 404", w.a.get(f"/v1/allowances/{aid}", token=w.cg2),
                    404)
    h.check_problem("provider staff get 403", w.a.get(f"/v1/allowances/{aid}", token=w.esdorp),
                    403)
    listed = w.a.get(f"/v1/allowances?guest_id={gid}", token=w.cg)
    h.check("the list by guest has it", listed.status == 200
            and [a["id"] for a in listed.json["allowances"]] == [aid], repr(listed))
    patched = w.a.request("PATCH", f"/v1/allowances/{aid}", {"nights_per_week": 4},
                          token=w.cg, headers={"If-Match": '"1"'})
    h.check("PATCH with If-Match changes the limit", patched.status == 200
            and patched.json["nights_per_week"] == 4 and patched.json["version"] == 2
            and patched.header("etag") == '"2"', repr(patched))
    h.check_problem("PATCH with an old If-Match is 412", w.a.request(
        "PATCH", f"/v1/allowances/{aid}", {"nights_per_week": 2}, token=w.cg,
        headers={"If-Match": '"1"'}), 412)
    resp = w.a.request("PATCH", f"/v1/allowances/{aid}", {"reference": "999999990"}, token=w.cg)
    h.check_problem("PATCH with a BSN as reference is 422", resp, 422)
    resp = w.a.request("PATCH", f"/v1/allowances/{aid}",
                       {"nights_per_week": None, "nights_per_year": None}, token=w.coord)
    h.check_problem("the coordinator cannot remove both limits (422)", resp, 422)
    logged = h.scalar(w.url, f"SELECT count(*) FROM access_log WHERE guest_id = '{gid}' "
                             "AND action LIKE 'allowance.%'")
    h.check("reads and changes are in the access log", int(logged) >= 4, logged)
    events = h.scalar(w.url, "SELECT count(*) FROM events WHERE type LIKE 'allowance.%' "
                             f"AND payload->>'allowance_id' = '{aid}'")
    h.check_equal("allowance.created and allowance.updated are in the outbox", events, "2")


def test_bookings_count_against_the_allowance():
    w = world()
    gid = w.guest(w.cg)
    mon = w.monday
    resp = w.book(gid, mon, 1)
    h.check("a wlz stay without an allowance is 409 allowance-required",
            h.is_problem(resp, 409) and h.problem_type(resp) == "allowance-required"
            and "POST /v1/allowances" in resp.json.get("detail", ""), repr(resp))
    h.check("a zvw stay needs no allowance", w.book(gid, mon, 1, funding="zvw").status == 201)
    aid = w.allowance(w.cg, grant(w, gid)).json["id"]
    resp = w.book(gid, mon + dt.timedelta(days=1), 3)
    remaining = (resp.json or {}).get("remaining")
    h.check("3 nights in a week of 2 is 409 allowance-exceeded with remaining per period",
            h.is_problem(resp, 409) and h.problem_type(resp) == "allowance-exceeded"
            and remaining == [
                {"period": "year", "period_start": f"{mon.year}-01-01", "remaining": 10},
                {"period": "week", "period_start": str(mon), "remaining": 2}], repr(resp))
    h.check_equal("the refusal changed no usage row", usage(w, aid),
                  {})
    first = w.book(gid, mon + dt.timedelta(days=1), 2)
    h.check("2 nights fit (201)", first.status == 201, repr(first))
    h.check_equal("the stay counts against the allowance", h.scalar(
        w.url, f"SELECT allowance_id FROM stays WHERE id = '{first.json['id']}'"), aid)
    resp = w.book(gid, mon + dt.timedelta(days=4), 1)
    h.check("a third night that week is 409 with week remaining 0",
            h.problem_type(resp) == "allowance-exceeded"
            and resp.json["remaining"][-1]["remaining"] == 0, repr(resp))
    resp = w.a.request("PATCH", f"/v1/allowances/{aid}", {"nights_per_week": 1}, token=w.cg)
    h.check("lowering the weekly limit below what is used is 409 naming the week",
            h.is_problem(resp, 409) and resp.json.get("periods") == [
                {"period": "week", "period_start": str(mon), "used": 2, "max": 1}], repr(resp))
    resp = w.a.request("POST", f"/v1/stays/{first.json['id']}/cancel", {"reason": "ziek"},
                       token=w.cg)
    h.check_equal("cancelling the stay is 200", resp.status, 200)
    h.check_equal("the nights are given back", usage(w, aid)[("week", str(mon))], (0, 2))
    again = w.book(gid, mon + dt.timedelta(days=4), 2)
    h.check("booking again after the cancel succeeds", again.status == 201, repr(again))
    # An expired hold gives its nights back too (the sweeper runs every second).
    h.psql(w.url, "UPDATE stays SET hold_expires_at = now() - interval '1 second' "
                  f"WHERE id = '{again.json['id']}'")
    gone = h.wait_until(lambda: usage(w, aid)[("week", str(mon))][0] == 0, 10 * h.SCALE)
    h.check("an expired hold gives its nights back", gone, usage(w, aid))
    h.check_equal("the year row agrees with the stays", usage(w, aid)[("year", f"{mon.year}-01-01")],
                  (0, 10))


def test_two_process_race_never_exceeds_the_allowance():
    w = world()
    gid = w.guest(w.cg3)
    year = w.race_start.year
    body = grant(w, gid, nights_per_week=None, nights_per_year=RACE_LEFT,
                 valid_from=f"{year}-01-01", valid_to=f"{year}-12-31")
    aid = w.allowance(w.cg3, body).json["id"]
    plans = []
    for i in range(RACE_CLIENTS):
        nights = 1 + i % 2
        first = w.race_start + dt.timedelta(days=3 * i)
        plans.append((w.race_pools[i % RACE_POOLS], first, nights, w.a if i % 2 == 0 else w.b))

    def action(i, barrier):
        pool, first, nights, srv = plans[i]
        client = h.Client(srv.port, timeout=60 * h.SCALE)
        try:
            client.conn.connect()
            barrier.wait()
            body = {"pool_id": pool.id, "check_in": str(first),
                    "check_out": str(first + dt.timedelta(days=nights)), "funding": "wlz",
                    "guest_id": gid}
            return client.request("POST", "/v1/stays", body, token=w.cg3,
                                  headers={"Idempotency-Key": uuid.uuid4().hex})
        finally:
            client.close()

    started = time.monotonic()
    results = h.race(RACE_CLIENTS, action)
    elapsed = time.monotonic() - started
    kinds = collections.Counter(
        f"exception {r.__class__.__name__}" if isinstance(r, Exception)
        else f"{r.status} {h.problem_type(r) or ''}".strip() for r in results)
    accepted = [i for i, r in enumerate(results) if not isinstance(r, Exception)
                and r.status == 201]
    booked = sum(plans[i][2] for i in accepted)
    refused = [(i, r) for i, r in enumerate(results) if i not in accepted]
    h.info(f"{RACE_CLIENTS} bookings for one guest with {RACE_LEFT} nights left, over two "
           f"processes, in {elapsed:.2f} s: {len(accepted)} accepted, {booked} nights booked, "
           f"{len(refused)} refused; {dict(kinds)}")
    h.check(f"at most {RACE_LEFT} nights are booked ({booked})", booked <= RACE_LEFT)
    ok = all(not isinstance(r, Exception) and r.status == 409
             and h.problem_type(r) == "allowance-exceeded"
             and isinstance(r.json.get("remaining"), list) and len(r.json["remaining"]) == 1
             and r.json["remaining"][0]["remaining"] < plans[i][2] for i, r in refused)
    h.check("every refusal is 409 allowance-exceeded with fewer remaining than asked", ok,
            [repr(r) for _, r in refused if isinstance(r, Exception) or r.status != 409][:3])
    recount = h.scalar(w.url, "SELECT coalesce(sum(check_out - check_in), 0) FROM stays "
                              f"WHERE allowance_id = '{aid}' AND status IN ('held', 'requested', "
                              "'confirmed', 'checked_in', 'completed')")
    h.check_equal("allowance_usage equals a recount from the stays",
                  usage(w, aid).get(("year", f"{year}-01-01")), (int(recount), RACE_LEFT))
    h.check_equal("the recount equals the nights the 201s booked", int(recount), booked)
    for pool in w.race_pools:
        h.check_counters_match_stays("after the allowance race", w.url, pool.id)


h.main(globals())
